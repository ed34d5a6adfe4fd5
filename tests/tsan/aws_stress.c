/* ThreadSanitizer stress test of the AWS client. In each phase, THREADS
 * threads share ONE credential provider and each thread creates its own SSM
 * client, as include/aws allows: a provider may be shared between threads,
 * an HTTP handle belongs to one thread at a time. The threads make signed
 * GetParameter and GetParameters calls and check every value.
 *
 * Phases:
 *   http-init           the threads create their first HTTP handles at once,
 *                       racing the one-time libcurl initialization
 *   fault-assume-role   AssumeRole over static keys, against the fault
 *                       stand-in (tests/aws/fault_server.py). Some replies
 *                       are throttled, fail with HTTP 500, are cut short or
 *                       report an expired token once, and the client retries.
 *                       Other calls must fail: always throttled, or denied.
 *   fault-web-identity  the same calls with AssumeRoleWithWebIdentity and a
 *                       token file
 *   moto-role-chain     the role chain of `immutable-guard ssm get
 *                       --role-arn A --role-arn B --external-id X` against
 *                       moto with IAM authentication on
 *
 * Every provider in a phase gets a test clock that jumps 3310 s ahead on
 * every CLOCK_PERIOD-th read. Credentials from STS live 3600 s and are
 * renewed 300 s before they expire, so each jump forces a fetch while the
 * other threads keep signing with their copies. Criterion cannot start under
 * ThreadSanitizer here, so this is a plain program that prints
 * "aws-tsan: N passed, N failed" and exits 1 when a check failed.
 *
 *   aws_stress FAULT_URL MOTO_URL MOTO_FIXTURE.json
 *   aws_stress FAULT_URL -          (without moto: the moto phase is skipped)
 *
 * Every endpoint is explicit: no call leaves 127.0.0.1. */
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/http.h"
#include "aws/ssm.h"
#include "common/log.h"
#include "common/metrics.h"

#define THREADS 4
#define FAULT_ITERATIONS 240 /* per thread and fault phase: 30 rounds of the 8 cases */
#define MOTO_ITERATIONS 60  /* per thread */
#define CLOCK_PERIOD 7
#define CLOCK_JUMP_S 3310
#define FAULT_BATCH 12 /* names per GetParameters call to the stand-in: two requests */
#define MAX_REPORTED_FAILURES 40

/* The value fault_server.py returns for every parameter. */
#define FAULT_VALUE "fault-standin-value-61d2"

/* Provider clock that jumps ahead on every CLOCK_PERIOD-th read. */
struct jump_clock {
    atomic_ulong reads;
    atomic_ulong jumps;
};

static time_t jump_clock_now(void *context)
{
    struct jump_clock *clock = context;
    unsigned long n = atomic_fetch_add(&clock->reads, 1);
    if (n % CLOCK_PERIOD != CLOCK_PERIOD - 1)
        return time(NULL);
    atomic_fetch_add(&clock->jumps, 1);
    return time(NULL) + CLOCK_JUMP_S;
}

struct phase;

struct worker {
    struct phase *phase;
    int index;
    struct ig_ssm_client client;
    /* SSM requests (one GetParameters call of 12 names is two) that should
     * succeed or fail, and the retries the stand-in should cause. */
    long expected_success;
    long expected_error;
    long expected_retries;
};

struct phase {
    const char *name;
    const char *ssm_endpoint;
    struct ig_aws_credential_provider *provider; /* shared by every worker */
    int iterations;
    void (*run_iteration)(struct worker *worker, int iteration);
    const cJSON *fixture; /* moto phase only */
};

