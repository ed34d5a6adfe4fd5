#include "aws/sts.h"

#include <curl/curl.h>
#include <pthread.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/buffer.h"
#include "common/log.h"

#define STS_API_VERSION "2011-06-15"
#define STS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

int ig_aws_sts_client_init(struct ig_aws_sts_client *client, const struct ig_aws_client_options *options,
                           struct ig_aws_error *err)
{
    return ig_aws_client_init(&client->base, "sts", options, err);
}

void ig_aws_sts_client_cleanup(struct ig_aws_sts_client *client)
{
    if (client)
        ig_aws_client_cleanup(&client->base);
}

/* Read exactly count decimal digits. */
static bool read_digits(const char *text, int count, int *out)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
}

int ig_aws_parse_iso8601(const char *text, time_t *out)
{
    if (!text || strlen(text) < 20)
        return -1;
    /* YYYY-MM-DDTHH:MM:SS, then an optional fraction and the zone. */
    int year, month, day, hour, minute, second;
    if (!read_digits(text, 4, &year) || text[4] != '-' || !read_digits(text + 5, 2, &month) || text[7] != '-' ||
        !read_digits(text + 8, 2, &day) || text[10] != 'T' || !read_digits(text + 11, 2, &hour) ||
        text[13] != ':' || !read_digits(text + 14, 2, &minute) || text[16] != ':' ||
        !read_digits(text + 17, 2, &second))
        return -1;
    const char *rest = text + 19;
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return -1;
    struct tm tm = {
        .tm_year = year - 1900,
        .tm_mon = month - 1,
        .tm_mday = day,
        .tm_hour = hour,
        .tm_min = minute,
        .tm_sec = second,
    };
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t;
    return 0;
}

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

static xmlNode *find_child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    }
    return NULL;
}

/* Wipe every text node before the document is freed, because they contain the keys. */
static void wipe_text(xmlNode *node)
{
    for (xmlNode *n = node; n; n = n->next) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content &&
            n->content != (xmlChar *)&n->properties)
            OPENSSL_cleanse(n->content, strlen((const char *)n->content));
        wipe_text(n->children);
    }
}

/* libxml2 initialises itself on first use, but its author advises calling
 * xmlInitParser() once, explicitly, before threads parse. */
static pthread_once_t xml_init_once = PTHREAD_ONCE_INIT;

static void init_xml(void)
{
    xmlInitParser();
}

static char *child_text(xmlNode *parent, const char *name)
{
    xmlNode *child = find_child(parent, name);
    if (!child)
        return NULL;
    xmlChar *content = xmlNodeGetContent(child);
    if (!content)
        return NULL;
    char *copy = strdup((const char *)content);
    OPENSSL_cleanse(content, strlen((const char *)content));
    xmlFree(content);
    return copy;
}

int ig_aws_sts_parse_credentials(const char *xml, size_t length, struct ig_aws_credentials *out,
                                 struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    if (length > 1024 * 1024) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "STS reply of %zu bytes is too large", length);
        return -1;
    }
    /* NONET: no network fetches; no entity substitution (NOENT is not set);
     * NODICT keeps text out of the shared dictionary so it can be wiped. */
    pthread_once(&xml_init_once, init_xml);
    xmlDoc *doc = xmlReadMemory(xml, (int)length, "sts.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NODICT | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "STS reply is not well-formed XML");
        return -1;
    }
    int rc = -1;
    char *expiration = NULL;
    xmlNode *credentials = find_element(xmlDocGetRootElement(doc), "Credentials");
    if (!credentials) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "STS reply has no Credentials element");
        goto cleanup;
    }
    out->access_key_id = child_text(credentials, "AccessKeyId");
    out->secret_access_key = child_text(credentials, "SecretAccessKey");
    out->session_token = child_text(credentials, "SessionToken");
    expiration = child_text(credentials, "Expiration");
    if (!out->access_key_id || !*out->access_key_id || !out->secret_access_key || !*out->secret_access_key ||
        !out->session_token || !*out->session_token || !expiration) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE,
                         "STS reply lacks AccessKeyId, SecretAccessKey, SessionToken or Expiration");
        goto cleanup;
    }
    if (ig_aws_parse_iso8601(expiration, &out->expiration) != 0) {
        ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "STS Expiration '%.40s' is not an ISO 8601 UTC time",
                         expiration);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(expiration);
    if (rc != 0)
        ig_aws_credentials_clear(out);
    wipe_text(xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    return rc;
}

