/*
 * Private to src/server: the server object, the per-request state the HTTP
 * layer keeps, and the functions the files of the module share
 * (server.c: HTTP and routing; openai.c: endpoint handlers; gen.c:
 * generation, SSE streaming; validate.c: request parsing; metrics.c;
 * auth.c).
 */
#ifndef AIOS_SERVER_INT_H
#define AIOS_SERVER_INT_H

#include "server/server.h"
#include "store/store.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#define SERVER_MOD "server"
#define MAX_MODELS 64

struct aios_server {
    struct MHD_Daemon *daemon;
    const struct aios_server_backend *be; /* never NULL: points at `none` when absent */
    struct aios_server_backend none;
    size_t max_body;
    int port;
    uint8_t (*keys)[32];
    int nkeys;
    atomic_bool stopping;
    /* Generations not yet freed (the backend may still call their sinks);
     * stop waits for this to reach 0 before freeing the server. */
    pthread_mutex_t live_mu;
    pthread_cond_t live_cv;
    int live_gens;

    aios_metrics *metrics;
    struct aios_metric *m_requests;      /* {method,path,status} */
    struct aios_metric *m_duration;      /* {path} */
    struct aios_metric *m_prompt_tokens; /* {model} */
    struct aios_metric *m_gen_tokens;    /* {model} */
    struct aios_metric *m_ttft;          /* {model} */
    struct aios_metric *m_itl;           /* {model} */
    struct aios_metric *m_e2e;           /* {model} */
    struct aios_metric *m_finished;      /* {model,reason} */
    struct aios_metric *m_inflight;      /* generation requests the HTTP side holds */
    struct aios_metric *m_running, *m_waiting, *m_kv_usage, *m_kv_tokens, *m_kv_capacity;
    struct aios_metric *m_mem;

    /* The platform store (registry API), opened on opts->data_dir; NULL
     * without one. A store handle serves one thread at a time, so the
     * connection threads share it under store_mu. */
    aios_store *store;
    pthread_mutex_t store_mu;
    bool store_mu_init;
    /* Where POST /api/v1/models may read files (set with the store). */
    struct aios_server_model_dirs model_dirs;
    /* Served models that came from the registry (for /v1/models). */
    struct srv_model_src {
        char *id, *name, *sha256;
        int64_t version;
    } * srcs;
    int nsrcs;
    /* Alarm intake and checks (platform.c), over the store above. */
    char *data_dir; /* for DATA_DIR/checks; NULL without one */
    char *alarm_group_by;
    int64_t incident_window_ms;
};

struct req;
typedef enum MHD_Result (*route_fn)(struct req *r, json_t *body);

enum route_flags {
    ROUTE_PUBLIC = 1 << 0, /* no API key needed */
    ROUTE_BODY = 1 << 1,   /* JSON body expected */
    ROUTE_PREFIX = 1 << 2, /* path is a prefix ("/v1/models/" + id) */
};

struct route {
    const char *method;
    const char *path;
    route_fn fn;
    unsigned flags;
};

/* One HTTP request, from the first header callback to MHD's completion
 * notice. Owned by the connection's thread. */
struct req {
    aios_server *srv;
    struct MHD_Connection *conn;
    const struct route *route;
    const char *url; /* MHD's, valid for the request */
    const char *method_label;
    struct aios_buf body;
    size_t received; /* body bytes seen, kept or not */
    bool too_large;
    bool responded;
    int status;
    uint64_t t0;
};

/* ---- server.c: responses ---- */
enum MHD_Result srv_respond_json(struct req *r, int status, json_t *v); /* steals v */
enum MHD_Result srv_respond_error(struct req *r, const struct aios_server_apierr *e);
enum MHD_Result srv_respond_text(struct req *r, int status, const char *ctype, const char *text,
                                 size_t len);
/* Queues a streaming response; MHD owns it (free_cb runs when it is done). */
enum MHD_Result srv_respond_stream(struct req *r, MHD_ContentReaderCallback reader, void *cls,
                                   MHD_ContentReaderFreeCallback free_cb);
/* True when the client closed its side (checked without blocking). */
bool srv_client_gone(struct MHD_Connection *c);

/* ---- openai.c: handlers ---- */
enum MHD_Result h_health(struct req *r, json_t *body);
enum MHD_Result h_metrics(struct req *r, json_t *body);
enum MHD_Result h_models(struct req *r, json_t *body);
enum MHD_Result h_model_get(struct req *r, json_t *body);
enum MHD_Result h_chat(struct req *r, json_t *body);
enum MHD_Result h_completions(struct req *r, json_t *body);
enum MHD_Result h_embeddings(struct req *r, json_t *body);
enum MHD_Result h_tokenize(struct req *r, json_t *body);
enum MHD_Result h_detokenize(struct req *r, json_t *body);
/* Finds model id among the backend's models; false (and e set to OpenAI's
 * 404) when absent. */
bool srv_find_model(aios_server *s, const char *id, struct aios_server_model_info *out,
                    struct aios_server_apierr *e);
/* Maps a backend status to an OpenAI error; param names the field that
 * carried the input (prompt or messages) for ELIMIT. */
int srv_backend_error(struct aios_server_apierr *e, int status, const char *msg, const char *param);

/* ---- registry_api.c: /api/v1/models ---- */
enum MHD_Result h_reg_list(struct req *r, json_t *body);
enum MHD_Result h_reg_create(struct req *r, json_t *body);
enum MHD_Result h_reg_get(struct req *r, json_t *body);
enum MHD_Result h_reg_post(struct req *r, json_t *body);
enum MHD_Result h_reg_delete(struct req *r, json_t *body);
/* Opens the store under opts->data_dir (none when NULL/empty) and resolves
 * opts->model_dirs with it; close is safe after a failed or skipped open. */
int srv_store_open(aios_server *s, const struct aios_server_opts *opts, struct aios_err *err);
void srv_store_close(aios_server *s);
/* Keeps what /v1/models shows about registry-backed models. */
int srv_sources_copy(aios_server *s, const struct aios_server_opts *opts, struct aios_err *err);
void srv_sources_free(aios_server *s);
/* Adds "registry": {name, version, sha256} to a /v1/models entry when id
 * was served from the registry. */
void srv_registry_annotate(aios_server *s, json_t *model, const char *id);
/* ---- platform.c: ops handlers ---- */
enum MHD_Result h_alarms_post(struct req *r, json_t *body);
enum MHD_Result h_alarms_list(struct req *r, json_t *body);
enum MHD_Result h_incidents_list(struct req *r, json_t *body);
enum MHD_Result h_incident_get(struct req *r, json_t *body);
enum MHD_Result h_checks_list(struct req *r, json_t *body);
/* Copies what the ops handlers need from opts (they use the store that
 * srv_store_open opened); srv_platform_free releases it. */
int srv_platform_init(aios_server *s, const struct aios_server_opts *opts, struct aios_err *err);
void srv_platform_free(aios_server *s);

/* ---- gen.c ---- */
/* Runs a validated generation (takes ownership of body and arena). */
enum MHD_Result gen_run(struct req *r, json_t *body, aios_arena *arena,
                        const struct aios_server_gen_request *greq,
                        const struct aios_server_model_info *model);

/* A random id with prefix ("chatcmpl-...") into out (>= 48 bytes). */
void srv_make_id(const char *prefix, char *out, size_t size);

/* "an object", "a string", "a decimal" ...: a JSON value's type for error
 * messages (validate.c). */
const char *srv_json_type(const json_t *v);

#endif
