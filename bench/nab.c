/*
 * NAB harness: runs detectors over the Numenta Anomaly Benchmark corpus and
 * scores them exactly as NAB v1.1 does (src/ops/nab.c), printing one line per
 * detector next to the published scoreboard.
 *
 *   build/bench/nab [DIR] [--detector NAME] [--param k=v ...]
 *                   [--split odd|even] [--group NAME] [--nab-inputs]
 *                   [--tune k=v1,v2,... ...] [--holdout groups|oddeven]
 *
 * DIR defaults to $AIOS_DATA/nab, else AIOS_SOURCE_DIR/../shared/data/nab.
 * Without --detector every detector of the table runs (the ensemble too).
 *
 * Subsets: --split odd|even keeps the files with odd / even index (0-based,
 * in name order), --group keeps one data group ("realKnownCause"). A subset
 * is scored as a corpus of its own: its threshold is optimised on it and it
 * is normalised with its own null detector and perfect score (its windows).
 *
 * --nab-inputs gives the detector what NAB gives its detectors: each file's
 * minimum and maximum (lo=, hi=) and 1/5 of its probationary period (rest=).
 * Those are known only in hindsight; the option exists to check the cad
 * detector against NAB's published CAD OSE figure, not to score honestly.
 *
 * Held-out estimate (--holdout, with --detector and --tune): the detector
 * runs once per point of the grid (cartesian product of the --tune values);
 * for each fold (a data group, or the odd / even files) the grid point with
 * the best standard raw score on the other folds is chosen, the threshold of
 * each profile is optimised on the other folds, and the fold is scored with
 * both. The folds' raw scores are summed and normalised with the whole
 * corpus's null and perfect scores: no choice saw the scored files. A second
 * line keeps the held-out grid choice but optimises the threshold over the
 * whole corpus, as NAB does for every published detector.
 */
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    double s, fp, fn;
} published[] = {
    {"ARTime", 74.9, 65.1, 80.4},
    {"Numenta HTM", 70.5, 62.6, 75.2},
    {"CAD OSE", 69.9, 67.0, 73.2},
    {"earthgecko Skyline", 58.2, 46.2, 63.9},
    {"KNN CAD", 58.0, 43.4, 64.8},
    {"Relative Entropy", 54.6, 47.6, 58.8},
    {"Random Cut Forest", 51.7, 38.4, 59.7},
    {"Twitter ADVec", 47.1, 33.6, 53.5},
    {"Windowed Gaussian", 39.6, 20.9, 47.4},
    {"Etsy Skyline", 35.7, 27.1, 44.5},
    {"Bayesian Changepoint", 17.7, 3.2, 32.2},
    {"EXPoSE", 16.4, 3.2, 26.9},
    {"Random", 11.0, 1.2, 19.5},
    {"Null", 0.0, 0.0, 0.0},
};

#define MAX_KV 64
#define MAX_TUNE 8
#define MAX_VALUES 16
#define MAX_GRID 512

struct opts {
    const char *kv[MAX_KV];
    int nkv;
    int nab_inputs;
};

/* Runs detector `name` on every file; with nab_inputs, each file gets
 * lo, hi and rest from the file itself (see the header). */
static int run_scores(const struct aios_ops_nab_corpus *c, const char *name, const struct opts *o,
                      double ***out, struct aios_err *err)
{
    if (!o->nab_inputs)
        return aios_ops_nab_run(c, name, o->kv, o->nkv, out, err);
    double **s = calloc((size_t)c->nfiles, sizeof *s);
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int f = 0; f < c->nfiles; f++) {
        const struct aios_ops_series *se = &c->files[f].series;
        double lo = se->value[0], hi = se->value[0];
        for (size_t i = 0; i < se->n; i++) {
            lo = se->value[i] < lo ? se->value[i] : lo;
            hi = se->value[i] > hi ? se->value[i] : hi;
        }
        double prob = floor(0.15 * (double)se->n);
        if (prob > 750)
            prob = 750;
        char b1[64], b2[64], b3[64];
        const char *kv[MAX_KV + 3];
        int n = 0;
        for (int i = 0; i < o->nkv; i++)
            kv[n++] = o->kv[i];
        snprintf(b1, sizeof b1, "lo=%.17g", lo);
        snprintf(b2, sizeof b2, "hi=%.17g", hi);
        snprintf(b3, sizeof b3, "rest=%d", (int)(prob / 5.0) > 0 ? (int)(prob / 5.0) : 1);
        kv[n++] = b1;
        kv[n++] = b2;
        kv[n++] = b3;
        aios_ops_detector *d;
        int rc = aios_ops_detector_create(name, kv, n, &d, err);
        if (rc) {
            for (int g = 0; g < f; g++)
                aios_free(s[g]);
            free(s);
            return rc;
        }
        s[f] = aios_malloc((se->n ? se->n : 1) * sizeof(double));
        for (size_t i = 0; s[f] && i < se->n; i++)
            s[f][i] = aios_ops_detector_score(d, se->ts[i], se->value[i]);
        aios_ops_detector_destroy(d);
    }
    /* same allocation discipline as aios_ops_nab_run: arrays and table */
    double **t = aios_calloc((size_t)c->nfiles, sizeof *t);
    if (!t)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    memcpy(t, s, (size_t)c->nfiles * sizeof *t);
    free(s);
    *out = t;
    return AIOS_OK;
}

