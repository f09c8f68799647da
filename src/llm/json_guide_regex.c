/*
 * JSON guide, part 3: the "pattern" keyword. A regular-expression subset of
 * ECMA-262 compiles to a Thompson NFA over code points of at most 128
 * states, so a set of states fits in a string frame (two 64-bit words):
 *
 *   literals, '.', classes [a-z0-9_] and [^...], \d \w \s \D \W \S,
 *   escapes (\n \t \r \f \v \0 \xHH \uHHHH, \. and other punctuation),
 *   groups (...) (?:...) (?<name>...), alternation |, quantifiers ? * +
 *   {m} {m,} {m,n} (lazy forms read the same), ^ at the very start and $ at
 *   the very end (without them the pattern may match anywhere, as JSON
 *   Schema says).
 *
 * Anything else (backreferences, lookaround, \b, anchors elsewhere, more than
 * 128 states) makes jg_regex_compile return AIOS_EUNSUPPORTED and the
 * compiler ignores the pattern, which only loosens the schema. Matching is
 * on decoded code points: the string matcher steps the set once a character
 * (raw UTF-8 or escape) is complete, and asks jg_regex_viable() about the
 * range of code points a partial character can still become.
 */
#include "llm/json_guide_int.h"

#include <string.h>

#define MAX_AST 512
#define MAX_RANGES 4096
#define MAX_CP 0x10FFFF

enum { A_LIT, A_CAT, A_ALT, A_REP, A_EMPTY };

struct ast {
    int kind;
    int a, b;     /* CAT/ALT: children a, b; REP: child a */
    int min, max; /* REP; max -1 = unbounded */
    int cls;      /* LIT: class index */
};

struct rcc {
    const char *p, *end;
    struct ast ast[MAX_AST];
    int nast;
    /* classes: ranges, each class a slice */
    uint32_t (*ranges)[2];
    int nranges;
    int cls_off[MAX_AST], cls_n[MAX_AST];
    int ncls;
    bool unsupported;
    int depth;
    const char *syntax;
    /* output */
    struct jg_regex *re;
};

static int new_ast(struct rcc *c, int kind)
{
    if (c->nast >= MAX_AST) {
        c->unsupported = true;
        return -1;
    }
    struct ast *a = &c->ast[c->nast];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    return c->nast++;
}

/* ---- classes ------------------------------------------------------------ */

static int cls_begin(struct rcc *c)
{
    if (c->ncls >= MAX_AST) {
        c->unsupported = true;
        return -1;
    }
    c->cls_off[c->ncls] = c->nranges;
    c->cls_n[c->ncls] = 0;
    return c->ncls++;
}

static void cls_add(struct rcc *c, int k, uint32_t lo, uint32_t hi)
{
    if (k < 0 || c->nranges >= MAX_RANGES) {
        c->unsupported = true;
        return;
    }
    c->ranges[c->nranges][0] = lo;
    c->ranges[c->nranges][1] = hi;
    c->nranges++;
    c->cls_n[k]++;
}

static int range_cmp(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Sorts and merges class k's ranges; negate complements them. */
static void cls_finish(struct rcc *c, int k, bool negate)
{
    if (k < 0 || c->unsupported)
        return;
    uint32_t(*r)[2] = c->ranges + c->cls_off[k];
    int n = c->cls_n[k];
    qsort(r, (size_t)n, sizeof *r, range_cmp);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && r[i][0] <= r[m - 1][1] + 1) {
            if (r[i][1] > r[m - 1][1])
                r[m - 1][1] = r[i][1];
        } else {
            r[m][0] = r[i][0];
            r[m][1] = r[i][1];
            m++;
        }
    }
    c->cls_n[k] = m;
    c->nranges = c->cls_off[k] + m;
    if (!negate)
        return;
    uint32_t tmp[64][2];
    if (m + 1 > 64) {
        c->unsupported = true;
        return;
    }
    int t = 0;
    uint32_t next = 0;
    for (int i = 0; i < m; i++) {
        if (r[i][0] > next) {
            tmp[t][0] = next;
            tmp[t][1] = r[i][0] - 1;
            t++;
        }
        next = r[i][1] + 1;
    }
    if (next <= MAX_CP) {
        tmp[t][0] = next;
        tmp[t][1] = MAX_CP;
        t++;
    }
    c->nranges = c->cls_off[k];
    c->cls_n[k] = 0;
    for (int i = 0; i < t; i++)
        cls_add(c, k, tmp[i][0], tmp[i][1]);
}

