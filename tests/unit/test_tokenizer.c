/*
 * Tokenizer unit tests on small vocabularies built here as in-memory GGUF
 * files: SPM merges by score and byte fallback, byte-level BPE merges by
 * rank, WordPiece normalisation and [UNK], special-token parsing on and
 * off, BOS/EOS framing, empty and invalid UTF-8 input, bounded outputs,
 * malformed metadata and allocation failures.
 */
#include <pthread.h>

#include "gguf/gguf.h"
#include "llm/llm.h"
#include "test.h"

#define SP "\xe2\x96\x81" /* U+2581, SentencePiece's space */

struct vb {
    aios_gguf_writer *w;
    struct aios_buf file;
    aios_gguf *g;
};

static aios_gguf_writer *writer(void)
{
    aios_gguf_writer *w = NULL;
    CHECK(aios_gguf_writer_create(&w, NULL) == AIOS_OK);
    aios_gguf_writer_set_str(w, "general.architecture", "llama", NULL);
    return w;
}

/* Finishes the file in memory and loads a vocab from it; returns the status. */
static int load(aios_gguf_writer *w, aios_llm_vocab **v, struct aios_err *err)
{
    struct aios_buf b;
    aios_buf_init(&b, 0);
    *v = NULL;
    int rc = aios_gguf_writer_to_buf(w, &b, err);
    aios_gguf_writer_destroy(w);
    CHECK(rc == AIOS_OK);
    aios_gguf *g = NULL;
    if (rc == AIOS_OK)
        rc = aios_gguf_open_mem(b.data, b.len, &g, err);
    if (rc == AIOS_OK) {
        rc = aios_llm_vocab_load(g, v, err);
        aios_gguf_close(g);
    }
    aios_buf_free(&b);
    return rc;
}

/* ---- SPM ------------------------------------------------------------------------ */

/* ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the pieces. */
enum {
    S_UNK = 0,
    S_BOS = 1,
    S_EOS = 2,
    S_BYTE = 3,
    S_SP = 259,
    S_A,
    S_B,
    S_SPA,
    S_AB,
    S_SPAB,
    S_USER
};

static aios_gguf_writer *spm_writer(void)
{
    aios_gguf_writer *w = writer();
    static char bytes[256][8];
    const char *toks[270];
    float scores[270];
    int32_t types[270];
    int n = 0;
    toks[n] = "<unk>", scores[n] = 0, types[n++] = 2;
    toks[n] = "<s>", scores[n] = 0, types[n++] = 3;
    toks[n] = "</s>", scores[n] = 0, types[n++] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[n] = bytes[b], scores[n] = 0, types[n++] = 6;
    }
    toks[n] = SP, scores[n] = -1, types[n++] = 1;
    toks[n] = "a", scores[n] = -2, types[n++] = 1;
    toks[n] = "b", scores[n] = -3, types[n++] = 1;
    toks[n] = SP "a", scores[n] = -5, types[n++] = 1;
    toks[n] = "ab", scores[n] = -4, types[n++] = 1; /* beats "▁a" in "▁ab" */
    toks[n] = SP "ab", scores[n] = -6, types[n++] = 1;
    toks[n] = "<|user|>", scores[n] = 0, types[n++] = 4;
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n, NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.scores", AIOS_GGUF_FLOAT32, scores, (uint64_t)n,
                             NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types, (uint64_t)n,
                             NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2, NULL);
    return w;
}

static bool ids_are(const struct aios_llm_tokens *t, const int32_t *want, size_t n)
{
    if (t->n != n) {
        fprintf(stderr, "  got %zu ids:", t->n);
        for (size_t i = 0; i < t->n; i++)
            fprintf(stderr, " %d", t->ids[i]);
        fprintf(stderr, "\n");
        return false;
    }
    return n == 0 || memcmp(t->ids, want, n * sizeof *want) == 0;
}

#define EXPECT_IDS(v, text, flags, ...)                                                            \
    do {                                                                                           \
        const int32_t want_[] = {__VA_ARGS__};                                                     \
        struct aios_llm_tokens t_;                                                                 \
        aios_llm_tokens_init(&t_, 0);                                                              \
        CHECK(aios_llm_tokenize(v, text, sizeof(text) - 1, flags, &t_, NULL) == AIOS_OK);          \
        CHECK_MSG(ids_are(&t_, want_, sizeof want_ / sizeof *want_), "\"%s\"", text);              \
        aios_llm_tokens_free(&t_);                                                                 \
    } while (0)

