/*
 * The configuration table. Settings are declared once in settings.def
 * (name, type, default, doc); each has a value and the source it came from.
 * Precedence is flag > environment > file > default: a set from a lower
 * source never replaces a value from a higher one, so the loaders can run in
 * any order.
 */
#include "base/base.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct aios_cfg_def aios_cfg_defs[] = {
#define AIOS_SETTING(name, type, def, doc) {#name, type, def, doc},
#include "base/settings.def"
#undef AIOS_SETTING
    {NULL, AIOS_CFG_STR, NULL, NULL},
};

#define N_SETTINGS (sizeof aios_cfg_defs / sizeof aios_cfg_defs[0] - 1)

struct aios_config {
    char *value[N_SETTINGS];
    enum aios_cfg_source src[N_SETTINGS];
    char *file;
};

static int index_of(const char *name)
{
    char norm[128];
    size_t n = aios_strlcpy(norm, name, sizeof norm);
    if (n >= sizeof norm)
        return -1;
    for (char *p = norm; *p; p++)
        if (*p == '-')
            *p = '_';
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(aios_cfg_defs[i].name, norm) == 0)
            return (int)i;
    return -1;
}

const struct aios_cfg_def *aios_config_find(const char *name)
{
    int i = index_of(name);
    return i < 0 ? NULL : &aios_cfg_defs[i];
}

aios_config *aios_config_create(void)
{
    aios_config *c = aios_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        c->value[i] = aios_strdup(aios_cfg_defs[i].def);
        if (!c->value[i]) {
            aios_config_destroy(c);
            return NULL;
        }
    }
    return c;
}

void aios_config_destroy(aios_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < N_SETTINGS; i++)
        aios_free(c->value[i]);
    aios_free(c->file);
    aios_free(c);
}

static int check_value(const struct aios_cfg_def *d, const char *v)
{
    int64_t i;
    double x;
    bool b;
    switch (d->type) {
    case AIOS_CFG_INT:
        return aios_parse_i64(v, &i);
    case AIOS_CFG_DOUBLE:
        return aios_parse_double(v, &x);
    case AIOS_CFG_BOOL:
        return aios_parse_bool(v, &b);
    case AIOS_CFG_STR:
        return AIOS_OK;
    }
    return AIOS_EINVAL;
}

static const char *type_str(enum aios_cfg_type t)
{
    static const char *const s[] = {"a string", "an integer", "a number", "a boolean"};
    return s[t];
}

int aios_config_set(aios_config *c, const char *name, const char *value, enum aios_cfg_source src,
                    struct aios_err *err)
{
    int i = index_of(name);
    if (i < 0)
        return aios_err_set(err, AIOS_ENOTFOUND, "unknown setting '%s'", name);
    const struct aios_cfg_def *d = &aios_cfg_defs[i];
    if (check_value(d, value) != AIOS_OK)
        return aios_err_set(err, AIOS_EINVAL, "setting %s: '%s' is not %s", d->name, value,
                            type_str(d->type));
    if (c->src[i] > src)
        return AIOS_OK;
    char *v = aios_strdup(value);
    if (!v)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    aios_free(c->value[i]);
    c->value[i] = v;
    c->src[i] = src;
    return AIOS_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int aios_config_load_file(aios_config *c, const char *path, bool optional, struct aios_err *err)
{
    char *text;
    size_t len;
    struct aios_err e;
    int rc = aios_read_file(path, 1 << 20, &text, &len, &e);
    if (rc == AIOS_ENOTFOUND && optional)
        return AIOS_OK;
    if (rc)
        return aios_err_set(err, rc, "config file %s", e.msg);
    int lineno = 0;
    char *save = NULL;
    rc = AIOS_OK;
    /* strtok_r skips empty lines, so count newlines by hand. */
    char *p = text;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        lineno++;
        char *line = trim(p);
        p = nl ? nl + 1 : NULL;
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = aios_err_set(err, AIOS_EPARSE, "%s:%d: expected 'name = value'", path, lineno);
            break;
        }
        *eq = 0;
        char *name = trim(line), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = 0;
            value++;
        }
        struct aios_err se;
        rc = aios_config_set(c, name, value, AIOS_CFG_FROM_FILE, &se);
        if (rc) {
            aios_err_set(err, rc, "%s:%d: %s", path, lineno, se.msg);
            break;
        }
    }
    (void)save;
    aios_free(text);
    if (rc == AIOS_OK) {
        aios_free(c->file);
        c->file = aios_strdup(path);
    }
    return rc;
}

int aios_config_load_env(aios_config *c, struct aios_err *err)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        char env[160] = "AIOS_";
        size_t n = 5;
        for (const char *s = aios_cfg_defs[i].name; *s && n < sizeof env - 1; s++)
            env[n++] = (char)toupper((unsigned char)*s);
        env[n] = 0;
        const char *v = getenv(env);
        if (!v)
            continue;
        struct aios_err se;
        int rc = aios_config_set(c, aios_cfg_defs[i].name, v, AIOS_CFG_FROM_ENV, &se);
        if (rc)
            return aios_err_set(err, rc, "environment %s: %s", env, se.msg);
    }
    return AIOS_OK;
}

const char *aios_config_str(const aios_config *c, const char *name)
{
    int i = index_of(name);
    return i < 0 ? NULL : c->value[i];
}

int64_t aios_config_int(const aios_config *c, const char *name)
{
    int64_t v = 0;
    const char *s = aios_config_str(c, name);
    if (s)
        aios_parse_i64(s, &v);
    return v;
}

double aios_config_double(const aios_config *c, const char *name)
{
    double v = 0;
    const char *s = aios_config_str(c, name);
    if (s)
        aios_parse_double(s, &v);
    return v;
}

bool aios_config_bool(const aios_config *c, const char *name)
{
    bool v = false;
    const char *s = aios_config_str(c, name);
    if (s)
        aios_parse_bool(s, &v);
    return v;
}

enum aios_cfg_source aios_config_source(const aios_config *c, const char *name)
{
    int i = index_of(name);
    return i < 0 ? AIOS_CFG_FROM_DEFAULT : c->src[i];
}

const char *aios_cfg_source_str(enum aios_cfg_source s)
{
    static const char *const n[] = {"default", "file", "env", "flag"};
    return (unsigned)s < 4 ? n[s] : "?";
}

const char *aios_config_file_path(const aios_config *c)
{
    return c->file;
}

int aios_data_path(const aios_config *c, const char *rel, char *out, size_t size,
                   struct aios_err *err)
{
    const char *dir = aios_config_str(c, "data_dir");
    if (!dir || !*dir)
        return aios_err_set(err, AIOS_EINVAL, "data_dir is empty");
    int rc = aios_mkdir_p(dir, err);
    if (rc)
        return rc;
    int n = snprintf(out, size, "%s%s%s", dir, rel && *rel ? "/" : "", rel ? rel : "");
    if (n < 0 || (size_t)n >= size)
        return aios_err_set(err, AIOS_EINVAL, "path under data_dir too long");
    return AIOS_OK;
}
