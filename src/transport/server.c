#include "transport/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/version.h"
#include "transport/acceptor.h"
#include "transport/deadline.h"
#include "transport/listen.h"
#include "transport/log_limit.h"
#include "transport/mhd_log.h"
#include "transport/probe.h"
#include "transport/tls_store.h"

/* TLS 1.2 is the oldest version offered; kube-apiserver negotiates 1.3. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* After an early error reply, at most this much more of the body is read and dropped
 * before the connection is closed. Closing with unread data sends a TCP
 * reset, and a client that is still writing then fails before it reads the
 * reply. On loopback, curl still had about 3 MiB in flight when it read the reply. */
#define DRAIN_AFTER_EARLY_REPLY (32 * 1024 * 1024)

/* First body buffer; it doubles as bytes arrive, up to the declared
 * Content-Length or, for a chunked body, --max-body-bytes. The total of all
 * body buffers is capped by --max-buffered-bytes (see reserve_body_bytes).
 * NOTE: while a buffer grows, realloc may briefly hold the old and the new
 * block, and libmicrohttpd's own per-connection memory pool is not counted. */
#define INITIAL_BODY_CAPACITY (64 * 1024)

/* Seconds added to the header deadline of a kept-alive connection, so that
 * libmicrohttpd's idle timeout (connection_timeout_s after the last byte)
 * closes an idle connection before the deadline sweeper does. */
#define KEEP_ALIVE_DEADLINE_SLACK_S 2

/* HTTP status codes this server produces itself, for the error counter. */
static const unsigned counted_codes[] = {400, 404, 405, 413, 415, 500, 503};
#define COUNTED_CODE_COUNT (sizeof counted_codes / sizeof counted_codes[0])

struct ig_server {
    struct ig_server_config config;
    struct ig_tls_store *tls;
    struct ig_probe_server *probe;
    struct ig_worker *workers;
    unsigned worker_count;
    struct ig_acceptor *acceptor;
    struct ig_deadlines *deadlines;
    unsigned port;
    atomic_bool ready;
    atomic_bool stopping;
    atomic_long in_flight;
    atomic_size_t buffered_bytes; /* sum of every request's reserved bytes */

    struct ig_counter *errors_by_code[COUNTED_CODE_COUNT];
    struct ig_counter *errors_other;
    struct ig_counter *connections_accepted;
    struct ig_gauge *connections_open;
    struct ig_gauge *requests_in_flight;
    struct ig_counter *slow_bodies;
    struct ig_counter *buffer_rejections;
    struct ig_gauge *body_bytes_reserved;
};

/* State of one HTTP request, kept in its connection's state and pointed to
 * by MHD's per-request pointer. A connection runs one request at a time. */
struct request {
    enum ig_webhook webhook;
    char *body;
    size_t length;
    size_t capacity;
    size_t reserved;      /* bytes counted in server->buffered_bytes; capacity <= reserved */
    bool length_declared; /* Content-Length was given; reserved is that length */
    bool rejected;      /* an error reply is queued; any body is dropped */
    bool replied_early; /* an error was written mid-body; the connection will close */
    size_t drained;
    bool corked;           /* the reply is held in GnuTLS until the request completes */
    unsigned pending_code; /* error to reply once the request is read, or 0 */
    struct timespec started; /* when the headers were complete */
    char pending_message[512]; /* last: a new request clears only the fields before it */
};

/* State of one TCP connection, kept in MHD's socket context. */
struct connection {
    struct ig_tls_hold *tls_hold;
    struct ig_deadline_entry deadline;
    bool has_deadline;    /* the deadline entry is in server->deadlines */
    bool socket_uncorked; /* TCP_CORK was reset after libmicrohttpd set it */
    struct request request; /* the request being read or replied to */
};

/* Return the connection's state, or NULL when start_connection() could not
 * allocate it. */
static struct connection *connection_state(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static void client_address(struct MHD_Connection *connection, char *out, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "unknown");
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, out, (socklen_t)size);
    else if (address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, out,
                  (socklen_t)size);
}

/* Clients can cause rejections at any rate, so their log lines are capped; the error
 * counter still counts every one. */
static struct ig_log_limit rejection_log_limit = IG_LOG_LIMIT_INIT(20);

static void log_rejection(struct MHD_Connection *connection, unsigned code, const char *method,
                          const char *url, const char *reason)
{
    if (!ig_log_limit_take(&rejection_log_limit))
        return;
    char remote[INET6_ADDRSTRLEN];
    client_address(connection, remote, sizeof remote);
    ig_warn("request rejected", IG_F_INT("code", code), IG_F_STR("method", method),
            IG_F_STR("path", url), IG_F_STR("remote", remote), IG_F_STR("reason", reason),
            IG_F_INT("dropped_before", ig_log_limit_dropped(&rejection_log_limit)));
}

