/*
 * Validation of OpenAI request bodies into the structs the backend gets,
 * and OpenAI's error shape.
 *
 * Every rejection is a 400 whose `param` names the offending field with its
 * path ("messages[2].content", "stop[1]") and whose `code` says what was
 * wrong: missing_required_parameter, invalid_type, invalid_value,
 * integer_below_min_value / integer_above_max_value,
 * decimal_below_min_value / decimal_above_max_value. Fields the API has
 * but we do not know are ignored (clients such as LangChain send extras);
 * fields we know are checked strictly. Ranges are OpenAI's unless noted.
 */
#include "server/server.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_MESSAGES 4096
#define MAX_TOOLS 128
#define MAX_EMBED_INPUTS 2048
#define MAX_PROMPT_TOKENS (1 << 20)

int aios_server_apierr_set(struct aios_server_apierr *e, int http, const char *type,
                           const char *param, const char *code, const char *fmt, ...)
{
    e->http = http;
    e->type = type;
    e->code = code;
    aios_strlcpy(e->param, param ? param : "", sizeof e->param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return http;
}

char *aios_server_apierr_json(const struct aios_server_apierr *e)
{
    json_t *inner = json_pack("{s:s, s:s, s:o, s:o}", "message", e->message, "type",
                              e->type ? e->type : "invalid_request_error", "param",
                              e->param[0] ? json_string(e->param) : json_null(), "code",
                              e->code ? json_string(e->code) : json_null());
    json_t *outer = inner ? json_pack("{s:o}", "error", inner) : NULL;
    char *s = outer ? aios_json_dumps(outer, JSON_COMPACT) : NULL;
    json_decref(outer);
    return s;
}

/* ---- typed field access with OpenAI's messages ------------------------- */

const char *srv_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a decimal";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* param = prefix + key or prefix + [index]. */
static void join(char *out, size_t size, const char *prefix, const char *key, long index)
{
    if (key)
        snprintf(out, size, "%s%s%s", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "",
                 key);
    else
        snprintf(out, size, "%s[%ld]", prefix ? prefix : "", index);
}

static int bad_type(struct aios_server_apierr *e, const char *param, const char *want,
                    const json_t *got)
{
    return aios_server_apierr_set(e, 400, "invalid_request_error", param, "invalid_type",
                                  "Invalid type for '%s': expected %s, but got %s instead.", param,
                                  want, srv_json_type(got));
}

static int missing(struct aios_server_apierr *e, const char *param)
{
    return aios_server_apierr_set(e, 400, "invalid_request_error", param,
                                  "missing_required_parameter", "Missing required parameter: '%s'.",
                                  param);
}

static int bad_value(struct aios_server_apierr *e, const char *param, const char *why)
{
    return aios_server_apierr_set(e, 400, "invalid_request_error", param, "invalid_value",
                                  "Invalid value for '%s': %s", param, why);
}

static int out_of_range(struct aios_server_apierr *e, const char *param, double v, double lo,
                        double hi, bool integer)
{
    bool below = !(v >= lo);
    const char *code = integer ? (below ? "integer_below_min_value" : "integer_above_max_value")
                               : (below ? "decimal_below_min_value" : "decimal_above_max_value");
    return aios_server_apierr_set(
        e, 400, "invalid_request_error", param, code,
        "Invalid '%s': %s %s value. Expected a value %s %g, but got %g instead.", param,
        integer ? "integer" : "decimal", below ? "below minimum" : "above maximum",
        below ? ">=" : "<=", below ? lo : hi, v);
}

/* A present, non-null field, or NULL. */
static json_t *field(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int get_str(const json_t *obj, const char *prefix, const char *key, bool required,
                   const char **out, struct aios_server_apierr *e)
{
    char p[128];
    json_t *v = field(obj, key);
    join(p, sizeof p, prefix, key, 0);
    if (!v)
        return required ? missing(e, p) : 0;
    if (!json_is_string(v))
        return bad_type(e, p, "a string", v);
    *out = json_string_value(v);
    return 0;
}

static int get_bool(const json_t *obj, const char *key, bool *out, struct aios_server_apierr *e)
{
    json_t *v = field(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad_type(e, key, "a boolean", v);
    *out = json_is_true(v);
    return 0;
}

static int get_num(const json_t *obj, const char *key, double lo, double hi, double *out,
                   struct aios_server_apierr *e)
{
    json_t *v = field(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return bad_type(e, key, "a decimal", v);
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return out_of_range(e, key, d, lo, hi, false);
    *out = d;
    return 0;
}

static int get_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   bool *present, struct aios_server_apierr *e)
{
    json_t *v = field(obj, key);
    if (!v)
        return 0;
    int64_t i;
    if (json_is_integer(v)) {
        i = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        i = (int64_t)json_real_value(v); /* 3.0 is an integer to most clients */
    } else {
        return bad_type(e, key, "an integer", v);
    }
    if (i < lo || i > hi)
        return out_of_range(e, key, (double)i, (double)lo, (double)hi, true);
    *out = i;
    if (present)
        *present = true;
    return 0;
}

/* ---- messages ---------------------------------------------------------- */

/* content: a string, or an array of {"type":"text","text":...} parts that are
 * joined with newlines into arena memory. */
static int parse_content(json_t *v, const char *param, aios_arena *arena, const char **out,
                         struct aios_server_apierr *e)
{
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return 0;
    }
    if (!json_is_array(v))
        return bad_type(e, param, "a string or an array of content parts", v);
    size_t total = 1, i;
    json_t *part;
    json_array_foreach(v, i, part)
    {
        char p[128];
        join(p, sizeof p, param, NULL, (long)i);
        if (!json_is_object(part))
            return bad_type(e, p, "an object", part);
        const char *type = NULL, *text = NULL;
        if (get_str(part, p, "type", true, &type, e))
            return e->http;
        if (strcmp(type, "text") != 0) {
            char tp[160];
            snprintf(tp, sizeof tp, "%s.type", p);
            return aios_server_apierr_set(e, 400, "invalid_request_error", tp, "invalid_value",
                                          "Invalid value for '%s': content parts of type '%s' "
                                          "are not supported; only 'text' is.",
                                          tp, type);
        }
        if (get_str(part, p, "text", true, &text, e))
            return e->http;
        total += json_string_length(json_object_get(part, "text")) + 1;
    }
    char *buf = aios_arena_alloc(arena, total);
    if (!buf)
        return aios_server_apierr_set(e, 500, "server_error", NULL, NULL, "out of memory");
    size_t off = 0;
    json_array_foreach(v, i, part)
    {
        json_t *t = json_object_get(part, "text");
        size_t n = json_string_length(t);
        if (i)
            buf[off++] = '\n';
        memcpy(buf + off, json_string_value(t), n);
        off += n;
    }
    buf[off] = 0;
    *out = buf;
    return 0;
}

static int check_function_name(const char *name, const char *param, struct aios_server_apierr *e)
{
    size_t n = strlen(name);
    bool ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    return ok ? 0
              : bad_value(e, param,
                          "a function name is 1 to 64 characters of a-z, A-Z, 0-9, '_' and '-'.");
}

static int parse_tool_calls(json_t *v, const char *param, struct aios_server_apierr *e)
{
    if (!json_is_array(v))
        return bad_type(e, param, "an array", v);
    size_t i;
    json_t *tc;
    json_array_foreach(v, i, tc)
    {
        char p[128], fp[160];
        join(p, sizeof p, param, NULL, (long)i);
        if (!json_is_object(tc))
            return bad_type(e, p, "an object", tc);
        const char *id = NULL, *type = NULL, *name = NULL, *args = NULL;
        json_t *fn;
        if (get_str(tc, p, "id", true, &id, e) || get_str(tc, p, "type", true, &type, e))
            return e->http;
        join(fp, sizeof fp, p, "type", 0);
        if (strcmp(type, "function") != 0)
            return bad_value(e, fp, "expected 'function'.");
        join(fp, sizeof fp, p, "function", 0);
        if (!(fn = field(tc, "function")))
            return missing(e, fp);
        if (!json_is_object(fn))
            return bad_type(e, fp, "an object", fn);
        if (get_str(fn, fp, "name", true, &name, e) || get_str(fn, fp, "arguments", true, &args, e))
            return e->http;
    }
    return 0;
}

static int parse_messages(json_t *body, aios_arena *arena, struct aios_server_gen_request *req,
                          struct aios_server_apierr *e)
{
    json_t *msgs = field(body, "messages");
    if (!msgs)
        return missing(e, "messages");
    if (!json_is_array(msgs))
        return bad_type(e, "messages", "an array", msgs);
    size_t n = json_array_size(msgs);
    if (n == 0)
        return bad_value(e, "messages", "[] is too short; at least one message is required.");
    if (n > MAX_MESSAGES)
        return bad_value(e, "messages", "too many messages (the limit is 4096).");
    struct aios_server_message *out = aios_arena_alloc(arena, sizeof *out * n);
    if (!out)
        return aios_server_apierr_set(e, 500, "server_error", NULL, NULL, "out of memory");
    memset(out, 0, sizeof *out * n);
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool"};
    for (size_t i = 0; i < n; i++) {
        char p[64], fp[96];
        join(p, sizeof p, "messages", NULL, (long)i);
        json_t *m = json_array_get(msgs, i);
        if (!json_is_object(m))
            return bad_type(e, p, "an object", m);
        struct aios_server_message *o = &out[i];
        if (get_str(m, p, "role", true, &o->role, e))
            return e->http;
        size_t r = 0;
        while (r < sizeof roles / sizeof roles[0] && strcmp(o->role, roles[r]) != 0)
            r++;
        join(fp, sizeof fp, p, "role", 0);
        if (r == sizeof roles / sizeof roles[0])
            return bad_value(e, fp,
                             "expected one of 'system', 'developer', 'user', 'assistant', 'tool'.");
        bool assistant = r == 3, tool = r == 4;
        if (get_str(m, p, "name", false, &o->name, e))
            return e->http;
        json_t *tc = field(m, "tool_calls");
        join(fp, sizeof fp, p, "tool_calls", 0);
        if (tc && !assistant)
            return bad_value(e, fp, "only assistant messages carry tool_calls.");
        if (tc && parse_tool_calls(tc, fp, e))
            return e->http;
        o->tool_calls = tc;
        if (tool && get_str(m, p, "tool_call_id", true, &o->tool_call_id, e))
            return e->http;
        json_t *content = field(m, "content");
        join(fp, sizeof fp, p, "content", 0);
        if (!content) {
            if (!(assistant && tc))
                return missing(e, fp);
        } else if (parse_content(content, fp, arena, &o->content, e)) {
            return e->http;
        }
    }
    req->messages = out;
    req->n_messages = n;
    return 0;
}

/* ---- tools and response_format ---------------------------------------- */

static bool tool_named(json_t *tools, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        json_t *fn = json_object_get(t, "function");
        json_t *nm = json_object_get(fn, "name");
        if (json_is_string(nm) && strcmp(json_string_value(nm), name) == 0)
            return true;
    }
    return false;
}

static int parse_tools(json_t *body, struct aios_server_gen_request *req,
                       struct aios_server_apierr *e)
{
    json_t *tools = field(body, "tools");
    if (tools) {
        if (!json_is_array(tools))
            return bad_type(e, "tools", "an array", tools);
        if (json_array_size(tools) > MAX_TOOLS)
            return bad_value(e, "tools", "too many tools (the limit is 128).");
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t)
        {
            char p[64], fp[96];
            join(p, sizeof p, "tools", NULL, (long)i);
            if (!json_is_object(t))
                return bad_type(e, p, "an object", t);
            const char *type = NULL, *name = NULL, *desc = NULL;
            if (get_str(t, p, "type", true, &type, e))
                return e->http;
            join(fp, sizeof fp, p, "type", 0);
            if (strcmp(type, "function") != 0)
                return bad_value(e, fp, "expected 'function'.");
            json_t *fn = field(t, "function");
            join(fp, sizeof fp, p, "function", 0);
            if (!fn)
                return missing(e, fp);
            if (!json_is_object(fn))
                return bad_type(e, fp, "an object", fn);
            if (get_str(fn, fp, "name", true, &name, e) ||
                get_str(fn, fp, "description", false, &desc, e))
                return e->http;
            char np[128];
            join(np, sizeof np, fp, "name", 0);
            if (check_function_name(name, np, e))
                return e->http;
            json_t *params = field(fn, "parameters");
            join(np, sizeof np, fp, "parameters", 0);
            if (params && !json_is_object(params))
                return bad_type(e, np, "an object", params);
            json_t *strict = field(fn, "strict");
            join(np, sizeof np, fp, "strict", 0);
            if (strict && !json_is_boolean(strict))
                return bad_type(e, np, "a boolean", strict);
        }
        req->tools = tools;
    }
    json_t *tc = field(body, "tool_choice");
    if (tc) {
        if (json_is_string(tc)) {
            const char *s = json_string_value(tc);
            if (strcmp(s, "none") && strcmp(s, "auto") && strcmp(s, "required"))
                return bad_value(e, "tool_choice", "expected 'none', 'auto' or 'required'.");
            if (strcmp(s, "none") != 0 && !tools)
                return bad_value(e, "tool_choice",
                                 "tool_choice is only allowed when 'tools' are specified.");
        } else if (json_is_object(tc)) {
            const char *type = NULL, *name = NULL;
            if (get_str(tc, "tool_choice", "type", true, &type, e))
                return e->http;
            if (strcmp(type, "function") != 0)
                return bad_value(e, "tool_choice.type", "expected 'function'.");
            json_t *fn = field(tc, "function");
            if (!fn)
                return missing(e, "tool_choice.function");
            if (!json_is_object(fn))
                return bad_type(e, "tool_choice.function", "an object", fn);
            if (get_str(fn, "tool_choice.function", "name", true, &name, e))
                return e->http;
            if (!tools || !tool_named(tools, name))
                return bad_value(e, "tool_choice.function.name",
                                 "no function of that name is in 'tools'.");
        } else {
            return bad_type(e, "tool_choice", "a string or an object", tc);
        }
        req->tool_choice = tc;
    }
    req->parallel_tool_calls = true;
    return get_bool(body, "parallel_tool_calls", &req->parallel_tool_calls, e);
}

