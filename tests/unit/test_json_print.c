/* ig_json_print_into and ig_json_print against cJSON_PrintUnformatted of the
 * linked cJSON (1.7.15 on Debian 12): the same bytes, or the same failure,
 * for every item type, flag, string byte, number and nesting depth. The
 * random trees come from a seeded generator, so a failure repeats. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

/* ---- Comparison with cJSON -------------------------------------------- */

#define GUARD_BYTES 8

/* Describe where printed and expected first differ, with the bytes around
 * that offset as hex, for a failure message. */
static void describe_difference(char *message, size_t size, const char *printed, size_t printed_length,
                                const char *expected, size_t expected_length)
{
    size_t offset = 0;
    while (offset < printed_length && offset < expected_length && printed[offset] == expected[offset])
        offset++;

    int used = snprintf(message, size, "first difference at offset %zu of %zu (cJSON %zu bytes); ours:", offset,
                        printed_length, expected_length);
    size_t from = offset >= 8 ? offset - 8 : 0;
    for (size_t i = from; i < printed_length && i < offset + 8 && used > 0 && (size_t)used < size; i++)
        used += snprintf(message + used, size - (size_t)used, " %02x", (unsigned char)printed[i]);
    if (used > 0 && (size_t)used < size)
        used += snprintf(message + used, size - (size_t)used, "; cJSON:");
    for (size_t i = from; i < expected_length && i < offset + 8 && used > 0 && (size_t)used < size; i++)
        used += snprintf(message + used, size - (size_t)used, " %02x", (unsigned char)expected[i]);
}

/* Print item into a malloc'd buffer of exactly size bytes plus guard bytes,
 * check the guard and return what ig_json_print_into returned. The text, if
 * any, is copied to text (at least size bytes). */
static size_t print_into_sized(const cJSON *item, size_t size, char *text)
{
    char *buffer = malloc(size + GUARD_BYTES);
    cr_assert_not_null(buffer);
    memset(buffer, 'X', size + GUARD_BYTES);

    size_t length = ig_json_print_into(item, buffer, size);
    for (size_t i = 0; i < GUARD_BYTES; i++)
        cr_assert_eq(buffer[size + i], 'X', "byte %zu past the %zu-byte buffer was written", i, size);
    if (size > 0)
        memcpy(text, buffer, size);
    free(buffer);
    return length;
}

/* Check that both printers print item exactly as cJSON_PrintUnformatted, or
 * fail where it fails, and that ig_json_print_into needs exactly the text
 * length + 1 bytes. Returns whether cJSON printed item. */
static bool assert_prints_like_cjson(const cJSON *item, const char *label)
{
    char *expected = cJSON_PrintUnformatted(item);
    size_t length = 12345;
    char *printed = ig_json_print(item, &length);

    if (!expected) {
        cr_assert_null(printed, "%s: cJSON fails, ig_json_print printed \"%.80s\"", label, printed);
        char text[64];
        cr_assert_eq(print_into_sized(item, sizeof text, text), 0, "%s: ig_json_print_into printed", label);
        cr_assert_eq(text[0], '\0', "%s: a failed print leaves an empty string", label);
        return false;
    }

    size_t expected_length = strlen(expected);
    cr_assert_not_null(printed, "%s: ig_json_print failed where cJSON printed \"%.80s\"", label, expected);
    if (length != expected_length || memcmp(printed, expected, expected_length) != 0) {
        char message[512];
        describe_difference(message, sizeof message, printed, length, expected, expected_length);
        cr_assert_fail("%s: ig_json_print differs from cJSON: %s", label, message);
    }
    cr_assert_eq(printed[length], '\0', "%s: ig_json_print ends the text with NUL", label);

    char *text = malloc(expected_length + 1);
    cr_assert_not_null(text);
    size_t fitted = print_into_sized(item, expected_length + 1, text);
    cr_assert_eq(fitted, expected_length, "%s: buffer of length + 1 bytes", label);
    cr_assert(memcmp(text, expected, expected_length + 1) == 0, "%s: ig_json_print_into differs from cJSON",
              label);
    if (expected_length > 0) {
        cr_assert_eq(print_into_sized(item, expected_length, text), 0, "%s: buffer of length bytes", label);
        cr_assert_eq(text[0], '\0', "%s: a text that does not fit leaves an empty string", label);
    }
    free(text);
    free(printed);
    cJSON_free(expected);
    return true;
}

/* ---- Seeded generator ------------------------------------------------- */

struct rng {
    uint64_t state;
};

