/*
 * gguf reader: maps a GGUF v2/v3 file (or takes a caller's buffer) and
 * validates it in one pass before handing anything out.
 *
 * Layout: magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv key/value
 * pairs (u64-length string key, u32 type, value), n_tensors tensor infos
 * (name, u32 n_dims, n_dims x i64 ne, u32 type, u64 offset), zero padding to
 * the alignment (`general.alignment`, default 32), then the data section;
 * tensor offsets are relative to its start and multiples of the alignment.
 *
 * Invariants once open succeeds: every string, array and tensor lies inside
 * the file; keys and tensor names are unique, NUL-free and indexed; tensor
 * data ranges are aligned and do not overlap. Every count read from the file
 * is checked against the bytes left before anything is allocated for it, so
 * the reader's tables stay within a small multiple of the file size (each
 * table entry is at most ~6x the smallest encoding of what it describes).
 * Allocation: keys, names and tables come from one arena; the hash indexes
 * are two arrays; nothing is allocated per array element.
 */
#include "gguf/gguf.h"
#include "gguf/gguf_int.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the GGUF reader assumes a little-endian host");

struct kv {
    const char *key;
    struct aios_gguf_value val;
};

struct aios_gguf {
    const uint8_t *base;
    uint64_t size;
    void *map; /* non-NULL when we mapped the file */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv, n_tensors;
    struct kv *kvs;
    struct aios_gguf_tensor *tensors;
    struct gguf_index kv_ix, t_ix;
    aios_arena *arena;
};

/* Smallest encodings, used to bound counts by the bytes left. */
#define MIN_KV_BYTES 13     /* u64 key length, u32 type, 1-byte value */
#define MIN_TENSOR_BYTES 24 /* u64 name length, u32 n_dims, u32 type, u64 offset */
#define MIN_ARRAY_BYTES 12  /* u32 element type, u64 count */

/* Read cursor. `what` names the item being read for messages. */
struct rd {
    const uint8_t *base;
    uint64_t pos, size;
    struct aios_err *err;
    aios_arena *arena;
};

static uint64_t left(const struct rd *r)
{
    return r->size - r->pos;
}

static int need(struct rd *r, uint64_t n, const char *what)
{
    if (n > left(r))
        return aios_err_set(r->err, AIOS_EFORMAT,
                            "truncated: %s at offset %" PRIu64 " needs %" PRIu64
                            " bytes, only %" PRIu64 " left in the file (size %" PRIu64 ")",
                            what, r->pos, n, left(r), r->size);
    return AIOS_OK;
}

static int rd_u32(struct rd *r, uint32_t *v, const char *what)
{
    int rc = need(r, 4, what);
    if (rc)
        return rc;
    memcpy(v, r->base + r->pos, 4);
    r->pos += 4;
    return AIOS_OK;
}

static int rd_u64(struct rd *r, uint64_t *v, const char *what)
{
    int rc = need(r, 8, what);
    if (rc)
        return rc;
    memcpy(v, r->base + r->pos, 8);
    r->pos += 8;
    return AIOS_OK;
}

static int rd_str(struct rd *r, struct aios_gguf_str *s, const char *what)
{
    uint64_t len;
    int rc = rd_u64(r, &len, what);
    if (rc)
        return rc;
    if (len > left(r))
        return aios_err_set(r->err, AIOS_EFORMAT,
                            "%s: string length %" PRIu64 " at offset %" PRIu64
                            " is more than the %" PRIu64 " bytes left in the file (size %" PRIu64
                            ")",
                            what, len, r->pos - 8, left(r), r->size);
    s->data = (const char *)r->base + r->pos;
    s->len = len;
    r->pos += len;
    return AIOS_OK;
}

/* Copies a name into the arena; refuses embedded NUL bytes, which a
 * NUL-terminated copy could not represent. */
static int copy_name(struct rd *r, const struct aios_gguf_str *s, const char *what, char **out)
{
    if (memchr(s->data, 0, s->len))
        return aios_err_set(r->err, AIOS_EFORMAT, "%s at offset %" PRIu64 " contains a NUL byte",
                            what, (uint64_t)((const uint8_t *)s->data - r->base));
    if (s->len >= SIZE_MAX)
        return aios_err_set(r->err, AIOS_ELIMIT, "%s too long", what);
    char *d = aios_arena_alloc(r->arena, (size_t)s->len + 1);
    if (!d)
        return aios_err_set(r->err, AIOS_ENOMEM, "out of memory copying %s", what);
    memcpy(d, s->data, s->len);
    d[s->len] = 0;
    *out = d;
    return AIOS_OK;
}

