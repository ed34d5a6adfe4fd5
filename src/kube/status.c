#include "kube/status.h"

#include <stdlib.h>
#include <string.h>

struct reason_entry {
    enum ig_kube_reason reason;
    const char *text;
    int code;
};

/* Reasons and the HTTP codes kube-apiserver pairs them with
 * (k8s.io/apimachinery/pkg/apis/meta/v1 StatusReason constants). */
static const struct reason_entry reasons[] = {
    {IG_KUBE_REASON_BAD_REQUEST, "BadRequest", 400},
    {IG_KUBE_REASON_UNAUTHORIZED, "Unauthorized", 401},
    {IG_KUBE_REASON_FORBIDDEN, "Forbidden", 403},
    {IG_KUBE_REASON_NOT_FOUND, "NotFound", 404},
    {IG_KUBE_REASON_METHOD_NOT_ALLOWED, "MethodNotAllowed", 405},
    {IG_KUBE_REASON_CONFLICT, "Conflict", 409},
    {IG_KUBE_REASON_ALREADY_EXISTS, "AlreadyExists", 409},
    {IG_KUBE_REASON_GONE, "Gone", 410},
    {IG_KUBE_REASON_EXPIRED, "Expired", 410},
    {IG_KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", 415},
    {IG_KUBE_REASON_INVALID, "Invalid", 422},
    {IG_KUBE_REASON_TOO_MANY_REQUESTS, "TooManyRequests", 429},
    {IG_KUBE_REASON_INTERNAL_ERROR, "InternalError", 500},
    {IG_KUBE_REASON_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503},
    {IG_KUBE_REASON_SERVER_TIMEOUT, "ServerTimeout", 500},
    {IG_KUBE_REASON_TIMEOUT, "Timeout", 504},
    {IG_KUBE_REASON_TRANSPORT, "Transport", 0},
    {IG_KUBE_REASON_NOT_LEADER, "NotLeader", 0},
    {IG_KUBE_REASON_CANCELLED, "Cancelled", 0},
    {IG_KUBE_REASON_CLIENT, "Client", 0},
    {IG_KUBE_REASON_TOO_LARGE, "TooLarge", 0},
    {IG_KUBE_REASON_PAGINATION, "Pagination", 0},
};

enum ig_kube_reason ig_kube_reason_from_text(const char *text)
{
    if (!text)
        return IG_KUBE_REASON_UNKNOWN;
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (reasons[i].code != 0 && strcmp(reasons[i].text, text) == 0)
            return reasons[i].reason;
    }
    return IG_KUBE_REASON_UNKNOWN;
}

enum ig_kube_reason ig_kube_reason_from_code(int http_code)
{
    /* Same fallback as client-go's errors.FromObject for a Status without a reason. */
    switch (http_code) {
    case 400: return IG_KUBE_REASON_BAD_REQUEST;
    case 401: return IG_KUBE_REASON_UNAUTHORIZED;
    case 403: return IG_KUBE_REASON_FORBIDDEN;
    case 404: return IG_KUBE_REASON_NOT_FOUND;
    case 405: return IG_KUBE_REASON_METHOD_NOT_ALLOWED;
    case 409: return IG_KUBE_REASON_CONFLICT;
    case 410: return IG_KUBE_REASON_GONE;
    case 415: return IG_KUBE_REASON_UNSUPPORTED_MEDIA_TYPE;
    case 422: return IG_KUBE_REASON_INVALID;
    case 429: return IG_KUBE_REASON_TOO_MANY_REQUESTS;
    case 500: return IG_KUBE_REASON_INTERNAL_ERROR;
    case 503: return IG_KUBE_REASON_SERVICE_UNAVAILABLE;
    case 504: return IG_KUBE_REASON_TIMEOUT;
    default: return IG_KUBE_REASON_UNKNOWN;
    }
}

const char *ig_kube_reason_name(enum ig_kube_reason reason)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (reasons[i].reason == reason)
            return reasons[i].text;
    }
    return "Unknown";
}

void ig_kube_status_clear(struct ig_kube_status *status)
{
    if (!status)
        return;
    free(status->reason_text);
    free(status->message);
    free(status->name);
    free(status->kind);
    for (size_t i = 0; i < status->cause_count; i++) {
        free(status->causes[i].reason);
        free(status->causes[i].message);
        free(status->causes[i].field);
    }
    free(status->causes);
    memset(status, 0, sizeof *status);
}

void ig_kube_status_set(struct ig_kube_status *out, int code, enum ig_kube_reason reason,
                        const char *message)
{
    ig_kube_status_clear(out);
    out->code = code;
    out->reason = reason;
    out->message = message ? strdup(message) : NULL;
}

/* Copy a string member; *ok turns false only when a present string fails to copy. */
static char *copy_string(const cJSON *object, const char *key, bool *ok)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsString(item) || !item->valuestring)
        return NULL;
    char *copy = strdup(item->valuestring);
    if (!copy)
        *ok = false;
    return copy;
}

bool ig_kube_status_from_json(const cJSON *json, int http_code, struct ig_kube_status *out)
{
    bool ok = true;
    ig_kube_status_clear(out);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(json, "code");
    out->code = cJSON_IsNumber(code) && code->valueint > 0 ? code->valueint : http_code;
    out->reason_text = copy_string(json, "reason", &ok);
    out->reason = ig_kube_reason_from_text(out->reason_text);
    if (out->reason == IG_KUBE_REASON_UNKNOWN)
        out->reason = ig_kube_reason_from_code(out->code);
    out->message = copy_string(json, "message", &ok);

    const cJSON *details = cJSON_GetObjectItemCaseSensitive(json, "details");
    if (cJSON_IsObject(details)) {
        out->name = copy_string(details, "name", &ok);
        out->kind = copy_string(details, "kind", &ok);
        const cJSON *retry = cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds");
        if (cJSON_IsNumber(retry) && retry->valuedouble > 0)
            out->retry_after = retry->valuedouble;
        const cJSON *causes = cJSON_GetObjectItemCaseSensitive(details, "causes");
        int count = cJSON_IsArray(causes) ? cJSON_GetArraySize(causes) : 0;
        if (count > 0) {
            out->causes = calloc((size_t)count, sizeof *out->causes);
            if (!out->causes)
                return false;
            const cJSON *cause;
            cJSON_ArrayForEach(cause, causes)
            {
                struct ig_kube_cause *c = &out->causes[out->cause_count++];
                c->reason = copy_string(cause, "reason", &ok);
                c->message = copy_string(cause, "message", &ok);
                c->field = copy_string(cause, "field", &ok);
            }
        }
    }
    return ok;
}

bool ig_kube_status_parse(const char *body, size_t length, int http_code, struct ig_kube_status *out)
{
    cJSON *json = body && length > 0 ? cJSON_ParseWithLength(body, length) : NULL;
    bool ok;
    if (json && cJSON_IsObject(json)) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(json, "kind");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0) {
            ok = ig_kube_status_from_json(json, http_code, out);
            cJSON_Delete(json);
            return ok;
        }
    }
    cJSON_Delete(json);
    ig_kube_status_clear(out);
    out->code = http_code;
    out->reason = ig_kube_reason_from_code(http_code);
    return true;
}

bool ig_kube_status_has_cause(const struct ig_kube_status *status, const char *field,
                              const char *reason)
{
    for (size_t i = 0; i < status->cause_count; i++) {
        const struct ig_kube_cause *c = &status->causes[i];
        if (!c->field || strcmp(c->field, field) != 0)
            continue;
        if (!reason || (c->reason && strcmp(c->reason, reason) == 0))
            return true;
    }
    return false;
}
