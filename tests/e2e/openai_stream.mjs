// The openai npm client against the server with the fake backend of
// tests/unit/test_server_stream.c (`--serve`): non-streamed and streamed
// chat, streamed tool calls, completions, base64 embeddings (the SDK's
// default) and a backend error, all parsed by the SDK itself.
// Usage: AIOS_URL=http://127.0.0.1:PORT node openai_stream.mjs
import OpenAI, { BadRequestError } from 'openai';

const client = new OpenAI({ baseURL: `${process.env.AIOS_URL}/v1`, apiKey: 'test-key-123', maxRetries: 0, timeout: 10000 });
let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}
const msgs = [{ role: 'user', content: 'hi' }];

const models = await client.models.list();
check(models.data.map((m) => m.id).join(',') === 'fake,emb', `models: ${JSON.stringify(models.data)}`);

const full = await client.chat.completions.create({ model: 'fake', messages: msgs, max_tokens: 4 });
check(full.choices[0].message.content === 'tok0 tok1 tok2 tok3 ', `chat content: ${JSON.stringify(full.choices[0])}`);
check(full.choices[0].finish_reason === 'length', 'chat finish_reason');
check(full.usage?.total_tokens === 11, `chat usage: ${JSON.stringify(full.usage)}`);

let text = '', finish = null, usage = null, chunks = 0;
const stream = await client.chat.completions.create({
  model: 'fake', messages: msgs, max_tokens: 3, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    text += c.delta?.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
}
check(text === 'tok0 tok1 tok2 ', `stream text: ${JSON.stringify(text)}`);
check(finish === 'length', `stream finish: ${finish}`);
check(usage?.completion_tokens === 3, `stream usage: ${JSON.stringify(usage)}`);
check(chunks === 5, `stream chunks: ${chunks}`);

// The SDK's helper accumulates streamed tool calls from the deltas.
const runner = client.chat.completions.stream({
  model: 'fake', messages: [{ role: 'user', content: 'disk?' }],
  tools: [{ type: 'function', function: { name: 'df', parameters: { type: 'object' } } }],
});
const final = await runner.finalChatCompletion();
const call = final.choices[0].message.tool_calls?.[0];
check(call?.function?.name === 'df' && call?.function?.arguments === '{"path":"/var"}', `tool call: ${JSON.stringify(final.choices[0])}`);
check(final.choices[0].finish_reason === 'tool_calls', 'tool finish_reason');

let ctext = '';
for await (const chunk of await client.completions.create({ model: 'fake', prompt: 'x', max_tokens: 2, stream: true }))
  ctext += chunk.choices[0]?.text ?? '';
check(ctext === 'tok0 tok1 ', `completion stream: ${JSON.stringify(ctext)}`);

const emb = await client.embeddings.create({ model: 'emb', input: ['a', 'b'] }); // base64 on the wire
check(emb.data.length === 2 && emb.data[1].embedding.join(',') === '1,0.5,-1', `embeddings: ${JSON.stringify(emb.data)}`);

try {
  await client.chat.completions.create({ model: 'fake', messages: [{ role: 'user', content: 'too long' }] });
  check(false, 'too long: resolved');
} catch (e) {
  check(e instanceof BadRequestError && e.code === 'context_length_exceeded' && e.param === 'messages',
    `too long: ${e?.constructor?.name} ${e?.code} ${e?.param}`);
}

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('ok');
