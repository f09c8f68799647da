/*
 * Point-statistics detectors: NAB's windowed Gaussian (bit-for-bit the
 * published algorithm), EWMA 3-sigma, rolling median/MAD and level shift.
 * Each scores the incoming point against the state before it, then learns it.
 */
#include "ops/detect_impl.h"

#include <stdio.h>
#include <string.h>

/* Robust sigma from a MAD, with fallbacks for the quantised and constant
 * series that metrics often are (MAD 0 although values vary). */
static double robust_sigma(const struct sorted_window *w)
{
    double s = 1.4826 * sw_mad(w);
    if (s > 0)
        return s;
    double m = sw_median(w), sum = 0;
    for (int i = 0; i < w->n; i++)
        sum += fabs(w->sorted[i] - m);
    s = w->n ? 1.2533 * sum / w->n : 0;
    if (s > 0)
        return s;
    return 1e-6 * (fabs(m) + 1.0);
}

/* ---- windowed Gaussian (NAB windowedGaussian_detector.py) ---- */

const struct aios_ops_detector_param detect_wgauss_params[] = {
    {"window", 6400, 2, 1e6, "points in the window the Gaussian is fitted to"},
    {"step", 100, 1, 1e6, "once the window is full, it moves by this many points at a time"},
    DETECT_VERDICT_PARAMS(0.99865, 0.99997),
};

struct wgauss {
    struct aios_ops_detector base;
    int window, step;
    double *data;   /* window values, oldest first */
    int64_t *tdata; /* their timestamps */
    int n;
    double *buf; /* the step buffer */
    int64_t *tbuf;
    int nbuf;
    double mean, std;
    double last_v, last_z;
};

static void wgauss_update(struct wgauss *g)
{
    /* Two passes like numpy.mean / numpy.std (ddof 0). */
    double s = 0;
    for (int i = 0; i < g->n; i++)
        s += g->data[i];
    g->mean = s / g->n;
    double q = 0;
    for (int i = 0; i < g->n; i++) {
        double d = g->data[i] - g->mean;
        q += d * d;
    }
    g->std = sqrt(q / g->n);
    if (g->std == 0.0)
        g->std = 0.000001;
}

static double wgauss_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct wgauss *g = (struct wgauss *)d;
    double score = 0.0;
    g->last_v = v;
    g->last_z = 0;
    if (g->n > 0) {
        /* 1 - Q(|z|): the tail probability is taken on the far side of the
         * mean for values below it. */
        double z = fabs(v - g->mean) / g->std;
        g->last_z = (v - g->mean) / g->std;
        score = 1.0 - 0.5 * erfc(z / sqrt(2.0));
    }
    if (g->n < g->window) {
        g->data[g->n] = v;
        g->tdata[g->n] = ts;
        g->n++;
        wgauss_update(g);
    } else {
        g->buf[g->nbuf] = v;
        g->tbuf[g->nbuf] = ts;
        g->nbuf++;
        if (g->nbuf == g->step) {
            int keep = g->window > g->step ? g->window - g->step : 0;
            int drop = g->n - keep;
            memmove(g->data, g->data + drop, (size_t)keep * sizeof(double));
            memmove(g->tdata, g->tdata + drop, (size_t)keep * sizeof(int64_t));
            /* When step > window the window becomes the whole buffer, as
             * Python's slicing does. */
            int add = g->step;
            g->n = keep;
            memcpy(g->data + g->n, g->buf, (size_t)add * sizeof(double));
            memcpy(g->tdata + g->n, g->tbuf, (size_t)add * sizeof(int64_t));
            g->n += add;
            g->nbuf = 0;
            wgauss_update(g);
        }
    }
    return score;
}

static void wgauss_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    char zb[32];
    const struct wgauss *g = (const struct wgauss *)d;
    char dur[32];
    double span = g->n > 1 ? (double)(g->tdata[g->n - 1] - g->tdata[0]) : 0;
    snprintf(buf, size, "value %.4g is %s sigma %s the %s mean %.4g", g->last_v,
             fmt_z(g->last_z, zb, sizeof zb), dir_word(g->last_z),
             fmt_duration(span, dur, sizeof dur), g->mean);
}

static void wgauss_fini(aios_ops_detector *d)
{
    struct wgauss *g = (struct wgauss *)d;
    aios_free(g->data);
    aios_free(g->tdata);
    aios_free(g->buf);
    aios_free(g->tbuf);
}

