/*
 * server: the HTTP face of aios. An OpenAI-compatible API (/v1/models,
 * /v1/chat/completions, /v1/completions, /v1/embeddings, /tokenize,
 * /detokenize), /health, and /metrics in the Prometheus text format.
 * The platform API: the model registry under /api/v1/models (MLflow
 * shapes; registry_api.c), over the store opened on opts.data_dir.
 *
 * The server validates and authenticates; it never runs a model itself.
 * Inference is reached through struct aios_server_backend, a table of
 * function pointers the engine fills in (or a test fake, or one day a remote
 * provider). With no backend the server still runs: /v1/models lists nothing
 * and every request that names a model gets OpenAI's 404 "model_not_found".
 *
 * Layering: this header includes only base; the backend is called with plain
 * C structs and jansson values (jansson is part of base), so the engine does
 * not include this header's implementation details, only this contract.
 *
 * Threads: libmicrohttpd runs one thread per connection (see server.c for
 * why). Backend functions are therefore called from many threads at once and
 * must be thread-safe; the streaming callbacks (struct aios_server_sink) are
 * called from whatever thread the backend likes and never block.
 *
 * Wiring the engine (the whole job):
 *   1. implement the functions of struct aios_server_backend over the engine
 *      (start queues a sequence and returns; the scheduler thread calls
 *      sink->on_token per sampled token, on_choice_end, then on_done; cancel
 *      sets a flag the scheduler checks each step; stats reads its queue and
 *      KV cache numbers);
 *   2. fill it in open_backend() in src/cli/cmd_serve.c from the parsed
 *      aios_server_opts (models, parallel, n_ctx) and free it in
 *      close_backend(), which runs after aios_server_stop.
 * tests/unit/test_server_stream.c has a complete fake backend to copy from.
 */
#ifndef AIOS_SERVER_H
#define AIOS_SERVER_H

#include "base/base.h"

/* ---- parsed requests (what the backend receives) ----------------------- */

enum aios_server_req_kind {
    AIOS_SERVER_REQ_CHAT,       /* /v1/chat/completions: messages */
    AIOS_SERVER_REQ_COMPLETION, /* /v1/completions: prompt */
};

/* One chat message. Strings borrow from the request JSON, which lives until
 * the backend's on_done has returned. content is the text of the message:
 * OpenAI's array-of-parts form is joined here (text parts only; image and
 * audio parts are rejected by validation). */
struct aios_server_message {
    const char *role;         /* "system", "developer", "user", "assistant", "tool" */
    const char *content;      /* may be NULL for an assistant message with tool_calls */
    const char *name;         /* optional */
    const char *tool_call_id; /* role "tool" */
    json_t *tool_calls;       /* assistant: the array as sent, validated; borrowed */
};

enum aios_server_format {
    AIOS_SERVER_FORMAT_TEXT = 0,
    AIOS_SERVER_FORMAT_JSON_OBJECT, /* any JSON object */
    AIOS_SERVER_FORMAT_JSON_SCHEMA, /* JSON matching response_format.json_schema.schema */
};

#define AIOS_SERVER_MAX_STOP 4 /* OpenAI's limit on stop sequences */
#define AIOS_SERVER_MAX_N 16   /* choices per request */
#define AIOS_SERVER_MAX_TOP_LOGPROBS 20

/* Everything a generation request asked for, validated. The backend owns
 * the model-specific steps: applying the chat template (and the tools) to
 * messages, stop sequences, constrained output for response_format. Defaults follow
 * OpenAI: temperature 1, top_p 1, n 1, max_tokens -1 (= until the context
 * ends). Pointers borrow from the request (JSON or its arena) and stay valid
 * until on_done returns. */
struct aios_server_gen_request {
    enum aios_server_req_kind kind;
    const char *model;

