/* Benchmark driver: decide one AdmissionReview N times through
 * ig_admission_handle, as the server does for POST /validate (enforce mode,
 * decision logged at info level through the asynchronous writer, to
 * /dev/null). Run under callgrind by
 * tests/bench/callgrind.sh to count instructions per review.
 *
 *   callgrind-driver REVIEW_FILE N */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission/review.h"
#include "common/log.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: callgrind-driver REVIEW_FILE N\n");
        return 2;
    }
    char *end = NULL;
    errno = 0;
    long iterations = strtol(argv[2], &end, 10);
    if (errno || !end || *end || iterations < 1) {
        fprintf(stderr, "callgrind-driver: invalid iteration count \"%s\"\n", argv[2]);
        return 2;
    }

    FILE *file = fopen(argv[1], "rb");
    if (!file) {
        fprintf(stderr, "callgrind-driver: failed to open %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    static char body[8 << 20];
    size_t length = fread(body, 1, sizeof body, file);
    fclose(file);

    FILE *sink = fopen("/dev/null", "w");
    if (sink)
        ig_log_set_stream(sink);
    if (!ig_log_start_async()) {
        fprintf(stderr, "callgrind-driver: failed to start the log writer\n");
        return 1;
    }
    struct ig_admission_config config = {.mode = IG_MODE_ENFORCE};
    int status = 0;
    struct timespec started;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &started);
    for (long i = 0; i < iterations; i++) {
        struct ig_admission_outcome outcome;
        if (!ig_admission_handle(IG_WEBHOOK_VALIDATE, body, length, &config, &outcome)) {
            fprintf(stderr, "callgrind-driver: out of memory\n");
            return 1;
        }
        status = outcome.http_status;
        ig_admission_outcome_free(&outcome);
    }
    struct timespec ended;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ended);
    double cpu_ns = (double)(ended.tv_sec - started.tv_sec) * 1e9 +
                    (double)(ended.tv_nsec - started.tv_nsec);
    ig_log_stop_async();
    if (sink)
        fclose(sink);
    /* The CPU time of this thread only: the log writer's thread is not in it. */
    printf("http_status=%d iterations=%ld thread_cpu_ns_per_review=%.0f\n", status, iterations,
           iterations > 0 ? cpu_ns / (double)iterations : 0.0);
    return status == 200 ? 0 : 1;
}
