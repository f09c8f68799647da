/* Clocks: monotonic for measuring, wall for timestamps. */
#include "base/base.h"

#include <stdio.h>
#include <time.h>

uint64_t aios_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double aios_time_s(void)
{
    return (double)aios_time_ns() * 1e-9;
}

int64_t aios_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *aios_fmt_time_iso(int64_t epoch_ms, char *buf, size_t size)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
