/* tensor: element-wise operations and attention against direct
 * double-precision formulas. Tolerances are stated per check. */
#include "tensor/quant.h"
#include "test.h"

static uint64_t rng_state = 0x853c49e6748fea9bull;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) * 0x1p-53 * 2 - 1);
}

static void test_norms(void)
{
    float x[301], w[301], b[301], y[301];
    for (int i = 0; i < 301; i++) {
        x[i] = frand() * 3 + 0.5f;
        w[i] = 1 + frand() * 0.1f;
        b[i] = frand() * 0.2f;
    }
    double ss = 0, s = 0;
    for (int i = 0; i < 301; i++) {
        ss += (double)x[i] * x[i];
        s += x[i];
    }
    aios_tensor_rms_norm(x, w, y, 301, 1e-5f);
    double sc = 1 / sqrt(ss / 301 + 1e-5);
    for (int i = 0; i < 301; i++) /* float rounding of a few operations: 1e-6 relative */
        CHECK_NEAR(y[i], x[i] * sc * w[i], 1e-6 * fabs(x[i] * sc * w[i]) + 1e-7);
    double mean = s / 301, var = 0;
    for (int i = 0; i < 301; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= 301;
    aios_tensor_layer_norm(x, w, b, y, 301, 1e-12f);
    for (int i = 0; i < 301; i++) {
        double want = (x[i] - mean) / sqrt(var + 1e-12) * w[i] + b[i];
        CHECK_NEAR(y[i], want, 1e-5);
    }
    /* in place, no weights: mean 0 and variance 1 */
    float z[64];
    for (int i = 0; i < 64; i++)
        z[i] = (float)i;
    aios_tensor_layer_norm(z, NULL, NULL, z, 64, 0);
    double m = 0, v = 0;
    for (int i = 0; i < 64; i++)
        m += z[i];
    for (int i = 0; i < 64; i++)
        v += z[i] * z[i];
    CHECK_NEAR(m / 64, 0, 1e-6);
    CHECK_NEAR(v / 64, 1, 1e-5);
}

/* RoPE against cos/sin in double of pos * base^(-2i/n_rot) / ff. The float
 * angle recurrence loses ~1e-7 relative per step, so at position 300 the
 * angle error stays below 1e-3 rad: tolerance 2e-3 on unit-size values. */
static void rope_case(enum aios_rope_mode mode, int64_t head_dim, int64_t n_rot, const float *ff)
{
    const int64_t n_head = 3, pos = 300;
    float x[3 * 64], orig[3 * 64];
    for (int i = 0; i < n_head * head_dim; i++)
        x[i] = orig[i] = frand();
    aios_tensor_rope(x, n_head, head_dim, n_rot, pos, mode, 10000.f, 1.0f, ff);
    for (int64_t h = 0; h < n_head; h++) {
        const float *o = orig + h * head_dim, *r = x + h * head_dim;
        for (int64_t i = 0; i < n_rot / 2; i++) {
            double th = (double)pos * pow(10000.0, -2.0 * (double)i / (double)n_rot);
            if (ff)
                th /= ff[i];
            int64_t a = mode == AIOS_ROPE_NEOX ? i : 2 * i;
            int64_t b = mode == AIOS_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
            double w0 = o[a] * cos(th) - o[b] * sin(th);
            double w1 = o[a] * sin(th) + o[b] * cos(th);
            CHECK_MSG(fabs(r[a] - w0) < 2e-3 && fabs(r[b] - w1) < 2e-3,
                      "mode %d head %lld pair %lld: (%g, %g) vs (%g, %g)", (int)mode, (long long)h,
                      (long long)i, r[a], r[b], w0, w1);
        }
        for (int64_t i = n_rot; i < head_dim; i++) /* partial rotation leaves the rest */
            CHECK(r[i] == o[i]);
    }
}

static void test_rope(void)
{
    rope_case(AIOS_ROPE_NORMAL, 64, 64, NULL);
    rope_case(AIOS_ROPE_NEOX, 64, 64, NULL);
    rope_case(AIOS_ROPE_NORMAL, 64, 32, NULL); /* chatglm: 32 of 64 */
    rope_case(AIOS_ROPE_NEOX, 64, 32, NULL);
    float ff[32];
    for (int i = 0; i < 32; i++)
        ff[i] = 1.0f + (float)i / 4; /* Llama 3 rope_freqs style factors */
    rope_case(AIOS_ROPE_NORMAL, 64, 64, ff);
    /* position 0 is the identity */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    memcpy(y, x, sizeof x);
    aios_tensor_rope(y, 1, 8, 8, 0, AIOS_ROPE_NEOX, 1e6f, 1.0f, NULL);
    CHECK(memcmp(x, y, sizeof x) == 0);
}

static void test_activations(void)
{
    float x[7] = {-12, -3, -1, 0, 0.5f, 1, 11}, y[7];
    aios_tensor_silu(x, y, 7);
    for (int i = 0; i < 7; i++)
        CHECK_NEAR(y[i], x[i] / (1 + exp(-(double)x[i])), 1e-6);
    aios_tensor_gelu(x, y, 7);
    for (int i = 0; i < 7; i++) {
        double t =
            0.5 * x[i] * (1 + tanh(0.7978845608028654 * x[i] * (1 + 0.044715 * x[i] * x[i])));
        CHECK_NEAR(y[i], t, 1e-6);
    }
    CHECK_NEAR(y[5], 0.841192, 1e-6); /* gelu(1), tanh approximation */
    /* The F16-table GELU: F16 input and output, 0 below -10, identity above 10. */
    float g[7];
    aios_tensor_gelu_f16(x, g, 7);
    CHECK(g[0] == 0.0f);
    CHECK(g[6] == 11.0f);
    for (int i = 1; i < 6; i++) {
        float want = aios_fp16_to_fp32(aios_fp32_to_fp16(y[i])); /* inputs are exact in F16 */
        CHECK_NEAR(g[i], want, 0);
    }
    float in = 0.1234567f, out;
    aios_tensor_gelu_f16(&in, &out, 1); /* input rounded to F16 first */
    float r = aios_fp16_to_fp32(aios_fp32_to_fp16(in)), gr;
    aios_tensor_gelu(&r, &gr, 1);
    CHECK_NEAR(out, aios_fp16_to_fp32(aios_fp32_to_fp16(gr)), 0);

    float s[5] = {1, 2, 3, -INFINITY, 0};
    aios_tensor_softmax(s, 5);
    double e = exp(1) + exp(2) + exp(3) + exp(0);
    CHECK_NEAR(s[0], exp(1) / e, 1e-7);
    CHECK_NEAR(s[2], exp(3) / e, 1e-7);
    CHECK(s[3] == 0.0f);
    float allmasked[2] = {-INFINITY, -INFINITY};
    aios_tensor_softmax(allmasked, 2);
    CHECK(allmasked[0] == 0 && allmasked[1] == 0);

    float a[3] = {1, 2, 3}, b[3] = {4, 5, 6}, c[3];
    aios_tensor_add(a, b, c, 3);
    CHECK(c[2] == 9);
    aios_tensor_mul(a, b, c, 3);
    CHECK(c[1] == 10);
    aios_tensor_scale(a, 0.5f, c, 3);
    CHECK(c[2] == 1.5f);
    CHECK_NEAR(aios_tensor_dot_f32(a, b, 3), 32, 0);
}

/* The AVX2 softmax and SiLU against the scalar references: the vector exp
 * is within 2 ulp of expf, so 1e-6 relative (about 8 ulp) on each value. */
static void test_vector_exp(void)
{
    if (!(aios_cpu_get()->avx2 && aios_cpu_get()->fma))
        return;
    enum { N = 1027 };
    float *a = aios_malloc(N * 4), *b = aios_malloc(N * 4), *x = aios_malloc(N * 4);
    for (int i = 0; i < N; i++)
        x[i] = frand() * 30;
    x[7] = -INFINITY; /* masked */
    x[8] = -200;      /* underflows to 0 */
    memcpy(a, x, N * 4);
    memcpy(b, x, N * 4);
    aios_tensor_softmax_ref(a, N);
    aios_tensor_avx2_softmax(b, N);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += !(fabs(a[i] - b[i]) <= 1e-6 * fabs(a[i]) + 1e-30);
    CHECK_EQ_INT(bad, 0);
    CHECK(b[7] == 0);
    for (int i = 0; i < N; i++)
        x[i] = frand() * 100; /* SiLU over [-100, 100]: exp over and underflow */
    aios_tensor_silu_ref(x, a, N);
    aios_tensor_avx2_silu(x, b, N);
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += !(fabs(a[i] - b[i]) <= 1e-6 * fabs(a[i]) + 1e-30);
    CHECK_EQ_INT(bad, 0);
    float big[8] = {-100, -90, -88, 0, 20, 87, 88, 89}, out[8];
    aios_tensor_avx2_silu(big, out, 8);
    CHECK(out[0] == 0.0f || fabs(out[0]) < 1e-30); /* -100 / (1 + e^100) */
    CHECK_NEAR(out[7], 89, 1e-5);
    aios_free(a);
    aios_free(b);
    aios_free(x);
}

static void test_alibi(void)
{
    /* fixtures/models/README: 2 heads, max_bias 8 -> 1/16 and 1/256 */
    CHECK_NEAR(aios_tensor_alibi_slope(0, 2, 8), 1.0 / 16, 1e-9);
    CHECK_NEAR(aios_tensor_alibi_slope(1, 2, 8), 1.0 / 256, 1e-9);
    /* 6 heads: n2 = 4, m0 = 2^-2, m1 = 2^-1 -> h4: m1^1, h5: m1^3 */
    CHECK_NEAR(aios_tensor_alibi_slope(3, 6, 8), pow(0.25, 4), 1e-9);
    CHECK_NEAR(aios_tensor_alibi_slope(4, 6, 8), 0.5, 1e-9);
    CHECK_NEAR(aios_tensor_alibi_slope(5, 6, 8), 0.125, 1e-9);
}

/* Attention against a double-precision loop. F32 KV: 1e-5 absolute on
 * outputs of size ~1. F16 KV: the kernel rounds K, V, q and the
 * probabilities to F16 (as ggml does) while the loop does not: 5e-3. */
/* n_kv keys (up to 40: past the 8-key blocks of the SIMD score kernel),
 * head_dim d up to 64, 4 query heads at most, 2 KV heads at most. */
static void attn_case_n(bool causal, float max_bias, uint32_t kv_type, int64_t n_head,
                        int64_t n_head_kv, int64_t d, int64_t n_kv)
{
    const int64_t n_q = 3, pos0 = n_kv - 3;
    static float q[3 * 4 * 64], kf[40 * 2 * 64], vf[40 * 2 * 64], out[3 * 4 * 64], scratch[40];
    static uint16_t kh[40 * 2 * 64], vh[40 * 2 * 64];
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        q[i] = frand();
    for (size_t i = 0; i < sizeof kf / sizeof kf[0]; i++) {
        kf[i] = frand();
        vf[i] = frand();
        kh[i] = aios_fp32_to_fp16(kf[i]);
        vh[i] = aios_fp32_to_fp16(vf[i]);
    }
    struct aios_attn_args a = {
        .n_q = n_q,
        .n_kv = n_kv,
        .n_head = n_head,
        .n_head_kv = n_head_kv,
        .head_dim = d,
        .q_pos0 = pos0,
        .causal = causal,
        .scale = 0.25f,
        .max_bias = max_bias,
        .kv_type = kv_type,
        .kv_stride = n_head_kv * d,
    };
    bool f16 = kv_type == AIOS_GGML_F16;
    CHECK_EQ_INT(aios_tensor_attention(&a, q, f16 ? (void *)kh : kf, f16 ? (void *)vh : vf, out,
                                       scratch, NULL),
                 AIOS_OK);
    /* The threaded version computes each head the same way: identical bytes. */
    static float out_mt[3 * 4 * 64];
    aios_pool *pool = aios_pool_create(3);
    CHECK_EQ_INT(aios_tensor_attention_mt(pool, &a, q, f16 ? (void *)kh : kf, f16 ? (void *)vh : vf,
                                          out_mt, NULL),
                 AIOS_OK);
    aios_pool_destroy(pool);
    CHECK(memcmp(out, out_mt, (size_t)(n_q * n_head * d) * sizeof(float)) == 0);
    for (int64_t h = 0; h < n_head; h++) {
        int64_t hk = h / (n_head / n_head_kv);
        double slope = max_bias > 0 ? aios_tensor_alibi_slope(h, n_head, max_bias) : 0;
        for (int64_t i = 0; i < n_q; i++) {
            double sc[40], mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < n_kv; j++) {
                if (causal && j > pos0 + i) {
                    sc[j] = -INFINITY;
                    continue;
                }
                double dd = 0;
                for (int64_t t = 0; t < d; t++)
                    dd += (double)q[(i * n_head + h) * d + t] * kf[(j * n_head_kv + hk) * d + t];
                sc[j] = dd * 0.25 - slope * fabs((double)(pos0 + i - j));
                if (sc[j] > mx)
                    mx = sc[j];
            }
            for (int64_t j = 0; j < n_kv; j++) {
                sc[j] = sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                sum += sc[j];
            }
            for (int64_t t = 0; t < d; t++) {
                double o = 0;
                for (int64_t j = 0; j < n_kv; j++)
                    o += sc[j] / sum * vf[(j * n_head_kv + hk) * d + t];
                float got = out[(i * n_head + h) * d + t];
                CHECK_MSG(fabs(got - o) < (f16 ? 5e-3 : 1e-5),
                          "causal %d bias %g f16 %d h %lld i %lld t %lld: %g vs %g", causal,
                          max_bias, f16, (long long)h, (long long)i, (long long)t, got, o);
            }
        }
    }
}

