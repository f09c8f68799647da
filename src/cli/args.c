/* Declarative flag parsing for every aios command, and the help and usage
 * text generated from the same tables. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

void aios_strlist_free(struct aios_strlist *l)
{
    aios_free(l->items);
    l->items = NULL;
    l->n = 0;
}

void aios_cli_usage(FILE *f, const struct aios_cmd_spec *spec)
{
    fprintf(f, "usage: aios %s%s%s\n", spec->name, spec->usage && *spec->usage ? " " : "",
            spec->usage ? spec->usage : "");
}

void aios_cli_help(FILE *f, const struct aios_cmd_spec *spec)
{
    aios_cli_usage(f, spec);
    fprintf(f, "\n%s\n", spec->summary);
    if (spec->description && *spec->description)
        fprintf(f, "\n%s\n", spec->description);
    fprintf(f, "\noptions:\n");
    for (const struct aios_opt *o = spec->opts; o && o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        fprintf(f, "  %-28s %s%s\n", left, o->help,
                o->kind == AIOS_OPT_STRLIST ? " (repeatable)" : "");
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
    fprintf(f, "\nsettings (any command; see `aios config show`):\n");
    for (const struct aios_cfg_def *d = aios_cfg_defs; d->name; d++) {
        char left[64], flag[48];
        aios_strlcpy(flag, d->name, sizeof flag);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        snprintf(left, sizeof left, "    --%s VALUE", flag);
        fprintf(f, "  %-28s %s (default %s)\n", left, d->doc, *d->def ? d->def : "\"\"");
    }
}

int aios_cli_usage_error(const struct aios_cmd_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "aios %s: ", spec->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    aios_cli_usage(stderr, spec);
    return AIOS_EXIT_USAGE;
}

int aios_cli_fail(const struct aios_cmd_spec *spec, const struct aios_err *err)
{
    fprintf(stderr, "aios %s: %s\n", spec->name,
            err && err->msg[0] ? err->msg : aios_status_str(err ? err->code : AIOS_EINTERNAL));
    return AIOS_EXIT_FAIL;
}

static const struct aios_opt *find_long(const struct aios_opt *opts, const char *name, size_t n)
{
    for (const struct aios_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return o;
    return NULL;
}

static const struct aios_opt *find_short(const struct aios_opt *opts, char c)
{
    for (const struct aios_opt *o = opts; o && o->name; o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

static int apply(const struct aios_cmd_spec *spec, const struct aios_opt *o, const char *shown,
                 const char *val)
{
    switch (o->kind) {
    case AIOS_OPT_BOOL:
        *(bool *)o->dst = true;
        return 0;
    case AIOS_OPT_STR:
        *(const char **)o->dst = val;
        return 0;
    case AIOS_OPT_INT:
        if (aios_parse_i64(val, (int64_t *)o->dst) != AIOS_OK)
            return aios_cli_usage_error(spec, "%s expects an integer, got '%s'", shown, val);
        return 0;
    case AIOS_OPT_DOUBLE:
        if (aios_parse_double(val, (double *)o->dst) != AIOS_OK)
            return aios_cli_usage_error(spec, "%s expects a number, got '%s'", shown, val);
        return 0;
    case AIOS_OPT_STRLIST: {
        struct aios_strlist *l = o->dst;
        const char **items = aios_realloc(l->items, sizeof *items * (size_t)(l->n + 1));
        if (!items) {
            fprintf(stderr, "aios %s: out of memory\n", spec->name);
            return AIOS_EXIT_FAIL;
        }
        items[l->n++] = val;
        l->items = items;
        return 0;
    }
    }
    return AIOS_EXIT_USAGE;
}

/* Settings that act on the process (log level, memory cap) take effect as
 * soon as a flag sets them; the rest are read by the commands. */
static int apply_runtime_setting(struct aios_cli *cli, const struct aios_cmd_spec *spec,
                                 const char *setting)
{
    const struct aios_cfg_def *d = aios_config_find(setting);
    if (strcmp(d->name, "log_level") == 0) {
        enum aios_log_level lvl;
        if (aios_log_level_parse(aios_config_str(cli->cfg, "log_level"), &lvl) != AIOS_OK) {
            aios_cli_usage_error(spec, "--log-level must be one of debug, info, warn, error, off");
            return 1;
        }
        aios_log_set_level(lvl);
    } else if (strcmp(d->name, "mem_limit_mb") == 0) {
        int64_t mb = aios_config_int(cli->cfg, "mem_limit_mb");
        aios_mem_set_limit(mb > 0 ? (size_t)mb << 20 : 0);
    }
    return 0;
}

