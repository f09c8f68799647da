/*
 * Reading what the registry records about a model file: the GGUF reader
 * validates the file and gives architecture, file type, context length,
 * tokenizer, parameter count and a selection of metadata; the file is then
 * hashed (SHA-256) in 1 MiB reads with an optional progress callback.
 *
 * Selected metadata: every scalar key under general., <arch>. and
 * tokenizer.ggml.; strings over 1 KiB (chat templates) and arrays
 * (vocabularies) are summarised by their size rather than copied, so one
 * version's record stays a few KiB whatever the model.
 */
#include "gguf/gguf.h"
#include "mlops/mlops.h"

#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_STR_MAX 1024
#define META_KEYS_MAX 512

/* Names of llama.cpp's general.file_type values (enum llama_ftype). */
static const char *const ftype_names[] = {
    [0] = "F32",      [1] = "F16",      [2] = "Q4_0",       [3] = "Q4_1",    [7] = "Q8_0",
    [8] = "Q5_0",     [9] = "Q5_1",     [10] = "Q2_K",      [11] = "Q3_K_S", [12] = "Q3_K_M",
    [13] = "Q3_K_L",  [14] = "Q4_K_S",  [15] = "Q4_K_M",    [16] = "Q5_K_S", [17] = "Q5_K_M",
    [18] = "Q6_K",    [19] = "IQ2_XXS", [20] = "IQ2_XS",    [21] = "Q2_K_S", [22] = "IQ3_XS",
    [23] = "IQ3_XXS", [24] = "IQ1_S",   [25] = "IQ4_NL",    [26] = "IQ3_S",  [27] = "IQ3_M",
    [28] = "IQ2_S",   [29] = "IQ2_M",   [30] = "IQ4_XS",    [31] = "IQ1_M",  [32] = "BF16",
    [36] = "TQ1_0",   [37] = "TQ2_0",   [38] = "MXFP4_MOE",
};

/* The file type: general.file_type when it names a known type, else the
 * tensor type holding the most bytes (files written by other tools). */
static const char *file_type(const aios_gguf *g)
{
    uint32_t ft;
    if (aios_gguf_get_u32(g, "general.file_type", &ft, NULL) == AIOS_OK &&
        ft < sizeof ftype_names / sizeof ftype_names[0] && ftype_names[ft])
        return ftype_names[ft];
    uint64_t bytes[AIOS_GGML_TYPE_COUNT] = {0};
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
        const struct aios_gguf_tensor *t = aios_gguf_tensor(g, i);
        if (t->type < AIOS_GGML_TYPE_COUNT)
            bytes[t->type] += t->size;
    }
    int best = -1;
    for (int t = 0; t < AIOS_GGML_TYPE_COUNT; t++)
        if (bytes[t] && (best < 0 || bytes[t] > bytes[best]))
            best = t;
    return best < 0 ? "unknown" : aios_ggml_type_name((uint32_t)best);
}

static bool selected(const char *key, const char *arch)
{
    size_t an = strlen(arch);
    return strncmp(key, "general.", 8) == 0 || strncmp(key, "tokenizer.ggml.", 15) == 0 ||
           (an && strncmp(key, arch, an) == 0 && key[an] == '.');
}

/* JSON for one value, or NULL to leave it out (e.g. invalid UTF-8). */
static json_t *value_json(const struct aios_gguf_value *v)
{
    switch (v->type) {
    case AIOS_GGUF_UINT8:
    case AIOS_GGUF_UINT16:
    case AIOS_GGUF_UINT32:
    case AIOS_GGUF_UINT64:
        return v->v.u64 > (uint64_t)INT64_MAX ? json_real((double)v->v.u64)
                                              : json_integer((json_int_t)v->v.u64);
    case AIOS_GGUF_INT8:
    case AIOS_GGUF_INT16:
    case AIOS_GGUF_INT32:
    case AIOS_GGUF_INT64:
        return json_integer(v->v.i64);
    case AIOS_GGUF_FLOAT32:
    case AIOS_GGUF_FLOAT64:
        return json_real(v->v.f64);
    case AIOS_GGUF_BOOL:
        return json_boolean(v->v.u64 != 0);
    case AIOS_GGUF_STRING:
        if (v->v.str.len > META_STR_MAX) {
            json_t *o = json_object();
            if (o)
                json_object_set_new(o, "string_bytes", json_integer((json_int_t)v->v.str.len));
            return o;
        }
        return json_stringn(v->v.str.data, v->v.str.len);
    case AIOS_GGUF_ARRAY: {
        json_t *o = json_object();
        if (o) {
            json_object_set_new(o, "array", json_string(aios_gguf_vtype_name(v->v.arr.elem_type)));
            json_object_set_new(o, "n", json_integer((json_int_t)v->v.arr.n));
        }
        return o;
    }
    }
    return NULL;
}

