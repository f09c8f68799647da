/*
 * gguf: the GGUF model file format (versions 2 and 3), read and write.
 *
 * Reading maps the file and validates every count, offset and size against
 * the file before any of it is used: a truncated or corrupted file gives a
 * clear error naming what is wrong, never a crash or an allocation larger
 * than the file justifies. All pointers handed out by the reader point into
 * the mapping (or into the reader's own tables) and stay valid until
 * aios_gguf_close. Multi-byte values are little-endian in the file; the
 * reader only supports little-endian hosts.
 */
#ifndef AIOS_GGUF_H
#define AIOS_GGUF_H

#include "base/base.h"

/* Metadata value types, numbered as in the file. */
enum aios_gguf_vtype {
    AIOS_GGUF_UINT8 = 0,
    AIOS_GGUF_INT8 = 1,
    AIOS_GGUF_UINT16 = 2,
    AIOS_GGUF_INT16 = 3,
    AIOS_GGUF_UINT32 = 4,
    AIOS_GGUF_INT32 = 5,
    AIOS_GGUF_FLOAT32 = 6,
    AIOS_GGUF_BOOL = 7,
    AIOS_GGUF_STRING = 8,
    AIOS_GGUF_ARRAY = 9,
    AIOS_GGUF_UINT64 = 10,
    AIOS_GGUF_INT64 = 11,
    AIOS_GGUF_FLOAT64 = 12,
};
const char *aios_gguf_vtype_name(enum aios_gguf_vtype t);

/* ggml tensor type ids as stored in tensor infos (the numbering ggml uses). */
enum aios_ggml_type {
    AIOS_GGML_F32 = 0,
    AIOS_GGML_F16 = 1,
    AIOS_GGML_Q4_0 = 2,
    AIOS_GGML_Q4_1 = 3,
    AIOS_GGML_Q5_0 = 6,
    AIOS_GGML_Q5_1 = 7,
    AIOS_GGML_Q8_0 = 8,
    AIOS_GGML_Q8_1 = 9,
    AIOS_GGML_Q2_K = 10,
    AIOS_GGML_Q3_K = 11,
    AIOS_GGML_Q4_K = 12,
    AIOS_GGML_Q5_K = 13,
    AIOS_GGML_Q6_K = 14,
    AIOS_GGML_Q8_K = 15,
    AIOS_GGML_IQ2_XXS = 16,
    AIOS_GGML_IQ2_XS = 17,
    AIOS_GGML_IQ3_XXS = 18,
    AIOS_GGML_IQ1_S = 19,
    AIOS_GGML_IQ4_NL = 20,
    AIOS_GGML_IQ3_S = 21,
    AIOS_GGML_IQ2_S = 22,
    AIOS_GGML_IQ4_XS = 23,
    AIOS_GGML_I8 = 24,
    AIOS_GGML_I16 = 25,
    AIOS_GGML_I32 = 26,
    AIOS_GGML_I64 = 27,
    AIOS_GGML_F64 = 28,
    AIOS_GGML_IQ1_M = 29,
    AIOS_GGML_BF16 = 30,
    AIOS_GGML_TQ1_0 = 34,
    AIOS_GGML_TQ2_0 = 35,
    AIOS_GGML_MXFP4 = 39,
    AIOS_GGML_TYPE_COUNT = 40, /* bound for tables indexed by type id */
};

/* Block geometry of a ggml type id, as the file format needs it to size
 * tensors. false for ids this build does not know. */
bool aios_ggml_type_geometry(uint32_t type, uint32_t *block_elems, uint32_t *block_bytes);
/* "Q4_K"; "unknown" for ids not known. */
const char *aios_ggml_type_name(uint32_t type);
/* Id from a name ("q4_k" or "Q4_K"); -1 if unknown. */
int aios_ggml_type_from_name(const char *name);
/* Bytes of a row of n elements of a type: AIOS_EINVAL for an unknown type,
 * n < 0 or n not a multiple of the block size; AIOS_ERANGE on overflow. */
