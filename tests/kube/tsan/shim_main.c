/* Runner for the Criterion stand-in in criterion/criterion.h. Prints one line
 * per test and a closing "N passed, N failed" line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "criterion/criterion.h"

#define MAX_TESTS 256

struct shim_test {
    const char *suite;
    const char *name;
    shim_test_fn fn;
};

static struct shim_test tests[MAX_TESTS];
static int test_count;
static jmp_buf test_exit;

void shim_register(const char *suite, const char *name, shim_test_fn fn)
{
    if (test_count == MAX_TESTS) {
        fprintf(stderr, "too many tests: raise MAX_TESTS\n");
        exit(2);
    }
    tests[test_count++] = (struct shim_test){suite, name, fn};
}

void shim_check(bool ok, const char *expression, const char *file, int line, const char *fmt, ...)
{
    if (ok)
        return;
    fprintf(stdout, "[----] %s:%d: Assertion failed: %s", file, line, expression);
    if (fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(" (", stdout);
        vfprintf(stdout, fmt, ap);
        fputs(")", stdout);
        va_end(ap);
    }
    fputc('\n', stdout);
    longjmp(test_exit, 1);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* volatile: these live across setjmp/longjmp. */
    volatile int passed = 0, failed = 0;
    for (volatile int i = 0; i < test_count; i++) {
        fprintf(stdout, "[RUN ] %s::%s\n", tests[i].suite, tests[i].name);
        fflush(stdout);
        if (setjmp(test_exit) == 0) {
            tests[i].fn();
            fprintf(stdout, "[PASS] %s::%s\n", tests[i].suite, tests[i].name);
            passed++;
        } else {
            fprintf(stdout, "[FAIL] %s::%s\n", tests[i].suite, tests[i].name);
            failed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", (int)passed, (int)failed);
    return failed == 0 ? 0 : 1;
}
