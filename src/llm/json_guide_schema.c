/*
 * JSON guide, part 1: compiles a JSON Schema (the subset llm_guide.h lists)
 * into the node graph json_guide.c walks byte by byte.
 *
 * Composition is resolved here, on the JSON, before nodes are built:
 *   allOf          the parts are merged into the schema (merge() below:
 *                  properties present in both become {"allOf": [a, b]},
 *                  required lists are united, type sets intersected, other
 *                  keywords taken from the later part);
 *   anyOf / oneOf  become a union node; constraints written next to them are
 *                  merged into every alternative first;
 *   $ref           resolves within the document; each target compiles once
 *                  (so recursive schemas become cycles in the graph).
 * A schema nothing can satisfy compiles to a "never" node (no types), which
 * unions drop and properties turn into forbidden keys.
 *
 * Everything the nodes point to (names, literals, arrays) lives in the
 * arena; the schema itself is not kept.
 */
#include "llm/json_guide_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 4096
#define MAX_LIT_BYTES (64u * 1024u)
#define MAX_COMPILE_DEPTH 64
#define MAX_PRODUCT 64
#define PATH_MAX_LEN 256

const struct jg_node jg_any = {
    .types = JG_T_ALL,
    .additional = &jg_any,
    .max_props = UINT32_MAX,
    .items = &jg_any,
    .max_items = UINT32_MAX,
    .max_len = UINT32_MAX,
};

const struct jg_node jg_any_object = {
    .types = JG_T_OBJECT,
    .additional = &jg_any,
    .max_props = UINT32_MAX,
    .items = &jg_any,
    .max_items = UINT32_MAX,
    .max_len = UINT32_MAX,
};

struct ref_entry {
    const json_t *target;
    struct jg_node *node;
};

struct cc {
    aios_arena *arena;
    const json_t *root;
    struct ref_entry *refs;
    size_t nrefs, caprefs;
    size_t nnodes;
    size_t lit_bytes;
    int depth;
    struct aios_err *err;
};

static int compile(struct cc *cc, const json_t *s, const char *path, const struct jg_node **out);

static bool is_never(const struct jg_node *n)
{
    return !n->pending && n->types == 0 && n->nalts == 0 && n->lits == NULL;
}

static struct jg_node *new_node(struct cc *cc, const char *path)
{
    if (cc->nnodes >= MAX_NODES) {
        aios_err_set(cc->err, AIOS_ELIMIT, "%s: schema compiles to more than %d nodes", path,
                     MAX_NODES);
        return NULL;
    }
    struct jg_node *n = aios_arena_alloc(cc->arena, sizeof *n);
    if (!n) {
        aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory compiling the schema", path);
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->max_props = UINT32_MAX;
    n->max_items = UINT32_MAX;
    n->max_len = UINT32_MAX;
    cc->nnodes++;
    return n;
}

static void *arena_array(struct cc *cc, size_t n, size_t size, const char *path)
{
    void *p = aios_arena_alloc(cc->arena, n ? n * size : 1);
    if (!p)
        aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory compiling the schema", path);
    return p;
}

/* ---- canonical literal text -------------------------------------------- */

static int enc_str_body(struct aios_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = AIOS_OK;
    for (size_t i = 0; i < n && rc == AIOS_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            rc = aios_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = aios_buf_puts(b, "\\\\");
            break;
        case '\b':
            rc = aios_buf_puts(b, "\\b");
            break;
        case '\f':
            rc = aios_buf_puts(b, "\\f");
            break;
        case '\n':
            rc = aios_buf_puts(b, "\\n");
            break;
        case '\r':
            rc = aios_buf_puts(b, "\\r");
            break;
        case '\t':
            rc = aios_buf_puts(b, "\\t");
            break;
        default:
            if (c < 0x20) {
                char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                rc = aios_buf_puts(b, e);
            } else {
                rc = aios_buf_putc(b, (char)c);
            }
        }
    }
    return rc;
}

/* Shortest %g form that reads back as the same double. */
static int enc_real(struct aios_buf *b, double v)
{
    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return aios_buf_puts(b, tmp);
}

static int enc_value(struct aios_buf *b, const json_t *v, int depth)
{
    if (depth > MAX_COMPILE_DEPTH)
        return AIOS_ELIMIT;
    int rc = AIOS_OK;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        bool first = true;
        rc = aios_buf_putc(b, '{');
        json_object_foreach((json_t *)v, k, x)
        {
            if (rc == AIOS_OK && !first)
                rc = aios_buf_putc(b, ',');
            first = false;
            if (rc == AIOS_OK)
                rc = aios_buf_putc(b, '"');
            if (rc == AIOS_OK)
                rc = enc_str_body(b, k, strlen(k));
            if (rc == AIOS_OK)
                rc = aios_buf_puts(b, "\":");
            if (rc == AIOS_OK)
                rc = enc_value(b, x, depth + 1);
        }
        return rc == AIOS_OK ? aios_buf_putc(b, '}') : rc;
    }
    case JSON_ARRAY:
        rc = aios_buf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v) && rc == AIOS_OK; i++) {
            if (i)
                rc = aios_buf_putc(b, ',');
            if (rc == AIOS_OK)
                rc = enc_value(b, json_array_get(v, i), depth + 1);
        }
        return rc == AIOS_OK ? aios_buf_putc(b, ']') : rc;
    case JSON_STRING:
        rc = aios_buf_putc(b, '"');
        if (rc == AIOS_OK)
            rc = enc_str_body(b, json_string_value(v), json_string_length(v));
        return rc == AIOS_OK ? aios_buf_putc(b, '"') : rc;
    case JSON_INTEGER:
        return aios_buf_printf(b, "%" PRId64, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return enc_real(b, json_real_value(v));
    case JSON_TRUE:
        return aios_buf_puts(b, "true");
    case JSON_FALSE:
        return aios_buf_puts(b, "false");
    case JSON_NULL:
        return aios_buf_puts(b, "null");
    }
    return AIOS_EINVAL;
}

