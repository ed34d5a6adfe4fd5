#include <criterion/criterion.h>
#include <string.h>

#include "aws/error.h"

Test(aws_error, code_strips_namespace_and_suffix)
{
    char code[64];
    ig_aws_error_normalize_code("com.amazonaws.ssm#ParameterNotFound", code, sizeof code);
    cr_assert_str_eq(code, "ParameterNotFound");
    ig_aws_error_normalize_code("ThrottlingException:http://internal.amazon.com/", code, sizeof code);
    cr_assert_str_eq(code, "ThrottlingException");
    ig_aws_error_normalize_code("aws.protocoltests#Foo:bar#baz", code, sizeof code);
    cr_assert_str_eq(code, "Foo");
}

Test(aws_error, classify_typed_kinds)
{
    struct ig_aws_error err;
    static const struct {
        const char *code;
        long status;
        enum ig_aws_error_kind kind;
    } cases[] = {
        {"ParameterNotFound", 400, IG_AWS_ERR_NOT_FOUND},
        {"ParameterVersionNotFound", 400, IG_AWS_ERR_NOT_FOUND},
        {"AccessDeniedException", 400, IG_AWS_ERR_ACCESS_DENIED},
        {"AccessDenied", 403, IG_AWS_ERR_ACCESS_DENIED},
        {"ThrottlingException", 400, IG_AWS_ERR_THROTTLED},
        {"Throttling", 400, IG_AWS_ERR_THROTTLED},
        {"Anything", 429, IG_AWS_ERR_THROTTLED},
        {"ExpiredTokenException", 400, IG_AWS_ERR_CREDENTIALS},
        {"UnrecognizedClientException", 400, IG_AWS_ERR_CREDENTIALS},
        {"InvalidClientTokenId", 403, IG_AWS_ERR_CREDENTIALS},
        {"InvalidSignatureException", 400, IG_AWS_ERR_SIGNATURE},
        {"SignatureDoesNotMatch", 403, IG_AWS_ERR_SIGNATURE},
        {"InternalServerError", 500, IG_AWS_ERR_SERVER},
        {"HTTP502", 502, IG_AWS_ERR_SERVER},
        {"IDPCommunicationError", 400, IG_AWS_ERR_SERVER},
        {"ValidationException", 400, IG_AWS_ERR_INVALID_REQUEST},
        {"InvalidKeyId", 400, IG_AWS_ERR_INVALID_REQUEST},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ig_aws_error_clear(&err);
        ig_aws_error_classify(&err, cases[i].code, cases[i].status);
        cr_expect_eq(err.kind, cases[i].kind, "%s (HTTP %ld) classified as %s", cases[i].code, cases[i].status,
                     ig_aws_error_kind_name(err.kind));
    }
}

Test(aws_error, expired_token_flag)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    ig_aws_error_classify(&err, "ExpiredTokenException", 400);
    cr_assert(err.expired_token);
    ig_aws_error_classify(&err, "UnrecognizedClientException", 400);
    cr_assert_not(err.expired_token);
}

Test(aws_error, json_body_with_lower_case_message)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    const char *body = "{\"__type\":\"com.amazonaws.ssm#ParameterNotFound\",\"message\":\"not here\"}";
    ig_aws_error_parse_body(&err, 400, NULL, body, strlen(body));
    cr_assert_eq(err.kind, IG_AWS_ERR_NOT_FOUND);
    cr_assert_str_eq(err.code, "ParameterNotFound");
    cr_assert_str_eq(err.message, "not here");
    cr_assert_eq(err.http_status, 400);
}

Test(aws_error, json_body_with_upper_case_message)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    const char *body = "{\"__type\":\"ThrottlingException\",\"Message\":\"Rate exceeded\"}";
    ig_aws_error_parse_body(&err, 400, NULL, body, strlen(body));
    cr_assert_eq(err.kind, IG_AWS_ERR_THROTTLED);
    cr_assert_str_eq(err.message, "Rate exceeded");
}

Test(aws_error, header_type_wins_over_body)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    const char *body = "{\"__type\":\"ValidationException\",\"message\":\"x\"}";
    ig_aws_error_parse_body(&err, 400, "ThrottlingException:http://x", body, strlen(body));
    cr_assert_str_eq(err.code, "ThrottlingException");
}

Test(aws_error, xml_query_error_body)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    const char *body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                       "<Code>AccessDenied</Code><Message>not allowed</Message></Error>"
                       "<RequestId>req-1</RequestId></ErrorResponse>";
    ig_aws_error_parse_body(&err, 403, NULL, body, strlen(body));
    cr_assert_eq(err.kind, IG_AWS_ERR_ACCESS_DENIED);
    cr_assert_str_eq(err.code, "AccessDenied");
    cr_assert_str_eq(err.message, "not allowed");
    cr_assert_str_eq(err.request_id, "req-1");
}

Test(aws_error, unparsable_body_uses_status)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    ig_aws_error_parse_body(&err, 503, NULL, "<html>busy", 10);
    cr_assert_eq(err.kind, IG_AWS_ERR_SERVER);
    cr_assert_str_eq(err.code, "HTTP503");
}

Test(aws_error, message_cut_before_canonical_string)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    ig_aws_error_set_message(&err, "Signature mismatch. The Canonical String for this request should have been\n"
                                   "'POST\n/\n\nx-amz-security-token:SECRET'");
    cr_assert_str_eq(err.message, "Signature mismatch.");
    cr_assert_null(strstr(err.message, "SECRET"));
}
