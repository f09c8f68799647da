/*
 * llm models and contexts (included by llm.h).
 *
 * A model is a GGUF file mapped read-only plus the hyperparameters and the
 * weight bindings of its architecture; weights are used in place (nothing
 * is copied at load). A context owns a KV cache with n_seq sequence slots of
 * n_ctx positions each and the scratch memory of the forward pass, so one
 * decode call can carry tokens of several sequences (continuous batching).
 *
 * Threading: a context is used by one thread at a time; its compute pool
 * splits matrix rows and attention work.
 */
#ifndef AIOS_LLM_MODEL_H
#define AIOS_LLM_MODEL_H

#include "base/base.h"
#include "gguf/gguf.h"

enum aios_arch {
    AIOS_ARCH_LLAMA,
    AIOS_ARCH_QWEN2,
    AIOS_ARCH_CHATGLM,
    AIOS_ARCH_BAICHUAN,
    AIOS_ARCH_BERT,
};

enum aios_pooling { AIOS_POOL_NONE = 0, AIOS_POOL_MEAN = 1, AIOS_POOL_CLS = 2, AIOS_POOL_LAST = 3 };

struct aios_hparams {
    enum aios_arch arch;
    char arch_name[32];
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train, n_rot;
    float norm_eps;
    int rope_mode; /* enum aios_rope_mode of tensor.h; -1 when the model has no RoPE */
    float rope_base, rope_freq_scale;
    float alibi_max_bias; /* > 0: ALiBi */
    bool causal;
    enum aios_pooling pooling;
    bool normalize_embd; /* L2-normalise pooled embeddings */
    uint64_t n_params;
};

typedef struct aios_model aios_model;

/* Opens path, reads the hyperparameters and binds every tensor the
 * architecture needs. A missing or inconsistent tensor, or an unknown
 * architecture, gives AIOS_EFORMAT / AIOS_EUNSUPPORTED naming it. */
int aios_model_load(const char *path, aios_model **out, struct aios_err *err);
void aios_model_free(aios_model *m);
const struct aios_hparams *aios_model_hparams(const aios_model *m);
/* The open file, for the tokenizer and chat template. */
const aios_gguf *aios_model_gguf(const aios_model *m);
/* "llama, qwen2, chatglm, baichuan, bert" */
const char *aios_model_supported_archs(void);

struct aios_ctx_params {
    int n_ctx;     /* positions per sequence; 0 = min(training context, 4096) */
    int n_seq;     /* sequence slots; 0 = 1 */
    int n_batch;   /* tokens per forward pass; 0 = 512 */
    bool kv_f32;   /* F32 KV cache (the references' precision); default F16 */
    int n_threads; /* 0 = CPU count */
};

typedef struct aios_ctx aios_ctx;

int aios_ctx_create(const aios_model *m, const struct aios_ctx_params *p, aios_ctx **out,
                    struct aios_err *err);
void aios_ctx_free(aios_ctx *c);
int aios_ctx_n_ctx(const aios_ctx *c);
int aios_ctx_n_seq(const aios_ctx *c);
/* Bytes held by the KV cache. */
size_t aios_ctx_kv_bytes(const aios_ctx *c);

/* One token of a batch. Within a batch the tokens of one sequence come in
 * increasing, consecutive positions; the first one's position may be at most
 * the sequence's current length (a smaller one overwrites the tail). */
struct aios_batch_tok {
    int32_t token;
    int32_t pos;
    int32_t seq;
    bool output; /* compute the logits (or, for embedding models, the hidden state) */
};

/* Runs the model over n tokens (split internally into n_batch chunks).
 * AIOS_ELIMIT when a position is past n_ctx (the context is full),
 * AIOS_EINVAL for bad ids, sequences or positions. */
int aios_ctx_decode(aios_ctx *c, const struct aios_batch_tok *toks, int n, struct aios_err *err);
/* Outputs of the last decode, in the order of the tokens flagged `output`:
 * logits (n_vocab) for decoders, final hidden states (n_embd) for encoders. */
int aios_ctx_n_outputs(const aios_ctx *c);
int aios_ctx_output_dim(const aios_ctx *c);
const float *aios_ctx_output(const aios_ctx *c, int i);
/* Positions stored for a sequence. */
int aios_ctx_seq_len(const aios_ctx *c, int seq);
void aios_ctx_seq_clear(aios_ctx *c, int seq);
/* Copies the first n positions of src's KV into dst (prefix reuse). */
int aios_ctx_seq_copy(aios_ctx *c, int src, int dst, int n, struct aios_err *err);

/* Pools the hidden states rows[n][n_embd] of one text as the model says
 * (CLS, mean, last) and L2-normalises when the model asks for it. */
void aios_embd_pool(const aios_model *m, const float *rows, int n, float *out);

#endif
