/* Structured logging: one JSON object per line (default) or a readable text line.
 *
 * Field names are stable: time, level, msg, then the caller's fields in order.
 * Never pass a secret value, a token, a credential or an object body as a field. */
#ifndef IG_COMMON_LOG_H
#define IG_COMMON_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum ig_log_level { IG_LOG_DEBUG, IG_LOG_INFO, IG_LOG_WARN, IG_LOG_ERROR };
enum ig_log_format { IG_LOG_FORMAT_JSON, IG_LOG_FORMAT_TEXT };

enum ig_log_field_type {
    IG_LOG_FIELD_NONE,
    IG_LOG_FIELD_STR,
    IG_LOG_FIELD_INT,
    IG_LOG_FIELD_BOOL,
    IG_LOG_FIELD_DOUBLE,
};

struct ig_log_field {
    const char *key;
    enum ig_log_field_type type;
    const char *s; /* NULL logs as JSON null */
    long long i;
    double d;
};

#define IG_F_STR(k, v) ((struct ig_log_field){.key = (k), .type = IG_LOG_FIELD_STR, .s = (v)})
#define IG_F_INT(k, v) ((struct ig_log_field){.key = (k), .type = IG_LOG_FIELD_INT, .i = (long long)(v)})
#define IG_F_BOOL(k, v) ((struct ig_log_field){.key = (k), .type = IG_LOG_FIELD_BOOL, .i = (v) ? 1 : 0})
#define IG_F_DOUBLE(k, v) ((struct ig_log_field){.key = (k), .type = IG_LOG_FIELD_DOUBLE, .d = (v)})

/* ig_log(level, "message", IG_F_STR("name", name), ...). The leading empty
 * field lets the field list be empty; ig_log_fields skips NONE fields. */
#define ig_log(level, msg, ...)                                                            \
    do {                                                                                   \
        if (ig_log_enabled(level)) {                                                       \
            const struct ig_log_field ig_log_fields_[] = {{0}, __VA_ARGS__};               \
            ig_log_fields((level), (msg), ig_log_fields_,                                  \
                          sizeof ig_log_fields_ / sizeof ig_log_fields_[0]);               \
        }                                                                                  \
    } while (0)

#define ig_debug(...) ig_log(IG_LOG_DEBUG, __VA_ARGS__)
#define ig_info(...) ig_log(IG_LOG_INFO, __VA_ARGS__)
#define ig_warn(...) ig_log(IG_LOG_WARN, __VA_ARGS__)
#define ig_error(...) ig_log(IG_LOG_ERROR, __VA_ARGS__)

void ig_log_configure(enum ig_log_level level, enum ig_log_format format);
/* Redirect output (tests). The stream is not closed by the logger. */
void ig_log_set_stream(FILE *stream);
bool ig_log_enabled(enum ig_log_level level);
void ig_log_fields(enum ig_log_level level, const char *msg, const struct ig_log_field *fields,
                   size_t count);

/* Hand lines to a writer thread from now on, so that a slow reader of the
 * output never stalls the caller; lines keep their order. Returns false when
 * the thread cannot start (logging stays synchronous). ig_log_stop_async()
 * writes every pending line and stops the thread; call it before exit. */
bool ig_log_start_async(void);
void ig_log_stop_async(void);

/* Parse "debug", "info", "warn" or "error"; "json" or "text". Return false when unknown. */
bool ig_log_parse_level(const char *text, enum ig_log_level *out);
bool ig_log_parse_format(const char *text, enum ig_log_format *out);

/* Write the current UTC time as RFC 3339 with milliseconds, e.g.
 * 2026-12-04T21:30:00.123Z, into buf (at least 32 bytes). */
void ig_log_format_time(char *buf, size_t size);

#endif
