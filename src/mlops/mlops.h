/*
 * mlops: model operations. This header covers the model registry
 * (registry.c, registry_json.c, registry_gguf.c): registered models (a
 * name, a kind, a description), their numbered versions (a GGUF file with
 * its hash, size and what its metadata says, tags, lineage) and aliases
 * such as `production` that point at a version.
 *
 * References: every function that takes a model reference accepts
 *   NAME            the latest (highest-numbered) version
 *   NAME@VERSION    version number VERSION (1, 2, ...)
 *   NAME@ALIAS      the version the alias points at; NAME@latest is the
 *                   latest version
 * Names: 1-128 characters of [A-Za-z0-9._-], starting with a letter or a
 * digit. Aliases: 1-64 of [A-Za-z0-9_-], starting with a letter, not
 * "latest". Tag keys: 1-128 of [A-Za-z0-9._:/-]; values up to 1024 bytes
 * without control characters.
 *
 * Atomicity: registering and removing are one store transaction each
 * (the file is read and hashed before it opens), so a crash or a kill at
 * any point leaves either all of the change or none of it. The HTTP layer
 * calls these same functions; the *_to_json functions give the MLflow
 * REST shapes (RegisteredModel, ModelVersion) with aios fields added.
 *
 * Quantize jobs (quantize.c): GGUF models to another weight type.
 */
#ifndef AIOS_MLOPS_H
#define AIOS_MLOPS_H

#include "base/base.h"
#include "store/store.h"

#define AIOS_REGISTRY_NAME_MAX 128
#define AIOS_REGISTRY_ALIAS_MAX 64
#define AIOS_REGISTRY_TAG_KEY_MAX 128
#define AIOS_REGISTRY_TAG_VALUE_MAX 1024
#define AIOS_REGISTRY_DESCRIPTION_MAX 4096
#define AIOS_REGISTRY_MAX_TAGS 64

/* What a model file says about itself: filled by aios_registry_inspect
 * from a GGUF file, or by a caller that already read it. Owned strings;
 * free with aios_registry_file_free. */
struct aios_registry_file {
    char *path; /* absolute */
    char sha256[65];
    int64_t size_bytes;
    char *architecture;
    int64_t n_params;
    char *file_type; /* "Q4_K_M", "F16", ... */
    int64_t context_length;
    char *tokenizer;  /* tokenizer.ggml.model */
    json_t *metadata; /* object of selected GGUF keys (owned reference) */
};
void aios_registry_file_free(struct aios_registry_file *f);

