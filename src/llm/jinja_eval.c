/*
 * Jinja interpreter: walks the syntax tree (jinja.h) with a JSON context and
 * writes the text. Also the public template API (aios_jinja_parse/render).
 *
 * Scopes: a frame per for loop, macro call and caller() call, chained to its
 * parent; `set` writes into the innermost frame (so, as in Jinja, a set
 * inside a loop is not seen after it; namespace() objects carry state out).
 * Below the frames come the context's variables, then the global functions
 * (range, namespace, raise_exception, strftime_now, dict).
 *
 * Ownership: every struct jv returned by eval() holds its own reference and
 * is released with jv_drop(). Macro values point at the frame they were
 * defined in; frames live on the C stack of the call that made them and jv
 * values never move to an outer frame, so the pointer stays valid.
 *
 * Limits (struct aios_jinja_limits) are checked as work happens: every node
 * evaluated and loop iteration is a step; every string and list slot made
 * counts toward max_created; captures and macro calls nest at most
 * max_depth; output and strings stop at max_output.
 */
#include "llm/jinja.h"

#include <math.h>
#include <string.h>
#include <time.h>

enum { JX_BREAK = 1, JX_CONTINUE = 2 };

struct jvar {
    const char *name;
    struct jv v;
};

struct jframe {
    struct jframe *parent;
    struct jvar *vars;
    int n, cap;
    const struct jnode *loop; /* the JN_FOR this frame is the body scope of */
    int depth;                /* its loop.depth (recursive loops nest) */
};

static int eval(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out);
static int exec_body(struct jstate *st, struct jframe *f, const struct jnode *body,
                     struct aios_buf *out);

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

void aios_jinja_limits_default(struct aios_jinja_limits *lim)
{
    *lim = (struct aios_jinja_limits){
        .max_output = (size_t)16 << 20,
        .max_created = (size_t)512 << 20,
        .max_steps = 20000000,
        .max_depth = 64,
        .max_list = 1000000,
    };
}

/* ---- frames ------------------------------------------------------------- */

static void frame_free(struct jframe *f)
{
    for (int i = 0; i < f->n; i++)
        jv_drop(&f->vars[i].v);
    aios_free(f->vars);
    f->vars = NULL;
    f->n = f->cap = 0;
}

/* Binds name in f, taking ownership of v. */
static int frame_set(struct jstate *st, struct jframe *f, const char *name, struct jv v)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->vars[i].name, name) == 0) {
            jv_drop(&f->vars[i].v);
            f->vars[i].v = v;
            return AIOS_OK;
        }
    if (f->n == f->cap) {
        if (f->cap >= 4096) {
            jv_drop(&v);
            return jinja_fail(st, 0, AIOS_ELIMIT, "more than 4096 variables in one scope");
        }
        int nc = f->cap ? f->cap * 2 : 8;
        struct jvar *nv = aios_realloc(f->vars, (size_t)nc * sizeof *nv);
        if (!nv) {
            jv_drop(&v);
            return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
        }
        f->vars = nv;
        f->cap = nc;
    }
    f->vars[f->n].name = name;
    f->vars[f->n].v = v;
    f->n++;
    return AIOS_OK;
}

static struct jv jv_copy(const struct jv *v)
{
    struct jv c = *v;
    if (c.k == JV_JSON)
        json_incref(c.j);
    return c;
}

static const struct {
    const char *name;
    enum jfunc f;
} globals[] = {
    {"range", JF_RANGE},           {"namespace", JF_NAMESPACE}, {"raise_exception", JF_RAISE},
    {"strftime_now", JF_STRFTIME}, {"dict", JF_DICT},
};

static struct jv lookup(struct jstate *st, struct jframe *f, const char *name)
{
    for (; f; f = f->parent)
        for (int i = f->n - 1; i >= 0; i--)
            if (strcmp(f->vars[i].name, name) == 0)
                return jv_copy(&f->vars[i].v);
    json_t *j = json_object_get(st->ctx, name);
    if (j)
        return jv_json(json_incref(j));
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (strcmp(globals[i].name, name) == 0) {
            struct jv v = {.k = JV_FUNC, .func = globals[i].f, .name = globals[i].name};
            return v;
        }
    return jv_undef(name);
}

/* ---- helpers ------------------------------------------------------------ */

static int step(struct jstate *st, const struct jnode *n)
{
    st->line = n->line;
    if (++st->steps > st->lim->max_steps)
        return jinja_fail(st, n->line, AIOS_ELIMIT, "the template ran more than %llu steps (limit)",
                          (unsigned long long)st->lim->max_steps);
    return AIOS_OK;
}

static int new_json(struct jstate *st, json_t *j, struct jv *out)
{
    if (!j)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    *out = jv_json(j);
    return AIOS_OK;
}

static int undefined_error(struct jstate *st, int line, const struct jv *v)
{
    if (v->name)
        return jinja_fail(st, line, AIOS_EFORMAT, "'%s' is undefined", v->name);
    return jinja_fail(st, line, AIOS_EFORMAT, "a value is undefined");
}

/* ---- attribute and item access ----------------------------------------- */

static int get_item(struct jstate *st, int line, struct jv *obj, struct jv *key, struct jv *out)
{
    if (obj->k == JV_UNDEF)
        return undefined_error(st, line, obj);
    *out = jv_undef(NULL);
    if (obj->k != JV_JSON)
        return AIOS_OK;
    json_t *o = obj->j;
    if (json_is_object(o)) {
        if (jv_is(key, JSON_STRING)) {
            json_t *v = json_object_get(o, json_string_value(key->j));
            if (v)
                *out = jv_json(json_incref(v));
            else
                out->name = json_string_value(key->j);
        }
        return AIOS_OK;
    }
    if (!jv_is_int(key))
        return AIOS_OK;
    int64_t i = jv_int(key);
    if (json_is_array(o)) {
        int64_t n = (int64_t)json_array_size(o);
        if (i < 0)
            i += n;
        if (i >= 0 && i < n)
            *out = jv_json(json_incref(json_array_get(o, (size_t)i)));
        return AIOS_OK;
    }
    if (json_is_string(o)) {
        const char *s = json_string_value(o);
        size_t len = json_string_length(o);
        int64_t n = (int64_t)jinja_utf8_len(s, len);
        if (i < 0)
            i += n;
        if (i >= 0 && i < n) {
            size_t a = jinja_utf8_offset(s, len, (size_t)i);
            size_t b = jinja_utf8_offset(s, len, (size_t)i + 1);
            return jv_str_new(st, s + a, b - a, out);
        }
    }
    return AIOS_OK;
}

static int get_attr(struct jstate *st, int line, struct jv *obj, const char *name, struct jv *out)
{
    if (obj->k == JV_UNDEF)
        return undefined_error(st, line, obj);
    *out = jv_undef(name);
    if (jv_is(obj, JSON_OBJECT)) {
        json_t *v = json_object_get(obj->j, name);
        if (v)
            *out = jv_json(json_incref(v));
    }
    return AIOS_OK;
}

