/*
 * bench/logparse: streaming speed of the log parser on one core.
 *
 *   build/bench/logparse [--repeat N] [DIR]
 *
 * DIR is the loghub data (as for bench/loghub). For every system it feeds
 * the 2,000 lines N times (default 250, so 500,000 lines per system) to one
 * parser and reports lines per second for three pipelines:
 *   content   the message alone (header already cut off): masks + tree
 *   format    whole lines through the system's log format (PCRE2) first
 *   regex     as format, plus the system's masking regexes (PCRE2)
 * Lines are in memory; the figure excludes I/O.
 */
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mode { CONTENT, FORMAT, REGEX };

static int run(const struct aios_ops_loghub *h, enum mode mode, int repeat, const char **msgs,
               const size_t *mlen, double *secs, int *nclusters)
{
    struct aios_err err = {0};
    aios_ops_logfmt *fmt = NULL;
    aios_ops_drain *d = NULL;
    int rc = aios_ops_logfmt_compile(h->log_format, &fmt, &err);
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.sim_threshold = h->st;
    o.depth = h->depth;
    if (mode == REGEX) {
        o.masks = (const char *const *)h->regex;
        o.nmasks = h->nregex;
    }
    if (rc == AIOS_OK)
        rc = aios_ops_drain_create(&o, &d, &err);
    if (rc) {
        fprintf(stderr, "logparse: %s\n", err.msg);
        aios_ops_logfmt_free(fmt);
        return rc;
    }
    double t0 = aios_time_s();
    for (int r = 0; r < repeat; r++) {
        for (size_t i = 0; i < h->n; i++) {
            const char *m = msgs[i];
            size_t ml = mlen[i];
            if (mode != CONTENT)
                aios_ops_logfmt_content(fmt, h->lines[i], h->line_len[i], &m, &ml);
            if (aios_ops_drain_add(d, m, ml) < 0) {
                rc = AIOS_ENOMEM;
                goto out;
            }
        }
    }
    *secs = aios_time_s() - t0;
    *nclusters = aios_ops_drain_count(d);
out:
    aios_ops_drain_destroy(d);
    aios_ops_logfmt_free(fmt);
    return rc;
}

int main(int argc, char **argv)
{
    int repeat = 250;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            int64_t v;
            if (aios_parse_i64(argv[++i], &v) || v < 1 || v > 100000) {
                fprintf(stderr, "logparse: bad --repeat\n");
                return 2;
            }
            repeat = (int)v;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: logparse [--repeat N] [DIR]\n");
            return 2;
        } else {
            dir = argv[i];
        }
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
        fprintf(stderr, "logparse: %s\n", err.msg);
        return 1;
    }
    printf("# %s, %d x 2k lines per system, one core\n", dir, repeat);
    printf("%-10s %12s %12s %12s %9s\n", "system", "content/s", "format/s", "regex/s", "clusters");
    double tot[3] = {0}, lines = 0;
    int fails = 0;
    for (int s = 0; s < nsys; s++) {
        struct aios_ops_loghub h;
        if (aios_ops_loghub_load(dir, sys[s], &h, &err)) {
            fprintf(stderr, "logparse: %s\n", err.msg);
            fails++;
            continue;
        }
        /* The messages for the content run, cut once up front. */
        const char **msgs = aios_malloc(h.n * sizeof *msgs);
        size_t *mlen = aios_malloc(h.n * sizeof *mlen);
        aios_ops_logfmt *fmt = NULL;
        if (!msgs || !mlen || aios_ops_logfmt_compile(h.log_format, &fmt, &err)) {
            fails++;
            aios_free(msgs);
            aios_free(mlen);
            aios_ops_loghub_free(&h);
            continue;
        }
        for (size_t i = 0; i < h.n; i++)
            aios_ops_logfmt_content(fmt, h.lines[i], h.line_len[i], &msgs[i], &mlen[i]);
        aios_ops_logfmt_free(fmt);
        double secs[3] = {0};
        int ncl = 0;
        for (int m = 0; m < 3; m++)
            if (run(&h, (enum mode)m, repeat, msgs, mlen, &secs[m], &ncl))
                fails++;
        double n = (double)h.n * repeat;
        printf("%-10s %12.0f %12.0f %12.0f %9d\n", sys[s], n / secs[0], n / secs[1], n / secs[2],
               ncl);
        for (int m = 0; m < 3; m++)
            tot[m] += secs[m];
        lines += n;
        aios_free(msgs);
        aios_free(mlen);
        aios_ops_loghub_free(&h);
    }
    printf("%-10s %12.0f %12.0f %12.0f\n", "ALL", lines / tot[0], lines / tot[1], lines / tot[2]);
    for (int s = 0; s < nsys; s++)
        aios_free(sys[s]);
    aios_free(sys);
    return fails ? 1 : 0;
}
