/* `aios chat`: an interactive conversation in the terminal, rendered with the
 * model's chat template. Each turn re-renders the whole conversation; the
 * engine's prefix cache reuses what was computed for the earlier turns. */
#include "cli/cli.h"
#include "engine/engine.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct turn {
    struct aios_buf reply;
    struct aios_gen_event done;
};

static int chat_cb(void *ud, const struct aios_gen_event *ev)
{
    struct turn *t = ud;
    if (ev->kind == AIOS_GEN_TOKEN && ev->len) {
        fwrite(ev->text, 1, ev->len, stdout);
        fflush(stdout);
        if (aios_buf_append(&t->reply, ev->text, ev->len))
            return 1;
    } else if (ev->kind == AIOS_GEN_DONE) {
        t->done = *ev;
    }
    return 0;
}

int aios_cmd_chat(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL, *system = NULL;
    int64_t n_predict = 512, ctx = 0;
    struct aios_cli_sampling sf;
    aios_cli_sampling_init(&sf);
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF chat model"},
        {"system", 0, AIOS_OPT_STR, &system, "TEXT", "system prompt"},
        {"n-predict", 'n', AIOS_OPT_INT, &n_predict, "N", "most tokens per reply (default 512)"},
        AIOS_CLI_SAMPLING_OPTS(sf),
        {"ctx", 'c', AIOS_OPT_INT, &ctx, "N",
         "context length (default: the model's, at most 4096)"},
        {0},
    };
    const struct aios_cmd_spec spec = {
        .name = "chat",
        .usage = "-m MODEL [--system TEXT] [-n N] [--temp T] ...",
        .summary = "Chat with a model in the terminal, using the model's chat template.",
        .description =
            "Type a message and press Enter; the reply streams back. An empty line is\n"
            "ignored; /reset starts over; /exit or end of input (Ctrl-D) quits. When the\n"
            "conversation no longer fits the context, the oldest turns are dropped.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 0,
    };
    char *pos[4];
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (!model)
        return aios_cli_usage_error(&spec, "-m MODEL is required");
    if (n_predict < 1 || ctx < 0)
        return aios_cli_usage_error(&spec, "-n and --ctx must be positive");
    if ((rc = aios_cli_sampling_check(&spec, &sf)))
        return rc;
    struct aios_err err = {0};
    aios_engine *e = NULL;
    char *tpl = NULL;
    json_t *msgs = json_array();
    struct aios_engine_params ep = {.model_path = model,
                                    .n_ctx = (int)ctx,
                                    .n_parallel = 1,
                                    .n_threads = aios_cli_threads(cli)};
    aios_jinja_template *tpl_parsed = NULL;
    if (aios_engine_create(&ep, &e, &err) ||
        aios_chat_template_for_model(aios_engine_model(e), aios_engine_vocab(e), &tpl, NULL,
                                     &err) ||
        aios_jinja_parse(tpl, strlen(tpl), &tpl_parsed, &err)) {
        json_decref(msgs);
        aios_free(tpl);
        aios_engine_destroy(e);
        return aios_cli_fail(&spec, &err);
    }
    bool tty = isatty(0);
    char *line = NULL;
    size_t cap = 0;
    int status = AIOS_EXIT_OK;
    if (system)
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", system));
    size_t n_fixed = json_array_size(msgs);
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0)
            break;
        if (strcmp(line, "/reset") == 0) {
            while (json_array_size(msgs) > n_fixed)
                json_array_remove(msgs, n_fixed);
            continue;
        }
        json_array_append_new(msgs,
                              json_pack("{s:s, s:s%}", "role", "user", "content", line, (size_t)n));
        struct aios_llm_tokens toks;
        aios_llm_tokens_init(&toks, 0);
        /* Drop the oldest turns until the prompt leaves room for a reply. */
        for (;;) {
            aios_llm_tokens_free(&toks);
            aios_llm_tokens_init(&toks, 0);
            rc = aios_chat_tokens(tpl_parsed, aios_engine_vocab(e), msgs, NULL, &toks, &err);
            if (rc || (int)toks.n + 16 < aios_engine_n_ctx(e) ||
                json_array_size(msgs) <= n_fixed + 1)
                break;
            json_array_remove(msgs, n_fixed);
        }
        if (!rc && (int)toks.n + 16 >= aios_engine_n_ctx(e))
            rc = aios_err_set(&err, AIOS_ELIMIT, "the message does not fit the %d-token context",
                              aios_engine_n_ctx(e));
        if (rc) {
            aios_llm_tokens_free(&toks);
            fprintf(stderr, "aios chat: %s\n", err.msg);
            json_array_remove(msgs, json_array_size(msgs) - 1);
            status = AIOS_EXIT_FAIL;
            if (!tty)
                break;
            continue;
        }
        struct turn t = {0};
        aios_buf_init(&t.reply, 1 << 20);
        struct aios_gen_request r = {.prompt = toks.ids,
                                     .n_prompt = (int)toks.n,
                                     .max_tokens = (int)n_predict,
                                     .cb = chat_cb,
                                     .ud = &t};
        aios_cli_sampling_apply(&sf, &r.sampling);
        r.sampling.seed += json_array_size(msgs);
        rc = aios_engine_run(e, &r, &err);
        aios_llm_tokens_free(&toks);
        fputc('\n', stdout);
        fflush(stdout);
        if (rc || t.done.finish == AIOS_FINISH_ERROR) {
            fprintf(stderr, "aios chat: %s\n",
                    rc             ? err.msg
                    : t.done.error ? t.done.error
                                   : "failed");
            aios_buf_free(&t.reply);
            status = AIOS_EXIT_FAIL;
            break;
        }
        json_array_append_new(msgs, json_pack("{s:s, s:s%}", "role", "assistant", "content",
                                              t.reply.data ? t.reply.data : "", t.reply.len));
        aios_buf_free(&t.reply);
    }
    free(line); /* from getline */
    json_decref(msgs);
    aios_free(tpl);
    aios_jinja_free(tpl_parsed);
    aios_engine_destroy(e);
    return status;
}
