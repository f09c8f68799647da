/*
 * Alarm intake and incidents: applies a validated batch of alarms
 * (alarms.c) to the store in one transaction — deduplication by
 * fingerprint, resolution, grouping into incidents by labels and time —
 * and shapes alarms and incidents as JSON for the CLI and the HTTP API.
 *
 * One alarm's way through intake (now = the time of the call):
 *
 *   firing   --a firing alarm has its fingerprint--> update it (count+1)
 *            --otherwise--> new alarm in the group's open incident
 *                           (a new incident when none is open)
 *   resolved --a firing alarm has its fingerprint--> resolve it
 *            --a resolved one with the same start--> count+1 (a repeat)
 *            --otherwise--> new resolved alarm, grouped as above
 *
 * Before the batch, incidents without firing alarms whose last touch is a
 * window or more ago are closed, so a late alarm opens a new incident
 * instead of reviving an old one. The rules are spelled out in ops.h.
 */
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void opts_resolve(const struct aios_ops_alarm_opts *o, int64_t *now, int64_t *window,
                         const char **group_by)
{
    *now = o && o->now_ms > 0 ? o->now_ms : aios_wall_ms();
    *window = o && o->window_ms > 0 ? o->window_ms : AIOS_OPS_INCIDENT_WINDOW_MS_DEFAULT;
    *group_by = o && o->group_by && *o->group_by ? o->group_by : AIOS_OPS_GROUP_BY_DEFAULT;
}

static const char *worse(const char *a, const char *b)
{
    return aios_ops_severity_rank(b) > aios_ops_severity_rank(a) ? b : a;
}

/* "HighCPU (cluster=c1, service=api)": the alarm name and the other
 * grouping labels. */
static char *make_title(const char *name, const char *group_key)
{
    struct aios_buf b;
    aios_buf_init(&b, 4096);
    json_t *g = json_loads(group_key, 0, NULL);
    int rc = aios_buf_puts(&b, name);
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(g, k, v)
    {
        if (strcmp(k, "alertname") == 0)
            continue;
        rc = rc ? rc : aios_buf_printf(&b, "%s%s=%s", n++ ? ", " : " (", k, json_string_value(v));
    }
    if (n)
        rc = rc ? rc : aios_buf_putc(&b, ')');
    json_decref(g);
    if (rc == AIOS_ELIMIT) /* a long title is cut, not refused */
        rc = AIOS_OK;
    if (rc) {
        aios_buf_free(&b);
        return NULL;
    }
    return aios_buf_detach(&b);
}

/* The incident a new alarm joins: the group's open one, else a new one. */
static int join_incident(aios_store *st, const struct aios_ops_alarm *a, const char *group_by,
                         int64_t now, int64_t *incident_id, struct aios_err *err)
{
    char *key = aios_ops_alarm_group_key(a->labels, group_by);
    if (!key)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    struct aios_store_incident inc;
    int rc = aios_store_incident_find_open(st, key, &inc, err);
    if (rc == AIOS_OK) {
        *incident_id = inc.id;
        rc = aios_store_incident_touch(st, inc.id, worse(inc.severity, a->severity), now, err);
        aios_store_incident_free(&inc);
    } else if (rc == AIOS_ENOTFOUND) {
        struct aios_store_incident n = {
            .group_key = key,
            .title = make_title(a->name, key),
            .severity = (char *)a->severity,
            .opened_ms = now,
            .updated_ms = now,
        };
        rc = n.title ? aios_store_incident_insert(st, &n, err)
                     : aios_err_set(err, AIOS_ENOMEM, "out of memory");
        *incident_id = n.id;
        aios_free(n.title);
    }
    aios_free(key);
    return rc;
}

/* Raises the severity of an alarm's incident (if needed) and its last touch. */
static int touch_incident(aios_store *st, int64_t id, const char *severity, int64_t now,
                          struct aios_err *err)
{
    struct aios_store_incident inc;
    int rc = aios_store_incident_get(st, id, &inc, err);
    if (rc == AIOS_ENOTFOUND)
        return aios_err_set(err, AIOS_EINTERNAL, "incident %lld of an alarm is missing",
                            (long long)id);
    if (rc)
        return rc;
    rc = aios_store_incident_touch(st, id, severity ? worse(inc.severity, severity) : NULL, now,
                                   err);
    aios_store_incident_free(&inc);
    return rc;
}

