/**
 * Faults around requests and attaching, against the real daemon with the
 * Ollama stand-in: kgentd SIGKILLed mid-request (the request is marked failed with a reason on the
 * next start), SIGKILLed mid-attach (the approved program runs again, no orphan), SIGKILLed
 * mid-check (its files are cleaned), Ollama down or slow (the request fails with one line), and
 * SQLite intact after each kill (`PRAGMA integrity_check`). A bpftrace child killed is
 * runner-restart.test.ts.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { builtOrReason, createDaemon, eventually, pidsWith, type DaemonHandle } from '../support/daemon-harness.js';
import { startOllamaStandin } from '../support/ollama-standin.js';
import type { ProgramInfo } from '../../daemon/protocol/methods.js';
import type { RequestDetail, RequestInfo } from '../../daemon/protocol/requests-api.js';

const built = builtOrReason();
const root = process.getuid?.() !== 0 ? 'needs root to load eBPF programs' : undefined;
const MODELS = ['qwen2.5-coder:7b', 'nomic-embed-text'];

/** Sends one request and keeps the connection open (a client that leaves cancels its request). */
function open(socket: string, method: string, params: unknown): { answer: Promise<Record<string, unknown>>; close(): void } {
  const c = net.connect(socket);
  let buf = '';
  const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
    c.on('data', (d) => {
      buf += d.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        const m = JSON.parse(line) as Record<string, unknown>;
        if ('id' in m) resolve(m);
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    c.on('error', reject);
    c.on('close', () => reject(new Error('connection closed')));
  });
  answer.catch(() => undefined);
  c.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })}\n`);
  return { answer, close: () => c.destroy() };
}

function integrity(stateDir: string): string {
  const db = new Database(path.join(stateDir, 'kgent.db'), { readonly: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

async function withStandin(t: Tap.Test, delayMs: number, config: Record<string, unknown> = {}): Promise<DaemonHandle> {
  const standin = await startOllamaStandin({ chat: () => ({ content: '```bpftrace\nBEGIN { exit(); }\n```', delayMs }), models: MODELS });
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host }, config });
  t.teardown(async () => {
    await d.cleanup();
    await standin.close();
  });
  await d.start();
  return d;
}

t.test('SIGKILL mid-request: the next start marks it failed with the reason; SQLite intact', { skip: built }, async (t) => {
  const d = await withStandin(t, 60_000);
  const req = open(d.socket, 'request.submit', { text: 'count openat calls per process' });
  const running = await eventually(async () => {
    const l = await d.ctlJson<{ requests: RequestInfo[] }>(['requests']).catch(() => undefined);
    return l?.requests.find((r) => r.status === 'running');
  }, 20_000, 'request running');
  await d.kill('SIGKILL');
  req.close();
  t.equal(integrity(d.stateDir), 'ok', 'integrity_check after SIGKILL');
  await d.start();
  const shown = await d.ctlJson<RequestDetail>(['show', `R${running.id}`]);
  t.equal(shown.request.status, 'failed');
  t.match(shown.request.reason, /kgentd stopped while this request ran/);
  t.equal(integrity(d.stateDir), 'ok');
});

t.test('Ollama down: a request fails at once with one line', { skip: built }, async (t) => {
  const d = await createDaemon({ env: { OLLAMA_HOST: 'http://127.0.0.1:9' } });
  t.teardown(() => d.cleanup());
  await d.start();
  const r = await d.ctl(['request', 'count openat calls per process']);
  t.not(r.exitCode, 0);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /ollama|llm|model|unavailable|reach/i);
});

t.test('Ollama slow mid-request: the call hits llmTimeoutMs and the request fails with the reason', { skip: built }, async (t) => {
  const d = await withStandin(t, 20_000, { llmTimeoutMs: 1000, trials: 1 });
  const started = Date.now();
  const req = open(d.socket, 'request.submit', { text: 'count openat calls per process' });
  const answer = await req.answer;
  req.close();
  t.ok(Date.now() - started < 15_000, `answered in ${Date.now() - started} ms`);
  const text = JSON.stringify(answer);
  t.match(text, /time|timed out|1000 ?ms|slow/i, text.slice(0, 400));
  const l = await d.ctlJson<{ requests: RequestInfo[] }>(['requests']);
  const last = l.requests[0];
  t.ok(last && last.status !== 'running', `request ended (${last?.status}: ${last?.reason ?? ''})`);
});

t.test('SIGKILL mid-attach: the approved program runs again after the restart, no orphan; SQLite intact', { skip: built ?? root }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const file = path.join(d.dir, 'p.bt');
  await writeFile(file, 'tracepoint:sched:sched_switch { @n = count(); }\n');
  const source = 'tracepoint:sched:sched_switch { @n = count(); }\n';
  const run = open(d.socket, 'programs.run', { source, name: 'mid-attach' });
  await eventually(async () => /bpftrace started/.test(d.output()), 30_000, 'bpftrace started');
  await d.kill('SIGKILL');
  run.close();
  t.equal(integrity(d.stateDir), 'ok', 'integrity_check after SIGKILL');
  const progFile = path.join(d.stateDir, 'programs', '1.bt');
  await eventually(async () => (await pidsWith(progFile)).length === 0, 10_000, 'the killed daemon\'s bpftrace died with it');
  await d.start();
  const p = await eventually(async () => {
    const s = await d.ctlJson<{ program: ProgramInfo }>(['show', '1']);
    return s.program.status === 'running' ? s.program : undefined;
  }, 30_000, 'program running again');
  t.equal((await pidsWith(progFile)).length, 1, 'exactly one bpftrace');
  process.kill(p.pid!, 0);
});

t.test('SIGKILL mid-check: the next start removes the check files', { skip: built ?? root }, async (t) => {
  const d = await createDaemon();
  t.teardown(() => d.cleanup());
  await d.start();
  const checks = path.join(d.stateDir, 'checks');
  const check = open(d.socket, 'programs.check', { source: 'BEGIN { unroll(100) { unroll(100) { @x = 1; } } }\n' });
  await eventually(async () => existsSync(checks) && readdirSync(checks).some((n) => n.startsWith('kgent-check-')), 20_000, 'check dir');
  await d.kill('SIGKILL');
  check.close();
  t.ok(readdirSync(checks).length > 0, 'left behind by the kill');
  await d.start();
  t.same(readdirSync(checks), [], 'cleaned at start');
});
