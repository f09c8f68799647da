/* Status table and struct aios_err. */
#include "base/base.h"
#include "test.h"

static void test_status_strings(void)
{
    CHECK_EQ_STR(aios_status_str(AIOS_OK), "ok");
    CHECK_EQ_STR(aios_status_str(AIOS_EFORMAT), "malformed or corrupt data");
    CHECK_EQ_STR(aios_status_name(AIOS_ENOMEM), "ENOMEM");
    CHECK_EQ_STR(aios_status_str(12345), "unknown status");
    CHECK(AIOS_OK == 0 && AIOS_ENOMEM < 0 && AIOS_EINTERNAL < 0);
}

static void test_err(void)
{
    struct aios_err err;
    CHECK_EQ_INT(aios_err_set(&err, AIOS_EINVAL, "field %s", "x"), AIOS_EINVAL);
    CHECK_EQ_INT(err.code, AIOS_EINVAL);
    CHECK_EQ_STR(err.msg, "field x");
    aios_err_prefix(&err, "messages[%d]", 2);
    CHECK_EQ_STR(err.msg, "messages[2]: field x");
    CHECK_EQ_INT(aios_err_set(NULL, AIOS_EIO, "ignored"), AIOS_EIO);
    char longmsg[2000];
    memset(longmsg, 'a', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = 0;
    aios_err_set(&err, AIOS_EIO, "%s", longmsg);
    CHECK_EQ_INT(strlen(err.msg), AIOS_ERR_MSG_MAX - 1);
    aios_err_clear(&err);
    CHECK_EQ_INT(err.code, AIOS_OK);
    CHECK_EQ_STR(err.msg, "");
}

int main(void)
{
    TEST_RUN(test_status_strings);
    TEST_RUN(test_err);
    TEST_EXIT();
}
