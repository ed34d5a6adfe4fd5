#include "admission/scan.h"

#include "common/json_bytes.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum spec_kind {
    SPEC_KEEP, /* build the whole value */
    SPEC_MAP,  /* an object of which only the listed members are kept */
};

/* A map lists fewer than 64 children: parse_object keeps one bit per child. */
struct field_spec {
    const char *name;
    size_t name_length;
    enum spec_kind kind;
    const struct field_spec *children; /* for SPEC_MAP, terminated by a NULL name */
};

#define KEEP(n) {n, sizeof(n) - 1, SPEC_KEEP, NULL}
#define MAP(n, c) {n, sizeof(n) - 1, SPEC_MAP, c}
#define END {NULL, 0, SPEC_KEEP, NULL}

/* The fields of an ExternalSecret or ClusterExternalSecret that the rule, the
 * messages and the patch builder read. Maps are kept even when empty, because
 * the patch builder needs to know whether a parent exists. */
static const struct field_spec rotation_annotation[] = {KEEP("immutable-guard.io/rotation"), END};
static const struct field_spec target_fields[] = {KEEP("immutable"), END};
static const struct field_spec es_spec_fields[] = {
    MAP("target", target_fields), KEEP("refreshPolicy"), KEEP("refreshInterval"), END};
static const struct field_spec es_metadata_fields[] = {MAP("annotations", rotation_annotation), END};
static const struct field_spec object_spec_fields[] = {
    MAP("target", target_fields),
    KEEP("refreshPolicy"),
    KEEP("refreshInterval"),
    MAP("externalSecretSpec", es_spec_fields),
    MAP("externalSecretMetadata", es_metadata_fields),
    END,
};
static const struct field_spec metadata_fields[] = {
    KEEP("name"), KEEP("namespace"), KEEP("generateName"), KEEP("deletionTimestamp"),
    MAP("annotations", rotation_annotation), END,
};
static const struct field_spec object_fields[] = {
    KEEP("apiVersion"), KEEP("kind"), MAP("metadata", metadata_fields), MAP("spec", object_spec_fields),
    END,
};
static const struct field_spec user_fields[] = {KEEP("username"), END};
static const struct field_spec group_version_kind_fields[] = {
    KEEP("group"), KEEP("version"), KEEP("kind"), END};
static const struct field_spec request_fields[] = {
    KEEP("uid"),       MAP("kind", group_version_kind_fields), KEEP("operation"),
    KEEP("namespace"), KEEP("name"),      MAP("userInfo", user_fields),
    KEEP("dryRun"),    MAP("object", object_fields), MAP("oldObject", object_fields),
    END,
};
static const struct field_spec review_fields[] = {
    KEEP("apiVersion"), KEEP("kind"), MAP("request", request_fields), END};

struct scanner {
    const char *start;
    const char *p;
    const char *end;
    int depth;
    bool oom;
    bool too_deep;
};

static const bool is_space[256] = {[' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true};

static inline __attribute__((always_inline)) void skip_whitespace(struct scanner *s)
{
    const unsigned char *p = (const unsigned char *)s->p;
    const unsigned char *end = (const unsigned char *)s->end;
    while (p < end && is_space[*p])
        p++;
    s->p = (const char *)p;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool read_hex4(struct scanner *s, unsigned int *code)
{
    if (s->end - s->p < 4)
        return false;
    *code = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_value(s->p[i]);
        if (digit < 0)
            return false;
        *code = (*code << 4) | (unsigned int)digit;
    }
    s->p += 4;
    return true;
}

static size_t encode_utf8(unsigned int code, char *out)
{
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | (code >> 12));
        out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code >> 18));
    out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

/* Scan a string starting at its opening quote. When out is not NULL, decode
 * it into out, which has room for out_size bytes. A string that does not fit is
 * still scanned, and *out_length is then set to SIZE_MAX. The raw length plus
 * one always fits, because no escape decodes to more bytes than it takes.
 * Lone surrogates decode to U+FFFD, as Go's encoding/json does. */
