/*
 * The HTTP layer on libmicrohttpd: the routing table, authentication, the
 * bounded request body, response helpers, request metrics and the server's
 * lifecycle.
 *
 * Threading: MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION.
 * A generation request holds its connection for as long as the model writes
 * (seconds to minutes), and the natural shape of that is a loop that waits
 * for tokens and writes them; one thread per connection lets handlers and
 * the SSE reader block on a condition variable without stalling anyone
 * else. The epoll + pool + suspend/resume alternative saves threads but
 * turns every handler into a resumable state machine, for a gain that only
 * matters past thousands of open connections; here the connection limit
 * (opts.max_connections) bounds the thread count, and inference, not
 * threads, is the scarce resource. The engine's scheduler and compute pool
 * are separate threads that never touch a socket.
 *
 * Request life (con_cls = struct req):
 *
 *   headers --route?--> 404 / 405
 *           --auth?---> 401
 *           --Content-Length > max--> 413
 *   body chunks ... (past max: drained and answered 413, or dropped)
 *   last call --> parse JSON (400 naming line/column) --> handler
 *   MHD completion notice --> metrics, free
 */
#include "server/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

/* The routing table. Order matters only for prefixes (exact paths first). */
static const struct route routes[] = {
    {"GET", "/health", h_health, ROUTE_PUBLIC},
    {"GET", "/metrics", h_metrics, 0},
    {"GET", "/v1/models", h_models, 0},
    {"GET", "/v1/models/", h_model_get, ROUTE_PREFIX},
    {"POST", "/v1/chat/completions", h_chat, ROUTE_BODY},
    {"POST", "/v1/completions", h_completions, ROUTE_BODY},
    {"POST", "/v1/embeddings", h_embeddings, ROUTE_BODY},
    {"POST", "/tokenize", h_tokenize, ROUTE_BODY},
    {"POST", "/detokenize", h_detokenize, ROUTE_BODY},
    /* model registry (registry_api.c) */
    {"GET", "/api/v1/models", h_reg_list, 0},
    {"POST", "/api/v1/models", h_reg_create, ROUTE_BODY},
    {"GET", "/api/v1/models/", h_reg_get, ROUTE_PREFIX},
    {"POST", "/api/v1/models/", h_reg_post, ROUTE_PREFIX | ROUTE_BODY},
    {"DELETE", "/api/v1/models/", h_reg_delete, ROUTE_PREFIX},
    {"POST", "/api/v1/alarms", h_alarms_post, ROUTE_BODY},
    {"GET", "/api/v1/alarms", h_alarms_list, 0},
    {"GET", "/api/v1/incidents", h_incidents_list, 0},
    {"GET", "/api/v1/incidents/", h_incident_get, ROUTE_PREFIX},
    {"GET", "/api/v1/checks", h_checks_list, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* Bodies past the limit are read and thrown away up to this many bytes more,
 * so the client still sees the 413; beyond that the connection is dropped. */
#define DRAIN_MAX ((size_t)16 << 20)

static bool path_matches(const struct route *rt, const char *url)
{
    if (rt->flags & ROUTE_PREFIX) {
        size_t n = strlen(rt->path);
        return strncmp(url, rt->path, n) == 0 && url[n] != 0;
    }
    return strcmp(url, rt->path) == 0;
}

/* ---- responses --------------------------------------------------------- */

static enum MHD_Result queue(struct req *r, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    r->status = status;
    r->responded = true;
    MHD_add_response_header(resp, "Server", "aios/" AIOS_VERSION);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result srv_respond_text(struct req *r, int status, const char *ctype, const char *text,
                                 size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    return queue(r, status, resp);
}

enum MHD_Result srv_respond_json(struct req *r, int status, json_t *v)
{
    char *s = v ? aios_json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!s) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":"
                                  "\"server_error\",\"param\":null,\"code\":null}}";
        return srv_respond_text(r, 500, "application/json", oom, sizeof oom - 1);
    }
    enum MHD_Result rc = srv_respond_text(r, status, "application/json", s, strlen(s));
    aios_free(s);
    return rc;
}

enum MHD_Result srv_respond_error(struct req *r, const struct aios_server_apierr *e)
{
    char *s = aios_server_apierr_json(e);
    if (!s)
        return srv_respond_json(r, 500, NULL);
    enum MHD_Result rc = srv_respond_text(r, e->http, "application/json", s, strlen(s));
    aios_free(s);
    return rc;
}

enum MHD_Result srv_respond_stream(struct req *r, MHD_ContentReaderCallback reader, void *cls,
                                   MHD_ContentReaderFreeCallback free_cb)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, cls, free_cb);
    if (!resp) {
        free_cb(cls);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* tell proxies not to buffer */
    return queue(r, 200, resp);
}

