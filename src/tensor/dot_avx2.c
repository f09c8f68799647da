/*
 * AVX2 + FMA + F16C kernels: dot products, the Q8 activation quantizers and
 * F16 row conversions. Compiled with -mavx2 -mfma -mf16c; only called after
 * aios_cpu_get() reported those features (see types.c).
 *
 * Integer products use the usual pairing: maddubs multiplies unsigned by
 * signed bytes, so a signed weight x signed activation product is taken as
 * |w| * (a with w's sign). Sums stay exact in int32 within a block; each
 * block then adds (scale product) * (float of the integer sum) into float
 * accumulators, so results differ from the reference only by float
 * rounding order.
 */
#include "tensor/quant.h"

#include <immintrin.h>

/* ---- helpers ----------------------------------------------------------- */

/* F16 scale -> float with F16C (exact, same as the scalar conversion). */
#define h2f(h) _cvtsh_ss(h)

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Sum of the products of 32 signed bytes, as 8 int32 lanes. */
static inline __m256i dot_i8(__m256i x, __m256i y)
{
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

/* 16 packed nibbles -> 32 bytes: low nibbles first, then high nibbles. */
static inline __m256i nibbles32(const uint8_t *p)
{
    const __m128i t = _mm_loadu_si128((const __m128i *)p);
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* 32 bits -> 32 bytes of 0xFF where the bit is set. */
static inline __m256i bits32(const uint8_t *p)
{
    uint32_t x32;
    memcpy(&x32, p, 4);
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                            0x0202020202020202, 0x0303030303030303);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    b = _mm256_and_si256(b, bit);
    return _mm256_cmpeq_epi8(b, bit);
}

/* ---- F16 conversions --------------------------------------------------- */

void aios_tensor_avx2_f16_to_f32(const uint16_t *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++)
        y[i] = aios_fp16_to_fp32(x[i]);
}

void aios_tensor_avx2_f32_to_f16(const float *x, uint16_t *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = aios_fp32_to_fp16(x[i]);
}

static void f16_act(const float *x, void *y, int64_t k)
{
    aios_tensor_avx2_f32_to_f16(x, y, k);
}

/* ---- activation quantizers --------------------------------------------- */

/* 32 floats times id, rounded to nearest even, packed to 32 int8 in order;
 * *isum (optional) gets their sum. */
static inline __m256i quant32(const float *x, float id, int *isum)
{
    const __m256 m = _mm256_set1_ps(id);
    __m256i i0 = _mm256_cvtps_epi32(
        _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), m), _MM_FROUND_TO_NEAREST_INT));
    __m256i i1 = _mm256_cvtps_epi32(
        _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), m), _MM_FROUND_TO_NEAREST_INT));
    __m256i i2 = _mm256_cvtps_epi32(
        _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), m), _MM_FROUND_TO_NEAREST_INT));
    __m256i i3 = _mm256_cvtps_epi32(
        _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), m), _MM_FROUND_TO_NEAREST_INT));
    if (isum) {
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
        *isum = _mm_cvtsi128_si32(t);
    }
    i0 = _mm256_packs_epi32(i0, i1);
    i2 = _mm256_packs_epi32(i2, i3);
    i0 = _mm256_packs_epi16(i0, i2);
    return _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline float absmax32(const float *x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24)));
    __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

void aios_q8_0_act_avx2(const float *x, void *vy, int64_t k)
{
    struct block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
        const float amax = absmax32(x);
        y[i].d = aios_fp32_to_fp16(amax / 127.f);
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        _mm256_storeu_si256((__m256i *)y[i].qs, quant32(x, id, NULL));
    }
}

void aios_q8_1_act_avx2(const float *x, void *vy, int64_t k)
{
    struct block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / QK8_1; i++, x += QK8_1) {
        const float amax = absmax32(x);
        const float d = amax / 127.f;
        y[i].d = aios_fp32_to_fp16(d);
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        int sum;
        _mm256_storeu_si256((__m256i *)y[i].qs, quant32(x, id, &sum));
        y[i].s = aios_fp32_to_fp16(d * (float)sum);
    }
}

/* Q8_K as the reference computes it (scale -127/max of the signed value of
 * largest magnitude, first one on ties; ties to even), in AVX2. */
