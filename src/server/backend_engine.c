/*
 * The server backend over local models: each --model NAME=FILE is loaded;
 * decoders get an engine (continuous batching over --parallel slots),
 * embedding models (bert) a context guarded by a mutex. Chat requests are
 * rendered with the model's own chat template (tokenizer.chat_template) or a
 * built-in one chosen by architecture, then tokenized with special tokens
 * parsed. Each of the n choices of a request is one engine request; the
 * job ends (on_done) when the last choice has finished.
 *
 * When the request offers tools, a choice's text is held until it ends and
 * then parsed for a tool call; text that does not parse is returned as
 * content.
 */
#include "engine/engine.h"
#include "server/server.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct be_model {
    char name[128];
    bool embedding;
    aios_engine *eng;
    aios_model *emb_model;
    aios_llm_vocab *emb_vocab;
    aios_ctx *emb_ctx;
    pthread_mutex_t emb_lock;
    const aios_llm_vocab *vocab;
    char *tpl;
    aios_jinja_template *tpl_parsed; /* NULL when the source does not parse */
    int64_t created;
    int n_ctx;
};

struct be_state {
    struct be_model *m;
    int n;
};

struct choice {
    struct aios_server_job *job;
    int index;
    uint64_t id;
    struct aios_buf held; /* text kept back to look for a tool call */
    int n_gen;
    bool done;
    bool echo_text_seen; /* the echoed prompt has produced text */
};

/* The echoed prompt's text as detokenizing it whole gives: SentencePiece
 * vocabularies prefix the first word with a space that is not in the
 * prompt, so that space is left out of the first piece. */
static void echo_text(struct choice *c, const aios_llm_vocab *v, const char **text, size_t *len)
{
    if (c->echo_text_seen || *len == 0)
        return;
    c->echo_text_seen = true;
    if (aios_llm_vocab_type(v) == AIOS_LLM_VOCAB_SPM &&
        aios_llm_vocab_special(v)->add_space_prefix && (*text)[0] == ' ') {
        (*text)++;
        (*len)--;
    }
}

struct aios_server_job {
    struct be_model *bm;
    struct aios_server_sink sink;
    struct choice *ch;
    int n;
    bool hold_text;
    const json_t *tools; /* borrowed from the request until on_done */
    _Atomic int remaining;
    pthread_mutex_t lock;
    int n_prompt, n_cached, completion;
    bool failed;
    char error[256];
};

static struct be_model *find(struct be_state *st, const char *name)
{
    for (int i = 0; name && i < st->n; i++)
        if (strcmp(st->m[i].name, name) == 0)
            return &st->m[i];
    return NULL;
}

static int list_models(void *ctx, struct aios_server_model_info *out, int max, int *n)
{
    struct be_state *st = ctx;
    *n = 0;
    for (int i = 0; i < st->n && *n < max; i++) {
        struct aios_server_model_info *mi = &out[(*n)++];
        memset(mi, 0, sizeof *mi);
        aios_strlcpy(mi->id, st->m[i].name, sizeof mi->id);
        aios_strlcpy(mi->owned_by, "aios", sizeof mi->owned_by);
        mi->created = st->m[i].created;
        mi->n_ctx = st->m[i].n_ctx;
        mi->caps = st->m[i].embedding ? AIOS_SERVER_CAP_EMBEDDING
                                      : AIOS_SERVER_CAP_CHAT | AIOS_SERVER_CAP_COMPLETION;
    }
    return AIOS_OK;
}

static int tokenize(void *ctx, const char *model, const char *text, size_t len, bool add_special,
                    int32_t **tokens, size_t *n_tokens, struct aios_err *err)
{
    struct be_model *bm = find(ctx, model);
    if (!bm)
        return aios_err_set(err, AIOS_ENOTFOUND, "model '%s' does not exist", model);
    struct aios_llm_tokens t;
    aios_llm_tokens_init(&t, 0);
    int rc = aios_llm_tokenize(bm->vocab, text, len, add_special ? AIOS_LLM_TOK_ADD_SPECIAL : 0, &t,
                               err);
    if (rc) {
        aios_llm_tokens_free(&t);
        return rc;
    }
    *tokens = t.ids;
    *n_tokens = t.n;
    return AIOS_OK;
}

