/* Thread-safety stress test, built with ThreadSanitizer: several threads
 * decide reviews (each in its own cJSON arena) and log through the
 * asynchronous writer while another renders the metrics. Criterion cannot
 * run under ThreadSanitizer here (its worker arena fails to map), so this is
 * a plain program that prints "tsan: N passed, N failed".
 *
 *   stress REVIEW.json */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission/review.h"
#include "common/json_arena.h"
#include "common/log.h"
#include "common/metrics.h"

#define THREADS 4
#define REVIEWS_PER_THREAD 400

static char *review;
static size_t review_length;
static atomic_int denied;
static atomic_bool done;

static void *decide_loop(void *unused)
{
    (void)unused;
    struct ig_admission_config config = {.mode = IG_MODE_ENFORCE};
    for (int i = 0; i < REVIEWS_PER_THREAD; i++) {
        struct ig_admission_outcome outcome;
        if (!ig_admission_handle(IG_WEBHOOK_VALIDATE, review, review_length, &config, &outcome))
            continue;
        if (outcome.decision == IG_DECISION_DENIED && strstr(outcome.body, "\"allowed\":false"))
            atomic_fetch_add(&denied, 1);
        ig_admission_outcome_free(&outcome);
    }
    return NULL;
}

static void *render_loop(void *unused)
{
    (void)unused;
    while (!atomic_load(&done)) {
        char *text = ig_metrics_render(NULL);
        free(text);
    }
    return NULL;
}

static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(f);
    if (text) {
        text[size] = '\0';
        *length = (size_t)size;
    }
    return text;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc != 2 || !(review = read_file(argv[1], &review_length))) {
        fprintf(stderr, "usage: stress REVIEW.json (a readable AdmissionReview file)\n");
        return 2;
    }

    FILE *sink = fopen("/dev/null", "w");
    ig_log_set_stream(sink);
    ig_json_arena_install();
    if (!ig_log_start_async()) {
        fprintf(stderr, "stress: the log writer thread did not start\n");
        return 1;
    }

    pthread_t workers[THREADS], renderer;
    pthread_create(&renderer, NULL, render_loop, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&workers[i], NULL, decide_loop, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(workers[i], NULL);
    atomic_store(&done, true);
    pthread_join(renderer, NULL);
    ig_log_stop_async();
    ig_log_set_stream(NULL);
    fclose(sink);

    int expected = THREADS * REVIEWS_PER_THREAD;
    if (atomic_load(&denied) == expected) {
        passed++;
        printf("ok   %d concurrent reviews all denied\n", expected);
    } else {
        failed++;
        printf("FAIL %d of %d concurrent reviews denied\n", atomic_load(&denied), expected);
    }

    char *metrics = ig_metrics_render(NULL);
    char line[128];
    snprintf(line, sizeof line,
             "immutable_guard_admission_requests_total{webhook=\"validate\",decision=\"denied\"} %d\n",
             expected);
    if (metrics && strstr(metrics, line)) {
        passed++;
        printf("ok   denied counter is %d\n", expected);
    } else {
        failed++;
        printf("FAIL metrics lack: %s", line);
    }
    free(metrics);
    free(review);
    printf("tsan: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
