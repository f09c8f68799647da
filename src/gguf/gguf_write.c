/*
 * gguf writer: collects metadata and tensor infos, then writes a GGUF file
 * in llama.cpp's layout (see gguf.h for the states and the contract).
 *
 * Each metadata value is encoded to its file bytes (type id and value) when
 * it is set, so writing is a concatenation and a value copied from a reader
 * comes out byte for byte as it went in. Tensor offsets are assigned when
 * the file is begun, from the final alignment. Output goes through a sink
 * that is either a buffered temp file (renamed into place at the end) or an
 * aios_buf; the first error sticks and every later write is refused.
 */
#include "gguf/gguf.h"
#include "gguf/gguf_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TENSOR_NAME 63

struct wkv {
    char *key;
    uint8_t *enc; /* u32 type + value bytes */
    size_t enc_len;
};

struct wtensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t size, offset;
    const void *data; /* NULL: streamed */
};

enum wstate { W_BUILDING, W_STREAMING, W_DONE, W_FAILED };

struct sink {
    FILE *f;
    struct aios_buf *buf;
    uint64_t written;
    int rc;
};

struct aios_gguf_writer {
    uint32_t version;
    uint64_t alignment;
    struct wkv *kvs;
    int64_t n_kv, cap_kv;
    struct gguf_index kv_ix;
    struct wtensor *ts;
    int64_t n_t, cap_t;
    struct gguf_index t_ix;
    enum wstate state;
    /* streaming */
    struct sink sink;
    char *path, *tmp;
    int64_t cur;     /* tensor being written */
    uint64_t cur_at; /* bytes of it written */
};

/* ---- sink ---- */

static int sink_put(struct sink *s, const void *p, size_t n, struct aios_err *err)
{
    if (s->rc)
        return s->rc;
    if (s->buf) {
        int rc = aios_buf_append(s->buf, p, n);
        if (rc)
            return s->rc = aios_err_set(err, rc, "gguf: output buffer: %s", aios_status_str(rc));
    } else if (n && fwrite(p, 1, n, s->f) != n) {
        return s->rc = aios_err_set(err, AIOS_EIO, "gguf: write: %s", strerror(errno));
    }
    s->written += n;
    return AIOS_OK;
}

static int sink_pad(struct sink *s, uint64_t align, struct aios_err *err)
{
    static const uint8_t zeros[256];
    uint64_t pad = (align - s->written % align) % align;
    while (pad && !s->rc) {
        size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        sink_put(s, zeros, k, err);
        pad -= k;
    }
    return s->rc;
}

/* ---- names ---- */

static const char *kv_name_at(const void *ctx, uint32_t pos)
{
    return ((const aios_gguf_writer *)ctx)->kvs[pos].key;
}

static const char *t_name_at(const void *ctx, uint32_t pos)
{
    return ((const aios_gguf_writer *)ctx)->ts[pos].name;
}

/* Rebuilds an index for n names (after growth or removal). */
static int reindex(struct gguf_index *ix, int64_t n, int64_t room,
                   const char *(*name_at)(const void *, uint32_t), const void *ctx)
{
    struct gguf_index nix;
    if (aios_gguf_index_init(&nix, (uint64_t)room))
        return AIOS_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        const char *s = name_at(ctx, (uint32_t)i);
        aios_gguf_index_insert(&nix, s, strlen(s), (uint32_t)i, name_at, ctx);
    }
    aios_gguf_index_free(ix);
    *ix = nix;
    return AIOS_OK;
}

int aios_gguf_writer_create(aios_gguf_writer **out, struct aios_err *err)
{
    aios_gguf_writer *w = aios_calloc(1, sizeof *w);
    if (!w)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    w->version = 3;
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    *out = w;
    return AIOS_OK;
}

static void abandon(aios_gguf_writer *w)
{
    if (w->sink.f) {
        fclose(w->sink.f);
        w->sink.f = NULL;
    }
    if (w->tmp) {
        unlink(w->tmp);
        aios_free(w->tmp);
        w->tmp = NULL;
    }
}

void aios_gguf_writer_destroy(aios_gguf_writer *w)
{
    if (!w)
        return;
    abandon(w);
    aios_free(w->path);
    for (int64_t i = 0; i < w->n_kv; i++) {
        aios_free(w->kvs[i].key);
        aios_free(w->kvs[i].enc);
    }
    aios_free(w->kvs);
    for (int64_t i = 0; i < w->n_t; i++)
        aios_free(w->ts[i].name);
    aios_free(w->ts);
    aios_gguf_index_free(&w->kv_ix);
    aios_gguf_index_free(&w->t_ix);
    aios_free(w);
}

