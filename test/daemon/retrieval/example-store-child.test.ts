/**
 * The example store as kgentd runs it: LanceDB in a child process (example-store-main.js) started
 * by the first use, let go after `idleMs` without one and started again by the next use; vectors
 * asked of the parent (the stand-in sees every embedding request come from this process's
 * backend); the store's typed errors keep their code across the boundary; this process never maps
 * LanceDB's native library. Needs `npm run build` (the children are the compiled scripts).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { KgentError } from '../../../daemon/errors.js';
import { createLlmBackend } from '../../../daemon/llm/backend.js';
import { createLogger } from '../../../daemon/log.js';
import type { ExampleStoreClient } from '../../../daemon/retrieval/example-store-client.js';
import { backendEmbedder, ExampleLibrary } from '../../../daemon/retrieval/library.js';
import { builtOrReason, eventually, REPO_ROOT } from '../../support/daemon-harness.js';
import { startOllamaStandin } from '../../support/ollama-standin.js';

const MODEL = 'nomic-embed-text';
const IDLE_MS = 400;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('the store lives in a child let go when idle and started again by the next use', { skip: builtOrReason() }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-example-store-child-'));
  const data = path.join(dir, 'examples');
  cpSync(path.join(REPO_ROOT, 'datasets', 'examples', 'block'), path.join(data, 'block'), { recursive: true });
  const standin = await startOllamaStandin({ embedModels: [MODEL] });
  t.teardown(async () => {
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const logger = createLogger('silent');
  let asked = 0;
  const llm = createLlmBackend({ host: standin.host, models: { synthesis: 'x', comprehension: 'x', embedding: MODEL }, timeoutMs: 10_000 });
  const embed = backendEmbedder({ ...llm, embed: (texts, signal) => ((asked += texts.length), llm.embed(texts, signal)) }, MODEL, logger);
  const lib = await ExampleLibrary.open({ stateDir: path.join(dir, 'state'), embedding: { model: MODEL, embed }, syncInChild: { datasetDir: data, idleMs: IDLE_MS }, logger });
  t.teardown(() => lib.close());
  t.match(await lib.ready, { changed: true, vectors: true }, 'the sync child made vectors');
  const syncAsked = asked;
  t.ok(syncAsked > 0, 'the sync child asked this process for its vectors');

  const hit = await lib.search('latency of disk requests per device', 3);
  t.equal(hit.mode, 'hybrid', 'the query vector was asked of this process too');
  t.ok(asked > syncAsked);
  const client = (await lib.store()) as ExampleStoreClient;
  t.equal(client.hasVectors, true);
  const first = client.pid;
  t.ok(first !== undefined && alive(first), 'a store child runs');
  t.equal(client.started, 1);

  await eventually(async () => client.pid === undefined && !alive(first!), 5000, 'the idle child let go');
  t.pass(`the child exited after ${IDLE_MS} ms without a use`);
  t.notMatch(readFileSync('/proc/self/maps', 'utf8'), /lancedb/, 'this process never mapped LanceDB');

  const again = await lib.search('disk latency', 3);
  t.ok(again.hits.length > 0, 'the next use starts a fresh child and answers');
  t.equal(client.started, 2);
  t.not(client.pid, first);

  const err = await client.remove('no/such-example').catch((e: unknown) => e);
  t.ok(err instanceof KgentError && err.code === 'not-found', `a typed error keeps its code: ${String(err)}`);
  t.equal(await client.get('no/such-example'), undefined, 'a missing entry is undefined, as in one process');

  // A child killed between uses: the next use starts another.
  process.kill(client.pid!, 'SIGKILL');
  await eventually(async () => client.pid === undefined, 5000, 'the killed child noticed');
  t.ok((await lib.search('disk latency', 3)).hits.length > 0, 'a fresh child after a kill');
  t.equal(client.started, 3);
});
