/*
 * Metric detectors: the table of models, creation by name with "key=value"
 * parameters, the feed contract (score -> verdict -> reason) and helpers the
 * models share (rings, rolling median/MAD, interval estimation).
 *
 * Every model is a struct that starts with struct aios_ops_detector and is
 * driven through its detector_vt; see detect_impl.h.
 */
#include "ops/detect_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct aios_ops_detector_def aios_ops_detector_defs[] = {
    {"windowed_gaussian",
     "NAB's windowedGaussian: tail probability of the value under a Gaussian fitted to a "
     "sliding window (6400 points, moved every 100)",
     detect_wgauss_params, detect_wgauss_create},
    {"ewma", "EWMA 3-sigma: distance from an exponentially weighted mean in weighted sigmas",
     detect_ewma_params, detect_ewma_create},
    {"mad", "rolling median and MAD: robust z-score of the value against a trailing window",
     detect_mad_params, detect_mad_create},
    {"seasonal",
     "seasonal decomposition: median of the same time of day over past periods plus the "
     "recent level, scored by robust residuals",
     detect_seasonal_params, detect_seasonal_create},
    {"spectral_residual",
     "spectral residual (Ren et al. 2019): saliency of the latest point in the log-amplitude "
     "spectrum of a sliding window",
     detect_spectral_params, detect_spectral_create},
    {"holt_winters",
     "additive Holt-Winters (level, trend, time-of-day season): forecast error in robust "
     "sigmas",
     detect_holtwinters_params, detect_holtwinters_create},
    {"level_shift",
     "level shift: median of the last few points against median and MAD of the window before",
     detect_levelshift_params, detect_levelshift_create},
    {"forest",
     "streaming random-cut forest: isolation depth of the latest shingle among a sliding "
     "window of shingles, trees rebuilt as the window moves",
     detect_forest_params, detect_forest_create},
    {"context",
     "context novelty: quantised recent values as a pattern; scores patterns never or rarely "
     "seen before in the series (after Numenta's CAD OSE)",
     detect_context_params, detect_context_create},
    {"cad",
     "contextual anomaly detector (after CAD OSE): value levels as bit facts, contexts of "
     "consecutive facts learned online; scores the share of predicted contexts that fail and "
     "of new ones",
     detect_cad_params, detect_cad_create},
    {"ensemble",
     "ensemble (default: mad, seasonal, spectral_residual, holt_winters): each member's score "
     "calibrated to its rarity in this series, the agree rarest combined, alarm fatigue and "
     "suppression of repeats",
     detect_ensemble_params, detect_ensemble_create},
    {NULL, NULL, NULL, NULL},
};

const char *aios_ops_verdict_str(enum aios_ops_verdict v)
{
    switch (v) {
    case AIOS_OPS_VERDICT_OK:
        return "OK";
    case AIOS_OPS_VERDICT_WARN:
        return "WARN";
    case AIOS_OPS_VERDICT_CRITICAL:
        return "CRITICAL";
    }
    return "?";
}