    /* AIOS_SERVER_REQ_CHAT */
    const struct aios_server_message *messages;
    size_t n_messages;
    json_t *tools;       /* array of {"type":"function","function":{...}} or NULL; borrowed */
    json_t *tool_choice; /* "none"|"auto"|"required" string or object, or NULL; borrowed */
    bool parallel_tool_calls;
    enum aios_server_format format;
    json_t *json_schema; /* the schema object for AIOS_SERVER_FORMAT_JSON_SCHEMA; borrowed */

    /* AIOS_SERVER_REQ_COMPLETION: the prompt is text or token ids (one prompt
     * per request; arrays of prompts are rejected by validation). */
    const char *prompt;
    const int32_t *prompt_tokens;
    size_t n_prompt_tokens;
    bool echo; /* with logprobs, the backend sends the prompt's tokens first
                * (on_token, the first with logprob NAN); without, the
                * server echoes the prompt text itself */
    const char *suffix;

    /* sampling */
    int64_t max_tokens; /* -1: no limit but the context */
    double temperature, top_p;
    int64_t top_k; /* extension (vLLM, llama.cpp); -1 = off */
    double min_p;  /* extension; 0 = off */
    double presence_penalty, frequency_penalty, repetition_penalty;
    bool has_seed;
    int64_t seed;
    int n;
    const char *stop[AIOS_SERVER_MAX_STOP];
    int n_stop;
    bool ignore_eos;    /* extension */
    json_t *logit_bias; /* {"token id": bias in [-100, 100]} or NULL; borrowed */

    /* log probabilities: chat has logprobs (bool) + top_logprobs (0..20);
     * completions has logprobs (int 0..5); both land here. */
    bool logprobs;
    int top_logprobs;

    /* transport (the backend may ignore these; the server handles them) */
    bool stream;
    bool include_usage; /* stream_options.include_usage */
    const char *user;
};

/* ---- the backend contract --------------------------------------------- */

enum aios_server_model_caps {
    AIOS_SERVER_CAP_CHAT = 1 << 0,
    AIOS_SERVER_CAP_COMPLETION = 1 << 1,
    AIOS_SERVER_CAP_EMBEDDING = 1 << 2,
};

struct aios_server_model_info {
    char id[128];
    char owned_by[64];
    int64_t created; /* Unix seconds */
    int64_t n_ctx;   /* context length in tokens; 0 = unknown */
    unsigned caps;   /* AIOS_SERVER_CAP_* */
};

/* A piece of generated text for one choice. */
struct aios_server_token {
    int index; /* choice, 0..n-1 */
    const char *text;
    size_t len;
    int32_t id;
    double logprob; /* when the request asked for logprobs */
    int n_top;      /* number of entries in top[] */
    const struct aios_server_top_logprob {
        const char *text;
        int32_t id;
        double logprob;
    } * top;
};

/* Finish of one choice (one per choice, before on_done). finish_reason is
 * "stop", "length", "tool_calls" or "content_filter". tool_calls, when the
 * model called tools, is an array in OpenAI's shape (borrowed for the call). */
struct aios_server_choice_end {
    int index;
    const char *finish_reason;
    json_t *tool_calls;
};

/* The end of a whole request. status AIOS_OK, AIOS_ECANCELLED after cancel,
 * or an error with message (the server turns it into an error event). */
struct aios_server_done {
    int status;
    const char *message;
    int64_t prompt_tokens, completion_tokens;
    int64_t cached_tokens; /* prompt tokens served from the prefix cache */
};

/* How a backend streams results back. The functions must not block for long
 * (they append to a buffer and signal), and may be called from any thread.
 * Order: on_token / on_choice_end any number of times, then on_done exactly
 * once, also after cancel and after a failure past start. After on_done
 * returns the backend must not touch the sink or the request again. */
struct aios_server_sink {
    void *ud;
    /* Returns false when the client is gone: the backend should stop and
     * still call on_done (status AIOS_ECANCELLED). */
    bool (*on_token)(void *ud, const struct aios_server_token *tok);
    void (*on_choice_end)(void *ud, const struct aios_server_choice_end *end);
    void (*on_done)(void *ud, const struct aios_server_done *done);
};

