#include "common/log.h"
#include "common/json.h"
#include "common/json_arena.h"
#include "common/json_bytes.h"
#include "common/text.h"

#include <cjson/cJSON.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int log_level = IG_LOG_INFO;
static _Atomic int log_format = IG_LOG_FORMAT_JSON;
static FILE *log_stream;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ig_log_configure(enum ig_log_level level, enum ig_log_format format)
{
    atomic_store(&log_level, (int)level);
    atomic_store(&log_format, (int)format);
}

void ig_log_set_stream(FILE *stream)
{
    pthread_mutex_lock(&log_lock);
    log_stream = stream;
    pthread_mutex_unlock(&log_lock);
}

bool ig_log_enabled(enum ig_log_level level)
{
    return (int)level >= atomic_load(&log_level);
}

bool ig_log_parse_level(const char *text, enum ig_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum ig_log_level)i;
            return true;
        }
    }
    return false;
}

bool ig_log_parse_format(const char *text, enum ig_log_format *out)
{
    if (strcmp(text, "json") == 0) {
        *out = IG_LOG_FORMAT_JSON;
        return true;
    }
    if (strcmp(text, "text") == 0) {
        *out = IG_LOG_FORMAT_TEXT;
        return true;
    }
    return false;
}

/* strftime() took about 1,000 instructions per line under callgrind, so
 * each thread keeps the text of the last second it formatted. */
static _Thread_local struct {
    time_t second;
    char text[24]; /* "YYYY-MM-DDTHH:MM:SS" */
} time_cache = {.second = -1};

void ig_log_format_time(char *buf, size_t size)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != time_cache.second) {
        struct tm utc;
        gmtime_r(&now.tv_sec, &utc);
        if (strftime(time_cache.text, sizeof time_cache.text, "%Y-%m-%dT%H:%M:%S", &utc) == 0)
            time_cache.text[0] = '\0';
        time_cache.second = now.tv_sec;
    }
    unsigned milliseconds = (unsigned)(now.tv_nsec / 1000000L);
    size_t length = strlen(time_cache.text);
    if (size < length + 6) {
        if (size > 0)
            buf[0] = '\0';
        return;
    }
    memcpy(buf, time_cache.text, length);
    buf[length] = '.';
    buf[length + 1] = (char)('0' + milliseconds / 100);
    buf[length + 2] = (char)('0' + milliseconds / 10 % 10);
    buf[length + 3] = (char)('0' + milliseconds % 10);
    buf[length + 4] = 'Z';
    buf[length + 5] = '\0';
}

/* Asynchronous mode: request threads append whole lines to `pending` and a
 * writer thread writes them out, so a slow reader of standard output (a full
 * pipe to the container runtime) delays the writer, not a request. When
 * `pending` is full, appenders wait: audit lines are never dropped.
 *
 * Waking the writer for every line cost more than formatting the line. So an
 * appender wakes it only when `pending` turns non-empty or passes half full,
 * and the writer then lets lines gather for BATCH_DELAY_NS before it writes.
 * A line reaches the output at most about that much later. */
#define ASYNC_BUFFER_BYTES (1024 * 1024)
#define BATCH_DELAY_NS 10000000L

static struct {
    bool running;
    bool stopping;
    pthread_t thread;
    pthread_cond_t has_data;
    pthread_cond_t has_room;
    char *pending;
    size_t used;
} async_log = {.has_data = PTHREAD_COND_INITIALIZER, .has_room = PTHREAD_COND_INITIALIZER};

static void write_now(FILE *out, const char *text, size_t length)
{
    fwrite(text, 1, length, out);
    fflush(out);
}

static void *writer_main(void *unused)
{
    (void)unused;
    char *batch = malloc(ASYNC_BUFFER_BYTES);

    pthread_mutex_lock(&log_lock);
    for (;;) {
        while (async_log.used == 0 && !async_log.stopping)
            pthread_cond_wait(&async_log.has_data, &log_lock);
        if (async_log.used == 0 && async_log.stopping)
            break;
        if (!async_log.stopping && async_log.used < ASYNC_BUFFER_BYTES / 2) {
            struct timespec delay = {.tv_sec = 0, .tv_nsec = BATCH_DELAY_NS};
            pthread_mutex_unlock(&log_lock);
            nanosleep(&delay, NULL);
            pthread_mutex_lock(&log_lock);
        }
        size_t length = async_log.used;
        FILE *out = log_stream ? log_stream : stdout;
        if (batch) {
            /* Swap the buffers, so that appenders wait for no copy. */
            char *full = async_log.pending;
            async_log.pending = batch;
            batch = full;
            async_log.used = 0;
            pthread_cond_broadcast(&async_log.has_room);
            pthread_mutex_unlock(&log_lock);
            write_now(out, batch, length);
            pthread_mutex_lock(&log_lock);
        } else {
            /* Without a second buffer, write while holding the lock. */
            write_now(out, async_log.pending, length);
            async_log.used = 0;
            pthread_cond_broadcast(&async_log.has_room);
        }
    }
    pthread_mutex_unlock(&log_lock);
    free(batch);
    return NULL;
}

