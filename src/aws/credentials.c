#include "aws/credentials.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/sts.h"
#include "common/log.h"

static void wipe_free(char *text)
{
    if (!text)
        return;
    OPENSSL_cleanse(text, strlen(text));
    free(text);
}

void ig_aws_credentials_clear(struct ig_aws_credentials *credentials)
{
    if (!credentials)
        return;
    wipe_free(credentials->access_key_id);
    wipe_free(credentials->secret_access_key);
    wipe_free(credentials->session_token);
    memset(credentials, 0, sizeof *credentials);
}

int ig_aws_credentials_copy(struct ig_aws_credentials *dst, const struct ig_aws_credentials *src)
{
    memset(dst, 0, sizeof *dst);
    dst->access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
    dst->secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
    dst->session_token = src->session_token ? strdup(src->session_token) : NULL;
    dst->expiration = src->expiration;
    if ((src->access_key_id && !dst->access_key_id) || (src->secret_access_key && !dst->secret_access_key) ||
        (src->session_token && !dst->session_token)) {
        ig_aws_credentials_clear(dst);
        return -1;
    }
    return 0;
}

static time_t default_now(void *context)
{
    (void)context;
    return time(NULL);
}

struct ig_aws_credential_provider *ig_aws_credential_provider_new(const struct ig_aws_credential_provider_ops *ops,
                                                                  void *state)
{
    struct ig_aws_credential_provider *provider = calloc(1, sizeof *provider);
    if (!provider)
        return NULL;
    if (pthread_mutex_init(&provider->lock, NULL) != 0) {
        free(provider);
        return NULL;
    }
    provider->ops = ops;
    provider->state = state;
    provider->now = default_now;
    return provider;
}

void ig_aws_credential_provider_set_clock(struct ig_aws_credential_provider *provider,
                                          time_t (*now)(void *context), void *context)
{
    pthread_mutex_lock(&provider->lock);
    provider->now = now ? now : default_now;
    provider->now_context = context;
    pthread_mutex_unlock(&provider->lock);
}

int ig_aws_credential_provider_get(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                                   struct ig_aws_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&provider->lock);
    int rc = -1;
    time_t now = provider->now(provider->now_context);
    bool fresh = provider->have_cached && (provider->cached.expiration == 0 ||
                                           now < provider->cached.expiration - IG_AWS_CREDENTIALS_REFRESH_WINDOW_S);
    if (!fresh) {
        struct ig_aws_credentials fetched = {0};
        if (provider->ops->fetch(provider, &fetched, err) != 0)
            goto unlock;
        provider->fetch_count++;
        if (fetched.expiration != 0 && now >= fetched.expiration) {
            ig_aws_error_set(err, IG_AWS_ERR_CREDENTIALS,
                             "%s credentials expired; renew them at their source", provider->ops->kind);
            snprintf(err->code, sizeof err->code, "ExpiredToken");
            err->expired_token = true;
            ig_aws_credentials_clear(&fetched);
            goto unlock;
        }
        ig_aws_credentials_clear(&provider->cached);
        provider->cached = fetched;
        provider->have_cached = true;
        ig_debug("aws credentials fetched", IG_F_STR("provider", provider->ops->kind),
                 IG_F_INT("expiration", (long long)fetched.expiration),
                 IG_F_BOOL("temporary", fetched.session_token != NULL));
    }
    if (ig_aws_credentials_copy(out, &provider->cached) != 0) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory copying credentials");
        goto unlock;
    }
    rc = 0;
unlock:
    pthread_mutex_unlock(&provider->lock);
    return rc;
}

void ig_aws_credential_provider_invalidate(struct ig_aws_credential_provider *provider)
{
    pthread_mutex_lock(&provider->lock);
    ig_aws_credentials_clear(&provider->cached);
    provider->have_cached = false;
    pthread_mutex_unlock(&provider->lock);
}

void ig_aws_credential_provider_free(struct ig_aws_credential_provider *provider)
{
    if (!provider)
        return;
    if (provider->ops->destroy)
        provider->ops->destroy(provider);
    ig_aws_credentials_clear(&provider->cached);
    pthread_mutex_destroy(&provider->lock);
    free(provider);
}

/* Static keys. */

static int static_fetch(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                        struct ig_aws_error *err)
{
    if (ig_aws_credentials_copy(out, provider->state) != 0) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory copying static credentials");
        return -1;
    }
    return 0;
}

static void static_destroy(struct ig_aws_credential_provider *provider)
{
    ig_aws_credentials_clear(provider->state);
    free(provider->state);
}

static const struct ig_aws_credential_provider_ops static_ops = {"static", static_fetch, static_destroy};

