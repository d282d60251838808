/**
 * The one LLM door refuses a local Ollama port held by a foreign user (server/port-owner.ts
 * `guardLocalLlm`): an Ollama-protocol stand-in listening on 127.0.0.1 as a real user made for
 * the test (useradd) gets no prompt and no text to embed; the same stand-in held by the configured
 * Ollama user, or by root, serves; `allowForeignOllama` lets the foreign one serve. Real sockets,
 * real users; the stand-in's record file shows what reached it. Needs root (useradd, runuser)
 * and `npm run build` (the stand-in runs as the compiled standin-main.js).
 */
import { execa, type ResultPromise } from 'execa';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createLlmBackend, type LlmBackend } from '../../../daemon/llm/backend.js';
import { guardLocalLlm } from '../../../daemon/server/port-owner.js';
import { UserDb } from '../../../daemon/server/peer-identity.js';
import { builtOrReason, REPO_ROOT } from '../../support/daemon-harness.js';
import { asUser, createUsers, userTag } from '../../support/real-users.js';
import { startOllamaStandin } from '../../support/ollama-standin.js';

const STANDIN_JS = path.join(REPO_ROOT, 'dist', 'test', 'support', 'standin-main.js');
const MODELS = { synthesis: 'qwen2.5-coder:7b', comprehension: 'qwen2.5-coder:7b', embedding: 'nomic-embed-text' };
const tag = userTag();
const FOREIGN = `kgpf${tag}`;
const OLLAMA = `kgpo${tag}`;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (useradd, runuser)';
  return builtOrReason();
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The stand-in run as `user` on a free local port; its record file lists what reached it. */
async function standinAs(user: string, dir: string): Promise<{ host: string; record: string; proc: ResultPromise; reached(): number }> {
  const port = await freePort();
  const script = path.join(dir, 'script.jsonl');
  const record = path.join(dir, `record-${user}.jsonl`);
  writeFileSync(script, `${JSON.stringify({ match: null, response: '{"ok": true}' })}\n`);
  const proc = execa('runuser', asUser(user, [STANDIN_JS, '--script', script, '--port', String(port), '--record', record]), { reject: false });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on')) resolve();
    });
    void proc.then((r) => reject(new Error(`the stand-in as ${user} exited ${r.exitCode}: ${String(r.stderr)}`)));
  });
  const reached = (): number => (existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter((l) => l.includes('/api/chat') || l.includes('/api/embed')).length : 0);
  return { host: `http://127.0.0.1:${port}`, record, proc, reached };
}

function guarded(host: string, ollamaUser: string, allowForeign = false): LlmBackend {
  return guardLocalLlm(createLlmBackend({ host, models: MODELS, timeoutMs: 10_000 }), { ollamaUser, allowForeign, users: new UserDb() });
}

const ask = (llm: LlmBackend): Promise<string> => llm.chat({ stage: 'synthesis', messages: [{ role: 'user', content: 'write a program' }], numCtx: 4096 }).then((r) => r.content);

t.test('a local Ollama port held by a foreign user gets no prompt; the Ollama user, root and allowForeign are served', { skip: skipReason() ?? false, timeout: 60_000 }, async (t) => {
  const removeUsers = await createUsers([], { [FOREIGN]: [], [OLLAMA]: [] });
  t.teardown(removeUsers);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-port-guard-'));
  // The stand-ins run as the test users: they read the script and write their record here.
  chmodSync(dir, 0o777);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const foreign = await standinAs(FOREIGN, dir);
  t.teardown(() => void foreign.proc.kill('SIGTERM'));
  const refused = guarded(foreign.host, OLLAMA);
  const check = await refused.check();
  t.equal(check.reachable, false, 'check says unreachable');
  t.match(check.error, new RegExp(`held by ${FOREIGN} \\(uid \\d+\\).*not root or the Ollama user "${OLLAMA}"`), `with who holds it: ${check.error}`);
  await t.rejects(ask(refused), /held by/, 'a chat prompt is refused with why');
  t.equal(await refused.embed(['tcp connect']), undefined, 'no text is sent to embed');
  t.equal(foreign.reached(), 0, 'nothing reached the foreign stand-in');

  // The same holder, allowed by configuration.
  const allowed = guarded(foreign.host, OLLAMA, true);
  t.equal(await ask(allowed), '{"ok": true}', 'allowForeignOllama: served');
  t.equal(foreign.reached(), 1);

  // Held by the configured Ollama user.
  const own = await standinAs(OLLAMA, dir);
  t.teardown(() => void own.proc.kill('SIGTERM'));
  const byOllama = guarded(own.host, OLLAMA);
  t.equal((await byOllama.check()).reachable, true, 'the Ollama user`s port is reachable');
  t.equal(await ask(byOllama), '{"ok": true}', 'a prompt is answered');
  t.equal((await byOllama.embed(['tcp connect']))?.length, 1, 'vectors come back');
  t.equal(own.reached(), 2);

  // Held by root (this process).
  const root = await startOllamaStandin({ chat: () => '{"root": true}', models: Object.values(MODELS) });
  t.teardown(() => root.close());
  const byRoot = guarded(root.host, OLLAMA);
  t.equal(await ask(byRoot), '{"root": true}', 'root`s port is served');
  t.equal((await byRoot.embed(['x']))?.length, 1);
});
