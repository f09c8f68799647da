/* The server against a fake backend, in process, driven over HTTP with
 * libcurl: non-streamed and streamed (SSE) generations, include_usage, the
 * error mapping of backend failures, embeddings, tokenize/detokenize, a
 * client that hangs up mid-stream (its job must be cancelled promptly), the
 * engine's numbers on /metrics, and shutdown with a stream in progress.
 *
 * The fake backend generates "tok0 ", "tok1 ", ... from a thread per job,
 * one token every `delay_ms`, honouring max_tokens and cancel. */
#include "server/server.h"
#include "test.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

/* ---- the fake backend -------------------------------------------------- */

struct fake_job {
    struct aios_server_sink sink;
    int n, max_tokens, delay_ms;
    bool tool; /* answer with a tool call instead of text */
    atomic_bool cancel;
};

static atomic_int jobs_live;
static atomic_int jobs_cancelled;
static atomic_uint_fast64_t last_cancel_ns;

static int fake_list(void *ctx, struct aios_server_model_info *out, int max, int *n)
{
    *n = 0;
    if (max < 2)
        return AIOS_OK;
    out[0] =
        (struct aios_server_model_info){.id = "fake",
                                        .owned_by = "test",
                                        .created = 1,
                                        .n_ctx = 4096,
                                        .caps = AIOS_SERVER_CAP_CHAT | AIOS_SERVER_CAP_COMPLETION};
    out[1] = (struct aios_server_model_info){
        .id = "emb", .n_ctx = 512, .caps = AIOS_SERVER_CAP_EMBEDDING};
    *n = 2;
    return AIOS_OK;
}

static void *job_main(void *arg)
{
    struct fake_job *j = arg;
    int produced = 0;
    bool cancelled = false;
    for (int i = 0; i < j->max_tokens; i++) {
        for (int w = 0; w < j->delay_ms && !atomic_load(&j->cancel); w++)
            usleep(1000);
        if (atomic_load(&j->cancel)) {
            cancelled = true;
            break;
        }
        for (int c = 0; c < j->n; c++) {
            char text[32];
            snprintf(text, sizeof text, "tok%d ", i);
            struct aios_server_top_logprob top[1] = {{"x", 120, -2.5}};
            struct aios_server_token t = {.index = c,
                                          .text = text,
                                          .len = strlen(text),
                                          .id = 100 + i,
                                          .logprob = -0.5,
                                          .n_top = 1,
                                          .top = top};
            if (!j->sink.on_token(j->sink.ud, &t))
                cancelled = true;
        }
        produced++;
        if (cancelled)
            break;
    }
    json_t *calls =
        j->tool ? json_pack("[{s:s, s:s, s:{s:s, s:s}}]", "id", "call_1", "type", "function",
                            "function", "name", "df", "arguments", "{\"path\":\"/var\"}")
                : NULL;
    if (!cancelled)
        for (int c = 0; c < j->n; c++) {
            struct aios_server_choice_end end = {.index = c,
                                                 .finish_reason = j->tool ? "tool_calls" : "length",
                                                 .tool_calls = calls};
            j->sink.on_choice_end(j->sink.ud, &end);
        }
    json_decref(calls);
    struct aios_server_done d = {.status = cancelled ? AIOS_ECANCELLED : AIOS_OK,
                                 .prompt_tokens = 7,
                                 .completion_tokens = produced * j->n};
    j->sink.on_done(j->sink.ud, &d);
    aios_free(j);
    atomic_fetch_sub(&jobs_live, 1);
    return NULL;
}

static int fake_start(void *ctx, const struct aios_server_gen_request *req,
                      const struct aios_server_sink *sink, aios_server_job **job,
                      struct aios_err *err)
{
    const char *text = req->kind == AIOS_SERVER_REQ_CHAT
                           ? req->messages[req->n_messages - 1].content
                           : req->prompt;
    if (text && strcmp(text, "too long") == 0)
        return aios_err_set(err, AIOS_ELIMIT, "This model's maximum context length is 4096 tokens");
    if (text && strcmp(text, "busy") == 0)
        return aios_err_set(err, AIOS_EBUSY, "queue full");
    struct fake_job *j = aios_calloc(1, sizeof *j);
    j->sink = *sink;
    j->n = req->n;
    j->max_tokens = req->max_tokens > 0 ? (int)req->max_tokens : 5;
    j->tool = req->tools != NULL;
    if (j->tool)
        j->max_tokens = 0;
    j->delay_ms = !text                         ? 1
                  : strcmp(text, "slow") == 0   ? 20
                  : strcmp(text, "silent") == 0 ? 5000
                                                : 1;
    atomic_fetch_add(&jobs_live, 1);
    *job = (aios_server_job *)j;
    pthread_t th;
    pthread_create(&th, NULL, job_main, j);
    pthread_detach(th);
    return AIOS_OK;
}

