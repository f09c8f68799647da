/*
 * Packed-panel matrix x matrix kernels for prompt processing (AVX-512 VNNI).
 *
 * Sixteen weight rows are unpacked once into a panel in which each 64-byte
 * line holds the same four codes of all sixteen rows (lane r = row r). One
 * vpdpbusd then multiplies four values of sixteen rows by four values of
 * one activation row, broadcast from memory, and a tile of 16 rows x C
 * activation rows stays in registers: the weight line is loaded once per C
 * activation rows, the activation dword once per 16 weight rows, and the
 * per-block scale arithmetic is done for sixteen rows at once. The panel is
 * filled with gathers straight from the mmapped weights (nothing is copied
 * at load) and reused for every activation row of the product.
 *
 * The integer sums per block (per sub-block for the K-quants) are exact and
 * each block is scaled as ggml scales it, so results differ from the
 * one-row kernels only in the order of the float additions. Offsets of the
 * codes (Q4_0's 8, Q8_0's 128 after making the codes unsigned, Q6_K's 32)
 * are applied through the activation sums precomputed once per row.
 */
#include "tensor/avx512_util.h"

#include <string.h>

#define PR AIOS_PANEL_ROWS
#define INLINE static inline __attribute__((always_inline))

static inline int32_t ld32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Lane r = r * stride: the gather offsets of sixteen rows. */
static inline __m512i row_offsets(size_t stride)
{
    return _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)stride));
}

/* Dword at byte offset off of each row's block (rows past m read as 0). */
#define GATHER(m, idx, base, off)                                                                  \
    _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), (m), (idx),                                \
                                (const void *)((const char *)(base) + (off)), 1)

/* r[i] = dword i of the sixteen rows in; in[r] = row r (16 dwords). */
static inline void transpose16(const __m512i in[16], __m512i out[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
    }
    /* u[4k + m], lane L = dword 4L + m of rows 4k..4k+3 */
    for (int k = 0; k < 4; k++) {
        u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    for (int m = 0; m < 4; m++) {
        const __m512i v = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x88);
        const __m512i w = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x88);
        const __m512i v2 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xDD);
        const __m512i w2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xDD);
        out[m] = _mm512_shuffle_i32x4(v, w, 0x88);
        out[8 + m] = _mm512_shuffle_i32x4(v, w, 0xDD);
        out[4 + m] = _mm512_shuffle_i32x4(v2, w2, 0x88);
        out[12 + m] = _mm512_shuffle_i32x4(v2, w2, 0xDD);
    }
}

/* The sixteen rows of a panel are one contiguous stretch of the weights:
 * fetching it in order first runs at the memory's streaming rate, where
 * the packing's row-interleaved loads would wait on sixteen streams. */
