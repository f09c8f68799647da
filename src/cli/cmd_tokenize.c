/* `aios tokenize` and `aios detokenize`: a model's tokenizer from the command line. */
#include "cli/cli.h"
#include "llm/llm.h"

#include <stdio.h>
#include <string.h>

/* Reads all of stdin (at most max bytes) into b, byte for byte. */
static int read_stdin(struct aios_buf *b, size_t max, struct aios_err *err)
{
    aios_buf_init(b, max);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        int rc = aios_buf_append(b, chunk, n);
        if (rc == AIOS_ELIMIT)
            return aios_err_set(err, rc, "standard input is longer than %zu bytes", max);
        if (rc)
            return aios_err_set(err, rc, "reading standard input: %s", aios_status_str(rc));
    }
    if (ferror(stdin))
        return aios_err_set(err, AIOS_EIO, "reading standard input failed");
    return AIOS_OK;
}

/* Prints s[0..n) with C escapes for quotes, backslashes, control and non-UTF-8 bytes. */
static void print_escaped(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\\' || c == '\'')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            fprintf(f, "\\x%02x", c);
        else if (c >= 0x80) {
            /* keep complete UTF-8 sequences, escape stray bytes */
            size_t l = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            bool ok = l > 0 && i + l <= n;
            for (size_t k = 1; ok && k < l; k++)
                ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
            if (ok) {
                fwrite(s + i, 1, l, f);
                i += l - 1;
            } else {
                fprintf(f, "\\x%02x", c);
            }
        } else
            fputc(c, f);
    }
}

static bool valid_utf8(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n); /* jansson validates */
    bool ok = j != NULL;
    json_decref(j);
    return ok;
}

static const struct aios_cmd_spec tokenize_spec = {
    .name = "tokenize",
    .usage = "-m FILE [--ids|--pieces|--json] [--no-bos] [--special] TEXT",
    .summary = "Print the token ids of TEXT under a model's tokenizer.",
    .description = "TEXT '-' reads standard input byte for byte (nothing is stripped). BOS/EOS\n"
                   "are added as the model's metadata says unless --no-bos; the text of special\n"
                   "tokens (\"<|im_start|>\") is only recognised with --special (user-defined\n"
                   "tokens, such as runs of spaces in some vocabularies, always are, as in\n"
                   "llama.cpp and Hugging Face). The default output is one line per token: id,\n"
                   "a tab, and the token's text (escaped). --ids prints the ids on one line\n"
                   "separated by single spaces; --pieces the texts only, one per line; --json an\n"
                   "object with ids, tokens (as stored in the vocabulary) and pieces (decoded\n"
                   "text, null where not valid UTF-8).",
    .min_pos = 1,
    .max_pos = 1,
};