/* splitmix64 */
static uint64_t rng_next(struct rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned rng_below(struct rng *rng, unsigned bound)
{
    return (unsigned)(rng_next(rng) % bound);
}

/* A byte other than NUL, mostly from the classes that the printer treats
 * differently: plain ASCII, stop bytes, 0x7f and bytes above it. */
static char random_byte(struct rng *rng)
{
    static const char stop_bytes[] = "\"\\\b\f\n\r\t\x01\x1f";
    switch (rng_below(rng, 8)) {
    case 0:
    case 1:
    case 2:
        return (char)(0x20 + rng_below(rng, 0x5f));
    case 3:
        return stop_bytes[rng_below(rng, sizeof stop_bytes - 1)];
    case 4:
        return (char)(1 + rng_below(rng, 0x1f));
    case 5:
        return (char)(0x80 + rng_below(rng, 0x80));
    case 6:
        return 0x7f;
    default:
        return (char)(1 + rng_below(rng, 255));
    }
}

/* A NUL-terminated string of random bytes, mostly short, sometimes hundreds
 * of bytes long so that it spans many 16-byte chunks. */
static char *random_text(struct rng *rng)
{
    unsigned kind = rng_below(rng, 20);
    size_t length = kind < 14 ? rng_below(rng, 20) : kind < 19 ? rng_below(rng, 80) : rng_below(rng, 700);
    bool plain = rng_below(rng, 3) == 0;
    char *text = malloc(length + 1);
    cr_assert_not_null(text);
    for (size_t i = 0; i < length; i++)
        text[i] = plain ? (char)('a' + rng_below(rng, 26)) : random_byte(rng);
    text[length] = '\0';
    return text;
}

static double random_double(struct rng *rng)
{
    static const double specials[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 0.5, 1.0 / 3, 2.0 / 3, 0.1 + 0.2, 1e300, -1e300, 5e-324,
        -5e-324, DBL_MIN, DBL_MAX, -DBL_MAX, DBL_EPSILON, 1e15, 1e15 - 1, -(1e15 - 1), 1e15 + 1,
        9007199254740992.0, 9007199254740993.0, 123456789012345678.0, 1e21, 1e-7, 1e-5, 123.456, 100.0,
        0.000123, 1e16, 4.35, 2.675, 1e22, 1e23, 0.30000000000000004, 9.999999999999999e22, NAN, -NAN,
        INFINITY, -INFINITY};
    uint64_t bits;
    double value;

    switch (rng_below(rng, 7)) {
    case 0:
        return specials[rng_below(rng, sizeof specials / sizeof specials[0])];
    case 1:
        bits = rng_next(rng);
        memcpy(&value, &bits, sizeof value);
        return value;
    case 2:
        return (double)((int64_t)rng_next(rng) >> rng_below(rng, 64));
    case 3:
        return (double)(int64_t)(rng_below(rng, 2000001)) - 1000000.0;
    case 4:
        return (double)(int64_t)(rng_next(rng) % 100000000) / pow(10, rng_below(rng, 12));
    case 5:
        value = specials[rng_below(rng, sizeof specials / sizeof specials[0])];
        return nextafter(value, rng_below(rng, 2) ? INFINITY : -INFINITY);
    default:
        return ldexp((double)(rng_next(rng) >> 11), (int)rng_below(rng, 200) - 100);
    }
}

/* Keys that are not copied into the tree (cJSON_AddItemToObjectCS). */
static const char *const const_keys[] = {"", "uid", "key with \"quotes\"", "tab\there", "\x01\x7f\xff",
                                         "a key of more than sixteen bytes"};

/* The shared items that reference items in a tree point into. They must
 * outlive the tree. */
struct referenced {
    cJSON *owner;
};

static cJSON *random_item(struct rng *rng, struct referenced *referenced, int depth);

/* A scalar or container that reference items of the tree may point into. */
static cJSON *random_shared_item(struct rng *rng, struct referenced *referenced)
{
    int count = cJSON_GetArraySize(referenced->owner);
    cr_assert_gt(count, 0);
    return cJSON_GetArrayItem(referenced->owner, (int)rng_below(rng, (unsigned)count));
}

/* An item that references a shared item, made the three ways cJSON offers. */
static cJSON *random_reference(struct rng *rng, struct referenced *referenced)
{
    const cJSON *target = random_shared_item(rng, referenced);
    if (cJSON_IsArray(target))
        return cJSON_CreateArrayReference(target->child);
    if (cJSON_IsObject(target))
        return cJSON_CreateObjectReference(target->child);
    return cJSON_CreateStringReference(target->valuestring);
}

static void add_random_children(struct rng *rng, struct referenced *referenced, cJSON *container, int depth)
{
    unsigned count = rng_below(rng, 6);
    bool is_object = cJSON_IsObject(container);

    for (unsigned i = 0; i < count; i++) {
        unsigned placement = rng_below(rng, 20);
        if (placement == 0) {
            /* A reference copy of a shared item, which keeps no key. */
            cr_assert(cJSON_AddItemReferenceToArray(container, random_shared_item(rng, referenced)));
            continue;
        }

        cJSON *child = random_item(rng, referenced, depth + 1);
        cr_assert_not_null(child);
        if (placement <= 2) {
            /* A member without a key (NULL) prints as "" in an object. */
            cr_assert(cJSON_AddItemToArray(container, child));
        } else if (placement <= 4) {
            cr_assert(cJSON_AddItemToObjectCS(container, const_keys[rng_below(rng, 6)], child));
        } else if (is_object || placement <= 6) {
            /* A key on an array member is not printed. */
            char *key = random_text(rng);
            cr_assert(cJSON_AddItemToObject(container, key, child));
            free(key);
        } else {
            cr_assert(cJSON_AddItemToArray(container, child));
        }
    }
}

/* Set type bits above cJSON_StringIsConst, which printing must ignore and
 * cJSON_Delete does not read. */
static void maybe_set_high_type_bits(struct rng *rng, cJSON *item)
{
    if (rng_below(rng, 20) == 0)
        item->type |= 1 << (10 + rng_below(rng, 20));
}

static cJSON *random_scalar(struct rng *rng, struct referenced *referenced)
{
    cJSON *item = NULL;
    char *text;

    switch (rng_below(rng, 12)) {
    case 0:
        return cJSON_CreateFalse();
    case 1:
        return cJSON_CreateTrue();
    case 2:
        return cJSON_CreateNull();
    case 3:
    case 4:
        return cJSON_CreateNumber(random_double(rng));
    case 5:
    case 6:
        text = random_text(rng);
        item = cJSON_CreateString(text);
        free(text);
        return item;
    case 7:
        return random_reference(rng, referenced);
    case 8:
        /* Raw text is copied verbatim, even when it is not JSON. */
        text = random_text(rng);
        item = cJSON_CreateRaw(text);
        free(text);
        return item;
    case 9:
        /* A string whose valuestring is NULL prints as "". */
        if (rng_below(rng, 2))
            return cJSON_CreateStringReference(NULL);
        item = cJSON_CreateNull();
        cr_assert_not_null(item);
        item->type = cJSON_String;
        return item;
    case 10:
        return cJSON_CreateRaw(rng_below(rng, 2) ? "" : "12");
    default:
        /* Rarely, an item that cJSON cannot print, which fails the whole
         * print. */
        item = cJSON_CreateNull();
        cr_assert_not_null(item);
        switch (rng_below(rng, 60)) {
        case 0:
            item->type = cJSON_Invalid;
            break;
        case 1:
            item->type = cJSON_Raw;
            break;
        case 2:
            item->type = cJSON_String | cJSON_Number;
            break;
        case 3:
            item->type = 0xFF;
            break;
        default:
            break;
        }
        return item;
    }
}

static cJSON *random_item(struct rng *rng, struct referenced *referenced, int depth)
{
    unsigned pick = rng_below(rng, depth >= 6 ? 10 : 16);
    cJSON *item;

    if (pick < 10) {
        item = random_scalar(rng, referenced);
    } else {
        item = pick < 13 ? cJSON_CreateArray() : cJSON_CreateObject();
        cr_assert_not_null(item);
        add_random_children(rng, referenced, item, depth);
    }
    cr_assert_not_null(item);
    maybe_set_high_type_bits(rng, item);
    return item;
}

/* Make the shared items: strings, and small arrays and objects that contain
 * no references. */
static void make_referenced(struct rng *rng, struct referenced *referenced)
{
    referenced->owner = cJSON_CreateArray();
    cr_assert_not_null(referenced->owner);
    for (int i = 0; i < 6; i++) {
        char *text = random_text(rng);
        cJSON *item;
        switch (i % 3) {
        case 0:
            item = cJSON_CreateString(text);
            break;
        case 1:
            item = cJSON_CreateArray();
            cr_assert_not_null(item);
            cr_assert(cJSON_AddItemToArray(item, cJSON_CreateString(text)));
            cr_assert(cJSON_AddItemToArray(item, cJSON_CreateNumber(random_double(rng))));
            break;
        default:
            item = cJSON_CreateObject();
            cr_assert_not_null(item);
            cr_assert(cJSON_AddItemToObject(item, text, cJSON_CreateTrue()));
            cr_assert(cJSON_AddItemToObjectCS(item, "n", cJSON_CreateNumber(random_double(rng))));
            break;
        }
        free(text);
        cr_assert_not_null(item);
        cr_assert(cJSON_AddItemToArray(referenced->owner, item));
    }
}

/* ---- Random trees ----------------------------------------------------- */

Test(json_print, random_trees_match_cjson)
{
    struct rng rng = {0x1f81ef15};
    int printed = 0;
    int failed = 0;

    for (int i = 0; i < 4000; i++) {
        struct referenced referenced;
        make_referenced(&rng, &referenced);
        cJSON *tree = random_item(&rng, &referenced, 0);

        char label[48];
        snprintf(label, sizeof label, "random tree %d", i);
        if (assert_prints_like_cjson(tree, label))
            printed++;
        else
            failed++;
        cJSON_Delete(tree);
        cJSON_Delete(referenced.owner);
    }
    /* Both outcomes must be common enough to mean something. */
    cr_assert_gt(printed, 3000, "only %d of 4000 trees printed", printed);
    cr_assert_gt(failed, 20, "only %d of 4000 trees failed to print", failed);
}

/* Containers deep enough that the printer moves its stack of open
 * containers to the heap, with random members at every level. */
Test(json_print, random_deep_trees_match_cjson)
{
    struct rng rng = {42};

    for (int i = 0; i < 200; i++) {
        struct referenced referenced;
        make_referenced(&rng, &referenced);
        cJSON *root = cJSON_CreateArray();
        cr_assert_not_null(root);
        cJSON *level = root;
        int depth = 20 + (int)rng_below(&rng, 120);
        for (int d = 0; d < depth; d++) {
            add_random_children(&rng, &referenced, level, 6);
            cJSON *inner = rng_below(&rng, 2) ? cJSON_CreateArray() : cJSON_CreateObject();
            cr_assert_not_null(inner);
            cr_assert(cJSON_AddItemToObjectCS(level, "deeper", inner));
            add_random_children(&rng, &referenced, level, 6);
            level = inner;
        }

        char label[48];
        snprintf(label, sizeof label, "deep tree %d (depth %d)", i, depth);
        assert_prints_like_cjson(root, label);
        cJSON_Delete(root);
        cJSON_Delete(referenced.owner);
    }
}

/* ---- Strings ---------------------------------------------------------- */

Test(json_print, every_byte_in_values_and_keys)
{
    for (int byte = 1; byte < 256; byte++) {
        char alone[2] = {(char)byte, '\0'};
        char inside[5] = {'a', (char)byte, 'z', (char)byte, '\0'};
        char label[48];

        cJSON *object = cJSON_CreateObject();
        cr_assert_not_null(object);
        cr_assert_not_null(cJSON_AddStringToObject(object, alone, alone));
        cr_assert_not_null(cJSON_AddStringToObject(object, inside, inside));
        snprintf(label, sizeof label, "byte 0x%02x", byte);
        assert_prints_like_cjson(object, label);
        cJSON_Delete(object);
    }
}

/* Escapes are written as cJSON 1.7.15 writes them: two characters for the
 * quote, the backslash and \b \f \n \r \t, lowercase \u00xx for the other
 * control characters, and everything else unchanged. */
Test(json_print, escape_forms)
{
    static const struct {
        const char *value;
        const char *printed;
    } cases[] = {
        {"\"", "\"\\\"\""},
        {"\\", "\"\\\\\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x0b\x1f", "\"\\u0001\\u000b\\u001f\""},
        {"/", "\"/\""},
        {"\x7f", "\"\x7f\""},
        {"\xff\xfe\xc3", "\"\xff\xfe\xc3\""},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *item = cJSON_CreateString(cases[i].value);
        cr_assert_not_null(item);
        char buffer[64];
        size_t length = ig_json_print_into(item, buffer, sizeof buffer);
        cr_assert_eq(length, strlen(cases[i].printed), "case %zu", i);
        cr_assert_str_eq(buffer, cases[i].printed, "case %zu", i);
        assert_prints_like_cjson(item, "escape form");
        cJSON_Delete(item);
    }
}

/* Strings of every length up to 80 bytes, plain and with one stop byte at
 * every offset, so that every position relative to the 16-byte chunks and
 * to the short-string path is covered, as a value and as a key. */
Test(json_print, stop_byte_at_every_offset)
{
    static const char stop_bytes[] = {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\x80'};
    char text[81];

    for (size_t length = 0; length <= 80; length++) {
        for (size_t i = 0; i < length; i++)
            text[i] = (char)('A' + i % 26);
        text[length] = '\0';

        for (size_t offset = 0; offset <= length; offset++) {
            for (size_t s = 0; s < sizeof stop_bytes; s++) {
                char changed[81];
                memcpy(changed, text, length + 1);
                if (offset < length)
                    changed[offset] = stop_bytes[s];

                cJSON *object = cJSON_CreateObject();
                cr_assert_not_null(object);
                cr_assert_not_null(cJSON_AddStringToObject(object, changed, changed));
                char label[64];
                snprintf(label, sizeof label, "length %zu, byte 0x%02x at %zu", length,
                         (unsigned char)stop_bytes[s], offset);
                assert_prints_like_cjson(object, label);
                cJSON_Delete(object);
                if (offset == length)
                    break;
            }
        }
    }
}

/* Strings that are all stop bytes make the printer grow its heap buffer in
 * the middle of a string. */
Test(json_print, long_strings_of_escapes)
{
    struct rng rng = {7};

    for (size_t length = 100; length < 200000; length = length * 3 + 1) {
        char *text = malloc(length + 1);
        cr_assert_not_null(text);
        for (size_t i = 0; i < length; i++)
            text[i] = rng_below(&rng, 4) ? (char)(1 + rng_below(&rng, 31)) : random_byte(&rng);
        text[length] = '\0';

        cJSON *array = cJSON_CreateArray();
        cr_assert_not_null(array);
        cr_assert(cJSON_AddItemToArray(array, cJSON_CreateString(text)));
        cr_assert(cJSON_AddItemToArray(array, cJSON_CreateStringReference(text)));
        char label[48];
        snprintf(label, sizeof label, "%zu escaped bytes", length);
        assert_prints_like_cjson(array, label);
        cJSON_Delete(array);
        free(text);
    }
}

/* ---- Numbers ---------------------------------------------------------- */

static void assert_number_prints(double value, const char *printed)
{
    cJSON *number = cJSON_CreateNumber(value);
    cr_assert_not_null(number);
    char buffer[64];
    ig_json_print_into(number, buffer, sizeof buffer);
    cr_assert_str_eq(buffer, printed, "%.17g printed as %s, expected %s", value, buffer, printed);
    assert_prints_like_cjson(number, printed);
    cJSON_Delete(number);
}

/* The forms that cJSON 1.7.15 gives, pinned here so that a change of the
 * linked cJSON shows up as a failure that names the number. */
Test(json_print, number_forms)
{
    assert_number_prints(0.0, "0");
    assert_number_prints(-0.0, "-0");
    assert_number_prints(42.0, "42");
    assert_number_prints(-999999999999999.0, "-999999999999999");
    assert_number_prints(1e15, "1e+15");
    assert_number_prints(0.1, "0.1");
    /* cJSON accepts the 15-digit text when it reads back to within a
     * relative DBL_EPSILON, so this sum does not print as 0.30000000000000004. */
    assert_number_prints(0.1 + 0.2, "0.3");
    /* The 15-digit 0.333333333333333 is off by more than that. */
    assert_number_prints(1.0 / 3, "0.33333333333333331");
    /* 2^53 is 2 away from the 15-digit text, which is within the tolerance,
     * so cJSON prints a different integer. */
    assert_number_prints(9007199254740992.0, "9.00719925474099e+15");
    assert_number_prints(123456789012345678.0, "1.2345678901234568e+17");
    assert_number_prints(1e300, "1e+300");
    assert_number_prints(5e-324, "4.94065645841247e-324");
    assert_number_prints(DBL_MAX, "1.79769313486232e+308");
    assert_number_prints(NAN, "null");
    assert_number_prints(-NAN, "null");
    assert_number_prints(INFINITY, "null");
    assert_number_prints(-INFINITY, "null");
}

Test(json_print, random_numbers_match_cjson)
{
    struct rng rng = {2024};
    cJSON *array = cJSON_CreateArray();
    cr_assert_not_null(array);

    for (int i = 0; i < 40000; i++) {
        cJSON *number = cJSON_CreateNumber(random_double(&rng));
        cr_assert_not_null(number);
        cr_assert(cJSON_AddItemToArray(array, number));
        if (i % 1000 == 999) {
            assert_prints_like_cjson(array, "random numbers");
            cJSON_Delete(array);
            array = cJSON_CreateArray();
            cr_assert_not_null(array);
        }
    }
    cJSON_Delete(array);
}

/* Every integer magnitude up to 2^63 at and around each power of two and
 * ten, where the integer path ends and "%1.15g" changes form. */
Test(json_print, integer_boundaries_match_cjson)
{
    cJSON *array = cJSON_CreateArray();
    cr_assert_not_null(array);

    for (int exponent = 0; exponent < 64; exponent++) {
        double powers[] = {ldexp(1, exponent), exponent < 20 ? pow(10, exponent) : ldexp(3, exponent)};
        for (size_t p = 0; p < 2; p++) {
            for (int delta = -2; delta <= 2; delta++) {
                double value = powers[p] + delta;
                cr_assert(cJSON_AddItemToArray(array, cJSON_CreateNumber(value)));
                cr_assert(cJSON_AddItemToArray(array, cJSON_CreateNumber(-value)));
                cr_assert(cJSON_AddItemToArray(array, cJSON_CreateNumber(nextafter(value, 0))));
                cr_assert(cJSON_AddItemToArray(array, cJSON_CreateNumber(nextafter(value, INFINITY))));
            }
        }
    }
    assert_prints_like_cjson(array, "integer boundaries");
    cJSON_Delete(array);
}

/* Make name the LC_NUMERIC locale, compiling it with localedef into a
 * temporary folder when the system has not generated it. Returns false when
 * that fails too (no locale sources installed). */
static bool use_numeric_locale(const char *name, const char *source)
{
    if (setlocale(LC_NUMERIC, name))
        return true;

    static char folder[] = "/tmp/ig-test-locale-XXXXXX";
    if (!mkdtemp(folder))
        return false;
    char command[256];
    snprintf(command, sizeof command, "localedef -c -i %s -f UTF-8 %s/%s >/dev/null 2>&1", source, folder,
             name);
    int status = system(command);
    bool usable = status != -1 && setenv("LOCPATH", folder, 1) == 0 && setlocale(LC_NUMERIC, name);
    snprintf(command, sizeof command, "rm -rf %s", folder);
    if (system(command) != 0)
        cr_log_warn("could not remove %s", folder);
    return usable;
}

static const double locale_numbers[] = {0.5, -1.25, 0.1 + 0.2, 1e-7, 123456.789, 1.0 / 3, 5e-324, 2.5e300};

/* In a locale whose decimal point is ',', cJSON and the printer both print
 * '.'. */
Test(json_print, comma_locale_prints_point)
{
    if (!use_numeric_locale("de_DE.UTF-8", "de_DE"))
        cr_skip_test("locale de_DE.UTF-8 is not available and localedef could not build it");
    char check[16];
    snprintf(check, sizeof check, "%g", 0.5);
    cr_assert_str_eq(check, "0,5", "printf uses the locale's decimal point");

    cJSON *array = cJSON_CreateArray();
    cr_assert_not_null(array);
    for (size_t i = 0; i < sizeof locale_numbers / sizeof locale_numbers[0]; i++)
        cr_assert(cJSON_AddItemToArray(array, cJSON_CreateNumber(locale_numbers[i])));
    assert_prints_like_cjson(array, "de_DE numbers");

    char buffer[256];
    ig_json_print_into(array, buffer, sizeof buffer);
    cr_assert_str_eq(buffer, "[0.5,-1.25,0.3,1e-07,123456.789,0.33333333333333331,4.94065645841247e-324,2.5e+300]");
    cJSON_Delete(array);
}

/* ps_AF's decimal point is U+066B, two bytes in UTF-8. cJSON 1.7.15 replaces
 * only the first byte with '.', so it prints 0.5 as "0.\xab5", which is not
 * JSON. The printer prints the same text as in the C locale. */
Test(json_print, multibyte_decimal_point_prints_point)
{
    cJSON *array = cJSON_CreateArray();
    cr_assert_not_null(array);
    for (size_t i = 0; i < sizeof locale_numbers / sizeof locale_numbers[0]; i++)
        cr_assert(cJSON_AddItemToArray(array, cJSON_CreateNumber(locale_numbers[i])));
    char in_c_locale[256];
    size_t c_length = ig_json_print_into(array, in_c_locale, sizeof in_c_locale);
    cr_assert_gt(c_length, 0);

    if (!use_numeric_locale("ps_AF.UTF-8", "ps_AF"))
        cr_skip_test("locale ps_AF.UTF-8 is not available and localedef could not build it");
    char check[16];
    snprintf(check, sizeof check, "%g", 0.5);
    cr_assert_str_eq(check, "0\xd9\xab" "5", "printf uses U+066B as the decimal point");

    char buffer[256];
    cr_assert_eq(ig_json_print_into(array, buffer, sizeof buffer), c_length);
    cr_assert_str_eq(buffer, in_c_locale);
    cJSON_Delete(array);
}

/* ---- Item types and flags --------------------------------------------- */

static void assert_prints(const cJSON *item, const char *printed)
{
    char buffer[256];
    size_t length = ig_json_print_into(item, buffer, sizeof buffer);
    cr_assert_eq(length, strlen(printed), "length of %s", printed);
    cr_assert_str_eq(buffer, printed);
    assert_prints_like_cjson(item, printed);
}

Test(json_print, scalar_types)
{
    cJSON *items[] = {cJSON_CreateFalse(), cJSON_CreateTrue(), cJSON_CreateNull(), cJSON_CreateNumber(-12.5),
                      cJSON_CreateString("s"), cJSON_CreateRaw("{\"raw\": [1, 2]}"), cJSON_CreateArray(),
                      cJSON_CreateObject()};
    const char *printed[] = {"false", "true", "null", "-12.5", "\"s\"", "{\"raw\": [1, 2]}", "[]", "{}"};

    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        cr_assert_not_null(items[i]);
        assert_prints(items[i], printed[i]);
        cJSON_Delete(items[i]);
    }
}

Test(json_print, null_strings_print_empty)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cJSON *no_key = cJSON_CreateStringReference(NULL);
    cr_assert_not_null(no_key);
    cr_assert(cJSON_AddItemToArray(object, no_key));
    cJSON *plain = cJSON_CreateNull();
    cr_assert_not_null(plain);
    plain->type = cJSON_String;
    cr_assert(cJSON_AddItemToObjectCS(object, "k", plain));

    assert_prints(object, "{\"\":\"\",\"k\":\"\"}");
    cJSON_Delete(object);
}

