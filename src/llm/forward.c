/*
 * Contexts and the forward pass.
 *
 * The KV cache holds, per layer, n_seq slots of n_ctx positions of
 * n_head_kv * head_dim values (F16 by default, F32 on request):
 *   k_cache[layer][seq][pos][kv_dim]
 * A decode call may mix tokens of several sequences: the matrix products run
 * once over all tokens of a chunk (weights are read once per chunk, which is
 * what makes batching pay), while RoPE, the cache writes and attention go
 * token by token against that token's own sequence.
 *
 * Per chunk of T tokens and per layer (decoders, pre-norm):
 *   h = norm(x); q,k,v = W h (+b); rope(q,k); cache <- k,v
 *   a = attention(q, cache); x += Wo a
 *   h = norm(x); x += Wdown (silu(Wgate h) * Wup h)
 * BERT is post-norm with GELU and bidirectional attention, so a sequence
 * must arrive whole in one chunk.
 */
#include "llm/llm_int.h"

#include <math.h>
#include <string.h>

struct aios_ctx {
    const aios_model *m;
    int n_ctx, n_seq, n_batch;
    bool kv_f32;
    size_t kv_elem, kv_dim;
    unsigned char *k_cache, *v_cache;
    int *seq_len;
    aios_pool *pool;
    /* scratch for n_batch tokens */
    float *x, *h, *q, *k, *v, *qkv, *attn, *g, *u;
    float *att_scratch; /* n_threads * n_ctx */
    void *wdata;
    size_t wsize;
    /* outputs of the last decode */
    float *out;
    int n_out, out_cap;
    int *seq_end; /* per sequence, position after the last token of the chunk */
    int *att_idx; /* n_batch: the tokens attention handles one by one */
};

int aios_ctx_n_ctx(const aios_ctx *c)
{
    return c->n_ctx;
}
int aios_ctx_n_seq(const aios_ctx *c)
{
    return c->n_seq;
}
int aios_ctx_n_outputs(const aios_ctx *c)
{
    return c->n_out;
}
int aios_ctx_output_dim(const aios_ctx *c)
{
    return c->m->hp.arch == AIOS_ARCH_BERT ? c->m->hp.n_embd : c->m->hp.n_vocab;
}
const float *aios_ctx_output(const aios_ctx *c, int i)
{
    if (i < 0 || i >= c->n_out)
        return NULL;
    return c->out + (size_t)i * (size_t)aios_ctx_output_dim(c);
}
int aios_ctx_seq_len(const aios_ctx *c, int seq)
{
    return seq >= 0 && seq < c->n_seq ? c->seq_len[seq] : 0;
}
void aios_ctx_seq_clear(aios_ctx *c, int seq)
{
    if (seq >= 0 && seq < c->n_seq)
        c->seq_len[seq] = 0;
}
size_t aios_ctx_kv_bytes(const aios_ctx *c)
{
    return 2 * (size_t)c->m->hp.n_layer * (size_t)c->n_seq * (size_t)c->n_ctx * c->kv_dim *
           c->kv_elem;
}

/* Byte offset of (layer, seq, pos) in a cache. */
static size_t kv_off(const aios_ctx *c, int layer, int seq, int pos)
{
    return ((((size_t)layer * (size_t)c->n_seq + (size_t)seq) * (size_t)c->n_ctx + (size_t)pos) *
            c->kv_dim) *
           c->kv_elem;
}

int aios_ctx_seq_copy(aios_ctx *c, int src, int dst, int n, struct aios_err *err)
{
    if (src < 0 || src >= c->n_seq || dst < 0 || dst >= c->n_seq || n < 0 || n > c->seq_len[src])
        return aios_err_set(err, AIOS_EINVAL, "bad sequence copy %d -> %d of %d positions", src,
                            dst, n);
    if (src != dst) {
        size_t bytes = (size_t)n * c->kv_dim * c->kv_elem;
        for (int l = 0; l < c->m->hp.n_layer; l++) {
            memcpy(c->k_cache + kv_off(c, l, dst, 0), c->k_cache + kv_off(c, l, src, 0), bytes);
            memcpy(c->v_cache + kv_off(c, l, dst, 0), c->v_cache + kv_off(c, l, src, 0), bytes);
        }
    }
    c->seq_len[dst] = n;
    return AIOS_OK;
}

