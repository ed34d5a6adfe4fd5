/* Human-readable texts for rule results: the denial message, admission
 * warnings and the one-line reason used in logs and by `check`. */
#ifndef IG_POLICY_MESSAGE_H
#define IG_POLICY_MESSAGE_H

#include <stddef.h>

#include "common/text.h"
#include "policy/rule.h"

/* kubectl prints admission warnings; Kubernetes recommends at most 120 characters. */
#define IG_WARNING_MAX 120
#define IG_WARNINGS_MAX 6

struct ig_warnings {
    size_t count;
    char text[IG_WARNINGS_MAX][IG_WARNING_MAX + 1];
};

/* Name an object for messages: "namespace/name", or "name" when cluster-scoped.
 * A missing name shows as "<generateName>*" or "(unnamed)". Control characters
 * and invalid UTF-8 are replaced, and the result is cut to fit size. */
void ig_policy_display_name(const char *namespace_, const char *name, const char *generate_name,
                            char *out, size_t size);

/* Full explanation of a violation: which object, why it is a problem, and the
 * fixes. Returns a malloc'd string or NULL when out of memory. */
char *ig_policy_violation_message(enum ig_es_kind kind, const char *display_name,
                                  const struct ig_policy_result *result);

/* Append the short warnings for a violation (object and problem, then fixes). */
void ig_policy_violation_warnings(enum ig_es_kind kind, const char *display_name,
                                  const struct ig_policy_result *result,
                                  struct ig_warnings *warnings);

/* Append the warning about an unparsable refreshInterval, when there is one. */
void ig_policy_interval_warning(const struct ig_policy_result *result, struct ig_warnings *warnings);

/* Append one warning, made single-line, valid UTF-8 and at most IG_WARNING_MAX
 * bytes. Ignored when the list is full. */
void ig_warnings_add(struct ig_warnings *warnings, const char *text);

/* Stable machine-readable reason for logs: "immutable-target-refreshes",
 * "invalid-rotation-annotation" or "compliant". */
const char *ig_policy_reason(const struct ig_policy_result *result);


#endif
