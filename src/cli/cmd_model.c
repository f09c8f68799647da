/* `aios model`: the model registry from the command line (add, list, show,
 * alias, rm). Each subcommand opens the store under --data-dir, calls the
 * registry functions the HTTP API also calls, and prints text or, with
 * --json, the registry's MLflow-shaped JSON. */
#include "cli/cli.h"
#include "mlops/mlops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_store(struct aios_cli *cli, const struct aios_cmd_spec *spec, aios_store **st)
{
    struct aios_err err;
    if (aios_store_open_dir(aios_config_str(cli->cfg, "data_dir"), st, &err))
        return aios_cli_fail(spec, &err);
    return 0;
}

static void print_json(json_t *j)
{
    char *s = aios_json_dumps(j, JSON_INDENT(2));
    printf("%s\n", s ? s : "null");
    aios_free(s);
}

/* ---- add ----------------------------------------------------------------- */

/* Progress bar for hashing big files, on stderr when it is a terminal
 * (or AIOS_PROGRESS=1), redrawn at each whole percent. */
#define PROGRESS_MIN_BYTES ((uint64_t)64 << 20)

struct progress {
    bool on;    /* stderr is a terminal */
    bool force; /* AIOS_PROGRESS=1: draw whatever the size and terminal */
    int last_pct;
};

