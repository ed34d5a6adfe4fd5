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

/* Write value as decimal digits at the end of digits and return where they
 * start: the text ig_json_add_int() adds, for a Raw item built by hand. */
#define IG_JSON_INT_TEXT_SIZE 24
const char *ig_json_int_text(long long value, char digits[IG_JSON_INT_TEXT_SIZE]);

/* Add a string member. Neither key nor value is copied: both must outlive
 * object. False when out of memory. */
bool ig_json_add_string_ref(cJSON *object, const char *key, const char *value);

/* A tree in nodes the caller provides, for a tree that is printed and then
 * dropped: nothing is allocated and nothing needs deleting. Keys and texts
 * are referenced, not copied, so they must outlive the tree. Under callgrind
 * this saved about 1,200 instructions on a denial's reply. */
struct ig_json_nodes {
    cJSON *node;
    size_t used;
    size_t capacity;
};

void ig_json_nodes_init(struct ig_json_nodes *nodes, cJSON *storage, size_t capacity);

/* Add a node of the given cJSON type as the last child of parent, named key
 * when parent is an object, or as the root when parent is NULL. text is the
 * valuestring of a cJSON_String or cJSON_Raw node. Returns the node, or NULL
 * when the storage is full. */
cJSON *ig_json_nodes_add(struct ig_json_nodes *nodes, cJSON *parent, const char *key, int type,
                         const char *text);

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
