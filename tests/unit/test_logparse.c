/* The ops log parser on crafted logs: each built-in mask kind, CRLF and
 * empty input, long lines and the cut rules, template merging, the
 * similarity threshold, the cluster and child limits, user masks, log
 * formats, grouping accuracy, and allocation failures. */
#include "ops/ops.h"
#include "test.h"

static aios_ops_drain *mk(double st, int depth)
{
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.sim_threshold = st;
    o.depth = depth;
    aios_ops_drain *d = NULL;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    return d;
}

static const char *masked(aios_ops_drain *d, const char *s)
{
    static char out[8192];
    aios_ops_drain_mask(d, s, strlen(s), out, sizeof out);
    return out;
}

static int add(aios_ops_drain *d, const char *s)
{
    return aios_ops_drain_add(d, s, strlen(s));
}

static void test_mask_kinds(void)
{
    aios_ops_drain *d = mk(0.5, 4);
    /* numbers: integers, signed, decimals, units; not inside words */
    CHECK_EQ_STR(masked(d, "took 250 ms, 3.5s or 64KB; delta -17 +4"),
                 "took <*> ms, <*> or <*>; delta <*> <*>");
    CHECK_EQ_STR(masked(d, "ext3 sha256 2nd x86_64"), "ext3 sha256 2nd x86_64");
    /* IPv4, ip:port, leading slash, and a dotted quad that is not one */
    CHECK_EQ_STR(masked(d, "from 10.0.0.1 to /10.2.3.4:8080 via 1.2.3.4.5"),
                 "from <*> to <*>:<*> via <*>");
    /* hex: 0x, long runs with letters and digits; plain words stay */
    CHECK_EQ_STR(masked(d, "addr 0xdeadBEEF hash 3f2a9c01e7 word deadbeef"),
                 "addr <*> hash <*> word deadbeef");
    /* UUID and MAC */
    CHECK_EQ_STR(masked(d, "id=123e4567-e89b-12d3-a456-426614174000 mac 00:1a:2B:3c:4d:5e"),
                 "id=<*> mac <*>");
    /* paths (two segments at least; the ':' of path:line kept) and URLs */
    CHECK_EQ_STR(masked(d, "open /var/log/syslog:12 and (/etc/hosts) not /tmp"),
                 "open <*>:<*> and (<*>) not /tmp");
    CHECK_EQ_STR(masked(d, "GET https://example.com/a?b=1, done"), "GET <*>, done");
    /* dates and times, one token or several */
    CHECK_EQ_STR(masked(d, "at Sun Jul 10 03:55:15 2005 ok"), "at <*> ok");
    CHECK_EQ_STR(masked(d, "at Jun 9 10:00:01: x"), "at <*>: x");
    CHECK_EQ_STR(masked(d, "[2024-01-02 10:11:12,345] start"), "[<*>] start");
    CHECK_EQ_STR(masked(d, "t=2024-01-02T10:11:12.5+02:00 17/06/09 20:10:40"), "t=<*> <*>");
    CHECK_EQ_STR(masked(d, "elapsed 10:11:12"), "elapsed <*>:<*>:<*>");
    /* identifiers with numbers, versions */
    CHECK_EQ_STR(masked(d, "blk_-1234567 job_1445144423722_0020 v1.12 v2"), "<*> <*> <*> v2");
    /* whitespace runs and tabs collapse to one space */
    CHECK_EQ_STR(masked(d, "  a \t b  "), "a b");
    aios_ops_drain_destroy(d);

    /* Without the built-in masks the text is only split. */
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.builtin_masks = false;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    CHECK_EQ_STR(masked(d, "from 10.0.0.1 took 5 ms"), "from 10.0.0.1 took 5 ms");
    aios_ops_drain_destroy(d);
}

static void test_merge_and_ids(void)
{
    aios_ops_drain *d = mk(0.5, 4);
    int a = add(d, "open file alpha for read");
    int b = add(d, "open file beta for read");
    int c = add(d, "close file 12 now");
    int e = add(d, "open file gamma for read");
    CHECK_EQ_INT(a, 0);
    CHECK_EQ_INT(b, a);
    CHECK_EQ_INT(e, a);
    CHECK_EQ_INT(c, 1);
    CHECK_EQ_STR(aios_ops_drain_template(d, a), "open file <*> for read");
    CHECK_EQ_STR(aios_ops_drain_template(d, c), "close file <*> now");
    CHECK_EQ_INT(aios_ops_drain_size(d, a), 3);
    CHECK_EQ_INT(aios_ops_drain_count(d), 2);
    CHECK(aios_ops_drain_template(d, 2) == NULL && aios_ops_drain_template(d, -1) == NULL);
    /* A different token count never joins. */
    CHECK(add(d, "open file alpha for read now") != a);
    aios_ops_drain_destroy(d);
}

