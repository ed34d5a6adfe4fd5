#include "policy/patch.h"

#include <string.h>

#define POINTER_MAX 1024

bool ig_json_pointer_append(char *out, size_t size, const char *key)
{
    size_t used = strlen(out);
    if (used + 1 >= size)
        return false;
    out[used++] = '/';
    for (const char *p = key; *p; p++) {
        const char *piece = NULL;
        if (*p == '~')
            piece = "~0";
        else if (*p == '/')
            piece = "~1";
        size_t length = piece ? 2 : 1;
        if (used + length >= size)
            return false;
        if (piece)
            memcpy(out + used, piece, 2);
        else
            out[used] = *p;
        used += length;
    }
    out[used] = '\0';
    return true;
}

static bool add_operation(cJSON *patch, const char *path, cJSON *value)
{
    cJSON *operation = cJSON_CreateObject();
    if (!operation || !cJSON_AddStringToObject(operation, "op", "add") ||
        !cJSON_AddStringToObject(operation, "path", path)) {
        cJSON_Delete(operation);
        cJSON_Delete(value);
        return false;
    }
    cJSON_AddItemToObject(operation, "value", value);
    cJSON_AddItemToArray(patch, operation);
    return true;
}

bool ig_patch_set(cJSON *patch, const cJSON *document, const char *const *keys, size_t key_count,
                  cJSON *value)
{
    char path[POINTER_MAX] = "";
    const cJSON *node = document;
    size_t depth = 0;

    if (!value)
        return false;
    if (key_count == 0) {
        /* An empty key path names the whole document, which "add" would replace. */
        cJSON_Delete(value);
        return false;
    }
    /* Walk down while each parent exists as an object. */
    while (depth + 1 < key_count) {
        const cJSON *child = cJSON_GetObjectItemCaseSensitive(node, keys[depth]);
        if (!cJSON_IsObject(child))
            break;
        if (!ig_json_pointer_append(path, sizeof path, keys[depth])) {
            cJSON_Delete(value);
            return false;
        }
        node = child;
        depth++;
    }

    /* Wrap the value in the objects that are missing below keys[depth]. */
    for (size_t i = key_count - 1; i > depth; i--) {
        cJSON *wrapper = cJSON_CreateObject();
        if (!wrapper) {
            cJSON_Delete(value);
            return false;
        }
        cJSON_AddItemToObject(wrapper, keys[i], value);
        value = wrapper;
    }
    if (!ig_json_pointer_append(path, sizeof path, keys[depth])) {
        cJSON_Delete(value);
        return false;
    }
    return add_operation(patch, path, value);
}

static const char *const es_annotation_keys[] = {"metadata", "annotations", IG_ROTATION_ANNOTATION};
static const char *const ces_annotation_keys[] = {"spec", "externalSecretMetadata", "annotations",
                                                  IG_ROTATION_ANNOTATION};
static const char *const es_immutable_keys[] = {"spec", "target", "immutable"};
static const char *const ces_immutable_keys[] = {"spec", "externalSecretSpec", "target", "immutable"};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

cJSON *ig_patch_for_violation(enum ig_es_kind kind, const cJSON *object,
                              enum ig_mutate_action action)
{
    cJSON *patch = cJSON_CreateArray();
    if (!patch)
        return NULL;

    bool cluster = kind == IG_KIND_CLUSTER_EXTERNAL_SECRET;
    bool ok;
    if (action == IG_MUTATE_ANNOTATE) {
        ok = cluster ? ig_patch_set(patch, object, ces_annotation_keys, COUNT(ces_annotation_keys),
                                    cJSON_CreateString(IG_ROTATION_RECREATE))
                     : ig_patch_set(patch, object, es_annotation_keys, COUNT(es_annotation_keys),
                                    cJSON_CreateString(IG_ROTATION_RECREATE));
    } else {
        ok = cluster ? ig_patch_set(patch, object, ces_immutable_keys, COUNT(ces_immutable_keys),
                                    cJSON_CreateFalse())
                     : ig_patch_set(patch, object, es_immutable_keys, COUNT(es_immutable_keys),
                                    cJSON_CreateFalse());
    }
    if (!ok) {
        cJSON_Delete(patch);
        return NULL;
    }
    return patch;
}
