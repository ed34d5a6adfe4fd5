/* AdmissionReview decoding, decision and encoding.
 *
 * The apiserver checks a reply strictly: the same apiVersion as the request,
 * kind AdmissionReview, the request's uid, and no patch from a validating
 * webhook. A review this code cannot understand gets HTTP 400 with a Status
 * body, never allowed: true. */
#include "admission/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission/internal.h"
#include "admission/scan.h"
#include "common/json.h"
#include "common/json_arena.h"
#include "common/log.h"
#include "common/text.h"
#include "policy/message.h"
#include "policy/patch.h"
#include "policy/rule.h"

#define ADMISSION_V1 "admission.k8s.io/v1"
#define ADMISSION_V1BETA1 "admission.k8s.io/v1beta1"

/* Everything read from the request, borrowed from the parsed document. */
struct review_request {
    const char *api_version;
    const char *uid;
    const char *operation;
    const char *group;
    const char *version;
    const char *kind;
    const char *namespace_;
    const char *name;
    const char *user;
    bool dry_run;
    const cJSON *object;
    const cJSON *old_object;
    char display_name[320];
};

/* The decision before encoding. */
struct verdict {
    bool allowed;
    enum ig_decision decision;
    const char *reason;    /* stable reason for logs */
    const char *violation; /* policy reason: compliant, immutable-target-refreshes, ... */
    char *message;         /* denial message, malloc'd */
    cJSON *patch;          /* mutate only, owned */
    struct ig_warnings warnings;
};

static double elapsed_us(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e6 + (double)(now.tv_nsec - start->tv_nsec) / 1e3;
}

static bool is_known_operation(const char *operation)
{
    static const char *const operations[] = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) {
        if (strcmp(operation, operations[i]) == 0)
            return true;
    }
    return false;
}

/* Read the envelope and request. On failure, *error gets a message for a 400 reply. */
static bool decode_request(const cJSON *root, struct review_request *request, char *error,
                           size_t error_size)
{
    memset(request, 0, sizeof *request);
    if (!cJSON_IsObject(root)) {
        snprintf(error, error_size, "request body is JSON but not an object; expected an AdmissionReview");
        return false;
    }

    const char *api_version = ig_json_string(root, "apiVersion");
    const char *kind = ig_json_string(root, "kind");
    if (!kind || strcmp(kind, "AdmissionReview") != 0 || !api_version) {
        snprintf(error, error_size,
                 "request body is not an AdmissionReview: expected apiVersion " ADMISSION_V1
                 " and kind AdmissionReview");
        return false;
    }
    if (strcmp(api_version, ADMISSION_V1) != 0 && strcmp(api_version, ADMISSION_V1BETA1) != 0) {
        char shown[80];
        ig_text_sanitize(api_version, shown, sizeof shown);
        snprintf(error, error_size,
                 "unsupported AdmissionReview version \"%s\": this webhook accepts " ADMISSION_V1
                 " and " ADMISSION_V1BETA1 "; list those in admissionReviewVersions",
                 shown);
        return false;
    }
    request->api_version = api_version;

    const cJSON *body = ig_json_member(root, "request");
    if (!cJSON_IsObject(body)) {
        snprintf(error, error_size, "AdmissionReview has no request object");
        return false;
    }
    request->uid = ig_json_string(body, "uid");
    if (!request->uid || !*request->uid) {
        snprintf(error, error_size, "AdmissionReview request.uid is missing or not a string");
        return false;
    }
    /* The reply echoes the uid, and JSON text must be valid UTF-8. The
     * scanner decodes \u0000 and unpaired surrogates as U+FFFD, so a uid with
     * U+FFFD could not be echoed as it was sent. */
    if (!ig_text_is_clean(request->uid) || strstr(request->uid, "\xEF\xBF\xBD")) {
        request->uid = NULL;
        snprintf(error, error_size,
                 "AdmissionReview request.uid contains invalid UTF-8, control characters, "
                 "\\u0000, an unpaired surrogate or U+FFFD; kube-apiserver sends a UUID");
        return false;
    }
    request->operation = ig_json_string(body, "operation");
    if (!request->operation || !is_known_operation(request->operation)) {
        snprintf(error, error_size,
                 "AdmissionReview request.operation is missing or not one of CREATE, UPDATE, "
                 "DELETE, CONNECT");
        return false;
    }
    const cJSON *gvk = ig_json_member(body, "kind");
    request->group = ig_json_string(gvk, "group");
    request->version = ig_json_string(gvk, "version");
    request->kind = ig_json_string(gvk, "kind");
    if (!request->group || !request->version || !request->kind) {
        snprintf(error, error_size,
                 "AdmissionReview request.kind must be an object with string group, version and kind");
        return false;
    }

    request->object = ig_json_member(body, "object");
    request->old_object = ig_json_member(body, "oldObject");
    request->namespace_ = ig_json_string(body, "namespace");
    request->name = ig_json_string(body, "name");
    request->user = ig_json_string(ig_json_member(body, "userInfo"), "username");
    request->dry_run = cJSON_IsTrue(ig_json_member(body, "dryRun"));

    const cJSON *metadata = ig_json_member(cJSON_IsObject(request->object) ? request->object
                                                                    : request->old_object,
                                   "metadata");
    if (!request->name || !*request->name)
        request->name = ig_json_string(metadata, "name");
    if (!request->namespace_ || !*request->namespace_)
        request->namespace_ = ig_json_string(metadata, "namespace");
    ig_policy_display_name(request->namespace_, request->name, ig_json_string(metadata, "generateName"),
                           request->display_name, sizeof request->display_name);
    return true;
}

