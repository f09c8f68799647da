/*
 * AVX-512 (F/BW/VL/DQ + VNNI) kernels for every weight type but BF16 (which
 * uses the AVX2 file). Only called after aios_cpu_get() reported all of
 * those features (types.c).
 *
 * VNNI's vpdpbusd multiplies unsigned by signed bytes and sums groups of
 * four into int32 lanes in one instruction, with no int16 saturation. For
 * the K-quants each such lane is at most 4 * 63 * 128 = 32256 in magnitude,
 * so it fits int16 and the sub-block scale is applied with vpmaddwd (scale
 * in the low half of the lane, zero in the high half), cheaper than
 * vpmulld.
 * Unsigned weight codes (Q4_0's 0..15, the K-quants' 0..63) go in directly
 * and their offset (-8, -32) is taken off afterwards through the activation
 * sums; signed Q8_0 weights use |w| and move w's sign onto the activation.
 */
#include "tensor/quant.h"

#include <immintrin.h>

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

/* ---- float types ------------------------------------------------------- */

static void dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
    const float *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a1);
    }
    *s = hsum16(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static inline __m512 ld_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static void dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
    const uint16_t *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(ld_f16(x + i), ld_f16(y + i), a0);
        a1 = _mm512_fmadd_ps(ld_f16(x + i + 16), ld_f16(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(ld_f16(x + i + 32), ld_f16(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(ld_f16(x + i + 48), ld_f16(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_fmadd_ps(ld_f16(x + i), ld_f16(y + i), a0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 xv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
        __m512 yv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, y + i));
        a1 = _mm512_fmadd_ps(xv, yv, a1);
    }
    *s = hsum16(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* ---- Q8_0 and Q4_0 ------------------------------------------------------ */

/* Two 32-byte blocks at a and b as one register. */
static inline __m512i ld2x32(const void *a, const void *b)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/* Signed x signed bytes, summed in fours. */
static inline __m512i dot_s8(__m512i x, __m512i y)
{
    const __mmask64 neg = _mm512_movepi8_mask(x);
    const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), sy);
}

static void dot_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q8_0 *x = vx;
    const struct block_q8_0 *y = vy;
    const int64_t nb = n / QK8_0;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        __m128 d = _mm_mul_ps(scales4_q8_0(&x[i]), scales4_q8_0(&y[i]));
        __m512i p0 = dot_s8(ld2x32(x[i].qs, x[i + 1].qs), ld2x32(y[i].qs, y[i + 1].qs));
        __m512i p1 = dot_s8(ld2x32(x[i + 2].qs, x[i + 3].qs), ld2x32(y[i + 2].qs, y[i + 3].qs));
        acc0 = _mm512_fmadd_ps(spread2(d, 0, 1), _mm512_cvtepi32_ps(p0), acc0);
        acc1 = _mm512_fmadd_ps(spread2(d, 2, 3), _mm512_cvtepi32_ps(p1), acc1);
    }
    __m256 tail = _mm256_setzero_ps();
    for (; i < nb; i++) {
        __m256i xq = _mm256_loadu_si256((const __m256i *)x[i].qs);
        __m256i yq = _mm256_loadu_si256((const __m256i *)y[i].qs);
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(xq, xq),
                                        _mm256_sign_epi8(yq, xq));
        tail =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), tail);
    }
    *s = hsum16(_mm512_add_ps(acc0, acc1)) + hsum8(tail);
}

/* Nibbles of two Q4 blocks -> [a lo | a hi | b lo | b hi] (64 codes 0..15). */
static inline __m512i nibbles2(const uint8_t *a, const uint8_t *b)
{
    const __m256i v =
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                _mm_loadu_si128((const __m128i *)b), 1);
    __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
    q = _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
    return _mm512_shuffle_i64x2(q, q, _MM_SHUFFLE(3, 1, 2, 0));
}

