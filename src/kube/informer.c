#include "kube/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "kube/internal.h"
#include "kube/time.h"
#include "kube/watch.h"

/* One cached object, shared by every snapshot that contains it. */
struct cached {
    atomic_int refs;
    char *key; /* "namespace/name", or "name" for cluster-scoped objects */
    char *resource_version;
    cJSON *object;
};

struct ig_kube_snapshot {
    atomic_int refs;
    bool namespaced;
    size_t count;
    struct cached **items; /* sorted by key */
};

struct ig_kube_informer {
    struct ig_kube_client *client;
    struct ig_kube_informer_options options;
    struct ig_kube_informer_handlers handlers;
    char *group;
    char *resource;
    char *namespace;
    char **versions;
    size_t version_count;

    pthread_mutex_t lock; /* guards snapshot, version, resource_version, synced, stats */
    pthread_cond_t synced_cond;
    struct ig_kube_snapshot *snapshot;
    char *version;
    char *resource_version;
    bool synced;
    struct ig_kube_informer_stats stats;

    struct ig_kube_stopper stopper;
    pthread_t thread;
    bool started;

    struct ig_counter *relists_metric;
    struct ig_counter *restart_closed_metric;
    struct ig_counter *restart_expired_metric;
    struct ig_counter *restart_error_metric;

    /* Watch-thread state. */
    struct ig_kube_status watch_error;
    bool watch_error_seen;
};

/* ---- cached objects and snapshots ------------------------------------ */

static void cached_release(struct cached *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        free(c->key);
        free(c->resource_version);
        cJSON_Delete(c->object);
        free(c);
    }
}

static const char *meta_string(const cJSON *object, const char *key)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static char *make_key(bool namespaced, const char *ns, const char *name)
{
    size_t size = (ns ? strlen(ns) : 0) + strlen(name) + 2;
    char *key = malloc(size);
    if (!key)
        return NULL;
    if (namespaced)
        snprintf(key, size, "%s/%s", ns ? ns : "", name);
    else
        snprintf(key, size, "%s", name);
    return key;
}

/* Take ownership of object. Returns NULL (object freed) when it has no name or
 * memory runs out. */
static struct cached *cached_new(bool namespaced, cJSON *object)
{
    const char *name = meta_string(object, "name");
    const char *rv = meta_string(object, "resourceVersion");
    struct cached *c = calloc(1, sizeof *c);
    if (!name || !c) {
        free(c);
        cJSON_Delete(object);
        return NULL;
    }
    c->key = make_key(namespaced, meta_string(object, "namespace"), name);
    c->resource_version = strdup(rv ? rv : "");
    if (!c->key || !c->resource_version) {
        free(c->key);
        free(c->resource_version);
        free(c);
        cJSON_Delete(object);
        return NULL;
    }
    c->object = object;
    atomic_init(&c->refs, 1);
    return c;
}

static struct ig_kube_snapshot *snapshot_alloc(bool namespaced, size_t count)
{
    struct ig_kube_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->items = count ? calloc(count, sizeof(struct cached *)) : NULL;
    if (count && !s->items) {
        free(s);
        return NULL;
    }
    s->namespaced = namespaced;
    atomic_init(&s->refs, 1);
    return s;
}

void ig_kube_snapshot_release(struct ig_kube_snapshot *snapshot)
{
    if (!snapshot || atomic_fetch_sub(&snapshot->refs, 1) != 1)
        return;
    for (size_t i = 0; i < snapshot->count; i++)
        cached_release(snapshot->items[i]);
    free(snapshot->items);
    free(snapshot);
}

size_t ig_kube_snapshot_count(const struct ig_kube_snapshot *snapshot)
{
    return snapshot->count;
}

const cJSON *ig_kube_snapshot_at(const struct ig_kube_snapshot *snapshot, size_t index)
{
    return index < snapshot->count ? snapshot->items[index]->object : NULL;
}