Test(json_print, keys_on_array_members_not_printed)
{
    cJSON *array = cJSON_CreateArray();
    cr_assert_not_null(array);
    cr_assert(cJSON_AddItemToObject(array, "ignored", cJSON_CreateTrue()));
    cr_assert(cJSON_AddItemToObjectCS(array, "also ignored", cJSON_CreateNumber(1)));
    assert_prints(array, "[true,1]");
    cJSON_Delete(array);
}

/* A member printed on its own prints without its key and without the
 * siblings that follow it. */
Test(json_print, member_prints_alone)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cr_assert_not_null(cJSON_AddStringToObject(object, "a", "first"));
    cJSON *inner = cJSON_AddObjectToObject(object, "b");
    cr_assert_not_null(inner);
    cr_assert_not_null(cJSON_AddNumberToObject(inner, "c", 3));
    cr_assert_not_null(cJSON_AddStringToObject(object, "d", "last"));

    assert_prints(object->child, "\"first\"");
    assert_prints(inner, "{\"c\":3}");
    cJSON_Delete(object);
}

Test(json_print, references_print_their_target)
{
    cJSON *target = cJSON_CreateObject();
    cr_assert_not_null(target);
    cr_assert_not_null(cJSON_AddStringToObject(target, "x", "y"));
    cJSON *list = cJSON_CreateArray();
    cr_assert_not_null(list);
    cr_assert(cJSON_AddItemToArray(list, cJSON_CreateNumber(1)));
    cr_assert(cJSON_AddItemToArray(list, cJSON_CreateNumber(2)));

    cJSON *root = cJSON_CreateObject();
    cr_assert_not_null(root);
    cr_assert(cJSON_AddItemReferenceToObject(root, "object", target));
    cr_assert(cJSON_AddItemReferenceToObject(root, "list", list));
    cr_assert(cJSON_AddItemToObject(root, "elements", cJSON_CreateArrayReference(list->child)));
    cr_assert(cJSON_AddItemToObject(root, "members", cJSON_CreateObjectReference(target->child)));
    cr_assert(cJSON_AddItemToObject(root, "string", cJSON_CreateStringReference("ref\n")));

    assert_prints(root, "{\"object\":{\"x\":\"y\"},\"list\":[1,2],\"elements\":[1,2],\"members\":{\"x\":\"y\"},"
                        "\"string\":\"ref\\n\"}");
    cJSON_Delete(root);
    cJSON_Delete(list);
    cJSON_Delete(target);
}

