/*
 * bench/serve: serving throughput and latency the way vLLM's serving
 * benchmark measures them, against `aios serve` (started here) or any
 * OpenAI-compatible server (--url).
 *
 *   build/bench/serve [--url URL --model NAME] [--clients 1,8,32] [--requests N]
 *                     [--prompt-tokens 120] [--max-tokens 128] [--threads 2]
 *
 * For each client count C, C threads each send streaming /v1/completions
 * requests (prompts of about --prompt-tokens tokens, --max-tokens output,
 * ignore_eos) until --requests (default max(2C, 8)) have finished. Per
 * request: TTFT = time to the first streamed chunk; TPOT = (latency - TTFT)
 * / (output tokens - 1); the longest silence between two chunks. Printed:
 * requests/s, output tokens/s, TTFT and TPOT median and p99, and the
 * longest silence. Without --url the server runs a synthetic Llama-3.2-1B
 * Q4_0 model (written once by bench/generate's rules to build/bench-models).
 */
#include "llm/llm.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct result {
    double ttft, latency, max_gap;
    int chunks;
    bool ok;
    long code;
    int curl_rc;
};

struct shared {
    const char *url, *model;
    int prompt_words, max_tokens;
    int total, next;
    pthread_mutex_t lock;
    struct result *res;
};

struct stream_state {
    double t0, first, last, max_gap;
    int chunks;
    size_t partial;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct stream_state *s = ud;
    size_t len = sz * n;
    double now = aios_time_s();
    /* Count SSE events carrying text ("data: {" lines). */
    for (size_t i = 0; i + 6 < len; i++) {
        if (memcmp(p + i, "data: {", 7) == 0) {
            if (!s->first)
                s->first = now;
            if (s->last && now - s->last > s->max_gap)
                s->max_gap = now - s->last;
            s->last = now;
            s->chunks++;
        }
    }
    return len;
}

/* A JSON POST of body to url whose answer goes to write(ud). */
static void post_setup(CURL *c, const char *url, struct curl_slist *hdr, const char *body,
                       size_t (*write)(char *, size_t, size_t, void *), void *ud, long timeout_s)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ud);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
}

/* The JSON of request i: a prompt of `words` words, distinct per request
 * so that no prefix is shared beyond "request". */
static void request_body(struct aios_buf *body, const char *model, bool stream, int max_tokens,
                         int i, int words)
{
    aios_buf_init(body, 0);
    aios_buf_printf(body,
                    "{\"model\":\"%s\",\"stream\":%s,\"max_tokens\":%d,\"ignore_eos\":true,"
                    "\"temperature\":0,\"prompt\":\"request %d:",
                    model, stream ? "true" : "false", max_tokens, i);
    for (int w = 0; w < words; w++)
        aios_buf_printf(body, " alarm%d", (i * 7 + w) % 97);
    aios_buf_puts(body, "\"}");
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    aios_buf_append(ud, p, sz * n);
    return sz * n;
}

/* usage.prompt_tokens of a one-token, non-streamed request with `words`
 * words (the server's own count, so any OpenAI-compatible server will do);
 * -1 when the answer has none. */
