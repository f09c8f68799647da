/*
 * The engine on a tiny fixture model: batching does not change greedy
 * results, cancel frees a slot, stop strings, max_tokens, full context,
 * prefix reuse, UTF-8 validity of everything streamed, bad requests.
 */
#include "engine/engine.h"
#include "test.h"

#include <pthread.h>
#include <unistd.h>

struct out {
    char text[8192];
    size_t len;
    int32_t toks[512];
    int ntok;
    struct aios_gen_event done;
    bool finished;
    int cancel_after; /* return 1 after this many tokens (0 = never) */
    bool utf8_ok;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static bool valid_utf8(const char *s, size_t n)
{
    char buf[4 * 8192];
    if (n > 8192)
        return false;
    size_t m = aios_utf8_sanitize(s, n, buf);
    return m == n && memcmp(buf, s, n) == 0;
}

static int cb(void *ud, const struct aios_gen_event *ev)
{
    struct out *o = ud;
    pthread_mutex_lock(&o->mu);
    if (ev->kind == AIOS_GEN_TOKEN) {
        if (!valid_utf8(ev->text, ev->len))
            o->utf8_ok = false;
        if (o->len + ev->len < sizeof o->text) {
            memcpy(o->text + o->len, ev->text, ev->len);
            o->len += ev->len;
        }
        if (ev->token >= 0 && o->ntok < 512)
            o->toks[o->ntok++] = ev->token;
    } else if (ev->kind == AIOS_GEN_DONE) {
        o->done = *ev;
        o->finished = true;
        pthread_cond_broadcast(&o->cv);
    }
    int rc = o->cancel_after && o->ntok >= o->cancel_after;
    pthread_mutex_unlock(&o->mu);
    return rc;
}

static void out_init(struct out *o)
{
    memset(o, 0, sizeof *o);
    o->utf8_ok = true;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
}

static void out_wait(struct out *o)
{
    pthread_mutex_lock(&o->mu);
    while (!o->finished)
        pthread_cond_wait(&o->cv, &o->mu);
    pthread_mutex_unlock(&o->mu);
}

static const int32_t prompt[] = {1, 167, 937, 905, 26, 707, 943, 425};

static struct aios_gen_request greedy(struct out *o, int max_tokens)
{
    struct aios_gen_request r = {.prompt = prompt,
                                 .n_prompt = 8,
                                 .max_tokens = max_tokens,
                                 .ignore_eos = true,
                                 .cb = cb,
                                 .ud = o};
    aios_sampling_defaults(&r.sampling);
    r.sampling.temperature = 0;
    return r;
}

static aios_engine *open_engine(const char *fix, const char *file, int slots, int n_ctx)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", fix, file);
    struct aios_engine_params p = {
        .model_path = path, .n_ctx = n_ctx, .n_parallel = slots, .n_threads = 2, .kv_f32 = true};
    aios_engine *e = NULL;
    struct aios_err err;
    if (aios_engine_create(&p, &e, &err))
        fprintf(stderr, "engine: %s\n", err.msg);
    return e;
}

static void test_batching_matches_single(const char *fix)
{
    aios_engine *e = open_engine(fix, "llama-F32.gguf", 3, 256);
    CHECK(e != NULL);
    if (!e)
        return;
    static struct out single, many[7];
    out_init(&single);
    struct aios_gen_request r = greedy(&single, 24);
    struct aios_err err;
    CHECK_EQ_INT(aios_engine_run(e, &r, &err), AIOS_OK);
    CHECK_EQ_INT(single.done.finish, AIOS_FINISH_LENGTH);
    CHECK_EQ_INT(single.ntok, 24);
    /* Seven at once on three slots: queued, batched, each the same tokens. */
    for (int i = 0; i < 7; i++) {
        out_init(&many[i]);
        struct aios_gen_request ri = greedy(&many[i], 24);
        CHECK_EQ_INT(aios_engine_submit(e, &ri, NULL, &err), AIOS_OK);
    }
    for (int i = 0; i < 7; i++) {
        out_wait(&many[i]);
        CHECK_EQ_INT(many[i].ntok, 24);
        CHECK_MSG(memcmp(many[i].toks, single.toks, sizeof(int32_t) * 24) == 0,
                  "request %d: batched greedy tokens differ from the single run", i);
        CHECK(many[i].utf8_ok);
    }
    /* The same prompt again is served from the prefix cache. */
    CHECK(many[6].done.n_cached > 0);
    struct aios_engine_stats st;
    aios_engine_stats(e, &st);
    CHECK_EQ_INT(st.running, 0);
    CHECK_EQ_INT(st.queued, 0);
    CHECK(st.generated_tokens >= 8 * 24);
    aios_engine_destroy(e);
}

