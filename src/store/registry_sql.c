/*
 * The model registry's schema and queries (the typed functions declared in
 * the registry section of store.h). src/mlops/registry.c holds the rules
 * (names, references, lineage); this file only moves records in and out.
 *
 * Tables:
 *   registry_models    one row per registered model name
 *   registry_versions  its versions; (model_id, version) unique, version
 *                      numbers come from registry_models.last_version so a
 *                      deleted number is never handed out again
 *   registry_tags      key=value tags of a version
 *   registry_aliases   NAME@ALIAS -> a version of the same model (enforced
 *                      by the composite foreign key)
 * Deleting a model or a version cascades to what hangs off it.
 */
#include "store/store_impl.h"

#include <string.h>

/* Version 1 of the schema. Never edit once released: add a version. */
static const char registry_v1_sqlite[] =
    "CREATE TABLE registry_models ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('base', 'proprietary')),"
    " description TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " last_version INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE registry_versions ("
    " id INTEGER PRIMARY KEY,"
    " model_id INTEGER NOT NULL REFERENCES registry_models(id) ON DELETE CASCADE,"
    " version INTEGER NOT NULL CHECK (version >= 1),"
    " path TEXT NOT NULL,"
    " sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    " size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
    " architecture TEXT NOT NULL,"
    " n_params INTEGER NOT NULL,"
    " file_type TEXT NOT NULL,"
    " context_length INTEGER NOT NULL,"
    " tokenizer TEXT NOT NULL,"
    " metadata TEXT NOT NULL DEFAULT '{}',"
    " created_ms INTEGER NOT NULL,"
    " source_model TEXT,"
    " source_version INTEGER,"
    " lineage TEXT CHECK (lineage IS NULL OR lineage IN ('quantize', 'finetune', 'train')),"
    " UNIQUE (model_id, version),"
    " UNIQUE (model_id, id));"
    "CREATE TABLE registry_tags ("
    " version_id INTEGER NOT NULL REFERENCES registry_versions(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (version_id, key));"
    "CREATE TABLE registry_aliases ("
    " model_id INTEGER NOT NULL REFERENCES registry_models(id) ON DELETE CASCADE,"
    " alias TEXT NOT NULL,"
    " version_id INTEGER NOT NULL,"
    " PRIMARY KEY (model_id, alias),"
    " FOREIGN KEY (model_id, version_id) REFERENCES registry_versions(model_id, id)"
    "   ON DELETE CASCADE);"
    "CREATE INDEX registry_aliases_version ON registry_aliases(version_id);"
    "CREATE INDEX registry_versions_sha ON registry_versions(sha256);";

const struct store_migration store_registry_migrations[] = {
    {"registry", 1, "models, versions, tags, aliases", registry_v1_sqlite, NULL},
    {0},
};

/* ---- freeing ------------------------------------------------------------- */

void aios_store_model_free(struct aios_store_model *m)
{
    if (!m)
        return;
    aios_free(m->name);
    aios_free(m->kind);
    aios_free(m->description);
    memset(m, 0, sizeof *m);
}

void aios_store_model_version_free(struct aios_store_model_version *v)
{
    if (!v)
        return;
    aios_free(v->path);
    aios_free(v->sha256);
    aios_free(v->architecture);
    aios_free(v->file_type);
    aios_free(v->tokenizer);
    aios_free(v->metadata);
    aios_free(v->source_model);
    aios_free(v->lineage);
    memset(v, 0, sizeof *v);
}

void aios_store_models_free(struct aios_store_model *m, int n)
{
    for (int i = 0; i < n; i++)
        aios_store_model_free(&m[i]);
    aios_free(m);
}

void aios_store_model_versions_free(struct aios_store_model_version *v, int n)
{
    for (int i = 0; i < n; i++)
        aios_store_model_version_free(&v[i]);
    aios_free(v);
}

void aios_store_tags_free(struct aios_store_tag *t, int n)
{
    for (int i = 0; i < n; i++) {
        aios_free(t[i].key);
        aios_free(t[i].value);
    }
    aios_free(t);
}

void aios_store_aliases_free(struct aios_store_alias *a, int n)
{
    for (int i = 0; i < n; i++)
        aios_free(a[i].alias);
    aios_free(a);
}

/* ---- helpers ------------------------------------------------------------- */

/* Runs a statement to completion (one step: none of these return rows). */
static int run(struct store_stmt *s, struct aios_err *err)
{
    int rc = store_step(s, err);
    if (rc == STORE_ROW)
        rc = STORE_DONE;
    return rc;
}

#define MODEL_COLS "id, name, kind, description, created_ms, updated_ms, last_version"

static bool read_model(struct store_stmt *s, struct aios_store_model *m)
{
    bool ok = true;
    memset(m, 0, sizeof *m);
    m->id = store_col_i64(s, 0);
    m->name = store_col_dup(s, 1, &ok);
    m->kind = store_col_dup(s, 2, &ok);
    m->description = store_col_dup(s, 3, &ok);
    m->created_ms = store_col_i64(s, 4);
    m->updated_ms = store_col_i64(s, 5);
    m->last_version = store_col_i64(s, 6);
    if (!ok)
        aios_store_model_free(m);
    return ok;
}

#define VERSION_COLS                                                                               \
    "id, model_id, version, path, sha256, size_bytes, architecture, n_params, file_type, "         \
    "context_length, tokenizer, metadata, created_ms, source_model, source_version, lineage"

static bool read_version(struct store_stmt *s, struct aios_store_model_version *v)
{
    bool ok = true;
    memset(v, 0, sizeof *v);
    v->id = store_col_i64(s, 0);
    v->model_id = store_col_i64(s, 1);
    v->version = store_col_i64(s, 2);
    v->path = store_col_dup(s, 3, &ok);
    v->sha256 = store_col_dup(s, 4, &ok);
    v->size_bytes = store_col_i64(s, 5);
    v->architecture = store_col_dup(s, 6, &ok);
    v->n_params = store_col_i64(s, 7);
    v->file_type = store_col_dup(s, 8, &ok);
    v->context_length = store_col_i64(s, 9);
    v->tokenizer = store_col_dup(s, 10, &ok);
    v->metadata = store_col_dup(s, 11, &ok);
    v->created_ms = store_col_i64(s, 12);
    v->source_model = store_col_dup(s, 13, &ok);
    v->source_version = store_col_i64(s, 14);
    v->lineage = store_col_dup(s, 15, &ok);
    if (!ok)
        aios_store_model_version_free(v);
    return ok;
}

/* ---- models -------------------------------------------------------------- */

int aios_store_model_get(aios_store *st, const char *name, struct aios_store_model *out,
                         struct aios_err *err)
{
    struct store_stmt s;
    int rc =
        store_prepare(st, "SELECT " MODEL_COLS " FROM registry_models WHERE name = ?", &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "t", name);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW)
        rc = read_model(&s, out) ? AIOS_OK : store_oom(err);
    else if (rc == STORE_DONE)
        rc = AIOS_ENOTFOUND;
    store_finalize(&s);
    return rc;
}

