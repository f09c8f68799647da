/*
 * SentencePiece-style BPE over scores (tokenizer.ggml.model "llama").
 *
 * The text (spaces already U+2581, optional leading one added by the
 * caller) starts as one symbol per UTF-8 character. Adjacent pairs whose
 * concatenation is a token are queued by that token's score, highest first,
 * leftmost on ties; the best pair merges and its neighbours are re-queued,
 * until no pair forms a token. Symbols that are tokens are emitted; the
 * others (single characters missing from the vocabulary) fall back to their
 * <0xXX> byte tokens. This is llama.cpp's llm_tokenizer_spm; its
 * re-segmentation step never fires, because a merged symbol is a token by
 * construction, so it is not needed here.
 *
 * Symbols are spans of the caller's buffer, so a candidate's text is a
 * span and looking it up needs no copy; the heap holds 16-byte entries.
 */
#include <string.h>

#include "llm/tokenizer.h"

struct sym {
    uint32_t off; /* into text */
    uint32_t n;   /* bytes; 0 once merged away */
    int32_t prev, next;
    int32_t id; /* token, or -1 for a character not in the vocab */
};

struct cand {
    float score;
    int32_t left;
    uint32_t size;
    int32_t id;
};

static inline bool cand_before(const struct cand *a, const struct cand *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(struct cand *h, size_t *n, struct cand c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_before(&c, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static struct cand heap_pop(struct cand *h, size_t *n)
{
    struct cand top = h[0];
    struct cand last = h[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        const struct cand *best = &last;
        if (l < m && cand_before(&h[l], best))
            s = l, best = &h[l];
        if (r < m && cand_before(&h[r], best))
            s = r;
        if (s == i)
            break;
        h[i] = h[s];
        i = s;
    }
    if (m)
        h[i] = last;
    return top;
}

static inline void try_pair(const aios_llm_vocab *v, const char *text, const struct sym *s,
                            int32_t left, struct cand *heap, size_t *nh)
{
    if (left < 0)
        return;
    int32_t right = s[left].next;
    if (right < 0)
        return;
    uint32_t size = s[left].n + s[right].n;
    if (size > v->max_token_len)
        return;
    int32_t id = tok_map_find(&v->map, text + s[left].off, size);
    if (id < 0)
        return;
    struct cand c = {v->score[id], left, size, id};
    heap_push(heap, nh, c);
}

/* Encodes text[0..len) as one unit; symbol ids are global positions only
 * through their order, so separate units give the same result as one when
 * no merge can cross their border. */
static int encode_unit(const aios_llm_vocab *v, const char *text, size_t len,
                       struct tok_scratch *sc, struct aios_llm_tokens *out, struct aios_err *err)
{
    if (len == 0)
        return AIOS_OK;
    struct sym *s = tok_scratch_get(sc, TOK_SC_SYMBOLS, len * sizeof *s);
    /* at most 2 x symbols in the heap (see tok_bpe.c) */
    struct cand *heap = tok_scratch_get(sc, TOK_SC_HEAP, 2 * len * sizeof *heap);
    if (!s || !heap)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    size_t ns = 0;
    for (size_t off = 0; off < len;) {
        size_t l = tok_utf8_len((unsigned char)text[off]);
        if (l > len - off)
            l = len - off;
        s[ns].off = (uint32_t)off;
        s[ns].n = (uint32_t)l;
        s[ns].prev = (int32_t)ns - 1;
        s[ns].next = off + l < len ? (int32_t)ns + 1 : -1;
        s[ns].id = tok_map_find(&v->map, text + off, l);
        ns++;
        off += l;
    }
    size_t nh = 0;
    for (size_t i = 0; i + 1 < ns; i++)
        try_pair(v, text, s, (int32_t)i, heap, &nh);
    while (nh) {
        struct cand c = heap_pop(heap, &nh);
        struct sym *l = &s[c.left];
        if (l->n == 0 || l->next < 0)
            continue;
        struct sym *r = &s[l->next];
        if (r->n == 0 || l->n + r->n != c.size)
            continue;
        l->n += r->n;
        l->id = c.id;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = c.left;
        try_pair(v, text, s, l->prev, heap, &nh);
        try_pair(v, text, s, c.left, heap, &nh);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        int rc = AIOS_OK;
        if (s[i].id >= 0) {
            rc = aios_llm_tokens_push(out, s[i].id);
        } else {
            for (uint32_t k = 0; k < s[i].n && !rc; k++) {
                int32_t b = v->byte_token[(unsigned char)text[s[i].off + k]];
                if (b < 0)
                    b = v->sp.unk;
                if (b >= 0)
                    rc = aios_llm_tokens_push(out, b);
            }
        }
        if (rc)
            return aios_err_set(err, rc, rc == AIOS_ELIMIT ? "too many tokens" : "out of memory");
    }
    return AIOS_OK;
}

#define SPACE_MARK "\xe2\x96\x81"

int tok_spm_encode(const aios_llm_vocab *v, const char *text, size_t len, struct tok_scratch *sc,
                   struct aios_llm_tokens *out, struct aios_err *err)
{
    if (!v->spm_split_ok)
        return encode_unit(v, text, len, sc, out, err);
    /* No token holds U+2581 after another character (checked at load), so
     * no merge crosses the start of a run of U+2581: encode word by word,
     * which keeps the heap small and in cache. */
    size_t start = 0;
    for (size_t p = 3; p + 3 <= len;) {
        const char *m = memmem(text + p, len - p, SPACE_MARK, 3);
        if (!m)
            break;
        p = (size_t)(m - text);
        if (p >= start + 3 && memcmp(text + p - 3, SPACE_MARK, 3) != 0) {
            int rc = encode_unit(v, text + start, p - start, sc, out, err);
            if (rc)
                return rc;
            start = p;
        }
        p += 3;
    }
    return encode_unit(v, text + start, len - start, sc, out, err);
}

/* Whether every U+2581 inside a token follows another U+2581. */
bool tok_spm_can_split(const aios_llm_vocab *v)
{
    for (int32_t id = 0; id < v->n; id++) {
        const char *t = v->text + v->off[id];
        uint32_t n = v->len[id];
        for (uint32_t k = 3; k + 3 <= n; k++)
            if (memcmp(t + k, SPACE_MARK, 3) == 0 && memcmp(t + k - 3, SPACE_MARK, 3) != 0)
                return false;
    }
    return true;
}
