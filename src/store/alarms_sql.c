/*
 * Alarms and incidents: schema and queries (the typed functions declared in
 * the alarms section of store.h). src/ops/alarms.c and src/ops/incidents.c
 * hold the rules (payload validation, fingerprints, deduplication, grouping,
 * the incident window); this file only moves records in and out.
 *
 * Tables:
 *   ops_incidents  one row per incident: the grouping labels it was opened
 *                  for (group_key, canonical JSON), its worst severity, when
 *                  it opened, when an alarm last touched it and, once
 *                  closed, when. At most one open incident per group key
 *                  (partial unique index).
 *   ops_alarms     one row per alarm occurrence: fingerprint, labels and
 *                  annotations (JSON text), status firing/resolved, the
 *                  source's start/end times, when aios first and last
 *                  received it and how often, and its incident. At most one
 *                  firing alarm per fingerprint (partial unique index): that
 *                  is the deduplication invariant, enforced by the schema.
 * Counts of an incident's alarms are computed by the queries, not stored,
 * so they cannot drift.
 */
#include "store/store_impl.h"

#include <string.h>

/* Version 1 of the schema. Never edit once released: add a version. */
static const char alarms_v1_sqlite[] =
    "CREATE TABLE ops_incidents ("
    " id INTEGER PRIMARY KEY,"
    " group_key TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
    " severity TEXT NOT NULL,"
    " opened_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " closed_ms INTEGER);"
    "CREATE UNIQUE INDEX ops_incidents_open ON ops_incidents(group_key) WHERE status = 'open';"
    "CREATE TABLE ops_alarms ("
    " id INTEGER PRIMARY KEY,"
    " fingerprint TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),"
    " severity TEXT NOT NULL,"
    " labels TEXT NOT NULL DEFAULT '{}',"
    " annotations TEXT NOT NULL DEFAULT '{}',"
    " generator_url TEXT,"
    " starts_ms INTEGER NOT NULL,"
    " ends_ms INTEGER NOT NULL DEFAULT 0,"
    " first_ms INTEGER NOT NULL,"
    " last_ms INTEGER NOT NULL,"
    " resolved_ms INTEGER NOT NULL DEFAULT 0,"
    " count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),"
    " incident_id INTEGER NOT NULL REFERENCES ops_incidents(id) ON DELETE CASCADE);"
    "CREATE UNIQUE INDEX ops_alarms_firing ON ops_alarms(fingerprint) WHERE status = 'firing';"
    "CREATE INDEX ops_alarms_fp ON ops_alarms(fingerprint, starts_ms);"
    "CREATE INDEX ops_alarms_incident ON ops_alarms(incident_id);";

const struct store_migration store_alarms_migrations[] = {
    {"alarms", 1, "alarms and incidents", alarms_v1_sqlite, NULL},
    {0},
};

/* ---- freeing ------------------------------------------------------------- */

void aios_store_alarm_free(struct aios_store_alarm *a)
{
    if (!a)
        return;
    aios_free(a->fingerprint);
    aios_free(a->source);
    aios_free(a->name);
    aios_free(a->status);
    aios_free(a->severity);
    aios_free(a->labels);
    aios_free(a->annotations);
    aios_free(a->generator_url);
    memset(a, 0, sizeof *a);
}

void aios_store_alarms_free(struct aios_store_alarm *a, int n)
{
    for (int i = 0; i < n; i++)
        aios_store_alarm_free(&a[i]);
    aios_free(a);
}

void aios_store_incident_free(struct aios_store_incident *inc)
{
    if (!inc)
        return;
    aios_free(inc->group_key);
    aios_free(inc->title);
    aios_free(inc->status);
    aios_free(inc->severity);
    memset(inc, 0, sizeof *inc);
}

void aios_store_incidents_free(struct aios_store_incident *inc, int n)
{
    for (int i = 0; i < n; i++)
        aios_store_incident_free(&inc[i]);
    aios_free(inc);
}

/* ---- helpers ------------------------------------------------------------- */

#define ALARM_COLS                                                                                 \
    "id, fingerprint, source, name, status, severity, labels, annotations, generator_url, "        \
    "starts_ms, ends_ms, first_ms, last_ms, resolved_ms, count, incident_id"