static inline void prefetch_span(const void *p, size_t n)
{
    for (size_t o = 0; o < n; o += 64)
        _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

/* This panel's rows and the next panel's (fetched while this one is
 * packed; a prefetch past the weights' end does not fault). */
static inline void prefetch_panel(const void *w, int rows, size_t rs)
{
    prefetch_span(w, (size_t)rows * rs);
    prefetch_span((const char *)w + (size_t)rows * rs, (size_t)rows * rs);
}

/* in[r] = the 64 bytes at offset off of row r (zeros past rows), then
 * transposed: out[i] = dword i of the sixteen rows. */
static inline void load_t(const void *w, size_t rs, int rows, size_t off, __m512i out[16])
{
    __m512i in[16];
    for (int r = 0; r < PR; r++)
        in[r] = r < rows
                    ? _mm512_loadu_si512((const void *)((const char *)w + (size_t)r * rs + off))
                    : _mm512_setzero_si512();
    transpose16(in, out);
}

static inline __m512 half_lo(__m512i v) /* F16 in the low half of each dword */
{
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

static inline __m512 half_hi(__m512i v)
{
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
}

/* ---- 32-value blocks with one scale: Q4_0, Q8_0 --------------------------
 *
 * Activation block: the Q8_0 values, their scale as float and the offset
 * term -k * sum(values) (k = 8 for Q4_0, 128 for Q8_0). Panel block: eight
 * lines of codes (line j = values 4j..4j+3 of the sixteen rows), then the
 * sixteen rows' scales as floats. */
struct act_a {
    int8_t qs[32];
    float d;
    int32_t off;
};
static_assert(sizeof(struct act_a) == 40, "act_a layout");
#define PANEL_A 576

static size_t act_a_size(int64_t n)
{
    return (size_t)(n / 32) * sizeof(struct act_a);
}

static size_t panel_a_size(int64_t n)
{
    return (size_t)(n / 32) * PANEL_A;
}

static void act_a_prepare(const float *x, struct act_a *a, int64_t n, int32_t k)
{
    struct block_q8_0 b[8];
    const int64_t nb = n / 32;
    for (int64_t i = 0; i < nb; i += 8) {
        const int64_t m = nb - i < 8 ? nb - i : 8;
        aios_q8_0_act_avx2(x + i * 32, b, m * 32);
        for (int64_t j = 0; j < m; j++) {
            int32_t sum = 0;
            for (int v = 0; v < 32; v++)
                sum += b[j].qs[v];
            memcpy(a[i + j].qs, b[j].qs, 32);
            a[i + j].d = h2f(b[j].d);
            a[i + j].off = -k * sum;
        }
    }
}

static void act_q4_0(const float *x, void *y, int64_t n)
{
    act_a_prepare(x, y, n, 8);
}

static void act_q8_0(const float *x, void *y, int64_t n)
{
    act_a_prepare(x, y, n, 128);
}

static void pack_q4_0(const void *w, size_t rs, int rows, int64_t n, void *panel)
{
    const __m512i idx = row_offsets(rs), m4 = _mm512_set1_epi8(0x0F);
    const __mmask16 m = (__mmask16)((1u << rows) - 1);
    char *p = panel;
    int64_t b = 0;
    prefetch_panel(w, rows, rs);
    /* four blocks of the sixteen rows at a time: row-wise loads (which
     * stream from memory) and a register transpose */
    for (; b + 4 <= n / 32; b += 4, p += 4 * PANEL_A) {
        __m512i in[16], out[16];
        for (int r = 0; r < PR; r++) {
            if (r < rows) {
                const struct block_q4_0 *x =
                    (const struct block_q4_0 *)((const char *)w + (size_t)r * rs) + b;
                in[r] = qs4x16(x[0].qs, x[1].qs, x[2].qs, x[3].qs);
            } else {
                in[r] = _mm512_setzero_si512();
            }
        }
        transpose16(in, out);
        for (int i = 0; i < 16; i++) { /* block b + i / 4, code dword i % 4 */
            char *pb = p + (i / 4) * PANEL_A;
            _mm512_storeu_si512((void *)(pb + 64 * (i % 4)), _mm512_and_si512(out[i], m4));
            _mm512_storeu_si512((void *)(pb + 64 * (4 + i % 4)),
                                _mm512_and_si512(_mm512_srli_epi16(out[i], 4), m4));
        }
        for (int k = 0; k < 4; k++)
            _mm512_storeu_ps(
                p + k * PANEL_A + 512,
                half_lo(GATHER(m, idx,
                               (const char *)w + (b + k) * (int64_t)sizeof(struct block_q4_0), 0)));
    }
    for (; b < n / 32; b++, p += PANEL_A) {
        const char *blk = (const char *)w + b * (int64_t)sizeof(struct block_q4_0);
        for (int g = 0; g < 4; g++) {
            const __m512i q = GATHER(m, idx, blk, 2 + 4 * g);
            _mm512_storeu_si512((void *)(p + 64 * g), _mm512_and_si512(q, m4));
            _mm512_storeu_si512((void *)(p + 64 * (4 + g)),
                                _mm512_and_si512(_mm512_srli_epi16(q, 4), m4));
        }
        _mm512_storeu_ps(p + 512, half_lo(GATHER(m, idx, blk, 0)));
    }
}

static void pack_q8_0(const void *w, size_t rs, int rows, int64_t n, void *panel)
{
    const __m512i idx = row_offsets(rs), bias = _mm512_set1_epi8((char)0x80);
    const __mmask16 m = (__mmask16)((1u << rows) - 1);
    char *p = panel;
    prefetch_panel(w, rows, rs);
    int64_t b = 0;
    for (; b + 2 <= n / 32; b += 2, p += 2 * PANEL_A) { /* two blocks at a time */
        __m512i in[16], out[16];
        for (int r = 0; r < PR; r++) {
            if (r < rows) {
                const struct block_q8_0 *x =
                    (const struct block_q8_0 *)((const char *)w + (size_t)r * rs) + b;
                in[r] = ld2x32(x[0].qs, x[1].qs);
            } else {
                in[r] = _mm512_setzero_si512();
            }
        }
        transpose16(in, out);
        for (int i = 0; i < 16; i++) /* block b + i / 8, line i % 8: x + 128 unsigned */
            _mm512_storeu_si512((void *)(p + (i / 8) * PANEL_A + 64 * (i % 8)),
                                _mm512_xor_si512(out[i], bias));
        for (int k = 0; k < 2; k++)
            _mm512_storeu_ps(
                p + k * PANEL_A + 512,
                half_lo(GATHER(m, idx,
                               (const char *)w + (b + k) * (int64_t)sizeof(struct block_q8_0), 0)));
    }
    for (; b < n / 32; b++, p += PANEL_A) {
        const char *blk = (const char *)w + b * (int64_t)sizeof(struct block_q8_0);
        for (int j = 0; j < 8; j++)
            _mm512_storeu_si512((void *)(p + 64 * j),
                                _mm512_xor_si512(GATHER(m, idx, blk, 2 + 4 * j), bias));
        _mm512_storeu_ps(p + 512, half_lo(GATHER(m, idx, blk, 0)));
    }
}

/* The float accumulators of a tile of 16 x P weight rows by C activation
 * rows: cleared, and stored (row k's lanes masked by m[k]). */
INLINE void tile_zero(const int P, const int C, __m512 f[2][8])
{
#pragma GCC unroll 2
    for (int k = 0; k < P; k++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            f[k][c] = _mm512_setzero_ps();
}

INLINE void tile_store(const int P, const int C, __m512 f[2][8], float *y, int64_t ys,
                       const __mmask16 *m)
{
#pragma GCC unroll 2
    for (int k = 0; k < P; k++)
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            _mm512_mask_storeu_ps(y + c * ys + 16 * k, m[k], f[k][c]);
}

/* 16 x P rows (P panels, psz bytes apart) x C activation rows, every
 * block. Two panels share each activation broadcast (fewer loads per
 * vpdpbusd); P and C are constants in every instance. */
INLINE void tile_a(const char *panel, size_t psz, const int P, int64_t nb, const char *act,
                   size_t ars, const int C, float *y, int64_t ys, const __mmask16 *m)
{
    __m512 f[2][8];
    tile_zero(P, C, f);
    for (int64_t b = 0; b < nb; b++) {
        const char *p = panel + b * PANEL_A;
        const struct act_a *a[8];
        __m512i acc[2][8];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            a[c] = (const struct act_a *)(act + (size_t)c * ars) + b;
#pragma GCC unroll 2
            for (int k = 0; k < P; k++)
                acc[k][c] = _mm512_set1_epi32(a[c]->off);
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m512i w[2];
#pragma GCC unroll 2
            for (int k = 0; k < P; k++)
                w[k] = _mm512_loadu_si512((const void *)(p + k * psz + 64 * j));
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                const __m512i av = _mm512_set1_epi32(ld32(a[c]->qs + 4 * j));
#pragma GCC unroll 2
                for (int k = 0; k < P; k++)
                    acc[k][c] = _mm512_dpbusd_epi32(acc[k][c], w[k], av);
            }
        }
#pragma GCC unroll 2
        for (int k = 0; k < P; k++) {
            const __m512 dx = _mm512_loadu_ps(p + k * psz + 512);
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                f[k][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[k][c]),
                                          _mm512_mul_ps(dx, _mm512_set1_ps(a[c]->d)), f[k][c]);
        }
    }
    tile_store(P, C, f, y, ys, m);
}

