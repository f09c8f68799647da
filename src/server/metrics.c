/*
 * The metrics registry behind /metrics: counters, gauges and histograms with
 * labels, rendered in the Prometheus text exposition format 0.0.4
 * (# HELP / # TYPE lines, then one sample per line; histograms as cumulative
 * _bucket{le=...} series plus _sum and _count).
 *
 * Invariants: one mutex guards the whole registry (updates are a few
 * hundred per second at most; a scrape renders under the same lock so it
 * sees a consistent snapshot). Series are kept in insertion order in a
 * growing array per metric, bounded by AIOS_METRICS_MAX_SERIES so a label
 * value that comes from input cannot grow memory without bound.
 */
#include "server/server.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct series {
    char *values[AIOS_METRICS_MAX_LABELS];
    double v;       /* counter / gauge */
    double sum;     /* histogram */
    uint64_t count; /* histogram */
    uint64_t *hits; /* histogram: non-cumulative count per bucket, nb + 1 (+Inf) */
};

struct aios_metric {
    aios_metrics *reg;
    enum mtype type;
    char *name, *help;
    char *labels[AIOS_METRICS_MAX_LABELS];
    int nlabels;
    double bounds[AIOS_METRICS_MAX_BUCKETS];
    int nb;
    struct series *series;
    int nseries, capseries;
};

struct aios_metrics {
    pthread_mutex_t mu;
    struct aios_metric **m;
    int n, cap;
    uint64_t dropped;
};

