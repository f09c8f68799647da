/*
 * One generation, from the backend's start to the last byte sent: the sink
 * the backend writes tokens into, the SSE stream ("data: {json}\n\n" chunks,
 * then "data: [DONE]\n\n") or the single JSON response, latency metrics, and
 * cancellation when the client goes away.
 *
 * Two parties hold a struct gen: the HTTP side (the MHD thread of the
 * connection, through the SSE reader or the blocking wait) and the backend
 * (from start until on_done returns). refs counts them; the last to leave
 * frees it. All fields below `mu` are guarded by it.
 *
 * States:   started --tokens--> ... --on_done--> done
 *              |                                   ^
 *              +--client gone / server stop--> cancel requested
 *
 * The HTTP side waits in slices of WAIT_SLICE_MS, and between slices looks
 * at the socket; a client that hangs up is noticed within one slice and its
 * job cancelled so the engine can free the slot.
 */
#include "server/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <time.h>

#define WAIT_SLICE_MS 50
#define SSE_BACKLOG_MAX ((size_t)8 << 20)    /* unsent stream bytes before we give up */
#define TEXT_MAX ((size_t)64 << 20)          /* non-streamed text of all choices */
#define STOP_GRACE_NS (5ull * 1000000000ull) /* wait for on_done after cancel at shutdown */

struct gen {
    aios_server *srv;
    json_t *body;
    aios_arena *arena;
    struct aios_server_gen_request req;
    struct aios_server_sink sink;
    aios_server_job *job;
    char id[48];
    int64_t created;
    char model[128];
    bool chat;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    bool done, cancel_sent, client_gone;
    struct aios_server_done result;
    char result_msg[256];
    uint64_t t_start, t_last;
    bool seen_token;
    /* streaming */
    struct aios_buf sse;
    size_t sse_off;
    uint32_t role_sent;               /* bit per choice: the first delta carried the role */
    size_t offset[AIOS_SERVER_MAX_N]; /* completions: text bytes so far per choice */
    bool overflow;
    /* non-streaming: per choice */
    struct aios_buf *text;
    const char **finish;
    json_t **tool_calls;
    json_t **logprobs; /* array of token entries, when asked */
};

static void gen_unref(struct gen *g)
{
    pthread_mutex_lock(&g->mu);
    int left = --g->refs;
    pthread_mutex_unlock(&g->mu);
    if (left)
        return;
    for (int i = 0; i < g->req.n; i++) {
        if (g->text)
            aios_buf_free(&g->text[i]);
        if (g->tool_calls)
            json_decref(g->tool_calls[i]);
        if (g->logprobs)
            json_decref(g->logprobs[i]);
    }
    aios_buf_free(&g->sse);
    aios_metric_add(g->srv->m_inflight, NULL, -1);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    json_decref(g->body);
    aios_server *srv = g->srv;
    aios_arena_destroy(g->arena); /* g lives in the arena */
    pthread_mutex_lock(&srv->live_mu);
    srv->live_gens--;
    pthread_cond_broadcast(&srv->live_cv);
    pthread_mutex_unlock(&srv->live_mu);
}

/* ---- chunk building (backend thread, under mu) ------------------------- */

static json_t *bytes_of(const char *text, size_t len)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < len; i++)
        json_array_append_new(a, json_integer((unsigned char)text[i]));
    return a;
}

/* Chat's shape: {"token","logprob","bytes","top_logprobs":[{"token","logprob","bytes"}]}. */
static json_t *token_logprob(const struct aios_server_token *t)
{
    json_t *top = json_array();
    for (int i = 0; top && i < t->n_top; i++) {
        const char *tt = t->top[i].text ? t->top[i].text : "";
        json_array_append_new(top, json_pack("{s:s, s:f, s:o}", "token", tt, "logprob",
                                             t->top[i].logprob, "bytes", bytes_of(tt, strlen(tt))));
    }
    const char *text = t->text ? t->text : "";
    size_t len = t->text ? t->len : 0;
    /* The first prompt token of an echo has no log-probability: null. */
    json_t *lp = isfinite(t->logprob) ? json_real(t->logprob) : json_null();
    return json_pack("{s:s%, s:o, s:o, s:o}", "token", text, len, "logprob", lp, "bytes",
                     bytes_of(text, len), "top_logprobs", top ? top : json_array());
}

