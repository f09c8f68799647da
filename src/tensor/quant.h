/*
 * Private to src/tensor: ggml's block layouts and the kernel entry points
 * of each instruction set.
 *
 * The structs reproduce ggml-common.h byte for byte (checked below with
 * static_assert), so blocks mapped from a GGUF file are read in place. F16
 * fields are raw uint16_t bit patterns. Every quantized kernel has a scalar
 * `_ref` definition; `_avx2` and `_avx512` versions live in files of those
 * names (compiled with the matching -m flags) and must agree with the
 * reference within the bounds the unit tests state.
 */
#ifndef AIOS_TENSOR_QUANT_H
#define AIOS_TENSOR_QUANT_H

#include "tensor/tensor.h"

#include <assert.h>
#include <string.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K AIOS_QK_K
#define K_SCALE_SIZE 12

typedef uint16_t aios_half;

struct block_q4_0 {
    aios_half d;
    uint8_t qs[QK4_0 / 2]; /* element j in the low nibble of qs[j], j+16 in the high */
};
static_assert(sizeof(struct block_q4_0) == 2 + QK4_0 / 2, "block_q4_0 layout");

struct block_q4_1 {
    aios_half d;
    aios_half m;
    uint8_t qs[QK4_1 / 2];
};
static_assert(sizeof(struct block_q4_1) == 4 + QK4_1 / 2, "block_q4_1 layout");

struct block_q5_0 {
    aios_half d;
    uint8_t qh[4]; /* bit j = 5th bit of element j (little-endian uint32) */
    uint8_t qs[QK5_0 / 2];
};
static_assert(sizeof(struct block_q5_0) == 2 + 4 + QK5_0 / 2, "block_q5_0 layout");

struct block_q5_1 {
    aios_half d;
    aios_half m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
};
static_assert(sizeof(struct block_q5_1) == 4 + 4 + QK5_1 / 2, "block_q5_1 layout");

struct block_q8_0 {
    aios_half d;
    int8_t qs[QK8_0];
};
static_assert(sizeof(struct block_q8_0) == 2 + QK8_0, "block_q8_0 layout");

struct block_q8_1 {
    aios_half d;
    aios_half s; /* d * sum(qs) */
    int8_t qs[QK8_1];
};
static_assert(sizeof(struct block_q8_1) == 4 + QK8_1, "block_q8_1 layout");

/* 16 sub-blocks of 16: 4-bit scale (low) and 4-bit min (high) per sub-block. */
struct block_q2_K {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    aios_half d;
    aios_half dmin;
};
static_assert(sizeof(struct block_q2_K) == 2 * 2 + QK_K / 16 + QK_K / 4, "block_q2_K layout");

/* 16 sub-blocks of 16: 6-bit signed (offset 32) scales packed in 12 bytes. */
struct block_q3_K {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    aios_half d;
};
static_assert(sizeof(struct block_q3_K) == 2 + QK_K / 4 + QK_K / 8 + 12, "block_q3_K layout");

/* 8 sub-blocks of 32: 6-bit scale and 6-bit min each, packed in 12 bytes. */
struct block_q4_K {
    aios_half d;
    aios_half dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(struct block_q4_K) == 2 * 2 + K_SCALE_SIZE + QK_K / 2, "block_q4_K layout");

struct block_q5_K {
    aios_half d;
    aios_half dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(struct block_q5_K) == 2 * 2 + K_SCALE_SIZE + QK_K / 2 + QK_K / 8,
              "block_q5_K layout");

/* 16 sub-blocks of 16 with int8 scales; values 6-bit with offset 32. */
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    aios_half d;
};
static_assert(sizeof(struct block_q6_K) == 2 + QK_K / 16 + 3 * QK_K / 4, "block_q6_K layout");

/* Activations for the K-quants: F32 scale, sums of each 16 values. */
struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};
static_assert(sizeof(struct block_q8_K) == 4 + QK_K + QK_K / 16 * 2, "block_q8_K layout");

/* ---- scalar helpers ----------------------------------------------------- */

