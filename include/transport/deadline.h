/* Deadlines for each webhook request: the TLS handshake and the request
 * headers together must arrive within --connection-timeout, and then the
 * request body within --connection-timeout of the headers.
 *
 * libmicrohttpd 0.9.75 only has an idle timeout, which restarts with every
 * byte received, so a client sending its headers or its body one byte per
 * second would keep its connection forever. Each connection gets an entry
 * here, armed at accept and again when a request completes, because the next
 * request may follow on the same connection. Once a request's headers are
 * complete it is armed for the body, and once the body is complete it is
 * disarmed. A sweeper thread checks the entries once a second and calls
 * shutdown(SHUT_RDWR) on the socket of each connection past its deadline:
 * libmicrohttpd then reads the end of the stream and closes the connection
 * itself. */
#ifndef IG_TRANSPORT_DEADLINE_H
#define IG_TRANSPORT_DEADLINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

struct ig_counter;

/* The part of a request that an armed entry waits for. */
enum ig_deadline_phase {
    IG_DEADLINE_AFTER_ACCEPT, /* the handshake and the first request's headers */
    IG_DEADLINE_AFTER_REPLY,  /* the next request's headers on a kept-alive connection */
    IG_DEADLINE_BODY,         /* the rest of the body of a request whose headers arrived */
};
#define IG_DEADLINE_PHASE_BITS 2

/* One connection's entry, embedded in the caller's per-connection state.
 * Its fields belong to deadline.c. The list links change only under the
 * table's lock. The deadline is an atomic, so that arming and disarming,
 * twice per request, take no lock that the worker threads share. */
struct ig_deadline_entry {
    struct ig_deadline_entry *previous;
    struct ig_deadline_entry *next;
    int fd;
    /* The deadline in CLOCK_MONOTONIC_COARSE milliseconds, shifted left by
     * IG_DEADLINE_PHASE_BITS, with the phase in the low bits; 0: disarmed.
     * Both are in one atomic, so a connection cut at its deadline is
     * always counted for the phase it was cut in. */
    _Atomic long long deadline;
    _Atomic long long armed_ms;         /* when it was armed, for the log line */
    struct sockaddr_storage peer;
};

struct ig_deadlines;

/* Start the sweeper thread. timeout_s is the time allowed from accept, or
 * from the end of the previous request, to complete request headers, and
 * from the headers to complete the body. Connections cut in the body are
 * counted in slow_bodies (NULL: not counted). Returns NULL after logging the
 * error. */
struct ig_deadlines *ig_deadlines_start(unsigned timeout_s, struct ig_counter *slow_bodies);

/* Stop the sweeper and free the table. Every entry must have been removed
 * first. NULL is allowed. */
void ig_deadlines_stop(struct ig_deadlines *deadlines);

/* Add a newly accepted connection with its socket and peer address, armed
 * with a deadline of now + timeout_s. */
void ig_deadlines_add(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry, int fd,
                      const struct sockaddr *peer, socklen_t peer_length);

/* Arm the entry again after a request completed, with a deadline of
 * now + timeout_s + extra_s. */
void ig_deadlines_arm_after_reply(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry,
                                  unsigned extra_s);

/* Arm the entry for the body because the request headers are complete, with
 * a deadline of now + timeout_s. */
void ig_deadlines_arm_body(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry);

/* Disarm the entry because the request body is complete, or because the
 * caller cuts the connection itself. Returns false when the entry was not
 * armed, for example because the sweeper has just cut the connection. */
bool ig_deadlines_disarm(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry);

/* Remove the entry. The caller must do this before the socket is closed, so
 * that the sweeper never shuts down a socket that reuses the number. */
void ig_deadlines_remove(struct ig_deadlines *deadlines, struct ig_deadline_entry *entry);

#endif