static void test_crlf_and_empty(void)
{
    aios_ops_drain *d = mk(0.5, 4);
    int a = add(d, "service started\r\n");
    CHECK_EQ_INT(add(d, "service started\n"), a);
    CHECK_EQ_INT(add(d, "  service   started  "), a);
    CHECK_EQ_STR(aios_ops_drain_template(d, a), "service started");
    int e = add(d, "");
    CHECK(e >= 0 && e != a);
    CHECK_EQ_INT(add(d, "\r\n"), e);
    CHECK_EQ_INT(add(d, " \t "), e);
    CHECK_EQ_STR(aios_ops_drain_template(d, e), "");
    CHECK_EQ_INT(aios_ops_drain_size(d, e), 3);
    /* A CR inside a message is whitespace, not text. */
    CHECK_EQ_INT(add(d, "service\rstarted"), a);
    aios_ops_drain_destroy(d);
}

static void test_threshold(void)
{
    /* "user X logged in from web" vs "user Y logged out from app":
     * tokens equal at user, logged, from = 3 of 6 = 0.5. */
    const char *m1 = "user alice logged in from web";
    const char *m2 = "user bob logged out from app";
    aios_ops_drain *d = mk(0.5, 3);
    CHECK_EQ_INT(add(d, m1), add(d, m2));
    aios_ops_drain_destroy(d);
    d = mk(0.51, 3);
    CHECK(add(d, m1) != add(d, m2));
    aios_ops_drain_destroy(d);
    /* Masked positions are not agreement: "<*> <*> done" vs "<*> <*> fail"
     * share nothing, so even st 0.1 keeps them apart... */
    d = mk(0.1, 3);
    CHECK(add(d, "1 2 done") != add(d, "3 4 fail"));
    /* ...but an exact masked match always joins, whatever st. */
    aios_ops_drain_destroy(d);
    d = mk(1.0, 4);
    CHECK_EQ_INT(add(d, "5 6 7"), add(d, "8 9 10"));
    aios_ops_drain_destroy(d);
    /* key=value tokens with different keys never merge. */
    d = mk(0.3, 3);
    CHECK(add(d, "session opened by (uid=0)") != add(d, "session opened by LOGIN(uid=0)"));
    aios_ops_drain_destroy(d);
    /* Depth: the leading tokens route, so a different first token at depth
     * 4 never meets the other message even when similar enough. */
    d = mk(0.5, 4);
    CHECK(add(d, "cupsd startup succeeded") != add(d, "klogd startup succeeded"));
    aios_ops_drain_destroy(d);
}

static void test_long_lines(void)
{
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.max_tokens = 8;
    o.max_line = 64;
    aios_ops_drain *d = NULL;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    /* More than max_tokens tokens: the first 7 and a "<*>" for the rest. */
    int a = add(d, "a b c d e f g h i j");
    CHECK_EQ_STR(aios_ops_drain_template(d, a), "a b c d e f g <*>");
    CHECK_EQ_INT(add(d, "a b c d e f g x y z w"), a);
    /* Exactly max_tokens tokens stay whole. */
    int b = add(d, "p q r s t u v w");
    CHECK_EQ_STR(aios_ops_drain_template(d, b), "p q r s t u v w");
    /* Past max_line bytes the message is cut there. */
    char line[200];
    memset(line, 'z', sizeof line);
    line[sizeof line - 1] = 0;
    int c = add(d, line);
    CHECK_EQ_INT(strlen(aios_ops_drain_template(d, c)), 64);
    /* The cut never splits a UTF-8 character: "a" and 40 x "\xc3\xa9" (81
     * bytes) cut at 64 would end inside a character, so 63 bytes remain. */
    char u[128] = "";
    strcat(u, "a");
    for (int i = 0; i < 40; i++)
        strcat(u, "\xc3\xa9");
    int e = add(d, u);
    const char *t = aios_ops_drain_template(d, e);
    CHECK_EQ_INT(strlen(t), 63); /* "a" + 31 characters of 2 bytes */
    CHECK(((unsigned char)t[62] & 0xC0) == 0x80 && ((unsigned char)t[61] & 0xC0) == 0xC0);
    aios_ops_drain_destroy(d);

    /* A megabyte line with the defaults: no crash, bounded template. */
    d = mk(0.5, 4);
    size_t n = (size_t)1 << 20;
    char *big = aios_malloc(n + 1);
    CHECK(big != NULL);
    if (big) {
        for (size_t i = 0; i < n; i++)
            big[i] = (i % 7 == 6) ? ' ' : (char)('a' + i % 5);
        big[n] = 0;
        int id = aios_ops_drain_add(d, big, n);
        CHECK(id >= 0);
        CHECK(strlen(aios_ops_drain_template(d, id)) <= 4096);
        aios_free(big);
    }
    aios_ops_drain_destroy(d);
}