static bool scan_string(struct scanner *s, char *out, size_t out_size, size_t *out_length)
{
    const unsigned char *p = (const unsigned char *)s->p;
    const unsigned char *end = (const unsigned char *)s->end;
    size_t used = 0;
    bool fits = true;

    if (p >= end || *p != '"')
        return false;
    p++;
    for (;;) {
        const unsigned char *run = p;
        p = ig_json_skip_plain(p, end);
        if (out && fits) {
            size_t run_length = (size_t)(p - run);
            if (run_length < out_size - used) {
                memcpy(out + used, run, run_length);
                used += run_length;
            } else {
                fits = false;
            }
        }
        if (p >= end || *p < 0x20)
            goto fail;
        if (*p == '"') {
            p++;
            break;
        }
        p++; /* backslash */
        if (p >= end)
            goto fail;
        unsigned char escape = *p++;
        char decoded;
        switch (escape) {
        case '"': decoded = '"'; break;
        case '\\': decoded = '\\'; break;
        case '/': decoded = '/'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'u': {
            unsigned int code;
            s->p = (const char *)p;
            if (!read_hex4(s, &code))
                goto fail;
            if (code >= 0xD800 && code <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\' &&
                s->p[1] == 'u') {
                struct scanner peek = *s;
                unsigned int low;
                peek.p += 2;
                if (read_hex4(&peek, &low) && low >= 0xDC00 && low <= 0xDFFF) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    s->p = peek.p;
                }
            }
            p = (const unsigned char *)s->p;
            /* A NUL would end the C string early and hide the rest of the value
             * from every strcmp ("recreate\u0000x" would pass as "recreate"),
             * so it decodes to U+FFFD like a lone surrogate. */
            if ((code >= 0xD800 && code <= 0xDFFF) || code == 0)
                code = 0xFFFD;
            if (out && fits) {
                if (out_size - used > 4)
                    used += encode_utf8(code, out + used);
                else
                    fits = false;
            }
            continue;
        }
        default:
            goto fail;
        }
        if (out && fits) {
            if (out_size - used > 1)
                out[used++] = decoded;
            else
                fits = false;
        }
    }
    s->p = (const char *)p;
    if (out) {
        out[fits ? used : 0] = '\0';
        *out_length = fits ? used : SIZE_MAX;
    }
    return true;

fail:
    s->p = (const char *)p;
    return false;
}

static bool is_hex_digit(unsigned char c)
{
    return hex_value((char)c) >= 0;
}

/* Step over the escape sequence at p (a backslash): the position after it,
 * or NULL when it is not a valid JSON escape. */
static inline __attribute__((always_inline)) const unsigned char *
skip_escape(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 2)
        return NULL;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 2;
    case 'u':
        if (end - p < 6 || !is_hex_digit(p[2]) || !is_hex_digit(p[3]) || !is_hex_digit(p[4]) ||
            !is_hex_digit(p[5]))
            return NULL;
        return p + 6;
    default:
        return NULL;
    }
}

/* Validate and skip a string starting at its opening quote, decoding
 * nothing. This is the path for most of a review: managedFields and the
 * last-applied annotation are only checked to be valid JSON. */