int aios_ggml_type_row_bytes(uint32_t type, int64_t n, uint64_t *out);

/* A string in the file: not NUL-terminated. */
struct aios_gguf_str {
    const char *data;
    uint64_t len;
};

/* A metadata value. For arrays, elem_type says what the n elements are; the
 * elements of fixed-size types lie packed at `data` (little-endian, possibly
 * unaligned: read them with memcpy or the aios_gguf_arr_* helpers); string
 * elements are in strs[]; nested arrays are in arrs[]. */
struct aios_gguf_value {
    enum aios_gguf_vtype type;
    union {
        uint64_t u64; /* every unsigned integer type, and bool */
        int64_t i64;  /* every signed integer type */
        double f64;   /* FLOAT32 and FLOAT64 */
        struct aios_gguf_str str;
        struct {
            enum aios_gguf_vtype elem_type;
            uint64_t n;
            const void *data;
            const struct aios_gguf_str *strs;
            const struct aios_gguf_value *arrs;
        } arr;
    } v;
};

struct aios_gguf_tensor {
    const char *name; /* NUL-terminated copy */
    uint32_t n_dims;
    int64_t ne[4];    /* ne[0] is the innermost (row length); unused dims are 1 */
    uint32_t type;    /* enum aios_ggml_type */
    uint64_t offset;  /* from the start of the data section */
    uint64_t size;    /* bytes */
    const void *data; /* into the mapping */
};

typedef struct aios_gguf aios_gguf;

/* Opens and validates a file. *out must be closed with aios_gguf_close.
 * Errors: AIOS_ENOTFOUND / AIOS_EIO (cannot open or map), AIOS_EFORMAT
 * (truncated or corrupt: the message says what and where), AIOS_EUNSUPPORTED
 * (GGUF v1, big-endian files), AIOS_ELIMIT (arrays nested more than 8 deep,
 * more than 2^31 keys or tensors), AIOS_ENOMEM. A handle is read-only once
 * open, so several threads may use it at once. */
int aios_gguf_open(const char *path, aios_gguf **out, struct aios_err *err);
/* Same on a caller-owned buffer that must outlive the handle (fuzzing, tests). */
int aios_gguf_open_mem(const void *data, size_t size, aios_gguf **out, struct aios_err *err);
void aios_gguf_close(aios_gguf *g);

uint32_t aios_gguf_version(const aios_gguf *g);
uint64_t aios_gguf_alignment(const aios_gguf *g);
uint64_t aios_gguf_file_size(const aios_gguf *g);
uint64_t aios_gguf_data_offset(const aios_gguf *g); /* start of the tensor data section */
/* The whole file as mapped (aios_gguf_file_size bytes). */
const void *aios_gguf_base(const aios_gguf *g);

/* Metadata. Keys are NUL-terminated copies. */
int64_t aios_gguf_n_kv(const aios_gguf *g);
const char *aios_gguf_kv_key(const aios_gguf *g, int64_t i);
const struct aios_gguf_value *aios_gguf_kv_value(const aios_gguf *g, int64_t i);
/* -1 if absent. */
int64_t aios_gguf_find_kv(const aios_gguf *g, const char *key);
const struct aios_gguf_value *aios_gguf_get(const aios_gguf *g, const char *key);

/* Typed getters. AIOS_ENOTFOUND when the key is absent (err untouched, so
 * callers can fall back to defaults), AIOS_EFORMAT when the value has a type
 * that cannot represent the request (any integer type converts to another if
 * the value fits; integers convert to float; nothing converts to string). */
