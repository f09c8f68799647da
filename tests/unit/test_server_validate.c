/* Request validation: every invalid body is a 400 naming the field (param)
 * and the kind of fault (code); valid bodies come out as the parsed struct
 * the backend receives, with OpenAI's defaults. Cases are a data table. */
#include "server/server.h"
#include "test.h"

struct vcase {
    enum aios_server_req_kind kind;
    const char *body;
    int http;
    const char *param; /* "" = null */
    const char *code;
};

#define CHAT AIOS_SERVER_REQ_CHAT
#define CMPL AIOS_SERVER_REQ_COMPLETION
#define M "\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define P "\"model\":\"m\",\"prompt\":\"hi\""

static const struct vcase cases[] = {
    {CHAT, "{\"messages\":[]}", 400, "model", "missing_required_parameter"},
    {CHAT, "{\"model\":null," M "}", 400, "", NULL}, /* duplicate key: rejected by the parser */
    {CHAT, "{\"model\":[1]}", 400, "model", "invalid_type"},
    {CHAT, "{\"model\":\"m\"}", 400, "messages", "missing_required_parameter"},
    {CHAT, "{\"model\":\"m\",\"messages\":{}}", 400, "messages", "invalid_type"},
    {CHAT, "{\"model\":\"m\",\"messages\":[]}", 400, "messages", "invalid_value"},
    {CHAT, "{\"model\":\"m\",\"messages\":[3]}", 400, "messages[0]", "invalid_type"},
    {CHAT, "{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}", 400, "messages[0].role",
     "missing_required_parameter"},
    {CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", 400, "messages[0].content",
     "missing_required_parameter"},
    {CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
     400, "messages[0].content[0].text", "missing_required_parameter"},
    {CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"42\"}]}", 400,
     "messages[0].tool_call_id", "missing_required_parameter"},
    {CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]}]}",
     400, "messages[0].tool_calls", "invalid_value"},
    {CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\","
     "\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}]}",
     400, "messages[0].tool_calls[0].function.arguments", "missing_required_parameter"},
    {CHAT, "{" M ",\"temperature\":2.5}", 400, "temperature", "decimal_above_max_value"},
    {CHAT, "{" M ",\"temperature\":true}", 400, "temperature", "invalid_type"},
    {CHAT, "{" M ",\"top_p\":1.01}", 400, "top_p", "decimal_above_max_value"},
    {CHAT, "{" M ",\"presence_penalty\":-3}", 400, "presence_penalty", "decimal_below_min_value"},
    {CHAT, "{" M ",\"frequency_penalty\":\"1\"}", 400, "frequency_penalty", "invalid_type"},
    {CHAT, "{" M ",\"max_tokens\":-1}", 400, "max_tokens", "integer_below_min_value"},
    {CHAT, "{" M ",\"max_completion_tokens\":\"9\"}", 400, "max_completion_tokens", "invalid_type"},
    {CHAT, "{" M ",\"n\":0}", 400, "n", "integer_below_min_value"},
    {CHAT, "{" M ",\"n\":17}", 400, "n", "integer_above_max_value"},
    {CHAT, "{" M ",\"seed\":1.5}", 400, "seed", "invalid_type"},
    {CHAT, "{" M ",\"top_k\":0}", 400, "top_k", "invalid_value"},
    {CHAT, "{" M ",\"stop\":5}", 400, "stop", "invalid_type"},
    {CHAT, "{" M ",\"stop\":[\"\"]}", 400, "stop[0]", "invalid_value"},
    {CHAT, "{" M ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop", "invalid_value"},
    {CHAT, "{" M ",\"stream\":1}", 400, "stream", "invalid_type"},
    {CHAT, "{" M ",\"stream_options\":{}}", 400, "stream_options", "invalid_value"},
    {CHAT, "{" M ",\"stream\":true,\"stream_options\":[]}", 400, "stream_options", "invalid_type"},
    {CHAT, "{" M ",\"logprobs\":3}", 400, "logprobs", "invalid_type"},
    {CHAT, "{" M ",\"top_logprobs\":2}", 400, "top_logprobs", "invalid_value"},
    {CHAT, "{" M ",\"logprobs\":true,\"top_logprobs\":-1}", 400, "top_logprobs",
     "integer_below_min_value"},
    {CHAT, "{" M ",\"logit_bias\":{\"abc\":1}}", 400, "logit_bias.abc", "invalid_value"},
    {CHAT, "{" M ",\"logit_bias\":{\"12\":101}}", 400, "logit_bias.12", "decimal_above_max_value"},
    {CHAT, "{" M ",\"response_format\":\"json\"}", 400, "response_format", "invalid_type"},
    {CHAT, "{" M ",\"response_format\":{\"type\":\"json_schema\"}}", 400,
     "response_format.json_schema", "missing_required_parameter"},
    {CHAT,
     "{" M ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\","
     "\"schema\":[]}}}",
     400, "response_format.json_schema.schema", "invalid_type"},
    {CHAT, "{" M ",\"tools\":{}}", 400, "tools", "invalid_type"},
    {CHAT, "{" M ",\"tools\":[{\"type\":\"retrieval\"}]}", 400, "tools[0].type", "invalid_value"},
    {CHAT, "{" M ",\"tools\":[{\"type\":\"function\"}]}", 400, "tools[0].function",
     "missing_required_parameter"},
    {CHAT,
     "{" M ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":1}}]}",
     400, "tools[0].function.parameters", "invalid_type"},
    {CHAT, "{" M ",\"tool_choice\":\"auto\"}", 400, "tool_choice", "invalid_value"},
    {CHAT, "{" M ",\"tool_choice\":\"sometimes\"}", 400, "tool_choice", "invalid_value"},
    {CHAT, "{" M ",\"parallel_tool_calls\":\"yes\"}", 400, "parallel_tool_calls", "invalid_type"},
    {CHAT, "{" M ",\"user\":5}", 400, "user", "invalid_type"},
    {CMPL, "{\"model\":\"m\"}", 400, "prompt", "missing_required_parameter"},
    {CMPL, "{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}", 400, "prompt", "invalid_value"},
    {CMPL, "{\"model\":\"m\",\"prompt\":[1,\"b\"]}", 400, "prompt[1]", "invalid_type"},
    {CMPL, "{\"model\":\"m\",\"prompt\":[1,-2]}", 400, "prompt[1]", "integer_below_min_value"},
    {CMPL, "{\"model\":\"m\",\"prompt\":[[1,true]]}", 400, "prompt[0][1]", "invalid_type"},
    {CMPL, "{" P ",\"logprobs\":true}", 400, "logprobs", "invalid_type"},
    {CMPL, "{" P ",\"logprobs\":6}", 400, "logprobs", "integer_above_max_value"},
    {CMPL, "{" P ",\"echo\":0}", 400, "echo", "invalid_type"},
    {CMPL, "{" P ",\"suffix\":[]}", 400, "suffix", "invalid_type"},
};

