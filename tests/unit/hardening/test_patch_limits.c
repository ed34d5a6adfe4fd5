/* Edge cases of the JSON Patch builder found while writing its fuzz target. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <string.h>

#include "policy/patch.h"

Test(patch_limits, empty_key_path_rejected)
{
    cJSON *patch = cJSON_CreateArray();
    cJSON *document = cJSON_CreateObject();
    const char *const keys[] = {"unused"};

    /* Before the fix this read keys[SIZE_MAX]; the value is freed either way. */
    cr_assert_not(ig_patch_set(patch, document, keys, 0, cJSON_CreateString("x")));
    cr_assert_eq(cJSON_GetArraySize(patch), 0);
    cJSON_Delete(document);
    cJSON_Delete(patch);
}

Test(patch_limits, pointer_too_long_rejected)
{
    cJSON *patch = cJSON_CreateArray();
    /* metadata exists, so the long key lands in the pointer (each "/" is
     * escaped to "~1") rather than in the added value. */
    cJSON *document = cJSON_Parse("{\"metadata\":{}}");
    char key[2048];
    memset(key, '/', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    const char *const keys[] = {"metadata", key};

    cr_assert_not(ig_patch_set(patch, document, keys, 2, cJSON_CreateString("x")));
    cr_assert_eq(cJSON_GetArraySize(patch), 0);
    cJSON_Delete(document);
    cJSON_Delete(patch);
}

Test(patch_limits, escaped_keys_in_pointer)
{
    cJSON *patch = cJSON_CreateArray();
    cJSON *document = cJSON_Parse("{\"a/b\":{}}");
    const char *const keys[] = {"a/b", "c~d"};

    cr_assert(ig_patch_set(patch, document, keys, 2, cJSON_CreateString("x")));
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(patch, 0), "path");
    cr_assert_str_eq(cJSON_GetStringValue(path), "/a~1b/c~0d");
    cJSON_Delete(document);
    cJSON_Delete(patch);
}
