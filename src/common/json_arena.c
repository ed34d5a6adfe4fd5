#include "common/json_arena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_BYTES (64 * 1024)
#define ALIGNMENT 16

struct arena {
    unsigned char *base;
    size_t used;
    bool active;
    bool spilled; /* an allocation in this window fell back to malloc */
};

static _Thread_local struct arena thread_arena;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t arena_key;

static void release_block(void *block)
{
    free(block);
}

static void *arena_malloc(size_t size)
{
    struct arena *arena = &thread_arena;
    if (arena->active && arena->base) {
        /* A zero-byte request still takes a slot, so that it gets an
         * address of its own inside the block. */
        size_t rounded = size == 0 ? ALIGNMENT : (size + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
        if (rounded >= size && rounded <= ARENA_BYTES - arena->used) {
            void *pointer = arena->base + arena->used;
            arena->used += rounded;
            return pointer;
        }
        arena->spilled = true;
    }
    /* malloc(0) may return NULL, which cJSON would take for a failure. */
    return malloc(size ? size : 1);
}

static void arena_free(void *pointer)
{
    const struct arena *arena = &thread_arena;
    uintptr_t address = (uintptr_t)pointer;
    uintptr_t base = (uintptr_t)arena->base;
    if (arena->base && address >= base && address < base + ARENA_BYTES)
        return;
    free(pointer);
}

static void install_hooks(void)
{
    cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    /* The key frees each thread's block when the thread ends. */
    pthread_key_create(&arena_key, release_block);
    cJSON_InitHooks(&hooks);
}

void ig_json_arena_install(void)
{
    pthread_once(&install_once, install_hooks);
}

void ig_json_arena_begin(void)
{
    struct arena *arena = &thread_arena;
    ig_json_arena_install();
    if (!arena->base) {
        arena->base = malloc(ARENA_BYTES);
        if (arena->base)
            pthread_setspecific(arena_key, arena->base);
    }
    arena->used = 0;
    arena->spilled = false;
    arena->active = arena->base != NULL;
}

void ig_json_arena_end(void)
{
    thread_arena.active = false;
    thread_arena.used = 0;
}

void ig_json_delete(cJSON *item)
{
    const struct arena *arena = &thread_arena;
    uintptr_t address = (uintptr_t)item;
    uintptr_t base = (uintptr_t)arena->base;
    bool in_arena = arena->base && address >= base && address < base + ARENA_BYTES;
    /* Nothing of this window came from malloc, so the whole tree is in the
     * block and goes with it at ig_json_arena_end(). */
    if (item && arena->active && !arena->spilled && in_arena)
        return;
    cJSON_Delete(item);
}

size_t ig_json_arena_used(void)
{
    return thread_arena.used;
}
