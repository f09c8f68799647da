/*
 * The engine's scheduler (see engine.h for the contract).
 *
 * Slot states:
 *   FREE --(assign)--> PROMPT --(last prompt token computed)--> GEN
 *   PROMPT|GEN --(stop, length, cancel, error)--> FREE (KV and tokens kept
 *   for prefix reuse)
 * Requests wait in a FIFO until a slot is free. All slot state is touched by
 * the scheduler thread only; the queue and cancel flags are under e->lock.
 */
#include "engine/engine.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_STOPS 16
#define MAX_STOP_LEN 256
#define PENDING_MAX (64 * 1024) /* undecided text held back at most */
#define STEP_TARGET_S 0.75      /* longest step while streams are generating */

struct req {
    struct req *next;
    uint64_t id;
    struct aios_gen_request r;
    int32_t *prompt;
    char *stops[MAX_STOPS];
    bool cancelled;
    double t_submit;
};

enum slot_state { SLOT_FREE, SLOT_PROMPT, SLOT_GEN };

struct slot {
    enum slot_state state;
    struct req *rq;
    int32_t *toks; /* tokens whose KV is in the cache (n_past of them), then pending */
    int n_toks, n_past, n_cached;
    int n_gen;
    aios_sampler *sampler;
    struct aios_buf pending; /* generated text not yet released */
    double t_start, t_first;
    bool want_prompt_out; /* this step computes outputs for prompt tokens */
};

struct aios_engine {
    aios_model *model;
    aios_llm_vocab *vocab;
    aios_ctx *ctx;
    int n_ctx, n_slots, n_batch;
    struct slot *slots;
    struct aios_batch_tok *batch;
    int *out_slot; /* output index -> slot */
    int *out_tok;  /* output index -> index into the slot's toks */
    float *logit_scratch;
    double tok_per_s;      /* measured speed of batches with prompt chunks */
    unsigned char *served; /* per slot, scratch of step() */
    /* Counters bumped by the scheduler and read by aios_engine_stats. */
    _Atomic uint64_t n_prompt_tokens, n_generated, n_cached_tokens, n_steps;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct req *queue_head, *queue_tail;
    int queued;
    uint64_t next_id;
    bool quit;
    struct aios_engine_stats stats;
};

const char *aios_finish_str(enum aios_finish f)
{
    static const char *const s[] = {"none", "stop", "length", "cancelled", "error"};
    return (unsigned)f < 5 ? s[f] : "?";
}

const aios_model *aios_engine_model(const aios_engine *e)
{
    return e->model;
}
const aios_llm_vocab *aios_engine_vocab(const aios_engine *e)
{
    return e->vocab;
}
int aios_engine_n_ctx(const aios_engine *e)
{
    return e->n_ctx;
}

static void req_free(struct req *q)
{
    if (!q)
        return;
    aios_json_guide_free(q->r.guide);
    aios_free(q->prompt);
    for (int i = 0; i < MAX_STOPS; i++)
        aios_free(q->stops[i]);
    aios_free(q);
}

/* ---- text release ---- */

/* Releases what can be released of s->pending; all of it when final. */
static int release_text(struct slot *s, bool final, const char **stop_hit, struct aios_buf *outb)
{
    struct req *q = s->rq;
    size_t safe;
    long at = aios_stop_find(s->pending.data ? s->pending.data : "", s->pending.len,
                             (const char *const *)q->stops, q->r.n_stop, &safe);
    *stop_hit = at >= 0 ? "stop" : NULL;
    if (final && at < 0)
        safe = s->pending.len;
    size_t n = safe;
    if (!final && at < 0)
        n = aios_utf8_complete_prefix(s->pending.data, safe);
    aios_buf_reset(outb);
    if (n) {
        char *tmp = aios_malloc(3 * n + 1);
        if (!tmp)
            return AIOS_ENOMEM;
        size_t m = aios_utf8_sanitize(s->pending.data, n, tmp);
        int rc = aios_buf_append(outb, tmp, m);
        aios_free(tmp);
        if (rc)
            return rc;
        memmove(s->pending.data, s->pending.data + n, s->pending.len - n);
        s->pending.len -= n;
        s->pending.data[s->pending.len] = 0;
    }
    return AIOS_OK;
}

