/*
 * Private to the log parser (src/ops/logparse_*.c and drain.c): the masking
 * scanner that turns a message into masked whitespace tokens, and the
 * token record the tree and the clusters share.
 */
#ifndef AIOS_OPS_LOGPARSE_INT_H
#define AIOS_OPS_LOGPARSE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

/* One token of a masked message: bytes [off, off+len) of the scan buffer,
 * its hash, whether it holds a digit (Drain sends those down the "<*>"
 * branch of the tree) and what masked "<*>" it holds. */
struct lp_tok {
    uint64_t h;
    uint32_t off;
    uint32_t len;
    bool digit;
    uint8_t var; /* 0 none; 1 "<*>" and letters ("uid=<*>"); 2 "<*>" alone or with punctuation */
};

/* The text that stands for a variable. */
#define LP_WILD "<*>"
#define LP_WILD_LEN 3

/* Bytes the scan buffer needs for a message of n bytes: a masked span is
 * at least one byte of input and writes 3, so 3 * n, plus the separators
 * and the final "<*>" of a cut message. */
#define LP_SCAN_CAP(n) (3 * (size_t)(n) + 16)

/* Hash of a token's bytes (the same function everywhere, so a message
 * token "<*>" hashes like a template wildcard). */
uint64_t lp_hash(const char *s, size_t n);

/* Splits msg[0..n) at whitespace into at most max_tokens tokens (a message
 * with more keeps max_tokens - 1 and a last "<*>"), writing them joined by
 * single spaces into out (capacity LP_SCAN_CAP(n)). With builtin set, the
 * variable parts are replaced by "<*>" on the way (see logparse_mask.c).
 * Returns the token count; *out_len gets the bytes written (no NUL). */
int lp_scan(const char *msg, size_t n, bool builtin, char *out, size_t *out_len,
            struct lp_tok *toks, int max_tokens);

/* Shortens n so that msg[0..n) ends at a UTF-8 character boundary and is
 * at most max bytes. */
size_t lp_utf8_cut(const char *msg, size_t n, size_t max);

/* Strips a trailing CR/LF and outer spaces and tabs: adjusts *s and *n. */
void lp_trim(const char **s, size_t *n);

#endif
