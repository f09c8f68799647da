/*
 * mlops: model operations around the registry — quantize jobs, evaluation,
 * feedback, monitoring and drift. For now: quantization of GGUF models.
 */
#ifndef AIOS_MLOPS_H
#define AIOS_MLOPS_H

#include "base/base.h"

/* One line per tensor as the job goes (index from 1). */
struct aios_quantize_progress {
    int64_t index, count;
    const char *name;
    const char *from_type, *to_type;
    const int64_t *ne; /* 4 dims */
    uint32_t n_dims;
    uint64_t bytes_in, bytes_out;
};

struct aios_quantize_opts {
    /* Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q6_K Q4_K_M Q5_K_M, Q4_K / Q5_K (aliases of
     * Q4_K_M / Q5_K_M, as in llama-quantize), F16, BF16, F32. */
    const char *type;
    /* Every 2-D weight gets the one type (llama-quantize --pure). */
    bool pure;
    /* Dequantize quantized inputs first (llama-quantize
     * --allow-requantize); otherwise they are an error. */
    bool allow_requantize;
    aios_pool *pool; /* NULL: this thread */
    void (*progress)(void *ud, const struct aios_quantize_progress *p);
    void *progress_ud;
};

/* Quantizes the GGUF model at in into out following llama-quantize's
 * recipe for the type: norms, biases and other 1-D tensors stay as they
 * are; output.weight (or the token embedding of a tied model) gets Q6_K;
 * in the _M mixes attn_v and ffn_down get Q6_K on the layers llama.cpp's
 * use_more_bits picks; tensors whose rows do not fit the type's block fall
 * back as llama-quantize does (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
 * then F16). Tensors are written in llama-quantize's order, metadata copied
 * with general.file_type and general.quantization_version set, so a result
 * is byte-identical to llama-quantize's for the types whose quantizers are.
 * out is replaced atomically; on error nothing is left at out. */
int aios_mlops_quantize(const char *in, const char *out, const struct aios_quantize_opts *opts,
                        struct aios_err *err);

#endif
