#include "transport/probe.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "transport/listen.h"
#include "transport/mhd_log.h"

/* The kubelet opens a new connection for every probe and gives up after its
 * timeout (1 s by default), so idle connections are closed quickly and there
 * is room for many: with 64 slots and a 10 s timeout, 64 idle clients kept
 * every probe waiting in the listen backlog until the kubelet restarted the
 * pod. Each slot is small (PROBE_CONNECTION_MEMORY bytes for headers). */
#define PROBE_CONNECTION_LIMIT 512
#define PROBE_CONNECTION_TIMEOUT_S 3
#define PROBE_CONNECTION_MEMORY (8 * 1024)

struct ig_probe_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    ig_readiness_fn is_ready;
    void *context;
};

static enum MHD_Result reply_text(struct MHD_Connection *connection, unsigned code, const char *text,
                                  const char *content_type)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result queued = MHD_queue_response(connection, code, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result reply_metrics(struct MHD_Connection *connection)
{
    size_t length = 0;
    char *text = ig_metrics_render(&length);
    if (!text)
        return reply_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n",
                          "text/plain; charset=utf-8");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, text, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result queued = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result on_probe_request(void *cls, struct MHD_Connection *connection,
                                        const char *url, const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
    static int request_seen;
    struct ig_probe_server *probe = cls;
    (void)version;
    (void)upload_data;

    if (*con_cls == NULL) {
        *con_cls = &request_seen; /* reply once the whole request has arrived */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* probes carry no body; ignore one */
        return MHD_YES;
    }

    const char *plain = "text/plain; charset=utf-8";
    bool known = strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
                 strcmp(url, "/metrics") == 0;
    if (!known)
        return reply_text(connection, MHD_HTTP_NOT_FOUND,
                          "not found: the probe server serves /healthz, /readyz and /metrics\n",
                          plain);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n",
                          plain);
    if (strcmp(url, "/healthz") == 0)
        return reply_text(connection, MHD_HTTP_OK, "ok\n", plain);
    if (strcmp(url, "/readyz") == 0) {
        if (probe->is_ready(probe->context))
            return reply_text(connection, MHD_HTTP_OK, "ok\n", plain);
        return reply_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n", plain);
    }
    return reply_metrics(connection);
}

struct ig_probe_server *ig_probe_server_start(const char *listen, ig_readiness_fn is_ready,
                                              void *context)
{
    struct ig_probe_server *probe = calloc(1, sizeof *probe);
    if (!probe) {
        ig_error("out of memory starting the probe server");
        return NULL;
    }
    probe->is_ready = is_ready;
    probe->context = context;

    int fd = ig_listen_open(listen);
    if (fd < 0) {
        free(probe);
        return NULL;
    }
    probe->port = ig_listen_port(fd);
    /* The logger must be the first option to catch every message. */
    probe->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_probe_request, probe,
        MHD_OPTION_EXTERNAL_LOGGER, ig_mhd_log, "probe",
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)PROBE_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROBE_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PROBE_CONNECTION_MEMORY,
        MHD_OPTION_END);
    if (!probe->daemon) {
        ig_error("failed to start the probe server", IG_F_STR("address", listen));
        close(fd);
        free(probe);
        return NULL;
    }
    ig_info("probe server listening", IG_F_STR("address", listen), IG_F_INT("port", probe->port));
    return probe;
}

unsigned ig_probe_server_port(const struct ig_probe_server *probe)
{
    return probe->port;
}

void ig_probe_server_stop(struct ig_probe_server *probe)
{
    if (!probe)
        return;
    MHD_stop_daemon(probe->daemon);
    free(probe);
}
