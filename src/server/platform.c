/*
 * Platform API handlers for operations: alarm intake (POST /api/v1/alarms,
 * Alertmanager webhooks and generic alarms), alarm and incident listings,
 * and the checks catalogue. Thin: each handler reads the request, calls one
 * ops function and shapes the reply; validation and rules live in src/ops.
 *
 * The store is the server's one handle (opened at start on the data
 * directory, shared with the registry API): every use is under store_mu,
 * as store handles serve one thread at a time.
 */
#include "server/server_int.h"

#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

static enum MHD_Result send_err(struct req *r, int http, const char *param, const char *code,
                                const char *msg)
{
    struct aios_server_apierr e;
    aios_server_apierr_set(&e, http, http >= 500 ? "server_error" : "invalid_request_error", param,
                           code, "%s", msg);
    return srv_respond_error(r, &e);
}

/* Maps an ops status to an HTTP error. Validation messages start with the
 * path of the bad field ("alerts[3].labels: ..."), which becomes param. */
static enum MHD_Result ops_error(struct req *r, int rc, const struct aios_err *err)
{
    const char *msg = err->msg[0] ? err->msg : aios_status_str(rc);
    if (rc == AIOS_EINVAL || rc == AIOS_ELIMIT) {
        char param[128] = "";
        const char *colon = strstr(msg, ": ");
        if (colon && (size_t)(colon - msg) < sizeof param &&
            !memchr(msg, ' ', (size_t)(colon - msg)))
            memcpy(param, msg, (size_t)(colon - msg)), param[colon - msg] = 0;
        return send_err(r, 400, param[0] ? param : NULL,
                        rc == AIOS_ELIMIT ? "limit_exceeded" : "invalid_value", msg);
    }
    if (rc == AIOS_ENOTFOUND)
        return send_err(r, 404, NULL, "not_found", msg);
    if (rc == AIOS_EBUSY)
        return send_err(r, 503, NULL, "store_busy", msg);
    return send_err(r, 500, NULL, NULL, msg);
}

/* Takes the server's store (srv_store_open, shared with the registry API
 * under store_mu). Without one the 503 is queued and false returned. */
static bool store_lock(struct req *r, enum MHD_Result *res)
{
    aios_server *s = r->srv;
    if (!s->store) {
        *res = send_err(r, 503, NULL, "no_store",
                        "Alarms need the store: the server was started without a data "
                        "directory.");
        return false;
    }
    pthread_mutex_lock(&s->store_mu);
    return true;
}

static void store_unlock(struct req *r)
{
    pthread_mutex_unlock(&r->srv->store_mu);
}

static struct aios_ops_alarm_opts alarm_opts(const aios_server *s)
{
    struct aios_ops_alarm_opts o = {.group_by = s->alarm_group_by,
                                    .window_ms = s->incident_window_ms};
    return o;
}

