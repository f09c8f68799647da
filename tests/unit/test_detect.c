/*
 * Metric detectors and NAB scoring.
 *
 * Detectors: every detector of the table runs on synthetic series (daily
 * wave plus Gaussian noise, 5-minute samples) with one known anomaly each:
 * a spike, a level shift, a seasonal break (the wave turns upside down, so
 * values stay within their usual range), and noise only. Expectations:
 * scores stay in [0, 1]; the detectors meant for an anomaly raise WARN or
 * CRITICAL with a reason within a few points of it; on noise only, false
 * alarms stay rare. Windowed Gaussian is checked point by point against
 * hand-computed values.
 *
 * NAB scoring: the scaled sigmoid, one file's sweep and the threshold
 * optimisation on tiny hand-computed cases.
 */
#include "ops/ops.h"
#include "test.h"

#define N 3000
#define AT 2500
/* The seasonal break starts at a zero crossing of the wave (288 x 8.5), so
 * the series stays continuous and only the shape of the day is wrong. */
#define AT_BREAK 2448
#define STEP 300
#define T0 1700006400 /* a midnight, UTC */

enum scenario { SPIKE, SHIFT, SEASON_BREAK, NOISE, NSCEN };
static const char *const scen_name[] = {"spike", "level shift", "seasonal break", "noise"};

