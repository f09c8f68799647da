/*
 * Single-token decode attention: time of one aios_tensor_attention_mt call
 * (one query row, all heads) for a Llama-3.2-1B head layout (32 query
 * heads, 8 KV heads, head size 64) at several context lengths, with 1 and
 * 2 threads, F16 and F32 KV: best and median microseconds per call, and
 * the median times 16 layers, the attention share of one decode step (to
 * compare with bench/generate).
 *
 *   build/bench/attention [--seconds S] [--heads H,HKV,D] [--len N] [--threads T]
 *
 * --len and --threads run one context length / thread count only (to
 * count cycles of one case under perf stat on a shared machine).
 * AIOS_CPU_DISABLE selects narrower kernel sets.
 */
#include "base/base.h"
#include "tensor/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 88172645463325252ull;
static float frand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (float)((rs >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    double window = 0.5;
    int64_t n_head = 32, n_head_kv = 8, d = 64, only_len = 0;
    long only_thr = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            if (aios_parse_double(argv[++i], &window) || window <= 0 || window > 600)
                return 2;
        } else if (!strcmp(argv[i], "--heads") && i + 1 < argc) {
            long long h, hk, hd;
            if (sscanf(argv[++i], "%lld,%lld,%lld", &h, &hk, &hd) != 3 || h <= 0 || hk <= 0 ||
                hd <= 0 || h % hk || hd > 1024 || h > 256)
                return 2;
            n_head = h, n_head_kv = hk, d = hd;
        } else if (!strcmp(argv[i], "--len") && i + 1 < argc) {
            only_len = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            only_thr = strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--seconds S] [--heads H,HKV,D] [--len N] [--threads T]\n",
                    argv[0]);
            return 2;
        }
    }
    /* 128 MiB each of K and V, walked in layer-sized pieces so that, as in
     * a decode step whose weights flush the caches between layers, the
     * keys and values come from memory rather than L3 */
    const int layers = 16;
    const int64_t kv_dim = n_head_kv * d;
    const size_t region = (size_t)128 << 20;
    unsigned char *k = aios_malloc(region), *v = aios_malloc(region);
    float *q = aios_malloc((size_t)(n_head * d) * sizeof(float));
    float *out = aios_malloc((size_t)(n_head * d) * sizeof(float));
    float *tmp = aios_malloc(65536 * sizeof(float));
    double *times = aios_malloc(100000 * sizeof(double));
    if (!k || !v || !q || !out || !tmp || !times)
        return 1;
    for (int64_t i = 0; i < n_head * d; i++)
        q[i] = frand();
    printf("kernel set: %s; heads %lld/%lld x %lld, one query row; per token = %d calls\n",
           aios_tensor_isa(), (long long)n_head, (long long)n_head_kv, (long long)d, layers);
    printf("%-4s %6s %3s %10s %10s %12s\n", "kv", "n_kv", "thr", "best us", "median us",
           "ms/token");
    aios_pool *pools[3] = {NULL, aios_pool_create(1), aios_pool_create(2)};
    static const int64_t lens[] = {128, 1024, 2048, 4096};
    for (int f16 = 1; f16 >= 0; f16--) {
        /* values of magnitude ~1 */
        size_t esz = f16 ? 2 : 4;
        for (size_t off = 0; off < region; off += 65536 * esz) {
            for (int i = 0; i < 65536; i++)
                tmp[i] = frand();
            if (f16) {
                aios_fp32_to_fp16_row(tmp, (uint16_t *)(k + off), 65536);
                aios_fp32_to_fp16_row(tmp + 1, (uint16_t *)(v + off), 65535);
            } else {
                memcpy(k + off, tmp, 65536 * esz);
                memcpy(v + off, tmp + 1, 65535 * esz);
            }
        }
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            if (only_len && lens[li] != only_len)
                continue;
            const size_t piece = (size_t)lens[li] * (size_t)kv_dim * esz;
            const size_t npieces = region / piece;
            struct aios_attn_args a = {
                .n_q = 1,
                .n_kv = lens[li],
                .n_head = n_head,
                .n_head_kv = n_head_kv,
                .head_dim = d,
                .q_pos0 = lens[li] - 1,
                .causal = true,
                .scale = 0.125f,
                .kv_type = f16 ? AIOS_GGML_F16 : AIOS_GGML_F32,
                .kv_stride = kv_dim,
            };
            for (int nt = 1; nt <= 2; nt++) {
                if (only_thr && nt != only_thr)
                    continue;
                /* each call timed alone: on a shared machine the best and
                 * the median of many short calls say more than one long
                 * run */
                double t_end = aios_time_s() + window;
                int n = 0;
                for (; n < 100000 && (n < 16 || aios_time_s() < t_end); n++) {
                    size_t at = (size_t)n % npieces * piece;
                    uint64_t t0 = aios_time_ns();
                    aios_tensor_attention_mt(pools[nt], &a, q, k + at, v + at, out, NULL);
                    times[n] = (double)(aios_time_ns() - t0) * 1e-3;
                }
                qsort(times, (size_t)n, sizeof *times, cmp_d);
                printf("%-4s %6lld %3d %10.1f %10.1f %12.3f\n", f16 ? "F16" : "F32",
                       (long long)lens[li], nt, times[0], times[n / 2],
                       times[n / 2] * layers * 1e-3);
                fflush(stdout);
            }
        }
    }
    aios_pool_destroy(pools[1]);
    aios_pool_destroy(pools[2]);
    aios_free(k);
    aios_free(v);
    aios_free(q);
    aios_free(out);
    aios_free(tmp);
    aios_free(times);
    return 0;
}
