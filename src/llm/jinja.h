/*
 * jinja (private to src/llm): the Jinja-subset interpreter behind chat
 * templates. Three stages, one file each:
 *
 *   jinja_lex.c    source -> tokens. Whitespace control is resolved here:
 *                  `{%-`/`-%}` strip, and the chat-template configuration
 *                  (trim_blocks and lstrip_blocks on, one trailing newline of
 *                  the source dropped, \r\n read as \n), so the parser only
 *                  sees text that is printed as it is.
 *   jinja_parse.c  tokens -> a tree of struct jnode, all in the template's
 *                  arena (nothing in the tree is freed on its own).
 *   jinja_eval.c   the tree + a JSON context -> text; jinja_builtins.c holds
 *                  the filters, tests and methods it calls, jinja_value.c
 *                  the value helpers (str(), ==, tojson).
 *
 * Values are jansson json_t (none, bool, int, float, string, list, dict)
 * plus the few things JSON cannot hold (undefined, macros, built-in
 * functions), wrapped in struct jv. Every stage is bounded: template size,
 * nesting depth, evaluation steps, bytes created, output size.
 */
#ifndef AIOS_LLM_JINJA_H
#define AIOS_LLM_JINJA_H

#include "base/base.h"
#include "llm/llm.h"

/* ---- tokens ------------------------------------------------------------- */

enum jtok_kind {
    JT_EOF,
    JT_TEXT,       /* literal text between tags (s, len) */
    JT_OPEN_STMT,  /* {% */
    JT_CLOSE_STMT, /* %} */
    JT_OPEN_EXPR,  /* {{ */
    JT_CLOSE_EXPR, /* }} */
    JT_NAME,
    JT_STRING, /* unescaped value in s, len */
    JT_INT,
    JT_FLOAT,
    JT_OP, /* operator or punctuation, spelled in s, len */
};

struct jtok {
    enum jtok_kind kind;
    int line;
    const char *s; /* in the arena (or the source for names and ops) */
    size_t len;
    int64_t i;
    double f;
};

/* Tokenizes src (len bytes) into *toks (aios_free), strings in arena. */
int jinja_lex(aios_arena *arena, const char *src, size_t len, struct jtok **toks, size_t *ntoks,
              struct aios_err *err);

/* ---- syntax tree -------------------------------------------------------- */

enum jn_kind {
    /* expressions */
    JN_NONE,
    JN_BOOL,
    JN_INT,
    JN_FLOAT,
    JN_STR,
    JN_NAME,   /* s */
    JN_ATTR,   /* a.s */
    JN_INDEX,  /* a[b] */
    JN_SLICE,  /* a[b:c:d], each of b, c, d may be NULL */
    JN_CALL,   /* a(args, kwargs) */
    JN_FILTER, /* a | s(args, kwargs); a NULL = the captured block text */
    JN_TEST,   /* a is [not] s(args) */
    JN_NEG,    /* -a */
    JN_POS,    /* +a */
    JN_NOT,    /* not a */
    JN_BINARY, /* a op b */
    JN_AND,
    JN_OR,
    JN_COND,  /* a if b else c */
    JN_LIST,  /* [args]; i = 1 for a tuple */
    JN_DICT,  /* {args: kwargs} (keys chain, values chain) */
    JN_KWARG, /* s=a (call arguments, macro parameters) */
    JN_BLOCK_INPUT,
    /* statements */
    JN_TEXT,      /* s, len */
    JN_OUTPUT,    /* {{ a }} */
    JN_IF,        /* a: condition, body, else_body */
    JN_FOR,       /* args: target names, a: iterable, b: filter, body, else_body; op 1: recursive */
    JN_SET,       /* args: targets (NAME or ATTR), a: value */
    JN_SET_BLOCK, /* args: target, a: filter chain over JN_BLOCK_INPUT or NULL, body */
    JN_MACRO,     /* s: name, args: JN_KWARG params (a = default or NULL), body */
    JN_CALL_BLOCK,   /* a: the JN_CALL, args: caller params, body */
    JN_FILTER_BLOCK, /* a: filter chain over JN_BLOCK_INPUT, body */
    JN_BREAK,
    JN_CONTINUE,
    JN_DO,    /* a */
    JN_SCOPE, /* body (generation blocks: rendered as they are) */
};

/* JN_MACRO op: the body reads varargs / kwargs, so the macro takes extra
 * positional / keyword arguments. */
enum { JMACRO_VARARGS = 1, JMACRO_KWARGS = 2 };