static int parse_response_format(json_t *body, struct aios_server_gen_request *req,
                                 struct aios_server_apierr *e)
{
    json_t *rf = field(body, "response_format");
    if (!rf)
        return 0;
    if (!json_is_object(rf))
        return bad_type(e, "response_format", "an object", rf);
    const char *type = NULL;
    if (get_str(rf, "response_format", "type", true, &type, e))
        return e->http;
    if (strcmp(type, "text") == 0) {
        req->format = AIOS_SERVER_FORMAT_TEXT;
    } else if (strcmp(type, "json_object") == 0) {
        req->format = AIOS_SERVER_FORMAT_JSON_OBJECT;
    } else if (strcmp(type, "json_schema") == 0) {
        json_t *js = field(rf, "json_schema");
        if (!js)
            return missing(e, "response_format.json_schema");
        if (!json_is_object(js))
            return bad_type(e, "response_format.json_schema", "an object", js);
        const char *name = NULL;
        if (get_str(js, "response_format.json_schema", "name", true, &name, e))
            return e->http;
        if (check_function_name(name, "response_format.json_schema.name", e))
            return e->http;
        json_t *schema = field(js, "schema");
        if (schema && !json_is_object(schema))
            return bad_type(e, "response_format.json_schema.schema", "an object", schema);
        json_t *strict = field(js, "strict");
        if (strict && !json_is_boolean(strict))
            return bad_type(e, "response_format.json_schema.strict", "a boolean", strict);
        req->format = AIOS_SERVER_FORMAT_JSON_SCHEMA;
        req->json_schema = schema; /* NULL: any JSON */
    } else {
        return bad_value(e, "response_format.type",
                         "expected 'text', 'json_object' or 'json_schema'.");
    }
    return 0;
}