/* The legacy completions shape, from chat-shaped entries: {"tokens",
 * "token_logprobs", "top_logprobs":[{token: logprob}], "text_offset"};
 * offsets count bytes from the start of the choice's text. */
static json_t *legacy_logprobs(const json_t *entries, size_t *offset)
{
    json_t *toks = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
    size_t i, j;
    json_t *e, *t;
    json_array_foreach(entries, i, e)
    {
        json_t *tok = json_object_get(e, "token");
        json_array_append(toks, tok);
        json_array_append(lps, json_object_get(e, "logprob"));
        json_t *m = json_object();
        json_array_foreach(json_object_get(e, "top_logprobs"), j, t)
        {
            const char *k = json_string_value(json_object_get(t, "token"));
            if (k)
                json_object_set(m, k, json_object_get(t, "logprob"));
        }
        json_array_append_new(tops, m);
        json_array_append_new(offs, json_integer((json_int_t)*offset));
        *offset += json_string_length(tok);
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "tokens", toks, "token_logprobs", lps, "top_logprobs",
                     tops, "text_offset", offs);
}

static json_t *chunk_base(struct gen *g)
{
    return json_pack("{s:s, s:s, s:I, s:s}", "id", g->id, "object",
                     g->chat ? "chat.completion.chunk" : "text_completion", "created",
                     (json_int_t)g->created, "model", g->model);
}

/* Appends "data: <json>\n\n"; steals v. */
static void sse_event(struct gen *g, json_t *v)
{
    char *s = v ? aios_json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!s)
        return;
    /* One append per event, so a full buffer never holds half an event. */
    if (aios_buf_printf(&g->sse, "data: %s\n\n", s))
        g->overflow = true;
    aios_free(s);
}

static void sse_choice(struct gen *g, int index, json_t *delta_or_text, const char *finish,
                       json_t *logprobs)
{
    json_t *c = chunk_base(g);
    json_t *choice;
    if (g->chat)
        choice = json_pack("{s:i, s:o, s:o, s:o}", "index", index, "delta", delta_or_text,
                           "logprobs", logprobs ? logprobs : json_null(), "finish_reason",
                           finish ? json_string(finish) : json_null());
    else
        choice = json_pack("{s:i, s:o, s:o, s:o}", "index", index, "text", delta_or_text,
                           "logprobs", logprobs ? logprobs : json_null(), "finish_reason",
                           finish ? json_string(finish) : json_null());
    if (c && choice) {
        json_object_set_new(c, "choices", json_pack("[o]", choice));
        if (g->req.include_usage)
            json_object_set_new(c, "usage", json_null());
        choice = NULL;
    }
    json_decref(choice);
    sse_event(g, c);
}

/* A chat delta, with the role on a choice's first chunk. */
static json_t *delta(struct gen *g, int index)
{
    json_t *d = json_object();
    if (d && index < 32 && !(g->role_sent & (1u << index))) {
        json_object_set_new(d, "role", json_string("assistant"));
        g->role_sent |= 1u << index;
    }
    return d;
}

/* ---- the sink (called by the backend) ---------------------------------- */