static int lit_cmp(const void *pa, const void *pb)
{
    const struct jg_lit *a = pa, *b = pb;
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Copies b's bytes into the arena as a literal. */
static int arena_lit(struct cc *cc, const char *s, size_t n, struct jg_lit *out, const char *path)
{
    if (cc->lit_bytes + n > MAX_LIT_BYTES)
        return aios_err_set(cc->err, AIOS_ELIMIT, "%s: more than %u bytes of enum and name text",
                            path, MAX_LIT_BYTES);
    /* exactly n bytes (an empty name has no buffer behind it: s may be NULL) */
    char *p = aios_arena_alloc(cc->arena, n + 1);
    if (!p)
        return aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", path);
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    cc->lit_bytes += n;
    out->s = p;
    out->len = (uint32_t)n;
    return AIOS_OK;
}

/* ---- small helpers ----------------------------------------------------- */

static void child_path(char *out, const char *path, const char *a, const char *b)
{
    if (b)
        snprintf(out, PATH_MAX_LEN, "%s/%s/%s", path, a, b);
    else
        snprintf(out, PATH_MAX_LEN, "%s/%s", path, a);
}

static void child_path_i(char *out, const char *path, const char *a, size_t i)
{
    snprintf(out, PATH_MAX_LEN, "%s/%s/%zu", path, a, i);
}

/* A non-negative integer keyword (minLength, ...); absent leaves *out. */
static int get_count(struct cc *cc, const json_t *s, const char *key, const char *path,
                     uint32_t *out)
{
    const json_t *v = json_object_get(s, key);
    if (!v)
        return AIOS_OK;
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v);
    else
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/%s: expected a non-negative integer", path,
                            key);
    if (d < 0 || d != (double)(int64_t)d)
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/%s: expected a non-negative integer", path,
                            key);
    *out = d > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    return AIOS_OK;
}

static int type_bit(const char *t)
{
    static const struct {
        const char *name;
        unsigned bit;
    } tab[] = {
        {"object", JG_T_OBJECT}, {"array", JG_T_ARRAY},     {"string", JG_T_STRING},
        {"number", JG_T_NUMBER}, {"integer", JG_T_INTEGER}, {"boolean", JG_T_BOOLEAN},
        {"null", JG_T_NULL},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(t, tab[i].name) == 0)
            return (int)tab[i].bit;
    return -1;
}

static int parse_types(struct cc *cc, const json_t *t, const char *path, unsigned *out)
{
    unsigned m = 0;
    if (json_is_string(t)) {
        int b = type_bit(json_string_value(t));
        if (b < 0)
            return aios_err_set(cc->err, AIOS_EINVAL, "%s/type: unknown type \"%s\"", path,
                                json_string_value(t));
        m = (unsigned)b;
    } else if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++) {
            const json_t *x = json_array_get(t, i);
            int b = json_is_string(x) ? type_bit(json_string_value(x)) : -1;
            if (b < 0)
                return aios_err_set(cc->err, AIOS_EINVAL, "%s/type/%zu: unknown type", path, i);
            m |= (unsigned)b;
        }
    } else {
        return aios_err_set(cc->err, AIOS_EINVAL,
                            "%s/type: expected a string or an array of strings", path);
    }
    /* number admits every integer */
    if (m & JG_T_NUMBER)
        m &= ~JG_T_INTEGER;
    *out = m;
    return AIOS_OK;
}

static bool has_any(const json_t *s, const char *const *keys)
{
    for (; *keys; keys++)
        if (json_object_get(s, *keys))
            return true;
    return false;
}

static const char *const obj_keys[] = {
    "properties",    "required",          "additionalProperties",  "minProperties",
    "maxProperties", "patternProperties", "unevaluatedProperties", NULL};
static const char *const arr_keys[] = {"items",    "prefixItems",     "minItems",
                                       "maxItems", "additionalItems", NULL};
static const char *const str_keys[] = {"minLength", "maxLength", "pattern", "format", NULL};
static const char *const num_keys[] = {"minimum",          "maximum",    "exclusiveMinimum",
                                       "exclusiveMaximum", "multipleOf", NULL};

/* Keywords that constrain nothing. */
static bool is_annotation(const char *k)
{
    static const char *const ann[] = {
        "title", "description", "default",    "examples", "$comment",  "$schema", "$id",
        "$defs", "definitions", "deprecated", "readOnly", "writeOnly", "$anchor", NULL};
    for (const char *const *a = ann; *a; a++)
        if (strcmp(k, *a) == 0)
            return true;
    return false;
}

