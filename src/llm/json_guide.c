/*
 * JSON guide, part 2: the byte-level matcher behind aios_json_guide_*
 * (llm_guide.h). The schema was compiled into nodes by json_guide_schema.c.
 *
 * State. A *thread* is one way of reading the text so far: a stack of frames,
 * the innermost value being parsed on top. Unions (anyOf, type-alike
 * alternatives) fork a thread when a value's first byte fits more than one
 * alternative; a thread dies on a byte it cannot take; threads that end up
 * identical merge. The text is acceptable while some thread lives, complete
 * when some thread has closed the top-level value. Almost always there is
 * one thread and a byte touches only its top frame or two.
 *
 * Frames and their states:
 *
 *   EXPECT(node)  a value of node is due: whitespace, or its first byte,
 *                 which turns the frame into one of:
 *   OBJECT   START -"-> KEY -"-> COLON -:-> VALUE (child EXPECT on top)
 *              |}                              | child done
 *              v         COMMA <-,- AFTER <----+
 *            closed        |"        |}
 *                          KEY      closed
 *   ARRAY    START -value-> VALUE -done-> AFTER -,-> VALUE ...; ] from
 *            START or AFTER closes
 *   STRING   body bytes, escapes, UTF-8 continuation; " closes
 *   NUMBER   JSON number grammar; ends at the first byte it cannot take,
 *            which is then read by the frame below
 *   LITERAL  prefix of one of a sorted set of texts (true/false/null, enum
 *            and const values); ends when complete and nothing extends it
 *
 * Liveness: every byte accepted leaves a way to finish the document (keys
 * must still be able to become an unused allowed name, ',' needs a member
 * or item that may still come, strings cannot close below minLength, ...).
 *
 * The whole state is a few small arrays (struct gstate): accept() copies
 * the used part onto its stack and runs there, so it allocates nothing and
 * leaves the guide untouched.
 */
#include "llm/llm.h"
#include "llm/json_guide_int.h"

#include <assert.h>
#include <string.h>

#define MAX_THREADS JG_MAX_ALTS
#define POOL 256   /* frames shared by all threads */
#define NUM_MAX 64 /* bytes in a number */
#define UNION_NEST 8

enum { F_EXPECT, F_OBJECT, F_ARRAY, F_STRING, F_NUMBER, F_LITERAL };
enum { O_START, O_KEY, O_COLON, O_VALUE, O_AFTER, O_COMMA };
enum { A_START, A_VALUE, A_AFTER };
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };
enum { LIT_ENUM, LIT_KW };
/* string escape sub-states */
enum { E_NONE, E_BS, E_U1, E_U2, E_U3, E_U4, E_LBS, E_LU, E_L1, E_L2, E_L3, E_L4 };
enum { SB_BAD, SB_OK, SB_CLOSE };
enum { NB_BAD, NB_OK, NB_END };

#define NO_PROP UINT32_MAX

struct frame {
    const struct jg_node *node;
    uint8_t kind;
    uint8_t st;     /* container / number / literal-table state */
    uint8_t esc;    /* string escape state; NUMBER: integer only */
    uint8_t u8need; /* UTF-8 continuation bytes still due */
    uint8_t u8lo, u8hi;
    uint16_t hex;         /* \u digits so far */
    uint32_t count;       /* object members, array items, string code points, number bytes */
    uint32_t lo, hi, pos; /* literal / key match: candidates [lo, hi) agree on pos bytes */
    uint64_t seen[2];     /* object: properties used (or forbidden) */
};
static_assert(sizeof(struct frame) == 48, "frame layout has no padding (threads are memcmp'd)");

struct thr {
    uint16_t off, depth;
    uint16_t ws; /* consecutive whitespace bytes */
};

struct gstate {
    uint16_t n, used;
    bool popped; /* this step popped or forked: look for identical threads */
    struct thr t[MAX_THREADS];
    struct frame f[POOL];
};

struct aios_json_guide {
    aios_arena *arena;
    const struct jg_node *root;
    struct gstate *cur, *s1, *s2;
    size_t fed;
};

static const struct jg_lit kw[] = {{"false", 5}, {"null", 4}, {"true", 4}};

/* ---- literal sets ------------------------------------------------------- */

/* Candidates l[lo..hi) share their first pos bytes; keeps those whose byte
 * pos is c. False (range untouched) when none. */
