/*
 * Quantize jobs: GGUF in, GGUF out, the tensor types chosen by
 * llama-quantize's rules (llama.cpp src/llama-quant.cpp, read for the
 * recipe) and the data made by the tensor module's reference quantizers.
 *
 * Flow: open the input; order the tensors as llama.cpp's loader does (the
 * ones outside blocks first, then by block number, by name within each);
 * pick every tensor's type in that order (the _M mixes count attn_v and
 * ffn_down tensors as they go); write the header with all tensor infos,
 * then stream each tensor's data, converted row-parallel over the pool.
 */
#include "mlops/mlops.h"

#include "gguf/gguf.h"
#include "tensor/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* llama.cpp's llama_ftype numbers, written to general.file_type. */
enum mix { MIX_NONE, MIX_Q4_K_M, MIX_Q5_K_M };

struct qtype {
    const char *name;
    uint32_t ftype;
    uint32_t type;
    enum mix mix;
};

static const struct qtype qtypes[] = {
    {"F32", 0, AIOS_GGML_F32, MIX_NONE},        {"F16", 1, AIOS_GGML_F16, MIX_NONE},
    {"BF16", 32, AIOS_GGML_BF16, MIX_NONE},     {"Q4_0", 2, AIOS_GGML_Q4_0, MIX_NONE},
    {"Q4_1", 3, AIOS_GGML_Q4_1, MIX_NONE},      {"Q8_0", 7, AIOS_GGML_Q8_0, MIX_NONE},
    {"Q5_0", 8, AIOS_GGML_Q5_0, MIX_NONE},      {"Q5_1", 9, AIOS_GGML_Q5_1, MIX_NONE},
    {"Q4_K_M", 15, AIOS_GGML_Q4_K, MIX_Q4_K_M}, {"Q4_K", 15, AIOS_GGML_Q4_K, MIX_Q4_K_M},
    {"Q5_K_M", 17, AIOS_GGML_Q5_K, MIX_Q5_K_M}, {"Q5_K", 17, AIOS_GGML_Q5_K, MIX_Q5_K_M},
    {"Q6_K", 18, AIOS_GGML_Q6_K, MIX_NONE},
};

#define QUANT_VERSION 2 /* ggml's GGML_QNT_VERSION */

struct item {
    const struct aios_gguf_tensor *t;
    int layer; /* -1 outside blocks */
    uint32_t type;
};

static int layer_of(const char *name)
{
    if (strncmp(name, "blk.", 4) != 0)
        return -1;
    int64_t v = 0;
    const char *p = name + 4;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9' && v < 1000000)
        v = v * 10 + (*p++ - '0');
    return *p == '.' ? (int)v : -1;
}

static int cmp_items(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->layer != y->layer)
        return x->layer < y->layer ? -1 : 1;
    return strcmp(x->t->name, y->t->name);
}

static bool has(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* Which tensors llama-quantize converts at all. */
static bool allows_quantization(const struct aios_gguf_tensor *t)
{
    uint32_t nd = t->n_dims;
    while (nd > 1 && t->ne[nd - 1] == 1)
        nd--; /* ggml_n_dims ignores trailing 1s */
    if (nd < 2)
        return false;
    const char *n = t->name;
    if (!ends_with(n, "weight") || has(n, "_norm.weight"))
        return false;
    static const char *const never[] = {
        "ffn_gate_inp.weight",  "altup",          "laurel",
        "per_layer_model_proj", "ssm_conv1d",     "shortconv.conv.weight",
        "attn_rel_b.weight",    ".position_embd", ".rel_pos",
        ".patch_embd",          "time_mix_",
    };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (has(n, never[i]))
            return false;
    /* BERT's position and token-type embeddings */
    return strcmp(n, "position_embd.weight") != 0 && strcmp(n, "token_types.weight") != 0;
}

static bool is_attn_v(const char *n)
{
    return has(n, "attn_v.weight") || has(n, "attn_qkv.weight") || has(n, "attn_kv_b.weight");
}

static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

struct plan {
    const struct qtype *q;
    bool pure, tied;
    int n_attn_v, i_attn_v, n_layer, i_ffn_down;
    int n_fallback;
};

static int64_t block_of(uint32_t type)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    return t ? t->block_size : 1;
}