static int apply_one(aios_store *st, const struct aios_ops_alarm *a, const char *group_by,
                     int64_t now, struct aios_ops_intake_item *item, struct aios_err *err)
{
    char *labels = aios_json_dumps(a->labels, JSON_COMPACT | JSON_SORT_KEYS);
    char *ann = aios_json_dumps(a->annotations, JSON_COMPACT | JSON_SORT_KEYS);
    struct aios_store_alarm cur = {0};
    int rc = labels && ann ? AIOS_OK : aios_err_set(err, AIOS_ENOMEM, "out of memory");
    bool firing = strcmp(a->status, "firing") == 0;
    int64_t starts = a->starts_ms > 0 ? a->starts_ms : now;
    if (!rc)
        rc = aios_store_alarm_find_firing(st, a->fingerprint, &cur, err);
    if (rc == AIOS_OK) {
        /* Known and firing: a repeat delivery, or its resolution. */
        cur.count++;
        cur.last_ms = now;
        char *keep_labels = cur.labels, *keep_ann = cur.annotations, *keep_url = cur.generator_url;
        char *keep_sev = cur.severity, *keep_status = cur.status;
        cur.labels = labels;
        cur.annotations = ann;
        cur.generator_url = (char *)a->generator_url;
        cur.severity = (char *)a->severity;
        cur.ends_ms = a->ends_ms;
        if (firing) {
            item->action = "updated";
        } else {
            cur.status = "resolved";
            cur.resolved_ms = now;
            if (cur.ends_ms <= 0)
                cur.ends_ms = now;
            item->action = "resolved";
        }
        rc = aios_store_alarm_update(st, &cur, err);
        if (!rc)
            rc = touch_incident(st, cur.incident_id, firing ? a->severity : NULL, now, err);
        item->alarm_id = cur.id;
        item->incident_id = cur.incident_id;
        cur.labels = keep_labels;
        cur.annotations = keep_ann;
        cur.generator_url = keep_url;
        cur.severity = keep_sev;
        cur.status = keep_status;
        aios_store_alarm_free(&cur);
    } else if (rc == AIOS_ENOTFOUND && !firing &&
               (rc = aios_store_alarm_find_resolved(st, a->fingerprint, starts, &cur, err)) ==
                   AIOS_OK) {
        /* The same resolution again: count it, change nothing else. */
        cur.count++;
        cur.last_ms = now;
        rc = aios_store_alarm_update(st, &cur, err);
        item->action = "repeat";
        item->alarm_id = cur.id;
        item->incident_id = cur.incident_id;
        aios_store_alarm_free(&cur);
    } else if (rc == AIOS_ENOTFOUND) {
        struct aios_store_alarm n = {
            .fingerprint = (char *)a->fingerprint,
            .source = (char *)a->source,
            .name = (char *)a->name,
            .status = (char *)a->status,
            .severity = (char *)a->severity,
            .labels = labels,
            .annotations = ann,
            .generator_url = (char *)a->generator_url,
            .starts_ms = starts,
            .ends_ms = a->ends_ms,
            .first_ms = now,
            .last_ms = now,
            .resolved_ms = firing ? 0 : now,
            .count = 1,
        };
        if (!firing && n.ends_ms <= 0)
            n.ends_ms = now;
        rc = join_incident(st, a, group_by, now, &n.incident_id, err);
        if (!rc)
            rc = aios_store_alarm_insert(st, &n, err);
        item->action = firing ? "created" : "resolved_new";
        item->alarm_id = n.id;
        item->incident_id = n.incident_id;
    }
    aios_free(labels);
    aios_free(ann);
    return rc;
}