static bool narrow(const struct jg_lit *l, uint32_t *lo, uint32_t *hi, uint32_t pos, uint8_t c)
{
    uint32_t a = *lo, b = *hi;
    if (a < b && l[a].len == pos) /* sorted: the one that ends here comes first */
        a++;
    uint32_t x = a, y = b;
    while (x < y) {
        uint32_t m = x + (y - x) / 2;
        if ((uint8_t)l[m].s[pos] < c)
            x = m + 1;
        else
            y = m;
    }
    uint32_t first = x;
    y = b;
    while (x < y) {
        uint32_t m = x + (y - x) / 2;
        if ((uint8_t)l[m].s[pos] <= c)
            x = m + 1;
        else
            y = m;
    }
    if (first == x)
        return false;
    *lo = first;
    *hi = x;
    return true;
}

static const struct jg_lit *lit_table(const struct frame *f)
{
    return f->st == LIT_KW ? kw : f->node->lits;
}

static bool lit_can_end(const struct frame *f)
{
    return lit_table(f)[f->lo].len == f->pos;
}

static bool lit_finished(const struct frame *f)
{
    return f->hi - f->lo == 1 && lit_can_end(f);
}

/* ---- strings ------------------------------------------------------------ */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Pattern bookkeeping of a string frame: the NFA set is in seen[], a
 * partial UTF-8 character's bits in pos, a pending high surrogate in lo. */

/* Code points a partial UTF-8 character can still become. */
static bool u8_viable(const struct frame *f, const struct jg_regex *re)
{
    unsigned sh = 6u * (f->u8need - 1u);
    uint32_t lo = ((f->pos << 6) | (f->u8lo & 0x3Fu)) << sh;
    uint32_t hi = ((f->pos << 6) | (f->u8hi & 0x3Fu)) << sh | ((1u << sh) - 1u);
    return jg_regex_viable(re, f->seen, lo, hi);
}

/* Code points a \u escape with d of 4 digits (value h) can become; high
 * surrogates stand for the supplementary planes they start. */
static bool hex_viable(const struct frame *f, const struct jg_regex *re, uint32_t h, unsigned d)
{
    unsigned sh = 4u * (4u - d);
    uint32_t lo = h << sh, hi = lo | ((1u << sh) - 1u);
    if (jg_regex_viable(re, f->seen, lo, hi))
        return true;
    if (hi < 0xD800 || lo > 0xDBFF)
        return false;
    uint32_t a = lo < 0xD800 ? 0xD800 : lo, b = hi > 0xDBFF ? 0xDBFF : hi;
    return jg_regex_viable(re, f->seen, 0x10000 + ((a - 0xD800) << 10),
                           0x10000 + ((b - 0xD800) << 10) + 0x3FF);
}

/* The same for the low half of a pair (high half in f->lo). */
static bool low_viable(const struct frame *f, const struct jg_regex *re, uint32_t h, unsigned d)
{
    unsigned sh = 4u * (4u - d);
    uint32_t lo = h << sh, hi = lo | ((1u << sh) - 1u);
    if (lo < 0xDC00)
        lo = 0xDC00;
    if (hi > 0xDFFF)
        hi = 0xDFFF;
    uint32_t base = 0x10000 + ((f->lo - 0xD800) << 10);
    return lo <= hi && jg_regex_viable(re, f->seen, base + lo - 0xDC00, base + hi - 0xDC00);
}

static uint32_t simple_escape(uint8_t c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    }
    return c; /* " \\ / */
}

/* One byte of a string body (after the opening quote). re: the value's
 * pattern, NULL for none (and for keys). */
