/* Bounded growable buffers, safe string and number helpers, whole-file I/O. */
#include "base/base.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void aios_buf_init(struct aios_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : AIOS_BUF_DEFAULT_MAX;
}

void aios_buf_free(struct aios_buf *b)
{
    aios_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void aios_buf_reset(struct aios_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

static int reserve(struct aios_buf *b, size_t extra)
{
    size_t max = b->max ? b->max : AIOS_BUF_DEFAULT_MAX;
    if (extra > max || b->len > max - extra)
        return AIOS_ELIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return AIOS_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > max + 1)
        cap = max + 1;
    char *d = aios_realloc(b->data, cap);
    if (!d)
        return AIOS_ENOMEM;
    b->data = d;
    b->cap = cap;
    return AIOS_OK;
}

int aios_buf_append(struct aios_buf *b, const void *data, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
    return AIOS_OK;
}

int aios_buf_puts(struct aios_buf *b, const char *s)
{
    return aios_buf_append(b, s, strlen(s));
}

int aios_buf_putc(struct aios_buf *b, char c)
{
    return aios_buf_append(b, &c, 1);
}

int aios_buf_vprintf(struct aios_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return AIOS_EINVAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return AIOS_OK;
}

int aios_buf_printf(struct aios_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = aios_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *aios_buf_detach(struct aios_buf *b)
{
    char *d = b->data;
    if (!d)
        d = aios_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

size_t aios_strlcpy(char *dst, const char *src, size_t dstsize)
{
    size_t n = strlen(src);
    if (dstsize) {
        size_t c = n < dstsize - 1 ? n : dstsize - 1;
        memcpy(dst, src, c);
        dst[c] = 0;
    }
    return n;
}

/* strto* skip leading blanks; strict parsing does not. */
static bool bad_start(const char *s)
{
    return !s || !*s || isspace((unsigned char)*s);
}

int aios_parse_i64(const char *s, int64_t *out)
{
    if (bad_start(s))
        return AIOS_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return AIOS_ERANGE;
    if (*end || end == s)
        return AIOS_EINVAL;
    *out = v;
    return AIOS_OK;
}

int aios_parse_u64(const char *s, uint64_t *out)
{
    if (bad_start(s) || *s == '-')
        return AIOS_EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return AIOS_ERANGE;
    if (*end || end == s)
        return AIOS_EINVAL;
    *out = v;
    return AIOS_OK;
}

int aios_parse_double(const char *s, double *out)
{
    if (bad_start(s))
        return AIOS_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s)
        return AIOS_EINVAL;
    if (errno == ERANGE || isnan(v))
        return AIOS_ERANGE;
    *out = v;
    return AIOS_OK;
}

int aios_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "true", "yes", "on"};
    static const char *const f[] = {"0", "false", "no", "off"};
    for (int i = 0; s && i < 4; i++) {
        if (strcasecmp(s, t[i]) == 0) {
            *out = true;
            return AIOS_OK;
        }
        if (strcasecmp(s, f[i]) == 0) {
            *out = false;
            return AIOS_OK;
        }
    }
    return AIOS_EINVAL;
}

const char *aios_fmt_bytes(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

int aios_read_file(const char *path, size_t max, char **out, size_t *len, struct aios_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return aios_err_set(err, errno == ENOENT ? AIOS_ENOTFOUND : AIOS_EIO, "%s: %s", path,
                            strerror(errno));
    struct aios_buf b;
    aios_buf_init(&b, max);
    char chunk[65536];
    int rc = AIOS_OK;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = aios_err_set(err, AIOS_EIO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        rc = aios_buf_append(&b, chunk, (size_t)r);
        if (rc) {
            if (rc == AIOS_ELIMIT)
                aios_err_set(err, rc, "%s: larger than the limit of %zu bytes", path, max);
            else
                aios_err_set(err, rc, "%s: out of memory", path);
            break;
        }
    }
    close(fd);
    if (rc) {
        aios_buf_free(&b);
        return rc;
    }
    if (len)
        *len = b.len;
    *out = aios_buf_detach(&b);
    return *out ? AIOS_OK : aios_err_set(err, AIOS_ENOMEM, "out of memory");
}

int aios_write_file_atomic(const char *path, const void *data, size_t len, struct aios_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= sizeof tmp)
        return aios_err_set(err, AIOS_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return aios_err_set(err, AIOS_EIO, "%s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return aios_err_set(err, AIOS_EIO, "%s: write: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return aios_err_set(err, AIOS_EIO, "%s: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return aios_err_set(err, AIOS_EIO, "rename to %s: %s", path, strerror(e));
    }
    return AIOS_OK;
}

int aios_mkdir_p(const char *path, struct aios_err *err)
{
    char buf[4096];
    if (aios_strlcpy(buf, path, sizeof buf) >= sizeof buf)
        return aios_err_set(err, AIOS_EINVAL, "path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return aios_err_set(err, AIOS_EIO, "mkdir %s: %s", buf, strerror(errno));
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return aios_err_set(err, AIOS_EIO, "%s exists and is not a directory", buf);
            *p = c;
            if (!c)
                break;
        }
    }
    return AIOS_OK;
}