static void dot_q4_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q4_0 *x = vx;
    const struct block_q8_0 *y = vy;
    const int64_t nb = n / QK4_0;
    const __m512i eight = _mm512_set1_epi8(8);
    const __m512i zero = _mm512_setzero_si512();
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        __m128 d = _mm_mul_ps(scales4_q4_0(&x[i]), scales4_q8_0(&y[i]));
        __m512i y0 = ld2x32(y[i].qs, y[i + 1].qs), y1 = ld2x32(y[i + 2].qs, y[i + 3].qs);
        /* (q - 8) . y = q . y - 8 * sum(y) */
        __m512i p0 = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, nibbles2(x[i].qs, x[i + 1].qs), y0),
                                      _mm512_dpbusd_epi32(zero, eight, y0));
        __m512i p1 =
            _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, nibbles2(x[i + 2].qs, x[i + 3].qs), y1),
                             _mm512_dpbusd_epi32(zero, eight, y1));
        acc0 = _mm512_fmadd_ps(spread2(d, 0, 1), _mm512_cvtepi32_ps(p0), acc0);
        acc1 = _mm512_fmadd_ps(spread2(d, 2, 3), _mm512_cvtepi32_ps(p1), acc1);
    }
    __m256 tail = _mm256_setzero_ps();
    for (; i < nb; i++) {
        const __m128i t = _mm_loadu_si128((const __m128i *)x[i].qs);
        __m256i q =
            _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
        __m256i yq = _mm256_loadu_si256((const __m256i *)y[i].qs);
        __m256i p =
            _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), q, yq),
                             _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), yq));
        tail =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), tail);
    }
    *s = hsum16(_mm512_add_ps(acc0, acc1)) + hsum8(tail);
}

/* F16 words at word offsets o0 < o1 < o2 < o3 (< 64) of the bytes at p,
 * as floats: the scales of four consecutive blocks whatever their stride.
 * The first 64 bytes always lie inside four blocks; from the next 64 only
 * the words up to o3 are read (a masked load does not touch, or fault on,
 * the rest, which may lie past the end of the row). */
static inline __m128 words4(const void *p, int o0, int o1, int o2, int o3)
{
    const __m512i idx = _mm512_setr_epi64(
        (long long)((uint64_t)o0 | (uint64_t)o1 << 16 | (uint64_t)o2 << 32 | (uint64_t)o3 << 48), 0,
        0, 0, 0, 0, 0, 0);
    const int last = o3 - 32;
    const __mmask32 m = last < 0 ? 0 : (__mmask32)(0xffffffffu >> (31 - last));
    __m512i a = _mm512_loadu_si512(p);
    __m512i b = _mm512_maskz_loadu_epi16(m, (const char *)p + 64);
    return _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi16(a, idx, b)));
}

/* The 5th bits of two Q5 blocks as 0x10 bytes in element order. */
static inline __m512i fifth_bits2(const uint8_t *qha, const uint8_t *qhb)
{
    uint32_t a, b;
    memcpy(&a, qha, 4);
    memcpy(&b, qhb, 4);
    return _mm512_maskz_mov_epi8((__mmask64)((uint64_t)a | (uint64_t)b << 32),
                                 _mm512_set1_epi8(0x10));
}

static void dot_q5_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q5_0 *x = vx;
    const struct block_q8_0 *y = vy;
    const int64_t nb = n / QK5_0;
    const __m512i sixteen = _mm512_set1_epi8(16);
    const __m512i zero = _mm512_setzero_si512();
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        __m128 d = _mm_mul_ps(words4(&x[i], 0, 11, 22, 33), scales4_q8_0(&y[i]));
        for (int h = 0; h < 2; h++) {
            const int64_t k = i + 2 * h;
            __m512i q =
                _mm512_or_si512(nibbles2(x[k].qs, x[k + 1].qs), fifth_bits2(x[k].qh, x[k + 1].qh));
            __m512i yy = ld2x32(y[k].qs, y[k + 1].qs);
            /* (code - 16) . y = code . y - 16 * sum(y) */
            __m512i p = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, yy),
                                         _mm512_dpbusd_epi32(zero, sixteen, yy));
            acc = _mm512_fmadd_ps(spread2(d, 2 * h, 2 * h + 1), _mm512_cvtepi32_ps(p), acc);
        }
    }
    float tail = 0;
    if (i < nb)
        aios_dot_q5_0_ref((nb - i) * QK5_0, &tail, x + i, y + i);
    *s = hsum16(acc) + tail;
}

