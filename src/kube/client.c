#include "kube/client.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "kube/internal.h"
#include "kube/time.h"

#define DEFAULT_MAX_BODY_BYTES ((size_t)64 * 1024 * 1024)
#define DEFAULT_MAX_EVENT_BYTES ((size_t)16 * 1024 * 1024)
#define DEFAULT_MAX_PAGES 10000
#define MAX_METRIC_SLOTS 128
#define MAX_TOKEN_SIZE (64 * 1024)
#define HANDLE_POOL_SIZE 8

const struct ig_kube_resource IG_KUBE_SECRETS = {"", "v1", "secrets", true};
const struct ig_kube_resource IG_KUBE_LEASES = {"coordination.k8s.io", "v1", "leases", true};
const struct ig_kube_resource IG_KUBE_EVENTS = {"events.k8s.io", "v1", "events", true};

struct metric_slot {
    enum ig_kube_verb verb;
    char resource[64];
    long code;
    struct ig_counter *counter;
};

struct ig_kube_client {
    struct ig_kube_config config;
    struct ig_kube_client_options options;
    char *user_agent;

    /* DNS results shared by every request of this client. Connections and
     * TLS sessions are not shared: ThreadSanitizer caught one thread freeing
     * a shared session's certificate stack inside OpenSSL while another
     * copied it (libcurl 7.88.1, OpenSSL 3.0), and the shared connection pool
     * is not safe across threads either. Each pooled handle still keeps its
     * own connection and session. */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* Idle easy handles. Each keeps its own kept-alive connections, so a
     * request that takes a handle from here reuses one. A handle is used by
     * one thread at a time, as libcurl requires. */
    pthread_mutex_t pool_lock;
    CURL *pool[HANDLE_POOL_SIZE];
    size_t pool_count;

    pthread_mutex_t token_lock;
    char *token;
    double token_read_at;
    bool token_cached;

    pthread_mutex_t guard_lock;
    ig_kube_write_guard_fn guard;
    void *guard_ctx;

    pthread_mutex_t metrics_lock;
    struct metric_slot slots[MAX_METRIC_SLOTS];
    size_t slot_count;

    struct ig_counter *limit_metrics[IG_KUBE_LIMIT_COUNT];

    atomic_ulong attempts;
    atomic_ulong token_reads;
};

/* ---- stopper ---------------------------------------------------------- */

void ig_kube_stopper_init(struct ig_kube_stopper *stopper)
{
    pthread_mutex_init(&stopper->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&stopper->cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&stopper->stopped, false);
}

void ig_kube_stopper_destroy(struct ig_kube_stopper *stopper)
{
    pthread_cond_destroy(&stopper->cond);
    pthread_mutex_destroy(&stopper->lock);
}

void ig_kube_stopper_stop(struct ig_kube_stopper *stopper)
{
    pthread_mutex_lock(&stopper->lock);
    atomic_store(&stopper->stopped, true);
    pthread_cond_broadcast(&stopper->cond);
    pthread_mutex_unlock(&stopper->lock);
}

bool ig_kube_stopper_stopped(const struct ig_kube_stopper *stopper)
{
    return stopper && atomic_load(&stopper->stopped);
}

