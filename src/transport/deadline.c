#include "transport/deadline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "transport/log_limit.h"

/* Lines logged per second at most; further expired connections are only counted. */
#define LOGGED_PER_SWEEP 5

struct ig_deadlines {
    unsigned timeout_s;
    pthread_mutex_t lock;
    pthread_cond_t wakeup; /* signalled to end an untimed wait, and on stop */
    bool stopping;
    bool sweeper_waits_untimed; /* the table was empty at the last check */
    struct ig_deadline_entry *head;
    pthread_t thread;
    struct ig_counter *expired;     /* cut before the headers were complete */
    struct ig_counter *slow_bodies; /* cut in the body; may be NULL */
    struct ig_log_limit log_limit;
};

/* Log fields of one expired connection, copied so that the line is written
 * after the lock is released. */
struct expired_connection {
    char remote[INET6_ADDRSTRLEN];
    unsigned port;
    long long waited_ms;
    enum ig_deadline_phase phase;
};

/* The coarse clock costs a quarter of CLOCK_MONOTONIC and lags it by at most
 * one scheduler tick, a few ms: nothing next to deadlines of seconds. */
static long long monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The value of ig_deadline_entry.deadline for a deadline and a phase. */
static long long pack(long long deadline_ms, enum ig_deadline_phase phase)
{
    return deadline_ms << IG_DEADLINE_PHASE_BITS | (long long)phase;
}

static void describe_peer(const struct sockaddr_storage *peer, struct expired_connection *out)
{
    memcpy(out->remote, "unknown", sizeof "unknown");
    out->port = 0;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *address = (const struct sockaddr_in *)peer;
        inet_ntop(AF_INET, &address->sin_addr, out->remote, sizeof out->remote);
        out->port = ntohs(address->sin_port);
    } else if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *address = (const struct sockaddr_in6 *)peer;
        inet_ntop(AF_INET6, &address->sin6_addr, out->remote, sizeof out->remote);
        out->port = ntohs(address->sin6_port);
    }
}

/* Shut down every connection past its deadline; the caller holds the lock.
 * Fills logged[] with the connections to log (at most LOGGED_PER_SWEEP) and
 * returns their number. */
static size_t sweep_locked(struct ig_deadlines *deadlines, long long now_ms,
                           struct expired_connection logged[LOGGED_PER_SWEEP])
{
    size_t logged_count = 0;
    for (struct ig_deadline_entry *entry = deadlines->head; entry; entry = entry->next) {
        long long deadline = atomic_load(&entry->deadline);
        if (deadline == 0 || (deadline >> IG_DEADLINE_PHASE_BITS) > now_ms)
            continue;
        /* Disarm first: when the worker thread has just disarmed or armed
         * the entry again, its headers arrived in time and it is kept. */
        if (!atomic_compare_exchange_strong(&entry->deadline, &deadline, 0))
            continue;
        /* The entry is removed before its socket is closed (see
         * ig_deadlines_remove), so entry->fd is still this connection's. */
        shutdown(entry->fd, SHUT_RDWR);
        enum ig_deadline_phase phase =
            (enum ig_deadline_phase)(deadline & ((1 << IG_DEADLINE_PHASE_BITS) - 1));
        ig_counter_add(phase == IG_DEADLINE_BODY ? deadlines->slow_bodies : deadlines->expired, 1);
        if (logged_count < LOGGED_PER_SWEEP && ig_log_limit_take(&deadlines->log_limit)) {
            struct expired_connection *line = &logged[logged_count++];
            describe_peer(&entry->peer, line);
            line->waited_ms = now_ms - atomic_load(&entry->armed_ms);
            line->phase = phase;
        }
    }
    return logged_count;
}

static void log_expired(struct ig_deadlines *deadlines, const struct expired_connection *line)
{
    bool body = line->phase == IG_DEADLINE_BODY;
    const char *since = body ? "headers"
                        : line->phase == IG_DEADLINE_AFTER_REPLY ? "previous_reply"
                                                                 : "accept";
    ig_warn(body ? "request body not complete within the connection timeout; the connection was "
                   "shut down (raise --connection-timeout if this client is slow but legitimate)"
                 : "request headers not complete within the connection timeout; the connection "
                   "was shut down (raise --connection-timeout if this client is slow but "
                   "legitimate)",
            IG_F_STR("remote", line->remote), IG_F_INT("remote_port", line->port),
            IG_F_DOUBLE("waited_s", (double)line->waited_ms / 1000.0),
            IG_F_INT("connection_timeout_s", deadlines->timeout_s), IG_F_STR("since", since),
            IG_F_INT("dropped_before", ig_log_limit_dropped(&deadlines->log_limit)));
}