/* Raw text is copied as it is, even when it is empty or not JSON. */
Test(json_print, raw_items_verbatim)
{
    cJSON *array = cJSON_CreateArray();
    cr_assert_not_null(array);
    cr_assert(cJSON_AddItemToArray(array, cJSON_CreateRaw("")));
    cr_assert(cJSON_AddItemToArray(array, cJSON_CreateRaw("\"unterminated\n")));
    cr_assert(cJSON_AddItemToArray(array, cJSON_CreateRaw("")));
    assert_prints(array, "[,\"unterminated\n,]");
    cJSON_Delete(array);

    cJSON *empty = cJSON_CreateRaw("");
    cr_assert_not_null(empty);
    char buffer[4] = "abc";
    cr_assert_eq(ig_json_print_into(empty, buffer, 1), 0, "an empty text fits in the NUL's byte");
    cr_assert_eq(buffer[0], '\0');
    size_t length = 99;
    char *text = ig_json_print(empty, &length);
    cr_assert_not_null(text);
    cr_assert_eq(length, 0);
    cr_assert_str_eq(text, "");
    free(text);
    cJSON_Delete(empty);
}

/* Bits above the type byte are flags or unused, so they do not change what
 * prints. */
Test(json_print, flag_bits_ignored)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cJSON *flagged = cJSON_CreateTrue();
    cr_assert_not_null(flagged);
    flagged->type |= 1 << 20;
    cr_assert(cJSON_AddItemToObjectCS(object, "const", flagged));
    cr_assert(object->child->type & cJSON_StringIsConst);
    object->type |= 1 << 12;

    assert_prints(object, "{\"const\":true}");
    cJSON_Delete(object);
}

