/*
 * Jinja builtins: the filters (`x | trim`), tests (`x is defined`) and the
 * Python methods templates call on values (`s.strip()`, `d.items()`,
 * `l.append(x)`). Semantics follow Jinja and Python (text is indexed and
 * case-mapped by code point, via utf8proc); where chat-template renderers
 * differ from Jinja, they are followed and the place says so (tojson).
 *
 * Every function takes owned argument values it only borrows, and writes an
 * owned result. A name that does not exist returns AIOS_ENOTFOUND without an
 * error message so the caller can name it.
 */
#include "llm/jinja.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static bool arg_true(const struct jargs *a, int i, const char *kw)
{
    const struct jv *v = jargs_get(a, i, kw);
    return v && jv_truthy(v);
}

int jinja_ret_json(struct jstate *st, json_t *j, struct jv *out)
{
    if (!j)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    *out = jv_json(j);
    return AIOS_OK;
}

int jinja_ret_bool(struct jstate *st, bool b, struct jv *out)
{
    return jinja_ret_json(st, json_boolean(b), out);
}

int jinja_type_err(struct jstate *st, const char *what, const struct jv *v)
{
    return jinja_fail(st, 0, AIOS_EFORMAT, "%s: unsupported value of type %s", what,
                      jinja_type_name(v));
}

int jinja_ret_buf(struct jstate *st, struct aios_buf *b, int rc, struct jv *out)
{
    if (rc == AIOS_OK)
        rc = jv_str_new(st, b->data, b->len, out);
    else if (rc == AIOS_ELIMIT)
        rc = jinja_fail(st, 0, rc, "string longer than the limit of %zu bytes", b->max);
    else if (rc == AIOS_ENOMEM)
        rc = jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    else if (st->err && st->err->code != rc)
        rc = jinja_fail(st, 0, AIOS_EFORMAT, "cannot format the value");
    aios_buf_free(b);
    return rc;
}

/* A new list element: counts toward the creation limit. */
int jinja_list_push(struct jstate *st, json_t *arr, json_t *item_new)
{
    if (json_array_size(arr) >= st->lim->max_list) {
        json_decref(item_new);
        return jinja_fail(st, 0, AIOS_ELIMIT, "list longer than the limit of %zu",
                          st->lim->max_list);
    }
    int rc = jinja_count_created(st, sizeof(void *));
    if (rc) {
        json_decref(item_new);
        return rc;
    }
    if (json_array_append_new(arr, item_new))
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    return AIOS_OK;
}

/* ---- text --------------------------------------------------------------- */

bool jinja_py_space(int32_t c)
{
    return (c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Decodes the code point at s[i]; invalid bytes read as themselves. */
size_t jinja_next_cp(const char *s, size_t n, size_t i, int32_t *cp)
{
    utf8proc_ssize_t k =
        utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), cp);
    if (k <= 0) {
        *cp = (unsigned char)s[i];
        return 1;
    }
    return (size_t)k;
}

static size_t prev_cp(const char *s, size_t i)
{
    size_t j = i - 1;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80 && i - j < 4)
        j--;
    return j;
}

static bool in_chars(int32_t c, const char *chars, size_t nc)
{
    for (size_t i = 0; i < nc;) {
        int32_t d;
        i += jinja_next_cp(chars, nc, i, &d);
        if (c == d)
            return true;
    }
    return false;
}

/* strip: which 1 = left, 2 = right, 3 = both; chars NULL = whitespace. */
int jinja_strip(struct jstate *st, const struct jv *in, const struct jv *chars, int which,
                struct jv *out)
{
    if (!jv_is_str(in))
        return jinja_type_err(st, "strip", in);
    const char *s = json_string_value(in->j), *cs = NULL;
    size_t n = json_string_length(in->j), nc = 0;
    if (chars && chars->k == JV_JSON && !json_is_null(chars->j)) {
        if (!jv_is_str(chars))
            return jinja_type_err(st, "strip characters", chars);
        cs = json_string_value(chars->j);
        nc = json_string_length(chars->j);
    }
    size_t a = 0, b = n;
    if (which & 1)
        while (a < b) {
            int32_t c;
            size_t k = jinja_next_cp(s, b, a, &c);
            if (cs ? !in_chars(c, cs, nc) : !jinja_py_space(c))
                break;
            a += k;
        }
    if (which & 2)
        while (b > a) {
            size_t p = prev_cp(s, b);
            if (p < a)
                p = a;
            int32_t c;
            jinja_next_cp(s, b, p, &c);
            if (cs ? !in_chars(c, cs, nc) : !jinja_py_space(c))
                break;
            b = p;
        }
    return jv_str_new(st, s + a, b - a, out);
}

int jinja_case(struct jstate *st, const struct jv *in, enum jinja_casemode m, struct jv *out)
{
    if (!jv_is_str(in))
        return jinja_type_err(st, "case conversion", in);
    const char *s = json_string_value(in->j);
    size_t n = json_string_length(in->j);
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = AIOS_OK;
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < n && !rc;) {
        int32_t c;
        i += jinja_next_cp(s, n, i, &c);
        int32_t r = c;
        switch (m) {
        case JCASE_UPPER:
            r = utf8proc_toupper(c);
            break;
        case JCASE_LOWER:
            r = utf8proc_tolower(c);
            break;
        case JCASE_CAPITALIZE:
            r = first ? utf8proc_toupper(c) : utf8proc_tolower(c);
            break;
        case JCASE_TITLE: {
            r = prev_cased ? utf8proc_tolower(c) : utf8proc_totitle(c);
            utf8proc_category_t cat = utf8proc_category(c);
            prev_cased = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
                         cat == UTF8PROC_CATEGORY_LT;
            break;
        }
        }
        first = false;
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t k = utf8proc_encode_char(r, enc);
        rc = aios_buf_append(&b, enc, (size_t)(k > 0 ? k : 0));
    }
    return jinja_ret_buf(st, &b, rc, out);
}