/* Engine numbers for /metrics, read at each scrape. */
struct aios_server_stats {
    int64_t requests_running; /* sequences being decoded */
    int64_t requests_waiting; /* queued, not yet scheduled */
    double kv_cache_usage;    /* 0..1 */
    int64_t kv_cache_tokens;  /* tokens held in the KV cache */
    int64_t kv_cache_capacity;
};

typedef struct aios_server_job aios_server_job; /* backend-defined */

/* The backend. Any function pointer may be NULL: the server then answers as
 * if the capability were absent (no models, 404 for the model, 400 for an
 * unsupported operation). Errors: return an AIOS_E* code and a message in
 * err; the server maps AIOS_ENOTFOUND to 404 model_not_found, AIOS_ELIMIT to
 * 400 context_length_exceeded, AIOS_EINVAL/ERANGE to 400, AIOS_EBUSY to 503,
 * anything else to 500. */
struct aios_server_backend {
    void *ctx;
    /* Fills up to max entries; *n is the number filled. */
    int (*list_models)(void *ctx, struct aios_server_model_info *out, int max, int *n);
    /* Token ids of text (*tokens from aios_malloc; caller frees). */
    int (*tokenize)(void *ctx, const char *model, const char *text, size_t len, bool add_special,
                    int32_t **tokens, size_t *n_tokens, struct aios_err *err);
    /* Text of token ids (*text from aios_malloc, NUL-terminated). */
    int (*detokenize)(void *ctx, const char *model, const int32_t *tokens, size_t n_tokens,
                      char **text, size_t *len, struct aios_err *err);
    /* Starts a generation and returns at once. On AIOS_OK, *job is the
     * handle for cancel and the sink will get on_done exactly once; on an
     * error the sink is never called. */
    int (*start)(void *ctx, const struct aios_server_gen_request *req,
                 const struct aios_server_sink *sink, aios_server_job **job, struct aios_err *err);
    /* Asks a started job to stop soon: it only flags the job and must not
     * call into the sink itself (the server holds the sink's lock while it
     * calls cancel). Called at most once per job, from any thread, and
     * never after on_done has returned. */
    void (*cancel)(void *ctx, aios_server_job *job);
    /* Embeds n inputs; out is n * *dim floats (aios_malloc; caller frees). */
    int (*embed)(void *ctx, const char *model, const char *const *inputs, size_t n, float **out,
                 int *dim, int64_t *prompt_tokens, struct aios_err *err);
    void (*stats)(void *ctx, struct aios_server_stats *out);
};

/* ---- server lifecycle ------------------------------------------------- */

/* A model the command line asked for (--model NAME=FILE, or a registry
 * reference NAME[@VERSION|@ALIAS] resolved to its file), kept for the
 * engine to load. */
struct aios_server_model_spec {
    const char *name;
    const char *path;
    /* From the registry: the model, the version served and its file's
     * hash, shown in /v1/models. NULL / 0 for a plain file. */
    const char *registry_name;
    int64_t registry_version;
    const char *sha256;
};

struct aios_server_opts {
    const char *host; /* "127.0.0.1", "0.0.0.0", "::" ... */
    int port;         /* 0: pick a free port (see aios_server_port) */
    size_t max_body;  /* request bodies past this get 413 */
    int parallel;     /* sequences decoded at once (for the engine) */
    int64_t n_ctx;    /* context per sequence (for the engine); 0 = model's */
    const struct aios_server_model_spec *models;
    int n_models;
    const char *const *api_keys; /* plaintext keys from flags */
    int n_api_keys;
    const char *data_dir; /* stored (hashed) keys and the store (registry API); NULL: none */
    int max_connections;  /* 0: a default */
    /* Alarm intake (POST /api/v1/alarms): grouping labels of incidents
     * (NULL: "alertname,cluster,service") and how long an incident stays
     * open after its last alarm (0: 600 s). */
    const char *alarm_group_by;
    int64_t incident_window_s;
    /* Directories the registry API may register model files from
     * (colon-separated; NULL or "": data_dir/models). */
    const char *model_dirs;
};

