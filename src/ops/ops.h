/*
 * ops: the operations layer of aios — alarms, log parsing, metric
 * detectors, correlation, diagnosis, tickets, script review, sandbox.
 *
 * This header is shared by the parts of the module; each part keeps its
 * declarations in its own marked block below.
 */
#ifndef AIOS_OPS_H
#define AIOS_OPS_H

#include "base/base.h"

/* ======================================================================
 * Log parsing (src/ops/logparse_*.c, src/ops/drain.c)
 *
 * An online template miner of the Drain family. Each log message (the
 * content part of a line) is cut to a bounded size, its variable parts
 * (numbers, IPs, hex, UUIDs, MACs, paths, URLs, dates/times, ids such as
 * blk_123, versions, and any user PCRE2 regexes) are masked to "<*>", it
 * is split into whitespace tokens, and it walks a fixed-depth tree: the
 * first level keys on the token count, the next depth-2 levels on the
 * leading tokens (tokens with a digit or a mask go to a "<*>" child). In
 * the leaf it joins the most similar cluster whose similarity reaches the
 * threshold, and the cluster's template keeps the tokens they share, with
 * "<*>" where they differ; otherwise it starts a new cluster. Similarity
 * is Drain's (share of equal tokens) except that masked tokens with only
 * punctuation around them ("<*>:") are not agreement, an exact masked
 * match always joins, and two key=value tokens with different keys keep
 * messages apart (see drain.c).
 *
 * Bounds (every one is an option below):
 *   - a message longer than max_line bytes is cut to max_line bytes (at a
 *     UTF-8 character boundary) before masking;
 *   - a message with more than max_tokens tokens keeps its first
 *     max_tokens - 1 tokens and a last token "<*>" that stands for the rest;
 *   - at most max_clusters clusters: once they exist, a message that would
 *     start a new cluster joins the most similar cluster of its leaf
 *     whatever the threshold, or, when the leaf is empty, the overflow
 *     cluster (template "<*>"), so the total is at most max_clusters + 1;
 *   - a tree node has at most max_children children; later distinct tokens
 *     share its "<*>" child.
 * Memory is then bounded by about max_clusters * (3 * max_line + 17 *
 * max_tokens + 64 * depth) bytes plus fixed scratch of about 30 * max_line
 * bytes. Nothing grows with the number of lines parsed.
 * ====================================================================== */

/* Options of a parser; start from aios_ops_drain_opts_default(). */
struct aios_ops_drain_opts {
    double sim_threshold; /* 0..1; a message joins a cluster at similarity >= this (0.5) */
    int depth;            /* tree depth, >= 3: length level + depth-2 token levels (4) */
    int max_children;     /* children per tree node (100) */
    int max_clusters;     /* cluster cap (20000) */
    int max_line;         /* bytes of a message kept (4096) */
    int max_tokens;       /* tokens of a message kept (256) */
    bool builtin_masks;   /* the hand-written variable scanner (true) */
    /* Extra PCRE2 patterns; every match is replaced by "<*>". They run on
     * the text after the built-in masks (so they see "<*>" where those
     * matched). Borrowed for the call to create only. */
    const char *const *masks;
    int nmasks;
};
void aios_ops_drain_opts_default(struct aios_ops_drain_opts *o);

typedef struct aios_ops_drain aios_ops_drain;

/* Creates a parser. AIOS_EINVAL names a bad option or a mask that does not
 * compile. The parser is not thread-safe; use one per thread. */
int aios_ops_drain_create(const struct aios_ops_drain_opts *o, aios_ops_drain **out,
                          struct aios_err *err);
void aios_ops_drain_destroy(aios_ops_drain *d);

/* Parses one message (bytes, no NUL needed; a trailing CR/LF and outer
 * whitespace are ignored) and returns its cluster id (>= 0; ids are
 * dense and stable: a cluster keeps its id while its template widens),
 * or AIOS_ENOMEM. An empty message gets the cluster of the empty template. */
