/* Kubernetes manifests from YAML (multi-document, via libyaml) or JSON, turned
 * into cJSON trees the policy can read. Plain scalars are typed as kubectl
 * types them (YAML 1.1: null, booleans including yes/no/on/off, integers,
 * floats); quoted scalars and !!str are strings. */
#ifndef IG_MANIFEST_READER_H
#define IG_MANIFEST_READER_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Limits against hostile input such as alias bombs. */
#define IG_MANIFEST_MAX_DEPTH 200
#define IG_MANIFEST_MAX_NODES 1000000

struct ig_manifest_document {
    const cJSON *root; /* NULL for an empty document */
    size_t index;      /* 1-based position in the stream */
    size_t line;       /* 1-based line where the document starts */
};

/* Called once per document; a non-zero return stops the parse and is returned. */
typedef int (*ig_manifest_visit_fn)(const struct ig_manifest_document *document, void *context);

/* Parse every document in data. Returns 0 when all parsed, the visitor's
 * non-zero value if it stopped, or -1 on invalid input with a message
 * ("line L, column C: ...") in error. Documents before the error are visited. */
int ig_manifest_parse(const char *data, size_t length, ig_manifest_visit_fn visit, void *context,
                      char *error, size_t error_size);

#endif