/* Python slice bounds over n items. */
static void slice_range(int64_t n, const struct jv *a, const struct jv *b, int64_t step,
                        int64_t *start, int64_t *stop)
{
    bool has_a = a->k == JV_JSON && !json_is_null(a->j);
    bool has_b = b->k == JV_JSON && !json_is_null(b->j);
    if (step > 0) {
        *start = has_a ? jv_int(a) : 0;
        *stop = has_b ? jv_int(b) : n;
        if (*start < 0)
            *start = *start + n < 0 ? 0 : *start + n;
        if (*start > n)
            *start = n;
        if (*stop < 0)
            *stop = *stop + n < 0 ? 0 : *stop + n;
        if (*stop > n)
            *stop = n;
    } else {
        *start = has_a ? jv_int(a) : n - 1;
        *stop = has_b ? jv_int(b) : -1 - n; /* before the first */
        if (*start < 0)
            *start = *start + n < -1 ? -1 : *start + n;
        if (*start >= n)
            *start = n - 1;
        if (has_b) {
            if (*stop < 0)
                *stop = *stop + n < -1 ? -1 : *stop + n;
            if (*stop >= n)
                *stop = n - 1;
        } else {
            *stop = -1;
        }
    }
}

static int eval_slice(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    struct jv obj = {0}, a = {0}, b = {0}, s = {0};
    int rc = eval(st, f, n->a, &obj);
    if (!rc && n->b)
        rc = eval(st, f, n->b, &a);
    if (!rc && n->c)
        rc = eval(st, f, n->c, &b);
    if (!rc && n->d)
        rc = eval(st, f, n->d, &s);
    if (rc)
        goto out;
    int64_t stp = 1;
    if (s.k == JV_JSON && !json_is_null(s.j)) {
        if (!jv_is_int(&s)) {
            rc = jinja_fail(st, n->line, AIOS_EFORMAT, "slice step must be an integer");
            goto out;
        }
        stp = jv_int(&s);
    }
    if ((a.k == JV_JSON && !json_is_null(a.j) && !jv_is_int(&a)) ||
        (b.k == JV_JSON && !json_is_null(b.j) && !jv_is_int(&b))) {
        rc = jinja_fail(st, n->line, AIOS_EFORMAT, "slice indices must be integers");
        goto out;
    }
    if (stp == 0) {
        rc = jinja_fail(st, n->line, AIOS_EFORMAT, "slice step cannot be zero");
        goto out;
    }
    if (obj.k == JV_UNDEF) {
        rc = undefined_error(st, n->line, &obj);
        goto out;
    }
    if (jv_is(&obj, JSON_ARRAY)) {
        int64_t len = (int64_t)json_array_size(obj.j), i0, i1;
        slice_range(len, &a, &b, stp, &i0, &i1);
        json_t *r = json_array();
        if (!r) {
            rc = jinja_fail(st, n->line, AIOS_ENOMEM, "out of memory");
            goto out;
        }
        for (int64_t i = i0; stp > 0 ? i < i1 : i > i1; i += stp) {
            json_array_append(r, json_array_get(obj.j, (size_t)i));
            if ((rc = jinja_count_created(st, sizeof(void *))))
                break;
        }
        *out = jv_json(r);
    } else if (jv_is(&obj, JSON_STRING)) {
        const char *str = json_string_value(obj.j);
        size_t blen = json_string_length(obj.j);
        int64_t len = (int64_t)jinja_utf8_len(str, blen), i0, i1;
        slice_range(len, &a, &b, stp, &i0, &i1);
        struct aios_buf buf;
        aios_buf_init(&buf, st->lim->max_output);
        if (stp == 1 && i0 < i1) {
            size_t o0 = jinja_utf8_offset(str, blen, (size_t)i0);
            size_t o1 = jinja_utf8_offset(str, blen, (size_t)i1);
            rc = aios_buf_append(&buf, str + o0, o1 - o0);
        } else {
            for (int64_t i = i0; !rc && (stp > 0 ? i < i1 : i > i1); i += stp) {
                size_t o0 = jinja_utf8_offset(str, blen, (size_t)i);
                size_t o1 = jinja_utf8_offset(str, blen, (size_t)i + 1);
                rc = aios_buf_append(&buf, str + o0, o1 - o0);
            }
        }
        if (rc)
            rc = jinja_fail(st, n->line, rc, "slice too long");
        else
            rc = jv_str_new(st, buf.data, buf.len, out);
        aios_buf_free(&buf);
    } else {
        rc = jinja_fail(st, n->line, AIOS_EFORMAT, "cannot slice a value of type %s",
                        jinja_type_name(&obj));
    }
out:
    jv_drop(&obj);
    jv_drop(&a);
    jv_drop(&b);
    jv_drop(&s);
    return rc;
}

/* ---- operators ---------------------------------------------------------- */

