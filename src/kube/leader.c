#include "kube/leader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "kube/internal.h"
#include "kube/time.h"

/* client-go waits RetryPeriod x (1 + up to 1.2) between candidate attempts. A
 * factor of 0.2 is used here so that a released lease is taken over within
 * 2.4 s at the default retry period. */
#define CANDIDATE_JITTER 0.2

enum attempt_result { ATTEMPT_FAILED = -1, ATTEMPT_HELD = 0, ATTEMPT_OK = 1 };

struct ig_kube_leader {
    struct ig_kube_client *client;
    char *namespace;
    char *name;
    char *identity;
    double lease_duration;
    double renew_deadline;
    double retry_period;
    void (*on_started)(void *ctx);
    void (*on_stopped)(void *ctx);
    void *ctx;

    pthread_mutex_t lock; /* guards leading and last_renew */
    bool leading;
    double last_renew; /* monotonic start time of the last successful write */

    /* Election-thread state. */
    cJSON *lease;        /* the Lease as last written or read, for its resourceVersion */
    char *observed_spec; /* spec of the record last observed, as JSON text */
    double observed_time;
    double observed_duration;

    struct ig_kube_stopper stopper;
    pthread_t thread;
    bool started;
    struct ig_gauge *leader_gauge;
};

struct ig_kube_leader *ig_kube_leader_new(struct ig_kube_client *client,
                                          const struct ig_kube_leader_options *options)
{
    double lease = options->lease_duration > 0 ? options->lease_duration : IG_KUBE_LEASE_DURATION;
    double renew = options->renew_deadline > 0 ? options->renew_deadline : IG_KUBE_RENEW_DEADLINE;
    double retry = options->retry_period > 0 ? options->retry_period : IG_KUBE_RETRY_PERIOD;
    if (!(lease > renew && renew > 1.2 * retry)) {
        ig_error("invalid leader election timing: the lease duration must exceed the renew "
                 "deadline, which must exceed 1.2 times the retry period",
                 IG_F_DOUBLE("lease_duration_seconds", lease),
                 IG_F_DOUBLE("renew_deadline_seconds", renew),
                 IG_F_DOUBLE("retry_period_seconds", retry));
        return NULL;
    }
    if (!options->namespace || !*options->namespace || !options->name || !*options->name ||
        !options->identity || !*options->identity) {
        ig_error("leader election needs a lease namespace, a lease name and an identity");
        return NULL;
    }
    struct ig_kube_leader *le = calloc(1, sizeof *le);
    if (!le)
        return NULL;
    le->client = client;
    le->namespace = strdup(options->namespace);
    le->name = strdup(options->name);
    le->identity = strdup(options->identity);
    if (!le->namespace || !le->name || !le->identity) {
        free(le->namespace);
        free(le->name);
        free(le->identity);
        free(le);
        return NULL;
    }
    le->lease_duration = lease;
    le->renew_deadline = renew;
    le->retry_period = retry;
    le->on_started = options->on_started_leading;
    le->on_stopped = options->on_stopped_leading;
    le->ctx = options->ctx;
    pthread_mutex_init(&le->lock, NULL);
    ig_kube_stopper_init(&le->stopper);

    char escaped[256];
    char labels[320];
    char lease_id[256];
    snprintf(lease_id, sizeof lease_id, "%s/%s", le->namespace, le->name);
    if (!ig_metrics_escape_label(lease_id, escaped, sizeof escaped))
        snprintf(escaped, sizeof escaped, "other");
    snprintf(labels, sizeof labels, "lease=\"%s\"", escaped);
    le->leader_gauge = ig_metrics_gauge("ig_kube_leader",
                                        "1 while this replica holds the leader lease, else 0.",
                                        labels);
    ig_gauge_set(le->leader_gauge, 0);
    return le;
}

bool ig_kube_leader_is_leader(struct ig_kube_leader *leader)
{
    if (!leader)
        return false;
    pthread_mutex_lock(&leader->lock);
    bool leading =
        leader->leading && ig_kube_monotonic_seconds() - leader->last_renew < leader->renew_deadline;
    pthread_mutex_unlock(&leader->lock);
    return leading;
}

bool ig_kube_leader_write_guard(void *ctx)
{
    return ig_kube_leader_is_leader(ctx);
}

/* ---- lease records ---------------------------------------------------- */

static bool now_microtime(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ig_kube_format_microtime(&ts, buf, size);
}

static const char *spec_string(const cJSON *spec, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static double spec_number(const cJSON *spec, const char *key, double fallback)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, key);
    return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}

