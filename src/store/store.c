/*
 * The store handle: opening a backend, transactions (nested through
 * savepoints), the statement helpers the query files use, and the test
 * pause hook.
 *
 * Transaction depth, per handle:
 *
 *     0 --begin--> 1 (BEGIN IMMEDIATE) --begin--> 2 (SAVEPOINT aios_sp2) ...
 *     n --commit--> n-1 (RELEASE at n > 1, COMMIT at 1)
 *     n --rollback--> n-1 (ROLLBACK TO + RELEASE at n > 1, ROLLBACK at 1)
 */
#include "store/store_impl.h"

#include <stdarg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct store_backend *find_backend(const char *name)
{
    if (!name || !*name || strcmp(name, "sqlite") == 0)
        return &store_sqlite_backend;
    return NULL;
}

int aios_store_open(const struct aios_store_opts *opts, aios_store **out, struct aios_err *err)
{
    *out = NULL;
    const struct store_backend *be = find_backend(opts->backend);
    if (!be)
        return aios_err_set(err, AIOS_EUNSUPPORTED, "store backend '%s' is not built in",
                            opts->backend);
    aios_store *st = aios_calloc(1, sizeof *st);
    if (!st)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    st->be = be;
    int rc = be->open(opts, &st->conn, &st->location, err);
    if (!rc)
        rc = store_migrate(st, err);
    if (rc) {
        aios_store_close(st);
        return rc;
    }
    *out = st;
    return AIOS_OK;
}

int aios_store_open_dir(const char *data_dir, aios_store **out, struct aios_err *err)
{
    struct aios_store_opts o = {.data_dir = data_dir};
    return aios_store_open(&o, out, err);
}

void aios_store_close(aios_store *st)
{
    if (!st)
        return;
    if (st->depth > 0 && st->conn) {
        AIOS_WARN("store", "closing with %d transaction level(s) open: rolled back", st->depth);
        st->be->tx_rollback(st->conn, NULL);
    }
    if (st->conn)
        st->be->close(st->conn);
    aios_free(st->location);
    aios_free(st);
}

const char *aios_store_backend_name(const aios_store *st)
{
    return st->be->name;
}

const char *aios_store_location(const aios_store *st)
{
    return st->location;
}

/* ---- transactions -------------------------------------------------------- */

int aios_store_begin(aios_store *st, struct aios_err *err)
{
    int rc = st->depth == 0 ? st->be->tx_begin(st->conn, err)
                            : st->be->savepoint(st->conn, st->depth + 1, err);
    if (rc)
        return rc;
    st->depth++;
    return AIOS_OK;
}

int aios_store_commit(aios_store *st, struct aios_err *err)
{
    if (st->depth == 0)
        return aios_err_set(err, AIOS_ESTATE, "commit without a transaction");
    int rc;
    if (st->depth == 1) {
        rc = st->be->tx_commit(st->conn, err);
        if (rc)
            st->be->tx_rollback(st->conn, NULL);
    } else {
        rc = st->be->release(st->conn, st->depth, err);
    }
    /* A failed inner release leaves the savepoint open: the caller sees the
     * error and the outer level decides (normally a rollback). */
    if (!rc || st->depth == 1)
        st->depth--;
    return rc;
}

int aios_store_rollback(aios_store *st, struct aios_err *err)
{
    if (st->depth == 0)
        return aios_err_set(err, AIOS_ESTATE, "rollback without a transaction");
    int rc = st->depth == 1 ? st->be->tx_rollback(st->conn, err)
                            : st->be->rollback_to(st->conn, st->depth, err);
    st->depth--;
    return rc;
}

int aios_store_tx_depth(const aios_store *st)
{
    return st->depth;
}

int aios_store_check(aios_store *st, struct aios_err *err)
{
    return st->be->check(st->conn, err);
}

int aios_store_schema_version(aios_store *st, const char *module, int *out, struct aios_err *err)
{
    int64_t v = 0;
    int rc = store_query_i64(
        st, "SELECT COALESCE(MAX(version), 0) FROM store_migrations WHERE module = ?", &v, err, "t",
        module);
    if (rc == AIOS_ENOTFOUND)
        rc = AIOS_OK;
    *out = rc ? 0 : (int)v;
    return rc;
}