static void *sweep_loop(void *arg)
{
    struct ig_deadlines *deadlines = arg;
    struct expired_connection logged[LOGGED_PER_SWEEP];

    pthread_mutex_lock(&deadlines->lock);
    while (!deadlines->stopping) {
        if (!deadlines->head) {
            /* Nothing to watch: sleep until a connection arrives. Under
             * steady traffic the table is rarely empty at this check, so
             * new connections seldom need to wake the thread. */
            deadlines->sweeper_waits_untimed = true;
            pthread_cond_wait(&deadlines->wakeup, &deadlines->lock);
            deadlines->sweeper_waits_untimed = false;
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        int status = pthread_cond_timedwait(&deadlines->wakeup, &deadlines->lock, &until);
        if (status != 0 && status != ETIMEDOUT)
            continue;
        if (deadlines->stopping)
            break;
        size_t count = sweep_locked(deadlines, monotonic_ms(), logged);
        if (count == 0)
            continue;
        pthread_mutex_unlock(&deadlines->lock);
        for (size_t i = 0; i < count; i++)
            log_expired(deadlines, &logged[i]);
        pthread_mutex_lock(&deadlines->lock);
    }
    pthread_mutex_unlock(&deadlines->lock);
    return NULL;
}

struct ig_deadlines *ig_deadlines_start(unsigned timeout_s, struct ig_counter *slow_bodies)
{
    struct ig_deadlines *deadlines = calloc(1, sizeof *deadlines);
    if (!deadlines) {
        ig_error("out of memory starting the request deadline thread");
        return NULL;
    }
    deadlines->timeout_s = timeout_s;
    deadlines->slow_bodies = slow_bodies;
    deadlines->log_limit = (struct ig_log_limit)IG_LOG_LIMIT_INIT(LOGGED_PER_SWEEP);
    deadlines->expired = ig_metrics_counter(
        "immutable_guard_slow_requests_total",
        "Connections shut down because their TLS handshake and request headers took longer than "
        "--connection-timeout.",
        "");

    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    int status = pthread_cond_init(&deadlines->wakeup, &attributes);
    pthread_condattr_destroy(&attributes);
    if (status != 0) {
        ig_error("failed to create the request deadline condition variable",
                 IG_F_STR("error", strerror(status)));
        free(deadlines);
        return NULL;
    }
    pthread_mutex_init(&deadlines->lock, NULL);

    status = pthread_create(&deadlines->thread, NULL, sweep_loop, deadlines);
    if (status != 0) {
        ig_error("failed to start the request deadline thread",
                 IG_F_STR("error", strerror(status)));
        pthread_cond_destroy(&deadlines->wakeup);
        pthread_mutex_destroy(&deadlines->lock);
        free(deadlines);
        return NULL;
    }
    /* The name shows in /proc/PID/task/TID/comm, for top -H and the tests. */
    pthread_setname_np(deadlines->thread, "ig-deadlines");
    return deadlines;
}

void ig_deadlines_stop(struct ig_deadlines *deadlines)
{
    if (!deadlines)
        return;
    pthread_mutex_lock(&deadlines->lock);
    deadlines->stopping = true;
    pthread_cond_signal(&deadlines->wakeup);
    pthread_mutex_unlock(&deadlines->lock);
    pthread_join(deadlines->thread, NULL);
    pthread_cond_destroy(&deadlines->wakeup);
    pthread_mutex_destroy(&deadlines->lock);
    free(deadlines);
}

void ig_deadlines_add(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry, int fd,
                      const struct sockaddr *peer, socklen_t peer_length)
{
    long long now_ms = monotonic_ms();
    memset(entry, 0, sizeof *entry);
    entry->fd = fd;
    if (peer && peer_length > 0 && peer_length <= sizeof entry->peer)
        memcpy(&entry->peer, peer, peer_length);
    atomic_init(&entry->armed_ms, now_ms);
    atomic_init(&entry->deadline, pack(now_ms + (long long)deadlines->timeout_s * 1000,
                                       IG_DEADLINE_AFTER_ACCEPT));

    pthread_mutex_lock(&deadlines->lock);
    entry->next = deadlines->head;
    if (deadlines->head)
        deadlines->head->previous = entry;
    deadlines->head = entry;
    if (deadlines->sweeper_waits_untimed)
        pthread_cond_signal(&deadlines->wakeup);
    pthread_mutex_unlock(&deadlines->lock);
}

/* Arm entry for phase with a deadline seconds from now. */
static void arm(struct ig_deadline_entry *entry, enum ig_deadline_phase phase, long long seconds)
{
    long long now_ms = monotonic_ms();
    atomic_store(&entry->armed_ms, now_ms);
    atomic_store(&entry->deadline, pack(now_ms + seconds * 1000, phase));
}

void ig_deadlines_arm_after_reply(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry,
                                  unsigned extra_s)
{
    arm(entry, IG_DEADLINE_AFTER_REPLY, (long long)deadlines->timeout_s + extra_s);
}

void ig_deadlines_arm_body(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry)
{
    arm(entry, IG_DEADLINE_BODY, deadlines->timeout_s);
}

bool ig_deadlines_disarm(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry)
{
    (void)deadlines;
    return atomic_exchange(&entry->deadline, 0) != 0;
}

void ig_deadlines_remove(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry)
{
    pthread_mutex_lock(&deadlines->lock);
    if (entry->previous)
        entry->previous->next = entry->next;
    else
        deadlines->head = entry->next;
    if (entry->next)
        entry->next->previous = entry->previous;
    entry->previous = entry->next = NULL;
    atomic_store(&entry->deadline, 0);
    pthread_mutex_unlock(&deadlines->lock);
}
