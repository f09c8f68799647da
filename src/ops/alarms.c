/*
 * Alarm payloads: validation of Alertmanager webhook (version 4) and
 * generic alarm payloads into a batch of alarms, and the small rules every
 * alarm obeys (fingerprint, severity words, RFC 3339 times, group keys).
 * Nothing here touches the store; incidents.c applies a batch.
 *
 * Validation is complete before anything is stored: every field is
 * type-checked and bounded (AIOS_OPS_ALARM_* in ops.h), and every error
 * message starts with the path of the bad field ("alerts[3].labels:
 * expected an object, got a string"), which the HTTP layer passes on as
 * the error's param.
 */
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

/* ---- small rules ------------------------------------------------------ */

#define FNV_OFFSET 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV_PRIME;
    }
    return h;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Alertmanager (prometheus/common model.LabelSet.Fingerprint): names
 * sorted bytewise, FNV-1a 64 over name 0xff value 0xff for each. */
void aios_ops_alarm_fingerprint(const json_t *labels, char hex[17])
{
    const char *keys[AIOS_OPS_ALARM_MAX_LABELS];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v)
    {
        if (n < AIOS_OPS_ALARM_MAX_LABELS)
            keys[n++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        const char *val = json_string_value(json_object_get(labels, keys[i]));
        h = fnv_add(h, keys[i]);
        h = (h ^ 0xffu) * FNV_PRIME;
        h = fnv_add(h, val ? val : "");
        h = (h ^ 0xffu) * FNV_PRIME;
    }
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
}

static bool ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

const char *aios_ops_severity_norm(const char *s)
{
    static const struct {
        const char *word, *norm;
    } words[] = {
        {"critical", "critical"}, {"crit", "critical"},
        {"fatal", "critical"},    {"emergency", "critical"},
        {"emerg", "critical"},    {"alert", "critical"},
        {"page", "critical"},     {"disaster", "critical"},
        {"p1", "critical"},       {"error", "error"},
        {"err", "error"},         {"major", "error"},
        {"high", "error"},        {"p2", "error"},
        {"warning", "warning"},   {"warn", "warning"},
        {"minor", "warning"},     {"medium", "warning"},
        {"average", "warning"},   {"p3", "warning"},
        {"info", "info"},         {"informational", "info"},
        {"information", "info"},  {"low", "info"},
        {"notice", "info"},       {"none", "info"},
        {"ok", "info"},           {"p4", "info"},
        {"p5", "info"},
    };
    if (!s)
        return NULL;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (ieq(s, words[i].word))
            return words[i].norm;
    return NULL;
}

int aios_ops_severity_rank(const char *s)
{
    const char *n = aios_ops_severity_norm(s);
    if (!n)
        return -1;
    return strcmp(n, "critical") == 0  ? 3
           : strcmp(n, "error") == 0   ? 2
           : strcmp(n, "warning") == 0 ? 1
                                       : 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar
 * arithmetic with March-based years, so leap days fall at a year's end). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int aios_ops_rfc3339_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return AIOS_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return AIOS_EINVAL;
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (nd == 0 || nd > 9)
            return AIOS_EINVAL;
        for (; nd < 3; nd++)
            frac_ms *= 10;
    }
    int64_t off_min = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
        /* UTC */
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return AIOS_EINVAL;
        off_min = (int64_t)(oh * 60 + om) * (*p == '-' ? -1 : 1);
    } else {
        return AIOS_EINVAL;
    }
    if (sec == 60)
        sec = 59; /* a leap second is the last second of its minute here */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
    int64_t v = secs * 1000 + frac_ms;
    *ms = v < 0 ? 0 : v;
    return AIOS_OK;
}

