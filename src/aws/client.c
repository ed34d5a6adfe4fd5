#include "aws/client.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "common/log.h"

#define MAX_CALL_HEADERS 8

static time_t default_now(void *context)
{
    (void)context;
    return time(NULL);
}

/* Split the endpoint URL into the Host header value and the request path. */
static int parse_endpoint(struct ig_aws_client *client, struct ig_aws_error *err)
{
    CURLU *url = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *scheme = NULL;
    int rc = -1;
    if (!url) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory parsing the endpoint");
        return -1;
    }
    if (curl_url_set(url, CURLUPART_URL, client->endpoint, 0) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "endpoint '%.200s' is not a valid URL", client->endpoint);
        goto cleanup;
    }
    if (curl_url_get(url, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL;
    if (curl_url_get(url, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        path = NULL;
    /* The Host header contains the port unless it is the scheme's default. */
    bool default_port = !port || (strcmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
                        (strcmp(scheme, "http") == 0 && strcmp(port, "80") == 0);
    int n = default_port ? snprintf(client->host, sizeof client->host, "%s", host)
                         : snprintf(client->host, sizeof client->host, "%s:%s", host, port);
    if (n < 0 || (size_t)n >= sizeof client->host) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "endpoint host '%.200s' is too long", host);
        goto cleanup;
    }
    snprintf(client->path, sizeof client->path, "%s", path && *path ? path : "/");
    rc = 0;
cleanup:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(scheme);
    curl_url_cleanup(url);
    return rc;
}

int ig_aws_client_init(struct ig_aws_client *client, const char *service,
                       const struct ig_aws_client_options *options, struct ig_aws_error *err)
{
    memset(client, 0, sizeof *client);
    static const struct ig_aws_client_options no_options;
    if (!options)
        options = &no_options;
    snprintf(client->service, sizeof client->service, "%s", service);
    if (ig_aws_resolve_region(options->region, client->region, sizeof client->region, err) != 0)
        return -1;
    if (ig_aws_resolve_endpoint(service, client->region, options->endpoint_url, client->endpoint,
                                sizeof client->endpoint, err) != 0)
        return -1;
    if (parse_endpoint(client, err) != 0)
        return -1;
    bool global_sts = strcmp(service, "sts") == 0 && strcmp(client->host, IG_AWS_STS_GLOBAL_HOST) == 0;
    snprintf(client->signing_region, sizeof client->signing_region, "%s", global_sts ? "us-east-1" : client->region);
    if (ig_aws_retry_init(&client->retry, &options->retry, err) != 0)
        return -1;
    client->now = options->now ? options->now : default_now;
    client->now_context = options->now_context;
    client->http = ig_aws_http_new(&options->http);
    if (!client->http) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "cannot create an HTTP handle for %s", service);
        return -1;
    }
    char labels[64];
    snprintf(labels, sizeof labels, "service=\"%s\",result=\"success\"", client->service);
    client->requests_succeeded = ig_metrics_counter("immutable_guard_aws_requests_total",
                                                    "AWS API calls by service and final result.", labels);
    snprintf(labels, sizeof labels, "service=\"%s\",result=\"error\"", client->service);
    client->requests_failed = ig_metrics_counter("immutable_guard_aws_requests_total",
                                                 "AWS API calls by service and final result.", labels);
    snprintf(labels, sizeof labels, "service=\"%s\"", client->service);
    client->retries = ig_metrics_counter("immutable_guard_aws_retries_total",
                                         "AWS API attempts repeated after a retryable error.", labels);
    ig_debug("aws client created", IG_F_STR("service", service), IG_F_STR("region", client->region),
             IG_F_STR("endpoint", client->endpoint), IG_F_INT("max_attempts", client->retry.options.max_attempts));
    return 0;
}

void ig_aws_client_cleanup(struct ig_aws_client *client)
{
    if (!client)
        return;
    ig_aws_http_free(client->http);
    client->http = NULL;
    ig_sigv4_key_cache_clear(&client->key_cache);
}

time_t ig_aws_client_time(const struct ig_aws_client *client)
{
    return client->now(client->now_context) + client->clock_offset_s;
}

static char *header_line(const char *name, const char *value)
{
    char *line = NULL;
    if (asprintf(&line, "%s: %s", name, value) < 0)
        return NULL;
    return line;
}

static void free_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (lines[i]) {
            OPENSSL_cleanse(lines[i], strlen(lines[i]));
            free(lines[i]);
        }
    }
}

