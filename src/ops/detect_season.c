/*
 * Detectors that model the shape of a series over time: seasonal
 * decomposition with robust residuals, additive Holt-Winters, and the
 * spectral residual saliency of Ren et al. (KDD 2019).
 *
 * Seasonality is by time of day (period_s, default one day) in buckets of
 * the sampling interval, which the models learn from the first timestamps;
 * so a series sampled every 5 minutes gets 288 buckets and one sampled every
 * 30 minutes 48, and gaps in the data do not shift the phase.
 */
#include "ops/detect_impl.h"

#include <stdio.h>
#include <string.h>

#define MAX_BUCKETS 4096

static int bucket_count(double period_s, double interval)
{
    double nb = interval > 0 ? period_s / interval : 0;
    if (nb < 2)
        return 0; /* no seasonality below two samples per period */
    return nb > MAX_BUCKETS ? MAX_BUCKETS : (int)nb;
}

static int bucket_of(int64_t ts, double period_s, int nb)
{
    int64_t p = (int64_t)period_s;
    int64_t ph = ((ts % p) + p) % p;
    int b = (int)((double)ph * nb / (double)p);
    return b >= nb ? nb - 1 : b;
}

static double residual_sigma(const struct sorted_window *w)
{
    double s = 1.4826 * sw_mad(w);
    if (s > 0)
        return s;
    double sum = 0, m = sw_median(w);
    for (int i = 0; i < w->n; i++)
        sum += fabs(w->sorted[i] - m);
    return w->n ? 1.2533 * sum / w->n : 0;
}

/* ---- seasonal decomposition ---- */

const struct aios_ops_detector_param detect_seasonal_params[] = {
    {"period_s", 86400, 60, 1e8, "length of the season in seconds"},
    {"cycles", 5, 1, 64, "past seasons whose median gives the seasonal component"},
    {"window", 1152, 10, 100000, "recent residuals that give the robust scale"},
    DETECT_VERDICT_PARAMS(0.9, 0.96),
};

struct seasonal {
    struct aios_ops_detector base;
    double period_s;
    int cycles;
    struct interval_est iv;
    int nb;                     /* buckets, 0 until the interval is known */
    double *hist;               /* nb x cycles detrended values */
    int *hn, *hpos;             /* per bucket: count and next slot */
    struct sorted_window level; /* one period of raw values */
    struct sorted_window resid;
    struct raw_scale rs;
    double last_v, last_exp, last_z;
};

static int seasonal_setup(struct seasonal *s)
{
    s->nb = bucket_count(s->period_s, s->iv.interval);
    if (s->nb == 0)
        s->nb = 1;
    s->hist = aios_calloc((size_t)s->nb * (size_t)s->cycles, sizeof(double));
    s->hn = aios_calloc((size_t)s->nb, sizeof(int));
    s->hpos = aios_calloc((size_t)s->nb, sizeof(int));
    if (!s->hist || !s->hn || !s->hpos || sw_init(&s->level, s->nb < 12 ? 12 : s->nb))
        return AIOS_ENOMEM;
    return AIOS_OK;
}

static double seasonal_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct seasonal *s = (struct seasonal *)d;
    interval_feed(&s->iv, ts);
    s->last_v = v;
    s->last_z = 0;
    if (!s->hist) {
        if (s->iv.interval <= 0 || seasonal_setup(s) != AIOS_OK)
            return 0;
    }
    int b = bucket_of(ts, s->period_s, s->nb);
    double lvl = s->level.n ? sw_median(&s->level) : v;
    double seas = 0;
    int learned = s->hn[b] >= (s->cycles < 2 ? s->cycles : 2);
    if (s->hn[b] > 0) {
        double tmp[64];
        memcpy(tmp, s->hist + (size_t)b * s->cycles, (size_t)s->hn[b] * sizeof(double));
        seas = median_inplace(tmp, s->hn[b]);
    }
    double expect = lvl + seas;
    double r = v - expect;
    double score = 0;
    double sig = residual_sigma(&s->resid);
    if (learned && s->resid.n >= 30) {
        double floor = raw_scale_floor(&s->rs);
        if (sig < floor)
            sig = floor;
        s->last_z = r / sig;
        s->last_exp = expect;
        score = score_from_z(fabs(s->last_z));
    }
    /* Learn: anomalies are clipped so one spike does not become the season. */
    double rc = r;
    if (s->resid.n >= 30 && sig > 0) {
        if (rc > 4 * sig)
            rc = 4 * sig;
        if (rc < -4 * sig)
            rc = -4 * sig;
    }
    raw_scale_feed(&s->rs, v);
    if (learned) /* residuals of a learned season only: the scale */
        sw_push(&s->resid, r);
    sw_push(&s->level, expect + rc - seas);
    double *h = s->hist + (size_t)b * s->cycles;
    h[s->hpos[b]] = expect + rc - lvl;
    s->hpos[b] = (s->hpos[b] + 1) % s->cycles;
    if (s->hn[b] < s->cycles)
        s->hn[b]++;
    return score;
}

