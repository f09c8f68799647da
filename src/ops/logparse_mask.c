/*
 * The built-in masking scanner of the log parser: one left-to-right pass
 * over a message that splits it at whitespace and, inside each token,
 * replaces the spans that look like variables by "<*>". It is hand-written
 * (no regex engine) because it runs on every line and must cost well under
 * a microsecond.
 *
 * A span is only tried where a word starts: at the start of a token or
 * after a byte that is not a letter, digit or '_' (so "x86_64" and "ext3"
 * stay whole, while "uid=0" gives "uid=<*>").
 * Kinds, tried in this order:
 *   URL      scheme://... to the end of the token (trailing punctuation kept)
 *   ident    a name and numbers joined by '_': "blk_-123", "job_1445_0020"
 *            (a run of at least 3 digits in it)
 *   UUID     8-4-4-4-12 hex digits
 *   MAC      six pairs of hex digits joined by ':' or '-'
 *   hex      0x followed by hex digits, or a run of >= 8 hex digits with a
 *            letter and a digit in it (hashes, addresses)
 *   IPv4     four 1-3 digit groups joined by '.', an optional leading '/'
 *   path     /a/b... (at least two '/'-led segments), with the characters
 *            of file names; ':' ends it so "path:line" keeps the ':'
 *   version  v or V, then a number with a '.' in it: "v1.12"
 *   datetime a one-token date and time, "2024-01-02T10:11:12.5Z" (those
 *            over several tokens are found by lp_scan, see below)
 *   number   optional sign, digits, more digit groups joined by '.', ',',
 *            '-', '/' or 'x' (so dates, sizes like 80x25, versions and decimals are one span; ':'
 *            is not a joiner, so times read "<*>:<*>:<*>" and ip:port
 *            "<*>:<*>"), then optionally a unit (ms, s, KB, MB, GHz, ...)
 * A number must end where a word ends: "ext3" and "2nd" stay as they are.
 */
#include "ops/logparse_int.h"

#include <string.h>

/* Byte classes, one table lookup per test (this file's hot loops run
 * them on every byte of every line). */
enum { C_DIGIT = 1, C_ALPHA = 2, C_HEX = 4, C_WORD = 8, C_SPACE = 16 };
static const unsigned char cls[256] = {
    ['0' ... '9'] = C_DIGIT | C_HEX | C_WORD,
    ['a' ... 'f'] = C_ALPHA | C_HEX | C_WORD,
    ['A' ... 'F'] = C_ALPHA | C_HEX | C_WORD,
    ['g' ... 'z'] = C_ALPHA | C_WORD,
    ['G' ... 'Z'] = C_ALPHA | C_WORD,
    ['_'] = C_WORD,
    [' '] = C_SPACE,
    ['\t'] = C_SPACE,
    ['\n'] = C_SPACE,
    ['\r'] = C_SPACE,
    ['\v'] = C_SPACE,
    ['\f'] = C_SPACE,
};

static inline bool is_digit(unsigned char c)
{
    return cls[c] & C_DIGIT;
}

static inline bool is_alpha(unsigned char c)
{
    return cls[c] & C_ALPHA;
}

static inline bool is_alnum(unsigned char c)
{
    return cls[c] & (C_DIGIT | C_ALPHA);
}

/* Letters, digits and '_': the bytes a word is made of. */
static inline bool is_word(unsigned char c)
{
    return cls[c] & C_WORD;
}

static inline bool is_hex(unsigned char c)
{
    return cls[c] & C_HEX;
}

static inline bool is_space(unsigned char c)
{
    return cls[c] & C_SPACE;
}

uint64_t lp_hash(const char *s, size_t n)
{
    /* FNV-1a over 8-byte words with a final avalanche: tokens are short and
     * this is on the hot path; quality only needs to spread table slots. */
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    for (size_t k = 0; i + k < n; k++)
        w |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

size_t lp_utf8_cut(const char *msg, size_t n, size_t max)
{
    if (n <= max)
        return n;
    n = max;
    /* Back off continuation bytes (10xxxxxx) so the cut falls between
     * characters; at most 3 for valid UTF-8, and stop there for invalid. */
    for (int k = 0; k < 3 && n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80; k++)
        n--;
    return n;
}

void lp_trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n;
    while (len > 0 && is_space((unsigned char)p[len - 1]))
        len--;
    while (len > 0 && is_space((unsigned char)*p)) {
        p++;
        len--;
    }
    *s = p;
    *n = len;
}