static inline __attribute__((always_inline)) bool skip_string(struct scanner *s)
{
    const unsigned char *p = (const unsigned char *)s->p;
    const unsigned char *end = (const unsigned char *)s->end;

    if (p >= end || *p != '"')
        return false;
    p++;
#if defined(__SSE2__)
    /* Sixteen bytes at a time. The escapes of a chunk are stepped over
     * through its mask, without loading it again, because the last-applied
     * annotation is JSON inside a string, with an escaped quote every few
     * bytes. */
    while (end - p >= 16) {
        unsigned int mask = ig_json_stop_mask(p);
        const unsigned char *next_chunk = p + 16;
        while (mask != 0) {
            const unsigned char *stop = p + __builtin_ctz(mask);
            if (*stop == '"') {
                s->p = (const char *)stop + 1;
                return true;
            }
            const unsigned char *after = *stop == '\\' ? skip_escape(stop, end) : NULL;
            if (!after) {
                s->p = (const char *)stop; /* a control character or an invalid escape */
                return false;
            }
            size_t consumed = (size_t)(after - p);
            if (consumed >= 16) {
                next_chunk = after;
                break;
            }
            mask &= ~0u << consumed;
        }
        p = next_chunk;
    }
#endif
    while (p < end) {
        if (!ig_json_is_stop_byte(*p)) {
            p++;
            continue;
        }
        if (*p == '"') {
            s->p = (const char *)p + 1;
            return true;
        }
        const unsigned char *after = *p == '\\' ? skip_escape(p, end) : NULL;
        if (!after)
            break;
        p = after;
    }
    s->p = (const char *)p;
    return false;
}

static bool scan_number(struct scanner *s)
{
    const char *p = s->p;
    if (p < s->end && *p == '-')
        p++;
    if (p >= s->end)
        return false;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return false;
    }
    if (p < s->end && *p == '.') {
        p++;
        const char *digits = p;
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return false;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        const char *digits = p;
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return false;
    }
    s->p = p;
    return true;
}

static bool scan_literal(struct scanner *s, const char *word)
{
    size_t length = strlen(word);
    if ((size_t)(s->end - s->p) < length || memcmp(s->p, word, length) != 0)
        return false;
    s->p += length;
    return true;
}

/* True when the next byte after any whitespace is c, which is left unread.
 * Compact JSON, as kube-apiserver sends it, needs one comparison. */
static inline __attribute__((always_inline)) bool next_is(struct scanner *s, char c)
{
    if (s->p < s->end && *s->p == c)
        return true;
    skip_whitespace(s);
    return s->p < s->end && *s->p == c;
}

/* After a member or element: 1 when a comma follows (another one comes), 0
 * when the container closes with `close` (and its depth is released), -1 on
 * anything else. */
static inline __attribute__((always_inline)) int next_element(struct scanner *s, char close)
{
    if (next_is(s, ',')) {
        s->p++;
        return 1;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    return -1;
}

/* Step into the container whose opening bracket is at s->p: 1 when it closes
 * at once with `close` (empty, and its depth is released), 0 when members
 * follow, -1 past the nesting limit (too_deep is then set). */
static inline __attribute__((always_inline)) int open_container(struct scanner *s, char close)
{
    if (++s->depth > IG_SCAN_MAX_DEPTH) {
        s->too_deep = true;
        return -1;
    }
    s->p++;
    if (next_is(s, close)) {
        s->p++;
        s->depth--;
        return 1;
    }
    return 0;
}

static cJSON *parse_value(struct scanner *s, const struct field_spec *spec);

/* After an object's opening brace or a comma in it: skip the member's key
 * and the colon. */
static inline __attribute__((always_inline)) bool skip_member_key(struct scanner *s)
{
    if (!next_is(s, '"') || !skip_string(s) || !next_is(s, ':'))
        return false;
    s->p++;
    return true;
}

/* Validate and skip any value. A loop, not recursion: the bulk of a review
 * (managedFields) is many small nested objects. in_object records, for each
 * container this call has entered, whether it is an object. */
static bool skip_value(struct scanner *s)
{
    bool in_object[IG_SCAN_MAX_DEPTH + 1];
    int open = 0;

    for (;;) {
        if (s->p >= s->end)
            return false;
        bool ok;
        switch (*s->p) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            skip_whitespace(s);
            continue;
        case '"':
            ok = skip_string(s);
            break;
        case 't':
            ok = scan_literal(s, "true");
            break;
        case 'f':
            ok = scan_literal(s, "false");
            break;
        case 'n':
            ok = scan_literal(s, "null");
            break;
        case '{':
        case '[': {
            bool object = *s->p == '{';
            int opened = open_container(s, object ? '}' : ']');
            if (opened < 0)
                return false;
            if (opened == 0) {
                in_object[open++] = object;
                if (object && !skip_member_key(s))
                    return false;
                continue; /* to the first member's value */
            }
            ok = true; /* empty */
            break;
        }
        default:
            ok = scan_number(s);
            break;
        }
        if (!ok)
            return false;

        /* After a value: close what ends here, or move to the next member. */
        for (;;) {
            if (open == 0)
                return true;
            bool object = in_object[open - 1];
            int next = next_element(s, object ? '}' : ']');
            if (next < 0)
                return false;
            if (next > 0) {
                if (object && !skip_member_key(s))
                    return false;
                break;
            }
            open--;
        }
    }
}