/* \d \w \s and their negations into class k (negated ones complement only
 * their own part, so they are built in a scratch class and copied). */
static void add_shorthand(struct rcc *c, int k, char e)
{
    static const uint32_t d[][2] = {{'0', '9'}};
    static const uint32_t w[][2] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    static const uint32_t s[][2] = {
        {9, 13},          {' ', ' '},       {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
        {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
    const uint32_t(*set)[2];
    int n;
    switch (e | 0x20) {
    case 'd':
        set = d, n = 1;
        break;
    case 'w':
        set = w, n = 4;
        break;
    default:
        set = s, n = (int)(sizeof s / sizeof s[0]);
        break;
    }
    if (e >= 'a') {
        for (int i = 0; i < n; i++)
            cls_add(c, k, set[i][0], set[i][1]);
        return;
    }
    uint32_t next = 0;
    for (int i = 0; i < n; i++) {
        if (set[i][0] > next)
            cls_add(c, k, next, set[i][0] - 1);
        next = set[i][1] + 1;
    }
    cls_add(c, k, next, MAX_CP);
}

/* ---- parser ------------------------------------------------------------- */

static int hexv(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/* One UTF-8 character of the pattern text. */
static uint32_t next_cp(struct rcc *c)
{
    const unsigned char *p = (const unsigned char *)c->p;
    uint32_t cp = p[0];
    int n = cp < 0x80 ? 0 : cp < 0xE0 ? 1 : cp < 0xF0 ? 2 : 3;
    if (cp >= 0x80)
        cp &= 0x3F >> n;
    for (int i = 1; i <= n; i++) {
        if (c->p + i >= c->end || (p[i] & 0xC0) != 0x80) {
            c->syntax = "invalid UTF-8";
            c->p = c->end;
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3F);
    }
    c->p += n + 1;
    return cp;
}

/* After a backslash: a single code point (returned), or a shorthand class
 * (*sh set to its letter). */
static uint32_t parse_escape(struct rcc *c, char *sh, bool in_class)
{
    *sh = 0;
    if (c->p >= c->end) {
        c->syntax = "trailing backslash";
        return 0;
    }
    char e = *c->p++;
    int h1, h2, h3, h4;
    switch (e) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S':
        *sh = e;
        return 0;
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    case '0':
        return 0;
    case 'b':
        if (in_class)
            return '\b';
        c->unsupported = true; /* word boundary */
        return 0;
    case 'x':
        if (c->end - c->p < 2 || (h1 = hexv(c->p[0])) < 0 || (h2 = hexv(c->p[1])) < 0) {
            c->syntax = "bad \\x escape";
            return 0;
        }
        c->p += 2;
        return (uint32_t)(h1 << 4 | h2);
    case 'u':
        if (c->end - c->p < 4 || (h1 = hexv(c->p[0])) < 0 || (h2 = hexv(c->p[1])) < 0 ||
            (h3 = hexv(c->p[2])) < 0 || (h4 = hexv(c->p[3])) < 0) {
            c->unsupported = true; /* \u{...} and friends */
            return 0;
        }
        c->p += 4;
        return (uint32_t)(h1 << 12 | h2 << 8 | h3 << 4 | h4);
    default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '1' && e <= '9'))
            c->unsupported = true; /* backreference, \p{..}, \c.. */
        c->p--;
        return next_cp(c);
    }
}

static int parse_class(struct rcc *c)
{
    int k = cls_begin(c);
    bool neg = c->p < c->end && *c->p == '^';
    if (neg)
        c->p++;
    bool first = true;
    while (c->p < c->end && (*c->p != ']' || first) && !c->syntax && !c->unsupported) {
        first = false;
        uint32_t lo;
        char sh = 0;
        if (*c->p == '\\') {
            c->p++;
            lo = parse_escape(c, &sh, true);
        } else {
            lo = next_cp(c);
        }
        if (sh) {
            add_shorthand(c, k, sh);
            continue;
        }
        uint32_t hi = lo;
        if (c->end - c->p >= 2 && c->p[0] == '-' && c->p[1] != ']') {
            c->p++;
            if (*c->p == '\\') {
                c->p++;
                hi = parse_escape(c, &sh, true);
                if (sh)
                    c->unsupported = true;
            } else {
                hi = next_cp(c);
            }
            if (hi < lo)
                c->syntax = "class range out of order";
        }
        cls_add(c, k, lo, hi);
    }
    if (c->p >= c->end) {
        c->syntax = "unterminated class";
        return -1;
    }
    c->p++; /* ] */
    cls_finish(c, k, neg);
    int a = new_ast(c, A_LIT);
    if (a >= 0)
        c->ast[a].cls = k;
    return a;
}

static int lit_cp(struct rcc *c, uint32_t cp)
{
    int k = cls_begin(c);
    cls_add(c, k, cp, cp);
    int a = new_ast(c, A_LIT);
    if (a >= 0)
        c->ast[a].cls = k;
    return a;
}

static int parse_alt(struct rcc *c);

static int parse_atom(struct rcc *c)
{
    char ch = *c->p;
    if (ch == '(') {
        if (++c->depth > 32) { /* group nesting bounds the parser's recursion */
            c->unsupported = true;
            return -1;
        }
        c->p++;
        if (c->p < c->end && *c->p == '?') {
            if (c->end - c->p >= 2 && c->p[1] == ':') {
                c->p += 2;
            } else if (c->end - c->p >= 2 && c->p[1] == '<' && c->end - c->p >= 3 &&
                       c->p[2] != '=' && c->p[2] != '!') {
                const char *q = memchr(c->p, '>', (size_t)(c->end - c->p));
                if (!q) {
                    c->syntax = "unterminated group name";
                    return -1;
                }
                c->p = q + 1;
            } else {
                c->unsupported = true; /* lookaround */
                return -1;
            }
        }
        int a = parse_alt(c);
        c->depth--;
        if (c->p >= c->end || *c->p != ')') {
            if (!c->syntax)
                c->syntax = "missing )";
            return -1;
        }
        c->p++;
        return a;
    }
    if (ch == '[') {
        c->p++;
        return parse_class(c);
    }
    if (ch == '.') {
        c->p++;
        int k = cls_begin(c);
        cls_add(c, k, '\n', '\n');
        cls_add(c, k, '\r', '\r');
        cls_add(c, k, 0x2028, 0x2029);
        cls_finish(c, k, true);
        int a = new_ast(c, A_LIT);
        if (a >= 0)
            c->ast[a].cls = k;
        return a;
    }
    if (ch == '\\') {
        c->p++;
        char sh;
        uint32_t cp = parse_escape(c, &sh, false);
        if (!sh)
            return lit_cp(c, cp);
        int k = cls_begin(c);
        add_shorthand(c, k, sh);
        cls_finish(c, k, false);
        int a = new_ast(c, A_LIT);
        if (a >= 0)
            c->ast[a].cls = k;
        return a;
    }
    if (ch == '^' || ch == '$') {
        c->unsupported = true; /* anchors inside the pattern */
        return -1;
    }
    if (ch == '*' || ch == '+' || ch == '?' || ch == ')' || ch == '|') {
        c->syntax = "nothing to repeat";
        return -1;
    }
    return lit_cp(c, next_cp(c));
}

static bool parse_int(struct rcc *c, int *out)
{
    int v = 0, n = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && n < 6) {
        v = v * 10 + (*c->p++ - '0');
        n++;
    }
    *out = v;
    return n > 0;
}

