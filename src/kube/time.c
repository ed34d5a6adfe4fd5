#include "kube/time.h"

#include <stdio.h>
#include <string.h>

bool ig_kube_format_microtime(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    if (!gmtime_r(&ts->tv_sec, &tm))
        return false;
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return false;
    long micros = ts->tv_nsec / 1000;
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
    return n > 0 && (size_t)n < size;
}

/* Read exactly count decimal digits. */
static bool read_digits(const char *text, int count, long *out)
{
    long value = 0;
    for (int i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
}

bool ig_kube_parse_microtime(const char *text, struct timespec *out)
{
    long year, month, day, hour, minute, second, micros;
    /* 2006-01-02T15:04:05.000000 is 26 characters before the zone. */
    if (!text || strlen(text) < 27)
        return false;
    if (!read_digits(text, 4, &year) || text[4] != '-' || !read_digits(text + 5, 2, &month) ||
        text[7] != '-' || !read_digits(text + 8, 2, &day) || text[10] != 'T' ||
        !read_digits(text + 11, 2, &hour) || text[13] != ':' ||
        !read_digits(text + 14, 2, &minute) || text[16] != ':' ||
        !read_digits(text + 17, 2, &second) || text[19] != '.' ||
        !read_digits(text + 20, 6, &micros))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return false;

    const char *zone = text + 26;
    long offset = 0;
    if (strcmp(zone, "Z") != 0) {
        long zh, zm;
        if ((zone[0] != '+' && zone[0] != '-') || strlen(zone) != 6 ||
            !read_digits(zone + 1, 2, &zh) || zone[3] != ':' || !read_digits(zone + 4, 2, &zm) ||
            zh > 23 || zm > 59)
            return false;
        offset = (zh * 3600 + zm * 60) * (zone[0] == '-' ? -1 : 1);
    }

    struct tm tm = {0};
    tm.tm_year = (int)year - 1900;
    tm.tm_mon = (int)month - 1;
    tm.tm_mday = (int)day;
    tm.tm_hour = (int)hour;
    tm.tm_min = (int)minute;
    tm.tm_sec = (int)second;
    time_t seconds = timegm(&tm);
    if (seconds == (time_t)-1 && !(year == 1969 && month == 12 && day == 31))
        return false;
    out->tv_sec = seconds - offset;
    out->tv_nsec = micros * 1000;
    return true;
}

double ig_kube_monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