static void grow_wsize(aios_ctx *c, const struct aios_weight *w)
{
    if (!w->t)
        return;
    size_t s = aios_tensor_matmul_wsize(w->mat.type, w->mat.ncols, c->n_batch);
    if (s > c->wsize)
        c->wsize = s;
}

void aios_ctx_free(aios_ctx *c)
{
    if (!c)
        return;
    aios_pool_destroy(c->pool);
    aios_free(c->k_cache);
    aios_free(c->v_cache);
    aios_free(c->seq_len);
    aios_free(c->seq_end);
    aios_free(c->att_idx);
    float *bufs[] = {c->x,    c->h, c->q, c->k,           c->v,  c->qkv,
                     c->attn, c->g, c->u, c->att_scratch, c->out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        aios_free(bufs[i]);
    aios_free(c->wdata);
    aios_free(c);
}

int aios_ctx_create(const aios_model *m, const struct aios_ctx_params *p, aios_ctx **out,
                    struct aios_err *err)
{
    *out = NULL;
    const struct aios_hparams *hp = &m->hp;
    aios_ctx *c = aios_calloc(1, sizeof *c);
    if (!c)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    c->m = m;
    c->n_ctx = p->n_ctx > 0 ? p->n_ctx : (hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    c->n_seq = p->n_seq > 0 ? p->n_seq : 1;
    c->n_batch = p->n_batch > 0 ? p->n_batch : 512;
    if (hp->arch == AIOS_ARCH_BERT && c->n_ctx > hp->n_ctx_train)
        c->n_ctx = hp->n_ctx_train; /* learned positions end there */
    if (c->n_batch > c->n_ctx * c->n_seq)
        c->n_batch = c->n_ctx * c->n_seq;
    if (c->n_ctx > (1 << 20) || c->n_seq > 4096) {
        aios_ctx_free(c);
        return aios_err_set(err, AIOS_ERANGE, "context of %d x %d sequences is too large", c->n_ctx,
                            c->n_seq);
    }
    c->kv_f32 = p->kv_f32;
    c->kv_elem = c->kv_f32 ? 4 : 2;
    c->kv_dim = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    int nt = p->n_threads > 0 ? p->n_threads : aios_cpu_count();
    c->pool = aios_pool_create(nt);
    size_t half = aios_ctx_kv_bytes(c) / 2;
    c->k_cache = aios_malloc(half ? half : 1);
    c->v_cache = aios_malloc(half ? half : 1);
    c->seq_len = aios_calloc((size_t)c->n_seq, sizeof *c->seq_len);
    c->seq_end = aios_calloc((size_t)c->n_seq, sizeof *c->seq_end);
    c->att_idx = aios_calloc((size_t)c->n_batch, sizeof *c->att_idx);
    size_t T = (size_t)c->n_batch, E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    size_t QD = (size_t)hp->n_head * (size_t)hp->head_dim, KD = c->kv_dim;
    c->x = aios_malloc(T * E * sizeof(float));
    c->h = aios_malloc(T * (E > QD ? E : QD) * sizeof(float));
    c->q = aios_malloc(T * QD * sizeof(float));
    c->k = aios_malloc(T * KD * sizeof(float));
    c->v = aios_malloc(T * KD * sizeof(float));
    c->qkv = hp->arch == AIOS_ARCH_CHATGLM ? aios_malloc(T * (QD + 2 * KD) * sizeof(float))
                                           : aios_malloc(sizeof(float));
    c->attn = aios_malloc(T * QD * sizeof(float));
    c->g = aios_malloc(T * F * sizeof(float));
    c->u = aios_malloc(T * 2 * F * sizeof(float));
    c->att_scratch =
        aios_malloc((size_t)aios_pool_size(c->pool) * (size_t)c->n_ctx * sizeof(float));
    grow_wsize(c, &m->output);
    for (int l = 0; l < hp->n_layer; l++) {
        const struct aios_layer *L = &m->layers[l];
        const struct aios_weight *ws[] = {&L->wq, &L->wk,     &L->wv,       &L->wqkv,
                                          &L->wo, &L->ffn_up, &L->ffn_gate, &L->ffn_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            grow_wsize(c, ws[i]);
    }
    c->wdata = aios_malloc(c->wsize ? c->wsize : 1);
    if (!c->pool || !c->k_cache || !c->v_cache || !c->seq_len || !c->seq_end || !c->att_idx ||
        !c->x || !c->h || !c->q || !c->k || !c->v || !c->qkv || !c->attn || !c->g || !c->u ||
        !c->att_scratch || !c->wdata) {
        char b[32];
        aios_fmt_bytes(aios_ctx_kv_bytes(c), b, sizeof b);
        aios_ctx_free(c);
        return aios_err_set(err, AIOS_ENOMEM,
                            "out of memory creating a context (KV cache %s); use a smaller context",
                            b);
    }
    *out = c;
    return AIOS_OK;
}

/* ---- building blocks ---- */

static int matmul(aios_ctx *c, const struct aios_weight *w, const float *x, int T, int64_t x_stride,
                  float *y, int64_t y_stride, struct aios_err *err)
{
    return aios_tensor_matmul(c->pool, &w->mat, x, T, x_stride, y, y_stride, c->wdata, c->wsize,
                              err);
}

/* Products of one input (Q, K, V; gate, up): one call when the weights share
 * type and width (the input is converted once), else one call each. */
static int matmul_same_input(aios_ctx *c, const struct aios_weight *const *w, float *const *y,
                             const int64_t *y_stride, int nw, const float *x, int T,
                             int64_t x_stride, struct aios_err *err)
{
    struct aios_tensor_mm mm[4];
    bool same = nw <= 4;
    for (int k = 0; k < nw && same; k++) {
        mm[k] = (struct aios_tensor_mm){&w[k]->mat, y[k], y_stride[k]};
        same = w[k]->mat.type == w[0]->mat.type && w[k]->mat.ncols == w[0]->mat.ncols;
    }
    if (same)
        return aios_tensor_matmul_n(c->pool, mm, nw, x, T, x_stride, c->wdata, c->wsize, err);
    for (int k = 0; k < nw; k++) {
        int rc = matmul(c, w[k], x, T, x_stride, y[k], y_stride[k], err);
        if (rc)
            return rc;
    }
    return AIOS_OK;
}

static void add_bias(float *y, int T, int64_t stride, const struct aios_weight *b, int64_t n)
{
    if (!b->t)
        return;
    for (int t = 0; t < T; t++)
        aios_tensor_add(y + (size_t)t * (size_t)stride, b->f, y + (size_t)t * (size_t)stride, n);
}

static int embed_row(const struct aios_weight *w, int64_t row, float *out, struct aios_err *err)
{
    const unsigned char *p = (const unsigned char *)w->mat.data + (size_t)row * w->mat.row_stride;
    return aios_tensor_dequantize(w->mat.type, p, out, w->mat.ncols, err);
}

/* Attention of one token against its sequence's cache. */
static struct aios_attn_args attn_args(const aios_ctx *c, const struct aios_batch_tok *tk)
{
    const struct aios_hparams *hp = &c->m->hp;
    return (struct aios_attn_args){
        .n_q = 1,
        .n_kv = hp->causal ? tk->pos + 1 : c->seq_end[tk->seq],
        .n_head = hp->n_head,
        .n_head_kv = hp->n_head_kv,
        .head_dim = hp->head_dim,
        .q_pos0 = tk->pos,
        .causal = hp->causal,
        .scale = 1.0f / sqrtf((float)hp->head_dim),
        .max_bias = hp->alibi_max_bias,
        .kv_type = c->kv_f32 ? AIOS_GGML_F32 : AIOS_GGML_F16,
        .kv_stride = (int64_t)c->kv_dim,
    };
}

struct attn_job {
    aios_ctx *c;
    const struct aios_batch_tok *toks;
    const int *idx; /* the tokens to do, T of them */
    int T, layer;
    const float *q;
    int64_t q_stride;
    float *out;
    int rc;
    struct aios_err err;
};

static void attn_part(void *p, int ith, int nth)
{
    struct attn_job *j = p;
    aios_ctx *c = j->c;
    const struct aios_hparams *hp = &c->m->hp;
    float *scratch = c->att_scratch + (size_t)ith * (size_t)c->n_ctx;
    for (int n = ith; n < j->T; n += nth) {
        const int t = j->idx[n];
        const struct aios_batch_tok *tk = &j->toks[t];
        struct aios_attn_args a = attn_args(c, tk);
        struct aios_err e;
        int rc = aios_tensor_attention(&a, j->q + (size_t)t * (size_t)j->q_stride,
                                       c->k_cache + kv_off(c, j->layer, tk->seq, 0),
                                       c->v_cache + kv_off(c, j->layer, tk->seq, 0),
                                       j->out + (size_t)t * (size_t)(hp->n_head * hp->head_dim),
                                       scratch, &e);
        if (rc && !j->rc) {
            j->rc = rc;
            j->err = e;
        }
    }
}

static void store_kv(aios_ctx *c, int layer, const struct aios_batch_tok *tk, const float *k,
                     const float *v)
{
    unsigned char *kd = c->k_cache + kv_off(c, layer, tk->seq, tk->pos);
    unsigned char *vd = c->v_cache + kv_off(c, layer, tk->seq, tk->pos);
    if (c->kv_f32) {
        memcpy(kd, k, c->kv_dim * sizeof(float));
        memcpy(vd, v, c->kv_dim * sizeof(float));
    } else {
        aios_fp32_to_fp16_row(k, (uint16_t *)kd, (int64_t)c->kv_dim);
        aios_fp32_to_fp16_row(v, (uint16_t *)vd, (int64_t)c->kv_dim);
    }
}

/* ---- per-token work over the pool ----
 * Norms, activations, residual adds, RoPE and the cache writes touch each
 * token's rows only: with many tokens they are split over the threads in
 * contiguous ranges (one thread alone would leave the others idle for
 * about a tenth of a prompt's time). */
struct tok_job {
    aios_ctx *c;
    int T, layer;
    const struct aios_batch_tok *toks;
    float *a, *b, *d; /* per-function rows */
    int64_t sa, sb, sd;
    const float *w;
    void (*fn)(const struct tok_job *j, int t);
};

static void tok_part(void *p, int ith, int nth)
{
    const struct tok_job *j = p;
    const int per = (j->T + nth - 1) / nth;
    const int t1 = (ith + 1) * per < j->T ? (ith + 1) * per : j->T;
    for (int t = ith * per; t < t1; t++)
        j->fn(j, t);
}

static void for_tokens(struct tok_job *j)
{
    if (j->T >= 4 && aios_pool_size(j->c->pool) > 1)
        aios_pool_run(j->c->pool, tok_part, j);
    else
        for (int t = 0; t < j->T; t++)
            j->fn(j, t);
}

/* d_t = rms_norm(a_t) * w */
static void norm_tok(const struct tok_job *j, int t)
{
    const struct aios_hparams *hp = &j->c->m->hp;
    aios_tensor_rms_norm(j->a + t * j->sa, j->w, j->d + t * j->sd, hp->n_embd, hp->norm_eps);
}

/* a_t += b_t (sa floats) */
static void add_tok(const struct tok_job *j, int t)
{
    aios_tensor_add(j->a + t * j->sa, j->b + t * j->sb, j->a + t * j->sa, j->sa);
}

/* d_t = silu(a_t) * b_t, n_ff floats */
static void glu_tok(const struct tok_job *j, int t)
{
    const int64_t F = j->c->m->hp.n_ff;
    float *g = j->d + t * j->sd;
    aios_tensor_silu(j->a + t * j->sa, g, F);
    aios_tensor_mul(g, j->b + t * j->sb, g, F);
}

/* RoPE on token t's query and key, then its key and value into the cache. */
static void rope_store_tok(const struct tok_job *j, int t)
{
    aios_ctx *c = j->c;
    const struct aios_hparams *hp = &c->m->hp;
    const float *ff = c->m->rope_freqs.t ? c->m->rope_freqs.f : NULL;
    float *qt = j->a + t * j->sa, *kt = j->b + t * j->sb;
    if (hp->rope_mode >= 0) {
        aios_tensor_rope(qt, hp->n_head, hp->head_dim, hp->n_rot, j->toks[t].pos,
                         (enum aios_rope_mode)hp->rope_mode, hp->rope_base, hp->rope_freq_scale,
                         ff);
        aios_tensor_rope(kt, hp->n_head_kv, hp->head_dim, hp->n_rot, j->toks[t].pos,
                         (enum aios_rope_mode)hp->rope_mode, hp->rope_base, hp->rope_freq_scale,
                         ff);
    }
    store_kv(c, j->layer, &j->toks[t], kt, j->d + t * j->sd);
}

/* Shortest run of one sequence's consecutive tokens that attention takes
 * as one many-row call rather than token by token. */
#define ATTN_RUN_MIN 4

/* Attention sub-block shared by all architectures: from q/k/v rows (with
 * their strides) to c->attn. */
static int attention(aios_ctx *c, const struct aios_batch_tok *toks, int T, int layer, float *q,
                     int64_t q_stride, float *k, int64_t k_stride, float *v, int64_t v_stride,
                     struct aios_err *err)
{
    const struct aios_hparams *hp = &c->m->hp;
    struct tok_job rj = {.c = c,
                         .T = T,
                         .layer = layer,
                         .toks = toks,
                         .a = q,
                         .b = k,
                         .d = v,
                         .sa = q_stride,
                         .sb = k_stride,
                         .sd = v_stride,
                         .fn = rope_store_tok};
    for_tokens(&rj);
    if (T < aios_pool_size(c->pool)) {
        /* Few tokens (decoding): split each token's heads over the pool. */
        for (int t = 0; t < T; t++) {
            const struct aios_batch_tok *tk = &toks[t];
            struct aios_attn_args a = attn_args(c, tk);
            int rc = aios_tensor_attention_mt(
                c->pool, &a, q + (size_t)t * (size_t)q_stride,
                c->k_cache + kv_off(c, layer, tk->seq, 0),
                c->v_cache + kv_off(c, layer, tk->seq, 0),
                c->attn + (size_t)t * (size_t)(hp->n_head * hp->head_dim), err);
            if (rc)
                return rc;
        }
        return AIOS_OK;
    }
    /* Many tokens. A run of consecutive positions of one sequence (a prompt
     * chunk) goes to attention as one call with many query rows (tiled
     * sixteen rows at a time where the CPU allows), heads over the pool; the
     * other tokens (one per generating sequence) go one per thread. */
    int n_single = 0;
    for (int t = 0; t < T;) {
        int e = t + 1;
        while (e < T && toks[e].seq == toks[t].seq && toks[e].pos == toks[e - 1].pos + 1)
            e++;
        if (e - t < ATTN_RUN_MIN) {
            for (; t < e; t++)
                c->att_idx[n_single++] = t;
            continue;
        }
        struct aios_attn_args a = attn_args(c, &toks[e - 1]);
        a.n_q = e - t;
        a.q_pos0 = toks[t].pos;
        a.q_stride = q_stride;
        int rc = aios_tensor_attention_mt(c->pool, &a, q + (size_t)t * (size_t)q_stride,
                                          c->k_cache + kv_off(c, layer, toks[t].seq, 0),
                                          c->v_cache + kv_off(c, layer, toks[t].seq, 0),
                                          c->attn + (size_t)t * (size_t)(hp->n_head * hp->head_dim),
                                          err);
        if (rc)
            return rc;
        t = e;
    }
    if (n_single == 0)
        return AIOS_OK;
    struct attn_job j = {.c = c,
                         .toks = toks,
                         .idx = c->att_idx,
                         .T = n_single,
                         .layer = layer,
                         .q = q,
                         .q_stride = q_stride,
                         .out = c->attn};
    aios_pool_run(c->pool, attn_part, &j);
    if (j.rc)
        return aios_err_set(err, j.rc, "attention: %s", j.err.msg);
    return AIOS_OK;
}

/* ---- decoder layers ---- */

static int decoder_layer(aios_ctx *c, const struct aios_batch_tok *toks, int T, int l,
                         struct aios_err *err)
{
    const struct aios_model *m = c->m;
    const struct aios_hparams *hp = &m->hp;
    const struct aios_layer *L = &m->layers[l];
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t QD = (int64_t)hp->n_head * hp->head_dim, KD = (int64_t)c->kv_dim;
    int rc;
    struct tok_job nj = {.c = c,
                         .T = T,
                         .a = c->x,
                         .sa = E,
                         .d = c->h,
                         .sd = E,
                         .w = L->attn_norm.f,
                         .fn = norm_tok};
    for_tokens(&nj);
    if (hp->arch == AIOS_ARCH_CHATGLM) {
        int64_t S = QD + 2 * KD;
        if ((rc = matmul(c, &L->wqkv, c->h, T, E, c->qkv, S, err)))
            return rc;
        add_bias(c->qkv, T, S, &L->bqkv, S);
        rc = attention(c, toks, T, l, c->qkv, S, c->qkv + QD, S, c->qkv + QD + KD, S, err);
    } else {
        const struct aios_weight *ws[3] = {&L->wq, &L->wk, &L->wv};
        float *ys[3] = {c->q, c->k, c->v};
        const int64_t ss[3] = {QD, KD, KD};
        if ((rc = matmul_same_input(c, ws, ys, ss, 3, c->h, T, E, err)))
            return rc;
        add_bias(c->q, T, QD, &L->bq, QD);
        add_bias(c->k, T, KD, &L->bk, KD);
        add_bias(c->v, T, KD, &L->bv, KD);
        rc = attention(c, toks, T, l, c->q, QD, c->k, KD, c->v, KD, err);
    }
    if (rc)
        return rc;
    if ((rc = matmul(c, &L->wo, c->attn, T, QD, c->h, E, err)))
        return rc;
    struct tok_job aj = {.c = c, .T = T, .a = c->x, .sa = E, .b = c->h, .sb = E, .fn = add_tok};
    for_tokens(&aj);
    nj.w = L->ffn_norm.f;
    for_tokens(&nj);
    struct tok_job gj = {.c = c, .T = T, .d = c->g, .sd = F, .fn = glu_tok};
    if (hp->arch == AIOS_ARCH_CHATGLM) {
        if ((rc = matmul(c, &L->ffn_up, c->h, T, E, c->u, 2 * F, err)))
            return rc;
        gj.a = c->u; /* [gate | up] per token */
        gj.sa = 2 * F;
        gj.b = c->u + F;
        gj.sb = 2 * F;
    } else {
        const struct aios_weight *ws[2] = {&L->ffn_gate, &L->ffn_up};
        float *ys[2] = {c->g, c->u};
        const int64_t ss[2] = {F, F};
        if ((rc = matmul_same_input(c, ws, ys, ss, 2, c->h, T, E, err)))
            return rc;
        gj.a = c->g;
        gj.sa = F;
        gj.b = c->u;
        gj.sb = F;
    }
    for_tokens(&gj);
    if ((rc = matmul(c, &L->ffn_down, c->g, T, F, c->h, E, err)))
        return rc;
    for_tokens(&aj);
    return AIOS_OK;
}

static int bert_layer(aios_ctx *c, const struct aios_batch_tok *toks, int T, int l,
                      struct aios_err *err)
{
    const struct aios_hparams *hp = &c->m->hp;
    const struct aios_layer *L = &c->m->layers[l];
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t QD = (int64_t)hp->n_head * hp->head_dim, KD = (int64_t)c->kv_dim;
    int rc;
    if ((rc = matmul(c, &L->wq, c->x, T, E, c->q, QD, err)) ||
        (rc = matmul(c, &L->wk, c->x, T, E, c->k, KD, err)) ||
        (rc = matmul(c, &L->wv, c->x, T, E, c->v, KD, err)))
        return rc;
    add_bias(c->q, T, QD, &L->bq, QD);
    add_bias(c->k, T, KD, &L->bk, KD);
    add_bias(c->v, T, KD, &L->bv, KD);
    if ((rc = attention(c, toks, T, l, c->q, QD, c->k, KD, c->v, KD, err)))
        return rc;
    if ((rc = matmul(c, &L->wo, c->attn, T, QD, c->h, E, err)))
        return rc;
    add_bias(c->h, T, E, &L->bo, E);
    aios_tensor_add(c->x, c->h, c->x, T * E);
    for (int t = 0; t < T; t++)
        aios_tensor_layer_norm(c->x + t * E, L->attn_norm.f, L->attn_norm_b.f, c->x + t * E, E,
                               hp->norm_eps);
    if ((rc = matmul(c, &L->ffn_up, c->x, T, E, c->g, F, err)))
        return rc;
    add_bias(c->g, T, F, &L->ffn_up_b, F);
    aios_tensor_gelu_f16(c->g, c->g, T * F);
    if ((rc = matmul(c, &L->ffn_down, c->g, T, F, c->h, E, err)))
        return rc;
    add_bias(c->h, T, E, &L->ffn_down_b, E);
    aios_tensor_add(c->x, c->h, c->x, T * E);
    for (int t = 0; t < T; t++)
        aios_tensor_layer_norm(c->x + t * E, L->ffn_norm.f, L->ffn_norm_b.f, c->x + t * E, E,
                               hp->norm_eps);
    return AIOS_OK;
}

static int embed(aios_ctx *c, const struct aios_batch_tok *toks, int T, struct aios_err *err)
{
    const struct aios_model *m = c->m;
    const int64_t E = m->hp.n_embd;
    int rc;
    for (int t = 0; t < T; t++) {
        float *xt = c->x + t * E;
        if ((rc = embed_row(&m->tok_embd, toks[t].token, xt, err)))
            return rc;
        if (m->hp.arch != AIOS_ARCH_BERT)
            continue;
        if ((rc = embed_row(&m->type_embd, 0, c->h, err)))
            return rc;
        aios_tensor_add(xt, c->h, xt, E);
        if ((rc = embed_row(&m->pos_embd, toks[t].pos, c->h, err)))
            return rc;
        aios_tensor_add(xt, c->h, xt, E);
        aios_tensor_layer_norm(xt, m->embd_norm.f, m->embd_norm_b.f, xt, E, m->hp.norm_eps);
    }
    return AIOS_OK;
}

static int run_chunk(aios_ctx *c, const struct aios_batch_tok *toks, int T, struct aios_err *err)
{
    const struct aios_model *m = c->m;
    const struct aios_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd;
    int rc;
    for (int t = 0; t < T; t++)
        c->seq_end[toks[t].seq] = toks[t].pos + 1;
    if ((rc = embed(c, toks, T, err)))
        return rc;
    for (int l = 0; l < hp->n_layer; l++) {
        rc = hp->arch == AIOS_ARCH_BERT ? bert_layer(c, toks, T, l, err)
                                        : decoder_layer(c, toks, T, l, err);
        if (rc)
            return rc;
    }
    for (int t = 0; t < T; t++)
        c->seq_len[toks[t].seq] = toks[t].pos + 1;
    /* Gather the rows that want output. */
    int n = 0;
    for (int t = 0; t < T; t++) {
        if (!toks[t].output)
            continue;
        if (hp->arch == AIOS_ARCH_BERT)
            memcpy(c->out + (size_t)c->n_out * (size_t)E, c->x + t * E, (size_t)E * sizeof(float));
        else
            aios_tensor_rms_norm(c->x + t * E, m->out_norm.f, c->h + n * E, E, hp->norm_eps);
        n++;
        if (hp->arch == AIOS_ARCH_BERT)
            c->n_out++;
    }
    if (hp->arch != AIOS_ARCH_BERT && n) {
        int64_t V = hp->n_vocab;
        if ((rc = matmul(c, &m->output, c->h, n, E, c->out + (size_t)c->n_out * (size_t)V, V, err)))
            return rc;
        c->n_out += n;
    }
    return AIOS_OK;
}

int aios_ctx_decode(aios_ctx *c, const struct aios_batch_tok *toks, int n, struct aios_err *err)
{
    const struct aios_hparams *hp = &c->m->hp;
    c->n_out = 0;
    if (n <= 0)
        return aios_err_set(err, AIOS_EINVAL, "empty batch");
    /* Validate everything before touching the cache. */
    int n_out = 0;
    int *next = aios_malloc(sizeof *next * (size_t)c->n_seq);
    if (!next)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int s = 0; s < c->n_seq; s++)
        next[s] = -1;
    int rc = AIOS_OK;
    for (int i = 0; i < n && !rc; i++) {
        const struct aios_batch_tok *t = &toks[i];
        if (t->token < 0 || t->token >= hp->n_vocab)
            rc = aios_err_set(err, AIOS_EINVAL, "token id %d is outside the vocabulary of %d",
                              t->token, hp->n_vocab);
        else if (t->seq < 0 || t->seq >= c->n_seq)
            rc = aios_err_set(err, AIOS_EINVAL, "sequence %d does not exist (%d slots)", t->seq,
                              c->n_seq);
        else if (t->pos >= c->n_ctx)
            rc = aios_err_set(err, AIOS_ELIMIT, "the context of %d tokens is full", c->n_ctx);
        else if (t->pos < 0 ||
                 (next[t->seq] < 0 ? t->pos > c->seq_len[t->seq] : t->pos != next[t->seq]))
            rc = aios_err_set(err, AIOS_EINVAL,
                              "token %d: position %d does not follow sequence %d (length %d)", i,
                              t->pos, t->seq, next[t->seq] < 0 ? c->seq_len[t->seq] : next[t->seq]);
        else if (hp->arch == AIOS_ARCH_BERT && next[t->seq] < 0 && t->pos != 0)
            rc = aios_err_set(err, AIOS_EINVAL,
                              "an embedding model needs each text whole, from position 0");
        next[t->seq] = t->pos + 1;
        n_out += t->output;
    }
    aios_free(next);
    if (rc)
        return rc;
    if (hp->arch == AIOS_ARCH_BERT && n > c->n_batch)
        return aios_err_set(err, AIOS_ELIMIT,
                            "a batch of %d tokens exceeds the %d an embedding pass takes", n,
                            c->n_batch);
    size_t dim = (size_t)aios_ctx_output_dim(c);
    if (n_out > c->out_cap) {
        float *o = aios_realloc(c->out, (size_t)n_out * dim * sizeof(float));
        if (!o)
            return aios_err_set(err, AIOS_ENOMEM, "out of memory for %d output rows", n_out);
        c->out = o;
        c->out_cap = n_out;
    }
    for (int i = 0; i < n; i += c->n_batch) {
        int T = n - i < c->n_batch ? n - i : c->n_batch;
        if ((rc = run_chunk(c, toks + i, T, err)))
            return rc;
    }
    return AIOS_OK;
}

void aios_embd_pool(const aios_model *m, const float *rows, int n, float *out)
{
    const int E = m->hp.n_embd;
    memset(out, 0, sizeof(float) * (size_t)E);
    if (n <= 0)
        return;
    switch (m->hp.pooling) {
    case AIOS_POOL_MEAN:
        for (int t = 0; t < n; t++)
            aios_tensor_add(out, rows + (size_t)t * (size_t)E, out, E);
        aios_tensor_scale(out, 1.0f / (float)n, out, E);
        break;
    case AIOS_POOL_LAST:
        memcpy(out, rows + (size_t)(n - 1) * (size_t)E, sizeof(float) * (size_t)E);
        break;
    case AIOS_POOL_CLS:
    case AIOS_POOL_NONE:
        memcpy(out, rows, sizeof(float) * (size_t)E);
        break;
    }
    if (m->hp.normalize_embd) {
        double ss = 0;
        for (int i = 0; i < E; i++)
            ss += (double)out[i] * out[i];
        float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
        aios_tensor_scale(out, inv, out, E);
    }
}
