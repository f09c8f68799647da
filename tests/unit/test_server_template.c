/* server: a model's chat template is parsed once when the model is opened.
 * A model file whose embedded template does not parse still serves
 * completions, and each chat request gets the parse error (4xx/5xx in
 * OpenAI's shape, naming the template line) instead of a crash; a good
 * embedded template renders for every request from the one parse. The
 * models are the llama Q4_0 fixture copied with tokenizer.chat_template
 * set. */
#include "gguf/gguf.h"
#include "server/server.h"
#include "test.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* Copies src to dst with tokenizer.chat_template = tpl. */
static int with_template(const char *src, const char *dst, const char *tpl)
{
    struct aios_err err = {0};
    aios_gguf *g = NULL;
    aios_gguf_writer *w = NULL;
    int rc = aios_gguf_open(src, &g, &err);
    if (!rc)
        rc = aios_gguf_writer_create(&w, &err);
    if (!rc)
        rc = aios_gguf_writer_copy_all_kv(w, g, &err);
    if (!rc)
        rc = aios_gguf_writer_set_str(w, "tokenizer.chat_template", tpl, &err);
    for (int64_t i = 0; !rc && i < aios_gguf_n_tensors(g); i++)
        rc = aios_gguf_writer_copy_tensor(w, g, i, &err);
    if (!rc)
        rc = aios_gguf_writer_write(w, dst, &err);
    if (rc)
        fprintf(stderr, "with_template: %s\n", err.msg);
    aios_gguf_writer_destroy(w);
    aios_gguf_close(g);
    return rc;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    aios_buf_append(ud, p, sz * n);
    return sz * n;
}

static long post(int port, const char *path, const char *body, struct aios_buf *out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static const char *chat_body = "{\"model\":\"m\",\"max_tokens\":2,\"temperature\":0,"
                               "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char *completion_body =
    "{\"model\":\"m\",\"max_tokens\":2,\"temperature\":0,\"prompt\":\"hello\"}";

/* Serves path as model "m"; the chat answer's status and body. */
static long serve_chat(const char *path, struct aios_buf *chat, long *completion_status)
{
    struct aios_server_model_spec spec = {.name = "m", .path = path};
    struct aios_server_opts o = {
        .host = "127.0.0.1", .parallel = 1, .n_ctx = 256, .models = &spec, .n_models = 1};
    struct aios_server_backend be;
    void *state = NULL;
    struct aios_err err = {0};
    aios_server *s = NULL;
    long st = -1;
    if (aios_server_engine_backend_open(&o, &be, &state, &err) ||
        aios_server_start(&o, &be, &s, &err)) {
        fprintf(stderr, "serve: %s\n", err.msg);
    } else {
        int port = aios_server_port(s);
        st = post(port, "/v1/chat/completions", chat_body, chat);
        struct aios_buf comp;
        aios_buf_init(&comp, 0);
        *completion_status = post(port, "/v1/completions", completion_body, &comp);
        aios_buf_free(&comp);
    }
    aios_server_stop(s);
    aios_server_engine_backend_close(state);
    return st;
}

static void test_templates(void)
{
    const char *fx = test_fixtures();
    char src[1024], bad[1024], good[1024];
    snprintf(src, sizeof src, "%s/models/llama-Q4_0.gguf", fx);
    const char *dir = test_tmpdir("server_template");
    snprintf(bad, sizeof bad, "%s/bad.gguf", dir);
    snprintf(good, sizeof good, "%s/good.gguf", dir);
    CHECK_EQ_INT(with_template(src, bad, "{% for m in messages %}{{ m.content }}"), AIOS_OK);
    CHECK_EQ_INT(with_template(src, good,
                               "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
                               "{% if add_generation_prompt %}<assistant>{% endif %}"),
                 AIOS_OK);

    struct aios_buf body;
    aios_buf_init(&body, 0);
    long comp = 0;
    long st = serve_chat(bad, &body, &comp);
    CHECK_MSG(st >= 400 && st < 600, "broken template: chat status %ld", st);
    CHECK_MSG(body.data && strstr(body.data, "\"error\"") && strstr(body.data, "template line"),
              "broken template: %s", body.data ? body.data : "(no body)");
    CHECK_MSG(comp == 200, "broken template: completions status %ld", comp);
    aios_buf_free(&body);

    aios_buf_init(&body, 0);
    for (int i = 0; i < 2; i++) { /* two requests from the one parse */
        aios_buf_reset(&body);
        comp = 0;
        st = serve_chat(good, &body, &comp);
        CHECK_MSG(st == 200, "good template: chat status %ld: %s", st,
                  body.data ? body.data : "(no body)");
        CHECK(body.data && strstr(body.data, "\"chat.completion\""));
        CHECK_MSG(comp == 200, "good template: completions status %ld", comp);
    }
    aios_buf_free(&body);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TEST_RUN(test_templates);
    curl_global_cleanup();
    TEST_EXIT();
}
