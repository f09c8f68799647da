/*
 * API keys: the platform's stored keys and the constant-time check of a
 * presented key.
 *
 * Keys never rest in plaintext: data_dir/api-keys holds one SHA-256 hash per
 * line ("<64 hex digits> [label]", '#' comments). A fast hash is enough here
 * because keys are long random strings, not passwords. The file is the
 * stand-in until the store lands; everything else goes through
 * aios_server_keys_add / aios_server_keys_load, so moving them is local.
 */
#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define KEYS_FILE "api-keys"
#define KEYS_FILE_MAX (4u << 20)
#define KEYS_MAX 100000

static int keys_path(const char *data_dir, char *out, size_t size, struct aios_err *err)
{
    if (!data_dir || !*data_dir)
        return aios_err_set(err, AIOS_EINVAL, "no data directory for stored API keys");
    if ((size_t)snprintf(out, size, "%s/%s", data_dir, KEYS_FILE) >= size)
        return aios_err_set(err, AIOS_ELIMIT, "data directory path is too long");
    return AIOS_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int aios_server_keys_load(const char *data_dir, uint8_t (**hashes)[32], int *n,
                          struct aios_err *err)
{
    char path[4096];
    int rc = keys_path(data_dir, path, sizeof path, err);
    if (rc)
        return rc;
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return AIOS_OK;
    rc = aios_read_file(path, KEYS_FILE_MAX, &text, &len, err);
    if (rc)
        return rc;
    int lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == 0 || *line == '#' || *line == '\r')
            continue;
        uint8_t h[32];
        int i = 0;
        for (; i < 32; i++) {
            int hi = hexval(line[2 * i]), lo = hi < 0 ? -1 : hexval(line[2 * i + 1]);
            if (hi < 0 || lo < 0)
                break;
            h[i] = (uint8_t)(hi << 4 | lo);
        }
        char after = i == 32 ? line[64] : 'x';
        if (i != 32 || !(after == 0 || after == ' ' || after == '\t' || after == '\r')) {
            aios_free(text);
            return aios_err_set(err, AIOS_EFORMAT, "%s:%d: expected a SHA-256 hash (64 hex digits)",
                                path, lineno);
        }
        if (*n >= KEYS_MAX) {
            aios_free(text);
            return aios_err_set(err, AIOS_ELIMIT, "%s: more than %d keys", path, KEYS_MAX);
        }
        uint8_t(*nh)[32] = aios_realloc(*hashes, sizeof **hashes * (size_t)(*n + 1));
        if (!nh) {
            aios_free(text);
            return aios_err_set(err, AIOS_ENOMEM, "out of memory loading API keys");
        }
        memcpy(nh[*n], h, 32);
        *hashes = nh;
        (*n)++;
    }
    aios_free(text);
    return AIOS_OK;
}

int aios_server_keys_add(const char *data_dir, const char *key, const char *label,
                         struct aios_err *err)
{
    char path[4096];
    int rc = keys_path(data_dir, path, sizeof path, err);
    if (rc)
        return rc;
    if (!key || strlen(key) < 8)
        return aios_err_set(err, AIOS_EINVAL, "an API key needs at least 8 characters");
    if (label && strpbrk(label, "\r\n"))
        return aios_err_set(err, AIOS_EINVAL, "a key label cannot contain a line break");
    rc = aios_mkdir_p(data_dir, err);
    if (rc)
        return rc;
    char *old = NULL;
    size_t oldlen = 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        rc = aios_read_file(path, KEYS_FILE_MAX, &old, &oldlen, err);
        if (rc)
            return rc;
    }
    char hex[65];
    aios_sha256_hex(key, strlen(key), hex);
    struct aios_buf b;
    aios_buf_init(&b, KEYS_FILE_MAX);
    rc = aios_buf_append(&b, old ? old : "", oldlen);
    if (rc == AIOS_OK && oldlen && old[oldlen - 1] != '\n')
        rc = aios_buf_putc(&b, '\n');
    if (rc == AIOS_OK)
        rc = aios_buf_printf(&b, "%s%s%s\n", hex, label && *label ? " " : "", label ? label : "");
    if (rc == AIOS_OK)
        rc = aios_write_file_atomic(path, b.data, b.len, err);
    else
        aios_err_set(err, rc, "API key file would exceed %u bytes", KEYS_FILE_MAX);
    aios_buf_free(&b);
    aios_free(old);
    if (rc == AIOS_OK)
        chmod(path, 0600);
    return rc;
}

bool aios_server_keys_match(const uint8_t (*hashes)[32], int n, const char *key, size_t len)
{
    uint8_t h[32];
    struct aios_sha256 s;
    aios_sha256_init(&s);
    aios_sha256_update(&s, key, len);
    aios_sha256_final(&s, h);
    /* Every stored hash is compared in full and the verdicts OR-ed, so the
     * time is the same whichever entry matches. */
    volatile uint8_t any = 0;
    for (int i = 0; i < n; i++) {
        uint8_t diff = 0;
        for (int j = 0; j < 32; j++)
            diff |= (uint8_t)(hashes[i][j] ^ h[j]);
        any |= (uint8_t)((((unsigned)diff - 1u) >> 8) & 1u); /* 1 iff diff == 0, no branch */
    }
    return any != 0;
}