int aios_ops_alarm_group_by_check(const char *group_by, struct aios_err *err)
{
    if (!group_by || !*group_by)
        return AIOS_OK;
    int n = 0;
    const char *p = group_by;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len > AIOS_OPS_ALARM_MAX_KEY)
            return aios_err_set(err, AIOS_EINVAL,
                                "group_by '%s': label names must be 1 to %d bytes, comma-separated",
                                group_by, AIOS_OPS_ALARM_MAX_KEY);
        if (++n > AIOS_OPS_GROUP_BY_MAX)
            return aios_err_set(err, AIOS_EINVAL, "group_by '%s': more than %d labels", group_by,
                                AIOS_OPS_GROUP_BY_MAX);
        if (!e)
            break;
        p = e + 1;
    }
    return AIOS_OK;
}

char *aios_ops_alarm_group_key(const json_t *labels, const char *group_by)
{
    if (!group_by || !*group_by)
        group_by = AIOS_OPS_GROUP_BY_DEFAULT;
    json_t *g = json_object();
    if (!g)
        return NULL;
    const char *p = group_by;
    char name[AIOS_OPS_ALARM_MAX_KEY + 1];
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > AIOS_OPS_ALARM_MAX_KEY)
            len = AIOS_OPS_ALARM_MAX_KEY;
        memcpy(name, p, len);
        name[len] = 0;
        json_t *v = json_object_get(labels, name);
        if (len && v && json_object_set(g, name, v) != 0) {
            json_decref(g);
            return NULL;
        }
        if (!e)
            break;
        p = e + 1;
    }
    char *s = aios_json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(g);
    return s;
}

/* ---- validation --------------------------------------------------------- */

/* A bounded string without NUL bytes. */
static int check_text(const char *path, const char *key, const json_t *v, size_t max, bool nonempty,
                      struct aios_err *err)
{
    const char *sep = path && *path ? "." : "";
    size_t len = json_string_length(v);
    if (len > max)
        return aios_err_set(err, AIOS_ELIMIT, "%s%s%s: longer than %zu bytes", path, sep, key, max);
    if (strlen(json_string_value(v)) != len)
        return aios_err_set(err, AIOS_EINVAL, "%s%s%s: contains a NUL byte", path, sep, key);
    if (nonempty && len == 0)
        return aios_err_set(err, AIOS_EINVAL, "%s%s%s: must not be empty", path, sep, key);
    return AIOS_OK;
}

/* Optional (or required) bounded string field. */
static int get_text(const json_t *obj, const char *path, const char *key, bool required, size_t max,
                    const char **out, struct aios_err *err)
{
    const char *s = NULL;
    int rc = aios_json_get_str(obj, path, key, required, &s, err);
    if (rc || !s)
        return rc;
    rc = check_text(path, key, json_object_get(obj, key), max, required, err);
    if (!rc)
        *out = s;
    return rc;
}

/* An object of strings: label names 1..MAX_KEY bytes, values bounded. */
static int get_string_map(const json_t *obj, const char *path, const char *key, bool required,
                          size_t max_value, json_t **out, struct aios_err *err)
{
    json_t *m = NULL;
    int rc = aios_json_get_obj(obj, path, key, required, &m, err);
    if (rc || !m)
        return rc;
    char sub[160];
    snprintf(sub, sizeof sub, "%s%s%s", path, path && *path ? "." : "", key);
    if (json_object_size(m) > AIOS_OPS_ALARM_MAX_LABELS)
        return aios_err_set(err, AIOS_ELIMIT, "%s: more than %d entries", sub,
                            AIOS_OPS_ALARM_MAX_LABELS);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        size_t klen = strlen(k);
        if (klen == 0 || klen > AIOS_OPS_ALARM_MAX_KEY)
            return aios_err_set(err, AIOS_EINVAL, "%s: names must be 1 to %d bytes", sub,
                                AIOS_OPS_ALARM_MAX_KEY);
        if (!json_is_string(v))
            return aios_err_set(err, AIOS_EINVAL, "%s.%s: expected a string", sub, k);
        if ((rc = check_text(sub, k, v, max_value, false, err)))
            return rc;
    }
    *out = m;
    return AIOS_OK;
}

