/*
 * The checks catalogue: validation of check files (YAML or JSON, one
 * validator for both), loading a directory of them with per-file error
 * reporting, the catalogue as JSON, and the example catalogue that
 * `aios checks init` writes.
 *
 * A file is all or nothing: any bad check (or a name already taken by an
 * earlier file) rejects the whole file, which is reported as a problem
 * with its name; the other files load. Files load in name order, so which
 * of two files defining one name wins is stable.
 */
#include "ops/ops_checks_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the detectors a check may name ------------------------------------ */

/* The detectors and their parameters are the detector table's
 * (aios_ops_detector_defs, src/ops/detect.c): a check can name exactly what
 * `aios detect` runs, with the same ranges. */
static const struct aios_ops_detector_param *param_find(const struct aios_ops_detector_def *d,
                                                        const char *name)
{
    for (const struct aios_ops_detector_param *p = d->params; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* ---- validation ---------------------------------------------------------- */

#define NAME_MAX_LEN 128
#define TEXT_MAX_LEN 4096

/* "30s", "5m", "1h", "1d" or a whole number of seconds. */
static int duration(const json_t *v, int64_t *secs)
{
    if (json_is_integer(v)) {
        *secs = json_integer_value(v);
        return AIOS_OK;
    }
    if (!json_is_string(v))
        return AIOS_EINVAL;
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n < 2 || n > 20)
        return AIOS_EINVAL;
    int64_t mul = s[n - 1] == 's'   ? 1
                  : s[n - 1] == 'm' ? 60
                  : s[n - 1] == 'h' ? 3600
                  : s[n - 1] == 'd' ? 86400
                                    : 0;
    char num[24];
    memcpy(num, s, n - 1);
    num[n - 1] = 0;
    int64_t k;
    if (!mul || num[0] < '0' || num[0] > '9' || aios_parse_i64(num, &k) != AIOS_OK ||
        k > INT64_MAX / mul)
        return AIOS_EINVAL;
    *secs = k * mul;
    return AIOS_OK;
}

static int field_err(struct aios_err *err, const char *path, const char *key, const char *fmt, ...)
    AIOS_PRINTF(4, 5);
static int field_err(struct aios_err *err, const char *path, const char *key, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return aios_err_set(err, AIOS_EINVAL, "%s%s%s: %s", path, *path ? "." : "", key, msg);
}

static int get_text(const json_t *o, const char *path, const char *key, bool required,
                    const char **out, struct aios_err *err)
{
    int rc = aios_json_get_str(o, path, key, required, out, err);
    if (rc || !*out)
        return rc;
    size_t len = json_string_length(json_object_get(o, key));
    if (len == 0 && required)
        return field_err(err, path, key, "must not be empty");
    if (len > TEXT_MAX_LEN)
        return field_err(err, path, key, "longer than %d bytes", TEXT_MAX_LEN);
    if (strlen(*out) != len)
        return field_err(err, path, key, "contains a NUL byte");
    return AIOS_OK;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.')))
            return false;
    }
    return true;
}

/* One check (path "checks[i]" or "" for a file holding one) into a new
 * normalised object. */