/* ---- span matchers: each returns the end of the span starting at i in
 * t[0..m), or i when there is none. ---------------------------------- */

static size_t hex_run(const char *t, size_t i, size_t m)
{
    while (i < m && is_hex((unsigned char)t[i]))
        i++;
    return i;
}

static size_t digit_run(const char *t, size_t i, size_t m)
{
    while (i < m && is_digit((unsigned char)t[i]))
        i++;
    return i;
}

static bool word_ends(const char *t, size_t j, size_t m)
{
    return j >= m || !is_word((unsigned char)t[j]);
}

static size_t strip_trailing_punct(const char *t, size_t i, size_t j)
{
    while (j > i && strchr(".,;:)]}'\"!?>", t[j - 1]))
        j--;
    return j;
}

static size_t match_url(const char *t, size_t i, size_t m)
{
    size_t j = i + 1;
    while (j < m && (is_alnum((unsigned char)t[j]) || t[j] == '+' || t[j] == '.' || t[j] == '-'))
        j++;
    if (j + 3 > m || memcmp(t + j, "://", 3) != 0)
        return i;
    return strip_trailing_punct(t, i, m);
}

static size_t match_uuid(const char *t, size_t i, size_t m)
{
    static const int groups[5] = {8, 4, 4, 4, 12};
    size_t j = i;
    for (int g = 0; g < 5; g++) {
        if (g > 0) {
            if (j >= m || t[j] != '-')
                return i;
            j++;
        }
        size_t e = hex_run(t, j, m);
        if (e - j != (size_t)groups[g])
            return i;
        j = e;
    }
    return word_ends(t, j, m) ? j : i;
}

static size_t match_mac(const char *t, size_t i, size_t m)
{
    if (i + 17 > m)
        return i;
    char sep = t[i + 2];
    if (sep != ':' && sep != '-')
        return i;
    for (int g = 0; g < 6; g++) {
        size_t p = i + 3 * (size_t)g;
        if (!is_hex((unsigned char)t[p]) || !is_hex((unsigned char)t[p + 1]))
            return i;
        if (g < 5 && t[p + 2] != sep)
            return i;
    }
    return word_ends(t, i + 17, m) ? i + 17 : i;
}

static size_t match_hex(const char *t, size_t i, size_t m)
{
    if (t[i] == '0' && i + 2 < m && (t[i + 1] | 32) == 'x' && is_hex((unsigned char)t[i + 2])) {
        size_t e = hex_run(t, i + 2, m);
        return word_ends(t, e, m) ? e : i;
    }
    size_t e = hex_run(t, i, m);
    if (e - i < 8 || !word_ends(t, e, m))
        return i;
    bool letter = false, digit = false;
    for (size_t k = i; k < e; k++) {
        if (is_digit((unsigned char)t[k]))
            digit = true;
        else
            letter = true;
    }
    return letter && digit ? e : i;
}

static size_t match_ipv4(const char *t, size_t i, size_t m)
{
    size_t j = i;
    if (t[j] == '/')
        j++;
    for (int g = 0; g < 4; g++) {
        if (g > 0) {
            if (j >= m || t[j] != '.')
                return i;
            j++;
        }
        size_t e = digit_run(t, j, m);
        if (e == j || e - j > 3)
            return i;
        j = e;
    }
    /* 1.2.3.4.5 is not an address; 1.2.3.4: and 1.2.3.4. (end) are. */
    if (j < m && (is_alnum((unsigned char)t[j]) ||
                  (t[j] == '.' && j + 1 < m && is_digit((unsigned char)t[j + 1]))))
        return i;
    return j;
}

static inline bool is_path_char(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '~' || c == '@' || c == '%' ||
           c == '+' || c == '=' || c == ',' || c == '/' || c == '$' || c == '#';
}

static size_t match_path(const char *t, size_t i, size_t m)
{
    size_t j = i;
    int segs = 0;
    while (j < m && t[j] == '/') {
        j++;
        size_t s = j;
        while (j < m && t[j] != '/' && is_path_char((unsigned char)t[j]))
            j++;
        if (j == s)
            break;
        segs++;
    }
    if (segs < 2)
        return i;
    return strip_trailing_punct(t, i, j);
}

