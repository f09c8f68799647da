/*
 * Where the registry API may read model files from. POST /api/v1/models
 * names a file on the server; without a limit any API key could make the
 * server open any path (probing for files, reading /proc). The setting
 * model_dirs lists the directories registrations may come from (default
 * DATA_DIR/models); they are resolved once, at start-up, with realpath().
 *
 * A requested path is resolved with realpath() too, so `..` and symlinks
 * are followed before the check, and it must then lie strictly beneath one
 * of the directories, compared by whole path components (/models2/x is not
 * inside /models). Nothing outside the directories is looked at beyond
 * what realpath() does, and every answer about a path outside is the same
 * 403, whether it exists or not. A path that does not resolve is located
 * by its deepest ancestor that does: when that ancestor is inside and the
 * first missing component plainly does not exist, the answer is 400 "not
 * found"; anything else that does not resolve (a dangling or looping
 * symlink, `..` after a missing component, an unreadable directory) is the
 * 403, so that a symlink planted inside cannot tell about files outside.
 *
 * What this does not close: someone who can write inside an allowed
 * directory can swap a checked component for a symlink between the check
 * and the open (a local user, not an API client). The registry then stores
 * whatever realpath the file had when it was read, which the caller checks
 * again.
 */
#include "server/server.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JOINED_MAX 4096 /* of the list as shown in messages */

void aios_server_model_dirs_free(struct aios_server_model_dirs *d)
{
    for (int i = 0; d && i < d->n; i++)
        aios_free(d->dirs[i]);
    if (d) {
        aios_free(d->dirs);
        aios_free(d->joined);
        memset(d, 0, sizeof *d);
    }
}

/* Resolves one directory and appends it (duplicates are kept once). */
static int add_dir(struct aios_server_model_dirs *d, const char *dir, struct aios_err *err)
{
    char real[PATH_MAX];
    struct stat sb;
    if (!realpath(dir, real))
        return aios_err_set(err, errno == ENOENT ? AIOS_ENOTFOUND : AIOS_EIO, "model_dirs: %s: %s",
                            dir, strerror(errno));
    if (stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return aios_err_set(err, AIOS_EINVAL, "model_dirs: %s is not a directory", dir);
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->dirs[i], real) == 0)
            return AIOS_OK;
    char **grown = aios_realloc(d->dirs, ((size_t)d->n + 1) * sizeof *grown);
    if (!grown)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    d->dirs = grown;
    if (!(d->dirs[d->n] = aios_strdup(real)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    d->n++;
    return AIOS_OK;
}

int aios_server_model_dirs_init(struct aios_server_model_dirs *d, const char *list,
                                const char *data_dir, struct aios_err *err)
{
    memset(d, 0, sizeof *d);
    int rc = AIOS_OK;
    if (!list || !*list) {
        char def[PATH_MAX];
        if (!data_dir || !*data_dir)
            return aios_err_set(err, AIOS_EINVAL,
                                "model_dirs is empty and there is no data directory to default to");
        int n = snprintf(def, sizeof def, "%s/models", data_dir);
        if (n < 0 || (size_t)n >= sizeof def)
            return aios_err_set(err, AIOS_EINVAL, "model_dirs: data_dir is too long");
        if (!(rc = aios_mkdir_p(def, err)))
            rc = add_dir(d, def, err);
    } else {
        for (const char *p = list; !rc;) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            char dir[PATH_MAX];
            if (len == 0)
                rc = aios_err_set(err, AIOS_EINVAL,
                                  "model_dirs '%.200s' has an empty entry (directories are "
                                  "separated by ':')",
                                  list);
            else if (len >= sizeof dir)
                rc = aios_err_set(err, AIOS_EINVAL, "model_dirs: an entry is longer than %d bytes",
                                  PATH_MAX - 1);
            if (rc)
                break;
            memcpy(dir, p, len);
            dir[len] = '\0';
            rc = add_dir(d, dir, err);
            if (!colon)
                break;
            p = colon + 1;
        }
    }
    struct aios_buf b;
    aios_buf_init(&b, JOINED_MAX);
    for (int i = 0; !rc && i < d->n; i++) {
        if ((i && aios_buf_putc(&b, ':')) || aios_buf_puts(&b, d->dirs[i])) {
            /* Past the limit the message lists what fits. */
            aios_buf_reset(&b);
            aios_buf_printf(&b, "%.200s and %d more", d->dirs[0], d->n - 1);
            break;
        }
    }
    if (!rc && !(d->joined = aios_buf_detach(&b)))
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    aios_buf_free(&b);
    if (rc)
        aios_server_model_dirs_free(d);
    return rc;
}

