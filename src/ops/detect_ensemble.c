/*
 * The ensemble: several detectors judge each point, and the ensemble says
 * how rare the point is for *this* series.
 *
 * 1. Calibration: each member's score becomes a rarity, the share of the
 *    member's last `history` scores at or above it; a score above every
 *    past one gets less than 1/(n+1), scaled by how far above it is. A z of
 *    6 is routine for a spiky series and unheard of for a smooth one; the
 *    rarity knows the difference. The mean of the member's last `avg` scores
 *    is judged the same way (sustained moderate evidence: a day whose shape
 *    is wrong), and the member's rarity is the smaller of the two, doubled.
 * 2. Agreement: the `agree` smallest member rarities are combined (their
 *    geometric mean, or with combine=0 the largest of them), so one member
 *    alone cannot raise an alarm; score = 1 - combined rarity. Members in
 *    the `solo` mask (default: cad, whose contexts already demand a whole
 *    broken pattern) stay out of the agreement and may alarm alone once
 *    they have scored `solo_after` points: the score is also
 *    1 - (smallest solo rarity) x (1 + number of solo members).
 * 3. Fatigue: with A alarms already raised in the series, the rarity is
 *    multiplied by 1 + A/fatigue, so a noisy series needs ever stronger
 *    evidence.
 * 4. Suppression: after an alarm (score >= warn) repeats are damped for
 *    `suppress` points (unless breakthrough > 0 and a point is that much
 *    rarer than the alarm).
 *
 * NAB (bench/nab, docs/detectors.md): the defaults score 66.2 standard,
 * 58.1 low FP, 70.9 low FN on the whole corpus. agree, suppress, avg,
 * fatigue and the old member set were tuned on that same corpus (63.7 then);
 * cad_rest and solo were chosen by leave-one-group-out (bench/nab --holdout
 * groups --tune cad_rest=20,60,120 --tune solo=0,256: 120 and 256 in 6 of
 * 7 folds), which estimates 65.1 / 57.3 / 69.0 for unseen groups. Read the whole-corpus figure as
 * an upper estimate.
 */
#include "ops/detect_impl.h"

#include <stdio.h>
#include <string.h>

static const char *const members[] = {"ewma",        "mad",    "seasonal",     "spectral_residual",
                                      "level_shift", "forest", "holt_winters", "context",
                                      "cad"};
#define NMEMBERS ((int)(sizeof members / sizeof members[0]))

const struct aios_ops_detector_param detect_ensemble_params[] = {
    {"agree", 3, 1, NMEMBERS, "members whose rarities are combined: all must find the point rare"},
    {"suppress", 100, 0, 1e6, "points after an alarm during which repeats are damped"},
    {"damp", 0.5, 0, 1, "factor applied to repeated alarms' scores while suppressed"},
    {"history", 6000, 50, 100000, "past scores per member that calibrate its rarity"},
    {"min_history", 200, 10, 100000, "member scores seen before the ensemble scores"},
    {"members", 334, 1, 511,
     "bit mask of members: 1 ewma, 2 mad, 4 seasonal, 8 spectral, "
     "16 level_shift, 32 forest, 64 holt_winters, 128 context, 256 cad"},
    {"combine", 1, 0, 1,
     "0: the agree-th smallest rarity; 1: geometric mean of the agree smallest"},
    {"avg", 12, 0, 1000, "also judge the mean of the last avg member scores (0: off)"},
    {"fatigue", 4, 0, 1e6,
     "with A alarms so far, rarities are multiplied by 1 + A/fatigue (0: off)"},
    {"breakthrough", 0, 0, 1,
     "while suppressed, a point shows if its rarity is below the alarm's times this (0: never)"},
    {"solo", 256, 0, 511,
     "bit mask of members (as in members) that may raise an alarm alone: the score is also the "
     "smallest solo rarity times (1 + solo members), a Bonferroni bound; such members are left "
     "out of the agreement"},
    {"cad_rest", 120, 1, 1e6, "the cad member's rest parameter"},
    {"solo_after", 800, 0, 1e6,
     "points a solo member must have scored before it may raise an alarm alone (it learns the "
     "series' patterns first)"},
    DETECT_VERDICT_PARAMS(0.998, 0.9999),
};

