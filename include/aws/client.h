/* Signed JSON/Query calls shared by the SSM and STS clients: endpoint,
 * transport, SigV4 signing, retries, clock-offset correction and one
 * credential refresh after an expired-token reply. */
#ifndef IG_AWS_CLIENT_H
#define IG_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/credentials.h"
#include "aws/error.h"
#include "aws/http.h"
#include "aws/retry.h"
#include "aws/sigv4.h"
#include "common/metrics.h"

/* A skew of at least this much between the server Date and local time is
 * corrected (the AWS JavaScript SDK v3 uses the same threshold). */
#define IG_AWS_CLOCK_SKEW_THRESHOLD_S 300

/* Options of an SSM or STS client. Zero fields take the defaults. */
struct ig_aws_client_options {
    const char *region;       /* NULL: AWS_REGION, then AWS_DEFAULT_REGION */
    const char *endpoint_url; /* NULL: see ig_aws_resolve_endpoint */
    struct ig_aws_http_options http;
    struct ig_aws_retry_options retry;
    time_t (*now)(void *context); /* NULL: time(); replaced in tests */
    void *now_context;
};

struct ig_aws_client {
    char service[8]; /* signing name: "ssm" or "sts" */
    char region[64];
    char signing_region[64]; /* region, or us-east-1 for the global STS endpoint */
    char endpoint[1024];
    char host[512]; /* Host header value: host, plus ":port" when not the scheme default */
    char path[512]; /* request path from the endpoint URL, "/" by default */
    struct ig_aws_http *http;
    struct ig_aws_retry retry;
    long clock_offset_s; /* server time minus local time, learnt from skew errors */
    struct ig_sigv4_key_cache key_cache;
    time_t (*now)(void *context);
    void *now_context;
    /* immutable_guard_aws_requests_total{service,result} and
     * immutable_guard_aws_retries_total{service}, looked up once. */
    struct ig_counter *requests_succeeded;
    struct ig_counter *requests_failed;
    struct ig_counter *retries;
};

/* One request: the operation name (for logs), the headers to sign besides
 * Host and X-Amz-Date, and the body. */
struct ig_aws_call {
    const char *operation;
    const struct ig_sigv4_header *headers;
    size_t header_count;
    const char *body;
    size_t body_length;
    bool unsigned_request; /* send without Authorization (AssumeRoleWithWebIdentity) */
};

/* Resolve region and endpoint and open the transport. Returns 0 or -1 with err set. */
int ig_aws_client_init(struct ig_aws_client *client, const char *service,
                       const struct ig_aws_client_options *options, struct ig_aws_error *err);
void ig_aws_client_cleanup(struct ig_aws_client *client);

/* Current signing time: now() plus the learnt clock offset. */
time_t ig_aws_client_time(const struct ig_aws_client *client);

/* Send a call with retries. On success returns 0 and fills response (2xx).
 * Otherwise returns -1 with err set; err->attempts is always set. */
int ig_aws_client_send(struct ig_aws_client *client, struct ig_aws_credential_provider *credentials,
                       const struct ig_aws_call *call, struct ig_aws_http_response *response,
                       struct ig_aws_error *err);

#endif