static int str_byte(struct frame *f, uint8_t c, uint32_t min_len, uint32_t max_len,
                    const struct jg_regex *re)
{
    if (f->u8need) {
        if (c < f->u8lo || c > f->u8hi)
            return SB_BAD;
        f->u8need--;
        f->u8lo = 0x80;
        f->u8hi = 0xBF;
        if (re) {
            f->pos = f->pos << 6 | (c & 0x3Fu);
            if (f->u8need ? !u8_viable(f, re) : !jg_regex_step(re, f->seen, f->pos))
                return SB_BAD;
        }
        return SB_OK;
    }
    int h;
    switch (f->esc) {
    case E_NONE:
        if (c == '"')
            return f->count >= min_len && (!re || jg_regex_accepts(re, f->seen)) ? SB_CLOSE
                                                                                 : SB_BAD;
        if (c < 0x20 || f->count >= max_len)
            return SB_BAD;
        f->count++;
        if (c == '\\') {
            if (re && !jg_regex_viable(re, f->seen, 0, 0x10FFFF))
                return SB_BAD;
            f->esc = E_BS;
            return SB_OK;
        }
        if (c < 0x80)
            return re && !jg_regex_step(re, f->seen, c) ? SB_BAD : SB_OK;
        /* UTF-8 lead byte: the ranges of RFC 3629 (no overlongs, no
         * surrogates, nothing past U+10FFFF) */
        f->u8lo = 0x80;
        f->u8hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            f->u8need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            f->u8need = 2;
            if (c == 0xE0)
                f->u8lo = 0xA0;
            else if (c == 0xED)
                f->u8hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            f->u8need = 3;
            if (c == 0xF0)
                f->u8lo = 0x90;
            else if (c == 0xF4)
                f->u8hi = 0x8F;
        } else {
            return SB_BAD;
        }
        if (re) {
            f->pos = c & (0x3Fu >> f->u8need);
            if (!u8_viable(f, re))
                return SB_BAD;
        }
        return SB_OK;
    case E_BS:
        switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            f->esc = E_NONE;
            return re && !jg_regex_step(re, f->seen, simple_escape(c)) ? SB_BAD : SB_OK;
        case 'u':
            f->esc = E_U1;
            f->hex = 0;
            return SB_OK;
        }
        return SB_BAD;
    case E_U1:
    case E_U2:
    case E_U3:
    case E_U4:
        if ((h = hexval(c)) < 0)
            return SB_BAD;
        f->hex = (uint16_t)(f->hex << 4 | h);
        if (f->esc == E_U2 && (f->hex & 0xFC) == 0xDC)
            return SB_BAD; /* a low surrogate with no high one before it */
        if (re && !hex_viable(f, re, f->hex, (unsigned)(f->esc - E_U1 + 1)))
            return SB_BAD;
        if (f->esc == E_U4) {
            bool high = f->hex >= 0xD800 && f->hex <= 0xDBFF;
            if (high)
                f->lo = f->hex;
            else if (re && !jg_regex_step(re, f->seen, f->hex))
                return SB_BAD;
            f->esc = high ? E_LBS : E_NONE;
            f->hex = 0;
        } else {
            f->esc++;
        }
        return SB_OK;
    case E_LBS:
        if (c != '\\')
            return SB_BAD;
        f->esc = E_LU;
        return SB_OK;
    case E_LU:
        if (c != 'u')
            return SB_BAD;
        f->esc = E_L1;
        return SB_OK;
    case E_L1:
    case E_L2:
    case E_L3:
    case E_L4:
        if ((h = hexval(c)) < 0)
            return SB_BAD;
        f->hex = (uint16_t)(f->hex << 4 | h);
        if (f->esc == E_L1 && f->hex != 0xD)
            return SB_BAD;
        if (f->esc == E_L2 && (f->hex & 0xFC) != 0xDC)
            return SB_BAD;
        if (re && !low_viable(f, re, f->hex, (unsigned)(f->esc - E_L1 + 1)))
            return SB_BAD;
        if (f->esc == E_L4) {
            if (re && !jg_regex_step(re, f->seen,
                                     0x10000 + ((f->lo - 0xD800) << 10) + (f->hex - 0xDC00u)))
                return SB_BAD;
            f->esc = E_NONE;
            f->hex = 0;
            f->lo = 0;
        } else {
            f->esc++;
        }
        return SB_OK;
    }
    return SB_BAD;
}

/* ---- numbers ------------------------------------------------------------ */

static bool num_accepting(uint8_t st)
{
    return st == N_ZERO || st == N_INT || st == N_FRAC || st == N_EXP;
}

/* Integer bounds. An integer-only number frame keeps its magnitude in
 * lo/hi (low/high 32 bits, saturated just past 2^63), its digit count in
 * pos and its sign in u8lo. */
#define MAG_BIG (((uint64_t)1 << 63) + 1)

static bool has_bounds(const struct jg_node *n)
{
    return n->has_imin || n->has_imax;
}

static uint64_t mag_get(const struct frame *f)
{
    return (uint64_t)f->hi << 32 | f->lo;
}

static void mag_set(struct frame *f, uint64_t m)
{
    f->lo = (uint32_t)m;
    f->hi = (uint32_t)(m >> 32);
}

static bool in_bounds(const struct jg_node *n, __int128 v)
{
    return (!n->has_imin || v >= n->imin) && (!n->has_imax || v <= n->imax);
}

/* Whether the integer typed so far (sign, magnitude m, nd digits) can still
 * end inside the bounds, as it is or with more digits. */