static bool on_token(void *ud, const struct aios_server_token *t)
{
    struct gen *g = ud;
    uint64_t now = aios_time_ns();
    const char *mv[] = {g->model};
    pthread_mutex_lock(&g->mu);
    if (!g->seen_token)
        aios_metric_observe(g->srv->m_ttft, mv, (double)(now - g->t_start) * 1e-9);
    else
        aios_metric_observe(g->srv->m_itl, mv, (double)(now - g->t_last) * 1e-9);
    g->seen_token = true;
    g->t_last = now;
    bool ok = !g->client_gone && t->index >= 0 && t->index < g->req.n;
    if (ok && g->req.stream) {
        json_t *lp = NULL;
        if (g->req.logprobs) {
            json_t *one = json_pack("[o]", token_logprob(t));
            lp = g->chat ? json_pack("{s:o}", "content", one)
                         : legacy_logprobs(one, &g->offset[t->index]);
            if (!g->chat)
                json_decref(one);
        }
        if (g->chat) {
            json_t *d = delta(g, t->index);
            json_object_set_new(d, "content", json_stringn(t->text ? t->text : "", t->len));
            sse_choice(g, t->index, d, NULL, lp);
        } else {
            sse_choice(g, t->index, json_stringn(t->text ? t->text : "", t->len), NULL, lp);
        }
        if (g->overflow || g->sse.len - g->sse_off > SSE_BACKLOG_MAX)
            ok = false; /* the client reads slower than we write: give up */
    } else if (ok) {
        if (aios_buf_append(&g->text[t->index], t->text ? t->text : "", t->len))
            ok = false;
        if (g->req.logprobs && g->logprobs[t->index])
            json_array_append_new(g->logprobs[t->index], token_logprob(t));
    }
    if (!ok)
        g->client_gone = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return ok;
}

static void on_choice_end(void *ud, const struct aios_server_choice_end *end)
{
    struct gen *g = ud;
    pthread_mutex_lock(&g->mu);
    if (end->index >= 0 && end->index < g->req.n) {
        const char *fr = end->finish_reason ? end->finish_reason : "stop";
        const char *mv[] = {g->model, fr};
        aios_metric_add(g->srv->m_finished, mv, 1);
        if (g->req.stream) {
            if (g->chat) {
                json_t *d = delta(g, end->index);
                if (end->tool_calls) {
                    /* Stream deltas number their tool calls. */
                    json_t *tc = json_deep_copy(end->tool_calls);
                    size_t k;
                    json_t *item;
                    json_array_foreach(tc, k, item)
                    {
                        if (json_is_object(item) && !json_object_get(item, "index"))
                            json_object_set_new(item, "index", json_integer((json_int_t)k));
                    }
                    json_object_set_new(d, "tool_calls", tc);
                }
                sse_choice(g, end->index, d, fr, NULL);
            } else {
                sse_choice(g, end->index, json_string(""), fr, NULL);
            }
        } else {
            g->finish[end->index] = aios_arena_strdup(g->arena, fr);
            if (end->tool_calls) {
                json_decref(g->tool_calls[end->index]);
                g->tool_calls[end->index] = json_deep_copy(end->tool_calls);
            }
        }
    }
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static json_t *usage_json(const struct aios_server_done *d)
{
    json_t *u = json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)d->prompt_tokens,
                          "completion_tokens", (json_int_t)d->completion_tokens, "total_tokens",
                          (json_int_t)(d->prompt_tokens + d->completion_tokens));
    if (u && d->cached_tokens)
        json_object_set_new(u, "prompt_tokens_details",
                            json_pack("{s:I}", "cached_tokens", (json_int_t)d->cached_tokens));
    return u;
}

