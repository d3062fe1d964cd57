/* wt_test.h - the unit-test harness: WT_CHECK records a failure with its
 * location and goes on; WT_TEST_MAIN runs the listed tests and prints the
 * closing line "N passed, N failed" (exit 1 on any failure). */
#ifndef WT_TEST_H
#define WT_TEST_H

#include <stdio.h>
#include <string.h>

static int wt_test_checks_failed;
static int wt_test_current_failed;

#define WT_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
            wt_test_checks_failed++;                                                               \
            wt_test_current_failed = 1;                                                            \
        }                                                                                          \
    } while (0)

#define WT_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *wt_a_ = (a), *wt_b_ = (b);                                                     \
        if (wt_a_ == NULL || wt_b_ == NULL || strcmp(wt_a_, wt_b_) != 0) {                         \
            fprintf(stderr, "FAIL %s:%d: %s == %s ('%s' vs '%s')\n", __FILE__, __LINE__, #a, #b,   \
                    wt_a_ ? wt_a_ : "(null)", wt_b_ ? wt_b_ : "(null)");                           \
            wt_test_checks_failed++;                                                               \
            wt_test_current_failed = 1;                                                            \
        }                                                                                          \
    } while (0)

typedef struct wt_test_case {
    const char *name;
    void (*fn)(void);
} wt_test_case_t;

#define WT_TEST(fn)                                                                                \
    {                                                                                              \
#fn, fn                                                                                    \
    }

static inline int
wt_test_run(const wt_test_case_t *cases, size_t n)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        wt_test_current_failed = 0;
        cases[i].fn();
        if (wt_test_current_failed) {
            failed++;
            fprintf(stderr, "not ok %s\n", cases[i].name);
        } else {
            passed++;
            fprintf(stderr, "ok %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define WT_TEST_MAIN(...)                                                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        static const wt_test_case_t cases[] = {__VA_ARGS__};                                       \
        return wt_test_run(cases, sizeof cases / sizeof cases[0]);                                 \
    }

#endif
