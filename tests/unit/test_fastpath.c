/* Helpers of the request fast path: the ig_text builder, the cheap cJSON
 * builders and printer, ig_json_delete inside the arena window, the display
 * name and denial message built with them, and the cached log time. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission/review.h"
#include "common/json.h"
#include "common/json_arena.h"
#include "common/log.h"
#include "common/text.h"
#include "policy/message.h"
#include "policy/rule.h"

#if defined(__SANITIZE_ADDRESS__)
#define FASTPATH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FASTPATH_ASAN 1
#endif
#endif

/* Exact heap counts come from ASan's allocator. glibc 2.36's mallinfo2() counts
 * chunks parked in its per-thread cache as in use, so the release build has
 * no exact count and the heap checks run only under ASan, where
 * LeakSanitizer also checks at exit that nothing was left allocated. */
#ifdef FASTPATH_ASAN
/* Declared in LLVM's sanitizer/allocator_interface.h, which GCC 12 does not
 * ship. libasan exports it. */
size_t __sanitizer_get_current_allocated_bytes(void);

static const bool heap_counted = true;

static size_t heap_bytes_in_use(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
static const bool heap_counted = false;

static size_t heap_bytes_in_use(void)
{
    return 0;
}
#endif

/* UTF-8 samples: U+00E9 (2 bytes), U+20AC (3 bytes), U+1F600 (4 bytes). */
#define E_ACUTE "\xC3\xA9"
#define EURO "\xE2\x82\xAC"
#define GRINNING "\xF0\x9F\x98\x80"

static const char *const multibyte_chars[] = {E_ACUTE, EURO, GRINNING};

/* A buffer of `size` bytes followed by guard bytes, all set to 'X'. */
#define GUARD_BYTES 8

static void fill_guarded(char *buffer, size_t size)
{
    memset(buffer, 'X', size + GUARD_BYTES);
}

static void assert_guard_intact(const char *buffer, size_t size)
{
    for (size_t i = 0; i < GUARD_BYTES; i++)
        cr_assert_eq(buffer[size + i], 'X', "byte %zu past the %zu-byte buffer was written", i, size);
}

/* ---- ig_text ---------------------------------------------------------- */

Test(text, init_empties_buffer)
{
    char buffer[8 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 8);
    ig_text_init(&text, buffer, 8);
    cr_assert_eq(buffer[0], '\0');
    cr_assert_eq(text.used, 0);
    cr_assert_not(text.full);
    assert_guard_intact(buffer, 8);
}

Test(text, append_exact_fit)
{
    char buffer[6 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 6);
    ig_text_init(&text, buffer, 6);
    ig_text_append(&text, "ab");
    ig_text_append(&text, "cde");
    cr_assert_str_eq(buffer, "abcde");
    cr_assert_eq(text.used, 5);
    cr_assert_not(text.full, "an exact fit is not a cut");
    assert_guard_intact(buffer, 6);
}

Test(text, append_empty_piece_when_exactly_full)
{
    char buffer[4 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 4);
    ig_text_init(&text, buffer, 4);
    ig_text_append(&text, "abc");
    ig_text_append(&text, "");
    cr_assert_str_eq(buffer, "abc");
    cr_assert_not(text.full);
    assert_guard_intact(buffer, 4);
}

Test(text, append_overflow_cut)
{
    char buffer[6 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 6);
    ig_text_init(&text, buffer, 6);
    ig_text_append(&text, "abc");
    ig_text_append(&text, "defgh");
    cr_assert_str_eq(buffer, "abcde");
    cr_assert_eq(text.used, 5);
    cr_assert(text.full);
    assert_guard_intact(buffer, 6);
}

Test(text, append_after_exact_fit_is_dropped)
{
    char buffer[4 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 4);
    ig_text_init(&text, buffer, 4);
    ig_text_append(&text, "abc");
    ig_text_append(&text, "d");
    cr_assert_str_eq(buffer, "abc");
    cr_assert(text.full);
    assert_guard_intact(buffer, 4);
}

/* Room for `kept` bytes of the character, which never fit whole: the whole
 * character must go, and nothing of it may be written. The character starts
 * the piece or follows one ASCII byte of it. */
Test(text, room_cut_keeps_utf8_whole)
{
    static const char *const leads[] = {"", "x"};

    for (size_t c = 0; c < sizeof multibyte_chars / sizeof multibyte_chars[0]; c++) {
        const char *character = multibyte_chars[c];
        size_t length = strlen(character);

        for (size_t l = 0; l < sizeof leads / sizeof leads[0]; l++) {
            for (size_t kept = 0; kept < length; kept++) {
                /* "ab" and the lead, then `kept` bytes of room and the NUL */
                size_t size = 2 + strlen(leads[l]) + kept + 1;
                char buffer[16 + GUARD_BYTES];
                char piece[16];
                char expected[8];
                struct ig_text text;

                snprintf(piece, sizeof piece, "%s%sz", leads[l], character);
                snprintf(expected, sizeof expected, "ab%s", leads[l]);
                fill_guarded(buffer, size);
                ig_text_init(&text, buffer, size);
                ig_text_append(&text, "ab");
                ig_text_append(&text, piece);
                cr_assert_str_eq(buffer, expected, "%zu-byte character after \"%s\", room for %zu bytes",
                                 length, leads[l], kept);
                cr_assert_eq(text.used, strlen(expected),
                             "%zu-byte character after \"%s\", room for %zu bytes", length, leads[l], kept);
                cr_assert(text.full, "%zu-byte character after \"%s\", room for %zu bytes", length,
                          leads[l], kept);
                assert_guard_intact(buffer, size);
            }
        }
    }
}

/* The character ends exactly at the room: it is kept whole. */
Test(text, room_cut_after_utf8_keeps_it)
{
    for (size_t c = 0; c < sizeof multibyte_chars / sizeof multibyte_chars[0]; c++) {
        const char *character = multibyte_chars[c];
        size_t length = strlen(character);
        size_t size = 1 + length + 1;
        char buffer[16 + GUARD_BYTES];
        char piece[16];
        char expected[16];
        struct ig_text text;

        snprintf(piece, sizeof piece, "a%sz", character);
        snprintf(expected, sizeof expected, "a%s", character);
        fill_guarded(buffer, size);
        ig_text_init(&text, buffer, size);
        ig_text_append(&text, piece);
        cr_assert_str_eq(buffer, expected, "%zu-byte character", length);
        cr_assert(text.full, "%zu-byte character", length);
        assert_guard_intact(buffer, size);
    }
}

Test(text, max_cut_keeps_utf8_whole)
{
    for (size_t c = 0; c < sizeof multibyte_chars / sizeof multibyte_chars[0]; c++) {
        const char *character = multibyte_chars[c];
        size_t length = strlen(character);
        char piece[16];
        char whole[16];

        snprintf(piece, sizeof piece, "a%sz", character);
        snprintf(whole, sizeof whole, "a%s", character);
        for (size_t max = 1; max <= 1 + length; max++) {
            char buffer[32];
            struct ig_text text;
            const char *expected = max == 1 + length ? whole : "a";

            ig_text_init(&text, buffer, sizeof buffer);
            ig_text_append_n(&text, piece, max);
            cr_assert_str_eq(buffer, expected, "%zu-byte character, max %zu", length, max);
            cr_assert_eq(text.used, strlen(expected), "%zu-byte character, max %zu", length, max);
            cr_assert_not(text.full, "a cut by max is not a cut for room (%zu-byte character, max %zu)",
                          length, max);
        }
    }
}

Test(text, append_n_shorter_piece_than_max)
{
    char buffer[16];
    struct ig_text text;

    ig_text_init(&text, buffer, sizeof buffer);
    ig_text_append_n(&text, "abc", 10);
    cr_assert_str_eq(buffer, "abc");
    cr_assert_eq(text.used, 3);
}

Test(text, append_n_zero_max_appends_nothing)
{
    char buffer[16];
    struct ig_text text;

    ig_text_init(&text, buffer, sizeof buffer);
    ig_text_append_n(&text, "abc", 0);
    cr_assert_str_eq(buffer, "");
    cr_assert_not(text.full);
}

Test(text, max_cut_then_later_pieces_kept)
{
    char buffer[16];
    struct ig_text text;

    ig_text_init(&text, buffer, sizeof buffer);
    ig_text_append_n(&text, "abcdef", 3);
    ig_text_append(&text, "/");
    ig_text_append_n(&text, "xy" EURO, 4);
    ig_text_append(&text, "*");
    cr_assert_str_eq(buffer, "abc/xy*");
    cr_assert_not(text.full);
}

/* Both a max cut and a room cut apply: the smaller one wins, still on a
 * character boundary. */
Test(text, max_and_room_cut_together)
{
    char buffer[4 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 4);
    ig_text_init(&text, buffer, 4);
    ig_text_append_n(&text, "a" EURO "bc", 5);
    cr_assert_str_eq(buffer, "a");
    cr_assert(text.full);
    assert_guard_intact(buffer, 4);
}

/* The 2-byte character leaves one byte of room unused. An ASCII piece that
 * would fit there must still be dropped, because the text would otherwise
 * read as if the character had never been there. */
Test(text, room_cut_drops_later_pieces)
{
    char buffer[6 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 6);
    ig_text_init(&text, buffer, 6);
    ig_text_append(&text, "abcd");
    ig_text_append(&text, E_ACUTE);
    cr_assert_str_eq(buffer, "abcd");
    cr_assert(text.full);

    ig_text_append(&text, "x");
    cr_assert_str_eq(buffer, "abcd", "a piece after a cut for room was appended");

    ig_text_append_n(&text, "y", 1);
    cr_assert_str_eq(buffer, "abcd", "a piece after a cut for room was appended by append_n");
    cr_assert_eq(text.used, 4);
    assert_guard_intact(buffer, 6);
}

Test(text, size_zero_writes_nothing)
{
    char buffer[GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 0);
    ig_text_init(&text, buffer, 0);
    cr_assert(text.full);
    ig_text_append(&text, "a");
    ig_text_append_n(&text, "b", 1);
    ig_text_append(&text, "");
    cr_assert_eq(text.used, 0);
    assert_guard_intact(buffer, 0);
}

Test(text, size_one_holds_only_nul)
{
    char buffer[1 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 1);
    ig_text_init(&text, buffer, 1);
    cr_assert_eq(buffer[0], '\0');
    cr_assert_not(text.full);

    ig_text_append(&text, "a");
    cr_assert_eq(buffer[0], '\0');
    cr_assert_eq(text.used, 0);
    cr_assert(text.full);
    assert_guard_intact(buffer, 1);
}

/* After every append the text is NUL-terminated at `used`. */
Test(text, nul_terminated_after_each_append)
{
    const char *pieces[] = {"ab", "", E_ACUTE, "c", EURO, GRINNING, "tail"};
    char buffer[10 + GUARD_BYTES];
    struct ig_text text;

    fill_guarded(buffer, 10);
    ig_text_init(&text, buffer, 10);
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        ig_text_append(&text, pieces[i]);
        cr_assert_lt(text.used, 10, "after piece %zu", i);
        cr_assert_eq(buffer[text.used], '\0', "after piece %zu", i);
        cr_assert_eq(strlen(buffer), text.used, "after piece %zu", i);
    }
    /* "ab" + U+00E9 + "c" + U+20AC take 8 bytes, and U+1F600 does not fit in the last one. */
    cr_assert_str_eq(buffer, "ab" E_ACUTE "c" EURO);
    cr_assert(text.full);
    assert_guard_intact(buffer, 10);
}

