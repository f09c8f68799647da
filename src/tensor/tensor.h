/*
 * tensor: element types, quantization formats and the CPU kernels that the
 * model code runs on.
 *
 * Types are the ggml type ids of gguf.h (enum aios_ggml_type) with ggml's
 * exact block layouts, so tensors mapped from a GGUF file are used in place.
 * Each type has one row of traits (aios_tensor_type_traits): block geometry,
 * dequantization, the reference quantizer used to write model files, and the
 * dot product against the activation type ggml pairs it with (Q4_0 and Q8_0
 * against Q8_0, Q4_1 against Q8_1, K-quants against Q8_K, F16 against F16,
 * F32 against F32). Activations are F32 rows that the matrix kernels
 * quantize on the fly, the way ggml's CPU backend does, so results follow
 * llama.cpp's arithmetic.
 *
 * Kernels exist as a scalar reference (the definition) and AVX2 / AVX-512
 * versions picked once at run time from aios_cpu_get(); AIOS_CPU_DISABLE
 * forces the narrower paths. Matrix products split rows over an aios_pool.
 *
 * Nothing here aborts on data: functions that take sizes from a caller check
 * them and return AIOS_EINVAL. Kernels that take raw pointers trust the
 * caller to pass buffers of the stated size.
 */
#ifndef AIOS_TENSOR_H
#define AIOS_TENSOR_H

#include "base/base.h"
#include "gguf/gguf.h"

/* Elements per super-block of the K-quants. */
#define AIOS_QK_K 256

/* ---- types ------------------------------------------------------------- */

/* Dequantizes k values (k a multiple of the block size) of a row. */
typedef void (*aios_to_float_fn)(const void *x, float *y, int64_t k);
/* Quantizes k values (k a multiple of the block size). */
typedef void (*aios_from_float_fn)(const float *x, void *y, int64_t k);
/* *s = dot(x, y) over n values; x of the weight type, y of its vec_dot_type. */
typedef void (*aios_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);

struct aios_type_traits {
    const char *name;
    int64_t block_size; /* elements per block */
    size_t type_size;   /* bytes per block */
    bool is_quantized;
    aios_to_float_fn to_float;         /* NULL for types without one */
    aios_from_float_fn from_float;     /* reference quantizer (model files); NULL if none */
    aios_from_float_fn from_float_act; /* activation types only: the quantizer ggml's CPU
                                          backend applies to activations */
    aios_vec_dot_fn vec_dot;           /* scalar reference; see aios_tensor_vec_dot */
    uint32_t vec_dot_type;             /* type the activations are converted to */
};

/* Traits of a type id; NULL for ids this module does not handle. */
const struct aios_type_traits *aios_tensor_type_traits(uint32_t type);
/* Type id from a name ("q4_k", "Q4_K"), case-insensitive; -1 if unknown. */
int aios_tensor_type_by_name(const char *name);
/* Bytes of a row of n values; 0 when n is not a multiple of the block size
 * or the type is unknown. */
size_t aios_tensor_row_size(uint32_t type, int64_t n);
/* The vec_dot of a type for the best ISA of this CPU (or the one forced). */
aios_vec_dot_fn aios_tensor_vec_dot(uint32_t type);
/* Activation quantizer (F32 -> the vec_dot_type of `type`), best ISA. */
aios_from_float_fn aios_tensor_act_quantizer(uint32_t type);
/* Name of the kernel set chosen at run time: "avx512", "avx2" or "scalar". */
const char *aios_tensor_isa(void);

/* F16 and BF16 scalar conversions (exact, round to nearest even). */
uint16_t aios_fp32_to_fp16(float f);
float aios_fp16_to_fp32(uint16_t h);
uint16_t aios_fp32_to_bf16(float f);
float aios_bf16_to_fp32(uint16_t h);
/* Row conversions; use F16C when the CPU has it. */
void aios_fp16_to_fp32_row(const uint16_t *x, float *y, int64_t n);
void aios_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n);

/* Dequantizes n values (a whole number of blocks) of any type with a
 * to_float into F32. AIOS_EINVAL for a bad type or size. */
int aios_tensor_dequantize(uint32_t type, const void *x, float *y, int64_t n, struct aios_err *err);
/* Quantizes nrows rows of n values with the type's reference quantizer
 * (the one llama-quantize uses without an importance matrix). dst holds
 * nrows * aios_tensor_row_size(type, n) bytes. */
int aios_tensor_quantize(uint32_t type, const float *x, void *dst, int64_t nrows, int64_t n,
                         struct aios_err *err);

/* ---- matrix products --------------------------------------------------- */

/* A weight matrix: nrows rows of ncols values of `type`, row r at
 * data + r * row_stride. */
struct aios_tensor_mat {
    uint32_t type;
    int64_t ncols;
    int64_t nrows;
    size_t row_stride;
    const void *data;
};

/* Scratch bytes aios_tensor_matmul needs for n activation rows. */
size_t aios_tensor_matmul_wsize(uint32_t type, int64_t ncols, int64_t n);

/* y[j * y_stride + r] = dot(W row r, x[j * x_stride ...]) for the n F32
 * activation rows x (each ncols long) and every weight row r. The
 * activation rows are converted once to the weight's vec_dot_type and
 * reused for all weight rows. Rows are split over pool (NULL: this thread
 * only). wdata/wsize: scratch of at least aios_tensor_matmul_wsize bytes, or
 * NULL to allocate. AIOS_EINVAL for shapes that do not fit the type. */