static void fake_cancel(void *ctx, aios_server_job *job)
{
    struct fake_job *j = (struct fake_job *)job;
    atomic_store(&j->cancel, true);
    atomic_fetch_add(&jobs_cancelled, 1);
    atomic_store(&last_cancel_ns, aios_time_ns());
}

static int fake_tokenize(void *ctx, const char *model, const char *text, size_t len, bool special,
                         int32_t **toks, size_t *n, struct aios_err *err)
{
    *toks = aios_malloc(sizeof **toks * (len + 1));
    *n = 0;
    if (special)
        (*toks)[(*n)++] = 1; /* BOS */
    for (size_t i = 0; i < len; i++)
        (*toks)[(*n)++] = (unsigned char)text[i];
    return AIOS_OK;
}

static int fake_detokenize(void *ctx, const char *model, const int32_t *toks, size_t n, char **text,
                           size_t *len, struct aios_err *err)
{
    *text = aios_malloc(n + 1);
    *len = 0;
    for (size_t i = 0; i < n; i++)
        if (toks[i] >= 32 && toks[i] < 127)
            (*text)[(*len)++] = (char)toks[i];
    (*text)[*len] = 0;
    return AIOS_OK;
}

static int fake_embed(void *ctx, const char *model, const char *const *in, size_t n, float **out,
                      int *dim, int64_t *ptoks, struct aios_err *err)
{
    *dim = 3;
    *out = aios_malloc(sizeof **out * n * 3);
    for (size_t i = 0; i < n; i++) {
        (*out)[i * 3] = (float)i;
        (*out)[i * 3 + 1] = 0.5f;
        (*out)[i * 3 + 2] = -1.0f;
    }
    *ptoks = (int64_t)n * 2;
    return AIOS_OK;
}

static void fake_stats(void *ctx, struct aios_server_stats *st)
{
    st->requests_running = 3;
    st->requests_waiting = 2;
    st->kv_cache_usage = 0.25;
    st->kv_cache_tokens = 1024;
    st->kv_cache_capacity = 4096;
}

static const struct aios_server_backend fake = {
    .list_models = fake_list,
    .tokenize = fake_tokenize,
    .detokenize = fake_detokenize,
    .start = fake_start,
    .cancel = fake_cancel,
    .embed = fake_embed,
    .stats = fake_stats,
};

/* ---- a small HTTP client ----------------------------------------------- */

static int port;

struct resp {
    long status;
    struct aios_buf body;
    size_t abort_after; /* hang up once this many bytes arrived (0: never) */
    long timeout_ms;    /* hang up after this long (0: 20 s) */
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    aios_buf_append(&r->body, p, sz * n);
    if (r->abort_after && r->body.len >= r->abort_after)
        return 0; /* curl aborts the transfer and closes the socket */
    return sz * n;
}

static void http(const char *method, const char *path, const char *body, struct resp *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    aios_buf_init(&r->body, 16 << 20);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer test-key-123");
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : 20000L);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static json_t *parse_body(struct resp *r)
{
    json_t *v = NULL;
    struct aios_err err;
    if (aios_json_parse(r->body.data ? r->body.data : "", r->body.len, 0, &v, &err))
        fprintf(stderr, "bad JSON: %s: %.200s\n", err.msg, r->body.data ? r->body.data : "");
    return v;
}