/* ---- K-quants: Q4_K, Q5_K (sub-blocks of 32), Q6_K (sub-blocks of 16) ---
 *
 * Activation block: the Q8_K values (ggml's), scale, -32 x the sums of each
 * 16 values (Q6_K's offset) and the sums of each 32 values as int16 pairs
 * (the Q4_K / Q5_K mins). */
struct act_k {
    int8_t qs[QK_K];
    float d;
    int32_t neg32[16];
    int16_t b32[8];
};
static_assert(sizeof(struct act_k) == 340, "act_k layout");

static size_t act_k_size(int64_t n)
{
    return (size_t)(n / QK_K) * sizeof(struct act_k);
}

static void act_k(const float *x, void *vy, int64_t n)
{
    struct act_k *a = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        struct block_q8_K b;
        aios_q8_K_act_avx2(x, &b, QK_K);
        memcpy(a[i].qs, b.qs, QK_K);
        a[i].d = b.d;
        for (int s = 0; s < 16; s++)
            a[i].neg32[s] = -32 * b.bsums[s];
        for (int s = 0; s < 8; s++)
            a[i].b32[s] = (int16_t)(b.bsums[2 * s] + b.bsums[2 * s + 1]);
    }
}

/* Q4_K / Q5_K panel block: 8 sub-blocks x 8 lines of codes, the 8 scales
 * as int32 lines, the 8 mins as 4 lines of int16 pairs, d and dmin. */
