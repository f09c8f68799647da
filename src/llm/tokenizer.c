/*
 * Tokenizer front end: loads a vocabulary from GGUF metadata (token texts,
 * scores, types, special ids and flags), keeps the hash tables every
 * algorithm looks tokens up in, splits text around special tokens, and
 * dispatches the raw-text fragments to SPM (tok_spm.c), BPE (tok_bpe.c) or
 * WordPiece (tok_wpm.c). Decoding (ids -> bytes) is here too.
 *
 * The behaviour follows llama.cpp's llama-vocab.cpp (the reference the
 * conformance fixtures were made with): special tokens are partitioned out
 * longest first; user-defined tokens are always partitioned, control and
 * unknown tokens only with PARSE_SPECIAL; SPM prepends one space to each
 * fragment that starts the text or follows a special token.
 */
#include "llm/tokenizer.h"

#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------- */

size_t tok_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t tok_utf8_get(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        need = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        need = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        need = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (n < need)
        goto bad;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *cp = v;
    return need;
bad:
    *cp = 0xFFFD;
    return 1;
}

void *tok_scratch_get(struct tok_scratch *s, int k, size_t n)
{
    if (n <= s->cap[k])
        return s->buf[k];
    size_t cap = s->cap[k] ? s->cap[k] : 256;
    while (cap < n)
        cap *= 2;
    void *p = aios_realloc(s->buf[k], cap);
    if (!p)
        return NULL;
    s->buf[k] = p;
    s->cap[k] = cap;
    return p;
}

void tok_scratch_free(struct tok_scratch *s)
{
    for (int i = 0; i < TOK_SCRATCH_SLOTS; i++)
        aios_free(s->buf[i]);
    tok_pre_scratch_free(s);
    memset(s, 0, sizeof *s);
}

void aios_llm_tokens_init(struct aios_llm_tokens *t, size_t max)
{
    memset(t, 0, sizeof *t);
    t->max = max;
}

void aios_llm_tokens_free(struct aios_llm_tokens *t)
{
    aios_free(t->ids);
    t->ids = NULL;
    t->n = t->cap = 0;
}

int aios_llm_tokens_push(struct aios_llm_tokens *t, int32_t id)
{
    if (t->n == t->cap) {
        size_t max = t->max ? t->max : AIOS_LLM_TOKENS_DEFAULT_MAX;
        if (t->n >= max)
            return AIOS_ELIMIT;
        size_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > max)
            cap = max;
        int32_t *p = aios_realloc(t->ids, cap * sizeof *p);
        if (!p)
            return AIOS_ENOMEM;
        t->ids = p;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
    return AIOS_OK;
}

/* ---- hashing ------------------------------------------------------------------ */

/* Loads of 1..7 bytes without reading past n (overlapping loads). */
static inline uint64_t load_tail(const unsigned char *p, size_t n)
{
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return ((uint64_t)b << 32) | a;
    }
    return (uint64_t)p[0] | ((uint64_t)p[n / 2] << 8) | ((uint64_t)p[n - 1] << 16);
}

uint64_t tok_hash(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    if (n) {
        h = (h ^ load_tail(p, n)) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    if (n >= 8) {
        uint64_t u, w;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            memcpy(&u, x + i, 8);
            memcpy(&w, y + i, 8);
            if (u != w)
                return false;
        }
        if (i == n)
            return true;
        memcpy(&u, x + n - 8, 8);
        memcpy(&w, y + n - 8, 8);
        return u == w;
    }
    if (n == 0)
        return true;
    return load_tail(x, n) == load_tail(y, n);
}

int tok_map_init(struct tok_map *m, size_t n_keys, const char *base, const uint32_t *off,
                 const uint32_t *len)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < n_keys * 2)
        cap *= 2;
    m->slots = aios_calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return AIOS_ENOMEM;
    m->mask = (uint32_t)(cap - 1);
    m->base = base;
    m->off = off;
    m->len = len;
    return AIOS_OK;
}

void tok_map_insert(struct tok_map *m, int32_t id)
{
    const char *s = m->base + m->off[id];
    size_t n = m->len[id];
    uint64_t h = tok_hash(s, n);
    uint32_t hh = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
        uint32_t e = m->slots[i].id1;
        if (!e) {
            m->slots[i].id1 = (uint32_t)id + 1;
            m->slots[i].hash = hh;
            return;
        }
        if (m->slots[i].hash == hh && m->len[e - 1] == n && bytes_eq(m->base + m->off[e - 1], s, n))
            return;
    }
}

int32_t tok_map_find(const struct tok_map *m, const char *s, size_t n)
{
    if (!m->slots)
        return -1;
    uint64_t h = tok_hash(s, n);
    uint32_t hh = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
        uint32_t e = m->slots[i].id1;
        if (!e)
            return -1;
        if (m->slots[i].hash == hh && m->len[e - 1] == n && bytes_eq(m->base + m->off[e - 1], s, n))
            return (int32_t)(e - 1);
    }
}

