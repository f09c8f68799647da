/* `aios store check`: opens the store under --data-dir (applying pending
 * migrations, as every command does) and runs the backend's full
 * consistency check. Operators run it after a crash or a disk problem; the
 * crash tests run it after killing a writer. */
#include "cli/cli.h"
#include "store/store.h"

#include <stdio.h>

static int store_check(struct aios_cli *cli, int argc, char **argv)
{
    struct aios_cmd_spec spec = {
        .name = "store check",
        .usage = "",
        .summary = "Check the store's consistency (SQLite integrity and foreign keys).",
        .description = "Prints the database location and the migrations applied; exits 1\n"
                       "with the first problem found.",
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    aios_store *st;
    struct aios_err err;
    if (aios_store_open_dir(aios_config_str(cli->cfg, "data_dir"), &st, &err))
        return aios_cli_fail(&spec, &err);
    json_t *migs = NULL;
    rc = aios_store_check(st, &err);
    if (!rc)
        rc = aios_store_migrations_json(st, &migs, &err);
    if (!rc) {
        printf("%s (%s): ok\n", aios_store_location(st), aios_store_backend_name(st));
        size_t i;
        json_t *m;
        json_array_foreach(migs, i, m)
        {
            char when[40];
            printf("  migration %s %lld (%s), applied %s\n",
                   json_string_value(json_object_get(m, "module")),
                   (long long)json_integer_value(json_object_get(m, "version")),
                   json_string_value(json_object_get(m, "name")),
                   aios_fmt_time_iso(json_integer_value(json_object_get(m, "applied_ms")), when,
                                     sizeof when));
        }
    }
    json_decref(migs);
    aios_store_close(st);
    return rc ? aios_cli_fail(&spec, &err) : 0;
}

int aios_cmd_store(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"check", store_check, "check the store's consistency"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "store", "The platform store (aios.db).", subs, argc, argv);
}