static void q8_K_act(const float *x, void *vy, int64_t k)
{
    struct block_q8_K *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        if (!(amax > 0)) {
            if (amax == 0) {
                memset(&y[i], 0, sizeof y[i]);
                continue;
            }
            aios_q8_K_from_f32_ref(x, &y[i], QK_K); /* NaN: leave it to the reference */
            continue;
        }
        float max = 0;
        const __m256 va = _mm256_set1_ps(amax);
        for (int j = 0; j < QK_K; j += 8) {
            __m256 v = _mm256_loadu_ps(x + j);
            int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, v), va, _CMP_EQ_OQ));
            if (mask) {
                max = x[j + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i q[4];
            for (int u = 0; u < 4; u++) {
                __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * u), vs);
                q[u] = _mm256_min_epi32(_mm256_cvtps_epi32(v), lim);
            }
            __m256i a = _mm256_packs_epi32(q[0], q[1]); /* int16, lanes interleaved */
            __m256i b = _mm256_packs_epi32(q[2], q[3]);
            /* 16-value sums (bsums) from the int16s */
            __m256i a_ord = _mm256_permute4x64_epi64(a, 0xD8);
            __m256i b_ord = _mm256_permute4x64_epi64(b, 0xD8);
            __m256i sa = _mm256_madd_epi16(a_ord, _mm256_set1_epi16(1));
            __m256i sb = _mm256_madd_epi16(b_ord, _mm256_set1_epi16(1));
            __m256i hs = _mm256_hadd_epi32(sa, sb); /* pairs, lane-interleaved */
            hs = _mm256_hadd_epi32(hs, hs);
            y[i].bsums[j / 16] =
                (int16_t)(_mm256_extract_epi32(hs, 0) + _mm256_extract_epi32(hs, 4));
            y[i].bsums[j / 16 + 1] =
                (int16_t)(_mm256_extract_epi32(hs, 1) + _mm256_extract_epi32(hs, 5));
            __m256i bytes = _mm256_packs_epi16(a, b);
            bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), bytes);
        }
        y[i].d = 1 / iscale;
    }
}

/* ---- float dot products ------------------------------------------------ */

static void dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
    const float *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += x[i] * y[i];
    *s = sum;
}

static inline __m256 ld_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static void dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
    const uint16_t *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(ld_f16(x + i), ld_f16(y + i), a0);
        a1 = _mm256_fmadd_ps(ld_f16(x + i + 8), ld_f16(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(ld_f16(x + i + 16), ld_f16(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(ld_f16(x + i + 24), ld_f16(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(ld_f16(x + i), ld_f16(y + i), a0);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += aios_fp16_to_fp32(x[i]) * aios_fp16_to_fp32(y[i]);
    *s = sum;
}

static inline __m256 ld_bf16(const uint16_t *p)
{
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

static void dot_bf16(int64_t n, float *s, const void *vx, const void *vy)
{
    const uint16_t *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(ld_bf16(x + i), ld_bf16(y + i), a0);
        a1 = _mm256_fmadd_ps(ld_bf16(x + i + 8), ld_bf16(y + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(ld_bf16(x + i), ld_bf16(y + i), a0);
    float sum = hsum8(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        sum += aios_bf16_to_fp32(x[i]) * aios_bf16_to_fp32(y[i]);
    *s = sum;
}

/* ---- 32-value block types ---------------------------------------------- */

static void dot_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q8_0 *x = vx;
    const struct block_q8_0 *y = vy;
    const int64_t nb = n / QK8_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m256 d0 = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        const __m256 d1 = _mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d));
        __m256i p0 = dot_i8(_mm256_loadu_si256((const __m256i *)x[i].qs),
                            _mm256_loadu_si256((const __m256i *)y[i].qs));
        __m256i p1 = dot_i8(_mm256_loadu_si256((const __m256i *)x[i + 1].qs),
                            _mm256_loadu_si256((const __m256i *)y[i + 1].qs));
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256 d0 = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        __m256i p0 = dot_i8(_mm256_loadu_si256((const __m256i *)x[i].qs),
                            _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), acc0);
    }
    *s = hsum8(_mm256_add_ps(acc0, acc1));
}

static void dot_q4_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q4_0 *x = vx;
    const struct block_q8_0 *y = vy;
    const int64_t nb = n / QK4_0;
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m256 d0 = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        const __m256 d1 = _mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d));
        __m256i q0 = _mm256_sub_epi8(nibbles32(x[i].qs), off);
        __m256i q1 = _mm256_sub_epi8(nibbles32(x[i + 1].qs), off);
        __m256i p0 = dot_i8(q0, _mm256_loadu_si256((const __m256i *)y[i].qs));
        __m256i p1 = dot_i8(q1, _mm256_loadu_si256((const __m256i *)y[i + 1].qs));
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256 d0 = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        __m256i q0 = _mm256_sub_epi8(nibbles32(x[i].qs), off);
        __m256i p0 = dot_i8(q0, _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), acc0);
    }
    *s = hsum8(_mm256_add_ps(acc0, acc1));
}

/* Unsigned 0..15 (or 0..31) weights times signed activations. */
static inline __m256i dot_u8i8(__m256i ux, __m256i y)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ux, y), _mm256_set1_epi16(1));
}

