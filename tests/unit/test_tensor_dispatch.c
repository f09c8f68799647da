/* tensor: AIOS_CPU_DISABLE narrows the kernel set the dispatcher picks, and
 * the narrowed path still agrees with the reference. (A separate program,
 * because the CPU features are read once per process.) */
#include "tensor/quant.h"
#include "test.h"

#include <stdlib.h>

static void test_disable(void)
{
    setenv("AIOS_CPU_DISABLE", "avx512", 1);
    const struct aios_cpu *c = aios_cpu_get();
    CHECK(!c->avx512f);
    CHECK(aios_tensor_isa_level() <= AIOS_ISA_AVX2);
    CHECK(strcmp(aios_tensor_isa(), "avx512") != 0);
    if (c->avx2 && c->fma && c->f16c) {
        CHECK_EQ_INT(aios_tensor_isa_level(), AIOS_ISA_AVX2);
        CHECK(aios_tensor_vec_dot(AIOS_GGML_Q4_0) == aios_tensor_avx2_dot(AIOS_GGML_Q4_0));
    }
    /* A Q4_K matvec on the narrowed path against the reference, within the
     * float-rounding bound of test_tensor_kernels (1e-5 of sum |w a|). */
    enum { R = 5, K = 512 };
    float w[R * K], x[K], y[R];
    for (int i = 0; i < R * K; i++)
        w[i] = (float)((i * 7919) % 201 - 100) / 50;
    for (int i = 0; i < K; i++)
        x[i] = (float)((i * 104729) % 97 - 48) / 24;
    size_t rs = aios_tensor_row_size(AIOS_GGML_Q4_K, K);
    uint8_t *wq = aios_malloc(rs * R);
    CHECK_EQ_INT(aios_tensor_quantize(AIOS_GGML_Q4_K, w, wq, R, K, NULL), AIOS_OK);
    struct aios_tensor_mat m = {AIOS_GGML_Q4_K, K, R, rs, wq};
    CHECK_EQ_INT(aios_tensor_matvec(NULL, &m, x, y, NULL, 0, NULL), AIOS_OK);
    struct block_q8_K xq[K / 256];
    aios_q8_K_from_f32_ref(x, xq, K);
    float wd[K], xd[K];
    aios_q8_K_to_f32(xq, xd, K);
    for (int r = 0; r < R; r++) {
        float ref;
        aios_dot_q4_K_ref(K, &ref, wq + rs * r, xq);
        aios_q4_K_to_f32(wq + rs * r, wd, K);
        double mag = 0;
        for (int i = 0; i < K; i++)
            mag += fabs((double)wd[i] * xd[i]);
        CHECK_MSG(fabs(y[r] - ref) <= 1e-5 * mag, "row %d: %g vs %g", r, y[r], ref);
    }
    aios_free(wq);
}

int main(void)
{
    TEST_RUN(test_disable);
    TEST_EXIT();
}
