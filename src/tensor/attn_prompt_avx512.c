/*
 * Attention for many query rows at once (prompt processing), AVX-512.
 *
 * The query rows that share a KV head go sixteen at a time (lane l = one
 * query head of one token: with four heads per KV head, four tokens x four
 * heads), so every key and value element loaded is used by sixteen rows:
 *   1. scores: S[j][l] = q_l . k_j for the keys any row of the tile sees,
 *      one FMA per key element against the transposed query tile;
 *   2. softmax down each lane (max, exp, sum in double, scale) with the
 *      causal mask and ALiBi bias applied per lane, no horizontal work;
 *   3. out_l = sum_j P[j][l] v_j, sixteen dimensions x sixteen rows in
 *      registers per pass over the keys.
 * The keys and values of a KV head are converted to F32 once for all tiles.
 * The arithmetic is the reference's (ops.c) and ggml's without flash
 * attention: the query rounded to F16 for an F16 cache, the scores scaled
 * then biased, the softmax sum in double, the probabilities rounded to F16
 * for the V product; only the order of float additions differs.
 */
#include "tensor/avx512_util.h"
#include "tensor/tensor.h"

#include <math.h>
#include <string.h>

#define L 16 /* query rows per tile */

static inline __m512 round_f16x16(__m512 x)
{
    return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

struct tile {
    int64_t tok[L], head[L]; /* query row (token index) and head of each lane */
    __mmask16 valid;
};

/* Scores of one tile against keys [0, nk) of kf (rows of d floats, padded
 * to a multiple of 16 with zeros): S[j * 16 + l], scaled, biased, masked. */
static void tile_scores(const float *qt, const float *kf, int64_t d, int64_t nk, __m512 scale,
                        __m512 slope, __m512i pos, __m512i lim, float *S)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t j0 = 0; j0 < nk; j0 += 16) {
        __m512 acc[16];
        for (int jj = 0; jj < 16; jj++)
            acc[jj] = _mm512_setzero_ps();
        const float *kb = kf + j0 * d;
        for (int64_t t = 0; t < d; t++) {
            const __m512 qv = _mm512_loadu_ps(qt + t * L);
#pragma GCC unroll 16
            for (int jj = 0; jj < 16; jj++)
                acc[jj] = _mm512_fmadd_ps(qv, _mm512_set1_ps(kb[jj * d + t]), acc[jj]);
        }
        const int64_t je = nk - j0 < 16 ? nk - j0 : 16;
        for (int jj = 0; jj < je; jj++) {
            const int64_t j = j0 + jj;
            const __m512i jv = _mm512_set1_epi32((int)j);
            /* ALiBi: slope x -|pos - j| (slope 0 without ALiBi) */
            const __m512 dist = _mm512_cvtepi32_ps(_mm512_abs_epi32(_mm512_sub_epi32(pos, jv)));
            const __m512 bias = _mm512_mul_ps(slope, _mm512_sub_ps(_mm512_setzero_ps(), dist));
            __m512 s = _mm512_fmadd_ps(acc[jj], scale, bias);
            s = _mm512_mask_mov_ps(ninf, _mm512_cmpgt_epi32_mask(lim, jv), s);
            _mm512_storeu_ps(S + j * L, s);
        }
    }
}

/* Softmax down each lane of S[0..nk) in place; P rounded to F16 if f16. */
static void tile_softmax(float *S, int64_t nk, bool f16)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < nk; j++)
        mx = _mm512_max_ps(mx, _mm512_loadu_ps(S + j * L));
    /* a lane that sees no key (invalid lanes) gets zeros */
    const __mmask16 live = _mm512_cmp_ps_mask(mx, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ);
    mx = _mm512_maskz_mov_ps(live, mx);
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    for (int64_t j = 0; j < nk; j++) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(S + j * L), mx));
        _mm512_storeu_ps(S + j * L, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    const __m512d one = _mm512_set1_pd(1.0);
    const __m256 i0 = _mm512_cvtpd_ps(_mm512_div_pd(one, s0));
    const __m256 i1 = _mm512_cvtpd_ps(_mm512_div_pd(one, s1));
    __m512 inv = _mm512_insertf32x8(_mm512_castps256_ps512(i0), i1, 1);
    inv = _mm512_maskz_mov_ps(live, inv);
    for (int64_t j = 0; j < nk; j++) {
        __m512 p = _mm512_mul_ps(_mm512_loadu_ps(S + j * L), inv);
        if (f16)
            p = round_f16x16(p);
        _mm512_storeu_ps(S + j * L, p);
    }
}

/* out rows of the tile = sum_j P[j][l] v_j, sixteen dimensions at a time. */
static void tile_pv(const float *P, const float *vf, int64_t d, int64_t nk, float *out,
                    const struct tile *tl, int64_t n_head)
{
    for (int64_t t0 = 0; t0 < d; t0 += 16) {
        __m512 acc[L];
        for (int l = 0; l < L; l++)
            acc[l] = _mm512_setzero_ps();
        for (int64_t j = 0; j < nk; j++) {
            const __m512 v = _mm512_loadu_ps(vf + j * d + t0);
            const float *pj = P + j * L;
#pragma GCC unroll 16
            for (int l = 0; l < L; l++)
                acc[l] = _mm512_fmadd_ps(_mm512_set1_ps(pj[l]), v, acc[l]);
        }
        for (int l = 0; l < L; l++)
            if (tl->valid >> l & 1)
                _mm512_storeu_ps(out + (tl->tok[l] * n_head + tl->head[l]) * d + t0, acc[l]);
    }
}

