/*
 * Tests of the JSON guide (llm_guide.h): byte-by-byte acceptance for many
 * schemas, completion, limits, schema errors, and a property test: random
 * documents generated from a schema must be accepted in random piece splits
 * and complete at the end; random one-byte corruptions that the guide still
 * accepts as complete must be valid by an independent check (jansson parse
 * plus a small schema validator written here).
 */
#include "llm/llm.h"
#include "test.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- helpers ------------------------------------------------------------ */

static aios_json_guide *mk(const char *schema_text)
{
    struct aios_err err = {0};
    json_t *s = NULL;
    if (schema_text) {
        s = json_loads(schema_text, 0, NULL);
        if (!s) {
            fprintf(stderr, "bad test schema: %s\n", schema_text);
            return NULL;
        }
    }
    aios_json_guide *g = NULL;
    int rc = aios_json_guide_create(s, &g, &err);
    if (rc)
        fprintf(stderr, "create failed: %s\n", err.msg);
    json_decref(s);
    return g;
}

/* Feeds text byte by byte; returns the offset of the first rejected byte or
 * -1 when all were taken. accept() and feed() must agree on every byte. */
static long first_reject(aios_json_guide *g, const char *text, size_t n)
{
    aios_json_guide_reset(g);
    for (size_t i = 0; i < n; i++) {
        bool a = aios_json_guide_accept(g, text + i, 1);
        int rc = aios_json_guide_feed(g, text + i, 1);
        CHECK_MSG(a == (rc == AIOS_OK), "accept/feed disagree at %zu of %s", i, text);
        if (rc != AIOS_OK)
            return (long)i;
    }
    return -1;
}

/* Whole text accepted and complete. */
static bool valid(aios_json_guide *g, const char *text)
{
    return first_reject(g, text, strlen(text)) < 0 && aios_json_guide_complete(g);
}

#define ACCEPTS(g, t) CHECK_MSG(valid(g, t), "should accept: %s", t)
#define REJECTS_AT(g, t, at) CHECK_EQ_INT(first_reject(g, t, strlen(t)), at)
/* Not a complete valid document (rejected somewhere or incomplete). */
#define INVALID(g, t) CHECK_MSG(!valid(g, t), "should not accept: %s", t)

/* ---- json_object mode --------------------------------------------------- */

static void test_any_object(void)
{
    aios_json_guide *g = mk(NULL);
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{}");
    ACCEPTS(g, "{\"a\": [1, 2.5e3, \"x\", true, false, null, {\"b\": {}}, []]}");
    ACCEPTS(g, " \n{ \"k\" : -0.5E+2 }\n");
    REJECTS_AT(g, "[1]", 0);
    REJECTS_AT(g, "\"x\"", 0);
    REJECTS_AT(g, "{\"a\":1}x", 7);
    REJECTS_AT(g, "{\"a\" 1}", 5);
    REJECTS_AT(g, "{\"a\":1,}", 7);
    REJECTS_AT(g, "{,}", 1);
    REJECTS_AT(g, "{\"a\":tru}", 8);
    REJECTS_AT(g, "{\"a\":nul }", 8);
    REJECTS_AT(g, "{'a':1}", 1);
    /* completion only once the object closes */
    aios_json_guide_reset(g);
    CHECK(!aios_json_guide_complete(g));
    CHECK(aios_json_guide_feed(g, "{\"a\":1", 6) == AIOS_OK);
    CHECK(!aios_json_guide_complete(g));
    CHECK(!aios_json_guide_finished(g));
    CHECK(aios_json_guide_feed(g, "}", 1) == AIOS_OK);
    CHECK(aios_json_guide_complete(g));
    CHECK(aios_json_guide_finished(g));
    CHECK(!aios_json_guide_accept(g, "{", 1));
    CHECK(aios_json_guide_accept(g, " ", 1));
    CHECK_EQ_INT(aios_json_guide_fed(g), 7);
    /* accept() leaves the state alone; a refused feed too */
    aios_json_guide_reset(g);
    CHECK(aios_json_guide_feed(g, "{\"a\":[", 6) == AIOS_OK);
    CHECK(aios_json_guide_accept(g, "1]}", 3));
    CHECK(!aios_json_guide_accept(g, "1}}", 3));
    CHECK(aios_json_guide_feed(g, "1}}", 3) == AIOS_EINVAL);
    CHECK(!aios_json_guide_complete(g));
    CHECK(aios_json_guide_feed(g, "1]}", 3) == AIOS_OK);
    CHECK(aios_json_guide_complete(g));
    CHECK(aios_json_guide_accept(g, "", 0));
    aios_json_guide_free(g);
}

static bool in_mask(const uint8_t m[32], unsigned b)
{
    return (m[b >> 3] >> (b & 7)) & 1;
}

static void test_next_bytes(void)
{
    aios_json_guide *g = mk("{\"type\":\"object\",\"properties\":{\"ab\":{\"type\":"
                            "\"boolean\"},\"ac\":{\"type\":\"null\"}},"
                            "\"additionalProperties\":false}");
    CHECK(g);
    if (!g)
        return;
    uint8_t m[32];
    aios_json_guide_next_bytes(g, m);
    int n = 0;
    for (unsigned b = 0; b < 256; b++)
        n += in_mask(m, b);
    CHECK_EQ_INT(n, 5); /* { and four whitespace bytes */
    CHECK(in_mask(m, '{') && in_mask(m, ' ') && in_mask(m, '\n') && !in_mask(m, '['));
    CHECK(aios_json_guide_feed(g, "{\"a", 3) == AIOS_OK);
    aios_json_guide_next_bytes(g, m);
    n = 0;
    for (unsigned b = 0; b < 256; b++)
        n += in_mask(m, b);
    CHECK_EQ_INT(n, 2);
    CHECK(in_mask(m, 'b') && in_mask(m, 'c'));
    CHECK(aios_json_guide_feed(g, "b\":", 3) == AIOS_OK);
    aios_json_guide_next_bytes(g, m);
    CHECK(in_mask(m, 't') && in_mask(m, 'f') && !in_mask(m, 'n') && !in_mask(m, '"'));
    aios_json_guide_free(g);
}

