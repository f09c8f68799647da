/* Conformance of the quantizers with llama-quantize (fixtures/models).
 *
 * Each F32 model is quantized tensor by tensor with aios' reference
 * quantizers and compared with the tensors llama-quantize wrote:
 *   - Q8_0, Q4_0 (and F16) tensors must be byte-identical;
 *   - K-quant tensors (Q6_K files, Q4_K/Q6_K/Q5_0/Q8_0 inside Q4_K_M) must
 *     reconstruct the F32 weights with an rms error at most 2% above the
 *     reference file's (byte identity is reported, not required).
 * (tests/e2e/test_quantize.sh checks the whole files written by `aios
 * quantize`; this test checks the quantizers themselves, tensor by tensor.) */
#include "gguf/gguf.h"
#include "tensor/tensor.h"
#include "test.h"

#include <math.h>

static const struct aios_gguf_tensor *gfind(aios_gguf *g, const char *name)
{
    return aios_gguf_find_tensor(g, name);
}

static int64_t nel_of(const struct aios_gguf_tensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
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
    aios_gguf *src = NULL, *ref = NULL;
    struct aios_err e1 = {0}, e2 = {0};
    bool ok1 = aios_gguf_open(p1, &src, &e1) == AIOS_OK;
    bool ok2 = aios_gguf_open(p2, &ref, &e2) == AIOS_OK;
    CHECK_MSG(ok1 && ok2, "cannot read %s or %s: %s %s", p1, p2, e1.msg, e2.msg);
    if (!ok1 || !ok2)
        goto out;
    for (int64_t i = 0; i < aios_gguf_n_tensors(ref); i++) {
        const struct aios_gguf_tensor *q = aios_gguf_tensor(ref, i);
        if (q->type == AIOS_GGML_F32)
            continue;
        const struct aios_gguf_tensor *f = gfind(src, q->name);
        int64_t qnel = nel_of(q);
        CHECK_MSG(f && f->type == AIOS_GGML_F32 && nel_of(f) == qnel, "%s: no F32 source", q->name);
        if (!f || f->type != AIOS_GGML_F32 || nel_of(f) != qnel)
            continue;
        int64_t nrows = qnel / q->ne[0];
        size_t sz = aios_tensor_row_size(q->type, q->ne[0]) * (size_t)nrows;
        uint8_t *mine = aios_malloc(sz);
        float *back = aios_malloc((size_t)qnel * sizeof(float));
        float *xsrc = aios_malloc((size_t)qnel * sizeof(float));
        memcpy(xsrc, f->data, (size_t)qnel * sizeof(float));
        int rc = aios_tensor_quantize(q->type, xsrc, mine, nrows, q->ne[0], NULL);
        CHECK_MSG(rc == AIOS_OK, "%s: quantize to type %u failed", q->name, q->type);
        bool same = rc == AIOS_OK && memcmp(mine, q->data, sz) == 0;
        tl->compared++;
        tl->identical += same;
        if (exact_types & (1ull << q->type)) {
            CHECK_MSG(same, "%s-%s %s (%s): bytes differ from llama-quantize", model, variant,
                      q->name, aios_tensor_type_traits(q->type)->name);
        } else if (rc == AIOS_OK) {
            aios_tensor_dequantize(q->type, mine, back, qnel, NULL);
            double e_mine = rms_err(xsrc, back, qnel);
            aios_tensor_dequantize(q->type, q->data, back, qnel, NULL);
            double e_ref = rms_err(xsrc, back, qnel);
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
    aios_gguf_close(src);
    aios_gguf_close(ref);
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
