/* Kubernetes side of `immutable-guard serve`: client configuration, informers
 * and leader election, started beside the webhook. The webhook keeps serving
 * whether or not this part runs or leads. */
#ifndef IG_KUBE_DAEMON_H
#define IG_KUBE_DAEMON_H

#include <stdbool.h>

struct ig_kube_daemon_options {
    const char *kubeconfig;      /* --kubeconfig or KUBECONFIG; NULL tries in-cluster */
    bool leader_elect;           /* --leader-elect */
    const char *lease_name;      /* --lease-name, default "immutable-guard" */
    const char *lease_namespace; /* --lease-namespace, default the pod's namespace */
    const char *identity;        /* default: POD_NAME, else the host name */
};

struct ig_kube_daemon;

/* Start the client threads. Returns 0 and sets *out, or returns 1 after logging
 * that sync is disabled because no configuration was found (*out is NULL then),
 * or -1 after logging an error on an invalid configuration. */
int ig_kube_daemon_start(const struct ig_kube_daemon_options *options, struct ig_kube_daemon **out);

/* Stop every thread, release the lease if held, and free the daemon. NULL is allowed. */
void ig_kube_daemon_stop(struct ig_kube_daemon *daemon);

/* Leader election timing in seconds; 0 keeps the default (15 s lease, 10 s
 * renew deadline, 2 s retry period). Shorter values are for tests. */
struct ig_kube_daemon_timing {
    double lease_duration;
    double renew_deadline;
    double retry_period;
};

/* ig_kube_daemon_start with explicit leader election timing (NULL: defaults). */
int ig_kube_daemon_start_timed(const struct ig_kube_daemon_options *options,
                               const struct ig_kube_daemon_timing *timing,
                               struct ig_kube_daemon **out);

/* True when this replica may write: it holds the lease and renewed it within
 * the renew deadline, or leader election is off. Check it before each sync
 * pass. The client's write guard checks the same before every write, and
 * again right before the request is sent. */
bool ig_kube_daemon_is_leader(struct ig_kube_daemon *daemon);

struct ig_kube_client;
struct ig_kube_informer;
struct ig_kube_event_recorder;

enum ig_kube_daemon_cache {
    IG_KUBE_CACHE_EXTERNAL_SECRETS,
    IG_KUBE_CACHE_SECRET_STORES,
    IG_KUBE_CACHE_CLUSTER_SECRET_STORES,
};

/* Objects owned by the daemon, valid until ig_kube_daemon_stop. */
struct ig_kube_client *ig_kube_daemon_client(struct ig_kube_daemon *daemon);
struct ig_kube_informer *ig_kube_daemon_informer(struct ig_kube_daemon *daemon,
                                                 enum ig_kube_daemon_cache cache);
struct ig_kube_event_recorder *ig_kube_daemon_events(struct ig_kube_daemon *daemon);
/* The identity used in the lease and in Events: options->identity, else
 * POD_NAME, else the host name. */
const char *ig_kube_daemon_identity(const struct ig_kube_daemon *daemon);

#endif
