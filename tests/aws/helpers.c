#include "helpers.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

const char *test_env(const char *name)
{
    const char *value = getenv(name);
    cr_assert(value && *value, "%s is not set; run the tests through tests/aws/run-integration.sh", name);
    return value;
}

void test_logging_init(void)
{
    const char *path = getenv("IG_TEST_LOG_FILE");
    ig_log_configure(IG_LOG_DEBUG, IG_LOG_FORMAT_JSON);
    if (!path || !*path)
        return;
    FILE *log = fopen(path, "a");
    cr_assert_not_null(log, "cannot open %s", path);
    setvbuf(log, NULL, _IOLBF, 0);
    ig_log_set_stream(log);
}

void test_record_secret(const char *secret)
{
    const char *path = getenv("IG_TEST_SECRETS_FILE");
    if (!path || !*path || !secret || !*secret)
        return;
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f, "cannot open %s", path);
    fprintf(f, "%s\n", secret);
    fclose(f);
}

void test_record_credentials(const struct ig_aws_credentials *credentials)
{
    test_record_secret(credentials->access_key_id);
    test_record_secret(credentials->secret_access_key);
    test_record_secret(credentials->session_token);
}

static size_t collect(char *data, size_t size, size_t count, void *user)
{
    fwrite(data, size, count, user);
    return size * count;
}

static long perform(const char *url, const char *post_body, char **text)
{
    CURL *curl = curl_easy_init();
    cr_assert_not_null(curl);
    size_t length = 0;
    FILE *out = open_memstream(text, &length);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    struct curl_slist *headers = NULL;
    if (post_body) {
        /* moto's control API reads the raw body, which Flask leaves empty for form posts. */
        headers = curl_slist_append(NULL, "Content-Type: text/plain");
        cr_assert_not_null(headers);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body);
    }
    CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    long status = -1;
    if (code == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    fclose(out);
    curl_easy_cleanup(curl);
    return status;
}

cJSON *test_http_get_json(const char *url)
{
    char *text = NULL;
    long status = perform(url, NULL, &text);
    cJSON *json = status == 200 ? cJSON_Parse(text) : NULL;
    free(text);
    return json;
}

long test_http_post(const char *url, const char *body)
{
    char *text = NULL;
    long status = perform(url, body, &text);
    free(text);
    return status;
}

cJSON *test_load_fixture(void)
{
    const char *path = test_env("IG_TEST_MOTO_FIXTURE");
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open fixture %s", path);
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    fclose(out);
    cJSON *fixture = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(fixture, "fixture %s is not JSON", path);
    return fixture;
}

const char *test_json_string(const cJSON *object, const char *path)
{
    char copy[256];
    int n = snprintf(copy, sizeof copy, "%s", path);
    cr_assert(n > 0 && (size_t)n < sizeof copy);
    const cJSON *item = object;
    for (char *part = copy, *next; part; part = next) {
        next = strchr(part, '.');
        if (next)
            *next++ = '\0';
        item = cJSON_GetObjectItemCaseSensitive(item, part);
    }
    cr_assert(cJSON_IsString(item), "fixture member %s is missing", path);
    return item->valuestring;
}