static bool int_reachable(const struct jg_node *n, bool neg, uint64_t m, uint32_t nd)
{
    if (nd > 0 && in_bounds(n, neg ? -(__int128)m : (__int128)m))
        return true;
    if (nd > 0 && m == 0)
        return false; /* "0" and "-0" take no more digits */
    __int128 a = m, span = 1;
    for (int k = 1; k <= 20; k++) {
        a *= 10;
        span *= 10;
        __int128 lo = neg ? -(a + span - 1) : a, hi = neg ? -a : a + span - 1;
        if ((!n->has_imin || hi >= n->imin) && (!n->has_imax || lo <= n->imax))
            return true;
        if ((!neg && n->has_imax && lo > n->imax) || (neg && n->has_imin && hi < n->imin))
            return false; /* only moves further away */
    }
    return false;
}

/* A number may end here: grammar and, for bounded integers, range. */
static bool num_can_end(const struct frame *f)
{
    if (!num_accepting(f->st))
        return false;
    if (!f->esc || !has_bounds(f->node))
        return true;
    uint64_t m = mag_get(f);
    return in_bounds(f->node, f->u8lo ? -(__int128)m : (__int128)m);
}

static int num_byte(struct frame *f, uint8_t c)
{
    bool digit = c >= '0' && c <= '9';
    bool intonly = f->esc != 0;
    uint8_t ns;
    switch (f->st) {
    case N_MINUS:
        if (c == '0')
            ns = N_ZERO;
        else if (digit)
            ns = N_INT;
        else
            return NB_BAD;
        break;
    case N_ZERO:
    case N_INT:
    case N_FRAC:
        if (digit && f->st != N_ZERO)
            ns = f->st;
        else if (c == '.' && f->st != N_FRAC && !intonly)
            ns = N_DOT;
        else if ((c == 'e' || c == 'E') && !intonly)
            ns = N_E;
        else
            return NB_END;
        break;
    case N_DOT:
        if (!digit)
            return NB_BAD;
        ns = N_FRAC;
        break;
    case N_E:
        if (c == '+' || c == '-')
            ns = N_ESIGN;
        else if (digit)
            ns = N_EXP;
        else
            return NB_BAD;
        break;
    case N_ESIGN:
        if (!digit)
            return NB_BAD;
        ns = N_EXP;
        break;
    case N_EXP:
        if (!digit)
            return NB_END;
        ns = N_EXP;
        break;
    default:
        return NB_BAD;
    }
    /* room to finish: a state that still needs a digit needs one more byte */
    if (f->count + 1 > NUM_MAX || (!num_accepting(ns) && f->count + 2 > NUM_MAX))
        return NB_BAD;
    if (f->esc && has_bounds(f->node)) {
        /* integer-only: ns is N_ZERO or N_INT, c a digit */
        uint64_t m = mag_get(f), d = (uint64_t)(c - '0');
        m = m > (MAG_BIG - d) / 10 ? MAG_BIG : m * 10 + d;
        if (!int_reachable(f->node, f->u8lo, m, f->pos + 1))
            return NB_BAD;
        mag_set(f, m);
        f->pos++;
    }
    f->st = ns;
    f->count++;
    return NB_OK;
}

/* ---- objects ------------------------------------------------------------ */

static bool bit_get(const uint64_t *s, uint32_t i)
{
    return (s[i >> 6] >> (i & 63)) & 1;
}

/* Whether some property in [lo, hi) is neither used nor forbidden. */
static bool any_free(const uint64_t *seen, uint32_t lo, uint32_t hi)
{
    for (int w = 0; w < 2 && lo < hi; w++) {
        uint32_t base = (uint32_t)w * 64;
        if (hi <= base || lo >= base + 64)
            continue;
        uint32_t a = lo > base ? lo - base : 0, b = hi < base + 64 ? hi - base : 64;
        uint64_t mask =
            (b == 64 ? ~(uint64_t)0 : (((uint64_t)1 << b) - 1)) & ~(((uint64_t)1 << a) - 1);
        if (~seen[w] & mask)
            return true;
    }
    return false;
}

static bool key_available(const struct frame *f)
{
    const struct jg_node *n = f->node;
    return n->additional || any_free(f->seen, 0, n->nprops);
}

static bool obj_can_close(const struct frame *f)
{
    const struct jg_node *n = f->node;
    return (f->seen[0] & n->required[0]) == n->required[0] &&
           (f->seen[1] & n->required[1]) == n->required[1] && f->count >= n->min_props;
}

static const struct jg_node *item_node(const struct jg_node *n, uint32_t i)
{
    return i < n->nprefix ? n->prefix[i] : n->items;
}

/* ---- threads ------------------------------------------------------------ */

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static bool ws_take(struct thr *t)
{
    if (t->ws >= AIOS_JSON_GUIDE_MAX_WS)
        return false;
    t->ws++;
    return true;
}

