/*
 * BPE pre-tokenizers: the regular expressions that split text into words
 * before merges run, chosen by tokenizer.ggml.pre. The patterns are the ones
 * llama.cpp uses for each pre-tokenizer type (Hugging Face's, with the
 * case-insensitive contraction group spelled out); several patterns are
 * applied in turn, each splitting every piece the previous one left, and
 * the text between matches stays a piece of its own.
 *
 * Matching uses PCRE2 in UTF + UCP mode (so \s, \p{L}, \p{N} are Unicode),
 * JIT-compiled when the platform allows. Invalid UTF-8 never matches
 * (PCRE2_MATCH_INVALID_UTF), so stray bytes end up in the pieces between
 * matches and still reach byte-level BPE unchanged.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

#include "llm/tokenizer.h"

/* ---- patterns ------------------------------------------------------------------ */

#define P_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define P_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define P_LLAMA3                                                                                   \
    P_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"    \
                   "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define P_QWEN2                                                                                    \
    P_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"         \
                   "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const char *const re_default[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|]+", P_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL,
};
static const char *const re_llama3[] = {P_LLAMA3, NULL};
static const char *const re_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}\\x{f8}-\\x{1ba}\\x{1bc}-\\x{1bf}"
    "\\x{1c4}-\\x{293}\\x{295}-\\x{2af}\\x{370}-\\x{373}\\x{376}-\\x{377}\\x{37b}-\\x{37d}"
    "\\x{37f}\\x{386}\\x{388}-\\x{38a}\\x{38c}\\x{38e}-\\x{3a1}\\x{3a3}-\\x{3f5}"
    "\\x{3f7}-\\x{481}\\x{48a}-\\x{52f}\\x{531}-\\x{556}\\x{10a0}-\\x{10c5}"
    "\\x{13a0}-\\x{13f5}\\x{13f8}-\\x{13fd}\\x{1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}"
    "\\x{1d00}-\\x{1d2b}\\x{1d6b}-\\x{1d77}\\x{1d79}-\\x{1d9a}\\x{1e00}-\\x{1f15}"
    "\\x{1f18}-\\x{1f1d}\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}-\\x{1f57}\\x{1f59}"
    "\\x{1f5b}\\x{1f5d}\\x{1f5f}-\\x{1f7d}\\x{1f80}-\\x{1fb4}\\x{1fb6}-\\x{1fbc}\\x{1fbe}"
    "\\x{1fc2}-\\x{1fc4}\\x{1fc6}-\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}"
    "\\x{1fe0}-\\x{1fec}\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}"
    "\\x{210a}-\\x{2113}\\x{2115}\\x{2119}-\\x{211d}\\x{2124}\\x{2126}\\x{2128}"
    "\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}\\x{2139}\\x{213c}-\\x{213f}\\x{2145}-\\x{2149}"
    "\\x{214e}\\x{2183}-\\x{2184}\\x{2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}"
    "\\x{2cf2}-\\x{2cf3}\\x{a640}-\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}"
    "\\x{a771}-\\x{a787}\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}\\x{fb00}-\\x{fb06}"
    "\\x{fb13}-\\x{fb17}\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}"
    "\\x{104b0}-\\x{104d3}\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}"
    "\\x{118a0}-\\x{118df}\\x{1e900}-\\x{1e943}]+",
    "\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+",
    "\\s+$",
    "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+",
    "\\p{N}+",
    NULL,
};
static const char *const re_deepseek3[] = {
    "\\p{N}{1,3}",
    "[\\x{4e00}-\\x{9fa5}\\x{3040}-\\x{309f}\\x{30a0}-\\x{30ff}]+",
    "[!\"#$%&'()*+,\\-./"
    ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};
static const char *const re_deepseek_coder[] = {
    "[\r\n]",      "\\s?\\p{L}+",
    "\\s?\\p{P}+", "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+",
    "\\p{N}",      NULL,
};
static const char *const re_falcon[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+",
    P_GPT2,
    "[0-9][0-9][0-9]",
    NULL,
};
static const char *const re_starcoder[] = {"\\p{N}", P_GPT2, NULL};
static const char *const re_gpt2[] = {P_GPT2, NULL};
static const char *const re_qwen2[] = {P_QWEN2, NULL};
static const char *const re_bloom[] = {
    " ?[^(\\s|.,!?\xe2\x80\xa6\xe3\x80\x82\xef\xbc\x8c\xe3\x80\x81"
    "\xe0\xa5\xa4\xdb\x94\xd8\x8c)]+",
    NULL};
