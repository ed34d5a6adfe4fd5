#include "common/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BOUNDS 32

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* A gauge or a histogram sum is a double kept in a 64-bit atomic through its bit pattern. */
struct series {
    struct series *next;
    enum metric_type type;
    char *name;
    char *help;
    char *labels;
    _Atomic uint64_t count;       /* counter value, histogram observation count */
    _Atomic uint64_t double_bits; /* gauge value, histogram sum */
    size_t bound_count;
    double bounds[MAX_BOUNDS];
    _Atomic uint64_t buckets[MAX_BOUNDS];
};

struct ig_counter { struct series s; };
struct ig_gauge { struct series s; };
struct ig_histogram { struct series s; };

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct series *registry_head;
static struct series *registry_tail;

static uint64_t double_to_bits(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static double bits_to_double(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static void atomic_add_double(_Atomic uint64_t *target, double delta)
{
    uint64_t old = atomic_load(target);
    while (!atomic_compare_exchange_weak(target, &old, double_to_bits(bits_to_double(old) + delta)))
        ;
}

static void free_series(struct series *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->help);
    free(s->labels);
    free(s);
}

static struct series *find_or_add(enum metric_type type, const char *name, const char *help,
                                  const char *labels, const double *bounds, size_t bound_count)
{
    if (!labels)
        labels = "";
    if (bound_count > MAX_BOUNDS)
        return NULL;

    pthread_mutex_lock(&registry_lock);
    for (struct series *s = registry_head; s; s = s->next) {
        if (s->type == type && strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0) {
            pthread_mutex_unlock(&registry_lock);
            return s;
        }
    }

    struct series *s = calloc(1, sizeof *s);
    if (s) {
        s->type = type;
        s->name = strdup(name);
        s->help = strdup(help ? help : "");
        s->labels = strdup(labels);
        s->bound_count = bound_count;
        for (size_t i = 0; i < bound_count; i++)
            s->bounds[i] = bounds[i];
    }
    if (!s || !s->name || !s->help || !s->labels) {
        pthread_mutex_unlock(&registry_lock);
        free_series(s);
        return NULL;
    }
    /* Append, so that series of one metric added together render together. */
    if (registry_tail)
        registry_tail->next = s;
    else
        registry_head = s;
    registry_tail = s;
    pthread_mutex_unlock(&registry_lock);
    return s;
}

struct ig_counter *ig_metrics_counter(const char *name, const char *help, const char *labels)
{
    return (struct ig_counter *)find_or_add(METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct ig_gauge *ig_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return (struct ig_gauge *)find_or_add(METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct ig_histogram *ig_metrics_histogram(const char *name, const char *help, const char *labels,
                                          const double *bounds, size_t bound_count)
{
    return (struct ig_histogram *)find_or_add(METRIC_HISTOGRAM, name, help, labels, bounds,
                                              bound_count);
}

void ig_counter_add(struct ig_counter *counter, uint64_t delta)
{
    if (counter)
        atomic_fetch_add(&counter->s.count, delta);
}

void ig_gauge_set(struct ig_gauge *gauge, double value)
{
    if (gauge)
        atomic_store(&gauge->s.double_bits, double_to_bits(value));
}

void ig_gauge_add(struct ig_gauge *gauge, double delta)
{
    if (gauge)
        atomic_add_double(&gauge->s.double_bits, delta);
}

void ig_histogram_observe(struct ig_histogram *histogram, double value)
{
    if (!histogram)
        return;
    struct series *s = &histogram->s;
    for (size_t i = 0; i < s->bound_count; i++) {
        if (value <= s->bounds[i]) {
            atomic_fetch_add(&s->buckets[i], 1);
            break;
        }
    }
    atomic_fetch_add(&s->count, 1);
    atomic_add_double(&s->double_bits, value);
}

uint64_t ig_counter_value(const struct ig_counter *counter)
{
    return counter ? atomic_load(&counter->s.count) : 0;
}

double ig_gauge_value(const struct ig_gauge *gauge)
{
    return gauge ? bits_to_double(atomic_load(&gauge->s.double_bits)) : 0.0;
}

int ig_metrics_escape_label(const char *value, char *out, size_t size)
{
    size_t used = 0;
    for (const char *p = value; *p; p++) {
        const char *piece;
        char single[2] = {*p, '\0'};
        switch (*p) {
        case '\\': piece = "\\\\"; break;
        case '"': piece = "\\\""; break;
        case '\n': piece = "\\n"; break;
        default: piece = single; break;
        }
        size_t len = strlen(piece);
        if (used + len >= size)
            return 0;
        memcpy(out + used, piece, len);
        used += len;
    }
    if (size == 0)
        return 0;
    out[used] = '\0';
    return 1;
}

static void print_value(FILE *out, double value)
{
    if (isinf(value))
        fputs(value > 0 ? "+Inf" : "-Inf", out);
    else if (value == floor(value) && fabs(value) < 1e15)
        fprintf(out, "%.0f", value);
    else {
        /* Shortest of %.15g and %.17g that reads back as the same double. */
        char text[32];
        snprintf(text, sizeof text, "%.15g", value);
        if (strtod(text, NULL) != value)
            snprintf(text, sizeof text, "%.17g", value);
        fputs(text, out);
    }
}

static void print_series_name(FILE *out, const char *name, const char *suffix, const char *labels,
                              const char *extra_label)
{
    fprintf(out, "%s%s", name, suffix);
    bool has_labels = labels[0] != '\0';
    if (!has_labels && !extra_label)
        return;
    fputc('{', out);
    if (has_labels)
        fputs(labels, out);
    if (extra_label)
        fprintf(out, "%s%s", has_labels ? "," : "", extra_label);
    fputc('}', out);
}

static void render_series(FILE *out, const struct series *s)
{
    switch (s->type) {
    case METRIC_COUNTER:
        print_series_name(out, s->name, "", s->labels, NULL);
        fprintf(out, " %llu\n", (unsigned long long)atomic_load(&s->count));
        break;
    case METRIC_GAUGE:
        print_series_name(out, s->name, "", s->labels, NULL);
        fputc(' ', out);
        print_value(out, bits_to_double(atomic_load(&s->double_bits)));
        fputc('\n', out);
        break;
    case METRIC_HISTOGRAM: {
        /* Buckets are stored per interval and rendered cumulatively. */
        uint64_t cumulative = 0;
        char le[64];
        for (size_t i = 0; i < s->bound_count; i++) {
            cumulative += atomic_load(&s->buckets[i]);
            snprintf(le, sizeof le, "le=\"%g\"", s->bounds[i]);
            print_series_name(out, s->name, "_bucket", s->labels, le);
            fprintf(out, " %llu\n", (unsigned long long)cumulative);
        }
        uint64_t count = atomic_load(&s->count);
        print_series_name(out, s->name, "_bucket", s->labels, "le=\"+Inf\"");
        fprintf(out, " %llu\n", (unsigned long long)count);
        print_series_name(out, s->name, "_sum", s->labels, NULL);
        fputc(' ', out);
        print_value(out, bits_to_double(atomic_load(&s->double_bits)));
        fputc('\n', out);
        print_series_name(out, s->name, "_count", s->labels, NULL);
        fprintf(out, " %llu\n", (unsigned long long)count);
        break;
    }
    }
}

static const char *type_name(enum metric_type type)
{
    switch (type) {
    case METRIC_COUNTER: return "counter";
    case METRIC_GAUGE: return "gauge";
    case METRIC_HISTOGRAM: return "histogram";
    }
    return "untyped";
}

char *ig_metrics_render(size_t *length)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return NULL;

    pthread_mutex_lock(&registry_lock);
    /* Group by name: HELP and TYPE once, then every series of that name. */
    for (struct series *s = registry_head; s; s = s->next) {
        bool seen = false;
        for (struct series *p = registry_head; p != s; p = p->next) {
            if (strcmp(p->name, s->name) == 0) {
                seen = true;
                break;
            }
        }
        if (seen)
            continue;
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name, type_name(s->type));
        for (struct series *p = s; p; p = p->next) {
            if (strcmp(p->name, s->name) == 0)
                render_series(out, p);
        }
    }
    pthread_mutex_unlock(&registry_lock);

    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    if (length)
        *length = size;
    return text;
}

void ig_metrics_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    struct series *s = registry_head;
    registry_head = registry_tail = NULL;
    pthread_mutex_unlock(&registry_lock);
    while (s) {
        struct series *next = s->next;
        free_series(s);
        s = next;
    }
}