static atomic_long passed;
static atomic_long failed;
static atomic_long calls;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void check(bool condition, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Count one check and print it when it failed (the first few only). */
static void check(bool condition, const char *format, ...)
{
    if (condition) {
        atomic_fetch_add(&passed, 1);
        return;
    }
    long n = atomic_fetch_add(&failed, 1);
    if (n >= MAX_REPORTED_FAILURES)
        return;
    va_list args;
    va_start(args, format);
    pthread_mutex_lock(&report_lock);
    printf("FAIL ");
    vprintf(format, args);
    printf("\n");
    pthread_mutex_unlock(&report_lock);
    va_end(args);
}

static void client_options(const char *endpoint, struct ig_aws_client_options *options)
{
    memset(options, 0, sizeof *options);
    options->region = "us-east-1";
    options->endpoint_url = endpoint;
    /* Generous timeouts, because ThreadSanitizer slows the client down. */
    options->http.connect_timeout_ms = 5000;
    options->http.timeout_ms = 30000;
    options->retry.max_attempts = 3;
    /* Short delays keep the run quick. The production random source and
     * nanosleep stay in use. */
    options->retry.base_s = 0.005;
    options->retry.throttle_base_s = 0.01;
    options->retry.cap_s = 0.05;
}

/* GetParameter that should succeed with the given value after attempts HTTP
 * attempts. retries is how many of them the retry counter should count (a
 * new attempt after an expired token is not a retry). */
static void expect_parameter(struct worker *worker, const char *name, const char *value, int attempts,
                             int retries)
{
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    atomic_fetch_add(&calls, 1);
    int rc = ig_ssm_get_parameter(&worker->client, name, &parameter, &err);
    check(rc == 0, "%s: GetParameter %s failed: %s %s (%s)", worker->phase->name, name,
          ig_aws_error_kind_name(err.kind), err.code, err.message);
    if (rc != 0)
        return;
    worker->expected_success++;
    worker->expected_retries += retries;
    check(strcmp(parameter.name, name) == 0, "%s: GetParameter %s returned name %s", worker->phase->name, name,
          parameter.name);
    check(value && strcmp(parameter.value, value) == 0, "%s: GetParameter %s returned another value", worker->phase->name,
          name);
    check(err.attempts == attempts, "%s: GetParameter %s took %d attempts, expected %d",
          worker->phase->name, name, err.attempts, attempts);
    ig_ssm_parameter_clear(&parameter);
}

/* GetParameter that should fail with kind after attempts HTTP attempts. */
static void expect_failure(struct worker *worker, const char *name, enum ig_aws_error_kind kind, int attempts)
{
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    atomic_fetch_add(&calls, 1);
    int rc = ig_ssm_get_parameter(&worker->client, name, &parameter, &err);
    check(rc != 0, "%s: GetParameter %s succeeded, expected %s", worker->phase->name, name,
          ig_aws_error_kind_name(kind));
    if (rc == 0) {
        ig_ssm_parameter_clear(&parameter);
        return;
    }
    worker->expected_error++;
    worker->expected_retries += attempts - 1;
    check(err.kind == kind, "%s: GetParameter %s failed with %s, expected %s", worker->phase->name, name,
          ig_aws_error_kind_name(err.kind), ig_aws_error_kind_name(kind));
    check(err.attempts == attempts, "%s: GetParameter %s took %d attempts, expected %d", worker->phase->name, name,
          err.attempts, attempts);
}

/* GetParameters of count names, sent as requests SSM requests with retries
 * retries in all. values contains the expected values (NULL: FAULT_VALUE for
 * all). missing, when not NULL, must come back as invalid. */
static void expect_parameters(struct worker *worker, const char *const *names, size_t count,
                              const char *const *values, const char *missing, int requests, int retries)
{
    struct ig_ssm_parameter_list list;
    struct ig_aws_error err;
    atomic_fetch_add(&calls, 1);
    int rc = ig_ssm_get_parameters(&worker->client, names, count, &list, &err);
    check(rc == 0, "%s: GetParameters of %zu names from %s failed: %s %s (%s)", worker->phase->name, count, names[0],
          ig_aws_error_kind_name(err.kind), err.code, err.message);
    if (rc != 0)
        return;
    worker->expected_success += requests;
    worker->expected_retries += retries;
    size_t found = count - (missing ? 1 : 0);
    check(list.count == found, "%s: GetParameters from %s returned %zu parameters, expected %zu",
          worker->phase->name, names[0], list.count, found);
    check(list.invalid_count == (missing ? 1u : 0u), "%s: GetParameters from %s listed %zu invalid names",
          worker->phase->name, names[0], list.invalid_count);
    if (missing && list.invalid_count == 1)
        check(strcmp(list.invalid[0], missing) == 0, "%s: GetParameters listed %s as invalid, expected %s",
              worker->phase->name, list.invalid[0], missing);
    for (size_t i = 0; i < list.count; i++) {
        size_t j = 0;
        while (j < count && strcmp(names[j], list.items[i].name) != 0)
            j++;
        check(j < count, "%s: GetParameters returned unrequested name %s", worker->phase->name, list.items[i].name);
        if (j == count)
            continue;
        const char *value = values ? values[j] : FAULT_VALUE;
        check(value && strcmp(list.items[i].value, value) == 0, "%s: GetParameters returned another value for %s",
              worker->phase->name, names[j]);
    }
    ig_ssm_parameter_list_clear(&list);
}

/* One of eight fault cases, by iteration. Names are unique per thread and
 * iteration, because the stand-in counts attempts per name. */
static void fault_iteration(struct worker *worker, int iteration)
{
    const char *phase = worker->phase->name;
    char name[128];
    int round = iteration / 8;
    switch (iteration % 8) {
    case 0:
        snprintf(name, sizeof name, "/fault/ok/%s-t%d-r%d", phase, worker->index, round);
        expect_parameter(worker, name, FAULT_VALUE, 1, 0);
        break;
    case 1: {
        char storage[FAULT_BATCH][128];
        const char *names[FAULT_BATCH];
        for (int i = 0; i < FAULT_BATCH; i++) {
            snprintf(storage[i], sizeof storage[i], "/fault/ok/%s-t%d-r%d-n%d", phase, worker->index, round, i);
            names[i] = storage[i];
        }
        expect_parameters(worker, names, FAULT_BATCH, NULL, NULL, 2, 0);
        break;
    }
    case 2:
        snprintf(name, sizeof name, "/fault/throttle-1/%s-t%d-r%d", phase, worker->index, round);
        expect_parameter(worker, name, FAULT_VALUE, 2, 1);
        break;
    case 3: {
        char first[128], second[128];
        snprintf(first, sizeof first, "/fault/error500-1/%s-t%d-r%d", phase, worker->index, round);
        snprintf(second, sizeof second, "/fault/ok/%s-t%d-r%d-second", phase, worker->index, round);
        const char *names[] = {first, second};
        expect_parameters(worker, names, 2, NULL, NULL, 1, 1);
        break;
    }
    case 4:
        /* The client drops the shared cache and signs again with new
         * credentials. That second attempt is not a retry. */
        snprintf(name, sizeof name, "/fault/expired-1/%s-t%d-r%d", phase, worker->index, round);
        expect_parameter(worker, name, FAULT_VALUE, 2, 0);
        break;
    case 5:
        snprintf(name, sizeof name, "/fault/truncated-1/%s-t%d-r%d", phase, worker->index, round);
        expect_parameter(worker, name, FAULT_VALUE, 2, 1);
        break;
    case 6:
        snprintf(name, sizeof name, "/fault/throttle/%s-t%d-r%d", phase, worker->index, round);
        expect_failure(worker, name, IG_AWS_ERR_THROTTLED, 3);
        break;
    default:
        snprintf(name, sizeof name, "/fault/denied/%s-t%d-r%d", phase, worker->index, round);
        expect_failure(worker, name, IG_AWS_ERR_ACCESS_DENIED, 1);
        break;
    }
}

static const char *fixture_string(const cJSON *fixture, const char *group, const char *key)
{
    const cJSON *object = group ? cJSON_GetObjectItemCaseSensitive(fixture, group) : fixture;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* One of three moto cases, by iteration. moto's values come from the fixture. */
static void moto_iteration(struct worker *worker, int iteration)
{
    const cJSON *fixture = worker->phase->fixture;
    switch (iteration % 3) {
    case 0:
        expect_parameter(worker, "/ig/app/secret", fixture_string(fixture, "values", "/ig/app/secret"), 1, 0);
        break;
    case 1: {
        /* Ten batch names and one that does not exist: two requests. */
        const char *names[11];
        const char *values[11];
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(fixture, "batch");
        for (int i = 0; i < 10; i++) {
            const cJSON *item = cJSON_GetArrayItem(batch, (iteration + i) % 20);
            names[i] = cJSON_IsString(item) ? item->valuestring : "/ig/missing-from-fixture";
            values[i] = fixture_string(fixture, "values", names[i]);
        }
        names[10] = "/ig/nope";
        values[10] = NULL;
        expect_parameters(worker, names, 11, values, "/ig/nope", 2, 0);
        break;
    }
    default:
        expect_failure(worker, "/ig/nope", IG_AWS_ERR_NOT_FOUND, 1);
        break;
    }
}

static void *worker_main(void *context)
{
    struct worker *worker = context;
    struct ig_aws_client_options options;
    client_options(worker->phase->ssm_endpoint, &options);
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    int rc = ig_ssm_client_init(&worker->client, &options, worker->phase->provider, &err);
    check(rc == 0, "%s: SSM client %d did not start: %s", worker->phase->name, worker->index, err.message);
    if (rc != 0)
        return NULL;
    for (int i = 0; i < worker->phase->iterations; i++)
        worker->phase->run_iteration(worker, i);
    ig_ssm_client_cleanup(&worker->client);
    return NULL;
}

static pthread_barrier_t http_init_barrier;

static void *http_init_main(void *context)
{
    (void)context;
    struct ig_aws_http_options options = {0};
    pthread_barrier_wait(&http_init_barrier);
    struct ig_aws_http *http = ig_aws_http_new(&options);
    check(http != NULL, "http-init: ig_aws_http_new failed on a thread");
    ig_aws_http_free(http);
    return NULL;
}

/* Create the process's first HTTP handles on THREADS threads at once. */
static void run_http_init(void)
{
    pthread_t threads[THREADS];
    int started = 0;
    if (pthread_barrier_init(&http_init_barrier, NULL, THREADS) != 0) {
        check(false, "http-init: pthread_barrier_init failed");
        return;
    }
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, http_init_main, NULL) != 0)
            break;
        started++;
    }
    /* A thread that did not start would leave the others waiting forever. */
    if (started < THREADS) {
        printf("FAIL http-init: only %d of %d threads started\n", started, THREADS);
        printf("aws-tsan: %ld passed, %ld failed\n", atomic_load(&passed), atomic_load(&failed) + 1);
        exit(1);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&http_init_barrier);
    printf("http-init: %d threads created their first HTTP handles at once\n", THREADS);
}