/* ---- cJSON builders and printer -------------------------------------- */

static char *print_int_member(long long value)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cr_assert(ig_json_add_int(object, "n", value));
    char *printed = cJSON_PrintUnformatted(object);
    cr_assert_not_null(printed);
    cJSON_Delete(object);
    return printed;
}

Test(json, add_int_prints_exact_digits)
{
    static const struct {
        long long value;
        const char *text;
    } cases[] = {
        {0, "{\"n\":0}"},
        {1, "{\"n\":1}"},
        {-1, "{\"n\":-1}"},
        {403, "{\"n\":403}"},
        {LLONG_MAX, "{\"n\":9223372036854775807}"},
        {LLONG_MIN, "{\"n\":-9223372036854775808}"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *printed = print_int_member(cases[i].value);
        cr_assert_str_eq(printed, cases[i].text, "value %lld", cases[i].value);
        cJSON_free(printed);
    }
}

Test(json, add_int_key_not_copied)
{
    static const char key[] = "code";
    cJSON *object = cJSON_CreateObject();

    cr_assert_not_null(object);
    cr_assert(ig_json_add_int(object, key, 403));
    cJSON *item = cJSON_GetObjectItemCaseSensitive(object, "code");
    cr_assert_not_null(item);
    cr_assert(item->type & cJSON_StringIsConst, "type 0x%x lacks cJSON_StringIsConst", item->type);
    cr_assert_eq(item->string, key, "the key was copied");
    cJSON_Delete(object);
}

Test(json, add_int_prints_as_number_when_parsed)
{
    char *printed = print_int_member(-403);
    cJSON *parsed = cJSON_Parse(printed);

    cr_assert_not_null(parsed);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(parsed, "n");
    cr_assert(cJSON_IsNumber(item));
    cr_assert_eq(item->valueint, -403);
    cJSON_Delete(parsed);
    cJSON_free(printed);
}

Test(json, add_string_ref_escapes_value)
{
    /* Quote, backslash, newline, tab, and U+0001 and U+001F, which have no
     * short escape. */
    static const char value[] = "a\"b\\c\nd\te\x01" "f\x1F" "g";
    cJSON *object = cJSON_CreateObject();

    cr_assert_not_null(object);
    cr_assert(ig_json_add_string_ref(object, "msg", value));
    char *printed = cJSON_PrintUnformatted(object);
    cr_assert_not_null(printed);
    cr_assert_str_eq(printed, "{\"msg\":\"a\\\"b\\\\c\\nd\\te\\u0001f\\u001fg\"}");
    cJSON_free(printed);
    cJSON_Delete(object);
}

Test(json, add_string_ref_not_copied)
{
    static const char key[] = "msg";
    static const char value[] = "denied";
    cJSON *object = cJSON_CreateObject();

    cr_assert_not_null(object);
    cr_assert(ig_json_add_string_ref(object, key, value));
    cJSON *item = cJSON_GetObjectItemCaseSensitive(object, "msg");
    cr_assert_not_null(item);
    cr_assert(cJSON_IsString(item));
    cr_assert(item->type & cJSON_IsReference, "type 0x%x lacks cJSON_IsReference", item->type);
    cr_assert_eq(item->valuestring, value, "the value was copied");
    cr_assert(item->type & cJSON_StringIsConst, "type 0x%x lacks cJSON_StringIsConst", item->type);
    cr_assert_eq(item->string, key, "the key was copied");
    cJSON_Delete(object);
}

static cJSON *small_reply(void)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cr_assert(ig_json_add_string_ref(object, "uid", "abc"));
    cr_assert(ig_json_add_int(object, "code", 403));
    return object;
}