#define K32_CODES 0
#define K32_SC 4096
#define K32_MIN (K32_SC + 8 * 64)
#define K32_D (K32_MIN + 4 * 64)
#define PANEL_K32 (K32_D + 2 * 64)

static size_t panel_k32_size(int64_t n)
{
    return (size_t)(n / QK_K) * PANEL_K32;
}

/* The 6-bit scales and mins of sixteen rows' blocks (12 bytes at off). */
static void pack_k32_scales(__mmask16 m, __m512i idx, const char *blk, int off, char *p)
{
    const __m512i s[3] = {GATHER(m, idx, blk, off), GATHER(m, idx, blk, off + 4),
                          GATHER(m, idx, blk, off + 8)};
    const __m512i ff = _mm512_set1_epi32(0xFF);
#define BYTE(k) _mm512_and_si512(_mm512_srli_epi32(s[(k) / 4], 8 * ((k) % 4)), ff)
    __m512i sc[8], mn[8];
    for (int j = 0; j < 4; j++) {
        sc[j] = _mm512_and_si512(BYTE(j), _mm512_set1_epi32(63));
        mn[j] = _mm512_and_si512(BYTE(j + 4), _mm512_set1_epi32(63));
    }
    for (int j = 4; j < 8; j++) {
        sc[j] = _mm512_or_si512(_mm512_and_si512(BYTE(j + 4), _mm512_set1_epi32(15)),
                                _mm512_slli_epi32(_mm512_srli_epi32(BYTE(j - 4), 6), 4));
        mn[j] = _mm512_or_si512(_mm512_srli_epi32(BYTE(j + 4), 4),
                                _mm512_slli_epi32(_mm512_srli_epi32(BYTE(j), 6), 4));
    }
#undef BYTE
    for (int j = 0; j < 8; j++)
        _mm512_storeu_si512((void *)(p + K32_SC + 64 * j), sc[j]);
    for (int k = 0; k < 4; k++)
        _mm512_storeu_si512((void *)(p + K32_MIN + 64 * k),
                            _mm512_or_si512(mn[2 * k], _mm512_slli_epi32(mn[2 * k + 1], 16)));
    const __m512i dd = GATHER(m, idx, blk, 0);
    _mm512_storeu_ps(p + K32_D, half_lo(dd));
    _mm512_storeu_ps(p + K32_D + 64, half_hi(dd));
}

