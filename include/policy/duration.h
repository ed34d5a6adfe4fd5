/* Go duration strings, as metav1.Duration accepts them in refreshInterval. */
#ifndef IG_POLICY_DURATION_H
#define IG_POLICY_DURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse text of the given length as Go's time.ParseDuration does: an optional
 * sign, then one or more decimal numbers (fractions allowed) each followed by a
 * unit ns, us, µs (U+00B5 or U+03BC), ms, s, m or h, as in "1h30m" or "0.5m";
 * the bare "0" is valid. Stores nanoseconds. Returns false on invalid syntax,
 * an unknown unit or a value outside int64. */
bool ig_duration_parse(const char *text, size_t length, int64_t *nanoseconds);

#endif