void tok_map_free(struct tok_map *m)
{
    aios_free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- trie -------------------------------------------------------------------------- */

int tok_trie_init(struct tok_trie *t, size_t total_bytes)
{
    size_t cap = 16;
    while (cap < total_bytes * 2)
        cap *= 2;
    t->nodes = aios_calloc(cap, sizeof *t->nodes);
    if (!t->nodes)
        return AIOS_ENOMEM;
    t->mask = (uint32_t)(cap - 1);
    return AIOS_OK;
}

void tok_trie_insert(struct tok_trie *t, const char *s, size_t n, int32_t token)
{
    uint32_t parent = TOK_TRIE_ROOT;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        int64_t e = tok_trie_child(t, parent, c);
        if (e < 0) {
            uint32_t i = tok_trie_slot(parent, c, t->mask);
            while (t->nodes[i].parent)
                i = (i + 1) & t->mask;
            t->nodes[i].parent = parent;
            t->nodes[i].c = c;
            t->nodes[i].token = -1;
            e = i;
        }
        parent = (uint32_t)e + 1;
    }
    if (n && t->nodes[parent - 1].token < 0)
        t->nodes[parent - 1].token = token;
}

void tok_trie_free(struct tok_trie *t)
{
    aios_free(t->nodes);
    memset(t, 0, sizeof *t);
}

/* ---- loading --------------------------------------------------------------------- */

/* DeepSeek's "<｜end▁of▁sentence｜>" (split so the escapes end before "end") */
#define DEEPSEEK_EOS                                                                               \
    ("<\xef\xbd\x9c"                                                                               \
     "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>")

static const char *const eog_texts[] = {
    "<|eot_id|>",         "<|im_end|>", "<|end|>",    "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>",      "</s>",       "<|eom_id|>", "<EOT>",      "_<EOT>",   "<|end_of_text|>",
    "<end_of_utterance>", "<eos>",      DEEPSEEK_EOS,
};
static const char *const eot_texts[] = {
    "<|eot_id|>",      "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<EOT>",      "_<EOT>",  DEEPSEEK_EOS,
};

static unsigned attr_of_type(int64_t t)
{
    switch (t) {
    case 1:
        return AIOS_LLM_TOKEN_NORMAL;
    case 2:
        return AIOS_LLM_TOKEN_UNKNOWN;
    case 3:
        return AIOS_LLM_TOKEN_CONTROL;
    case 4:
        return AIOS_LLM_TOKEN_USER_DEFINED;
    case 5:
        return AIOS_LLM_TOKEN_UNUSED;
    case 6:
        return AIOS_LLM_TOKEN_BYTE;
    default:
        return AIOS_LLM_TOKEN_UNDEFINED;
    }
}

/* Reads an optional token id key; ids outside the vocab keep the default. */
static int get_id(const aios_gguf *g, const char *key, int32_t n, int32_t *id, struct aios_err *err)
{
    if (*id >= n)
        *id = -1;
    uint32_t v;
    int rc = aios_gguf_get_u32(g, key, &v, err);
    if (rc == AIOS_ENOTFOUND)
        return AIOS_OK;
    if (rc)
        return rc;
    if (v < (uint32_t)n)
        *id = (int32_t)v;
    else
        AIOS_WARN("llm", "%s = %u is outside the vocabulary (%d tokens); ignored", key, v, n);
    return AIOS_OK;
}

