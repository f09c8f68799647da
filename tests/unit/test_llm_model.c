/*
 * Model loading failures and metadata handling, on copies of a fixture
 * model altered through the GGUF writer: a missing tensor, a tensor of the
 * wrong shape, inconsistent head counts, an unknown architecture, RoPE
 * scaling types. Each must fail (or load) with a message naming the cause.
 */
#include "llm/llm.h"
#include "tensor/tensor.h"
#include "test.h"

static const char *fix;
static const char *tmp;

/* Writes a copy of llama-F32 with one kv set (str or u32 or f32), one tensor
 * dropped and/or one tensor renamed. */
static void write_variant(const char *out, const char *drop, const char *kv_str_key,
                          const char *kv_str, const char *kv_u32_key, uint32_t kv_u32,
                          const char *kv_f32_key, float kv_f32)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/models/llama-F32.gguf", fix);
    aios_gguf *g;
    aios_gguf_writer *w;
    struct aios_err err;
    CHECK(aios_gguf_open(src, &g, &err) == AIOS_OK);
    CHECK(aios_gguf_writer_create(&w, &err) == AIOS_OK);
    CHECK(aios_gguf_writer_copy_all_kv(w, g, &err) == AIOS_OK);
    if (kv_str_key)
        CHECK(aios_gguf_writer_set_str(w, kv_str_key, kv_str, &err) == AIOS_OK);
    if (kv_u32_key)
        CHECK(aios_gguf_writer_set_u32(w, kv_u32_key, kv_u32, &err) == AIOS_OK);
    if (kv_f32_key)
        CHECK(aios_gguf_writer_set_f32(w, kv_f32_key, kv_f32, &err) == AIOS_OK);
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
        if (drop && strcmp(aios_gguf_tensor(g, i)->name, drop) == 0)
            continue;
        CHECK(aios_gguf_writer_copy_tensor(w, g, i, &err) == AIOS_OK);
    }
    CHECK_MSG(aios_gguf_writer_write(w, out, &err) == AIOS_OK, "%s", err.msg);
    aios_gguf_writer_destroy(w);
    aios_gguf_close(g);
}

static int load(const char *path, struct aios_err *err, aios_model **m)
{
    *m = NULL;
    int rc = aios_model_load(path, m, err);
    return rc;
}

static void test_errors(void)
{
    char p[4200];
    struct aios_err err;
    aios_model *m;
    snprintf(p, sizeof p, "%s/no_q.gguf", tmp);
    write_variant(p, "blk.1.attn_q.weight", NULL, NULL, NULL, 0, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_EFORMAT);
    CHECK_MSG(strstr(err.msg, "tensor 'blk.1.attn_q.weight' is missing") != NULL, "%s", err.msg);

    snprintf(p, sizeof p, "%s/heads.gguf", tmp);
    write_variant(p, NULL, NULL, NULL, "llama.attention.head_count_kv", 3, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_EFORMAT);
    CHECK_MSG(strstr(err.msg, "head_count_kv 3") != NULL, "%s", err.msg);

    /* 8 KV heads declared: attn_k has the rows of 2, so its shape is wrong. */
    snprintf(p, sizeof p, "%s/shape.gguf", tmp);
    write_variant(p, NULL, NULL, NULL, "llama.attention.head_count_kv", 4, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_EFORMAT);
    CHECK_MSG(strstr(err.msg, "'blk.0.attn_k.weight' has shape [256, 128") != NULL, "%s", err.msg);

    snprintf(p, sizeof p, "%s/arch.gguf", tmp);
    write_variant(p, NULL, "general.architecture", "mamba", NULL, 0, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_EUNSUPPORTED);
    CHECK_MSG(strstr(err.msg, "'mamba'") &&
                  strstr(err.msg, "llama, qwen2, chatglm, baichuan, bert"),
              "%s", err.msg);

    snprintf(p, sizeof p, "%s/eps.gguf", tmp);
    write_variant(p, NULL, NULL, NULL, "llama.rope.dimension_count", 63, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_EFORMAT);
    CHECK_MSG(strstr(err.msg, "rope.dimension_count 63") != NULL, "%s", err.msg);

    snprintf(p, sizeof p, "%s/scaling.gguf", tmp);
    write_variant(p, NULL, "llama.rope.scaling.type", "su", NULL, 0, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_EUNSUPPORTED);
    CHECK_MSG(strstr(err.msg, "rope scaling type 'su'") != NULL, "%s", err.msg);

    snprintf(p, sizeof p, "%s/missing.gguf", tmp);
    CHECK(load(p, &err, &m) != AIOS_OK);
    CHECK(m == NULL);
}

static void test_scaling(void)
{
    char p[4200];
    struct aios_err err;
    aios_model *m;
    snprintf(p, sizeof p, "%s/linear.gguf", tmp);
    write_variant(p, NULL, "llama.rope.scaling.type", "linear", NULL, 0,
                  "llama.rope.scaling.factor", 4.0f);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_OK);
    if (m) {
        CHECK_NEAR(aios_model_hparams(m)->rope_freq_scale, 0.25, 1e-7);
        aios_model_free(m);
    }
    snprintf(p, sizeof p, "%s/yarn.gguf", tmp);
    write_variant(p, NULL, "llama.rope.scaling.type", "yarn",
                  "llama.rope.scaling.original_context_length", 256, NULL, 0);
    CHECK_EQ_INT(load(p, &err, &m), AIOS_OK);
    if (m) {
        CHECK_EQ_INT(aios_model_hparams(m)->n_ctx_train, 256); /* capped, runs unscaled */
        CHECK_NEAR(aios_model_hparams(m)->rope_freq_scale, 1.0, 0);
        aios_model_free(m);
    }
}

static void test_hparams(void)
{
    char p[4200];
    struct aios_err err;
    aios_model *m;
    const char *files[] = {"llama-Q4_K_M.gguf",   "qwen2-F16.gguf",       "chatglm-Q8_0.gguf",
                           "baichuan7b-F32.gguf", "baichuan13b-F32.gguf", "bert-F32.gguf"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/models/%s", fix, files[i]);
        CHECK_MSG(load(p, &err, &m) == AIOS_OK, "%s: %s", files[i], err.msg);
        if (!m)
            continue;
        const struct aios_hparams *hp = aios_model_hparams(m);
        CHECK_EQ_INT(hp->n_vocab, 1024);
        switch (hp->arch) {
        case AIOS_ARCH_QWEN2:
            CHECK_EQ_INT(hp->rope_mode, AIOS_ROPE_NEOX);
            break;
        case AIOS_ARCH_CHATGLM:
            CHECK_EQ_INT(hp->n_rot, 32); /* half of each 64-value head rotates */
            break;
        case AIOS_ARCH_BAICHUAN:
            /* 40 blocks: the 13B variant with ALiBi and no RoPE. */
            CHECK_EQ_INT(hp->alibi_max_bias > 0, hp->n_layer == 40);
            CHECK_EQ_INT(hp->rope_mode < 0, hp->n_layer == 40);
            break;
        case AIOS_ARCH_BERT:
            CHECK(!hp->causal);
            CHECK_EQ_INT(hp->pooling, AIOS_POOL_CLS);
            break;
        default:
            CHECK_EQ_INT(hp->n_head_kv, 2);
        }
        aios_model_free(m);
    }
}

int main(void)
{
    fix = test_fixtures();
    tmp = test_tmpdir("llm_model");
    TEST_RUN(test_errors);
    TEST_RUN(test_scaling);
    TEST_RUN(test_hparams);
    TEST_EXIT();
}
