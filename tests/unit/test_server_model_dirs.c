/* Where the registry API may read model files (src/server/model_dirs.c):
 * the setting's parsing, and the check of a requested path against it:
 * files inside pass with their canonical path; everything outside, however
 * it is spelled (`..`, symlinks, a sibling with a common prefix) and
 * whether or not it exists, is the same 403; a missing file inside is 400. */
#include "server/server.h"
#include "test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX]; /* canonical scratch directory */

/* root + "/" + rel into a static buffer (one of four, so a call can take two). */
static const char *at(const char *rel)
{
    static char buf[4][PATH_MAX + 64];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", root, rel);
    return buf[i];
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("x", f);
        fclose(f);
    }
}

/* Layout:
 *   models/a.gguf, models/sub/b.gguf, models/dir/
 *   models/out -> ../outside/secret.gguf      (symlink leading out)
 *   models/outdir -> ../outside               (directory symlink leading out)
 *   models/in -> a.gguf                       (symlink staying inside)
 *   models/dangling -> ../outside/none.gguf
 *   models/loop -> loop
 *   models2/c.gguf                            (sibling with a common prefix)
 *   extra/d.gguf                              (second allowed directory)
 *   outside/secret.gguf
 *   link-to-extra -> extra                    (an allowed directory named through a symlink) */
static bool make_tree(void)
{
    const char *dir = test_tmpdir("model_dirs");
    if (!dir || !realpath(dir, root))
        return false;
    static const char *const dirs[] = {"models",  "models/sub", "models/dir",
                                       "models2", "extra",      "outside"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (mkdir(at(dirs[i]), 0755) != 0)
            return false;
    touch(at("models/a.gguf"));
    touch(at("models/sub/b.gguf"));
    touch(at("models2/c.gguf"));
    touch(at("extra/d.gguf"));
    touch(at("outside/secret.gguf"));
    return symlink("../outside/secret.gguf", at("models/out")) == 0 &&
           symlink("../outside", at("models/outdir")) == 0 &&
           symlink("a.gguf", at("models/in")) == 0 &&
           symlink("../outside/none.gguf", at("models/dangling")) == 0 &&
           symlink("loop", at("models/loop")) == 0 && symlink("extra", at("link-to-extra")) == 0;
}

static void test_init(void)
{
    struct aios_server_model_dirs d;
    struct aios_err err = {0};
    char list[3 * PATH_MAX];

    /* Two directories, one named through a symlink: both canonical. */
    snprintf(list, sizeof list, "%s:%s", at("models"), at("link-to-extra"));
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, list, NULL, &err), AIOS_OK);
    CHECK_EQ_INT(d.n, 2);
    if (d.n == 2) {
        CHECK_EQ_STR(d.dirs[0], at("models"));
        CHECK_EQ_STR(d.dirs[1], at("extra"));
        char joined[2 * PATH_MAX + 8];
        snprintf(joined, sizeof joined, "%s:%s", at("models"), at("extra"));
        CHECK_EQ_STR(d.joined, joined);
    }
    aios_server_model_dirs_free(&d);

    /* The same directory twice (once with `..`) is kept once. */
    snprintf(list, sizeof list, "%s:%s", at("models"), at("models/sub/.."));
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, list, NULL, &err), AIOS_OK);
    CHECK_EQ_INT(d.n, 1);
    aios_server_model_dirs_free(&d);

    /* A missing directory, a file, an empty entry: start-up errors. */
    snprintf(list, sizeof list, "%s:%s", at("models"), at("nope"));
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, list, NULL, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "nope") != NULL);
    CHECK_EQ_INT(d.n, 0);
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, at("models/a.gguf"), NULL, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "not a directory") != NULL);
    snprintf(list, sizeof list, "%s::%s", at("models"), at("extra"));
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, list, NULL, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "empty entry") != NULL);
    snprintf(list, sizeof list, "%s:", at("models"));
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, list, NULL, &err), AIOS_EINVAL);

    /* Empty: DATA_DIR/models, created. */
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, "", at("data"), &err), AIOS_OK);
    CHECK_EQ_INT(d.n, 1);
    if (d.n == 1)
        CHECK_EQ_STR(d.dirs[0], at("data/models"));
    struct stat sb;
    CHECK(stat(at("data/models"), &sb) == 0 && S_ISDIR(sb.st_mode));
    aios_server_model_dirs_free(&d);
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, NULL, NULL, &err), AIOS_EINVAL);
}

static void test_contain(void)
{
    char *dirs[] = {"/srv/models"};
    struct aios_server_model_dirs d = {.dirs = dirs, .n = 1, .joined = "/srv/models"};
    CHECK(aios_server_model_dirs_contain(&d, "/srv/models/a.gguf"));
    CHECK(aios_server_model_dirs_contain(&d, "/srv/models/x/y/a.gguf"));
    CHECK(!aios_server_model_dirs_contain(&d, "/srv/models"));    /* the directory itself */
    CHECK(!aios_server_model_dirs_contain(&d, "/srv/models2/a")); /* common prefix */
    CHECK(!aios_server_model_dirs_contain(&d, "/srv/modelsa.gguf"));
    CHECK(!aios_server_model_dirs_contain(&d, "/srv/mode"));
    CHECK(!aios_server_model_dirs_contain(&d, "/etc/passwd"));
    char *rootdir[] = {"/"};
    struct aios_server_model_dirs r = {.dirs = rootdir, .n = 1, .joined = "/"};
    CHECK(aios_server_model_dirs_contain(&r, "/etc/passwd"));
    CHECK(!aios_server_model_dirs_contain(&r, "/"));
}