bool ig_log_start_async(void)
{
    pthread_mutex_lock(&log_lock);
    if (async_log.running) {
        pthread_mutex_unlock(&log_lock);
        return true;
    }
    async_log.pending = malloc(ASYNC_BUFFER_BYTES);
    async_log.used = 0;
    async_log.stopping = false;
    bool ok = async_log.pending && pthread_create(&async_log.thread, NULL, writer_main, NULL) == 0;
    if (!ok) {
        free(async_log.pending);
        async_log.pending = NULL;
    }
    async_log.running = ok;
    pthread_mutex_unlock(&log_lock);
    return ok;
}

void ig_log_stop_async(void)
{
    pthread_mutex_lock(&log_lock);
    if (!async_log.running) {
        pthread_mutex_unlock(&log_lock);
        return;
    }
    async_log.stopping = true;
    pthread_cond_signal(&async_log.has_data);
    pthread_mutex_unlock(&log_lock);

    pthread_join(async_log.thread, NULL);

    pthread_mutex_lock(&log_lock);
    async_log.running = false;
    free(async_log.pending);
    async_log.pending = NULL;
    pthread_mutex_unlock(&log_lock);
}

static void write_text(const char *line, size_t length)
{
    pthread_mutex_lock(&log_lock);
    FILE *out = log_stream ? log_stream : stdout;
    if (!async_log.running || async_log.stopping || length + 1 > ASYNC_BUFFER_BYTES) {
        fwrite(line, 1, length, out);
        fputc('\n', out);
        fflush(out);
        pthread_mutex_unlock(&log_lock);
        return;
    }
    while (async_log.used + length + 1 > ASYNC_BUFFER_BYTES)
        pthread_cond_wait(&async_log.has_room, &log_lock);
    size_t before = async_log.used;
    memcpy(async_log.pending + async_log.used, line, length);
    async_log.pending[async_log.used + length] = '\n';
    async_log.used += length + 1;
    if (before == 0 || (before < ASYNC_BUFFER_BYTES / 2 && async_log.used >= ASYNC_BUFFER_BYTES / 2))
        pthread_cond_signal(&async_log.has_data);
    pthread_mutex_unlock(&log_lock);
}

static void write_line(const char *line)
{
    write_text(line, strlen(line));
}

/* Longer string values are cut, so that one line stays well under the
 * 16 KiB at which container runtimes split log lines. The limit counts the
 * value as printed: a quote or backslash takes two bytes there. */
#define LOG_VALUE_MAX 1024

#if defined(__SSE2__)
/* True when none of the 16 bytes of chunk is a control character, DEL, a
 * byte above 0x7F, a quote or a backslash. */
static inline bool chunk_is_plain_ascii(__m128i chunk)
{
    /* As signed bytes, 0x80 to 0xFF are negative, so one compare with the
     * space catches them and the control characters. */
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(chunk, _mm_set1_epi8(' ')),
                               _mm_cmpeq_epi8(chunk, _mm_set1_epi8(0x7F)));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\')));
    return _mm_movemask_epi8(bad) == 0;
}

/* True when none of the 16 bytes of chunk is above 0x7F. */
static inline bool chunk_is_ascii(__m128i chunk)
{
    return _mm_movemask_epi8(chunk) == 0;
}

/* True when accepts() is true for every 16-byte chunk of the length bytes at
 * p, length >= 16. When length is not a multiple of 16, the last chunk
 * overlaps the one before it. Inlined, so accepts() is inlined too. */
static inline __attribute__((always_inline)) bool all_chunks(const unsigned char *p, size_t length,
                                                             bool (*accepts)(__m128i))
{
    const unsigned char *last = p + length - 16;
    for (; p < last; p += 16) {
        if (!accepts(_mm_loadu_si128((const __m128i *)(const void *)p)))
            return false;
    }
    return accepts(_mm_loadu_si128((const __m128i *)(const void *)last));
}
#endif

/* True when the length bytes at p are all below 0x80. */
static bool is_ascii(const unsigned char *p, size_t length)
{
#if defined(__SSE2__)
    if (length >= 16)
        return all_chunks(p, length, chunk_is_ascii);
    if (length >= 4)
        return chunk_is_ascii(ig_json_load_short(p, length));
#endif
    for (const unsigned char *end = p + length; p < end; p++) {
        if (*p >= 0x80)
            return false;
    }
    return true;
}

