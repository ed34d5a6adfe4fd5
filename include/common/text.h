/* Text made safe for single-line, valid UTF-8 output (warnings, logs). */
#ifndef IG_COMMON_TEXT_H
#define IG_COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Copy text into out as valid single-line UTF-8: control characters and
 * invalid bytes become '?', and a cut never splits a character. Returns the
 * number of bytes written, without the NUL. */
size_t ig_text_sanitize(const char *text, char *out, size_t size);

/* Like ig_text_sanitize(), but control characters are kept: only invalid
 * UTF-8 becomes '?'. For output that escapes control characters itself. */
size_t ig_text_valid_utf8(const char *text, char *out, size_t size);

/* True when ig_text_sanitize() would copy text unchanged: valid UTF-8
 * without control characters. */
bool ig_text_is_clean(const char *text);

/* Text joined from pieces in a caller's buffer, always NUL-terminated. A
 * piece that does not fit is cut before the first byte of the character that
 * would cross the end, and later pieces are dropped. */
struct ig_text {
    char *data;
    size_t size;
    size_t used;
    bool full; /* a piece was cut for room: later pieces are dropped */
};

void ig_text_init(struct ig_text *text, char *buffer, size_t size);

/* Append at most max bytes of piece, cut on a character boundary. Unlike a
 * cut for room, a cut at max does not drop later pieces. */
void ig_text_append_n(struct ig_text *text, const char *piece, size_t max);

void ig_text_append(struct ig_text *text, const char *piece);

#endif