static void test_strings(void)
{
    aios_json_guide *g = mk("{\"type\":\"string\"}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "\"plain\"");
    ACCEPTS(g, "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    ACCEPTS(g, "\"\\u00e9\\u4E2D \\ud83d\\ude00\"");
    ACCEPTS(g, "\"h\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"");
    ACCEPTS(g, "\"\"");
    REJECTS_AT(g, "\"\\x\"", 2);
    REJECTS_AT(g, "\"a\x01\"", 2);
    REJECTS_AT(g, "\"a\nb\"", 2);
    REJECTS_AT(g, "\"\\udc00\"", 4);        /* lone low surrogate */
    REJECTS_AT(g, "\"\\ud83d\"", 7);        /* high surrogate without low */
    REJECTS_AT(g, "\"\\ud83d\\u0041\"", 9); /* ... followed by a non-low escape */
    REJECTS_AT(g, "\"\\u12g4\"", 5);
    REJECTS_AT(g, "\"\xc0\x80\"", 1);     /* overlong */
    REJECTS_AT(g, "\"\xed\xa0\x80\"", 2); /* UTF-16 surrogate in UTF-8 */
    REJECTS_AT(g, "\"\xf5\x80\"", 1);
    REJECTS_AT(g, "\"\xc3\"", 2); /* truncated character */
    REJECTS_AT(g, "\"\x80\"", 1);
    /* a character split across pieces */
    aios_json_guide_reset(g);
    CHECK(aios_json_guide_feed(g, "\"\xe4", 2) == AIOS_OK);
    CHECK(!aios_json_guide_accept(g, "\"", 1));
    CHECK(aios_json_guide_accept(g, "\xb8", 1));
    CHECK(aios_json_guide_feed(g, "\xb8", 1) == AIOS_OK);
    CHECK(aios_json_guide_feed(g, "\xad\"", 2) == AIOS_OK);
    CHECK(aios_json_guide_complete(g));
    aios_json_guide_free(g);

    /* lengths count code points; escapes count as one */
    g = mk("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "\"ab\"");
    ACCEPTS(g, "\"\xc3\xa9\xc3\xa9\xc3\xa9\"");
    ACCEPTS(g, "\"\\n\\ud83d\\ude00\"");
    REJECTS_AT(g, "\"a\"", 2);
    REJECTS_AT(g, "\"\xc3\xa9\"", 3);
    REJECTS_AT(g, "\"abcd\"", 4);
    REJECTS_AT(g, "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", 7);
    REJECTS_AT(g, "\"abc\\n\"", 4);
    aios_json_guide_free(g);
}

static void test_numbers(void)
{
    aios_json_guide *g = mk("{\"type\":\"number\"}");
    CHECK(g);
    if (!g)
        return;
    const char *good[] = {"0", "-0", "12", "1.5", "1e10", "1E-5", "-0.0e+1", "123456789.25"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ACCEPTS(g, good[i]);
    REJECTS_AT(g, "01", 1);
    REJECTS_AT(g, "+1", 0);
    REJECTS_AT(g, ".5", 0);
    REJECTS_AT(g, "1.e5", 2);
    REJECTS_AT(g, "1e+", -1);
    INVALID(g, "1e+");
    INVALID(g, "-");
    INVALID(g, "1.");
    REJECTS_AT(g, "1.5.2", 3);
    REJECTS_AT(g, "--1", 1);
    REJECTS_AT(g, "1 2", 2);
    ACCEPTS(g, "7 ");
    /* a top-level number is complete while it could still grow */
    aios_json_guide_reset(g);
    CHECK(aios_json_guide_feed(g, "12", 2) == AIOS_OK);
    CHECK(aios_json_guide_complete(g));
    CHECK(!aios_json_guide_finished(g));
    CHECK(aios_json_guide_accept(g, " ", 1));
    CHECK(aios_json_guide_accept(g, " ", 1));
    CHECK(aios_json_guide_accept(g, "3", 1));
    CHECK(aios_json_guide_feed(g, ".", 1) == AIOS_OK);
    CHECK(!aios_json_guide_complete(g));
    /* length bound: 64 bytes */
    char big[80];
    memset(big, '1', sizeof big);
    CHECK_EQ_INT(first_reject(g, big, sizeof big), 64);
    aios_json_guide_free(g);

    /* integer bounds are enforced as digits arrive (liveness included) */
    g = mk("{\"type\":\"integer\",\"minimum\":50,\"maximum\":60}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "50");
    ACCEPTS(g, "60");
    REJECTS_AT(g, "7", 0);
    REJECTS_AT(g, "61", 1);
    REJECTS_AT(g, "-5", 0);
    INVALID(g, "5");
    REJECTS_AT(g, "5 ", 1);
    aios_json_guide_free(g);
    g = mk("{\"type\":\"integer\",\"exclusiveMinimum\":-10,\"exclusiveMaximum\":1}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "-9");
    ACCEPTS(g, "-0");
    ACCEPTS(g, "0");
    REJECTS_AT(g, "-10", 2);
    REJECTS_AT(g, "1", 0);
    aios_json_guide_free(g);
    g = mk("{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "65535");
    REJECTS_AT(g, "65536", 4);
    REJECTS_AT(g, "0", 0);
    REJECTS_AT(g, "999999", 4);
    aios_json_guide_free(g);
    /* numbers (not integer) with minimum >= 0 only lose the minus sign */
    g = mk("{\"type\":\"number\",\"minimum\":0.5}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "0.75");
    REJECTS_AT(g, "-1", 0);
    aios_json_guide_free(g);
    /* huge magnitudes saturate without overflow */
    g = mk("{\"type\":\"integer\",\"minimum\":-9223372036854775807}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "123456789012345678901234567890");
    REJECTS_AT(g, "-92233720368547758070", 20);
    aios_json_guide_free(g);

    g = mk("{\"type\":\"integer\"}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "-42");
    ACCEPTS(g, "0");
    REJECTS_AT(g, "1.5", 1);
    REJECTS_AT(g, "1e3", 1);
    REJECTS_AT(g, "\"1\"", 0);
    aios_json_guide_free(g);
}

static const char *person = "{\"type\":\"object\",\"properties\":{"
                            "\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"},"
                            "\"nick\":{\"type\":\"string\"},\"nickname\":{\"type\":\"string\"}},"
                            "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}";

static void test_objects(void)
{
    aios_json_guide *g = mk(person);
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"name\":\"Ann\",\"age\":3}");
    ACCEPTS(g, "{\"age\":3,\"nickname\":\"x\",\"name\":\"Ann\",\"nick\":\"y\"}");
    /* required properties must all appear before } */
    REJECTS_AT(g, "{\"name\":\"Ann\"}", 13);
    REJECTS_AT(g, "{}", 1);
    /* keys are prefix-matched as they grow */
    REJECTS_AT(g, "{\"x", 2);
    REJECTS_AT(g, "{\"nam\"", 5);
    REJECTS_AT(g, "{\"namex", 6);
    REJECTS_AT(g, "{\"nick\":\"a\",\"nickx", 17);
    /* no duplicates; a prefix of only used names is refused at once */
    REJECTS_AT(g, "{\"name\":\"a\",\"na", 14);
    REJECTS_AT(g, "{\"name\":\"a\",\"age\":1,\"nickname\":\"b\",\"nick\":\"c\",", 45);
    REJECTS_AT(g, "{\"name\":\"a\",\"age\":1,\"nickname\":\"b\",\"a", 36);
    /* wrong value type */
    REJECTS_AT(g, "{\"age\":\"3\"", 7);
    /* keys are typed literally where names are declared */
    REJECTS_AT(g, "{\"n\\u0061me\"", 3);
    aios_json_guide_free(g);

    /* additional properties with a schema; declared ones keep theirs */
    g = mk("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"}},"
           "\"additionalProperties\":{\"type\":\"integer\"},\"maxProperties\":2}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"id\":\"a\",\"x\":1}");
    ACCEPTS(g, "{\"idx\":5}");
    ACCEPTS(g, "{\"i\":5}");
    REJECTS_AT(g, "{\"x\":\"s\"", 5);
    REJECTS_AT(g, "{\"id\":1", 6);
    REJECTS_AT(g, "{\"id\":\"a\",\"id\"", 13);
    REJECTS_AT(g, "{\"a\":1,\"b\":2,", 12);
    REJECTS_AT(g, "{\"q\\n\":1}", 3); /* escape off the declared names' path */
    aios_json_guide_free(g);

    /* free-form objects take escaped keys */
    g = mk("{\"type\":\"object\",\"minProperties\":1}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"a\\n\\u00e9\":{}}");
    REJECTS_AT(g, "{}", 1);
    aios_json_guide_free(g);

    /* required but undeclared: allowed through additionalProperties */
    g = mk("{\"type\":\"object\",\"required\":[\"k\"]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"k\":[1]}");
    REJECTS_AT(g, "{\"j\":1}", 6);
    aios_json_guide_free(g);
}

static void test_arrays(void)
{
    aios_json_guide *g = mk("{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},"
                            "\"minItems\":1,\"maxItems\":2}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "[true]");
    ACCEPTS(g, "[ true , false ]");
    REJECTS_AT(g, "[]", 1);
    REJECTS_AT(g, "[true,false,", 11);
    REJECTS_AT(g, "[1", 1);
    REJECTS_AT(g, "[true,]", 6);
    aios_json_guide_free(g);

    g = mk("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
           "\"items\":false}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "[\"a\",1]");
    ACCEPTS(g, "[]");
    REJECTS_AT(g, "[1", 1);
    REJECTS_AT(g, "[\"a\",1,", 6);
    aios_json_guide_free(g);
}

static void test_enum_const(void)
{
    aios_json_guide *g = mk("{\"enum\":[\"red\",\"green\",\"gr\",1,12,null,{\"a\":[1]}]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "\"red\"");
    ACCEPTS(g, "\"gr\"");
    ACCEPTS(g, "\"green\"");
    ACCEPTS(g, "1");
    ACCEPTS(g, "12");
    ACCEPTS(g, "null");
    ACCEPTS(g, "{\"a\":[1]}");
    ACCEPTS(g, "  \"red\"  ");
    REJECTS_AT(g, "\"x", 1);
    REJECTS_AT(g, "\"re\"", 3);
    REJECTS_AT(g, "13", 1);
    REJECTS_AT(g, "true", 0);
    REJECTS_AT(g, "{\"a\": [1]}", 5); /* canonical compact form only */
    aios_json_guide_free(g);

    g = mk("{\"type\":\"object\",\"properties\":{\"v\":{\"const\":\"x\\\"y\"}},"
           "\"required\":[\"v\"]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"v\":\"x\\\"y\"}");
    REJECTS_AT(g, "{\"v\":\"xy", 7);
    aios_json_guide_free(g);

    /* enum filtered by type; nullable adds null */
    g = mk("{\"type\":\"string\",\"enum\":[\"a\",1],\"nullable\":true}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "\"a\"");
    ACCEPTS(g, "null");
    REJECTS_AT(g, "1", 0);
    aios_json_guide_free(g);
}

static void test_unions(void)
{
    const char *s =
        "{\"anyOf\":["
        "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"a\"},\"x\":{\"type\":"
        "\"integer\"}},\"required\":[\"kind\",\"x\"],\"additionalProperties\":false},"
        "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"b\"},\"y\":{\"type\":"
        "\"string\"}},\"required\":[\"kind\",\"y\"],\"additionalProperties\":false},"
        "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
        "{\"type\":\"string\",\"maxLength\":1}, {\"type\":\"string\",\"minLength\":3}]}";
    aios_json_guide *g = mk(s);
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"kind\":\"a\",\"x\":1}");
    ACCEPTS(g, "{\"kind\":\"b\",\"y\":\"s\"}");
    ACCEPTS(g, "{\"x\":1,\"kind\":\"a\"}");
    ACCEPTS(g, "[1,2]");
    ACCEPTS(g, "\"a\"");
    ACCEPTS(g, "\"abc\"");
    REJECTS_AT(g, "\"ab\"", 3);
    REJECTS_AT(g, "{\"kind\":\"a\",\"y\"", 13);
    REJECTS_AT(g, "{\"x\":1,\"kind\":\"b\"", 15);
    REJECTS_AT(g, "{\"kind\":\"c\"", 9);
    REJECTS_AT(g, "true", 0);
    aios_json_guide_free(g);

    g = mk("{\"type\":[\"string\",\"null\",\"integer\"]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "\"s\"");
    ACCEPTS(g, "null");
    ACCEPTS(g, "5");
    REJECTS_AT(g, "5.5", 1);
    REJECTS_AT(g, "{", 0);
    aios_json_guide_free(g);

    /* constraints next to anyOf apply to every alternative; allOf merges */
    g = mk("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}},"
           "\"required\":[\"id\"],\"additionalProperties\":false,"
           "\"anyOf\":[{\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"]},"
           "{\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]}]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"id\":1,\"a\":\"x\"}");
    ACCEPTS(g, "{\"b\":\"x\",\"id\":1}");
    REJECTS_AT(g, "{\"a\":\"x\"}", 8);
    REJECTS_AT(g, "{\"id\":1,\"c", 9);
    aios_json_guide_free(g);

    g = mk("{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
           "\"required\":[\"a\"]},{\"properties\":{\"b\":{\"type\":\"boolean\"}},"
           "\"required\":[\"b\"]}]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"a\":1,\"b\":true}");
    REJECTS_AT(g, "{\"a\":1}", 6);
    REJECTS_AT(g, "{\"b\":1", 5);
    aios_json_guide_free(g);
}

/* Tool choice over many tools: one alternative per tool, all starting with
 * the same bytes, alive together until the name decides. */
static void test_many_alternatives(void)
{
    struct aios_buf b;
    aios_buf_init(&b, 0);
    aios_buf_puts(&b, "{\"anyOf\":[");
    for (int i = 0; i < 40; i++)
        aios_buf_printf(&b,
                        "%s{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"tool_%d\"},"
                        "\"arguments\":{\"type\":\"object\",\"properties\":{\"a%d\":{\"type\":"
                        "\"integer\"}},\"required\":[\"a%d\"],\"additionalProperties\":false}},"
                        "\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}",
                        i ? "," : "", i, i, i);
    aios_buf_puts(&b, "]}");
    aios_json_guide *g = mk(b.data);
    aios_buf_free(&b);
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"name\":\"tool_0\",\"arguments\":{\"a0\":1}}");
    ACCEPTS(g, "{\"name\":\"tool_39\",\"arguments\":{\"a39\":2}}");
    ACCEPTS(g, "{\"arguments\":{\"a17\":3},\"name\":\"tool_17\"}");
    REJECTS_AT(g, "{\"name\":\"tool_40", 15);
    REJECTS_AT(g, "{\"name\":\"tool_3\",\"arguments\":{\"a4", 32);
    REJECTS_AT(g, "{\"arguments\":{\"a17\":3},\"name\":\"tool_18", 37);
    aios_json_guide_free(g);
}

static void test_refs(void)
{
    const char *tree =
        "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
        "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},"
        "\"required\":[\"v\"],\"additionalProperties\":false}},"
        "\"$ref\":\"#/$defs/node\"}";
    aios_json_guide *g = mk(tree);
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"v\":1}");
    ACCEPTS(g, "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":4,\"kids\":[]}]}]}");
    REJECTS_AT(g, "{\"v\":1,\"kids\":[{\"w\"", 17);
    REJECTS_AT(g, "{\"v\":1,\"kids\":[{}", 16);
    aios_json_guide_free(g);

    /* Pydantic's Optional: anyOf [ref, null] with definitions */
    g = mk("{\"definitions\":{\"P\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":"
           "\"number\"}},\"required\":[\"x\"]}},\"type\":\"object\",\"properties\":{\"p\":"
           "{\"anyOf\":[{\"$ref\":\"#/definitions/P\"},{\"type\":\"null\"}],\"default\":null}},"
           "\"required\":[\"p\"]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "{\"p\":null}");
    ACCEPTS(g, "{\"p\":{\"x\":1.5}}");
    REJECTS_AT(g, "{\"p\":1", 5);
    aios_json_guide_free(g);

    /* recursion through a union ("#" itself) */
    g = mk("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}]}");
    CHECK(g);
    if (!g)
        return;
    ACCEPTS(g, "[1,[2,[3,[]]]]");
    REJECTS_AT(g, "[1,[\"x", 4);
    aios_json_guide_free(g);
}

static void test_limits(void)
{
    aios_json_guide *g = mk(NULL);
    CHECK(g);
    if (!g)
        return;
    /* whitespace: 32 in a row, not 33; inside strings it is content */
    char buf[256];
    size_t n = 0;
    buf[n++] = '{';
    for (int i = 0; i < AIOS_JSON_GUIDE_MAX_WS; i++)
        buf[n++] = ' ';
    buf[n++] = ' ';
    CHECK_EQ_INT(first_reject(g, buf, n), 1 + AIOS_JSON_GUIDE_MAX_WS);
    n = 0;
    buf[n++] = '{';
    buf[n++] = '"';
    for (int i = 0; i < 100; i++)
        buf[n++] = ' ';
    memcpy(buf + n, "\":1}", 4);
    n += 4;
    CHECK_EQ_INT(first_reject(g, buf, n), -1);
    CHECK(aios_json_guide_complete(g));
    aios_json_guide_free(g);

    /* nesting: the root and 63 arrays make 64 levels; the 65th is refused,
     * and the document can still be finished */
    g = mk("{\"type\":\"array\"}");
    CHECK(g);
    if (!g)
        return;
    char deep[200];
    memset(deep, '[', sizeof deep);
    CHECK_EQ_INT(first_reject(g, deep, sizeof deep), AIOS_JSON_GUIDE_MAX_DEPTH);
    aios_json_guide_reset(g);
    CHECK(aios_json_guide_feed(g, deep, AIOS_JSON_GUIDE_MAX_DEPTH) == AIOS_OK);
    CHECK(aios_json_guide_feed(g, "1", 1) == AIOS_OK);
    for (int i = 0; i < AIOS_JSON_GUIDE_MAX_DEPTH; i++)
        CHECK(aios_json_guide_feed(g, "]", 1) == AIOS_OK);
    CHECK(aios_json_guide_complete(g));
    aios_json_guide_free(g);
}

static void test_schema_errors(void)
{
    struct {
        const char *schema;
        int code;
        const char *path;
    } cases[] = {
        {"{\"type\":\"foo\"}", AIOS_EINVAL, "#/type"},
        {"{\"properties\":{\"a\":{\"type\":5}}}", AIOS_EINVAL, "#/properties/a/type"},
        {"{\"properties\":{\"a\":{\"$ref\":\"#/$defs/nope\"}}}", AIOS_EINVAL,
         "#/properties/a/$ref"},
        {"{\"$ref\":\"http://example.com/s.json\"}", AIOS_EUNSUPPORTED, "#/$ref"},
        {"{\"type\":\"object\",\"required\":[\"a\"],\"additionalProperties\":false}", AIOS_EINVAL,
         "#/required/0"},
        {"{\"type\":\"string\",\"maxLength\":-1}", AIOS_EINVAL, "#/maxLength"},
        {"{\"items\":{\"minItems\":\"x\"}}", AIOS_EINVAL, "#/items/minItems"},
        {"{\"anyOf\":[]}", AIOS_EINVAL, "#/anyOf"},
        {"{\"enum\":[]}", AIOS_EINVAL, "#"},
        {"{\"type\":\"integer\",\"enum\":[\"a\"]}", AIOS_EINVAL, "#"},
        {"[1]", AIOS_EINVAL, "#"},
        {"{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}", AIOS_EINVAL, "#"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *s = json_loads(cases[i].schema, JSON_DECODE_ANY, NULL);
        CHECK(s);
        struct aios_err err = {0};
        aios_json_guide *g = NULL;
        int rc = aios_json_guide_create(s, &g, &err);
        CHECK_MSG(rc == cases[i].code, "%s: rc %d (%s)", cases[i].schema, rc, err.msg);
        CHECK_MSG(strncmp(err.msg, cases[i].path, strlen(cases[i].path)) == 0,
                  "%s: message \"%s\" should start with %s", cases[i].schema, err.msg,
                  cases[i].path);
        CHECK(g == NULL);
        aios_json_guide_free(g);
        json_decref(s);
    }
    /* ignored keywords compile and do not constrain */
    aios_json_guide *g =
        mk("{\"type\":\"string\",\"pattern\":\"^(?=x)[0-9]+$\",\"format\":\"date\"}");
    CHECK(g);
    if (g)
        ACCEPTS(g, "\"abc\"");
    aios_json_guide_free(g);
}

/* ---- patterns ------------------------------------------------------------ */

/* JSON text of the string s (UTF-8), escaping by chance: \\uXXXX (with
 * surrogate pairs) for some characters, the short forms where they exist. */
static void json_quote(struct aios_rng *rng, const char *s, struct aios_buf *out)
{
    aios_buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp = *p;
        int n = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (n > 1) {
            cp &= 0x3F >> (n - 1);
            for (int i = 1; i < n; i++)
                cp = cp << 6 | (p[i] & 0x3F);
        }
        bool esc = cp < 0x20 || cp == '"' || cp == '\\' || aios_rng_next(rng) % 4 == 0;
        if (!esc) {
            aios_buf_append(out, p, (size_t)n);
        } else if (cp == '"' || cp == '\\') {
            aios_buf_putc(out, '\\');
            aios_buf_putc(out, (char)cp);
        } else if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            aios_buf_printf(out, "\\u%04x\\u%04X", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
        } else {
            aios_buf_printf(out, "\\u%04x", cp);
        }
        p += n;
    }
    aios_buf_putc(out, '"');
}

/* The guide and PCRE2 (ECMA-like options) agree on random strings. */
static void test_patterns(void)
{
    static const struct {
        const char *pattern, *alphabet[12], *seeds[3];
    } cases[] = {
        {"^(\\d{1,3}\\.){3}\\d{1,3}$",
         {"1", "0", "9", "25", ".", "a", "10."},
         {"10.0.0.1", "192.168.1.254", "1.2.3.4"}},
        {"^[a-z][a-z0-9_-]{2,7}$", {"a", "z", "0", "_", "-", "A", "q"}, {"db-01", "web_7", "abc"}},
        {"abc", {"a", "b", "c", "x", "\xc3\xa9"}, {"xxabcxx", "abc", "aabc"}},
        {"^(foo|ba+r)?x*$", {"f", "o", "b", "a", "r", "x"}, {"foox", "baaarxx", ""}},
        {"^[^a-c]+\\d?$",
         {"a", "d", "1", " ", "\xe4\xb8\xad", "\xf0\x9f\x98\x80"},
         {"dd1", "\xe4\xb8\xad", "zz"}},
        {"^\\w+@\\w+\\.(com|org)$",
         {"a", "@", ".", "com", "org", "_", "-"},
         {"ops@corp.com", "a@b.org", "x_1@y.com"}},
        {"^\xc3\xa9+\xe4\xb8\xad?[\xf0\x9f\x98\x80-\xf0\x9f\x98\x8f]$",
         {"\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x90", "e"},
         {"\xc3\xa9\xf0\x9f\x98\x80", "\xc3\xa9\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x85",
          "\xc3\xa9\xf0\x9f\x98\x8f"}},
        {"^(?:(?:[0-9a-f]{2}:){2}[0-9a-f]{2}|x{2,})$",
         {"a", "f", "0", ":", "g", "x"},
         {"aa:bb:0f", "xx", "xxxxx"}},
    };
    struct aios_rng rng;
    aios_rng_seed(&rng, 99);
    struct aios_buf text;
    aios_buf_init(&text, 0);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        json_t *schema = json_pack("{s:s,s:s}", "type", "string", "pattern", cases[ci].pattern);
        struct aios_err err = {0};
        aios_json_guide *g = NULL;
        CHECK(aios_json_guide_create(schema, &g, &err) == AIOS_OK);
        json_decref(schema);
        int errc;
        PCRE2_SIZE erroff;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)cases[ci].pattern, PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &errc, &erroff, NULL);
        CHECK(re != NULL);
        if (!g || !re) {
            aios_json_guide_free(g);
            pcre2_code_free(re);
            continue;
        }
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        size_t na = 0;
        while (na < 12 && cases[ci].alphabet[na])
            na++;
        int matches = 0, total = 2000;
        for (int i = 0; i < total; i++) {
            char s[128] = {0};
            if (i % 3 == 0) { /* a seed, perhaps with one more piece */
                snprintf(s, sizeof s, "%s", cases[ci].seeds[(size_t)i % 9 / 3]);
                if (i % 2)
                    strncat(s, cases[ci].alphabet[aios_rng_next(&rng) % na],
                            sizeof s - strlen(s) - 1);
            } else {
                int len = (int)(aios_rng_next(&rng) % 10);
                for (int k = 0; k < len; k++)
                    strncat(s, cases[ci].alphabet[aios_rng_next(&rng) % na],
                            sizeof s - strlen(s) - 1);
            }
            aios_buf_reset(&text);
            json_quote(&rng, s, &text);
            bool guide = first_reject(g, text.data, text.len) < 0 && aios_json_guide_complete(g);
            bool pcre = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
            matches += pcre;
            CHECK_MSG(guide == pcre, "pattern %s, text %s: guide %d, PCRE2 %d", cases[ci].pattern,
                      text.data, guide, pcre);
        }
        /* both verdicts must occur, or the comparison proves little */
        CHECK_MSG(matches > 50 && matches < total - 50, "pattern %s: %d of %d match",
                  cases[ci].pattern, matches, total);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        aios_json_guide_free(g);
    }
    aios_buf_free(&text);

    /* inside an object, and the liveness of a key's value */
    aios_json_guide *g = mk("{\"type\":\"object\",\"properties\":{\"ip\":{\"type\":\"string\","
                            "\"pattern\":\"^\\\\d+$\"}},\"required\":[\"ip\"]}");
    CHECK(g);
    if (g) {
        ACCEPTS(g, "{\"ip\":\"42\"}");
        REJECTS_AT(g, "{\"ip\":\"\"}", 7);
        REJECTS_AT(g, "{\"ip\":\"4a", 8);
        REJECTS_AT(g, "{\"ip\":\"\\n", 8); /* \\u0031 could still be a digit */
    }
    aios_json_guide_free(g);
    /* deep group nesting is refused by the parser, not by the stack */
    {
        char deep[20001];
        memset(deep, '(', 10000);
        memset(deep + 10000, ')', 10000);
        deep[20000] = 0;
        json_t *sch = json_pack("{s:s,s:s}", "type", "string", "pattern", deep);
        struct aios_err err = {0};
        aios_json_guide *dg = NULL;
        CHECK(aios_json_guide_create(sch, &dg, &err) == AIOS_OK);
        if (dg)
            ACCEPTS(dg, "\"anything\"");
        aios_json_guide_free(dg);
        json_decref(sch);
    }
    /* outside the subset: ignored */
    g = mk("{\"type\":\"string\",\"pattern\":\"^(a)\\\\1$\"}");
    CHECK(g);
    if (g)
        ACCEPTS(g, "\"zz\"");
    aios_json_guide_free(g);
}