static void count_error(struct ig_server *server, unsigned code)
{
    for (size_t i = 0; i < COUNTED_CODE_COUNT; i++) {
        if (counted_codes[i] == code) {
            ig_counter_add(server->errors_by_code[i], 1);
            return;
        }
    }
    ig_counter_add(server->errors_other, 1);
}

static const char *status_reason(unsigned code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 503: return "ServiceUnavailable";
    default: return "InternalError";
    }
}

/* A Status body for the error; a fixed text when even that cannot be built. */
static char *error_body(unsigned code, const char *message)
{
    char *body = ig_admission_status_body((int)code, status_reason(code), message);
    if (body)
        return body;
    static const char fallback[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                   "\"status\":\"Failure\",\"message\":\"out of memory\","
                                   "\"reason\":\"InternalError\",\"code\":500}";
    return strdup(fallback);
}

/* Queue a JSON reply built on body, which MHD copies (MHD_RESPMEM_MUST_COPY)
 * or takes and frees (MHD_RESPMEM_MUST_FREE, even on failure). */
static enum MHD_Result queue_json_body(struct ig_server *server, struct MHD_Connection *connection,
                                       unsigned code, char *body, size_t length,
                                       enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(length, body, mode);
    if (!response) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_POST);
    /* During shutdown, ask clients not to send more requests on this connection. */
    if (atomic_load(&server->stopping))
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    /* Counted before libmicrohttpd can send the reply (see write_early_reply). */
    if (code >= 400)
        count_error(server, code);
    enum MHD_Result queued = MHD_queue_response(connection, code, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result queue_json(struct ig_server *server, struct MHD_Connection *connection,
                                  unsigned code, const char *body, size_t length)
{
    return queue_json_body(server, connection, code, (char *)body, length, MHD_RESPMEM_MUST_COPY);
}

static bool waits_for_continue(struct MHD_Connection *connection)
{
    const char *expect =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return expect && strcasecmp(expect, "100-continue") == 0;
}

/* Reply with an error status. A client that waits for "100 Continue" gets the
 * reply at once and sends no body. Any other reply waits until the request
 * has been read, and its body is dropped. MHD closes the connection after a
 * reply queued earlier, so keep-alive would be lost. Closing with unread data
 * also sends a TCP reset, which can destroy the reply. */
static enum MHD_Result reject(struct ig_server *server, struct MHD_Connection *connection,
                              struct request *request, const char *method, const char *url,
                              unsigned code, const char *message)
{
    log_rejection(connection, code, method, url, message);
    if (!waits_for_continue(connection)) {
        request->pending_code = code;
        snprintf(request->pending_message, sizeof request->pending_message, "%s", message);
        return MHD_YES;
    }
    request->rejected = true;
    char *body = error_body(code, message);
    if (!body)
        return MHD_NO;
    enum MHD_Result queued = queue_json(server, connection, code, body, strlen(body));
    free(body);
    return queued;
}

/* True when the media type of a Content-Type value is application/json;
 * parameters such as charset are allowed. */
static bool is_json_media_type(const char *value)
{
    static const char json[] = "application/json";
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, json, sizeof json - 1) != 0)
        return false;
    const char *rest = value + sizeof json - 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

static bool wait_writable(int fd)
{
    struct pollfd entry = {.fd = fd, .events = POLLOUT};
    return poll(&entry, 1, 100) > 0;
}

/* Return the connection's GnuTLS session, or NULL. */
static gnutls_session_t tls_session(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info ? (gnutls_session_t)info->tls_session : NULL;
}

/* Write a complete error reply on the TLS session while the client may still
 * be sending the body. libmicrohttpd 0.9.75 refuses MHD_queue_response while
 * it reads a body, and would otherwise read all of it first. The connection
 * is closed afterwards, so MHD's own state for it does not matter. */
static bool write_early_reply(struct ig_server *server, struct MHD_Connection *connection,
                              unsigned code, const char *body)
{
    gnutls_session_t session = tls_session(connection);
    const union MHD_ConnectionInfo *fd_info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!session || !fd_info)
        return false;

    size_t body_length = strlen(body);
    char *reply = NULL;
    size_t reply_length = 0;
    FILE *out = open_memstream(&reply, &reply_length);
    if (!out)
        return false;
    fprintf(out,
            "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
            "%sConnection: close\r\n\r\n",
            code, MHD_get_reason_phrase_for(code), body_length,
            code == MHD_HTTP_SERVICE_UNAVAILABLE ? "Retry-After: 1\r\n" : "");
    fwrite(body, 1, body_length, out);
    if (fclose(out) != 0) {
        free(reply);
        return false;
    }

    /* Counted before the reply leaves, so that a client which has read it
     * also finds it in the metrics. */
    count_error(server, code);
    size_t sent = 0;
    int attempts = 0;
    while (sent < reply_length && attempts < 20) {
        ssize_t written = gnutls_record_send(session, reply + sent, reply_length - sent);
        if (written == GNUTLS_E_AGAIN || written == GNUTLS_E_INTERRUPTED) {
            attempts++;
            wait_writable(fd_info->connect_fd);
            /* GnuTLS takes the same arguments again after EAGAIN. */
            continue;
        }
        if (written < 0)
            break;
        sent += (size_t)written;
    }
    free(reply);
    return sent == reply_length;
}

