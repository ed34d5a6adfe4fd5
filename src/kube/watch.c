#include "kube/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "kube/internal.h"
#include "kube/time.h"

#define DEFAULT_MAX_EVENT ((size_t)16 * 1024 * 1024)
#define MAX_ERROR_BODY ((size_t)1024 * 1024)

void ig_kube_watch_parser_init(struct ig_kube_watch_parser *parser, size_t max_event)
{
    memset(parser, 0, sizeof *parser);
    parser->max_event = max_event ? max_event : DEFAULT_MAX_EVENT;
}

void ig_kube_watch_parser_free(struct ig_kube_watch_parser *parser)
{
    free(parser->buffer);
    memset(parser, 0, sizeof *parser);
}

size_t ig_kube_watch_parser_pending(const struct ig_kube_watch_parser *parser)
{
    return parser->depth > 0 ? parser->length - parser->start : 0;
}

/* Decode one complete event and hand it to the callback. */
static int deliver(const char *text, size_t length, ig_kube_watch_event_fn on_event, void *ctx)
{
    cJSON *event = cJSON_ParseWithLength(text, length);
    if (!event)
        return -1;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(event, "type");
    const cJSON *object = cJSON_GetObjectItemCaseSensitive(event, "object");
    if (!cJSON_IsString(type) || !cJSON_IsObject(object)) {
        cJSON_Delete(event);
        return -1;
    }
    int rc = on_event(type->valuestring, object, ctx);
    cJSON_Delete(event);
    return rc;
}

int ig_kube_watch_parser_feed(struct ig_kube_watch_parser *parser, const char *data,
                              size_t length, ig_kube_watch_event_fn on_event, void *ctx)
{
    size_t needed = parser->length + length + 1;
    if (needed > parser->capacity) {
        size_t cap = parser->capacity ? parser->capacity : 16384;
        while (cap < needed)
            cap *= 2;
        /* The buffer only keeps the event in progress (which the scan below
         * stops at max_event) and this chunk, so never double past their sum. */
        size_t ceiling = parser->max_event + length + 1;
        if (cap > ceiling)
            cap = needed > ceiling ? needed : ceiling;
        char *grown = realloc(parser->buffer, cap);
        if (!grown)
            return -3;
        parser->buffer = grown;
        parser->capacity = cap;
    }
    memcpy(parser->buffer + parser->length, data, length);
    parser->length += length;

    size_t consumed = 0; /* bytes before this offset are fully delivered */
    int rc = 0;
    for (size_t i = parser->scanned; i < parser->length; i++) {
        char c = parser->buffer[i];
        if (parser->depth == 0) {
            /* Between events only whitespace is expected; a '{' opens the next one. */
            if (c == '{') {
                parser->depth = 1;
                parser->start = i;
                parser->in_string = false;
                parser->escaped = false;
            } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                rc = -1;
                break;
            } else {
                consumed = i + 1;
            }
            continue;
        }
        if (parser->in_string) {
            if (parser->escaped)
                parser->escaped = false;
            else if (c == '\\')
                parser->escaped = true;
            else if (c == '"')
                parser->in_string = false;
            continue;
        }
        if (c == '"') {
            parser->in_string = true;
        } else if (c == '{' || c == '[') {
            parser->depth++;
        } else if (c == '}' || c == ']') {
            parser->depth--;
            if (parser->depth == 0) {
                rc = deliver(parser->buffer + parser->start, i + 1 - parser->start, on_event, ctx);
                consumed = i + 1;
                if (rc != 0) {
                    parser->scanned = i + 1;
                    break;
                }
            }
        }
        if (parser->depth > 0 && i + 1 - parser->start > parser->max_event) {
            rc = -2;
            break;
        }
    }
    if (rc == 0)
        parser->scanned = parser->length;
    /* The check inside the scan skips string bytes, so an event that is one
     * endless string value is caught here, at most one chunk past the limit. */
    if (rc == 0 && parser->depth > 0 && parser->length - parser->start > parser->max_event)
        rc = -2;

    /* Drop delivered bytes so the buffer only contains the event in progress. */
    if (consumed > 0) {
        memmove(parser->buffer, parser->buffer + consumed, parser->length - consumed);
        parser->length -= consumed;
        parser->scanned = parser->scanned > consumed ? parser->scanned - consumed : 0;
        parser->start = parser->start > consumed ? parser->start - consumed : 0;
    }
    return rc;
}

