/*
 * The model registry's rules: what names, aliases and tags may be, how a
 * reference resolves, and registering / aliasing / removing as single
 * store transactions. Storage is the store's registry section; reading a
 * GGUF file is registry_gguf.c; the JSON views are registry_json.c.
 */
#include "mlops/mlops.h"

#include <stdio.h>
#include <string.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int aios_registry_name_check(const char *name, struct aios_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return aios_err_set(err, AIOS_EINVAL, "model name is empty");
    if (n > AIOS_REGISTRY_NAME_MAX)
        return aios_err_set(err, AIOS_EINVAL, "model name is longer than %d characters",
                            AIOS_REGISTRY_NAME_MAX);
    if (!is_alpha(name[0]) && !is_digit(name[0]))
        return aios_err_set(err, AIOS_EINVAL, "model name '%s' must start with a letter or a digit",
                            name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' && c != '-')
            return aios_err_set(err, AIOS_EINVAL,
                                "model name '%s': character %zu is not allowed (use letters, "
                                "digits, '.', '_' and '-')",
                                name, i + 1);
    }
    return AIOS_OK;
}

int aios_registry_alias_check(const char *alias, struct aios_err *err)
{
    size_t n = alias ? strlen(alias) : 0;
    if (n == 0)
        return aios_err_set(err, AIOS_EINVAL, "alias is empty");
    if (n > AIOS_REGISTRY_ALIAS_MAX)
        return aios_err_set(err, AIOS_EINVAL, "alias is longer than %d characters",
                            AIOS_REGISTRY_ALIAS_MAX);
    if (!is_alpha(alias[0]))
        return aios_err_set(err, AIOS_EINVAL,
                            "alias '%s' must start with a letter (numbers name versions)", alias);
    for (size_t i = 0; i < n; i++) {
        char c = alias[i];
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-')
            return aios_err_set(err, AIOS_EINVAL,
                                "alias '%s': character %zu is not allowed (use letters, digits, "
                                "'_' and '-')",
                                alias, i + 1);
    }
    if (strcmp(alias, "latest") == 0)
        return aios_err_set(err, AIOS_EINVAL,
                            "alias 'latest' is reserved (it always means the "
                            "latest version)");
    return AIOS_OK;
}

int aios_registry_tag_parse(const char *kv, char **key, char **value, struct aios_err *err)
{
    *key = *value = NULL;
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq)
        return aios_err_set(err, AIOS_EINVAL, "tag '%s' is not key=value", kv ? kv : "");
    size_t kn = (size_t)(eq - kv);
    if (kn == 0 || kn > AIOS_REGISTRY_TAG_KEY_MAX)
        return aios_err_set(err, AIOS_EINVAL, "tag '%s': the key must be 1 to %d characters", kv,
                            AIOS_REGISTRY_TAG_KEY_MAX);
    for (size_t i = 0; i < kn; i++) {
        char c = kv[i];
        if (!is_alpha(c) && !is_digit(c) && !strchr("._:/-", c))
            return aios_err_set(err, AIOS_EINVAL,
                                "tag '%s': the key may hold letters, digits, '.', '_', ':', '/' "
                                "and '-'",
                                kv);
    }
    const char *v = eq + 1;
    size_t vn = strlen(v);
    if (vn > AIOS_REGISTRY_TAG_VALUE_MAX)
        return aios_err_set(err, AIOS_EINVAL, "tag '%.*s': the value is longer than %d bytes",
                            (int)kn, kv, AIOS_REGISTRY_TAG_VALUE_MAX);
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return aios_err_set(err, AIOS_EINVAL, "tag '%.*s': the value holds a control character",
                                (int)kn, kv);
    *key = aios_strndup(kv, kn);
    *value = aios_strdup(v);
    if (!*key || !*value) {
        aios_free(*key);
        aios_free(*value);
        *key = *value = NULL;
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    return AIOS_OK;
}

