/*
 * bench/loghub: accuracy of the log parser on the loghub 2k benchmark.
 *
 *   build/bench/loghub [--builtin-only] [--no-builtin] [--defaults] [-v] [-p]
 *                      [--by-template] [DIR]
 *
 * DIR defaults to $AIOS_DATA/loghub, else AIOS_SOURCE_DIR/../shared/data/loghub.
 * For every system in DIR/settings.json it parses the raw lines with that
 * system's log format, masking regexes, similarity threshold and depth, and
 * prints "SYSTEM GA=... PA=..." beside Drain's published GA, then the
 * averages. GA is the benchmark's grouping accuracy, PA the share of lines
 * whose template equals the labelled one (see ops.h and the data README).
 *   --builtin-only  ignore the per-system regexes (built-in masks only)
 *   --no-builtin    only the per-system regexes, as the original Drain
 *   --defaults      ignore the per-system st/depth (use the parser defaults)
 *   -v              print the clusters that are not exactly one true group
 *   -p              print the templates that differ from the labelled ones
 *   --by-template   true groups by EventTemplate text, not EventId (as
 *                   Loghub-2.0's evaluator; logparser's, which produced the
 *                   published figures, groups by EventId)
 */
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opts {
    bool builtin_only, no_builtin, defaults, verbose, pa_diff, by_template;
};

