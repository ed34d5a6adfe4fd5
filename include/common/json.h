/* Small cJSON helpers: accessors that tolerate any input shape, and the
 * cheaper ways to build and print that the request path uses. */
#ifndef IG_COMMON_JSON_H
#define IG_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The first member of object named key; NULL when object is NULL, not an
 * object, or lacks it. */
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

/* Print item without whitespace into buffer (size bytes), byte for byte as
 * cJSON_PrintUnformatted of cJSON 1.7.15 prints it, and write a NUL after
 * the text. Returns the length of the text, so a buffer of length + 1 bytes
 * is enough. Returns 0, and leaves an empty string in buffer when size > 0,
 * when the text and its NUL do not fit, when item is NULL, when the tree
 * contains an item that cJSON cannot print either (cJSON_Invalid, an unknown
 * type, a Raw item whose valuestring is NULL), or when memory runs out for a
 * tree more than 32 levels deep. A top-level Raw item with empty text prints
 * successfully as 0 bytes. Where cJSON prints no JSON, this printer does:
 * '.' in a locale whose decimal point is more than one byte, and texts of
 * INT_MAX bytes or more. */
size_t ig_json_print_into(const cJSON *item, char *buffer, size_t size);

/* Print item as ig_json_print_into does, into a string from malloc that the
 * caller frees with free(), not cJSON_free, so it may outlive the cJSON
 * arena window. Stores the length in *length unless length is NULL. Returns
 * NULL when out of memory or when item cannot be printed. */
char *ig_json_print(const cJSON *item, size_t *length);

#endif
