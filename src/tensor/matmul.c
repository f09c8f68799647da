/*
 * Matrix x vector and matrix x matrix products over the thread pool.
 *
 * Phase 1 converts the n F32 activation rows to the weight type's
 * vec_dot_type (Q8_0 / Q8_1 / Q8_K / F16 / BF16; F32 is used in place), or
 * to a kernel's prepared layout of the same values (AVX-512 Q4_0),
 * activation rows spread over the threads; a barrier; phase 2 hands out
 * chunks of weight rows from a shared counter (so a thread that the OS
 * delays does not hold the others up at the end) and walks each chunk in
 * small row tiles, each tile against every activation row, so a tile of
 * weights is read from memory once and reused from cache for all n
 * activations. With PANEL_MIN_N or more activation rows and a panel kernel
 * set for the type (panel_avx512.c), each thread instead packs its chunk
 * sixteen weight rows at a time into a panel and runs every activation row
 * against it from registers.
 */
#include "tensor/quant.h"

#include <stdatomic.h>

#define ROW_TILE 8
#define ACT_ALIGN 64
#define PANEL_MIN_N 8

#define MM_MAX 4 /* products of one input in one call */

struct mm_ctx {
    aios_pool *pool;
    const struct aios_tensor_mm *out; /* nw products; out[0].w gives type and ncols */
    int nw;
    int64_t chunk[MM_MAX];  /* rows per chunk of each product */
    int64_t c0[MM_MAX + 1]; /* global index of each product's first chunk */
    const float *x;
    int64_t n, x_stride;
    char *act;     /* converted activations, or NULL to use x directly */
    size_t act_rs; /* bytes between converted rows */
    aios_vec_dot_fn dot;
    aios_vec_dot4_fn dot4; /* NULL, or four activation rows at once */
    aios_from_float_fn conv;
    const struct aios_panel *panel; /* NULL, or the packed-panel kernels */
    _Atomic int64_t next;           /* next unclaimed chunk (global index) */
    _Atomic bool oom;               /* a thread could not get its panel */
};

static const struct aios_panel *panel_for(uint32_t type, int64_t n)
{
    return n >= PANEL_MIN_N ? aios_tensor_panel_isa(type, aios_tensor_isa_level()) : NULL;
}

static size_t act_row_stride(uint32_t type, int64_t ncols, int64_t n)
{
    const struct aios_type_traits *t = aios_tensor_type_traits(type);
    if (!t || t->vec_dot_type == AIOS_GGML_F32)
        return 0;
    const struct aios_panel *pn = panel_for(type, n);
    const struct aios_prepared *pp = aios_tensor_prepared_isa(type, aios_tensor_isa_level());
    size_t rs = pn   ? pn->act_size(ncols)
                : pp ? pp->row_size(ncols)
                     : aios_tensor_row_size(t->vec_dot_type, ncols);
    return (rs + ACT_ALIGN - 1) / ACT_ALIGN * ACT_ALIGN;
}

size_t aios_tensor_matmul_wsize(uint32_t type, int64_t ncols, int64_t n)
{
    size_t rs = act_row_stride(type, ncols, n);
    return rs ? rs * (size_t)(n > 0 ? n : 0) + ACT_ALIGN : 0;
}

/* Claims the next chunk: the product k and its rows [*r0, *r1); false when
 * none is left. */
static bool claim(struct mm_ctx *c, int *k, int64_t *r0, int64_t *r1)
{
    int64_t ci = atomic_fetch_add(&c->next, 1);
    if (ci >= c->c0[c->nw])
        return false;
    int i = 0;
    while (ci >= c->c0[i + 1])
        i++;
    const int64_t nrows = c->out[i].w->nrows;
    *k = i;
    *r0 = (ci - c->c0[i]) * c->chunk[i];
    *r1 = *r0 + c->chunk[i] < nrows ? *r0 + c->chunk[i] : nrows;
    return true;
}

/* Phase 2 with panels: each claimed chunk of rows, up to PANEL_GROUP_BYTES
 * of panels (several times sixteen rows) at a time; the activation rows go
 * through the group in blocks of about ACT_BLOCK_BYTES, so that a block is
 * read from memory once per group and reused from cache by every panel of
 * it, while the group's panels stay in L2. */
#define PANEL_GROUP_BYTES (384 << 10)
#define ACT_BLOCK_BYTES (96 << 10)
#define PANEL_GROUP_MAX 8