static void on_done(void *ud, const struct aios_server_done *d)
{
    struct gen *g = ud;
    uint64_t now = aios_time_ns();
    const char *mv[] = {g->model};
    aios_metric_add(g->srv->m_prompt_tokens, mv,
                    (double)(d->prompt_tokens > 0 ? d->prompt_tokens : 0));
    aios_metric_add(g->srv->m_gen_tokens, mv,
                    (double)(d->completion_tokens > 0 ? d->completion_tokens : 0));
    aios_metric_observe(g->srv->m_e2e, mv, (double)(now - g->t_start) * 1e-9);
    pthread_mutex_lock(&g->mu);
    g->result = *d;
    aios_strlcpy(g->result_msg, d->message ? d->message : "", sizeof g->result_msg);
    g->result.message = g->result_msg;
    if (g->req.stream) {
        bool stopping = atomic_load(&g->srv->stopping);
        if (d->status != AIOS_OK && (d->status != AIOS_ECANCELLED || stopping)) {
            struct aios_server_apierr e;
            if (d->status == AIOS_ECANCELLED)
                aios_server_apierr_set(&e, 503, "server_error", NULL, NULL,
                                       "The request was cancelled (the server is shutting down).");
            else
                srv_backend_error(&e, d->status, g->result_msg, g->chat ? "messages" : "prompt");
            char *s = aios_server_apierr_json(&e);
            if (s) {
                aios_buf_printf(&g->sse, "data: %s\n\n", s);
                aios_free(s);
            }
        } else if (d->status == AIOS_OK && g->req.include_usage) {
            json_t *c = chunk_base(g);
            if (c) {
                json_object_set_new(c, "choices", json_array());
                json_object_set_new(c, "usage", usage_json(d));
            }
            sse_event(g, c);
        }
        aios_buf_puts(&g->sse, "data: [DONE]\n\n");
    }
    g->done = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    gen_unref(g);
}

/* ---- the HTTP side ----------------------------------------------------- */

static void cancel_once(struct gen *g)
{
    /* Under mu: on_done takes mu too, so the job cannot finish (and be freed
     * by the backend) while cancel runs; the contract forbids cancel from
     * calling back into the sink. */
    pthread_mutex_lock(&g->mu);
    if (!g->cancel_sent && !g->done && g->srv->be->cancel)
        g->srv->be->cancel(g->srv->be->ctx, g->job);
    g->cancel_sent = true;
    g->client_gone = true;
    pthread_mutex_unlock(&g->mu);
}

/* Waits one slice for news (mu held). */
static void wait_slice(struct gen *g)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += WAIT_SLICE_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
}

#define KEEPALIVE ": keep-alive\n\n"
#define KEEPALIVE_NS (10ull * 1000000000ull)

