/*
 * Unit tests of the model registry (src/mlops/registry*.c): name, alias,
 * tag and reference rules; registering with described files (no GGUF
 * needed), kinds, duplicates, lineage, tags; resolution of NAME, NAME@N,
 * NAME@ALIAS and NAME@latest; aliases; removal and version numbers that
 * are never reused; atomicity under allocation failure at every step; the
 * MLflow-shaped JSON; and reading real GGUF fixtures (skipped without
 * them) including truncated, corrupt and missing files.
 */
#include "test.h"

#include "mlops/mlops.h"

#include <unistd.h>

static aios_store *open_mem(void)
{
    struct aios_store_opts o = {.path = ":memory:"};
    aios_store *st = NULL;
    struct aios_err err;
    int rc = aios_store_open(&o, &st, &err);
    CHECK_MSG(rc == AIOS_OK, "%s", err.msg);
    return st;
}

/* A described file; sha256 is 64 copies of c. */
static struct aios_registry_file file_of(char c)
{
    struct aios_registry_file f = {
        .path = "/models/m.gguf",
        .size_bytes = 1234,
        .architecture = "llama",
        .n_params = 1000,
        .file_type = "Q4_0",
        .context_length = 512,
        .tokenizer = "llama",
    };
    memset(f.sha256, c, 64);
    f.sha256[64] = 0;
    return f;
}

static int add(aios_store *st, const char *name, char sha, const char *kind, int64_t *v,
               struct aios_err *err)
{
    struct aios_registry_file f = file_of(sha);
    struct aios_registry_add req = {.name = name, .kind = kind, .file = &f};
    return aios_registry_add(st, &req, v, err);
}

