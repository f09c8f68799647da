/*
 * The counting allocator and arenas.
 *
 * Every allocation carries a 16-byte header holding its size, so frees can
 * be subtracted from the live total. The limit is checked before calling
 * malloc; a refused allocation returns NULL exactly as an exhausted heap
 * would, which is how the failure paths of callers get tested.
 */
#include "base/base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16

static _Atomic size_t g_in_use;
static _Atomic size_t g_peak;
static _Atomic size_t g_limit;
static _Atomic long g_fail_after;

void aios_mem_set_limit(size_t bytes)
{
    g_limit = bytes;
}
size_t aios_mem_limit(void)
{
    return g_limit;
}
size_t aios_mem_in_use(void)
{
    return g_in_use;
}
size_t aios_mem_peak(void)
{
    return g_peak;
}
void aios_mem_fail_after(long n)
{
    g_fail_after = n;
}

/* Reserves n bytes against the limit; false if refused. */
static bool reserve(size_t n)
{
    long fa = atomic_load(&g_fail_after);
    if (fa > 0) {
        if (atomic_fetch_sub(&g_fail_after, 1) == 1)
            return false;
    }
    size_t limit = g_limit;
    size_t cur = atomic_fetch_add(&g_in_use, n) + n;
    if (limit && cur > limit) {
        atomic_fetch_sub(&g_in_use, n);
        return false;
    }
    size_t peak = g_peak;
    while (cur > peak && !atomic_compare_exchange_weak(&g_peak, &peak, cur)) {
    }
    return true;
}

void *aios_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR || !reserve(n))
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p) {
        atomic_fetch_sub(&g_in_use, n);
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    return p + HDR;
}

void *aios_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = aios_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void aios_free(void *p)
{
    if (!p)
        return;
    unsigned char *h = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, h, sizeof n);
    atomic_fetch_sub(&g_in_use, n);
    free(h);
}

void *aios_realloc(void *p, size_t n)
{
    if (!p)
        return aios_malloc(n);
    if (n == 0) {
        aios_free(p);
        return NULL;
    }
    unsigned char *h = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, h, sizeof old);
    if (n > SIZE_MAX - HDR)
        return NULL;
    if (n > old && !reserve(n - old))
        return NULL;
    unsigned char *q = realloc(h, n + HDR);
    if (!q) {
        if (n > old)
            atomic_fetch_sub(&g_in_use, n - old);
        return NULL;
    }
    if (n < old)
        atomic_fetch_sub(&g_in_use, old - n);
    memcpy(q, &n, sizeof n);
    return q + HDR;
}

char *aios_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = aios_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

char *aios_strdup(const char *s)
{
    size_t len = strlen(s);
    char *d = aios_malloc(len + 1);
    if (d)
        memcpy(d, s, len + 1);
    return d;
}

/* ---- arenas ---- */

struct arena_block {
    struct arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct aios_arena {
    struct arena_block *head;
    size_t block_size, max_bytes, total;
};

aios_arena *aios_arena_create(size_t block_size, size_t max_bytes)
{
    aios_arena *a = aios_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->max_bytes = max_bytes;
    return a;
}

static void free_blocks(struct arena_block *b)
{
    while (b) {
        struct arena_block *n = b->next;
        aios_free(b);
        b = n;
    }
}

void aios_arena_destroy(aios_arena *a)
{
    if (!a)
        return;
    free_blocks(a->head);
    aios_free(a);
}

void *aios_arena_alloc(aios_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t sz = need > a->block_size ? need : a->block_size;
        if (a->max_bytes && (a->total + sz > a->max_bytes || sz > a->max_bytes))
            return NULL;
        b = aios_malloc(sizeof *b + sz);
        if (!b)
            return NULL;
        b->size = sz;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->total += sz;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

char *aios_arena_strndup(aios_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = aios_arena_alloc(a, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

char *aios_arena_strdup(aios_arena *a, const char *s)
{
    size_t len = strlen(s);
    char *d = aios_arena_alloc(a, len + 1);
    if (d)
        memcpy(d, s, len + 1);
    return d;
}

void aios_arena_reset(aios_arena *a)
{
    struct arena_block *b = a->head;
    if (!b)
        return;
    /* Keep the oldest block (the last in the list), free the rest. */
    struct arena_block *keep = b;
    while (keep->next)
        keep = keep->next;
    while (b != keep) {
        struct arena_block *n = b->next;
        a->total -= b->size;
        aios_free(b);
        b = n;
    }
    keep->used = 0;
    a->head = keep;
}

size_t aios_arena_used(const aios_arena *a)
{
    size_t u = 0;
    for (const struct arena_block *b = a->head; b; b = b->next)
        u += b->used;
    return u;
}
