/* HTTPS client for the Kubernetes API (libcurl), shared by every thread of the
 * daemon. It sends the bearer token, which it re-reads from the token file at
 * most every 60 s and at once after a 401 (that request is then retried once).
 * It retries 429 after Retry-After, and 5xx or transport failures with
 * jittered backoff. Every non-2xx reply becomes a typed ig_kube_status.
 *
 * Writes (POST, PUT, PATCH, DELETE) pass a write guard first, so that a
 * replica that has lost leadership stops writing at once. Lease requests
 * bypass the guard. */
#ifndef IG_KUBE_CLIENT_H
#define IG_KUBE_CLIENT_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/config.h"
#include "kube/status.h"

/* A cancellation flag with an interruptible sleep, owned by one thread group. */
struct ig_kube_stopper {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool stopped;
};

void ig_kube_stopper_init(struct ig_kube_stopper *stopper);
void ig_kube_stopper_destroy(struct ig_kube_stopper *stopper);
void ig_kube_stopper_stop(struct ig_kube_stopper *stopper);
bool ig_kube_stopper_stopped(const struct ig_kube_stopper *stopper);
/* Sleep for seconds or until stopped. Returns true when stopped. NULL sleeps plainly. */
bool ig_kube_stopper_sleep(struct ig_kube_stopper *stopper, double seconds);

typedef bool (*ig_kube_write_guard_fn)(void *ctx);

struct ig_kube_client_options {
    const char *user_agent;    /* default "immutable-guard/<version>" */
    int max_attempts;          /* per request, including the first; default 5 */
    double backoff_initial;    /* seconds before the first retry; default 0.2 */
    double backoff_max;        /* default 10 */
    double retry_after_max;    /* cap on a server's Retry-After; default 60 */
    long request_timeout;      /* seconds for a non-watch request; default 30 */
    double token_max_age;      /* seconds a token file read is reused; default 60 */
    /* Bytes of one non-watch reply body; default 64 MiB. A larger body aborts
     * the transfer with IG_KUBE_REASON_TOO_LARGE, without a retry. */
    size_t max_body_bytes;
    /* Bytes of one watch event; default 16 MiB, about ten times the largest
     * object etcd stores by default (1.5 MiB request limit). */
    size_t max_event_bytes;
};

struct ig_kube_client;

/* Copy config and options. Returns NULL when out of memory. */
struct ig_kube_client *ig_kube_client_new(const struct ig_kube_config *config,
                                          const struct ig_kube_client_options *options);
void ig_kube_client_free(struct ig_kube_client *client);

/* Install the guard every guarded write consults (NULL removes it). */
void ig_kube_client_set_write_guard(struct ig_kube_client *client, ig_kube_write_guard_fn guard,
                                    void *ctx);

const struct ig_kube_config *ig_kube_client_config(const struct ig_kube_client *client);

/* A served resource. namespaced decides whether a namespace goes into paths. */
struct ig_kube_resource {
    const char *group; /* "" for the core group */
    const char *version;
    const char *resource; /* plural, e.g. "secrets" */
    bool namespaced;
};

extern const struct ig_kube_resource IG_KUBE_SECRETS;
extern const struct ig_kube_resource IG_KUBE_LEASES;
extern const struct ig_kube_resource IG_KUBE_EVENTS;

/* Build /api/v1/namespaces/ns/secrets/name[/sub]. ns, name and sub may be NULL.
 * Returns a malloc'd path or NULL when out of memory. */
char *ig_kube_resource_path(const struct ig_kube_resource *resource, const char *ns,
                            const char *name, const char *subresource);

enum ig_kube_verb {
    IG_KUBE_VERB_GET,
    IG_KUBE_VERB_LIST,
    IG_KUBE_VERB_WATCH,
    IG_KUBE_VERB_CREATE,
    IG_KUBE_VERB_UPDATE,
    IG_KUBE_VERB_PATCH,
    IG_KUBE_VERB_DELETE,
};

struct ig_kube_request {
    enum ig_kube_verb verb;
    const char *path;         /* absolute path with the query, e.g. /api/v1/namespaces?limit=5 */
    const char *resource;     /* metric label, e.g. "secrets" */
    const char *body;         /* NUL-terminated JSON or NULL */
    const char *content_type; /* default application/json when body is set */
    bool bypass_write_guard;  /* lease requests only */
    struct ig_kube_stopper *cancel; /* optional: aborts the transfer and backoff sleeps */
    /* Optional check run once the connection is up, right before the request
     * is sent; false aborts it with IG_KUBE_REASON_NOT_LEADER. Guarded writes
     * also run the write guard at that point, so a thread stalled while
     * connecting cannot send a write after leadership has lapsed. */
    ig_kube_write_guard_fn send_check;
    void *send_check_ctx;
    int max_attempts;     /* 0: the client's max_attempts */
    long timeout_seconds; /* 0: the client's request_timeout */
};

