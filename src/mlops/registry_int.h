/*
 * Private to src/mlops: what the registry's files share (registry_json.c
 * builds the JSON that registry_search.c returns).
 */
#ifndef AIOS_MLOPS_REGISTRY_INT_H
#define AIOS_MLOPS_REGISTRY_INT_H

#include "mlops/mlops.h"

/* RegisteredModel of a loaded model row (see aios_registry_model_to_json). */
int mlops_registry_model_json(aios_store *st, const struct aios_store_model *m, bool all_versions,
                              json_t **out, struct aios_err *err);

#endif