int aios_cmd_tokenize(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL;
    bool ids_only = false, pieces = false, json = false, no_bos = false, special = false;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF file with the tokenizer (required)"},
        {"ids", 0, AIOS_OPT_BOOL, &ids_only, NULL, "only the ids, space-separated on one line"},
        {"pieces", 0, AIOS_OPT_BOOL, &pieces, NULL, "only the token texts, one per line"},
        {"json", 0, AIOS_OPT_BOOL, &json, NULL, "a JSON object"},
        {"no-bos", 0, AIOS_OPT_BOOL, &no_bos, NULL, "add no BOS/EOS"},
        {"special", 0, AIOS_OPT_BOOL, &special, NULL, "parse special-token text"},
        {0},
    };
    struct aios_cmd_spec spec = tokenize_spec;
    spec.opts = opts;
    char **pos = aios_malloc((size_t)(argc > 0 ? argc : 1) * sizeof *pos);
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        return rc < 0 ? 0 : rc;
    }
    if (!model) {
        aios_free(pos);
        return aios_cli_usage_error(&spec, "-m FILE is required");
    }
    if ((int)ids_only + (int)pieces + (int)json > 1) {
        aios_free(pos);
        return aios_cli_usage_error(&spec, "--ids, --pieces and --json exclude each other");
    }
    struct aios_err err;
    aios_err_clear(&err);
    struct aios_buf in;
    aios_buf_init(&in, 0);
    const char *text = pos[0];
    size_t len = strlen(text);
    aios_llm_vocab *v = NULL;
    struct aios_llm_tokens t;
    aios_llm_tokens_init(&t, 0);
    int exit = AIOS_EXIT_FAIL;
    if (strcmp(text, "-") == 0) {
        if (read_stdin(&in, AIOS_LLM_TOKENIZE_MAX_BYTES, &err))
            goto out;
        text = in.data ? in.data : "";
        len = in.len;
    }
    if (aios_llm_vocab_load_file(model, &v, &err))
        goto out;
    unsigned flags =
        (no_bos ? 0 : AIOS_LLM_TOK_ADD_SPECIAL) | (special ? AIOS_LLM_TOK_PARSE_SPECIAL : 0);
    if (aios_llm_tokenize(v, text, len, flags, &t, &err))
        goto out;
    struct aios_buf piece;
    aios_buf_init(&piece, 0);
    if (json) {
        json_t *o = json_object(), *ids = json_array(), *toks = json_array(), *pcs = json_array();
        for (size_t i = 0; i < t.n; i++) {
            json_array_append_new(ids, json_integer(t.ids[i]));
            json_array_append_new(toks, json_string(aios_llm_vocab_token_text(v, t.ids[i])));
            piece.len = 0;
            aios_llm_token_piece(v, t.ids[i], true, &piece, NULL);
            json_array_append_new(pcs, valid_utf8(piece.data ? piece.data : "", piece.len)
                                           ? json_stringn(piece.data ? piece.data : "", piece.len)
                                           : json_null());
        }
        json_object_set_new(o, "n_tokens", json_integer((json_int_t)t.n));
        json_object_set_new(o, "ids", ids);
        json_object_set_new(o, "tokens", toks);
        json_object_set_new(o, "pieces", pcs);
        char *s = aios_json_dumps(o, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        aios_free(s);
        json_decref(o);
    } else if (ids_only) {
        for (size_t i = 0; i < t.n; i++)
            printf(i ? " %d" : "%d", t.ids[i]);
        printf("\n");
    } else {
        for (size_t i = 0; i < t.n; i++) {
            piece.len = 0;
            aios_llm_token_piece(v, t.ids[i], true, &piece, NULL);
            if (!pieces)
                printf("%d\t", t.ids[i]);
            print_escaped(stdout, piece.data ? piece.data : "", piece.len);
            putchar('\n');
        }
    }
    aios_buf_free(&piece);
    exit = AIOS_EXIT_OK;
out:
    if (exit != AIOS_EXIT_OK)
        aios_cli_fail(&spec, &err);
    aios_llm_tokens_free(&t);
    aios_llm_vocab_free(v);
    aios_buf_free(&in);
    aios_free(pos);
    return exit;
}

static const struct aios_cmd_spec detokenize_spec = {
    .name = "detokenize",
    .usage = "-m FILE [--special] [--remove-special] [--no-clean] IDS...",
    .summary = "Print the text of token ids under a model's tokenizer.",
    .description = "IDS are separated by commas and/or spaces, in one argument or several;\n"
                   "'-' reads them from standard input. The text is written as it is, with no\n"
                   "newline added. Control tokens (BOS, <|im_end|>, ...) print nothing unless\n"
                   "--special; --remove-special drops the leading BOS and trailing EOS the\n"
                   "model adds. Like llama.cpp, spaces before . , ! ? and 's 're 've 'm are\n"
                   "removed for the vocabularies that ask for it (GPT-2 style BPE, WordPiece)\n"
                   "unless --no-clean.",
    .min_pos = 1,
    .max_pos = -1,
};

