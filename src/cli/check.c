/* `immutable-guard check FILE...`: the admission rule, offline, for CI pipelines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/json.h"
#include "manifest/reader.h"
#include "policy/message.h"
#include "policy/rule.h"

/* Inputs larger than this are rejected before they are read whole. */
#define MAX_INPUT_BYTES ((size_t)64 * 1024 * 1024)

enum { EXIT_CLEAN = 0, EXIT_VIOLATIONS = 1, EXIT_UNREADABLE = 2 };

/* Lists inside lists deeper than this are reported, not walked. */
#define MAX_LIST_DEPTH 16

struct check_totals {
    const char *file;
    size_t documents;
    size_t checked;
    size_t violations;
};

static const char usage[] =
    "Usage: immutable-guard check FILE... \n"
    "       immutable-guard check -          (read standard input)\n\n"
    "Runs the admission rule on manifests: YAML (several documents per file) or JSON,\n"
    "including kind List, typed lists such as ExternalSecretList, and JSON arrays.\n"
    "Each input may be at most 64 MiB. Prints one line per violation to standard output:\n"
    "  FILE:DOCUMENT: KIND NAMESPACE/NAME: MESSAGE\n"
    "where DOCUMENT counts the documents of the file from 1. Documents of other\n"
    "kinds are skipped. Warnings and errors go to standard error. A parse error\n"
    "stops its file: later documents of that file are not checked.\n\n"
    "Exit status: 0 when every document complies, 1 when there are violations,\n"
    "2 when an input cannot be read or parsed (that takes precedence).\n";

static char *read_stream(FILE *in, const char *name, size_t *length)
{
    size_t capacity = 65536;
    size_t used = 0;
    char *data = malloc(capacity);
    if (!data) {
        fprintf(stderr, "%s: out of memory\n", name);
        return NULL;
    }
    for (;;) {
        if (used == capacity) {
            if (capacity >= MAX_INPUT_BYTES) {
                fprintf(stderr, "%s: larger than %zu bytes; split it into smaller files\n", name,
                        MAX_INPUT_BYTES);
                free(data);
                return NULL;
            }
            capacity *= 2;
            char *grown = realloc(data, capacity);
            if (!grown) {
                fprintf(stderr, "%s: out of memory\n", name);
                free(data);
                return NULL;
            }
            data = grown;
        }
        size_t got = fread(data + used, 1, capacity - used, in);
        used += got;
        if (got == 0) {
            if (ferror(in)) {
                fprintf(stderr, "%s: read failed: %s\n", name, strerror(errno));
                free(data);
                return NULL;
            }
            break;
        }
    }
    *length = used;
    return data;
}

static void check_object(const cJSON *object, const struct ig_manifest_document *document,
                         struct check_totals *totals)
{
    enum ig_es_kind kind = ig_policy_kind_from_api_version(ig_json_string(object, "apiVersion"),
                                                           ig_json_string(object, "kind"));
    if (kind == IG_KIND_OTHER)
        return;
    totals->checked++;

    const cJSON *metadata = cJSON_GetObjectItemCaseSensitive(object, "metadata");
    char name[320];
    ig_policy_display_name(ig_json_string(metadata, "namespace"), ig_json_string(metadata, "name"),
                           ig_json_string(metadata, "generateName"), name, sizeof name);

    struct ig_policy_result result;
    ig_policy_evaluate(kind, object, &result);

    struct ig_warnings warnings = {0};
    ig_policy_interval_warning(&result, &warnings);
    for (size_t i = 0; i < warnings.count; i++)
        fprintf(stderr, "%s:%zu: warning: %s %s: %s\n", totals->file, document->index,
                ig_policy_kind_name(kind), name, warnings.text[i]);

    if (result.violation == IG_VIOLATION_NONE)
        return;
    totals->violations++;
    char *message = ig_policy_violation_message(kind, name, &result);
    /* The message starts with "Kind namespace/name:", the format's middle part. */
    printf("%s:%zu: %s\n", totals->file, document->index,
           message ? message : "violation (message unavailable: out of memory)");
    free(message);
}