static const struct detector_vt wgauss_vt = {wgauss_feed, wgauss_reason, wgauss_fini};

int detect_wgauss_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct wgauss *g = detector_alloc(sizeof *g, "windowed_gaussian", &wgauss_vt, p);
    if (!g)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    g->window = (int)p[0];
    g->step = (int)p[1];
    int cap = g->window > g->step ? g->window : g->step;
    g->data = aios_malloc((size_t)cap * sizeof(double));
    g->tdata = aios_malloc((size_t)cap * sizeof(int64_t));
    g->buf = aios_malloc((size_t)g->step * sizeof(double));
    g->tbuf = aios_malloc((size_t)g->step * sizeof(int64_t));
    g->mean = 0;
    g->std = 1;
    if (!g->data || !g->tdata || !g->buf || !g->tbuf) {
        aios_ops_detector_destroy(&g->base);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &g->base;
    return AIOS_OK;
}

/* ---- EWMA 3-sigma ---- */

const struct aios_ops_detector_param detect_ewma_params[] = {
    {"alpha", 0.02, 1e-5, 1, "weight of the newest point in the mean and variance"},
    {"warmup", 30, 1, 1e6, "points learned before any score"},
    DETECT_VERDICT_PARAMS(0.9, 0.95),
};

struct ewma {
    struct aios_ops_detector base;
    double alpha;
    long warmup, n;
    double mean, var;
    struct raw_scale rs;
    double last_v, last_z, last_mean;
};

static double ewma_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct ewma *e = (struct ewma *)d;
    double score = 0;
    e->last_v = v;
    e->last_mean = e->mean;
    e->last_z = 0;
    if (e->n == 0) {
        e->mean = v;
        e->var = 0;
    } else {
        double dev = v - e->mean;
        double sd = sqrt(e->var);
        double floor = raw_scale_floor(&e->rs);
        if (sd < floor)
            sd = floor;
        e->last_z = dev / sd;
        if (e->n >= e->warmup)
            score = score_from_z(fabs(e->last_z));
        double incr = e->alpha * dev;
        e->mean += incr;
        e->var = (1 - e->alpha) * (e->var + dev * incr);
    }
    raw_scale_feed(&e->rs, v);
    e->n++;
    return score;
}

static void ewma_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    char zb[32];
    const struct ewma *e = (const struct ewma *)d;
    snprintf(buf, size, "value %.4g is %s sigma %s the EWMA mean %.4g (alpha %g)", e->last_v,
             fmt_z(e->last_z, zb, sizeof zb), dir_word(e->last_z), e->last_mean, e->alpha);
}

static const struct detector_vt ewma_vt = {ewma_feed, ewma_reason, NULL};

int detect_ewma_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct ewma *e = detector_alloc(sizeof *e, "ewma", &ewma_vt, p);
    if (!e)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    e->alpha = p[0];
    e->warmup = (long)p[1];
    *out = &e->base;
    return AIOS_OK;
}

/* ---- rolling median / MAD ---- */

const struct aios_ops_detector_param detect_mad_params[] = {
    {"window", 288, 5, 100000, "points in the trailing window"},
    {"min_points", 30, 3, 100000, "points needed before any score"},
    DETECT_VERDICT_PARAMS(0.9, 0.96),
};

struct mad {
    struct aios_ops_detector base;
    struct sorted_window w;
    int min_points;
    struct interval_est iv;
    struct raw_scale rs;
    double last_v, last_z, last_med, last_sigma;
};

static double mad_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct mad *m = (struct mad *)d;
    double score = 0;
    interval_feed(&m->iv, ts);
    m->last_v = v;
    m->last_z = 0;
    if (m->w.n >= m->min_points) {
        m->last_med = sw_median(&m->w);
        m->last_sigma = robust_sigma(&m->w);
        if (m->last_sigma < raw_scale_floor(&m->rs))
            m->last_sigma = raw_scale_floor(&m->rs);
        m->last_z = (v - m->last_med) / m->last_sigma;
        score = score_from_z(fabs(m->last_z));
    }
    sw_push(&m->w, v);
    raw_scale_feed(&m->rs, v);
    return score;
}

