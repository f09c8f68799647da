/* Thread pool and barrier: every part runs once, phases are ordered. */
#include "base/base.h"
#include "test.h"

#include <stdatomic.h>
#include <time.h>

struct sum_ctx {
    const int *data;
    int n;
    long long partial[64];
    _Atomic int calls;
};

static void sum_part(void *p, int ith, int nth)
{
    struct sum_ctx *c = p;
    long long s = 0;
    for (int i = ith; i < c->n; i += nth)
        s += c->data[i];
    c->partial[ith] = s;
    atomic_fetch_add(&c->calls, 1);
}

static void test_run(void)
{
    static int data[100000];
    long long want = 0;
    for (int i = 0; i < 100000; i++) {
        data[i] = i % 1000 - 300;
        want += data[i];
    }
    for (int nt = 1; nt <= 4; nt++) {
        aios_pool *p = aios_pool_create(nt);
        CHECK(p != NULL);
        CHECK_EQ_INT(aios_pool_size(p), nt);
        for (int rep = 0; rep < 200; rep++) { /* many back-to-back runs */
            struct sum_ctx c = {.data = data, .n = 100000};
            aios_pool_run(p, sum_part, &c);
            long long got = 0;
            for (int i = 0; i < nt; i++)
                got += c.partial[i];
            if (got != want || c.calls != nt) {
                CHECK_MSG(0, "threads %d rep %d: sum %lld want %lld, calls %d", nt, rep, got, want,
                          (int)c.calls);
                break;
            }
        }
        aios_pool_destroy(p);
    }
    CHECK(aios_cpu_count() >= 1);
}

struct phase_ctx {
    aios_pool *p;
    _Atomic int stage1;
    int seen[64];
};

static void phases(void *v, int ith, int nth)
{
    struct phase_ctx *c = v;
    atomic_fetch_add(&c->stage1, 1);
    aios_pool_barrier(c->p);
    c->seen[ith] = atomic_load(&c->stage1); /* all of phase 1 is done */
    aios_pool_barrier(c->p);
    (void)nth;
}

static void test_barrier(void)
{
    aios_pool *p = aios_pool_create(3);
    for (int rep = 0; rep < 100; rep++) {
        struct phase_ctx c = {.p = p};
        aios_pool_run(p, phases, &c);
        for (int i = 0; i < 3; i++)
            if (c.seen[i] != 3) {
                CHECK_MSG(0, "rep %d part %d saw %d of 3", rep, i, c.seen[i]);
                rep = 100;
            }
    }
    aios_pool_destroy(p);
    /* A pool whose workers went to sleep wakes up for the next run. */
    p = aios_pool_create(2);
    struct sum_ctx c = {.data = (int[]){1, 2, 3}, .n = 3};
    aios_pool_run(p, sum_part, &c);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    struct sum_ctx c2 = {.data = (int[]){4, 5, 6}, .n = 3};
    aios_pool_run(p, sum_part, &c2);
    CHECK_EQ_INT(c2.partial[0] + c2.partial[1], 15);
    aios_pool_destroy(p);
    aios_pool_run(NULL, sum_part, &c2); /* no pool: runs inline as one part */
    CHECK_EQ_INT(c2.partial[0], 15);
}

static void test_time(void)
{
    uint64_t a = aios_time_ns();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t b = aios_time_ns();
    CHECK(b - a >= 20000000ull);
    CHECK(aios_wall_ms() > 1700000000000ll);
    char buf[32];
    CHECK_EQ_STR(aios_fmt_time_iso(1721952000000ll, buf, sizeof buf), "2024-07-26T00:00:00Z");
}

int main(void)
{
    TEST_RUN(test_run);
    TEST_RUN(test_barrier);
    TEST_RUN(test_time);
    TEST_EXIT();
}
