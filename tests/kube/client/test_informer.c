/* Informers, watch failures, token rotation during a watch and events,
 * against the stand-in API server. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/metrics.h"
#include "helpers.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/leader.h"

struct counts {
    pthread_mutex_t lock;
    int added;
    int updated;
    int deleted;
};

static void on_add(const cJSON *object, void *ctx)
{
    (void)object;
    struct counts *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->added++;
    pthread_mutex_unlock(&c->lock);
}

static void on_update(const cJSON *old_object, const cJSON *new_object, void *ctx)
{
    (void)old_object;
    (void)new_object;
    struct counts *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->updated++;
    pthread_mutex_unlock(&c->lock);
}

static void on_delete(const cJSON *object, void *ctx)
{
    (void)object;
    struct counts *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->deleted++;
    pthread_mutex_unlock(&c->lock);
}

static struct ig_kube_informer *secret_informer(struct ig_kube_client *client, const char *ns,
                                                long watch_timeout, struct counts *counts)
{
    static const char *const versions[] = {"v1"};
    struct ig_kube_informer_options options = {
        .group = "",
        .version = "v1",
        .versions = versions,
        .version_count = 1,
        .resource = "secrets",
        .namespaced = true,
        .namespace = ns,
        .watch_timeout = watch_timeout,
        .backoff_initial = 0.05,
        .backoff_max = 0.5,
    };
    struct ig_kube_informer_handlers handlers = {on_add, on_update, on_delete, counts};
    struct ig_kube_informer *informer = ig_kube_informer_new(client, &options, &handlers);
    cr_assert_not_null(informer);
    cr_assert_eq(ig_kube_informer_start(informer), 0);
    cr_assert(ig_kube_informer_wait_synced(informer, 10));
    return informer;
}

/* Wait until the informer's cache contains name (present) or not (absent). */
static bool wait_for(struct ig_kube_informer *informer, const char *ns, const char *name,
                     bool present, double timeout)
{
    double deadline = now_seconds() + timeout;
    while (now_seconds() < deadline) {
        struct ig_kube_snapshot *snap = ig_kube_informer_snapshot(informer);
        bool found = ig_kube_snapshot_find(snap, ns, name) != NULL;
        ig_kube_snapshot_release(snap);
        if (found == present)
            return true;
        usleep(20000);
    }
    return false;
}

static void create_secret(struct ig_kube_client *client, const char *ns, const char *name,
                          const char *value)
{
    cJSON *secret = make_secret(name, "k", value, false);
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, NULL, &st), 0, "%s",
                 st.message ? st.message : "");
    cJSON_Delete(secret);
}

static void add_fault(const char *ns, const char *action)
{
    char fault[512];
    snprintf(fault, sizeof fault, "{\"match\":{\"path_contains\":\"%s\",\"watch\":true},"
                                  "\"action\":%s}", ns, action);
    control("faults", fault);
}

