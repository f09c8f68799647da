/*
 * Synthetic models: a random-weight GGUF of a real model's shape, for
 * benchmarks and tests. Weights are uniform with the standard deviation of a
 * trained model's matrices (0.02), norms are 1; the vocabulary comes from a
 * given GGUF (all tokenizer.* keys copied) or is a minimal byte-fallback
 * SentencePiece vocabulary. Tensors are generated, quantized and streamed to
 * the file one at a time (quantization rows split over the thread pool), so
 * an 8B model needs no more memory than its largest tensor.
 */
#include "llm/llm_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct preset {
    const char *name;
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    float rope_base;
    bool tied;
    bool bert;
};

static const struct preset presets[] = {
    {"tiny", 256, 2, 4, 2, 512, 2048, 10000.0f, false, false},
    /* Llama 3.2 1B and Llama 3.1 8B shapes. */
    {"1b", 2048, 16, 32, 8, 8192, 131072, 500000.0f, true, false},
    {"8b", 4096, 32, 32, 8, 14336, 131072, 500000.0f, false, false},
    /* BAAI bge-small-en-v1.5 shape (bert, CLS pooling). */
    {"bge-small", 384, 12, 12, 12, 1536, 512, 0, false, true},
};

const char *aios_llm_synth_presets(void)
{
    return "tiny, 1b, 8b, bge-small";
}

/* Type of one tensor for the mixes, following the llama-quantize recipe in
 * outline: output at Q6_K; attn_v and ffn_down at Q6_K in the first and
 * last eighth of the layers and every third layer between (use_more_bits). */
static uint32_t pick_type(uint32_t base, bool mix_m, const char *name, int layer, int n_layer)
{
    if (!mix_m)
        return base;
    if (strcmp(name, "output.weight") == 0)
        return AIOS_GGML_Q6_K;
    if (strstr(name, "attn_v.weight") || strstr(name, "ffn_down.weight")) {
        bool more =
            layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
        if (more)
            return AIOS_GGML_Q6_K;
    }
    return base;
}

struct gen_job {
    const float *src;
    void *dst;
    uint32_t type;
    int64_t nrows, ncols;
    int rc;
};

static void quant_part(void *p, int ith, int nth)
{
    struct gen_job *j = p;
    int64_t per = (j->nrows + nth - 1) / nth, r0 = per * ith, r1 = r0 + per;
    if (r1 > j->nrows)
        r1 = j->nrows;
    if (r0 >= r1)
        return;
    size_t rs = aios_tensor_row_size(j->type, j->ncols);
    int rc = aios_tensor_quantize(j->type, j->src + r0 * j->ncols, (char *)j->dst + (size_t)r0 * rs,
                                  r1 - r0, j->ncols, NULL);
    if (rc)
        j->rc = rc;
}

struct tdesc {
    char name[64];
    uint32_t type;
    int64_t ne0, ne1; /* ne1 0: vector */
    int fill;         /* 0 random, 1 ones (norm weights), 2 zeros (biases) */
};

static int minimal_vocab(aios_gguf_writer *w, int *n_vocab, struct aios_err *err)
{
    enum { N = 3 + 256 + 1 };
    char *strs[N];
    static char storage[N][16];
    float scores[N];
    int32_t types[N];
    for (int i = 0; i < N; i++) {
        if (i == 0)
            snprintf(storage[i], sizeof storage[i], "<unk>");
        else if (i == 1)
            snprintf(storage[i], sizeof storage[i], "<s>");
        else if (i == 2)
            snprintf(storage[i], sizeof storage[i], "</s>");
        else if (i < 259)
            snprintf(storage[i], sizeof storage[i], "<0x%02X>", i - 3);
        else
            snprintf(storage[i], sizeof storage[i], "\xe2\x96\x81");
        strs[i] = storage[i];
        scores[i] = i == N - 1 ? -1.0f : 0.0f;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
    }
    int rc;
    if ((rc = aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", err)) ||
        (rc = aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)strs, N,
                                           err)) ||
        (rc = aios_gguf_writer_set_arr(w, "tokenizer.ggml.scores", AIOS_GGUF_FLOAT32, scores, N,
                                       err)) ||
        (rc = aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types, N,
                                       err)) ||
        (rc = aios_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1, err)) ||
        (rc = aios_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2, err)) ||
        (rc = aios_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0, err)))
        return rc;
    *n_vocab = N;
    return AIOS_OK;
}

