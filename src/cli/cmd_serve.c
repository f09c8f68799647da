/*
 * `aios serve`: runs the OpenAI-compatible HTTP server until SIGINT or
 * SIGTERM. Models named with --model are checked and handed to the engine;
 * until the engine is wired in (open_backend below) the server runs without
 * a backend and serves everything that needs no model.
 */
#include "cli/cli.h"
#include "mlops/mlops.h"
#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct aios_cmd_spec serve_spec = {
    .name = "serve",
    .usage = "[--host H] [--port P] [--model NAME=FILE|NAME[@VERSION|@ALIAS] ...] [--parallel N]\n"
             "                  [--ctx N] [--api-key KEY ...]",
    .summary = "Run the OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions,\n"
               "/v1/embeddings, /v1/models, /tokenize, /detokenize, /health, /metrics) and the\n"
               "model registry API (/api/v1/models).",
    .description =
        "--host and --port are the settings of the same names. With --api-key (or keys\n"
        "stored in DATA_DIR/api-keys as SHA-256 hashes) every endpoint but /health needs\n"
        "`Authorization: Bearer KEY`. Request bodies are limited by http_max_body_mb.\n"
        "--model NAME=FILE serves a file under NAME; --model without '=' is a registry\n"
        "reference (llama, llama@3, llama@production) resolved at start-up to that\n"
        "version's file and served under the id as given. The file is hashed first and\n"
        "refused if it no longer matches the registry's SHA-256; moving an alias later\n"
        "does not change what a running server serves.\n"
        "POST /api/v1/models registers only files inside the directories of --model-dirs\n"
        "(colon-separated; default DATA_DIR/models, created if missing): any other path,\n"
        "`..` and symlinks resolved first, is refused with 403.\n"
        "SIGINT or SIGTERM stops the server: streams in progress are cancelled.\n"
        "Platform API: POST /api/v1/alarms (Alertmanager webhooks, generic alarms),\n"
        "GET /api/v1/alarms, /api/v1/incidents[/ID], /api/v1/checks (docs/alarms.md);\n"
        "alarm_group_by and incident_window_s set how alarms group into incidents.",
    .min_pos = 0,
    .max_pos = 0,
};

/* Where the engine plugs in: fill *be from the specs and return AIOS_OK, or
 * leave it zeroed (no backend). *state is released by close_backend. */
static int open_backend(const struct aios_server_opts *o, struct aios_server_backend *be,
                        void **state, struct aios_err *err)
{
    return aios_server_engine_backend_open(o, be, state, err);
}

static void close_backend(void *state)
{
    aios_server_engine_backend_close(state);
}

/* Strings a model spec owns. */
struct model_owned {
    char *name, *path, *registry_name, *sha256;
};

static void owned_free(struct model_owned *o, int n)
{
    for (int i = 0; o && i < n; i++) {
        aios_free(o[i].name);
        aios_free(o[i].path);
        aios_free(o[i].registry_name);
        aios_free(o[i].sha256);
    }
    aios_free(o);
}

/* --model REF: resolves a registry reference through the store to its
 * version's file, and refuses a file whose SHA-256 no longer matches the
 * registry's (the whole file is hashed; the time is printed). */
