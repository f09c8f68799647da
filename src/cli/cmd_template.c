/*
 * `aios template (-m MODEL | --template FILE | --name NAME) --context FILE`:
 * renders a chat template with a JSON context and prints exactly the
 * rendered text (nothing added, no newline). The template comes from a GGUF
 * file (tokenizer.chat_template), a Jinja file, or the built-in templates;
 * with -m, bos_token and eos_token default to the model's BOS/EOS token text
 * unless the context sets them. A template's raise_exception() ends the
 * command with its message and exit 1.
 */
#include "cli/cli.h"
#include "gguf/gguf.h"
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

#define MAX_CONTEXT ((size_t)64 << 20)

static const struct aios_cmd_spec template_spec = {
    .name = "template",
    .usage =
        "(-m MODEL [--variant NAME] | --template FILE.jinja | --name NAME) --context FILE.json\n"
        "    [--now SECONDS]",
    .summary = "Render a chat template with a JSON context and print the prompt.",
    .description =
        "The context is a JSON object: messages, tools, add_generation_prompt, bos_token,\n"
        "eos_token and any other variable the template reads. The rendered text is\n"
        "printed as it is, with no newline added. Built-in names: llama2, llama3, chatml,\n"
        "chatglm3, chatglm4, baichuan2. strftime_now() reads --now (Unix seconds, UTC;\n"
        "default: the current time).",
    .min_pos = 0,
    .max_pos = 0,
};

/* The text of token id key_id (e.g. tokenizer.ggml.bos_token_id), or NULL. */
static char *token_text(const aios_gguf *g, const char *key_id)
{
    uint32_t id;
    if (aios_gguf_get_u32(g, key_id, &id, NULL) != AIOS_OK)
        return NULL;
    const struct aios_gguf_value *toks;
    if (aios_gguf_get_arr(g, "tokenizer.ggml.tokens", AIOS_GGUF_STRING, &toks, NULL) != AIOS_OK ||
        id >= toks->v.arr.n)
        return NULL;
    const struct aios_gguf_str *s = &toks->v.arr.strs[id];
    return aios_strndup(s->data, (size_t)s->len);
}

/* Reads the chat template (NULL when the file has none) and the BOS/EOS
 * texts of a model file. */
static int model_template(const char *path, const char *variant, char **src, char **bos, char **eos,
                          struct aios_err *err)
{
    aios_gguf *g;
    int rc = aios_gguf_open(path, &g, err);
    if (rc)
        return rc;
    *bos = token_text(g, "tokenizer.ggml.bos_token_id");
    *eos = token_text(g, "tokenizer.ggml.eos_token_id");
    char key[256];
    snprintf(key, sizeof key, "tokenizer.chat_template%s%s", variant ? "." : "",
             variant ? variant : "");
    rc = aios_gguf_get_str(g, key, src, err);
    if (rc == AIOS_ENOTFOUND && variant)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "%s has no %s", path, key);
    else if (rc == AIOS_ENOTFOUND) /* *src stays NULL: the caller decides */
        rc = AIOS_OK;
    aios_gguf_close(g);
    return rc;
}

int aios_cmd_template(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL, *file = NULL, *name = NULL, *context = NULL, *variant = NULL;
    int64_t now = -1;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "MODEL",
         "GGUF file whose tokenizer.chat_template to use"},
        {"variant", 0, AIOS_OPT_STR, &variant, "NAME",
         "with -m: the named template tokenizer.chat_template.NAME (e.g. tool_use)"},
        {"template", 't', AIOS_OPT_STR, &file, "FILE", "Jinja template file"},
        {"name", 'n', AIOS_OPT_STR, &name, "NAME", "built-in template"},
        {"context", 'c', AIOS_OPT_STR, &context, "FILE", "JSON object with the variables"},
        {"now", 0, AIOS_OPT_INT, &now, "SECONDS", "clock for strftime_now() (Unix time, UTC)"},
        {0},
    };
    struct aios_cmd_spec spec = template_spec;
    spec.opts = opts;
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (!context)
        return aios_cli_usage_error(&spec, "--context is required");
    if ((file != NULL) + (name != NULL) + (model != NULL && !name) != 1)
        return aios_cli_usage_error(&spec, "give one of -m MODEL, --template FILE, --name NAME");

    struct aios_err err = {0};
    char *src = NULL, *bos = NULL, *eos = NULL, *ctext = NULL, *out = NULL;
    size_t src_len = 0, clen = 0, out_len = 0;
    json_t *ctx = NULL;
    int ret = AIOS_EXIT_FAIL;
    if (variant && (!model || name))
        return aios_cli_usage_error(&spec, "--variant needs -m MODEL (and no --name)");
    if (model && model_template(model, variant, &src, &bos, &eos, &err) != AIOS_OK)
        goto fail;
    if (model && !src && !name) {
        aios_err_set(&err, AIOS_ENOTFOUND,
                     "%s has no tokenizer.chat_template; use --name with a built-in template",
                     model);
        goto fail;
    }
    if (name) {
        const char *b = aios_chat_template_builtin(name);
        if (!b) {
            struct aios_buf names;
            aios_buf_init(&names, 4096);
            for (const char *const *n = aios_chat_template_builtin_names(); *n; n++)
                aios_buf_printf(&names, "%s%s", n == aios_chat_template_builtin_names() ? "" : ", ",
                                *n);
            aios_err_set(&err, AIOS_ENOTFOUND, "no built-in template '%s' (there are: %s)", name,
                         names.data);
            aios_buf_free(&names);
            goto fail;
        }
        aios_free(src);
        src = aios_strdup(b);
        if (!src) {
            aios_err_set(&err, AIOS_ENOMEM, "out of memory");
            goto fail;
        }
        src_len = strlen(src);
    } else if (file) {
        if (aios_read_file(file, AIOS_JINJA_MAX_SOURCE, &src, &src_len, &err) != AIOS_OK)
            goto fail;
    } else {
        src_len = strlen(src);
    }
    if (aios_read_file(context, MAX_CONTEXT, &ctext, &clen, &err) != AIOS_OK)
        goto fail;
    if (aios_json_parse(ctext, clen, MAX_CONTEXT, &ctx, &err) != AIOS_OK) {
        aios_err_prefix(&err, "%s", context);
        goto fail;
    }
    if (!json_is_object(ctx)) {
        aios_err_set(&err, AIOS_EINVAL, "%s: the context must be a JSON object", context);
        goto fail;
    }
    if (bos && !json_object_get(ctx, "bos_token"))
        json_object_set_new(ctx, "bos_token", json_string(bos));
    if (eos && !json_object_get(ctx, "eos_token"))
        json_object_set_new(ctx, "eos_token", json_string(eos));
    if (now < 0)
        now = aios_wall_ms() / 1000;
    if (aios_chat_template_render(src, src_len, ctx, now, &out, &out_len, &err) != AIOS_OK)
        goto fail;
    if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0) {
        aios_err_set(&err, AIOS_EIO, "cannot write the output");
        goto fail;
    }
    ret = AIOS_EXIT_OK;
    goto done;
fail:
    ret = aios_cli_fail(&spec, &err);
done:
    aios_free(src);
    aios_free(bos);
    aios_free(eos);
    aios_free(ctext);
    aios_free(out);
    json_decref(ctx);
    return ret;
}
