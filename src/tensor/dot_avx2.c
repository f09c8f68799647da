/*
 * AVX2 + FMA + F16C kernels: dot products, the Q8 activation quantizers and
 * F16 row conversions. Compiled with -mavx2 -mfma -mf16c; only called after
 * aios_cpu_get() reported those features.
 */
#include "tensor/quant.h"

#include <immintrin.h>

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

aios_vec_dot_fn aios_tensor_avx2_dot(uint32_t type)
{
    (void)type;
    return NULL;
}

aios_from_float_fn aios_tensor_avx2_act(uint32_t act_type)
{
    (void)act_type;
    return NULL;
}