int aios_ops_drain_add(aios_ops_drain *d, const char *msg, size_t len);

/* Number of clusters so far (ids are 0 .. count-1). */
int aios_ops_drain_count(const aios_ops_drain *d);
/* The template of cluster id, tokens joined by single spaces; owned by the
 * parser and valid until the next add. NULL for a bad id. */
const char *aios_ops_drain_template(const aios_ops_drain *d, int id);
/* Messages that joined cluster id. */
uint64_t aios_ops_drain_size(const aios_ops_drain *d, int id);

/* The masking step alone (for tests and tools): writes the masked message
 * (tokens joined by single spaces) into out (at most cap-1 bytes, always
 * terminated) and returns its length. */
size_t aios_ops_drain_mask(aios_ops_drain *d, const char *msg, size_t len, char *out, size_t cap);

/* ---- log line formats ------------------------------------------------ */

/* A loghub-style header format such as "<Date> <Time> <Level>: <Content>":
 * <Name> is a field (a lazy match), the text between fields is a regular
 * expression in which runs of spaces match any run of whitespace, and the
 * whole line must match. The field named Content is the message. */
typedef struct aios_ops_logfmt aios_ops_logfmt;
int aios_ops_logfmt_compile(const char *format, aios_ops_logfmt **out, struct aios_err *err);
void aios_ops_logfmt_free(aios_ops_logfmt *f);
/* Extracts the message of one line (outer whitespace and CR/LF ignored).
 * Returns 1 and points *msg and *msg_len into line when the line matches, 0
 * when it does not (then *msg is the trimmed whole line). */
int aios_ops_logfmt_content(aios_ops_logfmt *f, const char *line, size_t len, const char **msg,
                            size_t *msg_len);

/* ---- evaluation against labelled logs ------------------------------- */

/* Grouping accuracy as the loghub benchmark (logparser's evaluator)
 * defines it: a line counts as correct when the set of lines sharing its
 * predicted group equals the set sharing its true group; GA = correct / n.
 * truth[i] and pred[i] are group numbers of line i (any non-negative ints;
 * truth < 0 marks a line without ground truth, left out as the evaluator
 * drops empty EventIds). Returns GA in [0,1], or -1 when out of memory or
 * no line has ground truth. */
double aios_ops_logeval_ga(const int *truth, const int *pred, size_t n);

/* The loghub 2k benchmark layout (see ../shared/data/loghub/README.md):
 * one system's settings, its raw lines and their labels. */
struct aios_ops_loghub {
    char *log_format; /* settings.json "log_format" */
    char **regex;     /* settings.json "regex" */
    int nregex;
    double st;           /* similarity threshold used for the published run */
    int depth;           /* tree depth used for the published run */
    double published_ga; /* Drain's GA from published.csv, or -1 */
    size_t n;            /* lines */
    const char **lines;  /* line i (no line end), pointing into raw */
    size_t *line_len;
    int *truth;       /* EventId of line i as a number, -1 when empty */
    char **truth_tpl; /* EventTemplate of line i */
    int ntruth_groups;
    char *raw;
};
/* Loads DIR/settings.json's entry for sys, DIR/published.csv and the files
 * of DIR/sys. Errors name the file. Free with aios_ops_loghub_free. */
int aios_ops_loghub_load(const char *dir, const char *sys, struct aios_ops_loghub *h,
                         struct aios_err *err);
void aios_ops_loghub_free(struct aios_ops_loghub *h);
/* The systems settings.json lists, in its order (free each and the array
 * with aios_free). */
int aios_ops_loghub_systems(const char *dir, char ***names, int *n, struct aios_err *err);

/* ======================================================================
 * end of log parsing
 * ====================================================================== */

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
/* Raw (unnormalised) score of the files f with sel[f] != 0 (every file when
 * sel is NULL) under profile p: at the best threshold, returned in
 * *threshold, when optimise is nonzero; else at the given *threshold (points
 * scoring at or above it are detections). For held-out evaluation. */
