/*
 * Element-wise operations and attention, in F32, following the arithmetic
 * of ggml's CPU backend (sums in double where ggml uses ggml_float, the same
 * RoPE angle recurrence, GELU through the same F16 table) so that a model
 * run on these matches llama.cpp within the fixtures' tolerances.
 *
 * These are the scalar references. Softmax and SiLU, whose cost is expf,
 * dispatch to AVX2 versions (ops_avx2.c) with a vector exp within 2 ulp;
 * the rest are cheap next to the matrix products. Attention's inner dot
 * products go through the dispatched kernels.
 */
#include "tensor/quant.h"

#include <math.h>
#include <pthread.h>

void aios_tensor_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++)
        y[i] = w ? (x[i] * scale) * w[i] : x[i] * scale;
}

void aios_tensor_layer_norm(const float *x, const float *w, const float *b, float *y, int64_t n,
                            float eps)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i];
    const float mean = (float)(sum / (double)n);
    double sum2 = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] - mean;
        y[i] = v;
        sum2 += (double)(v * v);
    }
    const float variance = (float)(sum2 / (double)n);
    const float scale = 1.0f / sqrtf(variance + eps);
    for (int64_t i = 0; i < n; i++) {
        float v = y[i] * scale;
        if (w)
            v = v * w[i];
        if (b)
            v = v + b[i];
        y[i] = v;
    }
}

void aios_tensor_rope(float *x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos,
                      enum aios_rope_mode mode, float base, float freq_scale,
                      const float *freq_factors)
{
    if (n_rot > head_dim)
        n_rot = head_dim;
    n_rot &= ~(int64_t)1;
    if (n_rot <= 0)
        return;
    /* cos/sin per pair, by ggml's recurrence theta_{i+1} = theta_i * scale */
    float cs[2 * 512];
    float *cache = cs;
    float *heap = NULL;
    if (n_rot > 1024) {
        heap = aios_malloc((size_t)n_rot * sizeof(float));
        if (!heap)
            return;
        cache = heap;
    }
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int64_t i0 = 0; i0 < n_rot; i0 += 2) {
        const float ff = freq_factors ? freq_factors[i0 / 2] : 1.0f;
        const float t = freq_scale * (theta / ff);
        cache[i0] = cosf(t);
        cache[i0 + 1] = sinf(t);
        theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_head; h++) {
        float *v = x + h * head_dim;
        for (int64_t i0 = 0; i0 < n_rot; i0 += 2) {
            const float c = cache[i0], s = cache[i0 + 1];
            float *a, *b;
            if (mode == AIOS_ROPE_NEOX) {
                a = v + i0 / 2;
                b = a + n_rot / 2;
            } else {
                a = v + i0;
                b = a + 1;
            }
            const float x0 = *a, x1 = *b;
            *a = x0 * c - x1 * s;
            *b = x0 * s + x1 * c;
        }
    }
    aios_free(heap);
}