static void pack_q4_K(const void *w, size_t rs, int rows, int64_t n, void *panel)
{
    const __m512i idx = row_offsets(rs), m4 = _mm512_set1_epi8(0x0F);
    const __mmask16 m = (__mmask16)((1u << rows) - 1);
    char *p = panel;
    prefetch_panel(w, rows, rs);
    for (int64_t i = 0; i < n / QK_K; i++, p += PANEL_K32) {
        const size_t off = (size_t)i * sizeof(struct block_q4_K);
        const char *blk = (const char *)w + off;
        /* 32 code bytes per pair of sub-blocks: low nibbles = sub-block 2c,
         * high nibbles = 2c + 1; dword i of a 64-byte half is c = i / 8 of
         * it, line i % 8 */
        for (int hh = 0; hh < 2; hh++) {
            __m512i t[16];
            load_t(w, rs, rows, off + offsetof(struct block_q4_K, qs) + 64 * (size_t)hh, t);
            for (int k = 0; k < 16; k++) {
                const int c = 2 * hh + k / 8, g = k % 8;
                _mm512_storeu_si512((void *)(p + 512 * (2 * c) + 64 * g),
                                    _mm512_and_si512(t[k], m4));
                _mm512_storeu_si512((void *)(p + 512 * (2 * c + 1) + 64 * g),
                                    _mm512_and_si512(_mm512_srli_epi16(t[k], 4), m4));
            }
        }
        pack_k32_scales(m, idx, blk, (int)offsetof(struct block_q4_K, scales), p);
    }
}

static void pack_q5_K(const void *w, size_t rs, int rows, int64_t n, void *panel)
{
    const __m512i idx = row_offsets(rs), m4 = _mm512_set1_epi8(0x0F);
    const __m512i one = _mm512_set1_epi8(1);
    const __mmask16 m = (__mmask16)((1u << rows) - 1);
    char *p = panel;
    prefetch_panel(w, rows, rs);
    for (int64_t i = 0; i < n / QK_K; i++, p += PANEL_K32) {
        const size_t off = (size_t)i * sizeof(struct block_q5_K);
        const char *blk = (const char *)w + off;
        /* qh: 32 bytes, dwords 0..7 (the 64-byte load reads the first 32
         * code bytes too, still inside the block) */
        __m512i h[16];
        load_t(w, rs, rows, off + offsetof(struct block_q5_K, qh), h);
        for (int hh = 0; hh < 2; hh++) {
            __m512i t[16];
            load_t(w, rs, rows, off + offsetof(struct block_q5_K, qs) + 64 * (size_t)hh, t);
            for (int k = 0; k < 16; k++) {
                const int c = 2 * hh + k / 8, g = k % 8;
                /* bit 2c of qh byte l: +16 for value l of sub-block 2c;
                 * bit 2c + 1 for sub-block 2c + 1 */
                const __m512i hl =
                    _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h[g], 2 * c), one), 4);
                const __m512i hh2 =
                    _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h[g], 2 * c + 1), one), 4);
                _mm512_storeu_si512((void *)(p + 512 * (2 * c) + 64 * g),
                                    _mm512_or_si512(_mm512_and_si512(t[k], m4), hl));
                _mm512_storeu_si512(
                    (void *)(p + 512 * (2 * c + 1) + 64 * g),
                    _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(t[k], 4), m4), hh2));
            }
        }
        pack_k32_scales(m, idx, blk, (int)offsetof(struct block_q5_K, scales), p);
    }
}

/* Sub-block s of a K-quant panel block at p (lines of codes, 64 bytes
 * each): sumi[k][c] += scale x (codes . activation values), the sum
 * starting from -32 x the activations' sum for Q6_K's offset (off32). */
INLINE void k_subblock(const char *p, size_t psz, const int P, const struct act_k *const *a,
                       const int C, const int s, const int lines, const int sc_off,
                       const bool off32, __m512i sumi[2][8])
{
    __m512i acc[2][8];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++)