/* Called while hashing with bytes done and total. */
typedef void (*aios_registry_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* Opens path as GGUF (rejecting anything that is not a valid one, with the
 * reader's message), reads architecture, parameter count, file type,
 * context length, tokenizer and selected metadata, and hashes the file
 * (progress may be NULL). AIOS_ENOTFOUND for a missing file, AIOS_EFORMAT
 * for an invalid one. */
int aios_registry_inspect(const char *path, aios_registry_progress_fn progress, void *ud,
                          struct aios_registry_file *out, struct aios_err *err);

/* A registration request. */
struct aios_registry_add {
    const char *name;
    const char *kind;        /* "base" | "proprietary"; NULL: base, or the existing kind */
    const char *description; /* NULL: unchanged (empty for a new model) */
    const struct aios_registry_file *file;
    const char *const *tags; /* "key=value" strings */
    int n_tags;
    const char *from; /* lineage source reference, or NULL */
    const char *how;  /* "quantize" | "finetune" | "train"; required with from */
};

/* Registers file as the next version of name (creating the model when it
 * is new) and sets *version (may be NULL). AIOS_EINVAL for a bad name,
 * kind, tag or lineage; AIOS_ESTATE for a kind that contradicts the
 * existing model; AIOS_EEXIST when the same file (hash) is already a
 * version of the model;
 * AIOS_ENOTFOUND when `from` does not resolve. */
int aios_registry_add(aios_store *st, const struct aios_registry_add *req, int64_t *version,
                      struct aios_err *err);

/* A parsed reference. alias is "" when the reference has none; version is
 * 0 when the reference names no number. */
struct aios_registry_ref {
    char name[AIOS_REGISTRY_NAME_MAX + 1];
    int64_t version;
    char alias[AIOS_REGISTRY_ALIAS_MAX + 1];
};
int aios_registry_ref_parse(const char *ref, struct aios_registry_ref *out, struct aios_err *err);

/* Resolves a reference to its model and version (either out may be NULL;
 * free what is filled with aios_store_model_free / _version_free).
 * AIOS_ENOTFOUND names what is missing (model, version, alias, or a model
 * without versions). */
int aios_registry_resolve(aios_store *st, const char *ref, struct aios_store_model *model,
                          struct aios_store_model_version *version, struct aios_err *err);

/* Points alias at version of model name (moving it if it pointed
 * elsewhere). */
int aios_registry_alias_set(aios_store *st, const char *name, int64_t version, const char *alias,
                            struct aios_err *err);
int aios_registry_alias_delete(aios_store *st, const char *name, const char *alias,
                               struct aios_err *err);

/* Removes a model with all its versions (NAME) or one version
 * (NAME@VERSION, a number). The files themselves are left alone. */
int aios_registry_remove(aios_store *st, const char *ref, struct aios_err *err);

/* Hashes the file of a registered version (ref names it in messages) and
 * compares its size and SHA-256 with the registry's. AIOS_ENOTFOUND when
 * the file is gone, AIOS_ESTATE when it changed since it was registered
 * (the message names the path and both hashes), AIOS_EIO when unreadable.
 * Reads the whole file: for an 8B Q4 model that is seconds. */
int aios_registry_verify(const struct aios_store_model_version *v, const char *ref,
                         aios_registry_progress_fn progress, void *ud, struct aios_err *err);

/* The version registered first (any model) whose file has this hash, as
 * "NAME@VERSION" in ref. AIOS_ENOTFOUND (err untouched) when none. */
int aios_registry_find_sha(aios_store *st, const char *sha256, char *ref, size_t size,
                           struct aios_err *err);

/* Validation, each with a message that says what is allowed. */
int aios_registry_name_check(const char *name, struct aios_err *err);
int aios_registry_alias_check(const char *alias, struct aios_err *err);
/* Splits "key=value" into key and value (copies, aios_free) after checks. */
int aios_registry_tag_parse(const char *kv, char **key, char **value, struct aios_err *err);

/* ---- JSON (registry_json.c): MLflow REST shapes ------------------------- */

/* RegisteredModel: name, creation_timestamp, last_updated_timestamp,
 * description, latest_versions, tags, aliases [{alias, version}], plus
 * kind and, when all_versions, versions (every ModelVersion). New
 * reference in *out. AIOS_ENOTFOUND for an unknown name. */
int aios_registry_model_to_json(aios_store *st, const char *name, bool all_versions, json_t **out,
                                struct aios_err *err);
/* ModelVersion of a reference: name, version (a string, as MLflow),
 * creation_timestamp, last_updated_timestamp, source, status, tags
 * [{key, value}], aliases [names], plus sha256, size_bytes, architecture,
 * n_params, file_type, context_length, tokenizer, metadata, lineage
 * ({source, how} or null). */
int aios_registry_version_to_json(aios_store *st, const char *ref, json_t **out,
                                  struct aios_err *err);
/* {"registered_models": [RegisteredModel...]} by name. */
int aios_registry_list_to_json(aios_store *st, json_t **out, struct aios_err *err);

/* A search of registered models (registry_search.c). filter is a subset
 * of MLflow's: clauses `name|kind =|!=|LIKE|ILIKE 'text'` joined by AND
 * (LIKE patterns: % and _). Models come in name order. */
struct aios_registry_query {
    const char *filter;     /* NULL or "": every model */
    int max_results;        /* 1..1000; 0: 100 */
    const char *page_token; /* a previous page's next_page_token, or NULL */
};
/* {"registered_models": [RegisteredModel...], "next_page_token": "..."}
 * (the token only when more models match). AIOS_EINVAL for a bad filter
 * (the message says where), max_results or page_token. */
int aios_registry_search_to_json(aios_store *st, const struct aios_registry_query *q, json_t **out,
                                 struct aios_err *err);
/* Parses filter only (for callers that check input before opening the store). */
int aios_registry_filter_check(const char *filter, struct aios_err *err);

/* One line per tensor as the job goes (index from 1). */
struct aios_quantize_progress {
    int64_t index, count;
    const char *name;
    const char *from_type, *to_type;
    const int64_t *ne; /* 4 dims */
    uint32_t n_dims;
    uint64_t bytes_in, bytes_out;
};

struct aios_quantize_opts {
    /* Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q6_K Q4_K_M Q5_K_M, Q4_K / Q5_K (aliases of
     * Q4_K_M / Q5_K_M, as in llama-quantize), F16, BF16, F32. */
    const char *type;
    /* Every 2-D weight gets the one type (llama-quantize --pure). */
    bool pure;
    /* Dequantize quantized inputs first (llama-quantize
     * --allow-requantize); otherwise they are an error. */
    bool allow_requantize;
    aios_pool *pool; /* NULL: this thread */
    void (*progress)(void *ud, const struct aios_quantize_progress *p);
    void *progress_ud;
};

/* Quantizes the GGUF model at in into out following llama-quantize's
 * recipe for the type: norms, biases and other 1-D tensors stay as they
 * are; output.weight (or the token embedding of a tied model) gets Q6_K;
 * in the _M mixes attn_v and ffn_down get Q6_K on the layers llama.cpp's
 * use_more_bits picks; tensors whose rows do not fit the type's block fall
 * back as llama-quantize does (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
 * then F16). Tensors are written in llama-quantize's order, metadata copied
 * with general.file_type and general.quantization_version set, so a result
 * is byte-identical to llama-quantize's for the types whose quantizers are.
 * out is replaced atomically; on error nothing is left at out. */
int aios_mlops_quantize(const char *in, const char *out, const struct aios_quantize_opts *opts,
                        struct aios_err *err);

#endif