static int hash_file(const char *path, uint64_t expect, aios_registry_progress_fn progress,
                     void *ud, char hex[65], struct aios_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return aios_err_set(err, AIOS_EIO, "%s: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = aios_malloc(CHUNK);
    if (!buf) {
        close(fd);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    /* OpenSSL's SHA-256 uses the CPU's SHA extensions where present: about
     * 1.8 GB/s on one core against 0.33 GB/s for base's portable one, which
     * is what a multi-gigabyte model costs at every registration and every
     * `aios serve --model REF`. The digests are the same. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        aios_free(buf);
        close(fd);
        return aios_err_set(err, AIOS_ENOMEM, "cannot set up SHA-256");
    }
    uint64_t done = 0;
    int rc = AIOS_OK;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = aios_err_set(err, AIOS_EIO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
            rc = aios_err_set(err, AIOS_EINTERNAL, "%s: SHA-256 update failed", path);
            break;
        }
        done += (uint64_t)r;
        if (progress)
            progress(ud, done, expect);
    }
    aios_free(buf);
    close(fd);
    if (!rc && done != expect)
        rc = aios_err_set(err, AIOS_EIO, "%s changed while it was read (%llu bytes, expected %llu)",
                          path, (unsigned long long)done, (unsigned long long)expect);
    if (!rc) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (EVP_DigestFinal_ex(ctx, d, &dlen) != 1 || dlen != 32)
            rc = aios_err_set(err, AIOS_EINTERNAL, "%s: SHA-256 final failed", path);
        else
            aios_hex_encode(d, 32, hex);
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

int aios_registry_inspect(const char *path, aios_registry_progress_fn progress, void *ud,
                          struct aios_registry_file *out, struct aios_err *err)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return aios_err_set(err, errno == ENOENT ? AIOS_ENOTFOUND : AIOS_EIO, "%s: %s", path,
                            strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return aios_err_set(err, AIOS_EINVAL, "%s is not a regular file", path);
    aios_gguf *g = NULL;
    int rc = aios_gguf_open(path, &g, err);
    if (rc) {
        if (rc == AIOS_EFORMAT || rc == AIOS_EPARSE)
            aios_err_prefix(err, "not a valid GGUF model file");
        return rc;
    }
    char *arch = NULL;
    rc = aios_gguf_get_str(g, "general.architecture", &arch, err);
    if (rc == AIOS_ENOTFOUND)
        rc = aios_err_set(err, AIOS_EFORMAT, "%s: GGUF without general.architecture", path);
    if (rc)
        goto out;
    out->architecture = arch;
    char key[256];
    snprintf(key, sizeof key, "%s.context_length", arch);
    int64_t ctx = 0;
    if (aios_gguf_get_i64(g, key, &ctx, NULL) != AIOS_OK || ctx < 0)
        ctx = 0;
    out->context_length = ctx;
    rc = aios_gguf_get_str(g, "tokenizer.ggml.model", &out->tokenizer, NULL);
    if (rc == AIOS_ENOTFOUND || rc == AIOS_EFORMAT)
        out->tokenizer = aios_strdup("");
    rc = AIOS_OK;
    out->file_type = aios_strdup(file_type(g));
    int64_t params = 0;
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
        const struct aios_gguf_tensor *t = aios_gguf_tensor(g, i);
        int64_t n = 1;
        for (int d = 0; d < 4; d++)
            n *= t->ne[d]; /* the reader bounded every tensor by the file size */
        params += n;
    }
    out->n_params = params;
    out->size_bytes = (int64_t)aios_gguf_file_size(g);
    out->metadata = json_object();
    char *abs = realpath(path, NULL); /* libc allocation: copy into ours */
    out->path = abs ? aios_strdup(abs) : NULL;
    free(abs);
    if (!out->tokenizer || !out->file_type || !out->metadata || !out->path) {
        rc = aios_err_set(err, AIOS_ENOMEM, "out of memory");
        goto out;
    }
    int nkeys = 0;
    for (int64_t i = 0; i < aios_gguf_n_kv(g) && nkeys < META_KEYS_MAX; i++) {
        const char *k = aios_gguf_kv_key(g, i);
        if (!selected(k, arch))
            continue;
        json_t *jv = value_json(aios_gguf_kv_value(g, i));
        if (jv && json_object_set_new(out->metadata, k, jv) == 0)
            nkeys++;
    }
    rc = hash_file(path, aios_gguf_file_size(g), progress, ud, out->sha256, err);
out:
    aios_gguf_close(g);
    if (rc)
        aios_registry_file_free(out);
    return rc;
}

int aios_registry_verify(const struct aios_store_model_version *v, const char *ref,
                         aios_registry_progress_fn progress, void *ud, struct aios_err *err)
{
    struct stat sb;
    if (stat(v->path, &sb) != 0)
        return aios_err_set(err, errno == ENOENT ? AIOS_ENOTFOUND : AIOS_EIO,
                            "%s: the file of %s: %s", v->path, ref, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return aios_err_set(err, AIOS_ESTATE, "%s: the file of %s is no longer a regular file",
                            v->path, ref);
    if ((int64_t)sb.st_size != v->size_bytes)
        return aios_err_set(err, AIOS_ESTATE,
                            "%s no longer matches %s in the registry: %lld bytes, registered "
                            "%lld (the file changed after it was registered)",
                            v->path, ref, (long long)sb.st_size, (long long)v->size_bytes);
    char hex[65];
    int rc = hash_file(v->path, (uint64_t)sb.st_size, progress, ud, hex, err);
    if (rc)
        return rc;
    if (!v->sha256 || strcmp(hex, v->sha256) != 0)
        return aios_err_set(err, AIOS_ESTATE,
                            "%s no longer matches %s in the registry: sha256 %.16s..., registered "
                            "%.16s... (the file changed after it was registered)",
                            v->path, ref, hex, v->sha256 ? v->sha256 : "");
    return AIOS_OK;
}
