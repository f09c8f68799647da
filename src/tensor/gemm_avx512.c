/*
 * AVX-512/VNNI kernels that take one weight row against four activation
 * rows at once, for matrix x matrix products (prompt processing): the
 * weight codes and scales are unpacked once and used four times. Each
 * column's arithmetic is the same as the one-row kernel in dot_avx512.c,
 * so results agree with it (and the reference) within float rounding.
 */
#include "tensor/avx512_util.h"

#define COL(y, c, stride) ((const void *)((const char *)(y) + (size_t)(c) * (stride)))

static void dot4_q4_0(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    const struct block_q4_0 *x = vx;
    const int64_t nb = n / QK4_0;
    const __m512i eight = _mm512_set1_epi8(8);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i spread4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m128 dx = scales4_q4_0(&x[i]);
        const __m512i v = qs4x16(x[i].qs, x[i + 1].qs, x[i + 2].qs, x[i + 3].qs);
        const __m512i lo = _mm512_and_si512(v, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        for (int c = 0; c < 4; c++) {
            const struct block_q8_0 *y = (const struct block_q8_0 *)COL(vy, c, ys) + i;
            const __m512i y01 = ld2x32(y[0].qs, y[1].qs), y23 = ld2x32(y[2].qs, y[3].qs);
            const __m512i ylo = _mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(2, 0, 2, 0));
            const __m512i yhi = _mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(3, 1, 3, 1));
            __m512i p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, ylo), hi, yhi);
            __m512i sy = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, eight, ylo), eight, yhi);
            __m128 d = _mm_mul_ps(dx, scales4_q8_0(y));
            acc[c] = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread4, _mm512_castps128_ps512(d)),
                                     _mm512_cvtepi32_ps(_mm512_sub_epi32(p, sy)), acc[c]);
        }
    }
    for (int c = 0; c < 4; c++) {
        float tail = 0;
        if (i < nb)
            aios_dot_q4_0_ref((nb - i) * QK4_0, &tail, x + i,
                              (const struct block_q8_0 *)COL(vy, c, ys) + i);
        s[c] = hsum16(acc[c]) + tail;
    }
}

static void dot4_q8_0(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    const struct block_q8_0 *x = vx;
    const int64_t nb = n / QK8_0;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m128 dx = scales4_q8_0(&x[i]);
        const __m512i x01 = ld2x32(x[i].qs, x[i + 1].qs), x23 = ld2x32(x[i + 2].qs, x[i + 3].qs);
        /* |x| once; x's sign is moved onto each column's activations */
        const __mmask64 n01 = _mm512_movepi8_mask(x01), n23 = _mm512_movepi8_mask(x23);
        const __m512i a01 = _mm512_abs_epi8(x01), a23 = _mm512_abs_epi8(x23);
        for (int c = 0; c < 4; c++) {
            const struct block_q8_0 *y = (const struct block_q8_0 *)COL(vy, c, ys) + i;
            __m512i y01 = ld2x32(y[0].qs, y[1].qs), y23 = ld2x32(y[2].qs, y[3].qs);
            y01 = _mm512_mask_sub_epi8(y01, n01, _mm512_setzero_si512(), y01);
            y23 = _mm512_mask_sub_epi8(y23, n23, _mm512_setzero_si512(), y23);
            __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a01, y01);
            __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a23, y23);
            __m128 d = _mm_mul_ps(dx, scales4_q8_0(y));
            acc[c] = _mm512_fmadd_ps(spread2(d, 0, 1), _mm512_cvtepi32_ps(p0), acc[c]);
            acc[c] = _mm512_fmadd_ps(spread2(d, 2, 3), _mm512_cvtepi32_ps(p1), acc[c]);
        }
    }
    for (int c = 0; c < 4; c++) {
        float tail = 0;
        if (i < nb)
            aios_dot_q8_0_ref((nb - i) * QK8_0, &tail, x + i,
                              (const struct block_q8_0 *)COL(vy, c, ys) + i);
        s[c] = hsum16(acc[c]) + tail;
    }
}