/* Add bytes to the request's share of --max-buffered-bytes. Returns false,
 * and changes nothing, when the total over all requests would pass the cap. */
static bool reserve_body_bytes(struct ig_server *server, struct request *request, size_t bytes)
{
    size_t cap = server->config.max_buffered_bytes;
    size_t current = atomic_load(&server->buffered_bytes);
    do {
        if (current > cap || bytes > cap - current)
            return false;
    } while (!atomic_compare_exchange_weak(&server->buffered_bytes, &current, current + bytes));
    request->reserved += bytes;
    ig_gauge_add(server->body_bytes_reserved, (double)bytes);
    return true;
}

/* Free the request's body buffer and return its reserved bytes to the cap. */
static void release_body(struct ig_server *server, struct request *request)
{
    free(request->body);
    request->body = NULL;
    request->length = request->capacity = 0;
    if (request->reserved > 0) {
        atomic_fetch_sub(&server->buffered_bytes, request->reserved);
        ig_gauge_add(server->body_bytes_reserved, -(double)request->reserved);
        request->reserved = 0;
    }
}

/* Reply with an error at once, before the rest of the body, and drop what
 * follows. */
static enum MHD_Result reply_early(struct ig_server *server, struct MHD_Connection *connection,
                                   struct request *request, const char *method, const char *url,
                                   unsigned code, const char *message)
{
    log_rejection(connection, code, method, url, message);
    release_body(server, request);
    request->replied_early = true;

    char *body = error_body(code, message);
    bool written = body && write_early_reply(server, connection, code, body);
    free(body);
    return written ? MHD_YES : MHD_NO;
}

static enum MHD_Result reply_too_large(struct ig_server *server, struct MHD_Connection *connection,
                                       struct request *request, const char *method,
                                       const char *url, const char *message)
{
    return reply_early(server, connection, request, method, url, MHD_HTTP_CONTENT_TOO_LARGE,
                       message);
}

/* Reply 503 because the body would pass --max-buffered-bytes. Before the
 * body, a client that waits for "100 Continue" gets the reply queued and
 * sends no body. Otherwise the reply goes out at once, and the rest of the
 * body is dropped. */
static enum MHD_Result reply_buffers_full(struct ig_server *server,
                                          struct MHD_Connection *connection,
                                          struct request *request, const char *method,
                                          const char *url, size_t bytes, bool before_body)
{
    char message[256];
    snprintf(message, sizeof message,
             "the server is buffering too many large requests (%zu more bytes would pass "
             "--max-buffered-bytes of %zu); retry the request",
             bytes, server->config.max_buffered_bytes);
    ig_counter_add(server->buffer_rejections, 1);
    if (before_body && waits_for_continue(connection))
        return reject(server, connection, request, method, url, MHD_HTTP_SERVICE_UNAVAILABLE,
                      message);
    return reply_early(server, connection, request, method, url, MHD_HTTP_SERVICE_UNAVAILABLE,
                       message);
}

static enum MHD_Result begin_request(struct ig_server *server, struct MHD_Connection *connection,
                                     struct request *request, const char *url, const char *method)
{
    char message[512];

