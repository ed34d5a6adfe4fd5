#include <string.h>

#include "admission/internal.h"
#include "admission/review.h"

const char *ig_webhook_name(enum ig_webhook webhook)
{
    return webhook == IG_WEBHOOK_MUTATE ? "mutate" : "validate";
}

const char *ig_decision_name(enum ig_decision decision)
{
    switch (decision) {
    case IG_DECISION_ALLOWED: return "allowed";
    case IG_DECISION_DENIED: return "denied";
    case IG_DECISION_WARNED: return "warned";
    case IG_DECISION_PATCHED: return "patched";
    case IG_DECISION_ERROR: return "error";
    }
    return "error";
}

const char *ig_mode_name(enum ig_mode mode)
{
    switch (mode) {
    case IG_MODE_ENFORCE: return "enforce";
    case IG_MODE_WARN: return "warn";
    case IG_MODE_AUDIT: return "audit";
    }
    return "enforce";
}

bool ig_mode_parse(const char *text, enum ig_mode *out)
{
    static const enum ig_mode modes[] = {IG_MODE_ENFORCE, IG_MODE_WARN, IG_MODE_AUDIT};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(text, ig_mode_name(modes[i])) == 0) {
            *out = modes[i];
            return true;
        }
    }
    return false;
}

const char *ig_mutate_action_name(enum ig_mutate_action action)
{
    return action == IG_MUTATE_SET_MUTABLE ? "set-mutable" : "annotate";
}

bool ig_mutate_action_parse(const char *text, enum ig_mutate_action *out)
{
    static const enum ig_mutate_action actions[] = {IG_MUTATE_ANNOTATE, IG_MUTATE_SET_MUTABLE};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(text, ig_mutate_action_name(actions[i])) == 0) {
            *out = actions[i];
            return true;
        }
    }
    return false;
}
