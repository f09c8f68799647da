/*
 * Unit tests of src/gguf: the reader on small files assembled byte by byte
 * here (so that every field's position is known and can be corrupted), a
 * corpus of truncated and corrupted variants that must each fail with the
 * right status and message (and never crash: this runs under make asan),
 * and the writer: every value type, streamed tensor data, alignment, the
 * temp-file-and-rename discipline, and read -> write -> read round trips.
 */
#include "test.h"

#include "gguf/gguf.h"
#include "gguf_util.h"

#include <dirent.h>

#include <unistd.h>

/* ---- a raw GGUF builder that remembers where fields are ---- */

struct raw {
    struct aios_buf b;
    /* positions of fields the corruption cases patch */
    size_t p_version, p_ntensors, p_nkv;
    size_t p_key2_name; /* "test.bbb" name bytes */
    size_t p_str_len;   /* length of general.architecture's value */
    size_t p_f32_type;  /* value type of test.f32 */
    size_t p_align_val; /* value of general.alignment */
    size_t p_arr_etype; /* element type of tokenizer.ggml.tokens */
    size_t p_arr_n;     /* count of tokenizer.ggml.tokens */
    size_t p_tok1_len;  /* length of the second token string */
    size_t p_nested_n;  /* count of the outer nested array */
    size_t p_bool_val;  /* first element of test.bools */
    size_t p_t1_name;   /* tensor "tb" name bytes */
    size_t p_t0_ndims;  /* n_dims of tensor "ta" */
    size_t p_t1_ne0, p_t1_ne1, p_t1_type, p_t1_off;
    size_t data_off;
};

static void put(struct raw *r, const void *p, size_t n)
{
    CHECK(aios_buf_append(&r->b, p, n) == AIOS_OK);
}
static void put_u32(struct raw *r, uint32_t v)
{
    put(r, &v, 4);
}
static void put_u64(struct raw *r, uint64_t v)
{
    put(r, &v, 8);
}
static void put_str(struct raw *r, const char *s)
{
    put_u64(r, strlen(s));
    put(r, s, strlen(s));
}

static void patch_u32(struct aios_buf *b, size_t at, uint32_t v)
{
    memcpy(b->data + at, &v, 4);
}
static void patch_u64(struct aios_buf *b, size_t at, uint64_t v)
{
    memcpy(b->data + at, &v, 8);
}

/* Tensor "ta": F32 [8, 2] at 0 (64 bytes); "tb": Q8_0 [32, 16] at 64 (544
 * bytes), ending the file exactly, so every proper prefix is truncated. */
static void raw_build(struct raw *r)
{
    memset(r, 0, sizeof *r);
    aios_buf_init(&r->b, 1 << 20);
    put(r, "GGUF", 4);
    r->p_version = r->b.len;
    put_u32(r, 3);
    r->p_ntensors = r->b.len;
    put_u64(r, 2);
    r->p_nkv = r->b.len;
    put_u64(r, 8);

    put_str(r, "general.architecture");
    put_u32(r, AIOS_GGUF_STRING);
    r->p_str_len = r->b.len;
    put_str(r, "llama");

    put_str(r, "general.alignment");
    put_u32(r, AIOS_GGUF_UINT32);
    r->p_align_val = r->b.len;
    put_u32(r, 32);

    put_str(r, "test.aaa");
    put_u32(r, AIOS_GGUF_INT64);
    put_u64(r, (uint64_t)-5);

    r->p_key2_name = r->b.len + 8;
    put_str(r, "test.bbb");
    put_u32(r, AIOS_GGUF_UINT16);
    uint16_t u16 = 65535;
    put(r, &u16, 2);

    put_str(r, "test.f32");
    r->p_f32_type = r->b.len;
    put_u32(r, AIOS_GGUF_FLOAT32);
    float f = 1.5f;
    put(r, &f, 4);

    put_str(r, "tokenizer.ggml.tokens");
    put_u32(r, AIOS_GGUF_ARRAY);
    r->p_arr_etype = r->b.len;
    put_u32(r, AIOS_GGUF_STRING);
    r->p_arr_n = r->b.len;
    put_u64(r, 3);
    put_str(r, "a");
    r->p_tok1_len = r->b.len;
    put_str(r, "bb");
    put_str(r, "\xe2\x96\x81x");

    put_str(r, "test.nested"); /* [[1, 2], [3]] of int32 */
    put_u32(r, AIOS_GGUF_ARRAY);
    put_u32(r, AIOS_GGUF_ARRAY);
    r->p_nested_n = r->b.len;
    put_u64(r, 2);
    put_u32(r, AIOS_GGUF_INT32);
    put_u64(r, 2);
    put_u32(r, 1);
    put_u32(r, 2);
    put_u32(r, AIOS_GGUF_INT32);
    put_u64(r, 1);
    put_u32(r, 3);

    put_str(r, "test.bools");
    put_u32(r, AIOS_GGUF_ARRAY);
    put_u32(r, AIOS_GGUF_BOOL);
    put_u64(r, 2);
    r->p_bool_val = r->b.len;
    put(r, "\x01\x00", 2);

    put_str(r, "ta");
    r->p_t0_ndims = r->b.len;
    put_u32(r, 2);
    put_u64(r, 8);
    put_u64(r, 2);
    put_u32(r, AIOS_GGML_F32);
    put_u64(r, 0);

    r->p_t1_name = r->b.len + 8;
    put_str(r, "tb");
    put_u32(r, 2);
    r->p_t1_ne0 = r->b.len;
    put_u64(r, 32);
    r->p_t1_ne1 = r->b.len;
    put_u64(r, 16);
    r->p_t1_type = r->b.len;
    put_u32(r, AIOS_GGML_Q8_0);
    r->p_t1_off = r->b.len;
    put_u64(r, 64);

    while (r->b.len % 32)
        put(r, "", 1);
    r->data_off = r->b.len;
    for (int i = 0; i < 16; i++) {
        float x = (float)i;
        put(r, &x, 4);
    }
    for (int i = 0; i < 544; i++) {
        uint8_t x = (uint8_t)(i * 7);
        put(r, &x, 1);
    }
}

