/*
 * Metric series input: CSV "timestamp,value" with a header line, as NAB and
 * most metric exports write them, and the timestamp forms they use.
 * Bounded: at most AIOS_OPS_SERIES_MAX_ROWS rows and 1 GiB of text.
 */
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t len, size_t at, int n, int *out)
{
    if (at + (size_t)n > len)
        return -1;
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = s[at + (size_t)i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

int aios_ops_time_parse(const char *s, size_t len, int64_t *out)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '"'))
        len--;
    while (len > 0 && (*s == ' ' || *s == '"')) {
        s++;
        len--;
    }
    if (len == 0 || len > 64)
        return AIOS_EPARSE;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (len >= 10 && s[4] == '-' && s[7] == '-') {
        if (digits(s, len, 0, 4, &y) || digits(s, len, 5, 2, &mo) || digits(s, len, 8, 2, &d))
            return AIOS_EPARSE;
        size_t at = 10;
        if (len > 10) {
            if ((s[10] != ' ' && s[10] != 'T') || digits(s, len, 11, 2, &h) || len < 16 ||
                s[13] != ':' || digits(s, len, 14, 2, &mi))
                return AIOS_EPARSE;
            at = 16;
            if (at < len && s[at] == ':') {
                if (digits(s, len, 17, 2, &se))
                    return AIOS_EPARSE;
                at = 19;
                if (at < len && s[at] == '.') {
                    at++;
                    while (at < len && s[at] >= '0' && s[at] <= '9')
                        at++;
                }
            }
            if (at < len && s[at] == 'Z')
                at++;
        }
        if (at != len || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
            return AIOS_EPARSE;
        *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
        return AIOS_OK;
    }
    char tmp[72];
    memcpy(tmp, s, len);
    tmp[len] = 0;
    int64_t v;
    if (aios_parse_i64(tmp, &v) == AIOS_OK) {
        *out = v;
        return AIOS_OK;
    }
    double dv;
    if (aios_parse_double(tmp, &dv) == AIOS_OK && isfinite(dv) && fabs(dv) < 9e15) {
        *out = (int64_t)floor(dv);
        return AIOS_OK;
    }
    return AIOS_EPARSE;
}

const char *aios_ops_time_fmt(int64_t ts, char *buf, size_t size)
{
    int64_t days = ts >= 0 ? ts / 86400 : -((-ts + 86399) / 86400);
    int64_t sod = ts - days * 86400;
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, size, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld", (long long)y, (long long)m,
             (long long)d, (long long)(sod / 3600), (long long)(sod / 60 % 60),
             (long long)(sod % 60));
    return buf;
}

void aios_ops_series_free(struct aios_ops_series *s)
{
    aios_free(s->ts);
    aios_free(s->value);
    s->ts = NULL;
    s->value = NULL;
    s->n = 0;
}

int aios_ops_series_parse_csv(const char *text, size_t len, struct aios_ops_series *out,
                              struct aios_err *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, line = 0;
    const char *p = text, *end = text + len;
    int rc = AIOS_OK;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *ls = p;
        p = nl ? nl + 1 : end;
        size_t ll = (size_t)(le - ls);
        while (ll > 0 && (ls[ll - 1] == '\r' || ls[ll - 1] == ' '))
            ll--;
        if (line == 1 || ll == 0)
            continue; /* header, blank lines */
        const char *comma = memchr(ls, ',', ll);
        if (!comma) {
            rc = aios_err_set(err, AIOS_EFORMAT, "line %zu: expected timestamp,value", line);
            goto fail;
        }
        int64_t ts;
        if (aios_ops_time_parse(ls, (size_t)(comma - ls), &ts) != AIOS_OK) {
            rc = aios_err_set(err, AIOS_EFORMAT, "line %zu: bad timestamp '%.*s'", line,
                              (int)((comma - ls) > 40 ? 40 : (comma - ls)), ls);
            goto fail;
        }
        const char *vs = comma + 1;
        size_t vl = (size_t)(ls + ll - vs);
        const char *c2 = memchr(vs, ',', vl); /* extra columns are ignored */
        if (c2)
            vl = (size_t)(c2 - vs);
        char num[64];
        while (vl > 0 && (*vs == ' ' || *vs == '"')) {
            vs++;
            vl--;
        }
        while (vl > 0 && (vs[vl - 1] == ' ' || vs[vl - 1] == '"'))
            vl--;
        double v;
        if (vl == 0 || vl >= sizeof num) {
            rc = aios_err_set(err, AIOS_EFORMAT, "line %zu: bad value", line);
            goto fail;
        }
        memcpy(num, vs, vl);
        num[vl] = 0;
        if (aios_parse_double(num, &v) != AIOS_OK || !isfinite(v)) {
            rc = aios_err_set(err, AIOS_EFORMAT, "line %zu: bad value '%s'", line, num);
            goto fail;
        }
        if (out->n == cap) {
            if (cap >= AIOS_OPS_SERIES_MAX_ROWS) {
                rc = aios_err_set(err, AIOS_ELIMIT, "more than %d rows", AIOS_OPS_SERIES_MAX_ROWS);
                goto fail;
            }
            size_t nc = cap ? cap * 2 : 1024;
            if (nc > AIOS_OPS_SERIES_MAX_ROWS)
                nc = AIOS_OPS_SERIES_MAX_ROWS;
            int64_t *nt = aios_realloc(out->ts, nc * sizeof(int64_t));
            if (nt)
                out->ts = nt;
            double *nv = aios_realloc(out->value, nc * sizeof(double));
            if (nv)
                out->value = nv;
            if (!nt || !nv) {
                rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
                goto fail;
            }
            cap = nc;
        }
        out->ts[out->n] = ts;
        out->value[out->n] = v;
        out->n++;
    }
    if (line == 0)
        return aios_err_set(err, AIOS_EFORMAT, "empty file (expected a header line)");
    return AIOS_OK;
fail:
    aios_ops_series_free(out);
    return rc;
}

int aios_ops_series_read_csv(const char *path, struct aios_ops_series *out, struct aios_err *err)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = aios_read_file(path, (size_t)1 << 30, &text, &len, err);
    if (rc)
        return rc;
    rc = aios_ops_series_parse_csv(text, len, out, err);
    aios_free(text);
    if (rc)
        aios_err_prefix(err, "%s", path);
    return rc;
}
