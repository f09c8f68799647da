/*
 * The chat template of a model: its own tokenizer.chat_template, or for
 * files without one a built-in template chosen by architecture and
 * vocabulary (llama2 or llama3 for llama, chatml for qwen2, chatglm3 or
 * chatglm4 for chatglm, baichuan2 for baichuan).
 */
#include "llm/llm.h"

#include <string.h>

static const char *builtin_for(const aios_model *m, const aios_llm_vocab *v)
{
    bool bpe = aios_llm_vocab_type(v) == AIOS_LLM_VOCAB_BPE;
    switch (aios_model_hparams(m)->arch) {
    case AIOS_ARCH_QWEN2:
        return "chatml";
    case AIOS_ARCH_CHATGLM:
        return bpe ? "chatglm4" : "chatglm3";
    case AIOS_ARCH_BAICHUAN:
        return "baichuan2";
    default:
        return bpe ? "llama3" : "llama2";
    }
}

int aios_chat_template_for_model(const aios_model *m, const aios_llm_vocab *v, char **out,
                                 const char **builtin_name, struct aios_err *err)
{
    *out = NULL;
    if (builtin_name)
        *builtin_name = NULL;
    if (aios_model_hparams(m)->arch == AIOS_ARCH_BERT)
        return aios_err_set(err, AIOS_EUNSUPPORTED, "an embedding model has no chat template");
    char *tpl = NULL;
    int rc = aios_gguf_get_str(aios_model_gguf(m), "tokenizer.chat_template", &tpl, err);
    if (rc == AIOS_OK) {
        *out = tpl;
        return AIOS_OK;
    }
    if (rc != AIOS_ENOTFOUND)
        return rc;
    const char *name = builtin_for(m, v);
    const char *src = aios_chat_template_builtin(name);
    if (!src)
        return aios_err_set(err, AIOS_EINTERNAL, "built-in template '%s' is missing", name);
    if (!(*out = aios_strdup(src)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (builtin_name)
        *builtin_name = name;
    return AIOS_OK;
}

int aios_chat_tokens(const aios_jinja_template *tpl, const aios_llm_vocab *v,
                     const json_t *messages, const json_t *tools, struct aios_llm_tokens *toks,
                     struct aios_err *err)
{
    const struct aios_llm_vocab_special *sp = aios_llm_vocab_special(v);
    const char *bos = sp->bos >= 0 ? aios_llm_vocab_token_text(v, sp->bos) : NULL;
    const char *eos = sp->eos >= 0 ? aios_llm_vocab_token_text(v, sp->eos) : NULL;
    json_t *ctx = NULL;
    int rc =
        aios_chat_context_build(messages, tools, true, bos ? bos : "", eos ? eos : "", &ctx, err);
    if (rc)
        return rc;
    char *text = NULL;
    size_t len = 0;
    rc = aios_jinja_render(tpl, ctx, aios_wall_ms() / 1000, NULL, &text, &len, err);
    json_decref(ctx);
    if (rc)
        return rc;
    /* Templates usually write the BOS text themselves; add BOS only if not. */
    unsigned flags = AIOS_LLM_TOK_PARSE_SPECIAL;
    if (!bos || !*bos || strncmp(text, bos, strlen(bos)) != 0)
        flags |= AIOS_LLM_TOK_ADD_SPECIAL;
    rc = aios_llm_tokenize(v, text, len, flags, toks, err);
    aios_free(text);
    return rc;
}