static int parse_repeat(struct rcc *c)
{
    int a = parse_atom(c);
    while (a >= 0 && c->p < c->end && !c->syntax && !c->unsupported) {
        int min, max;
        char ch = *c->p;
        if (ch == '*')
            min = 0, max = -1;
        else if (ch == '+')
            min = 1, max = -1;
        else if (ch == '?')
            min = 0, max = 1;
        else if (ch == '{') {
            const char *save = c->p;
            c->p++;
            if (!parse_int(c, &min)) {
                c->p = save; /* a literal '{' */
                break;
            }
            max = min;
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                if (!parse_int(c, &max))
                    max = -1;
            }
            if (c->p >= c->end || *c->p != '}') {
                c->syntax = "bad {m,n}";
                return -1;
            }
            if (max >= 0 && max < min) {
                c->syntax = "{m,n} with n < m";
                return -1;
            }
            if (min > 64 || max > 64) {
                c->unsupported = true;
                return -1;
            }
        } else {
            break;
        }
        c->p++;
        if (c->p < c->end && *c->p == '?')
            c->p++; /* lazy: same language */
        int r = new_ast(c, A_REP);
        if (r < 0)
            return -1;
        c->ast[r].a = a;
        c->ast[r].min = min;
        c->ast[r].max = max;
        a = r;
    }
    return a;
}