int aios_registry_ref_parse(const char *ref, struct aios_registry_ref *out, struct aios_err *err)
{
    memset(out, 0, sizeof *out);
    if (!ref)
        return aios_err_set(err, AIOS_EINVAL, "empty model reference");
    const char *at = strchr(ref, '@');
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    if (n > AIOS_REGISTRY_NAME_MAX)
        return aios_err_set(err, AIOS_EINVAL, "model name is longer than %d characters",
                            AIOS_REGISTRY_NAME_MAX);
    memcpy(out->name, ref, n);
    out->name[n] = 0;
    int rc = aios_registry_name_check(out->name, err);
    if (rc)
        return rc;
    if (!at)
        return AIOS_OK;
    const char *tail = at + 1;
    if (!*tail)
        return aios_err_set(err, AIOS_EINVAL,
                            "'%s': nothing after '@' (want NAME@VERSION or "
                            "NAME@ALIAS)",
                            ref);
    if (is_digit(tail[0])) {
        int64_t v;
        if (aios_parse_i64(tail, &v) != AIOS_OK || v < 1)
            return aios_err_set(err, AIOS_EINVAL, "'%s': version must be a number from 1", ref);
        out->version = v;
        return AIOS_OK;
    }
    if (strcmp(tail, "latest") == 0) {
        aios_strlcpy(out->alias, tail, sizeof out->alias);
        return AIOS_OK;
    }
    rc = aios_registry_alias_check(tail, err);
    if (rc)
        return rc;
    aios_strlcpy(out->alias, tail, sizeof out->alias);
    return AIOS_OK;
}

/* Latest existing version number of a model; ENOTFOUND when it has none. */
static int latest_version(aios_store *st, const struct aios_store_model *m, int64_t *out,
                          struct aios_err *err)
{
    int rc = aios_store_model_version_latest(st, m->id, out, err);
    if (rc == AIOS_ENOTFOUND)
        rc = aios_err_set(err, rc, "model '%s' has no versions", m->name);
    return rc;
}

/* Resolves a parsed reference; fills model (always) and version. */
static int resolve(aios_store *st, const char *text, const struct aios_registry_ref *r,
                   struct aios_store_model *model, struct aios_store_model_version *version,
                   struct aios_err *err)
{
    int rc = aios_store_model_get(st, r->name, model, err);
    if (rc == AIOS_ENOTFOUND)
        return aios_err_set(err, rc, "model '%s' is not registered", r->name);
    if (rc)
        return rc;
    int64_t v = r->version;
    if (r->alias[0] && strcmp(r->alias, "latest") != 0) {
        rc = aios_store_alias_get(st, model->id, r->alias, &v, err);
        if (rc == AIOS_ENOTFOUND)
            rc = aios_err_set(err, rc, "model '%s' has no alias '%s'", r->name, r->alias);
    } else if (v == 0) {
        rc = latest_version(st, model, &v, err);
    }
    if (!rc) {
        struct aios_store_model_version tmp;
        rc = aios_store_model_version_get(st, model->id, v, version ? version : &tmp, err);
        if (rc == AIOS_ENOTFOUND)
            rc = aios_err_set(err, rc, "'%s': model '%s' has no version %lld", text, r->name,
                              (long long)v);
        else if (!rc && !version)
            aios_store_model_version_free(&tmp);
    }
    if (rc)
        aios_store_model_free(model);
    return rc;
}

int aios_registry_resolve(aios_store *st, const char *ref, struct aios_store_model *model,
                          struct aios_store_model_version *version, struct aios_err *err)
{
    struct aios_registry_ref r;
    int rc = aios_registry_ref_parse(ref, &r, err);
    if (rc)
        return rc;
    struct aios_store_model m;
    rc = resolve(st, ref, &r, &m, version, err);
    if (rc)
        return rc;
    if (model)
        *model = m;
    else
        aios_store_model_free(&m);
    return AIOS_OK;
}

void aios_registry_file_free(struct aios_registry_file *f)
{
    if (!f)
        return;
    aios_free(f->path);
    aios_free(f->architecture);
    aios_free(f->file_type);
    aios_free(f->tokenizer);
    if (f->metadata)
        json_decref(f->metadata);
    memset(f, 0, sizeof *f);
}

static bool is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return s[64] == 0;
}

