import t from 'tap';
import { Ollama } from 'ollama';
import { startOllamaStandin } from '../support/ollama-standin.js';

t.test('stand-in serves chat (non-stream and stream), embed, tags, version through the real client', async (t) => {
  const s = await startOllamaStandin({ chat: ['hello there', 'one two three'], models: ['m1', 'emb'], embedModels: ['emb'] });
  t.teardown(() => s.close());
  const client = new Ollama({ host: s.host });
  const r = await client.chat({ model: 'm1', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(r.message.content, 'hello there');
  const it = await client.chat({ model: 'm1', messages: [{ role: 'user', content: 'go' }], stream: true });
  let text = '';
  let parts = 0;
  for await (const part of it) {
    text += part.message.content;
    parts++;
  }
  t.equal(text, 'one two three');
  t.ok(parts >= 3, 'streamed in several NDJSON lines');
  const e = await client.embed({ model: 'emb', input: ['tcp connect', 'udp send'] });
  t.equal(e.embeddings.length, 2);
  t.equal(e.embeddings[0]?.length, 64);
  const tags = await client.list();
  t.same(tags.models.map((m) => m.name), ['m1', 'emb']);
  t.equal((await client.version()).version, '0.0.0-standin');
  t.equal(s.chatRequests().length, 2);
  t.equal(s.chatRequests()[1]?.stream, true);
  await t.rejects(client.chat({ model: 'nope', messages: [] }), /not found/);
  await t.rejects(client.embed({ model: 'm1', input: 'x' }), /does not support embeddings/);
  await t.rejects(client.chat({ model: 'm1', messages: [] }), /no scripted chat answer left/);
});

t.test('stand-in chat as a function of the request, and scripted failures', async (t) => {
  const s = await startOllamaStandin({
    chat: (req, i) => (i === 0 ? { status: 503, error: 'busy' } : `echo:${req.messages.at(-1)?.content}`),
  });
  t.teardown(() => s.close());
  const client = new Ollama({ host: s.host });
  await t.rejects(client.chat({ model: 'x', messages: [{ role: 'user', content: 'a' }] }), /busy/);
  const r = await client.chat({ model: 'x', messages: [{ role: 'user', content: 'b' }] });
  t.equal(r.message.content, 'echo:b');
});
