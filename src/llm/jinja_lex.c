/*
 * Jinja lexer: template source -> tokens (see jinja.h).
 *
 * Text between tags is cut here with all whitespace control applied, so it
 * reaches the output exactly as tokenized:
 *   - `{%-`, `{{-`, `{#-` strip all whitespace before the tag, `-%}`, `-}}`,
 *     `-#}` all whitespace after it;
 *   - trim_blocks: the first newline after a block or comment tag is dropped
 *     (not after `+%}`);
 *   - lstrip_blocks: spaces and tabs from the start of a line up to a block or
 *     comment tag are dropped (not before `{%+`);
 *   - \r\n and \r read as \n; one trailing newline of the source is dropped
 *     (Jinja's keep_trailing_newline = False).
 * `{% raw %}...{% endraw %}` becomes one text token. Comments vanish.
 * Inside `{{ }}` a `}}` closes the tag only outside dict braces.
 */
#include "llm/jinja.h"

#include <string.h>

#define MAX_TOKENS ((size_t)1 << 21)

enum tagk { TAG_NONE, TAG_STMT, TAG_EXPR, TAG_COMMENT };

struct lex {
    aios_arena *arena;
    const char *src;
    size_t n, pos;
    int line;
    struct jtok *toks;
    size_t ntoks, cap;
    struct aios_err *err;
    /* the tag before the text being cut */
    enum tagk prev;
    bool prev_strip; /* ended with '-' */
    bool prev_keep;  /* ended with '+' */
};

static int push(struct lex *L, enum jtok_kind k, int line, const char *s, size_t len)
{
    if (L->ntoks == L->cap) {
        if (L->cap >= MAX_TOKENS)
            return aios_err_set(L->err, AIOS_ELIMIT, "template line %d: more than %zu tokens", line,
                                MAX_TOKENS);
        size_t nc = L->cap ? L->cap * 2 : 256;
        struct jtok *t = aios_realloc(L->toks, nc * sizeof *t);
        if (!t)
            return aios_err_set(L->err, AIOS_ENOMEM, "out of memory tokenizing template");
        L->toks = t;
        L->cap = nc;
    }
    L->toks[L->ntoks++] = (struct jtok){.kind = k, .line = line, .s = s, .len = len};
    return AIOS_OK;
}

