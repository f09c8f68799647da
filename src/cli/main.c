/*
 * The `aios` command: loads the configuration (aios.conf, AIOS_* variables,
 * then the setting flags the command line carries), applies logging and
 * memory settings, and dispatches to the command in commands.def.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmd_entry {
    const char *name;
    int (*fn)(struct aios_cli *, int, char **);
    const char *summary;
};

static const struct cmd_entry commands[] = {
#define AIOS_CMD(name, summary) {#name, aios_cmd_##name, summary},
#include "cli/commands.def"
#undef AIOS_CMD
    {NULL, NULL, NULL},
};

static void print_commands(FILE *f)
{
    fprintf(f, "usage: aios COMMAND [options]\n\n"
               "aios: a self-hosted large-model platform for IT operations.\n\ncommands:\n");
    for (const struct cmd_entry *c = commands; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\n`aios COMMAND --help` describes a command and its options.\n"
               "Settings (`aios config show`) come from flags, AIOS_* environment variables,\n"
               "aios.conf (or --config FILE / AIOS_CONFIG), then built-in defaults.\n");
}

static const struct aios_cmd_spec help_spec = {
    .name = "help",
    .usage = "[COMMAND]",
    .summary = "Show the list of commands, or the help of one command.",
    .min_pos = 0,
    .max_pos = 1,
};

int aios_cmd_help(struct aios_cli *cli, int argc, char **argv)
{
    char *pos[8];
    int npos;
    int rc = aios_cli_parse(cli, &help_spec, argc, argv, pos, &npos);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (npos == 0) {
        print_commands(stdout);
        return 0;
    }
    for (const struct cmd_entry *c = commands; c->name; c++) {
        if (strcmp(c->name, pos[0]) == 0) {
            char *hargv[] = {pos[0], "--help", NULL};
            return c->fn(cli, 2, hargv);
        }
    }
    fprintf(stderr, "aios help: unknown command '%s'\n", pos[0]);
    print_commands(stderr);
    return AIOS_EXIT_USAGE;
}

/* Pulls --config FILE out of argv (it must be known before the file loads). */
static const char *take_config_flag(int *argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < *argc; i++) {
        int drop = 0;
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < *argc) {
            path = argv[i + 1];
            drop = 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
            drop = 1;
        }
        if (drop) {
            memmove(&argv[i], &argv[i + drop], sizeof *argv * (size_t)(*argc - i - drop + 1));
            *argc -= drop;
            i--;
        }
    }
    return path;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_commands(stderr);
        return AIOS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        print_commands(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0)
        cmd = "version";

    const struct cmd_entry *entry = NULL;
    for (const struct cmd_entry *c = commands; c->name; c++)
        if (strcmp(c->name, cmd) == 0)
            entry = c;
    if (!entry) {
        fprintf(stderr, "aios: unknown command '%s'\n", cmd);
        print_commands(stderr);
        return AIOS_EXIT_USAGE;
    }

    struct aios_cli cli = {.prog = "aios"};
    cli.cfg = aios_config_create();
    if (!cli.cfg) {
        fprintf(stderr, "aios: out of memory\n");
        return AIOS_EXIT_FAIL;
    }
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    const char *cfg_path = take_config_flag(&sub_argc, sub_argv);
    bool cfg_optional = false;
    if (!cfg_path)
        cfg_path = getenv("AIOS_CONFIG");
    if (!cfg_path || !*cfg_path) {
        cfg_path = "aios.conf";
        cfg_optional = true;
    }
    struct aios_err err;
    if (aios_config_load_file(cli.cfg, cfg_path, cfg_optional, &err) ||
        aios_config_load_env(cli.cfg, &err)) {
        fprintf(stderr, "aios: %s\n", err.msg);
        aios_config_destroy(cli.cfg);
        return AIOS_EXIT_USAGE;
    }
    /* Flags are applied by each command's parser; the log level and memory
     * cap from file/env take effect now, and again below if a flag set them. */
    enum aios_log_level lvl;
    if (aios_log_level_parse(aios_config_str(cli.cfg, "log_level"), &lvl) == AIOS_OK)
        aios_log_set_level(lvl);
    else {
        fprintf(stderr, "aios: log_level '%s' is not one of debug, info, warn, error, off\n",
                aios_config_str(cli.cfg, "log_level"));
        aios_config_destroy(cli.cfg);
        return AIOS_EXIT_USAGE;
    }
    int64_t mem_mb = aios_config_int(cli.cfg, "mem_limit_mb");
    if (mem_mb > 0)
        aios_mem_set_limit((size_t)mem_mb << 20);

    int rc = entry->fn(&cli, sub_argc, sub_argv);
    aios_config_destroy(cli.cfg);
    return rc < 0 ? 0 : rc;
}