static void attn_case(bool causal, float max_bias, uint32_t kv_type, int64_t n_head,
                      int64_t n_head_kv, int64_t d)
{
    attn_case_n(causal, max_bias, kv_type, n_head, n_head_kv, d, 7);
}

/* Every SIMD attention path this CPU has (AVX2, AVX-512) against the scalar
 * reference path on shapes that exercise their edges: key counts that are
 * not multiples of the 8- and 16-key blocks (1, 7, 17, 45, 100), head sizes
 * 64, 128 and 80 (80 = five 16-wide chunks; 72 ends in a masked chunk), GQA
 * groups of 1, 3, 4, 7 and 8 query heads per KV head (the AVX-512 scores
 * go in head blocks of 8/4/2/1, values in blocks of 4), one query row
 * (decode) and three (prompt), F32 and F16 KV, causal and not, ALiBi.
 * Tolerances, absolute on outputs of magnitude < 1: F32 KV 2e-6, the paths
 * differing only in the order of F32 sums (measured 1.8e-7). F16 KV 2e-4:
 * both paths round each probability to F16, and one that lies within the
 * F32 error of a rounding boundary rounds the other way in one path, moving
 * the output by 2^-11 of that probability (measured 1.5e-5). A wrong or
 * missing key (weight ~1/n_kv) or head moves outputs by more than 1e-3. */
