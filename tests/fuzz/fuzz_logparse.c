/* libFuzzer target for the log parser: the input's first line is a log
 * format (compiled if it can be), the rest are log lines fed through it to
 * a parser with small limits, so cuts, overflow and masks all run. */
#include "ops/ops.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    aios_ops_logfmt *fmt = NULL;
    if (nl && nl - p < 256) {
        char f[256];
        memcpy(f, p, (size_t)(nl - p));
        f[nl - p] = 0;
        if (aios_ops_logfmt_compile(f, &fmt, NULL) != AIOS_OK)
            fmt = NULL;
        p = nl + 1;
    }
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.max_clusters = 8;
    o.max_children = 3;
    o.max_line = 64;
    o.max_tokens = 6;
    const char *masks[] = {"[0-9]+x", "a*"};
    o.masks = masks;
    o.nmasks = size % 3 == 0 ? 2 : 0;
    aios_ops_drain *d = NULL;
    if (aios_ops_drain_create(&o, &d, NULL) != AIOS_OK) {
        aios_ops_logfmt_free(fmt);
        return 0;
    }
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        const char *m = p;
        size_t ml = (size_t)(e - p);
        if (fmt)
            aios_ops_logfmt_content(fmt, p, ml, &m, &ml);
        int id = aios_ops_drain_add(d, m, ml);
        if (id >= 0 && !aios_ops_drain_template(d, id))
            __builtin_trap();
        p = e + 1;
    }
    if (aios_ops_drain_count(d) > 9)
        __builtin_trap(); /* max_clusters + the overflow cluster */
    aios_ops_drain_destroy(d);
    aios_ops_logfmt_free(fmt);
    return 0;
}
