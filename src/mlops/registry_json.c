/*
 * JSON views of the registry, in the shapes of the MLflow model-registry
 * REST API (RegisteredModel, ModelVersion) so that MLflow clients and the
 * console can read them; aios-specific fields are added next to MLflow's
 * (MLflow clients ignore unknown fields). The CLI's --json and the HTTP
 * API both print these.
 *
 * MLflow conventions kept: timestamps are epoch milliseconds, version
 * numbers are strings, tags are [{key, value}], a RegisteredModel's
 * aliases are [{alias, version}] and a ModelVersion's are [alias, ...].
 * There are no stages: current_stage is always "None".
 */
#include "mlops/registry_int.h"

#include <stdio.h>
#include <string.h>

/* Sets key to a new value, tracking allocation failure in *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *version_string(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return json_string(buf);
}

/* ModelVersion of a loaded version row. */
static int version_json(aios_store *st, const struct aios_store_model *m,
                        const struct aios_store_model_version *v, json_t **out,
                        struct aios_err *err)
{
    struct aios_store_tag *tags = NULL;
    struct aios_store_alias *aliases = NULL;
    int ntags = 0, naliases = 0;
    int rc = aios_store_version_tag_list(st, v->id, &tags, &ntags, err);
    if (!rc)
        rc = aios_store_alias_list(st, m->id, v->id, &aliases, &naliases, err);
    if (rc) {
        aios_store_tags_free(tags, ntags);
        return rc;
    }
    bool ok = true;
    json_t *o = json_object();
    if (!o)
        ok = false;
    if (ok) {
        put(o, "name", json_string(m->name), &ok);
        put(o, "version", version_string(v->version), &ok);
        put(o, "creation_timestamp", json_integer(v->created_ms), &ok);
        put(o, "last_updated_timestamp", json_integer(v->created_ms), &ok);
        put(o, "description", json_string(""), &ok);
        put(o, "current_stage", json_string("None"), &ok);
        put(o, "source", str_or_empty(v->path), &ok);
        put(o, "run_id", json_string(""), &ok);
        put(o, "status", json_string("READY"), &ok);
        json_t *jt = json_array();
        for (int i = 0; jt && i < ntags; i++) {
            json_t *t = json_object();
            if (t) {
                put(t, "key", json_string(tags[i].key), &ok);
                put(t, "value", json_string(tags[i].value), &ok);
            }
            if (!t || json_array_append_new(jt, t) != 0)
                ok = false;
        }
        put(o, "tags", jt, &ok);
        json_t *ja = json_array();
        for (int i = 0; ja && i < naliases; i++)
            if (json_array_append_new(ja, json_string(aliases[i].alias)) != 0)
                ok = false;
        put(o, "aliases", ja, &ok);
        put(o, "sha256", str_or_empty(v->sha256), &ok);
        put(o, "size_bytes", json_integer(v->size_bytes), &ok);
        put(o, "architecture", str_or_empty(v->architecture), &ok);
        put(o, "n_params", json_integer(v->n_params), &ok);
        put(o, "file_type", str_or_empty(v->file_type), &ok);
        put(o, "context_length", json_integer(v->context_length), &ok);
        put(o, "tokenizer", str_or_empty(v->tokenizer), &ok);
        json_t *meta = NULL;
        if (v->metadata &&
            aios_json_parse(v->metadata, strlen(v->metadata), 1 << 24, &meta, NULL) != AIOS_OK)
            meta = NULL; /* stored by us as JSON; unreadable only if the file was edited */
        put(o, "metadata", meta ? meta : json_object(), &ok);
        json_t *lin = json_null();
        if (v->source_model && v->lineage) {
            char src[AIOS_REGISTRY_NAME_MAX + 32];
            snprintf(src, sizeof src, "%s@%lld", v->source_model, (long long)v->source_version);
            lin = json_object();
            if (lin) {
                put(lin, "source", json_string(src), &ok);
                put(lin, "how", json_string(v->lineage), &ok);
            }
        }
        put(o, "lineage", lin, &ok);
    }
    aios_store_tags_free(tags, ntags);
    aios_store_aliases_free(aliases, naliases);
    if (!ok) {
        json_decref(o);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = o;
    return AIOS_OK;
}

/* RegisteredModel of a loaded model row. */
int mlops_registry_model_json(aios_store *st, const struct aios_store_model *m, bool all_versions,
                              json_t **out, struct aios_err *err)
{
    struct aios_store_model_version *vs = NULL;
    struct aios_store_alias *aliases = NULL;
    int nv = 0, na = 0;
    int rc = aios_store_model_version_list(st, m->id, &vs, &nv, err);
    if (!rc)
        rc = aios_store_alias_list(st, m->id, 0, &aliases, &na, err);
    if (rc) {
        aios_store_model_versions_free(vs, nv);
        return rc;
    }
    bool ok = true;
    json_t *o = json_object();
    json_t *latest = json_array();
    json_t *all = all_versions ? json_array() : NULL;
    if (!o || !latest || (all_versions && !all))
        ok = false;
    for (int i = 0; ok && !rc && i < nv; i++) {
        bool last = i == nv - 1;
        if (!last && !all_versions)
            continue;
        json_t *jv;
        rc = version_json(st, m, &vs[i], &jv, err);
        if (rc)
            break;
        if (last && json_array_append(latest, jv) != 0)
            ok = false;
        if (all_versions && json_array_append(all, jv) != 0)
            ok = false;
        json_decref(jv);
    }
    if (ok && !rc) {
        put(o, "name", json_string(m->name), &ok);
        put(o, "creation_timestamp", json_integer(m->created_ms), &ok);
        put(o, "last_updated_timestamp", json_integer(m->updated_ms), &ok);
        put(o, "description", str_or_empty(m->description), &ok);
        put(o, "kind", str_or_empty(m->kind), &ok);
        json_t *tags = json_array(), *kt = json_object();
        if (kt) {
            put(kt, "key", json_string("aios.kind"), &ok);
            put(kt, "value", str_or_empty(m->kind), &ok);
        }
        if (!tags || !kt || json_array_append_new(tags, kt) != 0)
            ok = false;
        put(o, "tags", tags, &ok);
        json_t *ja = json_array();
        for (int i = 0; ja && i < na; i++) {
            json_t *a = json_object();
            if (a) {
                put(a, "alias", json_string(aliases[i].alias), &ok);
                put(a, "version", version_string(aliases[i].version), &ok);
            }
            if (!a || json_array_append_new(ja, a) != 0)
                ok = false;
        }
        put(o, "aliases", ja, &ok);
        put(o, "latest_versions", latest, &ok);
        latest = NULL;
        if (all_versions) {
            put(o, "versions", all, &ok);
            all = NULL;
        }
    }
    json_decref(latest);
    json_decref(all);
    aios_store_model_versions_free(vs, nv);
    aios_store_aliases_free(aliases, na);
    if (!rc && !ok)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return AIOS_OK;
}

int aios_registry_model_to_json(aios_store *st, const char *name, bool all_versions, json_t **out,
                                struct aios_err *err)
{
    int rc = aios_registry_name_check(name, err);
    if (rc)
        return rc;
    struct aios_store_model m;
    rc = aios_store_model_get(st, name, &m, err);
    if (rc == AIOS_ENOTFOUND)
        return aios_err_set(err, rc, "model '%s' is not registered", name);
    if (rc)
        return rc;
    rc = mlops_registry_model_json(st, &m, all_versions, out, err);
    aios_store_model_free(&m);
    return rc;
}

int aios_registry_version_to_json(aios_store *st, const char *ref, json_t **out,
                                  struct aios_err *err)
{
    struct aios_store_model m;
    struct aios_store_model_version v;
    int rc = aios_registry_resolve(st, ref, &m, &v, err);
    if (rc)
        return rc;
    rc = version_json(st, &m, &v, out, err);
    aios_store_model_free(&m);
    aios_store_model_version_free(&v);
    return rc;
}

int aios_registry_list_to_json(aios_store *st, json_t **out, struct aios_err *err)
{
    struct aios_store_model *ms = NULL;
    int n = 0;
    int rc = aios_store_model_list(st, &ms, &n, err);
    if (rc)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        json_t *jm;
        rc = mlops_registry_model_json(st, &ms[i], false, &jm, err);
        if (!rc && json_array_append_new(arr, jm) != 0)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    aios_store_models_free(ms, n);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    json_t *o = json_object();
    /* json_object_set_new takes arr even when it fails. */
    if (!o || json_object_set_new(o, "registered_models", arr) != 0) {
        if (!o)
            json_decref(arr);
        json_decref(o);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    *out = o;
    return AIOS_OK;
}
