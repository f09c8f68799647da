/* The metrics registry: counters, gauges, histograms with labels, and the
 * Prometheus text it renders (compared line by line with the format's
 * rules: cumulative buckets, +Inf, _sum/_count, escaping). promtool's own
 * check of the whole /metrics page is in tests/e2e/test_server_basic.sh. */
#include "server/server.h"
#include "test.h"

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
            return true;
    return false;
}

static char *render(aios_metrics *r)
{
    struct aios_buf b;
    aios_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(aios_metrics_render(r, &b), AIOS_OK);
    return aios_buf_detach(&b);
}

static void test_counter_gauge(void)
{
    aios_metrics *r = aios_metrics_create();
    struct aios_metric *c = aios_metrics_counter(r, "t_requests_total", "Requests.", "path,status");
    struct aios_metric *g = aios_metrics_gauge(r, "t_queue", "Queue length.", NULL);
    CHECK(c && g);
    const char *a[] = {"/v1/models", "200"}, *b[] = {"/v1/models", "401"};
    aios_metric_add(c, a, 1);
    aios_metric_add(c, a, 2);
    aios_metric_add(c, b, 1);
    aios_metric_add(c, b, -5); /* counters never go down */
    aios_metric_add(c, b, NAN);
    CHECK_NEAR(aios_metric_value(c, a), 3, 0);
    CHECK_NEAR(aios_metric_value(c, b), 1, 0);
    aios_metric_set(g, NULL, 7);
    aios_metric_add(g, NULL, -2); /* gauges do */
    CHECK_NEAR(aios_metric_value(g, NULL), 5, 0);
    aios_metric_set(c, a, 100); /* set on a counter is ignored */
    CHECK_NEAR(aios_metric_value(c, a), 3, 0);
    aios_metric_observe(g, NULL, 1); /* observe on a gauge is ignored */
    CHECK_NEAR(aios_metric_value(g, NULL), 5, 0);

    char *s = render(r);
    CHECK(has_line(s, "# HELP t_requests_total Requests."));
    CHECK(has_line(s, "# TYPE t_requests_total counter"));
    CHECK(has_line(s, "t_requests_total{path=\"/v1/models\",status=\"200\"} 3"));
    CHECK(has_line(s, "t_requests_total{path=\"/v1/models\",status=\"401\"} 1"));
    CHECK(has_line(s, "# TYPE t_queue gauge"));
    CHECK(has_line(s, "t_queue 5"));
    /* HELP precedes TYPE precedes samples */
    CHECK(strstr(s, "# HELP t_queue") < strstr(s, "# TYPE t_queue"));
    CHECK(strstr(s, "# TYPE t_queue") < strstr(s, "\nt_queue 5"));
    aios_free(s);
    aios_metrics_destroy(r);
}

static void test_histogram(void)
{
    aios_metrics *r = aios_metrics_create();
    const double bounds[] = {0.1, 0.5, 1};
    struct aios_metric *h =
        aios_metrics_histogram(r, "t_latency_seconds", "Latency.", "model", bounds, 3);
    CHECK(h != NULL);
    const char *m[] = {"qwen"};
    aios_metric_observe(h, m, 0.05);
    aios_metric_observe(h, m, 0.1); /* le is inclusive */
    aios_metric_observe(h, m, 0.7);
    aios_metric_observe(h, m, 3);
    CHECK_NEAR(aios_metric_value(h, m), 4, 0);
    char *s = render(r);
    CHECK(has_line(s, "# TYPE t_latency_seconds histogram"));
    CHECK(has_line(s, "t_latency_seconds_bucket{model=\"qwen\",le=\"0.1\"} 2"));
    CHECK(has_line(s, "t_latency_seconds_bucket{model=\"qwen\",le=\"0.5\"} 2"));
    CHECK(has_line(s, "t_latency_seconds_bucket{model=\"qwen\",le=\"1\"} 3"));
    CHECK(has_line(s, "t_latency_seconds_bucket{model=\"qwen\",le=\"+Inf\"} 4"));
    CHECK(has_line(s, "t_latency_seconds_sum{model=\"qwen\"} 3.85"));
    CHECK(has_line(s, "t_latency_seconds_count{model=\"qwen\"} 4"));
    aios_free(s);

    /* Bad declarations are refused. */
    const double unsorted[] = {1, 0.5};
    const double inf[] = {1, INFINITY};
    CHECK(aios_metrics_histogram(r, "t_bad1", "", NULL, unsorted, 2) == NULL);
    CHECK(aios_metrics_histogram(r, "t_bad2", "", NULL, inf, 2) == NULL);
    CHECK(aios_metrics_histogram(r, "t_bad3", "", NULL, bounds, 0) == NULL);
    CHECK(aios_metrics_histogram(r, "t_bad4", "", "le", bounds, 3) == NULL);
    aios_metrics_destroy(r);
}