/* Opens a private copy of exactly n bytes, so that ASan sees any read past
 * the end. */
static int open_copy(const void *p, size_t n, aios_gguf **g, struct aios_err *err)
{
    void *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    int rc = aios_gguf_open_mem(c, n, g, err);
    if (rc == AIOS_OK) {
        /* touch every kv and tensor while the copy is alive */
        for (int64_t i = 0; i < aios_gguf_n_kv(*g); i++)
            (void)aios_gguf_kv_value(*g, i)->type;
        aios_gguf_close(*g);
        *g = NULL;
    }
    free(c);
    return rc;
}

static void test_read_valid(void)
{
    struct raw r;
    raw_build(&r);
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    int rc = aios_gguf_open_mem(r.b.data, r.b.len, &g, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    if (rc)
        goto out;
    CHECK_EQ_INT(aios_gguf_version(g), 3);
    CHECK_EQ_INT(aios_gguf_alignment(g), 32);
    CHECK_EQ_INT(aios_gguf_data_offset(g), r.data_off);
    CHECK_EQ_INT(aios_gguf_file_size(g), r.b.len);
    CHECK_EQ_INT(aios_gguf_n_kv(g), 8);
    CHECK_EQ_STR(aios_gguf_kv_key(g, 2), "test.aaa");
    CHECK(aios_gguf_kv_key(g, 8) == NULL && aios_gguf_kv_key(g, -1) == NULL);
    CHECK_EQ_INT(aios_gguf_find_kv(g, "test.bbb"), 3);
    CHECK_EQ_INT(aios_gguf_find_kv(g, "test.bb"), -1);
    CHECK_EQ_INT(aios_gguf_find_kv(g, "nope"), -1);

    char *s = NULL;
    CHECK_EQ_INT(aios_gguf_get_str(g, "general.architecture", &s, &err), AIOS_OK);
    CHECK_EQ_STR(s, "llama");
    aios_free(s);
    int64_t i64 = 0;
    CHECK_EQ_INT(aios_gguf_get_i64(g, "test.aaa", &i64, &err), AIOS_OK);
    CHECK_EQ_INT(i64, -5);
    uint32_t u32 = 0;
    /* -5 does not fit a uint32: a format error naming the key */
    CHECK_EQ_INT(aios_gguf_get_u32(g, "test.aaa", &u32, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, "test.aaa") != NULL);
    CHECK_EQ_INT(aios_gguf_get_u32(g, "test.bbb", &u32, &err), AIOS_OK);
    CHECK_EQ_INT(u32, 65535);
    float f = 0;
    CHECK_EQ_INT(aios_gguf_get_f32(g, "test.f32", &f, &err), AIOS_OK);
    CHECK(f == 1.5f);
    CHECK_EQ_INT(aios_gguf_get_f32(g, "test.bbb", &f, &err), AIOS_OK); /* int -> float */
    CHECK(f == 65535.0f);
    CHECK_EQ_INT(aios_gguf_get_str(g, "test.f32", &s, &err), AIOS_EFORMAT);
    bool bv;
    CHECK_EQ_INT(aios_gguf_get_bool(g, "test.f32", &bv, &err), AIOS_EFORMAT);
    struct aios_err untouched = {.code = 42};
    CHECK_EQ_INT(aios_gguf_get_u32(g, "absent", &u32, &untouched), AIOS_ENOTFOUND);
    CHECK_EQ_INT(untouched.code, 42);

    const struct aios_gguf_value *a = NULL;
    CHECK_EQ_INT(aios_gguf_get_arr(g, "tokenizer.ggml.tokens", AIOS_GGUF_STRING, &a, &err),
                 AIOS_OK);
    CHECK_EQ_INT(aios_gguf_get_arr(g, "tokenizer.ggml.tokens", AIOS_GGUF_INT32, &a, &err),
                 AIOS_EFORMAT);
    a = aios_gguf_get(g, "tokenizer.ggml.tokens");
    CHECK(a && a->v.arr.n == 3 && a->v.arr.strs[1].len == 2 &&
          memcmp(a->v.arr.strs[1].data, "bb", 2) == 0 && a->v.arr.strs[2].len == 4);
    a = aios_gguf_get(g, "test.nested");
    CHECK(a && a->v.arr.elem_type == AIOS_GGUF_ARRAY && a->v.arr.n == 2);
    if (a && a->v.arr.arrs) {
        CHECK_EQ_INT(a->v.arr.arrs[0].v.arr.n, 2);
        CHECK_EQ_INT(aios_gguf_arr_i64(&a->v.arr.arrs[0], 1), 2);
        CHECK_EQ_INT(aios_gguf_arr_i64(&a->v.arr.arrs[1], 0), 3);
        CHECK_EQ_INT(aios_gguf_arr_i64(&a->v.arr.arrs[1], 1), 0); /* out of range */
        CHECK(aios_gguf_arr_f64(&a->v.arr.arrs[0], 0) == 1.0);
    }
    a = aios_gguf_get(g, "test.bools");
    CHECK(a && a->v.arr.elem_type == AIOS_GGUF_BOOL && aios_gguf_arr_i64(a, 0) == 1 &&
          aios_gguf_arr_i64(a, 1) == 0);

    CHECK_EQ_INT(aios_gguf_n_tensors(g), 2);
    const struct aios_gguf_tensor *t = aios_gguf_find_tensor(g, "tb");
    CHECK(t && t == aios_gguf_tensor(g, 1));
    if (t) {
        CHECK_EQ_INT(t->type, AIOS_GGML_Q8_0);
        CHECK_EQ_INT(t->n_dims, 2);
        CHECK(t->ne[0] == 32 && t->ne[1] == 16 && t->ne[2] == 1 && t->ne[3] == 1);
        CHECK_EQ_INT(t->size, 544);
        CHECK(t->data == (const uint8_t *)r.b.data + r.data_off + 64);
    }
    t = aios_gguf_find_tensor(g, "ta");
    CHECK(t && t->size == 64);
    if (t) {
        float x;
        memcpy(&x, (const uint8_t *)t->data + 4 * 5, 4);
        CHECK(x == 5.0f);
    }
    CHECK(aios_gguf_find_tensor(g, "t") == NULL);
    aios_gguf_close(g);
out:
    aios_buf_free(&r.b);
}

static void test_truncated_prefixes(void)
{
    struct raw r;
    raw_build(&r);
    int failures_ok = 0;
    for (size_t n = 0; n < r.b.len; n++) {
        aios_gguf *g = NULL;
        struct aios_err err = {0};
        int rc = open_copy(r.b.data, n, &g, &err);
        /* every proper prefix is missing bytes that a field or tensor needs */
        CHECK_MSG(rc == AIOS_EFORMAT, "prefix %zu: rc %d", n, rc);
        CHECK_MSG(err.msg[0] != 0, "prefix %zu: no message", n);
        if (rc == AIOS_EFORMAT && (strstr(err.msg, "truncated") || strstr(err.msg, "past end") ||
                                   strstr(err.msg, "more than") || strstr(err.msg, "too short")))
            failures_ok++;
        else
            fprintf(stderr, "prefix %zu: %s\n", n, err.msg);
    }
    CHECK_EQ_INT(failures_ok, r.b.len);
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    CHECK_EQ_INT(open_copy(r.b.data, r.b.len, &g, &err), AIOS_OK);
    aios_buf_free(&r.b);
}

/* One corruption: patch the file, expect a status and a message fragment. */
struct corruption {
    const char *what;
    size_t at_field; /* offset into struct raw of the position to patch */
    int width;       /* 4 or 8 bytes; 0 = the raw bytes in `bytes` (strlen, at least 1) */
    uint64_t value;
    const char *bytes;
    int status;
    const char *msg;
};

#define AT(f) offsetof(struct raw, f)

static const struct corruption corruptions[] = {
    {"bad magic", 0, 4, 0x46554748, NULL, AIOS_EFORMAT, "not a GGUF file"},
    {"version 1", AT(p_version), 4, 1, NULL, AIOS_EUNSUPPORTED, "version 1"},
    {"version 4", AT(p_version), 4, 4, NULL, AIOS_EUNSUPPORTED, "version 4"},
    {"big-endian", AT(p_version), 4, 0x03000000, NULL, AIOS_EUNSUPPORTED, "big-endian"},
    {"huge n_kv", AT(p_nkv), 8, 1ull << 40, NULL, AIOS_EFORMAT, "metadata entries"},
    {"huge n_tensors", AT(p_ntensors), 8, ~0ull, NULL, AIOS_EFORMAT, "tensors, more than"},
    {"n_kv + 1", AT(p_nkv), 8, 9, NULL, AIOS_EFORMAT, "tensor 0 name"},
    {"n_tensors + 1", AT(p_ntensors), 8, 3, NULL, AIOS_EFORMAT, "tensor 2"},
    {"huge string length", AT(p_str_len), 8, 1ull << 62, NULL, AIOS_EFORMAT,
     "string length 4611686018427387904"},
    {"unknown value type", AT(p_f32_type), 4, 13, NULL, AIOS_EFORMAT, "unknown value type 13"},
    {"unknown element type", AT(p_arr_etype), 4, 99, NULL, AIOS_EFORMAT, "unknown element type 99"},
    {"huge array count", AT(p_arr_n), 8, 1ull << 60, NULL, AIOS_EFORMAT, "claims"},
    {"huge element string", AT(p_tok1_len), 8, ~0ull, NULL, AIOS_EFORMAT, "string 1 of the array"},
    {"huge nested count", AT(p_nested_n), 8, 1ull << 50, NULL, AIOS_EFORMAT, "claims"},
    {"bool 2", AT(p_bool_val), 0, 0, "\x02", AIOS_EFORMAT, "must be 0 or 1"},
    {"alignment 24", AT(p_align_val), 4, 24, NULL, AIOS_EFORMAT, "not a power of two"},
    {"alignment 0", AT(p_align_val), 4, 0, NULL, AIOS_EFORMAT, "not a power of two"},
    {"duplicate key", AT(p_key2_name), 0, 0, "test.aaa", AIOS_EFORMAT, "duplicate key"},
    {"NUL in key", AT(p_key2_name), 0, 0, "\0", AIOS_EFORMAT, "NUL byte"},
    {"duplicate tensor", AT(p_t1_name), 0, 0, "ta", AIOS_EFORMAT, "duplicate tensor name"},
    {"5 dims", AT(p_t0_ndims), 4, 5, NULL, AIOS_EFORMAT, "5 dimensions"},
    {"negative ne", AT(p_t1_ne1), 8, (uint64_t)-16, NULL, AIOS_EFORMAT, "negative"},
    {"ne overflow", AT(p_t1_ne1), 8, 1ull << 62, NULL, AIOS_EFORMAT, "overflows"},
    {"row not whole blocks", AT(p_t1_ne0), 8, 31, NULL, AIOS_EFORMAT, "not a multiple of the Q8_0"},
    {"unknown tensor type", AT(p_t1_type), 4, 4, NULL, AIOS_EFORMAT, "unknown tensor type 4"},
    {"tensor type 1000", AT(p_t1_type), 4, 1000, NULL, AIOS_EFORMAT, "unknown tensor type"},
    {"misaligned offset", AT(p_t1_off), 8, 65, NULL, AIOS_EFORMAT,
     "not a multiple of the alignment"},
    {"overlapping tensors", AT(p_t1_off), 8, 32, NULL, AIOS_EFORMAT, "overlaps tensor 'tb'"},
    {"offset past end", AT(p_t1_off), 8, 1ull << 40, NULL, AIOS_EFORMAT, "past end of file"},
    {"data past end", AT(p_t1_ne1), 8, 17, NULL, AIOS_EFORMAT, "tensor 'tb': data ["},
    {"offset wraps", AT(p_t1_off), 8, ~0ull << 5, NULL, AIOS_EFORMAT, "past end of file"},
};

static void test_corruptions(void)
{
    for (size_t i = 0; i < sizeof corruptions / sizeof *corruptions; i++) {
        const struct corruption *c = &corruptions[i];
        struct raw r;
        raw_build(&r);
        size_t at = c->at_field ? *(const size_t *)((const char *)&r + c->at_field) : 0;
        if (c->width == 4)
            patch_u32(&r.b, at, (uint32_t)c->value);
        else if (c->width == 8)
            patch_u64(&r.b, at, c->value);
        else
            memcpy(r.b.data + at, c->bytes, strlen(c->bytes) ? strlen(c->bytes) : 1);
        aios_gguf *g = NULL;
        struct aios_err err = {0};
        int rc = open_copy(r.b.data, r.b.len, &g, &err);
        CHECK_MSG(rc == c->status, "%s: status %d (%s), expected %d", c->what, rc, err.msg,
                  c->status);
        CHECK_MSG(strstr(err.msg, c->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", c->what,
                  err.msg, c->msg);
        aios_buf_free(&r.b);
    }
    /* the "tensor 'x': data [a, b) past end of file (size N)" wording */
    struct raw r;
    raw_build(&r);
    patch_u64(&r.b, r.p_t1_ne1, 17);
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    CHECK(open_copy(r.b.data, r.b.len, &g, &err) == AIOS_EFORMAT);
    char want[200];
    snprintf(want, sizeof want, "tensor 'tb': data [%zu, %zu) past end of file (size %zu)",
             r.data_off + 64, r.data_off + 64 + 17 * 34, r.b.len);
    CHECK_MSG(strstr(err.msg, want) != NULL, "\"%s\" lacks \"%s\"", err.msg, want);
    aios_buf_free(&r.b);
}

/* Arrays nested deeper than the reader allows are refused, not recursed. */
static void test_deep_nesting(void)
{
    struct raw r;
    memset(&r, 0, sizeof r);
    aios_buf_init(&r.b, 1 << 20);
    put(&r, "GGUF", 4);
    put_u32(&r, 3);
    put_u64(&r, 0);
    put_u64(&r, 1);
    put_str(&r, "deep");
    put_u32(&r, AIOS_GGUF_ARRAY);
    for (int i = 0; i < 1000; i++) {
        put_u32(&r, AIOS_GGUF_ARRAY);
        put_u64(&r, 1);
    }
    put_u32(&r, AIOS_GGUF_UINT8);
    put_u64(&r, 0);
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    CHECK_EQ_INT(open_copy(r.b.data, r.b.len, &g, &err), AIOS_ELIMIT);
    CHECK(strstr(err.msg, "nested") != NULL);
    aios_buf_free(&r.b);
}

/* Every single-byte flip of the valid file: whatever the reader decides,
 * it must not crash or read out of bounds, and a failure has a message. */
static void test_byte_flips(void)
{
    struct raw r;
    raw_build(&r);
    int opened = 0, failed = 0;
    for (size_t i = 0; i < r.data_off; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            r.b.data[i] ^= (char)(1 << bit);
            aios_gguf *g = NULL;
            struct aios_err err = {0};
            int rc = open_copy(r.b.data, r.b.len, &g, &err);
            if (rc == AIOS_OK)
                opened++;
            else {
                failed++;
                CHECK_MSG(err.msg[0] != 0, "flip at %zu: status %d without a message", i, rc);
            }
            r.b.data[i] ^= (char)(1 << bit);
        }
    }
    CHECK(failed > 0);
    fprintf(stderr, "byte flips: %d opened, %d refused\n", opened, failed);
    aios_buf_free(&r.b);
}

static void test_types(void)
{
    uint32_t be, bb;
    CHECK(aios_ggml_type_geometry(AIOS_GGML_Q4_K, &be, &bb) && be == 256 && bb == 144);
    CHECK(aios_ggml_type_geometry(AIOS_GGML_Q6_K, &be, &bb) && be == 256 && bb == 210);
    CHECK(aios_ggml_type_geometry(AIOS_GGML_Q4_0, &be, &bb) && be == 32 && bb == 18);
    CHECK(aios_ggml_type_geometry(AIOS_GGML_BF16, &be, &bb) && be == 1 && bb == 2);
    CHECK(!aios_ggml_type_geometry(4, &be, &bb));
    CHECK(!aios_ggml_type_geometry(AIOS_GGML_TYPE_COUNT, &be, &bb));
    CHECK_EQ_STR(aios_ggml_type_name(AIOS_GGML_Q8_0), "Q8_0");
    CHECK_EQ_STR(aios_ggml_type_name(5), "unknown");
    CHECK_EQ_INT(aios_ggml_type_from_name("q4_k"), AIOS_GGML_Q4_K);
    CHECK_EQ_INT(aios_ggml_type_from_name("Q9"), -1);
    uint64_t rb;
    CHECK(aios_ggml_type_row_bytes(AIOS_GGML_Q8_0, 64, &rb) == AIOS_OK && rb == 68);
    CHECK(aios_ggml_type_row_bytes(AIOS_GGML_Q8_0, 33, &rb) == AIOS_EINVAL);
    CHECK_EQ_STR(aios_gguf_vtype_name(AIOS_GGUF_FLOAT64), "float64");
    CHECK_EQ_STR(aios_gguf_vtype_name((enum aios_gguf_vtype)77), "unknown");
}

static void test_open_file_errors(void)
{
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_gguf_open("/nonexistent/x.gguf", &g, &err), AIOS_ENOTFOUND);
    CHECK(g == NULL && strstr(err.msg, "/nonexistent/x.gguf"));
    CHECK_EQ_INT(aios_gguf_open("/", &g, &err), AIOS_EINVAL);
    const char *dir = test_tmpdir("gguf_open");
    CHECK(dir != NULL);
    if (!dir)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/empty.gguf", dir);
    CHECK(aios_write_file_atomic(path, "", 0, &err) == AIOS_OK);
    CHECK_EQ_INT(aios_gguf_open(path, &g, &err), AIOS_EFORMAT);
    struct raw r;
    raw_build(&r);
    snprintf(path, sizeof path, "%s/ok.gguf", dir);
    CHECK(aios_write_file_atomic(path, r.b.data, r.b.len, &err) == AIOS_OK);
    CHECK_EQ_INT(aios_gguf_open(path, &g, &err), AIOS_OK);
    if (g) {
        CHECK_EQ_INT(aios_gguf_n_tensors(g), 2);
        aios_gguf_close(g);
    }
    /* truncated on disk: the message names the file */
    snprintf(path, sizeof path, "%s/short.gguf", dir);
    CHECK(aios_write_file_atomic(path, r.b.data, r.b.len - 1, &err) == AIOS_OK);
    CHECK_EQ_INT(aios_gguf_open(path, &g, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, "short.gguf") && strstr(err.msg, "past end of file"));
    aios_buf_free(&r.b);
}

