#include "aws/ssm.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define SSM_CONTENT_TYPE "application/x-amz-json-1.1"

/* Upper bound on GetParametersByPath pages: a guard against a server that
 * returns a NextToken forever. */
#define SSM_MAX_PAGES 10000

static void wipe_free(char *text)
{
    if (!text)
        return;
    OPENSSL_cleanse(text, strlen(text));
    free(text);
}

static void json_wipe(cJSON *item)
{
    for (cJSON *child = item->child; child; child = child->next)
        json_wipe(child);
    if (item->valuestring)
        OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
}

/* Wipe every string of a cJSON tree, then delete it, because replies contain values. */
static void json_wipe_delete(cJSON *item)
{
    if (!item)
        return;
    json_wipe(item);
    cJSON_Delete(item);
}

/* Print and wipe a request body built with cJSON. */
static char *print_request(cJSON *request)
{
    char *body = cJSON_PrintUnformatted(request);
    json_wipe_delete(request);
    return body;
}

void ig_ssm_parameter_clear(struct ig_ssm_parameter *parameter)
{
    if (!parameter)
        return;
    free(parameter->name);
    free(parameter->type);
    wipe_free(parameter->value);
    free(parameter->arn);
    free(parameter->data_type);
    free(parameter->selector);
    memset(parameter, 0, sizeof *parameter);
}

void ig_ssm_parameter_list_clear(struct ig_ssm_parameter_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        ig_ssm_parameter_clear(&list->items[i]);
    free(list->items);
    for (size_t i = 0; i < list->invalid_count; i++)
        free(list->invalid[i]);
    free(list->invalid);
    memset(list, 0, sizeof *list);
}

static bool copy_string_member(const cJSON *object, const char *name, bool required, char **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    *out = NULL;
    if (!item || cJSON_IsNull(item))
        return !required;
    if (!cJSON_IsString(item))
        return false;
    *out = strdup(item->valuestring);
    return *out != NULL;
}

int ig_ssm_parse_parameter(const struct cJSON *object, struct ig_ssm_parameter *out)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(object))
        return -1;
    if (!copy_string_member(object, "Name", true, &out->name) ||
        !copy_string_member(object, "Type", true, &out->type) ||
        !copy_string_member(object, "Value", true, &out->value) ||
        !copy_string_member(object, "ARN", false, &out->arn) ||
        !copy_string_member(object, "DataType", false, &out->data_type) ||
        !copy_string_member(object, "Selector", false, &out->selector))
        goto fail;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(object, "Version");
    if (!cJSON_IsNumber(version) || version->valuedouble < 0 || version->valuedouble > 9.0e15 ||
        version->valuedouble != floor(version->valuedouble))
        goto fail;
    out->version = (long long)version->valuedouble;
    /* JSON 1.1 timestamps are epoch seconds, often with a fraction or in exponent form. */
    const cJSON *modified = cJSON_GetObjectItemCaseSensitive(object, "LastModifiedDate");
    if (modified && !cJSON_IsNull(modified)) {
        if (!cJSON_IsNumber(modified) || !isfinite(modified->valuedouble))
            goto fail;
        out->last_modified = modified->valuedouble;
    }
    return 0;
fail:
    ig_ssm_parameter_clear(out);
    return -1;
}

static int list_append_parameter(struct ig_ssm_parameter_list *list, const cJSON *object)
{
    struct ig_ssm_parameter parameter;
    if (ig_ssm_parse_parameter(object, &parameter) != 0)
        return -1;
    struct ig_ssm_parameter *items = realloc(list->items, (list->count + 1) * sizeof *items);
    if (!items) {
        ig_ssm_parameter_clear(&parameter);
        return -1;
    }
    list->items = items;
    list->items[list->count++] = parameter;
    return 0;
}

static int list_append_invalid(struct ig_ssm_parameter_list *list, const char *name)
{
    char **invalid = realloc(list->invalid, (list->invalid_count + 1) * sizeof *invalid);
    if (!invalid)
        return -1;
    list->invalid = invalid;
    if (!(list->invalid[list->invalid_count] = strdup(name)))
        return -1;
    list->invalid_count++;
    return 0;
}