static const char *const re_viking[] = {
    " ?[^(\\s|.,!?\xe2\x80\xa6\xe3\x80\x82\xef\xbc\x8c\xe3\x80\x81"
    "\xe0\xa5\xa4\xdb\x94\xd8\x8c)]+",
    "\\p{N}", NULL};
static const char *const re_tekken[] = {
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?"
    "=["
    "\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+",
    NULL,
};
static const char *const re_chameleon[] = {
    "<sentinel:[0-9]+>",
    "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
    "([\\t\\n]|    |  )",
    "\\p{N}",
    "[\\p{P}!-/:-@\\[-`{-~]",
    P_GPT2,
    NULL,
};

static const char *const *patterns(enum tok_pre_kind k)
{
    switch (k) {
    case TOK_PRE_LLAMA3:
    case TOK_PRE_DBRX:
    case TOK_PRE_SMAUG:
    case TOK_PRE_CHATGLM4:
        return re_llama3;
    case TOK_PRE_DEEPSEEK_LLM:
        return re_deepseek_llm;
    case TOK_PRE_DEEPSEEK3_LLM:
        return re_deepseek3;
    case TOK_PRE_DEEPSEEK_CODER:
        return re_deepseek_coder;
    case TOK_PRE_FALCON:
        return re_falcon;
    case TOK_PRE_STARCODER:
    case TOK_PRE_REFACT:
    case TOK_PRE_COMMAND_R:
    case TOK_PRE_SMOLLM:
    case TOK_PRE_CODESHELL:
    case TOK_PRE_EXAONE:
    case TOK_PRE_MINERVA:
        return re_starcoder;
    case TOK_PRE_GPT2:
    case TOK_PRE_MPT:
    case TOK_PRE_OLMO:
    case TOK_PRE_JAIS:
        return re_gpt2;
    case TOK_PRE_STABLELM2:
    case TOK_PRE_QWEN2:
        return re_qwen2;
    case TOK_PRE_PORO:
    case TOK_PRE_BLOOM:
    case TOK_PRE_GPT3_FINNISH:
        return re_bloom;
    case TOK_PRE_VIKING:
        return re_viking;
    case TOK_PRE_TEKKEN:
        return re_tekken;
    case TOK_PRE_CHAMELEON:
        return re_chameleon;
    case TOK_PRE_DEFAULT:
    default:
        return re_default;
    }
}

