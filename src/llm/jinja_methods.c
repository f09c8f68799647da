/*
 * Jinja tests (`x is defined`, `x is equalto y`) and the Python methods
 * templates call on values: str (strip, split, startswith, replace, ...),
 * list (append, pop, index, ...), dict (items, keys, values, get) and the
 * loop object's cycle(). Same conventions as jinja_builtins.c: arguments are
 * borrowed, results owned, AIOS_ENOTFOUND (no message) for unknown names.
 */
#include "llm/jinja.h"

#include <math.h>
#include <string.h>
#include <utf8proc.h>

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

/* ---- tests -------------------------------------------------------------- */

int jinja_test(struct jstate *st, const char *name, const struct jv *x, struct jargs *a, bool *out)
{
    const struct jv *a0 = jargs_get(a, 0, NULL);
    bool json = x->k == JV_JSON;
    json_type t = json ? json_typeof(x->j) : JSON_NULL;
    if (!strcmp(name, "defined"))
        *out = x->k != JV_UNDEF;
    else if (!strcmp(name, "undefined"))
        *out = x->k == JV_UNDEF;
    else if (!strcmp(name, "none"))
        *out = json && t == JSON_NULL;
    else if (!strcmp(name, "string"))
        *out = json && t == JSON_STRING;
    else if (!strcmp(name, "mapping"))
        *out = json && t == JSON_OBJECT;
    else if (!strcmp(name, "iterable"))
        *out =
            x->k == JV_UNDEF || (json && (t == JSON_STRING || t == JSON_ARRAY || t == JSON_OBJECT));
    else if (!strcmp(name, "sequence"))
        *out = json && (t == JSON_STRING || t == JSON_ARRAY || t == JSON_OBJECT);
    else if (!strcmp(name, "number"))
        *out = jv_is_num(x);
    else if (!strcmp(name, "integer"))
        *out = json && t == JSON_INTEGER;
    else if (!strcmp(name, "float"))
        *out = json && t == JSON_REAL;
    else if (!strcmp(name, "boolean"))
        *out = json && json_is_boolean(x->j);
    else if (!strcmp(name, "true"))
        *out = json && t == JSON_TRUE;
    else if (!strcmp(name, "false"))
        *out = json && t == JSON_FALSE;
    else if (!strcmp(name, "callable"))
        *out = x->k == JV_MACRO || x->k == JV_CALLER || x->k == JV_FUNC;
    else if (!strcmp(name, "odd") || !strcmp(name, "even")) {
        if (!jv_is_num(x))
            return jinja_type_err(st, name, x);
        if (jv_is_int(x))
            *out = (jv_int(x) % 2 != 0) == (name[0] == 'o');
        else
            *out = (fabs(fmod(jv_num(x), 2.0)) == 1.0) == (name[0] == 'o') &&
                   (name[0] == 'o' || fmod(jv_num(x), 2.0) == 0.0);
    } else if (!strcmp(name, "divisibleby")) {
        if (!jv_is_int(x) || !a0 || !jv_is_int(a0) || jv_int(a0) == 0)
            return jinja_fail(st, 0, AIOS_EFORMAT, "divisibleby needs non-zero integers");
        *out = jv_int(x) % jv_int(a0) == 0;
    } else if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        /* str(x).islower() / isupper(), as Jinja */
        struct jv s, r;
        struct jargs none = {0};
        TRY(jv_str_value(st, x, &s));
        int rc = jinja_method(st, name[0] == 'l' ? "islower" : "isupper", &s, &none, &r);
        jv_drop(&s);
        if (rc)
            return rc;
        *out = jv_truthy(&r);
        jv_drop(&r);
    } else if (!strcmp(name, "in")) {
        if (!a0)
            return jinja_fail(st, 0, AIOS_EFORMAT, "the 'in' test needs a container");
        *out = false;
        if (jv_is_str(a0) && jv_is_str(x))
            *out = memmem(json_string_value(a0->j), json_string_length(a0->j),
                          json_string_value(x->j), json_string_length(x->j)) != NULL ||
                   json_string_length(x->j) == 0;
        else if (jv_is(a0, JSON_ARRAY) && json)
            for (size_t i = 0; i < json_array_size(a0->j) && !*out; i++)
                *out = jinja_json_eq(json_array_get(a0->j, i), x->j, 0);
        else if (jv_is(a0, JSON_OBJECT) && jv_is_str(x))
            *out = json_object_get(a0->j, json_string_value(x->j)) != NULL;
    } else if (!strcmp(name, "sameas")) {
        *out = a0 && json && a0->k == JV_JSON &&
               (x->j == a0->j || (json_is_null(x->j) && json_is_null(a0->j)) ||
                (json_is_integer(x->j) && json_is_integer(a0->j) &&
                 json_integer_value(x->j) == json_integer_value(a0->j)) ||
                (json_is_boolean(x->j) && json_typeof(x->j) == json_typeof(a0->j)));
    } else if (!strcmp(name, "escaped")) {
        *out = false;
    } else {
        static const struct {
            const char *name;
            int cmp; /* 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >= */
        } cmps[] = {{"eq", 0}, {"equalto", 0}, {"==", 0},          {"ne", 1}, {"!=", 1},
                    {"lt", 2}, {"<", 2},       {"lessthan", 2},    {"le", 3}, {"<=", 3},
                    {"gt", 4}, {">", 4},       {"greaterthan", 4}, {"ge", 5}, {">=", 5}};
        for (size_t i = 0; i < sizeof cmps / sizeof cmps[0]; i++) {
            if (strcmp(name, cmps[i].name) != 0)
                continue;
            if (!a0)
                return jinja_fail(st, 0, AIOS_EFORMAT, "test '%s' needs an argument", name);
            if (cmps[i].cmp <= 1) {
                bool e = json && a0->k == JV_JSON ? jinja_json_eq(x->j, a0->j, 0)
                                                  : x->k == JV_UNDEF && a0->k == JV_UNDEF;
                *out = cmps[i].cmp == 0 ? e : !e;
                return AIOS_OK;
            }
            bool ok = false;
            int c = json && a0->k == JV_JSON ? jinja_json_cmp(x->j, a0->j, &ok) : 0;
            if (!ok)
                return jinja_fail(st, 0, AIOS_EFORMAT, "cannot compare %s with %s",
                                  jinja_type_name(x), jinja_type_name(a0));
            *out = cmps[i].cmp == 2   ? c < 0
                   : cmps[i].cmp == 3 ? c <= 0
                   : cmps[i].cmp == 4 ? c > 0
                                      : c >= 0;
            return AIOS_OK;
        }
        return AIOS_ENOTFOUND;
    }
    return AIOS_OK;
}

