/* `aios logs parse`: mine the templates of a log file with the ops log
 * parser, print them with their counts and write each line's template id. */
#include "cli/cli.h"
#include "ops/ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of one line kept from the input; the parser keeps at most
 * --max-line of them anyway, the rest of a longer line is skipped. */
#define LOGS_LINE_MAX ((size_t)1 << 20)

/* A line reader with a fixed buffer: CRLF, LF and a lone CR end a line (as
 * Python's universal newlines, which the loghub benchmark uses). */
struct line_reader {
    FILE *f;
    char *buf;
    size_t len; /* bytes of the current line in buf */
    bool pending_cr, eof, cut;
};

/* Next line into r->buf/r->len; returns 1, 0 at end, -1 on a read error. */
static int next_line(struct line_reader *r)
{
    r->len = 0;
    r->cut = false;
    if (r->eof)
        return 0;
    bool any = false;
    for (;;) {
        int c = getc_unlocked(r->f);
        if (c == EOF) {
            if (ferror(r->f))
                return -1;
            r->eof = true;
            return any ? 1 : 0;
        }
        if (r->pending_cr) {
            r->pending_cr = false;
            if (c == '\n')
                continue;
        }
        if (c == '\n')
            return 1;
        if (c == '\r') {
            r->pending_cr = true;
            return 1;
        }
        any = true;
        if (r->len < LOGS_LINE_MAX)
            r->buf[r->len++] = (char)c;
        else
            r->cut = true;
    }
}

struct tpl_row {
    int id;
    uint64_t count;
};

static int row_cmp(const void *a, const void *b)
{
    const struct tpl_row *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->id - y->id;
}

static const struct aios_cmd_spec parse_spec = {
    .name = "logs parse",
    .usage = "[--format FMT] [--mask RE ...] [--out FILE] [--json] FILE",
    .summary = "Mine the templates of a log file.",
    .description =
        "Reads FILE ('-' for standard input) line by line (CRLF, LF or CR line ends), cuts\n"
        "the message out of each line with --format, masks its variable parts (numbers,\n"
        "IPs, hex, UUIDs, paths, URLs, dates/times, and each --mask regex) and groups it\n"
        "with an online Drain-style miner. Prints one row per template, most frequent\n"
        "first: ID, COUNT, TEMPLATE (tab-separated; --json for a JSON array). With --out,\n"
        "writes each line's template ID, one per line, in input order ('-' for standard\n"
        "output, then the templates go to standard error); without --out no IDs are\n"
        "written.\n"
        "FMT is a loghub-style header format: <Name> fields, text between them a regular\n"
        "expression, e.g. '<Date> <Time> <Level>: <Content>'. Lines that do not match it\n"
        "are parsed whole. Without --format the whole line is the message.",
    .min_pos = 1,
    .max_pos = 1,
};