/* True when each of the length bytes at p prints as itself in a JSON string:
 * printable ASCII other than the quote and the backslash. Overlapping loads
 * cover a length that is not a multiple of 16, and short values, most of
 * the log's, are read as two overlapping 8- or 4-byte pieces. */
static bool is_plain_ascii(const unsigned char *p, size_t length)
{
#if defined(__SSE2__)
    if (length >= 16)
        return all_chunks(p, length, chunk_is_plain_ascii);
    if (length >= 4)
        return chunk_is_plain_ascii(ig_json_load_short(p, length));
#endif
    for (const unsigned char *end = p + length; p < end; p++) {
        if (*p < 0x20 || *p >= 0x7F || *p == '"' || *p == '\\')
            return false;
    }
    return true;
}

/* Return the value itself when it is short printable ASCII without quotes
 * or backslashes, the usual case. Otherwise return a copy in buffer that is
 * valid UTF-8 (cJSON escapes control characters), cut so that it prints in
 * at most LOG_VALUE_MAX bytes with "..." appended. Request fields come from clients,
 * and a log line must stay one valid JSON text of bounded size whatever they
 * send. */
static const char *safe_value(const char *value, char *buffer, size_t size)
{
    size_t length = strnlen(value, LOG_VALUE_MAX + 1);
    if (length <= LOG_VALUE_MAX && is_plain_ascii((const unsigned char *)value, length))
        return value;

    size_t used = ig_text_valid_utf8(value, buffer, size - 3);
    size_t printed = 0;
    size_t cut = 0;
    while (cut < used) {
        size_t width = ig_json_printed_width((unsigned char)buffer[cut]);
        if (printed + width > LOG_VALUE_MAX)
            break;
        printed += width;
        cut++;
    }
    /* Never cut inside a UTF-8 sequence. */
    while (cut > 0 && cut < used && ((unsigned char)buffer[cut] & 0xC0) == 0x80)
        cut--;
    if (cut < used || strlen(value) > used)
        memcpy(buffer + cut, "...", 4);
    return buffer;
}

/* Keys and values are referenced, not copied: the object is printed and
 * deleted before the caller's fields go away. A value that safe_value had to
 * rewrite is copied, because its buffer is reused for the next field. */
static bool add_json_field(cJSON *object, const struct ig_log_field *field)
{
    char buffer[LOG_VALUE_MAX + 4];

    switch (field->type) {
    case IG_LOG_FIELD_STR: {
        if (!field->s)
            return cJSON_AddNullToObject(object, field->key) != NULL;
        const char *value = safe_value(field->s, buffer, sizeof buffer);
        if (value == field->s)
            return ig_json_add_string_ref(object, field->key, value);
        return cJSON_AddStringToObject(object, field->key, value) != NULL;
    }
    case IG_LOG_FIELD_INT:
        return ig_json_add_int(object, field->key, field->i);
    case IG_LOG_FIELD_BOOL:
        return cJSON_AddBoolToObject(object, field->key, field->i != 0) != NULL;
    case IG_LOG_FIELD_DOUBLE:
        return cJSON_AddNumberToObject(object, field->key, field->d) != NULL;
    case IG_LOG_FIELD_NONE:
        break;
    }
    return true;
}

/* Most lines fit here and need no allocation to print. */
#define LINE_BUFFER_BYTES (16 * 1024)
static _Thread_local char line_buffer[LINE_BUFFER_BYTES];

/* Storage for the usual line's tree, which is built on the stack
 * (ig_json_nodes in common/json.h). */
#define STACK_LINE_NODES 24

struct stack_line {
    cJSON storage[STACK_LINE_NODES];
    char digits[STACK_LINE_NODES][IG_JSON_INT_TEXT_SIZE];
    struct ig_json_nodes nodes;
};

/* Build the line in line and return its root, with every value as it is.
 * NULL, with nothing to free, when it needs the general path: more fields
 * than fit, or a double. */