static int run_one(const struct aios_ops_nab_corpus *c, const char *name, const struct opts *o)
{
    struct aios_err err = {0};
    double **scores = NULL;
    double t0 = aios_time_s();
    if (run_scores(c, name, o, &scores, &err) != AIOS_OK) {
        fprintf(stderr, "nab: %s: %s\n", name, err.msg);
        return 1;
    }
    double t1 = aios_time_s();
    struct aios_ops_nab_score sc;
    if (aios_ops_nab_score_corpus(c, scores, &sc, &err) != AIOS_OK) {
        fprintf(stderr, "nab: scoring %s: %s\n", name, err.msg);
        aios_ops_nab_scores_free(c, scores);
        return 1;
    }
    printf("%-18s standard=%.1f low_fp=%.1f low_fn=%.1f   (raw %.3f; thresholds %.6g %.6g %.6g; "
           "detect %.1fs)\n",
           name, sc.score[0], sc.score[1], sc.score[2], sc.raw[0], sc.threshold[0], sc.threshold[1],
           sc.threshold[2], t1 - t0);
    fflush(stdout);
    aios_ops_nab_scores_free(c, scores);
    return 0;
}

/* ---- held-out estimate ---- */

struct tune {
    char key[64];
    const char *val[MAX_VALUES];
    int nval;
    char buf[512];
};

static int parse_tune(const char *arg, struct tune *t)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof t->key || strlen(eq + 1) >= sizeof t->buf)
        return -1;
    memcpy(t->key, arg, (size_t)(eq - arg));
    t->key[eq - arg] = 0;
    snprintf(t->buf, sizeof t->buf, "%s", eq + 1);
    t->nval = 0;
    for (char *p = t->buf; *p && t->nval < MAX_VALUES;) {
        t->val[t->nval++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = 0;
        p = comma + 1;
    }
    return t->nval > 0 ? 0 : -1;
}

/* Group of a file: its directory ("realKnownCause"). */
static int same_group(const char *a, const char *b)
{
    const char *sa = strchr(a, '/'), *sb = strchr(b, '/');
    size_t la = sa ? (size_t)(sa - a) : strlen(a), lb = sb ? (size_t)(sb - b) : strlen(b);
    return la == lb && memcmp(a, b, la) == 0;
}

