/*
 * The Drain-family online template miner behind aios_ops_drain_* (see the
 * log parsing block of ops.h for the contract and the bounds).
 *
 * Structures:
 *   - tree nodes in one array; node 0 is the root. An edge (parent, key)
 *     lives in one open-addressing table for the whole tree, keyed by the
 *     parent's index and the key's hash (the token count on the first
 *     level, the token's hash below). The "<*>" child of a node is kept in
 *     the node itself.
 *   - a leaf (a node at the last level) lists the clusters that live there.
 *   - a cluster owns its template: the tokens as text joined by spaces,
 *     and per token its hash, offset and length into that text.
 *
 * Per message the work is: trim, cut, user masks (PCRE2, only when given),
 * one scan that masks and tokenizes, at most depth-1 table probes, and one
 * similarity pass over the clusters of a leaf comparing token hashes (and
 * bytes when the hashes agree). Nothing is allocated unless a cluster is
 * created or a template widens.
 *
 * Similarity of a message to a template of the same length: the share of
 * positions where the template's token equals the message's and is not a
 * variable. A variable here is "<*>" (as in Drain) and also a token that is
 * a mask with only punctuation around it ("<*>:", "[<*>]", "<*>:<*>"):
 * counting those as agreement would make every pair of messages that
 * share a masked field look alike. A token such as "uid=<*>" does count,
 * its "uid=" is evidence. The best cluster is the most similar one; among
 * equals, the one with more "<*>" (Drain's tie rule).
 *
 * Routing: a token with a digit or a mask in it goes down the "<*>" branch
 * (Drain sends tokens with digits there; masked tokens are variables too).
 */
#include "ops/ops.h"
#include "ops/logparse_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

struct dcluster {
    int ntok;
    int nwild;
    uint64_t size;
    uint64_t *h;   /* per token */
    uint32_t *off; /* per token, into text */
    uint32_t *len;
    uint8_t *var; /* per token: holds a "<*>" */
    char *text;   /* tokens joined by ' ', NUL-terminated */
    size_t text_len;
};

struct dnode {
    int wild;   /* index of the "<*>" child, or -1 */
    int nchild; /* children, the "<*>" one included */
    int *cl;    /* clusters of a leaf */
    int ncl, capcl;
};

struct dedge {
    uint64_t key;
    uint32_t parent;
    uint32_t child; /* 0 = empty slot (the root is never a child) */
};

struct aios_ops_drain {
    struct aios_ops_drain_opts o;

    struct dnode *nodes;
    int nnodes, capnodes;
    struct dedge *edges;
    size_t nedges, capedges; /* capedges a power of two */

    struct dcluster **cl;
    int ncl, capcl;
    int empty_id;    /* cluster of the empty message, or -1 */
    int overflow_id; /* cluster past max_clusters, or -1 */
    uint64_t wild_h; /* lp_hash of "<*>" */

    /* user masks */
    pcre2_general_context *gctx;
    pcre2_code **re;
    pcre2_match_data *md;
    int nre;

    /* per-message scratch */
    char *sbuf;         /* the scan (masked tokens): rcap + 16 */
    char *rbuf, *rbuf2; /* after user masks: rcap each */
    size_t rcap;
    struct lp_tok *toks;
};

static void *pcre_malloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    return aios_malloc(n);
}

static void pcre_free(void *p, void *ud)
{
    (void)ud;
    aios_free(p);
}

void aios_ops_drain_opts_default(struct aios_ops_drain_opts *o)
{
    memset(o, 0, sizeof *o);
    o->sim_threshold = 0.5;
    o->depth = 4;
    o->max_children = 100;
    o->max_clusters = 20000;
    o->max_line = 4096;
    o->max_tokens = 256;
    o->builtin_masks = true;
}

/* ---- tree ------------------------------------------------------------ */

static inline uint64_t edge_slot_hash(uint32_t parent, uint64_t key)
{
    uint64_t h = key ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
}

static int edge_find(const struct aios_ops_drain *d, uint32_t parent, uint64_t key)
{
    if (d->capedges == 0)
        return -1;
    size_t mask = d->capedges - 1;
    for (size_t s = edge_slot_hash(parent, key) & mask;; s = (s + 1) & mask) {
        const struct dedge *e = &d->edges[s];
        if (e->child == 0)
            return -1;
        if (e->parent == parent && e->key == key)
            return (int)e->child;
    }
}