static void test_limits(void)
{
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.max_clusters = 3;
    o.depth = 3;
    aios_ops_drain *d = NULL;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    CHECK_EQ_INT(add(d, "alpha one"), 0);
    CHECK_EQ_INT(add(d, "beta two"), 1);
    CHECK_EQ_INT(add(d, "gamma three four"), 2);
    /* Full: a message whose leaf has a cluster joins it whatever the
     * similarity; one whose leaf is empty goes to the overflow cluster. */
    CHECK_EQ_INT(add(d, "alpha zzz"), 0);
    CHECK_EQ_STR(aios_ops_drain_template(d, 0), "alpha <*>");
    int ov = add(d, "delta x y z");
    CHECK_EQ_INT(ov, 3);
    CHECK_EQ_STR(aios_ops_drain_template(d, ov), "<*>");
    CHECK_EQ_INT(add(d, "epsilon"), ov);
    CHECK_EQ_INT(add(d, ""), ov); /* the empty cluster would be a 5th */
    CHECK_EQ_INT(aios_ops_drain_count(d), 4);
    aios_ops_drain_destroy(d);

    /* max_children: past it, new first tokens share the "<*>" child, where
     * similarity still separates them. */
    aios_ops_drain_opts_default(&o);
    o.max_children = 3;
    o.depth = 3;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    int ids[6];
    const char *first[] = {"aa", "bb", "cc", "dd", "ee", "ff"};
    for (int i = 0; i < 6; i++) {
        char m[64];
        snprintf(m, sizeof m, "%s done here", first[i]);
        ids[i] = add(d, m);
    }
    /* aa and bb got children; the 3rd slot became "<*>", holding cc..ff,
     * which merge there (2 of 3 tokens agree). */
    CHECK(ids[0] != ids[1]);
    CHECK(ids[2] == ids[3] && ids[3] == ids[5]);
    CHECK_EQ_STR(aios_ops_drain_template(d, ids[2]), "<*> done here");
    aios_ops_drain_destroy(d);

    /* Bad options are refused with a message. */
    struct aios_err err = {0};
    aios_ops_drain_opts_default(&o);
    o.sim_threshold = 1.5;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "threshold") != NULL);
    aios_ops_drain_opts_default(&o);
    o.depth = 2;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, &err), AIOS_EINVAL);
    aios_ops_drain_opts_default(&o);
    o.max_tokens = 1;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, &err), AIOS_EINVAL);
}

static void test_user_masks(void)
{
    const char *masks[] = {"user [a-z]+", "core\\.\\d+"};
    struct aios_ops_drain_opts o;
    aios_ops_drain_opts_default(&o);
    o.masks = masks;
    o.nmasks = 2;
    aios_ops_drain *d = NULL;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    /* The built-in masks run first: core.12 is already core.<*>, which the
     * second regex no longer matches. */
    CHECK_EQ_STR(masked(d, "login user bob at core.12"), "login <*> at core.<*>");
    aios_ops_drain_destroy(d);

    /* A regex that can match empty must not loop. */
    const char *empty[] = {"x*"};
    o.masks = empty;
    o.nmasks = 1;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, NULL), AIOS_OK);
    CHECK_EQ_STR(masked(d, "axxb c"), "a<*>b c");
    aios_ops_drain_destroy(d);

    struct aios_err err = {0};
    const char *bad[] = {"(unclosed"};
    o.masks = bad;
    CHECK_EQ_INT(aios_ops_drain_create(&o, &d, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "unclosed") != NULL);
}

