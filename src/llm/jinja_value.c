/*
 * Jinja values (see jinja.h): struct jv over jansson, truthiness, Python's
 * str()/repr() of values, equality and ordering, the JSON dump used by the
 * tojson filter, and UTF-8 helpers. Strings are indexed by code point, as
 * Python does, so slices and lengths of non-ASCII text agree with the
 * reference renderers.
 */
#include "llm/jinja.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE_DEPTH 128

int jinja_fail(struct jstate *st, int line, int code, const char *fmt, ...)
{
    char msg[AIOS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return aios_err_set(st->err, code, "template line %d: %s", line ? line : st->line, msg);
}

void jv_drop(struct jv *v)
{
    if (v->k == JV_JSON)
        json_decref(v->j);
    *v = (struct jv){0};
}

struct jv jv_json(json_t *j)
{
    struct jv v = {0};
    if (j) {
        v.k = JV_JSON;
        v.j = j;
    }
    return v;
}

struct jv jv_undef(const char *name)
{
    struct jv v = {0};
    v.k = JV_UNDEF;
    v.name = name;
    return v;
}

bool jv_truthy(const struct jv *v)
{
    if (v->k == JV_UNDEF)
        return false;
    if (v->k != JV_JSON)
        return true;
    const json_t *j = v->j;
    switch (json_typeof(j)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_TRUE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(j) != 0;
    case JSON_REAL:
        return json_real_value(j) != 0.0;
    case JSON_STRING:
        return json_string_length(j) > 0;
    case JSON_ARRAY:
        return json_array_size(j) > 0;
    case JSON_OBJECT:
        return json_object_size(j) > 0;
    }
    return false;
}

int jinja_count_created(struct jstate *st, size_t bytes)
{
    st->created += bytes;
    if (st->created > st->lim->max_created)
        return jinja_fail(st, 0, AIOS_ELIMIT,
                          "the template created more than %zu bytes of values (limit)",
                          st->lim->max_created);
    return AIOS_OK;
}

int jinja_charge(struct jstate *st, uint64_t units)
{
    st->steps += units;
    if (st->steps > st->lim->max_steps)
        return jinja_fail(st, 0, AIOS_ELIMIT, "the template ran more than %llu steps (limit)",
                          (unsigned long long)st->lim->max_steps);
    return AIOS_OK;
}

int jv_str_new(struct jstate *st, const char *s, size_t len, struct jv *out)
{
    *out = jv_undef(NULL);
    if (len > st->lim->max_output)
        return jinja_fail(st, 0, AIOS_ELIMIT, "string of %zu bytes exceeds the limit of %zu", len,
                          st->lim->max_output);
    int rc = jinja_count_created(st, len + 16);
    if (rc)
        return rc;
    json_t *j = json_stringn_nocheck(s ? s : "", len);
    if (!j)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    *out = jv_json(j);
    return AIOS_OK;
}

const char *jinja_type_name(const struct jv *v)
{
    switch (v->k) {
    case JV_UNDEF:
        return "undefined";
    case JV_MACRO:
    case JV_CALLER:
        return "macro";
    case JV_FUNC:
        return "function";
    case JV_JSON:
        break;
    }
    switch (json_typeof(v->j)) {
    case JSON_NULL:
        return "NoneType";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_STRING:
        return "str";
    case JSON_ARRAY:
        return "list";
    case JSON_OBJECT:
        return "dict";
    }
    return "?";
}

/* ---- numbers ------------------------------------------------------------ */

void jinja_fmt_float(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d < 0 ? "-inf" : "inf");
        return;
    }
    char e[40];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e = [-]D[.DDD]e(+|-)XX: collect the digits and the exponent */
    char digits[24];
    int nd = 0, exp10 = 0;
    bool neg = false;
    const char *c = e;
    if (*c == '-') {
        neg = true;
        c++;
    }
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9' && nd < 23)
            digits[nd++] = *c;
    if (*c == 'e')
        exp10 = (int)strtol(c + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    struct aios_buf b;
    aios_buf_init(&b, 64);
    if (neg)
        aios_buf_putc(&b, '-');
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                aios_buf_putc(&b, i < nd ? digits[i] : '0');
            aios_buf_putc(&b, '.');
            if (nd > exp10 + 1)
                aios_buf_append(&b, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
            else
                aios_buf_putc(&b, '0');
        } else {
            aios_buf_puts(&b, "0.");
            for (int i = 0; i < -exp10 - 1; i++)
                aios_buf_putc(&b, '0');
            aios_buf_append(&b, digits, (size_t)nd);
        }
    } else {
        aios_buf_putc(&b, digits[0]);
        if (nd > 1) {
            aios_buf_putc(&b, '.');
            aios_buf_append(&b, digits + 1, (size_t)(nd - 1));
        }
        aios_buf_printf(&b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    aios_strlcpy(buf, b.data ? b.data : "0.0", size);
    aios_buf_free(&b);
}

/* ---- tuples -------------------------------------------------------------- */

static size_t ptr_hash(const json_t *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

void jinja_tuple_mark(struct jstate *st, json_t *t)
{
    if (!t || st->ntuples >= st->lim->max_list)
        return;
    if ((st->ntuples + 1) * 2 > st->tuples_cap) {
        size_t nc = st->tuples_cap ? st->tuples_cap * 2 : 64;
        json_t **ns = aios_calloc(nc, sizeof *ns);
        if (!ns)
            return;
        for (size_t i = 0; i < st->tuples_cap; i++) {
            json_t *q = st->tuples[i];
            if (!q)
                continue;
            size_t h = ptr_hash(q, nc);
            while (ns[h])
                h = (h + 1) & (nc - 1);
            ns[h] = q;
        }
        aios_free(st->tuples);
        st->tuples = ns;
        st->tuples_cap = nc;
    }
    size_t h = ptr_hash(t, st->tuples_cap);
    while (st->tuples[h]) {
        if (st->tuples[h] == t)
            return;
        h = (h + 1) & (st->tuples_cap - 1);
    }
    st->tuples[h] = json_incref(t);
    st->ntuples++;
}

bool jinja_is_tuple(const struct jstate *st, const json_t *t)
{
    if (!st || !st->tuples_cap)
        return false;
    size_t h = ptr_hash(t, st->tuples_cap);
    while (st->tuples[h]) {
        if (st->tuples[h] == t)
            return true;
        h = (h + 1) & (st->tuples_cap - 1);
    }
    return false;
}

void jinja_tuples_free(struct jstate *st)
{
    for (size_t i = 0; i < st->tuples_cap; i++)
        json_decref(st->tuples[i]);
    aios_free(st->tuples);
    st->tuples = NULL;
    st->tuples_cap = st->ntuples = 0;
}

/* ---- str() and repr() --------------------------------------------------- */

static int repr_str(struct aios_buf *b, const char *s, size_t n)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    int rc = aios_buf_putc(b, q);
    for (size_t i = 0; i < n && rc == AIOS_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q)
            rc = aios_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            rc = aios_buf_puts(b, "\\n");
        else if (c == '\r')
            rc = aios_buf_puts(b, "\\r");
        else if (c == '\t')
            rc = aios_buf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            rc = aios_buf_printf(b, "\\x%02x", c);
        else
            rc = aios_buf_putc(b, (char)c);
    }
    return rc ? rc : aios_buf_putc(b, q);
}

