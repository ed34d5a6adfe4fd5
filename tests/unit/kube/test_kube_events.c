#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/events.h"

static struct ig_kube_event_cache *cache_with(int burst, double refill, double window)
{
    struct ig_kube_event_limits limits = {.burst = burst, .refill_seconds = refill,
                                          .series_window = window};
    struct ig_kube_event_cache *cache = ig_kube_event_cache_new(&limits);
    cr_assert_not_null(cache);
    return cache;
}

/* Decide and, for CREATE, record the Event as created under name. */
static enum ig_kube_event_action step(struct ig_kube_event_cache *cache, const char *object,
                                      const char *event, double now, int *count)
{
    char *name = NULL;
    enum ig_kube_event_action action =
        ig_kube_event_cache_decide(cache, object, event, now, count, &name);
    if (action == IG_KUBE_EVENT_CREATE)
        ig_kube_event_cache_created(cache, event, "ev.1", now);
    if (action == IG_KUBE_EVENT_SERIES)
        cr_assert_str_eq(name, "ev.1");
    free(name);
    return action;
}

Test(kube_events, identical_events_form_series)
{
    struct ig_kube_event_cache *cache = cache_with(25, 300, 600);
    int count;
    cr_assert_eq(step(cache, "obj", "e", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "obj", "e", 1, &count), IG_KUBE_EVENT_SERIES);
    cr_assert_eq(count, 2);
    cr_assert_eq(step(cache, "obj", "e", 2, &count), IG_KUBE_EVENT_SERIES);
    cr_assert_eq(count, 3);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, different_events_stay_apart)
{
    struct ig_kube_event_cache *cache = cache_with(25, 300, 600);
    int count;
    cr_assert_eq(step(cache, "obj", "e1", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "obj", "e2", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "obj", "e1", 1, &count), IG_KUBE_EVENT_SERIES);
    cr_assert_eq(count, 2);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, series_window_ends)
{
    struct ig_kube_event_cache *cache = cache_with(25, 300, 600);
    int count;
    cr_assert_eq(step(cache, "obj", "e", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "obj", "e", 599, &count), IG_KUBE_EVENT_SERIES);
    cr_assert_eq(step(cache, "obj", "e", 600, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(count, 1);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, burst_then_one_per_refill)
{
    struct ig_kube_event_cache *cache = cache_with(25, 300, 600);
    int count;
    char event[16];
    for (int i = 0; i < 25; i++) {
        snprintf(event, sizeof event, "e%d", i);
        cr_assert_eq(step(cache, "obj", event, 0, &count), IG_KUBE_EVENT_CREATE, "event %d", i);
    }
    cr_assert_eq(step(cache, "obj", "late", 0, &count), IG_KUBE_EVENT_SUPPRESS);
    cr_assert_eq(step(cache, "obj", "late", 299, &count), IG_KUBE_EVENT_SUPPRESS);
    cr_assert_eq(step(cache, "obj", "late", 301, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "obj", "later", 302, &count), IG_KUBE_EVENT_SUPPRESS);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, buckets_per_object)
{
    struct ig_kube_event_cache *cache = cache_with(2, 300, 600);
    int count;
    cr_assert_eq(step(cache, "a", "x1", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "a", "x2", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "a", "x3", 0, &count), IG_KUBE_EVENT_SUPPRESS);
    cr_assert_eq(step(cache, "b", "y1", 0, &count), IG_KUBE_EVENT_CREATE);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, repeats_use_tokens)
{
    struct ig_kube_event_cache *cache = cache_with(3, 300, 600);
    int count;
    cr_assert_eq(step(cache, "a", "x", 0, &count), IG_KUBE_EVENT_CREATE);
    cr_assert_eq(step(cache, "a", "x", 1, &count), IG_KUBE_EVENT_SERIES);
    cr_assert_eq(step(cache, "a", "x", 2, &count), IG_KUBE_EVENT_SERIES);
    cr_assert_eq(step(cache, "a", "x", 3, &count), IG_KUBE_EVENT_SUPPRESS);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, forget_starts_new_event)
{
    struct ig_kube_event_cache *cache = cache_with(25, 300, 600);
    int count;
    cr_assert_eq(step(cache, "a", "x", 0, &count), IG_KUBE_EVENT_CREATE);
    ig_kube_event_cache_forget(cache, "x");
    cr_assert_eq(step(cache, "a", "x", 1, &count), IG_KUBE_EVENT_CREATE);
    ig_kube_event_cache_free(cache);
}

Test(kube_events, truncate_keeps_utf8_whole)
{
    /* "é" is two bytes: cutting at 2 would split the second one. */
    char *cut = ig_kube_truncate_utf8("aéb", 2);
    cr_assert_str_eq(cut, "a");
    free(cut);
    cut = ig_kube_truncate_utf8("aéb", 3);
    cr_assert_str_eq(cut, "aé");
    free(cut);
    cut = ig_kube_truncate_utf8("short", 128);
    cr_assert_str_eq(cut, "short");
    free(cut);
}