static void dot4_q4_K(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    const struct block_q4_K *x = vx;
    const __m512i m4z = _mm512_set1_epi8(0xF);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    __m128 accm[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sm = k4_scales_mins(x[i].scales);
        const __m512i scv = _mm512_cvtepu8_epi32(sm);
        const __m512i s02 = pick2(scv, 0, 2), s13 = pick2(scv, 1, 3);
        const __m512i s46 = pick2(scv, 4, 6), s57 = pick2(scv, 5, 7);
        const __m512i b0 = _mm512_loadu_si512((const void *)x[i].qs);
        const __m512i b1 = _mm512_loadu_si512((const void *)(x[i].qs + 64));
        const __m512i lo0 = _mm512_and_si512(b0, m4z);
        const __m512i hi0 = _mm512_and_si512(_mm512_srli_epi16(b0, 4), m4z);
        const __m512i lo1 = _mm512_and_si512(b1, m4z);
        const __m512i hi1 = _mm512_and_si512(_mm512_srli_epi16(b1, 4), m4z);
        const float dx = h2f(x[i].d), dminx = h2f(x[i].dmin);
        for (int c = 0; c < 4; c++) {
            const struct block_q8_K *y = (const struct block_q8_K *)COL(vy, c, ys) + i;
            accm[c] = _mm_fmadd_ps(_mm_set1_ps(y->d * dminx),
                                   _mm_cvtepi32_ps(k4_minsum4(sm, y->bsums)), accm[c]);
            __m512i sumi = _mm512_setzero_si512();
            for (int h = 0; h < 2; h++) {
                const __m512i y0 = _mm512_loadu_si512((const void *)(y->qs + 128 * h));
                const __m512i y1 = _mm512_loadu_si512((const void *)(y->qs + 128 * h + 64));
                const __m512i ylo = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(1, 0, 1, 0));
                const __m512i yhi = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(3, 2, 3, 2));
                __m512i pl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), h ? lo1 : lo0, ylo);
                __m512i ph = _mm512_dpbusd_epi32(_mm512_setzero_si512(), h ? hi1 : hi0, yhi);
                sumi = _mm512_dpwssd_epi32(sumi, pl, h ? s46 : s02);
                sumi = _mm512_dpwssd_epi32(sumi, ph, h ? s57 : s13);
            }
            acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(y->d * dx), _mm512_cvtepi32_ps(sumi), acc[c]);
        }
    }
    for (int c = 0; c < 4; c++) {
        __m128 m = _mm_add_ps(accm[c], _mm_movehl_ps(accm[c], accm[c]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        s[c] = hsum16(acc[c]) - _mm_cvtss_f32(m);
    }
}

static void dot4_q6_K(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    const struct block_q6_K *x = vx;
    const __m512i m4 = _mm512_set1_epi8(0xF);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m512i scv = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m512i scv16 = _mm512_and_si512(scv, _mm512_set1_epi32(0xFFFF));
        __m512i q[4], sc[4];
        for (int h = 0; h < 2; h++) {
            const __m512i l = _mm512_loadu_si512((const void *)(x[i].ql + 64 * h));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(hb, m3)),
                                             _mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 1);
            __m512i h23 = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3)),
                _mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 1);
            q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_slli_epi16(h01, 4));
            q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                           _mm512_slli_epi16(h23, 4));
            sc[2 * h] = pick4(scv16, 8 * h);
            sc[2 * h + 1] = pick4(scv16, 8 * h + 4);
        }
        const float dx = h2f(x[i].d);
        for (int c = 0; c < 4; c++) {
            const struct block_q8_K *y = (const struct block_q8_K *)COL(vy, c, ys) + i;
            const __m256i bs = _mm256_loadu_si256((const __m256i *)y->bsums);
            const __m512i off = _mm512_mullo_epi32(scv, _mm512_cvtepi16_epi32(bs));
            __m512i sumi = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(off, 5));
            for (int k = 0; k < 4; k++) {
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[k],
                                                _mm512_loadu_si512((const void *)(y->qs + 64 * k)));
                sumi = _mm512_dpwssd_epi32(sumi, p, sc[k]);
            }
            acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(y->d * dx), _mm512_cvtepi32_ps(sumi), acc[c]);
        }
    }
    for (int c = 0; c < 4; c++)
        s[c] = hsum16(acc[c]);
}

aios_vec_dot4_fn aios_tensor_avx512_dot4(uint32_t type)
{
    switch (type) {
    case AIOS_GGML_Q4_0:
        return dot4_q4_0;
    case AIOS_GGML_Q8_0:
        return dot4_q8_0;
    case AIOS_GGML_Q4_K:
        return dot4_q4_K;
    case AIOS_GGML_Q6_K:
        return dot4_q6_K;
    default:
        return NULL;
    }
}

/* ---- Q4_0 against prepared activations ----------------------------------
 *
 * Per group of four Q8_0 activation blocks (128 values), 160 bytes: the
 * four F16-rounded scales d[k] as floats, c[k] = d[k] * 8 * sum(q_k) (the
 * -8 offset of Q4_0 codes, taken once per activation row), then the low
 * halves (values 0..15) of the four blocks, then the high halves: the order
 * in which four Q4_0 blocks' nibbles come out of one register. Blocks past
 * the last whole group stay plain block_q8_0. The quantized values are
 * those of aios_q8_0_act_avx2, i.e. ggml's. */