void aios_tensor_softmax_ref(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > max)
            max = x[i];
    if (max == -INFINITY) { /* everything masked: define the result as zeros */
        for (int64_t i = 0; i < n; i++)
            x[i] = 0;
        return;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += (double)x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

void aios_tensor_silu_ref(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

void aios_tensor_softmax(float *x, int64_t n)
{
    if (aios_tensor_isa_level() >= AIOS_ISA_AVX2)
        aios_tensor_avx2_softmax(x, n);
    else
        aios_tensor_softmax_ref(x, n);
}

void aios_tensor_silu(const float *x, float *y, int64_t n)
{
    if (aios_tensor_isa_level() >= AIOS_ISA_AVX2)
        aios_tensor_avx2_silu(x, y, n);
    else
        aios_tensor_silu_ref(x, y, n);
}

static inline float gelu_tanh(float x)
{
    const float a = 0.044715f;
    const float s2pi = 0.79788456080286535587989211986876f;
    return 0.5f * x * (1.0f + tanhf(s2pi * x * (1.0f + a * x * x)));
}

void aios_tensor_gelu(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = gelu_tanh(x[i]);
}

static uint16_t *gelu_table;
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void)
{
    /* 128 KiB, built once, kept for the life of the process. */
    static uint16_t table[1 << 16];
    for (uint32_t i = 0; i < (1u << 16); i++)
        table[i] = aios_fp32_to_fp16(gelu_tanh(fp16_to_f32((uint16_t)i)));
    gelu_table = table;
}

void aios_tensor_gelu_f16(const float *x, float *y, int64_t n)
{
    pthread_once(&gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++) {
        if (x[i] <= -10.0f)
            y[i] = 0.0f;
        else if (x[i] >= 10.0f)
            y[i] = x[i];
        else
            y[i] = fp16_to_f32(gelu_table[aios_fp32_to_fp16(x[i])]);
    }
}

void aios_tensor_add(const float *a, const float *b, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void aios_tensor_mul(const float *a, const float *b, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

void aios_tensor_scale(const float *x, float s, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * s;
}

float aios_tensor_dot_f32(const float *a, const float *b, int64_t n)
{
    float s = 0;
    aios_tensor_vec_dot(AIOS_GGML_F32)(n, &s, a, b);
    return s;
}

float aios_tensor_alibi_slope(int64_t h, int64_t n_head, float max_bias)
{
    if (max_bias <= 0.0f || n_head <= 0)
        return 1.0f;
    const uint32_t n2 = 1u << (uint32_t)floor(log2((double)n_head));
    const float m0 = powf(2.0f, -max_bias / (float)n2);
    const float m1 = powf(2.0f, -(max_bias / 2.0f) / (float)n2);
    return h < (int64_t)n2 ? powf(m0, (float)(h + 1)) : powf(m1, (float)(2 * (h - n2) + 1));
}

static int attn_check(const struct aios_attn_args *a, struct aios_err *err)
{
    if (a->n_q <= 0 || a->n_kv <= 0 || a->n_head <= 0 || a->n_head_kv <= 0 || a->head_dim <= 0 ||
        a->n_head % a->n_head_kv || a->q_pos0 < 0 || a->kv_stride < a->n_head_kv * a->head_dim ||
        (a->q_stride && a->q_stride < a->n_head * a->head_dim))
        return aios_err_set(err, AIOS_EINVAL, "attention: bad shape");
    if (a->kv_type != AIOS_GGML_F32 && a->kv_type != AIOS_GGML_F16)
        return aios_err_set(err, AIOS_EINVAL, "attention: KV type must be F32 or F16");
    if (a->kv_type == AIOS_GGML_F16 && a->head_dim > 1024)
        return aios_err_set(err, AIOS_EINVAL, "attention: head_dim %lld > 1024 with F16 KV",
                            (long long)a->head_dim);
    return AIOS_OK;
}

/* Heads [h0, h1) of one attention call. */
/* Reference: head by head, with the dispatched dot products. */
static void attn_heads_ref(const struct aios_attn_args *a, const float *q, const void *k,
                           const void *v, float *out, float *scratch, int64_t h0, int64_t h1)
{
    const bool f16 = a->kv_type == AIOS_GGML_F16;
    const int64_t d = a->head_dim, group = a->n_head / a->n_head_kv;
    aios_vec_dot_fn dot = aios_tensor_vec_dot(a->kv_type);
    uint16_t qh[1024];
    for (int64_t h = h0; h < h1; h++) {
        const int64_t hk = h / group;
        const float slope =
            a->max_bias > 0 ? aios_tensor_alibi_slope(h, a->n_head, a->max_bias) : 0.0f;
        const void *kh = f16 ? (const void *)((const uint16_t *)k + hk * d)
                             : (const void *)((const float *)k + hk * d);
        for (int64_t i = 0; i < a->n_q; i++) {
            const float *qi = q + i * aios_attn_q_stride(a) + h * d;
            const int64_t pos = a->q_pos0 + i;
            /* keys after the query position are masked when causal */
            const int64_t nk = a->causal && pos + 1 < a->n_kv ? pos + 1 : a->n_kv;
            /* As ggml: the query is rounded to the KV type for the K product. */
            if (f16)
                for (int64_t t = 0; t < d; t++)
                    qh[t] = aios_fp32_to_fp16(qi[t]);
            for (int64_t j = 0; j < nk; j++) {
                if (f16)
                    dot(d, &scratch[j], (const uint16_t *)kh + j * a->kv_stride, qh);
                else
                    dot(d, &scratch[j], (const float *)kh + j * a->kv_stride, qi);
            }
            for (int64_t j = 0; j < nk; j++) {
                float bias = 0.0f;
                if (slope != 0.0f)
                    bias = slope * -(float)(pos > j ? pos - j : j - pos);
                scratch[j] = scratch[j] * a->scale + bias;
            }
            for (int64_t j = nk; j < a->n_kv; j++)
                scratch[j] = -INFINITY;
            aios_tensor_softmax(scratch, a->n_kv);
            float *o = out + (i * a->n_head + h) * d;
            for (int64_t t = 0; t < d; t++)
                o[t] = 0;
            for (int64_t j = 0; j < nk; j++) {
                float p = scratch[j];
                if (p == 0.0f)
                    continue;
                /* and the probabilities are rounded to F16 for the V product */
                if (f16)
                    p = fp16_to_f32(aios_fp32_to_fp16(p));
                const void *vj =
                    f16 ? (const void *)((const uint16_t *)v + j * a->kv_stride + hk * d)
                        : (const void *)((const float *)v + j * a->kv_stride + hk * d);
                if (f16) {
                    for (int64_t t = 0; t < d; t++)
                        o[t] += p * fp16_to_f32(((const uint16_t *)vj)[t]);
                } else {
                    for (int64_t t = 0; t < d; t++)
                        o[t] += p * ((const float *)vj)[t];
                }
            }
        }
    }
}

/* x[i] = f16(x[i]) in place, vectorised where the CPU converts (F16C). */
static void round_f16(float *x, int64_t n)
{
    uint16_t tmp[256];
    for (int64_t i = 0; i < n; i += 256) {
        int64_t m = n - i < 256 ? n - i : 256;
        aios_fp32_to_fp16_row(x + i, tmp, m);
        aios_fp16_to_fp32_row(tmp, x + i, m);
    }
}

/* SIMD path (AVX2 or AVX-512 kernels by isa): the query heads that share a
 * KV head (GQA) go together, so each key and value row is read once for
 * the whole group. Needs group x n_kv floats of scores (allocated here);
 * falls back to the head-by-head reference when that allocation fails or
 * isa is below AVX2. */
static void attn_heads(const struct aios_attn_args *a, const float *q, const void *k, const void *v,
                       float *out, float *scratch, int64_t h0, int64_t h1, int isa)
{
    if (isa >= AIOS_ISA_AVX512 && aios_tensor_avx512_attn_heads(a, q, k, v, out, h0, h1))
        return; /* many query rows: tiles of sixteen */
    const int64_t d = a->head_dim, group = a->n_head / a->n_head_kv;
    float *sc = NULL, *qb = NULL;
    if (isa >= AIOS_ISA_AVX2) {
        sc = aios_malloc((size_t)group * (size_t)a->n_kv * sizeof(float));
        qb = aios_malloc((size_t)group * (size_t)d * sizeof(float));
    }
    if (!sc || !qb) {
        aios_free(sc);
        aios_free(qb);
        attn_heads_ref(a, q, k, v, out, scratch, h0, h1);
        return;
    }
    const bool f16 = a->kv_type == AIOS_GGML_F16;
    const bool wide = isa >= AIOS_ISA_AVX512;
    for (int64_t hs = h0; hs < h1;) {
        const int64_t hk = hs / group;
        const int64_t he = (hk + 1) * group < h1 ? (hk + 1) * group : h1;
        const int g = (int)(he - hs);
        const void *kh = f16 ? (const void *)((const uint16_t *)k + hk * d)
                             : (const void *)((const float *)k + hk * d);
        const void *vh = f16 ? (const void *)((const uint16_t *)v + hk * d)
                             : (const void *)((const float *)v + hk * d);
        for (int64_t i = 0; i < a->n_q; i++) {
            const int64_t pos = a->q_pos0 + i;
            const int64_t nk = a->causal && pos + 1 < a->n_kv ? pos + 1 : a->n_kv;
            const float *qs = q + i * aios_attn_q_stride(a) + hs * d; /* g consecutive heads */
            if (f16) { /* as ggml: the query rounded to F16 for the K product */
                memcpy(qb, qs, sizeof(float) * (size_t)(g * d));
                round_f16(qb, g * d);
                qs = qb;
            }
            if (wide)
                aios_tensor_avx512_kq_group(qs, g, kh, f16, a->kv_stride, nk, d, sc, a->n_kv);
            else
                aios_tensor_avx2_kq_group(qs, g, kh, f16, a->kv_stride, nk, d, sc, a->n_kv);
            for (int r = 0; r < g; r++) {
                float *row = sc + (int64_t)r * a->n_kv;
                const float slope = a->max_bias > 0
                                        ? aios_tensor_alibi_slope(hs + r, a->n_head, a->max_bias)
                                        : 0.0f;
                if (wide) {
                    aios_tensor_avx512_attn_softmax(row, nk, a->n_kv, a->scale, slope, pos, f16);
                    continue;
                }
                for (int64_t j = 0; j < nk; j++) {
                    float bias = 0.0f;
                    if (slope != 0.0f)
                        bias = slope * -(float)(pos > j ? pos - j : j - pos);
                    row[j] = row[j] * a->scale + bias;
                }
                for (int64_t j = nk; j < a->n_kv; j++)
                    row[j] = -INFINITY;
                aios_tensor_softmax(row, a->n_kv);
                if (f16) /* and the probabilities to F16 for the V product */
                    round_f16(row, nk);
            }
            float *o = out + (i * a->n_head + hs) * d;
            for (int64_t t = 0; t < g * d; t++)
                o[t] = 0;
            if (wide)
                aios_tensor_avx512_pv_group(o, g, sc, a->n_kv, vh, f16, a->kv_stride, nk, d);
            else
                aios_tensor_avx2_pv_group(o, g, sc, a->n_kv, vh, f16, a->kv_stride, nk, d);
        }
        hs = he;
    }
    aios_free(sc);
    aios_free(qb);
}

int aios_tensor_attention_isa(const struct aios_attn_args *a, const float *q, const void *k,
                              const void *v, float *out, float *scratch, int isa,
                              struct aios_err *err)
{
    int rc = attn_check(a, err);
    if (rc)
        return rc;
    if (isa > aios_tensor_isa_level())
        isa = aios_tensor_isa_level();
    attn_heads(a, q, k, v, out, scratch, 0, a->n_head, isa);
    return AIOS_OK;
}

int aios_tensor_attention(const struct aios_attn_args *a, const float *q, const void *k,
                          const void *v, float *out, float *scratch, struct aios_err *err)
{
    return aios_tensor_attention_isa(a, q, k, v, out, scratch, aios_tensor_isa_level(), err);
}

struct attn_job {
    const struct aios_attn_args *a;
    const float *q;
    const void *k, *v;
    float *out, *scratch;
};

static void attn_part(void *arg, int ith, int nth)
{
    struct attn_job *j = arg;
    /* whole KV-head groups per thread when there are enough of them, so a
     * group's keys and values are read by one thread */
    const int64_t group = j->a->n_head / j->a->n_head_kv;
    const int64_t unit = j->a->n_head_kv >= nth ? group : 1;
    const int64_t units = j->a->n_head / unit;
    const int64_t per = (units + nth - 1) / nth * unit;
    int64_t h0 = per * ith, h1 = h0 + per < j->a->n_head ? h0 + per : j->a->n_head;
    if (h0 < h1)
        attn_heads(j->a, j->q, j->k, j->v, j->out, j->scratch + ith * j->a->n_kv, h0, h1,
                   aios_tensor_isa_level());
}

int aios_tensor_attention_mt(aios_pool *pool, const struct aios_attn_args *a, const float *q,
                             const void *k, const void *v, float *out, struct aios_err *err)
{
    int rc = attn_check(a, err);
    if (rc)
        return rc;
    int nth = pool ? aios_pool_size(pool) : 1;
    float *scratch = aios_malloc((size_t)nth * (size_t)a->n_kv * sizeof(float));
    if (!scratch)
        return aios_err_set(err, AIOS_ENOMEM, "attention: scratch for %lld positions",
                            (long long)a->n_kv);
    struct attn_job j = {a, q, k, v, out, scratch};
    if (nth > 1)
        aios_pool_run(pool, attn_part, &j);
    else
        attn_part(&j, 0, 1);
    aios_free(scratch);
    return AIOS_OK;
}
