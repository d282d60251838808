// The stand-in as a program, run from dist/ (npm run build first), talked to with the real client.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ollama } from 'ollama';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = path.join(root, 'dist/test/support/standin-main.js');

function start(args: string[]): Promise<{ child: ChildProcess; host: string; stderr: () => string }> {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, host: m[1]!, stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`standin exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

t.test('npm run standin: scripted answers by match, deterministic embeddings, a record of every request', { skip: existsSync(entry) ? false : 'run npm run build first' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-standin-'));
  const script = path.join(dir, 'script.jsonl');
  const record = path.join(dir, 'record.jsonl');
  writeFileSync(
    script,
    [
      { match: 'port', response: 'first port answer' },
      { match: null, response: 'any answer' },
      { match: 'port', response: 'second port answer' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n') + '\n',
  );
  const { child, host } = await start(['--script', script, '--port', '0', '--record', record, '--models', 'qwen2.5-coder:7b,nomic-embed-text']);
  t.teardown(() => stop(child));
  const client = new Ollama({ host });
  const ask = async (content: string) =>
    (await client.chat({ model: 'qwen2.5-coder:7b', messages: [{ role: 'system', content: 'sys mentions port' }, { role: 'user', content }], options: { num_ctx: 8192 } })).message.content;

  t.equal(await ask('print the port'), 'first port answer', 'first unused matching entry');
  t.equal(await ask('count syscalls'), 'any answer', 'null matches any request');
  t.equal(await ask('the port again'), 'second port answer', 'entries are used once');
  await t.rejects(ask('the port a third time'), /no unused script entry matches request #3 \(last user message: "the port a third time"\)/);
  await t.rejects(client.chat({ model: 'llama3', messages: [] }), /model "llama3" not found/);

  const e1 = await client.embed({ model: 'nomic-embed-text', input: ['tcp connect', 'read latency'] });
  const e2 = await client.embed({ model: 'nomic-embed-text', input: 'tcp connect' });
  t.equal(e1.embeddings.length, 2);
  t.same(e1.embeddings[0], e2.embeddings[0], 'deterministic');
  t.same((await client.list()).models.map((m) => m.name), ['qwen2.5-coder:7b', 'nomic-embed-text']);

  const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: string; path: string; body?: Record<string, unknown> });
  t.same(lines.map((l) => l.path), ['/api/chat', '/api/chat', '/api/chat', '/api/chat', '/api/chat', '/api/embed', '/api/embed', '/api/tags']);
  t.same(lines[0]!.body?.['messages'], [
    { role: 'system', content: 'sys mentions port' },
    { role: 'user', content: 'print the port' },
  ]);
  t.same(lines[0]!.body?.['options'], { num_ctx: 8192 });
  t.same(lines[5]!.body?.['input'], ['tcp connect', 'read latency']);
});

t.test('standin --delay-ms: a client that gives up is recorded as client-closed', { skip: existsSync(entry) ? false : 'run npm run build first' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-standin-'));
  const script = path.join(dir, 'script.jsonl');
  const record = path.join(dir, 'record.jsonl');
  writeFileSync(script, '{"match": null, "response": "slow"}\n');
  const { child, host } = await start(['--script', script, '--port', '0', '--record', record, '--delay-ms', '2000']);
  t.teardown(() => stop(child));
  const ac = new AbortController();
  const client = new Ollama({ host, fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, signal: ac.signal }) });
  setTimeout(() => ac.abort(), 200);
  await t.rejects(client.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }));
  const end = Date.now() + 3000;
  let events: string[] = [];
  while (Date.now() < end) {
    events = readFileSync(record, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event?: string }).event ?? 'request');
    if (events.length >= 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.same(events, ['request', 'client-closed']);
});

t.test('standin refuses a bad script with the line', { skip: existsSync(entry) ? false : 'run npm run build first' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-standin-'));
  const script = path.join(dir, 'bad.jsonl');
  writeFileSync(script, '{"match": null, "response": "ok"}\n{"match": 3, "response": "x"}\n');
  await t.rejects(start(['--script', script, '--port', '0']), /bad\.jsonl:2: "match" must be a string or null/);
});

t.test('npm run standin offers every model, and stopping npm frees the port', { skip: existsSync(entry) ? false : 'run npm run build first', timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-standin-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ models: { synthesis: 'llama3.1:8b', comprehension: 'llama3.1:8b', embedding: 'nomic-embed-text' } }));
  const port = 20000 + (process.pid % 20000);
  const runNpm = (): Promise<{ child: ChildProcess; out: () => string }> => {
    const child = spawn('npm', ['run', '--silent', 'standin', '--', '--port', String(port)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KGENT_CONFIG: config } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        if (/listening on/.test(out)) {
          clearInterval(timer);
          resolve({ child, out: () => out });
        }
      }, 100);
      child.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`npm run standin exited ${code}: ${out}`));
      });
    });
  };
  const first = await runNpm();
  t.match(first.out(), /any model, listing llama3\.1:8b, nomic-embed-text/);
  const client = new Ollama({ host: `http://127.0.0.1:${port}` });
  t.same((await client.list()).models.map((m) => m.name), ['llama3.1:8b', 'nomic-embed-text'], 'kgentd\'s configured models are listed');
  const r = await client.chat({ model: 'some-other:1b', messages: [{ role: 'user', content: 'hi' }] }).catch((e: Error) => e);
  t.notMatch(String((r as Error).message ?? ''), /not found/, 'any model is accepted');
  t.ok((await client.list()).models.some((m) => m.name === 'some-other:1b'), 'a model asked for is listed from then on');
  // Stopping npm (not its children) must free the port for the next start.
  first.child.kill('SIGTERM');
  await new Promise((r) => first.child.once('exit', r));
  const second = await (async () => {
    for (let i = 0; i < 20; i++) {
      try {
        return await runNpm();
      } catch (err) {
        if (!/EADDRINUSE|in use/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error('the port stayed in use');
  })();
  t.pass('the second start listens on the same port');
  second.child.kill('SIGTERM');
  await new Promise((r) => second.child.once('exit', r));
  // A port held by something else: one line, no usage text.
  // (npm's own child may take a moment to leave the port after npm exits: start once it is free.)
  const blocker = await (async () => {
    for (let i = 0; i < 40; i++) {
      const c = spawn(process.execPath, [entry, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const up = await new Promise<boolean>((r) => {
        c.stdout!.once('data', () => r(true));
        c.once('exit', () => r(false));
      });
      if (up) return c;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('the port stayed in use');
  })();
  const clash = spawn(process.execPath, [entry, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  clash.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => clash.once('exit', r));
  t.equal(code, 2);
  t.match(err, /^standin: port \d+ is in use \(another stand-in, or Ollama itself\?\); stop it or give --port N\n$/);
  await stop(blocker);
});
