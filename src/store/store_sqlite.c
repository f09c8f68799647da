/*
 * The SQLite backend of the store: one database file, aios.db, under the
 * data directory.
 *
 * Connection settings, and why:
 *   journal_mode=WAL      readers never block the writer nor the writer the
 *                         readers, so `aios model list` runs while a
 *                         registration is in progress; the mode is stored in
 *                         the file, so every process sees it.
 *   synchronous=FULL      WAL with NORMAL survives a process crash but may
 *                         lose the last commits on power loss. What the
 *                         store records (registrations, tickets, audit) is
 *                         written rarely and must not vanish after the user
 *                         was told it is done, so every commit is fsynced;
 *                         bulk writers (ingestion) batch rows into one
 *                         transaction, which makes the cost one fsync each.
 *   foreign_keys=ON       the schema's ON DELETE CASCADE and references hold.
 *   busy_timeout          a writer waits for another process's transaction
 *                         instead of failing at once.
 * Transactions begin IMMEDIATE: the write lock is taken at BEGIN, so two
 * processes never both hold read locks and then deadlock upgrading.
 *
 * SQLite's own memory goes through the aios allocator (counted and capped
 * like the rest), installed once before the first connection.
 */
#include "store/store_impl.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

/* ---- memory: SQLite through aios_malloc --------------------------------- */

/* SQLite needs the size of each block; keep it in a 16-byte header (16 so
 * the block stays as aligned as aios_malloc's). */
#define MEMHDR 16

static void *sq_malloc(int n)
{
    if (n <= 0)
        return NULL;
    unsigned char *p = aios_malloc((size_t)n + MEMHDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + MEMHDR;
}

static void sq_free(void *p)
{
    if (p)
        aios_free((unsigned char *)p - MEMHDR);
}

static int sq_size(void *p)
{
    int n = 0;
    if (p)
        memcpy(&n, (unsigned char *)p - MEMHDR, sizeof n);
    return n;
}

static void *sq_realloc(void *p, int n)
{
    if (!p)
        return sq_malloc(n);
    if (n <= 0) {
        sq_free(p);
        return NULL;
    }
    unsigned char *q = aios_realloc((unsigned char *)p - MEMHDR, (size_t)n + MEMHDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    return q + MEMHDR;
}

static int sq_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sq_init(void *ud)
{
    return SQLITE_OK;
}

static void sq_shutdown(void *ud)
{
}

static pthread_once_t mem_once = PTHREAD_ONCE_INIT;

static void install_memory(void)
{
    static const sqlite3_mem_methods m = {sq_malloc,  sq_free, sq_realloc,  sq_size,
                                          sq_roundup, sq_init, sq_shutdown, NULL};
    /* Fails (harmlessly: SQLite keeps its own allocator) if something in the
     * process initialised SQLite first. */
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        AIOS_DEBUG("store", "SQLite was initialised elsewhere; its memory is not counted");
    sqlite3_initialize();
}

/* ---- errors -------------------------------------------------------------- */

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return AIOS_EBUSY;
    case SQLITE_NOMEM:
        return AIOS_ENOMEM;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return AIOS_EEXIST;
        return AIOS_EINVAL;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return AIOS_EFORMAT;
    case SQLITE_FULL:
        return AIOS_ELIMIT;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return AIOS_EIO;
    default:
        return AIOS_EINTERNAL;
    }
}

static int fail(sqlite3 *db, int rc, struct aios_err *err, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int code = map_rc(rc);
    if (code == AIOS_EBUSY)
        return aios_err_set(err, code, "%s: the database is locked by another process (%s)", what,
                            msg);
    return aios_err_set(err, code, "%s: %s", what, msg);
}

/* ---- connection ---------------------------------------------------------- */

static int sq_exec(void *conn, const char *sql, struct aios_err *err)
{
    int rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(conn, rc, err, sql);
    return AIOS_OK;
}

/* Switching to WAL needs a moment of exclusive access; a busy handler does
 * not cover every case of it, so retry for up to the busy timeout. */
static int set_wal(sqlite3 *db, int timeout_ms, struct aios_err *err)
{
    int waited = 0;
    for (;;) {
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(s);
        const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
        bool wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(s);
        if (wal)
            return AIOS_OK;
        if (rc == SQLITE_ROW) /* e.g. ":memory:" answers "memory" */
            return AIOS_OK;
        if ((rc & 0xff) != SQLITE_BUSY || waited >= timeout_ms)
            return fail(db, rc, err, "setting journal_mode=WAL");
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 20;
    }
}

static int sq_open(const struct aios_store_opts *opts, void **conn, char **location,
                   struct aios_err *err)
{
    pthread_once(&mem_once, install_memory);

    struct aios_buf path;
    aios_buf_init(&path, 8192);
    int rc = AIOS_OK;
    if (opts->path && *opts->path) {
        rc = aios_buf_puts(&path, opts->path);
    } else {
        const char *dir = opts->data_dir && *opts->data_dir ? opts->data_dir : ".";
        rc = aios_mkdir_p(dir, err);
        if (rc) {
            aios_buf_free(&path);
            return rc;
        }
        rc = aios_buf_printf(&path, "%s/aios.db", dir);
    }
    if (rc) {
        aios_buf_free(&path);
        return aios_err_set(err, rc, "store path too long");
    }