/* Rows [0, n) of one KV head's keys or values as F32 rows of d, zeros up to
 * the next multiple of 16. */
static void to_f32(const void *src, bool f16, int64_t stride, int64_t n, int64_t d, float *dst)
{
    for (int64_t j = 0; j < n; j++) {
        float *o = dst + j * d;
        if (f16) {
            const uint16_t *s = (const uint16_t *)src + j * stride;
            int64_t t = 0;
            for (; t + 16 <= d; t += 16)
                _mm512_storeu_ps(o + t, _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(s + t))));
            for (; t < d; t++)
                o[t] = fp16_to_f32(s[t]);
        } else {
            memcpy(o, (const float *)src + j * stride, sizeof(float) * (size_t)d);
        }
    }
    const int64_t pad = (n + 15) / 16 * 16;
    memset(dst + n * d, 0, sizeof(float) * (size_t)((pad - n) * d));
}

bool aios_tensor_avx512_attn_heads(const struct aios_attn_args *a, const float *q, const void *k,
                                   const void *v, float *out, int64_t h0, int64_t h1)
{
    const int64_t d = a->head_dim, group = a->n_head / a->n_head_kv, n_kv = a->n_kv;
    const int64_t gl = group < L ? group : L; /* heads per tile */
    const int64_t per_tile = L / gl;          /* tokens per tile */
    if (d % 16 || a->n_q < per_tile)
        return false;
    const bool f16 = a->kv_type == AIOS_GGML_F16;
    const int64_t pad = (n_kv + 15) / 16 * 16;
    float *kf = aios_malloc(sizeof(float) * (size_t)(pad * d));
    float *vf = aios_malloc(sizeof(float) * (size_t)(pad * d));
    float *S = aios_malloc(sizeof(float) * (size_t)(pad * L));
    float *qt = aios_malloc(sizeof(float) * (size_t)(d * L));
    if (!kf || !vf || !S || !qt) {
        aios_free(kf);
        aios_free(vf);
        aios_free(S);
        aios_free(qt);
        return false;
    }
    const size_t esz = f16 ? 2 : 4;
    /* keys any query row sees */
    const int64_t n_need = a->causal && a->q_pos0 + a->n_q < n_kv ? a->q_pos0 + a->n_q : n_kv;
    const __m512 scale = _mm512_set1_ps(a->scale);
    for (int64_t hk = h0 / group; hk * group < h1; hk++) {
        const int64_t hs = hk * group > h0 ? hk * group : h0;
        const int64_t he = (hk + 1) * group < h1 ? (hk + 1) * group : h1;
        to_f32((const char *)k + (size_t)(hk * d) * esz, f16, a->kv_stride, n_need, d, kf);
        to_f32((const char *)v + (size_t)(hk * d) * esz, f16, a->kv_stride, n_need, d, vf);
        for (int64_t hb = hs; hb < he; hb += gl) {
            const int64_t ng = he - hb < gl ? he - hb : gl;
            for (int64_t i0 = 0; i0 < a->n_q; i0 += per_tile) {
                struct tile tl = {.valid = 0};
                float slope[L] = {0};
                int32_t pos[L] = {0}, lim[L] = {0};
                int64_t nk = 0;
                for (int l = 0; l < L; l++) {
                    const int64_t tok = i0 + l / ng, h = hb + l % ng;
                    tl.tok[l] = tok;
                    tl.head[l] = h;
                    if (l >= per_tile * ng || tok >= a->n_q)
                        continue; /* lane unused: limit 0 masks every key */
                    tl.valid |= (__mmask16)(1u << l);
                    const int64_t p = a->q_pos0 + tok;
                    const int64_t lk = a->causal && p + 1 < n_kv ? p + 1 : n_kv;
                    pos[l] = (int32_t)p;
                    lim[l] = (int32_t)lk;
                    nk = lk > nk ? lk : nk;
                    if (a->max_bias > 0)
                        slope[l] = aios_tensor_alibi_slope(h, a->n_head, a->max_bias);
                    const float *qr = q + tok * aios_attn_q_stride(a) + h * d;
                    for (int64_t t0 = 0; t0 < d; t0 += 16) {
                        float tmp[16];
                        __m512 qv = _mm512_loadu_ps(qr + t0);
                        _mm512_storeu_ps(tmp, f16 ? round_f16x16(qv) : qv);
                        for (int t = 0; t < 16; t++)
                            qt[(t0 + t) * L + l] = tmp[t];
                    }
                }
                for (int l = 0; l < L; l++)
                    if (!(tl.valid >> l & 1))
                        for (int64_t t = 0; t < d; t++)
                            qt[t * L + l] = 0;
                tile_scores(qt, kf, d, nk, scale, _mm512_loadu_ps(slope),
                            _mm512_loadu_si512((const void *)pos),
                            _mm512_loadu_si512((const void *)lim), S);
                tile_softmax(S, nk, f16);
                tile_pv(S, vf, d, nk, out, &tl, a->n_head);
            }
        }
    }
    aios_free(kf);
    aios_free(vf);
    aios_free(S);
    aios_free(qt);
    return true;
}