/* Units that may follow a number inside one word ("250ms", "64KB"). */
static bool is_unit(const char *u, size_t n)
{
    static const char *const units[] = {"ms",  "us",  "ns",  "s",     "sec", "secs", "min", "h",
                                        "B",   "KB",  "MB",  "GB",    "TB",  "PB",   "kB",  "K",
                                        "M",   "G",   "T",   "KiB",   "MiB", "GiB",  "TiB", "Hz",
                                        "kHz", "MHz", "GHz", "bytes", NULL};
    for (int k = 0; units[k]; k++)
        if (strlen(units[k]) == n && memcmp(units[k], u, n) == 0)
            return true;
    return false;
}

static size_t match_number(const char *t, size_t i, size_t m)
{
    size_t j = i;
    if (t[j] == '-' || t[j] == '+')
        j++;
    size_t e = digit_run(t, j, m);
    if (e == j)
        return i;
    j = e;
    while (j + 1 < m && (t[j] == '.' || t[j] == ',' || t[j] == '-' || t[j] == '/' || t[j] == 'x') &&
           is_digit((unsigned char)t[j + 1]))
        j = digit_run(t, j + 1, m);
    if (word_ends(t, j, m))
        return j;
    size_t u = j;
    while (u < m && is_alpha((unsigned char)t[u]) && u - j < 6)
        u++;
    if (word_ends(t, u, m) && is_unit(t + j, u - j))
        return u;
    return i;
}

/* ---- date-times that span tokens ------------------------------------ */

static size_t skip_blank(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* A 3-letter name from list at s[i] (case as written, then a non-letter). */
static bool name_at(const char *s, size_t i, size_t n, const char *list)
{
    if (i + 3 > n || (i + 3 < n && is_alpha((unsigned char)s[i + 3])))
        return false;
    for (const char *p = list; *p; p += 3)
        if (memcmp(p, s + i, 3) == 0)
            return true;
    return false;
}

/* hh:mm:ss with optional fraction ([.,]digits); returns the end or i. */
static size_t time_at(const char *s, size_t i, size_t n)
{
    size_t j = i;
    for (int g = 0; g < 3; g++) {
        if (g > 0) {
            if (j >= n || s[j] != ':')
                return i;
            j++;
        }
        size_t e = digit_run(s, j, n);
        if (e - j < 1 || e - j > 2)
            return i;
        j = e;
    }
    if (j + 1 < n && (s[j] == '.' || s[j] == ',') && is_digit((unsigned char)s[j + 1]))
        j = digit_run(s, j + 1, n);
    return j;
}

/* A date and time starting at token start i, possibly over several
 * tokens: "[Sun] Jul 10 03:55:15 [2005]", "2005-06-03 15:42:50[,123]",
 * "2005-06-03T15:42:50[.123][Z|+01:00]", "17/06/09 20:10:40". Returns the
 * end (inside a token only before punctuation), or i. */
static size_t match_datetime(const char *s, size_t i, size_t n)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t j = i, e = i;
    if (name_at(s, j, n, days)) {
        j += 3;
        if (j < n && s[j] == ',')
            j++;
        size_t k = skip_blank(s, j, n);
        if (k == j)
            return i;
        j = k;
    }
    if (name_at(s, j, n, months)) {
        size_t k = skip_blank(s, j + 3, n);
        size_t d = digit_run(s, k, n);
        if (k == j + 3 || d - k < 1 || d - k > 2)
            return i;
        k = skip_blank(s, d, n);
        if (k == d)
            return i;
        e = time_at(s, k, n);
        if (e == k)
            return i;
        k = skip_blank(s, e, n);
        size_t y = digit_run(s, k, n);
        if (k > e && y - k == 4 && (y >= n || !is_alnum((unsigned char)s[y])))
            e = y;
    } else if (is_digit((unsigned char)s[j])) {
        size_t a = digit_run(s, j, n);
        if ((a - j != 2 && a - j != 4) || a >= n || (s[a] != '-' && s[a] != '/'))
            return i;
        char sep = s[a];
        size_t b = digit_run(s, a + 1, n);
        if (b - a - 1 < 1 || b - a - 1 > 2 || b >= n || s[b] != sep)
            return i;
        size_t c = digit_run(s, b + 1, n);
        if (c - b - 1 < 2 || c - b - 1 > 4 || c >= n)
            return i;
        size_t k = s[c] == 'T' ? c + 1 : skip_blank(s, c, n);
        if (k == c)
            return i;
        e = time_at(s, k, n);
        if (e == k)
            return i;
        if (e < n && s[e] == 'Z') {
            e++;
        } else if (e + 5 <= n && (s[e] == '+' || s[e] == '-') &&
                   is_digit((unsigned char)s[e + 1]) && is_digit((unsigned char)s[e + 2])) {
            size_t z = s[e + 3] == ':' ? e + 4 : e + 3;
            if (z + 2 <= n && is_digit((unsigned char)s[z]) && is_digit((unsigned char)s[z + 1]))
                e = z + 2;
        }
    } else {
        return i;
    }
    if (e < n && is_alnum((unsigned char)s[e]))
        return i;
    return e;
}

