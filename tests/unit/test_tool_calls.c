/*
 * Tests of tool-call parsing (aios_tool_calls_parse in llm_guide.h): each
 * model format, several calls, text around calls, malformed output returned
 * as content, unicode, and name checks against the request's tools.
 */
#include "llm/llm.h"
#include "test.h"

struct out {
    int rc;
    json_t *calls;
    char *content;
};

static struct out parse(const char *text, const char *tools_json)
{
    struct out o = {0};
    json_t *tools = tools_json ? json_loads(tools_json, 0, NULL) : NULL;
    struct aios_err err = {0};
    o.rc = aios_tool_calls_parse_for(text, strlen(text), tools, &o.calls, &o.content, &err);
    json_decref(tools);
    return o;
}

static void done(struct out *o)
{
    json_decref(o->calls);
    aios_free(o->content);
}

/* Call i has this name and these arguments (compared as JSON). */
static bool call_is(const struct out *o, size_t i, const char *name, const char *args_json)
{
    const json_t *c = json_array_get(o->calls, i);
    const json_t *f = json_object_get(c, "function");
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *type = json_string_value(json_object_get(c, "type"));
    const char *n = json_string_value(json_object_get(f, "name"));
    const char *a = json_string_value(json_object_get(f, "arguments"));
    if (!id || strncmp(id, "call_", 5) != 0 || strlen(id) != 29 || !type ||
        strcmp(type, "function") != 0 || !n || strcmp(n, name) != 0 || !a)
        return false;
    json_t *got = json_loads(a, 0, NULL), *want = json_loads(args_json, 0, NULL);
    bool eq = got && want && json_equal(got, want);
    json_decref(got);
    json_decref(want);
    return eq;
}

/* Not a tool call: no calls, the whole text as content. */
static void check_plain(const char *text, const char *tools)
{
    struct out o = parse(text, tools);
    CHECK_EQ_INT(o.rc, AIOS_OK);
    CHECK_MSG(o.calls == NULL, "should not be a call: %s", text);
    CHECK_EQ_STR(o.content, text);
    done(&o);
}

static void test_hermes(void)
{
    struct out o = parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
                         "\"Paris\"}}\n</tool_call>",
                         NULL);
    CHECK_EQ_INT(o.rc, AIOS_OK);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "get_weather", "{\"city\":\"Paris\"}"));
    CHECK(o.content == NULL);
    done(&o);

    /* several, with text before and between; the last one unclosed */
    o = parse("Let me check.\n<tool_call>{\"name\":\"a\",\"arguments\":{\"x\":1}}</tool_call>\n"
              "and\n<tool_call>{\"name\":\"b\",\"arguments\":\"{\\\"y\\\": [2]}\"}",
              NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 2);
    CHECK(call_is(&o, 0, "a", "{\"x\":1}"));
    CHECK(call_is(&o, 1, "b", "{\"y\":[2]}"));
    CHECK_EQ_STR(o.content, "Let me check.\nand");
    /* ids differ */
    const char *id0 = json_string_value(json_object_get(json_array_get(o.calls, 0), "id"));
    const char *id1 = json_string_value(json_object_get(json_array_get(o.calls, 1), "id"));
    CHECK(id0 && id1 && strcmp(id0, id1) != 0);
    done(&o);

    /* no arguments: {} */
    o = parse("<tool_call>{\"name\":\"now\"}</tool_call>", NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "now", "{}"));
    done(&o);

    /* malformed: the whole text comes back */
    check_plain("<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": </tool_call>", NULL);
    check_plain("<tool_call>{\"arguments\": {}}</tool_call>", NULL);
    check_plain("<tool_call>{\"name\": 5, \"arguments\": {}}</tool_call>", NULL);
    check_plain("<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", NULL);
    check_plain("<tool_call>{\"name\": \"a\", \"arguments\": \"not json\"}</tool_call>", NULL);
    check_plain("<tool_call>{\"name\":\"a\"}</tool_call><tool_call>oops</tool_call>", NULL);
    check_plain("<tool_call></tool_call>", NULL);
}

static void test_llama(void)
{
    struct out o = parse("<|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"cpu "
                         "load\"}}",
                         NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "search", "{\"q\":\"cpu load\"}"));
    CHECK(o.content == NULL);
    done(&o);

    o = parse("{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": "
              "{\"n\": 1}}",
              NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 2);
    CHECK(call_is(&o, 0, "a", "{}"));
    CHECK(call_is(&o, 1, "b", "{\"n\":1}"));
    done(&o);

    check_plain("<|python_tag|>print(1)", NULL);
    check_plain("<|python_tag|>{\"name\": \"a\", \"parameters\": {}} trailing", NULL);
}

