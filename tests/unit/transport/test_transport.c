/* Unit tests of the transport helpers: listen addresses, CPU count and the
 * TLS key pair store (checks, reload, and the lifetime of replaced pairs). */
#include <criterion/criterion.h>
#include <gnutls/gnutls.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "transport/listen.h"
#include "transport/tls_store.h"

/* Self-signed ECDSA P-256 test pairs, valid for 100 years: a and b name
 * unit-a.example / unit-b.example and localhost; cn_only has no SAN. */
static const char pair_a_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnzCCAUWgAwIBAgIUNAR5aru+fGx9sQx3/wlaqR8hFO0wCgYIKoZIzj0EAwIw\n"
    "ETEPMA0GA1UEAwwGdW5pdC1hMCAXDTI2MTIwNDIxNDIyN1oYDzIxMjYxMTEwMjE0\n"
    "MjI3WjARMQ8wDQYDVQQDDAZ1bml0LWEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AARwOHC1sBbpFgch2QRN1Ll7+r6oJLa/MhNGMCRg8p01mLOFpf13XCBFs81ToUSE\n"
    "EaCcnHAhZrniGKRGsfZ7gzowo3kwdzAdBgNVHQ4EFgQUjoAWtPyuJfI3uZDM0kmS\n"
    "vT+nqXQwHwYDVR0jBBgwFoAUjoAWtPyuJfI3uZDM0kmSvT+nqXQwDwYDVR0TAQH/\n"
    "BAUwAwEB/zAkBgNVHREEHTAbgg51bml0LWEuZXhhbXBsZYIJbG9jYWxob3N0MAoG\n"
    "CCqGSM49BAMCA0gAMEUCIQDdj4c974KxluNS50k8wrWzWnXgV4j/snKqViULsb0i\n"
    "MwIgMg4YopCRDtTT2+L/XGl3B2f5/s0shp+tvKIQ24jhn3Q=\n"
    "-----END CERTIFICATE-----\n";

static const char pair_a_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQM0wQq+egNKmpycx\n"
    "/u7Ge4tqHBapgzSG3d1NHtjvoGqhRANCAARwOHC1sBbpFgch2QRN1Ll7+r6oJLa/\n"
    "MhNGMCRg8p01mLOFpf13XCBFs81ToUSEEaCcnHAhZrniGKRGsfZ7gzow\n"
    "-----END PRIVATE KEY-----\n";

static const char pair_b_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnzCCAUWgAwIBAgIUOQ92B5ReutAZT8Jv6UbuF9kZG4AwCgYIKoZIzj0EAwIw\n"
    "ETEPMA0GA1UEAwwGdW5pdC1iMCAXDTI2MTIwNDIxNDIyN1oYDzIxMjYxMTEwMjE0\n"
    "MjI3WjARMQ8wDQYDVQQDDAZ1bml0LWIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AARFrvRa8TVr3AM9GmyWgToVWGisrvh9SHYjJEQDD1Vi2fsByAd5Y06fAh5XKtUB\n"
    "UYsYTn9QUifzQox340VsST3Yo3kwdzAdBgNVHQ4EFgQUrxAt7maB3XoM9Ph4eKtz\n"
    "8od584QwHwYDVR0jBBgwFoAUrxAt7maB3XoM9Ph4eKtz8od584QwDwYDVR0TAQH/\n"
    "BAUwAwEB/zAkBgNVHREEHTAbgg51bml0LWIuZXhhbXBsZYIJbG9jYWxob3N0MAoG\n"
    "CCqGSM49BAMCA0gAMEUCIFrH87ncpusMOTowqYcpzptDFOxR950a6riXZlRtDBjW\n"
    "AiEAuene3Qbs0JwVmRWFLO+7BHCWVGB+i2zG2goT3C2cmEQ=\n"
    "-----END CERTIFICATE-----\n";