/* Python str.replace. */
int jinja_replace(struct jstate *st, const struct jv *in, const struct jv *old,
                  const struct jv *new_, const struct jv *count, struct jv *out)
{
    if (!jv_is_str(in) || !jv_is_str(old) || !jv_is_str(new_))
        return jinja_fail(st, 0, AIOS_EFORMAT, "replace() needs strings");
    const char *s = json_string_value(in->j), *o = json_string_value(old->j),
               *w = json_string_value(new_->j);
    size_t n = json_string_length(in->j), on = json_string_length(old->j),
           wn = json_string_length(new_->j);
    int64_t max = count && jv_is_int(count) ? jv_int(count) : -1;
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = AIOS_OK;
    int64_t done = 0;
    if (on == 0) {
        for (size_t i = 0; i <= n && !rc;) {
            if (max < 0 || done < max) {
                rc = aios_buf_append(&b, w, wn);
                done++;
            }
            if (i == n)
                break;
            int32_t c;
            size_t k = jinja_next_cp(s, n, i, &c);
            if (!rc)
                rc = aios_buf_append(&b, s + i, k);
            i += k;
        }
        return jinja_ret_buf(st, &b, rc, out);
    }
    size_t i = 0;
    while (i < n && !rc) {
        const char *hit = (max < 0 || done < max) ? memmem(s + i, n - i, o, on) : NULL;
        if (!hit) {
            rc = aios_buf_append(&b, s + i, n - i);
            break;
        }
        rc = aios_buf_append(&b, s + i, (size_t)(hit - (s + i)));
        if (!rc)
            rc = aios_buf_append(&b, w, wn);
        i = (size_t)(hit - s) + on;
        done++;
    }
    return jinja_ret_buf(st, &b, rc, out);
}

/* Python str.split / rsplit; sep NULL = runs of whitespace. */
int jinja_split(struct jstate *st, const struct jv *in, const struct jv *sep,
                const struct jv *maxsplit, bool from_right, struct jv *out)
{
    if (!jv_is_str(in))
        return jinja_type_err(st, "split", in);
    const char *s = json_string_value(in->j);
    size_t n = json_string_length(in->j);
    int64_t max = maxsplit && jv_is_int(maxsplit) ? jv_int(maxsplit) : -1;
    json_t *arr = json_array();
    if (!arr)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    int rc = AIOS_OK;
    struct jv piece;
    if (sep && sep->k == JV_JSON && !json_is_null(sep->j)) {
        if (!jv_is_str(sep) || json_string_length(sep->j) == 0) {
            json_decref(arr);
            return jinja_fail(st, 0, AIOS_EFORMAT, "split(): empty or non-string separator");
        }
        const char *d = json_string_value(sep->j);
        size_t dn = json_string_length(sep->j);
        if (!from_right) {
            size_t i = 0;
            int64_t cnt = 0;
            for (;;) {
                const char *hit = (max < 0 || cnt < max) ? memmem(s + i, n - i, d, dn) : NULL;
                size_t end = hit ? (size_t)(hit - s) : n;
                if ((rc = jv_str_new(st, s + i, end - i, &piece)) ||
                    (rc = jinja_list_push(st, arr, piece.j)))
                    break;
                if (!hit)
                    break;
                i = end + dn;
                cnt++;
            }
        } else {
            /* collect from the right, then reverse */
            size_t end = n;
            int64_t cnt = 0;
            for (;;) {
                const char *hit = NULL;
                if (max < 0 || cnt < max)
                    for (size_t k = end; k >= dn; k--)
                        if (memcmp(s + k - dn, d, dn) == 0) {
                            hit = s + k - dn;
                            break;
                        }
                size_t start = hit ? (size_t)(hit - s) + dn : 0;
                if ((rc = jv_str_new(st, s + start, end - start, &piece)) ||
                    (rc = json_array_insert_new(arr, 0, piece.j)))
                    break;
                if ((rc = jinja_count_created(st, sizeof(void *))))
                    break;
                if (!hit)
                    break;
                end = (size_t)(hit - s);
                cnt++;
            }
        }
    } else {
        size_t i = 0;
        int64_t cnt = 0;
        while (i < n && !rc) {
            int32_t c;
            size_t k;
            while (i < n && (k = jinja_next_cp(s, n, i, &c), jinja_py_space(c)))
                i += k;
            if (i >= n)
                break;
            size_t start = i;
            if (max >= 0 && cnt >= max) {
                size_t e = n;
                while (e > start) {
                    size_t p = prev_cp(s, e);
                    jinja_next_cp(s, e, p, &c);
                    if (!jinja_py_space(c))
                        break;
                    e = p;
                }
                if (!(rc = jv_str_new(st, s + start, e - start, &piece)))
                    rc = jinja_list_push(st, arr, piece.j);
                break;
            }
            while (i < n && (k = jinja_next_cp(s, n, i, &c), !jinja_py_space(c)))
                i += k;
            if (!(rc = jv_str_new(st, s + start, i - start, &piece)))
                rc = jinja_list_push(st, arr, piece.j);
            cnt++;
        }
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = jv_json(arr);
    return AIOS_OK;
}

/* A float as an int64, truncated, saturating (no undefined conversion). */
static int64_t clamp_i64(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9.2233720368547758e18)
        return INT64_MAX;
    if (d <= -9.2233720368547758e18)
        return INT64_MIN;
    return (int64_t)d;
}

/* Python's printf-style `fmt % args`: %s %r %d %i %f %x %% with flags,
 * width and precision. */
