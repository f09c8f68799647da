/*
 * bench/embed: texts per second embedding 1,000 texts of about 100 tokens
 * with a synthetic BGE-small-shape model (bert, 384 wide, 12 layers) at 2
 * threads, for F32, F16 and Q8_0 weights.
 *
 *   build/bench/embed [--types F16,Q8_0] [--threads 2] [--texts 1000] [--dir DIR]
 *
 * The model is written once to DIR (default build/bench-models) with the
 * bge vocabulary from ../shared/fixtures/tokenizer/ggml-vocab-bert-bge.gguf.
 * Texts are built from log lines and English words so that each is about
 * 100 WordPiece tokens.
 */
#include "llm/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const words[] = {
    "disk",     "usage",   "on",      "the",      "volume",  "exceeded", "threshold", "alert",
    "node",     "cpu",     "load",    "memory",   "kafka",   "broker",   "lag",       "consumer",
    "group",    "restart", "service", "failed",   "timeout", "after",    "30s",       "/var/log",
    "10.2.3.4", "error:",  "nginx",   "upstream", "502",     "latency",  "p99",       "ms",
    "database", "replica", "is",      "behind",
};

int main(int argc, char **argv)
{
    const char *types = "F32,F16,Q8_0", *dir = "build/bench-models";
    int threads = 2, n_texts = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--texts") && i + 1 < argc)
            n_texts = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--types LIST] [--threads N] [--texts N] [--dir DIR]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_texts < 1 || n_texts > 100000 || threads < 1)
        return 2;
    char vocab[4096];
    const char *fx = getenv("AIOS_FIXTURES");
    snprintf(vocab, sizeof vocab, "%s/tokenizer/ggml-vocab-bert-bge.gguf",
             fx ? fx : AIOS_SOURCE_DIR "/../shared/fixtures");
    struct aios_err err;
    if (aios_mkdir_p(dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* The texts: 70 words each, which WordPiece turns into about 100 tokens. */
    char **texts = calloc((size_t)n_texts, sizeof *texts);
    struct aios_rng rng;
    aios_rng_seed(&rng, 3);
    for (int i = 0; i < n_texts; i++) {
        struct aios_buf b;
        aios_buf_init(&b, 0);
        for (int w = 0; w < 70; w++)
            aios_buf_printf(&b, "%s%s", w ? " " : "",
                            words[aios_rng_next(&rng) % (sizeof words / sizeof words[0])]);
        texts[i] = aios_buf_detach(&b);
    }
    printf("bge-small shape, %d texts, %d threads\n", n_texts, threads);
    printf("%-6s %10s %12s %10s\n", "type", "texts/s", "tokens/text", "seconds");
    char list[128];
    aios_strlcpy(list, types, sizeof list);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char path[4300];
        snprintf(path, sizeof path, "%s/bge-small-%s.gguf", dir, t);
        struct stat st;
        if (stat(path, &st) != 0 &&
            aios_llm_synth("bge-small", t, vocab, 1, threads, path, false, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        aios_model *m;
        aios_llm_vocab *v;
        aios_ctx *ctx;
        if (aios_model_load(path, &m, &err) || aios_llm_vocab_load(aios_model_gguf(m), &v, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        struct aios_ctx_params cp = {
            .n_ctx = 512, .n_seq = 16, .n_batch = 2048, .kv_f32 = true, .n_threads = threads};
        if (aios_ctx_create(m, &cp, &ctx, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        float *out = malloc(sizeof(float) * 384 * (size_t)n_texts);
        int64_t ntok = 0;
        double t0 = aios_time_s();
        if (aios_llm_embed(m, v, ctx, (const char *const *)texts, n_texts, out, &ntok, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double dt = aios_time_s() - t0;
        printf("%-6s %10.1f %12.1f %10.2f\n", t, n_texts / dt, (double)ntok / n_texts, dt);
        fflush(stdout);
        free(out);
        aios_ctx_free(ctx);
        aios_llm_vocab_free(v);
        aios_model_free(m);
    }
    for (int i = 0; i < n_texts; i++)
        aios_free(texts[i]);
    free(texts);
    return 0;
}
