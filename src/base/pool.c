/*
 * Compute thread pool and barrier.
 *
 * The pool keeps n-1 worker threads; aios_pool_run publishes a job by
 * bumping a generation counter, runs part 0 on the caller, and waits for the
 * workers to report done. Workers spin for a short while on the counter (a
 * forward pass issues many small jobs back to back, and waking a sleeping
 * thread costs tens of microseconds) and then sleep on a condition variable.
 *
 * States of a worker: SPIN -> (job) RUN -> SPIN; SPIN -> (timeout) SLEEP ->
 * (signal) SPIN; any -> (quit) EXIT.
 */
#include "base/base.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define SPIN_ROUNDS 4096

struct aios_barrier {
    int n;
    _Atomic int count;
    _Atomic unsigned phase;
};

struct aios_barrier *aios_barrier_create(int n)
{
    struct aios_barrier *b = aios_calloc(1, sizeof *b);
    if (b)
        b->n = n > 0 ? n : 1;
    return b;
}

void aios_barrier_destroy(struct aios_barrier *b)
{
    aios_free(b);
}

void aios_barrier_wait(struct aios_barrier *b)
{
    if (b->n == 1)
        return;
    unsigned phase = atomic_load(&b->phase);
    if (atomic_fetch_add(&b->count, 1) == b->n - 1) {
        atomic_store(&b->count, 0);
        atomic_fetch_add(&b->phase, 1);
        return;
    }
    for (long i = 0; atomic_load(&b->phase) == phase; i++) {
        if (i < SPIN_ROUNDS)
            cpu_relax();
        else
            sched_yield();
    }
}

struct aios_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic unsigned gen;
    _Atomic int pending;
    _Atomic int quit;
    _Atomic int sleepers;
    aios_pool_fn fn;
    void *ctx;
    struct aios_barrier *barrier;
};

struct worker_arg {
    aios_pool *p;
    int ith;
};

static void *worker(void *arg)
{
    struct worker_arg *wa = arg;
    aios_pool *p = wa->p;
    int ith = wa->ith;
    aios_free(wa);
    unsigned seen = 0;
    for (;;) {
        long spins = 0;
        while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) {
            if (++spins < SPIN_ROUNDS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->quit))
            return NULL;
        seen = atomic_load(&p->gen);
        p->fn(p->ctx, ith, p->n);
        atomic_fetch_sub(&p->pending, 1);
    }
}

int aios_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

aios_pool *aios_pool_create(int nthreads)
{
    if (nthreads <= 0)
        nthreads = aios_cpu_count();
    if (nthreads > 512)
        nthreads = 512;
    aios_pool *p = aios_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = nthreads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->barrier = aios_barrier_create(nthreads);
    p->threads = aios_calloc((size_t)nthreads, sizeof *p->threads);
    if (!p->barrier || !p->threads)
        goto fail;
    for (int i = 1; i < nthreads; i++) {
        struct worker_arg *wa = aios_malloc(sizeof *wa);
        if (!wa)
            goto fail_threads;
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i], NULL, worker, wa) != 0) {
            aios_free(wa);
            goto fail_threads;
        }
        continue;
    fail_threads:
        p->n = i; /* threads [1, i) exist */
        aios_pool_destroy(p);
        return NULL;
    }
    return p;
fail:
    aios_barrier_destroy(p->barrier);
    aios_free(p->threads);
    aios_free(p);
    return NULL;
}

void aios_pool_destroy(aios_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    aios_barrier_destroy(p->barrier);
    aios_free(p->threads);
    aios_free(p);
}

int aios_pool_size(const aios_pool *p)
{
    return p ? p->n : 1;
}

void aios_pool_run(aios_pool *p, aios_pool_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->n - 1);
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    fn(ctx, 0, p->n);
    for (long i = 0; atomic_load(&p->pending) > 0; i++) {
        if (i < SPIN_ROUNDS)
            cpu_relax();
        else
            sched_yield();
    }
}

void aios_pool_barrier(aios_pool *p)
{
    if (p && p->n > 1)
        aios_barrier_wait(p->barrier);
}
