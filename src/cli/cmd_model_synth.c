/* `aios model synth`: write a random-weight model of a real shape. */
#include "cli/cli.h"
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

int aios_cmd_model_synth(struct aios_cli *cli, int argc, char **argv)
{
    const char *arch = "llama", *preset = NULL, *type = "Q4_0", *vocab = NULL;
    int64_t seed = 1;
    struct aios_opt opts[] = {
        {"arch", 0, AIOS_OPT_STR, &arch, "ARCH", "architecture (llama)"},
        {"preset", 0, AIOS_OPT_STR, &preset, "NAME",
         "shape: tiny, 1b (Llama 3.2 1B), 8b (Llama 3.1 8B)"},
        {"type", 0, AIOS_OPT_STR, &type, "TYPE",
         "weight type: F32 F16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M (default "
         "Q4_0)"},
        {"vocab", 0, AIOS_OPT_STR, &vocab, "FILE",
         "GGUF whose vocabulary to use (default: a byte-level one)"},
        {"seed", 0, AIOS_OPT_INT, &seed, "S", "random seed (default 1)"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "model synth",
        .usage = "--arch llama --preset 1b|8b|tiny --type TYPE [--vocab FILE] OUT",
        .summary =
            "Write a random-weight GGUF model of a real model's shape, for benchmarks and tests.",
        .description =
            "Weights are random (uniform, standard deviation 0.02; norms 1), so the model\n"
            "produces noise but runs at exactly the speed of the real one.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
    };
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (!preset)
        return aios_cli_usage_error(&spec, "--preset is required (%s)", aios_llm_synth_presets());
    if (strcmp(arch, "llama") != 0)
        return aios_cli_usage_error(&spec, "--arch: only llama can be synthesised");
    struct aios_err err = {0};
    if (aios_llm_synth(preset, type, vocab, (uint64_t)seed, aios_cli_threads(cli), pos[0], true,
                       &err))
        return aios_cli_fail(&spec, &err);
    fprintf(stderr, "wrote %s\n", pos[0]);
    return 0;
}
