/*
 * AVX-512 attention inner loops (scores and the probability-weighted sum of
 * values) for the query heads that share one KV head. Same contracts as the
 * AVX2 versions in ops_avx2.c; only called at AIOS_ISA_AVX512.
 *
 * Scores: sixteen accumulators, one per (head, key) pair of a block of
 * HS heads x 16/HS keys. Each key row is converted from F16 once per block
 * and multiplied into all HS heads' accumulators, so with GQA the
 * conversion is shared by the group; the sixteen accumulators are then
 * reduced together into one vector of sixteen scores (45 shuffles and adds
 * instead of sixteen horizontal sums).
 *
 * Values: the outputs of up to 4 heads x 64 dimensions stay in sixteen
 * registers while the value rows stream past; each row is converted once
 * and multiplied into every head's outputs.
 *
 * A head size that is not a multiple of 16 ends in a masked chunk, so every
 * head size goes through these loops. Sums run in a different order from
 * the scalar reference (which the unit tests bound), in F32 like it.
 */
#include "tensor/avx512_util.h"

#include <immintrin.h>
#include <math.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* 16 values of row data at element off; masked lanes read as zero. Full
 * chunks use plain loads (a masked load, even with every lane set, costs
 * more here). */
static ALWAYS_INLINE __m512 load16(const void *x, bool f16, int64_t off)
{
    if (f16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)x + off)));
    return _mm512_loadu_ps((const float *)x + off);
}

static ALWAYS_INLINE __m512 load16m(const void *x, bool f16, int64_t off, __mmask16 m)
{
    if (f16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)x + off));
    return _mm512_maskz_loadu_ps(m, (const float *)x + off);
}

/* Rows of K and V are a head's slice of each position's KV row, so
 * successive rows are kv_stride apart and the hardware prefetchers, which
 * stay within a 4 KiB page, see only a few of them per page: without
 * software prefetch the loops wait on memory. PF rows ahead hides the
 * latency of DRAM at the rate these loops consume rows. */
#ifndef AIOS_ATTN_PF
#define AIOS_ATTN_PF 48
#endif
static ALWAYS_INLINE void prefetch_row(const void *x, bool f16, int64_t off, int64_t d)
{
    const char *p =
        f16 ? (const char *)((const uint16_t *)x + off) : (const char *)((const float *)x + off);
    const int64_t bytes = d * (f16 ? 2 : 4);
    for (int64_t b = 0; b < bytes; b += 64)
        _mm_prefetch(p + b, _MM_HINT_T0);
    _mm_prefetch(p + bytes - 1, _MM_HINT_T0);
}

/* Lane i of the result = the sum of the 16 lanes of a[i]. */
static ALWAYS_INLINE __m512 sum16x16(const __m512 a[16])
{
    __m512 b[8], c[4], e[2];
/* pairs: per 128-bit lane [a0, a1, a0, a1] partial sums */
#pragma GCC unroll 16
    for (int i = 0; i < 8; i++)
        b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                             _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
/* quads: per 128-bit lane k, [s0, s1, s2, s3] summed over lane k */
#pragma GCC unroll 16
    for (int i = 0; i < 4; i++) {
        __m512d x = _mm512_castps_pd(b[2 * i]), y = _mm512_castps_pd(b[2 * i + 1]);
        c[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
/* across the four 128-bit lanes */
#pragma GCC unroll 16
    for (int i = 0; i < 2; i++)
        e[i] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(e[0], e[1], 0x88),
                         _mm512_shuffle_f32x4(e[0], e[1], 0xdd));
}

/* Scores of HS heads (q rows d apart) against nk <= 16/HS keys from row j:
 * out[r * ostride + j + u]. */
static ALWAYS_INLINE void kq_block(const float *q, const int HS, const void *k, bool f16,
                                   int64_t kstride, int64_t j, int nk, int64_t d, __mmask16 tail,
                                   float *out, int64_t ostride)
{
    const int KS = 16 / HS;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        acc[i] = _mm512_setzero_ps();
    int64_t t = 0;
    for (; t + 16 <= d; t += 16) {
#pragma GCC unroll 16
        for (int u = 0; u < KS; u++) {
            if (u >= nk)
                break;
            const __m512 kv = load16(k, f16, (j + u) * kstride + t);
#pragma GCC unroll 16
            for (int r = 0; r < HS; r++)
                acc[r * KS + u] =
                    _mm512_fmadd_ps(kv, _mm512_loadu_ps(q + r * d + t), acc[r * KS + u]);
        }
    }
    if (t < d) {
#pragma GCC unroll 16
        for (int u = 0; u < KS; u++) {
            if (u >= nk)
                break;
            const __m512 kv = load16m(k, f16, (j + u) * kstride + t, tail);
#pragma GCC unroll 16
            for (int r = 0; r < HS; r++)
                acc[r * KS + u] = _mm512_fmadd_ps(kv, _mm512_maskz_loadu_ps(tail, q + r * d + t),
                                                  acc[r * KS + u]);
        }
    }
    const __m512 s = sum16x16(acc); /* lane r * KS + u: head r, key j + u */
    const __mmask16 keep = (__mmask16)((1u << nk) - 1);
#pragma GCC unroll 16
    for (int r = 0; r < HS; r++) {
        /* move head r's KS lanes to the bottom */
        __m512 v = s;
        if (r)
            v = _mm512_permutexvar_ps(
                _mm512_add_epi32(
                    _mm512_set1_epi32(r * KS),
                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)),
                s);
        _mm512_mask_storeu_ps(out + r * ostride + j, keep, v);
    }
}

