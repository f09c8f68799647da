/*
 * Log line formats (aios_ops_logfmt_*): a loghub-style header format such
 * as "<Date> <Time> <Level>: <Content>" compiled into one anchored PCRE2
 * pattern, as the loghub benchmark does: each <Name> becomes a lazy named
 * group, the text between is kept as a regular expression (so "\[" and
 * "(...)?" work as in loghub's settings) with runs of spaces turned into
 * "\s+". The Content group is the message handed to the template miner.
 */
#include "ops/ops.h"
#include "ops/logparse_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

#define LOGFMT_MAX 4096 /* bytes of a format string */

struct aios_ops_logfmt {
    pcre2_general_context *gctx;
    pcre2_code *re;
    pcre2_match_data *md;
    uint32_t content_group;
};

static void *fmt_malloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    return aios_malloc(n);
}

static void fmt_free(void *p, void *ud)
{
    (void)ud;
    aios_free(p);
}

void aios_ops_logfmt_free(aios_ops_logfmt *f)
{
    if (!f)
        return;
    if (f->md)
        pcre2_match_data_free(f->md);
    if (f->re)
        pcre2_code_free(f->re);
    if (f->gctx)
        pcre2_general_context_free(f->gctx);
    aios_free(f);
}

int aios_ops_logfmt_compile(const char *format, aios_ops_logfmt **out, struct aios_err *err)
{
    *out = NULL;
    size_t flen = strlen(format);
    if (flen == 0 || flen > LOGFMT_MAX)
        return aios_err_set(err, AIOS_EINVAL, "log format is empty or longer than %d bytes",
                            LOGFMT_MAX);
    struct aios_buf pat;
    aios_buf_init(&pat, 4 * LOGFMT_MAX);
    int rc = aios_buf_putc(&pat, '^');
    bool has_content = false;
    for (size_t i = 0; i < flen && rc == AIOS_OK;) {
        if (format[i] == '<') {
            size_t j = i + 1;
            while (j < flen && format[j] != '>' && format[j] != '<')
                j++;
            if (j < flen && format[j] == '>' && j > i + 1) {
                for (size_t k = i + 1; k < j; k++) {
                    char c = format[k];
                    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9' && k > i + 1) || c == '_')) {
                        aios_buf_free(&pat);
                        return aios_err_set(err, AIOS_EINVAL,
                                            "log format: field name <%.*s> is not a word",
                                            (int)(j - i - 1), format + i + 1);
                    }
                }
                if (j - i - 1 == 7 && memcmp(format + i + 1, "Content", 7) == 0)
                    has_content = true;
                rc = aios_buf_printf(&pat, "(?<%.*s>.*?)", (int)(j - i - 1), format + i + 1);
                i = j + 1;
                continue;
            }
        }
        if (format[i] == ' ') {
            while (i < flen && format[i] == ' ')
                i++;
            rc = aios_buf_puts(&pat, "\\s+");
            continue;
        }
        rc = aios_buf_putc(&pat, format[i++]);
    }
    if (rc == AIOS_OK)
        rc = aios_buf_putc(&pat, '$');
    if (rc) {
        aios_buf_free(&pat);
        return aios_err_set(err, rc, "log format: %s", aios_status_str(rc));
    }
    if (!has_content) {
        aios_buf_free(&pat);
        return aios_err_set(err, AIOS_EINVAL, "log format \"%s\" has no <Content> field", format);
    }
    aios_ops_logfmt *f = aios_calloc(1, sizeof *f);
    if (!f) {
        aios_buf_free(&pat);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    f->gctx = pcre2_general_context_create(fmt_malloc, fmt_free, NULL);
    pcre2_compile_context *cctx = f->gctx ? pcre2_compile_context_create(f->gctx) : NULL;
    if (!cctx) {
        aios_buf_free(&pat);
        aios_ops_logfmt_free(f);
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    }
    int ec;
    PCRE2_SIZE eo;
    f->re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, PCRE2_DOTALL, &ec, &eo, cctx);
    pcre2_compile_context_free(cctx);
    if (!f->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        rc = aios_err_set(err, AIOS_EINVAL, "log format \"%s\" (as /%s/, offset %zu): %s", format,
                          pat.data, (size_t)eo, (const char *)msg);
        aios_buf_free(&pat);
        aios_ops_logfmt_free(f);
        return rc;
    }
    aios_buf_free(&pat);
    (void)pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE);
    int g = pcre2_substring_number_from_name(f->re, (PCRE2_SPTR) "Content");
    f->md = pcre2_match_data_create_from_pattern(f->re, f->gctx);
    if (g <= 0 || !f->md) {
        aios_ops_logfmt_free(f);
        return aios_err_set(err, g <= 0 ? AIOS_EINVAL : AIOS_ENOMEM,
                            "log format: cannot use its <Content> field");
    }
    f->content_group = (uint32_t)g;
    *out = f;
    return AIOS_OK;
}

int aios_ops_logfmt_content(aios_ops_logfmt *f, const char *line, size_t len, const char **msg,
                            size_t *msg_len)
{
    lp_trim(&line, &len);
    *msg = line;
    *msg_len = len;
    int m = pcre2_match(f->re, (PCRE2_SPTR)line, len, 0, 0, f->md, NULL);
    if (m <= (int)f->content_group)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(f->md);
    PCRE2_SIZE s = ov[2 * f->content_group], e = ov[2 * f->content_group + 1];
    if (s == PCRE2_UNSET || e < s)
        return 0;
    *msg = line + s;
    *msg_len = e - s;
    return 1;
}