/* Scalar of a fixed-size type at the cursor into v. */
static int rd_scalar(struct rd *r, uint32_t t, struct aios_gguf_value *v, const char *what)
{
    int sz = aios_gguf_vtype_size(t);
    int rc = need(r, (uint64_t)sz, what);
    if (rc)
        return rc;
    const uint8_t *p = r->base + r->pos;
    v->type = (enum aios_gguf_vtype)t;
    switch (t) {
    case AIOS_GGUF_UINT8:
        v->v.u64 = p[0];
        break;
    case AIOS_GGUF_BOOL:
        if (p[0] > 1)
            return aios_err_set(r->err, AIOS_EFORMAT,
                                "%s: bool at offset %" PRIu64 " has value %u (must be 0 or 1)",
                                what, r->pos, p[0]);
        v->v.u64 = p[0];
        break;
    case AIOS_GGUF_INT8:
        v->v.i64 = (int8_t)p[0];
        break;
    case AIOS_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, p, 2);
        v->v.u64 = x;
        break;
    }
    case AIOS_GGUF_INT16: {
        int16_t x;
        memcpy(&x, p, 2);
        v->v.i64 = x;
        break;
    }
    case AIOS_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, p, 4);
        v->v.u64 = x;
        break;
    }
    case AIOS_GGUF_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        v->v.i64 = x;
        break;
    }
    case AIOS_GGUF_FLOAT32: {
        float x;
        memcpy(&x, p, 4);
        v->v.f64 = x;
        break;
    }
    case AIOS_GGUF_UINT64:
        memcpy(&v->v.u64, p, 8);
        break;
    case AIOS_GGUF_INT64:
        memcpy(&v->v.i64, p, 8);
        break;
    case AIOS_GGUF_FLOAT64:
        memcpy(&v->v.f64, p, 8);
        break;
    default:
        return aios_err_set(r->err, AIOS_EINTERNAL, "%s: not a scalar type %u", what, t);
    }
    r->pos += (uint64_t)sz;
    return AIOS_OK;
}

static int bad_type(struct rd *r, uint32_t t, uint64_t at, const char *what)
{
    return aios_err_set(r->err, AIOS_EFORMAT,
                        "%s: unknown value type %" PRIu32 " at offset %" PRIu64, what, t, at);
}

