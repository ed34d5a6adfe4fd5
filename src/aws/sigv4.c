#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/buffer.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

/* One canonical header: lower-case name and the trimmed value. Repeats of a
 * name are joined later, in the order they were given. */
struct canonical_header {
    char *name;
    char *value;
    size_t order;
};

/* One query parameter, both parts already SigV4-encoded. */
struct query_pair {
    char *name;
    char *value;
};

static void hex_encode(const unsigned char *bytes, size_t length, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 0x0f];
    }
    out[2 * length] = '\0';
}

void ig_sigv4_hex_sha256(const void *data, size_t length, char out[IG_SIGV4_HEX_SHA256_SIZE])
{
    unsigned char digest[32];
    unsigned int digest_length = 0;
    if (!EVP_Digest(data, length, digest, &digest_length, EVP_sha256(), NULL) || digest_length != 32) {
        out[0] = '\0';
        return;
    }
    hex_encode(digest, sizeof digest, out);
}

static int hmac_sha256(const void *key, size_t key_length, const void *data, size_t length,
                       unsigned char out[32])
{
    unsigned int out_length = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_length, data, length, out, &out_length) || out_length != 32)
        return -1;
    return 0;
}

int ig_sigv4_signing_key(const char *secret_access_key, const char *date, const char *region,
                         const char *service, unsigned char key[32])
{
    struct ig_aws_buffer secret = {0};
    ig_aws_buffer_append_str(&secret, "AWS4");
    ig_aws_buffer_append_str(&secret, secret_access_key);
    if (secret.failed) {
        ig_aws_buffer_wipe(&secret);
        return -1;
    }
    unsigned char k_date[32], k_region[32], k_service[32];
    int rc = -1;
    if (hmac_sha256(secret.data, secret.length, date, strlen(date), k_date) != 0)
        goto cleanup;
    if (hmac_sha256(k_date, 32, region, strlen(region), k_region) != 0)
        goto cleanup;
    if (hmac_sha256(k_region, 32, service, strlen(service), k_service) != 0)
        goto cleanup;
    if (hmac_sha256(k_service, 32, "aws4_request", strlen("aws4_request"), key) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    OPENSSL_cleanse(k_date, sizeof k_date);
    OPENSSL_cleanse(k_region, sizeof k_region);
    OPENSSL_cleanse(k_service, sizeof k_service);
    ig_aws_buffer_wipe(&secret);
    return rc;
}

void ig_sigv4_key_cache_clear(struct ig_sigv4_key_cache *cache)
{
    if (cache)
        OPENSSL_cleanse(cache, sizeof *cache);
}

/* Derive the signing key, or copy it from the cache when day, region,
 * service and secret match, then update the cache. */
static int cached_signing_key(const struct ig_sigv4_params *params, const char *date, unsigned char key[32])
{
    struct ig_sigv4_key_cache *cache = params->key_cache;
    if (!cache)
        return ig_sigv4_signing_key(params->secret_access_key, date, params->region, params->service, key);
    unsigned char secret_sha256[32];
    unsigned int length = 0;
    if (!EVP_Digest(params->secret_access_key, strlen(params->secret_access_key), secret_sha256, &length,
                    EVP_sha256(), NULL) ||
        length != 32)
        return -1;
    bool hit = cache->valid && strcmp(cache->date, date) == 0 && strcmp(cache->region, params->region) == 0 &&
               strcmp(cache->service, params->service) == 0 &&
               CRYPTO_memcmp(cache->secret_sha256, secret_sha256, 32) == 0;
    int rc = 0;
    if (hit) {
        memcpy(key, cache->key, 32);
    } else {
        ig_sigv4_key_cache_clear(cache);
        rc = ig_sigv4_signing_key(params->secret_access_key, date, params->region, params->service, key);
        bool fits = strlen(params->region) < sizeof cache->region && strlen(params->service) < sizeof cache->service;
        if (rc == 0 && fits) {
            memcpy(cache->date, date, sizeof cache->date);
            snprintf(cache->region, sizeof cache->region, "%s", params->region);
            snprintf(cache->service, sizeof cache->service, "%s", params->service);
            memcpy(cache->secret_sha256, secret_sha256, 32);
            memcpy(cache->key, key, 32);
            cache->valid = true;
        }
    }
    OPENSSL_cleanse(secret_sha256, sizeof secret_sha256);
    return rc;
}

int ig_sigv4_format_amz_date(time_t t, char out[IG_SIGV4_AMZ_DATE_SIZE])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    if (tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 9999)
        return -1;
    if (strftime(out, IG_SIGV4_AMZ_DATE_SIZE, "%Y%m%dT%H%M%SZ", &tm) != IG_SIGV4_AMZ_DATE_SIZE - 1)
        return -1;
    return 0;
}