static int arith(struct jstate *st, int line, int op, struct jv *a, struct jv *b, struct jv *out)
{
    static const char *const names[] = {"+", "-", "*", "/", "//", "%", "**"};
    if (jv_is_num(a) && jv_is_num(b)) {
        bool ints = jv_is_int(a) && jv_is_int(b);
        int64_t x = ints ? jv_int(a) : 0, y = ints ? jv_int(b) : 0, r = 0;
        double p = jv_num(a), q = jv_num(b);
        switch (op) {
        case JOP_ADD:
            if (ints && !__builtin_add_overflow(x, y, &r))
                return new_json(st, json_integer(r), out);
            return new_json(st, json_real(p + q), out);
        case JOP_SUB:
            if (ints && !__builtin_sub_overflow(x, y, &r))
                return new_json(st, json_integer(r), out);
            return new_json(st, json_real(p - q), out);
        case JOP_MUL:
            if (ints && !__builtin_mul_overflow(x, y, &r))
                return new_json(st, json_integer(r), out);
            return new_json(st, json_real(p * q), out);
        case JOP_DIV:
            if (q == 0)
                return jinja_fail(st, line, AIOS_EFORMAT, "division by zero");
            return new_json(st, json_real(p / q), out);
        case JOP_FLOORDIV:
        case JOP_MOD:
            if (q == 0)
                return jinja_fail(st, line, AIOS_EFORMAT, "division by zero");
            if (ints && !(x == INT64_MIN && y == -1)) {
                int64_t d = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    d -= 1;
                    m += y;
                }
                return new_json(st, json_integer(op == JOP_FLOORDIV ? d : m), out);
            }
            if (op == JOP_FLOORDIV)
                return new_json(st, json_real(floor(p / q)), out);
            {
                double m = fmod(p, q);
                if (m != 0 && ((m < 0) != (q < 0)))
                    m += q;
                return new_json(st, json_real(m), out);
            }
        case JOP_POW:
            if (ints && y >= 0) {
                /* |x| <= 1 never overflows; otherwise 64 steps do */
                if (x == 0 || x == 1)
                    return new_json(st, json_integer(y == 0 ? 1 : x), out);
                if (x == -1)
                    return new_json(st, json_integer(y % 2 ? -1 : 1), out);
                int64_t acc = 1;
                bool ovf = false;
                for (int64_t i = 0; i < y && !ovf; i++)
                    ovf = __builtin_mul_overflow(acc, x, &acc);
                if (!ovf)
                    return new_json(st, json_integer(acc), out);
            }
            return new_json(st, json_real(pow(p, q)), out);
        }
    }
    if (op == JOP_MOD && jv_is(a, JSON_STRING))
        return jinja_printf(st, a, b, out);
    if (op == JOP_ADD && jv_is(a, JSON_STRING) && jv_is(b, JSON_STRING)) {
        size_t la = json_string_length(a->j), lb = json_string_length(b->j);
        if (la + lb > st->lim->max_output)
            return jinja_fail(st, line, AIOS_ELIMIT, "string longer than the limit of %zu bytes",
                              st->lim->max_output);
        char *buf = aios_malloc(la + lb + 1);
        if (!buf)
            return jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
        memcpy(buf, json_string_value(a->j), la);
        memcpy(buf + la, json_string_value(b->j), lb);
        int rc = jv_str_new(st, buf, la + lb, out);
        aios_free(buf);
        return rc;
    }
    if (op == JOP_ADD && jv_is(a, JSON_ARRAY) && jv_is(b, JSON_ARRAY)) {
        size_t n = json_array_size(a->j) + json_array_size(b->j);
        if (n > st->lim->max_list)
            return jinja_fail(st, line, AIOS_ELIMIT, "list longer than the limit of %zu",
                              st->lim->max_list);
        TRY(jinja_count_created(st, n * sizeof(void *)));
        json_t *r = json_array();
        if (!r || json_array_extend(r, a->j) || json_array_extend(r, b->j)) {
            json_decref(r);
            return jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
        }
        *out = jv_json(r);
        return AIOS_OK;
    }
    if (op == JOP_MUL && ((jv_is_int(b) && (jv_is(a, JSON_STRING) || jv_is(a, JSON_ARRAY))) ||
                          (jv_is_int(a) && (jv_is(b, JSON_STRING) || jv_is(b, JSON_ARRAY))))) {
        struct jv *seq = jv_is_int(b) ? a : b, *cnt = jv_is_int(b) ? b : a;
        int64_t k = jv_int(cnt);
        if (k < 0)
            k = 0;
        if (json_is_string(seq->j)) {
            size_t l = json_string_length(seq->j);
            if (l && (uint64_t)k > st->lim->max_output / l)
                return jinja_fail(st, line, AIOS_ELIMIT,
                                  "string longer than the limit of %zu bytes", st->lim->max_output);
            struct aios_buf b2;
            aios_buf_init(&b2, st->lim->max_output);
            int rc = AIOS_OK;
            for (int64_t i = 0; i < k && !rc; i++)
                rc = aios_buf_append(&b2, json_string_value(seq->j), l);
            if (!rc)
                rc = jv_str_new(st, b2.data, b2.len, out);
            else
                rc = jinja_fail(st, line, rc, "string repetition failed");
            aios_buf_free(&b2);
            return rc;
        }
        size_t l = json_array_size(seq->j);
        if (l && (uint64_t)k > st->lim->max_list / l)
            return jinja_fail(st, line, AIOS_ELIMIT, "list longer than the limit of %zu",
                              st->lim->max_list);
        TRY(jinja_count_created(st, (size_t)k * l * sizeof(void *)));
        json_t *r = json_array();
        if (!r)
            return jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
        for (int64_t i = 0; i < k; i++)
            json_array_extend(r, seq->j);
        *out = jv_json(r);
        return AIOS_OK;
    }
    return jinja_fail(st, line, AIOS_EFORMAT, "unsupported operand types for %s: %s and %s",
                      names[op], jinja_type_name(a), jinja_type_name(b));
}

static bool jv_eq(const struct jv *a, const struct jv *b)
{
    if (a->k == JV_JSON && b->k == JV_JSON)
        return jinja_json_eq(a->j, b->j, 0);
    if (a->k == JV_UNDEF || b->k == JV_UNDEF)
        return a->k == b->k;
    return a->k == b->k && a->node == b->node && a->func == b->func;
}

static int contains(struct jstate *st, int line, struct jv *needle, struct jv *hay, bool *out)
{
    *out = false;
    if (hay->k == JV_UNDEF)
        return AIOS_OK;
    if (jv_is(hay, JSON_STRING)) {
        if (!jv_is(needle, JSON_STRING))
            return jinja_fail(st, line, AIOS_EFORMAT,
                              "'in <string>' requires a string on the left, not %s",
                              jinja_type_name(needle));
        const char *h = json_string_value(hay->j), *nd = json_string_value(needle->j);
        size_t hl = json_string_length(hay->j), nl = json_string_length(needle->j);
        TRY(jinja_charge(st, hl / 256));
        *out = nl == 0 || (nl <= hl && memmem(h, hl, nd, nl) != NULL);
        return AIOS_OK;
    }
    if (jv_is(hay, JSON_ARRAY)) {
        TRY(jinja_charge(st, json_array_size(hay->j)));
        for (size_t i = 0; i < json_array_size(hay->j); i++) {
            struct jv e = {.k = JV_JSON, .j = json_array_get(hay->j, i)};
            if (jv_eq(needle, &e)) {
                *out = true;
                break;
            }
        }
        return AIOS_OK;
    }
    if (jv_is(hay, JSON_OBJECT)) {
        *out = jv_is(needle, JSON_STRING) && json_object_get(hay->j, json_string_value(needle->j));
        return AIOS_OK;
    }
    return jinja_fail(st, line, AIOS_EFORMAT, "argument of type %s is not iterable",
                      jinja_type_name(hay));
}

