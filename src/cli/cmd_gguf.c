/*
 * `aios gguf info FILE [--json] [--full]`: what a GGUF file holds: version,
 * alignment, every metadata key with its type and value, and every tensor's
 * name, type, shape, offset and size. Long arrays and strings are
 * summarised (`[151936 strings: "!", "\"", "#", ... ]`) unless --full.
 * --json prints the same as one JSON object; strings that are not valid
 * UTF-8 have the bad bytes replaced by U+FFFD there, integers beyond int64
 * and non-finite floats are given as strings.
 */
#include "cli/cli.h"
#include "gguf/gguf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_ELEMS 8   /* array elements shown when summarising */
#define SHOW_CHARS 120 /* string bytes shown when summarising */

struct info_opts {
    bool json, full;
};

/* ---- text ---- */

static void put_quoted(struct aios_buf *b, const char *s, uint64_t len, bool full)
{
    uint64_t n = !full && len > SHOW_CHARS ? SHOW_CHARS : len;
    aios_buf_putc(b, '"');
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            aios_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            aios_buf_puts(b, "\\n");
        else if (c == '\t')
            aios_buf_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            aios_buf_printf(b, "\\x%02x", c);
        else
            aios_buf_putc(b, (char)c);
    }
    aios_buf_putc(b, '"');
    if (n < len)
        aios_buf_printf(b, "... (%" PRIu64 " bytes)", len);
}

static void put_scalar(struct aios_buf *b, const struct aios_gguf_value *v)
{
    switch (v->type) {
    case AIOS_GGUF_BOOL:
        aios_buf_puts(b, v->v.u64 ? "true" : "false");
        break;
    case AIOS_GGUF_UINT8:
    case AIOS_GGUF_UINT16:
    case AIOS_GGUF_UINT32:
    case AIOS_GGUF_UINT64:
        aios_buf_printf(b, "%" PRIu64, v->v.u64);
        break;
    case AIOS_GGUF_FLOAT32:
    case AIOS_GGUF_FLOAT64: {
        /* the shortest text that reads back as the same value */
        char s[40];
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(s, sizeof s, "%.*g", prec, v->v.f64);
            double back = strtod(s, NULL);
            if (v->type == AIOS_GGUF_FLOAT32 ? (float)back == (float)v->v.f64 : back == v->v.f64)
                break;
        }
        aios_buf_puts(b, s);
        break;
    }
    default:
        aios_buf_printf(b, "%" PRId64, v->v.i64);
        break;
    }
}

/* Element i of an array as a scalar value of the element type. */
static struct aios_gguf_value elem(const struct aios_gguf_value *a, uint64_t i)
{
    struct aios_gguf_value e = {.type = a->v.arr.elem_type};
    enum aios_gguf_vtype t = a->v.arr.elem_type;
    if (t == AIOS_GGUF_FLOAT32 || t == AIOS_GGUF_FLOAT64)
        e.v.f64 = aios_gguf_arr_f64(a, i);
    else
        e.v.i64 = aios_gguf_arr_i64(a, i); /* unsigned values keep their bits */
    return e;
}

static void put_value(struct aios_buf *b, const struct aios_gguf_value *v, bool full, int depth)
{
    if (v->type == AIOS_GGUF_STRING) {
        put_quoted(b, v->v.str.data, v->v.str.len, full);
        return;
    }
    if (v->type != AIOS_GGUF_ARRAY) {
        put_scalar(b, v);
        return;
    }
    uint64_t n = v->v.arr.n;
    bool cut = !full && n > SHOW_ELEMS;
    uint64_t show = cut ? SHOW_ELEMS : n;
    aios_buf_putc(b, '[');
    if (cut)
        aios_buf_printf(b, "%" PRIu64 " %ss: ", n, aios_gguf_vtype_name(v->v.arr.elem_type));
    for (uint64_t i = 0; i < show; i++) {
        if (i)
            aios_buf_puts(b, ", ");
        if (v->v.arr.elem_type == AIOS_GGUF_STRING)
            put_quoted(b, v->v.arr.strs[i].data, v->v.arr.strs[i].len, full);
        else if (v->v.arr.elem_type == AIOS_GGUF_ARRAY)
            put_value(b, &v->v.arr.arrs[i], full, depth + 1);
        else {
            struct aios_gguf_value e = elem(v, i);
            put_scalar(b, &e);
        }
    }
    aios_buf_puts(b, cut ? ", ... ]" : "]");
}

static void put_shape(struct aios_buf *b, const struct aios_gguf_tensor *t)
{
    aios_buf_putc(b, '[');
    for (uint32_t d = 0; d < t->n_dims; d++)
        aios_buf_printf(b, "%s%" PRId64, d ? ", " : "", t->ne[d]);
    aios_buf_putc(b, ']');
}