int aios_store_model_insert(aios_store *st, struct aios_store_model *m, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "INSERT INTO registry_models (name, kind, description, created_ms, "
                           "updated_ms) VALUES (?, ?, ?, ?, ?) RETURNING id",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "tttii", m->name, m->kind, m->description ? m->description : "",
                        m->created_ms, m->updated_ms);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        m->id = store_col_i64(&s, 0);
        m->last_version = 0;
        rc = AIOS_OK;
    } else if (rc == STORE_DONE) {
        rc = aios_err_set(err, AIOS_EINTERNAL, "insert returned no id");
    } else if (rc == AIOS_EEXIST) {
        rc = aios_err_set(err, AIOS_EEXIST, "model '%s' already exists", m->name);
    }
    store_finalize(&s);
    return rc;
}

int aios_store_model_touch(aios_store *st, int64_t model_id, const char *description,
                           int64_t updated_ms, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "UPDATE registry_models SET updated_ms = ?, "
                           "description = COALESCE(?, description) WHERE id = ?",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "iti", updated_ms, description, model_id);
    if (!rc)
        rc = run(&s, err);
    store_finalize(&s);
    if (!rc && st->be->changes(st->conn) == 0)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "model id %lld not found", (long long)model_id);
    return rc;
}

int aios_store_model_next_version(aios_store *st, int64_t model_id, int64_t *version,
                                  struct aios_err *err)
{
    int rc = store_query_i64(st,
                             "UPDATE registry_models SET last_version = last_version + 1 "
                             "WHERE id = ? RETURNING last_version",
                             version, err, "i", model_id);
    if (rc == AIOS_ENOTFOUND)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "model id %lld not found", (long long)model_id);
    return rc;
}