static int get_flag(const aios_gguf *g, const char *key, bool *out, struct aios_err *err)
{
    int rc = aios_gguf_get_bool(g, key, out, err);
    return rc == AIOS_ENOTFOUND ? AIOS_OK : rc;
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
    const aios_llm_vocab *v = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->len[x] != v->len[y])
        return v->len[x] > v->len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int load_tokens(aios_llm_vocab *v, const aios_gguf *g, struct aios_err *err)
{
    const struct aios_gguf_value *toks, *scores = NULL, *types = NULL;
    int rc = aios_gguf_get_arr(g, "tokenizer.ggml.tokens", AIOS_GGUF_STRING, &toks, err);
    if (rc == AIOS_ENOTFOUND)
        return aios_err_set(err, AIOS_EFORMAT, "tokenizer.ggml.tokens is missing");
    if (rc)
        return rc;
    if (toks->v.arr.n == 0 || toks->v.arr.n > (1u << 24))
        return aios_err_set(err, AIOS_EFORMAT,
                            "tokenizer.ggml.tokens: %llu tokens is not a vocabulary",
                            (unsigned long long)toks->v.arr.n);
    int32_t n = (int32_t)toks->v.arr.n;
    v->n = n;

    rc = aios_gguf_get_arr(g, "tokenizer.ggml.scores", AIOS_GGUF_FLOAT32, &scores, err);
    if (rc == AIOS_EFORMAT) {
        aios_err_clear(err);
        rc = aios_gguf_get_arr(g, "tokenizer.ggml.scores", AIOS_GGUF_INT32, &scores, err);
    }
    if (rc == AIOS_ENOTFOUND)
        scores = NULL;
    else if (rc)
        return rc;
    if (scores && scores->v.arr.n < (uint64_t)n)
        return aios_err_set(err, AIOS_EFORMAT,
                            "tokenizer.ggml.scores has %llu entries for %d tokens",
                            (unsigned long long)scores->v.arr.n, n);
    rc = aios_gguf_get_arr(g, "tokenizer.ggml.token_type", AIOS_GGUF_INT32, &types, err);
    if (rc == AIOS_ENOTFOUND)
        types = NULL;
    else if (rc)
        return rc;
    if (types && types->v.arr.n < (uint64_t)n)
        return aios_err_set(err, AIOS_EFORMAT,
                            "tokenizer.ggml.token_type has %llu entries for %d tokens",
                            (unsigned long long)types->v.arr.n, n);

    size_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        uint64_t l = toks->v.arr.strs[i].len;
        if (l > 4096)
            return aios_err_set(err, AIOS_EFORMAT, "tokenizer.ggml.tokens[%d] is %llu bytes long",
                                i, (unsigned long long)l);
        total += (l ? l : 24) + 1;
    }
    v->text = aios_malloc(total);
    v->off = aios_malloc((size_t)n * sizeof *v->off);
    v->len = aios_malloc((size_t)n * sizeof *v->len);
    v->score = aios_malloc((size_t)n * sizeof *v->score);
    v->attr = aios_malloc((size_t)n * sizeof *v->attr);
    v->eog = aios_calloc((size_t)n, 1);
    if (!v->text || !v->off || !v->len || !v->score || !v->attr || !v->eog)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory loading %d tokens", n);
    size_t pos = 0;
    for (int32_t i = 0; i < n; i++) {
        const struct aios_gguf_str *s = &toks->v.arr.strs[i];
        v->off[i] = (uint32_t)pos;
        if (s->len == 0) {
            /* llama.cpp names empty tokens so that they stay unique */
            int k = snprintf(v->text + pos, 24, "[EMPTY_%d]", i);
            v->len[i] = (uint32_t)k;
        } else {
            memcpy(v->text + pos, s->data, s->len);
            v->len[i] = (uint32_t)s->len;
        }
        pos += v->len[i];
        v->text[pos++] = 0;
        if (v->len[i] > v->max_token_len)
            v->max_token_len = v->len[i];
        v->score[i] = scores ? (scores->v.arr.elem_type == AIOS_GGUF_FLOAT32
                                    ? (float)aios_gguf_arr_f64(scores, (uint64_t)i)
                                    : (float)aios_gguf_arr_i64(scores, (uint64_t)i))
                             : 0.0f;
        v->attr[i] = (uint16_t)(types ? attr_of_type(aios_gguf_arr_i64(types, (uint64_t)i))
                                      : AIOS_LLM_TOKEN_NORMAL);
    }
    rc = tok_map_init(&v->map, (size_t)n, v->text, v->off, v->len);
    if (rc)
        return aios_err_set(err, rc, "out of memory for the token table");
    for (int32_t i = 0; i < n; i++) {
        if (tok_map_find(&v->map, v->text + v->off[i], v->len[i]) >= 0)
            return aios_err_set(err, AIOS_EFORMAT, "duplicate token in vocabulary: '%s' (id %d)",
                                v->text + v->off[i], i);
        tok_map_insert(&v->map, i);
    }
    return AIOS_OK;
}

static void mark_control(aios_llm_vocab *v, int32_t id)
{
    if (!(v->attr[id] & AIOS_LLM_TOKEN_CONTROL)) {
        AIOS_DEBUG("llm", "token %d '%s' looks like a control token; marked control", id,
                   v->text + v->off[id]);
        v->attr[id] |= AIOS_LLM_TOKEN_CONTROL;
    }
}

