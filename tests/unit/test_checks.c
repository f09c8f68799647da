/*
 * Unit tests of the checks catalogue (src/ops/checks*.c): the example
 * catalogue validates; YAML and JSON files give the same normalised checks;
 * every field's errors name the field; YAML syntax errors name line and
 * column, duplicate keys, several documents and alias bombs are refused;
 * loading a directory skips a bad file as a whole (reporting file and field)
 * while the others load; `init` writes the examples once.
 */
#include "test.h"

#include "ops/ops.h"

#include <unistd.h>

static int parse(const char *name, const char *text, json_t **out, struct aios_err *err)
{
    return aios_ops_checks_parse(name, text, strlen(text), out, err);
}

static void test_example(void)
{
    json_t *list = NULL;
    struct aios_err err;
    int rc = parse("examples.yaml", aios_ops_checks_example, &list, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    CHECK_EQ_INT(json_array_size(list), 8);
    size_t i;
    json_t *c;
    int logs = 0;
    json_array_foreach(list, i, c)
    {
        const char *d = json_string_value(json_object_get(c, "detector"));
        CHECK_MSG(aios_ops_detector_find(d) != NULL, "%s", d);
        CHECK(json_is_string(json_object_get(c, "runbook")));
        CHECK(json_is_string(json_object_get(c, "metric")) !=
              json_is_string(json_object_get(c, "log")));
        logs += json_is_string(json_object_get(c, "log"));
    }
    CHECK_EQ_INT(logs, 2);
    json_t *first = json_array_get(list, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "for_s")), 600);
    CHECK_NEAR(json_number_value(json_object_get(json_object_get(first, "params"), "alpha")), 0.02,
               0); /* parsed from the text "0.02": the same double */
    CHECK(json_is_false(json_object_get(json_array_get(list, 7), "enabled")));
    json_decref(list);
}

static void test_yaml_json_same(void)
{
    const char *yaml = "checks:\n"
                       "  - name: disk\n"
                       "    metric: node_filesystem_avail_bytes\n"
                       "    detector: mad\n"
                       "    params: {window: 100, crit: 0.99}\n"
                       "    severity: Major\n"
                       "    runbook: \"https://wiki/disk\"\n"
                       "    interval: 30s\n"
                       "    for: 1h\n"
                       "    labels: {team: \"007\"}\n";
    const char *json = "[{\"name\":\"disk\",\"metric\":\"node_filesystem_avail_bytes\","
                       "\"detector\":\"mad\",\"params\":{\"window\":100,\"crit\":0.99},"
                       "\"severity\":\"error\",\"runbook\":\"https://wiki/disk\","
                       "\"interval\":30,\"for\":3600,\"labels\":{\"team\":\"007\"}}]";
    json_t *a = NULL, *b = NULL;
    struct aios_err err;
    CHECK_EQ_INT(parse("a.yaml", yaml, &a, &err), AIOS_OK);
    CHECK_EQ_INT(parse("b.json", json, &b, &err), AIOS_OK);
    CHECK(a && b && json_equal(a, b));
    json_t *c = json_array_get(a, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(c, "severity")), "error");
    CHECK_EQ_INT(json_integer_value(json_object_get(c, "interval_s")), 30);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(c, "labels"), "team")), "007");
    CHECK(json_object_get(c, "log") == NULL);
    json_decref(a);
    json_decref(b);
    /* One check alone in a file. */
    CHECK_EQ_INT(parse("one.yml",
                       "name: x\nlog: 'Out of memory: Killed process <*>'\ndetector: ewma\n"
                       "severity: warning\nrunbook: r.md\n",
                       &a, &err),
                 AIOS_OK);
    CHECK_EQ_INT(json_array_size(a), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(a, 0), "interval_s")), 60);
    json_decref(a);
}

#define OK_CHECK "name: c1\nmetric: m\ndetector: ewma\nseverity: warning\nrunbook: r.md\n"

