/*
 * The Jinja engine of chat templates: expressions, filters, tests, methods,
 * statements and whitespace control, each against the text Jinja (Python)
 * produces for it; errors with line numbers; and hostile templates (deep
 * nesting, endless loops, exponential strings, huge lists, self-containing
 * lists) that must end with AIOS_ELIMIT or an error, never hang or crash.
 */
#include "llm/llm.h"
#include "test.h"

static char result[1 << 16];
static int last_rc;
static struct aios_err last_err;

/* Renders src with the JSON context text (NULL = {}); returns the text, or
 * "ERR" with the status in last_rc and the message in last_err. */
static const char *R_lim(const char *src, const char *ctx_text, const struct aios_jinja_limits *lim)
{
    json_t *ctx = NULL;
    if (ctx_text && aios_json_parse(ctx_text, strlen(ctx_text), 0, &ctx, &last_err) != AIOS_OK) {
        fprintf(stderr, "bad test context: %s\n", last_err.msg);
        return "BADCTX";
    }
    aios_jinja_template *t = NULL;
    char *out = NULL;
    size_t len = 0;
    aios_err_clear(&last_err);
    last_rc = aios_jinja_parse(src, strlen(src), &t, &last_err);
    if (last_rc == AIOS_OK)
        last_rc = aios_jinja_render(t, ctx, 1721952000, lim, &out, &len, &last_err);
    aios_jinja_free(t);
    json_decref(ctx);
    if (last_rc != AIOS_OK)
        return "ERR";
    snprintf(result, sizeof result, "%s", out);
    aios_free(out);
    return result;
}

static const char *R(const char *src, const char *ctx_text)
{
    return R_lim(src, ctx_text, NULL);
}

#define EQ(src, ctx, want) CHECK_EQ_STR(R(src, ctx), want)

static void test_literals_and_output(void)
{
    EQ("hello", NULL, "hello");
    EQ("{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 2.0 }} {{ 1e20 }} {{ 0.0001 }}", NULL,
       "1 -2 1.5 2.0 1e+20 0.0001");
    EQ("{{ 'a' \"b\" }}{{ '\\n' == \"\\n\" }}", NULL, "abTrue");
    EQ("{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}", NULL,
       "True False None True None");
    EQ("{{ [1, 'a', none, true] }}", NULL, "[1, 'a', None, True]");
    EQ("{{ {'a': 1, 'b': [2]} }}", NULL, "{'a': 1, 'b': [2]}");
    EQ("{{ \"it's\" }} {{ ['it\\'s'] }}", NULL, "it's [\"it's\"]");
    EQ("{{ undefined_thing }}|{{ x }}", "{\"x\": \"y\"}", "|y");
    EQ("{{ (1, 2) }}{{ () }}{{ (1,) }}{{ (1, 2)|tojson }}", NULL, "(1, 2)()(1,)[1, 2]");
}