int aios_tensor_matmul(aios_pool *pool, const struct aios_tensor_mat *w, const float *x, int64_t n,
                       int64_t x_stride, float *y, int64_t y_stride, void *wdata, size_t wsize,
                       struct aios_err *err);
/* Several products of one input, y_k = W_k x for k < nw (at most 4): the
 * W_k share one weight type and row length, the activations are converted
 * once and the rows of all W_k are shared out together (Q, K and V; gate
 * and up). */
struct aios_tensor_mm {
    const struct aios_tensor_mat *w;
    float *y;
    int64_t y_stride;
};
int aios_tensor_matmul_n(aios_pool *pool, const struct aios_tensor_mm *out, int nw, const float *x,
                         int64_t n, int64_t x_stride, void *wdata, size_t wsize,
                         struct aios_err *err);
/* n = 1. */
int aios_tensor_matvec(aios_pool *pool, const struct aios_tensor_mat *w, const float *x, float *y,
                       void *wdata, size_t wsize, struct aios_err *err);

/* ---- element-wise operations (F32, in place allowed where x == y) ------ */

/* y = x / sqrt(mean(x^2) + eps) [* w]; w may be NULL. */
void aios_tensor_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps);
/* y = (x - mean) / sqrt(var + eps) [* w] [+ b]; w, b may be NULL. */
void aios_tensor_layer_norm(const float *x, const float *w, const float *b, float *y, int64_t n,
                            float eps);

enum aios_rope_mode {
    AIOS_ROPE_NORMAL = 0, /* rotate pairs (x[2i], x[2i+1]) */
    AIOS_ROPE_NEOX = 2,   /* rotate pairs (x[i], x[i + n_rot/2]) (ggml's mode number) */
};
/* RoPE on n_head heads of head_dim values each (x laid out head after head,
 * in place), at position pos. Only the first n_rot values of each head
 * rotate (n_rot even, <= head_dim). theta_i = pos * base^(-2i/n_rot) /
 * freq_factors[i] (freq_factors: n_rot/2 values, e.g. Llama 3 rope_freqs,
 * or NULL), times freq_scale. */
void aios_tensor_rope(float *x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos,
                      enum aios_rope_mode mode, float base, float freq_scale,
                      const float *freq_factors);

/* In place softmax over n values (max-subtracted; -INFINITY entries give 0).
 * Softmax and SiLU use a vector exp (within 2 ulp of expf) on AVX2. */
void aios_tensor_softmax(float *x, int64_t n);
void aios_tensor_silu(const float *x, float *y, int64_t n);
/* GELU, tanh approximation, evaluated in F32. */
void aios_tensor_gelu(const float *x, float *y, int64_t n);
/* GELU as llama.cpp's CPU backend evaluates it: input rounded to F16,
 * looked up in a 65536-entry table of F16 results. */
void aios_tensor_gelu_f16(const float *x, float *y, int64_t n);
void aios_tensor_add(const float *a, const float *b, float *y, int64_t n);
void aios_tensor_mul(const float *a, const float *b, float *y, int64_t n);
void aios_tensor_scale(const float *x, float s, float *y, int64_t n);
/* Dot product of two F32 vectors (best ISA). */
float aios_tensor_dot_f32(const float *a, const float *b, int64_t n);

/* ALiBi slope of head h of n_head with the given max_bias (ggml's rule). */
float aios_tensor_alibi_slope(int64_t h, int64_t n_head, float max_bias);

/* Scaled dot-product attention for one head group, as llama.cpp computes it
 * without flash attention: for each of n_q query rows (at positions
 * q_pos0 + i) and each head h, softmax(q.k * scale + slope_h * -(|i-j|)
 * [ALiBi, when max_bias > 0] with keys after the query position masked
 * (causal) or none (non-causal)) times V.
 *   q: [n_q][n_head][head_dim] F32, q_stride floats between query rows
 *      (0: n_head * head_dim)
 *   k, v: [n_kv][n_head_kv][head_dim] of kv_type (F32 or F16), row stride
 *         kv_stride elements between positions
 *   out: [n_q][n_head][head_dim] F32
 * Heads map to KV heads by h / (n_head / n_head_kv) (GQA). scratch holds
 * n_kv floats. */
struct aios_attn_args {
    int64_t n_q, n_kv, n_head, n_head_kv, head_dim;
    int64_t q_pos0; /* position of query row 0; key j is at position j */
    bool causal;
    float scale;
    float max_bias;
    uint32_t kv_type; /* AIOS_GGML_F32 or AIOS_GGML_F16 */
    int64_t kv_stride;
    int64_t q_stride; /* 0: n_head * head_dim */
};
/* Floats between query rows of a. */
static inline int64_t aios_attn_q_stride(const struct aios_attn_args *a)
{
    return a->q_stride ? a->q_stride : a->n_head * a->head_dim;
}
int aios_tensor_attention(const struct aios_attn_args *a, const float *q, const void *k,
                          const void *v, float *out, float *scratch, struct aios_err *err);
/* The same with the heads split over pool (NULL: this thread); scratch is
 * allocated inside (n_kv floats per thread). */
int aios_tensor_attention_mt(aios_pool *pool, const struct aios_attn_args *a, const float *q,
                             const void *k, const void *v, float *out, struct aios_err *err);

#endif
