/* libFuzzer target: the Kubernetes watch-stream splitter.
 *
 * Byte 0 sets a chunk size; the rest is the stream. The stream is fed once
 * whole and once in chunks of that size, and both runs must deliver the
 * same events (type and printed object) and end with the same status and
 * the same pending byte count. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/watch.h"

#define MAX_EVENT_BYTES (256 * 1024)
#define DIGEST_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A running record of the delivered events, compared between the two runs. */
struct event_log {
    size_t count;
    size_t used;
    char text[DIGEST_BYTES];
};

static void expect(bool condition, const char *description)
{
    if (!condition) {
        fprintf(stderr, "watch fuzz check failed: %s\n", description);
        abort();
    }
}

static void append(struct event_log *log, const char *text)
{
    size_t length = strlen(text);
    if (length > sizeof log->text - log->used - 1)
        length = sizeof log->text - log->used - 1;
    memcpy(log->text + log->used, text, length);
    log->used += length;
    log->text[log->used] = '\0';
}

static int record_event(const char *type, const cJSON *object, void *context)
{
    struct event_log *log = context;
    expect(type != NULL, "every event has a type");
    log->count++;
    append(log, type);
    append(log, "|");
    char *printed = object ? cJSON_PrintUnformatted(object) : NULL;
    append(log, printed ? printed : "(null)");
    append(log, "\n");
    cJSON_free(printed);
    return 0;
}

/* Feed the stream in chunks of chunk bytes; returns the first non-zero status. */
static int feed(const char *stream, size_t length, size_t chunk, struct event_log *log,
                size_t *pending)
{
    struct ig_kube_watch_parser parser;
    int status = 0;
    ig_kube_watch_parser_init(&parser, MAX_EVENT_BYTES);
    for (size_t offset = 0; offset < length && status == 0; offset += chunk) {
        size_t piece = length - offset < chunk ? length - offset : chunk;
        status = ig_kube_watch_parser_feed(&parser, stream + offset, piece, record_event, log);
    }
    *pending = ig_kube_watch_parser_pending(&parser);
    ig_kube_watch_parser_free(&parser);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] % 64) + 1;
    size_t length = size - 1;
    char *stream = malloc(length ? length : 1);
    struct event_log *whole = calloc(1, sizeof *whole);
    struct event_log *chunked = calloc(1, sizeof *chunked);
    if (!stream || !whole || !chunked)
        goto out;
    memcpy(stream, data + 1, length);

    size_t whole_pending = 0;
    size_t chunked_pending = 0;
    int whole_status = feed(stream, length, length ? length : 1, whole, &whole_pending);
    int chunked_status = feed(stream, length, chunk, chunked, &chunked_pending);
    expect(whole_status == chunked_status, "chunking does not change the status");
    expect(whole->count == chunked->count, "chunking does not change the event count");
    expect(strcmp(whole->text, chunked->text) == 0, "chunking does not change the events");
    if (whole_status == 0)
        expect(whole_pending == chunked_pending, "chunking does not change the pending bytes");
out:
    free(chunked);
    free(whole);
    free(stream);
    return 0;
}
