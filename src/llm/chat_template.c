/*
 * Chat templates: the built-in templates for model files that carry none,
 * the context builder that prepares OpenAI-style messages the way chat
 * templates expect them, and a parse-and-render helper.
 *
 * The built-in templates are Jinja sources written here from the published
 * prompt formats:
 *   llama2     <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>
 *   llama3     <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>
 *   chatml     <|im_start|>{role}\n{content}<|im_end|>\n
 *   chatglm3   [gMASK]sop<|{role}|>\n {content} ... <|assistant|>
 *   chatglm4   [gMASK]<sop><|{role}|>\n{content} ... <|assistant|>\n
 *   baichuan2  {system}<reserved_106>{user}<reserved_107>{assistant}
 * (chatglm3/4 as llama.cpp formats them; baichuan2 as its build_chat_input:
 * user turns after token 195, assistant turns after token 196, which are
 * the pieces <reserved_106> and <reserved_107>.)
 */
#include "llm/llm.h"

#include <string.h>

static const char tmpl_llama2[] =
    "{%- set bos_token = bos_token | default('') -%}\n"
    "{%- set eos_token = eos_token | default('') -%}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}\n"
    "  {%- set system = messages[0]['content'] -%}\n"
    "  {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "  {%- set system = none -%}\n"
    "  {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "  {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "    {{- raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') -}}\n"
    "  {%- endif -%}\n"
    "  {%- set content = message['content'] -%}\n"
    "  {%- if loop.first and system is not none -%}\n"
    "    {%- set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + content -%}\n"
    "  {%- endif -%}\n"
    "  {%- if message['role'] == 'user' -%}\n"
    "    {{- bos_token + '[INST] ' + content | trim + ' [/INST]' -}}\n"
    "  {%- else -%}\n"
    "    {{- ' ' + content | trim + ' ' + eos_token -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n";

static const char tmpl_llama3[] =
    "{%- set bos_token = bos_token | default('') -%}\n"
    "{%- for message in messages -%}\n"
    "  {%- if loop.first -%}{{- bos_token -}}{%- endif -%}\n"
    "  {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "message['content'] | trim + '<|eot_id|>' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
    "{%- endif -%}\n";

static const char tmpl_chatml[] =
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\\n' -}}\n"
    "{%- endif -%}\n";

static const char tmpl_chatglm3[] =
    "{{- '[gMASK]sop' -}}\n"
    "{%- for message in messages -%}\n"
    "  {{- '<|' + message['role'] + '|>\\n ' + message['content'] -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}\n";

static const char tmpl_chatglm4[] =
    "{{- '[gMASK]<sop>' -}}\n"
    "{%- for message in messages -%}\n"
    "  {{- '<|' + message['role'] + '|>\\n' + message['content'] -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}\n";

static const char tmpl_baichuan2[] =
    "{%- for message in messages -%}\n"
    "  {%- if message['role'] == 'system' -%}\n"
    "    {{- message['content'] -}}\n"
    "  {%- elif message['role'] == 'user' -%}\n"
    "    {{- '<reserved_106>' + message['content'] -}}\n"
    "  {%- elif message['role'] == 'assistant' -%}\n"
    "    {{- '<reserved_107>' + message['content'] -}}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt and messages and messages[-1]['role'] != 'assistant' -%}\n"
    "  {{- '<reserved_107>' -}}\n"
    "{%- endif -%}\n";

static const struct {
    const char *name;
    const char *src;
} builtins[] = {
    {"llama2", tmpl_llama2},     {"llama3", tmpl_llama3},     {"chatml", tmpl_chatml},
    {"chatglm3", tmpl_chatglm3}, {"chatglm4", tmpl_chatglm4}, {"baichuan2", tmpl_baichuan2},
};

static const char *const builtin_names[] = {"llama2",   "llama3",    "chatml", "chatglm3",
                                            "chatglm4", "baichuan2", NULL};

const char *aios_chat_template_builtin(const char *name)
{
    for (size_t i = 0; name && i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return builtins[i].src;
    return NULL;
}

const char *const *aios_chat_template_builtin_names(void)
{
    return builtin_names;
}

int aios_chat_context_build(const json_t *messages, const json_t *tools, bool add_generation_prompt,
                            const char *bos_token, const char *eos_token, json_t **out,
                            struct aios_err *err)
{
    *out = NULL;
    if (!json_is_array(messages))
        return aios_err_set(err, AIOS_EINVAL, "messages: expected an array");
    if (tools && !json_is_array(tools) && !json_is_null(tools))
        return aios_err_set(err, AIOS_EINVAL, "tools: expected an array");
    json_t *ctx = json_object();
    json_t *msgs = json_deep_copy(messages);
    if (!ctx || !msgs) {
        json_decref(ctx);
        json_decref(msgs);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (!json_is_object(m)) {
            json_decref(ctx);
            json_decref(msgs);
            return aios_err_set(err, AIOS_EINVAL, "messages[%zu]: expected an object", i);
        }
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "developer") == 0)
            json_object_set_new(m, "role", json_string("system"));
        json_t *parts = json_object_get(m, "content");
        if (json_is_array(parts)) {
            /* typed content: the text parts joined by newlines, other parts
             * (images, audio) left out, as llama.cpp does for templates that
             * take string content */
            struct aios_buf b;
            aios_buf_init(&b, (size_t)64 << 20);
            size_t k;
            json_t *part;
            int brc = AIOS_OK;
            json_array_foreach(parts, k, part)
            {
                const char *type = json_string_value(json_object_get(part, "type"));
                json_t *text = json_object_get(part, "text");
                if (!type || strcmp(type, "text") != 0 || !json_is_string(text))
                    continue;
                if (b.len && brc == AIOS_OK)
                    brc = aios_buf_putc(&b, '\n');
                if (brc == AIOS_OK)
                    brc = aios_buf_append(&b, json_string_value(text), json_string_length(text));
            }
            json_t *joined = brc ? NULL : json_stringn_nocheck(b.data ? b.data : "", b.len);
            aios_buf_free(&b);
            if (!joined) {
                json_decref(ctx);
                json_decref(msgs);
                return aios_err_set(err, brc == AIOS_ELIMIT ? AIOS_ELIMIT : AIOS_ENOMEM,
                                    "messages[%zu].content: cannot join the text parts", i);
            }
            json_object_set_new(m, "content", joined);
        }
        json_t *calls = json_object_get(m, "tool_calls");
        if (!json_is_array(calls) || json_array_size(calls) == 0)
            continue;
        json_t *content = json_object_get(m, "content");
        if (!content || json_is_null(content))
            json_object_set_new(m, "content", json_string(""));
        size_t k;
        json_t *c;
        json_array_foreach(calls, k, c)
        {
            json_t *fn = json_object_get(c, "function");
            json_t *args = json_object_get(fn, "arguments");
            if (!json_is_string(args))
                continue;
            json_t *parsed = NULL;
            if (aios_json_parse(json_string_value(args), json_string_length(args), 1 << 24, &parsed,
                                NULL) == AIOS_OK &&
                json_is_object(parsed))
                json_object_set_new(fn, "arguments", parsed);
            else
                json_decref(parsed);
        }
    }
    json_object_set_new(ctx, "messages", msgs);
    if (tools && json_is_array(tools))
        json_object_set_new(ctx, "tools", json_deep_copy(tools));
    json_object_set_new(ctx, "add_generation_prompt", json_boolean(add_generation_prompt));
    json_object_set_new(ctx, "bos_token", json_string(bos_token ? bos_token : ""));
    json_object_set_new(ctx, "eos_token", json_string(eos_token ? eos_token : ""));
    *out = ctx;
    return AIOS_OK;
}

int aios_chat_template_render(const char *src, size_t len, const json_t *ctx, int64_t now,
                              char **out, size_t *out_len, struct aios_err *err)
{
    aios_jinja_template *t;
    int rc = aios_jinja_parse(src, len, &t, err);
    if (rc)
        return rc;
    rc = aios_jinja_render(t, ctx, now, NULL, out, out_len, err);
    aios_jinja_free(t);
    return rc;
}