static ALWAYS_INLINE void kq_heads(const float *q, const int HS, const void *k, bool f16,
                                   int64_t kstride, int64_t n, int64_t d, __mmask16 tail,
                                   float *out, int64_t ostride)
{
    const int KS = 16 / HS;
    int64_t j = 0;
    for (; j + KS <= n; j += KS) {
#pragma GCC unroll 16
        for (int u = 0; u < KS; u++)
            if (j + AIOS_ATTN_PF + u < n)
                prefetch_row(k, f16, (j + AIOS_ATTN_PF + u) * kstride, d);
        kq_block(q, HS, k, f16, kstride, j, KS, d, tail, out, ostride);
    }
    if (j < n)
        kq_block(q, HS, k, f16, kstride, j, (int)(n - j), d, tail, out, ostride);
}

void aios_tensor_avx512_kq_group(const float *qs, int g, const void *k, bool f16, int64_t kstride,
                                 int64_t n, int64_t d, float *out, int64_t ostride)
{
    const __mmask16 tail = (__mmask16)((1u << (d % 16)) - 1);
    int r = 0;
    /* heads in blocks of 8, 4, 2, 1: every block shares its key loads */
    for (; r + 8 <= g; r += 8)
        kq_heads(qs + (int64_t)r * d, 8, k, f16, kstride, n, d, tail, out + r * ostride, ostride);
    for (; r + 4 <= g; r += 4)
        kq_heads(qs + (int64_t)r * d, 4, k, f16, kstride, n, d, tail, out + r * ostride, ostride);
    for (; r + 2 <= g; r += 2)
        kq_heads(qs + (int64_t)r * d, 2, k, f16, kstride, n, d, tail, out + r * ostride, ostride);
    for (; r < g; r++)
        kq_heads(qs + (int64_t)r * d, 1, k, f16, kstride, n, d, tail, out + r * ostride, ostride);
}

/* o[r][t0 + 16c + i] += sum_j p[r][j] v[j][t0 + 16c + i] for H heads and C
 * chunks of 16; with M, one chunk whose lanes outside mask m are left. */
static ALWAYS_INLINE void pv_block(float *o, const int H, const int C, const bool M, __mmask16 m,
                                   const float *p, int64_t pstride, const void *v, bool f16,
                                   int64_t vstride, int64_t n, int64_t d, int64_t t0)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int r = 0; r < H; r++)
