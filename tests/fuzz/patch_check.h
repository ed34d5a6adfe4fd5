/* A strict RFC 6902 "add" applier for the fuzz targets: it resolves each
 * operation's JSON Pointer (RFC 6901) against the document and aborts when the
 * operation would be rejected by a conforming implementation, so that libFuzzer
 * reports the input. Only "add" is accepted, because it is the only operation
 * the mutating webhook emits. Header-only so that each target stays one file. */
#ifndef IG_FUZZ_PATCH_CHECK_H
#define IG_FUZZ_PATCH_CHECK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void patch_check_fail(const char *what, const char *path)
{
    fprintf(stderr, "patch check failed: %s (path \"%s\")\n", what, path ? path : "(null)");
    abort();
}

/* Decode the reference token that starts at *cursor into out, advancing the
 * cursor to the next '/' or the end. Aborts on "~" not followed by 0 or 1. */
static void patch_check_token(const char **cursor, char *out, size_t size, const char *path)
{
    size_t used = 0;
    const char *p = *cursor;
    while (*p && *p != '/') {
        char c = *p++;
        if (c == '~') {
            if (*p == '0')
                c = '~';
            else if (*p == '1')
                c = '/';
            else
                patch_check_fail("\"~\" not followed by 0 or 1", path);
            p++;
        }
        if (used + 1 >= size)
            patch_check_fail("reference token too long for the checker", path);
        out[used++] = c;
    }
    out[used] = '\0';
    *cursor = p;
}

/* Parse an array index as RFC 6901 section 4 defines it: "0" or digits
 * without a leading zero. Returns -1 when the token is not an index. */
static long patch_check_index(const char *token)
{
    if (!token[0] || (token[0] == '0' && token[1]))
        return -1;
    long value = 0;
    for (const char *p = token; *p; p++) {
        if (*p < '0' || *p > '9' || value > 100000000)
            return -1;
        value = value * 10 + (*p - '0');
    }
    return value;
}

/* Apply {"op":"add","path":path,"value":value} to document (an object or an
 * array). The target location's parent must exist; an existing object member
 * is replaced, as RFC 6902 section 4.1 requires. */
static void patch_check_add(cJSON *document, const char *path, const cJSON *value)
{
    char token[4096];
    const char *cursor = path;
    cJSON *parent = document;

    if (path[0] != '/')
        patch_check_fail("path is empty or does not start with \"/\"", path);
    cursor++;
    patch_check_token(&cursor, token, sizeof token, path);
    while (*cursor == '/') {
        cursor++;
        cJSON *child = NULL;
        if (cJSON_IsObject(parent)) {
            child = cJSON_GetObjectItemCaseSensitive(parent, token);
        } else if (cJSON_IsArray(parent)) {
            long index = patch_check_index(token);
            child = index >= 0 ? cJSON_GetArrayItem(parent, (int)index) : NULL;
        }
        if (!child)
            patch_check_fail("an intermediate location does not exist", path);
        parent = child;
        patch_check_token(&cursor, token, sizeof token, path);
    }

    cJSON *copy = cJSON_Duplicate(value, true);
    if (!copy)
        patch_check_fail("out of memory", path);
    if (cJSON_IsObject(parent)) {
        if (cJSON_GetObjectItemCaseSensitive(parent, token)) {
            if (!cJSON_ReplaceItemInObjectCaseSensitive(parent, token, copy))
                patch_check_fail("replacing an existing member failed", path);
        } else if (!cJSON_AddItemToObject(parent, token, copy)) {
            patch_check_fail("adding a member failed", path);
        }
    } else if (cJSON_IsArray(parent)) {
        long index = strcmp(token, "-") == 0 ? cJSON_GetArraySize(parent) : patch_check_index(token);
        if (index < 0 || index > cJSON_GetArraySize(parent))
            patch_check_fail("array index is invalid or past the end", path);
        if (index == cJSON_GetArraySize(parent))
            cJSON_AddItemToArray(parent, copy);
        else
            cJSON_InsertItemInArray(parent, (int)index, copy);
    } else {
        patch_check_fail("the parent of the target location is not an object or array", path);
    }
}

/* Apply a whole patch (a JSON array of operations) to document. */
static void patch_check_apply(cJSON *document, const cJSON *patch)
{
    if (!cJSON_IsArray(patch))
        patch_check_fail("patch is not a JSON array", NULL);
    const cJSON *operation;
    cJSON_ArrayForEach(operation, patch)
    {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(operation, "op");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(operation, "path");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(operation, "value");
        if (!cJSON_IsString(path))
            patch_check_fail("operation has no string path", NULL);
        if (!cJSON_IsString(op) || strcmp(op->valuestring, "add") != 0)
            patch_check_fail("operation is not \"add\"", path->valuestring);
        if (!value)
            patch_check_fail("add operation has no value", path->valuestring);
        patch_check_add(document, path->valuestring, value);
    }
}

#endif