int jinja_printf(struct jstate *st, const struct jv *fmt, const struct jv *args, struct jv *out)
{
    if (!jv_is_str(fmt))
        return jinja_type_err(st, "format", fmt);
    const char *f = json_string_value(fmt->j);
    size_t n = json_string_length(fmt->j), ai = 0;
    size_t nconv = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i] == '%') {
            if (i + 1 < n && f[i + 1] == '%')
                i++;
            else
                nconv++;
        }
    /* a list is several values, except where the format takes one value
     * (Python: a tuple is several values, a list is one) */
    bool many = jv_is(args, JSON_ARRAY) && !(nconv == 1 && json_array_size(args->j) != 1);
    size_t nargs = many ? json_array_size(args->j) : 1;
    /* Python skips the check for values with items (lists, dicts) */
    if (nconv < nargs && !(nconv == 0 && (jv_is(args, JSON_ARRAY) || jv_is(args, JSON_OBJECT))))
        return jinja_fail(st, 0, AIOS_EFORMAT,
                          "format: not all arguments converted during string formatting");
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = AIOS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        if (f[i] != '%') {
            rc = aios_buf_putc(&b, f[i]);
            continue;
        }
        char spec[32];
        size_t k = 0;
        spec[k++] = '%';
        i++;
        while (i < n && strchr("-+ 0#", f[i]) && k < 8)
            spec[k++] = f[i++];
        while (i < n && f[i] >= '0' && f[i] <= '9' && k < 12) /* width < 10000 */
            spec[k++] = f[i++];
        if (i < n && f[i] == '.') {
            spec[k++] = f[i++];
            while (i < n && f[i] >= '0' && f[i] <= '9' && k < 18)
                spec[k++] = f[i++];
        }
        if (i >= n) {
            aios_buf_free(&b);
            return jinja_fail(st, 0, AIOS_EFORMAT, "format: incomplete format");
        }
        char conv = f[i];
        if (conv == '%') {
            rc = aios_buf_putc(&b, '%');
            continue;
        }
        if (ai >= nargs) {
            aios_buf_free(&b);
            return jinja_fail(st, 0, AIOS_EFORMAT, "format: not enough arguments");
        }
        struct jv a = many ? (struct jv){.k = JV_JSON, .j = json_array_get(args->j, ai)} : *args;
        ai++;
        if (conv == 's' || conv == 'r') {
            struct aios_buf t;
            aios_buf_init(&t, st->lim->max_output);
            if (conv == 'r' && jv_is_str(&a)) {
                struct jv l = {.k = JV_JSON, .j = json_array()};
                if (l.j) {
                    json_array_append(l.j, a.j);
                    rc = jv_to_str(st, &l, &t); /* "['x']": cut the brackets */
                    jv_drop(&l);
                    if (!rc && t.len >= 2) {
                        memmove(t.data, t.data + 1, t.len - 2);
                        t.len -= 2;
                        t.data[t.len] = 0;
                    }
                }
            } else {
                rc = jv_to_str(st, &a, &t);
            }
            spec[k++] = 's';
            spec[k] = 0;
            if (!rc)
                rc = aios_buf_printf(&b, spec, t.data ? t.data : "");
            aios_buf_free(&t);
        } else if (strchr("dixXfFeEgG", conv) && jv_is_num(&a)) {
            if (strchr("dixX", conv)) {
                spec[k++] = 'l';
                spec[k++] = 'l';
                spec[k++] = conv == 'i' ? 'd' : conv;
                spec[k] = 0;
                rc = aios_buf_printf(
                    &b, spec, (long long)(jv_is_int(&a) ? jv_int(&a) : clamp_i64(jv_num(&a))));
            } else {
                spec[k++] = conv;
                spec[k] = 0;
                rc = aios_buf_printf(&b, spec, jv_num(&a));
            }
        } else {
            aios_buf_free(&b);
            return jinja_fail(st, 0, AIOS_EFORMAT, "format: bad conversion %%%c for %s", conv,
                              jinja_type_name(&a));
        }
    }
    return jinja_ret_buf(st, &b, rc, out);
}

static bool str_affix(const struct jv *in, const struct jv *a, bool end)
{
    if (!jv_is_str(a))
        return false;
    size_t n = json_string_length(in->j), k = json_string_length(a->j);
    if (k > n)
        return false;
    return memcmp(json_string_value(in->j) + (end ? n - k : 0), json_string_value(a->j), k) == 0;
}

int jinja_affix(struct jstate *st, const struct jv *in, const struct jv *a, bool end,
                struct jv *out)
{
    if (!jv_is_str(in) || !a)
        return jinja_fail(st, 0, AIOS_EFORMAT, "%s() needs a string",
                          end ? "endswith" : "startswith");
    bool r = false;
    if (jv_is(a, JSON_ARRAY)) {
        for (size_t i = 0; i < json_array_size(a->j) && !r; i++) {
            struct jv e = {.k = JV_JSON, .j = json_array_get(a->j, i)};
            r = str_affix(in, &e, end);
        }
    } else if (jv_is_str(a)) {
        r = str_affix(in, a, end);
    } else {
        return jinja_type_err(st, end ? "endswith" : "startswith", a);
    }
    return jinja_ret_bool(st, r, out);
}

static int do_html_escape(struct jstate *st, const struct jv *in, struct jv *out)
{
    struct jv s;
    TRY(jv_str_value(st, in, &s));
    const char *p = json_string_value(s.j);
    size_t n = json_string_length(s.j);
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = AIOS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        switch (p[i]) {
        case '&':
            rc = aios_buf_puts(&b, "&amp;");
            break;
        case '<':
            rc = aios_buf_puts(&b, "&lt;");
            break;
        case '>':
            rc = aios_buf_puts(&b, "&gt;");
            break;
        case '"':
            rc = aios_buf_puts(&b, "&#34;");
            break;
        case '\'':
            rc = aios_buf_puts(&b, "&#39;");
            break;
        default:
            rc = aios_buf_putc(&b, p[i]);
            break;
        }
    }
    jv_drop(&s);
    return jinja_ret_buf(st, &b, rc, out);
}

/* Jinja's indent(width=4, first=False, blank=False). */
static int do_indent(struct jstate *st, const struct jv *in, struct jargs *a, struct jv *out)
{
    struct jv s;
    TRY(jv_str_value(st, in, &s));
    const struct jv *w = jargs_get(a, 0, "width");
    char ind[256];
    if (w && jv_is_str(w)) {
        aios_strlcpy(ind, json_string_value(w->j), sizeof ind);
    } else {
        int64_t k = w && jv_is_int(w) ? jv_int(w) : 4;
        if (k < 0)
            k = 0;
        if (k > 255)
            k = 255;
        memset(ind, ' ', (size_t)k);
        ind[k] = 0;
    }
    bool first = arg_true(a, 1, "first"), blank = arg_true(a, 2, "blank");
    const char *p = json_string_value(s.j);
    size_t n = json_string_length(s.j);
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = AIOS_OK;
    /* lines as Python's (s + "\n").splitlines() on \n, \r\n, \r */
    size_t i = 0;
    bool line0 = true;
    while (i <= n && !rc) {
        size_t e = i;
        while (e < n && p[e] != '\n' && p[e] != '\r')
            e++;
        bool empty = e == i;
        if (!line0)
            rc = aios_buf_putc(&b, '\n');
        if (!rc && ((line0 && first) || (!line0 && (!empty || blank))))
            rc = aios_buf_puts(&b, ind);
        if (!rc)
            rc = aios_buf_append(&b, p + i, e - i);
        line0 = false;
        if (e >= n)
            break;
        i = e + ((p[e] == '\r' && e + 1 < n && p[e + 1] == '\n') ? 2 : 1);
    }
    jv_drop(&s);
    return jinja_ret_buf(st, &b, rc, out);
}

