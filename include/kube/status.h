/* Typed errors of the Kubernetes API, parsed from the Status body of a non-2xx
 * reply or of a watch ERROR event. Code paths branch on code and reason, never
 * on message text. */
#ifndef IG_KUBE_STATUS_H
#define IG_KUBE_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

enum ig_kube_reason {
    IG_KUBE_REASON_UNKNOWN,
    IG_KUBE_REASON_BAD_REQUEST,
    IG_KUBE_REASON_UNAUTHORIZED,
    IG_KUBE_REASON_FORBIDDEN,
    IG_KUBE_REASON_NOT_FOUND,
    IG_KUBE_REASON_ALREADY_EXISTS,
    IG_KUBE_REASON_CONFLICT,
    IG_KUBE_REASON_GONE,
    IG_KUBE_REASON_EXPIRED,
    IG_KUBE_REASON_INVALID,
    IG_KUBE_REASON_METHOD_NOT_ALLOWED,
    IG_KUBE_REASON_UNSUPPORTED_MEDIA_TYPE,
    IG_KUBE_REASON_TOO_MANY_REQUESTS,
    IG_KUBE_REASON_INTERNAL_ERROR,
    IG_KUBE_REASON_SERVICE_UNAVAILABLE,
    IG_KUBE_REASON_TIMEOUT,
    IG_KUBE_REASON_SERVER_TIMEOUT,
    /* Client-side outcomes with no HTTP reply (code 0). */
    IG_KUBE_REASON_TRANSPORT,  /* connection, TLS or read failure */
    IG_KUBE_REASON_NOT_LEADER, /* write blocked because this replica does not lead */
    IG_KUBE_REASON_CANCELLED,  /* the caller asked the request to stop */
    IG_KUBE_REASON_CLIENT,     /* invalid argument, out of memory, undecodable reply */
    IG_KUBE_REASON_TOO_LARGE,  /* a reply body or watch event passed the client's size limit */
    IG_KUBE_REASON_PAGINATION, /* a LIST repeated its continue token or passed the page limit */
};

/* One entry of details.causes: reason such as FieldValueForbidden, field such as "data". */
struct ig_kube_cause {
    char *reason;
    char *message;
    char *field;
};

struct ig_kube_status {
    int code; /* HTTP status, 0 for client-side outcomes */
    enum ig_kube_reason reason;
    char *reason_text; /* reason as sent, NULL when absent */
    char *message;
    char *name;        /* details.name */
    char *kind;        /* details.kind: the resource for NotFound/Conflict, the Kind for Invalid */
    struct ig_kube_cause *causes;
    size_t cause_count;
    double retry_after; /* seconds from Retry-After or details.retryAfterSeconds, else 0 */
};

/* Fill out from a Status object. A missing or unknown reason falls back to the
 * reason that kube-apiserver pairs with http_code (409 -> Conflict, and so on).
 * Returns false only when out of memory. */
bool ig_kube_status_from_json(const cJSON *status, int http_code, struct ig_kube_status *out);

/* Parse a reply body. A body that is not a Status still yields a typed error from
 * http_code. Returns false only when out of memory. */
bool ig_kube_status_parse(const char *body, size_t length, int http_code, struct ig_kube_status *out);

/* Set a client-side outcome with a message (copied). */
void ig_kube_status_set(struct ig_kube_status *out, int code, enum ig_kube_reason reason,
                        const char *message);

void ig_kube_status_clear(struct ig_kube_status *status);

enum ig_kube_reason ig_kube_reason_from_text(const char *text);
enum ig_kube_reason ig_kube_reason_from_code(int http_code);
const char *ig_kube_reason_name(enum ig_kube_reason reason);

/* True when some cause has this field and, when reason is not NULL, this reason. */
bool ig_kube_status_has_cause(const struct ig_kube_status *status, const char *field,
                              const char *reason);

#endif
