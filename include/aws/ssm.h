/* SSM Parameter Store over the JSON 1.1 protocol: GetParameter,
 * GetParameters (batched by 10) and GetParametersByPath (all pages).
 * Every call requests decryption (WithDecryption: true). */
#ifndef IG_AWS_SSM_H
#define IG_AWS_SSM_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/error.h"

/* GetParameters accepts at most this many names per call. */
#define IG_SSM_MAX_NAMES_PER_CALL 10

struct ig_ssm_parameter {
    char *name; /* without any :version or :label selector */
    char *type; /* String, StringList or SecureString */
    char *value; /* wiped on free */
    long long version;
    double last_modified; /* epoch seconds with fraction */
    char *arn;
    char *data_type; /* may be NULL when the reply omits it */
    char *selector;  /* ":3" or ":label" when the request carried one, else NULL */
};

struct ig_ssm_parameter_list {
    struct ig_ssm_parameter *items;
    size_t count;
    char **invalid; /* requested names that do not exist (GetParameters) */
    size_t invalid_count;
};

struct ig_ssm_client {
    struct ig_aws_client base;
    struct ig_aws_credential_provider *credentials; /* borrowed */
};

/* credentials is borrowed and must outlive the client. Returns 0 or -1 with err set. */
int ig_ssm_client_init(struct ig_ssm_client *client, const struct ig_aws_client_options *options,
                       struct ig_aws_credential_provider *credentials, struct ig_aws_error *err);
void ig_ssm_client_cleanup(struct ig_ssm_client *client);

/* GetParameter. Returns 0 with out filled, or -1 with err set (IG_AWS_ERR_NOT_FOUND
 * for an unknown name, version or label). */
int ig_ssm_get_parameter(struct ig_ssm_client *client, const char *name, struct ig_ssm_parameter *out,
                         struct ig_aws_error *err);

/* GetParameters for any number of names, 10 per call. Names that do not exist
 * land in out->invalid. Returns 0, or -1 with err set (out is emptied). */
int ig_ssm_get_parameters(struct ig_ssm_client *client, const char *const *names, size_t count,
                          struct ig_ssm_parameter_list *out, struct ig_aws_error *err);

/* GetParametersByPath, following NextToken until it is absent. Returns 0 or -1. */
int ig_ssm_get_parameters_by_path(struct ig_ssm_client *client, const char *path, bool recursive,
                                  struct ig_ssm_parameter_list *out, struct ig_aws_error *err);

/* Parse a Parameter object. Returns 0, or -1 when a required member is
 * missing or has the wrong JSON type. */
struct cJSON;
int ig_ssm_parse_parameter(const struct cJSON *object, struct ig_ssm_parameter *out);

/* Parse a GetParameters or GetParametersByPath reply and append to out. When
 * next_token is not NULL it receives a malloc'd NextToken or NULL. Returns 0 or -1. */
int ig_ssm_parse_parameters_reply(const char *json, size_t length, struct ig_ssm_parameter_list *out,
                                  char **next_token, struct ig_aws_error *err);

void ig_ssm_parameter_clear(struct ig_ssm_parameter *parameter);
void ig_ssm_parameter_list_clear(struct ig_ssm_parameter_list *list);

#endif
