/*
 * store: where aios keeps its state. One interface for every module, with
 * SQLite (file aios.db under the data directory) as the embedded default and
 * room for a PostgreSQL backend behind the same calls.
 *
 * Shape:
 *   - aios_store is an opaque handle over a backend (a table of function
 *     pointers, store_impl.h); callers never see SQL or a backend type.
 *   - Nothing above store writes SQL. Each module's schema (its versioned
 *     migrations) and queries live here, in src/store/<module>_sql.c, and
 *     the module calls typed functions declared below (one section per
 *     module).
 *   - Migrations are applied when the store opens, all in one write
 *     transaction, and recorded in the table store_migrations
 *     (module, version, name, applied_ms). A database that records a newer
 *     migration than this binary knows is refused rather than misread.
 *   - Transactions are exposed and nest: the outermost begin takes the write
 *     lock at once (BEGIN IMMEDIATE on SQLite, so two processes never
 *     deadlock upgrading a read lock), inner ones are savepoints. A rollback
 *     at depth n undoes only what was done since the matching begin.
 *
 * Threads: one handle is used by one thread at a time; open one handle per
 * thread (or per process). Handles on the same file, in this process or
 * another, are safe together: writers wait for each other up to the busy
 * timeout and then fail with AIOS_EBUSY.
 *
 * Records handed out by the typed functions own their strings; free them
 * with the matching *_free function.
 */
#ifndef AIOS_STORE_H
#define AIOS_STORE_H

#include "base/base.h"

typedef struct aios_store aios_store;

struct aios_store_opts {
    const char *backend;  /* "sqlite" (default when NULL) */
    const char *data_dir; /* sqlite: the database is <data_dir>/aios.db (created) */
    const char *path;     /* sqlite: explicit file instead; ":memory:" for tests */
    int busy_timeout_ms;  /* how long a writer waits for another; 0 = 10000 */
};

/* Opens (creating if needed) the store and applies pending migrations.
 * AIOS_EBUSY when another process held the write lock past the timeout,
 * AIOS_ESTATE when the database was written by a newer aios, AIOS_EFORMAT
 * when the file is not a database. Close with aios_store_close. */
int aios_store_open(const struct aios_store_opts *opts, aios_store **out, struct aios_err *err);
/* Shorthand: SQLite under data_dir with default settings. */
int aios_store_open_dir(const char *data_dir, aios_store **out, struct aios_err *err);
/* Rolls back a transaction left open, then closes. NULL is accepted. */
void aios_store_close(aios_store *st);

const char *aios_store_backend_name(const aios_store *st);
/* File (or URL) the store was opened on. */
const char *aios_store_location(const aios_store *st);

/* Transactions. begin/commit/rollback pair up like brackets; depth 0 means
 * no transaction is open (each call is then its own transaction). commit
 * or rollback with none open is AIOS_ESTATE. If the outermost COMMIT fails
 * the transaction is rolled back and the error returned. */
int aios_store_begin(aios_store *st, struct aios_err *err);
int aios_store_commit(aios_store *st, struct aios_err *err);
int aios_store_rollback(aios_store *st, struct aios_err *err);
int aios_store_tx_depth(const aios_store *st);

/* Full consistency check (SQLite: PRAGMA integrity_check and
 * foreign_key_check). AIOS_EFORMAT with the first problem in err. */
int aios_store_check(aios_store *st, struct aios_err *err);

/* Highest migration version applied for a module ("registry"); 0 if none. */
int aios_store_schema_version(aios_store *st, const char *module, int *out, struct aios_err *err);

/* The migrations applied, oldest first: a new array of
 * {module, version, name, applied_ms} objects in *out. */
int aios_store_migrations_json(aios_store *st, json_t **out, struct aios_err *err);

/* Test hook for crash tests: when the environment variable
 * AIOS_TEST_PAUSE_AT equals `point`, prints "aios: paused at POINT" on
 * stderr and sleeps (AIOS_TEST_PAUSE_S seconds, default 60) so that a test
 * can kill the process there. Costs one getenv otherwise. */
void aios_store_pause_point(const char *point);

/* ---- registry (src/store/registry_sql.c) ------------------------------ */

/* Times are Unix epoch milliseconds. Ids are the store's; `version` is the
 * per-model number users see (1, 2, ...; never reused after a delete). */

struct aios_store_model {
    int64_t id;
    char *name;
    char *kind; /* "base" or "proprietary" */
    char *description;
    int64_t created_ms;
    int64_t updated_ms;
    int64_t last_version; /* highest version number ever given; 0 = none yet */
};

struct aios_store_tag {
    char *key;
    char *value;
};