static int building(aios_gguf_writer *w, struct aios_err *err)
{
    if (w->state != W_BUILDING)
        return aios_err_set(err, AIOS_ESTATE, "gguf writer: the file has already been begun");
    return AIOS_OK;
}

int aios_gguf_writer_set_version(aios_gguf_writer *w, uint32_t version, struct aios_err *err)
{
    int rc = building(w, err);
    if (rc)
        return rc;
    if (version != 2 && version != 3)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: version %" PRIu32 " (only 2 or 3)",
                            version);
    w->version = version;
    return AIOS_OK;
}

/* ---- metadata ---- */

/* Stores an encoded value under key (takes ownership of enc). */
static int put_kv(aios_gguf_writer *w, const char *key, uint8_t *enc, size_t len,
                  struct aios_err *err)
{
    int rc = building(w, err);
    if (!rc && !key)
        rc = aios_err_set(err, AIOS_EINVAL, "gguf writer: NULL key");
    uint32_t type;
    memcpy(&type, enc, 4);
    if (!rc && strcmp(key, "general.alignment") == 0) {
        uint32_t a = 0;
        if (type != AIOS_GGUF_UINT32)
            rc = aios_err_set(err, AIOS_EINVAL, "general.alignment must be a uint32, not %s",
                              aios_gguf_vtype_name(type));
        else {
            memcpy(&a, enc + 4, 4);
            if (a == 0 || (a & (a - 1)))
                rc = aios_err_set(err, AIOS_EINVAL,
                                  "general.alignment = %" PRIu32 " is not a power of two", a);
        }
        if (!rc)
            w->alignment = a;
    }
    if (rc) {
        aios_free(enc);
        return rc;
    }
    int64_t at = aios_gguf_index_find(&w->kv_ix, key, strlen(key), kv_name_at, w);
    if (at >= 0) {
        aios_free(w->kvs[at].enc);
        w->kvs[at].enc = enc;
        w->kvs[at].enc_len = len;
        return AIOS_OK;
    }
    if (w->n_kv == w->cap_kv) {
        int64_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
        struct wkv *k = aios_realloc(w->kvs, (size_t)cap * sizeof *k);
        if (k)
            w->kvs = k;
        if (!k || reindex(&w->kv_ix, w->n_kv, cap, kv_name_at, w)) {
            aios_free(enc);
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        }
        w->cap_kv = cap;
    }
    char *kc = aios_strdup(key);
    if (!kc) {
        aios_free(enc);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    w->kvs[w->n_kv] = (struct wkv){kc, enc, len};
    aios_gguf_index_insert(&w->kv_ix, kc, strlen(kc), (uint32_t)w->n_kv, kv_name_at, w);
    w->n_kv++;
    return AIOS_OK;
}

static int set_scalar(aios_gguf_writer *w, const char *key, uint32_t type, const void *v,
                      struct aios_err *err)
{
    int sz = aios_gguf_vtype_size(type);
    uint8_t *enc = aios_malloc(4 + (size_t)sz);
    if (!enc)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    memcpy(enc, &type, 4);
    memcpy(enc + 4, v, (size_t)sz);
    return put_kv(w, key, enc, 4 + (size_t)sz, err);
}

#define SETTER(suffix, ctype, vt)                                                                  \
    int aios_gguf_writer_set_##suffix(aios_gguf_writer *w, const char *key, ctype v,               \
                                      struct aios_err *err)                                        \
    {                                                                                              \
        return set_scalar(w, key, vt, &v, err);                                                    \
    }
SETTER(u8, uint8_t, AIOS_GGUF_UINT8)
SETTER(i8, int8_t, AIOS_GGUF_INT8)
SETTER(u16, uint16_t, AIOS_GGUF_UINT16)
SETTER(i16, int16_t, AIOS_GGUF_INT16)
SETTER(u32, uint32_t, AIOS_GGUF_UINT32)
SETTER(i32, int32_t, AIOS_GGUF_INT32)
SETTER(u64, uint64_t, AIOS_GGUF_UINT64)
SETTER(i64, int64_t, AIOS_GGUF_INT64)
SETTER(f32, float, AIOS_GGUF_FLOAT32)
SETTER(f64, double, AIOS_GGUF_FLOAT64)
#undef SETTER

