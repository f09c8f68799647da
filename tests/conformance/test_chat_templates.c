/*
 * Chat templates against llama.cpp's Jinja engine: every template in
 * fixtures/chat/templates rendered with every context index.json lists
 * (inputs/NAME.json) must equal llama.cpp's render (expected/NAME.txt) byte for
 * byte, with the fixtures' fixed clock; the documented rejections must fail
 * with the template's raise_exception message. No tolerance: prompts are
 * text and one byte off changes the tokens.
 */
#include "llm/llm.h"
#include "test.h"

static char fixdir[4096];

static char *slurp(const char *rel, size_t *len)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", fixdir, rel);
    char *data = NULL;
    struct aios_err err;
    if (aios_read_file(path, 1 << 24, &data, len, &err) != AIOS_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, err.msg);
        return NULL;
    }
    return data;
}

static json_t *load_json(const char *rel)
{
    size_t len;
    char *text = slurp(rel, &len);
    if (!text)
        return NULL;
    json_t *j = NULL;
    struct aios_err err;
    if (aios_json_parse(text, len, 0, &j, &err) != AIOS_OK)
        fprintf(stderr, "%s: %s\n", rel, err.msg);
    aios_free(text);
    return j;
}

/* Renders template `name` with the context file; *out NULL on error. */
static int render(const char *name, const char *input, int64_t now, char **out, size_t *out_len,
                  struct aios_err *err)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "templates/%s.jinja", name);
    size_t len;
    char *src = slurp(rel, &len);
    json_t *ctx = load_json(input);
    int rc = AIOS_EIO;
    if (src && ctx)
        rc = aios_chat_template_render(src, len, ctx, now, out, out_len, err);
    aios_free(src);
    json_decref(ctx);
    return rc;
}

static void show_diff(const char *want, size_t wl, const char *got, size_t gl)
{
    size_t i = 0;
    while (i < wl && i < gl && want[i] == got[i])
        i++;
    size_t from = i > 40 ? i - 40 : 0;
    fprintf(stderr, "  first difference at byte %zu (want %zu bytes, got %zu)\n", i, wl, gl);
    fprintf(stderr, "  want: ...%.*s\n", (int)((wl - from) > 120 ? 120 : wl - from), want + from);
    fprintf(stderr, "  got:  ...%.*s\n", (int)((gl - from) > 120 ? 120 : gl - from), got + from);
}

static void test_renders(void)
{
    json_t *index = load_json("index.json");
    CHECK(index != NULL);
    if (!index)
        return;
    int64_t now = json_integer_value(json_object_get(index, "current_time_epoch"));
    CHECK_EQ_INT(now, 1721952000); /* 2024-07-26 00:00:00 UTC, the README's clock */
    json_t *list = json_object_get(index, "rendered");
    CHECK(json_array_size(list) >= 79);
    size_t i;
    json_t *r;
    int ok = 0;
    json_array_foreach(list, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "template"));
        const char *conv = json_string_value(json_object_get(r, "conversation"));
        size_t wl;
        char *want = slurp(json_string_value(json_object_get(r, "expected")), &wl);
        char *got = NULL;
        size_t gl = 0;
        struct aios_err err = {0};
        int rc = render(name, json_string_value(json_object_get(r, "input")), now, &got, &gl, &err);
        CHECK_MSG(rc == AIOS_OK, "%s x %s: %s", name, conv, err.msg);
        if (rc == AIOS_OK && want) {
            bool same = gl == wl && memcmp(got, want, wl) == 0;
            CHECK_MSG(same, "%s x %s: render differs", name, conv);
            if (!same)
                show_diff(want, wl, got, gl);
            ok += same;
        }
        aios_free(want);
        aios_free(got);
    }
    fprintf(stderr, "%d of %zu renders identical\n", ok, json_array_size(list));
    json_decref(index);
}

/* The context aios_chat_context_build makes from conversations.json for
 * template `name` (its bos/eos from index.json). */
