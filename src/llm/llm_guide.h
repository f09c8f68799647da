/*
 * llm guides: what constrained decoding and tool calling need from the llm
 * module. Included by llm.h; kept in its own header so it reads on its own.
 *
 * JSON guide (json_guide.c). An incremental, byte-level validator for text a
 * model generates. The engine samples a token, turns it into its text piece
 * and asks aios_json_guide_accept() whether the piece may be appended; if not
 * it masks the token and samples again; once a piece is taken it calls
 * aios_json_guide_feed(). aios_json_guide_complete() says whether the text so
 * far is a whole valid document (end-of-generation is then allowed).
 *
 * The guide only accepts bytes after which a valid document is still
 * reachable, so a model that follows it cannot paint itself into a corner
 * (the exceptions are schemas that cannot be satisfied within the nesting
 * limit, such as recursion that requires infinite depth).
 *
 * Schema subset (a JSON Schema, draft 4 to 2020-12 spellings):
 *   type (string or array of: object array string number integer boolean
 *   null), nullable (OpenAPI), enum, const, properties, required,
 *   additionalProperties (false, true or a schema; default allowed),
 *   unevaluatedProperties false (read as additionalProperties false when that
 *   is absent), minProperties, maxProperties, items (schema, false, or the
 *   draft-4 array form with additionalItems), prefixItems, minItems,
 *   maxItems, minLength, maxLength (in code points), anyOf, oneOf, allOf,
 *   $ref to "#", "#/$defs/..." or "#/definitions/...". Boolean schemas.
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (draft 4 booleans
 *   or draft 6 numbers) for "integer": enforced digit by digit, so a digit
 *   that cannot lead into the range is refused.
 *   pattern: an ECMA-262 subset run as an NFA on decoded characters
 *   (json_guide_regex.c lists it: classes, \d \w \s, groups, |, ? * +
 *   {m,n}, ^ and $ at the ends); a pattern outside it is ignored.
 * Ignored, which only loosens what is enforced: patterns outside that
 *   subset (lookaround, backreferences, \b, inner anchors), format,
 *   patternProperties' value schemas, the bounds of non-integer numbers
 *   (except that minimum >= 0 refuses a leading '-'), multipleOf,
 *   uniqueItems, contains, dependencies, propertyNames, if/then/else, not;
 *   oneOf's "exactly one" (read as anyOf); keywords next to $ref; constraints
 *   next to enum/const other than type.
 * Tightened on purpose (the output is still valid, some valid texts are not
 *   offered): enum/const values must be typed in compact canonical form
 *   (no whitespace, strings with minimal escapes, numbers in shortest form);
 *   keys of objects with declared properties are typed literally (escapes
 *   only where the canonical name has them); a schema without "type" but
 *   with object (array, string) keywords admits only objects (arrays,
 *   strings); "integer" excludes fractions and exponents (1.0 is refused);
 *   keys named by patternProperties count as additional properties; numbers
 *   are at most 64 bytes long.
 * Limits: nesting depth 64, at most 32 consecutive whitespace bytes outside
 *   strings, 128 properties per object schema, 64 alternatives of a union
 *   tracked at once (further alternatives sharing a prefix are dropped),
 *   strings with valid escapes and UTF-8 (split characters may arrive in
 *   separate pieces; no raw control characters; surrogate escapes paired).
 *   Duplicate keys are refused for declared properties (additional keys are
 *   not remembered).
 *
 * Threads: accept(), next_bytes(), complete() and finished() only read the
 * guide, so several threads may call them on one guide at once; feed() and
 * reset() need exclusive use. One guide per sequence (n > 1 choices: one
 * guide each).
 * accept() allocates nothing (it works on a copy of the state on the stack,
 * about 12 KiB, twice that while a union keeps several readings alive).
 *
 * Tool calls (tool_calls.c). Parses what a model wrote when tools were
 * offered into OpenAI-shaped tool_calls.
 */
#ifndef AIOS_LLM_GUIDE_H
#define AIOS_LLM_GUIDE_H

#include "base/base.h"

typedef struct aios_json_guide aios_json_guide;

#define AIOS_JSON_GUIDE_MAX_DEPTH 64
#define AIOS_JSON_GUIDE_MAX_WS 32

