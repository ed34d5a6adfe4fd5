#include "common/text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Length of the UTF-8 sequence starting at p (at most `left` bytes), or 0 when
 * it is not a valid, shortest-form sequence of a non-surrogate code point. */
static size_t utf8_sequence_length(const unsigned char *p, size_t left)
{
    if (p[0] < 0x80)
        return 1;
    size_t length;
    unsigned int min;
    unsigned int code;
    if ((p[0] & 0xE0) == 0xC0) {
        length = 2;
        min = 0x80;
        code = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        length = 3;
        min = 0x800;
        code = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        length = 4;
        min = 0x10000;
        code = p[0] & 0x07;
    } else {
        return 0;
    }
    if (length > left)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        code = (code << 6) | (p[i] & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    /* C1 control characters (U+0080..U+009F) are control characters too. */
    if (code >= 0x80 && code <= 0x9F)
        return 0;
    return length;
}

/* True when the sequence of length bytes at p is one that ig_text_sanitize()
 * replaces: invalid UTF-8 (length 0) or a control character. */
static bool needs_replacing(const unsigned char *p, size_t length)
{
    return length == 0 || (length == 1 && (p[0] < 0x20 || p[0] == 0x7F));
}

bool ig_text_is_clean(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t left = strlen(text);
    while (left > 0) {
        if (*p >= 0x20 && *p < 0x7F) { /* printable ASCII, the usual case */
            p++;
            left--;
            continue;
        }
        size_t length = utf8_sequence_length(p, left);
        if (needs_replacing(p, length))
            return false;
        p += length;
        left -= length;
    }
    return true;
}

static size_t copy_valid(const char *text, char *out, size_t size, bool keep_controls)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t left = strlen(text);
    size_t used = 0;

    if (size == 0)
        return 0;
    while (left > 0) {
        if (*p >= 0x20 && *p < 0x7F) { /* printable ASCII, the usual case */
            if (used + 1 >= size)
                break;
            out[used++] = (char)*p++;
            left--;
            continue;
        }
        size_t length = utf8_sequence_length(p, left);
        bool replace = keep_controls ? length == 0 : needs_replacing(p, length);
        size_t emit = replace ? 1 : length;
        if (used + emit >= size)
            break;
        if (replace)
            out[used] = '?';
        else
            memcpy(out + used, p, length);
        used += emit;
        /* An invalid byte is consumed alone, a valid sequence whole. */
        size_t consumed = length ? length : 1;
        p += consumed;
        left -= consumed;
    }
    out[used] = '\0';
    return used;
}

size_t ig_text_sanitize(const char *text, char *out, size_t size)
{
    return copy_valid(text, out, size, false);
}

size_t ig_text_valid_utf8(const char *text, char *out, size_t size)
{
    return copy_valid(text, out, size, true);
}

/* The length of the longest prefix of text[0, length) that does not end
 * inside a UTF-8 sequence. Only those bytes are read: text may go on past
 * length without a NUL. */
static size_t whole_characters(const char *text, size_t length)
{
    size_t start = length;
    while (start > 0 && length - start < 3 && ((unsigned char)text[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return length;
    unsigned char lead = (unsigned char)text[start - 1];
    size_t needed = 1;
    if (lead >= 0xF0)
        needed = 4;
    else if (lead >= 0xE0)
        needed = 3;
    else if (lead >= 0xC0)
        needed = 2;
    /* The sequence has its lead byte and length - start continuation bytes. */
    if (needed > length - start + 1)
        return start - 1;
    return length;
}

void ig_text_init(struct ig_text *text, char *buffer, size_t size)
{
    text->data = buffer;
    text->size = size;
    text->used = 0;
    text->full = size == 0;
    if (size > 0)
        buffer[0] = '\0';
}

void ig_text_append_n(struct ig_text *text, const char *piece, size_t max)
{
    if (text->full)
        return;
    size_t room = text->size - 1 - text->used;
    size_t length = strnlen(piece, max);
    bool cut = length == max;
    if (length > room) {
        length = room;
        text->full = true;
        cut = true;
    }
    /* Only a cut can split a character. */
    if (cut)
        length = whole_characters(piece, length);
    memcpy(text->data + text->used, piece, length);
    text->used += length;
    text->data[text->used] = '\0';
}

void ig_text_append(struct ig_text *text, const char *piece)
{
    ig_text_append_n(text, piece, SIZE_MAX);
}