static int eval_binary(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    struct jv a = {0}, b = {0};
    int rc = eval(st, f, n->a, &a);
    if (!rc)
        rc = eval(st, f, n->b, &b);
    if (rc)
        goto out;
    switch (n->op) {
    case JOP_CONCAT: {
        struct aios_buf buf;
        aios_buf_init(&buf, st->lim->max_output);
        rc = jv_to_str(st, &a, &buf);
        if (!rc)
            rc = jv_to_str(st, &b, &buf);
        if (!rc)
            rc = jv_str_new(st, buf.data, buf.len, out);
        aios_buf_free(&buf);
        break;
    }
    case JOP_EQ:
    case JOP_NE: {
        bool e = jv_eq(&a, &b);
        rc = new_json(st, json_boolean(n->op == JOP_EQ ? e : !e), out);
        break;
    }
    case JOP_LT:
    case JOP_LE:
    case JOP_GT:
    case JOP_GE: {
        bool ok = false;
        int c = 0;
        if (a.k == JV_JSON && b.k == JV_JSON)
            c = jinja_json_cmp(a.j, b.j, &ok);
        if (!ok) {
            rc = jinja_fail(st, n->line, AIOS_EFORMAT, "cannot compare %s with %s",
                            jinja_type_name(&a), jinja_type_name(&b));
            break;
        }
        bool r = n->op == JOP_LT   ? c < 0
                 : n->op == JOP_LE ? c <= 0
                 : n->op == JOP_GT ? c > 0
                                   : c >= 0;
        rc = new_json(st, json_boolean(r), out);
        break;
    }
    case JOP_IN:
    case JOP_NOTIN: {
        bool in;
        rc = contains(st, n->line, &a, &b, &in);
        if (!rc)
            rc = new_json(st, json_boolean(n->op == JOP_IN ? in : !in), out);
        break;
    }
    default:
        if (a.k == JV_UNDEF || b.k == JV_UNDEF) {
            rc = undefined_error(st, n->line, a.k == JV_UNDEF ? &a : &b);
            break;
        }
        rc = arith(st, n->line, n->op, &a, &b, out);
        break;
    }
out:
    jv_drop(&a);
    jv_drop(&b);
    return rc;
}

/* ---- calls -------------------------------------------------------------- */

void jargs_free(struct jargs *a)
{
    for (int i = 0; i < a->n; i++)
        jv_drop(&a->pos[i]);
    for (int i = 0; i < a->nk; i++)
        jv_drop(&a->kv[i]);
    a->n = a->nk = 0;
}

const struct jv *jargs_get(const struct jargs *a, int i, const char *kw)
{
    if (kw)
        for (int k = 0; k < a->nk; k++)
            if (strcmp(a->kname[k], kw) == 0)
                return &a->kv[k];
    if (i >= 0 && i < a->n)
        return &a->pos[i];
    return NULL;
}

static int eval_args(struct jstate *st, struct jframe *f, const struct jnode *args,
                     const struct jnode *kwargs, struct jargs *out)
{
    out->n = out->nk = 0;
    for (const struct jnode *a = args; a; a = a->next) {
        if (out->n == JARGS_MAX)
            return jinja_fail(st, a->line, AIOS_EFORMAT, "more than %d arguments", JARGS_MAX);
        TRY(eval(st, f, a, &out->pos[out->n]));
        out->n++;
    }
    for (const struct jnode *k = kwargs; k; k = k->next) {
        if (out->nk == JARGS_MAX)
            return jinja_fail(st, k->line, AIOS_EFORMAT, "more than %d keyword arguments",
                              JARGS_MAX);
        TRY(eval(st, f, k->a, &out->kv[out->nk]));
        out->kname[out->nk++] = k->s;
    }
    return AIOS_OK;
}

static int render_capture(struct jstate *st, struct jframe *f, const struct jnode *body, int line,
                          struct jv *out)
{
    if (st->depth >= st->lim->max_depth)
        return jinja_fail(st, line, AIOS_ELIMIT, "macro calls or blocks nested more than %d deep",
                          st->lim->max_depth);
    st->depth++;
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = exec_body(st, f, body, &b);
    if (rc > 0)
        rc = jinja_fail(st, line, AIOS_EFORMAT, "break or continue outside a loop");
    if (!rc)
        rc = jv_str_new(st, b.data, b.len, out);
    aios_buf_free(&b);
    st->depth--;
    return rc;
}

/* Binds params (JN_KWARG chain) from args in a new frame and renders body. */
static int call_body(struct jstate *st, struct jframe *parent, const struct jnode *params,
                     const struct jnode *body, const char *what, int uses, struct jargs *args,
                     const struct jv *caller, int line, struct jv *out)
{
    struct jframe mf = {.parent = parent};
    int rc = AIOS_OK, i = 0;
    for (const struct jnode *p = params; p && !rc; p = p->next, i++) {
        const struct jv *v = NULL;
        for (int k = 0; k < args->nk; k++)
            if (strcmp(args->kname[k], p->s) == 0)
                v = &args->kv[k];
        if (i < args->n) {
            if (v) {
                rc = jinja_fail(st, line, AIOS_EFORMAT, "%s got multiple values for '%s'", what,
                                p->s);
                break;
            }
            v = &args->pos[i];
        }
        struct jv val;
        if (v) {
            val = jv_copy(v);
        } else if (p->a) {
            rc = eval(st, &mf, p->a, &val);
            if (rc)
                break;
        } else {
            val = jv_undef(p->s);
        }
        rc = frame_set(st, &mf, p->s, val);
    }
    /* extra arguments: varargs / kwargs when the body reads them, else errors */
    json_t *va = json_array(), *kw = json_object();
    if (!va || !kw)
        rc = jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
    for (int k = i; !rc && k < args->n; k++) {
        if (!(uses & JMACRO_VARARGS))
            rc = jinja_fail(st, line, AIOS_EFORMAT, "%s takes %d arguments, %d given", what, i,
                            args->n);
        else
            json_array_append(va, args->pos[k].k == JV_JSON ? args->pos[k].j : json_null());
    }
    for (int k = 0; !rc && k < args->nk; k++) {
        bool known = false;
        for (const struct jnode *p = params; p; p = p->next)
            known |= strcmp(p->s, args->kname[k]) == 0;
        if (known)
            continue;
        if (!(uses & JMACRO_KWARGS))
            rc = jinja_fail(st, line, AIOS_EFORMAT, "%s has no parameter '%s'", what,
                            args->kname[k]);
        else
            json_object_set(kw, args->kname[k],
                            args->kv[k].k == JV_JSON ? args->kv[k].j : json_null());
    }
    if (!rc && (uses & JMACRO_VARARGS)) {
        jinja_tuple_mark(st, va);
        rc = frame_set(st, &mf, "varargs", jv_json(va));
        va = NULL;
    }
    if (!rc && (uses & JMACRO_KWARGS)) {
        rc = frame_set(st, &mf, "kwargs", jv_json(kw));
        kw = NULL;
    }
    json_decref(va);
    json_decref(kw);
    if (!rc && caller)
        rc = frame_set(st, &mf, "caller", jv_copy(caller));
    if (!rc)
        rc = render_capture(st, &mf, body, line, out);
    frame_free(&mf);
    return rc;
}