struct ig_aws_credential_provider *ig_aws_static_provider_new(const char *access_key_id,
                                                              const char *secret_access_key,
                                                              const char *session_token, time_t expiration)
{
    if (!access_key_id || !*access_key_id || !secret_access_key || !*secret_access_key)
        return NULL;
    struct ig_aws_credentials *keys = calloc(1, sizeof *keys);
    if (!keys)
        return NULL;
    struct ig_aws_credentials borrowed = {
        .access_key_id = (char *)access_key_id,
        .secret_access_key = (char *)secret_access_key,
        .session_token = session_token && *session_token ? (char *)session_token : NULL,
        .expiration = expiration,
    };
    if (ig_aws_credentials_copy(keys, &borrowed) != 0) {
        free(keys);
        return NULL;
    }
    struct ig_aws_credential_provider *provider = ig_aws_credential_provider_new(&static_ops, keys);
    if (!provider) {
        ig_aws_credentials_clear(keys);
        free(keys);
    }
    return provider;
}

/* Environment keys, read again on every fetch. */

static int environment_fetch(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                             struct ig_aws_error *err)
{
    (void)provider;
    const char *key = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (!token || !*token)
        token = getenv("AWS_SECURITY_TOKEN"); /* older name, still read by botocore */
    if (!key || !*key || !secret || !*secret) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG,
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set for environment credentials");
        return -1;
    }
    struct ig_aws_credentials borrowed = {
        .access_key_id = (char *)key,
        .secret_access_key = (char *)secret,
        .session_token = token && *token ? (char *)token : NULL,
    };
    if (ig_aws_credentials_copy(out, &borrowed) != 0) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory copying environment credentials");
        return -1;
    }
    return 0;
}

static const struct ig_aws_credential_provider_ops environment_ops = {"environment", environment_fetch, NULL};

struct ig_aws_credential_provider *ig_aws_environment_provider_new(void)
{
    return ig_aws_credential_provider_new(&environment_ops, NULL);
}

/* Roles through STS. Both kinds own an STS client (its own HTTP handle),
 * used under the provider lock. */

struct role_state {
    struct ig_aws_sts_client sts;
    char *role_arn;
    char *session_name;
    char *external_id;
    char *token_file;
    char *token;
    int duration_s;
    struct ig_aws_credential_provider *source; /* AssumeRole only, owned */
};

static void role_state_free(struct role_state *state)
{
    if (!state)
        return;
    ig_aws_sts_client_cleanup(&state->sts);
    free(state->role_arn);
    free(state->session_name);
    free(state->external_id);
    free(state->token_file);
    wipe_free(state->token);
    ig_aws_credential_provider_free(state->source);
    free(state);
}

static void role_destroy(struct ig_aws_credential_provider *provider)
{
    role_state_free(provider->state);
}

static bool copy_optional(char **dst, const char *src)
{
    *dst = NULL;
    if (!src || !*src)
        return true;
    *dst = strdup(src);
    return *dst != NULL;
}

static bool set_session_name(struct role_state *state, const char *session_name)
{
    if (session_name && *session_name)
        return copy_optional(&state->session_name, session_name);
    char generated[64];
    snprintf(generated, sizeof generated, "immutable-guard-%lld", (long long)time(NULL));
    return copy_optional(&state->session_name, generated);
}

static bool valid_duration(int duration_s, struct ig_aws_error *err)
{
    if (duration_s == 0 || (duration_s >= 900 && duration_s <= 43200))
        return true;
    ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "role session duration %d s is invalid; use 900 to 43200", duration_s);
    return false;
}

/* Read a web identity token file and trim trailing whitespace from the token. */
static char *read_token_file(const char *path, struct ig_aws_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "cannot open web identity token file %.200s: %s", path,
                         strerror(errno));
        return NULL;
    }
    /* STS accepts tokens of at most 20,000 characters. */
    size_t capacity = 20001;
    char *token = calloc(1, capacity + 1);
    if (!token) {
        fclose(f);
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory reading the web identity token");
        return NULL;
    }
    size_t length = fread(token, 1, capacity, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    while (length > 0 && (token[length - 1] == '\n' || token[length - 1] == '\r' || token[length - 1] == ' '))
        length--;
    token[length] = '\0';
    if (failed || length < 4 || length > 20000) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG,
                         "web identity token file %.200s is unreadable or not 4 to 20000 characters long", path);
        wipe_free(token);
        return NULL;
    }
    return token;
}

static int web_identity_fetch(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                              struct ig_aws_error *err)
{
    struct role_state *state = provider->state;
    char *token = state->token ? strdup(state->token) : read_token_file(state->token_file, err);
    if (!token) {
        if (state->token)
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory copying the web identity token");
        return -1;
    }
    int rc = ig_aws_sts_assume_role_with_web_identity(&state->sts, state->role_arn, state->session_name, token,
                                                      state->duration_s, out, err);
    wipe_free(token);
    if (rc != 0)
        ig_warn("aws web identity role assumption failed", IG_F_STR("role_arn", state->role_arn),
                IG_F_STR("error", ig_aws_error_kind_name(err->kind)), IG_F_STR("error_code", err->code));
    return rc;
}

