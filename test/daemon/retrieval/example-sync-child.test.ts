/**
 * The example library as kgentd runs it (`syncInChild`): whether a sync is needed is decided from
 * `examples.meta.json` alone, a needed sync runs in the compiled `example-sync-main.js` child
 * (its log lines come back through the parent's logger), and the table is opened in this process
 * only by the first use. Needs `npm run build` (the child is the compiled script).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { createLogger } from '../../../daemon/log.js';
import { createLlmBackend } from '../../../daemon/llm/backend.js';
import { readExampleMeta, syncReason } from '../../../daemon/retrieval/example-meta.js';
import { datasetHash } from '../../../daemon/retrieval/example-rows.js';
import { backendEmbedder, ExampleLibrary } from '../../../daemon/retrieval/library.js';
import { loadExamples } from '../../../datasets/load.js';
import { builtOrReason, REPO_ROOT } from '../../support/daemon-harness.js';
import { startOllamaStandin } from '../../support/ollama-standin.js';

const SCRIPT = path.join(REPO_ROOT, 'dist', 'daemon', 'retrieval', 'example-sync-main.js');
const MODEL = 'nomic-embed-text';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => { msg: string; sync?: string; reason?: string; level: number }[] } {
  let text = '';
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { logger: createLogger('debug', dest), lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

async function setup(t: Test): Promise<{ state: string; data: string; host: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-example-sync-'));
  const data = path.join(dir, 'examples');
  cpSync(path.join(REPO_ROOT, 'datasets', 'examples', 'block'), path.join(data, 'block'), { recursive: true });
  const standin = await startOllamaStandin({ embedModels: [MODEL] });
  t.teardown(async () => {
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { state: path.join(dir, 'state'), data, host: standin.host };
}

function open(state: string, data: string, host: string, logger: ReturnType<typeof createLogger>, script = SCRIPT): Promise<ExampleLibrary> {
  return ExampleLibrary.open({
    stateDir: state,
    // Vectors through the daemon's LLM backend: the children ask this process for them.
    embedding: { model: MODEL, embed: backendEmbedder(createLlmBackend({ host, models: { synthesis: 'x', comprehension: 'x', embedding: MODEL }, timeoutMs: 10_000 }), MODEL, logger) },
    syncInChild: { datasetDir: data, script },
    logger,
  });
}

t.test('a needed sync runs in the child; an unchanged dataset starts none; a change reloads and keeps learned rows', { skip: builtOrReason() }, async (t) => {
  const { state, data, host } = await setup(t);
  const blocks = loadExamples(data).length;

  const a = capture();
  const lib = await open(state, data, host, a.logger);
  const first = await lib.ready;
  t.match(first, { changed: true, datasetExamples: blocks, learned: 0, vectors: true }, 'the child loaded the dataset with vectors');
  t.ok(a.lines().some((l) => l.sync === 'child' && l.msg === 'examples loaded'), "the child's log line came back through the parent's logger");
  t.equal(readExampleMeta(state)?.vectorModel, MODEL);

  const hit = await lib.search('latency of disk requests per device', 3);
  t.equal(hit.mode, 'hybrid', 'search works after the child sync, with the vectors it made');
  t.ok(hit.hits.length > 0 && hit.hits.every((h) => h.id.startsWith('block/')));
  const learned = await lib.learn({ ownerUid: 1001, owner: 'alice', requestId: 'R7', prompt: 'count block I/O errors per device', program: 'tracepoint:block:block_rq_complete /args->error/ { @[args->dev] = count(); }', verdict: 'verified' });
  lib.close();
  await lib.ready;

  // Same dataset, same model: nothing to do, no child.
  const b = capture();
  const again = await open(state, data, host, b.logger);
  t.equal(await again.ready, undefined, 'no sync');
  t.notOk(b.lines().some((l) => l.msg.includes('child process')), 'no child started');
  t.ok(b.lines().some((l) => l.msg.includes('no sync')));
  t.equal((await again.store()).hasVectors, true);
  again.close();

  // The dataset changes: the child reloads it and keeps the learned entry.
  for (const f of ['io-errors.bt', 'io-errors.annotated.bt'].map((n) => path.join(data, 'block', n))) {
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^(\/\/ prompt: .*)$/m, '$1 (reworded)'));
  }
  t.not(syncReason(state, datasetHash(loadExamples(data)), MODEL), undefined, 'the meta file says the dataset changed');
  const c = capture();
  const third = await open(state, data, host, c.logger);
  t.match(await third.ready, { changed: true, learned: 1 });
  t.ok(c.lines().some((l) => l.reason === 'dataset changed' && l.msg.includes('child process')));
  t.match(await (await third.store()).get(learned.id, 'all'), { ownerUid: 1001, owner: 'alice' }, 'the learned entry survived the reload, with its owner');
  third.close();
});

t.test('meta file: vectors of another model or rows without one ask for a sync', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-example-meta-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(syncReason(dir, 'h', MODEL), 'no table yet');
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'examples.lance', 'examples.lance', 'x'), { recursive: true });
  t.equal(syncReason(dir, 'h', MODEL), 'no sync recorded');
  const meta = (m: object): void => writeFileSync(path.join(dir, 'examples.meta.json'), JSON.stringify({ datasetHash: 'h', datasetExamples: 1, syncedAt: 'now', ...m }));
  meta({ vectorModel: MODEL });
  t.equal(syncReason(dir, 'h', MODEL), undefined);
  t.equal(syncReason(dir, 'other', MODEL), 'dataset changed');
  t.match(syncReason(dir, 'h', 'mxbai-embed-large'), /vectors from nomic-embed-text/);
  meta({});
  t.equal(syncReason(dir, 'h', MODEL), 'no vectors yet');
  t.equal(syncReason(dir, 'h', undefined), undefined, 'no model configured: full text is all there is');
  meta({ vectorModel: MODEL, missingVectors: true });
  t.equal(syncReason(dir, 'h', MODEL), 'rows without a vector');
});

t.test('a failed child is logged and the library still answers (from what the table held)', { skip: builtOrReason() }, async (t) => {
  const { state, data, host } = await setup(t);
  const log = capture();
  const lib = await open(state, data, host, log.logger, path.join(path.dirname(SCRIPT), 'no-such-script.js'));
  t.equal(await lib.ready, undefined);
  t.ok(log.lines().some((l) => l.level === 50 && /example sync child exited 1/.test(JSON.stringify(l))), 'the failure is logged with the child stderr');
  t.same((await lib.search('disk latency', 3)).hits, [], 'no table: no hits, no error');
  t.notOk(existsSync(path.join(state, 'examples.meta.json')));
  lib.close();
});