    if (strcmp(url, "/validate") == 0) {
        request->webhook = IG_WEBHOOK_VALIDATE;
    } else if (strcmp(url, "/mutate") == 0) {
        request->webhook = IG_WEBHOOK_MUTATE;
    } else {
        snprintf(message, sizeof message,
                 "no handler for path \"%.200s\"; the webhook serves POST /validate and POST /mutate",
                 url);
        return reject(server, connection, request, method, url, MHD_HTTP_NOT_FOUND, message);
    }

    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        snprintf(message, sizeof message, "method %.32s is not allowed on %s; use POST", method,
                 url);
        return reject(server, connection, request, method, url, MHD_HTTP_METHOD_NOT_ALLOWED,
                      message);
    }

    const char *content_type =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_json_media_type(content_type)) {
        snprintf(message, sizeof message,
                 "Content-Type \"%.100s\" is not supported; send an AdmissionReview as "
                 "application/json",
                 content_type ? content_type : "");
        return reject(server, connection, request, method, url, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                      message);
    }

    const char *length_text =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length_text) {
        /* MHD has already rejected a Content-Length that is not a number. */
        errno = 0;
        char *end = NULL;
        unsigned long long declared = strtoull(length_text, &end, 10);
        bool too_large = errno == ERANGE || declared > server->config.max_body_bytes;
        if (too_large) {
            snprintf(message, sizeof message,
                     "request body of %.24s bytes is larger than the limit of %zu bytes "
                     "(--max-body-bytes)",
                     length_text, server->config.max_body_bytes);
            /* A client that waits for "100 Continue" sends no body after a
             * queued reply. Any other client is already sending it: reply at
             * once and drop what follows. */
            if (waits_for_continue(connection))
                return reject(server, connection, request, method, url,
                              MHD_HTTP_CONTENT_TOO_LARGE, message);
            return reply_too_large(server, connection, request, method, url, message);
        }
        /* Count the whole declared length against --max-buffered-bytes now,
         * but allocate only a first chunk, because a client that declares a
         * large body and sends nothing must not hold memory. */
        request->length_declared = true;
        if (declared > 0 && !reserve_body_bytes(server, request, (size_t)declared))
            return reply_buffers_full(server, connection, request, method, url,
                                      (size_t)declared, true);
        if (declared > 0) {
            size_t first = declared < INITIAL_BODY_CAPACITY ? (size_t)declared
                                                            : INITIAL_BODY_CAPACITY;
            request->body = malloc(first);
            if (!request->body) {
                ig_error("out of memory buffering a request body; the connection was closed",
                         IG_F_INT("bytes", (long long)first));
                return MHD_NO;
            }
            request->capacity = first;
        }
    }
    return MHD_YES;
}

/* Read the clock for limits of whole seconds. CLOCK_MONOTONIC_COARSE took
 * 4 ns against 16 ns for CLOCK_MONOTONIC on the benchmark machine, and lags
 * it by at most one scheduler tick (4 ms there). */
static void read_limit_clock(struct timespec *now)
{
    clock_gettime(CLOCK_MONOTONIC_COARSE, now);
}

static long long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    read_limit_clock(&now);
    return (long long)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* True (after logging) when the body has taken longer than the connection
 * timeout. MHD's idle timeout restarts with every byte received, so a client
 * sending one byte at a time must be cut by time since the headers. The
 * deadline sweeper (transport/deadline.h) does that once a second even when
 * no byte arrives; this check cuts at the first byte past the limit. */
static bool body_too_slow(struct ig_server *server, struct MHD_Connection *connection,
                          const struct request *request, const char *url, const char *method)
{
    long long elapsed = elapsed_ms(&request->started);
    if (elapsed <= (long long)server->config.connection_timeout_s * 1000)
        return false;
    /* When the sweeper has cut this body already, it has counted and logged it. */
    struct connection *state = connection_state(connection);
    if (state && state->has_deadline && !ig_deadlines_disarm(server->deadlines, &state->deadline))
        return true;
    if (ig_log_limit_take(&rejection_log_limit)) {
        char remote[INET6_ADDRSTRLEN];
        client_address(connection, remote, sizeof remote);
        ig_warn("request body too slow; the connection was closed", IG_F_STR("method", method),
                IG_F_STR("path", url), IG_F_STR("remote", remote),
                IG_F_INT("elapsed_ms", elapsed),
                IG_F_INT("limit_ms", (long long)server->config.connection_timeout_s * 1000),
                IG_F_INT("dropped_before", ig_log_limit_dropped(&rejection_log_limit)));
    }
    ig_counter_add(server->slow_bodies, 1);
    return true;
}

static enum MHD_Result collect_body(struct ig_server *server, struct MHD_Connection *connection,
                                    struct request *request, const char *url, const char *method,
                                    const char *data, size_t *size)
{
    size_t incoming = *size;
    *size = 0;
    if (body_too_slow(server, connection, request, url, method))
        return MHD_NO;
    if (request->rejected)
        return MHD_YES; /* reply queued already; drop the body */
    if (request->replied_early) {
        request->drained += incoming;
        return request->drained > DRAIN_AFTER_EARLY_REPLY ? MHD_NO : MHD_YES;
    }

    size_t limit = server->config.max_body_bytes;
    if (request->pending_code) {
        /* The error reply waits for the end of a body of normal size. */
        request->drained += incoming;
        if (request->drained <= limit)
            return MHD_YES;
        char *body = error_body(request->pending_code, request->pending_message);
        bool written = body && write_early_reply(server, connection, request->pending_code, body);
        free(body);
        request->replied_early = true;
        request->drained = 0;
        return written ? MHD_YES : MHD_NO;
    }
    if (incoming > limit - request->length) {
        char message[256];
        snprintf(message, sizeof message,
                 "request body is larger than the limit of %zu bytes (--max-body-bytes)", limit);
        return reply_too_large(server, connection, request, method, url, message);
    }

    if (request->length + incoming > request->capacity) {
        /* libmicrohttpd passes no more than the Content-Length, which is
         * reserved already. A chunked body reserves each growth step. */
        size_t bound = request->length_declared ? request->reserved : limit;
        if (request->length + incoming > bound) {
            ig_error("request body is longer than its reservation; the connection was closed",
                     IG_F_INT("bytes", (long long)(request->length + incoming)),
                     IG_F_INT("reserved", (long long)bound));
            return MHD_NO;
        }
        size_t capacity = request->capacity ? request->capacity : INITIAL_BODY_CAPACITY;
        if (capacity > bound)
            capacity = bound;
        while (capacity < request->length + incoming)
            capacity = capacity > bound / 2 ? bound : capacity * 2;
        if (capacity > request->reserved &&
            !reserve_body_bytes(server, request, capacity - request->reserved))
            return reply_buffers_full(server, connection, request, method, url,
                                      capacity - request->reserved, false);
        char *grown = realloc(request->body, capacity);
        if (!grown) {
            ig_error("out of memory buffering a request body; the connection was closed",
                     IG_F_INT("bytes", (long long)capacity));
            return MHD_NO;
        }
        request->body = grown;
        request->capacity = capacity;
    }
    memcpy(request->body + request->length, data, incoming);
    request->length += incoming;
    return MHD_YES;
}