/* Build the spec this replica writes when it takes or renews the lease. */
static cJSON *build_spec(const struct ig_kube_leader *le, const cJSON *old_spec, const char *holder,
                         long duration_seconds, bool keep_acquire)
{
    char now[IG_KUBE_MICROTIME_SIZE];
    if (!now_microtime(now, sizeof now))
        return NULL;
    const char *acquire = keep_acquire ? spec_string(old_spec, "acquireTime") : NULL;
    double transitions = spec_number(old_spec, "leaseTransitions", 0);
    const char *old_holder = spec_string(old_spec, "holderIdentity");
    /* client-go counts a transition whenever the holder changes to someone else. */
    if (old_spec && holder[0] && (!old_holder || strcmp(old_holder, holder) != 0))
        transitions += 1;
    cJSON *spec = cJSON_CreateObject();
    if (!spec || !cJSON_AddStringToObject(spec, "holderIdentity", holder) ||
        !cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)duration_seconds) ||
        !cJSON_AddStringToObject(spec, "acquireTime", acquire ? acquire : now) ||
        !cJSON_AddStringToObject(spec, "renewTime", now) ||
        !cJSON_AddNumberToObject(spec, "leaseTransitions", transitions)) {
        cJSON_Delete(spec);
        return NULL;
    }
    (void)le;
    return spec;
}

static void observe(struct ig_kube_leader *le, const cJSON *spec, double now)
{
    char *text = spec ? cJSON_PrintUnformatted(spec) : NULL;
    if (!text)
        return;
    if (!le->observed_spec || strcmp(le->observed_spec, text) != 0) {
        free(le->observed_spec);
        le->observed_spec = text;
        le->observed_time = now;
        le->observed_duration = spec_number(spec, "leaseDurationSeconds", le->lease_duration);
    } else {
        free(text);
    }
}

static void keep_lease(struct ig_kube_leader *le, cJSON *lease)
{
    cJSON_Delete(le->lease);
    le->lease = lease;
}

static bool renew_deadline_passed(struct ig_kube_leader *le)
{
    pthread_mutex_lock(&le->lock);
    bool passed = le->leading && ig_kube_monotonic_seconds() - le->last_renew >= le->renew_deadline;
    pthread_mutex_unlock(&le->lock);
    return passed;
}

/* send_check for a renewal: false once the renew deadline has passed. */
static bool renewal_still_valid(void *ctx)
{
    return !renew_deadline_passed(ctx);
}

static enum attempt_result create_lease(struct ig_kube_leader *le, double started)
{
    struct ig_kube_status status = {0};
    long duration = (long)ceil(le->lease_duration);
    cJSON *spec = build_spec(le, NULL, le->identity, duration, false);
    cJSON *lease = cJSON_CreateObject();
    cJSON *meta = lease ? cJSON_AddObjectToObject(lease, "metadata") : NULL;
    if (!spec || !meta || !cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1") ||
        !cJSON_AddStringToObject(lease, "kind", "Lease") ||
        !cJSON_AddStringToObject(meta, "name", le->name) ||
        !cJSON_AddStringToObject(meta, "namespace", le->namespace)) {
        cJSON_Delete(spec);
        cJSON_Delete(lease);
        return ATTEMPT_FAILED;
    }
    cJSON_AddItemToObject(lease, "spec", spec);
    char *path = ig_kube_resource_path(&IG_KUBE_LEASES, le->namespace, NULL, NULL);
    char *body = cJSON_PrintUnformatted(lease);
    cJSON_Delete(lease);
    enum attempt_result result = ATTEMPT_FAILED;
    if (path && body) {
        struct ig_kube_request request = {.verb = IG_KUBE_VERB_CREATE,
                                          .path = path,
                                          .resource = "leases",
                                          .body = body,
                                          .bypass_write_guard = true,
                                          .cancel = &le->stopper};
        struct ig_kube_response response;
        if (ig_kube_do(le->client, &request, &response, &status) == 0) {
            cJSON *created = cJSON_ParseWithLength(response.body, response.body_length);
            observe(le, cJSON_GetObjectItemCaseSensitive(created, "spec"), started);
            keep_lease(le, created);
            result = ATTEMPT_OK;
        } else if (status.code == 409) {
            result = ATTEMPT_HELD; /* another replica created it first */
        } else {
            ig_warn("creating the leader lease failed", IG_F_STR("lease", le->name),
                    IG_F_STR("namespace", le->namespace), IG_F_INT("code", status.code),
                    IG_F_STR("error", status.message));
        }
        ig_kube_response_clear(&response);
    }
    free(path);
    free(body);
    ig_kube_status_clear(&status);
    return result;
}

