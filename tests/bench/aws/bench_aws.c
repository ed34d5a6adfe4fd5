/* AWS client benchmarks.
 *
 *   bench_aws sign N
 *       sign N GetParameters requests with a session token, deriving the signing
 *       key each time and then with the key cache; prints microseconds per signature
 *   bench_aws calls ENDPOINT KEY_ID SECRET NAME N reuse|fresh
 *       N GetParameter calls; "reuse" keeps one client (one libcurl handle),
 *       "fresh" creates a client per call; prints calls per second and
 *       the number of TCP connections opened */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/sigv4.h"
#include "aws/ssm.h"
#include "common/log.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long parse_count(const char *text)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (!end || *end != '\0' || value < 1 || value > 100000000) {
        fprintf(stderr, "bench_aws: count '%s' is invalid; give 1 to 100000000\n", text);
        exit(2);
    }
    return value;
}

static int bench_sign(long count, bool use_cache)
{
    struct ig_sigv4_key_cache cache = {0};
    const char *body = "{\"Names\":[\"/prod/db/password\",\"/prod/db/user\"],\"WithDecryption\":true}";
    struct ig_sigv4_header headers[] = {
        {"Host", "ssm.eu-west-1.amazonaws.com"},
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", "AmazonSSM.GetParameters"},
    };
    struct ig_sigv4_request request = {
        .method = "POST",
        .path = "/",
        .headers = headers,
        .header_count = 3,
        .body = (const unsigned char *)body,
        .body_length = strlen(body),
    };
    struct ig_sigv4_params params = {
        .access_key_id = "ASIAEXAMPLEEXAMPLE00",
        .secret_access_key = "bench-secret-access-key-0000000000000000",
        .session_token = "bench-session-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        .region = "eu-west-1",
        .service = "ssm",
        .timestamp = 1764806400,
        .normalize_path = true,
        .key_cache = use_cache ? &cache : NULL,
    };
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        struct ig_sigv4_result result;
        params.timestamp++; /* same day: the cache stays valid */
        if (ig_sigv4_sign(&request, &params, &result) != 0) {
            fprintf(stderr, "bench_aws: signing failed\n");
            return 1;
        }
        ig_sigv4_result_free(&result);
    }
    double elapsed = now_seconds() - start;
    printf("sign (%s): %ld signatures in %.3f s, %.2f us per signature\n",
           use_cache ? "cached signing key" : "key derived each time", count, elapsed, elapsed / count * 1e6);
    ig_sigv4_key_cache_clear(&cache);
    return 0;
}

static int init_client(struct ig_ssm_client *client, const char *endpoint, struct ig_aws_credential_provider *keys)
{
    struct ig_aws_client_options options = {
        .region = "us-east-1",
        .endpoint_url = endpoint,
        .retry = {.max_attempts = 1},
    };
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    if (ig_ssm_client_init(client, &options, keys, &err) != 0) {
        fprintf(stderr, "bench_aws: client setup failed: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int read_once(struct ig_ssm_client *client, const char *name)
{
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    if (ig_ssm_get_parameter(client, name, &parameter, &err) != 0) {
        fprintf(stderr, "bench_aws: GetParameter %s failed: %s %s\n", name, err.code, err.message);
        return -1;
    }
    ig_ssm_parameter_clear(&parameter);
    return 0;
}

static int bench_calls(const char *endpoint, const char *key_id, const char *secret, const char *name, long count,
                       bool reuse)
{
    struct ig_aws_credential_provider *keys = ig_aws_static_provider_new(key_id, secret, NULL, 0);
    if (!keys)
        return 1;
    struct ig_ssm_client client;
    long connects = 0;
    int rc = 1;
    if (reuse && init_client(&client, endpoint, keys) != 0)
        goto cleanup;
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        if (!reuse && init_client(&client, endpoint, keys) != 0)
            goto cleanup;
        int read_rc = read_once(&client, name);
        if (!reuse) {
            connects += ig_aws_http_connect_count(client.base.http);
            ig_ssm_client_cleanup(&client);
        }
        if (read_rc != 0)
            goto cleanup_client;
    }
    double elapsed = now_seconds() - start;
    if (reuse)
        connects = ig_aws_http_connect_count(client.base.http);
    printf("calls (%s): %ld GetParameter calls in %.3f s, %.1f calls/s, %ld connections\n",
           reuse ? "one reused handle" : "new handle per call", count, elapsed, count / elapsed, connects);
    rc = 0;
cleanup_client:
    if (reuse)
        ig_ssm_client_cleanup(&client);
cleanup:
    ig_aws_credential_provider_free(keys);
    return rc;
}

int main(int argc, char **argv)
{
    ig_log_configure(IG_LOG_ERROR, IG_LOG_FORMAT_JSON);
    ig_log_set_stream(stderr);
    if (argc == 3 && strcmp(argv[1], "sign") == 0)
        return bench_sign(parse_count(argv[2]), false) || bench_sign(parse_count(argv[2]), true);
    if (argc == 8 && strcmp(argv[1], "calls") == 0)
        return bench_calls(argv[2], argv[3], argv[4], argv[5], parse_count(argv[6]), strcmp(argv[7], "reuse") == 0);
    fprintf(stderr, "usage: bench_aws sign N | bench_aws calls ENDPOINT KEY_ID SECRET NAME N reuse|fresh\n");
    return 2;
}
