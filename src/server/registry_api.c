/*
 * The model registry over HTTP, under /api/v1/models. Resources have the
 * shapes of MLflow's model-registry REST API (RegisteredModel and
 * ModelVersion, wrapped as {"registered_model": ...}, {"model_version":
 * ...}, {"registered_models": [...], "next_page_token"}); the paths are
 * resource-style rather than MLflow's RPC-style ones:
 *
 *   GET    /api/v1/models[?filter=&max_results=&page_token=]   search
 *   POST   /api/v1/models                          register a new version
 *   GET    /api/v1/models/NAME                     model with every version
 *   DELETE /api/v1/models/NAME                     model and its versions
 *   GET    /api/v1/models/NAME/versions            {"model_versions": [...]}
 *   POST   /api/v1/models/NAME/versions            register (name from the path)
 *   GET    /api/v1/models/NAME/versions/V          V: a number or "latest"
 *   DELETE /api/v1/models/NAME/versions/V          V: a number
 *   GET    /api/v1/models/NAME/aliases             {"aliases": [{alias, version}]}
 *   POST   /api/v1/models/NAME/aliases             {alias, version}: set or move
 *   GET    /api/v1/models/NAME/aliases/ALIAS       the version it points at
 *   DELETE /api/v1/models/NAME/aliases/ALIAS
 *
 * This file stays thin: it checks the request's fields (so that an error
 * names the field), then calls the same mlops functions as `aios model`.
 * Registration reads only files inside the directories of the setting
 * model_dirs (model_dirs.c): any other path is 403 PERMISSION_DENIED.
 * Errors use the server's one JSON error shape, {"error": {message, type,
 * param, code}}, with MLflow's error codes in code: 400
 * INVALID_PARAMETER_VALUE, 403 PERMISSION_DENIED, 404
 * RESOURCE_DOES_NOT_EXIST, 409 RESOURCE_ALREADY_EXISTS (the same file twice
 * in a model) or INVALID_STATE (a kind that contradicts the model), 503
 * TEMPORARILY_UNAVAILABLE.
 *
 * The store handle is shared by the connection threads under s->store_mu;
 * a registration reads and hashes the file before taking it, so a big
 * file does not hold up other registry requests.
 */
#include "mlops/mlops.h"
#include "server/server_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define API_PREFIX "/api/v1/models/"
#define MAX_SEGMENTS 3
#define SEGMENT_MAX 160

/* ---- errors ------------------------------------------------------------- */

static const char *code_of(int http)
{
    switch (http) {
    case 400:
        return "INVALID_PARAMETER_VALUE";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "RESOURCE_DOES_NOT_EXIST";
    case 405:
        return "method_not_allowed";
    case 409:
        return "RESOURCE_ALREADY_EXISTS";
    case 503:
        return "TEMPORARILY_UNAVAILABLE";
    default:
        return "INTERNAL_ERROR";
    }
}

static int seterr(struct aios_server_apierr *e, int http, const char *param, const char *fmt, ...)
    AIOS_PRINTF(4, 5);
static int seterr(struct aios_server_apierr *e, int http, const char *param, const char *fmt, ...)
{
    char msg[sizeof e->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return aios_server_apierr_set(e, http, http >= 500 ? "server_error" : "invalid_request_error",
                                  param, code_of(http), "%s", msg);
}

/* An mlops status as an HTTP error; param names the field for 400 and 409. */
static int from_status(struct aios_server_apierr *e, int rc, const struct aios_err *err,
                       const char *param)
{
    const char *m = err->msg[0] ? err->msg : aios_status_str(rc);
    switch (rc) {
    case AIOS_EINVAL:
    case AIOS_ERANGE:
    case AIOS_EPARSE:
    case AIOS_EFORMAT:
        return seterr(e, 400, param, "%s", m);
    case AIOS_ENOTFOUND:
        return seterr(e, 404, NULL, "%s", m);
    case AIOS_EEXIST:
        return seterr(e, 409, param, "%s", m);
    case AIOS_ESTATE:
        seterr(e, 409, param, "%s", m);
        e->code = "INVALID_STATE";
        return 409;
    case AIOS_EBUSY:
        return seterr(e, 503, NULL, "the store is busy, try again (%s)", m);
    default:
        return seterr(e, 500, NULL, "%s", m);
    }
}

static enum MHD_Result reply_error(struct req *r, json_t *body, const struct aios_server_apierr *e)
{
    json_decref(body);
    return srv_respond_error(r, e);
}

/* Wraps v as {key: v} and sends it (v is stolen). */
static enum MHD_Result reply(struct req *r, int status, const char *key, json_t *v)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, key, v) != 0) {
        json_decref(o);
        return srv_respond_json(r, 500, NULL);
    }
    return srv_respond_json(r, status, o);
}