static bool read_alarm(struct store_stmt *s, struct aios_store_alarm *a)
{
    bool ok = true;
    memset(a, 0, sizeof *a);
    a->id = store_col_i64(s, 0);
    a->fingerprint = store_col_dup(s, 1, &ok);
    a->source = store_col_dup(s, 2, &ok);
    a->name = store_col_dup(s, 3, &ok);
    a->status = store_col_dup(s, 4, &ok);
    a->severity = store_col_dup(s, 5, &ok);
    a->labels = store_col_dup(s, 6, &ok);
    a->annotations = store_col_dup(s, 7, &ok);
    a->generator_url = store_col_dup(s, 8, &ok);
    a->starts_ms = store_col_i64(s, 9);
    a->ends_ms = store_col_i64(s, 10);
    a->first_ms = store_col_i64(s, 11);
    a->last_ms = store_col_i64(s, 12);
    a->resolved_ms = store_col_i64(s, 13);
    a->count = store_col_i64(s, 14);
    a->incident_id = store_col_i64(s, 15);
    if (!ok)
        aios_store_alarm_free(a);
    return ok;
}

/* The counts come from ops_alarms at read time. */
#define INCIDENT_COLS                                                                              \
    "i.id, i.group_key, i.title, i.status, i.severity, i.opened_ms, i.updated_ms, "                \
    "COALESCE(i.closed_ms, 0), "                                                                   \
    "(SELECT count(*) FROM ops_alarms a WHERE a.incident_id = i.id), "                             \
    "(SELECT count(*) FROM ops_alarms a WHERE a.incident_id = i.id AND a.status = 'firing')"

static bool read_incident(struct store_stmt *s, struct aios_store_incident *inc)
{
    bool ok = true;
    memset(inc, 0, sizeof *inc);
    inc->id = store_col_i64(s, 0);
    inc->group_key = store_col_dup(s, 1, &ok);
    inc->title = store_col_dup(s, 2, &ok);
    inc->status = store_col_dup(s, 3, &ok);
    inc->severity = store_col_dup(s, 4, &ok);
    inc->opened_ms = store_col_i64(s, 5);
    inc->updated_ms = store_col_i64(s, 6);
    inc->closed_ms = store_col_i64(s, 7);
    inc->alarm_count = store_col_i64(s, 8);
    inc->firing_count = store_col_i64(s, 9);
    if (!ok)
        aios_store_incident_free(inc);
    return ok;
}

/* Runs a prepared, bound statement that returns at most one row of alarm
 * columns into *out; AIOS_ENOTFOUND (err untouched) when none. */
static int one_alarm(struct store_stmt *s, int rc, struct aios_store_alarm *out,
                     struct aios_err *err)
{
    if (!rc)
        rc = store_step(s, err);
    if (rc == STORE_ROW)
        rc = read_alarm(s, out) ? AIOS_OK : store_oom(err);
    else if (rc == STORE_DONE)
        rc = AIOS_ENOTFOUND;
    store_finalize(s);
    return rc;
}

static int one_incident(struct store_stmt *s, int rc, struct aios_store_incident *out,
                        struct aios_err *err)
{
    if (!rc)
        rc = store_step(s, err);
    if (rc == STORE_ROW)
        rc = read_incident(s, out) ? AIOS_OK : store_oom(err);
    else if (rc == STORE_DONE)
        rc = AIOS_ENOTFOUND;
    store_finalize(s);
    return rc;
}

/* ---- alarms -------------------------------------------------------------- */

int aios_store_alarm_find_firing(aios_store *st, const char *fingerprint,
                                 struct aios_store_alarm *out, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(
        st, "SELECT " ALARM_COLS " FROM ops_alarms WHERE fingerprint = ? AND status = 'firing'", &s,
        err);
    if (rc)
        return rc;
    return one_alarm(&s, store_bind_all(&s, err, "t", fingerprint), out, err);
}

