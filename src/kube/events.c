#include "kube/events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "kube/time.h"

/* ---- decision logic ---------------------------------------------------- */

struct series_entry {
    char *key;
    char *name;
    double first; /* time the Event was created */
    double last_used;
    int count;
};

struct bucket_entry {
    char *key;
    double tokens;
    double updated;
};

struct ig_kube_event_cache {
    struct ig_kube_event_limits limits;
    struct series_entry *series;
    size_t series_count;
    struct bucket_entry *buckets;
    size_t bucket_count;
};

struct ig_kube_event_cache *ig_kube_event_cache_new(const struct ig_kube_event_limits *limits)
{
    struct ig_kube_event_cache *cache = calloc(1, sizeof *cache);
    if (!cache)
        return NULL;
    if (limits)
        cache->limits = *limits;
    if (cache->limits.burst <= 0)
        cache->limits.burst = 25;
    if (cache->limits.refill_seconds <= 0)
        cache->limits.refill_seconds = 300;
    if (cache->limits.series_window <= 0)
        cache->limits.series_window = 600;
    if (cache->limits.max_entries == 0)
        cache->limits.max_entries = 4096;
    cache->series = calloc(cache->limits.max_entries, sizeof *cache->series);
    cache->buckets = calloc(cache->limits.max_entries, sizeof *cache->buckets);
    if (!cache->series || !cache->buckets) {
        free(cache->series);
        free(cache->buckets);
        free(cache);
        return NULL;
    }
    return cache;
}

void ig_kube_event_cache_free(struct ig_kube_event_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < cache->series_count; i++) {
        free(cache->series[i].key);
        free(cache->series[i].name);
    }
    for (size_t i = 0; i < cache->bucket_count; i++)
        free(cache->buckets[i].key);
    free(cache->series);
    free(cache->buckets);
    free(cache);
}

static struct bucket_entry *find_bucket(struct ig_kube_event_cache *cache, const char *key,
                                        double now)
{
    for (size_t i = 0; i < cache->bucket_count; i++) {
        if (strcmp(cache->buckets[i].key, key) == 0)
            return &cache->buckets[i];
    }
    char *copy = strdup(key);
    if (!copy)
        return NULL;
    size_t slot = cache->bucket_count;
    if (slot == cache->limits.max_entries) {
        /* Full: reuse the bucket idle for longest. A forgotten object starts
         * with a full bucket again, as with client-go's LRU cache. */
        slot = 0;
        for (size_t i = 1; i < cache->bucket_count; i++) {
            if (cache->buckets[i].updated < cache->buckets[slot].updated)
                slot = i;
        }
        free(cache->buckets[slot].key);
    } else {
        cache->bucket_count++;
    }
    cache->buckets[slot] = (struct bucket_entry){copy, (double)cache->limits.burst, now};
    return &cache->buckets[slot];
}

static struct series_entry *find_series(struct ig_kube_event_cache *cache, const char *key)
{
    for (size_t i = 0; i < cache->series_count; i++) {
        if (strcmp(cache->series[i].key, key) == 0)
            return &cache->series[i];
    }
    return NULL;
}

static void remove_series(struct ig_kube_event_cache *cache, struct series_entry *entry)
{
    free(entry->key);
    free(entry->name);
    *entry = cache->series[--cache->series_count];
}

enum ig_kube_event_action ig_kube_event_cache_decide(struct ig_kube_event_cache *cache,
                                                     const char *object_key,
                                                     const char *event_key, double now,
                                                     int *count, char **event_name)
{
    *count = 1;
    *event_name = NULL;
    struct bucket_entry *bucket = find_bucket(cache, object_key, now);
    if (bucket) {
        bucket->tokens += (now - bucket->updated) / cache->limits.refill_seconds;
        if (bucket->tokens > cache->limits.burst)
            bucket->tokens = cache->limits.burst;
        bucket->updated = now;
        if (bucket->tokens < 1)
            return IG_KUBE_EVENT_SUPPRESS;
        bucket->tokens -= 1;
    }

    struct series_entry *entry = find_series(cache, event_key);
    if (entry && now - entry->first >= cache->limits.series_window) {
        remove_series(cache, entry);
        entry = NULL;
    }
    if (!entry)
        return IG_KUBE_EVENT_CREATE;
    char *name = strdup(entry->name);
    if (!name)
        return IG_KUBE_EVENT_CREATE;
    entry->count++;
    entry->last_used = now;
    *count = entry->count;
    *event_name = name;
    return IG_KUBE_EVENT_SERIES;
}