static int get_time(const json_t *obj, const char *path, const char *key, bool required,
                    bool allow_number, int64_t *out, struct aios_err *err)
{
    const char *sep = path && *path ? "." : "";
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return aios_err_set(err, AIOS_EINVAL, "%s%s%s: required field is missing", path, sep,
                                key);
        return AIOS_OK;
    }
    if (allow_number && json_is_number(v)) {
        double s = json_number_value(v);
        if (!(s >= 0 && s < 253402300800.0)) /* up to year 9999 */
            return aios_err_set(err, AIOS_EINVAL, "%s%s%s: %g is not a Unix time in seconds", path,
                                sep, key, s);
        *out = (int64_t)(s * 1000.0);
        return AIOS_OK;
    }
    if (!json_is_string(v))
        return aios_err_set(err, AIOS_EINVAL, "%s%s%s: expected an RFC 3339 time string%s", path,
                            sep, key, allow_number ? " or Unix seconds" : "");
    if (aios_ops_rfc3339_parse(json_string_value(v), out) != AIOS_OK)
        return aios_err_set(err, AIOS_EINVAL,
                            "%s%s%s: '%.64s' is not an RFC 3339 time (2026-11-29T09:00:00Z)", path,
                            sep, key, json_string_value(v));
    return AIOS_OK;
}

static int get_status(const json_t *obj, const char *path, bool required, const char **out,
                      struct aios_err *err)
{
    const char *s = NULL;
    int rc = aios_json_get_str(obj, path, "status", required, &s, err);
    if (rc || !s)
        return rc;
    if (strcmp(s, "firing") != 0 && strcmp(s, "resolved") != 0)
        return aios_err_set(err, AIOS_EINVAL, "%s%sstatus: expected \"firing\" or \"resolved\"",
                            path, path && *path ? "." : "");
    *out = s;
    return AIOS_OK;
}

/* A fingerprint as sent: 1..64 hex digits, kept in lower case. */
static int get_fingerprint(const json_t *obj, const char *path, char out[65], struct aios_err *err)
{
    const char *s = NULL;
    int rc = aios_json_get_str(obj, path, "fingerprint", false, &s, err);
    if (rc || !s)
        return rc;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
             (s[i] >= 'A' && s[i] <= 'F');
    if (!ok)
        return aios_err_set(err, AIOS_EINVAL, "%s%sfingerprint: expected 1 to 64 hex digits", path,
                            path && *path ? "." : "");
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    return AIOS_OK;
}

/* One Alertmanager alert (path "alerts[i]"). */
static int parse_am_alert(json_t *al, const char *path, struct aios_ops_alarm *a,
                          struct aios_err *err)
{
    if (!json_is_object(al))
        return aios_err_set(err, AIOS_EINVAL, "%s: expected an object", path);
    json_t *labels = NULL, *ann = NULL;
    int rc = get_status(al, path, true, &a->status, err);
    if (!rc)
        rc = get_string_map(al, path, "labels", true, AIOS_OPS_ALARM_MAX_LABEL, &labels, err);
    if (!rc)
        rc = get_string_map(al, path, "annotations", false, AIOS_OPS_ALARM_MAX_TEXT, &ann, err);
    if (!rc)
        rc = get_time(al, path, "startsAt", true, false, &a->starts_ms, err);
    if (!rc)
        rc = get_time(al, path, "endsAt", false, false, &a->ends_ms, err);
    if (!rc)
        rc = get_text(al, path, "generatorURL", false, AIOS_OPS_ALARM_MAX_LABEL, &a->generator_url,
                      err);
    if (!rc)
        rc = get_fingerprint(al, path, a->fingerprint, err);
    if (rc)
        return rc;
    a->labels = json_incref(labels);
    a->annotations = ann ? json_incref(ann) : json_object();
    if (!a->annotations)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    a->source = "alertmanager";
    const char *name = json_string_value(json_object_get(labels, "alertname"));
    a->name = name && *name ? name : "unnamed";
    const char *sev =
        aios_ops_severity_norm(json_string_value(json_object_get(labels, "severity")));
    a->severity = sev ? sev : "warning";
    if (!a->fingerprint[0])
        aios_ops_alarm_fingerprint(labels, a->fingerprint);
    if (a->generator_url && !*a->generator_url)
        a->generator_url = NULL;
    return AIOS_OK;
}

