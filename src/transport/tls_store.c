#include "transport/tls_store.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"

#define MAX_PEM_BYTES (1024 * 1024)
#define MAX_CHAIN_LENGTH 16

struct key_pair {
    gnutls_pcert_st certs[MAX_CHAIN_LENGTH];
    unsigned cert_count;
    gnutls_privkey_t key;
    char *cert_pem;
    size_t cert_pem_length;
    char *key_pem;
    size_t key_pem_length;
    char dns_names[512]; /* comma-separated, for logs */
    time_t not_after;
};

/* One loaded pair plus the number of open connections accepted while it was
 * the current pair. Pairs form a list from the oldest to the current one. */
struct ig_tls_hold {
    struct ig_tls_hold *newer;
    struct key_pair pair;
    unsigned long connections;
    bool retired;
};

struct file_signature {
    int error; /* errno of stat(), 0 when the file exists */
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec modified;
    struct timespec changed;
};

struct ig_tls_store {
    char *cert_path;
    char *key_path;

    pthread_mutex_t lock; /* guards the pair list */
    struct ig_tls_hold *oldest;
    struct ig_tls_hold *current;

    pthread_mutex_t check_lock; /* one check at a time */
    struct file_signature cert_signature;
    struct file_signature key_signature;

    pthread_mutex_t watch_lock;
    pthread_cond_t watch_wakeup;
    pthread_t watch_thread;
    bool watching;
    bool stop_watching;
    unsigned interval_ms;

    struct ig_counter *reloads_succeeded;
    struct ig_counter *reloads_failed;
    struct ig_gauge *expiry;
};

static _Atomic(struct ig_tls_store *) active_store;

static void key_pair_clear(struct key_pair *pair)
{
    for (unsigned i = 0; i < pair->cert_count; i++)
        gnutls_pcert_deinit(&pair->certs[i]);
    pair->cert_count = 0;
    if (pair->key)
        gnutls_privkey_deinit(pair->key);
    pair->key = NULL;
    free(pair->cert_pem);
    pair->cert_pem = NULL;
    if (pair->key_pem)
        gnutls_memset(pair->key_pem, 0, pair->key_pem_length);
    free(pair->key_pem);
    pair->key_pem = NULL;
}

static bool read_file(const char *path, char **out, size_t *length, char *reason, size_t reason_size)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(reason, reason_size, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    char *data = malloc(MAX_PEM_BYTES + 1);
    if (!data) {
        fclose(file);
        snprintf(reason, reason_size, "out of memory reading %s", path);
        return false;
    }
    size_t used = fread(data, 1, MAX_PEM_BYTES + 1, file);
    bool failed = ferror(file) != 0;
    fclose(file);
    const char *problem = NULL;
    if (failed)
        problem = "unreadable";
    else if (used == 0)
        problem = "empty";
    else if (used > MAX_PEM_BYTES)
        problem = "larger than 1 MiB";
    if (problem) {
        snprintf(reason, reason_size, "%s is %s", path, problem);
        free(data);
        return false;
    }
    data[used] = '\0';
    *out = data;
    *length = used;
    return true;
}

static bool check_names_and_dates(struct key_pair *pair, char *reason, size_t reason_size)
{
    gnutls_x509_crt_t crt = NULL;
    int status = gnutls_x509_crt_init(&crt);
    if (status >= 0)
        status = gnutls_x509_crt_import(crt, &pair->certs[0].cert, GNUTLS_X509_FMT_DER);
    if (status < 0) {
        snprintf(reason, reason_size, "cannot parse the certificate: %s", gnutls_strerror(status));
        if (crt)
            gnutls_x509_crt_deinit(crt);
        return false;
    }

    size_t used = 0;
    bool has_dns_name = false;
    pair->dns_names[0] = '\0';
    for (unsigned i = 0;; i++) {
        char name[256];
        size_t size = sizeof name;
        unsigned critical = 0;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &size, &critical);
        if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER)
            break; /* GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE after the last name */
        if (type != GNUTLS_SAN_DNSNAME)
            continue; /* other SAN types, and names longer than the buffer */
        size_t length = strlen(name);
        if (used + length + 2 > sizeof pair->dns_names) {
            has_dns_name = true; /* the log list is full; the check only needs one */
            continue;
        }
        if (used > 0)
            pair->dns_names[used++] = ',';
        memcpy(pair->dns_names + used, name, length + 1);
        used += length;
        has_dns_name = true;
    }
    pair->not_after = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_x509_crt_deinit(crt);

    if (!has_dns_name) {
        snprintf(reason, reason_size,
                 "the certificate has no DNS subjectAltName; kube-apiserver (1.19 and later) rejects "
                 "certificates that name the host only in the Common Name, so issue one with a DNS "
                 "SAN such as <service>.<namespace>.svc");
        return false;
    }
    return true;
}

