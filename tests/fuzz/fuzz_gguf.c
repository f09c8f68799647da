/*
 * libFuzzer target for the GGUF reader (and, as an oracle, the writer).
 * Any input: aios_gguf_open_mem must either refuse it with a message or
 * accept it; for an accepted file every kv and tensor is touched (every
 * string byte, array element and tensor byte at both ends), lookups by name
 * must find each entry, and the file copied through the writer must read
 * back with the same content. Seeds: tests/fuzz/corpus/fuzz_gguf (made by
 * the writer; see tests/unit/test_gguf.c, AIOS_GGUF_SEED_DIR).
 */
#include "gguf/gguf.h"
#include "../gguf_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile uint64_t sink;

static void touch_value(const struct aios_gguf_value *v)
{
    if (v->type == AIOS_GGUF_STRING) {
        for (uint64_t i = 0; i < v->v.str.len; i++)
            sink += (uint8_t)v->v.str.data[i];
        return;
    }
    if (v->type != AIOS_GGUF_ARRAY) {
        sink += v->v.u64;
        return;
    }
    for (uint64_t i = 0; i < v->v.arr.n; i++) {
        if (v->v.arr.elem_type == AIOS_GGUF_STRING) {
            const struct aios_gguf_str *s = &v->v.arr.strs[i];
            if (s->len)
                sink += (uint8_t)s->data[0] + (uint8_t)s->data[s->len - 1];
        } else if (v->v.arr.elem_type == AIOS_GGUF_ARRAY) {
            touch_value(&v->v.arr.arrs[i]);
        } else {
            sink += (uint64_t)aios_gguf_arr_i64(v, i);
            double d = aios_gguf_arr_f64(v, i);
            sink += d > 0 ? 1 : d < 0 ? 2 : 3;
        }
    }
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_gguf: %s: %s\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    int rc = aios_gguf_open_mem(data, size, &g, &err);
    if (rc) {
        if (!err.msg[0])
            die("refused without a message", aios_status_name(rc));
        return 0;
    }
    for (int64_t i = 0; i < aios_gguf_n_kv(g); i++) {
        const char *key = aios_gguf_kv_key(g, i);
        if (aios_gguf_find_kv(g, key) != i)
            die("key lookup", key);
        touch_value(aios_gguf_kv_value(g, i));
        uint32_t u32;
        int64_t i64;
        float f;
        bool b;
        char *s = NULL;
        aios_gguf_get_u32(g, key, &u32, &err);
        aios_gguf_get_i64(g, key, &i64, &err);
        aios_gguf_get_f32(g, key, &f, &err);
        aios_gguf_get_bool(g, key, &b, &err);
        if (aios_gguf_get_str(g, key, &s, &err) == AIOS_OK)
            aios_free(s);
    }
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
        const struct aios_gguf_tensor *t = aios_gguf_tensor(g, i);
        if (aios_gguf_find_tensor(g, t->name) != t)
            die("tensor lookup", t->name);
        if (t->size) {
            const uint8_t *p = t->data;
            sink += p[0] + p[t->size - 1];
        }
    }
    /* Oracle: what the reader accepts, the writer reproduces. The writer is
     * stricter about tensor names (1..63 bytes), so it may refuse those. */
    aios_gguf_writer *w = NULL;
    if (gguf_copy_to_writer(g, &w, &err) == AIOS_OK) {
        struct aios_buf out;
        aios_buf_init(&out, 1u << 30);
        if (aios_gguf_writer_to_buf(w, &out, &err))
            die("writer", err.msg);
        aios_gguf *h = NULL;
        if (aios_gguf_open_mem(out.data, out.len, &h, &err))
            die("rewritten file does not open", err.msg);
        char why[256];
        if (!gguf_same_content(g, h, why, sizeof why))
            die("rewritten file differs", why);
        aios_gguf_close(h);
        aios_buf_free(&out);
        aios_gguf_writer_destroy(w);
    } else if (!strstr(err.msg, "tensor name")) {
        die("copy to writer", err.msg);
    }
    aios_gguf_close(g);
    return 0;
}