static int repr_json(const struct jstate *st, const json_t *j, struct aios_buf *b, int depth)
{
    if (depth > MAX_VALUE_DEPTH)
        return AIOS_ELIMIT;
    char num[64];
    int rc = AIOS_OK;
    switch (json_typeof(j)) {
    case JSON_NULL:
        return aios_buf_puts(b, "None");
    case JSON_TRUE:
        return aios_buf_puts(b, "True");
    case JSON_FALSE:
        return aios_buf_puts(b, "False");
    case JSON_INTEGER:
        return aios_buf_printf(b, "%lld", (long long)json_integer_value(j));
    case JSON_REAL:
        jinja_fmt_float(json_real_value(j), num, sizeof num);
        return aios_buf_puts(b, num);
    case JSON_STRING:
        return repr_str(b, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        bool tuple = jinja_is_tuple(st, j);
        size_t n = json_array_size(j);
        rc = aios_buf_putc(b, tuple ? '(' : '[');
        for (size_t i = 0; i < n && rc == AIOS_OK; i++) {
            if (i)
                rc = aios_buf_puts(b, ", ");
            if (rc == AIOS_OK)
                rc = repr_json(st, json_array_get(j, i), b, depth + 1);
        }
        if (rc == AIOS_OK && tuple && n == 1)
            rc = aios_buf_putc(b, ','); /* (x,) */
        return rc ? rc : aios_buf_putc(b, tuple ? ')' : ']');
    }
    case JSON_OBJECT: {
        rc = aios_buf_putc(b, '{');
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach((json_t *)j, k, v)
        {
            if (rc)
                break;
            if (!first)
                rc = aios_buf_puts(b, ", ");
            first = false;
            if (rc == AIOS_OK)
                rc = repr_str(b, k, strlen(k));
            if (rc == AIOS_OK)
                rc = aios_buf_puts(b, ": ");
            if (rc == AIOS_OK)
                rc = repr_json(st, v, b, depth + 1);
        }
        return rc ? rc : aios_buf_putc(b, '}');
    }
    }
    return AIOS_OK;
}