#define SMALL_REPLY_TEXT "{\"uid\":\"abc\",\"code\":403}"

Test(json, print_into_fits)
{
    cJSON *object = small_reply();
    char buffer[128];

    size_t length = ig_json_print_into(object, buffer, sizeof buffer);
    cr_assert_eq(length, strlen(SMALL_REPLY_TEXT));
    cr_assert_str_eq(buffer, SMALL_REPLY_TEXT);
    cr_assert_eq(length, strlen(buffer));
    cJSON_Delete(object);
}

/* Whatever the size, the printer writes nothing past it and returns either 0
 * or the whole text. */
Test(json, print_into_stays_in_buffer)
{
    cJSON *object = small_reply();
    size_t text_length = strlen(SMALL_REPLY_TEXT);

    for (size_t size = 0; size <= text_length + 16; size++) {
        char *buffer = malloc(size + GUARD_BYTES);
        cr_assert_not_null(buffer);
        fill_guarded(buffer, size);

        size_t length = ig_json_print_into(object, buffer, size);
        assert_guard_intact(buffer, size);
        cr_assert(length == 0 || length == text_length, "buffer of %zu bytes returned %zu", size, length);
        if (length > 0)
            cr_assert_str_eq(buffer, SMALL_REPLY_TEXT, "buffer of %zu bytes", size);
        free(buffer);
    }
    cJSON_Delete(object);
}

