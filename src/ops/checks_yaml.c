/*
 * YAML to JSON for the checks catalogue: loads one YAML document with
 * libyaml and converts it into a jansson value, so that YAML and JSON check
 * files go through one validator. YAML 1.2 core schema for plain scalars
 * (null, true/false, integers, floats); quoted and block scalars stay
 * strings. Mapping keys must be scalars and unique.
 *
 * Bounds: nesting depth 64 and 100,000 converted nodes (an alias is
 * converted again wherever it is used, so the node budget is what stops a
 * "billion laughs" file). libyaml allocates with its own malloc; the text
 * it reads is bounded by the caller (checks files are at most 1 MiB).
 */
#include "ops/ops_checks_int.h"

#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 100000

struct conv {
    yaml_document_t *doc;
    long nodes;
    struct aios_err *err;
};

static bool plain_null(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

/* [-+]?[0-9]+ */
static bool looks_int(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool looks_float(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    int nd = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        nd++;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            nd++;
    if (!nd)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

static json_t *scalar(yaml_node_t *n, struct conv *c)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    /* The loader gives untagged scalars the !!str tag, so an explicit
     * !!str cannot be told apart: quoting is how a file says "string". */
    bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (strlen(s) != len) {
        aios_err_set(c->err, AIOS_EFORMAT, "line %zu: a scalar contains a NUL byte",
                     n->start_mark.line + 1);
        return NULL;
    }
    if (plain) {
        if (plain_null(s))
            return json_null();
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
            return json_true();
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
            return json_false();
        int64_t i;
        double d;
        if (looks_int(s) && aios_parse_i64(s, &i) == AIOS_OK)
            return json_integer(i);
        if (looks_float(s) && aios_parse_double(s, &d) == AIOS_OK)
            return json_real(d);
    }
    return json_stringn(s, len);
}

static json_t *convert(yaml_node_t *n, int depth, struct conv *c)
{
    if (!n) {
        aios_err_set(c->err, AIOS_EFORMAT, "a node refers to nothing");
        return NULL;
    }
    if (depth > YAML_MAX_DEPTH) {
        aios_err_set(c->err, AIOS_ELIMIT, "line %zu: nested more than %d levels deep",
                     n->start_mark.line + 1, YAML_MAX_DEPTH);
        return NULL;
    }
    if (++c->nodes > YAML_MAX_NODES) {
        aios_err_set(c->err, AIOS_ELIMIT, "more than %d values (aliases count each time used)",
                     YAML_MAX_NODES);
        return NULL;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar(n, c);
    case YAML_SEQUENCE_NODE: {
        json_t *arr = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             arr && it < n->data.sequence.items.top; it++) {
            json_t *v = convert(yaml_document_get_node(c->doc, *it), depth + 1, c);
            if (!v || json_array_append_new(arr, v) != 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case YAML_MAPPING_NODE: {
        json_t *obj = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             obj && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE ||
                strlen((const char *)k->data.scalar.value) != k->data.scalar.length) {
                aios_err_set(c->err, AIOS_EFORMAT, "line %zu: mapping keys must be plain text",
                             (k ? k->start_mark.line : n->start_mark.line) + 1);
                json_decref(obj);
                return NULL;
            }
            const char *key = (const char *)k->data.scalar.value;
            if (json_object_get(obj, key)) {
                aios_err_set(c->err, AIOS_EFORMAT, "line %zu: duplicate key '%.64s'",
                             k->start_mark.line + 1, key);
                json_decref(obj);
                return NULL;
            }
            json_t *v = convert(yaml_document_get_node(c->doc, p->value), depth + 1, c);
            if (!v || json_object_set_new(obj, key, v) != 0) {
                json_decref(obj);
                return NULL;
            }
        }
        return obj;
    }
    default:
        aios_err_set(c->err, AIOS_EFORMAT, "empty YAML node");
        return NULL;
    }
}

int checks_yaml_to_json(const char *text, size_t len, json_t **out, struct aios_err *err)
{
    *out = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = AIOS_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = aios_err_set(err, AIOS_EPARSE, "line %zu, column %zu: %s%s%s",
                          parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                          parser.problem ? parser.problem : "invalid YAML",
                          parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = aios_err_set(err, AIOS_EFORMAT, "the file holds no YAML document");
    } else {
        struct aios_err local = {0};
        struct conv c = {.doc = &doc, .err = &local};
        json_t *v = convert(root, 1, &c);
        if (!v) {
            /* No message: jansson ran out of memory. */
            rc = local.code ? aios_err_set(err, local.code, "%s", local.msg)
                            : aios_err_set(err, AIOS_ENOMEM, "out of memory");
        } else {
            yaml_document_t next;
            /* One document per file: a second one is a mistake, not data. */
            if (yaml_parser_load(&parser, &next)) {
                bool more = yaml_document_get_root_node(&next) != NULL;
                yaml_document_delete(&next);
                if (more) {
                    json_decref(v);
                    v = NULL;
                    rc = aios_err_set(err, AIOS_EFORMAT, "more than one YAML document");
                }
            }
            *out = v;
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