/* ---- $ref -------------------------------------------------------------- */

static int resolve_ref(struct cc *cc, const char *ref, const char *path, const json_t **out)
{
    if (ref[0] != '#')
        return aios_err_set(cc->err, AIOS_EUNSUPPORTED,
                            "%s/$ref: only references within the schema (\"#...\") are supported",
                            path);
    const json_t *cur = cc->root;
    const char *p = ref + 1;
    if (*p && *p != '/')
        return aios_err_set(cc->err, AIOS_EUNSUPPORTED,
                            "%s/$ref: \"%s\" is not a JSON pointer (anchors are not supported)",
                            path, ref);
    while (*p == '/') {
        p++;
        char tok[256];
        size_t n = 0;
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~' && (*p == '0' || *p == '1'))
                c = *p++ == '0' ? '~' : '/';
            if (n + 1 >= sizeof tok)
                return aios_err_set(cc->err, AIOS_EINVAL, "%s/$ref: segment too long", path);
            tok[n++] = c;
        }
        tok[n] = 0;
        const json_t *next = NULL;
        if (json_is_object(cur)) {
            next = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            int64_t i;
            if (aios_parse_i64(tok, &i) == AIOS_OK && i >= 0)
                next = json_array_get(cur, (size_t)i);
        }
        if (!next)
            return aios_err_set(cc->err, AIOS_EINVAL, "%s/$ref: \"%s\" does not resolve", path,
                                ref);
        cur = next;
    }
    *out = cur;
    return AIOS_OK;
}

/* Follows $ref chains on the JSON (for merging), at most 16 steps. */
static int deref_json(struct cc *cc, const json_t *s, const char *path, const json_t **out)
{
    for (int i = 0; i < 16; i++) {
        const json_t *r = json_is_object(s) ? json_object_get(s, "$ref") : NULL;
        if (!r) {
            *out = s;
            return AIOS_OK;
        }
        if (!json_is_string(r))
            return aios_err_set(cc->err, AIOS_EINVAL, "%s/$ref: expected a string", path);
        int rc = resolve_ref(cc, json_string_value(r), path, &s);
        if (rc)
            return rc;
    }
    return aios_err_set(cc->err, AIOS_ELIMIT, "%s/$ref: reference chain too long", path);
}

/* ---- merging (allOf, and constraints next to anyOf) -------------------- */

static json_t *type_as_array(const json_t *t)
{
    if (json_is_array(t))
        return json_copy((json_t *)t);
    json_t *a = json_array();
    if (a && t)
        json_array_append(a, (json_t *)t);
    return a;
}

/* r (a fresh object we own) absorbs b: the conjunction of both, as far as
 * this subset can say it. */
static int merge_into(struct cc *cc, json_t *r, const json_t *b, const char *path)
{
    const char *k;
    json_t *v;
    /* oneOf is read as anyOf; one spelling makes the two sets meet below */
    json_t *r1 = json_object_get(r, "oneOf");
    if (r1 && !json_object_get(r, "anyOf")) {
        json_object_set(r, "anyOf", r1);
        json_object_del(r, "oneOf");
    }
    json_object_foreach((json_t *)b, k, v)
    {
        if (strcmp(k, "oneOf") == 0 && !json_object_get(b, "anyOf"))
            k = "anyOf";
        json_t *cur = json_object_get(r, k);
        json_t *nv = NULL;
        if (!cur) {
            nv = json_incref(v);
        } else if (strcmp(k, "properties") == 0 && json_is_object(cur) && json_is_object(v)) {
            nv = json_copy(cur);
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                json_t *old = json_object_get(nv, pk);
                if (old)
                    json_object_set_new(nv, pk, json_pack("{s:[OO]}", "allOf", old, pv));
                else
                    json_object_set(nv, pk, pv);
            }
        } else if (strcmp(k, "required") == 0 && json_is_array(cur) && json_is_array(v)) {
            nv = json_copy(cur);
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *x = json_array_get(v, i);
                bool dup = false;
                for (size_t j = 0; j < json_array_size(nv); j++)
                    dup = dup || json_equal(json_array_get(nv, j), x);
                if (!dup)
                    json_array_append(nv, x);
            }
        } else if (strcmp(k, "type") == 0) {
            json_t *ta = type_as_array(cur), *tb = type_as_array(v);
            nv = json_array();
            for (size_t i = 0; ta && tb && nv && i < json_array_size(ta); i++) {
                json_t *x = json_array_get(ta, i);
                const char *xs = json_string_value(x);
                for (size_t j = 0; xs && j < json_array_size(tb); j++) {
                    const char *ys = json_string_value(json_array_get(tb, j));
                    if (!ys)
                        continue;
                    /* integer ∩ number = integer */
                    if (strcmp(xs, ys) == 0 ||
                        (strcmp(xs, "integer") == 0 && strcmp(ys, "number") == 0)) {
                        json_array_append(nv, x);
                        break;
                    }
                    if (strcmp(xs, "number") == 0 && strcmp(ys, "integer") == 0) {
                        json_array_append_new(nv, json_string("integer"));
                        break;
                    }
                }
            }
            json_decref(ta);
            json_decref(tb);
        } else if (strcmp(k, "allOf") == 0 && json_is_array(cur) && json_is_array(v)) {
            nv = json_copy(cur);
            if (nv)
                json_array_extend(nv, v);
        } else if (strcmp(k, "anyOf") == 0 && json_is_array(cur) && json_is_array(v)) {
            /* two sets of alternatives: every pair, each an allOf */
            if (json_array_size(cur) * json_array_size(v) > MAX_PRODUCT)
                return aios_err_set(cc->err, AIOS_EUNSUPPORTED,
                                    "%s/%s: combining alternatives gives more than %d cases", path,
                                    k, MAX_PRODUCT);
            nv = json_array();
            for (size_t i = 0; nv && i < json_array_size(cur); i++)
                for (size_t j = 0; j < json_array_size(v); j++)
                    json_array_append_new(nv, json_pack("{s:[OO]}", "allOf", json_array_get(cur, i),
                                                        json_array_get(v, j)));
        } else if (strcmp(k, "enum") == 0 && json_is_array(cur) && json_is_array(v)) {
            nv = json_array();
            for (size_t i = 0; nv && i < json_array_size(cur); i++)
                for (size_t j = 0; j < json_array_size(v); j++)
                    if (json_equal(json_array_get(cur, i), json_array_get(v, j))) {
                        json_array_append(nv, json_array_get(cur, i));
                        break;
                    }
        } else if (strncmp(k, "min", 3) == 0 && json_is_number(cur) && json_is_number(v)) {
            nv = json_incref(json_number_value(v) > json_number_value(cur) ? v : cur);
        } else if (strncmp(k, "max", 3) == 0 && json_is_number(cur) && json_is_number(v)) {
            nv = json_incref(json_number_value(v) < json_number_value(cur) ? v : cur);
        } else if (strcmp(k, "additionalProperties") == 0 && json_is_false(cur)) {
            continue; /* false stays false */
        } else {
            nv = json_incref(v);
        }
        if (!nv || json_object_set_new(r, k, nv) != 0)
            return aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory merging schemas", path);
    }
    return AIOS_OK;
}