/* llama_tensor_get_type for the file types offered here. */
static int pick_type(struct plan *p, const struct aios_gguf_tensor *t, uint32_t *out,
                     struct aios_err *err)
{
    if (!allows_quantization(t)) {
        *out = t->type;
        return AIOS_OK;
    }
    uint32_t nt = p->q->type;
    const struct aios_type_traits *dt = aios_tensor_type_traits(nt);
    if (!dt->is_quantized) {
        *out = nt;
        return AIOS_OK;
    }
    const char *n = t->name;
    if (!p->pure) {
        bool output = strcmp(n, "output.weight") == 0;
        bool embd = strcmp(n, "token_embd.weight") == 0;
        if (output || (p->tied && embd)) {
            if (t->ne[0] % block_of(nt) != 0)
                nt = AIOS_GGML_Q8_0;
            else if (nt != AIOS_GGML_Q8_0)
                nt = AIOS_GGML_Q6_K;
        } else if (embd) {
            /* stays the default type */
        } else if (is_attn_v(n)) {
            if (p->q->mix != MIX_NONE && use_more_bits(p->i_attn_v, p->n_attn_v))
                nt = AIOS_GGML_Q6_K;
            p->i_attn_v++;
        } else if (has(n, "ffn_down")) {
            if (p->q->mix != MIX_NONE && use_more_bits(p->i_ffn_down, p->n_layer))
                nt = AIOS_GGML_Q6_K;
            p->i_ffn_down++;
        }
    }
    if (t->ne[0] % block_of(nt) != 0) {
        uint32_t fb;
        switch (nt) {
        case AIOS_GGML_Q2_K:
        case AIOS_GGML_Q3_K:
            fb = AIOS_GGML_Q4_0;
            break;
        case AIOS_GGML_Q4_K:
            fb = AIOS_GGML_Q5_0;
            break;
        case AIOS_GGML_Q5_K:
            fb = AIOS_GGML_Q5_1;
            break;
        case AIOS_GGML_Q6_K:
            fb = AIOS_GGML_Q8_0;
            break;
        default:
            return aios_err_set(
                err, AIOS_EUNSUPPORTED, "%s: rows of %lld values do not fit %s blocks of %lld", n,
                (long long)t->ne[0], aios_tensor_type_traits(nt)->name, (long long)block_of(nt));
        }
        if (t->ne[0] % block_of(fb) != 0)
            fb = AIOS_GGML_F16;
        p->n_fallback++;
        nt = fb;
    }
    *out = nt;
    return AIOS_OK;
}

/* ---- row-parallel conversion ------------------------------------------- */

struct conv_job {
    uint32_t type;
    const float *src;
    uint8_t *dst;
    int64_t nrows, ncols;
    size_t row_size;
    int rc;
};

static void conv_part(void *arg, int ith, int nth)
{
    struct conv_job *j = arg;
    int64_t per = (j->nrows + nth - 1) / nth;
    int64_t r0 = per * ith, r1 = r0 + per < j->nrows ? r0 + per : j->nrows;
    if (r0 >= r1)
        return;
    int rc = aios_tensor_quantize(j->type, j->src + r0 * j->ncols,
                                  j->dst + (size_t)r0 * j->row_size, r1 - r0, j->ncols, NULL);
    if (rc)
        j->rc = rc;
}

static uint64_t tensor_bytes(uint32_t type, const int64_t ne[4])
{
    size_t rs = aios_tensor_row_size(type, ne[0]);
    return (uint64_t)rs * (uint64_t)(ne[1] * ne[2] * ne[3]);
}

int aios_mlops_quantize(const char *in, const char *out, const struct aios_quantize_opts *opts,
                        struct aios_err *err)
{
    const struct qtype *q = NULL;
    for (size_t i = 0; opts && opts->type && i < sizeof qtypes / sizeof qtypes[0]; i++)
        if (strcasecmp(qtypes[i].name, opts->type) == 0)
            q = &qtypes[i];
    if (!q)
        return aios_err_set(err, AIOS_EINVAL,
                            "unknown type '%s' (Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K Q4_K_M "
                            "Q5_K_M F16 BF16 F32)",
                            opts && opts->type ? opts->type : "");
    aios_gguf *g = NULL;
    aios_gguf_writer *w = NULL;
    struct item *items = NULL;
    float *f32 = NULL;
    uint8_t *qbuf = NULL;
    int rc = aios_gguf_open(in, &g, err);
    if (rc)
        return rc;
    int64_t nt = aios_gguf_n_tensors(g);
    items = aios_calloc(nt ? (size_t)nt : 1, sizeof *items);
    if (!items) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    struct plan p = {.q = q, .pure = opts->pure, .tied = true};
    for (int64_t i = 0; i < nt; i++) {
        items[i].t = aios_gguf_tensor(g, i);
        items[i].layer = layer_of(items[i].t->name);
        if (is_attn_v(items[i].t->name))
            p.n_attn_v++;
        if (strcmp(items[i].t->name, "output.weight") == 0)
            p.tied = false;
    }
    qsort(items, (size_t)nt, sizeof *items, cmp_items);

    char *arch = NULL;
    uint32_t n_layer = 0;
    if (aios_gguf_get_str(g, "general.architecture", &arch, NULL) == AIOS_OK) {
        char key[256];
        snprintf(key, sizeof key, "%s.block_count", arch);
        aios_gguf_get_u32(g, key, &n_layer, NULL);
        aios_free(arch);
    }
    p.n_layer = (int)n_layer;
    if (p.n_layer <= 0) /* no block_count: count the ffn_down tensors instead */
        for (int64_t i = 0; i < nt; i++)
            p.n_layer += has(items[i].t->name, "ffn_down") != 0;

