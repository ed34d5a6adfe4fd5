/* AWS Signature Version 4 (header variant, HMAC-SHA256) on OpenSSL.
 *
 * The signer builds the canonical request, the string to sign and the
 * Authorization header value. It adds X-Amz-Date when the request does not
 * carry it, and X-Amz-Security-Token when a session token is given, and signs
 * both. Every header handed in is signed, so pass only headers that reach
 * the server unchanged (never User-Agent, Expect, Connection or Accept).
 *
 * libcurl's CURLOPT_AWS_SIGV4 is not used, as a capture of what libcurl
 * 7.88.1 sends showed. It exposes neither the canonical request nor the
 * string to sign. It adds no X-Amz-Security-Token, so the caller must set
 * that header. When the caller sets X-Amz-Date to apply a clock offset, the
 * header goes out twice. */
#ifndef IG_AWS_SIGV4_H
#define IG_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define IG_SIGV4_AMZ_DATE_SIZE 17  /* "20150830T123600Z" plus NUL */
#define IG_SIGV4_HEX_SHA256_SIZE 65 /* 64 lower-case hex digits plus NUL */

struct ig_sigv4_header {
    const char *name;
    const char *value;
};

struct ig_sigv4_request {
    const char *method;
    const char *path;  /* path as sent on the wire, without the query; NULL or "" means "/" */
    const char *query; /* raw query after '?', or NULL */
    const struct ig_sigv4_header *headers;
    size_t header_count;
    const unsigned char *body;
    size_t body_length;
};

/* The last derived signing key, valid for one day, region, service and
 * secret. The secret is kept only as its SHA-256. Wipe with
 * ig_sigv4_key_cache_clear. */
struct ig_sigv4_key_cache {
    bool valid;
    char date[9];
    char region[64];
    char service[32];
    unsigned char secret_sha256[32];
    unsigned char key[32];
};

struct ig_sigv4_params {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL for long-term keys */
    const char *region;
    const char *service; /* signing name, e.g. "ssm" or "sts" */
    time_t timestamp;    /* signing time, UTC seconds */
    /* Remove dot segments and repeated slashes before encoding the path
     * (every service except S3). */
    bool normalize_path;
    /* Send the session token unsigned, added after signing. */
    bool omit_session_token;
    /* Add and sign an x-amz-content-sha256 header (S3 style). */
    bool add_content_sha256;
    /* Reuse and update this signing key cache; NULL derives the key every time. */
    struct ig_sigv4_key_cache *key_cache;
};

/* Output of one signing. Every string is owned by the result. */
struct ig_sigv4_result {
    char amz_date[IG_SIGV4_AMZ_DATE_SIZE];
    char signature[IG_SIGV4_HEX_SHA256_SIZE];
    char content_sha256[IG_SIGV4_HEX_SHA256_SIZE]; /* hex SHA-256 of the body */
    bool add_amz_date;                             /* the caller must send X-Amz-Date: amz_date */
    bool add_security_token;                       /* the caller must send X-Amz-Security-Token */
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;
    char *authorization; /* value of the Authorization header */
};

/* Sign a request. Returns 0, or -1 when out of memory or when an input is
 * missing or malformed (a header name with a control character, a date out of
 * range). On failure the result owns no allocation. */
int ig_sigv4_sign(const struct ig_sigv4_request *request, const struct ig_sigv4_params *params,
                  struct ig_sigv4_result *result);

/* Wipe and free the strings of a result (they may contain the session token). */
void ig_sigv4_result_free(struct ig_sigv4_result *result);

/* Derive the 32-byte signing key: HMAC chain "AWS4"+secret, date (YYYYMMDD),
 * region, service, "aws4_request". Returns 0 or -1. */
int ig_sigv4_signing_key(const char *secret_access_key, const char *date, const char *region,
                         const char *service, unsigned char key[32]);

/* Wipe a signing key cache. */
void ig_sigv4_key_cache_clear(struct ig_sigv4_key_cache *cache);

/* Format t (UTC) as YYYYMMDD'T'HHMMSS'Z'. Returns 0 or -1 when t is out of range. */
int ig_sigv4_format_amz_date(time_t t, char out[IG_SIGV4_AMZ_DATE_SIZE]);

/* Lower-case hex SHA-256 of data. */
void ig_sigv4_hex_sha256(const void *data, size_t length, char out[IG_SIGV4_HEX_SHA256_SIZE]);

#endif
