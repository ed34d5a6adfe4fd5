/* Unit tests of the request header deadline table and its sweeper thread,
 * on socket pairs instead of client connections. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/metrics.h"
#include "transport/deadline.h"

static double monotonic_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* True when the peer of a shut-down socket reads the end of the stream. */
static bool peer_at_end(int peer)
{
    char byte;
    return recv(peer, &byte, 1, MSG_DONTWAIT) == 0;
}

static bool peer_still_open(int peer)
{
    char byte;
    return recv(peer, &byte, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

Test(deadline, sweeper_shuts_down_expired)
{
    struct ig_deadlines *deadlines = ig_deadlines_start(1, NULL);
    cr_assert_not_null(deadlines);
    int expired[2];
    int disarmed[2];
    int removed[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, expired), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, disarmed), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, removed), 0);

    double started = monotonic_s();
    struct ig_deadline_entry expired_entry;
    struct ig_deadline_entry disarmed_entry;
    struct ig_deadline_entry removed_entry;
    ig_deadlines_add(deadlines, &expired_entry, expired[0], NULL, 0);
    ig_deadlines_add(deadlines, &disarmed_entry, disarmed[0], NULL, 0);
    ig_deadlines_add(deadlines, &removed_entry, removed[0], NULL, 0);
    ig_deadlines_disarm(deadlines, &disarmed_entry);
    ig_deadlines_remove(deadlines, &removed_entry);

    while (!peer_at_end(expired[1]) && monotonic_s() - started < 4)
        usleep(20 * 1000);
    double took = monotonic_s() - started;

    cr_assert_lt(took, 4, "the expired socket was not shut down within 4 s of a 1 s deadline");
    cr_assert_geq(took, 0.9, "the socket was shut down after %.2f s, before its 1 s deadline",
                  took);
    cr_assert(peer_still_open(disarmed[1]), "a disarmed socket was shut down");
    cr_assert(peer_still_open(removed[1]), "a removed socket was shut down");
    struct ig_counter *counter = ig_metrics_counter("immutable_guard_slow_requests_total", "", "");
    cr_assert_eq(ig_counter_value(counter), 1);

    ig_deadlines_remove(deadlines, &expired_entry);
    ig_deadlines_remove(deadlines, &disarmed_entry);
    ig_deadlines_stop(deadlines);
    for (int i = 0; i < 2; i++) {
        close(expired[i]);
        close(disarmed[i]);
        close(removed[i]);
    }
}

Test(deadline, stop_without_entries)
{
    struct ig_deadlines *deadlines = ig_deadlines_start(1, NULL);
    cr_assert_not_null(deadlines);
    double started = monotonic_s();
    ig_deadlines_stop(deadlines);
    cr_assert_lt(monotonic_s() - started, 0.5, "stopping an idle sweeper waited for a timeout");
    ig_deadlines_stop(NULL);
}

Test(deadline, body_deadline_counted_as_slow_body)
{
    struct ig_counter *slow_bodies =
        ig_metrics_counter("test_deadline_slow_bodies_total", "Test counter.", "");
    struct ig_counter *slow_requests =
        ig_metrics_counter("immutable_guard_slow_requests_total", "", "");
    uint64_t requests_before = ig_counter_value(slow_requests);
    struct ig_deadlines *deadlines = ig_deadlines_start(1, slow_bodies);
    cr_assert_not_null(deadlines);
    int body[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, body), 0);

    struct ig_deadline_entry entry;
    ig_deadlines_add(deadlines, &entry, body[0], NULL, 0);
    /* Headers after 0.6 s: the body then gets a full second of its own. */
    usleep(600 * 1000);
    double headers_done = monotonic_s();
    ig_deadlines_arm_body(deadlines, &entry);
    while (!peer_at_end(body[1]) && monotonic_s() - headers_done < 4)
        usleep(20 * 1000);
    double took = monotonic_s() - headers_done;

    cr_assert_lt(took, 4, "the slow body was not cut within 4 s of a 1 s deadline");
    cr_assert_geq(took, 0.9, "the body was cut %.2f s after the headers, before its 1 s", took);
    cr_assert_eq(ig_counter_value(slow_bodies), 1);
    cr_assert_eq(ig_counter_value(slow_requests), requests_before);

    ig_deadlines_remove(deadlines, &entry);
    ig_deadlines_stop(deadlines);
    close(body[0]);
    close(body[1]);
}
