/* Accept thread of the webhook server: takes connections from the listening
 * socket and hands each to the libmicrohttpd worker with the fewest open
 * connections.
 *
 * The server does its own accepting because MHD_quiesce_daemon() in
 * libmicrohttpd 0.9.75 can abort the process ("Failed to remove listen FD
 * from epoll set") when it races with the epoll threads, and MHD offers no
 * other way to stop accepting while connections finish. Each worker is a
 * daemon started with MHD_USE_NO_LISTEN_SOCKET and one poll() thread. */
#ifndef IG_TRANSPORT_ACCEPTOR_H
#define IG_TRANSPORT_ACCEPTOR_H

#include <microhttpd.h>
#include <stdatomic.h>

struct ig_worker {
    struct MHD_Daemon *daemon;
    atomic_uint open_connections; /* kept by the daemon's connection callback */
    /* Handed to the daemon by the acceptor and not yet started by its
     * thread: the acceptor adds one, the connection callback takes it back. */
    atomic_uint queued_connections;
    void *owner;                  /* the server, for that callback */
};

struct ig_acceptor;

/* Start accepting on listen_fd, which the acceptor owns from now on. A
 * connection that would exceed connection_limit open connections over all
 * workers is closed at once. Returns NULL after logging the error (and
 * closing listen_fd). */
struct ig_acceptor *ig_acceptor_start(int listen_fd, struct ig_worker *workers,
                                      unsigned worker_count, unsigned connection_limit);

/* Stop the thread and close the listening socket, so that new connection
 * attempts are refused. Open connections stay with their workers. NULL is
 * allowed. */
void ig_acceptor_stop(struct ig_acceptor *acceptor);

#endif
