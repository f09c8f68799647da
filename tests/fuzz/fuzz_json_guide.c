/*
 * libFuzzer target for the JSON guide and tool-call parsing. Input: a
 * schema, a NUL byte, then text (no NUL: json_object mode, all input is
 * text). The schema must compile or be refused with a message; the text is
 * fed in pieces of 1..4 bytes, and accept() must agree with feed() on every
 * piece. Oracle: a text the guide takes as complete must parse as JSON
 * (jansson; numbers beyond double range excepted), and be an object in
 * json_object mode. The text also goes
 * through aios_tool_calls_parse, which must return AIOS_OK with either
 * calls or the whole text. Seeds: tests/fuzz/corpus/fuzz_json_guide.
 */
#include "llm/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    const char *d = (const char *)data;
    const char *nul = memchr(d, 0, size);
    json_t *schema = NULL;
    const char *text = d;
    size_t n = size;
    if (nul) {
        schema = json_loadb(d, (size_t)(nul - d), JSON_DECODE_ANY, NULL);
        if (!schema)
            return 0;
        text = nul + 1;
        n = size - (size_t)(nul - d) - 1;
    }
    aios_json_guide *g = NULL;
    struct aios_err err = {0};
    int rc = aios_json_guide_create(schema, &g, &err);
    if (rc != AIOS_OK) {
        if (!err.msg[0])
            abort(); /* a refusal always says why */
    } else {
        size_t i = 0;
        bool ok = true;
        while (i < n && ok) {
            size_t k = 1 + (i * 7 + n) % 4;
            if (k > n - i)
                k = n - i;
            bool a = aios_json_guide_accept(g, text + i, k);
            ok = aios_json_guide_feed(g, text + i, k) == AIOS_OK;
            if (a != ok)
                abort();
            i += k;
        }
        if (ok && aios_json_guide_complete(g)) {
            json_error_t je;
            json_t *v = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
            /* jansson refuses numbers past double range; JSON does not */
            if (!v && !strstr(je.text, "overflow") && !strstr(je.text, "too big"))
                abort();
            if (v && !schema && !json_is_object(v))
                abort();
            json_decref(v);
        }
        aios_json_guide_free(g);
    }
    json_decref(schema);

    json_t *calls = NULL;
    char *content = NULL;
    if (aios_tool_calls_parse(text, n, &calls, &content, NULL) != AIOS_OK)
        abort();
    if (!calls && (!content || strlen(content) > n))
        abort();
    json_decref(calls);
    aios_free(content);
    return 0;
}