static int validate_check(const json_t *in, const char *path, json_t **out, struct aios_err *err)
{
    static const char *const known[] = {
        "name",     "description", "metric", "log", "interval", "detector", "params",
        "severity", "runbook",     "labels", "for", "enabled",  NULL};
    *out = NULL;
    if (!json_is_object(in))
        return aios_err_set(err, AIOS_EINVAL, "%s: expected a mapping (object)",
                            *path ? path : "file");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        bool ok = false;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok)
            return field_err(err, path, k,
                             "unknown field (fields: name, description, metric, "
                             "log, interval, detector, params, severity, runbook, "
                             "labels, for, enabled)");
    }
    const char *name = NULL, *desc = NULL, *metric = NULL, *log = NULL, *detector = NULL,
               *severity = NULL, *runbook = NULL;
    bool enabled = true;
    int rc = get_text(in, path, "name", true, &name, err);
    if (!rc && !name_ok(name))
        rc = field_err(err, path, "name",
                       "'%.64s' must be 1 to %d letters, digits, '_', '-' or '.', starting "
                       "with a letter or digit",
                       name, NAME_MAX_LEN);
    if (!rc)
        rc = get_text(in, path, "description", false, &desc, err);
    if (!rc)
        rc = get_text(in, path, "metric", false, &metric, err);
    if (!rc)
        rc = get_text(in, path, "log", false, &log, err);
    if (!rc && !metric == !log)
        rc = aios_err_set(err, AIOS_EINVAL,
                          "%s%smetric: a check judges exactly one of metric or log", path,
                          *path ? "." : "");
    if (!rc && ((metric && !*metric) || (log && !*log)))
        rc = field_err(err, path, metric ? "metric" : "log", "must not be empty");
    if (!rc)
        rc = get_text(in, path, "detector", true, &detector, err);
    const struct aios_ops_detector_def *det = NULL;
    if (!rc && !(det = aios_ops_detector_find(detector))) {
        char list[512] = "";
        for (const struct aios_ops_detector_def *d = aios_ops_detector_defs; d->name; d++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     d == aios_ops_detector_defs ? "" : ", ", d->name);
        rc = field_err(err, path, "detector", "unknown detector '%.64s' (known: %s)", detector,
                       list);
    }
    json_t *params = NULL, *labels = NULL;
    if (!rc)
        rc = aios_json_get_obj(in, path, "params", false, &params, err);
    if (!rc && params) {
        char sub[96];
        snprintf(sub, sizeof sub, "%s%sparams", path, *path ? "." : "");
        json_object_foreach(params, k, v)
        {
            const struct aios_ops_detector_param *p = param_find(det, k);
            if (!p) {
                char list[256] = "";
                for (const struct aios_ops_detector_param *q = det->params; q->name; q++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             q == det->params ? "" : ", ", q->name);
                rc = field_err(err, sub, k, "detector %s has no parameter '%.64s' (it has: %s)",
                               det->name, k, list);
                break;
            }
            if (!json_is_number(v)) {
                rc = field_err(err, sub, k, "expected a number");
                break;
            }
            double x = json_number_value(v);
            if (!(x >= p->min && x <= p->max)) {
                rc = field_err(err, sub, k, "%g is outside [%g, %g] for detector %s", x, p->min,
                               p->max, det->name);
                break;
            }
        }
    }
    if (!rc) {
        /* Severity: the four levels or their usual synonyms, normalised. */
        rc = get_text(in, path, "severity", true, &severity, err);
        if (!rc && !aios_ops_severity_norm(severity))
            rc = field_err(err, path, "severity",
                           "'%.32s' is not one of critical, error, warning, info", severity);
    }
    if (!rc)
        rc = get_text(in, path, "runbook", true, &runbook, err);
    if (!rc)
        rc = aios_json_get_obj(in, path, "labels", false, &labels, err);
    if (!rc && labels) {
        if (json_object_size(labels) > AIOS_OPS_ALARM_MAX_LABELS)
            rc = field_err(err, path, "labels", "more than %d labels", AIOS_OPS_ALARM_MAX_LABELS);
        char sub[96];
        snprintf(sub, sizeof sub, "%s%slabels", path, *path ? "." : "");
        json_object_foreach(labels, k, v)
        {
            if (rc)
                break;
            const char *dummy;
            if (!*k || strlen(k) > AIOS_OPS_ALARM_MAX_KEY)
                rc = field_err(err, sub, k, "label names must be 1 to %d bytes",
                               AIOS_OPS_ALARM_MAX_KEY);
            else
                rc = get_text(labels, sub, k, false, &dummy, err);
        }
    }
    int64_t interval = 60, for_s = 0;
    json_t *iv = json_object_get(in, "interval"), *fv = json_object_get(in, "for");
    if (!rc && iv && (duration(iv, &interval) || interval < 1 || interval > 86400))
        rc = field_err(err, path, "interval",
                       "expected a duration from 1s to 1d (\"30s\", \"5m\", \"1h\" or seconds)");
    if (!rc && fv && (duration(fv, &for_s) || for_s < 0 || for_s > 7 * 86400))
        rc = field_err(err, path, "for",
                       "expected a duration from 0s to 7d (\"0s\", \"5m\", \"1h\" or seconds)");
    if (!rc)
        rc = aios_json_get_bool(in, path, "enabled", false, &enabled, err);
    if (rc)
        return rc;
    /* "o" steals: the parameters and labels go in as new references. */
    json_t *pj = params ? json_incref(params) : json_object();
    json_t *lj = labels ? json_incref(labels) : json_object();
    json_t *o =
        pj && lj ? json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:s, s:o, s:s, s:s, s:o, s:I, "
                             "s:b}",
                             "name", name, "description", desc ? desc : "", "metric", metric, "log",
                             log, "interval_s", (json_int_t)interval, "detector", detector,
                             "params", pj, "severity", aios_ops_severity_norm(severity), "runbook",
                             runbook, "labels", lj, "for_s", (json_int_t)for_s, "enabled", enabled)
                 : NULL;
    if (!o) {
        if (!pj || !lj) {
            json_decref(pj);
            json_decref(lj);
        }
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    json_object_del(o, metric ? "log" : "metric"); /* only the one it judges */
    *out = o;
    return AIOS_OK;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

int aios_ops_checks_parse(const char *name, const char *text, size_t len, json_t **out,
                          struct aios_err *err)
{
    *out = NULL;
    json_t *doc = NULL;
    int rc = ends_with(name, ".json")
                 ? aios_json_parse(text, len, AIOS_OPS_CHECKS_FILE_MAX, &doc, err)
                 : checks_yaml_to_json(text, len, &doc, err);
    if (rc)
        return rc;
    json_t *list = NULL;
    const char *base = "checks";
    if (json_is_array(doc)) {
        list = doc;
    } else if (json_is_object(doc) && json_object_get(doc, "checks")) {
        if (json_object_size(doc) != 1) {
            json_decref(doc);
            return aios_err_set(err, AIOS_EINVAL,
                                "file: a catalogue file holds only \"checks\": [...]");
        }
        list = json_object_get(doc, "checks");
        if (!json_is_array(list)) {
            json_decref(doc);
            return aios_err_set(err, AIOS_EINVAL, "checks: expected a list");
        }
    } else if (json_is_object(doc)) {
        base = NULL; /* one check */
    } else {
        json_decref(doc);
        return aios_err_set(err, AIOS_EINVAL,
                            "file: expected {checks: [...]}, a list of checks or one check");
    }
    json_t *res = json_array();
    if (!res) {
        json_decref(doc);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    if (!base) {
        json_t *c;
        rc = validate_check(doc, "", &c, err);
        if (!rc && json_array_append_new(res, c))
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    } else if (json_array_size(list) > AIOS_OPS_CHECKS_MAX) {
        rc = aios_err_set(err, AIOS_ELIMIT, "%s: more than %d checks", base, AIOS_OPS_CHECKS_MAX);
    } else {
        for (size_t i = 0; !rc && i < json_array_size(list); i++) {
            char path[48];
            snprintf(path, sizeof path, "%s[%zu]", base, i);
            json_t *c;
            rc = validate_check(json_array_get(list, i), path, &c, err);
            if (!rc && json_array_append_new(res, c))
                rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            /* Names are unique within a file too. */
            for (size_t j = 0; !rc && j < i; j++)
                if (strcmp(json_string_value(json_object_get(c, "name")),
                           json_string_value(json_object_get(json_array_get(res, j), "name"))) == 0)
                    rc = aios_err_set(err, AIOS_EEXIST, "%s.name: '%s' is also %s[%zu].name", path,
                                      json_string_value(json_object_get(c, "name")), base, j);
        }
    }
    json_decref(doc);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return AIOS_OK;
}

/* ---- the catalogue -------------------------------------------------------- */

void aios_ops_checks_free(struct aios_ops_checks *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        aios_free(c->checks[i].file);
        json_decref(c->checks[i].json);
    }
    for (int i = 0; i < c->nproblems; i++) {
        aios_free(c->problems[i].file);
        aios_free(c->problems[i].message);
    }
    aios_free(c->checks);
    aios_free(c->problems);
    memset(c, 0, sizeof *c);
}

static const struct aios_ops_check *find(const struct aios_ops_checks *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->checks[i].name, name) == 0)
            return &c->checks[i];
    return NULL;
}

