/* Private to llm: the model's weight bindings and the context's buffers. */
#ifndef AIOS_LLM_INT_H
#define AIOS_LLM_INT_H

#include "llm/llm.h"
#include "tensor/tensor.h"

struct aios_weight {
    const struct aios_gguf_tensor *t; /* NULL: absent (optional tensor) */
    struct aios_tensor_mat mat;
    const float *f; /* for F32 vectors (norms, biases) */
};

struct aios_layer {
    struct aios_weight attn_norm, attn_norm_b;
    struct aios_weight wq, wk, wv, wqkv, bq, bk, bv, bqkv, wo, bo;
    struct aios_weight ffn_norm, ffn_norm_b;
    struct aios_weight ffn_gate, ffn_up, ffn_down, ffn_up_b, ffn_down_b;
};

struct aios_model {
    aios_gguf *g;
    struct aios_hparams hp;
    struct aios_weight tok_embd, type_embd, pos_embd, embd_norm, embd_norm_b;
    struct aios_weight out_norm, output, rope_freqs;
    struct aios_layer *layers;
};

#endif