static bool is_exempt(const struct ig_admission_config *config, const char *namespace_)
{
    if (!namespace_)
        return false;
    for (size_t i = 0; i < config->exempt_namespace_count; i++) {
        if (strcmp(config->exempt_namespaces[i], namespace_) == 0)
            return true;
    }
    return false;
}

static bool is_deleting(const cJSON *object)
{
    const cJSON *timestamp = ig_json_member(ig_json_member(object, "metadata"), "deletionTimestamp");
    return timestamp && !cJSON_IsNull(timestamp);
}

static void allow(struct verdict *verdict, const char *reason)
{
    verdict->allowed = true;
    verdict->decision = verdict->warnings.count > 0 ? IG_DECISION_WARNED : IG_DECISION_ALLOWED;
    verdict->reason = reason;
}

/* Decide a validated request. Returns false only when out of memory, or with
 * *error set when the request lacks an object it must carry. */
static bool decide(enum ig_webhook webhook, const struct review_request *request,
                   const struct ig_admission_config *config, struct verdict *verdict, char *error,
                   size_t error_size)
{
    verdict->violation = "compliant";

    if (strcmp(request->operation, "DELETE") == 0 || strcmp(request->operation, "CONNECT") == 0) {
        allow(verdict, "operation-not-checked");
        return true;
    }
    enum ig_es_kind kind = ig_policy_kind(request->group, request->version, request->kind);
    if (kind == IG_KIND_OTHER) {
        allow(verdict, "kind-not-checked");
        return true;
    }
    if (!cJSON_IsObject(request->object)) {
        snprintf(error, error_size, "AdmissionReview request.object must be an object for %s",
                 request->operation);
        return true;
    }
    if (is_deleting(request->object)) {
        allow(verdict, "object-deleting");
        return true;
    }

    struct ig_policy_result result;
    ig_policy_evaluate(kind, request->object, &result);
    result.target_was_immutable = strcmp(request->operation, "UPDATE") == 0 &&
                                  ig_policy_target_immutable(kind, request->old_object);
    verdict->violation = ig_policy_reason(&result);
    ig_policy_interval_warning(&result, &verdict->warnings);

    if (result.violation == IG_VIOLATION_NONE) {
        allow(verdict, "compliant");
        return true;
    }
    if (is_exempt(config, request->namespace_)) {
        allow(verdict, "exempt-namespace");
        return true;
    }
    if (strcmp(request->operation, "UPDATE") == 0 && cJSON_IsObject(request->old_object) &&
        ig_policy_fields_equal(kind, request->object, request->old_object)) {
        /* Labels, finalizers and status change without touching the rule's
         * fields: ESO's own controllers do this, and they must not be blocked. */
        ig_policy_violation_warnings(kind, request->display_name, &result, &verdict->warnings);
        ig_warnings_add(&verdict->warnings, "allowed: this update leaves the existing problem unchanged");
        allow(verdict, "unchanged-update");
        return true;
    }

    if (webhook == IG_WEBHOOK_MUTATE) {
        if (result.violation == IG_VIOLATION_MISSING_ROTATION &&
            config->mutate_action == IG_MUTATE_SET_MUTABLE && result.target_was_immutable) {
            /* The Secret already exists and is immutable: a mutable target
             * would make ESO fail on every sync instead of skipping it. */
            ig_policy_violation_warnings(kind, request->display_name, &result, &verdict->warnings);
            ig_warnings_add(&verdict->warnings,
                            "not made mutable: the existing Secret is immutable and must be deleted first");
            allow(verdict, "target-already-immutable");
            return true;
        }
        if (result.violation == IG_VIOLATION_MISSING_ROTATION) {
            verdict->patch = ig_patch_for_violation(kind, request->object, config->mutate_action);
            if (!verdict->patch)
                return false;
            verdict->allowed = true;
            verdict->decision = IG_DECISION_PATCHED;
            verdict->reason = config->mutate_action == IG_MUTATE_ANNOTATE ? "added-rotation-annotation"
                                                                          : "set-target-mutable";
            return true;
        }
        /* An explicit but invalid annotation is the user's to fix: the
         * validating webhook rejects it, the mutating one only warns. */
        ig_policy_violation_warnings(kind, request->display_name, &result, &verdict->warnings);
        allow(verdict, verdict->violation);
        return true;
    }

    switch (config->mode) {
    case IG_MODE_ENFORCE:
        verdict->message = ig_policy_violation_message(kind, request->display_name, &result);
        if (!verdict->message)
            return false;
        verdict->allowed = false;
        verdict->decision = IG_DECISION_DENIED;
        verdict->reason = verdict->violation;
        return true;
    case IG_MODE_WARN:
        ig_policy_violation_warnings(kind, request->display_name, &result, &verdict->warnings);
        allow(verdict, verdict->violation);
        return true;
    case IG_MODE_AUDIT:
        allow(verdict, verdict->violation);
        return true;
    }
    return true;
}