Test(kube_informer, list_then_watch_callbacks)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("inf");
    create_secret(client, ns, "before", "v");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = secret_informer(client, ns, 30, &counts);
    cr_assert_eq(counts.added, 1);

    create_secret(client, ns, "after", "v");
    cr_assert(wait_for(informer, ns, "after", true, 5));
    cJSON *patch = cJSON_Parse("{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_merge_patch(client, &IG_KUBE_SECRETS, ns, "after", NULL, patch, NULL, &st), 0);
    cr_assert_eq(ig_kube_delete(client, &IG_KUBE_SECRETS, ns, "before", NULL, NULL, NULL, &st), 0);
    cr_assert(wait_for(informer, ns, "before", false, 5));
    usleep(200000);

    pthread_mutex_lock(&counts.lock);
    cr_assert_eq(counts.added, 2);
    cr_assert_eq(counts.updated, 1);
    cr_assert_eq(counts.deleted, 1);
    pthread_mutex_unlock(&counts.lock);
    struct ig_kube_snapshot *snap = ig_kube_informer_snapshot(informer);
    cr_assert_eq(ig_kube_snapshot_count(snap), 1);
    const cJSON *obj = ig_kube_snapshot_find(snap, ns, "after");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"),
                                                             "labels"), "x")->valuestring, "y");
    ig_kube_snapshot_release(snap);
    cJSON_Delete(patch);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, bookmark_advances_version_only)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("bm");
    control("settings", "{\"bookmark_interval\":0.2}");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = secret_informer(client, ns, 30, &counts);
    char *first_rv = ig_kube_informer_resource_version(informer);
    /* Changes elsewhere move the server's RV; bookmarks carry it to us. */
    create_secret(client, "default", "bookmark-mover", "v");
    struct ig_kube_informer_stats stats;
    double deadline = now_seconds() + 5;
    do {
        usleep(100000);
        ig_kube_informer_stats(informer, &stats);
    } while (stats.bookmarks < 2 && now_seconds() < deadline);
    control("settings", "{\"bookmark_interval\":0}");
    char *later_rv = ig_kube_informer_resource_version(informer);
    cr_assert_geq(stats.bookmarks, 2);
    cr_assert_str_neq(first_rv, later_rv);
    cr_assert_eq(stats.events, 0);
    cr_assert_eq(counts.added + counts.updated + counts.deleted, 0);
    free(first_rv);
    free(later_rv);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, error_event_relists)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("err410");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_counter *expired_metric = ig_metrics_counter(
        "ig_kube_watch_restarts_total", "", "resource=\"secrets\",reason=\"expired\"");
    struct ig_counter *relists_metric =
        ig_metrics_counter("ig_kube_relists_total", "", "resource=\"secrets\"");
    uint64_t expired_before = ig_counter_value(expired_metric);
    uint64_t relists_before = ig_counter_value(relists_metric);
    add_fault(ns, "{\"error_410_after\":1}");
    struct ig_kube_informer *informer = secret_informer(client, ns, 30, &counts);
    create_secret(client, ns, "a", "v");
    cr_assert(wait_for(informer, ns, "a", true, 5));
    struct ig_kube_informer_stats stats;
    double deadline = now_seconds() + 5;
    do {
        usleep(50000);
        ig_kube_informer_stats(informer, &stats);
    } while (stats.lists < 2 && now_seconds() < deadline);
    cr_assert_eq(stats.expired, 1);
    cr_assert_eq(stats.lists, 2);
    cr_assert_eq(ig_counter_value(expired_metric) - expired_before, 1);
    cr_assert_eq(ig_counter_value(relists_metric) - relists_before, 1);
    /* The relist finds "a" unchanged, so no second add. */
    create_secret(client, ns, "b", "v");
    cr_assert(wait_for(informer, ns, "b", true, 5));
    pthread_mutex_lock(&counts.lock);
    cr_assert_eq(counts.added, 2);
    pthread_mutex_unlock(&counts.lock);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, http_410_relists)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("http410");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    /* The first watch ends after 1 s; the next one gets HTTP 410. */
    struct ig_kube_informer *informer = secret_informer(client, ns, 1, &counts);
    add_fault(ns, "{\"http_410\":true}");
    struct ig_kube_informer_stats stats;
    double deadline = now_seconds() + 5;
    do {
        usleep(50000);
        ig_kube_informer_stats(informer, &stats);
    } while (stats.lists < 2 && now_seconds() < deadline);
    cr_assert_eq(stats.expired, 1);
    cr_assert_eq(stats.lists, 2);
    create_secret(client, ns, "a", "v");
    cr_assert(wait_for(informer, ns, "a", true, 5));
    cJSON *log = request_log();
    cr_assert_eq(count_requests(log, "GET", ns, 410), 1);
    cJSON_Delete(log);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, clean_close_rewatches_from_last_version)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("close");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = secret_informer(client, ns, 1, &counts);
    create_secret(client, ns, "a", "v");
    cr_assert(wait_for(informer, ns, "a", true, 5));
    usleep(2500000); /* at least two server-side timeouts of 1 s */
    create_secret(client, ns, "b", "v");
    cr_assert(wait_for(informer, ns, "b", true, 5));
    struct ig_kube_informer_stats stats;
    ig_kube_informer_stats(informer, &stats);
    cr_assert_geq(stats.watches, 3);
    cr_assert_eq(stats.lists, 1);
    pthread_mutex_lock(&counts.lock);
    cr_assert_eq(counts.added, 2);
    pthread_mutex_unlock(&counts.lock);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, half_event_at_close_refetched)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("cut");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    add_fault(ns, "{\"cut_after_events\":1}");
    struct ig_kube_informer *informer = secret_informer(client, ns, 30, &counts);
    create_secret(client, ns, "first", "v");
    create_secret(client, ns, "second", "v");
    cr_assert(wait_for(informer, ns, "second", true, 5));
    struct ig_kube_informer_stats stats;
    ig_kube_informer_stats(informer, &stats);
    cr_assert_eq(stats.lists, 1);
    cr_assert_geq(stats.watches, 2);
    cr_assert_eq(stats.events, 2);
    pthread_mutex_lock(&counts.lock);
    cr_assert_eq(counts.added, 2);
    pthread_mutex_unlock(&counts.lock);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, split_chunks_and_large_event)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("chunks");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    add_fault(ns, "{\"chunk_size\":4093}");
    struct ig_kube_informer *informer = secret_informer(client, ns, 30, &counts);
    size_t size = 1200 * 1024;
    char *value = malloc(size + 1);
    memset(value, 'z', size);
    value[size] = '\0';
    create_secret(client, ns, "big", value);
    cr_assert(wait_for(informer, ns, "big", true, 20));
    struct ig_kube_snapshot *snap = ig_kube_informer_snapshot(informer);
    const cJSON *obj = ig_kube_snapshot_find(snap, ns, "big");
    const char *data = cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "data"), "k")->valuestring;
    cr_assert_eq(strlen(data), (size + 2) / 3 * 4);
    ig_kube_snapshot_release(snap);
    struct ig_kube_informer_stats stats;
    ig_kube_informer_stats(informer, &stats);
    cr_assert_eq(stats.lists, 1);
    free(value);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, discovers_v1beta1_only_cluster)
{
    struct ig_kube_client *client = admin_client();
    control("settings", "{\"served_versions\":{\"external-secrets.io\":[\"v1beta1\"]}}");
    static const char *const versions[] = {"v1", "v1beta1"};
    struct ig_kube_informer_options options = {
        .group = "external-secrets.io",
        .versions = versions,
        .version_count = 2,
        .resource = "externalsecrets",
        .namespaced = true,
    };
    struct ig_kube_informer *informer = ig_kube_informer_new(client, &options, NULL);
    cr_assert_eq(ig_kube_informer_start(informer), 0);
    bool synced = ig_kube_informer_wait_synced(informer, 10);
    char *version = ig_kube_informer_version(informer);
    control("settings", "{\"served_versions\":{\"external-secrets.io\":[\"v1\",\"v1beta1\"]}}");
    cr_assert(synced);
    cr_assert_str_eq(version, "v1beta1");
    free(version);
    ig_kube_informer_free(informer);

    informer = ig_kube_informer_new(client, &options, NULL);
    cr_assert_eq(ig_kube_informer_start(informer), 0);
    cr_assert(ig_kube_informer_wait_synced(informer, 10));
    version = ig_kube_informer_version(informer);
    cr_assert_str_eq(version, "v1");
    free(version);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, stops_promptly_during_watch)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("stop");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = secret_informer(client, ns, 300, &counts);
    usleep(300000);
    double start = now_seconds();
    ig_kube_informer_free(informer);
    cr_assert_lt(now_seconds() - start, 2.0);
    ig_kube_client_free(client);
}

