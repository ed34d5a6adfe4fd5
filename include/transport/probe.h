/* Plain-HTTP probe server: GET /healthz, /readyz and /metrics. */
#ifndef IG_TRANSPORT_PROBE_H
#define IG_TRANSPORT_PROBE_H

#include <stdbool.h>

struct ig_probe_server;

/* Return whether the webhook can take requests. /readyz returns 503 while it is false. */
typedef bool (*ig_readiness_fn)(void *context);

/* Listen on HOST:PORT and serve the probes on one thread. Returns NULL after
 * logging the reason. */
struct ig_probe_server *ig_probe_server_start(const char *listen, ig_readiness_fn is_ready,
                                              void *context);
unsigned ig_probe_server_port(const struct ig_probe_server *probe);
/* Stop the thread and free the server. NULL is allowed. */
void ig_probe_server_stop(struct ig_probe_server *probe);

#endif
