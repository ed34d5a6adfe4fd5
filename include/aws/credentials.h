/* AWS credentials and the providers that produce them.
 *
 * Every provider sits behind one interface and one cache: credentials are
 * reused until five minutes before their expiration, then fetched again.
 * Secret material is wiped with OPENSSL_cleanse when it is freed.
 * A provider may be shared between threads: fetches are serialized by a mutex. */
#ifndef IG_AWS_CREDENTIALS_H
#define IG_AWS_CREDENTIALS_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "aws/error.h"

/* Refresh cached credentials this long before they expire. */
#define IG_AWS_CREDENTIALS_REFRESH_WINDOW_S 300

struct ig_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    time_t expiration;   /* 0: does not expire */
};

/* Deep copy. Returns 0 or -1 when out of memory (dst is then empty). */
int ig_aws_credentials_copy(struct ig_aws_credentials *dst, const struct ig_aws_credentials *src);
/* Wipe and free the strings; the struct may be reused. */
void ig_aws_credentials_clear(struct ig_aws_credentials *credentials);

struct ig_aws_credential_provider;

struct ig_aws_credential_provider_ops {
    const char *kind; /* "static", "environment", "web_identity", "assume_role" */
    /* Fetch fresh credentials into out. Returns 0 or -1 with err set. */
    int (*fetch)(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                 struct ig_aws_error *err);
    void (*destroy)(struct ig_aws_credential_provider *provider);
};

struct ig_aws_credential_provider {
    const struct ig_aws_credential_provider_ops *ops;
    void *state;
    pthread_mutex_t lock;
    struct ig_aws_credentials cached;
    bool have_cached;
    time_t (*now)(void *context);
    void *now_context;
    unsigned long fetch_count; /* fetches made so far (tests, logs) */
};

/* Get credentials, from the cache when they are valid for more than five
 * minutes. Returns 0 with a copy in out (the caller clears it), or -1 with err set. */
int ig_aws_credential_provider_get(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                                   struct ig_aws_error *err);
/* Drop the cache so the next get fetches again (after an expired-token reply). */
void ig_aws_credential_provider_invalidate(struct ig_aws_credential_provider *provider);
/* Replace the clock used for expiry checks (tests). */
void ig_aws_credential_provider_set_clock(struct ig_aws_credential_provider *provider,
                                          time_t (*now)(void *context), void *context);
/* Free a provider, the providers it owns, and its wiped cache. NULL is allowed. */
void ig_aws_credential_provider_free(struct ig_aws_credential_provider *provider);

/* Static keys handed in by the caller, e.g. read from a Kubernetes Secret.
 * The strings are copied. session_token may be NULL; expiration 0 means none.
 * Returns NULL when out of memory or when a key is empty. */
struct ig_aws_credential_provider *ig_aws_static_provider_new(const char *access_key_id,
                                                              const char *secret_access_key,
                                                              const char *session_token, time_t expiration);

/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN
 * (or its older name AWS_SECURITY_TOKEN), read again on every fetch. */
struct ig_aws_credential_provider *ig_aws_environment_provider_new(void);

struct ig_aws_client_options;

struct ig_aws_web_identity_options {
    const char *role_arn;
    const char *token_file;   /* read again on every fetch; NULL when token is given */
    const char *token;        /* token handed in by the caller; NULL to use token_file */
    const char *session_name; /* NULL: "immutable-guard-<unix seconds>" */
    int duration_s;           /* 0: the STS default (3600) */
};

/* STS AssumeRoleWithWebIdentity, sent unsigned. sts_options configure the
 * STS client the provider owns. Returns NULL with err set. */
struct ig_aws_credential_provider *ig_aws_web_identity_provider_new(const struct ig_aws_web_identity_options *options,
                                                                    const struct ig_aws_client_options *sts_options,
                                                                    struct ig_aws_error *err);

struct ig_aws_assume_role_options {
    const char *role_arn;
    const char *session_name; /* NULL: "immutable-guard-<unix seconds>" */
    const char *external_id;  /* NULL: none */
    int duration_s;           /* 0: the STS default (3600) */
};

/* STS AssumeRole signed with the credentials of source. The new provider
 * takes ownership of source, also on failure. Chain by passing one
 * assume-role provider as the source of the next. Returns NULL with err set. */
struct ig_aws_credential_provider *ig_aws_assume_role_provider_new(const struct ig_aws_assume_role_options *options,
                                                                   struct ig_aws_credential_provider *source,
                                                                   const struct ig_aws_client_options *sts_options,
                                                                   struct ig_aws_error *err);

/* Default chain without instance metadata: web identity when
 * AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set (session name from
 * AWS_ROLE_SESSION_NAME), else the environment keys when
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set. Returns NULL with err
 * set (IG_AWS_ERR_CONFIG) when neither is configured. */
struct ig_aws_credential_provider *ig_aws_default_provider_new(const struct ig_aws_client_options *sts_options,
                                                               struct ig_aws_error *err);

/* Base for provider implementations: set ops and state, init the lock.
 * Returns NULL when out of memory (state is not freed then). */
struct ig_aws_credential_provider *ig_aws_credential_provider_new(const struct ig_aws_credential_provider_ops *ops,
                                                                  void *state);

#endif