struct q8x4 {
    float d[4];
    float c[4];
    int8_t lo[64];
    int8_t hi[64];
};
static_assert(sizeof(struct q8x4) == 160, "q8x4 layout");

/* Rounded up to 16 bytes, so that rows laid out at this stride stay
 * aligned for the float fields (rows must start 16-byte aligned). */
static size_t q8x4_row_size(int64_t n)
{
    const int64_t nb = n / QK8_0;
    size_t b =
        (size_t)(nb / 4) * sizeof(struct q8x4) + (size_t)(nb % 4) * sizeof(struct block_q8_0);
    return (b + 15) / 16 * 16;
}

static void q8x4_prepare(const float *x, void *vy, int64_t n)
{
    const int64_t nb = n / QK8_0, ng = nb / 4;
    struct q8x4 *g = vy;
    for (int64_t i = 0; i < ng; i++, x += 4 * QK8_0) {
        struct block_q8_0 b[4];
        aios_q8_0_act_avx2(x, b, 4 * QK8_0);
        for (int k = 0; k < 4; k++) {
            int sum = 0;
            for (int j = 0; j < QK8_0; j++)
                sum += b[k].qs[j];
            g[i].d[k] = h2f(b[k].d);
            g[i].c[k] = g[i].d[k] * (float)(8 * sum);
            memcpy(g[i].lo + 16 * k, b[k].qs, 16);
            memcpy(g[i].hi + 16 * k, b[k].qs + 16, 16);
        }
    }
    aios_q8_0_act_avx2(x, g + ng, (nb % 4) * QK8_0);
}

static inline float hsum4(__m128 v)
{
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}

static void dot_q4_0_x4(int64_t n, float *s, const void *vx, const void *vy)
{
    const struct block_q4_0 *x = vx;
    const struct q8x4 *g = vy;
    const int64_t nb = n / QK4_0, ng = nb / 4;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i spread4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    __m128 corr = _mm_setzero_ps();
    for (int64_t i = 0; i < ng; i++) {
        const struct block_q4_0 *xb = x + 4 * i;
        const __m128 dx = scales4_q4_0(xb);
        const __m512i v = qs4x16(xb[0].qs, xb[1].qs, xb[2].qs, xb[3].qs);
        const __m512i lo = _mm512_and_si512(v, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo,
                                        _mm512_loadu_si512((const void *)g[i].lo));
        p = _mm512_dpbusd_epi32(p, hi, _mm512_loadu_si512((const void *)g[i].hi));
        const __m128 d = _mm_mul_ps(dx, _mm_loadu_ps(g[i].d));
        const __m512 dv = _mm512_permutexvar_ps(spread4, _mm512_castps128_ps512(d));
        if (i & 1)
            acc1 = _mm512_fmadd_ps(dv, _mm512_cvtepi32_ps(p), acc1);
        else
            acc0 = _mm512_fmadd_ps(dv, _mm512_cvtepi32_ps(p), acc0);
        corr = _mm_fmadd_ps(dx, _mm_loadu_ps(g[i].c), corr);
    }
    float tail = 0;
    if (nb % 4)
        aios_dot_q4_0_ref((nb % 4) * QK4_0, &tail, x + 4 * ng, (const void *)(g + ng));
    *s = hsum16(_mm512_add_ps(acc0, acc1)) - hsum4(corr) + tail;
}

static void dot4_q4_0_x4(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    const struct block_q4_0 *x = vx;
    const int64_t nb = n / QK4_0, ng = nb / 4;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i spread4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    __m128 corr[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t i = 0; i < ng; i++) {
        const struct block_q4_0 *xb = x + 4 * i;
        const __m128 dx = scales4_q4_0(xb);
        const __m512i v = qs4x16(xb[0].qs, xb[1].qs, xb[2].qs, xb[3].qs);
        const __m512i lo = _mm512_and_si512(v, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        for (int c = 0; c < 4; c++) {
            const struct q8x4 *g = (const struct q8x4 *)COL(vy, c, ys) + i;
            __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo,
                                            _mm512_loadu_si512((const void *)g->lo));
            p = _mm512_dpbusd_epi32(p, hi, _mm512_loadu_si512((const void *)g->hi));
            const __m128 d = _mm_mul_ps(dx, _mm_loadu_ps(g->d));
            acc[c] = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread4, _mm512_castps128_ps512(d)),
                                     _mm512_cvtepi32_ps(p), acc[c]);
            corr[c] = _mm_fmadd_ps(dx, _mm_loadu_ps(g->c), corr[c]);
        }
    }
    for (int c = 0; c < 4; c++) {
        float tail = 0;
        if (nb % 4)
            aios_dot_q4_0_ref((nb % 4) * QK4_0, &tail, x + 4 * ng,
                              (const void *)((const struct q8x4 *)COL(vy, c, ys) + ng));
        s[c] = hsum16(acc[c]) - hsum4(corr[c]) + tail;
    }
}

