/* The webhook's TLS key pair: loaded from files, checked, and swapped in
 * without a restart when the files change.
 *
 * Kubernetes updates a mounted Secret by an atomic swap of the `..data`
 * symlink, so the watcher compares stat() of the paths (which follows the
 * links), never an inode it opened earlier. Each TLS handshake takes the
 * current pair through the GnuTLS certificate callback. A replaced pair is
 * freed once every connection accepted while it could still be handed out
 * has closed. */
#ifndef IG_TRANSPORT_TLS_STORE_H
#define IG_TRANSPORT_TLS_STORE_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>

struct ig_tls_store;
struct ig_tls_hold;

enum ig_tls_reload_result {
    IG_TLS_UNCHANGED,
    IG_TLS_RELOADED,
    IG_TLS_RELOAD_FAILED,
};

/* Load and check the pair: the certificate chain parses, the first
 * certificate carries at least one DNS subjectAltName, and the key matches it.
 * Returns NULL after logging the reason. */
struct ig_tls_store *ig_tls_store_open(const char *cert_path, const char *key_path);

/* Stop the watcher (if started) and free every pair. Call only after the
 * server that uses the store has stopped. NULL is allowed. */
void ig_tls_store_free(struct ig_tls_store *store);

/* Check the files once and swap in a new pair when they changed and the new
 * pair passes the checks of ig_tls_store_open. A pair that fails keeps the
 * old one in service and is logged once until the files change again. */
enum ig_tls_reload_result ig_tls_store_check(struct ig_tls_store *store);

/* Start a thread that calls ig_tls_store_check every interval_ms. */
bool ig_tls_store_watch(struct ig_tls_store *store, unsigned interval_ms);

/* Make this store the one that ig_tls_store_retrieve serves (the GnuTLS
 * callback has no user pointer, so there is one active store per process). */
void ig_tls_store_activate(struct ig_tls_store *store);

/* gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. */
int ig_tls_store_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *privkey);

/* Called when a connection is accepted and when it closes: the hold keeps
 * every pair the connection could use alive until it is released. */
struct ig_tls_hold *ig_tls_store_hold(struct ig_tls_store *store);
void ig_tls_store_release(struct ig_tls_store *store, struct ig_tls_hold *hold);

#endif