static uint64_t data_bytes(const aios_gguf *g)
{
    uint64_t sum = 0;
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++)
        sum += aios_gguf_tensor(g, i)->size;
    return sum;
}

static int print_text(const char *path, const aios_gguf *g, const struct info_opts *o)
{
    char hb[32];
    printf("file:      %s\n", path);
    printf("version:   %" PRIu32 "\n", aios_gguf_version(g));
    printf("size:      %" PRIu64 " bytes (%s)\n", aios_gguf_file_size(g),
           aios_fmt_bytes(aios_gguf_file_size(g), hb, sizeof hb));
    printf("alignment: %" PRIu64 "\n", aios_gguf_alignment(g));
    printf("data:      offset %" PRIu64 ", %" PRId64 " tensors, %" PRIu64 " bytes\n",
           aios_gguf_data_offset(g), aios_gguf_n_tensors(g), data_bytes(g));
    printf("metadata (%" PRId64 "):\n", aios_gguf_n_kv(g));
    struct aios_buf b;
    aios_buf_init(&b, 0);
    for (int64_t i = 0; i < aios_gguf_n_kv(g); i++) {
        const struct aios_gguf_value *v = aios_gguf_kv_value(g, i);
        aios_buf_reset(&b);
        put_value(&b, v, o->full, 0);
        const char *type = v->type == AIOS_GGUF_ARRAY ? "array" : aios_gguf_vtype_name(v->type);
        printf("  %-40s %-8s %s\n", aios_gguf_kv_key(g, i), type, b.data ? b.data : "");
    }
    printf("tensors (%" PRId64 "):\n", aios_gguf_n_tensors(g));
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
        const struct aios_gguf_tensor *t = aios_gguf_tensor(g, i);
        aios_buf_reset(&b);
        put_shape(&b, t);
        printf("  %-32s %-7s %-22s offset %-10" PRIu64 " %" PRIu64 " bytes\n", t->name,
               aios_ggml_type_name(t->type), b.data ? b.data : "[]", t->offset, t->size);
    }
    aios_buf_free(&b);
    return fflush(stdout) == 0 ? AIOS_EXIT_OK : AIOS_EXIT_FAIL;
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static json_t *jstring(const char *s, uint64_t len, bool full)
{
    uint64_t n = !full && len > SHOW_CHARS ? SHOW_CHARS : len;
    struct aios_buf b;
    aios_buf_init(&b, 0);
    const unsigned char *p = (const unsigned char *)s;
    for (uint64_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, (size_t)(n - i));
        if (k) {
            aios_buf_append(&b, p + i, k); /* NUL too: jansson escapes it as \u0000 */
            i += k;
        } else {
            aios_buf_puts(&b, "\xef\xbf\xbd");
            i++;
        }
    }
    if (n < len)
        aios_buf_puts(&b, "...");
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    aios_buf_free(&b);
    return j ? j : json_string("");
}

static json_t *jscalar(const struct aios_gguf_value *v)
{
    switch (v->type) {
    case AIOS_GGUF_BOOL:
        return json_boolean(v->v.u64 != 0);
    case AIOS_GGUF_UINT8:
    case AIOS_GGUF_UINT16:
    case AIOS_GGUF_UINT32:
    case AIOS_GGUF_UINT64:
        if (v->v.u64 > (uint64_t)INT64_MAX) {
            char s[32];
            snprintf(s, sizeof s, "%" PRIu64, v->v.u64);
            return json_string(s);
        }
        return json_integer((json_int_t)v->v.u64);
    case AIOS_GGUF_FLOAT32:
    case AIOS_GGUF_FLOAT64:
        if (!isfinite(v->v.f64))
            return json_string(isnan(v->v.f64) ? "nan" : v->v.f64 > 0 ? "inf" : "-inf");
        return json_real(v->v.f64);
    default:
        return json_integer((json_int_t)v->v.i64);
    }
}

static json_t *jvalue(const struct aios_gguf_value *v, bool full)
{
    if (v->type == AIOS_GGUF_STRING)
        return jstring(v->v.str.data, v->v.str.len, full);
    if (v->type != AIOS_GGUF_ARRAY)
        return jscalar(v);
    json_t *a = json_array();
    uint64_t n = v->v.arr.n, show = !full && n > SHOW_ELEMS ? SHOW_ELEMS : n;
    for (uint64_t i = 0; i < show; i++) {
        json_t *e;
        if (v->v.arr.elem_type == AIOS_GGUF_STRING)
            e = jstring(v->v.arr.strs[i].data, v->v.arr.strs[i].len, full);
        else if (v->v.arr.elem_type == AIOS_GGUF_ARRAY)
            e = jvalue(&v->v.arr.arrs[i], full);
        else {
            struct aios_gguf_value s = elem(v, i);
            e = jscalar(&s);
        }
        json_array_append_new(a, e);
    }
    return a;
}