static float *attn_run(const struct aios_attn_args *a, const float *q, const void *k, const void *v,
                       int isa)
{
    size_t n = (size_t)(a->n_q * a->n_head * a->head_dim);
    float *out = aios_malloc(n * sizeof(float)), *scratch = aios_malloc((size_t)a->n_kv * 4);
    CHECK(out && scratch);
    for (size_t i = 0; out && i < n; i++)
        out[i] = NAN;
    CHECK_EQ_INT(aios_tensor_attention_isa(a, q, k, v, out, scratch, isa, NULL), AIOS_OK);
    aios_free(scratch);
    return out;
}

static void attn_paths_case(int64_t n_q, int64_t n_kv, int64_t n_head, int64_t n_head_kv, int64_t d,
                            bool f16, bool causal, float max_bias)
{
    const int64_t kvd = n_head_kv * d + 3; /* a row stride wider than the heads */
    const int64_t qst = n_head * d + 5;    /* and query rows further apart than theirs */
    float *q = aios_malloc((size_t)(n_q * qst) * 4);
    float *kf = aios_malloc((size_t)(n_kv * kvd) * 4), *vf = aios_malloc((size_t)(n_kv * kvd) * 4);
    uint16_t *kh = aios_malloc((size_t)(n_kv * kvd) * 2),
             *vh = aios_malloc((size_t)(n_kv * kvd) * 2);
    if (!q || !kf || !vf || !kh || !vh) {
        CHECK(0);
        return;
    }
    for (int64_t i = 0; i < n_q * qst; i++)
        q[i] = frand();
    for (int64_t i = 0; i < n_kv * kvd; i++) {
        kf[i] = frand();
        vf[i] = frand();
        kh[i] = aios_fp32_to_fp16(kf[i]);
        vh[i] = aios_fp32_to_fp16(vf[i]);
    }
    struct aios_attn_args a = {
        .n_q = n_q,
        .n_kv = n_kv,
        .n_head = n_head,
        .n_head_kv = n_head_kv,
        .head_dim = d,
        .q_pos0 = n_kv - n_q,
        .causal = causal,
        .scale = 1.0f / sqrtf((float)d),
        .max_bias = max_bias,
        .kv_type = f16 ? AIOS_GGML_F16 : AIOS_GGML_F32,
        .kv_stride = kvd,
        .q_stride = qst,
    };
    const void *k = f16 ? (const void *)kh : kf, *v = f16 ? (const void *)vh : vf;
    float *ref = attn_run(&a, q, k, v, AIOS_ISA_REF);
    const double tol = f16 ? 2e-4 : 2e-6;
    for (int isa = AIOS_ISA_AVX2; isa <= aios_tensor_isa_level(); isa++) {
        float *got = attn_run(&a, q, k, v, isa);
        double worst = 0;
        for (int64_t i = 0; ref && got && i < n_q * n_head * d; i++) {
            double e = fabs((double)got[i] - ref[i]);
            if (!(e <= worst)) /* NaN (an output never written) counts as worst */
                worst = isnan(e) ? INFINITY : e;
        }
        CHECK_MSG(worst <= tol,
                  "isa %d n_q %lld n_kv %lld heads %lld/%lld d %lld f16 %d causal %d bias %g: "
                  "max error %g",
                  isa, (long long)n_q, (long long)n_kv, (long long)n_head, (long long)n_head_kv,
                  (long long)d, f16, causal, max_bias, worst);
        aios_free(got);
    }
    aios_free(ref);
    aios_free(q);
    aios_free(kf);
    aios_free(vf);
    aios_free(kh);
    aios_free(vh);
}