/* Append the Parameters and InvalidParameters of a reply object to out. */
static int parse_parameters_object(const cJSON *reply, struct ig_ssm_parameter_list *out, char **next_token,
                                   struct ig_aws_error *err)
{
    if (next_token)
        *next_token = NULL;
    if (!cJSON_IsObject(reply)) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "SSM reply is not a JSON object");
        return -1;
    }
    const cJSON *parameters = cJSON_GetObjectItemCaseSensitive(reply, "Parameters");
    if (parameters && !cJSON_IsNull(parameters) && !cJSON_IsArray(parameters)) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "SSM reply member Parameters is not an array");
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, parameters)
    {
        if (list_append_parameter(out, item) != 0) {
            ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE,
                             "SSM reply holds a Parameter without Name, Type, Value or Version, or memory ran out");
            return -1;
        }
    }
    const cJSON *invalid = cJSON_GetObjectItemCaseSensitive(reply, "InvalidParameters");
    if (invalid && !cJSON_IsNull(invalid) && !cJSON_IsArray(invalid)) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "SSM reply member InvalidParameters is not an array");
        return -1;
    }
    cJSON_ArrayForEach(item, invalid)
    {
        if (!cJSON_IsString(item) || list_append_invalid(out, item->valuestring) != 0) {
            ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "SSM reply member InvalidParameters is malformed");
            return -1;
        }
    }
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(reply, "NextToken");
    if (next_token && cJSON_IsString(token) && token->valuestring[0]) {
        if (!(*next_token = strdup(token->valuestring))) {
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory copying NextToken");
            return -1;
        }
    }
    return 0;
}

int ig_ssm_parse_parameters_reply(const char *json, size_t length, struct ig_ssm_parameter_list *out,
                                  char **next_token, struct ig_aws_error *err)
{
    cJSON *reply = cJSON_ParseWithLength(json, length);
    int rc = parse_parameters_object(reply, out, next_token, err);
    json_wipe_delete(reply);
    return rc;
}

int ig_ssm_client_init(struct ig_ssm_client *client, const struct ig_aws_client_options *options,
                       struct ig_aws_credential_provider *credentials, struct ig_aws_error *err)
{
    memset(client, 0, sizeof *client);
    if (!credentials) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "the SSM client needs a credential provider");
        return -1;
    }
    client->credentials = credentials;
    return ig_aws_client_init(&client->base, "ssm", options, err);
}

void ig_ssm_client_cleanup(struct ig_ssm_client *client)
{
    if (client)
        ig_aws_client_cleanup(&client->base);
}

/* POST one SSM operation with a JSON body. Returns the parsed reply, or NULL with err set. */
static cJSON *ssm_call(struct ig_ssm_client *client, const char *operation, cJSON *request,
                       struct ig_aws_error *err)
{
    char target[64];
    snprintf(target, sizeof target, "AmazonSSM.%s", operation);
    char *body = print_request(request);
    if (!body) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the %s request", operation);
        return NULL;
    }
    struct ig_sigv4_header headers[] = {{"Content-Type", SSM_CONTENT_TYPE}, {"X-Amz-Target", target}};
    struct ig_aws_call call = {
        .operation = operation,
        .headers = headers,
        .header_count = 2,
        .body = body,
        .body_length = strlen(body),
    };
    struct ig_aws_http_response response;
    int rc = ig_aws_client_send(&client->base, client->credentials, &call, &response, err);
    wipe_free(body);
    if (rc != 0)
        return NULL;
    cJSON *reply = cJSON_ParseWithLength(response.body, response.body_length);
    ig_aws_http_response_free(&response);
    if (!cJSON_IsObject(reply)) {
        json_wipe_delete(reply);
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "%s reply is not a JSON object", operation);
        return NULL;
    }
    return reply;
}

static int parse_reply_tree(cJSON *reply, struct ig_ssm_parameter_list *out, char **next_token,
                            struct ig_aws_error *err)
{
    int rc = parse_parameters_object(reply, out, next_token, err);
    json_wipe_delete(reply);
    return rc;
}