/* Binary operators (op of JN_BINARY). */
enum jop {
    JOP_ADD,
    JOP_SUB,
    JOP_MUL,
    JOP_DIV,
    JOP_FLOORDIV,
    JOP_MOD,
    JOP_POW,
    JOP_CONCAT,
    JOP_EQ,
    JOP_NE,
    JOP_LT,
    JOP_LE,
    JOP_GT,
    JOP_GE,
    JOP_IN,
    JOP_NOTIN,
};

struct jnode {
    enum jn_kind kind;
    int line;
    int op;
    bool neg;           /* JN_TEST: `is not` */
    struct jnode *next; /* sibling in a chain (body, args, items) */
    struct jnode *a, *b, *c, *d;
    struct jnode *args, *kwargs;
    struct jnode *body, *else_body;
    const char *s;
    size_t len;
    int64_t i;
    double f;
};

struct aios_jinja_template {
    aios_arena *arena;
    struct jnode *body;
};

int jinja_parse_tokens(aios_arena *arena, const struct jtok *toks, size_t ntoks,
                       struct jnode **body, struct aios_err *err);

/* ---- values ------------------------------------------------------------- */

enum jv_kind {
    JV_UNDEF = 0, /* name: what was looked up, for messages (may be NULL) */
    JV_JSON,      /* j: one owned reference */
    JV_MACRO,     /* node: the JN_MACRO, frame: where it was defined */
    JV_CALLER,    /* node: the JN_CALL_BLOCK, frame: the call site */
    JV_FUNC,      /* func: one of enum jfunc */
};

enum jfunc {
    JF_RANGE,
    JF_NAMESPACE,
    JF_RAISE,
    JF_STRFTIME,
    JF_DICT,
};

struct jframe;

struct jv {
    enum jv_kind k;
    json_t *j;
    const struct jnode *node;
    struct jframe *frame;
    int func;
    const char *name;
};

#define JARGS_MAX 8
#define JINJA_MAX_RECURSION 2000

/* Evaluated call arguments. */
struct jargs {
    int n, nk;
    struct jv pos[JARGS_MAX];
    const char *kname[JARGS_MAX];
    struct jv kv[JARGS_MAX];
};

struct jstate {
    const struct aios_jinja_limits *lim;
    int64_t now;
    json_t *ctx;        /* the caller's context, deep-copied */
    json_t *namespaces; /* array of the namespace() objects made so far */
    /* arrays that are Python tuples (printed with parentheses): a pointer
     * set holding a reference to each, so no address is reused */
    json_t **tuples;
    size_t ntuples, tuples_cap;
    struct aios_err *err;
    uint64_t steps;
    uint64_t created; /* bytes of strings and list slots made, cumulative */
    int depth;        /* macro / capture nesting */
    int rdepth;       /* C recursion of eval/exec */
    int line;         /* line of the node being evaluated */
    struct jv block_input;
};

/* Error helper: "line N: message" with code; returns code. */
int jinja_fail(struct jstate *st, int line, int code, const char *fmt, ...) AIOS_PRINTF(4, 5);

/* Marks array t (a new tuple) as a tuple; best effort (past the list
 * limit or out of memory it stays a plain list). */
void jinja_tuple_mark(struct jstate *st, json_t *t);
bool jinja_is_tuple(const struct jstate *st, const json_t *t);
void jinja_tuples_free(struct jstate *st);

/* Value helpers shared by jinja_eval.c and jinja_builtins.c. */
void jv_drop(struct jv *v);
struct jv jv_json(json_t *j); /* takes the reference; NULL j -> undefined */
struct jv jv_undef(const char *name);
bool jv_truthy(const struct jv *v);
int jv_str_new(struct jstate *st, const char *s, size_t len, struct jv *out);
/* Appends Python's str() of v to b (strings as they are, containers as repr). */
int jv_to_str(struct jstate *st, const struct jv *v, struct aios_buf *b);
int jv_str_value(struct jstate *st, const struct jv *v, struct jv *out);
/* Python == on JSON values (1 == 1.0, deep for containers). */
bool jinja_json_eq(const json_t *a, const json_t *b, int depth);
/* a < b (-1), == (0), > (1) for numbers and strings; *ok false otherwise. */
int jinja_json_cmp(const json_t *a, const json_t *b, bool *ok);
/* json.dumps as the chat-template engines do it. indent < 0: one line. */
int jinja_tojson(struct jstate *st, const json_t *v, int indent, const char *item_sep,
                 const char *key_sep, bool ensure_ascii, bool sort_keys, struct aios_buf *b);
/* Python repr of a float. */
void jinja_fmt_float(double d, char *buf, size_t size);
const char *jinja_type_name(const struct jv *v);
/* Item of a dict by key, of a list by index, or undefined. Dotted paths for
 * attribute arguments of filters ("function.name"). */