static int holdout(const struct aios_ops_nab_corpus *c, const char *name, const struct opts *base,
                   const struct tune *tn, int ntune, int by_group)
{
    struct aios_err err = {0};
    int ngrid = 1;
    for (int i = 0; i < ntune; i++)
        ngrid *= tn[i].nval;
    if (ngrid > MAX_GRID) {
        fprintf(stderr, "nab: grid of %d points (at most %d)\n", ngrid, MAX_GRID);
        return 2;
    }
    double ***runs = calloc((size_t)ngrid, sizeof *runs);
    char(*label)[256] = calloc((size_t)ngrid, sizeof *label);
    int *fold = calloc((size_t)c->nfiles, sizeof *fold);
    char *sel = calloc((size_t)c->nfiles, 1);
    double **null = calloc((size_t)c->nfiles, sizeof *null);
    double **mixed = calloc((size_t)c->nfiles, sizeof *mixed);
    int rc = 1;
    if (!runs || !label || !fold || !sel || !null || !mixed)
        goto out;
    /* folds */
    int nfold = 0;
    for (int f = 0; f < c->nfiles; f++) {
        if (!by_group) {
            fold[f] = f % 2;
            nfold = 2;
            continue;
        }
        fold[f] = -1;
        for (int g = 0; g < f; g++)
            if (same_group(c->files[f].name, c->files[g].name))
                fold[f] = fold[g];
        if (fold[f] < 0)
            fold[f] = nfold++;
    }
    for (int f = 0; f < c->nfiles; f++) {
        null[f] = malloc((c->files[f].series.n + 1) * sizeof(double));
        if (!null[f])
            goto out;
        for (size_t i = 0; i < c->files[f].series.n; i++)
            null[f][i] = 0.5;
    }
    /* the grid */
    for (int g = 0; g < ngrid; g++) {
        struct opts o = *base;
        char kvbuf[MAX_TUNE][128];
        int rest = g, n = 0;
        label[g][0] = 0;
        for (int i = 0; i < ntune && o.nkv < MAX_KV; i++) {
            const char *v = tn[i].val[rest % tn[i].nval];
            rest /= tn[i].nval;
            snprintf(kvbuf[i], sizeof kvbuf[i], "%s=%s", tn[i].key, v);
            o.kv[o.nkv++] = kvbuf[i];
            n +=
                snprintf(label[g] + n, sizeof label[g] - (size_t)n, "%s%s", i ? " " : "", kvbuf[i]);
        }
        double t0 = aios_time_s();
        if (run_scores(c, name, &o, &runs[g], &err) != AIOS_OK) {
            fprintf(stderr, "nab: %s %s: %s\n", name, label[g], err.msg);
            goto out;
        }
        struct aios_ops_nab_score sc;
        if (aios_ops_nab_score_corpus(c, runs[g], &sc, &err) != AIOS_OK)
            goto fail;
        printf("grid %-40s standard=%.1f low_fp=%.1f low_fn=%.1f  (%.1fs)\n", label[g], sc.score[0],
               sc.score[1], sc.score[2], aios_time_s() - t0);
        fflush(stdout);
    }
    /* per fold: choose the grid point and thresholds on the other folds */
    double sum[AIOS_OPS_NAB_NPROFILES] = {0};
    int *choice = calloc((size_t)nfold, sizeof *choice);
    if (!choice)
        goto out;
    for (int k = 0; k < nfold; k++) {
        for (int f = 0; f < c->nfiles; f++)
            sel[f] = fold[f] != k;
        int best = 0;
        double best_raw = -1e300, th;
        for (int g = 0; g < ngrid; g++) {
            double raw;
            if (aios_ops_nab_raw(c, runs[g], sel, &aios_ops_nab_profiles[0], 1, &raw, &th, &err))
                goto fail2;
            if (raw > best_raw) {
                best_raw = raw;
                best = g;
            }
        }
        choice[k] = best;
        const char *fname = c->files[0].name;
        for (int f = 0; f < c->nfiles; f++)
            if (fold[f] == k) {
                fname = c->files[f].name;
                break;
            }
        printf("fold %d (%.*s): chose %s;", k,
               by_group ? (int)(strchr(fname, '/') ? strchr(fname, '/') - fname : 0) : 4,
               by_group ? fname : (k ? "odd " : "even"), label[best]);
        for (int p = 0; p < AIOS_OPS_NAB_NPROFILES; p++) {
            const struct aios_ops_nab_profile *pr = &aios_ops_nab_profiles[p];
            double raw;
            for (int f = 0; f < c->nfiles; f++)
                sel[f] = fold[f] != k;
            if (aios_ops_nab_raw(c, runs[best], sel, pr, 1, &raw, &th, &err))
                goto fail2;
            for (int f = 0; f < c->nfiles; f++)
                sel[f] = fold[f] == k;
            if (aios_ops_nab_raw(c, runs[best], sel, pr, 0, &raw, &th, &err))
                goto fail2;
            sum[p] += raw;
            printf(" %s: threshold %.6g raw %.3f", pr->short_name, th, raw);
        }
        printf("\n");
        for (int f = 0; f < c->nfiles; f++)
            if (fold[f] == k)
                mixed[f] = runs[best][f];
    }
    double norm[AIOS_OPS_NAB_NPROFILES];
    for (int p = 0; p < AIOS_OPS_NAB_NPROFILES; p++) {
        const struct aios_ops_nab_profile *pr = &aios_ops_nab_profiles[p];
        double nraw, th;
        if (aios_ops_nab_raw(c, null, NULL, pr, 1, &nraw, &th, &err))
            goto fail2;
        double perfect = c->nwindows * pr->tp_weight;
        norm[p] = 100.0 * (sum[p] - nraw) / (perfect - nraw);
    }
    printf("%-18s held-out (%s; grid and thresholds chosen on the other folds): standard=%.1f "
           "low_fp=%.1f low_fn=%.1f\n",
           name, by_group ? "leave one group out" : "odd/even files", norm[0], norm[1], norm[2]);
    struct aios_ops_nab_score sc;
    if (aios_ops_nab_score_corpus(c, mixed, &sc, &err))
        goto fail2;
    printf("%-18s held-out grid choice, corpus-optimised threshold (as NAB): standard=%.1f "
           "low_fp=%.1f low_fn=%.1f\n",
           name, sc.score[0], sc.score[1], sc.score[2]);
    rc = 0;
fail2:
    free(choice);
fail:
    if (rc)
        fprintf(stderr, "nab: %s\n", err.msg);
out:
    for (int g = 0; runs && g < ngrid; g++)
        if (runs[g])
            aios_ops_nab_scores_free(c, runs[g]);
    for (int f = 0; null && f < c->nfiles; f++)
        free(null[f]);
    free(runs);
    free(label);
    free(fold);
    free(sel);
    free(null);
    free(mixed);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: nab [DIR] [--detector NAME] [--param k=v ...] [--split odd|even] "
                    "[--group NAME] [--nab-inputs] [--tune k=v1,v2.. ...] "
                    "[--holdout groups|oddeven]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *det = NULL, *split = NULL, *group = NULL, *hold = NULL;
    struct opts o = {0};
    static struct tune tn[MAX_TUNE];
    int ntune = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--detector") == 0 && i + 1 < argc)
            det = argv[++i];
        else if (strcmp(argv[i], "--param") == 0 && i + 1 < argc && o.nkv < MAX_KV - MAX_TUNE)
            o.kv[o.nkv++] = argv[++i];
        else if (strcmp(argv[i], "--split") == 0 && i + 1 < argc)
            split = argv[++i];
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group = argv[++i];
        else if (strcmp(argv[i], "--holdout") == 0 && i + 1 < argc)
            hold = argv[++i];
        else if (strcmp(argv[i], "--tune") == 0 && i + 1 < argc && ntune < MAX_TUNE) {
            if (parse_tune(argv[++i], &tn[ntune++]))
                return usage();
        } else if (strcmp(argv[i], "--nab-inputs") == 0)
            o.nab_inputs = 1;
        else if (argv[i][0] == '-')
            return usage();
        else
            dir = argv[i];
    }
    if ((split && strcmp(split, "odd") && strcmp(split, "even")) ||
        (hold && (strcmp(hold, "groups") && strcmp(hold, "oddeven"))) || (hold && !det))
        return usage();
    char buf[4096];
    if (!dir) {
        const char *d = getenv("AIOS_DATA");
        if (d && *d)
            snprintf(buf, sizeof buf, "%s/nab", d);
        else
            snprintf(buf, sizeof buf, "%s", AIOS_SOURCE_DIR "/../shared/data/nab");
        dir = buf;
    }
    struct aios_ops_nab_corpus c;
    struct aios_err err = {0};
    if (aios_ops_nab_corpus_load(dir, &c, &err) != AIOS_OK) {
        fprintf(stderr, "nab: %s\n", err.msg);
        return 1;
    }
    /* a subset is a corpus of its own: keep the chosen files in place */
    int nall = c.nfiles;
    if (split || group) {
        int m = 0, nw = 0;
        for (int f = 0; f < nall; f++) {
            int keep = 1;
            if (split)
                keep = (f % 2 == 1) == (strcmp(split, "odd") == 0);
            if (group && keep)
                keep = strncmp(c.files[f].name, group, strlen(group)) == 0 &&
                       c.files[f].name[strlen(group)] == '/';
            if (keep) {
                struct aios_ops_nab_file tmp = c.files[m];
                c.files[m] = c.files[f];
                c.files[f] = tmp;
                nw += c.files[m].nwin;
                m++;
            }
        }
        c.nfiles = m;
        c.nwindows = nw;
    }
    size_t rows = 0;
    for (int f = 0; f < c.nfiles; f++)
        rows += c.files[f].series.n;
    printf("NAB corpus %s: %d files, %zu rows, %d windows%s%s%s%s\n\n", dir, c.nfiles, rows,
           c.nwindows, split ? ", split " : "", split ? split : "", group ? ", group " : "",
           group ? group : "");
    int rc = 0;
    if (hold) {
        rc = holdout(&c, det, &o, tn, ntune, strcmp(hold, "groups") == 0);
    } else if (det) {
        rc = run_one(&c, det, &o);
    } else {
        for (const struct aios_ops_detector_def *d = aios_ops_detector_defs; d->name; d++)
            rc |= run_one(&c, d->name, &o);
    }
    printf("\npublished scoreboard (NAB v1.1):\n");
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++)
        printf("%-20s standard=%.1f low_fp=%.1f low_fn=%.1f\n", published[i].name, published[i].s,
               published[i].fp, published[i].fn);
    c.nfiles = nall;
    aios_ops_nab_corpus_free(&c);
    return rc;
}