static void test_operators(void)
{
    EQ("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}", NULL,
       "3 -4 1 2 3.5 1024");
    EQ("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }}", NULL, "7 9 64");
    EQ("{{ (-1) ** 3 }} {{ (-1) ** 4 }} {{ 0 ** 0 }} {{ 2 ** 70 }} {{ 2 ** -1 }}", NULL,
       "-1 1 1 1.1805916207174113e+21 0.5");
    EQ("{{ range(9223372036854775806, 9223372036854775807, 5)|list }}", NULL,
       "[9223372036854775806]");
    EQ("{{ 'a' + 'b' }} {{ 'a' ~ 1 ~ none }} {{ [1] + [2] }} {{ 'ab' * 2 }} {{ [0] * 3 }}", NULL,
       "ab a1None [1, 2] abab [0, 0, 0]");
    EQ("{{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 < 3 }} {{ 'b' >= 'a' }} {{ [1,2] == [1,2] }}", NULL,
       "True True True True True");
    EQ("{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}", NULL,
       "True True True True");
    EQ("{{ not true }} {{ not 0 }} {{ 1 and 2 }} {{ 0 or 'x' }} {{ none or [] }}", NULL,
       "False True 2 x []");
    EQ("{{ 'y' if 1 else 'n' }}{{ 'y' if 0 else 'n' }}[{{ 'y' if 0 }}]", NULL, "yn[]");
    EQ("{{ x.a }} {{ x['a'] }} {{ x.b.c }} {{ l[0] }} {{ l[-1] }} {{ l[5] }}|{{ s[1] }}",
       "{\"x\": {\"a\": 1, \"b\": {\"c\": 2}}, \"l\": [4, 5], \"s\": \"h\u00e9y\"}",
       "1 1 2 4 5 |\u00e9");
    EQ("{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ s[1:3] }} {{ s[::-1] }}",
       "{\"l\": [1, 2, 3], \"s\": \"h\u00e9y!\"}",
       "[2, 3] [1, 2] [3, 2, 1] [1, 3] \u00e9y !y\u00e9h");
    EQ("{{ -x|abs }}", "{\"x\": 3}", "3");
    CHECK_EQ_STR(R("{{ 1 / 0 }}", NULL), "ERR");
    CHECK_EQ_STR(R("{{ 'a' + 1 }}", NULL), "ERR");
    CHECK_EQ_STR(R("{{ 1 < 'a' }}", NULL), "ERR");
}

static void test_filters(void)
{
    EQ("[{{ '  a b \\n'|trim }}] [{{ 'xxaxx'|trim('x') }}]", NULL, "[a b] [a]");
    EQ("{{ 'aBc'|upper }} {{ 'AbC'|lower }} {{ 'hello world'|title }} {{ 'hELLO'|capitalize }}",
       NULL, "ABC abc Hello World Hello");
    EQ("{{ '\u00e9t\u00e9'|upper }} {{ '\u00e9t\u00e9'|length }}", NULL, "\u00c9T\u00c9 3");
    EQ("{{ [1,2,3]|length }} {{ {'a':1}|length }} {{ [3,1,2]|first }} {{ [3,1,2]|last }}", NULL,
       "3 1 3 2");
    EQ("{{ [1,2]|join(', ') }} {{ ['a','b']|join }} {{ l|join('-', attribute='n') }}",
       "{\"l\": [{\"n\": \"x\"}, {\"n\": \"y\"}]}", "1, 2 ab x-y");
    EQ("{{ x|default('d') }} {{ none|default('d') }} {{ ''|default('d', true) }} {{ 0|d(5) }}",
       NULL, "d None d 0");
    EQ("{{ 3|string ~ 'x' }} {{ '12'|int + 1 }} {{ 'x'|int }} {{ '0x1A'|int(0, 16) }} "
       "{{ 3.9|int }} {{ '2.5'|float }}",
       NULL, "3x 13 0 26 3 2.5");
    EQ("{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }}", NULL, "a+b+c bba");
    EQ("{{ {'a': 1, 'b': 2}|items|list }} {{ 'ab'|list }}", NULL,
       "[('a', 1), ('b', 2)] ['a', 'b']");
    EQ("{{ [3,1,2]|sort }} {{ [3,1,2]|sort(reverse=true) }} {{ ['b','A','c']|sort }} "
       "{{ l|sort(attribute='k')|map(attribute='k')|list }}",
       "{\"l\": [{\"k\": 2}, {\"k\": 1}]}", "[1, 2, 3] [3, 2, 1] ['A', 'b', 'c'] [1, 2]");
    EQ("{{ [1,2,1,3]|unique|list }} {{ ['a','A']|unique|list }} {{ [1,2]|reverse|list }}", NULL,
       "[1, 2, 3] ['a'] [2, 1]");
    EQ("{{ [1,2,3]|sum }} {{ [1,5,3]|max }} {{ [4,2,9]|min }} {{ -2.5|abs }} {{ 2.567|round(2) }}",
       NULL, "6 5 2 2.5 2.57");
    EQ("{{ '<a&b>'|e }} {{ 'x'|safe }} {{ 'one two  three'|wordcount }}", NULL,
       "&lt;a&amp;b&gt; x 3");
    EQ("{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}", NULL,
       "a\n  b\n\n  c|  a\n  b");
    EQ("{{ {'b': 1, 'a': 2}|dictsort }}", NULL, "[('a', 2), ('b', 1)]");
    EQ("{{ ['a','b']|map('upper')|list }}", NULL, "['A', 'B']");
    EQ("{{ '%s=%d;%5.2f|%r%%'|format('k', 3, 2.5, 'q') }} {{ '<%s>' % 'x' }} {{ '%s-%s' % (1, 2) "
       "}}",
       NULL, "k=3; 2.50|'q'% <x> 1-2");
    CHECK_EQ_STR(R("{{ '%s %s' % 'one' }}", NULL), "ERR");
    CHECK_EQ_STR(R("{{ 'none' % 'x' }}", NULL), "ERR"); /* not all arguments converted */
    /* text filters take str() of any value; round keeps ints; \w+ words */
    EQ("{{ false|lower }} {{ 12|trim }} {{ none|title }} {{ [1]|upper }} {{ u|upper }}|", NULL,
       "false 12 None [1] |");
    EQ("{{ 3|round }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.0|wordcount }} {{ 'a_b-c'|wordcount }}",
       NULL, "3 2.0 4.0 2 2");
    /* select/reject family */
    const char *msgs = "{\"m\": [{\"role\": \"user\", \"t\": 1}, {\"role\": \"assistant\"}, "
                       "{\"role\": \"user\", \"t\": 0}]}";
    EQ("{{ m|selectattr('role', 'equalto', 'user')|list|length }}", msgs, "2");
    EQ("{{ m|rejectattr('role', 'equalto', 'user')|map(attribute='role')|join }}", msgs,
       "assistant");
    EQ("{{ m|selectattr('t')|list|length }} {{ m|selectattr('t', 'defined')|list|length }}", msgs,
       "1 2");
    EQ("{{ [1,2,3,4]|select('odd')|list }} {{ [1,2,3]|reject('equalto', 2)|list }}", NULL,
       "[1, 3] [1, 3]");
    EQ("{{ m|map(attribute='t', default=9)|list }}", msgs, "[1, 9, 0]");
    CHECK_EQ_STR(R("{{ x|nosuchfilter }}", NULL), "ERR");
    CHECK(strstr(last_err.msg, "unknown filter 'nosuchfilter'") != NULL);
}