/* ---- property test ------------------------------------------------------ */

struct gen {
    int64_t lo, hi; /* bounds for the next integer when lo <= hi */
    struct aios_rng rng;
    const json_t *root;
    struct aios_buf out;
};

static uint32_t rnd(struct gen *G, uint32_t n)
{
    return n ? (uint32_t)(aios_rng_next(&G->rng) % n) : 0;
}

static void gws(struct gen *G)
{
    static const char w[] = " \n\t\r";
    uint32_t k = rnd(G, 5);
    for (uint32_t i = 0; i < k && i < 3; i++)
        aios_buf_putc(&G->out, w[rnd(G, 4)]);
}

static const json_t *deref(struct gen *G, const json_t *s)
{
    const json_t *r;
    while (json_is_object(s) && (r = json_object_get(s, "$ref"))) {
        const char *p = json_string_value(r);
        if (strcmp(p, "#") == 0) {
            s = G->root;
        } else {
            const char *name = strrchr(p, '/') + 1;
            const json_t *defs = json_object_get(G->root, "$defs");
            if (!defs)
                defs = json_object_get(G->root, "definitions");
            s = json_object_get(defs, name);
        }
    }
    return s;
}

static void gen_string(struct gen *G, uint32_t minl, uint32_t maxl)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "7",
                                         "\\n",
                                         "\\\"",
                                         "\\\\",
                                         "\\u00e9",
                                         "\\ud83d\\ude00",
                                         "\xc3\xa9",
                                         "\xe4\xb8\xad",
                                         "\xf0\x9f\x98\x80",
                                         "/",
                                         "\\/",
                                         "\\t"};
    uint32_t hi = maxl < minl + 8 ? maxl : minl + 8;
    uint32_t n = minl + rnd(G, hi - minl + 1);
    aios_buf_putc(&G->out, '"');
    for (uint32_t i = 0; i < n; i++)
        aios_buf_puts(&G->out, pieces[rnd(G, sizeof pieces / sizeof *pieces)]);
    aios_buf_putc(&G->out, '"');
}

