/* The client against moto 5.2.1 with IAM authentication on: every request
 * after the fixture's first three actions must carry a valid signature from
 * a known key, and IAM policies and role trust policies are evaluated. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/ssm.h"
#include "aws/sts.h"
#include "helpers.h"

static cJSON *fixture;

static void init_suite(void)
{
    test_logging_init();
    fixture = test_load_fixture();
    const char *users[] = {"reader", "chainer", "denied"};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        char path[64];
        int n = snprintf(path, sizeof path, "%s.SecretAccessKey", users[i]);
        cr_assert(n > 0 && (size_t)n < sizeof path);
        test_record_secret(test_json_string(fixture, path));
    }
    const cJSON *value;
    cJSON_ArrayForEach(value, cJSON_GetObjectItem(fixture, "values")) test_record_secret(value->valuestring);
}

static void fini_suite(void)
{
    cJSON_Delete(fixture);
    fixture = NULL;
}

TestSuite(moto, .init = init_suite, .fini = fini_suite);

static struct ig_aws_client_options moto_options(void)
{
    return (struct ig_aws_client_options){
        .region = "us-east-1",
        .endpoint_url = test_env("IG_TEST_MOTO_URL"),
        .http = {.connect_timeout_ms = 2000, .timeout_ms = 10000},
        .retry = {.max_attempts = 3, .base_s = 0.05, .throttle_base_s = 0.1},
    };
}

static struct ig_aws_credential_provider *user_keys(const char *user)
{
    char key_path[64], secret_path[64];
    int n1 = snprintf(key_path, sizeof key_path, "%s.AccessKeyId", user);
    int n2 = snprintf(secret_path, sizeof secret_path, "%s.SecretAccessKey", user);
    cr_assert(n1 > 0 && n2 > 0 && (size_t)n1 < sizeof key_path && (size_t)n2 < sizeof secret_path);
    struct ig_aws_credential_provider *provider = ig_aws_static_provider_new(
        test_json_string(fixture, key_path), test_json_string(fixture, secret_path), NULL, 0);
    cr_assert_not_null(provider);
    return provider;
}

static void ssm_client(struct ig_ssm_client *client, struct ig_aws_credential_provider *credentials)
{
    struct ig_aws_client_options options = moto_options();
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_ssm_client_init(client, &options, credentials, &err), 0, "%s", err.message);
}

static const char *expected_value(const char *name)
{
    const cJSON *values = cJSON_GetObjectItem(fixture, "values");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(values, name);
    cr_assert(cJSON_IsString(value), "no expected value for %s", name);
    return value->valuestring;
}

static const struct ig_ssm_parameter *find(const struct ig_ssm_parameter_list *list, const char *name,
                                           long long version)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->items[i].name, name) == 0 && (version == 0 || list->items[i].version == version))
            return &list->items[i];
    }
    return NULL;
}

/* Reads /ig/app/secret with the given provider and checks the value. */
static void assert_can_read(struct ig_aws_credential_provider *credentials)
{
    struct ig_ssm_client client;
    ssm_client(&client, credentials);
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/secret", &parameter, &err), 0, "%s %s: %s",
                 ig_aws_error_kind_name(err.kind), err.code, err.message);
    cr_assert_str_eq(parameter.value, expected_value("/ig/app/secret"));
    ig_ssm_parameter_clear(&parameter);
    ig_ssm_client_cleanup(&client);
}

