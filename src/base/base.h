/*
 * base: the bottom layer of aios. Status codes and error messages, logging,
 * the counting allocator, arenas, bounded buffers, JSON helpers over jansson,
 * the thread pool, clocks, SHA-256, CPU feature detection and the
 * configuration table.
 *
 * Invariants: nothing here knows about models, HTTP or storage. Every
 * function that can fail returns an int status (AIOS_OK or a negative
 * AIOS_E* code) and, when the caller passes a struct aios_err, leaves a
 * human-readable message in it. Nothing here aborts on bad input.
 */
#ifndef AIOS_BASE_H
#define AIOS_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AIOS_VERSION "0.1.0"

#if defined(__GNUC__)
#define AIOS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define AIOS_UNUSED __attribute__((unused))
#else
#define AIOS_PRINTF(a, b)
#define AIOS_UNUSED
#endif

/* ---- status codes ------------------------------------------------------ */

/* One table: the enum and the strings are generated from it. */
#define AIOS_STATUS_TABLE(X)                                                                       \
    X(OK, 0, "ok")                                                                                 \
    X(ENOMEM, -1, "out of memory")                                                                 \
    X(EINVAL, -2, "invalid argument")                                                              \
    X(EIO, -3, "input/output error")                                                               \
    X(EFORMAT, -4, "malformed or corrupt data")                                                    \
    X(ENOTFOUND, -5, "not found")                                                                  \
    X(EEXIST, -6, "already exists")                                                                \
    X(ELIMIT, -7, "limit exceeded")                                                                \
    X(EUNSUPPORTED, -8, "not supported")                                                           \
    X(EPARSE, -9, "parse error")                                                                   \
    X(ERANGE, -10, "value out of range")                                                           \
    X(EBUSY, -11, "resource busy")                                                                 \
    X(EAUTH, -12, "not authorised")                                                                \
    X(ECANCELLED, -13, "cancelled")                                                                \
    X(ETIMEOUT, -14, "timed out")                                                                  \
    X(ESTATE, -15, "invalid state")                                                                \
    X(EINTERNAL, -16, "internal error")

enum aios_status {
#define AIOS__STATUS_ENUM(name, code, str) AIOS_##name = code,
    AIOS_STATUS_TABLE(AIOS__STATUS_ENUM)
#undef AIOS__STATUS_ENUM
};

/* Static string for a status code; "unknown status" for codes not in the table. */
const char *aios_status_str(int status);
/* Symbolic name ("EFORMAT") of a status code. */
const char *aios_status_name(int status);

#define AIOS_ERR_MSG_MAX 512

/* Caller-owned error report. Functions that take a struct aios_err * accept
 * NULL and then only return the status. */
struct aios_err {
    int code;
    char msg[AIOS_ERR_MSG_MAX];
};

/* Sets err (if non-NULL) to code and a formatted message; returns code so a
 * caller can write `return aios_err_set(err, AIOS_EFORMAT, "...")`. */
int aios_err_set(struct aios_err *err, int code, const char *fmt, ...) AIOS_PRINTF(3, 4);
int aios_err_setv(struct aios_err *err, int code, const char *fmt, va_list ap);
/* Prepends "prefix: " to the message already in err (keeps the code). */
void aios_err_prefix(struct aios_err *err, const char *fmt, ...) AIOS_PRINTF(2, 3);
void aios_err_clear(struct aios_err *err);

/* ---- logging ----------------------------------------------------------- */

enum aios_log_level {
    AIOS_LOG_DEBUG = 0,
    AIOS_LOG_INFO = 1,
    AIOS_LOG_WARN = 2,
    AIOS_LOG_ERROR = 3,
    AIOS_LOG_OFF = 4,
};

typedef void (*aios_log_sink_fn)(void *ud, enum aios_log_level level, const char *module,
                                 const char *msg);

void aios_log(enum aios_log_level level, const char *module, const char *fmt, ...)
    AIOS_PRINTF(3, 4);
