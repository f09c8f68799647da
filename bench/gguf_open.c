/*
 * GGUF reader and writer speed: time to open and validate each fixture file
 * (the vocabularies carry 32k-256k-entry string arrays), and the writer's
 * throughput streaming a synthetic model of 256 MiB to a temp file.
 * Usage: gguf_open [FIXTURES_DIR]   (default $AIOS_FIXTURES or
 * AIOS_SOURCE_DIR/../shared/fixtures).
 */
#include "gguf/gguf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bench_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("%s: not found, skipped\n", dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct aios_err err = {0};
        aios_gguf *g = NULL;
        const int reps = 20;
        double best = 1e30;
        size_t mem = 0;
        for (int r = 0; r < reps; r++) {
            size_t before = aios_mem_in_use();
            double t0 = aios_time_s();
            if (aios_gguf_open(path, &g, &err)) {
                printf("%s: %s\n", e->d_name, err.msg);
                break;
            }
            double t = aios_time_s() - t0;
            mem = aios_mem_in_use() - before;
            best = t < best ? t : best;
            aios_gguf_close(g);
        }
        if (best < 1e30)
            printf("open %-34s best of %d: %7.3f ms, reader tables %7.1f KiB\n", e->d_name, reps,
                   best * 1e3, mem / 1024.0);
    }
    closedir(d);
}

static void bench_write(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/aios-bench-gguf.%d.gguf", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    struct aios_err err = {0};
    aios_gguf_writer *w = NULL;
    if (aios_gguf_writer_create(&w, &err))
        return;
    const int n_t = 64;
    const int64_t ne[2] = {4096, 256}; /* 4 MiB of F32 each, 256 MiB in all */
    for (int i = 0; i < n_t; i++) {
        char name[32];
        snprintf(name, sizeof name, "blk.%d.w", i);
        aios_gguf_writer_add_tensor(w, name, AIOS_GGML_F32, 2, ne, NULL, &err);
    }
    size_t chunk = 1 << 20;
    char *buf = aios_calloc(1, chunk);
    double t0 = aios_time_s();
    int rc = aios_gguf_writer_begin(w, path, &err);
    uint64_t total = 0;
    for (int i = 0; !rc && i < n_t; i++)
        for (uint64_t left = aios_gguf_writer_tensor_size(w, i); !rc && left;) {
            size_t k = left < chunk ? (size_t)left : chunk;
            rc = aios_gguf_writer_write_data(w, buf, k, &err);
            left -= k;
            total += k;
        }
    if (!rc)
        rc = aios_gguf_writer_finish(w, &err);
    double t = aios_time_s() - t0;
    if (rc)
        printf("write: %s\n", err.msg);
    else
        printf("write %.0f MiB streamed in 1 MiB pieces (incl. fsync): %.3f s, %.0f MiB/s, "
               "writer peak memory %.1f MiB\n",
               total / 1048576.0, t, total / 1048576.0 / t, aios_mem_peak() / 1048576.0);
    aios_free(buf);
    aios_gguf_writer_destroy(w);
    unlink(path);
}

int main(int argc, char **argv)
{
    char dir[4096];
    const char *fix = argc > 1 ? argv[1] : getenv("AIOS_FIXTURES");
    if (!fix || !*fix) {
        snprintf(dir, sizeof dir, "%s/../shared/fixtures", AIOS_SOURCE_DIR);
        fix = dir;
    }
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/tokenizer", fix);
    bench_dir(sub);
    snprintf(sub, sizeof sub, "%s/models", fix);
    bench_dir(sub);
    bench_write();
    return 0;
}