/* The top value of t closed: the frame below takes note. */
static void pop_done(struct gstate *st, struct thr *t, struct frame *fs)
{
    st->popped = true; /* stacks may have converged */
    t->depth--;
    if (t->depth == 0)
        return;
    struct frame *p = &fs[t->depth - 1];
    p->count++;
    if (p->kind == F_OBJECT) {
        p->st = O_AFTER;
        p->lo = p->hi = p->pos = 0;
    } else {
        p->st = A_AFTER;
    }
}

/* Pushes EXPECT(node) on the stepping thread (the last one in the pool). */
static bool push_expect(struct gstate *st, struct thr *t, const struct jg_node *node)
{
    if (t->depth > AIOS_JSON_GUIDE_MAX_DEPTH || t->off + t->depth >= POOL)
        return false;
    struct frame *f = &st->f[t->off + t->depth];
    memset(f, 0, sizeof *f);
    f->kind = F_EXPECT;
    f->node = node;
    t->depth++;
    st->used = (uint16_t)(t->off + t->depth);
    return true;
}

/* The frame a value of node starts as when its first byte is c; false when
 * c cannot start one. depth: the frame's index + 1. */
static bool start_frame(const struct jg_node *n, uint8_t c, unsigned depth, struct frame *f)
{
    memset(f, 0, sizeof *f);
    f->node = n;
    if (n->lits) {
        f->lo = 0;
        f->hi = n->nlits;
        if (!narrow(n->lits, &f->lo, &f->hi, 0, c))
            return false;
        f->kind = F_LITERAL;
        f->st = LIT_ENUM;
        f->pos = 1;
        return true;
    }
    unsigned t = n->types;
    switch (c) {
    case '{':
        /* depth: this container's nesting level; its members take one
         * more frame, so the stack holds MAX_DEPTH + 1 */
        if (!(t & JG_T_OBJECT) || depth > AIOS_JSON_GUIDE_MAX_DEPTH)
            return false;
        f->kind = F_OBJECT;
        f->st = O_START;
        f->seen[0] = n->forbidden[0];
        f->seen[1] = n->forbidden[1];
        return true;
    case '[':
        if (!(t & JG_T_ARRAY) || depth > AIOS_JSON_GUIDE_MAX_DEPTH)
            return false;
        f->kind = F_ARRAY;
        f->st = A_START;
        return true;
    case '"':
        if (!(t & JG_T_STRING))
            return false;
        f->kind = F_STRING;
        if (n->pattern) {
            f->seen[0] = n->pattern->start[0];
            f->seen[1] = n->pattern->start[1];
        }
        return true;
    case 't':
    case 'f':
    case 'n':
        if (!(t & (c == 'n' ? JG_T_NULL : JG_T_BOOLEAN)))
            return false;
        f->kind = F_LITERAL;
        f->st = LIT_KW;
        f->lo = 0;
        f->hi = 3;
        narrow(kw, &f->lo, &f->hi, 0, c);
        f->pos = 1;
        return true;
    default:
        if (!(c == '-' || (c >= '0' && c <= '9')) || !(t & (JG_T_NUMBER | JG_T_INTEGER)))
            return false;
        f->kind = F_NUMBER;
        if (c == '-' && n->nonneg)
            return false;
        f->st = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        f->esc = (t & JG_T_NUMBER) ? 0 : 1;
        f->count = 1;
        if (f->esc && has_bounds(n)) {
            f->u8lo = c == '-';
            f->pos = c == '-' ? 0 : 1;
            mag_set(f, c == '-' ? 0 : (uint64_t)(c - '0'));
            if (!int_reachable(n, c == '-', mag_get(f), f->pos))
                return false;
        }
        return true;
    }
}

struct starts {
    int n;
    struct frame f[MAX_THREADS];
};

static void collect(const struct jg_node *n, uint8_t c, unsigned depth, int nest, struct starts *s)
{
    if (n->nalts) {
        if (nest >= UNION_NEST)
            return;
        for (uint32_t i = 0; i < n->nalts && s->n < MAX_THREADS; i++)
            collect(n->alts[i], c, depth, nest + 1, s);
        return;
    }
    if (s->n < MAX_THREADS && start_frame(n, c, depth, &s->f[s->n]))
        s->n++;
}

/* A literal that its first byte already completes (enum [1]) closes. */
static void settle(struct gstate *st, struct thr *t, struct frame *fs)
{
    struct frame *f = &fs[t->depth - 1];
    if (f->kind == F_LITERAL && lit_finished(f))
        pop_done(st, t, fs);
}

/* EXPECT on top of thread ti takes the first byte c of its value; several
 * fitting alternatives fork the thread (copies appended to the pool). */