static char *detok(const aios_llm_vocab *v, const int32_t *ids, size_t n, unsigned flags)
{
    struct aios_buf b;
    aios_buf_init(&b, 0);
    aios_buf_puts(&b, "");
    CHECK(aios_llm_detokenize(v, ids, n, flags, &b, NULL) == AIOS_OK);
    return aios_buf_detach(&b);
}

static void test_spm(void)
{
    aios_llm_vocab *v;
    struct aios_err err;
    CHECK(load(spm_writer(), &v, &err) == AIOS_OK);
    if (!v)
        return;
    CHECK_EQ_INT(aios_llm_vocab_type(v), AIOS_LLM_VOCAB_SPM);
    CHECK_EQ_INT(aios_llm_vocab_n_tokens(v), S_USER + 1);
    const struct aios_llm_vocab_special *sp = aios_llm_vocab_special(v);
    CHECK(sp->add_bos && !sp->add_eos && sp->add_space_prefix); /* SPM defaults */
    CHECK_EQ_INT(sp->bos, S_BOS);

    /* "▁ab": "ab" (-4) merges before "▁a" (-5), then "▁" + "ab" -> "▁ab" */
    EXPECT_IDS(v, "ab", 0, S_SPAB);
    /* "a" alone gets the prefix space */
    EXPECT_IDS(v, "a", 0, S_SPA);
    /* b has no merge with ▁ -> ▁ b */
    EXPECT_IDS(v, "b", 0, S_SP, S_B);
    /* é is not in the vocab: byte fallback C3 A9 */
    EXPECT_IDS(v, "\xc3\xa9", 0, S_SP, S_BYTE + 0xC3, S_BYTE + 0xA9);
    /* empty text: nothing, or BOS alone with ADD_SPECIAL */
    EXPECT_IDS(v, "", 0);
    EXPECT_IDS(v, "", AIOS_LLM_TOK_ADD_SPECIAL, S_BOS);
    EXPECT_IDS(v, "a", AIOS_LLM_TOK_ADD_SPECIAL, S_BOS, S_SPA);
    /* control text only with PARSE_SPECIAL; the fragment after it gets a space again */
    EXPECT_IDS(v, "<s>a", AIOS_LLM_TOK_PARSE_SPECIAL, S_BOS, S_SPA);
    EXPECT_IDS(v, "a</s>", AIOS_LLM_TOK_PARSE_SPECIAL, S_SPA, S_EOS);
    {
        struct aios_llm_tokens t;
        aios_llm_tokens_init(&t, 0);
        CHECK(aios_llm_tokenize(v, "<s>a", 4, 0, &t, NULL) == AIOS_OK);
        bool has_bos = false;
        for (size_t i = 0; i < t.n; i++)
            has_bos |= t.ids[i] == S_BOS;
        CHECK(!has_bos && t.n > 2); /* "<", "s", ">" as bytes */
        aios_llm_tokens_free(&t);
    }
    /* user-defined tokens are matched with or without PARSE_SPECIAL */
    EXPECT_IDS(v, "a<|user|>a", 0, S_SPA, S_USER, S_SPA);

    /* decoding: prefix space removed, bytes joined back */
    {
        const int32_t ids[] = {S_SP, S_BYTE + 0xC3, S_BYTE + 0xA9, S_SPAB};
        char *s = detok(v, ids, 4, 0);
        CHECK_EQ_STR(s, "\xc3\xa9 ab");
        aios_free(s);
        const int32_t ids2[] = {S_BOS, S_SPA, S_EOS};
        s = detok(v, ids2, 3, 0);
        CHECK_EQ_STR(s, " a"); /* the space goes with the first token, here BOS */
        aios_free(s);
        s = detok(v, ids2, 3, AIOS_LLM_DETOK_REMOVE_SPECIAL);
        CHECK_EQ_STR(s, " a"); /* llama.cpp keeps the space once BOS is removed */
        aios_free(s);
        s = detok(v, ids2, 3, AIOS_LLM_DETOK_UNPARSE_SPECIAL);
        CHECK_EQ_STR(s, "<s> a</s>");
        aios_free(s);
        const int32_t bad[] = {S_SPA, 100000};
        struct aios_buf b;
        aios_buf_init(&b, 0);
        CHECK(aios_llm_detokenize(v, bad, 2, 0, &b, &err) == AIOS_EINVAL);
        CHECK(strstr(err.msg, "100000") != NULL);
        CHECK(aios_llm_token_piece(v, -1, false, &b, NULL) == AIOS_EINVAL);
        aios_buf_free(&b);
    }
    aios_llm_vocab_free(v);
}

