/* `aios detect`: scores a metric series (CSV timestamp,value) with one of the
 * metric detectors of the ops module and prints every point's score and
 * verdict, or lists the detectors and their parameters. */
#include "cli/cli.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

static void list_detectors(bool json)
{
    if (json) {
        json_t *arr = json_array();
        for (const struct aios_ops_detector_def *d = aios_ops_detector_defs; d->name; d++) {
            json_t *o = json_object(), *ps = json_array();
            json_object_set_new(o, "name", json_string(d->name));
            json_object_set_new(o, "doc", json_string(d->doc));
            for (const struct aios_ops_detector_param *p = d->params; p->name; p++) {
                json_t *po = json_object();
                json_object_set_new(po, "name", json_string(p->name));
                json_object_set_new(po, "default", json_real(p->def));
                json_object_set_new(po, "min", json_real(p->min));
                json_object_set_new(po, "max", json_real(p->max));
                json_object_set_new(po, "doc", json_string(p->doc));
                json_array_append_new(ps, po);
            }
            json_object_set_new(o, "params", ps);
            json_array_append_new(arr, o);
        }
        char *s = aios_json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        aios_free(s);
        json_decref(arr);
        return;
    }
    for (const struct aios_ops_detector_def *d = aios_ops_detector_defs; d->name; d++) {
        printf("%s\n    %s\n", d->name, d->doc);
        for (const struct aios_ops_detector_param *p = d->params; p->name; p++)
            printf("    --param %s=%g  (%g..%g) %s\n", p->name, p->def, p->min, p->max, p->doc);
    }
}

int aios_cmd_detect(struct aios_cli *cli, int argc, char **argv)
{
    const char *name = "ensemble";
    struct aios_strlist params = {0};
    bool json = false, list = false, alerts = false;
    struct aios_opt opts[] = {
        {"detector", 'd', AIOS_OPT_STR, &name, "NAME", "detector to run (default ensemble)"},
        {"param", 'p', AIOS_OPT_STRLIST, &params, "K=V", "detector parameter"},
        {"alerts", 0, AIOS_OPT_BOOL, &alerts, NULL, "print only WARN and CRITICAL points"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print JSON"},
        {"list", 0, AIOS_OPT_BOOL, &list, NULL, "list the detectors and their parameters"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "detect",
        .usage = "[--detector NAME] [--param K=V ...] [--alerts] [--json] FILE.csv | --list",
        .summary = "Score a metric series with an anomaly detector.",
        .description =
            "FILE.csv holds timestamp,value rows after a header line (NAB's format);\n"
            "timestamps are \"YYYY-MM-DD HH:MM:SS\", ISO 8601 or Unix seconds, in time\n"
            "order. Every point gets a score in [0,1] and a verdict OK, WARN or CRITICAL\n"
            "(the detector's warn and crit parameters), with a reason when not OK.\n"
            "`aios detect --list` shows the detectors and their parameters.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 1,
    };
    char **pos = aios_malloc((size_t)(argc > 0 ? argc : 1) * sizeof(char *));
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos, rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        aios_strlist_free(&params);
        return rc < 0 ? 0 : rc;
    }
    struct aios_err err = {0};
    struct aios_ops_series s = {0};
    aios_ops_detector *d = NULL;
    if (list) {
        list_detectors(json);
        rc = AIOS_EXIT_OK;
        goto out;
    }
    if (npos != 1) {
        rc = aios_cli_usage_error(&spec, "expected a CSV file (or --list)");
        goto out;
    }
    if (!aios_ops_detector_find(name)) {
        rc = aios_cli_usage_error(&spec, "unknown detector '%s' (see aios detect --list)", name);
        goto out;
    }
    if (aios_ops_detector_create(name, params.items, params.n, &d, &err) != AIOS_OK) {
        rc = aios_cli_usage_error(&spec, "%s", err.msg);
        goto out;
    }
    if (aios_ops_series_read_csv(pos[0], &s, &err) != AIOS_OK) {
        rc = aios_cli_fail(&spec, &err);
        goto out;
    }
    size_t nwarn = 0, ncrit = 0, shown = 0;
    if (json)
        printf("{\"detector\": \"%s\", \"points\": [", name);
    for (size_t i = 0; i < s.n; i++) {
        struct aios_ops_detect_result r;
        if (aios_ops_detector_feed(d, s.ts[i], s.value[i], &r, &err) != AIOS_OK) {
            rc = aios_cli_fail(&spec, &err);
            goto out;
        }
        nwarn += r.verdict == AIOS_OPS_VERDICT_WARN;
        ncrit += r.verdict == AIOS_OPS_VERDICT_CRITICAL;
        if (alerts && r.verdict == AIOS_OPS_VERDICT_OK)
            continue;
        char t[32];
        aios_ops_time_fmt(s.ts[i], t, sizeof t);
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "timestamp", json_string(t));
            json_object_set_new(o, "value", json_real(s.value[i]));
            json_object_set_new(o, "score", json_real(r.score));
            json_object_set_new(o, "verdict", json_string(aios_ops_verdict_str(r.verdict)));
            if (r.reason[0])
                json_object_set_new(o, "reason", json_string(r.reason));
            char *js = aios_json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
            printf("%s\n  %s", shown ? "," : "", js ? js : "{}");
            aios_free(js);
            json_decref(o);
        } else {
            printf("%s  %12.6g  %.6f  %-8s%s%s\n", t, s.value[i], r.score,
                   aios_ops_verdict_str(r.verdict), r.reason[0] ? "  " : "", r.reason);
        }
        shown++;
    }
    if (json)
        printf("\n], \"points_total\": %zu, \"warn\": %zu, \"critical\": %zu}\n", s.n, nwarn,
               ncrit);
    else
        fprintf(stderr, "%zu points: %zu WARN, %zu CRITICAL\n", s.n, nwarn, ncrit);
    rc = AIOS_EXIT_OK;
out:
    aios_ops_detector_destroy(d);
    aios_ops_series_free(&s);
    aios_strlist_free(&params);
    aios_free(pos);
    return rc;
}
