/* The HTTPS admission webhook server (POST /validate and /mutate) and the
 * plain-HTTP probe server (GET /healthz, /readyz, /metrics), both on
 * libmicrohttpd. */
#ifndef IG_TRANSPORT_SERVER_H
#define IG_TRANSPORT_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "admission/review.h"

struct ig_server_config {
    const char *listen;       /* HOST:PORT of the webhook, ":8443" */
    const char *probe_listen; /* HOST:PORT of the probe server, ":8081" */
    const char *tls_cert_path;
    const char *tls_key_path;
    struct ig_admission_config admission;
    size_t max_body_bytes;          /* larger request bodies get 413 */
    /* Bytes of request bodies buffered at once over all connections; a
     * request that would pass it gets 503. At least max_body_bytes. */
    size_t max_buffered_bytes;
    /* Idle time before a connection is closed, the longest time the TLS
     * handshake and request headers may take (from accept, or from the
     * previous reply plus 2 s), and the longest time a request body may take. */
    unsigned connection_timeout_s;
    unsigned connection_limit;      /* open connections at most, over all threads */
    unsigned threads;               /* webhook worker threads */
    unsigned shutdown_grace_s;      /* maximum wait for in-flight requests on shutdown */
    unsigned tls_poll_interval_ms;  /* how often the key pair files are checked */
};

struct ig_server;

/* Load the key pair, listen on both ports and start serving. Returns NULL
 * after logging the reason (invalid key pair, port in use, ...). */
struct ig_server *ig_server_start(const struct ig_server_config *config);

/* Stop accepting connections, let in-flight requests finish (up to
 * shutdown_grace_s), then stop both servers and free everything. */
void ig_server_shutdown(struct ig_server *server);

/* Return the bound ports, which differ from the configured ones for port 0. */
unsigned ig_server_port(const struct ig_server *server);
unsigned ig_server_probe_port(const struct ig_server *server);

#endif
