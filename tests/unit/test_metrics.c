#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"

static void reset(void)
{
    ig_metrics_reset();
}

TestSuite(metrics, .init = reset, .fini = reset);

Test(metrics, counter_lookup_is_stable)
{
    struct ig_counter *a = ig_metrics_counter("ig_test_total", "Test.", "k=\"v\"");
    struct ig_counter *b = ig_metrics_counter("ig_test_total", "Test.", "k=\"v\"");
    cr_assert_not_null(a);
    cr_assert_eq(a, b);
    ig_counter_add(a, 2);
    ig_counter_add(b, 3);
    cr_assert_eq(ig_counter_value(a), 5);
}

Test(metrics, render_groups_series_by_name)
{
    ig_counter_add(ig_metrics_counter("ig_a_total", "A things.", "x=\"1\""), 1);
    ig_gauge_set(ig_metrics_gauge("ig_b", "B level.", ""), 2.5);
    ig_counter_add(ig_metrics_counter("ig_a_total", "A things.", "x=\"2\""), 7);
    char *text = ig_metrics_render(NULL);
    cr_assert_not_null(text);
    const char *expected = "# HELP ig_a_total A things.\n# TYPE ig_a_total counter\n"
                           "ig_a_total{x=\"1\"} 1\nig_a_total{x=\"2\"} 7\n"
                           "# HELP ig_b B level.\n# TYPE ig_b gauge\nig_b 2.5\n";
    cr_assert_str_eq(text, expected);
    free(text);
}

Test(metrics, histogram_buckets_are_cumulative)
{
    const double bounds[] = {0.001, 0.01};
    struct ig_histogram *h = ig_metrics_histogram("ig_h_seconds", "H.", "w=\"v\"", bounds, 2);
    ig_histogram_observe(h, 0.0005);
    ig_histogram_observe(h, 0.005);
    ig_histogram_observe(h, 5);
    char *text = ig_metrics_render(NULL);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, "ig_h_seconds_bucket{w=\"v\",le=\"0.001\"} 1\n"));
    cr_assert_not_null(strstr(text, "ig_h_seconds_bucket{w=\"v\",le=\"0.01\"} 2\n"));
    cr_assert_not_null(strstr(text, "ig_h_seconds_bucket{w=\"v\",le=\"+Inf\"} 3\n"));
    cr_assert_not_null(strstr(text, "ig_h_seconds_count{w=\"v\"} 3\n"));
    cr_assert_not_null(strstr(text, "ig_h_seconds_sum{w=\"v\"} 5.0055"));
    free(text);
}

Test(metrics, escape_label_value)
{
    char out[32];
    cr_assert(ig_metrics_escape_label("a\"b\\c\nd", out, sizeof out));
    cr_assert_str_eq(out, "a\\\"b\\\\c\\nd");
    cr_assert_not(ig_metrics_escape_label("abcdef", out, 4));
}