#define CORK_MAX_REPLY_BYTES 8192

/* libmicrohttpd 0.9.75 writes a TLS reply's headers and body with two
 * gnutls_record_send() calls, so the client decrypts two records (an OpenSSL
 * client without read-ahead reads twice per record). Corking the session
 * keeps both in GnuTLS, and send_corked_reply() sends them as one record
 * once libmicrohttpd has handed over the whole reply. */
static void cork_reply(struct MHD_Connection *connection, struct request *request,
                       size_t body_length)
{
    /* A larger reply (only a client's own oversized fields make one) might
     * not fit an empty socket buffer at once, so it takes the plain path. */
    if (body_length > CORK_MAX_REPLY_BYTES)
        return;
    gnutls_session_t session = tls_session(connection);
    if (!session)
        return;
    gnutls_record_cork(session);
    request->corked = true;
}

/* Send the corked reply. A reply that cannot go out whole at once means the
 * client left earlier replies unread, which only a pipelining client can do.
 * Its connection is shut down, because a later write would follow a partial
 * record.
 *
 * libmicrohttpd 0.9.75 sets TCP_CORK on a TLS socket before the first
 * reply's headers and pushes the reply by setting TCP_NODELAY once the body
 * is handed over, which is before this data exists. It then counts the
 * socket as corked for good and never sets TCP_CORK again (pre_send_setopt()
 * and post_send_setopt() in mhd_send.c), so TCP_CORK is reset here once per
 * connection, not once per reply. A socket left corked would hold each
 * reply for 200 ms; a test checks that replies on one connection do not. */
static void send_corked_reply(struct MHD_Connection *connection, struct connection *state)
{
    gnutls_session_t session = tls_session(connection);
    if (!session)
        return;
    int sent = gnutls_record_uncork(session, 0);
    bool failed = sent < 0 || gnutls_record_check_corked(session) > 0;
    if (!failed && state && state->socket_uncorked)
        return;
    const union MHD_ConnectionInfo *fd_info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!fd_info)
        return;
    int fd = fd_info->connect_fd;
    if (failed) {
        ig_debug("reply could not be sent at once; the connection was shut down",
                 IG_F_STR("error", sent < 0 ? gnutls_strerror(sent) : "partial write"));
        shutdown(fd, SHUT_RDWR);
        return;
    }
    int off = 0;
    if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off) == 0 && state)
        state->socket_uncorked = true;
}

static enum MHD_Result finish_request(struct ig_server *server, struct MHD_Connection *connection,
                                      struct request *request)
{
    if (request->rejected)
        return MHD_YES;
    if (request->replied_early)
        return MHD_NO; /* close: the reply went out already */
    if (request->pending_code) {
        char *error = error_body(request->pending_code, request->pending_message);
        if (!error)
            return MHD_NO;
        enum MHD_Result queued =
            queue_json(server, connection, request->pending_code, error, strlen(error));
        free(error);
        return queued;
    }