int aios_ops_checks_load_file(struct aios_ops_checks *c, const char *path, struct aios_err *err)
{
    char *text = NULL;
    size_t len = 0;
    json_t *list = NULL;
    int rc = aios_read_file(path, AIOS_OPS_CHECKS_FILE_MAX, &text, &len, err);
    if (!rc)
        rc = aios_ops_checks_parse(path, text, len, &list, err);
    aios_free(text);
    size_t n = json_array_size(list);
    if (!rc && (size_t)c->n + n > AIOS_OPS_CHECKS_MAX)
        rc = aios_err_set(err, AIOS_ELIMIT, "the catalogue would hold more than %d checks",
                          AIOS_OPS_CHECKS_MAX);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(list, i), "name"));
        const struct aios_ops_check *dup = find(c, name);
        if (dup)
            rc = aios_err_set(err, AIOS_EEXIST, "checks[%zu].name: '%s' is already defined in %s",
                              i, name, dup->file);
    }
    struct aios_ops_check *grown = NULL;
    if (!rc && n) {
        grown = aios_realloc(c->checks, ((size_t)c->n + n) * sizeof *grown);
        if (!grown)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        else
            c->checks = grown;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        struct aios_ops_check *k = &c->checks[c->n + (int)i];
        k->json = json_incref(json_array_get(list, i));
        k->name = json_string_value(json_object_get(k->json, "name"));
        k->file = aios_strdup(path);
        if (!k->file) {
            /* Undo this file's entries so the catalogue stays consistent. */
            for (size_t j = 0; j <= i; j++) {
                json_decref(c->checks[c->n + (int)j].json);
                aios_free(c->checks[c->n + (int)j].file);
            }
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        }
    }
    json_decref(list);
    if (rc) {
        if (rc != AIOS_ENOMEM && rc != AIOS_EIO && rc != AIOS_ENOTFOUND)
            aios_err_prefix(err, "%s", path);
        return rc;
    }
    c->n += (int)n;
    return AIOS_OK;
}