static void gen_number(struct gen *G, bool integer)
{
    int64_t v = (int64_t)rnd(G, 2001) - 1000;
    if (G->lo <= G->hi && integer) {
        v = G->lo + (int64_t)rnd(G, (uint32_t)(G->hi - G->lo + 1));
        G->lo = 1; /* bounds apply to one number */
        G->hi = 0;
    }
    if (integer || rnd(G, 2))
        aios_buf_printf(&G->out, "%lld", (long long)v);
    else if (rnd(G, 2))
        aios_buf_printf(&G->out, "%lld.%u", (long long)v, rnd(G, 1000));
    else
        aios_buf_printf(&G->out, "%lld.5e%s%u", (long long)v, rnd(G, 2) ? "-" : "+", rnd(G, 20));
}

static void gen(struct gen *G, const json_t *s, int depth);

static void gen_any(struct gen *G, int depth)
{
    uint32_t k = rnd(G, depth < 3 ? 7 : 5);
    switch (k) {
    case 0:
        gen_string(G, 0, 5);
        break;
    case 1:
        gen_number(G, false);
        break;
    case 2:
        aios_buf_puts(&G->out, rnd(G, 2) ? "true" : "false");
        break;
    case 3:
        aios_buf_puts(&G->out, "null");
        break;
    case 4:
        gen_number(G, true);
        break;
    case 5: {
        uint32_t n = rnd(G, 4);
        aios_buf_putc(&G->out, '[');
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                aios_buf_putc(&G->out, ',');
            gws(G);
            gen_any(G, depth + 1);
            gws(G);
        }
        aios_buf_putc(&G->out, ']');
        break;
    }
    default: {
        uint32_t n = rnd(G, 4);
        aios_buf_putc(&G->out, '{');
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                aios_buf_putc(&G->out, ',');
            gws(G);
            aios_buf_printf(&G->out, "\"k%u\"", i); /* distinct keys */
            gws(G);
            aios_buf_putc(&G->out, ':');
            gws(G);
            gen_any(G, depth + 1);
            gws(G);
        }
        aios_buf_putc(&G->out, '}');
    }
    }
}

