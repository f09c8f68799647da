/*
 * Tokenizer conformance: every vocabulary in fixtures/tokenizer/ with its
 * .inp/.out vectors (llama.cpp / Hugging Face ids, no BOS, special-token
 * text not parsed). Every case must give exactly the expected ids; no
 * tolerance, ids are exact. Decoding the ids must give back the input where
 * the tokenizer is lossless (SPM and byte-level BPE; not WordPiece, which
 * lower-cases and drops accents and spaces).
 *
 * Also per case: with ADD_SPECIAL the ids are framed by BOS/EOS (CLS/SEP) as
 * the metadata says; with PARSE_SPECIAL the BOS token's text in front of the
 * case gives the BOS id in front of the same ids, and without it does not.
 * For SPM, encoding word by word (the fast path) must equal encoding the
 * whole text at once (llama.cpp's way) on all cases joined together; for
 * BPE, the per-call word cache must give the same ids as merging every word.
 *
 * Last, the tiny BERT models of fixtures/models must give the ids their
 * manifest lists for bert_texts.txt ([CLS] ... [SEP]).
 *
 * argv[1], when given, restricts the run to one vocab name ("llama-spm").
 */
#include <dirent.h>

#include "llm/llm.h"
#include "llm/tokenizer.h" /* to switch off the SPM word-by-word shortcut */
#include "test.h"

#define SEP "\n__ggml_vocab_test__\n"

static bool ids_equal(const struct aios_llm_tokens *t, const int32_t *want, int nw)
{
    if ((int)t->n != nw)
        return false;
    for (int i = 0; i < nw; i++)
        if (t->ids[i] != want[i])
            return false;
    return true;
}

static void check_special(const aios_llm_vocab *v, const char *name, int c, const char *text,
                          size_t len, const int32_t *want, int nw)
{
    const struct aios_llm_vocab_special *sp = aios_llm_vocab_special(v);
    bool wpm = aios_llm_vocab_type(v) == AIOS_LLM_VOCAB_WPM;
    int32_t framed[1100];
    int nf = 0;
    if (wpm || sp->add_bos)
        framed[nf++] = sp->bos;
    memcpy(framed + nf, want, (size_t)nw * sizeof *want);
    nf += nw;
    if (wpm)
        framed[nf++] = sp->sep;
    else if (sp->add_eos)
        framed[nf++] = sp->eos;
    struct aios_llm_tokens t;
    struct aios_err err;
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, text, len, AIOS_LLM_TOK_ADD_SPECIAL, &t, &err) == AIOS_OK);
    CHECK_MSG(ids_equal(&t, framed, nf), "%s case %d with ADD_SPECIAL", name, c);
    aios_llm_tokens_free(&t);

    if (sp->bos < 0 || !(aios_llm_vocab_token_attr(v, sp->bos) & AIOS_LLM_TOKEN_CONTROL))
        return;
    const char *bt = aios_llm_vocab_token_text(v, sp->bos);
    char buf[4096];
    size_t bl = strlen(bt);
    if (bl + len > sizeof buf)
        return;
    memcpy(buf, bt, bl);
    memcpy(buf + bl, text, len);
    framed[0] = sp->bos;
    memcpy(framed + 1, want, (size_t)nw * sizeof *want);
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, buf, bl + len, AIOS_LLM_TOK_PARSE_SPECIAL, &t, &err) == AIOS_OK);
    CHECK_MSG(ids_equal(&t, framed, nw + 1), "%s case %d with PARSE_SPECIAL", name, c);
    aios_llm_tokens_free(&t);
    aios_llm_tokens_init(&t, 0);
    CHECK(aios_llm_tokenize(v, buf, bl + len, 0, &t, &err) == AIOS_OK);
    CHECK_MSG(t.n > 0 && t.ids[0] != sp->bos, "%s case %d: BOS text parsed without PARSE_SPECIAL",
              name, c);
    aios_llm_tokens_free(&t);
}

static void check_spm_split(aios_llm_vocab *v, const char *name, const char *text, size_t len)
{
    bool was = v->spm_split_ok;
    struct aios_llm_tokens a, b;
    struct aios_err err;
    aios_llm_tokens_init(&a, 0);
    aios_llm_tokens_init(&b, 0);
    CHECK(aios_llm_tokenize(v, text, len, 0, &a, &err) == AIOS_OK);
    v->spm_split_ok = false;
    CHECK(aios_llm_tokenize(v, text, len, 0, &b, &err) == AIOS_OK);
    v->spm_split_ok = was;
    CHECK_MSG(a.n == b.n && a.n > 0 && memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0,
              "%s: word-by-word SPM differs from whole-text SPM", name);
    fprintf(stderr, "%-16s SPM word-by-word %s, %zu ids on the joined cases\n", name,
            was ? "on" : "off", a.n);
    aios_llm_tokens_free(&a);
    aios_llm_tokens_free(&b);
}

