/* Bounded buffers, strict parsing, file helpers. */
#include "base/base.h"
#include "test.h"

#include <unistd.h>

static void test_buf(void)
{
    struct aios_buf b;
    aios_buf_init(&b, 16);
    CHECK_EQ_INT(aios_buf_puts(&b, "hello "), AIOS_OK);
    CHECK_EQ_INT(aios_buf_printf(&b, "%d-%s", 42, "x"), AIOS_OK);
    CHECK_EQ_STR(b.data, "hello 42-x");
    CHECK_EQ_INT(b.len, 10);
    CHECK_EQ_INT(aios_buf_puts(&b, "0123456789"), AIOS_ELIMIT); /* 20 > 16 */
    CHECK_EQ_STR(b.data, "hello 42-x");                      /* unchanged by the refused append */
    CHECK_EQ_INT(aios_buf_append(&b, "abcdef", 6), AIOS_OK); /* exactly 16 */
    CHECK_EQ_INT(aios_buf_putc(&b, 'z'), AIOS_ELIMIT);
    CHECK_EQ_INT(aios_buf_printf(&b, "%s", "q"), AIOS_ELIMIT);
    char *d = aios_buf_detach(&b);
    CHECK_EQ_STR(d, "hello 42-xabcdef");
    CHECK(b.data == NULL && b.len == 0);
    aios_free(d);
    aios_buf_init(&b, 0);
    aios_mem_fail_after(1);
    CHECK_EQ_INT(aios_buf_puts(&b, "x"), AIOS_ENOMEM);
    aios_mem_fail_after(0);
    aios_buf_reset(&b);
    aios_buf_free(&b);
}

static void test_parse(void)
{
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    CHECK_EQ_INT(aios_parse_i64("-42", &i), AIOS_OK);
    CHECK_EQ_INT(i, -42);
    CHECK_EQ_INT(aios_parse_i64("42x", &i), AIOS_EINVAL);
    CHECK_EQ_INT(aios_parse_i64("", &i), AIOS_EINVAL);
    CHECK_EQ_INT(aios_parse_i64(" 1", &i), AIOS_EINVAL);
    CHECK_EQ_INT(aios_parse_i64("99999999999999999999", &i), AIOS_ERANGE);
    CHECK_EQ_INT(aios_parse_u64("-1", &u), AIOS_EINVAL);
    CHECK_EQ_INT(aios_parse_u64("18446744073709551615", &u), AIOS_OK);
    CHECK(u == UINT64_MAX);
    CHECK_EQ_INT(aios_parse_double("0.25", &d), AIOS_OK);
    CHECK_NEAR(d, 0.25, 0);
    CHECK_EQ_INT(aios_parse_double("nan", &d), AIOS_ERANGE);
    CHECK_EQ_INT(aios_parse_double("1e999", &d), AIOS_ERANGE);
    CHECK_EQ_INT(aios_parse_double("1.5.", &d), AIOS_EINVAL);
    CHECK_EQ_INT(aios_parse_bool("Yes", &b), AIOS_OK);
    CHECK(b);
    CHECK_EQ_INT(aios_parse_bool("off", &b), AIOS_OK);
    CHECK(!b);
    CHECK_EQ_INT(aios_parse_bool("maybe", &b), AIOS_EINVAL);
    char small[4];
    CHECK_EQ_INT(aios_strlcpy(small, "abcdef", sizeof small), 6);
    CHECK_EQ_STR(small, "abc");
    char fb[32];
    CHECK_EQ_STR(aios_fmt_bytes(512, fb, sizeof fb), "512 B");
    CHECK_EQ_STR(aios_fmt_bytes(1536, fb, sizeof fb), "1.5 KiB");
    CHECK_EQ_STR(aios_fmt_bytes(3ull << 30, fb, sizeof fb), "3.0 GiB");
}

static void test_files(void)
{
    const char *dir = test_tmpdir("base_buf");
    CHECK(dir != NULL);
    if (!dir)
        return;
    char path[4200], nested[4200];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    snprintf(nested, sizeof nested, "%s/a/b/c", dir);
    struct aios_err err;
    CHECK_EQ_INT(aios_mkdir_p(nested, &err), AIOS_OK);
    CHECK_EQ_INT(aios_mkdir_p(nested, &err), AIOS_OK); /* idempotent */
    CHECK_EQ_INT(aios_write_file_atomic(path, "abc\0def", 7, &err), AIOS_OK);
    char *data;
    size_t len;
    CHECK_EQ_INT(aios_read_file(path, 100, &data, &len, &err), AIOS_OK);
    CHECK_EQ_INT(len, 7);
    CHECK(memcmp(data, "abc\0def", 8) == 0); /* NUL terminator added */
    aios_free(data);
    CHECK_EQ_INT(aios_read_file(path, 5, &data, &len, &err), AIOS_ELIMIT);
    CHECK(strstr(err.msg, "limit") != NULL);
    snprintf(nested, sizeof nested, "%s/missing", dir);
    CHECK_EQ_INT(aios_read_file(nested, 100, &data, &len, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "missing") != NULL);
    /* mkdir -p through a regular file fails with a message. */
    snprintf(nested, sizeof nested, "%s/f.txt/x", dir);
    CHECK(aios_mkdir_p(nested, &err) != AIOS_OK);
    snprintf(nested, sizeof nested, "%s/nodir/x.txt", dir);
    CHECK_EQ_INT(aios_write_file_atomic(nested, "x", 1, &err), AIOS_EIO);
}

int main(void)
{
    TEST_RUN(test_buf);
    TEST_RUN(test_parse);
    TEST_RUN(test_files);
    TEST_EXIT();
}
