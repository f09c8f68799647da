/*
 * Private to the checks catalogue (src/ops/checks*.c): the YAML reader and
 * the table of detectors a check may name.
 */
#ifndef AIOS_OPS_CHECKS_INT_H
#define AIOS_OPS_CHECKS_INT_H

#include "ops/ops.h"

/* One YAML document into a new JSON value; errors name line and column. */
int checks_yaml_to_json(const char *text, size_t len, json_t **out, struct aios_err *err);

#endif
