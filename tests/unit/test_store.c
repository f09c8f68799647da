/*
 * Unit tests of src/store: opening (file under the data directory, WAL,
 * migrations recorded once, a newer schema and a non-database refused),
 * transactions (commit, rollback, savepoint nesting, misuse), two handles
 * on one file (the write lock and the busy timeout), the consistency
 * check, the registry's typed functions with their constraint errors and
 * cascades, and allocation failure at every point of an open and a write.
 * The database is inspected with SQLite directly where the store
 * deliberately offers no way to look (pragmas, raw rows).
 */
#include "test.h"

#include "store/store.h"

#include <sqlite3.h>
#include <unistd.h>

static char dirbuf[4096];

static const char *fresh_dir(const char *name)
{
    const char *d = test_tmpdir(name);
    snprintf(dirbuf, sizeof dirbuf, "%s", d ? d : "/nonexistent");
    return dirbuf;
}

/* One integer from SQL run on the file directly (-1 on error). */
static long long raw_int(const char *dir, const char *sql)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/aios.db", dir);
    sqlite3 *db;
    long long v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(db);
    return v;
}

static int raw_exec(const char *dir, const char *sql)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/aios.db", dir);
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int64_t add_model(aios_store *st, const char *name)
{
    struct aios_store_model m = {
        .name = (char *)name, .kind = "base", .created_ms = 1, .updated_ms = 1};
    struct aios_err err;
    int rc = aios_store_model_insert(st, &m, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    return rc ? -1 : m.id;
}

static bool has_model(aios_store *st, const char *name)
{
    struct aios_store_model m;
    int rc = aios_store_model_get(st, name, &m, NULL);
    if (rc == AIOS_OK)
        aios_store_model_free(&m);
    return rc == AIOS_OK;
}

static void test_open_and_migrations(void)
{
    const char *dir = fresh_dir("store_open");
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/nested/data", dir);
    aios_store *st;
    struct aios_err err;
    CHECK_EQ_INT(aios_store_open_dir(sub, &st, &err), AIOS_OK);
    CHECK_EQ_STR(aios_store_backend_name(st), "sqlite");
    CHECK(strstr(aios_store_location(st), "/nested/data/aios.db") != NULL);
    int v = -1;
    CHECK_EQ_INT(aios_store_schema_version(st, "registry", &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(aios_store_schema_version(st, "nothing", &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    json_t *migs = NULL;
    CHECK_EQ_INT(aios_store_migrations_json(st, &migs, &err), AIOS_OK);
    /* Other modules (alarms, ...) add their own rows; registry's is there. */
    int nmigs = (int)json_array_size(migs);
    CHECK(nmigs >= 1);
    int registry_rows = 0;
    for (int i = 0; i < nmigs; i++) {
        json_t *m = json_array_get(migs, (size_t)i);
        if (strcmp(json_string_value(json_object_get(m, "module")), "registry") == 0) {
            registry_rows++;
            CHECK_EQ_INT(json_integer_value(json_object_get(m, "version")), 1);
        }
    }
    CHECK_EQ_INT(registry_rows, 1);
    json_decref(migs);
    aios_store_close(st);

    /* WAL is a property of the file, so a plain connection sees it. */
    CHECK_EQ_INT(raw_int(sub, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    CHECK_EQ_INT(raw_int(sub, "SELECT count(*) FROM store_migrations"), nmigs);
    /* Reopening applies nothing again. */
    CHECK_EQ_INT(aios_store_open_dir(sub, &st, &err), AIOS_OK);
    aios_store_close(st);
    CHECK_EQ_INT(raw_int(sub, "SELECT count(*) FROM store_migrations"), nmigs);

    /* A database from a newer aios is refused, not misread. */
    CHECK_EQ_INT(raw_exec(sub, "INSERT INTO store_migrations VALUES ('registry', 2, 'x', 0)"),
                 SQLITE_OK);
    CHECK_EQ_INT(aios_store_open_dir(sub, &st, &err), AIOS_ESTATE);
    CHECK(strstr(err.msg, "newer aios") != NULL);

    /* Unknown backend. */
    struct aios_store_opts o = {.backend = "oracle", .data_dir = dir};
    CHECK_EQ_INT(aios_store_open(&o, &st, &err), AIOS_EUNSUPPORTED);
    CHECK(st == NULL);
}

static void test_not_a_database(void)
{
    const char *dir = fresh_dir("store_notdb");
    char path[4200];
    snprintf(path, sizeof path, "%s/aios.db", dir);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    CHECK_EQ_INT(aios_write_file_atomic(path, junk, sizeof junk, NULL), AIOS_OK);
    aios_store *st = NULL;
    struct aios_err err;
    int rc = aios_store_open_dir(dir, &st, &err);
    CHECK_EQ_INT(rc, AIOS_EFORMAT);
    CHECK(st == NULL);
    CHECK(strstr(err.msg, "aios.db") != NULL);
    /* A data directory that is a file. */
    snprintf(path, sizeof path, "%s/file", dir);
    CHECK_EQ_INT(aios_write_file_atomic(path, "x", 1, NULL), AIOS_OK);
    CHECK(aios_store_open_dir(path, &st, &err) != AIOS_OK);
}

static void test_transactions(void)
{
    struct aios_store_opts o = {.path = ":memory:"};
    aios_store *st;
    struct aios_err err;
    CHECK_EQ_INT(aios_store_open(&o, &st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_tx_depth(st), 0);
    CHECK_EQ_INT(aios_store_commit(st, &err), AIOS_ESTATE);
    CHECK_EQ_INT(aios_store_rollback(st, &err), AIOS_ESTATE);

    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    add_model(st, "rolled");
    CHECK(has_model(st, "rolled"));
    CHECK_EQ_INT(aios_store_rollback(st, &err), AIOS_OK);
    CHECK(!has_model(st, "rolled"));

    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    add_model(st, "outer");
    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_tx_depth(st), 2);
    add_model(st, "inner-undone");
    CHECK_EQ_INT(aios_store_rollback(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    add_model(st, "inner-kept");
    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_tx_depth(st), 3);
    add_model(st, "deepest");
    CHECK_EQ_INT(aios_store_commit(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_commit(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_commit(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_tx_depth(st), 0);
    CHECK(has_model(st, "outer"));
    CHECK(!has_model(st, "inner-undone"));
    CHECK(has_model(st, "inner-kept"));
    CHECK(has_model(st, "deepest"));

    /* Rolling back the outer level undoes committed inner levels too. */
    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    add_model(st, "inner-of-rolled");
    CHECK_EQ_INT(aios_store_commit(st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_rollback(st, &err), AIOS_OK);
    CHECK(!has_model(st, "inner-of-rolled"));

    /* Closing with a transaction open rolls it back (nothing leaks). */
    CHECK_EQ_INT(aios_store_begin(st, &err), AIOS_OK);
    aios_store_close(st);
}

static void test_two_handles(void)
{
    const char *dir = fresh_dir("store_two");
    struct aios_store_opts o = {.data_dir = dir, .busy_timeout_ms = 100};
    aios_store *a, *b;
    struct aios_err err;
    CHECK_EQ_INT(aios_store_open(&o, &a, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_open(&o, &b, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_begin(a, &err), AIOS_OK);
    add_model(a, "from-a");
    /* b cannot take the write lock while a holds it... */
    CHECK_EQ_INT(aios_store_begin(b, &err), AIOS_EBUSY);
    CHECK(strstr(err.msg, "locked") != NULL);
    CHECK_EQ_INT(aios_store_tx_depth(b), 0);
    /* ...but reads the last committed state meanwhile (WAL). */
    CHECK(!has_model(b, "from-a"));
    CHECK_EQ_INT(aios_store_commit(a, &err), AIOS_OK);
    CHECK(has_model(b, "from-a"));
    CHECK_EQ_INT(aios_store_begin(b, &err), AIOS_OK);
    add_model(b, "from-b");
    CHECK_EQ_INT(aios_store_commit(b, &err), AIOS_OK);
    CHECK(has_model(a, "from-b"));
    aios_store_close(a);
    aios_store_close(b);
}

static void test_check_finds_dangling_rows(void)
{
    const char *dir = fresh_dir("store_check");
    aios_store *st;
    struct aios_err err;
    CHECK_EQ_INT(aios_store_open_dir(dir, &st, &err), AIOS_OK);
    aios_store_close(st);
    /* A connection without foreign_keys=ON can write an orphan: the check
     * must see it. */
    CHECK_EQ_INT(raw_exec(dir, "INSERT INTO registry_tags VALUES (999, 'k', 'v')"), SQLITE_OK);
    CHECK_EQ_INT(aios_store_open_dir(dir, &st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, "registry_tags") != NULL);
    aios_store_close(st);
}

static struct aios_store_model_version version_row(int64_t model_id, int64_t v, const char *sha)
{
    struct aios_store_model_version r = {
        .model_id = model_id,
        .version = v,
        .path = "/models/x.gguf",
        .sha256 = (char *)sha,
        .size_bytes = 100,
        .architecture = "llama",
        .n_params = 1000,
        .file_type = "Q4_0",
        .context_length = 512,
        .tokenizer = "llama",
        .metadata = "{\"a\":1}",
        .created_ms = 5,
    };
    return r;
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_registry_rows(void)
{
    const char *dir = fresh_dir("store_registry");
    aios_store *st;
    struct aios_err err;
    CHECK_EQ_INT(aios_store_open_dir(dir, &st, &err), AIOS_OK);
    int64_t m1 = add_model(st, "m1");
    int64_t m2 = add_model(st, "m2");
    struct aios_store_model dup = {.name = "m1", .kind = "base"};
    CHECK_EQ_INT(aios_store_model_insert(st, &dup, &err), AIOS_EEXIST);
    CHECK(strstr(err.msg, "'m1' already exists") != NULL);
    struct aios_store_model badkind = {.name = "m3", .kind = "weird"};
    CHECK_EQ_INT(aios_store_model_insert(st, &badkind, &err), AIOS_EINVAL);

    int64_t v;
    CHECK_EQ_INT(aios_store_model_next_version(st, m1, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(aios_store_model_next_version(st, m1, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(aios_store_model_next_version(st, 4242, &v, &err), AIOS_ENOTFOUND);

    struct aios_store_model_version r1 = version_row(m1, 1, SHA_A);
    CHECK_EQ_INT(aios_store_model_version_insert(st, &r1, &err), AIOS_OK);
    CHECK(r1.id > 0);
    struct aios_store_model_version r2 = version_row(m1, 2, SHA_B);
    r2.source_model = "m1";
    r2.source_version = 1;
    r2.lineage = "quantize";
    CHECK_EQ_INT(aios_store_model_version_insert(st, &r2, &err), AIOS_OK);
    struct aios_store_model_version again = version_row(m1, 2, SHA_A);
    CHECK_EQ_INT(aios_store_model_version_insert(st, &again, &err), AIOS_EEXIST);
    struct aios_store_model_version badsha = version_row(m1, 3, "abc");
    CHECK_EQ_INT(aios_store_model_version_insert(st, &badsha, &err), AIOS_EINVAL);
    struct aios_store_model_version badlin = version_row(m1, 3, SHA_A);
    badlin.lineage = "stolen";
    CHECK_EQ_INT(aios_store_model_version_insert(st, &badlin, &err), AIOS_EINVAL);
    struct aios_store_model_version orphan = version_row(777, 1, SHA_A);
    CHECK_EQ_INT(aios_store_model_version_insert(st, &orphan, &err), AIOS_EINVAL);

    struct aios_store_model_version got;
    CHECK_EQ_INT(aios_store_model_version_get(st, m1, 2, &got, &err), AIOS_OK);
    CHECK_EQ_STR(got.sha256, SHA_B);
    CHECK_EQ_STR(got.lineage, "quantize");
    CHECK_EQ_STR(got.source_model, "m1");
    CHECK_EQ_INT(got.source_version, 1);
    CHECK_EQ_STR(got.metadata, "{\"a\":1}");
    aios_store_model_version_free(&got);
    CHECK_EQ_INT(aios_store_model_version_get(st, m1, 1, &got, &err), AIOS_OK);
    CHECK(got.lineage == NULL && got.source_model == NULL);
    aios_store_model_version_free(&got);
    CHECK_EQ_INT(aios_store_model_version_get(st, m1, 9, &got, &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_store_model_version_find_sha(st, m1, SHA_B, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(aios_store_model_version_find_sha(st, m2, SHA_B, &v, &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_store_model_version_latest(st, m1, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(aios_store_model_version_latest(st, m2, &v, &err), AIOS_ENOTFOUND);

    /* Tags: set, replace, list by key. */
    CHECK_EQ_INT(aios_store_version_tag_set(st, r2.id, "stage", "dev", &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_version_tag_set(st, r2.id, "owner", "ops", &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_version_tag_set(st, r2.id, "stage", "prod", &err), AIOS_OK);
    struct aios_store_tag *tags;
    int nt;
    CHECK_EQ_INT(aios_store_version_tag_list(st, r2.id, &tags, &nt, &err), AIOS_OK);
    CHECK_EQ_INT(nt, 2);
    if (nt == 2) {
        CHECK_EQ_STR(tags[0].key, "owner");
        CHECK_EQ_STR(tags[1].value, "prod");
    }
    aios_store_tags_free(tags, nt);

    /* Aliases: set, move, refuse another model's version, delete. */
    CHECK_EQ_INT(aios_store_alias_set(st, m1, "production", r1.id, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_alias_get(st, m1, "production", &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(aios_store_alias_set(st, m1, "production", r2.id, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_alias_get(st, m1, "production", &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(aios_store_alias_set(st, m2, "stolen", r1.id, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_store_alias_set(st, m1, "staging", r1.id, &err), AIOS_OK);
    struct aios_store_alias *al;
    int na;
    CHECK_EQ_INT(aios_store_alias_list(st, m1, 0, &al, &na, &err), AIOS_OK);
    CHECK_EQ_INT(na, 2);
    aios_store_aliases_free(al, na);
    CHECK_EQ_INT(aios_store_alias_list(st, m1, r2.id, &al, &na, &err), AIOS_OK);
    CHECK_EQ_INT(na, 1);
    if (na == 1)
        CHECK_EQ_STR(al[0].alias, "production");
    aios_store_aliases_free(al, na);
    CHECK_EQ_INT(aios_store_alias_delete(st, m1, "staging", &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_alias_delete(st, m1, "staging", &err), AIOS_ENOTFOUND);

    /* Deleting a version takes its tags and aliases with it. */
    CHECK_EQ_INT(aios_store_model_version_delete(st, r2.id, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_alias_get(st, m1, "production", &v, &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_store_version_tag_list(st, r2.id, &tags, &nt, &err), AIOS_OK);
    CHECK_EQ_INT(nt, 0);
    CHECK_EQ_INT(aios_store_model_version_delete(st, r2.id, &err), AIOS_ENOTFOUND);

    /* Touch and list. */
    CHECK_EQ_INT(aios_store_model_touch(st, m1, "described", 99, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_model_touch(st, m1, NULL, 100, &err), AIOS_OK);
    struct aios_store_model *ms;
    int nm;
    CHECK_EQ_INT(aios_store_model_list(st, &ms, &nm, &err), AIOS_OK);
    CHECK_EQ_INT(nm, 2);
    if (nm == 2) {
        CHECK_EQ_STR(ms[0].name, "m1");
        CHECK_EQ_STR(ms[0].description, "described");
        CHECK_EQ_INT(ms[0].updated_ms, 100);
        CHECK_EQ_INT(ms[0].last_version, 2);
    }
    aios_store_models_free(ms, nm);

    /* Deleting a model cascades to everything under it. */
    CHECK_EQ_INT(aios_store_version_tag_set(st, r1.id, "k", "v", &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_model_delete(st, m1, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_model_delete(st, m1, &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
    CHECK_EQ_INT(raw_int(dir, "SELECT count(*) FROM registry_versions"), 0);
    CHECK_EQ_INT(raw_int(dir, "SELECT count(*) FROM registry_tags"), 0);
    CHECK_EQ_INT(raw_int(dir, "SELECT count(*) FROM registry_aliases"), 0);
}

/* Every allocation of an open, a transaction and a few writes is failed in
 * turn: each must end in an error or success, never a crash, and leave a
 * store that opens and checks clean. */
static void test_allocation_failures(void)
{
    const char *dir = fresh_dir("store_oom");
    int failures_seen = 0, ok_seen = 0;
    for (long n = 1; n <= 400; n++) {
        aios_store *st = NULL;
        struct aios_err err;
        aios_mem_fail_after(n);
        int rc = aios_store_open_dir(dir, &st, &err);
        if (rc == AIOS_OK) {
            char name[32];
            snprintf(name, sizeof name, "m%ld", n);
            rc = aios_store_begin(st, &err);
            if (!rc) {
                struct aios_store_model m = {.name = name, .kind = "base"};
                rc = aios_store_model_insert(st, &m, &err);
                rc = rc ? aios_store_rollback(st, NULL), rc : aios_store_commit(st, &err);
            }
            struct aios_store_model *ms = NULL;
            int nm = 0;
            if (!rc)
                rc = aios_store_model_list(st, &ms, &nm, &err);
            aios_store_models_free(ms, nm);
        }
        aios_mem_fail_after(0);
        aios_store_close(st);
        if (rc)
            failures_seen++;
        else
            ok_seen++;
    }
    CHECK(failures_seen > 0);
    CHECK(ok_seen > 0);
    aios_store *st;
    struct aios_err err;
    CHECK_EQ_INT(aios_store_open_dir(dir, &st, &err), AIOS_OK);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

int main(void)
{
    TEST_RUN(test_open_and_migrations);
    TEST_RUN(test_not_a_database);
    TEST_RUN(test_transactions);
    TEST_RUN(test_two_handles);
    TEST_RUN(test_check_finds_dangling_rows);
    TEST_RUN(test_registry_rows);
    TEST_RUN(test_allocation_failures);
    TEST_EXIT();
}