/* ---- Failures ----------------------------------------------------------- */

static void assert_fails(cJSON *item, const char *label)
{
    char buffer[64];
    memset(buffer, 'X', sizeof buffer);
    cr_assert_eq(ig_json_print_into(item, buffer, sizeof buffer), 0, "%s", label);
    cr_assert_eq(buffer[0], '\0', "%s leaves an empty string", label);
    cr_assert_null(ig_json_print(item, NULL), "%s", label);
    cr_assert_null(cJSON_PrintUnformatted(item), "cJSON prints %s", label);
}

Test(json_print, unprintable_items_fail)
{
    cJSON *invalid = cJSON_CreateNull();
    cr_assert_not_null(invalid);
    invalid->type = cJSON_Invalid;
    assert_fails(invalid, "cJSON_Invalid");

    cJSON *raw = cJSON_CreateNull();
    cr_assert_not_null(raw);
    raw->type = cJSON_Raw;
    assert_fails(raw, "a Raw item without text");

    cJSON *mixed = cJSON_CreateString("x");
    cr_assert_not_null(mixed);
    mixed->type |= cJSON_Number;
    assert_fails(mixed, "an item of two types");

    /* One unprintable item deep inside fails the whole tree. */
    cJSON *tree = cJSON_CreateObject();
    cr_assert_not_null(tree);
    cJSON *inner = cJSON_AddArrayToObject(tree, "inner");
    cr_assert_not_null(inner);
    cr_assert(cJSON_AddItemToArray(inner, cJSON_CreateString("a long enough string to need space")));
    cr_assert(cJSON_AddItemToArray(inner, invalid));
    assert_fails(tree, "a tree with cJSON_Invalid inside");

    cJSON_Delete(tree);
    cJSON_Delete(mixed);
    cJSON_Delete(raw);
}