static int detokenize(void *ctx, const char *model, const int32_t *tokens, size_t n, char **text,
                      size_t *len, struct aios_err *err)
{
    struct be_model *bm = find(ctx, model);
    if (!bm)
        return aios_err_set(err, AIOS_ENOTFOUND, "model '%s' does not exist", model);
    struct aios_buf b;
    aios_buf_init(&b, 0);
    int rc = aios_llm_detokenize(bm->vocab, tokens, n, 0, &b, err);
    if (rc) {
        aios_buf_free(&b);
        return rc;
    }
    /* Invalid UTF-8 (ids ending inside a character) becomes U+FFFD. */
    char *clean = aios_malloc(3 * b.len + 1);
    if (!clean) {
        aios_buf_free(&b);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *len = aios_utf8_sanitize(b.data ? b.data : "", b.len, clean);
    *text = clean;
    aios_buf_free(&b);
    return AIOS_OK;
}

/* ---- generation ---- */

static void job_free(struct aios_server_job *j)
{
    for (int i = 0; i < j->n; i++)
        aios_buf_free(&j->ch[i].held);
    aios_free(j->ch);
    pthread_mutex_destroy(&j->lock);
    aios_free(j);
}

static void choice_end(struct choice *c, const struct aios_gen_event *ev)
{
    struct aios_server_job *j = c->job;
    json_t *calls = NULL;
    const char *reason = ev->finish == AIOS_FINISH_LENGTH ? "length" : "stop";
    if (j->hold_text && c->held.len) {
        json_t *tc = NULL;
        char *content = NULL;
        if (aios_tool_calls_parse_for(c->held.data, c->held.len, j->tools, &tc, &content, NULL) ==
                AIOS_OK &&
            tc) {
            calls = tc;
            reason = "tool_calls";
        }
        const char *text = calls ? content : c->held.data;
        if (text && *text) {
            struct aios_server_token t = {
                .index = c->index, .text = text, .len = strlen(text), .id = -1, .logprob = NAN};
            j->sink.on_token(j->sink.ud, &t);
        }
        aios_free(content);
    }
    if (ev->finish == AIOS_FINISH_ERROR) {
        pthread_mutex_lock(&j->lock);
        j->failed = true;
        aios_strlcpy(j->error, ev->error ? ev->error : "generation failed", sizeof j->error);
        pthread_mutex_unlock(&j->lock);
    }
    if (ev->finish != AIOS_FINISH_CANCELLED && ev->finish != AIOS_FINISH_ERROR) {
        struct aios_server_choice_end end = {
            .index = c->index, .finish_reason = reason, .tool_calls = calls};
        j->sink.on_choice_end(j->sink.ud, &end);
    }
    json_decref(calls);
    pthread_mutex_lock(&j->lock);
    j->completion += ev->n_gen;
    if (c->index == 0) {
        j->n_prompt = ev->n_prompt;
        j->n_cached = ev->n_cached;
    }
    pthread_mutex_unlock(&j->lock);
    bool cancelled = ev->finish == AIOS_FINISH_CANCELLED;
    if (atomic_fetch_sub(&j->remaining, 1) == 1) {
        struct aios_server_done d = {
            .status = j->failed   ? AIOS_EINTERNAL
                      : cancelled ? AIOS_ECANCELLED
                                  : AIOS_OK,
            .message = j->failed ? j->error : NULL,
            .prompt_tokens = j->n_prompt,
            .completion_tokens = j->completion,
            .cached_tokens = j->n_cached,
        };
        j->sink.on_done(j->sink.ud, &d);
        job_free(j);
    }
}

static int gen_cb(void *ud, const struct aios_gen_event *ev)
{
    struct choice *c = ud;
    struct aios_server_job *j = c->job;
    if (ev->kind == AIOS_GEN_DONE) {
        choice_end(c, ev);
        return 0;
    }
    if (ev->kind != AIOS_GEN_TOKEN && ev->kind != AIOS_GEN_PROMPT_TOKEN)
        return 0;
    if (j->hold_text && ev->kind == AIOS_GEN_TOKEN)
        return aios_buf_append(&c->held, ev->text, ev->len) ? 1 : 0;
    struct aios_server_top_logprob top[AIOS_ENGINE_MAX_TOP_LOGPROBS];
    struct aios_buf pieces[AIOS_ENGINE_MAX_TOP_LOGPROBS];
    int n_top = ev->n_top < AIOS_ENGINE_MAX_TOP_LOGPROBS ? ev->n_top : AIOS_ENGINE_MAX_TOP_LOGPROBS;
    for (int i = 0; i < n_top; i++) {
        aios_buf_init(&pieces[i], 1024);
        aios_llm_token_piece(j->bm->vocab, ev->top[i].token, false, &pieces[i], NULL);
        top[i] = (struct aios_server_top_logprob){pieces[i].data ? pieces[i].data : "",
                                                  ev->top[i].token, ev->top[i].logprob};
    }
    const char *text = ev->text;
    size_t len = ev->len;
    if (ev->kind == AIOS_GEN_PROMPT_TOKEN)
        echo_text(c, j->bm->vocab, &text, &len);
    struct aios_server_token t = {.index = c->index,
                                  .text = text,
                                  .len = len,
                                  .id = ev->token,
                                  .logprob = ev->logprob,
                                  .n_top = n_top,
                                  .top = top};
    bool ok = j->sink.on_token(j->sink.ud, &t);
    for (int i = 0; i < n_top; i++)
        aios_buf_free(&pieces[i]);
    return ok ? 0 : 1;
}

/* The conversation as the chat template expects it. */
static json_t *messages_json(const struct aios_server_gen_request *req)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < req->n_messages; i++) {
        const struct aios_server_message *m = &req->messages[i];
        json_t *o = json_object();
        json_object_set_new(o, "role", json_string(m->role));
        if (m->content)
            json_object_set_new(o, "content", json_string(m->content));
        else
            json_object_set_new(o, "content", json_null());
        if (m->name)
            json_object_set_new(o, "name", json_string(m->name));
        if (m->tool_call_id)
            json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
        if (m->tool_calls)
            json_object_set(o, "tool_calls", m->tool_calls);
        json_array_append_new(arr, o);
    }
    return arr;
}

