/* `immutable-guard serve`: the admission webhook over HTTPS plus the probe
 * server, until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/review.h"
#include "cli/commands.h"
#include "common/log.h"
#include "common/version.h"
#include "kube/daemon.h"
#include "transport/listen.h"
#include "transport/server.h"

enum serve_option {
    OPT_LISTEN,
    OPT_PROBE_LISTEN,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_MODE,
    OPT_MUTATE_ACTION,
    OPT_EXEMPT_NAMESPACES,
    OPT_MAX_BODY_BYTES,
    OPT_MAX_BUFFERED_BYTES,
    OPT_CONNECTION_TIMEOUT,
    OPT_CONNECTION_LIMIT,
    OPT_THREADS,
    OPT_SHUTDOWN_GRACE,
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
    OPT_KUBECONFIG,
    OPT_LEADER_ELECT,
    OPT_LEASE_NAME,
    OPT_LEASE_NAMESPACE,
    OPT_COUNT,
    OPT_HELP = OPT_COUNT,
};

struct option_spec {
    const char *name;
    const char *env;
    const char *default_value; /* NULL: unset */
    const char *help;          /* what it sets, with unit and default */
};

static const struct option_spec specs[OPT_COUNT] = {
    [OPT_LISTEN] = {"listen", "IG_LISTEN", ":8443",
                    "HOST:PORT of the HTTPS webhook; an empty host means every interface"},
    [OPT_PROBE_LISTEN] = {"probe-listen", "IG_PROBE_LISTEN", ":8081",
                          "HOST:PORT of the plain-HTTP /healthz, /readyz and /metrics server"},
    [OPT_TLS_CERT] = {"tls-cert", "IG_TLS_CERT", "/etc/immutable-guard/tls/tls.crt",
                      "PEM serving certificate (chain); reloaded when the file changes"},
    [OPT_TLS_KEY] = {"tls-key", "IG_TLS_KEY", "/etc/immutable-guard/tls/tls.key",
                     "PEM private key of the serving certificate; reloaded when it changes"},
    [OPT_MODE] = {"mode", "IG_MODE", "enforce",
                  "action of /validate on a violation: enforce (deny), warn or audit (log only)"},
    [OPT_MUTATE_ACTION] = {"mutate-action", "IG_MUTATE_ACTION", "annotate",
                           "rewrite by /mutate: annotate (rotation: recreate) or set-mutable"},
    [OPT_EXEMPT_NAMESPACES] = {"exempt-namespaces", "IG_EXEMPT_NAMESPACES", "",
                               "comma-separated namespaces whose objects are allowed and audited"},
    [OPT_MAX_BODY_BYTES] = {"max-body-bytes", "IG_MAX_BODY_BYTES", "7340032",
                            "largest request body in bytes (7 MiB); larger bodies get HTTP 413"},
    [OPT_MAX_BUFFERED_BYTES] = {"max-buffered-bytes", "IG_MAX_BUFFERED_BYTES", "67108864",
                                "bytes of request bodies held in memory at once, over all "
                                "connections (64\x01MiB); a request that would pass it gets "
                                "HTTP 503 with Retry-After:\x01" "1. The default leaves room "
                                "for nine reviews of the maximum size, such as UPDATE reviews "
                                "that carry a large object twice, and stays far below the "
                                "256\x01MiB memory limit of the Deployment in deploy/base. It "
                                "must be at least --max-body-bytes"},
    [OPT_CONNECTION_TIMEOUT] = {"connection-timeout", "IG_CONNECTION_TIMEOUT", "120",
                                "seconds a connection may stay idle before it is closed, the "
                                "longest the TLS handshake and request headers may take, and "
                                "the longest a request body may take after its headers; keep "
                                "it above "
                                "the client's keep-alive idle time (90 s in kube-apiserver, "
                                "from Go's http.DefaultTransport)"},
    [OPT_CONNECTION_LIMIT] = {"connection-limit", "IG_CONNECTION_LIMIT", "512",
                              "maximum open webhook connections; new ones beyond it are closed "
                              "at once"},
    [OPT_THREADS] = {"threads", "IG_THREADS", "0",
                     "webhook worker threads; 0 means one per usable CPU"},
    [OPT_SHUTDOWN_GRACE] = {"shutdown-grace", "IG_SHUTDOWN_GRACE", "25",
                            "seconds to wait for in-flight requests after SIGTERM"},
    [OPT_LOG_FORMAT] = {"log-format", "IG_LOG_FORMAT", "json", "json (one object per line) or text"},
    [OPT_LOG_LEVEL] = {"log-level", "IG_LOG_LEVEL", "info", "debug, info, warn or error"},
    [OPT_KUBECONFIG] = {"kubeconfig", "IG_KUBECONFIG", NULL,
                        "kubeconfig file of the sync daemon; when unset, $KUBECONFIG, then "
                        "the in-cluster service account"},
    [OPT_LEADER_ELECT] = {"leader-elect", "IG_LEADER_ELECT", "false",
                          "true: the replicas elect a leader through a Lease, and only the "
                          "leader writes to the cluster"},
    [OPT_LEASE_NAME] = {"lease-name", "IG_LEASE_NAME", "immutable-guard",
                        "name of the leader election Lease"},
    [OPT_LEASE_NAMESPACE] = {"lease-namespace", "IG_LEASE_NAMESPACE", NULL,
                             "namespace of the Lease; when unset, the pod's own namespace"},
};