    sqlite3 *db = NULL;
    int src = sqlite3_open_v2(path.data, &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                  SQLITE_OPEN_EXRESCODE,
                              NULL);
    if (src != SQLITE_OK) {
        rc = fail(db, src, err, path.data);
        goto out;
    }
    int timeout = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 10000;
    sqlite3_busy_timeout(db, timeout);
    sqlite3_extended_result_codes(db, 1);
    rc = set_wal(db, timeout, err);
    if (!rc)
        rc = sq_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err);
    if (rc) {
        aios_err_prefix(err, "%s", path.data);
        goto out;
    }
    *conn = db;
    db = NULL;
    *location = aios_buf_detach(&path);
    if (!*location)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
out:
    if (db)
        sqlite3_close(db);
    aios_buf_free(&path);
    return rc;
}

static void sq_close(void *conn)
{
    if (conn)
        sqlite3_close_v2(conn);
}

/* ---- statements ---------------------------------------------------------- */

static int sq_prepare(void *conn, const char *sql, void **stmt, struct aios_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(conn, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail(conn, rc, err, "prepare");
    *stmt = s;
    return AIOS_OK;
}

static void sq_finalize(void *stmt)
{
    sqlite3_finalize(stmt);
}

static int sq_bind_i64(void *stmt, int idx, int64_t v)
{
    return sqlite3_bind_int64(stmt, idx, v) == SQLITE_OK ? AIOS_OK : AIOS_EINTERNAL;
}

static int sq_bind_text(void *stmt, int idx, const char *s)
{
    int rc =
        s ? sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, idx);
    if (rc == SQLITE_NOMEM)
        return AIOS_ENOMEM;
    return rc == SQLITE_OK ? AIOS_OK : AIOS_EINTERNAL;
}

static int sq_bind_null(void *stmt, int idx)
{
    return sqlite3_bind_null(stmt, idx) == SQLITE_OK ? AIOS_OK : AIOS_EINTERNAL;
}

static int sq_step(void *stmt, struct aios_err *err)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE)
        return STORE_DONE;
    return fail(sqlite3_db_handle(stmt), rc, err, "query");
}

static int64_t sq_col_i64(void *stmt, int i)
{
    return sqlite3_column_int64(stmt, i);
}

static const char *sq_col_text(void *stmt, int i)
{
    return (const char *)sqlite3_column_text(stmt, i);
}

static bool sq_col_null(void *stmt, int i)
{
    return sqlite3_column_type(stmt, i) == SQLITE_NULL;
}

static int64_t sq_changes(void *conn)
{
    return sqlite3_changes64(conn);
}

/* ---- transactions -------------------------------------------------------- */

static int sq_tx_begin(void *conn, struct aios_err *err)
{
    return sq_exec(conn, "BEGIN IMMEDIATE", err);
}

static int sq_tx_commit(void *conn, struct aios_err *err)
{
    return sq_exec(conn, "COMMIT", err);
}

static int sq_tx_rollback(void *conn, struct aios_err *err)
{
    /* A statement error may already have rolled the transaction back. */
    if (sqlite3_get_autocommit(conn))
        return AIOS_OK;
    return sq_exec(conn, "ROLLBACK", err);
}

static int sp_exec(void *conn, const char *verb, int depth, struct aios_err *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s aios_sp%d", verb, depth);
    return sq_exec(conn, sql, err);
}

static int sq_savepoint(void *conn, int depth, struct aios_err *err)
{
    return sp_exec(conn, "SAVEPOINT", depth, err);
}

static int sq_release(void *conn, int depth, struct aios_err *err)
{
    return sp_exec(conn, "RELEASE", depth, err);
}

static int sq_rollback_to(void *conn, int depth, struct aios_err *err)
{
    int rc = sp_exec(conn, "ROLLBACK TO", depth, err);
    if (!rc)
        rc = sp_exec(conn, "RELEASE", depth, err);
    return rc;
}

/* ---- check --------------------------------------------------------------- */

static int sq_check(void *conn, struct aios_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(conn, "PRAGMA integrity_check", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail(conn, rc, err, "integrity_check");
    int out = AIOS_OK;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(s, 0);
        if (!r || strcmp(r, "ok") != 0)
            out = aios_err_set(err, AIOS_EFORMAT, "integrity check: %s", r ? r : "(null)");
    } else {
        out = fail(conn, rc, err, "integrity_check");
    }
    sqlite3_finalize(s);
    if (out)
        return out;
    rc = sqlite3_prepare_v2(conn, "PRAGMA foreign_key_check", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail(conn, rc, err, "foreign_key_check");
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        out = aios_err_set(err, AIOS_EFORMAT,
                           "foreign key check: table %s row %lld references "
                           "a missing row in %s",
                           (const char *)sqlite3_column_text(s, 0),
                           (long long)sqlite3_column_int64(s, 1),
                           (const char *)sqlite3_column_text(s, 2));
    else if (rc != SQLITE_DONE)
        out = fail(conn, rc, err, "foreign_key_check");
    sqlite3_finalize(s);
    return out;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .dialect = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_i64 = sq_bind_i64,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_i64 = sq_col_i64,
    .col_text = sq_col_text,
    .col_null = sq_col_null,
    .changes = sq_changes,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .check = sq_check,
};