/* One round of client-go's tryAcquireOrRenew. */
static enum attempt_result try_acquire_or_renew(struct ig_kube_leader *le, double started)
{
    struct ig_kube_status status = {0};
    cJSON *lease = NULL;
    enum attempt_result result = ATTEMPT_FAILED;
    char *body = NULL;
    char *path = NULL;

    if (ig_kube_get(le->client, &IG_KUBE_LEASES, le->namespace, le->name, &lease, &status) != 0) {
        if (status.code == 404) {
            ig_kube_status_clear(&status);
            return create_lease(le, started);
        }
        ig_warn("reading the leader lease failed", IG_F_STR("lease", le->name),
                IG_F_STR("namespace", le->namespace), IG_F_INT("code", status.code),
                IG_F_STR("error", status.message));
        goto done;
    }
    double now = ig_kube_monotonic_seconds();
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
    observe(le, spec, now);
    const char *holder = spec_string(spec, "holderIdentity");
    bool ours = holder && strcmp(holder, le->identity) == 0;
    if (holder && holder[0] && !ours && le->observed_time + le->observed_duration > now) {
        result = ATTEMPT_HELD;
        goto done;
    }
    /* A leader stalled between GET and PUT must not write after its deadline. */
    if (renew_deadline_passed(le))
        goto done;

    cJSON *next_spec = build_spec(le, spec, le->identity, (long)ceil(le->lease_duration), ours);
    if (!next_spec || !cJSON_ReplaceItemInObjectCaseSensitive(lease, "spec", next_spec)) {
        cJSON_Delete(next_spec);
        goto done;
    }
    path = ig_kube_resource_path(&IG_KUBE_LEASES, le->namespace, le->name, NULL);
    body = cJSON_PrintUnformatted(lease);
    if (!path || !body)
        goto done;
    struct ig_kube_request request = {.verb = IG_KUBE_VERB_UPDATE,
                                      .path = path,
                                      .resource = "leases",
                                      .body = body,
                                      .bypass_write_guard = true,
                                      .cancel = &le->stopper,
                                      .send_check = renewal_still_valid,
                                      .send_check_ctx = le};
    struct ig_kube_response response;
    if (ig_kube_do(le->client, &request, &response, &status) == 0) {
        cJSON *written = cJSON_ParseWithLength(response.body, response.body_length);
        observe(le, cJSON_GetObjectItemCaseSensitive(written, "spec"), started);
        keep_lease(le, written);
        result = ATTEMPT_OK;
    } else if (status.code == 409) {
        result = ATTEMPT_HELD; /* the record changed since our GET: another replica won */
    } else {
        ig_warn("writing the leader lease failed", IG_F_STR("lease", le->name),
                IG_F_STR("namespace", le->namespace), IG_F_INT("code", status.code),
                IG_F_STR("error", status.message));
    }
    ig_kube_response_clear(&response);
done:
    free(path);
    free(body);
    cJSON_Delete(lease);
    ig_kube_status_clear(&status);
    return result;
}

/* ---- election loop ---------------------------------------------------- */

static void become_leader(struct ig_kube_leader *le, double started)
{
    pthread_mutex_lock(&le->lock);
    le->leading = true;
    le->last_renew = started;
    pthread_mutex_unlock(&le->lock);
    ig_gauge_set(le->leader_gauge, 1);
    ig_info("became leader", IG_F_STR("lease", le->name), IG_F_STR("namespace", le->namespace),
            IG_F_STR("identity", le->identity));
    if (le->on_started)
        le->on_started(le->ctx);
}

/* Leave the leader state. A shutdown is logged as info, a lost lease as a warning. */
static void stop_leading(struct ig_kube_leader *le, const char *why, enum ig_log_level level)
{
    pthread_mutex_lock(&le->lock);
    bool was = le->leading;
    le->leading = false;
    pthread_mutex_unlock(&le->lock);
    if (!was)
        return;
    ig_gauge_set(le->leader_gauge, 0);
    ig_log(level, "stopped leading", IG_F_STR("lease", le->name),
           IG_F_STR("namespace", le->namespace), IG_F_STR("identity", le->identity),
           IG_F_STR("reason", why));
    if (le->on_stopped)
        le->on_stopped(le->ctx);
}