/* Whether canonical path p is d itself (or_equal) or strictly beneath it. */
static bool within(const char *p, const char *d, bool or_equal)
{
    size_t n = strlen(d);
    if (n == 1 && d[0] == '/') /* the root: every other canonical path is beneath */
        return p[0] == '/' && (or_equal || p[1] != '\0');
    if (strncmp(p, d, n) != 0)
        return false;
    return p[n] == '/' ? p[n + 1] != '\0' : (or_equal && p[n] == '\0');
}

bool aios_server_model_dirs_contain(const struct aios_server_model_dirs *d, const char *real)
{
    for (int i = 0; i < d->n; i++)
        if (within(real, d->dirs[i], false))
            return true;
    return false;
}

static bool contain_or_equal(const struct aios_server_model_dirs *d, const char *real)
{
    for (int i = 0; i < d->n; i++)
        if (within(real, d->dirs[i], true))
            return true;
    return false;
}

int aios_server_model_path_deny(const struct aios_server_model_dirs *d, const char *path,
                                struct aios_server_apierr *e)
{
    return aios_server_apierr_set(e, 403, "invalid_request_error", "path", "PERMISSION_DENIED",
                                  "path '%.200s' is not a file inside the directories models "
                                  "may be registered from (%.200s%s; setting model_dirs)",
                                  path, d->n ? d->joined : "none",
                                  d->n && strlen(d->joined) > 200 ? "..." : "");
}

static int bad(struct aios_server_apierr *e, const char *msg, const char *path)
{
    return aios_server_apierr_set(e, 400, "invalid_request_error", "path",
                                  "INVALID_PARAMETER_VALUE", "path '%.200s' %s", path, msg);
}

/* path does not resolve: decides between "not found" inside and 403. */
static int unresolved(const struct aios_server_model_dirs *d, const char *path,
                      struct aios_server_apierr *e)
{
    char pre[PATH_MAX], real[PATH_MAX];
    size_t len = strlen(path);
    memcpy(pre, path, len + 1);
    /* Cut components off the end until what is left resolves (the root
     * always does). */
    size_t cut = len;
    for (;;) {
        while (cut > 0 && pre[cut - 1] == '/') /* "a//b", "a/" */
            cut--;
        while (cut > 0 && pre[cut - 1] != '/')
            cut--;
        if (cut <= 1) {
            aios_strlcpy(pre, "/", sizeof pre);
            cut = 1;
        } else {
            pre[cut - 1] = '\0';
        }
        if (realpath(pre, real))
            break;
        if (cut == 1) /* even the root failed: nothing sensible to say */
            return aios_server_model_path_deny(d, path, e);
        cut--;
    }
    /* path + cut is what did not resolve: its first component must plainly
     * not exist, and no `..` may follow (it would step back out). */
    const char *rest = path + cut;
    while (*rest == '/')
        rest++;
    const char *slash = strchr(rest, '/');
    size_t first = slash ? (size_t)(slash - rest) : strlen(rest);
    for (const char *c = rest; *c;) {
        size_t n = strcspn(c, "/");
        if ((n == 2 && c[0] == '.' && c[1] == '.') || (n == 1 && c[0] == '.'))
            return aios_server_model_path_deny(d, path, e);
        c += n;
        while (*c == '/')
            c++;
    }
    if (first == 0 || !contain_or_equal(d, real))
        return aios_server_model_path_deny(d, path, e);
    char probe[PATH_MAX];
    int n = snprintf(probe, sizeof probe, "%s/%.*s", strcmp(real, "/") == 0 ? "" : real, (int)first,
                     rest);
    struct stat sb;
    if (n < 0 || (size_t)n >= sizeof probe || lstat(probe, &sb) == 0 || errno != ENOENT)
        return aios_server_model_path_deny(d, path, e);
    return bad(e, "was not found", path);
}

int aios_server_model_path_check(const struct aios_server_model_dirs *d, const char *path,
                                 char *real, size_t size, struct aios_server_apierr *e)
{
    if (size < PATH_MAX)
        return aios_server_apierr_set(e, 500, "server_error", NULL, "INTERNAL_ERROR",
                                      "model path buffer too small");
    if (path[0] != '/')
        return bad(e, "must be absolute (a file on the server)", path);
    if (strlen(path) >= PATH_MAX)
        return bad(e, "is too long", path);
    if (!realpath(path, real))
        return unresolved(d, path, e);
    if (!aios_server_model_dirs_contain(d, real))
        return aios_server_model_path_deny(d, path, e);
    struct stat sb;
    if (stat(real, &sb) != 0)
        return bad(e, "cannot be read", path);
    if (!S_ISREG(sb.st_mode))
        return bad(e, "is not a regular file", path);
    return 0;
}