bool ig_kube_stopper_sleep(struct ig_kube_stopper *stopper, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    if (!stopper) {
        struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return false;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    double whole = floor(seconds);
    deadline.tv_sec += (time_t)whole;
    deadline.tv_nsec += (long)((seconds - whole) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&stopper->lock);
    while (!atomic_load(&stopper->stopped)) {
        if (pthread_cond_timedwait(&stopper->cond, &stopper->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool stopped = atomic_load(&stopper->stopped);
    pthread_mutex_unlock(&stopper->lock);
    return stopped;
}

int ig_kube_progress_cancel(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return ig_kube_stopper_stopped(data) ? 1 : 0;
}

/* ---- small helpers ---------------------------------------------------- */

double ig_kube_random(void)
{
    static _Atomic uint64_t state;
    uint64_t old = atomic_load(&state);
    uint64_t next;
    do {
        next = old;
        if (next == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            next = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
                   0x9E3779B97F4A7C15ULL;
        }
        next ^= next >> 12;
        next ^= next << 25;
        next ^= next >> 27;
    } while (!atomic_compare_exchange_weak(&state, &old, next));
    return (double)((next * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

double ig_kube_client_backoff(const struct ig_kube_client *client, int attempt)
{
    double delay = client->options.backoff_initial * pow(2.0, attempt - 1);
    if (delay > client->options.backoff_max)
        delay = client->options.backoff_max;
    return delay / 2 + ig_kube_random() * delay / 2;
}

char *ig_kube_query_escape(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(text);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

const char *ig_kube_verb_name(enum ig_kube_verb verb)
{
    switch (verb) {
    case IG_KUBE_VERB_GET: return "get";
    case IG_KUBE_VERB_LIST: return "list";
    case IG_KUBE_VERB_WATCH: return "watch";
    case IG_KUBE_VERB_CREATE: return "create";
    case IG_KUBE_VERB_UPDATE: return "update";
    case IG_KUBE_VERB_PATCH: return "patch";
    case IG_KUBE_VERB_DELETE: return "delete";
    }
    return "unknown";
}

static const char *verb_method(enum ig_kube_verb verb)
{
    switch (verb) {
    case IG_KUBE_VERB_CREATE: return "POST";
    case IG_KUBE_VERB_UPDATE: return "PUT";
    case IG_KUBE_VERB_PATCH: return "PATCH";
    case IG_KUBE_VERB_DELETE: return "DELETE";
    default: return "GET";
    }
}

static bool verb_writes(enum ig_kube_verb verb)
{
    return verb == IG_KUBE_VERB_CREATE || verb == IG_KUBE_VERB_UPDATE ||
           verb == IG_KUBE_VERB_PATCH || verb == IG_KUBE_VERB_DELETE;
}

/* ---- construction ----------------------------------------------------- */

static bool dup_string(char **dst, const char *src)
{
    if (!src) {
        *dst = NULL;
        return true;
    }
    *dst = strdup(src);
    return *dst != NULL;
}

static bool dup_bytes(unsigned char **dst, const unsigned char *src, size_t length)
{
    if (!src) {
        *dst = NULL;
        return true;
    }
    *dst = malloc(length + 1);
    if (!*dst)
        return false;
    memcpy(*dst, src, length);
    (*dst)[length] = '\0';
    return true;
}

static bool copy_config(struct ig_kube_config *dst, const struct ig_kube_config *src)
{
    memset(dst, 0, sizeof *dst);
    dst->ca_data_length = src->ca_data_length;
    dst->client_cert_data_length = src->client_cert_data_length;
    dst->client_key_data_length = src->client_key_data_length;
    dst->insecure_skip_tls_verify = src->insecure_skip_tls_verify;
    return dup_string(&dst->server, src->server) && dup_string(&dst->ca_file, src->ca_file) &&
           dup_bytes(&dst->ca_data, src->ca_data, src->ca_data_length) &&
           dup_string(&dst->token, src->token) && dup_string(&dst->token_file, src->token_file) &&
           dup_string(&dst->client_cert_file, src->client_cert_file) &&
           dup_string(&dst->client_key_file, src->client_key_file) &&
           dup_bytes(&dst->client_cert_data, src->client_cert_data, src->client_cert_data_length) &&
           dup_bytes(&dst->client_key_data, src->client_key_data, src->client_key_data_length) &&
           dup_string(&dst->namespace, src->namespace) && dup_string(&dst->source, src->source);
}

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)easy;
    (void)access;
    struct ig_kube_client *client = userptr;
    pthread_mutex_lock(&client->share_locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *userptr)
{
    (void)easy;
    struct ig_kube_client *client = userptr;
    pthread_mutex_unlock(&client->share_locks[data]);
}

static bool init_share(struct ig_kube_client *client)
{
    client->share = curl_share_init();
    if (!client->share)
        return false;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&client->share_locks[i], NULL);
    curl_share_setopt(client->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(client->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(client->share, CURLSHOPT_USERDATA, client);
    curl_share_setopt(client->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    return true;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct ig_kube_client *ig_kube_client_new(const struct ig_kube_config *config,
                                          const struct ig_kube_client_options *options)
{
    pthread_once(&curl_once, init_curl);
    struct ig_kube_client *client = calloc(1, sizeof *client);
    if (!client)
        return NULL;
    if (options)
        client->options = *options;
    struct ig_kube_client_options *o = &client->options;
    if (o->max_attempts <= 0)
        o->max_attempts = 5;
    if (o->backoff_initial <= 0)
        o->backoff_initial = 0.2;
    if (o->backoff_max <= 0)
        o->backoff_max = 10;
    if (o->retry_after_max <= 0)
        o->retry_after_max = 60;
    if (o->request_timeout <= 0)
        o->request_timeout = 30;
    if (o->token_max_age <= 0)
        o->token_max_age = 60;
    /* 64 MiB fits a default LIST page of 500 objects averaging 128 KiB, and
     * ig_kube_list halves the page size when a page is larger. */
    if (o->max_body_bytes == 0)
        o->max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    if (o->max_event_bytes == 0)
        o->max_event_bytes = DEFAULT_MAX_EVENT_BYTES;
    char agent[128];
    snprintf(agent, sizeof agent, "immutable-guard/%s", IG_VERSION);
    client->user_agent = strdup(o->user_agent ? o->user_agent : agent);
    o->user_agent = NULL;
    if (!client->user_agent || !copy_config(&client->config, config)) {
        ig_kube_config_free(&client->config);
        free(client->user_agent);
        free(client);
        return NULL;
    }
    if (!init_share(client)) {
        ig_kube_config_free(&client->config);
        free(client->user_agent);
        free(client);
        return NULL;
    }
    pthread_mutex_init(&client->token_lock, NULL);
    pthread_mutex_init(&client->guard_lock, NULL);
    pthread_mutex_init(&client->metrics_lock, NULL);
    pthread_mutex_init(&client->pool_lock, NULL);
    atomic_init(&client->attempts, 0);
    atomic_init(&client->token_reads, 0);
    static const char *const limit_labels[IG_KUBE_LIMIT_COUNT] = {
        [IG_KUBE_LIMIT_RESPONSE_BODY] = "limit=\"response_body\"",
        [IG_KUBE_LIMIT_WATCH_EVENT] = "limit=\"watch_event\"",
        [IG_KUBE_LIMIT_LIST_PAGES] = "limit=\"list_pages\"",
    };
    for (int i = 0; i < IG_KUBE_LIMIT_COUNT; i++)
        client->limit_metrics[i] = ig_metrics_counter(
            "ig_kube_limit_exceeded_total",
            "Kubernetes API replies aborted because they passed a client-side limit.",
            limit_labels[i]);
    return client;
}

void ig_kube_client_free(struct ig_kube_client *client)
{
    if (!client)
        return;
    /* Every handle in use has been given back by now, so only pooled ones use the share. */
    for (size_t i = 0; i < client->pool_count; i++)
        curl_easy_cleanup(client->pool[i]);
    pthread_mutex_destroy(&client->pool_lock);
    curl_share_cleanup(client->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&client->share_locks[i]);
    ig_kube_config_free(&client->config);
    free(client->user_agent);
    free(client->token);
    pthread_mutex_destroy(&client->token_lock);
    pthread_mutex_destroy(&client->guard_lock);
    pthread_mutex_destroy(&client->metrics_lock);
    free(client);
}

void ig_kube_client_set_write_guard(struct ig_kube_client *client, ig_kube_write_guard_fn guard,
                                    void *ctx)
{
    pthread_mutex_lock(&client->guard_lock);
    client->guard = guard;
    client->guard_ctx = ctx;
    pthread_mutex_unlock(&client->guard_lock);
}

static bool write_allowed(struct ig_kube_client *client)
{
    pthread_mutex_lock(&client->guard_lock);
    ig_kube_write_guard_fn guard = client->guard;
    void *ctx = client->guard_ctx;
    pthread_mutex_unlock(&client->guard_lock);
    return !guard || guard(ctx);
}

const struct ig_kube_config *ig_kube_client_config(const struct ig_kube_client *client)
{
    return &client->config;
}

size_t ig_kube_client_max_event_bytes(const struct ig_kube_client *client)
{
    return client->options.max_event_bytes;
}

static const char *limit_name(enum ig_kube_limit limit)
{
    switch (limit) {
    case IG_KUBE_LIMIT_RESPONSE_BODY: return "response_body";
    case IG_KUBE_LIMIT_WATCH_EVENT: return "watch_event";
    case IG_KUBE_LIMIT_LIST_PAGES: return "list_pages";
    case IG_KUBE_LIMIT_COUNT: break;
    }
    return "unknown";
}

void ig_kube_client_limit_exceeded(struct ig_kube_client *client, enum ig_kube_limit limit,
                                   const char *resource, const char *message,
                                   long long limit_value)
{
    ig_error(message, IG_F_STR("resource", resource), IG_F_STR("limit", limit_name(limit)),
             IG_F_INT("limit_value", limit_value));
    if (limit < IG_KUBE_LIMIT_COUNT)
        ig_counter_add(client->limit_metrics[limit], 1);
}

unsigned long ig_kube_client_attempts(const struct ig_kube_client *client)
{
    return atomic_load(&client->attempts);
}

unsigned long ig_kube_client_token_reads(const struct ig_kube_client *client)
{
    return atomic_load(&client->token_reads);
}

/* ---- metrics ---------------------------------------------------------- */

void ig_kube_client_count(struct ig_kube_client *client, enum ig_kube_verb verb,
                          const char *resource, long code)
{
    struct ig_counter *counter = NULL;
    pthread_mutex_lock(&client->metrics_lock);
    for (size_t i = 0; i < client->slot_count; i++) {
        struct metric_slot *s = &client->slots[i];
        if (s->verb == verb && s->code == code && strcmp(s->resource, resource) == 0) {
            counter = s->counter;
            break;
        }
    }
    if (!counter) {
        char escaped[128];
        char labels[256];
        if (!ig_metrics_escape_label(resource, escaped, sizeof escaped))
            snprintf(escaped, sizeof escaped, "other");
        snprintf(labels, sizeof labels, "verb=\"%s\",resource=\"%s\",code=\"%ld\"",
                 ig_kube_verb_name(verb), escaped, code);
        counter = ig_metrics_counter("ig_kube_api_requests_total",
                                     "Kubernetes API requests by verb, resource and HTTP code "
                                     "(code 0: no reply).",
                                     labels);
        if (counter && client->slot_count < MAX_METRIC_SLOTS) {
            struct metric_slot *s = &client->slots[client->slot_count++];
            s->verb = verb;
            s->code = code;
            snprintf(s->resource, sizeof s->resource, "%s", resource);
            s->counter = counter;
        }
    }
    pthread_mutex_unlock(&client->metrics_lock);
    ig_counter_add(counter, 1);
}

/* ---- tokens ----------------------------------------------------------- */

static char *read_token_file(const char *path, int *error)
{
    /* Open the path each time: the kubelet replaces the file through a symlink swap. */
    FILE *f = fopen(path, "rb");
    if (!f) {
        *error = errno;
        return NULL;
    }
    char *buf = malloc(MAX_TOKEN_SIZE + 1);
    if (!buf) {
        fclose(f);
        *error = ENOMEM;
        return NULL;
    }
    size_t n = fread(buf, 1, MAX_TOKEN_SIZE, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0) {
        free(buf);
        *error = ENODATA;
        return NULL;
    }
    return buf;
}

int ig_kube_client_token(struct ig_kube_client *client, char **token, double *read_at,
                         struct ig_kube_status *status)
{
    *token = NULL;
    *read_at = 0;
    if (!client->config.token_file) {
        if (client->config.token && !(*token = strdup(client->config.token))) {
            ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
            return -1;
        }
        return 0;
    }
    pthread_mutex_lock(&client->token_lock);
    double now = ig_kube_monotonic_seconds();
    if (!client->token_cached || now - client->token_read_at >= client->options.token_max_age) {
        int error = 0;
        char *fresh = read_token_file(client->config.token_file, &error);
        atomic_fetch_add(&client->token_reads, 1);
        if (fresh) {
            free(client->token);
            client->token = fresh;
            client->token_read_at = now;
            client->token_cached = true;
        } else if (client->token) {
            ig_warn("kube token file unreadable, keeping the previous token",
                    IG_F_STR("path", client->config.token_file),
                    IG_F_STR("error", strerror(error)));
            client->token_read_at = now;
            client->token_cached = true;
        } else {
            pthread_mutex_unlock(&client->token_lock);
            char message[512];
            snprintf(message, sizeof message, "cannot read token file %s: %s",
                     client->config.token_file, strerror(error));
            ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, message);
            return -1;
        }
    }
    *token = strdup(client->token);
    *read_at = client->token_read_at;
    pthread_mutex_unlock(&client->token_lock);
    if (!*token) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    return 0;
}

bool ig_kube_client_token_rejected(struct ig_kube_client *client, double started)
{
    if (!client->config.token_file)
        return false;
    pthread_mutex_lock(&client->token_lock);
    if (client->token_cached && client->token_read_at <= started)
        client->token_cached = false;
    pthread_mutex_unlock(&client->token_lock);
    return true;
}

/* ---- transfers -------------------------------------------------------- */

/* Append one header line; the list is left unchanged when out of memory. */
static bool add_header(struct curl_slist **headers, const char *line)
{
    struct curl_slist *next = curl_slist_append(*headers, line);
    if (!next)
        return false;
    *headers = next;
    return true;
}

/* Take an idle handle (options reset, connections kept) or make a new one. */
static CURL *take_handle(struct ig_kube_client *client)
{
    CURL *easy = NULL;
    pthread_mutex_lock(&client->pool_lock);
    if (client->pool_count > 0)
        easy = client->pool[--client->pool_count];
    pthread_mutex_unlock(&client->pool_lock);
    return easy ? easy : curl_easy_init();
}

void ig_kube_client_release_easy(struct ig_kube_client *client, CURL *easy)
{
    if (!easy)
        return;
    /* Drop every option now: they point to the caller's buffers, headers and
     * callbacks, which do not outlive the transfer. Connections stay open. */
    curl_easy_reset(easy);
    pthread_mutex_lock(&client->pool_lock);
    if (client->pool_count < HANDLE_POOL_SIZE) {
        client->pool[client->pool_count++] = easy;
        easy = NULL;
    }
    pthread_mutex_unlock(&client->pool_lock);
    curl_easy_cleanup(easy);
}

CURL *ig_kube_client_easy(struct ig_kube_client *client, const char *path, const char *token,
                          const char *content_type, struct curl_slist **headers)
{
    *headers = NULL;
    CURL *easy = take_handle(client);
    if (!easy)
        return NULL;
    size_t url_size = strlen(client->config.server) + strlen(path) + 1;
    char *url = malloc(url_size);
    if (!url)
        goto fail;
    snprintf(url, url_size, "%s%s", client->config.server, path);
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_URL, url);
    free(url);
    if (rc != CURLE_OK)
        goto fail;

    if (!add_header(headers, "Accept: application/json"))
        goto fail;
    if (content_type) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        if (!add_header(headers, line))
            goto fail;
    }
    if (token) {
        size_t size = strlen(token) + 32;
        char *line = malloc(size);
        if (!line)
            goto fail;
        snprintf(line, size, "Authorization: Bearer %s", token);
        bool added = add_header(headers, line);
        explicit_bzero(line, size);
        free(line);
        if (!added)
            goto fail;
    }
    /* Disable "Expect: 100-continue" on large bodies: the API server does not need it. */
    if (!add_header(headers, "Expect:"))
        goto fail;

    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(easy, CURLOPT_SHARE, client->share);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, client->user_agent);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);

    const struct ig_kube_config *c = &client->config;
    if (c->insecure_skip_tls_verify) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (c->ca_data) {
        struct curl_blob blob = {c->ca_data, c->ca_data_length, CURL_BLOB_COPY};
        curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    } else if (c->ca_file) {
        /* Read for each new connection (libcurl's CA cache is off), so a rotated
         * ca.crt is used from the next connection on. */
        curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    }
    if (c->client_cert_data) {
        struct curl_blob cert = {c->client_cert_data, c->client_cert_data_length, CURL_BLOB_COPY};
        struct curl_blob key = {c->client_key_data, c->client_key_data_length, CURL_BLOB_COPY};
        curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (c->client_cert_file) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, c->client_cert_file);
        curl_easy_setopt(easy, CURLOPT_SSLKEY, c->client_key_file);
    }
    return easy;
fail:
    curl_slist_free_all(*headers);
    *headers = NULL;
    ig_kube_client_release_easy(client, easy);
    return NULL;
}

struct body_buffer {
    char *data;
    size_t length;
    size_t capacity;
    size_t max; /* bytes of body, without the terminating NUL */
    bool too_large;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body_buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->length + n > b->max) {
        b->too_large = true;
        return 0;
    }
    if (b->length + n + 1 > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 4096;
        while (cap < b->length + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1; /* never allocate beyond the limit */
        char *grown = realloc(b->data, cap);
        if (!grown)
            return 0;
        b->data = grown;
        b->capacity = cap;
    }
    memcpy(b->data + b->length, ptr, n);
    b->length += n;
    b->data[b->length] = '\0';
    return n;
}

static size_t on_header(char *buffer, size_t size, size_t nitems, void *userdata)
{
    double *retry_after = userdata;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(buffer, name, sizeof name - 1) == 0) {
        char value[32];
        size_t len = n - (sizeof name - 1);
        if (len >= sizeof value)
            len = sizeof value - 1;
        memcpy(value, buffer + sizeof name - 1, len);
        value[len] = '\0';
        char *end;
        errno = 0;
        long seconds = strtol(value, &end, 10);
        /* Only the delay-seconds form; kube-apiserver never sends an HTTP date. */
        if (errno == 0 && end != value && seconds >= 0)
            *retry_after = (double)seconds;
    }
    return n;
}

void ig_kube_response_clear(struct ig_kube_response *response)
{
    if (!response)
        return;
    free(response->body);
    memset(response, 0, sizeof *response);
}

static bool retryable_code(long code)
{
    return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

struct send_gate {
    struct ig_kube_client *client;
    const struct ig_kube_request *request;
    bool blocked;
};

/* CURLOPT_PREREQFUNCTION: the last moment before the request goes out. */
static int check_before_send(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                             int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    struct send_gate *gate = clientp;
    const struct ig_kube_request *request = gate->request;
    bool allowed = true;
    if (verb_writes(request->verb) && !request->bypass_write_guard)
        allowed = write_allowed(gate->client);
    if (allowed && request->send_check)
        allowed = request->send_check(request->send_check_ctx);
    gate->blocked = !allowed;
    return allowed ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

/* Run one attempt. Returns the HTTP code, or 0 on a transport failure with status set. */
static long perform_once(struct ig_kube_client *client, const struct ig_kube_request *request,
                         const char *token, struct body_buffer *body, double *retry_after,
                         struct ig_kube_status *status)
{
    const char *content_type = request->body ? (request->content_type ? request->content_type
                                                                     : "application/json")
                                             : NULL;
    struct curl_slist *headers = NULL;
    CURL *easy = ig_kube_client_easy(client, request->path, token, content_type, &headers);
    if (!easy) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return 0;
    }
    char curl_error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, verb_method(request->verb));
    if (request->body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(request->body));
    } else if (request->verb == IG_KUBE_VERB_CREATE || request->verb == IG_KUBE_VERB_UPDATE ||
               request->verb == IG_KUBE_VERB_PATCH) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, request->timeout_seconds > 0
                                                ? request->timeout_seconds
                                                : client->options.request_timeout);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, retry_after);
    if (request->cancel) {
        curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, ig_kube_progress_cancel);
        curl_easy_setopt(easy, CURLOPT_XFERINFODATA, request->cancel);
    }
    struct send_gate gate = {client, request, false};
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, check_before_send);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, &gate);

    atomic_fetch_add(&client->attempts, 1);
    CURLcode rc = curl_easy_perform(easy);
    long code = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    } else if (gate.blocked) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_NOT_LEADER,
                           "write blocked before sending: this replica no longer leads");
    } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CANCELLED, "request cancelled");
    } else if (body->too_large) {
        char message[256];
        snprintf(message, sizeof message,
                 "reply body exceeds the client's limit of %zu bytes, so the transfer was "
                 "aborted; check the API server or raise max_body_bytes",
                 body->max);
        ig_kube_status_set(status, 0, IG_KUBE_REASON_TOO_LARGE, message);
        ig_kube_client_limit_exceeded(
            client, IG_KUBE_LIMIT_RESPONSE_BODY, request->resource ? request->resource : "other",
            "kube API reply body exceeds the size limit, transfer aborted", (long long)body->max);
    } else {
        char message[CURL_ERROR_SIZE + 64];
        snprintf(message, sizeof message, "%s", curl_error[0] ? curl_error : curl_easy_strerror(rc));
        ig_kube_status_set(status, 0, IG_KUBE_REASON_TRANSPORT, message);
    }
    ig_kube_client_release_easy(client, easy);
    curl_slist_free_all(headers);
    return code;
}