int aios_ops_nab_raw(const struct aios_ops_nab_corpus *c, double *const *scores, const char *sel,
                     const struct aios_ops_nab_profile *p, int optimise, double *raw,
                     double *threshold, struct aios_err *err);
/* Runs detector `name` (with "key=value" parameters) over every corpus file,
 * fresh per file; scores[f] are new arrays (aios_free each, then scores). */
int aios_ops_nab_run(const struct aios_ops_nab_corpus *c, const char *name, const char *const *kv,
                     int nkv, double ***scores, struct aios_err *err);
void aios_ops_nab_scores_free(const struct aios_ops_nab_corpus *c, double **scores);

/* ==== end of metric detectors ============================================ */

/* ======================================================================
 * Alarms and incidents (src/ops/alarms.c, src/ops/incidents.c)
 *
 * Intake: POST /api/v1/alarms (and aios_ops_alarms_post) takes either a
 * Prometheus Alertmanager webhook payload (version "4": receiver, status,
 * alerts[] with status, labels, annotations, startsAt, endsAt,
 * generatorURL, fingerprint; groupLabels, commonLabels, externalURL,
 * groupKey...) or generic alarms: one object {source, name, severity,
 * status, labels, annotations, starts_at, ends_at, fingerprint, url} or
 * {"alarms": [such objects]}. The whole payload is validated first (an
 * error names the field: "alerts[3].labels: expected an object, got a
 * string") and then applied in one store transaction, so a payload is
 * stored entirely or not at all.
 *
 * Identity: an alarm is its label set. The fingerprint is Alertmanager's
 * (FNV-1a 64 over the labels sorted by name, each name and value followed
 * by the byte 0xff, as 16 hex digits); Alertmanager's own is kept when it
 * sends one, and generic alarms get it computed from their labels plus
 * alertname = name. So the same alert from either path is one alarm.
 *
 * Deduplication: at most one firing alarm per fingerprint (the schema
 * enforces it). A firing alarm that is already firing is updated (count,
 * last received, annotations, severity); a resolved one closes the firing
 * alarm of its fingerprint; a resolved one without a firing match is kept
 * as a resolved record once (repeats with the same start time update it).
 *
 * Grouping: a new alarm joins the open incident of its group key: the
 * values of the grouping labels (group_by, default "alertname,cluster,
 * service"; a missing label is left out). An incident stays open while any
 * of its alarms fires and for window_ms (default 10 minutes) after the last
 * alarm touched it; then it closes (closed_at = last touch + window), and
 * the next alarm of the group opens a new incident. Closing is applied
 * lazily, at each intake and listing, with the time of that call.
 * ====================================================================== */

#include "store/store.h"

#define AIOS_OPS_GROUP_BY_DEFAULT "alertname,cluster,service"
#define AIOS_OPS_INCIDENT_WINDOW_MS_DEFAULT ((int64_t)10 * 60 * 1000)

/* Bounds on one payload (the HTTP body limit comes first). */
#define AIOS_OPS_ALARMS_MAX 1000      /* alarms per payload */
#define AIOS_OPS_ALARM_MAX_LABELS 64  /* labels (and annotations) per alarm */
#define AIOS_OPS_ALARM_MAX_KEY 256    /* bytes of a label or annotation name */
#define AIOS_OPS_ALARM_MAX_LABEL 4096 /* bytes of a label value, name, source, URL */
#define AIOS_OPS_ALARM_MAX_TEXT 65536 /* bytes of an annotation value */
#define AIOS_OPS_GROUP_BY_MAX 16      /* grouping labels */

struct aios_ops_alarm_opts {
    const char *group_by; /* comma-separated label names; NULL/"" = the default */
    int64_t window_ms;    /* <= 0: the default */
    int64_t now_ms;       /* the time of the call; 0 = the wall clock (tests set it) */
};

