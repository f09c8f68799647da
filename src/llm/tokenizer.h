/*
 * Private to the tokenizers of src/llm: the vocabulary structure, the hash
 * tables over token texts and merge pairs, the pre-tokenizer and per-call
 * scratch space. Nothing here is used outside tokenizer.c and tok_*.c.
 *
 * Invariants: a loaded vocab is never written again (tokenize runs on many
 * threads with one vocab), every table is sized from the file's counts, and
 * per-call work memory comes from struct tok_scratch, whose growth is bounded
 * by the input size the caller was allowed to pass.
 */
#ifndef AIOS_LLM_TOKENIZER_H
#define AIOS_LLM_TOKENIZER_H

#include "llm/llm.h"

/* ---- hash map: byte string -> token id ---------------------------------- */

/* Keys are the strings base[off[id] .. off[id]+len[id]) of the ids inserted;
 * a slot holds id+1 (0 = empty) and the high bits of the key's hash. */
struct tok_map_slot {
    uint32_t id1;
    uint32_t hash;
};
struct tok_map {
    struct tok_map_slot *slots;
    uint32_t mask;
    const char *base;
    const uint32_t *off;
    const uint32_t *len;
};

uint64_t tok_hash(const void *data, size_t n);
int tok_map_init(struct tok_map *m, size_t n_keys, const char *base, const uint32_t *off,
                 const uint32_t *len);
/* Inserts id unless its key is already present (the first id wins). */
void tok_map_insert(struct tok_map *m, int32_t id);
int32_t tok_map_find(const struct tok_map *m, const char *s, size_t n);
void tok_map_free(struct tok_map *m);

/* ---- hash map: (left id, right id) -> (rank, merged id) ----------------- */

struct tok_merge_entry {
    uint64_t key; /* left << 32 | right; UINT64_MAX = empty */
    uint32_t rank;
    int32_t result;
};
struct tok_merge_map {
    struct tok_merge_entry *e; /* one cache line holds four entries */
    uint32_t mask;
};

/* ---- WordPiece trie: every prefix of every token ----------------------- */

/* A trie stored in one open-addressing table: the node for prefix P+c lives
 * in the slot found by hashing (node of P, c), so a matcher extends a
 * candidate one byte at a time with one probe and an exact key compare. */
struct tok_trie_node {
    uint32_t parent; /* slot of the parent node + 1; 0 = empty slot */
    int32_t token;   /* token equal to this prefix, or -1 */
    uint8_t c;
};
struct tok_trie {
    struct tok_trie_node *nodes;
    uint32_t mask;
};
#define TOK_TRIE_ROOT 0xFFFFFFFEu /* parent value of first-byte nodes (as slot + 1) */

/* Sized for total_bytes of keys; AIOS_ENOMEM. */
int tok_trie_init(struct tok_trie *t, size_t total_bytes);
/* Adds key s[0..n) with value `token` (the first value set for a key stays). */
void tok_trie_insert(struct tok_trie *t, const char *s, size_t n, int32_t token);
void tok_trie_free(struct tok_trie *t);

static inline uint32_t tok_trie_slot(uint32_t parent, unsigned char c, uint32_t mask)
{
    uint64_t k = ((uint64_t)parent << 8 | c) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(k >> 32) & mask;
}

/* Slot of the child of `parent` (a slot + 1, or TOK_TRIE_ROOT) by byte c; -1 if none. */
static inline int64_t tok_trie_child(const struct tok_trie *t, uint32_t parent, unsigned char c)
{
    for (uint32_t i = tok_trie_slot(parent, c, t->mask);; i = (i + 1) & t->mask) {
        const struct tok_trie_node *n = &t->nodes[i];
        if (n->parent == 0)
            return -1;
        if (n->parent == parent && n->c == c)
            return i;
    }
}

/* ---- pre-tokenizer -------------------------------------------------------- */

#define TOK_PRE_MAX_REGEX 8

enum tok_pre_kind {
    TOK_PRE_DEFAULT,
    TOK_PRE_LLAMA3,
    TOK_PRE_DEEPSEEK_LLM,
    TOK_PRE_DEEPSEEK_CODER,
    TOK_PRE_FALCON,
    TOK_PRE_MPT,
    TOK_PRE_STARCODER,
    TOK_PRE_GPT2,
    TOK_PRE_REFACT,
    TOK_PRE_COMMAND_R,
    TOK_PRE_QWEN2,
    TOK_PRE_STABLELM2,
    TOK_PRE_OLMO,
    TOK_PRE_DBRX,
    TOK_PRE_SMAUG,
    TOK_PRE_PORO,
    TOK_PRE_CHATGLM4,
    TOK_PRE_VIKING,
    TOK_PRE_JAIS,
    TOK_PRE_TEKKEN,
    TOK_PRE_SMOLLM,
    TOK_PRE_CODESHELL,
    TOK_PRE_BLOOM,
    TOK_PRE_GPT3_FINNISH,
    TOK_PRE_EXAONE,
    TOK_PRE_CHAMELEON,
    TOK_PRE_MINERVA,
    TOK_PRE_DEEPSEEK3_LLM,
};

/* What a pre-tokenizer name selects, and the flags it implies. */
struct tok_pre_info {
    const char *name;
    enum tok_pre_kind kind;
    bool ignore_merges;
    bool add_bos;
    bool keep_spaces; /* decoding keeps " ." and " 's" (llama.cpp: clean_spaces off) */
};
const struct tok_pre_info *tok_pre_lookup(const char *name);

struct tok_pre {
    int n;
    void *code[TOK_PRE_MAX_REGEX]; /* pcre2_code_8 * */
};
int tok_pre_compile(struct tok_pre *p, enum tok_pre_kind kind, struct aios_err *err);
void tok_pre_free(struct tok_pre *p);

