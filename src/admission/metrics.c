#include <pthread.h>
#include <stdio.h>

#include "admission/internal.h"
#include "common/metrics.h"

#define WEBHOOK_COUNT 2
#define DECISION_COUNT 5

static struct ig_counter *requests[WEBHOOK_COUNT][DECISION_COUNT];
static struct ig_histogram *durations[WEBHOOK_COUNT];
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

/* Seconds; the decision itself takes microseconds, the top buckets catch stalls. */
static const double duration_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                         0.005,   0.01,   0.025,   0.1,    0.5,   1};

static void register_metrics(void)
{
    char labels[96];
    for (int w = 0; w < WEBHOOK_COUNT; w++) {
        const char *webhook = ig_webhook_name((enum ig_webhook)w);
        for (int d = 0; d < DECISION_COUNT; d++) {
            snprintf(labels, sizeof labels, "webhook=\"%s\",decision=\"%s\"", webhook,
                     ig_decision_name((enum ig_decision)d));
            requests[w][d] = ig_metrics_counter("immutable_guard_admission_requests_total",
                                                "Admission reviews decided, by webhook and decision.",
                                                labels);
        }
        snprintf(labels, sizeof labels, "webhook=\"%s\"", webhook);
        durations[w] = ig_metrics_histogram(
            "immutable_guard_admission_duration_seconds",
            "Time from receiving a complete review body to having the reply, in seconds.", labels,
            duration_bounds, sizeof duration_bounds / sizeof duration_bounds[0]);
    }
}

void ig_admission_register_metrics(void)
{
    pthread_once(&metrics_once, register_metrics);
}

void ig_admission_count(enum ig_webhook webhook, enum ig_decision decision, double duration_us)
{
    pthread_once(&metrics_once, register_metrics);
    ig_counter_add(requests[webhook][decision], 1);
    ig_histogram_observe(durations[webhook], duration_us / 1e6);
}