static double gauss(uint64_t *s)
{
    double u1 = 0, u2;
    do {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        u1 = (double)(*s >> 11) / 9007199254740992.0;
    } while (u1 <= 1e-12);
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    u2 = (double)(*s >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void make_series(enum scenario sc, double *v, int64_t *ts)
{
    uint64_t rng = 0x9E3779B97F4A7C15ULL + (uint64_t)sc;
    for (int i = 0; i < N; i++) {
        ts[i] = T0 + (int64_t)i * STEP;
        double wave = 10 * sin(2 * M_PI * i / 288.0);
        if (sc == SEASON_BREAK && i >= AT_BREAK)
            wave = -wave;
        v[i] = 50 + wave + gauss(&rng);
        if (sc == SPIKE && i == AT)
            v[i] += 40;
        if (sc == SHIFT && i >= AT)
            v[i] += 30;
    }
}

struct outcome {
    int first_alarm;  /* points from the anomaly to the first non-OK verdict, or -9999 */
    int false_alarms; /* non-OK verdicts in [1000, anomaly) */
    int in_range;     /* every score in [0, 1] */
    int reasons_ok;   /* every non-OK verdict has a reason */
};

static struct outcome run(const char *name, enum scenario sc)
{
    static double v[N];
    static int64_t ts[N];
    make_series(sc, v, ts);
    struct outcome o = {-9999, 0, 1, 1};
    int at = sc == SEASON_BREAK ? AT_BREAK : AT;
    aios_ops_detector *d;
    struct aios_err err = {0};
    int rc = aios_ops_detector_create(name, NULL, 0, &d, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: %s", name, err.msg);
    if (rc)
        return o;
    for (int i = 0; i < N; i++) {
        struct aios_ops_detect_result r;
        CHECK_EQ_INT(aios_ops_detector_feed(d, ts[i], v[i], &r, &err), AIOS_OK);
        if (!(r.score >= 0 && r.score <= 1))
            o.in_range = 0;
        if (r.verdict != AIOS_OPS_VERDICT_OK) {
            if (!r.reason[0])
                o.reasons_ok = 0;
            if (i >= 1000 && i < at)
                o.false_alarms++;
            if (i >= at && o.first_alarm == -9999)
                o.first_alarm = i - at;
        }
    }
    aios_ops_detector_destroy(d);
    return o;
}

/* Which detector must catch which anomaly, and how soon (points after AT).
 * A detector not listed for a scenario is only checked for range, reasons
 * and false alarms. The delays are what the model structurally needs (the
 * level-shift medians need half their short window; ...) plus slack. */
static const struct {
    const char *name;
    int delay[NSCEN]; /* -1: not expected to catch it */
} expect[] = {
    {"windowed_gaussian", {0, -1, -1, -1}},
    {"ewma", {0, 2, -1, -1}},
    {"mad", {0, -1, -1, -1}},
    {"seasonal", {0, 2, 30, -1}},
    {"spectral_residual", {0, -1, -1, -1}},
    {"holt_winters", {0, 2, 30, -1}},
    {"level_shift", {-1, 3, -1, -1}},
    {"forest", {0, -1, -1, -1}},
    {"context", {0, 0, -1, -1}},
    {"cad", {0, -1, -1, -1}},
    {"ensemble", {0, 3, 40, -1}},
};

static void test_detectors_synthetic(void)
{
    for (const struct aios_ops_detector_def *def = aios_ops_detector_defs; def->name; def++) {
        int row = -1;
        for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++)
            if (strcmp(expect[k].name, def->name) == 0)
                row = (int)k;
        CHECK_MSG(row >= 0, "detector %s has no expectations in this test", def->name);
        if (row < 0)
            continue;
        for (int sc = 0; sc < NSCEN; sc++) {
            struct outcome o = run(def->name, (enum scenario)sc);
            fprintf(stderr, "  %-18s %-15s first alarm %+d, false alarms %d\n", def->name,
                    scen_name[sc], o.first_alarm, o.false_alarms);
            CHECK_MSG(o.in_range, "%s/%s: score outside [0,1]", def->name, scen_name[sc]);
            CHECK_MSG(o.reasons_ok, "%s/%s: alarm without reason", def->name, scen_name[sc]);
            /* 1500 normal points: at most 1% false alarms (the verdict
             * levels sit near 3 sigma, where Gaussian noise alone gives
             * 0.27%). */
            CHECK_MSG(o.false_alarms <= 15, "%s/%s: %d false alarms", def->name, scen_name[sc],
                      o.false_alarms);
            int want = expect[row].delay[sc];
            if (want >= 0)
                CHECK_MSG(o.first_alarm >= 0 && o.first_alarm <= want,
                          "%s/%s: first alarm at %+d, want within %d", def->name, scen_name[sc],
                          o.first_alarm, want);
        }
    }
}

/* Windowed Gaussian with window 3, step 2, by hand. Score of x against the
 * window's mean m and population sigma s: 1 - Q(|x - m| / s) with
 * Q(z) = erfc(z / sqrt 2) / 2; sigma 0 is replaced by 1e-6 as in NAB. */
static double q_tail(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

static void test_wgauss_by_hand(void)
{
    const char *kv[] = {"window=3", "step=2"};
    aios_ops_detector *d;
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_ops_detector_create("windowed_gaussian", kv, 2, &d, &err), AIOS_OK);
    double x[] = {1, 2, 3, 4, 10, 4, 4};
    double want[7];
    want[0] = 0.0;                                 /* empty window */
    want[1] = 1.0 - q_tail(1.0 / 1e-6);            /* [1]: sigma 0 -> 1e-6 */
    want[2] = 1.0 - q_tail(1.5 / 0.5);             /* [1 2]: m 1.5, s 0.5 */
    want[3] = 1.0 - q_tail(2.0 / sqrt(2.0 / 3.0)); /* [1 2 3]: m 2, s sqrt(2/3) */
    want[4] = 1.0 - q_tail(8.0 / sqrt(2.0 / 3.0)); /* still [1 2 3]; 4 is buffered */
    /* 4 and 10 filled the step buffer: window [3 4 10], m 17/3, s^2 = 78/9 */
    double m = 17.0 / 3, s = sqrt((pow(3 - m, 2) + pow(4 - m, 2) + pow(10 - m, 2)) / 3);
    want[5] = 1.0 - q_tail((m - 4) / s); /* below the mean: same tail */
    want[6] = 1.0 - q_tail((m - 4) / s); /* window unchanged until the next step */
    for (int i = 0; i < 7; i++) {
        double got = aios_ops_detector_score(d, 1000 + 60 * i, x[i]);
        CHECK_NEAR(got, want[i], 1e-12); /* same formula, double rounding only */
    }
    aios_ops_detector_destroy(d);
}

/* cad fed a long noisy series keeps within its context bound: reaching
 * max_ctx it relearns the recent history (forgets) instead of growing (or,
 * as before, of no longer learning). The memory in use after 16,000 points
 * is within a quarter of that after 6,000 (without the bound it nearly
 * doubles), and afterwards it still learns: a cycle of the eight levels
 * becomes predicted (scores 0 on its last 200 points) and a value out of
 * turn scores at least the rest threshold 0.75. */
static void test_cad_forgets(void)
{
    const char *kv[] = {"max_ctx=1500", "replay=400"};
    aios_ops_detector *d;
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_ops_detector_create("cad", kv, 2, &d, &err), AIOS_OK);
    uint64_t s = 12345;
    size_t at6k = 0, at16k = 0;
    double cycle_max = 0, at_break = 0;
    const int noise = 16000, cycle = 1600;
    for (int i = 0; i <= noise + cycle; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = 50 + 10 * (double)(s >> 40) / (double)(1ULL << 24); /* noise in [50, 60) */
        if (i >= noise) /* then the levels 0..7 of that range in turn */
            v = 50.5 + 9.0 / 7.0 * ((i - noise) % 8);
        if (i == noise + cycle)
            v = 50.5 + 9.0 / 7.0 * 5; /* out of turn */
        struct aios_ops_detect_result r;
        CHECK_EQ_INT(aios_ops_detector_feed(d, 1000 + 60 * (int64_t)i, v, &r, &err), AIOS_OK);
        if (i == 6000)
            at6k = aios_mem_in_use();
        if (i == noise)
            at16k = aios_mem_in_use();
        if (i >= noise + cycle - 200 && i < noise + cycle && r.score > cycle_max)
            cycle_max = r.score;
        if (i == noise + cycle)
            at_break = r.score;
    }
    CHECK_MSG(at16k <= at6k + at6k / 4, "memory grew from %zu to %zu bytes", at6k, at16k);
    CHECK_MSG(cycle_max == 0.0, "the cycle is not learned: scores up to %g", cycle_max);
    CHECK_MSG(at_break >= 0.75, "out of turn: %g", at_break);
    aios_ops_detector_destroy(d);
}

/* cad on a sequence of levels 0,1,..,7 repeated (range fixed to [0, 7], so
 * each value is its own level): once the cycle is learned every value is
 * predicted and scores 0; a value out of turn (5 where 2 is due) breaks the
 * learned contexts and scores at least the rest threshold 0.75, after which
 * the detector rests (reports 0) for `rest` points. */
static void test_cad_sequence(void)
{
    const char *kv[] = {"lo=0", "hi=7", "rest=5"};
    aios_ops_detector *d;
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_ops_detector_create("cad", kv, 3, &d, &err), AIOS_OK);
    double late_max = 0, at_break = 0, after = 0;
    for (int i = 0; i < 820; i++) {
        double v = i % 8;
        if (i == 802)
            v = 5; /* 2 is due */
        struct aios_ops_detect_result r;
        CHECK_EQ_INT(aios_ops_detector_feed(d, 1000 + 60 * i, v, &r, &err), AIOS_OK);
        if (i >= 400 && i < 802 && r.score > late_max)
            late_max = r.score;
        if (i == 802) {
            at_break = r.score;
            CHECK(r.verdict != AIOS_OPS_VERDICT_OK && r.reason[0]);
        }
        if (i > 802 && i <= 807)
            after += r.score;
    }
    CHECK_NEAR(late_max, 0.0, 0); /* a learned cycle is fully predicted */
    CHECK(at_break >= 0.75);
    CHECK_NEAR(after, 0.0, 0); /* resting */
    aios_ops_detector_destroy(d);
}

