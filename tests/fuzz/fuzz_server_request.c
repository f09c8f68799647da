/* libFuzzer target: arbitrary bytes as an OpenAI request body through the
 * same path the HTTP layer takes (bounded JSON parse, then validation of
 * chat, completion and embedding requests). Validation must never crash,
 * leak or read out of bounds, and every rejection must carry a message. */
#include "server/server.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    struct aios_err err;
    if (aios_json_parse((const char *)data, size, 1 << 20, &body, &err) != AIOS_OK)
        return 0;
    static const enum aios_server_req_kind kinds[] = {AIOS_SERVER_REQ_CHAT,
                                                      AIOS_SERVER_REQ_COMPLETION};
    for (int k = 0; k < 2; k++) {
        aios_arena *a = aios_arena_create(4096, 4 << 20);
        struct aios_server_gen_request req;
        struct aios_server_apierr e = {0};
        int rc = aios_server_gen_request_parse(kinds[k], body, a, &req, &e);
        if (rc && !e.message[0])
            abort();
        if (rc == 0 && kinds[k] == AIOS_SERVER_REQ_CHAT)
            for (size_t i = 0; i < req.n_messages; i++)
                if (!req.messages[i].role)
                    abort();
        char *s = rc ? aios_server_apierr_json(&e) : NULL;
        if (rc && !s)
            abort();
        aios_free(s);
        aios_arena_destroy(a);
    }
    aios_arena *a = aios_arena_create(4096, 4 << 20);
    struct aios_server_embed_request q;
    struct aios_server_apierr e = {0};
    aios_server_embed_request_parse(body, a, &q, &e);
    aios_arena_destroy(a);
    json_decref(body);
    return 0;
}
