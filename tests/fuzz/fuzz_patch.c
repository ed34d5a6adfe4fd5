/* libFuzzer target: the JSON Patch builder (ig_patch_set, ig_patch_for_violation).
 *
 * Input layout: one selector byte, then key lines ending at the first NUL
 * byte, then a JSON document. With selector bit 0 clear, the keys (one per
 * '\n'-separated line, 1 to 8 of them) go to ig_patch_set with the value
 * "fuzz"; with it set, ig_patch_for_violation builds the fix for an
 * ExternalSecret (bit 1 clear) or a ClusterExternalSecret, with the annotate
 * (bit 2 clear) or set-mutable action. The patch is then applied to the
 * document by a strict RFC 6902 checker, and the value must be found at the
 * key path afterwards. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch_check.h"
#include "policy/patch.h"
#include "policy/rule.h"

#define MAX_KEYS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "patch fuzz check failed: %s\n", what);
        abort();
    }
}

/* Check that document has value at the key path, through objects only. */
static void expect_value_at(const cJSON *document, const char *const *keys, size_t key_count,
                            const cJSON *value)
{
    const cJSON *node = document;
    for (size_t i = 0; i < key_count; i++) {
        expect(cJSON_IsObject(node), "every parent on the key path is an object after the patch");
        node = cJSON_GetObjectItemCaseSensitive(node, keys[i]);
        expect(node != NULL, "every key on the path exists after the patch");
    }
    expect(cJSON_Compare(node, value, true), "the value at the key path is the one set");
}

static size_t split_keys(char *text, const char **keys)
{
    size_t count = 0;
    char *start = text;
    for (;;) {
        char *newline = strchr(start, '\n');
        if (count == MAX_KEYS)
            break;
        keys[count++] = start;
        if (!newline)
            break;
        *newline = '\0';
        start = newline + 1;
    }
    return count;
}

static void fuzz_patch_set(cJSON *document, const char **keys, size_t key_count)
{
    cJSON *patch = cJSON_CreateArray();
    cJSON *expected = cJSON_CreateString("fuzz");
    if (!patch || !expected)
        goto out;
    if (ig_patch_set(patch, document, keys, key_count, cJSON_CreateString("fuzz"))) {
        expect(cJSON_GetArraySize(patch) == 1, "ig_patch_set appends one operation");
        patch_check_apply(document, patch);
        expect_value_at(document, keys, key_count, expected);
    } else {
        expect(cJSON_GetArraySize(patch) == 0, "a failed ig_patch_set appends nothing");
    }
out:
    cJSON_Delete(expected);
    cJSON_Delete(patch);
}

static void fuzz_patch_for_violation(cJSON *document, uint8_t selector)
{
    static const char *const es_annotation[] = {"metadata", "annotations", IG_ROTATION_ANNOTATION};
    static const char *const ces_annotation[] = {"spec", "externalSecretMetadata", "annotations",
                                                 IG_ROTATION_ANNOTATION};
    static const char *const es_immutable[] = {"spec", "target", "immutable"};
    static const char *const ces_immutable[] = {"spec", "externalSecretSpec", "target", "immutable"};

    bool cluster = selector & 2;
    enum ig_mutate_action action = (selector & 4) ? IG_MUTATE_SET_MUTABLE : IG_MUTATE_ANNOTATE;
    enum ig_es_kind kind = cluster ? IG_KIND_CLUSTER_EXTERNAL_SECRET : IG_KIND_EXTERNAL_SECRET;

    cJSON *patch = ig_patch_for_violation(kind, document, action);
    if (!patch)
        return;
    patch_check_apply(document, patch);
    cJSON_Delete(patch);

    cJSON *expected = action == IG_MUTATE_ANNOTATE ? cJSON_CreateString(IG_ROTATION_RECREATE)
                                                   : cJSON_CreateFalse();
    if (!expected)
        return;
    if (action == IG_MUTATE_ANNOTATE)
        expect_value_at(document, cluster ? ces_annotation : es_annotation, cluster ? 4 : 3, expected);
    else
        expect_value_at(document, cluster ? ces_immutable : es_immutable, cluster ? 4 : 3, expected);
    cJSON_Delete(expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t selector = data[0];
    const uint8_t *rest = data + 1;
    size_t rest_size = size - 1;
    const uint8_t *nul = memchr(rest, '\0', rest_size);
    if (!nul)
        return 0;

    size_t keys_length = (size_t)(nul - rest);
    char *key_text = malloc(keys_length + 1);
    if (!key_text)
        return 0;
    memcpy(key_text, rest, keys_length + 1);

    /* The webhook only builds patches for objects, so other roots are skipped. */
    cJSON *document = cJSON_ParseWithLength((const char *)nul + 1, rest_size - keys_length - 1);
    if (cJSON_IsObject(document)) {
        if (selector & 1) {
            fuzz_patch_for_violation(document, selector);
        } else {
            const char *keys[MAX_KEYS];
            size_t key_count = split_keys(key_text, keys);
            fuzz_patch_set(document, keys, key_count);
        }
    }
    cJSON_Delete(document);
    free(key_text);
    return 0;
}