static int add_problem(struct aios_ops_checks *c, const char *file, const char *msg)
{
    struct aios_ops_check_problem *p =
        aios_realloc(c->problems, ((size_t)c->nproblems + 1) * sizeof *p);
    if (!p)
        return AIOS_ENOMEM;
    c->problems = p;
    p[c->nproblems].file = aios_strdup(file);
    p[c->nproblems].message = aios_strdup(msg);
    if (!p[c->nproblems].file || !p[c->nproblems].message) {
        aios_free(p[c->nproblems].file);
        aios_free(p[c->nproblems].message);
        return AIOS_ENOMEM;
    }
    c->nproblems++;
    return AIOS_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int aios_ops_checks_load_dir(const char *dir, struct aios_ops_checks *c, struct aios_err *err)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(dir);
    if (!d)
        return AIOS_OK; /* no directory: no checks (init writes one) */
    char **names = NULL;
    int n = 0, rc = AIOS_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !(ends_with(e->d_name, ".yaml") ||
                                     ends_with(e->d_name, ".yml") || ends_with(e->d_name, ".json")))
            continue;
        if (n >= AIOS_OPS_CHECKS_MAX_FILES) {
            rc = aios_err_set(err, AIOS_ELIMIT, "%s: more than %d checks files", dir,
                              AIOS_OPS_CHECKS_MAX_FILES);
            break;
        }
        char **nn = aios_realloc(names, (size_t)(n + 1) * sizeof *names);
        if (!nn || !(nn[n] = aios_strdup(e->d_name))) {
            names = nn ? nn : names;
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (!rc)
        qsort(names, (size_t)n, sizeof *names, cmp_name);
    for (int i = 0; !rc && i < n; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = aios_malloc(plen);
        if (!path) {
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
            break;
        }
        snprintf(path, plen, "%s/%s", dir, names[i]);
        struct aios_err ferr = {0};
        int frc = aios_ops_checks_load_file(c, path, &ferr);
        if (frc == AIOS_ENOMEM)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        else if (frc && add_problem(c, path, ferr.msg) != AIOS_OK)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        aios_free(path);
    }
    for (int i = 0; i < n; i++)
        aios_free(names[i]);
    aios_free(names);
    if (rc)
        aios_ops_checks_free(c);
    return rc;
}

json_t *aios_ops_checks_to_json(const struct aios_ops_checks *c)
{
    json_t *checks = json_array(), *problems = json_array();
    bool ok = checks && problems;
    for (int i = 0; ok && i < c->n; i++) {
        json_t *o = json_copy(c->checks[i].json);
        ok = o && json_object_set_new(o, "file", json_string(c->checks[i].file)) == 0 &&
             json_array_append_new(checks, o) == 0;
    }
    for (int i = 0; ok && i < c->nproblems; i++)
        ok = json_array_append_new(problems, json_pack("{s:s, s:s}", "file", c->problems[i].file,
                                                       "message", c->problems[i].message)) == 0;
    json_t *res = ok ? json_pack("{s:o, s:o}", "checks", checks, "problems", problems) : NULL;
    if (!res) {
        json_decref(checks);
        json_decref(problems);
    }
    return res;
}

int aios_ops_checks_init(const char *dir, bool force, char *path, size_t size, struct aios_err *err)
{
    int rc = aios_mkdir_p(dir, err);
    if (rc)
        return rc;
    snprintf(path, size, "%s/examples.yaml", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        if (!force)
            return aios_err_set(err, AIOS_EEXIST, "%s exists (--force replaces it)", path);
    }
    return aios_write_file_atomic(path, aios_ops_checks_example, strlen(aios_ops_checks_example),
                                  err);
}