Test(moto, string_and_secure_string)
{
    struct ig_aws_credential_provider *keys = user_keys("reader");
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    const char *names[] = {"/ig/app/plain", "/ig/app/secret", "/ig/app/list"};
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameters(&client, names, 3, &list, &err), 0, "%s: %s", err.code, err.message);
    cr_assert_eq(list.count, 3);
    cr_assert_eq(list.invalid_count, 0);
    const struct ig_ssm_parameter *plain = find(&list, "/ig/app/plain", 0);
    const struct ig_ssm_parameter *secret = find(&list, "/ig/app/secret", 0);
    const struct ig_ssm_parameter *string_list = find(&list, "/ig/app/list", 0);
    cr_assert(plain && secret && string_list);
    cr_assert_str_eq(plain->type, "String");
    cr_assert_str_eq(plain->value, expected_value("/ig/app/plain"));
    cr_assert_str_eq(secret->type, "SecureString");
    cr_assert_str_eq(secret->value, expected_value("/ig/app/secret"));
    cr_assert_str_eq(string_list->type, "StringList");
    cr_assert_str_eq(string_list->value, "alpha,beta,gamma");
    cr_assert_str_eq(secret->arn, "arn:aws:ssm:us-east-1:123456789012:parameter/ig/app/secret");
    cr_assert_str_eq(secret->data_type, "text");
    cr_assert_eq(secret->version, 1);
    cr_assert_gt(secret->last_modified, 1.6e9);
    ig_ssm_parameter_list_clear(&list);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, versions_and_labels)
{
    struct ig_aws_credential_provider *keys = user_keys("reader");
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    const cJSON *versions = cJSON_GetObjectItem(fixture, "versions");
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;

    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/versioned", &parameter, &err), 0, "%s", err.message);
    cr_assert_eq(parameter.version, 3);
    cr_assert_str_eq(parameter.value, cJSON_GetArrayItem(versions, 2)->valuestring);
    ig_ssm_parameter_clear(&parameter);

    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/versioned:1", &parameter, &err), 0, "%s", err.message);
    cr_assert_eq(parameter.version, 1);
    cr_assert_str_eq(parameter.name, "/ig/app/versioned");
    cr_assert_str_eq(parameter.value, cJSON_GetArrayItem(versions, 0)->valuestring);
    ig_ssm_parameter_clear(&parameter);

    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/versioned:prod", &parameter, &err), 0, "%s", err.message);
    cr_assert_eq(parameter.version, 2);
    cr_assert_str_eq(parameter.value, cJSON_GetArrayItem(versions, 1)->valuestring);
    ig_ssm_parameter_clear(&parameter);

    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/versioned:9", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_NOT_FOUND);
    cr_assert_str_eq(err.code, "ParameterVersionNotFound");

    const char *names[] = {"/ig/app/versioned:1", "/ig/app/versioned:prod"};
    struct ig_ssm_parameter_list list = {0};
    cr_assert_eq(ig_ssm_get_parameters(&client, names, 2, &list, &err), 0, "%s", err.message);
    cr_assert_eq(list.count, 2);
    cr_assert_not_null(find(&list, "/ig/app/versioned", 1));
    cr_assert_not_null(find(&list, "/ig/app/versioned", 2));
    ig_ssm_parameter_list_clear(&list);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, batch_of_25_with_missing)
{
    struct ig_aws_credential_provider *keys = user_keys("reader");
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    const char *names[25];
    char missing[5][64];
    const cJSON *batch = cJSON_GetObjectItem(fixture, "batch");
    cr_assert_eq(cJSON_GetArraySize(batch), 20);
    for (int i = 0; i < 20; i++)
        names[i] = cJSON_GetArrayItem(batch, i)->valuestring;
    for (int i = 0; i < 5; i++) {
        int n = snprintf(missing[i], sizeof missing[i], "/ig/batch/missing%d", i);
        cr_assert(n > 0 && (size_t)n < sizeof missing[i]);
        names[20 + i] = missing[i];
    }
    /* Missing names spread over the three calls of 10, 10 and 5. */
    const char *swap = names[3];
    names[3] = names[21];
    names[21] = swap;
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameters(&client, names, 25, &list, &err), 0, "%s: %s", err.code, err.message);
    cr_assert_eq(list.count, 20);
    cr_assert_eq(list.invalid_count, 5);
    for (int i = 0; i < 20; i++) {
        const char *name = cJSON_GetArrayItem(batch, i)->valuestring;
        const struct ig_ssm_parameter *p = find(&list, name, 0);
        cr_assert_not_null(p, "%s missing from the result", name);
        cr_assert_str_eq(p->value, expected_value(name));
    }
    for (size_t i = 0; i < list.invalid_count; i++)
        cr_assert_not_null(strstr(list.invalid[i], "/ig/batch/missing"));
    ig_ssm_parameter_list_clear(&list);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, paging_by_path)
{
    struct ig_aws_credential_provider *keys = user_keys("reader");
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameters_by_path(&client, "/ig/tree", true, &list, &err), 0, "%s", err.message);
    const cJSON *tree = cJSON_GetObjectItem(fixture, "tree");
    cr_assert_eq(list.count, (size_t)cJSON_GetArraySize(tree), "recursive read returned %zu", list.count);
    const cJSON *name;
    cJSON_ArrayForEach(name, tree)
    {
        const struct ig_ssm_parameter *p = find(&list, name->valuestring, 0);
        cr_assert_not_null(p, "%s missing", name->valuestring);
        cr_assert_str_eq(p->value, expected_value(name->valuestring));
    }
    ig_ssm_parameter_list_clear(&list);

    cr_assert_eq(ig_ssm_get_parameters_by_path(&client, "/ig/tree", false, &list, &err), 0, "%s", err.message);
    cr_assert_eq(list.count, 14, "direct children only, got %zu", list.count);
    ig_ssm_parameter_list_clear(&list);

    cr_assert_eq(ig_ssm_get_parameters_by_path(&client, "/ig/empty", true, &list, &err), 0, "%s", err.message);
    cr_assert_eq(list.count, 0);
    ig_ssm_parameter_list_clear(&list);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, get_parameter_not_found)
{
    struct ig_aws_credential_provider *keys = user_keys("reader");
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/none", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_NOT_FOUND);
    cr_assert_str_eq(err.code, "ParameterNotFound");
    cr_assert_eq(err.attempts, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, wrong_secret_rejected)
{
    struct ig_aws_credential_provider *keys =
        ig_aws_static_provider_new(test_json_string(fixture, "reader.AccessKeyId"), "not-the-secret-key", NULL, 0);
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/plain", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_SIGNATURE);
    cr_assert_str_eq(err.code, "SignatureDoesNotMatch");
    cr_assert_eq(err.attempts, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, unknown_key_rejected)
{
    struct ig_aws_credential_provider *keys =
        ig_aws_static_provider_new("AKIAUNKNOWNUNKNOWN00", "unknown-secret", NULL, 0);
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/plain", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CREDENTIALS);
    cr_assert_str_eq(err.code, "InvalidClientTokenId");
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

Test(moto, access_denied_without_policy)
{
    struct ig_aws_credential_provider *keys = user_keys("denied");
    struct ig_ssm_client client;
    ssm_client(&client, keys);
    struct ig_ssm_parameter parameter;
    struct ig_aws_error err;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/plain", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_ACCESS_DENIED, "got %s %s", ig_aws_error_kind_name(err.kind), err.code);
    cr_assert_eq(err.attempts, 1);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(keys);
}

static struct ig_aws_credential_provider *assume(const char *role_key, struct ig_aws_credential_provider *source,
                                                 const char *external_id)
{
    char path[64];
    int n = snprintf(path, sizeof path, "roles.%s", role_key);
    cr_assert(n > 0 && (size_t)n < sizeof path);
    struct ig_aws_client_options sts = moto_options();
    struct ig_aws_assume_role_options options = {
        .role_arn = test_json_string(fixture, path),
        .session_name = test_json_string(fixture, "session_name"),
        .external_id = external_id,
        .duration_s = 900,
    };
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_credential_provider *provider = ig_aws_assume_role_provider_new(&options, source, &sts, &err);
    cr_assert_not_null(provider, "%s", err.message);
    return provider;
}

static void record_provider_credentials(struct ig_aws_credential_provider *provider)
{
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_credential_provider_get(provider, &creds, &err), 0, "%s %s: %s",
                 ig_aws_error_kind_name(err.kind), err.code, err.message);
    test_record_credentials(&creds);
    ig_aws_credentials_clear(&creds);
}

Test(moto, assume_role_direct)
{
    struct ig_aws_credential_provider *role = assume("direct", user_keys("chainer"), NULL);
    record_provider_credentials(role);
    assert_can_read(role);
    ig_aws_credential_provider_free(role);
}

Test(moto, assume_role_chain_with_external_id)
{
    /* ESO order: additional roles first, then the role itself. */
    struct ig_aws_credential_provider *hop = assume("hop", user_keys("chainer"), NULL);
    struct ig_aws_credential_provider *final = assume("final", hop, test_json_string(fixture, "external_id"));
    record_provider_credentials(final);
    assert_can_read(final);
    ig_aws_credential_provider_free(final);
}

Test(moto, assume_role_wrong_external_id_denied)
{
    struct ig_aws_credential_provider *hop = assume("hop", user_keys("chainer"), NULL);
    struct ig_aws_credential_provider *final = assume("final", hop, "wrong-external-id");
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_credential_provider_get(final, &creds, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_ACCESS_DENIED, "got %s %s", ig_aws_error_kind_name(err.kind), err.code);
    ig_aws_credential_provider_free(final);
}

Test(moto, chained_role_cannot_skip_hop)
{
    /* ig-final trusts only the ig-hop session, not the chainer user. */
    struct ig_aws_credential_provider *final =
        assume("final", user_keys("chainer"), test_json_string(fixture, "external_id"));
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_credential_provider_get(final, &creds, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_ACCESS_DENIED, "got %s %s", ig_aws_error_kind_name(err.kind), err.code);
    ig_aws_credential_provider_free(final);
}

/* moto 5.2.1 with IAM authentication on returns HTTP 500 for an unsigned
 * request, because it reads the Authorization header unconditionally. So the
 * unsigned AssumeRoleWithWebIdentity runs as moto's one allowed
 * unauthenticated action, re-armed through its reset-auth control API. The
 * fault stand-in checks that the call really goes out unsigned. */
static void allow_one_unsigned_action(void)
{
    char url[512];
    int n = snprintf(url, sizeof url, "%s/moto-api/reset-auth", test_env("IG_TEST_MOTO_URL"));
    cr_assert(n > 0 && (size_t)n < sizeof url);
    cr_assert_eq(test_http_post(url, "1"), 200);
}

static struct ig_aws_credential_provider *web_identity(const char *token_file)
{
    struct ig_aws_client_options sts = moto_options();
    struct ig_aws_web_identity_options options = {
        .role_arn = test_json_string(fixture, "roles.web"),
        .token_file = token_file,
        .session_name = test_json_string(fixture, "session_name"),
    };
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    struct ig_aws_credential_provider *provider = ig_aws_web_identity_provider_new(&options, &sts, &err);
    cr_assert_not_null(provider, "%s", err.message);
    return provider;
}

Test(moto, web_identity_then_assume_role)
{
    char token_file[] = "/tmp/ig-aws-moto-token-XXXXXX";
    int fd = mkstemp(token_file);
    cr_assert_geq(fd, 0);
    const char token[] = "eyJhbGciOiJSUzI1NiJ9.moto-web-identity-token.c2lnbmF0dXJl";
    cr_assert_eq(write(fd, token, sizeof token - 1), (ssize_t)(sizeof token - 1));
    close(fd);
    test_record_secret(token);

    struct ig_aws_credential_provider *web = web_identity(token_file);
    allow_one_unsigned_action();
    record_provider_credentials(web);
    struct ig_aws_credential_provider *final = assume("web_final", web, NULL);
    record_provider_credentials(final);
    assert_can_read(final);
    ig_aws_credential_provider_free(final);
    unlink(token_file);
}

static time_t fake_now(void *context)
{
    return *(time_t *)context;
}

Test(moto, expired_session_credentials_refreshed)
{
    struct ig_aws_credential_provider *role = assume("direct", user_keys("chainer"), NULL);
    time_t clock = time(NULL);
    ig_aws_credential_provider_set_clock(role, fake_now, &clock);
    struct ig_aws_credentials first, second;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_credential_provider_get(role, &first, &err), 0, "%s", err.message);
    test_record_credentials(&first);
    /* DurationSeconds 900: at 10 min the credentials are inside the refresh window. */
    clock += 600;
    cr_assert_eq(ig_aws_credential_provider_get(role, &second, &err), 0, "%s", err.message);
    test_record_credentials(&second);
    cr_assert_eq(role->fetch_count, 2);
    cr_assert_str_neq(first.access_key_id, second.access_key_id);
    cr_assert_str_neq(first.session_token, second.session_token);
    assert_can_read(role);

    /* The old session, handed in as static keys with its expiry, is refused locally. */
    struct ig_aws_credential_provider *stale =
        ig_aws_static_provider_new(first.access_key_id, first.secret_access_key, first.session_token, clock - 1);
    ig_aws_credential_provider_set_clock(stale, fake_now, &clock);
    clock = first.expiration + 1;
    struct ig_ssm_client client;
    ssm_client(&client, stale);
    struct ig_ssm_parameter parameter;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/plain", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CREDENTIALS);
    cr_assert(err.expired_token);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(stale);
    ig_aws_credentials_clear(&first);
    ig_aws_credentials_clear(&second);
    ig_aws_credential_provider_free(role);
}

Test(moto, session_token_required)
{
    struct ig_aws_credential_provider *role = assume("direct", user_keys("chainer"), NULL);
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    cr_assert_eq(ig_aws_credential_provider_get(role, &creds, &err), 0, "%s", err.message);
    test_record_credentials(&creds);

    struct ig_aws_credential_provider *no_token =
        ig_aws_static_provider_new(creds.access_key_id, creds.secret_access_key, NULL, 0);
    struct ig_ssm_client client;
    ssm_client(&client, no_token);
    struct ig_ssm_parameter parameter;
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/plain", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CREDENTIALS, "got %s %s", ig_aws_error_kind_name(err.kind), err.code);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(no_token);

    struct ig_aws_credential_provider *wrong_token =
        ig_aws_static_provider_new(creds.access_key_id, creds.secret_access_key, "not-the-session-token", 0);
    ssm_client(&client, wrong_token);
    cr_assert_eq(ig_ssm_get_parameter(&client, "/ig/app/plain", &parameter, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CREDENTIALS, "got %s %s", ig_aws_error_kind_name(err.kind), err.code);
    ig_ssm_client_cleanup(&client);
    ig_aws_credential_provider_free(wrong_token);

    ig_aws_credentials_clear(&creds);
    ig_aws_credential_provider_free(role);
}