static json_t *jmeta(const struct aios_gguf_value *v, bool full)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(aios_gguf_vtype_name(v->type)));
    if (v->type == AIOS_GGUF_ARRAY) {
        json_object_set_new(o, "elem_type", json_string(aios_gguf_vtype_name(v->v.arr.elem_type)));
        json_object_set_new(o, "n", json_integer((json_int_t)v->v.arr.n));
        json_object_set_new(o, "truncated", json_boolean(!full && v->v.arr.n > SHOW_ELEMS));
    }
    json_object_set_new(o, "value", jvalue(v, full));
    return o;
}

static int print_json(const char *path, const aios_gguf *g, const struct info_opts *o)
{
    json_t *root = json_object();
    json_object_set_new(root, "file", jstring(path, strlen(path), true));
    json_object_set_new(root, "version", json_integer(aios_gguf_version(g)));
    json_object_set_new(root, "size", json_integer((json_int_t)aios_gguf_file_size(g)));
    json_object_set_new(root, "alignment", json_integer((json_int_t)aios_gguf_alignment(g)));
    json_object_set_new(root, "data_offset", json_integer((json_int_t)aios_gguf_data_offset(g)));
    json_object_set_new(root, "data_bytes", json_integer((json_int_t)data_bytes(g)));
    json_t *meta = json_object();
    for (int64_t i = 0; i < aios_gguf_n_kv(g); i++)
        json_object_set_new(meta, aios_gguf_kv_key(g, i), jmeta(aios_gguf_kv_value(g, i), o->full));
    json_object_set_new(root, "metadata", meta);
    json_t *ts = json_array();
    for (int64_t i = 0; i < aios_gguf_n_tensors(g); i++) {
        const struct aios_gguf_tensor *t = aios_gguf_tensor(g, i);
        json_t *jt = json_object();
        json_object_set_new(jt, "name", jstring(t->name, strlen(t->name), true));
        json_object_set_new(jt, "type", json_string(aios_ggml_type_name(t->type)));
        json_t *shape = json_array();
        for (uint32_t d = 0; d < t->n_dims; d++)
            json_array_append_new(shape, json_integer(t->ne[d]));
        json_object_set_new(jt, "shape", shape);
        json_object_set_new(jt, "offset", json_integer((json_int_t)t->offset));
        json_object_set_new(jt, "bytes", json_integer((json_int_t)t->size));
        json_array_append_new(ts, jt);
    }
    json_object_set_new(root, "tensors", ts);
    char *s = aios_json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!s) {
        fprintf(stderr, "aios gguf info: out of memory\n");
        return AIOS_EXIT_FAIL;
    }
    printf("%s\n", s);
    aios_free(s);
    return fflush(stdout) == 0 ? AIOS_EXIT_OK : AIOS_EXIT_FAIL;
}

static const struct aios_cmd_spec info_spec = {
    .name = "gguf info",
    .usage = "FILE [--json] [--full]",
    .summary = "Print a GGUF file's version, metadata and tensors.",
    .description = "The file is validated completely first; a truncated or corrupt file\n"
                   "prints what is wrong and exits 1. Long arrays and strings are\n"
                   "summarised unless --full.",
    .min_pos = 1,
    .max_pos = 1,
};

static int gguf_info(struct aios_cli *cli, int argc, char **argv)
{
    struct info_opts o = {0};
    struct aios_opt opts[] = {
        {"json", 0, AIOS_OPT_BOOL, &o.json, NULL, "print one JSON object"},
        {"full", 0, AIOS_OPT_BOOL, &o.full, NULL, "print every array element and whole strings"},
        {0},
    };
    struct aios_cmd_spec spec = info_spec;
    spec.opts = opts;
    char **pos = aios_calloc((size_t)argc + 1, sizeof *pos);
    int npos = 0;
    if (!pos) {
        fprintf(stderr, "aios gguf info: out of memory\n");
        return AIOS_EXIT_FAIL;
    }
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        return rc < 0 ? 0 : rc;
    }
    aios_gguf *g = NULL;
    struct aios_err err = {0};
    if (aios_gguf_open(pos[0], &g, &err))
        rc = aios_cli_fail(&spec, &err);
    else
        rc = o.json ? print_json(pos[0], g, &o) : print_text(pos[0], g, &o);
    aios_gguf_close(g);
    aios_free(pos);
    return rc;
}

int aios_cmd_gguf(struct aios_cli *cli, int argc, char **argv)
{
    static const struct aios_subcmd subs[] = {
        {"info", gguf_info, "version, metadata and tensors of a GGUF file"},
        {NULL, NULL, NULL},
    };
    return aios_cli_subcommands(cli, "gguf", "Inspect GGUF model files.", subs, argc, argv);
}
