/*
 * Mat x vec throughput of every weight type: GB/s of weights streamed and
 * GFLOP/s (2 * rows * cols per product) for 2048x2048, 8192x2048 and
 * 2048x8192 (rows x cols), with 1 and 2 threads, beside the read bandwidth
 * of the same threads measured here (the limit a streaming kernel can
 * reach). The matrix is replicated over at least 256 MiB and successive
 * products walk the copies, so weights come from DRAM as in a real decode
 * step (a 2048x2048 Q4_0 matrix alone would sit in the 32 MiB L3).
 * Usage: kernels [--seconds S] [TYPE ...] (default: every weight type; S is
 * how long each figure is sampled, default 0.4; on a shared machine a
 * longer window gives the best-of a better chance of an undisturbed run).
 * AIOS_CPU_DISABLE selects narrower kernel sets.
 */
#include "base/base.h"
#include "tensor/tensor.h"

#include <stdio.h>
#include <string.h>

struct rd {
    const char *buf;
    size_t size;
    volatile uint64_t sink[8];
};

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2"))) static uint64_t read_avx2(const char *p, size_t n)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    return (uint64_t)_mm256_extract_epi64(a0, 0);
}
#endif

static void read_part(void *arg, int ith, int nth)
{
    struct rd *r = arg;
    size_t part = r->size / (size_t)nth / 128 * 128;
    const char *base = r->buf + part * (size_t)ith;
#if defined(__x86_64__)
    if (aios_cpu_get()->avx2) {
        r->sink[ith] = read_avx2(base, part);
        return;
    }
#endif
    const uint64_t *p = (const uint64_t *)base;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= part / 8; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    r->sink[ith] = s0 + s1 + s2 + s3;
}

/* Read bandwidth measured the way the kernels are: passes over 8 MiB
 * pieces of a 256 MiB buffer taken in turn (each one cold, past the L3),
 * best pass within the window. Measuring both alike keeps the ratio fair
 * on a shared machine, where long passes are more often disturbed. */
static double bandwidth(aios_pool *pool, const char *buf, size_t size, double window)
{
    const size_t piece = (size_t)8 << 20;
    const size_t npieces = size / piece;
    double best = 0, t_end = aios_time_s() + window;
    for (size_t rep = 0; rep < 5 || aios_time_s() < t_end; rep++) {
        struct rd r = {.buf = buf + (rep % npieces) * piece, .size = piece};
        uint64_t t0 = aios_time_ns();
        aios_pool_run(pool, read_part, &r);
        double gbs = (double)piece / ((double)(aios_time_ns() - t0) * 1e-9) * 1e-9;
        if (gbs > best)
            best = gbs;
    }
    return best;
}

static uint64_t rs = 88172645463325252ull;
static float frand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (float)((double)(rs >> 11) * 0x1p-53 * 2 - 1);
}

