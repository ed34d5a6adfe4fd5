#include "policy/message.h"

#include "common/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ig_warnings_add(struct ig_warnings *warnings, const char *text)
{
    if (warnings->count >= IG_WARNINGS_MAX)
        return;
    char *slot = warnings->text[warnings->count];
    if (ig_text_sanitize(text, slot, IG_WARNING_MAX + 1) > 0)
        warnings->count++;
}

void ig_policy_display_name(const char *namespace_, const char *name, const char *generate_name,
                            char *out, size_t size)
{
    /* Built with ig_text, not snprintf: this runs for every review. */
    char raw[600];
    struct ig_text text;

    ig_text_init(&text, raw, sizeof raw);
    if (namespace_ && *namespace_) {
        ig_text_append_n(&text, namespace_, 299);
        ig_text_append(&text, "/");
    }
    if (name && *name) {
        ig_text_append_n(&text, name, 299);
    } else if (generate_name && *generate_name) {
        ig_text_append_n(&text, generate_name, 298);
        ig_text_append(&text, "*");
    } else {
        ig_text_append(&text, "(unnamed)");
    }
    ig_text_sanitize(raw, out, size);
}

/* "every 1m", "every 1h (ESO's default, refreshInterval is absent)", ... */
static void describe_refresh(const struct ig_policy_result *result, char *out, size_t size)
{
    char value[64];
    switch (result->refresh) {
    case IG_REFRESH_INTERVAL:
        if (result->interval_text) {
            struct ig_text text;
            ig_text_sanitize(result->interval_text, value, sizeof value);
            ig_text_init(&text, out, size);
            ig_text_append(&text, "every ");
            ig_text_append(&text, value);
        } else {
            snprintf(out, size, "every %g", result->interval_number);
        }
        return;
    case IG_REFRESH_DEFAULT_INTERVAL:
        snprintf(out, size, "every 1h (the default when refreshInterval is absent)");
        return;
    case IG_REFRESH_UNPARSABLE:
        snprintf(out, size, "on an unreadable refreshInterval, treated as periodic");
        return;
    case IG_REFRESH_ON_CHANGE:
        snprintf(out, size, "on every change (refreshPolicy OnChange)");
        return;
    case IG_REFRESH_UNKNOWN_POLICY:
        ig_text_sanitize(result->refresh_policy ? result->refresh_policy : "?", value, sizeof value);
        snprintf(out, size, "under refreshPolicy %s, treated as periodic", value);
        return;
    case IG_REFRESH_NONE_CREATED_ONCE:
    case IG_REFRESH_NONE_ZERO_INTERVAL:
        break;
    }
    snprintf(out, size, "never");
}

/* Bytes of a client's value quoted in a denial message, and in a warning.
 * The text around a value in a warning takes up to 74 bytes (the
 * refreshInterval warning), so a value cut at 32 bytes, quoted and with
 * "...", fits IG_WARNING_MAX with the warning's ending. */
#define MESSAGE_VALUE_MAX 64
#define WARNING_VALUE_MAX 32

/* Write value quoted. A value longer than max bytes (MESSAGE_VALUE_MAX at the
 * most) is cut on a character boundary and "..." follows it. */
static void quote_value(const char *value, size_t max, char *out, size_t size)
{
    char clean[MESSAGE_VALUE_MAX + 1];
    size_t length = ig_text_sanitize(value, clean, max + 1);
    snprintf(out, size, "\"%s%s\"", clean, length < strlen(value) ? "..." : "");
}

/* Write the rotation annotation's value quoted as quote_value does, or
 * "(not a string)". */
static void quote_rotation(const struct ig_policy_result *result, size_t max, char *out,
                           size_t size)
{
    if (result->rotation)
        quote_value(result->rotation, max, out, size);
    else
        snprintf(out, size, "(not a string)");
}

/* The text after "still refreshes <how>" in a missing-rotation message. */
#define MISSING_ROTATION_FIX(immutable, refresh_policy, annotations, then_delete)                \
    ", and Kubernetes rejects every change to an immutable Secret, so rotated values would "     \
    "never reach it. Fix it in one of three ways: add the annotation " IG_ROTATION_ANNOTATION    \
    ": " IG_ROTATION_RECREATE " to " annotations                                                 \
    " so that immutable-guard recreates the Secret on rotation, set " immutable ": false"      \
    then_delete ", or set " refresh_policy ": CreatedOnce."

#define THEN_DELETE                                                                            \
    " and then delete the existing Secret, which is already immutable, so that ESO creates it " \
    "again"

#define ES_FIX(then_delete)                                                                    \
    MISSING_ROTATION_FIX(IG_ES_IMMUTABLE_PATH, IG_ES_REFRESH_POLICY_PATH, IG_ES_ANNOTATIONS_PATH, \
                         then_delete)
#define CES_FIX(then_delete)                                                                   \
    MISSING_ROTATION_FIX(IG_CES_IMMUTABLE_PATH, IG_CES_REFRESH_POLICY_PATH,                    \
                         IG_CES_ANNOTATIONS_PATH, then_delete)

/* Return that text for the kind, and for a target that is immutable already
 * or not. It is joined at compile time, because joining its 14 pieces for
 * every denial cost about as much as the rest of the message. */