/* Reads the body of an array (element type, count, elements) into v. */
static int rd_array(struct rd *r, struct aios_gguf_value *v, int depth, const char *what)
{
    uint32_t et;
    uint64_t n;
    uint64_t at = r->pos;
    int rc = rd_u32(r, &et, what);
    if (!rc)
        rc = rd_u64(r, &n, what);
    if (rc)
        return rc;
    int esz = aios_gguf_vtype_size(et);
    if (esz < 0)
        return aios_err_set(r->err, AIOS_EFORMAT,
                            "%s: array at offset %" PRIu64 " has unknown element type %" PRIu32,
                            what, at, et);
    v->type = AIOS_GGUF_ARRAY;
    v->v.arr.elem_type = (enum aios_gguf_vtype)et;
    v->v.arr.n = n;
    v->v.arr.data = NULL;
    v->v.arr.strs = NULL;
    v->v.arr.arrs = NULL;
    uint64_t min_elem = esz > 0 ? (uint64_t)esz : et == AIOS_GGUF_STRING ? 8 : MIN_ARRAY_BYTES;
    if (n > left(r) / min_elem)
        return aios_err_set(r->err, AIOS_EFORMAT,
                            "%s: array at offset %" PRIu64 " claims %" PRIu64
                            " elements of type %s, more than the %" PRIu64
                            " bytes left in the file can hold (size %" PRIu64 ")",
                            what, at, n, aios_gguf_vtype_name(et), left(r), r->size);
    if (esz > 0) {
        const uint8_t *p = r->base + r->pos;
        if (et == AIOS_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (p[i] > 1)
                    return aios_err_set(r->err, AIOS_EFORMAT,
                                        "%s: bool element %" PRIu64
                                        " has value %u (must be 0 or 1)",
                                        what, i, p[i]);
        v->v.arr.data = p;
        r->pos += n * (uint64_t)esz;
        return AIOS_OK;
    }
    if (n == 0)
        return AIOS_OK;
    if (n > SIZE_MAX / sizeof(struct aios_gguf_value))
        return aios_err_set(r->err, AIOS_ELIMIT, "%s: array too large", what);
    if (et == AIOS_GGUF_STRING) {
        struct aios_gguf_str *s = aios_arena_alloc(r->arena, (size_t)n * sizeof *s);
        if (!s)
            return aios_err_set(r->err, AIOS_ENOMEM, "%s: out of memory for %" PRIu64 " strings",
                                what, n);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t len;
            if ((rc = rd_u64(r, &len, what)))
                return rc;
            if (len > left(r))
                return aios_err_set(r->err, AIOS_EFORMAT,
                                    "%s: string %" PRIu64 " of the array has length %" PRIu64
                                    " at offset %" PRIu64 ", more than the %" PRIu64
                                    " bytes left in the file (size %" PRIu64 ")",
                                    what, i, len, r->pos - 8, left(r), r->size);
            s[i].data = (const char *)r->base + r->pos;
            s[i].len = len;
            r->pos += len;
        }
        v->v.arr.strs = s;
        return AIOS_OK;
    }
    /* Nested arrays: each element is itself (element type, count, elements). */
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return aios_err_set(r->err, AIOS_ELIMIT,
                            "%s: arrays nested more than %d deep at offset %" PRIu64, what,
                            GGUF_MAX_ARRAY_DEPTH, at);
    struct aios_gguf_value *a = aios_arena_alloc(r->arena, (size_t)n * sizeof *a);
    if (!a)
        return aios_err_set(r->err, AIOS_ENOMEM, "%s: out of memory for %" PRIu64 " arrays", what,
                            n);
    for (uint64_t i = 0; i < n; i++)
        if ((rc = rd_array(r, &a[i], depth + 1, what)))
            return rc;
    v->v.arr.arrs = a;
    return AIOS_OK;
}

static const char *kv_name_at(const void *ctx, uint32_t pos)
{
    return ((const struct aios_gguf *)ctx)->kvs[pos].key;
}

static const char *tensor_name_at(const void *ctx, uint32_t pos)
{
    return ((const struct aios_gguf *)ctx)->tensors[pos].name;
}

static int read_kvs(struct aios_gguf *g, struct rd *r)
{
    char what[320];
    for (int64_t i = 0; i < g->n_kv; i++) {
        struct kv *kv = &g->kvs[i];
        struct aios_gguf_str ks;
        snprintf(what, sizeof what, "kv %" PRId64 " key", i);
        int rc = rd_str(r, &ks, what);
        if (!rc)
            rc = copy_name(r, &ks, what, (char **)&kv->key);
        if (rc)
            return rc;
        snprintf(what, sizeof what, "kv %" PRId64 " ('%.200s')", i, kv->key);
        int64_t dup =
            aios_gguf_index_insert(&g->kv_ix, kv->key, (size_t)ks.len, (uint32_t)i, kv_name_at, g);
        if (dup >= 0)
            return aios_err_set(r->err, AIOS_EFORMAT, "%s: duplicate key (also kv %" PRId64 ")",
                                what, dup);
        uint32_t t;
        uint64_t at = r->pos;
        if ((rc = rd_u32(r, &t, what)))
            return rc;
        int sz = aios_gguf_vtype_size(t);
        if (sz < 0)
            return bad_type(r, t, at, what);
        if (sz > 0)
            rc = rd_scalar(r, t, &kv->val, what);
        else if (t == AIOS_GGUF_STRING) {
            kv->val.type = AIOS_GGUF_STRING;
            rc = rd_str(r, &kv->val.v.str, what);
        } else
            rc = rd_array(r, &kv->val, 0, what);
        if (rc)
            return rc;
    }
    return AIOS_OK;
}