#pragma GCC unroll 16
        for (int c = 0; c < C; c++)
            acc[r * C + c] = M ? _mm512_maskz_loadu_ps(m, o + r * d + t0)
                               : _mm512_loadu_ps(o + r * d + t0 + 16 * c);
    for (int64_t j = 0; j < n; j++) {
        if (j + AIOS_ATTN_PF < n)
            prefetch_row(v, f16, (j + AIOS_ATTN_PF) * vstride + t0, M ? d - t0 : 16 * C);
        __m512 vv[4];
#pragma GCC unroll 16
        for (int c = 0; c < C; c++)
            vv[c] = M ? load16m(v, f16, j * vstride + t0, m)
                      : load16(v, f16, j * vstride + t0 + 16 * c);
#pragma GCC unroll 16
        for (int r = 0; r < H; r++) {
            const __m512 pj = _mm512_set1_ps(p[r * pstride + j]);
#pragma GCC unroll 16
            for (int c = 0; c < C; c++)
                acc[r * C + c] = _mm512_fmadd_ps(pj, vv[c], acc[r * C + c]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < H; r++)
#pragma GCC unroll 16
        for (int c = 0; c < C; c++) {
            if (M)
                _mm512_mask_storeu_ps(o + r * d + t0, m, acc[r * C + c]);
            else
                _mm512_storeu_ps(o + r * d + t0 + 16 * c, acc[r * C + c]);
        }
}

#define PV_CASE(h, c)                                                                              \
    case (h)*8 + (c):                                                                              \
        pv_block(o, h, c, false, 0, p, pstride, v, f16, vstride, n, d, t0);                        \
        break
#define PV_TAIL(h)                                                                                 \
    case (h)*8:                                                                                    \
        pv_block(o, h, 1, true, m, p, pstride, v, f16, vstride, n, d, t0);                         \
        break

/* c full chunks from t0, or with c = 0 one chunk under mask m. */
static void pv_dispatch(float *o, int h, int c, __mmask16 m, const float *p, int64_t pstride,
                        const void *v, bool f16, int64_t vstride, int64_t n, int64_t d, int64_t t0)
{
    switch (h * 8 + c) {
        PV_TAIL(1);
        PV_TAIL(2);
        PV_TAIL(3);
        PV_TAIL(4);
        PV_CASE(1, 1);
        PV_CASE(1, 2);
        PV_CASE(1, 3);
        PV_CASE(1, 4);
        PV_CASE(2, 1);
        PV_CASE(2, 2);
        PV_CASE(2, 3);
        PV_CASE(2, 4);
        PV_CASE(3, 1);
        PV_CASE(3, 2);
        PV_CASE(3, 3);
        PV_CASE(3, 4);
        PV_CASE(4, 1);
        PV_CASE(4, 2);
        PV_CASE(4, 3);
        PV_CASE(4, 4);
    default:
        break;
    }
}

void aios_tensor_avx512_pv_group(float *o, int g, const float *p, int64_t pstride, const void *v,
                                 bool f16, int64_t vstride, int64_t n, int64_t d)
{
    /* slices of up to 64 dimensions, heads four at a time: at most sixteen
     * accumulators; the slice of V is re-read from cache for the next
     * heads and slices */
    const int64_t full = d / 16;
    for (int64_t c0 = 0; c0 < full; c0 += 4) {
        const int c = full - c0 < 4 ? (int)(full - c0) : 4;
        for (int r = 0; r < g; r += 4)
            pv_dispatch(o + (int64_t)r * d, g - r < 4 ? g - r : 4, c, 0, p + r * pstride, pstride,
                        v, f16, vstride, n, d, 16 * c0);
    }
    if (d % 16) {
        const __mmask16 m = (__mmask16)((1u << (d % 16)) - 1);
        for (int r = 0; r < g; r += 4)
            pv_dispatch(o + (int64_t)r * d, g - r < 4 ? g - r : 4, 0, m, p + r * pstride, pstride,
                        v, f16, vstride, n, d, 16 * full);
    }
}

void aios_tensor_avx512_attn_softmax(float *row, int64_t nk, int64_t n, float scale, float slope,
                                     int64_t pos, bool round16)
{
    /* scores * scale + ALiBi bias, and their maximum */
    const __m512 vs = _mm512_set1_ps(scale), vslope = _mm512_set1_ps(slope);
    const __m512i step = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < nk; j += 16) {
        const __mmask16 m = nk - j >= 16 ? 0xffff : (__mmask16)((1u << (nk - j)) - 1);
        __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), vs);
        if (slope != 0.0f) {
            /* -|pos - j| for the 16 keys, exact as float below 2^24 */
            __m512i dist = _mm512_sub_epi32(_mm512_set1_epi32((int)(pos - j)), step);
            __m512 neg = _mm512_cvtepi32_ps(
                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_abs_epi32(dist)));
            x = _mm512_add_ps(x, _mm512_mul_ps(vslope, neg));
        }
        _mm512_mask_storeu_ps(row + j, m, x);
        vmax = _mm512_mask_max_ps(vmax, m, vmax, x);
    }
    const float max = _mm512_reduce_max_ps(vmax);
    if (max == -INFINITY) { /* everything masked: zeros, as the reference */
        for (int64_t j = 0; j < n; j++)
            row[j] = 0;
        return;
    }
    /* exp and its sum, in double as the reference keeps it */
    const __m512 vm = _mm512_set1_ps(max);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    for (int64_t j = 0; j < nk; j += 16) {
        const __mmask16 m = nk - j >= 16 ? 0xffff : (__mmask16)((1u << (nk - j)) - 1);
        const __m512 e =
            _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), vm)));
        _mm512_mask_storeu_ps(row + j, m, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    const __m512 inv = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
    /* normalised, and rounded to F16 when the values are F16 (as ggml
     * converts the probabilities for the V product) */
    for (int64_t j = 0; j < nk; j += 16) {
        const __mmask16 m = nk - j >= 16 ? 0xffff : (__mmask16)((1u << (nk - j)) - 1);
        __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), inv);
        if (round16)
            p = _mm512_cvtph_ps(_mm512_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm512_mask_storeu_ps(row + j, m, p);
    }
    for (int64_t j = nk; j < n; j++)
        row[j] = 0;
}