static int resolve_ref(const char *data_dir, aios_store **st, const char *value,
                       struct aios_server_model_spec *out, struct model_owned *own,
                       struct aios_err *err)
{
    struct aios_registry_ref ref;
    int rc = aios_registry_ref_parse(value, &ref, err);
    if (rc) {
        aios_err_prefix(err,
                        "--model '%s' is neither NAME=FILE nor a registry reference "
                        "(NAME, NAME@VERSION, NAME@ALIAS)",
                        value);
        return rc;
    }
    if (!*st && (rc = aios_store_open_dir(data_dir, st, err)))
        return rc;
    struct aios_store_model m;
    struct aios_store_model_version v;
    if ((rc = aios_registry_resolve(*st, value, &m, &v, err))) {
        aios_err_prefix(err, "--model %s", value);
        return rc;
    }
    char canon[AIOS_REGISTRY_NAME_MAX + 32], sz[32];
    snprintf(canon, sizeof canon, "%s@%lld", m.name, (long long)v.version);
    if (v.size_bytes >= ((int64_t)256 << 20)) {
        printf("aios: verifying %s (%s) against the registry's sha256...\n", canon,
               aios_fmt_bytes((uint64_t)v.size_bytes, sz, sizeof sz));
        fflush(stdout);
    }
    uint64_t t0 = aios_time_ns();
    rc = aios_registry_verify(&v, canon, NULL, NULL, err);
    double ms = (double)(aios_time_ns() - t0) * 1e-6;
    if (rc) {
        aios_err_prefix(err, "--model %s: refusing to serve it", value);
    } else {
        printf("aios: model %s is %s (%s, %s, %s); sha256 verified in %.1f ms\n", value, canon,
               v.path, v.file_type, aios_fmt_bytes((uint64_t)v.size_bytes, sz, sizeof sz), ms);
        own->name = aios_strdup(value);
        own->path = aios_strdup(v.path);
        own->registry_name = aios_strdup(m.name);
        own->sha256 = aios_strdup(v.sha256);
        if (!own->name || !own->path || !own->registry_name || !own->sha256)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        out->registry_version = v.version;
    }
    aios_store_model_free(&m);
    aios_store_model_version_free(&v);
    if (!rc) {
        out->name = own->name;
        out->path = own->path;
        out->registry_name = own->registry_name;
        out->sha256 = own->sha256;
    }
    return rc;
}

static int parse_models(const char *data_dir, const struct aios_strlist *l,
                        struct aios_server_model_spec *out, struct model_owned *own,
                        struct aios_err *err)
{
    aios_store *st = NULL;
    int rc = AIOS_OK;
    for (int i = 0; i < l->n && !rc; i++) {
        const char *eq = strchr(l->items[i], '=');
        if (!eq) {
            rc = resolve_ref(data_dir, &st, l->items[i], &out[i], &own[i], err);
        } else if (eq == l->items[i] || !eq[1]) {
            rc = aios_err_set(err, AIOS_EINVAL,
                              "--model expects NAME=FILE or a registry "
                              "reference, got '%s'",
                              l->items[i]);
        } else if ((size_t)(eq - l->items[i]) >= 128) {
            rc = aios_err_set(err, AIOS_EINVAL, "--model: the name is longer than 127 bytes");
        } else if (!(own[i].name = aios_strndup(l->items[i], (size_t)(eq - l->items[i])))) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        } else {
            struct stat sb;
            if (stat(eq + 1, &sb) != 0 || !S_ISREG(sb.st_mode))
                rc = aios_err_set(err, AIOS_ENOTFOUND, "--model %s: '%s' is not a readable file",
                                  own[i].name, eq + 1);
            out[i].name = own[i].name;
            out[i].path = eq + 1;
        }
        if (!rc && strlen(out[i].name) >= 128)
            rc = aios_err_set(err, AIOS_EINVAL, "--model: the name is longer than 127 bytes");
        for (int j = 0; j < i && !rc; j++)
            if (strcmp(out[j].name, out[i].name) == 0)
                rc = aios_err_set(err, AIOS_EEXIST, "--model: the name '%s' is given twice",
                                  out[i].name);
    }
    aios_store_close(st);
    return rc;
}