static inline float fp16_to_f32(aios_half h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    if (e == 0x1f)
        u = sign | 0x7f800000 | (m << 13);
    else if (e)
        u = sign | ((e + 112) << 23) | (m << 13);
    else if (!m)
        u = sign;
    else {
        float v = (float)m * 0x1p-24f; /* subnormal half: exact */
        return sign ? -v : v;
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline aios_half f32_to_fp16(float f)
{
    return aios_fp32_to_fp16(f);
}

/* Round to nearest with ties to even, as ggml's nearest_int for |x| < 2^22. */
static inline int nearest_int(float f)
{
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* 6-bit scale and min of sub-block j from the 12 packed bytes of Q4_K/Q5_K. */
static inline void k4_scale_min(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* The 16 signed 6-bit scales of a Q3_K block, minus 32. */
static inline void q3k_scales(const uint8_t *packed, int8_t out[16])
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* ---- reference kernels (quant_ref.c, quant_k.c, dot_ref.c) -------------- */

void aios_q4_0_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q4_1_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q5_0_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q5_1_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q8_0_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q8_1_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q2_K_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q3_K_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q4_K_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q5_K_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q6_K_from_f32_ref(const float *x, void *y, int64_t k);
void aios_q8_K_from_f32_ref(const float *x, void *y, int64_t k);
void aios_f16_from_f32_ref(const float *x, void *y, int64_t k);
void aios_bf16_from_f32_ref(const float *x, void *y, int64_t k);
void aios_f32_copy(const float *x, void *y, int64_t k);

/* Activation quantizers as ggml's x86 CPU backend runs them (scale from
 * 127/amax, ties to even); every ISA version gives identical bytes. */
void aios_q8_0_act_ref(const float *x, void *y, int64_t k);
void aios_q8_1_act_ref(const float *x, void *y, int64_t k);

void aios_q4_0_to_f32(const void *x, float *y, int64_t k);
void aios_q4_1_to_f32(const void *x, float *y, int64_t k);
void aios_q5_0_to_f32(const void *x, float *y, int64_t k);
void aios_q5_1_to_f32(const void *x, float *y, int64_t k);
void aios_q8_0_to_f32(const void *x, float *y, int64_t k);
void aios_q8_1_to_f32(const void *x, float *y, int64_t k);
void aios_q2_K_to_f32(const void *x, float *y, int64_t k);
void aios_q3_K_to_f32(const void *x, float *y, int64_t k);
void aios_q4_K_to_f32(const void *x, float *y, int64_t k);
void aios_q5_K_to_f32(const void *x, float *y, int64_t k);
void aios_q6_K_to_f32(const void *x, float *y, int64_t k);
void aios_q8_K_to_f32(const void *x, float *y, int64_t k);
void aios_f16_to_f32(const void *x, float *y, int64_t k);
void aios_bf16_to_f32(const void *x, float *y, int64_t k);
void aios_f32_to_f32(const void *x, float *y, int64_t k);

/* Scalar reference dot products: aios_dot_<type>_ref. */
#define AIOS_KERNEL_TYPES(X)                                                                       \
    X(f32)                                                                                         \
    X(f16) X(bf16) X(q4_0) X(q4_1) X(q5_0) X(q5_1) X(q8_0) X(q2_K) X(q3_K) X(q4_K) X(q5_K) X(q6_K)
#define AIOS__DECL_DOT(t)                                                                          \
    void aios_dot_##t##_ref(int64_t n, float *s, const void *x, const void *y);
AIOS_KERNEL_TYPES(AIOS__DECL_DOT)
#undef AIOS__DECL_DOT

/* What each SIMD file provides, by weight type id (vec_dot) or activation
 * type id (act quantizer); NULL where it has nothing and the reference (or
 * the narrower ISA) is used. */
aios_vec_dot_fn aios_tensor_avx2_dot(uint32_t type);
aios_vec_dot_fn aios_tensor_avx512_dot(uint32_t type);
aios_from_float_fn aios_tensor_avx2_act(uint32_t act_type);
aios_from_float_fn aios_tensor_avx512_act(uint32_t act_type);
/* One weight row against four activation rows y, y + ystride, ... (bytes):
 * s[0..3]. Only some types and ISAs have one (gemm_avx512.c); matmul uses
 * it for runs of four activation rows when present. */
typedef void (*aios_vec_dot4_fn)(int64_t n, float *s, const void *x, const void *y, size_t ystride);
aios_vec_dot4_fn aios_tensor_avx512_dot4(uint32_t type);
/* NULL when the ISA level has no four-row kernel for the type. */
aios_vec_dot4_fn aios_tensor_vec_dot4_isa(uint32_t type, int isa);

/* A kernel set that takes the activations in a layout of its own (the same
 * quantized values as the activation quantizer, rearranged and with
 * per-block terms precomputed once per activation row instead of once per
 * weight row). matmul uses it when the ISA level has one for the type. */
struct aios_prepared {
    size_t (*row_size)(int64_t n); /* bytes of a prepared row of n values */
    aios_from_float_fn prepare;    /* F32 row -> prepared row */
    aios_vec_dot_fn dot;           /* weight row . prepared row */
    aios_vec_dot4_fn dot4;         /* weight row . four prepared rows */
};
const struct aios_prepared *aios_tensor_avx512_prepared(uint32_t type);
const struct aios_prepared *aios_tensor_prepared_isa(uint32_t type, int isa);

/* A packed-panel kernel set (panel_avx512.c) for products with many
 * activation rows: activations in the kernel's layout, weights repacked
 * AIOS_PANEL_ROWS rows at a time into a panel reused for every activation
 * row. pack reads rows [0, rows) (rows <= AIOS_PANEL_ROWS) at w, row_stride
 * bytes apart; run takes npanels (1 or 2) panels panel_stride bytes apart
 * and writes y[j * y_stride + r] for j < nact, r < rows (rows <= 16 x
 * npanels; a second panel's rows follow the first's sixteen). */
#define AIOS_PANEL_ROWS 16
struct aios_panel {
    size_t (*act_size)(int64_t n);
    aios_from_float_fn act_prepare;
    size_t (*panel_size)(int64_t n);
    void (*pack)(const void *w, size_t row_stride, int rows, int64_t n, void *panel);
    void (*run)(const void *panel, size_t panel_stride, int npanels, int64_t n, const void *act,
                size_t act_stride, int64_t nact, float *y, int64_t y_stride, int rows);
};
const struct aios_panel *aios_tensor_avx512_panel(uint32_t type);
const struct aios_panel *aios_tensor_panel_isa(uint32_t type, int isa);

/* Element-wise references (ops.c) and their AVX2 versions (ops_avx2.c). */
void aios_tensor_softmax_ref(float *x, int64_t n);
void aios_tensor_silu_ref(const float *x, float *y, int64_t n);
void aios_tensor_avx2_softmax(float *x, int64_t n);
void aios_tensor_avx2_silu(const float *x, float *y, int64_t n);
/* Attention inner loops for the g query heads that share a KV head
 * (ops_avx2.c): scores q_r . k_j, and o_r += sum_j p_r[j] v_j. */
void aios_tensor_avx2_kq_rows(const float *qs, int g, const void *kj, bool f16, int64_t d,
                              float *out, int64_t ostride);
void aios_tensor_avx2_kq_group(const float *qs, int g, const void *k, bool f16, int64_t kstride,
                               int64_t n, int64_t d, float *out, int64_t ostride);
void aios_tensor_avx2_pv_group(float *o, int g, const float *p, int64_t pstride, const void *v,
                               bool f16, int64_t vstride, int64_t n, int64_t d);

/* Attention of the heads [h0, h1) for many query rows at once, sixteen
 * rows per tile (attn_prompt_avx512.c); false when it does not apply (head_dim
 * not a multiple of 16, fewer query rows than one tile, no memory) and
 * nothing was written. */
bool aios_tensor_avx512_attn_heads(const struct aios_attn_args *a, const float *q, const void *k,
                                   const void *v, float *out, int64_t h0, int64_t h1);

/* The AVX2 Q8_0 activation quantizer (dot_avx2.c). */
void aios_q8_0_act_avx2(const float *x, void *y, int64_t k);
void aios_q8_K_act_avx2(const float *x, void *y, int64_t k);

/* F16C row conversions (AVX2 file). */
void aios_tensor_avx2_f16_to_f32(const uint16_t *x, float *y, int64_t n);
void aios_tensor_avx2_f32_to_f16(const float *x, uint16_t *y, int64_t n);

/* ISA levels. */
enum { AIOS_ISA_REF = 0, AIOS_ISA_AVX2 = 1, AIOS_ISA_AVX512 = 2 };
/* The vec_dot a given ISA level would use (falling back to narrower ones);
 * tests call this to compare every path on one machine. */
aios_vec_dot_fn aios_tensor_vec_dot_isa(uint32_t type, int isa);
aios_from_float_fn aios_tensor_act_quantizer_isa(uint32_t type, int isa);
/* The level chosen for this CPU. */
int aios_tensor_isa_level(void);

/* AVX-512 attention inner loops (attn_avx512.c), same contracts as the
 * AVX2 ones above. */
void aios_tensor_avx512_kq_group(const float *qs, int g, const void *k, bool f16, int64_t kstride,
                                 int64_t n, int64_t d, float *out, int64_t ostride);
void aios_tensor_avx512_pv_group(float *o, int g, const float *p, int64_t pstride, const void *v,
                                 bool f16, int64_t vstride, int64_t n, int64_t d);
/* One row of scores to probabilities in one pass per step: row[j] * scale
 * plus the ALiBi bias slope * -|pos - j| (none when slope is 0) for the nk
 * unmasked keys, softmax, rounded to F16 when round16; row[nk..n) = 0. */
void aios_tensor_avx512_attn_softmax(float *row, int64_t nk, int64_t n, float scale, float slope,
                                     int64_t pos, bool round16);
/* aios_tensor_attention with the kernels of a given ISA level (at most the
 * CPU's); tests call it to compare every path on one machine. */
int aios_tensor_attention_isa(const struct aios_attn_args *a, const float *q, const void *k,
                              const void *v, float *out, float *scratch, int isa,
                              struct aios_err *err);

#endif
