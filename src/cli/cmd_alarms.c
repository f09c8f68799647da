/* `aios alarms` and `aios incidents`: alarm intake from a file (the same
 * function POST /api/v1/alarms calls) and the alarm and incident listings,
 * as text or, with --json, the JSON the HTTP API returns. Each subcommand
 * opens the store under --data-dir; grouping labels and the incident
 * window come from the settings alarm_group_by and incident_window_s. */
#include "cli/cli.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

static int open_store(struct aios_cli *cli, const struct aios_cmd_spec *spec, aios_store **st)
{
    struct aios_err err;
    if (aios_store_open_dir(aios_config_str(cli->cfg, "data_dir"), st, &err))
        return aios_cli_fail(spec, &err);
    return 0;
}

static struct aios_ops_alarm_opts alarm_opts(struct aios_cli *cli)
{
    struct aios_ops_alarm_opts o = {
        .group_by = aios_config_str(cli->cfg, "alarm_group_by"),
        .window_ms = aios_config_int(cli->cfg, "incident_window_s") * 1000,
    };
    return o;
}

static void print_json(json_t *j)
{
    char *s = aios_json_dumps(j, JSON_INDENT(2));
    printf("%s\n", s ? s : "null");
    aios_free(s);
}

static const char *js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

/* "k=v, k=v" of a label object, cut to fit. */
static void labels_text(const json_t *labels, char *out, size_t size)
{
    out[0] = 0;
    const char *k;
    json_t *v;
    size_t len = 0;
    json_object_foreach((json_t *)labels, k, v)
    {
        if (strcmp(k, "alertname") == 0)
            continue;
        int n = snprintf(out + len, size - len, "%s%s=%s", len ? "," : "", k, json_string_value(v));
        if (n < 0 || (size_t)n >= size - len) {
            if (size > 4)
                memcpy(out + size - 4, "...", 4);
            return;
        }
        len += (size_t)n;
    }
}

static void print_alarms(const json_t *arr)
{
    printf("%-6s %-9s %-9s %-28s %-16s %6s %8s  %-24s %s\n", "ID", "STATUS", "SEVERITY", "NAME",
           "FINGERPRINT", "COUNT", "INCIDENT", "STARTS", "LABELS");
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        char labels[256];
        labels_text(json_object_get(a, "labels"), labels, sizeof labels);
        printf("%-6lld %-9s %-9s %-28.28s %-16.16s %6lld %8lld  %-24s %s\n",
               (long long)json_integer_value(json_object_get(a, "id")), js(a, "status"),
               js(a, "severity"), js(a, "name"), js(a, "fingerprint"),
               (long long)json_integer_value(json_object_get(a, "count")),
               (long long)json_integer_value(json_object_get(a, "incident_id")), js(a, "starts_at"),
               labels);
    }
}

/* ---- alarms list ---- */

