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
 * The longest match walks a trie of the token texts (one hash probe per
 * byte of the match) instead of looking up every candidate length.
 */
#include <string.h>

#include <utf8proc.h>

#include "llm/tokenizer.h"

/* ---- setup ---------------------------------------------------------------------- */

int tok_wpm_init(aios_llm_vocab *v, struct aios_err *err)
{
    size_t total = 0;
    for (int32_t i = 0; i < v->n; i++)
        total += v->len[i];
    if (tok_trie_init(&v->trie, total))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory for the WordPiece table");
    for (int32_t id = 0; id < v->n; id++)
        tok_trie_insert(&v->trie, v->text + v->off[id], v->len[id], id);
    return AIOS_OK;
}

void tok_wpm_free(aios_llm_vocab *v)
{
    tok_trie_free(&v->trie);
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
    const struct tok_trie *t = &v->trie;
    for (size_t i = 0; i < n;) {
        uint32_t node = TOK_TRIE_ROOT;
        int32_t best = -1;
        size_t best_len = 0;
        for (size_t k = i; k < n; k++) {
            int64_t e = tok_trie_child(t, node, (unsigned char)w[k]);
            if (e < 0)
                break;
            node = (uint32_t)e + 1;
            if (t->nodes[e].token >= 0) {
                best = t->nodes[e].token;
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
    /* The word buffer grows with the longest word; a character adds at most
     * 8 code points of 4 bytes after decomposition. */
    char *w = tok_scratch_get(sc, TOK_SC_WORD, 256);
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
        w = tok_scratch_get(sc, TOK_SC_WORD, wn + 8 * 4 + 8);
        if (!w) {
            rc = AIOS_ENOMEM;
            goto fail;
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