/* tokenizer.ggml.pre names (as llama.cpp accepts them) and what they select. */
static const struct tok_pre_info pre_table[] = {
    {"default", TOK_PRE_DEFAULT, false, false, false},
    {"llama3", TOK_PRE_LLAMA3, true, true, false},
    {"llama-v3", TOK_PRE_LLAMA3, true, true, false},
    {"llama-bpe", TOK_PRE_LLAMA3, true, true, false},
    {"falcon3", TOK_PRE_LLAMA3, true, true, false},
    {"pixtral", TOK_PRE_LLAMA3, true, true, false},
    {"deepseek-llm", TOK_PRE_DEEPSEEK_LLM, false, false, true},
    {"deepseek-coder", TOK_PRE_DEEPSEEK_CODER, false, false, true},
    {"deepseek-v3", TOK_PRE_DEEPSEEK3_LLM, false, false, true},
    {"falcon", TOK_PRE_FALCON, false, false, false},
    {"mpt", TOK_PRE_MPT, false, false, false},
    {"starcoder", TOK_PRE_STARCODER, false, false, false},
    {"gpt-2", TOK_PRE_GPT2, false, false, false},
    {"phi-2", TOK_PRE_GPT2, false, false, false},
    {"jina-es", TOK_PRE_GPT2, false, false, false},
    {"jina-de", TOK_PRE_GPT2, false, false, false},
    {"gigachat", TOK_PRE_GPT2, false, false, false},
    {"jina-v1-en", TOK_PRE_GPT2, false, false, false},
    {"jina-v2-es", TOK_PRE_GPT2, false, false, false},
    {"jina-v2-de", TOK_PRE_GPT2, false, false, false},
    {"jina-v2-code", TOK_PRE_GPT2, false, false, false},
    {"roberta-bpe", TOK_PRE_GPT2, false, false, false},
    {"refact", TOK_PRE_REFACT, false, false, false},
    {"command-r", TOK_PRE_COMMAND_R, false, false, true},
    {"qwen2", TOK_PRE_QWEN2, false, false, true},
    {"deepseek-r1-qwen", TOK_PRE_QWEN2, false, false, true},
    {"stablelm2", TOK_PRE_STABLELM2, false, false, false},
    {"olmo", TOK_PRE_OLMO, false, false, false},
    {"dbrx", TOK_PRE_DBRX, false, false, false},
    {"smaug-bpe", TOK_PRE_SMAUG, false, false, false},
    {"poro-chat", TOK_PRE_PORO, false, false, true},
    {"chatglm-bpe", TOK_PRE_CHATGLM4, false, false, false},
    {"glm4", TOK_PRE_CHATGLM4, false, false, false},
    {"viking", TOK_PRE_VIKING, false, false, true},
    {"jais", TOK_PRE_JAIS, false, false, false},
    {"tekken", TOK_PRE_TEKKEN, false, false, false},
    {"smollm", TOK_PRE_SMOLLM, false, false, false},
    {"codeshell", TOK_PRE_CODESHELL, false, false, false},
    {"bloom", TOK_PRE_BLOOM, false, false, false},
    {"gpt3-finnish", TOK_PRE_GPT3_FINNISH, false, false, false},
    {"exaone", TOK_PRE_EXAONE, false, false, false},
    {"chameleon", TOK_PRE_CHAMELEON, false, false, false},
    {"minerva-7b", TOK_PRE_MINERVA, false, false, false},
    {NULL, TOK_PRE_DEFAULT, false, false, false},
};