static json_t *build_context(json_t *index, json_t *convs, const char *name, const char *conv)
{
    const char *bos = NULL, *eos = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(index, "templates"), i, t)
    {
        const char *file = json_string_value(json_object_get(t, "file"));
        if (file && strstr(file, name) &&
            strlen(file) == strlen(name) + strlen("templates/.jinja")) {
            bos = json_string_value(json_object_get(t, "bos_token"));
            eos = json_string_value(json_object_get(t, "eos_token"));
        }
    }
    json_t *c;
    json_array_foreach(convs, i, c)
    {
        const char *cn = json_string_value(json_object_get(c, "name"));
        if (!cn || strcmp(cn, conv) != 0)
            continue;
        json_t *ctx = NULL;
        struct aios_err err;
        int rc = aios_chat_context_build(
            json_object_get(c, "messages"), json_object_get(c, "tools"),
            json_is_true(json_object_get(c, "add_generation_prompt")), bos, eos, &ctx, &err);
        CHECK_MSG(rc == AIOS_OK, "%s: %s", conv, err.msg);
        return ctx;
    }
    return NULL;
}

/* aios_chat_context_build prepares messages as llama.cpp's chat layer does:
 * its result must equal every stored input context. */
static void test_context_build(void)
{
    json_t *index = load_json("index.json"), *convs = load_json("conversations.json");
    CHECK(index && convs);
    size_t i;
    json_t *r;
    int same = 0;
    json_array_foreach(json_object_get(index, "rendered"), i, r)
    {
        const char *name = json_string_value(json_object_get(r, "template"));
        const char *conv = json_string_value(json_object_get(r, "conversation"));
        json_t *want = load_json(json_string_value(json_object_get(r, "input")));
        json_t *got = build_context(index, convs, name, conv);
        bool eq = want && got && json_equal(want, got);
        CHECK_MSG(eq, "%s x %s: built context differs from the stored input", name, conv);
        same += eq;
        json_decref(want);
        json_decref(got);
    }
    fprintf(stderr, "%d contexts identical\n", same);
    json_decref(index);
    json_decref(convs);
}

static void test_rejections(void)
{
    json_t *index = load_json("index.json"), *convs = load_json("conversations.json");
    CHECK(index && convs);
    if (!index || !convs)
        return;
    int64_t now = json_integer_value(json_object_get(index, "current_time_epoch"));
    json_t *list = json_object_get(index, "rejected");
    CHECK(json_array_size(list) >= 2);
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "template"));
        const char *conv = json_string_value(json_object_get(r, "conversation"));
        const char *want = json_string_value(json_object_get(r, "error"));
        char rel[1024];
        snprintf(rel, sizeof rel, "templates/%s.jinja", name);
        size_t len;
        char *src = slurp(rel, &len);
        json_t *ctx = build_context(index, convs, name, conv);
        CHECK(src && ctx);
        char *got = NULL;
        size_t gl = 0;
        struct aios_err err = {0};
        int rc =
            src && ctx ? aios_chat_template_render(src, len, ctx, now, &got, &gl, &err) : AIOS_EIO;
        CHECK_MSG(rc == AIOS_EINVAL, "%s x %s: rc %d, want a raised exception", name, conv, rc);
        CHECK(got == NULL);
        /* llama.cpp's text ends with "Jinja Exception: <the message>" and names
         * the line of the raise_exception call */
        const char *msg = strstr(want, "Jinja Exception: ");
        CHECK(msg != NULL);
        if (msg)
            CHECK_MSG(strstr(err.msg, msg + 17) != NULL, "%s: '%s' lacks '%s'", name, err.msg,
                      msg + 17);
        const char *at = strstr(want, "at line ");
        int want_line = at ? (int)strtol(at + 8, NULL, 10) : -1;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "template line %d: ", want_line);
        CHECK_MSG(strncmp(err.msg, prefix, strlen(prefix)) == 0, "'%s' does not start '%s'",
                  err.msg, prefix);
        aios_free(got);
        aios_free(src);
        json_decref(ctx);
    }
    json_decref(index);
    json_decref(convs);
}

int main(void)
{
    snprintf(fixdir, sizeof fixdir, "%s/chat", test_fixtures());
    TEST_RUN(test_renders);
    TEST_RUN(test_context_build);
    TEST_RUN(test_rejections);
    TEST_EXIT();
}