static void test_rejections(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct vcase *c = &cases[i];
        json_t *body = NULL;
        struct aios_err err;
        struct aios_server_apierr e = {0};
        aios_arena *a = aios_arena_create(4096, 1 << 20);
        int rc;
        if (aios_json_parse(c->body, strlen(c->body), 1 << 20, &body, &err) != AIOS_OK) {
            rc = 400; /* the HTTP layer answers unparsable bodies itself */
            e.param[0] = 0;
            e.code = NULL;
        } else {
            struct aios_server_gen_request req;
            rc = aios_server_gen_request_parse(c->kind, body, a, &req, &e);
        }
        CHECK_MSG(rc == c->http, "case %zu (%s): http %d", i, c->body, rc);
        CHECK_MSG(strcmp(e.param, c->param) == 0, "case %zu (%s): param '%s', want '%s' (%s)", i,
                  c->body, e.param, c->param, e.message);
        CHECK_MSG((e.code == NULL && c->code == NULL) ||
                      (e.code && c->code && strcmp(e.code, c->code) == 0),
                  "case %zu (%s): code %s, want %s", i, c->body, e.code ? e.code : "null",
                  c->code ? c->code : "null");
        if (rc == 400 && body)
            CHECK_MSG(e.message[0] && strstr(e.message, c->param), "case %zu: message '%s'", i,
                      e.message);
        json_decref(body);
        aios_arena_destroy(a);
    }
}