/* Print item into memory from malloc (never the thread's arena), for a reply
 * body that outlives the review. Most replies fit the thread's buffer. */
static char *print_reply(const cJSON *item, size_t *length)
{
    static _Thread_local char buffer[16 * 1024];
    char *owned = NULL;
    char *printed = NULL;
    const char *text = buffer;
    size_t used = ig_json_print_into(item, buffer, sizeof buffer);
    if (used == 0) {
        printed = cJSON_PrintUnformatted(item);
        if (!printed)
            return NULL;
        text = printed;
        used = strlen(printed);
    }
    owned = malloc(used + 1);
    if (owned) {
        memcpy(owned, text, used + 1);
        *length = used;
    }
    cJSON_free(printed);
    return owned;
}

/* The reply's tree, built in nodes on the stack (common/json.h): the root,
 * response, status and auditAnnotations with their members, and the
 * warnings. Every string outlives it: it is printed before the review ends. */
#define REPLY_NODES (24 + IG_WARNINGS_MAX)

static char *encode_response(const struct review_request *request, const struct verdict *verdict,
                             size_t *length)
{
    cJSON storage[REPLY_NODES];
    struct ig_json_nodes nodes;
    ig_json_nodes_init(&nodes, storage, REPLY_NODES);

    cJSON *root = ig_json_nodes_add(&nodes, NULL, NULL, cJSON_Object, NULL);
    ig_json_nodes_add(&nodes, root, "apiVersion", cJSON_String, request->api_version);
    ig_json_nodes_add(&nodes, root, "kind", cJSON_String, "AdmissionReview");
    cJSON *response = ig_json_nodes_add(&nodes, root, "response", cJSON_Object, NULL);
    ig_json_nodes_add(&nodes, response, "uid", cJSON_String, request->uid);
    ig_json_nodes_add(&nodes, response, "allowed", verdict->allowed ? cJSON_True : cJSON_False,
                      NULL);
    if (!verdict->allowed) {
        cJSON *status = ig_json_nodes_add(&nodes, response, "status", cJSON_Object, NULL);
        ig_json_nodes_add(&nodes, status, "status", cJSON_String, "Failure");
        ig_json_nodes_add(&nodes, status, "message", cJSON_String, verdict->message);
        ig_json_nodes_add(&nodes, status, "reason", cJSON_String, "Forbidden");
        ig_json_nodes_add(&nodes, status, "code", cJSON_Raw, "403");
    }
    char *encoded_patch = NULL;
    if (verdict->patch && cJSON_GetArraySize(verdict->patch) > 0) {
        char *patch = cJSON_PrintUnformatted(verdict->patch);
        if (!patch)
            return NULL;
        encoded_patch = ig_base64_encode((const unsigned char *)patch, strlen(patch));
        cJSON_free(patch);
        if (!encoded_patch)
            return NULL;
        ig_json_nodes_add(&nodes, response, "patchType", cJSON_String, "JSONPatch");
        ig_json_nodes_add(&nodes, response, "patch", cJSON_String, encoded_patch);
    }
    if (verdict->warnings.count > 0) {
        cJSON *warnings = ig_json_nodes_add(&nodes, response, "warnings", cJSON_Array, NULL);
        for (size_t i = 0; i < verdict->warnings.count; i++)
            ig_json_nodes_add(&nodes, warnings, NULL, cJSON_String, verdict->warnings.text[i]);
    }
    if (strcmp(verdict->violation, "compliant") != 0) {
        /* The apiserver stores this as <webhook-name>/violation in the audit event. */
        cJSON *annotations =
            ig_json_nodes_add(&nodes, response, "auditAnnotations", cJSON_Object, NULL);
        ig_json_nodes_add(&nodes, annotations, "violation", cJSON_String, verdict->violation);
    }

    char *text = print_reply(root, length);
    free(encoded_patch);
    return text;
}