Test(json, print_into_too_small_returns_zero)
{
    cJSON *object = small_reply();
    size_t text_length = strlen(SMALL_REPLY_TEXT);

    for (size_t size = 1; size <= text_length; size++) {
        char *buffer = malloc(size);
        cr_assert_not_null(buffer);
        cr_assert_eq(ig_json_print_into(object, buffer, size), 0, "buffer of %zu bytes", size);
        free(buffer);
    }
    cJSON_Delete(object);
}

/* ---- ig_json_delete and the arena ------------------------------------- */

static cJSON *build_small_tree(void)
{
    cJSON *root = cJSON_CreateObject();
    cr_assert_not_null(root);
    cJSON *status = cJSON_AddObjectToObject(root, "status");
    cr_assert_not_null(status);
    cr_assert(ig_json_add_int(status, "code", 403));
    cr_assert_not_null(cJSON_AddStringToObject(status, "message", "denied by immutable-guard"));
    cr_assert_not_null(cJSON_AddTrueToObject(root, "allowed"));
    return root;
}

/* Strings of 100 bytes: each node plus its copy costs well over 100 bytes,
 * so 2000 of them need several times the 64 KiB block. */
#define SPILL_STRINGS 2000

static cJSON *build_spilled_tree(void)
{
    char value[101];
    cJSON *root = cJSON_CreateArray();

    cr_assert_not_null(root);
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (size_t i = 0; i < SPILL_STRINGS; i++) {
        cJSON *item = cJSON_CreateString(value);
        cr_assert_not_null(item);
        cr_assert(cJSON_AddItemToArray(root, item));
    }
    return root;
}

Test(arena, small_tree_deleted_inside_window)
{
    ig_json_arena_begin();
    size_t heap_before = heap_bytes_in_use();

    cJSON *root = build_small_tree();
    cr_assert_gt(ig_json_arena_used(), 0, "the tree did not come from the arena");
    if (heap_counted)
        cr_assert_eq(heap_bytes_in_use(), heap_before, "the small tree allocated from the heap");

    char *printed = cJSON_PrintUnformatted(root);
    cr_assert_not_null(printed);
    cr_assert_str_eq(printed,
                     "{\"status\":{\"code\":403,\"message\":\"denied by immutable-guard\"},\"allowed\":true}");
    cJSON_free(printed);

    ig_json_delete(root);
    if (heap_counted)
        cr_assert_eq(heap_bytes_in_use(), heap_before);
    ig_json_arena_end();
    cr_assert_eq(ig_json_arena_used(), 0);
}

/* More than 64 KiB of nodes and strings: the rest comes from malloc, and
 * ig_json_delete must walk the tree and free those. */
Test(arena, spilled_tree_is_freed)
{
    ig_json_arena_begin();
    size_t heap_before = heap_bytes_in_use();

    cJSON *root = build_spilled_tree();
    cr_assert_gt(ig_json_arena_used(), 60 * 1024, "the arena did not fill up");
    cr_assert_leq(ig_json_arena_used(), 64 * 1024);
    if (heap_counted)
        cr_assert_gt(heap_bytes_in_use(), heap_before + 100 * SPILL_STRINGS / 2,
                     "nothing spilled to the heap");

    ig_json_delete(root);
    if (heap_counted)
        cr_assert_eq(heap_bytes_in_use(), heap_before, "the spilled part of the tree was not freed");
    ig_json_arena_end();
}