static void edge_put_raw(struct dedge *tab, size_t cap, struct dedge e)
{
    size_t mask = cap - 1;
    size_t s = edge_slot_hash(e.parent, e.key) & mask;
    while (tab[s].child != 0)
        s = (s + 1) & mask;
    tab[s] = e;
}

static int edge_put(struct aios_ops_drain *d, uint32_t parent, uint64_t key, uint32_t child)
{
    if ((d->nedges + 1) * 2 > d->capedges) {
        size_t ncap = d->capedges ? d->capedges * 2 : 256;
        struct dedge *nt = aios_calloc(ncap, sizeof *nt);
        if (!nt)
            return AIOS_ENOMEM;
        for (size_t i = 0; i < d->capedges; i++)
            if (d->edges[i].child)
                edge_put_raw(nt, ncap, d->edges[i]);
        aios_free(d->edges);
        d->edges = nt;
        d->capedges = ncap;
    }
    edge_put_raw(d->edges, d->capedges, (struct dedge){key, parent, child});
    d->nedges++;
    return AIOS_OK;
}

static int node_new(struct aios_ops_drain *d)
{
    if (d->nnodes == d->capnodes) {
        int ncap = d->capnodes ? d->capnodes * 2 : 64;
        struct dnode *nn = aios_realloc(d->nodes, (size_t)ncap * sizeof *nn);
        if (!nn)
            return AIOS_ENOMEM;
        d->nodes = nn;
        d->capnodes = ncap;
    }
    struct dnode *n = &d->nodes[d->nnodes];
    memset(n, 0, sizeof *n);
    n->wild = -1;
    return d->nnodes++;
}

/* Child of parent under key, created when absent. */
static int child_get(struct aios_ops_drain *d, int parent, uint64_t key)
{
    int c = edge_find(d, (uint32_t)parent, key);
    if (c >= 0)
        return c;
    c = node_new(d);
    if (c < 0)
        return c;
    int rc = edge_put(d, (uint32_t)parent, key, (uint32_t)c);
    if (rc)
        return rc;
    d->nodes[parent].nchild++;
    return c;
}

static int wild_get(struct aios_ops_drain *d, int parent)
{
    if (d->nodes[parent].wild >= 0)
        return d->nodes[parent].wild;
    int c = node_new(d);
    if (c < 0)
        return c;
    d->nodes[parent].wild = c;
    d->nodes[parent].nchild++;
    return c;
}

static inline int token_levels(const struct aios_ops_drain *d, int ntok)
{
    int lv = d->o.depth - 2;
    return ntok < lv ? ntok : lv;
}

static inline bool tok_is_wild(const char *buf, const struct lp_tok *t)
{
    return t->len == LP_WILD_LEN && memcmp(buf + t->off, LP_WILD, LP_WILD_LEN) == 0;
}

/* The leaf a message would live in, or -1. */
static int tree_search(const struct aios_ops_drain *d, const struct lp_tok *toks, int ntok)
{
    int node = edge_find(d, 0, (uint64_t)ntok);
    if (node < 0)
        return -1;
    int lv = token_levels(d, ntok);
    for (int i = 0; i < lv; i++) {
        int c = edge_find(d, (uint32_t)node, toks[i].h);
        if (c < 0)
            c = d->nodes[node].wild;
        if (c < 0)
            return -1;
        node = c;
    }
    return node;
}

/* Walks (and grows) the tree for a new cluster's tokens; returns the leaf. */
static int tree_insert(struct aios_ops_drain *d, const char *buf, const struct lp_tok *toks,
                       int ntok)
{
    int node = child_get(d, 0, (uint64_t)ntok);
    if (node < 0)
        return node;
    int lv = token_levels(d, ntok);
    int maxc = d->o.max_children;
    for (int i = 0; i < lv && node >= 0; i++) {
        const struct lp_tok *t = &toks[i];
        if (t->digit || t->var) {
            node = wild_get(d, node);
            continue;
        }
        int c = edge_find(d, (uint32_t)node, t->h);
        if (c >= 0) {
            node = c;
            continue;
        }
        const struct dnode *n = &d->nodes[node];
        if (n->wild >= 0)
            node = n->nchild < maxc ? child_get(d, node, t->h) : n->wild;
        else if (n->nchild + 1 < maxc)
            node = child_get(d, node, t->h);
        else
            node = wild_get(d, node);
    }
    return node;
}

