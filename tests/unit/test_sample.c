/* Sampling chain, RNG, UTF-8 hold-back and stop strings. */
#include "llm/llm.h"
#include "test.h"

static struct aios_sampling plain(float temp)
{
    struct aios_sampling p;
    aios_sampling_defaults(&p);
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0;
    p.seed = 42;
    return p;
}

static void test_greedy(void)
{
    float l[5] = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
    struct aios_sampling p = plain(0);
    aios_sampler *s = aios_sampler_create(&p, 5);
    float prob;
    CHECK_EQ_INT(aios_sampler_sample(s, l, &prob), 1); /* tie between 1 and 3 -> lowest */
    CHECK_NEAR(prob, 1, 0);
    CHECK_EQ_INT(aios_argmax(l, 5), 1);
    aios_sampler_destroy(s);
    CHECK(aios_sampler_create(&p, 0) == NULL);
}

static void count_draws(struct aios_sampling p, const float *l, int n, int draws, int *hits)
{
    aios_sampler *s = aios_sampler_create(&p, n);
    memset(hits, 0, sizeof(int) * (size_t)n);
    for (int i = 0; i < draws; i++)
        hits[aios_sampler_sample(s, l, NULL)]++;
    aios_sampler_destroy(s);
}

static void test_distribution(void)
{
    float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    int hits[4];
    const int N = 20000;
    count_draws(plain(1.0f), l, 4, N, hits);
    /* Binomial sd at p=0.5, N=20000 is 0.0035; 0.02 is over 5 sd, so a
     * correct sampler fails this about once in ten million runs. */
    CHECK_NEAR(hits[0] / (double)N, 0.5, 0.02);
    CHECK_NEAR(hits[1] / (double)N, 0.3, 0.02);
    CHECK_NEAR(hits[2] / (double)N, 0.15, 0.02);
    CHECK_NEAR(hits[3] / (double)N, 0.05, 0.02);

    struct aios_sampling p = plain(1.0f);
    p.top_p = 0.6f; /* 0.5 < 0.6 <= 0.8: tokens 0 and 1 survive */
    count_draws(p, l, 4, 5000, hits);
    CHECK(hits[0] > 0 && hits[1] > 0 && hits[2] == 0 && hits[3] == 0);
    CHECK_NEAR(hits[0] / 5000.0, 0.625, 0.04); /* renormalised 0.5/0.8 */

    p = plain(1.0f);
    p.min_p = 0.4f; /* keep p >= 0.2: tokens 0 and 1 */
    count_draws(p, l, 4, 5000, hits);
    CHECK(hits[2] == 0 && hits[3] == 0 && hits[1] > 0);

    p = plain(1.0f);
    p.top_k = 1;
    count_draws(p, l, 4, 1000, hits);
    CHECK_EQ_INT(hits[0], 1000);

    p = plain(0.01f); /* very low temperature is nearly greedy */
    count_draws(p, l, 4, 1000, hits);
    CHECK_EQ_INT(hits[0], 1000);

    p = plain(100.0f); /* very high temperature is nearly uniform */
    count_draws(p, l, 4, 20000, hits);
    CHECK_NEAR(hits[3] / 20000.0, 0.25, 0.02);

    float bad[3] = {NAN, 1.0f, INFINITY};
    p = plain(1.0f);
    aios_sampler *s = aios_sampler_create(&p, 3);
    int32_t t = aios_sampler_sample(s, bad, NULL);
    CHECK(t >= 0 && t < 3);
    aios_sampler_destroy(s);
}

