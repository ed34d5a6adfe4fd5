/* The Kubernetes client against the stand-in API server: configuration,
 * tokens, retries, typed errors and pagination. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/log.h"
#include "common/metrics.h"
#include "helpers.h"
#include "kube/client.h"
#include "kube/config.h"

static const struct ig_kube_resource configmaps = {"", "v1", "configmaps", true};
static const struct ig_kube_resource externalsecrets = {"external-secrets.io", "v1",
                                                        "externalsecrets", true};

/* GET the Secret list of ns with this client; returns the HTTP outcome. */
static int list_secrets(struct ig_kube_client *client, const char *ns, struct ig_kube_status *st)
{
    cJSON *items = NULL;
    char *rv = NULL;
    int rc = ig_kube_list(client, &IG_KUBE_SECRETS, ns, NULL, NULL, &items, &rv, st);
    cJSON_Delete(items);
    free(rv);
    return rc;
}

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/ig-kube-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- configuration --------------------------------------------------- */

Test(kube_client, kubeconfig_token)
{
    char *dir = temp_dir();
    char text[2048];
    snprintf(text, sizeof text,
             "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
             "clusters:\n- name: s\n  cluster:\n    server: %s\n    certificate-authority: %s\n"
             "users:\n- name: u\n  user:\n    token: %s\n"
             "contexts:\n- name: t\n  context: {cluster: s, user: u, namespace: team}\n",
             env_or_fail("STANDIN_URL"), env_or_fail("STANDIN_CA"), env_or_fail("STANDIN_TOKEN"));
    char *path = write_file(dir, "kubeconfig", text);
    struct ig_kube_config config;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_from_kubeconfig(path, NULL, &config, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(config.namespace, "team");
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), 0, "%s", st.message);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(path);
    free(dir);
}

Test(kube_client, kubeconfig_client_certificate_data)
{
    char ca_path[512], cert_path[512], key_path[512];
    snprintf(ca_path, sizeof ca_path, "%s", env_or_fail("STANDIN_CA"));
    snprintf(cert_path, sizeof cert_path, "%s/client.crt", env_or_fail("STANDIN_CERTS"));
    snprintf(key_path, sizeof key_path, "%s/client.key", env_or_fail("STANDIN_CERTS"));
    char *ca = read_text(ca_path), *cert = read_text(cert_path), *key = read_text(key_path);
    char *ca64 = ig_base64_encode((unsigned char *)ca, strlen(ca));
    char *cert64 = ig_base64_encode((unsigned char *)cert, strlen(cert));
    char *key64 = ig_base64_encode((unsigned char *)key, strlen(key));
    size_t size = strlen(ca64) + strlen(cert64) + strlen(key64) + 1024;
    char *text = malloc(size);
    snprintf(text, size,
             "current-context: t\n"
             "clusters: [{name: s, cluster: {server: '%s', certificate-authority-data: '%s'}}]\n"
             "users: [{name: u, user: {client-certificate-data: '%s', client-key-data: '%s'}}]\n"
             "contexts: [{name: t, context: {cluster: s, user: u}}]\n",
             env_or_fail("STANDIN_URL"), ca64, cert64, key64);
    struct ig_kube_config config;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_parse_kubeconfig(text, strlen(text), NULL, NULL, &config, err,
                                                 sizeof err),
                 0, "%s", err);
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    const char *ns = fresh_namespace("cert");
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, ns, &st), 0, "%s", st.message);
    cJSON *log = request_log();
    const cJSON *last = NULL, *entry;
    cJSON_ArrayForEach(entry, log)
    {
        if (strstr(cJSON_GetObjectItem(entry, "path")->valuestring, ns))
            last = entry;
    }
    cr_assert_not_null(last);
    cr_assert_str_eq(cJSON_GetObjectItem(last, "user")->valuestring, "ig-client");
    cJSON_Delete(log);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(text);
    free(ca64);
    free(cert64);
    free(key64);
    free(ca);
    free(cert);
    free(key);
}

