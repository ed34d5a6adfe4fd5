/* libFuzzer target: raw request body to reply bytes, through ig_admission_handle.
 *
 * The first input byte picks the webhook, the validating mode, the mutating
 * action and whether a namespace is exempt; the rest is the body. Every reply
 * must be a JSON object: a Status with code 400 for HTTP 400, otherwise an
 * AdmissionReview with the request's apiVersion and uid. A mutating reply's
 * patch must apply to request.object under RFC 6902 and leave an object that
 * the rule accepts. Duplicate member names resolve as in Go's encoding/json,
 * which the apiserver uses: the last one wins. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/review.h"
#include "common/base64.h"
#include "common/log.h"
#include "patch_check.h"
#include "policy/rule.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "admission fuzz check failed: %s\n", what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Decisions are still logged (the logger's escaping is under test too),
     * but to /dev/null so that the fuzzer's own output stays readable. */
    FILE *sink = fopen("/dev/null", "w");
    if (sink)
        ig_log_set_stream(sink);
    return 0;
}

static const cJSON *member(const cJSON *object, const char *key)
{
    return cJSON_IsObject(object) ? cJSON_GetObjectItemCaseSensitive(object, key) : NULL;
}

static const char *string_member(const cJSON *object, const char *key)
{
    const cJSON *item = member(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Remove every member that a later member of the same name overrides, at
 * every depth, so that first-match lookups see what Go's decoder sees. */
static void keep_last_duplicates(cJSON *node)
{
    cJSON *child = node ? node->child : NULL;
    while (child) {
        cJSON *next = child->next;
        bool overridden = false;
        if (cJSON_IsObject(node)) {
            for (const cJSON *later = next; later && !overridden; later = later->next)
                overridden = strcmp(later->string, child->string) == 0;
        }
        if (overridden)
            cJSON_Delete(cJSON_DetachItemViaPointer(node, child));
        else
            keep_last_duplicates(child);
        child = next;
    }
}

/* Apply the reply's patch to request.object and check the rule then passes. */
static void check_patch(const cJSON *request, const cJSON *response)
{
    const char *encoded = string_member(response, "patch");
    expect(encoded != NULL, "patched reply has a string patch");
    const char *patch_type = string_member(response, "patchType");
    expect(patch_type != NULL, "patched reply has a string patchType");
    expect(strcmp(patch_type, "JSONPatch") == 0, "patchType is JSONPatch");

    size_t length = 0;
    unsigned char *decoded = ig_base64_decode(encoded, strlen(encoded), &length);
    expect(decoded != NULL, "patch is valid base64");
    cJSON *patch = cJSON_ParseWithLength((const char *)decoded, length);
    free(decoded);
    expect(patch != NULL, "patch is valid JSON");

    cJSON *object = cJSON_Duplicate(member(request, "object"), true);
    expect(object != NULL, "request.object can be copied");
    patch_check_apply(object, patch);

    const cJSON *gvk = member(request, "kind");
    enum ig_es_kind kind = ig_policy_kind(string_member(gvk, "group"), string_member(gvk, "version"),
                                          string_member(gvk, "kind"));
    struct ig_policy_result result;
    ig_policy_evaluate(kind, object, &result);
    expect(result.violation == IG_VIOLATION_NONE, "patched object complies with the rule");
    cJSON_Delete(object);
    cJSON_Delete(patch);
}

static void check_review_reply(enum ig_webhook webhook, const uint8_t *body, size_t length,
                               const cJSON *reply, enum ig_decision decision)
{
    /* The handler decodes lone UTF-16 surrogates to U+FFFD as Go does, but
     * cJSON rejects them, so such bodies cannot be compared here. */
    cJSON *review = cJSON_ParseWithLength((const char *)body, length);
    if (!review)
        return;
    keep_last_duplicates(review);
    const cJSON *request = member(review, "request");

    const char *api_version = string_member(reply, "apiVersion");
    const char *kind = string_member(reply, "kind");
    expect(api_version != NULL, "reply has a string apiVersion");
    expect(strcmp(api_version, string_member(review, "apiVersion")) == 0,
           "reply apiVersion equals the request's");
    expect(kind != NULL, "reply has a string kind");
    expect(strcmp(kind, "AdmissionReview") == 0, "reply kind is AdmissionReview");

    const cJSON *response = member(reply, "response");
    const char *uid = string_member(response, "uid");
    expect(uid != NULL, "response has a string uid");
    expect(strcmp(uid, string_member(request, "uid")) == 0, "reply uid equals the request's");
    const cJSON *allowed = member(response, "allowed");
    expect(cJSON_IsBool(allowed), "response.allowed is a boolean");
    expect(cJSON_IsTrue(allowed) == (decision != IG_DECISION_DENIED),
           "allowed is false exactly when the decision is denied");

    if (webhook == IG_WEBHOOK_VALIDATE) {
        expect(member(response, "patch") == NULL, "a validating reply carries no patch");
        expect(decision != IG_DECISION_PATCHED, "a validating reply is never patched");
    } else {
        expect(decision != IG_DECISION_DENIED, "the mutating webhook never denies");
        if (decision == IG_DECISION_PATCHED)
            check_patch(request, response);
        else
            expect(member(response, "patch") == NULL, "only a patched decision carries a patch");
    }
    if (decision == IG_DECISION_DENIED) {
        const cJSON *status = member(response, "status");
        expect(cJSON_IsString(member(status, "message")), "a denial has a status message");
    }
    const cJSON *warnings = member(response, "warnings");
    if (warnings) {
        const cJSON *warning;
        expect(cJSON_IsArray(warnings), "warnings is an array");
        cJSON_ArrayForEach(warning, warnings)
        {
            expect(cJSON_IsString(warning), "each warning is a string");
            expect(strlen(warning->valuestring) <= 120, "each warning is at most 120 bytes");
        }
    }
    cJSON_Delete(review);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const exempt[] = {"kube-system", "default"};

    if (size < 1)
        return 0;
    uint8_t selector = data[0];
    struct ig_admission_config config = {0};
    enum ig_webhook webhook = (selector & 1) ? IG_WEBHOOK_MUTATE : IG_WEBHOOK_VALIDATE;
    config.mode = (enum ig_mode)((selector >> 1) % 3);
    config.mutate_action = (selector & 8) ? IG_MUTATE_SET_MUTABLE : IG_MUTATE_ANNOTATE;
    if (selector & 16) {
        config.exempt_namespaces = exempt;
        config.exempt_namespace_count = 2;
    }

    /* Copy the body so that reading past its end is caught by ASan. */
    size_t length = size - 1;
    char *body = malloc(length ? length : 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, length);

    struct ig_admission_outcome outcome;
    if (!ig_admission_handle(webhook, body, length, &config, &outcome)) {
        free(body);
        return 0;
    }
    expect(outcome.body != NULL, "outcome has a body");
    expect(outcome.body_length == strlen(outcome.body), "body_length matches the body");
    cJSON *reply = cJSON_ParseWithLength(outcome.body, outcome.body_length);
    expect(cJSON_IsObject(reply), "reply is a JSON object");

    if (outcome.http_status == 400) {
        expect(outcome.decision == IG_DECISION_ERROR, "a 400 reply is an error decision");
        const char *kind = string_member(reply, "kind");
        expect(kind != NULL, "a 400 reply has a string kind");
        expect(strcmp(kind, "Status") == 0, "a 400 reply is a Status");
        const cJSON *code = member(reply, "code");
        expect(cJSON_IsNumber(code), "Status code is a number");
        expect(code->valueint == 400, "Status code is 400");
    } else {
        expect(outcome.http_status == 200, "HTTP status is 200 or 400");
        check_review_reply(webhook, (const uint8_t *)body, length, reply, outcome.decision);
    }

    cJSON_Delete(reply);
    ig_admission_outcome_free(&outcome);
    free(body);
    return 0;
}