int aios_store_alarm_find_resolved(aios_store *st, const char *fingerprint, int64_t starts_ms,
                                   struct aios_store_alarm *out, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "SELECT " ALARM_COLS " FROM ops_alarms WHERE fingerprint = ? AND "
                           "starts_ms = ? AND status = 'resolved' ORDER BY id DESC LIMIT 1",
                           &s, err);
    if (rc)
        return rc;
    return one_alarm(&s, store_bind_all(&s, err, "ti", fingerprint, starts_ms), out, err);
}

int aios_store_alarm_get(aios_store *st, int64_t id, struct aios_store_alarm *out,
                         struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st, "SELECT " ALARM_COLS " FROM ops_alarms WHERE id = ?", &s, err);
    if (rc)
        return rc;
    return one_alarm(&s, store_bind_all(&s, err, "i", id), out, err);
}

int aios_store_alarm_insert(aios_store *st, struct aios_store_alarm *a, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "INSERT INTO ops_alarms (fingerprint, source, name, status, severity, "
                           "labels, annotations, generator_url, starts_ms, ends_ms, first_ms, "
                           "last_ms, resolved_ms, count, incident_id) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "tttttttiiiiiiii", a->fingerprint, a->source, a->name, a->status,
                        a->severity, a->labels ? a->labels : "{}",
                        a->annotations ? a->annotations : "{}", a->generator_url, a->starts_ms,
                        a->ends_ms, a->first_ms, a->last_ms, a->resolved_ms,
                        a->count > 0 ? a->count : (int64_t)1, a->incident_id);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        a->id = store_col_i64(&s, 0);
        rc = AIOS_OK;
    } else if (rc == STORE_DONE) {
        rc = aios_err_set(err, AIOS_EINTERNAL, "insert returned no id");
    } else if (rc == AIOS_EEXIST) {
        rc = aios_err_set(err, AIOS_EEXIST, "alarm %s is already firing", a->fingerprint);
    }
    store_finalize(&s);
    return rc;
}

int aios_store_alarm_update(aios_store *st, const struct aios_store_alarm *a, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "UPDATE ops_alarms SET status = ?, severity = ?, labels = ?, "
                           "annotations = ?, generator_url = ?, ends_ms = ?, last_ms = ?, "
                           "resolved_ms = ?, count = ? WHERE id = ?",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "tttttiiiii", a->status, a->severity, a->labels ? a->labels : "{}",
                        a->annotations ? a->annotations : "{}", a->generator_url, a->ends_ms,
                        a->last_ms, a->resolved_ms, a->count, a->id);
    if (!rc) {
        rc = store_step(&s, err);
        if (rc == STORE_ROW)
            rc = STORE_DONE;
    }
    store_finalize(&s);
    if (!rc && st->be->changes(st->conn) == 0)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "alarm id %lld not found", (long long)a->id);
    return rc;
}

int aios_store_alarm_list(aios_store *st, const struct aios_store_alarm_filter *f,
                          struct aios_store_alarm **out, int *n, struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    struct store_stmt s;
    /* NULL/0 parameters switch a condition off. Newest first. */
    int rc = store_prepare(st,
                           "SELECT " ALARM_COLS " FROM ops_alarms WHERE (? IS NULL OR status = ?) "
                           "AND (? = 0 OR incident_id = ?) ORDER BY id DESC LIMIT ?",
                           &s, err);
    if (rc)
        return rc;
    const char *status = f ? f->status : NULL;
    int64_t inc = f ? f->incident_id : 0;
    int64_t limit = f && f->limit > 0 ? f->limit : (int64_t)1 << 30;
    rc = store_bind_all(&s, err, "ttiii", status, status, inc, inc, limit);
    struct aios_store_alarm *arr = NULL;
    int cnt = 0, cap = 0;
    while (!rc && (rc = store_step(&s, err)) == STORE_ROW) {
        if ((rc = store_grow((void **)&arr, cnt, &cap, sizeof *arr)) != AIOS_OK) {
            aios_err_set(err, rc, "listing alarms: %s", aios_status_str(rc));
            break;
        }
        if (!read_alarm(&s, &arr[cnt])) {
            rc = store_oom(err);
            break;
        }
        cnt++;
        rc = AIOS_OK;
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        aios_store_alarms_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return AIOS_OK;
}

/* ---- incidents ----------------------------------------------------------- */

int aios_store_incident_find_open(aios_store *st, const char *group_key,
                                  struct aios_store_incident *out, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "SELECT " INCIDENT_COLS
                           " FROM ops_incidents i WHERE i.group_key = ? AND i.status = 'open'",
                           &s, err);
    if (rc)
        return rc;
    return one_incident(&s, store_bind_all(&s, err, "t", group_key), out, err);
}