Test(kube_client, wrong_ca_is_transport_error)
{
    struct ig_kube_config config;
    admin_config(&config);
    free(config.ca_file);
    char other[512];
    snprintf(other, sizeof other, "%s/other-ca.crt", env_or_fail("STANDIN_CERTS"));
    config.ca_file = strdup(other);
    struct ig_kube_client_options options = {.max_attempts = 1};
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), -1);
    cr_assert_eq(st.code, 0);
    cr_assert_eq(st.reason, IG_KUBE_REASON_TRANSPORT);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
}

Test(kube_client, rotated_ca_file_used)
{
    char *dir = temp_dir();
    char other_path[512];
    snprintf(other_path, sizeof other_path, "%s/other-ca.crt", env_or_fail("STANDIN_CERTS"));
    char *other = read_text(other_path);
    char *right = read_text(env_or_fail("STANDIN_CA"));
    char *ca_path = write_file(dir, "ca.crt", other);
    struct ig_kube_config config;
    admin_config(&config);
    free(config.ca_file);
    config.ca_file = strdup(ca_path);
    struct ig_kube_client_options options = {.max_attempts = 1};
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_TRANSPORT);
    free(write_file(dir, "ca.crt", right));
    cr_assert_eq(list_secrets(client, "default", &st), 0);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(ca_path);
    free(other);
    free(right);
    free(dir);
}

Test(kube_client, in_cluster_service_account)
{
    char *dir = temp_dir();
    char *ca = read_text(env_or_fail("STANDIN_CA"));
    free(write_file(dir, "ca.crt", ca));
    free(write_file(dir, "namespace", "pod-ns\n"));
    char token_line[256];
    snprintf(token_line, sizeof token_line, "%s\n", env_or_fail("STANDIN_TOKEN"));
    free(write_file(dir, "token", token_line));
    const char *url = env_or_fail("STANDIN_URL");
    const char *port = strrchr(url, ':') + 1;
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    struct ig_kube_config config;
    char err[256] = "";
    cr_assert_eq(ig_kube_config_in_cluster(dir, &config, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(config.namespace, "pod-ns");
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), 0, "%s", st.message);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(ca);
    free(dir);
}

/* ---- tokens -------------------------------------------------------------- */

Test(kube_client, one_off_401_rereads_token)
{
    char *dir = temp_dir();
    control("tokens", "{\"token\":\"file-token-1\",\"user\":\"file-user\"}");
    char *token_path = write_file(dir, "token", "file-token-1\n");
    struct ig_kube_config config;
    admin_config(&config);
    free(config.token);
    config.token = NULL;
    config.token_file = strdup(token_path);
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    const char *ns = fresh_namespace("one401");
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    cr_assert_eq(ig_kube_client_token_reads(client), 1);

    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\"},\"action\":{\"status\":401,"
             "\"reason\":\"Unauthorized\"}}",
             ns);
    control("faults", fault);
    cr_assert_eq(list_secrets(client, ns, &st), 0, "%s", st.message);
    cr_assert_eq(ig_kube_client_token_reads(client), 2);
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "GET", ns, 401), 1);
    cr_assert_eq(count_requests(log, "GET", ns, 200), 2);
    cJSON_Delete(log);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(token_path);
    free(dir);
}

Test(kube_client, token_cached_within_max_age)
{
    char *dir = temp_dir();
    control("tokens", "{\"token\":\"cached-token\",\"user\":\"cache-user\"}");
    char *token_path = write_file(dir, "token", "cached-token");
    struct ig_kube_config config;
    admin_config(&config);
    free(config.token);
    config.token = NULL;
    config.token_file = strdup(token_path);
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    struct ig_kube_status st = {0};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(list_secrets(client, "default", &st), 0);
    cr_assert_eq(ig_kube_client_token_reads(client), 1);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(token_path);
    free(dir);
}