/* ---- prompt (completions) ---------------------------------------------- */

static int parse_token_array(json_t *arr, const char *param, aios_arena *arena,
                             struct aios_server_gen_request *req, struct aios_server_apierr *e)
{
    size_t n = json_array_size(arr);
    if (n > MAX_PROMPT_TOKENS)
        return bad_value(e, param, "too many prompt tokens.");
    int32_t *toks = aios_arena_alloc(arena, sizeof *toks * (n ? n : 1));
    if (!toks)
        return aios_server_apierr_set(e, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(arr, i);
        char p[64];
        join(p, sizeof p, param, NULL, (long)i);
        if (!json_is_integer(t))
            return bad_type(e, p, "an integer token id", t);
        json_int_t v = json_integer_value(t);
        if (v < 0 || v > INT32_MAX)
            return out_of_range(e, p, (double)v, 0, INT32_MAX, true);
        toks[i] = (int32_t)v;
    }
    req->prompt_tokens = toks;
    req->n_prompt_tokens = n;
    return 0;
}

static int parse_prompt(json_t *body, aios_arena *arena, struct aios_server_gen_request *req,
                        struct aios_server_apierr *e)
{
    json_t *p = field(body, "prompt");
    if (!p)
        return missing(e, "prompt");
    if (json_is_string(p)) {
        req->prompt = json_string_value(p);
        return 0;
    }
    if (!json_is_array(p))
        return bad_type(e, "prompt", "a string, an array of strings or an array of token ids", p);
    size_t n = json_array_size(p);
    if (n == 0)
        return bad_value(e, "prompt", "[] is too short.");
    json_t *first = json_array_get(p, 0);
    if (json_is_integer(first))
        return parse_token_array(p, "prompt", arena, req, e);
    if (n > 1)
        return bad_value(e, "prompt", "only one prompt per request is supported.");
    if (json_is_string(first)) {
        req->prompt = json_string_value(first);
        return 0;
    }
    if (json_is_array(first))
        return parse_token_array(first, "prompt[0]", arena, req, e);
    return bad_type(e, "prompt[0]", "a string or an array of token ids", first);
}