int aios_cmd_serve(struct aios_cli *cli, int argc, char **argv)
{
    struct aios_strlist models = {0}, keys = {0};
    int64_t parallel = 4, ctx = 0;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STRLIST, &models, "NAME=FILE|REF",
         "serve a GGUF file under NAME, or a registered version"},
        {"parallel", 0, AIOS_OPT_INT, &parallel, "N", "sequences decoded at once (default 4)"},
        {"ctx", 0, AIOS_OPT_INT, &ctx, "N", "context length per sequence (default: the model's)"},
        {"api-key", 0, AIOS_OPT_STRLIST, &keys, "KEY", "accept this API key"},
        {0},
    };
    struct aios_cmd_spec spec = serve_spec;
    spec.opts = opts;
    char **pos = aios_calloc((size_t)argc + 1, sizeof *pos);
    struct aios_server_model_spec *mspecs = NULL;
    struct model_owned *owned = NULL;
    void *state = NULL;
    aios_server *srv = NULL;
    struct aios_err err = {0};
    int npos, rc = pos ? aios_cli_parse(cli, &spec, argc, argv, pos, &npos) : AIOS_EXIT_FAIL;
    if (rc)
        goto out;
    /* main() applied the log level from file and environment; a --log-level
     * flag lands in cfg only during the parse above. */
    enum aios_log_level lvl;
    if (aios_log_level_parse(aios_config_str(cli->cfg, "log_level"), &lvl) == AIOS_OK)
        aios_log_set_level(lvl);
    if (parallel < 1 || parallel > 1024) {
        rc = aios_cli_usage_error(&spec, "--parallel must be in [1, 1024]");
        goto out;
    }
    if (ctx < 0 || ctx > (1 << 24)) {
        rc = aios_cli_usage_error(&spec, "--ctx must be in [0, 16777216]");
        goto out;
    }
    int64_t body_mb = aios_config_int(cli->cfg, "http_max_body_mb");
    int64_t port = aios_config_int(cli->cfg, "port");
    if (body_mb < 1 || body_mb > 1024) {
        rc = aios_cli_usage_error(&spec, "http_max_body_mb must be in [1, 1024]");
        goto out;
    }
    if (port < 0 || port > 65535) {
        rc = aios_cli_usage_error(&spec, "port must be in [0, 65535]");
        goto out;
    }
    mspecs = aios_calloc((size_t)models.n + 1, sizeof *mspecs);
    owned = aios_calloc((size_t)models.n + 1, sizeof *owned);
    if (!mspecs || !owned) {
        aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        rc = aios_cli_fail(&spec, &err);
        goto out;
    }
    if (parse_models(aios_config_str(cli->cfg, "data_dir"), &models, mspecs, owned, &err)) {
        rc = err.code == AIOS_EINVAL || err.code == AIOS_EEXIST
                 ? aios_cli_usage_error(&spec, "%s", err.msg)
                 : aios_cli_fail(&spec, &err);
        goto out;
    }
    struct aios_server_opts so = {
        .host = aios_config_str(cli->cfg, "host"),
        .port = (int)port,
        .max_body = (size_t)body_mb << 20,
        .parallel = (int)parallel,
        .n_ctx = ctx,
        .models = mspecs,
        .n_models = models.n,
        .api_keys = keys.items,
        .n_api_keys = keys.n,
        .data_dir = aios_config_str(cli->cfg, "data_dir"),
        .model_dirs = aios_config_str(cli->cfg, "model_dirs"),
        .alarm_group_by = aios_config_str(cli->cfg, "alarm_group_by"),
        .incident_window_s = aios_config_int(cli->cfg, "incident_window_s"),
    };
    struct aios_server_backend be;
    if (open_backend(&so, &be, &state, &err)) {
        rc = aios_cli_fail(&spec, &err);
        goto out;
    }
    bool have_backend = be.list_models != NULL;

    /* Signals go to this thread only (sigwait below); the server's threads
     * inherit the mask. SIGPIPE from a vanished client must not kill us. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (aios_server_start(&so, have_backend ? &be : NULL, &srv, &err)) {
        rc = aios_cli_fail(&spec, &err);
        goto out;
    }
    const char *host = so.host;
    bool v6 = strchr(host, ':') != NULL;
    printf("aios: serving on http://%s%s%s:%d (OpenAI API under /v1)\n", v6 ? "[" : "", host,
           v6 ? "]" : "", aios_server_port(srv));
    if (aios_server_key_count(srv) == 0)
        printf("aios: no API key set: requests are not authenticated (use --api-key KEY)\n");
    if (models.n == 0)
        printf("aios: no model loaded; start with `--model NAME=path/to/model.gguf` or register "
               "one (`aios model add FILE --name NAME`) and use `--model NAME`\n");
    else if (!have_backend)
        for (int i = 0; i < models.n; i++)
            printf("aios: model %s (%s) noted, but this build has no inference engine yet\n",
                   mspecs[i].name, mspecs[i].path);
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    AIOS_INFO("server", "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    aios_server_stop(srv);
    srv = NULL;
    printf("aios: stopped\n");
    rc = 0;
out:
    aios_server_stop(srv);
    close_backend(state);
    owned_free(owned, models.n);
    aios_free(mspecs);
    aios_strlist_free(&models);
    aios_strlist_free(&keys);
    aios_free(pos);
    return rc;
}
