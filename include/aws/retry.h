/* Retry policy in the style of the AWS SDKs' "standard" mode.
 *
 * At most max_attempts attempts in total (default 3, AWS_MAX_ATTEMPTS).
 * Only throttling errors, HTTP 5xx, transport errors and timeouts are retried.
 * Delay before retry n (n = 1 for the second attempt) is full jitter:
 * random[0,1) * min(base * 2^(n-1), cap), with base 1 s for throttling and
 * 100 ms otherwise, cap 20 s. A per-client token bucket of 500 tokens stops
 * retries when a service keeps failing. A retry costs 5 tokens, or 10 after a
 * timeout or transport error. A first-try success refunds 1 token, and a
 * success after retries refunds the cost of its last retry. */
#ifndef IG_AWS_RETRY_H
#define IG_AWS_RETRY_H

#include <stdbool.h>

#include "aws/error.h"

#define IG_AWS_RETRY_DEFAULT_MAX_ATTEMPTS 3
#define IG_AWS_RETRY_DEFAULT_BASE_S 0.1
#define IG_AWS_RETRY_DEFAULT_THROTTLE_BASE_S 1.0
#define IG_AWS_RETRY_DEFAULT_CAP_S 20.0
#define IG_AWS_RETRY_QUOTA_CAPACITY 500
#define IG_AWS_RETRY_COST 5
#define IG_AWS_RETRY_TIMEOUT_COST 10
#define IG_AWS_RETRY_SUCCESS_REFUND 1

/* Zero fields take the defaults. random and sleep may be replaced in tests. */
struct ig_aws_retry_options {
    int max_attempts;     /* 0: AWS_MAX_ATTEMPTS, else 3 */
    double base_s;        /* 0: 0.1 s, for server and transport errors */
    double throttle_base_s; /* 0: 1 s, for throttling errors */
    double cap_s;         /* 0: 20 s */
    int quota_capacity;   /* 0: 500; negative: no budget */
    double (*random)(void *context); /* uniform in [0,1); NULL: OpenSSL RAND_bytes */
    void (*sleep)(double seconds, void *context); /* NULL: nanosleep */
    void *context;
};

struct ig_aws_retry {
    struct ig_aws_retry_options options; /* with defaults filled in */
    int quota_available;
};

/* Fill defaults (reading AWS_MAX_ATTEMPTS when max_attempts is 0). Returns 0,
 * or -1 with err set when AWS_MAX_ATTEMPTS is not an integer from 1 to 20. */
int ig_aws_retry_init(struct ig_aws_retry *retry, const struct ig_aws_retry_options *options,
                      struct ig_aws_error *err);

/* True when the error class may be retried: throttling, 5xx, transport, timeout. */
bool ig_aws_retry_is_retryable(const struct ig_aws_error *err);

/* Delay in seconds before retry number retry_number (1 = the second attempt),
 * given a uniform random value in [0,1). */
double ig_aws_retry_delay(const struct ig_aws_retry *retry, int retry_number, bool throttled,
                          double random_value);

/* Take the cost of one retry from the budget. Returns the cost taken, or -1
 * when the budget cannot pay (do not retry then). */
int ig_aws_retry_quota_acquire(struct ig_aws_retry *retry, const struct ig_aws_error *err);

/* Refund after a successful call: last_cost is the cost of its last retry, or
 * 0 when it succeeded on the first attempt. */
void ig_aws_retry_quota_release(struct ig_aws_retry *retry, int last_cost);

/* Draw the random value and sleep for the delay of retry retry_number.
 * Returns the delay slept, in seconds. */
double ig_aws_retry_backoff(struct ig_aws_retry *retry, int retry_number, bool throttled);

#endif