static int build_prompt(struct be_model *bm, const struct aios_server_gen_request *req,
                        struct aios_llm_tokens *toks, struct aios_err *err)
{
    if (req->kind == AIOS_SERVER_REQ_COMPLETION) {
        if (req->prompt_tokens) {
            for (size_t i = 0; i < req->n_prompt_tokens; i++) {
                int rc = aios_llm_tokens_push(toks, req->prompt_tokens[i]);
                if (rc)
                    return aios_err_set(err, rc, "prompt: too many tokens");
            }
            return AIOS_OK;
        }
        const char *p = req->prompt ? req->prompt : "";
        return aios_llm_tokenize(bm->vocab, p, strlen(p), AIOS_LLM_TOK_ADD_SPECIAL, toks, err);
    }
    json_t *msgs = messages_json(req);
    json_t *tools = req->tools;
    if (tools && req->tool_choice && json_is_string(req->tool_choice) &&
        strcmp(json_string_value(req->tool_choice), "none") == 0)
        tools = NULL;
    int rc;
    if (bm->tpl_parsed) {
        rc = aios_chat_tokens(bm->tpl_parsed, bm->vocab, msgs, tools, toks, err);
    } else { /* the template does not parse: the request gets the parse error */
        aios_jinja_template *t = NULL;
        rc = aios_jinja_parse(bm->tpl, strlen(bm->tpl), &t, err);
        aios_jinja_free(t);
        if (rc == AIOS_OK)
            rc = aios_err_set(err, AIOS_EINTERNAL, "chat template unavailable");
    }
    json_decref(msgs);
    return rc;
}

/* For tool_choice "required" or {"type":"function","function":{"name":F}}:
 * a schema admitting exactly a call {"name": N, "arguments": {...}} of one
 * allowed tool, its arguments per the tool's parameters. NULL otherwise. */