static int leaf_add(struct aios_ops_drain *d, int leaf, int id)
{
    struct dnode *n = &d->nodes[leaf];
    if (n->ncl == n->capcl) {
        int ncap = n->capcl ? n->capcl * 2 : 4;
        int *nc = aios_realloc(n->cl, (size_t)ncap * sizeof *nc);
        if (!nc)
            return AIOS_ENOMEM;
        n->cl = nc;
        n->capcl = ncap;
    }
    n->cl[n->ncl++] = id;
    return AIOS_OK;
}

/* ---- clusters -------------------------------------------------------- */

static void cluster_free(struct dcluster *c)
{
    if (!c)
        return;
    aios_free(c->h);
    aios_free(c->text);
    aios_free(c);
}

/* (Re)builds text/off/len from per-token strings. */
static int cluster_set_text(struct dcluster *c, const char *const *strs, const uint32_t *lens)
{
    size_t total = 1;
    for (int i = 0; i < c->ntok; i++)
        total += lens[i] + 1;
    char *t = aios_malloc(total);
    if (!t)
        return AIOS_ENOMEM;
    size_t o = 0;
    for (int i = 0; i < c->ntok; i++) {
        if (i)
            t[o++] = ' ';
        memcpy(t + o, strs[i], lens[i]);
        c->off[i] = (uint32_t)o;
        o += lens[i];
    }
    t[o] = 0;
    aios_free(c->text);
    c->text = t;
    c->text_len = o;
    return AIOS_OK;
}

static struct dcluster *cluster_new(const char *buf, const struct lp_tok *toks, int ntok)
{
    struct dcluster *c = aios_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ntok = ntok;
    /* h, off and len in one block. */
    size_t n = ntok > 0 ? (size_t)ntok : 1;
    c->h = aios_malloc(n * (sizeof(uint64_t) + 2 * sizeof(uint32_t) + 1));
    if (!c->h) {
        aios_free(c);
        return NULL;
    }
    c->off = (uint32_t *)(c->h + n);
    c->len = c->off + n;
    c->var = (uint8_t *)(c->len + n);
    c->text = aios_malloc(1);
    if (!c->text) {
        cluster_free(c);
        return NULL;
    }
    c->text[0] = 0;
    /* The scan buffer already joins the tokens by single spaces. */
    size_t tl = ntok ? toks[ntok - 1].off + toks[ntok - 1].len - toks[0].off : 0;
    char *t = aios_malloc(tl + 1);
    if (!t) {
        cluster_free(c);
        return NULL;
    }
    if (tl)
        memcpy(t, buf + toks[0].off, tl);
    t[tl] = 0;
    aios_free(c->text);
    c->text = t;
    c->text_len = tl;
    for (int i = 0; i < ntok; i++) {
        c->h[i] = toks[i].h;
        c->off[i] = toks[i].off - toks[0].off;
        c->len[i] = toks[i].len;
        c->var[i] = toks[i].var;
        if (tok_is_wild(buf, &toks[i]))
            c->nwild++;
    }
    return c;
}

static inline bool ctok_is_wild(const struct dcluster *c, int i)
{
    return c->len[i] == LP_WILD_LEN && memcmp(c->text + c->off[i], LP_WILD, LP_WILD_LEN) == 0;
}

/* Turns the template's tokens that differ from the message into "<*>". */
static int cluster_merge(struct dcluster *c, const char *buf, const struct lp_tok *toks,
                         uint64_t wild_h)
{
    bool changed = false;
    for (int i = 0; i < c->ntok; i++) {
        if (ctok_is_wild(c, i))
            continue;
        if (c->h[i] == toks[i].h && c->len[i] == toks[i].len &&
            memcmp(c->text + c->off[i], buf + toks[i].off, toks[i].len) == 0)
            continue;
        changed = true;
        break;
    }
    if (!changed)
        return AIOS_OK;
    /* Rebuild: small per-token arrays on the heap (ntok is bounded). */
    const char **strs = aios_malloc((size_t)c->ntok * (sizeof(char *) + sizeof(uint32_t)));
    if (!strs)
        return AIOS_ENOMEM;
    uint32_t *lens = (uint32_t *)(strs + c->ntok);
    int nwild = 0;
    for (int i = 0; i < c->ntok; i++) {
        bool keep = !ctok_is_wild(c, i) && c->h[i] == toks[i].h && c->len[i] == toks[i].len &&
                    memcmp(c->text + c->off[i], buf + toks[i].off, toks[i].len) == 0;
        if (keep) {
            strs[i] = c->text + c->off[i];
            lens[i] = c->len[i];
        } else {
            strs[i] = LP_WILD;
            lens[i] = LP_WILD_LEN;
            c->h[i] = wild_h;
            c->var[i] = 2;
            nwild++;
        }
    }
    /* strs point into the old text, which cluster_set_text frees only
     * after copying. */
    int rc = cluster_set_text(c, strs, lens);
    if (rc == AIOS_OK) {
        memcpy(c->len, lens, (size_t)c->ntok * sizeof *lens);
        c->nwild = nwild;
    }
    aios_free(strs);
    return rc;
}