void ig_kube_event_cache_created(struct ig_kube_event_cache *cache, const char *event_key,
                                 const char *event_name, double now)
{
    struct series_entry *entry = find_series(cache, event_key);
    if (entry)
        remove_series(cache, entry);
    if (cache->series_count == cache->limits.max_entries) {
        size_t oldest = 0;
        for (size_t i = 1; i < cache->series_count; i++) {
            if (cache->series[i].last_used < cache->series[oldest].last_used)
                oldest = i;
        }
        remove_series(cache, &cache->series[oldest]);
    }
    char *key = strdup(event_key);
    char *name = strdup(event_name);
    if (!key || !name) {
        free(key);
        free(name);
        return;
    }
    struct series_entry *entry_slot = &cache->series[cache->series_count++];
    entry_slot->key = key;
    entry_slot->name = name;
    entry_slot->first = now;
    entry_slot->last_used = now;
    entry_slot->count = 1;
}

void ig_kube_event_cache_forget(struct ig_kube_event_cache *cache, const char *event_key)
{
    struct series_entry *entry = find_series(cache, event_key);
    if (entry)
        remove_series(cache, entry);
}

char *ig_kube_truncate_utf8(const char *text, size_t max)
{
    size_t len = strlen(text);
    if (len > max) {
        len = max;
        /* Step back over continuation bytes (10xxxxxx) to a sequence start. */
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    return strndup(text, len);
}

/* ---- recorder ---------------------------------------------------------- */

struct ig_kube_event_recorder {
    struct ig_kube_client *client;
    char *controller;
    char *instance;
    pthread_mutex_t lock;
    struct ig_kube_event_cache *cache;
    struct ig_counter *created_metric;
    struct ig_counter *series_metric;
    struct ig_counter *suppressed_metric;
    struct ig_counter *failed_metric;
};

struct ig_kube_event_recorder *
ig_kube_event_recorder_new(struct ig_kube_client *client,
                           const struct ig_kube_event_recorder_options *options)
{
    struct ig_kube_event_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->client = client;
    r->controller = strdup(options->controller);
    r->instance = ig_kube_truncate_utf8(options->instance, 128);
    r->cache = ig_kube_event_cache_new(&options->limits);
    if (!r->controller || !r->instance || !r->cache) {
        free(r->controller);
        free(r->instance);
        ig_kube_event_cache_free(r->cache);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    const char *help = "Kubernetes Events by result (created, series: an earlier Event's count "
                       "raised, suppressed: rate limited, failed: API error).";
    r->created_metric = ig_metrics_counter("ig_kube_events_total", help, "result=\"created\"");
    r->series_metric = ig_metrics_counter("ig_kube_events_total", help, "result=\"series\"");
    r->suppressed_metric = ig_metrics_counter("ig_kube_events_total", help, "result=\"suppressed\"");
    r->failed_metric = ig_metrics_counter("ig_kube_events_total", help, "result=\"failed\"");
    return r;
}

void ig_kube_event_recorder_free(struct ig_kube_event_recorder *recorder)
{
    if (!recorder)
        return;
    ig_kube_event_cache_free(recorder->cache);
    pthread_mutex_destroy(&recorder->lock);
    free(recorder->controller);
    free(recorder->instance);
    free(recorder);
}

static const char *or_empty(const char *text)
{
    return text ? text : "";
}

/* Join parts with a separator byte that cannot appear in names or reasons. */
static char *join_key(const char *const *parts, size_t count)
{
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen(or_empty(parts[i])) + 1;
    char *key = malloc(size);
    if (!key)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(or_empty(parts[i]));
        memcpy(key + n, or_empty(parts[i]), len);
        n += len;
        key[n++] = '\x1f';
    }
    key[n] = '\0';
    return key;
}

static cJSON *build_event(const struct ig_kube_event_recorder *r,
                          const struct ig_kube_object_ref *regarding, enum ig_kube_event_type type,
                          const char *reason, const char *action, const char *note,
                          const char *name, const char *event_time)
{
    cJSON *event = cJSON_CreateObject();
    cJSON *meta = event ? cJSON_AddObjectToObject(event, "metadata") : NULL;
    cJSON *ref = event ? cJSON_AddObjectToObject(event, "regarding") : NULL;
    bool ok = meta && ref && cJSON_AddStringToObject(event, "apiVersion", "events.k8s.io/v1") &&
              cJSON_AddStringToObject(event, "kind", "Event") &&
              cJSON_AddStringToObject(meta, "name", name) &&
              cJSON_AddStringToObject(meta, "namespace",
                                      regarding->namespace ? regarding->namespace : "default") &&
              cJSON_AddStringToObject(event, "eventTime", event_time) &&
              cJSON_AddStringToObject(event, "reportingController", r->controller) &&
              cJSON_AddStringToObject(event, "reportingInstance", r->instance) &&
              cJSON_AddStringToObject(event, "action", action) &&
              cJSON_AddStringToObject(event, "reason", reason) &&
              cJSON_AddStringToObject(event, "note", note) &&
              cJSON_AddStringToObject(event, "type",
                                      type == IG_KUBE_EVENT_WARNING ? "Warning" : "Normal");
    const char *fields[][2] = {{"apiVersion", regarding->api_version},
                               {"kind", regarding->kind},
                               {"namespace", regarding->namespace},
                               {"name", regarding->name},
                               {"uid", regarding->uid},
                               {"resourceVersion", regarding->resource_version}};
    for (size_t i = 0; ok && i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i][1])
            ok = cJSON_AddStringToObject(ref, fields[i][0], fields[i][1]) != NULL;
    }
    if (!ok) {
        cJSON_Delete(event);
        return NULL;
    }
    return event;
}