static int parse_concat(struct rcc *c)
{
    int acc = -1;
    while (c->p < c->end && *c->p != '|' && *c->p != ')' && !c->syntax && !c->unsupported) {
        if (*c->p == '$' && c->p + 1 == c->end)
            break;
        int a = parse_repeat(c);
        if (a < 0)
            return -1;
        if (acc < 0) {
            acc = a;
        } else {
            int k = new_ast(c, A_CAT);
            if (k < 0)
                return -1;
            c->ast[k].a = acc;
            c->ast[k].b = a;
            acc = k;
        }
    }
    return acc >= 0 ? acc : new_ast(c, A_EMPTY);
}

static int parse_alt(struct rcc *c)
{
    int a = parse_concat(c);
    while (a >= 0 && c->p < c->end && *c->p == '|' && !c->syntax && !c->unsupported) {
        c->p++;
        int b = parse_concat(c);
        if (b < 0)
            return -1;
        int k = new_ast(c, A_ALT);
        if (k < 0)
            return -1;
        c->ast[k].a = a;
        c->ast[k].b = b;
        a = k;
    }
    return a;
}

/* ---- NFA ---------------------------------------------------------------- */

static int new_state(struct rcc *c, int kind)
{
    struct jg_regex *re = c->re;
    if (re->nstates >= JG_RE_MAX_STATES) {
        c->unsupported = true;
        return -1;
    }
    int s = re->nstates++;
    re->st[s].kind = (uint8_t)kind;
    re->st[s].out = re->st[s].out2 = -1;
    re->st[s].cls = -1;
    return s;
}

/* Emits node a between fresh states; returns its entry and sets *exit to
 * an EPS state whose out is patched by the caller. */
static int emit(struct rcc *c, int a, int *exit, int depth)
{
    if (a < 0 || depth > 200 || c->unsupported) {
        c->unsupported = true;
        return -1;
    }
    const struct ast *n = &c->ast[a];
    struct jg_regex *re = c->re;
    int in, out, e1, e2, x;
    switch (n->kind) {
    case A_EMPTY:
        in = new_state(c, JG_RE_EPS);
        *exit = in;
        return in;
    case A_LIT:
        in = new_state(c, JG_RE_CHAR);
        out = new_state(c, JG_RE_EPS);
        if (in < 0 || out < 0)
            return -1;
        re->st[in].cls = (int16_t)n->cls;
        re->st[in].out = (int16_t)out;
        *exit = out;
        return in;
    case A_CAT:
        in = emit(c, n->a, &e1, depth + 1);
        x = emit(c, n->b, &e2, depth + 1);
        if (in < 0 || x < 0)
            return -1;
        re->st[e1].out = (int16_t)x;
        *exit = e2;
        return in;
    case A_ALT:
        in = new_state(c, JG_RE_SPLIT);
        out = new_state(c, JG_RE_EPS);
        x = emit(c, n->a, &e1, depth + 1);
        int y = emit(c, n->b, &e2, depth + 1);
        if (in < 0 || out < 0 || x < 0 || y < 0)
            return -1;
        re->st[in].out = (int16_t)x;
        re->st[in].out2 = (int16_t)y;
        re->st[e1].out = re->st[e2].out = (int16_t)out;
        *exit = out;
        return in;
    case A_REP: {
        /* min copies, then (max - min) optional copies or a loop */
        in = new_state(c, JG_RE_EPS);
        if (in < 0)
            return -1;
        int tail = in;
        for (int i = 0; i < n->min; i++) {
            x = emit(c, n->a, &e1, depth + 1);
            if (x < 0)
                return -1;
            re->st[tail].out = (int16_t)x;
            tail = e1;
        }
        out = new_state(c, JG_RE_EPS);
        if (out < 0)
            return -1;
        if (n->max < 0) {
            int sp = new_state(c, JG_RE_SPLIT);
            x = emit(c, n->a, &e1, depth + 1);
            if (sp < 0 || x < 0)
                return -1;
            re->st[tail].out = (int16_t)sp;
            re->st[sp].out = (int16_t)x;
            re->st[sp].out2 = (int16_t)out;
            re->st[e1].out = (int16_t)sp;
        } else {
            for (int i = n->min; i < n->max; i++) {
                int sp = new_state(c, JG_RE_SPLIT);
                x = emit(c, n->a, &e1, depth + 1);
                if (sp < 0 || x < 0)
                    return -1;
                re->st[tail].out = (int16_t)sp;
                re->st[sp].out = (int16_t)x;
                re->st[sp].out2 = (int16_t)out;
                tail = e1;
            }
            re->st[tail].out = (int16_t)out;
        }
        *exit = out;
        return in;
    }
    }
    return -1;
}