static enum MHD_Result fail(struct req *r, int http, const char *code, const char *param,
                            const char *fmt, ...) AIOS_PRINTF(5, 6);
static enum MHD_Result fail(struct req *r, int http, const char *code, const char *param,
                            const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct aios_server_apierr e;
    aios_server_apierr_set(&e, http, http >= 500 ? "server_error" : "invalid_request_error", param,
                           code, "%s", msg);
    return srv_respond_error(r, &e);
}

bool srv_client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    if (p.revents & POLLIN) {
        /* Readable: EOF means the client closed; data (a pipelined request)
         * does not. */
        char ch;
        ssize_t n = recv(ci->connect_fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    return false;
}

void srv_make_id(const char *prefix, char *out, size_t size)
{
    uint8_t rnd[12];
    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        static atomic_uint_fast64_t counter;
        uint64_t x = aios_time_ns() ^ (atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull);
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (uint8_t)(x >> (8 * (i % 8))) ^ (uint8_t)i;
    }
    char hex[25];
    aios_hex_encode(rnd, sizeof rnd, hex);
    snprintf(out, size, "%s%s", prefix, hex);
}

/* ---- authentication ---------------------------------------------------- */

static bool authorised(struct req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h)
        return false;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    return len > 0 &&
           aios_server_keys_match((const uint8_t(*)[32])r->srv->keys, r->srv->nkeys, h, len);
}

/* ---- the access handler ------------------------------------------------ */

static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "other";
}

/* First call: headers are in. Routes, authenticates and checks the declared
 * size; queues an error response or returns with r->route set. */
