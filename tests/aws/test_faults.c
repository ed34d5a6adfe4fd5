/* Faults moto cannot produce, served by tests/aws/fault_server.py: throttling,
 * 5xx, a hanging connection, a truncated body, a skewed clock, an expired
 * token, and the STS calls' signing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws/ssm.h"
#include "helpers.h"

#define FAULT_KEY_ID "AKIDFAULTSTANDIN0001"
#define FAULT_SECRET "fault-static-secret-8e1f0b"

static void init_suite(void)
{
    test_logging_init();
    test_record_secret(FAULT_SECRET);
    test_record_secret("fault-standin-value-61d2");
}

TestSuite(faults, .init = init_suite);

static double wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A parameter name that selects a behaviour and is unique to this run. */
static void fault_name(char *out, size_t size, const char *behaviour, const char *test)
{
    int n = snprintf(out, size, "/fault/%s/%s-%ld", behaviour, test, (long)getpid());
    cr_assert(n > 0 && (size_t)n < size);
}

static struct ig_aws_credential_provider *fault_keys(void)
{
    struct ig_aws_credential_provider *provider = ig_aws_static_provider_new(FAULT_KEY_ID, FAULT_SECRET, NULL, 0);
    cr_assert_not_null(provider);
    return provider;
}

static void fault_client(struct ig_ssm_client *client, struct ig_aws_credential_provider *credentials,
                         const struct ig_aws_retry_options *retry, long timeout_ms)
{
    struct ig_aws_client_options options = {
        .region = "us-east-1",
        .endpoint_url = test_env("IG_TEST_FAULT_URL"),
        .http = {.connect_timeout_ms = 1000, .timeout_ms = timeout_ms ? timeout_ms : 3000},
    };
    if (retry)
        options.retry = *retry;
    else
        options.retry = (struct ig_aws_retry_options){.max_attempts = 3, .base_s = 0.01, .throttle_base_s = 0.02};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_ssm_client_init(client, &options, credentials, &err), 0, "%s", err.message);
}

/* Attempts the stand-in logged for a key. The caller deletes the array. */
static cJSON *attempts_for(const char *key)
{
    char *escaped = curl_easy_escape(NULL, key, 0);
    char url[1024];
    int n = snprintf(url, sizeof url, "%s/attempts?key=%s", test_env("IG_TEST_FAULT_URL"), escaped);
    curl_free(escaped);
    cr_assert(n > 0 && (size_t)n < sizeof url);
    cJSON *log = test_http_get_json(url);
    cr_assert(cJSON_IsArray(log), "no attempt log for %s", key);
    return log;
}

static double attempt_time(const cJSON *log, int index)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(log, index), "time")->valuedouble;
}

static int read_one(struct ig_ssm_client *client, const char *name, struct ig_aws_error *err)
{
    struct ig_ssm_parameter_list list = {0};
    const char *names[] = {name};
    int rc = ig_ssm_get_parameters(client, names, 1, &list, err);
    if (rc == 0) {
        cr_assert_eq(list.count, 1);
        cr_assert_str_eq(list.items[0].value, "fault-standin-value-61d2");
    }
    ig_ssm_parameter_list_clear(&list);
    return rc;
}