static const struct ig_aws_credential_provider_ops web_identity_ops = {"web_identity", web_identity_fetch,
                                                                       role_destroy};

struct ig_aws_credential_provider *ig_aws_web_identity_provider_new(const struct ig_aws_web_identity_options *options,
                                                                    const struct ig_aws_client_options *sts_options,
                                                                    struct ig_aws_error *err)
{
    if (!options || !options->role_arn || !*options->role_arn ||
        ((!options->token || !*options->token) && (!options->token_file || !*options->token_file))) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "web identity needs a role ARN and a token or token file");
        return NULL;
    }
    if (!valid_duration(options->duration_s, err))
        return NULL;
    struct role_state *state = calloc(1, sizeof *state);
    if (!state || !copy_optional(&state->role_arn, options->role_arn) ||
        !copy_optional(&state->token_file, options->token_file) || !copy_optional(&state->token, options->token) ||
        !set_session_name(state, options->session_name)) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory creating the web identity provider");
        role_state_free(state);
        return NULL;
    }
    state->duration_s = options->duration_s;
    if (ig_aws_sts_client_init(&state->sts, sts_options, err) != 0) {
        role_state_free(state);
        return NULL;
    }
    struct ig_aws_credential_provider *provider = ig_aws_credential_provider_new(&web_identity_ops, state);
    if (!provider) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory creating the web identity provider");
        role_state_free(state);
    }
    return provider;
}

static int assume_role_fetch(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                             struct ig_aws_error *err)
{
    struct role_state *state = provider->state;
    struct ig_aws_assume_role_options options = {
        .role_arn = state->role_arn,
        .session_name = state->session_name,
        .external_id = state->external_id,
        .duration_s = state->duration_s,
    };
    int rc = ig_aws_sts_assume_role(&state->sts, state->source, &options, out, err);
    if (rc != 0)
        ig_warn("aws role assumption failed", IG_F_STR("role_arn", state->role_arn),
                IG_F_STR("error", ig_aws_error_kind_name(err->kind)), IG_F_STR("error_code", err->code));
    return rc;
}

static const struct ig_aws_credential_provider_ops assume_role_ops = {"assume_role", assume_role_fetch,
                                                                      role_destroy};

struct ig_aws_credential_provider *ig_aws_assume_role_provider_new(const struct ig_aws_assume_role_options *options,
                                                                   struct ig_aws_credential_provider *source,
                                                                   const struct ig_aws_client_options *sts_options,
                                                                   struct ig_aws_error *err)
{
    if (!source) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "AssumeRole needs source credentials");
        return NULL;
    }
    if (!options || !options->role_arn || !*options->role_arn) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "AssumeRole needs a role ARN");
        ig_aws_credential_provider_free(source);
        return NULL;
    }
    if (!valid_duration(options->duration_s, err)) {
        ig_aws_credential_provider_free(source);
        return NULL;
    }
    struct role_state *state = calloc(1, sizeof *state);
    if (!state) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory creating the AssumeRole provider");
        ig_aws_credential_provider_free(source);
        return NULL;
    }
    state->source = source;
    state->duration_s = options->duration_s;
    if (!copy_optional(&state->role_arn, options->role_arn) ||
        !copy_optional(&state->external_id, options->external_id) || !set_session_name(state, options->session_name)) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory creating the AssumeRole provider");
        role_state_free(state);
        return NULL;
    }
    if (ig_aws_sts_client_init(&state->sts, sts_options, err) != 0) {
        role_state_free(state);
        return NULL;
    }
    struct ig_aws_credential_provider *provider = ig_aws_credential_provider_new(&assume_role_ops, state);
    if (!provider) {
        ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory creating the AssumeRole provider");
        role_state_free(state);
    }
    return provider;
}

struct ig_aws_credential_provider *ig_aws_default_provider_new(const struct ig_aws_client_options *sts_options,
                                                               struct ig_aws_error *err)
{
    const char *token_file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role_arn = getenv("AWS_ROLE_ARN");
    if (token_file && *token_file) {
        if (!role_arn || !*role_arn) {
            ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
            return NULL;
        }
        struct ig_aws_web_identity_options options = {
            .role_arn = role_arn,
            .token_file = token_file,
            .session_name = getenv("AWS_ROLE_SESSION_NAME"),
        };
        return ig_aws_web_identity_provider_new(&options, sts_options, err);
    }
    const char *key = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (key && *key && secret && *secret) {
        struct ig_aws_credential_provider *provider = ig_aws_environment_provider_new();
        if (!provider)
            ig_aws_error_set(err, IG_AWS_ERR_INTERNAL, "out of memory creating the environment provider");
        return provider;
    }
    ig_aws_error_set(err, IG_AWS_ERR_CONFIG,
                     "no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                     "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE");
    return NULL;
}