static int check_known_keys(const json_t *obj, const char *path, const char *const *known,
                            struct aios_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok)
            return aios_err_set(err, AIOS_EINVAL, "%s%s%.64s: unknown field", path,
                                path && *path ? "." : "", k);
    }
    return AIOS_OK;
}

/* One generic alarm (path "" for a single one, "alarms[i]" in a list). */
static int parse_generic(json_t *al, const char *path, struct aios_ops_alarm *a,
                         struct aios_err *err)
{
    static const char *const known[] = {"source",      "name",        "severity",  "status",
                                        "labels",      "annotations", "starts_at", "ends_at",
                                        "fingerprint", "url",         NULL};
    if (!json_is_object(al))
        return aios_err_set(err, AIOS_EINVAL, "%s: expected an object", *path ? path : "body");
    json_t *labels = NULL, *ann = NULL;
    const char *sev = NULL;
    int rc = check_known_keys(al, path, known, err);
    if (!rc)
        rc = get_text(al, path, "name", true, AIOS_OPS_ALARM_MAX_LABEL, &a->name, err);
    if (!rc)
        rc = get_text(al, path, "source", false, AIOS_OPS_ALARM_MAX_LABEL, &a->source, err);
    if (!rc)
        rc = aios_json_get_str(al, path, "severity", false, &sev, err);
    if (!rc && sev && !(a->severity = aios_ops_severity_norm(sev)))
        rc = aios_err_set(err, AIOS_EINVAL,
                          "%s%sseverity: '%.32s' is not one of critical, error, warning, info "
                          "(or a common synonym)",
                          path, *path ? "." : "", sev);
    if (!rc)
        rc = get_status(al, path, false, &a->status, err);
    if (!rc)
        rc = get_string_map(al, path, "labels", false, AIOS_OPS_ALARM_MAX_LABEL, &labels, err);
    if (!rc)
        rc = get_string_map(al, path, "annotations", false, AIOS_OPS_ALARM_MAX_TEXT, &ann, err);
    if (!rc)
        rc = get_time(al, path, "starts_at", false, true, &a->starts_ms, err);
    if (!rc)
        rc = get_time(al, path, "ends_at", false, true, &a->ends_ms, err);
    if (!rc)
        rc = get_text(al, path, "url", false, AIOS_OPS_ALARM_MAX_LABEL, &a->generator_url, err);
    if (!rc)
        rc = get_fingerprint(al, path, a->fingerprint, err);
    if (rc)
        return rc;
    if (labels && json_object_size(labels) >= AIOS_OPS_ALARM_MAX_LABELS &&
        !json_object_get(labels, "alertname"))
        return aios_err_set(err, AIOS_ELIMIT, "%s%slabels: more than %d entries with alertname",
                            path, *path ? "." : "", AIOS_OPS_ALARM_MAX_LABELS - 1);
    /* The label set is labels plus alertname = name (name wins). */
    a->labels = labels ? json_copy(labels) : json_object();
    a->annotations = ann ? json_incref(ann) : json_object();
    if (!a->labels || !a->annotations ||
        json_object_set_new(a->labels, "alertname", json_string(a->name)) != 0)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (!a->source || !*a->source)
        a->source = "generic";
    if (!a->severity)
        a->severity = "warning";
    if (!a->status)
        a->status = "firing";
    if (!a->fingerprint[0])
        aios_ops_alarm_fingerprint(a->labels, a->fingerprint);
    if (a->generator_url && !*a->generator_url)
        a->generator_url = NULL;
    return AIOS_OK;
}

