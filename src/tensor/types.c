/*
 * The type traits table and the run-time choice of kernels.
 *
 * One row per ggml type id (designated initializers, indexed by id). The
 * table holds the scalar references; aios_tensor_vec_dot() and
 * aios_tensor_act_quantizer() return the widest ISA version that this CPU
 * supports (after AIOS_CPU_DISABLE), decided once.
 */
#include "tensor/quant.h"

#include <pthread.h>
#include <strings.h>

#define T(id) [AIOS_GGML_##id]

static const struct aios_type_traits traits[AIOS_GGML_TYPE_COUNT] = {
    T(F32) = {.name = "F32",
              .block_size = 1,
              .type_size = 4,
              .to_float = aios_f32_to_f32,
              .from_float = aios_f32_copy,
              .from_float_act = aios_f32_copy,
              .vec_dot = aios_dot_f32_ref,
              .vec_dot_type = AIOS_GGML_F32},
    T(F16) = {.name = "F16",
              .block_size = 1,
              .type_size = 2,
              .to_float = aios_f16_to_f32,
              .from_float = aios_f16_from_f32_ref,
              .from_float_act = aios_f16_from_f32_ref,
              .vec_dot = aios_dot_f16_ref,
              .vec_dot_type = AIOS_GGML_F16},
    T(BF16) = {.name = "BF16",
               .block_size = 1,
               .type_size = 2,
               .to_float = aios_bf16_to_f32,
               .from_float = aios_bf16_from_f32_ref,
               .from_float_act = aios_bf16_from_f32_ref,
               .vec_dot = aios_dot_bf16_ref,
               .vec_dot_type = AIOS_GGML_BF16},
    T(Q4_0) = {.name = "Q4_0",
               .block_size = QK4_0,
               .type_size = sizeof(struct block_q4_0),
               .is_quantized = true,
               .to_float = aios_q4_0_to_f32,
               .from_float = aios_q4_0_from_f32_ref,
               .vec_dot = aios_dot_q4_0_ref,
               .vec_dot_type = AIOS_GGML_Q8_0},
    T(Q4_1) = {.name = "Q4_1",
               .block_size = QK4_1,
               .type_size = sizeof(struct block_q4_1),
               .is_quantized = true,
               .to_float = aios_q4_1_to_f32,
               .from_float = aios_q4_1_from_f32_ref,
               .vec_dot = aios_dot_q4_1_ref,
               .vec_dot_type = AIOS_GGML_Q8_1},
    T(Q5_0) = {.name = "Q5_0",
               .block_size = QK5_0,
               .type_size = sizeof(struct block_q5_0),
               .is_quantized = true,
               .to_float = aios_q5_0_to_f32,
               .from_float = aios_q5_0_from_f32_ref,
               .vec_dot = aios_dot_q5_0_ref,
               .vec_dot_type = AIOS_GGML_Q8_0},
    T(Q5_1) = {.name = "Q5_1",
               .block_size = QK5_1,
               .type_size = sizeof(struct block_q5_1),
               .is_quantized = true,
               .to_float = aios_q5_1_to_f32,
               .from_float = aios_q5_1_from_f32_ref,
               .vec_dot = aios_dot_q5_1_ref,
               .vec_dot_type = AIOS_GGML_Q8_1},
    T(Q8_0) = {.name = "Q8_0",
               .block_size = QK8_0,
               .type_size = sizeof(struct block_q8_0),
               .is_quantized = true,
               .to_float = aios_q8_0_to_f32,
               .from_float = aios_q8_0_from_f32_ref,
               .from_float_act = aios_q8_0_act_ref,
               .vec_dot = aios_dot_q8_0_ref,
               .vec_dot_type = AIOS_GGML_Q8_0},
    T(Q8_1) = {.name = "Q8_1",
               .block_size = QK8_1,
               .type_size = sizeof(struct block_q8_1),
               .is_quantized = true,
               .to_float = aios_q8_1_to_f32,
               .from_float = aios_q8_1_from_f32_ref,
               .from_float_act = aios_q8_1_act_ref,
               .vec_dot_type = AIOS_GGML_Q8_1},
    T(Q2_K) = {.name = "Q2_K",
               .block_size = QK_K,
               .type_size = sizeof(struct block_q2_K),
               .is_quantized = true,
               .to_float = aios_q2_K_to_f32,
               .from_float = aios_q2_K_from_f32_ref,
               .vec_dot = aios_dot_q2_K_ref,
               .vec_dot_type = AIOS_GGML_Q8_K},
    T(Q3_K) = {.name = "Q3_K",
               .block_size = QK_K,
               .type_size = sizeof(struct block_q3_K),
               .is_quantized = true,
               .to_float = aios_q3_K_to_f32,
               .from_float = aios_q3_K_from_f32_ref,
               .vec_dot = aios_dot_q3_K_ref,
               .vec_dot_type = AIOS_GGML_Q8_K},
    T(Q4_K) = {.name = "Q4_K",
               .block_size = QK_K,
               .type_size = sizeof(struct block_q4_K),
               .is_quantized = true,
               .to_float = aios_q4_K_to_f32,
               .from_float = aios_q4_K_from_f32_ref,
               .vec_dot = aios_dot_q4_K_ref,
               .vec_dot_type = AIOS_GGML_Q8_K},
    T(Q5_K) = {.name = "Q5_K",
               .block_size = QK_K,
               .type_size = sizeof(struct block_q5_K),
               .is_quantized = true,
               .to_float = aios_q5_K_to_f32,
               .from_float = aios_q5_K_from_f32_ref,
               .vec_dot = aios_dot_q5_K_ref,
               .vec_dot_type = AIOS_GGML_Q8_K},
    T(Q6_K) = {.name = "Q6_K",
               .block_size = QK_K,
               .type_size = sizeof(struct block_q6_K),
               .is_quantized = true,
               .to_float = aios_q6_K_to_f32,
               .from_float = aios_q6_K_from_f32_ref,
               .vec_dot = aios_dot_q6_K_ref,
               .vec_dot_type = AIOS_GGML_Q8_K},
    T(Q8_K) = {.name = "Q8_K",
               .block_size = QK_K,
               .type_size = sizeof(struct block_q8_K),
               .is_quantized = true,
               .to_float = aios_q8_K_to_f32,
               .from_float = aios_q8_K_from_f32_ref,
               .from_float_act = aios_q8_K_from_f32_ref,
               .vec_dot_type = AIOS_GGML_Q8_K},
};

