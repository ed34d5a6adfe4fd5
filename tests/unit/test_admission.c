#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/review.h"
#include "common/base64.h"
#include "common/log.h"

#define CASES_FILE "tests/fixtures/admission/policy-cases.json"

static FILE *log_sink;

static void quiet_logs(void)
{
    log_sink = fopen("/dev/null", "w");
    ig_log_set_stream(log_sink);
}

static void restore_logs(void)
{
    ig_log_set_stream(NULL);
    if (log_sink)
        fclose(log_sink);
}

TestSuite(admission, .init = quiet_logs, .fini = restore_logs);

static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (tests run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    if (length)
        *length = (size_t)size;
    return text;
}

struct reply {
    int http_status;
    enum ig_decision decision;
    cJSON *root;
    const cJSON *response;
};

static struct reply run_review(enum ig_webhook webhook, const char *body, size_t length,
                               const struct ig_admission_config *config)
{
    struct ig_admission_outcome outcome;
    struct reply reply = {0};
    cr_assert(ig_admission_handle(webhook, body, length, config, &outcome));
    reply.http_status = outcome.http_status;
    reply.decision = outcome.decision;
    reply.root = cJSON_ParseWithLength(outcome.body, outcome.body_length);
    cr_assert_not_null(reply.root, "reply is not JSON: %s", outcome.body);
    reply.response = cJSON_GetObjectItem(reply.root, "response");
    ig_admission_outcome_free(&outcome);
    return reply;
}

static const char *const webhook_configs[] = {"validate:enforce", "validate:warn", "validate:audit",
                                              "mutate:annotate", "mutate:set-mutable"};

static void config_for(const char *name, struct ig_admission_config *config, enum ig_webhook *webhook)
{
    const char *colon = strchr(name, ':');
    *webhook = strncmp(name, "mutate", 6) == 0 ? IG_WEBHOOK_MUTATE : IG_WEBHOOK_VALIDATE;
    if (*webhook == IG_WEBHOOK_MUTATE)
        cr_assert(ig_mutate_action_parse(colon + 1, &config->mutate_action));
    else
        cr_assert(ig_mode_parse(colon + 1, &config->mode));
}

static bool any_contains(const cJSON *array, const char *needle)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array) {
        if (cJSON_IsString(item) && strstr(item->valuestring, needle))
            return true;
    }
    return false;
}

