/* Leader election with a coordination.k8s.io/v1 Lease, following client-go.
 * A candidate takes over only after a full lease duration in which the record
 * it observed did not change, measured on its own clock and never with the
 * timestamps in the record. Every write carries the resourceVersion it read,
 * so a 409 means another replica won. A leader that has not renewed within
 * the renew deadline stops leading at once and becomes a candidate again. */
#ifndef IG_KUBE_LEADER_H
#define IG_KUBE_LEADER_H

#include <stdbool.h>

#include "kube/client.h"

/* client-go defaults: lease 15 s, renew deadline 10 s, retry period 2 s. */
#define IG_KUBE_LEASE_DURATION 15.0
#define IG_KUBE_RENEW_DEADLINE 10.0
#define IG_KUBE_RETRY_PERIOD 2.0

struct ig_kube_leader_options {
    const char *namespace;
    const char *name;
    const char *identity;
    double lease_duration; /* seconds; 0 means IG_KUBE_LEASE_DURATION */
    double renew_deadline; /* seconds; 0 means IG_KUBE_RENEW_DEADLINE */
    double retry_period;   /* seconds; 0 means IG_KUBE_RETRY_PERIOD */
    /* Called on the election thread when leading starts or stops. */
    void (*on_started_leading)(void *ctx);
    void (*on_stopped_leading)(void *ctx);
    void *ctx;
};

struct ig_kube_leader;

/* Returns NULL when the options are invalid (logged: durations must satisfy
 * lease > renew deadline > 1.2 x retry period) or memory runs out. */
struct ig_kube_leader *ig_kube_leader_new(struct ig_kube_client *client,
                                          const struct ig_kube_leader_options *options);
int ig_kube_leader_start(struct ig_kube_leader *leader);

/* True only while this replica holds the lease and its last successful renewal
 * started less than the renew deadline ago, measured on CLOCK_MONOTONIC; so it
 * turns false on time even when the election thread is stalled. */
bool ig_kube_leader_is_leader(struct ig_kube_leader *leader);

/* Stop the election thread; when leading and release is true, hand the lease
 * back (empty holder, leaseDurationSeconds 1) so another replica takes over at
 * once. Frees the elector. NULL is allowed. */
void ig_kube_leader_free(struct ig_kube_leader *leader, bool release);

/* Write guard for ig_kube_client_set_write_guard; ctx is the elector. */
bool ig_kube_leader_write_guard(void *ctx);

#endif
