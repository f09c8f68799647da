/* JSON helpers over jansson: bounded parsing with line/column errors and
 * typed field access whose errors name the path of the bad field. */
#include "base/base.h"

#include <math.h>
#include <string.h>

/* jansson allocates through us, so JSON memory counts against the limit. */
__attribute__((constructor)) static void json_use_aios_alloc(void)
{
    json_set_alloc_funcs(aios_malloc, aios_free);
}

static int depth_ok(const json_t *v, int depth)
{
    if (depth > 64)
        return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            if (!depth_ok(c, depth + 1))
                return 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (!depth_ok(c, depth + 1))
                return 0;
        }
    }
    return 1;
}

int aios_json_parse(const char *text, size_t len, size_t max_bytes, json_t **out,
                    struct aios_err *err)
{
    *out = NULL;
    if (max_bytes && len > max_bytes)
        return aios_err_set(err, AIOS_ELIMIT, "JSON body of %zu bytes exceeds the limit of %zu",
                            len, max_bytes);
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v)
        return aios_err_set(err, AIOS_EPARSE, "invalid JSON at line %d, column %d: %s", je.line,
                            je.column, je.text);
    if (!depth_ok(v, 1)) {
        json_decref(v);
        return aios_err_set(err, AIOS_ELIMIT, "JSON nested more than 64 levels deep");
    }
    *out = v;
    return AIOS_OK;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

#define SEP(path) ((path) && *(path) ? "." : "")
#define PATH(path) ((path) ? (path) : "")

/* Common lookup: AIOS_OK with *v set, AIOS_OK with *v NULL (optional and
 * absent), or an error. */
static int lookup(const json_t *obj, const char *path, const char *key, bool required, json_t **v,
                  struct aios_err *err)
{
    *v = NULL;
    if (!json_is_object(obj))
        return aios_err_set(err, AIOS_EINVAL, "%s: expected an object",
                            path && *path ? path : "body");
    json_t *f = json_object_get(obj, key);
    if (!f || json_is_null(f)) {
        if (required)
            return aios_err_set(err, AIOS_EINVAL, "%s%s%s: required field is missing", PATH(path),
                                SEP(path), key);
        return AIOS_OK;
    }
    *v = f;
    return AIOS_OK;
}

static int wrong(const char *path, const char *key, const char *want, const json_t *v,
                 struct aios_err *err)
{
    return aios_err_set(err, AIOS_EINVAL, "%s%s%s: expected %s, got %s", PATH(path), SEP(path), key,
                        want, type_name(v));
}

int aios_json_get_str(const json_t *obj, const char *path, const char *key, bool required,
                      const char **out, struct aios_err *err)
{
    json_t *v;
    int rc = lookup(obj, path, key, required, &v, err);
    if (rc || !v)
        return rc;
    if (!json_is_string(v))
        return wrong(path, key, "a string", v, err);
    *out = json_string_value(v);
    return AIOS_OK;
}

int aios_json_get_int(const json_t *obj, const char *path, const char *key, bool required,
                      int64_t *out, struct aios_err *err)
{
    json_t *v;
    int rc = lookup(obj, path, key, required, &v, err);
    if (rc || !v)
        return rc;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return AIOS_OK;
    }
    /* 3.0 is an integer to most clients. */
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            *out = (int64_t)d;
            return AIOS_OK;
        }
    }
    return wrong(path, key, "an integer", v, err);
}

int aios_json_get_num(const json_t *obj, const char *path, const char *key, bool required,
                      double *out, struct aios_err *err)
{
    json_t *v;
    int rc = lookup(obj, path, key, required, &v, err);
    if (rc || !v)
        return rc;
    if (!json_is_number(v))
        return wrong(path, key, "a number", v, err);
    *out = json_number_value(v);
    return AIOS_OK;
}

int aios_json_get_bool(const json_t *obj, const char *path, const char *key, bool required,
                       bool *out, struct aios_err *err)
{
    json_t *v;
    int rc = lookup(obj, path, key, required, &v, err);
    if (rc || !v)
        return rc;
    if (!json_is_boolean(v))
        return wrong(path, key, "a boolean", v, err);
    *out = json_is_true(v);
    return AIOS_OK;
}

int aios_json_get_obj(const json_t *obj, const char *path, const char *key, bool required,
                      json_t **out, struct aios_err *err)
{
    json_t *v;
    int rc = lookup(obj, path, key, required, &v, err);
    if (rc || !v)
        return rc;
    if (!json_is_object(v))
        return wrong(path, key, "an object", v, err);
    *out = v;
    return AIOS_OK;
}

int aios_json_get_arr(const json_t *obj, const char *path, const char *key, bool required,
                      json_t **out, struct aios_err *err)
{
    json_t *v;
    int rc = lookup(obj, path, key, required, &v, err);
    if (rc || !v)
        return rc;
    if (!json_is_array(v))
        return wrong(path, key, "an array", v, err);
    *out = v;
    return AIOS_OK;
}

int aios_json_check_range(const char *path, const char *key, double v, double lo, double hi,
                          struct aios_err *err)
{
    if (v < lo || v > hi || isnan(v))
        return aios_err_set(err, AIOS_ERANGE, "%s%s%s: %g is out of range [%g, %g]", PATH(path),
                            SEP(path), key, v, lo, hi);
    return AIOS_OK;
}

char *aios_json_dumps(const json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags | JSON_ENCODE_ANY);
    return s; /* allocated by jansson through aios_malloc: free with aios_free */
}
