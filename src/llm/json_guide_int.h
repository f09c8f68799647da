/*
 * Private to the JSON guide: the compiled form of a schema, shared by the
 * compiler (json_guide_schema.c) and the byte-level matcher (json_guide.c).
 *
 * A schema compiles to a graph of nodes (cycles where $ref recurses), all in
 * one arena owned by the guide. A node is either a union (alts, flattened:
 * no alt is itself a union), a literal set (enum/const: the values' compact
 * canonical texts, sorted) or a typed node with the constraints of each type
 * it admits.
 */
#ifndef AIOS_LLM_JSON_GUIDE_INT_H
#define AIOS_LLM_JSON_GUIDE_INT_H

#include "base/base.h"

#define JG_T_OBJECT 0x01u
#define JG_T_ARRAY 0x02u
#define JG_T_STRING 0x04u
#define JG_T_NUMBER 0x08u
#define JG_T_INTEGER 0x10u
#define JG_T_BOOLEAN 0x20u
#define JG_T_NULL 0x40u
#define JG_T_ALL 0x7fu

#define JG_MAX_PROPS 128
#define JG_MAX_ALTS 64

/* A byte string (not NUL-terminated as far as matching goes). */
struct jg_lit {
    const char *s;
    uint32_t len;
};

struct jg_node {
    unsigned types;
    /* union: nalts > 0, nothing else applies */
    uint32_t nalts;
    const struct jg_node **alts;
    /* literal set: lits != NULL, nothing else applies */
    uint32_t nlits;
    const struct jg_lit *lits; /* sorted, distinct */
    /* object */
    uint32_t nprops;
    const struct jg_lit *prop_names; /* canonical escaped form, sorted */
    const struct jg_node **prop_nodes;
    uint64_t required[2];             /* bit i: prop_names[i] is required */
    uint64_t forbidden[2];            /* bit i: prop_nodes[i] is NULL (schema false) */
    const struct jg_node *additional; /* NULL: no additional properties */
    uint32_t min_props, max_props;
    /* array */
    uint32_t nprefix;
    const struct jg_node **prefix;
    const struct jg_node *items; /* NULL: nothing past the prefix */
    uint32_t min_items, max_items;
    /* numbers: integer bounds (inclusive; enforced for integer-only
     * nodes), and "no minus sign" for numbers whose minimum is >= 0 */
    int64_t imin, imax;
    bool has_imin, has_imax;
    bool nonneg;
    /* string (code points) */
    uint32_t min_len, max_len;
    const struct jg_regex *pattern; /* NULL: none (or ignored) */
    bool pending;                   /* compiler only: a $ref target still being built */
};

/* A "pattern" as an NFA over code points (json_guide_regex.c). A set of
 * states is two 64-bit words. */
#define JG_RE_MAX_STATES 128
enum { JG_RE_CHAR, JG_RE_EPS, JG_RE_SPLIT, JG_RE_MATCH };

struct jg_re_state {
    uint8_t kind;
    int16_t out, out2; /* next states (-1: none) */
    int16_t cls;       /* CHAR: class index */
};

struct jg_regex {
    int nstates;
    struct jg_re_state st[JG_RE_MAX_STATES];
    uint64_t clos[JG_RE_MAX_STATES][2]; /* epsilon closure of each state */
    uint64_t start[2];                  /* the set before any character */
    uint64_t live[2];                   /* states from which MATCH is reachable */
    int16_t match;
    uint32_t nranges;
    const uint32_t (*ranges)[2]; /* code point ranges, class k at cls_off[k] */
    const int16_t *cls_off, *cls_n;
};

/* AIOS_EUNSUPPORTED: outside the subset (the caller ignores the pattern);
 * AIOS_EINVAL: not a valid pattern (*why says what). */
int jg_regex_compile(const char *pat, size_t len, aios_arena *arena, const struct jg_regex **out,
                     const char **why);
/* Steps set over one code point; false when no match is reachable any more. */
bool jg_regex_step(const struct jg_regex *re, uint64_t set[2], uint32_t cp);
/* Whether some code point in [lo, hi] keeps a match reachable from set. */
bool jg_regex_viable(const struct jg_regex *re, const uint64_t set[2], uint32_t lo, uint32_t hi);
/* Whether set matches the string so far. */
bool jg_regex_accepts(const struct jg_regex *re, const uint64_t set[2]);

/* Any JSON value; and any JSON object (json_object mode). */
extern const struct jg_node jg_any;
extern const struct jg_node jg_any_object;

/* Compiles schema into nodes allocated from arena; *root gets the start
 * node. Errors name the path. */
int jg_compile(const json_t *schema, aios_arena *arena, const struct jg_node **root,
               struct aios_err *err);

#endif
