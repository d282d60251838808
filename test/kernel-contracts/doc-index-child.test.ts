/**
 * The contracts search index as kgentd uses it (search/doc-index.ts): LanceDB in a child process
 * of its own, never in this one. A build's vectors are asked of this process; `close()` lets the
 * child go; a child killed between uses is replaced by the next use, which opens the generation
 * that was being searched. Needs `npm run build` (the child is the compiled script).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { DocIndex, type DocRow } from '../../kernel-contracts/search/doc-index.js';
import { builtOrReason, eventually } from '../support/daemon-harness.js';

const ROWS: DocRow[] = [
  { id: 'tracepoint:sock:inet_sock_set_state', kind: 'tracepoint', text: 'sock inet sock set state tcp connect state change', attachable: true },
  { id: 'tracepoint:block:block_rq_complete', kind: 'tracepoint', text: 'block rq complete disk request completion latency', attachable: true },
  { id: 'function:tcp_connect', kind: 'function', text: 'tcp connect int tcp_connect(struct sock *sk)', attachable: false },
];

/** A bag-of-letters vector: similar texts, similar vectors (enough for a hybrid query). */
const vec = (s: string): number[] => Array.from({ length: 8 }, (_, i) => [...s].filter((c) => c.charCodeAt(0) % 8 === i).length + 1);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('LanceDB in its own child: build with vectors asked of the parent, search, let go, start again', { skip: builtOrReason() }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-doc-index-child-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lance = path.join(dir, 'contracts.lance');

  const docs = await DocIndex.open(lance);
  t.equal(docs.ready, false, 'no generation yet');
  const asked: string[] = [];
  const progress: number[] = [];
  await docs.build(1, ROWS, { embed: async (texts) => (asked.push(...texts), texts.map(vec)), batch: 2, onProgress: (done) => progress.push(done) });
  t.same(asked, ROWS.map((r) => r.text), 'every text was embedded by this process, on the child`s asking');
  t.same(progress, [2, 3], 'the build`s progress came back');
  await docs.activate(1);
  t.ok(docs.ready && docs.hasVectors, 'generation 1 is searched, with vectors');
  const hits = await docs.search('tcp connect', 2, { vector: vec('tcp connect') });
  t.ok(hits.some((h) => h.id === 'tracepoint:sock:inet_sock_set_state'), `hybrid hits: ${hits.map((h) => h.id).join(', ')}`);
  t.same((await docs.search('disk', 5, { kind: 'function' })).length, 0, 'the kind filter runs in the child');
  await t.rejects(docs.build(2, [], { embed: async (texts) => texts.map(vec) }), /cannot build a vector index of no rows/, 'the child`s error comes back as it was thrown');
  await docs.drop(2);
  t.ok(docs.ready, 'the searched generation is untouched');

  const first = docs.pid!;
  t.ok(alive(first));
  process.kill(first, 'SIGKILL');
  await eventually(async () => docs.pid === undefined, 5000, 'the killed child noticed');
  const again = await docs.search('disk request latency', 1);
  t.equal(again[0]?.id, 'tracepoint:block:block_rq_complete', 'a fresh child opened generation 1 again and answers');
  t.not(docs.pid, first);

  const second = docs.pid!;
  docs.close();
  await eventually(async () => !alive(second), 5000, 'the closed index`s child exited');
  t.pass('close() let the child go');
  t.notMatch(readFileSync('/proc/self/maps', 'utf8'), /lancedb/, 'this process never mapped LanceDB');

  const reopened = await DocIndex.open(lance, 1);
  t.teardown(() => reopened.close());
  t.ok(reopened.ready && reopened.hasVectors, 'reopened at generation 1');
  t.ok((await reopened.search('tcp', 3)).length > 0);
});
