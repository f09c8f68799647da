/*
 * engine: serves generation requests from many clients on one model.
 *
 * One scheduler thread owns the model context. Each step it builds one batch
 * from every active sequence: one token for each sequence that is
 * generating, plus prompt chunks of sequences still reading their prompt (at
 * most n_batch tokens in all, and prompt chunks capped so that generating
 * streams keep moving while long prompts are read). New requests join at the
 * next step; a cancelled request frees its slot at once.
 *
 * Prefix cache: a slot keeps the tokens of its last request in its KV cache
 * after it finishes. A new request goes to the free slot whose cached tokens
 * share the longest prefix with its prompt, or has that prefix copied in
 * from another slot, and only the rest of the prompt is computed.
 *
 * Text: tokens become text through the vocabulary; text that could be the
 * start of a stop string, and bytes that end inside a UTF-8 character, are
 * held back until they are decided; invalid UTF-8 is replaced by U+FFFD, so
 * every piece handed out is valid UTF-8.
 *
 * Callbacks run on the scheduler thread and must not block for long.
 */
#ifndef AIOS_ENGINE_H
#define AIOS_ENGINE_H

#include "base/base.h"
#include "llm/llm.h"

typedef struct aios_engine aios_engine;

struct aios_engine_params {
    const char *model_path;
    int n_ctx;      /* positions per slot; 0 = min(training context, 4096) */
    int n_parallel; /* slots (concurrent sequences); 0 = 4 */
    int n_batch;    /* tokens per forward pass; 0 = 512 */
    int n_threads;  /* 0 = CPU count */
    bool kv_f32;
};

/* Loads the model and its vocabulary and starts the scheduler. */
int aios_engine_create(const struct aios_engine_params *p, aios_engine **out, struct aios_err *err);
/* Cancels everything in flight (callbacks see AIOS_FINISH_CANCELLED) and stops. */
void aios_engine_destroy(aios_engine *e);
const aios_model *aios_engine_model(const aios_engine *e);
const aios_llm_vocab *aios_engine_vocab(const aios_engine *e);
int aios_engine_n_ctx(const aios_engine *e);

enum aios_finish {
    AIOS_FINISH_NONE = 0,
    AIOS_FINISH_STOP,      /* end-of-generation token or stop string */
    AIOS_FINISH_LENGTH,    /* max_tokens or the context is full */
    AIOS_FINISH_CANCELLED, /* the callback asked, or the engine stopped */
    AIOS_FINISH_ERROR,
};
const char *aios_finish_str(enum aios_finish f); /* "stop", "length", ... */

#define AIOS_ENGINE_MAX_TOP_LOGPROBS 20

struct aios_top_logprob {
    int32_t token;
    float logprob;
};

struct aios_gen_event {
    enum { AIOS_GEN_TOKEN, AIOS_GEN_PROMPT_TOKEN, AIOS_GEN_DONE } kind;
    /* TOKEN: text released by this token (may be empty when held back or for
     * control tokens), the token and, if asked, its log-probability and the
     * top alternatives. PROMPT_TOKEN (echo with logprobs): the same for a
     * prompt token; the first has no logprob (NAN). */
    const char *text;
    size_t len;
    int32_t token;
    float logprob;
    const struct aios_top_logprob *top;
    int n_top;
    /* DONE: why, the counts and the timings. */
    enum aios_finish finish;
    const char *error;
    int n_prompt, n_cached, n_gen;
    double t_queue_s, t_prompt_s, t_gen_s; /* waiting, reading the prompt, generating */
};

/* Return non-zero to cancel the request (a client that went away). */
typedef int (*aios_gen_cb)(void *ud, const struct aios_gen_event *ev);

struct aios_gen_request {
    const int32_t *prompt; /* copied at submit */
    int n_prompt;
    struct aios_sampling sampling;
    int max_tokens;          /* <= 0: until the context is full */
    const char *const *stop; /* copied at submit */
    int n_stop;
    bool logprobs;
    int top_logprobs;     /* 0..AIOS_ENGINE_MAX_TOP_LOGPROBS */
    bool prompt_logprobs; /* report PROMPT_TOKEN events (completions echo) */
    bool ignore_eos;
    /* Constrained output: every token's text must keep the text a prefix of
     * a valid JSON document (llm_guide.h); end-of-generation is allowed only
     * once the document is complete, and generation stops when it is
     * finished. The engine takes ownership when submit succeeds. */
    aios_json_guide *guide;
    aios_gen_cb cb;
    void *ud;
};

/* Queues a request; the callback will be called with DONE exactly once
 * (unless submit fails). *id identifies it for aios_engine_cancel.
 * AIOS_EINVAL for a prompt that does not fit the context or bad ids. */
int aios_engine_submit(aios_engine *e, const struct aios_gen_request *r, uint64_t *id,
                       struct aios_err *err);
void aios_engine_cancel(aios_engine *e, uint64_t id);

struct aios_engine_stats {
    int queued, running, slots;
    int64_t kv_used, kv_total; /* positions */
    uint64_t prompt_tokens, generated_tokens, cached_tokens, steps;
};
void aios_engine_stats(aios_engine *e, struct aios_engine_stats *out);

/* Runs one request to completion on the calling thread's behalf (submits and
 * waits). The callback still runs on the scheduler thread. */
int aios_engine_run(aios_engine *e, const struct aios_gen_request *r, struct aios_err *err);

#endif