Test(kube_client, token_reread_after_max_age)
{
    char *dir = temp_dir();
    control("tokens", "{\"token\":\"aged-token\",\"user\":\"aged-user\"}");
    char *token_path = write_file(dir, "token", "aged-token");
    struct ig_kube_config config;
    admin_config(&config);
    free(config.token);
    config.token = NULL;
    config.token_file = strdup(token_path);
    struct ig_kube_client_options options = {.token_max_age = 0.3};
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), 0);
    cr_assert_eq(list_secrets(client, "default", &st), 0);
    cr_assert_eq(ig_kube_client_token_reads(client), 1);
    usleep(400000);
    cr_assert_eq(list_secrets(client, "default", &st), 0);
    cr_assert_eq(ig_kube_client_token_reads(client), 2);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
    free(token_path);
    free(dir);
}

/* Look a counter up by name and labels (the help text is not compared). */
static struct ig_counter *counter(const char *name, const char *labels)
{
    struct ig_counter *c = ig_metrics_counter(name, "", labels);
    cr_assert_not_null(c);
    return c;
}

Test(kube_client, requests_counted_by_code)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("metrics");
    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\"},\"action\":{\"status\":503}}", ns);
    control("faults", fault);
    struct ig_counter *failed = counter("ig_kube_api_requests_total",
                                        "verb=\"list\",resource=\"secrets\",code=\"503\"");
    struct ig_counter *ok = counter("ig_kube_api_requests_total",
                                    "verb=\"list\",resource=\"secrets\",code=\"200\"");
    uint64_t failed_before = ig_counter_value(failed);
    uint64_t ok_before = ig_counter_value(ok);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    cr_assert_eq(ig_counter_value(failed) - failed_before, 1);
    cr_assert_eq(ig_counter_value(ok) - ok_before, 1);
    ig_kube_client_free(client);
}

Test(kube_client, requests_reuse_connection)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("reuse");
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    cJSON *log = request_log();
    const char *peers[2] = {NULL, NULL};
    int found = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, log)
    {
        if (found < 2 && strstr(cJSON_GetObjectItem(entry, "path")->valuestring, ns))
            peers[found++] = cJSON_GetObjectItem(entry, "peer")->valuestring;
    }
    cr_assert_eq(found, 2);
    cr_assert_str_eq(peers[0], peers[1]);
    cJSON_Delete(log);
    ig_kube_client_free(client);
}

Test(kube_client, static_token_401_not_retried)
{
    struct ig_kube_config config;
    admin_config(&config);
    free(config.token);
    config.token = strdup("not-a-token");
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), -1);
    cr_assert_eq(st.code, 401);
    cr_assert_eq(st.reason, IG_KUBE_REASON_UNAUTHORIZED);
    cr_assert_eq(ig_kube_client_attempts(client), 1);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
}

/* ---- retries ------------------------------------------------------------- */

Test(kube_client, honours_retry_after)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("r429");
    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\"},\"action\":{\"status\":429,"
             "\"retry_after\":1}}",
             ns);
    control("faults", fault);
    struct ig_kube_status st = {0};
    double start = now_seconds();
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    double elapsed = now_seconds() - start;
    cr_assert_geq(elapsed, 1.0, "retried after %.3f s", elapsed);
    cr_assert_lt(elapsed, 3.0);
    cr_assert_eq(ig_kube_client_attempts(client), 2);
    ig_kube_client_free(client);
}

Test(kube_client, retries_5xx_with_backoff)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("r503");
    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\"},\"times\":2,\"action\":{\"status\":503}}", ns);
    control("faults", fault);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    cr_assert_eq(ig_kube_client_attempts(client), 3);
    ig_kube_client_free(client);
}

