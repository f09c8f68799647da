/*
 * AVX2 + FMA versions of the exp-heavy element-wise operations (softmax,
 * SiLU). exp is computed as 2^n * p(r) with x = n ln2 + r, |r| <= ln2/2,
 * ln2 split in two parts for an exact reduction, and p the degree-7 Taylor
 * polynomial (truncation error r^8/8! < 6e-9 relative): within 2 ulp of
 * expf over the range softmax and SiLU use. The scalar functions in ops.c
 * remain the reference; the tests bound the difference.
 */
#include "tensor/quant.h"

#include <immintrin.h>
#include <math.h>

static inline __m256 exp8(__m256 x)
{
    /* below ln(2^-126) the result is 0 (softmax's -inf and deep negatives) */
    const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.72283f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* 2^n: n in [-126, 128]; build it in two halves so n = 128 stays finite
     * before the overflow mask takes over */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i h1 = _mm256_srai_epi32(ni, 1), h2 = _mm256_sub_epi32(ni, h1);
    __m256 s1 =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h1, _mm256_set1_epi32(127)), 23));
    __m256 s2 =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h2, _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    y = _mm256_andnot_ps(under, y);
    return _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
}

void aios_tensor_avx2_softmax(float *x, int64_t n)
{
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float max = _mm_cvtss_f32(h);
    for (; i < n; i++)
        if (x[i] > max)
            max = x[i];
    if (max == -INFINITY) {
        for (i = 0; i < n; i++)
            x[i] = 0;
        return;
    }
    const __m256 m = _mm256_set1_ps(max);
    /* the sum in double, as the reference and ggml keep it */
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double sd[4];
    _mm256_storeu_pd(sd, _mm256_add_pd(s0, s1));
    double sum = sd[0] + sd[1] + sd[2] + sd[3];
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += (double)x[i];
    }
    const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++)
        x[i] *= (float)(1.0 / sum);
}

void aios_tensor_avx2_silu(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

/* ---- attention inner loops ---------------------------------------------- */

static inline float hsum8f(__m256 v)
{
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}

void aios_tensor_avx2_kq(const float *q, const void *k, bool f16, int64_t kstride, int64_t n,
                         int64_t d, float *out)
{
    for (int64_t j = 0; j < n; j++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        int64_t t = 0;
        float s = 0;
        if (f16) {
            const uint16_t *kj = (const uint16_t *)k + j * kstride;
            for (; t + 16 <= d; t += 16) {
                a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kj + t))),
                                     _mm256_loadu_ps(q + t), a0);
                a1 =
                    _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kj + t + 8))),
                                    _mm256_loadu_ps(q + t + 8), a1);
            }
            for (; t < d; t++)
                s += aios_fp16_to_fp32(kj[t]) * q[t];
        } else {
            const float *kj = (const float *)k + j * kstride;
            for (; t + 16 <= d; t += 16) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(kj + t), _mm256_loadu_ps(q + t), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(kj + t + 8), _mm256_loadu_ps(q + t + 8), a1);
            }
            for (; t < d; t++)
                s += kj[t] * q[t];
        }
        out[j] = hsum8f(_mm256_add_ps(a0, a1)) + s;
    }
}

void aios_tensor_avx2_axpy(float *o, float p, const void *v, bool f16, int64_t d)
{
    const __m256 vp = _mm256_set1_ps(p);
    int64_t t = 0;
    if (f16) {
        const uint16_t *vh = v;
        for (; t + 8 <= d; t += 8) {
            __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vh + t)));
            _mm256_storeu_ps(o + t, _mm256_fmadd_ps(vp, x, _mm256_loadu_ps(o + t)));
        }
        for (; t < d; t++)
            o[t] += p * aios_fp16_to_fp32(vh[t]);
    } else {
        const float *vf = v;
        for (; t + 8 <= d; t += 8)
            _mm256_storeu_ps(o + t,
                             _mm256_fmadd_ps(vp, _mm256_loadu_ps(vf + t), _mm256_loadu_ps(o + t)));
        for (; t < d; t++)
            o[t] += p * vf[t];
    }
}
