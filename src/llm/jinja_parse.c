/*
 * Jinja parser: tokens -> syntax tree (struct jnode, see jinja.h), by
 * recursive descent with Jinja's precedence, loosest first:
 *
 *   a if c else b  |  or  |  and  |  not  |  == != < <= > >= in, not in
 *   + -  |  ~  |  * / // %  |  **  |  unary - +  |  filters `|f`, tests
 *   `is t`, calls  |  postfix . [] ()  |  literals, names, ( ) [ ] { }
 *
 * Statements: if/elif/else, for (with `if` filter and else), set (plain,
 * unpacking, namespace attribute, block with filters), macro, call, filter,
 * break, continue, do, generation. Nesting is bounded so that hostile input
 * cannot exhaust the C stack; every error names the template line.
 */
#include "llm/jinja.h"

#include <string.h>

#define MAX_NEST 200

struct parser {
    aios_arena *arena;
    const struct jtok *t;
    size_t n, i;
    int nest;
    int macro_uses; /* JMACRO_* names seen in the macro body being parsed */
    struct aios_err *err;
};

static const struct jtok *cur(struct parser *P)
{
    return &P->t[P->i < P->n ? P->i : P->n - 1];
}

static int perr(struct parser *P, const char *fmt, const char *what)
{
    return aios_err_set(P->err, AIOS_EPARSE, "template line %d: %s%s", cur(P)->line, fmt,
                        what ? what : "");
}

static bool is_op(const struct jtok *t, const char *op)
{
    return t->kind == JT_OP && t->len == strlen(op) && memcmp(t->s, op, t->len) == 0;
}

static bool is_name(const struct jtok *t, const char *w)
{
    return t->kind == JT_NAME && t->len == strlen(w) && memcmp(t->s, w, t->len) == 0;
}

static bool accept_op(struct parser *P, const char *op)
{
    if (is_op(cur(P), op)) {
        P->i++;
        return true;
    }
    return false;
}

static bool accept_name(struct parser *P, const char *w)
{
    if (is_name(cur(P), w)) {
        P->i++;
        return true;
    }
    return false;
}