static const char pair_b_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6MKeRxJaOx0lfdv8\n"
    "Es/eGGkRTSgjsUuzIB6EVO3z8FehRANCAARFrvRa8TVr3AM9GmyWgToVWGisrvh9\n"
    "SHYjJEQDD1Vi2fsByAd5Y06fAh5XKtUBUYsYTn9QUifzQox340VsST3Y\n"
    "-----END PRIVATE KEY-----\n";

static const char cn_only_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBfjCCASWgAwIBAgIUfrua343uOP4Iw37Oabdf+yCXTZAwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNDIxNDIyN1oYDzIxMjYxMTEw\n"
    "MjE0MjI3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAR74alQXucbIlaHTjEqAZNdqjhulMItRiKRjJiHhOKLiyZBY7AXS/G5\n"
    "YGMDLBz5Rn0prWmFaykMfaDqFW2ZL1A+o1MwUTAdBgNVHQ4EFgQUJ3CnLYNghHh4\n"
    "Dx3TmMqutrUagFswHwYDVR0jBBgwFoAUJ3CnLYNghHh4Dx3TmMqutrUagFswDwYD\n"
    "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBFEc4soC7S/k7c6sB8s1/J\n"
    "EZ4ilIgQEEaNdaNJzkPy7wIgIyrtWqqCN7I7cOfRfY34cW/yd2gWFYhBUNHzUdfX\n"
    "i4c=\n"
    "-----END CERTIFICATE-----\n";

static const char cn_only_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrosG1rmgDfakBUPT\n"
    "dHHtTgu1A/kej6s3eTrbusdobtShRANCAAR74alQXucbIlaHTjEqAZNdqjhulMIt\n"
    "RiKRjJiHhOKLiyZBY7AXS/G5YGMDLBz5Rn0prWmFaykMfaDqFW2ZL1A+\n"
    "-----END PRIVATE KEY-----\n";

/* ---------- listen addresses ---------- */

struct listen_case {
    const char *text;
    const char *host;
    unsigned port;
};

Test(listen, parse_valid)
{
    static const struct listen_case cases[] = {
        {":8443", "", 8443},
        {"127.0.0.1:0", "127.0.0.1", 0},
        {"0.0.0.0:8081", "0.0.0.0", 8081},
        {"[::1]:8443", "::1", 8443},
        {"[::]:1", "::", 1},
        {"localhost:65535", "localhost", 65535},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64];
        unsigned port = 12345;
        cr_assert(ig_listen_parse(cases[i].text, host, sizeof host, &port), "%s", cases[i].text);
        cr_assert_str_eq(host, cases[i].host, "%s", cases[i].text);
        cr_assert_eq(port, cases[i].port, "%s", cases[i].text);
    }
}

Test(listen, parse_invalid)
{
    static const char *const cases[] = {
        "8443", ":", "", ":99999", ":-1", ":+80", "::1:8443", "[::1]8443", "[::1]", "[]:80",
        "host:", "host:12x", "a:b:c",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64];
        unsigned port = 0;
        cr_assert_not(ig_listen_parse(cases[i], host, sizeof host, &port), "accepted \"%s\"",
                      cases[i]);
    }
}

Test(listen, parse_host_too_long)
{
    char host[8];
    unsigned port = 0;
    cr_assert_not(ig_listen_parse("a-very-long-host-name:80", host, sizeof host, &port));
}

Test(listen, open_port_zero)
{
    int fd = ig_listen_open("127.0.0.1:0");
    cr_assert_geq(fd, 0);
    cr_assert_gt(ig_listen_port(fd), 0);
    close(fd);
}

Test(listen, open_invalid_logs)
{
    FILE *log = tmpfile();
    ig_log_set_stream(log);
    cr_assert_eq(ig_listen_open("nonsense"), -1);
    ig_log_set_stream(NULL);
    rewind(log);
    char line[512] = "";
    cr_assert_not_null(fgets(line, sizeof line, log));
    cr_assert_not_null(strstr(line, "invalid listen address"), "%s", line);
    fclose(log);
}