/* The BPE word cache (used for long texts) must not change the ids. */
static void check_bpe_cache(aios_llm_vocab *v, const char *name, const char *text, size_t len)
{
    struct aios_buf big;
    aios_buf_init(&big, 0);
    for (int i = 0; i < 8; i++)
        aios_buf_append(&big, text, len);
    size_t was = v->bpe_cache_min_text;
    struct aios_llm_tokens a, b;
    aios_llm_tokens_init(&a, 0);
    aios_llm_tokens_init(&b, 0);
    v->bpe_cache_min_text = 1;
    CHECK(aios_llm_tokenize(v, big.data, big.len, 0, &a, NULL) == AIOS_OK);
    v->bpe_cache_min_text = SIZE_MAX;
    CHECK(aios_llm_tokenize(v, big.data, big.len, 0, &b, NULL) == AIOS_OK);
    v->bpe_cache_min_text = was;
    CHECK_MSG(a.n == b.n && a.n > 0 && memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0,
              "%s: BPE ids differ with the word cache", name);
    aios_llm_tokens_free(&a);
    aios_llm_tokens_free(&b);
    aios_buf_free(&big);
}

static int check_vocab(const char *dir, const char *name)
{
    char path[4096], inp[4200], outp[4200];
    snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, name);
    snprintf(inp, sizeof inp, "%s.inp", path);
    snprintf(outp, sizeof outp, "%s.out", path);
    struct aios_err err;
    aios_llm_vocab *v = NULL;
    int rc = aios_llm_vocab_load_file(path, &v, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: %s", name, err.msg);
    if (rc)
        return 1;
    char *in = NULL, *ex = NULL;
    size_t in_len = 0, ex_len = 0;
    CHECK(aios_read_file(inp, 1 << 20, &in, &in_len, &err) == AIOS_OK);
    CHECK(aios_read_file(outp, 1 << 20, &ex, &ex_len, &err) == AIOS_OK);
    int cases = 0, bad = 0, rt_checked = 0, rt_bad = 0;
    bool lossless = aios_llm_vocab_type(v) != AIOS_LLM_VOCAB_WPM;
    char *p = in, *end = in ? in + in_len : NULL;
    char *line = ex;
    while (in && ex && p < end) {
        char *sep = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
        if (!sep)
            break;
        size_t tlen = (size_t)(sep - p);
        char *nl = strchr(line, '\n');
        CHECK_MSG(nl != NULL, "%s: .out has fewer lines than .inp has tests", name);
        if (!nl)
            break;
        *nl = 0;
        /* expected ids */
        int32_t want[1024];
        int nw = 0;
        for (char *q = line; *q && nw < 1024;) {
            while (*q == ' ')
                q++;
            if (!*q)
                break;
            char *e;
            want[nw++] = (int32_t)strtol(q, &e, 10);
            q = e;
        }
        struct aios_llm_tokens t;
        aios_llm_tokens_init(&t, 0);
        rc = aios_llm_tokenize(v, p, tlen, 0, &t, &err);
        CHECK_MSG(rc == AIOS_OK, "%s case %d: %s", name, cases, err.msg);
        bool same = rc == AIOS_OK && (int)t.n == nw;
        for (int i = 0; same && i < nw; i++)
            same = t.ids[i] == want[i];
        if (!same) {
            bad++;
            fprintf(stderr, "%s case %d: \"%.*s\"\n  want:", name, cases, (int)tlen, p);
            for (int i = 0; i < nw; i++)
                fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n  got: ");
            for (size_t i = 0; i < t.n; i++)
                fprintf(stderr, " %d", t.ids[i]);
            fprintf(stderr, "\n");
        }
        CHECK(same);
        if (rc == AIOS_OK)
            check_special(v, name, cases, p, tlen, want, nw);
        if (lossless && rc == AIOS_OK) {
            struct aios_buf b;
            aios_buf_init(&b, 0);
            rc = aios_llm_detokenize(v, t.ids, t.n, 0, &b, &err);
            rt_checked++;
            bool ok = rc == AIOS_OK && b.len == tlen && (tlen == 0 || memcmp(b.data, p, tlen) == 0);
            if (!ok) {
                rt_bad++;
                fprintf(stderr, "%s case %d: decode gives \"%s\" for \"%.*s\"\n", name, cases,
                        b.data ? b.data : "", (int)tlen, p);
            }
            CHECK(ok);
            aios_buf_free(&b);
        }
        aios_llm_tokens_free(&t);
        cases++;
        p = sep + strlen(SEP);
        line = nl + 1;
    }
    CHECK_MSG(cases == 46, "%s: %d cases (46 expected)", name, cases);
    if (aios_llm_vocab_type(v) == AIOS_LLM_VOCAB_SPM && in)
        check_spm_split(v, name, in, in_len);
    if (aios_llm_vocab_type(v) == AIOS_LLM_VOCAB_BPE && in)
        check_bpe_cache(v, name, in, in_len);
    fprintf(stderr, "%-16s %2d/%d cases exact, round trip %d/%d\n", name, cases - bad, cases,
            rt_checked - rt_bad, rt_checked);
    aios_free(in);
    aios_free(ex);
    aios_llm_vocab_free(v);
    return bad;
}