#pragma GCC unroll 2
        for (int k = 0; k < P; k++)
            acc[k][c] = off32 ? _mm512_set1_epi32(a[c]->neg32[s]) : _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < lines; j++) {
        __m512i w[2];
#pragma GCC unroll 2
        for (int k = 0; k < P; k++)
            w[k] = _mm512_loadu_si512((const void *)(p + k * psz + 64 * (lines * s + j)));
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const __m512i av = _mm512_set1_epi32(ld32(a[c]->qs + 4 * (lines * s + j)));
#pragma GCC unroll 2
            for (int k = 0; k < P; k++)
                acc[k][c] = _mm512_dpbusd_epi32(acc[k][c], w[k], av);
        }
    }
#pragma GCC unroll 2
    for (int k = 0; k < P; k++) {
        const __m512i sc = _mm512_loadu_si512((const void *)(p + k * psz + sc_off + 64 * s));
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            sumi[k][c] = _mm512_add_epi32(sumi[k][c], _mm512_mullo_epi32(acc[k][c], sc));
    }
}

/* f[k][c] += sumi[k][c] x d_k (the panel's row scales at d_off) x d_c. */
INLINE void k_scale(const char *p, size_t psz, const int P, const int d_off,
                    const struct act_k *const *a, const int C, __m512i sumi[2][8], __m512 f[2][8])
{
#pragma GCC unroll 2
    for (int k = 0; k < P; k++) {
        const __m512 d = _mm512_loadu_ps(p + k * psz + d_off);
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            f[k][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[k][c]),
                                      _mm512_mul_ps(d, _mm512_set1_ps(a[c]->d)), f[k][c]);
    }
}

INLINE void tile_k32(const char *panel, size_t psz, const int P, int64_t nsb, const char *act,
                     size_t ars, const int C, float *y, int64_t ys, const __mmask16 *m)
{
    __m512 f[2][8];
    tile_zero(P, C, f);
    for (int64_t i = 0; i < nsb; i++) {
        const char *p = panel + i * PANEL_K32;
        const struct act_k *a[8];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++)
            a[c] = (const struct act_k *)(act + (size_t)c * ars) + i;
            /* the mins first, folded into f at once (fewer live registers) */
#pragma GCC unroll 2
        for (int k = 0; k < P; k++) {
            __m512i ms[8];
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                ms[c] = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) {
                const __m512i mv =
                    _mm512_loadu_si512((const void *)(p + k * psz + K32_MIN + 64 * q));
#pragma GCC unroll 8
                for (int c = 0; c < C; c++)
                    ms[c] =
                        _mm512_dpwssd_epi32(ms[c], mv, _mm512_set1_epi32(ld32(a[c]->b32 + 2 * q)));
            }
            const __m512 dmin = _mm512_loadu_ps(p + k * psz + K32_D + 64);
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                f[k][c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ms[c]),
                                           _mm512_mul_ps(dmin, _mm512_set1_ps(a[c]->d)), f[k][c]);
        }
        __m512i sumi[2][8];
#pragma GCC unroll 2
        for (int k = 0; k < P; k++)
#pragma GCC unroll 8
            for (int c = 0; c < C; c++)
                sumi[k][c] = _mm512_setzero_si512();
        for (int s = 0; s < 8; s++)
            k_subblock(p, psz, P, a, C, s, 8, K32_SC, false, sumi);
        k_scale(p, psz, P, K32_D, a, C, sumi, f);
    }
    tile_store(P, C, f, y, ys, m);
}

/* Q6_K panel block: 16 sub-blocks x 4 lines of codes (0..63), the 16
 * scales as int32 lines, d. */
#define K16_SC 4096
#define K16_D (K16_SC + 16 * 64)
#define PANEL_K16 (K16_D + 64)

static size_t panel_k16_size(int64_t n)
{
    return (size_t)(n / QK_K) * PANEL_K16;
}

