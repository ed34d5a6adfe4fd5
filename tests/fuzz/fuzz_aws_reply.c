/* libFuzzer target: the parsers of AWS replies. Byte 0 picks the parser:
 * the SSM GetParameters/GetParametersByPath JSON reply, the STS credentials
 * XML, the error body parser (JSON 1.1 or XML), or the ISO 8601 timestamp;
 * the rest is the reply body. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/credentials.h"
#include "aws/error.h"
#include "aws/ssm.h"
#include "aws/sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *description)
{
    if (!condition) {
        fprintf(stderr, "aws reply fuzz check failed: %s\n", description);
        abort();
    }
}

static void expect_terminated(const char *field, size_t size, const char *description)
{
    expect(memchr(field, '\0', size) != NULL, description);
}

static void fuzz_ssm(const char *body, size_t length)
{
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err = {0};
    char *next_token = NULL;
    int status = ig_ssm_parse_parameters_reply(body, length, &list, &next_token, &err);
    expect(status == 0 || status == -1, "SSM parse returns 0 or -1");
    for (size_t i = 0; i < list.count; i++) {
        expect(list.items[i].name != NULL, "every parameter has a name");
        expect(list.items[i].value != NULL, "every parameter has a value");
    }
    expect_terminated(err.message, sizeof err.message, "error message is terminated");
    free(next_token);
    ig_ssm_parameter_list_clear(&list);
}

static void fuzz_sts(const char *body, size_t length)
{
    struct ig_aws_credentials credentials = {0};
    struct ig_aws_error err = {0};
    int status = ig_aws_sts_parse_credentials(body, length, &credentials, &err);
    expect(status == 0 || status == -1, "STS parse returns 0 or -1");
    if (status == 0) {
        expect(credentials.access_key_id != NULL, "credentials have an access key id");
        expect(credentials.secret_access_key != NULL, "credentials have a secret key");
    }
    ig_aws_credentials_clear(&credentials);
}

static void fuzz_error(const char *body, size_t length, bool with_header)
{
    struct ig_aws_error err = {0};
    ig_aws_error_parse_body(&err, 400, with_header ? "ThrottlingException:http://internal" : NULL,
                            body, length);
    expect_terminated(err.code, sizeof err.code, "error code is terminated");
    expect_terminated(err.message, sizeof err.message, "error message is terminated");
    expect_terminated(err.request_id, sizeof err.request_id, "request id is terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* A NUL-terminated copy of exactly the body, so ASan sees overreads. */
    size_t length = size - 1;
    char *body = malloc(length + 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, length);
    body[length] = '\0';

    switch (data[0] % 5) {
    case 0:
        fuzz_ssm(body, length);
        break;
    case 1:
        fuzz_sts(body, length);
        break;
    case 2:
        fuzz_error(body, length, false);
        break;
    case 3:
        fuzz_error(body, length, true);
        break;
    default: {
        time_t when = 0;
        int status = ig_aws_parse_iso8601(body, &when);
        expect(status == 0 || status == -1, "ISO 8601 parse returns 0 or -1");
        break;
    }
    }
    free(body);
    return 0;
}