static void test_attention_paths(void)
{
    static const int64_t nkv[] = {1, 7, 17, 45, 100};
    static const int64_t dims[] = {64, 128, 80, 72};
    static const int64_t groups[][2] = {{4, 4}, {12, 4}, {8, 2}, {14, 2}, {16, 2}};
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
            for (size_t ni = 0; ni < sizeof nkv / sizeof nkv[0]; ni++)
                for (int f16 = 0; f16 < 2; f16++) {
                    int64_t n_q = nkv[ni] >= 3 && (ni + di + gi) % 2 ? 3 : 1;
                    bool causal = (ni + gi) % 3 != 0;
                    float bias = (di + ni) % 4 == 1 ? 8.0f : 0.0f;
                    attn_paths_case(n_q, nkv[ni], groups[gi][0], groups[gi][1], dims[di], f16,
                                    causal, bias);
                }
}

static void test_attention(void)
{
    attn_case_n(true, 0, AIOS_GGML_F32, 4, 2, 64, 37); /* 8-key blocks plus a tail */
    attn_case_n(true, 0, AIOS_GGML_F16, 4, 1, 64, 40);
    attn_case_n(false, 8, AIOS_GGML_F16, 2, 2, 24, 33);
    attn_case_n(true, 0, AIOS_GGML_F32, 4, 2, 20, 39); /* d not a multiple of 8: no blocks */
    attn_case(true, 0, AIOS_GGML_F32, 4, 2, 16);       /* causal, GQA */
    attn_case(false, 0, AIOS_GGML_F32, 2, 2, 16);      /* bidirectional (bert) */
    attn_case(true, 8, AIOS_GGML_F32, 2, 2, 16);       /* ALiBi (baichuan 13b) */
    attn_case(true, 0, AIOS_GGML_F16, 4, 2, 16);       /* F16 KV */
    attn_case(true, 8, AIOS_GGML_F16, 4, 1, 16);       /* F16 KV, ALiBi, MQA */
    attn_case(true, 0, AIOS_GGML_F32, 4, 2, 20);       /* head_dim not a multiple of 8 */
    attn_case(false, 0, AIOS_GGML_F16, 2, 1, 20);
    struct aios_attn_args bad = {.n_q = 1,
                                 .n_kv = 1,
                                 .n_head = 3,
                                 .n_head_kv = 2,
                                 .head_dim = 4,
                                 .kv_type = AIOS_GGML_F32,
                                 .kv_stride = 8};
    float z[16] = {0};
    CHECK_EQ_INT(aios_tensor_attention(&bad, z, z, z, z, z, NULL), AIOS_EINVAL);
}

int main(void)
{
    TEST_RUN(test_norms);
    TEST_RUN(test_rope);
    TEST_RUN(test_activations);
    TEST_RUN(test_vector_exp);
    TEST_RUN(test_alibi);
    TEST_RUN(test_attention);
    TEST_RUN(test_attention_paths);
    TEST_EXIT();
}
