/*
 * Name index for gguf readers and writers: open addressing with linear
 * probing over FNV-1a hashes. The index stores positions only; names stay in
 * the owner's array and are reached through a callback, so one index type
 * serves metadata keys and tensor names.
 */
#include "gguf/gguf_int.h"

#include <string.h>

int aios_gguf_index_init(struct gguf_index *ix, uint64_t n)
{
    uint64_t cap = 16;
    while (cap < 2 * n) {
        if (cap > ((uint64_t)1 << 40))
            return AIOS_ELIMIT;
        cap *= 2;
    }
    ix->slots = aios_calloc(cap, sizeof *ix->slots);
    if (!ix->slots)
        return AIOS_ENOMEM;
    ix->mask = cap - 1;
    return AIOS_OK;
}

void aios_gguf_index_free(struct gguf_index *ix)
{
    aios_free(ix->slots);
    ix->slots = NULL;
    ix->mask = 0;
}

static bool same(const char *stored, const char *name, size_t len)
{
    return strncmp(stored, name, len) == 0 && stored[len] == 0;
}

int64_t aios_gguf_index_find(const struct gguf_index *ix, const char *name, size_t len,
                             const char *(*name_at)(const void *ctx, uint32_t pos), const void *ctx)
{
    if (!ix->slots)
        return -1;
    for (uint64_t h = aios_hash_fnv1a(name, len) & ix->mask;; h = (h + 1) & ix->mask) {
        uint32_t s = ix->slots[h];
        if (s == 0)
            return -1;
        if (same(name_at(ctx, s - 1), name, len))
            return s - 1;
    }
}

int64_t aios_gguf_index_insert(struct gguf_index *ix, const char *name, size_t len, uint32_t pos,
                               const char *(*name_at)(const void *ctx, uint32_t pos),
                               const void *ctx)
{
    for (uint64_t h = aios_hash_fnv1a(name, len) & ix->mask;; h = (h + 1) & ix->mask) {
        uint32_t s = ix->slots[h];
        if (s == 0) {
            ix->slots[h] = pos + 1;
            return -1;
        }
        if (same(name_at(ctx, s - 1), name, len))
            return s - 1;
    }
}
