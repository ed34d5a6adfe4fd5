/* Helpers shared by the sources of src/kube only. */
#ifndef IG_KUBE_INTERNAL_H
#define IG_KUBE_INTERNAL_H

#include <curl/curl.h>
#include <stddef.h>

#include "kube/client.h"

/* Prepare an easy handle, reused from the client's pool when one is idle, for
 * server + path with TLS, User-Agent, Accept and the bearer token (may be
 * NULL). *headers receives the list the caller frees after the transfer.
 * Returns NULL when out of memory. */
CURL *ig_kube_client_easy(struct ig_kube_client *client, const char *path, const char *token,
                          const char *content_type, struct curl_slist **headers);

/* Give a handle from ig_kube_client_easy back for reuse (NULL is allowed).
 * Its options are reset, so free the header list after this call. */
void ig_kube_client_release_easy(struct ig_kube_client *client, CURL *easy);

/* Current bearer token (malloc'd; NULL when the configuration has none) and
 * the monotonic time it was read. Returns -1 with status when the token file
 * cannot be read and no earlier token is cached. */
int ig_kube_client_token(struct ig_kube_client *client, char **token, double *read_at,
                         struct ig_kube_status *status);

/* After a 401: forget a token read at or before started, so the next request
 * reads the file again. Returns true when there is a token file to re-read. */
bool ig_kube_client_token_rejected(struct ig_kube_client *client, double started);

/* Count one attempt in ig_kube_api_requests_total. code 0 is a transport failure. */
void ig_kube_client_count(struct ig_kube_client *client, enum ig_kube_verb verb,
                          const char *resource, long code);

const char *ig_kube_verb_name(enum ig_kube_verb verb);

/* Client-side limits that a misbehaving API server can hit. */
enum ig_kube_limit {
    IG_KUBE_LIMIT_RESPONSE_BODY, /* max_body_bytes */
    IG_KUBE_LIMIT_WATCH_EVENT,   /* max_event_bytes */
    IG_KUBE_LIMIT_LIST_PAGES,    /* a repeated continue token or max_pages */
    IG_KUBE_LIMIT_COUNT
};

/* Log one error for a passed limit and count it in
 * ig_kube_limit_exceeded_total{limit}. limit_value is in bytes or pages. */
void ig_kube_client_limit_exceeded(struct ig_kube_client *client, enum ig_kube_limit limit,
                                   const char *resource, const char *message,
                                   long long limit_value);

/* The max_event_bytes option after defaults. */
size_t ig_kube_client_max_event_bytes(const struct ig_kube_client *client);

/* Uniform random number in [0, 1), safe from any thread; not for cryptography. */
double ig_kube_random(void);

/* Delay before retry number attempt (1-based): exponential from the client's
 * backoff_initial up to backoff_max, with the upper half randomised. */
double ig_kube_client_backoff(const struct ig_kube_client *client, int attempt);

/* Percent-encode text for a query value. Returns a malloc'd string or NULL. */
char *ig_kube_query_escape(const char *text);

/* Abort-on-cancel progress callback for CURLOPT_XFERINFOFUNCTION; data is the stopper. */
int ig_kube_progress_cancel(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow);

#endif
