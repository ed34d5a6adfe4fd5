#include "aws/error.h"

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *ig_aws_error_kind_name(enum ig_aws_error_kind kind)
{
    switch (kind) {
    case IG_AWS_OK:
        return "ok";
    case IG_AWS_ERR_NOT_FOUND:
        return "not_found";
    case IG_AWS_ERR_ACCESS_DENIED:
        return "access_denied";
    case IG_AWS_ERR_THROTTLED:
        return "throttled";
    case IG_AWS_ERR_CREDENTIALS:
        return "invalid_credentials";
    case IG_AWS_ERR_SIGNATURE:
        return "invalid_signature";
    case IG_AWS_ERR_SERVER:
        return "server_error";
    case IG_AWS_ERR_TRANSPORT:
        return "transport_error";
    case IG_AWS_ERR_TIMEOUT:
        return "timeout";
    case IG_AWS_ERR_INVALID_REQUEST:
        return "invalid_request";
    case IG_AWS_ERR_INVALID_RESPONSE:
        return "invalid_response";
    case IG_AWS_ERR_CONFIG:
        return "configuration_error";
    case IG_AWS_ERR_INTERNAL:
        return "internal_error";
    }
    return "unknown";
}

void ig_aws_error_clear(struct ig_aws_error *err)
{
    memset(err, 0, sizeof *err);
}

void ig_aws_error_set(struct ig_aws_error *err, enum ig_aws_error_kind kind, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    if (err) {
        err->kind = kind;
        /* args is initialized by va_start above; clang-tidy's valist check reports it anyway. */
        vsnprintf(err->message, sizeof err->message, format, args); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    }
    va_end(args);
}

static bool in_list(const char *code, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(code, list[i]) == 0)
            return true;
    }
    return false;
}

/* Throttling codes retried by the AWS SDKs' standard mode (botocore and the
 * JavaScript SDK v3 lists). */
static const char *const throttling_codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException", NULL,
};

/* Transient codes the SDKs retry like a 5xx. IDPCommunicationError comes from STS. */
static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "InternalServerError", "InternalFailure", "ServiceUnavailable",
    "IDPCommunicationError", NULL,
};

static const char *const not_found_codes[] = {
    "ParameterNotFound", "ParameterVersionNotFound", "ResourceNotFoundException", "NoSuchEntity", NULL,
};

static const char *const access_denied_codes[] = {
    "AccessDeniedException", "AccessDenied", "IDPRejectedClaim", "RegionDisabledException", NULL,
};

static const char *const credential_codes[] = {
    "ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException", "InvalidClientTokenId",
    "InvalidAccessKeyId", "MissingAuthenticationToken", "MissingAuthenticationTokenException",
    "InvalidIdentityToken", "InvalidToken", "IncompleteSignature", "IncompleteSignatureException", NULL,
};

static const char *const signature_codes[] = {
    "InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired", "RequestInTheFuture",
    "RequestTimeTooSkewed", "AuthFailure", NULL,
};

void ig_aws_error_classify(struct ig_aws_error *err, const char *code, long http_status)
{
    err->http_status = http_status;
    snprintf(err->code, sizeof err->code, "%s", code ? code : "");
    err->expired_token = false;
    const char *c = err->code;
    if (in_list(c, throttling_codes) || http_status == 429)
        err->kind = IG_AWS_ERR_THROTTLED;
    else if (in_list(c, not_found_codes))
        err->kind = IG_AWS_ERR_NOT_FOUND;
    else if (in_list(c, access_denied_codes))
        err->kind = IG_AWS_ERR_ACCESS_DENIED;
    else if (in_list(c, credential_codes))
        err->kind = IG_AWS_ERR_CREDENTIALS;
    else if (in_list(c, signature_codes))
        err->kind = IG_AWS_ERR_SIGNATURE;
    else if (in_list(c, transient_codes) || http_status >= 500)
        err->kind = IG_AWS_ERR_SERVER;
    else
        err->kind = http_status == 403 ? IG_AWS_ERR_ACCESS_DENIED : IG_AWS_ERR_INVALID_REQUEST;
    err->expired_token = strcmp(c, "ExpiredTokenException") == 0 || strcmp(c, "ExpiredToken") == 0;
}