/* ---- writer ---- */

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static float f32data[64];
static uint8_t q8data[34 * 4];

/* A writer with one key of every type and three tensors (F32, Q8_0 and a
 * 3-D F16); stream_q8 leaves the Q8_0 tensor's data to be streamed. */
static aios_gguf_writer *make_writer(bool stream_q8, uint32_t align)
{
    struct aios_err err = {0};
    aios_gguf_writer *w = NULL;
    CHECK(aios_gguf_writer_create(&w, &err) == AIOS_OK);
    int rc = 0;
    rc |= aios_gguf_writer_set_str(w, "general.architecture", "llama", &err);
    if (align)
        rc |= aios_gguf_writer_set_u32(w, "general.alignment", align, &err);
    rc |= aios_gguf_writer_set_u8(w, "t.u8", 200, &err);
    rc |= aios_gguf_writer_set_i8(w, "t.i8", -100, &err);
    rc |= aios_gguf_writer_set_u16(w, "t.u16", 60000, &err);
    rc |= aios_gguf_writer_set_i16(w, "t.i16", -30000, &err);
    rc |= aios_gguf_writer_set_u32(w, "t.u32", 4000000000u, &err);
    rc |= aios_gguf_writer_set_i32(w, "t.i32", -2000000000, &err);
    rc |= aios_gguf_writer_set_u64(w, "t.u64", ~0ull, &err);
    rc |= aios_gguf_writer_set_i64(w, "t.i64", INT64_MIN, &err);
    rc |= aios_gguf_writer_set_f32(w, "t.f32", 0.1f, &err);
    rc |= aios_gguf_writer_set_f64(w, "t.f64", 0.1, &err);
    rc |= aios_gguf_writer_set_bool(w, "t.bool", true, &err);
    rc |= aios_gguf_writer_set_strn(w, "t.strn", "a\0b", 3, &err);
    const char *toks[] = {"<s>", "", "\xe4\xbd\xa0\xe5\xa5\xbd", "x y"};
    rc |= aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4, &err);
    float scores[3] = {-1.5f, 0, 2.25f};
    rc |= aios_gguf_writer_set_arr(w, "t.scores", AIOS_GGUF_FLOAT32, scores, 3, &err);
    int64_t big[2] = {INT64_MAX, -1};
    rc |= aios_gguf_writer_set_arr(w, "t.i64s", AIOS_GGUF_INT64, big, 2, &err);
    rc |= aios_gguf_writer_set_arr(w, "t.empty", AIOS_GGUF_UINT16, NULL, 0, &err);
    /* nested: [[7, 8, 9], []] of uint8 */
    static const uint8_t e789[3] = {7, 8, 9};
    struct aios_gguf_value inner[2] = {
        {.type = AIOS_GGUF_ARRAY, .v.arr = {.elem_type = AIOS_GGUF_UINT8, .n = 3, .data = e789}},
        {.type = AIOS_GGUF_ARRAY, .v.arr = {.elem_type = AIOS_GGUF_UINT8, .n = 0}},
    };
    struct aios_gguf_value outer = {.type = AIOS_GGUF_ARRAY,
                                    .v.arr = {.elem_type = AIOS_GGUF_ARRAY, .n = 2, .arrs = inner}};
    rc |= aios_gguf_writer_set_value(w, "t.nested", &outer, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    for (int i = 0; i < 64; i++)
        f32data[i] = (float)i * 0.5f;
    for (int i = 0; i < (int)sizeof q8data; i++)
        q8data[i] = (uint8_t)(i * 13 + 1);
    int64_t ne_a[2] = {16, 4}, ne_b[2] = {64, 2}, ne_c[3] = {3, 2, 1};
    CHECK(aios_gguf_writer_add_tensor(w, "a", AIOS_GGML_F32, 2, ne_a, f32data, &err) == 0);
    CHECK(aios_gguf_writer_add_tensor(w, "b", AIOS_GGML_Q8_0, 2, ne_b, stream_q8 ? NULL : q8data,
                                      &err) == 0);
    CHECK(aios_gguf_writer_add_tensor(w, "c", AIOS_GGML_F16, 3, ne_c, f32data, &err) == 0);
    return w;
}