struct ig_kube_response {
    long code;
    char *body; /* NUL-terminated; NULL when empty */
    size_t body_length;
};

void ig_kube_response_clear(struct ig_kube_response *response);

/* Send one request with retries. Returns 0 on a 2xx reply (response filled),
 * -1 otherwise with status filled (code 0 for client-side outcomes). */
int ig_kube_do(struct ig_kube_client *client, const struct ig_kube_request *request,
               struct ig_kube_response *response, struct ig_kube_status *status);

/* Typed calls. Each returns 0 and sets *out (caller frees with cJSON_Delete;
 * out may be NULL), or -1 with status filled. */
int ig_kube_get(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                const char *ns, const char *name, cJSON **out, struct ig_kube_status *status);
int ig_kube_create(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                   const char *ns, const cJSON *object, cJSON **out,
                   struct ig_kube_status *status);
/* PUT. The object must carry metadata.resourceVersion, so that a concurrent
 * change returns 409 Conflict; without it the call fails with IG_KUBE_REASON_CLIENT. */
int ig_kube_update(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                   const char *ns, const cJSON *object, cJSON **out,
                   struct ig_kube_status *status);
/* DELETE with a DeleteOptions body, propagationPolicy Background, and the
 * preconditions that are not NULL. */
int ig_kube_delete(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                   const char *ns, const char *name, const char *uid,
                   const char *resource_version, cJSON **out, struct ig_kube_status *status);
/* PATCH with application/merge-patch+json, on the object or a subresource
 * such as "status". */
int ig_kube_merge_patch(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                        const char *ns, const char *name, const char *subresource,
                        const cJSON *patch, cJSON **out, struct ig_kube_status *status);

struct ig_kube_list_options {
    const char *label_selector;
    const char *field_selector;
    long limit;       /* page size; 0 means 500 */
    int max_restarts; /* restarts after an expired continue token; 0 means 5 */
    long max_pages;   /* pages of one list; 0 means 10000 */
};

/* LIST every page. An expired continue token (410) restarts from page one, so
 * the result is one consistent snapshot. A page whose body passes the client's
 * max_body_bytes is requested again with half the limit, down to 1. A reply
 * that repeats the continue token it was sent, or a list that passes
 * max_pages, fails with IG_KUBE_REASON_PAGINATION. Returns 0 with *items (a
 * cJSON array the caller frees) and *resource_version (malloc'd), or -1 with
 * status. */
int ig_kube_list(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                 const char *ns, const struct ig_kube_list_options *options,
                 struct ig_kube_stopper *cancel, cJSON **items, char **resource_version,
                 struct ig_kube_status *status);

/* Typed Secret calls for the sync. ig_kube_secret_delete requires the uid, so
 * that a Secret re-created under the same name is never deleted by mistake. */
int ig_kube_secret_get(struct ig_kube_client *client, const char *ns, const char *name,
                       cJSON **out, struct ig_kube_status *status);
int ig_kube_secret_create(struct ig_kube_client *client, const char *ns, const cJSON *secret,
                          cJSON **out, struct ig_kube_status *status);
int ig_kube_secret_delete(struct ig_kube_client *client, const char *ns, const char *name,
                          const char *uid, const char *resource_version,
                          struct ig_kube_status *status);

/* Read ExternalSecret-style discovery: GET /apis/<group> and return the first
 * of candidates (in order) that the cluster serves and that lists resource.
 * Returns 0 and a malloc'd version, or -1 with status (NotFound when none). */
int ig_kube_discover_version(struct ig_kube_client *client, const char *group,
                             const char *const *candidates, size_t candidate_count,
                             const char *resource, struct ig_kube_stopper *cancel,
                             char **version, struct ig_kube_status *status);

/* Counters for tests and metrics: requests sent (every attempt) and token file reads. */
unsigned long ig_kube_client_attempts(const struct ig_kube_client *client);
unsigned long ig_kube_client_token_reads(const struct ig_kube_client *client);

#endif