/* ---- the request ------------------------------------------------------- */

static int parse_stop(json_t *body, struct aios_server_gen_request *req,
                      struct aios_server_apierr *e)
{
    json_t *s = field(body, "stop");
    if (!s)
        return 0;
    if (json_is_string(s)) {
        req->stop[0] = json_string_value(s);
        req->n_stop = 1;
        return 0;
    }
    if (!json_is_array(s))
        return bad_type(e, "stop", "a string or an array of strings", s);
    if (json_array_size(s) > AIOS_SERVER_MAX_STOP)
        return bad_value(e, "stop", "at most 4 stop sequences are allowed.");
    size_t i;
    json_t *x;
    json_array_foreach(s, i, x)
    {
        char p[32];
        join(p, sizeof p, "stop", NULL, (long)i);
        if (!json_is_string(x))
            return bad_type(e, p, "a string", x);
        if (json_string_length(x) == 0)
            return bad_value(e, p, "a stop sequence cannot be empty.");
        req->stop[req->n_stop++] = json_string_value(x);
    }
    return 0;
}

int aios_server_gen_request_parse(enum aios_server_req_kind kind, json_t *body, aios_arena *arena,
                                  struct aios_server_gen_request *req, struct aios_server_apierr *e)
{
    memset(req, 0, sizeof *req);
    req->kind = kind;
    req->max_tokens = -1;
    req->temperature = 1.0;
    req->top_p = 1.0;
    req->top_k = -1;
    req->repetition_penalty = 1.0;
    req->n = 1;
    if (!json_is_object(body))
        return aios_server_apierr_set(e, 400, "invalid_request_error", NULL, "invalid_type",
                                      "The request body must be a JSON object.");
    if (get_str(body, "", "model", true, &req->model, e))
        return e->http;
    if (kind == AIOS_SERVER_REQ_CHAT) {
        if (parse_messages(body, arena, req, e) || parse_tools(body, req, e) ||
            parse_response_format(body, req, e))
            return e->http;
    } else {
        if (parse_prompt(body, arena, req, e) || get_bool(body, "echo", &req->echo, e) ||
            get_str(body, "", "suffix", false, &req->suffix, e))
            return e->http;
    }
    /* max_completion_tokens is the newer name; both accepted, the newer wins. */
    int64_t mt = -1;
    if (get_int(body, "max_tokens", 1, INT32_MAX, &mt, NULL, e) ||
        (kind == AIOS_SERVER_REQ_CHAT &&
         get_int(body, "max_completion_tokens", 1, INT32_MAX, &mt, NULL, e)))
        return e->http;
    req->max_tokens = mt;
    int64_t n = 1, top_k = -1;
    if (get_num(body, "temperature", 0, 2, &req->temperature, e) ||
        get_num(body, "top_p", 0, 1, &req->top_p, e) ||
        get_num(body, "presence_penalty", -2, 2, &req->presence_penalty, e) ||
        get_num(body, "frequency_penalty", -2, 2, &req->frequency_penalty, e) ||
        /* extensions (vLLM's ranges) */
        get_num(body, "min_p", 0, 1, &req->min_p, e) ||
        get_num(body, "repetition_penalty", 0.01, 10, &req->repetition_penalty, e) ||
        get_int(body, "top_k", -1, 1 << 20, &top_k, NULL, e) ||
        get_bool(body, "ignore_eos", &req->ignore_eos, e) ||
        get_int(body, "seed", INT64_MIN, INT64_MAX, &req->seed, &req->has_seed, e) ||
        get_int(body, "n", 1, AIOS_SERVER_MAX_N, &n, NULL, e) || parse_stop(body, req, e) ||
        get_bool(body, "stream", &req->stream, e) ||
        get_str(body, "", "user", false, &req->user, e))
        return e->http;
    if (top_k == 0)
        return bad_value(e, "top_k", "use -1 (or omit it) to disable top-k; 0 is not allowed.");
    req->top_k = top_k;
    req->n = (int)n;

