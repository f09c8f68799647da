/*
 * Endpoint handlers: /health, /metrics, /v1/models, /v1/embeddings,
 * /tokenize, /detokenize, and the front half of /v1/chat/completions and
 * /v1/completions (validation, model lookup, limits) before gen.c runs the
 * generation. Each handler validates into a struct, checks the model
 * against the backend's list, calls one backend function and shapes the
 * reply as OpenAI (or, for /tokenize, vLLM) does.
 */
#include "server/server_int.h"

#include <stdio.h>
#include <string.h>

/* ---- shared ------------------------------------------------------------ */

static int list_models(aios_server *s, struct aios_server_model_info *out, int max)
{
    int n = 0;
    if (!s->be->list_models || s->be->list_models(s->be->ctx, out, max, &n) != AIOS_OK)
        return 0;
    return n < 0 ? 0 : n > max ? max : n;
}

bool srv_find_model(aios_server *s, const char *id, struct aios_server_model_info *out,
                    struct aios_server_apierr *e)
{
    struct aios_server_model_info *all = aios_calloc(MAX_MODELS, sizeof *all);
    if (!all) {
        aios_server_apierr_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return false;
    }
    int n = list_models(s, all, MAX_MODELS);
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].id, id) == 0) {
            *out = all[i];
            aios_free(all);
            return true;
        }
    }
    aios_free(all);
    aios_server_apierr_set(e, 404, "invalid_request_error", "model", "model_not_found",
                           "The model '%s' does not exist%s", id,
                           n ? "."
                             : " (no model is loaded; start aios serve with --model NAME=FILE).");
    return false;
}

int srv_backend_error(struct aios_server_apierr *e, int status, const char *msg, const char *param)
{
    const char *m = msg && *msg ? msg : aios_status_str(status);
    switch (status) {
    case AIOS_ENOTFOUND:
        return aios_server_apierr_set(e, 404, "invalid_request_error", "model", "model_not_found",
                                      "%s", m);
    case AIOS_ELIMIT:
        return aios_server_apierr_set(e, 400, "invalid_request_error", param,
                                      "context_length_exceeded", "%s", m);
    case AIOS_EINVAL:
    case AIOS_ERANGE:
    case AIOS_EUNSUPPORTED:
        return aios_server_apierr_set(e, 400, "invalid_request_error", param, "invalid_value", "%s",
                                      m);
    case AIOS_EBUSY:
        return aios_server_apierr_set(e, 503, "server_error", NULL, "overloaded",
                                      "The engine is currently overloaded, please try again "
                                      "later (%s)",
                                      m);
    default:
        return aios_server_apierr_set(e, 500, "server_error", NULL, NULL, "%s", m);
    }
}

static enum MHD_Result oom(struct req *r)
{
    struct aios_server_apierr e;
    aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "out of memory");
    return srv_respond_error(r, &e);
}

/* ---- /health, /metrics ------------------------------------------------- */

enum MHD_Result h_health(struct req *r, json_t *body)
{
    bool stopping = atomic_load(&r->srv->stopping);
    struct aios_server_model_info *all = aios_calloc(MAX_MODELS, sizeof *all);
    int n = all ? list_models(r->srv, all, MAX_MODELS) : 0;
    aios_free(all);
    return srv_respond_json(r, stopping ? 503 : 200,
                            json_pack("{s:s, s:s, s:i}", "status", stopping ? "stopping" : "ok",
                                      "version", AIOS_VERSION, "models", n));
}

enum MHD_Result h_metrics(struct req *r, json_t *body)
{
    aios_server *s = r->srv;
    if (s->be->stats) {
        struct aios_server_stats st = {0};
        s->be->stats(s->be->ctx, &st);
        aios_metric_set(s->m_running, NULL, (double)st.requests_running);
        aios_metric_set(s->m_waiting, NULL, (double)st.requests_waiting);
        aios_metric_set(s->m_kv_usage, NULL, st.kv_cache_usage);
        aios_metric_set(s->m_kv_tokens, NULL, (double)st.kv_cache_tokens);
        aios_metric_set(s->m_kv_capacity, NULL, (double)st.kv_cache_capacity);
    } else {
        aios_metric_set(s->m_running, NULL, 0);
        aios_metric_set(s->m_waiting, NULL, 0);
        aios_metric_set(s->m_kv_usage, NULL, 0);
        aios_metric_set(s->m_kv_tokens, NULL, 0);
        aios_metric_set(s->m_kv_capacity, NULL, 0);
    }
    aios_metric_set(s->m_mem, NULL, (double)aios_mem_in_use());
    struct aios_buf b;
    aios_buf_init(&b, (size_t)64 << 20);
    int rc = aios_metrics_render(s->metrics, &b);
    enum MHD_Result res = rc ? oom(r)
                             : srv_respond_text(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                                                b.data ? b.data : "", b.len);
    aios_buf_free(&b);
    return res;
}

