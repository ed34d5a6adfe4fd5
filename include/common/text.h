/* Text made safe for single-line, valid UTF-8 output (warnings, logs). */
#ifndef IG_COMMON_TEXT_H
#define IG_COMMON_TEXT_H

#include <stddef.h>

/* Copy text into out as valid single-line UTF-8: control characters and
 * invalid bytes become '?', and a cut never splits a character. Returns the
 * number of bytes written, without the NUL. */
size_t ig_text_sanitize(const char *text, char *out, size_t size);

#endif