Test(json_print, null_item_fails)
{
    char buffer[8] = "abc";
    cr_assert_eq(ig_json_print_into(NULL, buffer, sizeof buffer), 0);
    cr_assert_eq(buffer[0], '\0');
    size_t length = 7;
    cr_assert_null(ig_json_print(NULL, &length));
    cr_assert_eq(length, 7, "length is left alone on failure");
}

/* ---- Buffer sizes ------------------------------------------------------- */

Test(json_print, every_buffer_size)
{
    cJSON *object = cJSON_CreateObject();
    cr_assert_not_null(object);
    cr_assert_not_null(cJSON_AddStringToObject(object, "key", "a \"quoted\"\tvalue that is long enough"));
    cr_assert(ig_json_add_int(object, "code", 403));
    cJSON *list = cJSON_AddArrayToObject(object, "list");
    cr_assert_not_null(list);
    cr_assert(cJSON_AddItemToArray(list, cJSON_CreateNumber(0.25)));
    cr_assert(cJSON_AddItemToArray(list, cJSON_CreateObject()));
    char *expected = cJSON_PrintUnformatted(object);
    cr_assert_not_null(expected);
    size_t expected_length = strlen(expected);

    for (size_t size = 0; size <= expected_length + 4; size++) {
        char *text = malloc(size + 1);
        cr_assert_not_null(text);
        size_t length = print_into_sized(object, size, text);
        if (size > expected_length) {
            cr_assert_eq(length, expected_length, "buffer of %zu bytes", size);
            cr_assert_str_eq(text, expected, "buffer of %zu bytes", size);
        } else {
            cr_assert_eq(length, 0, "buffer of %zu bytes", size);
            if (size > 0)
                cr_assert_eq(text[0], '\0', "buffer of %zu bytes", size);
        }
        free(text);
    }
    cJSON_free(expected);
    cJSON_Delete(object);
}