static int copy_vocab(aios_gguf_writer *w, const char *path, int *n_vocab, struct aios_err *err)
{
    aios_gguf *g;
    int rc = aios_gguf_open(path, &g, err);
    if (rc)
        return rc;
    const struct aios_gguf_value *toks = aios_gguf_get(g, "tokenizer.ggml.tokens");
    if (!toks || toks->type != AIOS_GGUF_ARRAY || toks->v.arr.elem_type != AIOS_GGUF_STRING) {
        aios_gguf_close(g);
        return aios_err_set(err, AIOS_EFORMAT, "%s: no tokenizer.ggml.tokens", path);
    }
    *n_vocab = (int)toks->v.arr.n;
    for (int64_t i = 0; i < aios_gguf_n_kv(g) && !rc; i++)
        if (strncmp(aios_gguf_kv_key(g, i), "tokenizer.", 10) == 0)
            rc = aios_gguf_writer_copy_kv(w, g, i, err);
    aios_gguf_close(g);
    return rc;
}

int aios_llm_synth(const char *preset_name, const char *type_name, const char *vocab_path,
                   uint64_t seed, int n_threads, const char *out, bool progress,
                   struct aios_err *err)
{
    const struct preset *p = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, preset_name) == 0)
            p = &presets[i];
    if (!p)
        return aios_err_set(err, AIOS_EINVAL, "unknown preset '%s' (known: %s)", preset_name,
                            aios_llm_synth_presets());
    if (p->bert && !vocab_path)
        return aios_err_set(err, AIOS_EINVAL,
                            "preset %s needs --vocab FILE with a bert (WordPiece) vocabulary",
                            p->name);
    bool mix_m = false;
    int base_type;
    if (strcmp(type_name, "Q4_K_M") == 0 || strcmp(type_name, "q4_k_m") == 0) {
        base_type = AIOS_GGML_Q4_K;
        mix_m = true;
    } else if (strcmp(type_name, "Q5_K_M") == 0 || strcmp(type_name, "q5_k_m") == 0) {
        base_type = AIOS_GGML_Q5_K;
        mix_m = true;
    } else {
        base_type = aios_ggml_type_from_name(type_name);
    }
    const struct aios_type_traits *tr =
        base_type >= 0 ? aios_tensor_type_traits((uint32_t)base_type) : NULL;
    if (!tr || (!tr->from_float && base_type != AIOS_GGML_F32))
        return aios_err_set(err, AIOS_EINVAL, "type '%s' cannot be written", type_name);

    aios_gguf_writer *w = NULL;
    aios_pool *pool = NULL;
    float *src = NULL;
    void *dst = NULL;
    struct tdesc *td = NULL;
    int rc = aios_gguf_writer_create(&w, err);
    if (rc)
        return rc;
    int n_vocab = 0;
    const int head_dim = p->n_embd / p->n_head;
    char gname[64];
    snprintf(gname, sizeof gname, "synthetic llama %s %s", p->name, type_name);
    const char *arch = p->bert ? "bert" : "llama";
    char key[96];
#define KEY(k) (snprintf(key, sizeof key, "%s.%s", arch, k), key)
    if ((rc = aios_gguf_writer_set_str(w, "general.architecture", arch, err)) ||
        (rc = aios_gguf_writer_set_str(w, "general.name", gname, err)) ||
        (rc = aios_gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)p->n_ctx, err)) ||
        (rc = aios_gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)p->n_embd, err)) ||
        (rc = aios_gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)p->n_layer, err)) ||
        (rc = aios_gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)p->n_ff, err)) ||
        (rc = aios_gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)p->n_head, err)) ||
        (rc = aios_gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)p->n_head_kv,
                                       err)))
        goto out;
    if (p->bert) {
        if ((rc = aios_gguf_writer_set_f32(w, KEY("attention.layer_norm_epsilon"), 1e-12f, err)) ||
            (rc = aios_gguf_writer_set_bool(w, KEY("attention.causal"), false, err)) ||
            (rc = aios_gguf_writer_set_u32(w, KEY("pooling_type"), AIOS_POOL_CLS, err)))
            goto out;
    } else if ((rc = aios_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-5f,
                                              err)) ||
               (rc = aios_gguf_writer_set_f32(w, KEY("rope.freq_base"), p->rope_base, err)) ||
               (rc = aios_gguf_writer_set_u32(w, KEY("rope.dimension_count"), (uint32_t)head_dim,
                                              err))) {
        goto out;
    }
    rc = vocab_path ? copy_vocab(w, vocab_path, &n_vocab, err) : minimal_vocab(w, &n_vocab, err);
    if (rc)
        goto out;
    if ((rc = aios_gguf_writer_set_u32(w, KEY("vocab_size"), (uint32_t)n_vocab, err)))
        goto out;
