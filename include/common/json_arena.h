/* Per-thread bump allocator for cJSON during one admission request.
 *
 * Between ig_json_arena_begin() and ig_json_arena_end() on a thread, every
 * cJSON allocation of that thread comes from a thread-local 64 KiB block, and
 * cJSON frees of those pointers cost nothing. ig_json_arena_end() releases the
 * whole block at once. Requests that need more fall back to malloc, and other
 * threads are not affected. Rules for code inside the window: free cJSON
 * memory only with cJSON_free/cJSON_Delete, and let no cJSON object or string
 * outlive the window. */
#ifndef IG_COMMON_JSON_ARENA_H
#define IG_COMMON_JSON_ARENA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Install the cJSON hooks (once per process; later calls do nothing). Call
 * before any thread creates cJSON objects. */
void ig_json_arena_install(void);

void ig_json_arena_begin(void);
void ig_json_arena_end(void);

/* Delete item with cJSON_Delete, unless item lies in the current thread's
 * active arena and no allocation of this window fell back to malloc. Then
 * ig_json_arena_end() resets the whole block, so the walk is skipped. Build
 * item entirely inside the window: a child attached from outside is missed. */
void ig_json_delete(cJSON *item);

/* Bytes handed out by the current thread's arena since begin (tests). */
size_t ig_json_arena_used(void);

#endif