int aios_gguf_writer_set_bool(aios_gguf_writer *w, const char *key, bool v, struct aios_err *err)
{
    uint8_t b = v ? 1 : 0;
    return set_scalar(w, key, AIOS_GGUF_BOOL, &b, err);
}

/* Growable encoding buffer; the bound is the allocator's limit. */
struct enc {
    struct aios_buf b;
};

static int enc_put(struct enc *e, const void *p, size_t n)
{
    return aios_buf_append(&e->b, p, n);
}
static int enc_u32(struct enc *e, uint32_t v)
{
    return enc_put(e, &v, 4);
}
static int enc_u64(struct enc *e, uint64_t v)
{
    return enc_put(e, &v, 8);
}
static int enc_str(struct enc *e, const char *s, uint64_t len)
{
    int rc = enc_u64(e, len);
    return rc ? rc : enc_put(e, s, (size_t)len);
}

static int enc_finish(aios_gguf_writer *w, const char *key, struct enc *e, int rc,
                      struct aios_err *err)
{
    if (rc) {
        aios_buf_free(&e->b);
        return aios_err_set(err, rc, "gguf writer: %s: %s", key ? key : "(null)",
                            aios_status_str(rc));
    }
    size_t len = e->b.len;
    return put_kv(w, key, (uint8_t *)aios_buf_detach(&e->b), len, err);
}

int aios_gguf_writer_set_strn(aios_gguf_writer *w, const char *key, const char *s, size_t len,
                              struct aios_err *err)
{
    struct enc e;
    aios_buf_init(&e.b, SIZE_MAX / 2);
    int rc = enc_u32(&e, AIOS_GGUF_STRING);
    if (!rc)
        rc = enc_str(&e, s, len);
    return enc_finish(w, key, &e, rc, err);
}

int aios_gguf_writer_set_str(aios_gguf_writer *w, const char *key, const char *s,
                             struct aios_err *err)
{
    if (!s)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: %s: NULL string", key);
    return aios_gguf_writer_set_strn(w, key, s, strlen(s), err);
}

static int check_bools(const uint8_t *p, uint64_t n, const char *key, struct aios_err *err)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] > 1)
            return aios_err_set(err, AIOS_EINVAL, "gguf writer: %s: bool element %" PRIu64 " is %u",
                                key, i, p[i]);
    return AIOS_OK;
}

int aios_gguf_writer_set_arr(aios_gguf_writer *w, const char *key, enum aios_gguf_vtype elem_type,
                             const void *data, uint64_t n, struct aios_err *err)
{
    int esz = aios_gguf_vtype_size(elem_type);
    if (esz <= 0)
        return aios_err_set(err, AIOS_EINVAL,
                            "gguf writer: %s: set_arr takes fixed-size elements, not %s", key,
                            aios_gguf_vtype_name(elem_type));
    if (n > SIZE_MAX / (uint64_t)esz || (n && !data))
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: %s: bad array", key);
    if (elem_type == AIOS_GGUF_BOOL && check_bools(data, n, key, err))
        return AIOS_EINVAL;
    struct enc e;
    aios_buf_init(&e.b, SIZE_MAX / 2);
    int rc = enc_u32(&e, AIOS_GGUF_ARRAY);
    if (!rc)
        rc = enc_u32(&e, elem_type);
    if (!rc)
        rc = enc_u64(&e, n);
    if (!rc)
        rc = enc_put(&e, data, (size_t)n * (size_t)esz);
    return enc_finish(w, key, &e, rc, err);
}

int aios_gguf_writer_set_arr_str(aios_gguf_writer *w, const char *key, const char *const *strs,
                                 uint64_t n, struct aios_err *err)
{
    struct enc e;
    aios_buf_init(&e.b, SIZE_MAX / 2);
    int rc = enc_u32(&e, AIOS_GGUF_ARRAY);
    if (!rc)
        rc = enc_u32(&e, AIOS_GGUF_STRING);
    if (!rc)
        rc = enc_u64(&e, n);
    for (uint64_t i = 0; i < n && !rc; i++)
        rc = strs[i] ? enc_str(&e, strs[i], strlen(strs[i])) : AIOS_EINVAL;
    return enc_finish(w, key, &e, rc, err);
}