static void pack_q6_K(const void *w, size_t rs, int rows, int64_t n, void *panel)
{
    const __m512i idx = row_offsets(rs), m4 = _mm512_set1_epi8(0x0F);
    const __m512i three = _mm512_set1_epi8(3);
    const __mmask16 m = (__mmask16)((1u << rows) - 1);
    const int ql = (int)offsetof(struct block_q6_K, ql), qh = (int)offsetof(struct block_q6_K, qh);
    const int scl = (int)offsetof(struct block_q6_K, scales);
    char *p = panel;
    prefetch_panel(w, rows, rs);
    for (int64_t i = 0; i < n / QK_K; i++, p += PANEL_K16) {
        const char *blk = (const char *)w + i * (int64_t)sizeof(struct block_q6_K);
        const size_t off = (size_t)i * sizeof(struct block_q6_K);
        __m512i hq[16]; /* qh dwords: half h, g at 8h + g */
        load_t(w, rs, rows, off + (size_t)qh, hq);
        for (int h = 0; h < 2; h++) {
            __m512i ab[16]; /* ql dwords of half h: a at g, b at 8 + g */
            load_t(w, rs, rows, off + (size_t)ql + 64 * (size_t)h, ab);
            for (int g = 0; g < 8; g++) {
                /* values 128h + l, +32, +64, +96 for l = 4g..4g+3: sub-blocks
                 * 8h + g/4 (+2, +4, +6), line g % 4 */
                const __m512i a = ab[g], b = ab[8 + g], q = hq[8 * h + g];
                const __m512i v[4] = {
                    _mm512_and_si512(a, m4),
                    _mm512_and_si512(b, m4),
                    _mm512_and_si512(_mm512_srli_epi16(a, 4), m4),
                    _mm512_and_si512(_mm512_srli_epi16(b, 4), m4),
                };
                for (int k = 0; k < 4; k++) {
                    const __m512i hb =
                        _mm512_and_si512(_mm512_srli_epi32(q, 2 * k), three); /* per byte */
                    const int sb = 8 * h + g / 4 + 2 * k;
                    _mm512_storeu_si512((void *)(p + 256 * sb + 64 * (g % 4)),
                                        _mm512_or_si512(v[k], _mm512_slli_epi32(hb, 4)));
                }
            }
        }
        for (int k = 0; k < 4; k++) {
            const __m512i s = GATHER(m, idx, blk, scl + 4 * k);
            for (int b = 0; b < 4; b++) /* sign-extend byte b of each dword */
                _mm512_storeu_si512((void *)(p + K16_SC + 64 * (4 * k + b)),
                                    _mm512_srai_epi32(_mm512_slli_epi32(s, 24 - 8 * b), 24));
        }
        /* d is the last two bytes: read the dword that ends with it */
        const int d = (int)offsetof(struct block_q6_K, d);
        _mm512_storeu_ps(p + K16_D, half_hi(GATHER(m, idx, blk, d - 2)));
    }
}

INLINE void tile_k16(const char *panel, size_t psz, const int P, int64_t nsb, const char *act,
                     size_t ars, const int C, float *y, int64_t ys, const __mmask16 *m)
{
    __m512 f[2][8];
    tile_zero(P, C, f);
    for (int64_t i = 0; i < nsb; i++) {
        const char *p = panel + i * PANEL_K16;
        const struct act_k *a[8];
        __m512i sumi[2][8];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            a[c] = (const struct act_k *)(act + (size_t)c * ars) + i;
#pragma GCC unroll 2
            for (int k = 0; k < P; k++)
                sumi[k][c] = _mm512_setzero_si512();
        }
        for (int s = 0; s < 16; s++)
            k_subblock(p, psz, P, a, C, s, 4, K16_SC, true, sumi);
        k_scale(p, psz, P, K16_D, a, C, sumi, f);
    }
    tile_store(P, C, f, y, ys, m);
}

