/*
 * llm: model loading by architecture, forward pass, KV cache, tokenizers,
 * chat templates, sampling.
 *
 * This header is shared by the parts of the module; each part has its own
 * block below. Internals live in private headers next to the .c files
 * (tokenizer.h for the tokenizers).
 */
#ifndef AIOS_LLM_H
#define AIOS_LLM_H

#include "base/base.h"
#include "gguf/gguf.h"

/* Sampling and streaming text helpers (sample.c). */
#include "llm/llm_sample.h"
#include "llm/llm_model.h"
/* Chat templates (Jinja engine, built-in templates): */
#include "llm/llm_chat.h"
/* Constrained JSON decoding and tool-call parsing: */
#include "llm/llm_guide.h"

/* ======================================================================== */
/* Tokenizers (tokenizer.c, tok_spm.c, tok_bpe.c, tok_wpm.c, tok_pre.c)      */
/* ======================================================================== */

/* A vocabulary and the tokenizer it implies, loaded from the tokenizer.*
 * keys of a GGUF file: SentencePiece-style BPE with scores and byte fallback
 * (tokenizer.ggml.model "llama"), byte-level BPE with merge ranks and a
 * pre-tokenizer chosen by tokenizer.ggml.pre ("gpt2"), and WordPiece
 * ("bert"). Encoding follows llama.cpp's llama_tokenize exactly (the
 * conformance test holds it to llama.cpp's and Hugging Face's ids).
 *
 * A vocab is immutable once loaded: any number of threads may tokenize and
 * detokenize with one vocab at the same time. */
typedef struct aios_llm_vocab aios_llm_vocab;

enum aios_llm_vocab_type {
    AIOS_LLM_VOCAB_SPM = 1, /* "llama" */
    AIOS_LLM_VOCAB_BPE = 2, /* "gpt2" */
    AIOS_LLM_VOCAB_WPM = 3, /* "bert" */
};

/* Token attributes (a bit set). The GGUF token types map to one bit each;
 * loading adds CONTROL to end-of-generation tokens the file marks otherwise
 * (as llama.cpp does) and RSTRIP/LSTRIP where a model needs them. */
#define AIOS_LLM_TOKEN_UNDEFINED 0u
#define AIOS_LLM_TOKEN_UNKNOWN (1u << 0)
#define AIOS_LLM_TOKEN_UNUSED (1u << 1)
#define AIOS_LLM_TOKEN_NORMAL (1u << 2)
#define AIOS_LLM_TOKEN_CONTROL (1u << 3)
#define AIOS_LLM_TOKEN_USER_DEFINED (1u << 4)
#define AIOS_LLM_TOKEN_BYTE (1u << 5)
#define AIOS_LLM_TOKEN_LSTRIP (1u << 7)
#define AIOS_LLM_TOKEN_RSTRIP (1u << 8)

/* Special token ids; -1 where the vocabulary has none. */
struct aios_llm_vocab_special {
    int32_t bos, eos, eot, eom, unk, sep, pad, cls, mask, nl;
    bool add_bos;          /* tokenize with ADD_SPECIAL puts BOS first */
    bool add_eos;          /* ... and EOS last */
    bool add_space_prefix; /* SPM: a space is prepended to the text */
    bool clean_spaces;     /* decoding should use AIOS_LLM_DETOK_CLEAN_SPACES (llama.cpp does) */
};

/* Loads the vocabulary of an open GGUF file (which may be closed afterwards:
 * the vocab copies what it keeps). AIOS_EFORMAT names the bad key when the
 * metadata is missing or malformed, AIOS_EUNSUPPORTED for tokenizer models or
 * pre-tokenizers this build does not know. *out: free with
 * aios_llm_vocab_free. */
int aios_llm_vocab_load(const aios_gguf *g, aios_llm_vocab **out, struct aios_err *err);
/* Opens the file, loads the vocabulary, closes the file. */
int aios_llm_vocab_load_file(const char *path, aios_llm_vocab **out, struct aios_err *err);
void aios_llm_vocab_free(aios_llm_vocab *v);

int32_t aios_llm_vocab_n_tokens(const aios_llm_vocab *v);
enum aios_llm_vocab_type aios_llm_vocab_type(const aios_llm_vocab *v);
/* "llama", "gpt2", "bert" and the pre-tokenizer name ("default" if absent). */
const char *aios_llm_vocab_model_name(const aios_llm_vocab *v);
const char *aios_llm_vocab_pre_name(const aios_llm_vocab *v);
const struct aios_llm_vocab_special *aios_llm_vocab_special(const aios_llm_vocab *v);
/* The token's text as stored in the vocabulary (byte-level characters for
 * BPE, U+2581 for spaces in SPM), NUL-terminated; NULL for ids out of range. */
const char *aios_llm_vocab_token_text(const aios_llm_vocab *v, int32_t id);
float aios_llm_vocab_token_score(const aios_llm_vocab *v, int32_t id);
unsigned aios_llm_vocab_token_attr(const aios_llm_vocab *v, int32_t id);
/* True for tokens that end generation (EOS, EOT, <|im_end|>, ...). */
bool aios_llm_vocab_is_eog(const aios_llm_vocab *v, int32_t id);
/* Id of the token whose stored text is exactly text[0..len); -1 if none. */
int32_t aios_llm_vocab_find(const aios_llm_vocab *v, const char *text, size_t len);

