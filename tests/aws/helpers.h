/* Shared helpers of the AWS integration tests: environment set by
 * tests/aws/run-integration.sh, HTTP probes of the stand-in servers, and
 * recording of the secrets that the log scan must not find. */
#ifndef IG_TESTS_AWS_HELPERS_H
#define IG_TESTS_AWS_HELPERS_H

#include <cjson/cJSON.h>

#include "aws/credentials.h"

/* Value of a variable the runner sets; fails the test when missing. */
const char *test_env(const char *name);

/* Send every client log line, at debug level, to IG_TEST_LOG_FILE. */
void test_logging_init(void);

/* Append a secret to IG_TEST_SECRETS_FILE for the log scan. */
void test_record_secret(const char *secret);
void test_record_credentials(const struct ig_aws_credentials *credentials);

/* GET url and parse the JSON reply; NULL on failure. */
cJSON *test_http_get_json(const char *url);

/* POST body to url; returns the HTTP status or -1. */
long test_http_post(const char *url, const char *body);

/* The fixture written by moto_setup.py. */
cJSON *test_load_fixture(void);

/* Member lookups that fail the test when missing. */
const char *test_json_string(const cJSON *object, const char *path);

#endif