int jv_to_str(struct jstate *st, const struct jv *v, struct aios_buf *b)
{
    int rc;
    switch (v->k) {
    case JV_UNDEF:
        return AIOS_OK;
    case JV_MACRO:
    case JV_CALLER:
        rc = aios_buf_puts(b, "<macro>");
        break;
    case JV_FUNC:
        rc = aios_buf_puts(b, "<function>");
        break;
    default:
        if (json_is_string(v->j))
            rc = aios_buf_append(b, json_string_value(v->j), json_string_length(v->j));
        else
            rc = repr_json(st, v->j, b, 0);
        break;
    }
    if (rc == AIOS_ELIMIT)
        return jinja_fail(st, 0, AIOS_ELIMIT, "text longer than the limit of %zu bytes",
                          b->max ? b->max : AIOS_BUF_DEFAULT_MAX);
    if (rc)
        return jinja_fail(st, 0, rc, "out of memory");
    return AIOS_OK;
}

int jv_str_value(struct jstate *st, const struct jv *v, struct jv *out)
{
    if (v->k == JV_JSON && json_is_string(v->j)) {
        *out = jv_json(json_incref(v->j));
        return AIOS_OK;
    }
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = jv_to_str(st, v, &b);
    if (rc == AIOS_OK)
        rc = jv_str_new(st, b.data, b.len, out);
    aios_buf_free(&b);
    return rc;
}

/* ---- comparison --------------------------------------------------------- */

static bool is_num(const json_t *j)
{
    return json_is_integer(j) || json_is_real(j) || json_is_boolean(j);
}

static double num_of(const json_t *j)
{
    if (json_is_integer(j))
        return (double)json_integer_value(j);
    if (json_is_real(j))
        return json_real_value(j);
    return json_is_true(j) ? 1.0 : 0.0;
}

static bool int_like(const json_t *j, int64_t *v)
{
    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return true;
    }
    if (json_is_boolean(j)) {
        *v = json_is_true(j);
        return true;
    }
    return false;
}