static int cluster_push(struct aios_ops_drain *d, struct dcluster *c)
{
    if (d->ncl == d->capcl) {
        int ncap = d->capcl ? d->capcl * 2 : 64;
        struct dcluster **nc = aios_realloc(d->cl, (size_t)ncap * sizeof *nc);
        if (!nc)
            return AIOS_ENOMEM;
        d->cl = nc;
        d->capcl = ncap;
    }
    d->cl[d->ncl] = c;
    return d->ncl++;
}

/* Two "key=value" tokens with different keys are different fields, never
 * two values of one variable ("(uid=0)" and "LOGIN(uid=0)"). */
static bool keys_differ(const char *a, size_t na, const char *b, size_t nb)
{
    const char *ea = memchr(a, '=', na), *eb = memchr(b, '=', nb);
    if (!ea || !eb)
        return false;
    return ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)) != 0;
}

/* Similarity pass over a leaf; returns the best cluster or -1, *sim its
 * similarity. */
static int leaf_best(const struct aios_ops_drain *d, int leaf, const char *buf,
                     const struct lp_tok *toks, int ntok, double *sim)
{
    const struct dnode *n = &d->nodes[leaf];
    int best = -1, best_sim = -1, best_wild = -1;
    for (int k = 0; k < n->ncl; k++) {
        const struct dcluster *c = d->cl[n->cl[k]];
        int same = 0, equal = 0;
        bool veto = false;
        for (int i = 0; i < ntok && !veto; i++) {
            if (c->h[i] == toks[i].h && c->len[i] == toks[i].len &&
                memcmp(c->text + c->off[i], buf + toks[i].off, toks[i].len) == 0) {
                equal++;
                same += c->var[i] != 2;
            } else if (c->var[i] != 2) {
                veto = keys_differ(c->text + c->off[i], c->len[i], buf + toks[i].off, toks[i].len);
            }
        }
        if (veto)
            continue;
        /* A message that is the template's text exactly belongs to it,
         * even when the template is mostly "<*>". */
        if (equal == ntok)
            same = ntok;
        if (same > best_sim || (same == best_sim && c->nwild > best_wild)) {
            best = n->cl[k];
            best_sim = same;
            best_wild = c->nwild;
        }
    }
    *sim = ntok > 0 && best >= 0 ? (double)best_sim / ntok : 0.0;
    return best;
}

/* ---- public ---------------------------------------------------------- */

int aios_ops_drain_create(const struct aios_ops_drain_opts *o, aios_ops_drain **out,
                          struct aios_err *err)
{
    *out = NULL;
    struct aios_ops_drain_opts def;
    if (!o) {
        aios_ops_drain_opts_default(&def);
        o = &def;
    }
    if (!(o->sim_threshold >= 0.0 && o->sim_threshold <= 1.0))
        return aios_err_set(err, AIOS_EINVAL, "similarity threshold %g is outside [0, 1]",
                            o->sim_threshold);
    if (o->depth < 3 || o->depth > 64)
        return aios_err_set(err, AIOS_EINVAL, "depth %d is outside [3, 64]", o->depth);
    if (o->max_children < 2)
        return aios_err_set(err, AIOS_EINVAL, "max_children %d is below 2", o->max_children);
    if (o->max_clusters < 1 || o->max_clusters > 10000000)
        return aios_err_set(err, AIOS_EINVAL, "max_clusters %d is outside [1, 10000000]",
                            o->max_clusters);
    if (o->max_line < 16 || o->max_line > (1 << 24))
        return aios_err_set(err, AIOS_EINVAL, "max_line %d is outside [16, 16777216]", o->max_line);
    if (o->max_tokens < 2 || o->max_tokens > 65536)
        return aios_err_set(err, AIOS_EINVAL, "max_tokens %d is outside [2, 65536]", o->max_tokens);
    if (o->nmasks < 0 || (o->nmasks > 0 && !o->masks))
        return aios_err_set(err, AIOS_EINVAL, "bad mask list");