static void test_nab_sigmoid(void)
{
    /* 2 / (1 + e^(5x)) - 1: left edge e^-5, right edge 0, -1 past 3 */
    CHECK_NEAR(aios_ops_nab_scaled_sigmoid(-1.0), 2.0 / (1.0 + exp(-5.0)) - 1.0, 1e-15);
    CHECK_NEAR(aios_ops_nab_scaled_sigmoid(-1.0), 0.98661429815, 1e-10); /* NAB's docstring */
    CHECK_NEAR(aios_ops_nab_scaled_sigmoid(-0.5), 0.84828363995, 1e-10);
    CHECK_NEAR(aios_ops_nab_scaled_sigmoid(0.0), 0.0, 1e-15);
    CHECK_NEAR(aios_ops_nab_scaled_sigmoid(1.0), -0.98661429815, 1e-10);
    CHECK_NEAR(aios_ops_nab_scaled_sigmoid(3.5), -1.0, 0);
}

/* One file of 20 points a minute apart, one window [10, 13] (width 4).
 * Probation: floor(0.15 x 20) = 3 points, so 17 points are scored. */
static void tiny_file(int64_t *ts, int64_t win[1][2])
{
    for (int i = 0; i < 20; i++)
        ts[i] = 1000 + 60 * i;
    win[0][0] = ts[10];
    win[0][1] = ts[13];
}

