/*
 * ops: the operations layer of aios: alarms, log parsing, metric anomaly
 * detectors, correlation, diagnosis, tickets and the sandbox. Each part keeps
 * its declarations in its own marked block below.
 */
#ifndef AIOS_OPS_H
#define AIOS_OPS_H

#include "base/base.h"

/* ==== metric detectors (src/ops/detect*.c, src/ops/nab*.c) ================
 *
 * A detector is a small streaming model of one metric. It is created by name
 * with numeric parameters, is fed points (timestamp, value) one at a time in
 * time order, and answers each point with a score in [0, 1] (how anomalous
 * the point is, given only what came before it) and a verdict: OK, WARN or
 * CRITICAL, with a human-readable reason for the last two ("value 93.1 is
 * 4.2 sigma above the 1h mean 61.0"). The verdict comes from the score and
 * two parameters every detector takes, warn and crit (score levels).
 *
 * The NAB part scores detectors on the Numenta Anomaly Benchmark exactly as
 * NAB v1.1 does (nab/sweeper.py, nab/optimizer.py, nab/runner.py).
 */

enum aios_ops_verdict {
    AIOS_OPS_VERDICT_OK = 0,
    AIOS_OPS_VERDICT_WARN = 1,
    AIOS_OPS_VERDICT_CRITICAL = 2,
};
/* "OK", "WARN", "CRITICAL". */
const char *aios_ops_verdict_str(enum aios_ops_verdict v);

#define AIOS_OPS_REASON_MAX 192

struct aios_ops_detect_result {
    double score; /* [0, 1] */
    enum aios_ops_verdict verdict;
    char reason[AIOS_OPS_REASON_MAX]; /* "" when the verdict is OK */
};

typedef struct aios_ops_detector aios_ops_detector;

/* One numeric parameter of a detector: --param NAME=VALUE. */
struct aios_ops_detector_param {
    const char *name;
    double def, min, max;
    const char *doc;
};

#define AIOS_OPS_DETECTOR_MAX_PARAMS 16

/* A row of the detector table. create takes the parameter values in the
 * order of params (all of them, defaults filled in and ranges checked by
 * aios_ops_detector_create) and returns a new detector. */
struct aios_ops_detector_def {
    const char *name;
    const char *doc;
    const struct aios_ops_detector_param *params; /* terminated by a NULL name */
    int (*create)(const double *params, aios_ops_detector **out, struct aios_err *err);
};

/* The table of detectors, terminated by a NULL name; the parameters warn and
 * crit (verdict levels) are listed in every row's params. */
extern const struct aios_ops_detector_def aios_ops_detector_defs[];
const struct aios_ops_detector_def *aios_ops_detector_find(const char *name);

/* Creates the detector `name` with parameters given as "key=value" strings
 * (unknown keys, bad numbers and values outside the parameter's range are
 * AIOS_EINVAL naming the parameter). *out is owned by the caller. */
int aios_ops_detector_create(const char *name, const char *const *kv, int nkv,
                             aios_ops_detector **out, struct aios_err *err);
void aios_ops_detector_destroy(aios_ops_detector *d);
const char *aios_ops_detector_name(const aios_ops_detector *d);
/* Feeds one point. Timestamps are Unix seconds. Points are meant to come
 * in time order; repeated or out-of-order timestamps (NAB has a few) are
 * scored as they come. A non-finite value is AIOS_EINVAL and leaves the
 * model unchanged. */
int aios_ops_detector_feed(aios_ops_detector *d, int64_t ts, double value,
                           struct aios_ops_detect_result *out, struct aios_err *err);
/* Score only, without verdict or reason (the benchmark path). */
double aios_ops_detector_score(aios_ops_detector *d, int64_t ts, double value);

/* A metric series as read from a CSV file "timestamp,value" with a header
 * line (NAB's format). Timestamps: "YYYY-MM-DD HH:MM:SS[.frac]" (or with
 * 'T' and a trailing 'Z'), or Unix seconds. */
struct aios_ops_series {
    size_t n;
    int64_t *ts;
    double *value;
};
#define AIOS_OPS_SERIES_MAX_ROWS 20000000
int aios_ops_series_read_csv(const char *path, struct aios_ops_series *out, struct aios_err *err);
int aios_ops_series_parse_csv(const char *text, size_t len, struct aios_ops_series *out,
                              struct aios_err *err);