void aios_store_pause_point(const char *point)
{
    const char *at = getenv("AIOS_TEST_PAUSE_AT");
    if (!at || strcmp(at, point) != 0)
        return;
    int64_t secs = 60;
    const char *s = getenv("AIOS_TEST_PAUSE_S");
    if (s && aios_parse_i64(s, &secs) != AIOS_OK)
        secs = 60;
    fprintf(stderr, "aios: paused at %s\n", point);
    fflush(stderr);
    while (secs > 0)
        secs = (int64_t)sleep((unsigned)secs);
}

/* ---- statement helpers --------------------------------------------------- */

int store_prepare(aios_store *st, const char *sql, struct store_stmt *s, struct aios_err *err)
{
    s->st = st;
    s->h = NULL;
    s->sql = sql;
    return st->be->prepare(st->conn, sql, &s->h, err);
}

void store_finalize(struct store_stmt *s)
{
    if (s->h)
        s->st->be->finalize(s->h);
    s->h = NULL;
}

int store_bind_i64(struct store_stmt *s, int idx, int64_t v)
{
    return s->st->be->bind_i64(s->h, idx, v);
}

int store_bind_text(struct store_stmt *s, int idx, const char *v)
{
    return s->st->be->bind_text(s->h, idx, v);
}

int store_step(struct store_stmt *s, struct aios_err *err)
{
    return s->st->be->step(s->h, err);
}

int64_t store_col_i64(struct store_stmt *s, int i)
{
    return s->st->be->col_i64(s->h, i);
}

const char *store_col_text(struct store_stmt *s, int i)
{
    return s->st->be->col_text(s->h, i);
}

char *store_col_dup(struct store_stmt *s, int i, bool *ok)
{
    const char *t = store_col_text(s, i);
    if (!t)
        return NULL;
    char *d = aios_strdup(t);
    if (!d)
        *ok = false;
    return d;
}

int store_exec(aios_store *st, const char *sql, struct aios_err *err)
{
    return st->be->exec(st->conn, sql, err);
}

static int bind_allv(struct store_stmt *s, struct aios_err *err, const char *spec, va_list ap)
{
    int rc = AIOS_OK;
    for (int i = 0; spec[i] && !rc; i++) {
        if (spec[i] == 't')
            rc = store_bind_text(s, i + 1, va_arg(ap, const char *));
        else
            rc = store_bind_i64(s, i + 1, va_arg(ap, int64_t));
    }
    if (rc)
        aios_err_set(err, rc, "binding query parameters: %s", aios_status_str(rc));
    return rc;
}

int store_bind_all(struct store_stmt *s, struct aios_err *err, const char *spec, ...)
{
    va_list ap;
    va_start(ap, spec);
    int rc = bind_allv(s, err, spec, ap);
    va_end(ap);
    return rc;
}

int store_query_i64(aios_store *st, const char *sql, int64_t *out, struct aios_err *err,
                    const char *spec, ...)
{
    struct store_stmt s;
    int rc = store_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, spec);
    rc = bind_allv(&s, err, spec, ap);
    va_end(ap);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        *out = store_col_i64(&s, 0);
        rc = AIOS_OK;
    } else if (rc == STORE_DONE) {
        rc = AIOS_ENOTFOUND;
    }
    store_finalize(&s);
    return rc;
}

int store_grow(void **arr, int n, int *cap, size_t sz)
{
    if (n < *cap)
        return AIOS_OK;
    if (*cap > (1 << 24))
        return AIOS_ELIMIT;
    int nc = *cap ? *cap * 2 : 16;
    void *p = aios_realloc(*arr, (size_t)nc * sz);
    if (!p)
        return AIOS_ENOMEM;
    *arr = p;
    *cap = nc;
    return AIOS_OK;
}

int store_oom(struct aios_err *err)
{
    return aios_err_set(err, AIOS_ENOMEM, "out of memory");
}