static void dot_q4_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q4_1 *x = vx;
    const struct block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK4_1; i++) {
        summs += h2f(x[i].m) * h2f(y[i].s);
        const __m256 d = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        __m256i p = dot_u8i8(nibbles32(x[i].qs), _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum8(acc) + summs;
}

static void dot_q5_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q5_0 *x = vx;
    const struct block_q8_0 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK5_0; i++) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        /* value - 16 = nibble - (bit clear ? 16 : 0) */
        __m256i hi = _mm256_andnot_si256(bits32(x[i].qh), _mm256_set1_epi8((char)0xF0));
        __m256i q = _mm256_or_si256(nibbles32(x[i].qs), hi);
        __m256i p = dot_i8(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum8(acc);
}

static void dot_q5_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q5_1 *x = vx;
    const struct block_q8_1 *y = vy;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK5_1; i++) {
        summs += h2f(x[i].m) * h2f(y[i].s);
        const __m256 d = _mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d));
        __m256i hi = _mm256_and_si256(bits32(x[i].qh), _mm256_set1_epi8(0x10));
        __m256i q = _mm256_or_si256(nibbles32(x[i].qs), hi);
        __m256i p = dot_u8i8(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum8(acc) + summs;
}

/* ---- K-quants ---------------------------------------------------------- */

/* The eight 6-bit scales of a Q4_K / Q5_K block into sc[]; returns the eight
 * 6-bit mins packed in a uint64 (kept in registers: assembling them in
 * memory from 4-byte stores and reloading 8 bytes stalls store forwarding). */
static inline uint64_t k4_unpack(const uint8_t *q, uint8_t sc[8])
{
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    uint32_t s0 = a & 0x3f3f3f3f, m0 = b & 0x3f3f3f3f;
    uint32_t s1 = (c & 0x0f0f0f0f) | ((a >> 2) & 0x30303030);
    uint32_t m1 = ((c >> 4) & 0x0f0f0f0f) | ((b >> 2) & 0x30303030);
    memcpy(sc, &s0, 4);
    memcpy(sc + 4, &s1, 4);
    return (uint64_t)m0 | (uint64_t)m1 << 32;
}

/* sum_j m[j] * (bsums[2j] + bsums[2j+1]) */
static inline int k4_minsum(uint64_t m64, const int16_t *bsums)
{
    __m256i b = _mm256_loadu_si256((const __m256i *)bsums);
    __m128i pair = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    __m128i mv = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m64));
    __m128i p = _mm_madd_epi16(pair, mv);
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0x4e));
    p = _mm_add_epi32(p, _mm_shuffle_epi32(p, 0xb1));
    return _mm_cvtsi128_si32(p);
}

static void dot_q4_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q4_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float accm = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8];
        const uint64_t m = k4_unpack(x[i].scales, sc);
        const float d = y[i].d * h2f(x[i].d);
        accm += y[i].d * h2f(x[i].dmin) * (float)k4_minsum(m, y[i].bsums);
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q4 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q4);
            const __m256i lo = _mm256_and_si256(bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
            __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
            pl = _mm256_madd_epi16(pl, _mm256_set1_epi16(sc[2 * j]));
            ph = _mm256_madd_epi16(ph, _mm256_set1_epi16(sc[2 * j + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum8(acc) - accm;
}

static void dot_q5_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q5_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i b16 = _mm256_set1_epi8(16);
    __m256 acc = _mm256_setzero_ps();
    float accm = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sc[8];
        const uint64_t m = k4_unpack(x[i].scales, sc);
        const float d = y[i].d * h2f(x[i].d);
        accm += y[i].d * h2f(x[i].dmin) * (float)k4_minsum(m, y[i].bsums);
        const uint8_t *q5 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        const __m256i hbits = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q5 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q5);
            /* bit 2j of qh -> +16 for the low nibbles, bit 2j+1 for the high */
            __m256i hl = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * j), _mm256_set1_epi8(1));
            __m256i hh = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * j + 1), _mm256_set1_epi8(1));
            __m256i lo =
                _mm256_or_si256(_mm256_and_si256(bits, m4),
                                _mm256_and_si256(_mm256_sub_epi8(_mm256_setzero_si256(), hl), b16));
            __m256i hi =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
                                _mm256_and_si256(_mm256_sub_epi8(_mm256_setzero_si256(), hh), b16));
            __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
            __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
            pl = _mm256_madd_epi16(pl, _mm256_set1_epi16(sc[2 * j]));
            ph = _mm256_madd_epi16(ph, _mm256_set1_epi16(sc[2 * j + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum8(acc) - accm;
}

/* Two int16 scales per 32 values: sa for bytes 0..15, sb for 16..31. */
static inline __m256i scale_pair(int8_t sa, int8_t sb)
{
    return _mm256_set_m128i(_mm_set1_epi16(sb), _mm_set1_epi16(sa));
}

static void dot_q6_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q6_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        /* The -32 offset, from the activation sums: 32 * sum_j sc_j * bsum_j. */
        int off = 0;
        for (int j = 0; j < 16; j++)
            off += sc[j] * y[i].bsums[j];
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, q8 += 128) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(hb, m3), 4));
            q[1] = _mm256_or_si256(
                _mm256_and_si256(l1, m4),
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 4));
            q[2] = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3), 4));
            q[3] = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 4));
            for (int k = 0; k < 4; k++) {
                __m256i p =
                    _mm256_maddubs_epi16(q[k], _mm256_loadu_si256((const __m256i *)(q8 + 32 * k)));
                p = _mm256_madd_epi16(p, scale_pair(sc[2 * k], sc[2 * k + 1]));
                sumi = _mm256_add_epi32(sumi, p);
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_setr_epi32(32 * off, 0, 0, 0, 0, 0, 0, 0));
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum8(acc);
}