static void test_tojson(void)
{
    const char *ctx = "{\"v\": {\"b\": [1, 2.5, \"x\\\"y\"], \"a\": {}, \"c\": [], \"d\": null, "
                      "\"e\": true, \"u\": \"\u00e9\\n\"}}";
    EQ("{{ v|tojson }}", ctx,
       "{\"b\": [1, 2.5, \"x\\\"y\"], \"a\": {}, \"c\": [], \"d\": null, \"e\": true, \"u\": "
       "\"\u00e9\\n\"}");
    EQ("{{ v.b|tojson(indent=2) }}", ctx, "[\n  1,\n  2.5,\n  \"x\\\"y\"\n]");
    EQ("{{ {'k': {'j': 1}}|tojson(indent=4) }}", NULL,
       "{\n    \"k\": {\n        \"j\": 1\n    }\n}");
    EQ("{{ v.u|tojson(ensure_ascii=true) }} {{ '\U0001F642'|tojson(ensure_ascii=true) }}", ctx,
       "\"\\u00e9\\n\" \"\\ud83d\\ude42\"");
    EQ("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }} {{ [1,2]|tojson(separators=[',', ':']) }}",
       NULL, "{\"a\": 2, \"b\": 1} [1,2]");
    EQ("{{ 'tab\\tctl\\x01\\u00e9'|tojson }}", NULL, "\"tab\\tctl\\u0001\u00e9\"");
}