int aios_ops_alarm_intake(aios_store *st, const struct aios_ops_alarm_batch *b,
                          const struct aios_ops_alarm_opts *o, struct aios_ops_intake_item *items,
                          struct aios_err *err)
{
    int64_t now, window;
    const char *group_by;
    opts_resolve(o, &now, &window, &group_by);
    int rc = aios_ops_alarm_group_by_check(group_by, err);
    if (rc)
        return rc;
    if ((rc = aios_store_begin(st, err)))
        return rc;
    rc = aios_store_incident_close_stale(st, now, window, NULL, err);
    for (int i = 0; !rc && i < b->n; i++) {
        struct aios_ops_intake_item scratch;
        rc = apply_one(st, &b->alarms[i], group_by, now, items ? &items[i] : &scratch, err);
        if (rc)
            aios_err_prefix(err, "%s[%d]",
                            strcmp(b->kind, "alertmanager") == 0 ? "alerts" : "alarms", i);
    }
    if (rc) {
        aios_store_rollback(st, NULL);
        return rc;
    }
    return aios_store_commit(st, err);
}

int aios_ops_alarms_post(aios_store *st, json_t *body, const struct aios_ops_alarm_opts *o,
                         json_t **out, struct aios_err *err)
{
    *out = NULL;
    struct aios_ops_alarm_batch b;
    int rc = aios_ops_alarm_parse(body, &b, err);
    if (rc)
        return rc;
    struct aios_ops_intake_item *items = aios_calloc((size_t)b.n + 1, sizeof *items);
    if (!items)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (!rc)
        rc = aios_ops_alarm_intake(st, &b, o, items, err);
    /* The reply is built after the commit: if memory runs out here the
     * caller gets AIOS_ENOMEM although the alarms are stored, and a retry
     * of the same payload only counts the deliveries again. */
    json_t *res = NULL, *arr = NULL;
    int created = 0, updated = 0, resolved = 0;
    if (!rc && (!(res = json_object()) || !(arr = json_array()) ||
                json_object_set_new(res, "kind", json_string(b.kind)) ||
                json_object_set_new(res, "accepted", json_integer(b.n)) ||
                json_object_set_new(res, "alarms", json_incref(arr))))
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < b.n; i++) {
        const char *act = items[i].action;
        created += strcmp(act, "created") == 0 || strcmp(act, "resolved_new") == 0;
        updated += strcmp(act, "updated") == 0 || strcmp(act, "repeat") == 0;
        resolved += strcmp(act, "resolved") == 0 || strcmp(act, "resolved_new") == 0;
        json_t *e = json_pack("{s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)items[i].alarm_id,
                              "fingerprint", b.alarms[i].fingerprint, "status", b.alarms[i].status,
                              "incident_id", (json_int_t)items[i].incident_id, "action", act);
        if (!e || json_array_append_new(arr, e) != 0)
            rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    if (!rc && (json_object_set_new(res, "created", json_integer(created)) ||
                json_object_set_new(res, "updated", json_integer(updated)) ||
                json_object_set_new(res, "resolved", json_integer(resolved))))
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (!rc) {
        *out = res;
        res = NULL;
    }
    json_decref(arr);
    json_decref(res);
    aios_free(items);
    aios_ops_alarm_batch_free(&b);
    return rc;
}

/* ---- JSON --------------------------------------------------------------- */

/* "2026-11-29T09:00:00.123Z", or JSON null for 0. */
static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

/* Stored JSON text back into a value; the store only holds what intake
 * wrote, so a parse failure means corruption and shows as {}. */
static json_t *obj_json(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : json_object();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *aios_ops_alarm_to_json(const struct aios_store_alarm *a)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "id", json_integer(a->id)) |
              json_object_set_new(o, "fingerprint", json_string(a->fingerprint)) |
              json_object_set_new(o, "source", json_string(a->source)) |
              json_object_set_new(o, "name", json_string(a->name)) |
              json_object_set_new(o, "status", json_string(a->status)) |
              json_object_set_new(o, "severity", json_string(a->severity)) |
              json_object_set_new(o, "labels", obj_json(a->labels)) |
              json_object_set_new(o, "annotations", obj_json(a->annotations)) |
              json_object_set_new(o, "generator_url", str_or_null(a->generator_url)) |
              json_object_set_new(o, "starts_at", time_json(a->starts_ms)) |
              json_object_set_new(o, "ends_at", time_json(a->ends_ms)) |
              json_object_set_new(o, "first_received_at", time_json(a->first_ms)) |
              json_object_set_new(o, "last_received_at", time_json(a->last_ms)) |
              json_object_set_new(o, "resolved_at", time_json(a->resolved_ms)) |
              json_object_set_new(o, "count", json_integer(a->count)) |
              json_object_set_new(o, "incident_id", json_integer(a->incident_id));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *aios_ops_incident_to_json(const struct aios_store_incident *inc)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "id", json_integer(inc->id)) |
              json_object_set_new(o, "title", json_string(inc->title)) |
              json_object_set_new(o, "status", json_string(inc->status)) |
              json_object_set_new(o, "severity", json_string(inc->severity)) |
              json_object_set_new(o, "group", obj_json(inc->group_key)) |
              json_object_set_new(o, "opened_at", time_json(inc->opened_ms)) |
              json_object_set_new(o, "updated_at", time_json(inc->updated_ms)) |
              json_object_set_new(o, "closed_at", time_json(inc->closed_ms)) |
              json_object_set_new(o, "alarm_count", json_integer(inc->alarm_count)) |
              json_object_set_new(o, "firing_count", json_integer(inc->firing_count));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int alarms_array(struct aios_store_alarm *a, int n, json_t **out, struct aios_err *err)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_t *o = aios_ops_alarm_to_json(&a[i]);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (!arr)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    *out = arr;
    return AIOS_OK;
}