/* Binary search; returns the index of key, or the insertion point with *found false. */
static size_t snapshot_search(const struct ig_kube_snapshot *s, const char *key, bool *found)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(s->items[mid]->key, key);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const cJSON *ig_kube_snapshot_find(const struct ig_kube_snapshot *snapshot, const char *ns,
                                   const char *name)
{
    char *key = make_key(snapshot->namespaced, ns, name);
    if (!key)
        return NULL;
    bool found;
    size_t index = snapshot_search(snapshot, key, &found);
    free(key);
    return found ? snapshot->items[index]->object : NULL;
}

/* Copy old with item inserted or replacing the entry of the same key (remove:
 * without that entry). *previous gets a reference to the replaced or removed
 * entry. Returns NULL when out of memory. */
static struct ig_kube_snapshot *snapshot_with(const struct ig_kube_snapshot *old,
                                              struct cached *item, const char *remove_key,
                                              struct cached **previous)
{
    *previous = NULL;
    bool found;
    size_t index = snapshot_search(old, item ? item->key : remove_key, &found);
    size_t count = old->count + (item && !found ? 1 : 0) - (!item && found ? 1 : 0);
    struct ig_kube_snapshot *s = snapshot_alloc(old->namespaced, count);
    if (!s)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < old->count; i++) {
        if (i == index && !found && item)
            s->items[j++] = item;
        if (i == index && found) {
            *previous = old->items[i];
            atomic_fetch_add(&old->items[i]->refs, 1);
            if (item)
                s->items[j++] = item;
            continue;
        }
        atomic_fetch_add(&old->items[i]->refs, 1);
        s->items[j++] = old->items[i];
    }
    if (item && !found && index == old->count)
        s->items[j++] = item;
    s->count = j;
    return s;
}

