/*
 * Streaming random-cut forest over shingles (the last `shingle` values as a
 * point). The forest is built on a sliding window of recent shingles; trees
 * are rebuilt one at a time as the window moves, so the model follows the
 * series without ever holding more than `window` points.
 *
 * Cuts are chosen as in a random cut forest: the dimension with probability
 * proportional to its range in the node's bounding box, the cut uniformly in
 * that range. A query is scored by its expected isolation depth: at every
 * node on its path, the bounding box grown to include the query gives the
 * probability that a random cut would have separated the query there. Points
 * far outside the data are isolated near the root, typical ones deep.
 * Score 2^(-depth / c(window)) as in isolation forests: about 0.5 typical,
 * towards 1 anomalous.
 */
#include "ops/detect_impl.h"

#include <stdio.h>
#include <string.h>

#define FOREST_MAX_DIM 16

const struct aios_ops_detector_param detect_forest_params[] = {
    {"shingle", 4, 1, FOREST_MAX_DIM, "consecutive values that make one point"},
    {"window", 256, 16, 4096, "recent points the trees are built on"},
    {"trees", 40, 1, 500, "trees in the forest"},
    {"refresh", 4, 1, 10000, "points between two tree rebuilds (one tree at a time)"},
    {"seed", 1, 0, 4294967295.0, "random seed"},
    DETECT_VERDICT_PARAMS(0.75, 0.85),
};

struct node {
    int left, right; /* -1 for a leaf */
    int dim, size;
    double cut;
};

struct tree {
    struct node *nodes;
    double *box; /* per node: D minima then D maxima */
    int nn;
};

struct forest {
    struct aios_ops_detector base;
    int D, W, T, refresh;
    uint64_t rng;
    double recent[FOREST_MAX_DIM];
    int nrecent;
    double *pts; /* W x D ring */
    int npts, head;
    struct tree *trees;
    int *idx; /* build scratch */
    int next_tree;
    long since_refresh;
    int built;
    double last_v, last_depth;
};

static double c_factor(double n)
{
    if (n <= 1)
        return 0;
    if (n == 2)
        return 1;
    return 2.0 * (log(n - 1) + 0.5772156649) - 2.0 * (n - 1) / n;
}

static int build(struct forest *f, struct tree *t, int *idx, int n, int depth, int max_depth)
{
    int id = t->nn++;
    struct node *nd = &t->nodes[id];
    double *lo = t->box + (size_t)id * 2 * f->D, *hi = lo + f->D;
    for (int k = 0; k < f->D; k++) {
        lo[k] = INFINITY;
        hi[k] = -INFINITY;
    }
    for (int i = 0; i < n; i++) {
        const double *p = f->pts + (size_t)idx[i] * f->D;
        for (int k = 0; k < f->D; k++) {
            if (p[k] < lo[k])
                lo[k] = p[k];
            if (p[k] > hi[k])
                hi[k] = p[k];
        }
    }
    nd->size = n;
    nd->left = nd->right = -1;
    double span = 0;
    for (int k = 0; k < f->D; k++)
        span += hi[k] - lo[k];
    if (n <= 1 || depth >= max_depth || !(span > 0))
        return id;
    double r = rng_uniform(&f->rng) * span;
    int dim = 0;
    for (; dim < f->D - 1; dim++) {
        if (r < hi[dim] - lo[dim])
            break;
        r -= hi[dim] - lo[dim];
    }
    if (!(hi[dim] > lo[dim])) { /* rounding landed on an empty range */
        for (dim = 0; dim < f->D && !(hi[dim] > lo[dim]); dim++)
            ;
        r = rng_uniform(&f->rng) * (hi[dim] - lo[dim]);
    }
    double cut = lo[dim] + r;
    if (cut >= hi[dim])
        cut = lo[dim];
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (f->pts[(size_t)idx[i] * f->D + dim] <= cut) {
            int tmp = idx[i];
            idx[i] = idx[m];
            idx[m++] = tmp;
        }
    }
    nd->dim = dim;
    nd->cut = cut;
    int l = build(f, t, idx, m, depth + 1, max_depth);
    int rr = build(f, t, idx + m, n - m, depth + 1, max_depth);
    t->nodes[id].left = l;
    t->nodes[id].right = rr;
    return id;
}