int aios_store_model_list(aios_store *st, struct aios_store_model **out, int *n,
                          struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    struct store_stmt s;
    int rc = store_prepare(st, "SELECT " MODEL_COLS " FROM registry_models ORDER BY name", &s, err);
    if (rc)
        return rc;
    struct aios_store_model *arr = NULL;
    int cnt = 0, cap = 0;
    while ((rc = store_step(&s, err)) == STORE_ROW) {
        if ((rc = store_grow((void **)&arr, cnt, &cap, sizeof *arr)) != AIOS_OK) {
            aios_err_set(err, rc, "listing models: %s", aios_status_str(rc));
            break;
        }
        if (!read_model(&s, &arr[cnt])) {
            rc = store_oom(err);
            break;
        }
        cnt++;
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        aios_store_models_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return AIOS_OK;
}

/* DELETE ... WHERE id = ?; ENOTFOUND when nothing was deleted. */
static int delete_by_id(aios_store *st, const char *sql, int64_t id, const char *what,
                        struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st, sql, &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "i", id);
    if (!rc)
        rc = run(&s, err);
    store_finalize(&s);
    if (!rc && st->be->changes(st->conn) == 0)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "%s id %lld not found", what, (long long)id);
    return rc;
}

int aios_store_model_delete(aios_store *st, int64_t model_id, struct aios_err *err)
{
    return delete_by_id(st, "DELETE FROM registry_models WHERE id = ?", model_id, "model", err);
}

/* ---- versions ------------------------------------------------------------ */

int aios_store_model_version_insert(aios_store *st, struct aios_store_model_version *v,
                                    struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(
        st,
        "INSERT INTO registry_versions (model_id, version, path, sha256, size_bytes, "
        "architecture, n_params, file_type, context_length, tokenizer, metadata, created_ms, "
        "source_model, source_version, lineage) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "iittititittitit", v->model_id, v->version, v->path, v->sha256,
                        v->size_bytes, v->architecture, v->n_params, v->file_type,
                        v->context_length, v->tokenizer, v->metadata ? v->metadata : "{}",
                        v->created_ms, v->source_model, v->source_version, v->lineage);
    /* No source: the version number is NULL too, not 0. */
    if (!rc && !v->source_model && st->be->bind_null(s.h, 14) != AIOS_OK)
        rc = aios_err_set(err, AIOS_EINTERNAL, "binding query parameters");
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        v->id = store_col_i64(&s, 0);
        rc = AIOS_OK;
    } else if (rc == STORE_DONE) {
        rc = aios_err_set(err, AIOS_EINTERNAL, "insert returned no id");
    } else if (rc == AIOS_EEXIST) {
        rc = aios_err_set(err, AIOS_EEXIST, "version %lld already exists", (long long)v->version);
    }
    store_finalize(&s);
    return rc;
}

int aios_store_model_version_get(aios_store *st, int64_t model_id, int64_t version,
                                 struct aios_store_model_version *out, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(
        st, "SELECT " VERSION_COLS " FROM registry_versions WHERE model_id = ? AND version = ?", &s,
        err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "ii", model_id, version);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW)
        rc = read_version(&s, out) ? AIOS_OK : store_oom(err);
    else if (rc == STORE_DONE)
        rc = AIOS_ENOTFOUND;
    store_finalize(&s);
    return rc;
}