/* ---- lists -------------------------------------------------------------- */

/* The elements of a list, a dict's keys or a string's characters. */
int jinja_as_list(struct jstate *st, const struct jv *in, json_t **out)
{
    *out = NULL;
    json_t *arr = json_array();
    if (!arr)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    int rc = AIOS_OK;
    if (in->k == JV_UNDEF) {
    } else if (jv_is(in, JSON_ARRAY)) {
        rc = jinja_count_created(st, json_array_size(in->j) * sizeof(void *));
        if (!rc)
            json_array_extend(arr, in->j);
    } else if (jv_is(in, JSON_OBJECT)) {
        const char *k;
        json_t *v;
        json_object_foreach(in->j, k, v)
        {
            struct jv s;
            if ((rc = jv_str_new(st, k, strlen(k), &s)) || (rc = jinja_list_push(st, arr, s.j)))
                break;
        }
    } else if (jv_is_str(in)) {
        const char *s = json_string_value(in->j);
        size_t n = json_string_length(in->j);
        for (size_t i = 0; i < n && !rc;) {
            int32_t c;
            size_t k = jinja_next_cp(s, n, i, &c);
            struct jv ch;
            if (!(rc = jv_str_new(st, s + i, k, &ch)))
                rc = jinja_list_push(st, arr, ch.j);
            i += k;
        }
    } else {
        rc = jinja_fail(st, 0, AIOS_EFORMAT, "%s is not iterable", jinja_type_name(in));
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return AIOS_OK;
}

int jinja_items(struct jstate *st, const struct jv *in, struct jv *out)
{
    json_t *arr = json_array();
    if (!arr)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    if (jv_is(in, JSON_OBJECT)) {
        const char *k;
        json_t *v;
        json_object_foreach(in->j, k, v)
        {
            struct jv ks;
            int rc = jv_str_new(st, k, strlen(k), &ks);
            json_t *pair = rc ? NULL : json_array();
            if (!rc && !pair)
                rc = jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
            if (!rc) {
                json_array_append_new(pair, ks.j);
                json_array_append(pair, v);
                jinja_tuple_mark(st, pair);
                rc = jinja_list_push(st, arr, pair);
            } else {
                jv_drop(&ks);
            }
            if (rc) {
                json_decref(arr);
                return rc;
            }
        }
    } else if (in->k != JV_UNDEF) {
        json_decref(arr);
        return jinja_type_err(st, "items", in);
    }
    *out = jv_json(arr);
    return AIOS_OK;
}

/* Does container c reach target (so adding c into target would make a cycle)? */
static bool reaches(const json_t *c, const json_t *target, int depth)
{
    if (c == target)
        return true;
    if (depth > 128)
        return true; /* too deep to tell: refuse */
    if (json_is_array(c)) {
        for (size_t i = 0; i < json_array_size(c); i++)
            if (reaches(json_array_get(c, i), target, depth + 1))
                return true;
    } else if (json_is_object(c)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)c, k, v)
        {
            if (reaches(v, target, depth + 1))
                return true;
        }
    }
    return false;
}

int jinja_check_store(struct jstate *st, const json_t *target, const struct jv *v)
{
    if (v->k != JV_JSON)
        return jinja_fail(st, 0, AIOS_EFORMAT, "cannot store a %s in a list", jinja_type_name(v));
    if (reaches(v->j, target, 0))
        return jinja_fail(st, 0, AIOS_EFORMAT, "a list cannot contain itself");
    return AIOS_OK;
}

/* Runs test `name` with its arguments (args from index from of a). */
static int run_test(struct jstate *st, const char *name, const struct jv *x, struct jargs *a,
                    int from, bool *out)
{
    struct jargs sub = {0};
    for (int i = from; i < a->n && sub.n < JARGS_MAX; i++)
        sub.pos[sub.n++] = a->pos[i];
    int rc = jinja_test(st, name, x, &sub, out);
    if (rc == AIOS_ENOTFOUND)
        rc = jinja_fail(st, 0, AIOS_EFORMAT, "unknown test '%s'", name);
    return rc;
}

/* select / reject / selectattr / rejectattr. */
static int do_select(struct jstate *st, struct jv *in, struct jargs *a, bool by_attr, bool reject,
                     struct jv *out)
{
    json_t *items;
    TRY(jinja_as_list(st, in, &items));
    json_t *res = json_array();
    int rc = res ? AIOS_OK : jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    int ti = by_attr ? 1 : 0;
    const char *attr = NULL;
    if (!rc && by_attr) {
        if (a->n < 1 || !jv_is_str(&a->pos[0]))
            rc = jinja_fail(st, 0, AIOS_EFORMAT, "selectattr/rejectattr need an attribute name");
        else
            attr = json_string_value(a->pos[0].j);
    }
    const char *test = NULL;
    if (!rc && a->n > ti) {
        if (!jv_is_str(&a->pos[ti]))
            rc = jinja_fail(st, 0, AIOS_EFORMAT, "test name must be a string");
        else
            test = json_string_value(a->pos[ti].j);
    }
    for (size_t i = 0; !rc && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        struct jv x = by_attr ? jinja_getattr_path(it, attr) : jv_json(json_incref(it));
        bool ok;
        if (test)
            rc = run_test(st, test, &x, a, ti + 1, &ok);
        else
            ok = jv_truthy(&x);
        jv_drop(&x);
        if (!rc && ok != reject)
            rc = jinja_list_push(st, res, json_incref(it));
    }
    json_decref(items);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = jv_json(res);
    return AIOS_OK;
}

