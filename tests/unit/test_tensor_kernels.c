/* tensor: every SIMD kernel against its scalar reference, on sizes chosen to
 * hit edge cases (one block, odd block counts, rows that do not split evenly
 * over threads), and the threaded matmul against a row-by-row reference.
 *
 * Error measure: |simd - ref| / sum_i |w_i * a_i| (the dot product's
 * magnitude scale). The integer parts are exact in both, so only float
 * summation order differs: bound 1e-5 (float epsilon is 6e-8; the longest
 * rows here have 4128 terms, whose worst-case rounding stays below this). */
#include "tensor/quant.h"
#include "test.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) * 0x1p-53 * 2 - 1);
}

static const uint32_t weight_types[] = {
    AIOS_GGML_F32,  AIOS_GGML_F16,  AIOS_GGML_BF16, AIOS_GGML_Q8_0, AIOS_GGML_Q4_0,
    AIOS_GGML_Q4_1, AIOS_GGML_Q5_0, AIOS_GGML_Q5_1, AIOS_GGML_Q2_K, AIOS_GGML_Q3_K,
    AIOS_GGML_Q4_K, AIOS_GGML_Q5_K, AIOS_GGML_Q6_K,
};
#define NTYPES (sizeof weight_types / sizeof weight_types[0])
#define TOL 1e-5

static double magnitude(uint32_t type, const void *wq, const void *aq, int64_t n)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    const struct aios_type_traits *at = aios_tensor_type_traits(t->vec_dot_type);
    float *w = aios_malloc((size_t)n * 4), *a = aios_malloc((size_t)n * 4);
    t->to_float(wq, w, n);
    at->to_float(aq, a, n);
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m += fabs((double)w[i] * a[i]);
    aios_free(w);
    aios_free(a);
    return m > 0 ? m : 1;
}

static void test_vec_dot_isas(void)
{
    int level = aios_tensor_isa_level();
    fprintf(stderr, "  kernel set: %s\n", aios_tensor_isa());
    const int64_t sizes32[] = {32, 96, 128, 352, 4128}; /* 128: 4 blocks end the row */
    const int64_t sizes256[] = {256, 768, 2816};
    for (size_t k = 0; k < NTYPES; k++) {
        uint32_t type = weight_types[k];
        const struct aios_type_traits *t = aios_tensor_type_traits(type);
        bool kq = t->block_size == 256;
        size_t nsz = kq ? 3 : 5;
        for (size_t si = 0; si < nsz; si++) {
            int64_t n = kq ? sizes256[si] : sizes32[si];
            if (t->block_size == 1)
                n += 7; /* float types: a tail that is not a multiple of 8 */
            float *w = aios_malloc((size_t)n * 4), *a = aios_malloc((size_t)n * 4);
            for (int64_t i = 0; i < n; i++) {
                w[i] = frand();
                a[i] = frand() * 4;
            }
            /* exact sizes, so that ASan sees any read past the end of a row */
            void *wq = aios_malloc(aios_tensor_row_size(type, n));
            void *aq = aios_malloc(aios_tensor_row_size(t->vec_dot_type, n));
            t->from_float(w, wq, n);
            aios_tensor_act_quantizer_isa(type, AIOS_ISA_REF)(a, aq, n);
            float ref = 0;
            t->vec_dot(n, &ref, wq, aq);
            double mag = magnitude(type, wq, aq, n);
            for (int isa = 1; isa <= level; isa++) {
                /* activation quantizers: same bytes on every ISA */
                size_t asz = aios_tensor_row_size(t->vec_dot_type, n);
                void *aq2 = aios_malloc(asz);
                aios_tensor_act_quantizer_isa(type, isa)(a, aq2, n);
                CHECK_MSG(memcmp(aq, aq2, asz) == 0, "%s n=%lld isa %d: activation bytes differ",
                          t->name, (long long)n, isa);
                float got = 0;
                aios_tensor_vec_dot_isa(type, isa)(n, &got, wq, aq);
                double err = fabs((double)got - ref) / mag;
                CHECK_MSG(err <= TOL, "%s n=%lld isa %d: %.8g vs ref %.8g (err %.3g)", t->name,
                          (long long)n, isa, got, ref, err);
                aios_free(aq2);
            }
            aios_free(w);
            aios_free(a);
            aios_free(wq);
            aios_free(aq);
        }
    }
}

