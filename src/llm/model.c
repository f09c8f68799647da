/*
 * Model loading: architecture detection, hyperparameters from GGUF metadata
 * and the binding of every weight tensor, checked for presence, shape and a
 * type the kernels handle before anything runs.
 *
 * Architectures (tensor names as llama.cpp's converters write them):
 *   llama, baichuan  attn_q/k/v/output, ffn_gate/up/down, RMS norms; RoPE
 *                    "normal" (baichuan with 40 blocks: ALiBi, no RoPE — the
 *                    13B variant, recognised the way llama.cpp does)
 *   qwen2            as llama with q/k/v biases, RoPE "neox", output tied to
 *                    token_embd when output.weight is absent
 *   chatglm          fused attn_qkv + bias, fused ffn_up (gate rows then up
 *                    rows), RoPE "normal" on the first n_rot values of a head
 *   bert             token + type + position embeddings, post-LayerNorm,
 *                    biases everywhere, GELU, bidirectional attention, pooling
 */
#include "llm/llm_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    enum aios_arch arch;
} archs[] = {
    {"llama", AIOS_ARCH_LLAMA},       {"qwen2", AIOS_ARCH_QWEN2}, {"chatglm", AIOS_ARCH_CHATGLM},
    {"baichuan", AIOS_ARCH_BAICHUAN}, {"bert", AIOS_ARCH_BERT},
};

const char *aios_model_supported_archs(void)
{
    return "llama, qwen2, chatglm, baichuan, bert";
}

const struct aios_hparams *aios_model_hparams(const aios_model *m)
{
    return &m->hp;
}

const aios_gguf *aios_model_gguf(const aios_model *m)
{
    return m->g;
}

/* Reads "<arch>.<key>" as u32; required keys give an error naming them. */
static int get_u32(const aios_model *m, const char *key, bool required, int *out,
                   struct aios_err *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->hp.arch_name, key);
    uint32_t v;
    int rc = aios_gguf_get_u32(m->g, full, &v, err);
    if (rc == AIOS_ENOTFOUND) {
        if (required)
            return aios_err_set(err, AIOS_EFORMAT, "metadata key '%s' is missing", full);
        return AIOS_OK;
    }
    if (rc)
        return rc;
    if (v > (1u << 30))
        return aios_err_set(err, AIOS_EFORMAT, "metadata '%s' = %u is out of range", full, v);
    *out = (int)v;
    return AIOS_OK;
}

static int get_f32(const aios_model *m, const char *key, bool required, float *out,
                   struct aios_err *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->hp.arch_name, key);
    int rc = aios_gguf_get_f32(m->g, full, out, err);
    if (rc == AIOS_ENOTFOUND)
        return required ? aios_err_set(err, AIOS_EFORMAT, "metadata key '%s' is missing", full)
                        : AIOS_OK;
    if (rc == AIOS_OK && !isfinite(*out))
        return aios_err_set(err, AIOS_EFORMAT, "metadata '%s' is not finite", full);
    return rc;
}

/* Binds a tensor and checks its shape (ne0 = columns, ne1 = rows; rows 0
 * means a 1-D tensor of ne0 values). */