static void check_case(const cJSON *test_case, const char *const *exempt, size_t exempt_count)
{
    const char *name = cJSON_GetObjectItem(test_case, "name")->valuestring;
    const cJSON *review = cJSON_GetObjectItem(test_case, "review");
    const cJSON *expect = cJSON_GetObjectItem(test_case, "expect");
    const char *violation = cJSON_GetObjectItem(test_case, "violation")->valuestring;
    char *body = cJSON_PrintUnformatted(review);
    const char *request_uid = cJSON_GetObjectItem(cJSON_GetObjectItem(review, "request"), "uid")->valuestring;
    const char *envelope = cJSON_GetObjectItem(review, "apiVersion")->valuestring;

    for (size_t i = 0; i < sizeof webhook_configs / sizeof webhook_configs[0]; i++) {
        struct ig_admission_config config = {.exempt_namespaces = exempt,
                                             .exempt_namespace_count = exempt_count};
        enum ig_webhook webhook;
        config_for(webhook_configs[i], &config, &webhook);
        const char *expected = cJSON_GetObjectItem(expect, webhook_configs[i])->valuestring;

        struct reply reply = run_review(webhook, body, strlen(body), &config);
        const char *where = webhook_configs[i];
        cr_assert_eq(reply.http_status, 200, "%s [%s]: HTTP %d", name, where, reply.http_status);
        cr_assert_str_eq(ig_decision_name(reply.decision), expected, "%s [%s]: decision", name, where);
        cr_assert_str_eq(cJSON_GetObjectItem(reply.root, "apiVersion")->valuestring, envelope,
                         "%s [%s]: apiVersion", name, where);
        cr_assert_str_eq(cJSON_GetObjectItem(reply.root, "kind")->valuestring, "AdmissionReview",
                         "%s [%s]: kind", name, where);
        cr_assert_str_eq(cJSON_GetObjectItem(reply.response, "uid")->valuestring, request_uid,
                         "%s [%s]: uid", name, where);

        bool allowed = cJSON_IsTrue(cJSON_GetObjectItem(reply.response, "allowed"));
        cr_assert_eq(allowed, strcmp(expected, "denied") != 0, "%s [%s]: allowed", name, where);
        const cJSON *patch = cJSON_GetObjectItem(reply.response, "patch");
        if (strcmp(expected, "patched") == 0) {
            cr_assert_str_eq(cJSON_GetObjectItem(reply.response, "patchType")->valuestring, "JSONPatch",
                             "%s [%s]: patchType", name, where);
            cr_assert(cJSON_IsString(patch), "%s [%s]: patch", name, where);
        } else {
            cr_assert_null(patch, "%s [%s]: unexpected patch", name, where);
            cr_assert_null(cJSON_GetObjectItem(reply.response, "patchType"), "%s [%s]: patchType",
                           name, where);
        }

        const cJSON *status = cJSON_GetObjectItem(reply.response, "status");
        if (!allowed) {
            cr_assert_eq(cJSON_GetObjectItem(status, "code")->valueint, 403, "%s: status.code", name);
            cr_assert_str_eq(cJSON_GetObjectItem(status, "reason")->valuestring, "Forbidden",
                             "%s: status.reason", name);
            const char *message = cJSON_GetObjectItem(status, "message")->valuestring;
            const cJSON *needles = cJSON_GetObjectItem(test_case, "message_contains");
            const cJSON *needle;
            cJSON_ArrayForEach(needle, needles) {
                cr_assert(strstr(message, needle->valuestring), "%s: message lacks \"%s\": %s", name,
                          needle->valuestring, message);
            }
        } else {
            cr_assert_null(status, "%s [%s]: status on an allowed reply", name, where);
        }

        const cJSON *warnings = cJSON_GetObjectItem(reply.response, "warnings");
        const cJSON *warning;
        cJSON_ArrayForEach(warning, warnings) {
            size_t length = strlen(warning->valuestring);
            cr_assert(length > 0 && length <= 120, "%s [%s]: warning of %zu bytes: %s", name, where,
                      length, warning->valuestring);
            for (const char *p = warning->valuestring; *p; p++)
                cr_assert((unsigned char)*p >= 0x20 && *p != 0x7f, "%s: control character in warning",
                          name);
        }
        if (strcmp(expected, "warned") == 0)
            cr_assert(cJSON_GetArraySize(warnings) > 0, "%s [%s]: no warnings", name, where);
        const cJSON *needles = cJSON_GetObjectItem(test_case, "warning_contains");
        const cJSON *needle;
        if (strcmp(where, "validate:warn") == 0) {
            cJSON_ArrayForEach(needle, needles) {
                cr_assert(any_contains(warnings, needle->valuestring), "%s: no warning contains \"%s\"",
                          name, needle->valuestring);
            }
        }

        const cJSON *audit = cJSON_GetObjectItem(cJSON_GetObjectItem(reply.response, "auditAnnotations"),
                                                 "violation");
        if (strcmp(violation, "compliant") == 0)
            cr_assert_null(audit, "%s [%s]: audit annotation on a compliant object", name, where);
        else
            cr_assert_str_eq(audit->valuestring, violation, "%s [%s]: audit violation", name, where);
        cJSON_Delete(reply.root);
    }
    free(body);
}

Test(admission, policy_case_table)
{
    char *text = read_file(CASES_FILE, NULL);
    cJSON *table = cJSON_Parse(text);
    cr_assert_not_null(table);
    const cJSON *exempt_list = cJSON_GetObjectItem(table, "exempt_namespaces");
    const char *exempt[8];
    size_t exempt_count = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, exempt_list) exempt[exempt_count++] = item->valuestring;

    const cJSON *cases = cJSON_GetObjectItem(table, "cases");
    cr_assert_geq(cJSON_GetArraySize(cases), 30);
    const cJSON *test_case;
    cJSON_ArrayForEach(test_case, cases) check_case(test_case, exempt, exempt_count);
    cJSON_Delete(table);
    free(text);
}