int aios_store_model_version_list(aios_store *st, int64_t model_id,
                                  struct aios_store_model_version **out, int *n,
                                  struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    struct store_stmt s;
    int rc = store_prepare(
        st, "SELECT " VERSION_COLS " FROM registry_versions WHERE model_id = ? ORDER BY version",
        &s, err);
    if (rc)
        return rc;
    struct aios_store_model_version *arr = NULL;
    int cnt = 0, cap = 0;
    rc = store_bind_all(&s, err, "i", model_id);
    while (!rc && (rc = store_step(&s, err)) == STORE_ROW) {
        if ((rc = store_grow((void **)&arr, cnt, &cap, sizeof *arr)) != AIOS_OK) {
            aios_err_set(err, rc, "listing versions: %s", aios_status_str(rc));
            break;
        }
        if (!read_version(&s, &arr[cnt])) {
            rc = store_oom(err);
            break;
        }
        cnt++;
        rc = AIOS_OK;
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        aios_store_model_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return AIOS_OK;
}

int aios_store_model_version_delete(aios_store *st, int64_t version_id, struct aios_err *err)
{
    return delete_by_id(st, "DELETE FROM registry_versions WHERE id = ?", version_id, "version",
                        err);
}

int aios_store_model_version_latest(aios_store *st, int64_t model_id, int64_t *version,
                                    struct aios_err *err)
{
    struct store_stmt s;
    int rc =
        store_prepare(st, "SELECT MAX(version) FROM registry_versions WHERE model_id = ?", &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "i", model_id);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        bool none = st->be->col_null(s.h, 0);
        *version = none ? 0 : store_col_i64(&s, 0);
        rc = none ? AIOS_ENOTFOUND : AIOS_OK;
    } else if (rc == STORE_DONE) {
        rc = AIOS_ENOTFOUND;
    }
    store_finalize(&s);
    return rc;
}

int aios_store_model_version_find_sha(aios_store *st, int64_t model_id, const char *sha256,
                                      int64_t *version, struct aios_err *err)
{
    return store_query_i64(st,
                           "SELECT version FROM registry_versions WHERE model_id = ? AND "
                           "sha256 = ? ORDER BY version LIMIT 1",
                           version, err, "it", model_id, sha256);
}

int aios_store_model_version_find_sha_any(aios_store *st, const char *sha256, char **model_name,
                                          int64_t *version, struct aios_err *err)
{
    *model_name = NULL;
    struct store_stmt s;
    int rc =
        store_prepare(st,
                      "SELECT m.name, v.version FROM registry_versions v JOIN registry_models m"
                      " ON m.id = v.model_id WHERE v.sha256 = ? ORDER BY v.id LIMIT 1",
                      &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "t", sha256);
    if (!rc)
        rc = store_step(&s, err);
    if (rc == STORE_ROW) {
        bool ok = true;
        *model_name = store_col_dup(&s, 0, &ok);
        *version = store_col_i64(&s, 1);
        rc = ok && *model_name ? AIOS_OK : store_oom(err);
    } else if (rc == STORE_DONE) {
        rc = AIOS_ENOTFOUND;
    }
    store_finalize(&s);
    return rc;
}

/* ---- tags ---------------------------------------------------------------- */

int aios_store_version_tag_set(aios_store *st, int64_t version_id, const char *key,
                               const char *value, struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "INSERT INTO registry_tags (version_id, key, value) VALUES (?, ?, ?) "
                           "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "itt", version_id, key, value);
    if (!rc)
        rc = run(&s, err);
    store_finalize(&s);
    return rc;
}