int ig_kube_do(struct ig_kube_client *client, const struct ig_kube_request *request,
               struct ig_kube_response *response, struct ig_kube_status *status)
{
    memset(response, 0, sizeof *response);
    ig_kube_status_clear(status);
    const char *resource = request->resource ? request->resource : "other";
    bool retried_unauthorized = false;

    for (int attempt = 1;; attempt++) {
        if (ig_kube_stopper_stopped(request->cancel)) {
            ig_kube_status_set(status, 0, IG_KUBE_REASON_CANCELLED, "request cancelled");
            return -1;
        }
        if (verb_writes(request->verb) && !request->bypass_write_guard && !write_allowed(client)) {
            ig_kube_status_set(status, 0, IG_KUBE_REASON_NOT_LEADER,
                               "write blocked: this replica does not hold the leader lease");
            return -1;
        }
        char *token = NULL;
        double token_read_at;
        if (ig_kube_client_token(client, &token, &token_read_at, status) != 0)
            return -1;

        struct body_buffer body = {.max = client->options.max_body_bytes};
        double retry_after = -1;
        double started = ig_kube_monotonic_seconds();
        long code = perform_once(client, request, token, &body, &retry_after, status);
        if (token)
            explicit_bzero(token, strlen(token));
        free(token);
        ig_kube_client_count(client, request->verb, resource, code);

        if (code >= 200 && code < 300) {
            ig_kube_status_clear(status); /* drop what earlier attempts left */
            response->code = code;
            response->body = body.data;
            response->body_length = body.length;
            return 0;
        }
        if (code == 0 && status->reason != IG_KUBE_REASON_TRANSPORT) {
            free(body.data);
            return -1;
        }
        if (code != 0 && !ig_kube_status_parse(body.data, body.length, (int)code, status)) {
            free(body.data);
            ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
            return -1;
        }
        free(body.data);
        response->code = code;

        if (code == 401 && !retried_unauthorized && ig_kube_client_token_rejected(client, started)) {
            /* The token may have been rotated: read the file again and retry once. */
            retried_unauthorized = true;
            ig_info("kube API rejected the token, re-reading the token file",
                    IG_F_STR("verb", ig_kube_verb_name(request->verb)),
                    IG_F_STR("resource", resource));
            attempt--;
            continue;
        }
        int max_attempts =
            request->max_attempts > 0 ? request->max_attempts : client->options.max_attempts;
        if (!(code == 0 || retryable_code(code)) || attempt >= max_attempts)
            return -1;

        double delay;
        if (code == 429 && (retry_after >= 0 || status->retry_after > 0)) {
            delay = retry_after >= 0 ? retry_after : status->retry_after;
            if (delay > client->options.retry_after_max)
                delay = client->options.retry_after_max;
        } else {
            delay = ig_kube_client_backoff(client, attempt);
        }
        status->retry_after = delay;
        ig_warn("kube API request failed, retrying",
                IG_F_STR("verb", ig_kube_verb_name(request->verb)), IG_F_STR("resource", resource),
                IG_F_INT("code", code), IG_F_STR("reason", ig_kube_reason_name(status->reason)),
                IG_F_STR("error", status->message), IG_F_INT("attempt", attempt),
                IG_F_DOUBLE("delay_seconds", delay));
        if (ig_kube_stopper_sleep(request->cancel, delay)) {
            ig_kube_status_set(status, 0, IG_KUBE_REASON_CANCELLED, "request cancelled");
            return -1;
        }
    }
}