/* Kubelet-style token file: token -> ..data/token, ..data -> a timestamped folder. */
static void swap_token(const char *dir, const char *generation, const char *token)
{
    char path[512], link_tmp[512], link_path[512];
    snprintf(path, sizeof path, "%s/%s", dir, generation);
    cr_assert_eq(mkdir(path, 0700), 0);
    free(write_file(path, "token", token));
    snprintf(link_tmp, sizeof link_tmp, "%s/..data_tmp", dir);
    snprintf(link_path, sizeof link_path, "%s/..data", dir);
    unlink(link_tmp);
    cr_assert_eq(symlink(generation, link_tmp), 0);
    cr_assert_eq(rename(link_tmp, link_path), 0);
}

Test(kube_informer, token_rotation_during_watch)
{
    char dir[] = "/tmp/ig-rotate-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    control("tokens", "{\"token\":\"rotate-old\",\"user\":\"rotate-old-user\",\"ttl\":2}");
    control("tokens", "{\"token\":\"rotate-new\",\"user\":\"rotate-new-user\"}");
    swap_token(dir, "..gen1", "rotate-old");
    char token_path[512], link_target[] = "..data/token";
    snprintf(token_path, sizeof token_path, "%s/token", dir);
    cr_assert_eq(symlink(link_target, token_path), 0);

    struct ig_kube_config config;
    admin_config(&config);
    free(config.token);
    config.token = NULL;
    config.token_file = strdup(token_path);
    /* The file may be read at most every 60 s, so only the 401 can make the
     * client see the new token within this test. */
    struct ig_kube_client *client = ig_kube_client_new(&config, NULL);
    struct ig_kube_client *admin = admin_client();
    const char *ns = fresh_namespace("rotate");
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = secret_informer(client, ns, 1, &counts);

    swap_token(dir, "..gen2", "rotate-new");
    usleep(2500000); /* the old token expires while its watch is open */
    create_secret(admin, ns, "after-rotation", "v");
    cr_assert(wait_for(informer, ns, "after-rotation", true, 10));
    cr_assert_geq(ig_kube_client_token_reads(client), 2);

    cJSON *log = request_log();
    bool old_rejected = false, new_accepted = false;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, log)
    {
        if (!strstr(cJSON_GetObjectItem(entry, "path")->valuestring, ns))
            continue;
        const cJSON *user = cJSON_GetObjectItem(entry, "user");
        const cJSON *status = cJSON_GetObjectItem(entry, "status");
        if (cJSON_IsNumber(status) && status->valueint == 401)
            old_rejected = true;
        if (cJSON_IsString(user) && strcmp(user->valuestring, "rotate-new-user") == 0)
            new_accepted = true;
    }
    cr_assert(old_rejected);
    cr_assert(new_accepted);
    cJSON_Delete(log);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
    ig_kube_client_free(admin);
    ig_kube_config_free(&config);
}

