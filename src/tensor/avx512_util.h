/*
 * Private to src/tensor: inline helpers shared by the *_avx512.c files
 * (which are compiled with the AVX-512 flags; nothing else may include
 * this header).
 */
#ifndef AIOS_TENSOR_AVX512_UTIL_H
#define AIOS_TENSOR_AVX512_UTIL_H

#include "tensor/quant.h"

#include <immintrin.h>
#include <math.h>

/* F16 scale -> float with F16C (exact). */
#define h2f(h) _cvtsh_ss(h)

static inline float hsum16(__m512 v)
{
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}

static inline float hsum8(__m256 v)
{
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    t = _mm_add_ss(t, _mm_movehdup_ps(t));
    return _mm_cvtss_f32(t);
}

/* Four F16 scales -> four floats. */
static inline __m128 f16x4(aios_half a, aios_half b, aios_half c, aios_half d)
{
    return _mm_cvtph_ps(_mm_setr_epi16((short)a, (short)b, (short)c, (short)d, 0, 0, 0, 0));
}

/* The F16 scales of 4 consecutive 18-byte Q4_0 blocks (words 0, 9, 18, 27
 * of one 64-byte load) and of 4 consecutive 34-byte Q8_0 blocks (words 0,
 * 17, 34, 51 of two loads), as floats. */
static inline __m128 scales4_q4_0(const void *p)
{
    const __m512i idx = _mm512_setr_epi64(0x001b001200090000LL, 0, 0, 0, 0, 0, 0, 0);
    __m512i w = _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(p));
    return _mm_cvtph_ps(_mm512_castsi512_si128(w));
}

static inline __m128 scales4_q8_0(const void *p)
{
    const __m512i idx = _mm512_setr_epi64(0x0033002200110000LL, 0, 0, 0, 0, 0, 0, 0);
    __m512i a = _mm512_loadu_si512(p);
    __m512i b = _mm512_loadu_si512((const char *)p + 64);
    return _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi16(a, idx, b)));
}

/* Broadcast float lane a of v to lanes 0..7 and lane b to lanes 8..15. */
static inline __m512 spread2(__m128 v, int a, int b)
{
    const __m512i idx = _mm512_setr_epi32(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v));
}

/* Two 32-byte blocks at a and b as one register. */
static inline __m512i ld2x32(const void *a, const void *b)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/* The 16-byte code arrays of four Q4 blocks as [a | b | c | d]. */
static inline __m512i qs4x16(const uint8_t *a, const uint8_t *b, const uint8_t *c, const uint8_t *d)
{
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)a));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)b), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)c), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)d), 3);
}

/* The 12 packed scale bytes of a Q4_K / Q5_K block -> 16 bytes: the eight
 * 6-bit scales, then the eight 6-bit mins (vector form of k4_scale_min). The
 * 16-byte load reads 4 bytes past the scales, still inside the block. */
static inline __m128i k4_scales_mins(const uint8_t *q)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)q);           /* lanes a, b, c */
    const __m128i lo = _mm_and_si128(v, _mm_set1_epi32(0x3f3f3f3f)); /* s0, m0 */
    __m128i cc = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 2, 2, 2));
    cc = _mm_and_si128(_mm_srlv_epi32(cc, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi32(0x0f0f0f0f));
    const __m128i ab = _mm_and_si128(_mm_srli_epi32(v, 2), _mm_set1_epi32(0x30303030));
    const __m128i hi = _mm_or_si128(cc, ab); /* s1, m1 */
    return _mm_unpacklo_epi32(lo, hi);       /* s0, s1, m0, m1 */
}

/* sum_j m[j] * (bsums[2j] + bsums[2j+1]) as 4 int32 lanes, m from the high
 * 8 bytes of sm. */
static inline __m128i k4_minsum4(__m128i sm, const int16_t *bsums)
{
    __m256i b = _mm256_loadu_si256((const __m256i *)bsums);
    __m128i pair = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    return _mm_madd_epi16(pair, _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)));
}

/* Lanes 0..7 = s[a], lanes 8..15 = s[b] of 16 int32 scales. */
static inline __m512i pick2(__m512i sc, int a, int b)
{
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b), sc);
}

/* Lanes 4k..4k+3 = sc[base + k] for k < 4 (a 16-value sub-block spans four
 * dpbusd lanes). */
static inline __m512i pick4(__m512i sc, int base)
{
    const int a = base, b = base + 1, c = base + 2, d = base + 3;
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d), sc);
}

/* Signed x signed bytes, summed in fours. */
static inline __m512i dot_s8(__m512i x, __m512i y)
{
    const __mmask64 neg = _mm512_movepi8_mask(x);
    const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), sy);
}

/* exp on 16 lanes: the same reduction and polynomial as ops_avx2.c's exp8
 * (so the same values lane for lane), within 2 ulp of expf. */
static inline __m512 exp16(__m512 x)
{
    const __m512 lo = _mm512_set1_ps(-87.33654f), hi = _mm512_set1_ps(88.72283f);
    const __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    const __mmask16 over = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i ni = _mm512_cvtps_epi32(n);
    const __m512i h1 = _mm512_srai_epi32(ni, 1), h2 = _mm512_sub_epi32(ni, h1);
    const __m512 s1 =
        _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(h1, _mm512_set1_epi32(127)), 23));
    const __m512 s2 =
        _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(h2, _mm512_set1_epi32(127)), 23));
    __m512 y = _mm512_maskz_mov_ps((__mmask16)~under, _mm512_mul_ps(_mm512_mul_ps(p, s1), s2));
    return _mm512_mask_mov_ps(y, over, _mm512_set1_ps(INFINITY));
}

#endif
