#include "aws/http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/buffer.h"

struct ig_aws_http {
    CURL *curl;
    struct ig_aws_http_options options;
    long connects;
};

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_OK;

static void global_init(void)
{
    global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct transfer {
    struct ig_aws_buffer body;
    struct ig_aws_http_response *response;
    bool too_large;
};

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    struct transfer *transfer = user;
    size_t length = size * count;
    if (transfer->body.length + length > IG_AWS_HTTP_MAX_RESPONSE_BYTES) {
        transfer->too_large = true;
        return 0;
    }
    ig_aws_buffer_append(&transfer->body, data, length);
    return transfer->body.failed ? 0 : length;
}

/* Copy the value of "Name: value\r\n" into out when the name matches. */
static void capture_header(const char *line, size_t length, const char *name, char *out, size_t size)
{
    size_t name_length = strlen(name);
    if (length <= name_length || line[name_length] != ':' || strncasecmp(line, name, name_length) != 0)
        return;
    const char *value = line + name_length + 1;
    const char *end = line + length;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - value);
    if (n >= size)
        n = size - 1;
    memcpy(out, value, n);
    out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
    struct transfer *transfer = user;
    size_t length = size * count;
    struct ig_aws_http_response *r = transfer->response;
    /* A new status line (after 100 Continue or a redirect) starts a new header block. */
    if (length >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        r->date[0] = '\0';
        r->error_type[0] = '\0';
        r->request_id[0] = '\0';
        return length;
    }
    capture_header(data, length, "Date", r->date, sizeof r->date);
    capture_header(data, length, "X-Amzn-ErrorType", r->error_type, sizeof r->error_type);
    capture_header(data, length, "x-amzn-RequestId", r->request_id, sizeof r->request_id);
    if (!r->request_id[0])
        capture_header(data, length, "x-amz-request-id", r->request_id, sizeof r->request_id);
    return length;
}

struct ig_aws_http *ig_aws_http_new(const struct ig_aws_http_options *options)
{
    pthread_once(&global_init_once, global_init);
    if (global_init_result != CURLE_OK)
        return NULL;
    struct ig_aws_http *http = calloc(1, sizeof *http);
    if (!http)
        return NULL;
    if (options)
        http->options = *options;
    if (http->options.connect_timeout_ms <= 0)
        http->options.connect_timeout_ms = IG_AWS_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    if (http->options.timeout_ms <= 0)
        http->options.timeout_ms = IG_AWS_HTTP_DEFAULT_TIMEOUT_MS;
    http->curl = curl_easy_init();
    if (!http->curl) {
        free(http);
        return NULL;
    }
    return http;
}

void ig_aws_http_free(struct ig_aws_http *http)
{
    if (!http)
        return;
    curl_easy_cleanup(http->curl);
    free(http);
}

long ig_aws_http_connect_count(const struct ig_aws_http *http)
{
    return http ? http->connects : 0;
}

void ig_aws_http_response_free(struct ig_aws_http_response *response)
{
    if (response->body) {
        OPENSSL_cleanse(response->body, response->body_length);
        free(response->body);
    }
    memset(response, 0, sizeof *response);
}

int ig_aws_http_post(struct ig_aws_http *http, const char *url, const char *const *header_lines,
                     size_t header_count, const char *body, size_t body_length,
                     struct ig_aws_http_response *response, struct ig_aws_error *err)
{
    memset(response, 0, sizeof *response);
    struct transfer transfer = {.response = response};
    struct curl_slist *headers = NULL;
    int rc = -1;
    CURL *curl = http->curl;

    for (size_t i = 0; i < header_count; i++) {
        struct curl_slist *next = curl_slist_append(headers, header_lines[i]);
        if (!next) {
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building request headers");
            goto cleanup;
        }
        headers = next;
    }
    /* libcurl would add these on its own; they are not signed, so turn them off. */
    static const char *const suppressed[] = {"Expect:", "Accept:", NULL};
    for (size_t i = 0; suppressed[i]; i++) {
        struct curl_slist *next = curl_slist_append(headers, suppressed[i]);
        if (!next) {
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory building request headers");
            goto cleanup;
        }
        headers = next;
    }

    /* Options are set on every call: curl_easy_reset is not used, so the
     * connection cache and TLS session cache of the handle survive. */
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "immutable-guard/" IG_VERSION);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, http->options.connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http->options.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (http->options.ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, http->options.ca_file);

    CURLcode code = curl_easy_perform(curl);
    long new_connects = 0;
    if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &new_connects) == CURLE_OK)
        http->connects += new_connects;
    if (code != CURLE_OK) {
        if (transfer.too_large) {
            ig_aws_error_set(err, IG_AWS_ERR_INVALID_RESPONSE, "reply larger than %u bytes",
                             IG_AWS_HTTP_MAX_RESPONSE_BYTES);
        } else if (transfer.body.failed) {
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory reading the reply");
        } else if (code == CURLE_OPERATION_TIMEDOUT) {
            ig_aws_error_set(err, IG_AWS_ERR_TIMEOUT, "request timed out (%s)", curl_easy_strerror(code));
        } else {
            ig_aws_error_set(err, IG_AWS_ERR_TRANSPORT, "request failed: %s", curl_easy_strerror(code));
        }
        goto cleanup;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    if (transfer.body.length == 0)
        ig_aws_buffer_append(&transfer.body, "", 0);
    if (transfer.body.failed) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory reading the reply");
        goto cleanup;
    }
    response->body_length = transfer.body.length;
    response->body = ig_aws_buffer_take(&transfer.body);
    rc = 0;

cleanup:
    /* Drop the header list pointer before freeing it: the handle is reused. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    /* Header lines include the Authorization header and the session token. */
    for (struct curl_slist *node = headers; node; node = node->next)
        OPENSSL_cleanse(node->data, strlen(node->data));
    curl_slist_free_all(headers);
    ig_aws_buffer_wipe(&transfer.body);
    if (rc != 0)
        memset(response, 0, sizeof *response);
    return rc;
}