/* ---- typed calls ------------------------------------------------------ */

char *ig_kube_resource_path(const struct ig_kube_resource *resource, const char *ns,
                            const char *name, const char *subresource)
{
    size_t size = strlen(resource->group) + strlen(resource->version) + strlen(resource->resource) +
                  (ns ? strlen(ns) : 0) + (name ? strlen(name) : 0) +
                  (subresource ? strlen(subresource) : 0) + 48;
    char *path = malloc(size);
    if (!path)
        return NULL;
    int n;
    if (resource->group[0])
        n = snprintf(path, size, "/apis/%s/%s", resource->group, resource->version);
    else
        n = snprintf(path, size, "/api/%s", resource->version);
    if (resource->namespaced && ns && *ns)
        n += snprintf(path + n, size - (size_t)n, "/namespaces/%s", ns);
    n += snprintf(path + n, size - (size_t)n, "/%s", resource->resource);
    if (name) {
        n += snprintf(path + n, size - (size_t)n, "/%s", name);
        if (subresource)
            snprintf(path + n, size - (size_t)n, "/%s", subresource);
    }
    return path;
}

/* Send a request whose reply is one object. body_json may be NULL. */
static int object_call(struct ig_kube_client *client, enum ig_kube_verb verb,
                       const struct ig_kube_resource *resource, const char *path,
                       const cJSON *body_json, const char *content_type, cJSON **out,
                       struct ig_kube_status *status)
{
    if (out)
        *out = NULL;
    if (!path) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    char *body = NULL;
    if (body_json && !(body = cJSON_PrintUnformatted(body_json))) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    struct ig_kube_request request = {
        .verb = verb,
        .path = path,
        .resource = resource->resource,
        .body = body,
        .content_type = content_type,
    };
    struct ig_kube_response response;
    int rc = ig_kube_do(client, &request, &response, status);
    free(body);
    if (rc != 0)
        return -1;
    if (out) {
        *out = response.body ? cJSON_ParseWithLength(response.body, response.body_length) : NULL;
        if (!*out) {
            ig_kube_status_set(status, (int)response.code, IG_KUBE_REASON_CLIENT,
                               "reply body is not valid JSON");
            ig_kube_response_clear(&response);
            return -1;
        }
    }
    ig_kube_response_clear(&response);
    return 0;
}