static void expect_bad_request(const char *body, const char *message_part)
{
    struct ig_admission_config config = {0};
    struct ig_admission_outcome outcome;
    cr_assert(ig_admission_handle(IG_WEBHOOK_VALIDATE, body, strlen(body), &config, &outcome));
    cr_assert_eq(outcome.http_status, 400, "body %s: HTTP %d", body, outcome.http_status);
    cr_assert_eq(outcome.decision, IG_DECISION_ERROR);
    cJSON *status = cJSON_Parse(outcome.body);
    cr_assert_not_null(status);
    cr_assert_str_eq(cJSON_GetObjectItem(status, "kind")->valuestring, "Status");
    cr_assert_str_eq(cJSON_GetObjectItem(status, "status")->valuestring, "Failure");
    cr_assert_str_eq(cJSON_GetObjectItem(status, "reason")->valuestring, "BadRequest");
    cr_assert_eq(cJSON_GetObjectItem(status, "code")->valueint, 400);
    const char *message = cJSON_GetObjectItem(status, "message")->valuestring;
    cr_assert(strstr(message, message_part), "message \"%s\" lacks \"%s\"", message, message_part);
    cr_assert_null(cJSON_GetObjectItem(status, "response"));
    cJSON_Delete(status);
    ig_admission_outcome_free(&outcome);
}

Test(admission, bad_requests_get_status_400)
{
    expect_bad_request("", "not valid JSON");
    expect_bad_request("{\"apiVersion\":", "not valid JSON");
    expect_bad_request("[1,2]", "not an object");
    expect_bad_request("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "not an AdmissionReview");
    expect_bad_request("{\"kind\":\"AdmissionReview\"}", "not an AdmissionReview");
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\",\"request\":{}}",
                       "unsupported AdmissionReview version \"admission.k8s.io/v2\"");
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
                       "no request object");
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                       "{\"operation\":\"CREATE\"}}",
                       "request.uid");
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                       "{\"uid\":\"u\",\"operation\":\"PATCH\"}}",
                       "request.operation");
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                       "{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":\"ExternalSecret\"}}",
                       "request.kind");
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                       "{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"external-secrets.io\","
                       "\"version\":\"v1\",\"kind\":\"ExternalSecret\"},\"object\":null}}",
                       "request.object must be an object for CREATE");
}

Test(admission, trailing_garbage_is_rejected)
{
    expect_bad_request("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"} x",
                       "not valid JSON");
}

static cJSON *decode_patch(const cJSON *response)
{
    const char *encoded = cJSON_GetObjectItem(response, "patch")->valuestring;
    size_t length;
    unsigned char *raw = ig_base64_decode(encoded, strlen(encoded), &length);
    cr_assert_not_null(raw, "patch is not standard base64: %s", encoded);
    cJSON *patch = cJSON_ParseWithLength((const char *)raw, length);
    free(raw);
    cr_assert_not_null(patch);
    return patch;
}

Test(admission, seed_reviews)
{
    struct ig_admission_config enforce = {.mode = IG_MODE_ENFORCE};
    size_t length;
    char *mutable_review = read_file("tests/fixtures/admission/external-secret.create.json", &length);
    struct reply reply = run_review(IG_WEBHOOK_VALIDATE, mutable_review, length, &enforce);
    cr_assert_eq(reply.decision, IG_DECISION_ALLOWED);
    cJSON_Delete(reply.root);
    free(mutable_review);

    char *immutable_review = read_file("tests/fixtures/admission/external-secret-v2.create.json", &length);
    reply = run_review(IG_WEBHOOK_VALIDATE, immutable_review, length, &enforce);
    cr_assert_eq(reply.decision, IG_DECISION_DENIED);
    const char *message =
        cJSON_GetObjectItem(cJSON_GetObjectItem(reply.response, "status"), "message")->valuestring;
    cr_assert_str_eq(message,
                     "ExternalSecret default/my-app: spec.target.immutable is true but it still "
                     "refreshes every 1m, and Kubernetes rejects every change to an immutable Secret, "
                     "so rotated values would never reach it. Fix it in one of three ways: add the "
                     "annotation immutable-guard.io/rotation: recreate to metadata.annotations so that "
                     "immutable-guard recreates the Secret on rotation, set spec.target.immutable: "
                     "false, or set spec.refreshPolicy: CreatedOnce.");
    cJSON_Delete(reply.root);

    struct ig_admission_config annotate = {.mutate_action = IG_MUTATE_ANNOTATE};
    reply = run_review(IG_WEBHOOK_MUTATE, immutable_review, length, &annotate);
    cr_assert_eq(reply.decision, IG_DECISION_PATCHED);
    cJSON *patch = decode_patch(reply.response);
    char *patch_text = cJSON_PrintUnformatted(patch);
    /* The object has annotations (last-applied-configuration), so one key is added. */
    cr_assert_str_eq(patch_text, "[{\"op\":\"add\",\"path\":\"/metadata/annotations/"
                                 "immutable-guard.io~1rotation\",\"value\":\"recreate\"}]");
    free(patch_text);
    cJSON_Delete(patch);
    cJSON_Delete(reply.root);
    free(immutable_review);
}