static int check_status(const char *status, const char *a, const char *b, struct aios_err *err)
{
    if (status && strcmp(status, a) != 0 && strcmp(status, b) != 0)
        return aios_err_set(err, AIOS_EINVAL, "status: expected %s or %s, got '%.32s'", a, b,
                            status);
    return AIOS_OK;
}

int aios_ops_alarms_list_json(aios_store *st, const char *status, int64_t incident_id,
                              int64_t limit, json_t **out, struct aios_err *err)
{
    *out = NULL;
    int rc = check_status(status, "firing", "resolved", err);
    if (rc)
        return rc;
    struct aios_store_alarm_filter f = {
        .status = status, .incident_id = incident_id, .limit = limit};
    struct aios_store_alarm *a = NULL;
    int n = 0;
    if ((rc = aios_store_alarm_list(st, &f, &a, &n, err)))
        return rc;
    rc = alarms_array(a, n, out, err);
    aios_store_alarms_free(a, n);
    return rc;
}

/* Applies the window before a read, so listings show closed incidents as
 * closed even when no alarm has come in since. */
static int close_stale(aios_store *st, const struct aios_ops_alarm_opts *o, struct aios_err *err)
{
    int64_t now, window;
    const char *group_by;
    opts_resolve(o, &now, &window, &group_by);
    return aios_store_incident_close_stale(st, now, window, NULL, err);
}

int aios_ops_incidents_list_json(aios_store *st, const char *status, int64_t limit,
                                 const struct aios_ops_alarm_opts *o, json_t **out,
                                 struct aios_err *err)
{
    *out = NULL;
    int rc = check_status(status, "open", "closed", err);
    if (rc || (rc = close_stale(st, o, err)))
        return rc;
    struct aios_store_incident *inc = NULL;
    int n = 0;
    if ((rc = aios_store_incident_list(st, status, limit, &inc, &n, err)))
        return rc;
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_t *j = aios_ops_incident_to_json(&inc[i]);
        if (!j || json_array_append_new(arr, j) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    aios_store_incidents_free(inc, n);
    if (!arr)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    *out = arr;
    return AIOS_OK;
}

int aios_ops_incident_get_json(aios_store *st, int64_t id, const struct aios_ops_alarm_opts *o,
                               json_t **out, struct aios_err *err)
{
    *out = NULL;
    int rc = close_stale(st, o, err);
    if (rc)
        return rc;
    struct aios_store_incident inc;
    rc = aios_store_incident_get(st, id, &inc, err);
    if (rc == AIOS_ENOTFOUND)
        return aios_err_set(err, AIOS_ENOTFOUND, "incident %lld not found", (long long)id);
    if (rc)
        return rc;
    json_t *j = aios_ops_incident_to_json(&inc);
    aios_store_incident_free(&inc);
    json_t *alarms = NULL;
    if (!j)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    rc = aios_ops_alarms_list_json(st, NULL, id, 0, &alarms, err);
    if (!rc && json_object_set_new(j, "alarms", alarms) != 0)
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (rc) {
        json_decref(j);
        return rc;
    }
    *out = j;
    return AIOS_OK;
}