static enum MHD_Result on_headers(struct req *r, const char *url, const char *method)
{
    aios_server *s = r->srv;
    const struct route *path_hit = NULL;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(&routes[i], url))
            continue;
        path_hit = &routes[i];
        if (strcmp(routes[i].method, method) == 0) {
            r->route = &routes[i];
            break;
        }
    }
    if (!path_hit)
        return fail(r, 404, NULL, NULL, "Invalid URL (%s %s)", method, url);
    if (!r->route) {
        char allow[64] = "";
        for (size_t i = 0; i < NROUTES; i++) {
            if (path_matches(&routes[i], url) && !strstr(allow, routes[i].method)) {
                if (allow[0])
                    aios_strlcpy(allow + strlen(allow), ", ", sizeof allow - strlen(allow));
                aios_strlcpy(allow + strlen(allow), routes[i].method, sizeof allow - strlen(allow));
            }
        }
        r->route = path_hit; /* for the metrics label */
        struct aios_server_apierr e;
        aios_server_apierr_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed",
                               "Method %s is not allowed for %s (allowed: %s)", method, url, allow);
        char *body = aios_server_apierr_json(&e);
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            body ? strlen(body) : 0, body ? body : (void *)"", MHD_RESPMEM_MUST_COPY);
        aios_free(body);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "application/json");
        MHD_add_response_header(resp, "Allow", allow);
        return queue(r, 405, resp);
    }
    if (!(r->route->flags & ROUTE_PUBLIC) && s->nkeys > 0 && !authorised(r)) {
        bool sent = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization") != NULL;
        return fail(r, 401, sent ? "invalid_api_key" : NULL, NULL, "%s",
                    sent ? "Incorrect API key provided."
                         : "You didn't provide an API key. You need to provide your API key in "
                           "an Authorization header using Bearer auth (i.e. Authorization: "
                           "Bearer YOUR_KEY).");
    }
    if (atomic_load(&s->stopping))
        return fail(r, 503, NULL, NULL, "The server is shutting down.");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    uint64_t declared;
    if (cl && aios_parse_u64(cl, &declared) == AIOS_OK && declared > s->max_body) {
        return fail(r, 413, "request_too_large", NULL,
                    "Request body of %s bytes exceeds the limit of %zu bytes", cl, s->max_body);
    }
    aios_buf_init(&r->body, s->max_body);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    aios_server *s = cls;
    struct req *r = *con_cls;
    if (!r) {
        r = aios_calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->url = url;
        r->t0 = aios_time_ns();
        r->method_label = method_label(method);
        *con_cls = r;
        return on_headers(r, url, method);
    }
    if (r->responded) { /* an early error is queued: swallow what follows */
        *data_size = 0;
        return MHD_YES;
    }
    if (*data_size) {
        if (!r->too_large) {
            int rc = aios_buf_append(&r->body, data, *data_size);
            if (rc == AIOS_ELIMIT) {
                r->too_large = true;
                aios_buf_free(&r->body);
            } else if (rc) {
                return MHD_NO;
            }
        }
        r->received += *data_size;
        if (r->received > s->max_body + DRAIN_MAX)
            return MHD_NO; /* drop the connection rather than drain forever */
        *data_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        return fail(r, 413, "request_too_large", NULL,
                    "Request body exceeds the limit of %zu bytes", s->max_body);
    }
    json_t *body = NULL;
    if (r->route->flags & ROUTE_BODY) {
        struct aios_err err;
        if (r->body.len == 0)
            return fail(r, 400, "invalid_json", NULL,
                        "We could not parse the JSON body of your request: the body is empty");
        if (aios_json_parse(r->body.data, r->body.len, s->max_body, &body, &err))
            return fail(r, 400, "invalid_json", NULL,
                        "We could not parse the JSON body of your request: %s", err.msg);
        if (!json_is_object(body)) {
            json_decref(body);
            return fail(r, 400, "invalid_type", NULL, "The request body must be a JSON object");
        }
    }
    aios_buf_free(&r->body); /* the JSON has what it needs */
    return r->route->fn(r, body);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    aios_server *s = cls;
    struct req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    char status[16];
    snprintf(status, sizeof status, "%d", r->status ? r->status : 499);
    const char *path = r->route ? r->route->path : "unmatched";
    const char *lv[] = {r->method_label, path, status};
    aios_metric_add(s->m_requests, lv, 1);
    double secs = (double)(aios_time_ns() - r->t0) * 1e-9;
    const char *pv[] = {path};
    aios_metric_observe(s->m_duration, pv, secs);
    /* The URL is the client's: cut it short and defuse control characters
     * so it cannot forge log lines. */
    char url[160];
    aios_strlcpy(url, r->url ? r->url : "?", sizeof url);
    for (char *p = url; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    AIOS_INFO(SERVER_MOD, "%s %s %s %.1f ms%s", r->method_label, url, status, secs * 1e3,
              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    aios_buf_free(&r->body);
    aios_free(r);
}

/* ---- lifecycle --------------------------------------------------------- */

/* MHD's own messages (mostly clients that went away) at debug level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    AIOS_DEBUG(SERVER_MOD, "mhd: %s", msg);
}

static const double latency_buckets[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08,
                                         0.1,   0.25,  0.5,  0.75, 1.0,  2.5,  5.0,
                                         7.5,   10.0,  20.0, 40.0, 80.0};
#define NLAT (int)(sizeof latency_buckets / sizeof latency_buckets[0])

static int make_metrics(aios_server *s)
{
    aios_metrics *m = s->metrics = aios_metrics_create();
    if (!m)
        return AIOS_ENOMEM;
    s->m_requests = aios_metrics_counter(m, "aios_http_requests_total",
                                         "HTTP requests by method, route and status code.",
                                         "method,path,status");
    s->m_duration = aios_metrics_histogram(m, "aios_http_request_duration_seconds",
                                           "Time from request headers to the end of the response.",
                                           "path", latency_buckets, NLAT);
    s->m_prompt_tokens =
        aios_metrics_counter(m, "aios_prompt_tokens_total", "Prompt tokens processed.", "model");
    s->m_gen_tokens =
        aios_metrics_counter(m, "aios_generation_tokens_total", "Tokens generated.", "model");
    s->m_ttft = aios_metrics_histogram(m, "aios_time_to_first_token_seconds",
                                       "Time from the start of a request to its first token.",
                                       "model", latency_buckets, NLAT);
    s->m_itl = aios_metrics_histogram(m, "aios_inter_token_latency_seconds",
                                      "Time between consecutive tokens of one request.", "model",
                                      latency_buckets, NLAT);
    s->m_e2e = aios_metrics_histogram(m, "aios_e2e_request_latency_seconds",
                                      "Time from the start of a generation to its end.", "model",
                                      latency_buckets, NLAT);
    s->m_finished =
        aios_metrics_counter(m, "aios_requests_finished_total",
                             "Generation requests finished, by finish reason.", "model,reason");
    s->m_inflight = aios_metrics_gauge(m, "aios_requests_in_flight",
                                       "Generation requests the HTTP layer is holding.", NULL);
    s->m_running =
        aios_metrics_gauge(m, "aios_requests_running", "Sequences the engine is decoding.", NULL);
    s->m_waiting = aios_metrics_gauge(m, "aios_requests_waiting",
                                      "Requests queued in the engine, not yet scheduled.", NULL);
    s->m_kv_usage = aios_metrics_gauge(m, "aios_kv_cache_usage_ratio",
                                       "Fraction of the KV cache in use (0 to 1).", NULL);
    s->m_kv_tokens =
        aios_metrics_gauge(m, "aios_kv_cache_tokens", "Tokens held in the KV cache.", NULL);
    s->m_kv_capacity = aios_metrics_gauge(m, "aios_kv_cache_capacity_tokens",
                                          "Tokens the KV cache can hold.", NULL);
    s->m_mem = aios_metrics_gauge(
        m, "aios_memory_allocated_bytes",
        "Bytes held through aios's allocator (weights are mapped, not counted).", NULL);
    struct aios_metric *info = aios_metrics_gauge(
        m, "aios_build_info", "Always 1; the labels describe the build.", "version");
    const char *iv[] = {AIOS_VERSION};
    aios_metric_set(info, iv, 1);
    aios_metric_set(s->m_inflight, NULL, 0);
    if (!s->m_requests || !s->m_duration || !s->m_prompt_tokens || !s->m_gen_tokens || !s->m_ttft ||
        !s->m_itl || !s->m_e2e || !s->m_finished || !s->m_inflight || !s->m_running ||
        !s->m_waiting || !s->m_kv_usage || !s->m_kv_tokens || !s->m_kv_capacity || !s->m_mem ||
        !info)
        return AIOS_ENOMEM;
    return AIOS_OK;
}

static int add_key_hash(aios_server *s, const char *key, struct aios_err *err)
{
    uint8_t(*nk)[32] = aios_realloc(s->keys, sizeof *s->keys * (size_t)(s->nkeys + 1));
    if (!nk)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    s->keys = nk;
    struct aios_sha256 h;
    aios_sha256_init(&h);
    aios_sha256_update(&h, key, strlen(key));
    aios_sha256_final(&h, s->keys[s->nkeys++]);
    return AIOS_OK;
}

static void server_free(aios_server *s)
{
    srv_store_close(s);
    srv_sources_free(s);
    srv_platform_free(s);
    pthread_cond_destroy(&s->live_cv);
    pthread_mutex_destroy(&s->live_mu);
    aios_metrics_destroy(s->metrics);
    aios_free(s->keys);
    aios_free(s);
}

int aios_server_start(const struct aios_server_opts *opts, const struct aios_server_backend *be,
                      aios_server **out, struct aios_err *err)
{
    *out = NULL;
    if (opts->port < 0 || opts->port > 65535)
        return aios_err_set(err, AIOS_EINVAL, "port %d is out of range [0, 65535]", opts->port);
    aios_server *s = aios_calloc(1, sizeof *s);
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    pthread_mutex_init(&s->live_mu, NULL);
    pthread_cond_init(&s->live_cv, NULL);
    s->be = be ? be : &s->none;
    s->max_body = opts->max_body ? opts->max_body : (size_t)8 << 20;
    int rc = srv_platform_init(s, opts, err);
    if (rc) {
        server_free(s);
        return rc;
    }
    rc = make_metrics(s);
    if (rc) {
        server_free(s);
        return aios_err_set(err, rc, "out of memory");
    }
    for (int i = 0; i < opts->n_api_keys; i++) {
        if (!opts->api_keys[i] || !*opts->api_keys[i]) {
            server_free(s);
            return aios_err_set(err, AIOS_EINVAL, "an API key cannot be empty");
        }
        if ((rc = add_key_hash(s, opts->api_keys[i], err))) {
            server_free(s);
            return rc;
        }
    }
    if (opts->data_dir && (rc = aios_server_keys_load(opts->data_dir, &s->keys, &s->nkeys, err))) {
        server_free(s);
        return rc;
    }
    if ((rc = srv_store_open(s, opts, err)) || (rc = srv_sources_copy(s, opts, err))) {
        server_free(s);
        return rc;
    }

    /* Resolve the listen address (numeric IPv4 or IPv6 only: no DNS at startup). */
    struct sockaddr_storage ss = {0};
    const char *host = opts->host && *opts->host ? opts->host : "127.0.0.1";
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)opts->port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)opts->port);
        flags |= MHD_USE_IPv6;
    } else {
        server_free(s);
        return aios_err_set(err, AIOS_EINVAL, "host '%s' is not a numeric IPv4 or IPv6 address",
                            host);
    }
    unsigned limit = opts->max_connections > 0 ? (unsigned)opts->max_connections : 256;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        server_free(s);
        return aios_err_set(err, AIOS_EIO, "cannot listen on %s port %d (in use, or not allowed)",
                            host, opts->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : opts->port;
    *out = s;
    return AIOS_OK;
}