int main(int argc, char **argv)
{
    static const uint32_t all[] = {
        AIOS_GGML_Q4_0, AIOS_GGML_Q8_0, AIOS_GGML_Q4_K, AIOS_GGML_Q6_K, AIOS_GGML_F16,
        AIOS_GGML_F32,  AIOS_GGML_BF16, AIOS_GGML_Q4_1, AIOS_GGML_Q5_0, AIOS_GGML_Q5_1,
        AIOS_GGML_Q2_K, AIOS_GGML_Q3_K, AIOS_GGML_Q5_K,
    };
    uint32_t types[32];
    int ntypes = 0;
    double window = 0.4;
    for (int i = 1; i < argc && ntypes < 32; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            if (aios_parse_double(argv[++i], &window) != AIOS_OK || window <= 0 || window > 600) {
                fprintf(stderr, "kernels: --seconds wants a number in (0, 600]\n");
                return 2;
            }
            continue;
        }
        int t = aios_tensor_type_by_name(argv[i]);
        if (t < 0 || !aios_tensor_type_traits((uint32_t)t)) {
            fprintf(stderr, "kernels: unknown type %s\n", argv[i]);
            return 2;
        }
        types[ntypes++] = (uint32_t)t;
    }
    if (!ntypes)
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            types[ntypes++] = all[k];

    /* the last shape is the in-cache one: 256 x 2048 stays in L2, so it shows
     * the kernel's compute ceiling, which must exceed the memory rate */
    static const int64_t shapes[4][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}, {256, 2048}};
    const int64_t maxel = 8192 * 2048;
    size_t bwsize = (size_t)256 << 20;
    char *bwbuf = aios_malloc(bwsize);
    float *x = aios_malloc(8192 * sizeof(float));
    float *y = aios_malloc(8192 * sizeof(float));
    float *tile = aios_malloc(64 * 8192 * sizeof(float));
    const size_t region = (size_t)256 << 20;
    char *w = aios_malloc(region + (size_t)maxel * 4);
    if (!bwbuf || !x || !y || !tile || !w) {
        fprintf(stderr, "kernels: out of memory\n");
        return 1;
    }
    memset(bwbuf, 1, bwsize);
    for (int i = 0; i < 8192; i++)
        x[i] = frand();
    for (int i = 0; i < 64 * 8192; i++)
        tile[i] = frand();

    printf("kernel set: %s\n", aios_tensor_isa());
    aios_pool *pools[3] = {NULL, aios_pool_create(1), aios_pool_create(2)};
    double bw[3] = {0, bandwidth(pools[1], bwbuf, bwsize, window),
                    bandwidth(pools[2], bwbuf, bwsize, window)};
    printf("read bandwidth: 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw[1], bw[2]);
    printf("%-5s %-10s %3s %9s %9s %7s\n", "type", "rows x cols", "thr", "GB/s", "GFLOP/s", "%bw");
    void *scratch = aios_malloc(aios_tensor_matmul_wsize(AIOS_GGML_Q8_0, 8192, 1) + 65536);
    for (int ti = 0; ti < ntypes; ti++) {
        uint32_t type = types[ti];
        const char *name = aios_tensor_type_traits(type)->name;
        for (int si = 0; si < 4; si++) {
            bool hot = si == 3;
            int64_t rows = shapes[si][0], cols = shapes[si][1];
            size_t rsz = aios_tensor_row_size(type, cols);
            /* Quantize 64 real rows and repeat them: the bytes are realistic
             * and quantizing 16M values per type would dominate the run. */
            aios_tensor_quantize(type, tile, w, 64, cols, NULL);
            for (int64_t r = 64; r < rows; r += 64)
                memcpy(w + (size_t)r * rsz, w, rsz * 64);
            size_t bytes = rsz * (size_t)rows;
            size_t stride = (bytes + 4095) / 4096 * 4096;
            int ncopies = hot ? 1 : (int)((region + stride - 1) / stride);
            for (int c = 1; c < ncopies; c++)
                memcpy(w + (size_t)c * stride, w, bytes);
            struct aios_tensor_mat m = {type, cols, rows, rsz, w};
            for (int nt = 1; nt <= 2; nt++) {
                double best = 1e30, total = 0;
                double t_end = aios_time_s() + (hot ? window / 2 : window);
                int reps = 0;
                while (reps < 3 || aios_time_s() < t_end) {
                    m.data = w + (size_t)(reps % ncopies) * stride;
                    uint64_t t0 = aios_time_ns();
                    aios_tensor_matvec(pools[nt], &m, x, y, scratch,
                                       aios_tensor_matmul_wsize(AIOS_GGML_Q8_0, 8192, 1) + 65536,
                                       NULL);
                    double s = (double)(aios_time_ns() - t0) * 1e-9;
                    if (s < best)
                        best = s;
                    total += s;
                    reps++;
                }
                /* best pass (each reads a cold copy); the machine is shared,
                 * so the mean measures the neighbours as much as the kernel */
                (void)total;
                double gbs = (double)bytes / best * 1e-9;
                if (hot)
                    printf("%-5s %5lldx%-5lld %3d %9.1f %9.1f  (in cache)\n", name, (long long)rows,
                           (long long)cols, nt, gbs,
                           2.0 * (double)rows * (double)cols / best * 1e-9);
                else
                    printf("%-5s %5lldx%-5lld %3d %9.1f %9.1f %6.0f%%\n", name, (long long)rows,
                           (long long)cols, nt, gbs,
                           2.0 * (double)rows * (double)cols / best * 1e-9, 100 * gbs / bw[nt]);
                fflush(stdout);
            }
        }
        /* mat x mat, as in batched decoding (4, 8, 16 rows) and prompt
         * processing (32, 128): activation rows against 2048 x 2048, 1
         * thread, in GFLOP/s (from 8 rows the packed-panel kernels run) */
        static const int64_t nacts[] = {4, 8, 16, 32, 128};
        for (size_t ni = 0; ni < sizeof nacts / sizeof nacts[0]; ni++) {
            const int64_t rows = 2048, cols = 2048, nact = nacts[ni];
            size_t rsz = aios_tensor_row_size(type, cols);
            aios_tensor_quantize(type, tile, w, 64, cols, NULL);
            for (int64_t r = 64; r < rows; r += 64)
                memcpy(w + (size_t)r * rsz, w, rsz * 64);
            struct aios_tensor_mat m = {type, cols, rows, rsz, w};
            float *xa = aios_malloc((size_t)(nact * cols) * sizeof(float));
            float *ya = aios_malloc((size_t)(nact * rows) * sizeof(float));
            for (int64_t k = 0; xa && k < nact * cols; k++)
                xa[k] = tile[k % (64 * 8192)];
            double best = 1e30, t_end = aios_time_s() + window / 2;
            for (int reps = 0; xa && ya && (reps < 2 || aios_time_s() < t_end); reps++) {
                uint64_t t0 = aios_time_ns();
                aios_tensor_matmul(pools[1], &m, xa, nact, cols, ya, rows, NULL, 0, NULL);
                double s = (double)(aios_time_ns() - t0) * 1e-9;
                if (s < best)
                    best = s;
            }
            printf("%-5s %5lldx%-5lld   1  x %3lld rows: %9.1f GFLOP/s (mat x mat)\n", name,
                   (long long)rows, (long long)cols, (long long)nact,
                   2.0 * (double)rows * (double)cols * (double)nact / best * 1e-9);
            aios_free(xa);
            aios_free(ya);
        }
    }
    aios_free(scratch);
    aios_pool_destroy(pools[1]);
    aios_pool_destroy(pools[2]);
    aios_free(bwbuf);
    aios_free(x);
    aios_free(y);
    aios_free(tile);
    aios_free(w);
    return 0;
}