static void test_names_and_escaping(void)
{
    aios_metrics *r = aios_metrics_create();
    CHECK(aios_metrics_counter(r, "9starts_with_digit", "", NULL) == NULL);
    CHECK(aios_metrics_counter(r, "has-dash", "", NULL) == NULL);
    CHECK(aios_metrics_counter(r, "ok_total", "", "__reserved") == NULL);
    CHECK(aios_metrics_counter(r, "ok_total", "", "a,b,c,d,e") == NULL); /* > 4 labels */
    CHECK(aios_metrics_counter(r, "ok_total", "", "bad-label") == NULL);
    struct aios_metric *c = aios_metrics_counter(r, "ok_total", "Line one\nback\\slash", "v");
    CHECK(c != NULL);
    CHECK(aios_metrics_counter(r, "ok_total", "", "v") == NULL); /* duplicate */
    const char *v[] = {"say \"hi\"\n\\"};
    aios_metric_add(c, v, 1);
    char *s = render(r);
    CHECK(has_line(s, "# HELP ok_total Line one\\nback\\\\slash"));
    CHECK(has_line(s, "ok_total{v=\"say \\\"hi\\\"\\n\\\\\"} 1"));
    aios_free(s);
    aios_metrics_destroy(r);
}

static void test_series_limit(void)
{
    aios_metrics *r = aios_metrics_create();
    struct aios_metric *c = aios_metrics_counter(r, "t_total", "", "id");
    char id[32];
    for (int i = 0; i < AIOS_METRICS_MAX_SERIES + 10; i++) {
        snprintf(id, sizeof id, "%d", i);
        const char *v[] = {id};
        aios_metric_add(c, v, 1);
    }
    const char *first[] = {"0"};
    snprintf(id, sizeof id, "%d", AIOS_METRICS_MAX_SERIES + 5);
    const char *over[] = {id};
    CHECK_NEAR(aios_metric_value(c, first), 1, 0);
    CHECK_NEAR(aios_metric_value(c, over), 0, 0);
    char *s = render(r);
    CHECK(has_line(s, "aios_metrics_dropped_total 10"));
    aios_free(s);
    aios_metrics_destroy(r);
}

static void test_numbers(void)
{
    aios_metrics *r = aios_metrics_create();
    struct aios_metric *g = aios_metrics_gauge(r, "t_g", "", "k");
    const char *a[] = {"a"}, *b[] = {"b"}, *c[] = {"c"}, *d[] = {"d"};
    aios_metric_set(g, a, 0.005);
    aios_metric_set(g, b, INFINITY);
    aios_metric_set(g, c, NAN);
    aios_metric_set(g, d, 1e20);
    char *s = render(r);
    CHECK(has_line(s, "t_g{k=\"a\"} 0.005")); /* shortest round-trip form */
    CHECK(has_line(s, "t_g{k=\"b\"} +Inf"));
    CHECK(has_line(s, "t_g{k=\"c\"} NaN"));
    CHECK(has_line(s, "t_g{k=\"d\"} 1e+20"));
    aios_free(s);
    aios_metrics_destroy(r);
}

int main(void)
{
    TEST_RUN(test_counter_gauge);
    TEST_RUN(test_histogram);
    TEST_RUN(test_names_and_escaping);
    TEST_RUN(test_series_limit);
    TEST_RUN(test_numbers);
    TEST_EXIT();
}
