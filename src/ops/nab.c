/*
 * NAB scoring, as NAB v1.1 computes it (nab/sweeper.py, optimizer.py,
 * runner.py), so that figures here stand next to the published scoreboard:
 *
 * - the first min(floor(15% of n), 750) points of a file are probationary and
 *   not scored;
 * - a point inside an anomaly window is worth sigmoid(position)/maxTP * tp
 *   weight as a detection (only the best detection of a window counts, i.e.
 *   the earliest); a window without detection costs fn weight;
 * - a point outside windows is a false positive worth fp weight times the
 *   scaled sigmoid of its distance past the previous window (-1 before any);
 * - the threshold is the one among all distinct scores that maximises the
 *   corpus total, and the total is normalised so that the null detector
 *   (constant 0.5, best threshold) scores 0 and detecting every window at
 *   its left edge 100 (perfect = number of windows x tp weight).
 */
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct aios_ops_nab_profile aios_ops_nab_profiles[AIOS_OPS_NAB_NPROFILES] = {
    {"standard", "standard", 1.0, 0.11, 1.0},
    {"reward_low_FP_rate", "low_fp", 1.0, 0.22, 1.0},
    {"reward_low_FN_rate", "low_fn", 1.0, 0.11, 2.0},
};

#define NAB_PROBATION 0.15

double aios_ops_nab_scaled_sigmoid(double rel)
{
    if (rel > 3.0)
        return -1.0;
    return 2.0 / (1.0 + exp(5.0 * rel)) - 1.0;
}

static long first_index(const int64_t *ts, size_t n, int64_t t)
{
    for (size_t i = 0; i < n; i++)
        if (ts[i] == t)
            return (long)i;
    return -1;
}

long aios_ops_nab_sweep_file(const int64_t *ts, const double *scores, size_t n,
                             const int64_t (*win)[2], int nwin, int window_base,
                             double probation_pct, const struct aios_ops_nab_profile *p,
                             struct aios_ops_nab_point *out)
{
    double max_tp = aios_ops_nab_scaled_sigmoid(-1.0);
    double prob = floor(probation_pct * (double)n);
    if (prob > probation_pct * 5000)
        prob = probation_pct * 5000;
    int next = 0; /* next window to enter */
    int cur = -1; /* window we are in */
    long cur_right = -1, prev_right = -1;
    double cur_width = 0, prev_width = 0;
    long m = 0;
    for (size_t i = 0; i < n; i++) {
        if (next < nwin && ts[i] == win[next][0]) {
            cur = next++;
            cur_right = first_index(ts, n, win[cur][1]);
            long left = first_index(ts, n, win[cur][0]);
            if (cur_right < 0 || left < 0)
                return AIOS_EINVAL;
            cur_width = (double)(cur_right - left + 1);
        }
        double sweep;
        if (cur >= 0) {
            double pos = -((double)(cur_right - (long)i) + 1.0) / cur_width;
            sweep = aios_ops_nab_scaled_sigmoid(pos) * p->tp_weight / max_tp;
        } else {
            double u;
            if (prev_right < 0)
                u = -1.0;
            else
                u = aios_ops_nab_scaled_sigmoid(fabs((double)(prev_right - (long)i)) /
                                                (prev_width - 1.0));
            sweep = u * p->fp_weight;
        }
        if ((double)i >= prob) {
            out[m].score = scores[i];
            out[m].sweep = sweep;
            out[m].window = cur >= 0 ? window_base + cur : -1;
            m++;
        }
        if (cur >= 0 && ts[i] == win[cur][1]) {
            prev_right = (long)i;
            prev_width = cur_width;
            cur = -1;
        }
    }
    return m;
}

/* What detecting point p adds to the raw score: its sweep value outside
 * windows (a false positive's cost); inside window w, only what it adds
 * beyond the best detection of w so far (part[w]), which it becomes. */
static double credit(const struct aios_ops_nab_point *p, double *part)
{
    const int w = p->window;
    if (w < 0)
        return p->sweep;
    if (p->sweep <= part[w])
        return 0;
    const double gain = p->sweep - part[w];
    part[w] = p->sweep;
    return gain;
}

static int cmp_point_desc(const void *a, const void *b)
{
    const struct aios_ops_nab_point *x = a, *y = b;
    if (x->score > y->score)
        return -1;
    if (x->score < y->score)
        return 1;
    return 0;
}

int aios_ops_nab_optimize(struct aios_ops_nab_point *pts, size_t n, int nwindows,
                          const struct aios_ops_nab_profile *p, double *raw, double *threshold,
                          struct aios_err *err)
{
    double *part = aios_calloc((size_t)(nwindows > 0 ? nwindows : 1), sizeof(double));
    char *seen = aios_calloc((size_t)(nwindows > 0 ? nwindows : 1), 1);
    if (!part || !seen) {
        aios_free(part);
        aios_free(seen);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    /* Every window with a scorable point starts as a miss. */
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        int w = pts[i].window;
        if (w >= nwindows) {
            aios_free(part);
            aios_free(seen);
            return aios_err_set(err, AIOS_EINVAL, "window index %d out of range", w);
        }
        if (w >= 0 && !seen[w]) {
            seen[w] = 1;
            part[w] = -p->fn_weight;
            total += part[w];
        }
    }
    qsort(pts, n, sizeof *pts, cmp_point_desc);
    double cur = 1.1, best = total, best_t = cur;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].score != cur) {
            if (total > best) {
                best = total;
                best_t = cur;
            }
            cur = pts[i].score;
        }
        total += credit(&pts[i], part);
    }
    if (total > best) {
        best = total;
        best_t = cur;
    }
    aios_free(part);
    aios_free(seen);
    *raw = best;
    *threshold = best_t;
    return AIOS_OK;
}