void ig_aws_error_set_message(struct ig_aws_error *err, const char *message)
{
    if (!message) {
        err->message[0] = '\0';
        return;
    }
    /* Some AWS signature-mismatch messages echo the canonical request and the
     * string to sign, and those can contain the session token. */
    size_t length = strlen(message);
    static const char *const cuts[] = {"The Canonical String", "Canonical String", "canonical string",
                                       "The String-to-Sign", "String-to-Sign", NULL};
    for (size_t i = 0; cuts[i]; i++) {
        const char *found = strstr(message, cuts[i]);
        if (found && (size_t)(found - message) < length)
            length = (size_t)(found - message);
    }
    while (length > 0 && (message[length - 1] == ' ' || message[length - 1] == '\n'))
        length--;
    if (length >= sizeof err->message)
        length = sizeof err->message - 1;
    memcpy(err->message, message, length);
    err->message[length] = '\0';
    /* Keep the message on one printable line. */
    for (size_t i = 0; i < length; i++) {
        if ((unsigned char)err->message[i] < ' ')
            err->message[i] = ' ';
    }
}

void ig_aws_error_normalize_code(const char *raw, char *out, size_t size)
{
    if (!raw) {
        if (size)
            out[0] = '\0';
        return;
    }
    size_t length = strcspn(raw, ":");
    const char *start = raw;
    for (size_t i = 0; i < length; i++) {
        if (raw[i] == '#')
            start = raw + i + 1;
    }
    size_t n = length - (size_t)(start - raw);
    while (n > 0 && (start[0] == ' ')) {
        start++;
        n--;
    }
    while (n > 0 && start[n - 1] == ' ')
        n--;
    snprintf(out, size, "%.*s", (int)n, start);
}

/* First element with the given local name, depth first. */
static xmlNode *find_element(xmlNode *node, const char *name)
{
    for (xmlNode *n = node; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
        xmlNode *found = find_element(n->children, name);
        if (found)
            return found;
    }
    return NULL;
}

static void parse_xml_error(struct ig_aws_error *err, const char *body, size_t length, char *code, size_t code_size)
{
    xmlDoc *doc = xmlReadMemory(body, (int)length, "error.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return;
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *error = find_element(root, "Error");
    xmlNode *code_node = find_element(error ? error : root, "Code");
    xmlNode *message_node = find_element(error ? error : root, "Message");
    xmlNode *request_id = find_element(root, "RequestId");
    if (code_node) {
        xmlChar *text = xmlNodeGetContent(code_node);
        if (text)
            ig_aws_error_normalize_code((const char *)text, code, code_size);
        xmlFree(text);
    }
    if (message_node) {
        xmlChar *text = xmlNodeGetContent(message_node);
        if (text)
            ig_aws_error_set_message(err, (const char *)text);
        xmlFree(text);
    }
    if (request_id && !err->request_id[0]) {
        xmlChar *text = xmlNodeGetContent(request_id);
        if (text)
            snprintf(err->request_id, sizeof err->request_id, "%s", (const char *)text);
        xmlFree(text);
    }
    xmlFreeDoc(doc);
}

void ig_aws_error_parse_body(struct ig_aws_error *err, long http_status, const char *error_type_header,
                             const char *body, size_t length)
{
    char code[128] = "";
    err->message[0] = '\0';
    size_t start = 0;
    while (body && start < length && (body[start] == ' ' || body[start] == '\n' || body[start] == '\r'))
        start++;
    if (body && start < length && body[start] == '{') {
        cJSON *json = cJSON_ParseWithLength(body, length);
        if (json) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "__type");
            if (!cJSON_IsString(type))
                type = cJSON_GetObjectItemCaseSensitive(json, "code");
            const cJSON *message = cJSON_GetObjectItemCaseSensitive(json, "message");
            if (!cJSON_IsString(message))
                message = cJSON_GetObjectItemCaseSensitive(json, "Message");
            if (cJSON_IsString(type))
                ig_aws_error_normalize_code(type->valuestring, code, sizeof code);
            if (cJSON_IsString(message))
                ig_aws_error_set_message(err, message->valuestring);
            cJSON_Delete(json);
        }
    } else if (body && start < length && body[start] == '<') {
        parse_xml_error(err, body + start, length - start, code, sizeof code);
    }
    if (error_type_header && *error_type_header)
        ig_aws_error_normalize_code(error_type_header, code, sizeof code);
    if (!code[0])
        snprintf(code, sizeof code, "HTTP%ld", http_status);
    ig_aws_error_classify(err, code, http_status);
    if (!err->message[0])
        snprintf(err->message, sizeof err->message, "HTTP status %ld", http_status);
}