/* Expects status want for path; for 0 also the canonical path. */
static void expect(const struct aios_server_model_dirs *d, const char *path, int want,
                   const char *want_real)
{
    char real[PATH_MAX];
    struct aios_server_apierr e;
    memset(&e, 0, sizeof e);
    int got = aios_server_model_path_check(d, path, real, sizeof real, &e);
    CHECK_MSG(got == want, "%s: got %d, want %d (%s)", path, got, want, e.message);
    if (got == 0 && want_real)
        CHECK_EQ_STR(real, want_real);
    if (got == 0)
        return;
    CHECK_EQ_STR(e.param, "path");
    if (want == 403) {
        /* One answer for everything outside: the same code and wording,
         * naming the allowed directories. */
        CHECK_EQ_STR(e.code, "PERMISSION_DENIED");
        CHECK(strstr(e.message, "is not a file inside the directories") != NULL);
        CHECK(strstr(e.message, d->joined) != NULL);
    } else {
        CHECK_EQ_STR(e.code, "INVALID_PARAMETER_VALUE");
    }
}

static void test_check(void)
{
    struct aios_server_model_dirs d;
    struct aios_err err = {0};
    char list[3 * PATH_MAX];
    snprintf(list, sizeof list, "%s:%s", at("models"), at("extra"));
    CHECK_EQ_INT(aios_server_model_dirs_init(&d, list, NULL, &err), AIOS_OK);
    if (d.n != 2)
        return;
    char p[PATH_MAX + 64];

    /* Inside: passes, canonical. */
    expect(&d, at("models/a.gguf"), 0, at("models/a.gguf"));
    expect(&d, at("models/sub/b.gguf"), 0, at("models/sub/b.gguf"));
    expect(&d, at("models/sub/../a.gguf"), 0, at("models/a.gguf"));
    expect(&d, at("models/./sub//b.gguf"), 0, at("models/sub/b.gguf"));
    expect(&d, at("models/in"), 0, at("models/a.gguf"));
    expect(&d, at("extra/d.gguf"), 0, at("extra/d.gguf")); /* the second directory */
    expect(&d, at("link-to-extra/d.gguf"), 0, at("extra/d.gguf"));

    /* Inside but not a registrable file: 400. */
    expect(&d, at("models/none.gguf"), 400, NULL);
    expect(&d, at("models/sub/none/none.gguf"), 400, NULL);
    expect(&d, at("extra/none.gguf"), 400, NULL);
    expect(&d, at("models/dir"), 400, NULL);
    expect(&d, "models/a.gguf", 400, NULL); /* relative */

    /* Outside, existing or not: 403. */
    expect(&d, at("outside/secret.gguf"), 403, NULL);
    expect(&d, at("outside/none.gguf"), 403, NULL);
    expect(&d, at("nowhere/none.gguf"), 403, NULL);
    expect(&d, "/etc/passwd", 403, NULL);
    expect(&d, "/proc/self/environ", 403, NULL);
    expect(&d, "/", 403, NULL);
    expect(&d, at("models"), 403, NULL); /* the directory itself */
    expect(&d, at("models2/c.gguf"), 403, NULL);
    expect(&d, at("models2/none.gguf"), 403, NULL);
    expect(&d, at("modelsx/none.gguf"), 403, NULL);
    /* `..` escapes, to a file that exists and one that does not. */
    expect(&d, at("models/../outside/secret.gguf"), 403, NULL);
    expect(&d, at("models/sub/../../outside/secret.gguf"), 403, NULL);
    expect(&d, at("models/../outside/none.gguf"), 403, NULL);
    expect(&d, at("models/none/../../outside/secret.gguf"), 403, NULL);
    expect(&d, at("models/none/.."), 403, NULL);
    /* Symlinks inside leading out: to a file, through a directory, and
     * dangling (which must not answer differently from an existing one). */
    expect(&d, at("models/out"), 403, NULL);
    expect(&d, at("models/outdir/secret.gguf"), 403, NULL);
    expect(&d, at("models/outdir/none.gguf"), 403, NULL);
    expect(&d, at("models/dangling"), 403, NULL);
    expect(&d, at("models/loop"), 403, NULL);
    /* A file used as a directory. */
    expect(&d, at("models/a.gguf/x"), 403, NULL);
    /* Too long. */
    memset(p, 'a', sizeof p - 1);
    p[0] = '/';
    p[sizeof p - 1] = '\0';
    expect(&d, p, 400, NULL);
    aios_server_model_dirs_free(&d);
}

int main(void)
{
    if (!make_tree()) {
        fprintf(stderr, "cannot build the scratch tree\n");
        return 1;
    }
    TEST_RUN(test_init);
    TEST_RUN(test_contain);
    TEST_RUN(test_check);
    TEST_EXIT();
}
