/* Region and endpoint resolution for SSM and STS. */
#ifndef IG_AWS_ENDPOINT_H
#define IG_AWS_ENDPOINT_H

#include <stddef.h>

#include "aws/error.h"

/* The global STS endpoint. Requests to it are signed for us-east-1. */
#define IG_AWS_STS_GLOBAL_HOST "sts.amazonaws.com"
#define IG_AWS_STS_GLOBAL_ENDPOINT "https://" IG_AWS_STS_GLOBAL_HOST

/* Region: the caller's value, else AWS_REGION, else AWS_DEFAULT_REGION.
 * Returns 0, or -1 with err set (IG_AWS_ERR_CONFIG) when none is set or the
 * value is not a plausible region name. */
int ig_aws_resolve_region(const char *explicit_region, char *out, size_t size, struct ig_aws_error *err);

/* Resolve the endpoint URL for service "ssm" or "sts", in this order:
 *   1. explicit_url;
 *   2. AWS_ENDPOINT_URL_SSM (or _STS), the SDKs' per-service variable;
 *   3. AWS_SSM_ENDPOINT (or AWS_STS_ENDPOINT), the External Secrets Operator's;
 *   4. AWS_ENDPOINT_URL;
 *   5. https://<service>.<region>.amazonaws.com, with .amazonaws.com.cn for cn-* regions.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips 2 to 4. STS is regional
 * unless AWS_STS_REGIONAL_ENDPOINTS=legacy, which sends 15 older regions to
 * the global endpoint. A custom endpoint does not change the signing region.
 * Returns 0, or -1 with err set (IG_AWS_ERR_CONFIG). */
int ig_aws_resolve_endpoint(const char *service, const char *region, const char *explicit_url, char *out,
                            size_t size, struct ig_aws_error *err);

#endif
