/* Informer: a local cache of one resource kept current by list-then-watch,
 * with callbacks on add, update and delete.
 *
 * Readers take a snapshot: an immutable, sorted view that stays valid until
 * released, whatever the watch thread does meanwhile. The watch thread builds
 * each new snapshot without holding the lock and only swaps the pointer under
 * it. Snapshots share objects by reference count. */
#ifndef IG_KUBE_INFORMER_H
#define IG_KUBE_INFORMER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"

/* Callbacks run on the informer's thread, after the snapshot that contains the
 * change is published. Objects are borrowed for the call. */
struct ig_kube_informer_handlers {
    void (*on_add)(const cJSON *object, void *ctx);
    void (*on_update)(const cJSON *old_object, const cJSON *new_object, void *ctx);
    void (*on_delete)(const cJSON *object, void *ctx);
    void *ctx;
};

struct ig_kube_informer_options {
    const char *group;
    /* The version to use, or NULL to take the first of versions that the
     * cluster serves (discovery runs on the informer thread). */
    const char *version;
    const char *const *versions;
    size_t version_count;
    const char *resource;
    bool namespaced;
    const char *namespace;  /* NULL watches every namespace */
    long page_limit;        /* default 500 */
    long watch_timeout;     /* server-side timeoutSeconds; default 300 */
    double backoff_initial; /* seconds after a failed list or watch; default 0.5 */
    double backoff_max;     /* default 30 */
};

struct ig_kube_informer;
struct ig_kube_snapshot;

/* Returns NULL when out of memory. The client must outlive the informer. */
struct ig_kube_informer *ig_kube_informer_new(struct ig_kube_client *client,
                                              const struct ig_kube_informer_options *options,
                                              const struct ig_kube_informer_handlers *handlers);
/* Start the thread. Returns 0, or -1 when the thread cannot be created. */
int ig_kube_informer_start(struct ig_kube_informer *informer);
/* Stop and join the thread, then free everything. NULL is allowed. */
void ig_kube_informer_free(struct ig_kube_informer *informer);

bool ig_kube_informer_synced(struct ig_kube_informer *informer);
/* Wait until the first list is in the cache. Returns false on timeout. */
bool ig_kube_informer_wait_synced(struct ig_kube_informer *informer, double timeout_seconds);

/* Version in use (malloc'd copy), NULL before discovery has finished. */
char *ig_kube_informer_version(struct ig_kube_informer *informer);
/* Last resourceVersion seen from a list, an event or a bookmark (malloc'd copy). */
char *ig_kube_informer_resource_version(struct ig_kube_informer *informer);

struct ig_kube_informer_stats {
    unsigned long lists;          /* complete lists, the first included */
    unsigned long watches;        /* watch streams opened */
    unsigned long expired;        /* 410 replies, by HTTP status or ERROR event */
    unsigned long events;         /* ADDED, MODIFIED and DELETED applied */
    unsigned long bookmarks;
};
void ig_kube_informer_stats(struct ig_kube_informer *informer, struct ig_kube_informer_stats *out);

/* Take the current snapshot; never NULL after ig_kube_informer_new. */
struct ig_kube_snapshot *ig_kube_informer_snapshot(struct ig_kube_informer *informer);
void ig_kube_snapshot_release(struct ig_kube_snapshot *snapshot);
size_t ig_kube_snapshot_count(const struct ig_kube_snapshot *snapshot);
/* Objects in namespace/name order. */
const cJSON *ig_kube_snapshot_at(const struct ig_kube_snapshot *snapshot, size_t index);
/* ns is ignored for cluster-scoped resources. Returns NULL when absent. */
const cJSON *ig_kube_snapshot_find(const struct ig_kube_snapshot *snapshot, const char *ns,
                                   const char *name);

#endif