static void test_cancel_stop_limits(const char *fix)
{
    aios_engine *e = open_engine(fix, "qwen2-F32.gguf", 1, 64);
    CHECK(e != NULL);
    if (!e)
        return;
    struct aios_err err;
    static struct out a, b, c, d;
    /* Cancel from the callback after 3 tokens: CANCELLED, slot free again. */
    out_init(&a);
    a.cancel_after = 3;
    struct aios_gen_request r = greedy(&a, 40);
    CHECK_EQ_INT(aios_engine_run(e, &r, &err), AIOS_OK);
    CHECK_EQ_INT(a.done.finish, AIOS_FINISH_CANCELLED);
    CHECK(a.ntok <= 4);
    /* The full greedy text, then a stop string taken from its middle. */
    out_init(&b);
    r = greedy(&b, 20);
    CHECK_EQ_INT(aios_engine_run(e, &r, &err), AIOS_OK);
    CHECK_EQ_INT(b.done.finish, AIOS_FINISH_LENGTH);
    if (b.len > 6) {
        char stop[4];
        memcpy(stop, b.text + b.len / 2, 3);
        stop[3] = 0;
        const char *stops[] = {stop};
        out_init(&c);
        r = greedy(&c, 20);
        r.stop = stops;
        r.n_stop = 1;
        CHECK_EQ_INT(aios_engine_run(e, &r, &err), AIOS_OK);
        CHECK_EQ_INT(c.done.finish, AIOS_FINISH_STOP);
        const char *at = memmem(b.text, b.len, stop, 3);
        CHECK_MSG(at && c.len == (size_t)(at - b.text) && memcmp(c.text, b.text, c.len) == 0,
                  "stop: got %zu bytes, want the %td before the stop string", c.len,
                  at ? at - b.text : -1);
    }
    /* The context (64) fills before max_tokens (100): LENGTH at the edge. */
    out_init(&d);
    r = greedy(&d, 100);
    CHECK_EQ_INT(aios_engine_run(e, &r, &err), AIOS_OK);
    CHECK_EQ_INT(d.done.finish, AIOS_FINISH_LENGTH);
    CHECK(d.ntok >= 50 && d.ntok <= 64 - 8 + 1);
    /* Bad requests are refused at submit. */
    int32_t big[80];
    for (int i = 0; i < 80; i++)
        big[i] = 5;
    r = greedy(&d, 4);
    r.prompt = big;
    r.n_prompt = 80;
    CHECK_EQ_INT(aios_engine_submit(e, &r, NULL, &err), AIOS_ELIMIT);
    int32_t bad[] = {1, 99999};
    r.prompt = bad;
    r.n_prompt = 2;
    CHECK_EQ_INT(aios_engine_submit(e, &r, NULL, &err), AIOS_EINVAL);
    r.n_prompt = 0;
    CHECK_EQ_INT(aios_engine_submit(e, &r, NULL, &err), AIOS_EINVAL);
    r = greedy(&d, 4);
    r.top_logprobs = 99;
    CHECK_EQ_INT(aios_engine_submit(e, &r, NULL, &err), AIOS_ERANGE);
    aios_engine_destroy(e);
}

static void test_sampled_utf8(const char *fix)
{
    /* Sampling at a high temperature from a random model emits byte tokens
     * that do not form UTF-8; the engine must still hand out valid text. */
    aios_engine *e = open_engine(fix, "llama-Q4_0.gguf", 2, 256);
    CHECK(e != NULL);
    if (!e)
        return;
    static struct out o;
    out_init(&o);
    struct aios_gen_request r = greedy(&o, 200);
    r.sampling.temperature = 2.0f;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.min_p = 0;
    r.sampling.seed = 11;
    struct aios_err err;
    CHECK_EQ_INT(aios_engine_run(e, &r, &err), AIOS_OK);
    CHECK(o.utf8_ok);
    CHECK(valid_utf8(o.text, o.len));
    CHECK_EQ_INT(o.ntok, 200);
    aios_engine_destroy(e);
}

int main(void)
{
    const char *fix = test_fixtures();
    test_batching_matches_single(fix);
    fprintf(stderr, "ok   batching\n");
    test_cancel_stop_limits(fix);
    fprintf(stderr, "ok   cancel/stop/limits\n");
    test_sampled_utf8(fix);
    TEST_EXIT();
}