static cJSON *oom(struct scanner *s)
{
    s->oom = true;
    return NULL;
}

/* Return the text between the quote at s->p and the closing quote, and move
 * past it, when that text has no escape, so that it reads as it is written.
 * Otherwise return NULL with s->p unchanged: the caller decodes the string. */
static const char *plain_string(struct scanner *s, size_t *length)
{
    const unsigned char *open = (const unsigned char *)s->p;
    const unsigned char *end = (const unsigned char *)s->end;
    if (open >= end || *open != '"')
        return NULL;
    const unsigned char *stop = ig_json_skip_plain(open + 1, end);
    if (stop >= end || *stop != '"')
        return NULL;
    *length = (size_t)(stop - open - 1);
    s->p = (const char *)stop + 1;
    return (const char *)open + 1;
}

/* Decode the string that starts at start and ends just before s->p, already
 * validated, into out. out has room for the raw length plus one, which is
 * always enough. Returns the decoded length. */
static size_t decode_scanned_string(const struct scanner *s, const char *start, char *out)
{
    struct scanner again = {.start = s->start, .p = start, .end = s->p};
    size_t length = 0;
    scan_string(&again, out, (size_t)(s->p - start) + 1, &length);
    return length;
}

/* Make a string item that owns text, which came from cJSON_malloc. */
static cJSON *adopt_string(struct scanner *s, char *text)
{
    cJSON *item = cJSON_CreateNull();
    if (!item) {
        cJSON_free(text);
        return oom(s);
    }
    item->type = cJSON_String;
    item->valuestring = text;
    return item;
}

static cJSON *parse_string_value(struct scanner *s)
{
    const char *start = s->p;
    size_t length;

    /* Most strings have no escape: copy them once, into cJSON's memory. */
    const char *plain = plain_string(s, &length);
    if (plain) {
        char *text = cJSON_malloc(length + 1);
        if (!text)
            return oom(s);
        memcpy(text, plain, length);
        text[length] = '\0';
        return adopt_string(s, text);
    }

    /* The decoded text is never longer than the raw text. */
    if (!skip_string(s))
        return NULL;
    char *text = cJSON_malloc((size_t)(s->p - start) + 1);
    if (!text)
        return oom(s);
    decode_scanned_string(s, start, text);
    return adopt_string(s, text);
}

static cJSON *parse_number_value(struct scanner *s)
{
    const char *start = s->p;
    char digits[64];
    if (!scan_number(s))
        return NULL;
    size_t length = (size_t)(s->p - start);
    double value = 0;
    if (length < sizeof digits) {
        memcpy(digits, start, length);
        digits[length] = '\0';
        value = strtod(digits, NULL);
    } else {
        /* A number this long is valid JSON but never one this code reads. */
        char *copy = strndup(start, length);
        if (!copy)
            return oom(s);
        value = strtod(copy, NULL);
        free(copy);
    }
    cJSON *item = cJSON_CreateNumber(value);
    return item ? item : oom(s);
}