Test(listen, cpu_count_positive)
{
    unsigned cpus = ig_usable_cpu_count();
    cr_assert_geq(cpus, 1);
    cr_assert_leq(cpus, CPU_SETSIZE);
}

/* ---------- TLS key pair store ---------- */

struct pair_files {
    char dir[64];
    char cert[96];
    char key[96];
    FILE *log;
};

static void write_text(const char *path, const char *text)
{
    /* Write beside the target and rename, as a Secret update replaces files. */
    char temporary[128];
    snprintf(temporary, sizeof temporary, "%s.new", path);
    FILE *file = fopen(temporary, "w");
    cr_assert_not_null(file, "cannot write %s", temporary);
    cr_assert_eq(fputs(text, file) >= 0, 1);
    fclose(file);
    cr_assert_eq(rename(temporary, path), 0);
}

static void setup_pair(struct pair_files *files, const char *cert, const char *key)
{
    snprintf(files->dir, sizeof files->dir, "/tmp/ig-unit-tls.XXXXXX");
    cr_assert_not_null(mkdtemp(files->dir));
    snprintf(files->cert, sizeof files->cert, "%s/tls.crt", files->dir);
    snprintf(files->key, sizeof files->key, "%s/tls.key", files->dir);
    write_text(files->cert, cert);
    write_text(files->key, key);
    files->log = tmpfile();
    ig_log_set_stream(files->log);
}

static bool log_has(struct pair_files *files, const char *text)
{
    fflush(files->log);
    rewind(files->log);
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof line, files->log))
        found = strstr(line, text) != NULL;
    fseek(files->log, 0, SEEK_END);
    return found;
}

static void teardown_pair(struct pair_files *files)
{
    ig_log_set_stream(NULL);
    fclose(files->log);
    unlink(files->cert);
    unlink(files->key);
    rmdir(files->dir);
}

/* DER of the first certificate the store hands to a handshake now. */
static gnutls_datum_t served_certificate(void)
{
    gnutls_pcert_st *certs = NULL;
    unsigned count = 0;
    gnutls_privkey_t key = NULL;
    cr_assert_eq(ig_tls_store_retrieve(NULL, NULL, 0, NULL, 0, &certs, &count, &key), 0);
    cr_assert_geq(count, 1);
    cr_assert_not_null(key);
    return certs[0].cert;
}

static bool same_datum(gnutls_datum_t a, gnutls_datum_t b)
{
    return a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
}

Test(tls_store, open_valid_pair)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_a_key);
    struct ig_tls_store *store = ig_tls_store_open(files.cert, files.key);
    cr_assert_not_null(store);
    cr_assert(log_has(&files, "unit-a.example,localhost"));
    ig_tls_store_free(store);
    teardown_pair(&files);
}

Test(tls_store, cn_only_rejected)
{
    struct pair_files files;
    setup_pair(&files, cn_only_cert, cn_only_key);
    cr_assert_null(ig_tls_store_open(files.cert, files.key));
    cr_assert(log_has(&files, "no DNS subjectAltName"));
    teardown_pair(&files);
}

Test(tls_store, mismatched_key_rejected)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_b_key);
    cr_assert_null(ig_tls_store_open(files.cert, files.key));
    cr_assert(log_has(&files, "does not match"));
    teardown_pair(&files);
}

Test(tls_store, garbage_rejected)
{
    struct pair_files files;
    setup_pair(&files, "not a certificate\n", pair_a_key);
    cr_assert_null(ig_tls_store_open(files.cert, files.key));
    cr_assert(log_has(&files, "cannot parse the certificate chain"));
    teardown_pair(&files);
}

Test(tls_store, missing_file_rejected)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_a_key);
    unlink(files.key);
    cr_assert_null(ig_tls_store_open(files.cert, files.key));
    cr_assert(log_has(&files, "cannot open"));
    teardown_pair(&files);
}