typedef struct aios_server aios_server;

/* Creates and starts listening. backend may be NULL (no models) and must
 * outlive the server. */
int aios_server_start(const struct aios_server_opts *opts, const struct aios_server_backend *be,
                      aios_server **out, struct aios_err *err);
/* The port actually bound (useful with opts.port 0). */
int aios_server_port(const aios_server *s);
/* Number of API keys in force (flags + stored); 0 means no auth. */
int aios_server_key_count(const aios_server *s);
/* Ends streams in progress (their jobs are cancelled), closes connections
 * and frees the server. */
void aios_server_stop(aios_server *s);

/* The backend over local models (backend_engine.c): loads every model of
 * opts->models (decoders into engines with opts->parallel slots of
 * opts->n_ctx, embedding models into a context) and fills *be. With no
 * models *be is zeroed. *state goes to aios_server_engine_backend_close
 * after the server has stopped. */
int aios_server_engine_backend_open(const struct aios_server_opts *opts,
                                    struct aios_server_backend *be, void **state,
                                    struct aios_err *err);
void aios_server_engine_backend_close(void *state);

/* ---- API keys at rest ------------------------------------------------- */

/* Stored keys are SHA-256 hashes, one per line ("<64 hex> [label]"), in
 * data_dir/api-keys. Kept behind these two functions so that the store can
 * take them over later. */
int aios_server_keys_add(const char *data_dir, const char *key, const char *label,
                         struct aios_err *err);
/* Appends the stored hashes to *hashes (aios_realloc'd, 32 bytes each). A
 * missing file is no keys. */
int aios_server_keys_load(const char *data_dir, uint8_t (**hashes)[32], int *n,
                          struct aios_err *err);
/* Constant-time check of a presented key against n hashes: the time does not
 * depend on which (if any) matched nor on where the bytes differ. */
bool aios_server_keys_match(const uint8_t (*hashes)[32], int n, const char *key, size_t len);

/* ---- request validation (exposed for tests and other front ends) ------ */

/* An OpenAI-shaped error: {"error":{"message","type","param","code"}}. */
struct aios_server_apierr {
    int http;         /* 400, 401, 404, 405, 413, 500, 503 ... */
    const char *type; /* "invalid_request_error", "server_error", ... */
    char param[128];  /* "messages[1].content", or "" for null */
    const char *code; /* "invalid_type", "model_not_found", ... or NULL */
    char message[512];
};

/* Sets e and returns e->http, so handlers can `return apierr_set(...)`. */
int aios_server_apierr_set(struct aios_server_apierr *e, int http, const char *type,
                           const char *param, const char *code, const char *fmt, ...)
    AIOS_PRINTF(6, 7);
/* The error as a JSON body (new string, aios_free). */
char *aios_server_apierr_json(const struct aios_server_apierr *e);

/* Validates a /v1/chat/completions or /v1/completions body into req. Arrays
 * (messages, prompt tokens) are allocated from arena; strings borrow from
 * body. Returns 0, or the HTTP status with e filled (param names the bad
 * field). */
int aios_server_gen_request_parse(enum aios_server_req_kind kind, json_t *body, aios_arena *arena,
                                  struct aios_server_gen_request *req,
                                  struct aios_server_apierr *e);

/* /v1/embeddings body: input is a string or an array of strings (token-id
 * inputs are rejected). */
struct aios_server_embed_request {
    const char *model;
    const char **inputs;
    size_t n_inputs;
    bool base64;        /* encoding_format "base64" */
    int64_t dimensions; /* 0 = model's */
};
int aios_server_embed_request_parse(json_t *body, aios_arena *arena,
                                    struct aios_server_embed_request *req,
                                    struct aios_server_apierr *e);

