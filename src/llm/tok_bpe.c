/*
 * Byte-level BPE (GPT-2 style, tokenizer.ggml.model "gpt2").
 *
 * The vocabulary stores tokens in GPT-2's byte-level alphabet (every byte
 * mapped to one printable code point). Because that map is one byte to one
 * character, the initial symbols of a word are simply its bytes, each
 * standing for the token of its byte-level character, and a merge rule
 * "a b" becomes a pair of token ids (a, b) -> (rank, id of ab). Merging
 * therefore works on ids without building strings, with a binary heap of
 * candidate pairs ordered by (rank, position) exactly as llama.cpp orders
 * them. Words the vocabulary holds whole skip merging when the
 * pre-tokenizer asks for it (ignore_merges, Llama 3).
 *
 * Deviation kept on purpose: merge rules whose parts or result are not
 * tokens are dropped at load (llama.cpp would merge and then fall back to
 * bytes; no real vocabulary has such rules).
 */
#include <string.h>

#include "llm/tokenizer.h"

static bool byte_is_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t tok_byte_to_cp(unsigned b)
{
    /* printable Latin-1 bytes stand for themselves, the other 68 bytes map
     * in order to U+0100.. (only used while loading, so no table) */
    b &= 0xFF;
    if (byte_is_printable(b))
        return b;
    uint32_t k = 256;
    for (unsigned i = 0; i < b; i++)
        k += !byte_is_printable(i);
    return k;
}

static int cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return byte_is_printable(cp) ? (int)cp : -1;
    if (cp < 256 + 68) {
        unsigned k = cp - 256;
        for (unsigned i = 0; i < 256; i++)
            if (!byte_is_printable(i) && k-- == 0)
                return (int)i;
    }
    return -1;
}

/* ---- merge map -------------------------------------------------------------------- */

static int merge_map_init(struct tok_merge_map *m, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    m->e = aios_malloc(cap * sizeof *m->e);
    if (!m->e)
        return AIOS_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        m->e[i].key = UINT64_MAX;
    m->mask = (uint32_t)(cap - 1);
    return AIOS_OK;
}

static inline uint32_t pair_slot(uint64_t key, uint32_t mask)
{
    key *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(key >> 32) & mask;
}

static void merge_map_put(struct tok_merge_map *m, int32_t a, int32_t b, uint32_t rank,
                          int32_t result)
{
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    for (uint32_t i = pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
        if (m->e[i].key == key)
            return; /* the first (lowest) rank wins */
        if (m->e[i].key == UINT64_MAX) {
            m->e[i].key = key;
            m->e[i].rank = rank;
            m->e[i].result = result;
            return;
        }
    }
}

static inline bool merge_map_get(const struct tok_merge_map *m, int32_t a, int32_t b,
                                 uint32_t *rank, int32_t *result)
{
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    for (uint32_t i = pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
        const struct tok_merge_entry *e = &m->e[i];
        if (e->key == key) {
            *rank = e->rank;
            *result = e->result;
            return true;
        }
        if (e->key == UINT64_MAX)
            return false;
    }
}

/* ---- setup ------------------------------------------------------------------------ */

