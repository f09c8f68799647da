// The openai npm client against `aios serve` with real fixture models.
// Usage: AIOS_URL=... AIOS_PID=... AIOS_FIX=fixtures node openai_models.mjs
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { readFileSync } from 'node:fs';

const url = process.env.AIOS_URL;
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60000 });
let failures = 0;
function check(cond, what) {
  if (!cond) { failures++; console.error(`FAIL: ${what}`); }
}
async function expectError(klass, fn, what) {
  try { await fn(); check(false, `${what}: no error`); }
  catch (e) { check(e instanceof klass, `${what}: got ${e?.constructor?.name} ${e?.message}`); return e; }
}
async function metric(name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

const ids = (await client.models.list()).data.map((m) => m.id).sort().join(',');
check(ids === 'bge,llama,qwen', `models: ${ids}`);

// Greedy chat: the streamed text equals the non-streamed text.
const msgs = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Disk full on /var?' }];
const full = await client.chat.completions.create({ model: 'llama', messages: msgs, max_tokens: 12, temperature: 0 });
check(full.choices[0].finish_reason === 'length' || full.choices[0].finish_reason === 'stop', `finish: ${full.choices[0].finish_reason}`);
check(full.usage.completion_tokens >= 1 && full.usage.prompt_tokens > 10, `usage: ${JSON.stringify(full.usage)}`);
let text = '', usage = null;
const stream = await client.chat.completions.create({ model: 'llama', messages: msgs, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
for await (const ch of stream) {
  if (ch.usage) usage = ch.usage;
  for (const c of ch.choices) text += c.delta?.content ?? '';
}
check(text === full.choices[0].message.content, `stream ${JSON.stringify(text)} vs ${JSON.stringify(full.choices[0].message.content)}`);
check(usage?.completion_tokens === full.usage.completion_tokens, `stream usage ${JSON.stringify(usage)}`);
// The second identical prompt reuses the cached prefix.
check((usage?.prompt_tokens_details?.cached_tokens ?? 0) > 0, `prefix cache: ${JSON.stringify(usage)}`);

// Seeded sampling is reproducible; n = 2 gives two choices.
const a = await client.completions.create({ model: 'qwen', prompt: 'The alarm', max_tokens: 8, temperature: 1, seed: 5 });
const b = await client.completions.create({ model: 'qwen', prompt: 'The alarm', max_tokens: 8, temperature: 1, seed: 5 });
check(a.choices[0].text === b.choices[0].text, 'seeded completions differ');
const two = await client.completions.create({ model: 'qwen', prompt: 'x', max_tokens: 4, n: 2, logprobs: 2 });
check(two.choices.length === 2 && two.choices.every((c) => c.logprobs?.tokens?.length >= 1), `n=2 with logprobs: ${JSON.stringify(two.choices)}`);
const lp = two.choices[0].logprobs;
check(lp.token_logprobs.every((v) => v <= 0) && lp.top_logprobs[0] && Object.keys(lp.top_logprobs[0]).length >= 1, `logprobs: ${JSON.stringify(lp)}`);

// echo with logprobs (lm-evaluation-harness's loglikelihood request): every
// prompt token comes back with its log-probability, the first as null.
const ev = await client.completions.create({ model: 'llama', prompt: 'Disk usage on /var', max_tokens: 1, echo: true, logprobs: 1, temperature: 0 });
const el = ev.choices[0].logprobs;
check(el.token_logprobs[0] === null && el.token_logprobs.slice(1).every((v) => typeof v === 'number' && v <= 0), `echo logprobs: ${JSON.stringify(el.token_logprobs)}`);
check(ev.choices[0].text.startsWith('Disk usage on /var'), `echo text: ${JSON.stringify(ev.choices[0].text)}`);
check(el.tokens.length === el.token_logprobs.length && el.tokens.length === el.text_offset.length && el.tokens.length >= 4, `echo shapes: ${JSON.stringify(el)}`);
// Greedy: the generated token is the most likely one, so its logprob equals the top entry's.
const lastTop = Object.values(el.top_logprobs[el.top_logprobs.length - 1]);
check(Math.abs(lastTop[0] - el.token_logprobs[el.token_logprobs.length - 1]) < 1e-5, `greedy token is top-1: ${JSON.stringify(lastTop)}`);

// Constrained decoding: even a random-weight model must answer valid JSON
// that matches the schema (the guide masks every token that would break it).
const schema = { type: 'object', properties: { status: { enum: ['ok', 'fail'] }, count: { type: 'integer' } }, required: ['status', 'count'], additionalProperties: false };
for (const model of ['llama', 'qwen']) {
  const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'status?' }], max_tokens: 200, response_format: { type: 'json_schema', json_schema: { name: 'status', schema } } });
  let v = null;
  try { v = JSON.parse(r.choices[0].message.content); } catch (e) { /* checked below */ }
  check(v && ['ok', 'fail'].includes(v.status) && Number.isInteger(v.count) && Object.keys(v).length === 2, `${model} json_schema: ${JSON.stringify(r.choices[0])}`);
  const o = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], max_tokens: 200, temperature: 0, response_format: { type: 'json_object' } });
  let ov = null;
  try { ov = JSON.parse(o.choices[0].message.content); } catch (e) { /* checked below */ }
  check(ov !== null && typeof ov === 'object' && !Array.isArray(ov), `${model} json_object: ${JSON.stringify(o.choices[0])}`);
}
await expectError(BadRequestError, () => client.chat.completions.create({ model: 'llama', messages: msgs, response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: { type: 'frobnicate' } } } }), 'malformed schema');