Test(faults, throttle_burst_then_success)
{
    char name[128];
    fault_name(name, sizeof name, "throttle-2", "burst");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), 0, "%s: %s", err.code, err.message);
    cr_assert_eq(err.attempts, 3);
    cJSON *log = attempts_for(name);
    cr_assert_eq(cJSON_GetArraySize(log), 3);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "authorization")));
    cJSON_Delete(log);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, throttle_exhausts_attempts)
{
    char name[128];
    fault_name(name, sizeof name, "throttle", "always");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_THROTTLED);
    cr_assert_str_eq(err.code, "ThrottlingException");
    cr_assert_eq(err.attempts, 3);
    cJSON *log = attempts_for(name);
    cr_assert_eq(cJSON_GetArraySize(log), 3);
    cJSON_Delete(log);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, server_error_retried)
{
    char name[128];
    fault_name(name, sizeof name, "error500-2", "retried");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), 0, "%s: %s", err.code, err.message);
    cr_assert_eq(err.attempts, 3);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, max_attempts_one_disables_retry)
{
    char name[128];
    fault_name(name, sizeof name, "error500-1", "single");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    struct ig_aws_retry_options retry = {.max_attempts = 1};
    fault_client(&client, keys, &retry, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_SERVER);
    cr_assert_eq(err.http_status, 500);
    cr_assert_eq(err.attempts, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, access_denied_not_retried)
{
    char name[128];
    fault_name(name, sizeof name, "denied", "once");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_ACCESS_DENIED);
    cr_assert_eq(err.attempts, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, hanging_connection_times_out)
{
    char name[128];
    fault_name(name, sizeof name, "hang", "timeout");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 400);
    struct ig_aws_error err;
    double start = wall_time();
    cr_assert_eq(read_one(&client, name, &err), -1);
    double elapsed = wall_time() - start;
    cr_assert_eq(err.kind, IG_AWS_ERR_TIMEOUT, "got %s", ig_aws_error_kind_name(err.kind));
    cr_assert_eq(err.attempts, 3);
    /* Three 0.4 s timeouts plus at most 0.01 + 0.02 s of backoff. */
    cr_assert_geq(elapsed, 1.2);
    cr_assert_lt(elapsed, 2.5, "took %.2f s", elapsed);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, truncated_body_is_transport_error)
{
    char name[128];
    fault_name(name, sizeof name, "truncated", "always");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_TRANSPORT, "got %s", ig_aws_error_kind_name(err.kind));
    cr_assert_eq(err.attempts, 3);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, truncated_once_then_success)
{
    char name[128];
    fault_name(name, sizeof name, "truncated-1", "once");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), 0, "%s", err.message);
    cr_assert_eq(err.attempts, 2);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, skewed_date_corrected_once)
{
    char name[128];
    fault_name(name, sizeof name, "skew", "clock");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), 0, "%s: %s", err.code, err.message);
    cr_assert_eq(err.attempts, 2);
    cr_assert_geq(client.base.clock_offset_s, 3590);
    cr_assert_leq(client.base.clock_offset_s, 3610);
    /* The learnt offset holds for later calls: one attempt each. */
    cr_assert_eq(read_one(&client, name, &err), 0);
    cr_assert_eq(err.attempts, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

static double almost_one(void *context)
{
    (void)context;
    return 0.999;
}

Test(faults, backoff_reaches_its_bound)
{
    char name[128];
    fault_name(name, sizeof name, "throttle", "bound");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    struct ig_aws_retry_options retry = {.max_attempts = 3, .throttle_base_s = 0.2, .random = almost_one};
    fault_client(&client, keys, &retry, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), -1);
    cJSON *log = attempts_for(name);
    cr_assert_eq(cJSON_GetArraySize(log), 3);
    double first_gap = attempt_time(log, 1) - attempt_time(log, 0);
    double second_gap = attempt_time(log, 2) - attempt_time(log, 1);
    /* Delays are 0.999 * 0.2 s and 0.999 * 0.4 s; allow 0.25 s of transport and scheduling. */
    cr_assert_geq(first_gap, 0.19, "first gap %.3f s", first_gap);
    cr_assert_lt(first_gap, 0.2 + 0.25, "first gap %.3f s", first_gap);
    cr_assert_geq(second_gap, 0.39, "second gap %.3f s", second_gap);
    cr_assert_lt(second_gap, 0.4 + 0.25, "second gap %.3f s", second_gap);
    cJSON_Delete(log);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, jittered_backoff_within_bounds)
{
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    struct ig_aws_retry_options retry = {.max_attempts = 3, .throttle_base_s = 0.1};
    fault_client(&client, keys, &retry, 0);
    for (int round = 0; round < 4; round++) {
        char test[32], name[128];
        int n = snprintf(test, sizeof test, "jitter%d", round);
        cr_assert(n > 0 && (size_t)n < sizeof test);
        fault_name(name, sizeof name, "throttle", test);
        struct ig_aws_error err;
        cr_assert_eq(read_one(&client, name, &err), -1);
        cJSON *log = attempts_for(name);
        cr_assert_eq(cJSON_GetArraySize(log), 3);
        double first_gap = attempt_time(log, 1) - attempt_time(log, 0);
        double second_gap = attempt_time(log, 2) - attempt_time(log, 1);
        cr_assert_lt(first_gap, 0.1 + 0.25, "round %d first gap %.3f s", round, first_gap);
        cr_assert_lt(second_gap, 0.2 + 0.25, "round %d second gap %.3f s", round, second_gap);
        cJSON_Delete(log);
    }
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, retry_budget_stops_storm)
{
    char name[128];
    fault_name(name, sizeof name, "throttle", "storm");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    struct ig_aws_retry_options retry = {.max_attempts = 3, .throttle_base_s = 0.0005};
    fault_client(&client, keys, &retry, 0);
    int exhausted = 0, attempts = 0;
    /* 500 tokens pay 100 retries at 5 each: 50 calls of 3 attempts, then single attempts. */
    for (int call = 0; call < 60; call++) {
        struct ig_aws_error err;
        cr_assert_eq(read_one(&client, name, &err), -1);
        cr_assert_eq(err.kind, IG_AWS_ERR_THROTTLED);
        attempts += err.attempts;
        exhausted += err.quota_exhausted;
    }
    cr_assert_eq(attempts, 50 * 3 + 10);
    cr_assert_eq(exhausted, 10);
    cJSON *log = attempts_for(name);
    cr_assert_eq(cJSON_GetArraySize(log), 160);
    cJSON_Delete(log);
    cr_assert_eq(client.base.retry.quota_available, 0);
    /* A success refunds one token. */
    char ok[128];
    fault_name(ok, sizeof ok, "ok", "after-storm");
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, ok, &err), 0);
    cr_assert_eq(client.base.retry.quota_available, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, expired_token_refreshes_credentials_once)
{
    char name[128];
    fault_name(name, sizeof name, "expired-1", "refresh");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), 0, "%s", err.message);
    cr_assert_eq(err.attempts, 2);
    cr_assert_eq(keys->fetch_count, 2);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, expired_token_twice_fails)
{
    char name[128];
    fault_name(name, sizeof name, "expired-5", "twice");
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_aws_error err;
    cr_assert_eq(read_one(&client, name, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CREDENTIALS);
    cr_assert(err.expired_token);
    cr_assert_eq(err.attempts, 2);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

static time_t fake_now(void *context)
{
    return *(time_t *)context;
}

static void write_token(const char *path, const char *token)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", token);
    fclose(f);
}

Test(faults, web_identity_unsigned_and_token_reread)
{
    char role[128], token_file[] = "/tmp/ig-aws-token-XXXXXX";
    int n = snprintf(role, sizeof role, "arn:aws:iam::123456789012:role/fault-web-%ld", (long)getpid());
    cr_assert(n > 0 && (size_t)n < sizeof role);
    int fd = mkstemp(token_file);
    cr_assert_geq(fd, 0);
    close(fd);
    write_token(token_file, "web-token-one-3f9a2c");
    test_record_secret("web-token-one-3f9a2c");
    test_record_secret("web-token-two-7b1e4d");

    struct ig_aws_client_options sts = {.region = "us-east-1", .endpoint_url = test_env("IG_TEST_FAULT_URL")};
    struct ig_aws_web_identity_options options = {.role_arn = role, .token_file = token_file};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_credential_provider *provider = ig_aws_web_identity_provider_new(&options, &sts, &err);
    cr_assert_not_null(provider, "%s", err.message);
    time_t clock = time(NULL);
    ig_aws_credential_provider_set_clock(provider, fake_now, &clock);

    struct ig_aws_credentials creds;
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0, "%s", err.message);
    test_record_credentials(&creds);
    cr_assert_not_null(creds.session_token);
    ig_aws_credentials_clear(&creds);

    write_token(token_file, "web-token-two-7b1e4d");
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    ig_aws_credentials_clear(&creds);
    clock += 3400; /* inside the five-minute refresh window: the next get reads the file again */
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    test_record_credentials(&creds);
    ig_aws_credentials_clear(&creds);

    cJSON *log = attempts_for(role);
    cr_assert_eq(cJSON_GetArraySize(log), 2);
    cJSON *first = cJSON_GetArrayItem(log, 0), *second = cJSON_GetArrayItem(log, 1);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(first, "authorization")), "web identity call was signed");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(second, "authorization")), "web identity call was signed");
    cr_assert_str_eq(cJSON_GetObjectItem(first, "web_identity_token")->valuestring, "web-token-one-3f9a2c");
    cr_assert_str_eq(cJSON_GetObjectItem(second, "web_identity_token")->valuestring, "web-token-two-7b1e4d");
    cJSON_Delete(log);
    unlink(token_file);
    ig_aws_credential_provider_free(provider);
}