/* A copy of s without the listed keys. */
static json_t *copy_without(const json_t *s, const char *const *drop)
{
    json_t *r = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v)
    {
        bool skip = false;
        for (const char *const *d = drop; *d && !skip; d++)
            skip = strcmp(k, *d) == 0;
        if (!skip && r)
            json_object_set(r, k, v);
    }
    return r;
}

/* ---- nodes ------------------------------------------------------------- */

static int compile_into(struct cc *cc, const json_t *s, const char *path, struct jg_node *n);

static int compile_ref(struct cc *cc, const json_t *s, const char *path, const struct jg_node **out)
{
    const json_t *r = json_object_get(s, "$ref");
    if (!json_is_string(r))
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/$ref: expected a string", path);
    const json_t *t;
    int rc = resolve_ref(cc, json_string_value(r), path, &t);
    if (rc)
        return rc;
    for (size_t i = 0; i < cc->nrefs; i++)
        if (cc->refs[i].target == t) {
            *out = cc->refs[i].node;
            return AIOS_OK;
        }
    if (json_is_true(t)) {
        *out = &jg_any;
        return AIOS_OK;
    }
    struct jg_node *n = new_node(cc, path);
    if (!n)
        return cc->err ? cc->err->code : AIOS_ENOMEM;
    if (cc->nrefs == cc->caprefs) {
        size_t cap = cc->caprefs ? cc->caprefs * 2 : 16;
        struct ref_entry *e = aios_realloc(cc->refs, cap * sizeof *e);
        if (!e)
            return aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", path);
        cc->refs = e;
        cc->caprefs = cap;
    }
    cc->refs[cc->nrefs].target = t;
    cc->refs[cc->nrefs].node = n;
    cc->nrefs++;
    char rpath[PATH_MAX_LEN];
    snprintf(rpath, sizeof rpath, "%s", json_string_value(r));
    if (json_is_false(t)) {
        n->types = 0;
    } else if (!json_is_object(t)) {
        return aios_err_set(cc->err, AIOS_EINVAL, "%s: a schema must be an object or a boolean",
                            rpath);
    } else {
        n->pending = true;
        rc = compile_into(cc, t, rpath, n);
        n->pending = false;
        if (rc)
            return rc;
    }
    *out = n;
    return AIOS_OK;
}