static int do_map(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    json_t *items;
    TRY(jinja_as_list(st, in, &items));
    json_t *res = json_array();
    int rc = res ? AIOS_OK : jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    const struct jv *attr = jargs_get(a, -1, "attribute");
    const struct jv *def = jargs_get(a, -1, "default");
    const char *filter = NULL;
    if (!rc && !attr) {
        if (a->n < 1 || !jv_is_str(&a->pos[0]))
            rc = jinja_fail(st, 0, AIOS_EFORMAT, "map() needs a filter name or attribute=");
        else
            filter = json_string_value(a->pos[0].j);
    }
    for (size_t i = 0; !rc && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        struct jv r = {0};
        if (attr) {
            if (jv_is_str(attr))
                r = jinja_getattr_path(it, json_string_value(attr->j));
            else if (jv_is_int(attr) && json_is_array(it) && jv_int(attr) >= 0 &&
                     (size_t)jv_int(attr) < json_array_size(it))
                r = jv_json(json_incref(json_array_get(it, (size_t)jv_int(attr))));
            if (r.k == JV_UNDEF && def)
                r = jv_json(def->k == JV_JSON ? json_incref(def->j) : NULL);
        } else {
            struct jargs sub = {0};
            for (int k = 1; k < a->n; k++)
                sub.pos[sub.n++] = a->pos[k];
            for (int k = 0; k < a->nk; k++) {
                sub.kname[sub.nk] = a->kname[k];
                sub.kv[sub.nk++] = a->kv[k];
            }
            struct jv x = jv_json(json_incref(it));
            rc = jinja_filter(st, filter, &x, &sub, &r);
            jv_drop(&x);
            if (rc == AIOS_ENOTFOUND)
                rc = jinja_fail(st, 0, AIOS_EFORMAT, "unknown filter '%s'", filter);
        }
        if (!rc)
            rc = jinja_list_push(st, res, r.k == JV_JSON ? json_incref(r.j) : json_null());
        jv_drop(&r);
    }
    json_decref(items);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = jv_json(res);
    return AIOS_OK;
}

struct sort_ctx {
    json_t **keys;
    bool case_sensitive, failed;
};

struct sort_item {
    json_t *key;
    json_t *val;
    size_t idx;
    struct sort_ctx *cx;
};

static int lower_cmp(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    const char *p = json_string_value(a), *q = json_string_value(b);
    size_t i = 0, j = 0;
    while (i < la && j < lb) {
        int32_t c, d;
        i += jinja_next_cp(p, la, i, &c);
        j += jinja_next_cp(q, lb, j, &d);
        c = utf8proc_tolower(c);
        d = utf8proc_tolower(d);
        if (c != d)
            return c < d ? -1 : 1;
    }
    return (i < la) - (j < lb);
}

static int item_cmp(const void *x, const void *y)
{
    const struct sort_item *a = x, *b = y;
    int c;
    if (!a->cx->case_sensitive && json_is_string(a->key) && json_is_string(b->key)) {
        c = lower_cmp(a->key, b->key);
    } else {
        bool ok;
        c = jinja_json_cmp(a->key, b->key, &ok);
        if (!ok)
            a->cx->failed = true;
    }
    if (c == 0)
        c = a->idx < b->idx ? -1 : a->idx > b->idx;
    return c;
}

/* Sorts items (values) by keys; writes the sorted values. */
static int sort_values(struct jstate *st, json_t *vals, json_t *keys, bool reverse, bool cs,
                       json_t **out)
{
    size_t n = json_array_size(vals);
    struct sort_ctx cx = {.case_sensitive = cs};
    struct sort_item *it = n ? aios_malloc(n * sizeof *it) : NULL;
    if (n && !it)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        it[i] = (struct sort_item){json_array_get(keys, i), json_array_get(vals, i), i, &cx};
    if (n > 1)
        qsort(it, n, sizeof *it, item_cmp);
    json_t *res = json_array();
    for (size_t i = 0; res && i < n; i++)
        json_array_append(res, it[reverse ? n - 1 - i : i].val);
    aios_free(it);
    if (!res)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    if (cx.failed) {
        json_decref(res);
        return jinja_fail(st, 0, AIOS_EFORMAT, "sort: values cannot be compared");
    }
    *out = res;
    return AIOS_OK;
}

static int keys_by_attr(struct jstate *st, json_t *items, const struct jv *attr, json_t **keys)
{
    *keys = json_array();
    if (!*keys)
        return jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        struct jv k = attr && jv_is_str(attr) ? jinja_getattr_path(it, json_string_value(attr->j))
                                              : jv_json(json_incref(it));
        json_array_append_new(*keys, k.k == JV_JSON ? k.j : json_null());
    }
    return AIOS_OK;
}

static int do_sort(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    json_t *items, *keys, *res;
    TRY(jinja_as_list(st, in, &items));
    int rc = keys_by_attr(st, items, jargs_get(a, 2, "attribute"), &keys);
    if (!rc) {
        rc = sort_values(st, items, keys, arg_true(a, 0, "reverse"),
                         arg_true(a, 1, "case_sensitive"), &res);
        json_decref(keys);
    }
    json_decref(items);
    if (!rc)
        *out = jv_json(res);
    return rc;
}

static int do_dictsort(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    struct jv items;
    TRY(jinja_items(st, in, &items));
    const struct jv *by = jargs_get(a, 1, "by");
    bool by_value = by && jv_is_str(by) && strcmp(json_string_value(by->j), "value") == 0;
    json_t *keys = json_array(), *res = NULL;
    for (size_t i = 0; keys && i < json_array_size(items.j); i++)
        json_array_append(keys, json_array_get(json_array_get(items.j, i), by_value ? 1 : 0));
    int rc = keys ? sort_values(st, items.j, keys, arg_true(a, 2, "reverse"),
                                arg_true(a, 0, "case_sensitive"), &res)
                  : jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    json_decref(keys);
    jv_drop(&items);
    if (!rc)
        *out = jv_json(res);
    return rc;
}

