/* `aios version` and `aios config show`. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct aios_cmd_spec version_spec = {
    .name = "version",
    .usage = "",
    .summary = "Print the aios version, build type, compiler and the CPU features detected.",
    .description = "The CPU features decide which kernel paths run; set AIOS_CPU_DISABLE\n"
                   "(e.g. avx512,avx2) to mask some of them.",
    .min_pos = 0,
    .max_pos = 0,
};

int aios_cmd_version(struct aios_cli *cli, int argc, char **argv)
{
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &version_spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    const struct aios_cpu *cpu = aios_cpu_get();
    char feats[512];
    printf("aios %s\n", AIOS_VERSION);
    printf("build:    %s\n", AIOS_BUILD_TYPE);
#if defined(__clang__)
    printf("compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    printf("compiler: gcc %s\n", __VERSION__);
#endif
    printf("cpu:      %s (%s), %d threads\n", cpu->brand[0] ? cpu->brand : "unknown", cpu->vendor,
           aios_cpu_count());
    printf("features: %s\n", aios_cpu_features_str(cpu, feats, sizeof feats));
    return 0;
}

static const struct aios_cmd_spec show_spec = {
    .name = "config show",
    .usage = "[--json]",
    .summary = "Print every setting, its value and where the value came from.",
    .description = "Sources, strongest first: flag, env (AIOS_<NAME>), file (aios.conf,\n"
                   "--config FILE or AIOS_CONFIG), default.",
    .min_pos = 0,
    .max_pos = 0,
};

static int config_show(struct aios_cli *cli, int argc, char **argv)
{
    bool json = false;
    struct aios_opt opts[] = {
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print a JSON object"},
        {0},
    };
    struct aios_cmd_spec spec = show_spec;
    spec.opts = opts;
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (json) {
        json_t *o = json_object();
        for (const struct aios_cfg_def *d = aios_cfg_defs; d->name; d++) {
            json_t *e = json_object();
            json_object_set_new(e, "value", json_string(aios_config_str(cli->cfg, d->name)));
            json_object_set_new(
                e, "source",
                json_string(aios_cfg_source_str(aios_config_source(cli->cfg, d->name))));
            json_object_set_new(o, d->name, e);
        }
        char *s = aios_json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", s ? s : "{}");
        aios_free(s);
        json_decref(o);
        return 0;
    }
    const char *file = aios_config_file_path(cli->cfg);
    printf("# config file: %s\n", file ? file : "(none)");
    printf("%-16s %-24s %-8s %s\n", "NAME", "VALUE", "SOURCE", "DESCRIPTION");
    for (const struct aios_cfg_def *d = aios_cfg_defs; d->name; d++)
        printf("%-16s %-24s %-8s %s\n", d->name, aios_config_str(cli->cfg, d->name),
               aios_cfg_source_str(aios_config_source(cli->cfg, d->name)), d->doc);
    return 0;
}

int aios_cmd_config(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"show", config_show, "every setting, its value and its source"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "config", "Inspect the configuration.", subs, argc, argv);
}