static int count_lines(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '\n';
    return c;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Finds the next tag start at or after from; n when none. */
static size_t find_tag(const struct lex *L, size_t from)
{
    for (size_t i = from; i + 1 < L->n; i++)
        if (L->src[i] == '{' &&
            (L->src[i + 1] == '{' || L->src[i + 1] == '%' || L->src[i + 1] == '#'))
            return i;
    return L->n;
}

/* Emits the text [start, end) with whitespace control; next is the kind of
 * the tag that follows (TAG_NONE at the end), next_strip/next_keep its
 * modifier. */
static int emit_text(struct lex *L, size_t start, size_t end, enum tagk next, bool next_strip,
                     bool next_keep)
{
    const char *s = L->src + start;
    size_t len = end - start;
    int line = L->line;
    if (L->prev_strip) {
        while (len && is_ws(*s)) {
            line += *s == '\n';
            s++, len--;
        }
    } else if ((L->prev == TAG_STMT || L->prev == TAG_COMMENT) && !L->prev_keep && len &&
               *s == '\n') {
        s++, len--, line++;
    }
    if (next_strip) {
        while (len && is_ws(s[len - 1]))
            len--;
    } else if ((next == TAG_STMT || next == TAG_COMMENT) && !next_keep) {
        size_t k = len;
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        /* only when the tag starts its line */
        if (k == 0 ? (s == L->src || s[-1] == '\n') : s[k - 1] == '\n')
            len = k;
    }
    if (len == 0)
        return AIOS_OK;
    return push(L, JT_TEXT, line, s, len);
}

static int lex_string(struct lex *L, char q)
{
    int line = L->line;
    size_t i = L->pos + 1;
    struct aios_buf b;
    aios_buf_init(&b, AIOS_JINJA_MAX_SOURCE);
    int rc = AIOS_OK;
    while (i < L->n && L->src[i] != q) {
        char c = L->src[i];
        if (c == '\n')
            L->line++;
        if (c == '\\' && i + 1 < L->n) {
            char e = L->src[++i];
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'v':
                c = '\v';
                break;
            case '0':
                c = '\0';
                break;
            case '\\':
            case '\'':
            case '"':
                c = e;
                break;
            case '\n':
                i++;
                L->line++;
                continue; /* line continuation */
            case 'x':
            case 'u':
            case 'U': {
                /* \xHH, \uHHHH, \UHHHHHHHH: a code point, written as UTF-8 */
                int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                uint32_t cp = 0;
                int k = 0;
                for (; k < nd && i + 1 + (size_t)k < L->n; k++) {
                    char h = L->src[i + 1 + (size_t)k];
                    int d = (h >= '0' && h <= '9')   ? h - '0'
                            : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                            : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                     : -1;
                    if (d < 0)
                        break;
                    cp = cp * 16 + (uint32_t)d;
                }
                if (k != nd || cp > 0x10FFFF) {
                    rc = aios_err_set(L->err, AIOS_EPARSE, "template line %d: bad \\%c escape",
                                      L->line, e);
                    goto out;
                }
                i += (size_t)nd + 1;
                char u[4];
                int ul = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                if (ul == 1) {
                    u[0] = (char)cp;
                } else {
                    for (int q = ul - 1; q > 0; q--) {
                        u[q] = (char)(0x80 | (cp & 0x3F));
                        cp >>= 6;
                    }
                    u[0] = (char)((ul == 2 ? 0xC0 : ul == 3 ? 0xE0 : 0xF0) | cp);
                }
                rc = aios_buf_append(&b, u, (size_t)ul);
                if (rc)
                    goto out;
                continue;
            }
            default:
                /* Python keeps unknown escapes as they are */
                rc = aios_buf_putc(&b, '\\');
                c = e;
                break;
            }
        }
        if (rc == AIOS_OK)
            rc = aios_buf_putc(&b, c);
        if (rc)
            goto out;
        i++;
    }
    if (i >= L->n) {
        rc = aios_err_set(L->err, AIOS_EPARSE, "template line %d: unterminated string", line);
        goto out;
    }
    char *s = aios_arena_alloc(L->arena, b.len + 1);
    if (!s) {
        rc = aios_err_set(L->err, AIOS_ENOMEM, "out of memory tokenizing template");
        goto out;
    }
    memcpy(s, b.data ? b.data : "", b.len);
    s[b.len] = 0;
    rc = push(L, JT_STRING, line, s, b.len);
    L->pos = i + 1;
out:
    aios_buf_free(&b);
    return rc;
}

static int lex_number(struct lex *L)
{
    size_t i = L->pos;
    bool is_float = false;
    while (i < L->n && ((L->src[i] >= '0' && L->src[i] <= '9') || L->src[i] == '_'))
        i++;
    if (i + 1 < L->n && L->src[i] == '.' && L->src[i + 1] >= '0' && L->src[i + 1] <= '9') {
        is_float = true;
        i++;
        while (i < L->n && L->src[i] >= '0' && L->src[i] <= '9')
            i++;
    }
    if (i < L->n && (L->src[i] == 'e' || L->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < L->n && (L->src[j] == '+' || L->src[j] == '-'))
            j++;
        if (j < L->n && L->src[j] >= '0' && L->src[j] <= '9') {
            is_float = true;
            i = j;
            while (i < L->n && L->src[i] >= '0' && L->src[i] <= '9')
                i++;
        }
    }
    char buf[64];
    size_t k = 0;
    for (size_t j = L->pos; j < i && k + 1 < sizeof buf; j++)
        if (L->src[j] != '_')
            buf[k++] = L->src[j];
    buf[k] = 0;
    if (i - L->pos >= sizeof buf)
        return aios_err_set(L->err, AIOS_EPARSE, "template line %d: number too long", L->line);
    int rc = push(L, is_float ? JT_FLOAT : JT_INT, L->line, L->src + L->pos, i - L->pos);
    if (rc)
        return rc;
    struct jtok *t = &L->toks[L->ntoks - 1];
    if (is_float) {
        if (aios_parse_double(buf, &t->f))
            return aios_err_set(L->err, AIOS_EPARSE, "template line %d: bad number '%s'", L->line,
                                buf);
    } else if (aios_parse_i64(buf, &t->i)) {
        return aios_err_set(L->err, AIOS_EPARSE, "template line %d: integer '%s' out of range",
                            L->line, buf);
    }
    L->pos = i;
    return AIOS_OK;
}