    json_t *lb = field(body, "logit_bias");
    if (lb) {
        if (!json_is_object(lb))
            return bad_type(e, "logit_bias", "an object", lb);
        const char *k;
        json_t *v;
        json_object_foreach(lb, k, v)
        {
            char p[96];
            int64_t id;
            join(p, sizeof p, "logit_bias", k, 0);
            if (aios_parse_i64(k, &id) != AIOS_OK || id < 0 || id > INT32_MAX)
                return bad_value(e, p, "keys are token ids.");
            if (!json_is_number(v))
                return bad_type(e, p, "a decimal", v);
            double d = json_number_value(v);
            if (!(d >= -100 && d <= 100))
                return out_of_range(e, p, d, -100, 100, false);
        }
        req->logit_bias = lb;
    }

    if (kind == AIOS_SERVER_REQ_CHAT) {
        int64_t top = 0;
        bool have_top = false;
        if (get_bool(body, "logprobs", &req->logprobs, e) ||
            get_int(body, "top_logprobs", 0, AIOS_SERVER_MAX_TOP_LOGPROBS, &top, &have_top, e))
            return e->http;
        if (have_top && !req->logprobs)
            return bad_value(e, "top_logprobs",
                             "'logprobs' must be set to true when 'top_logprobs' is used.");
        req->top_logprobs = (int)top;
    } else {
        int64_t lp = 0;
        bool have = false;
        if (get_int(body, "logprobs", 0, 5, &lp, &have, e))
            return e->http;
        req->logprobs = have;
        req->top_logprobs = (int)lp;
    }

