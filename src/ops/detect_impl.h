/*
 * Private to the metric detectors (src/ops/detect*.c): the detector base
 * struct every model embeds first, its table of operations, and small shared
 * helpers (rolling windows, robust statistics, sample-interval estimation).
 */
#ifndef AIOS_OPS_DETECT_IMPL_H
#define AIOS_OPS_DETECT_IMPL_H

#include "ops/ops.h"

#include <math.h>
#include <stdio.h>

struct detector_vt {
    /* Scores the point (ts, v) given the past, then learns from it. */
    double (*feed)(aios_ops_detector *d, int64_t ts, double v);
    /* Explains the last point fed, for non-OK verdicts. */
    void (*reason)(const aios_ops_detector *d, char *buf, size_t size);
    /* Frees what the model owns (not d itself). */
    void (*fini)(aios_ops_detector *d);
};

struct aios_ops_detector {
    const struct aios_ops_detector_def *def;
    const struct detector_vt *vt;
    double warn, crit;
};

/* Allocates a model of `size` bytes (which starts with the base struct) and
 * fills the base; warn and crit are taken from params by name. NULL when
 * out of memory. */
void *detector_alloc(size_t size, const char *name, const struct detector_vt *vt,
                     const double *params);

/* The common verdict parameters, listed last in every table row. */
#define DETECT_VERDICT_PARAMS(w, c)                                                                \
    {"warn", (w), 0.0, 1.0, "score at or above which the verdict is WARN"},                        \
        {"crit", (c), 0.0, 1.0, "score at or above which the verdict is CRITICAL"},                \
    {                                                                                              \
        NULL, 0, 0, 0, NULL                                                                        \
    }

/* Monotone map of a deviation in sigmas (or any non-negative ratio) onto
 * [0, 1): 3 -> 0.9, 5 -> 0.96. Keeps the order of large deviations. */
static inline double score_from_z(double z)
{
    if (!(z > 0))
        return 0.0;
    if (z > 1e150)
        return 1.0;
    return z * z / (z * z + 1.0);
}

/* "1h", "2.5d", "45min", "30s" for a duration in seconds. */
const char *fmt_duration(double secs, char *buf, size_t size);
/* |z| for a reason: "4.2", or "3.1e+09" when huge. */
static inline const char *fmt_z(double z, char *buf, size_t size)
{
    z = fabs(z);
    snprintf(buf, size, z < 100 ? "%.1f" : "%.3g", z);
    return buf;
}
/* Writes "above"/"below". */
static inline const char *dir_word(double dev)
{
    return dev >= 0 ? "above" : "below";
}

/* Fixed-capacity ring of doubles. */
struct ring {
    double *v;
    int cap, n, head; /* head: index of the oldest */
};
int ring_init(struct ring *r, int cap);
void ring_free(struct ring *r);
/* Appends; when full, drops the oldest and returns 1 (its value in *old). */
int ring_push(struct ring *r, double x, double *old);
static inline double ring_at(const struct ring *r, int i) /* 0 = oldest */
{
    return r->v[(r->head + i) % r->cap];
}

/* Sorted multiset of the last `cap` values, for rolling median and MAD in
 * O(cap) per step. */
struct sorted_window {
    struct ring order; /* arrival order */
    double *sorted;
    int n;
};
int sw_init(struct sorted_window *w, int cap);
void sw_free(struct sorted_window *w);
void sw_push(struct sorted_window *w, double x);
double sw_median(const struct sorted_window *w);
/* Median absolute deviation from the median (not scaled). */
double sw_mad(const struct sorted_window *w);

/* Median of a[0..n) (reorders a). */
double median_inplace(double *a, int n);

/* Learns the sampling interval from the first timestamps (median of the
 * first positive gaps). */
struct interval_est {
    int64_t last;
    int started, n;
    double gaps[15];
    double interval; /* 0 until known */
};
void interval_feed(struct interval_est *e, int64_t ts);

/* Slow-moving scale of the raw values (exponentially weighted mean absolute
 * deviation). Residual scales are floored at a small fraction of it, so a
 * noise-free series does not turn rounding error into 1e9 sigmas. */
struct raw_scale {
    double mean, mad;
    long n;
};
static inline void raw_scale_feed(struct raw_scale *r, double v)
{
    double a = r->n < 100 ? 1.0 / (double)(r->n + 1) : 0.01;
    if (r->n == 0)
        r->mean = v;
    r->mad += a * (fabs(v - r->mean) - r->mad);
    r->mean += a * (v - r->mean);
    r->n++;
}
static inline double raw_scale_floor(const struct raw_scale *r)
{
    double f = 0.01 * r->mad;
    double g = 1e-6 * (fabs(r->mean) + 1.0);
    return f > g ? f : g;
}

/* Deterministic xorshift64* generator. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline double rng_uniform(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Constructors of the table (one per model file). */
int detect_wgauss_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_ewma_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_mad_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_levelshift_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_seasonal_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_holtwinters_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_spectral_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_forest_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_context_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_cad_create(const double *p, aios_ops_detector **out, struct aios_err *err);
int detect_ensemble_create(const double *p, aios_ops_detector **out, struct aios_err *err);

extern const struct aios_ops_detector_param detect_wgauss_params[];
extern const struct aios_ops_detector_param detect_ewma_params[];
extern const struct aios_ops_detector_param detect_mad_params[];
extern const struct aios_ops_detector_param detect_levelshift_params[];
extern const struct aios_ops_detector_param detect_seasonal_params[];
extern const struct aios_ops_detector_param detect_holtwinters_params[];
extern const struct aios_ops_detector_param detect_spectral_params[];
extern const struct aios_ops_detector_param detect_forest_params[];
extern const struct aios_ops_detector_param detect_context_params[];
extern const struct aios_ops_detector_param detect_cad_params[];
extern const struct aios_ops_detector_param detect_ensemble_params[];

#endif