int ig_kube_get(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                const char *ns, const char *name, cJSON **out, struct ig_kube_status *status)
{
    char *path = ig_kube_resource_path(resource, ns, name, NULL);
    int rc = object_call(client, IG_KUBE_VERB_GET, resource, path, NULL, NULL, out, status);
    free(path);
    return rc;
}

int ig_kube_create(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                   const char *ns, const cJSON *object, cJSON **out,
                   struct ig_kube_status *status)
{
    char *path = ig_kube_resource_path(resource, ns, NULL, NULL);
    int rc = object_call(client, IG_KUBE_VERB_CREATE, resource, path, object, NULL, out, status);
    free(path);
    return rc;
}

static const char *metadata_string(const cJSON *object, const char *key)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

int ig_kube_update(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                   const char *ns, const cJSON *object, cJSON **out,
                   struct ig_kube_status *status)
{
    const char *name = metadata_string(object, "name");
    const char *rv = metadata_string(object, "resourceVersion");
    if (out)
        *out = NULL;
    if (!name || !*name || !rv || !*rv) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT,
                           "update needs metadata.name and metadata.resourceVersion");
        return -1;
    }
    char *path = ig_kube_resource_path(resource, ns, name, NULL);
    int rc = object_call(client, IG_KUBE_VERB_UPDATE, resource, path, object, NULL, out, status);
    free(path);
    return rc;
}

