/* libFuzzer target: ig_duration_parse on arbitrary bytes.
 *
 * Besides memory errors it checks two properties of Go's time.ParseDuration
 * that hold for every accepted unsigned input: "-" + input parses to the
 * negated value, and the value printed as "<n>ns" parses back to itself. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "duration fuzz check failed: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so that ASan catches a read past the given length. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    text[0] = '-';
    memcpy(text + 1, data, size);

    int64_t value = 0;
    bool ok = ig_duration_parse(text + 1, size, &value);
    if (ok && size > 0 && text[1] != '-' && text[1] != '+') {
        expect(value >= 0, "an unsigned duration is not negative");
        int64_t negated = 0;
        expect(ig_duration_parse(text, size + 1, &negated), "\"-\" + accepted input is accepted");
        expect(negated == -value, "\"-\" + input is the negated value");

        char printed[32];
        int length = snprintf(printed, sizeof printed, "%" PRId64 "ns", value);
        int64_t again = 0;
        expect(length > 0, "snprintf formats the value");
        expect((size_t)length < sizeof printed, "the formatted value fits the buffer");
        expect(ig_duration_parse(printed, (size_t)length, &again), "\"<n>ns\" is accepted");
        expect(again == value, "\"<n>ns\" parses to n");
    }
    free(text);
    return 0;
}