static int parse(enum aios_server_req_kind kind, const char *text, json_t **body, aios_arena *a,
                 struct aios_server_gen_request *req, struct aios_server_apierr *e)
{
    struct aios_err err;
    if (aios_json_parse(text, strlen(text), 1 << 20, body, &err) != AIOS_OK)
        return -1;
    return aios_server_gen_request_parse(kind, *body, a, req, e);
}

static void test_chat_parsed(void)
{
    const char *text =
        "{\"model\":\"qwen\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"You are an SRE.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"disk\"},"
        "{\"type\":\"text\",\"text\":\"full\"}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
        "\"function\",\"function\":{\"name\":\"df\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"/var 100%\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"df\"}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"df\"}},"
        "\"temperature\":0,\"top_p\":0.9,\"max_completion_tokens\":64,\"seed\":-7,"
        "\"stop\":\"\\n\\n\",\"n\":2,\"logprobs\":true,\"top_logprobs\":5,"
        "\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"answer\","
        "\"schema\":{\"type\":\"object\"}}},\"some_future_field\":1}";
    json_t *body = NULL;
    aios_arena *a = aios_arena_create(4096, 1 << 20);
    struct aios_server_gen_request r;
    struct aios_server_apierr e = {0};
    CHECK_EQ_INT(parse(CHAT, text, &body, a, &r, &e), 0);
    if (e.message[0])
        fprintf(stderr, "%s\n", e.message);
    CHECK_EQ_STR(r.model, "qwen");
    CHECK_EQ_INT(r.n_messages, 4);
    CHECK_EQ_STR(r.messages[1].content, "disk\nfull");
    CHECK(r.messages[2].content == NULL && json_array_size(r.messages[2].tool_calls) == 1);
    CHECK_EQ_STR(r.messages[3].tool_call_id, "c1");
    CHECK(json_array_size(r.tools) == 1 && json_is_object(r.tool_choice));
    CHECK_NEAR(r.temperature, 0, 0);
    CHECK_NEAR(r.top_p, 0.9, 0);
    CHECK_EQ_INT(r.max_tokens, 64);
    CHECK(r.has_seed && r.seed == -7);
    CHECK(r.n_stop == 1 && strcmp(r.stop[0], "\n\n") == 0);
    CHECK_EQ_INT(r.n, 2);
    CHECK(r.logprobs && r.top_logprobs == 5);
    CHECK(r.stream && r.include_usage);
    CHECK(r.format == AIOS_SERVER_FORMAT_JSON_SCHEMA && json_is_object(r.json_schema));
    json_decref(body);

    /* Defaults. */
    body = NULL;
    CHECK_EQ_INT(parse(CHAT, "{" M "}", &body, a, &r, &e), 0);
    CHECK_EQ_INT(r.max_tokens, -1);
    CHECK_NEAR(r.temperature, 1, 0);
    CHECK_NEAR(r.top_p, 1, 0);
    CHECK_EQ_INT(r.top_k, -1);
    CHECK_EQ_INT(r.n, 1);
    CHECK(!r.stream && !r.has_seed && r.n_stop == 0 && r.parallel_tool_calls);
    CHECK(r.format == AIOS_SERVER_FORMAT_TEXT && r.tools == NULL);
    json_decref(body);
    aios_arena_destroy(a);
}