Test(kube_client, gives_up_after_max_attempts)
{
    struct ig_kube_config config;
    admin_config(&config);
    struct ig_kube_client_options options = {.max_attempts = 3, .backoff_initial = 0.01};
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    const char *ns = fresh_namespace("r500");
    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\"},\"times\":5,\"action\":{\"status\":500}}", ns);
    control("faults", fault);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, ns, &st), -1);
    cr_assert_eq(st.code, 500);
    cr_assert_eq(st.reason, IG_KUBE_REASON_INTERNAL_ERROR);
    cr_assert_eq(ig_kube_client_attempts(client), 3);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
}

Test(kube_client, transport_error_retried)
{
    struct ig_kube_config config;
    admin_config(&config);
    free(config.server);
    config.server = strdup("https://127.0.0.1:1");
    struct ig_kube_client_options options = {.max_attempts = 3, .backoff_initial = 0.01};
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    struct ig_kube_status st = {0};
    cr_assert_eq(list_secrets(client, "default", &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_TRANSPORT);
    cr_assert_eq(ig_kube_client_attempts(client), 3);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
    ig_kube_config_free(&config);
}

/* ---- typed errors -------------------------------------------------------- */

Test(kube_client, secret_errors_are_typed)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("typed");
    struct ig_kube_status st = {0};
    cJSON *secret = make_secret("s", "k", "v1", true);
    cJSON *created = NULL;
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, &created, &st), 0);

    cr_assert_eq(ig_kube_secret_create(client, ns, secret, NULL, &st), -1);
    cr_assert_eq(st.code, 409);
    cr_assert_eq(st.reason, IG_KUBE_REASON_ALREADY_EXISTS);

    cJSON *changed = cJSON_Duplicate(created, true);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(changed, "data"), "k", cJSON_CreateString("djI="));
    cr_assert_eq(ig_kube_update(client, &IG_KUBE_SECRETS, ns, changed, NULL, &st), -1);
    cr_assert_eq(st.code, 422);
    cr_assert_eq(st.reason, IG_KUBE_REASON_INVALID);
    cr_assert(ig_kube_status_has_cause(&st, "data", "FieldValueForbidden"));
    cr_assert_str_eq(st.kind, "Secret");

    cJSON *meta_change = cJSON_Duplicate(created, true);
    cJSON *labels = cJSON_AddObjectToObject(cJSON_GetObjectItem(meta_change, "metadata"), "labels");
    cJSON_AddStringToObject(labels, "a", "b");
    cr_assert_eq(ig_kube_update(client, &IG_KUBE_SECRETS, ns, meta_change, NULL, &st), 0);
    cr_assert_eq(ig_kube_update(client, &IG_KUBE_SECRETS, ns, meta_change, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_CONFLICT);

    cr_assert_eq(ig_kube_secret_delete(client, ns, "s", "wrong-uid", NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_CONFLICT);
    cr_assert_eq(ig_kube_secret_delete(client, ns, "s", NULL, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_CLIENT);
    const char *uid = cJSON_GetObjectItem(cJSON_GetObjectItem(created, "metadata"), "uid")->valuestring;
    cr_assert_eq(ig_kube_secret_delete(client, ns, "s", uid, NULL, &st), 0);
    cr_assert_eq(ig_kube_secret_get(client, ns, "s", NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_NOT_FOUND);
    cr_assert_str_eq(st.kind, "secrets");

    ig_kube_status_clear(&st);
    cJSON_Delete(secret);
    cJSON_Delete(created);
    cJSON_Delete(changed);
    cJSON_Delete(meta_change);
    ig_kube_client_free(client);
}

Test(kube_client, delete_sends_preconditions)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("precond");
    struct ig_kube_status st = {0};
    cJSON *secret = make_secret("p", "k", "v", false);
    cJSON *created = NULL;
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, &created, &st), 0);
    const cJSON *meta = cJSON_GetObjectItem(created, "metadata");
    const char *uid = cJSON_GetObjectItem(meta, "uid")->valuestring;
    const char *rv = cJSON_GetObjectItem(meta, "resourceVersion")->valuestring;
    cr_assert_eq(ig_kube_secret_delete(client, ns, "p", uid, rv, &st), 0);
    cJSON *log = request_log();
    const cJSON *entry, *body = NULL;
    cJSON_ArrayForEach(entry, log)
    {
        if (strcmp(cJSON_GetObjectItem(entry, "method")->valuestring, "DELETE") == 0 &&
            strstr(cJSON_GetObjectItem(entry, "path")->valuestring, ns))
            body = cJSON_GetObjectItem(entry, "body");
    }
    cr_assert_not_null(body);
    const cJSON *pre = cJSON_GetObjectItem(body, "preconditions");
    cr_assert_str_eq(cJSON_GetObjectItem(body, "kind")->valuestring, "DeleteOptions");
    cr_assert_str_eq(cJSON_GetObjectItem(pre, "uid")->valuestring, uid);
    cr_assert_str_eq(cJSON_GetObjectItem(pre, "resourceVersion")->valuestring, rv);
    cJSON_Delete(log);
    cJSON_Delete(secret);
    cJSON_Delete(created);
    ig_kube_client_free(client);
}

