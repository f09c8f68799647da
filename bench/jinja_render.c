/*
 * Chat-template speed: parse time of each fixture template, and render time
 * and throughput (MB/s of prompt text) for conversations of 10, 100 and 1000
 * turns with tools, through each template. Usage: jinja_render [FIXTURES_DIR]
 * (default $AIOS_FIXTURES or AIOS_SOURCE_DIR/../shared/fixtures); without
 * fixtures only the built-in templates are measured.
 */
#include "llm/llm.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *conversation(int turns, json_t *tools)
{
    json_t *msgs = json_array();
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content",
                                          "You are an operations assistant."));
    for (int i = 0; i < turns; i++) {
        char u[160], a[200];
        snprintf(u, sizeof u, "Turn %d: the disk on node-%d is at 93%%, what should I check?", i,
                 i);
        snprintf(a, sizeof a,
                 "Check `du -sh /var/log/*` on node-%d and rotate the journal "
                 "(journalctl --vacuum-size=500M).",
                 i);
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", u));
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "assistant", "content", a));
    }
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", "Thanks."));
    json_t *ctx = NULL;
    aios_chat_context_build(msgs, tools, true, "<s>", "</s>", &ctx, NULL);
    json_decref(msgs);
    return ctx;
}

static void bench_one(const char *name, const char *src, size_t len, json_t *tools)
{
    struct aios_err err = {0};
    aios_jinja_template *t = NULL;
    double t0 = aios_time_s();
    int reps = 200;
    for (int r = 0; r < reps; r++) {
        aios_jinja_free(t);
        t = NULL;
        if (aios_jinja_parse(src, len, &t, &err)) {
            printf("%-45s parse error: %s\n", name, err.msg);
            return;
        }
    }
    double parse_us = (aios_time_s() - t0) / reps * 1e6;
    printf("%-45s parse %7.1f us", name, parse_us);
    static const int turns[] = {10, 100, 1000};
    for (int k = 0; k < 3; k++) {
        json_t *ctx = conversation(turns[k], tools);
        int n = turns[k] >= 1000 ? 5 : 50;
        size_t bytes = 0;
        char *out = NULL;
        double t1 = aios_time_s();
        int rc = AIOS_OK;
        for (int r = 0; r < n && !rc; r++) {
            aios_free(out);
            out = NULL;
            rc = aios_jinja_render(t, ctx, 1721952000, NULL, &out, &bytes, &err);
        }
        double dt = (aios_time_s() - t1) / n;
        if (rc)
            printf(" | %d turns: %s", turns[k], err.msg);
        else
            printf(" | %4d turns %8.3f ms %6.1f MB/s", turns[k], dt * 1e3, bytes / dt / 1e6);
        aios_free(out);
        json_decref(ctx);
    }
    printf("\n");
    aios_jinja_free(t);
}

int main(int argc, char **argv)
{
    char dir[4096];
    const char *fx = argc > 1 ? argv[1] : getenv("AIOS_FIXTURES");
    if (fx)
        snprintf(dir, sizeof dir, "%s/chat/templates", fx);
    else
        snprintf(dir, sizeof dir, "%s/../shared/fixtures/chat/templates", AIOS_SOURCE_DIR);
    json_t *tools = json_loads("[{\"type\": \"function\", \"function\": {\"name\": \"run_shell\", "
                               "\"description\": \"Run a read-only command.\", \"parameters\": "
                               "{\"type\": \"object\", \"properties\": {\"command\": {\"type\": "
                               "\"string\"}}, \"required\": [\"command\"]}}}]",
                               0, NULL);
    for (const char *const *n = aios_chat_template_builtin_names(); *n; n++) {
        const char *src = aios_chat_template_builtin(*n);
        bench_one(*n, src, strlen(src), NULL);
    }
    DIR *d = opendir(dir);
    if (!d) {
        printf("%s: not found, fixture templates skipped\n", dir);
    } else {
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 7 || strcmp(e->d_name + n - 6, ".jinja") != 0)
                continue;
            char path[8300];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            char *src = NULL;
            size_t len = 0;
            if (aios_read_file(path, AIOS_JINJA_MAX_SOURCE, &src, &len, NULL) == AIOS_OK) {
                /* Mistral templates need alternating turns: these are */
                bench_one(e->d_name, src, len, tools);
                aios_free(src);
            }
        }
        closedir(d);
    }
    json_decref(tools);
    return 0;
}
