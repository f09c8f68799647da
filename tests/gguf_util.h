/*
 * Helpers shared by the gguf tests: deep comparison of two readers
 * (metadata values and tensor bytes) with a message naming the first
 * difference, and a read -> write -> read round trip.
 */
#ifndef AIOS_TEST_GGUF_UTIL_H
#define AIOS_TEST_GGUF_UTIL_H

#include "gguf/gguf.h"

#include <stdio.h>
#include <string.h>

static inline bool gguf_value_eq(const struct aios_gguf_value *a, const struct aios_gguf_value *b)
    __attribute__((unused));
static inline bool gguf_value_eq(const struct aios_gguf_value *a, const struct aios_gguf_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case AIOS_GGUF_STRING:
        return a->v.str.len == b->v.str.len &&
               memcmp(a->v.str.data, b->v.str.data, (size_t)a->v.str.len) == 0;
    case AIOS_GGUF_FLOAT32:
    case AIOS_GGUF_FLOAT64: /* bitwise, so NaNs compare */
        return memcmp(&a->v.f64, &b->v.f64, sizeof a->v.f64) == 0;
    case AIOS_GGUF_ARRAY:
        break;
    default:
        return a->v.u64 == b->v.u64;
    }
    if (a->v.arr.elem_type != b->v.arr.elem_type || a->v.arr.n != b->v.arr.n)
        return false;
    uint64_t n = a->v.arr.n;
    if (a->v.arr.elem_type == AIOS_GGUF_STRING) {
        for (uint64_t i = 0; i < n; i++)
            if (a->v.arr.strs[i].len != b->v.arr.strs[i].len ||
                memcmp(a->v.arr.strs[i].data, b->v.arr.strs[i].data,
                       (size_t)a->v.arr.strs[i].len) != 0)
                return false;
        return true;
    }
    if (a->v.arr.elem_type == AIOS_GGUF_ARRAY) {
        for (uint64_t i = 0; i < n; i++)
            if (!gguf_value_eq(&a->v.arr.arrs[i], &b->v.arr.arrs[i]))
                return false;
        return true;
    }
    size_t esz =
        a->v.arr.elem_type == AIOS_GGUF_UINT8 || a->v.arr.elem_type == AIOS_GGUF_INT8 ||
                a->v.arr.elem_type == AIOS_GGUF_BOOL
            ? 1
        : a->v.arr.elem_type == AIOS_GGUF_UINT16 || a->v.arr.elem_type == AIOS_GGUF_INT16 ? 2
        : a->v.arr.elem_type == AIOS_GGUF_UINT32 || a->v.arr.elem_type == AIOS_GGUF_INT32 ||
                a->v.arr.elem_type == AIOS_GGUF_FLOAT32
            ? 4
            : 8;
    return n == 0 || memcmp(a->v.arr.data, b->v.arr.data, (size_t)n * esz) == 0;
}

/* Same metadata (keys, order, values) and tensors (names, order, types,
 * shapes, bytes). On a difference, writes it into why and returns false. */
static inline bool gguf_same_content(const aios_gguf *a, const aios_gguf *b, char *why, size_t n)
    __attribute__((unused));
static inline bool gguf_same_content(const aios_gguf *a, const aios_gguf *b, char *why, size_t n)
{
    if (aios_gguf_n_kv(a) != aios_gguf_n_kv(b) ||
        aios_gguf_n_tensors(a) != aios_gguf_n_tensors(b)) {
        snprintf(why, n, "counts differ");
        return false;
    }
    if (aios_gguf_alignment(a) != aios_gguf_alignment(b)) {
        snprintf(why, n, "alignment differs");
        return false;
    }
    for (int64_t i = 0; i < aios_gguf_n_kv(a); i++) {
        if (strcmp(aios_gguf_kv_key(a, i), aios_gguf_kv_key(b, i)) != 0 ||
            !gguf_value_eq(aios_gguf_kv_value(a, i), aios_gguf_kv_value(b, i))) {
            snprintf(why, n, "kv %lld (%s) differs", (long long)i, aios_gguf_kv_key(a, i));
            return false;
        }
    }
    for (int64_t i = 0; i < aios_gguf_n_tensors(a); i++) {
        const struct aios_gguf_tensor *x = aios_gguf_tensor(a, i), *y = aios_gguf_tensor(b, i);
        if (strcmp(x->name, y->name) != 0 || x->type != y->type || x->size != y->size ||
            memcmp(x->ne, y->ne, sizeof x->ne) != 0 || memcmp(x->data, y->data, x->size) != 0) {
            snprintf(why, n, "tensor %lld (%s) differs", (long long)i, x->name);
            return false;
        }
    }
    return true;
}

/* Copies every kv and tensor of g into a new writer (*out). */
static inline int gguf_copy_to_writer(const aios_gguf *g, aios_gguf_writer **out,
                                      struct aios_err *err) __attribute__((unused));
static inline int gguf_copy_to_writer(const aios_gguf *g, aios_gguf_writer **out,
                                      struct aios_err *err)
{
    aios_gguf_writer *w = NULL;
    int rc = aios_gguf_writer_create(&w, err);
    if (!rc)
        rc = aios_gguf_writer_set_version(w, aios_gguf_version(g), err);
    if (!rc)
        rc = aios_gguf_writer_copy_all_kv(w, g, err);
    for (int64_t i = 0; !rc && i < aios_gguf_n_tensors(g); i++)
        rc = aios_gguf_writer_copy_tensor(w, g, i, err);
    if (rc) {
        aios_gguf_writer_destroy(w);
        return rc;
    }
    *out = w;
    return 0;
}

#endif