bool jinja_json_eq(const json_t *a, const json_t *b, int depth)
{
    if (a == b)
        return true;
    if (depth > MAX_VALUE_DEPTH)
        return false;
    if (is_num(a) && is_num(b)) {
        int64_t x, y;
        if (int_like(a, &x) && int_like(b, &y))
            return x == y;
        return num_of(a) == num_of(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_NULL:
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jinja_json_eq(json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !jinja_json_eq(v, w, depth + 1))
                return false;
        }
        return true;
    }
    default:
        return false;
    }
}

int jinja_json_cmp(const json_t *a, const json_t *b, bool *ok)
{
    *ok = true;
    if (is_num(a) && is_num(b)) {
        int64_t x, y;
        if (int_like(a, &x) && int_like(b, &y))
            return x < y ? -1 : x > y;
        double p = num_of(a), q = num_of(b);
        return p < q ? -1 : p > q;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        if (c)
            return c < 0 ? -1 : 1;
        return la < lb ? -1 : la > lb;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < na && i < nb; i++) {
            int c = jinja_json_cmp(json_array_get(a, i), json_array_get(b, i), ok);
            if (!*ok || c)
                return c;
        }
        return na < nb ? -1 : na > nb;
    }
    *ok = false;
    return 0;
}

/* ---- tojson ------------------------------------------------------------- */

static int json_str(struct aios_buf *b, const char *s, size_t n, bool ensure_ascii)
{
    int rc = aios_buf_putc(b, '"');
    for (size_t i = 0; i < n && rc == AIOS_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            rc = aios_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = aios_buf_puts(b, "\\\\");
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
        case '\b':
            rc = aios_buf_puts(b, "\\b");
            break;
        case '\f':
            rc = aios_buf_puts(b, "\\f");
            break;
        default:
            if (c < 0x20) {
                rc = aios_buf_printf(b, "\\u%04x", c);
            } else if (c >= 0x80 && ensure_ascii) {
                /* decode one UTF-8 sequence; invalid bytes pass as U+FFFD */
                uint32_t cp = 0xFFFD;
                int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
                if (extra && i + (size_t)extra < n) {
                    cp = c & (0x3F >> extra);
                    for (int k = 1; k <= extra; k++)
                        cp = (cp << 6) | ((unsigned char)s[i + (size_t)k] & 0x3F);
                    i += (size_t)extra;
                }
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    rc = aios_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10),
                                         0xDC00 + (cp & 0x3FF));
                } else {
                    rc = aios_buf_printf(b, "\\u%04x", cp);
                }
            } else {
                rc = aios_buf_putc(b, (char)c);
            }
        }
    }
    return rc ? rc : aios_buf_putc(b, '"');
}

struct dump {
    int indent;
    const char *item_sep, *key_sep;
    bool ensure_ascii, sort_keys;
    struct aios_buf *b;
};