Test(admission, patch_creates_missing_parents)
{
    const char *review =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u1\","
        "\"kind\":{\"group\":\"external-secrets.io\",\"version\":\"v1\",\"kind\":\"ClusterExternalSecret\"},"
        "\"operation\":\"CREATE\",\"name\":\"c\",\"object\":{\"metadata\":{\"name\":\"c\"},\"spec\":"
        "{\"externalSecretSpec\":{\"refreshInterval\":\"1m\",\"target\":{\"immutable\":true}}}}}}";
    struct ig_admission_config annotate = {.mutate_action = IG_MUTATE_ANNOTATE};
    struct reply reply = run_review(IG_WEBHOOK_MUTATE, review, strlen(review), &annotate);
    cJSON *patch = decode_patch(reply.response);
    char *patch_text = cJSON_PrintUnformatted(patch);
    cr_assert_str_eq(patch_text, "[{\"op\":\"add\",\"path\":\"/spec/externalSecretMetadata\",\"value\":"
                                 "{\"annotations\":{\"immutable-guard.io/rotation\":\"recreate\"}}}]");
    free(patch_text);
    cJSON_Delete(patch);
    cJSON_Delete(reply.root);

    struct ig_admission_config set_mutable = {.mutate_action = IG_MUTATE_SET_MUTABLE};
    reply = run_review(IG_WEBHOOK_MUTATE, review, strlen(review), &set_mutable);
    patch = decode_patch(reply.response);
    patch_text = cJSON_PrintUnformatted(patch);
    cr_assert_str_eq(patch_text, "[{\"op\":\"add\",\"path\":\"/spec/externalSecretSpec/target/immutable\","
                                 "\"value\":false}]");
    free(patch_text);
    cJSON_Delete(patch);
    cJSON_Delete(reply.root);
}

Test(admission, status_body_for_http_errors)
{
    char *body = ig_admission_status_body(415, "UnsupportedMediaType", "Content-Type \"text/plain\"");
    cr_assert_str_eq(body, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                           "\"Failure\",\"message\":\"Content-Type \\\"text/plain\\\"\",\"reason\":"
                           "\"UnsupportedMediaType\",\"code\":415}");
    free(body);
}

/* cJSON cannot hold a NUL inside a string, so this case is raw text rather
 * than a row of the case table. */
Test(admission, nul_in_annotation_is_invalid)
{
    const char *review =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u-nul\","
        "\"kind\":{\"group\":\"external-secrets.io\",\"version\":\"v1\",\"kind\":\"ExternalSecret\"},"
        "\"operation\":\"CREATE\",\"name\":\"app\",\"namespace\":\"team-a\",\"object\":{\"metadata\":"
        "{\"name\":\"app\",\"annotations\":{\"immutable-guard.io/rotation\":\"recreate\\u0000evil\"}},"
        "\"spec\":{\"refreshInterval\":\"1m\",\"target\":{\"immutable\":true}}}}}";
    struct ig_admission_config enforce = {.mode = IG_MODE_ENFORCE};
    struct reply reply = run_review(IG_WEBHOOK_VALIDATE, review, strlen(review), &enforce);
    cr_assert_eq(reply.decision, IG_DECISION_DENIED);
    const char *message =
        cJSON_GetObjectItem(cJSON_GetObjectItem(reply.response, "status"), "message")->valuestring;
    cr_assert(strstr(message, "has the invalid value \"recreate\xef\xbf\xbd" "evil\""), "%s", message);
    cJSON_Delete(reply.root);
}
