/* `aios generate`: continue a prompt with a model, streaming the text. */
#include "cli/cli.h"
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct gen_out {
    FILE *f;
    struct aios_gen_event done;
};

static int print_cb(void *ud, const struct aios_gen_event *ev)
{
    struct gen_out *o = ud;
    if (ev->kind == AIOS_GEN_TOKEN && ev->len) {
        fwrite(ev->text, 1, ev->len, o->f);
        fflush(o->f);
    } else if (ev->kind == AIOS_GEN_DONE) {
        o->done = *ev;
    }
    return 0;
}

int aios_cmd_generate(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL;
    int64_t n_predict = 128, ctx = 0;
    bool no_bos = false, kv_f32 = false;
    struct aios_cli_sampling sf;
    aios_cli_sampling_init(&sf);
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF model file"},
        {"prompt", 'p', AIOS_OPT_STR, &prompt, "TEXT", "text to continue"},
        {"n-predict", 'n', AIOS_OPT_INT, &n_predict, "N", "tokens to generate (default 128)"},
        AIOS_CLI_SAMPLING_OPTS(sf),
        {"ctx", 'c', AIOS_OPT_INT, &ctx, "N",
         "context length (default: the model's, at most 4096)"},
        {"no-bos", 0, AIOS_OPT_BOOL, &no_bos, NULL, "do not add the BOS token"},
        {"kv-f32", 0, AIOS_OPT_BOOL, &kv_f32, NULL, "F32 KV cache (default F16)"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "generate",
        .usage =
            "-m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--threads N]",
        .summary = "Continue a prompt with a model and print the text as it is generated.",
        .description = "The continuation goes to standard output; a timing line (prompt and\n"
                       "generation tokens per second) goes to standard error. Generation stops\n"
                       "after N tokens or at the model's end-of-generation token.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (!model || !prompt)
        return aios_cli_usage_error(&spec, "-m MODEL and -p PROMPT are required");
    if (n_predict < 1 || n_predict > 1 << 20)
        return aios_cli_usage_error(&spec, "-n must be between 1 and %d", 1 << 20);
    if (ctx < 0 || ctx > 1 << 20)
        return aios_cli_usage_error(&spec, "--ctx is out of range");
    if ((rc = aios_cli_sampling_check(&spec, &sf)))
        return rc;
    struct aios_err err = {0};
    aios_engine *e = NULL;
    struct aios_engine_params ep = {.model_path = model,
                                    .n_ctx = (int)ctx,
                                    .n_parallel = 1,
                                    .n_threads = aios_cli_threads(cli),
                                    .kv_f32 = kv_f32};
    if (aios_engine_create(&ep, &e, &err))
        return aios_cli_fail(&spec, &err);
    struct aios_llm_tokens toks;
    aios_llm_tokens_init(&toks, 0);
    int status = AIOS_EXIT_FAIL;
    if (aios_llm_tokenize(aios_engine_vocab(e), prompt, strlen(prompt),
                          no_bos ? 0 : AIOS_LLM_TOK_ADD_SPECIAL, &toks, &err))
        goto fail;
    struct gen_out out = {.f = stdout};
    struct aios_gen_request r = {.prompt = toks.ids,
                                 .n_prompt = (int)toks.n,
                                 .max_tokens = (int)n_predict,
                                 .cb = print_cb,
                                 .ud = &out};
    aios_cli_sampling_apply(&sf, &r.sampling);
    if (aios_engine_run(e, &r, &err))
        goto fail;
    printf("\n");
    if (out.done.finish == AIOS_FINISH_ERROR) {
        aios_err_set(&err, AIOS_EINTERNAL, "%s",
                     out.done.error ? out.done.error : "generation failed");
        goto fail;
    }
    int n_eval = out.done.n_prompt - out.done.n_cached;
    fprintf(
        stderr,
        "prompt: %d tokens in %.3f s (%.1f tok/s); generation: %d tokens in %.3f s (%.1f tok/s); "
        "stop: %s\n",
        n_eval, out.done.t_prompt_s, out.done.t_prompt_s > 0 ? n_eval / out.done.t_prompt_s : 0.0,
        out.done.n_gen, out.done.t_gen_s,
        out.done.t_gen_s > 0 && out.done.n_gen > 1 ? (out.done.n_gen - 1) / out.done.t_gen_s : 0.0,
        aios_finish_str(out.done.finish));
    status = AIOS_EXIT_OK;
    goto done;
fail:
    status = aios_cli_fail(&spec, &err);
done:
    aios_llm_tokens_free(&toks);
    aios_engine_destroy(e);
    return status;
}