    struct ig_admission_outcome outcome = {0};
    const char *body = request->body ? request->body : "";
    if (!ig_admission_handle(request->webhook, body, request->length, &server->config.admission,
                             &outcome)) {
        ig_error("out of memory deciding an admission review",
                 IG_F_STR("webhook", ig_webhook_name(request->webhook)));
        char *error = error_body(MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "out of memory deciding the admission review; retry the request");
        enum MHD_Result queued =
            error ? queue_json(server, connection, MHD_HTTP_INTERNAL_SERVER_ERROR, error,
                               strlen(error))
                  : MHD_NO;
        free(error);
        ig_admission_outcome_free(&outcome);
        return queued;
    }
    if (!outcome.body)
        return queue_json(server, connection, (unsigned)outcome.http_status, "", 0);
    cork_reply(connection, request, outcome.body_length);
    /* The reply body passes to MHD, which frees it after sending. */
    char *reply = outcome.body;
    outcome.body = NULL;
    return queue_json_body(server, connection, (unsigned)outcome.http_status, reply,
                           outcome.body_length, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct ig_server *server = cls;
    struct request *request = *con_cls;
    (void)version;

    if (!request) {
        /* Only a connection whose state could not be allocated has none, and
         * start_connection() has shut it down already. */
        struct connection *state = connection_state(connection);
        if (!state)
            return MHD_NO;
        request = &state->request;
        memset(request, 0, offsetof(struct request, pending_message));
        request->pending_message[0] = '\0';
        *con_cls = request;
        /* The headers are complete; the body gets the same time from now. */
        if (state->has_deadline)
            ig_deadlines_arm_body(server->deadlines, &state->deadline);
        read_limit_clock(&request->started);
        atomic_fetch_add(&server->in_flight, 1);
        ig_gauge_add(server->requests_in_flight, 1);
        return begin_request(server, connection, request, url, method);
    }
    if (*upload_data_size > 0)
        return collect_body(server, connection, request, url, method, upload_data,
                            upload_data_size);
    /* The body is complete: no deadline until the reply re-arms it. */
    struct connection *state = connection_state(connection);
    if (state && state->has_deadline)
        ig_deadlines_disarm(server->deadlines, &state->deadline);
    return finish_request(server, connection, request);
}

static void on_request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                                 enum MHD_RequestTerminationCode reason)
{
    struct ig_server *server = cls;
    struct request *request = *con_cls;
    (void)reason;
    /* The next request on this connection gets its own header deadline. */
    struct connection *state = connection_state(connection);
    if (state && state->has_deadline)
        ig_deadlines_arm_after_reply(server->deadlines, &state->deadline,
                                     KEEP_ALIVE_DEADLINE_SLACK_S);
    if (!request)
        return;
    if (request->corked)
        send_corked_reply(connection, state);
    /* libmicrohttpd calls this for every request the handler has seen, also
     * when the client aborts or the connection is closed on an error, so the
     * reservation is returned on every path. */
    release_body(server, request);
    *con_cls = NULL;
    ig_gauge_add(server->requests_in_flight, -1);
    atomic_fetch_sub(&server->in_flight, 1);
}

/* Set up a new connection's state: its certificate hold and its header
 * deadline. Without memory the connection is shut down at once, because it
 * would have neither. */
static void start_connection(struct ig_server *server, struct MHD_Connection *connection,
                             void **socket_context)
{
    const union MHD_ConnectionInfo *fd_info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *address_info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct connection *state = calloc(1, sizeof *state);
    *socket_context = state;
    if (!state) {
        ig_error("out of memory accepting a connection; it was shut down");
        if (fd_info)
            shutdown(fd_info->connect_fd, SHUT_RDWR);
        return;
    }
    state->tls_hold = ig_tls_store_hold(server->tls);
    if (!fd_info) {
        ig_error("libmicrohttpd returned no socket for a new connection; it has no header "
                 "deadline, so only the idle timeout will close it");
        return;
    }

    const struct sockaddr *peer = address_info ? address_info->client_addr : NULL;
    socklen_t peer_length = 0;
    if (peer && peer->sa_family == AF_INET)
        peer_length = sizeof(struct sockaddr_in);
    else if (peer && peer->sa_family == AF_INET6)
        peer_length = sizeof(struct sockaddr_in6);
    ig_deadlines_add(server->deadlines, &state->deadline, fd_info->connect_fd, peer, peer_length);
    state->has_deadline = true;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode event)
{
    struct ig_worker *worker = cls;
    struct ig_server *server = worker->owner;
    if (event == MHD_CONNECTION_NOTIFY_STARTED) {
        /* Counted as open before it leaves the queue, so that the acceptor
         * never reads a load below the real one. */
        atomic_fetch_add(&worker->open_connections, 1);
        atomic_fetch_sub(&worker->queued_connections, 1);
        ig_counter_add(server->connections_accepted, 1);
        ig_gauge_add(server->connections_open, 1);
        start_connection(server, connection, socket_context);
    } else if (event == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct connection *state = *socket_context;
        *socket_context = NULL;
        /* libmicrohttpd sends this notification before it closes the socket
         * (MHD_cleanup_connections() in daemon.c; seen in a debugger on
         * Debian's 0.9.75-6), so after the removal the sweeper can no longer
         * shut down a socket that reuses the number. */
        if (state) {
            if (state->has_deadline)
                ig_deadlines_remove(server->deadlines, &state->deadline);
            ig_tls_store_release(server->tls, state->tls_hold);
            free(state);
        }
        atomic_fetch_sub(&worker->open_connections, 1);
        ig_gauge_add(server->connections_open, -1);
    }
}