static int do_unique(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    json_t *items, *keys;
    TRY(jinja_as_list(st, in, &items));
    bool cs = arg_true(a, 0, "case_sensitive");
    int rc = keys_by_attr(st, items, jargs_get(a, 1, "attribute"), &keys);
    json_t *res = rc ? NULL : json_array();
    if (!rc && !res)
        rc = jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < json_array_size(items); i++) {
        json_t *k = json_array_get(keys, i);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            json_t *p = json_array_get(keys, j);
            if (!cs && json_is_string(k) && json_is_string(p))
                seen = lower_cmp(k, p) == 0;
            else
                seen = jinja_json_eq(k, p, 0);
            /* only the first of equal keys is kept, so compare with kept ones */
        }
        if (!seen)
            rc = jinja_list_push(st, res, json_incref(json_array_get(items, i)));
        if (!rc)
            rc = jinja_charge(st, i); /* the scan above is quadratic */
    }
    json_decref(keys);
    json_decref(items);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = jv_json(res);
    return AIOS_OK;
}

static int do_minmax(struct jstate *st, struct jv *in, struct jargs *a, bool max, struct jv *out)
{
    json_t *items, *keys;
    TRY(jinja_as_list(st, in, &items));
    int rc = keys_by_attr(st, items, jargs_get(a, 1, "attribute"), &keys);
    bool cs = arg_true(a, 0, "case_sensitive");
    size_t best = 0;
    for (size_t i = 1; !rc && i < json_array_size(items); i++) {
        json_t *k = json_array_get(keys, i), *b = json_array_get(keys, best);
        int c;
        bool ok = true;
        if (!cs && json_is_string(k) && json_is_string(b))
            c = lower_cmp(k, b);
        else
            c = jinja_json_cmp(k, b, &ok);
        if (!ok)
            rc = jinja_fail(st, 0, AIOS_EFORMAT, "min/max: values cannot be compared");
        else if (max ? c > 0 : c < 0)
            best = i;
    }
    if (!rc)
        *out = json_array_size(items) ? jv_json(json_incref(json_array_get(items, best)))
                                      : jv_undef(NULL);
    json_decref(keys);
    json_decref(items);
    return rc;
}

static int do_tojson(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    /* Positional order is the chat-template one (Hugging Face, llama.cpp):
     * tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False). */
    const struct jv *asc = jargs_get(a, 0, "ensure_ascii"), *ind = jargs_get(a, 1, "indent"),
                    *sep = jargs_get(a, 2, "separators"), *sk = jargs_get(a, 3, "sort_keys");
    int indent = -1;
    if (ind && ind->k == JV_JSON && !json_is_null(ind->j)) {
        if (!jv_is_int(ind) || jv_int(ind) < 0 || jv_int(ind) > 64)
            return jinja_fail(st, 0, AIOS_EFORMAT, "tojson: indent must be 0..64");
        indent = (int)jv_int(ind);
    }
    const char *item_sep = NULL, *key_sep = NULL;
    if (sep && jv_is(sep, JSON_ARRAY) && json_array_size(sep->j) == 2 &&
        json_is_string(json_array_get(sep->j, 0)) && json_is_string(json_array_get(sep->j, 1))) {
        item_sep = json_string_value(json_array_get(sep->j, 0));
        key_sep = json_string_value(json_array_get(sep->j, 1));
    }
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc;
    if (in->k == JV_UNDEF) {
        rc = aios_buf_puts(&b, "null");
    } else if (in->k != JV_JSON) {
        aios_buf_free(&b);
        return jinja_type_err(st, "tojson", in);
    } else {
        rc = jinja_tojson(st, in->j, indent, item_sep, key_sep, asc && jv_truthy(asc),
                          sk && jv_truthy(sk), &b);
        if (rc) {
            aios_buf_free(&b);
            return rc;
        }
    }
    return jinja_ret_buf(st, &b, rc, out);
}

static int do_join(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    json_t *items;
    TRY(jinja_as_list(st, in, &items));
    const struct jv *d = jargs_get(a, 0, "d"), *attr = jargs_get(a, 1, "attribute");
    struct aios_buf b;
    aios_buf_init(&b, st->lim->max_output);
    int rc = AIOS_OK;
    for (size_t i = 0; i < json_array_size(items) && !rc; i++) {
        if (i && d)
            rc = jv_to_str(st, d, &b);
        struct jv x = attr && jv_is_str(attr)
                          ? jinja_getattr_path(json_array_get(items, i), json_string_value(attr->j))
                          : jv_json(json_incref(json_array_get(items, i)));
        if (!rc)
            rc = jv_to_str(st, &x, &b);
        jv_drop(&x);
    }
    json_decref(items);
    if (rc) {
        aios_buf_free(&b);
        return rc;
    }
    return jinja_ret_buf(st, &b, AIOS_OK, out);
}

/* Python int() of a string. */
static bool parse_py_int(const char *s, int base, int64_t *v)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    char buf[80];
    size_t n = 0;
    for (; *s && n + 1 < sizeof buf; s++)
        if (*s != '_')
            buf[n++] = *s;
    while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\n'))
        n--;
    buf[n] = 0;
    if (!n || *s)
        return false;
    if (base == 10)
        return aios_parse_i64(buf, v) == AIOS_OK;
    char *end;
    long long r = strtoll(buf, &end, base);
    if (*end)
        return false;
    *v = r;
    return true;
}

static int do_int(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    const struct jv *def = jargs_get(a, 0, "default"), *base = jargs_get(a, 1, "base");
    int64_t v = 0;
    bool ok = false;
    if (jv_is_int(in)) {
        v = jv_int(in);
        ok = true;
    } else if (jv_is(in, JSON_REAL) && isfinite(json_real_value(in->j)) &&
               fabs(json_real_value(in->j)) < 9.2e18) {
        v = (int64_t)json_real_value(in->j);
        ok = true;
    } else if (jv_is_str(in)) {
        int b = base && jv_is_int(base) ? (int)jv_int(base) : 10;
        ok = parse_py_int(json_string_value(in->j), b, &v);
        if (!ok) {
            double d;
            if (aios_parse_double(json_string_value(in->j), &d) == AIOS_OK && isfinite(d) &&
                fabs(d) < 9.2e18) {
                v = (int64_t)d;
                ok = true;
            }
        }
    }
    if (!ok) {
        if (def && def->k == JV_JSON) {
            *out = jv_json(json_incref(def->j));
            return AIOS_OK;
        }
        v = 0;
    }
    return jinja_ret_json(st, json_integer(v), out);
}