static void seasonal_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    char zb[32];
    const struct seasonal *s = (const struct seasonal *)d;
    char dur[32];
    snprintf(buf, size,
             "value %.4g is %s robust sigma %s the %.4g expected for this time of the %s season",
             s->last_v, fmt_z(s->last_z, zb, sizeof zb), dir_word(s->last_z), s->last_exp,
             fmt_duration(s->period_s, dur, sizeof dur));
}

static void seasonal_fini(aios_ops_detector *d)
{
    struct seasonal *s = (struct seasonal *)d;
    aios_free(s->hist);
    aios_free(s->hn);
    aios_free(s->hpos);
    sw_free(&s->level);
    sw_free(&s->resid);
}

static const struct detector_vt seasonal_vt = {seasonal_feed, seasonal_reason, seasonal_fini};

int detect_seasonal_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct seasonal *s = detector_alloc(sizeof *s, "seasonal", &seasonal_vt, p);
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    s->period_s = p[0];
    s->cycles = (int)p[1];
    if (sw_init(&s->resid, (int)p[2]) != AIOS_OK) {
        aios_free(s);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &s->base;
    return AIOS_OK;
}

/* ---- Holt-Winters ---- */

const struct aios_ops_detector_param detect_holtwinters_params[] = {
    {"alpha", 0.02, 0.0001, 1, "level smoothing"},
    {"beta", 0.005, 0, 1, "trend smoothing"},
    {"gamma", 0.3, 0, 1, "seasonal smoothing"},
    {"period_s", 86400, 60, 1e8, "length of the season in seconds"},
    {"window", 576, 10, 100000, "recent forecast errors that give the robust scale"},
    DETECT_VERDICT_PARAMS(0.9, 0.96),
};

struct holtwinters {
    struct aios_ops_detector base;
    double alpha, beta, gamma, period_s;
    struct interval_est iv;
    int nb;
    double *season;
    char *seen;
    double level, trend;
    long n;
    struct sorted_window errs;
    struct raw_scale rs;
    double last_v, last_f, last_z;
};

static double hw_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct holtwinters *h = (struct holtwinters *)d;
    interval_feed(&h->iv, ts);
    h->last_v = v;
    h->last_z = 0;
    raw_scale_feed(&h->rs, v);
    if (h->n == 0) {
        h->level = v;
        h->n++;
        return 0;
    }
    if (!h->season && h->iv.interval > 0) {
        h->nb = bucket_count(h->period_s, h->iv.interval);
        if (h->nb == 0)
            h->nb = 1;
        h->season = aios_calloc((size_t)h->nb, sizeof(double));
        h->seen = aios_calloc((size_t)h->nb, 1);
        if (!h->season || !h->seen) {
            aios_free(h->season);
            aios_free(h->seen);
            h->season = NULL;
            h->seen = NULL;
        }
    }
    int b = h->season ? bucket_of(ts, h->period_s, h->nb) : -1;
    double s = b >= 0 && h->seen[b] ? h->season[b] : 0;
    double f = h->level + h->trend + s;
    double e = v - f;
    double score = 0;
    double sig = residual_sigma(&h->errs);
    double floor = raw_scale_floor(&h->rs);
    if (sig < floor)
        sig = floor;
    if (h->errs.n >= 30) {
        h->last_z = e / sig;
        h->last_f = f;
        score = score_from_z(fabs(h->last_z));
        /* Robust update: a spike moves the model as a 4-sigma point would. */
        if (e > 4 * sig)
            v = f + 4 * sig;
        else if (e < -4 * sig)
            v = f - 4 * sig;
    }
    sw_push(&h->errs, e);
    double nl = h->alpha * (v - s) + (1 - h->alpha) * (h->level + h->trend);
    h->trend = h->beta * (nl - h->level) + (1 - h->beta) * h->trend;
    h->level = nl;
    if (b >= 0) {
        if (h->seen[b])
            h->season[b] = h->gamma * (v - nl) + (1 - h->gamma) * h->season[b];
        else
            h->season[b] = v - nl;
        h->seen[b] = 1;
    }
    h->n++;
    return score;
}