void aios_log_set_level(enum aios_log_level level);
enum aios_log_level aios_log_get_level(void);
/* Replaces the sink (default: stderr with time and level). NULL restores it. */
void aios_log_set_sink(aios_log_sink_fn fn, void *ud);
/* Parses "debug"/"info"/"warn"/"error"/"off"; returns AIOS_EINVAL otherwise. */
int aios_log_level_parse(const char *s, enum aios_log_level *out);
const char *aios_log_level_str(enum aios_log_level level);

#define AIOS_DEBUG(mod, ...) aios_log(AIOS_LOG_DEBUG, mod, __VA_ARGS__)
#define AIOS_INFO(mod, ...) aios_log(AIOS_LOG_INFO, mod, __VA_ARGS__)
#define AIOS_WARN(mod, ...) aios_log(AIOS_LOG_WARN, mod, __VA_ARGS__)
#define AIOS_ERROR(mod, ...) aios_log(AIOS_LOG_ERROR, mod, __VA_ARGS__)

/* ---- memory ------------------------------------------------------------ */

/* The one allocator. It counts live bytes and refuses (returns NULL) any
 * allocation that would push the total past the limit. Thread-safe. */
void *aios_malloc(size_t n);
void *aios_calloc(size_t count, size_t size);
void *aios_realloc(void *p, size_t n);
void aios_free(void *p);
char *aios_strdup(const char *s);
char *aios_strndup(const char *s, size_t n);

/* 0 = no limit. */
void aios_mem_set_limit(size_t bytes);
size_t aios_mem_limit(void);
size_t aios_mem_in_use(void);
size_t aios_mem_peak(void);
/* Test hook: the n-th allocation from now fails (n >= 1); 0 disarms. */
void aios_mem_fail_after(long n);

/* Arena: bump allocation for request-scoped work, freed all at once.
 * max_bytes bounds the total (0 = unbounded). */
typedef struct aios_arena aios_arena;
aios_arena *aios_arena_create(size_t block_size, size_t max_bytes);
void aios_arena_destroy(aios_arena *a);
/* 16-byte aligned; NULL when out of memory or past max_bytes. */
void *aios_arena_alloc(aios_arena *a, size_t n);
char *aios_arena_strdup(aios_arena *a, const char *s);
char *aios_arena_strndup(aios_arena *a, const char *s, size_t n);
/* Frees everything allocated but keeps the first block. */
void aios_arena_reset(aios_arena *a);
size_t aios_arena_used(const aios_arena *a);

/* ---- bounded buffers and strings -------------------------------------- */

/* Growable byte buffer with a hard maximum. data is always NUL-terminated
 * (the terminator is not counted in len). */
struct aios_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 = AIOS_BUF_DEFAULT_MAX */
};
#define AIOS_BUF_DEFAULT_MAX ((size_t)1 << 30)

void aios_buf_init(struct aios_buf *b, size_t max);
void aios_buf_free(struct aios_buf *b);
void aios_buf_reset(struct aios_buf *b);
/* AIOS_ELIMIT when the result would exceed max (buffer left unchanged),
 * AIOS_ENOMEM when allocation fails. */
int aios_buf_append(struct aios_buf *b, const void *data, size_t n);
int aios_buf_puts(struct aios_buf *b, const char *s);
int aios_buf_putc(struct aios_buf *b, char c);
int aios_buf_printf(struct aios_buf *b, const char *fmt, ...) AIOS_PRINTF(2, 3);
int aios_buf_vprintf(struct aios_buf *b, const char *fmt, va_list ap);
/* Hands the data to the caller (free with aios_free) and resets b. */
char *aios_buf_detach(struct aios_buf *b);