static struct ig_counter *ssm_counter(const char *name, const char *labels)
{
    const char *help = strcmp(name, "immutable_guard_aws_retries_total") == 0
                           ? "AWS API attempts repeated after a retryable error."
                           : "AWS API calls by service and final result.";
    return ig_metrics_counter(name, help, labels);
}

/* Number of STS calls the fault stand-in logged for role_arn, or -1. */
static long standin_attempts(const char *fault_url, const char *role_arn)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    char *escaped = curl_easy_escape(curl, role_arn, 0);
    char url[1024];
    snprintf(url, sizeof url, "%s/attempts?key=%s", fault_url, escaped ? escaped : "");
    curl_free(escaped);
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    long count = -1;
    if (!out)
        goto cleanup;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode code = curl_easy_perform(curl);
    fclose(out);
    if (code != CURLE_OK)
        goto cleanup;
    cJSON *log = cJSON_Parse(text);
    if (cJSON_IsArray(log))
        count = cJSON_GetArraySize(log);
    cJSON_Delete(log);
cleanup:
    free(text);
    curl_easy_cleanup(curl);
    return count;
}

/* Run one phase: THREADS workers on phase->provider, then check the totals.
 * clock is the jump clock of phase->provider. */
static void run_phase(struct phase *phase, struct jump_clock *clock)
{
    struct ig_counter *success = ssm_counter("immutable_guard_aws_requests_total", "service=\"ssm\",result=\"success\"");
    struct ig_counter *error = ssm_counter("immutable_guard_aws_requests_total", "service=\"ssm\",result=\"error\"");
    struct ig_counter *retries = ssm_counter("immutable_guard_aws_retries_total", "service=\"ssm\"");
    uint64_t success_before = ig_counter_value(success);
    uint64_t error_before = ig_counter_value(error);
    uint64_t retries_before = ig_counter_value(retries);
    long calls_before = atomic_load(&calls);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);

    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    int started = 0;
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.phase = phase, .index = i};
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            check(false, "%s: thread %d did not start", phase->name, i);
            break;
        }
        started++;
    }
    long expected_success = 0, expected_error = 0, expected_retries = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        expected_success += workers[i].expected_success;
        expected_error += workers[i].expected_error;
        expected_retries += workers[i].expected_retries;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);

    long success_count = (long)(ig_counter_value(success) - success_before);
    long error_count = (long)(ig_counter_value(error) - error_before);
    long retry_count = (long)(ig_counter_value(retries) - retries_before);
    check(success_count == expected_success, "%s: success counter rose by %ld, expected %ld", phase->name,
          success_count, expected_success);
    check(error_count == expected_error, "%s: error counter rose by %ld, expected %ld", phase->name, error_count,
          expected_error);
    check(retry_count == expected_retries, "%s: retry counter rose by %ld, expected %ld", phase->name, retry_count, expected_retries);

    /* Every jump of the clock made the provider fetch. */
    unsigned long jumps = atomic_load(&clock->jumps);
    check(jumps > 0, "%s: the provider clock never jumped", phase->name);
    check(phase->provider->fetch_count >= jumps, "%s: %lu credential fetches for %lu clock jumps", phase->name,
          phase->provider->fetch_count, jumps);

    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%s: %d threads, %ld calls (%ld SSM requests, %ld retries), %lu credential fetches, %.1f s\n",
           phase->name, THREADS, atomic_load(&calls) - calls_before, success_count + error_count, retry_count,
           phase->provider->fetch_count, seconds);
}