int aios_store_version_tag_list(aios_store *st, int64_t version_id, struct aios_store_tag **out,
                                int *n, struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    struct store_stmt s;
    int rc = store_prepare(
        st, "SELECT key, value FROM registry_tags WHERE version_id = ? ORDER BY key", &s, err);
    if (rc)
        return rc;
    struct aios_store_tag *arr = NULL;
    int cnt = 0, cap = 0;
    rc = store_bind_all(&s, err, "i", version_id);
    while (!rc && (rc = store_step(&s, err)) == STORE_ROW) {
        if ((rc = store_grow((void **)&arr, cnt, &cap, sizeof *arr)) != AIOS_OK) {
            aios_err_set(err, rc, "listing tags: %s", aios_status_str(rc));
            break;
        }
        bool ok = true;
        arr[cnt].key = store_col_dup(&s, 0, &ok);
        arr[cnt].value = store_col_dup(&s, 1, &ok);
        cnt++;
        if (!ok) {
            rc = store_oom(err);
            break;
        }
        rc = AIOS_OK;
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        aios_store_tags_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return AIOS_OK;
}

/* ---- aliases ------------------------------------------------------------- */

int aios_store_alias_set(aios_store *st, int64_t model_id, const char *alias, int64_t version_id,
                         struct aios_err *err)
{
    struct store_stmt s;
    int rc = store_prepare(st,
                           "INSERT INTO registry_aliases (model_id, alias, version_id) "
                           "VALUES (?, ?, ?) ON CONFLICT (model_id, alias) "
                           "DO UPDATE SET version_id = excluded.version_id",
                           &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "iti", model_id, alias, version_id);
    if (!rc)
        rc = run(&s, err);
    store_finalize(&s);
    if (rc == AIOS_EINVAL)
        rc = aios_err_set(err, AIOS_EINVAL, "alias '%s': the version is not one of this model",
                          alias);
    return rc;
}

int aios_store_alias_get(aios_store *st, int64_t model_id, const char *alias, int64_t *version,
                         struct aios_err *err)
{
    return store_query_i64(st,
                           "SELECT v.version FROM registry_aliases a JOIN registry_versions v "
                           "ON v.id = a.version_id WHERE a.model_id = ? AND a.alias = ?",
                           version, err, "it", model_id, alias);
}

int aios_store_alias_list(aios_store *st, int64_t model_id, int64_t version_id,
                          struct aios_store_alias **out, int *n, struct aios_err *err)
{
    *out = NULL;
    *n = 0;
    struct store_stmt s;
    int rc = store_prepare(st,
                           "SELECT a.alias, v.version FROM registry_aliases a "
                           "JOIN registry_versions v ON v.id = a.version_id "
                           "WHERE a.model_id = ? AND (? <= 0 OR a.version_id = ?) "
                           "ORDER BY a.alias",
                           &s, err);
    if (rc)
        return rc;
    struct aios_store_alias *arr = NULL;
    int cnt = 0, cap = 0;
    rc = store_bind_all(&s, err, "iii", model_id, version_id, version_id);
    while (!rc && (rc = store_step(&s, err)) == STORE_ROW) {
        if ((rc = store_grow((void **)&arr, cnt, &cap, sizeof *arr)) != AIOS_OK) {
            aios_err_set(err, rc, "listing aliases: %s", aios_status_str(rc));
            break;
        }
        bool ok = true;
        arr[cnt].alias = store_col_dup(&s, 0, &ok);
        arr[cnt].version = store_col_i64(&s, 1);
        cnt++;
        if (!ok) {
            rc = store_oom(err);
            break;
        }
        rc = AIOS_OK;
    }
    store_finalize(&s);
    if (rc != STORE_DONE) {
        aios_store_aliases_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return AIOS_OK;
}

int aios_store_alias_delete(aios_store *st, int64_t model_id, const char *alias,
                            struct aios_err *err)
{
    struct store_stmt s;
    int rc =
        store_prepare(st, "DELETE FROM registry_aliases WHERE model_id = ? AND alias = ?", &s, err);
    if (rc)
        return rc;
    rc = store_bind_all(&s, err, "it", model_id, alias);
    if (!rc)
        rc = run(&s, err);
    store_finalize(&s);
    if (!rc && st->be->changes(st->conn) == 0)
        rc = aios_err_set(err, AIOS_ENOTFOUND, "alias '%s' not found", alias);
    return rc;
}
