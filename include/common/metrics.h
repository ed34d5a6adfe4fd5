/* Process-wide Prometheus metrics registry (text exposition format 0.0.4).
 *
 * A series is a metric name plus a fixed label set written as Prometheus label
 * text, e.g. `webhook="validate",decision="denied"`. Look a series up once and
 * keep the pointer: lookups take a lock, updates are lock-free atomics.
 * Series live until ig_metrics_reset(). */
#ifndef IG_COMMON_METRICS_H
#define IG_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct ig_counter;
struct ig_gauge;
struct ig_histogram;

/* Each returns NULL only when out of memory; the update functions accept NULL. */
struct ig_counter *ig_metrics_counter(const char *name, const char *help, const char *labels);
struct ig_gauge *ig_metrics_gauge(const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds in the metric's unit, at most 32. */
struct ig_histogram *ig_metrics_histogram(const char *name, const char *help, const char *labels,
                                          const double *bounds, size_t bound_count);

void ig_counter_add(struct ig_counter *counter, uint64_t delta);
void ig_gauge_set(struct ig_gauge *gauge, double value);
void ig_gauge_add(struct ig_gauge *gauge, double delta);
void ig_histogram_observe(struct ig_histogram *histogram, double value);

uint64_t ig_counter_value(const struct ig_counter *counter);
double ig_gauge_value(const struct ig_gauge *gauge);

/* Escape a label value (backslash, double quote, newline) into out.
 * Return false when out is too small. */
int ig_metrics_escape_label(const char *value, char *out, size_t size);

/* Render every series. Returns a malloc'd NUL-terminated text the caller frees, or NULL. */
char *ig_metrics_render(size_t *length);

/* Drop every series (tests only: pointers handed out before become invalid). */
void ig_metrics_reset(void);

#endif
