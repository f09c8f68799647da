/*
 * gguf type tables: names of metadata value types, and the block geometry
 * and names of the ggml tensor types a GGUF file can name. The reader needs
 * the geometry to size every tensor (and to reject a row length that is not
 * a whole number of blocks); the numbering is the one ggml writes into files.
 * Block sizes follow ggml's block structs (d/dmin halves, scale and quant
 * arrays); ids that ggml retired (4, 5, 31-33, 36-38) are unknown here.
 */
#include "gguf/gguf.h"
#include "gguf/gguf_int.h"

#include <string.h>
#include <strings.h>

struct type_info {
    const char *name;
    uint32_t block_elems;
    uint32_t block_bytes;
};

static const struct type_info type_table[AIOS_GGML_TYPE_COUNT] = {
    [AIOS_GGML_F32] = {"F32", 1, 4},
    [AIOS_GGML_F16] = {"F16", 1, 2},
    [AIOS_GGML_Q4_0] = {"Q4_0", 32, 18},
    [AIOS_GGML_Q4_1] = {"Q4_1", 32, 20},
    [AIOS_GGML_Q5_0] = {"Q5_0", 32, 22},
    [AIOS_GGML_Q5_1] = {"Q5_1", 32, 24},
    [AIOS_GGML_Q8_0] = {"Q8_0", 32, 34},
    [AIOS_GGML_Q8_1] = {"Q8_1", 32, 36},
    [AIOS_GGML_Q2_K] = {"Q2_K", 256, 84},
    [AIOS_GGML_Q3_K] = {"Q3_K", 256, 110},
    [AIOS_GGML_Q4_K] = {"Q4_K", 256, 144},
    [AIOS_GGML_Q5_K] = {"Q5_K", 256, 176},
    [AIOS_GGML_Q6_K] = {"Q6_K", 256, 210},
    [AIOS_GGML_Q8_K] = {"Q8_K", 256, 292},
    [AIOS_GGML_IQ2_XXS] = {"IQ2_XXS", 256, 66},
    [AIOS_GGML_IQ2_XS] = {"IQ2_XS", 256, 74},
    [AIOS_GGML_IQ3_XXS] = {"IQ3_XXS", 256, 98},
    [AIOS_GGML_IQ1_S] = {"IQ1_S", 256, 50},
    [AIOS_GGML_IQ4_NL] = {"IQ4_NL", 32, 18},
    [AIOS_GGML_IQ3_S] = {"IQ3_S", 256, 110},
    [AIOS_GGML_IQ2_S] = {"IQ2_S", 256, 82},
    [AIOS_GGML_IQ4_XS] = {"IQ4_XS", 256, 136},
    [AIOS_GGML_I8] = {"I8", 1, 1},
    [AIOS_GGML_I16] = {"I16", 1, 2},
    [AIOS_GGML_I32] = {"I32", 1, 4},
    [AIOS_GGML_I64] = {"I64", 1, 8},
    [AIOS_GGML_F64] = {"F64", 1, 8},
    [AIOS_GGML_IQ1_M] = {"IQ1_M", 256, 56},
    [AIOS_GGML_BF16] = {"BF16", 1, 2},
    [AIOS_GGML_TQ1_0] = {"TQ1_0", 256, 54},
    [AIOS_GGML_TQ2_0] = {"TQ2_0", 256, 66},
    [AIOS_GGML_MXFP4] = {"MXFP4", 32, 17},
};

bool aios_ggml_type_geometry(uint32_t type, uint32_t *block_elems, uint32_t *block_bytes)
{
    if (type >= AIOS_GGML_TYPE_COUNT || !type_table[type].name)
        return false;
    if (block_elems)
        *block_elems = type_table[type].block_elems;
    if (block_bytes)
        *block_bytes = type_table[type].block_bytes;
    return true;
}

const char *aios_ggml_type_name(uint32_t type)
{
    if (type >= AIOS_GGML_TYPE_COUNT || !type_table[type].name)
        return "unknown";
    return type_table[type].name;
}

int aios_ggml_type_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < AIOS_GGML_TYPE_COUNT; i++)
        if (type_table[i].name && strcasecmp(type_table[i].name, name) == 0)
            return i;
    return -1;
}

int aios_ggml_type_row_bytes(uint32_t type, int64_t n, uint64_t *out)
{
    uint32_t be, bb;
    if (n < 0 || !aios_ggml_type_geometry(type, &be, &bb) || (uint64_t)n % be != 0)
        return AIOS_EINVAL;
    return __builtin_mul_overflow((uint64_t)n / be, (uint64_t)bb, out) ? AIOS_ERANGE : AIOS_OK;
}

static const char *vtype_names[] = {
    [AIOS_GGUF_UINT8] = "uint8",     [AIOS_GGUF_INT8] = "int8",     [AIOS_GGUF_UINT16] = "uint16",
    [AIOS_GGUF_INT16] = "int16",     [AIOS_GGUF_UINT32] = "uint32", [AIOS_GGUF_INT32] = "int32",
    [AIOS_GGUF_FLOAT32] = "float32", [AIOS_GGUF_BOOL] = "bool",     [AIOS_GGUF_STRING] = "string",
    [AIOS_GGUF_ARRAY] = "array",     [AIOS_GGUF_UINT64] = "uint64", [AIOS_GGUF_INT64] = "int64",
    [AIOS_GGUF_FLOAT64] = "float64",
};

const char *aios_gguf_vtype_name(enum aios_gguf_vtype t)
{
    if ((unsigned)t > AIOS_GGUF_FLOAT64)
        return "unknown";
    return vtype_names[t];
}

int aios_gguf_vtype_size(uint32_t t)
{
    switch (t) {
    case AIOS_GGUF_UINT8:
    case AIOS_GGUF_INT8:
    case AIOS_GGUF_BOOL:
        return 1;
    case AIOS_GGUF_UINT16:
    case AIOS_GGUF_INT16:
        return 2;
    case AIOS_GGUF_UINT32:
    case AIOS_GGUF_INT32:
    case AIOS_GGUF_FLOAT32:
        return 4;
    case AIOS_GGUF_UINT64:
    case AIOS_GGUF_INT64:
    case AIOS_GGUF_FLOAT64:
        return 8;
    case AIOS_GGUF_STRING:
    case AIOS_GGUF_ARRAY:
        return 0;
    default:
        return -1;
    }
}