static void check_written(const aios_gguf *g, uint64_t align)
{
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_gguf_alignment(g), align);
    CHECK_EQ_INT(aios_gguf_data_offset(g) % align, 0);
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    char *s = NULL;
    CHECK(aios_gguf_get_u32(g, "t.u8", &u32, &err) == 0 && u32 == 200);
    CHECK(aios_gguf_get_i64(g, "t.i8", &i64, &err) == 0 && i64 == -100);
    CHECK(aios_gguf_get_u32(g, "t.u16", &u32, &err) == 0 && u32 == 60000);
    CHECK(aios_gguf_get_i64(g, "t.i16", &i64, &err) == 0 && i64 == -30000);
    CHECK(aios_gguf_get_u32(g, "t.u32", &u32, &err) == 0 && u32 == 4000000000u);
    CHECK(aios_gguf_get_i64(g, "t.i32", &i64, &err) == 0 && i64 == -2000000000);
    CHECK_EQ_INT(aios_gguf_get_i64(g, "t.u64", &i64, &err), AIOS_EFORMAT); /* > INT64_MAX */
    CHECK(aios_gguf_get(g, "t.u64")->v.u64 == ~0ull);
    CHECK(aios_gguf_get_i64(g, "t.i64", &i64, &err) == 0 && i64 == INT64_MIN);
    CHECK(aios_gguf_get_f32(g, "t.f32", &f, &err) == 0 && f == 0.1f);
    CHECK(aios_gguf_get(g, "t.f64")->type == AIOS_GGUF_FLOAT64 &&
          aios_gguf_get(g, "t.f64")->v.f64 == 0.1);
    CHECK(aios_gguf_get_bool(g, "t.bool", &b, &err) == 0 && b);
    const struct aios_gguf_value *v = aios_gguf_get(g, "t.strn");
    CHECK(v && v->v.str.len == 3 && memcmp(v->v.str.data, "a\0b", 3) == 0);
    CHECK_EQ_INT(aios_gguf_get_str(g, "t.strn", &s, &err), AIOS_EFORMAT); /* NUL inside */
    CHECK(aios_gguf_get_str(g, "general.architecture", &s, &err) == 0);
    CHECK_EQ_STR(s, "llama");
    aios_free(s);
    v = aios_gguf_get(g, "tokenizer.ggml.tokens");
    CHECK(v && v->v.arr.n == 4 && v->v.arr.strs[1].len == 0 && v->v.arr.strs[2].len == 6);
    v = aios_gguf_get(g, "t.scores");
    CHECK(v && v->v.arr.n == 3 && aios_gguf_arr_f64(v, 2) == 2.25 && aios_gguf_arr_i64(v, 0) == -1);
    v = aios_gguf_get(g, "t.i64s");
    CHECK(v && aios_gguf_arr_i64(v, 0) == INT64_MAX && aios_gguf_arr_i64(v, 1) == -1);
    v = aios_gguf_get(g, "t.empty");
    CHECK(v && v->v.arr.n == 0 && v->v.arr.elem_type == AIOS_GGUF_UINT16);
    v = aios_gguf_get(g, "t.nested");
    CHECK(v && v->v.arr.n == 2 && v->v.arr.arrs && v->v.arr.arrs[0].v.arr.n == 3 &&
          aios_gguf_arr_i64(&v->v.arr.arrs[0], 2) == 9 && v->v.arr.arrs[1].v.arr.n == 0);
    CHECK_EQ_INT(aios_gguf_n_tensors(g), 3);
    const struct aios_gguf_tensor *t = aios_gguf_find_tensor(g, "b");
    CHECK(t && t->size == sizeof q8data && memcmp(t->data, q8data, sizeof q8data) == 0);
    CHECK(t && t->offset % align == 0);
    t = aios_gguf_find_tensor(g, "c");
    CHECK(t && t->n_dims == 3 && t->ne[0] == 3 && t->ne[2] == 1 && t->size == 12 &&
          t->offset % align == 0 && memcmp(t->data, f32data, 12) == 0);
}