static const struct aios_prepared prepared_q4_0 = {
    .row_size = q8x4_row_size,
    .prepare = q8x4_prepare,
    .dot = dot_q4_0_x4,
    .dot4 = dot4_q4_0_x4,
};

/* ---- Q4_K against prepared activations ----------------------------------
 *
 * Per Q8_K block (256 values), 288 bytes: the scale, the eight sums of each
 * 32 values (the pairs of bsums the mins need), and the values regrouped per
 * 128 as [0..31, 64..95, 32..63, 96..127]: the order in which the low and
 * high nibbles of 64 Q4_K code bytes come out of one register. Values are
 * those of aios_q8_K_act_avx2 (ggml's Q8_K). */
struct q8kp {
    float d;
    int16_t pairs[8];
    int8_t pad[12];
    int8_t qs[256];
};
static_assert(sizeof(struct q8kp) == 288, "q8kp layout");

static size_t q8kp_row_size(int64_t n)
{
    return (size_t)(n / QK_K) * sizeof(struct q8kp);
}

static void q8kp_prepare(const float *x, void *vy, int64_t n)
{
    struct q8kp *g = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        struct block_q8_K b;
        aios_q8_K_act_avx2(x, &b, QK_K);
        g[i].d = b.d;
        for (int j = 0; j < 8; j++)
            g[i].pairs[j] = (int16_t)(b.bsums[2 * j] + b.bsums[2 * j + 1]);
        memset(g[i].pad, 0, sizeof g[i].pad);
        for (int h = 0; h < 2; h++) {
            const int8_t *src = b.qs + 128 * h;
            int8_t *dst = g[i].qs + 128 * h;
            memcpy(dst, src, 32);
            memcpy(dst + 32, src + 64, 32);
            memcpy(dst + 64, src + 32, 32);
            memcpy(dst + 96, src + 96, 32);
        }
    }
}

/* One unpacked Q4_K block against one prepared block: sum over sub-blocks
 * of scale x (codes . values), in int32 lanes, for the caller to scale. */
static inline __m512i q4k_block(const struct q8kp *y, const __m512i sc[4], const __m512i lo[2],
                                const __m512i hi[2])
{
    __m512i sumi = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        __m512i pl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[h],
                                         _mm512_loadu_si512((const void *)(y->qs + 128 * h)));
        __m512i ph = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[h],
                                         _mm512_loadu_si512((const void *)(y->qs + 128 * h + 64)));
        sumi = _mm512_dpwssd_epi32(sumi, pl, sc[2 * h]);
        sumi = _mm512_dpwssd_epi32(sumi, ph, sc[2 * h + 1]);
    }
    return sumi;
}

static inline void q4k_unpack(const struct block_q4_K *x, __m128i *sm, __m512i sc[4], __m512i lo[2],
                              __m512i hi[2])
{
    const __m512i m4z = _mm512_set1_epi8(0xF);
    *sm = k4_scales_mins(x->scales);
    const __m512i scv = _mm512_cvtepu8_epi32(*sm);
    sc[0] = pick2(scv, 0, 2);
    sc[1] = pick2(scv, 1, 3);
    sc[2] = pick2(scv, 4, 6);
    sc[3] = pick2(scv, 5, 7);
    for (int h = 0; h < 2; h++) {
        const __m512i b = _mm512_loadu_si512((const void *)(x->qs + 64 * h));
        lo[h] = _mm512_and_si512(b, m4z);
        hi[h] = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4z);
    }
}

/* sum_j m_j * pairs_j as 4 int32 lanes (m from the high 8 bytes of sm) */
static inline __m128i q4k_minsum(__m128i sm, const struct q8kp *y)
{
    return _mm_madd_epi16(_mm_loadu_si128((const __m128i *)y->pairs),
                          _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)));
}

/* ---- Q5_K unpacked for the same prepared activations, and the kernels of
 * both ---------------------------------------------------------------- */