static int load_specials(aios_llm_vocab *v, const aios_gguf *g, struct aios_err *err)
{
    struct aios_llm_vocab_special *sp = &v->sp;
    int rc = 0;
    rc = rc ? rc : get_id(g, "tokenizer.ggml.bos_token_id", v->n, &sp->bos, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.eos_token_id", v->n, &sp->eos, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.eot_token_id", v->n, &sp->eot, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.eom_token_id", v->n, &sp->eom, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.unknown_token_id", v->n, &sp->unk, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.seperator_token_id", v->n, &sp->sep, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.padding_token_id", v->n, &sp->pad, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.cls_token_id", v->n, &sp->cls, err);
    rc = rc ? rc : get_id(g, "tokenizer.ggml.mask_token_id", v->n, &sp->mask, err);
    rc = rc ? rc : get_flag(g, "tokenizer.ggml.add_bos_token", &sp->add_bos, err);
    rc = rc ? rc : get_flag(g, "tokenizer.ggml.add_eos_token", &sp->add_eos, err);
    if (rc)
        return rc;
    if (v->type == AIOS_LLM_VOCAB_WPM) {
        /* WordPiece frames with CLS ... SEP when asked, whatever add_bos says */
        if (sp->cls >= 0)
            sp->bos = sp->cls;
        sp->add_bos = sp->bos >= 0;
    }
    if (sp->add_bos && sp->bos < 0)
        return aios_err_set(err, AIOS_EFORMAT, "add_bos_token is true but the vocab has no BOS");
    if (sp->add_eos && sp->eos < 0)
        return aios_err_set(err, AIOS_EFORMAT, "add_eos_token is true but the vocab has no EOS");
    if (sp->unk >= v->n)
        sp->unk = -1;

    /* End-of-turn and end-of-generation tokens by their text, as llama.cpp
     * does until converters record them; they become control tokens. */
    if (sp->eot < 0) {
        for (size_t k = 0; k < sizeof eot_texts / sizeof *eot_texts && sp->eot < 0; k++) {
            int32_t id = tok_map_find(&v->map, eot_texts[k], strlen(eot_texts[k]));
            if (id >= 0) {
                sp->eot = id;
                mark_control(v, id);
            }
        }
    }
    if (sp->eom < 0) {
        int32_t id = tok_map_find(&v->map, "<|eom_id|>", 10);
        if (id >= 0) {
            sp->eom = id;
            mark_control(v, id);
        }
    }
    for (size_t k = 0; k < sizeof eog_texts / sizeof *eog_texts; k++) {
        int32_t id = tok_map_find(&v->map, eog_texts[k], strlen(eog_texts[k]));
        if (id >= 0) {
            v->eog[id] = 1;
            mark_control(v, id);
        }
    }
    if (sp->eos >= 0)
        v->eog[sp->eos] = 1;
    if (sp->eot >= 0)
        v->eog[sp->eot] = 1;
    if (sp->eom >= 0)
        v->eog[sp->eom] = 1;
    for (int32_t i = 0; i < v->n; i++)
        if ((v->attr[i] & AIOS_LLM_TOKEN_CONTROL) && strstr(v->text + v->off[i], "unused"))
            v->attr[i] |= AIOS_LLM_TOKEN_UNUSED;

    /* (Phi-3's RSTRIP attributes need the partition list: build_special_list) */
    return AIOS_OK;
}

static int build_special_list(aios_llm_vocab *v, const aios_gguf *g, struct aios_err *err)
{
    int32_t cnt = 0;
    for (int32_t i = 0; i < v->n; i++)
        if (v->attr[i] &
            (AIOS_LLM_TOKEN_CONTROL | AIOS_LLM_TOKEN_USER_DEFINED | AIOS_LLM_TOKEN_UNKNOWN))
            cnt++;
    v->special = aios_malloc((size_t)(cnt ? cnt : 1) * sizeof *v->special);
    if (!v->special)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    cnt = 0;
    for (int32_t i = 0; i < v->n; i++)
        if (v->attr[i] &
            (AIOS_LLM_TOKEN_CONTROL | AIOS_LLM_TOKEN_USER_DEFINED | AIOS_LLM_TOKEN_UNKNOWN))
            v->special[cnt++] = i;
    v->n_special = cnt;
    qsort_r(v->special, (size_t)cnt, sizeof *v->special, cmp_special, v);
    size_t total = 0;
    for (int32_t k = 0; k < cnt; k++)
        total += v->len[v->special[k]];
    if (tok_trie_init(&v->special_trie, total))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int32_t k = 0; k < cnt; k++) {
        const char *t = v->text + v->off[v->special[k]];
        tok_trie_insert(&v->special_trie, t, v->len[v->special[k]], k);
        v->special_first[(unsigned char)t[0]] = true;
    }

    char *name = NULL;
    if (aios_gguf_get_str(g, "general.name", &name, NULL) == AIOS_OK && name) {
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (strstr(name, "phi-3") || strstr(name, "phi3")) {
            for (int32_t k = 0; k < cnt; k++)
                v->attr[v->special[k]] |= AIOS_LLM_TOKEN_RSTRIP;
            static const char *const on[] = {"</s>"}, *const off[] = {"<unk>", "<s>",
                                                                      "<|endoftext|>"};
            for (size_t k = 0; k < 1; k++) {
                int32_t id = tok_map_find(&v->map, on[k], strlen(on[k]));
                if (id >= 0)
                    v->attr[id] |= AIOS_LLM_TOKEN_RSTRIP;
            }
            for (size_t k = 0; k < 3; k++) {
                int32_t id = tok_map_find(&v->map, off[k], strlen(off[k]));
                if (id >= 0)
                    v->attr[id] &= (uint16_t)~AIOS_LLM_TOKEN_RSTRIP;
            }
        }
    }
    aios_free(name);
    return AIOS_OK;
}

static int init_spm(aios_llm_vocab *v)
{
    for (int b = 0; b < 256; b++) {
        char buf[8];
        snprintf(buf, sizeof buf, "<0x%02X>", b);
        int32_t id = tok_map_find(&v->map, buf, 6);
        if (id < 0) {
            char c = (char)b;
            id = tok_map_find(&v->map, &c, 1);
        }
        v->byte_token[b] = id;
    }
    return AIOS_OK;
}

