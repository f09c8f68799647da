/*
 * Every decoder model in fixtures/models against llama.cpp's references,
 * by the rule of fixtures/models/README.md:
 *   (1) all 24 x 1024 prompt logits within the file's tolerance.max_abs and
 *       tolerance.rms;
 *   (2) prompt argmax equal wherever the reference margin exceeds 2 x max_abs;
 *   (3) greedy continuation of 32 tokens (each fed alone) equal token by
 *       token; a first mismatch at step k is accepted only when
 *       greedy_margins[k] < 2 x max_abs, and comparison stops there.
 * F32 KV cache, as the references were made. BERT files: the pooled,
 * normalised embeddings of the four texts within embd_max_abs and the
 * per-token hidden states within tokembd_max_abs.
 * Included by one test file per architecture (test_models_<arch>.c), which
 * calls run_models("<prefix>") so that each family passes or fails alone.
 */
#include "llm/llm.h"
#include "test.h"

#include <math.h>

static const char *dir;

static float *read_f32(const char *name, size_t want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", dir, name);
    char *data;
    size_t len;
    struct aios_err err;
    if (aios_read_file(path, 64 << 20, &data, &len, &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return NULL;
    }
    if (len != want * sizeof(float)) {
        CHECK_MSG(0, "%s: %zu bytes, want %zu", name, len, want * sizeof(float));
        aios_free(data);
        return NULL;
    }
    return (float *)data;
}

static void second_best(const float *row, int n, int *best, float *margin)
{
    int b = aios_argmax(row, n);
    float s = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != b && row[i] > s)
            s = row[i];
    *best = b;
    *margin = row[b] - s;
}

static void check_decoder(const char *name, json_t *f, json_t *prompt)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", dir, name);
    struct aios_err err;
    aios_model *m;
    if (aios_model_load(path, &m, &err)) {
        CHECK_MSG(0, "%s: %s", name, err.msg);
        return;
    }
    double tol_max = json_real_value(json_object_get(json_object_get(f, "tolerance"), "max_abs"));
    double tol_rms = json_real_value(json_object_get(json_object_get(f, "tolerance"), "rms"));
    int V = aios_model_hparams(m)->n_vocab;
    int n = (int)json_array_size(prompt);
    aios_ctx *ctx;
    struct aios_ctx_params cp = {
        .n_ctx = 512, .n_seq = 1, .n_batch = 512, .kv_f32 = true, .n_threads = 2};
    CHECK(aios_ctx_create(m, &cp, &ctx, &err) == AIOS_OK);
    struct aios_batch_tok b[64];
    for (int i = 0; i < n; i++)
        b[i] = (struct aios_batch_tok){(int32_t)json_integer_value(json_array_get(prompt, i)), i, 0,
                                       true};
    int rc = aios_ctx_decode(ctx, b, n, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: %s", name, err.msg);
    float *ref = read_f32(json_string_value(json_object_get(f, "logits_file")), (size_t)n * V);
    if (rc == AIOS_OK && ref) {
        double maxd = 0, ss = 0;
        int argmax_bad = 0;
        for (int p = 0; p < n; p++) {
            const float *got = aios_ctx_output(ctx, p);
            const float *want = ref + (size_t)p * V;
            for (int i = 0; i < V; i++) {
                double d = fabs((double)got[i] - want[i]);
                maxd = d > maxd ? d : maxd;
                ss += d * d;
            }
            int wb, gb;
            float wm, gm;
            second_best(want, V, &wb, &wm);
            second_best(got, V, &gb, &gm);
            if (wm > 2 * tol_max && wb != gb)
                argmax_bad++;
        }
        double rms = sqrt(ss / ((double)n * V));
        fprintf(stderr, "  %-22s max_abs %.3g (tol %.3g)  rms %.3g (tol %.3g)", name, maxd, tol_max,
                rms, tol_rms);
        CHECK_MSG(maxd <= tol_max, "%s: max_abs %g > %g", name, maxd, tol_max);
        CHECK_MSG(rms <= tol_rms, "%s: rms %g > %g", name, rms, tol_rms);
        CHECK_MSG(argmax_bad == 0, "%s: %d prompt argmax mismatches", name, argmax_bad);
        /* Greedy continuation, one token at a time. */
        json_t *gids = json_object_get(f, "greedy_ids"), *gm = json_object_get(f, "greedy_margins");
        int next = aios_argmax(aios_ctx_output(ctx, n - 1), V);
        int matched = 0;
        for (size_t k = 0; k < json_array_size(gids); k++) {
            int want = (int)json_integer_value(json_array_get(gids, k));
            if (next != want) {
                double margin = json_number_value(json_array_get(gm, k));
                CHECK_MSG(margin < 2 * tol_max, "%s: greedy step %zu: %d, want %d (margin %g)",
                          name, k, next, want, margin);
                break;
            }
            matched++;
            struct aios_batch_tok one = {want, n + (int)k, 0, true};
            if (aios_ctx_decode(ctx, &one, 1, &err)) {
                CHECK_MSG(0, "%s: decode: %s", name, err.msg);
                break;
            }
            next = aios_argmax(aios_ctx_output(ctx, 0), V);
        }
        fprintf(stderr, "  greedy %d/%zu\n", matched, json_array_size(gids));
    }
    aios_free(ref);
    aios_ctx_free(ctx);
    aios_model_free(m);
}