const struct aios_type_traits *aios_tensor_type_traits(uint32_t type)
{
    if (type >= AIOS_GGML_TYPE_COUNT || !traits[type].name)
        return NULL;
    return &traits[type];
}

int aios_tensor_type_by_name(const char *name)
{
    for (uint32_t t = 0; name && t < AIOS_GGML_TYPE_COUNT; t++)
        if (traits[t].name && strcasecmp(traits[t].name, name) == 0)
            return (int)t;
    return -1;
}

size_t aios_tensor_row_size(uint32_t type, int64_t n)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    if (!t || n < 0 || n % t->block_size)
        return 0;
    return (size_t)(n / t->block_size) * t->type_size;
}

/* ---- run-time dispatch ------------------------------------------------- */

static int g_level;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void pick_level(void)
{
    const struct aios_cpu *c = aios_cpu_get();
    g_level = AIOS_ISA_REF;
    if (c->avx2 && c->fma && c->f16c)
        g_level = AIOS_ISA_AVX2;
    if (g_level == AIOS_ISA_AVX2 && c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq &&
        c->avx512vnni)
        g_level = AIOS_ISA_AVX512;
}

int aios_tensor_isa_level(void)
{
    pthread_once(&g_once, pick_level);
    return g_level;
}

const char *aios_tensor_isa(void)
{
    static const char *names[] = {"scalar", "avx2", "avx512"};
    return names[aios_tensor_isa_level()];
}

aios_vec_dot_fn aios_tensor_vec_dot_isa(uint32_t type, int isa)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    if (!t)
        return NULL;
    aios_vec_dot_fn f = NULL;
    if (isa >= AIOS_ISA_AVX512)
        f = aios_tensor_avx512_dot(type);
    if (!f && isa >= AIOS_ISA_AVX2)
        f = aios_tensor_avx2_dot(type);
    return f ? f : t->vec_dot;
}

const struct aios_prepared *aios_tensor_prepared_isa(uint32_t type, int isa)
{
    return isa >= AIOS_ISA_AVX512 ? aios_tensor_avx512_prepared(type) : NULL;
}

const struct aios_panel *aios_tensor_panel_isa(uint32_t type, int isa)
{
    return isa >= AIOS_ISA_AVX512 ? aios_tensor_avx512_panel(type) : NULL;
}

aios_vec_dot4_fn aios_tensor_vec_dot4_isa(uint32_t type, int isa)
{
    return isa >= AIOS_ISA_AVX512 ? aios_tensor_avx512_dot4(type) : NULL;
}

aios_from_float_fn aios_tensor_act_quantizer_isa(uint32_t type, int isa)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    if (!t)
        return NULL;
    const struct aios_type_traits *a = aios_tensor_type_traits(t->vec_dot_type);
    aios_from_float_fn f = NULL;
    if (isa >= AIOS_ISA_AVX512)
        f = aios_tensor_avx512_act(t->vec_dot_type);
    if (!f && isa >= AIOS_ISA_AVX2)
        f = aios_tensor_avx2_act(t->vec_dot_type);
    return f ? f : a->from_float_act;
}

aios_vec_dot_fn aios_tensor_vec_dot(uint32_t type)
{
    return aios_tensor_vec_dot_isa(type, aios_tensor_isa_level());
}

aios_from_float_fn aios_tensor_act_quantizer(uint32_t type)
{
    return aios_tensor_act_quantizer_isa(type, aios_tensor_isa_level());
}

/* ---- whole-row conversions --------------------------------------------- */

int aios_tensor_dequantize(uint32_t type, const void *x, float *y, int64_t n, struct aios_err *err)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    if (!t || !t->to_float)
        return aios_err_set(err, AIOS_EINVAL, "cannot dequantize type %u", type);
    if (n < 0 || n % t->block_size)
        return aios_err_set(err, AIOS_EINVAL, "%s: %lld values is not a whole number of blocks",
                            t->name, (long long)n);
    if (type == AIOS_GGML_F16)
        aios_fp16_to_fp32_row(x, y, n);
    else
        t->to_float(x, y, n);
    return AIOS_OK;
}

int aios_tensor_quantize(uint32_t type, const float *x, void *dst, int64_t nrows, int64_t n,
                         struct aios_err *err)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    if (!t || !t->from_float || type == AIOS_GGML_Q8_1 || type == AIOS_GGML_Q8_K)
        return aios_err_set(err, AIOS_EINVAL, "cannot quantize to type %u", type);
    if (n <= 0 || nrows < 0 || n % t->block_size)
        return aios_err_set(err, AIOS_EINVAL,
                            "%s: rows of %lld values are not a whole number of %lld-value blocks",
                            t->name, (long long)n, (long long)t->block_size);
    size_t rs = aios_tensor_row_size(type, n);
    for (int64_t r = 0; r < nrows; r++)
        t->from_float(x + r * n, (char *)dst + (size_t)r * rs, n);
    return AIOS_OK;
}
