import net from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createLlmBackend, type LlmBackendOptions } from '../../../daemon/llm/backend.js';
import { LlmError } from '../../../daemon/llm/errors.js';
import { startOllamaStandin, type OllamaStandinOptions } from '../../support/ollama-standin.js';

const MODELS = { synthesis: 'qwen2.5-coder:7b', comprehension: 'qwen2.5-coder:7b', embedding: 'nomic-embed-text' };
const msgs = (user: string) => [
  { role: 'system' as const, content: 'You write bpftrace.' },
  { role: 'user' as const, content: user },
];

async function setup(t: Test, standin: OllamaStandinOptions = {}, backend: Partial<LlmBackendOptions> = {}) {
  const s = await startOllamaStandin({ models: ['qwen2.5-coder:7b', 'nomic-embed-text:latest'], embedModels: ['nomic-embed-text:latest'], ...standin });
  t.teardown(() => s.close());
  const llm = createLlmBackend({ host: s.host, models: MODELS, timeoutMs: 5000, answerTokens: 1024, ...backend });
  return { s, llm };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function llmError(t: Test, p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    t.type(err, LlmError);
    return err as LlmError;
  }
  t.fail('expected an LlmError');
  throw new Error('unreachable');
}

t.test('chat answers with content, model, time and token counts; num_ctx and num_predict are sent', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-llm-'));
  const record = path.join(dir, 'record.jsonl');
  const { llm } = await setup(t, { chat: ['```bpftrace\nBEGIN { exit(); }\n```'], record });
  const r = await llm.chat({ stage: 'synthesis', messages: msgs('exit at once'), numCtx: 8192 });
  t.equal(r.content, '```bpftrace\nBEGIN { exit(); }\n```');
  t.equal(r.model, 'qwen2.5-coder:7b');
  t.type(r.ms, 'number');
  t.type(r.promptTokens, 'number');
  t.type(r.answerTokens, 'number');
  const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; body: Record<string, unknown> });
  t.equal(lines.length, 1);
  t.equal(lines[0]!.path, '/api/chat');
  t.same(lines[0]!.body['options'], { num_ctx: 8192, num_predict: 1024 }, 'num_ctx set explicitly');
  t.equal(lines[0]!.body['model'], 'qwen2.5-coder:7b');
  t.same(lines[0]!.body['messages'], msgs('exit at once'));
  t.equal(lines[0]!.body['stream'], false);
});

t.test('each stage uses its configured model', async (t) => {
  const { s, llm } = await setup(t, { models: ['a:1', 'b:2'], chat: ['x', 'y'] }, { models: { synthesis: 'a:1', comprehension: 'b:2', embedding: 'e' } });
  await llm.chat({ stage: 'synthesis', messages: msgs('1'), numCtx: 4096 });
  await llm.chat({ stage: 'comprehension', messages: msgs('2'), numCtx: 4096 });
  t.same(s.chatRequests().map((r) => r.model), ['a:1', 'b:2']);
});

t.test('a call over its time limit is a timeout error and the connection is closed', async (t) => {
  const { s, llm } = await setup(t, { chat: [{ content: 'late', delayMs: 2000 }] }, { timeoutMs: 200 });
  const started = Date.now();
  const e = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('slow'), numCtx: 4096 }));
  t.equal(e.kind, 'timeout');
  t.equal(e.code, 'timeout');
  t.match(e.message, /did not answer the synthesis call \(model qwen2\.5-coder:7b\) within 200 ms: raise llmTimeoutMs/);
  t.ok(Date.now() - started < 1500, 'did not wait for the answer');
  await waitFor(() => s.clientClosed.length === 1);
  t.equal(s.clientClosed.length, 1, 'the stand-in saw the client hang up');
});

t.test('an abort mid-answer cancels the call and closes the HTTP request', async (t) => {
  const { s, llm } = await setup(t, { chat: [{ content: 'never read', delayMs: 3000 }] });
  const ac = new AbortController();
  const p = llm.chat({ stage: 'comprehension', messages: msgs('cancel me'), numCtx: 4096, signal: ac.signal });
  await waitFor(() => s.requests.length === 1);
  ac.abort();
  const e = await llmError(t, p);
  t.equal(e.kind, 'cancelled');
  t.equal(e.message, 'the comprehension call to model qwen2.5-coder:7b was cancelled');
  await waitFor(() => s.clientClosed.length === 1);
  t.equal(s.clientClosed[0]?.path, '/api/chat', 'the stand-in saw the connection close before answering');
  // An already-aborted signal never reaches the server.
  const e2 = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 4096, signal: AbortSignal.abort() }));
  t.equal(e2.kind, 'cancelled');
  t.equal(s.requests.length, 1);
});