static void test_nab_sweep_by_hand(void)
{
    int64_t ts[20], win[1][2];
    tiny_file(ts, win);
    double sc[20] = {0};
    sc[5] = 0.9;  /* false positive before any window: -1 x fp */
    sc[11] = 0.8; /* inside: position -(13 - 11 + 1) / 4 = -0.75 */
    sc[16] = 0.7; /* after: position |13 - 16| / (4 - 1) = 1 */
    sc[1] = 1.0;  /* probationary: never scored */
    const struct aios_ops_nab_profile *std = &aios_ops_nab_profiles[0];
    struct aios_ops_nab_point pts[20];
    long m = aios_ops_nab_sweep_file(ts, sc, 20, (const int64_t(*)[2])win, 1, 0, 0.15, std, pts);
    CHECK_EQ_INT(m, 17);
    double max_tp = aios_ops_nab_scaled_sigmoid(-1.0);
    double tp11 = (2.0 / (1.0 + exp(5.0 * -0.75)) - 1.0) / max_tp;
    double fp5 = -0.11, fp16 = 0.11 * (2.0 / (1.0 + exp(5.0)) - 1.0);
    CHECK_NEAR(pts[5 - 3].sweep, fp5, 1e-12);
    CHECK_NEAR(pts[11 - 3].sweep, tp11, 1e-12);
    CHECK_NEAR(pts[10 - 3].sweep, 1.0, 1e-12); /* left edge: a full TP */
    CHECK_NEAR(pts[16 - 3].sweep, fp16, 1e-12);
    CHECK_EQ_INT(pts[11 - 3].window, 0);
    CHECK_EQ_INT(pts[14 - 3].window, -1);

    /* Thresholds: 1.1 -> -1 (the window missed); 0.9 -> -1.11; 0.8 -> tp11 - 0.11;
     * 0.7 -> tp11 - 0.11 + fp16; 0 -> every point, far worse. Best: 0.8. */
    double raw, thr;
    CHECK_EQ_INT(aios_ops_nab_optimize(pts, (size_t)m, 1, std, &raw, &thr, NULL), AIOS_OK);
    CHECK_NEAR(raw, tp11 - 0.11, 1e-12);
    CHECK_NEAR(thr, 0.8, 0);

    /* Low-FN profile: a miss costs 2, so the same detections score the same
     * but doing nothing scores -2. */
    m = aios_ops_nab_sweep_file(ts, sc, 20, (const int64_t(*)[2])win, 1, 0, 0.15,
                                &aios_ops_nab_profiles[2], pts);
    for (long i = 0; i < m; i++)
        pts[i].score = 0; /* a detector that never fires */
    CHECK_EQ_INT(
        aios_ops_nab_optimize(pts, (size_t)m, 1, &aios_ops_nab_profiles[2], &raw, &thr, NULL),
        AIOS_OK);
    /* all-zero scores: 1.1 -> -2; 0 -> everything detected: the window's
     * first point (+1) and 13 FPs, each -0.11 x sigmoid weight; which wins
     * is computed below by hand from the same terms. */
    double all = 1.0;
    for (int i = 3; i < 20; i++) {
        if (i < 10)
            all += -0.11;
        else if (i > 13)
            all += 0.11 * (2.0 / (1.0 + exp(5.0 * (i - 13) / 3.0)) - 1.0);
    }
    CHECK_NEAR(raw, all > -2.0 ? all : -2.0, 1e-12);

    /* A window wholly inside the probationary period is neither hit nor
     * missed: no points at all belong to it. */
    int64_t early[1][2] = {{ts[0], ts[2]}};
    m = aios_ops_nab_sweep_file(ts, sc, 20, (const int64_t(*)[2])early, 1, 0, 0.15, std, pts);
    for (long i = 0; i < m; i++)
        CHECK_EQ_INT(pts[i].window, -1);
    /* A window that ends off the file's timestamps is an error. */
    int64_t bad[1][2] = {{ts[5], ts[8] + 1}};
    CHECK(aios_ops_nab_sweep_file(ts, sc, 20, (const int64_t(*)[2])bad, 1, 0, 0.15, std, pts) < 0);
}

