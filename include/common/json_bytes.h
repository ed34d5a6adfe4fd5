/* Byte classes of JSON string text, shared by the review scanner, the
 * printer and the log. A plain byte stands for itself inside a JSON string.
 * A stop byte does not: the quote, the backslash and the control characters
 * U+0000 to U+001F, which JSON forbids unescaped. */
#ifndef IG_COMMON_JSON_BYTES_H
#define IG_COMMON_JSON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline bool ig_json_is_stop_byte(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* Return the letter after the backslash for the stop bytes that have a
 * two-character escape, or 0 for the others, which print as \u00xx. */
static inline char ig_json_short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

/* Return how many bytes c takes inside a printed JSON string: 1 for a plain
 * byte, 2 for a short escape, 6 for \u00xx. */
static inline size_t ig_json_printed_width(unsigned char c)
{
    if (!ig_json_is_stop_byte(c))
        return 1;
    return ig_json_short_escape(c) ? 2 : 6;
}

#if defined(__SSE2__)
/* Return a mask of the 16 bytes of chunk with bit i set where byte i is a
 * stop byte. */
static inline __attribute__((always_inline)) unsigned int ig_json_stop_mask_of(__m128i chunk)
{
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control_max = _mm_set1_epi8(0x1f);
    __m128i stops = _mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash));
    stops = _mm_or_si128(stops, _mm_cmpeq_epi8(_mm_max_epu8(chunk, control_max), control_max));
    return (unsigned int)_mm_movemask_epi8(stops);
}

/* The same for the 16 bytes at p, which must all be readable. */
static inline __attribute__((always_inline)) unsigned int ig_json_stop_mask(const unsigned char *p)
{
    return ig_json_stop_mask_of(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* Return the length bytes at p, 4 <= length <= 16, in one vector built from
 * two overlapping 8-byte pieces, or two 4-byte pieces each repeated. Every
 * byte of the vector is one of the length bytes, so a test of the whole
 * vector tests exactly them, and no byte outside them is read. The pieces go
 * into the register directly: a 16-byte load of two 8-byte stores just made
 * cannot take them from the store buffer and waits for the cache. */
static inline __attribute__((always_inline)) __m128i ig_json_load_short(const unsigned char *p,
                                                                        size_t length)
{
    if (length >= 8) {
        uint64_t head;
        uint64_t tail;
        memcpy(&head, p, 8);
        memcpy(&tail, p + length - 8, 8);
        return _mm_set_epi64x((long long)tail, (long long)head);
    }
    uint32_t head;
    uint32_t tail;
    memcpy(&head, p, 4);
    memcpy(&tail, p + length - 4, 4);
    return _mm_set_epi32((int)tail, (int)head, (int)tail, (int)head);
}
#endif

/* Return the first stop byte at or after p, or end when there is none. */
static inline __attribute__((always_inline)) const unsigned char *
ig_json_skip_plain(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    while (end - p >= 16) {
        unsigned int mask = ig_json_stop_mask(p);
        if (mask != 0)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !ig_json_is_stop_byte(*p))
        p++;
    return p;
}

#endif