/* Splits an SSE body into its data payloads; returns the count. */
static int sse_events(const char *body, json_t **events, int max, bool *done_last)
{
    int n = 0;
    *done_last = false;
    const char *p = body;
    while (p && *p) {
        const char *end = strstr(p, "\n\n");
        CHECK_MSG(strncmp(p, "data: ", 6) == 0, "event does not start with 'data: ': %.40s", p);
        if (!end || strncmp(p, "data: ", 6) != 0)
            break;
        size_t len = (size_t)(end - p - 6);
        *done_last = len == 6 && strncmp(p + 6, "[DONE]", 6) == 0;
        if (!*done_last && n < max) {
            struct aios_err err;
            json_t *v = NULL;
            CHECK_MSG(aios_json_parse(p + 6, len, 0, &v, &err) == AIOS_OK, "%s", err.msg);
            events[n++] = v;
        }
        p = end + 2;
    }
    return n;
}

static void wait_jobs(void)
{
    for (int i = 0; i < 400 && atomic_load(&jobs_live) > 0; i++)
        usleep(5000);
    CHECK_EQ_INT(atomic_load(&jobs_live), 0);
}

/* ---- tests ------------------------------------------------------------- */

static void test_chat_full(void)
{
    struct resp r = {0};
    http("POST", "/v1/chat/completions",
         "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
         "\"max_tokens\":3,\"n\":2,\"logprobs\":true,\"top_logprobs\":1}",
         &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *v = parse_body(&r);
    json_t *choices = json_object_get(v, "choices");
    CHECK_EQ_INT(json_array_size(choices), 2);
    json_t *c1 = json_array_get(choices, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(c1, "message"), "content")),
                 "tok0 tok1 tok2 ");
    CHECK_EQ_STR(json_string_value(json_object_get(c1, "finish_reason")), "length");
    json_t *lp = json_object_get(json_object_get(c1, "logprobs"), "content");
    CHECK_EQ_INT(json_array_size(lp), 3);
    CHECK_NEAR(json_real_value(json_object_get(json_array_get(lp, 0), "logprob")), -0.5, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(v, "object")), "chat.completion");
    CHECK(strncmp(json_string_value(json_object_get(v, "id")), "chatcmpl-", 9) == 0);
    json_t *u = json_object_get(v, "usage");
    CHECK_EQ_INT(json_integer_value(json_object_get(u, "prompt_tokens")), 7);
    CHECK_EQ_INT(json_integer_value(json_object_get(u, "completion_tokens")), 6);
    CHECK_EQ_INT(json_integer_value(json_object_get(u, "total_tokens")), 13);
    json_decref(v);
    aios_buf_free(&r.body);
    wait_jobs();
}

