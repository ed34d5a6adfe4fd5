#include "kube/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/leader.h"

#define DEFAULT_LEASE_NAME "immutable-guard"
#define EVENT_CONTROLLER "immutable-guard/sync"

struct ig_kube_daemon {
    char *identity;
    struct ig_kube_client *client;
    struct ig_kube_leader *leader; /* NULL when leader election is off */
    struct ig_kube_event_recorder *events;
    struct ig_kube_informer *informers[3];
};

static const char *const eso_versions[] = {"v1", "v1beta1"};

static const struct {
    const char *resource;
    bool namespaced;
} caches[] = {
    [IG_KUBE_CACHE_EXTERNAL_SECRETS] = {"externalsecrets", true},
    [IG_KUBE_CACHE_SECRET_STORES] = {"secretstores", true},
    [IG_KUBE_CACHE_CLUSTER_SECRET_STORES] = {"clustersecretstores", false},
};

static char *default_identity(void)
{
    const char *pod = getenv("POD_NAME");
    if (pod && *pod)
        return strdup(pod);
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        return strdup("immutable-guard");
    host[sizeof host - 1] = '\0';
    return strdup(host);
}

static void free_daemon(struct ig_kube_daemon *d)
{
    if (!d)
        return;
    /* Stop writing and hand the lease over before anything else shuts down. */
    ig_kube_leader_free(d->leader, true);
    for (size_t i = 0; i < sizeof d->informers / sizeof d->informers[0]; i++)
        ig_kube_informer_free(d->informers[i]);
    ig_kube_event_recorder_free(d->events);
    ig_kube_client_free(d->client);
    free(d->identity);
    free(d);
}

static int start_informers(struct ig_kube_daemon *d)
{
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        struct ig_kube_informer_options options = {
            .group = "external-secrets.io",
            .versions = eso_versions,
            .version_count = sizeof eso_versions / sizeof eso_versions[0],
            .resource = caches[i].resource,
            .namespaced = caches[i].namespaced,
        };
        d->informers[i] = ig_kube_informer_new(d->client, &options, NULL);
        if (!d->informers[i] || ig_kube_informer_start(d->informers[i]) != 0) {
            ig_error("starting a kube informer failed", IG_F_STR("resource", caches[i].resource));
            return -1;
        }
    }
    return 0;
}

static int start_leader(struct ig_kube_daemon *d, const struct ig_kube_daemon_options *options,
                        const struct ig_kube_config *config,
                        const struct ig_kube_daemon_timing *timing)
{
    const char *ns = options->lease_namespace;
    if (!ns || !*ns)
        ns = getenv("POD_NAMESPACE");
    if (!ns || !*ns)
        ns = config->namespace;
    if (!ns || !*ns) {
        ig_warn("no lease namespace from --lease-namespace, POD_NAMESPACE or the configuration; "
                "using \"default\"");
        ns = "default";
    }
    struct ig_kube_leader_options leader_options = {
        .namespace = ns,
        .name = options->lease_name && *options->lease_name ? options->lease_name
                                                            : DEFAULT_LEASE_NAME,
        .identity = d->identity,
    };
    if (timing) {
        leader_options.lease_duration = timing->lease_duration;
        leader_options.renew_deadline = timing->renew_deadline;
        leader_options.retry_period = timing->retry_period;
    }
    d->leader = ig_kube_leader_new(d->client, &leader_options);
    if (!d->leader)
        return -1;
    ig_kube_client_set_write_guard(d->client, ig_kube_leader_write_guard, d->leader);
    if (ig_kube_leader_start(d->leader) != 0) {
        ig_error("starting the leader election thread failed");
        return -1;
    }
    return 0;
}

int ig_kube_daemon_start_timed(const struct ig_kube_daemon_options *options,
                               const struct ig_kube_daemon_timing *timing,
                               struct ig_kube_daemon **out)
{
    *out = NULL;
    struct ig_kube_config config;
    char err[512] = "";
    int rc = ig_kube_config_load(options->kubeconfig, &config, err, sizeof err);
    if (rc == 1) {
        ig_info("Kubernetes sync disabled: no --kubeconfig, no KUBECONFIG and no in-cluster "
                "service account; the webhook runs alone");
        return 1;
    }
    if (rc != 0) {
        ig_error("invalid Kubernetes client configuration", IG_F_STR("error", err));
        return -1;
    }

    struct ig_kube_daemon *d = calloc(1, sizeof *d);
    if (!d)
        goto oom;
    d->identity = options->identity && *options->identity ? strdup(options->identity)
                                                          : default_identity();
    if (!d->identity)
        goto oom;
    char agent[384];
    snprintf(agent, sizeof agent, "immutable-guard/%s (%s)", IG_VERSION, d->identity);
    struct ig_kube_client_options client_options = {.user_agent = agent};
    d->client = ig_kube_client_new(&config, &client_options);
    if (!d->client)
        goto oom;
    struct ig_kube_event_recorder_options event_options = {
        .controller = EVENT_CONTROLLER,
        .instance = d->identity,
    };
    d->events = ig_kube_event_recorder_new(d->client, &event_options);
    if (!d->events)
        goto oom;

    ig_info("Kubernetes client configured", IG_F_STR("server", config.server),
            IG_F_STR("source", config.source), IG_F_STR("identity", d->identity),
            IG_F_BOOL("leader_elect", options->leader_elect));
    if (options->leader_elect) {
        if (start_leader(d, options, &config, timing) != 0)
            goto fail;
    } else {
        ig_info("leader election is off: this replica writes as if it were the only one");
    }
    if (start_informers(d) != 0)
        goto fail;
    ig_kube_config_free(&config);
    *out = d;
    return 0;
oom:
    ig_error("starting the Kubernetes client failed: out of memory");
fail:
    free_daemon(d);
    ig_kube_config_free(&config);
    return -1;
}

int ig_kube_daemon_start(const struct ig_kube_daemon_options *options, struct ig_kube_daemon **out)
{
    return ig_kube_daemon_start_timed(options, NULL, out);
}

void ig_kube_daemon_stop(struct ig_kube_daemon *daemon)
{
    if (!daemon)
        return;
    ig_info("stopping the Kubernetes client", IG_F_STR("identity", daemon->identity));
    free_daemon(daemon);
}

bool ig_kube_daemon_is_leader(struct ig_kube_daemon *daemon)
{
    if (!daemon)
        return false;
    return daemon->leader ? ig_kube_leader_is_leader(daemon->leader) : true;
}

struct ig_kube_client *ig_kube_daemon_client(struct ig_kube_daemon *daemon)
{
    return daemon->client;
}

struct ig_kube_informer *ig_kube_daemon_informer(struct ig_kube_daemon *daemon,
                                                 enum ig_kube_daemon_cache cache)
{
    if ((size_t)cache >= sizeof daemon->informers / sizeof daemon->informers[0])
        return NULL;
    return daemon->informers[cache];
}

struct ig_kube_event_recorder *ig_kube_daemon_events(struct ig_kube_daemon *daemon)
{
    return daemon->events;
}

const char *ig_kube_daemon_identity(const struct ig_kube_daemon *daemon)
{
    return daemon->identity;
}