static int do_float(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    double d = 0;
    bool ok = false;
    if (jv_is_num(in)) {
        d = jv_num(in);
        ok = true;
    } else if (jv_is_str(in)) {
        ok = aios_parse_double(json_string_value(in->j), &d) == AIOS_OK;
    }
    if (!ok) {
        const struct jv *def = jargs_get(a, 0, "default");
        if (def && def->k == JV_JSON) {
            *out = jv_json(json_incref(def->j));
            return AIOS_OK;
        }
        d = 0;
    }
    return jinja_ret_json(st, json_real(d), out);
}

static int do_length(struct jstate *st, struct jv *in, struct jv *out)
{
    size_t n;
    if (in->k == JV_UNDEF)
        n = 0;
    else if (jv_is_str(in))
        n = jinja_utf8_len(json_string_value(in->j), json_string_length(in->j));
    else if (jv_is(in, JSON_ARRAY))
        n = json_array_size(in->j);
    else if (jv_is(in, JSON_OBJECT))
        n = json_object_size(in->j);
    else
        return jinja_fail(st, 0, AIOS_EFORMAT, "object of type %s has no length",
                          jinja_type_name(in));
    return jinja_ret_json(st, json_integer((json_int_t)n), out);
}

static int do_first_last(struct jstate *st, struct jv *in, bool last, struct jv *out)
{
    json_t *items;
    TRY(jinja_as_list(st, in, &items));
    size_t n = json_array_size(items);
    *out = n ? jv_json(json_incref(json_array_get(items, last ? n - 1 : 0))) : jv_undef(NULL);
    json_decref(items);
    return AIOS_OK;
}

static int do_reverse(struct jstate *st, struct jv *in, struct jv *out)
{
    json_t *items;
    TRY(jinja_as_list(st, in, &items));
    size_t n = json_array_size(items);
    if (jv_is_str(in)) {
        struct aios_buf b;
        aios_buf_init(&b, st->lim->max_output);
        int rc = AIOS_OK;
        for (size_t i = n; i-- > 0 && !rc;) {
            json_t *c = json_array_get(items, i);
            rc = aios_buf_append(&b, json_string_value(c), json_string_length(c));
        }
        json_decref(items);
        return jinja_ret_buf(st, &b, rc, out);
    }
    json_t *res = json_array();
    for (size_t i = n; res && i-- > 0;)
        json_array_append(res, json_array_get(items, i));
    json_decref(items);
    return jinja_ret_json(st, res, out);
}

static int do_sum(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    json_t *items;
    TRY(jinja_as_list(st, in, &items));
    const struct jv *attr = jargs_get(a, 0, "attribute"), *start = jargs_get(a, 1, "start");
    bool ints = true;
    int64_t si = start && jv_is_int(start) ? jv_int(start) : 0;
    double sd = start && jv_is_num(start) ? jv_num(start) : 0;
    if (start && !jv_is_int(start))
        ints = false;
    int rc = AIOS_OK;
    for (size_t i = 0; i < json_array_size(items) && !rc; i++) {
        json_t *it = json_array_get(items, i);
        struct jv x = attr && jv_is_str(attr) ? jinja_getattr_path(it, json_string_value(attr->j))
                                              : jv_json(json_incref(it));
        if (!jv_is_num(&x)) {
            rc = jinja_fail(st, 0, AIOS_EFORMAT, "sum: cannot add %s", jinja_type_name(&x));
        } else {
            if (!jv_is_int(&x))
                ints = false;
            if (ints && __builtin_add_overflow(si, jv_int(&x), &si))
                ints = false;
            sd += jv_num(&x);
        }
        jv_drop(&x);
    }
    json_decref(items);
    if (rc)
        return rc;
    return jinja_ret_json(st, ints ? json_integer(si) : json_real(sd), out);
}

static int do_round(struct jstate *st, struct jv *in, struct jargs *a, struct jv *out)
{
    if (!jv_is_num(in))
        return jinja_type_err(st, "round", in);
    const struct jv *mm = jargs_get(a, 1, "method");
    bool common = !mm || (jv_is_str(mm) && strcmp(json_string_value(mm->j), "common") == 0);
    if (jv_is_int(in) && common) { /* Python's round() of an int is that int */
        *out = jv_json(json_integer(jv_int(in)));
        return AIOS_OK;
    }
    const struct jv *p = jargs_get(a, 0, "precision"), *m = jargs_get(a, 1, "method");
    int64_t prec = p && jv_is_int(p) ? jv_int(p) : 0;
    if (prec < -20 || prec > 20)
        return jinja_fail(st, 0, AIOS_EFORMAT, "round: precision out of range");
    const char *method = m && jv_is_str(m) ? json_string_value(m->j) : "common";
    double f = pow(10.0, (double)prec), v = jv_num(in) * f;
    if (strcmp(method, "common") == 0)
        v = rint(v); /* Python's round(): halves to even */
    else if (strcmp(method, "ceil") == 0)
        v = ceil(v);
    else if (strcmp(method, "floor") == 0)
        v = floor(v);
    else
        return jinja_fail(st, 0, AIOS_EFORMAT, "round: method must be common, ceil or floor");
    return jinja_ret_json(st, json_real(v / f), out);
}