Test(faults, assume_role_signed_with_source_token)
{
    char role[128];
    int n = snprintf(role, sizeof role, "arn:aws:iam::123456789012:role/fault-assume-%ld", (long)getpid());
    cr_assert(n > 0 && (size_t)n < sizeof role);
    struct ig_aws_credential_provider *source =
        ig_aws_static_provider_new(FAULT_KEY_ID, FAULT_SECRET, "fault-source-token-aa01", 0);
    test_record_secret("fault-source-token-aa01");
    struct ig_aws_client_options sts = {.region = "us-east-1", .endpoint_url = test_env("IG_TEST_FAULT_URL")};
    struct ig_aws_assume_role_options options = {.role_arn = role, .external_id = "ext-9", .duration_s = 900};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_credential_provider *provider = ig_aws_assume_role_provider_new(&options, source, &sts, &err);
    cr_assert_not_null(provider, "%s", err.message);
    struct ig_aws_credentials creds;
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0, "%s", err.message);
    test_record_credentials(&creds);
    cr_assert_eq(strncmp(creds.access_key_id, "ASIAFAULT", 9), 0);
    ig_aws_credentials_clear(&creds);
    cJSON *log = attempts_for(role);
    cr_assert_eq(cJSON_GetArraySize(log), 1);
    cJSON *entry = cJSON_GetArrayItem(log, 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(entry, "authorization")));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(entry, "security_token")));
    cr_assert_str_eq(cJSON_GetObjectItem(entry, "external_id")->valuestring, "ext-9");
    cJSON_Delete(log);
    ig_aws_credential_provider_free(provider);
}

