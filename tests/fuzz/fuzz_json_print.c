/* libFuzzer target: ig_json_print_into and ig_json_print against
 * cJSON_PrintUnformatted.
 *
 * Byte 0 selects changes to the parsed tree, so that it also contains items
 * that cJSON_Parse never makes. The rest of the input is JSON text for
 * cJSON_ParseWithLength.
 * Selector bits, each applied to every few items in document order:
 *   0  a string item becomes a Raw item with the same text
 *   1  an object member loses its key (item->string NULL)
 *   2  a string item loses its text (valuestring NULL)
 *   3  a number is divided by 7, which often needs 17 digits
 *   4  a number becomes NaN, an infinity or -0
 * The printers must print the same bytes as cJSON, or fail where it fails,
 * and ig_json_print_into must fit a buffer of exactly length + 1 bytes and
 * fail with one byte less. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *description)
{
    if (!condition) {
        fprintf(stderr, "json_print fuzz check failed: %s\n", description);
        abort();
    }
}

/* Apply the changes that selector sets to item and everything below it.
 * counter numbers the items in document order. Depth is at most cJSON's
 * parse limit of 1000 levels. */
static void change_tree(cJSON *item, unsigned selector, unsigned *counter)
{
    for (; item; item = item->next) {
        unsigned index = (*counter)++;
        if ((selector & 2) && item->string && index % 4 == 1) {
            cJSON_free(item->string);
            item->string = NULL;
        }
        if (cJSON_IsString(item) && (selector & 1) && index % 3 == 0) {
            item->type = cJSON_Raw;
        } else if (cJSON_IsString(item) && (selector & 4) && index % 5 == 2) {
            cJSON_free(item->valuestring);
            item->valuestring = NULL;
        } else if (cJSON_IsNumber(item) && (selector & 8) && index % 2 == 0) {
            item->valuedouble /= 7;
        } else if (cJSON_IsNumber(item) && (selector & 16) && index % 3 == 1) {
            static const double specials[] = {NAN, INFINITY, -INFINITY, -0.0};
            item->valuedouble = specials[index % 4];
        }
        change_tree(item->child, selector, counter);
    }
}

/* ig_json_print_into with a heap buffer of exactly size bytes, so that ASan
 * catches a write past it. Copies the text to text when it printed. */
static size_t print_into_exact(const cJSON *tree, size_t size, char *text)
{
    char *buffer = malloc(size > 0 ? size : 1);
    if (!buffer)
        return 0;
    size_t length = ig_json_print_into(tree, buffer, size);
    if (size > 0) {
        expect(length < size, "the returned length leaves room for the NUL");
        expect(buffer[length] == '\0', "the text ends with NUL");
        memcpy(text, buffer, length + 1);
    }
    free(buffer);
    return length;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cJSON *tree = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    if (!tree)
        return 0;
    unsigned counter = 0;
    change_tree(tree, data[0], &counter);

    char *expected = cJSON_PrintUnformatted(tree);
    size_t length = 0;
    char *printed = ig_json_print(tree, &length);
    if (!expected) {
        char small[64];
        expect(printed == NULL, "ig_json_print fails where cJSON fails");
        expect(print_into_exact(tree, sizeof small, small) == 0, "ig_json_print_into fails where cJSON fails");
        cJSON_Delete(tree);
        return 0;
    }

    size_t expected_length = strlen(expected);
    expect(printed != NULL, "ig_json_print prints what cJSON prints");
    expect(length == expected_length, "ig_json_print returns cJSON's length");
    expect(memcmp(printed, expected, expected_length + 1) == 0, "ig_json_print prints cJSON's bytes");

    char *text = malloc(expected_length + 1);
    if (text) {
        expect(print_into_exact(tree, expected_length + 1, text) == expected_length,
               "ig_json_print_into fits a buffer of length + 1 bytes");
        expect(memcmp(text, expected, expected_length + 1) == 0, "ig_json_print_into prints cJSON's bytes");
        if (expected_length > 0)
            expect(print_into_exact(tree, expected_length, text) == 0,
                   "ig_json_print_into fails in a buffer of length bytes");
        free(text);
    }

    free(printed);
    cJSON_free(expected);
    cJSON_Delete(tree);
    return 0;
}