/* Q4_1 / Q5_1 against Q8_1: d_x d_y (codes . y) + m_x s_y per block. */
static inline void dot_x_1(int64_t n, float *s, const void *vx, const void *vy, bool five)
{
    const uint8_t *xb = vx;
    const struct block_q8_1 *y = vy;
    const size_t bsz = five ? sizeof(struct block_q5_1) : sizeof(struct block_q4_1);
    const int w = (int)(bsz / 2); /* block stride in F16 words */
    const int64_t nb = n / QK8_1;
    const __m512i zero = _mm512_setzero_si512();
    __m512 acc = _mm512_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *xi = xb + (size_t)i * bsz;
        __m128 dy = words4(&y[i], 0, 18, 36, 54), sy = words4(&y[i], 1, 19, 37, 55);
        __m128 d = _mm_mul_ps(words4(xi, 0, w, 2 * w, 3 * w), dy);
        accm = _mm_fmadd_ps(words4(xi, 1, w + 1, 2 * w + 1, 3 * w + 1), sy, accm);
        for (int h = 0; h < 2; h++) {
            const uint8_t *a = xi + (size_t)(2 * h) * bsz, *b = a + bsz;
            __m512i q;
            if (five)
                q = _mm512_or_si512(nibbles2(((const struct block_q5_1 *)a)->qs,
                                             ((const struct block_q5_1 *)b)->qs),
                                    fifth_bits2(((const struct block_q5_1 *)a)->qh,
                                                ((const struct block_q5_1 *)b)->qh));
            else
                q = nibbles2(((const struct block_q4_1 *)a)->qs,
                             ((const struct block_q4_1 *)b)->qs);
            __m512i p = _mm512_dpbusd_epi32(zero, q, ld2x32(y[i + 2 * h].qs, y[i + 2 * h + 1].qs));
            acc = _mm512_fmadd_ps(spread2(d, 2 * h, 2 * h + 1), _mm512_cvtepi32_ps(p), acc);
        }
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    float tail = 0;
    if (i < nb) {
        if (five)
            aios_dot_q5_1_ref((nb - i) * QK8_1, &tail, xb + (size_t)i * bsz, y + i);
        else
            aios_dot_q4_1_ref((nb - i) * QK8_1, &tail, xb + (size_t)i * bsz, y + i);
    }
    *s = hsum16(acc) + _mm_cvtss_f32(accm) + tail;
}

static void dot_q4_1(int64_t n, float *s, const void *vx, const void *vy)
{
    dot_x_1(n, s, vx, vy, false);
}

static void dot_q5_1(int64_t n, float *s, const void *vx, const void *vy)
{
    dot_x_1(n, s, vx, vy, true);
}

/* ---- K-quants ---------------------------------------------------------- */

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

static void dot_q4_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q4_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m512 acc = _mm512_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sm = k4_scales_mins(x[i].scales);
        const float yd = y[i].d;
        accm = _mm_fmadd_ps(_mm_set1_ps(yd * h2f(x[i].dmin)),
                            _mm_cvtepi32_ps(k4_minsum4(sm, y[i].bsums)), accm);
        /* 16 int32 lanes: scales 0..7 then mins; the low half of each lane
         * is the int16 factor for vpdpwssd, the high half zero */
        const __m512i scv = _mm512_cvtepu8_epi32(sm);
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++, q4 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q4);
            __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(bits, m4)),
                                           _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), 1);
            __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q,
                                            _mm512_loadu_si512((const void *)q8));
            sumi = _mm512_dpwssd_epi32(sumi, p, pick2(scv, 2 * j, 2 * j + 1));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(yd * h2f(x[i].d)), _mm512_cvtepi32_ps(sumi), acc);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    *s = hsum16(acc) - _mm_cvtss_f32(accm);
}