    aios_ops_drain *d = aios_calloc(1, sizeof *d);
    if (!d)
        return aios_err_set(err, AIOS_ENOMEM, "out of memory");
    d->o = *o;
    d->o.masks = NULL;
    d->empty_id = d->overflow_id = -1;
    d->wild_h = lp_hash(LP_WILD, LP_WILD_LEN);
    int rc = AIOS_ENOMEM;
    /* A second scan never grows the text (no built-in masks), so sbuf also
     * holds the rescan of a text of rcap bytes. */
    d->rcap = LP_SCAN_CAP(LP_SCAN_CAP(o->max_line));
    d->sbuf = aios_malloc(d->rcap + 16);
    if (o->nmasks > 0) {
        d->rbuf = aios_malloc(d->rcap);
        d->rbuf2 = aios_malloc(d->rcap);
        if (!d->rbuf || !d->rbuf2)
            goto fail;
    }
    d->toks = aios_malloc((size_t)o->max_tokens * sizeof *d->toks);
    if (!d->sbuf || !d->toks || node_new(d) != 0)
        goto fail;
    if (o->nmasks > 0) {
        d->gctx = pcre2_general_context_create(pcre_malloc, pcre_free, NULL);
        d->re = aios_calloc((size_t)o->nmasks, sizeof *d->re);
        if (!d->gctx || !d->re)
            goto fail;
        pcre2_compile_context *cctx = pcre2_compile_context_create(d->gctx);
        if (!cctx)
            goto fail;
        for (int i = 0; i < o->nmasks; i++) {
            int ec;
            PCRE2_SIZE eo;
            d->re[i] =
                pcre2_compile((PCRE2_SPTR)o->masks[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, cctx);
            if (!d->re[i]) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(ec, msg, sizeof msg);
                pcre2_compile_context_free(cctx);
                rc = aios_err_set(err, AIOS_EINVAL, "mask /%s/ at offset %zu: %s", o->masks[i],
                                  (size_t)eo, (const char *)msg);
                goto fail_noset;
            }
            d->nre++;
            /* JIT is an optimisation: without it (no JIT support) matching
             * still works, only slower. */
            (void)pcre2_jit_compile(d->re[i], PCRE2_JIT_COMPLETE);
        }
        pcre2_compile_context_free(cctx);
        d->md = pcre2_match_data_create(16, d->gctx);
        if (!d->md)
            goto fail;
    }
    *out = d;
    return AIOS_OK;
fail:
    rc = aios_err_set(err, AIOS_ENOMEM, "out of memory creating the log parser");
fail_noset:
    aios_ops_drain_destroy(d);
    return rc;
}

void aios_ops_drain_destroy(aios_ops_drain *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nnodes; i++)
        aios_free(d->nodes[i].cl);
    aios_free(d->nodes);
    aios_free(d->edges);
    for (int i = 0; i < d->ncl; i++)
        cluster_free(d->cl[i]);
    aios_free(d->cl);
    for (int i = 0; i < d->nre; i++)
        pcre2_code_free(d->re[i]);
    aios_free(d->re);
    if (d->md)
        pcre2_match_data_free(d->md);
    if (d->gctx)
        pcre2_general_context_free(d->gctx);
    aios_free(d->rbuf);
    aios_free(d->rbuf2);
    aios_free(d->sbuf);
    aios_free(d->toks);
    aios_free(d);
}

/* Applies the user masks in turn; returns the text to scan (msg itself
 * when none matched) and its length in *n. A replacement writes 3 bytes
 * for at least one matched byte (empty matches mask nothing), and the
 * output is cut at d->rcap bytes, which only a pathological regex reaches. */
static const char *apply_user_masks(aios_ops_drain *d, const char *msg, size_t *n)
{
    size_t cap = d->rcap;
    const char *src = msg;
    size_t len = *n;
    for (int r = 0; r < d->nre; r++) {
        char *dst = (src == d->rbuf) ? d->rbuf2 : d->rbuf;
        size_t o = 0, pos = 0, last = 0; /* search from pos; copied up to last */
        bool any = false;
        while (pos <= len) {
            int m = pcre2_match(d->re[r], (PCRE2_SPTR)src, len, pos, 0, d->md, NULL);
            if (m < 0)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(d->md);
            size_t s = ov[0], e = ov[1];
            if (e <= s) { /* an empty match masks nothing: search on after it */
                pos = s + 1;
                continue;
            }
            if (o + (s - last) + LP_WILD_LEN > cap)
                break;
            memcpy(dst + o, src + last, s - last);
            o += s - last;
            memcpy(dst + o, LP_WILD, LP_WILD_LEN);
            o += LP_WILD_LEN;
            pos = last = e;
            any = true;
        }
        if (!any)
            continue;
        size_t rest = len - last;
        if (o + rest > cap)
            rest = cap - o;
        memcpy(dst + o, src + last, rest);
        o += rest;
        src = dst;
        len = o;
    }
    *n = len;
    return src;
}