static void check_bert(const char *name, json_t *f, json_t *bert)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", dir, name);
    struct aios_err err;
    aios_model *m;
    if (aios_model_load(path, &m, &err)) {
        CHECK_MSG(0, "%s: %s", name, err.msg);
        return;
    }
    json_t *texts = json_object_get(f, "texts");
    if (!texts)
        texts = json_object_get(bert, "texts");
    json_t *tol = json_object_get(f, "tolerance");
    double tol_embd = json_number_value(json_object_get(tol, "embd_max_abs"));
    double tol_tok = json_number_value(json_object_get(tol, "tokembd_max_abs"));
    int E = aios_model_hparams(m)->n_embd;
    size_t ntext = json_array_size(texts), total = 0;
    for (size_t i = 0; i < ntext; i++)
        total += json_array_size(json_object_get(json_array_get(texts, i), "ids"));
    float *embd = read_f32(json_string_value(json_object_get(f, "embd_file")), ntext * E);
    float *tokembd = read_f32(json_string_value(json_object_get(f, "tokembd_file")), total * E);
    aios_ctx *ctx;
    struct aios_ctx_params cp = {
        .n_ctx = 512, .n_seq = 4, .n_batch = 512, .kv_f32 = true, .n_threads = 2};
    CHECK(aios_ctx_create(m, &cp, &ctx, &err) == AIOS_OK);
    /* All four texts in one batch, one sequence each: batching must not mix them. */
    struct aios_batch_tok b[256];
    int nb = 0;
    for (size_t i = 0; i < ntext; i++) {
        json_t *ids = json_object_get(json_array_get(texts, i), "ids");
        for (size_t j = 0; j < json_array_size(ids); j++)
            b[nb++] = (struct aios_batch_tok){(int32_t)json_integer_value(json_array_get(ids, j)),
                                              (int32_t)j, (int32_t)i, true};
    }
    int rc = aios_ctx_decode(ctx, b, nb, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: %s", name, err.msg);
    if (rc == AIOS_OK && embd && tokembd) {
        double dtok = 0, demb = 0;
        for (int r = 0; r < nb; r++)
            for (int i = 0; i < E; i++)
                dtok = fmax(dtok, fabs(aios_ctx_output(ctx, r)[i] - tokembd[(size_t)r * E + i]));
        float pooled[4096];
        int row = 0;
        for (size_t t = 0; t < ntext; t++) {
            int len = (int)json_array_size(json_object_get(json_array_get(texts, t), "ids"));
            aios_embd_pool(m, aios_ctx_output(ctx, row), len, pooled);
            for (int i = 0; i < E; i++)
                demb = fmax(demb, fabs(pooled[i] - embd[t * E + i]));
            row += len;
        }
        fprintf(stderr, "  %-22s embd max_abs %.3g (tol %.3g)  tokembd max_abs %.3g (tol %.3g)\n",
                name, demb, tol_embd, dtok, tol_tok);
        CHECK_MSG(demb <= tol_embd, "%s: embd %g > %g", name, demb, tol_embd);
        CHECK_MSG(dtok <= tol_tok, "%s: tokembd %g > %g", name, dtok, tol_tok);
    }
    aios_free(embd);
    aios_free(tokembd);
    aios_ctx_free(ctx);
    aios_model_free(m);
}

static int run_models(const char *prefix)
{
    dir = test_fixtures();
    char path[4096];
    snprintf(path, sizeof path, "%s/models/manifest.json", dir);
    char *text;
    size_t len;
    struct aios_err err;
    if (aios_read_file(path, 16 << 20, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    json_t *man;
    if (aios_json_parse(text, len, 0, &man, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    aios_free(text);
    json_t *files = json_object_get(man, "files"),
           *prompt = json_object_get(man, "prompt_token_ids");
    const char *name;
    json_t *f;
    int n = 0;
    json_object_foreach(files, name, f)
    {
        if (strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        const char *arch = json_string_value(json_object_get(f, "arch"));
        if (arch && strcmp(arch, "bert") == 0)
            check_bert(name, f, json_object_get(man, "bert"));
        else
            check_decoder(name, f,
                          json_object_get(f, "token_ids") ? json_object_get(f, "token_ids")
                                                          : prompt);
        n++;
    }
    CHECK_MSG(n > 0, "no model files matched");
    json_decref(man);
    TEST_EXIT();
}
