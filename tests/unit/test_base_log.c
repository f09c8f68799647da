/* Logging levels and the replaceable sink; CPU feature reporting. */
#include "base/base.h"
#include "test.h"

#include <stdlib.h>

static int n_seen;
static char last[256];

static void sink(void *ud, enum aios_log_level level, const char *module, const char *msg)
{
    (void)ud;
    n_seen++;
    snprintf(last, sizeof last, "%s|%s|%s", aios_log_level_str(level), module, msg);
}

static void test_log(void)
{
    aios_log_set_sink(sink, NULL);
    aios_log_set_level(AIOS_LOG_INFO);
    AIOS_DEBUG("t", "hidden %d", 1);
    CHECK_EQ_INT(n_seen, 0);
    AIOS_INFO("t", "shown %d", 2);
    CHECK_EQ_INT(n_seen, 1);
    CHECK_EQ_STR(last, "info|t|shown 2");
    aios_log_set_level(AIOS_LOG_DEBUG);
    AIOS_DEBUG("m", "now %s", "visible");
    CHECK_EQ_STR(last, "debug|m|now visible");
    aios_log_set_level(AIOS_LOG_OFF);
    AIOS_ERROR("m", "off");
    CHECK_EQ_INT(n_seen, 2);
    aios_log_set_sink(NULL, NULL);
    aios_log_set_level(AIOS_LOG_INFO);
    enum aios_log_level l;
    CHECK_EQ_INT(aios_log_level_parse("DEBUG", &l), AIOS_OK);
    CHECK_EQ_INT(l, AIOS_LOG_DEBUG);
    CHECK_EQ_INT(aios_log_level_parse("warning", &l), AIOS_OK);
    CHECK_EQ_INT(l, AIOS_LOG_WARN);
    CHECK_EQ_INT(aios_log_level_parse("loud", &l), AIOS_EINVAL);
}

static void test_cpu(void)
{
    const struct aios_cpu *c = aios_cpu_get();
    char buf[512];
    aios_cpu_features_str(c, buf, sizeof buf);
    /* Implications that must hold on any machine. */
    CHECK(!c->avx512vnni || c->avx512f);
    CHECK(!c->avx2 || c->avx);
    CHECK_EQ_INT(strstr(buf, "avx2") != NULL, c->avx2);
    CHECK(aios_cpu_get() == c); /* detected once */
    char tiny[8];
    aios_cpu_features_str(c, tiny, sizeof tiny); /* truncates, does not overflow */
    CHECK(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    TEST_RUN(test_log);
    TEST_RUN(test_cpu);
    TEST_EXIT();
}