/* Saturation corners: activations at +-127 and weights at their extremes. */
static void test_extremes(void)
{
    int level = aios_tensor_isa_level();
    const int64_t n = 512;
    float *w = aios_malloc(n * 4), *a = aios_malloc(n * 4);
    for (int64_t i = 0; i < n; i++) {
        w[i] = (i % 3 == 0) ? -1.0f : 1.0f;
        a[i] = (i % 5 == 0) ? -1.0f : 1.0f;
    }
    for (size_t k = 0; k < NTYPES; k++) {
        uint32_t type = weight_types[k];
        const struct aios_type_traits *t = aios_tensor_type_traits(type);
        void *wq = aios_malloc(aios_tensor_row_size(type, n));
        void *aq = aios_malloc(aios_tensor_row_size(t->vec_dot_type, n));
        t->from_float(w, wq, n);
        aios_tensor_act_quantizer_isa(type, AIOS_ISA_REF)(a, aq, n);
        float ref = 0;
        t->vec_dot(n, &ref, wq, aq);
        double mag = magnitude(type, wq, aq, n);
        for (int isa = 1; isa <= level; isa++) {
            float got = 0;
            aios_tensor_vec_dot_isa(type, isa)(n, &got, wq, aq);
            CHECK_MSG(fabs((double)got - ref) / mag <= TOL, "%s isa %d: %.8g vs %.8g", t->name, isa,
                      got, ref);
        }
        aios_free(wq);
        aios_free(aq);
    }
    aios_free(w);
    aios_free(a);
}

/* The four-activation-row kernels (where the ISA has them) against the
 * reference, column by column, same bound. */
static void test_vec_dot4(void)
{
    const int64_t sizes32[] = {128, 160, 4128}, sizes256[] = {256, 2816};
    int tested = 0;
    for (int isa = 0; isa <= aios_tensor_isa_level(); isa++) {
        for (size_t k = 0; k < NTYPES; k++) {
            uint32_t type = weight_types[k];
            aios_vec_dot4_fn dot4 = aios_tensor_vec_dot4_isa(type, isa);
            if (!dot4)
                continue;
            const struct aios_type_traits *t = aios_tensor_type_traits(type);
            bool kq = t->block_size == 256;
            for (size_t si = 0; si < (kq ? 2u : 3u); si++) {
                int64_t n = kq ? sizes256[si] : sizes32[si];
                size_t ars = aios_tensor_row_size(t->vec_dot_type, n);
                float *w = aios_malloc((size_t)n * 4), *a = aios_malloc((size_t)n * 4);
                void *wq = aios_malloc(aios_tensor_row_size(type, n));
                uint8_t *aq = aios_malloc(ars * 4);
                for (int64_t i = 0; i < n; i++)
                    w[i] = frand();
                t->from_float(w, wq, n);
                for (int c = 0; c < 4; c++) {
                    for (int64_t i = 0; i < n; i++)
                        a[i] = frand() * (float)(c + 1);
                    aios_tensor_act_quantizer_isa(type, AIOS_ISA_REF)(a, aq + ars * c, n);
                }
                float s4[4];
                dot4(n, s4, wq, aq, ars);
                for (int c = 0; c < 4; c++) {
                    float ref = 0;
                    t->vec_dot(n, &ref, wq, aq + ars * c);
                    double err = fabs((double)s4[c] - ref) / magnitude(type, wq, aq + ars * c, n);
                    CHECK_MSG(err <= TOL, "%s dot4 n=%lld col %d: %.8g vs %.8g", t->name,
                              (long long)n, c, s4[c], ref);
                }
                tested++;
                aios_free(w);
                aios_free(a);
                aios_free(wq);
                aios_free(aq);
            }
        }
    }
    if (aios_tensor_isa_level() >= AIOS_ISA_AVX512)
        CHECK(tested >= 8); /* Q4_0, Q8_0 x 3 sizes, Q4_K, Q6_K x 2 */
}

/* Kernels that take their activations in a prepared layout (AVX-512 Q4_0,
 * Q4_K and Q5_K):
 * one and four rows against the reference on plain activations. Sizes with
 * no whole group of four blocks, whole groups only, and groups plus a tail. */