/* ---- /v1/models -------------------------------------------------------- */

static json_t *model_json(const struct aios_server_model_info *m)
{
    return json_pack("{s:s, s:s, s:I, s:s}", "id", m->id, "object", "model", "created",
                     (json_int_t)m->created, "owned_by", m->owned_by[0] ? m->owned_by : "aios");
}

enum MHD_Result h_models(struct req *r, json_t *body)
{
    struct aios_server_model_info *all = aios_calloc(MAX_MODELS, sizeof *all);
    json_t *data = json_array();
    if (!all || !data) {
        aios_free(all);
        json_decref(data);
        return oom(r);
    }
    int n = list_models(r->srv, all, MAX_MODELS);
    for (int i = 0; i < n; i++) {
        json_t *m = model_json(&all[i]);
        srv_registry_annotate(r->srv, m, all[i].id);
        json_array_append_new(data, m);
    }
    aios_free(all);
    return srv_respond_json(r, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

enum MHD_Result h_model_get(struct req *r, json_t *body)
{
    const char *id = r->url + strlen(r->route->path);
    struct aios_server_model_info m;
    struct aios_server_apierr e;
    if (!srv_find_model(r->srv, id, &m, &e))
        return srv_respond_error(r, &e);
    json_t *j = model_json(&m);
    srv_registry_annotate(r->srv, j, m.id);
    return srv_respond_json(r, 200, j);
}

/* ---- generation front half --------------------------------------------- */

static enum MHD_Result generate(struct req *r, json_t *body, enum aios_server_req_kind kind)
{
    struct aios_server_apierr e;
    aios_arena *arena = aios_arena_create(16 * 1024, r->srv->max_body * 2 + (1 << 20));
    if (!arena) {
        json_decref(body);
        return oom(r);
    }
    struct aios_server_gen_request g;
    struct aios_server_model_info m;
    unsigned cap = kind == AIOS_SERVER_REQ_CHAT ? AIOS_SERVER_CAP_CHAT : AIOS_SERVER_CAP_COMPLETION;
    if (aios_server_gen_request_parse(kind, body, arena, &g, &e) ||
        !srv_find_model(r->srv, g.model, &m, &e))
        goto fail;
    if (!(m.caps & cap)) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "model", "invalid_value",
                               "The model '%s' does not support %s.", g.model,
                               kind == AIOS_SERVER_REQ_CHAT ? "chat completions" : "completions");
        goto fail;
    }
    if (m.n_ctx > 0 && g.max_tokens > m.n_ctx) {
        aios_server_apierr_set(
            &e, 400, "invalid_request_error",
            json_object_get(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens",
            "context_length_exceeded",
            "max_tokens is too large: %lld. This model's maximum context "
            "length is %lld tokens.",
            (long long)g.max_tokens, (long long)m.n_ctx);
        goto fail;
    }
    if (!r->srv->be->start) {
        aios_server_apierr_set(&e, 503, "server_error", NULL, NULL,
                               "The model '%s' is listed but cannot generate.", g.model);
        goto fail;
    }
    return gen_run(r, body, arena, &g, &m);
fail:
    aios_arena_destroy(arena);
    json_decref(body);
    return srv_respond_error(r, &e);
}

enum MHD_Result h_chat(struct req *r, json_t *body)
{
    return generate(r, body, AIOS_SERVER_REQ_CHAT);
}

enum MHD_Result h_completions(struct req *r, json_t *body)
{
    return generate(r, body, AIOS_SERVER_REQ_COMPLETION);
}

/* ---- /v1/embeddings ---------------------------------------------------- */

static json_t *embedding_value(const float *v, int dim, bool b64)
{
    if (!b64) {
        json_t *a = json_array();
        for (int i = 0; a && i < dim; i++)
            json_array_append_new(a, json_real(v[i]));
        return a;
    }
    /* base64 of the little-endian float32 array, as OpenAI sends it. */
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = (const uint8_t *)v;
    size_t n = (size_t)dim * sizeof(float), o = 0;
    char *out = aios_malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = tbl[x >> 18 & 63];
        out[o++] = tbl[x >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[x >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tbl[x & 63] : '=';
    }
    out[o] = 0;
    json_t *s = json_string(out);
    aios_free(out);
    return s;
}

enum MHD_Result h_embeddings(struct req *r, json_t *body)
{
    aios_server *s = r->srv;
    struct aios_server_apierr e;
    struct aios_server_embed_request q;
    struct aios_server_model_info m;
    float *vec = NULL;
    json_t *data = NULL;
    enum MHD_Result res;
    aios_arena *arena = aios_arena_create(4096, (size_t)1 << 20);
    if (!arena) {
        json_decref(body);
        return oom(r);
    }
    if (aios_server_embed_request_parse(body, arena, &q, &e) || !srv_find_model(s, q.model, &m, &e))
        goto fail;
    if (!(m.caps & AIOS_SERVER_CAP_EMBEDDING) || !s->be->embed) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "model", "invalid_value",
                               "The model '%s' does not support embeddings.", q.model);
        goto fail;
    }
    int dim = 0;
    int64_t ptoks = 0;
    struct aios_err err = {0};
    int rc = s->be->embed(s->be->ctx, q.model, q.inputs, q.n_inputs, &vec, &dim, &ptoks, &err);
    if (rc) {
        srv_backend_error(&e, rc, err.msg, "input");
        goto fail;
    }
    if (q.dimensions && q.dimensions != dim) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "dimensions", "invalid_value",
                               "The model '%s' makes %d-dimensional embeddings and cannot "
                               "change that.",
                               q.model, dim);
        goto fail;
    }
    if (!(data = json_array()))
        goto nomem;
    for (size_t i = 0; i < q.n_inputs; i++) {
        json_t *emb = embedding_value(vec + i * (size_t)dim, dim, q.base64);
        if (!emb ||
            json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object", "embedding", "index",
                                                  (json_int_t)i, "embedding", emb)))
            goto nomem;
    }
    aios_free(vec);
    res = srv_respond_json(r, 200,
                           json_pack("{s:s, s:o, s:s, s:{s:I, s:I}}", "object", "list", "data",
                                     data, "model", q.model, "usage", "prompt_tokens",
                                     (json_int_t)ptoks, "total_tokens", (json_int_t)ptoks));
    aios_arena_destroy(arena);
    json_decref(body);
    return res;