static void hw_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    char zb[32];
    const struct holtwinters *h = (const struct holtwinters *)d;
    snprintf(buf, size, "value %.4g is %s robust sigma %s the Holt-Winters forecast %.4g",
             h->last_v, fmt_z(h->last_z, zb, sizeof zb), dir_word(h->last_z), h->last_f);
}

static void hw_fini(aios_ops_detector *d)
{
    struct holtwinters *h = (struct holtwinters *)d;
    aios_free(h->season);
    aios_free(h->seen);
    sw_free(&h->errs);
}

static const struct detector_vt hw_vt = {hw_feed, hw_reason, hw_fini};

int detect_holtwinters_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct holtwinters *h = detector_alloc(sizeof *h, "holt_winters", &hw_vt, p);
    if (!h)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    h->alpha = p[0];
    h->beta = p[1];
    h->gamma = p[2];
    h->period_s = p[3];
    if (sw_init(&h->errs, (int)p[4]) != AIOS_OK) {
        aios_free(h);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = &h->base;
    return AIOS_OK;
}

/* ---- spectral residual ---- */

const struct aios_ops_detector_param detect_spectral_params[] = {
    {"window", 64, 16, 1024, "FFT size (a power of two): recent points plus extrapolated ones"},
    {"extend", 5, 1, 16, "points extrapolated past the newest so it is not at the edge"},
    {"avg", 3, 1, 32, "width of the moving average over the log spectrum"},
    {"local", 21, 3, 1000, "past saliency values the newest is compared with"},
    DETECT_VERDICT_PARAMS(0.94, 0.973),
};

struct spectral {
    struct aios_ops_detector base;
    int N, m, q;
    struct ring x;   /* last N - m values */
    struct ring sal; /* past saliency values */
    double *re, *im, *amp, *tw_re, *tw_im;
    int *rev;
    double last_v, last_r;
};

