// Drives `aios serve` (no model) with the official openai npm client and
// checks that the server's answers surface as the SDK's typed errors.
// Usage: AIOS_URL=http://127.0.0.1:PORT AIOS_KEY=KEY node openai_basic.mjs
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError } from 'openai';

const base = process.env.AIOS_URL;
const key = process.env.AIOS_KEY;
if (!base || !key) {
  console.error('AIOS_URL and AIOS_KEY must be set');
  process.exit(2);
}
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 10000 });
const badClient = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong-key', maxRetries: 0 });

let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

// expectError(promise, Class, fields): the call must reject with an instance
// of Class whose status/code/param match fields.
async function expectError(what, p, Class, fields = {}) {
  try {
    await p;
    check(false, `${what}: resolved, expected ${Class.name}`);
  } catch (e) {
    check(e instanceof Class, `${what}: got ${e?.constructor?.name} (${e?.message}), expected ${Class.name}`);
    for (const [k, v] of Object.entries(fields))
      check(e?.[k] === v, `${what}: ${k} = ${JSON.stringify(e?.[k])}, expected ${JSON.stringify(v)}`);
  }
}

const msgs = [{ role: 'user', content: 'Which alarms fired on core-sw-1?' }];

const page = await client.models.list();
check(Array.isArray(page.data) && page.data.length === 0, `models.list: ${JSON.stringify(page.data)}`);

await expectError('wrong key', badClient.models.list(), AuthenticationError, { status: 401, code: 'invalid_api_key' });
await expectError('unknown model', client.chat.completions.create({ model: 'qwen-ops', messages: msgs }),
  NotFoundError, { status: 404, code: 'model_not_found', param: 'model' });
await expectError('unknown model (stream)',
  client.chat.completions.create({ model: 'qwen-ops', messages: msgs, stream: true }),
  NotFoundError, { status: 404, code: 'model_not_found' });
await expectError('bad temperature', client.chat.completions.create({ model: 'qwen-ops', messages: msgs, temperature: 'hot' }),
  BadRequestError, { status: 400, code: 'invalid_type', param: 'temperature' });
await expectError('bad message', client.chat.completions.create({ model: 'qwen-ops', messages: [{ role: 'user', content: 7 }] }),
  BadRequestError, { status: 400, param: 'messages[0].content' });
await expectError('bad max_tokens', client.completions.create({ model: 'qwen-ops', prompt: 'x', max_tokens: -1 }),
  BadRequestError, { status: 400, param: 'max_tokens' });
await expectError('bad embeddings input', client.embeddings.create({ model: 'bge', input: [] }),
  BadRequestError, { status: 400, param: 'input' });
await expectError('unknown embeddings model', client.embeddings.create({ model: 'bge', input: 'disk full on /var' }),
  NotFoundError, { status: 404, code: 'model_not_found' });
await expectError('retrieve unknown model', client.models.retrieve('qwen-ops'), NotFoundError, { status: 404 });

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('ok');