static bool is_list_kind(const char *kind)
{
    size_t length = kind ? strlen(kind) : 0;
    return length >= 4 && strcmp(kind + length - 4, "List") == 0;
}

/* Check an object, or every object inside a list. A list is kubectl's List,
 * a typed list such as ExternalSecretList (what the API's list calls return)
 * or a JSON array, and lists inside lists are flattened as kubectl does. */
static void check_value(const cJSON *value, const struct ig_manifest_document *document,
                        struct check_totals *totals, int depth)
{
    const cJSON *items = NULL;
    if (cJSON_IsArray(value))
        items = value;
    else if (cJSON_IsObject(value) && is_list_kind(ig_json_string(value, "kind")))
        items = ig_json_member(value, "items");

    if (!items) {
        if (cJSON_IsObject(value))
            check_object(value, document, totals);
        return;
    }
    if (depth >= MAX_LIST_DEPTH) {
        fprintf(stderr, "%s:%zu: warning: lists nested deeper than %d levels were not checked\n",
                totals->file, document->index, MAX_LIST_DEPTH);
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, items) check_value(item, document, totals, depth + 1);
}

static int visit_document(const struct ig_manifest_document *document, void *context)
{
    struct check_totals *totals = context;

    totals->documents++;
    check_value(document->root, document, totals, 0);
    return 0;
}

static bool looks_templated(const char *data, size_t length)
{
    return memmem(data, length, "{{", 2) || memmem(data, length, "{%", 2);
}

/* Returns the exit status for one input. */
static int check_input(const char *path, struct check_totals *totals)
{
    bool from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "(stdin)" : path;
    FILE *in = from_stdin ? stdin : fopen(path, "rb");
    if (!in) {
        fprintf(stderr, "%s: open failed: %s\n", name, strerror(errno));
        return EXIT_UNREADABLE;
    }
    size_t length = 0;
    char *data = read_stream(in, name, &length);
    if (!from_stdin)
        fclose(in);
    if (!data)
        return EXIT_UNREADABLE;

    totals->file = name;
    size_t violations_before = totals->violations;
    char error[512];
    int status = ig_manifest_parse(data, length, visit_document, totals, error, sizeof error);
    int exit_status = totals->violations > violations_before ? EXIT_VIOLATIONS : EXIT_CLEAN;
    if (status != 0) {
        fprintf(stderr, "%s: %s\n", name, error);
        if (looks_templated(data, length))
            fprintf(stderr, "%s: the file contains template markers ({{ }} or {%% %%}), so it is a "
                            "template, not a manifest; render it first (for example with "
                            "'helm template') and check the output\n",
                    name);
        exit_status = EXIT_UNREADABLE;
    }
    free(data);
    return exit_status;
}

int ig_cmd_check(int argc, char **argv)
{
    int first = 1;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return EXIT_CLEAN;
    }
    /* "--" ends the options, so a file named like an option can follow it. */
    if (argc >= 2 && strcmp(argv[1], "--") == 0)
        first = 2;
    if (argc <= first) {
        fputs(usage, stderr);
        return EXIT_UNREADABLE;
    }

    struct check_totals totals = {0};
    int worst = EXIT_CLEAN;
    size_t files = 0;
    for (int i = first; i < argc; i++) {
        int status = check_input(argv[i], &totals);
        files++;
        if (status == EXIT_UNREADABLE || (status == EXIT_VIOLATIONS && worst == EXIT_CLEAN))
            worst = status;
    }
    fprintf(stderr, "checked %zu ExternalSecret object%s in %zu document%s of %zu input%s: %zu violation%s\n",
            totals.checked, totals.checked == 1 ? "" : "s", totals.documents,
            totals.documents == 1 ? "" : "s", files, files == 1 ? "" : "s", totals.violations,
            totals.violations == 1 ? "" : "s");
    return worst;
}
