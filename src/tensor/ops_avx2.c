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

/* GQA-aware forms: the g queries of heads that share one KV head, so each
 * key and value row is read from memory once for all of them.
 *   qs: g rows of d floats; out: g rows of n_kv scores (row stride ostride)
 *   o:  g rows of d outputs; p: g rows of probabilities (stride pstride) */
/* Sums each of the 8 vectors and returns the 8 sums in one vector (lane i
 * = sum of v[i]): three rounds of pairwise adds instead of 8 reductions. */
static inline __m256 transpose_sum8(const __m256 v[8])
{
    __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
    __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
    __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
    /* lanes: s0123 = [0 1 2 3 | 0 1 2 3] halves, s4567 likewise */
    __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20);
    __m256 hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
    return _mm256_add_ps(lo, hi);
}

/* Rows of a head's keys and values are kv_stride apart, a few per 4 KiB
 * page, which the hardware prefetchers do not follow: fetch the row PF
 * ahead in software (see attn_avx512.c). */
#define ATTN_PF 48
static inline void prefetch_row(const void *x, bool f16, int64_t off, int64_t d)
{
    const char *p =
        f16 ? (const char *)((const uint16_t *)x + off) : (const char *)((const float *)x + off);
    const int64_t bytes = d * (f16 ? 2 : 4);
    for (int64_t b = 0; b < bytes; b += 64)
        _mm_prefetch(p + b, _MM_HINT_T0);
    _mm_prefetch(p + bytes - 1, _MM_HINT_T0);
}

static inline __m256 load8(const void *x, bool f16, int64_t off)
{
    if (f16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)x + off)));
    return _mm256_loadu_ps((const float *)x + off);
}

void aios_tensor_avx2_kq_group(const float *qs, int g, const void *k, bool f16, int64_t kstride,
                               int64_t n, int64_t d, float *out, int64_t ostride)
{
    int64_t j = 0;
    /* Eight keys at a time: eight accumulators per query head (kept in
     * registers: the loops over them are unrolled), summed together at the
     * end (no horizontal sum per key). */
    if (d % 8 == 0) {
        for (; j + 8 <= n; j += 8) {
#pragma GCC unroll 8
            for (int u = 0; u < 8; u++)
                if (j + ATTN_PF + u < n)
                    prefetch_row(k, f16, (j + ATTN_PF + u) * kstride, d);
            for (int r = 0; r < g; r++) {
                const float *q = qs + (int64_t)r * d;
                __m256 acc[8];
#pragma GCC unroll 8
                for (int u = 0; u < 8; u++)
                    acc[u] = _mm256_setzero_ps();
                for (int64_t t = 0; t < d; t += 8) {
                    const __m256 qv = _mm256_loadu_ps(q + t);
#pragma GCC unroll 8
                    for (int u = 0; u < 8; u++)
                        acc[u] = _mm256_fmadd_ps(load8(k, f16, (j + u) * kstride + t), qv, acc[u]);
                }
                _mm256_storeu_ps(out + (int64_t)r * ostride + j, transpose_sum8(acc));
            }
        }
    }
    for (; j < n; j++) {
        const void *kj = f16 ? (const void *)((const uint16_t *)k + j * kstride)
                             : (const void *)((const float *)k + j * kstride);
        aios_tensor_avx2_kq_rows(qs, g, kj, f16, d, out + j, ostride);
    }
}

void aios_tensor_avx2_kq_rows(const float *qs, int g, const void *kj, bool f16, int64_t d,
                              float *out, int64_t ostride)
{
    for (int r = 0; r < g; r++) {
        const float *q = qs + (int64_t)r * d;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        int64_t t = 0;
        float s = 0;
        if (f16) {
            const uint16_t *kh = kj;
            for (; t + 16 <= d; t += 16) {
                a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kh + t))),
                                     _mm256_loadu_ps(q + t), a0);
                a1 =
                    _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kh + t + 8))),
                                    _mm256_loadu_ps(q + t + 8), a1);
            }
            for (; t < d; t++)
                s += aios_fp16_to_fp32(kh[t]) * q[t];
        } else {
            const float *kf = kj;
            for (; t + 16 <= d; t += 16) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(kf + t), _mm256_loadu_ps(q + t), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(kf + t + 8), _mm256_loadu_ps(q + t + 8), a1);
            }
            for (; t < d; t++)
                s += kf[t] * q[t];
        }
        out[(int64_t)r * ostride] = hsum8f(_mm256_add_ps(a0, a1)) + s;
    }
}

