/*
 * AVX-512 (F/BW/VL/DQ + VNNI) kernels. Only called after aios_cpu_get()
 * reported all of those features.
 */
#include "tensor/quant.h"

#include <immintrin.h>

aios_vec_dot_fn aios_tensor_avx512_dot(uint32_t type)
{
    (void)type;
    return NULL;
}

aios_from_float_fn aios_tensor_avx512_act(uint32_t act_type)
{
    (void)act_type;
    return NULL;
}