static int compile_union(struct cc *cc, const json_t *s, const json_t *alts, const char *key,
                         const char *path, struct jg_node *n)
{
    if (!json_is_array(alts) || json_array_size(alts) == 0)
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/%s: expected a non-empty array", path, key);
    size_t na = json_array_size(alts);
    /* constraints next to the alternatives are merged into each */
    static const char *const drop[] = {"anyOf", "oneOf", NULL};
    json_t *rest = copy_without(s, drop);
    if (!rest)
        return aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", path);
    bool constrained = false;
    const char *k;
    json_t *v;
    json_object_foreach(rest, k, v) constrained = constrained || !is_annotation(k);
    const struct jg_node **arr = arena_array(cc, na, sizeof *arr, path);
    int rc = arr ? AIOS_OK : AIOS_ENOMEM;
    uint32_t m = 0;
    for (size_t i = 0; i < na && rc == AIOS_OK; i++) {
        char cp[PATH_MAX_LEN];
        child_path_i(cp, path, key, i);
        const json_t *alt = json_array_get(alts, i);
        const struct jg_node *an = NULL;
        if (constrained) {
            const json_t *ad;
            rc = deref_json(cc, alt, cp, &ad);
            if (rc)
                break;
            if (json_is_false(ad))
                continue;
            json_t *merged = json_copy(rest);
            if (!merged) {
                rc = aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", cp);
                break;
            }
            if (json_is_object(ad))
                rc = merge_into(cc, merged, ad, cp);
            else if (!json_is_true(ad))
                rc = aios_err_set(cc->err, AIOS_EINVAL,
                                  "%s: a schema must be an object or a boolean", cp);
            if (rc == AIOS_OK)
                rc = compile(cc, merged, cp, &an);
            json_decref(merged);
        } else {
            rc = compile(cc, alt, cp, &an);
        }
        if (rc == AIOS_OK && an && !is_never(an))
            arr[m++] = an;
    }
    json_decref(rest);
    if (rc)
        return rc;
    n->nalts = m;
    n->alts = arr;
    n->types = 0;
    return AIOS_OK;
}

static int compile_literals(struct cc *cc, const json_t *s, const char *path, unsigned types,
                            struct jg_node *n)
{
    const json_t *c = json_object_get(s, "const");
    const json_t *e = json_object_get(s, "enum");
    json_t *vals = json_array();
    if (!vals)
        return aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", path);
    if (c) {
        json_array_append(vals, (json_t *)c);
    } else if (!json_is_array(e)) {
        json_decref(vals);
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/enum: expected an array", path);
    } else {
        json_array_extend(vals, (json_t *)e);
    }
    if (json_is_true(json_object_get(s, "nullable")))
        json_array_append_new(vals, json_null());
    size_t nv = json_array_size(vals);
    struct jg_lit *lits = arena_array(cc, nv, sizeof *lits, path);
    struct aios_buf b;
    aios_buf_init(&b, MAX_LIT_BYTES);
    int rc = lits ? AIOS_OK : AIOS_ENOMEM;
    uint32_t m = 0;
    for (size_t i = 0; i < nv && rc == AIOS_OK; i++) {
        const json_t *v = json_array_get(vals, i);
        unsigned t = 0;
        switch (json_typeof(v)) {
        case JSON_OBJECT:
            t = JG_T_OBJECT;
            break;
        case JSON_ARRAY:
            t = JG_T_ARRAY;
            break;
        case JSON_STRING:
            t = JG_T_STRING;
            break;
        case JSON_INTEGER:
            t = JG_T_INTEGER | JG_T_NUMBER;
            break;
        case JSON_REAL:
            t = JG_T_NUMBER;
            if (json_real_value(v) == (double)(int64_t)json_real_value(v))
                t |= JG_T_INTEGER;
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            t = JG_T_BOOLEAN;
            break;
        case JSON_NULL:
            t = JG_T_NULL;
            break;
        }
        if (!(t & types))
            continue;
        aios_buf_reset(&b);
        rc = enc_value(&b, v, 0);
        if (rc) {
            rc = aios_err_set(cc->err, rc, "%s/enum/%zu: value too large or too deep", path, i);
            break;
        }
        rc = arena_lit(cc, b.data, b.len, &lits[m], path);
        if (rc == AIOS_OK)
            m++;
    }
    aios_buf_free(&b);
    json_decref(vals);
    if (rc)
        return rc;
    qsort(lits, m, sizeof *lits, lit_cmp);
    uint32_t u = 0;
    for (uint32_t i = 0; i < m; i++)
        if (u == 0 || lit_cmp(&lits[u - 1], &lits[i]) != 0)
            lits[u++] = lits[i];
    n->types = 0;
    if (u) {
        n->lits = lits;
        n->nlits = u;
    }
    return AIOS_OK;
}

struct prop_tmp {
    struct jg_lit name;
    const struct jg_node *node;
    bool required;
};

static int prop_cmp(const void *a, const void *b)
{
    return lit_cmp(&((const struct prop_tmp *)a)->name, &((const struct prop_tmp *)b)->name);
}

