/* Selective JSON parsing of AdmissionReview bodies.
 *
 * A review carries the whole object, often with managedFields, the
 * last-applied-configuration annotation and many data entries, while the
 * decision reads about twenty fields. ig_review_scan validates the whole text
 * as JSON (RFC 8259) but builds cJSON nodes only for the members named in its
 * field tree, so the cost of a review grows with its size only through a
 * byte scan, not through allocations. */
#ifndef IG_ADMISSION_SCAN_H
#define IG_ADMISSION_SCAN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Containers nested deeper than this are rejected, as cJSON does by default. */
#define IG_SCAN_MAX_DEPTH 1000

/* Parse text and return the pruned tree: objects on the paths the decision
 * reads keep only those members, kept values are complete, and an array where
 * an object was expected is kept as an empty array so its type still shows.
 * Duplicate member names: the last one wins, as in Go's encoding/json.
 * Strings decode "\u0000" to U+FFFD, so no decoded value holds a NUL.
 * Returns NULL on invalid JSON (or out of memory) with *error_offset set to
 * the byte where parsing stopped, and *too_deep set when the reason was the
 * nesting limit. Either pointer may be NULL. */
cJSON *ig_review_scan(const char *text, size_t length, size_t *error_offset, bool *too_deep);

#endif
