/* `aios apikey`: API keys stored by the platform (SHA-256 hashes under the
 * data directory); the server accepts them besides --api-key. */
#include "cli/cli.h"
#include "server/server.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int apikey_add(struct aios_cli *cli, int argc, char **argv)
{
    const char *label = NULL, *key = NULL;
    struct aios_opt opts[] = {
        {"label", 'l', AIOS_OPT_STR, &label, "TEXT", "what the key is for (stored with the hash)"},
        {"key", 0, AIOS_OPT_STR, &key, "KEY", "store this key instead of a new random one"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "apikey add",
        .usage = "[--label TEXT] [--key KEY]",
        .summary = "Create an API key and store its SHA-256 hash in DATA_DIR/api-keys.",
        .description =
            "The key is printed once; only its hash is kept. `aios serve` accepts every\n"
            "stored key (restart it to pick up new ones).",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    char fresh[64];
    if (!key) {
        uint8_t raw[24];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) {
            if (fd >= 0)
                close(fd);
            struct aios_err e = {AIOS_EIO, "cannot read /dev/urandom"};
            return aios_cli_fail(&spec, &e);
        }
        close(fd);
        memcpy(fresh, "aios-", 5);
        aios_hex_encode(raw, sizeof raw, fresh + 5);
        key = fresh;
    } else if (strlen(key) < 16) {
        return aios_cli_usage_error(&spec, "--key must be at least 16 characters");
    }
    char dir[4096];
    struct aios_err err = {0};
    if (aios_data_path(cli->cfg, "", dir, sizeof dir, &err) ||
        aios_server_keys_add(dir, key, label, &err))
        return aios_cli_fail(&spec, &err);
    printf("%s\n", key);
    fprintf(stderr, "stored the key's hash in %s/api-keys; it is not shown again\n", dir);
    return 0;
}

int aios_cmd_apikey(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"add", apikey_add, "create an API key and store its hash"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "apikey", "API keys the server accepts (stored as hashes).",
                                subs, argc, argv);
}
