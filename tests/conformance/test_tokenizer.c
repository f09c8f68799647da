/*
 * Tokenizer conformance: every vocabulary in fixtures/tokenizer/ with its
 * .inp/.out vectors (llama.cpp / Hugging Face ids, no BOS, special-token
 * text not parsed). Every case must give exactly the expected ids; no
 * tolerance, ids are exact. Decoding the ids must give back the input where
 * the tokenizer is lossless (SPM and byte-level BPE; not WordPiece, which
 * lower-cases and drops accents and spaces).
 *
 * argv[1], when given, restricts the run to one vocab name ("llama-spm").
 */
#include <dirent.h>

#include "llm/llm.h"
#include "test.h"

#define SEP "\n__ggml_vocab_test__\n"

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
    fprintf(stderr, "%-16s %2d/%d cases exact, round trip %d/%d\n", name, cases - bad, cases,
            rt_checked - rt_bad, rt_checked);
    aios_free(in);
    aios_free(ex);
    aios_llm_vocab_free(v);
    return bad;
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
    TEST_EXIT();
}