static bool server_is_ready(void *context)
{
    struct ig_server *server = context;
    return atomic_load(&server->ready);
}

static void register_metrics(struct ig_server *server)
{
    char labels[64];
    const char *errors_help = "HTTP responses with a status of 400 or more sent by the webhook "
                              "server, by status code.";
    for (size_t i = 0; i < COUNTED_CODE_COUNT; i++) {
        snprintf(labels, sizeof labels, "code=\"%u\"", counted_codes[i]);
        server->errors_by_code[i] =
            ig_metrics_counter("immutable_guard_http_errors_total", errors_help, labels);
    }
    server->errors_other =
        ig_metrics_counter("immutable_guard_http_errors_total", errors_help, "code=\"other\"");
    server->connections_accepted = ig_metrics_counter(
        "immutable_guard_connections_total", "TLS connections accepted by the webhook server.", "");
    server->connections_open = ig_metrics_gauge(
        "immutable_guard_connections_open", "TLS connections open on the webhook server.", "");
    server->slow_bodies = ig_metrics_counter(
        "immutable_guard_slow_bodies_total",
        "Requests closed because their body took longer than --connection-timeout.", "");
    server->buffer_rejections = ig_metrics_counter(
        "immutable_guard_body_buffer_rejections_total",
        "Requests rejected with 503 because their body would pass --max-buffered-bytes.", "");
    server->body_bytes_reserved = ig_metrics_gauge(
        "immutable_guard_body_bytes_reserved",
        "Bytes of request bodies reserved against --max-buffered-bytes.", "");
    server->requests_in_flight = ig_metrics_gauge(
        "immutable_guard_requests_in_flight",
        "Webhook requests whose headers have arrived and whose reply is not yet sent.", "");

    char version[64];
    char commit[64];
    char build_labels[160];
    if (ig_metrics_escape_label(IG_VERSION, version, sizeof version) &&
        ig_metrics_escape_label(IG_GIT_COMMIT, commit, sizeof commit)) {
        snprintf(build_labels, sizeof build_labels, "version=\"%s\",commit=\"%s\"", version,
                 commit);
        ig_gauge_set(ig_metrics_gauge("immutable_guard_build_info",
                                      "Build of the running binary; the value is always 1.",
                                      build_labels),
                     1);
    }
}

/* Each connection's libmicrohttpd memory pool: the request line and
 * headers, the read buffer and the reply headers. libmicrohttpd 0.9.75
 * zeroes the whole pool after every request (MHD_pool_reset), and with
 * 64 keep-alive connections 16 KiB pools took about 2.5 % more CPU per
 * request than 8 KiB ones. The default is 32 KiB. Headers of about
 * 7.5 KiB, or about 75 header lines, still fit: far more than the few
 * hundred bytes an apiserver sends. */
#define CONNECTION_MEMORY_BYTES (8 * 1024)

/* Leave the path as sent. libmicrohttpd percent-decodes it by default, so
 * "/%76alidate" would be served as /validate and logged decoded. No handler
 * reads query arguments, which this also leaves undecoded. */
static size_t keep_escapes(void *cls, struct MHD_Connection *connection, char *text)
{
    (void)cls;
    (void)connection;
    return strlen(text);
}

/* Start one worker: a daemon without a listening socket and with one poll()
 * thread, fed by the acceptor.
 *
 * Not epoll: in epoll mode libmicrohttpd 0.9.75 keeps a connection whose
 * TLS handshake waits for the client on its ready list. The thread then
 * loops on epoll_wait with timeout 0 and a recv that returns EAGAIN until
 * the client's next flight arrives, about 170 times per handshake on
 * loopback. With one client opening a connection per request that cost
 * 2.0 to 2.7 ms of CPU per connection, and 0.34 to 0.39 ms with poll().
 * poll() costs time linear in the thread's open connections per wake-up.
 * With 511 idle connections open (tests/abuse), a well-behaved client still
 * measured a p99 of 1.3 ms. */
static bool start_worker(struct ig_server *server, struct ig_worker *worker)
{
    const struct ig_server_config *config = &server->config;
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    worker->owner = server;
    atomic_init(&worker->open_connections, 0);
    atomic_init(&worker->queued_connections, 0);
    /* The logger must be the first option to catch every message. The
     * acceptor enforces --connection-limit over all workers, so a daemon's
     * own limit must never be reached. At that limit, libmicrohttpd 0.9.75
     * refuses a connection added from outside and then waits on a mutex its
     * own thread holds, which stops the worker for good. The headroom is for
     * closed connections the daemon has not cleaned up yet, which still
     * count there. */
    worker->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server,
        MHD_OPTION_EXTERNAL_LOGGER, ig_mhd_log, "webhook",
        MHD_OPTION_HTTPS_CERT_CALLBACK, ig_tls_store_retrieve,
        MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
        MHD_OPTION_CONNECTION_TIMEOUT, config->connection_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, config->connection_limit * 2 + 64,
        MHD_OPTION_NOTIFY_COMPLETED, on_request_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, worker,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES,
        MHD_OPTION_END);
    return worker->daemon != NULL;
}