    json_t *so = field(body, "stream_options");
    if (so) {
        if (!json_is_object(so))
            return bad_type(e, "stream_options", "an object", so);
        if (!req->stream)
            return bad_value(e, "stream_options",
                             "stream_options is only allowed when 'stream' is true.");
        json_t *iu = field(so, "include_usage");
        if (iu && !json_is_boolean(iu))
            return bad_type(e, "stream_options.include_usage", "a boolean", iu);
        req->include_usage = iu && json_is_true(iu);
    }
    return 0;
}

int aios_server_embed_request_parse(json_t *body, aios_arena *arena,
                                    struct aios_server_embed_request *req,
                                    struct aios_server_apierr *e)
{
    memset(req, 0, sizeof *req);
    if (!json_is_object(body))
        return aios_server_apierr_set(e, 400, "invalid_request_error", NULL, "invalid_type",
                                      "The request body must be a JSON object.");
    if (get_str(body, "", "model", true, &req->model, e))
        return e->http;
    json_t *in = field(body, "input");
    if (!in)
        return missing(e, "input");
    size_t n = json_is_array(in) ? json_array_size(in) : 1;
    if (!json_is_string(in) && !json_is_array(in))
        return bad_type(e, "input", "a string or an array of strings", in);
    if (n == 0)
        return bad_value(e, "input", "[] is too short.");
    if (n > MAX_EMBED_INPUTS)
        return bad_value(e, "input", "at most 2048 inputs per request.");
    req->inputs = aios_arena_alloc(arena, sizeof *req->inputs * n);
    if (!req->inputs)
        return aios_server_apierr_set(e, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_is_array(in) ? json_array_get(in, i) : in;
        char p[32];
        if (json_is_array(in))
            join(p, sizeof p, "input", NULL, (long)i);
        else
            aios_strlcpy(p, "input", sizeof p);
        if (json_is_integer(x) || json_is_array(x))
            return bad_value(e, p, "token-id input is not supported; send text.");
        if (!json_is_string(x))
            return bad_type(e, p, "a string", x);
        if (json_string_length(x) == 0)
            return bad_value(e, p, "an input cannot be empty.");
        req->inputs[i] = json_string_value(x);
    }
    req->n_inputs = n;
    const char *fmt = NULL;
    if (get_str(body, "", "encoding_format", false, &fmt, e))
        return e->http;
    if (fmt && strcmp(fmt, "float") != 0 && strcmp(fmt, "base64") != 0)
        return bad_value(e, "encoding_format", "expected 'float' or 'base64'.");
    req->base64 = fmt && strcmp(fmt, "base64") == 0;
    if (get_int(body, "dimensions", 1, 1 << 16, &req->dimensions, NULL, e))
        return e->http;
    const char *user = NULL;
    return get_str(body, "", "user", false, &user, e);
}
