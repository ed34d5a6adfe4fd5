#include "manifest/reader.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/base64.h"

struct anchor {
    char *name;
    cJSON *value; /* owned copy */
    struct anchor *next;
};

/* One open collection, with the pending key when it is a mapping. */
struct frame {
    cJSON *node;
    char *key;       /* mapping key waiting for its value, owned */
    bool key_is_merge;
    char *anchor;    /* anchor to record when the collection closes, owned */
    cJSON *merges;   /* values of "<<" keys, applied when the mapping closes, owned */
};

struct builder {
    struct frame stack[IG_MANIFEST_MAX_DEPTH];
    size_t depth;
    cJSON *document;
    struct anchor *anchors;
    size_t nodes;
    char *error;
    size_t error_size;
};

static void set_error(struct builder *b, const yaml_mark_t *mark, const char *message)
{
    if (b->error[0])
        return;
    if (mark)
        snprintf(b->error, b->error_size, "line %zu, column %zu: %s", mark->line + 1, mark->column + 1,
                 message);
    else
        snprintf(b->error, b->error_size, "%s", message);
}

static bool equals_any(const char *text, const char *const *options)
{
    for (size_t i = 0; options[i]; i++) {
        if (strcmp(text, options[i]) == 0)
            return true;
    }
    return false;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON",
                                         "y", "Y", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off",
                                          "OFF", "n", "N", NULL};

/* Number syntax of YAML 1.1 plain scalars, decimal and hexadecimal integers
 * and decimal floats; anything else stays a string. */
static bool parse_number(const char *text, double *value)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        if (!p[2])
            return false;
        for (const char *q = p + 2; *q; q++) {
            if (!strchr("0123456789abcdefABCDEF", *q))
                return false;
        }
    } else {
        bool digits = false;
        bool dot = false;
        const char *q = p;
        for (; *q && *q != 'e' && *q != 'E'; q++) {
            if (*q >= '0' && *q <= '9')
                digits = true;
            else if (*q == '.' && !dot)
                dot = true;
            else
                return false;
        }
        if (!digits)
            return false;
        if (*q) {
            q++;
            if (*q == '+' || *q == '-')
                q++;
            if (!*q)
                return false;
            for (; *q; q++) {
                if (*q < '0' || *q > '9')
                    return false;
            }
        }
    }
    errno = 0;
    char *end;
    *value = strtod(text, &end);
    return *end == '\0' && errno == 0 && isfinite(*value);
}

/* A cJSON string from bytes that may hold NULs: each NUL becomes U+FFFD, so
 * that no value ends early ("recreate\0x" must not read as "recreate"). */
static cJSON *string_from_bytes(const char *bytes, size_t length)
{
    if (!memchr(bytes, '\0', length))
        return cJSON_CreateString(bytes);
    size_t nuls = 0;
    for (size_t i = 0; i < length; i++)
        nuls += bytes[i] == '\0';
    char *copy = malloc(length + 2 * nuls + 1);
    if (!copy)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] == '\0') {
            memcpy(copy + used, "\xef\xbf\xbd", 3);
            used += 3;
        } else {
            copy[used++] = bytes[i];
        }
    }
    copy[used] = '\0';
    cJSON *item = cJSON_CreateString(copy);
    free(copy);
    return item;
}

/* libyaml names the tags it resolves itself, but not this one. */
#define BINARY_TAG "tag:yaml.org,2002:binary"

/* !!binary: the decoded bytes as a string, as kubectl's YAML decoder gives them. */
static cJSON *binary_value(const char *text, size_t length)
{
    char *compact = malloc(length + 1);
    if (!compact)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        if (!strchr(" \t\r\n", text[i]))
            compact[used++] = text[i];
    }
    compact[used] = '\0';
    size_t decoded_length;
    unsigned char *decoded = ig_base64_decode(compact, used, &decoded_length);
    free(compact);
    if (!decoded)
        return string_from_bytes(text, length);
    cJSON *item = string_from_bytes((const char *)decoded, decoded_length);
    free(decoded);
    return item;
}

static cJSON *scalar_value(const yaml_event_t *event)
{
    const char *text = (const char *)event->data.scalar.value;
    size_t length = event->data.scalar.length;
    const char *tag = (const char *)event->data.scalar.tag;
    bool plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

    if (tag && strcmp(tag, BINARY_TAG) == 0)
        return binary_value(text, length);
    if (tag && strcmp(tag, YAML_STR_TAG) == 0)
        return string_from_bytes(text, length);
    if (!plain && !(tag && strcmp(tag, "!") != 0))
        return string_from_bytes(text, length);
    if (equals_any(text, null_words))
        return cJSON_CreateNull();
    if (equals_any(text, true_words))
        return cJSON_CreateTrue();
    if (equals_any(text, false_words))
        return cJSON_CreateFalse();
    double number;
    if (parse_number(text, &number))
        return cJSON_CreateNumber(number);
    return string_from_bytes(text, length);
}