/* Alertmanager's envelope: everything but alerts is checked for type only. */
static int parse_am_envelope(json_t *body, struct aios_err *err)
{
    const char *version = NULL, *s = NULL;
    json_t *o = NULL;
    int64_t i64;
    int rc = aios_json_get_str(body, "", "version", false, &version, err);
    if (!rc && version && strcmp(version, "4") != 0)
        rc = aios_err_set(err, AIOS_EINVAL, "version: expected \"4\", got \"%.16s\"", version);
    if (!rc)
        rc = get_status(body, "", false, &s, err);
    static const char *const strs[] = {"receiver", "externalURL", "groupKey", NULL};
    for (int i = 0; !rc && strs[i]; i++)
        rc = aios_json_get_str(body, "", strs[i], false, &s, err);
    static const char *const maps[] = {"groupLabels", "commonLabels", "commonAnnotations", NULL};
    for (int i = 0; !rc && maps[i]; i++)
        rc = get_string_map(body, "", maps[i], false, AIOS_OPS_ALARM_MAX_TEXT, &o, err);
    if (!rc)
        rc = aios_json_get_int(body, "", "truncatedAlerts", false, &i64, err);
    return rc;
}

void aios_ops_alarm_batch_free(struct aios_ops_alarm_batch *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->n; i++) {
        json_decref(b->alarms[i].labels);
        json_decref(b->alarms[i].annotations);
    }
    aios_free(b->alarms);
    memset(b, 0, sizeof *b);
}

static int parse_list(json_t *arr, const char *name, bool am, struct aios_ops_alarm_batch *b,
                      struct aios_err *err)
{
    size_t n = json_array_size(arr);
    if (n > AIOS_OPS_ALARMS_MAX)
        return aios_err_set(err, AIOS_ELIMIT, "%s: %zu alarms in one payload, more than %d", name,
                            n, AIOS_OPS_ALARMS_MAX);
    if (n && !(b->alarms = aios_calloc(n, sizeof *b->alarms)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char path[48];
        snprintf(path, sizeof path, "%s[%zu]", name, i);
        struct aios_ops_alarm *a = &b->alarms[i];
        b->n = (int)i + 1; /* so that free releases what this one took */
        int rc = am ? parse_am_alert(json_array_get(arr, i), path, a, err)
                    : parse_generic(json_array_get(arr, i), path, a, err);
        if (rc)
            return rc;
    }
    return AIOS_OK;
}

int aios_ops_alarm_parse(json_t *body, struct aios_ops_alarm_batch *b, struct aios_err *err)
{
    memset(b, 0, sizeof *b);
    if (!json_is_object(body))
        return aios_err_set(err, AIOS_EINVAL, "body: expected an object");
    json_t *arr = NULL;
    int rc;
    bool am = json_object_get(body, "alerts") || json_object_get(body, "version") ||
              json_object_get(body, "groupKey") || json_object_get(body, "receiver");
    if (am) {
        b->kind = "alertmanager";
        rc = parse_am_envelope(body, err);
        if (!rc)
            rc = aios_json_get_arr(body, "", "alerts", true, &arr, err);
        if (!rc)
            rc = parse_list(arr, "alerts", true, b, err);
    } else if (json_object_get(body, "alarms")) {
        b->kind = "generic";
        rc = aios_json_get_arr(body, "", "alarms", true, &arr, err);
        if (!rc && json_object_size(body) != 1)
            rc = aios_err_set(err, AIOS_EINVAL,
                              "body: a list of alarms is {\"alarms\": [...]} and nothing else");
        if (!rc)
            rc = parse_list(arr, "alarms", false, b, err);
    } else {
        b->kind = "generic";
        if (!(b->alarms = aios_calloc(1, sizeof *b->alarms)))
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
        b->n = 1;
        rc = parse_generic(body, "", b->alarms, err);
    }
    if (rc)
        aios_ops_alarm_batch_free(b);
    return rc;
}