static void test_names_aliases_tags(void)
{
    struct aios_err err;
    const char *good[] = {"llama", "Qwen2.5-7B", "a", "0model", "x_y.z-1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_MSG(aios_registry_name_check(good[i], &err) == AIOS_OK, "%s", good[i]);
    const char *bad[] = {"", "-lead", ".hidden", "has space", "a@b", "a/b", "naïve", "x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(aios_registry_name_check(bad[i], &err) == AIOS_EINVAL, "%s", bad[i]);
    CHECK_EQ_INT(aios_registry_name_check(NULL, &err), AIOS_EINVAL);
    char longname[AIOS_REGISTRY_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK_EQ_INT(aios_registry_name_check(longname, &err), AIOS_EINVAL);
    longname[AIOS_REGISTRY_NAME_MAX] = 0;
    CHECK_EQ_INT(aios_registry_name_check(longname, &err), AIOS_OK);

    CHECK_EQ_INT(aios_registry_alias_check("production", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_alias_check("canary_2", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_alias_check("2prod", &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_alias_check("latest", &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "reserved") != NULL);
    CHECK_EQ_INT(aios_registry_alias_check("a.b", &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_alias_check("", &err), AIOS_EINVAL);

    char *k, *v;
    CHECK_EQ_INT(aios_registry_tag_parse("stage=prod=1", &k, &v, &err), AIOS_OK);
    CHECK_EQ_STR(k, "stage");
    CHECK_EQ_STR(v, "prod=1");
    aios_free(k);
    aios_free(v);
    CHECK_EQ_INT(aios_registry_tag_parse("empty=", &k, &v, &err), AIOS_OK);
    CHECK_EQ_STR(v, "");
    aios_free(k);
    aios_free(v);
    CHECK_EQ_INT(aios_registry_tag_parse("novalue", &k, &v, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_tag_parse("=v", &k, &v, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_tag_parse("a b=v", &k, &v, &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_tag_parse("k=line\nbreak", &k, &v, &err), AIOS_EINVAL);
    CHECK(k == NULL && v == NULL);
}

static void test_ref_parse(void)
{
    struct aios_registry_ref r;
    struct aios_err err;
    CHECK_EQ_INT(aios_registry_ref_parse("llama", &r, &err), AIOS_OK);
    CHECK_EQ_STR(r.name, "llama");
    CHECK_EQ_INT(r.version, 0);
    CHECK_EQ_STR(r.alias, "");
    CHECK_EQ_INT(aios_registry_ref_parse("llama@12", &r, &err), AIOS_OK);
    CHECK_EQ_INT(r.version, 12);
    CHECK_EQ_INT(aios_registry_ref_parse("llama@production", &r, &err), AIOS_OK);
    CHECK_EQ_STR(r.alias, "production");
    CHECK_EQ_INT(aios_registry_ref_parse("llama@latest", &r, &err), AIOS_OK);
    CHECK_EQ_STR(r.alias, "latest");
    const char *bad[] = {"llama@",    "@1",        "llama@0",    "llama@-1", "llama@1x",
                         "llama@a.b", "llama@1@2", "bad name@1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(aios_registry_ref_parse(bad[i], &r, &err) == AIOS_EINVAL, "%s", bad[i]);
    CHECK_EQ_INT(aios_registry_ref_parse(NULL, &r, &err), AIOS_EINVAL);
}

static void test_add_rules(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    int64_t v = 0;
    CHECK_EQ_INT(add(st, "llama", 'a', NULL, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(add(st, "llama", 'b', "base", &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 2);
    /* Kind must not contradict the model (a conflict with what is stored). */
    CHECK_EQ_INT(add(st, "llama", 'c', "proprietary", &v, &err), AIOS_ESTATE);
    CHECK(strstr(err.msg, "registered as base") != NULL);
    CHECK_EQ_INT(add(st, "llama", 'c', "other", &v, &err), AIOS_EINVAL);
    /* The same file twice in one model is refused; in another model not. */
    CHECK_EQ_INT(add(st, "llama", 'a', NULL, &v, &err), AIOS_EEXIST);
    CHECK(strstr(err.msg, "llama@1") != NULL);
    CHECK_EQ_INT(add(st, "ours", 'a', "proprietary", &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(add(st, "bad name", 'd', NULL, &v, &err), AIOS_EINVAL);

    struct aios_registry_file f = file_of('e');
    const char *tags[] = {"stage=dev", "owner=netops", "stage=qa"};
    struct aios_registry_add req = {.name = "llama",
                                    .file = &f,
                                    .tags = tags,
                                    .n_tags = 3,
                                    .description = "tiny",
                                    .from = "llama@1",
                                    .how = "quantize"};
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 3);
    struct aios_store_model m;
    struct aios_store_model_version mv;
    CHECK_EQ_INT(aios_registry_resolve(st, "llama@3", &m, &mv, &err), AIOS_OK);
    CHECK_EQ_STR(m.description, "tiny");
    CHECK_EQ_STR(mv.source_model, "llama");
    CHECK_EQ_INT(mv.source_version, 1);
    CHECK_EQ_STR(mv.lineage, "quantize");
    struct aios_store_tag *tg;
    int nt;
    CHECK_EQ_INT(aios_store_version_tag_list(st, mv.id, &tg, &nt, &err), AIOS_OK);
    CHECK_EQ_INT(nt, 2); /* the later stage= replaced the first */
    if (nt == 2)
        CHECK_EQ_STR(tg[1].value, "qa");
    aios_store_tags_free(tg, nt);
    aios_store_model_free(&m);
    aios_store_model_version_free(&mv);

    /* Lineage errors, each leaving nothing behind. */
    f = file_of('f');
    req.tags = NULL;
    req.n_tags = 0;
    req.from = "llama@9";
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "--from") != NULL);
    req.from = "ghost@1";
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_ENOTFOUND);
    req.how = NULL;
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_EINVAL);
    req.from = "llama@1";
    req.how = "borrow";
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_EINVAL);
    req.from = NULL;
    req.how = NULL;
    const char *badtags[] = {"ok=1", "broken"};
    req.tags = badtags;
    req.n_tags = 2;
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_EINVAL);
    /* A bad hash. */
    req.tags = NULL;
    req.n_tags = 0;
    f.sha256[3] = 'G';
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_EINVAL);
    /* None of the failures used up a version number or wrote a row. */
    f = file_of('f');
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 4);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

static void test_resolve_alias_remove(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    int64_t v;
    for (char c = 'a'; c <= 'c'; c++)
        CHECK_EQ_INT(add(st, "qwen", c, NULL, &v, &err), AIOS_OK);
    struct aios_store_model_version mv;
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen", NULL, &mv, &err), AIOS_OK);
    CHECK_EQ_INT(mv.version, 3);
    aios_store_model_version_free(&mv);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@latest", NULL, &mv, &err), AIOS_OK);
    CHECK_EQ_INT(mv.version, 3);
    aios_store_model_version_free(&mv);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@2", NULL, &mv, &err), AIOS_OK);
    CHECK_EQ_INT(mv.version, 2);
    CHECK(mv.sha256[0] == 'b');
    aios_store_model_version_free(&mv);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@7", NULL, NULL, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "no version 7") != NULL);
    CHECK_EQ_INT(aios_registry_resolve(st, "nope", NULL, NULL, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "not registered") != NULL);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@prod", NULL, NULL, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "no alias 'prod'") != NULL);

    CHECK_EQ_INT(aios_registry_alias_set(st, "qwen", 1, "prod", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@prod", NULL, &mv, &err), AIOS_OK);
    CHECK_EQ_INT(mv.version, 1);
    aios_store_model_version_free(&mv);
    CHECK_EQ_INT(aios_registry_alias_set(st, "qwen", 2, "prod", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@prod", NULL, &mv, &err), AIOS_OK);
    CHECK_EQ_INT(mv.version, 2);
    aios_store_model_version_free(&mv);
    CHECK_EQ_INT(aios_registry_alias_set(st, "qwen", 9, "prod", &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_registry_alias_set(st, "ghost", 1, "prod", &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_registry_alias_set(st, "qwen", 1, "latest", &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_alias_set(st, "qwen", 1, "canary", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_alias_delete(st, "qwen", "canary", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_alias_delete(st, "qwen", "canary", &err), AIOS_ENOTFOUND);

    /* Removing the latest version: NAME now means the previous one, and
     * numbers are never reused. Removing the aliased version drops the
     * alias. */
    CHECK_EQ_INT(aios_registry_remove(st, "qwen@prod", &err), AIOS_EINVAL);
    CHECK_EQ_INT(aios_registry_remove(st, "qwen@3", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_remove(st, "qwen@3", &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen", NULL, &mv, &err), AIOS_OK);
    CHECK_EQ_INT(mv.version, 2);
    aios_store_model_version_free(&mv);
    CHECK_EQ_INT(add(st, "qwen", 'd', NULL, &v, &err), AIOS_OK);
    CHECK_EQ_INT(v, 4);
    CHECK_EQ_INT(aios_registry_remove(st, "qwen@2", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen@prod", NULL, NULL, &err), AIOS_ENOTFOUND);
    /* A model without versions resolves to a clear error. */
    CHECK_EQ_INT(aios_registry_remove(st, "qwen@1", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_remove(st, "qwen@4", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_resolve(st, "qwen", NULL, NULL, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "no versions") != NULL);
    CHECK_EQ_INT(aios_registry_remove(st, "qwen", &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_remove(st, "qwen", &err), AIOS_ENOTFOUND);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

/* Counts versions and tags; a registration is complete when its version
 * exists with both tags, absent when neither does. */
static void count_rows(aios_store *st, const char *name, int *nversions, int *ntags)
{
    *nversions = *ntags = 0;
    struct aios_store_model m;
    if (aios_store_model_get(st, name, &m, NULL) != AIOS_OK)
        return;
    struct aios_store_model_version *vs;
    int n;
    if (aios_store_model_version_list(st, m.id, &vs, &n, NULL) == AIOS_OK) {
        *nversions = n;
        for (int i = 0; i < n; i++) {
            struct aios_store_tag *t;
            int nt;
            if (aios_store_version_tag_list(st, vs[i].id, &t, &nt, NULL) == AIOS_OK) {
                *ntags += nt;
                aios_store_tags_free(t, nt);
            }
        }
        aios_store_model_versions_free(vs, n);
    }
    aios_store_model_free(&m);
}

/* Fails each allocation of a registration in turn (n = 1, 2, ... until the
 * registration no longer allocates enough to fail): every attempt must
 * leave all of it (version and both tags) or none of it, and the handle
 * outside any transaction. */
static void test_add_is_atomic(void)
{
    const char *dir = test_tmpdir("registry_atomic");
    CHECK(dir != NULL);
    char d[4096];
    snprintf(d, sizeof d, "%s", dir ? dir : "/nonexistent");
    aios_store *st = NULL;
    struct aios_err err;
    if (aios_store_open_dir(d, &st, &err) != AIOS_OK) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    int failed = 0, streak = 0;
    long n;
    for (n = 1; n <= 20000 && streak < 20; n++) {
        struct aios_registry_file f = file_of('a');
        snprintf(f.sha256, sizeof f.sha256, "%064lx", n);
        const char *tags[] = {"a=1", "b=2"};
        struct aios_registry_add req = {.name = "atomic", .file = &f, .tags = tags, .n_tags = 2};
        int before_v, before_t, after_v, after_t;
        count_rows(st, "atomic", &before_v, &before_t);
        aios_mem_fail_after(n);
        int rc = aios_registry_add(st, &req, NULL, &err);
        aios_mem_fail_after(0);
        count_rows(st, "atomic", &after_v, &after_t);
        if (rc == AIOS_OK) {
            streak++;
            CHECK_EQ_INT(after_v, before_v + 1);
            CHECK_EQ_INT(after_t, before_t + 2);
        } else {
            streak = 0;
            failed++;
            CHECK_MSG(after_v == before_v && after_t == before_t,
                      "n=%ld: %d/%d rows before, %d/%d after a failed add (%s)", n, before_v,
                      before_t, after_v, after_t, err.msg);
        }
        CHECK_EQ_INT(aios_store_tx_depth(st), 0);
    }
    CHECK(failed > 100); /* the insert path was really exercised */
    CHECK_EQ_INT(streak, 20);
    CHECK_EQ_INT(aios_store_check(st, &err), AIOS_OK);
    aios_store_close(st);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_json(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    int64_t v;
    CHECK_EQ_INT(add(st, "llama", 'a', NULL, &v, &err), AIOS_OK);
    struct aios_registry_file f = file_of('b');
    f.metadata = json_pack("{s:s, s:i}", "general.name", "tiny", "llama.block_count", 2);
    const char *tags[] = {"stage=qa"};
    struct aios_registry_add req = {.name = "llama",
                                    .file = &f,
                                    .tags = tags,
                                    .n_tags = 1,
                                    .from = "llama@1",
                                    .how = "finetune"};
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_OK);
    json_decref(f.metadata);
    CHECK_EQ_INT(aios_registry_alias_set(st, "llama", 1, "production", &err), AIOS_OK);

    json_t *m = NULL;
    CHECK_EQ_INT(aios_registry_model_to_json(st, "llama", false, &m, &err), AIOS_OK);
    CHECK_EQ_STR(jstr(m, "name"), "llama");
    CHECK_EQ_STR(jstr(m, "kind"), "base");
    CHECK(json_is_integer(json_object_get(m, "creation_timestamp")));
    json_t *latest = json_object_get(m, "latest_versions");
    CHECK_EQ_INT(json_array_size(latest), 1);
    CHECK_EQ_STR(jstr(json_array_get(latest, 0), "version"), "2");
    json_t *al = json_array_get(json_object_get(m, "aliases"), 0);
    CHECK_EQ_STR(jstr(al, "alias"), "production");
    CHECK_EQ_STR(jstr(al, "version"), "1");
    CHECK(json_object_get(m, "versions") == NULL);
    json_decref(m);
    CHECK_EQ_INT(aios_registry_model_to_json(st, "llama", true, &m, &err), AIOS_OK);
    CHECK_EQ_INT(json_array_size(json_object_get(m, "versions")), 2);
    json_decref(m);
    CHECK_EQ_INT(aios_registry_model_to_json(st, "ghost", true, &m, &err), AIOS_ENOTFOUND);

    json_t *mv = NULL;
    CHECK_EQ_INT(aios_registry_version_to_json(st, "llama@2", &mv, &err), AIOS_OK);
    CHECK_EQ_STR(jstr(mv, "version"), "2");
    CHECK_EQ_STR(jstr(mv, "status"), "READY");
    CHECK_EQ_STR(jstr(mv, "source"), "/models/m.gguf");
    CHECK_EQ_INT(json_integer_value(json_object_get(mv, "size_bytes")), 1234);
    json_t *lin = json_object_get(mv, "lineage");
    CHECK_EQ_STR(jstr(lin, "source"), "llama@1");
    CHECK_EQ_STR(jstr(lin, "how"), "finetune");
    json_t *tag = json_array_get(json_object_get(mv, "tags"), 0);
    CHECK_EQ_STR(jstr(tag, "key"), "stage");
    CHECK_EQ_STR(jstr(tag, "value"), "qa");
    CHECK_EQ_STR(jstr(json_object_get(mv, "metadata"), "general.name"), "tiny");
    CHECK_EQ_INT(json_array_size(json_object_get(mv, "aliases")), 0);
    json_decref(mv);
    CHECK_EQ_INT(aios_registry_version_to_json(st, "llama@production", &mv, &err), AIOS_OK);
    CHECK(json_is_null(json_object_get(mv, "lineage")));
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(mv, "aliases"), 0)),
                 "production");
    json_decref(mv);

    CHECK_EQ_INT(add(st, "alpha", 'c', "proprietary", &v, &err), AIOS_OK);
    json_t *all = NULL;
    CHECK_EQ_INT(aios_registry_list_to_json(st, &all, &err), AIOS_OK);
    json_t *arr = json_object_get(all, "registered_models");
    CHECK_EQ_INT(json_array_size(arr), 2);
    CHECK_EQ_STR(jstr(json_array_get(arr, 0), "name"), "alpha"); /* by name */
    json_decref(all);
    aios_store_close(st);
}

/* ---- GGUF files ---------------------------------------------------------- */

static void test_inspect_fixture(void)
{
    const char *fx = test_fixtures();
    char path[4096];
    snprintf(path, sizeof path, "%s/models/llama-Q4_0.gguf", fx);
    struct aios_registry_file f;
    struct aios_err err;
    CHECK_EQ_INT(aios_registry_inspect(path, NULL, NULL, &f, &err), AIOS_OK);
    CHECK_EQ_STR(f.architecture, "llama");
    CHECK_EQ_STR(f.file_type, "Q4_0");
    CHECK_EQ_INT(f.context_length, 512);
    CHECK_EQ_STR(f.tokenizer, "llama");
    /* From the fixture's metadata (llama.* keys, checked below): vocab 1024,
     * width 256, 2 blocks, 4 heads / 2 KV heads of 64, FFN 512, untied
     * output. Embeddings 2 x 1024*256, per block 2 norms of 256, q and o
     * 256*256, k and v 256*128, three FFN matrices 256*512; final norm 256:
     * 524288 + 2*(512 + 131072 + 65536 + 393216) + 256 = 1705216. */
    CHECK_EQ_INT(f.n_params, 1705216);
    /* Size and hash checked against an independent read (one-shot hash of
     * the whole file rather than the streaming one). */
    char *data;
    size_t len;
    CHECK_EQ_INT(aios_read_file(path, 64 << 20, &data, &len, &err), AIOS_OK);
    CHECK_EQ_INT(f.size_bytes, (int64_t)len);
    char hex[65];
    aios_sha256_hex(data, len, hex);
    CHECK_EQ_STR(f.sha256, hex);
    aios_free(data);
    CHECK(f.path && f.path[0] == '/');
    CHECK_EQ_STR(json_string_value(json_object_get(f.metadata, "general.architecture")), "llama");
    CHECK_EQ_INT(json_integer_value(json_object_get(f.metadata, "llama.block_count")), 2);
    /* Arrays are summarised, not copied. */
    json_t *toks = json_object_get(f.metadata, "tokenizer.ggml.tokens");
    CHECK_EQ_INT(json_integer_value(json_object_get(toks, "n")), 1024);

    /* And it registers. */
    aios_store *st = open_mem();
    struct aios_registry_add req = {.name = "llama", .file = &f};
    int64_t v;
    CHECK_EQ_INT(aios_registry_add(st, &req, &v, &err), AIOS_OK);
    json_t *mv;
    CHECK_EQ_INT(aios_registry_version_to_json(st, "llama", &mv, &err), AIOS_OK);
    CHECK_EQ_INT(json_integer_value(
                     json_object_get(json_object_get(mv, "metadata"), "llama.context_length")),
                 512);
    json_decref(mv);
    aios_store_close(st);
    aios_registry_file_free(&f);

    snprintf(path, sizeof path, "%s/models/qwen2-Q4_K_M.gguf", fx);
    CHECK_EQ_INT(aios_registry_inspect(path, NULL, NULL, &f, &err), AIOS_OK);
    CHECK_EQ_STR(f.architecture, "qwen2");
    CHECK_EQ_STR(f.file_type, "Q4_K_M");
    aios_registry_file_free(&f);
}

struct prog {
    int calls;
    uint64_t done, total;
};

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    struct prog *p = ud;
    CHECK(done >= p->done); /* monotone */
    p->calls++;
    p->done = done;
    p->total = total;
}

static void test_inspect_bad_files(void)
{
    const char *fx = test_fixtures();
    const char *tmp = test_tmpdir("registry_bad");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp ? tmp : "/nonexistent");
    char src[4096], path[4200];
    snprintf(src, sizeof src, "%s/models/llama-F32.gguf", fx);
    char *data;
    size_t len;
    struct aios_err err;
    CHECK_EQ_INT(aios_read_file(src, 64 << 20, &data, &len, &err), AIOS_OK);

    /* Progress: called per 1 MiB read, ends at the file size. */
    struct prog p = {0};
    struct aios_registry_file f;
    CHECK_EQ_INT(aios_registry_inspect(src, on_progress, &p, &f, &err), AIOS_OK);
    CHECK_EQ_INT(p.calls, (int)((len + (1 << 20) - 1) >> 20));
    CHECK_EQ_INT(p.done, len);
    CHECK_EQ_INT(p.total, len);
    aios_registry_file_free(&f);

    /* Truncated: cut in the tensor data, and in the header. */
    size_t cuts[] = {len - 1, len / 2, 200, 24, 4};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        snprintf(path, sizeof path, "%s/cut%zu.gguf", dir, i);
        CHECK_EQ_INT(aios_write_file_atomic(path, data, cuts[i], &err), AIOS_OK);
        int rc = aios_registry_inspect(path, NULL, NULL, &f, &err);
        CHECK_MSG(rc == AIOS_EFORMAT, "cut at %zu: %d %s", cuts[i], rc, err.msg);
        CHECK(strstr(err.msg, "not a valid GGUF") != NULL);
        CHECK(f.path == NULL && f.metadata == NULL);
    }
    /* Corrupt magic, and a tensor count far beyond the file. */
    snprintf(path, sizeof path, "%s/magic.gguf", dir);
    data[0] = 'X';
    CHECK_EQ_INT(aios_write_file_atomic(path, data, len, &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_inspect(path, NULL, NULL, &f, &err), AIOS_EFORMAT);
    data[0] = 'G';
    snprintf(path, sizeof path, "%s/count.gguf", dir);
    uint64_t huge = (uint64_t)1 << 60;
    memcpy(data + 8, &huge, 8); /* n_tensors follows magic and version */
    CHECK_EQ_INT(aios_write_file_atomic(path, data, len, &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_inspect(path, NULL, NULL, &f, &err), AIOS_EFORMAT);
    aios_free(data);
    /* Empty, missing, a directory. */
    snprintf(path, sizeof path, "%s/empty.gguf", dir);
    CHECK_EQ_INT(aios_write_file_atomic(path, "", 0, &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_inspect(path, NULL, NULL, &f, &err), AIOS_EFORMAT);
    snprintf(path, sizeof path, "%s/missing.gguf", dir);
    CHECK_EQ_INT(aios_registry_inspect(path, NULL, NULL, &f, &err), AIOS_ENOTFOUND);
    CHECK(strstr(err.msg, "missing.gguf") != NULL);
    CHECK_EQ_INT(aios_registry_inspect(dir, NULL, NULL, &f, &err), AIOS_EINVAL);
}

/* Names of a search result, comma-joined into out. */
static void search_names(aios_store *st, const char *filter, int max, const char *token, char *out,
                         size_t size, char *next, size_t nsize)
{
    struct aios_registry_query q = {.filter = filter, .max_results = max, .page_token = token};
    json_t *j = NULL;
    struct aios_err err;
    int rc = aios_registry_search_to_json(st, &q, &j, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: %s", filter ? filter : "(null)", err.msg);
    out[0] = 0;
    if (next)
        next[0] = 0;
    if (rc)
        return;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(j, "registered_models"), i, m)
    {
        if (i)
            aios_strlcpy(out + strlen(out), ",", size - strlen(out));
        aios_strlcpy(out + strlen(out), jstr(m, "name"), size - strlen(out));
    }
    json_t *t = json_object_get(j, "next_page_token");
    if (next && t)
        aios_strlcpy(next, json_string_value(t), nsize);
    json_decref(j);
}

static void test_search(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    int64_t v;
    CHECK_EQ_INT(add(st, "alpha", 'a', NULL, &v, &err), AIOS_OK);
    CHECK_EQ_INT(add(st, "beta", 'b', "proprietary", &v, &err), AIOS_OK);
    CHECK_EQ_INT(add(st, "Llama-2", 'c', NULL, &v, &err), AIOS_OK);
    CHECK_EQ_INT(add(st, "llama-3", 'd', NULL, &v, &err), AIOS_OK);
    CHECK_EQ_INT(add(st, "llama-3.1", 'e', "proprietary", &v, &err), AIOS_OK);
    char got[512], next[256];
    search_names(st, NULL, 0, NULL, got, sizeof got, next, sizeof next);
    CHECK_EQ_STR(got, "Llama-2,alpha,beta,llama-3,llama-3.1"); /* byte order */
    CHECK_EQ_STR(next, "");
    search_names(st, "name LIKE 'l%'", 0, NULL, got, sizeof got, NULL, 0);
    CHECK_EQ_STR(got, "llama-3,llama-3.1");
    search_names(st, "name ilike 'L%'", 0, NULL, got, sizeof got, NULL, 0);
    CHECK_EQ_STR(got, "Llama-2,llama-3,llama-3.1");
    search_names(st, "name LIKE '%a-_'", 0, NULL, got, sizeof got, NULL, 0);
    CHECK_EQ_STR(got, "Llama-2,llama-3");
    search_names(st, "name LIKE '%%a%a%'", 0, NULL, got, sizeof got, NULL, 0);
    CHECK_EQ_STR(got, "Llama-2,alpha,llama-3,llama-3.1");
    search_names(st, " kind = \"proprietary\" AND name != 'beta' ", 0, NULL, got, sizeof got, NULL,
                 0);
    CHECK_EQ_STR(got, "llama-3.1");
    search_names(st, "name = 'nope'", 0, NULL, got, sizeof got, NULL, 0);
    CHECK_EQ_STR(got, "");
    /* Pages of 2 cover everything once, in order; the last has no token. */
    char all[512] = "", tok[256] = "";
    int pages = 0;
    do {
        char t[256];
        aios_strlcpy(t, tok, sizeof t);
        search_names(st, NULL, 2, pages ? t : NULL, got, sizeof got, tok, sizeof tok);
        if (all[0] && got[0])
            aios_strlcpy(all + strlen(all), ",", sizeof all - strlen(all));
        aios_strlcpy(all + strlen(all), got, sizeof all - strlen(all));
        pages++;
    } while (tok[0] && pages < 10);
    CHECK_EQ_STR(all, "Llama-2,alpha,beta,llama-3,llama-3.1");
    CHECK_EQ_INT(pages, 3);
    /* Bad input. */
    const char *bad[] = {
        "foo = 'x'", "name ~ 'x'",     "name = x",    "name = 'x", "name = 'x' OR kind = 'base'",
        "name LIKE", "name = 'x' AND", "tags.k = 'v'"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct aios_registry_query q = {.filter = bad[i]};
        json_t *j = NULL;
        CHECK_MSG(aios_registry_search_to_json(st, &q, &j, &err) == AIOS_EINVAL, "%s", bad[i]);
        CHECK(j == NULL);
        CHECK(strstr(err.msg, "filter") != NULL);
        CHECK_EQ_INT(aios_registry_filter_check(bad[i], &err), AIOS_EINVAL);
    }
    CHECK_EQ_INT(aios_registry_filter_check("name LIKE 'x%'", &err), AIOS_OK);
    struct aios_registry_query q = {.max_results = 1001};
    json_t *j = NULL;
    CHECK_EQ_INT(aios_registry_search_to_json(st, &q, &j, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "max_results") != NULL);
    q = (struct aios_registry_query){.page_token = "not a name"};
    CHECK_EQ_INT(aios_registry_search_to_json(st, &q, &j, &err), AIOS_EINVAL);
    CHECK(strstr(err.msg, "page_token") != NULL);
    aios_store_close(st);
}

static void test_find_sha_verify(void)
{
    aios_store *st = open_mem();
    struct aios_err err;
    int64_t v;
    CHECK_EQ_INT(add(st, "zeta", 'a', NULL, &v, &err), AIOS_OK);
    CHECK_EQ_INT(add(st, "alpha", 'a', NULL, &v, &err), AIOS_OK);
    char ref[160], sha[65];
    memset(sha, 'a', 64);
    sha[64] = 0;
    /* The first registered wins, not the first by name. */
    CHECK_EQ_INT(aios_registry_find_sha(st, sha, ref, sizeof ref, &err), AIOS_OK);
    CHECK_EQ_STR(ref, "zeta@1");
    memset(sha, 'f', 64);
    CHECK_EQ_INT(aios_registry_find_sha(st, sha, ref, sizeof ref, &err), AIOS_ENOTFOUND);
    aios_store_close(st);

    /* verify: the registered hash and size against the file's. */
    const char *dir = test_tmpdir("registry_verify");
    char path[512];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    const char data[] = "not really a model, but verify only hashes";
    CHECK_EQ_INT(aios_write_file_atomic(path, data, sizeof data - 1, &err), AIOS_OK);
    char hex[65];
    aios_sha256_hex(data, sizeof data - 1, hex);
    struct aios_store_model_version mv = {
        .path = path, .sha256 = hex, .size_bytes = (int64_t)sizeof data - 1};
    CHECK_EQ_INT(aios_registry_verify(&mv, "m@1", NULL, NULL, &err), AIOS_OK);
    char changed[sizeof data];
    memcpy(changed, data, sizeof data);
    changed[5] ^= 1; /* same size, one bit off */
    CHECK_EQ_INT(aios_write_file_atomic(path, changed, sizeof data - 1, &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_verify(&mv, "m@1", NULL, NULL, &err), AIOS_ESTATE);
    CHECK(strstr(err.msg, "no longer matches m@1") != NULL);
    CHECK(strstr(err.msg, "sha256") != NULL);
    CHECK_EQ_INT(aios_write_file_atomic(path, data, 3, &err), AIOS_OK);
    CHECK_EQ_INT(aios_registry_verify(&mv, "m@1", NULL, NULL, &err), AIOS_ESTATE);
    CHECK(strstr(err.msg, "bytes") != NULL);
    unlink(path);
    CHECK_EQ_INT(aios_registry_verify(&mv, "m@1", NULL, NULL, &err), AIOS_ENOTFOUND);
}

int main(void)
{
    TEST_RUN(test_names_aliases_tags);
    TEST_RUN(test_ref_parse);
    TEST_RUN(test_add_rules);
    TEST_RUN(test_resolve_alias_remove);
    TEST_RUN(test_add_is_atomic);
    TEST_RUN(test_json);
    TEST_RUN(test_search);
    TEST_RUN(test_find_sha_verify);
    TEST_RUN(test_inspect_fixture);
    TEST_RUN(test_inspect_bad_files);
    TEST_EXIT();
}
