/*
 * Minimal test harness shared by tests/unit and tests/conformance. A test
 * file defines test functions and lists them in main() with TEST_RUN; each
 * CHECK that fails prints file:line and the expression and marks the run
 * failed. Exit status: 0 all passed, 1 failures, 77 skipped (ctest SKIP).
 */
#ifndef AIOS_TEST_H
#define AIOS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AIOS_TEST_UNUSED_ATTR __attribute__((unused))

static int test_failures AIOS_TEST_UNUSED_ATTR;
static int test_checks AIOS_TEST_UNUSED_ATTR;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        CHECK_MSG(va_ == vb_, "%lld != %lld", va_, vb_);                                           \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        CHECK_MSG(sa_ &&sb_ &&strcmp(sa_, sb_) == 0, "\"%s\" != \"%s\"", sa_ ? sa_ : "(null)",     \
                  sb_ ? sb_ : "(null)");                                                           \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double da_ = (double)(a), db_ = (double)(b);                                               \
        CHECK_MSG(fabs(da_ - db_) <= (tol), "%.9g vs %.9g (tol %g)", da_, db_, (double)(tol));     \
    } while (0)

#define TEST_RUN(fn)                                                                               \
    do {                                                                                           \
        int before_ = test_failures;                                                               \
        fn();                                                                                      \
        fprintf(stderr, "%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn);               \
    } while (0)

#define TEST_EXIT()                                                                                \
    do {                                                                                           \
        fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);                     \
        return test_failures ? 1 : (test_checks ? 0 : 1);                                          \
    } while (0)

/* Directory of external references (AIOS_FIXTURES, default ../shared/fixtures
 * next to the checkout). When it is missing the test is skipped (exit 77),
 * except under CI, where missing fixtures are a failure. */
static inline const char *test_dir_or_skip(const char *env, const char *rel) AIOS_TEST_UNUSED_ATTR;
static inline const char *test_dir_or_skip(const char *env, const char *rel)
{
    static char buf[4096];
    const char *d = getenv(env);
    if (!d || !*d) {
        const char *src = getenv("AIOS_SOURCE_DIR");
        snprintf(buf, sizeof buf, "%s/../shared/%s", src ? src : ".", rel);
        d = buf;
    }
    struct stat st;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0) {
            fprintf(stderr, "%s (%s) is missing, and CI requires it\n", env, d);
            exit(1);
        }
        fprintf(stderr, "SKIP: %s (%s) is missing\n", env, d);
        exit(77);
    }
    return d;
}
#define test_fixtures() test_dir_or_skip("AIOS_FIXTURES", "fixtures")
#define test_data() test_dir_or_skip("AIOS_DATA", "data")

/* A fresh scratch directory for this test under AIOS_TEST_TMP (or /tmp). */
static inline const char *test_tmpdir(const char *name) AIOS_TEST_UNUSED_ATTR;
static inline const char *test_tmpdir(const char *name)
{
    static char buf[4096];
    const char *base = getenv("AIOS_TEST_TMP");
    snprintf(buf, sizeof buf, "%s/%s.XXXXXX", base && *base ? base : "/tmp", name);
    if (base && *base) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
        if (system(cmd) != 0)
            return NULL;
    }
    return mkdtemp(buf);
}

#endif