static struct ig_aws_credential_provider *fault_assume_role_provider(const char *fault_url, const char *role_arn)
{
    struct ig_aws_client_options sts_options;
    client_options(fault_url, &sts_options);
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_credential_provider *source =
        ig_aws_static_provider_new("AKIASTRESSSOURCE0001", "stress-source-secret", NULL, 0);
    if (!source)
        return NULL;
    struct ig_aws_assume_role_options role = {.role_arn = role_arn, .session_name = "ig-tsan-stress"};
    struct ig_aws_credential_provider *provider = ig_aws_assume_role_provider_new(&role, source, &sts_options, &err);
    if (!provider)
        printf("fault-assume-role: provider not created: %s\n", err.message);
    return provider;
}

static struct ig_aws_credential_provider *fault_web_identity_provider(const char *fault_url, const char *role_arn,
                                                                      const char *token_file)
{
    struct ig_aws_client_options sts_options;
    client_options(fault_url, &sts_options);
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_web_identity_options options = {
        .role_arn = role_arn,
        .token_file = token_file,
        .session_name = "ig-tsan-stress",
    };
    struct ig_aws_credential_provider *provider = ig_aws_web_identity_provider_new(&options, &sts_options, &err);
    if (!provider)
        printf("fault-web-identity: provider not created: %s\n", err.message);
    return provider;
}