static void mad_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    char zb[32];
    const struct mad *m = (const struct mad *)d;
    char dur[32];
    snprintf(buf, size, "value %.4g is %s robust sigma %s the %s median %.4g", m->last_v,
             fmt_z(m->last_z, zb, sizeof zb), dir_word(m->last_z),
             fmt_duration(m->iv.interval * m->w.n, dur, sizeof dur), m->last_med);
}

static void mad_fini(aios_ops_detector *d)
{
    sw_free(&((struct mad *)d)->w);
}

static const struct detector_vt mad_vt = {mad_feed, mad_reason, mad_fini};

int detect_mad_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct mad *m = detector_alloc(sizeof *m, "mad", &mad_vt, p);
    if (!m)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    m->min_points = (int)p[1];
    if (sw_init(&m->w, (int)p[0]) != AIOS_OK) {
        aios_free(m);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &m->base;
    return AIOS_OK;
}

/* ---- level shift ----
 *
 * A shift is the median of the last `short` points leaving the envelope
 * (1st..99th percentile) of the `long` points before them, measured in units
 * of the local noise (robust sigma of first differences / sqrt 2). Comparing
 * with the envelope rather than the median keeps a daily wave, which moves
 * the short median within the envelope, from reading as a shift. */

const struct aios_ops_detector_param detect_levelshift_params[] = {
    {"short", 6, 1, 10000, "points whose median is the new level"},
    {"long", 288, 5, 100000, "points before them that define the old level"},
    DETECT_VERDICT_PARAMS(0.9, 0.96),
};

struct levelshift {
    struct aios_ops_detector base;
    struct sorted_window recent, ref, diffs;
    struct interval_est iv;
    struct raw_scale rs;
    double prev;
    long n;
    double last_new, last_edge, last_z;
};

static double levelshift_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct levelshift *l = (struct levelshift *)d;
    interval_feed(&l->iv, ts);
    if (l->recent.n == l->recent.order.cap)
        sw_push(&l->ref, ring_at(&l->recent.order, 0));
    sw_push(&l->recent, v);
    if (l->n > 0)
        sw_push(&l->diffs, v - l->prev);
    l->prev = v;
    l->n++;
    raw_scale_feed(&l->rs, v);
    l->last_z = 0;
    if (l->ref.n < l->ref.order.cap / 4 + 5)
        return 0;
    int n = l->ref.n;
    double lo = l->ref.sorted[(int)(0.01 * n)];
    double hi = l->ref.sorted[(int)ceil(0.99 * n) - 1];
    double sig = 1.4826 * sw_mad(&l->diffs) / sqrt(2.0);
    if (sig < raw_scale_floor(&l->rs))
        sig = raw_scale_floor(&l->rs);
    l->last_new = sw_median(&l->recent);
    if (l->last_new > hi) {
        l->last_edge = hi;
        l->last_z = (l->last_new - hi) / sig;
    } else if (l->last_new < lo) {
        l->last_edge = lo;
        l->last_z = (l->last_new - lo) / sig;
    }
    return score_from_z(fabs(l->last_z));
}

static void levelshift_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    const struct levelshift *l = (const struct levelshift *)d;
    char zb[32], dur[32];
    snprintf(buf, size,
             "median %.4g of the last %d points is %s noise sigma %s the %s %.4g of the %s "
             "before",
             l->last_new, l->recent.n, fmt_z(l->last_z, zb, sizeof zb), dir_word(l->last_z),
             l->last_z >= 0 ? "99th percentile" : "1st percentile", l->last_edge,
             fmt_duration(l->iv.interval * l->ref.n, dur, sizeof dur));
}

static void levelshift_fini(aios_ops_detector *d)
{
    struct levelshift *l = (struct levelshift *)d;
    sw_free(&l->recent);
    sw_free(&l->ref);
    sw_free(&l->diffs);
}

static const struct detector_vt levelshift_vt = {levelshift_feed, levelshift_reason,
                                                 levelshift_fini};

int detect_levelshift_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct levelshift *l = detector_alloc(sizeof *l, "level_shift", &levelshift_vt, p);
    if (!l)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (sw_init(&l->recent, (int)p[0]) != AIOS_OK || sw_init(&l->ref, (int)p[1]) != AIOS_OK ||
        sw_init(&l->diffs, (int)p[1]) != AIOS_OK) {
        aios_ops_detector_destroy(&l->base);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &l->base;
    return AIOS_OK;
}