static void test_writer_buf(void)
{
    uint32_t aligns[] = {0, 1, 64, 4096};
    for (int k = 0; k < 4; k++) {
        aios_gguf_writer *w = make_writer(false, aligns[k]);
        struct aios_buf out;
        aios_buf_init(&out, 1 << 24);
        struct aios_err err = {0};
        CHECK_EQ_INT(aios_gguf_writer_to_buf(w, &out, &err), AIOS_OK);
        CHECK_EQ_INT(out.len, aios_gguf_writer_file_size(w));
        aios_gguf *g = NULL;
        int rc = aios_gguf_open_mem(out.data, out.len, &g, &err);
        CHECK_MSG(rc == 0, "%s", err.msg);
        if (!rc) {
            check_written(g, aligns[k] ? aligns[k] : 32);
            /* read -> write -> read: the same bytes again */
            aios_gguf_writer *w2 = NULL;
            struct aios_buf out2;
            aios_buf_init(&out2, 1 << 24);
            CHECK(gguf_copy_to_writer(g, &w2, &err) == 0);
            CHECK(w2 && aios_gguf_writer_to_buf(w2, &out2, &err) == 0);
            CHECK(out2.len == out.len && memcmp(out.data, out2.data, out.len) == 0);
            aios_gguf_writer_destroy(w2);
            aios_buf_free(&out2);
            aios_gguf_close(g);
        }
        aios_gguf_writer_destroy(w);
        aios_buf_free(&out);
    }
}

