/*
 * llm: models by architecture, the forward pass, KV cache, tokenizers, chat
 * templates and sampling. Knows nothing of HTTP or storage.
 *
 * The public interface is this header; the sampler's part is in
 * llm_sample.h (included here).
 */
#ifndef AIOS_LLM_H
#define AIOS_LLM_H

#include "base/base.h"
#include "llm/llm_sample.h"
/* chat templates (Jinja engine, built-in templates): */
#include "llm/llm_chat.h"

#endif
