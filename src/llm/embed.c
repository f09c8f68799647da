/*
 * Embeddings of texts with an encoder model: texts are tokenized (with
 * CLS/SEP as the vocabulary says), packed into batches of up to n_seq texts
 * and n_ctx tokens, run together, and pooled per text.
 */
#include "llm/llm_int.h"

#include <string.h>

int aios_llm_embed(const aios_model *m, const aios_llm_vocab *v, aios_ctx *ctx,
                   const char *const *texts, int n, float *out, int64_t *n_tokens,
                   struct aios_err *err)
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
    if (n_tokens)
        *n_tokens = 0;
    for (int i = 0; i < n && !rc; i++) {
        aios_llm_tokens_init(&toks[i], (size_t)n_ctx);
        rc = aios_llm_tokenize(v, texts[i], strlen(texts[i]), AIOS_LLM_TOK_ADD_SPECIAL, &toks[i],
                               err);
        if (rc == AIOS_ELIMIT)
            rc = aios_err_set(err, rc, "text %d is longer than the model's %d-token context", i + 1,
                              n_ctx);
        else if (!rc && toks[i].n == 0)
            rc = aios_err_set(err, AIOS_EINVAL, "text %d gives no tokens", i + 1);
        if (!rc && n_tokens)
            *n_tokens += (int64_t)toks[i].n;
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
