/* AdmissionReview handling: decode a request body, decide, encode the reply.
 *
 * The transport calls ig_admission_handle() with the raw body of a POST to
 * /validate or /mutate after it has checked method, path, Content-Type and size.
 * The handler does no network I/O, and under serve its log line only goes
 * into the log writer's buffer, so it does not wait on anything slow. */
#ifndef IG_ADMISSION_REVIEW_H
#define IG_ADMISSION_REVIEW_H

#include <stdbool.h>
#include <stddef.h>

enum ig_webhook { IG_WEBHOOK_VALIDATE, IG_WEBHOOK_MUTATE };

/* Action of the validating webhook on a violation. */
enum ig_mode { IG_MODE_ENFORCE, IG_MODE_WARN, IG_MODE_AUDIT };

/* Rewrite applied by the mutating webhook to a violating object. */
enum ig_mutate_action { IG_MUTATE_ANNOTATE, IG_MUTATE_SET_MUTABLE };

enum ig_decision {
    IG_DECISION_ALLOWED,
    IG_DECISION_DENIED,
    IG_DECISION_WARNED,
    IG_DECISION_PATCHED,
    IG_DECISION_ERROR,
};

struct ig_admission_config {
    enum ig_mode mode;
    enum ig_mutate_action mutate_action;
    /* Namespaces whose objects are allowed (and audited). Not owned. */
    const char *const *exempt_namespaces;
    size_t exempt_namespace_count;
};

/* The reply to send. body is malloc'd and owned by the outcome. */
struct ig_admission_outcome {
    int http_status;       /* 200 for any decided review, 400 for a bad request */
    char *body;            /* application/json */
    size_t body_length;
    enum ig_decision decision;
};

/* Decide one review. Always fills outcome (with a Status body on error) and
 * logs the decision; returns false only when out of memory, in which case the
 * transport replies with HTTP 500 itself. */
bool ig_admission_handle(enum ig_webhook webhook, const char *body, size_t length,
                         const struct ig_admission_config *config,
                         struct ig_admission_outcome *outcome);
void ig_admission_outcome_free(struct ig_admission_outcome *outcome);

/* Build a Kubernetes Status body ("kind":"Status","status":"Failure") for an
 * HTTP-level error such as 404, 405, 413 or 415. Returns a malloc'd string, or
 * NULL when out of memory. reason is a StatusReason such as "NotFound". */
char *ig_admission_status_body(int code, const char *reason, const char *message);

/* Register the admission metrics, so that /metrics lists every series with
 * zero before the first review. Safe to call more than once. */
void ig_admission_register_metrics(void);

const char *ig_webhook_name(enum ig_webhook webhook);
const char *ig_decision_name(enum ig_decision decision);
const char *ig_mode_name(enum ig_mode mode);
bool ig_mode_parse(const char *text, enum ig_mode *out);
bool ig_mutate_action_parse(const char *text, enum ig_mutate_action *out);

#endif