static uint32_t count_of(const json_t *s, const char *k, uint32_t def)
{
    const json_t *v = json_object_get(s, k);
    return v ? (uint32_t)json_integer_value(v) : def;
}

static void gen_object(struct gen *G, const json_t *s, int depth)
{
    const json_t *props = json_object_get(s, "properties");
    const json_t *req = json_object_get(s, "required");
    const json_t *add = json_object_get(s, "additionalProperties");
    const char *keys[32];
    size_t nk = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        bool r = false;
        for (size_t i = 0; i < json_array_size(req); i++)
            r = r || strcmp(json_string_value(json_array_get(req, i)), k) == 0;
        if ((r || rnd(G, 2)) && nk < 32 && !(depth > 2 && !r))
            keys[nk++] = k;
    }
    bool extra = !json_is_false(add) && rnd(G, 3) == 0 && depth < 3;
    for (size_t i = nk; i > 1; i--) { /* shuffle */
        size_t j = rnd(G, (uint32_t)i);
        const char *t = keys[i - 1];
        keys[i - 1] = keys[j];
        keys[j] = t;
    }
    aios_buf_putc(&G->out, '{');
    for (size_t i = 0; i < nk + extra; i++) {
        if (i)
            aios_buf_putc(&G->out, ',');
        gws(G);
        aios_buf_printf(&G->out, "\"%s\"", i < nk ? keys[i] : "zz_extra");
        gws(G);
        aios_buf_putc(&G->out, ':');
        gws(G);
        if (i < nk)
            gen(G, json_object_get(props, keys[i]), depth + 1);
        else if (json_is_object(add))
            gen(G, add, depth + 1);
        else
            gen_any(G, depth + 1);
        gws(G);
    }
    aios_buf_putc(&G->out, '}');
}