/* In help text, a space that a line break must not replace. */
#define NO_BREAK_SPACE '\x01'

static void print_word(FILE *out, const char *word, int length)
{
    for (int i = 0; i < length; i++)
        fputc(word[i] == NO_BREAK_SPACE ? ' ' : word[i], out);
}

/* Print text word-wrapped to 79 columns, each line indented by indent spaces. */
static void print_wrapped(FILE *out, const char *text, int indent)
{
    const int width = 79;
    int column = 0;
    const char *word = text;
    while (*word) {
        while (*word == ' ')
            word++;
        int length = (int)strcspn(word, " ");
        if (length == 0)
            break;
        if (column > 0 && column + 1 + length > width) {
            fputc('\n', out);
            column = 0;
        }
        if (column == 0) {
            column = fprintf(out, "%*s", indent, "");
        } else {
            fputc(' ', out);
            column++;
        }
        print_word(out, word, length);
        column += length;
        word += length;
    }
    fputc('\n', out);
}

static void print_help(FILE *out)
{
    fputs("Usage: immutable-guard serve [OPTIONS]\n\n"
          "Serve the admission webhook: POST /validate and POST /mutate over HTTPS, and\n"
          "/healthz, /readyz and /metrics over plain HTTP. SIGTERM or SIGINT stops\n"
          "accepting connections, finishes in-flight requests and exits with status 0.\n\n"
          "Every option can also be set by the environment variable shown; the option\n"
          "wins over the variable.\n\nOptions:\n",
          out);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct option_spec *spec = &specs[i];
        const char *value = i == OPT_LEADER_ELECT ? "[=BOOL]" : "=VALUE";
        fprintf(out, "  --%s%s  (%s)\n", spec->name, value, spec->env);
        char text[512];
        const char *default_value =
            spec->default_value && spec->default_value[0] ? spec->default_value : "unset";
        snprintf(text, sizeof text, "%s. Default:%c%s", spec->help, NO_BREAK_SPACE, default_value);
        print_wrapped(out, text, 6);
    }
    fputs("  -h, --help\n      show this help\n", out);
}