static void test_prepared(void)
{
    const int64_t sizes32[] = {96, 128, 160, 4128}, sizes256[] = {256, 768, 2816, 4096};
    int tested = 0;
    for (int isa = 0; isa <= aios_tensor_isa_level(); isa++) {
        for (size_t k = 0; k < NTYPES; k++) {
            uint32_t type = weight_types[k];
            const struct aios_prepared *pp = aios_tensor_prepared_isa(type, isa);
            if (!pp)
                continue;
            const struct aios_type_traits *t = aios_tensor_type_traits(type);
            for (size_t si = 0; si < 4; si++) {
                int64_t n = t->block_size == 256 ? sizes256[si] : sizes32[si];
                size_t prs = pp->row_size(n), ars = aios_tensor_row_size(t->vec_dot_type, n);
                float *w = aios_malloc((size_t)n * 4), *a = aios_malloc((size_t)n * 4 * 4);
                void *wq = aios_malloc(aios_tensor_row_size(type, n));
                uint8_t *pq = aios_malloc(prs * 4), *aq = aios_malloc(ars * 4);
                for (int64_t i = 0; i < n; i++)
                    w[i] = frand();
                for (int64_t i = 0; i < 4 * n; i++)
                    a[i] = frand() * 3;
                t->from_float(w, wq, n);
                for (int c = 0; c < 4; c++) {
                    pp->prepare(a + c * n, pq + prs * c, n);
                    aios_tensor_act_quantizer_isa(type, AIOS_ISA_REF)(a + c * n, aq + ars * c, n);
                }
                float s1, s4[4];
                pp->dot4(n, s4, wq, pq, prs);
                for (int c = 0; c < 4; c++) {
                    float ref = 0;
                    t->vec_dot(n, &ref, wq, aq + ars * c);
                    double mag = magnitude(type, wq, aq + ars * c, n);
                    pp->dot(n, &s1, wq, pq + prs * c);
                    CHECK_MSG(fabs((double)s1 - ref) / mag <= TOL,
                              "%s prepared n=%lld: %.8g vs %.8g", t->name, (long long)n, s1, ref);
                    CHECK_MSG(fabs((double)s4[c] - ref) / mag <= TOL,
                              "%s prepared x4 n=%lld col %d: %.8g vs %.8g", t->name, (long long)n,
                              c, s4[c], ref);
                }
                tested++;
                aios_free(w);
                aios_free(a);
                aios_free(wq);
                aios_free(pq);
                aios_free(aq);
            }
        }
    }
    if (aios_tensor_isa_level() >= AIOS_ISA_AVX512)
        CHECK(tested >= 12);
}

/* matmul over a 3-thread pool (37 rows: uneven split, and a last panel of
 * 5 rows) with nact activation rows (5: row tiles and four-row kernels; 19:
 * packed panels, two full tiles of 8 and a tail of 3) against the reference
 * row by row. */
static void matmul_case(aios_pool *pool, int64_t nact)
{
    for (size_t k = 0; k < NTYPES; k++) {
        uint32_t type = weight_types[k];
        const struct aios_type_traits *t = aios_tensor_type_traits(type);
        const int64_t ncols = t->block_size == 256 ? 512 : 160, nrows = 37;
        size_t rs = aios_tensor_row_size(type, ncols);
        float *wf = aios_malloc((size_t)(nrows * ncols) * 4);
        float *x = aios_malloc((size_t)(nact * ncols) * 4);
        for (int64_t i = 0; i < nrows * ncols; i++)
            wf[i] = frand();
        for (int64_t i = 0; i < nact * ncols; i++)
            x[i] = frand() * 2;
        uint8_t *wq = aios_malloc(rs * (size_t)nrows);
        CHECK_EQ_INT(aios_tensor_quantize(type, wf, wq, nrows, ncols, NULL), AIOS_OK);
        struct aios_tensor_mat m = {type, ncols, nrows, rs, wq};
        float *y = aios_malloc((size_t)(nact * nrows) * 4);
        float *yv = aios_malloc((size_t)nrows * 4);
        CHECK_EQ_INT(aios_tensor_matmul(pool, &m, x, nact, ncols, y, nrows, NULL, 0, NULL),
                     AIOS_OK);
        size_t wsz = aios_tensor_matmul_wsize(type, ncols, 1);
        void *scratch = wsz ? aios_malloc(wsz) : NULL;
        CHECK_EQ_INT(aios_tensor_matvec(NULL, &m, x + 2 * ncols, yv, scratch, wsz, NULL), AIOS_OK);
        void *aq = aios_malloc((size_t)ncols * 4 + 64);
        for (int64_t j = 0; j < nact; j++) {
            aios_tensor_act_quantizer_isa(type, AIOS_ISA_REF)(x + j * ncols, aq, ncols);
            for (int64_t r = 0; r < nrows; r++) {
                float ref = 0;
                t->vec_dot(ncols, &ref, wq + (size_t)r * rs, aq);
                double mag = magnitude(type, wq + (size_t)r * rs, aq, ncols);
                CHECK_MSG(fabs(y[j * nrows + r] - ref) / mag <= TOL, "%s row %lld act %lld",
                          t->name, (long long)r, (long long)j);
                if (j == 2)
                    CHECK_MSG(fabs(yv[r] - ref) / mag <= TOL, "%s matvec row %lld", t->name,
                              (long long)r);
            }
        }
        aios_free(aq);
        aios_free(scratch);
        aios_free(wf);
        aios_free(x);
        aios_free(wq);
        aios_free(y);
        aios_free(yv);
    }
}