Test(kube_client, terminating_secret_blocks_create)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("term");
    struct ig_kube_status st = {0};
    cJSON *secret = make_secret("t", "k", "v", true);
    cJSON *finalizers = cJSON_AddArrayToObject(cJSON_GetObjectItem(secret, "metadata"), "finalizers");
    cJSON_AddItemToArray(finalizers, cJSON_CreateString("example.com/hold"));
    cJSON *created = NULL;
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, &created, &st), 0);
    const char *uid = cJSON_GetObjectItem(cJSON_GetObjectItem(created, "metadata"), "uid")->valuestring;
    cr_assert_eq(ig_kube_secret_delete(client, ns, "t", uid, NULL, &st), 0);
    cJSON *fresh = make_secret("t", "k", "v2", true);
    cr_assert_eq(ig_kube_secret_create(client, ns, fresh, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_ALREADY_EXISTS);
    ig_kube_status_clear(&st);
    cJSON_Delete(secret);
    cJSON_Delete(fresh);
    cJSON_Delete(created);
    ig_kube_client_free(client);
}

Test(kube_client, update_requires_resource_version)
{
    struct ig_kube_client *client = admin_client();
    cJSON *secret = make_secret("x", "k", "v", false);
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_update(client, &IG_KUBE_SECRETS, "default", secret, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_CLIENT);
    cr_assert_eq(ig_kube_client_attempts(client), 0);
    ig_kube_status_clear(&st);
    cJSON_Delete(secret);
    ig_kube_client_free(client);
}

Test(kube_client, status_merge_patch)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("status");
    cJSON *es = cJSON_Parse("{\"apiVersion\":\"external-secrets.io/v1\",\"kind\":\"ExternalSecret\","
                            "\"metadata\":{\"name\":\"e\"},\"spec\":{\"refreshInterval\":\"1h\"}}");
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_create(client, &externalsecrets, ns, es, NULL, &st), 0);
    cJSON *patch = cJSON_Parse("{\"status\":{\"refreshTime\":\"2026-01-01T00:00:00Z\"}}");
    cJSON *out = NULL;
    cr_assert_eq(ig_kube_merge_patch(client, &externalsecrets, ns, "e", "status", patch, &out, &st), 0);
    const cJSON *status = cJSON_GetObjectItem(out, "status");
    cr_assert_str_eq(cJSON_GetObjectItem(status, "refreshTime")->valuestring, "2026-01-01T00:00:00Z");
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "PATCH", "/e/status", 200), 1);
    cJSON_Delete(log);
    cJSON_Delete(out);
    cJSON_Delete(patch);
    cJSON_Delete(es);
    ig_kube_client_free(client);
}

static bool test_guard(void *ctx)
{
    return *(bool *)ctx;
}