/* Return a lower-case copy of a header name, or NULL when the name is empty
 * or contains a byte that cannot appear in a field name. */
static char *lower_name(const char *name)
{
    size_t length = strlen(name);
    if (length == 0)
        return NULL;
    char *out = malloc(length + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c == ':' || c >= 0x7f) {
            free(out);
            return NULL;
        }
        out[i] = (char)((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    out[length] = '\0';
    return out;
}

/* Trim the value and collapse every run of spaces, tabs and line breaks into
 * one space, also inside quotes, as SigV4 requires. */
static char *trim_value(const char *value)
{
    struct ig_aws_buffer out = {0};
    bool pending_space = false;
    for (const char *p = value; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            pending_space = out.length > 0;
            continue;
        }
        if (pending_space)
            ig_aws_buffer_append_char(&out, ' ');
        pending_space = false;
        ig_aws_buffer_append_char(&out, *p);
    }
    return ig_aws_buffer_take(&out);
}

static int compare_headers(const void *a, const void *b)
{
    const struct canonical_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int compare_pairs(const void *a, const void *b)
{
    const struct query_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static bool has_header(const struct canonical_header *headers, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(headers[i].name, name) == 0)
            return true;
    }
    return false;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode text[0..length) and append it SigV4-encoded, '/' included. */
static void append_reencoded(struct ig_aws_buffer *out, const char *text, size_t length)
{
    struct ig_aws_buffer decoded = {0};
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '%' && i + 2 < length && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            ig_aws_buffer_append_char(&decoded, (char)(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            ig_aws_buffer_append_char(&decoded, text[i]);
        }
    }
    if (decoded.failed) {
        out->failed = true;
    } else if (decoded.data) {
        ig_aws_buffer_append_uri_encoded(out, decoded.data, decoded.length, false);
    }
    ig_aws_buffer_wipe(&decoded);
}

/* Canonical query: split on '&', decode and re-encode each name and value,
 * sort by name then value, join as name=value with '&'. */
static int append_canonical_query(struct ig_aws_buffer *out, const char *query)
{
    if (!query || !*query)
        return 0;
    size_t capacity = 1;
    for (const char *p = query; *p; p++)
        capacity += *p == '&';
    struct query_pair *pairs = calloc(capacity, sizeof *pairs);
    if (!pairs)
        return -1;
    size_t count = 0;
    int rc = -1;
    const char *start = query;
    while (*start) {
        const char *end = strchr(start, '&');
        size_t length = end ? (size_t)(end - start) : strlen(start);
        if (length > 0) {
            const char *equals = memchr(start, '=', length);
            size_t name_length = equals ? (size_t)(equals - start) : length;
            struct ig_aws_buffer name = {0}, value = {0};
            append_reencoded(&name, start, name_length);
            if (equals)
                append_reencoded(&value, equals + 1, length - name_length - 1);
            pairs[count].name = ig_aws_buffer_take(&name);
            pairs[count].value = ig_aws_buffer_take(&value);
            count++;
            if (!pairs[count - 1].name || !pairs[count - 1].value)
                goto cleanup;
        }
        if (!end)
            break;
        start = end + 1;
    }
    qsort(pairs, count, sizeof *pairs, compare_pairs);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            ig_aws_buffer_append_char(out, '&');
        ig_aws_buffer_append_str(out, pairs[i].name);
        ig_aws_buffer_append_char(out, '=');
        ig_aws_buffer_append_str(out, pairs[i].value);
    }
    rc = out->failed ? -1 : 0;
cleanup:
    for (size_t i = 0; i < count; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return rc;
}

/* Canonical URI. With normalize, drop "." segments, resolve "..", and
 * collapse repeated slashes (RFC 3986 dot-segment removal); then encode every
 * byte except unreserved characters and '/' once. A path that is already
 * percent-encoded on the wire thus comes out double-encoded, as non-S3
 * services expect. */
static int append_canonical_uri(struct ig_aws_buffer *out, const char *path, bool normalize)
{
    if (!path || !*path)
        path = "/";
    if (!normalize) {
        ig_aws_buffer_append_uri_encoded(out, path, strlen(path), true);
        return out->failed ? -1 : 0;
    }
    size_t path_length = strlen(path);
    /* Segment start offsets and lengths kept on a stack. */
    size_t *starts = malloc((path_length + 1) * sizeof *starts);
    size_t *lengths = malloc((path_length + 1) * sizeof *lengths);
    if (!starts || !lengths) {
        free(starts);
        free(lengths);
        return -1;
    }
    size_t depth = 0;
    bool trailing_slash = false;
    size_t i = 0;
    while (i <= path_length) {
        size_t j = i;
        while (j < path_length && path[j] != '/')
            j++;
        size_t length = j - i;
        bool last = j >= path_length;
        if (length == 0) {
            trailing_slash = last && path_length > 0 && path[path_length - 1] == '/';
        } else if (length == 1 && path[i] == '.') {
            trailing_slash = true;
        } else if (length == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (depth > 0)
                depth--;
            trailing_slash = true;
        } else {
            starts[depth] = i;
            lengths[depth] = length;
            depth++;
            trailing_slash = false;
        }
        i = j + 1;
    }
    for (size_t k = 0; k < depth; k++) {
        ig_aws_buffer_append_char(out, '/');
        ig_aws_buffer_append_uri_encoded(out, path + starts[k], lengths[k], false);
    }
    if (depth == 0 || trailing_slash)
        ig_aws_buffer_append_char(out, '/');
    free(starts);
    free(lengths);
    return out->failed ? -1 : 0;
}

static void free_headers(struct canonical_header *headers, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(headers[i].name);
        if (headers[i].value) {
            OPENSSL_cleanse(headers[i].value, strlen(headers[i].value));
            free(headers[i].value);
        }
    }
    free(headers);
}

static int add_header(struct canonical_header *headers, size_t *count, const char *name, const char *value)
{
    headers[*count].name = lower_name(name);
    headers[*count].value = trim_value(value ? value : "");
    headers[*count].order = *count;
    (*count)++;
    return headers[*count - 1].name && headers[*count - 1].value ? 0 : -1;
}

void ig_sigv4_result_free(struct ig_sigv4_result *result)
{
    char **strings[] = {&result->canonical_request, &result->string_to_sign, &result->signed_headers,
                        &result->authorization};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (*strings[i]) {
            OPENSSL_cleanse(*strings[i], strlen(*strings[i]));
            free(*strings[i]);
            *strings[i] = NULL;
        }
    }
    OPENSSL_cleanse(result->signature, sizeof result->signature);
}