static void top_logprobs(aios_engine *e, const float *logits, int k, struct aios_top_logprob *top)
{
    int V = aios_model_hparams(e->model)->n_vocab;
    float mx = logits[aios_argmax(logits, V)];
    double sum = 0;
    for (int i = 0; i < V; i++)
        sum += exp((double)(logits[i] - mx));
    float lse = mx + (float)log(sum);
    for (int j = 0; j < k; j++)
        top[j] = (struct aios_top_logprob){-1, -INFINITY};
    for (int i = 0; i < V; i++) {
        float lp = logits[i] - lse;
        if (k == 0 || lp <= top[k - 1].logprob)
            continue;
        int j = k - 1;
        while (j > 0 && top[j - 1].logprob < lp) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = (struct aios_top_logprob){i, lp};
    }
}

static void finish(aios_engine *e, struct slot *s, enum aios_finish why, const char *error)
{
    struct req *q = s->rq;
    if (!q)
        return;
    double now = aios_time_s();
    if (why != AIOS_FINISH_CANCELLED && why != AIOS_FINISH_ERROR && s->pending.len) {
        /* Flush what is left (an incomplete character becomes U+FFFD). */
        struct aios_buf out;
        aios_buf_init(&out, 0);
        const char *hit;
        if (release_text(s, true, &hit, &out) == AIOS_OK && out.len) {
            struct aios_gen_event ev = {.kind = AIOS_GEN_TOKEN,
                                        .text = out.data,
                                        .len = out.len,
                                        .token = -1,
                                        .logprob = NAN};
            q->r.cb(q->r.ud, &ev);
        }
        aios_buf_free(&out);
    }
    struct aios_gen_event ev = {
        .kind = AIOS_GEN_DONE,
        .finish = why,
        .error = error,
        .n_prompt = q->r.n_prompt,
        .n_cached = s->n_cached,
        .n_gen = s->n_gen,
        .t_queue_s = s->t_start - q->t_submit,
        .t_prompt_s = (s->t_first > 0 ? s->t_first : now) - s->t_start,
        .t_gen_s = s->t_first > 0 ? now - s->t_first : 0,
    };
    /* The slot counts as free before the client hears DONE, so stats read
     * after DONE never show it running. */
    pthread_mutex_lock(&e->lock);
    e->stats.running--;
    pthread_mutex_unlock(&e->lock);
    q->r.cb(q->r.ud, &ev);
    req_free(q);
    s->rq = NULL;
    s->state = SLOT_FREE;
    aios_buf_reset(&s->pending);
    aios_sampler_destroy(s->sampler);
    s->sampler = NULL;
    /* Keep only the tokens whose KV is valid, for prefix reuse. */
    s->n_toks = s->n_past;
}

/* ---- assignment with prefix reuse ---- */