static void test_tests(void)
{
    EQ("{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }}",
       "{\"x\": 1}", "True True True True");
    EQ("{{ {} is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ 1 is iterable }} "
       "{{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }}",
       NULL, "True True True False True True True True");
    EQ("{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 3 is odd }} {{ 4 is even }} "
       "{{ 9 is divisibleby 3 }} {{ 2 is in [1, 2] }} {{ 'a' is equalto 'a' }} {{ x is not none }}",
       "{\"x\": 1}", "True False True True True True True True True");
    EQ("{{ 3 is gt 2 }} {{ 3 is lt(2) }} {{ 'ab' is lower }} {{ 'AB' is upper }}", NULL,
       "True False True True");
    EQ("{{ range is callable }} {{ 1 is callable }}", NULL, "True False");
    EQ("{{ '123' is lower }} {{ 'a1' is lower }} {{ {'a': 1} is lower }} {{ 2.0 is even }} "
       "{{ 3.0 is odd }} {{ 2.5 is even }}",
       NULL, "False True True True True False");
    CHECK_EQ_STR(R("{{ 1 is frobnicated }}", NULL), "ERR");
}

static void test_methods(void)
{
    EQ("[{{ ' a '.strip() }}][{{ 'xay'.lstrip('x') }}][{{ '\\na\\n'.rstrip('\\n') }}]", NULL,
       "[a][ay][\na]");
    EQ("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} "
       "{{ 'a,b,c'.rsplit(',', 1) }}",
       NULL, "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a,b', 'c']");
    EQ("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'Ab'.upper() }} "
       "{{ 'Ab'.lower() }} {{ 'ab cd'.title() }} {{ 'ab'.replace('a', 'x') }}",
       NULL, "True True AB ab Ab Cd xb");
    EQ("{{ 'abcb'.find('b') }} {{ 'abcb'.count('b') }} {{ '-'.join(['a', 'b']) }} "
       "{{ '12'.isdigit() }} {{ 'a\\nb'.splitlines() }}",
       NULL, "1 2 a-b True ['a', 'b']");
    const char *d = "{\"d\": {\"a\": 1, \"b\": 2}}";
    EQ("{{ d.items()|list }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} "
       "{{ d.get('z') }} {{ d.get('z', 0) }}",
       d, "[('a', 1), ('b', 2)] ['a', 'b'] [1, 2] 1 None 0");
    EQ("{% set l = [1] %}{{ l.append(2) }}{{ l }} {{ l.pop() }} {{ l }}", NULL, "None[1, 2] 2 [1]");
    EQ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", d, "a=1;b=2;");
    CHECK_EQ_STR(R("{{ 'a'.nosuch() }}", NULL), "ERR");
}