static bool key_matches_certificate(struct key_pair *pair, char *reason, size_t reason_size)
{
    gnutls_pubkey_t from_key = NULL;
    gnutls_datum_t key_der = {NULL, 0};
    gnutls_datum_t cert_der = {NULL, 0};
    bool match = false;

    int status = gnutls_pubkey_init(&from_key);
    if (status >= 0)
        status = gnutls_pubkey_import_privkey(from_key, pair->key, 0, 0);
    if (status >= 0)
        status = gnutls_pubkey_export2(from_key, GNUTLS_X509_FMT_DER, &key_der);
    if (status >= 0)
        status = gnutls_pubkey_export2(pair->certs[0].pubkey, GNUTLS_X509_FMT_DER, &cert_der);
    if (status < 0)
        snprintf(reason, reason_size, "cannot compare the key with the certificate: %s",
                 gnutls_strerror(status));
    else if (key_der.size != cert_der.size || memcmp(key_der.data, cert_der.data, key_der.size) != 0)
        snprintf(reason, reason_size,
                 "the private key does not match the certificate's public key");
    else
        match = true;

    gnutls_free(key_der.data);
    gnutls_free(cert_der.data);
    if (from_key)
        gnutls_pubkey_deinit(from_key);
    return match;
}

/* Load and check one pair. On failure, write the reason and leave *pair cleared. */
static bool load_pair(const char *cert_path, const char *key_path, struct key_pair *pair,
                      char *reason, size_t reason_size)
{
    memset(pair, 0, sizeof *pair);
    if (!read_file(cert_path, &pair->cert_pem, &pair->cert_pem_length, reason, reason_size) ||
        !read_file(key_path, &pair->key_pem, &pair->key_pem_length, reason, reason_size))
        goto fail;

    gnutls_datum_t cert_data = {(unsigned char *)pair->cert_pem, (unsigned)pair->cert_pem_length};
    unsigned count = MAX_CHAIN_LENGTH;
    int status = gnutls_pcert_list_import_x509_raw(pair->certs, &count, &cert_data,
                                                   GNUTLS_X509_FMT_PEM, 0);
    if (status < 0 || count == 0) {
        snprintf(reason, reason_size, "cannot parse the certificate chain in %s: %s", cert_path,
                 status < 0 ? gnutls_strerror(status) : "no certificate found");
        goto fail;
    }
    pair->cert_count = count;

    gnutls_datum_t key_data = {(unsigned char *)pair->key_pem, (unsigned)pair->key_pem_length};
    status = gnutls_privkey_init(&pair->key);
    if (status >= 0)
        status = gnutls_privkey_import_x509_raw(pair->key, &key_data, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (status < 0) {
        snprintf(reason, reason_size, "cannot parse the private key in %s: %s", key_path,
                 gnutls_strerror(status));
        goto fail;
    }

    if (!check_names_and_dates(pair, reason, reason_size) ||
        !key_matches_certificate(pair, reason, reason_size))
        goto fail;
    return true;

fail:
    key_pair_clear(pair);
    return false;
}

static void signature_of(const char *path, struct file_signature *out)
{
    struct stat info;
    memset(out, 0, sizeof *out);
    if (stat(path, &info) != 0) {
        out->error = errno;
        return;
    }
    out->device = info.st_dev;
    out->inode = info.st_ino;
    out->size = info.st_size;
    out->modified = info.st_mtim;
    out->changed = info.st_ctim;
}

static bool same_signature(const struct file_signature *a, const struct file_signature *b)
{
    return a->error == b->error && a->device == b->device && a->inode == b->inode &&
           a->size == b->size && a->modified.tv_sec == b->modified.tv_sec &&
           a->modified.tv_nsec == b->modified.tv_nsec && a->changed.tv_sec == b->changed.tv_sec &&
           a->changed.tv_nsec == b->changed.tv_nsec;
}

static void format_time(time_t when, char *buf, size_t size)
{
    struct tm utc;
    if (when == (time_t)-1 || !gmtime_r(&when, &utc) ||
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0)
        snprintf(buf, size, "unknown");
}

static void log_pair(const char *msg, const struct ig_tls_store *store, const struct key_pair *pair)
{
    char not_after[32];
    format_time(pair->not_after, not_after, sizeof not_after);
    ig_info(msg, IG_F_STR("cert", store->cert_path), IG_F_STR("key", store->key_path),
            IG_F_STR("dns_names", pair->dns_names), IG_F_STR("not_after", not_after),
            IG_F_INT("chain_length", pair->cert_count));
    if (pair->not_after != (time_t)-1 && pair->not_after < time(NULL))
        ig_warn("the TLS certificate has expired; kube-apiserver will reject it until it is renewed",
                IG_F_STR("cert", store->cert_path), IG_F_STR("not_after", not_after));
}

/* Detach the retired pairs that no open connection can still use. The caller
 * holds store->lock and frees the returned list after unlocking. */
static struct ig_tls_hold *take_unused_locked(struct ig_tls_store *store)
{
    struct ig_tls_hold *first = NULL;
    struct ig_tls_hold **tail = &first;
    while (store->oldest != store->current && store->oldest->retired &&
           store->oldest->connections == 0) {
        struct ig_tls_hold *unused = store->oldest;
        store->oldest = unused->newer;
        unused->newer = NULL;
        *tail = unused;
        tail = &unused->newer;
    }
    return first;
}

static void free_holds(struct ig_tls_hold *list)
{
    while (list) {
        struct ig_tls_hold *next = list->newer;
        key_pair_clear(&list->pair);
        free(list);
        list = next;
    }
}

struct ig_tls_store *ig_tls_store_open(const char *cert_path, const char *key_path)
{
    char reason[512];
    struct ig_tls_store *store = calloc(1, sizeof *store);
    struct ig_tls_hold *first = calloc(1, sizeof *first);
    if (!store || !first) {
        ig_error("out of memory loading the TLS key pair");
        goto fail;
    }
    store->cert_path = strdup(cert_path);
    store->key_path = strdup(key_path);
    if (!store->cert_path || !store->key_path) {
        ig_error("out of memory loading the TLS key pair");
        goto fail;
    }

    signature_of(cert_path, &store->cert_signature);
    signature_of(key_path, &store->key_signature);
    if (!load_pair(cert_path, key_path, &first->pair, reason, sizeof reason)) {
        ig_error("invalid TLS key pair: fix the files given by --tls-cert and --tls-key",
                 IG_F_STR("cert", cert_path), IG_F_STR("key", key_path), IG_F_STR("error", reason));
        goto fail;
    }

    pthread_mutex_init(&store->lock, NULL);
    pthread_mutex_init(&store->check_lock, NULL);
    pthread_mutex_init(&store->watch_lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&store->watch_wakeup, &attributes);
    pthread_condattr_destroy(&attributes);

    store->oldest = store->current = first;
    store->reloads_succeeded = ig_metrics_counter(
        "immutable_guard_tls_reloads_total",
        "TLS key pair reloads after the files changed, by result.", "result=\"success\"");
    store->reloads_failed = ig_metrics_counter(
        "immutable_guard_tls_reloads_total",
        "TLS key pair reloads after the files changed, by result.", "result=\"failure\"");
    store->expiry = ig_metrics_gauge(
        "immutable_guard_tls_certificate_expiry_timestamp_seconds",
        "Expiry time of the serving certificate in service, as a Unix timestamp.", "");
    ig_gauge_set(store->expiry, (double)first->pair.not_after);
    log_pair("TLS key pair loaded", store, &first->pair);
    return store;

fail:
    free(first);
    if (store) {
        free(store->cert_path);
        free(store->key_path);
        free(store);
    }
    return NULL;
}

enum ig_tls_reload_result ig_tls_store_check(struct ig_tls_store *store)
{
    struct file_signature cert_signature;
    struct file_signature key_signature;
    enum ig_tls_reload_result result = IG_TLS_UNCHANGED;

    pthread_mutex_lock(&store->check_lock);
    signature_of(store->cert_path, &cert_signature);
    signature_of(store->key_path, &key_signature);
    if (same_signature(&cert_signature, &store->cert_signature) &&
        same_signature(&key_signature, &store->key_signature))
        goto done;
    /* Remember what was looked at, so that a failing pair is reported once
     * and retried only after the files change again. */
    store->cert_signature = cert_signature;
    store->key_signature = key_signature;

    struct ig_tls_hold *next = calloc(1, sizeof *next);
    char reason[512];
    if (!next) {
        snprintf(reason, sizeof reason, "out of memory");
    } else if (load_pair(store->cert_path, store->key_path, &next->pair, reason, sizeof reason)) {
        const struct key_pair *now = &store->current->pair;
        if (now->cert_pem_length == next->pair.cert_pem_length &&
            now->key_pem_length == next->pair.key_pem_length &&
            memcmp(now->cert_pem, next->pair.cert_pem, now->cert_pem_length) == 0 &&
            memcmp(now->key_pem, next->pair.key_pem, now->key_pem_length) == 0) {
            free_holds(next); /* same content under new file times */
            goto done;
        }
        pthread_mutex_lock(&store->lock);
        store->current->retired = true;
        store->current->newer = next;
        store->current = next;
        struct ig_tls_hold *unused = take_unused_locked(store);
        pthread_mutex_unlock(&store->lock);
        free_holds(unused);

        ig_counter_add(store->reloads_succeeded, 1);
        ig_gauge_set(store->expiry, (double)next->pair.not_after);
        log_pair("TLS key pair reloaded", store, &next->pair);
        result = IG_TLS_RELOADED;
        goto done;
    }
    free(next);
    ig_counter_add(store->reloads_failed, 1);
    ig_error("TLS key pair reload failed; the previous pair stays in service until the files are "
             "fixed",
             IG_F_STR("cert", store->cert_path), IG_F_STR("key", store->key_path),
             IG_F_STR("error", reason));
    result = IG_TLS_RELOAD_FAILED;

done:
    pthread_mutex_unlock(&store->check_lock);
    return result;
}

static void *watch_loop(void *arg)
{
    struct ig_tls_store *store = arg;
    pthread_mutex_lock(&store->watch_lock);
    while (!store->stop_watching) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += store->interval_ms / 1000;
        deadline.tv_nsec += (long)(store->interval_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (!store->stop_watching &&
               pthread_cond_timedwait(&store->watch_wakeup, &store->watch_lock, &deadline) == 0)
            ;
        if (store->stop_watching)
            break;
        pthread_mutex_unlock(&store->watch_lock);
        ig_tls_store_check(store);
        pthread_mutex_lock(&store->watch_lock);
    }
    pthread_mutex_unlock(&store->watch_lock);
    return NULL;
}

bool ig_tls_store_watch(struct ig_tls_store *store, unsigned interval_ms)
{
    store->interval_ms = interval_ms ? interval_ms : 1000;
    store->stop_watching = false;
    int status = pthread_create(&store->watch_thread, NULL, watch_loop, store);
    if (status != 0) {
        ig_error("failed to start the TLS file watcher thread", IG_F_STR("error", strerror(status)));
        return false;
    }
    store->watching = true;
    return true;
}

void ig_tls_store_activate(struct ig_tls_store *store)
{
    atomic_store(&active_store, store);
}

int ig_tls_store_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *privkey)
{
    (void)session;
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    struct ig_tls_store *store = atomic_load(&active_store);
    if (!store)
        return -1;
    pthread_mutex_lock(&store->lock);
    *pcert = store->current->pair.certs;
    *pcert_length = store->current->pair.cert_count;
    *privkey = store->current->pair.key;
    pthread_mutex_unlock(&store->lock);
    return 0;
}

