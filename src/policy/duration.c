#include "policy/duration.h"

#include <string.h>

struct unit {
    const char *name;
    uint64_t nanoseconds;
};

static const struct unit units[] = {
    {"ns", 1ULL},
    {"us", 1000ULL},
    {"\xc2\xb5s", 1000ULL}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000ULL}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000ULL},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Read decimal digits into *value. Returns false when the value passes 2^63,
 * the point where Go reports overflow. */
static bool read_integer(const char **p, const char *end, uint64_t *value, size_t *digits)
{
    const uint64_t limit = 1ULL << 63;
    *value = 0;
    *digits = 0;
    while (*p < end && is_digit(**p)) {
        uint64_t digit = (uint64_t)(**p - '0');
        if (*value > limit / 10)
            return false;
        *value = *value * 10 + digit;
        if (*value > limit)
            return false;
        (*p)++;
        (*digits)++;
    }
    return true;
}

/* Read fraction digits; digits past the precision of uint64 are dropped, as in Go. */
static void read_fraction(const char **p, const char *end, uint64_t *value, double *scale,
                          size_t *digits)
{
    bool overflowed = false;
    *value = 0;
    *scale = 1;
    *digits = 0;
    while (*p < end && is_digit(**p)) {
        if (!overflowed) {
            if (*value > ((1ULL << 63) - 1) / 10) {
                overflowed = true;
            } else {
                *value = *value * 10 + (uint64_t)(**p - '0');
                *scale *= 10;
            }
        }
        (*p)++;
        (*digits)++;
    }
}

static const struct unit *find_unit(const char *start, size_t length)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].name) == length && memcmp(units[i].name, start, length) == 0)
            return &units[i];
    }
    return NULL;
}

bool ig_duration_parse(const char *text, size_t length, int64_t *nanoseconds)
{
    const char *p = text;
    const char *end = text + length;
    const uint64_t limit = 1ULL << 63;
    bool negative = false;
    uint64_t total = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        negative = *p == '-';
        p++;
    }
    if (end - p == 1 && *p == '0') {
        *nanoseconds = 0;
        return true;
    }
    if (p == end)
        return false;

    while (p < end) {
        uint64_t whole, fraction;
        size_t whole_digits, fraction_digits = 0;
        double scale = 1;

        if (!(is_digit(*p) || *p == '.'))
            return false;
        if (!read_integer(&p, end, &whole, &whole_digits))
            return false;
        if (p < end && *p == '.') {
            p++;
            read_fraction(&p, end, &fraction, &scale, &fraction_digits);
        } else {
            fraction = 0;
        }
        if (whole_digits == 0 && fraction_digits == 0)
            return false;

        const char *unit_start = p;
        while (p < end && *p != '.' && !is_digit(*p))
            p++;
        const struct unit *unit = find_unit(unit_start, (size_t)(p - unit_start));
        if (!unit)
            return false;

        if (whole > limit / unit->nanoseconds)
            return false;
        uint64_t value = whole * unit->nanoseconds;
        if (fraction > 0) {
            value += (uint64_t)((double)fraction * ((double)unit->nanoseconds / scale));
            if (value > limit)
                return false;
        }
        total += value;
        if (total > limit)
            return false;
    }

    if (negative) {
        *nanoseconds = total == limit ? INT64_MIN : -(int64_t)total;
        return true;
    }
    if (total > limit - 1)
        return false;
    *nanoseconds = (int64_t)total;
    return true;
}