static void stop_workers(struct ig_server *server)
{
    for (unsigned i = 0; server->workers && i < server->worker_count; i++) {
        if (server->workers[i].daemon)
            MHD_stop_daemon(server->workers[i].daemon);
    }
    free(server->workers);
    server->workers = NULL;
}

struct ig_server *ig_server_start(const struct ig_server_config *config)
{
    struct ig_server *server = calloc(1, sizeof *server);
    if (!server) {
        ig_error("out of memory starting the webhook server");
        return NULL;
    }
    server->config = *config;
    register_metrics(server);

    server->tls = ig_tls_store_open(config->tls_cert_path, config->tls_key_path);
    if (!server->tls)
        goto fail;
    ig_tls_store_activate(server->tls);

    server->probe = ig_probe_server_start(config->probe_listen, server_is_ready, server);
    if (!server->probe)
        goto fail;

    server->deadlines = ig_deadlines_start(config->connection_timeout_s, server->slow_bodies);
    if (!server->deadlines)
        goto fail;

    server->worker_count = config->threads > 0 ? config->threads : 1;
    server->workers = calloc(server->worker_count, sizeof *server->workers);
    if (!server->workers) {
        ig_error("out of memory starting the webhook server");
        goto fail;
    }
    for (unsigned i = 0; i < server->worker_count; i++) {
        if (!start_worker(server, &server->workers[i])) {
            ig_error("failed to start a webhook worker thread", IG_F_INT("worker", i),
                     IG_F_STR("error", strerror(errno)));
            goto fail;
        }
    }

    int fd = ig_listen_open(config->listen);
    if (fd < 0)
        goto fail;
    server->port = ig_listen_port(fd);
    server->acceptor =
        ig_acceptor_start(fd, server->workers, server->worker_count, config->connection_limit);
    if (!server->acceptor)
        goto fail;
    if (!ig_tls_store_watch(server->tls, config->tls_poll_interval_ms))
        goto fail;

    atomic_store(&server->ready, true);
    ig_info("webhook server listening", IG_F_STR("address", config->listen),
            IG_F_INT("port", server->port), IG_F_INT("threads", config->threads),
            IG_F_INT("connection_limit", config->connection_limit),
            IG_F_INT("connection_timeout_s", config->connection_timeout_s),
            IG_F_INT("max_body_bytes", (long long)config->max_body_bytes),
            IG_F_INT("max_buffered_bytes", (long long)config->max_buffered_bytes));
    return server;

fail:
    ig_acceptor_stop(server->acceptor);
    stop_workers(server);
    ig_deadlines_stop(server->deadlines);
    ig_probe_server_stop(server->probe);
    ig_tls_store_free(server->tls);
    free(server);
    return NULL;
}

unsigned ig_server_port(const struct ig_server *server)
{
    return server->port;
}

unsigned ig_server_probe_port(const struct ig_server *server)
{
    return ig_probe_server_port(server->probe);
}

void ig_server_shutdown(struct ig_server *server)
{
    if (!server)
        return;
    struct timespec started;
    read_limit_clock(&started);
    atomic_store(&server->ready, false);
    atomic_store(&server->stopping, true);

    /* Closing the listening socket makes new connection attempts fail at once. */
    ig_acceptor_stop(server->acceptor);
    server->acceptor = NULL;
    ig_info("webhook server stopped accepting connections; waiting for in-flight requests",
            IG_F_INT("in_flight", atomic_load(&server->in_flight)),
            IG_F_INT("grace_s", server->config.shutdown_grace_s));

    long long grace_ms = (long long)server->config.shutdown_grace_s * 1000;
    while (atomic_load(&server->in_flight) > 0 && elapsed_ms(&started) < grace_ms) {
        struct timespec pause = {0, 10 * 1000000L};
        nanosleep(&pause, NULL);
    }
    long remaining = atomic_load(&server->in_flight);
    if (remaining > 0)
        ig_warn("shutdown grace period ended with requests still in flight; closing them",
                IG_F_INT("in_flight", remaining));

    stop_workers(server);
    ig_deadlines_stop(server->deadlines);
    ig_probe_server_stop(server->probe);
    ig_tls_store_free(server->tls);
    ig_info("webhook server stopped", IG_F_INT("duration_ms", elapsed_ms(&started)));
    free(server);
}
