/* CPU feature detection: cpuid leaves 1, 7 (subleaf 0 and 1) and the
 * extended brand string, masked by what the OS saves (XGETBV), then by
 * AIOS_CPU_DISABLE so that tests can force the narrower kernel paths. */
#include "base/base.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}
#endif

static struct aios_cpu g_cpu;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static void detect(void)
{
    struct aios_cpu *c = &g_cpu;
    aios_strlcpy(c->vendor, "unknown", sizeof c->vendor);
#if defined(__x86_64__)
    unsigned a, b, cx, d;
    if (!__get_cpuid(0, &a, &b, &cx, &d))
        return;
    unsigned maxleaf = a;
    memcpy(c->vendor, &b, 4);
    memcpy(c->vendor + 4, &d, 4);
    memcpy(c->vendor + 8, &cx, 4);
    c->vendor[12] = 0;
    __cpuid(1, a, b, cx, d);
    bool osxsave = cx & (1u << 27);
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool ymm = (xcr0 & 6) == 6;
    bool zmm = (xcr0 & 0xe6) == 0xe6;
    bool tiles = (xcr0 & (3u << 17)) == (3u << 17);
    c->sse42 = cx & (1u << 20);
    c->avx = (cx & (1u << 28)) && ymm;
    c->fma = (cx & (1u << 12)) && ymm;
    c->f16c = (cx & (1u << 29)) && ymm;
    if (maxleaf >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        c->avx2 = (b & (1u << 5)) && ymm;
        c->bmi2 = b & (1u << 8);
        c->avx512f = (b & (1u << 16)) && zmm;
        c->avx512dq = (b & (1u << 17)) && zmm;
        c->avx512bw = (b & (1u << 30)) && zmm;
        c->avx512vl = (b & (1u << 31)) && zmm;
        c->avx512vnni = (cx & (1u << 11)) && zmm;
        c->amx_bf16 = (d & (1u << 22)) && tiles;
        c->amx_tile = (d & (1u << 24)) && tiles;
        c->amx_int8 = (d & (1u << 25)) && tiles;
        __cpuid_count(7, 1, a, b, cx, d);
        c->avxvnni = (a & (1u << 4)) && ymm;
        c->avx512bf16 = (a & (1u << 5)) && zmm;
    }
    __cpuid(0x80000000, a, b, cx, d);
    if (a >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        memcpy(c->brand, r, 48);
        c->brand[48] = 0;
        char *s = c->brand;
        while (*s == ' ')
            s++;
        memmove(c->brand, s, strlen(s) + 1);
    }
#endif
    const char *dis = getenv("AIOS_CPU_DISABLE");
    if (dis && *dis) {
        if (listed(dis, "avx512") || listed(dis, "avx2") || listed(dis, "avx")) {
            c->avx512f = c->avx512bw = c->avx512vl = c->avx512dq = false;
            c->avx512vnni = c->avx512bf16 = false;
            c->amx_tile = c->amx_int8 = c->amx_bf16 = false;
        }
        if (listed(dis, "avx2") || listed(dis, "avx")) {
            c->avx2 = c->fma = c->avxvnni = false;
        }
        if (listed(dis, "avx"))
            c->avx = c->f16c = false;
        if (listed(dis, "vnni"))
            c->avx512vnni = c->avxvnni = false;
        if (listed(dis, "amx"))
            c->amx_tile = c->amx_int8 = c->amx_bf16 = false;
    }
}

const struct aios_cpu *aios_cpu_get(void)
{
    pthread_once(&g_once, detect);
    return &g_cpu;
}

const char *aios_cpu_features_str(const struct aios_cpu *c, char *buf, size_t size)
{
    struct {
        bool on;
        const char *name;
    } f[] = {
        {c->sse42, "sse4.2"},
        {c->avx, "avx"},
        {c->avx2, "avx2"},
        {c->fma, "fma"},
        {c->f16c, "f16c"},
        {c->bmi2, "bmi2"},
        {c->avxvnni, "avx-vnni"},
        {c->avx512f, "avx512f"},
        {c->avx512bw, "avx512bw"},
        {c->avx512vl, "avx512vl"},
        {c->avx512dq, "avx512dq"},
        {c->avx512vnni, "avx512vnni"},
        {c->avx512bf16, "avx512bf16"},
        {c->amx_tile, "amx-tile"},
        {c->amx_int8, "amx-int8"},
        {c->amx_bf16, "amx-bf16"},
    };
    size_t used = 0;
    if (size)
        buf[0] = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].on)
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", f[i].name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    return buf;
}