/* ---- methods ------------------------------------------------------------ */

static int str_find(struct jstate *st, const struct jv *s, const struct jv *sub, bool count,
                    struct jv *out)
{
    if (!jv_is_str(sub))
        return jinja_fail(st, 0, AIOS_EFORMAT, "%s() needs a string", count ? "count" : "find");
    const char *h = json_string_value(s->j), *n = json_string_value(sub->j);
    size_t hl = json_string_length(s->j), nl = json_string_length(sub->j);
    if (count) {
        int64_t c = 0;
        if (nl == 0)
            c = (int64_t)jinja_utf8_len(h, hl) + 1;
        else
            for (const char *p = h; (p = memmem(p, hl - (size_t)(p - h), n, nl)); p += nl)
                c++;
        return jinja_ret_json(st, json_integer(c), out);
    }
    const char *p = memmem(h, hl, n, nl);
    int64_t idx = p ? (int64_t)jinja_utf8_len(h, (size_t)(p - h)) : -1;
    return jinja_ret_json(st, json_integer(idx), out);
}

static int str_method(struct jstate *st, const char *name, struct jv *s, struct jargs *a,
                      struct jv *out)
{
    const struct jv *a0 = jargs_get(a, 0, NULL);
    if (!strcmp(name, "strip"))
        return jinja_strip(st, s, jargs_get(a, 0, "chars"), 3, out);
    if (!strcmp(name, "lstrip"))
        return jinja_strip(st, s, jargs_get(a, 0, "chars"), 1, out);
    if (!strcmp(name, "rstrip"))
        return jinja_strip(st, s, jargs_get(a, 0, "chars"), 2, out);
    if (!strcmp(name, "split") || !strcmp(name, "rsplit"))
        return jinja_split(st, s, jargs_get(a, 0, "sep"), jargs_get(a, 1, "maxsplit"),
                           name[0] == 'r', out);
    if (!strcmp(name, "startswith") || !strcmp(name, "endswith"))
        return jinja_affix(st, s, a0, name[0] == 'e', out);
    if (!strcmp(name, "upper"))
        return jinja_case(st, s, JCASE_UPPER, out);
    if (!strcmp(name, "lower"))
        return jinja_case(st, s, JCASE_LOWER, out);
    if (!strcmp(name, "title"))
        return jinja_case(st, s, JCASE_TITLE, out);
    if (!strcmp(name, "capitalize"))
        return jinja_case(st, s, JCASE_CAPITALIZE, out);
    if (!strcmp(name, "replace"))
        return jinja_replace(st, s, jargs_get(a, 0, "old"), jargs_get(a, 1, "new"),
                             jargs_get(a, 2, "count"), out);
    if (!strcmp(name, "find") || !strcmp(name, "count"))
        return str_find(st, s, a0, name[0] == 'c', out);
    if (!strcmp(name, "join")) {
        if (!a0)
            return jinja_fail(st, 0, AIOS_EFORMAT, "join() needs a list");
        json_t *items;
        TRY(jinja_as_list(st, a0, &items));
        struct aios_buf b;
        aios_buf_init(&b, st->lim->max_output);
        int rc = AIOS_OK;
        for (size_t i = 0; i < json_array_size(items) && !rc; i++) {
            json_t *it = json_array_get(items, i);
            if (!json_is_string(it)) {
                rc = jinja_fail(st, 0, AIOS_EFORMAT, "join(): list items must be strings");
                break;
            }
            if (i)
                rc = aios_buf_append(&b, json_string_value(s->j), json_string_length(s->j));
            if (!rc)
                rc = aios_buf_append(&b, json_string_value(it), json_string_length(it));
        }
        json_decref(items);
        if (rc < 0 && rc != AIOS_ELIMIT && rc != AIOS_ENOMEM) {
            aios_buf_free(&b);
            return rc;
        }
        return jinja_ret_buf(st, &b, rc, out);
    }
    if (!strcmp(name, "splitlines")) {
        struct jv nl;
        TRY(jv_str_new(st, "\n", 1, &nl));
        struct jv norm;
        struct jv cr, crlf;
        int rc = jv_str_new(st, "\r\n", 2, &crlf);
        if (!rc)
            rc = jinja_replace(st, s, &crlf, &nl, NULL, &norm);
        jv_drop(&crlf);
        if (!rc) {
            rc = jv_str_new(st, "\r", 1, &cr);
            struct jv norm2 = {0};
            if (!rc)
                rc = jinja_replace(st, &norm, &cr, &nl, NULL, &norm2);
            jv_drop(&cr);
            jv_drop(&norm);
            if (!rc) {
                size_t len = json_string_length(norm2.j);
                if (len && json_string_value(norm2.j)[len - 1] == '\n') {
                    struct jv cut;
                    rc = jv_str_new(st, json_string_value(norm2.j), len - 1, &cut);
                    jv_drop(&norm2);
                    norm2 = cut;
                }
                if (!rc) {
                    if (json_string_length(norm2.j) == 0 && len == 0)
                        rc = jinja_ret_json(st, json_array(), out);
                    else
                        rc = jinja_split(st, &norm2, &nl, NULL, false, out);
                }
            }
            jv_drop(&norm2);
        }
        jv_drop(&nl);
        return rc;
    }
    if (!strncmp(name, "is", 2) &&
        (!strcmp(name, "isdigit") || !strcmp(name, "isalpha") || !strcmp(name, "isalnum") ||
         !strcmp(name, "isspace") || !strcmp(name, "isupper") || !strcmp(name, "islower"))) {
        const char *p = json_string_value(s->j);
        size_t n = json_string_length(s->j);
        bool r = n > 0, cased = false;
        for (size_t i = 0; i < n && r;) {
            int32_t c;
            i += jinja_next_cp(p, n, i, &c);
            utf8proc_category_t cat = utf8proc_category(c);
            bool letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
            bool digit = cat == UTF8PROC_CATEGORY_ND;
            if (!strcmp(name, "isdigit"))
                r = digit;
            else if (!strcmp(name, "isalpha"))
                r = letter;
            else if (!strcmp(name, "isalnum"))
                r = letter || digit;
            else if (!strcmp(name, "isspace"))
                r = jinja_py_space(c);
            else if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
                     cat == UTF8PROC_CATEGORY_LT) {
                cased = true;
                r = name[2] == 'u' ? cat != UTF8PROC_CATEGORY_LL : cat != UTF8PROC_CATEGORY_LU;
            }
        }
        if (!strcmp(name, "isupper") || !strcmp(name, "islower"))
            r = r && cased;
        return jinja_ret_bool(st, r, out);
    }
    return AIOS_ENOTFOUND;
}