/* chainer's keys, then role hop, then role final with the external ID, as
 * `immutable-guard ssm get --role-arn HOP --role-arn FINAL` builds it. The
 * inner provider gets its own jump clock. */
static struct ig_aws_credential_provider *moto_chain_provider(const char *moto_url, const cJSON *fixture,
                                                              struct jump_clock *inner_clock)
{
    const char *key = fixture_string(fixture, "chainer", "AccessKeyId");
    const char *secret = fixture_string(fixture, "chainer", "SecretAccessKey");
    const char *hop = fixture_string(fixture, "roles", "hop");
    const char *final = fixture_string(fixture, "roles", "final");
    const char *external_id = fixture_string(fixture, NULL, "external_id");
    const char *session_name = fixture_string(fixture, NULL, "session_name");
    if (!key || !secret || !hop || !final || !external_id || !session_name) {
        printf("moto-role-chain: the fixture lacks chainer keys, roles, external_id or session_name\n");
        return NULL;
    }
    struct ig_aws_client_options sts_options;
    client_options(moto_url, &sts_options);
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_credential_provider *provider = ig_aws_static_provider_new(key, secret, NULL, 0);
    struct ig_aws_assume_role_options first = {.role_arn = hop, .session_name = session_name};
    if (provider)
        provider = ig_aws_assume_role_provider_new(&first, provider, &sts_options, &err);
    if (provider)
        ig_aws_credential_provider_set_clock(provider, jump_clock_now, inner_clock);
    struct ig_aws_assume_role_options second = {
        .role_arn = final,
        .session_name = session_name,
        .external_id = external_id,
    };
    if (provider)
        provider = ig_aws_assume_role_provider_new(&second, provider, &sts_options, &err);
    if (!provider)
        printf("moto-role-chain: provider not created: %s\n", err.message);
    return provider;
}

