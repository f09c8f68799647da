/*
 * libFuzzer target for the tokenizers. The first input byte picks a small
 * vocabulary built here (SPM with byte fallback, byte-level BPE under
 * several pre-tokenizers, WordPiece) and the flags; the rest is the text.
 * Oracles: tokenize succeeds, every id is inside the vocabulary, and for SPM
 * and BPE without special-token parsing decoding gives the input back byte
 * for byte (both are lossless by construction: byte fallback and byte-level
 * BPE), except SPM texts holding U+2581, which SPM decodes as a space.
 */
#include "gguf/gguf.h"
#include "llm/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SP "\xe2\x96\x81"
#define N_PRE 5
static const char *const pres[N_PRE] = {"gpt-2", "llama-bpe", "qwen2", "deepseek-llm", "falcon"};
static aios_llm_vocab *spm, *wpm, *bpe[N_PRE];

static aios_llm_vocab *load(aios_gguf_writer *w)
{
    struct aios_buf b;
    aios_buf_init(&b, 0);
    aios_gguf *g = NULL;
    aios_llm_vocab *v = NULL;
    struct aios_err err;
    if (aios_gguf_writer_to_buf(w, &b, &err) || aios_gguf_open_mem(b.data, b.len, &g, &err) ||
        aios_llm_vocab_load(g, &v, &err)) {
        fprintf(stderr, "fuzz_tokenizer setup: %s\n", err.msg);
        abort();
    }
    aios_gguf_close(g);
    aios_gguf_writer_destroy(w);
    aios_buf_free(&b);
    return v;
}

static void setup(void)
{
    static char bytes[256][8], chars[256][4];
    const char *toks[300];
    float scores[300];
    int32_t types[300];

    /* SPM: specials, 256 byte tokens, some pieces */
    aios_gguf_writer *w;
    aios_gguf_writer_create(&w, NULL);
    int n = 0;
    toks[n] = "<unk>", scores[n] = 0, types[n++] = 2;
    toks[n] = "<s>", scores[n] = 0, types[n++] = 3;
    toks[n] = "</s>", scores[n] = 0, types[n++] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[n] = bytes[b], scores[n] = 0, types[n++] = 6;
    }
    static const char *const pieces[] = {SP, "a", "b", SP "a", "ab", SP "ab", "\xc3\xa9", SP SP};
    for (int i = 0; i < 8; i++)
        toks[n] = pieces[i], scores[n] = (float)-i, types[n++] = 1;
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n, NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.scores", AIOS_GGUF_FLOAT32, scores, (uint64_t)n,
                             NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types, (uint64_t)n,
                             NULL);
    spm = load(w);

    /* BPE: the byte-level alphabet, a few merges, a control and a user-defined token */
    n = 0;
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        uint32_t cp = keep ? (uint32_t)b : next++;
        memset(chars[b], 0, 4);
        if (cp < 0x80)
            chars[b][0] = (char)cp;
        else
            chars[b][0] = (char)(0xC0 | (cp >> 6)), chars[b][1] = (char)(0x80 | (cp & 0x3F));
        toks[n] = chars[b], types[n++] = 1;
    }
    toks[n] = "ab", types[n++] = 1;
    toks[n] = "\xc4\xa0"
              "ab",
    types[n++] = 1;
    toks[n] = "bc", types[n++] = 1;
    toks[n] = "<|endoftext|>", types[n++] = 3;
    toks[n] = "<user>", types[n++] = 4;
    static const char *const merges[] = {"b c", "a b", "\xc4\xa0 ab"};
    for (int p = 0; p < N_PRE; p++) {
        aios_gguf_writer_create(&w, NULL);
        aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", NULL);
        aios_gguf_writer_set_str(w, "tokenizer.ggml.pre", pres[p], NULL);
        aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n, NULL);
        aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types,
                                 (uint64_t)n, NULL);
        aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 3, NULL);
        aios_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 259, NULL);
        aios_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 259, NULL);
        bpe[p] = load(w);
    }

    /* WordPiece */
    static const char *const wt[] = {"[PAD]", "[UNK]",    "[CLS]", "[SEP]",           SP "hel",
                                     "lo",    SP "hello", SP ",",  SP "\xe4\xb8\xad", "\xc3\xa9"};
    int32_t wty[10] = {3, 3, 3, 3, 1, 1, 1, 1, 1, 1};
    aios_gguf_writer_create(&w, NULL);
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "bert", NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", wt, 10, NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, wty, 10, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 1, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.cls_token_id", 2, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.seperator_token_id", 3, NULL);
    wpm = load(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!spm)
        setup();
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    unsigned kind = sel % (2 + N_PRE);
    aios_llm_vocab *v = kind == 0 ? spm : kind == 1 ? wpm : bpe[kind - 2];
    unsigned flags = (sel >> 4) & 3u; /* ADD_SPECIAL, PARSE_SPECIAL */
    struct aios_llm_tokens t;
    aios_llm_tokens_init(&t, 0);
    struct aios_err err;
    if (aios_llm_tokenize(v, text, len, flags, &t, &err) != AIOS_OK) {
        fprintf(stderr, "tokenize failed: %s\n", err.msg);
        abort();
    }
    for (size_t i = 0; i < t.n; i++)
        if (t.ids[i] < 0 || t.ids[i] >= aios_llm_vocab_n_tokens(v))
            abort();
    struct aios_buf out;
    aios_buf_init(&out, 0);
    if (aios_llm_detokenize(v, t.ids, t.n, AIOS_LLM_DETOK_REMOVE_SPECIAL, &out, &err) != AIOS_OK)
        abort();
    /* SPM decodes U+2581 to a space, so texts holding one are not expected back */
    bool lossless = kind != 1 && !(kind == 0 && memmem(text, len, SP, 3));
    if (lossless && !(flags & AIOS_LLM_TOK_PARSE_SPECIAL) && !(flags & AIOS_LLM_TOK_ADD_SPECIAL)) {
        if (out.len != len || (len && memcmp(out.data, text, len) != 0)) {
            fprintf(stderr, "round trip differs (vocab %u): %zu bytes in, %zu out\n", kind, len,
                    out.len);
            abort();
        }
    }
    aios_buf_free(&out);
    aios_llm_tokens_free(&t);
    return 0;
}