static void test_chat_stream(void)
{
    struct resp r = {0};
    http("POST", "/v1/chat/completions",
         "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
         "\"max_tokens\":4,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
         &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *ev[64];
    bool done_last;
    int n = sse_events(r.body.data ? r.body.data : "", ev, 64, &done_last);
    CHECK(done_last);
    /* 4 content chunks, 1 finish chunk, 1 usage chunk */
    CHECK_EQ_INT(n, 6);
    if (n == 6) {
        json_t *d0 = json_object_get(json_array_get(json_object_get(ev[0], "choices"), 0), "delta");
        CHECK_EQ_STR(json_string_value(json_object_get(d0, "role")), "assistant");
        CHECK_EQ_STR(json_string_value(json_object_get(d0, "content")), "tok0 ");
        json_t *d1 = json_object_get(json_array_get(json_object_get(ev[1], "choices"), 0), "delta");
        CHECK(json_object_get(d1, "role") == NULL); /* only the first delta has the role */
        CHECK(json_is_null(json_object_get(ev[1], "usage")));
        CHECK_EQ_STR(json_string_value(json_object_get(ev[1], "object")), "chat.completion.chunk");
        json_t *c4 = json_array_get(json_object_get(ev[4], "choices"), 0);
        CHECK_EQ_STR(json_string_value(json_object_get(c4, "finish_reason")), "length");
        CHECK_EQ_INT(json_array_size(json_object_get(ev[5], "choices")), 0);
        json_t *u = json_object_get(ev[5], "usage");
        CHECK_EQ_INT(json_integer_value(json_object_get(u, "completion_tokens")), 4);
        /* all chunks of one request share its id */
        CHECK_EQ_STR(json_string_value(json_object_get(ev[0], "id")),
                     json_string_value(json_object_get(ev[5], "id")));
    }
    for (int i = 0; i < n; i++)
        json_decref(ev[i]);
    aios_buf_free(&r.body);
    wait_jobs();
}

static void test_completion_stream(void)
{
    struct resp r = {0};
    http("POST", "/v1/completions",
         "{\"model\":\"fake\",\"prompt\":\"hi\",\"max_tokens\":2,\"stream\":true}", &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *ev[16];
    bool done_last;
    int n = sse_events(r.body.data ? r.body.data : "", ev, 16, &done_last);
    CHECK(done_last);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        json_t *c = json_array_get(json_object_get(ev[1], "choices"), 0);
        CHECK_EQ_STR(json_string_value(json_object_get(c, "text")), "tok1 ");
        CHECK_EQ_STR(json_string_value(json_object_get(ev[1], "object")), "text_completion");
        CHECK(json_object_get(ev[1], "usage") == NULL); /* not asked for */
    }
    for (int i = 0; i < n; i++)
        json_decref(ev[i]);
    aios_buf_free(&r.body);
    wait_jobs();
}

static void test_completion_echo_logprobs(void)
{
    struct resp r = {0};
    http("POST", "/v1/completions",
         "{\"model\":\"fake\",\"prompt\":[72,105],\"max_tokens\":2,\"echo\":true,"
         "\"logprobs\":1}",
         &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *v = parse_body(&r);
    json_t *c = json_array_get(json_object_get(v, "choices"), 0);
    /* With logprobs the prompt is the backend's to send, token by token
     * with log-probabilities (the fake backend sends none), so the server
     * echoes no text of its own. */
    CHECK_EQ_STR(json_string_value(json_object_get(c, "text")), "tok0 tok1 ");
    json_t *lp = json_object_get(c, "logprobs");
    json_t *offs = json_object_get(lp, "text_offset");
    CHECK_EQ_INT(json_array_size(offs), 2);
    CHECK_EQ_INT(json_integer_value(json_array_get(offs, 0)), 0);
    CHECK_EQ_INT(json_integer_value(json_array_get(offs, 1)), 5);
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(lp, "tokens"), 1)), "tok1 ");
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(lp, "token_logprobs"), 0)), -0.5,
               0);
    json_t *top0 = json_array_get(json_object_get(lp, "top_logprobs"), 0);
    CHECK_NEAR(json_number_value(json_object_get(top0, "x")), -2.5, 0);
    json_decref(v);
    aios_buf_free(&r.body);

    /* Streamed, the echo is the first chunk. */
    http("POST", "/v1/completions",
         "{\"model\":\"fake\",\"prompt\":\"Hey\",\"max_tokens\":1,\"echo\":true,"
         "\"stream\":true}",
         &r);
    json_t *ev[8];
    bool done_last;
    int n = sse_events(r.body.data ? r.body.data : "", ev, 8, &done_last);
    CHECK(done_last && n == 3);
    if (n >= 1)
        CHECK_EQ_STR(json_string_value(json_object_get(
                         json_array_get(json_object_get(ev[0], "choices"), 0), "text")),
                     "Hey");
    for (int i = 0; i < n; i++)
        json_decref(ev[i]);
    aios_buf_free(&r.body);
    wait_jobs();
}

static void test_tool_calls(void)
{
    const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"df\"}}]";
    char body[512];
    snprintf(body, sizeof body,
             "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"disk?\"}],%s}",
             tools);
    struct resp r = {0};
    http("POST", "/v1/chat/completions", body, &r);
    json_t *v = parse_body(&r);
    json_t *c = json_array_get(json_object_get(v, "choices"), 0);
    json_t *msg = json_object_get(c, "message");
    CHECK(json_is_null(json_object_get(msg, "content")));
    CHECK_EQ_STR(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(msg, "tool_calls"), 0), "function"),
            "name")),
        "df");
    CHECK_EQ_STR(json_string_value(json_object_get(c, "finish_reason")), "tool_calls");
    json_decref(v);
    aios_buf_free(&r.body);

    snprintf(body, sizeof body,
             "{\"model\":\"fake\",\"stream\":true,\"messages\":[{\"role\":\"user\","
             "\"content\":\"disk?\"}],%s}",
             tools);
    http("POST", "/v1/chat/completions", body, &r);
    json_t *ev[8];
    bool done_last;
    int n = sse_events(r.body.data ? r.body.data : "", ev, 8, &done_last);
    CHECK(done_last && n == 1);
    if (n == 1) {
        json_t *ch = json_array_get(json_object_get(ev[0], "choices"), 0);
        json_t *d = json_object_get(ch, "delta");
        CHECK_EQ_STR(json_string_value(json_object_get(d, "role")), "assistant");
        json_t *tc = json_array_get(json_object_get(d, "tool_calls"), 0);
        CHECK_EQ_INT(json_integer_value(json_object_get(tc, "index")), 0);
        CHECK_EQ_STR(json_string_value(json_object_get(tc, "id")), "call_1");
        CHECK_EQ_STR(json_string_value(json_object_get(ch, "finish_reason")), "tool_calls");
    }
    for (int i = 0; i < n; i++)
        json_decref(ev[i]);
    aios_buf_free(&r.body);
    wait_jobs();
}

