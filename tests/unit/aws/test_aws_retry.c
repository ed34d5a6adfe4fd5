#include <criterion/criterion.h>
#include <stdlib.h>

#include "aws/retry.h"

static double fixed_random(void *context)
{
    return *(double *)context;
}

static void record_sleep(double seconds, void *context)
{
    (void)context;
    (void)seconds;
}

static void init_retry(struct ig_aws_retry *retry, double *random_value)
{
    struct ig_aws_retry_options options = {
        .max_attempts = 3,
        .random = fixed_random,
        .sleep = record_sleep,
        .context = random_value,
    };
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    cr_assert_eq(ig_aws_retry_init(retry, &options, &err), 0);
}

Test(aws_retry, defaults)
{
    struct ig_aws_retry retry;
    double r = 0.5;
    init_retry(&retry, &r);
    cr_assert_eq(retry.options.max_attempts, 3);
    cr_assert_float_eq(retry.options.base_s, 0.1, 1e-12);
    cr_assert_float_eq(retry.options.throttle_base_s, 1.0, 1e-12);
    cr_assert_float_eq(retry.options.cap_s, 20.0, 1e-12);
    cr_assert_eq(retry.quota_available, 500);
}

Test(aws_retry, full_jitter_doubles_per_retry)
{
    struct ig_aws_retry retry;
    double r = 0.5;
    init_retry(&retry, &r);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 1, false, 0.5), 0.05, 1e-12);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 2, false, 0.5), 0.1, 1e-12);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 3, false, 0.5), 0.2, 1e-12);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 1, true, 0.5), 0.5, 1e-12);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 2, true, 0.5), 1.0, 1e-12);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 1, false, 0.0), 0.0, 1e-12);
}

Test(aws_retry, delay_capped_at_20_seconds)
{
    struct ig_aws_retry retry;
    double r = 0.5;
    init_retry(&retry, &r);
    cr_assert_leq(ig_aws_retry_delay(&retry, 6, true, 0.999999), 20.0);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 40, true, 0.5), 10.0, 1e-12);
    cr_assert_float_eq(ig_aws_retry_delay(&retry, 1000, false, 0.5), 10.0, 1e-12);
}

Test(aws_retry, backoff_uses_injected_random)
{
    struct ig_aws_retry retry;
    double r = 0.25;
    init_retry(&retry, &r);
    cr_assert_float_eq(ig_aws_retry_backoff(&retry, 2, true), 0.5, 1e-12);
}

Test(aws_retry, retryable_classes)
{
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    enum ig_aws_error_kind retryable[] = {IG_AWS_ERR_THROTTLED, IG_AWS_ERR_SERVER, IG_AWS_ERR_TRANSPORT,
                                          IG_AWS_ERR_TIMEOUT};
    enum ig_aws_error_kind final[] = {IG_AWS_ERR_NOT_FOUND, IG_AWS_ERR_ACCESS_DENIED, IG_AWS_ERR_CREDENTIALS,
                                      IG_AWS_ERR_SIGNATURE, IG_AWS_ERR_INVALID_REQUEST, IG_AWS_ERR_CONFIG};
    for (size_t i = 0; i < sizeof retryable / sizeof retryable[0]; i++) {
        err.kind = retryable[i];
        cr_expect(ig_aws_retry_is_retryable(&err), "%s should be retried", ig_aws_error_kind_name(err.kind));
    }
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
        err.kind = final[i];
        cr_expect_not(ig_aws_retry_is_retryable(&err), "%s should not be retried", ig_aws_error_kind_name(err.kind));
    }
}

Test(aws_retry, quota_costs_and_refunds)
{
    struct ig_aws_retry retry;
    double r = 0.5;
    init_retry(&retry, &r);
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    err.kind = IG_AWS_ERR_THROTTLED;
    cr_assert_eq(ig_aws_retry_quota_acquire(&retry, &err), 5);
    cr_assert_eq(retry.quota_available, 495);
    err.kind = IG_AWS_ERR_TIMEOUT;
    cr_assert_eq(ig_aws_retry_quota_acquire(&retry, &err), 10);
    cr_assert_eq(retry.quota_available, 485);
    ig_aws_retry_quota_release(&retry, 10);
    cr_assert_eq(retry.quota_available, 495);
    ig_aws_retry_quota_release(&retry, 0);
    cr_assert_eq(retry.quota_available, 496);
    for (int i = 0; i < 10; i++)
        ig_aws_retry_quota_release(&retry, 0);
    cr_assert_eq(retry.quota_available, 500);
}

Test(aws_retry, quota_exhausted_refuses)
{
    struct ig_aws_retry retry;
    double r = 0.5;
    init_retry(&retry, &r);
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    err.kind = IG_AWS_ERR_SERVER;
    for (int i = 0; i < 100; i++)
        cr_assert_eq(ig_aws_retry_quota_acquire(&retry, &err), 5);
    cr_assert_eq(retry.quota_available, 0);
    cr_assert_eq(ig_aws_retry_quota_acquire(&retry, &err), -1);
}

Test(aws_retry, max_attempts_from_environment)
{
    struct ig_aws_retry retry;
    struct ig_aws_error err;
    ig_aws_error_clear(&err);
    setenv("AWS_MAX_ATTEMPTS", "5", 1);
    cr_assert_eq(ig_aws_retry_init(&retry, NULL, &err), 0);
    cr_assert_eq(retry.options.max_attempts, 5);
    setenv("AWS_MAX_ATTEMPTS", "zero", 1);
    cr_assert_eq(ig_aws_retry_init(&retry, NULL, &err), -1);
    cr_assert_eq(err.kind, IG_AWS_ERR_CONFIG);
    unsetenv("AWS_MAX_ATTEMPTS");
}