/* ---- where the registry API may read model files (model_dirs.c) -------- */

/* The directories POST /api/v1/models may register files from, canonical
 * (realpath'd) and without duplicates; joined is them with ':' for
 * messages. */
struct aios_server_model_dirs {
    char **dirs;
    int n;
    char *joined;
};
/* list is the setting model_dirs (colon-separated); NULL or "" means
 * data_dir/models, created when missing. Every entry must be an existing
 * directory (AIOS_ENOTFOUND, AIOS_EINVAL naming it otherwise). On failure d
 * holds nothing. */
int aios_server_model_dirs_init(struct aios_server_model_dirs *d, const char *list,
                                const char *data_dir, struct aios_err *err);
void aios_server_model_dirs_free(struct aios_server_model_dirs *d);
/* Whether a canonical path lies strictly beneath one of the directories
 * (whole components: /models2/x is not beneath /models). */
bool aios_server_model_dirs_contain(const struct aios_server_model_dirs *d, const char *real);
/* Checks a path a client asked to register: 0 with real (size at least
 * PATH_MAX) set to its canonical path when it is an existing regular file
 * beneath one of the directories. Otherwise e is set (param "path") and its
 * status returned: 403 PERMISSION_DENIED for anything outside, existing or
 * not (nothing outside is looked at beyond realpath), 400 for a relative
 * path, a file inside that was not found, or something inside that is not
 * a regular file. */
int aios_server_model_path_check(const struct aios_server_model_dirs *d, const char *path,
                                 char *real, size_t size, struct aios_server_apierr *e);
/* Sets e to the 403 for path and returns 403. */
int aios_server_model_path_deny(const struct aios_server_model_dirs *d, const char *path,
                                struct aios_server_apierr *e);

/* ---- metrics registry --------------------------------------------------- */

/* Counters, gauges and histograms with labels, rendered in the Prometheus
 * text exposition format (version 0.0.4). Thread-safe. Metric and label
 * names are code constants; label values may come from input and are
 * escaped. Each metric holds at most AIOS_METRICS_MAX_SERIES label sets;
 * updates past that are dropped (counted in aios_metrics_dropped_total). */
#define AIOS_METRICS_MAX_LABELS 4
#define AIOS_METRICS_MAX_SERIES 512
#define AIOS_METRICS_MAX_BUCKETS 32

typedef struct aios_metrics aios_metrics;
struct aios_metric;

aios_metrics *aios_metrics_create(void);
void aios_metrics_destroy(aios_metrics *r);
/* Registers a metric. labels is a comma-separated list of label names ("" or
 * NULL for none). Histograms take ascending finite bucket bounds (+Inf is
 * implied). Returns NULL on a bad name, a duplicate, or out of memory. The
 * metric belongs to the registry. */
struct aios_metric *aios_metrics_counter(aios_metrics *r, const char *name, const char *help,
                                         const char *labels);
struct aios_metric *aios_metrics_gauge(aios_metrics *r, const char *name, const char *help,
                                       const char *labels);
struct aios_metric *aios_metrics_histogram(aios_metrics *r, const char *name, const char *help,
                                           const char *labels, const double *bounds, int n);
/* Label values in the order the labels were declared (NULL when none).
 * Counters refuse negative increments. NULL metric is a no-op. */
void aios_metric_add(struct aios_metric *m, const char *const *values, double v);
void aios_metric_set(struct aios_metric *m, const char *const *values, double v);
void aios_metric_observe(struct aios_metric *m, const char *const *values, double v);
/* Current value of a counter/gauge series (0 when absent); for tests. */
double aios_metric_value(struct aios_metric *m, const char *const *values);
/* Appends the exposition text of every metric to out. */
int aios_metrics_render(aios_metrics *r, struct aios_buf *out);

#endif