static bool start_value(struct gstate *st, int ti, uint8_t c)
{
    struct thr *t = &st->t[ti];
    struct frame *fs = st->f + t->off;
    struct starts s;
    s.n = 0;
    collect(fs[t->depth - 1].node, c, t->depth, 0, &s);
    if (s.n == 0)
        return false;
    for (int j = 1; j < s.n; j++) {
        if (st->n >= MAX_THREADS || st->used + t->depth > POOL)
            break; /* dropped: fewer texts offered, none invalid */
        struct thr *nt = &st->t[st->n++];
        nt->off = st->used;
        nt->depth = t->depth;
        nt->ws = t->ws;
        memcpy(st->f + nt->off, fs, (t->depth - 1) * sizeof *fs);
        st->f[nt->off + t->depth - 1] = s.f[j];
        st->used = (uint16_t)(st->used + t->depth);
        settle(st, nt, st->f + nt->off);
    }
    fs[t->depth - 1] = s.f[0];
    if (s.n > 1)
        st->popped = true; /* alternatives may be the same node */
    settle(st, t, fs);
    return true;
}

static bool obj_byte(struct gstate *st, struct thr *t, struct frame *fs, struct frame *f, uint8_t c,
                     bool ws)
{
    const struct jg_node *n = f->node;
    switch (f->st) {
    case O_START:
    case O_AFTER:
    case O_COMMA:
        if (ws)
            return ws_take(t);
        if (c == '"' && f->st != O_AFTER) {
            if (!key_available(f))
                return false;
            f->st = O_KEY;
            f->lo = 0;
            f->hi = n->nprops;
            f->pos = 0;
            return true;
        }
        if (c == '}' && f->st != O_COMMA) {
            if (!obj_can_close(f))
                return false;
            pop_done(st, t, fs);
            return true;
        }
        if (c == ',' && f->st == O_AFTER) {
            if (f->count >= n->max_props || !key_available(f))
                return false;
            f->st = O_COMMA;
            return true;
        }
        return false;
    case O_KEY: {
        bool plain = f->esc == E_NONE && f->u8need == 0;
        uint32_t members = f->count; /* str_byte counts code points there */
        int r = str_byte(f, c, 0, UINT32_MAX, NULL);
        f->count = members;
        if (r == SB_BAD)
            return false;
        if (r == SB_CLOSE) {
            if (f->lo < f->hi && n->prop_names[f->lo].len == f->pos) {
                if (bit_get(f->seen, f->lo))
                    return false; /* duplicate (or forbidden) property */
                f->seen[f->lo >> 6] |= (uint64_t)1 << (f->lo & 63);
            } else if (n->additional) {
                f->lo = NO_PROP;
            } else {
                return false;
            }
            f->st = O_COLON;
            f->hi = f->pos = 0;
            f->hex = 0;
            return true;
        }
        if (f->lo < f->hi) {
            if (narrow(n->prop_names, &f->lo, &f->hi, f->pos, c))
                f->pos++;
            else
                f->lo = f->hi = 0;
        }
        if (f->lo < f->hi)
            return n->additional || any_free(f->seen, f->lo, f->hi);
        if (!n->additional)
            return false;
        /* an escape off every name's path could spell a declared name */
        if (n->nprops > 0 && c == '\\' && plain)
            return false;
        return true;
    }
    case O_COLON:
        if (ws)
            return ws_take(t);
        if (c != ':')
            return false;
        f->st = O_VALUE;
        return push_expect(st, t, f->lo == NO_PROP ? n->additional : n->prop_nodes[f->lo]);
    }
    return false;
}

