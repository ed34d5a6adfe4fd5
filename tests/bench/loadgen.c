/* HTTPS load generator for the benchmark runs that wrk cannot do.
 *
 *   loadgen HOST PORT RATE SECONDS CONNECTIONS BODY_FILE [close]
 *
 * Sends POST /validate with BODY_FILE over CONNECTIONS TLS connections, one
 * thread each. With RATE > 0 it is open-loop: RATE requests per second in
 * total, spread evenly over the connections, each with a scheduled send
 * time from which its latency is measured, so a slow reply also counts
 * against the requests queued behind it (no coordinated omission). With
 * RATE 0 each connection sends its next request as soon as the reply
 * arrives (closed loop, like wrk).
 *
 * With "close", every request carries "Connection: close" and goes over a
 * new TCP connection with a full TLS handshake: sessions are never reused,
 * because no session is ever set on a new SSL object and OpenSSL keeps no
 * client-side session cache by default. wrk 4.1.0 resumes the previous
 * session on reconnect, so it cannot measure full handshakes.
 * Prints one line:
 *   RESULT reqs=N rps=R p50_us=.. p99_us=.. p999_us=.. max_us=.. non2xx=N errors=N */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct worker {
    pthread_t thread;
    const char *host;
    int port;
    SSL_CTX *ctx;
    const char *request;
    size_t request_length;
    double interval_ns; /* 0: closed loop */
    double deadline_ns;
    bool close_each;
    struct timespec start;
    long *latencies_us;
    size_t capacity;
    size_t done;
    size_t non2xx;
    size_t errors;
};

static long parse_long(const char *text, const char *what)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || !end || *end || value <= 0) {
        fprintf(stderr, "loadgen: invalid %s \"%s\": expected a positive integer\n", what, text);
        exit(2);
    }
    return value;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static SSL *connect_tls(struct worker *w, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)w->port)};
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (inet_pton(AF_INET, w->host, &address.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        return NULL;
    }
    SSL *ssl = SSL_new(w->ctx);
    if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    *fd_out = fd;
    return ssl;
}

static void disconnect(SSL **ssl, int *fd)
{
    if (*ssl) {
        SSL_free(*ssl);
        close(*fd);
    }
    *ssl = NULL;
    *fd = -1;
}

/* Send one request and read one reply. Returns the HTTP status, or -1 on a
 * transport error; *keep is false when the server asked to close. */
static int exchange(SSL *ssl, const struct worker *w, int *keep)
{
    char buffer[65536];
    size_t used = 0;
    size_t sent = 0;
    while (sent < w->request_length) {
        int n = SSL_write(ssl, w->request + sent, (int)(w->request_length - sent));
        if (n <= 0)
            return -1;
        sent += (size_t)n;
    }
    char *header_end = NULL;
    while (!header_end) {
        if (used == sizeof buffer - 1)
            return -1;
        int n = SSL_read(ssl, buffer + used, (int)(sizeof buffer - 1 - used));
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buffer[used] = '\0';
        header_end = strstr(buffer, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buffer, "HTTP/1.%*d %d", &status) != 1) /* NOLINT(cert-err34-c): bench tool */
        return -1;
    size_t content_length = 0;
    *keep = 1;
    for (char *line = strstr(buffer, "\r\n"); line && line < header_end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            content_length = (size_t)strtoul(line + 17, NULL, 10);
        else if (strncasecmp(line + 2, "Connection: close", 17) == 0)
            *keep = 0;
    }
    size_t body_have = used - (size_t)(header_end + 4 - buffer);
    while (body_have < content_length) {
        int n = SSL_read(ssl, buffer, (int)sizeof buffer);
        if (n <= 0)
            return -1;
        body_have += (size_t)n;
    }
    return status;
}