static void rebuild(struct forest *f, struct tree *t)
{
    for (int i = 0; i < f->npts; i++)
        f->idx[i] = i;
    t->nn = 0;
    int max_depth = (int)ceil(log2((double)f->W)) + 4;
    build(f, t, f->idx, f->npts, 0, max_depth);
}

static double depth_of(const struct forest *f, const struct tree *t, const double *q)
{
    double h = 0, reach = 1;
    int id = 0, depth = 0;
    for (;;) {
        const struct node *nd = &t->nodes[id];
        const double *lo = t->box + (size_t)id * 2 * f->D, *hi = lo + f->D;
        double grown = 0, inside = 0;
        for (int k = 0; k < f->D; k++) {
            double a = q[k] < lo[k] ? q[k] : lo[k], b = q[k] > hi[k] ? q[k] : hi[k];
            grown += b - a;
            inside += hi[k] - lo[k];
        }
        double psep = grown > 0 ? (grown - inside) / grown : 0;
        h += reach * psep * depth;
        reach *= 1 - psep;
        if (nd->left < 0) {
            h += reach * (depth + c_factor(nd->size));
            return h;
        }
        id = q[nd->dim] <= nd->cut ? nd->left : nd->right;
        depth++;
    }
}

static double forest_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct forest *f = (struct forest *)d;
    f->last_v = v;
    f->last_depth = 0;
    if (f->nrecent == f->D) {
        memmove(f->recent, f->recent + 1, (size_t)(f->D - 1) * sizeof(double));
        f->recent[f->D - 1] = v;
    } else {
        f->recent[f->nrecent++] = v;
    }
    if (f->nrecent < f->D)
        return 0;
    double score = 0;
    if (f->built) {
        double h = 0;
        for (int t = 0; t < f->T; t++)
            h += depth_of(f, &f->trees[t], f->recent);
        h /= f->T;
        f->last_depth = h;
        score = pow(2.0, -h / c_factor(f->npts));
    }
    /* Insert the point into the window. */
    int slot;
    if (f->npts < f->W) {
        slot = f->npts++;
    } else {
        slot = f->head;
        f->head = (f->head + 1) % f->W;
    }
    memcpy(f->pts + (size_t)slot * f->D, f->recent, (size_t)f->D * sizeof(double));
    if (!f->built) {
        if (f->npts >= 32 && f->npts >= f->W / 4) {
            for (int t = 0; t < f->T; t++)
                rebuild(f, &f->trees[t]);
            f->built = 1;
        }
    } else if (++f->since_refresh >= f->refresh) {
        f->since_refresh = 0;
        rebuild(f, &f->trees[f->next_tree]);
        f->next_tree = (f->next_tree + 1) % f->T;
    }
    return score;
}

static void forest_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    const struct forest *f = (const struct forest *)d;
    snprintf(buf, size,
             "value %.4g and the %d before it are isolated at depth %.1f of the random-cut forest "
             "(typical %.1f for the last %d points)",
             f->last_v, f->D - 1, f->last_depth, c_factor(f->npts), f->npts);
}

static void forest_fini(aios_ops_detector *d)
{
    struct forest *f = (struct forest *)d;
    if (f->trees)
        for (int t = 0; t < f->T; t++) {
            aios_free(f->trees[t].nodes);
            aios_free(f->trees[t].box);
        }
    aios_free(f->trees);
    aios_free(f->pts);
    aios_free(f->idx);
}

static const struct detector_vt forest_vt = {forest_feed, forest_reason, forest_fini};

int detect_forest_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct forest *f = detector_alloc(sizeof *f, "forest", &forest_vt, p);
    if (!f)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    f->D = (int)p[0];
    f->W = (int)p[1];
    f->T = (int)p[2];
    f->refresh = (int)p[3];
    f->rng = (uint64_t)p[4] * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    f->pts = aios_calloc((size_t)f->W * f->D, sizeof(double));
    f->idx = aios_calloc((size_t)f->W, sizeof(int));
    f->trees = aios_calloc((size_t)f->T, sizeof *f->trees);
    int ok = f->pts && f->idx && f->trees;
    for (int t = 0; ok && t < f->T; t++) {
        f->trees[t].nodes = aios_calloc((size_t)2 * f->W, sizeof(struct node));
        f->trees[t].box = aios_calloc((size_t)2 * f->W * 2 * f->D, sizeof(double));
        ok = f->trees[t].nodes && f->trees[t].box;
    }
    if (!ok) {
        aios_ops_detector_destroy(&f->base);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &f->base;
    return AIOS_OK;
}