/* The hand-built file has llama.cpp's layout, so it must survive
 * read -> write byte for byte (nested arrays and bools included). */
static void test_round_trip_raw(void)
{
    struct raw r;
    raw_build(&r);
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    CHECK(aios_gguf_open_mem(r.b.data, r.b.len, &g, &err) == 0);
    aios_gguf_writer *w = NULL;
    CHECK(g && gguf_copy_to_writer(g, &w, &err) == 0);
    struct aios_buf out;
    aios_buf_init(&out, 1 << 20);
    CHECK(w && aios_gguf_writer_to_buf(w, &out, &err) == 0);
    CHECK_EQ_INT(out.len, r.b.len);
    CHECK(out.len == r.b.len && memcmp(out.data, r.b.data, r.b.len) == 0);
    aios_gguf_writer_destroy(w);
    aios_gguf_close(g);
    aios_buf_free(&out);
    aios_buf_free(&r.b);
}

static void test_writer_stream(void)
{
    const char *dir = test_tmpdir("gguf_stream");
    CHECK(dir != NULL);
    if (!dir)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    struct aios_err err = {0};
    /* reference bytes: everything in buffers */
    aios_gguf_writer *ref = make_writer(false, 64);
    struct aios_buf want;
    aios_buf_init(&want, 1 << 24);
    CHECK(aios_gguf_writer_to_buf(ref, &want, &err) == 0);
    aios_gguf_writer_destroy(ref);

    aios_gguf_writer *w = make_writer(true, 64);
    CHECK_EQ_INT(aios_gguf_writer_write(w, path, &err), AIOS_ESTATE); /* b has no data */
    CHECK(strstr(err.msg, "'b'") != NULL);
    CHECK_EQ_INT(aios_gguf_writer_begin(w, path, &err), AIOS_OK);
    CHECK_EQ_INT(aios_gguf_writer_set_u32(w, "late", 1, &err), AIOS_ESTATE);
    CHECK(access(path, F_OK) != 0); /* nothing at path until finish */
    /* odd-sized pieces */
    size_t at = 0, piece[] = {1, 0, 7, 50, 78};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(aios_gguf_writer_write_data(w, q8data + at, piece[i], &err), AIOS_OK);
        at += piece[i];
    }
    CHECK_EQ_INT(at, sizeof q8data);
    CHECK_EQ_INT(aios_gguf_writer_finish(w, &err), AIOS_OK);
    aios_gguf_writer_destroy(w);
    char *got = NULL;
    size_t len = 0;
    CHECK(aios_read_file(path, 1 << 24, &got, &len, &err) == 0);
    CHECK(len == want.len && got && memcmp(got, want.data, len) == 0);
    aios_free(got);
    CHECK_EQ_INT(count_files(dir), 1);

    /* missing bytes: finish fails, the old file stays, no temp file left */
    w = make_writer(true, 0);
    CHECK(aios_gguf_writer_begin(w, path, &err) == 0);
    CHECK(aios_gguf_writer_write_data(w, q8data, 10, &err) == 0);
    CHECK_EQ_INT(aios_gguf_writer_finish(w, &err), AIOS_ESTATE);
    CHECK(strstr(err.msg, "tensor 'b' is missing 126 bytes") != NULL);
    aios_gguf_writer_destroy(w);
    CHECK(aios_read_file(path, 1 << 24, &got, &len, &err) == 0 && len == want.len);
    aios_free(got);
    CHECK_EQ_INT(count_files(dir), 1);

    /* too many bytes */
    w = make_writer(true, 0);
    CHECK(aios_gguf_writer_begin(w, path, &err) == 0);
    CHECK_EQ_INT(aios_gguf_writer_write_data(w, q8data, sizeof q8data, &err), AIOS_OK);
    CHECK_EQ_INT(aios_gguf_writer_write_data(w, q8data, 1, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_finish(w, &err), AIOS_ESTATE);
    aios_gguf_writer_destroy(w);
    CHECK_EQ_INT(count_files(dir), 1);

    /* abandoned after begin */
    char path2[4200];
    snprintf(path2, sizeof path2, "%s/n.gguf", dir);
    w = make_writer(true, 0);
    CHECK(aios_gguf_writer_begin(w, path2, &err) == 0);
    CHECK_EQ_INT(count_files(dir), 2); /* the temp file */
    aios_gguf_writer_destroy(w);
    CHECK_EQ_INT(count_files(dir), 1);
    CHECK(access(path2, F_OK) != 0);

    /* unwritable place */
    w = make_writer(false, 0);
    CHECK_EQ_INT(aios_gguf_writer_write(w, "/nonexistent-dir/x.gguf", &err), AIOS_EIO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.gguf") != NULL);
    aios_gguf_writer_destroy(w);
    aios_buf_free(&want);
    unlink(path);
    rmdir(dir);
}

static void test_writer_errors(void)
{
    struct aios_err err = {0};
    aios_gguf_writer *w = NULL;
    CHECK(aios_gguf_writer_create(&w, &err) == 0);
    CHECK_EQ_INT(aios_gguf_writer_set_u32(w, "general.alignment", 24, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "power of two") != NULL);
    CHECK_EQ_INT(aios_gguf_writer_set_u64(w, "general.alignment", 32, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_n_kv(w), 0);
    CHECK_EQ_INT(aios_gguf_writer_set_version(w, 1, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_set_arr(w, "k", AIOS_GGUF_STRING, "x", 1, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_set_arr(w, "k", AIOS_GGUF_BOOL, "\x02", 1, &err), AIOS_EINVAL);
    struct aios_gguf_value bad = {.type = AIOS_GGUF_ARRAY,
                                  .v.arr = {.elem_type = AIOS_GGUF_STRING, .n = 2}};
    CHECK_EQ_INT(aios_gguf_writer_set_value(w, "k", &bad, &err), AIOS_EINVAL);
    bad.type = (enum aios_gguf_vtype)42;
    CHECK_EQ_INT(aios_gguf_writer_set_value(w, "k", &bad, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_n_kv(w), 0);

    /* replacing keeps the position; removing closes the gap */
    CHECK(aios_gguf_writer_set_u32(w, "one", 1, &err) == 0);
    CHECK(aios_gguf_writer_set_u32(w, "two", 2, &err) == 0);
    CHECK(aios_gguf_writer_set_u32(w, "three", 3, &err) == 0);
    CHECK(aios_gguf_writer_set_str(w, "one", "uno", &err) == 0);
    CHECK_EQ_INT(aios_gguf_writer_remove_kv(w, "two", &err), AIOS_OK);
    CHECK_EQ_INT(aios_gguf_writer_remove_kv(w, "two", &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_gguf_writer_n_kv(w), 2);

    float d[64] = {0};
    int64_t ne[2] = {32, 2}, ne_bad[1] = {33}, ne_neg[1] = {-32},
            ne_huge[2] = {1ll << 40, 1ll << 40};
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "x", AIOS_GGML_F32, 2, ne, d, &err), AIOS_OK);
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "x", AIOS_GGML_F32, 2, ne, d, &err), AIOS_EEXIST);
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "y", AIOS_GGML_Q4_0, 1, ne_bad, d, &err),
                 AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "y", 4, 1, ne, d, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "y", AIOS_GGML_F32, 1, ne_neg, d, &err),
                 AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "y", AIOS_GGML_F32, 2, ne_huge, d, &err),
                 AIOS_EINVAL);
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, "y", AIOS_GGML_F32, 5, ne, d, &err), AIOS_EINVAL);
    char longname[80];
    memset(longname, 'n', 64);
    longname[64] = 0;
    CHECK_EQ_INT(aios_gguf_writer_add_tensor(w, longname, AIOS_GGML_F32, 2, ne, d, &err),
                 AIOS_EINVAL);
    /* many tensors and keys: the indexes grow */
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "blk.%d.w", i);
        CHECK(aios_gguf_writer_add_tensor(w, name, AIOS_GGML_F32, 1, ne, d, &err) == 0);
        CHECK(aios_gguf_writer_set_i32(w, name, i, &err) == 0);
    }
    struct aios_buf out;
    aios_buf_init(&out, 1 << 24);
    CHECK(aios_gguf_writer_to_buf(w, &out, &err) == 0);
    aios_gguf *g = NULL;
    CHECK(aios_gguf_open_mem(out.data, out.len, &g, &err) == 0);
    if (g) {
        CHECK_EQ_STR(aios_gguf_kv_key(g, 0), "one");
        CHECK(aios_gguf_kv_value(g, 0)->type == AIOS_GGUF_STRING);
        CHECK_EQ_STR(aios_gguf_kv_key(g, 1), "three");
        CHECK_EQ_INT(aios_gguf_n_tensors(g), 301);
        int64_t v = 0;
        CHECK(aios_gguf_get_i64(g, "blk.299.w", &v, &err) == 0 && v == 299);
        CHECK(aios_gguf_find_tensor(g, "blk.150.w") == aios_gguf_tensor(g, 151));
        aios_gguf_close(g);
    }
    aios_buf_free(&out);
    aios_gguf_writer_destroy(w);

    /* no tensors: the file ends after the metadata, and reads back */
    CHECK(aios_gguf_writer_create(&w, &err) == 0);
    CHECK(aios_gguf_writer_set_str(w, "general.name", "vocab", &err) == 0);
    aios_buf_init(&out, 1 << 20);
    CHECK(aios_gguf_writer_to_buf(w, &out, &err) == 0);
    CHECK_EQ_INT(out.len, 24 + 8 + 12 + 4 + 8 + 5);
    CHECK(aios_gguf_open_mem(out.data, out.len, &g, &err) == 0);
    aios_gguf_close(g);
    aios_buf_free(&out);
    aios_gguf_writer_destroy(w);
}