static void test_errors(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } cases[] = {
        {"checks:\n  - metric: m\n    detector: ewma\n    severity: info\n    runbook: r\n",
         AIOS_EINVAL, "checks[0].name: required field is missing"},
        {"checks:\n  - name: 'a b'\n", AIOS_EINVAL, "checks[0].name: 'a b' must be"},
        {"name: c\nmetric: m\nlog: l\ndetector: ewma\nseverity: info\nrunbook: r\n", AIOS_EINVAL,
         "metric: a check judges exactly one of metric or log"},
        {"name: c\ndetector: ewma\nseverity: info\nrunbook: r\n", AIOS_EINVAL,
         "metric: a check judges exactly one"},
        {"name: c\nmetric: m\ndetector: rcf\nseverity: info\nrunbook: r\n", AIOS_EINVAL,
         "detector: unknown detector 'rcf' (known: windowed_gaussian, ewma"},
        {"name: c\nmetric: m\ndetector: ewma\nparams: {beta: 1}\nseverity: info\nrunbook: r\n",
         AIOS_EINVAL,
         "params.beta: detector ewma has no parameter 'beta' (it has: alpha, warmup, "
         "warn, crit)"},
        {"name: c\nmetric: m\ndetector: ewma\nparams: {alpha: 7}\nseverity: info\nrunbook: r\n",
         AIOS_EINVAL, "params.alpha: 7 is outside [1e-05, 1] for detector ewma"},
        {"name: c\nmetric: m\ndetector: ewma\nparams: {alpha: '0.1'}\nseverity: info\n"
         "runbook: r\n",
         AIOS_EINVAL, "params.alpha: expected a number"},
        {"name: c\nmetric: m\ndetector: ewma\nparams: [1]\nseverity: info\nrunbook: r\n",
         AIOS_EINVAL, "params: expected an object, got an array"},
        {"name: c\nmetric: m\ndetector: ewma\nseverity: sev9\nrunbook: r\n", AIOS_EINVAL,
         "severity: 'sev9' is not one of critical, error, warning, info"},
        {"name: c\nmetric: m\ndetector: ewma\nseverity: info\n", AIOS_EINVAL,
         "runbook: required field is missing"},
        {"name: c\nmetric: m\ndetector: ewma\nseverity: info\nrunbook: ''\n", AIOS_EINVAL,
         "runbook: must not be empty"},
        {OK_CHECK "interval: 5x\n", AIOS_EINVAL, "interval: expected a duration"},
        {OK_CHECK "interval: 2d\n", AIOS_EINVAL, "interval: expected a duration"},
        {OK_CHECK "for: -1\n", AIOS_EINVAL, "for: expected a duration"},
        {OK_CHECK "enabled: maybe\n", AIOS_EINVAL, "enabled: expected a boolean"},
        {OK_CHECK "runbok: r\n", AIOS_EINVAL, "runbok: unknown field"},
        {OK_CHECK "labels: {a: [1]}\n", AIOS_EINVAL, "labels.a: expected a string"},
        {"checks:\n  - name: [c1\n", AIOS_EPARSE, "line 3, column 1: did not find expected"},
        {"checks: 3\n", AIOS_EINVAL, "checks: expected a list"},
        {"checks: []\nextra: 1\n", AIOS_EINVAL, "file: a catalogue file holds only"},
        {"42\n", AIOS_EINVAL, "file: expected {checks: [...]}"},
        {"[1]\n", AIOS_EINVAL, "checks[0]: expected a mapping"},
        {"name: a\nname: b\n", AIOS_EFORMAT, "line 2: duplicate key 'name'"},
        {OK_CHECK "---\n" OK_CHECK, AIOS_EFORMAT, "more than one YAML document"},
        {"", AIOS_EFORMAT, "the file holds no YAML document"},
        {"- "
         "{name: d, metric: m, detector: mad, severity: info, runbook: r}\n"
         "- {name: d, metric: m, detector: mad, severity: info, runbook: r}\n",
         AIOS_EEXIST, "checks[1].name: 'd' is also checks[0].name"},
        /* An alias bomb: 10 levels of 10 references is 10^10 values. */
        {"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
         "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
         "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
         AIOS_ELIMIT, "more than 100000 values"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *out = NULL;
        struct aios_err err = {0};
        int rc = parse("t.yaml", cases[i].text, &out, &err);
        CHECK_MSG(rc == cases[i].rc, "case %zu: rc %d (%s)", i, rc, err.msg);
        CHECK_MSG(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0,
                  "case %zu: '%s' does not start with '%s'", i, err.msg, cases[i].msg);
        CHECK(out == NULL);
    }
    /* JSON files get JSON's errors. */
    json_t *out = NULL;
    struct aios_err err;
    CHECK_EQ_INT(parse("x.json", "{\"checks\": [}", &out, &err), AIOS_EPARSE);
    CHECK_MSG(strstr(err.msg, "line 1") != NULL, "%s", err.msg);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct aios_err err;
    CHECK_EQ_INT(aios_write_file_atomic(path, text, strlen(text), &err), AIOS_OK);
}

