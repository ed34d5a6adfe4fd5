/* STS over the Query protocol (API version 2011-06-15): AssumeRole, signed,
 * and AssumeRoleWithWebIdentity, unsigned. Replies are XML parsed with libxml2. */
#ifndef IG_AWS_STS_H
#define IG_AWS_STS_H

#include <stddef.h>

#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/error.h"

struct ig_aws_sts_client {
    struct ig_aws_client base;
};

int ig_aws_sts_client_init(struct ig_aws_sts_client *client, const struct ig_aws_client_options *options,
                           struct ig_aws_error *err);
void ig_aws_sts_client_cleanup(struct ig_aws_sts_client *client);

/* AssumeRole signed with caller's credentials. Returns 0 with out filled, or -1 with err set. */
int ig_aws_sts_assume_role(struct ig_aws_sts_client *client, struct ig_aws_credential_provider *caller,
                           const struct ig_aws_assume_role_options *options, struct ig_aws_credentials *out,
                           struct ig_aws_error *err);

/* AssumeRoleWithWebIdentity with the token text. Returns 0 or -1 with err set. */
int ig_aws_sts_assume_role_with_web_identity(struct ig_aws_sts_client *client, const char *role_arn,
                                             const char *session_name, const char *token, int duration_s,
                                             struct ig_aws_credentials *out, struct ig_aws_error *err);

/* Parse the Credentials element of an AssumeRole or AssumeRoleWithWebIdentity
 * reply. Returns 0, or -1 with err set to IG_AWS_ERR_INVALID_RESPONSE. */
int ig_aws_sts_parse_credentials(const char *xml, size_t length, struct ig_aws_credentials *out,
                                 struct ig_aws_error *err);

/* Parse an ISO 8601 UTC timestamp such as 2026-03-01T11:15:00Z or
 * 2026-03-01T11:15:00.123Z. Returns 0 or -1. */
int ig_aws_parse_iso8601(const char *text, time_t *out);

#endif