/* A span of the input. */
struct tok_span {
    uint32_t off, len;
};

/* ---- the vocabulary --------------------------------------------------------- */

struct aios_llm_vocab {
    enum aios_llm_vocab_type type;
    char model[16];
    char pre_name[64];
    int32_t n;

    char *text;     /* all token texts, each NUL-terminated */
    uint32_t *off;  /* [n] */
    uint32_t *len;  /* [n] */
    float *score;   /* [n] */
    uint16_t *attr; /* [n] AIOS_LLM_TOKEN_* */
    uint8_t *eog;   /* [n] 1 = end of generation */
    uint32_t max_token_len;
    struct tok_map map; /* text -> id, every token */

    struct aios_llm_vocab_special sp;

    /* special-token partition: candidates sorted longest first, and a trie
     * of their texts whose values are positions in that list */
    int32_t *special;
    int32_t n_special;
    struct tok_trie special_trie;
    bool special_first[256]; /* bytes a candidate starts with */

    /* SPM */
    int32_t byte_token[256]; /* <0xXX> token of each byte, or -1 */
    bool spm_split_ok;       /* see tok_spm_can_split */

    /* BPE */
    enum tok_pre_kind pre_kind;
    bool ignore_merges;
    struct tok_pre pre;
    char *raw;         /* decoded bytes of each normal token */
    uint32_t *raw_off; /* [n] */
    uint32_t *raw_len; /* [n]; UINT32_MAX = no byte form */
    struct tok_map raw_map;
    int32_t byte_char_token[256]; /* the token of the byte-level character of each byte */
    struct tok_merge_map merges;
    size_t bpe_cache_min_text; /* texts this long use the per-call word cache */

    /* WPM */
    bool lowercase, strip_accents;
    struct tok_trie trie;
};

/* ---- per-call scratch ----------------------------------------------------- */

/* Grown on demand, freed at the end of the call. Every slot is sized from
 * the input (at most a few times its length, which AIOS_LLM_TOKENIZE_MAX_BYTES
 * bounds), so growth fails only when memory runs out. */
#define TOK_SCRATCH_SLOTS 10
struct tok_scratch {
    void *buf[TOK_SCRATCH_SLOTS];
    size_t cap[TOK_SCRATCH_SLOTS];
    /* PCRE2 match data, match context and JIT stack, made on first use */
    void *pcre[3];
};
/* Ensures slot k holds at least n bytes; NULL when out of memory. Contents
 * are kept across growth. */
void *tok_scratch_get(struct tok_scratch *s, int k, size_t n);
void tok_scratch_free(struct tok_scratch *s);
enum {
    TOK_SC_SYMBOLS = 0,
    TOK_SC_HEAP = 1,
    TOK_SC_SPANS = 2,
    TOK_SC_SPANS2 = 3,
    TOK_SC_TEXT = 4,
    TOK_SC_WORD = 5,
    TOK_SC_CACHE_SLOTS = 6, /* BPE word cache */
    TOK_SC_CACHE_ENTS = 7,
    TOK_SC_CACHE_IDS = 8,
};

/* ---- the algorithms ------------------------------------------------------- */

/* Each appends the ids of one raw-text fragment to out. */
int tok_spm_encode(const aios_llm_vocab *v, const char *text, size_t len, struct tok_scratch *sc,
                   struct aios_llm_tokens *out, struct aios_err *err);
int tok_bpe_encode(const aios_llm_vocab *v, const char *text, size_t len, struct tok_scratch *sc,
                   struct aios_llm_tokens *out, struct aios_err *err);
int tok_wpm_encode(const aios_llm_vocab *v, const char *text, size_t len, struct tok_scratch *sc,
                   struct aios_llm_tokens *out, struct aios_err *err);

/* Frees the PCRE2 objects of a scratch (tok_scratch_free calls it). */
void tok_pre_scratch_free(struct tok_scratch *sc);
/* Splits text into words with the vocab's pre-tokenizer regexes; *spans
 * points into scratch slot TOK_SC_SPANS or TOK_SC_SPANS2. */
int tok_pre_split(const struct tok_pre *p, const char *text, size_t len, struct tok_scratch *sc,
                  struct tok_span **spans, size_t *n_spans, struct aios_err *err);

/* SPM setup: true when no token has U+2581 right after another character,
 * so text can be encoded word by word with the same result. */
bool tok_spm_can_split(const aios_llm_vocab *v);
/* BPE setup (tok_bpe.c): byte-level tables and merges. */
int tok_bpe_init(aios_llm_vocab *v, const struct aios_gguf_value *merges, struct aios_err *err);
void tok_bpe_free(aios_llm_vocab *v);
/* The byte-level character (GPT-2's bytes_to_unicode) of byte b, as a code point. */
uint32_t tok_byte_to_cp(unsigned b);
/* WPM setup (tok_wpm.c). */
int tok_wpm_init(aios_llm_vocab *v, struct aios_err *err);
void tok_wpm_free(aios_llm_vocab *v);

/* UTF-8 helpers. Length of the sequence a lead byte starts (1 for
 * continuation bytes), as llama.cpp counts it. */
static inline size_t tok_utf8_len(unsigned char c)
{
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}
/* Encodes cp into out (4 bytes room); returns the length. */
size_t tok_utf8_put(uint32_t cp, char *out);
/* Decodes one code point at s (n bytes left); invalid sequences give
 * U+FFFD and consume one byte. Returns bytes consumed. */
size_t tok_utf8_get(const char *s, size_t n, uint32_t *cp);

#endif