static int bind(aios_model *m, struct aios_weight *w, bool required, const char *name, int64_t ne0,
                int64_t ne1, struct aios_err *err)
{
    memset(w, 0, sizeof *w);
    const struct aios_gguf_tensor *t = aios_gguf_find_tensor(m->g, name);
    if (!t) {
        if (required)
            return aios_err_set(err, AIOS_EFORMAT, "tensor '%s' is missing", name);
        return AIOS_OK;
    }
    int64_t want1 = ne1 ? ne1 : 1;
    if (t->ne[0] != ne0 || t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1)
        return aios_err_set(err, AIOS_EFORMAT,
                            "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                            name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                            (long long)t->ne[3], (long long)ne0, (long long)want1);
    const struct aios_type_traits *tr = aios_tensor_type_traits(t->type);
    if (!tr || !tr->to_float)
        return aios_err_set(err, AIOS_EUNSUPPORTED,
                            "tensor '%s' has type %s, which is not supported", name,
                            aios_ggml_type_name(t->type));
    if (!ne1 && t->type != AIOS_GGML_F32)
        return aios_err_set(err, AIOS_EUNSUPPORTED, "tensor '%s' (a vector) must be F32, not %s",
                            name, aios_ggml_type_name(t->type));
    if (ne1 && (!tr->vec_dot || aios_tensor_row_size(t->type, ne0) == 0))
        return aios_err_set(err, AIOS_EUNSUPPORTED,
                            "tensor '%s': type %s cannot be used for rows of %lld values", name,
                            aios_ggml_type_name(t->type), (long long)ne0);
    w->t = t;
    w->mat.type = t->type;
    w->mat.ncols = ne0;
    w->mat.nrows = want1;
    w->mat.row_stride = aios_tensor_row_size(t->type, ne0);
    w->mat.data = t->data;
    w->f = (const float *)t->data;
    m->hp.n_params += (uint64_t)(ne0 * want1);
    return AIOS_OK;
}

#define BIND(w, req, ne0, ne1, ...)                                                                \
    do {                                                                                           \
        char name_[96];                                                                            \
        snprintf(name_, sizeof name_, __VA_ARGS__);                                                \
        int rc_ = bind(m, w, req, name_, ne0, ne1, err);                                           \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static int read_hparams(aios_model *m, struct aios_err *err)
{
    struct aios_hparams *hp = &m->hp;
    int rc;
    if ((rc = get_u32(m, "embedding_length", true, &hp->n_embd, err)) ||
        (rc = get_u32(m, "block_count", true, &hp->n_layer, err)) ||
        (rc = get_u32(m, "attention.head_count", true, &hp->n_head, err)) ||
        (rc = get_u32(m, "feed_forward_length", true, &hp->n_ff, err)))
        return rc;
    hp->n_ctx_train = 2048;
    hp->n_head_kv = hp->n_head;
    if ((rc = get_u32(m, "context_length", false, &hp->n_ctx_train, err)) ||
        (rc = get_u32(m, "attention.head_count_kv", false, &hp->n_head_kv, err)))
        return rc;
    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 ||
        hp->n_ff <= 0 || hp->n_ctx_train <= 0)
        return aios_err_set(err, AIOS_EFORMAT, "hyperparameters must be positive");
    if (hp->n_head % hp->n_head_kv)
        return aios_err_set(err, AIOS_EFORMAT,
                            "head_count %d is not a multiple of head_count_kv %d", hp->n_head,
                            hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    if ((rc = get_u32(m, "attention.key_length", false, &hp->head_dim, err)))
        return rc;
    if (hp->head_dim <= 0 || hp->head_dim > 1024)
        return aios_err_set(err, AIOS_EFORMAT, "head size %d is out of range", hp->head_dim);

    hp->causal = true;
    hp->rope_mode = AIOS_ROPE_NORMAL;
    hp->rope_base = 10000.0f;
    hp->rope_freq_scale = 1.0f;
    hp->n_rot = hp->head_dim;
    if (hp->arch == AIOS_ARCH_BERT) {
        if ((rc = get_f32(m, "attention.layer_norm_epsilon", true, &hp->norm_eps, err)))
            return rc;
        hp->rope_mode = -1;
        bool causal = false;
        char key[96];
        snprintf(key, sizeof key, "%s.attention.causal", hp->arch_name);
        if (aios_gguf_get_bool(m->g, key, &causal, NULL) == AIOS_OK)
            hp->causal = causal;
        else
            hp->causal = false;
        int pooling = AIOS_POOL_CLS;
        if ((rc = get_u32(m, "pooling_type", false, &pooling, err)))
            return rc;
        if (pooling < 0 || pooling > 3)
            return aios_err_set(err, AIOS_EFORMAT, "pooling_type %d is not supported", pooling);
        hp->pooling = (enum aios_pooling)pooling;
        hp->normalize_embd = true;
        return AIOS_OK;
    }
    if ((rc = get_f32(m, "attention.layer_norm_rms_epsilon", true, &hp->norm_eps, err)) ||
        (rc = get_f32(m, "rope.freq_base", false, &hp->rope_base, err)) ||
        (rc = get_u32(m, "rope.dimension_count", false, &hp->n_rot, err)))
        return rc;
    if (hp->n_rot <= 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return aios_err_set(err, AIOS_EFORMAT, "rope.dimension_count %d does not fit head size %d",
                            hp->n_rot, hp->head_dim);
    /* RoPE scaling. linear: positions compressed by the factor. llama3: the
     * rope_freqs tensor carries it (bound above). yarn: not implemented; the
     * model runs unscaled, exact within its original context, to which the
     * context is capped. Anything else is refused rather than run wrong. */
    char key[96], *stype = NULL;
    snprintf(key, sizeof key, "%s.rope.scaling.type", hp->arch_name);
    if (aios_gguf_get_str(m->g, key, &stype, NULL) == AIOS_OK) {
        bool linear = strcmp(stype, "linear") == 0, yarn = strcmp(stype, "yarn") == 0;
        bool ok = linear || yarn || strcmp(stype, "none") == 0 || strcmp(stype, "llama3") == 0;
        if (!ok) {
            rc = aios_err_set(err, AIOS_EUNSUPPORTED, "rope scaling type '%s' is not supported",
                              stype);
            aios_free(stype);
            return rc;
        }
        aios_free(stype);
        float factor = 1.0f;
        if (linear && (rc = get_f32(m, "rope.scaling.factor", false, &factor, err)))
            return rc;
        if (linear && factor > 0)
            hp->rope_freq_scale = 1.0f / factor;
        int orig = 0;
        if (yarn && (rc = get_u32(m, "rope.scaling.original_context_length", false, &orig, err)))
            return rc;
        if (yarn && orig > 0 && orig < hp->n_ctx_train) {
            AIOS_WARN("llm", "YaRN RoPE scaling is not implemented; context capped at %d", orig);
            hp->n_ctx_train = orig;
        }
    }
    if (hp->arch == AIOS_ARCH_QWEN2)
        hp->rope_mode = AIOS_ROPE_NEOX;
    if (hp->arch == AIOS_ARCH_BAICHUAN && hp->n_layer == 40) {
        hp->rope_mode = -1;
        hp->alibi_max_bias = 8.0f;
    }
    return AIOS_OK;
}

static int bind_weights(aios_model *m, struct aios_err *err)
{
    const struct aios_hparams *hp = &m->hp;
    const int E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff;
    const int QD = hp->n_head * hp->head_dim, KD = hp->n_head_kv * hp->head_dim;
    bool bert = hp->arch == AIOS_ARCH_BERT;
    m->hp.n_params = 0;
    BIND(&m->tok_embd, true, E, V, "token_embd.weight");
    if (bert) {
        int n_types = 2;
        const struct aios_gguf_tensor *tt = aios_gguf_find_tensor(m->g, "token_types.weight");
        if (tt)
            n_types = (int)tt->ne[1];
        BIND(&m->type_embd, true, E, n_types, "token_types.weight");
        const struct aios_gguf_tensor *pe = aios_gguf_find_tensor(m->g, "position_embd.weight");
        BIND(&m->pos_embd, true, E, pe ? pe->ne[1] : hp->n_ctx_train, "position_embd.weight");
        if (pe && pe->ne[1] < hp->n_ctx_train)
            m->hp.n_ctx_train = (int)pe->ne[1];
        BIND(&m->embd_norm, true, E, 0, "token_embd_norm.weight");
        BIND(&m->embd_norm_b, true, E, 0, "token_embd_norm.bias");
    } else {
        BIND(&m->out_norm, true, E, 0, "output_norm.weight");
        BIND(&m->output, false, E, V, "output.weight");
        if (!m->output.t)
            m->output = m->tok_embd; /* tied */
        BIND(&m->rope_freqs, false, hp->n_rot / 2, 0, "rope_freqs.weight");
    }
    m->layers = aios_calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int i = 0; i < hp->n_layer; i++) {
        struct aios_layer *L = &m->layers[i];
        bool qkv_bias = hp->arch == AIOS_ARCH_QWEN2 || bert;
        if (hp->arch == AIOS_ARCH_CHATGLM) {
            BIND(&L->wqkv, true, E, QD + 2 * KD, "blk.%d.attn_qkv.weight", i);
            BIND(&L->bqkv, true, QD + 2 * KD, 0, "blk.%d.attn_qkv.bias", i);
        } else {
            BIND(&L->wq, true, E, QD, "blk.%d.attn_q.weight", i);
            BIND(&L->wk, true, E, KD, "blk.%d.attn_k.weight", i);
            BIND(&L->wv, true, E, KD, "blk.%d.attn_v.weight", i);
            BIND(&L->bq, qkv_bias, QD, 0, "blk.%d.attn_q.bias", i);
            BIND(&L->bk, qkv_bias, KD, 0, "blk.%d.attn_k.bias", i);
            BIND(&L->bv, qkv_bias, KD, 0, "blk.%d.attn_v.bias", i);
        }
        BIND(&L->wo, true, QD, E, "blk.%d.attn_output.weight", i);
        if (bert) {
            BIND(&L->bo, true, E, 0, "blk.%d.attn_output.bias", i);
            BIND(&L->attn_norm, true, E, 0, "blk.%d.attn_output_norm.weight", i);
            BIND(&L->attn_norm_b, true, E, 0, "blk.%d.attn_output_norm.bias", i);
            BIND(&L->ffn_up, true, E, F, "blk.%d.ffn_up.weight", i);
            BIND(&L->ffn_up_b, true, F, 0, "blk.%d.ffn_up.bias", i);
            BIND(&L->ffn_down, true, F, E, "blk.%d.ffn_down.weight", i);
            BIND(&L->ffn_down_b, true, E, 0, "blk.%d.ffn_down.bias", i);
            BIND(&L->ffn_norm, true, E, 0, "blk.%d.layer_output_norm.weight", i);
            BIND(&L->ffn_norm_b, true, E, 0, "blk.%d.layer_output_norm.bias", i);
            continue;
        }
        BIND(&L->attn_norm, true, E, 0, "blk.%d.attn_norm.weight", i);
        BIND(&L->ffn_norm, true, E, 0, "blk.%d.ffn_norm.weight", i);
        if (hp->arch == AIOS_ARCH_CHATGLM) {
            BIND(&L->ffn_up, true, E, 2 * F, "blk.%d.ffn_up.weight", i);
        } else {
            BIND(&L->ffn_gate, true, E, F, "blk.%d.ffn_gate.weight", i);
            BIND(&L->ffn_up, true, E, F, "blk.%d.ffn_up.weight", i);
        }
        BIND(&L->ffn_down, true, F, E, "blk.%d.ffn_down.weight", i);
    }
    /* Tied output was counted once with token_embd. */
    return AIOS_OK;
}

static int read_vocab_size(aios_model *m, struct aios_err *err)
{
    const struct aios_gguf_tensor *t = aios_gguf_find_tensor(m->g, "token_embd.weight");
    if (!t)
        return aios_err_set(err, AIOS_EFORMAT, "tensor 'token_embd.weight' is missing");
    if (t->ne[1] <= 0 || t->ne[1] > (1 << 24))
        return aios_err_set(err, AIOS_EFORMAT, "token_embd.weight has %lld rows",
                            (long long)t->ne[1]);
    m->hp.n_vocab = (int)t->ne[1];
    return AIOS_OK;
}

int aios_model_load(const char *path, aios_model **out, struct aios_err *err)
{
    *out = NULL;
    aios_model *m = aios_calloc(1, sizeof *m);
    if (!m)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    int rc = aios_gguf_open(path, &m->g, err);
    if (rc)
        goto fail;
    char *arch = NULL;
    rc = aios_gguf_get_str(m->g, "general.architecture", &arch, err);
    if (rc) {
        if (rc == AIOS_ENOTFOUND)
            rc = aios_err_set(err, AIOS_EFORMAT, "%s: metadata 'general.architecture' is missing",
                              path);
        goto fail;
    }
    rc = AIOS_EUNSUPPORTED;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
        if (strcmp(arch, archs[i].name) == 0) {
            m->hp.arch = archs[i].arch;
            aios_strlcpy(m->hp.arch_name, arch, sizeof m->hp.arch_name);
            rc = AIOS_OK;
        }
    }
    if (rc) {
        aios_err_set(err, rc, "%s: architecture '%s' is not supported (supported: %s)", path, arch,
                     aios_model_supported_archs());
        aios_free(arch);
        goto fail;
    }
    aios_free(arch);
    if ((rc = read_hparams(m, err)) || (rc = read_vocab_size(m, err)) ||
        (rc = bind_weights(m, err))) {
        aios_err_prefix(err, "%s", path);
        goto fail;
    }
    *out = m;
    return AIOS_OK;
fail:
    aios_model_free(m);
    return rc;
}

void aios_model_free(aios_model *m)
{
    if (!m)
        return;
    aios_free(m->layers);
    aios_gguf_close(m->g);
    aios_free(m);
}