/* One validated alarm of a payload. Strings borrow from the payload JSON
 * (or the batch); labels is the alarm's full label set. */
struct aios_ops_alarm {
    const char *source, *name, *status, *severity, *generator_url;
    json_t *labels, *annotations; /* owned by the batch */
    char fingerprint[65];
    int64_t starts_ms, ends_ms; /* ends_ms 0 = none */
};

struct aios_ops_alarm_batch {
    const char *kind; /* "alertmanager" or "generic" */
    int n;
    struct aios_ops_alarm *alarms;
};

/* Validates a payload into b (which borrows from body: keep body alive).
 * AIOS_EINVAL with err->msg "FIELD: problem" (FIELD a path such as
 * alerts[3].labels, or "body"), AIOS_ELIMIT past the bounds above. Free with
 * aios_ops_alarm_batch_free (also after a failure). */
int aios_ops_alarm_parse(json_t *body, struct aios_ops_alarm_batch *b, struct aios_err *err);
void aios_ops_alarm_batch_free(struct aios_ops_alarm_batch *b);

/* What intake did with alarm i of the batch. */
struct aios_ops_intake_item {
    int64_t alarm_id, incident_id;
    const char *action; /* "created", "updated", "resolved", "resolved_new", "repeat" */
};

/* Applies a validated batch in one transaction (nested in the caller's,
 * if any). items has room for b->n entries (may be NULL). On failure
 * nothing of the batch is stored. */
int aios_ops_alarm_intake(aios_store *st, const struct aios_ops_alarm_batch *b,
                          const struct aios_ops_alarm_opts *o, struct aios_ops_intake_item *items,
                          struct aios_err *err);

/* Parse + intake + the reply {"kind", "accepted", "created", "updated",
 * "resolved", "alarms": [{id, fingerprint, status, incident_id, action}]}
 * as a new JSON value. Returns AIOS_EINVAL/AIOS_ELIMIT for a bad payload
 * (nothing stored), other codes for store failures. */
int aios_ops_alarms_post(aios_store *st, json_t *body, const struct aios_ops_alarm_opts *o,
                         json_t **out, struct aios_err *err);

/* Listings as JSON arrays (new references), newest first. status may be
 * NULL; limit <= 0 means all. Incident listing first closes stale
 * incidents (at o->now_ms). */
int aios_ops_alarms_list_json(aios_store *st, const char *status, int64_t incident_id,
                              int64_t limit, json_t **out, struct aios_err *err);
int aios_ops_incidents_list_json(aios_store *st, const char *status, int64_t limit,
                                 const struct aios_ops_alarm_opts *o, json_t **out,
                                 struct aios_err *err);
/* One incident with its alarms ("alarms": [...]); AIOS_ENOTFOUND. */
int aios_ops_incident_get_json(aios_store *st, int64_t id, const struct aios_ops_alarm_opts *o,
                               json_t **out, struct aios_err *err);
/* JSON of one stored alarm / incident (new references; NULL when out of memory). */
json_t *aios_ops_alarm_to_json(const struct aios_store_alarm *a);
json_t *aios_ops_incident_to_json(const struct aios_store_incident *inc);

/* Alertmanager's fingerprint of a label set (an object of strings) into
 * hex (17 bytes). */
void aios_ops_alarm_fingerprint(const json_t *labels, char hex[17]);
/* The group key (canonical JSON of the grouping labels present) of a
 * label set; new string (aios_free), NULL when out of memory. */
char *aios_ops_alarm_group_key(const json_t *labels, const char *group_by);
/* Checks a group_by list ("a,b,c": label names, 1..16 of them). */
int aios_ops_alarm_group_by_check(const char *group_by, struct aios_err *err);
/* RFC 3339 time ("2026-11-29T09:00:00.123Z", "...+02:00") to Unix epoch ms.
 * Times before 1970 (Go's zero time "0001-01-01T00:00:00Z" that
 * Alertmanager sends for "no end") give *ms = 0. AIOS_EINVAL when malformed. */