/* In-place iterative radix-2 FFT; inverse when inv (unscaled). */
static void fft(struct spectral *s, double *re, double *im, int inv)
{
    int n = s->N;
    for (int i = 0; i < n; i++) {
        int j = s->rev[i];
        if (j > i) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        int step = n / len;
        for (int i = 0; i < n; i += len) {
            for (int k = 0; k < len / 2; k++) {
                double wr = s->tw_re[k * step], wi = inv ? -s->tw_im[k * step] : s->tw_im[k * step];
                int a = i + k, b = i + k + len / 2;
                double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
    }
}

static double spectral_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct spectral *s = (struct spectral *)d;
    int N = s->N, m = s->m, W = N - m;
    s->last_v = v;
    s->last_r = 0;
    ring_push(&s->x, v, NULL);
    if (s->x.n < W)
        return 0;
    /* Centre on the window mean so the DC term does not dominate the scale. */
    double mean = 0;
    for (int i = 0; i < W; i++)
        mean += ring_at(&s->x, i);
    mean /= W;
    for (int i = 0; i < W; i++) {
        s->re[i] = ring_at(&s->x, i) - mean;
        s->im[i] = 0;
    }
    /* Extrapolate m points from the m + 1 points before the newest (the
     * newest is left out so that a spike does not extrapolate itself and
     * hide in its own echo): the second of them plus the summed slopes to
     * the last of them. */
    const double *pv = s->re + W - 1 - (m + 1); /* m + 1 values, pv[m] = x[n-1] */
    double ext = pv[1];
    for (int i = 0; i < m; i++)
        ext += (pv[m] - pv[i]) / (double)(m - i);
    for (int i = 0; i < m; i++) {
        s->re[W + i] = ext;
        s->im[W + i] = 0;
    }
    fft(s, s->re, s->im, 0);
    double eps = 1e-8;
    for (int i = 0; i < N; i++) {
        double a = sqrt(s->re[i] * s->re[i] + s->im[i] * s->im[i]);
        s->amp[i] = log(a > eps ? a : eps);
    }
    for (int i = 0; i < N; i++) {
        double a = sqrt(s->re[i] * s->re[i] + s->im[i] * s->im[i]);
        double avg = 0;
        for (int k = -(s->q / 2); k < s->q - s->q / 2; k++)
            avg += s->amp[(i + k + N) % N];
        avg /= s->q;
        double r = exp(s->amp[i] - avg);
        if (a > eps) {
            s->re[i] = s->re[i] / a * r;
            s->im[i] = s->im[i] / a * r;
        } else {
            s->re[i] = r;
            s->im[i] = 0;
        }
    }
    fft(s, s->re, s->im, 1);
    double sal = sqrt(s->re[W - 1] * s->re[W - 1] + s->im[W - 1] * s->im[W - 1]) / N;
    double score = 0;
    if (s->sal.n >= 3) {
        double avg = 0;
        for (int i = 0; i < s->sal.n; i++)
            avg += ring_at(&s->sal, i);
        avg /= s->sal.n;
        if (avg > 1e-12) {
            s->last_r = (sal - avg) / avg;
            score = score_from_z(s->last_r > 0 ? s->last_r : 0);
        }
    }
    ring_push(&s->sal, sal, NULL);
    return score;
}

static void spectral_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    const struct spectral *s = (const struct spectral *)d;
    snprintf(buf, size,
             "value %.4g stands out in the spectrum of the last %d points: saliency %.1f times "
             "above its recent average",
             s->last_v, s->x.n, s->last_r);
}

static void spectral_fini(aios_ops_detector *d)
{
    struct spectral *s = (struct spectral *)d;
    ring_free(&s->x);
    ring_free(&s->sal);
    aios_free(s->re);
    aios_free(s->im);
    aios_free(s->amp);
    aios_free(s->tw_re);
    aios_free(s->tw_im);
    aios_free(s->rev);
}

static const struct detector_vt spectral_vt = {spectral_feed, spectral_reason, spectral_fini};

int detect_spectral_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    int N = (int)p[0];
    if (N & (N - 1))
        return aios_err_set(err, AIOS_EINVAL, "parameter window: %d is not a power of two", N);
    if ((int)p[1] >= N / 2)
        return aios_err_set(err, AIOS_EINVAL, "parameter extend: must be below window/2");
    struct spectral *s = detector_alloc(sizeof *s, "spectral_residual", &spectral_vt, p);
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    s->N = N;
    s->m = (int)p[1];
    s->q = (int)p[2];
    s->re = aios_calloc((size_t)N, sizeof(double));
    s->im = aios_calloc((size_t)N, sizeof(double));
    s->amp = aios_calloc((size_t)N, sizeof(double));
    s->tw_re = aios_calloc((size_t)N, sizeof(double));
    s->tw_im = aios_calloc((size_t)N, sizeof(double));
    s->rev = aios_calloc((size_t)N, sizeof(int));
    if (!s->re || !s->im || !s->amp || !s->tw_re || !s->tw_im || !s->rev ||
        ring_init(&s->x, N - s->m) || ring_init(&s->sal, (int)p[3])) {
        aios_ops_detector_destroy(&s->base);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    int bits = 0;
    while ((1 << bits) < N)
        bits++;
    for (int i = 0; i < N; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            if (i & (1 << b))
                r |= 1 << (bits - 1 - b);
        s->rev[i] = r;
        s->tw_re[i] = cos(-2 * M_PI * i / N);
        s->tw_im[i] = sin(-2 * M_PI * i / N);
    }
    *out = &s->base;
    return AIOS_OK;
}