/* Once the window spilled, a small tree built afterwards is deleted by a walk
 * as well, and that walk must skip its nodes that lie in the block. */
Test(arena, tree_after_spill_is_freed)
{
    ig_json_arena_begin();
    size_t heap_before = heap_bytes_in_use();

    cJSON *big = build_spilled_tree();
    cJSON *small = build_small_tree();
    ig_json_delete(small);
    ig_json_delete(big);
    if (heap_counted)
        cr_assert_eq(heap_bytes_in_use(), heap_before);
    ig_json_arena_end();
}

/* A later window starts with an empty block, so a small tree fits again. */
Test(arena, next_window_starts_empty)
{
    ig_json_arena_begin();
    cJSON *big = build_spilled_tree();
    ig_json_delete(big);
    ig_json_arena_end();

    ig_json_arena_begin();
    cr_assert_eq(ig_json_arena_used(), 0);
    size_t heap_before = heap_bytes_in_use();
    cJSON *small = build_small_tree();
    cr_assert_gt(ig_json_arena_used(), 0);
    if (heap_counted)
        cr_assert_eq(heap_bytes_in_use(), heap_before, "the small tree allocated from the heap");
    ig_json_delete(small);
    ig_json_arena_end();
}

Test(arena, delete_outside_window_frees)
{
    ig_json_arena_begin();
    ig_json_arena_end();
    size_t heap_before = heap_bytes_in_use();

    cJSON *root = build_small_tree();
    cr_assert_eq(ig_json_arena_used(), 0, "the arena served an allocation outside the window");
    if (heap_counted)
        cr_assert_gt(heap_bytes_in_use(), heap_before, "the tree outside the window is not on the heap");

    ig_json_delete(root);
    if (heap_counted)
        cr_assert_eq(heap_bytes_in_use(), heap_before, "the tree outside the window was not freed");
}

/* A tree built before the window is on the heap, so ig_json_delete frees it
 * even while the window is open. */
Test(arena, heap_tree_deleted_inside_window)
{
    ig_json_arena_install();
    cJSON *root = build_small_tree();

    ig_json_arena_begin();
    size_t heap_in_window = heap_bytes_in_use();
    ig_json_delete(root);
    if (heap_counted)
        cr_assert_lt(heap_bytes_in_use(), heap_in_window, "the heap tree was not freed inside the window");
    ig_json_arena_end();
}

/* ---- display name and denial message ---------------------------------- */

static void display_name(const char *namespace_, const char *name, const char *generate_name,
                         char *out, size_t size)
{
    memset(out, 'X', size);
    ig_policy_display_name(namespace_, name, generate_name, out, size);
}

Test(message, display_name_namespace_and_name)
{
    char out[640];

    display_name("team-a", "db-creds", NULL, out, sizeof out);
    cr_assert_str_eq(out, "team-a/db-creds");
    display_name("team-a", "db-creds", "ignored-", out, sizeof out);
    cr_assert_str_eq(out, "team-a/db-creds", "generateName used although name is set");
}

Test(message, display_name_cluster_scoped)
{
    char out[640];

    display_name(NULL, "db-creds", NULL, out, sizeof out);
    cr_assert_str_eq(out, "db-creds");
    display_name("", "db-creds", NULL, out, sizeof out);
    cr_assert_str_eq(out, "db-creds");
}

Test(message, display_name_generate_name)
{
    char out[640];

    display_name("team-a", NULL, "db-", out, sizeof out);
    cr_assert_str_eq(out, "team-a/db-*");
    display_name(NULL, "", "db-", out, sizeof out);
    cr_assert_str_eq(out, "db-*");
}

Test(message, display_name_unnamed)
{
    char out[640];

    display_name(NULL, NULL, NULL, out, sizeof out);
    cr_assert_str_eq(out, "(unnamed)");
    display_name("team-a", "", "", out, sizeof out);
    cr_assert_str_eq(out, "team-a/(unnamed)");
}

static char *repeat(char c, size_t count, const char *tail)
{
    size_t tail_length = strlen(tail);
    char *text = malloc(count + tail_length + 1);
    cr_assert_not_null(text);
    memset(text, c, count);
    memcpy(text + count, tail, tail_length + 1);
    return text;
}

static bool all_bytes_are(const char *text, size_t count, char c)
{
    for (size_t i = 0; i < count; i++) {
        if (text[i] != c)
            return false;
    }
    return true;
}