/* ---- drivers: all activation rows, C at a time (C and P constants in each
 * instance, so the tile lives in registers): one panel, C1 rows per tile;
 * two panels (32 weight rows), C2, or 0 where a 32-row tile would not fit
 * the registers with enough activation rows to pay (Q4_K / Q5_K) */

#define TILE_CASE(tile, P, C)                                                                      \
    case C:                                                                                        \
        tile(panel, psz, P, nb, pa + (size_t)j * ars, ars, C, y + j * ys, ys, m);                  \
        break;

#define DEFINE_RUN(name, tile, blk, C1, C2)                                                        \
    static void name(const void *panel, size_t psz, int np, int64_t n, const void *act,            \
                     size_t ars, int64_t nact, float *y, int64_t ys, int rows)                     \
    {                                                                                              \
        const int r1 = rows > 16 ? 16 : rows, r2 = rows > 16 ? rows - 16 : 0;                      \
        const __mmask16 m[2] = {(__mmask16)((1u << r1) - 1), (__mmask16)((1u << r2) - 1)};         \
        const char *pa = act;                                                                      \
        const int64_t nb = n / (blk);                                                              \
        int64_t j = 0;                                                                             \
        if (np == 2 && (C2) == 0) { /* no two-panel tile: one panel at a time */                   \
            name(panel, psz, 1, n, act, ars, nact, y, ys, 16);                                     \
            name((const char *)panel + psz, psz, 1, n, act, ars, nact, y + 16, ys, rows - 16);     \
            return;                                                                                \
        }                                                                                          \
        if (np == 2) { /* here C2 > 0 */                                                           \
            for (; (C2) > 0 && j + (C2) <= nact; j += (C2))                                        \
                tile(panel, psz, 2, nb, pa + (size_t)j * ars, ars, C2, y + j * ys, ys, m);         \
            for (; j < nact; j++)                                                                  \
                tile(panel, psz, 2, nb, pa + (size_t)j * ars, ars, 1, y + j * ys, ys, m);          \
            return;                                                                                \
        }                                                                                          \
        for (; j + (C1) <= nact; j += (C1))                                                        \
            tile(panel, psz, 1, nb, pa + (size_t)j * ars, ars, C1, y + j * ys, ys, m);             \
        switch (nact - j) {                                                                        \
            TILE_CASE(tile, 1, 7)                                                                  \
            TILE_CASE(tile, 1, 6)                                                                  \
            TILE_CASE(tile, 1, 5)                                                                  \
            TILE_CASE(tile, 1, 4)                                                                  \
            TILE_CASE(tile, 1, 3)                                                                  \
            TILE_CASE(tile, 1, 2)                                                                  \
            TILE_CASE(tile, 1, 1)                                                                  \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
    }

DEFINE_RUN(run_a, tile_a, 32, 8, 6)
DEFINE_RUN(run_k32, tile_k32, QK_K, 8, 0)
DEFINE_RUN(run_k16, tile_k16, QK_K, 8, 4)

static const struct aios_panel panel_q4_0 = {act_a_size, act_q4_0, panel_a_size, pack_q4_0, run_a};
static const struct aios_panel panel_q8_0 = {act_a_size, act_q8_0, panel_a_size, pack_q8_0, run_a};
static const struct aios_panel panel_q4_K = {act_k_size, act_k, panel_k32_size, pack_q4_K, run_k32};
static const struct aios_panel panel_q5_K = {act_k_size, act_k, panel_k32_size, pack_q5_K, run_k32};
static const struct aios_panel panel_q6_K = {act_k_size, act_k, panel_k16_size, pack_q6_K, run_k16};

const struct aios_panel *aios_tensor_avx512_panel(uint32_t type)
{
    switch (type) {
    case AIOS_GGML_Q4_0:
        return &panel_q4_0;
    case AIOS_GGML_Q8_0:
        return &panel_q8_0;
    case AIOS_GGML_Q4_K:
        return &panel_q4_K;
    case AIOS_GGML_Q5_K:
        return &panel_q5_K;
    case AIOS_GGML_Q6_K:
        return &panel_q6_K;
    default:
        return NULL;
    }
}
