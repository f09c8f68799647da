/* Conformance of the quantizers with llama-quantize (fixtures/models).
 *
 * Each F32 model is quantized tensor by tensor with aios' reference
 * quantizers and compared with the tensors llama-quantize wrote:
 *   - Q8_0, Q4_0 (and F16) tensors must be byte-identical;
 *   - K-quant tensors (Q6_K files, Q4_K/Q6_K/Q5_0/Q8_0 inside Q4_K_M) must
 *     reconstruct the F32 weights with an rms error at most 2% above the
 *     reference file's (byte identity is reported, not required).
 * The files are parsed with a small reader local to this test, so that the
 * test depends on nothing but the tensor module. */
#include "tensor/tensor.h"
#include "test.h"

#include <math.h>

struct tinfo {
    char name[128];
    uint32_t type;
    int64_t ne[4];
    int64_t nel;
    const uint8_t *data;
};

struct gfile {
    char *buf;
    size_t len;
    struct tinfo *t;
    int64_t nt;
};

struct rd {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t rd_u(struct rd *r, int n)
{
    uint64_t v = 0;
    if (r->bad || r->end - r->p < n) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static void rd_skip(struct rd *r, uint64_t n)
{
    if (r->bad || (uint64_t)(r->end - r->p) < n)
        r->bad = true;
    else
        r->p += n;
}

static const int scalar_size[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static void skip_value(struct rd *r, uint32_t type, int depth)
{
    if (type == 8) {
        rd_skip(r, rd_u(r, 8));
    } else if (type == 9 && depth < 2) {
        uint32_t et = (uint32_t)rd_u(r, 4);
        uint64_t n = rd_u(r, 8);
        if (et < 13 && scalar_size[et]) {
            if (n > (uint64_t)(r->end - r->p))
                r->bad = true;
            else
                rd_skip(r, n * (uint64_t)scalar_size[et]);
        } else {
            for (uint64_t i = 0; i < n && !r->bad; i++)
                skip_value(r, et, depth + 1);
        }
    } else if (type < 13 && scalar_size[type]) {
        rd_skip(r, (uint64_t)scalar_size[type]);
    } else {
        r->bad = true;
    }
}

static bool gload(const char *path, struct gfile *g)
{
    memset(g, 0, sizeof *g);
    if (aios_read_file(path, (size_t)64 << 20, &g->buf, &g->len, NULL) != AIOS_OK)
        return false;
    struct rd r = {(const uint8_t *)g->buf, (const uint8_t *)g->buf + g->len, false};
    if (rd_u(&r, 4) != 0x46554747u || rd_u(&r, 4) != 3)
        return false;
    uint64_t nt = rd_u(&r, 8), nkv = rd_u(&r, 8);
    uint64_t align = 32;
    for (uint64_t i = 0; i < nkv && !r.bad; i++) {
        uint64_t kl = rd_u(&r, 8);
        const uint8_t *k = r.p;
        rd_skip(&r, kl);
        uint32_t type = (uint32_t)rd_u(&r, 4);
        if (!r.bad && kl == 17 && memcmp(k, "general.alignment", 17) == 0 && type == 4)
            align = rd_u(&r, 4);
        else
            skip_value(&r, type, 0);
    }
    if (r.bad || nt > 10000 || !align)
        return false;
    g->t = aios_calloc(nt ? nt : 1, sizeof *g->t);
    g->nt = (int64_t)nt;
    uint64_t *off = aios_calloc(nt ? nt : 1, sizeof *off);
    for (uint64_t i = 0; i < nt && !r.bad; i++) {
        uint64_t nl = rd_u(&r, 8);
        if (nl >= sizeof g->t[i].name)
            r.bad = true;
        else
            memcpy(g->t[i].name, r.p, nl);
        rd_skip(&r, nl);
        uint32_t nd = (uint32_t)rd_u(&r, 4);
        if (nd > 4)
            r.bad = true;
        g->t[i].nel = 1;
        for (int d = 0; d < 4; d++) {
            g->t[i].ne[d] = d < (int)nd ? (int64_t)rd_u(&r, 8) : 1;
            g->t[i].nel *= g->t[i].ne[d];
        }
        g->t[i].type = (uint32_t)rd_u(&r, 4);
        off[i] = rd_u(&r, 8);
    }
    size_t pos = (size_t)(r.p - (const uint8_t *)g->buf);
    size_t data = (pos + align - 1) / align * align;
    bool ok = !r.bad;
    for (uint64_t i = 0; ok && i < nt; i++) {
        size_t rs = aios_tensor_row_size(g->t[i].type, g->t[i].ne[0]);
        size_t sz = rs * (size_t)(g->t[i].nel / g->t[i].ne[0]);
        if (!rs || data + off[i] + sz > g->len)
            ok = false;
        else
            g->t[i].data = (const uint8_t *)g->buf + data + off[i];
    }
    aios_free(off);
    return ok;
}

static void gfree(struct gfile *g)
{
    aios_free(g->buf);
    aios_free(g->t);
}

static const struct tinfo *gfind(const struct gfile *g, const char *name)
{
    for (int64_t i = 0; i < g->nt; i++)
        if (strcmp(g->t[i].name, name) == 0)
            return &g->t[i];
    return NULL;
}

static double rms_err(const float *x, const float *y, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)(x[i] - y[i]) * (x[i] - y[i]);
    return sqrt(s / (double)n);
}

struct tally {
    int identical, compared, worse;
    double worst_ratio;
};

/* Quantizes every tensor of src that dst stores as a quantized type and
 * compares. exact_types: bit mask of type ids that must match bytewise. */
static void compare_files(const char *dir, const char *model, const char *variant,
                          uint64_t exact_types, struct tally *tl)
{
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/models/%s-F32.gguf", dir, model);
    snprintf(p2, sizeof p2, "%s/models/%s-%s.gguf", dir, model, variant);
    struct gfile src, ref;
    bool ok1 = gload(p1, &src), ok2 = gload(p2, &ref);
    CHECK_MSG(ok1 && ok2, "cannot read %s or %s", p1, p2);
    if (!ok1 || !ok2)
        goto out;
    for (int64_t i = 0; i < ref.nt; i++) {
        const struct tinfo *q = &ref.t[i];
        if (q->type == AIOS_GGML_F32)
            continue;
        const struct tinfo *f = gfind(&src, q->name);
        CHECK_MSG(f && f->type == AIOS_GGML_F32 && f->nel == q->nel, "%s: no F32 source", q->name);
        if (!f || f->type != AIOS_GGML_F32 || f->nel != q->nel)
            continue;
        int64_t nrows = q->nel / q->ne[0];
        size_t sz = aios_tensor_row_size(q->type, q->ne[0]) * (size_t)nrows;
        uint8_t *mine = aios_malloc(sz);
        float *back = aios_malloc((size_t)q->nel * sizeof(float));
        float *xsrc = aios_malloc((size_t)q->nel * sizeof(float));
        memcpy(xsrc, f->data, (size_t)q->nel * sizeof(float));
        int rc = aios_tensor_quantize(q->type, xsrc, mine, nrows, q->ne[0], NULL);
        CHECK_MSG(rc == AIOS_OK, "%s: quantize to type %u failed", q->name, q->type);
        bool same = rc == AIOS_OK && memcmp(mine, q->data, sz) == 0;
        tl->compared++;
        tl->identical += same;
        if (exact_types & (1ull << q->type)) {
            CHECK_MSG(same, "%s-%s %s (%s): bytes differ from llama-quantize", model, variant,
                      q->name, aios_tensor_type_traits(q->type)->name);
        } else if (rc == AIOS_OK) {
            aios_tensor_dequantize(q->type, mine, back, q->nel, NULL);
            double e_mine = rms_err(xsrc, back, q->nel);
            aios_tensor_dequantize(q->type, q->data, back, q->nel, NULL);
            double e_ref = rms_err(xsrc, back, q->nel);
            double ratio = e_ref > 0 ? e_mine / e_ref : (e_mine > 0 ? INFINITY : 1);
            if (ratio > tl->worst_ratio)
                tl->worst_ratio = ratio;
            /* The rule: no worse than llama-quantize by more than 2%. */
            CHECK_MSG(ratio <= 1.02, "%s-%s %s (%s): rms error %.6g vs reference %.6g", model,
                      variant, q->name, aios_tensor_type_traits(q->type)->name, e_mine, e_ref);
            tl->worse += ratio > 1.0 + 1e-9;
        }
        aios_free(mine);
        aios_free(back);
        aios_free(xsrc);
    }
out:
    gfree(&src);
    gfree(&ref);
}

static const char *fixtures;

static void test_exact(void)
{
    static const char *models[] = {"llama",      "qwen2",       "chatglm",
                                   "baichuan7b", "baichuan13b", "bert"};
    static const char *variants[] = {"Q8_0", "Q4_0", "F16"};
    uint64_t exact = (1ull << AIOS_GGML_Q8_0) | (1ull << AIOS_GGML_Q4_0) | (1ull << AIOS_GGML_F16);
    for (size_t v = 0; v < 3; v++) {
        struct tally tl = {0};
        for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
            if (strcmp(models[m], "bert") == 0 && v == 1)
                continue; /* no bert-Q4_0 */
            compare_files(fixtures, models[m], variants[v], exact, &tl);
        }
        fprintf(stderr, "  %s: %d/%d tensors byte-identical\n", variants[v], tl.identical,
                tl.compared);
        CHECK(tl.compared > 20);
    }
}

static void test_kquants(void)
{
    static const char *models[] = {"llama", "qwen2", "chatglm"};
    static const char *variants[] = {"Q6_K", "Q4_K_M"};
    for (size_t v = 0; v < 2; v++) {
        struct tally tl = {0};
        for (size_t m = 0; m < 3; m++)
            compare_files(fixtures, models[m], variants[v], 0, &tl);
        fprintf(stderr,
                "  %s: %d/%d tensors byte-identical, %d with larger error, worst ratio %.4f\n",
                variants[v], tl.identical, tl.compared, tl.worse, tl.worst_ratio);
        CHECK(tl.compared > 10);
    }
}

int main(void)
{
    fixtures = test_fixtures();
    TEST_RUN(test_exact);
    TEST_RUN(test_kquants);
    TEST_EXIT();
}