static void gen(struct gen *G, const json_t *s, int depth)
{
    s = deref(G, s);
    if (!s || json_is_true(s)) {
        gen_any(G, depth);
        return;
    }
    const json_t *alts = json_object_get(s, "anyOf");
    if (!alts)
        alts = json_object_get(s, "oneOf");
    if (alts) {
        gen(G, json_array_get(alts, rnd(G, (uint32_t)json_array_size(alts))), depth);
        return;
    }
    const json_t *e = json_object_get(s, "enum");
    if (e) {
        char *t = json_dumps(json_array_get(e, rnd(G, (uint32_t)json_array_size(e))),
                             JSON_COMPACT | JSON_ENCODE_ANY);
        aios_buf_puts(&G->out, t);
        free(t);
        return;
    }
    const json_t *c = json_object_get(s, "const");
    if (c) {
        char *t = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
        aios_buf_puts(&G->out, t);
        free(t);
        return;
    }
    const json_t *type = json_object_get(s, "type");
    const char *tn = json_string_value(type);
    if (json_is_array(type))
        tn = json_string_value(json_array_get(type, rnd(G, (uint32_t)json_array_size(type))));
    if (!tn) {
        gen_any(G, depth);
    } else if (strcmp(tn, "object") == 0) {
        gen_object(G, s, depth);
    } else if (strcmp(tn, "array") == 0) {
        uint32_t lo = count_of(s, "minItems", 0), hi = count_of(s, "maxItems", lo + 3);
        if (hi > lo + 3)
            hi = lo + 3;
        if (depth > 2)
            hi = lo;
        uint32_t n = lo + rnd(G, hi - lo + 1);
        aios_buf_putc(&G->out, '[');
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                aios_buf_putc(&G->out, ',');
            gws(G);
            gen(G, json_object_get(s, "items"), depth + 1);
            gws(G);
        }
        aios_buf_putc(&G->out, ']');
    } else if (strcmp(tn, "string") == 0) {
        gen_string(G, count_of(s, "minLength", 0), count_of(s, "maxLength", 20));
    } else if (strcmp(tn, "integer") == 0) {
        const json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
        if (mn && mx) {
            G->lo = json_integer_value(mn);
            G->hi = json_integer_value(mx);
        }
        gen_number(G, true);
    } else if (strcmp(tn, "number") == 0) {
        gen_number(G, false);
    } else if (strcmp(tn, "boolean") == 0) {
        aios_buf_puts(&G->out, rnd(G, 2) ? "true" : "false");
    } else {
        aios_buf_puts(&G->out, "null");
    }
}