int aios_llm_vocab_load(const aios_gguf *g, aios_llm_vocab **out, struct aios_err *err)
{
    *out = NULL;
    aios_llm_vocab *v = aios_calloc(1, sizeof *v);
    if (!v)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    char *model = NULL, *pre = NULL;
    int rc = aios_gguf_get_str(g, "tokenizer.ggml.model", &model, err);
    if (rc == AIOS_ENOTFOUND) {
        rc = aios_err_set(err, AIOS_EFORMAT, "tokenizer.ggml.model is missing");
        goto out;
    }
    if (rc)
        goto out;
    rc = aios_gguf_get_str(g, "tokenizer.ggml.pre", &pre, err);
    if (rc && rc != AIOS_ENOTFOUND)
        goto out;
    aios_strlcpy(v->pre_name, pre && *pre ? pre : "default", sizeof v->pre_name);
    aios_strlcpy(v->model, model, sizeof v->model);

    struct aios_llm_vocab_special *sp = &v->sp;
    sp->eot = sp->eom = sp->sep = sp->pad = sp->cls = sp->mask = sp->nl = -1;
    const struct tok_pre_info *pi = NULL;
    if (strcmp(model, "llama") == 0) {
        v->type = AIOS_LLM_VOCAB_SPM;
        sp->bos = 1, sp->eos = 2, sp->unk = 0;
        sp->add_bos = true, sp->add_space_prefix = true;
    } else if (strcmp(model, "gpt2") == 0) {
        v->type = AIOS_LLM_VOCAB_BPE;
        sp->bos = 11, sp->eos = 11, sp->unk = -1;
        pi = tok_pre_lookup(v->pre_name);
        if (!pi) {
            rc = aios_err_set(err, AIOS_EUNSUPPORTED, "unknown pre-tokenizer type: '%s'",
                              v->pre_name);
            goto out;
        }
        v->pre_kind = pi->kind;
        v->ignore_merges = pi->ignore_merges;
        sp->add_bos = pi->add_bos;
        sp->clean_spaces = !pi->keep_spaces;
    } else if (strcmp(model, "bert") == 0) {
        v->type = AIOS_LLM_VOCAB_WPM;
        sp->bos = 101, sp->eos = -1, sp->unk = 100, sp->sep = 102, sp->pad = 0, sp->mask = 103;
        sp->cls = 101;
        sp->add_bos = true, sp->add_eos = false;
        sp->clean_spaces = true;
    } else {
        rc = aios_err_set(err, AIOS_EUNSUPPORTED, "unknown tokenizer model: '%s'", model);
        goto out;
    }
    rc = get_flag(g, "tokenizer.ggml.add_space_prefix", &sp->add_space_prefix, err);
    if (rc)
        goto out;

    rc = load_tokens(v, g, err);
    if (rc)
        goto out;
    rc = load_specials(v, g, err);
    if (rc)
        goto out;
    rc = build_special_list(v, g, err);
    if (rc)
        goto out;

    switch (v->type) {
    case AIOS_LLM_VOCAB_SPM:
        init_spm(v);
        v->spm_split_ok = tok_spm_can_split(v);
        sp->nl = v->byte_token['\n'];
        break;
    case AIOS_LLM_VOCAB_BPE: {
        const struct aios_gguf_value *merges;
        rc = aios_gguf_get_arr(g, "tokenizer.ggml.merges", AIOS_GGUF_STRING, &merges, err);
        if (rc == AIOS_ENOTFOUND)
            rc = aios_err_set(err, AIOS_EFORMAT, "tokenizer.ggml.merges is missing");
        if (rc)
            goto out;
        rc = tok_bpe_init(v, merges, err);
        if (rc)
            goto out;
        rc = tok_pre_compile(&v->pre, v->pre_kind, err);
        if (rc)
            goto out;
        sp->nl = v->byte_char_token['\n'];
        break;
    }
    case AIOS_LLM_VOCAB_WPM: {
        bool lc = true;
        rc = get_flag(g, "tokenizer.ggml.normalizer.lowercase", &lc, err);
        if (rc)
            goto out;
        v->lowercase = lc;
        v->strip_accents = lc;
        rc = get_flag(g, "tokenizer.ggml.normalizer.strip_accents", &v->strip_accents, err);
        if (rc)
            goto out;
        rc = tok_wpm_init(v, err);
        if (rc)
            goto out;
        sp->nl = sp->pad;
        break;
    }
    }
    AIOS_DEBUG("llm", "vocab: %s/%s, %d tokens, %d special", v->model, v->pre_name, v->n,
               v->n_special);
out:
    aios_free(model);
    aios_free(pre);
    if (rc) {
        aios_llm_vocab_free(v);
        return rc;
    }
    *out = v;
    return AIOS_OK;
}

int aios_llm_vocab_load_file(const char *path, aios_llm_vocab **out, struct aios_err *err)
{
    aios_gguf *g;
    int rc = aios_gguf_open(path, &g, err);
    if (rc)
        return rc;
    rc = aios_llm_vocab_load(g, out, err);
    if (rc)
        aios_err_prefix(err, "%s", path);
    aios_gguf_close(g);
    return rc;
}

void aios_llm_vocab_free(aios_llm_vocab *v)
{
    if (!v)
        return;
    tok_map_free(&v->map);
    tok_bpe_free(v);
    tok_wpm_free(v);
    tok_pre_free(&v->pre);
    aios_free(v->text);
    aios_free(v->off);
    aios_free(v->len);
    aios_free(v->score);
    aios_free(v->attr);
    aios_free(v->eog);
    aios_free(v->special);
    tok_trie_free(&v->special_trie);
    aios_free(v);
}

/* ---- accessors ---------------------------------------------------------------- */

int32_t aios_llm_vocab_n_tokens(const aios_llm_vocab *v)
{
    return v->n;
}
enum aios_llm_vocab_type aios_llm_vocab_type(const aios_llm_vocab *v)
{
    return v->type;
}
const char *aios_llm_vocab_model_name(const aios_llm_vocab *v)
{
    return v->model;
}
const char *aios_llm_vocab_pre_name(const aios_llm_vocab *v)
{
    return v->pre_name;
}
const struct aios_llm_vocab_special *aios_llm_vocab_special(const aios_llm_vocab *v)
{
    return &v->sp;
}