static void progress_cb(void *ud, uint64_t done, uint64_t total)
{
    struct progress *p = ud;
    if (total == 0 || (!p->force && (!p->on || total < PROGRESS_MIN_BYTES)))
        return;
    int pct = (int)(done * 100 / total);
    if (pct == p->last_pct)
        return;
    p->last_pct = pct;
    char a[32], b[32], bar[41];
    int fill = pct * 40 / 100;
    for (int i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[40] = 0;
    fprintf(stderr, "\rhashing [%s] %3d%% %s / %s", bar, pct, aios_fmt_bytes(done, a, sizeof a),
            aios_fmt_bytes(total, b, sizeof b));
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

static const struct aios_cmd_spec add_spec = {
    .name = "model add",
    .usage = "FILE --name NAME [--kind base|proprietary] [--description D] [--tag K=V ...]\n"
             "                      [--from NAME@VERSION --how quantize|finetune|train] [--json]",
    .summary = "Register a GGUF file as the next version of a model.",
    .description =
        "The file is validated as GGUF and hashed (SHA-256) before anything is written;\n"
        "the registration is then one transaction. The file stays where it is: the\n"
        "registry records its absolute path. A new model is `base` unless --kind says\n"
        "otherwise; a later version must not contradict the model's kind. Registering\n"
        "the same file (same hash) twice under one model is refused.",
    .min_pos = 1,
    .max_pos = 1,
};

static int model_add(struct aios_cli *cli, int argc, char **argv)
{
    const char *name = NULL, *kind = NULL, *desc = NULL, *from = NULL, *how = NULL;
    struct aios_strlist tags = {0};
    bool json = false;
    struct aios_opt opts[] = {
        {"name", 'n', AIOS_OPT_STR, &name, "NAME", "model name (letters, digits, . _ -)"},
        {"kind", 0, AIOS_OPT_STR, &kind, "KIND", "base or proprietary"},
        {"description", 'd', AIOS_OPT_STR, &desc, "TEXT", "model description"},
        {"tag", 't', AIOS_OPT_STRLIST, &tags, "K=V", "tag of this version"},
        {"from", 0, AIOS_OPT_STR, &from, "REF", "version this one was made from"},
        {"how", 0, AIOS_OPT_STR, &how, "HOW", "quantize, finetune or train (with --from)"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print the new ModelVersion as JSON"},
        {0},
    };
    struct aios_cmd_spec spec = add_spec;
    spec.opts = opts;
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_strlist_free(&tags);
        return rc;
    }
    if (!name) {
        aios_strlist_free(&tags);
        return aios_cli_usage_error(&spec, "--name is required");
    }
    if (!from != !how) {
        aios_strlist_free(&tags);
        return aios_cli_usage_error(&spec, "--from and --how go together");
    }
    struct aios_err err;
    struct aios_registry_file file;
    aios_store *st = NULL;
    json_t *jv = NULL;
    /* Cheap checks first, so a typo does not wait for a hash. */
    if (aios_registry_name_check(name, &err)) {
        rc = aios_cli_fail(&spec, &err);
        goto out_tags;
    }
    const char *force = getenv("AIOS_PROGRESS");
    struct progress prog = {
        .on = isatty(2), .force = force && strcmp(force, "1") == 0, .last_pct = -1};
    if (aios_registry_inspect(pos[0], progress_cb, &prog, &file, &err)) {
        rc = aios_cli_fail(&spec, &err);
        goto out_tags;
    }
    rc = open_store(cli, &spec, &st);
    if (rc)
        goto out_file;
    struct aios_registry_add req = {
        .name = name,
        .kind = kind,
        .description = desc,
        .file = &file,
        .tags = tags.items,
        .n_tags = tags.n,
        .from = from,
        .how = how,
    };
    int64_t version = 0;
    if (aios_registry_add(st, &req, &version, &err)) {
        rc = aios_cli_fail(&spec, &err);
        goto out_store;
    }
    char ref[AIOS_REGISTRY_NAME_MAX + 32];
    snprintf(ref, sizeof ref, "%s@%lld", name, (long long)version);
    if (json) {
        if (aios_registry_version_to_json(st, ref, &jv, &err)) {
            rc = aios_cli_fail(&spec, &err);
            goto out_store;
        }
        print_json(jv);
    } else {
        char sz[32];
        printf("registered %s (%s, %s, %s, sha256 %.16s...)\n", ref, file.architecture,
               file.file_type, aios_fmt_bytes((uint64_t)file.size_bytes, sz, sizeof sz),
               file.sha256);
    }
    rc = 0;
out_store:
    json_decref(jv);
    aios_store_close(st);
out_file:
    aios_registry_file_free(&file);
out_tags:
    aios_strlist_free(&tags);
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

/* Every model that matches filter, following the search's pages (the
 * same search as GET /api/v1/models?filter=). */
static int search_all(aios_store *st, const char *filter, json_t **out, struct aios_err *err)
{
    json_t *all = json_pack("{s:[]}", "registered_models");
    char token[AIOS_REGISTRY_NAME_MAX + 1] = "";
    if (!all)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (;;) {
        struct aios_registry_query q = {
            .filter = filter, .max_results = 1000, .page_token = token[0] ? token : NULL};
        json_t *page;
        int rc = aios_registry_search_to_json(st, &q, &page, err);
        if (rc) {
            json_decref(all);
            return rc;
        }
        json_array_extend(json_object_get(all, "registered_models"),
                          json_object_get(page, "registered_models"));
        const char *next = json_string_value(json_object_get(page, "next_page_token"));
        aios_strlcpy(token, next ? next : "", sizeof token);
        json_decref(page);
        if (!token[0])
            break;
    }
    *out = all;
    return AIOS_OK;
}

static int model_list(struct aios_cli *cli, int argc, char **argv)
{
    bool json = false;
    const char *filter = NULL;
    struct aios_opt opts[] = {
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print {\"registered_models\": [...]}"},
        {"filter", 'f', AIOS_OPT_STR, &filter, "EXPR",
         "only models matching EXPR, e.g. \"name LIKE 'llama%'\""},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "model list",
        .usage = "[--filter EXPR] [--json]",
        .summary = "List registered models with their latest version and aliases.",
        .description = "--filter takes clauses `name|kind =|!=|LIKE|ILIKE 'text'` joined by AND\n"
                       "(LIKE patterns: % any run, _ one character; ILIKE ignores case), as\n"
                       "GET /api/v1/models?filter= does.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    struct aios_err err;
    if (filter && aios_registry_filter_check(filter, &err))
        return aios_cli_usage_error(&spec, "--filter: %s", err.msg);
    aios_store *st;
    rc = open_store(cli, &spec, &st);
    if (rc)
        return rc;
    json_t *all = NULL;
    if (filter ? search_all(st, filter, &all, &err) : aios_registry_list_to_json(st, &all, &err)) {
        aios_store_close(st);
        return aios_cli_fail(&spec, &err);
    }
    aios_store_close(st);
    if (json) {
        print_json(all);
        json_decref(all);
        return 0;
    }
    json_t *models = json_object_get(all, "registered_models");
    printf("%-28s %-12s %-7s %-12s %-10s %s\n", "NAME", "KIND", "LATEST", "ARCH", "TYPE",
           "ALIASES");
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m)
    {
        json_t *lv = json_array_get(json_object_get(m, "latest_versions"), 0);
        struct aios_buf al;
        aios_buf_init(&al, 4096);
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(m, "aliases"), j, a)
        {
            aios_buf_printf(&al, "%s%s@%s", j ? "," : "",
                            json_string_value(json_object_get(a, "alias")),
                            json_string_value(json_object_get(a, "version")));
        }
        printf("%-28s %-12s %-7s %-12s %-10s %s\n", json_string_value(json_object_get(m, "name")),
               json_string_value(json_object_get(m, "kind")),
               lv ? json_string_value(json_object_get(lv, "version")) : "-",
               lv ? json_string_value(json_object_get(lv, "architecture")) : "-",
               lv ? json_string_value(json_object_get(lv, "file_type")) : "-",
               al.len ? al.data : "-");
        aios_buf_free(&al);
    }
    json_decref(all);
    return 0;
}

/* ---- show ---------------------------------------------------------------- */

static void print_version(json_t *v)
{
    char sz[32], when[40];
    printf("version %s\n", json_string_value(json_object_get(v, "version")));
    printf("  path:         %s\n", json_string_value(json_object_get(v, "source")));
    printf("  sha256:       %s\n", json_string_value(json_object_get(v, "sha256")));
    printf("  size:         %s (%lld bytes)\n",
           aios_fmt_bytes((uint64_t)json_integer_value(json_object_get(v, "size_bytes")), sz,
                          sizeof sz),
           (long long)json_integer_value(json_object_get(v, "size_bytes")));
    printf("  architecture: %s\n", json_string_value(json_object_get(v, "architecture")));
    printf("  parameters:   %lld\n", (long long)json_integer_value(json_object_get(v, "n_params")));
    printf("  file type:    %s\n", json_string_value(json_object_get(v, "file_type")));
    printf("  context:      %lld\n",
           (long long)json_integer_value(json_object_get(v, "context_length")));
    printf("  tokenizer:    %s\n", json_string_value(json_object_get(v, "tokenizer")));
    printf("  created:      %s\n",
           aios_fmt_time_iso(json_integer_value(json_object_get(v, "creation_timestamp")), when,
                             sizeof when));
    json_t *lin = json_object_get(v, "lineage");
    if (json_is_object(lin))
        printf("  lineage:      %s from %s\n", json_string_value(json_object_get(lin, "how")),
               json_string_value(json_object_get(lin, "source")));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(v, "tags"), i, t)
    {
        printf("  tag:          %s=%s\n", json_string_value(json_object_get(t, "key")),
               json_string_value(json_object_get(t, "value")));
    }
    json_array_foreach(json_object_get(v, "aliases"), i, t)
    {
        printf("  alias:        %s\n", json_string_value(t));
    }
}

static int model_show(struct aios_cli *cli, int argc, char **argv)
{
    bool json = false;
    struct aios_opt opts[] = {
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print RegisteredModel / ModelVersion JSON"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "model show",
        .usage = "NAME[@VERSION|@ALIAS] [--json]",
        .summary = "Show a model with all its versions, or one version.",
        .description = "NAME alone shows the model and every version; NAME@VERSION,\n"
                       "NAME@ALIAS and NAME@latest show one version.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    struct aios_err err;
    struct aios_registry_ref ref;
    if (aios_registry_ref_parse(pos[0], &ref, &err))
        return aios_cli_fail(&spec, &err);
    aios_store *st;
    rc = open_store(cli, &spec, &st);
    if (rc)
        return rc;
    bool one = strchr(pos[0], '@') != NULL;
    json_t *j = NULL;
    int r = one ? aios_registry_version_to_json(st, pos[0], &j, &err)
                : aios_registry_model_to_json(st, pos[0], true, &j, &err);
    aios_store_close(st);
    if (r)
        return aios_cli_fail(&spec, &err);
    if (json) {
        print_json(j);
    } else if (one) {
        printf("model %s\n", json_string_value(json_object_get(j, "name")));
        print_version(j);
    } else {
        char when[40];
        printf("model %s\n", json_string_value(json_object_get(j, "name")));
        printf("  kind:         %s\n", json_string_value(json_object_get(j, "kind")));
        const char *d = json_string_value(json_object_get(j, "description"));
        printf("  description:  %s\n", d && *d ? d : "-");
        printf("  created:      %s\n",
               aios_fmt_time_iso(json_integer_value(json_object_get(j, "creation_timestamp")), when,
                                 sizeof when));
        printf("  updated:      %s\n",
               aios_fmt_time_iso(json_integer_value(json_object_get(j, "last_updated_timestamp")),
                                 when, sizeof when));
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(j, "versions"), i, v)
        {
            print_version(v);
        }
    }
    json_decref(j);
    return 0;
}

/* ---- alias --------------------------------------------------------------- */

static int model_alias(struct aios_cli *cli, int argc, char **argv)
{
    struct aios_cmd_spec spec = {
        .name = "model alias",
        .usage = "NAME VERSION ALIAS",
        .summary = "Point ALIAS (e.g. production) at a version of a model.",
        .description = "An alias that exists is moved; NAME@ALIAS then resolves to VERSION.",
        .min_pos = 3,
        .max_pos = 3,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    int64_t version;
    if (aios_parse_i64(pos[1], &version) != AIOS_OK || version < 1)
        return aios_cli_usage_error(&spec, "VERSION must be a number from 1, got '%s'", pos[1]);
    struct aios_err err;
    if (aios_registry_name_check(pos[0], &err) || aios_registry_alias_check(pos[2], &err))
        return aios_cli_fail(&spec, &err);
    aios_store *st;
    rc = open_store(cli, &spec, &st);
    if (rc)
        return rc;
    if (aios_registry_alias_set(st, pos[0], version, pos[2], &err))
        rc = aios_cli_fail(&spec, &err);
    else
        printf("%s@%s -> version %lld\n", pos[0], pos[2], (long long)version);
    aios_store_close(st);
    return rc;
}

/* ---- rm ------------------------------------------------------------------ */

static int model_rm(struct aios_cli *cli, int argc, char **argv)
{
    struct aios_cmd_spec spec = {
        .name = "model rm",
        .usage = "NAME[@VERSION]",
        .summary = "Remove a model (every version) or one version from the registry.",
        .description = "Tags and aliases go with what they belong to; the model files are\n"
                       "not deleted. Version numbers are not reused.",
        .min_pos = 1,
        .max_pos = 1,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    struct aios_err err;
    struct aios_registry_ref ref;
    if (aios_registry_ref_parse(pos[0], &ref, &err))
        return aios_cli_fail(&spec, &err);
    aios_store *st;
    rc = open_store(cli, &spec, &st);
    if (rc)
        return rc;
    if (aios_registry_remove(st, pos[0], &err))
        rc = aios_cli_fail(&spec, &err);
    else
        printf("removed %s\n", pos[0]);
    aios_store_close(st);
    return rc;
}

int aios_cmd_model(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"add", model_add, "register a GGUF file as a new model version"},
        {"list", model_list, "list registered models"},
        {"show", model_show, "show a model, or one version of it"},
        {"alias", model_alias, "point an alias at a version"},
        {"rm", model_rm, "remove a model or one version"},
        {"synth", aios_cmd_model_synth, "write a random-weight model of a real shape (benchmarks)"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "model", "The model registry.", subs, argc, argv);
}
