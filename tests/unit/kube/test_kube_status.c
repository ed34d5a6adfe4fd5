#include <criterion/criterion.h>
#include <string.h>

#include "kube/status.h"

static const char invalid_body[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"Secret \\\"a\\\" is invalid: [immutable: Forbidden, data: Forbidden]\","
    "\"reason\":\"Invalid\",\"details\":{\"name\":\"a\",\"kind\":\"Secret\",\"causes\":["
    "{\"reason\":\"FieldValueForbidden\",\"message\":\"Forbidden\",\"field\":\"immutable\"},"
    "{\"reason\":\"FieldValueForbidden\",\"message\":\"Forbidden\",\"field\":\"data\"}]},"
    "\"code\":422}";

Test(kube_status, parses_invalid_causes)
{
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(invalid_body, strlen(invalid_body), 422, &st));
    cr_assert_eq(st.code, 422);
    cr_assert_eq(st.reason, IG_KUBE_REASON_INVALID);
    cr_assert_str_eq(st.kind, "Secret");
    cr_assert_str_eq(st.name, "a");
    cr_assert_eq(st.cause_count, 2);
    cr_assert(ig_kube_status_has_cause(&st, "data", "FieldValueForbidden"));
    cr_assert(ig_kube_status_has_cause(&st, "immutable", NULL));
    cr_assert_not(ig_kube_status_has_cause(&st, "type", NULL));
    ig_kube_status_clear(&st);
}

Test(kube_status, reason_wins_over_message)
{
    /* The message talks about a conflict; the reason is AlreadyExists. */
    const char *body = "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\","
                       "\"message\":\"Conflict: object has been modified\",\"code\":409}";
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(body, strlen(body), 409, &st));
    cr_assert_eq(st.reason, IG_KUBE_REASON_ALREADY_EXISTS);
    ig_kube_status_clear(&st);
}

Test(kube_status, missing_reason_uses_code)
{
    const char *body = "{\"kind\":\"Status\",\"code\":410,\"message\":\"too old\"}";
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(body, strlen(body), 200, &st));
    cr_assert_eq(st.code, 410);
    cr_assert_eq(st.reason, IG_KUBE_REASON_GONE);
    cr_assert_str_eq(st.message, "too old");
    ig_kube_status_clear(&st);
}

Test(kube_status, non_status_body_uses_http_code)
{
    const char *body = "<html>bad gateway</html>";
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(body, strlen(body), 503, &st));
    cr_assert_eq(st.code, 503);
    cr_assert_eq(st.reason, IG_KUBE_REASON_SERVICE_UNAVAILABLE);
    cr_assert_null(st.message);
    ig_kube_status_clear(&st);
}

Test(kube_status, unknown_reason_text_kept)
{
    const char *body = "{\"kind\":\"Status\",\"reason\":\"SomethingNew\",\"code\":418}";
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(body, strlen(body), 418, &st));
    cr_assert_eq(st.reason, IG_KUBE_REASON_UNKNOWN);
    cr_assert_str_eq(st.reason_text, "SomethingNew");
    ig_kube_status_clear(&st);
}

Test(kube_status, retry_after_seconds)
{
    const char *body = "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\",\"code\":429,"
                       "\"details\":{\"retryAfterSeconds\":3}}";
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(body, strlen(body), 429, &st));
    cr_assert_eq(st.reason, IG_KUBE_REASON_TOO_MANY_REQUESTS);
    cr_assert_float_eq(st.retry_after, 3.0, 1e-9);
    ig_kube_status_clear(&st);
}

Test(kube_status, expired_reason)
{
    const char *body = "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410}";
    struct ig_kube_status st = {0};
    cr_assert(ig_kube_status_parse(body, strlen(body), 410, &st));
    cr_assert_eq(st.reason, IG_KUBE_REASON_EXPIRED);
    cr_assert_str_eq(ig_kube_reason_name(st.reason), "Expired");
    ig_kube_status_clear(&st);
}