static void *run_worker(void *argument)
{
    struct worker *w = argument;
    SSL *ssl = NULL;
    int fd = -1;
    double start = (double)w->start.tv_sec * 1e9 + (double)w->start.tv_nsec;

    for (size_t i = 0;; i++) {
        double scheduled = w->interval_ns > 0 ? start + (double)i * w->interval_ns : now_ns();
        if (scheduled >= w->deadline_ns)
            break;
        double wait = scheduled - now_ns();
        if (wait > 0) {
            struct timespec pause = {.tv_sec = (time_t)(wait / 1e9),
                                     .tv_nsec = (long)((long long)wait % 1000000000LL)};
            nanosleep(&pause, NULL);
        }
        if (!ssl)
            ssl = connect_tls(w, &fd);
        int keep = 0;
        int status = ssl ? exchange(ssl, w, &keep) : -1;
        double finished = now_ns();
        if (status < 0) {
            w->errors++;
            disconnect(&ssl, &fd);
            continue;
        }
        if (status < 200 || status > 299)
            w->non2xx++;
        if (w->done == w->capacity) {
            size_t grown = w->capacity ? w->capacity * 2 : 4096;
            long *bigger = realloc(w->latencies_us, grown * sizeof *bigger);
            if (!bigger) {
                w->errors++;
                break;
            }
            w->latencies_us = bigger;
            w->capacity = grown;
        }
        w->latencies_us[w->done++] = (long)((finished - scheduled) / 1e3);
        if (!keep || w->close_each)
            disconnect(&ssl, &fd);
    }
    disconnect(&ssl, &fd);
    return NULL;
}

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 7 || argc > 8 || (argc == 8 && strcmp(argv[7], "close") != 0)) {
        fprintf(stderr, "usage: loadgen HOST PORT RATE SECONDS CONNECTIONS BODY_FILE [close]\n");
        return 2;
    }
    bool close_each = argc == 8;
    int port = (int)parse_long(argv[2], "port");
    long rate = strcmp(argv[3], "0") == 0 ? 0 : parse_long(argv[3], "rate");
    long seconds = parse_long(argv[4], "seconds");
    long connections = parse_long(argv[5], "connections");

    FILE *file = fopen(argv[6], "rb");
    if (!file) {
        fprintf(stderr, "loadgen: failed to open body file %s: %s\n", argv[6], strerror(errno));
        return 2;
    }
    static char body[8 << 20];
    size_t body_length = fread(body, 1, sizeof body, file);
    fclose(file);
    char header[256];
    int header_length = snprintf(header, sizeof header,
                                 "POST /validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                                 "Accept: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                                 argv[1], close_each ? "Connection: close\r\n" : "", body_length);
    size_t request_length = (size_t)header_length + body_length;
    char *request = malloc(request_length);
    if (!request)
        return 1;
    memcpy(request, header, (size_t)header_length);
    memcpy(request + header_length, body, body_length);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return 1;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

    struct worker *workers = calloc((size_t)connections, sizeof *workers);
    if (!workers)
        return 1;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    start.tv_nsec += 100000000; /* 0.1 s for all threads to start */
    if (start.tv_nsec >= 1000000000) {
        start.tv_sec++;
        start.tv_nsec -= 1000000000;
    }
    double interval_ns = rate > 0 ? 1e9 * (double)connections / (double)rate : 0;
    double deadline_ns = (double)start.tv_sec * 1e9 + (double)start.tv_nsec + (double)seconds * 1e9;
    for (long i = 0; i < connections; i++) {
        struct worker *w = &workers[i];
        w->host = argv[1];
        w->port = port;
        w->ctx = ctx;
        w->request = request;
        w->request_length = request_length;
        w->interval_ns = interval_ns;
        w->deadline_ns = deadline_ns;
        w->close_each = close_each;
        /* Stagger the connections evenly within one interval. */
        w->start = start;
        w->start.tv_nsec += (long)(interval_ns * (double)i / (double)connections);
        w->start.tv_sec += w->start.tv_nsec / 1000000000;
        w->start.tv_nsec %= 1000000000;
        if (pthread_create(&w->thread, NULL, run_worker, w) != 0)
            return 1;
    }

    size_t total = 0, non2xx = 0, errors = 0;
    for (long i = 0; i < connections; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].done;
        non2xx += workers[i].non2xx;
        errors += workers[i].errors;
    }
    long *all = malloc((total ? total : 1) * sizeof(long));
    if (!all)
        return 1;
    size_t used = 0;
    for (long i = 0; i < connections; i++) {
        memcpy(all + used, workers[i].latencies_us, workers[i].done * sizeof(long));
        used += workers[i].done;
        free(workers[i].latencies_us);
    }
    qsort(all, total, sizeof(long), compare_long);
    long p50 = total ? all[total / 2] : 0;
    long p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    long p999 = total ? all[(size_t)((double)total * 0.999)] : 0;
    long max = total ? all[total - 1] : 0;
    printf("RESULT reqs=%zu rps=%.1f p50_us=%ld p99_us=%ld p999_us=%ld max_us=%ld non2xx=%zu errors=%zu\n",
           total, (double)total / (double)seconds, p50, p99, p999, max, non2xx, errors);
    free(all);
    free(workers);
    free(request);
    SSL_CTX_free(ctx);
    return 0;
}