const char *aios_llm_vocab_token_text(const aios_llm_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? v->text + v->off[id] : NULL;
}

float aios_llm_vocab_token_score(const aios_llm_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? v->score[id] : 0.0f;
}

unsigned aios_llm_vocab_token_attr(const aios_llm_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? v->attr[id] : 0;
}

bool aios_llm_vocab_is_eog(const aios_llm_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n && v->eog[id];
}

int32_t aios_llm_vocab_find(const aios_llm_vocab *v, const char *text, size_t len)
{
    return tok_map_find(&v->map, text, len);
}

/* ---- special-token partition ---------------------------------------------------- */

/* A piece of the input: a token already decided, or raw text. */
struct frag {
    int32_t token; /* -1 = raw text */
    uint32_t off, len;
};

static bool is_space_c(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Appends f to *arr (capacity *cap), growing it; bounded by the caller's
 * text length (at most 2 * len + 1 fragments can exist). */
static int push_frag(struct frag **arr, size_t *cap, size_t *n, struct frag f)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct frag *p = aios_realloc(*arr, nc * sizeof *p);
        if (!p)
            return AIOS_ENOMEM;
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = f;
    return AIOS_OK;
}

/* llama.cpp's tokenizer_st_partition: each special token in turn, longest
 * first, splits every raw fragment at its leftmost non-overlapping
 * occurrences (stripping whitespace beside it where the token says so).
 * Only tokens that occur in the text at all are tried: one pass over the
 * text with the trie of special texts finds them, so a vocabulary with
 * thousands of user-defined tokens costs little more than one with none. */
static int partition(const aios_llm_vocab *v, const char *text, size_t len, bool parse_special,
                     struct frag **frags, size_t *n_frags)
{
    *frags = NULL;
    *n_frags = 0;
    if (len == 0)
        return AIOS_OK;
    int rc = AIOS_OK;
    uint8_t *present = NULL;
    struct frag *a = NULL, *b = NULL;
    size_t na = 0;
    int32_t n_present = 0;
    if (v->n_special > 0) {
        present = aios_calloc((size_t)v->n_special, 1);
        if (!present)
            return AIOS_ENOMEM;
        const struct tok_trie *t = &v->special_trie;
        for (size_t p = 0; p < len; p++) {
            if (!v->special_first[(unsigned char)text[p]])
                continue;
            uint32_t node = TOK_TRIE_ROOT;
            for (size_t k = p; k < len; k++) {
                int64_t e = tok_trie_child(t, node, (unsigned char)text[k]);
                if (e < 0)
                    break;
                node = (uint32_t)e + 1;
                int32_t r = t->nodes[e].token;
                if (r >= 0 && !present[r]) {
                    unsigned at = v->attr[v->special[r]];
                    if (parse_special ||
                        !(at & (AIOS_LLM_TOKEN_CONTROL | AIOS_LLM_TOKEN_UNKNOWN))) {
                        present[r] = 1;
                        n_present++;
                    }
                }
            }
        }
    }
    size_t cap_a = 0, cap_b = 0;
    if ((rc = push_frag(&a, &cap_a, &na, (struct frag){-1, 0, (uint32_t)len})))
        goto out;
    for (int32_t r = 0; r < v->n_special && n_present > 0; r++) {
        if (!present[r])
            continue;
        n_present--;
        int32_t id = v->special[r];
        const char *tt = v->text + v->off[id];
        uint32_t tl = v->len[id];
        unsigned at = v->attr[id];
        size_t nb = 0;
        for (size_t f = 0; f < na && !rc; f++) {
            if (a[f].token >= 0) {
                rc = push_frag(&b, &cap_b, &nb, a[f]);
                continue;
            }
            size_t off = a[f].off, end = off + a[f].len;
            while (off < end) {
                const char *m = memmem(text + off, end - off, tt, tl);
                if (!m)
                    break;
                size_t pos = (size_t)(m - text);
                size_t left_end = pos;
                if (at & AIOS_LLM_TOKEN_LSTRIP)
                    while (left_end > off && is_space_c((unsigned char)text[left_end - 1]))
                        left_end--;
                if (left_end > off &&
                    (rc = push_frag(&b, &cap_b, &nb,
                                    (struct frag){-1, (uint32_t)off, (uint32_t)(left_end - off)})))
                    break;
                if ((rc = push_frag(&b, &cap_b, &nb, (struct frag){id, 0, 0})))
                    break;
                off = pos + tl;
                if (at & AIOS_LLM_TOKEN_RSTRIP)
                    while (off < end && is_space_c((unsigned char)text[off]))
                        off++;
            }
            if (!rc && off < end)
                rc = push_frag(&b, &cap_b, &nb,
                               (struct frag){-1, (uint32_t)off, (uint32_t)(end - off)});
        }
        if (rc)
            goto out;
        struct frag *tmp = a;
        size_t tc = cap_a;
        a = b, cap_a = cap_b;
        b = tmp, cap_b = tc;
        na = nb;
    }
    *frags = a;
    *n_frags = na;
    a = NULL;
out:
    aios_free(present);
    aios_free(a);
    aios_free(b);
    return rc;
}

/* ---- tokenize ------------------------------------------------------------------- */

