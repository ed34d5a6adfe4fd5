#include "aws/endpoint.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

/* Region names are lower-case letters, digits and '-', e.g. eu-west-1. */
static bool valid_region(const char *region)
{
    size_t length = strlen(region);
    if (length < 2 || length > 40)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = region[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

int ig_aws_resolve_region(const char *explicit_region, char *out, size_t size, struct ig_aws_error *err)
{
    const char *source = "the caller";
    const char *region = explicit_region && *explicit_region ? explicit_region : NULL;
    if (!region && (region = env_value("AWS_REGION")))
        source = "AWS_REGION";
    if (!region && (region = env_value("AWS_DEFAULT_REGION")))
        source = "AWS_DEFAULT_REGION";
    if (!region) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "no AWS region set; pass --region or set AWS_REGION");
        return -1;
    }
    if (!valid_region(region) || strlen(region) >= size) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "region '%.64s' from %s is invalid; use a name like eu-west-1",
                         region, source);
        return -1;
    }
    snprintf(out, size, "%s", region);
    return 0;
}

/* Regions that AWS_STS_REGIONAL_ENDPOINTS=legacy sends to the global STS
 * endpoint (botocore's STS endpoint rule set lists the same 15). */
static const char *const sts_legacy_global_regions[] = {
    "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
    "eu-central-1",   "eu-north-1", "eu-west-1",      "eu-west-2",      "eu-west-3",
    "sa-east-1",      "us-east-1",  "us-east-2",      "us-west-1",      "us-west-2",
    NULL,
};

/* Returns 1 for the global STS endpoint, 0 for the regional one, -1 with err
 * set when AWS_STS_REGIONAL_ENDPOINTS is neither "regional" nor "legacy". */
static int sts_uses_global_endpoint(const char *region, struct ig_aws_error *err)
{
    const char *mode = env_value("AWS_STS_REGIONAL_ENDPOINTS");
    if (!mode || strcasecmp(mode, "regional") == 0)
        return 0;
    if (strcasecmp(mode, "legacy") != 0) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG,
                         "AWS_STS_REGIONAL_ENDPOINTS='%.40s' is invalid; use regional or legacy", mode);
        return -1;
    }
    for (size_t i = 0; sts_legacy_global_regions[i]; i++) {
        if (strcmp(region, sts_legacy_global_regions[i]) == 0)
            return 1;
    }
    return 0;
}

static bool valid_url(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0;
}

int ig_aws_resolve_endpoint(const char *service, const char *region, const char *explicit_url, char *out,
                            size_t size, struct ig_aws_error *err)
{
    const char *url = explicit_url && *explicit_url ? explicit_url : NULL;
    const char *source = "the caller";
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    bool use_env = !(ignore && strcasecmp(ignore, "true") == 0);
    if (!url && use_env) {
        char sdk_name[64], eso_name[64];
        char upper[16];
        size_t i = 0;
        for (; i < sizeof upper - 1 && service[i]; i++)
            upper[i] = (char)((service[i] >= 'a' && service[i] <= 'z') ? service[i] - 'a' + 'A' : service[i]);
        upper[i] = '\0';
        snprintf(sdk_name, sizeof sdk_name, "AWS_ENDPOINT_URL_%s", upper);
        snprintf(eso_name, sizeof eso_name, "AWS_%s_ENDPOINT", upper);
        const char *names[] = {sdk_name, eso_name, "AWS_ENDPOINT_URL"};
        for (size_t n = 0; n < sizeof names / sizeof names[0] && !url; n++) {
            url = env_value(names[n]);
            if (url)
                source = names[n];
        }
    }
    if (url) {
        if (!valid_url(url) || strlen(url) >= size) {
            ig_aws_error_set(err, IG_AWS_ERR_CONFIG,
                             "%s endpoint '%.200s' from %s is invalid; give an http:// or https:// URL", service,
                             url, source);
            return -1;
        }
        snprintf(out, size, "%s", url);
        return 0;
    }
    if (strcmp(service, "sts") == 0) {
        int global = sts_uses_global_endpoint(region, err);
        if (global < 0)
            return -1;
        if (global) {
            snprintf(out, size, "%s", IG_AWS_STS_GLOBAL_ENDPOINT);
            return 0;
        }
    }
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    int n = snprintf(out, size, "https://%s.%s.%s", service, region, suffix);
    if (n < 0 || (size_t)n >= size) {
        ig_aws_error_set(err, IG_AWS_ERR_CONFIG, "%s endpoint for region '%s' is too long", service, region);
        return -1;
    }
    return 0;
}
