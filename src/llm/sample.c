/*
 * The sampler (see llm_sample.h for the chain and its order) and the
 * streaming text helpers: UTF-8 hold-back and sanitising, stop strings.
 *
 * Scratch buffers are sized once from n_vocab; sampling allocates nothing.
 * top-k uses a selection pass, so the common case (k = 40 out of 128k) costs
 * one linear pass and a sort of k items rather than a sort of the vocabulary.
 */
#include "llm/llm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void aios_sampling_defaults(struct aios_sampling *s)
{
    *s = (struct aios_sampling){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .penalty_last_n = 64,
        .seed = 0,
    };
}

struct cand {
    float logit;
    int32_t id;
};

struct aios_sampler {
    struct aios_sampling p;
    int n_vocab;
    struct cand *cands;
    int32_t *counts;
    int32_t *hist; /* ring of recent tokens */
    int hist_cap, hist_len, hist_pos;
    struct aios_rng rng;
};

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void aios_rng_seed(struct aios_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t aios_rng_next(struct aios_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double aios_rng_uniform(struct aios_rng *r)
{
    return (double)(aios_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- sampler ---- */

aios_sampler *aios_sampler_create(const struct aios_sampling *params, int n_vocab)
{
    if (n_vocab <= 0)
        return NULL;
    aios_sampler *s = aios_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->p = *params;
    s->n_vocab = n_vocab;
    s->hist_cap = params->penalty_last_n < 0   ? 1 << 16
                  : params->penalty_last_n > 0 ? params->penalty_last_n
                                               : 1;
    s->cands = aios_malloc(sizeof *s->cands * (size_t)n_vocab);
    s->counts = aios_calloc((size_t)n_vocab, sizeof *s->counts);
    s->hist = aios_malloc(sizeof *s->hist * (size_t)s->hist_cap);
    if (!s->cands || !s->counts || !s->hist) {
        aios_sampler_destroy(s);
        return NULL;
    }
    aios_rng_seed(&s->rng, params->seed);
    return s;
}

void aios_sampler_destroy(aios_sampler *s)
{
    if (!s)
        return;
    aios_free(s->cands);
    aios_free(s->counts);
    aios_free(s->hist);
    aios_free(s);
}

void aios_sampler_reset(aios_sampler *s)
{
    s->hist_len = s->hist_pos = 0;
    aios_rng_seed(&s->rng, s->p.seed);
}

void aios_sampler_accept(aios_sampler *s, int32_t token)
{
    if (token < 0 || token >= s->n_vocab)
        return;
    s->hist[s->hist_pos] = token;
    s->hist_pos = (s->hist_pos + 1) % s->hist_cap;
    if (s->hist_len < s->hist_cap)
        s->hist_len++;
}

int32_t aios_argmax(const float *v, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

float aios_logprob(const float *logits, int n, int i)
{
    float mx = logits[aios_argmax(logits, n)];
    double sum = 0;
    for (int j = 0; j < n; j++)
        sum += exp((double)(logits[j] - mx));
    return (float)((double)(logits[i] - mx) - log(sum));
}

static int cmp_desc(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

static bool greater(const struct cand *a, const struct cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* Moves the k best candidates to the front (unordered): quickselect. */
static void select_top(struct cand *c, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        struct cand pivot = c[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (greater(&c[i], &pivot))
                i++;
            while (greater(&pivot, &c[j]))
                j--;
            if (i <= j) {
                struct cand t = c[i];
                c[i] = c[j];
                c[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

static void apply_penalties(aios_sampler *s)
{
    const struct aios_sampling *p = &s->p;
    if (p->repeat_penalty == 1.0f && p->presence_penalty == 0 && p->frequency_penalty == 0)
        return;
    for (int i = 0; i < s->hist_len; i++)
        s->counts[s->hist[i]]++;
    for (int i = 0; i < s->hist_len; i++) {
        int32_t id = s->hist[i];
        int cnt = s->counts[id];
        if (!cnt)
            continue; /* already applied for this id */
        float *l = &s->cands[id].logit;
        if (p->repeat_penalty != 1.0f && p->repeat_penalty > 0)
            *l = *l <= 0 ? *l * p->repeat_penalty : *l / p->repeat_penalty;
        *l -= (float)cnt * p->frequency_penalty + p->presence_penalty;
        s->counts[id] = 0;
    }
}

int32_t aios_sampler_sample(aios_sampler *s, const float *logits, float *prob)
{
    const struct aios_sampling *p = &s->p;
    int n = s->n_vocab;
    struct cand *c = s->cands;
    for (int i = 0; i < n; i++) {
        c[i].logit = logits[i];
        c[i].id = i;
    }
    apply_penalties(s);
    if (p->temperature <= 0) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (greater(&c[i], &c[best]))
                best = i;
        if (prob)
            *prob = 1.0f;
        return c[best].id;
    }
    /* Non-finite logits (a broken model) must not poison the distribution. */
    for (int i = 0; i < n; i++)
        if (!isfinite(c[i].logit))
            c[i].logit = c[i].logit > 0 ? 1e30f : -1e30f;
    if (p->top_k > 0 && p->top_k < n) {
        select_top(c, n, p->top_k);
        n = p->top_k;
    }
    qsort(c, (size_t)n, sizeof *c, cmp_desc);
    /* Softmax over the survivors (before temperature, as llama.cpp's top-p
     * and min-p see the distribution). */
    float mx = c[0].logit;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp((double)(c[i].logit - mx));
    if (p->top_p < 1.0f && p->top_p > 0) {
        double cum = 0;
        int keep = n;
        for (int i = 0; i < n; i++) {
            cum += exp((double)(c[i].logit - mx)) / sum;
            if (cum >= p->top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (p->min_p > 0 && p->min_p <= 1) {
        float cut = mx + logf(p->min_p);
        int keep = 1;
        while (keep < n && c[keep].logit >= cut)
            keep++;
        n = keep;
    }
    double tot = 0;
    for (int i = 0; i < n; i++)
        tot += exp((double)(c[i].logit - mx) / p->temperature);
    double r = aios_rng_uniform(&s->rng) * tot, acc = 0;
    int pick = n - 1;
    for (int i = 0; i < n; i++) {
        acc += exp((double)(c[i].logit - mx) / p->temperature);
        if (r < acc) {
            pick = i;
            break;
        }
    }
    if (prob)
        *prob = (float)(exp((double)(c[pick].logit - mx) / p->temperature) / tot);
    return c[pick].id;
}

/* ---- UTF-8 ---- */

/* Length of the sequence a lead byte announces; 0 for a byte that cannot lead. */
static int seq_len(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        return 2;
    if (b >= 0xe0 && b <= 0xef)
        return 3;
    if (b >= 0xf0 && b <= 0xf4)
        return 4;
    return 0;
}

/* Validates one sequence at s (n bytes available): its length, 0 if invalid,
 * -1 if valid so far but incomplete. */
static int valid_seq(const unsigned char *s, size_t n)
{
    int len = seq_len(s[0]);
    if (len == 0)
        return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        if (i == 1) { /* overlongs, surrogates, > U+10FFFF */
            if (s[0] == 0xe0 && s[1] < 0xa0)
                return 0;
            if (s[0] == 0xed && s[1] > 0x9f)
                return 0;
            if (s[0] == 0xf0 && s[1] < 0x90)
                return 0;
            if (s[0] == 0xf4 && s[1] > 0x8f)
                return 0;
        }
    }
    return len;
}

size_t aios_utf8_complete_prefix(const char *s, size_t n)
{
    /* Only the last 3 bytes can belong to an incomplete sequence. */
    size_t start = n > 3 ? n - 3 : 0;
    for (size_t i = start; i < n; i++) {
        const unsigned char *u = (const unsigned char *)s + i;
        if ((u[0] & 0xc0) == 0x80)
            continue;
        if (valid_seq(u, n - i) == -1)
            return i;
    }
    return n;
}

size_t aios_utf8_sanitize(const char *s, size_t n, char *out)
{
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        int len = valid_seq(u + i, n - i);
        if (len > 0) {
            memcpy(out + o, u + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    return o;
}

long aios_stop_find(const char *text, size_t len, const char *const *stops, int n_stops,
                    size_t *safe_len)
{
    long best = -1;
    for (int k = 0; k < n_stops; k++) {
        size_t sl = strlen(stops[k]);
        if (!sl || sl > len)
            continue;
        const char *m = memmem(text, len, stops[k], sl);
        if (m && (best < 0 || m - text < best))
            best = m - text;
    }
    if (best >= 0) {
        *safe_len = (size_t)best;
        return best;
    }
    /* Hold back the longest suffix that is a proper prefix of a stop string. */
    size_t hold = 0;
    for (int k = 0; k < n_stops; k++) {
        size_t sl = strlen(stops[k]);
        for (size_t h = sl > 1 ? sl - 1 : 0; h > hold; h--) {
            if (h <= len && memcmp(text + len - h, stops[k], h) == 0) {
                hold = h;
                break;
            }
        }
    }
    *safe_len = len - hold;
    return -1;
}
