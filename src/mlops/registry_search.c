/*
 * Searching the registry: a small subset of MLflow's search filter for
 * registered models, applied to the model list, and keyset pagination.
 * Both `aios model list --filter` and GET /api/v1/models call
 * aios_registry_search_to_json.
 *
 * Filter grammar (keywords case-insensitive, at most FILTER_MAX_CLAUSES):
 *   filter := clause ( AND clause )*
 *   clause := ( name | kind ) ( = | != | LIKE | ILIKE ) 'text' | "text"
 * LIKE and ILIKE take SQL patterns: % any run of characters, _ one
 * character; LIKE is case-sensitive, ILIKE is not (ASCII). Quoted text has
 * no escapes: it cannot contain its own quote character.
 *
 * Pagination: models come in name order; next_page_token is the last name
 * of a page (present only when more models match) and the next page starts
 * after it, so deleting or adding models between pages neither repeats
 * nor skips the others.
 */
#include "mlops/registry_int.h"

#include <string.h>
#include <strings.h>

#define FILTER_MAX_LEN 1024
#define FILTER_MAX_CLAUSES 16
#define SEARCH_DEFAULT_RESULTS 100
#define SEARCH_MAX_RESULTS 1000

enum field { F_NAME, F_KIND };
enum op { OP_EQ, OP_NE, OP_LIKE, OP_ILIKE };

struct clause {
    enum field field;
    enum op op;
    char value[FILTER_MAX_LEN + 1];
};

struct filter {
    struct clause c[FILTER_MAX_CLAUSES];
    int n;
};

static void skip_space(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

/* Reads a bare word (identifier or keyword) into w; false when none. */
static bool word(const char **p, char *w, size_t size)
{
    size_t n = 0;
    while (is_word_char((*p)[n]) && n + 1 < size) {
        w[n] = (*p)[n];
        n++;
    }
    if (n == 0 || is_word_char((*p)[n]))
        return false;
    w[n] = 0;
    *p += n;
    return true;
}

static int filter_parse(const char *text, struct filter *f, struct aios_err *err)
{
    memset(f, 0, sizeof *f);
    if (strlen(text) > FILTER_MAX_LEN)
        return aios_err_set(err, AIOS_EINVAL, "filter is longer than %d characters",
                            FILTER_MAX_LEN);
    const char *p = text;
    skip_space(&p);
    if (!*p)
        return AIOS_OK;
    for (;;) {
        if (f->n == FILTER_MAX_CLAUSES)
            return aios_err_set(err, AIOS_EINVAL, "filter has more than %d clauses",
                                FILTER_MAX_CLAUSES);
        struct clause *c = &f->c[f->n];
        char w[64];
        size_t at = (size_t)(p - text) + 1;
        if (!word(&p, w, sizeof w))
            return aios_err_set(err, AIOS_EINVAL,
                                "filter: expected 'name' or 'kind' at character %zu", at);
        if (strcasecmp(w, "name") == 0)
            c->field = F_NAME;
        else if (strcasecmp(w, "kind") == 0)
            c->field = F_KIND;
        else
            return aios_err_set(err, AIOS_EINVAL,
                                "filter: cannot search by '%s' (only name and kind)", w);
        skip_space(&p);
        at = (size_t)(p - text) + 1;
        if (p[0] == '=') {
            c->op = OP_EQ;
            p++;
        } else if (p[0] == '!' && p[1] == '=') {
            c->op = OP_NE;
            p += 2;
        } else {
            bool got = word(&p, w, sizeof w);
            if (got && strcasecmp(w, "LIKE") == 0)
                c->op = OP_LIKE;
            else if (got && strcasecmp(w, "ILIKE") == 0)
                c->op = OP_ILIKE;
            else
                return aios_err_set(err, AIOS_EINVAL,
                                    "filter: expected =, !=, LIKE or ILIKE at character %zu", at);
        }
        skip_space(&p);
        at = (size_t)(p - text) + 1;
        char q = *p;
        if (q != '\'' && q != '"')
            return aios_err_set(err, AIOS_EINVAL,
                                "filter: expected a quoted value at character %zu", at);
        const char *end = strchr(p + 1, q);
        if (!end)
            return aios_err_set(err, AIOS_EINVAL,
                                "filter: the value at character %zu has no closing quote", at);
        size_t n = (size_t)(end - (p + 1));
        memcpy(c->value, p + 1, n);
        c->value[n] = 0;
        p = end + 1;
        f->n++;
        skip_space(&p);
        if (!*p)
            return AIOS_OK;
        at = (size_t)(p - text) + 1;
        if (!word(&p, w, sizeof w) || strcasecmp(w, "AND") != 0)
            return aios_err_set(err, AIOS_EINVAL, "filter: expected AND at character %zu", at);
        skip_space(&p);
    }
}

static char fold(char c, bool icase)
{
    return icase && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* SQL LIKE: the greedy wildcard match with one backtrack point (the last
 * %), which is O(len(s) * len(pat)) at worst. */
static bool like(const char *s, const char *pat, bool icase)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '%') {
            star = pat++;
            resume = s;
        } else if (*pat && (*pat == '_' || fold(*pat, icase) == fold(*s, icase))) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '%')
        pat++;
    return *pat == 0;
}

