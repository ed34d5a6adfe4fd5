/* HTTPS POST over one reused libcurl easy handle (keep-alive, TLS session
 * reuse). A handle belongs to one thread at a time.
 *
 * NOTE: the header lines and the reply body are wiped after each call, but
 * the copies inside libcurl's own buffers (and OpenSSL's TLS records) are not. */
#ifndef IG_AWS_HTTP_H
#define IG_AWS_HTTP_H

#include <stddef.h>

#include "aws/error.h"

#define IG_AWS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 3000
#define IG_AWS_HTTP_DEFAULT_TIMEOUT_MS 10000
#define IG_AWS_HTTP_MAX_RESPONSE_BYTES (8u * 1024u * 1024u)

struct ig_aws_http_options {
    long connect_timeout_ms; /* 0: 3000 */
    long timeout_ms;         /* total time per attempt; 0: 10000 */
    const char *ca_file;     /* NULL: the system trust store */
};

struct ig_aws_http_response {
    long status;
    char *body; /* NUL-terminated; wiped on free because it can hold values */
    size_t body_length;
    char date[64];        /* Date header, or "" */
    char error_type[128]; /* X-Amzn-ErrorType header, or "" */
    char request_id[96];  /* x-amzn-RequestId or x-amz-request-id, or "" */
};

struct ig_aws_http;

/* Returns NULL when out of memory or when libcurl cannot create a handle. */
struct ig_aws_http *ig_aws_http_new(const struct ig_aws_http_options *options);
void ig_aws_http_free(struct ig_aws_http *http);

/* POST body to url with the given "Name: value" header lines. Returns 0 when a
 * complete reply arrived (any status), or -1 with err set to
 * IG_AWS_ERR_TRANSPORT, IG_AWS_ERR_TIMEOUT or IG_AWS_ERR_INTERNAL. */
int ig_aws_http_post(struct ig_aws_http *http, const char *url, const char *const *header_lines,
                     size_t header_count, const char *body, size_t body_length,
                     struct ig_aws_http_response *response, struct ig_aws_error *err);

/* Wipe and free the body; the struct may be reused. */
void ig_aws_http_response_free(struct ig_aws_http_response *response);

/* Number of new connections the handle has opened so far. */
long ig_aws_http_connect_count(const struct ig_aws_http *http);

#endif