/* Trim, cut, scan with the built-in masks, then the user masks over the
 * masked text and a second scan of the result: leaves the tokens in
 * d->toks and the text in d->sbuf. The user masks run second so that the
 * built-in date-time spans still see the whole date. */
static int prepare(aios_ops_drain *d, const char *msg, size_t len, size_t *scan_len)
{
    lp_trim(&msg, &len);
    len = lp_utf8_cut(msg, len, (size_t)d->o.max_line);
    int nt = lp_scan(msg, len, d->o.builtin_masks, d->sbuf, scan_len, d->toks, d->o.max_tokens);
    if (d->nre == 0)
        return nt;
    size_t n = *scan_len;
    const char *text = apply_user_masks(d, d->sbuf, &n);
    if (text == d->sbuf)
        return nt;
    return lp_scan(text, n, false, d->sbuf, scan_len, d->toks, d->o.max_tokens);
}

size_t aios_ops_drain_mask(aios_ops_drain *d, const char *msg, size_t len, char *out, size_t cap)
{
    size_t sl;
    prepare(d, msg, len, &sl);
    if (cap == 0)
        return 0;
    size_t n = sl < cap - 1 ? sl : cap - 1;
    memcpy(out, d->sbuf, n);
    out[n] = 0;
    return n;
}

static int special_cluster(aios_ops_drain *d, int *slot, const char *text)
{
    if (*slot < 0) {
        struct lp_tok t = {lp_hash(text, strlen(text)), 0, (uint32_t)strlen(text), false,
                           (uint8_t)(text[0] ? 2 : 0)};
        struct dcluster *c = cluster_new(text, &t, text[0] ? 1 : 0);
        if (!c)
            return AIOS_ENOMEM;
        int id = cluster_push(d, c);
        if (id < 0) {
            cluster_free(c);
            return id;
        }
        *slot = id;
    }
    d->cl[*slot]->size++;
    return *slot;
}

int aios_ops_drain_add(aios_ops_drain *d, const char *msg, size_t len)
{
    size_t sl;
    int ntok = prepare(d, msg, len, &sl);
    const char *buf = d->sbuf;
    const struct lp_tok *toks = d->toks;
    if (ntok == 0) {
        if (d->empty_id < 0 && d->ncl >= d->o.max_clusters)
            return special_cluster(d, &d->overflow_id, LP_WILD);
        return special_cluster(d, &d->empty_id, "");
    }

    int leaf = tree_search(d, toks, ntok);
    double sim = 0;
    int best = leaf >= 0 ? leaf_best(d, leaf, buf, toks, ntok, &sim) : -1;
    bool full = d->ncl >= d->o.max_clusters;
    if (best >= 0 && (sim >= d->o.sim_threshold || full)) {
        struct dcluster *c = d->cl[best];
        int rc = cluster_merge(c, buf, toks, d->wild_h);
        if (rc)
            return rc;
        c->size++;
        return best;
    }
    if (full)
        return special_cluster(d, &d->overflow_id, LP_WILD);

    struct dcluster *c = cluster_new(buf, toks, ntok);
    if (!c)
        return AIOS_ENOMEM;
    c->size = 1;
    int id = cluster_push(d, c);
    if (id < 0) {
        cluster_free(c);
        return id;
    }
    leaf = tree_insert(d, buf, toks, ntok);
    if (leaf < 0)
        return leaf;
    int rc = leaf_add(d, leaf, id);
    return rc ? rc : id;
}

int aios_ops_drain_count(const aios_ops_drain *d)
{
    return d->ncl;
}

const char *aios_ops_drain_template(const aios_ops_drain *d, int id)
{
    if (id < 0 || id >= d->ncl)
        return NULL;
    return d->cl[id]->text;
}

uint64_t aios_ops_drain_size(const aios_ops_drain *d, int id)
{
    if (id < 0 || id >= d->ncl)
        return 0;
    return d->cl[id]->size;
}