Test(kube_client, write_guard_blocks_writes)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("guard");
    bool allowed = false;
    struct ig_kube_status st = {0};
    cJSON *secret = make_secret("g", "k", "v", false);
    ig_kube_client_set_write_guard(client, test_guard, &allowed);
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_NOT_LEADER);
    cr_assert_eq(ig_kube_client_attempts(client), 0);
    cr_assert_eq(list_secrets(client, ns, &st), 0);
    allowed = true;
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, NULL, &st), 0);
    ig_kube_status_clear(&st);
    cJSON_Delete(secret);
    ig_kube_client_free(client);
}

/* Allows the first check only: the pre-check in ig_kube_do passes, and the
 * check made right before sending fails, as for a leader stalled while
 * connecting. */
static bool allow_once(void *ctx)
{
    int *calls = ctx;
    return (*calls)++ == 0;
}

Test(kube_client, write_guard_checked_before_send)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("gate");
    int calls = 0;
    ig_kube_client_set_write_guard(client, allow_once, &calls);
    struct ig_kube_status st = {0};
    cJSON *secret = make_secret("late", "k", "v", false);
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_NOT_LEADER);
    cr_assert_eq(calls, 2);
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "POST", ns, 0), 0);
    cJSON_Delete(log);
    ig_kube_status_clear(&st);
    cJSON_Delete(secret);
    ig_kube_client_free(client);
}

/* ---- lists --------------------------------------------------------------- */

static void fill_configmaps(struct ig_kube_client *client, const char *ns, int count)
{
    struct ig_kube_status st = {0};
    for (int i = 0; i < count; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"cm%02d\"},\"data\":{\"i\":\"%d\"}}", i, i);
        cJSON *cm = cJSON_Parse(text);
        cr_assert_eq(ig_kube_create(client, &configmaps, ns, cm, NULL, &st), 0);
        cJSON_Delete(cm);
    }
}

Test(kube_client, list_follows_continue)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("pages");
    fill_configmaps(client, ns, 7);
    struct ig_kube_list_options options = {.limit = 3};
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st), 0);
    cr_assert_eq(cJSON_GetArraySize(items), 7);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 6), "metadata"),
                                         "name")->valuestring,
                     "cm06");
    cr_assert_not_null(rv);
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "GET", ns, 200), 3);
    cJSON_Delete(log);
    cJSON_Delete(items);
    free(rv);
    ig_kube_client_free(client);
}

Test(kube_client, list_restarts_on_expired_continue)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("expire");
    fill_configmaps(client, ns, 5);
    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\",\"has_continue\":true},"
             "\"action\":{\"status\":410,\"reason\":\"Expired\"}}",
             ns);
    control("faults", fault);
    struct ig_kube_list_options options = {.limit = 2};
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st), 0);
    cr_assert_eq(cJSON_GetArraySize(items), 5);
    cJSON *log = request_log();
    /* Page one, page two (410), then page one to three again. */
    cr_assert_eq(count_requests(log, "GET", ns, 410), 1);
    cr_assert_eq(count_requests(log, "GET", ns, 200), 4);
    cJSON_Delete(log);
    cJSON_Delete(items);
    free(rv);
    ig_kube_client_free(client);
}

Test(kube_client, list_expired_token_from_server_ttl)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("ttl");
    fill_configmaps(client, ns, 3);
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    /* A continue TTL of zero expires every token, so no list can finish: the
     * client must give up after its restarts instead of looping. */
    control("settings", "{\"continue_ttl\":0}");
    struct ig_kube_list_options options = {.limit = 1, .max_restarts = 3};
    int rc = ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st);
    control("settings", "{\"continue_ttl\":300}");
    cr_assert_eq(rc, -1);
    cr_assert_eq(st.code, 410);
    cr_assert_eq(st.reason, IG_KUBE_REASON_EXPIRED);
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "GET", ns, 410), 3);
    cJSON_Delete(log);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
}