/* Send one attempt. Returns 0 on a 2xx reply, otherwise -1 with err set.
 * A reply's Date header is copied to server_date. *credential_failure is set
 * when no request was sent because the provider returned no credentials. */
static int send_once(struct ig_aws_client *client, struct ig_aws_credential_provider *provider,
                     const struct ig_aws_call *call, struct ig_aws_http_response *response, char *server_date,
                     size_t date_size, bool *credential_failure, struct ig_aws_error *err)
{
    struct ig_aws_credentials credentials = {0};
    struct ig_sigv4_result signature = {0};
    struct ig_sigv4_header headers[MAX_CALL_HEADERS + 1];
    char *lines[MAX_CALL_HEADERS + 4] = {0};
    size_t line_count = 0;
    int rc = -1;
    *credential_failure = false;
    server_date[0] = '\0';
    memset(response, 0, sizeof *response);

    if (call->header_count > MAX_CALL_HEADERS) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "too many request headers");
        return -1;
    }
    headers[0] = (struct ig_sigv4_header){"Host", client->host};
    if (call->header_count > 0)
        memcpy(headers + 1, call->headers, call->header_count * sizeof *headers);
    size_t header_count = call->header_count + 1;

    if (!call->unsigned_request) {
        if (!provider) {
            ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "no credential provider for a signed %s call", client->service);
            *credential_failure = true;
            return -1;
        }
        if (ig_aws_credential_provider_get(provider, &credentials, err) != 0) {
            *credential_failure = true;
            return -1;
        }
        struct ig_sigv4_request request = {
            .method = "POST",
            .path = client->path,
            .headers = headers,
            .header_count = header_count,
            .body = (const unsigned char *)call->body,
            .body_length = call->body_length,
        };
        struct ig_sigv4_params params = {
            .access_key_id = credentials.access_key_id,
            .secret_access_key = credentials.secret_access_key,
            .session_token = credentials.session_token,
            .region = client->signing_region,
            .service = client->service,
            .timestamp = ig_aws_client_time(client),
            .normalize_path = true,
            .key_cache = &client->key_cache,
        };
        if (ig_sigv4_sign(&request, &params, &signature) != 0) {
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "signing the %s request failed", call->operation);
            goto cleanup;
        }
    }

    for (size_t i = 0; i < header_count; i++) {
        if (!(lines[line_count++] = header_line(headers[i].name, headers[i].value)))
            goto out_of_memory;
    }
    if (!call->unsigned_request) {
        if (signature.add_amz_date && !(lines[line_count++] = header_line("X-Amz-Date", signature.amz_date)))
            goto out_of_memory;
        if (signature.add_security_token &&
            !(lines[line_count++] = header_line("X-Amz-Security-Token", credentials.session_token)))
            goto out_of_memory;
        if (!(lines[line_count++] = header_line("Authorization", signature.authorization)))
            goto out_of_memory;
    }

    char url[sizeof client->endpoint + 1];
    snprintf(url, sizeof url, "%s", client->endpoint);
    if (ig_aws_http_post(client->http, url, (const char *const *)lines, line_count, call->body, call->body_length,
                         response, err) != 0)
        goto cleanup;
    snprintf(server_date, date_size, "%s", response->date);
    if (response->status >= 200 && response->status < 300) {
        rc = 0;
        goto cleanup;
    }
    ig_aws_error_parse_body(err, response->status, response->error_type, response->body, response->body_length);
    snprintf(err->request_id, sizeof err->request_id, "%s", response->request_id);
    ig_aws_http_response_free(response);
    goto cleanup;

out_of_memory:
    ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the %s request", call->operation);
cleanup:
    free_lines(lines, line_count);
    ig_sigv4_result_free(&signature);
    ig_aws_credentials_clear(&credentials);
    return rc;
}

/* Learn the clock offset from the reply's Date header when it differs from
 * local time by at least the threshold. Returns true when the offset changed. */
static bool correct_clock(struct ig_aws_client *client, const char *server_date)
{
    if (!server_date || !*server_date)
        return false;
    time_t server = curl_getdate(server_date, NULL);
    if (server == (time_t)-1)
        return false;
    time_t local = client->now(client->now_context);
    long skew = (long)(server - (local + client->clock_offset_s));
    if (labs(skew) < IG_AWS_CLOCK_SKEW_THRESHOLD_S)
        return false;
    client->clock_offset_s = (long)(server - local);
    return true;
}