static void test_mistral(void)
{
    struct out o = parse("[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"k\": \"v\"}}, "
                         "{\"name\": \"b\", \"arguments\": {}}]",
                         NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 2);
    CHECK(call_is(&o, 0, "a", "{\"k\":\"v\"}"));
    CHECK(call_is(&o, 1, "b", "{}"));
    CHECK(o.content == NULL);
    done(&o);

    o = parse("[TOOL_CALLS]get_time[ARGS]{\"zone\": 8}[TOOL_CALLS]ping[ARGS]{}", NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 2);
    CHECK(call_is(&o, 0, "get_time", "{\"zone\":8}"));
    CHECK(call_is(&o, 1, "ping", "{}"));
    done(&o);

    check_plain("[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"k\": }]", NULL);
    check_plain("[TOOL_CALLS] hello", NULL);
}

static void test_plain_json(void)
{
    struct out o = parse("  {\"name\": \"restart\", \"arguments\": {\"svc\": \"nginx\"}}\n", NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "restart", "{\"svc\":\"nginx\"}"));
    CHECK(o.content == NULL);
    done(&o);

    o = parse("[{\"name\": \"a\", \"arguments\": {}}, {\"function\": {\"name\": \"b\", "
              "\"arguments\": \"{}\"}}]",
              NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 2);
    CHECK(call_is(&o, 1, "b", "{}"));
    done(&o);

    o = parse("Here:\n```json\n{\"tool_calls\": [{\"name\": \"x\", \"arguments\": {\"n\": "
              "null}}]}\n```\nDone.",
              NULL);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "x", "{\"n\":null}"));
    CHECK_EQ_STR(o.content, "Here:\nDone.");
    done(&o);

    /* answers that merely look like JSON stay content */
    check_plain("{\"name\": \"Bob\", \"age\": 3}", NULL);
    check_plain("{\"name\": \"a\", \"arguments\": {}", NULL);
    check_plain("[]", NULL);
    check_plain("[1, 2]", NULL);
    check_plain("The disk is full.", NULL);
    check_plain("", NULL);
}

static const char *tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                           "\"parameters\":{\"type\":\"object\"}}},"
                           "{\"type\":\"function\",\"function\":{\"name\":\"查询\"}}]";

static void test_glm_and_tools(void)
{
    struct out o = parse("get_weather\n{\"city\": \"北京\"}", tools);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "get_weather", "{\"city\":\"北京\"}"));
    CHECK(o.content == NULL);
    done(&o);

    /* unicode names and arguments survive */
    o = parse("<tool_call>{\"name\": \"查询\", \"arguments\": {\"主机\": \"db-01 ✓\"}}</tool_call>",
              tools);
    CHECK_EQ_INT(json_array_size(o.calls), 1);
    CHECK(call_is(&o, 0, "查询", "{\"主机\":\"db-01 ✓\"}"));
    done(&o);

    /* GLM form only with tools; unknown names are content */
    check_plain("get_weather\n{\"city\": \"x\"}", NULL);
    check_plain("other\n{\"city\": \"x\"}", tools);
    check_plain("<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>", tools);
    check_plain("get_weather\n{\"city\": \"x\"} and more", tools);

    /* invalid UTF-8 inside the JSON is malformed output, not an error */
    check_plain("<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"c\": \"\xff\"}}"
                "</tool_call>",
                tools);
}

static void test_args(void)
{
    json_t *calls = (json_t *)1;
    char *content = (char *)1;
    CHECK_EQ_INT(aios_tool_calls_parse(NULL, 3, &calls, &content, NULL), AIOS_EINVAL);
    CHECK_EQ_INT(aios_tool_calls_parse("x", 1, NULL, &content, NULL), AIOS_EINVAL);
    /* length, not NUL, bounds the text */
    CHECK_EQ_INT(
        aios_tool_calls_parse("{\"name\":\"a\",\"arguments\":{}}XYZ", 27, &calls, &content, NULL),
        AIOS_OK);
    CHECK_EQ_INT(json_array_size(calls), 1);
    CHECK(content == NULL);
    json_decref(calls);
    /* the call limit keeps the text as content */
    struct aios_buf b;
    aios_buf_init(&b, 0);
    for (int i = 0; i < 65; i++)
        aios_buf_puts(&b, "<tool_call>{\"name\":\"a\"}</tool_call>");
    CHECK_EQ_INT(aios_tool_calls_parse(b.data, b.len, &calls, &content, NULL), AIOS_OK);
    CHECK(calls == NULL);
    CHECK(content && strlen(content) == b.len);
    aios_free(content);
    aios_buf_free(&b);
}

int main(void)
{
    TEST_RUN(test_hermes);
    TEST_RUN(test_llama);
    TEST_RUN(test_mistral);
    TEST_RUN(test_plain_json);
    TEST_RUN(test_glm_and_tools);
    TEST_RUN(test_args);
    TEST_EXIT();
}
