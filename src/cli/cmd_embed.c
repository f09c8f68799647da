/* `aios embed`: one embedding vector per text, from an embedding model. */
#include "cli/cli.h"
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

/* Embeds n texts with one forward pass per batch of texts; out gets n rows
 * of n_embd floats. Texts longer than the model's context are an error. */
static int embed_texts(const aios_model *m, const aios_llm_vocab *v, aios_ctx *ctx, char **texts,
                       int n, float *out, struct aios_err *err)
{
    const int E = aios_model_hparams(m)->n_embd, n_ctx = aios_ctx_n_ctx(ctx);
    const int n_seq = aios_ctx_n_seq(ctx);
    struct aios_llm_tokens *toks = aios_calloc((size_t)n, sizeof *toks);
    struct aios_batch_tok *batch = aios_malloc(sizeof *batch * (size_t)n_ctx * (size_t)n_seq);
    int rc = AIOS_OK;
    if (!toks || !batch) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n && !rc; i++) {
        aios_llm_tokens_init(&toks[i], (size_t)n_ctx);
        rc = aios_llm_tokenize(v, texts[i], strlen(texts[i]), AIOS_LLM_TOK_ADD_SPECIAL, &toks[i], err);
        if (rc == AIOS_ELIMIT)
            rc = aios_err_set(err, rc, "text %d is longer than the model's %d-token context", i + 1,
                              n_ctx);
        else if (!rc && toks[i].n == 0)
            rc = aios_err_set(err, AIOS_EINVAL, "text %d gives no tokens", i + 1);
    }
    /* Pack texts into batches: up to n_seq texts and n_ctx tokens per pass. */
    for (int first = 0; first < n && !rc;) {
        int nb = 0, k = 0;
        while (first + k < n && k < n_seq && nb + (int)toks[first + k].n <= n_ctx) {
            for (size_t j = 0; j < toks[first + k].n; j++)
                batch[nb++] = (struct aios_batch_tok){toks[first + k].ids[j], (int32_t)j, k, true};
            k++;
        }
        if (k == 0) { /* a single text of exactly up to n_ctx always fits; guard anyway */
            rc = aios_err_set(err, AIOS_ELIMIT, "text %d does not fit the context", first + 1);
            break;
        }
        for (int s = 0; s < k; s++)
            aios_ctx_seq_clear(ctx, s);
        if ((rc = aios_ctx_decode(ctx, batch, nb, err)))
            break;
        int row = 0;
        for (int s = 0; s < k; s++) {
            aios_embd_pool(m, aios_ctx_output(ctx, row), (int)toks[first + s].n,
                           out + (size_t)(first + s) * (size_t)E);
            row += (int)toks[first + s].n;
        }
        first += k;
    }
out:
    if (toks)
        for (int i = 0; i < n; i++)
            aios_llm_tokens_free(&toks[i]);
    aios_free(toks);
    aios_free(batch);
    return rc;
}

int aios_cmd_embed(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL;
    bool json = false;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF embedding model (bert family)"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print a JSON array of arrays, in the order of the texts"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "embed",
        .usage = "-m MODEL [--json] TEXT...",
        .summary = "Print one embedding vector per text.",
        .description = "Texts are run together in batches. Vectors are pooled and normalised as the\n"
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
        aios_err_set(&err, AIOS_EUNSUPPORTED, "%s: architecture '%s' is not an embedding model (bert)",
                     model, aios_model_hparams(m)->arch_name);
        goto fail;
    }
    struct aios_ctx_params cp = {.n_ctx = 0, .n_seq = 8, .kv_f32 = true,
                                 .n_threads = aios_cli_threads(cli)};
    cp.n_batch = aios_model_hparams(m)->n_ctx_train;
    if (aios_ctx_create(m, &cp, &ctx, &err))
        goto fail;
    const int E = aios_model_hparams(m)->n_embd;
    vecs = aios_malloc(sizeof(float) * (size_t)E * (size_t)npos);
    if (!vecs) {
        aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        goto fail;
    }
    if (embed_texts(m, v, ctx, pos, npos, vecs, &err))
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