/* ---- events -------------------------------------------------------------- */

static struct ig_kube_object_ref secret_ref(const char *ns, const char *name)
{
    struct ig_kube_object_ref ref = {"v1", "Secret", ns, name, "uid-1", "1"};
    return ref;
}

static cJSON *list_events(struct ig_kube_client *client, const char *ns)
{
    cJSON *items = NULL;
    char *rv = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_list(client, &IG_KUBE_EVENTS, ns, NULL, NULL, &items, &rv, &st), 0);
    free(rv);
    return items;
}

Test(kube_events_api, identical_events_become_series)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("series");
    struct ig_kube_event_recorder_options options = {.controller = "immutable-guard/sync",
                                                     .instance = "test-pod"};
    struct ig_kube_event_recorder *rec = ig_kube_event_recorder_new(client, &options);
    struct ig_kube_object_ref ref = secret_ref(ns, "s");
    struct ig_kube_status st = {0};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ig_kube_event_emit(rec, &ref, IG_KUBE_EVENT_NORMAL, "Recreated", "Sync",
                                        "Secret recreated", &st),
                     0, "%s", st.message ? st.message : "");
    cJSON *items = list_events(client, ns);
    cr_assert_eq(cJSON_GetArraySize(items), 1);
    const cJSON *event = cJSON_GetArrayItem(items, 0);
    const cJSON *series = cJSON_GetObjectItem(event, "series");
    cr_assert_eq(cJSON_GetObjectItem(series, "count")->valueint, 3);
    cr_assert_str_eq(cJSON_GetObjectItem(event, "reportingController")->valuestring,
                     "immutable-guard/sync");
    cr_assert_str_eq(cJSON_GetObjectItem(event, "type")->valuestring, "Normal");
    cJSON_Delete(items);
    ig_kube_event_recorder_free(rec);
    ig_kube_client_free(client);
}