/* Encodes an array body (element type, count, elements). */
static int enc_array(struct enc *e, const struct aios_gguf_value *v, int depth)
{
    if (v->type != AIOS_GGUF_ARRAY || depth > GGUF_MAX_ARRAY_DEPTH)
        return AIOS_EINVAL;
    uint32_t et = v->v.arr.elem_type;
    uint64_t n = v->v.arr.n;
    int esz = aios_gguf_vtype_size(et);
    int rc = esz < 0 ? AIOS_EINVAL : enc_u32(e, et);
    if (!rc)
        rc = enc_u64(e, n);
    if (rc || n == 0)
        return rc;
    if (esz > 0) {
        if (!v->v.arr.data || n > SIZE_MAX / (uint64_t)esz)
            return AIOS_EINVAL;
        if (et == AIOS_GGUF_BOOL && check_bools(v->v.arr.data, n, "", NULL))
            return AIOS_EINVAL;
        return enc_put(e, v->v.arr.data, (size_t)n * (size_t)esz);
    }
    if (et == AIOS_GGUF_STRING) {
        if (!v->v.arr.strs)
            return AIOS_EINVAL;
        for (uint64_t i = 0; i < n && !rc; i++)
            rc = enc_str(e, v->v.arr.strs[i].data, v->v.arr.strs[i].len);
        return rc;
    }
    if (!v->v.arr.arrs)
        return AIOS_EINVAL;
    for (uint64_t i = 0; i < n && !rc; i++)
        rc = enc_array(e, &v->v.arr.arrs[i], depth + 1);
    return rc;
}

int aios_gguf_writer_set_value(aios_gguf_writer *w, const char *key,
                               const struct aios_gguf_value *v, struct aios_err *err)
{
    if (!v)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: %s: NULL value", key);
    struct enc e;
    aios_buf_init(&e.b, SIZE_MAX / 2);
    int rc = enc_u32(&e, v->type);
    int sz = aios_gguf_vtype_size(v->type);
    if (rc)
        ;
    else if (sz < 0)
        rc = AIOS_EINVAL;
    else if (v->type == AIOS_GGUF_STRING)
        rc = enc_str(&e, v->v.str.data, v->v.str.len);
    else if (v->type == AIOS_GGUF_ARRAY)
        rc = enc_array(&e, v, 0);
    else {
        /* scalars: narrow from the widened reader representation */
        uint8_t u8 = (uint8_t)v->v.u64;
        uint16_t u16 = (uint16_t)v->v.u64;
        uint32_t u32 = (uint32_t)v->v.u64;
        int8_t i8 = (int8_t)v->v.i64;
        int16_t i16 = (int16_t)v->v.i64;
        int32_t i32 = (int32_t)v->v.i64;
        float f = (float)v->v.f64;
        const void *p = NULL;
        switch (v->type) {
        case AIOS_GGUF_UINT8:
            p = &u8;
            break;
        case AIOS_GGUF_BOOL:
            u8 = v->v.u64 != 0;
            p = &u8;
            break;
        case AIOS_GGUF_INT8:
            p = &i8;
            break;
        case AIOS_GGUF_UINT16:
            p = &u16;
            break;
        case AIOS_GGUF_INT16:
            p = &i16;
            break;
        case AIOS_GGUF_UINT32:
            p = &u32;
            break;
        case AIOS_GGUF_INT32:
            p = &i32;
            break;
        case AIOS_GGUF_FLOAT32:
            p = &f;
            break;
        default: /* 64-bit types: the union member itself */
            p = &v->v;
            break;
        }
        rc = enc_put(&e, p, (size_t)sz);
    }
    if (rc == AIOS_EINVAL) {
        aios_buf_free(&e.b);
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: %s: malformed %s value",
                            key ? key : "(null)", aios_gguf_vtype_name(v->type));
    }
    return enc_finish(w, key, &e, rc, err);
}

int aios_gguf_writer_copy_kv(aios_gguf_writer *w, const aios_gguf *g, int64_t i,
                             struct aios_err *err)
{
    const char *key = aios_gguf_kv_key(g, i);
    if (!key)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: no kv %" PRId64, i);
    return aios_gguf_writer_set_value(w, key, aios_gguf_kv_value(g, i), err);
}