/* Copies at most dstsize-1 bytes and terminates; returns strlen(src). */
size_t aios_strlcpy(char *dst, const char *src, size_t dstsize);
/* Strict number parsing: the whole string must be the number. */
int aios_parse_i64(const char *s, int64_t *out);
int aios_parse_u64(const char *s, uint64_t *out);
int aios_parse_double(const char *s, double *out);
int aios_parse_bool(const char *s, bool *out); /* 1/0 true/false yes/no on/off */
/* Human-readable byte count ("1.5 GiB") into buf. */
const char *aios_fmt_bytes(uint64_t n, char *buf, size_t size);
/* Reads a whole file (at most max bytes) into *out (aios_free); *len excludes
 * the NUL terminator that is always added. */
int aios_read_file(const char *path, size_t max, char **out, size_t *len, struct aios_err *err);
/* Writes via a temporary file and rename, so readers never see a partial file. */
int aios_write_file_atomic(const char *path, const void *data, size_t len, struct aios_err *err);
/* mkdir -p. */
int aios_mkdir_p(const char *path, struct aios_err *err);

/* ---- JSON helpers ------------------------------------------------------ */

/* Parses text (at most max_bytes, nesting at most 64 levels deep); on error
 * names the line and column. *out is a new reference. */
int aios_json_parse(const char *text, size_t len, size_t max_bytes, json_t **out,
                    struct aios_err *err);

/* Typed field access. `path` names the object being read, for messages such
 * as "messages[2].content: expected a string"; it may be "" for the root.
 * With required false, a missing or null field leaves *out unchanged and
 * returns AIOS_OK; a present field of the wrong type is always an error
 * (AIOS_EINVAL). Borrowed references. */
int aios_json_get_str(const json_t *obj, const char *path, const char *key, bool required,
                      const char **out, struct aios_err *err);
int aios_json_get_int(const json_t *obj, const char *path, const char *key, bool required,
                      int64_t *out, struct aios_err *err);
int aios_json_get_num(const json_t *obj, const char *path, const char *key, bool required,
                      double *out, struct aios_err *err);
int aios_json_get_bool(const json_t *obj, const char *path, const char *key, bool required,
                       bool *out, struct aios_err *err);
int aios_json_get_obj(const json_t *obj, const char *path, const char *key, bool required,
                      json_t **out, struct aios_err *err);
int aios_json_get_arr(const json_t *obj, const char *path, const char *key, bool required,
                      json_t **out, struct aios_err *err);
/* Integer range check with the same message style. */
int aios_json_check_range(const char *path, const char *key, double v, double lo, double hi,
                          struct aios_err *err);
/* Compact serialisation into a new string (aios_free). */
char *aios_json_dumps(const json_t *v, size_t flags);

/* ---- threads ----------------------------------------------------------- */

/* Reusable barrier for n threads (spins briefly, then sleeps). */
struct aios_barrier;
struct aios_barrier *aios_barrier_create(int n);
void aios_barrier_destroy(struct aios_barrier *b);
void aios_barrier_wait(struct aios_barrier *b);

/* Fixed pool of worker threads for compute. aios_pool_run calls fn(ctx, i, n)
 * once for each i in [0, n) where n = aios_pool_size(), the calling thread
 * being i = 0, and returns when all have finished. Runs of one pool must not
 * overlap (one caller at a time); the pool's barrier lets the n parts of one
 * run synchronise between phases. */
typedef struct aios_pool aios_pool;
typedef void (*aios_pool_fn)(void *ctx, int ith, int nth);
aios_pool *aios_pool_create(int nthreads); /* nthreads <= 0: number of CPUs */
void aios_pool_destroy(aios_pool *p);
int aios_pool_size(const aios_pool *p);
void aios_pool_run(aios_pool *p, aios_pool_fn fn, void *ctx);
/* Barrier across the n parts of the run in progress; only valid inside fn. */
void aios_pool_barrier(aios_pool *p);
int aios_cpu_count(void);

/* ---- time -------------------------------------------------------------- */

uint64_t aios_time_ns(void); /* monotonic */
double aios_time_s(void);    /* monotonic, seconds */
int64_t aios_wall_ms(void);  /* Unix epoch milliseconds */
/* ISO 8601 UTC ("2026-11-29T09:00:00Z") of epoch ms into buf (>= 32 bytes). */
const char *aios_fmt_time_iso(int64_t epoch_ms, char *buf, size_t size);