static void expect_error(const char *path, const char *body, long status, const char *param,
                         const char *code)
{
    struct resp r = {0};
    http("POST", path, body, &r);
    CHECK_MSG(r.status == status, "%s: status %ld: %s", body, r.status, r.body.data);
    json_t *v = parse_body(&r);
    json_t *e = json_object_get(v, "error");
    json_t *p = json_object_get(e, "param");
    CHECK_MSG(param ? json_is_string(p) && strcmp(json_string_value(p), param) == 0
                    : json_is_null(p),
              "%s: param", body);
    CHECK_EQ_STR(json_string_value(json_object_get(e, "code")), code);
    json_decref(v);
    aios_buf_free(&r.body);
}

static void test_errors(void)
{
    expect_error("/v1/chat/completions",
                 "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"too long\"}]}",
                 400, "messages", "context_length_exceeded");
    expect_error("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"busy\"}", 503, NULL,
                 "overloaded");
    expect_error("/v1/completions", "{\"model\":\"fake\",\"prompt\":\"x\",\"max_tokens\":5000}",
                 400, "max_tokens", "context_length_exceeded");
    expect_error("/v1/chat/completions",
                 "{\"model\":\"emb\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 400,
                 "model", "invalid_value");
    expect_error("/v1/embeddings", "{\"model\":\"fake\",\"input\":\"x\"}", 400, "model",
                 "invalid_value");
    expect_error("/v1/embeddings", "{\"model\":\"emb\",\"input\":\"x\",\"dimensions\":8}", 400,
                 "dimensions", "invalid_value");
    expect_error("/v1/chat/completions",
                 "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404,
                 "model", "model_not_found");
}

static void test_models_embeddings_tokens(void)
{
    struct resp r = {0};
    http("GET", "/v1/models", NULL, &r);
    json_t *v = parse_body(&r);
    json_t *data = json_object_get(v, "data");
    CHECK_EQ_INT(json_array_size(data), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(data, 0), "id")), "fake");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(data, 0), "object")), "model");
    json_decref(v);
    aios_buf_free(&r.body);

    http("GET", "/v1/models/emb", NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    aios_buf_free(&r.body);

    http("POST", "/v1/embeddings", "{\"model\":\"emb\",\"input\":[\"a\",\"b\"]}", &r);
    CHECK_EQ_INT(r.status, 200);
    v = parse_body(&r);
    json_t *e1 = json_array_get(json_object_get(v, "data"), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(e1, "index")), 1);
    json_t *vec = json_object_get(e1, "embedding");
    CHECK_EQ_INT(json_array_size(vec), 3);
    CHECK_NEAR(json_number_value(json_array_get(vec, 0)), 1.0, 0);
    CHECK_NEAR(json_number_value(json_array_get(vec, 2)), -1.0, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(v, "usage"), "prompt_tokens")),
                 4);
    json_decref(v);
    aios_buf_free(&r.body);

    /* base64: little-endian float32 {0, 0.5, -1} = 00000000 0000003f 000080bf */
    http("POST", "/v1/embeddings",
         "{\"model\":\"emb\",\"input\":\"a\",\"encoding_format\":\"base64\"}", &r);
    v = parse_body(&r);
    CHECK_EQ_STR(json_string_value(
                     json_object_get(json_array_get(json_object_get(v, "data"), 0), "embedding")),
                 "AAAAAAAAAD8AAIC/");
    json_decref(v);
    aios_buf_free(&r.body);

    http("POST", "/tokenize", "{\"model\":\"fake\",\"prompt\":\"AB\"}", &r);
    CHECK_EQ_STR(r.body.data, "{\"count\":3,\"max_model_len\":4096,\"tokens\":[1,65,66]}");
    aios_buf_free(&r.body);
    http("POST", "/tokenize", "{\"model\":\"fake\",\"prompt\":\"AB\",\"add_special_tokens\":false}",
         &r);
    CHECK_EQ_STR(r.body.data, "{\"count\":2,\"max_model_len\":4096,\"tokens\":[65,66]}");
    aios_buf_free(&r.body);
    http("POST", "/detokenize", "{\"model\":\"fake\",\"tokens\":[1,72,105]}", &r);
    CHECK_EQ_STR(r.body.data, "{\"prompt\":\"Hi\"}");
    aios_buf_free(&r.body);
}