static bool remember_anchor(struct builder *b, const char *name, const cJSON *value)
{
    struct anchor *a = calloc(1, sizeof *a);
    if (!a)
        return false;
    a->name = strdup(name);
    a->value = cJSON_Duplicate(value, true);
    if (!a->name || !a->value) {
        free(a->name);
        cJSON_Delete(a->value);
        free(a);
        return false;
    }
    /* Newest first, so a redefined anchor shadows the old one. */
    a->next = b->anchors;
    b->anchors = a;
    return true;
}

static const cJSON *find_anchor(const struct builder *b, const char *name)
{
    for (const struct anchor *a = b->anchors; a; a = a->next) {
        if (strcmp(a->name, name) == 0)
            return a->value;
    }
    return NULL;
}

static void free_anchors(struct builder *b)
{
    while (b->anchors) {
        struct anchor *next = b->anchors->next;
        free(b->anchors->name);
        cJSON_Delete(b->anchors->value);
        free(b->anchors);
        b->anchors = next;
    }
}

static size_t count_nodes(const cJSON *node)
{
    size_t count = 1;
    for (const cJSON *child = node ? node->child : NULL; child; child = child->next)
        count += count_nodes(child);
    return count;
}

/* Merge key "<<": copy the members of value (a mapping, or a sequence of
 * mappings) that the target does not already have. */
static bool merge_into(cJSON *target, const cJSON *value)
{
    if (cJSON_IsArray(value)) {
        const cJSON *item;
        cJSON_ArrayForEach(item, value) {
            if (!merge_into(target, item))
                return false;
        }
        return true;
    }
    if (!cJSON_IsObject(value))
        return false;
    const cJSON *member;
    cJSON_ArrayForEach(member, value) {
        if (cJSON_GetObjectItemCaseSensitive(target, member->string))
            continue;
        cJSON *copy = cJSON_Duplicate(member, true);
        if (!copy)
            return false;
        cJSON_AddItemToObject(target, member->string, copy);
    }
    return true;
}

/* Place a finished node in its parent, or make it the document root. Takes
 * ownership of node. weight is the number of new nodes it brings: 1 for a
 * scalar or a collection (whose children were counted as they came), the
 * whole subtree for an alias copy. */
static bool attach(struct builder *b, cJSON *node, size_t weight, const yaml_mark_t *mark)
{
    if (!node) {
        set_error(b, mark, "out of memory");
        return false;
    }
    b->nodes += weight;
    if (b->nodes > IG_MANIFEST_MAX_NODES) {
        cJSON_Delete(node);
        set_error(b, mark, "document too large or too many alias expansions");
        return false;
    }
    if (b->depth == 0) {
        cJSON_Delete(b->document);
        b->document = node;
        return true;
    }

    struct frame *parent = &b->stack[b->depth - 1];
    if (cJSON_IsArray(parent->node)) {
        cJSON_AddItemToArray(parent->node, node);
        return true;
    }
    if (!parent->key) {
        /* This node is a key: only scalar keys are supported. */
        if (!(cJSON_IsString(node) || cJSON_IsNumber(node) || cJSON_IsBool(node) || cJSON_IsNull(node))) {
            cJSON_Delete(node);
            set_error(b, mark, "invalid manifest: a mapping key is not a scalar (Kubernetes objects use string keys)");
            return false;
        }
        char *key = cJSON_IsString(node) ? strdup(node->valuestring) : cJSON_PrintUnformatted(node);
        parent->key_is_merge = cJSON_IsString(node) && strcmp(node->valuestring, "<<") == 0;
        cJSON_Delete(node);
        if (!key) {
            set_error(b, mark, "out of memory");
            return false;
        }
        parent->key = key;
        return true;
    }

    bool ok = true;
    if (parent->key_is_merge) {
        /* Merged members are added when the mapping closes, so that keys
         * written in the mapping override them wherever they appear. */
        if (!parent->merges)
            parent->merges = cJSON_CreateArray();
        if (parent->merges) {
            cJSON_AddItemToArray(parent->merges, node);
        } else {
            cJSON_Delete(node);
            set_error(b, mark, "out of memory");
            ok = false;
        }
    } else if (cJSON_GetObjectItemCaseSensitive(parent->node, parent->key)) {
        char message[160];
        snprintf(message, sizeof message, "mapping key \"%.100s\" is defined twice", parent->key);
        cJSON_Delete(node);
        set_error(b, mark, message);
        ok = false;
    } else {
        cJSON_AddItemToObject(parent->node, parent->key, node);
    }
    free(parent->key);
    parent->key = NULL;
    parent->key_is_merge = false;
    return ok;
}