static void set_add(uint64_t *s, int i)
{
    s[i >> 6] |= (uint64_t)1 << (i & 63);
}

static bool set_has(const uint64_t *s, int i)
{
    return (s[i >> 6] >> (i & 63)) & 1;
}

static void closure(const struct jg_regex *re, int s, uint64_t *out, int depth)
{
    if (s < 0 || set_has(out, s) || depth > JG_RE_MAX_STATES)
        return;
    set_add(out, s);
    const struct jg_re_state *st = &re->st[s];
    if (st->kind == JG_RE_EPS || st->kind == JG_RE_SPLIT) {
        closure(re, st->out, out, depth + 1);
        closure(re, st->out2, out, depth + 1);
    }
}

int jg_regex_compile(const char *pat, size_t len, aios_arena *arena, const struct jg_regex **out,
                     const char **why)
{
    *out = NULL;
    *why = NULL;
    struct rcc *c = aios_calloc(1, sizeof *c);
    struct jg_regex *re = aios_calloc(1, sizeof *re);
    uint32_t(*ranges)[2] = aios_calloc(MAX_RANGES, sizeof *ranges);
    int rc = AIOS_ENOMEM;
    if (!c || !re || !ranges)
        goto done;
    c->p = pat;
    c->end = pat + len;
    c->ranges = ranges;
    c->re = re;
    bool anchored_start = len > 0 && pat[0] == '^';
    bool anchored_end = len > 0 && pat[len - 1] == '$' && !(len > 1 && pat[len - 2] == '\\');
    if (anchored_start)
        c->p++;
    int root = parse_alt(c);
    if (!c->syntax && !c->unsupported && c->p < c->end && !(anchored_end && c->p + 1 == c->end))
        c->syntax = *c->p == ')' ? "unbalanced )" : "unexpected character";
    if (c->syntax) {
        *why = c->syntax;
        rc = AIOS_EINVAL;
        goto done;
    }
    rc = AIOS_EUNSUPPORTED;
    if (c->unsupported || root < 0)
        goto done;
    /* unanchored ends match anything there: "(?s:.)*" around the pattern */
    if (!anchored_start || !anchored_end) {
        int k = cls_begin(c);
        cls_add(c, k, 0, MAX_CP);
        int lit = new_ast(c, A_LIT), rep = new_ast(c, A_REP);
        if (lit < 0 || rep < 0)
            goto done;
        c->ast[lit].cls = k;
        c->ast[rep].a = lit;
        c->ast[rep].max = -1;
        if (!anchored_start) {
            int cat = new_ast(c, A_CAT);
            if (cat < 0)
                goto done;
            c->ast[cat].a = rep;
            c->ast[cat].b = root;
            root = cat;
        }
        if (!anchored_end) {
            int cat = new_ast(c, A_CAT);
            if (cat < 0)
                goto done;
            c->ast[cat].a = root;
            c->ast[cat].b = rep;
            root = cat;
        }
    }
    int ex;
    int start = emit(c, root, &ex, 0);
    int match = new_state(c, JG_RE_MATCH);
    if (c->unsupported || start < 0 || match < 0)
        goto done;
    re->st[ex].out = (int16_t)match;
    re->match = (int16_t)match;
    for (int s = 0; s < re->nstates; s++)
        closure(re, s, re->clos[s], 0);
    memcpy(re->start, re->clos[start], sizeof re->start);
    /* live: states from which MATCH is reachable through non-empty classes */
    set_add(re->live, match);
    for (bool changed = true; changed;) {
        changed = false;
        for (int s = 0; s < re->nstates; s++) {
            if (set_has(re->live, s))
                continue;
            const struct jg_re_state *st = &re->st[s];
            bool l = false;
            if (st->kind == JG_RE_CHAR)
                l = c->cls_n[st->cls] > 0 && st->out >= 0 && set_has(re->live, st->out);
            else if (st->kind != JG_RE_MATCH)
                l = (st->out >= 0 && set_has(re->live, st->out)) ||
                    (st->out2 >= 0 && set_has(re->live, st->out2));
            if (l) {
                set_add(re->live, s);
                changed = true;
            }
        }
    }
    /* classes into the arena */
    re->nranges = (uint32_t)c->nranges;
    uint32_t(*rr)[2] = aios_arena_alloc(arena, (size_t)(c->nranges ? c->nranges : 1) * 8);
    int16_t *off = aios_arena_alloc(arena, (size_t)(c->ncls ? c->ncls : 1) * sizeof *off);
    int16_t *cnt = aios_arena_alloc(arena, (size_t)(c->ncls ? c->ncls : 1) * sizeof *cnt);
    rc = AIOS_ENOMEM;
    if (!rr || !off || !cnt || c->nranges > INT16_MAX)
        goto done;
    memcpy(rr, ranges, (size_t)c->nranges * 8);
    for (int k = 0; k < c->ncls; k++) {
        off[k] = (int16_t)c->cls_off[k];
        cnt[k] = (int16_t)c->cls_n[k];
    }
    re->ranges = (const uint32_t(*)[2])rr;
    re->cls_off = off;
    re->cls_n = cnt;
    struct jg_regex *keep = aios_arena_alloc(arena, sizeof *keep);
    if (!keep)
        goto done;
    memcpy(keep, re, sizeof *keep);
    *out = keep;
    rc = AIOS_OK;
done:
    aios_free(c);
    aios_free(re);
    aios_free(ranges);
    return rc;
}