    size_t max_el = 0;
    for (int64_t i = 0; i < nt; i++) {
        const struct aios_gguf_tensor *t = items[i].t;
        rc = pick_type(&p, t, &items[i].type, err);
        if (rc)
            goto out;
        if (items[i].type != t->type) {
            const struct aios_type_traits *st = aios_tensor_type_traits(t->type);
            if (!st || !st->to_float) {
                rc = aios_err_set(err, AIOS_EUNSUPPORTED, "%s: cannot convert from type %u",
                                  t->name, t->type);
                goto out;
            }
            if (st->is_quantized && !opts->allow_requantize) {
                rc = aios_err_set(err, AIOS_EUNSUPPORTED,
                                  "%s is already %s: requantizing is disabled "
                                  "(--allow-requantize)",
                                  t->name, st->name);
                goto out;
            }
            size_t el = (size_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
            if (el > max_el)
                max_el = el;
        }
    }

    rc = aios_gguf_writer_create(&w, err);
    if (!rc)
        rc = aios_gguf_writer_copy_all_kv(w, g, err);
    /* ggml's gguf_set_val_* removes an existing key and appends it, so both
     * keys end up last, in this order. */
    static const char *const keys[2] = {"general.quantization_version", "general.file_type"};
    const uint32_t vals[2] = {QUANT_VERSION, q->ftype};
    for (int k = 0; !rc && k < 2; k++) {
        int r = aios_gguf_writer_remove_kv(w, keys[k], NULL);
        (void)r; /* absent is fine */
        rc = aios_gguf_writer_set_u32(w, keys[k], vals[k], err);
    }
    for (int64_t i = 0; !rc && i < nt; i++) {
        const struct aios_gguf_tensor *t = items[i].t;
        rc = aios_gguf_writer_add_tensor(w, t->name, items[i].type, t->n_dims, t->ne, NULL, err);
    }
    if (rc)
        goto out;
    if (max_el) {
        f32 = aios_malloc(max_el * sizeof(float));
        qbuf = aios_malloc(max_el * sizeof(float));
        if (!f32 || !qbuf) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory for a tensor of %zu values", max_el);
            goto out;
        }
    }
    rc = aios_gguf_writer_begin(w, out, err);
    for (int64_t i = 0; !rc && i < nt; i++) {
        const struct aios_gguf_tensor *t = items[i].t;
        uint32_t to = items[i].type;
        uint64_t nbytes = tensor_bytes(to, t->ne);
        if (to == t->type) {
            rc = aios_gguf_writer_write_data(w, t->data, (size_t)t->size, err);
        } else {
            int64_t nel = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
            const float *src = t->data;
            if (t->type != AIOS_GGML_F32) {
                rc = aios_tensor_dequantize(t->type, t->data, f32, nel, err);
                src = f32;
            } else if ((uintptr_t)t->data % sizeof(float)) {
                memcpy(f32, t->data, (size_t)nel * sizeof(float));
                src = f32;
            }
            struct conv_job j = {
                .type = to,
                .src = src,
                .dst = qbuf,
                .nrows = nel / t->ne[0],
                .ncols = t->ne[0],
                .row_size = aios_tensor_row_size(to, t->ne[0]),
            };
            if (!rc) {
                if (opts->pool && j.nrows > 1)
                    aios_pool_run(opts->pool, conv_part, &j);
                else
                    conv_part(&j, 0, 1);
                rc = j.rc ? aios_err_set(err, j.rc, "%s: conversion failed", t->name) : AIOS_OK;
            }
            if (!rc)
                rc = aios_gguf_writer_write_data(w, qbuf, (size_t)nbytes, err);
        }
        if (!rc && opts->progress) {
            const struct aios_type_traits *ft = aios_tensor_type_traits(t->type);
            struct aios_quantize_progress pr = {
                .index = i + 1,
                .count = nt,
                .name = t->name,
                .from_type = ft ? ft->name : "?",
                .to_type = aios_tensor_type_traits(to)->name,
                .ne = t->ne,
                .n_dims = t->n_dims,
                .bytes_in = t->size,
                .bytes_out = nbytes,
            };
            opts->progress(opts->progress_ud, &pr);
        }
    }
    if (!rc)
        rc = aios_gguf_writer_finish(w, err);
    if (!rc && p.n_fallback)
        AIOS_WARN("quantize", "%d tensor(s) needed a fallback type for their row length",
                  p.n_fallback);
out:
    aios_gguf_writer_destroy(w);
    aios_free(f32);
    aios_free(qbuf);
    aios_free(items);
    aios_gguf_close(g);
    return rc;
}