#undef KEY

    /* Tensor list in llama.cpp's order. */
    int nt = 5 + 16 * p->n_layer, k = 0;
    td = aios_calloc((size_t)nt, sizeof *td);
    if (!td) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    const int64_t E = p->n_embd, QD = (int64_t)p->n_head * head_dim,
                  KD = (int64_t)p->n_head_kv * head_dim, F = p->n_ff;
    if (p->bert) {
        /* Embeddings stay F32 as llama.cpp's converter writes them for BERT. */
        td[k++] = (struct tdesc){"token_embd.weight", (uint32_t)base_type, E, n_vocab, 0};
        td[k++] = (struct tdesc){"token_types.weight", AIOS_GGML_F32, E, 2, 0};
        td[k++] = (struct tdesc){"position_embd.weight", AIOS_GGML_F32, E, p->n_ctx, 0};
        td[k++] = (struct tdesc){"token_embd_norm.weight", AIOS_GGML_F32, E, 0, 1};
        td[k++] = (struct tdesc){"token_embd_norm.bias", AIOS_GGML_F32, E, 0, 2};
        for (int l = 0; l < p->n_layer; l++) {
            struct {
                const char *n;
                int64_t a, b;
                int fill;
            } L[] = {{"attn_q.weight", E, QD, 0},
                     {"attn_q.bias", QD, 0, 2},
                     {"attn_k.weight", E, KD, 0},
                     {"attn_k.bias", KD, 0, 2},
                     {"attn_v.weight", E, KD, 0},
                     {"attn_v.bias", KD, 0, 2},
                     {"attn_output.weight", QD, E, 0},
                     {"attn_output.bias", E, 0, 2},
                     {"attn_output_norm.weight", E, 0, 1},
                     {"attn_output_norm.bias", E, 0, 2},
                     {"ffn_up.weight", E, F, 0},
                     {"ffn_up.bias", F, 0, 2},
                     {"ffn_down.weight", F, E, 0},
                     {"ffn_down.bias", E, 0, 2},
                     {"layer_output_norm.weight", E, 0, 1},
                     {"layer_output_norm.bias", E, 0, 2}};
            for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
                struct tdesc *d = &td[k++];
                snprintf(d->name, sizeof d->name, "blk.%d.%s", l, L[i].n);
                d->ne0 = L[i].a;
                d->ne1 = L[i].b;
                d->fill = L[i].fill;
                d->type = L[i].b ? (uint32_t)base_type : AIOS_GGML_F32;
            }
        }
    }
    /* token_embd is looked up row by row: a K-quant there costs nothing at run time. */
    if (!p->bert)
        td[k++] =
            (struct tdesc){"token_embd.weight",
                           mix_m && p->tied ? AIOS_GGML_Q6_K : (uint32_t)base_type, E, n_vocab, 0};
    for (int l = 0; !p->bert && l < p->n_layer; l++) {
        struct {
            const char *n;
            int64_t a, b;
            bool norm;
        } L[] = {
            {"attn_norm", E, 0, true}, {"attn_q", E, QD, false},      {"attn_k", E, KD, false},
            {"attn_v", E, KD, false},  {"attn_output", QD, E, false}, {"ffn_norm", E, 0, true},
            {"ffn_gate", E, F, false}, {"ffn_up", E, F, false},       {"ffn_down", F, E, false}};
        for (int i = 0; i < 9; i++) {
            struct tdesc *d = &td[k++];
            snprintf(d->name, sizeof d->name, "blk.%d.%s.weight", l, L[i].n);
            d->ne0 = L[i].a;
            d->ne1 = L[i].b;
            d->fill = L[i].norm ? 1 : 0;
            d->type = L[i].norm ? AIOS_GGML_F32
                                : pick_type((uint32_t)base_type, mix_m, d->name, l, p->n_layer);
        }
    }
    if (!p->bert)
        td[k++] = (struct tdesc){"output_norm.weight", AIOS_GGML_F32, E, 0, 1};
    if (!p->tied && !p->bert)
        td[k++] = (struct tdesc){
            "output.weight", pick_type((uint32_t)base_type, mix_m, "output.weight", 0, p->n_layer),
            E, n_vocab, 0};
    nt = k;
    size_t max_elems = 0, max_bytes = 0;
    for (int i = 0; i < nt; i++) {
        int64_t ne[2] = {td[i].ne0, td[i].ne1};
        if (aios_tensor_row_size(td[i].type, td[i].ne0) == 0) {
            rc = aios_err_set(err, AIOS_EINVAL, "%s: rows of %lld values do not fit type %s",
                              td[i].name, (long long)td[i].ne0, aios_ggml_type_name(td[i].type));
            goto out;
        }
        if ((rc = aios_gguf_writer_add_tensor(w, td[i].name, td[i].type, td[i].ne1 ? 2 : 1, ne,
                                              NULL, err)))
            goto out;
        size_t elems = (size_t)td[i].ne0 * (size_t)(td[i].ne1 ? td[i].ne1 : 1);
        size_t bytes =
            aios_tensor_row_size(td[i].type, td[i].ne0) * (size_t)(td[i].ne1 ? td[i].ne1 : 1);
        max_elems = elems > max_elems ? elems : max_elems;
        max_bytes = bytes > max_bytes ? bytes : max_bytes;
    }
    uint32_t ftype = 0;
    switch (base_type) {
    case AIOS_GGML_F32:
        ftype = 0;
        break;
    case AIOS_GGML_F16:
        ftype = 1;
        break;
    case AIOS_GGML_Q4_0:
        ftype = 2;
        break;
    case AIOS_GGML_Q4_1:
        ftype = 3;
        break;
    case AIOS_GGML_Q8_0:
        ftype = 7;
        break;
    case AIOS_GGML_Q5_0:
        ftype = 8;
        break;
    case AIOS_GGML_Q5_1:
        ftype = 9;
        break;
    case AIOS_GGML_Q6_K:
        ftype = 18;
        break;
    case AIOS_GGML_Q4_K:
        ftype = mix_m ? 15 : 14;
        break;
    case AIOS_GGML_Q5_K:
        ftype = mix_m ? 17 : 16;
        break;
    default:
        ftype = 0;
        break;
    }
    if ((rc = aios_gguf_writer_set_u32(w, "general.file_type", ftype, err)))
        goto out;
    src = aios_malloc(max_elems * sizeof(float));
    dst = aios_malloc(max_bytes ? max_bytes : 1);
    pool = aios_pool_create(n_threads);
    if (!src || !dst || !pool) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory for a tensor of %zu values", max_elems);
        goto out;
    }
    if ((rc = aios_gguf_writer_begin(w, out, err)))
        goto out;
    struct aios_rng rng;
    aios_rng_seed(&rng, seed);
    const float amp = 0.02f * sqrtf(3.0f);
    for (int i = 0; i < nt; i++) {
        int64_t rows = td[i].ne1 ? td[i].ne1 : 1;
        size_t elems = (size_t)td[i].ne0 * (size_t)rows;
        for (size_t j = 0; j < elems; j++)
            src[j] = td[i].fill == 1   ? 1.0f
                     : td[i].fill == 2 ? 0.0f
                                       : (float)(aios_rng_uniform(&rng) * 2.0 - 1.0) * amp;
        const void *data = src;
        size_t bytes = elems * sizeof(float);
        if (td[i].type != AIOS_GGML_F32) {
            struct gen_job j = {src, dst, td[i].type, rows, td[i].ne0, 0};
            aios_pool_run(pool, quant_part, &j);
            if (j.rc) {
                rc = aios_err_set(err, j.rc, "%s: quantization failed", td[i].name);
                goto out;
            }
            data = dst;
            bytes = aios_tensor_row_size(td[i].type, td[i].ne0) * (size_t)rows;
        }
        if ((rc = aios_gguf_writer_write_data(w, data, bytes, err)))
            goto out;
        if (progress)
            fprintf(stderr, "[%3d/%3d] %-28s %-6s %lld x %lld\n", i + 1, nt, td[i].name,
                    aios_ggml_type_name(td[i].type), (long long)td[i].ne0, (long long)rows);
    }
    rc = aios_gguf_writer_finish(w, err);
out:
    aios_pool_destroy(pool);
    aios_free(src);
    aios_free(dst);
    aios_free(td);
    aios_gguf_writer_destroy(w);
    return rc;
}