struct jv jinja_getattr_path(const json_t *obj, const char *path);
int jinja_count_created(struct jstate *st, size_t bytes);
/* Adds units of work to the step count (scans inside builtins). */
int jinja_charge(struct jstate *st, uint64_t units);

/* Builtins: filter `name` on input; test `name`; method `name` of obj. Each
 * returns AIOS_ENOTFOUND (without setting an error) when no such builtin
 * exists, so the caller can name what was missing. */
int jinja_filter(struct jstate *st, const char *name, struct jv *in, struct jargs *args,
                 struct jv *out);
int jinja_test(struct jstate *st, const char *name, const struct jv *in, struct jargs *args,
               bool *out);
int jinja_method(struct jstate *st, const char *name, struct jv *obj, struct jargs *args,
                 struct jv *out);
void jargs_free(struct jargs *a);
/* Positional argument i or keyword `kw` (NULL when neither was given). */
const struct jv *jargs_get(const struct jargs *a, int i, const char *kw);

/* ---- helpers shared by the builtins (jinja_builtins.c) ------------------ */

static inline bool jv_is(const struct jv *v, json_type t)
{
    return v && v->k == JV_JSON && json_typeof(v->j) == t;
}
static inline bool jv_is_str(const struct jv *v)
{
    return jv_is(v, JSON_STRING);
}
/* ints and bools (Python's bool is an int) */
static inline bool jv_is_int(const struct jv *v)
{
    return v && v->k == JV_JSON && (json_is_integer(v->j) || json_is_boolean(v->j));
}
static inline bool jv_is_num(const struct jv *v)
{
    return v && v->k == JV_JSON && (json_is_number(v->j) || json_is_boolean(v->j));
}
static inline int64_t jv_int(const struct jv *v)
{
    return json_is_integer(v->j) ? (int64_t)json_integer_value(v->j) : json_is_true(v->j);
}
static inline double jv_num(const struct jv *v)
{
    return json_is_real(v->j) ? json_real_value(v->j) : (double)jv_int(v);
}

enum jinja_casemode { JCASE_UPPER, JCASE_LOWER, JCASE_TITLE, JCASE_CAPITALIZE };

int jinja_ret_json(struct jstate *st, json_t *j, struct jv *out); /* NULL j: ENOMEM */
int jinja_ret_bool(struct jstate *st, bool b, struct jv *out);
int jinja_type_err(struct jstate *st, const char *what, const struct jv *v);
/* Makes a string of b (freed) when rc is AIOS_OK, else reports rc. */
int jinja_ret_buf(struct jstate *st, struct aios_buf *b, int rc, struct jv *out);
/* Appends item_new (reference taken) within the list limits. */
int jinja_list_push(struct jstate *st, json_t *arr, json_t *item_new);
/* Python's str.isspace for one code point. */
bool jinja_py_space(int32_t c);
/* Decodes the code point at s[i], returns its length (invalid bytes: 1). */
size_t jinja_next_cp(const char *s, size_t n, size_t i, int32_t *cp);
/* which: 1 left, 2 right, 3 both; chars NULL = whitespace. */
int jinja_strip(struct jstate *st, const struct jv *in, const struct jv *chars, int which,
                struct jv *out);
int jinja_case(struct jstate *st, const struct jv *in, enum jinja_casemode m, struct jv *out);
int jinja_replace(struct jstate *st, const struct jv *in, const struct jv *old,
                  const struct jv *new_, const struct jv *count, struct jv *out);
/* Python str.split / rsplit; sep NULL = runs of whitespace. */
int jinja_split(struct jstate *st, const struct jv *in, const struct jv *sep,
                const struct jv *maxsplit, bool from_right, struct jv *out);
int jinja_affix(struct jstate *st, const struct jv *in, const struct jv *a, bool end,
                struct jv *out);
/* Python's `fmt % args` (args a list = several values). */
int jinja_printf(struct jstate *st, const struct jv *fmt, const struct jv *args, struct jv *out);
/* The elements of a list, the keys of a dict or the characters of a string. */
int jinja_as_list(struct jstate *st, const struct jv *in, json_t **out);
/* dict.items() as a list of [key, value]. */
int jinja_items(struct jstate *st, const struct jv *in, struct jv *out);
/* Refuses to store v in target when that would make a cycle. */
int jinja_check_store(struct jstate *st, const json_t *target, const struct jv *v);

/* UTF-8 helpers. */
size_t jinja_utf8_len(const char *s, size_t n);
/* Byte offset of code point index cp (clamped to n). */
size_t jinja_utf8_offset(const char *s, size_t n, size_t cp);

#endif