static void test_spm_invalid_utf8_and_limits(void)
{
    aios_llm_vocab *v;
    CHECK(load(spm_writer(), &v, NULL) == AIOS_OK);
    if (!v)
        return;
    /* stray continuation byte, truncated sequence, 0xFF: all byte tokens,
     * and decoding gives the same bytes back */
    static const char bad[] = "a\x80 b\xe2\x96\xff";
    struct aios_llm_tokens t;
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, bad, sizeof bad - 1, 0, &t, NULL) == AIOS_OK);
    char *s = detok(v, t.ids, t.n, 0);
    CHECK(s && strlen(s) == sizeof bad - 1 && memcmp(s, bad, sizeof bad - 1) == 0);
    aios_free(s);
    aios_llm_tokens_free(&t);

    /* a bounded output: too many ids is AIOS_ELIMIT and out keeps what it had */
    aios_llm_tokens_init(&t, 4);
    CHECK(aios_llm_tokens_push(&t, 7) == AIOS_OK);
    struct aios_err err;
    CHECK(aios_llm_tokenize(v, "b b b b b", 9, 0, &t, &err) == AIOS_ELIMIT);
    CHECK_EQ_INT(t.n, 1);
    CHECK_EQ_INT(t.ids[0], 7);
    aios_llm_tokens_free(&t);
    /* a text longer than the limit is refused before it is read */
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, "x", AIOS_LLM_TOKENIZE_MAX_BYTES + 1, 0, &t, &err) == AIOS_ELIMIT);
    CHECK_EQ_INT(t.n, 0);
    aios_llm_tokens_free(&t);

    /* a long text (1 MiB of mixed bytes) tokenizes and decodes back */
    size_t n = 1 << 20;
    char *big = aios_malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        static const char alphabet[] = "ab  \xc3\xa9\n<|user|>";
        big[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
    }
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, big, n, 0, &t, NULL) == AIOS_OK);
    CHECK(t.n > n / 8);
    struct aios_buf b;
    aios_buf_init(&b, 0);
    CHECK(aios_llm_detokenize(v, t.ids, t.n, 0, &b, NULL) == AIOS_OK);
    CHECK(b.len == n && memcmp(b.data, big, n) == 0);
    aios_buf_free(&b);
    aios_llm_tokens_free(&t);
    aios_free(big);
    aios_llm_vocab_free(v);
}

static void test_spm_flags(void)
{
    aios_gguf_writer *w = spm_writer();
    aios_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false, NULL);
    aios_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", true, NULL);
    aios_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false, NULL);
    aios_llm_vocab *v;
    CHECK(load(w, &v, NULL) == AIOS_OK);
    if (!v)
        return;
    EXPECT_IDS(v, "a", AIOS_LLM_TOK_ADD_SPECIAL, S_A, S_EOS);
    EXPECT_IDS(v, "ab", 0, S_AB);
    const int32_t ids[] = {S_SPA};
    char *s = detok(v, ids, 1, 0);
    CHECK_EQ_STR(s, " a"); /* no prefix space to remove */
    aios_free(s);
    aios_llm_vocab_free(v);
}

/* ---- BPE ------------------------------------------------------------------------ */

static aios_gguf_writer *bpe_writer(const char *pre)
{
    aios_gguf_writer *w = writer();
    /* the 256 byte-level characters, then merged tokens */
    static char chars[256][4];
    const char *toks[270];
    int32_t types[270];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t cp;
        bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        static uint32_t next = 256;
        if (b == 0)
            next = 256;
        cp = keep ? (uint32_t)b : next++;
        memset(chars[b], 0, 4);
        if (cp < 0x80) {
            chars[b][0] = (char)cp;
        } else {
            chars[b][0] = (char)(0xC0 | (cp >> 6));
            chars[b][1] = (char)(0x80 | (cp & 0x3F));
        }
        toks[n] = chars[b], types[n++] = 1;
    }
    toks[n] = "ab", types[n++] = 1; /* 256 */
    toks[n] = "\xc4\xa0"
              "ab",
    types[n++] = 1;                            /* 257 "Ġab" */
    toks[n] = "bc", types[n++] = 1;            /* 258 */
    toks[n] = "<|endoftext|>", types[n++] = 3; /* 259 */
    static const char *const merges[] = {"b c", "a b", "\xc4\xa0 ab"};
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", NULL);
    aios_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre, NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n, NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types, (uint64_t)n,
                             NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 3, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 259, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 259, NULL);
    return w;
}

