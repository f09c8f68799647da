/*
 * Registry and store figures: registrations per second (each one write
 * transaction with synchronous=FULL, so one or two fsyncs of the WAL),
 * reference resolutions per second, and the time to build the list JSON,
 * on a data directory under $TMPDIR (default /tmp; the figures depend on
 * what that file system does with fsync).
 *
 * usage: registry [N_VERSIONS]   (default 200)
 */
#include "mlops/mlops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int64_t n = 200;
    if (argc > 1 && (aios_parse_i64(argv[1], &n) != AIOS_OK || n < 1 || n > 1000000)) {
        fprintf(stderr, "usage: registry [N_VERSIONS]\n");
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/aios-bench-registry.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    aios_store *st;
    struct aios_err err;
    double t0 = aios_time_s();
    if (aios_store_open_dir(dir, &st, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("open + migrate (new file):  %8.2f ms\n", (aios_time_s() - t0) * 1e3);

    const char *tags[] = {"stage=bench", "owner=ops"};
    t0 = aios_time_s();
    for (int64_t i = 0; i < n; i++) {
        struct aios_registry_file f = {
            .path = "/models/bench.gguf",
            .size_bytes = 1 << 20,
            .architecture = "llama",
            .n_params = 1000000,
            .file_type = "Q4_0",
            .context_length = 4096,
            .tokenizer = "llama",
        };
        snprintf(f.sha256, sizeof f.sha256, "%064llx", (unsigned long long)i);
        char name[32];
        snprintf(name, sizeof name, "model-%lld", (long long)(i % 10));
        struct aios_registry_add req = {.name = name, .file = &f, .tags = tags, .n_tags = 2};
        if (aios_registry_add(st, &req, NULL, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    double dt = aios_time_s() - t0;
    printf("register:                   %8.2f ms each, %8.0f /s (%lld versions, 10 models)\n",
           dt * 1e3 / (double)n, (double)n / dt, (long long)n);

    int64_t nres = 20000;
    t0 = aios_time_s();
    for (int64_t i = 0; i < nres; i++) {
        char ref[64];
        snprintf(ref, sizeof ref, "model-%lld@%lld", (long long)(i % 10),
                 (long long)(1 + i % (n / 10 > 0 ? n / 10 : 1)));
        struct aios_store_model_version v;
        if (aios_registry_resolve(st, ref, NULL, &v, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        aios_store_model_version_free(&v);
    }
    dt = aios_time_s() - t0;
    printf("resolve NAME@VERSION:       %8.2f us each, %8.0f /s\n", dt * 1e6 / (double)nres,
           (double)nres / dt);

    t0 = aios_time_s();
    json_t *all;
    if (aios_registry_list_to_json(st, &all, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("list JSON (10 models):      %8.2f ms\n", (aios_time_s() - t0) * 1e3);
    json_decref(all);
    aios_store_close(st);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
