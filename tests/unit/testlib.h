/* testlib.h: the few checks every unit test uses. Each failing check prints file:line and the
 * expression; main() returns the failure count, so CTest sees a non-zero exit. */
#ifndef SNE_TESTLIB_H
#define SNE_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int testlib_failures;
static int testlib_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        testlib_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            testlib_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long testlib_a = (long long)(a), testlib_b = (long long)(b);                          \
        testlib_checks++;                                                                          \
        if (testlib_a != testlib_b) {                                                              \
            testlib_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    testlib_a, testlib_b);                                                         \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *testlib_a = (a), *testlib_b = (b);                                             \
        testlib_checks++;                                                                          \
        if (!testlib_a || !testlib_b || strcmp(testlib_a, testlib_b) != 0) {                       \
            testlib_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got:    %s\n  wanted: %s\n", __FILE__,     \
                    __LINE__, #a, #b, testlib_a ? testlib_a : "(null)",                            \
                    testlib_b ? testlib_b : "(null)");                                             \
        }                                                                                          \
    } while (0)

/* The last line of every unit test: the plain summary CI reads, and the exit status. */
#define TEST_SUMMARY()                                                                             \
    (printf("%d passed, %d failed\n", testlib_checks - testlib_failures, testlib_failures),        \
     testlib_failures != 0)

#endif
