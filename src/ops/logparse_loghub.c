/*
 * Loader for the loghub 2k benchmark layout (aios_ops_loghub_*), shared by
 * bench/loghub and the conformance test: DIR/settings.json (per system:
 * log_format, regex, st, depth), DIR/published.csv (Drain_GA column) and
 * per system DIR/SYS/SYS_2k.log with its labelled
 * SYS_2k.log_structured_corrected.csv (RFC 4180; EventId, EventTemplate).
 * Raw lines are split as Python's universal newlines do (CRLF, LF or a
 * lone CR end a line), which is how the benchmark reads them.
 */
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

#define LOGHUB_MAX_FILE ((size_t)256 << 20)
#define LOGHUB_MAX_FIELD ((size_t)1 << 20)

void aios_ops_loghub_free(struct aios_ops_loghub *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->nregex; i++)
        aios_free(h->regex[i]);
    aios_free(h->regex);
    aios_free(h->log_format);
    aios_free(h->raw);
    aios_free(h->lines);
    aios_free(h->line_len);
    aios_free(h->truth);
    if (h->truth_tpl)
        for (size_t i = 0; i < h->n; i++)
            aios_free(h->truth_tpl[i]);
    aios_free(h->truth_tpl);
    memset(h, 0, sizeof *h);
}

/* ---- a small RFC 4180 reader ---------------------------------------- */

struct csv {
    const char *p, *end;
    struct aios_buf field;
};

/* Reads the next field into c->field; *eol is set when it ended a row.
 * Returns 1 for a field, 0 at end of input, or a negative status. */
static int csv_field(struct csv *c, bool *eol)
{
    aios_buf_reset(&c->field);
    *eol = false;
    if (c->p >= c->end)
        return 0;
    int rc;
    if (*c->p == '"') {
        c->p++;
        for (;;) {
            if (c->p >= c->end)
                return AIOS_EFORMAT; /* unterminated quote */
            if (*c->p == '"') {
                if (c->p + 1 < c->end && c->p[1] == '"') {
                    rc = aios_buf_putc(&c->field, '"');
                    c->p += 2;
                } else {
                    c->p++;
                    break;
                }
            } else {
                rc = aios_buf_putc(&c->field, *c->p++);
            }
            if (rc)
                return rc;
        }
    } else {
        const char *s = c->p;
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
            c->p++;
        if ((rc = aios_buf_append(&c->field, s, (size_t)(c->p - s))) != 0)
            return rc;
    }
    if (c->p >= c->end) {
        *eol = true;
    } else if (*c->p == ',') {
        c->p++;
    } else if (*c->p == '\r' || *c->p == '\n') {
        if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')
            c->p++;
        c->p++;
        *eol = true;
    } else {
        return AIOS_EFORMAT; /* text after a closing quote */
    }
    return 1;
}

/* ---- EventId strings to numbers -------------------------------------- */

struct idmap {
    char **keys;
    size_t n, cap; /* cap a power of two */
};

/* The number of EventId k (new ones count up from 0), or -1 when out of
 * memory. */
static int idmap_get(struct idmap *m, const char *k)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        char **nk = aios_calloc(ncap, sizeof *nk);
        if (!nk)
            return -1;
        /* keys store "<number>\0<text>" so the number survives a rehash */
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            const char *txt = m->keys[i] + strlen(m->keys[i]) + 1;
            size_t s = aios_hash_fnv1a(txt, strlen(txt)) & (ncap - 1);
            while (nk[s])
                s = (s + 1) & (ncap - 1);
            nk[s] = m->keys[i];
        }
        aios_free(m->keys);
        m->keys = nk;
        m->cap = ncap;
    }
    size_t s = aios_hash_fnv1a(k, strlen(k)) & (m->cap - 1);
    while (m->keys[s]) {
        const char *txt = m->keys[s] + strlen(m->keys[s]) + 1;
        if (strcmp(txt, k) == 0) {
            int64_t v;
            aios_parse_i64(m->keys[s], &v);
            return (int)v;
        }
        s = (s + 1) & (m->cap - 1);
    }
    char num[24];
    int nl = snprintf(num, sizeof num, "%zu", m->n);
    size_t kl = strlen(k);
    char *e = aios_malloc((size_t)nl + 1 + kl + 1);
    if (!e)
        return -1;
    memcpy(e, num, (size_t)nl + 1);
    memcpy(e + nl + 1, k, kl + 1);
    m->keys[s] = e;
    return (int)m->n++;
}