/* Independent check for the test schemas' subset (types always stated).
 * Duplicate keys pass (jansson keeps the last), as the guide does not
 * remember additional keys; it refuses duplicates of declared ones, which is
 * only stricter. */
static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static bool check(struct gen *G, const json_t *s, const json_t *v);

static bool check_type(const char *t, const json_t *v)
{
    if (strcmp(t, "object") == 0)
        return json_is_object(v);
    if (strcmp(t, "array") == 0)
        return json_is_array(v);
    if (strcmp(t, "string") == 0)
        return json_is_string(v);
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(t, "number") == 0)
        return json_is_number(v);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(v);
    return json_is_null(v);
}

static bool check(struct gen *G, const json_t *s, const json_t *v)
{
    s = deref(G, s);
    if (!s || json_is_true(s))
        return true;
    const json_t *alts = json_object_get(s, "anyOf");
    if (!alts)
        alts = json_object_get(s, "oneOf");
    if (alts) {
        for (size_t i = 0; i < json_array_size(alts); i++)
            if (check(G, json_array_get(alts, i), v))
                return true;
        return false;
    }
    const json_t *e = json_object_get(s, "enum");
    if (e) {
        for (size_t i = 0; i < json_array_size(e); i++)
            if (json_equal(json_array_get(e, i), (json_t *)v))
                return true;
        return false;
    }
    const json_t *c = json_object_get(s, "const");
    if (c)
        return json_equal((json_t *)c, (json_t *)v);
    const json_t *type = json_object_get(s, "type");
    if (json_is_string(type) && !check_type(json_string_value(type), v))
        return false;
    if (json_is_array(type)) {
        bool ok = false;
        for (size_t i = 0; i < json_array_size(type); i++)
            ok = ok || check_type(json_string_value(json_array_get(type, i)), v);
        if (!ok)
            return false;
    }
    if (json_is_object(v)) {
        const json_t *props = json_object_get(s, "properties");
        const json_t *add = json_object_get(s, "additionalProperties");
        const json_t *req = json_object_get(s, "required");
        for (size_t i = 0; i < json_array_size(req); i++)
            if (!json_object_get(v, json_string_value(json_array_get(req, i))))
                return false;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            const json_t *ps = props ? json_object_get(props, k) : NULL;
            if (ps ? !check(G, ps, x) : (json_is_false(add) || (add && !check(G, add, x))))
                return false;
        }
    }
    if (json_is_array(v)) {
        if (json_array_size(v) < count_of(s, "minItems", 0) ||
            json_array_size(v) > count_of(s, "maxItems", UINT32_MAX))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!check(G, json_object_get(s, "items"), json_array_get(v, i)))
                return false;
    }
    if (json_is_number(v)) {
        const json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
        if ((mn && json_number_value(v) < json_number_value(mn)) ||
            (mx && json_number_value(v) > json_number_value(mx)))
            return false;
    }
    if (json_is_string(v)) {
        size_t n = utf8_len(json_string_value(v), json_string_length(v));
        if (n < count_of(s, "minLength", 0) || n > count_of(s, "maxLength", UINT32_MAX))
            return false;
    }
    return true;
}

static bool oracle(struct gen *G, const char *text, size_t n)
{
    json_t *v = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return false;
    bool ok = G->root ? check(G, G->root, v) : json_is_object(v);
    json_decref(v);
    return ok;
}