static void test_disconnect_cancels(void)
{
    int before = atomic_load(&jobs_cancelled);
    struct resp r = {.abort_after = 1};
    uint64_t t0 = aios_time_ns();
    http("POST", "/v1/chat/completions",
         "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"slow\"}],"
         "\"max_tokens\":4000,\"stream\":true}",
         &r);
    uint64_t hung_up = aios_time_ns();
    for (int i = 0; i < 400 && atomic_load(&jobs_cancelled) == before; i++)
        usleep(5000);
    CHECK_EQ_INT(atomic_load(&jobs_cancelled), before + 1);
    /* The server looks at the socket every 50 ms between tokens (20 ms
     * apart here); 1 s leaves room for a loaded 2-core machine while still
     * failing if disconnects were only noticed at the end (4000 tokens x
     * 20 ms = 80 s). */
    double lag = (double)(int64_t)(atomic_load(&last_cancel_ns) - hung_up) * 1e-9;
    CHECK_MSG(lag < 1.0, "cancel %.3f s after the hang-up", lag);
    CHECK((double)(hung_up - t0) * 1e-9 < 5.0);
    aios_buf_free(&r.body);
    wait_jobs();
}

/* No token flows, so no write can fail: the hang-up must be seen by looking
 * at the socket. */
static void test_disconnect_while_silent(void)
{
    int before = atomic_load(&jobs_cancelled);
    struct resp r = {.timeout_ms = 300};
    http("POST", "/v1/chat/completions",
         "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"silent\"}],"
         "\"max_tokens\":2,\"stream\":true}",
         &r);
    uint64_t hung_up = aios_time_ns();
    for (int i = 0; i < 800 && atomic_load(&jobs_cancelled) == before; i++)
        usleep(5000);
    CHECK_EQ_INT(atomic_load(&jobs_cancelled), before + 1);
    /* The server polls every 50 ms; the bound leaves room for a loaded CI
     * machine and still proves the hang-up (not the first token, due only
     * after 5 s) ended the job. */
    /* Signed: the server may notice the hang-up before this thread reads
     * the clock after http() returns, so a small negative lag is fine. */
    double lag = (double)(int64_t)(atomic_load(&last_cancel_ns) - hung_up) * 1e-9;
    CHECK_MSG(lag < 2.5, "cancel %.3f s after the hang-up", lag);
    aios_buf_free(&r.body);

    /* The same for a non-streamed request (the handler waits, not a reader). */
    before = atomic_load(&jobs_cancelled);
    http("POST", "/v1/completions", "{\"model\":\"fake\",\"prompt\":\"silent\",\"max_tokens\":2}",
         &r);
    hung_up = aios_time_ns();
    for (int i = 0; i < 800 && atomic_load(&jobs_cancelled) == before; i++)
        usleep(5000);
    CHECK_EQ_INT(atomic_load(&jobs_cancelled), before + 1);
    lag = (double)(int64_t)(atomic_load(&last_cancel_ns) - hung_up) * 1e-9;
    CHECK_MSG(lag < 2.5, "cancel %.3f s after the hang-up", lag);
    aios_buf_free(&r.body);
    wait_jobs();
}

