/* `aios checks`: the checks catalogue under DATA_DIR/checks (list, validate,
 * init). The listing loads every file as the server's GET /api/v1/checks
 * does: bad files are reported (and make the exit status 1) while the good
 * ones still list. */
#include "cli/cli.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

static int checks_dir(struct aios_cli *cli, const char *dir, char *out, size_t size,
                      const struct aios_cmd_spec *spec)
{
    if (dir) {
        aios_strlcpy(out, dir, size);
        return 0;
    }
    struct aios_err err;
    if (aios_data_path(cli->cfg, "checks", out, size, &err))
        return aios_cli_fail(spec, &err);
    return 0;
}

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static int checks_list(struct aios_cli *cli, int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    struct aios_opt opts[] = {
        {"dir", 0, AIOS_OPT_STR, &dir, "DIR", "read checks from DIR (default DATA_DIR/checks)"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print {checks, problems} as JSON"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "checks list",
        .usage = "[--dir DIR] [--json]",
        .summary = "List the checks of the catalogue and the files that failed to load.",
        .description = "Every *.yaml, *.yml and *.json file of the directory is read in name\n"
                       "order. A file with any bad check is skipped as a whole and reported\n"
                       "(then the exit status is 1); the others load.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    char path[4096];
    if ((rc = checks_dir(cli, dir, path, sizeof path, &spec)))
        return rc;
    struct aios_ops_checks c;
    struct aios_err err;
    if (aios_ops_checks_load_dir(path, &c, &err))
        return aios_cli_fail(&spec, &err);
    json_t *j = aios_ops_checks_to_json(&c);
    if (!j) {
        aios_ops_checks_free(&c);
        aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        return aios_cli_fail(&spec, &err);
    }
    if (json) {
        char *s = aios_json_dumps(j, JSON_INDENT(2));
        printf("%s\n", s ? s : "null");
        aios_free(s);
    } else if (c.n == 0) {
        printf("no checks in %s%s\n", path,
               c.nproblems ? "" : " (`aios checks init` writes an example catalogue)");
    } else {
        printf("%-32s %-8s %-18s %-9s %-7s %s\n", "NAME", "ENABLED", "DETECTOR", "SEVERITY",
               "JUDGES", "RUNBOOK");
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(j, "checks"), i, o)
        {
            printf("%-32s %-8s %-18s %-9s %-7s %s\n", js(o, "name"),
                   json_is_true(json_object_get(o, "enabled")) ? "yes" : "no", js(o, "detector"),
                   js(o, "severity"), json_object_get(o, "metric") ? "metric" : "log",
                   js(o, "runbook"));
        }
    }
    for (int i = 0; i < c.nproblems; i++)
        fprintf(stderr, "aios checks list: %s\n", c.problems[i].message);
    rc = c.nproblems ? AIOS_EXIT_FAIL : 0;
    json_decref(j);
    aios_ops_checks_free(&c);
    return rc;
}

static int checks_validate(struct aios_cli *cli, int argc, char **argv)
{
    struct aios_cmd_spec spec = {
        .name = "checks validate",
        .usage = "FILE...",
        .summary = "Validate checks files without installing them.",
        .description = "Prints `FILE: ok (N checks)` or the first error of each file, naming\n"
                       "the field; exits 1 when any file is bad. Checks in different files\n"
                       "must have different names.",
        .min_pos = 1,
        .max_pos = -1,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    struct aios_ops_checks c = {0};
    int bad = 0;
    for (int i = 0; i < npos; i++) {
        struct aios_err err;
        int before = c.n;
        if (aios_ops_checks_load_file(&c, pos[i], &err)) {
            fprintf(stderr, "aios checks validate: %s\n", err.msg);
            bad++;
        } else {
            printf("%s: ok (%d check%s)\n", pos[i], c.n - before, c.n - before == 1 ? "" : "s");
        }
    }
    aios_ops_checks_free(&c);
    return bad ? AIOS_EXIT_FAIL : 0;
}

static int checks_init(struct aios_cli *cli, int argc, char **argv)
{
    const char *dir = NULL;
    bool force = false;
    struct aios_opt opts[] = {
        {"dir", 0, AIOS_OPT_STR, &dir, "DIR", "write into DIR (default DATA_DIR/checks)"},
        {"force", 'f', AIOS_OPT_BOOL, &force, NULL, "replace an existing examples.yaml"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "checks init",
        .usage = "[--dir DIR] [--force]",
        .summary = "Write an example catalogue (examples.yaml) to start from.",
        .description = "Eight checks, one or more per detector family, adapted from\n"
                       "awesome-prometheus-alerts (CC BY 4.0). Edit them or add files.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    char path[4096], file[4200];
    if ((rc = checks_dir(cli, dir, path, sizeof path, &spec)))
        return rc;
    struct aios_err err;
    if (aios_ops_checks_init(path, force, file, sizeof file, &err))
        return aios_cli_fail(&spec, &err);
    printf("wrote %s\n", file);
    return 0;
}

int aios_cmd_checks(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"list", checks_list, "list the catalogue and the files that failed"},
        {"validate", checks_validate, "validate checks files"},
        {"init", checks_init, "write an example catalogue"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(
        cli, "checks",
        "The checks catalogue: what to judge (metric or log pattern), the detector and its\n"
        "parameters, the severity and the runbook. Files live in DATA_DIR/checks.",
        subs, argc, argv);
}
