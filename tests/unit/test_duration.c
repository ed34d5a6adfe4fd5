#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "policy/duration.h"

/* Criterion may run each parameter in a fresh process, so a case keeps its
 * text inline rather than a pointer into this process's memory. */
struct duration_case {
    char text[40];
    bool valid;
    int64_t nanoseconds;
};

#define SECOND 1000000000LL

/* Expected values are what Go's time.ParseDuration returns for the same text. */
static const struct duration_case cases[] = {
    {"0", true, 0},
    {"+0", true, 0},
    {"-0", true, 0},
    {"0s", true, 0},
    {"0m", true, 0},
    {"0h0m0s", true, 0},
    {"1h", true, 3600 * SECOND},
    {"1h0m0s", true, 3600 * SECOND},
    {"768h0m0s", true, 768 * 3600 * SECOND},
    {"1h30m", true, 5400 * SECOND},
    {"90s", true, 90 * SECOND},
    {"15s", true, 15 * SECOND},
    {"0.5m", true, 30 * SECOND},
    {"0.03m", true, 1800000000LL},
    {".5s", true, 500000000LL},
    {"5.s", true, 5 * SECOND},
    {"1.5h", true, 5400 * SECOND},
    {"100ms", true, 100000000LL},
    {"10us", true, 10000LL},
    {"10\xc2\xb5s", true, 10000LL},
    {"10\xce\xbcs", true, 10000LL},
    {"3ns", true, 3LL},
    {"-1m", true, -60 * SECOND},
    {"1h-1m", false, 0},
    {"2562047h47m16.854775807s", true, INT64_MAX},
    {"2562047h47m16.854775808s", false, 0},
    {"-2562047h47m16.854775808s", true, INT64_MIN},
    {"9223372036854775808ns", false, 0},
    {"", false, 0},
    {"-", false, 0},
    {"s", false, 0},
    {".", false, 0},
    {".s", false, 0},
    {"1", false, 0},
    {"00", false, 0},
    {"1d", false, 0},
    {"1 h", false, 0},
    {"1hh", false, 0},
    {"1H", false, 0},
    {"{{ .Values.refreshInterval }}", false, 0},
    {"${REFRESH}", false, 0},
};

ParameterizedTestParameters(duration, go_syntax)
{
    return cr_make_param_array(struct duration_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(const struct duration_case *c, duration, go_syntax)
{
    int64_t value = 12345;
    bool valid = ig_duration_parse(c->text, strlen(c->text), &value);
    cr_assert_eq(valid, c->valid, "\"%s\": valid=%d, expected %d", c->text, valid, c->valid);
    if (c->valid)
        cr_assert_eq(value, c->nanoseconds, "\"%s\": %lld ns, expected %lld ns", c->text,
                     (long long)value, (long long)c->nanoseconds);
}

Test(duration, length_bounds_the_input)
{
    int64_t value;
    cr_assert(ig_duration_parse("1mX", 2, &value));
    cr_assert_eq(value, 60 * SECOND);
}