static void dot_q2_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q2_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    float accm = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int summs = 0;
        for (int j = 0; j < 16; j++)
            summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
        accm += y[i].d * h2f(x[i].dmin) * (float)summs;
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        const uint8_t *sc = x[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++, q2 += 32, sc += 8) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q2);
            for (int k = 0; k < 4; k++, q8 += 32) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
                __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)q8));
                p = _mm256_madd_epi16(
                    p, scale_pair((int8_t)(sc[2 * k] & 0xF), (int8_t)(sc[2 * k + 1] & 0xF)));
                sumi = _mm256_add_epi32(sumi, p);
            }
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum8(acc) - accm;
}

static void dot_q3_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q3_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        q3k_scales(x[i].scales, sc);
        const uint8_t *q3 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        /* The -4 of every value whose high bit is clear: 4 * sum over those of q8. */
        __m256i sumi = _mm256_setzero_si256();
        int bit = 0;
        for (int h = 0; h < 2; h++, q3 += 32) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q3);
            for (int k = 0; k < 4; k++, q8 += 32, bit++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
                __m256i hset = _mm256_and_si256(_mm256_srli_epi16(hm, bit), _mm256_set1_epi8(1));
                /* 4 where the high bit is clear */
                __m256i sub = _mm256_slli_epi16(_mm256_xor_si256(hset, _mm256_set1_epi8(1)), 2);
                const __m256i y8 = _mm256_loadu_si256((const __m256i *)q8);
                __m256i p =
                    _mm256_sub_epi16(_mm256_maddubs_epi16(q, y8), _mm256_maddubs_epi16(sub, y8));
                int s0 = sc[2 * (4 * h + k)], s1 = sc[2 * (4 * h + k) + 1];
                p = _mm256_madd_epi16(p, scale_pair((int8_t)s0, (int8_t)s1));
                sumi = _mm256_add_epi32(sumi, p);
            }
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum8(acc);
}

/* ---- lookup ------------------------------------------------------------ */

aios_vec_dot_fn aios_tensor_avx2_dot(uint32_t type)
{
    switch (type) {
    case AIOS_GGML_F32:
        return dot_f32;
    case AIOS_GGML_F16:
        return dot_f16;
    case AIOS_GGML_BF16:
        return dot_bf16;
    case AIOS_GGML_Q8_0:
        return dot_q8_0;
    case AIOS_GGML_Q4_0:
        return dot_q4_0;
    case AIOS_GGML_Q4_1:
        return dot_q4_1;
    case AIOS_GGML_Q5_0:
        return dot_q5_0;
    case AIOS_GGML_Q5_1:
        return dot_q5_1;
    case AIOS_GGML_Q2_K:
        return dot_q2_K;
    case AIOS_GGML_Q3_K:
        return dot_q3_K;
    case AIOS_GGML_Q4_K:
        return dot_q4_K;
    case AIOS_GGML_Q5_K:
        return dot_q5_K;
    case AIOS_GGML_Q6_K:
        return dot_q6_K;
    default:
        return NULL;
    }
}

aios_from_float_fn aios_tensor_avx2_act(uint32_t act_type)
{
    switch (act_type) {
    case AIOS_GGML_Q8_0:
        return aios_q8_0_act_avx2;
    case AIOS_GGML_Q8_1:
        return aios_q8_1_act_avx2;
    case AIOS_GGML_Q8_K:
        return q8_K_act;
    case AIOS_GGML_F16:
        return f16_act;
    default:
        return NULL;
    }
}