static int read_alignment(struct aios_gguf *g, struct aios_err *err)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const struct aios_gguf_value *v = aios_gguf_get(g, "general.alignment");
    if (!v)
        return AIOS_OK;
    if (v->type != AIOS_GGUF_UINT32)
        return aios_err_set(err, AIOS_EFORMAT, "general.alignment has type %s, expected uint32",
                            aios_gguf_vtype_name(v->type));
    uint64_t a = v->v.u64;
    if (a == 0 || (a & (a - 1)) != 0)
        return aios_err_set(err, AIOS_EFORMAT,
                            "general.alignment = %" PRIu64 " is not a power of two", a);
    g->alignment = a;
    return AIOS_OK;
}

static int read_tensor_infos(struct aios_gguf *g, struct rd *r)
{
    char what[320];
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct aios_gguf_tensor *t = &g->tensors[i];
        struct aios_gguf_str ns;
        snprintf(what, sizeof what, "tensor %" PRId64 " name", i);
        int rc = rd_str(r, &ns, what);
        if (!rc)
            rc = copy_name(r, &ns, what, (char **)&t->name);
        if (rc)
            return rc;
        snprintf(what, sizeof what, "tensor %" PRId64 " ('%.200s')", i, t->name);
        int64_t dup = aios_gguf_index_insert(&g->t_ix, t->name, (size_t)ns.len, (uint32_t)i,
                                             tensor_name_at, g);
        if (dup >= 0)
            return aios_err_set(r->err, AIOS_EFORMAT,
                                "%s: duplicate tensor name (also tensor %" PRId64 ")", what, dup);
        if ((rc = rd_u32(r, &t->n_dims, what)))
            return rc;
        if (t->n_dims > GGUF_MAX_DIMS)
            return aios_err_set(r->err, AIOS_EFORMAT, "%s: %" PRIu32 " dimensions (at most %d)",
                                what, t->n_dims, GGUF_MAX_DIMS);
        for (int d = 0; d < GGUF_MAX_DIMS; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t x;
            if ((rc = rd_u64(r, &x, what)))
                return rc;
            if (x > (uint64_t)INT64_MAX)
                return aios_err_set(r->err, AIOS_EFORMAT,
                                    "%s: dimension %" PRIu32 " is negative (%" PRId64 ")", what, d,
                                    (int64_t)x);
            t->ne[d] = (int64_t)x;
        }
        uint64_t at = r->pos;
        if ((rc = rd_u32(r, &t->type, what)) || (rc = rd_u64(r, &t->offset, what)))
            return rc;
        uint32_t be, bb;
        if (!aios_ggml_type_geometry(t->type, &be, &bb))
            return aios_err_set(r->err, AIOS_EFORMAT,
                                "%s: unknown tensor type %" PRIu32 " at offset %" PRIu64, what,
                                t->type, at);
        if (t->ne[0] % be != 0)
            return aios_err_set(r->err, AIOS_EFORMAT,
                                "%s: row length %" PRId64
                                " is not a multiple of the %s block size %" PRIu32,
                                what, t->ne[0], aios_ggml_type_name(t->type), be);
        uint64_t nrows = 1, size, nel, row_bytes;
        bool ovf = aios_ggml_type_row_bytes(t->type, t->ne[0], &row_bytes) != AIOS_OK;
        for (int d = 1; d < GGUF_MAX_DIMS; d++)
            ovf |= __builtin_mul_overflow(nrows, (uint64_t)t->ne[d], &nrows);
        ovf |= __builtin_mul_overflow(nrows, (uint64_t)t->ne[0], &nel) || nel > (uint64_t)INT64_MAX;
        ovf |= __builtin_mul_overflow(row_bytes, nrows, &size);
        if (ovf)
            return aios_err_set(r->err, AIOS_EFORMAT,
                                "%s: shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                                "] overflows",
                                what, t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
        t->size = size;
        if (t->offset % g->alignment != 0)
            return aios_err_set(r->err, AIOS_EFORMAT,
                                "%s: data offset %" PRIu64
                                " is not a multiple of the alignment %" PRIu64,
                                what, t->offset, g->alignment);
    }
    return AIOS_OK;
}

static int cmp_offset(const void *a, const void *b, void *ctx)
{
    const struct aios_gguf_tensor *t = ctx;
    uint64_t x = t[*(const uint32_t *)a].offset, y = t[*(const uint32_t *)b].offset;
    return x < y ? -1 : x > y;
}

/* Places every tensor's data, checks it lies in the file, and that no two
 * tensors share bytes. */