static int patch_series(struct ig_kube_event_recorder *r, const char *ns, const char *name,
                        int count, const char *now, struct ig_kube_status *status)
{
    cJSON *patch = cJSON_CreateObject();
    cJSON *series = patch ? cJSON_AddObjectToObject(patch, "series") : NULL;
    if (!series || !cJSON_AddNumberToObject(series, "count", count) ||
        !cJSON_AddStringToObject(series, "lastObservedTime", now)) {
        cJSON_Delete(patch);
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    int rc = ig_kube_merge_patch(r->client, &IG_KUBE_EVENTS, ns, name, NULL, patch, NULL, status);
    cJSON_Delete(patch);
    return rc;
}

int ig_kube_event_emit(struct ig_kube_event_recorder *recorder,
                       const struct ig_kube_object_ref *regarding, enum ig_kube_event_type type,
                       const char *reason, const char *action, const char *note,
                       struct ig_kube_status *status)
{
    struct ig_kube_status local = {0};
    if (!status)
        status = &local;
    int rc = -1;
    char *short_reason = ig_kube_truncate_utf8(or_empty(reason), IG_KUBE_EVENT_REASON_MAX);
    char *short_note = ig_kube_truncate_utf8(or_empty(note), IG_KUBE_EVENT_NOTE_MAX);
    const char *object_parts[] = {regarding->kind, regarding->namespace, regarding->name,
                                  regarding->uid};
    char *object_key = join_key(object_parts, 4);
    const char *event_parts[] = {object_key, type == IG_KUBE_EVENT_WARNING ? "W" : "N",
                                 short_reason, action, short_note};
    char *event_key = object_key ? join_key(event_parts, 5) : NULL;
    char *series_name = NULL;
    if (!short_reason || !short_note || !object_key || !event_key) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        goto done;
    }

    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    char now_text[IG_KUBE_MICROTIME_SIZE];
    ig_kube_format_microtime(&wall, now_text, sizeof now_text);
    double now = ig_kube_monotonic_seconds();
    const char *ns = regarding->namespace ? regarding->namespace : "default";

    int count;
    pthread_mutex_lock(&recorder->lock);
    enum ig_kube_event_action decision =
        ig_kube_event_cache_decide(recorder->cache, object_key, event_key, now, &count, &series_name);
    pthread_mutex_unlock(&recorder->lock);

    if (decision == IG_KUBE_EVENT_SUPPRESS) {
        ig_counter_add(recorder->suppressed_metric, 1);
        ig_debug("kube event rate limited", IG_F_STR("kind", regarding->kind),
                 IG_F_STR("namespace", ns), IG_F_STR("name", regarding->name),
                 IG_F_STR("reason", short_reason));
        rc = 1;
        goto done;
    }
    if (decision == IG_KUBE_EVENT_SERIES) {
        if (patch_series(recorder, ns, series_name, count, now_text, status) == 0) {
            ig_counter_add(recorder->series_metric, 1);
            rc = 0;
            goto done;
        }
        if (status->code != 404) {
            ig_counter_add(recorder->failed_metric, 1);
            goto done;
        }
        /* The earlier Event expired on the server: start a new one. */
        pthread_mutex_lock(&recorder->lock);
        ig_kube_event_cache_forget(recorder->cache, event_key);
        pthread_mutex_unlock(&recorder->lock);
    }

    char name[320];
    snprintf(name, sizeof name, "%.200s.%llx", or_empty(regarding->name),
             (unsigned long long)wall.tv_sec * 1000000000ULL + (unsigned long long)wall.tv_nsec);
    cJSON *event = build_event(recorder, regarding, type, short_reason, or_empty(action),
                               short_note, name, now_text);
    if (!event) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        goto done;
    }
    rc = ig_kube_create(recorder->client, &IG_KUBE_EVENTS, ns, event, NULL, status);
    cJSON_Delete(event);
    if (rc == 0) {
        pthread_mutex_lock(&recorder->lock);
        ig_kube_event_cache_created(recorder->cache, event_key, name, now);
        pthread_mutex_unlock(&recorder->lock);
        ig_counter_add(recorder->created_metric, 1);
    } else {
        ig_counter_add(recorder->failed_metric, 1);
        ig_warn("creating a kube event failed", IG_F_STR("kind", regarding->kind),
                IG_F_STR("namespace", ns), IG_F_STR("name", regarding->name),
                IG_F_STR("reason", short_reason), IG_F_INT("code", status->code),
                IG_F_STR("error", status->message));
    }
done:
    free(series_name);
    free(short_reason);
    free(short_note);
    free(object_key);
    free(event_key);
    ig_kube_status_clear(&local);
    return rc;
}
