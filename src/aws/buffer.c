#include "aws/buffer.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static bool buffer_reserve(struct ig_aws_buffer *buffer, size_t extra)
{
    if (buffer->failed)
        return false;
    if (extra > (size_t)-1 / 2 - buffer->length) {
        buffer->failed = true;
        return false;
    }
    size_t needed = buffer->length + extra + 1;
    if (needed <= buffer->capacity)
        return true;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed)
        capacity *= 2;
    /* Grow by copying, so that the old block can be wiped: it may contain a token. */
    char *data = malloc(capacity);
    if (!data) {
        buffer->failed = true;
        return false;
    }
    if (buffer->data) {
        memcpy(data, buffer->data, buffer->length + 1);
        OPENSSL_cleanse(buffer->data, buffer->capacity);
        free(buffer->data);
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

void ig_aws_buffer_append(struct ig_aws_buffer *buffer, const void *data, size_t length)
{
    if (!buffer_reserve(buffer, length) || !buffer->data)
        return;
    if (length)
        memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

void ig_aws_buffer_append_str(struct ig_aws_buffer *buffer, const char *text)
{
    ig_aws_buffer_append(buffer, text, strlen(text));
}

void ig_aws_buffer_append_char(struct ig_aws_buffer *buffer, char c)
{
    ig_aws_buffer_append(buffer, &c, 1);
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void ig_aws_buffer_append_uri_encoded(struct ig_aws_buffer *buffer, const char *text, size_t length,
                                      bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            ig_aws_buffer_append_char(buffer, (char)c);
        } else {
            char escaped[3] = {'%', hex[c >> 4], hex[c & 0x0f]};
            ig_aws_buffer_append(buffer, escaped, sizeof escaped);
        }
    }
}

char *ig_aws_buffer_take(struct ig_aws_buffer *buffer)
{
    char *data = NULL;
    if (buffer->failed) {
        ig_aws_buffer_wipe(buffer);
    } else {
        if (!buffer->data)
            ig_aws_buffer_append(buffer, "", 0);
        data = buffer->data;
        if (buffer->failed)
            data = NULL;
    }
    memset(buffer, 0, sizeof *buffer);
    return data;
}

void ig_aws_buffer_wipe(struct ig_aws_buffer *buffer)
{
    if (buffer->data) {
        OPENSSL_cleanse(buffer->data, buffer->capacity);
        free(buffer->data);
    }
    memset(buffer, 0, sizeof *buffer);
}