Test(kube_events_api, burst_limit_per_object)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("burst");
    struct ig_kube_event_recorder_options options = {.controller = "immutable-guard/sync",
                                                     .instance = "test-pod"};
    struct ig_kube_event_recorder *rec = ig_kube_event_recorder_new(client, &options);
    struct ig_kube_object_ref ref = secret_ref(ns, "s");
    struct ig_kube_object_ref other = secret_ref(ns, "other");
    struct ig_counter *suppressed = ig_metrics_counter("ig_kube_events_total", "",
                                                       "result=\"suppressed\"");
    struct ig_counter *created = ig_metrics_counter("ig_kube_events_total", "",
                                                    "result=\"created\"");
    uint64_t suppressed_before = ig_counter_value(suppressed);
    uint64_t created_before = ig_counter_value(created);
    int emitted = 0, limited = 0;
    for (int i = 0; i < 30; i++) {
        char note[32];
        snprintf(note, sizeof note, "attempt %d", i);
        int rc = ig_kube_event_emit(rec, &ref, IG_KUBE_EVENT_WARNING, "SyncFailed", "Sync", note, NULL);
        emitted += rc == 0;
        limited += rc == 1;
    }
    cr_assert_eq(emitted, 25);
    cr_assert_eq(limited, 5);
    cr_assert_eq(ig_kube_event_emit(rec, &other, IG_KUBE_EVENT_NORMAL, "Synced", "Sync", "ok", NULL), 0);
    cJSON *log = request_log();
    char path[128];
    snprintf(path, sizeof path, "/namespaces/%s/events", ns);
    cr_assert_eq(count_requests(log, "POST", path, 201), 26);
    cJSON_Delete(log);
    cr_assert_eq(ig_counter_value(suppressed) - suppressed_before, 5);
    cr_assert_eq(ig_counter_value(created) - created_before, 26);
    ig_kube_event_recorder_free(rec);
    ig_kube_client_free(client);
}

Test(kube_events_api, long_reason_and_note_cut)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("long");
    struct ig_kube_event_recorder_options options = {.controller = "immutable-guard/sync",
                                                     .instance = "test-pod"};
    struct ig_kube_event_recorder *rec = ig_kube_event_recorder_new(client, &options);
    struct ig_kube_object_ref ref = secret_ref(ns, "s");
    char reason[201], note[2001];
    memset(reason, 'R', 200);
    reason[200] = '\0';
    memset(note, 'n', 2000);
    note[2000] = '\0';
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_event_emit(rec, &ref, IG_KUBE_EVENT_WARNING, reason, "Sync", note, &st), 0,
                 "%s", st.message ? st.message : "");
    cJSON *items = list_events(client, ns);
    const cJSON *event = cJSON_GetArrayItem(items, 0);
    cr_assert_eq(strlen(cJSON_GetObjectItem(event, "reason")->valuestring), 128);
    cr_assert_eq(strlen(cJSON_GetObjectItem(event, "note")->valuestring), 1024);
    cJSON_Delete(items);
    ig_kube_event_recorder_free(rec);
    ig_kube_client_free(client);
}

/* ---- leader election ----------------------------------------------------- */

static bool wait_leader(struct ig_kube_leader *leader, double timeout)
{
    double deadline = now_seconds() + timeout;
    while (now_seconds() < deadline) {
        if (ig_kube_leader_is_leader(leader))
            return true;
        usleep(20000);
    }
    return false;
}

Test(kube_leader, release_is_one_bounded_attempt)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("release");
    struct ig_kube_leader_options options = {.namespace = ns, .name = "l", .identity = "me",
                                             .lease_duration = 3, .renew_deadline = 2,
                                             .retry_period = 0.5};
    struct ig_kube_leader *leader = ig_kube_leader_new(client, &options);
    cr_assert_not_null(leader);
    cr_assert_eq(ig_kube_leader_start(leader), 0);
    cr_assert(wait_leader(leader, 5));
    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"method\":\"PUT\",\"path_contains\":\"%s\"},\"times\":20,"
             "\"action\":{\"status\":503}}", ns);
    control("faults", fault);
    double start = now_seconds();
    ig_kube_leader_free(leader, true);
    double elapsed = now_seconds() - start;
    cr_assert_lt(elapsed, 2.0, "release took %.2f s", elapsed);
    cJSON *log = request_log();
    const cJSON *entry, *last_put = NULL;
    int release_attempts = 0;
    cJSON_ArrayForEach(entry, log)
    {
        if (strcmp(cJSON_GetObjectItem(entry, "method")->valuestring, "PUT") != 0 ||
            !strstr(cJSON_GetObjectItem(entry, "path")->valuestring, ns))
            continue;
        last_put = entry;
        const cJSON *put_spec = cJSON_GetObjectItem(cJSON_GetObjectItem(entry, "body"), "spec");
        if (strcmp(cJSON_GetObjectItem(put_spec, "holderIdentity")->valuestring, "") == 0)
            release_attempts++;
    }
    cr_assert_not_null(last_put);
    cr_assert_eq(release_attempts, 1);
    const cJSON *spec = cJSON_GetObjectItem(cJSON_GetObjectItem(last_put, "body"), "spec");
    cr_assert_str_eq(cJSON_GetObjectItem(spec, "holderIdentity")->valuestring, "");
    cr_assert_eq(cJSON_GetObjectItem(spec, "leaseDurationSeconds")->valueint, 1);
    cr_assert_eq(cJSON_GetObjectItem(last_put, "status")->valueint, 503);
    cJSON_Delete(log);
    ig_kube_client_free(client);
}