/* o[r][t0 + 8c + i] += sum_j p[r][j] v[j][t0 + 8c + i] for H heads and C
 * chunks of 8: the value slice is converted once per key for all H heads,
 * whose H x C sums stay in registers while the keys stream past. */
static inline __attribute__((always_inline)) void pv_block(float *o, const int H, const int C,
                                                           const float *p, int64_t pstride,
                                                           const void *v, bool f16, int64_t vstride,
                                                           int64_t n, int64_t d, int64_t t0)
{
    __m256 acc[8];
#pragma GCC unroll 8
    for (int r = 0; r < H; r++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            acc[r * C + c] = _mm256_loadu_ps(o + r * d + t0 + 8 * c);
    for (int64_t j = 0; j < n; j++) {
        if (j + ATTN_PF < n)
            prefetch_row(v, f16, (j + ATTN_PF) * vstride + t0, 8 * C);
        __m256 vv[2];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            vv[c] = load8(v, f16, j * vstride + t0 + 8 * c);
#pragma GCC unroll 8
        for (int r = 0; r < H; r++) {
            const __m256 pj = _mm256_set1_ps(p[r * pstride + j]);
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                acc[r * C + c] = _mm256_fmadd_ps(pj, vv[c], acc[r * C + c]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < H; r++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            _mm256_storeu_ps(o + r * d + t0 + 8 * c, acc[r * C + c]);
}

/* o[r] += sum_j p[r][j] * v_j for the g output rows, 16 (or 8) dimensions
 * and up to 4 heads at a time; the slice of V (a few cache lines per key)
 * is re-read from L2 for the next heads and dimensions. */
void aios_tensor_avx2_pv_group(float *o, int g, const float *p, int64_t pstride, const void *v,
                               bool f16, int64_t vstride, int64_t n, int64_t d)
{
    int64_t t = 0;
    for (; t + 8 <= d; t += t + 16 <= d ? 16 : 8) {
        const int c = t + 16 <= d ? 2 : 1;
        for (int r = 0; r < g; r += 4) {
            const int h = g - r < 4 ? g - r : 4;
            float *orow = o + (int64_t)r * d;
            const float *pr = p + (int64_t)r * pstride;
            switch (h * 4 + c) {
            case 4 + 1:
                pv_block(orow, 1, 1, pr, pstride, v, f16, vstride, n, d, t);
                break;
            case 4 + 2:
                pv_block(orow, 1, 2, pr, pstride, v, f16, vstride, n, d, t);
                break;
            case 8 + 1:
                pv_block(orow, 2, 1, pr, pstride, v, f16, vstride, n, d, t);
                break;
            case 8 + 2:
                pv_block(orow, 2, 2, pr, pstride, v, f16, vstride, n, d, t);
                break;
            case 12 + 1:
                pv_block(orow, 3, 1, pr, pstride, v, f16, vstride, n, d, t);
                break;
            case 12 + 2:
                pv_block(orow, 3, 2, pr, pstride, v, f16, vstride, n, d, t);
                break;
            case 16 + 1:
                pv_block(orow, 4, 1, pr, pstride, v, f16, vstride, n, d, t);
                break;
            default:
                pv_block(orow, 4, 2, pr, pstride, v, f16, vstride, n, d, t);
                break;
            }
        }
    }
    if (t < d) {
        for (int r = 0; r < g; r++) {
            float *orow = o + (int64_t)r * d;
            const float *pr = p + (int64_t)r * pstride;
            for (int64_t j = 0; j < n; j++) {
                for (int64_t u = t; u < d; u++) {
                    float vv = f16 ? aios_fp16_to_fp32(((const uint16_t *)v)[j * vstride + u])
                                   : ((const float *)v)[j * vstride + u];
                    orow[u] += pr[j] * vv;
                }
            }
        }
    }
}