static void test_statements(void)
{
    EQ("{% if 0 %}a{% elif 1 %}b{% else %}c{% endif %}", NULL, "b");
    EQ("{% for x in [1,2,3] %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/"
       "{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}",
       NULL, "1/0/3/True/False/3;2/1/2/False/False/3;3/2/1/False/True/3;");
    EQ("{% for x in [] %}a{% else %}empty{% endfor %}", NULL, "empty");
    EQ("{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}", NULL, "2242");
    EQ("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}", NULL, "ab");
    EQ("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}", NULL, "3,7,");
    EQ("{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}", NULL,
       "13");
    EQ("{% for x in [1,2,3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}", NULL, "1");
    EQ("{% for x in 'ab' %}{{ loop.cycle('o', 'e') }}{{ x }}{% endfor %}", NULL, "oaeb");
    /* set scoping: a set inside a loop does not leak; namespaces carry state */
    EQ("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", NULL, "1");
    EQ("{% for i in [1, 2] %}[{{ y }}]{% set y = i %}{% endfor %}", NULL, "[][]");
    EQ("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}"
       "{{ ns.x }}",
       NULL, "4");
    EQ("{% set ns = namespace() %}{% set ns.y = 'v' %}{{ ns.y }}", NULL, "v");
    EQ("{% set a, b = [1, 2] %}{{ b }}{{ a }}", NULL, "21");
    EQ("{% set t %}in {{ 1 + 1 }}{% endset %}[{{ t }}]", NULL, "[in 2]");
    EQ("{% set t | upper %}abc{% endset %}{{ t }}", NULL, "ABC");
    EQ("{% filter upper %}ab{{ 'c' }}{% endfilter %}", NULL, "ABC");
    EQ("{% macro m(a, b='B') %}<{{ a }}{{ b }}>{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}", NULL,
       "<1B><23>");
    EQ("{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}inner{% endcall %}", NULL,
       "[inner]");
    EQ("{% macro v(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ v(1, 2, 3, k='x') }}",
       NULL, "1(2, 3){'k': 'x'}");
    EQ("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
       NULL, "321");
    EQ("{% raw %}{{ not evaluated }}{% endraw %}", NULL, "{{ not evaluated }}");
    EQ("{% for n in tree recursive %}{{ n.name }}{{ loop.depth }}{% if n.kids %}({{ loop(n.kids) "
       "}})"
       "{% endif %}{% endfor %}",
       "{\"tree\": [{\"name\": \"a\", \"kids\": [{\"name\": \"b\", \"kids\": [{\"name\": "
       "\"c\"}]}]}, "
       "{\"name\": \"d\"}]}",
       "a1(b2(c3))d1");
    CHECK_EQ_STR(R("{% for i in [1] %}{{ loop([2]) }}{% endfor %}", NULL), "ERR");
    /* no trim_blocks after {% raw %}; lstrip_blocks before {% endraw %} */
    EQ("{% raw %}\nq\n   {% endraw %}\nz", NULL, "\nq\nz");
    EQ("a{# comment #}b", NULL, "ab");
    EQ("{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(3, 0, -1)|list }}", NULL,
       "[0, 1, 2] [1, 3, 5] [3, 2, 1]");
    EQ("{{ dict(a=1)|tojson }}", NULL, "{\"a\": 1}");
    EQ("{% generation %}g{% endgeneration %}{% do [].append(1) %}", NULL, "g");
    EQ("{{ strftime_now('%Y-%m-%d %d %b %Y') }}", NULL, "2024-07-26 26 Jul 2024");
    /* set on a non-namespace object is refused, so the context cannot be edited */
    CHECK_EQ_STR(R("{% set m.x = 1 %}", "{\"m\": {}}"), "ERR");
}

static void test_whitespace(void)
{
    /* trim_blocks: the newline after a block tag goes; lstrip_blocks: the
     * indentation before one goes; expressions keep both */
    EQ("{% if true %}\n  a\n{% endif %}\nb", NULL, "  a\nb");
    EQ("  {% if true %}x{% endif %}", NULL, "x");
    EQ("x  {% if true %}y{% endif %}", NULL, "x  y");
    EQ("{{ 'a' }}\n{{ 'b' }}", NULL, "a\nb");
    EQ("a  {{- 'b' -}}  \n c", NULL, "abc");
    EQ("a \n {%- if true -%} \n b {%- endif %}", NULL, "ab");
    EQ("a {#- c -#} b", NULL, "ab");
    EQ("{% if true +%}\nx{% endif %}", NULL, "\nx");
    EQ("one\n", NULL, "one"); /* a single trailing newline is dropped */
    EQ("one\n\n", NULL, "one\n");
    EQ("a\r\nb", NULL, "a\nb");
    EQ("{% for x in [1,2] %}\n  - {{ x }}\n{% endfor %}", NULL, "  - 1\n  - 2\n");
}