nomem:
    aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "out of memory");
fail:
    json_decref(data);
    aios_free(vec);
    aios_arena_destroy(arena);
    json_decref(body);
    return srv_respond_error(r, &e);
}

/* ---- /tokenize, /detokenize (vLLM's shapes) ---------------------------- */

enum MHD_Result h_tokenize(struct req *r, json_t *body)
{
    aios_server *s = r->srv;
    struct aios_server_apierr e;
    struct aios_server_model_info m;
    const char *model = NULL;
    json_t *prompt = json_object_get(body, "prompt");
    json_t *add = json_object_get(body, "add_special_tokens");
    enum MHD_Result res;
    if (!json_is_string(json_object_get(body, "model"))) {
        json_t *mv = json_object_get(body, "model");
        if (!mv || json_is_null(mv))
            aios_server_apierr_set(&e, 400, "invalid_request_error", "model",
                                   "missing_required_parameter",
                                   "Missing required parameter: "
                                   "'model'.");
        else
            aios_server_apierr_set(&e, 400, "invalid_request_error", "model", "invalid_type",
                                   "Invalid type for 'model': expected a string.");
        goto fail;
    }
    model = json_string_value(json_object_get(body, "model"));
    if (!prompt || json_is_null(prompt)) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "prompt",
                               "missing_required_parameter",
                               json_object_get(body, "messages")
                                   ? "'messages' is not supported here yet; send 'prompt'."
                                   : "Missing required parameter: 'prompt'.");
        goto fail;
    }
    if (!json_is_string(prompt)) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "prompt", "invalid_type",
                               "Invalid type for 'prompt': expected a string.");
        goto fail;
    }
    if (add && !json_is_null(add) && !json_is_boolean(add)) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "add_special_tokens",
                               "invalid_type",
                               "Invalid type for 'add_special_tokens': expected a boolean.");
        goto fail;
    }
    if (!srv_find_model(s, model, &m, &e))
        goto fail;
    if (!s->be->tokenize) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "model", "invalid_value",
                               "The model '%s' cannot tokenize.", model);
        goto fail;
    }
    int32_t *toks = NULL;
    size_t n = 0;
    struct aios_err err = {0};
    int rc =
        s->be->tokenize(s->be->ctx, model, json_string_value(prompt), json_string_length(prompt),
                        !add || !json_is_false(add), &toks, &n, &err);
    if (rc) {
        srv_backend_error(&e, rc, err.msg, "prompt");
        goto fail;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_integer(toks[i]));
    aios_free(toks);
    res = srv_respond_json(r, 200,
                           arr ? json_pack("{s:I, s:I, s:o}", "count", (json_int_t)n,
                                           "max_model_len", (json_int_t)m.n_ctx, "tokens", arr)
                               : NULL);
    json_decref(body);
    return res;
