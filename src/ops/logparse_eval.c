/*
 * Accuracy of a log parser against labelled logs (aios_ops_logeval_ga):
 * the grouping accuracy of the loghub benchmark, as logparser's evaluator
 * computes it. Parsing accuracy (template strings equal) needs no code
 * beyond strcmp and lives with its callers.
 */
#include "ops/ops.h"

#include <stdlib.h>

struct pair {
    int v;
    size_t i;
};

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Renumbers vals[0..n) densely (0..k-1) into out; returns k, or -1. */
static long densify(const int *vals, size_t n, int *out)
{
    struct pair *p = aios_malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){vals[i], i};
    qsort(p, n, sizeof *p, pair_cmp);
    long k = -1;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || p[i].v != p[i - 1].v)
            k++;
        out[p[i].i] = (int)k;
    }
    aios_free(p);
    return k + 1;
}

double aios_ops_logeval_ga(const int *truth, const int *pred, size_t n)
{
    double ga = -1;
    size_t m = 0;
    int *t = aios_malloc((n ? n : 1) * sizeof *t);
    int *p = aios_malloc((n ? n : 1) * sizeof *p);
    int *td = aios_malloc((n ? n : 1) * sizeof *td);
    int *pd = aios_malloc((n ? n : 1) * sizeof *pd);
    size_t *tsize = NULL, *psize = NULL;
    int *ptruth = NULL;
    if (!t || !p || !td || !pd)
        goto out;
    /* Lines without ground truth are left out of everything, as the
     * evaluator drops rows with an empty EventId before grouping. */
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0)
            continue;
        t[m] = truth[i];
        p[m] = pred[i];
        m++;
    }
    if (m == 0)
        goto out;
    long nt = densify(t, m, td), np = densify(p, m, pd);
    if (nt < 0 || np < 0)
        goto out;
    tsize = aios_calloc((size_t)nt, sizeof *tsize);
    psize = aios_calloc((size_t)np, sizeof *psize);
    ptruth = aios_malloc((size_t)np * sizeof *ptruth);
    if (!tsize || !psize || !ptruth)
        goto out;
    for (long g = 0; g < np; g++)
        ptruth[g] = -1; /* -1 unseen, -2 mixed */
    for (size_t i = 0; i < m; i++) {
        tsize[td[i]]++;
        psize[pd[i]]++;
        if (ptruth[pd[i]] == -1)
            ptruth[pd[i]] = td[i];
        else if (ptruth[pd[i]] != td[i])
            ptruth[pd[i]] = -2;
    }
    /* A predicted group is right when all its lines share one true group
     * and it holds all of that group's lines. */
    size_t correct = 0;
    for (long g = 0; g < np; g++)
        if (ptruth[g] >= 0 && psize[g] == tsize[ptruth[g]])
            correct += psize[g];
    ga = (double)correct / (double)m;
out:
    aios_free(t);
    aios_free(p);
    aios_free(td);
    aios_free(pd);
    aios_free(tsize);
    aios_free(psize);
    aios_free(ptruth);
    return ga;
}