static int call_func(struct jstate *st, int line, int func, struct jargs *a, struct jv *out)
{
    switch (func) {
    case JF_RANGE: {
        int64_t v[3] = {0, 0, 1};
        if (a->n < 1 || a->n > 3)
            return jinja_fail(st, line, AIOS_EFORMAT, "range() takes 1 to 3 arguments");
        for (int i = 0; i < a->n; i++)
            if (!jv_is_int(&a->pos[i]))
                return jinja_fail(st, line, AIOS_EFORMAT, "range() arguments must be integers");
        if (a->n == 1)
            v[1] = jv_int(&a->pos[0]);
        else
            for (int i = 0; i < a->n; i++)
                v[i] = jv_int(&a->pos[i]);
        if (v[2] == 0)
            return jinja_fail(st, line, AIOS_EFORMAT, "range() step must not be zero");
        double cnt = ((double)v[1] - (double)v[0]) / (double)v[2];
        if (cnt > (double)st->lim->max_list)
            return jinja_fail(st, line, AIOS_ELIMIT, "range() of more than %zu items (limit)",
                              st->lim->max_list);
        json_t *r = json_array();
        if (!r)
            return jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
        int rc = AIOS_OK;
        for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1];) {
            if ((rc = jinja_count_created(st, 16)))
                break;
            json_array_append_new(r, json_integer(i));
            if (__builtin_add_overflow(i, v[2], &i))
                break; /* the next value is past INT64 range, so past stop */
        }
        *out = jv_json(r);
        return rc;
    }
    case JF_NAMESPACE:
    case JF_DICT: {
        json_t *o = json_object();
        if (!o)
            return jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
        for (int i = 0; i < a->n; i++)
            if (jv_is(&a->pos[i], JSON_OBJECT))
                json_object_update(o, a->pos[i].j);
        for (int k = 0; k < a->nk; k++) {
            if (a->kv[k].k != JV_JSON) {
                json_decref(o);
                return jinja_fail(st, line, AIOS_EFORMAT, "cannot store a %s in a %s",
                                  jinja_type_name(&a->kv[k]),
                                  func == JF_DICT ? "dict" : "namespace");
            }
            json_object_set(o, a->kname[k], a->kv[k].j);
        }
        if (func == JF_NAMESPACE)
            json_array_append(st->namespaces, o);
        *out = jv_json(o);
        return AIOS_OK;
    }
    case JF_RAISE: {
        struct aios_buf b;
        aios_buf_init(&b, 400);
        if (a->n > 0)
            (void)jv_to_str(st, &a->pos[0], &b);
        int rc = jinja_fail(st, line, AIOS_EINVAL, "%s", b.data ? b.data : "raise_exception()");
        aios_buf_free(&b);
        return rc;
    }
    case JF_STRFTIME: {
        if (a->n != 1 || !jv_is(&a->pos[0], JSON_STRING))
            return jinja_fail(st, line, AIOS_EFORMAT, "strftime_now() takes one format string");
        const char *fmt = json_string_value(a->pos[0].j);
        if (strlen(fmt) > 128)
            return jinja_fail(st, line, AIOS_ELIMIT, "strftime_now() format too long");
        time_t t = (time_t)st->now;
        struct tm tm;
        char buf[512];
        if (!gmtime_r(&t, &tm))
            return jinja_fail(st, line, AIOS_EFORMAT, "strftime_now(): bad clock");
        size_t len = fmt[0] ? strftime(buf, sizeof buf, fmt, &tm) : 0;
        return jv_str_new(st, buf, len, out);
    }
    }
    return jinja_fail(st, line, AIOS_EINTERNAL, "unknown function");
}

static int call_loop(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out);

static int eval_call(struct jstate *st, struct jframe *f, const struct jnode *n,
                     const struct jv *caller, struct jv *out)
{
    if (n->a->kind == JN_NAME && strcmp(n->a->s, "loop") == 0)
        return call_loop(st, f, n, out);
    struct jargs args = {0};
    struct jv callee = {0};
    int rc;
    if (n->a->kind == JN_ATTR) {
        /* method call: obj.name(args) */
        rc = eval(st, f, n->a->a, &callee);
        if (rc)
            return rc;
        if (callee.k == JV_UNDEF) {
            rc = undefined_error(st, n->line, &callee);
            jv_drop(&callee);
            return rc;
        }
        rc = eval_args(st, f, n->args, n->kwargs, &args);
        if (!rc) {
            st->line = n->line;
            rc = jinja_method(st, n->a->s, &callee, &args, out);
            if (rc == AIOS_ENOTFOUND) {
                /* a dict holding a macro is not possible; name what is missing */
                rc = jinja_fail(st, n->line, AIOS_EFORMAT, "%s has no method '%s'",
                                jinja_type_name(&callee), n->a->s);
            }
        }
        jargs_free(&args);
        jv_drop(&callee);
        return rc;
    }
    rc = eval(st, f, n->a, &callee);
    if (!rc)
        rc = eval_args(st, f, n->args, n->kwargs, &args);
    if (rc)
        goto out;
    switch (callee.k) {
    case JV_MACRO:
        rc = call_body(st, callee.frame, callee.node->args, callee.node->body, callee.node->s,
                       callee.node->op, &args, caller, n->line, out);
        break;
    case JV_CALLER:
        rc = call_body(st, callee.frame, callee.node->args, callee.node->body, "caller", 0, &args,
                       NULL, n->line, out);
        break;
    case JV_FUNC:
        rc = call_func(st, n->line, callee.func, &args, out);
        break;
    case JV_UNDEF:
        rc = undefined_error(st, n->line, &callee);
        break;
    default:
        rc = jinja_fail(st, n->line, AIOS_EFORMAT, "%s is not callable", jinja_type_name(&callee));
        break;
    }
out:
    jargs_free(&args);
    jv_drop(&callee);
    return rc;
}

static int eval_filter(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    struct jv in = {0};
    struct jargs args = {0};
    int rc;
    if (n->a->kind == JN_BLOCK_INPUT)
        in = jv_copy(&st->block_input);
    else if ((rc = eval(st, f, n->a, &in)))
        return rc;
    rc = eval_args(st, f, n->args, n->kwargs, &args);
    if (!rc) {
        st->line = n->line;
        rc = jinja_filter(st, n->s, &in, &args, out);
        if (rc == AIOS_ENOTFOUND)
            rc = jinja_fail(st, n->line, AIOS_EFORMAT, "unknown filter '%s'", n->s);
    }
    jargs_free(&args);
    jv_drop(&in);
    return rc;
}

static int eval_test(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    struct jv in = {0};
    struct jargs args = {0};
    int rc = eval(st, f, n->a, &in);
    if (!rc)
        rc = eval_args(st, f, n->args, n->kwargs, &args);
    if (!rc) {
        bool r = false;
        st->line = n->line;
        rc = jinja_test(st, n->s, &in, &args, &r);
        if (rc == AIOS_ENOTFOUND)
            rc = jinja_fail(st, n->line, AIOS_EFORMAT, "unknown test '%s'", n->s);
        if (!rc)
            rc = new_json(st, json_boolean(n->neg ? !r : r), out);
    }
    jargs_free(&args);
    jv_drop(&in);
    return rc;
}

