#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/ssm.h"
#include "aws/sts.h"

Test(aws_ssm_parse, parameter_members)
{
    const char *json = "{\"Parameter\":{\"ARN\":\"arn:aws:ssm:eu-west-1:111122223333:parameter/prod/db\","
                       "\"DataType\":\"text\",\"LastModifiedDate\":1.740824112345E9,\"Name\":\"/prod/db\","
                       "\"Selector\":\":3\",\"Type\":\"SecureString\",\"Value\":\"s3cr3t\",\"Version\":3}}";
    cJSON *root = cJSON_Parse(json);
    struct ig_ssm_parameter p;
    cr_assert_eq(ig_ssm_parse_parameter(cJSON_GetObjectItem(root, "Parameter"), &p), 0);
    cr_assert_str_eq(p.name, "/prod/db");
    cr_assert_str_eq(p.type, "SecureString");
    cr_assert_str_eq(p.value, "s3cr3t");
    cr_assert_eq(p.version, 3);
    cr_assert_float_eq(p.last_modified, 1740824112.345, 1e-3);
    cr_assert_str_eq(p.arn, "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/db");
    cr_assert_str_eq(p.data_type, "text");
    cr_assert_str_eq(p.selector, ":3");
    ig_ssm_parameter_clear(&p);
    cJSON_Delete(root);
}

Test(aws_ssm_parse, parameter_without_value_rejected)
{
    cJSON *root = cJSON_Parse("{\"Name\":\"/a\",\"Type\":\"String\",\"Version\":1}");
    struct ig_ssm_parameter p;
    cr_assert_eq(ig_ssm_parse_parameter(root, &p), -1);
    cr_assert_null(p.name);
    cJSON_Delete(root);
}

Test(aws_ssm_parse, parameter_version_must_be_integer)
{
    cJSON *root = cJSON_Parse("{\"Name\":\"/a\",\"Type\":\"String\",\"Value\":\"v\",\"Version\":\"1\"}");
    struct ig_ssm_parameter p;
    cr_assert_eq(ig_ssm_parse_parameter(root, &p), -1);
    cJSON_Delete(root);
}

Test(aws_ssm_parse, reply_with_invalid_parameters)
{
    const char *json = "{\"Parameters\":[{\"Name\":\"/a\",\"Type\":\"String\",\"Value\":\"1\",\"Version\":1},"
                       "{\"Name\":\"/b\",\"Type\":\"StringList\",\"Value\":\"x,y\",\"Version\":2}],"
                       "\"InvalidParameters\":[\"/missing\",\"/gone:4\"]}";
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_ssm_parse_parameters_reply(json, strlen(json), &list, NULL, &err), 0);
    cr_assert_eq(list.count, 2);
    cr_assert_str_eq(list.items[1].value, "x,y");
    cr_assert_eq(list.invalid_count, 2);
    cr_assert_str_eq(list.invalid[1], "/gone:4");
    ig_ssm_parameter_list_clear(&list);
}

Test(aws_ssm_parse, reply_appends_and_reads_next_token)
{
    const char *page1 = "{\"Parameters\":[],\"NextToken\":\"t1\"}";
    const char *page2 = "{\"Parameters\":[{\"Name\":\"/p\",\"Type\":\"String\",\"Value\":\"v\",\"Version\":1}]}";
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    char *token = NULL;
    cr_assert_eq(ig_ssm_parse_parameters_reply(page1, strlen(page1), &list, &token, &err), 0);
    cr_assert_str_eq(token, "t1");
    cr_assert_eq(list.count, 0);
    free(token);
    cr_assert_eq(ig_ssm_parse_parameters_reply(page2, strlen(page2), &list, &token, &err), 0);
    cr_assert_null(token);
    cr_assert_eq(list.count, 1);
    ig_ssm_parameter_list_clear(&list);
}

Test(aws_ssm_parse, reply_not_json)
{
    struct ig_ssm_parameter_list list = {0};
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_ssm_parse_parameters_reply("<html>", 6, &list, NULL, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_INVALID_RESPONSE);
}

Test(aws_sts_parse, assume_role_credentials)
{
    const char *xml = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                      "<AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>"
                      "<SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken>"
                      "<Expiration>2026-03-01T11:15:00Z</Expiration></Credentials>"
                      "<AssumedRoleUser><Arn>arn:x</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_sts_parse_credentials(xml, strlen(xml), &creds, &err), 0);
    cr_assert_str_eq(creds.access_key_id, "ASIAEXAMPLE");
    cr_assert_str_eq(creds.secret_access_key, "role-secret");
    cr_assert_str_eq(creds.session_token, "role-token");
    cr_assert_eq(creds.expiration, 1772363700);
    ig_aws_credentials_clear(&creds);
}

Test(aws_sts_parse, missing_session_token_rejected)
{
    const char *xml = "<R><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
                      "<Expiration>2026-03-01T11:15:00Z</Expiration></Credentials></R>";
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_sts_parse_credentials(xml, strlen(xml), &creds, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_INVALID_RESPONSE);
    cr_assert_null(creds.access_key_id);
}

Test(aws_sts_parse, malformed_xml_rejected)
{
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_sts_parse_credentials("<R><Credentials>", 16, &creds, &err), -1);
}

Test(aws_sts_parse, external_entity_not_loaded)
{
    char path[] = "/tmp/ig-aws-entity-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "leaked-file-content", 19), 19);
    close(fd);
    char xml[1024];
    int n = snprintf(xml, sizeof xml,
                     "<!DOCTYPE R [<!ENTITY x SYSTEM \"file://%s\">]><R><Credentials><AccessKeyId>A&x;</AccessKeyId>"
                     "<SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken>"
                     "<Expiration>2026-03-01T11:15:00Z</Expiration></Credentials></R>",
                     path);
    cr_assert(n > 0 && (size_t)n < sizeof xml);
    struct ig_aws_credentials creds;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    int rc = ig_aws_sts_parse_credentials(xml, strlen(xml), &creds, &err);
    unlink(path);
    cr_assert(rc != 0 || strstr(creds.access_key_id, "leaked") == NULL, "external entity was expanded");
    ig_aws_credentials_clear(&creds);
}

Test(aws_sts_parse, iso8601_forms)
{
    time_t t;
    cr_assert_eq(ig_aws_parse_iso8601("2015-08-30T12:36:00Z", &t), 0);
    cr_assert_eq(t, 1440938160);
    cr_assert_eq(ig_aws_parse_iso8601("2015-08-30T12:36:00.123Z", &t), 0);
    cr_assert_eq(t, 1440938160);
    cr_assert_eq(ig_aws_parse_iso8601("2015-08-30T12:36:00+00:00", &t), 0);
    cr_assert_eq(ig_aws_parse_iso8601("2015-08-30 12:36:00", &t), -1);
    cr_assert_eq(ig_aws_parse_iso8601("2015-13-30T12:36:00Z", &t), -1);
}