// Tools: a random model does not produce a tool call; its text comes back as content, not an error.
const t = await client.chat.completions.create({
  model: 'qwen', messages: [{ role: 'user', content: 'check disk' }], max_tokens: 6,
  tools: [{ type: 'function', function: { name: 'df', description: 'disk usage', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }],
});
check(typeof t.choices[0].message.content === 'string' && !t.choices[0].message.tool_calls, `tools: ${JSON.stringify(t.choices[0])}`);

// tool_choice naming a function: the output is constrained to a call of it,
// so even a random model returns a well-formed tool call.
const dfTool = { type: 'function', function: { name: 'df', parameters: { type: 'object', properties: { path: { type: 'string', maxLength: 12 } }, required: ['path'], additionalProperties: false } } };
const forced = await client.chat.completions.create({
  model: 'qwen', messages: [{ role: 'user', content: 'check disk' }], max_tokens: 150,
  tools: [dfTool, { type: 'function', function: { name: 'uptime' } }], tool_choice: { type: 'function', function: { name: 'df' } },
});
const fc = forced.choices[0];
let fargs = null;
try { fargs = JSON.parse(fc.message.tool_calls?.[0]?.function?.arguments ?? 'null'); } catch (e) { /* checked below */ }
check(fc.finish_reason === 'tool_calls' && fc.message.tool_calls?.[0]?.function?.name === 'df' && typeof fargs?.path === 'string' && [...fargs.path].length <= 12,
  `forced tool call: ${JSON.stringify(fc)}`);

// Embeddings match llama.cpp's reference for the fixture texts (F32: 1e-4).
const texts = readFileSync(`${process.env.AIOS_FIX}/models/bert_texts.txt`, 'utf8').split('\n').filter((s) => s.length);
const emb = await client.embeddings.create({ model: 'bge', input: texts, encoding_format: 'float' });
const ref = new Float32Array(readFileSync(`${process.env.AIOS_FIX}/models/bert-F32.embd.f32`).buffer.slice(0));
let maxd = 0;
emb.data.forEach((d, i) => d.embedding.forEach((v, j) => { maxd = Math.max(maxd, Math.abs(v - ref[i * 256 + j])); }));
check(emb.data.length === 4 && maxd <= 1e-4, `embeddings max diff ${maxd}`);

// Errors surface as the SDK's typed errors.
await expectError(NotFoundError, () => client.chat.completions.create({ model: 'nope', messages: msgs }), 'unknown model');
const long = await expectError(BadRequestError, () => client.chat.completions.create({ model: 'llama', messages: msgs, max_tokens: 100000 }), 'too many tokens');
check(long?.code === 'context_length_exceeded', `too many tokens code: ${long?.code}`);
await expectError(BadRequestError, () => client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 5 }] }), 'content of the wrong type');
await expectError(BadRequestError, () => client.embeddings.create({ model: 'llama', input: 'x' }), 'embeddings from a decoder');

// Load: 64 concurrent streaming clients on 4 slots; every stream must finish.
async function one(i) {
  const s = await client.chat.completions.create({ model: i % 2 ? 'llama' : 'qwen', messages: [{ role: 'user', content: `request ${i}` }], max_tokens: 8, stream: true });
  let fin = null, n = 0;
  for await (const ch of s) for (const c of ch.choices) { if (c.delta?.content) n++; if (c.finish_reason) fin = c.finish_reason; }
  return fin;
}
async function round() {
  const res = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => one(i)));
  const bad = res.filter((r) => r.status !== 'fulfilled' || !r.value);
  check(bad.length === 0, `${bad.length} of 64 streams did not finish: ${JSON.stringify(bad[0])}`);
}
await round(); // warms every buffer up
const memBefore = await metric('aios_memory_allocated_bytes');
await round();
await round();
await new Promise((r) => setTimeout(r, 200));
const memAfter = await metric('aios_memory_allocated_bytes');
// After two more rounds nothing per request may stay allocated; the
// allowance covers metric series created on the way (bounded, < 64 KiB).
check(memAfter - memBefore < 65536, `allocator grew by ${memAfter - memBefore} bytes over 128 requests`);
const running = await metric('aios_requests_running');
check(running === 0, `running after load: ${running}`);
console.log(`allocator before ${memBefore} after ${memAfter}`);
process.exit(failures ? 1 : 0);