static void mm_panels(struct mm_ctx *c)
{
    const int64_t ncols = c->out[0].w->ncols;
    const size_t psz = (c->panel->panel_size(ncols) + ACT_ALIGN - 1) / ACT_ALIGN * ACT_ALIGN;
    int64_t group = (int64_t)(PANEL_GROUP_BYTES / psz);
    group = group < 1 ? 1 : group > PANEL_GROUP_MAX ? PANEL_GROUP_MAX : group;
    int64_t jb = (int64_t)(ACT_BLOCK_BYTES / c->act_rs) / 8 * 8;
    jb = jb < 8 ? 8 : jb;
    void *buf = aios_malloc(psz * (size_t)group + ACT_ALIGN);
    if (!buf) {
        atomic_store(&c->oom, true);
        return;
    }
    char *panels = (char *)(((uintptr_t)buf + ACT_ALIGN - 1) / ACT_ALIGN * ACT_ALIGN);
    int k;
    int64_t cr0, r1;
    while (claim(c, &k, &cr0, &r1)) {
        const struct aios_tensor_mat *w = c->out[k].w;
        const char *base = w->data;
        float *y = c->out[k].y;
        const int64_t ys = c->out[k].y_stride;
        for (int64_t g0 = cr0; g0 < r1; g0 += group * AIOS_PANEL_ROWS) {
            int64_t g1 = g0 + group * AIOS_PANEL_ROWS < r1 ? g0 + group * AIOS_PANEL_ROWS : r1;
            for (int64_t r0 = g0; r0 < g1; r0 += AIOS_PANEL_ROWS)
                c->panel->pack(base + (size_t)r0 * w->row_stride, w->row_stride,
                               (int)(g1 - r0 < AIOS_PANEL_ROWS ? g1 - r0 : AIOS_PANEL_ROWS), ncols,
                               panels + (size_t)((r0 - g0) / AIOS_PANEL_ROWS) * psz);
            for (int64_t j0 = 0; j0 < c->n; j0 += jb) {
                int64_t nj = c->n - j0 < jb ? c->n - j0 : jb;
                /* two panels at a time (32 rows share each activation load) */
                for (int64_t r0 = g0; r0 < g1; r0 += 2 * AIOS_PANEL_ROWS) {
                    int rows = (int)(g1 - r0 < 2 * AIOS_PANEL_ROWS ? g1 - r0 : 2 * AIOS_PANEL_ROWS);
                    c->panel->run(panels + (size_t)((r0 - g0) / AIOS_PANEL_ROWS) * psz, psz,
                                  rows > AIOS_PANEL_ROWS ? 2 : 1, ncols,
                                  c->act + (size_t)j0 * c->act_rs, c->act_rs, nj, y + j0 * ys + r0,
                                  ys, rows);
                }
            }
        }
    }
    aios_free(buf);
}

static void mm_worker(void *arg, int ith, int nth)
{
    struct mm_ctx *c = arg;
    const int64_t ncols = c->out[0].w->ncols;
    if (c->act) {
        for (int64_t j = ith; j < c->n; j += nth)
            c->conv(c->x + j * c->x_stride, c->act + (size_t)j * c->act_rs, ncols);
        if (nth > 1)
            aios_pool_barrier(c->pool);
    }
    if (c->panel) {
        mm_panels(c);
        return;
    }
    int k;
    int64_t r0, r1;
    while (claim(c, &k, &r0, &r1)) {
        const struct aios_tensor_mat *w = c->out[k].w;
        const char *base = w->data;
        float *y = c->out[k].y;
        const int64_t ys = c->out[k].y_stride;
        for (int64_t t0 = r0; t0 < r1; t0 += ROW_TILE) {
            int64_t t1 = t0 + ROW_TILE < r1 ? t0 + ROW_TILE : r1;
            int64_t j = 0;
            if (c->dot4 && c->act) {
                for (; j + 4 <= c->n; j += 4) {
                    const char *a = c->act + (size_t)j * c->act_rs;
                    for (int64_t r = t0; r < t1; r++) {
                        float s4[4];
                        c->dot4(ncols, s4, base + (size_t)r * w->row_stride, a, c->act_rs);
                        for (int q = 0; q < 4; q++)
                            y[(j + q) * ys + r] = s4[q];
                    }
                }
            }
            for (; j < c->n; j++) {
                const void *a = c->act ? (const void *)(c->act + (size_t)j * c->act_rs)
                                       : (const void *)(c->x + j * c->x_stride);
                float *yj = y + j * ys;
                for (int64_t r = t0; r < t1; r++)
                    c->dot(ncols, &yj[r], base + (size_t)r * w->row_stride, a);
            }
        }
    }
}