/* id of the byte-level token of byte b in bpe_writer's vocab */
static int32_t bt(const aios_llm_vocab *v, unsigned char b)
{
    char s[4] = {0};
    uint32_t cp = b;
    bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    if (!keep) {
        uint32_t next = 256;
        for (unsigned i = 0; i < b; i++)
            if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE)))
                next++;
        cp = next;
    }
    if (cp < 0x80)
        s[0] = (char)cp;
    else
        s[0] = (char)(0xC0 | (cp >> 6)), s[1] = (char)(0x80 | (cp & 0x3F));
    return aios_llm_vocab_find(v, s, strlen(s));
}

static void test_bpe(void)
{
    aios_llm_vocab *v;
    struct aios_err err;
    CHECK(load(bpe_writer("gpt-2"), &v, &err) == AIOS_OK);
    if (!v)
        return;
    CHECK_EQ_INT(aios_llm_vocab_type(v), AIOS_LLM_VOCAB_BPE);
    CHECK(!aios_llm_vocab_special(v)->add_bos);
    /* "abc": "b c" has the lower rank (0), so a + bc, not ab + c */
    EXPECT_IDS(v, "abc", 0, bt(v, 'a'), 258);
    /* " ab" is one word for the gpt-2 pattern: Ġ a b -> Ġ ab -> Ġab */
    EXPECT_IDS(v, "ab ab", 0, 256, 257);
    /* the pre-tokenizer splits letters from digits and punctuation */
    EXPECT_IDS(v, "ab1!", 0, 256, bt(v, '1'), bt(v, '!'));
    EXPECT_IDS(v, "", AIOS_LLM_TOK_ADD_SPECIAL);
    EXPECT_IDS(v, "<|endoftext|>", AIOS_LLM_TOK_PARSE_SPECIAL, 259);
    /* invalid UTF-8 reaches byte-level BPE unchanged and decodes back */
    static const char bad[] = "ab\xff\xc3 \x80";
    struct aios_llm_tokens t;
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, bad, sizeof bad - 1, 0, &t, NULL) == AIOS_OK);
    char *s = detok(v, t.ids, t.n, 0);
    CHECK(s && strlen(s) == sizeof bad - 1 && memcmp(s, bad, sizeof bad - 1) == 0);
    aios_free(s);
    aios_llm_tokens_free(&t);

    /* llama.cpp's clean-up of spaces, only when asked */
    static const char spaced[] = "a , b ' c 's . 't";
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, spaced, sizeof spaced - 1, 0, &t, NULL) == AIOS_OK);
    s = detok(v, t.ids, t.n, AIOS_LLM_DETOK_CLEAN_SPACES);
    CHECK_EQ_STR(s, "a, b'c's. 't");
    aios_free(s);
    s = detok(v, t.ids, t.n, 0);
    CHECK_EQ_STR(s, spaced);
    aios_free(s);
    aios_llm_tokens_free(&t);
    CHECK(aios_llm_vocab_special(v)->clean_spaces); /* gpt-2 wants it */

    /* one 60000-byte word (letters only): a single merge heap, bounded, exact */
    size_t wn = 60000;
    char *word = aios_malloc(wn);
    for (size_t i = 0; i < wn; i++)
        word[i] = "abcab"[i % 5];
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, word, wn, 0, &t, NULL) == AIOS_OK);
    CHECK_EQ_INT(t.n, wn / 5 * 3); /* "abcab": "b c" ranks first -> a bc ab */
    s = detok(v, t.ids, t.n, 0);
    CHECK(s && strlen(s) == wn && memcmp(s, word, wn) == 0);
    aios_free(s);
    aios_llm_tokens_free(&t);
    aios_free(word);
    aios_llm_vocab_free(v);

    /* Tekken's pattern backtracks through long letter runs: PCRE2's default
     * 32 KiB JIT stack runs out and the split retries with a larger one */
    CHECK(load(bpe_writer("tekken"), &v, &err) == AIOS_OK);
    if (v) {
        size_t ln = 200000;
        char *letters = aios_malloc(ln);
        memset(letters, 'a', ln);
        aios_llm_tokens_init(&t, 0);
        CHECK_MSG(aios_llm_tokenize(v, letters, ln, 0, &t, &err) == AIOS_OK, "%s", err.msg);
        s = detok(v, t.ids, t.n, 0);
        CHECK(s && strlen(s) == ln && memcmp(s, letters, ln) == 0);
        aios_free(s);
        aios_llm_tokens_free(&t);
        aios_free(letters);
        aios_llm_vocab_free(v);
    }

    /* llama-bpe adds BOS by default and looks whole words up first */
    CHECK(load(bpe_writer("llama-bpe"), &v, &err) == AIOS_OK);
    if (v) {
        CHECK(aios_llm_vocab_special(v)->add_bos);
        EXPECT_IDS(v, "ab", AIOS_LLM_TOK_ADD_SPECIAL, 259, 256);
        aios_llm_vocab_free(v);
    }
}

