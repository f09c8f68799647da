/*
 * gguf internals shared by the reader and the writer (private to src/gguf):
 * sizes of metadata value types, the file layout constants, and a small
 * open-addressing hash index from names to positions in an array.
 */
#ifndef AIOS_GGUF_INT_H
#define AIOS_GGUF_INT_H

#include "gguf/gguf.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian uint32 */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
/* Nested arrays deeper than this are refused (each level costs the parser a
 * stack frame; real files nest at most one level). */
#define GGUF_MAX_ARRAY_DEPTH 8

/* Bytes of one value of a fixed-size type; 0 for STRING and ARRAY; -1 for
 * ids that are not value types. */
int aios_gguf_vtype_size(uint32_t t);

/* Name index: slots hold position + 1 (0 = empty); capacity a power of two
 * at least twice the number of names, so probes stay short. */
struct gguf_index {
    uint32_t *slots;
    uint64_t mask;
};

int aios_gguf_index_init(struct gguf_index *ix, uint64_t n);
void aios_gguf_index_free(struct gguf_index *ix);
/* Finds name; returns its position or -1. name_at(ctx, pos) gives the name
 * stored at a position. */
int64_t aios_gguf_index_find(const struct gguf_index *ix, const char *name, size_t len,
                             const char *(*name_at)(const void *ctx, uint32_t pos),
                             const void *ctx);
/* Inserts pos for name; returns the position already there (a duplicate) or
 * -1 when inserted. */
int64_t aios_gguf_index_insert(struct gguf_index *ix, const char *name, size_t len, uint32_t pos,
                               const char *(*name_at)(const void *ctx, uint32_t pos),
                               const void *ctx);

#endif
