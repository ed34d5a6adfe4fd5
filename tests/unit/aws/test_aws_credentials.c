#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"

/* A provider whose credentials expire one hour after each fetch. */
static int counting_fetch(struct ig_aws_credential_provider *provider, struct ig_aws_credentials *out,
                          struct ig_aws_error *err)
{
    (void)err;
    time_t *clock = provider->now_context;
    char key[32];
    snprintf(key, sizeof key, "ASIAFETCH%lu", provider->fetch_count + 1);
    struct ig_aws_credentials fresh = {key, "secret", "token", *clock + 3600};
    return ig_aws_credentials_copy(out, &fresh);
}

static const struct ig_aws_credential_provider_ops counting_ops = {"counting", counting_fetch, NULL};

static time_t fake_now(void *context)
{
    return *(time_t *)context;
}

Test(aws_credentials, static_keys_cached_without_expiry)
{
    struct ig_aws_credential_provider *provider = ig_aws_static_provider_new("AKIDSTATIC", "static-secret", NULL, 0);
    cr_assert_not_null(provider);
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
        cr_assert_str_eq(creds.access_key_id, "AKIDSTATIC");
        cr_assert_str_eq(creds.secret_access_key, "static-secret");
        cr_assert_null(creds.session_token);
        ig_aws_credentials_clear(&creds);
    }
    cr_assert_eq(provider->fetch_count, 1);
    ig_aws_credential_provider_free(provider);
}

Test(aws_credentials, static_keys_reject_empty)
{
    cr_assert_null(ig_aws_static_provider_new("", "secret", NULL, 0));
    cr_assert_null(ig_aws_static_provider_new("AKID", NULL, NULL, 0));
}

Test(aws_credentials, refresh_five_minutes_before_expiry)
{
    time_t clock = 1000000;
    struct ig_aws_credential_provider *provider = ig_aws_credential_provider_new(&counting_ops, NULL);
    cr_assert_not_null(provider);
    ig_aws_credential_provider_set_clock(provider, fake_now, &clock);
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "ASIAFETCH1");
    ig_aws_credentials_clear(&creds);

    clock += 3600 - 301; /* 5 min 1 s before expiry: still cached */
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "ASIAFETCH1");
    ig_aws_credentials_clear(&creds);

    clock += 1; /* exactly 5 min before expiry: refreshed */
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "ASIAFETCH2");
    cr_assert_eq(creds.expiration, clock + 3600);
    ig_aws_credentials_clear(&creds);
    cr_assert_eq(provider->fetch_count, 2);
    ig_aws_credential_provider_free(provider);
}

Test(aws_credentials, invalidate_forces_fetch)
{
    time_t clock = 5000;
    struct ig_aws_credential_provider *provider = ig_aws_credential_provider_new(&counting_ops, NULL);
    ig_aws_credential_provider_set_clock(provider, fake_now, &clock);
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    ig_aws_credentials_clear(&creds);
    ig_aws_credential_provider_invalidate(provider);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "ASIAFETCH2");
    ig_aws_credentials_clear(&creds);
    ig_aws_credential_provider_free(provider);
}

Test(aws_credentials, expired_static_session_rejected)
{
    time_t clock = 2000000;
    struct ig_aws_credential_provider *provider =
        ig_aws_static_provider_new("ASIAOLD", "old-secret", "old-token", clock - 10);
    ig_aws_credential_provider_set_clock(provider, fake_now, &clock);
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CREDENTIALS);
    cr_assert(err.expired_token);
    cr_assert_null(strstr(err.message, "old-secret"));
    ig_aws_credential_provider_free(provider);
}

Test(aws_credentials, environment_read_on_each_fetch)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV1", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_SESSION_TOKEN", "env-token", 1);
    struct ig_aws_credential_provider *provider = ig_aws_environment_provider_new();
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "AKIDENV1");
    cr_assert_str_eq(creds.session_token, "env-token");
    ig_aws_credentials_clear(&creds);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV2", 1);
    ig_aws_credential_provider_invalidate(provider);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "AKIDENV2");
    ig_aws_credentials_clear(&creds);
    ig_aws_credential_provider_free(provider);
}

Test(aws_credentials, default_chain_without_configuration)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("AWS_ROLE_ARN");
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_null(ig_aws_default_provider_new(NULL, &err));
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
}

Test(aws_credentials, web_identity_needs_role_arn)
{
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    unsetenv("AWS_ROLE_ARN");
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_null(ig_aws_default_provider_new(NULL, &err));
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
}

Test(aws_credentials, assume_role_frees_source_on_error)
{
    struct ig_aws_credential_provider *source = ig_aws_static_provider_new("AKID", "secret", NULL, 0);
    struct ig_aws_assume_role_options options = {.role_arn = "arn:aws:iam::123456789012:role/x", .duration_s = 60};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_null(ig_aws_assume_role_provider_new(&options, source, NULL, &err));
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
}

Test(aws_credentials, copy_and_clear)
{
    struct ig_aws_credentials src = {"AKID", "secret", NULL, 7};
    struct ig_aws_credentials dst;
    cr_assert_eq(ig_aws_credentials_copy(&dst, &src), 0);
    cr_assert_str_eq(dst.access_key_id, "AKID");
    cr_assert_null(dst.session_token);
    cr_assert_eq(dst.expiration, 7);
    ig_aws_credentials_clear(&dst);
    cr_assert_null(dst.access_key_id);
    cr_assert_null(dst.secret_access_key);
}

static void *get_repeatedly(void *context)
{
    struct ig_aws_credential_provider *provider = context;
    for (int i = 0; i < 500; i++) {
        struct ig_aws_credentials creds;
        struct ig_aws_error err;
        if (ig_aws_credential_provider_get(provider, &creds, &err) != 0)
            return (void *)1;
        bool same = strcmp(creds.access_key_id, "ASIAFETCH1") == 0;
        ig_aws_credentials_clear(&creds);
        if (!same)
            return (void *)1;
    }
    return NULL;
}

Test(aws_credentials, concurrent_gets_share_one_fetch)
{
    time_t clock = 7000;
    struct ig_aws_credential_provider *provider = ig_aws_credential_provider_new(&counting_ops, NULL);
    cr_assert_not_null(provider);
    ig_aws_credential_provider_set_clock(provider, fake_now, &clock);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&threads[i], NULL, get_repeatedly, provider), 0);
    for (int i = 0; i < 4; i++) {
        void *result = NULL;
        cr_assert_eq(pthread_join(threads[i], &result), 0);
        cr_assert_null(result, "thread %d got other credentials or an error", i);
    }
    cr_assert_eq(provider->fetch_count, 1);
    ig_aws_credential_provider_free(provider);
}

Test(aws_credentials, environment_accepts_older_token_name)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV3", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_SECURITY_TOKEN", "older-token", 1);
    struct ig_aws_credential_provider *provider = ig_aws_environment_provider_new();
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0);
    cr_assert_str_eq(creds.session_token, "older-token");
    ig_aws_credentials_clear(&creds);
    ig_aws_credential_provider_free(provider);
}