const struct aios_ops_detector_def *aios_ops_detector_find(const char *name)
{
    for (const struct aios_ops_detector_def *d = aios_ops_detector_defs; d->name; d++)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

void *detector_alloc(size_t size, const char *name, const struct detector_vt *vt,
                     const double *params)
{
    const struct aios_ops_detector_def *def = aios_ops_detector_find(name);
    if (!def)
        return NULL;
    struct aios_ops_detector *d = aios_calloc(1, size);
    if (!d)
        return NULL;
    d->def = def;
    d->vt = vt;
    d->warn = 0.9;
    d->crit = 0.99;
    for (int i = 0; def->params[i].name; i++) {
        if (strcmp(def->params[i].name, "warn") == 0)
            d->warn = params[i];
        else if (strcmp(def->params[i].name, "crit") == 0)
            d->crit = params[i];
    }
    return d;
}

int aios_ops_detector_create(const char *name, const char *const *kv, int nkv,
                             aios_ops_detector **out, struct aios_err *err)
{
    *out = NULL;
    const struct aios_ops_detector_def *def = aios_ops_detector_find(name ? name : "");
    if (!def)
        return aios_err_set(err, AIOS_ENOTFOUND, "unknown detector '%s'", name ? name : "");
    double p[AIOS_OPS_DETECTOR_MAX_PARAMS];
    int np = 0;
    for (; def->params[np].name; np++)
        p[np] = def->params[np].def;
    for (int i = 0; i < nkv; i++) {
        const char *eq = strchr(kv[i], '=');
        if (!eq || eq == kv[i])
            return aios_err_set(err, AIOS_EINVAL, "parameter '%s': expected key=value", kv[i]);
        size_t klen = (size_t)(eq - kv[i]);
        int k = -1;
        for (int j = 0; j < np; j++)
            if (strlen(def->params[j].name) == klen &&
                memcmp(def->params[j].name, kv[i], klen) == 0)
                k = j;
        if (k < 0)
            return aios_err_set(err, AIOS_EINVAL, "detector %s has no parameter '%.*s'", name,
                                (int)klen, kv[i]);
        double v;
        if (aios_parse_double(eq + 1, &v) != AIOS_OK || !isfinite(v))
            return aios_err_set(err, AIOS_EINVAL, "parameter %s: '%s' is not a number",
                                def->params[k].name, eq + 1);
        if (v < def->params[k].min || v > def->params[k].max)
            return aios_err_set(err, AIOS_EINVAL, "parameter %s: %g is outside [%g, %g]",
                                def->params[k].name, v, def->params[k].min, def->params[k].max);
        p[k] = v;
    }
    return def->create(p, out, err);
}

void aios_ops_detector_destroy(aios_ops_detector *d)
{
    if (!d)
        return;
    if (d->vt->fini)
        d->vt->fini(d);
    aios_free(d);
}

const char *aios_ops_detector_name(const aios_ops_detector *d)
{
    return d->def->name;
}

double aios_ops_detector_score(aios_ops_detector *d, int64_t ts, double value)
{
    if (!isfinite(value))
        return 0.0;
    double s = d->vt->feed(d, ts, value);
    if (!(s >= 0.0))
        s = 0.0; /* also catches NaN */
    if (s > 1.0)
        s = 1.0;
    return s;
}

int aios_ops_detector_feed(aios_ops_detector *d, int64_t ts, double value,
                           struct aios_ops_detect_result *out, struct aios_err *err)
{
    if (!isfinite(value))
        return aios_err_set(err, AIOS_EINVAL, "value is not a finite number");
    out->score = aios_ops_detector_score(d, ts, value);
    out->reason[0] = 0;
    if (out->score >= d->crit)
        out->verdict = AIOS_OPS_VERDICT_CRITICAL;
    else if (out->score >= d->warn)
        out->verdict = AIOS_OPS_VERDICT_WARN;
    else
        out->verdict = AIOS_OPS_VERDICT_OK;
    if (out->verdict != AIOS_OPS_VERDICT_OK)
        d->vt->reason(d, out->reason, sizeof out->reason);
    return AIOS_OK;
}

/* ---- shared helpers ---- */

const char *fmt_duration(double secs, char *buf, size_t size)
{
    static const struct {
        double s;
        const char *u;
    } units[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (secs >= units[i].s || i + 1 == sizeof units / sizeof units[0]) {
            double q = secs / units[i].s;
            if (fabs(q - round(q)) < 0.05)
                snprintf(buf, size, "%.0f%s", round(q), units[i].u);
            else
                snprintf(buf, size, "%.1f%s", q, units[i].u);
            return buf;
        }
    }
    return buf;
}

int ring_init(struct ring *r, int cap)
{
    r->v = aios_calloc((size_t)cap, sizeof(double));
    r->cap = cap;
    r->n = 0;
    r->head = 0;
    return r->v ? AIOS_OK : AIOS_ENOMEM;
}

void ring_free(struct ring *r)
{
    aios_free(r->v);
    r->v = NULL;
}

int ring_push(struct ring *r, double x, double *old)
{
    if (r->n < r->cap) {
        r->v[(r->head + r->n) % r->cap] = x;
        r->n++;
        return 0;
    }
    if (old)
        *old = r->v[r->head];
    r->v[r->head] = x;
    r->head = (r->head + 1) % r->cap;
    return 1;
}

int sw_init(struct sorted_window *w, int cap)
{
    w->n = 0;
    w->sorted = aios_calloc((size_t)cap, sizeof(double));
    if (!w->sorted || ring_init(&w->order, cap) != AIOS_OK) {
        aios_free(w->sorted);
        w->sorted = NULL;
        return AIOS_ENOMEM;
    }
    return AIOS_OK;
}

void sw_free(struct sorted_window *w)
{
    aios_free(w->sorted);
    w->sorted = NULL;
    ring_free(&w->order);
}

/* First index with sorted[i] >= x. */
static int lower_bound(const double *a, int n, double x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void sw_push(struct sorted_window *w, double x)
{
    double old;
    if (ring_push(&w->order, x, &old)) {
        int i = lower_bound(w->sorted, w->n, old);
        memmove(w->sorted + i, w->sorted + i + 1, (size_t)(w->n - i - 1) * sizeof(double));
        w->n--;
    }
    int i = lower_bound(w->sorted, w->n, x);
    memmove(w->sorted + i + 1, w->sorted + i, (size_t)(w->n - i) * sizeof(double));
    w->sorted[i] = x;
    w->n++;
}

double sw_median(const struct sorted_window *w)
{
    if (w->n == 0)
        return 0.0;
    if (w->n % 2)
        return w->sorted[w->n / 2];
    return 0.5 * (w->sorted[w->n / 2 - 1] + w->sorted[w->n / 2]);
}

double sw_mad(const struct sorted_window *w)
{
    int n = w->n;
    if (n == 0)
        return 0.0;
    double m = sw_median(w);
    /* Deviations below the median, read right to left, and above it, read
     * left to right, are two ascending runs: merge until the middle. */
    int split = lower_bound(w->sorted, n, m);
    int i = split - 1, j = split;
    int want = n / 2; /* index of the upper middle */
    double prev = 0, cur = 0;
    for (int k = 0; k <= want; k++) {
        double dl = i >= 0 ? m - w->sorted[i] : INFINITY;
        double dr = j < n ? w->sorted[j] - m : INFINITY;
        prev = cur;
        if (dl <= dr) {
            cur = dl;
            i--;
        } else {
            cur = dr;
            j++;
        }
    }
    return n % 2 ? cur : 0.5 * (prev + cur);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_inplace(double *a, int n)
{
    if (n <= 0)
        return 0.0;
    qsort(a, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

void interval_feed(struct interval_est *e, int64_t ts)
{
    if (e->interval > 0)
        return;
    if (e->started) {
        double g = (double)(ts - e->last);
        if (g > 0 && e->n < (int)(sizeof e->gaps / sizeof e->gaps[0]))
            e->gaps[e->n++] = g;
        if (e->n == (int)(sizeof e->gaps / sizeof e->gaps[0])) {
            double tmp[sizeof e->gaps / sizeof e->gaps[0]];
            memcpy(tmp, e->gaps, sizeof tmp);
            e->interval = median_inplace(tmp, e->n);
        }
    }
    e->last = ts;
    e->started = 1;
}