struct ensemble {
    struct aios_ops_detector base;
    aios_ops_detector *m[NMEMBERS];
    struct sorted_window hist[NMEMBERS];
    double ms[NMEMBERS], rare[NMEMBERS];
    int use[NMEMBERS], nuse, min_history;
    int agree, combine, avg;
    struct ring recent[NMEMBERS];            /* last avg scores */
    struct sorted_window hist_avg[NMEMBERS]; /* past means of avg scores */
    double sum[NMEMBERS];
    double fatigue;
    long alarms;          /* alarms raised so far */
    long suppress, quiet; /* quiet: points left in the suppression period */
    double damp, alarm;   /* alarm: the score that started the period */
    double breakthrough;
    int solo[NMEMBERS], nsolo, solo_after;
};

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Share of past scores at or above x; below 1/(n+1) for a new maximum. */
static double rarity(const struct sorted_window *h, double x)
{
    int n = h->n;
    if (n == 0)
        return 1.0;
    /* count of history >= x, by binary search in the sorted window */
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (h->sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    int ge = n - lo;
    if (ge > 0)
        return (double)ge / (n + 1);
    double top = h->sorted[n - 1];
    double gap_new = 1.0 - x, gap_top = 1.0 - top;
    double f = gap_top > 0 ? gap_new / gap_top : 1.0;
    return f / (n + 1);
}

static double ensemble_feed(aios_ops_detector *d, int64_t ts, double v)
{
    struct ensemble *e = (struct ensemble *)d;
    double s[NMEMBERS];
    int k = 0, ready = 1;
    double solo_rare = 1.0;
    for (int i = 0; i < NMEMBERS; i++) {
        if (!e->use[i])
            continue;
        double x = aios_ops_detector_score(e->m[i], ts, v);
        e->ms[i] = x;
        e->rare[i] = rarity(&e->hist[i], x);
        if (e->hist[i].n < e->min_history)
            ready = 0;
        sw_push(&e->hist[i], x);
        if (e->avg > 1) {
            /* sustained moderate evidence: rarity of the recent mean score */
            double old = 0;
            if (ring_push(&e->recent[i], x, &old))
                e->sum[i] -= old;
            e->sum[i] += x;
            double mean = e->sum[i] / e->recent[i].n;
            double ra = rarity(&e->hist_avg[i], mean);
            sw_push(&e->hist_avg[i], mean);
            if (e->recent[i].n == e->avg && ra * 2 < e->rare[i])
                e->rare[i] = ra * 2; /* two looks at the data: Bonferroni */
        }
        if (e->solo[i]) {
            if (e->hist[i].n >= e->solo_after && e->rare[i] < solo_rare)
                solo_rare = e->rare[i];
            continue;
        }
        s[k++] = 1.0 - e->rare[i];
    }
    qsort(s, (size_t)k, sizeof s[0], cmp_desc);
    int a = e->agree < k ? e->agree : k;
    double score = ready && a > 0 ? s[a - 1] : 0.0;
    if (ready && a > 0 && e->combine == 1) {
        /* geometric mean of the `agree` smallest rarities */
        double lr = 0;
        for (int i = 0; i < a; i++)
            lr += log(1.0 - s[i] > 1e-300 ? 1.0 - s[i] : 1e-300);
        score = 1.0 - exp(lr / a);
    }
    if (ready && e->nsolo > 0) {
        /* a solo member's rarity, corrected for the extra looks */
        double r = solo_rare * (1.0 + e->nsolo);
        if (1.0 - r > score)
            score = 1.0 - r;
    }
    if (ready && e->fatigue > 0) {
        /* Alarm fatigue: every alarm raised so far in this series makes the
         * next one need a rarer point, so a noisy series settles down. */
        double r = (1.0 - score) * (1.0 + e->alarms / e->fatigue);
        score = r < 1.0 ? 1.0 - r : 0.0;
    }
    int quiet = e->quiet > 0;
    if (quiet) {
        e->quiet--;
        /* a repeat shows only when far rarer than the alarm */
        if (1.0 - score >= (1.0 - e->alarm) * e->breakthrough)
            score *= e->damp;
    }
    if (score >= d->warn) {
        if (!quiet)
            e->alarms++;
        e->quiet = e->suppress;
        e->alarm = score;
    }
    return score;
}

static void ensemble_reason(const aios_ops_detector *d, char *buf, size_t size)
{
    const struct ensemble *e = (const struct ensemble *)d;
    int best = -1, n = 0;
    for (int i = 0; i < NMEMBERS; i++) {
        if (!e->use[i])
            continue;
        if (1.0 - e->rare[i] >= d->warn)
            n++;
        if (best < 0 || e->rare[i] < e->rare[best])
            best = i;
    }
    char sub[AIOS_OPS_REASON_MAX];
    e->m[best]->vt->reason(e->m[best], sub, sizeof sub);
    snprintf(buf, size, "%d of %d detectors agree; %s: %s", n, e->nuse, members[best], sub);
}

static void ensemble_fini(aios_ops_detector *d)
{
    struct ensemble *e = (struct ensemble *)d;
    for (int i = 0; i < NMEMBERS; i++) {
        aios_ops_detector_destroy(e->m[i]);
        sw_free(&e->hist[i]);
        sw_free(&e->hist_avg[i]);
        ring_free(&e->recent[i]);
    }
}

static const struct detector_vt ensemble_vt = {ensemble_feed, ensemble_reason, ensemble_fini};

int detect_ensemble_create(const double *p, aios_ops_detector **out, struct aios_err *err)
{
    struct ensemble *e = detector_alloc(sizeof *e, "ensemble", &ensemble_vt, p);
    if (!e)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    e->agree = (int)p[0];
    e->combine = (int)p[6];
    e->avg = (int)p[7];
    e->fatigue = p[8];
    e->breakthrough = p[9];
    e->suppress = (long)p[1];
    e->damp = p[2];
    e->min_history = (int)p[4];
    int mask = (int)p[5];
    int solo = (int)p[10];
    e->solo_after = (int)p[12] < (int)p[3] ? (int)p[12] : (int)p[3]; /* at most history */
    for (int i = 0; i < NMEMBERS; i++) {
        e->use[i] = (mask >> i) & 1;
        if (!e->use[i])
            continue;
        e->nuse++;
        e->solo[i] = (solo >> i) & 1;
        e->nsolo += e->solo[i];
        char kvbuf[64];
        const char *kv[1] = {kvbuf};
        snprintf(kvbuf, sizeof kvbuf, "rest=%.17g", p[11]);
        int cad = strcmp(members[i], "cad") == 0;
        int rc = aios_ops_detector_create(members[i], kv, cad ? 1 : 0, &e->m[i], err);
        if (rc == AIOS_OK && (sw_init(&e->hist[i], (int)p[3]) != AIOS_OK ||
                              sw_init(&e->hist_avg[i], (int)p[3]) != AIOS_OK ||
                              ring_init(&e->recent[i], e->avg > 1 ? e->avg : 1) != AIOS_OK))
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        if (rc) {
            aios_ops_detector_destroy(&e->base);
            return rc;
        }
    }
    *out = &e->base;
    return AIOS_OK;
}
