/* Byte classes of JSON string text, shared by the review scanner and the
 * printer. A plain byte stands for itself inside a JSON string. A stop byte
 * does not: the quote, the backslash and the control characters U+0000 to
 * U+001F, which JSON forbids unescaped. */
#ifndef IG_COMMON_JSON_BYTES_H
#define IG_COMMON_JSON_BYTES_H

#include <stdbool.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline bool ig_json_is_stop_byte(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
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