static void log_decision(enum ig_webhook webhook, const struct review_request *request,
                         const struct ig_admission_config *config, enum ig_decision decision,
                         const char *reason, const char *violation, double duration_us)
{
    /* For the mutating webhook, "mode" is its action. */
    const char *mode = webhook == IG_WEBHOOK_VALIDATE ? ig_mode_name(config->mode)
                                                      : ig_mutate_action_name(config->mutate_action);
    enum ig_log_level level = decision == IG_DECISION_ERROR ? IG_LOG_WARN : IG_LOG_INFO;

    ig_log(level, request->dry_run ? "admission decision (dry run)" : "admission decision",
           IG_F_STR("uid", request->uid), IG_F_STR("webhook", ig_webhook_name(webhook)),
           IG_F_STR("operation", request->operation), IG_F_STR("group", request->group),
           IG_F_STR("version", request->version), IG_F_STR("kind", request->kind),
           IG_F_STR("namespace", request->namespace_), IG_F_STR("name", request->name),
           IG_F_STR("user", request->user), IG_F_STR("decision", ig_decision_name(decision)),
           IG_F_STR("mode", mode), IG_F_STR("reason", reason),
           IG_F_STR("violation", strcmp(violation, "compliant") == 0 ? NULL : violation),
           IG_F_BOOL("dry_run", request->dry_run), IG_F_INT("duration_us", (long long)duration_us));
}

static bool fail_request(enum ig_webhook webhook, const struct review_request *request,
                         const struct ig_admission_config *config, const char *message,
                         const struct timespec *start, struct ig_admission_outcome *outcome)
{
    outcome->http_status = 400;
    outcome->decision = IG_DECISION_ERROR;
    outcome->body = ig_admission_status_body(400, "BadRequest", message);
    if (!outcome->body)
        return false;
    outcome->body_length = strlen(outcome->body);

    double duration = elapsed_us(start);
    log_decision(webhook, request, config, IG_DECISION_ERROR, message, "unknown", duration);
    ig_admission_count(webhook, IG_DECISION_ERROR, duration);
    return true;
}