/* ---- corpus ---- */

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct aios_ops_nab_file *)a)->name,
                  ((const struct aios_ops_nab_file *)b)->name);
}

void aios_ops_nab_corpus_free(struct aios_ops_nab_corpus *c)
{
    for (int i = 0; i < c->nfiles; i++) {
        aios_free(c->files[i].name);
        aios_free(c->files[i].win);
        aios_ops_series_free(&c->files[i].series);
    }
    aios_free(c->files);
    memset(c, 0, sizeof *c);
}

int aios_ops_nab_corpus_load(const char *dir, struct aios_ops_nab_corpus *c, struct aios_err *err)
{
    memset(c, 0, sizeof *c);
    char path[4096];
    snprintf(path, sizeof path, "%s/labels/combined_windows.json", dir);
    char *text;
    size_t len;
    int rc = aios_read_file(path, (size_t)64 << 20, &text, &len, err);
    if (rc)
        return rc;
    json_t *root = NULL;
    rc = aios_json_parse(text, len, (size_t)64 << 20, &root, err);
    aios_free(text);
    if (rc) {
        aios_err_prefix(err, "%s", path);
        return rc;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return aios_err_set(err, AIOS_EFORMAT, "%s: expected an object", path);
    }
    size_t nf = json_object_size(root);
    c->files = aios_calloc(nf ? nf : 1, sizeof *c->files);
    if (!c->files) {
        json_decref(root);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        struct aios_ops_nab_file *f = &c->files[c->nfiles++];
        f->name = aios_strdup(key);
        if (!f->name) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            goto fail;
        }
        if (strstr(key, "..") || key[0] == '/') {
            rc = aios_err_set(err, AIOS_EFORMAT, "%s: bad file name '%s'", path, key);
            goto fail;
        }
        if (!json_is_array(val)) {
            rc = aios_err_set(err, AIOS_EFORMAT, "%s: %s: expected a list of windows", path, key);
            goto fail;
        }
        size_t nw = json_array_size(val);
        f->win = aios_calloc(nw ? nw : 1, sizeof *f->win);
        if (!f->win) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t w = 0; w < nw; w++) {
            json_t *pair = json_array_get(val, w);
            for (int k = 0; k < 2; k++) {
                json_t *s = json_is_array(pair) && json_array_size(pair) == 2
                                ? json_array_get(pair, (size_t)k)
                                : NULL;
                if (!json_is_string(s) ||
                    aios_ops_time_parse(json_string_value(s), json_string_length(s),
                                        &f->win[w][k]) != AIOS_OK) {
                    rc = aios_err_set(err, AIOS_EFORMAT,
                                      "%s: %s: window %zu: expected two "
                                      "timestamps",
                                      path, key, w);
                    goto fail;
                }
            }
        }
        f->nwin = (int)nw;
        c->nwindows += (int)nw;
        char dpath[4096];
        snprintf(dpath, sizeof dpath, "%s/data/%s", dir, key);
        rc = aios_ops_series_read_csv(dpath, &f->series, err);
        if (rc)
            goto fail;
        for (int w = 0; w < f->nwin; w++)
            for (int k = 0; k < 2; k++)
                if (first_index(f->series.ts, f->series.n, f->win[w][k]) < 0) {
                    rc = aios_err_set(err, AIOS_EFORMAT,
                                      "%s: window %d of %s is not on a "
                                      "timestamp of the file",
                                      path, w, key);
                    goto fail;
                }
    }
    json_decref(root);
    qsort(c->files, (size_t)c->nfiles, sizeof *c->files, cmp_file);
    return AIOS_OK;
fail:
    json_decref(root);
    aios_ops_nab_corpus_free(c);
    return rc;
}

/* NAB scores the result files it wrote, whose scores Python 2 printed with
 * 12 significant digits; a score of 0.9999999999996 was read back as 1.0.
 * That rounding decides which points tie at the top threshold, so the
 * published figures are only reproduced with it. */
static double nab_round12(double x)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.12g", x);
    double v;
    return aios_parse_double(buf, &v) == AIOS_OK ? v : x;
}

/* Raw score of points at a fixed threshold: every point scoring at or
 * above it is a detection (the same count as NAB's scoring of one
 * threshold). */