/* ---- the store ---------------------------------------------------------- */

/* Takes the store, or sets e (503) when the server has none. */
static bool store_take(aios_server *s, struct aios_server_apierr *e)
{
    if (!s->store) {
        seterr(e, 503, NULL,
               "the model registry is not available: the server was started without a data "
               "directory");
        return false;
    }
    pthread_mutex_lock(&s->store_mu);
    return true;
}

static void store_give(aios_server *s)
{
    pthread_mutex_unlock(&s->store_mu);
}

int srv_store_open(aios_server *s, const struct aios_server_opts *opts, struct aios_err *err)
{
    const char *data_dir = opts->data_dir;
    pthread_mutex_init(&s->store_mu, NULL);
    s->store_mu_init = true;
    if (!data_dir || !*data_dir)
        return AIOS_OK;
    int rc = aios_mkdir_p(data_dir, err);
    if (!rc)
        rc = aios_store_open_dir(data_dir, &s->store, err);
    if (rc) {
        aios_err_prefix(err, "opening the store under %s", data_dir);
        return rc;
    }
    if ((rc = aios_server_model_dirs_init(&s->model_dirs, opts->model_dirs, data_dir, err)))
        return rc;
    AIOS_INFO(SERVER_MOD, "the registry API registers model files from %s", s->model_dirs.joined);
    return AIOS_OK;
}

void srv_store_close(aios_server *s)
{
    aios_store_close(s->store);
    s->store = NULL;
    aios_server_model_dirs_free(&s->model_dirs);
    if (s->store_mu_init)
        pthread_mutex_destroy(&s->store_mu);
    s->store_mu_init = false;
}

/* ---- request pieces ----------------------------------------------------- */

/* Splits what follows /api/v1/models/ into at most MAX_SEGMENTS non-empty
 * segments; false for more, an empty one or an overlong one. */
static int split(const char *rest, char seg[MAX_SEGMENTS][SEGMENT_MAX + 1])
{
    int n = 0;
    const char *p = rest;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len > SEGMENT_MAX || n == MAX_SEGMENTS)
            return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = 0;
        n++;
        if (!slash)
            return n;
        p = slash + 1;
    }
}

static int not_found_url(struct req *r, struct aios_server_apierr *e)
{
    return aios_server_apierr_set(e, 404, "invalid_request_error", NULL, NULL,
                                  "Invalid URL (%s %s)", r->method_label, r->url);
}

static int method_not_allowed(struct req *r, struct aios_server_apierr *e, const char *allowed)
{
    return aios_server_apierr_set(e, 405, "invalid_request_error", NULL, "method_not_allowed",
                                  "Method %s is not allowed for %s (allowed: %s)", r->method_label,
                                  r->url, allowed);
}

/* An optional string field (null counts as absent). */
static int opt_str(json_t *body, const char *key, const char **out, struct aios_server_apierr *e)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return seterr(e, 400, key, "Invalid type for '%s': expected a string, but got %s instead.",
                      key, srv_json_type(v));
    *out = json_string_value(v);
    return 0;
}

static int req_str(json_t *body, const char *key, const char **out, struct aios_server_apierr *e)
{
    int rc = opt_str(body, key, out, e);
    if (!rc && !*out)
        rc = seterr(e, 400, key, "Missing required parameter: '%s'.", key);
    return rc;
}