static void test_completion_parsed(void)
{
    json_t *body = NULL;
    aios_arena *a = aios_arena_create(4096, 1 << 20);
    struct aios_server_gen_request r;
    struct aios_server_apierr e = {0};
    CHECK_EQ_INT(parse(CMPL,
                       "{\"model\":\"m\",\"prompt\":[[5,6,7]],\"echo\":true,\"logprobs\":2,"
                       "\"max_tokens\":3.0}",
                       &body, a, &r, &e),
                 0);
    CHECK(r.prompt == NULL && r.n_prompt_tokens == 3 && r.prompt_tokens[2] == 7);
    CHECK(r.echo && r.logprobs && r.top_logprobs == 2);
    CHECK_EQ_INT(r.max_tokens, 3); /* 3.0 is an integer */
    json_decref(body);
    body = NULL;
    CHECK_EQ_INT(parse(CMPL, "{\"model\":\"m\",\"prompt\":[\"one\"]}", &body, a, &r, &e), 0);
    CHECK_EQ_STR(r.prompt, "one");
    CHECK(!r.logprobs);
    json_decref(body);
    aios_arena_destroy(a);
}

static void test_embeddings(void)
{
    struct {
        const char *body;
        int http;
        const char *param;
    } t[] = {
        {"{\"model\":\"e\",\"input\":\"x\"}", 0, ""},
        {"{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"encoding_format\":\"base64\"}", 0, ""},
        {"{\"model\":\"e\"}", 400, "input"},
        {"{\"model\":\"e\",\"input\":[]}", 400, "input"},
        {"{\"model\":\"e\",\"input\":[\"a\",\"\"]}", 400, "input[1]"},
        {"{\"model\":\"e\",\"input\":[[1,2]]}", 400, "input[0]"},
        {"{\"model\":\"e\",\"input\":5}", 400, "input"},
        {"{\"model\":\"e\",\"input\":\"x\",\"dimensions\":0}", 400, "dimensions"},
        {"{\"input\":\"x\"}", 400, "model"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *body = NULL;
        struct aios_err err;
        aios_arena *a = aios_arena_create(4096, 1 << 20);
        struct aios_server_embed_request q;
        struct aios_server_apierr e = {0};
        CHECK(aios_json_parse(t[i].body, strlen(t[i].body), 1 << 20, &body, &err) == AIOS_OK);
        int rc = aios_server_embed_request_parse(body, a, &q, &e);
        CHECK_MSG(rc == t[i].http, "%s: %d", t[i].body, rc);
        if (rc)
            CHECK_MSG(strcmp(e.param, t[i].param) == 0, "%s: param %s", t[i].body, e.param);
        if (i == 1)
            CHECK(q.n_inputs == 2 && q.base64 && strcmp(q.inputs[1], "b") == 0);
        json_decref(body);
        aios_arena_destroy(a);
    }
}

static void test_error_json(void)
{
    struct aios_server_apierr e;
    CHECK_EQ_INT(aios_server_apierr_set(&e, 404, "invalid_request_error", "model",
                                        "model_not_found", "The model '%s' does not exist", "x\""),
                 404);
    char *s = aios_server_apierr_json(&e);
    CHECK_EQ_STR(s, "{\"error\":{\"message\":\"The model 'x\\\"' does not exist\",\"type\":"
                    "\"invalid_request_error\",\"param\":\"model\",\"code\":\"model_not_found\"}}");
    aios_free(s);
    aios_server_apierr_set(&e, 500, "server_error", NULL, NULL, "boom");
    s = aios_server_apierr_json(&e);
    CHECK_EQ_STR(s, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,"
                    "\"code\":null}}");
    aios_free(s);
}

int main(void)
{
    TEST_RUN(test_rejections);
    TEST_RUN(test_chat_parsed);
    TEST_RUN(test_completion_parsed);
    TEST_RUN(test_embeddings);
    TEST_RUN(test_error_json);
    TEST_EXIT();
}