Test(kube_leader, rejects_inconsistent_timing)
{
    struct ig_kube_client *client = admin_client();
    struct ig_kube_leader_options options = {.namespace = "default", .name = "l",
                                             .identity = "me", .lease_duration = 10,
                                             .renew_deadline = 10, .retry_period = 2};
    cr_assert_null(ig_kube_leader_new(client, &options));
    options.renew_deadline = 2;
    cr_assert_null(ig_kube_leader_new(client, &options));
    ig_kube_client_free(client);
}

Test(kube_leader, microtime_in_lease)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("micro");
    struct ig_kube_leader_options options = {.namespace = ns, .name = "l", .identity = "me"};
    struct ig_kube_leader *leader = ig_kube_leader_new(client, &options);
    cr_assert_eq(ig_kube_leader_start(leader), 0);
    cr_assert(wait_leader(leader, 5));
    cJSON *lease = NULL;
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_get(client, &IG_KUBE_LEASES, ns, "l", &lease, &st), 0);
    const cJSON *spec = cJSON_GetObjectItem(lease, "spec");
    const char *renew = cJSON_GetObjectItem(spec, "renewTime")->valuestring;
    cr_assert_eq(strlen(renew), 27, "renewTime %s", renew);
    cr_assert_eq(renew[19], '.');
    cr_assert_eq(renew[26], 'Z');
    cr_assert_eq(cJSON_GetObjectItem(spec, "leaseDurationSeconds")->valueint, 15);
    cr_assert_str_eq(cJSON_GetObjectItem(spec, "holderIdentity")->valuestring, "me");
    char labels[128];
    snprintf(labels, sizeof labels, "lease=\"%s/l\"", ns);
    struct ig_gauge *gauge = ig_metrics_gauge("ig_kube_leader", "", labels);
    cr_assert_float_eq(ig_gauge_value(gauge), 1.0, 1e-9);
    cJSON_Delete(lease);
    ig_kube_leader_free(leader, true);
    cr_assert_float_eq(ig_gauge_value(gauge), 0.0, 1e-9);
    ig_kube_client_free(client);
}

Test(kube_leader, failed_renewals_stop_leading)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("renew");
    struct ig_kube_leader_options options = {.namespace = ns, .name = "l", .identity = "me",
                                             .lease_duration = 3, .renew_deadline = 2,
                                             .retry_period = 0.5};
    struct ig_kube_leader *leader = ig_kube_leader_new(client, &options);
    cr_assert_eq(ig_kube_leader_start(leader), 0);
    cr_assert(wait_leader(leader, 5));
    ig_kube_client_set_write_guard(client, ig_kube_leader_write_guard, leader);

    char fault[256];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s/leases\"},\"times\":1000,"
             "\"action\":{\"status\":503}}", ns);
    control("faults", fault);
    double start = now_seconds();
    while (ig_kube_leader_is_leader(leader) && now_seconds() - start < 5)
        usleep(20000);
    double elapsed = now_seconds() - start;
    cr_assert_not(ig_kube_leader_is_leader(leader));
    cr_assert_lt(elapsed, 2.5, "still leading %.2f s after renewals began to fail", elapsed);
    cr_assert_geq(elapsed, 1.0, "stopped leading after only %.2f s", elapsed);

    cJSON *secret = make_secret("after", "k", "v", false);
    struct ig_kube_status st = {0};
    cr_assert_eq(ig_kube_secret_create(client, ns, secret, NULL, &st), -1);
    cr_assert_eq(st.reason, IG_KUBE_REASON_NOT_LEADER);
    ig_kube_status_clear(&st);
    cJSON_Delete(secret);
    control("faults/clear", "{}");
    ig_kube_leader_free(leader, false);
    ig_kube_client_free(client);
}

