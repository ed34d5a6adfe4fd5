/* Growable byte buffer used by the AWS client to build canonical requests
 * and bodies. An allocation failure sets failed and turns later appends into
 * no-ops, so callers check once at the end. */
#ifndef IG_AWS_BUFFER_H
#define IG_AWS_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

struct ig_aws_buffer {
    char *data; /* NUL-terminated when not NULL */
    size_t length;
    size_t capacity;
    bool failed;
};

void ig_aws_buffer_append(struct ig_aws_buffer *buffer, const void *data, size_t length);
void ig_aws_buffer_append_str(struct ig_aws_buffer *buffer, const char *text);
void ig_aws_buffer_append_char(struct ig_aws_buffer *buffer, char c);
/* Append text with every byte outside A-Z a-z 0-9 - . _ ~ written as %XX
 * (upper-case hex); '/' is kept when keep_slash is true. */
void ig_aws_buffer_append_uri_encoded(struct ig_aws_buffer *buffer, const char *text, size_t length,
                                      bool keep_slash);
/* Take ownership of the data (NULL when failed); the buffer is reset. */
char *ig_aws_buffer_take(struct ig_aws_buffer *buffer);
/* Wipe and free. */
void ig_aws_buffer_wipe(struct ig_aws_buffer *buffer);

#endif
