/*
 * F16 and BF16 conversions.
 *
 * The scalar versions are exact (IEEE binary16, round to nearest even,
 * subnormals kept, NaN quieted with its upper payload as F16C does) and
 * are what every ISA must agree with; the row versions use F16C through
 * the AVX2 file when the CPU has it.
 */
#include "tensor/quant.h"

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t aios_fp32_to_fp16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) /* NaN */
        return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff);
    if (ax == 0x7f800000)
        return sign | 0x7c00;
    int e = (int)(ax >> 23) - 127;
    if (e > 15)
        return sign | 0x7c00;
    if (e >= -14) {
        uint32_t mant = ax & 0x7fffff;
        uint32_t h = ((uint32_t)(e + 15) << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1fff;
        /* A carry out of the mantissa bumps the exponent, up to infinity. */
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
            h++;
        return sign | (uint16_t)h;
    }
    if (e < -25)
        return sign;
    /* Subnormal half: units of 2^-24; value = m * 2^(e - 23). */
    uint32_t m = (ax & 0x7fffff) | 0x800000;
    int s = -(e + 1); /* 14..24 */
    uint32_t h = m >> s;
    uint32_t rem = m & ((1u << s) - 1);
    uint32_t half = 1u << (s - 1);
    if (rem > half || (rem == half && (h & 1)))
        h++;
    return sign | (uint16_t)h;
}

float aios_fp16_to_fp32(uint16_t h)
{
    return fp16_to_f32(h);
}

uint16_t aios_fp32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) /* NaN: keep it a quiet NaN */
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

float aios_bf16_to_fp32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

void aios_f16_from_f32_ref(const float *x, void *vy, int64_t k)
{
    uint16_t *y = vy;
    for (int64_t i = 0; i < k; i++)
        y[i] = aios_fp32_to_fp16(x[i]);
}

void aios_f16_to_f32(const void *vx, float *y, int64_t k)
{
    const uint16_t *x = vx;
    for (int64_t i = 0; i < k; i++)
        y[i] = aios_fp16_to_fp32(x[i]);
}

void aios_bf16_from_f32_ref(const float *x, void *vy, int64_t k)
{
    uint16_t *y = vy;
    for (int64_t i = 0; i < k; i++)
        y[i] = aios_fp32_to_bf16(x[i]);
}

void aios_bf16_to_f32(const void *vx, float *y, int64_t k)
{
    const uint16_t *x = vx;
    for (int64_t i = 0; i < k; i++)
        y[i] = aios_bf16_to_fp32(x[i]);
}

void aios_f32_copy(const float *x, void *y, int64_t k)
{
    memcpy(y, x, (size_t)k * sizeof(float));
}

void aios_f32_to_f32(const void *x, float *y, int64_t k)
{
    memcpy(y, x, (size_t)k * sizeof(float));
}

void aios_fp16_to_fp32_row(const uint16_t *x, float *y, int64_t n)
{
    if (aios_tensor_isa_level() >= AIOS_ISA_AVX2 && aios_cpu_get()->f16c)
        aios_tensor_avx2_f16_to_f32(x, y, n);
    else
        aios_f16_to_f32(x, y, n);
}

void aios_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n)
{
    if (aios_tensor_isa_level() >= AIOS_ISA_AVX2 && aios_cpu_get()->f16c)
        aios_tensor_avx2_f32_to_f16(x, y, n);
    else
        aios_f16_from_f32_ref(x, y, n);
}