Test(message, display_name_long_name_cut)
{
    char out[640];
    char *name = repeat('a', 400, "");

    display_name(NULL, name, NULL, out, sizeof out);
    cr_assert_eq(strlen(out), 299);
    cr_assert(all_bytes_are(out, 299, 'a'));

    display_name("team-a", name, NULL, out, sizeof out);
    cr_assert_eq(strlen(out), strlen("team-a/") + 299);
    cr_assert_eq(strncmp(out, "team-a/", 7), 0);
    cr_assert(all_bytes_are(out + 7, 299, 'a'));
    free(name);
}

Test(message, display_name_299_bytes_kept)
{
    char out[640];
    char *name = repeat('a', 299, "");

    display_name(NULL, name, NULL, out, sizeof out);
    cr_assert_str_eq(out, name);
    free(name);
}

Test(message, display_name_long_generate_name)
{
    char out[640];
    char *generate_name = repeat('g', 400, "");

    display_name(NULL, NULL, generate_name, out, sizeof out);
    cr_assert_eq(strlen(out), 299);
    cr_assert(all_bytes_are(out, 298, 'g'));
    cr_assert_eq(out[298], '*', "the '*' of a cut generateName is missing");
    free(generate_name);
}

/* The 299-byte cut lands inside the character: the character goes whole and
 * no '?' for a broken sequence takes its place. */
Test(message, display_name_cut_keeps_utf8_whole)
{
    for (size_t c = 0; c < sizeof multibyte_chars / sizeof multibyte_chars[0]; c++) {
        const char *character = multibyte_chars[c];
        size_t length = strlen(character);

        for (size_t inside = 1; inside < length; inside++) {
            /* The character starts `inside` bytes before the limit of 299,
             * and more text follows it. */
            size_t prefix = 299 - inside;
            char *with_character = repeat('a', prefix, character);
            size_t name_size = prefix + length + 4;
            char *name = malloc(name_size);
            char out[640];

            cr_assert_not_null(name);
            snprintf(name, name_size, "%sbcd", with_character);
            display_name(NULL, name, NULL, out, sizeof out);
            cr_assert_eq(strlen(out), prefix, "%zu-byte character %zu byte(s) before the limit", length,
                         inside);
            cr_assert(all_bytes_are(out, prefix, 'a'), "%zu-byte character %zu byte(s) before the limit",
                      length, inside);
            free(name);
            free(with_character);
        }

        /* The character ends exactly at the limit: it is kept. */
        char *fits = repeat('a', 299 - length, character);
        char *name = malloc(299 + 4);
        char out[640];

        cr_assert_not_null(name);
        snprintf(name, 299 + 4, "%sbcd", fits);
        display_name(NULL, name, NULL, out, sizeof out);
        cr_assert_str_eq(out, fits, "%zu-byte character ending at the limit", length);
        free(name);
        free(fits);
    }
}

Test(message, display_name_cut_to_out_size)
{
    char out[8 + GUARD_BYTES];

    fill_guarded(out, 8);
    ig_policy_display_name("team-a", "db-creds", NULL, out, 8);
    cr_assert_str_eq(out, "team-a/");
    assert_guard_intact(out, 8);
}

static bool contains(const char *text, const char *part)
{
    return strstr(text, part) != NULL;
}

Test(message, missing_rotation_message_text)
{
    const struct ig_policy_result result = {
        .violation = IG_VIOLATION_MISSING_ROTATION,
        .immutable = true,
        .expects_refresh = true,
        .refresh = IG_REFRESH_INTERVAL,
        .interval_text = "1m",
    };

    char *message = ig_policy_violation_message(IG_KIND_EXTERNAL_SECRET, "team-a/db-creds", &result);
    cr_assert_not_null(message);
    cr_assert(contains(message, "ExternalSecret "), "kind missing: %s", message);
    cr_assert(contains(message, "team-a/db-creds"), "display name missing: %s", message);
    cr_assert(contains(message, "still refreshes every 1m"), "refresh missing: %s", message);
    cr_assert(contains(message, "add the annotation immutable-guard.io/rotation: recreate to "
                                "metadata.annotations"),
              "annotation fix missing: %s", message);
    cr_assert(contains(message, "set spec.target.immutable: false"), "immutable fix missing: %s",
              message);
    cr_assert(contains(message, "set spec.refreshPolicy: CreatedOnce."), "refreshPolicy fix missing: %s",
              message);
    cr_assert_str_eq(message,
                     "ExternalSecret team-a/db-creds: spec.target.immutable is true but it still "
                     "refreshes every 1m, and Kubernetes rejects every change to an immutable "
                     "Secret, so rotated values would never reach it. Fix it in one of three ways: "
                     "add the annotation immutable-guard.io/rotation: recreate to "
                     "metadata.annotations so that immutable-guard recreates the Secret on "
                     "rotation, set spec.target.immutable: false, or set spec.refreshPolicy: "
                     "CreatedOnce.");
    free(message);
}