struct aios_store_model_version {
    int64_t id;
    int64_t model_id;
    int64_t version;
    char *path;   /* absolute */
    char *sha256; /* 64 lower-case hex digits */
    int64_t size_bytes;
    char *architecture;
    int64_t n_params;
    char *file_type; /* quantization, e.g. "Q4_K_M" */
    int64_t context_length;
    char *tokenizer; /* tokenizer model, e.g. "llama" (SPM), "gpt2" (BPE) */
    char *metadata;  /* JSON object: selected GGUF metadata */
    int64_t created_ms;
    /* Lineage: the version this one was made from, kept as text so it
     * survives the source's deletion. NULL/0 when none. */
    char *source_model;
    int64_t source_version;
    char *lineage; /* "quantize", "finetune", "train"; NULL when none */
};

struct aios_store_alias {
    char *alias;
    int64_t version;
};

void aios_store_model_free(struct aios_store_model *m);
void aios_store_model_version_free(struct aios_store_model_version *v);
void aios_store_models_free(struct aios_store_model *m, int n);
void aios_store_model_versions_free(struct aios_store_model_version *v, int n);
void aios_store_tags_free(struct aios_store_tag *t, int n);
void aios_store_aliases_free(struct aios_store_alias *a, int n);

/* AIOS_ENOTFOUND (err untouched) when absent. */
int aios_store_model_get(aios_store *st, const char *name, struct aios_store_model *out,
                         struct aios_err *err);
/* Inserts m (id and last_version ignored); sets m->id. AIOS_EEXIST when
 * the name is taken. */
int aios_store_model_insert(aios_store *st, struct aios_store_model *m, struct aios_err *err);
/* Sets updated_ms and, when description is non-NULL, the description. */
int aios_store_model_touch(aios_store *st, int64_t model_id, const char *description,
                           int64_t updated_ms, struct aios_err *err);
/* Reserves the next version number of a model (last_version + 1). Call
 * inside a transaction that then inserts the version. */
int aios_store_model_next_version(aios_store *st, int64_t model_id, int64_t *version,
                                  struct aios_err *err);
/* All models by name. *out is an array of *n records (NULL when 0). */
int aios_store_model_list(aios_store *st, struct aios_store_model **out, int *n,
                          struct aios_err *err);
/* Deletes a model with its versions, tags and aliases. AIOS_ENOTFOUND. */
int aios_store_model_delete(aios_store *st, int64_t model_id, struct aios_err *err);

/* Inserts v (id ignored; model_id and version required); sets v->id.
 * AIOS_EEXIST when the model already has that version. */
int aios_store_model_version_insert(aios_store *st, struct aios_store_model_version *v,
                                    struct aios_err *err);
/* AIOS_ENOTFOUND (err untouched) when absent. */
int aios_store_model_version_get(aios_store *st, int64_t model_id, int64_t version,
                                 struct aios_store_model_version *out, struct aios_err *err);
/* Versions of a model, oldest first. */
int aios_store_model_version_list(aios_store *st, int64_t model_id,
                                  struct aios_store_model_version **out, int *n,
                                  struct aios_err *err);
/* Highest existing version number of a model; AIOS_ENOTFOUND (err
 * untouched) when it has none. */
int aios_store_model_version_latest(aios_store *st, int64_t model_id, int64_t *version,
                                    struct aios_err *err);
/* Lowest version of a model whose file has this hash; AIOS_ENOTFOUND
 * (err untouched) when none. */
int aios_store_model_version_find_sha(aios_store *st, int64_t model_id, const char *sha256,
                                      int64_t *version, struct aios_err *err);
/* The version registered first (any model) whose file has this hash: its
 * model's name (aios_strdup'd, caller frees) and version number.
 * AIOS_ENOTFOUND (err untouched) when none. */
int aios_store_model_version_find_sha_any(aios_store *st, const char *sha256, char **model_name,
                                          int64_t *version, struct aios_err *err);
/* Deletes one version with its tags and the aliases that point at it. */
int aios_store_model_version_delete(aios_store *st, int64_t version_id, struct aios_err *err);

/* Sets (or replaces) a tag of a version. */
int aios_store_version_tag_set(aios_store *st, int64_t version_id, const char *key,
                               const char *value, struct aios_err *err);
/* Tags of a version by key. */
int aios_store_version_tag_list(aios_store *st, int64_t version_id, struct aios_store_tag **out,
                                int *n, struct aios_err *err);

/* Points alias at a version of the same model (moving it if it exists). */
int aios_store_alias_set(aios_store *st, int64_t model_id, const char *alias, int64_t version_id,
                         struct aios_err *err);
/* The version number an alias points at; AIOS_ENOTFOUND (err untouched). */
int aios_store_alias_get(aios_store *st, int64_t model_id, const char *alias, int64_t *version,
                         struct aios_err *err);
/* Aliases of a model by name (version_id > 0 restricts to one version). */
int aios_store_alias_list(aios_store *st, int64_t model_id, int64_t version_id,
                          struct aios_store_alias **out, int *n, struct aios_err *err);
