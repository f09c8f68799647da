/*
 * cli: the `aios` command. main.c parses the global settings, finds the
 * command in commands.def and calls it; args.c is a small declarative flag
 * parser so that every command's --help is generated from the same table
 * that parses its flags.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error (unknown
 * command or flag, missing argument).
 */
#ifndef AIOS_CLI_H
#define AIOS_CLI_H

#include "base/base.h"

#define AIOS_EXIT_OK 0
#define AIOS_EXIT_FAIL 1
#define AIOS_EXIT_USAGE 2

/* State shared by every command: the configuration after file, environment
 * and flags have been applied. */
struct aios_cli {
    aios_config *cfg;
    const char *prog; /* "aios" */
};

enum aios_opt_kind {
    AIOS_OPT_BOOL,   /* --flag; sets *(bool *)dst */
    AIOS_OPT_STR,    /* --flag VALUE; *(const char **)dst */
    AIOS_OPT_INT,    /* *(int64_t *)dst, strict */
    AIOS_OPT_DOUBLE, /* *(double *)dst, strict */
    AIOS_OPT_STRLIST /* repeatable; appends to *(struct aios_strlist *)dst */
};

struct aios_strlist {
    const char **items;
    int n;
};
void aios_strlist_free(struct aios_strlist *l);

struct aios_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    enum aios_opt_kind kind;
    void *dst;
    const char *metavar; /* "N", "FILE"; NULL for bool */
    const char *help;
};

/* A command's declaration: usage line(s) after "aios NAME", a paragraph of
 * description, its flags (terminated by a zeroed entry) and how many
 * positional arguments it takes. */
struct aios_cmd_spec {
    const char *name;    /* "gguf info" */
    const char *usage;   /* "FILE [--json]" */
    const char *summary; /* one line */
    const char *description;
    const struct aios_opt *opts;
    int min_pos, max_pos; /* max_pos -1 = unbounded */
};

/* Parses argv (argv[0] is the command name, already consumed) against the
 * spec. Positional arguments are left in pos[0..*npos). Settings flags from
 * the configuration table (--data-dir, --threads, ...) are accepted by every
 * command and applied to cli->cfg. Returns AIOS_EXIT_OK to go on, or an exit
 * code to return at once: AIOS_EXIT_USAGE after printing a one-line error and
 * the usage, or -1 after --help printed the help (exit 0). pos must have room
 * for argc entries. */
int aios_cli_parse(struct aios_cli *cli, const struct aios_cmd_spec *spec, int argc, char **argv,
                   char **pos, int *npos);
void aios_cli_usage(FILE *f, const struct aios_cmd_spec *spec);
void aios_cli_help(FILE *f, const struct aios_cmd_spec *spec);
/* Prints "aios NAME: message" and returns AIOS_EXIT_FAIL. */
int aios_cli_fail(const struct aios_cmd_spec *spec, const struct aios_err *err);
/* Usage error with one line of explanation; returns AIOS_EXIT_USAGE. */
int aios_cli_usage_error(const struct aios_cmd_spec *spec, const char *fmt, ...) AIOS_PRINTF(2, 3);

/* Parses token ids separated by commas or blanks ("1,2,3") into *out
 * (aios_free); at most max ids. */
int aios_cli_parse_ids(const char *s, int32_t **out, int *n, int max, struct aios_err *err);

/* Sampling flags shared by generate and chat: AIOS_CLI_SAMPLING_OPTS(f)
 * expands to their entries of a flag table. */
struct aios_sampling;
struct aios_cli_sampling {
    int64_t top_k, seed;
    double temp, top_p, min_p, repeat_penalty;
};
#define AIOS_CLI_SAMPLING_OPTS(f)                                                                   \
    {"temp", 0, AIOS_OPT_DOUBLE, &(f).temp, "T", "temperature; 0 = greedy (default 0.8)"},          \
        {"top-k",    0,   AIOS_OPT_INT,                                                             \
         &(f).top_k, "K", "keep the K most likely tokens; 0 = off (default 40)"},                   \
        {"top-p", 0, AIOS_OPT_DOUBLE, &(f).top_p, "P", "nucleus sampling; 1 = off (default 0.95)"}, \
        {"min-p",    0,   AIOS_OPT_DOUBLE,                                                          \
         &(f).min_p, "P", "drop tokens below P x the best; 0 = off (default 0.05)"},                \
        {"repeat-penalty",    0,   AIOS_OPT_DOUBLE,                                                 \
         &(f).repeat_penalty, "X", "penalise the last 64 tokens; 1 = off"},                         \
    {                                                                                               \
        "seed", 's', AIOS_OPT_INT, &(f).seed, "S", "random seed (default 0)"                        \
    }
void aios_cli_sampling_init(struct aios_cli_sampling *f);
/* Usage error (exit 2) for values out of range, else 0. */
int aios_cli_sampling_check(const struct aios_cmd_spec *spec, const struct aios_cli_sampling *f);
void aios_cli_sampling_apply(const struct aios_cli_sampling *f, struct aios_sampling *s);

/* The thread count the configuration asks for (0 resolved to CPU count). */
int aios_cli_threads(const struct aios_cli *cli);

/* Every command: int aios_cmd_NAME(struct aios_cli *, int argc, char **argv)
 * with argv[0] the command word. Commands with subcommands ("gguf info")
 * dispatch themselves, with aios_cli_subcommands below. */
#define AIOS_CMD(name, summary) int aios_cmd_##name(struct aios_cli *cli, int argc, char **argv);
#include "cli/commands.def"
#undef AIOS_CMD

/* Subcommands defined in their own files. */
int aios_cmd_model_synth(struct aios_cli *cli, int argc, char **argv);

struct aios_subcmd {
    const char *name;
    int (*fn)(struct aios_cli *cli, int argc, char **argv);
    const char *summary;
};
/* Dispatches argv[1] among subs (NULL-terminated); `group` names the parent
 * command for messages and help ("model"). */
int aios_cli_subcommands(struct aios_cli *cli, const char *group, const char *summary,
                         const struct aios_subcmd *subs, int argc, char **argv);

#endif