/* Append "&name=value" form-encoded (RFC 3986 unreserved kept). */
static void append_param(struct ig_aws_buffer *body, const char *name, const char *value)
{
    if (body->length > 0)
        ig_aws_buffer_append_char(body, '&');
    ig_aws_buffer_append_str(body, name);
    ig_aws_buffer_append_char(body, '=');
    ig_aws_buffer_append_uri_encoded(body, value, strlen(value), false);
}

static int sts_call(struct ig_aws_sts_client *client, struct ig_aws_credential_provider *caller,
                    const char *operation, const struct ig_aws_buffer *body, struct ig_aws_credentials *out,
                    struct ig_aws_error *err)
{
    struct ig_sigv4_header headers[] = {{"Content-Type", STS_CONTENT_TYPE}};
    struct ig_aws_call call = {
        .operation = operation,
        .headers = headers,
        .header_count = 1,
        .body = body->data,
        .body_length = body->length,
        .unsigned_request = caller == NULL,
    };
    struct ig_aws_http_response response;
    if (ig_aws_client_send(&client->base, caller, &call, &response, err) != 0)
        return -1;
    int rc = ig_aws_sts_parse_credentials(response.body, response.body_length, out, err);
    ig_aws_http_response_free(&response);
    if (rc == 0)
        ig_debug("aws role credentials received", IG_F_STR("operation", operation),
                 IG_F_INT("expiration", (long long)out->expiration));
    return rc;
}

int ig_aws_sts_assume_role(struct ig_aws_sts_client *client, struct ig_aws_credential_provider *caller,
                           const struct ig_aws_assume_role_options *options, struct ig_aws_credentials *out,
                           struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    ig_aws_error_clear(err);
    if (!caller) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "AssumeRole needs caller credentials");
        return -1;
    }
    struct ig_aws_buffer body = {0};
    append_param(&body, "Action", "AssumeRole");
    append_param(&body, "Version", STS_API_VERSION);
    append_param(&body, "RoleArn", options->role_arn);
    append_param(&body, "RoleSessionName", options->session_name);
    if (options->external_id && *options->external_id)
        append_param(&body, "ExternalId", options->external_id);
    if (options->duration_s > 0) {
        char duration[16];
        snprintf(duration, sizeof duration, "%d", options->duration_s);
        append_param(&body, "DurationSeconds", duration);
    }
    int rc = -1;
    if (body.failed)
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the AssumeRole request");
    else
        rc = sts_call(client, caller, "AssumeRole", &body, out, err);
    ig_aws_buffer_wipe(&body);
    return rc;
}

int ig_aws_sts_assume_role_with_web_identity(struct ig_aws_sts_client *client, const char *role_arn,
                                             const char *session_name, const char *token, int duration_s,
                                             struct ig_aws_credentials *out, struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    ig_aws_error_clear(err);
    struct ig_aws_buffer body = {0};
    append_param(&body, "Action", "AssumeRoleWithWebIdentity");
    append_param(&body, "Version", STS_API_VERSION);
    append_param(&body, "RoleArn", role_arn);
    append_param(&body, "RoleSessionName", session_name);
    append_param(&body, "WebIdentityToken", token);
    if (duration_s > 0) {
        char duration[16];
        snprintf(duration, sizeof duration, "%d", duration_s);
        append_param(&body, "DurationSeconds", duration);
    }
    int rc = -1;
    if (body.failed)
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building the AssumeRoleWithWebIdentity request");
    else
        rc = sts_call(client, NULL, "AssumeRoleWithWebIdentity", &body, out, err);
    ig_aws_buffer_wipe(&body);
    return rc;
}