int aios_gguf_writer_copy_all_kv(aios_gguf_writer *w, const aios_gguf *g, struct aios_err *err)
{
    for (int64_t i = 0; i < aios_gguf_n_kv(g); i++) {
        int rc = aios_gguf_writer_copy_kv(w, g, i, err);
        if (rc)
            return rc;
    }
    return AIOS_OK;
}

int aios_gguf_writer_remove_kv(aios_gguf_writer *w, const char *key, struct aios_err *err)
{
    int rc = building(w, err);
    if (rc)
        return rc;
    int64_t at = key ? aios_gguf_index_find(&w->kv_ix, key, strlen(key), kv_name_at, w) : -1;
    if (at < 0)
        return AIOS_ENOTFOUND;
    aios_free(w->kvs[at].key);
    aios_free(w->kvs[at].enc);
    memmove(&w->kvs[at], &w->kvs[at + 1], (size_t)(w->n_kv - at - 1) * sizeof *w->kvs);
    w->n_kv--;
    if (strcmp(key, "general.alignment") == 0)
        w->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (reindex(&w->kv_ix, w->n_kv, w->cap_kv, kv_name_at, w))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    return AIOS_OK;
}

int64_t aios_gguf_writer_n_kv(const aios_gguf_writer *w)
{
    return w->n_kv;
}

/* ---- tensors ---- */