int aios_llm_tokenize(const aios_llm_vocab *v, const char *text, size_t len, unsigned flags,
                      struct aios_llm_tokens *out, struct aios_err *err)
{
    if (len > AIOS_LLM_TOKENIZE_MAX_BYTES)
        return aios_err_set(err, AIOS_ELIMIT, "text of %zu bytes is longer than the %zu allowed",
                            len, (size_t)AIOS_LLM_TOKENIZE_MAX_BYTES);
    if (!text && len)
        return aios_err_set(err, AIOS_EINVAL, "no text");
    size_t n0 = out->n;
    struct frag *frags = NULL;
    size_t n_frags = 0;
    struct tok_scratch sc;
    memset(&sc, 0, sizeof sc);
    bool add = (flags & AIOS_LLM_TOK_ADD_SPECIAL) != 0;
    const struct aios_llm_vocab_special *sp = &v->sp;

    int rc = partition(v, text, len, (flags & AIOS_LLM_TOK_PARSE_SPECIAL) != 0, &frags, &n_frags);
    if (rc) {
        aios_err_set(err, rc, "splitting special tokens: %s", aios_status_str(rc));
        goto out;
    }
    if (add && ((v->type == AIOS_LLM_VOCAB_WPM && sp->bos >= 0) ||
                (v->type != AIOS_LLM_VOCAB_WPM && sp->add_bos))) {
        if ((rc = aios_llm_tokens_push(out, sp->bos)))
            goto full;
    }
    bool prev_special = true;
    char *tmp = NULL;
    for (size_t f = 0; f < n_frags; f++) {
        if (frags[f].token >= 0) {
            if ((rc = aios_llm_tokens_push(out, frags[f].token)))
                goto full;
            prev_special = true;
            continue;
        }
        const char *s = text + frags[f].off;
        size_t n = frags[f].len;
        switch (v->type) {
        case AIOS_LLM_VOCAB_SPM: {
            /* prefix a space, then spaces become U+2581 (3 bytes) */
            bool prefix = sp->add_space_prefix && prev_special;
            size_t need = n + 3;
            for (size_t i = 0; i < n; i++)
                need += s[i] == ' ' ? 2 : 0;
            tmp = tok_scratch_get(&sc, TOK_SC_TEXT, need);
            if (!tmp) {
                rc = AIOS_ENOMEM;
                goto full;
            }
            size_t m = 0;
            if (prefix) {
                memcpy(tmp, "\xe2\x96\x81", 3);
                m = 3;
            }
            for (size_t i = 0; i < n; i++) {
                if (s[i] == ' ') {
                    memcpy(tmp + m, "\xe2\x96\x81", 3);
                    m += 3;
                } else {
                    tmp[m++] = s[i];
                }
            }
            rc = tok_spm_encode(v, tmp, m, &sc, out, err);
            break;
        }
        case AIOS_LLM_VOCAB_BPE:
            rc = tok_bpe_encode(v, s, n, &sc, out, err);
            break;
        case AIOS_LLM_VOCAB_WPM:
            rc = tok_wpm_encode(v, s, n, &sc, out, err);
            break;
        }
        if (rc)
            goto fail;
        prev_special = false;
    }
    if (add) {
        if (v->type == AIOS_LLM_VOCAB_WPM) {
            if (sp->sep >= 0 && (rc = aios_llm_tokens_push(out, sp->sep)))
                goto full;
        } else if (sp->add_eos) {
            if ((rc = aios_llm_tokens_push(out, sp->eos)))
                goto full;
        }
    }
    goto out;
full:
    if (rc == AIOS_ELIMIT)
        aios_err_set(err, rc, "more than %zu tokens",
                     out->max ? out->max : AIOS_LLM_TOKENS_DEFAULT_MAX);
    else
        aios_err_set(err, rc, "tokenizing: %s", aios_status_str(rc));
fail:
    out->n = n0;
out:
    aios_free(frags);
    tok_scratch_free(&sc);
    return rc;
}

/* ---- detokenize ------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the piece of id, skipping up to `lstrip` leading spaces. */
static int piece(const aios_llm_vocab *v, int32_t id, bool special, int lstrip,
                 struct aios_buf *out)
{
    unsigned a = v->attr[id];
    const char *t = v->text + v->off[id];
    size_t n = v->len[id];
    if (!special && (a & (AIOS_LLM_TOKEN_UNKNOWN | AIOS_LLM_TOKEN_CONTROL)))
        return AIOS_OK;
    char byte;
    const char *p = NULL;
    size_t pn = 0;
    if (a & (AIOS_LLM_TOKEN_UNKNOWN | AIOS_LLM_TOKEN_CONTROL | AIOS_LLM_TOKEN_USER_DEFINED)) {
        p = t, pn = n;
    } else if (a & AIOS_LLM_TOKEN_NORMAL) {
        if (v->type == AIOS_LLM_VOCAB_BPE) {
            if (v->raw_len && v->raw_len[id] != UINT32_MAX)
                p = v->raw + v->raw_off[id], pn = v->raw_len[id];
            else
                p = t, pn = n;
        } else {
            /* U+2581 -> ' ', written in runs straight into out (no allocation:
             * the decode loop calls this once per generated token) */
            size_t len0 = out->len, i = 0, run;
            for (; lstrip > 0 && i < n; lstrip--) {
                if (i + 3 <= n && memcmp(t + i, "\xe2\x96\x81", 3) == 0)
                    i += 3;
                else if (t[i] == ' ')
                    i++;
                else
                    break;
            }
            int rc = AIOS_OK;
            for (run = i; i < n && !rc;) {
                if (i + 3 <= n && memcmp(t + i, "\xe2\x96\x81", 3) == 0) {
                    if (i > run)
                        rc = aios_buf_append(out, t + run, i - run);
                    if (!rc)
                        rc = aios_buf_putc(out, ' ');
                    i += 3;
                    run = i;
                } else {
                    i++;
                }
            }
            if (!rc && i > run)
                rc = aios_buf_append(out, t + run, i - run);
            if (rc) {
                out->len = len0;
                if (out->data)
                    out->data[len0] = 0;
            }
            return rc;
        }
    } else if (a & AIOS_LLM_TOKEN_BYTE) {
        if (n == 6 && hexval(t[3]) >= 0 && hexval(t[4]) >= 0) {
            byte = (char)(hexval(t[3]) * 16 + hexval(t[4]));
            p = &byte, pn = 1;
        }
    }
    for (int i = 0; i < lstrip && pn && *p == ' '; i++)
        p++, pn--;
    return pn ? aios_buf_append(out, p, pn) : AIOS_OK;
}

