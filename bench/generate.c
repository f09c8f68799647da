/*
 * bench/generate: prompt processing (pp512) and generation (tg128) speed of
 * a synthetic Llama-3.2-1B-shape model, median of 3, plus generation after
 * 1,024 tokens of context and peak RSS.
 *
 *   build/bench/generate [--types Q8_0,Q4_0,Q4_K_M] [--threads 2] [--dir DIR]
 *                        [--preset 1b] [--reps 3]
 *
 * Models are written once to DIR (default build/bench-models) with the Llama 3
 * vocabulary from ../shared/fixtures/tokenizer/ggml-vocab-llama-bpe.gguf.
 * Decode speed is bounded by memory bandwidth: the line also prints the
 * bytes of weights read per token and the GB/s that implies.
 */
#include "llm/llm.h"
#include "tensor/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

static long peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* Time to decode n tokens one at a time after `past` tokens. */
static double time_tg(aios_ctx *ctx, int past, int n, int n_vocab, struct aios_err *err)
{
    double t0 = aios_time_s();
    int32_t tok = 1;
    for (int i = 0; i < n; i++) {
        struct aios_batch_tok b = {tok, past + i, 0, true};
        if (aios_ctx_decode(ctx, &b, 1, err))
            return -1;
        tok = aios_argmax(aios_ctx_output(ctx, 0), n_vocab);
    }
    return aios_time_s() - t0;
}

static double time_pp(aios_ctx *ctx, struct aios_batch_tok *batch, int n, struct aios_err *err)
{
    aios_ctx_seq_clear(ctx, 0);
    double t0 = aios_time_s();
    if (aios_ctx_decode(ctx, batch, n, err))
        return -1;
    return aios_time_s() - t0;
}

int main(int argc, char **argv)
{
    const char *types = "Q8_0,Q4_0,Q4_K_M", *dir = "build/bench-models", *preset = "1b";
    int threads = 2, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--preset") && i + 1 < argc)
            preset = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--types LIST] [--threads N] [--dir DIR] [--preset P] [--reps N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > 15 || threads < 1)
        return 2;
    char vocab[4096];
    const char *fx = getenv("AIOS_FIXTURES");
    snprintf(vocab, sizeof vocab, "%s/tokenizer/ggml-vocab-llama-bpe.gguf",
             fx ? fx : AIOS_SOURCE_DIR "/../shared/fixtures");
    struct aios_err err;
    if (aios_mkdir_p(dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("preset %s, %d threads, isa %s, median of %d\n", preset, threads, aios_tensor_isa(),
           reps);
    printf("%-8s %10s %10s %12s %9s %10s %9s\n", "type", "pp512", "tg128", "tg128@1024", "MB/tok",
           "tg GB/s", "RSS MB");
    char list[256];
    aios_strlcpy(list, types, sizeof list);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char path[4300];
        snprintf(path, sizeof path, "%s/llama-%s-%s.gguf", dir, preset, t);
        struct stat st;
        if (stat(path, &st) != 0) {
            fprintf(stderr, "writing %s ...\n", path);
            if (aios_llm_synth(preset, t, stat(vocab, &st) == 0 ? vocab : NULL, 1, threads, path,
                               false, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
        }
        aios_model *m;
        if (aios_model_load(path, &m, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        const struct aios_hparams *hp = aios_model_hparams(m);
        struct aios_ctx_params cp = {
            .n_ctx = 2048, .n_seq = 1, .n_batch = 512, .n_threads = threads};
        aios_ctx *ctx;
        if (aios_ctx_create(m, &cp, &ctx, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        static struct aios_batch_tok batch[1024];
        struct aios_rng rng;
        aios_rng_seed(&rng, 7);
        for (int i = 0; i < 1024; i++)
            batch[i] =
                (struct aios_batch_tok){(int32_t)(aios_rng_next(&rng) % (uint64_t)hp->n_vocab), i,
                                        0, i == 511 || i == 1023};
        double pp[15], tg[15], tgl[15];
        for (int r = 0; r < reps; r++) {
            double t = time_pp(ctx, batch, 512, &err);
            if (t < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            pp[r] = 512 / t;
            aios_ctx_seq_clear(ctx, 0);
            tg[r] = 128 / time_tg(ctx, 0, 128, hp->n_vocab, &err);
            /* 1,024 tokens of context, then 128 more. */
            aios_ctx_seq_clear(ctx, 0);
            if (aios_ctx_decode(ctx, batch, 1024, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            tgl[r] = 128 / time_tg(ctx, 1024, 128, hp->n_vocab, &err);
        }
        /* Bytes of weights read per generated token: every matrix once. */
        const aios_gguf *g = aios_model_gguf(m);
        double bytes = 0;
        for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
            const struct aios_gguf_tensor *tt = aios_gguf_tensor(g, i);
            if (strcmp(tt->name, "token_embd.weight") != 0 ||
                !aios_gguf_find_tensor(g, "output.weight"))
                bytes += (double)tt->size;
        }
        double tgm = median(tg, reps);
        printf("%-8s %10.1f %10.1f %12.1f %9.1f %10.2f %9ld\n", t, median(pp, reps), tgm,
               median(tgl, reps), bytes / 1e6, bytes * tgm / 1e9, peak_rss_mb());
        fflush(stdout);
        aios_ctx_free(ctx);
        aios_model_free(m);
    }
    return 0;
}