/* A growable id array with a hard maximum (like struct aios_buf). */
struct aios_llm_tokens {
    int32_t *ids;
    size_t n;
    size_t cap;
    size_t max; /* 0 = AIOS_LLM_TOKENS_DEFAULT_MAX */
};
#define AIOS_LLM_TOKENS_DEFAULT_MAX ((size_t)1 << 26)
/* Longest text tokenize accepts (AIOS_ELIMIT beyond). */
#define AIOS_LLM_TOKENIZE_MAX_BYTES ((size_t)1 << 26)

void aios_llm_tokens_init(struct aios_llm_tokens *t, size_t max);
void aios_llm_tokens_free(struct aios_llm_tokens *t);
/* AIOS_ELIMIT past max, AIOS_ENOMEM. */
int aios_llm_tokens_push(struct aios_llm_tokens *t, int32_t id);

/* Tokenize flags. */
#define AIOS_LLM_TOK_ADD_SPECIAL 1u   /* BOS/EOS (CLS/SEP for WordPiece) as the metadata says */
#define AIOS_LLM_TOK_PARSE_SPECIAL 2u /* text of control tokens ("<|im_end|>") maps to them */

/* Appends the ids of text[0..len) to out (which keeps what it had). Text is
 * bytes: invalid UTF-8 is tokenized (byte fallback / byte-level BPE), never
 * rejected. Without PARSE_SPECIAL the text of control tokens is ordinary
 * text; user-defined tokens are always matched (as llama.cpp and Hugging Face
 * do). AIOS_ELIMIT when len > AIOS_LLM_TOKENIZE_MAX_BYTES or the ids would
 * pass out->max; out is then left as it was. */
int aios_llm_tokenize(const aios_llm_vocab *v, const char *text, size_t len, unsigned flags,
                      struct aios_llm_tokens *out, struct aios_err *err);

/* Detokenize flags. */
#define AIOS_LLM_DETOK_REMOVE_SPECIAL 1u  /* drop a leading BOS and trailing EOS the vocab adds */
#define AIOS_LLM_DETOK_UNPARSE_SPECIAL 2u /* render control/unknown tokens as their text */
/* Hugging Face's clean_up_tokenization_spaces as llama.cpp does it: " ." " ," " !" " ?" lose
 * their space, " ' " becomes "'", and " 's" " 'm" " 're" " 've" lose theirs. Lossy; the
 * vocab's special.clean_spaces says whether the model wants it. */
#define AIOS_LLM_DETOK_CLEAN_SPACES 4u

/* Appends the text of one token to out. Control and unknown tokens give
 * nothing unless `special`. AIOS_EINVAL for ids out of range. */
int aios_llm_token_piece(const aios_llm_vocab *v, int32_t id, bool special, struct aios_buf *out,
                         struct aios_err *err);
/* Appends the text of ids[0..n) to out: byte tokens and byte-level BPE are
 * turned back into bytes, SPM's U+2581 into spaces, and the space SPM
 * prepends is removed from the first piece. The result can be invalid UTF-8
 * when the ids end inside a character. AIOS_EINVAL for ids out of range,
 * AIOS_ELIMIT when out is full. */
int aios_llm_detokenize(const aios_llm_vocab *v, const int32_t *ids, size_t n, unsigned flags,
                        struct aios_buf *out, struct aios_err *err);

/* ==== end of tokenizers ==== */

/* Embeds n texts with an encoder model (bert): out gets n rows of n_embd
 * floats, pooled and normalised as the model says; *n_tokens (may be NULL)
 * the tokens read. The context must have been created for this model; its
 * sequences are reused. A text longer than the context is AIOS_ELIMIT. */
/* Writes a random-weight llama-architecture GGUF of a preset shape ("tiny",
 * "1b" = Llama 3.2 1B, "8b" = Llama 3.1 8B) in a weight type ("Q4_0",
 * "Q8_0", "Q4_K_M", "F16", ...), with the vocabulary of vocab_path (all its
 * tokenizer.* keys) or, when NULL, a minimal byte-fallback vocabulary. The
 * file is written to a temporary name and renamed when complete. */
int aios_llm_synth(const char *preset, const char *type, const char *vocab_path, uint64_t seed,
                   int n_threads, const char *out, bool progress, struct aios_err *err);
const char *aios_llm_synth_presets(void);

/* The chat template of a model (new string in *out): its own
 * tokenizer.chat_template or, when it has none, a built-in one chosen by
 * architecture and vocabulary, named in *builtin_name (may be NULL). */
int aios_chat_template_for_model(const aios_model *m, const aios_llm_vocab *v, char **out,
                                 const char **builtin_name, struct aios_err *err);

/* Renders a conversation (OpenAI-style messages, optional tools) with the
 * template (parsed once with aios_jinja_parse; rendering only reads it, so
 * several threads may share it), add_generation_prompt on, and appends its
 * tokens to toks (special-token text parsed; BOS added when the template
 * did not write it). */
int aios_chat_tokens(const aios_jinja_template *tpl, const aios_llm_vocab *v,
                     const json_t *messages, const json_t *tools, struct aios_llm_tokens *toks,
                     struct aios_err *err);

int aios_llm_embed(const aios_model *m, const aios_llm_vocab *v, aios_ctx *ctx,
                   const char *const *texts, int n, float *out, int64_t *n_tokens,
                   struct aios_err *err);

#endif
