/*
 * Unit tests of alarm intake (src/ops/alarms.c, src/ops/incidents.c and
 * src/store/alarms_sql.c): Alertmanager fingerprints against the reference
 * values of prometheus/common, RFC 3339 times, severity words, payload
 * validation (valid Alertmanager v4 and generic payloads; wrong types,
 * missing fields, bounds, duplicates in one payload) with the bad field
 * named, deduplication, resolution, grouping into incidents, the incident
 * window, and atomicity: an allocation failure injected at every point of
 * an intake leaves the store exactly as it was.
 */
#include "test.h"

#include "ops/ops.h"

static aios_store *open_mem(void)
{
    struct aios_store_opts o = {.path = ":memory:"};
    aios_store *st = NULL;
    struct aios_err err;
    int rc = aios_store_open(&o, &st, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    return st;
}

static json_t *js(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &je);
    if (!v)
        fprintf(stderr, "bad test JSON: %s: %s\n", je.text, text);
    return v;
}

/* Posts a payload at time now (ms) with the given window; returns the
 * status and leaves the reply in *out (may be NULL). */
static int post(aios_store *st, const char *payload, int64_t now, int64_t window,
                const char *group_by, json_t **out, struct aios_err *err)
{
    json_t *body = js(payload);
    struct aios_ops_alarm_opts o = {.group_by = group_by, .window_ms = window, .now_ms = now};
    json_t *res = NULL;
    int rc = aios_ops_alarms_post(st, body, &o, &res, err);
    json_decref(body);
    if (out)
        *out = res;
    else
        json_decref(res);
    return rc;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* ---- small rules ---- */

static void test_fingerprint(void)
{
    /* Reference values from prometheus/common model (signature_test.go:
     * empty set 14695981039346656037, the two-label set 5799056148416392346). */
    char hex[17];
    json_t *l = json_object();
    aios_ops_alarm_fingerprint(l, hex);
    CHECK_EQ_STR(hex, "cbf29ce484222325");
    json_decref(l);
    l = js("{\"name\": \"garland, briggs\", \"fear\": \"love is not enough\"}");
    aios_ops_alarm_fingerprint(l, hex);
    CHECK_EQ_STR(hex, "507a62d79ee76c9a");
    json_decref(l);
    char a[17], b[17];
    l = js("{\"a\":\"b\",\"c\":\"d\"}");
    aios_ops_alarm_fingerprint(l, a);
    json_decref(l);
    l = js("{\"c\":\"d\",\"a\":\"b\"}");
    aios_ops_alarm_fingerprint(l, b);
    json_decref(l);
    CHECK_EQ_STR(a, b);
    /* The separator keeps {"ab":"c"} and {"a":"bc"} apart. */
    l = js("{\"ab\":\"c\"}");
    aios_ops_alarm_fingerprint(l, a);
    json_decref(l);
    l = js("{\"a\":\"bc\"}");
    aios_ops_alarm_fingerprint(l, b);
    json_decref(l);
    CHECK(strcmp(a, b) != 0);
}

static void test_times_severity(void)
{
    int64_t ms = -1;
    CHECK_EQ_INT(aios_ops_rfc3339_parse("1970-01-01T00:00:00Z", &ms), AIOS_OK);
    CHECK_EQ_INT(ms, 0);
    /* Expected values computed with Python's datetime. */
    CHECK_EQ_INT(aios_ops_rfc3339_parse("2026-11-29T09:00:00.123Z", &ms), AIOS_OK);
    CHECK_EQ_INT(ms, 1795942800123LL);
    CHECK_EQ_INT(aios_ops_rfc3339_parse("2026-11-29T09:00:00.123456789Z", &ms), AIOS_OK);
    CHECK_EQ_INT(ms, 1795942800123LL);
    CHECK_EQ_INT(aios_ops_rfc3339_parse("2024-02-29T23:30:00-05:30", &ms), AIOS_OK);
    CHECK_EQ_INT(ms, 1709269200000LL);
    CHECK_EQ_INT(aios_ops_rfc3339_parse("0001-01-01T00:00:00Z", &ms), AIOS_OK);
    CHECK_EQ_INT(ms, 0); /* Go's zero time: no end */
    const char *bad[] = {"",
                         "2026-11-29",
                         "2026-11-29T09:00:00",
                         "2026-11-29T24:00:00Z",
                         "2026-02-30T00:00:00Z",
                         "2025-02-29T00:00:00Z",
                         "2026-11-29T09:00:00.Z",
                         "2026-11-29T09:00:00+0200",
                         "2026-11-29T09:00:00Zjunk",
                         "yesterday at noon xx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(aios_ops_rfc3339_parse(bad[i], &ms) == AIOS_EINVAL, "%s", bad[i]);

    CHECK_EQ_STR(aios_ops_severity_norm("CRITICAL"), "critical");
    CHECK_EQ_STR(aios_ops_severity_norm("major"), "error");
    CHECK_EQ_STR(aios_ops_severity_norm("warn"), "warning");
    CHECK_EQ_STR(aios_ops_severity_norm("none"), "info");
    CHECK(aios_ops_severity_norm("urgent-ish") == NULL);
    CHECK(aios_ops_severity_rank("critical") > aios_ops_severity_rank("warning"));
    CHECK_EQ_INT(aios_ops_severity_rank("bogus"), -1);

    json_t *l = js("{\"alertname\":\"A\",\"cluster\":\"c1\",\"instance\":\"i1\"}");
    char *k = aios_ops_alarm_group_key(l, NULL);
    CHECK_EQ_STR(k, "{\"alertname\":\"A\",\"cluster\":\"c1\"}");
    aios_free(k);
    k = aios_ops_alarm_group_key(l, "instance");
    CHECK_EQ_STR(k, "{\"instance\":\"i1\"}");
    aios_free(k);
    json_decref(l);
    struct aios_err err;
    CHECK_EQ_INT(aios_ops_alarm_group_by_check("a,,b", &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_ops_alarm_group_by_check("cluster,service", &err), AIOS_OK);
}

/* ---- validation ---- */

#define AM_ALERT(status, name, inst, extra)                                                        \
    "{\"status\":\"" status "\",\"labels\":{\"alertname\":\"" name "\",\"cluster\":\"c1\","        \
    "\"instance\":\"" inst "\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"s\"},"    \
    "\"startsAt\":\"2026-11-29T09:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","                   \
    "\"generatorURL\":\"http://prom/graph\"" extra "}"

#define AM_PAYLOAD(status, alerts)                                                                 \
    "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"X\\\"}\",\"truncatedAlerts\":0,"          \
    "\"status\":\"" status "\",\"receiver\":\"aios\",\"groupLabels\":{\"alertname\":\"X\"},"       \
    "\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":\"http://"                       \
    "am\",\"alerts\":[" alerts "]}"

static void test_parse_valid(void)
{
    struct aios_err err;
    struct aios_ops_alarm_batch b;
    json_t *body = js(AM_PAYLOAD(
        "firing", AM_ALERT("firing", "HighCPU", "i1", "") "," AM_ALERT(
                      "resolved", "HighCPU", "i2", ",\"fingerprint\":\"ABCDEF0123456789\"")));
    int rc = aios_ops_alarm_parse(body, &b, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    CHECK_EQ_STR(b.kind, "alertmanager");
    CHECK_EQ_INT(b.n, 2);
    if (b.n == 2) {
        CHECK_EQ_STR(b.alarms[0].name, "HighCPU");
        CHECK_EQ_STR(b.alarms[0].status, "firing");
        CHECK_EQ_STR(b.alarms[0].severity, "critical");
        CHECK_EQ_STR(b.alarms[0].source, "alertmanager");
        CHECK_EQ_INT(b.alarms[0].starts_ms, 1795942800000LL);
        CHECK_EQ_INT(b.alarms[0].ends_ms, 0);
        char fp[17];
        aios_ops_alarm_fingerprint(b.alarms[0].labels, fp);
        CHECK_EQ_STR(b.alarms[0].fingerprint, fp);                 /* computed when not sent */
        CHECK_EQ_STR(b.alarms[1].fingerprint, "abcdef0123456789"); /* kept, lower-cased */
        CHECK_EQ_STR(b.alarms[1].status, "resolved");
    }
    aios_ops_alarm_batch_free(&b);
    json_decref(body);

    /* Generic: one object, defaults filled in, alertname added to labels so
     * the fingerprint equals Alertmanager's for the same label set. */
    body = js("{\"source\":\"zabbix\",\"name\":\"DiskFull\",\"severity\":\"major\","
              "\"labels\":{\"host\":\"db1\"},\"starts_at\":1795942800}");
    rc = aios_ops_alarm_parse(body, &b, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    CHECK_EQ_STR(b.kind, "generic");
    CHECK_EQ_INT(b.n, 1);
    if (b.n == 1) {
        CHECK_EQ_STR(b.alarms[0].severity, "error");
        CHECK_EQ_STR(b.alarms[0].status, "firing");
        CHECK_EQ_STR(b.alarms[0].source, "zabbix");
        CHECK_EQ_INT(b.alarms[0].starts_ms, 1795942800000LL);
        json_t *want = js("{\"host\":\"db1\",\"alertname\":\"DiskFull\"}");
        char fp[17];
        aios_ops_alarm_fingerprint(want, fp);
        CHECK_EQ_STR(b.alarms[0].fingerprint, fp);
        CHECK(json_equal(b.alarms[0].labels, want));
        json_decref(want);
    }
    aios_ops_alarm_batch_free(&b);
    json_decref(body);

    body = js("{\"alarms\":[{\"name\":\"A\"},{\"name\":\"B\",\"status\":\"resolved\"}]}");
    rc = aios_ops_alarm_parse(body, &b, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    CHECK_EQ_INT(b.n, 2);
    CHECK_EQ_STR(b.n == 2 ? b.alarms[1].status : "", "resolved");
    CHECK_EQ_STR(b.n == 2 ? b.alarms[0].source : "", "generic");
    aios_ops_alarm_batch_free(&b);
    json_decref(body);
}

static void test_parse_malformed(void)
{
    static const struct {
        const char *payload;
        int rc;
        const char *msg; /* prefix of the message */
    } cases[] = {
        {"{\"version\":\"4\",\"alerts\":[" AM_ALERT("firing", "A", "i", "") "," AM_ALERT(
             "firing", "A", "i", "") "," AM_ALERT("firing", "A", "i",
                                                  "") ",{\"status\":\"firing\",\"labels\":\"x\","
                                                      "\"startsAt\":\"2026-11-29T09:00:00Z\"}]}",
         AIOS_EINVAL, "alerts[3].labels: expected an object"},
        {"{\"version\":\"4\",\"alerts\":{}}", AIOS_EINVAL, "alerts: expected an array"},
        {"{\"version\":\"4\"}", AIOS_EINVAL, "alerts: required field is missing"},
        {"{\"version\":\"3\",\"alerts\":[]}", AIOS_EINVAL, "version: expected \"4\""},
        {"{\"version\":\"4\",\"alerts\":[7]}", AIOS_EINVAL, "alerts[0]: expected an object"},
        {"{\"version\":\"4\",\"alerts\":[{\"labels\":{},\"startsAt\":\"2026-11-29T09:00:00Z\"}]}",
         AIOS_EINVAL, "alerts[0].status: required field is missing"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"burning\",\"labels\":{},"
         "\"startsAt\":\"2026-11-29T09:00:00Z\"}]}",
         AIOS_EINVAL, "alerts[0].status: expected \"firing\" or \"resolved\""},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"job\":5},"
         "\"startsAt\":\"2026-11-29T09:00:00Z\"}]}",
         AIOS_EINVAL, "alerts[0].labels.job: expected a string"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{}}]}", AIOS_EINVAL,
         "alerts[0].startsAt: required field is missing"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
         "\"startsAt\":\"last tuesday\"}]}",
         AIOS_EINVAL, "alerts[0].startsAt: 'last tuesday' is not an RFC 3339 time"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
         "\"startsAt\":\"2026-11-29T09:00:00Z\",\"fingerprint\":\"xyz\"}]}",
         AIOS_EINVAL, "alerts[0].fingerprint: expected 1 to 64 hex digits"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{},"
         "\"startsAt\":\"2026-11-29T09:00:00Z\",\"annotations\":[]}]}",
         AIOS_EINVAL, "alerts[0].annotations: expected an object"},
        {"{\"version\":\"4\",\"commonLabels\":3,\"alerts\":[]}", AIOS_EINVAL,
         "commonLabels: expected an object"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a\":\"x\\u0000y\"},"
         "\"startsAt\":\"2026-11-29T09:00:00Z\"}]}",
         AIOS_EINVAL, "alerts[0].labels.a: contains a NUL byte"},
        {"{\"severity\":\"warning\"}", AIOS_EINVAL, "name: required field is missing"},
        {"{\"name\":\"\"}", AIOS_EINVAL, "name: must not be empty"},
        {"{\"name\":7}", AIOS_EINVAL, "name: expected a string"},
        {"{\"name\":\"A\",\"lables\":{}}", AIOS_EINVAL, "lables: unknown field"},
        {"{\"name\":\"A\",\"severity\":\"meh\"}", AIOS_EINVAL, "severity: 'meh' is not one of"},
        {"{\"name\":\"A\",\"starts_at\":-5}", AIOS_EINVAL, "starts_at: -5 is not a Unix time"},
        {"{\"name\":\"A\",\"starts_at\":true}", AIOS_EINVAL, "starts_at: expected an RFC 3339"},
        {"{\"alarms\":[{\"name\":\"A\"},{\"name\":\"B\",\"labels\":[1]}]}", AIOS_EINVAL,
         "alarms[1].labels: expected an object"},
        {"{\"alarms\":[], \"name\":\"x\"}", AIOS_EINVAL, "body: a list of alarms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *body = js(cases[i].payload);
        struct aios_ops_alarm_batch b;
        struct aios_err err = {0};
        int rc = aios_ops_alarm_parse(body, &b, &err);
        CHECK_MSG(rc == cases[i].rc, "case %zu: rc %d (%s)", i, rc, err.msg);
        CHECK_MSG(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
                  "case %zu: '%s' does not start with '%s'", i, err.msg, cases[i].msg);
        CHECK(b.n == 0 && b.alarms == NULL);
        json_decref(body);
    }

    /* Bounds: alarms per payload, labels per alarm, value sizes. */
    struct aios_err err;
    struct aios_ops_alarm_batch b;
    json_t *body = js("{\"version\":\"4\",\"alerts\":[]}");
    json_t *alerts = json_object_get(body, "alerts");
    json_t *one = js(AM_ALERT("firing", "A", "i", ""));
    for (int i = 0; i <= AIOS_OPS_ALARMS_MAX; i++)
        json_array_append(alerts, one);
    CHECK_EQ_INT(aios_ops_alarm_parse(body, &b, &err), AIOS_ELIMIT);
    CHECK_MSG(strstr(err.msg, "alerts: 1001 alarms") == err.msg, "%s", err.msg);
    json_array_remove(alerts, 0);
    CHECK_EQ_INT(aios_ops_alarm_parse(body, &b, &err), AIOS_OK); /* exactly the limit */
    CHECK_EQ_INT(b.n, AIOS_OPS_ALARMS_MAX);
    aios_ops_alarm_batch_free(&b);
    json_decref(body);
    json_decref(one);

    body = js("{\"name\":\"A\",\"labels\":{}}");
    json_t *labels = json_object_get(body, "labels");
    for (int i = 0; i <= AIOS_OPS_ALARM_MAX_LABELS; i++) {
        char k[16];
        snprintf(k, sizeof k, "l%d", i);
        json_object_set_new(labels, k, json_string("v"));
    }
    CHECK_EQ_INT(aios_ops_alarm_parse(body, &b, &err), AIOS_ELIMIT);
    CHECK_MSG(strstr(err.msg, "labels: more than 64 entries") == err.msg, "%s", err.msg);
    json_decref(body);

    char *big = aios_malloc(AIOS_OPS_ALARM_MAX_LABEL + 2);
    memset(big, 'x', AIOS_OPS_ALARM_MAX_LABEL + 1);
    big[AIOS_OPS_ALARM_MAX_LABEL + 1] = 0;
    body = js("{\"name\":\"A\",\"labels\":{}}");
    json_object_set_new(json_object_get(body, "labels"), "big", json_string(big));
    CHECK_EQ_INT(aios_ops_alarm_parse(body, &b, &err), AIOS_ELIMIT);
    CHECK_MSG(strstr(err.msg, "labels.big: longer than 4096 bytes") == err.msg, "%s", err.msg);
    json_decref(body);
    aios_free(big);
}

/* ---- intake ---- */

#define T0 1795942800000LL /* 2026-11-29T09:00:00Z */
#define MIN 60000LL

static int count_alarms(aios_store *st, const char *status)
{
    json_t *a = NULL;
    struct aios_err err;
    if (aios_ops_alarms_list_json(st, status, 0, 0, &a, &err))
        return -1;
    int n = (int)json_array_size(a);
    json_decref(a);
    return n;
}

static json_t *incidents(aios_store *st, int64_t now)
{
    struct aios_ops_alarm_opts o = {.now_ms = now};
    json_t *a = NULL;
    struct aios_err err;
    int rc = aios_ops_incidents_list_json(st, NULL, 0, &o, &a, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    return a;
}

static void test_dedup_resolve(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    json_t *res = NULL;
    const char *p = AM_PAYLOAD("firing", AM_ALERT("firing", "HighCPU", "i1", ""));
    CHECK_EQ_INT(post(st, p, T0, 0, NULL, &res, &err), AIOS_OK);
    CHECK_EQ_INT(jint(res, "created"), 1);
    json_t *first = json_array_get(json_object_get(res, "alarms"), 0);
    CHECK_EQ_STR(jstr(first, "action"), "created");
    int64_t id = jint(first, "id");
    json_decref(res);
    /* Alertmanager resends the same alert: one alarm, counted twice. */
    CHECK_EQ_INT(post(st, p, T0 + MIN, 0, NULL, &res, &err), AIOS_OK);
    first = json_array_get(json_object_get(res, "alarms"), 0);
    CHECK_EQ_STR(jstr(first, "action"), "updated");
    CHECK_EQ_INT(jint(first, "id"), id);
    json_decref(res);
    CHECK_EQ_INT(count_alarms(st, NULL), 1);
    struct aios_store_alarm a;
    CHECK_EQ_INT(aios_store_alarm_get(st, id, &a, &err), AIOS_OK);
    CHECK_EQ_INT(a.count, 2);
    CHECK_EQ_INT(a.first_ms, T0);
    CHECK_EQ_INT(a.last_ms, T0 + MIN);
    aios_store_alarm_free(&a);

    /* The same alert as a generic alarm (same label set): the same alarm. */
    const char *g =
        "{\"name\":\"HighCPU\",\"severity\":\"critical\",\"labels\":{\"cluster\":\"c1\","
        "\"instance\":\"i1\",\"severity\":\"critical\"}}";
    CHECK_EQ_INT(post(st, g, T0 + 2 * MIN, 0, NULL, &res, &err), AIOS_OK);
    CHECK_EQ_INT(jint(json_array_get(json_object_get(res, "alarms"), 0), "id"), id);
    json_decref(res);

    /* Resolved closes it. */
    p = AM_PAYLOAD("resolved", AM_ALERT("resolved", "HighCPU", "i1", ""));
    CHECK_EQ_INT(post(st, p, T0 + 3 * MIN, 0, NULL, &res, &err), AIOS_OK);
    CHECK_EQ_STR(jstr(json_array_get(json_object_get(res, "alarms"), 0), "action"), "resolved");
    CHECK_EQ_INT(jint(res, "resolved"), 1);
    json_decref(res);
    CHECK_EQ_INT(count_alarms(st, "firing"), 0);
    CHECK_EQ_INT(count_alarms(st, "resolved"), 1);
    CHECK_EQ_INT(aios_store_alarm_get(st, id, &a, &err), AIOS_OK);
    CHECK_EQ_INT(a.resolved_ms, T0 + 3 * MIN);
    CHECK_EQ_INT(a.ends_ms, T0 + 3 * MIN); /* endsAt was Go's zero time */
    aios_store_alarm_free(&a);
    /* The resolution again: a repeat, no new alarm. */
    CHECK_EQ_INT(post(st, p, T0 + 4 * MIN, 0, NULL, &res, &err), AIOS_OK);
    CHECK_EQ_STR(jstr(json_array_get(json_object_get(res, "alarms"), 0), "action"), "repeat");
    json_decref(res);
    CHECK_EQ_INT(count_alarms(st, NULL), 1);
    /* Firing again later: a new occurrence (a new alarm row). */
    p = AM_PAYLOAD("firing", AM_ALERT("firing", "HighCPU", "i1", ""));
    CHECK_EQ_INT(post(st, p, T0 + 5 * MIN, 0, NULL, NULL, &err), AIOS_OK);
    CHECK_EQ_INT(count_alarms(st, NULL), 2);
    CHECK_EQ_INT(count_alarms(st, "firing"), 1);

    /* A resolution never seen firing is kept once. */
    p = AM_PAYLOAD("resolved", AM_ALERT("resolved", "DiskFull", "i9", ""));
    CHECK_EQ_INT(post(st, p, T0 + 6 * MIN, 0, NULL, &res, &err), AIOS_OK);
    CHECK_EQ_STR(jstr(json_array_get(json_object_get(res, "alarms"), 0), "action"), "resolved_new");
    json_decref(res);
    CHECK_EQ_INT(count_alarms(st, "resolved"), 2);

    /* Duplicates inside one payload: one alarm, two deliveries. */
    p = AM_PAYLOAD("firing",
                   AM_ALERT("firing", "Dup", "i1", "") "," AM_ALERT("firing", "Dup", "i1", ""));
    CHECK_EQ_INT(post(st, p, T0 + 7 * MIN, 0, NULL, &res, &err), AIOS_OK);
    json_t *arr = json_object_get(res, "alarms");
    CHECK_EQ_INT(json_array_size(arr), 2);
    CHECK_EQ_STR(jstr(json_array_get(arr, 0), "action"), "created");
    CHECK_EQ_STR(jstr(json_array_get(arr, 1), "action"), "updated");
    CHECK_EQ_INT(jint(json_array_get(arr, 0), "id"), jint(json_array_get(arr, 1), "id"));
    json_decref(res);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

static void test_grouping_window(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    const int64_t W = 10 * MIN;
    /* Two instances of one alert in one cluster: one incident. */
    const char *p = AM_PAYLOAD("firing", AM_ALERT("firing", "HighCPU", "i1",
                                                  "") "," AM_ALERT("firing", "HighCPU", "i2", ""));
    json_t *res = NULL;
    CHECK_EQ_INT(post(st, p, T0, W, NULL, &res, &err), AIOS_OK);
    json_t *arr = json_object_get(res, "alarms");
    int64_t inc1 = jint(json_array_get(arr, 0), "incident_id");
    CHECK(inc1 > 0);
    CHECK_EQ_INT(jint(json_array_get(arr, 1), "incident_id"), inc1);
    json_decref(res);
    /* Another alert name: another incident (alertname is a grouping label). */
    CHECK_EQ_INT(post(st, "{\"name\":\"DiskFull\",\"labels\":{\"cluster\":\"c1\"}}", T0 + MIN, W,
                      NULL, &res, &err),
                 AIOS_OK);
    int64_t inc2 = jint(json_array_get(json_object_get(res, "alarms"), 0), "incident_id");
    CHECK(inc2 != inc1);
    json_decref(res);
    /* Grouping by cluster only puts it with the others. */
    CHECK_EQ_INT(post(st, "{\"name\":\"Other\",\"labels\":{\"cluster\":\"c9\"}}", T0 + MIN, W,
                      "cluster", &res, &err),
                 AIOS_OK);
    json_decref(res);

    /* Incident 1 stays open while its alarms fire, however long. */
    json_t *incs = incidents(st, T0 + 100 * W);
    size_t i;
    json_t *o;
    json_array_foreach(incs, i, o)
    {
        if (jint(o, "id") == inc1) {
            CHECK_EQ_STR(jstr(o, "status"), "open");
            CHECK_EQ_INT(jint(o, "firing_count"), 2);
            CHECK_EQ_STR(jstr(o, "severity"), "critical");
            CHECK_EQ_STR(jstr(o, "title"), "HighCPU (cluster=c1)");
        }
    }
    json_decref(incs);

    /* Resolve both at T0+2min; an alarm of the group within the window
     * rejoins incident 1, one after the window opens a new incident. */
    p = AM_PAYLOAD("resolved", AM_ALERT("resolved", "HighCPU", "i1",
                                        "") "," AM_ALERT("resolved", "HighCPU", "i2", ""));
    CHECK_EQ_INT(post(st, p, T0 + 2 * MIN, W, NULL, NULL, &err), AIOS_OK);
    p = AM_PAYLOAD("firing", AM_ALERT("firing", "HighCPU", "i3", ""));
    CHECK_EQ_INT(post(st, p, T0 + 2 * MIN + W - 1, W, NULL, &res, &err), AIOS_OK);
    CHECK_EQ_INT(jint(json_array_get(json_object_get(res, "alarms"), 0), "incident_id"), inc1);
    json_decref(res);
    int64_t last = T0 + 2 * MIN + W - 1;
    p = AM_PAYLOAD("resolved", AM_ALERT("resolved", "HighCPU", "i3", ""));
    CHECK_EQ_INT(post(st, p, last, W, NULL, NULL, &err), AIOS_OK);
    /* Exactly at last + W the incident closes (window is [last, last+W)). */
    p = AM_PAYLOAD("firing", AM_ALERT("firing", "HighCPU", "i4", ""));
    CHECK_EQ_INT(post(st, p, last + W, W, NULL, &res, &err), AIOS_OK);
    int64_t inc3 = jint(json_array_get(json_object_get(res, "alarms"), 0), "incident_id");
    json_decref(res);
    CHECK(inc3 != inc1 && inc3 != inc2);
    struct aios_store_incident inc;
    CHECK_EQ_INT(aios_store_incident_get(st, inc1, &inc, &err), AIOS_OK);
    CHECK_EQ_STR(inc.status, "closed");
    CHECK_EQ_INT(inc.closed_ms, last + W);
    CHECK_EQ_INT(inc.alarm_count, 3);
    CHECK_EQ_INT(inc.firing_count, 0);
    aios_store_incident_free(&inc);

    /* Listing alone applies the window: incident 2 (DiskFull, firing) stays
     * open; resolve it and list after the window: closed. */
    CHECK_EQ_INT(post(st,
                      "{\"name\":\"DiskFull\",\"status\":\"resolved\",\"labels\":"
                      "{\"cluster\":\"c1\"}}",
                      T0 + 30 * MIN, W, NULL, NULL, &err),
                 AIOS_OK);
    json_t *one = NULL;
    struct aios_ops_alarm_opts o2 = {.now_ms = T0 + 30 * MIN + W, .window_ms = W};
    CHECK_EQ_INT(aios_ops_incident_get_json(st, inc2, &o2, &one, &err), AIOS_OK);
    CHECK_EQ_STR(jstr(one, "status"), "closed");
    CHECK_EQ_INT(json_array_size(json_object_get(one, "alarms")), 1);
    CHECK_EQ_STR(jstr(json_array_get(json_object_get(one, "alarms"), 0), "status"), "resolved");
    json_decref(one);
    CHECK_EQ_INT(aios_ops_incident_get_json(st, 999, &o2, &one, &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

/* Everything the store holds, as one JSON text (for before/after). */
static char *snapshot(aios_store *st)
{
    json_t *a = NULL, *inc = NULL;
    struct aios_err err;
    struct aios_ops_alarm_opts o = {.now_ms = T0};
    aios_ops_alarms_list_json(st, NULL, 0, 0, &a, &err);
    aios_ops_incidents_list_json(st, NULL, 0, &o, &inc, &err);
    json_t *all = json_pack("{s:o, s:o}", "alarms", a ? a : json_null(), "incidents",
                            inc ? inc : json_null());
    char *s = aios_json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(all);
    return s;
}

static void test_atomic(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    /* Some state first: one firing alarm that the payload below updates,
     * one it resolves. */
    const char *seed = AM_PAYLOAD(
        "firing", AM_ALERT("firing", "A", "i1", "") "," AM_ALERT("firing", "B", "i1", ""));
    CHECK_EQ_INT(post(st, seed, T0, 0, NULL, NULL, &err), AIOS_OK);
    const char *p = AM_PAYLOAD(
        "firing",
        AM_ALERT("firing", "A", "i1", "") "," AM_ALERT("resolved", "B", "i1", "") "," AM_ALERT(
            "firing", "C", "i1", "") "," AM_ALERT("firing", "C", "i2",
                                                  "") "," AM_ALERT("resolved", "D", "i1", ""));
    json_t *body = js(p);
    struct aios_ops_alarm_batch b;
    CHECK_EQ_INT(aios_ops_alarm_parse(body, &b, &err), AIOS_OK);
    struct aios_ops_intake_item items[5];
    struct aios_ops_alarm_opts o = {.now_ms = T0 + MIN};
    int failed = 0, streak = 0;
    for (long n = 1; streak < 20 && n < 100000; n++) {
        char *before = snapshot(st);
        aios_mem_fail_after(n);
        int rc = aios_ops_alarm_intake(st, &b, &o, items, &err);
        aios_mem_fail_after(0);
        CHECK_EQ_INT(aios_store_tx_depth(st), 0);
        char *after = snapshot(st);
        if (rc == AIOS_OK) {
            streak++;
            /* Undo for the next round: a fresh store with the seed. */
            aios_store_close(st);
            st = open_mem();
            CHECK_EQ_INT(post(st, seed, T0, 0, NULL, NULL, &err), AIOS_OK);
        } else {
            streak = 0;
            failed++;
            CHECK_MSG(before && after && strcmp(before, after) == 0,
                      "n=%ld: a failed intake changed the store (%s)", n, err.msg);
        }
        aios_free(before);
        aios_free(after);
    }
    CHECK(failed > 20); /* the intake path was really exercised */
    CHECK_EQ_INT(streak, 20);
    /* And once applied, the result is what the rules say. */
    CHECK_EQ_INT(aios_ops_alarm_intake(st, &b, &o, items, &err), AIOS_OK);
    CHECK_EQ_STR(items[0].action, "updated");
    CHECK_EQ_STR(items[1].action, "resolved");
    CHECK_EQ_STR(items[2].action, "created");
    CHECK_EQ_STR(items[4].action, "resolved_new");
    CHECK_EQ_INT(count_alarms(st, NULL), 5);
    aios_ops_alarm_batch_free(&b);
    json_decref(body);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

int main(void)
{
    TEST_RUN(test_fingerprint);
    TEST_RUN(test_times_severity);
    TEST_RUN(test_parse_valid);
    TEST_RUN(test_parse_malformed);
    TEST_RUN(test_dedup_resolve);
    TEST_RUN(test_grouping_window);
    TEST_RUN(test_atomic);
    TEST_EXIT();
}