static int compile_object(struct cc *cc, const json_t *s, const char *path, struct jg_node *n)
{
    int rc;
    char cp[PATH_MAX_LEN];
    const json_t *props = json_object_get(s, "properties");
    const json_t *req = json_object_get(s, "required");
    const json_t *add = json_object_get(s, "additionalProperties");
    if (props && !json_is_object(props))
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/properties: expected an object", path);
    if (req && !json_is_array(req))
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/required: expected an array of strings",
                            path);
    /* additional properties */
    if (!add) {
        const json_t *uneval = json_object_get(s, "unevaluatedProperties");
        n->additional = json_is_false(uneval) ? NULL : &jg_any;
    } else if (json_is_boolean(add)) {
        n->additional = json_is_true(add) ? &jg_any : NULL;
    } else {
        child_path(cp, path, "additionalProperties", NULL);
        const struct jg_node *an;
        rc = compile(cc, add, cp, &an);
        if (rc)
            return rc;
        n->additional = an && !is_never(an) ? an : NULL;
    }
    size_t np = props ? json_object_size(props) : 0;
    size_t nr = req ? json_array_size(req) : 0;
    if (np + nr > 4 * JG_MAX_PROPS)
        return aios_err_set(cc->err, AIOS_EUNSUPPORTED, "%s/properties: more than %d properties",
                            path, JG_MAX_PROPS);
    struct prop_tmp *tmp = aios_calloc(np + nr + 1, sizeof *tmp);
    if (!tmp)
        return aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", path);
    size_t m = 0;
    struct aios_buf b;
    aios_buf_init(&b, MAX_LIT_BYTES);
    rc = AIOS_OK;
    const char *k;
    json_t *v;
    if (props) {
        json_object_foreach((json_t *)props, k, v)
        {
            child_path(cp, path, "properties", k);
            const struct jg_node *pn;
            rc = compile(cc, v, cp, &pn);
            if (rc)
                break;
            aios_buf_reset(&b);
            rc = enc_str_body(&b, k, strlen(k));
            if (rc == AIOS_OK)
                rc = arena_lit(cc, b.data, b.len, &tmp[m].name, cp);
            if (rc)
                break;
            tmp[m].node = pn;
            m++;
        }
    }
    for (size_t i = 0; i < nr && rc == AIOS_OK; i++) {
        const json_t *x = json_array_get(req, i);
        if (!json_is_string(x)) {
            rc = aios_err_set(cc->err, AIOS_EINVAL, "%s/required/%zu: expected a string", path, i);
            break;
        }
        aios_buf_reset(&b);
        rc = enc_str_body(&b, json_string_value(x), json_string_length(x));
        if (rc)
            break;
        size_t j = 0;
        while (j < m && !(tmp[j].name.len == b.len &&
                          (b.len == 0 || memcmp(tmp[j].name.s, b.data, b.len) == 0)))
            j++;
        if (j == m) {
            /* required but not described: its value follows additionalProperties */
            if (!n->additional) {
                rc = aios_err_set(cc->err, AIOS_EINVAL,
                                  "%s/required/%zu: \"%s\" is required but additionalProperties "
                                  "is false and it is not in properties",
                                  path, i, json_string_value(x));
                break;
            }
            rc = arena_lit(cc, b.data, b.len, &tmp[m].name, path);
            if (rc)
                break;
            tmp[m].node = n->additional;
            m++;
        }
        tmp[j].required = true;
    }
    aios_buf_free(&b);
    if (rc == AIOS_OK && m > JG_MAX_PROPS)
        rc = aios_err_set(cc->err, AIOS_EUNSUPPORTED, "%s/properties: more than %d properties",
                          path, JG_MAX_PROPS);
    struct jg_lit *names = NULL;
    const struct jg_node **nodes = NULL;
    if (rc == AIOS_OK) {
        qsort(tmp, m, sizeof *tmp, prop_cmp);
        names = arena_array(cc, m, sizeof *names, path);
        nodes = arena_array(cc, m, sizeof *nodes, path);
        if (!names || !nodes)
            rc = AIOS_ENOMEM;
    }
    bool impossible = false;
    for (size_t i = 0; rc == AIOS_OK && i < m; i++) {
        names[i] = tmp[i].name;
        /* a property whose schema is false cannot appear: no node */
        nodes[i] = tmp[i].node && !is_never(tmp[i].node) ? tmp[i].node : NULL;
        if (!nodes[i])
            n->forbidden[i / 64] |= (uint64_t)1 << (i % 64);
        if (tmp[i].required) {
            n->required[i / 64] |= (uint64_t)1 << (i % 64);
            if (!nodes[i])
                impossible = true;
        }
    }
    aios_free(tmp);
    if (rc)
        return rc;
    n->nprops = (uint32_t)m;
    n->prop_names = names;
    n->prop_nodes = nodes;
    if ((rc = get_count(cc, s, "minProperties", path, &n->min_props)) ||
        (rc = get_count(cc, s, "maxProperties", path, &n->max_props)))
        return rc;
    if (impossible || n->min_props > n->max_props)
        n->types &= ~JG_T_OBJECT;
    return AIOS_OK;
}