static void dot_q5_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q5_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i one = _mm256_set1_epi8(1);
    __m512 acc = _mm512_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sm = k4_scales_mins(x[i].scales);
        const float yd = y[i].d;
        accm = _mm_fmadd_ps(_mm_set1_ps(yd * h2f(x[i].dmin)),
                            _mm_cvtepi32_ps(k4_minsum4(sm, y[i].bsums)), accm);
        const __m512i scv = _mm512_cvtepu8_epi32(sm);
        const uint8_t *q5 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        const __m256i hb = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++, q5 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q5);
            __m256i hl = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * j), one), 4);
            __m256i hh =
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * j + 1), one), 4);
            __m512i q = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_or_si256(_mm256_and_si256(bits, m4), hl)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), hh), 1);
            __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q,
                                            _mm512_loadu_si512((const void *)q8));
            sumi = _mm512_dpwssd_epi32(sumi, p, pick2(scv, 2 * j, 2 * j + 1));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(yd * h2f(x[i].d)), _mm512_cvtepi32_ps(sumi), acc);
    }
    accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
    accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
    *s = hsum16(acc) - _mm_cvtss_f32(accm);
}

/* Lanes 4k..4k+3 = sc[base + k] for k < 4 (a 16-value sub-block spans four
 * dpbusd lanes). */
static inline __m512i pick4(__m512i sc, int base)
{
    const int a = base, b = base + 1, c = base + 2, d = base + 3;
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d), sc);
}

static void dot_q6_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q6_K *x = vx;
    const struct block_q8_K *y = vy;
    const __m512i m4 = _mm512_set1_epi8(0xF);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        const __m512i scv = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)x[i].scales));
        /* value - 32: the offset comes back through the activation sums */
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m512i off = _mm512_mullo_epi32(scv, _mm512_cvtepi16_epi32(bs));
        /* scales as int16 in the low half of each lane, for madd_epi16 */
        const __m512i scv16 = _mm512_and_si512(scv, _mm512_set1_epi32(0xFFFF));
        __m512i sumi = _mm512_slli_epi32(off, 5);
        sumi = _mm512_sub_epi32(_mm512_setzero_si512(), sumi);
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, q8 += 128) {
            const __m512i l = _mm512_loadu_si512((const void *)ql);
            const __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
            /* elements 0..63: low nibbles + bits 0-1 / 2-3; 64..127: high + bits 4-5 / 6-7 */
            __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(hb, m3)),
                                             _mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 1);
            __m512i h23 = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3)),
                _mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 1);
            __m512i qa = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_slli_epi16(h01, 4));
            __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                         _mm512_slli_epi16(h23, 4));
            __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qa,
                                             _mm512_loadu_si512((const void *)q8));
            __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qb,
                                             _mm512_loadu_si512((const void *)(q8 + 64)));
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(pa, pick4(scv16, 8 * h)));
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(pb, pick4(scv16, 8 * h + 4)));
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
    }
    *s = hsum16(acc);
}

/* Two-bit codes of half a Q2_K / Q3_K block (32 bytes): elements 0..63
 * (shifts 0 and 2) in *a, 64..127 (shifts 4 and 6) in *b. */
static inline void crumbs(const uint8_t *qs, __m512i *a, __m512i *b)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i v = _mm256_loadu_si256((const __m256i *)qs);
    *a = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m3)),
                            _mm256_and_si256(_mm256_srli_epi16(v, 2), m3), 1);
    *b = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(_mm256_srli_epi16(v, 4), m3)),
                            _mm256_and_si256(_mm256_srli_epi16(v, 6), m3), 1);
}

/* Bit `bit` and `bit + 1` of each of 32 hmask bytes, as 4 in the bytes of
 * [elements with bit | elements with bit + 1]. */
static inline __m512i hbits4(__m256i hm, int bit)
{
    const __m256i one = _mm256_set1_epi8(1);
    __m256i a = _mm256_and_si256(_mm256_srli_epi16(hm, bit), one);
    __m256i b = _mm256_and_si256(_mm256_srli_epi16(hm, bit + 1), one);
    return _mm512_slli_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1), 2);
}

/* The 16 signed 6-bit scales of a Q3_K block (vector form of q3k_scales);
 * packed must be a block's scales field (preceded by its qs). */
