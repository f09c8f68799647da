/* JSON helpers: bounded parsing and typed access with field paths. */
#include "base/base.h"
#include "test.h"

static void test_parse(void)
{
    struct aios_err err;
    json_t *v;
    const char *ok = "{\"a\": 1}";
    CHECK_EQ_INT(aios_json_parse(ok, strlen(ok), 1024, &v, &err), AIOS_OK);
    json_decref(v);
    const char *bad = "{\"a\": 1,\n \"b\": }";
    CHECK_EQ_INT(aios_json_parse(bad, strlen(bad), 1024, &v, &err), AIOS_EPARSE);
    CHECK(strstr(err.msg, "line 2") != NULL);
    CHECK(v == NULL);
    CHECK_EQ_INT(aios_json_parse(ok, strlen(ok), 4, &v, &err), AIOS_ELIMIT);
    const char *dup = "{\"a\": 1, \"a\": 2}";
    CHECK_EQ_INT(aios_json_parse(dup, strlen(dup), 1024, &v, &err), AIOS_EPARSE);
    char deep[400];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = 0;
    CHECK_EQ_INT(aios_json_parse(deep, 200, 1024, &v, &err), AIOS_ELIMIT);
    memset(deep, '[', 30);
    memset(deep + 30, ']', 30);
    CHECK_EQ_INT(aios_json_parse(deep, 60, 1024, &v, &err), AIOS_OK);
    json_decref(v);
}

static void test_get(void)
{
    struct aios_err err;
    json_t *root;
    const char *t =
        "{\"s\":\"x\",\"i\":3,\"f\":3.0,\"r\":0.5,\"b\":true,\"o\":{},\"a\":[],\"n\":null}";
    CHECK_EQ_INT(aios_json_parse(t, strlen(t), 0, &root, &err), AIOS_OK);
    const char *s = NULL;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    json_t *o = NULL;
    CHECK_EQ_INT(aios_json_get_str(root, "", "s", true, &s, &err), AIOS_OK);
    CHECK_EQ_STR(s, "x");
    CHECK_EQ_INT(aios_json_get_int(root, "", "i", true, &i, &err), AIOS_OK);
    CHECK_EQ_INT(i, 3);
    CHECK_EQ_INT(aios_json_get_int(root, "", "f", true, &i, &err), AIOS_OK); /* 3.0 is integral */
    CHECK_EQ_INT(aios_json_get_int(root, "req", "r", true, &i, &err), AIOS_EINVAL);
    CHECK_EQ_STR(err.msg, "req.r: expected an integer, got a number");
    CHECK_EQ_INT(aios_json_get_num(root, "", "i", true, &d, &err), AIOS_OK);
    CHECK_NEAR(d, 3, 0);
    CHECK_EQ_INT(aios_json_get_bool(root, "", "b", true, &b, &err), AIOS_OK);
    CHECK(b);
    CHECK_EQ_INT(aios_json_get_obj(root, "", "o", true, &o, &err), AIOS_OK);
    CHECK_EQ_INT(aios_json_get_arr(root, "", "a", true, &o, &err), AIOS_OK);
    CHECK_EQ_INT(aios_json_get_str(root, "messages[2]", "i", true, &s, &err), AIOS_EINVAL);
    CHECK_EQ_STR(err.msg, "messages[2].i: expected a string, got an integer");
    CHECK_EQ_INT(aios_json_get_str(root, "", "missing", true, &s, &err), AIOS_EINVAL);
    CHECK_EQ_STR(err.msg, "missing: required field is missing");
    s = "unchanged";
    CHECK_EQ_INT(aios_json_get_str(root, "", "missing", false, &s, &err), AIOS_OK);
    CHECK_EQ_STR(s, "unchanged");
    CHECK_EQ_INT(aios_json_get_str(root, "", "n", false, &s, &err), AIOS_OK); /* null = absent */
    CHECK_EQ_INT(aios_json_get_str(root, "", "n", true, &s, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_json_get_bool(root, "", "s", false, &b, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_json_get_obj(json_object_get(root, "a"), "tools", "x", false, &o, &err),
                 AIOS_EINVAL);
    CHECK_EQ_STR(err.msg, "tools: expected an object");
    CHECK_EQ_INT(aios_json_check_range("", "temperature", 3.5, 0, 2, &err), AIOS_ERANGE);
    CHECK(strstr(err.msg, "temperature") != NULL);
    CHECK_EQ_INT(aios_json_check_range("", "temperature", 1, 0, 2, &err), AIOS_OK);
    char *dump = aios_json_dumps(json_object_get(root, "s"), 0);
    CHECK_EQ_STR(dump, "\"x\"");
    aios_free(dump);
    json_decref(root);
}

static void test_alloc_accounting(void)
{
    size_t before = aios_mem_in_use();
    json_t *v = json_pack("{s:[i,i,i]}", "k", 1, 2, 3);
    CHECK(aios_mem_in_use() > before); /* jansson allocates through aios_malloc */
    json_decref(v);
    CHECK_EQ_INT(aios_mem_in_use(), before);
}

int main(void)
{
    TEST_RUN(test_parse);
    TEST_RUN(test_get);
    TEST_RUN(test_alloc_accounting);
    TEST_EXIT();
}