/* Every allocation the reader makes can fail: it must report ENOMEM and
 * free what it had (ASan's leak check watches this). */
static void test_reader_alloc_failures(void)
{
    struct raw r;
    raw_build(&r);
    int ok = 0;
    for (long n = 1; n < 40; n++) {
        aios_gguf *g = NULL;
        struct aios_err err = {0};
        aios_mem_fail_after(n);
        int rc = aios_gguf_open_mem(r.b.data, r.b.len, &g, &err);
        aios_mem_fail_after(0);
        CHECK_MSG(rc == AIOS_OK || rc == AIOS_ENOMEM, "fail after %ld: %d %s", n, rc, err.msg);
        if (rc == AIOS_OK) {
            ok++;
            aios_gguf_close(g);
        }
    }
    CHECK(ok > 0); /* past the reader's allocation count, opening succeeds */
    aios_buf_free(&r.b);
}

/* With AIOS_GGUF_SEED_DIR set, writes the fuzz seed corpus there (small
 * files from the raw builder and the writer; tests/fuzz/corpus/fuzz_gguf
 * holds the committed copy). */
static void write_seeds(const char *dir)
{
    struct aios_err err = {0};
    char path[4200];
    struct raw r;
    raw_build(&r);
    snprintf(path, sizeof path, "%s/raw-nested.gguf", dir);
    CHECK(aios_write_file_atomic(path, r.b.data, r.b.len, &err) == 0);
    aios_buf_free(&r.b);
    uint32_t aligns[] = {0, 64};
    for (int k = 0; k < 2; k++) {
        aios_gguf_writer *w = make_writer(false, aligns[k]);
        if (k == 1)
            CHECK(aios_gguf_writer_set_version(w, 2, &err) == 0);
        struct aios_buf out;
        aios_buf_init(&out, 1 << 20);
        CHECK(aios_gguf_writer_to_buf(w, &out, &err) == 0);
        snprintf(path, sizeof path, "%s/writer-all-types-%s.gguf", dir, k ? "v2-align64" : "v3");
        CHECK(aios_write_file_atomic(path, out.data, out.len, &err) == 0);
        aios_buf_free(&out);
        aios_gguf_writer_destroy(w);
    }
    aios_gguf_writer *w = NULL;
    CHECK(aios_gguf_writer_create(&w, &err) == 0);
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xc4\xa0the", "a b"};
    int32_t types[] = {2, 3, 3, 1, 1};
    CHECK(aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", &err) == 0);
    CHECK(aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 5, &err) == 0);
    CHECK(aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types, 5,
                                   &err) == 0);
    struct aios_buf out;
    aios_buf_init(&out, 1 << 20);
    CHECK(aios_gguf_writer_to_buf(w, &out, &err) == 0);
    snprintf(path, sizeof path, "%s/writer-vocab.gguf", dir);
    CHECK(aios_write_file_atomic(path, out.data, out.len, &err) == 0);
    aios_buf_free(&out);
    aios_gguf_writer_destroy(w);
    /* every quantized type the table knows, one block row each */
    CHECK(aios_gguf_writer_create(&w, &err) == 0);
    static uint8_t zeros[1024];
    for (uint32_t t = 0; t < AIOS_GGML_TYPE_COUNT; t++) {
        uint32_t be, bb;
        if (!aios_ggml_type_geometry(t, &be, &bb))
            continue;
        char name[32];
        snprintf(name, sizeof name, "t.%s", aios_ggml_type_name(t));
        int64_t ne[1] = {be};
        CHECK(aios_gguf_writer_add_tensor(w, name, t, 1, ne, zeros, &err) == 0);
    }
    aios_buf_init(&out, 1 << 20);
    CHECK(aios_gguf_writer_to_buf(w, &out, &err) == 0);
    snprintf(path, sizeof path, "%s/writer-all-tensor-types.gguf", dir);
    CHECK(aios_write_file_atomic(path, out.data, out.len, &err) == 0);
    aios_buf_free(&out);
    aios_gguf_writer_destroy(w);
}

int main(void)
{
    TEST_RUN(test_types);
    TEST_RUN(test_read_valid);
    TEST_RUN(test_truncated_prefixes);
    TEST_RUN(test_corruptions);
    TEST_RUN(test_deep_nesting);
    TEST_RUN(test_byte_flips);
    TEST_RUN(test_open_file_errors);
    TEST_RUN(test_reader_alloc_failures);
    TEST_RUN(test_writer_buf);
    TEST_RUN(test_round_trip_raw);
    TEST_RUN(test_writer_stream);
    TEST_RUN(test_writer_errors);
    const char *seeds = getenv("AIOS_GGUF_SEED_DIR");
    if (seeds)
        write_seeds(seeds);
    TEST_EXIT();
}
