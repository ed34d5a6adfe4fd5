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

#endif
