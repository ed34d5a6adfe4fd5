#include "common/base64.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

char *ig_base64_encode(const unsigned char *data, size_t length)
{
    if (length > (SIZE_MAX / 4) * 3 - 3 || length > INT32_MAX)
        return NULL;
    size_t encoded_length = 4 * ((length + 2) / 3);
    char *out = malloc(encoded_length + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)length);
    out[encoded_length] = '\0';
    return out;
}

unsigned char *ig_base64_decode(const char *text, size_t text_length, size_t *length)
{
    if (text_length % 4 != 0 || text_length > INT32_MAX)
        return NULL;
    unsigned char *out = malloc(text_length / 4 * 3 + 1);
    if (!out)
        return NULL;
    int decoded = EVP_DecodeBlock(out, (const unsigned char *)text, (int)text_length);
    if (decoded < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
    size_t padding = 0;
    if (text_length >= 1 && text[text_length - 1] == '=')
        padding++;
    if (text_length >= 2 && text[text_length - 2] == '=')
        padding++;
    *length = (size_t)decoded - padding;
    out[*length] = '\0';
    return out;
}