static const char *const ops2[] = {"==", "!=", "<=", ">=", "//", "**", NULL};
static const char ops1[] = "+-*/%~<>=()[]{},.:|";

/* Tokens inside a tag up to and including its close. */
static int lex_tag(struct lex *L, enum tagk kind)
{
    int depth = 0; /* {} nesting inside the tag */
    for (;;) {
        while (L->pos < L->n && is_ws(L->src[L->pos])) {
            L->line += L->src[L->pos] == '\n';
            L->pos++;
        }
        if (L->pos >= L->n)
            return aios_err_set(L->err, AIOS_EPARSE, "template line %d: unclosed %s tag", L->line,
                                kind == TAG_STMT ? "{%" : "{{");
        const char *p = L->src + L->pos;
        size_t rem = L->n - L->pos;
        char close = kind == TAG_STMT ? '%' : '}';
        bool mod = (p[0] == '-' || p[0] == '+') && rem >= 3 && p[1] == close && p[2] == '}';
        if (mod || (rem >= 2 && p[0] == close && p[1] == '}' && (kind == TAG_STMT || depth == 0))) {
            int rc = push(L, kind == TAG_STMT ? JT_CLOSE_STMT : JT_CLOSE_EXPR, L->line, p, 2);
            if (rc)
                return rc;
            L->prev = kind;
            L->prev_strip = mod && p[0] == '-';
            L->prev_keep = mod && p[0] == '+';
            L->pos += mod ? 3 : 2;
            return AIOS_OK;
        }
        char c = p[0];
        int rc;
        if (c == '"' || c == '\'') {
            rc = lex_string(L, c);
        } else if (c >= '0' && c <= '9') {
            rc = lex_number(L);
        } else if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            size_t k = 1;
            while (k < rem && (p[k] == '_' || (p[k] >= 'a' && p[k] <= 'z') ||
                               (p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9')))
                k++;
            rc = push(L, JT_NAME, L->line, p, k);
            L->pos += k;
        } else {
            size_t k = 0;
            for (int o = 0; ops2[o]; o++)
                if (rem >= 2 && p[0] == ops2[o][0] && p[1] == ops2[o][1])
                    k = 2;
            if (!k && strchr(ops1, c) && c)
                k = 1;
            if (!k)
                return aios_err_set(L->err, AIOS_EPARSE,
                                    "template line %d: unexpected character '%c'", L->line,
                                    (c >= 32 && c < 127) ? c : '?');
            if (c == '{')
                depth++;
            else if (c == '}' && depth > 0)
                depth--;
            rc = push(L, JT_OP, L->line, p, k);
            L->pos += k;
        }
        if (rc)
            return rc;
    }
}

/* At L->pos: "{%" [-+] ws "raw" ws [-+] "%}". Returns the length or 0. */
static size_t match_word_tag(const struct lex *L, size_t at, const char *word, char *open_mod,
                             char *close_mod)
{
    const char *s = L->src;
    size_t i = at + 2, n = L->n, wl = strlen(word);
    *open_mod = 0;
    *close_mod = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        *open_mod = s[i++];
    while (i < n && is_ws(s[i]))
        i++;
    if (i + wl > n || memcmp(s + i, word, wl) != 0)
        return 0;
    i += wl;
    while (i < n && is_ws(s[i]))
        i++;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        *close_mod = s[i++];
    if (i + 1 < n && s[i] == '%' && s[i + 1] == '}')
        return i + 2 - at;
    return 0;
}

int jinja_lex(aios_arena *arena, const char *src, size_t len, struct jtok **toks, size_t *ntoks,
              struct aios_err *err)
{
    *toks = NULL;
    *ntoks = 0;
    if (len > AIOS_JINJA_MAX_SOURCE)
        return aios_err_set(err, AIOS_ELIMIT, "template of %zu bytes exceeds the limit of %zu", len,
                            AIOS_JINJA_MAX_SOURCE);
    /* normalise newlines into the arena copy */
    char *s = aios_arena_alloc(arena, len + 1);
    if (!s)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory reading template");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else {
            s[n++] = src[i];
        }
    }
    if (n && s[n - 1] == '\n')
        n--;
    s[n] = 0;
    struct lex L = {.arena = arena, .src = s, .n = n, .line = 1, .err = err, .prev = TAG_NONE};
    int rc = AIOS_OK;
    while (L.pos < L.n) {
        size_t t = find_tag(&L, L.pos);
        enum tagk next = TAG_NONE;
        bool nstrip = false, nkeep = false;
        if (t < L.n) {
            char c = s[t + 1];
            next = c == '%' ? TAG_STMT : c == '{' ? TAG_EXPR : TAG_COMMENT;
            nstrip = t + 2 < L.n && s[t + 2] == '-';
            nkeep = t + 2 < L.n && s[t + 2] == '+';
        }
        rc = emit_text(&L, L.pos, t, next, nstrip, nkeep);
        if (rc)
            goto fail;
        L.line += count_lines(s + L.pos, t - L.pos);
        L.pos = t;
        if (t >= L.n)
            break;
        if (next == TAG_COMMENT) {
            const char *e = NULL;
            for (size_t i = t + 2; i + 1 < L.n; i++)
                if (s[i] == '#' && s[i + 1] == '}') {
                    e = s + i;
                    break;
                }
            if (!e) {
                rc = aios_err_set(err, AIOS_EPARSE, "template line %d: unclosed comment", L.line);
                goto fail;
            }
            L.prev = TAG_COMMENT;
            L.prev_strip = e > s + t + 2 && e[-1] == '-';
            L.prev_keep = e > s + t + 2 && e[-1] == '+';
            L.line += count_lines(s + t, (size_t)(e - (s + t)));
            L.pos = (size_t)(e - s) + 2;
            continue;
        }
        char om, cm;
        size_t rl;
        if (next == TAG_STMT && (rl = match_word_tag(&L, t, "raw", &om, &cm)) > 0) {
            /* find the matching endraw */
            size_t i = t + rl, body = i, end_at = L.n, end_len = 0;
            char eom = 0, ecm = 0;
            for (; i + 1 < L.n; i++) {
                if (s[i] == '{' && s[i + 1] == '%') {
                    size_t el = match_word_tag(&L, i, "endraw", &eom, &ecm);
                    if (el) {
                        end_at = i;
                        end_len = el;
                        break;
                    }
                }
            }
            if (!end_len) {
                rc = aios_err_set(err, AIOS_EPARSE, "template line %d: raw block without endraw",
                                  L.line);
                goto fail;
            }
            /* Jinja keeps the newline after {% raw %} (no trim_blocks) */
            L.prev = TAG_EXPR;
            L.prev_strip = cm == '-';
            L.prev_keep = false;
            L.line += count_lines(s + t, body - t);
            rc = emit_text(&L, body, end_at, TAG_STMT, eom == '-', eom == '+');
            if (rc)
                goto fail;
            L.line += count_lines(s + body, end_at + end_len - body);
            L.prev = TAG_STMT;
            L.prev_strip = ecm == '-';
            L.prev_keep = ecm == '+';
            L.pos = end_at + end_len;
            continue;
        }
        rc = push(&L, next == TAG_STMT ? JT_OPEN_STMT : JT_OPEN_EXPR, L.line, s + t, 2);
        if (rc)
            goto fail;
        L.pos = t + 2 + (nstrip || nkeep);
        rc = lex_tag(&L, next);
        if (rc)
            goto fail;
    }
    rc = push(&L, JT_EOF, L.line, s + L.n, 0);
    if (rc)
        goto fail;
    *toks = L.toks;
    *ntoks = L.ntoks;
    return AIOS_OK;
fail:
    aios_free(L.toks);
    return rc;
}