static void *election_main(void *arg)
{
    struct ig_kube_leader *le = arg;
    ig_info("leader election started", IG_F_STR("lease", le->name),
            IG_F_STR("namespace", le->namespace), IG_F_STR("identity", le->identity),
            IG_F_DOUBLE("lease_duration_seconds", le->lease_duration),
            IG_F_DOUBLE("renew_deadline_seconds", le->renew_deadline),
            IG_F_DOUBLE("retry_period_seconds", le->retry_period));
    while (!ig_kube_stopper_stopped(&le->stopper)) {
        pthread_mutex_lock(&le->lock);
        bool leading = le->leading;
        pthread_mutex_unlock(&le->lock);

        double started = ig_kube_monotonic_seconds();
        if (!leading) {
            if (try_acquire_or_renew(le, started) == ATTEMPT_OK)
                become_leader(le, started);
            ig_kube_stopper_sleep(&le->stopper,
                                  le->retry_period * (1 + CANDIDATE_JITTER * ig_kube_random()));
            continue;
        }
        if (renew_deadline_passed(le)) {
            stop_leading(le, "renew deadline passed", IG_LOG_WARN);
            continue;
        }
        enum attempt_result result = try_acquire_or_renew(le, started);
        if (result == ATTEMPT_OK) {
            pthread_mutex_lock(&le->lock);
            le->last_renew = started;
            pthread_mutex_unlock(&le->lock);
        } else if (result == ATTEMPT_HELD) {
            stop_leading(le, "lease taken by another replica", IG_LOG_WARN);
            continue;
        }
        ig_kube_stopper_sleep(&le->stopper, le->retry_period);
    }
    return NULL;
}

int ig_kube_leader_start(struct ig_kube_leader *leader)
{
    if (pthread_create(&leader->thread, NULL, election_main, leader) != 0)
        return -1;
    leader->started = true;
    return 0;
}

/* Hand the lease back: empty holder and a one-second duration, written with
 * the resourceVersion of our last write so it cannot undo someone else's. */
static void release(struct ig_kube_leader *le)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(le->lease, "spec");
    cJSON *lease = cJSON_Duplicate(le->lease, true);
    cJSON *next_spec = build_spec(le, spec, "", 1, false);
    struct ig_kube_status status = {0};
    char *path = ig_kube_resource_path(&IG_KUBE_LEASES, le->namespace, le->name, NULL);
    char *body = NULL;
    if (!lease || !next_spec || !cJSON_ReplaceItemInObjectCaseSensitive(lease, "spec", next_spec)) {
        cJSON_Delete(next_spec);
        goto done;
    }
    body = cJSON_PrintUnformatted(lease);
    if (!path || !body)
        goto done;
    /* One short attempt: shutdown must not wait on an unreachable API server,
     * and without the release the lease simply expires. */
    struct ig_kube_request request = {.verb = IG_KUBE_VERB_UPDATE,
                                      .path = path,
                                      .resource = "leases",
                                      .body = body,
                                      .bypass_write_guard = true,
                                      .max_attempts = 1,
                                      .timeout_seconds = 5};
    struct ig_kube_response response;
    if (ig_kube_do(le->client, &request, &response, &status) == 0)
        ig_info("released the leader lease", IG_F_STR("lease", le->name),
                IG_F_STR("namespace", le->namespace), IG_F_STR("identity", le->identity));
    else
        ig_warn("releasing the leader lease failed; another replica takes over when it expires",
                IG_F_STR("lease", le->name), IG_F_STR("namespace", le->namespace),
                IG_F_INT("code", status.code), IG_F_STR("error", status.message));
    ig_kube_response_clear(&response);
done:
    free(path);
    free(body);
    cJSON_Delete(lease);
    ig_kube_status_clear(&status);
}

void ig_kube_leader_free(struct ig_kube_leader *leader, bool release_lease)
{
    if (!leader)
        return;
    if (leader->started) {
        ig_kube_stopper_stop(&leader->stopper);
        pthread_join(leader->thread, NULL);
    }
    bool leading = ig_kube_leader_is_leader(leader);
    stop_leading(leader, "shutting down", IG_LOG_INFO);
    if (release_lease && leading && leader->lease)
        release(leader);
    ig_gauge_set(leader->leader_gauge, 0);
    cJSON_Delete(leader->lease);
    free(leader->observed_spec);
    free(leader->namespace);
    free(leader->name);
    free(leader->identity);
    pthread_mutex_destroy(&leader->lock);
    ig_kube_stopper_destroy(&leader->stopper);
    free(leader);
}