/* Parse the body into the pruned tree the decision reads (see admission/scan.h). */
static cJSON *parse_body(const char *body, size_t length, char *error, size_t error_size)
{
    size_t offset = 0;
    bool too_deep = false;
    cJSON *root = ig_review_scan(body, length, &offset, &too_deep);
    if (!root && too_deep)
        snprintf(error, error_size,
                 "request body nests arrays and objects deeper than %d levels (at byte %zu); "
                 "this webhook does not accept such objects",
                 IG_SCAN_MAX_DEPTH, offset);
    else if (!root)
        snprintf(error, error_size, "request body is not valid JSON (error near byte %zu)", offset);
    return root;
}

static bool handle_review(enum ig_webhook webhook, const char *body, size_t length,
                          const struct ig_admission_config *config,
                          struct ig_admission_outcome *outcome)
{
    struct timespec start;
    struct review_request request;
    struct verdict verdict;
    char error[512] = "";
    bool ok = false;

    clock_gettime(CLOCK_MONOTONIC, &start);
    memset(outcome, 0, sizeof *outcome);
    memset(&verdict, 0, sizeof verdict);
    memset(&request, 0, sizeof request);

    cJSON *root = parse_body(body, length, error, sizeof error);
    if (!root)
        return fail_request(webhook, &request, config, error, &start, outcome);
    if (!decode_request(root, &request, error, sizeof error)) {
        ok = fail_request(webhook, &request, config, error, &start, outcome);
        goto out;
    }
    if (!decide(webhook, &request, config, &verdict, error, sizeof error))
        goto out;
    if (error[0]) {
        ok = fail_request(webhook, &request, config, error, &start, outcome);
        goto out;
    }

    outcome->body = encode_response(&request, &verdict, &outcome->body_length);
    if (!outcome->body)
        goto out;
    outcome->http_status = 200;
    outcome->decision = verdict.decision;

    double duration = elapsed_us(&start);
    log_decision(webhook, &request, config, verdict.decision, verdict.reason, verdict.violation,
                 duration);
    ig_admission_count(webhook, verdict.decision, duration);
    ok = true;

out:
    free(verdict.message);
    ig_json_delete(verdict.patch);
    ig_json_delete(root);
    return ok;
}

bool ig_admission_handle(enum ig_webhook webhook, const char *body, size_t length,
                         const struct ig_admission_config *config,
                         struct ig_admission_outcome *outcome)
{
    /* Every cJSON node of this review, the log line included, lives in the
     * thread's arena; the reply body is printed into memory from malloc. */
    ig_json_arena_begin();
    bool ok = handle_review(webhook, body, length, config, outcome);
    ig_json_arena_end();
    return ok;
}

void ig_admission_outcome_free(struct ig_admission_outcome *outcome)
{
    if (!outcome)
        return;
    free(outcome->body);
    outcome->body = NULL;
    outcome->body_length = 0;
}

char *ig_admission_status_body(int code, const char *reason, const char *message)
{
    /* Messages quote what the client sent (a path, a Content-Type), which
     * may be any bytes: the body must stay valid UTF-8. */
    char clean[1024];
    ig_text_sanitize(message, clean, sizeof clean);
    message = clean;
    cJSON *status = cJSON_CreateObject();
    bool ok = status && ig_json_add_string_ref(status, "kind", "Status") &&
              ig_json_add_string_ref(status, "apiVersion", "v1") &&
              cJSON_AddObjectToObject(status, "metadata") &&
              ig_json_add_string_ref(status, "status", "Failure") &&
              ig_json_add_string_ref(status, "message", message) &&
              ig_json_add_string_ref(status, "reason", reason) &&
              ig_json_add_int(status, "code", code);
    size_t length = 0;
    char *text = ok ? print_reply(status, &length) : NULL;
    ig_json_delete(status);
    return text;
}