/* Applies byte c to thread ti, the last one in the pool. False: it died. */
static bool tstep(struct gstate *st, int ti, uint8_t c)
{
    struct thr *t = &st->t[ti];
    struct frame *fs = st->f + t->off;
    bool ws = is_ws(c);
    if (!ws)
        t->ws = 0;
    for (;;) {
        if (t->depth == 0)
            return ws && ws_take(t);
        struct frame *f = &fs[t->depth - 1];
        int r;
        switch (f->kind) {
        case F_STRING:
            r = str_byte(f, c, f->node->min_len, f->node->max_len, f->node->pattern);
            if (r == SB_BAD)
                return false;
            if (r == SB_CLOSE)
                pop_done(st, t, fs);
            return true;
        case F_NUMBER:
            r = num_byte(f, c);
            if (r == NB_OK)
                return true;
            if (r == NB_BAD || !num_can_end(f))
                return false;
            pop_done(st, t, fs);
            continue; /* c belongs to the frame below */
        case F_LITERAL:
            if (narrow(lit_table(f), &f->lo, &f->hi, f->pos, c)) {
                f->pos++;
                if (lit_finished(f))
                    pop_done(st, t, fs);
                return true;
            }
            if (!lit_can_end(f))
                return false;
            pop_done(st, t, fs);
            continue;
        case F_EXPECT:
            if (ws)
                return ws_take(t);
            return start_value(st, ti, c);
        case F_OBJECT:
            return obj_byte(st, t, fs, f, c, ws);
        case F_ARRAY:
            if (ws)
                return ws_take(t);
            if (c == ']') {
                if (f->count < f->node->min_items)
                    return false;
                pop_done(st, t, fs);
                return true;
            }
            if (f->st == A_AFTER) {
                const struct jg_node *in = item_node(f->node, f->count);
                if (c != ',' || f->count >= f->node->max_items || !in)
                    return false;
                f->st = A_VALUE;
                return push_expect(st, t, in);
            }
            if (f->st == A_START) {
                const struct jg_node *in = item_node(f->node, 0);
                if (f->node->max_items == 0 || !in)
                    return false;
                f->st = A_VALUE;
                if (!push_expect(st, t, in))
                    return false;
                continue; /* c starts the first item */
            }
            return false;
        default:
            return false;
        }
    }
}

static bool same_thread(const struct gstate *st, const struct thr *a, const struct thr *b)
{
    if (a->depth != b->depth || a->ws != b->ws)
        return false;
    if (a->depth == 0)
        return true;
    size_t top = (size_t)a->depth - 1;
    if (memcmp(&st->f[a->off + top], &st->f[b->off + top], sizeof(struct frame)) != 0)
        return false;
    return memcmp(&st->f[a->off], &st->f[b->off], top * sizeof(struct frame)) == 0;
}

/* Drops threads identical to an earlier one and closes gaps in the pool. */
static void compact(struct gstate *st)
{
    uint16_t w = 0, used = 0;
    for (uint16_t i = 0; i < st->n; i++) {
        struct thr t = st->t[i];
        bool dup = false;
        for (uint16_t j = 0; j < w && !dup; j++)
            dup = same_thread(st, &st->t[j], &t);
        if (dup)
            continue;
        if (t.off != used)
            memmove(&st->f[used], &st->f[t.off], t.depth * sizeof(struct frame));
        t.off = used;
        used = (uint16_t)(used + t.depth);
        st->t[w++] = t;
    }
    st->n = w;
    st->used = used;
}

static void copy_state(struct gstate *dst, const struct gstate *src)
{
    dst->n = src->n;
    dst->used = src->used;
    memcpy(dst->t, src->t, src->n * sizeof src->t[0]);
    memcpy(dst->f, src->f, src->used * sizeof src->f[0]);
}

/* One byte on every thread: in place for a single thread, otherwise into
 * the other buffer. Returns the state now current, or NULL when all died. */
static struct gstate *step(struct gstate *cur, struct gstate *other, uint8_t c)
{
    if (cur->n == 1) {
        cur->used = (uint16_t)(cur->t[0].off + cur->t[0].depth);
        if (!tstep(cur, 0, c))
            return NULL;
        if (cur->n > 1)
            compact(cur);
        return cur;
    }
    other->n = 0;
    other->used = 0;
    other->popped = false;
    for (uint16_t i = 0; i < cur->n; i++) {
        const struct thr *s = &cur->t[i];
        if (other->n >= MAX_THREADS || other->used + s->depth > POOL)
            break;
        uint16_t ti = other->n++;
        struct thr *t = &other->t[ti];
        *t = *s;
        t->off = other->used;
        memcpy(&other->f[t->off], &cur->f[s->off], s->depth * sizeof(struct frame));
        other->used = (uint16_t)(t->off + t->depth);
        uint16_t mark = t->off;
        if (!tstep(other, ti, c)) {
            /* forks are only made on success, so the thread is still last */
            other->n--;
            other->used = mark;
        }
    }
    if (other->n == 0)
        return NULL;
    if (other->n > 1 && other->popped)
        compact(other);
    return other;
}

/* Runs p[0..n) on the state in a, using b as the second buffer; returns the
 * buffer holding the result, or NULL when every thread died. */
static struct gstate *run(struct gstate *a, struct gstate *b, const uint8_t *p, size_t n)
{
    struct gstate *cur = a;
    for (size_t i = 0; i < n; i++) {
        struct gstate *next = step(cur, cur == a ? b : a, p[i]);
        if (!next)
            return NULL;
        cur = next;
    }
    return cur;
}

/* accept() once several threads are alive: the second buffer lives here,
 * off the common path's stack. */