int ig_ssm_get_parameter(struct ig_ssm_client *client, const char *name, struct ig_ssm_parameter *out,
                         struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    ig_aws_error_clear(err);
    cJSON *request = cJSON_CreateObject();
    if (!request || !cJSON_AddStringToObject(request, "Name", name) ||
        !cJSON_AddTrueToObject(request, "WithDecryption")) {
        cJSON_Delete(request);
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the GetParameter request");
        return -1;
    }
    cJSON *reply = ssm_call(client, "GetParameter", request, err);
    if (!reply) {
        ig_debug("ssm parameter read failed", IG_F_STR("name", name), IG_F_STR("error_code", err->code));
        return -1;
    }
    int rc = ig_ssm_parse_parameter(cJSON_GetObjectItemCaseSensitive(reply, "Parameter"), out);
    json_wipe_delete(reply);
    if (rc != 0) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "GetParameter reply for %.200s has no valid Parameter",
                         name);
        return -1;
    }
    ig_debug("ssm parameter read", IG_F_STR("name", out->name), IG_F_INT("version", out->version),
             IG_F_STR("type", out->type));
    return 0;
}

int ig_ssm_get_parameters(struct ig_ssm_client *client, const char *const *names, size_t count,
                          struct ig_ssm_parameter_list *out, struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    ig_aws_error_clear(err);
    for (size_t start = 0; start < count; start += IG_SSM_MAX_NAMES_PER_CALL) {
        size_t batch = count - start < IG_SSM_MAX_NAMES_PER_CALL ? count - start : IG_SSM_MAX_NAMES_PER_CALL;
        cJSON *request = cJSON_CreateObject();
        cJSON *list = request ? cJSON_AddArrayToObject(request, "Names") : NULL;
        bool ok = list != NULL;
        for (size_t i = 0; ok && i < batch; i++) {
            cJSON *name = cJSON_CreateString(names[start + i]);
            ok = name && cJSON_AddItemToArray(list, name);
            if (!ok)
                cJSON_Delete(name);
        }
        if (!ok || !cJSON_AddTrueToObject(request, "WithDecryption")) {
            cJSON_Delete(request);
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the GetParameters request");
            goto fail;
        }
        cJSON *reply = ssm_call(client, "GetParameters", request, err);
        if (!reply)
            goto fail;
        if (parse_reply_tree(reply, out, NULL, err) != 0)
            goto fail;
    }
    ig_debug("ssm parameters read", IG_F_INT("requested", (long long)count), IG_F_INT("found", (long long)out->count),
             IG_F_INT("invalid", (long long)out->invalid_count));
    return 0;
fail:
    ig_debug("ssm parameters read failed", IG_F_INT("requested", (long long)count),
             IG_F_STR("error", ig_aws_error_kind_name(err->kind)), IG_F_STR("error_code", err->code));
    ig_ssm_parameter_list_clear(out);
    return -1;
}

int ig_ssm_get_parameters_by_path(struct ig_ssm_client *client, const char *path, bool recursive,
                                  struct ig_ssm_parameter_list *out, struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    ig_aws_error_clear(err);
    char *next_token = NULL;
    int pages = 0;
    do {
        cJSON *request = cJSON_CreateObject();
        bool ok = request && cJSON_AddStringToObject(request, "Path", path) &&
                  cJSON_AddBoolToObject(request, "Recursive", recursive) &&
                  cJSON_AddTrueToObject(request, "WithDecryption") &&
                  cJSON_AddNumberToObject(request, "MaxResults", IG_SSM_MAX_NAMES_PER_CALL) &&
                  (!next_token || cJSON_AddStringToObject(request, "NextToken", next_token));
        free(next_token);
        next_token = NULL;
        if (!ok) {
            cJSON_Delete(request);
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the GetParametersByPath request");
            goto fail;
        }
        cJSON *reply = ssm_call(client, "GetParametersByPath", request, err);
        if (!reply || parse_reply_tree(reply, out, &next_token, err) != 0)
            goto fail;
        if (++pages >= SSM_MAX_PAGES && next_token) {
            ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "GetParametersByPath %.200s returned over %d pages",
                             path, SSM_MAX_PAGES);
            goto fail;
        }
    } while (next_token);
    ig_debug("ssm parameters read by path", IG_F_STR("path", path), IG_F_INT("pages", pages),
             IG_F_INT("found", (long long)out->count));
    return 0;
fail:
    free(next_token);
    ig_debug("ssm parameters read by path failed", IG_F_STR("path", path),
             IG_F_STR("error", ig_aws_error_kind_name(err->kind)), IG_F_STR("error_code", err->code));
    ig_ssm_parameter_list_clear(out);
    return -1;
}