/* Everything about a request that can be checked without the store. */
static int check_request(const struct aios_registry_add *req, struct aios_err *err)
{
    int rc = aios_registry_name_check(req->name, err);
    if (rc)
        return rc;
    if (req->kind && strcmp(req->kind, "base") != 0 && strcmp(req->kind, "proprietary") != 0)
        return aios_err_set(err, AIOS_EINVAL, "kind '%s' is not 'base' or 'proprietary'",
                            req->kind);
    if (req->description && strlen(req->description) > AIOS_REGISTRY_DESCRIPTION_MAX)
        return aios_err_set(err, AIOS_EINVAL, "description is longer than %d bytes",
                            AIOS_REGISTRY_DESCRIPTION_MAX);
    const struct aios_registry_file *f = req->file;
    if (!f || !f->path || !f->architecture || !f->file_type || !f->tokenizer)
        return aios_err_set(err, AIOS_EINVAL, "registration lacks the file's description");
    if (!is_hex64(f->sha256))
        return aios_err_set(err, AIOS_EINVAL, "sha256 '%s' is not 64 lower-case hex digits",
                            f->sha256);
    if (f->size_bytes < 0 || f->n_params < 0 || f->context_length < 0)
        return aios_err_set(err, AIOS_EINVAL, "negative size, parameter count or context length");
    if (req->n_tags < 0 || req->n_tags > AIOS_REGISTRY_MAX_TAGS)
        return aios_err_set(err, AIOS_EINVAL, "at most %d tags", AIOS_REGISTRY_MAX_TAGS);
    for (int i = 0; i < req->n_tags; i++) {
        char *k, *v;
        rc = aios_registry_tag_parse(req->tags[i], &k, &v, err);
        if (rc)
            return rc;
        aios_free(k);
        aios_free(v);
    }
    if (req->how && strcmp(req->how, "quantize") != 0 && strcmp(req->how, "finetune") != 0 &&
        strcmp(req->how, "train") != 0)
        return aios_err_set(err, AIOS_EINVAL, "--how '%s' is not quantize, finetune or train",
                            req->how);
    if (!req->from != !req->how)
        return aios_err_set(err, AIOS_EINVAL,
                            "lineage needs both the source (NAME@VERSION) and how it was made");
    return AIOS_OK;
}

