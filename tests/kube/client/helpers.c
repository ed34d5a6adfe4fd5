#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"
#include "kube/time.h"

const char *env_or_fail(const char *name)
{
    const char *value = getenv(name);
    if (!value || !*value)
        cr_assert_fail("%s is not set: run these tests through tests/kube/run_client_tests.py", name);
    return value;
}

void admin_config(struct ig_kube_config *config)
{
    memset(config, 0, sizeof *config);
    config->server = strdup(env_or_fail("STANDIN_URL"));
    config->ca_file = strdup(env_or_fail("STANDIN_CA"));
    config->token = strdup(env_or_fail("STANDIN_TOKEN"));
    config->source = strdup("test");
}

struct ig_kube_client *admin_client(void)
{
    struct ig_kube_config config;
    admin_config(&config);
    struct ig_kube_client_options options = {.backoff_initial = 0.05, .backoff_max = 0.5,
                                             .user_agent = "kube-client-test"};
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    ig_kube_config_free(&config);
    cr_assert_not_null(client);
    return client;
}

void control(const char *path, const char *json)
{
    struct ig_kube_client *client = admin_client();
    char full[256];
    snprintf(full, sizeof full, "/_standin/%s", path);
    struct ig_kube_request request = {
        .verb = IG_KUBE_VERB_CREATE, .path = full, .resource = "control", .body = json};
    struct ig_kube_response response;
    struct ig_kube_status status = {0};
    int rc = ig_kube_do(client, &request, &response, &status);
    cr_assert_eq(rc, 0, "control %s failed: %d %s", path, status.code,
                 status.message ? status.message : "");
    ig_kube_response_clear(&response);
    ig_kube_status_clear(&status);
    ig_kube_client_free(client);
}

cJSON *request_log(void)
{
    struct ig_kube_client *client = admin_client();
    struct ig_kube_request request = {
        .verb = IG_KUBE_VERB_GET, .path = "/_standin/log", .resource = "control"};
    struct ig_kube_response response;
    struct ig_kube_status status = {0};
    cr_assert_eq(ig_kube_do(client, &request, &response, &status), 0);
    cJSON *doc = cJSON_ParseWithLength(response.body, response.body_length);
    cr_assert_not_null(doc);
    cJSON *items = cJSON_DetachItemFromObject(doc, "items");
    cJSON_Delete(doc);
    ig_kube_response_clear(&response);
    ig_kube_client_free(client);
    return items;
}

int count_requests(const cJSON *log, const char *method, const char *part, int status)
{
    int count = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, log)
    {
        const cJSON *m = cJSON_GetObjectItem(entry, "method");
        const cJSON *p = cJSON_GetObjectItem(entry, "path");
        const cJSON *s = cJSON_GetObjectItem(entry, "status");
        if (method && strcmp(m->valuestring, method) != 0)
            continue;
        if (part && !strstr(p->valuestring, part))
            continue;
        if (status && (!cJSON_IsNumber(s) || s->valueint != status))
            continue;
        count++;
    }
    return count;
}

const char *fresh_namespace(const char *prefix)
{
    static char name[64];
    static int counter;
    snprintf(name, sizeof name, "%s-%d-%d", prefix, (int)getpid(), ++counter);
    struct ig_kube_client *client = admin_client();
    const struct ig_kube_resource namespaces = {"", "v1", "namespaces", false};
    cJSON *ns = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(ns, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    struct ig_kube_status status = {0};
    cr_assert_eq(ig_kube_create(client, &namespaces, NULL, ns, NULL, &status), 0);
    cJSON_Delete(ns);
    ig_kube_client_free(client);
    return name;
}

cJSON *make_secret(const char *name, const char *key, const char *value, bool immutable)
{
    cJSON *secret = cJSON_CreateObject();
    cJSON_AddStringToObject(secret, "apiVersion", "v1");
    cJSON_AddStringToObject(secret, "kind", "Secret");
    cJSON *meta = cJSON_AddObjectToObject(secret, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON *data = cJSON_AddObjectToObject(secret, "data");
    char *encoded = ig_base64_encode((const unsigned char *)value, strlen(value));
    cJSON_AddStringToObject(data, key, encoded);
    free(encoded);
    if (immutable)
        cJSON_AddTrueToObject(secret, "immutable");
    return secret;
}

char *write_file(const char *dir, const char *name, const char *text)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    cr_assert_not_null(path);
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

double now_seconds(void)
{
    return ig_kube_monotonic_seconds();
}