static int list_method(struct jstate *st, const char *name, struct jv *l, struct jargs *a,
                       struct jv *out)
{
    const struct jv *a0 = jargs_get(a, 0, NULL);
    json_t *arr = l->j;
    if (!strcmp(name, "append")) {
        if (!a0)
            return jinja_fail(st, 0, AIOS_EFORMAT, "append() needs a value");
        TRY(jinja_check_store(st, arr, a0));
        TRY(jinja_list_push(st, arr, json_incref(a0->j)));
        return jinja_ret_json(st, json_null(), out);
    }
    if (!strcmp(name, "extend")) {
        if (!a0 || !jv_is(a0, JSON_ARRAY))
            return jinja_fail(st, 0, AIOS_EFORMAT, "extend() needs a list");
        TRY(jinja_check_store(st, arr, a0));
        for (size_t i = 0; i < json_array_size(a0->j); i++)
            TRY(jinja_list_push(st, arr, json_incref(json_array_get(a0->j, i))));
        return jinja_ret_json(st, json_null(), out);
    }
    if (!strcmp(name, "insert")) {
        const struct jv *v = jargs_get(a, 1, NULL);
        if (!a0 || !jv_is_int(a0) || !v)
            return jinja_fail(st, 0, AIOS_EFORMAT, "insert() needs an index and a value");
        TRY(jinja_check_store(st, arr, v));
        int64_t n = (int64_t)json_array_size(arr), i = jv_int(a0);
        if (i < 0)
            i = i + n < 0 ? 0 : i + n;
        if (i > n)
            i = n;
        TRY(jinja_count_created(st, sizeof(void *)));
        json_array_insert(arr, (size_t)i, v->j);
        return jinja_ret_json(st, json_null(), out);
    }
    if (!strcmp(name, "pop")) {
        int64_t n = (int64_t)json_array_size(arr), i = a0 && jv_is_int(a0) ? jv_int(a0) : -1;
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return jinja_fail(st, 0, AIOS_EFORMAT, "pop index out of range");
        *out = jv_json(json_incref(json_array_get(arr, (size_t)i)));
        json_array_remove(arr, (size_t)i);
        return AIOS_OK;
    }
    if (!strcmp(name, "index") || !strcmp(name, "count")) {
        if (!a0 || a0->k != JV_JSON)
            return jinja_fail(st, 0, AIOS_EFORMAT, "%s() needs a value", name);
        int64_t c = 0, idx = -1;
        for (size_t i = 0; i < json_array_size(arr); i++)
            if (jinja_json_eq(json_array_get(arr, i), a0->j, 0)) {
                if (idx < 0)
                    idx = (int64_t)i;
                c++;
            }
        if (name[0] == 'i' && idx < 0)
            return jinja_fail(st, 0, AIOS_EFORMAT, "index(): value is not in the list");
        return jinja_ret_json(st, json_integer(name[0] == 'i' ? idx : c), out);
    }
    if (!strcmp(name, "copy"))
        return jinja_ret_json(st, json_copy(arr), out);
    return AIOS_ENOTFOUND;
}