/* The body of aios_registry_add; runs inside the transaction. */
static int add_in_tx(aios_store *st, const struct aios_registry_add *req, int64_t *version,
                     struct aios_err *err)
{
    const struct aios_registry_file *f = req->file;
    int64_t now = aios_wall_ms();
    struct aios_store_model m;
    struct aios_store_model src_model = {0};
    struct aios_store_model_version src = {0};
    struct aios_store_model_version v = {0};
    int rc = aios_store_model_get(st, req->name, &m, err);
    if (rc == AIOS_ENOTFOUND) {
        memset(&m, 0, sizeof m);
        m.name = (char *)req->name;
        m.kind = (char *)(req->kind ? req->kind : "base");
        m.description = (char *)(req->description ? req->description : "");
        m.created_ms = m.updated_ms = now;
        rc = aios_store_model_insert(st, &m, err);
        /* The strings are the request's: forget them before any free. */
        m.name = m.kind = m.description = NULL;
        if (rc)
            return rc;
    } else if (rc) {
        return rc;
    } else {
        if (req->kind && strcmp(req->kind, m.kind) != 0) {
            rc = aios_err_set(err, AIOS_ESTATE, "model '%s' is registered as %s, not %s", req->name,
                              m.kind, req->kind);
            goto out;
        }
        int64_t have;
        rc = aios_store_model_version_find_sha(st, m.id, f->sha256, &have, err);
        if (rc == AIOS_OK) {
            rc = aios_err_set(err, AIOS_EEXIST, "this file is already registered as %s@%lld",
                              req->name, (long long)have);
            goto out;
        }
        if (rc != AIOS_ENOTFOUND)
            goto out;
        rc = aios_store_model_touch(st, m.id, req->description, now, err);
        if (rc)
            goto out;
    }
    if (req->from) {
        struct aios_registry_ref r;
        rc = aios_registry_ref_parse(req->from, &r, err);
        if (!rc)
            rc = resolve(st, req->from, &r, &src_model, &src, err);
        if (rc) {
            aios_err_prefix(err, "--from");
            goto out;
        }
    }
    rc = aios_store_model_next_version(st, m.id, &v.version, err);
    if (rc)
        goto out;
    char *meta = f->metadata ? aios_json_dumps(f->metadata, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (f->metadata && !meta) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    v.model_id = m.id;
    v.path = f->path;
    v.sha256 = (char *)f->sha256;
    v.size_bytes = f->size_bytes;
    v.architecture = f->architecture;
    v.n_params = f->n_params;
    v.file_type = f->file_type;
    v.context_length = f->context_length;
    v.tokenizer = f->tokenizer;
    v.metadata = meta;
    v.created_ms = now;
    v.source_model = req->from ? src_model.name : NULL;
    v.source_version = req->from ? src.version : 0;
    v.lineage = (char *)req->how;
    rc = aios_store_model_version_insert(st, &v, err);
    aios_free(meta);
    if (rc)
        goto out;
    for (int i = 0; i < req->n_tags && !rc; i++) {
        char *k, *val;
        rc = aios_registry_tag_parse(req->tags[i], &k, &val, err);
        if (!rc)
            rc = aios_store_version_tag_set(st, v.id, k, val, err);
        aios_free(k);
        aios_free(val);
    }
    if (rc)
        goto out;
    /* Crash tests stop here: the version row and tags are written, the
     * transaction is not committed. */
    aios_store_pause_point("registry.insert");
    if (version)
        *version = v.version;
out:
    aios_store_model_free(&m);
    aios_store_model_free(&src_model);
    aios_store_model_version_free(&src);
    return rc;
}

int aios_registry_add(aios_store *st, const struct aios_registry_add *req, int64_t *version,
                      struct aios_err *err)
{
    int rc = check_request(req, err);
    if (rc)
        return rc;
    rc = aios_store_begin(st, err);
    if (rc)
        return rc;
    rc = add_in_tx(st, req, version, err);
    if (rc) {
        aios_store_rollback(st, NULL);
        aios_err_prefix(err, "registering %s", req->name);
        return rc;
    }
    return aios_store_commit(st, err);
}

int aios_registry_alias_set(aios_store *st, const char *name, int64_t version, const char *alias,
                            struct aios_err *err)
{
    int rc = aios_registry_name_check(name, err);
    if (!rc)
        rc = aios_registry_alias_check(alias, err);
    if (rc)
        return rc;
    rc = aios_store_begin(st, err);
    if (rc)
        return rc;
    struct aios_store_model m;
    rc = aios_store_model_get(st, name, &m, err);
    if (rc == AIOS_ENOTFOUND)
        rc = aios_err_set(err, rc, "model '%s' is not registered", name);
    if (!rc) {
        struct aios_store_model_version v;
        rc = aios_store_model_version_get(st, m.id, version, &v, err);
        if (rc == AIOS_ENOTFOUND)
            rc = aios_err_set(err, rc, "model '%s' has no version %lld", name, (long long)version);
        if (!rc) {
            rc = aios_store_alias_set(st, m.id, alias, v.id, err);
            if (!rc)
                rc = aios_store_model_touch(st, m.id, NULL, aios_wall_ms(), err);
            aios_store_model_version_free(&v);
        }
        aios_store_model_free(&m);
    }
    if (rc) {
        aios_store_rollback(st, NULL);
        return rc;
    }
    return aios_store_commit(st, err);
}

int aios_registry_alias_delete(aios_store *st, const char *name, const char *alias,
                               struct aios_err *err)
{
    struct aios_store_model m;
    int rc = aios_registry_name_check(name, err);
    if (rc)
        return rc;
    rc = aios_store_model_get(st, name, &m, err);
    if (rc == AIOS_ENOTFOUND)
        return aios_err_set(err, rc, "model '%s' is not registered", name);
    if (rc)
        return rc;
    rc = aios_store_alias_delete(st, m.id, alias, err);
    if (rc == AIOS_ENOTFOUND)
        rc = aios_err_set(err, rc, "model '%s' has no alias '%s'", name, alias);
    aios_store_model_free(&m);
    return rc;
}

int aios_registry_remove(aios_store *st, const char *ref, struct aios_err *err)
{
    struct aios_registry_ref r;
    int rc = aios_registry_ref_parse(ref, &r, err);
    if (rc)
        return rc;
    if (r.alias[0])
        return aios_err_set(err, AIOS_EINVAL,
                            "'%s': remove takes NAME or NAME@VERSION (a number), not an alias",
                            ref);
    rc = aios_store_begin(st, err);
    if (rc)
        return rc;
    struct aios_store_model m;
    rc = aios_store_model_get(st, r.name, &m, err);
    if (rc == AIOS_ENOTFOUND)
        rc = aios_err_set(err, rc, "model '%s' is not registered", r.name);
    if (!rc) {
        if (r.version == 0) {
            rc = aios_store_model_delete(st, m.id, err);
        } else {
            struct aios_store_model_version v;
            rc = aios_store_model_version_get(st, m.id, r.version, &v, err);
            if (rc == AIOS_ENOTFOUND)
                rc = aios_err_set(err, rc, "model '%s' has no version %lld", r.name,
                                  (long long)r.version);
            if (!rc) {
                rc = aios_store_model_version_delete(st, v.id, err);
                if (!rc)
                    rc = aios_store_model_touch(st, m.id, NULL, aios_wall_ms(), err);
                aios_store_model_version_free(&v);
            }
        }
        aios_store_model_free(&m);
    }
    if (!rc)
        aios_store_pause_point("registry.delete");
    if (rc) {
        aios_store_rollback(st, NULL);
        return rc;
    }
    return aios_store_commit(st, err);
}

int aios_registry_find_sha(aios_store *st, const char *sha256, char *ref, size_t size,
                           struct aios_err *err)
{
    char *name = NULL;
    int64_t version = 0;
    int rc = aios_store_model_version_find_sha_any(st, sha256, &name, &version, err);
    if (rc)
        return rc;
    snprintf(ref, size, "%s@%lld", name, (long long)version);
    aios_free(name);
    return AIOS_OK;
}