Test(tls_store, check_unchanged)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_a_key);
    struct ig_tls_store *store = ig_tls_store_open(files.cert, files.key);
    cr_assert_not_null(store);
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_UNCHANGED);
    /* New files with the same content are no reload either. */
    write_text(files.cert, pair_a_cert);
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_UNCHANGED);
    ig_tls_store_free(store);
    teardown_pair(&files);
}

Test(tls_store, reload_new_pair)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_a_key);
    struct ig_tls_store *store = ig_tls_store_open(files.cert, files.key);
    cr_assert_not_null(store);
    ig_tls_store_activate(store);
    /* Copy: with no connection holding it, the old pair is freed on reload. */
    gnutls_datum_t served = served_certificate();
    gnutls_datum_t before = {malloc(served.size), served.size};
    cr_assert_not_null(before.data);
    memcpy(before.data, served.data, served.size);

    write_text(files.key, pair_b_key);
    write_text(files.cert, pair_b_cert);
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_RELOADED);
    gnutls_datum_t after = served_certificate();
    cr_assert_not(same_datum(before, after), "the old certificate is still served");
    cr_assert(log_has(&files, "TLS key pair reloaded"));
    free(before.data);
    ig_tls_store_free(store);
    teardown_pair(&files);
}

Test(tls_store, broken_reload_keeps_old)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_a_key);
    struct ig_tls_store *store = ig_tls_store_open(files.cert, files.key);
    cr_assert_not_null(store);
    ig_tls_store_activate(store);
    gnutls_datum_t served = served_certificate();
    gnutls_datum_t old = {malloc(served.size), served.size};
    cr_assert_not_null(old.data);
    memcpy(old.data, served.data, served.size);

    write_text(files.cert, pair_b_cert); /* key a stays: mismatch */
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_RELOAD_FAILED);
    cr_assert(same_datum(old, served_certificate()));
    /* Reported once; retried only when the files change again. */
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_UNCHANGED);

    write_text(files.key, pair_b_key);
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_RELOADED);
    cr_assert_not(same_datum(old, served_certificate()));
    free(old.data);
    ig_tls_store_free(store);
    teardown_pair(&files);
}

/* A held pair outlives its replacement; the sanitizer run checks that the
 * retired pairs are freed exactly once, after their last release. */
Test(tls_store, hold_outlives_reload)
{
    struct pair_files files;
    setup_pair(&files, pair_a_cert, pair_a_key);
    struct ig_tls_store *store = ig_tls_store_open(files.cert, files.key);
    cr_assert_not_null(store);
    ig_tls_store_activate(store);

    struct ig_tls_hold *first = ig_tls_store_hold(store);
    gnutls_pcert_st *held_certs = NULL;
    unsigned held_count = 0;
    gnutls_privkey_t held_key = NULL;
    ig_tls_store_retrieve(NULL, NULL, 0, NULL, 0, &held_certs, &held_count, &held_key);

    write_text(files.cert, pair_b_cert);
    write_text(files.key, pair_b_key);
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_RELOADED);
    struct ig_tls_hold *second = ig_tls_store_hold(store);
    write_text(files.cert, pair_a_cert);
    write_text(files.key, pair_a_key);
    cr_assert_eq(ig_tls_store_check(store), IG_TLS_RELOADED);

    /* The pair handed out before the reloads is still readable. */
    gnutls_datum_t der = {NULL, 0};
    cr_assert_geq(gnutls_pubkey_export2(held_certs[0].pubkey, GNUTLS_X509_FMT_DER, &der), 0);
    cr_assert_gt(der.size, 0);
    gnutls_free(der.data);

    ig_tls_store_release(store, second);
    ig_tls_store_release(store, first);
    ig_tls_store_free(store);
    teardown_pair(&files);
}