static int compile_array(struct cc *cc, const json_t *s, const char *path, struct jg_node *n)
{
    int rc;
    char cp[PATH_MAX_LEN];
    const json_t *prefix = json_object_get(s, "prefixItems");
    const json_t *items = json_object_get(s, "items");
    const json_t *rest = items;
    if (json_is_array(items)) { /* draft 4-7 tuple form */
        prefix = items;
        rest = json_object_get(s, "additionalItems");
    }
    if (prefix && !json_is_array(prefix))
        return aios_err_set(cc->err, AIOS_EINVAL, "%s/prefixItems: expected an array", path);
    if ((rc = get_count(cc, s, "minItems", path, &n->min_items)) ||
        (rc = get_count(cc, s, "maxItems", path, &n->max_items)))
        return rc;
    size_t np = prefix ? json_array_size(prefix) : 0;
    if (np) {
        const struct jg_node **arr = arena_array(cc, np, sizeof *arr, path);
        if (!arr)
            return AIOS_ENOMEM;
        for (size_t i = 0; i < np; i++) {
            child_path_i(cp, path, prefix == items ? "items" : "prefixItems", i);
            rc = compile(cc, json_array_get(prefix, i), cp, &arr[i]);
            if (rc)
                return rc;
            if (!arr[i] || is_never(arr[i])) { /* no array can reach item i */
                if (n->max_items > i)
                    n->max_items = (uint32_t)i;
                np = i;
                break;
            }
        }
        n->prefix = arr;
        n->nprefix = (uint32_t)np;
    }
    if (!rest || json_is_true(rest)) {
        n->items = &jg_any;
    } else if (json_is_false(rest)) {
        n->items = NULL;
    } else {
        child_path(cp, path, rest == items ? "items" : "additionalItems", NULL);
        rc = compile(cc, rest, cp, &n->items);
        if (rc)
            return rc;
        if (n->items && is_never(n->items))
            n->items = NULL;
    }
    if (!n->items && n->max_items > n->nprefix)
        n->max_items = n->nprefix;
    if (n->min_items > n->max_items)
        n->types &= ~JG_T_ARRAY;
    return AIOS_OK;
}

static int64_t clamp_i64(double d)
{
    if (d >= 9.2e18)
        return INT64_MAX;
    if (d <= -9.2e18)
        return INT64_MIN;
    return (int64_t)d;
}

/* minimum / maximum / exclusive* (draft 4 booleans or draft 6 numbers) as
 * inclusive integer bounds; numbers only learn whether '-' may start them. */
static int compile_bounds(struct cc *cc, const json_t *s, const char *path, struct jg_node *n)
{
    static const char *const keys[] = {"minimum", "maximum", "exclusiveMinimum",
                                       "exclusiveMaximum"};
    double v[4];
    bool has[4];
    for (int i = 0; i < 4; i++) {
        const json_t *x = json_object_get(s, keys[i]);
        has[i] = json_is_number(x);
        v[i] = has[i] ? json_number_value(x) : 0;
        if (x && !has[i] && !(i >= 2 && json_is_boolean(x)))
            return aios_err_set(cc->err, AIOS_EINVAL, "%s/%s: expected a number", path, keys[i]);
    }
    bool excl_min4 = json_is_true(json_object_get(s, "exclusiveMinimum"));
    bool excl_max4 = json_is_true(json_object_get(s, "exclusiveMaximum"));
    if ((has[0] && v[0] >= 0) || (has[2] && v[2] >= 0))
        n->nonneg = true;
    if (n->types & JG_T_NUMBER)
        return AIOS_OK;
    if (has[0]) {
        n->has_imin = true;
        n->imin = clamp_i64(excl_min4 ? floor(v[0]) + 1 : ceil(v[0]));
    }
    if (has[2]) {
        int64_t m = clamp_i64(floor(v[2]) + 1);
        n->imin = n->has_imin && n->imin > m ? n->imin : m;
        n->has_imin = true;
    }
    if (has[1]) {
        n->has_imax = true;
        n->imax = clamp_i64(excl_max4 ? ceil(v[1]) - 1 : floor(v[1]));
    }
    if (has[3]) {
        int64_t m = clamp_i64(ceil(v[3]) - 1);
        n->imax = n->has_imax && n->imax < m ? n->imax : m;
        n->has_imax = true;
    }
    if (n->has_imin && n->has_imax && n->imin > n->imax)
        n->types &= ~JG_T_INTEGER;
    return AIOS_OK;
}