/* ---- WordPiece ------------------------------------------------------------------- */

static void test_wpm(void)
{
    aios_gguf_writer *w = writer();
    static const char *const toks[] = {
        "[PAD]",    "[UNK]",    "[CLS]", "[SEP]",   "[MASK]",          SP "hel", "lo",
        SP "hello", SP "world", SP ",",  SP "cafe", SP "\xe4\xb8\xad", SP "!"};
    int32_t types[13] = {3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "bert", NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 13, NULL);
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, types, 13, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 1, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.cls_token_id", 2, NULL);
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.seperator_token_id", 3, NULL);
    aios_llm_vocab *v;
    struct aios_err err;
    CHECK_MSG(load(w, &v, &err) == AIOS_OK, "%s", err.msg);
    if (!v)
        return;
    /* longest match first: "▁hello" beats "▁hel" + "lo" */
    EXPECT_IDS(v, "Hello, WORLD!", 0, 7, 9, 8, 12);
    /* accents stripped after NFD, CJK alone, unknown words [UNK] */
    EXPECT_IDS(v,
               "Caf\xc3\xa9 \xe4\xb8\xad"
               "xyz",
               AIOS_LLM_TOK_ADD_SPECIAL, 2, 10, 11, 1, 3);
    EXPECT_IDS(v, "  \t\n", 0);
    EXPECT_IDS(v, "", AIOS_LLM_TOK_ADD_SPECIAL, 2, 3);
    const int32_t ids[] = {2, 5, 6, 8, 3};
    char *s = detok(v, ids, 5, AIOS_LLM_DETOK_REMOVE_SPECIAL);
    CHECK_EQ_STR(s, "hello world");
    aios_free(s);
    aios_llm_vocab_free(v);
}

/* ---- malformed metadata ------------------------------------------------------------ */

static void test_bad_metadata(void)
{
    aios_llm_vocab *v;
    struct aios_err err;

    aios_gguf_writer *w = writer();
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EFORMAT); /* no tokenizer.ggml.model */
    CHECK(strstr(err.msg, "tokenizer.ggml.model") != NULL);

    w = writer();
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "t5x", NULL);
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EUNSUPPORTED);

    w = bpe_writer("no-such-pre");
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EUNSUPPORTED);
    CHECK(strstr(err.msg, "no-such-pre") != NULL);

    w = bpe_writer("gpt-2");
    aios_gguf_writer_remove_kv(w, "tokenizer.ggml.merges", NULL);
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, "merges") != NULL);

    w = spm_writer();
    float few[3] = {0, 0, 0};
    aios_gguf_writer_set_arr(w, "tokenizer.ggml.scores", AIOS_GGUF_FLOAT32, few, 3, NULL);
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, "scores") != NULL);

    w = spm_writer();
    aios_gguf_writer_set_str(w, "tokenizer.ggml.tokens", "not an array", NULL);
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EFORMAT);

    w = writer();
    static const char *const dup[] = {"a", "b", "a"};
    aios_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", NULL);
    aios_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", dup, 3, NULL);
    CHECK_EQ_INT(load(w, &v, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, "duplicate") != NULL);

    w = spm_writer();
    aios_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 999999, NULL);
    CHECK_EQ_INT(load(w, &v, &err), AIOS_OK); /* out-of-range ids keep the default */
    if (v) {
        CHECK_EQ_INT(aios_llm_vocab_special(v)->bos, 1);
        aios_llm_vocab_free(v);
    }
}