int aios_gguf_writer_add_tensor(aios_gguf_writer *w, const char *name, uint32_t type,
                                uint32_t n_dims, const int64_t *ne, const void *data,
                                struct aios_err *err)
{
    int rc = building(w, err);
    if (rc)
        return rc;
    if (!name || !*name || strlen(name) > MAX_TENSOR_NAME)
        return aios_err_set(err, AIOS_EINVAL,
                            "gguf writer: tensor name '%.80s' is empty or longer than %d bytes",
                            name ? name : "", MAX_TENSOR_NAME);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || !ne)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: tensor '%s': %" PRIu32 " dimensions",
                            name, n_dims);
    struct wtensor t = {.type = type, .n_dims = n_dims, .data = data};
    uint64_t rows = 1;
    bool ovf = false;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = (uint32_t)d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0)
            return aios_err_set(err, AIOS_EINVAL, "gguf writer: tensor '%s': negative dimension",
                                name);
        if (d > 0)
            ovf |= __builtin_mul_overflow(rows, (uint64_t)t.ne[d], &rows);
    }
    uint64_t row_bytes;
    rc = aios_ggml_type_row_bytes(type, t.ne[0], &row_bytes);
    if (rc == AIOS_EINVAL)
        return aios_err_set(err, AIOS_EINVAL,
                            "gguf writer: tensor '%s': type %s (%" PRIu32 ") with rows of %" PRId64
                            " elements",
                            name, aios_ggml_type_name(type), type, t.ne[0]);
    uint64_t nel;
    if (rc || ovf || __builtin_mul_overflow(row_bytes, rows, &t.size) ||
        __builtin_mul_overflow(rows, (uint64_t)t.ne[0], &nel) || nel > INT64_MAX)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: tensor '%s': shape overflows", name);
    if (aios_gguf_index_find(&w->t_ix, name, strlen(name), t_name_at, w) >= 0)
        return aios_err_set(err, AIOS_EEXIST, "gguf writer: duplicate tensor '%s'", name);
    if (w->n_t == w->cap_t) {
        int64_t cap = w->cap_t ? 2 * w->cap_t : 64;
        struct wtensor *ts = aios_realloc(w->ts, (size_t)cap * sizeof *ts);
        if (ts)
            w->ts = ts;
        if (!ts || reindex(&w->t_ix, w->n_t, cap, t_name_at, w))
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        w->cap_t = cap;
    }
    if (!(t.name = aios_strdup(name)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    w->ts[w->n_t] = t;
    aios_gguf_index_insert(&w->t_ix, t.name, strlen(t.name), (uint32_t)w->n_t, t_name_at, w);
    w->n_t++;
    return AIOS_OK;
}

int aios_gguf_writer_copy_tensor(aios_gguf_writer *w, const aios_gguf *g, int64_t i,
                                 struct aios_err *err)
{
    const struct aios_gguf_tensor *t = aios_gguf_tensor(g, i);
    if (!t)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: no tensor %" PRId64, i);
    uint32_t nd = t->n_dims ? t->n_dims : 1;
    return aios_gguf_writer_add_tensor(w, t->name, t->type, nd, t->ne, t->data, err);
}

int64_t aios_gguf_writer_n_tensors(const aios_gguf_writer *w)
{
    return w->n_t;
}

uint64_t aios_gguf_writer_tensor_size(const aios_gguf_writer *w, int64_t i)
{
    return i >= 0 && i < w->n_t ? w->ts[i].size : 0;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

static uint64_t meta_size(const aios_gguf_writer *w)
{
    uint64_t n = 4 + 4 + 8 + 8;
    for (int64_t i = 0; i < w->n_kv; i++)
        n += 8 + strlen(w->kvs[i].key) + w->kvs[i].enc_len;
    for (int64_t i = 0; i < w->n_t; i++)
        n += 8 + strlen(w->ts[i].name) + 4 + 8 * (uint64_t)w->ts[i].n_dims + 4 + 8;
    return n;
}

uint64_t aios_gguf_writer_file_size(const aios_gguf_writer *w)
{
    uint64_t n = meta_size(w);
    if (w->n_t == 0)
        return n;
    n = align_up(n, w->alignment);
    for (int64_t i = 0; i < w->n_t; i++)
        n += align_up(w->ts[i].size, w->alignment);
    return n;
}

/* ---- output ---- */

/* Header, metadata, tensor infos, padding; assigns offsets. */
static int write_meta(aios_gguf_writer *w, struct sink *s, struct aios_err *err)
{
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        w->ts[i].offset = off;
        off += align_up(w->ts[i].size, w->alignment);
    }
    uint32_t magic = GGUF_MAGIC;
    uint64_t nt = (uint64_t)w->n_t, nkv = (uint64_t)w->n_kv;
    sink_put(s, &magic, 4, err);
    sink_put(s, &w->version, 4, err);
    sink_put(s, &nt, 8, err);
    sink_put(s, &nkv, 8, err);
    for (int64_t i = 0; i < w->n_kv; i++) {
        uint64_t len = strlen(w->kvs[i].key);
        sink_put(s, &len, 8, err);
        sink_put(s, w->kvs[i].key, (size_t)len, err);
        sink_put(s, w->kvs[i].enc, w->kvs[i].enc_len, err);
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        const struct wtensor *t = &w->ts[i];
        uint64_t len = strlen(t->name);
        sink_put(s, &len, 8, err);
        sink_put(s, t->name, (size_t)len, err);
        sink_put(s, &t->n_dims, 4, err);
        sink_put(s, t->ne, 8 * (size_t)t->n_dims, err);
        sink_put(s, &t->type, 4, err);
        sink_put(s, &t->offset, 8, err);
    }
    if (w->n_t)
        sink_pad(s, w->alignment, err);
    return s->rc;
}

/* Writes the data of tensors with buffers from w->cur on, stopping at the
 * first one that is streamed. */
static int flush_buffered(aios_gguf_writer *w, struct aios_err *err)
{
    while (w->cur < w->n_t && w->ts[w->cur].data) {
        const struct wtensor *t = &w->ts[w->cur];
        if (sink_put(&w->sink, t->data, (size_t)t->size, err) ||
            sink_pad(&w->sink, w->alignment, err))
            return w->sink.rc;
        w->cur++;
    }
    return AIOS_OK;
}

int aios_gguf_writer_to_buf(aios_gguf_writer *w, struct aios_buf *out, struct aios_err *err)
{
    int rc = building(w, err);
    if (rc)
        return rc;
    for (int64_t i = 0; i < w->n_t; i++)
        if (!w->ts[i].data)
            return aios_err_set(err, AIOS_ESTATE, "gguf writer: tensor '%s' has no data",
                                w->ts[i].name);
    struct sink s = {.buf = out};
    if (write_meta(w, &s, err))
        return s.rc;
    for (int64_t i = 0; i < w->n_t; i++)
        if (sink_put(&s, w->ts[i].data, (size_t)w->ts[i].size, err) ||
            sink_pad(&s, w->alignment, err))
            return s.rc;
    return AIOS_OK;
}

static int fail(aios_gguf_writer *w, int rc)
{
    w->state = W_FAILED;
    abandon(w);
    return rc;
}

int aios_gguf_writer_begin(aios_gguf_writer *w, const char *path, struct aios_err *err)
{
    int rc = building(w, err);
    if (rc)
        return rc;
    if (!path || !*path)
        return aios_err_set(err, AIOS_EINVAL, "gguf writer: no output path");
    size_t n = strlen(path) + 16;
    w->path = aios_strdup(path);
    w->tmp = aios_malloc(n);
    if (!w->path || !w->tmp)
        return fail(w, aios_err_set(err, AIOS_ENOMEM, "out of memory"));
    snprintf(w->tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        rc = aios_err_set(err, AIOS_EIO, "%s: cannot create a temporary file: %s", path,
                          strerror(errno));
        aios_free(w->tmp);
        w->tmp = NULL;
        return fail(w, rc);
    }
    (void)fchmod(fd, 0644);
    w->sink = (struct sink){.f = fdopen(fd, "wb")};
    if (!w->sink.f) {
        close(fd);
        return fail(w, aios_err_set(err, AIOS_EIO, "%s: %s", w->tmp, strerror(errno)));
    }
    setvbuf(w->sink.f, NULL, _IOFBF, 1 << 20);
    w->state = W_STREAMING;
    w->cur = 0;
    w->cur_at = 0;
    if ((rc = write_meta(w, &w->sink, err)) || (rc = flush_buffered(w, err))) {
        aios_err_prefix(err, "%s", path);
        return fail(w, rc);
    }
    return AIOS_OK;
}

int aios_gguf_writer_write_data(aios_gguf_writer *w, const void *data, size_t n,
                                struct aios_err *err)
{
    if (w->state != W_STREAMING)
        return aios_err_set(err, AIOS_ESTATE, "gguf writer: write_data outside begin/finish");
    const uint8_t *p = data;
    while (n) {
        if (w->cur >= w->n_t)
            return fail(w,
                        aios_err_set(err, AIOS_EINVAL,
                                     "gguf writer: %zu bytes of data beyond the last tensor", n));
        struct wtensor *t = &w->ts[w->cur];
        uint64_t need = t->size - w->cur_at;
        size_t k = n < need ? n : (size_t)need;
        if (sink_put(&w->sink, p, k, err))
            return fail(w, w->sink.rc);
        p += k;
        n -= k;
        w->cur_at += k;
        if (w->cur_at == t->size) {
            w->cur++;
            w->cur_at = 0;
            if (sink_pad(&w->sink, w->alignment, err) || flush_buffered(w, err))
                return fail(w, w->sink.rc);
        }
    }
    return AIOS_OK;
}

int aios_gguf_writer_finish(aios_gguf_writer *w, struct aios_err *err)
{
    if (w->state != W_STREAMING)
        return aios_err_set(err, AIOS_ESTATE, "gguf writer: finish without begin");
    /* zero-size streamed tensors need no bytes: step over them */
    while (w->cur < w->n_t && !w->ts[w->cur].data && w->ts[w->cur].size == 0) {
        w->cur++;
        if (flush_buffered(w, err))
            return fail(w, w->sink.rc);
    }
    if (w->cur < w->n_t)
        return fail(w, aios_err_set(err, AIOS_ESTATE,
                                    "gguf writer: tensor '%s' is missing %" PRIu64 " bytes of data",
                                    w->ts[w->cur].name, w->ts[w->cur].size - w->cur_at));
    FILE *f = w->sink.f;
    w->sink.f = NULL;
    int rc = AIOS_OK;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = aios_err_set(err, AIOS_EIO, "%s: %s", w->tmp, strerror(errno));
    if (fclose(f) != 0 && !rc)
        rc = aios_err_set(err, AIOS_EIO, "%s: %s", w->tmp, strerror(errno));
    if (!rc && rename(w->tmp, w->path) != 0)
        rc = aios_err_set(err, AIOS_EIO, "rename to %s: %s", w->path, strerror(errno));
    if (rc)
        return fail(w, rc);
    aios_free(w->tmp);
    w->tmp = NULL;
    w->state = W_DONE;
    return AIOS_OK;
}

int aios_gguf_writer_write(aios_gguf_writer *w, const char *path, struct aios_err *err)
{
    for (int64_t i = 0; i < w->n_t; i++)
        if (!w->ts[i].data)
            return aios_err_set(err, AIOS_ESTATE,
                                "gguf writer: tensor '%s' has no data (stream it with begin, "
                                "write_data and finish)",
                                w->ts[i].name);
    int rc = aios_gguf_writer_begin(w, path, err);
    return rc ? rc : aios_gguf_writer_finish(w, err);
}
