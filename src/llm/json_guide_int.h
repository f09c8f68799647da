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
#define JG_MAX_ALTS 16

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
    /* string (code points) */
    uint32_t min_len, max_len;
    bool pending; /* compiler only: a $ref target still being built */
};

/* Any JSON value; and any JSON object (json_object mode). */
extern const struct jg_node jg_any;
extern const struct jg_node jg_any_object;

/* Compiles schema into nodes allocated from arena; *root gets the start
 * node. Errors name the path. */
int jg_compile(const json_t *schema, aios_arena *arena, const struct jg_node **root,
               struct aios_err *err);

#endif