/* ---- allocation failures ------------------------------------------------------------ */

static void test_alloc_failures(void)
{
    aios_llm_vocab *v;
    CHECK(load(bpe_writer("llama-bpe"), &v, NULL) == AIOS_OK);
    if (!v)
        return;
    static const char text[] = "ab abc <|endoftext|> ab1!";
    int failures = 0;
    for (long k = 1; k < 64; k++) {
        struct aios_llm_tokens t;
        aios_llm_tokens_init(&t, 0);
        aios_mem_fail_after(k);
        int rc = aios_llm_tokenize(v, text, sizeof text - 1, AIOS_LLM_TOK_PARSE_SPECIAL, &t, NULL);
        aios_mem_fail_after(0);
        if (rc != AIOS_OK) {
            failures++;
            CHECK(rc == AIOS_ENOMEM);
        }
        aios_llm_tokens_free(&t);
    }
    CHECK(failures > 0); /* the injection reached the tokenizer */
    aios_llm_vocab_free(v);
    /* loading: every early failure is a clean error */
    struct aios_buf file;
    aios_buf_init(&file, 0);
    aios_gguf_writer *w = spm_writer();
    CHECK(aios_gguf_writer_to_buf(w, &file, NULL) == AIOS_OK);
    aios_gguf_writer_destroy(w);
    aios_gguf *g = NULL;
    CHECK(aios_gguf_open_mem(file.data, file.len, &g, NULL) == AIOS_OK);
    int load_failures = 0;
    for (long k = 1; g && k < 40; k++) {
        aios_mem_fail_after(k);
        int rc = aios_llm_vocab_load(g, &v, NULL);
        aios_mem_fail_after(0);
        if (rc == AIOS_OK)
            aios_llm_vocab_free(v);
        else
            load_failures++;
    }
    CHECK(load_failures > 0);
    aios_gguf_close(g);
    aios_buf_free(&file);
}

/* ---- one vocab, many threads --------------------------------------------------------- */

struct thr {
    const aios_llm_vocab *v;
    const char *text;
    size_t len;
    struct aios_llm_tokens want;
    int bad;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    for (int r = 0; r < 20; r++) {
        struct aios_llm_tokens got;
        aios_llm_tokens_init(&got, 0);
        if (aios_llm_tokenize(t->v, t->text, t->len, AIOS_LLM_TOK_PARSE_SPECIAL, &got, NULL) ||
            got.n != t->want.n || memcmp(got.ids, t->want.ids, got.n * sizeof *got.ids) != 0)
            t->bad++;
        aios_llm_tokens_free(&got);
    }
    return NULL;
}

static void test_threads(void)
{
    aios_llm_vocab *v;
    CHECK(load(bpe_writer("qwen2"), &v, NULL) == AIOS_OK);
    if (!v)
        return;
    /* long enough for the word cache, with specials, digits and bytes */
    struct aios_buf text;
    aios_buf_init(&text, 0);
    for (int i = 0; i < 400; i++)
        aios_buf_printf(&text, "abc ab%d <|endoftext|> \xc3\xa9\xe4\xb8\xad ", i);
    struct thr th[4];
    pthread_t tid[4];
    for (int i = 0; i < 4; i++) {
        th[i] = (struct thr){v, text.data, text.len, {0}, 0};
        aios_llm_tokens_init(&th[i].want, 0);
        CHECK(aios_llm_tokenize(v, text.data, text.len, AIOS_LLM_TOK_PARSE_SPECIAL, &th[i].want,
                                NULL) == AIOS_OK);
    }
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&tid[i], NULL, thr_main, &th[i]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        CHECK_EQ_INT(th[i].bad, 0);
        aios_llm_tokens_free(&th[i].want);
    }
    aios_buf_free(&text);
    aios_llm_vocab_free(v);
}

int main(void)
{
    TEST_RUN(test_spm);
    TEST_RUN(test_spm_invalid_utf8_and_limits);
    TEST_RUN(test_spm_flags);
    TEST_RUN(test_bpe);
    TEST_RUN(test_wpm);
    TEST_RUN(test_bad_metadata);
    TEST_RUN(test_alloc_failures);
    TEST_RUN(test_threads);
    TEST_EXIT();
}