Test(message, missing_rotation_cluster_default_interval)
{
    const struct ig_policy_result result = {
        .violation = IG_VIOLATION_MISSING_ROTATION,
        .immutable = true,
        .expects_refresh = true,
        .refresh = IG_REFRESH_DEFAULT_INTERVAL,
        .target_was_immutable = true,
    };

    char *message = ig_policy_violation_message(IG_KIND_CLUSTER_EXTERNAL_SECRET, "shared", &result);
    cr_assert_not_null(message);
    cr_assert_str_eq(message,
                     "ClusterExternalSecret shared: spec.externalSecretSpec.target.immutable is "
                     "true but it still refreshes every 1h (the default when refreshInterval is "
                     "absent), and Kubernetes rejects every change to an immutable Secret, so "
                     "rotated values would never reach it. Fix it in one of three ways: add the "
                     "annotation immutable-guard.io/rotation: recreate to "
                     "spec.externalSecretMetadata.annotations so that immutable-guard recreates "
                     "the Secret on rotation, set spec.externalSecretSpec.target.immutable: false "
                     "and then delete the existing Secret, which is already immutable, so that "
                     "ESO creates it again, or set spec.externalSecretSpec.refreshPolicy: "
                     "CreatedOnce.");
    free(message);
}

/* A display name of the maximum size the review builds (319 bytes) and a
 * refresh text of the maximum size still leave the message whole. */
Test(message, missing_rotation_long_name_whole)
{
    char interval[64];
    memset(interval, '9', sizeof interval - 1);
    interval[sizeof interval - 1] = '\0';
    const struct ig_policy_result result = {
        .violation = IG_VIOLATION_MISSING_ROTATION,
        .immutable = true,
        .expects_refresh = true,
        .refresh = IG_REFRESH_INTERVAL,
        .interval_text = interval,
        .target_was_immutable = true,
    };
    char *name = repeat('n', 319, "");

    char *message = ig_policy_violation_message(IG_KIND_CLUSTER_EXTERNAL_SECRET, name, &result);
    cr_assert_not_null(message);
    cr_assert(contains(message, name), "display name cut");
    size_t length = strlen(message);
    const char *end = ": CreatedOnce.";
    cr_assert_gt(length, strlen(end));
    cr_assert_str_eq(message + length - strlen(end), end, "message cut: %s", message);
    free(message);
    free(name);
}

Test(message, invalid_rotation_message_text)
{
    const struct ig_policy_result result = {
        .violation = IG_VIOLATION_INVALID_ROTATION,
        .rotation = "yes",
    };

    char *message = ig_policy_violation_message(IG_KIND_EXTERNAL_SECRET, "team-a/db-creds", &result);
    cr_assert_not_null(message);
    cr_assert_str_eq(message,
                     "ExternalSecret team-a/db-creds: the annotation immutable-guard.io/rotation "
                     "in metadata.annotations has the invalid value \"yes\". Valid values: "
                     "recreate (immutable-guard recreates the immutable Secret when the backend "
                     "value changes). Fix the value or remove the annotation.");
    free(message);
}

/* ---- log time --------------------------------------------------------- */

#define TIME_PATTERN "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
#define TIME_LENGTH 24
#define SECOND_LENGTH 19

Test(log_time, format_matches_rfc3339_millis)
{
    regex_t pattern;
    char buffer[32];

    cr_assert_eq(regcomp(&pattern, TIME_PATTERN, REG_EXTENDED | REG_NOSUB), 0);
    ig_log_format_time(buffer, sizeof buffer);
    cr_assert_eq(strlen(buffer), TIME_LENGTH, "time text \"%s\"", buffer);
    cr_assert_eq(regexec(&pattern, buffer, 0, NULL, 0), 0, "time text \"%s\"", buffer);
    regfree(&pattern);
}

/* The cached second matches the clock: the second is read before and after
 * the call and the check runs when both agree. */
Test(log_time, second_matches_clock)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char buffer[32];
        char expected[32];
        struct tm utc;
        time_t before = time(NULL);

        ig_log_format_time(buffer, sizeof buffer);
        time_t after = time(NULL);
        if (before != after)
            continue;
        gmtime_r(&before, &utc);
        cr_assert_neq(strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%S", &utc), 0);
        cr_assert_eq(strncmp(buffer, expected, SECOND_LENGTH), 0, "time \"%s\", clock \"%s\"", buffer,
                     expected);
        return;
    }
    cr_assert_fail("the clock changed second during every attempt");
}

Test(log_time, same_second_shares_prefix)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char first[32];
        char second[32];
        time_t before = time(NULL);

        ig_log_format_time(first, sizeof first);
        ig_log_format_time(second, sizeof second);
        if (time(NULL) != before)
            continue;
        cr_assert_eq(strncmp(first, second, SECOND_LENGTH), 0, "\"%s\" then \"%s\"", first, second);
        cr_assert_leq(strcmp(first, second), 0, "\"%s\" then \"%s\"", first, second);
        return;
    }
    cr_assert_fail("the clock changed second during every attempt");
}