int ig_sigv4_sign(const struct ig_sigv4_request *request, const struct ig_sigv4_params *params,
                  struct ig_sigv4_result *result)
{
    memset(result, 0, sizeof *result);
    if (!request || !params || !request->method || !params->access_key_id || !params->secret_access_key ||
        !params->region || !params->service || !*params->access_key_id || !*params->region ||
        !*params->service)
        return -1;
    if (request->header_count > 0 && !request->headers)
        return -1;

    struct canonical_header *headers = calloc(request->header_count + 3, sizeof *headers);
    struct ig_aws_buffer canonical = {0}, to_sign = {0}, signed_list = {0}, authorization = {0};
    unsigned char key[32];
    unsigned char signature[32];
    size_t count = 0;
    int rc = -1;
    if (!headers)
        goto cleanup;

    for (size_t i = 0; i < request->header_count; i++) {
        if (!request->headers[i].name || add_header(headers, &count, request->headers[i].name,
                                                    request->headers[i].value) != 0)
            goto cleanup;
    }

    /* An X-Amz-Date already on the request wins, so that a caller can replay
     * a fixed time; otherwise the signing time is used. */
    const char *date_value = NULL;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(headers[i].name, "x-amz-date") == 0)
            date_value = headers[i].value;
    }
    if (date_value) {
        if (strlen(date_value) != IG_SIGV4_AMZ_DATE_SIZE - 1)
            goto cleanup;
        memcpy(result->amz_date, date_value, IG_SIGV4_AMZ_DATE_SIZE);
    } else {
        if (ig_sigv4_format_amz_date(params->timestamp, result->amz_date) != 0)
            goto cleanup;
        result->add_amz_date = true;
        if (add_header(headers, &count, "x-amz-date", result->amz_date) != 0)
            goto cleanup;
    }

    bool token = params->session_token && *params->session_token;
    if (token && !has_header(headers, count, "x-amz-security-token")) {
        result->add_security_token = true;
        if (!params->omit_session_token &&
            add_header(headers, &count, "x-amz-security-token", params->session_token) != 0)
            goto cleanup;
    }

    ig_sigv4_hex_sha256(request->body ? (const void *)request->body : (const void *)"", request->body_length,
                        result->content_sha256);
    if (!result->content_sha256[0])
        goto cleanup;
    if (params->add_content_sha256 && !has_header(headers, count, "x-amz-content-sha256") &&
        add_header(headers, &count, "x-amz-content-sha256", result->content_sha256) != 0)
        goto cleanup;

    qsort(headers, count, sizeof *headers, compare_headers);

    /* Canonical request: method, URI, query, headers, blank line, signed list, body hash. */
    ig_aws_buffer_append_str(&canonical, request->method);
    ig_aws_buffer_append_char(&canonical, '\n');
    if (append_canonical_uri(&canonical, request->path, params->normalize_path) != 0)
        goto cleanup;
    ig_aws_buffer_append_char(&canonical, '\n');
    if (append_canonical_query(&canonical, request->query) != 0)
        goto cleanup;
    ig_aws_buffer_append_char(&canonical, '\n');
    for (size_t i = 0; i < count; i++) {
        bool repeat = i > 0 && strcmp(headers[i].name, headers[i - 1].name) == 0;
        if (repeat) {
            ig_aws_buffer_append_char(&canonical, ',');
        } else {
            if (i > 0)
                ig_aws_buffer_append_char(&canonical, '\n');
            ig_aws_buffer_append_str(&canonical, headers[i].name);
            ig_aws_buffer_append_char(&canonical, ':');
            if (signed_list.length > 0)
                ig_aws_buffer_append_char(&signed_list, ';');
            ig_aws_buffer_append_str(&signed_list, headers[i].name);
        }
        ig_aws_buffer_append_str(&canonical, headers[i].value);
    }
    ig_aws_buffer_append_str(&canonical, "\n\n");
    ig_aws_buffer_append_str(&canonical, signed_list.data ? signed_list.data : "");
    ig_aws_buffer_append_char(&canonical, '\n');
    ig_aws_buffer_append_str(&canonical, result->content_sha256);
    if (canonical.failed || signed_list.failed)
        goto cleanup;

    /* String to sign: algorithm, timestamp, scope, hash of the canonical request. */
    char scope_date[9];
    memcpy(scope_date, result->amz_date, 8);
    scope_date[8] = '\0';
    char canonical_hash[IG_SIGV4_HEX_SHA256_SIZE];
    ig_sigv4_hex_sha256(canonical.data, canonical.length, canonical_hash);
    ig_aws_buffer_append_str(&to_sign, ALGORITHM "\n");
    ig_aws_buffer_append_str(&to_sign, result->amz_date);
    ig_aws_buffer_append_char(&to_sign, '\n');
    ig_aws_buffer_append_str(&to_sign, scope_date);
    ig_aws_buffer_append_char(&to_sign, '/');
    ig_aws_buffer_append_str(&to_sign, params->region);
    ig_aws_buffer_append_char(&to_sign, '/');
    ig_aws_buffer_append_str(&to_sign, params->service);
    ig_aws_buffer_append_str(&to_sign, "/aws4_request\n");
    ig_aws_buffer_append_str(&to_sign, canonical_hash);
    if (to_sign.failed)
        goto cleanup;

    if (cached_signing_key(params, scope_date, key) != 0)
        goto cleanup;
    if (hmac_sha256(key, sizeof key, to_sign.data, to_sign.length, signature) != 0)
        goto cleanup;
    hex_encode(signature, sizeof signature, result->signature);

    ig_aws_buffer_append_str(&authorization, ALGORITHM " Credential=");
    ig_aws_buffer_append_str(&authorization, params->access_key_id);
    ig_aws_buffer_append_char(&authorization, '/');
    ig_aws_buffer_append_str(&authorization, scope_date);
    ig_aws_buffer_append_char(&authorization, '/');
    ig_aws_buffer_append_str(&authorization, params->region);
    ig_aws_buffer_append_char(&authorization, '/');
    ig_aws_buffer_append_str(&authorization, params->service);
    ig_aws_buffer_append_str(&authorization, "/aws4_request, SignedHeaders=");
    ig_aws_buffer_append_str(&authorization, signed_list.data ? signed_list.data : "");
    ig_aws_buffer_append_str(&authorization, ", Signature=");
    ig_aws_buffer_append_str(&authorization, result->signature);
    if (authorization.failed)
        goto cleanup;

    result->canonical_request = ig_aws_buffer_take(&canonical);
    result->string_to_sign = ig_aws_buffer_take(&to_sign);
    result->signed_headers = ig_aws_buffer_take(&signed_list);
    result->authorization = ig_aws_buffer_take(&authorization);
    if (!result->canonical_request || !result->string_to_sign || !result->signed_headers ||
        !result->authorization)
        goto cleanup;
    rc = 0;

cleanup:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(signature, sizeof signature);
    ig_aws_buffer_wipe(&canonical);
    ig_aws_buffer_wipe(&to_sign);
    ig_aws_buffer_wipe(&signed_list);
    ig_aws_buffer_wipe(&authorization);
    if (headers)
        free_headers(headers, count);
    if (rc != 0) {
        ig_sigv4_result_free(result);
        memset(result, 0, sizeof *result);
    }
    return rc;
}