/* ---- limits against a misbehaving server ------------------------------ */

static struct ig_kube_informer *start_unsynced_informer(struct ig_kube_client *client,
                                                        const char *ns, struct counts *counts)
{
    static const char *const versions[] = {"v1"};
    struct ig_kube_informer_options options = {
        .group = "",
        .version = "v1",
        .versions = versions,
        .version_count = 1,
        .resource = "secrets",
        .namespaced = true,
        .namespace = ns,
        .page_limit = 1,
        .watch_timeout = 30,
        .backoff_initial = 0.05,
        .backoff_max = 0.5,
    };
    struct ig_kube_informer_handlers handlers = {on_add, on_update, on_delete, counts};
    struct ig_kube_informer *informer = ig_kube_informer_new(client, &options, &handlers);
    cr_assert_not_null(informer);
    cr_assert_eq(ig_kube_informer_start(informer), 0);
    return informer;
}

Test(kube_informer, oversized_event_relists)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("bigevent");
    create_secret(client, ns, "before", "v");
    /* The first two watches send one event that never ends. */
    char fault[512];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\",\"watch\":true},\"times\":2,"
             "\"action\":{\"endless_event\":true}}",
             ns);
    control("faults", fault);
    struct ig_counter *exceeded =
        ig_metrics_counter("ig_kube_limit_exceeded_total", "", "limit=\"watch_event\"");
    uint64_t before = ig_counter_value(exceeded);
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = start_unsynced_informer(client, ns, &counts);
    cr_assert(ig_kube_informer_wait_synced(informer, 10));

    /* After the two failed watches the third one works again. */
    double deadline = now_seconds() + 30;
    struct ig_kube_informer_stats stats;
    do {
        usleep(50000);
        ig_kube_informer_stats(informer, &stats);
    } while (stats.watches < 3 && now_seconds() < deadline);
    create_secret(client, ns, "after", "v");
    cr_assert(wait_for(informer, ns, "after", true, 10));

    ig_kube_informer_stats(informer, &stats);
    cr_assert_eq(ig_counter_value(exceeded) - before, 2, "%lu exceeded, %lu lists, %lu watches", (unsigned long)(ig_counter_value(exceeded) - before), stats.lists, stats.watches);
    /* Each aborted watch is followed by a list: the first one plus two. */
    cr_assert_eq(stats.lists, 3);
    cr_assert_eq(stats.watches, 3);
    struct ig_kube_snapshot *snap = ig_kube_informer_snapshot(informer);
    cr_assert_null(ig_kube_snapshot_find(snap, ns, "endless"));
    cr_assert_not_null(ig_kube_snapshot_find(snap, ns, "before"));
    ig_kube_snapshot_release(snap);
    ig_kube_informer_free(informer);
    ig_kube_client_free(client);
}

Test(kube_informer, repeated_continue_backs_off)
{
    struct ig_kube_client *client = admin_client();
    const char *ns = fresh_namespace("stucklist");
    create_secret(client, ns, "one", "v");
    create_secret(client, ns, "two", "v");
    char fault[512];
    snprintf(fault, sizeof fault,
             "{\"match\":{\"path_contains\":\"%s\",\"watch\":false,\"method\":\"GET\"},"
             "\"times\":100000,\"action\":{\"fixed_continue\":\"stuck-token\"}}",
             ns);
    control("faults", fault);
    struct counts counts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ig_kube_informer *informer = start_unsynced_informer(client, ns, &counts);
    /* Backoff from 0.05 s doubling to 0.5 s allows about eight lists in 2.5 s;
     * without it the informer sends hundreds of requests. */
    usleep(2500000);
    cr_assert_not(ig_kube_informer_synced(informer));
    ig_kube_informer_free(informer);
    cJSON *log = request_log();
    int lists = count_requests(log, "GET", ns, 0);
    cJSON_Delete(log);
    /* Two requests per list: page one and the page that repeats the token. */
    cr_assert_geq(lists, 2 * 3, "%d LIST requests", lists);
    cr_assert_leq(lists, 2 * 12, "%d LIST requests", lists);
    ig_kube_client_free(client);
}
