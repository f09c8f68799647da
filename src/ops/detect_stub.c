/* temporary */
#include "ops/detect_impl.h"
#define STUB(n) const struct aios_ops_detector_param detect_##n##_params[] = {DETECT_VERDICT_PARAMS(0.9, 0.96)}; \
int detect_##n##_create(const double *p, aios_ops_detector **out, struct aios_err *err) { (void)p; *out = NULL; return aios_err_set(err, AIOS_EUNSUPPORTED, "todo"); }
STUB(seasonal)
STUB(holtwinters)
STUB(spectral)
STUB(forest)
STUB(ensemble)