const struct tok_pre_info *tok_pre_lookup(const char *name)
{
    for (const struct tok_pre_info *p = pre_table; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* ---- PCRE2 through the aios allocator ---------------------------------------------- */

static void *pcre_alloc(size_t n, void *ud)
{
    (void)ud;
    return aios_malloc(n);
}

static void pcre_free(void *p, void *ud)
{
    (void)ud;
    aios_free(p);
}

static pcre2_general_context *gctx(void)
{
    /* created once, never freed: it holds only the two function pointers */
    static pcre2_general_context *g;
    static int once;
    if (!__atomic_load_n(&once, __ATOMIC_ACQUIRE)) {
        pcre2_general_context *n = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
        pcre2_general_context *expected = NULL;
        if (!__atomic_compare_exchange_n(&g, &expected, n, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            pcre2_general_context_free(n);
        __atomic_store_n(&once, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&g, __ATOMIC_ACQUIRE);
}

int tok_pre_compile(struct tok_pre *p, enum tok_pre_kind kind, struct aios_err *err)
{
    memset(p, 0, sizeof *p);
    const char *const *pats = patterns(kind);
    pcre2_compile_context *cc = pcre2_compile_context_create(gctx());
    if (!cc)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory compiling the pre-tokenizer");
    int rc = AIOS_OK;
    for (int i = 0; pats[i] && i < TOK_PRE_MAX_REGEX; i++) {
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile(
            (PCRE2_SPTR)pats[i], PCRE2_ZERO_TERMINATED,
            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &ec, &eo, cc);
        if (!re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            rc = aios_err_set(err, AIOS_EINTERNAL, "pre-tokenizer pattern %d: %s at %zu", i,
                              (const char *)msg, (size_t)eo);
            break;
        }
        /* JIT is an optimisation: without it (no JIT support) matching still works */
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        p->code[p->n++] = re;
    }
    pcre2_compile_context_free(cc);
    if (rc)
        tok_pre_free(p);
    return rc;
}

void tok_pre_free(struct tok_pre *p)
{
    for (int i = 0; i < p->n; i++)
        pcre2_code_free((pcre2_code *)p->code[i]);
    memset(p, 0, sizeof *p);
}

/* ---- splitting ------------------------------------------------------------------ */

static int push_span(struct tok_scratch *sc, int slot, size_t *n, size_t off, size_t len)
{
    struct tok_span *s = tok_scratch_get(sc, slot, (*n + 1) * sizeof *s);
    if (!s)
        return AIOS_ENOMEM;
    s[*n].off = (uint32_t)off;
    s[*n].len = (uint32_t)len;
    (*n)++;
    return AIOS_OK;
}

/* Splits one piece [off, off+len) of text with re, appending to slot. */
static int split_one(pcre2_code *re, pcre2_match_data *md, pcre2_match_context *mc,
                     const char *text, size_t off, size_t len, struct tok_scratch *sc, int slot,
                     size_t *n, struct aios_err *err)
{
    const PCRE2_SPTR subj = (PCRE2_SPTR)(text + off);
    size_t pos = 0, last = 0;
    while (pos < len) {
        int r = pcre2_match(re, subj, len, pos, 0, md, mc);
        if (r == PCRE2_ERROR_JIT_STACKLIMIT && !sc->pcre[2]) {
            /* a long match needs more than the default JIT stack: give it 8 MiB */
            pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, gctx());
            if (!js)
                return aios_err_set(err, AIOS_ENOMEM, "out of memory");
            sc->pcre[2] = js;
            pcre2_jit_stack_assign(mc, NULL, js);
            continue;
        }
        if (r == PCRE2_ERROR_NOMATCH)
            break;
        if (r < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(r, msg, sizeof msg);
            return aios_err_set(err, AIOS_ELIMIT, "pre-tokenizer: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e == s) {
            /* empty match: step one byte (none of the patterns can match empty) */
            pos = s + 1;
            continue;
        }
        if (s > last && push_span(sc, slot, n, off + last, s - last))
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        if (push_span(sc, slot, n, off + s, e - s))
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        pos = last = e;
    }
    if (len > last && push_span(sc, slot, n, off + last, len - last))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    return AIOS_OK;
}

int tok_pre_split(const struct tok_pre *p, const char *text, size_t len, struct tok_scratch *sc,
                  struct tok_span **spans, size_t *n_spans, struct aios_err *err)
{
    *spans = NULL;
    *n_spans = 0;
    if (len == 0)
        return AIOS_OK;
    int rc = AIOS_OK;
    if (!sc->pcre[0]) {
        /* once per tokenize call, however many fragments it has; the JIT
         * stack only when the 32 KiB default runs out (see split_one) */
        pcre2_match_data *md = pcre2_match_data_create(4, gctx());
        pcre2_match_context *mc = pcre2_match_context_create(gctx());
        sc->pcre[0] = md, sc->pcre[1] = mc;
        if (!md || !mc) {
            tok_pre_scratch_free(sc);
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        }
    }
    pcre2_match_data *md = sc->pcre[0];
    pcre2_match_context *mc = sc->pcre[1];

    int cur = TOK_SC_SPANS, nxt = TOK_SC_SPANS2;
    size_t n_cur = 0;
    if (p->n == 0) {
        rc = push_span(sc, cur, &n_cur, 0, len);
        if (rc) {
            aios_err_set(err, rc, "out of memory");
            goto out;
        }
    }
    for (int k = 0; k < p->n; k++) {
        size_t n_nxt = 0;
        if (k == 0) {
            rc = split_one(p->code[0], md, mc, text, 0, len, sc, nxt, &n_nxt, err);
        } else {
            for (size_t i = 0; i < n_cur && !rc; i++) {
                /* re-read: the array of the current slot does not move while the other grows */
                const struct tok_span *c = (const struct tok_span *)sc->buf[cur];
                rc = split_one(p->code[k], md, mc, text, c[i].off, c[i].len, sc, nxt, &n_nxt, err);
            }
        }
        if (rc)
            goto out;
        int t = cur;
        cur = nxt;
        nxt = t;
        n_cur = n_nxt;
    }
    *spans = (struct tok_span *)sc->buf[cur];
    *n_spans = n_cur;
out:
    return rc;
}

void tok_pre_scratch_free(struct tok_scratch *sc)
{
    pcre2_match_data_free(sc->pcre[0]);
    pcre2_match_context_free(sc->pcre[1]);
    pcre2_jit_stack_free(sc->pcre[2]);
    sc->pcre[0] = sc->pcre[1] = sc->pcre[2] = NULL;
}
