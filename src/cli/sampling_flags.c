/* Sampling flags shared by the commands that generate text (generate, chat). */
#include "cli/cli.h"
#include "llm/llm.h"

void aios_cli_sampling_init(struct aios_cli_sampling *f)
{
    *f = (struct aios_cli_sampling){
        .top_k = 40, .seed = 0, .temp = 0.8, .top_p = 0.95, .min_p = 0.05, .repeat_penalty = 1.0};
}

int aios_cli_sampling_check(const struct aios_cmd_spec *spec, const struct aios_cli_sampling *f)
{
    if (f->temp < 0 || f->temp > 100)
        return aios_cli_usage_error(spec, "--temp must be between 0 and 100");
    if (f->top_k < 0)
        return aios_cli_usage_error(spec, "--top-k must be 0 or more");
    if (f->top_p <= 0 || f->top_p > 1)
        return aios_cli_usage_error(spec, "--top-p must be in (0, 1]");
    if (f->min_p < 0 || f->min_p > 1)
        return aios_cli_usage_error(spec, "--min-p must be in [0, 1]");
    if (f->repeat_penalty <= 0)
        return aios_cli_usage_error(spec, "--repeat-penalty must be positive");
    return 0;
}

void aios_cli_sampling_apply(const struct aios_cli_sampling *f, struct aios_sampling *s)
{
    aios_sampling_defaults(s);
    s->temperature = (float)f->temp;
    s->top_k = (int)f->top_k;
    s->top_p = (float)f->top_p;
    s->min_p = (float)f->min_p;
    s->repeat_penalty = (float)f->repeat_penalty;
    s->seed = (uint64_t)f->seed;
}