/* ---- matching ------------------------------------------------------------ */

static bool cls_hits(const struct jg_regex *re, int k, uint32_t lo, uint32_t hi)
{
    const uint32_t(*r)[2] = re->ranges + re->cls_off[k];
    for (int i = 0; i < re->cls_n[k]; i++)
        if (r[i][0] <= hi && lo <= r[i][1])
            return true;
    return false;
}

bool jg_regex_step(const struct jg_regex *re, uint64_t set[2], uint32_t cp)
{
    uint64_t next[2] = {0, 0};
    for (int s = 0; s < re->nstates; s++) {
        if (!set_has(set, s) || re->st[s].kind != JG_RE_CHAR)
            continue;
        if (cls_hits(re, re->st[s].cls, cp, cp)) {
            next[0] |= re->clos[re->st[s].out][0];
            next[1] |= re->clos[re->st[s].out][1];
        }
    }
    set[0] = next[0];
    set[1] = next[1];
    return (next[0] & re->live[0]) || (next[1] & re->live[1]);
}

bool jg_regex_viable(const struct jg_regex *re, const uint64_t set[2], uint32_t lo, uint32_t hi)
{
    for (int s = 0; s < re->nstates; s++) {
        if (!set_has(set, s) || re->st[s].kind != JG_RE_CHAR)
            continue;
        int o = re->st[s].out;
        if (set_has(re->live, o) && cls_hits(re, re->st[s].cls, lo, hi))
            return true;
    }
    return false;
}

bool jg_regex_accepts(const struct jg_regex *re, const uint64_t set[2])
{
    return set_has(set, re->match);
}