static bool parse_unsigned(const char *text, unsigned long long min, unsigned long long max,
                           unsigned long long *out)
{
    if (!text || *text == '\0' || *text == '-' || *text == '+')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

static bool parse_bool(const char *text, bool *out)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static void invalid_value(int option, const char *value, const char *expected)
{
    fprintf(stderr, "immutable-guard serve: invalid value \"%s\" for --%s (%s): expected %s\n",
            value, specs[option].name, specs[option].env, expected);
}

/* Split "a, b,,c" into trimmed, non-empty names. The names point into one
 * copy of the text, kept in the slot after the last possible name; free both
 * with free_names. */
static char **split_names(const char *text, size_t *count, size_t *slots)
{
    size_t capacity = 1;
    for (const char *p = text; *p; p++)
        capacity += *p == ',';
    char **names = calloc(capacity + 1, sizeof *names);
    char *copy = strdup(text);
    if (!names || !copy) {
        free(names);
        free(copy);
        return NULL;
    }
    names[capacity] = copy;
    *slots = capacity;
    *count = 0;
    char *cursor = copy;
    while (cursor) {
        char *comma = strchr(cursor, ',');
        if (comma)
            *comma = '\0';
        while (*cursor == ' ' || *cursor == '\t')
            cursor++;
        size_t length = strlen(cursor);
        while (length > 0 && (cursor[length - 1] == ' ' || cursor[length - 1] == '\t'))
            cursor[--length] = '\0';
        if (length > 0)
            names[(*count)++] = cursor;
        cursor = comma ? comma + 1 : NULL;
    }
    return names;
}

static void free_names(char **names, size_t slots)
{
    if (!names)
        return;
    free(names[slots]);
    free(names);
}

/* Collect option values: defaults, then environment, then arguments. Returns
 * 0 to go on, or an exit status (0 after --help, 2 on a usage error). */
static int collect_values(int argc, char **argv, const char *values[OPT_COUNT])
{
    struct option long_options[OPT_COUNT + 2];
    for (int i = 0; i < OPT_COUNT; i++) {
        values[i] = specs[i].default_value;
        const char *from_env = getenv(specs[i].env);
        if (from_env)
            values[i] = from_env;
        long_options[i] = (struct option){specs[i].name,
                                          i == OPT_LEADER_ELECT ? optional_argument
                                                                : required_argument,
                                          NULL, i};
    }
    if (!getenv(specs[OPT_KUBECONFIG].env) && getenv("KUBECONFIG"))
        values[OPT_KUBECONFIG] = getenv("KUBECONFIG");
    long_options[OPT_COUNT] = (struct option){"help", no_argument, NULL, OPT_HELP};
    long_options[OPT_COUNT + 1] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    opterr = 0;
    for (;;) {
        int index = optind;
        int option = getopt_long(argc, argv, "+h", long_options, NULL);
        if (option == -1)
            break;
        if (option == OPT_HELP || option == 'h') {
            print_help(stdout);
            return -1;
        }
        if (option == '?' || option == ':') {
            fprintf(stderr,
                    "immutable-guard serve: unknown option or missing value in \"%s\"; run "
                    "'immutable-guard serve --help'\n",
                    index < argc ? argv[index] : "");
            return 2;
        }
        values[option] = option == OPT_LEADER_ELECT && !optarg ? "true" : optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "immutable-guard serve: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return 0;
}

struct serve_settings {
    struct ig_server_config server;
    struct ig_kube_daemon_options kube;
    enum ig_log_level log_level;
    enum ig_log_format log_format;
    char **exempt;
    size_t exempt_count;
    size_t exempt_slots;
};

static bool parse_settings(const char *values[OPT_COUNT], struct serve_settings *out)
{
    unsigned long long number;
    struct ig_server_config *server = &out->server;

    if (!ig_log_parse_format(values[OPT_LOG_FORMAT], &out->log_format)) {
        invalid_value(OPT_LOG_FORMAT, values[OPT_LOG_FORMAT], "json or text");
        return false;
    }
    if (!ig_log_parse_level(values[OPT_LOG_LEVEL], &out->log_level)) {
        invalid_value(OPT_LOG_LEVEL, values[OPT_LOG_LEVEL], "debug, info, warn or error");
        return false;
    }

    char host[256];
    unsigned port;
    if (!ig_listen_parse(values[OPT_LISTEN], host, sizeof host, &port)) {
        invalid_value(OPT_LISTEN, values[OPT_LISTEN], "HOST:PORT, :PORT or [IPV6]:PORT");
        return false;
    }
    if (!ig_listen_parse(values[OPT_PROBE_LISTEN], host, sizeof host, &port)) {
        invalid_value(OPT_PROBE_LISTEN, values[OPT_PROBE_LISTEN], "HOST:PORT, :PORT or [IPV6]:PORT");
        return false;
    }
    server->listen = values[OPT_LISTEN];
    server->probe_listen = values[OPT_PROBE_LISTEN];
    server->tls_cert_path = values[OPT_TLS_CERT];
    server->tls_key_path = values[OPT_TLS_KEY];
    if (!server->tls_cert_path || !*server->tls_cert_path || !server->tls_key_path ||
        !*server->tls_key_path) {
        fputs("immutable-guard serve: --tls-cert and --tls-key must name the key pair files\n",
              stderr);
        return false;
    }

    if (!ig_mode_parse(values[OPT_MODE], &server->admission.mode)) {
        invalid_value(OPT_MODE, values[OPT_MODE], "enforce, warn or audit");
        return false;
    }
    if (!ig_mutate_action_parse(values[OPT_MUTATE_ACTION], &server->admission.mutate_action)) {
        invalid_value(OPT_MUTATE_ACTION, values[OPT_MUTATE_ACTION], "annotate or set-mutable");
        return false;
    }
    out->exempt = split_names(values[OPT_EXEMPT_NAMESPACES], &out->exempt_count,
                              &out->exempt_slots);
    if (!out->exempt) {
        fputs("immutable-guard serve: out of memory\n", stderr);
        return false;
    }
    server->admission.exempt_namespaces = (const char *const *)out->exempt;
    server->admission.exempt_namespace_count = out->exempt_count;

    if (!parse_unsigned(values[OPT_MAX_BODY_BYTES], 1024, 1ULL << 30, &number)) {
        invalid_value(OPT_MAX_BODY_BYTES, values[OPT_MAX_BODY_BYTES],
                      "a number of bytes from 1024 to 1073741824");
        return false;
    }
    server->max_body_bytes = (size_t)number;
    if (!parse_unsigned(values[OPT_MAX_BUFFERED_BYTES], 1024, 1ULL << 40, &number)) {
        invalid_value(OPT_MAX_BUFFERED_BYTES, values[OPT_MAX_BUFFERED_BYTES],
                      "a number of bytes from 1024 to 1099511627776");
        return false;
    }
    if (number < server->max_body_bytes) {
        fprintf(stderr,
                "immutable-guard serve: --max-buffered-bytes (%llu) is smaller than "
                "--max-body-bytes (%zu), so a request of the maximum size could never be "
                "accepted; raise --max-buffered-bytes or lower --max-body-bytes\n",
                number, server->max_body_bytes);
        return false;
    }
    server->max_buffered_bytes = (size_t)number;
    if (!parse_unsigned(values[OPT_CONNECTION_TIMEOUT], 1, 86400, &number)) {
        invalid_value(OPT_CONNECTION_TIMEOUT, values[OPT_CONNECTION_TIMEOUT],
                      "seconds from 1 to 86400");
        return false;
    }
    server->connection_timeout_s = (unsigned)number;
    if (!parse_unsigned(values[OPT_THREADS], 0, 256, &number)) {
        invalid_value(OPT_THREADS, values[OPT_THREADS], "a number from 0 (one per CPU) to 256");
        return false;
    }
    server->threads = number == 0 ? ig_usable_cpu_count() : (unsigned)number;
    if (!parse_unsigned(values[OPT_CONNECTION_LIMIT], 1, 1000000, &number)) {
        invalid_value(OPT_CONNECTION_LIMIT, values[OPT_CONNECTION_LIMIT],
                      "a number from 1 to 1000000");
        return false;
    }
    server->connection_limit = (unsigned)number;
    if (!parse_unsigned(values[OPT_SHUTDOWN_GRACE], 0, 3600, &number)) {
        invalid_value(OPT_SHUTDOWN_GRACE, values[OPT_SHUTDOWN_GRACE], "seconds from 0 to 3600");
        return false;
    }
    server->shutdown_grace_s = (unsigned)number;
    server->tls_poll_interval_ms = 1000;

    out->kube.kubeconfig = values[OPT_KUBECONFIG];
    if (!parse_bool(values[OPT_LEADER_ELECT], &out->kube.leader_elect)) {
        invalid_value(OPT_LEADER_ELECT, values[OPT_LEADER_ELECT], "true or false");
        return false;
    }
    out->kube.lease_name = values[OPT_LEASE_NAME];
    out->kube.lease_namespace =
        values[OPT_LEASE_NAMESPACE] && *values[OPT_LEASE_NAMESPACE] ? values[OPT_LEASE_NAMESPACE]
                                                                    : NULL;
    out->kube.identity = NULL;
    return true;
}

static const char *signal_name(int number)
{
    if (number == SIGTERM)
        return "SIGTERM";
    if (number == SIGINT)
        return "SIGINT";
    return "signal";
}

int ig_cmd_serve(int argc, char **argv)
{
    const char *values[OPT_COUNT];
    struct serve_settings settings;
    memset(&settings, 0, sizeof settings);

    int status = collect_values(argc, argv, values);
    if (status != 0)
        return status < 0 ? 0 : status;
    if (!parse_settings(values, &settings)) {
        free_names(settings.exempt, settings.exempt_slots);
        return 2;
    }
    /* Every thread started from here on (the log writer included) inherits
     * this mask, so SIGTERM and SIGINT reach only the sigwait() below. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    ig_log_configure(settings.log_level, settings.log_format);
    /* A slow reader of stdout must not stall admission requests. */
    ig_log_start_async();
    ig_admission_register_metrics();

    ig_info("immutable-guard starting", IG_F_STR("version", IG_VERSION),
            IG_F_STR("commit", IG_GIT_COMMIT),
            IG_F_STR("mode", ig_mode_name(settings.server.admission.mode)),
            IG_F_STR("mutate_action", values[OPT_MUTATE_ACTION]),
            IG_F_STR("exempt_namespaces", values[OPT_EXEMPT_NAMESPACES]));

    struct ig_server *server = ig_server_start(&settings.server);
    if (!server) {
        ig_error("immutable-guard failed to start; see the previous error");
        free_names(settings.exempt, settings.exempt_slots);
        ig_log_stop_async();
        return 1;
    }

    /* The webhook serves whether or not the sync daemon runs: with
     * failurePolicy Fail, a webhook that exits would block every
     * ExternalSecret change in the cluster. */
    struct ig_kube_daemon *kube = NULL;
    if (ig_kube_daemon_start(&settings.kube, &kube) < 0)
        ig_error("the Kubernetes sync daemon did not start; the webhook keeps serving without it. "
                 "Fix --kubeconfig (or the in-cluster service account) and restart");

    int received = 0;
    while (sigwait(&stop_signals, &received) != 0)
        ;
    ig_info("received a stop signal; shutting down", IG_F_STR("signal", signal_name(received)));
    /* Release the Lease first, so that another replica can take over while
     * this one finishes its in-flight requests. */
    ig_kube_daemon_stop(kube);
    ig_server_shutdown(server);
    free_names(settings.exempt, settings.exempt_slots);
    ig_info("immutable-guard stopped");
    ig_log_stop_async();
    return 0;
}