fail:
    json_decref(body);
    return srv_respond_error(r, &e);
}

enum MHD_Result h_detokenize(struct req *r, json_t *body)
{
    aios_server *s = r->srv;
    struct aios_server_apierr e;
    struct aios_server_model_info m;
    int32_t *toks = NULL;
    json_t *mv = json_object_get(body, "model");
    json_t *tv = json_object_get(body, "tokens");
    if (!mv || json_is_null(mv) || !json_is_string(mv)) {
        aios_server_apierr_set(
            &e, 400, "invalid_request_error", "model",
            mv && !json_is_null(mv) ? "invalid_type" : "missing_required_parameter", "%s",
            mv && !json_is_null(mv) ? "Invalid type for 'model': expected a string."
                                    : "Missing required parameter: 'model'.");
        goto fail;
    }
    if (!tv || !json_is_array(tv)) {
        aios_server_apierr_set(
            &e, 400, "invalid_request_error", "tokens",
            tv && !json_is_null(tv) ? "invalid_type" : "missing_required_parameter", "%s",
            tv && !json_is_null(tv) ? "Invalid type for 'tokens': expected an array."
                                    : "Missing required parameter: 'tokens'.");
        goto fail;
    }
    size_t n = json_array_size(tv);
    toks = aios_malloc(sizeof *toks * (n ? n : 1));
    if (!toks) {
        aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tv, i);
        char p[32];
        snprintf(p, sizeof p, "tokens[%zu]", i);
        if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > INT32_MAX) {
            aios_server_apierr_set(&e, 400, "invalid_request_error", p,
                                   json_is_integer(t) ? "invalid_value" : "invalid_type",
                                   "Invalid '%s': expected a token id (an integer >= 0).", p);
            goto fail;
        }
        toks[i] = (int32_t)json_integer_value(t);
    }
    const char *model = json_string_value(mv);
    if (!srv_find_model(s, model, &m, &e))
        goto fail;
    if (!s->be->detokenize) {
        aios_server_apierr_set(&e, 400, "invalid_request_error", "model", "invalid_value",
                               "The model '%s' cannot detokenize.", model);
        goto fail;
    }
    char *text = NULL;
    size_t len = 0;
    struct aios_err err = {0};
    int rc = s->be->detokenize(s->be->ctx, model, toks, n, &text, &len, &err);
    if (rc) {
        srv_backend_error(&e, rc, err.msg, "tokens");
        goto fail;
    }
    aios_free(toks);
    json_decref(body);
    enum MHD_Result res =
        srv_respond_json(r, 200, json_pack("{s:s%}", "prompt", text ? text : "", text ? len : 0));
    aios_free(text);
    return res;
fail:
    aios_free(toks);
    json_decref(body);
    return srv_respond_error(r, &e);
}
