/* Test driver for leader election: starts the Kubernetes daemon the way
 * `immutable-guard serve` does and, while it leads, writes a probe ConfigMap
 * every 100 ms through the daemon's client, so the stand-in's request log
 * shows which identity wrote when. SIGTERM or SIGINT stops the daemon (which
 * releases the lease) and exits with status 0.
 *
 *   kube-leader-driver --kubeconfig PATH --identity ID --lease-name NAME
 *       --lease-namespace NS --probe-namespace NS
 *       [--lease-duration S --renew-deadline S --retry-period S] */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "kube/client.h"
#include "kube/daemon.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

static double parse_seconds(const char *text, const char *flag)
{
    char *end;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || value <= 0) {
        fprintf(stderr, "kube-leader-driver: %s needs a positive number of seconds, got '%s'\n",
                flag, text);
        exit(2);
    }
    return value;
}

/* Write the probe ConfigMap's annotation; the client's write guard blocks
 * the call when this replica does not lead. */
static void write_probe(struct ig_kube_client *client, const char *ns, const char *identity,
                        long sequence)
{
    static const struct ig_kube_resource configmaps = {"", "v1", "configmaps", true};
    char seq[32];
    snprintf(seq, sizeof seq, "%ld", sequence);
    cJSON *patch = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(patch, "metadata");
    cJSON *annotations = cJSON_AddObjectToObject(meta, "annotations");
    cJSON_AddStringToObject(annotations, "probe/holder", identity);
    cJSON_AddStringToObject(annotations, "probe/sequence", seq);
    struct ig_kube_status status = {0};
    if (ig_kube_merge_patch(client, &configmaps, ns, "probe", NULL, patch, NULL, &status) != 0 &&
        status.reason != IG_KUBE_REASON_NOT_LEADER)
        ig_warn("probe write failed", IG_F_INT("code", status.code),
                IG_F_STR("error", status.message));
    ig_kube_status_clear(&status);
    cJSON_Delete(patch);
}

int main(int argc, char **argv)
{
    struct ig_kube_daemon_options options = {.leader_elect = true};
    struct ig_kube_daemon_timing timing = {0};
    const char *probe_ns = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *flag = argv[i], *value = argv[i + 1];
        if (strcmp(flag, "--kubeconfig") == 0)
            options.kubeconfig = value;
        else if (strcmp(flag, "--identity") == 0)
            options.identity = value;
        else if (strcmp(flag, "--lease-name") == 0)
            options.lease_name = value;
        else if (strcmp(flag, "--lease-namespace") == 0)
            options.lease_namespace = value;
        else if (strcmp(flag, "--probe-namespace") == 0)
            probe_ns = value;
        else if (strcmp(flag, "--lease-duration") == 0)
            timing.lease_duration = parse_seconds(value, flag);
        else if (strcmp(flag, "--renew-deadline") == 0)
            timing.renew_deadline = parse_seconds(value, flag);
        else if (strcmp(flag, "--retry-period") == 0)
            timing.retry_period = parse_seconds(value, flag);
        else {
            fprintf(stderr, "kube-leader-driver: unknown option %s\n", flag);
            return 2;
        }
    }
    if (!probe_ns || !options.identity) {
        fprintf(stderr, "kube-leader-driver: --probe-namespace and --identity are required\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct ig_kube_daemon *daemon = NULL;
    int rc = ig_kube_daemon_start_timed(&options, &timing, &daemon);
    if (rc != 0)
        return rc < 0 ? 1 : 3;

    long sequence = 0;
    while (!stop_requested) {
        if (ig_kube_daemon_is_leader(daemon))
            write_probe(ig_kube_daemon_client(daemon), probe_ns, options.identity, ++sequence);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    ig_kube_daemon_stop(daemon);
    return 0;
}