static bool open_collection(struct builder *b, cJSON *node, const yaml_char_t *anchor,
                            const yaml_mark_t *mark)
{
    if (!node) {
        set_error(b, mark, "out of memory");
        return false;
    }
    if (b->depth >= IG_MANIFEST_MAX_DEPTH) {
        cJSON_Delete(node);
        set_error(b, mark, "nesting too deep");
        return false;
    }
    char *anchor_copy = NULL;
    if (anchor) {
        anchor_copy = strdup((const char *)anchor);
        if (!anchor_copy) {
            cJSON_Delete(node);
            set_error(b, mark, "out of memory");
            return false;
        }
    }
    /* The frame owns node and anchor_copy until close_collection or
     * reset_builder, which free the key and anchor of every frame they pop.
     * The analyzer cannot see that and reports the reused slot as a leak. */
    /* NOLINTBEGIN(clang-analyzer-unix.Malloc) */
    struct frame *frame = &b->stack[b->depth++];
    memset(frame, 0, sizeof *frame);
    frame->node = node;
    frame->anchor = anchor_copy;
    /* NOLINTEND(clang-analyzer-unix.Malloc) */
    return true;
}

static bool close_collection(struct builder *b, const yaml_mark_t *mark)
{
    struct frame frame = b->stack[--b->depth];
    bool ok = true;
    if (frame.merges) {
        ok = merge_into(frame.node, frame.merges);
        cJSON_Delete(frame.merges);
        if (!ok) {
            free(frame.anchor);
            free(frame.key);
            cJSON_Delete(frame.node);
            set_error(b, mark, "merge key \"<<\" needs a mapping or a list of mappings");
            return false;
        }
    }
    if (frame.anchor)
        ok = remember_anchor(b, frame.anchor, frame.node);
    free(frame.anchor);
    free(frame.key);
    if (!ok) {
        cJSON_Delete(frame.node);
        set_error(b, mark, "out of memory");
        return false;
    }
    return attach(b, frame.node, 1, mark);
}

static void reset_builder(struct builder *b)
{
    while (b->depth > 0) {
        struct frame *frame = &b->stack[--b->depth];
        free(frame->anchor);
        free(frame->key);
        cJSON_Delete(frame->merges);
        cJSON_Delete(frame->node);
    }
    cJSON_Delete(b->document);
    b->document = NULL;
    free_anchors(b);
}

static bool handle_event(struct builder *b, const yaml_event_t *event)
{
    const yaml_mark_t *mark = &event->start_mark;
    switch (event->type) {
    case YAML_SCALAR_EVENT: {
        cJSON *value = scalar_value(event);
        if (!value) {
            set_error(b, mark, "out of memory");
            return false;
        }
        if (event->data.scalar.anchor && !remember_anchor(b, (const char *)event->data.scalar.anchor, value)) {
            cJSON_Delete(value);
            set_error(b, mark, "out of memory");
            return false;
        }
        return attach(b, value, 1, mark);
    }
    case YAML_ALIAS_EVENT: {
        const cJSON *target = find_anchor(b, (const char *)event->data.alias.anchor);
        if (!target) {
            char message[160];
            snprintf(message, sizeof message, "alias *%.100s refers to an unknown anchor",
                     (const char *)event->data.alias.anchor);
            set_error(b, mark, message);
            return false;
        }
        /* Count before copying, so an alias bomb stops before it allocates. */
        size_t weight = count_nodes(target);
        if (b->nodes + weight > IG_MANIFEST_MAX_NODES) {
            set_error(b, mark, "document too large or too many alias expansions");
            return false;
        }
        cJSON *copy = cJSON_Duplicate(target, true);
        if (!copy) {
            set_error(b, mark, "out of memory");
            return false;
        }
        return attach(b, copy, weight, mark);
    }
    case YAML_SEQUENCE_START_EVENT:
        return open_collection(b, cJSON_CreateArray(), event->data.sequence_start.anchor, mark);
    case YAML_MAPPING_START_EVENT:
        return open_collection(b, cJSON_CreateObject(), event->data.mapping_start.anchor, mark);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_collection(b, mark);
    default:
        return true;
    }
}

int ig_manifest_parse(const char *data, size_t length, ig_manifest_visit_fn visit, void *context,
                      char *error, size_t error_size)
{
    yaml_parser_t parser;
    struct builder b;
    int result = 0;
    size_t index = 0;
    size_t document_line = 1;

    memset(&b, 0, sizeof b);
    b.error = error;
    b.error_size = error_size;
    error[0] = '\0';
    if (!yaml_parser_initialize(&parser)) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, length);

    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            char message[256];
            snprintf(message, sizeof message, "invalid YAML: %s%s%s",
                     parser.problem ? parser.problem : "syntax error",
                     parser.context ? " " : "", parser.context ? parser.context : "");
            set_error(&b, &parser.problem_mark, message);
            result = -1;
            break;
        }
        yaml_event_type_t type = event.type;
        bool ok = true;
        if (type == YAML_DOCUMENT_START_EVENT) {
            reset_builder(&b);
            document_line = event.start_mark.line + 1;
        } else if (type == YAML_DOCUMENT_END_EVENT) {
            index++;
            struct ig_manifest_document document = {.root = b.document, .index = index,
                                                    .line = document_line};
            result = visit(&document, context);
            reset_builder(&b);
        } else {
            ok = handle_event(&b, &event);
        }
        yaml_event_delete(&event);
        if (!ok) {
            result = -1;
            break;
        }
        if (result != 0 || type == YAML_STREAM_END_EVENT)
            break;
    }

    reset_builder(&b);
    yaml_parser_delete(&parser);
    return result;
}
