/* Kubernetes timestamp formats. MicroTime (Lease acquireTime/renewTime, Event
 * eventTime) is RFC 3339 in UTC with exactly six fractional digits, because the
 * API server decodes it with the Go layout 2006-01-02T15:04:05.000000Z07:00. */
#ifndef IG_KUBE_TIME_H
#define IG_KUBE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Minimum buffer size for ig_kube_format_microtime: 2026-01-02T03:04:05.000000Z */
#define IG_KUBE_MICROTIME_SIZE 32

/* Write ts (CLOCK_REALTIME) as MicroTime in UTC, e.g. 2026-01-02T03:04:05.123456Z.
 * Returns false when the buffer is too small or the year is outside 0-9999. */
bool ig_kube_format_microtime(const struct timespec *ts, char *buf, size_t size);

/* Parse MicroTime: exactly six fractional digits, then Z or a +hh:mm/-hh:mm offset.
 * Returns false on any other text. */
bool ig_kube_parse_microtime(const char *text, struct timespec *out);

/* Seconds on CLOCK_MONOTONIC, which keeps counting while the process is stopped. */
double ig_kube_monotonic_seconds(void);

#endif
