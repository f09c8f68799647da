/* `aios embed`: one embedding vector per text, from an embedding model. */
#include "cli/cli.h"
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

int aios_cmd_embed(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL;
    bool json = false;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF embedding model (bert family)"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL,
         "print a JSON array of arrays, in the order of the texts"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "embed",
        .usage = "-m MODEL [--json] TEXT...",
        .summary = "Print one embedding vector per text.",
        .description =
            "Texts are run together in batches. Vectors are pooled and normalised as the\n"
            "model's metadata says (CLS or mean pooling, L2 norm). Without --json each\n"
            "vector is one line of space-separated numbers.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = -1,
    };
    char **pos = aios_calloc((size_t)argc + 1, sizeof *pos);
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos, status = AIOS_EXIT_FAIL;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        return rc;
    }
    if (!model) {
        aios_free(pos);
        return aios_cli_usage_error(&spec, "-m MODEL is required");
    }
    struct aios_err err = {0};
    aios_model *m = NULL;
    aios_llm_vocab *v = NULL;
    aios_ctx *ctx = NULL;
    float *vecs = NULL;
    if (aios_model_load(model, &m, &err) || aios_llm_vocab_load(aios_model_gguf(m), &v, &err))
        goto fail;
    if (aios_model_hparams(m)->arch != AIOS_ARCH_BERT) {
        aios_err_set(&err, AIOS_EUNSUPPORTED,
                     "%s: architecture '%s' is not an embedding model (bert)", model,
                     aios_model_hparams(m)->arch_name);
        goto fail;
    }
    struct aios_ctx_params cp = {
        .n_ctx = 0, .n_seq = 8, .kv_f32 = true, .n_threads = aios_cli_threads(cli)};
    cp.n_batch = aios_model_hparams(m)->n_ctx_train;
    if (aios_ctx_create(m, &cp, &ctx, &err))
        goto fail;
    const int E = aios_model_hparams(m)->n_embd;
    vecs = aios_malloc(sizeof(float) * (size_t)E * (size_t)npos);
    if (!vecs) {
        aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        goto fail;
    }
    if (aios_llm_embed(m, v, ctx, (const char *const *)pos, npos, vecs, NULL, &err))
        goto fail;
    if (json)
        putchar('[');
    for (int i = 0; i < npos; i++) {
        if (json)
            printf("%s[", i ? "," : "");
        for (int j = 0; j < E; j++)
            printf(json ? "%s%.9g" : "%s%.9g", j ? (json ? "," : " ") : "",
                   (double)vecs[(size_t)i * E + j]);
        printf(json ? "]" : "\n");
    }
    if (json)
        printf("]\n");
    status = AIOS_EXIT_OK;
    goto done;
fail:
    status = aios_cli_fail(&spec, &err);
done:
    aios_free(vecs);
    aios_ctx_free(ctx);
    aios_llm_vocab_free(v);
    aios_model_free(m);
    aios_free(pos);
    return status;
}