/* AIOS_ENOTFOUND when the alias does not exist. */
int aios_store_alias_delete(aios_store *st, int64_t model_id, const char *alias,
                            struct aios_err *err);

/* ---- alarms and incidents (src/store/alarms_sql.c) ------------------- */

/* An alarm as stored. Times are Unix epoch ms; 0 means "not set" for
 * ends_ms and resolved_ms. labels and annotations are JSON object texts. */
struct aios_store_alarm {
    int64_t id;
    char *fingerprint; /* 16 lower-case hex digits (Alertmanager's) or as sent */
    char *source;      /* "alertmanager", or the generic alarm's source */
    char *name;        /* alertname */
    char *status;      /* "firing" or "resolved" */
    char *severity;    /* "critical", "error", "warning", "info" */
    char *labels;
    char *annotations;
    char *generator_url; /* NULL when none */
    int64_t starts_ms, ends_ms;
    int64_t first_ms, last_ms; /* first and last time aios received it */
    int64_t resolved_ms;       /* when aios learned it resolved */
    int64_t count;             /* deliveries received */
    int64_t incident_id;
};

struct aios_store_incident {
    int64_t id;
    char *group_key; /* canonical JSON object of the grouping labels */
    char *title;
    char *status;                             /* "open" or "closed" */
    char *severity;                           /* the worst of its alarms' */
    int64_t opened_ms, updated_ms, closed_ms; /* closed_ms 0 while open */
    int64_t alarm_count, firing_count;        /* computed when read */
};

/* Which alarms aios_store_alarm_list returns; zero fields select all. */
struct aios_store_alarm_filter {
    const char *status; /* "firing", "resolved" or NULL */
    int64_t incident_id;
    int64_t limit;
};

void aios_store_alarm_free(struct aios_store_alarm *a);
void aios_store_alarms_free(struct aios_store_alarm *a, int n);
void aios_store_incident_free(struct aios_store_incident *inc);
void aios_store_incidents_free(struct aios_store_incident *inc, int n);

/* The firing alarm with this fingerprint (there is at most one);
 * AIOS_ENOTFOUND (err untouched) when none. */
int aios_store_alarm_find_firing(aios_store *st, const char *fingerprint,
                                 struct aios_store_alarm *out, struct aios_err *err);
/* The latest resolved alarm with this fingerprint and start time;
 * AIOS_ENOTFOUND (err untouched) when none. */
int aios_store_alarm_find_resolved(aios_store *st, const char *fingerprint, int64_t starts_ms,
                                   struct aios_store_alarm *out, struct aios_err *err);
int aios_store_alarm_get(aios_store *st, int64_t id, struct aios_store_alarm *out,
                         struct aios_err *err);
/* Inserts a (id ignored) and sets a->id. AIOS_EEXIST when a firing alarm
 * with the fingerprint exists already. */
int aios_store_alarm_insert(aios_store *st, struct aios_store_alarm *a, struct aios_err *err);
/* Rewrites the mutable fields of alarm a->id (status, severity, labels,
 * annotations, generator_url, ends_ms, last_ms, resolved_ms, count). */
int aios_store_alarm_update(aios_store *st, const struct aios_store_alarm *a, struct aios_err *err);
/* Alarms newest first. */
int aios_store_alarm_list(aios_store *st, const struct aios_store_alarm_filter *f,
                          struct aios_store_alarm **out, int *n, struct aios_err *err);

/* The open incident of a group key; AIOS_ENOTFOUND (err untouched). */
int aios_store_incident_find_open(aios_store *st, const char *group_key,
                                  struct aios_store_incident *out, struct aios_err *err);
int aios_store_incident_get(aios_store *st, int64_t id, struct aios_store_incident *out,
                            struct aios_err *err);
/* Inserts an open incident (group_key, title, severity, opened_ms,
 * updated_ms) and sets inc->id. AIOS_EEXIST when one is open for the key. */
int aios_store_incident_insert(aios_store *st, struct aios_store_incident *inc,
                               struct aios_err *err);
/* Sets the severity (unless NULL) and moves updated_ms forward to
 * updated_ms (never back). */
int aios_store_incident_touch(aios_store *st, int64_t id, const char *severity, int64_t updated_ms,
                              struct aios_err *err);
/* Closes every open incident without a firing alarm whose updated_ms +
 * window_ms <= now_ms; closed_ms becomes updated_ms + window_ms. *closed
 * (may be NULL) gets how many. */
int aios_store_incident_close_stale(aios_store *st, int64_t now_ms, int64_t window_ms,
                                    int64_t *closed, struct aios_err *err);
/* Incidents newest first; status "open", "closed" or NULL; limit <= 0: all. */
int aios_store_incident_list(aios_store *st, const char *status, int64_t limit,
                             struct aios_store_incident **out, int *n, struct aios_err *err);

#endif
