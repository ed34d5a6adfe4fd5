/* libFuzzer target: the manifest reader behind `immutable-guard check`.
 *
 * Every document it delivers must be a tree that cJSON can print and that the
 * rule can evaluate; the visitor does what `check` does with each document. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/reader.h"
#include "policy/message.h"
#include "policy/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect(bool condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "manifest fuzz check failed: %s\n", what);
        abort();
    }
}

static const char *string_member(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_IsObject(object) ? cJSON_GetObjectItemCaseSensitive(object, key) : NULL;
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int visit(const struct ig_manifest_document *document, void *context)
{
    size_t *count = context;
    (*count)++;
    expect(document->index == *count, "documents are numbered from 1 in order");
    expect(document->line >= 1, "document line is 1-based");
    if (!document->root)
        return 0;

    char *printed = cJSON_PrintUnformatted(document->root);
    expect(printed != NULL, "the document prints");
    cJSON_free(printed);

    enum ig_es_kind kind = ig_policy_kind_from_api_version(string_member(document->root, "apiVersion"),
                                                           string_member(document->root, "kind"));
    if (kind != IG_KIND_OTHER) {
        struct ig_policy_result result;
        ig_policy_evaluate(kind, document->root, &result);
        char *message = ig_policy_violation_message(kind, "fuzz/object", &result);
        expect(message != NULL, "violation message is built");
        free(message);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);

    char error[256];
    size_t count = 0;
    error[0] = '\0';
    int status = ig_manifest_parse(text, size, visit, &count, error, sizeof error);
    expect(status == 0 || status == -1, "the visitor never stops the parse here");
    if (status == -1)
        expect(error[0] != '\0', "a parse error has a message");
    expect(memchr(error, '\0', sizeof error) != NULL, "the error message is terminated");
    free(text);
    return 0;
}