static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb)
{
    int n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static void assign(aios_engine *e, struct req *q)
{
    int best_free = -1, best_free_lcp = -1, best_any = -1, best_any_lcp = 0;
    for (int i = 0; i < e->n_slots; i++) {
        struct slot *s = &e->slots[i];
        int lcp = common_prefix(s->toks, s->n_past, q->prompt, q->r.n_prompt);
        if (s->state == SLOT_FREE && lcp > best_free_lcp) {
            best_free = i;
            best_free_lcp = lcp;
        }
        if (lcp > best_any_lcp) {
            best_any = i;
            best_any_lcp = lcp;
        }
    }
    struct slot *s = &e->slots[best_free];
    int reuse = best_free_lcp;
    if (best_any >= 0 && best_any != best_free && best_any_lcp > reuse + 16) {
        if (aios_ctx_seq_copy(e->ctx, best_any, best_free, best_any_lcp, NULL) == AIOS_OK) {
            memcpy(s->toks, e->slots[best_any].toks, sizeof(int32_t) * (size_t)best_any_lcp);
            reuse = best_any_lcp;
        }
    }
    if (reuse >= q->r.n_prompt)
        reuse = q->r.n_prompt - 1; /* the last prompt token is computed again for its logits */
    if (q->r.prompt_logprobs)
        reuse = 0; /* every prompt position's output is needed */
    memcpy(s->toks, q->prompt, sizeof(int32_t) * (size_t)q->r.n_prompt);
    s->n_toks = q->r.n_prompt;
    s->n_past = reuse;
    s->n_cached = reuse;
    s->n_gen = 0;
    s->rq = q;
    s->state = SLOT_PROMPT;
    s->t_start = aios_time_s();
    s->t_first = 0;
    aios_buf_reset(&s->pending);
    s->sampler = aios_sampler_create(&q->r.sampling, aios_model_hparams(e->model)->n_vocab);
    if (s->sampler)
        for (int i = 0; i < q->r.n_prompt; i++)
            aios_sampler_accept(s->sampler, q->prompt[i]);
    atomic_fetch_add(&e->n_cached_tokens, (uint64_t)reuse);
    if (!s->sampler)
        finish(e, s, AIOS_FINISH_ERROR, "out of memory");
}

/* ---- one step ---- */

/* Whether token tok may come next under the slot's JSON guide. */
static bool guide_allows(aios_engine *e, const struct req *q, int32_t tok, struct aios_buf *piece)
{
    if (aios_llm_vocab_is_eog(e->vocab, tok))
        return aios_json_guide_complete(q->r.guide);
    aios_buf_reset(piece);
    if (aios_llm_token_piece(e->vocab, tok, false, piece, NULL) || piece->len == 0)
        return false; /* control tokens would not advance the document */
    return aios_json_guide_accept(q->r.guide, piece->data, piece->len);
}

/* Samples under the guide: a few draws from the distribution with refused
 * tokens masked, then the most likely allowed token. -1 when none is. */
static int32_t guided_sample(aios_engine *e, struct slot *s, const float *logits, float *prob)
{
    const int V = aios_model_hparams(e->model)->n_vocab;
    float *x = e->logit_scratch;
    memcpy(x, logits, sizeof(float) * (size_t)V);
    struct aios_buf piece;
    aios_buf_init(&piece, 4096);
    int32_t tok = -1;
    for (int attempt = 0; attempt < 8 && tok < 0; attempt++) {
        int32_t t = aios_sampler_sample(s->sampler, x, prob);
        if (guide_allows(e, s->rq, t, &piece))
            tok = t;
        else
            x[t] = -INFINITY;
    }
    while (tok < 0) {
        int32_t t = aios_argmax(x, V);
        if (x[t] == -INFINITY)
            break;
        if (guide_allows(e, s->rq, t, &piece))
            tok = t;
        else
            x[t] = -INFINITY;
    }
    aios_buf_free(&piece);
    return tok;
}

/* Handles the output row o of slot s for the token at index ti of its toks. */
static void on_output(aios_engine *e, int si, int ti, const float *logits)
{
    struct slot *s = &e->slots[si];
    struct req *q = s->rq;
    const struct aios_hparams *hp = aios_model_hparams(e->model);
    struct aios_top_logprob top[AIOS_ENGINE_MAX_TOP_LOGPROBS];
    if (s->state == SLOT_PROMPT && ti < s->n_toks - 1) {
        /* Prompt logprobs (echo): logits at ti score token ti + 1. */
        int32_t nt = s->toks[ti + 1];
        int k = q->r.top_logprobs;
        top_logprobs(e, logits, k, top);
        struct aios_buf piece;
        aios_buf_init(&piece, 4096);
        aios_llm_token_piece(e->vocab, nt, false, &piece, NULL);
        struct aios_gen_event ev = {.kind = AIOS_GEN_PROMPT_TOKEN,
                                    .text = piece.data ? piece.data : "",
                                    .len = piece.len,
                                    .token = nt,
                                    .logprob = aios_logprob(logits, hp->n_vocab, nt),
                                    .top = top,
                                    .n_top = k};
        if (q->r.cb(q->r.ud, &ev))
            q->cancelled = true;
        aios_buf_free(&piece);
        return;
    }
    /* The last prompt token or a generated token: sample the next one. */
    if (s->state == SLOT_PROMPT) {
        s->state = SLOT_GEN;
        s->t_first = aios_time_s();
    }
    float prob;
    int32_t tok = q->r.guide ? guided_sample(e, s, logits, &prob)
                             : aios_sampler_sample(s->sampler, logits, &prob);
    if (tok < 0) {
        finish(e, s, AIOS_FINISH_ERROR, "no token can continue the constrained output");
        return;
    }
    aios_sampler_accept(s->sampler, tok);
    s->n_gen++;
    atomic_fetch_add(&e->n_generated, 1);
    if (!q->r.ignore_eos && aios_llm_vocab_is_eog(e->vocab, tok)) {
        finish(e, s, AIOS_FINISH_STOP, NULL);
        return;
    }
    size_t before = s->pending.len;
    int rc = aios_llm_token_piece(e->vocab, tok, false, &s->pending, NULL);
    bool guide_done = false;
    if (q->r.guide && rc == AIOS_OK) {
        aios_json_guide_feed(q->r.guide, s->pending.data + before, s->pending.len - before);
        guide_done = aios_json_guide_finished(q->r.guide);
    }
    if (rc == AIOS_ELIMIT || s->pending.len > PENDING_MAX) {
        finish(e, s, AIOS_FINISH_ERROR, "generated text held back past the limit");
        return;
    }
    struct aios_buf out;
    aios_buf_init(&out, 0);
    const char *hit = NULL;
    release_text(s, false, &hit, &out);
    int k = q->r.logprobs ? q->r.top_logprobs : 0;
    if (k)
        top_logprobs(e, logits, k, top);
    struct aios_gen_event ev = {.kind = AIOS_GEN_TOKEN,
                                .text = out.data ? out.data : "",
                                .len = out.len,
                                .token = tok,
                                .logprob =
                                    q->r.logprobs ? aios_logprob(logits, hp->n_vocab, tok) : NAN,
                                .top = top,
                                .n_top = k};
    if (q->r.cb(q->r.ud, &ev))
        q->cancelled = true;
    aios_buf_free(&out);
    if (hit) {
        aios_buf_reset(&s->pending); /* the stop string itself is not returned */
        finish(e, s, AIOS_FINISH_STOP, NULL);
        return;
    }
    if (guide_done) {
        finish(e, s, AIOS_FINISH_STOP, NULL); /* the JSON document is closed */
        return;
    }
    if (q->r.max_tokens > 0 && s->n_gen >= q->r.max_tokens) {
        finish(e, s, AIOS_FINISH_LENGTH, NULL);
        return;
    }
    if (s->n_toks >= e->n_ctx) {
        finish(e, s, AIOS_FINISH_LENGTH, NULL); /* the context is full */
        return;
    }
    s->toks[s->n_toks++] = tok;
}

static void step(aios_engine *e)
{
    int nb = 0, n_out = 0;
    int n_gen_slots = 0;
    for (int i = 0; i < e->n_slots; i++)
        n_gen_slots += e->slots[i].state == SLOT_GEN;
    /* Generating sequences first: one token each. */
    for (int i = 0; i < e->n_slots; i++) {
        struct slot *s = &e->slots[i];
        if (s->state != SLOT_GEN)
            continue;
        int ti = s->n_toks - 1;
        e->batch[nb++] = (struct aios_batch_tok){s->toks[ti], ti, i, true};
        e->out_slot[n_out] = i;
        e->out_tok[n_out++] = ti;
    }
    /* Prompt chunks. While others are generating, the prompt tokens of one
     * step are capped so that the step takes about STEP_TARGET_S at the
     * speed measured so far: generating streams never wait long for a prompt
     * to be read (prompts are read a chunk per step instead). */
    int budget = e->n_batch - nb;
    int cap = e->n_batch;
    if (n_gen_slots) {
        double want = e->tok_per_s > 0 ? e->tok_per_s * STEP_TARGET_S - nb : e->n_batch / 4;
        cap = want < 16 ? 16 : want > e->n_batch ? e->n_batch : (int)want;
    }
    if (budget > cap)
        budget = cap; /* the cap is on all prompt tokens of the step */
    int n_prompt_toks = 0;
    /* Oldest request first, so no prompt waits behind later arrivals. */
    for (int c = 0; c < e->n_slots; c++)
        e->served[c] = 0;
    for (int k = 0; k < e->n_slots && budget > 0; k++) {
        int i = -1;
        for (int c = 0; c < e->n_slots; c++) {
            const struct slot *cs = &e->slots[c];
            if (cs->state != SLOT_PROMPT || e->served[c])
                continue;
            if (i < 0 || cs->t_start < e->slots[i].t_start)
                i = c;
        }
        if (i < 0)
            break;
        e->served[i] = 1;
        struct slot *s = &e->slots[i];
        int take = s->n_toks - s->n_past;
        if (take > budget)
            take = budget;
        for (int j = 0; j < take; j++) {
            int ti = s->n_past + j;
            bool last = ti == s->n_toks - 1;
            bool out = last || s->rq->r.prompt_logprobs;
            e->batch[nb++] = (struct aios_batch_tok){s->toks[ti], ti, i, out};
            if (out) {
                e->out_slot[n_out] = i;
                e->out_tok[n_out++] = ti;
            }
        }
        budget -= take;
        n_prompt_toks += take;
        atomic_fetch_add(&e->n_prompt_tokens, (uint64_t)take);
    }
    if (nb == 0)
        return;
    struct aios_err err;
    double t0 = aios_time_s();
    int rc = aios_ctx_decode(e->ctx, e->batch, nb, &err);
    double dt = aios_time_s() - t0;
    /* Tokens per second of batches with prompt work, smoothed. */
    if (rc == AIOS_OK && n_prompt_toks >= 16 && dt > 0)
        e->tok_per_s = e->tok_per_s > 0 ? 0.7 * e->tok_per_s + 0.3 * (nb / dt) : nb / dt;
    atomic_fetch_add(&e->n_steps, 1);
    AIOS_DEBUG("engine", "step: %d tokens (%d from prompts, %d streams generating) in %.3f s", nb,
               n_prompt_toks, n_gen_slots, dt);
    if (rc) {
        for (int i = 0; i < e->n_slots; i++)
            if (e->slots[i].state != SLOT_FREE)
                finish(e, &e->slots[i], AIOS_FINISH_ERROR, err.msg);
        return;
    }
    /* Advance n_past for every token that went in. */
    for (int b = 0; b < nb; b++) {
        struct slot *s = &e->slots[e->batch[b].seq];
        if (e->batch[b].pos + 1 > s->n_past)
            s->n_past = e->batch[b].pos + 1;
    }
    for (int o = 0; o < n_out; o++) {
        struct slot *s = &e->slots[e->out_slot[o]];
        if (s->state == SLOT_FREE)
            continue; /* finished earlier in this loop */
        on_output(e, e->out_slot[o], e->out_tok[o], aios_ctx_output(e->ctx, o));
    }
}

static void *scheduler(void *arg)
{
    aios_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        /* Cancellations and new requests. */
        for (int i = 0; i < e->n_slots; i++) {
            struct slot *s = &e->slots[i];
            if (s->state != SLOT_FREE && (s->rq->cancelled || e->quit)) {
                pthread_mutex_unlock(&e->lock);
                finish(e, s, AIOS_FINISH_CANCELLED, NULL);
                pthread_mutex_lock(&e->lock);
            }
        }
        while (e->queue_head && !e->quit) {
            int free_slot = -1;
            for (int i = 0; i < e->n_slots && free_slot < 0; i++)
                if (e->slots[i].state == SLOT_FREE)
                    free_slot = i;
            if (free_slot < 0)
                break;
            struct req *q = e->queue_head;
            e->queue_head = q->next;
            if (!e->queue_head)
                e->queue_tail = NULL;
            e->queued--;
            e->stats.running++;
            e->stats.queued = e->queued;
            pthread_mutex_unlock(&e->lock);
            assign(e, q);
            pthread_mutex_lock(&e->lock);
        }
        int running = 0;
        for (int i = 0; i < e->n_slots; i++)
            running += e->slots[i].state != SLOT_FREE;
        e->stats.running = running;
        e->stats.queued = e->queued;
        if (e->quit && running == 0) {
            /* Drain the queue with CANCELLED. */
            while (e->queue_head) {
                struct req *q = e->queue_head;
                e->queue_head = q->next;
                e->queued--;
                pthread_mutex_unlock(&e->lock);
                struct aios_gen_event ev = {.kind = AIOS_GEN_DONE,
                                            .finish = AIOS_FINISH_CANCELLED,
                                            .n_prompt = q->r.n_prompt};
                q->r.cb(q->r.ud, &ev);
                req_free(q);
                pthread_mutex_lock(&e->lock);
            }
            break;
        }
        if (running == 0) {
            pthread_cond_wait(&e->wake, &e->lock);
            continue;
        }
        pthread_mutex_unlock(&e->lock);
        step(e);
        pthread_mutex_lock(&e->lock);
        /* Mark cancellations requested by callbacks (flag set unlocked by us). */
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* Frees everything an engine holds but its thread and locks (create's
 * failure path and destroy share it). */
static void free_parts(aios_engine *e)
{
    for (int i = 0; e->slots && i < e->n_slots; i++) {
        aios_free(e->slots[i].toks);
        aios_buf_free(&e->slots[i].pending);
        aios_sampler_destroy(e->slots[i].sampler);
    }
    aios_free(e->slots);
    aios_free(e->batch);
    aios_free(e->out_slot);
    aios_free(e->out_tok);
    aios_free(e->logit_scratch);
    aios_free(e->served);
    aios_ctx_free(e->ctx);
    aios_llm_vocab_free(e->vocab);
    aios_model_free(e->model);
    aios_free(e);
}

int aios_engine_create(const struct aios_engine_params *p, aios_engine **out, struct aios_err *err)
{
    *out = NULL;
    aios_engine *e = aios_calloc(1, sizeof *e);
    if (!e)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    int rc = aios_model_load(p->model_path, &e->model, err);
    if (rc)
        goto fail;
    if ((rc = aios_llm_vocab_load(aios_model_gguf(e->model), &e->vocab, err))) {
        aios_err_prefix(err, "%s", p->model_path);
        goto fail;
    }
    e->n_slots = p->n_parallel > 0 ? p->n_parallel : 4;
    struct aios_ctx_params cp = {.n_ctx = p->n_ctx,
                                 .n_seq = e->n_slots,
                                 .n_batch = p->n_batch,
                                 .kv_f32 = p->kv_f32,
                                 .n_threads = p->n_threads};
    if ((rc = aios_ctx_create(e->model, &cp, &e->ctx, err)))
        goto fail;
    e->n_ctx = aios_ctx_n_ctx(e->ctx);
    e->n_batch = p->n_batch > 0 ? p->n_batch : 512;
    if (e->n_batch < e->n_slots)
        e->n_batch = e->n_slots;
    e->logit_scratch = aios_malloc(sizeof(float) * (size_t)aios_model_hparams(e->model)->n_vocab);
    e->served = aios_calloc((size_t)e->n_slots, 1);
    e->slots = aios_calloc((size_t)e->n_slots, sizeof *e->slots);
    e->batch = aios_calloc((size_t)e->n_batch, sizeof *e->batch);
    e->out_slot = aios_calloc((size_t)e->n_batch, sizeof *e->out_slot);
    e->out_tok = aios_calloc((size_t)e->n_batch, sizeof *e->out_tok);
    rc = AIOS_ENOMEM;
    if (!e->slots || !e->batch || !e->out_slot || !e->out_tok || !e->logit_scratch || !e->served) {
        aios_err_set(err, rc, "out of memory");
        goto fail;
    }
    for (int i = 0; i < e->n_slots; i++) {
        e->slots[i].toks = aios_malloc(sizeof(int32_t) * (size_t)e->n_ctx);
        aios_buf_init(&e->slots[i].pending, PENDING_MAX + 4096);
        if (!e->slots[i].toks) {
            aios_err_set(err, rc, "out of memory");
            goto fail;
        }
    }
    e->stats.slots = e->n_slots;
    e->stats.kv_total = (int64_t)e->n_slots * e->n_ctx;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    if (pthread_create(&e->thread, NULL, scheduler, e) != 0) {
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->wake);
        rc = aios_err_set(err, AIOS_EINTERNAL, "cannot start the scheduler thread");
        goto fail;
    }
    *out = e;
    return AIOS_OK;
fail:
    free_parts(e);
    return rc;
}

void aios_engine_destroy(aios_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->quit = true;
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free_parts(e);
}

int aios_engine_submit(aios_engine *e, const struct aios_gen_request *r, uint64_t *id,
                       struct aios_err *err)
{
    const struct aios_hparams *hp = aios_model_hparams(e->model);
    if (!r->cb)
        return aios_err_set(err, AIOS_EINVAL, "a request needs a callback");
    if (r->n_prompt <= 0)
        return aios_err_set(err, AIOS_EINVAL, "the prompt is empty");
    if (r->n_prompt >= e->n_ctx)
        return aios_err_set(err, AIOS_ELIMIT,
                            "the prompt has %d tokens; the context holds %d (prompt and output)",
                            r->n_prompt, e->n_ctx);
    for (int i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= hp->n_vocab)
            return aios_err_set(err, AIOS_EINVAL, "prompt token %d is not in the vocabulary",
                                r->prompt[i]);
    if (r->n_stop > MAX_STOPS)
        return aios_err_set(err, AIOS_ELIMIT, "at most %d stop strings", MAX_STOPS);
    if (r->top_logprobs < 0 || r->top_logprobs > AIOS_ENGINE_MAX_TOP_LOGPROBS)
        return aios_err_set(err, AIOS_ERANGE, "top_logprobs must be 0..%d",
                            AIOS_ENGINE_MAX_TOP_LOGPROBS);
    struct req *q = aios_calloc(1, sizeof *q);
    if (!q)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    q->r = *r;
    q->r.guide = NULL; /* the caller keeps it until the request is queued */
    q->prompt = aios_malloc(sizeof(int32_t) * (size_t)r->n_prompt);
    if (!q->prompt)
        goto nomem;
    memcpy(q->prompt, r->prompt, sizeof(int32_t) * (size_t)r->n_prompt);
    q->r.prompt = q->prompt;
    int ns = 0;
    for (int i = 0; i < r->n_stop; i++) {
        if (!r->stop[i] || !*r->stop[i])
            continue;
        if (strlen(r->stop[i]) > MAX_STOP_LEN) {
            req_free(q);
            return aios_err_set(err, AIOS_ELIMIT, "a stop string is longer than %d bytes",
                                MAX_STOP_LEN);
        }
        if (!(q->stops[ns++] = aios_strdup(r->stop[i])))
            goto nomem;
    }
    q->r.n_stop = ns;
    q->r.stop = NULL;
    q->t_submit = aios_time_s();
    q->r.guide = r->guide;
    pthread_mutex_lock(&e->lock);
    q->id = ++e->next_id;
    if (id)
        *id = q->id;
    if (e->queue_tail)
        e->queue_tail->next = q;
    else
        e->queue_head = q;
    e->queue_tail = q;
    e->queued++;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    return AIOS_OK;
nomem:
    req_free(q);
    return aios_err_set(err, AIOS_ENOMEM, "out of memory");
}

void aios_engine_cancel(aios_engine *e, uint64_t id)
{
    pthread_mutex_lock(&e->lock);
    for (struct req *q = e->queue_head; q; q = q->next)
        if (q->id == id)
            q->cancelled = true;
    for (int i = 0; i < e->n_slots; i++)
        if (e->slots[i].rq && e->slots[i].rq->id == id)
            e->slots[i].rq->cancelled = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

void aios_engine_stats(aios_engine *e, struct aios_engine_stats *out)
{
    pthread_mutex_lock(&e->lock);
    *out = e->stats;
    out->prompt_tokens = atomic_load(&e->n_prompt_tokens);
    out->generated_tokens = atomic_load(&e->n_generated);
    out->cached_tokens = atomic_load(&e->n_cached_tokens);
    out->steps = atomic_load(&e->n_steps);
    int64_t used = 0;
    for (int i = 0; i < e->n_slots; i++)
        used += aios_ctx_seq_len(e->ctx, i);
    out->kv_used = used;
    pthread_mutex_unlock(&e->lock);
}

/* ---- blocking helper ---- */

struct run_state {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    bool done;
    const struct aios_gen_request *user;
};

static int run_cb(void *ud, const struct aios_gen_event *ev)
{
    struct run_state *st = ud;
    int rc = st->user->cb ? st->user->cb(st->user->ud, ev) : 0;
    if (ev->kind == AIOS_GEN_DONE) {
        pthread_mutex_lock(&st->lock);
        st->done = true;
        pthread_cond_signal(&st->done_cv);
        pthread_mutex_unlock(&st->lock);
    }
    return rc;
}

int aios_engine_run(aios_engine *e, const struct aios_gen_request *r, struct aios_err *err)
{
    struct run_state st = {.user = r};
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.done_cv, NULL);
    struct aios_gen_request rr = *r;
    rr.cb = run_cb;
    rr.ud = &st;
    int rc = aios_engine_submit(e, &rr, NULL, err);
    if (rc == AIOS_OK) {
        pthread_mutex_lock(&st.lock);
        while (!st.done)
            pthread_cond_wait(&st.done_cv, &st.lock);
        pthread_mutex_unlock(&st.lock);
    }
    pthread_mutex_destroy(&st.lock);
    pthread_cond_destroy(&st.done_cv);
    return rc;
}