/* ---- limits against a misbehaving server ------------------------------ */

static struct ig_counter *limit_counter(const char *limit)
{
    char labels[64];
    snprintf(labels, sizeof labels, "limit=\"%s\"", limit);
    return counter("ig_kube_limit_exceeded_total", labels);
}

static struct ig_kube_client *client_with_body_limit(size_t max_body_bytes)
{
    struct ig_kube_config config;
    admin_config(&config);
    struct ig_kube_client_options options = {
        .backoff_initial = 0.01,
        .backoff_max = 0.05,
        .max_body_bytes = max_body_bytes,
    };
    struct ig_kube_client *client = ig_kube_client_new(&config, &options);
    ig_kube_config_free(&config);
    cr_assert_not_null(client);
    return client;
}

static void add_list_fault(const char *ns, int times, const char *action)
{
    char fault[512];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\",\"watch\":false},\"times\":%d,\"action\":%s}",
             ns, times, action);
    control("faults", fault);
}

Test(kube_client, endless_body_aborted_at_default_limit)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("endless");
    add_list_fault(ns, 5, "{\"endless_body\":true}");
    struct ig_counter *exceeded = limit_counter("response_body");
    uint64_t before = ig_counter_value(exceeded);
    cJSON *out = NULL;
    struct ig_kube_status st = {0};
    double started = now_seconds();
    cr_assert_eq(ig_kube_get(client, &configmaps, ns, "any", &out, &st), -1);
    double elapsed = now_seconds() - started;
    cr_assert_null(out);
    cr_assert_eq(st.code, 0);
    cr_assert_eq(st.reason, IG_KUBE_REASON_TOO_LARGE);
    cr_assert_not_null(strstr(st.message, "67108864 bytes"), "%s", st.message);
    cr_assert_eq(ig_counter_value(exceeded) - before, 1);
    /* Not retried: one aborted transfer, well before the stand-in's 1 GiB.
     * Any status, because the stand-in records 200 only once its write fails. */
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "GET", ns, 0), 1);
    cJSON_Delete(log);
    cr_assert_lt(elapsed, 20.0);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
}

Test(kube_client, list_page_over_limit_halves_limit)
{
    struct ig_kube_client *client = client_with_body_limit(256 * 1024);
    const char *ns = fresh_namespace("halve");
    fill_configmaps(client, ns, 3);
    /* Pages with limit 4 and 2 are endless; limit 1 gets normal pages. */
    add_list_fault(ns, 2, "{\"endless_body\":true}");
    struct ig_kube_list_options options = {.limit = 4};
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st), 0,
                 "%s", st.message);
    cr_assert_eq(cJSON_GetArraySize(items), 3);
    cJSON *log = request_log();
    int limits[3] = {0};
    const cJSON *entry;
    cJSON_ArrayForEach(entry, log)
    {
        const cJSON *path = cJSON_GetObjectItem(entry, "path");
        const cJSON *query = cJSON_GetObjectItem(entry, "query");
        const cJSON *limit = cJSON_GetObjectItem(query, "limit");
        if (!cJSON_IsString(path) || !strstr(path->valuestring, ns) || !cJSON_IsString(limit) ||
            strcmp(cJSON_GetObjectItem(entry, "method")->valuestring, "GET") != 0)
            continue;
        if (strcmp(limit->valuestring, "4") == 0)
            limits[0]++;
        else if (strcmp(limit->valuestring, "2") == 0)
            limits[1]++;
        else if (strcmp(limit->valuestring, "1") == 0)
            limits[2]++;
    }
    cr_assert_eq(limits[0], 1);
    cr_assert_eq(limits[1], 1);
    cr_assert_eq(limits[2], 3);
    cJSON_Delete(log);
    cJSON_Delete(items);
    free(rv);
    ig_kube_client_free(client);
}