int tok_bpe_init(aios_llm_vocab *v, const struct aios_gguf_value *merges, struct aios_err *err)
{
    int32_t n = v->n;
    /* byte form of every normal token */
    size_t total = 0;
    for (int32_t i = 0; i < n; i++)
        total += v->len[i];
    v->raw = aios_malloc(total + 1);
    v->raw_off = aios_malloc((size_t)n * sizeof *v->raw_off);
    v->raw_len = aios_malloc((size_t)n * sizeof *v->raw_len);
    if (!v->raw || !v->raw_off || !v->raw_len)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    size_t pos = 0;
    int32_t n_raw = 0;
    for (int32_t i = 0; i < n; i++) {
        v->raw_off[i] = (uint32_t)pos;
        v->raw_len[i] = UINT32_MAX;
        if (!(v->attr[i] & AIOS_LLM_TOKEN_NORMAL))
            continue;
        const char *t = v->text + v->off[i];
        size_t l = v->len[i], start = pos;
        bool ok = true;
        for (size_t k = 0; k < l;) {
            uint32_t cp;
            k += tok_utf8_get(t + k, l - k, &cp);
            int b = cp_to_byte(cp);
            if (b < 0) {
                ok = false;
                break;
            }
            v->raw[pos++] = (char)b;
        }
        if (!ok) {
            pos = start;
            continue;
        }
        v->raw_len[i] = (uint32_t)(pos - start);
        n_raw++;
    }
    int rc = tok_map_init(&v->raw_map, (size_t)n_raw, v->raw, v->raw_off, v->raw_len);
    if (rc)
        return aios_err_set(err, rc, "out of memory");
    for (int32_t i = 0; i < n; i++)
        if (v->raw_len[i] != UINT32_MAX)
            tok_map_insert(&v->raw_map, i);

    v->bpe_cache_min_text = 4096;
    for (unsigned b = 0; b < 256; b++) {
        char buf[4];
        size_t l = tok_utf8_put(tok_byte_to_cp(b), buf);
        v->byte_char_token[b] = tok_map_find(&v->map, buf, l);
    }

    uint64_t nm = merges->v.arr.n;
    if (nm > (1u << 24))
        return aios_err_set(err, AIOS_EFORMAT, "tokenizer.ggml.merges: %llu merges is too many",
                            (unsigned long long)nm);
    rc = merge_map_init(&v->merges, (size_t)nm);
    if (rc)
        return aios_err_set(err, rc, "out of memory for %llu merges", (unsigned long long)nm);
    char *buf = NULL;
    size_t cap = 0;
    uint64_t dropped = 0;
    for (uint64_t i = 0; i < nm; i++) {
        const struct aios_gguf_str *s = &merges->v.arr.strs[i];
        /* "a b": the separator is the first space after the first byte */
        const char *sp = s->len > 1 ? memchr(s->data + 1, ' ', s->len - 1) : NULL;
        if (!sp) {
            dropped++;
            continue;
        }
        size_t la = (size_t)(sp - s->data), lb = s->len - la - 1;
        int32_t a = tok_map_find(&v->map, s->data, la);
        int32_t b = tok_map_find(&v->map, sp + 1, lb);
        if (la + lb > cap) {
            cap = (la + lb) * 2;
            char *nb = aios_realloc(buf, cap);
            if (!nb) {
                aios_free(buf);
                return aios_err_set(err, AIOS_ENOMEM, "out of memory");
            }
            buf = nb;
        }
        memcpy(buf, s->data, la);
        memcpy(buf + la, sp + 1, lb);
        int32_t r = tok_map_find(&v->map, buf, la + lb);
        if (a < 0 || b < 0 || r < 0) {
            dropped++;
            continue;
        }
        merge_map_put(&v->merges, a, b, (uint32_t)i, r);
    }
    aios_free(buf);
    if (dropped)
        AIOS_DEBUG("llm", "%llu of %llu merges do not name tokens; ignored",
                   (unsigned long long)dropped, (unsigned long long)nm);
    return AIOS_OK;
}

void tok_bpe_free(aios_llm_vocab *v)
{
    tok_map_free(&v->raw_map);
    aios_free(v->raw);
    aios_free(v->raw_off);
    aios_free(v->raw_len);
    aios_free(v->merges.e);
    v->raw = NULL;
    v->raw_off = v->raw_len = NULL;
    memset(&v->merges, 0, sizeof v->merges);
}

/* ---- encoding ----------------------------------------------------------------------- */

struct sym {
    int32_t id;   /* token of the symbol, -1 = byte without a token */
    int32_t prev; /* -1 at the start */
    int32_t next; /* -1 at the end */
    uint32_t n;   /* bytes covered; 0 once merged away */
};

struct cand {
    uint32_t rank;
    int32_t left;
    uint32_t size; /* bytes of left + right when queued */
    int32_t result;
};