static void idmap_free(struct idmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        aios_free(m->keys[i]);
    aios_free(m->keys);
}

/* ---- loading --------------------------------------------------------- */

static int load_settings(const char *dir, const char *sys, struct aios_ops_loghub *h,
                         struct aios_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/settings.json", dir);
    char *text = NULL;
    size_t len;
    int rc = aios_read_file(path, 1 << 20, &text, &len, err);
    if (rc)
        return rc;
    json_t *root = NULL, *all, *s, *arr;
    rc = aios_json_parse(text, len, 1 << 20, &root, err);
    aios_free(text);
    if (rc) {
        aios_err_prefix(err, "%s", path);
        return rc;
    }
    const char *fmt = NULL;
    double st = 0.5;
    int64_t depth = 4;
    if ((rc = aios_json_get_obj(root, "", "settings", true, &all, err)) ||
        (rc = aios_json_get_obj(all, "settings", sys, true, &s, err)) ||
        (rc = aios_json_get_str(s, sys, "log_format", true, &fmt, err)) ||
        (rc = aios_json_get_num(s, sys, "st", false, &st, err)) ||
        (rc = aios_json_get_int(s, sys, "depth", false, &depth, err)) ||
        (rc = aios_json_get_arr(s, sys, "regex", false, &arr, err)))
        goto out;
    h->log_format = aios_strdup(fmt);
    h->st = st;
    h->depth = (int)depth;
    size_t nre = arr ? json_array_size(arr) : 0;
    h->regex = aios_calloc(nre ? nre : 1, sizeof *h->regex);
    if (!h->log_format || !h->regex) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nre; i++) {
        const char *r = json_string_value(json_array_get(arr, i));
        if (!r) {
            rc = aios_err_set(err, AIOS_EINVAL, "%s: %s.regex[%zu]: expected a string", path, sys,
                              i);
            goto out;
        }
        if (!(h->regex[h->nregex] = aios_strdup(r))) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            goto out;
        }
        h->nregex++;
    }
out:
    if (rc && err && !strstr(err->msg, "settings.json"))
        aios_err_prefix(err, "%s", path);
    json_decref(root);
    return rc;
}

static double load_published(const char *dir, const char *sys)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/published.csv", dir);
    char *text = NULL;
    size_t len;
    if (aios_read_file(path, 1 << 20, &text, &len, NULL))
        return -1;
    struct csv c = {text, text + len, {0}};
    aios_buf_init(&c.field, LOGHUB_MAX_FIELD);
    int col = 0, want = -1, row = 0;
    bool eol, match = false;
    double v = -1;
    while (csv_field(&c, &eol) == 1) {
        if (row == 0 && strcmp(c.field.data, "Drain_GA") == 0)
            want = col;
        if (row > 0 && col == 0)
            match = strcmp(c.field.data, sys) == 0;
        if (row > 0 && match && col == want)
            aios_parse_double(c.field.data, &v);
        col++;
        if (eol) {
            row++;
            col = 0;
        }
    }
    aios_buf_free(&c.field);
    aios_free(text);
    return v;
}

static int load_lines(const char *path, struct aios_ops_loghub *h, struct aios_err *err)
{
    size_t len;
    int rc = aios_read_file(path, LOGHUB_MAX_FILE, &h->raw, &len, err);
    if (rc)
        return rc;
    size_t cap = 1024;
    h->lines = aios_malloc(cap * sizeof *h->lines);
    h->line_len = aios_malloc(cap * sizeof *h->line_len);
    if (!h->lines || !h->line_len)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    const char *p = h->raw, *end = h->raw + len;
    while (p < end) {
        const char *s = p;
        while (p < end && *p != '\n' && *p != '\r')
            p++;
        if (h->n == cap) {
            cap *= 2;
            const char **nl = aios_realloc(h->lines, cap * sizeof *nl);
            if (nl)
                h->lines = nl;
            size_t *nn = aios_realloc(h->line_len, cap * sizeof *nn);
            if (nn)
                h->line_len = nn;
            if (!nl || !nn)
                return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        }
        h->lines[h->n] = s;
        h->line_len[h->n] = (size_t)(p - s);
        h->n++;
        if (p < end && *p == '\r' && p + 1 < end && p[1] == '\n')
            p++;
        if (p < end)
            p++;
    }
    return AIOS_OK;
}

