/*
 * Schema migrations: every module's versioned schema steps, applied when a
 * store opens and recorded in store_migrations.
 *
 * A module adds its migrations as a table in its own <module>_sql.c and one
 * line in `modules` below. Applying runs under one write transaction, so
 * two processes opening a fresh data directory at once apply each step
 * exactly once (the second waits, then finds nothing to do), and a crash
 * half-way leaves the previous schema intact.
 */
#include "store/store_impl.h"

#include <string.h>

static const struct store_migration *const modules[] = {
    store_registry_migrations,
    store_alarms_migrations,
    NULL,
};

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS store_migrations ("
                                       " module TEXT NOT NULL,"
                                       " version INTEGER NOT NULL,"
                                       " name TEXT NOT NULL,"
                                       " applied_ms INTEGER NOT NULL,"
                                       " PRIMARY KEY (module, version))";

/* Highest version of a module that the binary knows, after checking that
 * the table numbers it 1, 2, ... (an invariant of the code). */
static int known_version(const struct store_migration *m, struct aios_err *err)
{
    int v = 0;
    for (; m->module; m++) {
        if (m->version != v + 1)
            return aios_err_set(err, AIOS_EINTERNAL, "migration %s %d out of sequence", m->module,
                                m->version);
        v = m->version;
    }
    return v;
}

/* Applies what is missing for one module; the transaction is open. */
static int migrate_module(aios_store *st, const struct store_migration *table, struct aios_err *err)
{
    int known = known_version(table, err);
    if (known < 0)
        return known;
    if (known == 0)
        return AIOS_OK;
    const char *module = table[0].module;
    int applied = 0;
    int rc = aios_store_schema_version(st, module, &applied, err);
    if (rc)
        return rc;
    if (applied > known)
        return aios_err_set(err, AIOS_ESTATE,
                            "%s: schema of '%s' is at version %d but this aios knows only %d; "
                            "the database was written by a newer aios",
                            st->location, module, applied, known);
    for (const struct store_migration *m = table; m->module; m++) {
        if (m->version <= applied)
            continue;
        const char *sql = strcmp(st->be->dialect, "pg") == 0 ? m->sql_pg : m->sql_sqlite;
        if (!sql)
            return aios_err_set(err, AIOS_EUNSUPPORTED, "migration %s %d (%s) has no %s text",
                                module, m->version, m->name, st->be->dialect);
        rc = store_exec(st, sql, err);
        if (rc) {
            aios_err_prefix(err, "migration %s %d (%s)", module, m->version, m->name);
            return rc;
        }
        struct store_stmt s;
        rc = store_prepare(st,
                           "INSERT INTO store_migrations (module, version, name, applied_ms) "
                           "VALUES (?, ?, ?, ?)",
                           &s, err);
        if (rc)
            return rc;
        rc = store_bind_text(&s, 1, module);
        if (!rc)
            rc = store_bind_i64(&s, 2, m->version);
        if (!rc)
            rc = store_bind_text(&s, 3, m->name);
        if (!rc)
            rc = store_bind_i64(&s, 4, aios_wall_ms());
        if (rc)
            aios_err_set(err, rc, "recording migration %s %d: %s", module, m->version,
                         aios_status_str(rc));
        else
            rc = store_step(&s, err);
        store_finalize(&s);
        if (rc < 0)
            return rc;
        AIOS_DEBUG("store", "applied migration %s %d (%s)", module, m->version, m->name);
    }
    return AIOS_OK;
}

/* True when every module is at its known version (read without locking). */
static bool up_to_date(aios_store *st)
{
    for (int i = 0; modules[i]; i++) {
        int known = known_version(modules[i], NULL);
        int applied = 0;
        if (known > 0 &&
            (aios_store_schema_version(st, modules[i][0].module, &applied, NULL) != AIOS_OK ||
             applied != known))
            return false;
    }
    return true;
}

int store_migrate(aios_store *st, struct aios_err *err)
{
    if (up_to_date(st))
        return AIOS_OK;
    int rc = aios_store_begin(st, err);
    if (rc)
        return rc;
    rc = store_exec(st, create_table_sql, err);
    for (int i = 0; !rc && modules[i]; i++)
        rc = migrate_module(st, modules[i], err);
    if (rc) {
        aios_store_rollback(st, NULL);
        return rc;
    }
    return aios_store_commit(st, err);
}

int aios_store_migrations_json(aios_store *st, json_t **out, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "SELECT module, version, name, applied_ms FROM store_migrations "
                           "ORDER BY applied_ms, module, version",
                           &s, err);
    if (rc)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    while (!rc && (rc = store_step(&s, err)) == STORE_ROW) {
        json_t *o = json_pack("{s:s, s:I, s:s, s:I}", "module", store_col_text(&s, 0), "version",
                              (json_int_t)store_col_i64(&s, 1), "name", store_col_text(&s, 2),
                              "applied_ms", (json_int_t)store_col_i64(&s, 3));
        rc = o && json_array_append_new(arr, o) == 0
                 ? AIOS_OK
                 : aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return AIOS_OK;
}
