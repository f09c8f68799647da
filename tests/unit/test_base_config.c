/* Configuration table: types, precedence flag > env > file > default, file errors. */
#include "base/base.h"
#include "test.h"

#include <stdlib.h>

static void write_text(const char *path, const char *text)
{
    struct aios_err err;
    CHECK_EQ_INT(aios_write_file_atomic(path, text, strlen(text), &err), AIOS_OK);
}

static void test_defaults(void)
{
    aios_config *c = aios_config_create();
    CHECK_EQ_STR(aios_config_str(c, "data_dir"), "./aios-data");
    CHECK_EQ_INT(aios_config_int(c, "port"), 8080);
    CHECK_EQ_INT(aios_config_source(c, "port"), AIOS_CFG_FROM_DEFAULT);
    CHECK(aios_config_find("data-dir") != NULL);
    CHECK(aios_config_find("nope") == NULL);
    CHECK(aios_config_str(c, "nope") == NULL);
    for (const struct aios_cfg_def *d = aios_cfg_defs; d->name; d++)
        CHECK_MSG(d->doc && *d->doc, "%s has no doc", d->name);
    aios_config_destroy(c);
}

static void test_precedence(void)
{
    const char *dir = test_tmpdir("config");
    char path[4200];
    snprintf(path, sizeof path, "%s/aios.conf", dir);
    write_text(path, "# comment\n\nport = 9000\nthreads=3\ndata_dir = \"/srv/aios\"\n");
    aios_config *c = aios_config_create();
    struct aios_err err;
    setenv("AIOS_THREADS", "5", 1);
    /* Order of loading must not matter: flag first, then env, then file. */
    CHECK_EQ_INT(aios_config_set(c, "data-dir", "/flag", AIOS_CFG_FROM_FLAG, &err), AIOS_OK);
    CHECK_EQ_INT(aios_config_load_env(c, &err), AIOS_OK);
    CHECK_EQ_INT(aios_config_load_file(c, path, false, &err), AIOS_OK);
    unsetenv("AIOS_THREADS");
    CHECK_EQ_STR(aios_config_str(c, "data_dir"), "/flag");
    CHECK_EQ_INT(aios_config_source(c, "data_dir"), AIOS_CFG_FROM_FLAG);
    CHECK_EQ_INT(aios_config_int(c, "threads"), 5);
    CHECK_EQ_INT(aios_config_source(c, "threads"), AIOS_CFG_FROM_ENV);
    CHECK_EQ_INT(aios_config_int(c, "port"), 9000);
    CHECK_EQ_INT(aios_config_source(c, "port"), AIOS_CFG_FROM_FILE);
    CHECK_EQ_STR(aios_config_file_path(c), path);
    CHECK_EQ_STR(aios_cfg_source_str(AIOS_CFG_FROM_ENV), "env");
    aios_config_destroy(c);
}

static void test_errors(void)
{
    const char *dir = test_tmpdir("config_err");
    char path[4200];
    struct aios_err err;
    aios_config *c = aios_config_create();
    snprintf(path, sizeof path, "%s/bad1.conf", dir);
    write_text(path, "port = 1\nbogus = 2\n");
    CHECK_EQ_INT(aios_config_load_file(c, path, false, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, ":2:") && strstr(err.msg, "bogus"));
    snprintf(path, sizeof path, "%s/bad2.conf", dir);
    write_text(path, "port = eighty\n");
    CHECK_EQ_INT(aios_config_load_file(c, path, false, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "integer") != NULL);
    snprintf(path, sizeof path, "%s/bad3.conf", dir);
    write_text(path, "just words\n");
    CHECK_EQ_INT(aios_config_load_file(c, path, false, &err), AIOS_EPARSE);
    snprintf(path, sizeof path, "%s/absent.conf", dir);
    CHECK_EQ_INT(aios_config_load_file(c, path, true, &err), AIOS_OK);
    CHECK_EQ_INT(aios_config_load_file(c, path, false, &err), AIOS_ENOTFOUND);
    setenv("AIOS_PORT", "x", 1);
    CHECK_EQ_INT(aios_config_load_env(c, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "AIOS_PORT") != NULL);
    unsetenv("AIOS_PORT");
    CHECK_EQ_INT(aios_config_set(c, "threads", "1.5", AIOS_CFG_FROM_FLAG, &err), AIOS_EINVAL);
    aios_config_destroy(c);
}

static void test_data_path(void)
{
    const char *dir = test_tmpdir("config_data");
    char want[4200], got[4200];
    snprintf(want, sizeof want, "%s/deep/data", dir);
    aios_config *c = aios_config_create();
    struct aios_err err;
    CHECK_EQ_INT(aios_config_set(c, "data_dir", want, AIOS_CFG_FROM_FLAG, &err), AIOS_OK);
    CHECK_EQ_INT(aios_data_path(c, "aios.db", got, sizeof got, &err), AIOS_OK);
    strncat(want, "/aios.db", sizeof want - strlen(want) - 1);
    CHECK_EQ_STR(got, want);
    struct stat st;
    snprintf(want, sizeof want, "%s/deep/data", dir);
    CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));              /* created on demand */
    CHECK_EQ_INT(aios_data_path(c, "x", got, 8, &err), AIOS_EINVAL); /* too long for out */
    aios_config_destroy(c);
}

int main(void)
{
    TEST_RUN(test_data_path);
    TEST_RUN(test_defaults);
    TEST_RUN(test_precedence);
    TEST_RUN(test_errors);
    TEST_EXIT();
}