static int compare_cached(const void *a, const void *b)
{
    const struct cached *const *x = a;
    const struct cached *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

/* ---- informer --------------------------------------------------------- */

static char *dup_or_null(const char *text, bool *ok)
{
    if (!text)
        return NULL;
    char *copy = strdup(text);
    if (!copy)
        *ok = false;
    return copy;
}

struct ig_kube_informer *ig_kube_informer_new(struct ig_kube_client *client,
                                              const struct ig_kube_informer_options *options,
                                              const struct ig_kube_informer_handlers *handlers)
{
    struct ig_kube_informer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return NULL;
    bool ok = true;
    inf->client = client;
    inf->options = *options;
    if (handlers)
        inf->handlers = *handlers;
    inf->group = dup_or_null(options->group ? options->group : "", &ok);
    inf->resource = dup_or_null(options->resource, &ok);
    inf->namespace = dup_or_null(options->namespace, &ok);
    inf->version = dup_or_null(options->version, &ok);
    if (options->version_count > 0) {
        inf->versions = calloc(options->version_count, sizeof *inf->versions);
        ok = ok && inf->versions;
        for (size_t i = 0; ok && i < options->version_count; i++) {
            inf->versions[i] = dup_or_null(options->versions[i], &ok);
            inf->version_count = i + 1;
        }
    }
    inf->snapshot = snapshot_alloc(options->namespaced, 0);
    if (!ok || !inf->resource || !inf->snapshot || (!inf->version && inf->version_count == 0)) {
        ig_kube_snapshot_release(inf->snapshot);
        inf->snapshot = NULL;
        ig_kube_informer_free(inf);
        return NULL;
    }
    /* Point the copied options at our own strings. */
    inf->options.group = inf->group;
    inf->options.resource = inf->resource;
    inf->options.namespace = inf->namespace;
    inf->options.version = NULL;
    inf->options.versions = NULL;
    if (inf->options.page_limit <= 0)
        inf->options.page_limit = 500;
    if (inf->options.watch_timeout <= 0)
        inf->options.watch_timeout = 300;
    if (inf->options.backoff_initial <= 0)
        inf->options.backoff_initial = 0.5;
    if (inf->options.backoff_max <= 0)
        inf->options.backoff_max = 30;

    pthread_mutex_init(&inf->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&inf->synced_cond, &attr);
    pthread_condattr_destroy(&attr);
    ig_kube_stopper_init(&inf->stopper);

    char labels[160];
    char escaped[96];
    if (!ig_metrics_escape_label(inf->resource, escaped, sizeof escaped))
        snprintf(escaped, sizeof escaped, "other");
    snprintf(labels, sizeof labels, "resource=\"%s\"", escaped);
    inf->relists_metric = ig_metrics_counter(
        "ig_kube_relists_total", "Full lists after the first one, by resource.", labels);
    const char *help = "Watch streams re-opened, by resource and reason "
                       "(closed: clean end, expired: 410, error: other failure).";
    snprintf(labels, sizeof labels, "resource=\"%s\",reason=\"closed\"", escaped);
    inf->restart_closed_metric = ig_metrics_counter("ig_kube_watch_restarts_total", help, labels);
    snprintf(labels, sizeof labels, "resource=\"%s\",reason=\"expired\"", escaped);
    inf->restart_expired_metric = ig_metrics_counter("ig_kube_watch_restarts_total", help, labels);
    snprintf(labels, sizeof labels, "resource=\"%s\",reason=\"error\"", escaped);
    inf->restart_error_metric = ig_metrics_counter("ig_kube_watch_restarts_total", help, labels);
    return inf;
}

static void *informer_main(void *arg);

int ig_kube_informer_start(struct ig_kube_informer *informer)
{
    if (pthread_create(&informer->thread, NULL, informer_main, informer) != 0)
        return -1;
    informer->started = true;
    return 0;
}

void ig_kube_informer_free(struct ig_kube_informer *informer)
{
    if (!informer)
        return;
    if (informer->started) {
        ig_kube_stopper_stop(&informer->stopper);
        pthread_join(informer->thread, NULL);
    }
    if (informer->snapshot) {
        ig_kube_snapshot_release(informer->snapshot);
        pthread_mutex_destroy(&informer->lock);
        pthread_cond_destroy(&informer->synced_cond);
        ig_kube_stopper_destroy(&informer->stopper);
    }
    ig_kube_status_clear(&informer->watch_error);
    for (size_t i = 0; i < informer->version_count; i++)
        free(informer->versions[i]);
    free(informer->versions);
    free(informer->group);
    free(informer->resource);
    free(informer->namespace);
    free(informer->version);
    free(informer->resource_version);
    free(informer);
}

bool ig_kube_informer_synced(struct ig_kube_informer *informer)
{
    pthread_mutex_lock(&informer->lock);
    bool synced = informer->synced;
    pthread_mutex_unlock(&informer->lock);
    return synced;
}

bool ig_kube_informer_wait_synced(struct ig_kube_informer *informer, double timeout_seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)timeout_seconds;
    deadline.tv_nsec += (long)((timeout_seconds - (double)(time_t)timeout_seconds) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&informer->lock);
    while (!informer->synced) {
        if (pthread_cond_timedwait(&informer->synced_cond, &informer->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool synced = informer->synced;
    pthread_mutex_unlock(&informer->lock);
    return synced;
}

static char *locked_copy(struct ig_kube_informer *informer, char *const *field)
{
    pthread_mutex_lock(&informer->lock);
    char *copy = *field ? strdup(*field) : NULL;
    pthread_mutex_unlock(&informer->lock);
    return copy;
}

char *ig_kube_informer_version(struct ig_kube_informer *informer)
{
    return locked_copy(informer, &informer->version);
}

char *ig_kube_informer_resource_version(struct ig_kube_informer *informer)
{
    return locked_copy(informer, &informer->resource_version);
}

void ig_kube_informer_stats(struct ig_kube_informer *informer, struct ig_kube_informer_stats *out)
{
    pthread_mutex_lock(&informer->lock);
    *out = informer->stats;
    pthread_mutex_unlock(&informer->lock);
}

struct ig_kube_snapshot *ig_kube_informer_snapshot(struct ig_kube_informer *informer)
{
    pthread_mutex_lock(&informer->lock);
    struct ig_kube_snapshot *s = informer->snapshot;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&informer->lock);
    return s;
}

/* Publish a new snapshot and resourceVersion; returns the old snapshot (caller releases). */
static struct ig_kube_snapshot *publish(struct ig_kube_informer *informer,
                                        struct ig_kube_snapshot *next, const char *rv)
{
    char *rv_copy = rv ? strdup(rv) : NULL;
    pthread_mutex_lock(&informer->lock);
    struct ig_kube_snapshot *old = informer->snapshot;
    if (next)
        informer->snapshot = next;
    if (rv_copy) {
        free(informer->resource_version);
        informer->resource_version = rv_copy;
    }
    pthread_mutex_unlock(&informer->lock);
    return next ? old : NULL;
}

static void set_resource_version(struct ig_kube_informer *informer, const char *rv)
{
    publish(informer, NULL, rv);
}

static void count_stat(struct ig_kube_informer *informer, unsigned long *field)
{
    pthread_mutex_lock(&informer->lock);
    (*field)++;
    pthread_mutex_unlock(&informer->lock);
}

/* ---- list ------------------------------------------------------------- */

static struct ig_kube_resource current_resource(struct ig_kube_informer *informer)
{
    struct ig_kube_resource r = {
        .group = informer->group,
        .version = informer->version,
        .resource = informer->resource,
        .namespaced = informer->options.namespaced,
    };
    return r;
}

/* Run the callbacks for the difference between two snapshots. */
static void notify_diff(struct ig_kube_informer *informer, const struct ig_kube_snapshot *old,
                        const struct ig_kube_snapshot *next)
{
    const struct ig_kube_informer_handlers *h = &informer->handlers;
    size_t i = 0, j = 0;
    while (i < old->count || j < next->count) {
        int cmp = i >= old->count    ? 1
                  : j >= next->count ? -1
                                     : strcmp(old->items[i]->key, next->items[j]->key);
        if (cmp < 0) {
            if (h->on_delete)
                h->on_delete(old->items[i]->object, h->ctx);
            i++;
        } else if (cmp > 0) {
            if (h->on_add)
                h->on_add(next->items[j]->object, h->ctx);
            j++;
        } else {
            if (strcmp(old->items[i]->resource_version, next->items[j]->resource_version) != 0 &&
                h->on_update)
                h->on_update(old->items[i]->object, next->items[j]->object, h->ctx);
            i++;
            j++;
        }
    }
}

/* List everything and replace the cache. Returns 0, or -1 (status filled). */
static int relist(struct ig_kube_informer *informer, struct ig_kube_status *status)
{
    struct ig_kube_resource r = current_resource(informer);
    struct ig_kube_list_options list_options = {.limit = informer->options.page_limit};
    cJSON *items;
    char *rv;
    if (ig_kube_list(informer->client, &r, informer->namespace, &list_options, &informer->stopper,
                     &items, &rv, status) != 0)
        return -1;

    /* Build the new snapshot without holding the lock. */
    size_t count = (size_t)cJSON_GetArraySize(items);
    struct ig_kube_snapshot *next = snapshot_alloc(informer->options.namespaced, count);
    if (!next) {
        cJSON_Delete(items);
        free(rv);
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    cJSON *item;
    while ((item = cJSON_DetachItemFromArray(items, 0))) {
        struct cached *c = cached_new(informer->options.namespaced, item);
        if (c)
            next->items[next->count++] = c;
    }
    cJSON_Delete(items);
    if (next->count > 1)
        qsort(next->items, next->count, sizeof(struct cached *), compare_cached);

    struct ig_kube_snapshot *old = publish(informer, next, rv);
    ig_info("kube informer listed", IG_F_STR("resource", informer->resource),
            IG_F_STR("version", informer->version), IG_F_INT("objects", (long long)next->count),
            IG_F_STR("resource_version", rv));
    free(rv);
    notify_diff(informer, old, next);
    ig_kube_snapshot_release(old);

    /* Synced only once the handlers have seen the first list. */
    pthread_mutex_lock(&informer->lock);
    bool first = informer->stats.lists == 0;
    informer->stats.lists++;
    informer->synced = true;
    pthread_cond_broadcast(&informer->synced_cond);
    pthread_mutex_unlock(&informer->lock);
    if (!first)
        ig_counter_add(informer->relists_metric, 1);
    return 0;
}

/* ---- watch ------------------------------------------------------------ */

static int apply_event(const char *type, const cJSON *object, void *ctx)
{
    struct ig_kube_informer *informer = ctx;
    const char *rv = meta_string(object, "resourceVersion");

    if (strcmp(type, "BOOKMARK") == 0) {
        if (rv)
            set_resource_version(informer, rv);
        count_stat(informer, &informer->stats.bookmarks);
        return 0;
    }
    if (strcmp(type, "ERROR") == 0) {
        ig_kube_status_from_json(object, 0, &informer->watch_error);
        informer->watch_error_seen = true;
        return 1;
    }
    bool deleted = strcmp(type, "DELETED") == 0;
    if (!deleted && strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0) {
        ig_warn("kube watch event of unknown type ignored", IG_F_STR("type", type),
                IG_F_STR("resource", informer->resource));
        return 0;
    }
    cJSON *copy = cJSON_Duplicate(object, true);
    struct cached *item = copy ? cached_new(informer->options.namespaced, copy) : NULL;
    if (!item) {
        ig_error("kube watch event dropped: no name or out of memory",
                 IG_F_STR("resource", informer->resource), IG_F_STR("type", type));
        return 0;
    }
    struct ig_kube_snapshot *current = ig_kube_informer_snapshot(informer);
    struct cached *previous = NULL;
    struct ig_kube_snapshot *next =
        snapshot_with(current, deleted ? NULL : item, item->key, &previous);
    ig_kube_snapshot_release(current);
    if (!next) {
        cached_release(item);
        ig_error("kube watch event dropped: out of memory", IG_F_STR("resource", informer->resource));
        return 0;
    }
    struct ig_kube_snapshot *old = publish(informer, next, rv);
    ig_kube_snapshot_release(old);
    count_stat(informer, &informer->stats.events);

    const struct ig_kube_informer_handlers *h = &informer->handlers;
    if (deleted) {
        if (h->on_delete)
            h->on_delete(previous ? previous->object : item->object, h->ctx);
        cached_release(item);
    } else if (previous) {
        if (h->on_update)
            h->on_update(previous->object, item->object, h->ctx);
    } else if (h->on_add) {
        h->on_add(item->object, h->ctx);
    }
    cached_release(previous);
    return 0;
}

/* Resolve the version to use. Returns false when stopped. */
static bool discover(struct ig_kube_informer *informer)
{
    struct ig_kube_status status = {0};
    for (int attempt = 1; !informer->version; attempt++) {
        char *version = NULL;
        if (ig_kube_discover_version(informer->client, informer->group,
                                     (const char *const *)informer->versions,
                                     informer->version_count, informer->resource,
                                     &informer->stopper, &version, &status) == 0) {
            pthread_mutex_lock(&informer->lock);
            informer->version = version;
            pthread_mutex_unlock(&informer->lock);
            ig_info("kube informer discovered the served version",
                    IG_F_STR("group", informer->group), IG_F_STR("resource", informer->resource),
                    IG_F_STR("version", version));
            break;
        }
        if (ig_kube_stopper_stopped(&informer->stopper))
            break;
        double delay = informer->options.backoff_initial * (double)(1 << (attempt < 6 ? attempt : 6));
        if (delay > informer->options.backoff_max)
            delay = informer->options.backoff_max;
        ig_warn("kube discovery failed, retrying", IG_F_STR("group", informer->group),
                IG_F_STR("resource", informer->resource), IG_F_INT("code", status.code),
                IG_F_STR("error", status.message), IG_F_DOUBLE("delay_seconds", delay));
        if (ig_kube_stopper_sleep(&informer->stopper, delay))
            break;
    }
    ig_kube_status_clear(&status);
    return informer->version != NULL;
}

static double failure_delay(struct ig_kube_informer *informer, int failures)
{
    double delay = informer->options.backoff_initial * (double)(1 << (failures < 8 ? failures : 8));
    if (delay > informer->options.backoff_max)
        delay = informer->options.backoff_max;
    return delay / 2 + ig_kube_random() * delay / 2;
}

static void *informer_main(void *arg)
{
    struct ig_kube_informer *informer = arg;
    struct ig_kube_status status = {0};
    int failures = 0;
    bool need_list = true;
    /* Set when a failed watch requested the list. A successful list then keeps
     * the failure count, so the backoff grows while every watch fails. */
    bool list_after_failure = false;

    if (!discover(informer))
        return NULL;

    while (!ig_kube_stopper_stopped(&informer->stopper)) {
        if (need_list) {
            if (relist(informer, &status) != 0) {
                if (ig_kube_stopper_stopped(&informer->stopper))
                    break;
                failures++;
                double delay = failure_delay(informer, failures);
                ig_warn("kube informer list failed, retrying",
                        IG_F_STR("resource", informer->resource), IG_F_INT("code", status.code),
                        IG_F_STR("reason", ig_kube_reason_name(status.reason)),
                        IG_F_STR("error", status.message), IG_F_DOUBLE("delay_seconds", delay));
                ig_kube_stopper_sleep(&informer->stopper, delay);
                continue;
            }
            need_list = false;
            if (!list_after_failure)
                failures = 0;
            list_after_failure = false;
        }

        char *rv = ig_kube_informer_resource_version(informer);
        struct ig_kube_resource r = current_resource(informer);
        struct ig_kube_watch_options watch_options = {
            .resource_version = rv,
            .allow_bookmarks = true,
            .timeout_seconds = informer->options.watch_timeout,
        };
        informer->watch_error_seen = false;
        ig_kube_status_clear(&informer->watch_error);
        count_stat(informer, &informer->stats.watches);
        enum ig_kube_watch_end end = ig_kube_watch(informer->client, &r, informer->namespace,
                                                   &watch_options, &informer->stopper, apply_event,
                                                   informer, &status);
        free(rv);
        if (end == IG_KUBE_WATCH_CANCELLED || ig_kube_stopper_stopped(&informer->stopper))
            break;

        const struct ig_kube_status *failure = end == IG_KUBE_WATCH_STOPPED && informer->watch_error_seen
                                                   ? &informer->watch_error
                                                   : &status;
        if (end == IG_KUBE_WATCH_CLOSED) {
            /* A normal end (timeoutSeconds or server restart): watch again from the last RV. */
            ig_counter_add(informer->restart_closed_metric, 1);
            ig_debug("kube watch closed, watching again", IG_F_STR("resource", informer->resource));
            failures = 0;
            continue;
        }
        if (failure->code == 410) {
            /* The RV is too old for the server: list again and watch from the new RV. */
            count_stat(informer, &informer->stats.expired);
            ig_counter_add(informer->restart_expired_metric, 1);
            ig_info("kube watch expired, listing again", IG_F_STR("resource", informer->resource),
                    IG_F_STR("reason", ig_kube_reason_name(failure->reason)));
            need_list = true;
            continue;
        }
        failures++;
        ig_counter_add(informer->restart_error_metric, 1);
        double delay = failure_delay(informer, failures);
        if (failure->reason == IG_KUBE_REASON_TOO_LARGE) {
            /* The events behind the stream are lost: rebuild the cache from a list. */
            need_list = true;
            list_after_failure = true;
        }
        ig_warn(need_list ? "kube watch failed, listing again" : "kube watch failed, watching again",
                IG_F_STR("resource", informer->resource), IG_F_INT("code", failure->code),
                IG_F_STR("reason", ig_kube_reason_name(failure->reason)),
                IG_F_STR("error", failure->message), IG_F_DOUBLE("delay_seconds", delay));
        if (ig_kube_stopper_sleep(&informer->stopper, delay))
            break;
    }
    ig_kube_status_clear(&status);
    return NULL;
}
