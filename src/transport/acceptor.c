#include "transport/acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"

struct ig_acceptor {
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    struct ig_worker *workers;
    unsigned worker_count;
    unsigned connection_limit;
    struct ig_counter *rejected;
    time_t last_limit_log;
    unsigned long rejected_since_log;
    unsigned last_chosen;
};

static void pause_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* Return the index of the worker with the fewest connections, counting those
 * it has not started yet. Ties go to the worker after the last one chosen. */
static unsigned least_loaded(struct ig_acceptor *acceptor, unsigned *total_open)
{
    unsigned best = acceptor->worker_count;
    unsigned best_load = 0;
    unsigned total = 0;
    for (unsigned n = 0; n < acceptor->worker_count; n++) {
        unsigned i = (acceptor->last_chosen + 1 + n) % acceptor->worker_count;
        const struct ig_worker *worker = &acceptor->workers[i];
        unsigned load = atomic_load(&worker->open_connections) +
                        atomic_load(&worker->queued_connections);
        total += load;
        if (best == acceptor->worker_count || load < best_load) {
            best = i;
            best_load = load;
        }
    }
    *total_open = total;
    return best;
}

/* Close a connection over the limit; log at most once a second with a count. */
static void reject_over_limit(struct ig_acceptor *acceptor, int fd)
{
    close(fd);
    ig_counter_add(acceptor->rejected, 1);
    acceptor->rejected_since_log++;
    time_t now = time(NULL);
    if (now != acceptor->last_limit_log) {
        ig_warn("connection limit reached; closed new connections (raise --connection-limit if "
                "this is regular load)",
                IG_F_INT("connection_limit", acceptor->connection_limit),
                IG_F_INT("closed", acceptor->rejected_since_log));
        acceptor->last_limit_log = now;
        acceptor->rejected_since_log = 0;
    }
}

/* Accept every pending connection. Returns false on an error that needs a pause. */
static bool accept_pending(struct ig_acceptor *acceptor)
{
    for (;;) {
        struct sockaddr_storage address;
        socklen_t length = sizeof address;
        int fd = accept4(acceptor->listen_fd, (struct sockaddr *)&address, &length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            ig_error("failed to accept a connection; pausing for 100 ms",
                     IG_F_STR("error", strerror(errno)));
            return false;
        }

        unsigned total_open = 0;
        unsigned chosen = least_loaded(acceptor, &total_open);
        if (total_open >= acceptor->connection_limit) {
            reject_over_limit(acceptor, fd);
            continue;
        }
        acceptor->last_chosen = chosen;
        struct ig_worker *worker = &acceptor->workers[chosen];
        atomic_fetch_add(&worker->queued_connections, 1);
        /* MHD closes the socket itself when it cannot take it. */
        if (MHD_add_connection(worker->daemon, fd, (const struct sockaddr *)&address, length) !=
            MHD_YES) {
            atomic_fetch_sub(&worker->queued_connections, 1);
            ig_warn("libmicrohttpd could not take a new connection; it was closed",
                    IG_F_STR("error", strerror(errno)));
        }
    }
}

static void *accept_loop(void *arg)
{
    struct ig_acceptor *acceptor = arg;
    struct pollfd watched[2] = {
        {.fd = acceptor->listen_fd, .events = POLLIN},
        {.fd = acceptor->stop_pipe[0], .events = POLLIN},
    };
    for (;;) {
        if (poll(watched, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            ig_error("poll on the listening socket failed; pausing for 100 ms",
                     IG_F_STR("error", strerror(errno)));
            pause_ms(100);
            continue;
        }
        if (watched[1].revents != 0)
            return NULL;
        if (watched[0].revents != 0 && !accept_pending(acceptor))
            pause_ms(100);
    }
}

struct ig_acceptor *ig_acceptor_start(int listen_fd, struct ig_worker *workers,
                                      unsigned worker_count, unsigned connection_limit)
{
    struct ig_acceptor *acceptor = calloc(1, sizeof *acceptor);
    if (!acceptor) {
        ig_error("out of memory starting the accept thread");
        close(listen_fd);
        return NULL;
    }
    acceptor->listen_fd = listen_fd;
    acceptor->workers = workers;
    acceptor->worker_count = worker_count;
    acceptor->connection_limit = connection_limit;
    acceptor->rejected = ig_metrics_counter(
        "immutable_guard_connections_rejected_total",
        "Connections closed at once because --connection-limit connections were open.", "");

    if (pipe2(acceptor->stop_pipe, O_CLOEXEC) != 0) {
        ig_error("failed to create the accept thread's stop pipe",
                 IG_F_STR("error", strerror(errno)));
        goto fail;
    }
    int status = pthread_create(&acceptor->thread, NULL, accept_loop, acceptor);
    if (status != 0) {
        ig_error("failed to start the accept thread", IG_F_STR("error", strerror(status)));
        close(acceptor->stop_pipe[0]);
        close(acceptor->stop_pipe[1]);
        goto fail;
    }
    return acceptor;

fail:
    close(listen_fd);
    free(acceptor);
    return NULL;
}

void ig_acceptor_stop(struct ig_acceptor *acceptor)
{
    if (!acceptor)
        return;
    char stop = 'x';
    while (write(acceptor->stop_pipe[1], &stop, 1) < 0 && errno == EINTR)
        ;
    pthread_join(acceptor->thread, NULL);
    close(acceptor->listen_fd);
    close(acceptor->stop_pipe[0]);
    close(acceptor->stop_pipe[1]);
    free(acceptor);
}
