/*
 * llm chat templates: turns a conversation (OpenAI-style messages, tools)
 * into the prompt text a model was trained on, by rendering the model's Jinja
 * chat template (tokenizer.chat_template in GGUF) or, for files without one,
 * a built-in template chosen by name. Included by llm.h.
 *
 * The Jinja engine is a subset written for chat templates (jinja_*.c): the
 * expressions, filters, tests and statements that published templates use,
 * with the whitespace settings the Hugging Face and llama.cpp renderers use
 * (trim_blocks and lstrip_blocks on). Rendering is bounded by
 * struct aios_jinja_limits, so a hostile template ends with AIOS_ELIMIT
 * instead of hanging or exhausting memory.
 */
#ifndef AIOS_LLM_CHAT_H
#define AIOS_LLM_CHAT_H

#include "base/base.h"

/* ---- Jinja templates ---------------------------------------------------- */

typedef struct aios_jinja_template aios_jinja_template;

struct aios_jinja_limits {
    size_t max_output;  /* bytes of rendered text; also the largest string */
    size_t max_created; /* bytes of strings and list slots created in total */
    uint64_t max_steps; /* evaluation steps (nodes visited, loop iterations) */
    int max_depth;      /* macro calls and captured blocks nested */
    size_t max_list;    /* elements of one list (range(), list * n, ...) */
};

/* 16 MiB output, 512 MiB created (a cumulative count, so it also bounds
 * the time spent copying), 20 M steps, depth 64, lists of 1 M. */
void aios_jinja_limits_default(struct aios_jinja_limits *lim);

#define AIOS_JINJA_MAX_SOURCE ((size_t)1 << 20)

/* Parses a template (at most AIOS_JINJA_MAX_SOURCE bytes). Syntax errors are
 * AIOS_EPARSE with the line: "template line 12: expected 'endfor' ...". */
int aios_jinja_parse(const char *src, size_t len, aios_jinja_template **out, struct aios_err *err);
void aios_jinja_free(aios_jinja_template *t);

/* Renders with the variables of the JSON object ctx (not modified: the
 * template works on a copy). now is the clock strftime_now() reads (Unix
 * seconds, UTC). lim NULL = defaults. *out (aios_free) is NUL-terminated,
 * *out_len excludes the NUL. Errors the template causes start "template line N: ".
 * Codes: AIOS_EINVAL the template called raise_exception(msg) (the message
 * is msg); AIOS_EFORMAT a runtime error (undefined value used, wrong types,
 * unknown filter); AIOS_ELIMIT a limit was reached; AIOS_ENOMEM. A parsed
 * template is read-only: several threads may render it at once. */
int aios_jinja_render(const aios_jinja_template *t, const json_t *ctx, int64_t now,
                      const struct aios_jinja_limits *lim, char **out, size_t *out_len,
                      struct aios_err *err);

/* ---- chat --------------------------------------------------------------- */

/* Built-in templates for model files that carry none: "llama2", "llama3",
 * "chatml", "chatglm3", "chatglm4", "baichuan2". Returns the Jinja source,
 * or NULL for an unknown name. */
const char *aios_chat_template_builtin(const char *name);
/* NULL-terminated list of the built-in names. */
const char *const *aios_chat_template_builtin_names(void);

/* Builds the context chat templates expect: messages (deep-copied and
 * prepared the way llama.cpp's chat layer prepares them: a tool call's
 * JSON-string `arguments` become an object; an assistant message with tool
 * calls and null content gets content ""; typed content, an array of parts,
 * becomes its text parts joined by newlines; role "developer" becomes
 * "system"), tools (may be NULL),
 * add_generation_prompt, bos_token, eos_token. *out is a new reference. */
int aios_chat_context_build(const json_t *messages, const json_t *tools, bool add_generation_prompt,
                            const char *bos_token, const char *eos_token, json_t **out,
                            struct aios_err *err);

/* Parses and renders source with ctx in one call (see aios_jinja_render). */
int aios_chat_template_render(const char *src, size_t len, const json_t *ctx, int64_t now,
                              char **out, size_t *out_len, struct aios_err *err);

#endif