static void test_matmul(void)
{
    aios_pool *pool = aios_pool_create(3);
    CHECK(pool != NULL);
    matmul_case(pool, 5);
    matmul_case(pool, 19);
    matmul_case(NULL, 19);
    /* Bad shapes are errors, not crashes. */
    struct aios_tensor_mat bad = {AIOS_GGML_Q4_K, 100, 4, 1000, NULL};
    float xx[100], yy[4];
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_tensor_matvec(pool, &bad, xx, yy, NULL, 0, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "Q4_K") != NULL);
    bad.type = AIOS_GGML_Q8_K; /* activation-only type */
    bad.ncols = 256;
    CHECK_EQ_INT(aios_tensor_matvec(pool, &bad, xx, yy, NULL, 0, NULL), AIOS_EINVAL);
    aios_pool_destroy(pool);
}

/* Several products of one input in one call give the same bytes as one
 * call each (every row is computed the same way whatever the chunking), for
 * a path below and above the panel threshold; mixed types are refused. */
static void test_matmul_n(void)
{
    aios_pool *pool = aios_pool_create(2);
    const uint32_t types[] = {AIOS_GGML_Q4_0, AIOS_GGML_Q6_K, AIOS_GGML_F16};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti];
        const int64_t ncols = 512, rows[3] = {37, 16, 70};
        const size_t rs = aios_tensor_row_size(type, ncols);
        uint8_t *wq[3];
        struct aios_tensor_mat m[3];
        float *x = aios_malloc(sizeof(float) * 19 * (size_t)ncols);
        for (int64_t i = 0; i < 19 * ncols; i++)
            x[i] = frand();
        for (int k = 0; k < 3; k++) {
            float *wf = aios_malloc(sizeof(float) * (size_t)(rows[k] * ncols));
            for (int64_t i = 0; i < rows[k] * ncols; i++)
                wf[i] = frand();
            wq[k] = aios_malloc(rs * (size_t)rows[k]);
            CHECK_EQ_INT(aios_tensor_quantize(type, wf, wq[k], rows[k], ncols, NULL), AIOS_OK);
            m[k] = (struct aios_tensor_mat){type, ncols, rows[k], rs, wq[k]};
            aios_free(wf);
        }
        for (int64_t nact = 1; nact <= 19; nact += 9) {
            float *a[3], *b[3];
            struct aios_tensor_mm mm[3];
            for (int k = 0; k < 3; k++) {
                a[k] = aios_malloc(sizeof(float) * (size_t)(nact * rows[k]));
                b[k] = aios_malloc(sizeof(float) * (size_t)(nact * rows[k]));
                CHECK_EQ_INT(
                    aios_tensor_matmul(pool, &m[k], x, nact, ncols, a[k], rows[k], NULL, 0, NULL),
                    AIOS_OK);
                mm[k] = (struct aios_tensor_mm){&m[k], b[k], rows[k]};
            }
            CHECK_EQ_INT(aios_tensor_matmul_n(pool, mm, 3, x, nact, ncols, NULL, 0, NULL), AIOS_OK);
            for (int k = 0; k < 3; k++) {
                CHECK_MSG(memcmp(a[k], b[k], sizeof(float) * (size_t)(nact * rows[k])) == 0,
                          "type %u product %d nact %lld", type, k, (long long)nact);
                aios_free(a[k]);
                aios_free(b[k]);
            }
        }
        for (int k = 0; k < 3; k++)
            aios_free(wq[k]);
        aios_free(x);
    }
    /* one input, two weight types: an error naming the rule */
    float xx[256] = {0}, y1[4], y2[4];
    uint8_t w1[4 * 144] = {0}, w2[4 * 210] = {0};
    struct aios_tensor_mat m1 = {AIOS_GGML_Q4_K, 256, 4, 144, w1};
    struct aios_tensor_mat m2 = {AIOS_GGML_Q6_K, 256, 4, 210, w2};
    struct aios_tensor_mm mix[2] = {{&m1, y1, 4}, {&m2, y2, 4}};
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_tensor_matmul_n(pool, mix, 2, xx, 1, 256, NULL, 0, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "one weight type") != NULL);
    aios_pool_destroy(pool);
}

int main(void)
{
    TEST_RUN(test_vec_dot_isas);
    TEST_RUN(test_extremes);
    TEST_RUN(test_vec_dot4);
    TEST_RUN(test_prepared);
    TEST_RUN(test_matmul);
    TEST_RUN(test_matmul_n);
    TEST_EXIT();
}