static inline bool cand_before(const struct cand *a, const struct cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
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

static inline void try_pair(const aios_llm_vocab *v, const struct sym *s, int32_t left,
                            struct cand *heap, size_t *nh)
{
    if (left < 0)
        return;
    int32_t right = s[left].next;
    if (right < 0 || s[left].id < 0 || s[right].id < 0)
        return;
    uint32_t rank;
    int32_t result;
    if (!merge_map_get(&v->merges, s[left].id, s[right].id, &rank, &result))
        return;
    struct cand c = {rank, left, s[left].n + s[right].n, result};
    heap_push(heap, nh, c);
}

static int encode_word(const aios_llm_vocab *v, const unsigned char *w, size_t n,
                       struct tok_scratch *sc, struct aios_llm_tokens *out)
{
    if (v->ignore_merges) {
        int32_t id = tok_map_find(&v->raw_map, (const char *)w, n);
        if (id >= 0)
            return aios_llm_tokens_push(out, id);
    }
    if (n == 1) {
        int32_t id = v->byte_char_token[w[0]];
        return id >= 0 ? aios_llm_tokens_push(out, id) : AIOS_OK;
    }
    struct sym *s = tok_scratch_get(sc, TOK_SC_SYMBOLS, n * sizeof *s);
    /* n-1 initial candidates; a merge pops one and queues at most two, and
     * there are at most n-1 merges, so the heap never holds more than 2n */
    struct cand *heap = tok_scratch_get(sc, TOK_SC_HEAP, 2 * n * sizeof *heap);
    if (!s || !heap)
        return AIOS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        s[i].id = v->byte_char_token[w[i]];
        s[i].prev = (int32_t)i - 1;
        s[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
        s[i].n = 1;
    }
    size_t nh = 0;
    for (size_t i = 0; i + 1 < n; i++)
        try_pair(v, s, (int32_t)i, heap, &nh);
    while (nh) {
        struct cand c = heap_pop(heap, &nh);
        struct sym *l = &s[c.left];
        if (l->n == 0 || l->next < 0)
            continue;
        struct sym *r = &s[l->next];
        if (r->n == 0 || l->n + r->n != c.size)
            continue; /* one side changed since this pair was queued */
        l->id = c.result;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = c.left;
        try_pair(v, s, l->prev, heap, &nh);
        try_pair(v, s, c.left, heap, &nh);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        if (s[i].id >= 0) {
            int rc = aios_llm_tokens_push(out, s[i].id);
            if (rc)
                return rc;
        }
    }
    return AIOS_OK;
}

/* Per-call cache of word -> ids: running text repeats most of its words, and
 * a lookup is far cheaper than merging. It lives in the call's scratch (a
 * vocab is shared by threads and never written), holds words of up to
 * CACHE_WORD_MAX bytes, and simply stops taking entries when full. Short
 * texts (under v->bpe_cache_min_text) skip it. */
#define CACHE_WORD_MAX 48

struct cache_ent {
    uint64_t hash;
    uint32_t off; /* word in the text */
    uint32_t len;
    uint32_t ids_off;
    uint32_t n_ids;
};

struct cache {
    uint32_t *slots; /* entry + 1 */
    struct cache_ent *ents;
    uint32_t mask, n, max;
    size_t n_ids;
};

static int cache_init(struct cache *c, struct tok_scratch *sc, size_t n_words)
{
    size_t cap = 1024;
    while (cap < n_words * 2 && cap < ((size_t)1 << 18))
        cap *= 2;
    c->slots = tok_scratch_get(sc, TOK_SC_CACHE_SLOTS, cap * sizeof *c->slots);
    c->ents = tok_scratch_get(sc, TOK_SC_CACHE_ENTS, cap / 2 * sizeof *c->ents);
    if (!c->slots || !c->ents)
        return AIOS_ENOMEM;
    memset(c->slots, 0, cap * sizeof *c->slots);
    c->mask = (uint32_t)(cap - 1);
    c->n = 0;
    c->max = (uint32_t)(cap / 2);
    c->n_ids = 0;
    return AIOS_OK;
}

int tok_bpe_encode(const aios_llm_vocab *v, const char *text, size_t len, struct tok_scratch *sc,
                   struct aios_llm_tokens *out, struct aios_err *err)
{
    struct tok_span *spans;
    size_t n_spans;
    int rc = tok_pre_split(&v->pre, text, len, sc, &spans, &n_spans, err);
    if (rc)
        return rc;
    struct cache c = {0};
    bool use_cache = len >= v->bpe_cache_min_text;
    if (use_cache && cache_init(&c, sc, n_spans))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_spans; i++) {
        /* spans live in a scratch slot that encode_word does not touch */
        const unsigned char *w = (const unsigned char *)text + spans[i].off;
        uint32_t wl = spans[i].len;
        uint64_t h = 0;
        uint32_t slot = 0;
        bool cacheable = use_cache && wl > 1 && wl <= CACHE_WORD_MAX;
        if (cacheable) {
            h = tok_hash(w, wl);
            for (slot = (uint32_t)h & c.mask;; slot = (slot + 1) & c.mask) {
                uint32_t e = c.slots[slot];
                if (!e)
                    break;
                const struct cache_ent *ce = &c.ents[e - 1];
                if (ce->hash == h && ce->len == wl && memcmp(text + ce->off, w, wl) == 0) {
                    const int32_t *ids = (const int32_t *)sc->buf[TOK_SC_CACHE_IDS] + ce->ids_off;
                    for (uint32_t k = 0; k < ce->n_ids && !rc; k++)
                        rc = aios_llm_tokens_push(out, ids[k]);
                    goto next;
                }
            }
        }
        size_t n0 = out->n;
        rc = encode_word(v, w, wl, sc, out);
        if (!rc && cacheable && c.n < c.max) {
            size_t k = out->n - n0;
            int32_t *ids = tok_scratch_get(sc, TOK_SC_CACHE_IDS, (c.n_ids + k) * sizeof *ids);
            if (!ids) {
                rc = AIOS_ENOMEM;
            } else {
                memcpy(ids + c.n_ids, out->ids + n0, k * sizeof *ids);
                c.ents[c.n] =
                    (struct cache_ent){h, spans[i].off, wl, (uint32_t)c.n_ids, (uint32_t)k};
                c.slots[slot] = ++c.n;
                c.n_ids += k;
            }
        }
    next:
        if (rc) {
            if (rc == AIOS_ELIMIT)
                return aios_err_set(err, rc, "more than %zu tokens",
                                    out->max ? out->max : AIOS_LLM_TOKENS_DEFAULT_MAX);
            return aios_err_set(err, rc, "out of memory");
        }
    }
    return AIOS_OK;
}