static const struct field_spec *find_child(const struct field_spec *children, const char *name,
                                           size_t length)
{
    for (const struct field_spec *child = children; child && child->name; child++) {
        /* The first byte first: most names differ there, and memcmp is a call.
         * No listed name is empty, so an empty key is never read. */
        if (child->name_length == length && length > 0 && child->name[0] == name[0] &&
            memcmp(child->name, name, length) == 0)
            return child;
    }
    return NULL;
}

struct member_ref {
    cJSON *item;
    size_t index;
};

static int compare_members(const void *a, const void *b)
{
    const struct member_ref *x = a;
    const struct member_ref *y = b;
    int order = strcmp(x->item->string, y->item->string);
    if (order != 0)
        return order;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Keep only the last member of each name, as Go's encoding/json does. Many
 * members are sorted by name and position, so the cost is n log n: looking
 * each one up among the earlier ones took 20 s for 100,000 members. Return
 * false when out of memory. */
static bool drop_earlier_duplicates(cJSON *object, size_t count)
{
    if (count < 2)
        return true;
    if (count <= 8) {
        /* Few members, the usual case: compare each with the later ones. */
        cJSON *item = object->child;
        while (item) {
            cJSON *next = item->next;
            for (const cJSON *later = next; later; later = later->next) {
                if (strcmp(item->string, later->string) == 0) {
                    cJSON_Delete(cJSON_DetachItemViaPointer(object, item));
                    break;
                }
            }
            item = next;
        }
        return true;
    }
    struct member_ref *members = malloc(count * sizeof *members);
    if (!members)
        return false;
    size_t n = 0;
    for (cJSON *item = object->child; item && n < count; item = item->next) {
        members[n].item = item;
        members[n].index = n;
        n++;
    }
    qsort(members, n, sizeof *members, compare_members);
    for (size_t i = 0; i + 1 < n; i++) {
        if (strcmp(members[i].item->string, members[i + 1].item->string) == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(object, members[i].item));
    }
    free(members);
    return true;
}

/* A member's key as read by read_member_key(). text is NUL-terminated
 * unless the key was read in place. */
struct member_key {
    const char *text;
    size_t length;
    char *owned; /* from malloc, for a key longer than buffer; else NULL */
    char buffer[256];
};

/* Read a member's key and the colon after it. With in_place, a key without
 * escapes is pointed to inside the body, not copied: a pruned object only
 * compares it with the listed names. */
static bool read_member_key(struct scanner *s, bool in_place, struct member_key *key)
{
    key->owned = NULL;
    skip_whitespace(s);
    const char *start = s->p;
    key->text = in_place ? plain_string(s, &key->length) : NULL;
    if (!key->text) {
        if (!scan_string(s, key->buffer, sizeof key->buffer, &key->length))
            return false;
        key->text = key->buffer;
    }
    if (key->length == SIZE_MAX) {
        /* Longer than any field name this code reads, but kept values keep it. */
        key->owned = malloc((size_t)(s->p - start) + 1);
        if (!key->owned) {
            oom(s);
            return false;
        }
        key->length = decode_scanned_string(s, start, key->owned);
        key->text = key->owned;
    }

    if (!next_is(s, ':')) {
        free(key->owned);
        return false;
    }
    s->p++;
    return true;
}

/* Parse an object; with a SPEC_MAP spec only the listed members are built,
 * without one (a kept value) every member is. */
static cJSON *parse_object(struct scanner *s, const struct field_spec *spec)
{
    cJSON *object = cJSON_CreateObject();
    if (!object)
        return oom(s);
    uint64_t listed_added = 0; /* bit i: spec->children[i] is in object */
    size_t kept_members = 0;   /* members of an object kept whole */
    int opened = open_container(s, '}');
    if (opened > 0)
        return object;
    if (opened < 0)
        goto fail;
    for (;;) {
        struct member_key key;
        if (!read_member_key(s, spec != NULL, &key))
            goto fail;

        const struct field_spec *child = NULL;
        bool wanted = true;
        if (spec) {
            child = find_child(spec->children, key.text, key.length);
            wanted = child != NULL;
        }
        if (!wanted) {
            free(key.owned);
            if (!skip_value(s))
                goto fail;
        } else {
            cJSON *value = parse_value(s, child && child->kind == SPEC_MAP ? child : NULL);
            if (!value) {
                free(key.owned);
                goto fail;
            }
            /* Last duplicate wins, as in Go's encoding/json. A listed member
             * is looked up only when its bit shows it was added before. An
             * object kept whole drops its duplicates once it is complete.
             * A listed member's key is the spec's static name: no copy. */
            if (child) {
                uint64_t bit = UINT64_C(1) << (child - spec->children);
                if (listed_added & bit)
                    cJSON_DeleteItemFromObjectCaseSensitive(object, child->name);
                listed_added |= bit;
                cJSON_AddItemToObjectCS(object, child->name, value);
            } else {
                kept_members++;
                cJSON_AddItemToObject(object, key.text, value);
            }
            free(key.owned);
        }

        int next = next_element(s, '}');
        if (next == 0) {
            if (!drop_earlier_duplicates(object, kept_members)) {
                oom(s);
                goto fail;
            }
            return object;
        }
        if (next < 0)
            goto fail;
    }

fail:
    cJSON_Delete(object);
    return NULL;
}

/* Parse an array fully; an array where an object is expected is only
 * validated and kept empty. */
static cJSON *parse_array(struct scanner *s, bool keep_items)
{
    if (!keep_items) {
        if (!skip_value(s))
            return NULL;
        cJSON *empty = cJSON_CreateArray();
        return empty ? empty : oom(s);
    }
    cJSON *array = cJSON_CreateArray();
    if (!array)
        return oom(s);
    int opened = open_container(s, ']');
    if (opened > 0)
        return array;
    if (opened < 0)
        goto fail;
    for (;;) {
        cJSON *item = parse_value(s, NULL);
        if (!item)
            goto fail;
        cJSON_AddItemToArray(array, item);
        int next = next_element(s, ']');
        if (next == 0)
            return array;
        if (next < 0)
            goto fail;
    }

fail:
    cJSON_Delete(array);
    return NULL;
}

/* spec is a SPEC_MAP for pruned objects, or NULL to keep the whole value. */
static cJSON *parse_value(struct scanner *s, const struct field_spec *spec)
{
    cJSON *item;
    skip_whitespace(s);
    if (s->p >= s->end)
        return NULL;
    switch (*s->p) {
    case '{':
        return parse_object(s, spec);
    case '[':
        return parse_array(s, spec == NULL);
    case '"':
        return parse_string_value(s);
    case 't':
        if (!scan_literal(s, "true"))
            return NULL;
        item = cJSON_CreateTrue();
        break;
    case 'f':
        if (!scan_literal(s, "false"))
            return NULL;
        item = cJSON_CreateFalse();
        break;
    case 'n':
        if (!scan_literal(s, "null"))
            return NULL;
        item = cJSON_CreateNull();
        break;
    default:
        return parse_number_value(s);
    }
    return item ? item : oom(s);
}

cJSON *ig_review_scan(const char *text, size_t length, size_t *error_offset, bool *too_deep)
{
    static const struct field_spec root = MAP("", review_fields);
    struct scanner s = {.start = text, .p = text, .end = text + length};

    cJSON *tree = parse_value(&s, &root);
    if (tree) {
        skip_whitespace(&s);
        if (s.p != s.end) {
            cJSON_Delete(tree);
            tree = NULL;
        }
    }
    if (!tree && error_offset)
        *error_offset = (size_t)(s.p - s.start);
    if (too_deep)
        *too_deep = !tree && s.too_deep;
    return tree;
}