/* Rejects fields other than those listed (typos should not pass silently). */
static int only_fields(json_t *body, const char *const *known, struct aios_server_apierr *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        bool ok = false;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok) {
            char allowed[256] = "";
            for (int i = 0; known[i]; i++) {
                if (i)
                    aios_strlcpy(allowed + strlen(allowed), ", ", sizeof allowed - strlen(allowed));
                aios_strlcpy(allowed + strlen(allowed), known[i], sizeof allowed - strlen(allowed));
            }
            return seterr(e, 400, k, "Unknown parameter: '%.100s' (known: %s).", k, allowed);
        }
    }
    return 0;
}

/* A version number from the URL or a body: digits only, from 1. */
static bool version_number(const char *s, int64_t *out)
{
    if (!s || !*s || s[0] < '1' || s[0] > '9')
        return false;
    return aios_parse_i64(s, out) == AIOS_OK && *out >= 1;
}

static int check_name(const char *name, struct aios_server_apierr *e)
{
    struct aios_err err = {0};
    int rc = aios_registry_name_check(name, &err);
    return rc ? from_status(e, rc, &err, "name") : 0;
}

/* ---- search ------------------------------------------------------------- */

static const char *arg(struct req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

enum MHD_Result h_reg_list(struct req *r, json_t *body)
{
    struct aios_server_apierr e;
    struct aios_err err = {0};
    struct aios_registry_query q = {.filter = arg(r, "filter"), .page_token = arg(r, "page_token")};
    const char *max = arg(r, "max_results");
    int64_t n = 0;
    if (max && (aios_parse_i64(max, &n) != AIOS_OK || n < 1 || n > 1000)) {
        seterr(&e, 400, "max_results", "max_results must be an integer in [1, 1000], got '%.32s'",
               max);
        return reply_error(r, body, &e);
    }
    q.max_results = (int)n;
    int rc = aios_registry_filter_check(q.filter, &err);
    if (rc) {
        from_status(&e, rc, &err, "filter");
        return reply_error(r, body, &e);
    }
    if (q.page_token && *q.page_token && aios_registry_name_check(q.page_token, NULL)) {
        seterr(&e, 400, "page_token", "page_token is not one this server gave");
        return reply_error(r, body, &e);
    }
    if (!store_take(r->srv, &e))
        return reply_error(r, body, &e);
    json_t *out = NULL;
    rc = aios_registry_search_to_json(r->srv->store, &q, &out, &err);
    store_give(r->srv);
    if (rc) {
        from_status(&e, rc, &err, NULL);
        return reply_error(r, body, &e);
    }
    json_decref(body);
    return srv_respond_json(r, 200, out);
}

/* ---- register ----------------------------------------------------------- */

/* tags: [{"key": K, "value": V}, ...] (MLflow) or {"K": "V", ...}, into
 * "K=V" strings from arena, checked by the registry's rules. */
static int parse_tags(json_t *tags, aios_arena *arena, const char ***out, int *n,
                      struct aios_server_apierr *e)
{
    *out = NULL;
    *n = 0;
    if (!tags || json_is_null(tags))
        return 0;
    size_t count = json_is_array(tags) ? json_array_size(tags) : json_object_size(tags);
    if (!json_is_array(tags) && !json_is_object(tags))
        return seterr(e, 400, "tags",
                      "Invalid type for 'tags': expected an array of {key, value} or an object, "
                      "but got %s instead.",
                      srv_json_type(tags));
    if (count > AIOS_REGISTRY_MAX_TAGS)
        return seterr(e, 400, "tags", "at most %d tags, got %zu", AIOS_REGISTRY_MAX_TAGS, count);
    const char **kv = aios_arena_alloc(arena, (count + 1) * sizeof *kv);
    if (!kv)
        return seterr(e, 500, NULL, "out of memory");
    char param[64];
    size_t i = 0;
    const char *key;
    json_t *v;
    if (json_is_array(tags)) {
        json_array_foreach(tags, i, v)
        {
            snprintf(param, sizeof param, "tags[%zu]", i);
            json_t *k = json_object_get(v, "key"), *val = json_object_get(v, "value");
            if (!json_is_object(v) || !json_is_string(k) || !json_is_string(val) ||
                json_object_size(v) != 2)
                return seterr(e, 400, param,
                              "Invalid value for '%s': expected {\"key\": string, \"value\": "
                              "string}.",
                              param);
            size_t len = json_string_length(k) + json_string_length(val) + 2;
            char *s = aios_arena_alloc(arena, len);
            if (!s)
                return seterr(e, 500, NULL, "out of memory");
            snprintf(s, len, "%s=%s", json_string_value(k), json_string_value(val));
            kv[i] = s;
        }
    } else {
        json_object_foreach(tags, key, v)
        {
            snprintf(param, sizeof param, "tags.%.50s", key);
            if (!json_is_string(v))
                return seterr(e, 400, param,
                              "Invalid type for '%s': expected a string, but got %s instead.",
                              param, srv_json_type(v));
            size_t len = strlen(key) + json_string_length(v) + 2;
            char *s = aios_arena_alloc(arena, len);
            if (!s)
                return seterr(e, 500, NULL, "out of memory");
            snprintf(s, len, "%s=%s", key, json_string_value(v));
            kv[i++] = s;
        }
    }
    for (size_t j = 0; j < count; j++) {
        char *k, *val;
        struct aios_err err = {0};
        /* A key with '=' would split differently; the registry's key rule
         * forbids it, so the check below catches it. */
        int rc = aios_registry_tag_parse(kv[j], &k, &val, &err);
        if (rc) {
            snprintf(param, sizeof param, "tags[%zu]", j);
            return from_status(e, rc, &err, param);
        }
        aios_free(k);
        aios_free(val);
    }
    *out = kv;
    *n = (int)count;
    return 0;
}

/* POST /api/v1/models and /api/v1/models/NAME/versions (path_name set). */
static enum MHD_Result do_register(struct req *r, json_t *body, const char *path_name)
{
    static const char *const known[] = {"name", "path",   "kind", "description",
                                        "tags", "source", "how",  NULL};
    struct aios_server_apierr e;
    struct aios_err err = {0};
    struct aios_registry_file file = {0};
    json_t *out = NULL;
    aios_arena *arena = aios_arena_create(4096, (size_t)1 << 20);
    const char *name = NULL, *path = NULL, *kind = NULL, *desc = NULL, *source = NULL, *how = NULL;
    const char **tags = NULL;
    int ntags = 0, rc;
    if (!arena) {
        seterr(&e, 500, NULL, "out of memory");
        goto fail;
    }
    if (only_fields(body, known, &e))
        goto fail;
    if (path_name) {
        if (opt_str(body, "name", &name, &e))
            goto fail;
        if (name && strcmp(name, path_name) != 0) {
            seterr(&e, 400, "name", "name '%.128s' differs from the model in the URL ('%s')", name,
                   path_name);
            goto fail;
        }
        name = path_name;
    } else if (req_str(body, "name", &name, &e)) {
        goto fail;
    }
    if (check_name(name, &e) || req_str(body, "path", &path, &e) ||
        opt_str(body, "kind", &kind, &e) || opt_str(body, "description", &desc, &e) ||
        opt_str(body, "source", &source, &e) || opt_str(body, "how", &how, &e) ||
        parse_tags(json_object_get(body, "tags"), arena, &tags, &ntags, &e))
        goto fail;
    if (path[0] != '/') {
        seterr(&e, 400, "path", "path must be absolute (a file on the server), got '%.200s'", path);
        goto fail;
    }
    if (kind && strcmp(kind, "base") != 0 && strcmp(kind, "proprietary") != 0) {
        seterr(&e, 400, "kind", "kind must be 'base' or 'proprietary', got '%.64s'", kind);
        goto fail;
    }
    if (desc && strlen(desc) > AIOS_REGISTRY_DESCRIPTION_MAX) {
        seterr(&e, 400, "description", "description is longer than %d bytes",
               AIOS_REGISTRY_DESCRIPTION_MAX);
        goto fail;
    }
    if (source) {
        struct aios_registry_ref ref;
        if ((rc = aios_registry_ref_parse(source, &ref, &err))) {
            from_status(&e, rc, &err, "source");
            goto fail;
        }
        if (!how) {
            seterr(&e, 400, "how",
                   "how ('quantize', 'finetune' or 'train') is required with source");
            goto fail;
        }
    }
    if (how && strcmp(how, "quantize") != 0 && strcmp(how, "finetune") != 0 &&
        strcmp(how, "train") != 0) {
        seterr(&e, 400, "how", "how must be 'quantize', 'finetune' or 'train', got '%.64s'", how);
        goto fail;
    }
    if (how && !source) {
        seterr(&e, 400, "source",
               "source (NAME@VERSION the file was made from) is required with how");
        goto fail;
    }
    /* Without a store there are no model directories either: say 503
     * rather than refusing every path. */
    if (!r->srv->store) {
        store_take(r->srv, &e);
        goto fail;
    }
    /* Only files inside model_dirs, and nothing outside is opened. */
    char real[PATH_MAX];
    if (aios_server_model_path_check(&r->srv->model_dirs, path, real, sizeof real, &e))
        goto fail;
    /* The file is read and hashed before the store is taken. */
    if ((rc = aios_registry_inspect(real, NULL, NULL, &file, &err))) {
        from_status(&e, rc == AIOS_ENOTFOUND || rc == AIOS_EIO ? AIOS_EINVAL : rc, &err, "path");
        goto fail;
    }
    /* inspect resolved the path again once the file was open: a component
     * swapped for a symlink meanwhile must not put an outside file in the
     * registry. */
    if (!aios_server_model_dirs_contain(&r->srv->model_dirs, file.path)) {
        aios_server_model_path_deny(&r->srv->model_dirs, path, &e);
        goto fail;
    }
    if (!store_take(r->srv, &e))
        goto fail;
    struct aios_registry_add req = {
        .name = name,
        .kind = kind,
        .description = desc,
        .file = &file,
        .tags = tags,
        .n_tags = ntags,
        .from = source,
        .how = how,
    };
    int64_t version = 0;
    rc = aios_registry_add(r->srv->store, &req, &version, &err);
    if (!rc) {
        char ref[AIOS_REGISTRY_NAME_MAX + 32];
        snprintf(ref, sizeof ref, "%s@%lld", name, (long long)version);
        rc = aios_registry_version_to_json(r->srv->store, ref, &out, &err);
    }
    store_give(r->srv);
    if (rc) {
        from_status(&e, rc, &err,
                    rc == AIOS_ESTATE      ? "kind"
                    : rc == AIOS_EEXIST    ? "path"
                    : rc == AIOS_ENOTFOUND ? "source"
                                           : NULL);
        if (rc == AIOS_ENOTFOUND) /* only the lineage source can be missing here */
            aios_strlcpy(e.param, "source", sizeof e.param);
        goto fail;
    }
    aios_registry_file_free(&file);
    aios_arena_destroy(arena);
    json_decref(body);
    return reply(r, 201, "model_version", out);
fail:
    aios_registry_file_free(&file);
    aios_arena_destroy(arena);
    return reply_error(r, body, &e);
}

enum MHD_Result h_reg_create(struct req *r, json_t *body)
{
    return do_register(r, body, NULL);
}

/* ---- one model and what hangs off it ------------------------------------ */

/* The model's RegisteredModel with every version (new reference). */
static int model_json(struct req *r, const char *name, json_t **out, struct aios_server_apierr *e)
{
    struct aios_err err = {0};
    if (!store_take(r->srv, e))
        return e->http;
    int rc = aios_registry_model_to_json(r->srv->store, name, true, out, &err);
    store_give(r->srv);
    return rc ? from_status(e, rc, &err, NULL) : 0;
}

static int version_json(struct req *r, const char *ref, json_t **out, struct aios_server_apierr *e)
{
    struct aios_err err = {0};
    if (!store_take(r->srv, e))
        return e->http;
    int rc = aios_registry_version_to_json(r->srv->store, ref, out, &err);
    store_give(r->srv);
    return rc ? from_status(e, rc, &err, NULL) : 0;
}

/* Checks the URL's name and sub-resource shape; fills seg and returns the
 * segment count, or 0 with e set. */
static int parse_url(struct req *r, char seg[MAX_SEGMENTS][SEGMENT_MAX + 1],
                     struct aios_server_apierr *e)
{
    int n = split(r->url + strlen(API_PREFIX), seg);
    if (n < 1 || (n >= 2 && strcmp(seg[1], "versions") != 0 && strcmp(seg[1], "aliases") != 0)) {
        not_found_url(r, e);
        return 0;
    }
    if (check_name(seg[0], e))
        return 0;
    if (n == 3 && strcmp(seg[1], "aliases") == 0) {
        struct aios_err err = {0};
        int rc = aios_registry_alias_check(seg[2], &err);
        if (rc) {
            from_status(e, rc, &err, "alias");
            return 0;
        }
    }
    return n;
}

enum MHD_Result h_reg_get(struct req *r, json_t *body)
{
    struct aios_server_apierr e;
    char seg[MAX_SEGMENTS][SEGMENT_MAX + 1];
    json_t *m = NULL;
    int n = parse_url(r, seg, &e);
    if (n == 0)
        return reply_error(r, body, &e);
    json_decref(body);
    if (n == 1) {
        if (model_json(r, seg[0], &m, &e))
            return srv_respond_error(r, &e);
        return reply(r, 200, "registered_model", m);
    }
    if (n == 2) {
        if (model_json(r, seg[0], &m, &e))
            return srv_respond_error(r, &e);
        bool versions = strcmp(seg[1], "versions") == 0;
        json_t *v = json_incref(json_object_get(m, versions ? "versions" : "aliases"));
        json_decref(m);
        return reply(r, 200, versions ? "model_versions" : "aliases", v ? v : json_array());
    }
    char ref[2 * SEGMENT_MAX + 2];
    int64_t num;
    if (strcmp(seg[1], "versions") == 0 && strcmp(seg[2], "latest") != 0 &&
        !version_number(seg[2], &num)) {
        seterr(&e, 400, "version", "version must be a number from 1 or 'latest', got '%s'", seg[2]);
        return srv_respond_error(r, &e);
    }
    snprintf(ref, sizeof ref, "%s@%s", seg[0], seg[2]);
    if (version_json(r, ref, &m, &e))
        return srv_respond_error(r, &e);
    return reply(r, 200, "model_version", m);
}

/* POST /api/v1/models/NAME/aliases {"alias": A, "version": V} */
static enum MHD_Result set_alias(struct req *r, json_t *body, const char *name)
{
    static const char *const known[] = {"alias", "version", "name", NULL};
    struct aios_server_apierr e;
    struct aios_err err = {0};
    const char *alias = NULL, *other = NULL;
    json_t *jv = json_object_get(body, "version"), *out = NULL;
    int64_t version = 0;
    int rc;
    if (only_fields(body, known, &e) || req_str(body, "alias", &alias, &e) ||
        opt_str(body, "name", &other, &e))
        return reply_error(r, body, &e);
    if (other && strcmp(other, name) != 0) {
        seterr(&e, 400, "name", "name '%.128s' differs from the model in the URL ('%s')", other,
               name);
        return reply_error(r, body, &e);
    }
    if ((rc = aios_registry_alias_check(alias, &err))) {
        from_status(&e, rc, &err, "alias");
        return reply_error(r, body, &e);
    }
    /* MLflow sends versions as strings; a JSON integer is taken too. */
    if (!jv || json_is_null(jv)) {
        seterr(&e, 400, "version", "Missing required parameter: 'version'.");
        return reply_error(r, body, &e);
    }
    if (!(json_is_integer(jv) && (version = json_integer_value(jv)) >= 1) &&
        !(json_is_string(jv) && version_number(json_string_value(jv), &version))) {
        seterr(&e, 400, "version", "version must be a number from 1 (a string or an integer)");
        return reply_error(r, body, &e);
    }
    if (!store_take(r->srv, &e))
        return reply_error(r, body, &e);
    rc = aios_registry_alias_set(r->srv->store, name, version, alias, &err);
    if (!rc) {
        char ref[AIOS_REGISTRY_NAME_MAX + AIOS_REGISTRY_ALIAS_MAX + 2];
        snprintf(ref, sizeof ref, "%s@%s", name, alias);
        rc = aios_registry_version_to_json(r->srv->store, ref, &out, &err);
    }
    store_give(r->srv);
    if (rc) {
        from_status(&e, rc, &err, NULL);
        return reply_error(r, body, &e);
    }
    json_decref(body);
    return reply(r, 200, "model_version", out);
}

enum MHD_Result h_reg_post(struct req *r, json_t *body)
{
    struct aios_server_apierr e;
    char seg[MAX_SEGMENTS][SEGMENT_MAX + 1];
    int n = parse_url(r, seg, &e);
    if (n == 0)
        return reply_error(r, body, &e);
    if (n == 2 && strcmp(seg[1], "versions") == 0)
        return do_register(r, body, seg[0]);
    if (n == 2)
        return set_alias(r, body, seg[0]);
    method_not_allowed(r, &e, "GET, DELETE");
    return reply_error(r, body, &e);
}

enum MHD_Result h_reg_delete(struct req *r, json_t *body)
{
    struct aios_server_apierr e;
    struct aios_err err = {0};
    char seg[MAX_SEGMENTS][SEGMENT_MAX + 1];
    int n = parse_url(r, seg, &e);
    if (n == 0)
        return reply_error(r, body, &e);
    json_decref(body);
    if (n == 2) {
        method_not_allowed(r, &e, "GET, POST");
        return srv_respond_error(r, &e);
    }
    int64_t num = 0;
    if (n == 3 && strcmp(seg[1], "versions") == 0 && !version_number(seg[2], &num)) {
        seterr(&e, 400, "version", "delete takes a version number from 1, got '%s'", seg[2]);
        return srv_respond_error(r, &e);
    }
    if (!store_take(r->srv, &e))
        return srv_respond_error(r, &e);
    int rc;
    if (n == 3 && strcmp(seg[1], "aliases") == 0) {
        rc = aios_registry_alias_delete(r->srv->store, seg[0], seg[2], &err);
    } else {
        char ref[AIOS_REGISTRY_NAME_MAX + 32];
        if (n == 1)
            snprintf(ref, sizeof ref, "%s", seg[0]);
        else
            snprintf(ref, sizeof ref, "%s@%lld", seg[0], (long long)num);
        rc = aios_registry_remove(r->srv->store, ref, &err);
    }
    store_give(r->srv);
    if (rc) {
        from_status(&e, rc, &err, NULL);
        return srv_respond_error(r, &e);
    }
    return srv_respond_json(r, 200, json_object());
}

/* ---- /v1/models: where a served model came from ------------------------- */

int srv_sources_copy(aios_server *s, const struct aios_server_opts *opts, struct aios_err *err)
{
    if (opts->n_models <= 0)
        return AIOS_OK;
    s->srcs = aios_calloc((size_t)opts->n_models, sizeof *s->srcs);
    if (!s->srcs)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int i = 0; i < opts->n_models; i++) {
        const struct aios_server_model_spec *m = &opts->models[i];
        if (!m->registry_name)
            continue;
        struct srv_model_src *d = &s->srcs[s->nsrcs];
        d->id = aios_strdup(m->name);
        d->name = aios_strdup(m->registry_name);
        d->sha256 = aios_strdup(m->sha256 ? m->sha256 : "");
        d->version = m->registry_version;
        s->nsrcs++;
        if (!d->id || !d->name || !d->sha256)
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    return AIOS_OK;
}

void srv_sources_free(aios_server *s)
{
    for (int i = 0; i < s->nsrcs; i++) {
        aios_free(s->srcs[i].id);
        aios_free(s->srcs[i].name);
        aios_free(s->srcs[i].sha256);
    }
    aios_free(s->srcs);
    s->srcs = NULL;
    s->nsrcs = 0;
}

void srv_registry_annotate(aios_server *s, json_t *model, const char *id)
{
    for (int i = 0; model && i < s->nsrcs; i++) {
        const struct srv_model_src *d = &s->srcs[i];
        if (strcmp(d->id, id) != 0)
            continue;
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)d->version);
        json_object_set_new(
            model, "registry",
            json_pack("{s:s, s:s, s:s}", "name", d->name, "version", v, "sha256", d->sha256));
        return;
    }
}