int aios_llm_token_piece(const aios_llm_vocab *v, int32_t id, bool special, struct aios_buf *out,
                         struct aios_err *err)
{
    if (id < 0 || id >= v->n)
        return aios_err_set(err, AIOS_EINVAL, "token id %d is outside the vocabulary (0..%d)", id,
                            v->n - 1);
    int rc = piece(v, id, special, 0, out);
    if (rc)
        return aios_err_set(err, rc, "token %d: %s", id, aios_status_str(rc));
    return AIOS_OK;
}

/* The three passes of llama.cpp's clean_spaces over s[0..n); returns the new length. */
static size_t clean_spaces(char *s, size_t n)
{
    if (n < 2)
        return n;
    /* 1: " ?", " !", " .", " ," lose the space */
    size_t t = 1;
    char prev = s[0];
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (prev == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
            t--;
        prev = x;
        s[t++] = x;
    }
    n = t;
    /* 2: a single apostrophe between spaces loses both */
    t = 1;
    prev = s[0];
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (x == '\'' && i + 1 < n && prev == ' ' && s[i + 1] == ' ') {
            t--;
            s[t++] = x;
            i++;      /* the next space is dropped */
            prev = 0; /* and reads as NUL afterwards, as in llama.cpp */
            continue;
        }
        prev = x;
        s[t++] = x;
    }
    n = t;
    /* 3: " 's", " 'm", " 're", " 've" lose the space */
    t = 1;
    prev = s[0];
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (prev == ' ' && x == '\'' && i + 1 < n) {
            char x1 = s[i + 1];
            if (x1 == 's' || x1 == 'm')
                t--;
            else if (x1 != 't' && x1 != 'd' && i + 2 < n &&
                     ((x1 == 'r' && s[i + 2] == 'e') || (x1 == 'v' && s[i + 2] == 'e')))
                t--;
        }
        prev = x;
        s[t++] = x;
    }
    return t;
}

int aios_llm_detokenize(const aios_llm_vocab *v, const int32_t *ids, size_t n, unsigned flags,
                        struct aios_buf *out, struct aios_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= v->n)
            return aios_err_set(err, AIOS_EINVAL,
                                "token id %d (at %zu) is outside the vocabulary (0..%d)", ids[i], i,
                                v->n - 1);
    size_t len0 = out->len;
    /* SPM prepends a space when encoding, so the first piece loses one;
     * WordPiece marks word starts with U+2581, so the first one is dropped too. */
    bool remove_space = v->sp.add_space_prefix || v->type == AIOS_LLM_VOCAB_WPM;
    bool special = (flags & AIOS_LLM_DETOK_UNPARSE_SPECIAL) != 0;
    if ((flags & AIOS_LLM_DETOK_REMOVE_SPECIAL) && v->sp.add_bos && n > 0 && ids[0] == v->sp.bos) {
        remove_space = v->type == AIOS_LLM_VOCAB_WPM;
        ids++, n--;
    }
    if ((flags & AIOS_LLM_DETOK_REMOVE_SPECIAL) && v->sp.add_eos && n > 0 &&
        ids[n - 1] == v->sp.eos)
        n--;
    if ((flags & AIOS_LLM_DETOK_REMOVE_SPECIAL) && v->type == AIOS_LLM_VOCAB_WPM && n > 0 &&
        ids[n - 1] == v->sp.sep)
        n--;
    for (size_t i = 0; i < n; i++) {
        int rc = piece(v, ids[i], special, remove_space ? 1 : 0, out);
        if (rc) {
            out->len = len0;
            if (out->data)
                out->data[len0] = 0;
            return aios_err_set(err, rc, "detokenizing: %s", aios_status_str(rc));
        }
        remove_space = false; /* only the first piece, as llama.cpp does */
    }
    if (flags & AIOS_LLM_DETOK_CLEAN_SPACES) {
        out->len = len0 + clean_spaces(out->data + len0, out->len - len0);
        out->data[out->len] = 0;
    }
    return AIOS_OK;
}