static int eval_node(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    *out = jv_undef(NULL);
    TRY(step(st, n));
    switch (n->kind) {
    case JN_NONE:
        return new_json(st, json_null(), out);
    case JN_BOOL:
        return new_json(st, json_boolean(n->i), out);
    case JN_INT:
        return new_json(st, json_integer(n->i), out);
    case JN_FLOAT:
        return new_json(st, json_real(n->f), out);
    case JN_STR:
        return jv_str_new(st, n->s, n->len, out);
    case JN_NAME:
        *out = lookup(st, f, n->s);
        return AIOS_OK;
    case JN_ATTR: {
        struct jv o;
        TRY(eval(st, f, n->a, &o));
        int rc = get_attr(st, n->line, &o, n->s, out);
        jv_drop(&o);
        return rc;
    }
    case JN_INDEX: {
        struct jv o, k = {0};
        TRY(eval(st, f, n->a, &o));
        int rc = eval(st, f, n->b, &k);
        if (!rc)
            rc = get_item(st, n->line, &o, &k, out);
        jv_drop(&o);
        jv_drop(&k);
        return rc;
    }
    case JN_SLICE:
        return eval_slice(st, f, n, out);
    case JN_CALL:
        return eval_call(st, f, n, NULL, out);
    case JN_FILTER:
        return eval_filter(st, f, n, out);
    case JN_TEST:
        return eval_test(st, f, n, out);
    case JN_BLOCK_INPUT:
        *out = jv_copy(&st->block_input);
        return AIOS_OK;
    case JN_NEG:
    case JN_POS: {
        struct jv v;
        TRY(eval(st, f, n->a, &v));
        int rc;
        if (!jv_is_num(&v))
            rc = jinja_fail(st, n->line, AIOS_EFORMAT, "bad operand type for unary %c: %s",
                            n->kind == JN_NEG ? '-' : '+', jinja_type_name(&v));
        else if (n->kind == JN_POS)
            rc = new_json(st, json_incref(v.j), out);
        else if (jv_is_int(&v) && jv_int(&v) != INT64_MIN)
            rc = new_json(st, json_integer(-jv_int(&v)), out);
        else
            rc = new_json(st, json_real(-jv_num(&v)), out);
        jv_drop(&v);
        return rc;
    }
    case JN_NOT: {
        struct jv v;
        TRY(eval(st, f, n->a, &v));
        bool t = jv_truthy(&v);
        jv_drop(&v);
        return new_json(st, json_boolean(!t), out);
    }
    case JN_AND:
    case JN_OR: {
        struct jv v;
        TRY(eval(st, f, n->a, &v));
        bool t = jv_truthy(&v);
        if ((n->kind == JN_AND) ? !t : t) {
            *out = v;
            return AIOS_OK;
        }
        jv_drop(&v);
        return eval(st, f, n->b, out);
    }
    case JN_COND: {
        struct jv c;
        TRY(eval(st, f, n->b, &c));
        bool t = jv_truthy(&c);
        jv_drop(&c);
        if (t)
            return eval(st, f, n->a, out);
        if (n->c)
            return eval(st, f, n->c, out);
        return AIOS_OK;
    }
    case JN_BINARY:
        return eval_binary(st, f, n, out);
    case JN_LIST: {
        json_t *arr = json_array();
        if (!arr)
            return jinja_fail(st, n->line, AIOS_ENOMEM, "out of memory");
        for (const struct jnode *e = n->args; e; e = e->next) {
            struct jv v;
            int rc = eval(st, f, e, &v);
            if (!rc && v.k != JV_JSON && v.k != JV_UNDEF)
                rc = jinja_fail(st, e->line, AIOS_EFORMAT, "cannot store a %s in a list",
                                jinja_type_name(&v));
            if (!rc)
                rc = jinja_count_created(st, sizeof(void *));
            if (rc) {
                jv_drop(&v);
                json_decref(arr);
                return rc;
            }
            json_array_append_new(arr, v.k == JV_JSON ? v.j : json_null());
        }
        if (n->i == 1)
            jinja_tuple_mark(st, arr);
        *out = jv_json(arr);
        return AIOS_OK;
    }
    case JN_DICT: {
        json_t *o = json_object();
        if (!o)
            return jinja_fail(st, n->line, AIOS_ENOMEM, "out of memory");
        const struct jnode *k = n->args, *v = n->kwargs;
        for (; k && v; k = k->next, v = v->next) {
            struct jv kv = {0}, vv = {0};
            int rc = eval(st, f, k, &kv);
            if (!rc)
                rc = eval(st, f, v, &vv);
            if (!rc && !jv_is(&kv, JSON_STRING))
                rc = jinja_fail(st, k->line, AIOS_EFORMAT, "dict keys must be strings");
            if (!rc && vv.k != JV_JSON)
                rc = jinja_fail(st, v->line, AIOS_EFORMAT, "cannot store a %s in a dict",
                                jinja_type_name(&vv));
            if (!rc)
                rc = jinja_count_created(st, 32 + json_string_length(kv.j));
            if (!rc)
                json_object_set(o, json_string_value(kv.j), vv.j);
            jv_drop(&kv);
            jv_drop(&vv);
            if (rc) {
                json_decref(o);
                return rc;
            }
        }
        *out = jv_json(o);
        return AIOS_OK;
    }
    default:
        return jinja_fail(st, n->line, AIOS_EINTERNAL, "statement used as an expression");
    }
}

/* The C recursion of eval and exec is bounded: chains such as a+b+c+...
 * or x|f|f|f... parse into trees as deep as they are long. */
static int enter(struct jstate *st, const struct jnode *n)
{
    if (++st->rdepth > JINJA_MAX_RECURSION) {
        st->rdepth--;
        return jinja_fail(st, n->line, AIOS_ELIMIT, "expressions or blocks nested too deeply");
    }
    return AIOS_OK;
}

static int eval(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    *out = jv_undef(NULL);
    TRY(enter(st, n));
    int rc = eval_node(st, f, n, out);
    st->rdepth--;
    return rc;
}

/* ---- statements --------------------------------------------------------- */

static bool is_namespace(struct jstate *st, const json_t *o)
{
    for (size_t i = 0; i < json_array_size(st->namespaces); i++)
        if (json_array_get(st->namespaces, i) == o)
            return true;
    return false;
}

/* Assigns v (owned) to a target: a name, or ns.attr on a namespace. */
static int assign(struct jstate *st, struct jframe *f, const struct jnode *t, struct jv v)
{
    if (t->kind == JN_NAME)
        return frame_set(st, f, t->s, v);
    struct jv ns = lookup(st, f, t->a->s);
    int rc = AIOS_OK;
    if (!jv_is(&ns, JSON_OBJECT) || !is_namespace(st, ns.j))
        rc = jinja_fail(st, t->line, AIOS_EFORMAT,
                        "cannot set attribute '%s' of '%s': not a namespace", t->s, t->a->s);
    else if (v.k != JV_JSON)
        rc = jinja_fail(st, t->line, AIOS_EFORMAT, "cannot store a %s in a namespace",
                        jinja_type_name(&v));
    else
        json_object_set(ns.j, t->s, v.j);
    jv_drop(&ns);
    jv_drop(&v);
    return rc;
}