static int load_truth(const char *path, struct aios_ops_loghub *h, struct aios_err *err)
{
    char *text = NULL;
    size_t len;
    int rc = aios_read_file(path, LOGHUB_MAX_FILE, &text, &len, err);
    if (rc)
        return rc;
    struct csv c = {text, text + len, {0}};
    aios_buf_init(&c.field, LOGHUB_MAX_FIELD);
    struct idmap ids = {0};
    h->truth = aios_malloc((h->n ? h->n : 1) * sizeof *h->truth);
    h->truth_tpl = aios_calloc(h->n ? h->n : 1, sizeof *h->truth_tpl);
    if (!h->truth || !h->truth_tpl) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    int col = 0, cid = -1, ctpl = -1;
    size_t row = 0;
    bool eol;
    int r;
    while ((r = csv_field(&c, &eol)) == 1) {
        if (row == 0) {
            if (strcmp(c.field.data, "EventId") == 0)
                cid = col;
            else if (strcmp(c.field.data, "EventTemplate") == 0)
                ctpl = col;
        } else if (row - 1 >= h->n) {
            rc = aios_err_set(err, AIOS_EFORMAT, "%s: more rows than the log has lines (%zu)", path,
                              h->n);
            goto out;
        } else if (col == cid) {
            int id = c.field.len ? idmap_get(&ids, c.field.data) : -1;
            if (c.field.len && id < 0) {
                rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
                goto out;
            }
            h->truth[row - 1] = id;
        } else if (col == ctpl) {
            if (!(h->truth_tpl[row - 1] = aios_strdup(c.field.data))) {
                rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
                goto out;
            }
        }
        col++;
        if (eol) {
            if (row == 0 && (cid < 0 || ctpl < 0)) {
                rc = aios_err_set(err, AIOS_EFORMAT, "%s: no EventId/EventTemplate columns", path);
                goto out;
            }
            if (row > 0 && col <= (cid > ctpl ? cid : ctpl)) {
                rc = aios_err_set(err, AIOS_EFORMAT, "%s: row %zu is short", path, row);
                goto out;
            }
            row++;
            col = 0;
        }
    }
    if (r < 0) {
        rc = aios_err_set(err, AIOS_EFORMAT, "%s: bad CSV near row %zu", path, row);
        goto out;
    }
    if (row == 0 || row - 1 != h->n) {
        rc = aios_err_set(err, AIOS_EFORMAT, "%s: %zu rows for %zu log lines", path,
                          row ? row - 1 : 0, h->n);
        goto out;
    }
    h->ntruth_groups = (int)ids.n;
out:
    idmap_free(&ids);
    aios_buf_free(&c.field);
    aios_free(text);
    return rc;
}

int aios_ops_loghub_load(const char *dir, const char *sys, struct aios_ops_loghub *h,
                         struct aios_err *err)
{
    memset(h, 0, sizeof *h);
    int rc = load_settings(dir, sys, h, err);
    if (rc)
        goto fail;
    h->published_ga = load_published(dir, sys);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s_2k.log", dir, sys, sys);
    if ((rc = load_lines(path, h, err)) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/%s/%s_2k.log_structured_corrected.csv", dir, sys, sys);
    if ((rc = load_truth(path, h, err)) != 0)
        goto fail;
    return AIOS_OK;
fail:
    aios_ops_loghub_free(h);
    return rc;
}

int aios_ops_loghub_systems(const char *dir, char ***names, int *n, struct aios_err *err)
{
    *names = NULL;
    *n = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/settings.json", dir);
    char *text = NULL;
    size_t len;
    int rc = aios_read_file(path, 1 << 20, &text, &len, err);
    if (rc)
        return rc;
    json_t *root = NULL, *all;
    rc = aios_json_parse(text, len, 1 << 20, &root, err);
    aios_free(text);
    if (rc == AIOS_OK)
        rc = aios_json_get_obj(root, "", "settings", true, &all, err);
    if (rc) {
        aios_err_prefix(err, "%s", path);
        json_decref(root);
        return rc;
    }
    size_t k = json_object_size(all);
    char **v = aios_calloc(k ? k : 1, sizeof *v);
    if (!v) {
        json_decref(root);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    const char *key;
    json_t *val;
    int i = 0;
    json_object_foreach(all, key, val)
    {
        if (!(v[i] = aios_strdup(key))) {
            for (int j = 0; j < i; j++)
                aios_free(v[j]);
            aios_free(v);
            json_decref(root);
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        }
        i++;
    }
    json_decref(root);
    *names = v;
    *n = i;
    return AIOS_OK;
}
