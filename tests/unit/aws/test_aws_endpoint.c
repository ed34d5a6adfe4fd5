#include <criterion/criterion.h>
#include <stdlib.h>

#include "aws/endpoint.h"

static void clear_env(void)
{
    const char *names[] = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM",
                           "AWS_SSM_ENDPOINT", "AWS_ENDPOINT_URL_STS", "AWS_STS_ENDPOINT",
                           "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_STS_REGIONAL_ENDPOINTS"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

TestSuite(aws_endpoint, .init = clear_env, .fini = clear_env);

Test(aws_endpoint, region_order)
{
    char region[64];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    cr_assert_eq(ig_aws_resolve_region(NULL, region, sizeof region, &err), 0);
    cr_assert_str_eq(region, "eu-west-1");
    setenv("AWS_REGION", "eu-central-1", 1);
    cr_assert_eq(ig_aws_resolve_region(NULL, region, sizeof region, &err), 0);
    cr_assert_str_eq(region, "eu-central-1");
    cr_assert_eq(ig_aws_resolve_region("us-west-2", region, sizeof region, &err), 0);
    cr_assert_str_eq(region, "us-west-2");
}

Test(aws_endpoint, region_missing_or_invalid)
{
    char region[64];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_resolve_region(NULL, region, sizeof region, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
    cr_assert_eq(ig_aws_resolve_region("EU WEST", region, sizeof region, &err), -1);
}

Test(aws_endpoint, regional_defaults)
{
    char url[256];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://ssm.eu-west-1.amazonaws.com");
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "us-east-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://sts.us-east-1.amazonaws.com");
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "cn-north-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://ssm.cn-north-1.amazonaws.com.cn");
}

Test(aws_endpoint, environment_precedence)
{
    char url[256];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/all", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "http://127.0.0.1:1/all");
    setenv("AWS_SSM_ENDPOINT", "http://127.0.0.1:2/eso", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "http://127.0.0.1:2/eso");
    setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:3/sdk", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "http://127.0.0.1:3/sdk");
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", "http://127.0.0.1:4", url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "http://127.0.0.1:4");
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "http://127.0.0.1:1/all");
    setenv("AWS_STS_ENDPOINT", "http://127.0.0.1:5", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "http://127.0.0.1:5");
}

Test(aws_endpoint, ignore_configured_endpoints)
{
    char url[256];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:3", 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://ssm.eu-west-1.amazonaws.com");
}

Test(aws_endpoint, rejects_non_http_url)
{
    char url[256];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", "file:///etc/passwd", url, sizeof url, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
}

Test(aws_endpoint, sts_legacy_mode_uses_global_endpoint)
{
    char url[256];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://sts.amazonaws.com");
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "af-south-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://sts.af-south-1.amazonaws.com");
    cr_assert_eq(ig_aws_resolve_endpoint("ssm", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://ssm.eu-west-1.amazonaws.com");
    setenv("AWS_STS_REGIONAL_ENDPOINTS", "regional", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "eu-west-1", NULL, url, sizeof url, &err), 0);
    cr_assert_str_eq(url, "https://sts.eu-west-1.amazonaws.com");
}

Test(aws_endpoint, sts_mode_invalid)
{
    char url[256];
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    setenv("AWS_STS_REGIONAL_ENDPOINTS", "global", 1);
    cr_assert_eq(ig_aws_resolve_endpoint("sts", "eu-west-1", NULL, url, sizeof url, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
}
