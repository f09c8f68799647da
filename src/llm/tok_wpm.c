/*
 * WordPiece (tokenizer.ggml.model "bert").
 *
 * Normalisation and word splitting follow Hugging Face's BertNormalizer and
 * BertPreTokenizer as llama.cpp implements them: optional NFD with accents
 * (Mn) removed, lower case, control characters dropped, whitespace splits
 * words, and every punctuation mark, ASCII symbol and CJK ideograph is a
 * word of its own. Each word, with U+2581 prepended (the GGUF vocabulary
 * marks word starts that way instead of "##" on continuations), is cut
 * greedily into the longest tokens from the left; a word that cannot be
 * cut entirely becomes [UNK].
 *
 * The longest match uses a table of every prefix of every token keyed by an
 * incremental hash, so finding the longest token at a position costs one
 * lookup per byte of the match instead of one per candidate length.
 */
#include <string.h>

#include <utf8proc.h>

#include "llm/tokenizer.h"

/* ---- prefix table ----------------------------------------------------------------- */

static int64_t prefix_find(const aios_llm_vocab *v, uint64_t h, const char *s, uint32_t len)
{
    const struct tok_prefix_map *m = &v->prefix;
    for (uint32_t i = (uint32_t)(h >> 20) & m->mask;; i = (i + 1) & m->mask) {
        uint32_t e = m->slot[i];
        if (!e)
            return -1;
        e--;
        if (m->ent_hash[e] == h && m->ent_len[e] == len &&
            memcmp(v->text + v->off[m->ent_src[e]], s, len) == 0)
            return e;
    }
}

int tok_wpm_init(aios_llm_vocab *v, struct aios_err *err)
{
    struct tok_prefix_map *m = &v->prefix;
    size_t total = 0;
    for (int32_t i = 0; i < v->n; i++)
        total += v->len[i];
    size_t cap = 16;
    while (cap < total * 2)
        cap *= 2;
    m->slot = aios_calloc(cap, sizeof *m->slot);
    m->ent_hash = aios_malloc(total * sizeof *m->ent_hash);
    m->ent_src = aios_malloc(total * sizeof *m->ent_src);
    m->ent_len = aios_malloc(total * sizeof *m->ent_len);
    m->ent_token = aios_malloc(total * sizeof *m->ent_token);
    if (!m->slot || !m->ent_hash || !m->ent_src || !m->ent_len || !m->ent_token)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory for the WordPiece table");
    m->mask = (uint32_t)(cap - 1);
    m->cap_ent = (uint32_t)total;
    for (int32_t id = 0; id < v->n; id++) {
        const char *t = v->text + v->off[id];
        uint64_t h = TOK_PREFIX_SEED;
        for (uint32_t k = 1; k <= v->len[id]; k++) {
            h = tok_prefix_step(h, (unsigned char)t[k - 1]);
            int64_t e = prefix_find(v, h, t, k);
            if (e < 0) {
                e = m->n_ent++;
                m->ent_hash[e] = h;
                m->ent_src[e] = id;
                m->ent_len[e] = k;
                m->ent_token[e] = -1;
                uint32_t i = (uint32_t)(h >> 20) & m->mask;
                while (m->slot[i])
                    i = (i + 1) & m->mask;
                m->slot[i] = (uint32_t)e + 1;
            }
            if (k == v->len[id] && m->ent_token[e] < 0)
                m->ent_token[e] = id;
        }
    }
    return AIOS_OK;
}

void tok_wpm_free(aios_llm_vocab *v)
{
    struct tok_prefix_map *m = &v->prefix;
    aios_free(m->slot);
    aios_free(m->ent_hash);
    aios_free(m->ent_src);
    aios_free(m->ent_len);
    aios_free(m->ent_token);
    memset(m, 0, sizeof *m);
}

/* ---- character classes ------------------------------------------------------------ */