static cJSON *build_stack_line(struct stack_line *line, const char *time_text,
                               enum ig_log_level level, const char *msg,
                               const struct ig_log_field *fields, size_t count)
{
    struct ig_json_nodes *nodes = &line->nodes;
    if (count > STACK_LINE_NODES - 4)
        return NULL;
    ig_json_nodes_init(nodes, line->storage, STACK_LINE_NODES);
    cJSON *root = ig_json_nodes_add(nodes, NULL, NULL, cJSON_Object, NULL);
    ig_json_nodes_add(nodes, root, "time", cJSON_String, time_text);
    ig_json_nodes_add(nodes, root, "level", cJSON_String, level_names[level]);
    ig_json_nodes_add(nodes, root, "msg", cJSON_String, msg);
    for (size_t i = 0; i < count; i++) {
        const struct ig_log_field *field = &fields[i];
        switch (field->type) {
        case IG_LOG_FIELD_STR:
            ig_json_nodes_add(nodes, root, field->key, field->s ? cJSON_String : cJSON_NULL,
                              field->s);
            break;
        case IG_LOG_FIELD_INT:
            ig_json_nodes_add(nodes, root, field->key, cJSON_Raw,
                              ig_json_int_text(field->i, line->digits[nodes->used]));
            break;
        case IG_LOG_FIELD_BOOL:
            ig_json_nodes_add(nodes, root, field->key, field->i ? cJSON_True : cJSON_False, NULL);
            break;
        case IG_LOG_FIELD_DOUBLE:
            return NULL;
        case IG_LOG_FIELD_NONE:
            break;
        }
    }
    return root;
}

static void log_json(const char *time_text, enum ig_log_level level, const char *msg,
                     const struct ig_log_field *fields, size_t count)
{
    struct stack_line stack_line;
    const cJSON *stack_root = build_stack_line(&stack_line, time_text, level, msg, fields, count);
    if (stack_root) {
        /* A line this short has no value that safe_value() would cut, and one
         * of ASCII only has no invalid UTF-8 to replace. Checking the printed
         * line once costs less than checking each value. */
        size_t length = ig_json_print_into(stack_root, line_buffer, sizeof line_buffer);
        if (length > 0 && length <= LOG_VALUE_MAX &&
            is_ascii((const unsigned char *)line_buffer, length)) {
            write_text(line_buffer, length);
            return;
        }
    }

    cJSON *object = cJSON_CreateObject();
    bool ok = object && ig_json_add_string_ref(object, "time", time_text) &&
              ig_json_add_string_ref(object, "level", level_names[level]) &&
              ig_json_add_string_ref(object, "msg", msg);
    for (size_t i = 0; ok && i < count; i++)
        ok = add_json_field(object, &fields[i]);
    if (!ok) {
        ig_json_delete(object);
        goto oom;
    }

    size_t length = ig_json_print_into(object, line_buffer, sizeof line_buffer);
    if (length > 0) {
        ig_json_delete(object);
        write_text(line_buffer, length);
        return;
    }
    char *line = cJSON_PrintUnformatted(object);
    ig_json_delete(object);
    if (!line)
        goto oom;
    write_line(line);
    cJSON_free(line);
    return;

oom:
    /* Still write a line: losing an error line silently is worse. */
    write_line("{\"level\":\"error\",\"msg\":\"log line dropped: out of memory\"}");
}

/* Text format: "TIME LEVEL msg key=value ...". String values are quoted with
 * cJSON's escaping so that a value cannot forge a second line. */
static void log_text(const char *time_text, enum ig_log_level level, const char *msg,
                     const struct ig_log_field *fields, size_t count)
{
    char *line = NULL;
    size_t size = 0;
    FILE *buf = open_memstream(&line, &size);
    if (!buf) {
        write_line("log line dropped: out of memory");
        return;
    }
    fprintf(buf, "%s %-5s %s", time_text, level_names[level], msg);
    for (size_t i = 0; i < count; i++) {
        const struct ig_log_field *f = &fields[i];
        switch (f->type) {
        case IG_LOG_FIELD_STR: {
            char buffer[LOG_VALUE_MAX + 4];
            cJSON *value = f->s ? cJSON_CreateString(safe_value(f->s, buffer, sizeof buffer))
                                : cJSON_CreateNull();
            char *quoted = value ? cJSON_PrintUnformatted(value) : NULL;
            fprintf(buf, " %s=%s", f->key, quoted ? quoted : "?");
            cJSON_free(quoted);
            cJSON_Delete(value);
            break;
        }
        case IG_LOG_FIELD_INT:
            fprintf(buf, " %s=%lld", f->key, f->i);
            break;
        case IG_LOG_FIELD_BOOL:
            fprintf(buf, " %s=%s", f->key, f->i ? "true" : "false");
            break;
        case IG_LOG_FIELD_DOUBLE:
            fprintf(buf, " %s=%g", f->key, f->d);
            break;
        case IG_LOG_FIELD_NONE:
            break;
        }
    }
    fclose(buf);
    write_line(line);
    free(line);
}

void ig_log_fields(enum ig_log_level level, const char *msg, const struct ig_log_field *fields,
                   size_t count)
{
    char time_text[40];

    if (!ig_log_enabled(level))
        return;
    ig_log_format_time(time_text, sizeof time_text);
    if (atomic_load(&log_format) == IG_LOG_FORMAT_TEXT)
        log_text(time_text, level, msg, fields, count);
    else
        log_json(time_text, level, msg, fields, count);
}