/* The tiny BERT models of fixtures/models: manifest.json lists the ids
 * llama.cpp gave each text of bert_texts.txt with add_special. */
static void check_bert_models(const char *fx)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/models/manifest.json", fx);
    char *text = NULL;
    size_t len = 0;
    json_t *m = NULL;
    struct aios_err err;
    if (aios_read_file(path, 16 << 20, &text, &len, &err) != AIOS_OK) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    CHECK(aios_json_parse(text, len, 16 << 20, &m, &err) == AIOS_OK);
    json_t *texts = json_object_get(json_object_get(m, "bert"), "texts");
    json_t *files = json_object_get(m, "files");
    const char *fname;
    json_t *f;
    int checked = 0;
    json_object_foreach(files, fname, f)
    {
        json_t *cases = json_object_get(f, "texts");
        if (!json_is_array(cases) || !json_is_array(texts))
            continue;
        snprintf(path, sizeof path, "%s/models/%s", fx, fname);
        aios_llm_vocab *v;
        if (aios_llm_vocab_load_file(path, &v, &err) != AIOS_OK) {
            CHECK_MSG(0, "%s", err.msg);
            continue;
        }
        for (size_t i = 0; i < json_array_size(cases); i++) {
            const char *t = json_string_value(json_array_get(texts, i));
            json_t *ids = json_object_get(json_array_get(cases, i), "ids");
            struct aios_llm_tokens got;
            aios_llm_tokens_init(&got, 0);
            CHECK(t && aios_llm_tokenize(v, t, strlen(t), AIOS_LLM_TOK_ADD_SPECIAL, &got, NULL) ==
                           AIOS_OK);
            bool same = got.n == json_array_size(ids);
            for (size_t k = 0; same && k < got.n; k++)
                same = got.ids[k] == (int32_t)json_integer_value(json_array_get(ids, k));
            CHECK_MSG(same, "%s text %zu", fname, i);
            aios_llm_tokens_free(&got);
            checked++;
        }
        aios_llm_vocab_free(v);
    }
    CHECK_MSG(checked >= 4, "only %d BERT model texts checked", checked);
    fprintf(stderr, "%-16s %d texts of the BERT models exact\n", "models", checked);
    json_decref(m);
    aios_free(text);
}

int main(int argc, char **argv)
{
    const char *fx = test_fixtures();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tokenizer", fx);
    if (argc > 1) {
        check_vocab(dir, argv[1]);
        TEST_EXIT();
    }
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int nv = 0;
    struct dirent *e;
    char names[64][128];
    while (d && (e = readdir(d)) && nv < 64) {
        size_t l = strlen(e->d_name);
        if (l > 16 && strncmp(e->d_name, "ggml-vocab-", 11) == 0 &&
            strcmp(e->d_name + l - 5, ".gguf") == 0 && l - 16 < 128) {
            memcpy(names[nv], e->d_name + 11, l - 16);
            names[nv][l - 16] = 0;
            nv++;
        }
    }
    if (d)
        closedir(d);
    CHECK_MSG(nv >= 14, "only %d vocabularies found", nv);
    for (int i = 0; i < nv; i++)
        check_vocab(dir, names[i]);
    check_bert_models(fx);
    TEST_EXIT();
}