static void test_errors(void)
{
    CHECK_EQ_STR(R("a\nb\n{% for x in y %}\n{{ x }", NULL), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_EPARSE);
    CHECK(strstr(last_err.msg, "template line 4") != NULL);
    CHECK_EQ_STR(R("{% if x %}a", NULL), "ERR");
    CHECK(strstr(last_err.msg, "endif") != NULL);
    CHECK_EQ_STR(R("{% endfor %}", NULL), "ERR");
    CHECK_EQ_STR(R("{% include 'x' %}", NULL), "ERR");
    CHECK(strstr(last_err.msg, "unsupported statement") != NULL);
    CHECK_EQ_STR(R("{{ 'unterminated }}", NULL), "ERR");
    CHECK_EQ_STR(R("{# open comment", NULL), "ERR");
    CHECK_EQ_STR(R("\n\n{{ raise_exception('no ' ~ 'way') }}", NULL), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_EINVAL);
    CHECK_EQ_STR(last_err.msg, "template line 3: no way");
    CHECK_EQ_STR(R("\n{{ u.x }}", NULL), "ERR");
    CHECK_EQ_STR(last_err.msg, "template line 2: 'u' is undefined");
    CHECK_EQ_STR(R("{{ f() }}", NULL), "ERR");
    CHECK_EQ_STR(R("{{ 1() }}", NULL), "ERR");
    CHECK_EQ_STR(R("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", NULL), "ERR");
    CHECK_EQ_STR(R("{% break %}", NULL), "ERR");
    CHECK_EQ_STR(R("{{ 'x' }}", "[1]"), "ERR");
}