static int check_data(struct aios_gguf *g, struct aios_err *err)
{
    uint64_t avail = g->size - g->data_offset;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct aios_gguf_tensor *t = &g->tensors[i];
        if (t->offset > avail)
            return aios_err_set(err, AIOS_EFORMAT,
                                "tensor '%.200s': data offset %" PRIu64
                                " is past end of file (data section starts at %" PRIu64
                                ", file size %" PRIu64 ")",
                                t->name, t->offset, g->data_offset, g->size);
        if (t->size > avail - t->offset) {
            uint64_t a = g->data_offset + t->offset; /* <= size: no overflow */
            return aios_err_set(err, AIOS_EFORMAT,
                                "tensor '%.200s': data [%" PRIu64 ", %" PRIu64
                                ") past end of file (size %" PRIu64 ")",
                                t->name, a, a + t->size, g->size);
        }
        t->data = g->base + g->data_offset + t->offset;
    }
    if (g->n_tensors < 2)
        return AIOS_OK;
    uint32_t *ord = aios_malloc((size_t)g->n_tensors * sizeof *ord);
    if (!ord)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory checking tensor data");
    for (int64_t i = 0; i < g->n_tensors; i++)
        ord[i] = (uint32_t)i;
    qsort_r(ord, (size_t)g->n_tensors, sizeof *ord, cmp_offset, g->tensors);
    int rc = AIOS_OK;
    for (int64_t i = 0; i + 1 < g->n_tensors; i++) {
        const struct aios_gguf_tensor *a = &g->tensors[ord[i]], *b = &g->tensors[ord[i + 1]];
        if (a->size && b->size && a->offset + a->size > b->offset) {
            rc = aios_err_set(err, AIOS_EFORMAT,
                              "tensor '%.200s': data [%" PRIu64 ", %" PRIu64
                              ") overlaps tensor '%.200s' at %" PRIu64,
                              a->name, g->data_offset + a->offset,
                              g->data_offset + a->offset + a->size, b->name,
                              g->data_offset + b->offset);
            break;
        }
    }
    aios_free(ord);
    return rc;
}

