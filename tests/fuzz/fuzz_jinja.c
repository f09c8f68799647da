/*
 * libFuzzer target for the Jinja engine of chat templates. Any input is a
 * template: aios_jinja_parse must accept it or refuse it with a message, and
 * an accepted template must render within small limits (steps, output,
 * values created, list length, depth) or fail with a message: never crash,
 * hang or leak. The context is a short conversation with a tool call.
 * Seeds: tests/fuzz/corpus/fuzz_jinja (small templates written here).
 */
#include "llm/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ctx_text[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"sys\"}, {\"role\": \"user\", "
    "\"content\": \"  hi \\u00e9 \"}, {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": "
    "[{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": "
    "{\"a\": 1, \"b\": [true, null, 2.5]}}}]}, {\"role\": \"tool\", \"content\": \"{}\"}], "
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {}}}], "
    "\"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *ctx;
    if (!ctx && aios_json_parse(ctx_text, sizeof ctx_text - 1, 0, &ctx, NULL) != AIOS_OK)
        abort();
    struct aios_jinja_limits lim;
    aios_jinja_limits_default(&lim);
    lim.max_steps = 50000;
    lim.max_output = 64 << 10;
    lim.max_created = 4 << 20;
    lim.max_list = 4096;
    lim.max_depth = 16;
    aios_jinja_template *t = NULL;
    struct aios_err err = {0};
    if (aios_jinja_parse((const char *)data, size, &t, &err) != AIOS_OK) {
        if (!err.msg[0])
            abort(); /* every refusal says why */
        return 0;
    }
    char *out = NULL;
    size_t len = 0;
    aios_err_clear(&err);
    int rc = aios_jinja_render(t, ctx, 1721952000, &lim, &out, &len, &err);
    if (rc == AIOS_OK) {
        if (!out || strlen(out) > len || len > lim.max_output)
            abort();
    } else if (!err.msg[0] || out) {
        abort();
    }
    aios_free(out);
    aios_jinja_free(t);
    return 0;
}