static int logs_parse(struct aios_cli *cli, int argc, char **argv)
{
    const char *format = NULL, *out_path = NULL;
    struct aios_strlist masks = {0};
    double st = 0.5;
    int64_t depth = 4, max_clusters = 20000, max_line = 4096;
    bool json = false, no_builtin = false;
    struct aios_opt opts[] = {
        {"format", 'f', AIOS_OPT_STR, &format, "FMT", "log header format with a <Content> field"},
        {"mask", 'm', AIOS_OPT_STRLIST, &masks, "RE", "PCRE2 regex whose matches become <*>"},
        {"out", 'o', AIOS_OPT_STR, &out_path, "FILE", "write each line's template id here"},
        {"st", 0, AIOS_OPT_DOUBLE, &st, "X", "similarity threshold in [0,1] (0.5)"},
        {"depth", 0, AIOS_OPT_INT, &depth, "N", "parse tree depth, >= 3 (4)"},
        {"max-clusters", 0, AIOS_OPT_INT, &max_clusters, "N", "cap on templates (20000)"},
        {"max-line", 0, AIOS_OPT_INT, &max_line, "N", "bytes of a message kept (4096)"},
        {"no-builtin", 0, AIOS_OPT_BOOL, &no_builtin, NULL, "only the --mask regexes mask"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print the templates as JSON"},
        {0},
    };
    struct aios_cmd_spec spec = parse_spec;
    spec.opts = opts;
    char **pos = aios_calloc((size_t)argc + 1, sizeof *pos);
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        aios_strlist_free(&masks);
        return rc < 0 ? 0 : rc;
    }
    struct aios_err err = {0};
    aios_ops_logfmt *fmt = NULL;
    aios_ops_drain *d = NULL;
    struct line_reader r = {0};
    FILE *out = NULL, *tout = stdout;
    struct tpl_row *rows = NULL;
    const char *path = pos[0];
    int ret = AIOS_EXIT_FAIL;

    if (depth < 3 || depth > 64 || max_clusters < 1 || max_clusters > 10000000 || max_line < 16 ||
        max_line > (1 << 24)) {
        ret = aios_cli_usage_error(&spec, "--depth, --max-clusters or --max-line out of range");
        goto out;
    }
    if (format && aios_ops_logfmt_compile(format, &fmt, &err) != 0) {
        ret = aios_cli_fail(&spec, &err);
        goto out;
    }
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.sim_threshold = st;
    o.depth = (int)depth;
    o.max_clusters = (int)max_clusters;
    o.max_line = (int)max_line;
    o.builtin_masks = !no_builtin;
    o.masks = masks.items;
    o.nmasks = masks.n;
    if (aios_ops_drain_create(&o, &d, &err) != 0) {
        ret = aios_cli_fail(&spec, &err);
        goto out;
    }
    r.f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    r.buf = aios_malloc(LOGS_LINE_MAX);
    if (!r.f || !r.buf) {
        aios_err_set(&err, r.f ? AIOS_ENOMEM : AIOS_EIO, "%s: %s", path,
                     r.f ? "out of memory" : strerror(errno));
        ret = aios_cli_fail(&spec, &err);
        goto out;
    }
    if (out_path) {
        if (strcmp(out_path, "-") == 0) {
            out = stdout;
            tout = stderr;
        } else if (!(out = fopen(out_path, "w"))) {
            aios_err_set(&err, AIOS_EIO, "%s: %s", out_path, strerror(errno));
            ret = aios_cli_fail(&spec, &err);
            goto out;
        }
    }
    uint64_t nlines = 0, unmatched = 0;
    int lr;
    while ((lr = next_line(&r)) == 1) {
        const char *msg = r.buf;
        size_t ml = r.len;
        if (fmt && !aios_ops_logfmt_content(fmt, r.buf, r.len, &msg, &ml))
            unmatched++;
        int id = aios_ops_drain_add(d, msg, ml);
        if (id < 0) {
            aios_err_set(&err, id, "line %llu: %s", (unsigned long long)nlines + 1,
                         aios_status_str(id));
            ret = aios_cli_fail(&spec, &err);
            goto out;
        }
        if (out && fprintf(out, "%d\n", id) < 0) {
            aios_err_set(&err, AIOS_EIO, "%s: write failed", out_path);
            ret = aios_cli_fail(&spec, &err);
            goto out;
        }
        nlines++;
    }
    if (lr < 0) {
        aios_err_set(&err, AIOS_EIO, "%s: read failed", path);
        ret = aios_cli_fail(&spec, &err);
        goto out;
    }
    if (out && out != stdout) {
        FILE *f = out;
        out = NULL;
        if (fclose(f) != 0) {
            aios_err_set(&err, AIOS_EIO, "%s: write failed", out_path);
            ret = aios_cli_fail(&spec, &err);
            goto out;
        }
    }
    if (unmatched)
        fprintf(stderr, "aios logs parse: %llu of %llu lines do not match the format\n",
                (unsigned long long)unmatched, (unsigned long long)nlines);

    int n = aios_ops_drain_count(d);
    rows = aios_malloc((size_t)(n ? n : 1) * sizeof *rows);
    if (!rows) {
        aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        ret = aios_cli_fail(&spec, &err);
        goto out;
    }
    for (int i = 0; i < n; i++)
        rows[i] = (struct tpl_row){i, aios_ops_drain_size(d, i)};
    qsort(rows, (size_t)n, sizeof *rows, row_cmp);
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; i < n && arr; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "id", json_integer(rows[i].id));
            json_object_set_new(e, "count", json_integer((json_int_t)rows[i].count));
            json_object_set_new(e, "template", json_string(aios_ops_drain_template(d, rows[i].id)));
            json_array_append_new(arr, e);
        }
        char *s = arr ? aios_json_dumps(arr, JSON_INDENT(2)) : NULL;
        json_decref(arr);
        if (!s) {
            aios_err_set(&err, AIOS_ENOMEM, "out of memory");
            ret = aios_cli_fail(&spec, &err);
            goto out;
        }
        fprintf(tout, "%s\n", s);
        aios_free(s);
    } else {
        fprintf(tout, "ID\tCOUNT\tTEMPLATE\n");
        for (int i = 0; i < n; i++)
            fprintf(tout, "%d\t%llu\t%s\n", rows[i].id, (unsigned long long)rows[i].count,
                    aios_ops_drain_template(d, rows[i].id));
    }
    ret = fflush(tout) == 0 ? AIOS_EXIT_OK : AIOS_EXIT_FAIL;
out:
    if (out && out != stdout)
        fclose(out);
    if (r.f && r.f != stdin)
        fclose(r.f);
    aios_free(r.buf);
    aios_free(rows);
    aios_ops_drain_destroy(d);
    aios_ops_logfmt_free(fmt);
    aios_strlist_free(&masks);
    aios_free(pos);
    return ret;
}

int aios_cmd_logs(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"parse", logs_parse, "mine the templates of a log file and label its lines"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "logs", "Work with log files.", subs, argc, argv);
}
