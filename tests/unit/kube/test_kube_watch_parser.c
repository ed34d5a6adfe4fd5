#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/watch.h"

struct seen {
    int count;
    char types[8][16];
    char names[8][64];
};

static int record(const char *type, const cJSON *object, void *ctx)
{
    struct seen *s = ctx;
    if (s->count < 8) {
        snprintf(s->types[s->count], sizeof s->types[0], "%s", type);
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
        snprintf(s->names[s->count], sizeof s->names[0], "%s",
                 cJSON_IsString(name) ? name->valuestring : "");
    }
    s->count++;
    return 0;
}

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a{b\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"q\\\"}\"},\"data\":[1,{\"x\":2}]}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n";

Test(kube_watch_parser, whole_stream)
{
    struct ig_kube_watch_parser p;
    struct seen s = {0};
    ig_kube_watch_parser_init(&p, 0);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, stream, strlen(stream), record, &s), 0);
    cr_assert_eq(s.count, 3);
    cr_assert_str_eq(s.types[0], "ADDED");
    cr_assert_str_eq(s.names[0], "a{b");
    cr_assert_str_eq(s.names[1], "q\"}");
    cr_assert_str_eq(s.types[2], "BOOKMARK");
    cr_assert_eq(ig_kube_watch_parser_pending(&p), 0);
    ig_kube_watch_parser_free(&p);
}

Test(kube_watch_parser, every_split_point)
{
    size_t len = strlen(stream);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        struct ig_kube_watch_parser p;
        struct seen s = {0};
        ig_kube_watch_parser_init(&p, 0);
        for (size_t off = 0; off < len; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            cr_assert_eq(ig_kube_watch_parser_feed(&p, stream + off, n, record, &s), 0);
        }
        cr_assert_eq(s.count, 3, "chunk size %zu", chunk);
        cr_assert_str_eq(s.names[1], "q\"}", "chunk size %zu", chunk);
        ig_kube_watch_parser_free(&p);
    }
}

Test(kube_watch_parser, pending_partial_event)
{
    struct ig_kube_watch_parser p;
    struct seen s = {0};
    ig_kube_watch_parser_init(&p, 0);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, stream, 30, record, &s), 0);
    cr_assert_eq(s.count, 0);
    cr_assert_eq(ig_kube_watch_parser_pending(&p), 30);
    ig_kube_watch_parser_free(&p);
}

Test(kube_watch_parser, large_event)
{
    size_t size = 3 * 1024 * 1024;
    char *big = malloc(size + 128);
    cr_assert_not_null(big);
    int n = snprintf(big, 128, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"big\"},"
                               "\"data\":{\"k\":\"");
    memset(big + n, 'x', size);
    memcpy(big + n + size, "\"}}}\n", 6);
    size_t total = strlen(big);
    struct ig_kube_watch_parser p;
    struct seen s = {0};
    ig_kube_watch_parser_init(&p, 0);
    for (size_t off = 0; off < total; off += 16384) {
        size_t len = total - off < 16384 ? total - off : 16384;
        cr_assert_eq(ig_kube_watch_parser_feed(&p, big + off, len, record, &s), 0);
    }
    cr_assert_eq(s.count, 1);
    cr_assert_str_eq(s.names[0], "big");
    ig_kube_watch_parser_free(&p);
    free(big);
}

Test(kube_watch_parser, event_over_limit)
{
    struct ig_kube_watch_parser p;
    struct seen s = {0};
    ig_kube_watch_parser_init(&p, 64);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, stream + 60, strlen(stream) - 60, record, &s), -1);
    ig_kube_watch_parser_free(&p);
    ig_kube_watch_parser_init(&p, 40);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, stream, strlen(stream), record, &s), -2);
    ig_kube_watch_parser_free(&p);
}

Test(kube_watch_parser, endless_string_over_limit)
{
    /* One string value that never closes: only string bytes after the prefix. */
    const char *prefix = "{\"type\":\"ADDED\",\"object\":{\"data\":\"";
    char filler[1024];
    memset(filler, 'a', sizeof filler);
    struct ig_kube_watch_parser p;
    struct seen s = {0};
    ig_kube_watch_parser_init(&p, 16 * 1024);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, prefix, strlen(prefix), record, &s), 0);
    int rc = 0;
    int feeds = 0;
    while (rc == 0 && feeds < 100) {
        rc = ig_kube_watch_parser_feed(&p, filler, sizeof filler, record, &s);
        feeds++;
    }
    cr_assert_eq(rc, -2);
    /* Stopped within one chunk of the limit, and the buffer stayed near it. */
    cr_assert_eq(feeds, 16);
    cr_assert_leq(p.capacity, 16 * 1024 + sizeof filler + 1);
    cr_assert_eq(s.count, 0);
    ig_kube_watch_parser_free(&p);
}

Test(kube_watch_parser, rejects_event_without_type)
{
    const char *bad = "{\"object\":{}}\n";
    struct ig_kube_watch_parser p;
    struct seen s = {0};
    ig_kube_watch_parser_init(&p, 0);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, bad, strlen(bad), record, &s), -1);
    cr_assert_eq(s.count, 0);
    ig_kube_watch_parser_free(&p);
}

static int stop_after_first(const char *type, const cJSON *object, void *ctx)
{
    (void)type;
    (void)object;
    int *calls = ctx;
    (*calls)++;
    return 7;
}

Test(kube_watch_parser, callback_stops_stream)
{
    struct ig_kube_watch_parser p;
    int calls = 0;
    ig_kube_watch_parser_init(&p, 0);
    cr_assert_eq(ig_kube_watch_parser_feed(&p, stream, strlen(stream), stop_after_first, &calls), 7);
    cr_assert_eq(calls, 1);
    ig_kube_watch_parser_free(&p);
}