static int do_wordcount(struct jstate *st, struct jv *in, struct jv *out)
{
    struct jv s;
    TRY(jv_str_value(st, in, &s));
    /* Jinja counts matches of \\w+: runs of letters, digits and '_' */
    const char *p = json_string_value(s.j);
    size_t n = json_string_length(s.j), words = 0;
    bool in_word = false;
    for (size_t i = 0; i < n;) {
        int32_t c;
        i += jinja_next_cp(p, n, i, &c);
        utf8proc_category_t cat = utf8proc_category(c);
        bool w = c == '_' || (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                 cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
                 cat == UTF8PROC_CATEGORY_NO || cat == UTF8PROC_CATEGORY_MN ||
                 cat == UTF8PROC_CATEGORY_MC;
        words += w && !in_word;
        in_word = w;
    }
    jv_drop(&s);
    return jinja_ret_json(st, json_integer((json_int_t)words), out);
}

/* ---- filter table ------------------------------------------------------- */

int jinja_filter(struct jstate *st, const char *name, struct jv *in, struct jargs *a,
                 struct jv *out)
{
    *out = jv_undef(NULL);
    const struct jv *a0 = jargs_get(a, 0, NULL);
    /* the text filters work on str() of their input, as Jinja's do */
    static const char *const text_filters[] = {"trim",  "upper",      "lower",
                                               "title", "capitalize", NULL};
    for (int i = 0; text_filters[i]; i++) {
        if (strcmp(name, text_filters[i]) != 0)
            continue;
        struct jv s;
        TRY(jv_str_value(st, in, &s));
        int rc = name[0] == 't' && name[1] == 'r'
                     ? jinja_strip(st, &s, jargs_get(a, 0, "chars"), 3, out)
                 : name[0] == 'u' ? jinja_case(st, &s, JCASE_UPPER, out)
                 : name[0] == 'l' ? jinja_case(st, &s, JCASE_LOWER, out)
                 : name[0] == 't' ? jinja_case(st, &s, JCASE_TITLE, out)
                                  : jinja_case(st, &s, JCASE_CAPITALIZE, out);
        jv_drop(&s);
        return rc;
    }
    if (!strcmp(name, "tojson"))
        return do_tojson(st, in, a, out);
    if (!strcmp(name, "length") || !strcmp(name, "count"))
        return do_length(st, in, out);
    if (!strcmp(name, "items"))
        return jinja_items(st, in, out);
    if (!strcmp(name, "list")) {
        json_t *l;
        TRY(jinja_as_list(st, in, &l));
        *out = jv_json(l);
        return AIOS_OK;
    }
    if (!strcmp(name, "first") || !strcmp(name, "last"))
        return do_first_last(st, in, name[0] == 'l', out);
    if (!strcmp(name, "join"))
        return do_join(st, in, a, out);
    if (!strcmp(name, "default") || !strcmp(name, "d")) {
        const struct jv *def = jargs_get(a, 0, "default_value");
        bool use = arg_true(a, 1, "boolean") ? !jv_truthy(in) : in->k == JV_UNDEF;
        if (!use) {
            *out = *in;
            *in = jv_undef(NULL);
            return AIOS_OK;
        }
        if (!def)
            return jv_str_new(st, "", 0, out);
        *out = def->k == JV_JSON ? jv_json(json_incref(def->j)) : *def;
        return AIOS_OK;
    }
    if (!strcmp(name, "string"))
        return jv_str_value(st, in, out);
    if (!strcmp(name, "safe")) {
        *out = *in;
        *in = jv_undef(NULL);
        return AIOS_OK;
    }
    if (!strcmp(name, "int"))
        return do_int(st, in, a, out);
    if (!strcmp(name, "float"))
        return do_float(st, in, a, out);
    if (!strcmp(name, "replace")) {
        struct jv s;
        TRY(jv_str_value(st, in, &s));
        int rc = jinja_replace(st, &s, jargs_get(a, 0, "old"), jargs_get(a, 1, "new"),
                               jargs_get(a, 2, "count"), out);
        jv_drop(&s);
        return rc;
    }
    if (!strcmp(name, "format")) {
        json_t *l = json_array();
        for (int i = 0; l && i < a->n; i++)
            json_array_append(l, a->pos[i].k == JV_JSON ? a->pos[i].j : json_null());
        struct jv lv = jv_json(l);
        int rc =
            l ? jinja_printf(st, in, &lv, out) : jinja_fail(st, 0, AIOS_ENOMEM, "out of memory");
        jv_drop(&lv);
        return rc;
    }
    if (!strcmp(name, "indent"))
        return do_indent(st, in, a, out);
    if (!strcmp(name, "unique"))
        return do_unique(st, in, a, out);
    if (!strcmp(name, "selectattr") || !strcmp(name, "rejectattr"))
        return do_select(st, in, a, true, name[0] == 'r', out);
    if (!strcmp(name, "select") || !strcmp(name, "reject"))
        return do_select(st, in, a, false, name[0] == 'r', out);
    if (!strcmp(name, "map"))
        return do_map(st, in, a, out);
    if (!strcmp(name, "sort"))
        return do_sort(st, in, a, out);
    if (!strcmp(name, "dictsort"))
        return do_dictsort(st, in, a, out);
    if (!strcmp(name, "reverse"))
        return do_reverse(st, in, out);
    if (!strcmp(name, "min") || !strcmp(name, "max"))
        return do_minmax(st, in, a, name[1] == 'a', out);
    if (!strcmp(name, "sum"))
        return do_sum(st, in, a, out);
    if (!strcmp(name, "abs")) {
        if (!jv_is_num(in))
            return jinja_type_err(st, "abs", in);
        if (jv_is_int(in) && jv_int(in) != INT64_MIN)
            return jinja_ret_json(st, json_integer(llabs(jv_int(in))), out);
        return jinja_ret_json(st, json_real(fabs(jv_num(in))), out);
    }
    if (!strcmp(name, "round"))
        return do_round(st, in, a, out);
    if (!strcmp(name, "escape") || !strcmp(name, "e") || !strcmp(name, "forceescape"))
        return do_html_escape(st, in, out);
    if (!strcmp(name, "wordcount"))
        return do_wordcount(st, in, out);
    if (!strcmp(name, "attr")) {
        if (!a0 || !jv_is_str(a0))
            return jinja_fail(st, 0, AIOS_EFORMAT, "attr() needs a name");
        /* Jinja's attr() reads Python attributes only: dict keys are not */
        *out = jv_undef(json_string_value(a0->j));
        return AIOS_OK;
    }
    if (!strcmp(name, "pprint")) {
        struct aios_buf b;
        aios_buf_init(&b, st->lim->max_output);
        int rc = AIOS_OK;
        if (jv_is_str(in))
            rc = aios_buf_putc(&b, '\'');
        if (!rc)
            rc = jv_to_str(st, in, &b);
        if (!rc && jv_is_str(in))
            rc = aios_buf_putc(&b, '\'');
        return jinja_ret_buf(st, &b, rc, out);
    }
    return AIOS_ENOTFOUND;
}
