/* `aios logits`: feeds token ids as one batch and writes every position's
 * logits, for conformance tests and outside checks. */
#include "cli/cli.h"
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

int aios_cli_parse_ids(const char *s, int32_t **out, int *n, int max, struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    int cap = 0;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        char num[24];
        size_t len = strcspn(p, ", \t\n");
        if (len >= sizeof num) {
            aios_err_set(err, AIOS_EINVAL, "token id '%.*s...' is too long", 16, p);
            goto fail;
        }
        memcpy(num, p, len);
        num[len] = 0;
        int64_t v;
        if (aios_parse_i64(num, &v) || v < 0 || v > INT32_MAX) {
            aios_err_set(err, AIOS_EINVAL, "'%s' is not a token id", num);
            goto fail;
        }
        if (*n >= max) {
            aios_err_set(err, AIOS_ELIMIT, "more than %d token ids", max);
            goto fail;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int32_t *q = aios_realloc(*out, sizeof *q * (size_t)cap);
            if (!q) {
                aios_err_set(err, AIOS_ENOMEM, "out of memory");
                goto fail;
            }
            *out = q;
        }
        (*out)[(*n)++] = (int32_t)v;
        p += len;
    }
    if (*n == 0)
        return aios_err_set(err, AIOS_EINVAL, "no token ids given");
    return AIOS_OK;
fail:
    aios_free(*out);
    *out = NULL;
    *n = 0;
    return err ? err->code : AIOS_EINVAL;
}

int aios_cmd_logits(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL, *tokens = NULL, *outpath = NULL;
    bool kv_f16 = false;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF model file"},
        {"tokens", 0, AIOS_OPT_STR, &tokens, "IDS", "token ids, comma separated (one batch)"},
        {"out", 'o', AIOS_OPT_STR, &outpath, "FILE", "where to write the logits"},
        {"kv-f16", 0, AIOS_OPT_BOOL, &kv_f16, NULL, "use an F16 KV cache instead of F32"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "logits",
        .usage = "-m MODEL --tokens 1,2,3 --out FILE",
        .summary =
            "Run token ids through a model as one batch and write the logits of every position.",
        .description = "The output is little-endian float32, row-major: positions x vocabulary.\n"
                       "The KV cache is F32 (the precision llama.cpp's references use) unless\n"
                       "--kv-f16 is given. For embedding models (bert) the rows are the final\n"
                       "hidden states of every token instead.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[8];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (!model || !tokens || !outpath)
        return aios_cli_usage_error(&spec, "-m MODEL, --tokens and --out are required");
    struct aios_err err = {0};
    int32_t *ids = NULL;
    int n = 0;
    aios_model *m = NULL;
    aios_ctx *ctx = NULL;
    struct aios_batch_tok *batch = NULL;
    FILE *f = NULL;
    int status = AIOS_EXIT_FAIL;
    if (aios_cli_parse_ids(tokens, &ids, &n, 1 << 20, &err)) {
        status = aios_cli_usage_error(&spec, "--tokens: %s", err.msg);
        goto out;
    }
    if (aios_model_load(model, &m, &err))
        goto fail;
    struct aios_ctx_params cp = {.n_ctx = n,
                                 .n_seq = 1,
                                 .n_batch = n,
                                 .kv_f32 = !kv_f16,
                                 .n_threads = aios_cli_threads(cli)};
    if (aios_ctx_create(m, &cp, &ctx, &err))
        goto fail;
    batch = aios_calloc((size_t)n, sizeof *batch);
    if (!batch) {
        aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++)
        batch[i] = (struct aios_batch_tok){.token = ids[i], .pos = i, .seq = 0, .output = true};
    if (aios_ctx_decode(ctx, batch, n, &err))
        goto fail;
    f = fopen(outpath, "wb");
    if (!f) {
        aios_err_set(&err, AIOS_EIO, "%s: cannot create", outpath);
        goto fail;
    }
    int dim = aios_ctx_output_dim(ctx);
    for (int i = 0; i < aios_ctx_n_outputs(ctx); i++) {
        if (fwrite(aios_ctx_output(ctx, i), sizeof(float), (size_t)dim, f) != (size_t)dim) {
            aios_err_set(&err, AIOS_EIO, "%s: write failed", outpath);
            goto fail;
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        aios_err_set(&err, AIOS_EIO, "%s: write failed", outpath);
        goto fail;
    }
    f = NULL;
    fprintf(stderr, "wrote %d x %d logits to %s\n", n, dim, outpath);
    status = AIOS_EXIT_OK;
    goto out;
fail:
    status = aios_cli_fail(&spec, &err);
out:
    if (f)
        fclose(f);
    aios_free(batch);
    aios_ctx_free(ctx);
    aios_model_free(m);
    aios_free(ids);
    return status;
}
