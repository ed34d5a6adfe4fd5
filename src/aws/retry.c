#include "aws/retry.h"

#include <errno.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double default_random(void *context)
{
    (void)context;
    uint64_t bits = 0;
    if (RAND_bytes((unsigned char *)&bits, sizeof bits) != 1)
        return 0.5;
    /* 53 random bits give a uniform double in [0,1). */
    return (double)(bits >> 11) / 9007199254740992.0;
}

static void default_sleep(double seconds, void *context)
{
    (void)context;
    if (seconds <= 0)
        return;
    struct timespec remaining = {.tv_sec = (time_t)seconds,
                                 .tv_nsec = (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&remaining, &remaining) != 0 && errno == EINTR) {
    }
}

int ig_aws_retry_init(struct ig_aws_retry *retry, const struct ig_aws_retry_options *options,
                      struct ig_aws_error *err)
{
    memset(retry, 0, sizeof *retry);
    if (options)
        retry->options = *options;
    struct ig_aws_retry_options *o = &retry->options;
    if (o->max_attempts <= 0) {
        o->max_attempts = IG_AWS_RETRY_DEFAULT_MAX_ATTEMPTS;
        const char *env = getenv("AWS_MAX_ATTEMPTS");
        if (env && *env) {
            char *end = NULL;
            errno = 0;
            long value = strtol(env, &end, 10);
            if (errno != 0 || *end != '\0' || value < 1 || value > 20) {
                ig_aws_error_set(err, IG_AWS_ERR_CONFIG,
                                 "AWS_MAX_ATTEMPTS='%s' is invalid; set an integer from 1 to 20", env);
                return -1;
            }
            o->max_attempts = (int)value;
        }
    }
    if (o->base_s <= 0)
        o->base_s = IG_AWS_RETRY_DEFAULT_BASE_S;
    if (o->throttle_base_s <= 0)
        o->throttle_base_s = IG_AWS_RETRY_DEFAULT_THROTTLE_BASE_S;
    if (o->cap_s <= 0)
        o->cap_s = IG_AWS_RETRY_DEFAULT_CAP_S;
    if (o->quota_capacity == 0)
        o->quota_capacity = IG_AWS_RETRY_QUOTA_CAPACITY;
    if (!o->random)
        o->random = default_random;
    if (!o->sleep)
        o->sleep = default_sleep;
    retry->quota_available = o->quota_capacity;
    return 0;
}

bool ig_aws_retry_is_retryable(const struct ig_aws_error *err)
{
    switch (err->kind) {
    case IG_AWS_ERR_THROTTLED:
    case IG_AWS_ERR_SERVER:
    case IG_AWS_ERR_TRANSPORT:
    case IG_AWS_ERR_TIMEOUT:
        return true;
    default:
        return false;
    }
}

double ig_aws_retry_delay(const struct ig_aws_retry *retry, int retry_number, bool throttled, double random_value)
{
    const struct ig_aws_retry_options *o = &retry->options;
    double base = throttled ? o->throttle_base_s : o->base_s;
    if (retry_number < 1)
        retry_number = 1;
    double ceiling = base * ldexp(1.0, retry_number > 60 ? 60 : retry_number - 1);
    if (ceiling > o->cap_s)
        ceiling = o->cap_s;
    if (random_value < 0)
        random_value = 0;
    if (random_value >= 1)
        random_value = nextafter(1.0, 0.0);
    return random_value * ceiling;
}

int ig_aws_retry_quota_acquire(struct ig_aws_retry *retry, const struct ig_aws_error *err)
{
    if (retry->options.quota_capacity < 0)
        return 0;
    int cost = (err->kind == IG_AWS_ERR_TIMEOUT || err->kind == IG_AWS_ERR_TRANSPORT) ? IG_AWS_RETRY_TIMEOUT_COST
                                                                                        : IG_AWS_RETRY_COST;
    if (retry->quota_available < cost)
        return -1;
    retry->quota_available -= cost;
    return cost;
}

void ig_aws_retry_quota_release(struct ig_aws_retry *retry, int last_cost)
{
    if (retry->options.quota_capacity < 0)
        return;
    retry->quota_available += last_cost > 0 ? last_cost : IG_AWS_RETRY_SUCCESS_REFUND;
    if (retry->quota_available > retry->options.quota_capacity)
        retry->quota_available = retry->options.quota_capacity;
}

double ig_aws_retry_backoff(struct ig_aws_retry *retry, int retry_number, bool throttled)
{
    double delay = ig_aws_retry_delay(retry, retry_number, throttled, retry->options.random(retry->options.context));
    retry->options.sleep(delay, retry->options.context);
    return delay;
}