static int parse(struct aios_gguf *g, struct aios_err *err)
{
    struct rd r = {.base = g->base, .pos = 0, .size = g->size, .err = err};
    uint32_t magic;
    uint64_t nt, nkv;
    int rc = rd_u32(&r, &magic, "magic");
    if (rc)
        return rc;
    if (magic != GGUF_MAGIC)
        return aios_err_set(err, AIOS_EFORMAT, "not a GGUF file (magic %02x %02x %02x %02x)",
                            g->base[0], g->base[1], g->base[2], g->base[3]);
    if ((rc = rd_u32(&r, &g->version, "version")))
        return rc;
    if (g->version == 1)
        return aios_err_set(err, AIOS_EUNSUPPORTED,
                            "GGUF version 1 is not supported (only 2 and 3)");
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xffff) == 0 && g->version != 0)
            return aios_err_set(err, AIOS_EUNSUPPORTED,
                                "GGUF version %" PRIu32
                                " looks byte-swapped: big-endian files are not supported",
                                g->version);
        return aios_err_set(err, AIOS_EUNSUPPORTED,
                            "GGUF version %" PRIu32 " is not supported (only 2 and 3)", g->version);
    }
    if ((rc = rd_u64(&r, &nt, "tensor count")) || (rc = rd_u64(&r, &nkv, "metadata count")))
        return rc;
    if (nkv > left(&r) / MIN_KV_BYTES || nt > left(&r) / MIN_TENSOR_BYTES ||
        nkv * MIN_KV_BYTES + nt * MIN_TENSOR_BYTES > left(&r))
        return aios_err_set(err, AIOS_EFORMAT,
                            "header claims %" PRIu64 " metadata entries and %" PRIu64
                            " tensors, more than the %" PRIu64 " bytes after it can hold",
                            nkv, nt, left(&r));
    if (nkv > UINT32_MAX / 2 || nt > UINT32_MAX / 2)
        return aios_err_set(err, AIOS_ELIMIT, "too many metadata entries or tensors");
    g->n_kv = (int64_t)nkv;
    g->n_tensors = (int64_t)nt;
    /* Tables are bounded by the counts just checked: roughly 6x the file. */
    size_t cap = g->size < SIZE_MAX / 16 ? (size_t)g->size * 8 + (1u << 20) : 0;
    g->arena = aios_arena_create(64 * 1024, cap);
    if (!g->arena)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    r.arena = g->arena;
    if (nkv && !(g->kvs = aios_arena_alloc(g->arena, nkv * sizeof *g->kvs)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory for %" PRIu64 " metadata entries",
                            nkv);
    if (nt && !(g->tensors = aios_arena_alloc(g->arena, nt * sizeof *g->tensors)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory for %" PRIu64 " tensors", nt);
    if (aios_gguf_index_init(&g->kv_ix, nkv) || aios_gguf_index_init(&g->t_ix, nt))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory for the name index");
    if ((rc = read_kvs(g, &r)) || (rc = read_alignment(g, err)) || (rc = read_tensor_infos(g, &r)))
        return rc;
    uint64_t a = g->alignment;
    g->data_offset = (r.pos + a - 1) / a * a;
    if (g->data_offset > g->size) {
        /* A file without tensors needs no data section (nor its padding). */
        if (g->n_tensors > 0)
            return aios_err_set(err, AIOS_EFORMAT,
                                "truncated: data section starts at %" PRIu64
                                " (after padding to %" PRIu64 "), past end of file (size %" PRIu64
                                ")",
                                g->data_offset, a, g->size);
        g->data_offset = g->size;
    }
    return check_data(g, err);
}

int aios_gguf_open_mem(const void *data, size_t size, aios_gguf **out, struct aios_err *err)
{
    *out = NULL;
    if (!data && size)
        return aios_err_set(err, AIOS_EINVAL, "no data");
    aios_gguf *g = aios_calloc(1, sizeof *g);
    if (!g)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    g->base = data;
    g->size = size;
    int rc = size < 4 ? aios_err_set(err, AIOS_EFORMAT,
                                     "not a GGUF file: %zu bytes, too short for the magic", size)
                      : parse(g, err);
    if (rc) {
        aios_gguf_close(g);
        return rc;
    }
    *out = g;
    return AIOS_OK;
}

int aios_gguf_open(const char *path, aios_gguf **out, struct aios_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return aios_err_set(err, errno == ENOENT ? AIOS_ENOTFOUND : AIOS_EIO, "%s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return aios_err_set(err, AIOS_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return aios_err_set(err, AIOS_EINVAL, "%s: not a regular file", path);
    }
    if (st.st_size < 4) {
        close(fd);
        return aios_err_set(err, AIOS_EFORMAT, "%s: not a GGUF file (%lld bytes)", path,
                            (long long)st.st_size);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return aios_err_set(err, AIOS_EIO, "%s: mmap: %s", path, strerror(e));
    int rc = aios_gguf_open_mem(m, (size_t)st.st_size, out, err);
    if (rc) {
        munmap(m, (size_t)st.st_size);
        aios_err_prefix(err, "%s", path);
        return rc;
    }
    (*out)->map = m;
    return AIOS_OK;
}

void aios_gguf_close(aios_gguf *g)
{
    if (!g)
        return;
    if (g->map)
        munmap(g->map, (size_t)g->size);
    aios_gguf_index_free(&g->kv_ix);
    aios_gguf_index_free(&g->t_ix);
    aios_arena_destroy(g->arena);
    aios_free(g);
}

uint32_t aios_gguf_version(const aios_gguf *g)
{
    return g->version;
}
uint64_t aios_gguf_alignment(const aios_gguf *g)
{
    return g->alignment;
}
uint64_t aios_gguf_file_size(const aios_gguf *g)
{
    return g->size;
}
uint64_t aios_gguf_data_offset(const aios_gguf *g)
{
    return g->data_offset;
}
const void *aios_gguf_base(const aios_gguf *g)
{
    return g->base;
}

int64_t aios_gguf_n_kv(const aios_gguf *g)
{
    return g->n_kv;
}

const char *aios_gguf_kv_key(const aios_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_kv ? g->kvs[i].key : NULL;
}

const struct aios_gguf_value *aios_gguf_kv_value(const aios_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_kv ? &g->kvs[i].val : NULL;
}

int64_t aios_gguf_find_kv(const aios_gguf *g, const char *key)
{
    return key ? aios_gguf_index_find(&g->kv_ix, key, strlen(key), kv_name_at, g) : -1;
}

const struct aios_gguf_value *aios_gguf_get(const aios_gguf *g, const char *key)
{
    return aios_gguf_kv_value(g, aios_gguf_find_kv(g, key));
}

int64_t aios_gguf_n_tensors(const aios_gguf *g)
{
    return g->n_tensors;
}

const struct aios_gguf_tensor *aios_gguf_tensor(const aios_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct aios_gguf_tensor *aios_gguf_find_tensor(const aios_gguf *g, const char *name)
{
    if (!name)
        return NULL;
    return aios_gguf_tensor(g,
                            aios_gguf_index_find(&g->t_ix, name, strlen(name), tensor_name_at, g));
}

/* ---- typed getters ---- */

static bool is_unsigned(enum aios_gguf_vtype t)
{
    return t == AIOS_GGUF_UINT8 || t == AIOS_GGUF_UINT16 || t == AIOS_GGUF_UINT32 ||
           t == AIOS_GGUF_UINT64;
}

static bool is_signed(enum aios_gguf_vtype t)
{
    return t == AIOS_GGUF_INT8 || t == AIOS_GGUF_INT16 || t == AIOS_GGUF_INT32 ||
           t == AIOS_GGUF_INT64;
}

static int wrong_type(const char *key, const struct aios_gguf_value *v, const char *want,
                      struct aios_err *err)
{
    return aios_err_set(err, AIOS_EFORMAT, "%s: expected %s, found %s", key, want,
                        aios_gguf_vtype_name(v->type));
}

int aios_gguf_get_u32(const aios_gguf *g, const char *key, uint32_t *out, struct aios_err *err)
{
    const struct aios_gguf_value *v = aios_gguf_get(g, key);
    if (!v)
        return AIOS_ENOTFOUND;
    if (is_unsigned(v->type) && v->v.u64 <= UINT32_MAX)
        *out = (uint32_t)v->v.u64;
    else if (is_signed(v->type) && v->v.i64 >= 0 && v->v.i64 <= (int64_t)UINT32_MAX)
        *out = (uint32_t)v->v.i64;
    else if (is_unsigned(v->type) || is_signed(v->type))
        return aios_err_set(err, AIOS_EFORMAT, "%s: value out of range for uint32", key);
    else
        return wrong_type(key, v, "an integer", err);
    return AIOS_OK;
}

int aios_gguf_get_i64(const aios_gguf *g, const char *key, int64_t *out, struct aios_err *err)
{
    const struct aios_gguf_value *v = aios_gguf_get(g, key);
    if (!v)
        return AIOS_ENOTFOUND;
    if (is_signed(v->type))
        *out = v->v.i64;
    else if (is_unsigned(v->type) && v->v.u64 <= (uint64_t)INT64_MAX)
        *out = (int64_t)v->v.u64;
    else if (is_unsigned(v->type))
        return aios_err_set(err, AIOS_EFORMAT, "%s: value %" PRIu64 " out of range for int64", key,
                            v->v.u64);
    else
        return wrong_type(key, v, "an integer", err);
    return AIOS_OK;
}

int aios_gguf_get_f32(const aios_gguf *g, const char *key, float *out, struct aios_err *err)
{
    const struct aios_gguf_value *v = aios_gguf_get(g, key);
    if (!v)
        return AIOS_ENOTFOUND;
    if (v->type == AIOS_GGUF_FLOAT32)
        *out = (float)v->v.f64;
    else if (v->type == AIOS_GGUF_FLOAT64) {
        if (v->v.f64 > FLT_MAX || v->v.f64 < -FLT_MAX)
            return aios_err_set(err, AIOS_EFORMAT, "%s: value %g out of range for float32", key,
                                v->v.f64);
        *out = (float)v->v.f64;
    } else if (is_signed(v->type))
        *out = (float)v->v.i64;
    else if (is_unsigned(v->type))
        *out = (float)v->v.u64;
    else
        return wrong_type(key, v, "a number", err);
    return AIOS_OK;
}

int aios_gguf_get_bool(const aios_gguf *g, const char *key, bool *out, struct aios_err *err)
{
    const struct aios_gguf_value *v = aios_gguf_get(g, key);
    if (!v)
        return AIOS_ENOTFOUND;
    if (v->type != AIOS_GGUF_BOOL)
        return wrong_type(key, v, "bool", err);
    *out = v->v.u64 != 0;
    return AIOS_OK;
}

int aios_gguf_get_str(const aios_gguf *g, const char *key, char **out, struct aios_err *err)
{
    const struct aios_gguf_value *v = aios_gguf_get(g, key);
    if (!v)
        return AIOS_ENOTFOUND;
    if (v->type != AIOS_GGUF_STRING)
        return wrong_type(key, v, "string", err);
    if (memchr(v->v.str.data, 0, v->v.str.len))
        return aios_err_set(err, AIOS_EFORMAT, "%s: string contains a NUL byte", key);
    char *s = aios_strndup(v->v.str.data, (size_t)v->v.str.len);
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "%s: out of memory", key);
    *out = s;
    return AIOS_OK;
}

int aios_gguf_get_arr(const aios_gguf *g, const char *key, enum aios_gguf_vtype elem_type,
                      const struct aios_gguf_value **out, struct aios_err *err)
{
    const struct aios_gguf_value *v = aios_gguf_get(g, key);
    if (!v)
        return AIOS_ENOTFOUND;
    if (v->type != AIOS_GGUF_ARRAY)
        return wrong_type(key, v, "array", err);
    if (v->v.arr.elem_type != elem_type)
        return aios_err_set(err, AIOS_EFORMAT, "%s: expected an array of %s, found one of %s", key,
                            aios_gguf_vtype_name(elem_type),
                            aios_gguf_vtype_name(v->v.arr.elem_type));
    *out = v;
    return AIOS_OK;
}

/* Element i of a numeric array as the widest type of its kind. */
static bool arr_elem(const struct aios_gguf_value *arr, uint64_t i, int64_t *iv, uint64_t *uv,
                     double *fv, int *kind)
{
    if (!arr || arr->type != AIOS_GGUF_ARRAY || i >= arr->v.arr.n || !arr->v.arr.data)
        return false;
    int sz = aios_gguf_vtype_size(arr->v.arr.elem_type);
    const uint8_t *p = (const uint8_t *)arr->v.arr.data + i * (uint64_t)sz;
    *kind = 0;
    switch (arr->v.arr.elem_type) {
    case AIOS_GGUF_UINT8:
    case AIOS_GGUF_BOOL:
        *uv = p[0];
        break;
    case AIOS_GGUF_INT8:
        *iv = (int8_t)p[0], *kind = 1;
        break;
    case AIOS_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, p, 2);
        *uv = x;
        break;
    }
    case AIOS_GGUF_INT16: {
        int16_t x;
        memcpy(&x, p, 2);
        *iv = x, *kind = 1;
        break;
    }
    case AIOS_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, p, 4);
        *uv = x;
        break;
    }
    case AIOS_GGUF_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        *iv = x, *kind = 1;
        break;
    }
    case AIOS_GGUF_UINT64:
        memcpy(uv, p, 8);
        break;
    case AIOS_GGUF_INT64:
        memcpy(iv, p, 8);
        *kind = 1;
        break;
    case AIOS_GGUF_FLOAT32: {
        float x;
        memcpy(&x, p, 4);
        *fv = x, *kind = 2;
        break;
    }
    case AIOS_GGUF_FLOAT64:
        memcpy(fv, p, 8);
        *kind = 2;
        break;
    default:
        return false;
    }
    return true;
}

int64_t aios_gguf_arr_i64(const struct aios_gguf_value *arr, uint64_t i)
{
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv = 0;
    int kind;
    if (!arr_elem(arr, i, &iv, &uv, &fv, &kind))
        return 0;
    if (kind == 0)
        return (int64_t)uv;
    if (kind == 1)
        return iv;
    if (!(fv >= -9.2e18 && fv <= 9.2e18)) /* NaN and out of range: no UB on conversion */
        return 0;
    return (int64_t)fv;
}

double aios_gguf_arr_f64(const struct aios_gguf_value *arr, uint64_t i)
{
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv = 0;
    int kind;
    if (!arr_elem(arr, i, &iv, &uv, &fv, &kind))
        return 0;
    return kind == 0 ? (double)uv : kind == 1 ? (double)iv : fv;
}