/* ---- hashing ----------------------------------------------------------- */

struct aios_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t block[64];
    size_t nblock;
};
void aios_sha256_init(struct aios_sha256 *s);
void aios_sha256_update(struct aios_sha256 *s, const void *data, size_t n);
void aios_sha256_final(struct aios_sha256 *s, uint8_t out[32]);
/* One-shot; hex is 65 bytes (64 hex digits and NUL). */
void aios_sha256_hex(const void *data, size_t n, char hex[65]);
void aios_hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);
/* FNV-1a 64-bit, for hash tables. */
uint64_t aios_hash_fnv1a(const void *data, size_t n);

/* ---- CPU features ------------------------------------------------------ */

struct aios_cpu {
    bool sse42, avx, avx2, fma, f16c, bmi2;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16;
    bool avxvnni, amx_tile, amx_int8, amx_bf16;
    char vendor[16];
    char brand[64];
};
/* Detected once (cpuid + OS support of the register state). The environment
 * variable AIOS_CPU_DISABLE (comma list such as "avx512,avx2") masks
 * features, so every kernel path can be exercised on one machine. */
const struct aios_cpu *aios_cpu_get(void);
/* "avx2 fma f16c avx512f ..." into buf. */
const char *aios_cpu_features_str(const struct aios_cpu *c, char *buf, size_t size);

/* ---- configuration ----------------------------------------------------- */

enum aios_cfg_type { AIOS_CFG_STR, AIOS_CFG_INT, AIOS_CFG_DOUBLE, AIOS_CFG_BOOL };
enum aios_cfg_source {
    AIOS_CFG_FROM_DEFAULT,
    AIOS_CFG_FROM_FILE,
    AIOS_CFG_FROM_ENV,
    AIOS_CFG_FROM_FLAG,
};

struct aios_cfg_def {
    const char *name; /* "data_dir"; env AIOS_DATA_DIR; flag --data-dir */
    enum aios_cfg_type type;
    const char *def;
    const char *doc;
};

/* The settings table (src/base/settings.def), terminated by a NULL name. */
extern const struct aios_cfg_def aios_cfg_defs[];

typedef struct aios_config aios_config;
aios_config *aios_config_create(void);
void aios_config_destroy(aios_config *c);
/* Reads "name = value" lines (# comments). A missing file is not an error
 * when optional is true. Unknown names and bad values are errors naming the
 * file and line. */
int aios_config_load_file(aios_config *c, const char *path, bool optional, struct aios_err *err);
/* Applies AIOS_<NAME> variables from the environment. */
int aios_config_load_env(aios_config *c, struct aios_err *err);
/* Sets one value from a source; a source never overrides a higher one
 * (flag > env > file > default). AIOS_ENOTFOUND for unknown names. */
int aios_config_set(aios_config *c, const char *name, const char *value, enum aios_cfg_source src,
                    struct aios_err *err);
/* Looks up a flag spelling ("data-dir" or "data_dir"); NULL if none. */
const struct aios_cfg_def *aios_config_find(const char *name);
const char *aios_config_str(const aios_config *c, const char *name);
int64_t aios_config_int(const aios_config *c, const char *name);
double aios_config_double(const aios_config *c, const char *name);
bool aios_config_bool(const aios_config *c, const char *name);
enum aios_cfg_source aios_config_source(const aios_config *c, const char *name);
const char *aios_cfg_source_str(enum aios_cfg_source s);
/* Where the file values came from (for `aios config show`), or NULL. */
const char *aios_config_file_path(const aios_config *c);

/* The data directory (setting data_dir) holds everything the platform
 * stores. Creates it if needed and writes data_dir/rel into out. */
int aios_data_path(const aios_config *c, const char *rel, char *out, size_t size,
                   struct aios_err *err);

#endif