Test(log_time, exact_fit_buffer)
{
    char buffer[TIME_LENGTH + 1 + GUARD_BYTES];

    fill_guarded(buffer, TIME_LENGTH + 1);
    ig_log_format_time(buffer, TIME_LENGTH + 1);
    cr_assert_eq(strlen(buffer), TIME_LENGTH, "time text \"%s\"", buffer);
    assert_guard_intact(buffer, TIME_LENGTH + 1);
}

Test(log_time, small_buffer_gives_empty)
{
    static const size_t sizes[] = {1, 2, SECOND_LENGTH + 1, TIME_LENGTH};

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char buffer[TIME_LENGTH + GUARD_BYTES];

        fill_guarded(buffer, sizes[i]);
        ig_log_format_time(buffer, sizes[i]);
        cr_assert_eq(buffer[0], '\0', "buffer of %zu bytes", sizes[i]);
        assert_guard_intact(buffer, sizes[i]);
    }
}

Test(log_time, size_zero_writes_nothing)
{
    char buffer[GUARD_BYTES];

    fill_guarded(buffer, 0);
    ig_log_format_time(buffer, 0);
    assert_guard_intact(buffer, 0);
}

Test(text, append_n_reads_no_byte_past_max)
{
    /* The piece has no NUL: only max bytes may be read (ASan checks it). */
    char *piece = malloc(3);
    cr_assert_not_null(piece);
    memcpy(piece, "abc", 3);
    char buffer[16];
    struct ig_text text;
    ig_text_init(&text, buffer, sizeof buffer);
    ig_text_append_n(&text, piece, 3);
    cr_assert_str_eq(buffer, "abc");
    free(piece);
}

Test(text, append_n_unterminated_cut_in_character)
{
    /* "a" then the first two bytes of U+20AC, with no NUL after them. */
    char *piece = malloc(3);
    cr_assert_not_null(piece);
    memcpy(piece, "a\xE2\x82", 3);
    char buffer[16];
    struct ig_text text;
    ig_text_init(&text, buffer, sizeof buffer);
    ig_text_append_n(&text, piece, 3);
    cr_assert_str_eq(buffer, "a");
    free(piece);
}

Test(json, add_int_to_null_object_fails)
{
    cr_assert_not(ig_json_add_int(NULL, "n", 1));
}

Test(json, add_string_ref_null_key_fails)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cr_assert_not(ig_json_add_string_ref(object, NULL, "v"));
    cr_assert_null(object->child);
    cJSON_Delete(object);
}

Test(text, is_clean_accepts_utf8_rejects_bytes_and_controls)
{
    cr_assert(ig_text_is_clean("c4d9e2f1-7a6b"));
    cr_assert(ig_text_is_clean("caf\xc3\xa9"));
    cr_assert_not(ig_text_is_clean("a\xff"));
    cr_assert_not(ig_text_is_clean("a\xc3"));
    cr_assert_not(ig_text_is_clean("a\nb"));
}

Test(text, valid_utf8_keeps_controls)
{
    char out[16];
    cr_assert_eq(ig_text_valid_utf8("a\tb\xff", out, sizeof out), 4);
    cr_assert_str_eq(out, "a\tb?");
}

Test(admission, status_body_is_valid_utf8)
{
    char *body = ig_admission_status_body(404, "NotFound", "no handler for path \"/\xff\xfe\"");
    cr_assert_not_null(body);
    cr_assert(ig_text_is_clean(body), "body: %s", body);
    cr_assert_not_null(strstr(body, "/??"));
    free(body);
}

/* A uid the reply could not echo as sent gets 400: invalid UTF-8, control
 * characters, and what the scanner decodes as U+FFFD (\u0000 and unpaired
 * surrogates), or U+FFFD itself. */
Test(admission, uid_that_cannot_be_echoed_is_400)
{
    static const char *const uids[] = {
        "abc\xff", "a\\u0001b", "a\\u0000b", "a\\ud800b", "a\\udc00", "a\xEF\xBF\xBD",
    };
    for (size_t i = 0; i < sizeof uids / sizeof uids[0]; i++) {
        char review[512];
        snprintf(review, sizeof review,
                 "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                 "{\"uid\":\"%s\",\"kind\":{\"group\":\"external-secrets.io\",\"version\":\"v1\","
                 "\"kind\":\"ExternalSecret\"},\"operation\":\"CREATE\",\"object\":{}}}",
                 uids[i]);
        struct ig_admission_config config = {.mode = IG_MODE_ENFORCE};
        struct ig_admission_outcome outcome;
        cr_assert(ig_admission_handle(IG_WEBHOOK_VALIDATE, review, strlen(review), &config,
                                      &outcome));
        cr_assert_eq(outcome.http_status, 400, "uid %zu: HTTP %d", i, outcome.http_status);
        cr_assert_not_null(strstr(outcome.body, "request.uid contains invalid UTF-8"),
                           "uid %zu: %s", i, outcome.body);
        cr_assert(ig_text_is_clean(outcome.body));
        ig_admission_outcome_free(&outcome);
    }
}