static int prompt_tokens_of(const char *url, const char *model, int words)
{
    CURL *c = curl_easy_init();
    char u[600];
    snprintf(u, sizeof u, "%s/v1/completions", url);
    struct aios_buf body, out;
    request_body(&body, model, false, 1, 0, words);
    aios_buf_init(&out, 1 << 20);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    post_setup(c, u, hdr, body.data, on_body, &out, 120);
    int n = -1;
    if (curl_easy_perform(c) == CURLE_OK && out.data) {
        const char *k = strstr(out.data, "\"prompt_tokens\":");
        if (k)
            n = atoi(k + strlen("\"prompt_tokens\":"));
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    aios_buf_free(&body);
    aios_buf_free(&out);
    return n;
}

static void *client(void *arg)
{
    struct shared *sh = arg;
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s/v1/completions", sh->url);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        int i = sh->next < sh->total ? sh->next++ : -1;
        pthread_mutex_unlock(&sh->lock);
        if (i < 0)
            break;
        struct aios_buf body;
        request_body(&body, sh->model, true, sh->max_tokens, i, sh->prompt_words);
        struct stream_state st = {.t0 = aios_time_s()};
        post_setup(c, url, hdr, body.data, on_data, &st, 600);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        double end = aios_time_s();
        struct result *r = &sh->res[i];
        r->ok = rc == CURLE_OK && code == 200 && st.first > 0;
        r->code = code;
        r->curl_rc = (int)rc;
        r->ttft = st.first - st.t0;
        r->latency = end - st.t0;
        r->max_gap = st.max_gap;
        r->chunks =
            st.chunks > 0 ? st.chunks - 1 : 0; /* the last chunk only carries finish_reason */
        aios_buf_free(&body);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return n ? v[i] : 0;
}

static pid_t start_server(const char *model_path, int threads, int parallel, char *url, size_t size)
{
    int port = 18000 + (int)(getpid() % 1000);
    snprintf(url, size, "http://127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        char p[16], t[16], par[16], m[4200];
        snprintf(p, sizeof p, "%d", port);
        snprintf(t, sizeof t, "%d", threads);
        snprintf(par, sizeof par, "%d", parallel);
        snprintf(m, sizeof m, "bench=%s", model_path);
        freopen("/dev/null", "w", stderr);
        execl("build/aios", "aios", "serve", "--port", p, "--threads", t, "--parallel", par,
              "--ctx", "1024", "--model", m, (char *)NULL);
        _exit(127);
    }
    /* Wait for /health. */
    CURL *c = curl_easy_init();
    char h[600];
    snprintf(h, sizeof h, "%s/health", url);
    for (int i = 0; i < 600; i++) {
        curl_easy_setopt(c, CURLOPT_URL, h);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        if (curl_easy_perform(c) == CURLE_OK)
            break;
        usleep(100000);
    }
    curl_easy_cleanup(c);
    return pid;
}

int main(int argc, char **argv)
{
    const char *url_arg = NULL, *model = "bench", *clients_arg = "1,8,32";
    int requests = 0, prompt_tokens = 120, max_tokens = 128, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url_arg = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
            clients_arg = argv[++i];
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
            requests = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--prompt-tokens") && i + 1 < argc)
            prompt_tokens = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--max-tokens") && i + 1 < argc)
            max_tokens = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--url URL --model NAME] [--clients 1,8,32] [--requests N]\n"
                    "       [--prompt-tokens N] [--max-tokens N] [--threads N]\n",
                    argv[0]);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    char url[512];
    pid_t server = 0;
    int max_clients = 0;
    char list[128];
    aios_strlcpy(list, clients_arg, sizeof list);
    for (char *s = NULL, *t = strtok_r(list, ",", &s); t; t = strtok_r(NULL, ",", &s))
        if (atoi(t) > max_clients)
            max_clients = atoi(t);
    if (url_arg) {
        aios_strlcpy(url, url_arg, sizeof url);
    } else {
        const char *path = "build/bench-models/llama-1b-Q4_0.gguf";
        struct stat st;
        if (stat(path, &st) != 0) {
            char vocab[4096];
            const char *fx = getenv("AIOS_FIXTURES");
            snprintf(vocab, sizeof vocab, "%s/tokenizer/ggml-vocab-llama-bpe.gguf",
                     fx ? fx : AIOS_SOURCE_DIR "/../shared/fixtures");
            struct aios_err err;
            aios_mkdir_p("build/bench-models", &err);
            fprintf(stderr, "writing %s ...\n", path);
            if (aios_llm_synth("1b", "Q4_0", vocab, 1, threads, path, false, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
        }
        server = start_server(path, threads, max_clients, url, sizeof url);
    }
    /* Words per prompt: calibrated on the server's own token count (about
     * two tokens per " alarmN" word with the Llama 3 vocabulary). */
    int words = prompt_tokens / 2, got = -1;
    for (int it = 0; it < 3; it++) {
        got = prompt_tokens_of(url, model, words);
        if (got <= 0 || abs(got - prompt_tokens) <= 2)
            break;
        words = words * prompt_tokens / got > 1 ? words * prompt_tokens / got : 1;
    }
    if (got > 0)
        printf("prompts: %d words, %d tokens (request 0; the others differ by a token or two)\n",
               words, prompt_tokens_of(url, model, words));
    else
        printf("prompts: %d words (the server reports no usage; token count unknown)\n", words);
    printf("%-8s %6s %8s %10s %10s %10s %10s %10s %9s\n", "clients", "reqs", "req/s", "out tok/s",
           "TTFT med", "TTFT p99", "TPOT med", "TPOT p99", "max gap");
    aios_strlcpy(list, clients_arg, sizeof list);
    for (char *s = NULL, *t = strtok_r(list, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
        int C = atoi(t);
        if (C < 1)
            continue;
        int total = requests > 0 ? requests : (2 * C > 8 ? 2 * C : 8);
        struct shared sh = {.url = url,
                            .model = model,
                            .prompt_words = words,
                            .max_tokens = max_tokens,
                            .total = total};
        pthread_mutex_init(&sh.lock, NULL);
        sh.res = calloc((size_t)total, sizeof *sh.res);
        pthread_t *th = calloc((size_t)C, sizeof *th);
        double t0 = aios_time_s();
        for (int i = 0; i < C; i++)
            pthread_create(&th[i], NULL, client, &sh);
        for (int i = 0; i < C; i++)
            pthread_join(th[i], NULL);
        double wall = aios_time_s() - t0;
        double *ttft = calloc((size_t)total, sizeof *ttft),
               *tpot = calloc((size_t)total, sizeof *tpot);
        int ok = 0;
        long out_tokens = 0;
        double max_gap = 0;
        for (int i = 0; i < total; i++) {
            struct result *r = &sh.res[i];
            if (!r->ok)
                continue;
            ttft[ok] = r->ttft;
            tpot[ok] = r->chunks > 1 ? (r->latency - r->ttft) / (r->chunks - 1) : 0;
            out_tokens += r->chunks;
            max_gap = r->max_gap > max_gap ? r->max_gap : max_gap;
            ok++;
        }
        for (int i = 0; i < total; i++)
            if (!sh.res[i].ok) {
                fprintf(stderr, "request %d failed: HTTP %ld, curl %d (%s), %d chunks\n", i,
                        sh.res[i].code, sh.res[i].curl_rc,
                        curl_easy_strerror((CURLcode)sh.res[i].curl_rc), sh.res[i].chunks);
                break;
            }
        printf("%-8d %6d %8.2f %10.1f %9.2fs %9.2fs %8.0fms %8.0fms %8.2fs%s\n", C, ok, ok / wall,
               out_tokens / wall, pct(ttft, ok, 0.5), pct(ttft, ok, 0.99),
               1000 * pct(tpot, ok, 0.5), 1000 * pct(tpot, ok, 0.99), max_gap,
               ok < total ? "  (some requests failed)" : "");
        fflush(stdout);
        free(ttft);
        free(tpot);
        free(sh.res);
        free(th);
    }
    if (server) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    curl_global_cleanup();
    return 0;
}