static void test_metrics(void)
{
    struct resp r = {0};
    http("GET", "/metrics", NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    const char *m = r.body.data ? r.body.data : "";
    CHECK(strstr(m, "\naios_requests_running 3\n") != NULL);
    CHECK(strstr(m, "\naios_requests_waiting 2\n") != NULL);
    CHECK(strstr(m, "\naios_kv_cache_usage_ratio 0.25\n") != NULL);
    CHECK(strstr(m, "\naios_prompt_tokens_total{model=\"fake\"} ") != NULL);
    /* 6 (chat n=2) + 4 + 2 tokens completed before, at least */
    const char *g = strstr(m, "\naios_generation_tokens_total{model=\"fake\"} ");
    CHECK(g && atoi(g + strlen("\naios_generation_tokens_total{model=\"fake\"} ")) >= 12);
    CHECK(strstr(m, "aios_time_to_first_token_seconds_count{model=\"fake\"} ") != NULL);
    CHECK(strstr(m, "aios_inter_token_latency_seconds_count{model=\"fake\"} ") != NULL);
    CHECK(strstr(m, "aios_requests_finished_total{model=\"fake\",reason=\"length\"} ") != NULL);
    CHECK(strstr(m, "\naios_requests_in_flight 0\n") != NULL);
    aios_buf_free(&r.body);
}

static void *slow_stream(void *arg)
{
    struct resp *r = arg;
    http("POST", "/v1/chat/completions",
         "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"slow\"}],"
         "\"max_tokens\":4000,\"stream\":true}",
         r);
    return NULL;
}

/* `--serve`: run the server with the fake backend until SIGINT/SIGTERM,
 * printing its URL; tests/e2e/test_server_openai_stream.sh drives it with
 * the openai npm client. */
static int serve(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    const char *keys[] = {"test-key-123"};
    struct aios_server_opts o = {.host = "127.0.0.1", .api_keys = keys, .n_api_keys = 1};
    aios_server *s = NULL;
    struct aios_err err;
    if (aios_server_start(&o, &fake, &s, &err) != AIOS_OK) {
        fprintf(stderr, "server: %s\n", err.msg);
        return 1;
    }
    printf("http://127.0.0.1:%d\n", aios_server_port(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    aios_server_stop(s);
    for (int i = 0; i < 400 && atomic_load(&jobs_live) > 0; i++)
        usleep(5000);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--serve") == 0)
        return serve();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    aios_log_set_level(AIOS_LOG_WARN);
    const char *keys[] = {"test-key-123"};
    struct aios_server_opts o = {
        .host = "127.0.0.1", .port = 0, .max_body = 1 << 20, .api_keys = keys, .n_api_keys = 1};
    aios_server *s = NULL;
    struct aios_err err;
    if (aios_server_start(&o, &fake, &s, &err) != AIOS_OK) {
        fprintf(stderr, "server: %s\n", err.msg);
        return 1;
    }
    port = aios_server_port(s);
    CHECK(port > 0);
    TEST_RUN(test_chat_full);
    TEST_RUN(test_chat_stream);
    TEST_RUN(test_completion_stream);
    TEST_RUN(test_completion_echo_logprobs);
    TEST_RUN(test_tool_calls);
    TEST_RUN(test_errors);
    TEST_RUN(test_models_embeddings_tokens);
    TEST_RUN(test_disconnect_cancels);
    TEST_RUN(test_disconnect_while_silent);
    TEST_RUN(test_metrics);

    /* Shutdown with a stream in flight: stop cancels the job and returns. */
    struct resp r = {0};
    pthread_t th;
    int before = atomic_load(&jobs_cancelled);
    pthread_create(&th, NULL, slow_stream, &r);
    for (int i = 0; i < 400 && atomic_load(&jobs_live) == 0; i++)
        usleep(5000);
    usleep(50000);
    uint64_t t0 = aios_time_ns();
    aios_server_stop(s);
    double secs = (double)(aios_time_ns() - t0) * 1e-9;
    pthread_join(th, NULL);
    CHECK_EQ_INT(atomic_load(&jobs_cancelled), before + 1);
    CHECK_MSG(secs < 3.0, "stop took %.2f s", secs); /* bounded by one slice + one token */
    CHECK(r.body.len > 0 && strstr(r.body.data, "data: ") == r.body.data);
    /* ... and the stream says why it ended, then ends properly */
    CHECK(r.body.data && strstr(r.body.data, "shutting down") != NULL);
    CHECK(r.body.data && r.body.len >= 14 &&
          strcmp(r.body.data + r.body.len - 14, "data: [DONE]\n\n") == 0);
    aios_buf_free(&r.body);
    wait_jobs();
    curl_global_cleanup();
    TEST_EXIT();
}