static __attribute__((noinline)) bool accept_multi(struct gstate *a, const uint8_t *p, size_t n)
{
    struct gstate b;
    return run(a, &b, p, n) != NULL;
}

static bool thread_complete(const struct gstate *st, const struct thr *t)
{
    if (t->depth == 0)
        return true;
    if (t->depth > 1)
        return false;
    const struct frame *f = &st->f[t->off];
    if (f->kind == F_NUMBER)
        return num_can_end(f);
    if (f->kind == F_LITERAL)
        return lit_can_end(f);
    return false;
}

/* ---- public ------------------------------------------------------------- */

int aios_json_guide_create(const json_t *schema, aios_json_guide **out, struct aios_err *err)
{
    if (!out)
        return aios_err_set(err, AIOS_EINVAL, "json guide: no output pointer");
    *out = NULL;
    aios_json_guide *g = aios_calloc(1, sizeof *g);
    if (!g)
        return aios_err_set(err, AIOS_ENOMEM, "json guide: out of memory");
    int rc = AIOS_OK;
    g->arena = aios_arena_create(16384, 0);
    g->cur = aios_malloc(sizeof *g->cur);
    g->s1 = aios_malloc(sizeof *g->s1);
    g->s2 = aios_malloc(sizeof *g->s2);
    if (!g->arena || !g->cur || !g->s1 || !g->s2) {
        rc = aios_err_set(err, AIOS_ENOMEM, "json guide: out of memory");
        goto fail;
    }
    if (schema)
        rc = jg_compile(schema, g->arena, &g->root, err);
    else
        g->root = &jg_any_object;
    if (rc)
        goto fail;
    aios_json_guide_reset(g);
    *out = g;
    return AIOS_OK;
fail:
    aios_json_guide_free(g);
    return rc;
}

void aios_json_guide_free(aios_json_guide *g)
{
    if (!g)
        return;
    aios_arena_destroy(g->arena);
    aios_free(g->cur);
    aios_free(g->s1);
    aios_free(g->s2);
    aios_free(g);
}

void aios_json_guide_reset(aios_json_guide *g)
{
    struct gstate *s = g->cur;
    s->n = 1;
    s->used = 1;
    s->t[0] = (struct thr){.off = 0, .depth = 1, .ws = 0};
    memset(&s->f[0], 0, sizeof s->f[0]);
    s->f[0].kind = F_EXPECT;
    s->f[0].node = g->root;
    g->fed = 0;
}

bool aios_json_guide_accept(const aios_json_guide *g, const char *bytes, size_t n)
{
    if (n == 0)
        return true;
    if (!g || !bytes)
        return false;
    const uint8_t *p = (const uint8_t *)bytes;
    struct gstate a;
    copy_state(&a, g->cur);
    for (size_t i = 0; i < n; i++) {
        if (a.n != 1)
            return accept_multi(&a, p + i, n - i);
        if (!step(&a, NULL, p[i])) /* one thread: in place */
            return false;
    }
    return true;
}

void aios_json_guide_next_bytes(const aios_json_guide *g, uint8_t mask[32])
{
    memset(mask, 0, 32);
    if (!g)
        return;
    for (unsigned b = 0; b < 256; b++) {
        char c = (char)b;
        if (aios_json_guide_accept(g, &c, 1))
            mask[b >> 3] |= (uint8_t)(1u << (b & 7));
    }
}

int aios_json_guide_feed(aios_json_guide *g, const char *bytes, size_t n)
{
    if (!g || (!bytes && n))
        return AIOS_EINVAL;
    if (n == 0)
        return AIOS_OK;
    copy_state(g->s1, g->cur);
    struct gstate *r = run(g->s1, g->s2, (const uint8_t *)bytes, n);
    if (!r)
        return AIOS_EINVAL;
    /* the result becomes current; the old current is scratch from now on */
    struct gstate *old = g->cur;
    g->cur = r;
    if (r == g->s1)
        g->s1 = old;
    else
        g->s2 = old;
    g->fed += n;
    return AIOS_OK;
}

bool aios_json_guide_complete(const aios_json_guide *g)
{
    if (!g)
        return false;
    for (uint16_t i = 0; i < g->cur->n; i++)
        if (thread_complete(g->cur, &g->cur->t[i]))
            return true;
    return false;
}

bool aios_json_guide_finished(const aios_json_guide *g)
{
    if (!g || g->cur->n == 0)
        return false;
    for (uint16_t i = 0; i < g->cur->n; i++)
        if (g->cur->t[i].depth != 0)
            return false;
    return true;
}

size_t aios_json_guide_fed(const aios_json_guide *g)
{
    return g ? g->fed : 0;
}
