#include <criterion/criterion.h>
#include <string.h>

#include "kube/time.h"

Test(kube_microtime, formats_six_digits)
{
    struct timespec ts = {.tv_sec = 1735787045, .tv_nsec = 5000};
    char buf[IG_KUBE_MICROTIME_SIZE];
    cr_assert(ig_kube_format_microtime(&ts, buf, sizeof buf));
    cr_assert_str_eq(buf, "2025-01-02T03:04:05.000005Z");
}

Test(kube_microtime, truncates_nanoseconds)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 999999999};
    char buf[IG_KUBE_MICROTIME_SIZE];
    cr_assert(ig_kube_format_microtime(&ts, buf, sizeof buf));
    cr_assert_str_eq(buf, "1970-01-01T00:00:00.999999Z");
}

Test(kube_microtime, rejects_small_buffer)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
    char buf[20];
    cr_assert_not(ig_kube_format_microtime(&ts, buf, sizeof buf));
}

Test(kube_microtime, parses_round_trip)
{
    struct timespec ts;
    cr_assert(ig_kube_parse_microtime("2025-01-02T03:04:05.123456Z", &ts));
    cr_assert_eq(ts.tv_sec, 1735787045);
    cr_assert_eq(ts.tv_nsec, 123456000);
}

Test(kube_microtime, parses_offset)
{
    struct timespec ts;
    cr_assert(ig_kube_parse_microtime("2025-01-02T05:04:05.000000+02:00", &ts));
    cr_assert_eq(ts.tv_sec, 1735787045);
}

Test(kube_microtime, rejects_other_precisions)
{
    struct timespec ts;
    cr_assert_not(ig_kube_parse_microtime("2025-01-02T03:04:05Z", &ts));
    cr_assert_not(ig_kube_parse_microtime("2025-01-02T03:04:05.123Z", &ts));
    cr_assert_not(ig_kube_parse_microtime("2025-01-02T03:04:05.1234567Z", &ts));
    cr_assert_not(ig_kube_parse_microtime("2025-01-02 03:04:05.123456Z", &ts));
    cr_assert_not(ig_kube_parse_microtime("2025-13-02T03:04:05.123456Z", &ts));
}