static bool matches(const struct filter *f, const struct aios_store_model *m)
{
    for (int i = 0; i < f->n; i++) {
        const struct clause *c = &f->c[i];
        const char *v = c->field == F_NAME ? m->name : m->kind;
        bool ok;
        switch (c->op) {
        case OP_EQ:
            ok = strcmp(v, c->value) == 0;
            break;
        case OP_NE:
            ok = strcmp(v, c->value) != 0;
            break;
        case OP_LIKE:
            ok = like(v, c->value, false);
            break;
        default:
            ok = like(v, c->value, true);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

int aios_registry_filter_check(const char *filter, struct aios_err *err)
{
    struct filter *f = aios_malloc(sizeof *f);
    if (!f)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    int rc = filter_parse(filter ? filter : "", f, err);
    aios_free(f);
    return rc;
}

int aios_registry_search_to_json(aios_store *st, const struct aios_registry_query *q, json_t **out,
                                 struct aios_err *err)
{
    *out = NULL;
    int max = q->max_results ? q->max_results : SEARCH_DEFAULT_RESULTS;
    if (max < 1 || max > SEARCH_MAX_RESULTS)
        return aios_err_set(err, AIOS_EINVAL, "max_results must be in [1, %d], got %d",
                            SEARCH_MAX_RESULTS, q->max_results);
    const char *after = q->page_token && *q->page_token ? q->page_token : NULL;
    if (after && aios_registry_name_check(after, NULL) != AIOS_OK)
        return aios_err_set(err, AIOS_EINVAL, "page_token '%.64s' is not one this server gave",
                            after);
    struct filter *f = aios_malloc(sizeof *f);
    if (!f)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    int rc = filter_parse(q->filter ? q->filter : "", f, err);
    if (rc) {
        aios_free(f);
        return rc;
    }
    struct aios_store_model *ms = NULL;
    int n = 0;
    rc = aios_store_model_list(st, &ms, &n, err);
    json_t *arr = rc ? NULL : json_array();
    if (!rc && !arr)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    const char *last = NULL;
    bool more = false;
    /* The store lists by name (SQLite's default BINARY collation, which is
     * strcmp order for these ASCII names). */
    for (int i = 0; !rc && i < n; i++) {
        if (after && strcmp(ms[i].name, after) <= 0)
            continue;
        if (!matches(f, &ms[i]))
            continue;
        if ((int)json_array_size(arr) == max) {
            more = true;
            break;
        }
        json_t *jm;
        rc = mlops_registry_model_json(st, &ms[i], false, &jm, err);
        if (!rc && json_array_append_new(arr, jm) != 0)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        last = ms[i].name;
    }
    json_t *o = rc ? NULL : json_object();
    if (!rc && (!o || json_object_set(o, "registered_models", arr) != 0 ||
                (more && json_object_set_new(o, "next_page_token", json_string(last)) != 0)))
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    json_decref(arr);
    aios_store_models_free(ms, n);
    aios_free(f);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return AIOS_OK;
}