struct ig_tls_hold *ig_tls_store_hold(struct ig_tls_store *store)
{
    pthread_mutex_lock(&store->lock);
    struct ig_tls_hold *hold = store->current;
    hold->connections++;
    pthread_mutex_unlock(&store->lock);
    return hold;
}

void ig_tls_store_release(struct ig_tls_store *store, struct ig_tls_hold *hold)
{
    if (!hold)
        return;
    pthread_mutex_lock(&store->lock);
    hold->connections--;
    struct ig_tls_hold *unused = take_unused_locked(store);
    pthread_mutex_unlock(&store->lock);
    free_holds(unused);
}

void ig_tls_store_free(struct ig_tls_store *store)
{
    if (!store)
        return;
    if (store->watching) {
        pthread_mutex_lock(&store->watch_lock);
        store->stop_watching = true;
        pthread_cond_signal(&store->watch_wakeup);
        pthread_mutex_unlock(&store->watch_lock);
        pthread_join(store->watch_thread, NULL);
    }
    struct ig_tls_store *expected = store;
    atomic_compare_exchange_strong(&active_store, &expected, NULL);
    free_holds(store->oldest);
    pthread_mutex_destroy(&store->lock);
    pthread_mutex_destroy(&store->check_lock);
    pthread_mutex_destroy(&store->watch_lock);
    pthread_cond_destroy(&store->watch_wakeup);
    free(store->cert_path);
    free(store->key_path);
    free(store);
}