static bool is_ws(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static bool is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

enum cls { C_SKIP, C_SPACE, C_ALONE, C_WORD };

static enum cls classify(uint32_t c)
{
    if (c < 0x80) {
        if (c == ' ' || (c >= 0x09 && c <= 0x0D))
            return C_SPACE;
        if (c < 0x20 || c == 0x7F || c == 0)
            return C_SKIP;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return C_WORD;
        return C_ALONE; /* ASCII punctuation and symbols */
    }
    if (is_ws(c))
        return C_SPACE;
    if (c == 0xFFFD)
        return C_SKIP;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CN:
        return C_SKIP;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return C_ALONE;
    default:
        return is_chinese(c) ? C_ALONE : C_WORD;
    }
}

/* ---- encoding ------------------------------------------------------------------------ */

/* Cuts one word (already starting with U+2581) into tokens. */
static int encode_word(const aios_llm_vocab *v, const char *w, size_t n,
                       struct aios_llm_tokens *out)
{
    size_t n0 = out->n;
    for (size_t i = 0; i < n;) {
        uint64_t h = TOK_PREFIX_SEED;
        int32_t best = -1;
        size_t best_len = 0;
        for (size_t k = i; k < n; k++) {
            h = tok_prefix_step(h, (unsigned char)w[k]);
            int64_t e = prefix_find(v, h, w + i, (uint32_t)(k - i + 1));
            if (e < 0)
                break;
            if (v->prefix.ent_token[e] >= 0) {
                best = v->prefix.ent_token[e];
                best_len = k - i + 1;
            }
        }
        if (best < 0) {
            out->n = n0;
            break;
        }
        int rc = aios_llm_tokens_push(out, best);
        if (rc)
            return rc;
        i += best_len;
    }
    if (out->n == n0 && v->sp.unk >= 0)
        return aios_llm_tokens_push(out, v->sp.unk);
    return AIOS_OK;
}

int tok_wpm_encode(const aios_llm_vocab *v, const char *text, size_t len, struct tok_scratch *sc,
                   struct aios_llm_tokens *out, struct aios_err *err)
{
    /* A word is at most the normalised text plus the 3-byte marker; NFD and
     * case mapping can grow a character, so size for 3 code points of 4
     * bytes per input byte. Bounded by AIOS_LLM_TOKENIZE_MAX_BYTES. */
    char *w = tok_scratch_get(sc, TOK_SC_WORD, 3 + len * 12 + 16);
    if (!w)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    memcpy(w, "\xe2\x96\x81", 3);
    size_t wn = 3;
    int rc = AIOS_OK;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        if (wn > 3) {                                                                              \
            rc = encode_word(v, w, wn, out);                                                       \
            if (rc)                                                                                \
                goto fail;                                                                         \
        }                                                                                          \
        wn = 3;                                                                                    \
    } while (0)
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += tok_utf8_get(text + i, len - i, &cp);
        utf8proc_int32_t dec[8];
        utf8proc_ssize_t nd = 1;
        dec[0] = (utf8proc_int32_t)cp;
        if (v->strip_accents && cp >= 0x80) {
            int bc = 0;
            nd = utf8proc_decompose_char((utf8proc_int32_t)cp, dec, 8, UTF8PROC_DECOMPOSE, &bc);
            if (nd < 1 || nd > 8) {
                dec[0] = (utf8proc_int32_t)cp;
                nd = 1;
            }
        }
        for (utf8proc_ssize_t d = 0; d < nd; d++) {
            uint32_t c = (uint32_t)dec[d];
            enum cls k = classify(c);
            if (k == C_SPACE) {
                FLUSH();
                continue;
            }
            if (k == C_SKIP)
                continue;
            if (v->strip_accents && c >= 0x300 &&
                utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN)
                continue;
            uint32_t lc = c;
            if (v->lowercase)
                lc = c < 0x80 ? ((c >= 'A' && c <= 'Z') ? c + 32 : c)
                              : (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
            if (k == C_ALONE) {
                FLUSH();
                wn += tok_utf8_put(lc, w + wn);
                FLUSH();
            } else {
                wn += tok_utf8_put(lc, w + wn);
            }
        }
    }
    FLUSH();
#undef FLUSH
    return AIOS_OK;
fail:
    return aios_err_set(err, rc, rc == AIOS_ELIMIT ? "too many tokens" : "out of memory");
}