static json_t *forced_call_schema(const struct aios_server_gen_request *req)
{
    if (req->kind != AIOS_SERVER_REQ_CHAT || !req->tools || !req->tool_choice)
        return NULL;
    const char *only = NULL;
    if (json_is_string(req->tool_choice)) {
        if (strcmp(json_string_value(req->tool_choice), "required") != 0)
            return NULL;
    } else if (json_is_object(req->tool_choice)) {
        only = json_string_value(
            json_object_get(json_object_get(req->tool_choice, "function"), "name"));
        if (!only)
            return NULL;
    } else {
        return NULL;
    }
    json_t *any = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(req->tools, i, t)
    {
        json_t *fn = json_object_get(t, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        if (!name || (only && strcmp(only, name) != 0))
            continue;
        json_t *params = json_object_get(fn, "parameters");
        json_array_append_new(
            any, json_pack("{s:s, s:{s:{s:s}, s:o}, s:[s, s], s:b}", "type", "object", "properties",
                           "name", "const", name, "arguments",
                           json_is_object(params) ? json_incref(params)
                                                  : json_pack("{s:s}", "type", "object"),
                           "required", "name", "arguments", "additionalProperties", 0));
    }
    if (json_array_size(any) == 0) {
        json_decref(any);
        return NULL;
    }
    return json_pack("{s:o}", "anyOf", any);
}

static int start(void *ctx, const struct aios_server_gen_request *req,
                 const struct aios_server_sink *sink, aios_server_job **out, struct aios_err *err)
{
    struct be_model *bm = find(ctx, req->model);
    if (!bm)
        return aios_err_set(err, AIOS_ENOTFOUND, "model '%s' does not exist", req->model);
    if (bm->embedding)
        return aios_err_set(err, AIOS_EINVAL,
                            "model '%s' is an embedding model; use /v1/embeddings", req->model);
    struct aios_llm_tokens toks;
    aios_llm_tokens_init(&toks, (size_t)bm->n_ctx * 4);
    int rc = build_prompt(bm, req, &toks, err);
    if (rc) {
        aios_llm_tokens_free(&toks);
        return rc;
    }
    if ((int64_t)toks.n >= bm->n_ctx ||
        (req->max_tokens > 0 && (int64_t)toks.n + req->max_tokens > bm->n_ctx)) {
        rc =
            aios_err_set(err, AIOS_ELIMIT,
                         "this model's context is %d tokens; the prompt has %zu and max_tokens "
                         "asks for %lld more",
                         bm->n_ctx, toks.n, (long long)(req->max_tokens > 0 ? req->max_tokens : 0));
        aios_llm_tokens_free(&toks);
        return rc;
    }
    /* Constrained output: one guide per choice, checked before anything
     * starts. tool_choice "required" or a named function constrains the
     * output to a call ({"name", "arguments"}) of the allowed tools. */
    json_t *call_schema = forced_call_schema(req);
    const json_t *schema = call_schema                                     ? call_schema
                           : req->format == AIOS_SERVER_FORMAT_JSON_SCHEMA ? req->json_schema
                                                                           : NULL;
    bool guided = call_schema || req->format != AIOS_SERVER_FORMAT_TEXT;
    aios_json_guide *guides[AIOS_SERVER_MAX_N] = {0};
    for (int i = 0; guided && i < req->n; i++) {
        rc = aios_json_guide_create(schema, &guides[i], err);
        if (rc) {
            aios_err_prefix(err, call_schema ? "tools" : "response_format.json_schema");
            json_decref(call_schema);
            for (int k = 0; k < i; k++)
                aios_json_guide_free(guides[k]);
            aios_llm_tokens_free(&toks);
            return rc == AIOS_ENOMEM ? rc : AIOS_EINVAL;
        }
    }
    json_decref(call_schema);
    struct aios_server_job *j = aios_calloc(1, sizeof *j);
    if (!j || !(j->ch = aios_calloc((size_t)req->n, sizeof *j->ch))) {
        aios_free(j);
        for (int k = 0; k < req->n; k++)
            aios_json_guide_free(guides[k]);
        aios_llm_tokens_free(&toks);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    j->tools = req->tools;
    j->bm = bm;
    j->sink = *sink;
    j->n = req->n;
    pthread_mutex_init(&j->lock, NULL);
    j->hold_text = req->kind == AIOS_SERVER_REQ_CHAT && req->tools &&
                   !(req->tool_choice && json_is_string(req->tool_choice) &&
                     strcmp(json_string_value(req->tool_choice), "none") == 0);
    atomic_store(&j->remaining, req->n);
    uint64_t seed = req->has_seed ? (uint64_t)req->seed : (uint64_t)aios_time_ns();
    for (int i = 0; i < req->n; i++) {
        struct choice *c = &j->ch[i];
        c->job = j;
        c->index = i;
        aios_buf_init(&c->held, 1 << 20);
    }
    *out = j;
    bool echo_lp = req->kind == AIOS_SERVER_REQ_COMPLETION && req->echo && req->logprobs;
    for (int i = 0; echo_lp && i < req->n; i++) {
        /* The first prompt token has no log-probability (nothing precedes it). */
        struct aios_buf piece;
        aios_buf_init(&piece, 4096);
        aios_llm_token_piece(bm->vocab, toks.ids[0], false, &piece, NULL);
        const char *text = piece.data ? piece.data : "";
        size_t len = piece.len;
        echo_text(&j->ch[i], bm->vocab, &text, &len);
        struct aios_server_token t = {
            .index = i, .text = text, .len = len, .id = toks.ids[0], .logprob = NAN};
        sink->on_token(sink->ud, &t);
        aios_buf_free(&piece);
    }
    for (int i = 0; i < req->n; i++) {
        struct aios_gen_request gr = {
            .prompt_logprobs = echo_lp,
            .prompt = toks.ids,
            .n_prompt = (int)toks.n,
            .max_tokens = req->max_tokens > 0 ? (int)req->max_tokens : 0,
            .stop = req->stop,
            .n_stop = req->n_stop,
            .logprobs = req->logprobs,
            .top_logprobs = req->top_logprobs,
            .ignore_eos = req->ignore_eos,
            .guide = guides[i],
            .cb = gen_cb,
            .ud = &j->ch[i],
        };
        aios_sampling_defaults(&gr.sampling);
        gr.sampling.temperature = (float)req->temperature;
        gr.sampling.top_p = (float)req->top_p;
        gr.sampling.top_k = req->top_k > 0 ? (int)req->top_k : 0;
        gr.sampling.min_p = (float)req->min_p;
        gr.sampling.presence_penalty = (float)req->presence_penalty;
        gr.sampling.frequency_penalty = (float)req->frequency_penalty;
        gr.sampling.repeat_penalty =
            req->repetition_penalty > 0 ? (float)req->repetition_penalty : 1.0f;
        gr.sampling.seed = seed + (uint64_t)i;
        struct aios_err e2;
        rc = aios_engine_submit(bm->eng, &gr, &j->ch[i].id, &e2);
        if (rc == AIOS_OK)
            guides[i] = NULL; /* the engine owns it now */
        if (rc) {
            for (int k = i; k < req->n; k++)
                aios_json_guide_free(guides[k]);
            /* Choices already submitted finish normally; this one and the
             * rest end here as errors. */
            for (int k = i; k < req->n; k++) {
                struct aios_gen_event ev = {.kind = AIOS_GEN_DONE,
                                            .finish = AIOS_FINISH_ERROR,
                                            .error = e2.msg,
                                            .n_prompt = (int)toks.n};
                choice_end(&j->ch[k], &ev);
            }
            break;
        }
    }
    aios_llm_tokens_free(&toks);
    return AIOS_OK;
}

static void cancel(void *ctx, aios_server_job *j)
{
    (void)ctx;
    for (int i = 0; i < j->n; i++)
        if (j->ch[i].id)
            aios_engine_cancel(j->bm->eng, j->ch[i].id);
}

static int embed(void *ctx, const char *model, const char *const *inputs, size_t n, float **out,
                 int *dim, int64_t *prompt_tokens, struct aios_err *err)
{
    struct be_model *bm = find(ctx, model);
    if (!bm)
        return aios_err_set(err, AIOS_ENOTFOUND, "model '%s' does not exist", model);
    if (!bm->embedding)
        return aios_err_set(err, AIOS_EINVAL, "model '%s' is not an embedding model", model);
    int E = aios_model_hparams(bm->emb_model)->n_embd;
    float *v = aios_malloc(sizeof(float) * (size_t)E * n);
    if (!v)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    pthread_mutex_lock(&bm->emb_lock);
    int rc = aios_llm_embed(bm->emb_model, bm->emb_vocab, bm->emb_ctx, inputs, (int)n, v,
                            prompt_tokens, err);
    pthread_mutex_unlock(&bm->emb_lock);
    if (rc) {
        aios_free(v);
        return rc;
    }
    *out = v;
    *dim = E;
    return AIOS_OK;
}

static void stats(void *ctx, struct aios_server_stats *out)
{
    struct be_state *st = ctx;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < st->n; i++) {
        if (!st->m[i].eng)
            continue;
        struct aios_engine_stats es;
        aios_engine_stats(st->m[i].eng, &es);
        out->requests_running += es.running;
        out->requests_waiting += es.queued;
        out->kv_cache_tokens += es.kv_used;
        out->kv_cache_capacity += es.kv_total;
    }
    out->kv_cache_usage =
        out->kv_cache_capacity ? (double)out->kv_cache_tokens / (double)out->kv_cache_capacity : 0;
}

/* ---- loading ---- */

static int load_one(struct be_model *bm, const struct aios_server_model_spec *spec,
                    const struct aios_server_opts *o, struct aios_err *err)
{
    aios_strlcpy(bm->name, spec->name, sizeof bm->name);
    bm->created = aios_wall_ms() / 1000;
    aios_model *probe;
    int rc = aios_model_load(spec->path, &probe, err);
    if (rc)
        return rc;
    bool embedding = aios_model_hparams(probe)->arch == AIOS_ARCH_BERT;
    if (embedding) {
        bm->embedding = true;
        bm->emb_model = probe;
        if ((rc = aios_llm_vocab_load(aios_model_gguf(probe), &bm->emb_vocab, err)))
            return rc;
        struct aios_ctx_params cp = {.n_seq = 8, .kv_f32 = true, .n_threads = 0};
        cp.n_batch = aios_model_hparams(probe)->n_ctx_train;
        if ((rc = aios_ctx_create(probe, &cp, &bm->emb_ctx, err)))
            return rc;
        pthread_mutex_init(&bm->emb_lock, NULL);
        bm->vocab = bm->emb_vocab;
        bm->n_ctx = aios_ctx_n_ctx(bm->emb_ctx);
        return AIOS_OK;
    }
    aios_model_free(probe);
    struct aios_engine_params ep = {.model_path = spec->path,
                                    .n_ctx = (int)o->n_ctx,
                                    .n_parallel = o->parallel > 0 ? o->parallel : 4};
    if ((rc = aios_engine_create(&ep, &bm->eng, err)))
        return rc;
    bm->vocab = aios_engine_vocab(bm->eng);
    bm->n_ctx = aios_engine_n_ctx(bm->eng);
    const char *builtin = NULL;
    if ((rc = aios_chat_template_for_model(aios_engine_model(bm->eng), bm->vocab, &bm->tpl,
                                           &builtin, err)))
        return rc;
    if (builtin)
        AIOS_INFO("server", "model %s has no chat template; using the built-in '%s'", bm->name,
                  builtin);
    /* parsed once; requests only render it */
    struct aios_err perr;
    if (aios_jinja_parse(bm->tpl, strlen(bm->tpl), &bm->tpl_parsed, &perr))
        AIOS_WARN("server",
                  "model %s: its chat template does not parse (%s); chat requests will "
                  "fail, completions work",
                  bm->name, perr.msg);
    return AIOS_OK;
}

void aios_server_engine_backend_close(void *state)
{
    struct be_state *st = state;
    if (!st)
        return;
    for (int i = 0; i < st->n; i++) {
        struct be_model *bm = &st->m[i];
        aios_engine_destroy(bm->eng);
        if (bm->embedding && bm->emb_ctx)
            pthread_mutex_destroy(&bm->emb_lock);
        aios_ctx_free(bm->emb_ctx);
        aios_llm_vocab_free(bm->emb_vocab);
        aios_model_free(bm->emb_model);
        aios_free(bm->tpl);
        aios_jinja_free(bm->tpl_parsed);
    }
    aios_free(st->m);
    aios_free(st);
}

int aios_server_engine_backend_open(const struct aios_server_opts *o,
                                    struct aios_server_backend *be, void **state,
                                    struct aios_err *err)
{
    memset(be, 0, sizeof *be);
    *state = NULL;
    if (o->n_models == 0)
        return AIOS_OK;
    struct be_state *st = aios_calloc(1, sizeof *st);
    if (!st || !(st->m = aios_calloc((size_t)o->n_models, sizeof *st->m))) {
        aios_free(st);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    for (int i = 0; i < o->n_models; i++) {
        st->n = i + 1;
        int rc = load_one(&st->m[i], &o->models[i], o, err);
        if (rc) {
            aios_err_prefix(err, "model %s", o->models[i].name);
            aios_server_engine_backend_close(st);
            return rc;
        }
        AIOS_INFO("server", "model %s loaded from %s (context %d)", st->m[i].name,
                  o->models[i].path, st->m[i].n_ctx);
    }
    *be = (struct aios_server_backend){
        .ctx = st,
        .list_models = list_models,
        .tokenize = tokenize,
        .detokenize = detokenize,
        .start = start,
        .cancel = cancel,
        .embed = embed,
        .stats = stats,
    };
    *state = st;
    return AIOS_OK;
}