int aios_gguf_get_u32(const aios_gguf *g, const char *key, uint32_t *out, struct aios_err *err);
int aios_gguf_get_i64(const aios_gguf *g, const char *key, int64_t *out, struct aios_err *err);
int aios_gguf_get_f32(const aios_gguf *g, const char *key, float *out, struct aios_err *err);
int aios_gguf_get_bool(const aios_gguf *g, const char *key, bool *out, struct aios_err *err);
/* NUL-terminated copy in *out (aios_free). */
int aios_gguf_get_str(const aios_gguf *g, const char *key, char **out, struct aios_err *err);
/* Array of the given element type (AIOS_EFORMAT for another). */
int aios_gguf_get_arr(const aios_gguf *g, const char *key, enum aios_gguf_vtype elem_type,
                      const struct aios_gguf_value **out, struct aios_err *err);
/* Element i of a fixed-size numeric array, converted. */
int64_t aios_gguf_arr_i64(const struct aios_gguf_value *arr, uint64_t i);
double aios_gguf_arr_f64(const struct aios_gguf_value *arr, uint64_t i);

/* Tensors. */
int64_t aios_gguf_n_tensors(const aios_gguf *g);
const struct aios_gguf_tensor *aios_gguf_tensor(const aios_gguf *g, int64_t i);
const struct aios_gguf_tensor *aios_gguf_find_tensor(const aios_gguf *g, const char *name);

/* ---- writer -------------------------------------------------------------
 *
 * Builds a GGUF file: metadata in the order it was first set (setting a key
 * again replaces its value in place), tensor infos in the order added, the
 * data section and every tensor's data padded with zeros to the alignment
 * (the uint32 key general.alignment, a power of two; default 32), tensor
 * offsets consecutive: the layout llama.cpp writes, so a file read and
 * written again without changes comes out byte for byte the same. A file
 * without tensors ends right after its metadata (no padding).
 *
 * Output goes to PATH.tmp.XXXXXX in the same directory and is renamed over
 * PATH only when complete and synced: a failure (or destroy before finish)
 * removes the temporary file and never leaves a partial PATH.
 *
 * Tensor data is either a caller buffer given to add_tensor (which must stay
 * valid until the file is finished) or NULL, in which case the bytes are
 * streamed with write_data after begin, in tensor order, in pieces of any
 * size, so a multi-GB model never needs to be in memory at once. States:
 *
 *     building --begin--> streaming --finish--> done
 *         \______________ write (= begin + finish) ___/
 *
 * Metadata and tensors can change only while building. Every function
 * returns AIOS_OK or an error (EINVAL bad argument, EEXIST duplicate tensor,
 * ESTATE wrong state, EIO file errors) with a message in err. */
typedef struct aios_gguf_writer aios_gguf_writer;

int aios_gguf_writer_create(aios_gguf_writer **out, struct aios_err *err);
/* Frees the writer; an unfinished temporary file is removed. */
void aios_gguf_writer_destroy(aios_gguf_writer *w);
/* 3 (the default) or 2; the layouts are the same. */
int aios_gguf_writer_set_version(aios_gguf_writer *w, uint32_t version, struct aios_err *err);

int aios_gguf_writer_set_u8(aios_gguf_writer *w, const char *key, uint8_t v, struct aios_err *err);
int aios_gguf_writer_set_i8(aios_gguf_writer *w, const char *key, int8_t v, struct aios_err *err);
int aios_gguf_writer_set_u16(aios_gguf_writer *w, const char *key, uint16_t v,
                             struct aios_err *err);
int aios_gguf_writer_set_i16(aios_gguf_writer *w, const char *key, int16_t v, struct aios_err *err);
int aios_gguf_writer_set_u32(aios_gguf_writer *w, const char *key, uint32_t v,
                             struct aios_err *err);
int aios_gguf_writer_set_i32(aios_gguf_writer *w, const char *key, int32_t v, struct aios_err *err);
int aios_gguf_writer_set_u64(aios_gguf_writer *w, const char *key, uint64_t v,
                             struct aios_err *err);