static int alarms_list(struct aios_cli *cli, int argc, char **argv)
{
    const char *status = NULL;
    int64_t limit = 0, incident = 0;
    bool json = false;
    struct aios_opt opts[] = {
        {"status", 's', AIOS_OPT_STR, &status, "S", "only firing or only resolved alarms"},
        {"incident", 'i', AIOS_OPT_INT, &incident, "ID", "only the alarms of one incident"},
        {"limit", 'n', AIOS_OPT_INT, &limit, "N", "at most N alarms, newest first"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print the JSON of GET /api/v1/alarms"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "alarms list",
        .usage = "[--status firing|resolved] [--incident ID] [--limit N] [--json]",
        .summary = "List stored alarms, newest first.",
        .description = "Alarms arrive through POST /api/v1/alarms (Alertmanager webhooks,\n"
                       "generic alarms) or `aios alarms post`. An alarm is firing until a\n"
                       "resolved notification with its fingerprint comes in.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (status && strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0)
        return aios_cli_usage_error(&spec, "--status must be firing or resolved");
    if (limit < 0 || incident < 0)
        return aios_cli_usage_error(&spec, "--limit and --incident must not be negative");
    aios_store *st;
    if ((rc = open_store(cli, &spec, &st)))
        return rc;
    struct aios_err err;
    json_t *arr = NULL;
    if (aios_ops_alarms_list_json(st, status, incident, limit, &arr, &err)) {
        aios_store_close(st);
        return aios_cli_fail(&spec, &err);
    }
    aios_store_close(st);
    if (json)
        print_json(arr);
    else if (json_array_size(arr) == 0)
        printf("no alarms\n");
    else
        print_alarms(arr);
    json_decref(arr);
    return 0;
}

/* ---- alarms post ---- */

static int alarms_post(struct aios_cli *cli, int argc, char **argv)
{
    struct aios_cmd_spec spec = {
        .name = "alarms post",
        .usage = "FILE|-",
        .summary = "Take in alarms from a JSON file, as POST /api/v1/alarms does.",
        .description = "FILE holds an Alertmanager webhook payload (version 4) or generic\n"
                       "alarms ({\"name\": ..., \"severity\": ..., \"labels\": {...}} or\n"
                       "{\"alarms\": [...]}); - reads standard input. The payload is stored\n"
                       "entirely or not at all; the reply is printed as JSON.",
        .min_pos = 1,
        .max_pos = 1,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    struct aios_err err;
    char *text = NULL;
    size_t len = 0;
    size_t max = (size_t)aios_config_int(cli->cfg, "http_max_body_mb") << 20;
    if (strcmp(pos[0], "-") == 0) {
        struct aios_buf b;
        aios_buf_init(&b, max);
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            if (aios_buf_append(&b, chunk, n)) {
                aios_buf_free(&b);
                aios_err_set(&err, AIOS_ELIMIT, "standard input is larger than %zu bytes", max);
                return aios_cli_fail(&spec, &err);
            }
        len = b.len;
        text = aios_buf_detach(&b);
    } else if (aios_read_file(pos[0], max, &text, &len, &err)) {
        return aios_cli_fail(&spec, &err);
    }
    json_t *body = NULL;
    if (!text || aios_json_parse(text, len, max, &body, &err)) {
        aios_free(text);
        if (!text)
            aios_err_set(&err, AIOS_ENOMEM, "out of memory");
        return aios_cli_fail(&spec, &err);
    }
    aios_free(text);
    aios_store *st;
    if ((rc = open_store(cli, &spec, &st))) {
        json_decref(body);
        return rc;
    }
    struct aios_ops_alarm_opts o = alarm_opts(cli);
    json_t *out = NULL;
    rc = aios_ops_alarms_post(st, body, &o, &out, &err);
    aios_store_close(st);
    json_decref(body);
    if (rc)
        return aios_cli_fail(&spec, &err);
    print_json(out);
    json_decref(out);
    return 0;
}

int aios_cmd_alarms(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"list", alarms_list, "list stored alarms"},
        {"post", alarms_post, "take in alarms from a JSON file (as POST /api/v1/alarms)"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "alarms", "Alarms taken in from Alertmanager and others.",
                                subs, argc, argv);
}

/* ---- incidents ---- */

static void print_incident_row(const json_t *o)
{
    printf("%-6lld %-7s %-9s %6lld %6lld  %-24s %-24s %s\n",
           (long long)json_integer_value(json_object_get(o, "id")), js(o, "status"),
           js(o, "severity"), (long long)json_integer_value(json_object_get(o, "alarm_count")),
           (long long)json_integer_value(json_object_get(o, "firing_count")), js(o, "opened_at"),
           js(o, "updated_at"), js(o, "title"));
}

static const char incident_header[] = "%-6s %-7s %-9s %6s %6s  %-24s %-24s %s\n";

static int incidents_list(struct aios_cli *cli, int argc, char **argv)
{
    const char *status = NULL;
    int64_t limit = 0;
    bool json = false;
    struct aios_opt opts[] = {
        {"status", 's', AIOS_OPT_STR, &status, "S", "only open or only closed incidents"},
        {"limit", 'n', AIOS_OPT_INT, &limit, "N", "at most N incidents, newest first"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print the JSON of GET /api/v1/incidents"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "incidents list",
        .usage = "[--status open|closed] [--limit N] [--json]",
        .summary = "List incidents (alarms grouped by labels and time), newest first.",
        .description = "A new alarm joins the open incident of its group (the values of the\n"
                       "alarm_group_by labels). An incident stays open while an alarm of it\n"
                       "fires and for incident_window_s seconds after its last alarm.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (status && strcmp(status, "open") != 0 && strcmp(status, "closed") != 0)
        return aios_cli_usage_error(&spec, "--status must be open or closed");
    if (limit < 0)
        return aios_cli_usage_error(&spec, "--limit must not be negative");
    aios_store *st;
    if ((rc = open_store(cli, &spec, &st)))
        return rc;
    struct aios_ops_alarm_opts o = alarm_opts(cli);
    struct aios_err err;
    json_t *arr = NULL;
    if (aios_ops_incidents_list_json(st, status, limit, &o, &arr, &err)) {
        aios_store_close(st);
        return aios_cli_fail(&spec, &err);
    }
    aios_store_close(st);
    if (json) {
        print_json(arr);
    } else if (json_array_size(arr) == 0) {
        printf("no incidents\n");
    } else {
        printf(incident_header, "ID", "STATUS", "SEVERITY", "ALARMS", "FIRING", "OPENED", "UPDATED",
               "TITLE");
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e) print_incident_row(e);
    }
    json_decref(arr);
    return 0;
}

static int incidents_show(struct aios_cli *cli, int argc, char **argv)
{
    bool json = false;
    struct aios_opt opts[] = {
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "print the JSON of GET /api/v1/incidents/ID"},
        {0},
    };
    struct aios_cmd_spec spec = {
        .name = "incidents show",
        .usage = "ID [--json]",
        .summary = "Show one incident with its alarms.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
    };
    char *pos[argc > 0 ? argc : 1];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    int64_t id;
    if (aios_parse_i64(pos[0], &id) != AIOS_OK || id < 1)
        return aios_cli_usage_error(&spec, "ID must be a positive integer");
    aios_store *st;
    if ((rc = open_store(cli, &spec, &st)))
        return rc;
    struct aios_ops_alarm_opts o = alarm_opts(cli);
    struct aios_err err;
    json_t *inc = NULL;
    rc = aios_ops_incident_get_json(st, id, &o, &inc, &err);
    aios_store_close(st);
    if (rc)
        return aios_cli_fail(&spec, &err);
    if (json) {
        print_json(inc);
    } else {
        printf(incident_header, "ID", "STATUS", "SEVERITY", "ALARMS", "FIRING", "OPENED", "UPDATED",
               "TITLE");
        print_incident_row(inc);
        printf("closed: %s\n\n", js(inc, "closed_at"));
        print_alarms(json_object_get(inc, "alarms"));
    }
    json_decref(inc);
    return 0;
}

int aios_cmd_incidents(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"list", incidents_list, "list incidents"},
        {"show", incidents_show, "show one incident with its alarms"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "incidents", "Incidents: alarms grouped by labels and time.",
                                subs, argc, argv);
}