/* ---- streaming GET ---------------------------------------------------- */

struct watch_state {
    CURL *easy;
    struct ig_kube_watch_parser parser;
    ig_kube_watch_event_fn on_event;
    void *ctx;
    long code;
    char *error_body;
    size_t error_length;
    int parse_rc;
};

static size_t on_watch_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct watch_state *w = userdata;
    size_t n = size * nmemb;
    if (w->code == 0)
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->code);
    if (w->code != 200) {
        /* Keep the Status body of a failed watch for typing the error. */
        if (w->error_length + n > MAX_ERROR_BODY)
            return 0;
        char *grown = realloc(w->error_body, w->error_length + n + 1);
        if (!grown)
            return 0;
        w->error_body = grown;
        memcpy(w->error_body + w->error_length, ptr, n);
        w->error_length += n;
        w->error_body[w->error_length] = '\0';
        return n;
    }
    w->parse_rc = ig_kube_watch_parser_feed(&w->parser, ptr, n, w->on_event, w->ctx);
    return w->parse_rc == 0 ? n : 0;
}

static char *watch_path(const struct ig_kube_resource *resource, const char *ns,
                        const struct ig_kube_watch_options *options)
{
    char *base = ig_kube_resource_path(resource, ns, NULL, NULL);
    char *rv = options->resource_version ? ig_kube_query_escape(options->resource_version) : NULL;
    char *labels = options->label_selector ? ig_kube_query_escape(options->label_selector) : NULL;
    char *fields = options->field_selector ? ig_kube_query_escape(options->field_selector) : NULL;
    char *path = NULL;
    if (!base || (options->resource_version && !rv) || (options->label_selector && !labels) ||
        (options->field_selector && !fields))
        goto done;
    size_t size = strlen(base) + (rv ? strlen(rv) : 0) + (labels ? strlen(labels) : 0) +
                  (fields ? strlen(fields) : 0) + 160;
    path = malloc(size);
    if (!path)
        goto done;
    int n = snprintf(path, size, "%s?watch=true", base);
    if (rv && *rv)
        n += snprintf(path + n, size - (size_t)n, "&resourceVersion=%s", rv);
    if (options->allow_bookmarks)
        n += snprintf(path + n, size - (size_t)n, "&allowWatchBookmarks=true");
    if (options->timeout_seconds > 0)
        n += snprintf(path + n, size - (size_t)n, "&timeoutSeconds=%ld", options->timeout_seconds);
    if (labels)
        n += snprintf(path + n, size - (size_t)n, "&labelSelector=%s", labels);
    if (fields)
        snprintf(path + n, size - (size_t)n, "&fieldSelector=%s", fields);
done:
    free(base);
    free(rv);
    free(labels);
    free(fields);
    return path;
}

/* One streaming attempt. Returns the end state; *unauthorized_at is set to the
 * attempt's start time on a 401. */
