/*
 * store internals (private to src/store): the backend table, the statement
 * interface the per-module query files (registry_sql.c, ...) are written
 * against, and the migration table.
 *
 * Query files use only this interface, with `?` placeholders numbered from
 * 1 and SQL that SQLite and PostgreSQL both accept (RETURNING, ON CONFLICT
 * ... DO UPDATE, no INSERT OR REPLACE). A PostgreSQL backend rewrites `?`
 * into $n in its prepare; where the dialects really differ (DDL), the
 * migration carries one text per dialect.
 */
#ifndef AIOS_STORE_IMPL_H
#define AIOS_STORE_IMPL_H

#include "store/store.h"

/* step() results besides negative statuses. */
#define STORE_ROW 1
#define STORE_DONE 0

struct store_stmt;

/* A backend. conn and stmt are the backend's own objects. Every function
 * that can fail returns an aios status and fills err; constraint
 * violations map to AIOS_EEXIST (unique/primary key) or AIOS_EINVAL
 * (check/foreign key), a lock held past the timeout to AIOS_EBUSY. */
struct store_backend {
    const char *name;
    /* SQL dialect key used to pick migration texts: "sqlite", "pg". */
    const char *dialect;
    int (*open)(const struct aios_store_opts *opts, void **conn, char **location,
                struct aios_err *err);
    void (*close)(void *conn);
    /* Runs one or more statements without parameters. */
    int (*exec)(void *conn, const char *sql, struct aios_err *err);
    int (*prepare)(void *conn, const char *sql, void **stmt, struct aios_err *err);
    void (*finalize)(void *stmt);
    int (*bind_i64)(void *stmt, int idx, int64_t v);
    int (*bind_text)(void *stmt, int idx, const char *s); /* NULL binds NULL */
    int (*bind_null)(void *stmt, int idx);
    /* STORE_ROW, STORE_DONE or a negative status. */
    int (*step)(void *stmt, struct aios_err *err);
    int64_t (*col_i64)(void *stmt, int i);
    const char *(*col_text)(void *stmt, int i); /* NULL for SQL NULL; valid until next step */
    bool (*col_null)(void *stmt, int i);
    /* Rows changed by the last statement. */
    int64_t (*changes)(void *conn);
    /* Transactions: outermost (write-locking) and savepoints. */
    int (*tx_begin)(void *conn, struct aios_err *err);
    int (*tx_commit)(void *conn, struct aios_err *err);
    int (*tx_rollback)(void *conn, struct aios_err *err);
    int (*savepoint)(void *conn, int depth, struct aios_err *err);
    int (*release)(void *conn, int depth, struct aios_err *err);
    int (*rollback_to)(void *conn, int depth, struct aios_err *err);
    int (*check)(void *conn, struct aios_err *err);
};

extern const struct store_backend store_sqlite_backend;

struct aios_store {
    const struct store_backend *be;
    void *conn;
    char *location;
    int depth;
};

/* Statement helpers over st->be: prepare with the SQL in error messages. */
struct store_stmt {
    aios_store *st;
    void *h;
    const char *sql;
};
int store_prepare(aios_store *st, const char *sql, struct store_stmt *s, struct aios_err *err);
void store_finalize(struct store_stmt *s);
int store_bind_i64(struct store_stmt *s, int idx, int64_t v);
int store_bind_text(struct store_stmt *s, int idx, const char *v);
int store_step(struct store_stmt *s, struct aios_err *err);
/* Binds parameters 1.. in order from a spec: 't' a text (const char *),
 * 'i' an integer (int64_t). */
int store_bind_all(struct store_stmt *s, struct aios_err *err, const char *spec, ...);
/* Runs a query whose first column of its first row is an integer, with
 * parameters bound as store_bind_all binds them: AIOS_OK with *out set,
 * AIOS_ENOTFOUND (err untouched) when there is no row, or an error. */
int store_query_i64(aios_store *st, const char *sql, int64_t *out, struct aios_err *err,
                    const char *spec, ...);
/* Grows *arr (element size sz) to hold n+1 elements; AIOS_ELIMIT past 2^24. */
int store_grow(void **arr, int n, int *cap, size_t sz);
int store_oom(struct aios_err *err);
int64_t store_col_i64(struct store_stmt *s, int i);
const char *store_col_text(struct store_stmt *s, int i);
/* aios_strdup of a text column; *ok cleared on allocation failure (a NULL
 * column gives NULL and leaves *ok alone). */
char *store_col_dup(struct store_stmt *s, int i, bool *ok);
/* Prepare, bind nothing, step to the end: for fixed statements. */
int store_exec(aios_store *st, const char *sql, struct aios_err *err);

/* ---- migrations -------------------------------------------------------- */

/* One schema step of one module. Versions of a module start at 1 and rise
 * by 1; they are applied in table order and never edited once released
 * (a change is a new version). */
struct store_migration {
    const char *module;
    int version;
    const char *name;
    const char *sql_sqlite;
    const char *sql_pg; /* NULL until the PostgreSQL backend exists */
};

/* Each module's migrations, terminated by a zeroed entry. */
extern const struct store_migration store_registry_migrations[];
extern const struct store_migration store_alarms_migrations[];

int store_migrate(aios_store *st, struct aios_err *err);

#endif