/* Compiles schema (borrowed; the guide keeps nothing of it) into a guide at
 * its start state. schema NULL: any JSON object (response_format
 * json_object). AIOS_EINVAL names the path of a malformed schema part
 * ("#/properties/a/type: ..."), AIOS_EUNSUPPORTED a part outside the subset
 * that cannot be ignored safely ($ref to another document, more than 128
 * properties), AIOS_ELIMIT a schema too large (4096 compiled nodes, 64 KiB
 * of enum text) or too deep, AIOS_EINVAL a schema nothing can satisfy.
 * *out: free with aios_json_guide_free. */
int aios_json_guide_create(const json_t *schema, aios_json_guide **out, struct aios_err *err);
void aios_json_guide_free(aios_json_guide *g);

/* Whether bytes[0..n) can extend the text fed so far towards a valid
 * document. Does not change the guide. n == 0 is true. */
bool aios_json_guide_accept(const aios_json_guide *g, const char *bytes, size_t n);
/* The bytes that may come next: bit b of mask[b / 8] (b & 7) is set when
 * accept(g, &b, 1) holds. Costs 256 one-byte accepts (a few microseconds);
 * an engine masking a whole vocabulary can drop every token whose first
 * byte is not in the set before asking accept() about the rest. */
void aios_json_guide_next_bytes(const aios_json_guide *g, uint8_t mask[32]);
/* Commits bytes[0..n): AIOS_OK, or AIOS_EINVAL (guide unchanged) when
 * accept() would have said false. */
int aios_json_guide_feed(aios_json_guide *g, const char *bytes, size_t n);
/* Whether the text fed so far is a complete valid document. A complete
 * document may still extend (a top-level number can take more digits, and up
 * to MAX_WS trailing whitespace bytes are accepted). */
bool aios_json_guide_complete(const aios_json_guide *g);
/* Whether the top-level value is closed and nothing but whitespace may
 * follow (an object, array, string or literal has ended): the engine can
 * stop without sampling end-of-generation. Implies complete(). */
bool aios_json_guide_finished(const aios_json_guide *g);
/* Back to the start state (nothing fed). */
void aios_json_guide_reset(aios_json_guide *g);
/* Bytes fed since create/reset. */
size_t aios_json_guide_fed(const aios_json_guide *g);

/* ---- tool calls ---- */

/* Recognises tool calls in a model's output text[0..len):
 *   Hermes / Qwen2.5:  <tool_call>{"name": .., "arguments": {..}}</tool_call> (one or more)
 *   Llama 3.1 / 3.2:   [<|python_tag|>]{"name": .., "parameters": {..}} (also "arguments";
 *                      several separated by ';' or newlines)
 *   Mistral:           [TOOL_CALLS][{"name": .., "arguments": {..}}, ..], or
 *                      [TOOL_CALLS]name[ARGS]{..} (newer tokenizers), repeated
 *   GLM-4:             name\n{json arguments}
 *   plain JSON:        an object {name, arguments|parameters} (the arguments key
 *                      must be present, so an answer {"name": "Bob"} stays
 *                      content), an array of them, {"tool_calls": [..]}, also
 *                      inside a ```json fence; {"function": {..}} wrappers too
 * On success *tool_calls is a new OpenAI-shaped array
 *   [{"id": "call_<n>", "type": "function",
 *     "function": {"name": "..", "arguments": "<JSON text>"}}, ..]
 * and *content the text outside the calls (trimmed; NULL when nothing is
 * left); free with json_decref and aios_free. When the text is not a tool
 * call, or a call is malformed (broken JSON, no name, arguments not an
 * object), *tool_calls is NULL and *content a copy of the whole text: model
 * output never makes this fail. Errors: AIOS_EINVAL for NULL arguments,
 * AIOS_ENOMEM. Ids are "call_" and 24 hex digits, unique within the process.
 * Limit: 64 calls per text. */
int aios_tool_calls_parse(const char *text, size_t len, json_t **tool_calls, char **content,
                          struct aios_err *err);
/* Like aios_tool_calls_parse, and in addition every call must name a
 * function of tools (the request's "tools" array: [{"type": "function",
 * "function": {"name": ..}}, ..]; NULL or empty: any name); when one does
 * not, the text is returned as content. GLM-4's "name\n{..}" form is only
 * recognised with tools given (a line of text followed by JSON is too common
 * otherwise). */
int aios_tool_calls_parse_for(const char *text, size_t len, const json_t *tools,
                              json_t **tool_calls, char **content, struct aios_err *err);

#endif