static const char *tok_desc(const struct jtok *t, char *buf, size_t size)
{
    switch (t->kind) {
    case JT_EOF:
        return "end of template";
    case JT_TEXT:
        return "text";
    case JT_OPEN_STMT:
        return "'{%'";
    case JT_CLOSE_STMT:
        return "'%}'";
    case JT_OPEN_EXPR:
        return "'{{'";
    case JT_CLOSE_EXPR:
        return "'}}'";
    case JT_STRING:
        return "a string";
    default:
        snprintf(buf, size, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
        return buf;
    }
}

static int expect_op(struct parser *P, const char *op)
{
    if (accept_op(P, op))
        return AIOS_OK;
    char b[64], m[96];
    snprintf(m, sizeof m, "expected '%s', found ", op);
    return perr(P, m, tok_desc(cur(P), b, sizeof b));
}

static struct jnode *node(struct parser *P, enum jn_kind k, int line)
{
    struct jnode *n = aios_arena_alloc(P->arena, sizeof *n);
    if (!n) {
        aios_err_set(P->err, AIOS_ENOMEM, "out of memory parsing template");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->kind = k;
    n->line = line;
    return n;
}

static char *name_dup(struct parser *P, const struct jtok *t)
{
    char *s = aios_arena_strndup(P->arena, t->s, t->len);
    if (!s)
        aios_err_set(P->err, AIOS_ENOMEM, "out of memory parsing template");
    return s;
}

static int parse_expr(struct parser *P, struct jnode **out);
static int parse_or(struct parser *P, struct jnode **out);
static int parse_unary(struct parser *P, bool with_filter, struct jnode **out);
static int parse_primary(struct parser *P, struct jnode **out);
static int parse_postfix(struct parser *P, struct jnode **io);

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

#define NEW(var, kind, line)                                                                       \
    do {                                                                                           \
        var = node(P, kind, line);                                                                 \
        if (!var)                                                                                  \
            return AIOS_ENOMEM;                                                                    \
    } while (0)

static int enter(struct parser *P)
{
    if (++P->nest > MAX_NEST)
        return aios_err_set(P->err, AIOS_ELIMIT, "template line %d: nested more than %d deep",
                            cur(P)->line, MAX_NEST);
    return AIOS_OK;
}

/* Call arguments after '(' up to and including ')'. */
static int parse_args(struct parser *P, struct jnode **args, struct jnode **kwargs)
{
    struct jnode **pa = args, **pk = kwargs;
    *args = *kwargs = NULL;
    while (!accept_op(P, ")")) {
        if (*args || *kwargs)
            TRY(expect_op(P, ","));
        if (accept_op(P, ")"))
            break;
        const struct jtok *t = cur(P);
        if (t->kind == JT_NAME && is_op(&P->t[P->i + 1 < P->n ? P->i + 1 : P->i], "=")) {
            struct jnode *k;
            NEW(k, JN_KWARG, t->line);
            if (!(k->s = name_dup(P, t)))
                return AIOS_ENOMEM;
            P->i += 2;
            TRY(parse_expr(P, &k->a));
            *pk = k;
            pk = &k->next;
        } else {
            if (*kwargs)
                return perr(P, "positional argument after keyword argument", NULL);
            struct jnode *e;
            TRY(parse_expr(P, &e));
            *pa = e;
            pa = &e->next;
        }
    }
    return AIOS_OK;
}

static int parse_postfix(struct parser *P, struct jnode **io)
{
    for (;;) {
        const struct jtok *t = cur(P);
        if (accept_op(P, ".")) {
            const struct jtok *nm = cur(P);
            struct jnode *n;
            if (nm->kind == JT_INT) { /* a.0 */
                NEW(n, JN_INDEX, t->line);
                NEW(n->b, JN_INT, t->line);
                n->b->i = nm->i;
            } else if (nm->kind == JT_NAME) {
                NEW(n, JN_ATTR, t->line);
                if (!(n->s = name_dup(P, nm)))
                    return AIOS_ENOMEM;
            } else {
                char b[64];
                return perr(P, "expected an attribute name after '.', found ",
                            tok_desc(nm, b, sizeof b));
            }
            P->i++;
            n->a = *io;
            *io = n;
        } else if (accept_op(P, "[")) {
            struct jnode *parts[3] = {NULL, NULL, NULL};
            int k = 0;
            bool slice = false;
            for (;;) {
                if (is_op(cur(P), ":")) {
                    P->i++;
                    slice = true;
                    if (++k > 2)
                        return perr(P, "too many ':' in subscript", NULL);
                    continue;
                }
                if (is_op(cur(P), "]"))
                    break;
                if (parts[k])
                    return expect_op(P, "]");
                TRY(parse_expr(P, &parts[k]));
            }
            P->i++;
            struct jnode *n;
            if (slice) {
                NEW(n, JN_SLICE, t->line);
                n->b = parts[0];
                n->c = parts[1];
                n->d = parts[2];
            } else {
                if (!parts[0])
                    return perr(P, "empty subscript", NULL);
                NEW(n, JN_INDEX, t->line);
                n->b = parts[0];
            }
            n->a = *io;
            *io = n;
        } else if (accept_op(P, "(")) {
            struct jnode *n;
            NEW(n, JN_CALL, t->line);
            n->a = *io;
            TRY(parse_args(P, &n->args, &n->kwargs));
            *io = n;
        } else {
            return AIOS_OK;
        }
    }
}

static bool starts_test_arg(const struct jtok *t)
{
    static const char *const stop[] = {"and", "or", "else", "if", "in", "is", "not", NULL};
    if (t->kind == JT_STRING || t->kind == JT_INT || t->kind == JT_FLOAT)
        return true;
    if (t->kind == JT_NAME) {
        for (int i = 0; stop[i]; i++)
            if (is_name(t, stop[i]))
                return false;
        return true;
    }
    return is_op(t, "[") || is_op(t, "{");
}

/* Filters, tests and calls after a unary operand. */
static int parse_filters(struct parser *P, struct jnode **io)
{
    for (;;) {
        const struct jtok *t = cur(P);
        if (accept_op(P, "|")) {
            const struct jtok *nm = cur(P);
            if (nm->kind != JT_NAME)
                return perr(P, "expected a filter name after '|'", NULL);
            struct jnode *f;
            NEW(f, JN_FILTER, t->line);
            if (!(f->s = name_dup(P, nm)))
                return AIOS_ENOMEM;
            P->i++;
            /* dotted filter names are not used by chat templates */
            if (accept_op(P, "("))
                TRY(parse_args(P, &f->args, &f->kwargs));
            f->a = *io;
            *io = f;
        } else if (accept_name(P, "is")) {
            struct jnode *n;
            NEW(n, JN_TEST, t->line);
            n->neg = accept_name(P, "not");
            const struct jtok *nm = cur(P);
            if (nm->kind != JT_NAME) {
                /* `is ==` style tests are not Jinja; `is none` etc. are names */
                return perr(P, "expected a test name after 'is'", NULL);
            }
            if (!(n->s = name_dup(P, nm)))
                return AIOS_ENOMEM;
            P->i++;
            if (accept_op(P, "(")) {
                TRY(parse_args(P, &n->args, &n->kwargs));
            } else if (starts_test_arg(cur(P))) {
                struct jnode *a;
                TRY(parse_primary(P, &a));
                TRY(parse_postfix(P, &a));
                n->args = a;
            }
            n->a = *io;
            *io = n;
        } else if (accept_op(P, "(")) {
            struct jnode *n;
            NEW(n, JN_CALL, t->line);
            n->a = *io;
            TRY(parse_args(P, &n->args, &n->kwargs));
            *io = n;
        } else {
            return AIOS_OK;
        }
    }
}

static int parse_unary(struct parser *P, bool with_filter, struct jnode **out)
{
    TRY(enter(P));
    const struct jtok *t = cur(P);
    struct jnode *n;
    if (accept_op(P, "-") || accept_op(P, "+")) {
        NEW(n, is_op(t, "-") ? JN_NEG : JN_POS, t->line);
        TRY(parse_unary(P, false, &n->a));
    } else {
        TRY(parse_primary(P, &n));
        TRY(parse_postfix(P, &n));
    }
    if (with_filter)
        TRY(parse_filters(P, &n));
    P->nest--;
    *out = n;
    return AIOS_OK;
}

static int binary(struct parser *P, int op, int line, struct jnode *a, struct jnode *b,
                  struct jnode **out)
{
    struct jnode *n;
    NEW(n, JN_BINARY, line);
    n->op = op;
    n->a = a;
    n->b = b;
    *out = n;
    return AIOS_OK;
}

static int parse_pow(struct parser *P, struct jnode **out)
{
    struct jnode *l, *r;
    TRY(parse_unary(P, true, &l));
    while (is_op(cur(P), "**")) {
        int line = cur(P)->line;
        P->i++;
        TRY(parse_unary(P, true, &r));
        TRY(binary(P, JOP_POW, line, l, r, &l));
    }
    *out = l;
    return AIOS_OK;
}

static int parse_math2(struct parser *P, struct jnode **out)
{
    struct jnode *l, *r;
    TRY(parse_pow(P, &l));
    for (;;) {
        const struct jtok *t = cur(P);
        int op = is_op(t, "*")    ? JOP_MUL
                 : is_op(t, "/")  ? JOP_DIV
                 : is_op(t, "//") ? JOP_FLOORDIV
                 : is_op(t, "%")  ? JOP_MOD
                                  : -1;
        if (op < 0)
            break;
        P->i++;
        TRY(parse_pow(P, &r));
        TRY(binary(P, op, t->line, l, r, &l));
    }
    *out = l;
    return AIOS_OK;
}

static int parse_concat(struct parser *P, struct jnode **out)
{
    struct jnode *l, *r;
    TRY(parse_math2(P, &l));
    while (is_op(cur(P), "~")) {
        int line = cur(P)->line;
        P->i++;
        TRY(parse_math2(P, &r));
        TRY(binary(P, JOP_CONCAT, line, l, r, &l));
    }
    *out = l;
    return AIOS_OK;
}

static int parse_math1(struct parser *P, struct jnode **out)
{
    struct jnode *l, *r;
    TRY(parse_concat(P, &l));
    for (;;) {
        const struct jtok *t = cur(P);
        int op = is_op(t, "+") ? JOP_ADD : is_op(t, "-") ? JOP_SUB : -1;
        if (op < 0)
            break;
        P->i++;
        TRY(parse_concat(P, &r));
        TRY(binary(P, op, t->line, l, r, &l));
    }
    *out = l;
    return AIOS_OK;
}

static int parse_compare(struct parser *P, struct jnode **out)
{
    struct jnode *l, *r;
    TRY(parse_math1(P, &l));
    for (;;) {
        const struct jtok *t = cur(P);
        int op = is_op(t, "==")     ? JOP_EQ
                 : is_op(t, "!=")   ? JOP_NE
                 : is_op(t, "<")    ? JOP_LT
                 : is_op(t, "<=")   ? JOP_LE
                 : is_op(t, ">")    ? JOP_GT
                 : is_op(t, ">=")   ? JOP_GE
                 : is_name(t, "in") ? JOP_IN
                                    : -1;
        if (op < 0 && is_name(t, "not") && P->i + 1 < P->n && is_name(&P->t[P->i + 1], "in")) {
            op = JOP_NOTIN;
            P->i++;
        }
        if (op < 0)
            break;
        P->i++;
        TRY(parse_math1(P, &r));
        /* a < b < c chains are rare in templates; treated left to right */
        TRY(binary(P, op, t->line, l, r, &l));
    }
    *out = l;
    return AIOS_OK;
}

static int parse_not(struct parser *P, struct jnode **out)
{
    const struct jtok *t = cur(P);
    if (accept_name(P, "not")) {
        TRY(enter(P));
        struct jnode *n;
        NEW(n, JN_NOT, t->line);
        TRY(parse_not(P, &n->a));
        P->nest--;
        *out = n;
        return AIOS_OK;
    }
    return parse_compare(P, out);
}

static int parse_and(struct parser *P, struct jnode **out)
{
    struct jnode *l;
    TRY(parse_not(P, &l));
    while (is_name(cur(P), "and")) {
        struct jnode *n;
        NEW(n, JN_AND, cur(P)->line);
        P->i++;
        n->a = l;
        TRY(parse_not(P, &n->b));
        l = n;
    }
    *out = l;
    return AIOS_OK;
}

static int parse_or(struct parser *P, struct jnode **out)
{
    struct jnode *l;
    TRY(parse_and(P, &l));
    while (is_name(cur(P), "or")) {
        struct jnode *n;
        NEW(n, JN_OR, cur(P)->line);
        P->i++;
        n->a = l;
        TRY(parse_and(P, &n->b));
        l = n;
    }
    *out = l;
    return AIOS_OK;
}

/* Conditional expression (the full expression grammar). */
static int parse_expr(struct parser *P, struct jnode **out)
{
    TRY(enter(P));
    struct jnode *l;
    TRY(parse_or(P, &l));
    while (is_name(cur(P), "if")) {
        struct jnode *n;
        NEW(n, JN_COND, cur(P)->line);
        P->i++;
        n->a = l;
        TRY(parse_or(P, &n->b));
        if (accept_name(P, "else"))
            TRY(parse_expr(P, &n->c));
        l = n;
    }
    P->nest--;
    *out = l;
    return AIOS_OK;
}

/* Expression, or an unparenthesised tuple `a, b` (for `{{ }}`, `set`, `for`). */
static int parse_tuple(struct parser *P, bool with_cond, struct jnode **out)
{
    struct jnode *first;
    int line = cur(P)->line;
    TRY(with_cond ? parse_expr(P, &first) : parse_or(P, &first));
    if (!is_op(cur(P), ","))
        return *out = first, AIOS_OK;
    struct jnode *n;
    NEW(n, JN_LIST, line);
    n->i = 1;
    n->args = first;
    struct jnode **tail = &first->next;
    while (accept_op(P, ",")) {
        const struct jtok *t = cur(P);
        if (t->kind == JT_CLOSE_EXPR || t->kind == JT_CLOSE_STMT || is_name(t, "in") ||
            is_op(t, "=") || is_op(t, ")"))
            break;
        struct jnode *e;
        TRY(with_cond ? parse_expr(P, &e) : parse_or(P, &e));
        *tail = e;
        tail = &e->next;
    }
    *out = n;
    return AIOS_OK;
}

static int parse_primary(struct parser *P, struct jnode **out)
{
    const struct jtok *t = cur(P);
    struct jnode *n;
    switch (t->kind) {
    case JT_NAME:
        if (is_name(t, "true") || is_name(t, "True") || is_name(t, "false") ||
            is_name(t, "False")) {
            NEW(n, JN_BOOL, t->line);
            n->i = t->s[0] == 't' || t->s[0] == 'T';
        } else if (is_name(t, "none") || is_name(t, "None")) {
            NEW(n, JN_NONE, t->line);
        } else {
            NEW(n, JN_NAME, t->line);
            if (!(n->s = name_dup(P, t)))
                return AIOS_ENOMEM;
            if (strcmp(n->s, "varargs") == 0)
                P->macro_uses |= JMACRO_VARARGS;
            else if (strcmp(n->s, "kwargs") == 0)
                P->macro_uses |= JMACRO_KWARGS;
        }
        P->i++;
        break;
    case JT_STRING: {
        NEW(n, JN_STR, t->line);
        n->s = t->s;
        n->len = t->len;
        P->i++;
        /* adjacent literals concatenate: "a" "b" */
        if (cur(P)->kind == JT_STRING) {
            struct aios_buf b;
            aios_buf_init(&b, AIOS_JINJA_MAX_SOURCE);
            int rc = aios_buf_append(&b, t->s, t->len);
            while (rc == AIOS_OK && cur(P)->kind == JT_STRING) {
                rc = aios_buf_append(&b, cur(P)->s, cur(P)->len);
                P->i++;
            }
            char *s = rc ? NULL : aios_arena_alloc(P->arena, b.len + 1);
            if (s) {
                memcpy(s, b.data, b.len + 1);
                n->s = s;
                n->len = b.len;
            }
            aios_buf_free(&b);
            if (!s)
                return aios_err_set(P->err, AIOS_ENOMEM, "out of memory parsing template");
        }
        break;
    }
    case JT_INT:
        NEW(n, JN_INT, t->line);
        n->i = t->i;
        P->i++;
        break;
    case JT_FLOAT:
        NEW(n, JN_FLOAT, t->line);
        n->f = t->f;
        P->i++;
        break;
    case JT_OP:
        if (accept_op(P, "(")) {
            TRY(enter(P));
            if (accept_op(P, ")")) { /* empty tuple */
                NEW(n, JN_LIST, t->line);
                n->i = 1;
            } else {
                TRY(parse_tuple(P, true, &n));
                TRY(expect_op(P, ")"));
            }
            P->nest--;
            break;
        }
        if (accept_op(P, "[")) {
            TRY(enter(P));
            NEW(n, JN_LIST, t->line);
            struct jnode **tail = &n->args;
            while (!accept_op(P, "]")) {
                if (n->args)
                    TRY(expect_op(P, ","));
                if (accept_op(P, "]"))
                    break;
                struct jnode *e;
                TRY(parse_expr(P, &e));
                *tail = e;
                tail = &e->next;
            }
            P->nest--;
            break;
        }
        if (accept_op(P, "{")) {
            TRY(enter(P));
            NEW(n, JN_DICT, t->line);
            struct jnode **kt = &n->args, **vt = &n->kwargs;
            while (!accept_op(P, "}")) {
                if (n->args)
                    TRY(expect_op(P, ","));
                if (accept_op(P, "}"))
                    break;
                struct jnode *k, *v;
                TRY(parse_expr(P, &k));
                TRY(expect_op(P, ":"));
                TRY(parse_expr(P, &v));
                *kt = k;
                kt = &k->next;
                *vt = v;
                vt = &v->next;
            }
            P->nest--;
            break;
        }
        /* fall through */
    default: {
        char b[64];
        return perr(P, "expected an expression, found ", tok_desc(t, b, sizeof b));
    }
    }
    *out = n;
    return AIOS_OK;
}

/* ---- statements --------------------------------------------------------- */

static int expect_close(struct parser *P)
{
    if (cur(P)->kind == JT_CLOSE_STMT) {
        P->i++;
        return AIOS_OK;
    }
    char b[64];
    return perr(P, "expected '%}', found ", tok_desc(cur(P), b, sizeof b));
}

/* Parses statements until a `{% word %}` whose word is in ends (NULL-
 * terminated); leaves P at that word (after "{%") and stores it in *end. */
static int parse_body(struct parser *P, const char *const *ends, struct jnode **body,
                      const char **end);

static int parse_target(struct parser *P, bool allow_attr, struct jnode **out)
{
    const struct jtok *t = cur(P);
    if (t->kind != JT_NAME)
        return perr(P, "expected a variable name", NULL);
    struct jnode *n;
    NEW(n, JN_NAME, t->line);
    if (!(n->s = name_dup(P, t)))
        return AIOS_ENOMEM;
    P->i++;
    if (allow_attr && accept_op(P, ".")) {
        const struct jtok *a = cur(P);
        if (a->kind != JT_NAME)
            return perr(P, "expected an attribute name after '.'", NULL);
        struct jnode *at;
        NEW(at, JN_ATTR, a->line);
        at->a = n;
        if (!(at->s = name_dup(P, a)))
            return AIOS_ENOMEM;
        P->i++;
        n = at;
    }
    *out = n;
    return AIOS_OK;
}

/* Filter chain `f1(args) | f2` over a JN_BLOCK_INPUT (filter blocks, set blocks). */
static int parse_filter_chain(struct parser *P, struct jnode **out)
{
    struct jnode *in;
    NEW(in, JN_BLOCK_INPUT, cur(P)->line);
    do {
        const struct jtok *nm = cur(P);
        if (nm->kind != JT_NAME)
            return perr(P, "expected a filter name", NULL);
        struct jnode *f;
        NEW(f, JN_FILTER, nm->line);
        if (!(f->s = name_dup(P, nm)))
            return AIOS_ENOMEM;
        P->i++;
        if (accept_op(P, "("))
            TRY(parse_args(P, &f->args, &f->kwargs));
        f->a = in;
        in = f;
    } while (accept_op(P, "|"));
    *out = in;
    return AIOS_OK;
}

static int parse_stmt(struct parser *P, struct jnode **out)
{
    const struct jtok *kw = cur(P);
    int line = kw->line;
    struct jnode *n;
    if (kw->kind != JT_NAME)
        return perr(P, "expected a statement name after '{%'", NULL);
    TRY(enter(P));
    P->i++;
    if (is_name(kw, "if")) {
        NEW(n, JN_IF, line);
        TRY(parse_expr(P, &n->a));
        TRY(expect_close(P));
        static const char *const ends[] = {"elif", "else", "endif", NULL};
        const char *end;
        struct jnode *at = n;
        for (;;) {
            TRY(parse_body(P, ends, &at->body, &end));
            if (strcmp(end, "elif") == 0) {
                struct jnode *e;
                NEW(e, JN_IF, cur(P)->line);
                e->op = 1; /* elif */
                TRY(parse_expr(P, &e->a));
                TRY(expect_close(P));
                at->else_body = e;
                at = e;
                continue;
            }
            if (strcmp(end, "else") == 0) {
                TRY(expect_close(P));
                static const char *const ends2[] = {"endif", NULL};
                TRY(parse_body(P, ends2, &at->else_body, &end));
            }
            break;
        }
        TRY(expect_close(P));
    } else if (is_name(kw, "for")) {
        NEW(n, JN_FOR, line);
        struct jnode **tail = &n->args;
        do {
            struct jnode *t;
            TRY(parse_target(P, false, &t));
            *tail = t;
            tail = &t->next;
        } while (accept_op(P, ","));
        if (!accept_name(P, "in"))
            return perr(P, "expected 'in' in for loop", NULL);
        TRY(parse_tuple(P, false, &n->a));
        if (accept_name(P, "if"))
            TRY(parse_expr(P, &n->b));
        if (accept_name(P, "recursive"))
            n->op = 1;
        TRY(expect_close(P));
        static const char *const ends[] = {"else", "endfor", NULL};
        const char *end;
        TRY(parse_body(P, ends, &n->body, &end));
        if (strcmp(end, "else") == 0) {
            TRY(expect_close(P));
            static const char *const ends2[] = {"endfor", NULL};
            TRY(parse_body(P, ends2, &n->else_body, &end));
        }
        TRY(expect_close(P));
    } else if (is_name(kw, "set")) {
        struct jnode *first;
        TRY(parse_target(P, true, &first));
        if (accept_op(P, "=")) {
            NEW(n, JN_SET, line);
            n->args = first;
            TRY(parse_tuple(P, true, &n->a));
        } else if (is_op(cur(P), ",")) {
            NEW(n, JN_SET, line);
            n->args = first;
            struct jnode **tail = &first->next;
            while (accept_op(P, ",")) {
                struct jnode *t;
                TRY(parse_target(P, false, &t));
                *tail = t;
                tail = &t->next;
            }
            TRY(expect_op(P, "="));
            TRY(parse_tuple(P, true, &n->a));
        } else {
            NEW(n, JN_SET_BLOCK, line);
            n->args = first;
            if (accept_op(P, "|"))
                TRY(parse_filter_chain(P, &n->a));
            TRY(expect_close(P));
            static const char *const ends[] = {"endset", NULL};
            const char *end;
            TRY(parse_body(P, ends, &n->body, &end));
        }
        TRY(expect_close(P));
    } else if (is_name(kw, "macro")) {
        NEW(n, JN_MACRO, line);
        if (cur(P)->kind != JT_NAME)
            return perr(P, "expected a macro name", NULL);
        if (!(n->s = name_dup(P, cur(P))))
            return AIOS_ENOMEM;
        P->i++;
        TRY(expect_op(P, "("));
        struct jnode **tail = &n->args;
        while (!accept_op(P, ")")) {
            if (n->args)
                TRY(expect_op(P, ","));
            if (accept_op(P, ")"))
                break;
            struct jnode *p;
            NEW(p, JN_KWARG, cur(P)->line);
            if (cur(P)->kind != JT_NAME)
                return perr(P, "expected a parameter name", NULL);
            if (!(p->s = name_dup(P, cur(P))))
                return AIOS_ENOMEM;
            P->i++;
            if (accept_op(P, "="))
                TRY(parse_expr(P, &p->a));
            *tail = p;
            tail = &p->next;
        }
        TRY(expect_close(P));
        static const char *const ends[] = {"endmacro", NULL};
        const char *end;
        int outer_uses = P->macro_uses;
        P->macro_uses = 0;
        TRY(parse_body(P, ends, &n->body, &end));
        n->op = P->macro_uses; /* the macro takes extra arguments if it reads them */
        P->macro_uses = outer_uses;
        if (cur(P)->kind == JT_NAME)
            P->i++; /* {% endmacro name %} */
        TRY(expect_close(P));
    } else if (is_name(kw, "call")) {
        NEW(n, JN_CALL_BLOCK, line);
        if (accept_op(P, "(")) {
            struct jnode **tail = &n->args;
            while (!accept_op(P, ")")) {
                if (n->args)
                    TRY(expect_op(P, ","));
                struct jnode *p;
                NEW(p, JN_KWARG, cur(P)->line);
                if (cur(P)->kind != JT_NAME)
                    return perr(P, "expected a parameter name", NULL);
                if (!(p->s = name_dup(P, cur(P))))
                    return AIOS_ENOMEM;
                P->i++;
                if (accept_op(P, "="))
                    TRY(parse_expr(P, &p->a));
                *tail = p;
                tail = &p->next;
            }
        }
        TRY(parse_expr(P, &n->a));
        if (n->a->kind != JN_CALL)
            return perr(P, "expected a macro call after 'call'", NULL);
        TRY(expect_close(P));
        static const char *const ends[] = {"endcall", NULL};
        const char *end;
        TRY(parse_body(P, ends, &n->body, &end));
        TRY(expect_close(P));
    } else if (is_name(kw, "filter")) {
        NEW(n, JN_FILTER_BLOCK, line);
        TRY(parse_filter_chain(P, &n->a));
        TRY(expect_close(P));
        static const char *const ends[] = {"endfilter", NULL};
        const char *end;
        TRY(parse_body(P, ends, &n->body, &end));
        TRY(expect_close(P));
    } else if (is_name(kw, "generation")) {
        NEW(n, JN_SCOPE, line);
        TRY(expect_close(P));
        static const char *const ends[] = {"endgeneration", NULL};
        const char *end;
        TRY(parse_body(P, ends, &n->body, &end));
        TRY(expect_close(P));
    } else if (is_name(kw, "break") || is_name(kw, "continue")) {
        NEW(n, is_name(kw, "break") ? JN_BREAK : JN_CONTINUE, line);
        TRY(expect_close(P));
    } else if (is_name(kw, "do")) {
        NEW(n, JN_DO, line);
        TRY(parse_tuple(P, true, &n->a));
        TRY(expect_close(P));
    } else {
        char b[64], m[128];
        P->i--;
        snprintf(m, sizeof m, "unknown or unsupported statement %s", tok_desc(kw, b, sizeof b));
        return perr(P, m, NULL);
    }
    P->nest--;
    *out = n;
    return AIOS_OK;
}

static int parse_body(struct parser *P, const char *const *ends, struct jnode **body,
                      const char **end)
{
    struct jnode **tail = body;
    *body = NULL;
    *end = NULL;
    for (;;) {
        const struct jtok *t = cur(P);
        struct jnode *n = NULL;
        switch (t->kind) {
        case JT_EOF:
            if (ends) {
                char m[128];
                int last = 0;
                while (ends[last + 1])
                    last++;
                snprintf(m, sizeof m, "unexpected end of template, expected '%s'", ends[last]);
                return perr(P, m, NULL);
            }
            return AIOS_OK;
        case JT_TEXT:
            NEW(n, JN_TEXT, t->line);
            n->s = t->s;
            n->len = t->len;
            P->i++;
            break;
        case JT_OPEN_EXPR:
            P->i++;
            NEW(n, JN_OUTPUT, t->line);
            TRY(parse_tuple(P, true, &n->a));
            if (cur(P)->kind != JT_CLOSE_EXPR) {
                char b[64];
                return perr(P, "expected '}}', found ", tok_desc(cur(P), b, sizeof b));
            }
            P->i++;
            break;
        case JT_OPEN_STMT: {
            const struct jtok *kw = &P->t[P->i + 1 < P->n ? P->i + 1 : P->i];
            if (ends)
                for (int i = 0; ends[i]; i++)
                    if (is_name(kw, ends[i])) {
                        P->i += 2;
                        *end = ends[i];
                        return AIOS_OK;
                    }
            if (kw->kind == JT_NAME && kw->len > 3 &&
                (memcmp(kw->s, "end", 3) == 0 || is_name(kw, "elif") || is_name(kw, "else"))) {
                char b[64], m[160];
                P->i++;
                int last = 0;
                while (ends && ends[last + 1])
                    last++;
                snprintf(m, sizeof m, "unexpected %s%s%s%s", tok_desc(kw, b, sizeof b),
                         ends ? ", expected '" : "", ends ? ends[last] : "", ends ? "'" : "");
                return perr(P, m, NULL);
            }
            P->i++;
            TRY(parse_stmt(P, &n));
            break;
        }
        default: {
            char b[64];
            return perr(P, "unexpected ", tok_desc(t, b, sizeof b));
        }
        }
        *tail = n;
        tail = &n->next;
    }
}

int jinja_parse_tokens(aios_arena *arena, const struct jtok *toks, size_t ntoks,
                       struct jnode **body, struct aios_err *err)
{
    struct parser P = {.arena = arena, .t = toks, .n = ntoks, .err = err};
    const char *end;
    return parse_body(&P, NULL, body, &end);
}
