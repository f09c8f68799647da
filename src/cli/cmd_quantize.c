/*
 * `aios quantize IN OUT TYPE [--pure] [--allow-requantize] [--register
 * TARGET]`: writes a quantized copy of a GGUF model (mlops quantize job),
 * one progress line per tensor on stdout.
 *
 * IN is a file or, when no such file exists, a registry reference (NAME,
 * NAME@VERSION, NAME@ALIAS) whose file is used after its hash is checked.
 * --register TARGET registers OUT in the registry afterwards with lineage
 * (how: quantize; source: IN's registered version, found by reference or,
 * for a file, by its SHA-256). TARGET is NAME (the next version), NAME@N
 * (insisting that N is the next version) or NAME@ALIAS (the next version,
 * and ALIAS moved to it). Everything that can be checked is checked before
 * the quantization starts.
 */
#include "cli/cli.h"
#include "mlops/mlops.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct aios_cmd_spec quantize_spec = {
    .name = "quantize",
    .usage = "IN OUT TYPE [--pure] [--allow-requantize] [--register NAME[@VERSION|@ALIAS]]",
    .summary = "Quantize a GGUF model the way llama-quantize does.",
    .description = "TYPE: Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q6_K Q4_K_M Q5_K_M (Q4_K and Q5_K are aliases\n"
                   "of the _M mixes, as in llama-quantize), F16 BF16 F32. Norms, biases and\n"
                   "other 1-D tensors stay as they are; output.weight (or a tied token\n"
                   "embedding) gets Q6_K; the _M mixes give attn_v and ffn_down Q6_K on some\n"
                   "layers. --pure gives every 2-D weight TYPE. Uses --threads threads.\n"
                   "IN may be a registry reference (llama@production) instead of a file.\n"
                   "--register NAME registers OUT as the next version of NAME with lineage\n"
                   "(quantize, from IN's registered version); NAME@N insists on version N,\n"
                   "NAME@ALIAS also points ALIAS at the new version. A new model inherits\n"
                   "the kind (base, proprietary) of IN's model.",
    .min_pos = 3,
    .max_pos = 3,
};

static void progress(void *ud, const struct aios_quantize_progress *p)
{
    (void)ud;
    char shape[96];
    int n = snprintf(shape, sizeof shape, "[");
    for (uint32_t d = 0; d < p->n_dims && n > 0 && (size_t)n < sizeof shape; d++)
        n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%" PRId64, d ? ", " : "", p->ne[d]);
    if (n > 0 && (size_t)n < sizeof shape)
        snprintf(shape + n, sizeof shape - (size_t)n, "]");
    printf("[%4" PRId64 "/%4" PRId64 "] %-36s %-16s %5s -> %-5s %9.3f MiB -> %9.3f MiB\n", p->index,
           p->count, p->name, shape, p->from_type, p->to_type, (double)p->bytes_in / 1048576.0,
           (double)p->bytes_out / 1048576.0);
    fflush(stdout);
}

/* What the registry says about IN and where OUT goes. */
struct reg {
    aios_store *st;
    struct aios_registry_ref target;          /* --register, parsed */
    const char *in_path;                      /* the file to quantize */
    char *in_copy;                            /* owned path when IN was a reference */
    char source[AIOS_REGISTRY_NAME_MAX + 32]; /* IN's NAME@VERSION, "" if unregistered */
    char source_kind[16];
};

static int open_store(struct aios_cli *cli, struct reg *g, struct aios_err *err)
{
    return g->st ? AIOS_OK
                 : aios_store_open_dir(aios_config_str(cli->cfg, "data_dir"), &g->st, err);
}

/* IN: an existing file as it is, otherwise a registry reference resolved
 * to its (verified) file. */
static int resolve_in(struct aios_cli *cli, const char *in, struct reg *g, struct aios_err *err)
{
    struct stat sb;
    if (stat(in, &sb) == 0) {
        g->in_path = in;
        return AIOS_OK;
    }
    struct aios_registry_ref ref;
    if (aios_registry_ref_parse(in, &ref, NULL) != AIOS_OK)
        return aios_err_set(err, AIOS_ENOTFOUND,
                            "%s: no such file (and not a registry reference either)", in);
    int rc = open_store(cli, g, err);
    if (rc)
        return rc;
    struct aios_store_model m;
    struct aios_store_model_version v;
    if ((rc = aios_registry_resolve(g->st, in, &m, &v, err)))
        return rc;
    snprintf(g->source, sizeof g->source, "%s@%lld", m.name, (long long)v.version);
    aios_strlcpy(g->source_kind, m.kind, sizeof g->source_kind);
    rc = aios_registry_verify(&v, g->source, NULL, NULL, err);
    if (!rc && !(g->in_copy = aios_strdup(v.path)))
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (!rc) {
        g->in_path = g->in_copy;
        printf("input %s is %s (%s)\n", in, g->source, v.path);
    }
    aios_store_model_free(&m);
    aios_store_model_version_free(&v);
    return rc;
}

/* Before quantizing: the store opens, IN's lineage is known (a file is
 * looked up by hash), and NAME@N names the version the registry will give. */