static enum ig_kube_watch_end watch_once(struct ig_kube_client *client,
                                         const struct ig_kube_resource *resource,
                                         const char *path, struct ig_kube_stopper *cancel,
                                         const struct ig_kube_watch_options *options,
                                         ig_kube_watch_event_fn on_event, void *ctx,
                                         struct ig_kube_status *status, double *unauthorized_at)
{
    char *token = NULL;
    double token_read_at;
    if (ig_kube_client_token(client, &token, &token_read_at, status) != 0)
        return IG_KUBE_WATCH_FAILED;
    struct curl_slist *headers = NULL;
    CURL *easy = ig_kube_client_easy(client, path, token, NULL, &headers);
    if (token)
        explicit_bzero(token, strlen(token));
    free(token);
    if (!easy) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return IG_KUBE_WATCH_FAILED;
    }
    struct watch_state w = {.easy = easy, .on_event = on_event, .ctx = ctx};
    ig_kube_watch_parser_init(&w.parser, ig_kube_client_max_event_bytes(client));
    char curl_error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_watch_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &w);
    if (options->timeout_seconds > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT, options->timeout_seconds + 30L);
    if (cancel) {
        curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, ig_kube_progress_cancel);
        curl_easy_setopt(easy, CURLOPT_XFERINFODATA, cancel);
    }

    double started = ig_kube_monotonic_seconds();
    CURLcode rc = curl_easy_perform(easy);
    long code = w.code;
    if (code == 0)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    ig_kube_client_count(client, IG_KUBE_VERB_WATCH, resource->resource, rc == CURLE_OK ? code : 0);

    enum ig_kube_watch_end end;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CANCELLED, "watch cancelled");
        end = IG_KUBE_WATCH_CANCELLED;
    } else if (rc == CURLE_WRITE_ERROR && w.parse_rc > 0) {
        end = IG_KUBE_WATCH_STOPPED;
    } else if (rc == CURLE_WRITE_ERROR && w.parse_rc == -2) {
        char message[256];
        snprintf(message, sizeof message,
                 "watch event exceeds the client's limit of %zu bytes, so the stream was "
                 "aborted; check the API server or raise max_event_bytes",
                 w.parser.max_event);
        ig_kube_status_set(status, 200, IG_KUBE_REASON_TOO_LARGE, message);
        ig_kube_client_limit_exceeded(client, IG_KUBE_LIMIT_WATCH_EVENT, resource->resource,
                                      "kube watch event exceeds the size limit, stream aborted",
                                      (long long)w.parser.max_event);
        end = IG_KUBE_WATCH_FAILED;
    } else if (rc == CURLE_WRITE_ERROR && w.parse_rc < 0) {
        ig_kube_status_set(status, 200, IG_KUBE_REASON_CLIENT,
                           w.parse_rc == -3 ? "out of memory while reading a watch event"
                                            : "watch stream carries invalid JSON");
        end = IG_KUBE_WATCH_FAILED;
    } else if (code != 0 && code != 200) {
        ig_kube_status_parse(w.error_body, w.error_length, (int)code, status);
        if (code == 401)
            *unauthorized_at = started;
        end = IG_KUBE_WATCH_FAILED;
    } else if (rc != CURLE_OK) {
        char message[CURL_ERROR_SIZE + 32];
        snprintf(message, sizeof message, "%s", curl_error[0] ? curl_error : curl_easy_strerror(rc));
        ig_kube_status_set(status, 0, IG_KUBE_REASON_TRANSPORT, message);
        end = IG_KUBE_WATCH_FAILED;
    } else {
        /* A clean end. A half-received event at EOF is lost, as with client-go. */
        size_t pending = ig_kube_watch_parser_pending(&w.parser);
        if (pending > 0)
            ig_debug("kube watch ended inside an event", IG_F_STR("resource", resource->resource),
                     IG_F_INT("bytes", (long long)pending));
        end = IG_KUBE_WATCH_CLOSED;
    }
    ig_kube_watch_parser_free(&w.parser);
    free(w.error_body);
    ig_kube_client_release_easy(client, easy);
    curl_slist_free_all(headers);
    return end;
}

enum ig_kube_watch_end ig_kube_watch(struct ig_kube_client *client,
                                     const struct ig_kube_resource *resource, const char *ns,
                                     const struct ig_kube_watch_options *options,
                                     struct ig_kube_stopper *cancel,
                                     ig_kube_watch_event_fn on_event, void *ctx,
                                     struct ig_kube_status *status)
{
    ig_kube_status_clear(status);
    char *path = watch_path(resource, ns, options);
    if (!path) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return IG_KUBE_WATCH_FAILED;
    }
    double unauthorized_at = -1;
    enum ig_kube_watch_end end =
        watch_once(client, resource, path, cancel, options, on_event, ctx, status, &unauthorized_at);
    if (end == IG_KUBE_WATCH_FAILED && unauthorized_at >= 0 &&
        ig_kube_client_token_rejected(client, unauthorized_at)) {
        /* The token may have been rotated: read the file again and retry once. */
        ig_info("kube API rejected the token of a watch, re-reading the token file",
                IG_F_STR("resource", resource->resource));
        unauthorized_at = -1;
        end = watch_once(client, resource, path, cancel, options, on_event, ctx, status,
                         &unauthorized_at);
    }
    free(path);
    return end;
}