static int compile_into(struct cc *cc, const json_t *s, const char *path, struct jg_node *n)
{
    int rc;
    if (++cc->depth > MAX_COMPILE_DEPTH) {
        cc->depth--;
        return aios_err_set(cc->err, AIOS_ELIMIT, "%s: schema nested more than %d levels deep",
                            path, MAX_COMPILE_DEPTH);
    }
    if (json_object_get(s, "allOf")) {
        const json_t *all = json_object_get(s, "allOf");
        if (!json_is_array(all)) {
            rc = aios_err_set(cc->err, AIOS_EINVAL, "%s/allOf: expected an array", path);
            goto out;
        }
        static const char *const drop[] = {"allOf", NULL};
        json_t *merged = copy_without(s, drop);
        rc = merged ? AIOS_OK : aios_err_set(cc->err, AIOS_ENOMEM, "%s: out of memory", path);
        bool never = false;
        for (size_t i = 0; rc == AIOS_OK && i < json_array_size(all); i++) {
            char cp[PATH_MAX_LEN];
            child_path_i(cp, path, "allOf", i);
            const json_t *part;
            rc = deref_json(cc, json_array_get(all, i), cp, &part);
            if (rc)
                break;
            if (json_is_false(part))
                never = true;
            else if (json_is_object(part))
                rc = merge_into(cc, merged, part, cp);
            else if (!json_is_true(part))
                rc = aios_err_set(cc->err, AIOS_EINVAL,
                                  "%s: a schema must be an object or a boolean", cp);
        }
        if (rc == AIOS_OK && !never)
            rc = compile_into(cc, merged, path, n);
        json_decref(merged);
        goto out;
    }
    if (json_object_get(s, "$ref")) {
        /* keywords next to $ref are ignored; the target may still be under
         * construction, so n becomes a one-way union that points at it */
        const struct jg_node *t;
        rc = compile_ref(cc, s, path, &t);
        if (rc)
            goto out;
        const struct jg_node **one = arena_array(cc, 1, sizeof *one, path);
        if (!one) {
            rc = AIOS_ENOMEM;
            goto out;
        }
        one[0] = t;
        n->types = 0;
        n->nalts = 1;
        n->alts = one;
        goto out;
    }
    const json_t *anyof = json_object_get(s, "anyOf");
    const json_t *oneof = json_object_get(s, "oneOf");
    if (anyof || oneof) {
        rc = compile_union(cc, s, anyof ? anyof : oneof, anyof ? "anyOf" : "oneOf", path, n);
        goto out;
    }
    /* types */
    unsigned types = 0;
    const json_t *t = json_object_get(s, "type");
    if (t) {
        rc = parse_types(cc, t, path, &types);
        if (rc)
            goto out;
    } else {
        if (has_any(s, obj_keys))
            types |= JG_T_OBJECT;
        if (has_any(s, arr_keys))
            types |= JG_T_ARRAY;
        if (has_any(s, str_keys))
            types |= JG_T_STRING;
        if (has_any(s, num_keys))
            types |= JG_T_NUMBER;
        if (!types)
            types = JG_T_ALL;
    }
    const json_t *nullable = json_object_get(s, "nullable");
    if (json_is_true(nullable))
        types |= JG_T_NULL;
    if (json_object_get(s, "enum") || json_object_get(s, "const")) {
        rc = compile_literals(cc, s, path, types, n);
        goto out;
    }
    n->types = types;
    rc = AIOS_OK;
    if (types & JG_T_OBJECT)
        rc = compile_object(cc, s, path, n);
    if (rc == AIOS_OK && (types & JG_T_ARRAY))
        rc = compile_array(cc, s, path, n);
    if (rc == AIOS_OK && (types & (JG_T_NUMBER | JG_T_INTEGER)))
        rc = compile_bounds(cc, s, path, n);
    if (rc == AIOS_OK && (types & JG_T_STRING)) {
        if ((rc = get_count(cc, s, "minLength", path, &n->min_len)) == AIOS_OK)
            rc = get_count(cc, s, "maxLength", path, &n->max_len);
        if (rc == AIOS_OK && n->min_len > n->max_len)
            n->types &= ~JG_T_STRING;
        const json_t *pat = json_object_get(s, "pattern");
        if (rc == AIOS_OK && pat && !json_is_string(pat))
            rc = aios_err_set(cc->err, AIOS_EINVAL, "%s/pattern: expected a string", path);
        if (rc == AIOS_OK && pat) {
            /* patterns outside the subset, or that this parser cannot read,
             * are ignored (loosening) rather than failing the request */
            const char *why;
            int prc = jg_regex_compile(json_string_value(pat), json_string_length(pat), cc->arena,
                                       &n->pattern, &why);
            if (prc == AIOS_ENOMEM)
                rc = aios_err_set(cc->err, AIOS_ENOMEM, "%s/pattern: out of memory", path);
            if (n->pattern && !((n->pattern->start[0] & n->pattern->live[0]) ||
                                (n->pattern->start[1] & n->pattern->live[1])))
                n->types &= ~JG_T_STRING; /* nothing matches */
        }
    }
out:
    cc->depth--;
    return rc;
}

/* *out: NULL for the false schema. */
static int compile(struct cc *cc, const json_t *s, const char *path, const struct jg_node **out)
{
    if (json_is_true(s)) {
        *out = &jg_any;
        return AIOS_OK;
    }
    if (json_is_false(s)) {
        *out = NULL;
        return AIOS_OK;
    }
    if (!json_is_object(s))
        return aios_err_set(cc->err, AIOS_EINVAL, "%s: a schema must be an object or a boolean",
                            path);
    /* a bare reference shares its target's node (recursion needs this) */
    if (json_object_get(s, "$ref") && !json_object_get(s, "allOf"))
        return compile_ref(cc, s, path, out);
    struct jg_node *n = new_node(cc, path);
    if (!n)
        return cc->err ? cc->err->code : AIOS_ENOMEM;
    int rc = compile_into(cc, s, path, n);
    if (rc == AIOS_OK)
        *out = n;
    return rc;
}

/* Whether some value can begin under n (unions followed as the matcher
 * does, at most 8 deep): catches empty enums and reference loops. */
static bool can_start(const struct jg_node *n, int nest)
{
    if (n->nalts == 0)
        return n->types != 0 || n->lits != NULL;
    for (uint32_t i = 0; i < n->nalts && nest < 8; i++)
        if (can_start(n->alts[i], nest + 1))
            return true;
    return false;
}

int jg_compile(const json_t *schema, aios_arena *arena, const struct jg_node **root,
               struct aios_err *err)
{
    struct cc cc = {.arena = arena, .root = schema, .err = err};
    const struct jg_node *n = NULL;
    int rc = compile(&cc, schema, "#", &n);
    aios_free(cc.refs);
    if (rc)
        return rc;
    if (!n || !can_start(n, 0))
        return aios_err_set(err, AIOS_EINVAL, "#: no JSON value satisfies the schema");
    *root = n;
    return AIOS_OK;
}