Test(json_print, tiny_buffers)
{
    cJSON *empty = cJSON_CreateObject();
    cJSON *digit = cJSON_CreateRaw("1");
    cr_assert_not_null(empty);
    cr_assert_not_null(digit);
    char buffer[4];

    cr_assert_eq(ig_json_print_into(empty, buffer, 0), 0);
    cr_assert_eq(ig_json_print_into(empty, NULL, 16), 0);
    cr_assert_eq(ig_json_print_into(empty, buffer, 2), 0);
    cr_assert_eq(ig_json_print_into(empty, buffer, 3), 2);
    cr_assert_str_eq(buffer, "{}");
    cr_assert_eq(ig_json_print_into(digit, buffer, 1), 0);
    cr_assert_eq(ig_json_print_into(digit, buffer, 2), 1);
    cr_assert_str_eq(buffer, "1");
    cJSON_Delete(digit);
    cJSON_Delete(empty);
}

Test(json_print, length_pointer_optional)
{
    cJSON *item = cJSON_CreateString("x");
    cr_assert_not_null(item);
    char *text = ig_json_print(item, NULL);
    cr_assert_not_null(text);
    cr_assert_str_eq(text, "\"x\"");
    free(text);
    cJSON_Delete(item);
}

/* ---- Nesting ------------------------------------------------------------ */

