/* Status codes (from the one table in base.h) and struct aios_err. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>

const char *aios_status_str(int status)
{
    switch (status) {
#define X(name, code, str)                                                                         \
    case code:                                                                                     \
        return str;
        AIOS_STATUS_TABLE(X)
#undef X
    }
    return "unknown status";
}

const char *aios_status_name(int status)
{
    switch (status) {
#define X(name, code, str)                                                                         \
    case code:                                                                                     \
        return #name;
        AIOS_STATUS_TABLE(X)
#undef X
    }
    return "UNKNOWN";
}

int aios_err_setv(struct aios_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int aios_err_set(struct aios_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    aios_err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void aios_err_prefix(struct aios_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[AIOS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    char old[AIOS_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = 0;
    snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
}

void aios_err_clear(struct aios_err *err)
{
    if (err) {
        err->code = AIOS_OK;
        err->msg[0] = 0;
    }
}
