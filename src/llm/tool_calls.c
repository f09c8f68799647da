/*
 * Tool-call parsing: turns what a model wrote, when a request offered tools,
 * into OpenAI-shaped tool_calls plus the remaining content
 * (aios_tool_calls_parse in llm_guide.h).
 *
 * Formats, tried in this order (the first whose marker appears decides):
 *   Hermes / Qwen2.5   <tool_call>{json}</tool_call>, one or more; a last
 *                      block cut off before its closing tag still counts
 *   Mistral            [TOOL_CALLS] followed by a JSON array or object, or
 *                      by name[ARGS]{json} (newer tokenizers)
 *   Llama 3.1 / 3.2    <|python_tag|> followed by JSON objects separated by
 *                      ';' or whitespace
 *   plain JSON         the whole text (or a ```json fence) is a call, an
 *                      array of calls, or {"tool_calls": [...]}
 *   GLM-4              first line a tool's name, the rest its JSON arguments
 *                      (only with the request's tools, to avoid false hits)
 * A call is an object with "name" and "arguments" (or "parameters"), or
 * {"function": {...}} around them. Arguments may be an object or a string
 * holding a JSON object; they are re-serialised compactly.
 *
 * Anything that does not fit (broken JSON, no name, unknown tool) leaves the
 * whole text as content: model output is never an error here.
 */
#include "llm/llm.h"

#include <string.h>

#define MAX_CALLS 64

static const char HERMES_OPEN[] = "<tool_call>";
static const char HERMES_CLOSE[] = "</tool_call>";
static const char MISTRAL_TAG[] = "[TOOL_CALLS]";
static const char MISTRAL_ARGS[] = "[ARGS]";
static const char PYTHON_TAG[] = "<|python_tag|>";

/* Status of a parse attempt: recognised, not this format, or out of memory. */
enum { P_OK = 0, P_NO = 1, P_NOMEM = 2 };

static const char *find(const char *s, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    if ((size_t)(end - s) < n)
        return NULL;
    return memmem(s, (size_t)(end - s), needle, n);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b))
        (*b)++;
    while (*e > *b && is_space((*e)[-1]))
        (*e)--;
}

/* ---- ids ------------------------------------------------------------------ */