int ig_kube_delete(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                   const char *ns, const char *name, const char *uid,
                   const char *resource_version, cJSON **out, struct ig_kube_status *status)
{
    cJSON *options = cJSON_CreateObject();
    cJSON *pre = NULL;
    bool ok = options && cJSON_AddStringToObject(options, "kind", "DeleteOptions") &&
              cJSON_AddStringToObject(options, "apiVersion", "v1") &&
              cJSON_AddStringToObject(options, "propagationPolicy", "Background");
    if (ok && (uid || resource_version)) {
        pre = cJSON_AddObjectToObject(options, "preconditions");
        ok = pre && (!uid || cJSON_AddStringToObject(pre, "uid", uid)) &&
             (!resource_version || cJSON_AddStringToObject(pre, "resourceVersion", resource_version));
    }
    if (!ok) {
        cJSON_Delete(options);
        if (out)
            *out = NULL;
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    char *path = ig_kube_resource_path(resource, ns, name, NULL);
    int rc = object_call(client, IG_KUBE_VERB_DELETE, resource, path, options, NULL, out, status);
    free(path);
    cJSON_Delete(options);
    return rc;
}

int ig_kube_merge_patch(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                        const char *ns, const char *name, const char *subresource,
                        const cJSON *patch, cJSON **out, struct ig_kube_status *status)
{
    char *path = ig_kube_resource_path(resource, ns, name, subresource);
    int rc = object_call(client, IG_KUBE_VERB_PATCH, resource, path, patch,
                         "application/merge-patch+json", out, status);
    free(path);
    return rc;
}

/* Append "&key=escaped(value)" (or "?key=...") to a growing path. */
static bool append_query(char **path, const char *key, const char *value)
{
    if (!value)
        return true;
    char *escaped = ig_kube_query_escape(value);
    if (!escaped)
        return false;
    size_t size = strlen(*path) + strlen(key) + strlen(escaped) + 3;
    char *grown = malloc(size);
    if (grown)
        snprintf(grown, size, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', key, escaped);
    free(escaped);
    if (!grown)
        return false;
    free(*path);
    *path = grown;
    return true;
}

/* Fetch one page; on success *page owns the parsed list. */
static int list_page(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                     const char *ns, const struct ig_kube_list_options *options, long limit,
                     const char *continue_token, struct ig_kube_stopper *cancel, cJSON **page,
                     struct ig_kube_status *status)
{
    *page = NULL;
    char limit_text[32];
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    char *path = ig_kube_resource_path(resource, ns, NULL, NULL);
    if (!path || !append_query(&path, "limit", limit_text) ||
        !append_query(&path, "labelSelector", options ? options->label_selector : NULL) ||
        !append_query(&path, "fieldSelector", options ? options->field_selector : NULL) ||
        !append_query(&path, "continue", continue_token)) {
        free(path);
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
        return -1;
    }
    struct ig_kube_request request = {
        .verb = IG_KUBE_VERB_LIST,
        .path = path,
        .resource = resource->resource,
        .cancel = cancel,
    };
    struct ig_kube_response response;
    int rc = ig_kube_do(client, &request, &response, status);
    free(path);
    if (rc != 0)
        return -1;
    *page = response.body ? cJSON_ParseWithLength(response.body, response.body_length) : NULL;
    ig_kube_response_clear(&response);
    if (!*page || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*page, "items"))) {
        cJSON_Delete(*page);
        *page = NULL;
        ig_kube_status_set(status, 200, IG_KUBE_REASON_CLIENT, "list reply is not a JSON list");
        return -1;
    }
    return 0;
}