int aios_ops_rfc3339_parse(const char *s, int64_t *ms);
/* Maps a severity word to "critical", "error", "warning" or "info"
 * (critical/fatal/emergency/alert/page/p1, error/major/high/p2,
 * warning/warn/minor/medium/p3, info/low/notice/none/ok/p4/p5, any case);
 * NULL for anything else. */
const char *aios_ops_severity_norm(const char *s);
/* 3 critical, 2 error, 1 warning, 0 info, -1 unknown. */
int aios_ops_severity_rank(const char *s);

/* ======================================================================
 * end of alarms and incidents
 * ====================================================================== */

/* ======================================================================
 * Checks catalogue (src/ops/checks.c, src/ops/checks_yaml.c)
 *
 * A check says what to judge and how: a metric (a name or PromQL
 * expression) or a log pattern (a template as the log parser writes it,
 * "Out of memory: Killed process <*>", judged by its count per interval),
 * the detector and its parameters, the severity of a finding, the runbook
 * an operator (or the diagnosis chain) follows, and labels for the alarms
 * it raises. Checks live in files under DATA_DIR/checks (*.yaml, *.yml,
 * *.json), each holding {"checks": [...]}, a list, or one check. Every
 * field is validated; an error names the file and the field
 * ("checks/host.yaml: checks[2].params.alpha: 7 is outside [1e-05, 1] for
 * detector ewma"). A bad file is reported and skipped as a whole; the other
 * files still load. docs/checks.md describes the fields; `aios checks init`
 * writes an example catalogue.
 * ====================================================================== */

#define AIOS_OPS_CHECKS_FILE_MAX ((size_t)1 << 20) /* bytes of one checks file */
#define AIOS_OPS_CHECKS_MAX 10000                  /* checks in a catalogue */
#define AIOS_OPS_CHECKS_MAX_FILES 1000             /* files in the directory */

struct aios_ops_check {
    char *file; /* file it came from (as given to the loader) */
    const char *name;
    json_t *json; /* normalised: every field, defaults filled in */
};

struct aios_ops_check_problem {
    char *file;
    char *message; /* "FIELD: problem" or a parse error with line and column */
};

struct aios_ops_checks {
    int n;
    struct aios_ops_check *checks;
    int nproblems;
    struct aios_ops_check_problem *problems;
};

/* Validates the checks of one file's text (YAML, or JSON when name ends in
 * .json) into a new array of normalised checks. Errors name the field. */
int aios_ops_checks_parse(const char *name, const char *text, size_t len, json_t **out,
                          struct aios_err *err);
/* Adds the checks of one file to c. A bad file adds nothing and returns
 * the error ("FILE: FIELD: problem"); a name already in c is an error. */
int aios_ops_checks_load_file(struct aios_ops_checks *c, const char *path, struct aios_err *err);
/* Loads every *.yaml, *.yml and *.json of dir in name order into c (zeroed
 * first). Bad files become problems and the rest load; a missing dir is an
 * empty catalogue. Errors only for an unreadable directory or no memory. */
int aios_ops_checks_load_dir(const char *dir, struct aios_ops_checks *c, struct aios_err *err);
void aios_ops_checks_free(struct aios_ops_checks *c);
/* {"checks": [...], "problems": [{"file", "message"}]} (new reference). */
json_t *aios_ops_checks_to_json(const struct aios_ops_checks *c);
/* Writes the example catalogue to dir/examples.yaml (creating dir);
 * AIOS_EEXIST unless force when the file exists. path gets the file. */
int aios_ops_checks_init(const char *dir, bool force, char *path, size_t size,
                         struct aios_err *err);
/* The example catalogue (YAML text). */
extern const char aios_ops_checks_example[];

/* ======================================================================
 * end of checks catalogue
 * ====================================================================== */

#endif
