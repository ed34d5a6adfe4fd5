/* Listening sockets for the webhook and probe servers. */
#ifndef IG_TRANSPORT_LISTEN_H
#define IG_TRANSPORT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* Split "HOST:PORT", ":PORT" or "[IPV6]:PORT" into host (empty for every
 * interface) and port. Port 0 lets the kernel pick a free port. Returns false
 * and leaves the outputs unspecified when the text has another form. */
bool ig_listen_parse(const char *text, char *host, size_t host_size, unsigned *port);

/* Create a bound, listening, non-blocking socket for the address text. An
 * empty host listens on every IPv6 and IPv4 interface (IPv4 only when the
 * kernel has no IPv6). Returns the descriptor, or -1 after logging the error. */
int ig_listen_open(const char *text);

/* Return the local port of a bound socket, or 0 on error. */
unsigned ig_listen_port(int fd);

/* Return the number of CPUs this process may use: the CPU affinity mask,
 * lowered to the cgroup v2 CPU quota (rounded up) when one is set. At least 1. */
unsigned ig_usable_cpu_count(void);

#endif