/* Appends the ids in s (commas and whitespace separate them). */
static int parse_ids(const char *s, struct aios_llm_tokens *t, struct aios_err *err)
{
    while (*s) {
        while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        size_t n = strcspn(s, ", \t\r\n");
        char tok[32];
        int64_t id;
        if (n >= sizeof tok)
            return aios_err_set(err, AIOS_EINVAL, "'%.*s...' is not a token id", 20, s);
        memcpy(tok, s, n);
        tok[n] = 0;
        if (aios_parse_i64(tok, &id) || id < 0 || id > INT32_MAX)
            return aios_err_set(err, AIOS_EINVAL, "'%s' is not a token id", tok);
        int rc = aios_llm_tokens_push(t, (int32_t)id);
        if (rc)
            return aios_err_set(err, rc, "too many ids");
        s += n;
    }
    return AIOS_OK;
}

int aios_cmd_detokenize(struct aios_cli *cli, int argc, char **argv)
{
    const char *model = NULL;
    bool special = false, remove_special = false, no_clean = false;
    struct aios_opt opts[] = {
        {"model", 'm', AIOS_OPT_STR, &model, "FILE", "GGUF file with the tokenizer (required)"},
        {"special", 0, AIOS_OPT_BOOL, &special, NULL, "print the text of control tokens"},
        {"remove-special", 0, AIOS_OPT_BOOL, &remove_special, NULL,
         "drop the BOS/EOS the model adds"},
        {"no-clean", 0, AIOS_OPT_BOOL, &no_clean, NULL, "keep spaces before punctuation"},
        {0},
    };
    struct aios_cmd_spec spec = detokenize_spec;
    spec.opts = opts;
    char **pos = aios_malloc((size_t)(argc > 0 ? argc : 1) * sizeof *pos);
    if (!pos)
        return AIOS_EXIT_FAIL;
    int npos;
    int rc = aios_cli_parse(cli, &spec, argc, argv, pos, &npos);
    if (rc) {
        aios_free(pos);
        return rc < 0 ? 0 : rc;
    }
    if (!model) {
        aios_free(pos);
        return aios_cli_usage_error(&spec, "-m FILE is required");
    }
    struct aios_err err;
    aios_err_clear(&err);
    struct aios_llm_tokens t;
    aios_llm_tokens_init(&t, 0);
    struct aios_buf in, out;
    aios_buf_init(&in, 0);
    aios_buf_init(&out, 0);
    aios_llm_vocab *v = NULL;
    int exit = AIOS_EXIT_FAIL;
    for (int i = 0; i < npos; i++) {
        if (strcmp(pos[i], "-") == 0) {
            if (read_stdin(&in, (size_t)1 << 30, &err) ||
                parse_ids(in.data ? in.data : "", &t, &err))
                goto out;
        } else if (parse_ids(pos[i], &t, &err)) {
            goto out;
        }
    }
    if (aios_llm_vocab_load_file(model, &v, &err))
        goto out;
    unsigned flags =
        (special ? AIOS_LLM_DETOK_UNPARSE_SPECIAL : 0) |
        (remove_special ? AIOS_LLM_DETOK_REMOVE_SPECIAL : 0) |
        (!no_clean && aios_llm_vocab_special(v)->clean_spaces ? AIOS_LLM_DETOK_CLEAN_SPACES : 0);
    if (aios_llm_detokenize(v, t.ids, t.n, flags, &out, &err))
        goto out;
    if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
        aios_err_set(&err, AIOS_EIO, "writing standard output failed");
        goto out;
    }
    exit = AIOS_EXIT_OK;
out:
    if (exit != AIOS_EXIT_OK)
        aios_cli_fail(&spec, &err);
    aios_llm_tokens_free(&t);
    aios_llm_vocab_free(v);
    aios_buf_free(&in);
    aios_buf_free(&out);
    aios_free(pos);
    return exit;
}
