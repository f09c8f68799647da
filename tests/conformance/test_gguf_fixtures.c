/*
 * GGUF reader (and writer round trip) against the files llama.cpp wrote:
 * every .gguf under fixtures/models and fixtures/tokenizer must open; for
 * the models, tensor names, types, shapes and the file size must match
 * models/manifest.json exactly; each file read -> written -> read again must
 * keep every key/value and every tensor's bytes (and, where the layout
 * allows, the whole file byte for byte).
 */
#include "test.h"

#include "gguf/gguf.h"
#include "gguf_util.h"

#include <dirent.h>
#include <unistd.h>

static const char *fixtures;
static json_t *manifest;

static void load_manifest(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/manifest.json", fixtures);
    char *text = NULL;
    size_t len = 0;
    struct aios_err err = {0};
    int rc = aios_read_file(path, 16u << 20, &text, &len, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc)
        return;
    rc = aios_json_parse(text, len, 16u << 20, &manifest, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    aios_free(text);
}

/* Compares one model file with its manifest entry. */
static void check_against_manifest(const char *name, const aios_gguf *g)
{
    json_t *files = json_object_get(manifest, "files");
    json_t *f = json_object_get(files, name);
    CHECK_MSG(f != NULL, "%s is not in manifest.json", name);
    if (!f)
        return;
    CHECK_EQ_INT(aios_gguf_file_size(g), json_integer_value(json_object_get(f, "bytes")));
    json_t *types = json_object_get(f, "tensor_types");
    json_t *shapes = json_object_get(f, "tensors");
    CHECK(json_is_object(types) && json_is_object(shapes));
    CHECK_EQ_INT(aios_gguf_n_tensors(g), json_object_size(types));
    CHECK_EQ_INT(aios_gguf_n_tensors(g), json_object_size(shapes));
    const char *tname;
    json_t *tv;
    json_object_foreach(types, tname, tv)
    {
        const struct aios_gguf_tensor *t = aios_gguf_find_tensor(g, tname);
        CHECK_MSG(t != NULL, "%s: tensor %s missing", name, tname);
        if (!t)
            continue;
        CHECK_EQ_STR(aios_ggml_type_name(t->type), json_string_value(tv));
        json_t *shape = json_object_get(shapes, tname);
        CHECK_EQ_INT(t->n_dims, json_array_size(shape));
        for (size_t d = 0; d < json_array_size(shape); d++)
            CHECK_EQ_INT(t->ne[d], json_integer_value(json_array_get(shape, d)));
        CHECK(t->data != NULL);
    }
    /* The architecture key and a typed getter agree with the manifest. */
    char *arch = NULL;
    struct aios_err err = {0};
    CHECK_EQ_INT(aios_gguf_get_str(g, "general.architecture", &arch, &err), AIOS_OK);
    CHECK_EQ_STR(arch, json_string_value(json_object_get(f, "arch")));
    if (arch) {
        char key[256];
        uint32_t n_layer = 0;
        snprintf(key, sizeof key, "%s.block_count", arch);
        CHECK_EQ_INT(aios_gguf_get_u32(g, key, &n_layer, &err), AIOS_OK);
        CHECK_EQ_INT(n_layer,
                     json_integer_value(json_object_get(json_object_get(f, "shape"), "n_layer")));
    }
    aios_free(arch);
}

/* Writes g through the writer and reads it back: same kvs, same tensors,
 * same bytes. Returns true when the rewritten file is byte-identical. */
static bool gguf_fixture_round_trip(const aios_gguf *g, const char *tmpdir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    struct aios_err err = {0};
    aios_gguf_writer *w = NULL;
    int rc = gguf_copy_to_writer(g, &w, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: copy: %s", name, err.msg);
    if (rc)
        return false;
    uint64_t predicted = aios_gguf_writer_file_size(w);
    rc = aios_gguf_writer_write(w, path, &err);
    CHECK_MSG(rc == AIOS_OK, "%s: write: %s", name, err.msg);
    aios_gguf_writer_destroy(w);
    aios_gguf *h = NULL;
    if (!rc) {
        rc = aios_gguf_open(path, &h, &err);
        CHECK_MSG(rc == AIOS_OK, "%s: reopen: %s", name, err.msg);
    }
    bool ident = false;
    if (!rc) {
        char why[256];
        CHECK_MSG(gguf_same_content(g, h, why, sizeof why), "%s: %s", name, why);
        CHECK_EQ_INT(aios_gguf_file_size(h), predicted);
        ident = aios_gguf_file_size(g) == aios_gguf_file_size(h) &&
                memcmp(aios_gguf_base(g), aios_gguf_base(h), aios_gguf_file_size(g)) == 0;
        if (!ident)
            fprintf(stderr, "%s: rewritten file differs (%llu vs %llu bytes)\n", name,
                    (unsigned long long)aios_gguf_file_size(g),
                    (unsigned long long)aios_gguf_file_size(h));
        aios_gguf_close(h);
    }
    unlink(path);
    return ident;
}

static void check_dir(const char *sub, int *nfiles, int *nident)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", fixtures, sub);
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d)
        return;
    const char *tmp = test_tmpdir("gguf_fixtures");
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        aios_gguf *g = NULL;
        struct aios_err err = {0};
        int rc = aios_gguf_open(path, &g, &err);
        CHECK_MSG(rc == AIOS_OK, "%s: %s", path, err.msg);
        if (rc)
            continue;
        (*nfiles)++;
        CHECK(aios_gguf_version(g) == 3 || aios_gguf_version(g) == 2);
        CHECK(aios_gguf_n_kv(g) > 0);
        if (strcmp(sub, "models") == 0)
            check_against_manifest(e->d_name, g);
        else
            CHECK(aios_gguf_get(g, "tokenizer.ggml.tokens") != NULL);
        if (tmp && gguf_fixture_round_trip(g, tmp, e->d_name))
            (*nident)++;
        aios_gguf_close(g);
    }
    closedir(d);
    if (tmp)
        rmdir(tmp);
}

static void test_fixtures_open(void)
{
    int nfiles = 0, nident = 0;
    check_dir("models", &nfiles, &nident);
    CHECK_EQ_INT(nfiles, 29);
    int nm = nfiles, nmi = nident;
    check_dir("tokenizer", &nfiles, &nident);
    CHECK_EQ_INT(nfiles - nm, 14);
    fprintf(stderr, "%d files opened; byte-identical rewrites: %d of %d models, %d of %d vocabs\n",
            nfiles, nmi, nm, nident - nmi, nfiles - nm);
    /* Every fixture was written by llama.cpp (or gguf-py) in the layout the
     * writer reproduces: consecutive, zero-padded tensors. */
    CHECK_EQ_INT(nident, nfiles);
}

int main(void)
{
    fixtures = test_fixtures();
    load_manifest();
    TEST_RUN(test_fixtures_open);
    json_decref(manifest);
    TEST_EXIT();
}