/* Normalisation: null detector (constant 0.5) = 0, detecting the window at
 * its left edge = 100 under every profile. */
static void test_nab_normalise(void)
{
    int64_t win[1][2];
    struct aios_ops_nab_file f = {0};
    f.name = "tiny.csv";
    f.series.n = 20;
    f.series.ts = aios_malloc(20 * sizeof(int64_t));
    f.series.value = aios_calloc(20, sizeof(double));
    tiny_file(f.series.ts, win);
    f.win = win;
    f.nwin = 1;
    struct aios_ops_nab_corpus c = {1, &f, 1};
    double perfect[20] = {0}, null[20], *sp = perfect, *sn = null;
    perfect[10] = 1;
    for (int i = 0; i < 20; i++)
        null[i] = 0.5;
    struct aios_ops_nab_score r;
    CHECK_EQ_INT(aios_ops_nab_score_corpus(&c, &sp, &r, NULL), AIOS_OK);
    for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++)
        CHECK_NEAR(r.score[k], 100.0, 1e-9);
    CHECK_EQ_INT(aios_ops_nab_score_corpus(&c, &sn, &r, NULL), AIOS_OK);
    for (int k = 0; k < AIOS_OPS_NAB_NPROFILES; k++)
        CHECK_NEAR(r.score[k], 0.0, 1e-9);
    /* Half way: the detection at index 12 is worth sigmoid(-0.5)/maxTP; the
     * null baseline (standard) is the better of missing (-1) and flagging
     * every point. */
    double half[20] = {0}, *sh = half;
    half[12] = 1;
    CHECK_EQ_INT(aios_ops_nab_score_corpus(&c, &sh, &r, NULL), AIOS_OK);
    double base = 1.0;
    for (int i = 3; i < 20; i++) {
        if (i < 10)
            base += -0.11;
        else if (i > 13)
            base += 0.11 * (2.0 / (1.0 + exp(5.0 * (i - 13) / 3.0)) - 1.0);
    }
    if (base < -1.0)
        base = -1.0;
    double tp = aios_ops_nab_scaled_sigmoid(-0.5) / aios_ops_nab_scaled_sigmoid(-1.0);
    CHECK_NEAR(r.score[0], 100.0 * (tp - base) / (1.0 - base), 1e-9);
    aios_free(f.series.ts);
    aios_free(f.series.value);
}

