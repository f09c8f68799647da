/* tensor: the tiled prompt attention (attn_prompt_avx512.c, sixteen query rows per
 * tile) against a double-precision loop, on shapes that exercise its edges:
 * keys not a multiple of 16, tiles that straddle the causal diagonal, GQA
 * groups of 1, 4, 8 and 32 heads (more heads than lanes), head sizes 64, 80
 * and 128, ALiBi, bidirectional attention, F32 and F16 caches. Tolerances
 * 1e-5 absolute for an F32 cache (outputs are averages of values in
 * [-1, 1], float sums of at most 128 terms). With an F16 cache the loop
 * rounds the query and the probabilities to F16 as the kernel and ggml do;
 * a probability computed in float can still round to the neighbouring F16
 * value (2^-11 relative) where the double one does not, so 1e-4 there --
 * well under the 5e-3 that skipping the roundings costs. */
#include "tensor/quant.h"
#include "tensor/tensor.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / (double)(1ULL << 53) * 2 - 1);
}

struct shape {
    int64_t n_q, n_kv, n_head, n_head_kv, d;
    bool causal;
    float max_bias;
    uint32_t kv_type;
    int64_t qpad; /* floats between query rows beyond n_head x d (fused QKV) */
};

static double r16(double x)
{
    return fp16_to_f32(aios_fp32_to_fp16((float)x));
}

static void run_case(struct shape s)
{
    const int64_t kvs = s.n_head_kv * s.d, nq = s.n_q * s.n_head * s.d;
    const int64_t qs = s.n_head * s.d + s.qpad;
    float *q = aios_malloc(sizeof(float) * (size_t)(s.n_q * qs));
    float *kf = aios_malloc(sizeof(float) * (size_t)(s.n_kv * kvs));
    float *vf = aios_malloc(sizeof(float) * (size_t)(s.n_kv * kvs));
    uint16_t *kh = aios_malloc(2 * (size_t)(s.n_kv * kvs));
    uint16_t *vh = aios_malloc(2 * (size_t)(s.n_kv * kvs));
    float *out = aios_malloc(sizeof(float) * (size_t)nq);
    float *out_mt = aios_malloc(sizeof(float) * (size_t)nq);
    double *sc = aios_malloc(sizeof(double) * (size_t)s.n_kv);
    CHECK(q && kf && vf && kh && vh && out && out_mt && sc);
    for (int64_t i = 0; i < s.n_q * qs; i++)
        q[i] = frand();
    for (int64_t i = 0; i < s.n_kv * kvs; i++) {
        kf[i] = frand();
        vf[i] = frand();
        kh[i] = aios_fp32_to_fp16(kf[i]);
        vh[i] = aios_fp32_to_fp16(vf[i]);
    }
    const bool f16 = s.kv_type == AIOS_GGML_F16;
    if (f16) /* the loop works on the values the cache holds */
        for (int64_t i = 0; i < s.n_kv * kvs; i++) {
            kf[i] = fp16_to_f32(kh[i]);
            vf[i] = fp16_to_f32(vh[i]);
        }
    const int64_t pos0 = s.n_kv - s.n_q;
    struct aios_attn_args a = {
        .n_q = s.n_q,
        .n_kv = s.n_kv,
        .n_head = s.n_head,
        .n_head_kv = s.n_head_kv,
        .head_dim = s.d,
        .q_pos0 = pos0,
        .causal = s.causal,
        .scale = 0.125f,
        .max_bias = s.max_bias,
        .kv_type = s.kv_type,
        .kv_stride = kvs,
        .q_stride = s.qpad ? qs : 0,
    };
    const void *k = f16 ? (const void *)kh : kf, *v = f16 ? (const void *)vh : vf;
    CHECK(aios_tensor_avx512_attn_heads(&a, q, k, v, out, 0, s.n_head));
    /* Through the public entry, heads split over 3 threads (not along KV
     * groups when there are fewer than 3): each lane's arithmetic does not
     * depend on its neighbours, so the bytes are the same. */
    aios_pool *pool = aios_pool_create(3);
    CHECK_EQ_INT(aios_tensor_attention_mt(pool, &a, q, k, v, out_mt, NULL), AIOS_OK);
    aios_pool_destroy(pool);
    CHECK(memcmp(out, out_mt, sizeof(float) * (size_t)nq) == 0);
    int bad = 0;
    double worst = 0;
    for (int64_t h = 0; h < s.n_head; h++) {
        const int64_t hk = h / (s.n_head / s.n_head_kv);
        const double slope = s.max_bias > 0 ? aios_tensor_alibi_slope(h, s.n_head, s.max_bias) : 0;
        for (int64_t i = 0; i < s.n_q; i++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < s.n_kv; j++) {
                if (s.causal && j > pos0 + i) {
                    sc[j] = -INFINITY;
                    continue;
                }
                double dd = 0;
                for (int64_t t = 0; t < s.d; t++) {
                    double qv = q[i * qs + h * s.d + t];
                    dd += (f16 ? r16(qv) : qv) * kf[j * kvs + hk * s.d + t];
                }
                sc[j] = dd * 0.125 - slope * fabs((double)(pos0 + i - j));
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int64_t j = 0; j < s.n_kv; j++) {
                sc[j] = sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                sum += sc[j];
            }
            for (int64_t t = 0; t < s.d; t++) {
                double o = 0;
                for (int64_t j = 0; j < s.n_kv; j++)
                    o += (f16 ? r16(sc[j] / sum) : sc[j] / sum) * vf[j * kvs + hk * s.d + t];
                double e = fabs(out[(i * s.n_head + h) * s.d + t] - o);
                worst = e > worst ? e : worst;
                bad += !(e < (f16 ? 1e-4 : 1e-5));
            }
        }
    }
    if (getenv("AIOS_TEST_VERBOSE"))
        printf("  worst %g\n", worst);
    CHECK_MSG(bad == 0,
              "n_q %lld n_kv %lld heads %lld/%lld d %lld causal %d bias %g f16 %d: %d values off "
              "(worst %g)",
              (long long)s.n_q, (long long)s.n_kv, (long long)s.n_head, (long long)s.n_head_kv,
              (long long)s.d, s.causal, s.max_bias, f16, bad, worst);
    aios_free(q);
    aios_free(kf);
    aios_free(vf);
    aios_free(kh);
    aios_free(vh);
    aios_free(out);
    aios_free(out_mt);
    aios_free(sc);
}