int aios_server_port(const aios_server *s)
{
    return s->port;
}

int aios_server_key_count(const aios_server *s)
{
    return s->nkeys;
}

/* Waits up to ms for every generation to be freed; returns how many are left. */
static int wait_live(aios_server *s, int ms)
{
    pthread_mutex_lock(&s->live_mu);
    for (int waited = 0; s->live_gens > 0 && waited < ms; waited += 50) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->live_cv, &s->live_mu, &ts);
    }
    int left = s->live_gens;
    pthread_mutex_unlock(&s->live_mu);
    return left;
}

void aios_server_stop(aios_server *s)
{
    if (!s)
        return;
    /* 1. New requests get 503; generations in progress see the flag within
     *    one wait slice, cancel their jobs and, once the backend's on_done
     *    came, end their responses properly (an error event and [DONE]). */
    atomic_store(&s->stopping, true);
    wait_live(s, 5000);
    /* 2. Close every connection and join their threads. */
    MHD_stop_daemon(s->daemon);
    /* 3. Cancelled jobs still owe their on_done, which touches the server's
     *    metrics: wait for them. A backend that never answers leaks the
     *    server rather than letting it call into freed memory. */
    int left = wait_live(s, 10000);
    if (left) {
        AIOS_ERROR(SERVER_MOD,
                   "%d generation(s) did not finish 10 s after cancel; leaving the server "
                   "allocated",
                   left);
        return;
    }
    server_free(s);
}