static inline __m128i q3k_scales16(const uint8_t *packed)
{
    /* load the 16 bytes ending with the scales (the 4 before them are the
     * block's last qs bytes) and shift those out: no read past the block */
    const __m128i v = _mm_srli_si128(_mm_loadu_si128((const __m128i *)(packed - 4)), 4);
    const __m128i m4 = _mm_set1_epi8(0xF);
    __m128i lo = _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    __m128i hi =
        _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 2, 2, 2)), _mm_setr_epi32(0, 2, 4, 6));
    hi = _mm_and_si128(hi, _mm_set1_epi8(3));
    return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
}

static void dot_q3_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q3_K *x = vx;
    const struct block_q8_K *y = vy;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m512i scv = _mm512_cvtepi8_epi32(q3k_scales16(x[i].scales));
        const __m512i scv16 = _mm512_and_si512(scv, _mm512_set1_epi32(0xFFFF));
        /* value = code - 4 with code = 2 low bits | high bit << 2 (0..7) */
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        __m512i sumi = _mm512_sub_epi32(
            _mm512_setzero_si512(),
            _mm512_slli_epi32(_mm512_mullo_epi32(scv, _mm512_cvtepi16_epi32(bs)), 2));
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        const int8_t *q8 = y[i].qs;
        for (int h = 0; h < 2; h++, q8 += 128) {
            __m512i a, b;
            crumbs(x[i].qs + 32 * h, &a, &b);
            a = _mm512_or_si512(a, hbits4(hm, 4 * h));
            b = _mm512_or_si512(b, hbits4(hm, 4 * h + 2));
            __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a,
                                             _mm512_loadu_si512((const void *)q8));
            __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), b,
                                             _mm512_loadu_si512((const void *)(q8 + 64)));
            sumi = _mm512_dpwssd_epi32(sumi, pa, pick4(scv16, 8 * h));
            sumi = _mm512_dpwssd_epi32(sumi, pb, pick4(scv16, 8 * h + 4));
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
    }
    *s = hsum16(acc);
}

static void dot_q2_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q2_K *x = vx;
    const struct block_q8_K *y = vy;
    __m512 acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m512i scv = _mm512_cvtepu8_epi32(_mm_and_si128(v, _mm_set1_epi8(0xF)));
        const __m512i mv =
            _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0xF)));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const __m512i msum = _mm512_mullo_epi32(mv, _mm512_cvtepi16_epi32(bs));
        accm = _mm512_fmadd_ps(_mm512_set1_ps(y[i].d * h2f(x[i].dmin)), _mm512_cvtepi32_ps(msum),
                               accm);
        const int8_t *q8 = y[i].qs;
        __m512i sumi = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++, q8 += 128) {
            __m512i a, b;
            crumbs(x[i].qs + 32 * h, &a, &b);
            __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a,
                                             _mm512_loadu_si512((const void *)q8));
            __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), b,
                                             _mm512_loadu_si512((const void *)(q8 + 64)));
            sumi = _mm512_dpwssd_epi32(sumi, pa, pick4(scv, 8 * h));
            sumi = _mm512_dpwssd_epi32(sumi, pb, pick4(scv, 8 * h + 4));
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
    }
    *s = hsum16(acc) - hsum16(accm);
}

/* ---- lookup ------------------------------------------------------------ */

aios_vec_dot_fn aios_tensor_avx512_dot(uint32_t type)
{
    switch (type) {
    case AIOS_GGML_F32:
        return dot_f32;
    case AIOS_GGML_F16:
        return dot_f16;
    case AIOS_GGML_Q8_0:
        return dot_q8_0;
    case AIOS_GGML_Q4_0:
        return dot_q4_0;
    case AIOS_GGML_Q5_0:
        return dot_q5_0;
    case AIOS_GGML_Q4_1:
        return dot_q4_1;
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

aios_from_float_fn aios_tensor_avx512_act(uint32_t act_type)
{
    (void)act_type;
    return NULL; /* the AVX2 quantizers are not the bottleneck */
}