/* Unpacks v into the target chain (a, b = v). Takes v. */
static int assign_targets(struct jstate *st, struct jframe *f, const struct jnode *targets,
                          struct jv v, int line)
{
    if (!targets->next)
        return assign(st, f, targets, v);
    size_t nt = 0;
    for (const struct jnode *t = targets; t; t = t->next)
        nt++;
    if (!jv_is(&v, JSON_ARRAY) || json_array_size(v.j) != nt) {
        jv_drop(&v);
        return jinja_fail(st, line, AIOS_EFORMAT, "cannot unpack into %zu names", nt);
    }
    size_t i = 0;
    int rc = AIOS_OK;
    for (const struct jnode *t = targets; t && !rc; t = t->next, i++)
        rc = assign(st, f, t, jv_json(json_incref(json_array_get(v.j, i))));
    jv_drop(&v);
    return rc;
}

/* The items a for loop walks: a new array. */
static int iter_items(struct jstate *st, int line, struct jv *v, json_t **out)
{
    *out = NULL;
    json_t *arr = json_array();
    if (!arr)
        return jinja_fail(st, line, AIOS_ENOMEM, "out of memory");
    int rc = AIOS_OK;
    if (v->k == JV_UNDEF) {
        /* iterating an undefined value yields nothing, as in Jinja */
    } else if (jv_is(v, JSON_ARRAY)) {
        rc = jinja_count_created(st, json_array_size(v->j) * sizeof(void *));
        if (!rc)
            json_array_extend(arr, v->j);
    } else if (jv_is(v, JSON_OBJECT)) {
        const char *k;
        json_t *x;
        json_object_foreach(v->j, k, x)
        {
            struct jv s;
            if ((rc = jv_str_new(st, k, strlen(k), &s)))
                break;
            json_array_append_new(arr, s.j);
        }
    } else if (jv_is(v, JSON_STRING)) {
        const char *s = json_string_value(v->j);
        size_t n = json_string_length(v->j);
        for (size_t i = 0; i < n && !rc;) {
            size_t j = i + 1;
            while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80)
                j++;
            struct jv c;
            if (!(rc = jv_str_new(st, s + i, j - i, &c)))
                json_array_append_new(arr, c.j);
            i = j;
        }
    } else {
        rc = jinja_fail(st, line, AIOS_EFORMAT, "%s is not iterable", jinja_type_name(v));
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return AIOS_OK;
}

static json_t *loop_object(size_t i, size_t n, json_t *items, int depth)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "index", json_integer((json_int_t)i + 1));
    json_object_set_new(o, "index0", json_integer((json_int_t)i));
    json_object_set_new(o, "revindex", json_integer((json_int_t)(n - i)));
    json_object_set_new(o, "revindex0", json_integer((json_int_t)(n - i - 1)));
    json_object_set_new(o, "first", json_boolean(i == 0));
    json_object_set_new(o, "last", json_boolean(i + 1 == n));
    json_object_set_new(o, "length", json_integer((json_int_t)n));
    json_object_set_new(o, "depth", json_integer(depth));
    json_object_set_new(o, "depth0", json_integer(depth - 1));
    if (i > 0)
        json_object_set(o, "previtem", json_array_get(items, i - 1));
    if (i + 1 < n)
        json_object_set(o, "nextitem", json_array_get(items, i + 1));
    return o;
}

/* Runs the loop n over the values of it (the iterable, or the argument of
 * loop(...) in a recursive loop) at the given depth. */
static int run_loop(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *it,
                    int depth, struct aios_buf *out)
{
    json_t *all = NULL, *items = NULL;
    int rc = iter_items(st, n->line, it, &all);
    if (rc)
        return rc;
    struct jframe lf = {.parent = f, .loop = n, .depth = depth};
    if (n->b) { /* for x in xs if cond: filter first, so loop.length counts what runs */
        items = json_array();
        if (!items)
            rc = jinja_fail(st, n->line, AIOS_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < json_array_size(all); i++) {
            json_t *x = json_array_get(all, i);
            rc = assign_targets(st, &lf, n->args, jv_json(json_incref(x)), n->line);
            struct jv c = {0};
            if (!rc)
                rc = eval(st, &lf, n->b, &c);
            if (!rc && jv_truthy(&c))
                json_array_append(items, x);
            jv_drop(&c);
        }
        json_decref(all);
    } else {
        items = all;
    }
    size_t cnt = rc ? 0 : json_array_size(items);
    for (size_t i = 0; !rc && i < cnt; i++) {
        if ((rc = step(st, n)))
            break;
        /* each iteration starts with a fresh scope, as in Jinja: a set in
         * one iteration is not seen by the next */
        frame_free(&lf);
        rc = assign_targets(st, &lf, n->args, jv_json(json_incref(json_array_get(items, i))),
                            n->line);
        json_t *lo = rc ? NULL : loop_object(i, cnt, items, depth);
        if (!rc && !lo)
            rc = jinja_fail(st, n->line, AIOS_ENOMEM, "out of memory");
        if (!rc)
            rc = jinja_count_created(st, 512);
        if (!rc)
            rc = frame_set(st, &lf, "loop", jv_json(lo));
        else
            json_decref(lo);
        if (!rc)
            rc = exec_body(st, &lf, n->body, out);
        if (rc == JX_CONTINUE)
            rc = AIOS_OK;
        if (rc == JX_BREAK) {
            rc = AIOS_OK;
            break;
        }
    }
    if (!rc && cnt == 0 && n->else_body)
        rc = exec_body(st, f, n->else_body, out);
    frame_free(&lf);
    json_decref(items);
    return rc;
}

static int exec_for(struct jstate *st, struct jframe *f, const struct jnode *n,
                    struct aios_buf *out)
{
    struct jv it;
    TRY(eval(st, f, n->a, &it));
    int rc = run_loop(st, f, n, &it, 1, out);
    jv_drop(&it);
    return rc;
}

/* loop(items) inside a recursive for loop: the loop's body over items, one
 * level deeper, as a string. */