static cJSON *load_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) {
        fclose(f);
        return NULL;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    fclose(out);
    cJSON *json = cJSON_Parse(text);
    free(text);
    return json;
}

/* Write a web identity token to a new file in TMPDIR (else /tmp) and store
 * its path in path. run-aws.sh points TMPDIR at a folder it removes on exit,
 * so the file goes away also when ThreadSanitizer halts the driver. */
static bool write_token_file(char *path, size_t size)
{
    const char *folder = getenv("TMPDIR");
    if (!folder || !*folder)
        folder = "/tmp";
    int n = snprintf(path, size, "%s/ig-aws-tsan-token.XXXXXX", folder);
    if (n < 0 || (size_t)n >= size)
        return false;
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    static const char token[] = "eyJhbGciOiJSUzI1NiJ9.tsan-stress-token.c2lnbmF0dXJl\n";
    bool ok = write(fd, token, sizeof token - 1) == (ssize_t)(sizeof token - 1);
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    bool use_moto = argc == 4 && strcmp(argv[2], "-") != 0;
    if (!(argc == 4 || (argc == 3 && strcmp(argv[2], "-") == 0))) {
        fprintf(stderr, "usage: aws_stress FAULT_URL MOTO_URL MOTO_FIXTURE.json, or aws_stress FAULT_URL -\n");
        return 2;
    }
    const char *fault_url = argv[1];
    const char *moto_url = argv[2];
    cJSON *fixture = use_moto ? load_json(argv[3]) : NULL;
    if (use_moto && !fixture) {
        fprintf(stderr, "aws_stress: the moto fixture %s is missing or not JSON. Create it with moto_setup.py\n",
                argv[3]);
        return 2;
    }

    /* Debug logging runs the client's log calls on every thread. The lines
     * go to IG_TEST_LOG_FILE when set, else to /dev/null. */
    const char *log_path = getenv("IG_TEST_LOG_FILE");
    if (!log_path || !*log_path)
        log_path = "/dev/null";
    FILE *sink = fopen(log_path, "a");
    if (!sink) {
        fprintf(stderr, "aws_stress: opening the log file %s failed. Set IG_TEST_LOG_FILE to a writable path\n",
                log_path);
        cJSON_Delete(fixture);
        return 2;
    }
    ig_log_set_stream(sink);
    ig_log_configure(IG_LOG_DEBUG, IG_LOG_FORMAT_JSON);
    bool async_log = ig_log_start_async();
    check(async_log, "the log writer thread did not start");

    run_http_init();

    char token_file[4096];
    bool have_token = write_token_file(token_file, sizeof token_file);
    check(have_token, "cannot write the web identity token file");

    /* Fault phases. The role ARNs are the stand-in's log keys. */
    static const char assume_arn[] = "arn:aws:iam::123456789012:role/ig-tsan-assume";
    static const char web_arn[] = "arn:aws:iam::123456789012:role/ig-tsan-web";
    struct {
        struct phase phase;
        struct jump_clock clock;
        const char *role_arn;
    } fault_phases[2] = {
        {.phase = {.name = "fault-assume-role", .ssm_endpoint = fault_url, .iterations = FAULT_ITERATIONS,
                   .run_iteration = fault_iteration},
         .role_arn = assume_arn},
        {.phase = {.name = "fault-web-identity", .ssm_endpoint = fault_url, .iterations = FAULT_ITERATIONS,
                   .run_iteration = fault_iteration},
         .role_arn = web_arn},
    };
    fault_phases[0].phase.provider = fault_assume_role_provider(fault_url, assume_arn);
    fault_phases[1].phase.provider = have_token ? fault_web_identity_provider(fault_url, web_arn, token_file) : NULL;
    for (int i = 0; i < 2; i++) {
        struct phase *phase = &fault_phases[i].phase;
        check(phase->provider != NULL, "%s: no credential provider", phase->name);
        if (!phase->provider)
            continue;
        ig_aws_credential_provider_set_clock(phase->provider, jump_clock_now, &fault_phases[i].clock);
        run_phase(phase, &fault_phases[i].clock);
        long logged = standin_attempts(fault_url, fault_phases[i].role_arn);
        check(logged == (long)phase->provider->fetch_count, "%s: the stand-in logged %ld STS calls for %lu fetches",
              phase->name, logged, phase->provider->fetch_count);
        ig_aws_credential_provider_free(phase->provider);
    }
    if (have_token)
        unlink(token_file);

    /* moto phase. */
    struct jump_clock moto_clock = {0}, hop_clock = {0};
    if (!use_moto) {
        printf("SKIPPED moto-role-chain: no moto server was given\n");
        goto finish;
    }
    struct phase moto = {
        .name = "moto-role-chain",
        .ssm_endpoint = moto_url,
        .iterations = MOTO_ITERATIONS,
        .run_iteration = moto_iteration,
        .fixture = fixture,
        .provider = moto_chain_provider(moto_url, fixture, &hop_clock),
    };
    check(moto.provider != NULL, "%s: no credential provider", moto.name);
    if (moto.provider) {
        ig_aws_credential_provider_set_clock(moto.provider, jump_clock_now, &moto_clock);
        run_phase(&moto, &moto_clock);
        ig_aws_credential_provider_free(moto.provider);
    }

finish:
    if (async_log)
        ig_log_stop_async();
    ig_log_set_stream(NULL);
    fclose(sink);
    cJSON_Delete(fixture);

    long failures = atomic_load(&failed);
    printf("aws-tsan: %ld calls in all, %d threads per phase\n", atomic_load(&calls), THREADS);
    printf("aws-tsan: %ld passed, %ld failed\n", atomic_load(&passed), failures);
    return failures == 0 ? 0 : 1;
}
