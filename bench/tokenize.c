/*
 * Tokenizer throughput: MB/s encoding 1 MiB of mixed text with the
 * llama-bpe, qwen2, llama-spm and bert-bge vocabularies (fixtures/tokenizer).
 *
 * The text is built here, deterministically, from four quarters interleaved
 * in 4 KiB blocks: English prose (the Markdown files of the repository and
 * of ../shared), C code (src/), log lines (../shared/data/loghub) and
 * Chinese (the Chinese strings of the fixtures, plus sentences made of
 * Chinese words drawn with a fixed seed from the qwen2 vocabulary, since the
 * fixtures hold only a few Chinese lines). Each vocab encodes the whole MiB
 * as one call, without special-token parsing, best of several runs; MB/s is
 * from wall time, MB/s(cpu) from the thread's CPU time (steadier on a busy
 * machine), and the ratio compares wall MB/s with llama.cpp's figures;
 * us/call is the CPU time of one 173-byte chat prompt (specials parsed).
 *
 * Usage: build/bench/tokenize [--runs N] [--size BYTES] [--vocab NAME]
 * Environment: AIOS_FIXTURES, AIOS_DATA (defaults next to the source tree).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "llm/llm.h"

#define BLOCK 4096

static const char *dir_of(const char *env, const char *rel, char *buf, size_t n)
{
    const char *d = getenv(env);
    if (d && *d)
        return d;
    snprintf(buf, n, "%s/../shared/%s", AIOS_SOURCE_DIR, rel);
    return buf;
}

static int add_file(struct aios_buf *b, const char *path, size_t want)
{
    char *data;
    size_t len;
    if (aios_read_file(path, 64 << 20, &data, &len, NULL) != AIOS_OK)
        return -1;
    if (b->len < want)
        aios_buf_append(b, data, len < want - b->len ? len : want - b->len);
    aios_free(data);
    return 0;
}

/* Adds files under dir whose names end in ext (recursively), until want bytes. */
static void add_tree(struct aios_buf *b, const char *dir, const char *ext, size_t want)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while (b->len < want && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            add_tree(b, path, ext, want);
        } else {
            size_t l = strlen(e->d_name), le = strlen(ext);
            if (l > le && strcmp(e->d_name + l - le, ext) == 0) {
                add_file(b, path, want);
                aios_buf_putc(b, '\n');
            }
        }
    }
    closedir(d);
}

/* Repeats b's content until it has want bytes (sources smaller than a quarter). */
static void fill_to(struct aios_buf *b, size_t want)
{
    size_t n = b->len;
    if (n == 0)
        return;
    char *copy = aios_malloc(n); /* b->data moves as b grows */
    if (!copy)
        return;
    memcpy(copy, b->data, n);
    while (b->len < want) {
        size_t k = want - b->len < n ? want - b->len : n;
        if (aios_buf_append(b, copy, k))
            break;
    }
    aios_free(copy);
}

static bool is_cjk_token(const char *s, size_t n)
{
    /* byte-level text of a qwen2 token; CJK ideographs are E4..E9 lead bytes,
     * which the byte-level alphabet writes as two-byte characters: decode by
     * detokenizing instead (caller does) */
    if (n < 6)
        return false;
    for (size_t i = 0; i < n; i += 3) {
        unsigned char c = (unsigned char)s[i];
        if (i + 3 > n || c < 0xE4 || c > 0xE9)
            return false;
    }
    return true;
}

static void add_chinese(struct aios_buf *b, const char *fx, size_t want)
{
    /* the Chinese lines of the fixtures */
    static const char *const lines[] = {
        "你是运维助手。磁盘使用率超过90%，请检查 /var/log 🙂\n第二行\tTab\n",
        "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～\n",
    };
    for (int i = 0; i < 2; i++)
        aios_buf_puts(b, lines[i]);
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-qwen2.gguf", fx);
    aios_llm_vocab *v;
    if (aios_llm_vocab_load_file(path, &v, NULL) != AIOS_OK)
        return;
    int32_t n = aios_llm_vocab_n_tokens(v);
    int32_t *words = aios_malloc((size_t)n * sizeof *words);
    int32_t nw = 0;
    struct aios_buf t;
    aios_buf_init(&t, 0);
    for (int32_t id = 0; id < n && words; id++) {
        t.len = 0;
        if (aios_llm_token_piece(v, id, false, &t, NULL) == AIOS_OK && is_cjk_token(t.data, t.len))
            words[nw++] = id;
    }
    uint64_t x = 0x2545F4914F6CDD1Dull;
    int in_sentence = 0;
    while (nw > 0 && b->len < want) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        uint64_t r = x * 0x2545F4914F6CDD1Dull;
        aios_llm_token_piece(v, words[(r >> 33) % (uint64_t)nw], false, b, NULL);
        if (++in_sentence > 6 + (int)(r % 9)) {
            aios_buf_puts(b, (r >> 8) % 4 ? "，" : "。\n");
            in_sentence = 0;
        }
    }
    aios_buf_free(&t);
    aios_free(words);
    aios_llm_vocab_free(v);
}