t.test('an unreachable host says which host, why, and what to do', async (t) => {
  const host = `http://127.0.0.1:${await closedPort()}`;
  const llm = createLlmBackend({ host, models: MODELS, timeoutMs: 2000 });
  const e = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 4096 }));
  t.equal(e.kind, 'unreachable');
  t.equal(e.code, 'unavailable');
  t.equal(e.message, `Ollama is not reachable at ${host} (ECONNREFUSED): start Ollama or set OLLAMA_HOST`);
  t.notOk(e.message.includes('\n'), 'one line');
  t.equal(await llm.embed(['x']), undefined, 'embed: no vectors, no throw');
  const c = await llm.check();
  t.equal(c.reachable, false);
  t.equal(c.error, e.message);
  t.same(c.missing, ['qwen2.5-coder:7b', 'nomic-embed-text']);
});

t.test('a model that is not pulled names the ollama pull that fixes it', async (t) => {
  const { llm } = await setup(t, { models: ['llama3:8b'] });
  const e = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 4096 }));
  t.equal(e.kind, 'model-missing');
  t.match(e.message, /: run `ollama pull qwen2\.5-coder:7b`$/);
  t.match(e.message, /^model "qwen2\.5-coder:7b" is not pulled on the Ollama at http:\/\/127\.0\.0\.1:\d+/);
});

t.test('malformed answers: empty content, not JSON, other HTTP errors', async (t) => {
  const { llm } = await setup(t, { chat: ['', '   \n', { status: 500, error: 'out of memory' }] });
  const e1 = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 4096 }));
  t.equal(e1.kind, 'malformed');
  t.match(e1.message, /malformed synthesis answer: the answer is empty/);
  const e2 = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 4096 }));
  t.equal(e2.kind, 'malformed');
  const e3 = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 4096 }));
  t.equal(e3.kind, 'failed');
  t.match(e3.message, /HTTP 500 out of memory$/);

  // A server that answers 200 with something that is not JSON.
  const http = await import('node:http');
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"message": {"content": "trunc');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const bad = createLlmBackend({ host: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, models: MODELS, timeoutMs: 2000 });
  const e4 = await llmError(t, bad.chat({ stage: 'comprehension', messages: msgs('x'), numCtx: 4096 }));
  t.equal(e4.kind, 'malformed');
  t.match(e4.message, /not JSON/);
});

t.test('embed returns one deterministic vector per text, or undefined without an embedding model', async (t) => {
  const { s, llm } = await setup(t);
  const v1 = await llm.embed(['tcp connect', 'block io latency']);
  const v2 = await llm.embed(['tcp connect']);
  t.equal(v1?.length, 2);
  t.same(v1?.[0], v2?.[0], 'deterministic');
  t.same(await llm.embed([]), []);
  const last = s.requests.at(-1);
  t.equal(last?.path, '/api/embed');
  t.equal(last?.body?.['model'], 'nomic-embed-text');

  const warnings: string[] = [];
  const { llm: noEmbed } = await setup(t, { models: ['qwen2.5-coder:7b'] }, { log: { warn: (_o, m) => warnings.push(m) } });
  t.equal(await noEmbed.embed(['x']), undefined);
  t.match(warnings[0], /embeddings unavailable: .*ollama pull nomic-embed-text/);
  // Cancelling an embed is still a cancellation.
  const e = await llmError(t, llm.embed(['x'], AbortSignal.abort()));
  t.equal(e.kind, 'cancelled');
});

t.test('check lists models and the configured ones that are missing', async (t) => {
  const { llm } = await setup(t, { models: ['qwen2.5-coder:7b', 'other:1'] });
  const c = await llm.check();
  t.same(c, { reachable: true, models: ['qwen2.5-coder:7b', 'other:1'], missing: ['nomic-embed-text'] });
});

t.test('chat refuses a missing numCtx', async (t) => {
  const { llm } = await setup(t, { chat: ['x'] });
  const e = await llmError(t, llm.chat({ stage: 'synthesis', messages: msgs('x'), numCtx: 0 }));
  t.equal(e.kind, 'malformed');
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}