static double raw_at(const struct aios_ops_nab_point *pts, size_t n, double *part, char *seen,
                     int nwindows, const struct aios_ops_nab_profile *p, double threshold)
{
    memset(seen, 0, (size_t)nwindows);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        int w = pts[i].window;
        if (w >= 0 && !seen[w]) {
            seen[w] = 1;
            part[w] = -p->fn_weight;
            total += part[w];
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!(pts[i].score >= threshold))
            continue;
        total += credit(&pts[i], part);
    }
    return total;
}

/* Raw score of per-file scores over the selected files for one profile:
 * the best over thresholds when optimise, else at *threshold. */
static int corpus_raw(const struct aios_ops_nab_corpus *c, double *const *scores, const char *sel,
                      const struct aios_ops_nab_profile *p, int optimise, double *raw,
                      double *threshold, struct aios_err *err)
{
    size_t total = 0;
    for (int f = 0; f < c->nfiles; f++)
        total += c->files[f].series.n;
    struct aios_ops_nab_point *pts = aios_malloc((total ? total : 1) * sizeof *pts);
    if (!pts)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    size_t m = 0;
    int base = 0;
    for (int f = 0; f < c->nfiles; f++) {
        const struct aios_ops_nab_file *fl = &c->files[f];
        if (sel && !sel[f]) {
            base += fl->nwin;
            continue;
        }
        long k = aios_ops_nab_sweep_file(fl->series.ts, scores[f], fl->series.n,
                                         (const int64_t(*)[2])fl->win, fl->nwin, base,
                                         NAB_PROBATION, p, pts + m);
        if (k < 0) {
            aios_free(pts);
            return aios_err_set(err, AIOS_EINVAL, "%s: windows do not match the file", fl->name);
        }
        for (long i = 0; i < k; i++)
            pts[m + (size_t)i].score = nab_round12(pts[m + (size_t)i].score);
        m += (size_t)k;
        base += fl->nwin;
    }
    int rc = AIOS_OK;
    if (optimise) {
        rc = aios_ops_nab_optimize(pts, m, base, p, raw, threshold, err);
    } else {
        double *part = aios_calloc((size_t)(base > 0 ? base : 1), sizeof(double));
        char *seen = aios_calloc((size_t)(base > 0 ? base : 1), 1);
        if (part && seen)
            *raw = raw_at(pts, m, part, seen, base, p, *threshold);
        else
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        aios_free(part);
        aios_free(seen);
    }
    aios_free(pts);
    return rc;
}

int aios_ops_nab_raw(const struct aios_ops_nab_corpus *c, double *const *scores, const char *sel,
                     const struct aios_ops_nab_profile *p, int optimise, double *raw,
                     double *threshold, struct aios_err *err)
{
    return corpus_raw(c, scores, sel, p, optimise, raw, threshold, err);
}

int aios_ops_nab_score_corpus(const struct aios_ops_nab_corpus *c, double *const *scores,
                              struct aios_ops_nab_score *out, struct aios_err *err)
{
    double **null = aios_calloc((size_t)(c->nfiles ? c->nfiles : 1), sizeof(double *));
    int rc = AIOS_OK;
    if (!null)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int f = 0; f < c->nfiles; f++) {
        size_t n = c->files[f].series.n;
        null[f] = aios_malloc((n ? n : 1) * sizeof(double));
        if (!null[f]) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            null[f][i] = 0.5;
    }
    for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++) {
        const struct aios_ops_nab_profile *p = &aios_ops_nab_profiles[k];
        double base, bt;
        rc = corpus_raw(c, null, NULL, p, 1, &base, &bt, err);
        if (rc)
            goto out;
        rc = corpus_raw(c, scores, NULL, p, 1, &out->raw[k], &out->threshold[k], err);
        if (rc)
            goto out;
        double perfect = c->nwindows * p->tp_weight;
        out->score[k] = perfect > base ? 100.0 * (out->raw[k] - base) / (perfect - base) : 0.0;
    }
out:
    for (int f = 0; f < c->nfiles; f++)
        aios_free(null[f]);
    aios_free(null);
    return rc;
}

void aios_ops_nab_scores_free(const struct aios_ops_nab_corpus *c, double **scores)
{
    if (!scores)
        return;
    for (int f = 0; f < c->nfiles; f++)
        aios_free(scores[f]);
    aios_free(scores);
}

int aios_ops_nab_run(const struct aios_ops_nab_corpus *c, const char *name, const char *const *kv,
                     int nkv, double ***scores, struct aios_err *err)
{
    double **s = aios_calloc((size_t)(c->nfiles ? c->nfiles : 1), sizeof(double *));
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int f = 0; f < c->nfiles; f++) {
        const struct aios_ops_series *se = &c->files[f].series;
        aios_ops_detector *d;
        int rc = aios_ops_detector_create(name, kv, nkv, &d, err);
        if (rc) {
            aios_ops_nab_scores_free(c, s);
            return rc;
        }
        s[f] = aios_malloc((se->n ? se->n : 1) * sizeof(double));
        if (!s[f]) {
            aios_ops_detector_destroy(d);
            aios_ops_nab_scores_free(c, s);
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < se->n; i++)
            s[f][i] = aios_ops_detector_score(d, se->ts[i], se->value[i]);
        aios_ops_detector_destroy(d);
    }
    *scores = s;
    return AIOS_OK;
}
