/*
 * Context novelty: how new is the recent local pattern? Values are
 * quantised into bins whose width is learned from the first `learn` points
 * (1st..99th percentile split into `bins`), and the last `order` bins form a
 * context. The score is high for a context never seen before in this series
 * and falls as it recurs, so a pattern is anomalous the first time it shows
 * and learned after (the idea behind Numenta's CAD OSE detector, which is
 * among the best on NAB).
 *
 * Memory: one table of 64-bit context hashes and counts, at most `max_ctx`
 * entries (further contexts are still scored, no longer stored).
 */
#include "ops/detect_impl.h"

#include <stdio.h>
#include <string.h>

const struct aios_ops_detector_param detect_context_params[] = {
    {"bins", 12, 2, 1000, "quantisation levels across the learned range"},
    {"order", 3, 1, 16, "consecutive quantised values in a context"},
    {"learn", 300, 10, 100000, "first points that set the quantisation"},
    {"max_ctx", 1 << 20, 1024, 1 << 24, "most contexts remembered"},
    /* 0.95: a new context whose value bin was seen at most once; 0.99: never */
    DETECT_VERDICT_PARAMS(0.95, 0.99),
};

struct ctxtab {
    uint64_t *key; /* 0 = empty */
    uint32_t *count;
    size_t cap, n, max;
};

struct context {
    struct aios_ops_detector base;
    int bins, order, learn;
    double *first; /* the learning points */
    int nfirst;
    double lo, width;
    int64_t q[16];
    int nq;
    struct ctxtab ctx, single;
    double last_v;
    uint32_t last_count;
};

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 31);
}

static int tab_init(struct ctxtab *t, size_t max)
{
    t->cap = 1024;
    t->n = 0;
    t->max = max;
    t->key = aios_calloc(t->cap, sizeof(uint64_t));
    t->count = aios_calloc(t->cap, sizeof(uint32_t));
    return t->key && t->count ? AIOS_OK : AIOS_ENOMEM;
}

static void tab_free(struct ctxtab *t)
{
    aios_free(t->key);
    aios_free(t->count);
}

static size_t tab_slot(const struct ctxtab *t, uint64_t k)
{
    size_t i = (size_t)(k & (t->cap - 1));
    while (t->key[i] && t->key[i] != k)
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* Count of k before this call, then counts it (if there is room). */
static uint32_t tab_bump(struct ctxtab *t, uint64_t k)
{
    if (k == 0)
        k = 1;
    size_t i = tab_slot(t, k);
    if (t->key[i]) {
        uint32_t c = t->count[i];
        if (t->count[i] < UINT32_MAX)
            t->count[i]++;
        return c;
    }
    if (t->n >= t->max)
        return 0;
    if (2 * (t->n + 1) > t->cap) { /* grow at half full */
        size_t nc = t->cap * 2;
        uint64_t *nk = aios_calloc(nc, sizeof(uint64_t));
        uint32_t *ncount = aios_calloc(nc, sizeof(uint32_t));
        if (!nk || !ncount) {
            aios_free(nk);
            aios_free(ncount);
            return 0; /* out of memory: score, do not store */
        }
        for (size_t j = 0; j < t->cap; j++) {
            if (!t->key[j])
                continue;
            size_t s = (size_t)(t->key[j] & (nc - 1));
            while (nk[s])
                s = (s + 1) & (nc - 1);
            nk[s] = t->key[j];
            ncount[s] = t->count[j];
        }
        aios_free(t->key);
        aios_free(t->count);
        t->key = nk;
        t->count = ncount;
        t->cap = nc;
        i = tab_slot(t, k);
    }
    t->key[i] = k;
    t->count[i] = 1;
    t->n++;
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double context_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct context *c = (struct context *)d;
    c->last_v = v;
    if (c->nfirst < c->learn) {
        c->first[c->nfirst++] = v;
        if (c->nfirst < c->learn)
            return 0;
        qsort(c->first, (size_t)c->nfirst, sizeof(double), cmp_dbl);
        double lo = c->first[(int)(0.01 * c->nfirst)];
        double hi = c->first[(int)ceil(0.99 * c->nfirst) - 1];
        if (!(hi > lo)) {
            lo = c->first[0];
            hi = c->first[c->nfirst - 1];
        }
        c->lo = lo;
        c->width = hi > lo ? (hi - lo) / c->bins : 1e-6 * (fabs(lo) + 1.0);
        return 0;
    }
    double qf = floor((v - c->lo) / c->width);
    if (qf > 1e9)
        qf = 1e9;
    if (qf < -1e9)
        qf = -1e9;
    if (c->nq == c->order) {
        memmove(c->q, c->q + 1, (size_t)(c->order - 1) * sizeof(int64_t));
        c->nq--;
    }
    c->q[c->nq++] = (int64_t)qf;
    uint32_t single = tab_bump(&c->single, mix(0x51, (uint64_t)(int64_t)qf));
    if (c->nq < c->order)
        return 0;
    uint64_t h = 0x1234567;
    for (int i = 0; i < c->order; i++)
        h = mix(h, (uint64_t)c->q[i]);
    uint32_t n = tab_bump(&c->ctx, h);
    c->last_count = n;
    /* New context: 0.9 .. 1, the more so when the value itself is new too. */
    return 0.9 / (1.0 + n) + 0.1 / (1.0 + single);
}

static void context_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    const struct context *c = (const struct context *)d;
    if (c->last_count == 0)
        snprintf(buf, size, "value %.4g completes a pattern of %d values never seen before",
                 c->last_v, c->order);
    else
        snprintf(buf, size, "value %.4g completes a pattern of %d values seen only %u times before",
                 c->last_v, c->order, c->last_count);
}

static void context_fini(aios_ops_detector *d)
{
    struct context *c = (struct context *)d;
    aios_free(c->first);
    tab_free(&c->ctx);
    tab_free(&c->single);
}

static const struct detector_vt context_vt = {context_feed, context_reason, context_fini};

int detect_context_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct context *c = detector_alloc(sizeof *c, "context", &context_vt, p);
    if (!c)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    c->bins = (int)p[0];
    c->order = (int)p[1];
    c->learn = (int)p[2];
    c->first = aios_malloc((size_t)c->learn * sizeof(double));
    if (!c->first || tab_init(&c->ctx, (size_t)p[3]) || tab_init(&c->single, (size_t)p[3])) {
        aios_ops_detector_destroy(&c->base);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &c->base;
    return AIOS_OK;
}