aios_metrics *aios_metrics_create(void)
{
    aios_metrics *r = aios_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void metric_free(struct aios_metric *m)
{
    for (int i = 0; i < m->nseries; i++) {
        for (int j = 0; j < m->nlabels; j++)
            aios_free(m->series[i].values[j]);
        aios_free(m->series[i].hits);
    }
    aios_free(m->series);
    for (int j = 0; j < m->nlabels; j++)
        aios_free(m->labels[j]);
    aios_free(m->name);
    aios_free(m->help);
    aios_free(m);
}

void aios_metrics_destroy(aios_metrics *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        metric_free(r->m[i]);
    aios_free(r->m);
    pthread_mutex_destroy(&r->mu);
    aios_free(r);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics; labels also exclude ':' and the
 * reserved "__" prefix. */
static bool valid_name(const char *s, size_t n, bool label)
{
    if (n == 0)
        return false;
    if (label && n >= 2 && s[0] == '_' && s[1] == '_')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (!label && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static struct aios_metric *add_metric(aios_metrics *r, enum mtype type, const char *name,
                                      const char *help, const char *labels, const double *bounds,
                                      int nb)
{
    if (!r || !name || !valid_name(name, strlen(name), false))
        return NULL;
    if (type == M_HISTOGRAM) {
        if (!bounds || nb < 1 || nb > AIOS_METRICS_MAX_BUCKETS)
            return NULL;
        for (int i = 0; i < nb; i++)
            if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
                return NULL;
    }
    struct aios_metric *m = aios_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->reg = r;
    m->type = type;
    m->name = aios_strdup(name);
    m->help = aios_strdup(help ? help : "");
    if (!m->name || !m->help)
        goto fail;
    if (labels && *labels) {
        const char *p = labels;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (m->nlabels == AIOS_METRICS_MAX_LABELS || !valid_name(p, len, true) ||
                (type == M_HISTOGRAM && len == 2 && memcmp(p, "le", 2) == 0))
                goto fail;
            if (!(m->labels[m->nlabels++] = aios_strndup(p, len)))
                goto fail;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (type == M_HISTOGRAM) {
        memcpy(m->bounds, bounds, sizeof *bounds * (size_t)nb);
        m->nb = nb;
    }
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->m[i]->name, name) == 0) {
            pthread_mutex_unlock(&r->mu);
            goto fail;
        }
    }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        struct aios_metric **nm = aios_realloc(r->m, sizeof *nm * (size_t)cap);
        if (!nm) {
            pthread_mutex_unlock(&r->mu);
            goto fail;
        }
        r->m = nm;
        r->cap = cap;
    }
    r->m[r->n++] = m;
    pthread_mutex_unlock(&r->mu);
    return m;
fail:
    metric_free(m);
    return NULL;
}

struct aios_metric *aios_metrics_counter(aios_metrics *r, const char *name, const char *help,
                                         const char *labels)
{
    return add_metric(r, M_COUNTER, name, help, labels, NULL, 0);
}

struct aios_metric *aios_metrics_gauge(aios_metrics *r, const char *name, const char *help,
                                       const char *labels)
{
    return add_metric(r, M_GAUGE, name, help, labels, NULL, 0);
}

struct aios_metric *aios_metrics_histogram(aios_metrics *r, const char *name, const char *help,
                                           const char *labels, const double *bounds, int n)
{
    return add_metric(r, M_HISTOGRAM, name, help, labels, bounds, n);
}

/* The series for values, created on first use; NULL when the metric is full
 * or memory ran out. Called with the registry lock held. */
static struct series *find_series(struct aios_metric *m, const char *const *values, bool create)
{
    for (int i = 0; i < m->nseries; i++) {
        struct series *s = &m->series[i];
        int j = 0;
        for (; j < m->nlabels; j++)
            if (strcmp(s->values[j], values && values[j] ? values[j] : "") != 0)
                break;
        if (j == m->nlabels)
            return s;
    }
    if (!create || m->nseries >= AIOS_METRICS_MAX_SERIES)
        return NULL;
    if (m->nseries == m->capseries) {
        int cap = m->capseries ? m->capseries * 2 : 4;
        struct series *ns = aios_realloc(m->series, sizeof *ns * (size_t)cap);
        if (!ns)
            return NULL;
        m->series = ns;
        m->capseries = cap;
    }
    struct series s = {0};
    for (int j = 0; j < m->nlabels; j++) {
        s.values[j] = aios_strdup(values && values[j] ? values[j] : "");
        if (!s.values[j])
            goto fail;
    }
    if (m->type == M_HISTOGRAM && !(s.hits = aios_calloc((size_t)m->nb + 1, sizeof *s.hits)))
        goto fail;
    m->series[m->nseries] = s;
    return &m->series[m->nseries++];
fail:
    for (int j = 0; j < m->nlabels; j++)
        aios_free(s.values[j]);
    return NULL;
}

static void update(struct aios_metric *m, enum mtype want, const char *const *values, double v,
                   int op)
{
    if (!m || m->type != want)
        return;
    if (want == M_COUNTER && !(v >= 0))
        return; /* counters only go up; NaN refused too */
    pthread_mutex_lock(&m->reg->mu);
    struct series *s = find_series(m, values, true);
    if (!s) {
        m->reg->dropped++;
    } else if (op == 0) {
        s->v += v;
    } else if (op == 1) {
        s->v = v;
    } else {
        int b = 0;
        while (b < m->nb && v > m->bounds[b])
            b++;
        s->hits[b]++;
        s->count++;
        s->sum += v;
    }
    pthread_mutex_unlock(&m->reg->mu);
}

void aios_metric_add(struct aios_metric *m, const char *const *values, double v)
{
    if (m && m->type == M_GAUGE)
        update(m, M_GAUGE, values, v, 0);
    else
        update(m, M_COUNTER, values, v, 0);
}

void aios_metric_set(struct aios_metric *m, const char *const *values, double v)
{
    update(m, M_GAUGE, values, v, 1);
}

void aios_metric_observe(struct aios_metric *m, const char *const *values, double v)
{
    update(m, M_HISTOGRAM, values, v, 2);
}

double aios_metric_value(struct aios_metric *m, const char *const *values)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->reg->mu);
    struct series *s = find_series(m, values, false);
    double v = s ? (m->type == M_HISTOGRAM ? (double)s->count : s->v) : 0;
    pthread_mutex_unlock(&m->reg->mu);
    return v;
}

/* ---- rendering --------------------------------------------------------- */

/* Go-style float formatting as Prometheus expects: +Inf, -Inf, NaN, and
 * enough digits to round-trip. */
static int put_num(struct aios_buf *b, double v)
{
    if (isnan(v))
        return aios_buf_puts(b, "NaN");
    if (isinf(v))
        return aios_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 1e15)
        return aios_buf_printf(b, "%.0f", v);
    /* The shortest of %.15g..%.17g that reads back exactly: 0.005, not
     * 0.0050000000000000001. */
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return aios_buf_puts(b, tmp);
}