static void test_params_and_input(void)
{
    aios_ops_detector *d = NULL;
    struct aios_err err = {0};
    const char *bad1[] = {"window"};
    CHECK_EQ_INT(aios_ops_detector_create("mad", bad1, 1, &d, &err), AIOS_EINVAL);
    const char *bad2[] = {"window=abc"};
    CHECK_EQ_INT(aios_ops_detector_create("mad", bad2, 1, &d, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "window") != NULL);
    const char *bad3[] = {"window=1e9"};
    CHECK_EQ_INT(aios_ops_detector_create("mad", bad3, 1, &d, &err), AIOS_EINVAL);
    const char *bad4[] = {"window=48"}; /* not a power of two */
    CHECK_EQ_INT(aios_ops_detector_create("spectral_residual", bad4, 1, &d, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_ops_detector_create("nope", NULL, 0, &d, &err), AIOS_ENOTFOUND);
    CHECK(d == NULL);
    /* every table row has warn and crit, and its defaults create a detector */
    for (const struct aios_ops_detector_def *def = aios_ops_detector_defs; def->name; def++) {
        int w = 0, c = 0;
        for (const struct aios_ops_detector_param *p = def->params; p->name; p++) {
            w += strcmp(p->name, "warn") == 0;
            c += strcmp(p->name, "crit") == 0;
            CHECK_MSG(p->def >= p->min && p->def <= p->max, "%s.%s", def->name, p->name);
        }
        CHECK_MSG(w == 1 && c == 1, "%s lacks warn/crit", def->name);
        CHECK_EQ_INT(aios_ops_detector_create(def->name, NULL, 0, &d, &err), AIOS_OK);
        struct aios_ops_detect_result r;
        CHECK_EQ_INT(aios_ops_detector_feed(d, 0, NAN, &r, &err), AIOS_EINVAL);
        aios_ops_detector_destroy(d);
    }

    struct aios_ops_series s;
    const char *csv = "timestamp,value\n2014-04-01 00:00:00,1.5\r\n2014-04-01T00:05:00Z,2\n"
                      "1396311000,-3e2\n";
    CHECK_EQ_INT(aios_ops_series_parse_csv(csv, strlen(csv), &s, &err), AIOS_OK);
    CHECK_EQ_INT(s.n, 3);
    if (s.n == 3) {
        CHECK_EQ_INT(s.ts[0], 1396310400); /* 2014-04-01 00:00:00 UTC */
        CHECK_EQ_INT(s.ts[1], 1396310700);
        CHECK_EQ_INT(s.ts[2], 1396311000);
        CHECK_NEAR(s.value[2], -300, 0);
    }
    char buf[32];
    CHECK_EQ_STR(aios_ops_time_fmt(s.ts[1], buf, sizeof buf), "2014-04-01 00:05:00");
    aios_ops_series_free(&s);
    const char *bad_csv[] = {"timestamp,value\n2014-13-01 00:00:00,1\n",
                             "timestamp,value\n2014-01-01 00:00:00\n",
                             "timestamp,value\n2014-01-01 00:00:00,nan\n",
                             "timestamp,value\n2014-01-01 00:00:00,1e999\n", ""};
    for (size_t i = 0; i < sizeof bad_csv / sizeof bad_csv[0]; i++) {
        CHECK_EQ_INT(aios_ops_series_parse_csv(bad_csv[i], strlen(bad_csv[i]), &s, &err),
                     AIOS_EFORMAT);
        CHECK(s.n == 0 && s.ts == NULL);
    }
}

int main(void)
{
    TEST_RUN(test_detectors_synthetic);
    TEST_RUN(test_wgauss_by_hand);
    TEST_RUN(test_cad_sequence);
    TEST_RUN(test_cad_forgets);
    TEST_RUN(test_nab_sigmoid);
    TEST_RUN(test_nab_sweep_by_hand);
    TEST_RUN(test_nab_normalise);
    TEST_RUN(test_params_and_input);
    TEST_EXIT();
}