/* Nest arrays and objects depth levels deep, alternating, with a member
 * before and after each inner container. */
static cJSON *nested(int depth)
{
    cJSON *root = cJSON_CreateArray();
    cr_assert_not_null(root);
    cJSON *level = root;
    for (int d = 0; d < depth; d++) {
        cJSON *inner = d % 2 ? cJSON_CreateArray() : cJSON_CreateObject();
        cr_assert_not_null(inner);
        cr_assert(cJSON_AddItemToObjectCS(level, "before", cJSON_CreateNumber(d)));
        cr_assert(cJSON_AddItemToObjectCS(level, "in", inner));
        cr_assert(cJSON_AddItemToObjectCS(level, "after", cJSON_CreateString("s")));
        level = inner;
    }
    return root;
}

Test(json_print, every_depth_to_100_matches_cjson)
{
    for (int depth = 0; depth <= 100; depth++) {
        cJSON *root = nested(depth);
        char label[32];
        snprintf(label, sizeof label, "depth %d", depth);
        assert_prints_like_cjson(root, label);
        cJSON_Delete(root);
    }
}

/* cJSON_Parse stops at 1000 levels, but built trees can go deeper. */
Test(json_print, depth_5000_matches_cjson)
{
    cJSON *root = nested(5000);
    assert_prints_like_cjson(root, "depth 5000");
    cJSON_Delete(root);
}

/* Deeper than cJSON_PrintUnformatted and cJSON_Delete, which recurse, can
 * go on an 8 MiB stack: the printer keeps its own stack on the heap. */
Test(json_print, depth_one_million)
{
    const size_t depth = 1000000;
    cJSON *root = cJSON_CreateArray();
    cr_assert_not_null(root);
    cJSON *level = root;
    for (size_t d = 1; d < depth; d++) {
        cJSON *inner = cJSON_CreateArray();
        cr_assert_not_null(inner);
        cr_assert(cJSON_AddItemToArray(level, inner));
        level = inner;
    }

    size_t length = 0;
    char *text = ig_json_print(root, &length);
    cr_assert_not_null(text);
    cr_assert_eq(length, 2 * depth);
    for (size_t i = 0; i < depth; i++) {
        cr_assert_eq(text[i], '[', "offset %zu", i);
        cr_assert_eq(text[depth + i], ']', "offset %zu", depth + i);
    }
    free(text);

    /* Free from the top down, since cJSON_Delete would recurse depth times. */
    while (root) {
        cJSON *inner = cJSON_DetachItemFromArray(root, 0);
        cJSON_Delete(root);
        root = inner;
    }
}

/* A tree built in caller nodes prints as the same tree built by cJSON, and a
 * full storage refuses further nodes. */
Test(json_print, nodes_tree_prints_like_cjson_tree)
{
    cJSON storage[9];
    struct ig_json_nodes nodes;
    ig_json_nodes_init(&nodes, storage, 9);
    cJSON *root = ig_json_nodes_add(&nodes, NULL, NULL, cJSON_Object, NULL);
    ig_json_nodes_add(&nodes, root, "text", cJSON_String, "a \"quoted\"\n value");
    cJSON *inner = ig_json_nodes_add(&nodes, root, "inner", cJSON_Object, NULL);
    ig_json_nodes_add(&nodes, inner, "code", cJSON_Raw, "403");
    ig_json_nodes_add(&nodes, inner, "none", cJSON_NULL, NULL);
    cJSON *list = ig_json_nodes_add(&nodes, root, "list", cJSON_Array, NULL);
    ig_json_nodes_add(&nodes, list, NULL, cJSON_True, NULL);
    ig_json_nodes_add(&nodes, list, NULL, cJSON_String, "second");
    ig_json_nodes_add(&nodes, root, "empty", cJSON_Object, NULL);
    cr_assert_null(ig_json_nodes_add(&nodes, root, "tenth", cJSON_False, NULL));

    cJSON *expected = cJSON_CreateObject();
    cr_assert_not_null(expected);
    cJSON_AddStringToObject(expected, "text", "a \"quoted\"\n value");
    cJSON *expected_inner = cJSON_AddObjectToObject(expected, "inner");
    cJSON_AddRawToObject(expected_inner, "code", "403");
    cJSON_AddNullToObject(expected_inner, "none");
    cJSON *expected_list = cJSON_AddArrayToObject(expected, "list");
    cJSON_AddItemToArray(expected_list, cJSON_CreateTrue());
    cJSON_AddItemToArray(expected_list, cJSON_CreateString("second"));
    cJSON_AddObjectToObject(expected, "empty");
    char *want = cJSON_PrintUnformatted(expected);
    cr_assert_not_null(want);

    char got[256];
    size_t length = ig_json_print_into(root, got, sizeof got);
    cr_assert_eq(length, strlen(want));
    cr_assert_str_eq(got, want);
    /* The last child is where cJSON keeps it, so cJSON's readers work too. */
    cr_assert_eq(root->child->prev, &storage[8]);
    cr_assert_eq(cJSON_GetArraySize(list), 2);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(inner, "code")->valuestring, "403");
    cJSON_free(want);
    cJSON_Delete(expected);
}
