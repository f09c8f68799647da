/*
 * llm sampling: turns a row of logits into the next token id.
 *
 * The chain, applied in this order (llama.cpp's default order, so that the
 * same settings mean the same thing to users coming from it): penalties
 * (repetition, presence, frequency over the last `penalty_last_n` tokens),
 * top-k, top-p, min-p, temperature, then a draw with the seeded generator.
 * temperature <= 0 is greedy (argmax, ties to the lowest id). Included by
 * llm.h; kept in its own header so the sampler can be read on its own.
 */
#ifndef AIOS_LLM_SAMPLE_H
#define AIOS_LLM_SAMPLE_H

#include "base/base.h"

struct aios_sampling {
    float temperature;    /* <= 0: greedy */
    int top_k;            /* <= 0: off */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off */
    float presence_penalty;
    float frequency_penalty;
    int penalty_last_n; /* how many recent tokens the penalties look at; -1 = all */
    uint64_t seed;
};

/* temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, penalties off, seed 0. */
void aios_sampling_defaults(struct aios_sampling *s);

typedef struct aios_sampler aios_sampler;

/* n_vocab sizes the scratch buffers once; NULL when out of memory. */
aios_sampler *aios_sampler_create(const struct aios_sampling *params, int n_vocab);
void aios_sampler_destroy(aios_sampler *s);
/* Records a token as seen (prompt or generated) for the penalties. */
void aios_sampler_accept(aios_sampler *s, int32_t token);
void aios_sampler_reset(aios_sampler *s);
/* Picks the next token from logits[n_vocab] (the array is not modified).
 * When prob is non-NULL it receives the probability of the chosen token
 * under the final distribution (1 for greedy). */
int32_t aios_sampler_sample(aios_sampler *s, const float *logits, float *prob);

/* Index of the largest value (ties to the lowest index). */
int32_t aios_argmax(const float *v, int n);
/* log-softmax of one value: logits[i] - logsumexp(logits). */
float aios_logprob(const float *logits, int n, int i);

/* Uniform double in [0, 1) from a 64-bit state (splitmix64 seeded xoshiro256**). */
struct aios_rng {
    uint64_t s[4];
};
void aios_rng_seed(struct aios_rng *r, uint64_t seed);
uint64_t aios_rng_next(struct aios_rng *r);
double aios_rng_uniform(struct aios_rng *r);

/* ---- streaming text helpers ---- */

/* Length of the longest prefix of s[0..n) that ends on a complete UTF-8
 * character; the rest (an incomplete trailing sequence, at most 3 bytes) is
 * held back until more bytes arrive. */
size_t aios_utf8_complete_prefix(const char *s, size_t n);
/* Copies s[0..n) into out, replacing every invalid UTF-8 sequence with
 * U+FFFD. out must have room for 3n+1 bytes; returns the length written. */
size_t aios_utf8_sanitize(const char *s, size_t n, char *out);

/* Stop strings: given the text generated so far, finds the earliest full
 * match of any stop string (returns its offset, or -1) and, if none, the
 * length of the text that can safely be emitted (text that could be the
 * start of a stop string is held back). */
long aios_stop_find(const char *text, size_t len, const char *const *stops, int n_stops,
                    size_t *safe_len);

#endif
