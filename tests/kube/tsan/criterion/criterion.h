/* Minimal stand-in for the Criterion API used by tests/kube/client, for the
 * ThreadSanitizer build: Criterion cannot start under TSan on these machines
 * (its inheritable arena fails to map), so these tests run one after another
 * in a single process instead. A failed assertion ends only its own test. */
#ifndef IG_TEST_TSAN_CRITERION_H
#define IG_TEST_TSAN_CRITERION_H

#include <stdbool.h>
#include <string.h>

typedef void (*shim_test_fn)(void);

void shim_register(const char *suite, const char *name, shim_test_fn fn);
/* Record a failed check and leave the running test; never returns then. */
void shim_check(bool ok, const char *expression, const char *file, int line, const char *fmt, ...);

#define Test(suite, name, ...)                                                               \
    static void suite##_##name##_impl(void);                                                 \
    __attribute__((constructor)) static void suite##_##name##_register(void)                 \
    {                                                                                        \
        shim_register(#suite, #name, suite##_##name##_impl);                                 \
    }                                                                                        \
    static void suite##_##name##_impl(void)

#define SHIM_CHECK(ok, text, ...) shim_check((ok), (text), __FILE__, __LINE__, "" __VA_ARGS__)

#define cr_assert(c, ...) SHIM_CHECK((c) ? true : false, #c, __VA_ARGS__)
#define cr_assert_not(c, ...) SHIM_CHECK((c) ? false : true, "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) SHIM_CHECK((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) SHIM_CHECK((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) SHIM_CHECK((a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) SHIM_CHECK((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) SHIM_CHECK((a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) SHIM_CHECK((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) SHIM_CHECK((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                          \
    SHIM_CHECK((a) && (b) && strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                         \
    SHIM_CHECK((a) && (b) && strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)
#define cr_assert_fail(...) SHIM_CHECK(false, "failure", __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...)                                                   \
    SHIM_CHECK((a) - (b) <= (eps) && (b) - (a) <= (eps), #a " == " #b, __VA_ARGS__)

#endif