static int call_loop(struct jstate *st, struct jframe *f, const struct jnode *n, struct jv *out)
{
    struct jframe *lf = f;
    while (lf && !lf->loop)
        lf = lf->parent;
    if (!lf || lf->loop->op != 1)
        return jinja_fail(st, n->line, AIOS_EFORMAT, "loop() outside a recursive for loop");
    if (!n->args || n->args->next || n->kwargs)
        return jinja_fail(st, n->line, AIOS_EFORMAT, "loop() takes one iterable");
    if (st->depth >= st->lim->max_depth)
        return jinja_fail(st, n->line, AIOS_ELIMIT, "recursive loop nested more than %d deep",
                          st->lim->max_depth);
    struct jv it;
    TRY(eval(st, f, n->args, &it));
    st->depth++;
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = run_loop(st, lf->parent, lf->loop, &it, lf->depth + 1, &b);
    jv_drop(&it);
    if (rc > 0)
        rc = jinja_fail(st, n->line, AIOS_EFORMAT, "break or continue outside a loop");
    if (!rc)
        rc = jv_str_new(st, b.data, b.len, out);
    aios_buf_free(&b);
    st->depth--;
    return rc;
}

static int exec_node(struct jstate *st, struct jframe *f, const struct jnode *n,
                     struct aios_buf *out)
{
    TRY(step(st, n));
    int rc;
    switch (n->kind) {
    case JN_TEXT:
        rc = aios_buf_append(out, n->s, n->len);
        if (rc)
            return jinja_fail(st, n->line, rc, "output longer than the limit of %zu bytes",
                              out->max);
        return AIOS_OK;
    case JN_OUTPUT: {
        struct jv v;
        TRY(eval(st, f, n->a, &v));
        rc = jv_to_str(st, &v, out);
        jv_drop(&v);
        return rc;
    }
    case JN_IF: {
        struct jv c;
        TRY(eval(st, f, n->a, &c));
        bool t = jv_truthy(&c);
        jv_drop(&c);
        if (t)
            return exec_body(st, f, n->body, out);
        /* walk an elif chain without recursing (it can be long) */
        while (n->else_body && n->else_body->kind == JN_IF && n->else_body->op == 1) {
            n = n->else_body;
            TRY(step(st, n));
            TRY(eval(st, f, n->a, &c));
            t = jv_truthy(&c);
            jv_drop(&c);
            if (t)
                return exec_body(st, f, n->body, out);
        }
        return exec_body(st, f, n->else_body, out);
    }
    case JN_FOR:
        return exec_for(st, f, n, out);
    case JN_SET: {
        struct jv v;
        TRY(eval(st, f, n->a, &v));
        return assign_targets(st, f, n->args, v, n->line);
    }
    case JN_SET_BLOCK:
    case JN_FILTER_BLOCK: {
        struct jv text;
        TRY(render_capture(st, f, n->body, n->line, &text));
        struct jv v = text;
        if (n->a) {
            struct jv saved = st->block_input;
            st->block_input = text;
            rc = eval(st, f, n->a, &v);
            st->block_input = saved;
            jv_drop(&text);
            if (rc)
                return rc;
        }
        if (n->kind == JN_SET_BLOCK)
            return assign(st, f, n->args, v);
        rc = jv_to_str(st, &v, out);
        jv_drop(&v);
        return rc;
    }
    case JN_MACRO: {
        struct jv m = {.k = JV_MACRO, .node = n, .frame = f, .name = n->s};
        return frame_set(st, f, n->s, m);
    }
    case JN_CALL_BLOCK: {
        struct jv caller = {.k = JV_CALLER, .node = n, .frame = f, .name = "caller"};
        struct jv v;
        TRY(eval_call(st, f, n->a, &caller, &v));
        rc = jv_to_str(st, &v, out);
        jv_drop(&v);
        return rc;
    }
    case JN_BREAK:
        return JX_BREAK;
    case JN_CONTINUE:
        return JX_CONTINUE;
    case JN_DO: {
        struct jv v;
        TRY(eval(st, f, n->a, &v));
        jv_drop(&v);
        return AIOS_OK;
    }
    case JN_SCOPE:
        return exec_body(st, f, n->body, out);
    default:
        return jinja_fail(st, n->line, AIOS_EINTERNAL, "expression used as a statement");
    }
}

static int exec_body(struct jstate *st, struct jframe *f, const struct jnode *body,
                     struct aios_buf *out)
{
    for (const struct jnode *n = body; n; n = n->next) {
        TRY(enter(st, n));
        int rc = exec_node(st, f, n, out);
        st->rdepth--;
        if (rc)
            return rc;
    }
    return AIOS_OK;
}

/* ---- public API --------------------------------------------------------- */

int aios_jinja_parse(const char *src, size_t len, aios_jinja_template **out, struct aios_err *err)
{
    *out = NULL;
    aios_jinja_template *t = aios_calloc(1, sizeof *t);
    if (!t)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    t->arena = aios_arena_create(64 << 10, (size_t)64 << 20);
    if (!t->arena) {
        aios_free(t);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    struct jtok *toks = NULL;
    size_t ntoks = 0;
    int rc = jinja_lex(t->arena, src, len, &toks, &ntoks, err);
    if (!rc)
        rc = jinja_parse_tokens(t->arena, toks, ntoks, &t->body, err);
    aios_free(toks);
    if (rc) {
        aios_jinja_free(t);
        return rc;
    }
    *out = t;
    return AIOS_OK;
}

void aios_jinja_free(aios_jinja_template *t)
{
    if (!t)
        return;
    aios_arena_destroy(t->arena);
    aios_free(t);
}

int aios_jinja_render(const aios_jinja_template *t, const json_t *ctx, int64_t now,
                      const struct aios_jinja_limits *lim, char **out, size_t *out_len,
                      struct aios_err *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    struct aios_jinja_limits dl;
    if (!lim) {
        aios_jinja_limits_default(&dl);
        lim = &dl;
    }
    if (ctx && !json_is_object(ctx))
        return aios_err_set(err, AIOS_EINVAL, "template context must be a JSON object");
    struct jstate st = {.lim = lim, .now = now, .err = err};
    st.ctx = ctx ? json_deep_copy(ctx) : json_object();
    st.namespaces = json_array();
    struct aios_buf b;
    aios_buf_init(&b, lim->max_output);
    struct jframe top = {0};
    int rc;
    if (!st.ctx || !st.namespaces)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    else
        rc = exec_body(&st, &top, t->body, &b);
    if (rc > 0)
        rc = aios_err_set(err, AIOS_EFORMAT, "template line %d: break or continue outside a loop",
                          st.line);
    frame_free(&top);
    /* namespaces may refer to each other; break the links before freeing */
    for (size_t i = 0; i < json_array_size(st.namespaces); i++)
        json_object_clear(json_array_get(st.namespaces, i));
    json_decref(st.namespaces);
    jinja_tuples_free(&st);
    json_decref(st.ctx);
    if (rc) {
        aios_buf_free(&b);
        return rc;
    }
    if (!b.data && aios_buf_puts(&b, "") != AIOS_OK) {
        aios_buf_free(&b);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    if (out_len)
        *out_len = b.len;
    *out = aios_buf_detach(&b);
    return AIOS_OK;
}