static const char *missing_rotation_fix(enum ig_es_kind kind, bool target_was_immutable)
{
    /* Indexed by [is a ClusterExternalSecret][target was immutable]. */
    static const char *const fixes[2][2] = {
        {ES_FIX(""), ES_FIX(THEN_DELETE)},
        {CES_FIX(""), CES_FIX(THEN_DELETE)},
    };
    return fixes[kind == IG_KIND_CLUSTER_EXTERNAL_SECRET][target_was_immutable];
}

char *ig_policy_violation_message(enum ig_es_kind kind, const char *display_name,
                                  const struct ig_policy_result *result)
{
    const struct ig_policy_paths *paths = ig_policy_paths(kind);
    /* Every piece is bounded (the display name by its buffer), so the longest
     * message fits. ig_text cuts rather than overflows in any case. */
    char buffer[2048];
    struct ig_text text;

    ig_text_init(&text, buffer, sizeof buffer);
    ig_text_append(&text, ig_policy_kind_name(kind));
    ig_text_append(&text, " ");
    ig_text_append(&text, display_name);
    if (result->violation == IG_VIOLATION_INVALID_ROTATION) {
        char value[96];
        quote_rotation(result, MESSAGE_VALUE_MAX, value, sizeof value);
        static const char valid_values[] =
            ". Valid values: " IG_ROTATION_RECREATE
            " (immutable-guard recreates the immutable Secret when the backend value changes). "
            "Fix the value or remove the annotation.";
        const char *pieces[] = {
            ": the annotation ", IG_ROTATION_ANNOTATION, " in ", paths->annotations,
            " has the invalid value ", value, valid_values,
        };
        for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
            ig_text_append(&text, pieces[i]);
    } else {
        char refresh[160];
        describe_refresh(result, refresh, sizeof refresh);
        const char *pieces[] = {
            ": ", paths->immutable, " is true but it still refreshes ", refresh,
            missing_rotation_fix(kind, result->target_was_immutable),
        };
        for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
            ig_text_append(&text, pieces[i]);
    }
    return strdup(buffer);
}

/* Add "<Kind> <name><suffix>" as one warning, shortening the name (never the
 * suffix, which states the problem) to fit IG_WARNING_MAX. */
static void add_object_warning(struct ig_warnings *warnings, const char *kind_name,
                               const char *display_name, const char *suffix)
{
    char text[IG_WARNING_MAX * 2 + 1];
    char name[IG_WARNING_MAX + 1];
    size_t fixed = strlen(kind_name) + 1 + strlen(suffix);
    size_t room = fixed + 4 < IG_WARNING_MAX ? IG_WARNING_MAX - fixed : 4;

    if (strlen(display_name) <= room) {
        snprintf(name, sizeof name, "%s", display_name);
    } else {
        /* Keep room for "..." and cut on a character boundary. */
        size_t kept = ig_text_sanitize(display_name, name, room - 3 + 1);
        snprintf(name + kept, sizeof name - kept, "...");
    }
    snprintf(text, sizeof text, "%s %s%s", kind_name, name, suffix);
    ig_warnings_add(warnings, text);
}

void ig_policy_violation_warnings(enum ig_es_kind kind, const char *display_name,
                                  const struct ig_policy_result *result,
                                  struct ig_warnings *warnings)
{
    const struct ig_policy_paths *paths = ig_policy_paths(kind);
    const char *kind_name = ig_policy_kind_name(kind);
    char text[512];

    if (result->violation == IG_VIOLATION_INVALID_ROTATION) {
        char value[96];
        char suffix[200];
        quote_rotation(result, WARNING_VALUE_MAX, value, sizeof value);
        snprintf(suffix, sizeof suffix, ": invalid %s value %s", IG_ROTATION_ANNOTATION, value);
        add_object_warning(warnings, kind_name, display_name, suffix);
        ig_warnings_add(warnings, "valid " IG_ROTATION_ANNOTATION " values: " IG_ROTATION_RECREATE);
        return;
    }

    add_object_warning(warnings, kind_name, display_name,
                       ": immutable target still refreshes; rotations never arrive");
    snprintf(text, sizeof text, "fix: add annotation %s: " IG_ROTATION_RECREATE " to %s",
             IG_ROTATION_ANNOTATION, paths->annotations);
    ig_warnings_add(warnings, text);
    snprintf(text, sizeof text, "or set %s: false%s", paths->immutable,
             result->target_was_immutable ? ", then delete the immutable Secret" : "");
    ig_warnings_add(warnings, text);
    snprintf(text, sizeof text, "or set %s: CreatedOnce", paths->refresh_policy);
    ig_warnings_add(warnings, text);
}

void ig_policy_interval_warning(const struct ig_policy_result *result, struct ig_warnings *warnings)
{
    char text[256];
    char value[96];

    if (result->refresh != IG_REFRESH_UNPARSABLE)
        return;
    if (result->interval_text)
        quote_value(result->interval_text, WARNING_VALUE_MAX, value, sizeof value);
    else if (result->interval_is_number)
        snprintf(value, sizeof value, "%g", result->interval_number);
    else
        snprintf(value, sizeof value, "(not a string)");
    snprintf(text, sizeof text, "refreshInterval %s is not a Go duration such as 1h30m; treated as refreshing",
             value);
    ig_warnings_add(warnings, text);
}

const char *ig_policy_reason(const struct ig_policy_result *result)
{
    switch (result->violation) {
    case IG_VIOLATION_MISSING_ROTATION: return "immutable-target-refreshes";
    case IG_VIOLATION_INVALID_ROTATION: return "invalid-rotation-annotation";
    case IG_VIOLATION_NONE: break;
    }
    return "compliant";
}