static inline void q5k_unpack(const struct block_q5_K *x, __m128i *sm, __m512i sc[4], __m512i lo[2],
                              __m512i hi[2])
{
    const __m512i m4z = _mm512_set1_epi8(0xF), sixteen = _mm512_set1_epi8(16);
    *sm = k4_scales_mins(x->scales);
    const __m512i scv = _mm512_cvtepu8_epi32(*sm);
    sc[0] = pick2(scv, 0, 2);
    sc[1] = pick2(scv, 1, 3);
    sc[2] = pick2(scv, 4, 6);
    sc[3] = pick2(scv, 5, 7);
    const __m512i hb2 = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)x->qh));
    for (int h = 0; h < 2; h++) {
        const int j = 2 * h; /* sub-block pairs j and j + 1 */
        const __m512i b = _mm512_loadu_si512((const void *)(x->qs + 64 * h));
        /* +16 where sub-block k's bit k of qh is set */
        const __mmask64 klo = _mm512_test_epi8_mask(
            hb2, _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))),
                                    _mm256_set1_epi8((char)(1 << (2 * j + 2))), 1));
        const __mmask64 khi = _mm512_test_epi8_mask(
            hb2, _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j + 1))),
                                    _mm256_set1_epi8((char)(1 << (2 * j + 3))), 1));
        lo[h] = _mm512_and_si512(b, m4z);
        hi[h] = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4z);
        lo[h] = _mm512_mask_add_epi8(lo[h], klo, lo[h], sixteen);
        hi[h] = _mm512_mask_add_epi8(hi[h], khi, hi[h], sixteen);
    }
}

/* One Q4_K or Q5_K weight row (q5) against nc (1 or 4) prepared activation
 * rows ys bytes apart: the block is unpacked once for all of them. */
static inline __attribute__((always_inline)) void
dot_k_p(int64_t n, float *s, const void *vx, const void *vy, size_t ys, const int nc, const bool q5)
{
    const size_t bs = q5 ? sizeof(struct block_q5_K) : sizeof(struct block_q4_K);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    __m128 accm[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const char *blk = (const char *)vx + (size_t)i * bs;
        __m128i sm;
        __m512i sc[4], lo[2], hi[2];
        float dx, dminx;
        if (q5) {
            const struct block_q5_K *x = (const struct block_q5_K *)blk;
            q5k_unpack(x, &sm, sc, lo, hi);
            dx = h2f(x->d);
            dminx = h2f(x->dmin);
        } else {
            const struct block_q4_K *x = (const struct block_q4_K *)blk;
            q4k_unpack(x, &sm, sc, lo, hi);
            dx = h2f(x->d);
            dminx = h2f(x->dmin);
        }
        for (int c = 0; c < nc; c++) {
            const struct q8kp *y = (const struct q8kp *)COL(vy, c, ys) + i;
            __m512i sumi = q4k_block(y, sc, lo, hi);
            acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(y->d * dx), _mm512_cvtepi32_ps(sumi), acc[c]);
            accm[c] = _mm_fmadd_ps(_mm_set1_ps(y->d * dminx), _mm_cvtepi32_ps(q4k_minsum(sm, y)),
                                   accm[c]);
        }
    }
    for (int c = 0; c < nc; c++)
        s[c] = hsum16(acc[c]) - hsum4(accm[c]);
}

static void dot_q4_K_p(int64_t n, float *s, const void *vx, const void *vy)
{
    dot_k_p(n, s, vx, vy, 0, 1, false);
}

static void dot4_q4_K_p(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    dot_k_p(n, s, vx, vy, ys, 4, false);
}

static void dot_q5_K_p(int64_t n, float *s, const void *vx, const void *vy)
{
    dot_k_p(n, s, vx, vy, 0, 1, true);
}

static void dot4_q5_K_p(int64_t n, float *s, const void *vx, const void *vy, size_t ys)
{
    dot_k_p(n, s, vx, vy, ys, 4, true);
}

static const struct aios_prepared prepared_q4_K = {
    .row_size = q8kp_row_size,
    .prepare = q8kp_prepare,
    .dot = dot_q4_K_p,
    .dot4 = dot4_q4_K_p,
};

static const struct aios_prepared prepared_q5_K = {
    .row_size = q8kp_row_size,
    .prepare = q8kp_prepare,
    .dot = dot_q5_K_p,
    .dot4 = dot4_q5_K_p,
};

const struct aios_prepared *aios_tensor_avx512_prepared(uint32_t type)
{
    switch (type) {
    case AIOS_GGML_Q4_0:
        return &prepared_q4_0;
    case AIOS_GGML_Q4_K:
        return &prepared_q4_K;
    case AIOS_GGML_Q5_K:
        return &prepared_q5_K;
    default:
        return NULL;
    }
}
