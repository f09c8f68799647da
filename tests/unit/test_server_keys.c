/* API keys at rest: stored as SHA-256 hashes (never the key), loaded back,
 * matched; corrupt files are errors naming the line. */
#include "server/server.h"
#include "test.h"

#include <stdio.h>

static void test_add_load_match(void)
{
    const char *dir = test_tmpdir("server_keys");
    CHECK(dir != NULL);
    if (!dir)
        return;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/data", dir); /* created on first add */
    struct aios_err err;
    CHECK_EQ_INT(aios_server_keys_add(sub, "sk-ops-0123456789", "ops team", &err), AIOS_OK);
    CHECK_EQ_INT(aios_server_keys_add(sub, "sk-ci-abcdefghijk", NULL, &err), AIOS_OK);
    CHECK_EQ_INT(aios_server_keys_add(sub, "short", NULL, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_server_keys_add(sub, "sk-long-enough-1", "bad\nlabel", &err), AIOS_EINVAL);

    char path[4300];
    snprintf(path, sizeof path, "%s/api-keys", sub);
    char *text = NULL;
    size_t len = 0;
    CHECK_EQ_INT(aios_read_file(path, 1 << 20, &text, &len, &err), AIOS_OK);
    char hex[65];
    aios_sha256_hex("sk-ops-0123456789", strlen("sk-ops-0123456789"), hex);
    CHECK(text && strstr(text, hex) != NULL);
    CHECK(text && strstr(text, "ops team") != NULL);
    CHECK(text && strstr(text, "sk-ops") == NULL); /* never the key itself */
    aios_free(text);

    uint8_t(*h)[32] = NULL;
    int n = 0;
    CHECK_EQ_INT(aios_server_keys_load(sub, &h, &n, &err), AIOS_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(aios_server_keys_match((const uint8_t(*)[32])h, n, "sk-ops-0123456789", 17));
    CHECK(aios_server_keys_match((const uint8_t(*)[32])h, n, "sk-ci-abcdefghijk", 17));
    CHECK(!aios_server_keys_match((const uint8_t(*)[32])h, n, "sk-ops-012345678", 16));
    CHECK(!aios_server_keys_match((const uint8_t(*)[32])h, n, "sk-ops-0123456789x", 18));
    CHECK(!aios_server_keys_match((const uint8_t(*)[32])h, n, "", 0));
    CHECK(!aios_server_keys_match((const uint8_t(*)[32])h, 0, "sk-ops-0123456789", 17));
    aios_free(h);

    /* A missing file is no keys; a corrupt one names the line. */
    h = NULL;
    n = 0;
    CHECK_EQ_INT(aios_server_keys_load(dir, &h, &n, &err), AIOS_OK);
    CHECK_EQ_INT(n, 0);
    const char bad[] = "# comment\n\nnot-a-hash label\n";
    CHECK_EQ_INT(aios_write_file_atomic(path, bad, sizeof bad - 1, &err), AIOS_OK);
    CHECK_EQ_INT(aios_server_keys_load(sub, &h, &n, &err), AIOS_EFORMAT);
    CHECK(strstr(err.msg, ":3:") != NULL);
    aios_free(h);
}

int main(void)
{
    TEST_RUN(test_add_load_match);
    TEST_EXIT();
}