/* An identifier made of a name and numbers joined by '_' ("blk_-123",
 * "job_1445144423722_0020", "container_01_000002"): a run of letters,
 * digits and '_' (a '-' only right after '_') holding a '_' and a run of
 * at least 3 digits. */
static size_t match_ident(const char *t, size_t i, size_t m)
{
    size_t j = i, run = 0, longest = 0;
    bool under = false;
    while (j < m) {
        unsigned char c = (unsigned char)t[j];
        if (is_digit(c)) {
            run++;
            if (run > longest)
                longest = run;
        } else if (is_alpha(c) || c == '_' || (c == '-' && j > i && t[j - 1] == '_')) {
            run = 0;
            under |= c == '_';
        } else {
            break;
        }
        j++;
    }
    return under && longest >= 3 && t[j - 1] != '_' ? j : i;
}

/* The end of a variable span starting at word start i, or i. */
static size_t match_span(const char *t, size_t i, size_t m)
{
    unsigned char c = (unsigned char)t[i];
    size_t e;
    if (c == '/') {
        if ((e = match_ipv4(t, i, m)) > i)
            return e;
        return match_path(t, i, m);
    }
    /* Cheap shape tests first: this runs at every word start, and each
     * matcher is only tried when the shape allows it. */
    size_t h = hex_run(t, i, m);
    unsigned char after = h < m ? (unsigned char)t[h] : 0;
    if (h - i == 8 && after == '-' && (e = match_uuid(t, i, m)) > i)
        return e;
    if (h - i == 2 && (after == ':' || after == '-') && (e = match_mac(t, i, m)) > i)
        return e;
    if (is_alpha(c)) {
        size_t w = h;
        bool dig = false;
        for (size_t k = i; k < h; k++)
            dig |= is_digit((unsigned char)t[k]);
        while (w < m && (is_word((unsigned char)t[w]) || (t[w] == '-' && t[w - 1] == '_'))) {
            dig |= is_digit((unsigned char)t[w]);
            w++;
        }
        if (w < m && strchr(":+.-", t[w]) && (e = match_url(t, i, m)) > i)
            return e;
        if (!dig)
            return i;
        if ((e = match_ident(t, i, m)) > i)
            return e;
        /* A version: v1.2, V2.0.1 */
        if ((c == 'v' || c == 'V') && i + 1 < m && is_digit((unsigned char)t[i + 1]) &&
            (e = match_number(t, i + 1, m)) > i + 1 && memchr(t + i, '.', e - i))
            return e;
        return h - i >= 8 ? match_hex(t, i, m) : i;
    }
    if (is_digit(c)) {
        if ((c == '0' && i + 1 < m && (t[i + 1] | 32) == 'x') || h - i >= 8) {
            if ((e = match_hex(t, i, m)) > i)
                return e;
        }
        size_t d = digit_run(t, i, m);
        unsigned char dn = d < m ? (unsigned char)t[d] : 0;
        if (d - i <= 3 && dn == '.' && (e = match_ipv4(t, i, m)) > i)
            return e;
        /* one-token date-times: 2024-01-02T10:11:12 */
        if ((d - i == 2 || d - i == 4) && (dn == '-' || dn == '/') &&
            (e = match_datetime(t, i, m)) > i)
            return e;
        return match_number(t, i, m);
    }
    if ((c == '-' || c == '+') && i + 1 < m && is_digit((unsigned char)t[i + 1]))
        return match_number(t, i, m);
    return i;
}