static int run_system(const char *dir, const char *sys, const struct opts *op, double *ga,
                      double *pa, double *pub)
{
    struct aios_err err = {0};
    struct aios_ops_loghub h;
    int rc = aios_ops_loghub_load(dir, sys, &h, &err);
    if (rc) {
        fprintf(stderr, "loghub: %s\n", err.msg);
        return rc;
    }
    aios_ops_logfmt *fmt = NULL;
    aios_ops_drain *d = NULL;
    int *pred = NULL;
    if ((rc = aios_ops_logfmt_compile(h.log_format, &fmt, &err)) != 0) {
        fprintf(stderr, "loghub: %s: %s\n", sys, err.msg);
        goto out;
    }
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    if (!op->defaults) {
        o.sim_threshold = h.st;
        o.depth = h.depth;
    }
    if (!op->builtin_only) {
        o.masks = (const char *const *)h.regex;
        o.nmasks = h.nregex;
    }
    o.builtin_masks = !op->no_builtin;
    if ((rc = aios_ops_drain_create(&o, &d, &err)) != 0) {
        fprintf(stderr, "loghub: %s: %s\n", sys, err.msg);
        goto out;
    }
    pred = aios_malloc(h.n * sizeof *pred);
    if (!pred) {
        rc = AIOS_ENOMEM;
        goto out;
    }
    size_t unmatched = 0;
    for (size_t i = 0; i < h.n; i++) {
        const char *msg;
        size_t ml;
        if (!aios_ops_logfmt_content(fmt, h.lines[i], h.line_len[i], &msg, &ml))
            unmatched++;
        pred[i] = aios_ops_drain_add(d, msg, ml);
        if (pred[i] < 0) {
            rc = pred[i];
            goto out;
        }
    }
    if (unmatched)
        fprintf(stderr, "loghub: %s: %zu lines do not match the format\n", sys, unmatched);
    if (op->by_template) {
        /* True groups by EventTemplate text instead of EventId (lines
         * with one template but several ids become one group). */
        for (size_t i = 0; i < h.n; i++) {
            if (h.truth[i] < 0 || !h.truth_tpl[i])
                continue;
            for (size_t j = 0; j < i; j++)
                if (h.truth[j] >= 0 && h.truth_tpl[j] &&
                    strcmp(h.truth_tpl[j], h.truth_tpl[i]) == 0) {
                    h.truth[i] = h.truth[j];
                    break;
                }
        }
    }
    *ga = aios_ops_logeval_ga(h.truth, pred, h.n);
    size_t same = 0;
    for (size_t i = 0; i < h.n; i++)
        same += h.truth_tpl[i] && strcmp(aios_ops_drain_template(d, pred[i]), h.truth_tpl[i]) == 0;
    *pa = (double)same / (double)h.n;
    *pub = h.published_ga;
    if (op->pa_diff) {
        /* One line per (template, true template) pair that differs. */
        for (size_t i = 0; i < h.n; i++) {
            const char *t = aios_ops_drain_template(d, pred[i]);
            if (!h.truth_tpl[i] || strcmp(t, h.truth_tpl[i]) == 0)
                continue;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = pred[j] == pred[i] && h.truth[j] == h.truth[i];
            if (!seen)
                printf("  %s ours: %s\n  %*s true: %s\n", sys, t, (int)strlen(sys), "",
                       h.truth_tpl[i]);
        }
    }
    if (op->verbose) {
        /* For each predicted cluster that is not exactly one true group,
         * show the template and the true templates it mixes or splits. */
        int nc = aios_ops_drain_count(d);
        for (int c = 0; c < nc; c++) {
            int t0 = -2;
            bool mixed = false;
            for (size_t i = 0; i < h.n; i++) {
                if (pred[i] != c)
                    continue;
                if (t0 == -2)
                    t0 = h.truth[i];
                else if (h.truth[i] != t0)
                    mixed = true;
            }
            size_t tsz = 0, psz = 0;
            for (size_t i = 0; i < h.n; i++) {
                tsz += h.truth[i] == t0;
                psz += pred[i] == c;
            }
            if (!mixed && tsz == psz)
                continue;
            printf("  %s cluster %d (%zu lines, %s): %s\n", sys, c, psz, mixed ? "mixes" : "splits",
                   aios_ops_drain_template(d, c));
            int shown = 0;
            for (size_t i = 0; i < h.n && shown < 4; i++) {
                if (pred[i] != c)
                    continue;
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                    if (pred[j] == c && h.truth[j] == h.truth[i]) {
                        dup = true;
                        break;
                    }
                if (dup)
                    continue;
                printf("      true: %s\n", h.truth_tpl[i]);
                shown++;
            }
        }
    }
out:
    aios_free(pred);
    aios_ops_drain_destroy(d);
    aios_ops_logfmt_free(fmt);
    aios_ops_loghub_free(&h);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts op = {0};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--builtin-only") == 0)
            op.builtin_only = true;
        else if (strcmp(argv[i], "--no-builtin") == 0)
            op.no_builtin = true;
        else if (strcmp(argv[i], "--defaults") == 0)
            op.defaults = true;
        else if (strcmp(argv[i], "-v") == 0)
            op.verbose = true;
        else if (strcmp(argv[i], "-p") == 0)
            op.pa_diff = true;
        else if (strcmp(argv[i], "--by-template") == 0)
            op.by_template = true;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: loghub [--builtin-only] [--no-builtin] [--defaults] [-v] [-p] "
                            "[--by-template] [DIR]\n");
            return 2;
        } else
            dir = argv[i];
    }
    static char buf[4096];
    if (!dir) {
        const char *data = getenv("AIOS_DATA");
        if (data && *data)
            snprintf(buf, sizeof buf, "%s/loghub", data);
        else
            snprintf(buf, sizeof buf, "%s/../shared/data/loghub", AIOS_SOURCE_DIR);
        dir = buf;
    }
    struct aios_err err = {0};
    char **sys;
    int nsys;
    if (aios_ops_loghub_systems(dir, &sys, &nsys, &err)) {
        fprintf(stderr, "loghub: %s\n", err.msg);
        return 1;
    }
    printf("# %s%s%s%s%s\n", dir, op.builtin_only ? " (built-in masks only)" : "",
           op.by_template ? " (true groups by template)" : "",
           op.no_builtin ? " (settings regexes only)" : "",
           op.defaults ? " (default st/depth)" : "");
    double sga = 0, spa = 0, spub = 0;
    int n = 0, npub = 0, fails = 0;
    for (int i = 0; i < nsys; i++) {
        double ga = 0, pa = 0, pub = -1;
        if (run_system(dir, sys[i], &op, &ga, &pa, &pub) != 0) {
            fails++;
            continue;
        }
        printf("%-10s GA=%.3f PA=%.3f", sys[i], ga, pa);
        if (pub >= 0) {
            printf("   Drain_GA=%.3f%s", pub, ga + 1e-9 >= pub ? "" : "  (below Drain)");
            spub += pub;
            npub++;
        }
        printf("\n");
        sga += ga;
        spa += pa;
        n++;
    }
    if (n)
        printf("%-10s GA=%.3f PA=%.3f   Drain_GA=%.3f\n", "AVERAGE", sga / n, spa / n,
               npub ? spub / npub : 0.0);
    for (int i = 0; i < nsys; i++)
        aios_free(sys[i]);
    aios_free(sys);
    return fails ? 1 : 0;
}