/* Stop a list whose server does not move on: log, count and set status. */
static void pagination_failed(struct ig_kube_client *client, const char *resource,
                              const char *message, long max_pages, struct ig_kube_status *status)
{
    ig_kube_status_set(status, 200, IG_KUBE_REASON_PAGINATION, message);
    ig_kube_client_limit_exceeded(client, IG_KUBE_LIMIT_LIST_PAGES, resource,
                                  "kube list stopped: the API server does not finish the list",
                                  max_pages);
}

int ig_kube_list(struct ig_kube_client *client, const struct ig_kube_resource *resource,
                 const char *ns, const struct ig_kube_list_options *options,
                 struct ig_kube_stopper *cancel, cJSON **items, char **resource_version,
                 struct ig_kube_status *status)
{
    *items = NULL;
    *resource_version = NULL;
    long limit = options && options->limit > 0 ? options->limit : 500;
    int max_restarts = options && options->max_restarts > 0 ? options->max_restarts : 5;
    long max_pages = options && options->max_pages > 0 ? options->max_pages : DEFAULT_MAX_PAGES;

    for (int restart = 0;; restart++) {
        cJSON *all = cJSON_CreateArray();
        char *rv = NULL;
        char *token = NULL;
        bool expired = false;
        long pages = 0;
        if (!all) {
            ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
            return -1;
        }
        for (;;) {
            if (pages >= max_pages) {
                char message[256];
                snprintf(message, sizeof message,
                         "list stopped after %ld pages: the API server keeps sending continue "
                         "tokens; check the API server or raise max_pages",
                         pages);
                pagination_failed(client, resource->resource, message, max_pages, status);
                break;
            }
            cJSON *page;
            if (list_page(client, resource, ns, options, limit, token, cancel, &page, status) != 0) {
                expired = token && status->code == 410;
                if (status->reason == IG_KUBE_REASON_TOO_LARGE && limit > 1) {
                    /* The continue token does not depend on the page size, so
                     * the same page can be requested again with fewer objects. */
                    limit /= 2;
                    ig_warn("kube list page too large, requesting it again with a smaller limit",
                            IG_F_STR("resource", resource->resource), IG_F_INT("limit", limit));
                    continue;
                }
                break;
            }
            pages++;
            const cJSON *meta = cJSON_GetObjectItemCaseSensitive(page, "metadata");
            const cJSON *page_rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
            const cJSON *next = cJSON_GetObjectItemCaseSensitive(meta, "continue");
            if (!rv && cJSON_IsString(page_rv))
                rv = strdup(page_rv->valuestring);
            cJSON *page_items = cJSON_DetachItemFromObjectCaseSensitive(page, "items");
            cJSON *item;
            while ((item = cJSON_DetachItemFromArray(page_items, 0)))
                cJSON_AddItemToArray(all, item);
            cJSON_Delete(page_items);
            bool repeated = token && cJSON_IsString(next) && strcmp(token, next->valuestring) == 0;
            free(token);
            token = cJSON_IsString(next) && next->valuestring[0] ? strdup(next->valuestring) : NULL;
            cJSON_Delete(page);
            if (repeated) {
                char message[256];
                snprintf(message, sizeof message,
                         "list stopped at page %ld: the API server returned the continue token "
                         "it was sent; check the API server",
                         pages);
                pagination_failed(client, resource->resource, message, max_pages, status);
                break;
            }
            if (!token) {
                if (!rv) {
                    ig_kube_status_set(status, 200, IG_KUBE_REASON_CLIENT,
                                       "list reply has no metadata.resourceVersion");
                    break;
                }
                *items = all;
                *resource_version = rv;
                return 0;
            }
        }
        free(token);
        free(rv);
        cJSON_Delete(all);
        if (!expired || restart + 1 >= max_restarts)
            return -1;
        /* The snapshot behind the continue token is gone: start a consistent list again. */
        ig_info("kube list continue token expired, listing again from the first page",
                IG_F_STR("resource", resource->resource), IG_F_INT("restart", restart + 1));
    }
}