/* Masks token t[0..m) into out; returns bytes written (at most 3m). */
static size_t mask_token(const char *t, size_t m, char *out, bool *digit)
{
    size_t o = 0;
    size_t i = 0;
    bool dig = false;
    while (i < m) {
        unsigned char c = (unsigned char)t[i];
        if (i == 0 || !is_word((unsigned char)t[i - 1])) {
            if (is_alnum(c) || c == '/' || c == '-' || c == '+') {
                size_t e = match_span(t, i, m);
                if (e > i) {
                    memcpy(out + o, LP_WILD, LP_WILD_LEN);
                    o += LP_WILD_LEN;
                    i = e;
                    continue;
                }
            }
            if (is_alpha(c) || c == '_') {
                /* No span starts inside this word: copy it whole. */
                size_t e = i;
                while (e < m && is_word((unsigned char)t[e]))
                    e++;
                for (size_t k = i; k < e; k++)
                    dig |= is_digit((unsigned char)t[k]);
                memcpy(out + o, t + i, e - i);
                o += e - i;
                i = e;
                continue;
            }
        }
        dig |= is_digit(c);
        out[o++] = (char)c;
        i++;
    }
    *digit = dig;
    return o;
}

/* 0: no "<*>" in the token; 1: a "<*>" and letters ("uid=<*>"); 2: a
 * "<*>" and no letters outside it ("<*>:", "<*>:<*>"). */
static uint8_t wild_kind(const char *t, size_t n)
{
    bool wild = false, letters = false;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '<' && i + LP_WILD_LEN <= n && t[i + 1] == '*' && t[i + 2] == '>') {
            wild = true;
            i += LP_WILD_LEN - 1;
        } else if (is_alpha((unsigned char)t[i])) {
            letters = true;
        }
    }
    return !wild ? 0 : letters ? 1 : 2;
}

int lp_scan(const char *msg, size_t n, bool builtin, char *out, size_t *out_len,
            struct lp_tok *toks, int max_tokens)
{
    size_t i = 0, o = 0;
    int nt = 0;
    while (i < n) {
        while (i < n && is_space((unsigned char)msg[i]))
            i++;
        if (i >= n)
            break;
        size_t s = i;
        if (nt > 0)
            out[o++] = ' ';
        struct lp_tok *tk = &toks[nt];
        tk->off = (uint32_t)o;
        if (nt == max_tokens - 1) {
            /* Is there more after this token? Then it all becomes "<*>". */
            size_t r = s;
            while (r < n && !is_space((unsigned char)msg[r]))
                r++;
            while (r < n && is_space((unsigned char)msg[r]))
                r++;
            if (r < n) {
                memcpy(out + o, LP_WILD, LP_WILD_LEN);
                o += LP_WILD_LEN;
                tk->len = LP_WILD_LEN;
                tk->digit = false;
                tk->var = 2;
                tk->h = lp_hash(out + tk->off, tk->len);
                nt++;
                break;
            }
        }
        bool dig = false;
        if (builtin) {
            /* A leading '[' or '(' may open a date-time. */
            size_t p = s + (msg[s] == '[' || msg[s] == '(');
            size_t e = p;
            /* Only a digit or a capitalised 3-letter word can start one. */
            if (p < n &&
                (is_digit((unsigned char)msg[p]) || ((unsigned)(msg[p] - 'A') < 26 && p + 3 < n &&
                                                     !is_alpha((unsigned char)msg[p + 3]))))
                e = match_datetime(msg, p, n);
            if (e > p) {
                if (p > s)
                    out[o++] = msg[s];
                memcpy(out + o, LP_WILD, LP_WILD_LEN);
                o += LP_WILD_LEN;
                s = e;
                dig = true;
            }
        }
        i = s;
        while (i < n && !is_space((unsigned char)msg[i]))
            i++;
        if (builtin) {
            bool d2 = false;
            o += mask_token(msg + s, i - s, out + o, &d2);
            dig |= d2;
        } else {
            for (size_t k = s; k < i; k++)
                dig |= is_digit((unsigned char)msg[k]);
            memcpy(out + o, msg + s, i - s);
            o += i - s;
        }
        tk->digit = dig;
        tk->len = (uint32_t)(o - tk->off);
        tk->h = lp_hash(out + tk->off, tk->len);
        tk->var = wild_kind(out + tk->off, tk->len);
        nt++;
    }
    *out_len = o;
    return nt;
}