/* Cuts at most n bytes from s at a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t size = 1 << 20;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        int64_t v;
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc && aios_parse_i64(argv[++i], &v) == 0 &&
            v > 0)
            runs = (int)v;
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
                 aios_parse_i64(argv[++i], &v) == 0 && v > 0)
            size = (size_t)v;
        else if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--runs N] [--size BYTES] [--vocab NAME]\n", argv[0]);
            return 2;
        }
    }
    char b1[4096], b2[4096];
    const char *fx = dir_of("AIOS_FIXTURES", "fixtures", b1, sizeof b1);
    const char *data = dir_of("AIOS_DATA", "data", b2, sizeof b2);
    size_t q = size / 4 + 8 * BLOCK;

    struct aios_buf part[4];
    for (int i = 0; i < 4; i++)
        aios_buf_init(&part[i], 0);
    char path[4200];
    add_tree(&part[0], AIOS_SOURCE_DIR "/docs", ".md", q);
    snprintf(path, sizeof path, "%s/..", fx);
    add_tree(&part[0], path, ".md", q); /* DESIGN.md, STYLE.md, the READMEs */
    add_tree(&part[1], AIOS_SOURCE_DIR "/src", ".c", q);
    snprintf(path, sizeof path, "%s/loghub", data);
    add_tree(&part[2], path, ".log", q);
    add_chinese(&part[3], fx, q);
    static const char *const names[4] = {"english", "c-code", "logs", "chinese"};
    for (int i = 0; i < 4; i++) {
        if (part[i].len == 0) {
            fprintf(stderr, "no %s text found (fixtures at %s, data at %s)\n", names[i], fx, data);
            return 1;
        }
        fill_to(&part[i], q);
    }
    struct aios_buf text;
    aios_buf_init(&text, 0);
    size_t pos[4] = {0, 0, 0, 0};
    for (int k = 0; text.len < size; k = (k + 1) % 4) {
        size_t room = part[k].len - pos[k] - 1; /* utf8_cut looks at one byte past */
        size_t n = utf8_cut(part[k].data + pos[k], BLOCK < room ? BLOCK : room);
        if (n > size - text.len)
            n = utf8_cut(part[k].data + pos[k], size - text.len);
        if (n == 0)
            break;
        aios_buf_append(&text, part[k].data + pos[k], n);
        pos[k] += n;
    }
    printf("text: %zu bytes (english %zu, c-code %zu, logs %zu, chinese %zu), best of %d runs\n",
           text.len, pos[0], pos[1], pos[2], pos[3], runs);

    static const char *const vocabs[] = {"llama-bpe", "qwen2", "llama-spm", "bert-bge"};
    static const double llama_cpp[] = {4.4, 2.6, 2.2, 10.0};
    printf("%-12s %8s %8s %8s %10s %10s %6s %8s\n", "vocab", "tokens", "ms", "MB/s", "MB/s(cpu)",
           "llama.cpp", "ratio", "us/call");
    /* the four vocabs, or only the one named (any fixture vocab) */
    for (int vi = 0; vi < (only ? 1 : 4); vi++) {
        const char *name = only ? only : vocabs[vi];
        double ref = 0;
        for (int k = 0; k < 4; k++)
            if (strcmp(name, vocabs[k]) == 0)
                ref = llama_cpp[k];
        snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-%s.gguf", fx, name);
        struct aios_err err;
        aios_llm_vocab *v;
        if (aios_llm_vocab_load_file(path, &v, &err) != AIOS_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double best = 1e30, best_cpu = 1e30;
        size_t ntok = 0;
        for (int r = 0; r < runs; r++) {
            struct aios_llm_tokens t;
            aios_llm_tokens_init(&t, 0);
            struct timespec c0, c1;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
            double t0 = aios_time_s();
            if (aios_llm_tokenize(v, text.data, text.len, 0, &t, &err) != AIOS_OK) {
                fprintf(stderr, "%s: %s\n", name, err.msg);
                return 1;
            }
            double dt = aios_time_s() - t0;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
            double dc = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
            if (dt < best)
                best = dt;
            if (dc < best_cpu)
                best_cpu = dc;
            ntok = t.n;
            aios_llm_tokens_free(&t);
        }
        double mbs = (double)text.len / (1 << 20) / best;
        double mbs_cpu = (double)text.len / (1 << 20) / best_cpu;
        /* latency of one short chat-like prompt (specials parsed), CPU time per call */
        static const char prompt[] =
            "<|im_start|>system\nYou are an operations assistant. Disk usage on db-01 is above "
            "90%, check /var/log and rotate logs.<|im_end|>\n<|im_start|>user\nWhat should I "
            "do?<|im_end|>\n";
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        int calls = 2000;
        for (int i = 0; i < calls; i++) {
            struct aios_llm_tokens t;
            aios_llm_tokens_init(&t, 0);
            aios_llm_tokenize(v, prompt, sizeof prompt - 1, AIOS_LLM_TOK_PARSE_SPECIAL, &t, NULL);
            aios_llm_tokens_free(&t);
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double us = ((double)(c1.tv_sec - c0.tv_sec) * 1e9 + (double)(c1.tv_nsec - c0.tv_nsec)) /
                    calls / 1e3;
        if (ref > 0)
            printf("%-12s %8zu %8.1f %8.2f %10.2f %10.1f %5.1fx %8.1f\n", name, ntok, best * 1e3,
                   mbs, mbs_cpu, ref, mbs / ref, us);
        else
            printf("%-12s %8zu %8.1f %8.2f %10.2f %10s %6s %8.1f\n", name, ntok, best * 1e3, mbs,
                   mbs_cpu, "-", "-", us);
        aios_llm_vocab_free(v);
    }
    for (int i = 0; i < 4; i++)
        aios_buf_free(&part[i]);
    aios_buf_free(&text);
    return 0;
}
