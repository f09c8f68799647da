/*
 * NAB conformance: the windowed Gaussian detector and the NAB scorer
 * reproduce NAB v1.1's published figures from ../shared/data/nab.
 *
 * 1. Per point: the detector's anomaly_score equals NAB's stored output for
 *    the 7 realKnownCause files (results/windowedGaussian/...). NAB wrote
 *    12 significant digits, so the tolerance is 1e-11 (scores are in [0,1]).
 * 2. Per point: NAB's S(t) column of each profile, the point's share of the
 *    file's score at the optimised threshold (1.0 for every profile): a
 *    window's share (its best detection, or -fn weight when missed) on its
 *    first row, each false positive's weighted sigmoid on its row, 0
 *    elsewhere. Tolerance 1e-10 (12-digit values of magnitude <= 2).
 * 3. Corpus: the normalised scores over all 58 files are the published
 *    39.6 / 20.9 / 47.4 within 1 point (final_results.json, full precision
 *    39.6495 / 20.8680 / 47.4100; we reproduce them to ~1e-6 when NAB's own
 *    12-digit rounding of stored scores is applied, which nab.c does).
 * Runs in about a second; no subset needed.
 */
#include "ops/ops.h"
#include "test.h"

static const char *const rkc[] = {"ambient_temperature_system_failure",
                                  "cpu_utilization_asg_misconfiguration",
                                  "ec2_request_latency_system_failure",
                                  "machine_temperature_system_failure",
                                  "nyc_taxi",
                                  "rogue_agent_key_hold",
                                  "rogue_agent_key_updown"};

/* Splits a CSV line into at most max fields (in place). */
static int split(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

/* NAB's stored score (12 significant digits) reaches the threshold 1.0. */
static int detected(double score)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.12g", score);
    return strtod(buf, NULL) >= 1.0;
}

static void check_reference_file(const char *nab, const struct aios_ops_nab_corpus *c,
                                 double *const *scores, const char *base)
{
    char path[4096], name[256];
    snprintf(name, sizeof name, "realKnownCause/%s.csv", base);
    int fi = -1;
    for (int f = 0; f < c->nfiles; f++)
        if (strcmp(c->files[f].name, name) == 0)
            fi = f;
    CHECK_MSG(fi >= 0, "%s not in the corpus", name);
    if (fi < 0)
        return;
    const struct aios_ops_nab_file *fl = &c->files[fi];
    snprintf(path, sizeof path,
             "%s/results/windowedGaussian/realKnownCause/windowedGaussian_%s.csv", nab, base);
    char *text;
    size_t len;
    struct aios_err err = {0};
    CHECK_MSG(aios_read_file(path, (size_t)64 << 20, &text, &len, &err) == AIOS_OK, "%s", err.msg);
    if (!text)
        return;
    /* columns: timestamp,value,anomaly_score,label,S(t)_low_FP,S(t)_low_FN,S(t)_standard */
    const int col_of_profile[AIOS_OPS_NAB_NPROFILES] = {6, 4, 5};
    struct aios_ops_nab_point *pts = aios_malloc(fl->series.n * sizeof *pts);
    double *sweep[AIOS_OPS_NAB_NPROFILES];
    for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++) {
        const struct aios_ops_nab_profile *p = &aios_ops_nab_profiles[k];
        sweep[k] = aios_calloc(fl->series.n, sizeof(double));
        long m = aios_ops_nab_sweep_file(fl->series.ts, scores[fi], fl->series.n,
                                         (const int64_t(*)[2])fl->win, fl->nwin, 0, 0.15, p, pts);
        size_t off = fl->series.n - (size_t)m; /* probationary rows */
        for (int w = 0; w < fl->nwin; w++) {
            double best = -p->fn_weight;
            for (long i = 0; i < m; i++)
                if (pts[i].window == w && detected(pts[i].score) && pts[i].sweep > best)
                    best = pts[i].sweep;
            for (size_t i = 0; i < fl->series.n; i++)
                if (fl->series.ts[i] == fl->win[w][0]) {
                    sweep[k][i] = best;
                    break;
                }
        }
        for (long i = 0; i < m; i++)
            if (pts[i].window < 0 && detected(pts[i].score))
                sweep[k][off + (size_t)i] = pts[i].sweep;
    }
    size_t row = 0, bad_score = 0, bad_sweep = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "timestamp", 9) == 0)
            continue;
        char *f[8];
        if (split(line, f, 8) != 7 || row >= fl->series.n) {
            CHECK_MSG(0, "%s: row %zu malformed or extra", base, row);
            break;
        }
        double ref;
        if (aios_parse_double(f[2], &ref) != AIOS_OK || fabs(ref - scores[fi][row]) > 1e-11)
            bad_score++;
        for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++)
            if (aios_parse_double(f[col_of_profile[k]], &ref) != AIOS_OK ||
                fabs(ref - sweep[k][row]) > 1e-10)
                bad_sweep++;
        row++;
    }
    CHECK_MSG(row == fl->series.n, "%s: %zu reference rows, %zu points", base, row, fl->series.n);
    CHECK_MSG(bad_score == 0, "%s: %zu anomaly scores differ from NAB's", base, bad_score);
    CHECK_MSG(bad_sweep == 0, "%s: %zu S(t) values differ from NAB's", base, bad_sweep);
    for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++)
        aios_free(sweep[k]);
    aios_free(pts);
    aios_free(text);
}

static void test_windowed_gaussian_nab(void)
{
    const char *data = test_data();
    char nab[4096];
    snprintf(nab, sizeof nab, "%s/nab", data);
    struct aios_ops_nab_corpus c;
    struct aios_err err = {0};
    int rc = aios_ops_nab_corpus_load(nab, &c, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    if (rc)
        return;
    CHECK_EQ_INT(c.nfiles, 58);
    CHECK_EQ_INT(c.nwindows, 116);
    double **scores;
    CHECK_EQ_INT(aios_ops_nab_run(&c, "windowed_gaussian", NULL, 0, &scores, &err), AIOS_OK);
    for (size_t i = 0; i < sizeof rkc / sizeof rkc[0]; i++)
        check_reference_file(nab, &c, scores, rkc[i]);
    struct aios_ops_nab_score sc;
    CHECK_EQ_INT(aios_ops_nab_score_corpus(&c, scores, &sc, &err), AIOS_OK);
    const double published[3] = {39.649523496077585, 20.86798582474138, 47.4100271583046};
    for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++) {
        fprintf(stderr, "  %-20s %.4f (published %.4f), threshold %.6g\n",
                aios_ops_nab_profiles[k].name, sc.score[k], published[k], sc.threshold[k]);
        CHECK_NEAR(sc.score[k], published[k], 1.0);
    }
    /* the raw standard total NAB printed: -24.0131054891 */
    CHECK_NEAR(sc.raw[0], -24.0131054891, 1e-6);
    aios_ops_nab_scores_free(&c, scores);
    aios_ops_nab_corpus_free(&c);
}

int main(void)
{
    TEST_RUN(test_windowed_gaussian_nab);
    TEST_EXIT();
}