/* HELP text escapes \ and newline; label values also escape ". */
static int put_escaped(struct aios_buf *b, const char *s, bool quote)
{
    int rc = AIOS_OK;
    for (; *s && rc == AIOS_OK; s++) {
        if (*s == '\\')
            rc = aios_buf_puts(b, "\\\\");
        else if (*s == '\n')
            rc = aios_buf_puts(b, "\\n");
        else if (quote && *s == '"')
            rc = aios_buf_puts(b, "\\\"");
        else
            rc = aios_buf_putc(b, *s);
    }
    return rc;
}

/* {a="x",b="y"[,le="..."]} or nothing when there are no labels at all. */
static int put_labels(struct aios_buf *b, const struct aios_metric *m, const struct series *s,
                      const char *le)
{
    if (m->nlabels == 0 && !le)
        return AIOS_OK;
    int rc = aios_buf_putc(b, '{');
    for (int j = 0; j < m->nlabels && rc == AIOS_OK; j++) {
        rc = aios_buf_printf(b, "%s%s=\"", j ? "," : "", m->labels[j]);
        if (rc == AIOS_OK)
            rc = put_escaped(b, s->values[j], true);
        if (rc == AIOS_OK)
            rc = aios_buf_putc(b, '"');
    }
    if (le && rc == AIOS_OK)
        rc = aios_buf_printf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    if (rc == AIOS_OK)
        rc = aios_buf_putc(b, '}');
    return rc;
}

static int render_metric(struct aios_buf *b, const struct aios_metric *m)
{
    static const char *const tname[] = {"counter", "gauge", "histogram"};
    int rc = aios_buf_printf(b, "# HELP %s ", m->name);
    if (rc == AIOS_OK)
        rc = put_escaped(b, m->help, false);
    if (rc == AIOS_OK)
        rc = aios_buf_printf(b, "\n# TYPE %s %s\n", m->name, tname[m->type]);
    for (int i = 0; i < m->nseries && rc == AIOS_OK; i++) {
        const struct series *s = &m->series[i];
        if (m->type != M_HISTOGRAM) {
            rc = aios_buf_puts(b, m->name);
            if (rc == AIOS_OK)
                rc = put_labels(b, m, s, NULL);
            if (rc == AIOS_OK)
                rc = aios_buf_putc(b, ' ');
            if (rc == AIOS_OK)
                rc = put_num(b, s->v);
            if (rc == AIOS_OK)
                rc = aios_buf_putc(b, '\n');
            continue;
        }
        uint64_t cum = 0;
        for (int k = 0; k <= m->nb && rc == AIOS_OK; k++) {
            char le[64];
            if (k < m->nb) {
                struct aios_buf lb;
                aios_buf_init(&lb, sizeof le - 1);
                rc = put_num(&lb, m->bounds[k]);
                aios_strlcpy(le, lb.data ? lb.data : "0", sizeof le);
                aios_buf_free(&lb);
                if (rc)
                    break;
            } else {
                aios_strlcpy(le, "+Inf", sizeof le);
            }
            cum += s->hits[k];
            rc = aios_buf_printf(b, "%s_bucket", m->name);
            if (rc == AIOS_OK)
                rc = put_labels(b, m, s, le);
            if (rc == AIOS_OK)
                rc = aios_buf_printf(b, " %llu\n", (unsigned long long)cum);
        }
        if (rc == AIOS_OK)
            rc = aios_buf_printf(b, "%s_sum", m->name);
        if (rc == AIOS_OK)
            rc = put_labels(b, m, s, NULL);
        if (rc == AIOS_OK)
            rc = aios_buf_putc(b, ' ');
        if (rc == AIOS_OK)
            rc = put_num(b, s->sum);
        if (rc == AIOS_OK)
            rc = aios_buf_printf(b, "\n%s_count", m->name);
        if (rc == AIOS_OK)
            rc = put_labels(b, m, s, NULL);
        if (rc == AIOS_OK)
            rc = aios_buf_printf(b, " %llu\n", (unsigned long long)s->count);
    }
    return rc;
}

int aios_metrics_render(aios_metrics *r, struct aios_buf *out)
{
    int rc = AIOS_OK;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n && rc == AIOS_OK; i++)
        rc = render_metric(out, r->m[i]);
    if (rc == AIOS_OK)
        rc = aios_buf_printf(out,
                             "# HELP aios_metrics_dropped_total Metric updates dropped because a "
                             "metric had too many label sets.\n"
                             "# TYPE aios_metrics_dropped_total counter\n"
                             "aios_metrics_dropped_total %llu\n",
                             (unsigned long long)r->dropped);
    pthread_mutex_unlock(&r->mu);
    return rc;
}
