#include "common/json.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_bytes.h"

const cJSON *ig_json_member(const cJSON *object, const char *key)
{
    /* The type tests are cJSON_IsObject's and cJSON_IsString's, inline:
     * these lookups run about 20 times per review. */
    if (!object || (object->type & 0xFF) != cJSON_Object)
        return NULL;
    /* cJSON_GetObjectItemCaseSensitive calls strcmp for every member it
     * passes. Comparing the first byte inline skips most of those calls. */
    for (const cJSON *item = object->child; item; item = item->next) {
        const char *name = item->string;
        /* The review scanner names kept members with its own literals, which
         * the linker may merge with the caller's: equal pointers need no
         * strcmp. */
        if (name == key || (name && name[0] == key[0] && strcmp(name, key) == 0))
            return item;
    }
    return NULL;
}

const char *ig_json_string(const cJSON *object, const char *key)
{
    const cJSON *item = ig_json_member(object, key);
    return item && (item->type & 0xFF) == cJSON_String ? item->valuestring : NULL;
}

/* Attach item to object under key, which is not copied. False, with item
 * freed, when item is NULL or cannot be attached. */
static bool attach(cJSON *object, const char *key, cJSON *item)
{
    if (!item)
        return false;
    if (!cJSON_AddItemToObjectCS(object, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

/* Write the decimal digits of magnitude, after a '-' when negative, so that
 * they end just before end, and return where they start. Up to 21 bytes
 * before end are written. */
static char *format_decimal(char *end, unsigned long long magnitude, bool negative)
{
    char *p = end;
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (negative)
        *--p = '-';
    return p;
}

const char *ig_json_int_text(long long value, char digits[IG_JSON_INT_TEXT_SIZE])
{
    /* The magnitude is unsigned, so that LLONG_MIN does not overflow. */
    unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
                                             : (unsigned long long)value;
    digits[IG_JSON_INT_TEXT_SIZE - 1] = '\0';
    return format_decimal(digits + IG_JSON_INT_TEXT_SIZE - 1, magnitude, value < 0);
}

bool ig_json_add_int(cJSON *object, const char *key, long long value)
{
    char digits[IG_JSON_INT_TEXT_SIZE];
    return attach(object, key, cJSON_CreateRaw(ig_json_int_text(value, digits)));
}

bool ig_json_add_string_ref(cJSON *object, const char *key, const char *value)
{
    return attach(object, key, cJSON_CreateStringReference(value));
}

void ig_json_nodes_init(struct ig_json_nodes *nodes, cJSON *storage, size_t capacity)
{
    nodes->node = storage;
    nodes->used = 0;
    nodes->capacity = capacity;
}

cJSON *ig_json_nodes_add(struct ig_json_nodes *nodes, cJSON *parent, const char *key, int type,
                         const char *text)
{
    if (nodes->used == nodes->capacity)
        return NULL;
    cJSON *node = &nodes->node[nodes->used++];
    memset(node, 0, sizeof *node);
    node->type = type;
    if (type == cJSON_String || type == cJSON_Raw)
        node->type |= cJSON_IsReference;
    node->valuestring = (char *)text;
    if (key) {
        node->string = (char *)key;
        node->type |= cJSON_StringIsConst;
    }
    if (!parent)
        return node;
    /* cJSON keeps the last child in the first child's prev. */
    cJSON *first = parent->child;
    if (!first) {
        parent->child = node;
    } else {
        first->prev->next = node;
        node->prev = first->prev;
    }
    parent->child->prev = node;
    return node;
}

/* ---- Printer ------------------------------------------------------------
 *
 * Prints what cJSON_PrintUnformatted of cJSON 1.7.15 prints, with one bounds
 * check per piece of text (a string, an escape, a number, a bracket) in
 * place of cJSON's per-write ensure() and per-string strlen() passes. The
 * writer fills either the caller's buffer or a heap buffer that grows. */

struct json_writer {
    char *start;
    char *pos;
    /* End of the room for text: the NUL goes at pos, which never passes
     * limit, so the NUL always fits. */
    char *limit;
    bool growable;
};

/* Make room for needed more bytes of text. Fails for the caller's buffer, and
 * for a heap buffer when realloc fails. The caller then still frees start. */
static __attribute__((noinline)) bool writer_grow(struct json_writer *w, size_t needed)
{
    if (!w->growable)
        return false;

    size_t used = (size_t)(w->pos - w->start);
    size_t capacity = (size_t)(w->limit - w->start) + 1;
    if (needed > SIZE_MAX / 2 - used)
        return false;
    size_t new_capacity = capacity <= SIZE_MAX / 2 ? capacity * 2 : SIZE_MAX;
    if (new_capacity < used + needed + 1)
        new_capacity = used + needed + 1;

    char *grown = realloc(w->start, new_capacity);
    if (!grown)
        return false;
    w->start = grown;
    w->pos = grown + used;
    w->limit = grown + new_capacity - 1;
    return true;
}

static inline bool writer_reserve(struct json_writer *w, size_t needed)
{
    return (size_t)(w->limit - w->pos) >= needed || writer_grow(w, needed);
}

static inline bool writer_put(struct json_writer *w, const char *bytes, size_t length)
{
    if (!writer_reserve(w, length))
        return false;
    memcpy(w->pos, bytes, length);
    w->pos += length;
    return true;
}

static inline bool writer_put_char(struct json_writer *w, char c)
{
    if (!writer_reserve(w, 1))
        return false;
    *w->pos++ = c;
    return true;
}

/* Return the first stop byte in [p, end), or end. All of [start, end) is
 * readable and p lies in it. ig_json_skip_plain scans what follows the last
 * whole 16-byte chunk one byte at a time. When the string is 16 bytes or
 * longer, one 16-byte load that ends at end covers that tail instead. */
static inline const unsigned char *find_stop(const unsigned char *start, const unsigned char *p,
                                             const unsigned char *end)
{
#if defined(__SSE2__)
    if (end - start >= 16) {
        const unsigned char *chunks_end = p + ((size_t)(end - p) & ~(size_t)15);
        const unsigned char *stop = ig_json_skip_plain(p, chunks_end);
        if (stop < chunks_end || chunks_end == end)
            return stop;
        unsigned int tail = (unsigned int)(end - chunks_end);
        unsigned int mask = ig_json_stop_mask(end - 16) >> (16 - tail);
        return mask ? chunks_end + __builtin_ctz(mask) : end;
    }
#else
    (void)start;
#endif
    return ig_json_skip_plain(p, end);
}

/* Copy text (length below 16) to out and return true when it contains no
 * stop byte. Otherwise return false and leave out unchanged. Loads and
 * stores of fixed size that may overlap, 8 + 8, 4 + 4 or three single bytes,
 * cover every byte of text, so short keys and values cost neither a byte
 * loop nor a call to memcpy. */
static inline bool copy_short_plain(char *out, const unsigned char *text, size_t length)
{
#if defined(__SSE2__)
    if (length >= 4) {
        if (ig_json_stop_mask_of(ig_json_load_short(text, length)) != 0)
            return false;
        if (length >= 8) {
            memcpy(out, text, 8);
            memcpy(out + length - 8, text + length - 8, 8);
        } else {
            memcpy(out, text, 4);
            memcpy(out + length - 4, text + length - 4, 4);
        }
    } else if (length > 0) {
        unsigned char first = text[0];
        unsigned char middle = text[length / 2];
        unsigned char last = text[length - 1];
        if (ig_json_is_stop_byte(first) || ig_json_is_stop_byte(middle) ||
            ig_json_is_stop_byte(last))
            return false;
        out[0] = (char)first;
        out[length / 2] = (char)middle;
        out[length - 1] = (char)last;
    }
    return true;
#else
    (void)out;
    (void)text;
    (void)length;
    return false;
#endif
}

/* Print text of the given length as a JSON string, with ':' after it when
 * it is a member key. Every byte that is not a stop byte is copied
 * unchanged, 0x7f and invalid UTF-8 included. */
static __attribute__((noinline)) bool print_string_text(struct json_writer *w, const char *text,
                                                        size_t length, bool as_key)
{
    const unsigned char *start = (const unsigned char *)text;
    const unsigned char *end = start + length;
    const unsigned char *p = start;
    size_t closing = as_key ? 2 : 1;

    /* Reserve room for the text as if nothing needed escaping, so that each
     * escape below only checks for the bytes it adds. */
    if (!writer_reserve(w, 1 + length + closing))
        return false;
    char *out = w->pos;
    *out++ = '"';
    while (p < end) {
        const unsigned char *stop = find_stop(start, p, end);
        memcpy(out, p, (size_t)(stop - p));
        out += stop - p;
        if (stop == end)
            break;

        char letter = ig_json_short_escape(*stop);
        size_t needed = (letter ? 2 : 6) + (size_t)(end - stop - 1) + closing;
        if ((size_t)(w->limit - out) < needed) {
            w->pos = out;
            if (!writer_grow(w, needed))
                return false;
            out = w->pos;
        }
        *out++ = '\\';
        if (letter) {
            *out++ = letter;
        } else {
            static const char hex_digits[] = "0123456789abcdef";
            out[0] = 'u';
            out[1] = '0';
            out[2] = '0';
            out[3] = hex_digits[*stop >> 4];
            out[4] = hex_digits[*stop & 0xf];
            out += 5;
        }
        p = stop + 1;
    }
    *out++ = '"';
    if (as_key)
        *out++ = ':';
    w->pos = out;
    return true;
}

/* Print text as a JSON string like print_string_text, or "" when text is
 * NULL. Short strings without stop bytes, which are most keys and values,
 * take an inline path. */
static inline bool print_string(struct json_writer *w, const char *text, bool as_key)
{
    if (!text)
        return as_key ? writer_put(w, "\"\":", 3) : writer_put(w, "\"\"", 2);

    size_t length = strlen(text);
    size_t closing = as_key ? 2 : 1;
    char *out = w->pos;
    if (length < 16 && (size_t)(w->limit - out) >= 1 + length + closing &&
        copy_short_plain(out + 1, (const unsigned char *)text, length)) {
        out[0] = '"';
        out += 1 + length;
        *out++ = '"';
        if (as_key)
            *out++ = ':';
        w->pos = out;
        return true;
    }
    return print_string_text(w, text, length, as_key);
}

/* Print an integral value below 1e15 in magnitude, -0 included, as the plain
 * digits that "%1.15g" gives for it. */
static bool print_integral(struct json_writer *w, double value)
{
    char digits[24];
    char *end = digits + sizeof digits;
    char *p = format_decimal(end, (unsigned long long)fabs(value), signbit(value));
    return writer_put(w, p, (size_t)(end - p));
}

/* Print a number as cJSON 1.7.15 does: NaN and infinities as null, otherwise
 * "%1.15g", or "%1.17g" when the shorter text does not read back to within a
 * relative DBL_EPSILON of the value. That test is cJSON's and is looser than
 * an exact round trip: 0.1 + 0.2 prints as 0.3, and 2^53 as
 * 9.00719925474099e+15. */
static bool print_number(struct json_writer *w, double value)
{
    if (isnan(value) || isinf(value))
        return writer_put(w, "null", 4);

    /* Integers below 1e15 read back exactly, so they skip snprintf and
     * strtod, which cost thousands of instructions per number. */
    if (fabs(value) < 1e15 && value == (double)(long long)value)
        return print_integral(w, value);

    char text[32];
    int length = snprintf(text, sizeof text, "%1.15g", value);
    if (length <= 0 || (size_t)length >= sizeof text)
        return false;
    /* cJSON reads back with sscanf("%lg"), which converts like strtod. */
    char *parsed_end = NULL;
    double back = strtod(text, &parsed_end);
    double larger = fabs(back) > fabs(value) ? fabs(back) : fabs(value);
    if (parsed_end == text || !(fabs(back - value) <= larger * DBL_EPSILON)) {
        length = snprintf(text, sizeof text, "%1.17g", value);
        if (length <= 0 || (size_t)length >= sizeof text)
            return false;
    }

    /* snprintf and strtod use the locale's decimal point, which may be more
     * than one byte. Besides it, %g writes only digits, signs and 'e', so
     * every other run of bytes becomes one '.'. */
    size_t used = 0;
    for (int i = 0; i < length; i++) {
        char c = text[i];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e')
            text[used++] = c;
        else if (used == 0 || text[used - 1] != '.')
            text[used++] = '.';
    }
    return writer_put(w, text, used);
}

/* Print a value that has no children. False for cJSON_Invalid, a Raw item
 * without text and any type value that cJSON does not print. */
static bool print_scalar(struct json_writer *w, const cJSON *item)
{
    switch (item->type & 0xFF) {
    case cJSON_NULL:
        return writer_put(w, "null", 4);
    case cJSON_False:
        return writer_put(w, "false", 5);
    case cJSON_True:
        return writer_put(w, "true", 4);
    case cJSON_Number:
        return print_number(w, item->valuedouble);
    case cJSON_String:
        return print_string(w, item->valuestring, false);
    case cJSON_Raw:
        return item->valuestring && writer_put(w, item->valuestring, strlen(item->valuestring));
    default:
        return false;
    }
}

/* The open arrays and objects, outermost first. The first levels live on the
 * C stack and deeper trees move to the heap, so depth is limited by memory
 * only and nothing recurses. */
struct open_container {
    const cJSON *item;
};

struct container_stack {
    struct open_container *items;
    size_t depth;
    size_t capacity;
    struct open_container inline_items[32];
};

static bool container_push(struct container_stack *stack, const cJSON *container)
{
    if (stack->depth == stack->capacity) {
        if (stack->capacity > SIZE_MAX / 2 / sizeof *stack->items)
            return false;
        size_t new_capacity = stack->capacity * 2;
        struct open_container *grown = stack->items == stack->inline_items
                                           ? malloc(new_capacity * sizeof *grown)
                                           : realloc(stack->items, new_capacity * sizeof *grown);
        if (!grown)
            return false;
        if (stack->items == stack->inline_items)
            memcpy(grown, stack->inline_items, sizeof stack->inline_items);
        stack->items = grown;
        stack->capacity = new_capacity;
    }
    stack->items[stack->depth++].item = container;
    return true;
}

static bool is_object(const cJSON *item)
{
    return (item->type & 0xFF) == cJSON_Object;
}

/* Print root and everything below it, in document order: after each value
 * comes a comma when it has a next sibling, else the closing bracket of each
 * container it ends. The siblings of root itself are not printed. */
static bool print_tree(struct json_writer *w, const cJSON *root, struct container_stack *stack)
{
    const cJSON *item = root;

    for (;;) {
        if (stack->depth > 0 && is_object(stack->items[stack->depth - 1].item) &&
            !print_string(w, item->string, true))
            return false;

        int type = item->type & 0xFF;
        if (type == cJSON_Array || type == cJSON_Object) {
            char open = type == cJSON_Array ? '[' : '{';
            if (item->child) {
                if (!writer_put_char(w, open) || !container_push(stack, item))
                    return false;
                item = item->child;
                continue;
            }
            if (!writer_put(w, type == cJSON_Array ? "[]" : "{}", 2))
                return false;
        } else if (!print_scalar(w, item)) {
            return false;
        }

        while (stack->depth > 0 && !item->next) {
            item = stack->items[--stack->depth].item;
            if (!writer_put_char(w, is_object(item) ? '}' : ']'))
                return false;
        }
        if (stack->depth == 0)
            return true;
        if (!writer_put_char(w, ','))
            return false;
        item = item->next;
    }
}

/* Print item into w and write the NUL after it. */
static bool print_item(struct json_writer *w, const cJSON *item)
{
    struct container_stack stack;
    stack.items = stack.inline_items;
    stack.depth = 0;
    stack.capacity = sizeof stack.inline_items / sizeof stack.inline_items[0];

    bool printed = item && print_tree(w, item, &stack);
    if (stack.items != stack.inline_items)
        free(stack.items);
    if (printed)
        *w->pos = '\0';
    return printed;
}

size_t ig_json_print_into(const cJSON *item, char *buffer, size_t size)
{
    if (!buffer || size == 0)
        return 0;

    struct json_writer writer = {buffer, buffer, buffer + size - 1, false};
    if (!print_item(&writer, item)) {
        buffer[0] = '\0';
        return 0;
    }
    return (size_t)(writer.pos - buffer);
}

char *ig_json_print(const cJSON *item, size_t *length)
{
    /* The same first size as cJSON's print buffer. */
    size_t capacity = 256;
    struct json_writer writer = {.growable = true};
    /* The writer owns the buffer and may move it while it grows. */
    writer.start = malloc(capacity);
    if (!writer.start)
        return NULL;
    writer.pos = writer.start;
    writer.limit = writer.start + capacity - 1;
    if (!print_item(&writer, item)) {
        free(writer.start);
        return NULL;
    }

    size_t used = (size_t)(writer.pos - writer.start);
    char *text = realloc(writer.start, used + 1);
    if (!text)
        text = writer.start;
    if (length)
        *length = used;
    return text;
}