Test(kube_client, list_page_over_limit_at_one_fails)
{
    struct ig_kube_client *client = client_with_body_limit(256 * 1024);
    const char *ns = fresh_namespace("toolarge");
    add_list_fault(ns, 10, "{\"endless_body\":true}");
    struct ig_kube_list_options options = {.limit = 4};
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st), -1);
    cr_assert_null(items);
    cr_assert_eq(st.reason, IG_KUBE_REASON_TOO_LARGE);
    cJSON *log = request_log();
    /* Limits 4, 2 and 1, then no more. */
    cr_assert_eq(count_requests(log, "GET", ns, 0), 3);
    cJSON_Delete(log);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
}

Test(kube_client, list_repeated_continue_stops)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("stuck");
    fill_configmaps(client, ns, 2);
    add_list_fault(ns, 1000, "{\"fixed_continue\":\"stuck-token\"}");
    struct ig_counter *exceeded = limit_counter("list_pages");
    uint64_t before = ig_counter_value(exceeded);
    struct ig_kube_list_options options = {.limit = 1};
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st), -1);
    cr_assert_null(items);
    cr_assert_null(rv);
    cr_assert_eq(st.reason, IG_KUBE_REASON_PAGINATION);
    cr_assert_eq(ig_counter_value(exceeded) - before, 1);
    cJSON *log = request_log();
    /* Page one, then the page that returns the token it was sent. */
    cr_assert_eq(count_requests(log, "GET", ns, 0), 2);
    cJSON_Delete(log);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
}

Test(kube_client, list_stops_at_max_pages)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("endlesspages");
    fill_configmaps(client, ns, 2);
    add_list_fault(ns, 1000, "{\"endless_continue\":true}");
    struct ig_kube_list_options options = {.limit = 1, .max_pages = 25};
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &configmaps, ns, &options, NULL, &items, &rv, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_PAGINATION);
    cr_assert_not_null(strstr(st.message, "25 pages"), "%s", st.message);
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "GET", ns, 0), 25);
    cJSON_Delete(log);
    ig_kube_status_clear(&st);
    ig_kube_client_free(client);
}

Test(kube_client, retry_log_caps_huge_message)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("hugemsg");
    size_t size = 200 * 1024;
    char *message = malloc(size + 1);
    cr_assert_not_null(message);
    memset(message, 'm', size);
    message[size] = '\0';
    cJSON *fault = cJSON_CreateObject();
    cJSON *match = cJSON_AddObjectToObject(fault, "match");
    cJSON_AddStringToObject(match, "path_contains", ns);
    cJSON_AddNumberToObject(fault, "times", 1);
    cJSON *action = cJSON_AddObjectToObject(fault, "action");
    cJSON_AddNumberToObject(action, "status", 503);
    cJSON_AddStringToObject(action, "message", message);
    char *text = cJSON_PrintUnformatted(fault);
    control("faults", text);

    FILE *sink = tmpfile();
    cr_assert_not_null(sink);
    ig_log_set_stream(sink);
    struct ig_kube_status st = {0};
    int rc = list_secrets(client, ns, &st);
    fflush(sink);
    ig_log_set_stream(NULL);
    cr_assert_eq(rc, 0);

    /* One retry line, with the message cut to the logger's 1024 bytes. */
    long written = ftell(sink);
    rewind(sink);
    char *logged = calloc(1, (size_t)written + 1);
    cr_assert_eq(fread(logged, 1, (size_t)written, sink), (size_t)written);
    fclose(sink);
    const char *line = strstr(logged, "kube API request failed, retrying");
    cr_assert_not_null(line, "%s", logged);
    const char *end = strchr(line, '\n');
    cr_assert_not_null(end);
    cr_assert_lt(end - line, 2048, "retry line of %ld bytes", (long)(end - line));
    cr_assert_lt(written, 8192, "%ld bytes logged", written);
    free(logged);
    free(text);
    cJSON_Delete(fault);
    free(message);
    ig_kube_client_free(client);
}