static int send_with_retries(struct ig_aws_client *client, struct ig_aws_credential_provider *credentials,
                             const struct ig_aws_call *call, struct ig_aws_http_response *response,
                             struct ig_aws_error *err)
{
    ig_aws_error_clear(err);
    int attempts = 0;      /* every HTTP attempt */
    int counted = 0;       /* attempts that count against max_attempts */
    int retries = 0;
    int last_cost = 0;
    bool clock_corrected = false;
    bool credentials_refreshed = false;
    char server_date[64];

    for (;;) {
        struct ig_aws_error attempt_error;
        ig_aws_error_clear(&attempt_error);
        bool credential_failure = false;
        attempts++;
        counted++;
        int rc = send_once(client, credentials, call, response, server_date, sizeof server_date,
                           &credential_failure, &attempt_error);
        if (rc == 0) {
            ig_aws_retry_quota_release(&client->retry, last_cost);
            err->attempts = attempts;
            ig_debug("aws request succeeded", IG_F_STR("service", client->service),
                     IG_F_STR("operation", call->operation), IG_F_INT("attempts", attempts),
                     IG_F_INT("http_status", response->status), IG_F_STR("request_id", response->request_id));
            return 0;
        }
        *err = attempt_error;
        err->attempts = attempts;
        if (credential_failure || err->kind == IG_AWS_ERR_INTERNAL || err->kind == IG_AWS_ERR_CONFIG)
            return -1;

        if (err->kind == IG_AWS_ERR_SIGNATURE && !clock_corrected && correct_clock(client, server_date)) {
            clock_corrected = true;
            counted--;
            ig_warn("aws clock skew corrected, retrying", IG_F_STR("service", client->service),
                    IG_F_STR("operation", call->operation), IG_F_STR("error_code", err->code),
                    IG_F_INT("clock_offset_s", client->clock_offset_s));
            continue;
        }
        if (err->expired_token && credentials && !call->unsigned_request && !credentials_refreshed) {
            credentials_refreshed = true;
            counted--;
            ig_aws_credential_provider_invalidate(credentials);
            ig_warn("aws credentials expired, refreshing and retrying", IG_F_STR("service", client->service),
                    IG_F_STR("operation", call->operation), IG_F_STR("error_code", err->code));
            continue;
        }
        if (!ig_aws_retry_is_retryable(err) || counted >= client->retry.options.max_attempts) {
            ig_debug("aws request failed", IG_F_STR("service", client->service),
                     IG_F_STR("operation", call->operation), IG_F_INT("attempts", attempts),
                     IG_F_STR("error", ig_aws_error_kind_name(err->kind)), IG_F_STR("error_code", err->code),
                     IG_F_INT("http_status", err->http_status), IG_F_STR("request_id", err->request_id));
            return -1;
        }
        int cost = ig_aws_retry_quota_acquire(&client->retry, err);
        if (cost < 0) {
            err->quota_exhausted = true;
            ig_warn("aws retry budget exhausted, not retrying", IG_F_STR("service", client->service),
                    IG_F_STR("operation", call->operation), IG_F_STR("error_code", err->code),
                    IG_F_INT("attempts", attempts));
            return -1;
        }
        last_cost = cost;
        retries++;
        ig_counter_add(client->retries, 1);
        const struct ig_aws_retry_options *policy = &client->retry.options;
        double delay = ig_aws_retry_delay(&client->retry, retries, err->kind == IG_AWS_ERR_THROTTLED,
                                          policy->random(policy->context));
        ig_info("aws request failed, retrying", IG_F_STR("service", client->service),
                IG_F_STR("operation", call->operation), IG_F_INT("attempt", attempts),
                IG_F_STR("error", ig_aws_error_kind_name(err->kind)), IG_F_STR("error_code", err->code),
                IG_F_INT("http_status", err->http_status), IG_F_INT("delay_ms", (long long)(delay * 1000)));
        policy->sleep(delay, policy->context);
    }
}

int ig_aws_client_send(struct ig_aws_client *client, struct ig_aws_credential_provider *credentials,
                       const struct ig_aws_call *call, struct ig_aws_http_response *response,
                       struct ig_aws_error *err)
{
    int rc = send_with_retries(client, credentials, call, response, err);
    ig_counter_add(rc == 0 ? client->requests_succeeded : client->requests_failed, 1);
    return rc;
}