static const char *prop_schemas[] = {
    NULL, /* json_object mode */
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":12},"
    "\"age\":{\"type\":\"integer\"},\"score\":{\"type\":\"number\"},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":4},"
    "\"active\":{\"type\":\"boolean\"},\"kind\":{\"enum\":[\"a\",\"bb\",\"ccc\",7,null]},"
    "\"extra\":{\"type\":[\"string\",\"null\"]},"
    "\"port\":{\"type\":\"integer\",\"minimum\":-20,\"maximum\":700},"
    "\"pos\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"},"
    "\"y\":{\"type\":\"number\"}},\"required\":[\"x\"],\"additionalProperties\":false}},"
    "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}",
    "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"integer\"},"
    "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":3}},"
    "\"required\":[\"value\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}",
    "{\"type\":\"array\",\"minItems\":1,\"items\":{\"anyOf\":[{\"type\":\"string\"},"
    "{\"type\":\"integer\"},{\"type\":\"object\",\"additionalProperties\":{\"type\":"
    "\"boolean\"}}]}}",
    "{\"anyOf\":["
    "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_weather\"},"
    "\"arguments\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
    "\"unit\":{\"enum\":[\"c\",\"f\"]}},\"required\":[\"city\"],\"additionalProperties\":false}},"
    "\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false},"
    "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_time\"},"
    "\"arguments\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
    "\"zone\":{\"type\":\"integer\"}},\"required\":[\"zone\"],\"additionalProperties\":false}},"
    "\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}]}",
};

static void test_property(void)
{
    const int docs_per_schema = 300;
    for (size_t si = 0; si < sizeof prop_schemas / sizeof *prop_schemas; si++) {
        json_t *schema = prop_schemas[si] ? json_loads(prop_schemas[si], 0, NULL) : NULL;
        CHECK(!prop_schemas[si] || schema);
        aios_json_guide *g = mk(prop_schemas[si]);
        CHECK(g);
        if (!g) {
            json_decref(schema);
            continue;
        }
        struct gen G = {.root = schema, .lo = 1, .hi = 0};
        aios_rng_seed(&G.rng, 1234 + si);
        aios_buf_init(&G.out, 1 << 20);
        int accepted = 0, rejected_mutants = 0, valid_mutants = 0;
        for (int d = 0; d < docs_per_schema; d++) {
            aios_buf_reset(&G.out);
            gws(&G);
            if (schema) {
                gen(&G, schema, 0);
            } else { /* json_object mode: any object */
                aios_buf_puts(&G.out, "{\"k\":");
                gen_any(&G, 1);
                aios_buf_puts(&G.out, ",\"j\":");
                gen_any(&G, 1);
                aios_buf_putc(&G.out, '}');
            }
            gws(&G);
            const char *text = G.out.data;
            size_t n = G.out.len;
            CHECK_MSG(oracle(&G, text, n), "generator produced an invalid document: %s", text);
            /* random piece splits */
            aios_json_guide_reset(g);
            bool ok = true;
            for (size_t i = 0; i < n && ok;) {
                size_t k = 1 + rnd(&G, 6);
                if (k > n - i)
                    k = n - i;
                ok = aios_json_guide_accept(g, text + i, k) &&
                     aios_json_guide_feed(g, text + i, k) == AIOS_OK;
                i += k;
            }
            ok = ok && aios_json_guide_complete(g);
            accepted += ok;
            CHECK_MSG(ok, "schema %zu: valid document refused: %s", si, text);
            /* one-byte corruptions */
            for (int m = 0; m < 4; m++) {
                static const char alphabet[] = "{}[]\",:01-.eE\\ utfnaxz\x80\xc3";
                char mut[4096];
                if (n + 2 > sizeof mut)
                    break;
                memcpy(mut, text, n);
                size_t mn = n, at = rnd(&G, (uint32_t)n);
                char ch = alphabet[rnd(&G, sizeof alphabet - 1)];
                switch (rnd(&G, 3)) {
                case 0:
                    mut[at] = ch;
                    break;
                case 1:
                    memmove(mut + at, mut + at + 1, n - at - 1);
                    mn--;
                    break;
                default:
                    memmove(mut + at + 1, mut + at, n - at);
                    mut[at] = ch;
                    mn++;
                }
                bool taken = first_reject(g, mut, mn) < 0 && aios_json_guide_complete(g);
                if (!taken) {
                    rejected_mutants++;
                    continue;
                }
                valid_mutants++;
                CHECK_MSG(oracle(&G, mut, mn), "schema %zu: invalid text accepted: %.*s", si,
                          (int)mn, mut);
            }
        }
        CHECK_EQ_INT(accepted, docs_per_schema);
        /* most corruptions break a document; if none were refused the test
         * would prove nothing */
        CHECK_MSG(rejected_mutants > valid_mutants, "schema %zu: %d refused, %d kept", si,
                  rejected_mutants, valid_mutants);
        fprintf(stderr, "schema %zu: %d documents, %d corruptions refused, %d still valid\n", si,
                accepted, rejected_mutants, valid_mutants);
        aios_buf_free(&G.out);
        aios_json_guide_free(g);
        json_decref(schema);
    }
}

/* An empty property name (found by fuzz_json_guide: the name's buffer was
 * never allocated) compiles and is the only key the guide lets through. */
static void test_empty_name(void)
{
    aios_json_guide *g = mk("{\"type\":\"object\",\"properties\":{\"\":{\"type\":"
                            "\"string\"}},\"required\":[\"\"],\"additionalProperties\":false}");
    CHECK(g);
    if (!g)
        return;
    CHECK(!aios_json_guide_accept(g, "{\"a\"", 4));
    CHECK(aios_json_guide_feed(g, "{\"\":\"x\"}", 8) == AIOS_OK);
    CHECK(aios_json_guide_complete(g));
    aios_json_guide_free(g);
}

int main(void)
{
    TEST_RUN(test_any_object);
    TEST_RUN(test_next_bytes);
    TEST_RUN(test_strings);
    TEST_RUN(test_numbers);
    TEST_RUN(test_objects);
    TEST_RUN(test_arrays);
    TEST_RUN(test_enum_const);
    TEST_RUN(test_unions);
    TEST_RUN(test_many_alternatives);
    TEST_RUN(test_refs);
    TEST_RUN(test_limits);
    TEST_RUN(test_schema_errors);
    TEST_RUN(test_patterns);
    TEST_RUN(test_property);
    TEST_RUN(test_empty_name);
    TEST_EXIT();
}