static int check_mat(const struct aios_tensor_mat *w, int64_t n, int64_t x_stride, int64_t y_stride,
                     struct aios_err *err)
{
    const struct aios_type_traits *t = w ? aios_tensor_type_traits(w->type) : NULL;
    if (!t || !t->vec_dot)
        return aios_err_set(err, AIOS_EINVAL, "matmul: unsupported weight type %u",
                            w ? w->type : 0u);
    if (w->ncols <= 0 || w->nrows < 0 || w->ncols % t->block_size)
        return aios_err_set(err, AIOS_EINVAL, "matmul: %s rows of %lld values", t->name,
                            (long long)w->ncols);
    if (w->row_stride < aios_tensor_row_size(w->type, w->ncols))
        return aios_err_set(err, AIOS_EINVAL, "matmul: row stride %zu too small", w->row_stride);
    if (n <= 0 || (n > 1 && (x_stride < w->ncols || y_stride < w->nrows)))
        return aios_err_set(err, AIOS_EINVAL, "matmul: bad activation shape");
    return AIOS_OK;
}

int aios_tensor_matmul_n(aios_pool *pool, const struct aios_tensor_mm *out, int nw, const float *x,
                         int64_t n, int64_t x_stride, void *wdata, size_t wsize,
                         struct aios_err *err)
{
    if (nw < 1 || nw > MM_MAX)
        return aios_err_set(err, AIOS_EINVAL, "matmul: %d products (1 to %d)", nw, MM_MAX);
    for (int k = 0; k < nw; k++) {
        int rc = check_mat(out[k].w, n, x_stride, out[k].y_stride, err);
        if (rc)
            return rc;
        if (out[k].w->type != out[0].w->type || out[k].w->ncols != out[0].w->ncols)
            return aios_err_set(err, AIOS_EINVAL,
                                "matmul: products of one input need one weight type and width");
    }
    const struct aios_tensor_mat *w = out[0].w;
    struct mm_ctx c = {
        .pool = pool,
        .out = out,
        .nw = nw,
        .x = x,
        .n = n,
        .x_stride = x_stride,
        .act_rs = act_row_stride(w->type, w->ncols, n),
        .dot = aios_tensor_vec_dot(w->type),
        .dot4 = aios_tensor_vec_dot4_isa(w->type, aios_tensor_isa_level()),
        .conv = aios_tensor_act_quantizer(w->type),
    };
    const struct aios_prepared *pp = aios_tensor_prepared_isa(w->type, aios_tensor_isa_level());
    if (pp) { /* activations in the kernel's own layout */
        c.conv = pp->prepare;
        c.dot = pp->dot;
        c.dot4 = pp->dot4;
    }
    c.panel = panel_for(w->type, n);
    if (c.panel)
        c.conv = c.panel->act_prepare;
    /* Chunks: about 4 per thread per product, at least a few tiles, so that
     * claiming one costs nothing next to computing it. */
    int nth = pool ? aios_pool_size(pool) : 1;
    const int64_t tile = c.panel ? AIOS_PANEL_ROWS : ROW_TILE;
    c.c0[0] = 0;
    for (int k = 0; k < nw; k++) {
        int64_t ch = (out[k].w->nrows + 4 * nth - 1) / (4 * nth);
        ch = ch < 2 * ROW_TILE ? 2 * ROW_TILE : ch;
        c.chunk[k] = (ch + tile - 1) / tile * tile;
        c.c0[k + 1] = c.c0[k] + (out[k].w->nrows + c.chunk[k] - 1) / c.chunk[k];
    }
    if (c.c0[nw] == 0)
        return AIOS_OK; /* no rows */
    atomic_init(&c.next, 0);
    atomic_init(&c.oom, false);
    void *owned = NULL;
    if (c.act_rs) {
        size_t need = aios_tensor_matmul_wsize(w->type, w->ncols, n);
        if (!wdata || wsize < need) {
            owned = aios_malloc(need);
            if (!owned)
                return aios_err_set(err, AIOS_ENOMEM, "matmul: %zu bytes of scratch", need);
            wdata = owned;
        }
        uintptr_t p = ((uintptr_t)wdata + ACT_ALIGN - 1) / ACT_ALIGN * ACT_ALIGN;
        c.act = (char *)p;
    }
    if (pool && aios_pool_size(pool) > 1)
        aios_pool_run(pool, mm_worker, &c);
    else
        mm_worker(&c, 0, 1);
    aios_free(owned);
    if (atomic_load(&c.oom))
        return aios_err_set(err, AIOS_ENOMEM, "matmul: no memory for a weight panel");
    return AIOS_OK;
}

int aios_tensor_matmul(aios_pool *pool, const struct aios_tensor_mat *w, const float *x, int64_t n,
                       int64_t x_stride, float *y, int64_t y_stride, void *wdata, size_t wsize,
                       struct aios_err *err)
{
    const struct aios_tensor_mm one = {w, y, y_stride};
    return aios_tensor_matmul_n(pool, &one, 1, x, n, x_stride, wdata, wsize, err);
}

int aios_tensor_matvec(aios_pool *pool, const struct aios_tensor_mat *w, const float *x, float *y,
                       void *wdata, size_t wsize, struct aios_err *err)
{
    return aios_tensor_matmul(pool, w, x, 1, 0, y, 0, wdata, wsize, err);
}