Test(faults, connection_reused_across_calls)
{
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    for (int i = 0; i < 5; i++) {
        char test[32], name[128];
        int n = snprintf(test, sizeof test, "reuse%d", i);
        cr_assert(n > 0 && (size_t)n < sizeof test);
        fault_name(name, sizeof name, "ok", test);
        struct ig_aws_error err;
        cr_assert_eq(read_one(&client, name, &err), 0, "%s", err.message);
    }
    cr_assert_eq(ig_aws_http_connect_count(client.base.http), 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(faults, paging_follows_short_and_empty_pages)
{
    char path[128];
    int n = snprintf(path, sizeof path, "/fault-pages/run-%ld", (long)getpid());
    cr_assert(n > 0 && (size_t)n < sizeof path);
    struct ig_aws_credential_provider *keys = fault_keys();
    struct ig_ssm_client client;
    fault_client(&client, keys, NULL, 0);
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameters_by_path(&client, path, true, &list, &err), 0, "%s", err.message);
    cr_assert_eq(list.count, 3);
    cr_assert_str_eq(list.items[2].value, "page-value-c");
    cJSON *log = attempts_for(path);
    cr_assert_eq(cJSON_GetArraySize(log), 4);
    cJSON_Delete(log);
    ig_ssm_parameter_list_clear(&list);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}