static int prepare_register(struct aios_cli *cli, struct reg *g, struct aios_err *err)
{
    int rc = open_store(cli, g, err);
    if (rc)
        return rc;
    if (!g->source[0]) {
        struct aios_registry_file f;
        if ((rc = aios_registry_inspect(g->in_path, NULL, NULL, &f, err)))
            return rc;
        rc = aios_registry_find_sha(g->st, f.sha256, g->source, sizeof g->source, err);
        aios_registry_file_free(&f);
        if (rc == AIOS_ENOTFOUND) {
            printf("note: %s is not registered; %s will have no lineage\n", g->in_path,
                   g->target.name);
            g->source[0] = 0;
            rc = AIOS_OK;
        } else if (rc) {
            return rc;
        } else {
            struct aios_store_model sm;
            if (aios_registry_resolve(g->st, g->source, &sm, NULL, NULL) == AIOS_OK) {
                aios_strlcpy(g->source_kind, sm.kind, sizeof g->source_kind);
                aios_store_model_free(&sm);
            }
        }
    }
    struct aios_store_model m;
    rc = aios_store_model_get(g->st, g->target.name, &m, err);
    int64_t next = 1;
    if (rc == AIOS_OK) {
        next = m.last_version + 1;
        g->source_kind[0] = 0; /* an existing model keeps its kind */
        aios_store_model_free(&m);
    } else if (rc != AIOS_ENOTFOUND) {
        return rc;
    }
    if (g->target.version && g->target.version != next)
        return aios_err_set(err, AIOS_ESTATE,
                            "--register %s@%lld: the next version of %s will be %lld (version "
                            "numbers are given by the registry)",
                            g->target.name, (long long)g->target.version, g->target.name,
                            (long long)next);
    return AIOS_OK;
}

static int do_register(struct reg *g, const char *out, struct aios_err *err)
{
    struct aios_registry_file f;
    int rc = aios_registry_inspect(out, NULL, NULL, &f, err);
    if (rc)
        return rc;
    struct aios_registry_add req = {
        .name = g->target.name,
        .kind = g->source_kind[0] ? g->source_kind : NULL,
        .file = &f,
        .from = g->source[0] ? g->source : NULL,
        .how = g->source[0] ? "quantize" : NULL,
    };
    int64_t version = 0;
    rc = aios_registry_add(g->st, &req, &version, err);
    aios_registry_file_free(&f);
    if (rc)
        return rc;
    printf("registered %s@%lld", g->target.name, (long long)version);
    if (g->source[0])
        printf(" (quantize of %s)", g->source);
    printf("\n");
    if (g->target.version && g->target.version != version)
        return aios_err_set(err, AIOS_ESTATE,
                            "registered as %s@%lld, not @%lld: another registration came first",
                            g->target.name, (long long)version, (long long)g->target.version);
    if (g->target.alias[0]) {
        rc = aios_registry_alias_set(g->st, g->target.name, version, g->target.alias, err);
        if (rc)
            return rc;
        printf("%s@%s -> version %lld\n", g->target.name, g->target.alias, (long long)version);
    }
    return AIOS_OK;
}

int aios_cmd_quantize(struct aios_cli *cli, int argc, char **argv)
{
    bool pure = false, requant = false;
    const char *target = NULL;
    struct aios_opt opts[] = {
        {"pure", 0, AIOS_OPT_BOOL, &pure, NULL, "every 2-D weight gets TYPE (no mix rules)"},
        {"allow-requantize", 0, AIOS_OPT_BOOL, &requant, NULL,
         "accept already quantized input tensors (dequantized first)"},
        {"register", 0, AIOS_OPT_STR, &target, "NAME[@N|@ALIAS]",
         "register OUT as a new version with lineage"},
        {0},
    };
    struct aios_cmd_spec spec = quantize_spec;
    spec.opts = opts;
    char **pos = aios_malloc(((size_t)argc + 1) * sizeof *pos);
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos = 0;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        return rc < 0 ? AIOS_EXIT_OK : rc;
    }
    struct aios_err err = {0};
    struct reg g = {0};
    aios_pool *pool = NULL;
    if (target) {
        if (aios_registry_ref_parse(target, &g.target, &err)) {
            rc = aios_cli_usage_error(&spec, "--register: %s", err.msg);
            goto out;
        }
        if (strcmp(g.target.alias, "latest") == 0) {
            rc = aios_cli_usage_error(&spec, "--register: 'latest' is not an alias one can set");
            goto out;
        }
    }
    if ((rc = resolve_in(cli, pos[0], &g, &err)) ||
        (target && (rc = prepare_register(cli, &g, &err)))) {
        rc = aios_cli_fail(&spec, &err);
        goto out;
    }
    pool = aios_pool_create(aios_cli_threads(cli));
    struct aios_quantize_opts q = {
        .type = pos[2],
        .pure = pure,
        .allow_requantize = requant,
        .pool = pool,
        .progress = progress,
    };
    uint64_t t0 = aios_time_ns();
    rc = aios_mlops_quantize(g.in_path, pos[1], &q, &err);
    if (rc == AIOS_OK)
        printf("wrote %s (%s) in %.2f s\n", pos[1], pos[2], (double)(aios_time_ns() - t0) * 1e-9);
    if (rc == AIOS_OK && target && (rc = do_register(&g, pos[1], &err)))
        aios_err_prefix(&err, "%s was written but not registered", pos[1]);
    rc = rc == AIOS_OK ? AIOS_EXIT_OK : aios_cli_fail(&spec, &err);
out:
    aios_pool_destroy(pool);
    aios_store_close(g.st);
    aios_free(g.in_copy);
    aios_free(pos);
    return rc;
}
