#include "transport/listen.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

#define LISTEN_BACKLOG 512

static bool parse_port(const char *text, unsigned *port)
{
    if (*text == '\0')
        return false;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > 65535)
        return false;
    *port = (unsigned)value;
    return true;
}

bool ig_listen_parse(const char *text, char *host, size_t host_size, unsigned *port)
{
    const char *host_start = text;
    size_t host_length;
    const char *port_text;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        host_start = text + 1;
        host_length = (size_t)(close - host_start);
        port_text = close + 2;
        if (host_length == 0)
            return false;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon || memchr(text, ':', (size_t)(colon - text)))
            return false; /* no port, or an IPv6 address without brackets */
        host_length = (size_t)(colon - text);
        port_text = colon + 1;
    }
    if (host_length >= host_size)
        return false;
    memcpy(host, host_start, host_length);
    host[host_length] = '\0';
    return parse_port(port_text, port);
}

static int open_and_bind(int family, const struct sockaddr *address, socklen_t length,
                         bool dual_stack)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    int zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        goto fail;
    if (dual_stack && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0)
        goto fail;
    if (bind(fd, address, length) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
        goto fail;
    return fd;

fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static int open_any_interface(unsigned port)
{
    struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                .sin6_addr = IN6ADDR_ANY_INIT};
    int fd = open_and_bind(AF_INET6, (const struct sockaddr *)&any6, sizeof any6, true);
    if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL))
        return fd;
    struct sockaddr_in any4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr = {.s_addr = htonl(INADDR_ANY)}};
    return open_and_bind(AF_INET, (const struct sockaddr *)&any4, sizeof any4, false);
}

int ig_listen_open(const char *text)
{
    char host[256];
    unsigned port;

    if (!ig_listen_parse(text, host, sizeof host, &port)) {
        ig_error("invalid listen address: use HOST:PORT, :PORT or [IPV6]:PORT",
                 IG_F_STR("address", text));
        return -1;
    }
    if (host[0] == '\0') {
        int fd = open_any_interface(port);
        if (fd < 0)
            ig_error("failed to listen: check that the port is free", IG_F_STR("address", text),
                     IG_F_STR("error", strerror(errno)));
        return fd;
    }

    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *results = NULL;
    int status = getaddrinfo(host, port_text, &hints, &results);
    if (status != 0) {
        ig_error("failed to resolve the listen host", IG_F_STR("address", text),
                 IG_F_STR("error", gai_strerror(status)));
        return -1;
    }
    int fd = -1;
    int last_error = 0;
    for (struct addrinfo *ai = results; ai && fd < 0; ai = ai->ai_next) {
        fd = open_and_bind(ai->ai_family, ai->ai_addr, ai->ai_addrlen, false);
        if (fd < 0)
            last_error = errno;
    }
    freeaddrinfo(results);
    if (fd < 0)
        ig_error("failed to listen: check the address and that the port is free",
                 IG_F_STR("address", text), IG_F_STR("error", strerror(last_error)));
    return fd;
}

unsigned ig_listen_port(int fd)
{
    struct sockaddr_storage address = {0};
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0)
        return 0;
    if (address.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&address)->sin6_port);
    if (address.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&address)->sin_port);
    return 0;
}

/* Read "QUOTA PERIOD" from cgroup v2 cpu.max; "max PERIOD" means no quota. */
static unsigned cgroup_cpu_quota(void)
{
    FILE *file = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (!file)
        return 0;
    char line[64];
    bool read = fgets(line, sizeof line, file) != NULL;
    fclose(file);
    if (!read || strncmp(line, "max", 3) == 0)
        return 0;

    char *end = NULL;
    errno = 0;
    long quota = strtol(line, &end, 10);
    if (errno != 0 || end == line || *end != ' ' || quota <= 0)
        return 0;
    char *period_start = end + 1;
    long period = strtol(period_start, &end, 10);
    if (errno != 0 || end == period_start || period <= 0)
        return 0;
    return (unsigned)ceil((double)quota / (double)period);
}

unsigned ig_usable_cpu_count(void)
{
    unsigned cpus = 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        cpus = (unsigned)CPU_COUNT(&set);
    unsigned quota = cgroup_cpu_quota();
    if (quota > 0 && quota < cpus)
        cpus = quota;
    return cpus;
}