int aios_cli_parse(struct aios_cli *cli, const struct aios_cmd_spec *spec, int argc, char **argv,
                   char **pos, int *npos)
{
    *npos = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) { /* "-" alone is a positional (stdin) */
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            aios_cli_help(stdout, spec);
            return -1;
        }
        const struct aios_opt *o = NULL;
        const char *val = NULL;
        char shown[80];
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(spec->opts, name, n);
            if (eq)
                val = eq + 1;
            snprintf(shown, sizeof shown, "--%.*s", (int)n, name);
            if (!o) {
                char setting[80];
                snprintf(setting, sizeof setting, "%.*s", (int)n, name);
                if (aios_config_find(setting)) {
                    if (!val) {
                        if (i + 1 >= argc)
                            return aios_cli_usage_error(spec, "%s needs a value", shown);
                        val = argv[++i];
                    }
                    struct aios_err err;
                    if (aios_config_set(cli->cfg, setting, val, AIOS_CFG_FROM_FLAG, &err))
                        return aios_cli_usage_error(spec, "%s", err.msg);
                    if (apply_runtime_setting(cli, spec, setting))
                        return AIOS_EXIT_USAGE;
                    continue;
                }
            }
        } else if (a[2] == 0) {
            o = find_short(spec->opts, a[1]);
            snprintf(shown, sizeof shown, "-%c", a[1]);
        } else {
            /* Negative numbers are positionals ("-1"); anything else is a bad flag. */
            double d;
            if (aios_parse_double(a, &d) == AIOS_OK) {
                pos[(*npos)++] = a;
                continue;
            }
            snprintf(shown, sizeof shown, "%s", a);
        }
        if (!o)
            return aios_cli_usage_error(spec, "unknown option '%s'", shown);
        if (o->kind == AIOS_OPT_BOOL) {
            if (val)
                return aios_cli_usage_error(spec, "%s takes no value", shown);
        } else if (!val) {
            if (i + 1 >= argc)
                return aios_cli_usage_error(spec, "%s needs a value (%s)", shown,
                                            o->metavar ? o->metavar : "VALUE");
            val = argv[++i];
        }
        int rc = apply(spec, o, shown, val);
        if (rc)
            return rc;
    }
    if (*npos < spec->min_pos)
        return aios_cli_usage_error(spec, "missing argument%s",
                                    spec->min_pos - *npos > 1 ? "s" : "");
    if (spec->max_pos >= 0 && *npos > spec->max_pos)
        return aios_cli_usage_error(spec, "unexpected argument '%s'", pos[spec->max_pos]);
    return AIOS_EXIT_OK;
}

int aios_cli_threads(const struct aios_cli *cli)
{
    int64_t n = aios_config_int(cli->cfg, "threads");
    return n > 0 ? (int)n : aios_cpu_count();
}

int aios_cli_subcommands(struct aios_cli *cli, const char *group, const char *summary,
                         const struct aios_subcmd *subs, int argc, char **argv)
{
    FILE *f = stderr;
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (sub && (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0))
        f = stdout;
    else if (sub) {
        for (const struct aios_subcmd *s = subs; s->name; s++)
            if (strcmp(s->name, sub) == 0)
                return s->fn(cli, argc - 1, argv + 1);
        fprintf(stderr, "aios %s: unknown subcommand '%s'\n", group, sub);
    } else {
        fprintf(stderr, "aios %s: missing subcommand\n", group);
    }
    fprintf(f, "usage: aios %s COMMAND [options]\n\n%s\n\ncommands:\n", group, summary);
    for (const struct aios_subcmd *s = subs; s->name; s++)
        fprintf(f, "  %-12s %s\n", s->name, s->summary);
    fprintf(f, "\n`aios %s COMMAND --help` describes each.\n", group);
    return f == stdout ? AIOS_EXIT_OK : AIOS_EXIT_USAGE;
}
