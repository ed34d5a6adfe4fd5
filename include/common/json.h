/* Small cJSON helpers: accessors that tolerate any input shape, and the
 * cheaper ways to build and print that the request path uses. */
#ifndef IG_COMMON_JSON_H
#define IG_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Member key of object; NULL when object is NULL, not an object, or lacks it. */
const cJSON *ig_json_member(const cJSON *object, const char *key);

/* The string member key of object; NULL when absent or not a string. */
const char *ig_json_string(const cJSON *object, const char *key);

/* Add an integer member that prints as plain decimal digits. cJSON 1.7.15
 * prints every number with "%1.15g" and reads it back with sscanf, about
 * 5,000 instructions per number under callgrind. The key is not copied, so
 * it must outlive object (a string literal does). False when out of memory. */
bool ig_json_add_int(cJSON *object, const char *key, long long value);

/* Add a string member. Neither key nor value is copied: both must outlive
 * object. False when out of memory. */
bool ig_json_add_string_ref(cJSON *object, const char *key, const char *value);

/* Print item without whitespace into buffer (size bytes). Returns the length
 * printed, NUL excluded, or 0 when it does not fit. cJSON reserves a few
 * bytes beyond the text while it prints, so a buffer just one byte longer
 * than the text can still be too small. */
size_t ig_json_print_into(const cJSON *item, char *buffer, size_t size);

#endif