static void test_logfmt(void)
{
    aios_ops_logfmt *f = NULL;
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_ops_logfmt_compile("\\[<Time>\\] \\[<Level>\\] <Content>", &f, &err),
                 AIOS_OK);
    const char *m;
    size_t ml;
    const char *line = "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\r\n";
    CHECK_EQ_INT(aios_ops_logfmt_content(f, line, strlen(line), &m, &ml), 1);
    CHECK(ml == strlen("workerEnv.init() ok") && memcmp(m, "workerEnv.init() ok", ml) == 0);
    /* No match: the trimmed whole line. */
    line = "  garbage line\r\n";
    CHECK_EQ_INT(aios_ops_logfmt_content(f, line, strlen(line), &m, &ml), 0);
    CHECK(ml == strlen("garbage line") && memcmp(m, "garbage line", ml) == 0);
    aios_ops_logfmt_free(f);

    /* An optional group as in loghub's Linux format; runs of spaces. */
    CHECK_EQ_INT(
        aios_ops_logfmt_compile("<Month> <Date> <Component>(\\[<PID>\\])?: <Content>", &f, &err),
        AIOS_OK);
    line = "Jun  14 sshd[42]: check pass";
    CHECK_EQ_INT(aios_ops_logfmt_content(f, line, strlen(line), &m, &ml), 1);
    CHECK(ml == 10 && memcmp(m, "check pass", 10) == 0);
    line = "Jun 14 kernel: hello";
    CHECK_EQ_INT(aios_ops_logfmt_content(f, line, strlen(line), &m, &ml), 1);
    CHECK(ml == 5 && memcmp(m, "hello", 5) == 0);
    aios_ops_logfmt_free(f);

    CHECK_EQ_INT(aios_ops_logfmt_compile("<Date> <Level>", &f, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "Content") != NULL);
    CHECK_EQ_INT(aios_ops_logfmt_compile("<Da-te> <Content>", &f, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_ops_logfmt_compile("(<Content>", &f, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_ops_logfmt_compile("", &f, &err), AIOS_EINVAL);
}

static void test_ga(void)
{
    /* truth groups {0,1,2} {3,4} {5}; pred splits the first, merges the others. */
    int truth[] = {7, 7, 7, 9, 9, 4};
    int p1[] = {1, 1, 1, 2, 2, 3};
    int p2[] = {1, 1, 5, 2, 2, 3};
    int p3[] = {1, 1, 1, 2, 2, 2};
    CHECK_NEAR(aios_ops_logeval_ga(truth, p1, 6), 1.0, 1e-12);
    CHECK_NEAR(aios_ops_logeval_ga(truth, p2, 6), 3.0 / 6, 1e-12);
    CHECK_NEAR(aios_ops_logeval_ga(truth, p3, 6), 3.0 / 6, 1e-12);
    /* Lines without truth (-1) leave both sides: 5 lines remain, and the
     * predicted group {3,4} is whole again once line 5 is gone. */
    int t2[] = {7, 7, 7, 9, 9, -1};
    CHECK_NEAR(aios_ops_logeval_ga(t2, p3, 6), 1.0, 1e-12);
    int none[] = {-1, -1};
    CHECK(aios_ops_logeval_ga(none, p1, 2) < 0);
}

static void test_alloc_failure(void)
{
    /* Every allocation of a run failing in turn: each add either succeeds
     * or reports ENOMEM, and nothing leaks or crashes (ASan checks). */
    for (long k = 1; k < 40; k++) {
        aios_ops_drain *d = mk(0.5, 4);
        aios_mem_fail_after(k);
        const char *msgs[] = {"open file a", "open file b", "x 1 y", "x 2 z", "q", "open file c"};
        for (int i = 0; i < 6; i++) {
            int id = add(d, msgs[i]);
            CHECK(id >= 0 || id == AIOS_ENOMEM);
        }
        aios_mem_fail_after(0);
        aios_ops_drain_destroy(d);
    }
}

int main(void)
{
    TEST_RUN(test_mask_kinds);
    TEST_RUN(test_merge_and_ids);
    TEST_RUN(test_crlf_and_empty);
    TEST_RUN(test_threshold);
    TEST_RUN(test_long_lines);
    TEST_RUN(test_limits);
    TEST_RUN(test_user_masks);
    TEST_RUN(test_logfmt);
    TEST_RUN(test_ga);
    TEST_RUN(test_alloc_failure);
    TEST_EXIT();
}
