/* Events (events.k8s.io/v1) about objects, with the spam control client-go
 * applies. An identical event within the series window becomes one Event
 * with a growing series count. Each object gets a token bucket of 25 events,
 * refilled at one per 300 s, and events beyond it are dropped and counted. */
#ifndef IG_KUBE_EVENTS_H
#define IG_KUBE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"

#define IG_KUBE_EVENT_REASON_MAX 128
#define IG_KUBE_EVENT_NOTE_MAX 1024

struct ig_kube_event_limits {
    int burst;             /* events per object before rate limiting; default 25 */
    double refill_seconds; /* one more event allowed per this many seconds; default 300 */
    double series_window;  /* seconds after the first of identical events during which
                              repeats join its series; default 600 */
    size_t max_entries;    /* remembered events and objects, each; default 4096 */
};

/* ---- decision logic, without I/O ---------------------------------------- */

enum ig_kube_event_action {
    IG_KUBE_EVENT_CREATE,  /* post a new Event */
    IG_KUBE_EVENT_SERIES,  /* patch the earlier Event's series to the returned count */
    IG_KUBE_EVENT_SUPPRESS /* rate limited: send nothing */
};

struct ig_kube_event_cache;

struct ig_kube_event_cache *ig_kube_event_cache_new(const struct ig_kube_event_limits *limits);
void ig_kube_event_cache_free(struct ig_kube_event_cache *cache);

/* Decide for one event at time now (seconds, any monotonic origin). object_key
 * identifies the regarding object, event_key the whole event content. For
 * SERIES, *count is the new series count and *event_name the name of the
 * Event to patch (malloc'd, caller frees). Every decision but SUPPRESS takes
 * a token from the object's bucket. */
enum ig_kube_event_action ig_kube_event_cache_decide(struct ig_kube_event_cache *cache,
                                                     const char *object_key,
                                                     const char *event_key, double now,
                                                     int *count, char **event_name);

/* Record that an Event named event_name was created for event_key at now. */
void ig_kube_event_cache_created(struct ig_kube_event_cache *cache, const char *event_key,
                                 const char *event_name, double now);

/* Forget event_key, so the next identical event creates a new Event (used when
 * the earlier one has expired on the server). */
void ig_kube_event_cache_forget(struct ig_kube_event_cache *cache, const char *event_key);

/* Cut text to at most max bytes without splitting a UTF-8 sequence. Returns a
 * malloc'd copy or NULL when out of memory. */
char *ig_kube_truncate_utf8(const char *text, size_t max);

/* ---- recorder ------------------------------------------------------------ */

struct ig_kube_object_ref {
    const char *api_version;
    const char *kind;
    const char *namespace;
    const char *name;
    const char *uid;
    const char *resource_version;
};

enum ig_kube_event_type { IG_KUBE_EVENT_NORMAL, IG_KUBE_EVENT_WARNING };

struct ig_kube_event_recorder_options {
    const char *controller; /* reportingController, a qualified name */
    const char *instance;   /* reportingInstance, at most 128 characters */
    struct ig_kube_event_limits limits;
};

struct ig_kube_event_recorder;

struct ig_kube_event_recorder *
ig_kube_event_recorder_new(struct ig_kube_client *client,
                           const struct ig_kube_event_recorder_options *options);
void ig_kube_event_recorder_free(struct ig_kube_event_recorder *recorder);

/* Record an event on regarding. reason is cut to 128 characters and note to
 * 1024 bytes. Writes go through the client's write guard. Returns 0 when an
 * Event was created or its series updated, 1 when rate limited, -1 when the
 * API call failed (status filled when not NULL). */
int ig_kube_event_emit(struct ig_kube_event_recorder *recorder,
                       const struct ig_kube_object_ref *regarding, enum ig_kube_event_type type,
                       const char *reason, const char *action, const char *note,
                       struct ig_kube_status *status);

#endif
