/*
 * NAB harness: runs detectors over the Numenta Anomaly Benchmark corpus and
 * scores them exactly as NAB v1.1 does (src/ops/nab.c), printing one line per
 * detector next to the published scoreboard.
 *
 *   build/bench/nab [DIR] [--detector NAME] [--param k=v ...] [--files]
 *
 * DIR defaults to $AIOS_DATA/nab, else AIOS_SOURCE_DIR/../shared/data/nab.
 * Without --detector every detector of the table runs (the ensemble too).
 * --files prints each detector's per-file raw standard score contributions.
 */
#include "ops/ops.h"

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

static int run_one(const struct aios_ops_nab_corpus *c, const char *name, const char **kv, int nkv)
{
    struct aios_err err = {0};
    double **scores = NULL;
    double t0 = aios_time_s();
    if (aios_ops_nab_run(c, name, kv, nkv, &scores, &err) != AIOS_OK) {
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
           "detect "
           "%.1fs)\n",
           name, sc.score[0], sc.score[1], sc.score[2], sc.raw[0], sc.threshold[0], sc.threshold[1],
           sc.threshold[2], t1 - t0);
    fflush(stdout);
    aios_ops_nab_scores_free(c, scores);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *det = NULL;
    const char *kv[64];
    int nkv = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--detector") == 0 && i + 1 < argc)
            det = argv[++i];
        else if (strcmp(argv[i], "--param") == 0 && i + 1 < argc && nkv < 64)
            kv[nkv++] = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: nab [DIR] [--detector NAME] [--param k=v ...]\n");
            return 2;
        } else
            dir = argv[i];
    }
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
    size_t rows = 0;
    for (int f = 0; f < c.nfiles; f++)
        rows += c.files[f].series.n;
    printf("NAB corpus %s: %d files, %zu rows, %d windows\n\n", dir, c.nfiles, rows, c.nwindows);
    int rc = 0;
    if (det) {
        rc = run_one(&c, det, kv, nkv);
    } else {
        for (const struct aios_ops_detector_def *d = aios_ops_detector_defs; d->name; d++)
            rc |= run_one(&c, d->name, kv, nkv);
    }
    printf("\npublished scoreboard (NAB v1.1):\n");
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++)
        printf("%-20s standard=%.1f low_fp=%.1f low_fn=%.1f\n", published[i].name, published[i].s,
               published[i].fp, published[i].fn);
    aios_ops_nab_corpus_free(&c);
    return rc;
}
