/*
 * Memory read bandwidth with 1 and 2 threads: the limit that mat x vec
 * kernels (which stream their weights once per call) are measured against.
 * Reads a 512 MiB buffer (far past the caches) with AVX2 loads when the CPU
 * has them: whole-buffer passes (best of 5), and 8 MiB pieces taken in turn
 * (best over 2 s), which is how bench/kernels measures its matrices and
 * which a busy shared machine disturbs less. Usage: membw [MiB].
 */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2"))) static double read_avx2(const char *p, size_t n)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    long long r[4];
    _mm256_storeu_si256((__m256i *)r, a0);
    return (double)(r[0] + r[1] + r[2] + r[3]);
}
#endif

static double read_scalar(const char *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        s += v;
    }
    return (double)s;
}

struct job {
    const char *buf;
    size_t size;
    double sink[64];
};

static void reader(void *arg, int ith, int nth)
{
    struct job *j = arg;
    size_t part = j->size / (size_t)nth / 4096 * 4096;
    const char *p = j->buf + part * (size_t)ith;
#if defined(__x86_64__)
    if (aios_cpu_get()->avx2) {
        j->sink[ith] += read_avx2(p, part);
        return;
    }
#endif
    j->sink[ith] += read_scalar(p, part);
}

int main(int argc, char **argv)
{
    int64_t mib = 512;
    if (argc > 1 && (aios_parse_i64(argv[1], &mib) != AIOS_OK || mib < 16 || mib > 16384)) {
        fprintf(stderr, "usage: membw [MiB 16..16384]\n");
        return 2;
    }
    size_t size = (size_t)mib << 20;
    char *raw = aios_malloc(size + 64);
    if (!raw) {
        fprintf(stderr, "membw: cannot allocate %lld MiB\n", (long long)mib);
        return 1;
    }
    char *buf = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    memset(buf, 1, size);
    printf("read bandwidth over %lld MiB (best of 5 passes)\n", (long long)mib);
    for (int nt = 1; nt <= 2; nt++) {
        aios_pool *pool = aios_pool_create(nt);
        struct job j = {.buf = buf, .size = size};
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            uint64_t t0 = aios_time_ns();
            aios_pool_run(pool, reader, &j);
            double s = (double)(aios_time_ns() - t0) * 1e-9;
            double gbs = (double)size / s * 1e-9;
            if (gbs > best)
                best = gbs;
        }
        const size_t piece = (size_t)8 << 20;
        double pbest = 0, t_end = aios_time_s() + 2.0;
        for (size_t rep = 0; aios_time_s() < t_end; rep++) {
            struct job p = {.buf = buf + (rep % (size / piece)) * piece, .size = piece};
            uint64_t t0 = aios_time_ns();
            aios_pool_run(pool, reader, &p);
            double gbs = (double)piece / ((double)(aios_time_ns() - t0) * 1e-9) * 1e-9;
            if (gbs > pbest)
                pbest = gbs;
        }
        printf("threads %d: %.2f GB/s whole buffer, %.2f GB/s best 8 MiB piece\n", nt, best, pbest);
        aios_pool_destroy(pool);
    }
    aios_free(raw);
    return 0;
}