void aios_ops_series_free(struct aios_ops_series *s);
/* Parses a timestamp as above into Unix seconds. */
int aios_ops_time_parse(const char *s, size_t len, int64_t *out);
/* "YYYY-MM-DD HH:MM:SS" (UTC) into buf (>= 20 bytes). */
const char *aios_ops_time_fmt(int64_t ts, char *buf, size_t size);

/* ---- NAB scoring ---- */

struct aios_ops_nab_profile {
    const char *name;       /* "standard", "reward_low_FP_rate", "reward_low_FN_rate" */
    const char *short_name; /* "standard", "low_fp", "low_fn" */
    double tp_weight, fp_weight, fn_weight;
};
#define AIOS_OPS_NAB_NPROFILES 3
extern const struct aios_ops_nab_profile aios_ops_nab_profiles[AIOS_OPS_NAB_NPROFILES];

/* NAB's scaled sigmoid of a relative position (-1 = left edge of a window,
 * 0 = right edge, > 0 past it; -1 beyond 3). */
double aios_ops_nab_scaled_sigmoid(double rel);

/* One scored point of the sweep: the detector's score, the point's weighted
 * NAB value if it were a detection (TP inside a window, FP outside) and the
 * window it belongs to (a corpus-wide index, -1 none). Points in the
 * probationary period are not emitted. */
struct aios_ops_nab_point {
    double score;
    double sweep;
    int window;
};

/* Sweeps one file (NAB calcSweepScore): ts[0..n) in file order, windows
 * win[0..nwin) as [start, end] timestamps that occur in ts, numbered from
 * window_base in the output. Writes at most n points to out and returns how
 * many (the points past the probationary period), or a negative status. */
long aios_ops_nab_sweep_file(const int64_t *ts, const double *scores, size_t n,
                             const int64_t (*win)[2], int nwin, int window_base,
                             double probation_pct, const struct aios_ops_nab_profile *p,
                             struct aios_ops_nab_point *out);

/* The best raw score over all thresholds (NAB calcScoreByThreshold and
 * optimizeThreshold) of points from one or more files; nwindows bounds the
 * window indices. Sorts pts. Detecting every point with score >= *threshold
 * gives *raw. */
int aios_ops_nab_optimize(struct aios_ops_nab_point *pts, size_t n, int nwindows,
                          const struct aios_ops_nab_profile *p, double *raw, double *threshold,
                          struct aios_err *err);

/* The NAB corpus: data files and their anomaly windows. */
struct aios_ops_nab_file {
    char *name; /* "realKnownCause/nyc_taxi.csv" */
    struct aios_ops_series series;
    int nwin;
    int64_t (*win)[2];
};
struct aios_ops_nab_corpus {
    int nfiles;
    struct aios_ops_nab_file *files;
    int nwindows; /* all windows of the label file: the perfect detector's TPs */
};
/* Loads DIR/labels/combined_windows.json and every DIR/data/<file> it names. */
int aios_ops_nab_corpus_load(const char *dir, struct aios_ops_nab_corpus *c, struct aios_err *err);
void aios_ops_nab_corpus_free(struct aios_ops_nab_corpus *c);

struct aios_ops_nab_score {
    double score[AIOS_OPS_NAB_NPROFILES];     /* normalised: null 0, perfect 100 */
    double raw[AIOS_OPS_NAB_NPROFILES];       /* before normalisation */
    double threshold[AIOS_OPS_NAB_NPROFILES]; /* the optimised threshold */
};
/* Scores per-point detector outputs scores[f][i] (one array per corpus file)
 * with every profile, normalised against the null detector (constant 0.5). */
int aios_ops_nab_score_corpus(const struct aios_ops_nab_corpus *c, double *const *scores,
                              struct aios_ops_nab_score *out, struct aios_err *err);
/* Runs detector `name` (with "key=value" parameters) over every corpus file,
 * fresh per file; scores[f] are new arrays (aios_free each, then scores). */
int aios_ops_nab_run(const struct aios_ops_nab_corpus *c, const char *name, const char *const *kv,
                     int nkv, double ***scores, struct aios_err *err);
void aios_ops_nab_scores_free(const struct aios_ops_nab_corpus *c, double **scores);

/* ==== end of metric detectors ============================================ */

#endif