static void test_dir(void)
{
    const char *tmp = test_tmpdir("checks");
    CHECK(tmp != NULL);
    if (!tmp)
        return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checks", tmp);
    struct aios_ops_checks c;
    struct aios_err err;
    /* No directory: an empty catalogue. */
    CHECK_EQ_INT(aios_ops_checks_load_dir(dir, &c, &err), AIOS_OK);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(c.nproblems, 0);
    aios_ops_checks_free(&c);

    char path[4300];
    CHECK_EQ_INT(aios_ops_checks_init(dir, false, path, sizeof path, &err), AIOS_OK);
    CHECK_EQ_INT(aios_ops_checks_init(dir, false, path, sizeof path, &err), AIOS_EEXIST);
    CHECK_EQ_INT(aios_ops_checks_init(dir, true, path, sizeof path, &err), AIOS_OK);
    write_file(dir, "a-good.json",
               "{\"checks\":[{\"name\":\"g1\",\"metric\":\"m\",\"detector\":\"forest\","
               "\"severity\":\"critical\",\"runbook\":\"r\"}]}");
    /* The second check of this file is bad: none of its checks load. */
    write_file(dir, "b-bad.yaml",
               "checks:\n  - {name: b1, metric: m, detector: mad, severity: info, runbook: r}\n"
               "  - {name: b2, metric: m, detector: mad, severity: info, runbook: r,\n"
               "     params: {window: 1}}\n");
    /* A name taken by an earlier file (examples.yaml loads after b-, a-). */
    write_file(dir, "z-dup.yml",
               "name: host_oom_kill\nlog: x\ndetector: ewma\nseverity: info\nrunbook: r\n");
    write_file(dir, "notes.txt", "not a checks file");
    write_file(dir, ".hidden.yaml", "garbage: [");
    CHECK_EQ_INT(aios_ops_checks_load_dir(dir, &c, &err), AIOS_OK);
    CHECK_EQ_INT(c.n, 9); /* g1 + the 8 examples */
    CHECK_EQ_STR(c.n ? c.checks[0].name : "", "g1");
    CHECK_EQ_INT(c.nproblems, 2);
    if (c.nproblems == 2) {
        CHECK(strstr(c.problems[0].file, "b-bad.yaml") != NULL);
        CHECK_MSG(strstr(c.problems[0].message,
                         "b-bad.yaml: checks[1].params.window: 1 is outside [5, 100000] for "
                         "detector mad") != NULL,
                  "%s", c.problems[0].message);
        CHECK(strstr(c.problems[1].file, "z-dup.yml") != NULL);
        CHECK_MSG(strstr(c.problems[1].message, "is already defined in") != NULL &&
                      strstr(c.problems[1].message, "examples.yaml") != NULL,
                  "%s", c.problems[1].message);
    }
    json_t *j = aios_ops_checks_to_json(&c);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "checks")), 9);
    CHECK_EQ_INT(json_array_size(json_object_get(j, "problems")), 2);
    CHECK(strstr(json_string_value(
                     json_object_get(json_array_get(json_object_get(j, "checks"), 0), "file")),
                 "a-good.json") != NULL);
    json_decref(j);
    aios_ops_checks_free(&c);

    /* Allocation failure anywhere: an error, or every file accounted for
     * (loaded, or reported: a JSON parse that ran out of memory reads as a
     * bad file), never a crash or a leak (make asan). */
    int failed = 0, streak = 0;
    for (long n = 1; n < 20000 && streak < 5; n++) {
        aios_mem_fail_after(n);
        int rc = aios_ops_checks_load_dir(dir, &c, &err);
        aios_mem_fail_after(0);
        if (rc == AIOS_OK) {
            int files = c.nproblems;
            for (int i = 0; i < c.n; i++)
                files += i == 0 || strcmp(c.checks[i].file, c.checks[i - 1].file) != 0;
            CHECK_MSG(files == 4, "n=%ld: %d files accounted for", n, files);
            streak = c.n == 9 && c.nproblems == 2 ? streak + 1 : 0;
            aios_ops_checks_free(&c);
        } else {
            CHECK_EQ_INT(rc, AIOS_ENOMEM);
            CHECK_EQ_INT(c.n, 0);
            failed++;
            streak = 0;
        }
    }
    CHECK(failed > 10);
    CHECK_EQ_INT(streak, 5);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
    TEST_RUN(test_example);
    TEST_RUN(test_yaml_json_same);
    TEST_RUN(test_errors);
    TEST_RUN(test_dir);
    TEST_EXIT();
}