static void make_id(char out[32])
{
    static uint64_t prefix;
    static uint64_t counter;
    uint64_t p = __atomic_load_n(&prefix, __ATOMIC_RELAXED);
    if (p == 0) {
        uint64_t t = aios_time_ns() ^ ((uint64_t)aios_wall_ms() << 20);
        p = aios_hash_fnv1a(&t, sizeof t) | 1;
        uint64_t expect = 0;
        if (!__atomic_compare_exchange_n(&prefix, &expect, p, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            p = expect;
    }
    uint64_t n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    snprintf(out, 32, "call_%08x%016llx", (unsigned)(p >> 32), (unsigned long long)n);
}

/* ---- one call -------------------------------------------------------------- */

static bool name_allowed(const json_t *tools, const char *name)
{
    if (!tools || json_array_size(tools) == 0)
        return true;
    for (size_t i = 0; i < json_array_size(tools); i++) {
        const json_t *t = json_array_get(tools, i);
        const json_t *f = json_object_get(t, "function");
        const char *n = json_string_value(json_object_get(f ? f : t, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Appends the OpenAI form of call (name, args) to out. P_NO when the
 * arguments are not an object (or a string holding one). */
static int add_call(json_t *out, const char *name, const json_t *args, const json_t *tools)
{
    if (!name || !*name || !name_allowed(tools, name) || json_array_size(out) >= MAX_CALLS)
        return P_NO;
    char *text = NULL;
    if (!args || json_is_null(args)) {
        text = aios_strdup("{}");
    } else if (json_is_object(args)) {
        text = aios_json_dumps(args, JSON_COMPACT);
    } else if (json_is_string(args)) {
        json_t *inner = json_loadb(json_string_value(args), json_string_length(args), 0, NULL);
        bool ok = json_is_object(inner);
        if (ok)
            text = aios_json_dumps(inner, JSON_COMPACT);
        json_decref(inner);
        if (!ok)
            return P_NO;
    } else {
        return P_NO;
    }
    if (!text)
        return P_NOMEM;
    char id[32];
    make_id(id);
    json_t *c = json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", id, "type", "function", "function", "name",
                          name, "arguments", text);
    aios_free(text);
    if (!c || json_array_append_new(out, c) != 0)
        return P_NOMEM;
    return P_OK;
}

/* A call object in any of the accepted shapes. need_args: the object must
 * carry "arguments"/"parameters" (plain JSON, where an answer object could
 * otherwise pass for a call). */
static int add_call_obj(json_t *out, const json_t *o, const json_t *tools, bool need_args)
{
    if (!json_is_object(o))
        return P_NO;
    const json_t *f = json_object_get(o, "function");
    if (json_is_object(f))
        o = f;
    const json_t *name = json_object_get(o, "name");
    const json_t *args = json_object_get(o, "arguments");
    if (!args)
        args = json_object_get(o, "parameters");
    if (!json_is_string(name) || (need_args && !args))
        return P_NO;
    return add_call(out, json_string_value(name), args, tools);
}

/* A parsed value: one call, or an array of them. */
static int add_calls_value(json_t *out, const json_t *v, const json_t *tools, bool need_args)
{
    if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            return P_NO;
        for (size_t i = 0; i < json_array_size(v); i++) {
            int rc = add_call_obj(out, json_array_get(v, i), tools, need_args);
            if (rc)
                return rc;
        }
        return P_OK;
    }
    const json_t *tc = json_is_object(v) ? json_object_get(v, "tool_calls") : NULL;
    if (json_is_array(tc) && json_object_size(v) == 1)
        return add_calls_value(out, tc, tools, need_args);
    return add_call_obj(out, v, tools, need_args);
}

/* Parses one JSON value at p; *next: the byte after it. */
static json_t *parse_at(const char *p, const char *end, const char **next)
{
    json_error_t e;
    json_t *v = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK, &e);
    if (v)
        *next = p + e.position;
    return v;
}

/* One or more call values from p to end, separated by whitespace, ';' or
 * ','; nothing else may follow. */
static int calls_seq(json_t *out, const char *p, const char *end, const json_t *tools,
                     bool need_args)
{
    int n = 0;
    for (;;) {
        while (p < end && (is_space(*p) || *p == ';' || (*p == ',' && n > 0)))
            p++;
        if (p >= end)
            return n ? P_OK : P_NO;
        if (*p != '{' && *p != '[')
            return P_NO;
        const char *next;
        json_t *v = parse_at(p, end, &next);
        if (!v)
            return P_NO;
        int rc = add_calls_value(out, v, tools, need_args);
        json_decref(v);
        if (rc)
            return rc;
        n++;
        p = next;
    }
}

/* ---- formats --------------------------------------------------------------- */

struct res {
    json_t *calls;
    struct aios_buf content;
};

static int content_add(struct res *r, const char *b, const char *e)
{
    trim(&b, &e);
    if (b == e)
        return P_OK;
    if (r->content.len && aios_buf_putc(&r->content, '\n'))
        return P_NOMEM;
    return aios_buf_append(&r->content, b, (size_t)(e - b)) ? P_NOMEM : P_OK;
}

static int parse_hermes(struct res *r, const char *s, const char *end, const json_t *tools)
{
    const char *p = s;
    const char *open;
    while ((open = find(p, end, HERMES_OPEN))) {
        int rc = content_add(r, p, open);
        if (rc)
            return rc;
        const char *body = open + strlen(HERMES_OPEN);
        const char *close = find(body, end, HERMES_CLOSE);
        const char *bend = close ? close : end;
        /* a fenced body (```json ... ```) is read inside the fence */
        const char *b = body, *e = bend;
        trim(&b, &e);
        if (e - b >= 6 && memcmp(b, "```", 3) == 0 && memcmp(e - 3, "```", 3) == 0) {
            b += 3;
            while (b < e && *b != '\n')
                b++;
            e -= 3;
        }
        rc = calls_seq(r->calls, b, e, tools, false);
        if (rc)
            return rc;
        p = close ? close + strlen(HERMES_CLOSE) : end;
    }
    return content_add(r, p, end);
}

static bool starts_with(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

static int parse_mistral(struct res *r, const char *s, const char *end, const json_t *tools)
{
    const char *p = find(s, end, MISTRAL_TAG);
    int rc = content_add(r, s, p);
    if (rc)
        return rc;
    /* one or more [TOOL_CALLS] groups; text after the last is content */
    while (starts_with(p, end, MISTRAL_TAG)) {
        const char *q = skip_ws(p + strlen(MISTRAL_TAG), end);
        const char *next;
        json_t *v;
        if (q < end && (*q == '[' || *q == '{')) {
            if (!(v = parse_at(q, end, &next)))
                return P_NO;
            rc = add_calls_value(r->calls, v, tools, false);
        } else {
            /* name[ARGS]{json} */
            const char *a = find(q, end, MISTRAL_ARGS);
            if (!a || a == q || a - q > 256)
                return P_NO;
            char name[257];
            memcpy(name, q, (size_t)(a - q));
            name[a - q] = 0;
            if (!(v = parse_at(a + strlen(MISTRAL_ARGS), end, &next)))
                return P_NO;
            rc = add_call(r->calls, name, v, tools);
        }
        json_decref(v);
        if (rc)
            return rc;
        p = skip_ws(next, end);
    }
    return content_add(r, p, end);
}

static int parse_python_tag(struct res *r, const char *s, const char *end, const json_t *tools)
{
    const char *tag = find(s, end, PYTHON_TAG);
    int rc = content_add(r, s, tag);
    if (rc)
        return rc;
    return calls_seq(r->calls, tag + strlen(PYTHON_TAG), end, tools, false);
}

static int parse_plain(struct res *r, const char *s, const char *end, const json_t *tools)
{
    const char *b = s, *e = end;
    trim(&b, &e);
    const char *pre = b;
    /* ```json ... ``` (text before the fence is content) */
    const char *fence = find(b, e, "```");
    if (fence && (fence == b || (*b != '{' && *b != '['))) {
        const char *body = fence + 3;
        while (body < e && *body != '\n')
            body++;
        const char *fend = find(body, e, "```");
        if (!fend)
            return P_NO;
        int rc = content_add(r, pre, fence);
        if (rc)
            return rc;
        rc = calls_seq(r->calls, body, fend, tools, true);
        if (rc)
            return rc;
        return content_add(r, fend + 3, e);
    }
    if (b == e || (*b != '{' && *b != '['))
        return P_NO;
    return calls_seq(r->calls, b, e, tools, true);
}

static int parse_glm(struct res *r, const char *s, const char *end, const json_t *tools)
{
    const char *b = s, *e = end;
    trim(&b, &e);
    const char *nl = memchr(b, '\n', (size_t)(e - b));
    if (!nl || nl - b > 256 || nl == b)
        return P_NO;
    const char *ne = nl;
    while (ne > b && is_space(ne[-1]))
        ne--;
    char name[257];
    memcpy(name, b, (size_t)(ne - b));
    name[ne - b] = 0;
    if (!name_allowed(tools, name))
        return P_NO;
    const char *p = skip_ws(nl, e);
    if (p >= e || *p != '{')
        return P_NO;
    const char *next;
    json_t *v = parse_at(p, e, &next);
    if (!v)
        return P_NO;
    int rc = skip_ws(next, e) == e ? add_call(r->calls, name, v, tools) : P_NO;
    json_decref(v);
    return rc;
}

int aios_tool_calls_parse_for(const char *text, size_t len, const json_t *tools,
                              json_t **tool_calls, char **content, struct aios_err *err)
{
    if (!tool_calls || !content || (!text && len))
        return aios_err_set(err, AIOS_EINVAL, "tool calls: NULL argument");
    *tool_calls = NULL;
    *content = NULL;
    if (tools && !json_is_array(tools))
        tools = NULL;
    const char *s = text ? text : "", *end = s + len;
    int (*fmt)(struct res *, const char *, const char *, const json_t *) = NULL;
    if (find(s, end, HERMES_OPEN))
        fmt = parse_hermes;
    else if (find(s, end, MISTRAL_TAG))
        fmt = parse_mistral;
    else if (find(s, end, PYTHON_TAG))
        fmt = parse_python_tag;
    int rc = P_NO;
    struct res r = {0};
    aios_buf_init(&r.content, len + 16);
    if (fmt || len > 0) {
        r.calls = json_array();
        if (!r.calls)
            rc = P_NOMEM;
        else if (fmt)
            rc = fmt(&r, s, end, tools);
        else if ((rc = parse_plain(&r, s, end, tools)) == P_NO && tools &&
                 json_array_size(tools) > 0) {
            json_array_clear(r.calls);
            aios_buf_reset(&r.content);
            rc = parse_glm(&r, s, end, tools);
        }
    }
    if (rc == P_OK && json_array_size(r.calls) > 0) {
        *tool_calls = r.calls;
        *content = r.content.len ? aios_buf_detach(&r.content) : NULL;
        aios_buf_free(&r.content);
        return AIOS_OK;
    }
    json_decref(r.calls);
    aios_buf_free(&r.content);
    if (rc == P_NOMEM)
        return aios_err_set(err, AIOS_ENOMEM, "tool calls: out of memory");
    *content = aios_strndup(s, len);
    if (!*content)
        return aios_err_set(err, AIOS_ENOMEM, "tool calls: out of memory");
    return AIOS_OK;
}

int aios_tool_calls_parse(const char *text, size_t len, json_t **tool_calls, char **content,
                          struct aios_err *err)
{
    return aios_tool_calls_parse_for(text, len, NULL, tool_calls, content, err);
}