static const char *query(struct req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* ?limit=N (1..100000), default def. */
static bool query_limit(struct req *r, int64_t def, int64_t *out, enum MHD_Result *res)
{
    const char *v = query(r, "limit");
    *out = def;
    if (!v)
        return true;
    if (aios_parse_i64(v, out) != AIOS_OK || *out < 1 || *out > 100000) {
        *res =
            send_err(r, 400, "limit", "invalid_value", "limit: expected an integer in [1, 100000]");
        return false;
    }
    return true;
}

static enum MHD_Result reply(struct req *r, int status, int rc, json_t *out,
                             const struct aios_err *err)
{
    if (rc)
        return ops_error(r, rc, err);
    return srv_respond_json(r, status, out);
}

enum MHD_Result h_alarms_post(struct req *r, json_t *body)
{
    enum MHD_Result res;
    if (!store_lock(r, &res)) {
        json_decref(body);
        return res;
    }
    struct aios_ops_alarm_opts o = alarm_opts(r->srv);
    struct aios_err err = {0};
    json_t *out = NULL;
    int rc = aios_ops_alarms_post(r->srv->store, body, &o, &out, &err);
    store_unlock(r);
    json_decref(body);
    return reply(r, 200, rc, out, &err);
}

enum MHD_Result h_alarms_list(struct req *r, json_t *body)
{
    enum MHD_Result res;
    int64_t limit, incident = 0;
    const char *inc = query(r, "incident");
    if (inc && (aios_parse_i64(inc, &incident) != AIOS_OK || incident < 1))
        return send_err(r, 400, "incident", "invalid_value", "incident: expected an incident id");
    if (!query_limit(r, 1000, &limit, &res) || !store_lock(r, &res))
        return res;
    struct aios_err err = {0};
    json_t *arr = NULL;
    int rc =
        aios_ops_alarms_list_json(r->srv->store, query(r, "status"), incident, limit, &arr, &err);
    store_unlock(r);
    return reply(r, 200, rc, rc ? NULL : json_pack("{s:s, s:o}", "object", "list", "data", arr),
                 &err);
}

enum MHD_Result h_incidents_list(struct req *r, json_t *body)
{
    enum MHD_Result res;
    int64_t limit;
    if (!query_limit(r, 1000, &limit, &res) || !store_lock(r, &res))
        return res;
    struct aios_ops_alarm_opts o = alarm_opts(r->srv);
    struct aios_err err = {0};
    json_t *arr = NULL;
    int rc = aios_ops_incidents_list_json(r->srv->store, query(r, "status"), limit, &o, &arr, &err);
    store_unlock(r);
    return reply(r, 200, rc, rc ? NULL : json_pack("{s:s, s:o}", "object", "list", "data", arr),
                 &err);
}

enum MHD_Result h_incident_get(struct req *r, json_t *body)
{
    enum MHD_Result res;
    const char *idtext = r->url + strlen("/api/v1/incidents/");
    int64_t id;
    if (aios_parse_i64(idtext, &id) != AIOS_OK || id < 1)
        return send_err(r, 404, NULL, "not_found", "No such incident (ids are positive integers)");
    if (!store_lock(r, &res))
        return res;
    struct aios_ops_alarm_opts o = alarm_opts(r->srv);
    struct aios_err err = {0};
    json_t *out = NULL;
    int rc = aios_ops_incident_get_json(r->srv->store, id, &o, &out, &err);
    store_unlock(r);
    return reply(r, 200, rc, out, &err);
}

/* The catalogue is read from DATA_DIR/checks at each request: files are
 * small and edited by hand, and a fresh read means no reload command. */
enum MHD_Result h_checks_list(struct req *r, json_t *body)
{
    if (!r->srv->data_dir)
        return send_err(r, 503, NULL, "no_store",
                        "This server has no data directory (start aios serve with --data-dir).");
    size_t plen = strlen(r->srv->data_dir) + sizeof "/checks";
    char *dir = aios_malloc(plen);
    if (!dir)
        return send_err(r, 500, NULL, NULL, "out of memory");
    snprintf(dir, plen, "%s/checks", r->srv->data_dir);
    struct aios_ops_checks c;
    struct aios_err err = {0};
    int rc = aios_ops_checks_load_dir(dir, &c, &err);
    aios_free(dir);
    if (rc)
        return ops_error(r, rc, &err);
    json_t *j = aios_ops_checks_to_json(&c);
    aios_ops_checks_free(&c);
    json_t *res =
        j ? json_pack("{s:s, s:O, s:O}", "object", "list", "data", json_object_get(j, "checks"),
                      "problems", json_object_get(j, "problems"))
          : NULL;
    json_decref(j);
    return srv_respond_json(r, 200, res);
}

int srv_platform_init(aios_server *s, const struct aios_server_opts *opts, struct aios_err *err)
{
    s->incident_window_ms = opts->incident_window_s > 0 ? opts->incident_window_s * 1000 : 0;
    if (opts->data_dir && *opts->data_dir && !(s->data_dir = aios_strdup(opts->data_dir)))
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    if (opts->alarm_group_by && *opts->alarm_group_by) {
        int rc = aios_ops_alarm_group_by_check(opts->alarm_group_by, err);
        if (rc)
            return rc;
        if (!(s->alarm_group_by = aios_strdup(opts->alarm_group_by)))
            return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    return AIOS_OK;
}

void srv_platform_free(aios_server *s)
{
    aios_free(s->data_dir);
    aios_free(s->alarm_group_by);
    s->data_dir = s->alarm_group_by = NULL;
}
