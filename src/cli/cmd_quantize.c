/*
 * `aios quantize IN OUT TYPE [--pure] [--allow-requantize]`: writes a
 * quantized copy of a GGUF model (mlops quantize job), one progress line
 * per tensor on stdout.
 */
#include "cli/cli.h"
#include "mlops/mlops.h"

#include <inttypes.h>
#include <stdio.h>

static const struct aios_cmd_spec quantize_spec = {
    .name = "quantize",
    .usage = "IN OUT TYPE [--pure] [--allow-requantize]",
    .summary = "Quantize a GGUF model the way llama-quantize does.",
    .description = "TYPE: Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q6_K Q4_K_M Q5_K_M (Q4_K and Q5_K are aliases\n"
                   "of the _M mixes, as in llama-quantize), F16 BF16 F32. Norms, biases and\n"
                   "other 1-D tensors stay as they are; output.weight (or a tied token\n"
                   "embedding) gets Q6_K; the _M mixes give attn_v and ffn_down Q6_K on some\n"
                   "layers. --pure gives every 2-D weight TYPE. Uses --threads threads.",
    .min_pos = 3,
    .max_pos = 3,
};

static void progress(void *ud, const struct aios_quantize_progress *p)
{
    (void)ud;
    char shape[96];
    int n = snprintf(shape, sizeof shape, "[");
    for (uint32_t d = 0; d < p->n_dims && n > 0 && (size_t)n < sizeof shape; d++)
        n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%" PRId64, d ? ", " : "", p->ne[d]);
    if (n > 0 && (size_t)n < sizeof shape)
        snprintf(shape + n, sizeof shape - (size_t)n, "]");
    printf("[%4" PRId64 "/%4" PRId64 "] %-36s %-16s %5s -> %-5s %9.3f MiB -> %9.3f MiB\n", p->index,
           p->count, p->name, shape, p->from_type, p->to_type, (double)p->bytes_in / 1048576.0,
           (double)p->bytes_out / 1048576.0);
    fflush(stdout);
}

int aios_cmd_quantize(struct aios_cli *cli, int argc, char **argv)
{
    bool pure = false, requant = false;
    struct aios_opt opts[] = {
        {"pure", 0, AIOS_OPT_BOOL, &pure, NULL, "every 2-D weight gets TYPE (no mix rules)"},
        {"allow-requantize", 0, AIOS_OPT_BOOL, &requant, NULL,
         "accept already quantized input tensors (dequantized first)"},
        {0},
    };
    struct aios_cmd_spec spec = quantize_spec;
    spec.opts = opts;
    char **pos = aios_malloc(((size_t)argc + 1) * sizeof *pos);
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos = 0;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        return rc < 0 ? AIOS_EXIT_OK : rc;
    }
    aios_pool *pool = aios_pool_create(aios_cli_threads(cli));
    struct aios_quantize_opts q = {
        .type = pos[2],
        .pure = pure,
        .allow_requantize = requant,
        .pool = pool,
        .progress = progress,
    };
    struct aios_err err = {0};
    uint64_t t0 = aios_time_ns();
    rc = aios_mlops_quantize(pos[0], pos[1], &q, &err);
    if (rc == AIOS_OK)
        printf("wrote %s (%s) in %.2f s\n", pos[1], pos[2], (double)(aios_time_ns() - t0) * 1e-9);
    aios_pool_destroy(pool);
    aios_free(pos);
    return rc == AIOS_OK ? AIOS_EXIT_OK : aios_cli_fail(&spec, &err);
}
