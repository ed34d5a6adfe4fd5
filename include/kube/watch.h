/* Watch streams: a byte-level splitter for the concatenated JSON events of a
 * watch reply, and the streaming GET that feeds it. */
#ifndef IG_KUBE_WATCH_H
#define IG_KUBE_WATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"

/* Called once per complete event. type is ADDED, MODIFIED, DELETED, BOOKMARK or
 * ERROR; object is borrowed for the call. A non-zero return stops the stream. */
typedef int (*ig_kube_watch_event_fn)(const char *type, const cJSON *object, void *ctx);

/* Splits the stream into top-level JSON objects, whatever the chunk boundaries.
 * Scanning state survives between feeds, so a megabyte event costs linear time. */
struct ig_kube_watch_parser {
    char *buffer;
    size_t length;
    size_t capacity;
    size_t scanned; /* bytes of buffer already scanned */
    size_t start;   /* offset of the current object's '{' */
    int depth;
    bool in_string;
    bool escaped;
    size_t max_event; /* bytes; default 16 MiB */
};

void ig_kube_watch_parser_init(struct ig_kube_watch_parser *parser, size_t max_event);
void ig_kube_watch_parser_free(struct ig_kube_watch_parser *parser);

/* Feed bytes. Returns 0 when all complete events were delivered, the callback's
 * non-zero value when it stopped, -1 on an event that is not valid JSON or has
 * no type, -2 when an event exceeds max_event, -3 when out of memory. */
int ig_kube_watch_parser_feed(struct ig_kube_watch_parser *parser, const char *data,
                              size_t length, ig_kube_watch_event_fn on_event, void *ctx);

/* Bytes of a partly received event; a stream that ends with some is truncated. */
size_t ig_kube_watch_parser_pending(const struct ig_kube_watch_parser *parser);

struct ig_kube_watch_options {
    const char *resource_version; /* NULL or "" starts with synthetic ADDED events */
    bool allow_bookmarks;
    long timeout_seconds;         /* server-side timeoutSeconds; 0 omits it */
    const char *label_selector;
    const char *field_selector;
};

/* Outcome of ig_kube_watch. */
enum ig_kube_watch_end {
    IG_KUBE_WATCH_CLOSED,   /* the server ended the stream cleanly */
    IG_KUBE_WATCH_STOPPED,  /* the callback returned non-zero */
    IG_KUBE_WATCH_FAILED,   /* HTTP error (status filled), transport error or bad data */
    IG_KUBE_WATCH_CANCELLED /* cancel was stopped */
};

/* Open a watch and deliver events until the stream ends. */
enum ig_kube_watch_end ig_kube_watch(struct ig_kube_client *client,
                                     const struct ig_kube_resource *resource, const char *ns,
                                     const struct ig_kube_watch_options *options,
                                     struct ig_kube_stopper *cancel,
                                     ig_kube_watch_event_fn on_event, void *ctx,
                                     struct ig_kube_status *status);

#endif