struct stream_ctx {
    struct gen *g;
    struct MHD_Connection *conn;
    uint64_t stop_seen;
    uint64_t last_write; /* for keep-alive comments while the request waits */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_ctx *sc = cls;
    struct gen *g = sc->g;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        if (atomic_load(&g->srv->stopping) && !g->cancel_sent && !g->done) {
            /* Shutdown: cancel, then keep sending until on_done has ended
             * the stream with an error event and [DONE]. */
            pthread_mutex_unlock(&g->mu);
            cancel_once(g);
            sc->stop_seen = aios_time_ns();
            pthread_mutex_lock(&g->mu);
        }
        size_t avail = g->sse.len - g->sse_off;
        if (avail) {
            size_t n = avail < max ? avail : max;
            memcpy(buf, g->sse.data + g->sse_off, n);
            g->sse_off += n;
            if (g->sse_off == g->sse.len) {
                g->sse.len = 0;
                g->sse_off = 0;
            }
            pthread_mutex_unlock(&g->mu);
            sc->last_write = aios_time_ns();
            return (ssize_t)n;
        }
        /* A request waiting in the queue gets an SSE comment now and then,
         * so that clients and proxies with idle timeouts keep the stream. */
        uint64_t now = aios_time_ns();
        if (!sc->last_write)
            sc->last_write = now;
        if (!g->done && now - sc->last_write > KEEPALIVE_NS && max >= sizeof KEEPALIVE - 1) {
            pthread_mutex_unlock(&g->mu);
            memcpy(buf, KEEPALIVE, sizeof KEEPALIVE - 1);
            sc->last_write = now;
            return (ssize_t)(sizeof KEEPALIVE - 1);
        }
        if (g->done) {
            pthread_mutex_unlock(&g->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        wait_slice(g);
        if (g->done || g->sse.len)
            continue;
        pthread_mutex_unlock(&g->mu);
        if (srv_client_gone(sc->conn)) {
            cancel_once(g);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (sc->stop_seen && aios_time_ns() - sc->stop_seen > STOP_GRACE_NS)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* the backend did not answer */
        pthread_mutex_lock(&g->mu);
    }
}

static void stream_free(void *cls)
{
    struct stream_ctx *sc = cls;
    cancel_once(sc->g); /* no-op when done */
    gen_unref(sc->g);
    aios_free(sc);
}

/* Non-streaming: block until done, the client leaves, or shutdown. */
static bool wait_done(struct req *r, struct gen *g)
{
    uint64_t stop_seen = 0;
    pthread_mutex_lock(&g->mu);
    while (!g->done) {
        wait_slice(g);
        if (g->done)
            break;
        bool stopping = atomic_load(&g->srv->stopping);
        pthread_mutex_unlock(&g->mu);
        if (srv_client_gone(r->conn)) {
            cancel_once(g);
            return false;
        }
        if (stopping) {
            cancel_once(g);
            if (!stop_seen)
                stop_seen = aios_time_ns();
            else if (aios_time_ns() - stop_seen > STOP_GRACE_NS)
                return false;
        }
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return true;
}

static enum MHD_Result respond_full(struct req *r, struct gen *g)
{
    struct aios_server_apierr e;
    if (g->result.status == AIOS_ECANCELLED) {
        aios_server_apierr_set(&e, 503, "server_error", NULL, NULL,
                               "The request was cancelled (the server is shutting down).");
        return srv_respond_error(r, &e);
    }
    if (g->result.status != AIOS_OK) {
        srv_backend_error(&e, g->result.status, g->result_msg, g->chat ? "messages" : "prompt");
        return srv_respond_error(r, &e);
    }
    json_t *choices = json_array();
    for (int i = 0; choices && i < g->req.n; i++) {
        const char *text = g->text[i].data ? g->text[i].data : "";
        json_t *lp = json_null();
        if (g->req.logprobs && g->logprobs[i])
            lp = g->chat ? json_pack("{s:O}", "content", g->logprobs[i])
                         : legacy_logprobs(g->logprobs[i], &g->offset[i]);
        const char *fr = g->finish[i] ? g->finish[i] : "stop";
        json_t *c;
        if (g->chat) {
            json_t *msg =
                json_pack("{s:s, s:o}", "role", "assistant", "content",
                          g->tool_calls[i] && !g->text[i].len ? json_null()
                                                              : json_stringn(text, g->text[i].len));
            if (msg && g->tool_calls[i])
                json_object_set(msg, "tool_calls", g->tool_calls[i]);
            c = json_pack("{s:i, s:o, s:o, s:s}", "index", i, "message", msg, "logprobs", lp,
                          "finish_reason", fr);
        } else {
            json_t *t = json_stringn(text, g->text[i].len);
            c = json_pack("{s:i, s:o, s:o, s:s}", "index", i, "text", t, "logprobs", lp,
                          "finish_reason", fr);
        }
        json_array_append_new(choices, c);
    }
    json_t *resp = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o}", "id", g->id, "object",
                             g->chat ? "chat.completion" : "text_completion", "created",
                             (json_int_t)g->created, "model", g->model, "choices", choices, "usage",
                             usage_json(&g->result));
    return srv_respond_json(r, 200, resp);
}

/* echo: the prompt comes first in each choice's text (token prompts are
 * turned back into text when the backend can; otherwise nothing is echoed). */
static int echo_prompt(struct req *r, struct gen *g)
{
    /* With logprobs the backend sends the prompt as tokens, each with its
     * log-probability (what lm-evaluation-harness reads). */
    if (g->req.logprobs)
        return AIOS_OK;
    const struct aios_server_backend *be = g->srv->be;
    const char *text = g->req.prompt;
    char *owned = NULL;
    size_t len = text ? strlen(text) : 0;
    if (!text && be->detokenize) {
        struct aios_err err;
        if (be->detokenize(be->ctx, g->model, g->req.prompt_tokens, g->req.n_prompt_tokens, &owned,
                           &len, &err) == AIOS_OK)
            text = owned;
    }
    int rc = AIOS_OK;
    for (int i = 0; text && i < g->req.n && rc == AIOS_OK; i++) {
        g->offset[i] = len;
        if (g->req.stream)
            sse_choice(g, i, json_stringn(text, len), NULL, NULL);
        else
            rc = aios_buf_append(&g->text[i], text, len);
    }
    aios_free(owned);
    return rc;
}

enum MHD_Result gen_run(struct req *r, json_t *body, aios_arena *arena,
                        const struct aios_server_gen_request *greq,
                        const struct aios_server_model_info *model)
{
    aios_server *s = r->srv;
    struct aios_server_apierr e;
    struct gen *g = aios_arena_alloc(arena, sizeof *g);
    if (!g) {
        aios_arena_destroy(arena);
        json_decref(body);
        aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        return srv_respond_error(r, &e);
    }
    memset(g, 0, sizeof *g);
    g->srv = s;
    g->body = body;
    g->arena = arena;
    g->req = *greq;
    g->chat = greq->kind == AIOS_SERVER_REQ_CHAT;
    g->created = aios_wall_ms() / 1000;
    g->t_start = aios_time_ns();
    aios_strlcpy(g->model, model->id, sizeof g->model);
    srv_make_id(g->chat ? "chatcmpl-" : "cmpl-", g->id, sizeof g->id);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->refs = 1;
    pthread_mutex_lock(&s->live_mu);
    s->live_gens++;
    pthread_mutex_unlock(&s->live_mu);
    aios_metric_add(s->m_inflight, NULL, 1);
    aios_buf_init(&g->sse, SSE_BACKLOG_MAX + (1 << 20));
    if (!g->req.stream) {
        size_t n = (size_t)g->req.n;
        g->text = aios_arena_alloc(arena, sizeof *g->text * n);
        g->finish = aios_arena_alloc(arena, sizeof *g->finish * n);
        g->tool_calls = aios_arena_alloc(arena, sizeof *g->tool_calls * n);
        g->logprobs = aios_arena_alloc(arena, sizeof *g->logprobs * n);
        if (!g->text || !g->finish || !g->tool_calls || !g->logprobs) {
            g->text = NULL;
            g->tool_calls = g->logprobs = NULL;
            gen_unref(g);
            aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "out of memory");
            return srv_respond_error(r, &e);
        }
        for (size_t i = 0; i < n; i++) {
            aios_buf_init(&g->text[i], TEXT_MAX / n);
            g->finish[i] = NULL;
            g->tool_calls[i] = NULL;
            g->logprobs[i] = g->req.logprobs ? json_array() : NULL;
        }
    }
    if (!g->chat && g->req.echo && echo_prompt(r, g) != AIOS_OK) {
        gen_unref(g);
        aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        return srv_respond_error(r, &e);
    }
    g->sink = (struct aios_server_sink){
        .ud = g, .on_token = on_token, .on_choice_end = on_choice_end, .on_done = on_done};

    g->refs = 2; /* the backend's reference, dropped in on_done */
    struct aios_err err = {0};
    int rc = s->be->start(s->be->ctx, &g->req, &g->sink, &g->job, &err);
    if (rc) {
        g->refs = 1;
        gen_unref(g);
        srv_backend_error(&e, rc, err.msg,
                          greq->kind == AIOS_SERVER_REQ_CHAT ? "messages" : "prompt");
        return srv_respond_error(r, &e);
    }
    if (g->req.stream) {
        struct stream_ctx *sc = aios_calloc(1, sizeof *sc);
        if (!sc) {
            cancel_once(g);
            gen_unref(g);
            return MHD_NO;
        }
        sc->g = g;
        sc->conn = r->conn;
        return srv_respond_stream(r, stream_read, sc, stream_free);
    }
    enum MHD_Result res = MHD_NO; /* client gone: just close */
    if (wait_done(r, g))
        res = respond_full(r, g);
    else
        r->status = 499;
    gen_unref(g);
    return res;
}
