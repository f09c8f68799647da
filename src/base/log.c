/* Leveled logging with a replaceable sink. The default sink writes one line
 * per message to stderr: time, level, module, message. */
#include "base/base.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum aios_log_level g_level = AIOS_LOG_INFO;
static aios_log_sink_fn g_sink;
static void *g_sink_ud;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

const char *aios_log_level_str(enum aios_log_level level)
{
    return (unsigned)level <= AIOS_LOG_OFF ? level_names[level] : "?";
}

int aios_log_level_parse(const char *s, enum aios_log_level *out)
{
    for (int i = 0; i <= AIOS_LOG_OFF; i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (enum aios_log_level)i;
            return AIOS_OK;
        }
    }
    if (s && strcasecmp(s, "warning") == 0) {
        *out = AIOS_LOG_WARN;
        return AIOS_OK;
    }
    return AIOS_EINVAL;
}

void aios_log_set_level(enum aios_log_level level)
{
    g_level = level;
}

enum aios_log_level aios_log_get_level(void)
{
    return g_level;
}

void aios_log_set_sink(aios_log_sink_fn fn, void *ud)
{
    pthread_mutex_lock(&g_lock);
    g_sink = fn;
    g_sink_ud = ud;
    pthread_mutex_unlock(&g_lock);
}

static void default_sink(enum aios_log_level level, const char *module, const char *msg)
{
    char ts[32];
    aios_fmt_time_iso(aios_wall_ms(), ts, sizeof ts);
    fprintf(stderr, "%s %-5s %s: %s\n", ts, aios_log_level_str(level), module ? module : "-", msg);
}

void aios_log(enum aios_log_level level, const char *module, const char *fmt, ...)
{
    if (level < g_level || level >= AIOS_LOG_OFF)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_lock);
    if (g_sink)
        g_sink(g_sink_ud, level, module, msg);
    else
        default_sink(level, module, msg);
    pthread_mutex_unlock(&g_lock);
}