int aios_store_incident_get(aios_store *st, int64_t id, struct aios_store_incident *out,
                            struct aios_err *err)
{
    struct store_stmt s;
    int rc =
        store_prepare(st, "SELECT " INCIDENT_COLS " FROM ops_incidents i WHERE i.id = ?", &s, err);
    if (rc)
        return rc;
    return one_incident(&s, store_bind_all(&s, err, "i", id), out, err);
}

int aios_store_incident_insert(aios_store *st, struct aios_store_incident *inc,
                               struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "INSERT INTO ops_incidents (group_key, title, status, severity, "
                           "opened_ms, updated_ms) VALUES (?, ?, 'open', ?, ?, ?) RETURNING id",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "tttii", inc->group_key, inc->title, inc->severity, inc->opened_ms,
                        inc->updated_ms);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        inc->id = store_col_i64(&s, 0);
        rc = AIOS_OK;
    } else if (rc == STORE_DONE) {
        rc = aios_err_set(err, AIOS_EINTERNAL, "insert returned no id");
    } else if (rc == AIOS_EEXIST) {
        rc = aios_err_set(err, AIOS_EEXIST, "an incident is already open for %s", inc->group_key);
    }
    store_finalize(&s);
    return rc;
}

int aios_store_incident_touch(aios_store *st, int64_t id, const char *severity, int64_t updated_ms,
                              struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "UPDATE ops_incidents SET severity = COALESCE(?, severity), "
                           "updated_ms = CASE WHEN updated_ms > ? THEN updated_ms ELSE ? END "
                           "WHERE id = ?",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "tiii", severity, updated_ms, updated_ms, id);
    if (!rc) {
        rc = store_step(&s, err);
        if (rc == STORE_ROW)
            rc = STORE_DONE;
    }
    store_finalize(&s);
    if (!rc && st->be->changes(st->conn) == 0)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "incident id %lld not found", (long long)id);
    return rc;
}

int aios_store_incident_close_stale(aios_store *st, int64_t now_ms, int64_t window_ms,
                                    int64_t *closed, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "UPDATE ops_incidents SET status = 'closed', closed_ms = updated_ms + ? "
                           "WHERE status = 'open' AND updated_ms + ? <= ? AND NOT EXISTS "
                           "(SELECT 1 FROM ops_alarms a WHERE a.incident_id = ops_incidents.id "
                           "AND a.status = 'firing')",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "iii", window_ms, window_ms, now_ms);
    if (!rc) {
        rc = store_step(&s, err);
        if (rc == STORE_ROW)
            rc = STORE_DONE;
    }
    store_finalize(&s);
    if (!rc && closed)
        *closed = st->be->changes(st->conn);
    return rc;
}

int aios_store_incident_list(aios_store *st, const char *status, int64_t limit,
                             struct aios_store_incident **out, int *n, struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    struct store_stmt s;
    int rc = store_prepare(st,
                           "SELECT " INCIDENT_COLS " FROM ops_incidents i WHERE "
                           "(? IS NULL OR i.status = ?) ORDER BY i.id DESC LIMIT ?",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "tti", status, status, limit > 0 ? limit : (int64_t)1 << 30);
    struct aios_store_incident *arr = NULL;
    int cnt = 0, cap = 0;
    while (!rc && (rc = store_step(&s, err)) == STORE_ROW) {
        if ((rc = store_grow((void **)&arr, cnt, &cap, sizeof *arr)) != AIOS_OK) {
            aios_err_set(err, rc, "listing incidents: %s", aios_status_str(rc));
            break;
        }
        if (!read_incident(&s, &arr[cnt])) {
            rc = store_oom(err);
            break;
        }
        cnt++;
        rc = AIOS_OK;
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        aios_store_incidents_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return AIOS_OK;
}