static void test_tiles(void)
{
    if (aios_tensor_isa_level() < AIOS_ISA_AVX512) {
        printf("skip: no AVX-512 on this CPU (the tiled path is never used)\n");
        return;
    }
    const uint32_t F32 = AIOS_GGML_F32, F16 = AIOS_GGML_F16;
    run_case((struct shape){37, 37, 8, 2, 64, true, 0, F32, 0});   /* whole prompt, GQA 4 */
    run_case((struct shape){21, 53, 8, 2, 64, true, 0, F16, 0});   /* a chunk after 32 cached */
    run_case((struct shape){19, 19, 4, 4, 80, true, 0, F32, 0});   /* MHA: 16 tokens per tile */
    run_case((struct shape){9, 30, 16, 2, 128, true, 0, F16, 0});  /* GQA 8: 2 tokens per tile */
    run_case((struct shape){5, 11, 32, 1, 64, true, 0, F32, 0});   /* 32 heads on one KV head */
    run_case((struct shape){18, 18, 4, 4, 64, true, 8, F32, 0});   /* ALiBi */
    run_case((struct shape){17, 17, 4, 2, 64, false, 0, F16, 0});  /* bidirectional (bert) */
    run_case((struct shape){33, 100, 12, 4, 64, true, 0, F16, 0}); /* GQA 3: lanes left over */
    run_case((struct shape){12, 12, 8, 2, 64, true, 0, F32, 256}); /* query rows in fused QKV */
    /* Fewer query rows than a tile: declined, nothing written. */
    struct aios_attn_args small = {.n_q = 2,
                                   .n_kv = 4,
                                   .n_head = 8,
                                   .n_head_kv = 2,
                                   .head_dim = 64,
                                   .causal = true,
                                   .scale = 1,
                                   .kv_type = F32,
                                   .kv_stride = 128};
    static float z[4 * 128], o[2 * 8 * 64];
    o[0] = 42;
    CHECK(!aios_tensor_avx512_attn_heads(&small, z, z, z, o, 0, 8));
    CHECK(o[0] == 42);
    small.n_q = 4;
    small.head_dim = 20; /* not a multiple of 16 */
    small.kv_stride = 40;
    CHECK(!aios_tensor_avx512_attn_heads(&small, z, z, z, o, 0, 8));
}

int main(void)
{
    TEST_RUN(test_tiles);
    TEST_EXIT();
}