int ig_kube_secret_get(struct ig_kube_client *client, const char *ns, const char *name,
                       cJSON **out, struct ig_kube_status *status)
{
    return ig_kube_get(client, &IG_KUBE_SECRETS, ns, name, out, status);
}

int ig_kube_secret_create(struct ig_kube_client *client, const char *ns, const cJSON *secret,
                          cJSON **out, struct ig_kube_status *status)
{
    return ig_kube_create(client, &IG_KUBE_SECRETS, ns, secret, out, status);
}

int ig_kube_secret_delete(struct ig_kube_client *client, const char *ns, const char *name,
                          const char *uid, const char *resource_version,
                          struct ig_kube_status *status)
{
    if (!uid || !*uid) {
        ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT,
                           "deleting a Secret needs its uid as a precondition");
        return -1;
    }
    return ig_kube_delete(client, &IG_KUBE_SECRETS, ns, name, uid, resource_version, NULL, status);
}

/* ---- discovery -------------------------------------------------------- */

static bool group_version_lists(struct ig_kube_client *client, const char *group,
                                const char *version, const char *resource,
                                struct ig_kube_stopper *cancel, struct ig_kube_status *status)
{
    char path[256];
    snprintf(path, sizeof path, "/apis/%s/%s", group, version);
    struct ig_kube_request request = {
        .verb = IG_KUBE_VERB_GET, .path = path, .resource = "discovery", .cancel = cancel};
    struct ig_kube_response response;
    if (ig_kube_do(client, &request, &response, status) != 0)
        return false;
    cJSON *doc = response.body ? cJSON_ParseWithLength(response.body, response.body_length) : NULL;
    ig_kube_response_clear(&response);
    bool found = false;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(doc, "resources"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
        if (cJSON_IsString(name) && strcmp(name->valuestring, resource) == 0)
            found = true;
    }
    cJSON_Delete(doc);
    return found;
}

int ig_kube_discover_version(struct ig_kube_client *client, const char *group,
                             const char *const *candidates, size_t candidate_count,
                             const char *resource, struct ig_kube_stopper *cancel,
                             char **version, struct ig_kube_status *status)
{
    *version = NULL;
    char path[256];
    snprintf(path, sizeof path, "/apis/%s", group);
    struct ig_kube_request request = {
        .verb = IG_KUBE_VERB_GET, .path = path, .resource = "discovery", .cancel = cancel};
    struct ig_kube_response response;
    if (ig_kube_do(client, &request, &response, status) != 0)
        return -1;
    cJSON *doc = response.body ? cJSON_ParseWithLength(response.body, response.body_length) : NULL;
    ig_kube_response_clear(&response);
    const cJSON *served = cJSON_GetObjectItemCaseSensitive(doc, "versions");
    for (size_t i = 0; i < candidate_count && !*version; i++) {
        const cJSON *entry;
        cJSON_ArrayForEach(entry, served)
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "version");
            if (!cJSON_IsString(v) || strcmp(v->valuestring, candidates[i]) != 0)
                continue;
            if (group_version_lists(client, group, candidates[i], resource, cancel, status)) {
                *version = strdup(candidates[i]);
                if (!*version) {
                    cJSON_Delete(doc);
                    ig_kube_status_set(status, 0, IG_KUBE_REASON_CLIENT, "out of memory");
                    return -1;
                }
            }
            break;
        }
    }
    cJSON_Delete(doc);
    if (!*version) {
        char message[256];
        snprintf(message, sizeof message, "the cluster serves no known version of %s.%s",
                 resource, group);
        ig_kube_status_set(status, 404, IG_KUBE_REASON_NOT_FOUND, message);
        return -1;
    }
    ig_kube_status_clear(status);
    return 0;
}