int aios_gguf_writer_set_i64(aios_gguf_writer *w, const char *key, int64_t v, struct aios_err *err);
int aios_gguf_writer_set_f32(aios_gguf_writer *w, const char *key, float v, struct aios_err *err);
int aios_gguf_writer_set_f64(aios_gguf_writer *w, const char *key, double v, struct aios_err *err);
int aios_gguf_writer_set_bool(aios_gguf_writer *w, const char *key, bool v, struct aios_err *err);
/* NUL-terminated string; _strn takes any bytes. */
int aios_gguf_writer_set_str(aios_gguf_writer *w, const char *key, const char *s,
                             struct aios_err *err);
int aios_gguf_writer_set_strn(aios_gguf_writer *w, const char *key, const char *s, size_t len,
                              struct aios_err *err);
/* Array of n fixed-size elements (any type but STRING and ARRAY) packed
 * little-endian at data; bool elements must be 0 or 1. Copied. */
int aios_gguf_writer_set_arr(aios_gguf_writer *w, const char *key, enum aios_gguf_vtype elem_type,
                             const void *data, uint64_t n, struct aios_err *err);
/* Array of n NUL-terminated strings. Copied. */
int aios_gguf_writer_set_arr_str(aios_gguf_writer *w, const char *key, const char *const *strs,
                                 uint64_t n, struct aios_err *err);
/* Any value, as the reader hands it out (nested arrays included). Copied. */
int aios_gguf_writer_set_value(aios_gguf_writer *w, const char *key,
                               const struct aios_gguf_value *v, struct aios_err *err);
/* Copies kv i of a reader, or all of them in order. */
int aios_gguf_writer_copy_kv(aios_gguf_writer *w, const aios_gguf *g, int64_t i,
                             struct aios_err *err);
int aios_gguf_writer_copy_all_kv(aios_gguf_writer *w, const aios_gguf *g, struct aios_err *err);
/* AIOS_ENOTFOUND if absent. */
int aios_gguf_writer_remove_kv(aios_gguf_writer *w, const char *key, struct aios_err *err);
int64_t aios_gguf_writer_n_kv(const aios_gguf_writer *w);

/* Adds a tensor info: ne[0..n_dims) with n_dims 1..4 (ne[0] a multiple of
 * the type's block size); data is NULL (streamed later) or a buffer of the
 * tensor's exact size, borrowed until the file is finished. Names are at
 * most 63 bytes (llama.cpp's limit). */
int aios_gguf_writer_add_tensor(aios_gguf_writer *w, const char *name, uint32_t type,
                                uint32_t n_dims, const int64_t *ne, const void *data,
                                struct aios_err *err);
/* Adds tensor i of a reader with its data (borrowed from the reader, which
 * must stay open until the file is finished). */
int aios_gguf_writer_copy_tensor(aios_gguf_writer *w, const aios_gguf *g, int64_t i,
                                 struct aios_err *err);
int64_t aios_gguf_writer_n_tensors(const aios_gguf_writer *w);
/* Size in bytes of tensor i's data, and of the whole file as it stands. */
uint64_t aios_gguf_writer_tensor_size(const aios_gguf_writer *w, int64_t i);
uint64_t aios_gguf_writer_file_size(const aios_gguf_writer *w);

/* Writes the whole file (every tensor must have a buffer). */
int aios_gguf_writer_write(aios_gguf_writer *w, const char *path, struct aios_err *err);
/* Streaming: begin writes the header, metadata, tensor infos and the data of
 * leading tensors that have buffers; write_data supplies the next bytes of
 * the tensors added without data, in order (pieces may span tensors);
 * finish checks nothing is missing, syncs and renames. */
int aios_gguf_writer_begin(aios_gguf_writer *w, const char *path, struct aios_err *err);
int aios_gguf_writer_write_data(aios_gguf_writer *w, const void *data, size_t n,
                                struct aios_err *err);
int aios_gguf_writer_finish(aios_gguf_writer *w, struct aios_err *err);
/* The whole file into out (appended; every tensor must have a buffer). */
int aios_gguf_writer_to_buf(aios_gguf_writer *w, struct aios_buf *out, struct aios_err *err);

#endif