static void test_seed(void)
{
    float l[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    struct aios_sampling p = plain(1.0f);
    aios_sampler *a = aios_sampler_create(&p, 8), *b = aios_sampler_create(&p, 8);
    p.seed = 43;
    aios_sampler *c = aios_sampler_create(&p, 8);
    int same_ab = 1, same_ac = 1;
    int32_t first[32];
    for (int i = 0; i < 32; i++) {
        int32_t x = aios_sampler_sample(a, l, NULL), y = aios_sampler_sample(b, l, NULL),
                z = aios_sampler_sample(c, l, NULL);
        first[i] = x;
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
    aios_sampler_reset(a); /* reset replays the same draws */
    int replay = 1;
    for (int i = 0; i < 32; i++)
        replay &= aios_sampler_sample(a, l, NULL) == first[i];
    CHECK(replay);
    aios_sampler_destroy(a);
    aios_sampler_destroy(b);
    aios_sampler_destroy(c);
}

static void test_penalties(void)
{
    float l[3] = {2.0f, 1.5f, -1.0f};
    struct aios_sampling p = plain(0);
    p.repeat_penalty = 2.0f;
    aios_sampler *s = aios_sampler_create(&p, 3);
    aios_sampler_accept(s, 0); /* 2.0 / 2 = 1.0 < 1.5 */
    CHECK_EQ_INT(aios_sampler_sample(s, l, NULL), 1);
    aios_sampler_destroy(s);

    p = plain(0);
    p.frequency_penalty = 0.3f;
    s = aios_sampler_create(&p, 3);
    aios_sampler_accept(s, 0);
    CHECK_EQ_INT(aios_sampler_sample(s, l, NULL), 0); /* 2.0 - 0.3 = 1.7 > 1.5 */
    aios_sampler_accept(s, 0);
    CHECK_EQ_INT(aios_sampler_sample(s, l, NULL), 1); /* 2.0 - 0.6 = 1.4 < 1.5 */
    aios_sampler_destroy(s);

    p = plain(0);
    p.presence_penalty = 0.6f;
    p.penalty_last_n = 2;
    s = aios_sampler_create(&p, 3);
    aios_sampler_accept(s, 0);
    CHECK_EQ_INT(aios_sampler_sample(s, l, NULL), 1); /* 1.4 < 1.5 */
    aios_sampler_accept(s, 2);
    aios_sampler_accept(s, 2); /* token 0 fell out of the last 2 */
    CHECK_EQ_INT(aios_sampler_sample(s, l, NULL), 0);
    aios_sampler_accept(s, 99); /* out of range ids are ignored */
    aios_sampler_destroy(s);

    float lp = aios_logprob((float[]){0, 0}, 2, 0);
    CHECK_NEAR(lp, -logf(2), 1e-6);
}

static void test_utf8(void)
{
    CHECK_EQ_INT(aios_utf8_complete_prefix("ab", 2), 2);
    CHECK_EQ_INT(aios_utf8_complete_prefix("a\xe4\xb8", 3), 1);
    CHECK_EQ_INT(aios_utf8_complete_prefix("a\xe4\xb8\xad", 4), 4);
    CHECK_EQ_INT(aios_utf8_complete_prefix("a\xf0\x9f\x98", 4), 1);
    CHECK_EQ_INT(aios_utf8_complete_prefix("a\xff", 2), 2); /* invalid: not held, sanitised */
    CHECK_EQ_INT(aios_utf8_complete_prefix("", 0), 0);
    char out[64];
    CHECK_EQ_INT(aios_utf8_sanitize("a\xff"
                                    "b",
                                    3, out),
                 5);
    CHECK_EQ_STR(out, "a\xef\xbf\xbd"
                      "b");
    aios_utf8_sanitize("\xed\xa0\x80", 3, out); /* surrogate: three replacement chars */
    CHECK_EQ_STR(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    aios_utf8_sanitize("\xc0\xaf", 2, out); /* overlong */
    CHECK_EQ_STR(out, "\xef\xbf\xbd\xef\xbf\xbd");
    aios_utf8_sanitize("\xe4\xb8\xad\xe6\x96\x87", 6, out);
    CHECK_EQ_STR(out, "\xe4\xb8\xad\xe6\x96\x87");
}

static void test_stop(void)
{
    const char *stops[] = {"###", "\nUser:"};
    size_t safe;
    CHECK_EQ_INT(aios_stop_find("hello ### x", 11, stops, 2, &safe), 6);
    CHECK_EQ_INT(safe, 6);
    CHECK_EQ_INT(aios_stop_find("hello #", 7, stops, 2, &safe), -1);
    CHECK_EQ_INT(safe, 6); /* "#" may start "###" */
    CHECK_EQ_INT(aios_stop_find("hi\nUse", 6, stops, 2, &safe), -1);
    CHECK_EQ_INT(safe, 2);
    CHECK_EQ_INT(aios_stop_find("plain", 5, stops, 2, &safe), -1);
    CHECK_EQ_INT(safe, 5);
    CHECK_EQ_INT(aios_stop_find("a\nUser: ###", 11, stops, 2, &safe), 1); /* earliest wins */
}

int main(void)
{
    TEST_RUN(test_greedy);
    TEST_RUN(test_distribution);
    TEST_RUN(test_seed);
    TEST_RUN(test_penalties);
    TEST_RUN(test_utf8);
    TEST_RUN(test_stop);
    TEST_EXIT();
}
