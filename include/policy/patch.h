/* RFC 6902 JSON Patch operations that the mutating webhook returns. */
#ifndef IG_POLICY_PATCH_H
#define IG_POLICY_PATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "admission/review.h"
#include "policy/rule.h"

/* Append key to a JSON Pointer (RFC 6901) as "/key", escaping "~" as "~0" and
 * "/" as "~1". Returns false when out is too small. */
bool ig_json_pointer_append(char *out, size_t size, const char *key);

/* Append to `patch` (a JSON array) the operations that set the member at the
 * key path `keys` of `document` to `value`. Missing parent objects are
 * created by one "add" of a nested object, because adding into a parent that
 * does not exist fails. A parent that exists but is not an object is replaced.
 * Takes ownership of value. Returns false when out of memory or a path is too long. */
bool ig_patch_set(cJSON *patch, const cJSON *document, const char *const *keys, size_t key_count,
                  cJSON *value);

/* Build the patch that fixes a violating object with the given action:
 * annotate adds immutable-guard.io/rotation: recreate, set-mutable sets the
 * target's immutable to false. Returns a new array (empty when nothing applies)
 * or NULL when out of memory. */
cJSON *ig_patch_for_violation(enum ig_es_kind kind, const cJSON *object,
                              enum ig_mutate_action action);

#endif