static int newline(struct dump *d, int level)
{
    if (d->indent < 0)
        return AIOS_OK;
    int rc = aios_buf_putc(d->b, '\n');
    for (int i = 0; i < d->indent * level && rc == AIOS_OK; i++)
        rc = aios_buf_putc(d->b, ' ');
    return rc;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dump_json(struct dump *d, const json_t *j, int level)
{
    if (level > MAX_VALUE_DEPTH)
        return AIOS_ERANGE;
    char num[64];
    int rc = AIOS_OK;
    switch (json_typeof(j)) {
    case JSON_NULL:
        return aios_buf_puts(d->b, "null");
    case JSON_TRUE:
        return aios_buf_puts(d->b, "true");
    case JSON_FALSE:
        return aios_buf_puts(d->b, "false");
    case JSON_INTEGER:
        return aios_buf_printf(d->b, "%lld", (long long)json_integer_value(j));
    case JSON_REAL: {
        double v = json_real_value(j);
        if (isnan(v))
            return aios_buf_puts(d->b, "NaN");
        if (isinf(v))
            return aios_buf_puts(d->b, v < 0 ? "-Infinity" : "Infinity");
        jinja_fmt_float(v, num, sizeof num);
        return aios_buf_puts(d->b, num);
    }
    case JSON_STRING:
        return json_str(d->b, json_string_value(j), json_string_length(j), d->ensure_ascii);
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        rc = aios_buf_putc(d->b, '[');
        for (size_t i = 0; i < n && rc == AIOS_OK; i++) {
            if (i)
                rc = aios_buf_puts(d->b, d->item_sep);
            if (rc == AIOS_OK)
                rc = newline(d, level + 1);
            if (rc == AIOS_OK)
                rc = dump_json(d, json_array_get(j, i), level + 1);
        }
        if (n && rc == AIOS_OK)
            rc = newline(d, level);
        return rc ? rc : aios_buf_putc(d->b, ']');
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        const char **keys = n ? aios_malloc(n * sizeof *keys) : NULL;
        if (n && !keys)
            return AIOS_ENOMEM;
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v) keys[k++] = key;
        if (d->sort_keys && n > 1)
            qsort(keys, n, sizeof *keys, cmp_keys);
        rc = aios_buf_putc(d->b, '{');
        for (size_t i = 0; i < n && rc == AIOS_OK; i++) {
            if (i)
                rc = aios_buf_puts(d->b, d->item_sep);
            if (rc == AIOS_OK)
                rc = newline(d, level + 1);
            if (rc == AIOS_OK)
                rc = json_str(d->b, keys[i], strlen(keys[i]), d->ensure_ascii);
            if (rc == AIOS_OK)
                rc = aios_buf_puts(d->b, d->key_sep);
            if (rc == AIOS_OK)
                rc = dump_json(d, json_object_get(j, keys[i]), level + 1);
        }
        aios_free(keys);
        if (n && rc == AIOS_OK)
            rc = newline(d, level);
        return rc ? rc : aios_buf_putc(d->b, '}');
    }
    }
    return AIOS_OK;
}

int jinja_tojson(struct jstate *st, const json_t *v, int indent, const char *item_sep,
                 const char *key_sep, bool ensure_ascii, bool sort_keys, struct aios_buf *b)
{
    struct dump d = {
        .indent = indent,
        .item_sep = item_sep ? item_sep : (indent < 0 ? ", " : ","),
        .key_sep = key_sep ? key_sep : ": ",
        .ensure_ascii = ensure_ascii,
        .sort_keys = sort_keys,
        .b = b,
    };
    int rc = dump_json(&d, v, 0);
    if (rc == AIOS_ELIMIT)
        return jinja_fail(st, 0, rc, "tojson output longer than the limit of %zu bytes", b->max);
    if (rc == AIOS_ERANGE)
        return jinja_fail(st, 0, AIOS_ELIMIT, "tojson value nested more than %d deep",
                          MAX_VALUE_DEPTH);
    if (rc)
        return jinja_fail(st, 0, rc, "out of memory");
    return AIOS_OK;
}

/* ---- attribute paths and UTF-8 ------------------------------------------ */

struct jv jinja_getattr_path(const json_t *obj, const char *path)
{
    const json_t *cur = obj;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[256];
        if (n >= sizeof key)
            return jv_undef(path);
        memcpy(key, p, n);
        key[n] = 0;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, key);
        } else if (json_is_array(cur)) {
            int64_t idx;
            if (aios_parse_i64(key, &idx) || idx < 0 || (size_t)idx >= json_array_size(cur))
                return jv_undef(path);
            cur = json_array_get(cur, (size_t)idx);
        } else {
            return jv_undef(path);
        }
        p = dot ? dot + 1 : p + n;
    }
    if (!cur)
        return jv_undef(path);
    return jv_json(json_incref((json_t *)cur));
}

size_t jinja_utf8_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

size_t jinja_utf8_offset(const char *s, size_t n, size_t cp)
{
    size_t i = 0, c = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (c == cp)
                return i;
            c++;
        }
        i++;
    }
    return n;
}