static int dict_method(struct jstate *st, const char *name, struct jv *d, struct jargs *a,
                       struct jv *out)
{
    const struct jv *a0 = jargs_get(a, 0, NULL);
    if (!strcmp(name, "items"))
        return jinja_items(st, d, out);
    if (!strcmp(name, "keys")) {
        json_t *l;
        TRY(jinja_as_list(st, d, &l));
        *out = jv_json(l);
        return AIOS_OK;
    }
    if (!strcmp(name, "values")) {
        json_t *l = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(d->j, k, v)
        {
            if (l)
                json_array_append(l, v);
        }
        TRY(jinja_count_created(st, json_object_size(d->j) * sizeof(void *)));
        return jinja_ret_json(st, l, out);
    }
    if (!strcmp(name, "get")) {
        if (!a0 || !jv_is_str(a0))
            return jinja_fail(st, 0, AIOS_EFORMAT, "get() needs a string key");
        json_t *v = json_object_get(d->j, json_string_value(a0->j));
        if (v) {
            *out = jv_json(json_incref(v));
            return AIOS_OK;
        }
        const struct jv *def = jargs_get(a, 1, "default");
        if (def) {
            *out = def->k == JV_JSON ? jv_json(json_incref(def->j)) : *def;
            return AIOS_OK;
        }
        return jinja_ret_json(st, json_null(), out);
    }
    if (!strcmp(name, "copy"))
        return jinja_ret_json(st, json_copy(d->j), out);
    if (!strcmp(name, "cycle")) {
        /* loop.cycle(a, b, ...): the loop object is a dict with index0 */
        json_t *i0 = json_object_get(d->j, "index0");
        if (!i0 || !json_is_integer(i0) || a->n == 0)
            return AIOS_ENOTFOUND;
        const struct jv *v = &a->pos[json_integer_value(i0) % a->n];
        *out = v->k == JV_JSON ? jv_json(json_incref(v->j)) : *v;
        return AIOS_OK;
    }
    return AIOS_ENOTFOUND;
}

int jinja_method(struct jstate *st, const char *name, struct jv *obj, struct jargs *a,
                 struct jv *out)
{
    *out = jv_undef(NULL);
    if (jv_is_str(obj))
        return str_method(st, name, obj, a, out);
    if (jv_is(obj, JSON_ARRAY))
        return list_method(st, name, obj, a, out);
    if (jv_is(obj, JSON_OBJECT))
        return dict_method(st, name, obj, a, out);
    return AIOS_ENOTFOUND;
}
