/* The counting allocator (limit, failure injection, accounting) and arenas. */
#include "base/base.h"
#include "test.h"

static void test_counting(void)
{
    size_t before = aios_mem_in_use();
    char *p = aios_malloc(1000);
    CHECK(p != NULL);
    CHECK_EQ_INT(aios_mem_in_use() - before, 1000);
    p = aios_realloc(p, 5000);
    CHECK(p != NULL);
    CHECK_EQ_INT(aios_mem_in_use() - before, 5000);
    p = aios_realloc(p, 10);
    CHECK_EQ_INT(aios_mem_in_use() - before, 10);
    CHECK(aios_mem_peak() >= before + 5000);
    aios_free(p);
    CHECK_EQ_INT(aios_mem_in_use(), before);
    aios_free(NULL);
    char *s = aios_strdup("hello");
    CHECK_EQ_STR(s, "hello");
    char *t = aios_strndup("hello", 3);
    CHECK_EQ_STR(t, "hel");
    aios_free(s);
    aios_free(t);
    CHECK_EQ_INT(aios_mem_in_use(), before);
}

static void test_limit(void)
{
    size_t base = aios_mem_in_use();
    aios_mem_set_limit(base + 4096);
    void *a = aios_malloc(4000);
    CHECK(a != NULL);
    CHECK(aios_malloc(200) == NULL); /* would pass the limit */
    CHECK(aios_realloc(a, 8000) == NULL);
    CHECK(aios_calloc(SIZE_MAX / 2, 4) == NULL); /* overflow, not a tiny allocation */
    CHECK(aios_malloc(SIZE_MAX) == NULL);
    aios_free(a);
    void *b = aios_malloc(4000); /* freed bytes are available again */
    CHECK(b != NULL);
    aios_free(b);
    aios_mem_set_limit(0);
    CHECK_EQ_INT(aios_mem_in_use(), base);
}

static void test_fail_after(void)
{
    aios_mem_fail_after(3);
    void *a = aios_malloc(8), *b = aios_malloc(8), *c = aios_malloc(8), *d = aios_malloc(8);
    CHECK(a && b && !c && d);
    aios_free(a);
    aios_free(b);
    aios_free(d);
    /* Every failure path of a consumer: a config object must come back NULL
     * or whole, never half-built, whichever allocation fails. */
    for (long n = 1; n < 40; n++) {
        size_t before = aios_mem_in_use();
        aios_mem_fail_after(n);
        aios_config *c2 = aios_config_create();
        aios_mem_fail_after(0);
        if (c2) {
            CHECK_EQ_STR(aios_config_str(c2, "data_dir"), "./aios-data");
            aios_config_destroy(c2);
        }
        CHECK_EQ_INT(aios_mem_in_use(), before); /* nothing leaked on the failure path */
    }
}

static void test_arena(void)
{
    size_t before = aios_mem_in_use();
    aios_arena *a = aios_arena_create(256, 1024);
    CHECK(a != NULL);
    char *x = aios_arena_alloc(a, 10);
    char *y = aios_arena_alloc(a, 10);
    CHECK(x && y && y != x);
    CHECK(((uintptr_t)x & 15) == 0 && ((uintptr_t)y & 15) == 0);
    CHECK_EQ_STR(aios_arena_strdup(a, "abc"), "abc");
    CHECK_EQ_STR(aios_arena_strndup(a, "abcdef", 2), "ab");
    CHECK(aios_arena_alloc(a, 600) != NULL);  /* larger than a block: its own block */
    CHECK(aios_arena_alloc(a, 2000) == NULL); /* past max_bytes */
    CHECK(aios_arena_used(a) >= 600);
    aios_arena_reset(a);
    CHECK_EQ_INT(aios_arena_used(a), 0);
    CHECK(aios_arena_alloc(a, 100) != NULL);
    aios_arena_destroy(a);
    CHECK_EQ_INT(aios_mem_in_use(), before);
    aios_mem_fail_after(1);
    CHECK(aios_arena_create(0, 0) == NULL);
    aios_mem_fail_after(0);
}

int main(void)
{
    TEST_RUN(test_counting);
    TEST_RUN(test_limit);
    TEST_RUN(test_fail_after);
    TEST_RUN(test_arena);
    TEST_EXIT();
}
