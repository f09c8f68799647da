/* libFuzzer target for alarm intake and the checks catalogue: the input is
 * a JSON payload validated and applied to an in-memory store (byte 0 even)
 * or a checks file in YAML/JSON (byte 0 odd). Nothing may crash, leak or
 * leave a transaction open, and a failed intake must store nothing. */
#include "ops/ops.h"

#include <string.h>

static aios_store *st;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        json_t *out = NULL;
        if (aios_ops_checks_parse(data[0] & 2 ? "f.json" : "f.yaml", text, len, &out, NULL) ==
            AIOS_OK)
            json_decref(out);
        return 0;
    }
    if (!st) {
        struct aios_store_opts o = {.path = ":memory:"};
        if (aios_store_open(&o, &st, NULL) != AIOS_OK)
            __builtin_trap();
    }
    json_t *body = NULL;
    if (aios_json_parse(text, len, 1 << 20, &body, NULL) != AIOS_OK)
        return 0;
    struct aios_ops_alarm_opts o = {.now_ms = 1795942800000LL, .group_by = "alertname,job"};
    json_t *res = NULL;
    aios_ops_alarms_post(st, body, &o, &res, NULL);
    json_decref(res);
    json_decref(body);
    if (aios_store_tx_depth(st) != 0)
        __builtin_trap();
    return 0;
}