static void test_hostile(void)
{
    struct aios_jinja_limits lim;
    aios_jinja_limits_default(&lim);
    lim.max_steps = 200000;
    lim.max_output = 1 << 20;
    lim.max_created = 16 << 20;
    lim.max_list = 100000;
    /* endless-ish loops */
    CHECK_EQ_STR(R_lim("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                       "{% endfor %}",
                       NULL, &lim),
                 "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    CHECK_EQ_STR(R_lim("{{ range(1000000000)|length }}", NULL, &lim), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    /* exponential string and list growth */
    CHECK_EQ_STR(R_lim("{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
                       "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                       NULL, &lim),
                 "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    CHECK_EQ_STR(R_lim("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}"
                       "{% set ns.l = ns.l + ns.l %}{% endfor %}",
                       NULL, &lim),
                 "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    CHECK_EQ_STR(R_lim("{{ 'x' * 100000000 }}", NULL, &lim), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    /* huge output */
    CHECK_EQ_STR(R_lim("{% for i in range(90000) %}0123456789abcdef{% endfor %}", NULL, &lim),
                 "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    /* unbounded recursion */
    CHECK_EQ_STR(R_lim("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", NULL, &lim), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    CHECK_EQ_STR(R_lim("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", NULL, &lim),
                 "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    /* a list that contains itself is refused (no cycle, no leak) */
    CHECK_EQ_STR(R_lim("{% set l = [] %}{{ l.append(l) }}", NULL, &lim), "ERR");
    CHECK_EQ_STR(R_lim("{% set l = [] %}{% set m = [l] %}{{ l.append(m) }}", NULL, &lim), "ERR");
    /* deep nesting in the parser and in long operator chains */
    static char deep[300000];
    size_t n = 0;
    for (int i = 0; i < 5000; i++)
        deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 5000; i++)
        deep[n++] = ')';
    deep[n] = 0;
    char wrapped[310000];
    snprintf(wrapped, sizeof wrapped, "{{ %s }}", deep);
    CHECK_EQ_STR(R_lim(wrapped, NULL, &lim), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{{ 1");
    for (int i = 0; i < 50000; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "+1");
    snprintf(deep + n, sizeof deep - n, " }}");
    CHECK_EQ_STR(R_lim(deep, NULL, &lim), "ERR");
    CHECK_EQ_INT(last_rc, AIOS_ELIMIT);
    n = 0;
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{%% if 1 %%}");
    CHECK_EQ_STR(R_lim(deep, NULL, &lim), "ERR");
    CHECK(last_rc == AIOS_ELIMIT || last_rc == AIOS_EPARSE);
    /* a long elif chain runs without deep recursion */
    n = (size_t)snprintf(deep, sizeof deep, "{%% if x == 0 %%}0");
    for (int i = 1; i < 5000; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{%% elif x == %d %%}%d", i, i);
    snprintf(deep + n, sizeof deep - n, "{%% endif %%}");
    CHECK_EQ_STR(R(deep, "{\"x\": 4999}"), "4999");
    /* template size limit */
    size_t big = AIOS_JINJA_MAX_SOURCE + 1;
    char *huge = aios_malloc(big + 1);
    CHECK(huge != NULL);
    if (huge) {
        memset(huge, 'a', big);
        huge[big] = 0;
        aios_jinja_template *t = NULL;
        CHECK_EQ_INT(aios_jinja_parse(huge, big, &t, NULL), AIOS_ELIMIT);
        aios_free(huge);
    }
}

static void test_builtin_templates(void)
{
    const char *const *names = aios_chat_template_builtin_names();
    int count = 0;
    const char *ctx = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                      "\"add_generation_prompt\": true, \"bos_token\": \"<s>\", "
                      "\"eos_token\": \"</s>\"}";
    for (; *names; names++, count++) {
        const char *src = aios_chat_template_builtin(*names);
        CHECK(src != NULL);
        if (src)
            CHECK_MSG(strcmp(R(src, ctx), "ERR") != 0, "%s: %s", *names, last_err.msg);
    }
    CHECK_EQ_INT(count, 6);
    CHECK(aios_chat_template_builtin("nosuch") == NULL);
    /* llama2 requires alternating roles, like Meta's template */
    CHECK_EQ_STR(R(aios_chat_template_builtin("llama2"),
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, "
                   "{\"role\": \"user\", \"content\": \"b\"}]}"),
                 "ERR");
    CHECK_EQ_INT(last_rc, AIOS_EINVAL);
}

static void test_context_build(void)
{
    json_t *msgs = json_loads("[{\"role\": \"assistant\", \"content\": null, \"tool_calls\": "
                              "[{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                              "\"arguments\": \"{\\\"a\\\": 1}\"}}]}, {\"role\": \"user\", "
                              "\"content\": \"x\"}]",
                              0, NULL);
    json_t *ctx = NULL;
    CHECK_EQ_INT(aios_chat_context_build(msgs, NULL, true, "<s>", "</s>", &ctx, NULL), AIOS_OK);
    json_t *m0 = json_array_get(json_object_get(ctx, "messages"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(m0, "content")), "");
    json_t *args = json_object_get(
        json_object_get(json_array_get(json_object_get(m0, "tool_calls"), 0), "function"),
        "arguments");
    CHECK(json_is_object(args) && json_integer_value(json_object_get(args, "a")) == 1);
    CHECK(json_is_true(json_object_get(ctx, "add_generation_prompt")));
    CHECK_EQ_STR(json_string_value(json_object_get(ctx, "bos_token")), "<s>");
    /* the caller's messages are not modified */
    CHECK(json_is_null(json_object_get(json_array_get(msgs, 0), "content")));
    json_decref(ctx);
    json_t *typed = json_loads(
        "[{\"role\": \"developer\", \"content\": \"d\"}, {\"role\": \"user\", \"content\": "
        "[{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"image_url\", \"image_url\": {}}, "
        "{\"type\": \"text\", \"text\": \"b\"}]}]",
        0, NULL);
    CHECK_EQ_INT(aios_chat_context_build(typed, NULL, false, "", "", &ctx, NULL), AIOS_OK);
    json_t *ms = json_object_get(ctx, "messages");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(ms, 0), "role")), "system");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(ms, 1), "content")), "a\nb");
    json_decref(ctx);
    json_decref(typed);
    CHECK(aios_chat_context_build(json_object_get(msgs, "x"), NULL, true, "", "", &ctx, NULL) !=
          AIOS_OK);
    json_decref(msgs);
}

int main(void)
{
    TEST_RUN(test_literals_and_output);
    TEST_RUN(test_operators);
    TEST_RUN(test_filters);
    TEST_RUN(test_tojson);
    TEST_RUN(test_tests);
    TEST_RUN(test_methods);
    TEST_RUN(test_statements);
    TEST_RUN(test_whitespace);
    TEST_RUN(test_errors);
    TEST_RUN(test_hostile);
    TEST_RUN(test_builtin_templates);
    TEST_RUN(test_context_build);
    TEST_EXIT();
}
