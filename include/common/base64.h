#ifndef IG_COMMON_BASE64_H
#define IG_COMMON_BASE64_H

#include <stddef.h>

/* Standard base64 (RFC 4648 section 4) with "=" padding and no line breaks.
 * Returns a malloc'd NUL-terminated string, or NULL when out of memory. */
char *ig_base64_encode(const unsigned char *data, size_t length);

/* Decode standard base64 with padding. Returns a malloc'd buffer (NUL-terminated
 * for convenience) and its length, or NULL when the input is not valid base64. */
unsigned char *ig_base64_decode(const char *text, size_t text_length, size_t *length);

#endif
