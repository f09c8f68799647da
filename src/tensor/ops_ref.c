/*
 * Element-wise operations of a transformer, scalar reference versions, with
 * ggml's arithmetic where it matters for matching llama.cpp: sums of squares
 * and softmax denominators in double, RoPE angles advanced by repeated
 * multiplication, GELU through an F16 table.
 */
#include "tensor/tensor.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

void aios_tensor_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
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
    double var = 0;
    for (int64_t i = 0; i < n; i++) {
        float d = x[i] - mean;
        y[i] = d;
        var += (double)(d * d);
    }
    const float scale = 1.0f / sqrtf((float)(var / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) {
        float v = y[i] * scale;
        if (w)
            v *= w[i];
        if (b)
            v += b[i];
        y[i] = v;
    }
}

void aios_tensor_rope(float *x, int64_t n_head, int64_t head_dim, int64_t n_rot, int64_t pos,
                      enum aios_rope_mode mode, float base, float freq_scale,
                      const float *freq_factors)
{
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    for (int64_t h = 0; h < n_head; h++) {
        float *v = x + h * head_dim;
        float theta = (float)pos;
        for (int64_t i = 0; i < n_rot / 2; i++) {
            float ff = freq_factors ? freq_factors[i] : 1.0f;
            float t = freq_scale * theta / ff;
            float c = cosf(t), s = sinf(t);
            int64_t a = mode == AIOS_ROPE_NEOX ? i : 2 * i;
            int64_t b = mode == AIOS_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
            theta *= theta_scale;
        }
    }
}

void aios_tensor_softmax(float *x, int64_t n)
{
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) {
        memset(x, 0, sizeof(float) * (size_t)n);
        return;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        float e = x[i] == -INFINITY ? 0.0f : expf(x[i] - mx);
        x[i] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

void aios_tensor_silu(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

static float gelu1(float x)
{
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + 0.044715f * x * x)));
}

void aios_tensor_gelu(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = gelu1(x[i]);
}

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void)
{
    for (uint32_t i = 0; i < (1u << 16); i++)
        gelu_table[i] = aios_fp32_to_fp16(gelu1(aios_fp16_to_fp32((uint16_t)i)));
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
            y[i] = aios_fp16_to_fp32(gelu_table[aios_fp32_to_fp16(x[i])]);
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

float aios_tensor_alibi_slope(int64_t h, int64_t n_head, float max_bias)
{
    if (max_bias <= 0)
        return 1.0f;
    int64_t n2 = 1;
    while (n2 * 2 <= n_head)
        n2 *= 2;
    const float m0 = powf(2.0f, -max_bias / (float)n2);
    const float m1 = powf(2.0f, -(max_bias / 2.0f) / (float)n2);
    return h < n2 ? powf(m0, (float)(h + 1)) : powf(m1, (float)(2 * (h - n2) + 1));
}

int aios_tensor_attention(const struct aios_attn_args *a, const float *q, const void *k,
                          const void *v, float *out, float *scratch, struct aios_err *err)
{
    if (a->n_head <= 0 || a->n_head_kv <= 0 || a->n_head % a->n_head_kv || a->n_kv <= 0 ||
        (a->kv_type != AIOS_GGML_F32 && a->kv_type != AIOS_GGML_F16))
        return aios_err_set(err, AIOS_EINVAL, "bad attention arguments");
    const int64_t D = a->head_dim, group = a->n_head / a->n_head_kv;
    const bool f16 = a->kv_type == AIOS_GGML_F16;
    for (int64_t i = 0; i < a->n_q; i++) {
        const int64_t qpos = a->q_pos0 + i;
        const int64_t n_vis = a->causal ? (qpos + 1 < a->n_kv ? qpos + 1 : a->n_kv) : a->n_kv;
        for (int64_t h = 0; h < a->n_head; h++) {
            const float *qh = q + (i * a->n_head + h) * D;
            const int64_t kh = h / group;
            const float slope = a->max_bias > 0 ? aios_tensor_alibi_slope(h, a->n_head, a->max_bias)
                                                : 0.0f;
            for (int64_t j = 0; j < n_vis; j++) {
                const int64_t off = j * a->kv_stride + kh * D;
                float s = 0;
                if (f16) {
                    const uint16_t *kr = (const uint16_t *)k + off;
                    for (int64_t d = 0; d < D; d++)
                        s += qh[d] * aios_fp16_to_fp32(kr[d]);
                } else {
                    const float *kr = (const float *)k + off;
                    for (int64_t d = 0; d < D; d++)
                        s += qh[d] * kr[d];
                }
                s *= a->scale;
                if (a->max_bias > 0)
                    s += slope * -(float)llabs(qpos - j);
                scratch[j] = s;
            }
            aios_tensor_softmax(scratch, n_vis);
            float *o = out + (i * a->n_head + h) * D;
            memset(o, 0, sizeof(float) * (size_t)D);
            for (int64_t j = 0; j < n_vis; j++) {
                const int64_t off = j * a->kv_stride + kh * D;
                const float p = scratch[j];
                if (f16) {
                    const uint16_t *vr = (const uint16_t *)v + off;
                    for (int64_t d = 0; d < D; d++)
                        o[d] += p * aios_fp16_to_fp32(vr[d]);
                } else {
                    const float *vr = (const float *)v + off;
                    for (int64_t d = 0; d < D; d++)
                        o[d] += p * vr[d];
                }
            }
        }
    }
    return AIOS_OK;
}
