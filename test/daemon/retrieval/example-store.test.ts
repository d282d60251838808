import t, { type Test } from 'tap';
import { withExampleStore } from '../../support/example-store-dir.js';
import type { DatasetExample, EmbedFn } from '../../../daemon/retrieval/example-store.js';
import { hashedEmbedding } from '../../support/ollama-standin.js';

function ex(area: string, slug: string, prompt: string, tags: string[], hooks: string[], program: string): DatasetExample {
  return { id: `${area}/${slug}`, area: area as DatasetExample['area'], prompt, tags, hooks, program, annotated: `${program}\n// annotated` };
}

/** Learned entries are someone's: these tests learn as one member and look as them. */
const ALICE = { ownerUid: 1001, owner: 'alice' } as const;
const asAlice = { viewer: { uid: 1001 } } as const;

const DATASET: DatasetExample[] = [
  ex('file', 'opens-by-process', 'Print each file opened, with the process name and pid.', ['file', 'open'], ['tracepoint:syscalls:sys_enter_openat'],
    'tracepoint:syscalls:sys_enter_openat { printf("%d %s %s\\n", pid, comm, str(args->filename)); }'),
  ex('network', 'tcp-connect-v4', 'Show outgoing TCP connections with destination address and port.', ['network', 'tcp', 'connect'], ['kprobe:tcp_connect'],
    'kprobe:tcp_connect { $sk = (struct sock *)arg0; printf("%s\\n", ntop($sk->__sk_common.skc_daddr)); }'),
  ex('block', 'io-latency-hist', 'Histogram of block I/O latency per device.', ['block', 'latency', 'histogram'], ['tracepoint:block:block_rq_issue', 'tracepoint:block:block_rq_complete'],
    'tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; }\ntracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ { @us = hist((nsecs - @start[args->dev, args->sector]) / 1000); }'),
  ex('sched', 'runqueue-latency', 'How long do threads wait on the run queue before they run?', ['sched', 'latency'], ['tracepoint:sched:sched_wakeup', 'tracepoint:sched:sched_switch'],
    'tracepoint:sched:sched_wakeup { @q[args->pid] = nsecs; }\ntracepoint:sched:sched_switch { @lat = hist(nsecs - @q[args->next_pid]); }'),
  ex('signal', 'kill-senders', 'Who sends signals to whom: sender, target pid and signal number.', ['signal', 'kill'], ['tracepoint:signal:signal_generate'],
    'tracepoint:signal:signal_generate { printf("%s -> %d sig %d\\n", comm, args->pid, args->sig); }'),
];

const withStore = (t: Test) => withExampleStore(t);

t.test('first sync loads the dataset with a full-text index; an unchanged dataset is not reloaded', async (t) => {
  const { open } = await withStore(t);
  const store = await open();
  const first = await store.sync(DATASET);
  t.match(first, { changed: true, datasetExamples: 5, learned: 0, vectors: false });
  t.equal((await store.list()).length, 5);
  const r = await store.search('which files does a process open', 3);
  t.equal(r.mode, 'full-text');
  t.equal(r.hits[0]?.id, 'file/opens-by-process');
  t.match(r.hits[0], { kind: 'dataset', area: 'file', tags: ['file', 'open'], hooks: ['tracepoint:syscalls:sys_enter_openat'] });
  t.ok(r.hits[0]!.annotated?.includes('// annotated'));
  t.ok(r.hits[0]!.score > 0);

  // Kernel and bpftrace names reach the program through the second (hooks + program) column.
  t.equal((await store.search('sched_wakeup', 1)).hits[0]?.id, 'sched/runqueue-latency');
  t.equal((await store.search('ntop skc_daddr', 1)).hits[0]?.id, 'network/tcp-connect-v4');

  const again = await store.sync(DATASET);
  t.equal(again.changed, false, 'same dataset: nothing done');
  store.close();
  const reopened = await open();
  t.equal((await reopened.sync(DATASET)).changed, false, 'same dataset after a restart: nothing done');
  t.equal((await reopened.search('tcp connections', 1)).hits[0]?.id, 'network/tcp-connect-v4');
});

t.test('learn: verified -> positive, failure -> avoid note with its feedback; list, get, remove', async (t) => {
  const { open } = await withStore(t);
  const store = await open();
  await store.sync(DATASET);
  const pos = await store.learn({
    ...ALICE,
    requestId: 'r17',
    prompt: 'count udp packets sent per process',
    program: 'kprobe:udp_sendmsg { @[comm] = count(); }',
    annotated: 'kprobe:udp_sendmsg { @[comm] = count(); }\ncover(kprobe:udp_sendmsg);',
    verdict: 'verified',
  });
  t.match(pos, { id: /^learned\/[0-9a-f]{16}$/, kind: 'learned-positive', requestId: 'r17', verdict: 'verified', hooks: ['kprobe:udp_sendmsg'], ownerUid: 1001, owner: 'alice' });
  t.notOk(pos.promotedBy, 'not shared');
  t.ok(pos.learnedAt);
  const avoid = await store.learn({
    ...ALICE,
    requestId: 'r18',
    prompt: 'print the destination port of udp packets',
    program: 'kprobe:udp_sendmsg { printf("%d\\n", arg1); }',
    verdict: 'refuted',
    feedback: ['assert(printed(0) == dport) fails: port printed in network byte order (counterexample: dport=0x1f90 printed 36895)'],
  });
  t.match(avoid, { id: /^avoid\/[0-9a-f]{16}$/, kind: 'learned-avoid', verdict: 'refuted', ownerUid: 1001 });
  t.same(avoid.feedback, ['assert(printed(0) == dport) fails: port printed in network byte order (counterexample: dport=0x1f90 printed 36895)']);

  t.same((await store.list({ learnedOnly: true, ...asAlice })).map((e) => e.id), [pos.id, avoid.id]);
  t.equal((await store.list(asAlice)).length, 7);
  t.equal((await store.get(avoid.id, asAlice.viewer))?.kind, 'learned-avoid');
  t.equal(await store.get('nope/x', 'all'), undefined);

  const hits = (await store.search('udp packets per process', 5, asAlice)).hits;
  t.equal(hits[0]?.id, pos.id, 'learned rows are found by full text (added after the index)');
  const onlyPositive = (await store.search('udp port', 5, { kinds: ['dataset', 'learned-positive'], ...asAlice })).hits;
  t.notOk(onlyPositive.some((h) => h.kind === 'learned-avoid'), 'kinds filter');
  t.ok((await store.search('byte order counterexample', 5, asAlice)).hits.some((h) => h.id === avoid.id), 'feedback is searchable');

  // The same request text (up to case, spacing, a final full stop) and program: one row, updated.
  const again = await store.learn({ ...ALICE, requestId: 'r19', prompt: '  Count UDP packets sent  per process. ', program: 'kprobe:udp_sendmsg {\n  @[comm] = count();\n}', verdict: 'verified' });
  t.equal(again.id, pos.id, 'same owner, request and program: the same entry');
  t.equal(again.requestId, 'r19', 'updated to the latest request');
  t.equal((await store.list({ learnedOnly: true, ...asAlice })).length, 2);

  await t.rejects(store.remove('file/opens-by-process'), { code: 'refused', message: /dataset example.*datasets\/examples\/file\/opens-by-process\.bt/ });
  await t.rejects(store.remove('learned/none'), { code: 'not-found' });
  t.equal((await store.remove(avoid.id)).id, avoid.id);
  t.same((await store.list({ learnedOnly: true, ...asAlice })).map((e) => e.id), [pos.id]);
  await t.rejects(store.learn({ ...ALICE, requestId: '../x', prompt: 'p', verdict: 'verified' }), { code: 'bad-request' });
  await t.rejects(store.learn({ ownerUid: -1, owner: 'x', requestId: 'r1', prompt: 'p', verdict: 'verified' }), { code: 'bad-request' }, 'an owner is required');
});

t.test('a changed dataset is reloaded and learned entries are kept', async (t) => {
  const { open } = await withStore(t);
  const store = await open();
  await store.sync(DATASET);
  const mmap = await store.learn({ ...ALICE, requestId: 'r1', prompt: 'trace mmap calls', program: 'tracepoint:syscalls:sys_enter_mmap { @ = count(); }', verdict: 'verified' });
  const changed = [
    ...DATASET.slice(1),
    ex('memory', 'page-faults', 'Count page faults per process.', ['memory', 'page fault'], ['software:page-faults:1'], 'software:page-faults:1 { @[comm] = count(); }'),
  ];
  const r = await store.sync(changed);
  t.match(r, { changed: true, datasetExamples: 5, learned: 1 });
  const ids = (await store.list(asAlice)).map((e) => e.id);
  t.ok(ids.includes('memory/page-faults'));
  t.notOk(ids.includes('file/opens-by-process'), 'an example gone from the dataset is gone from the table');
  t.ok(ids.includes(mmap.id));
  t.match(await store.get(mmap.id, asAlice.viewer), { ownerUid: 1001, owner: 'alice' }, 'the owner survives a reload');
  t.equal((await store.search('mmap', 1, asAlice)).hits[0]?.id, mmap.id);
  t.equal((await store.search('page faults', 1)).hits[0]?.id, 'memory/page-faults');
  // A content change of one example (same ids) is a change too.
  const edited = changed.map((e) => (e.id === 'memory/page-faults' ? { ...e, prompt: 'Count minor and major page faults per process.' } : e));
  t.equal((await store.sync(edited)).changed, true);
  t.equal((await store.get('memory/page-faults'))?.prompt, 'Count minor and major page faults per process.');
});

t.test('hostile query text never throws', async (t) => {
  const { open } = await withStore(t);
  const store = await open();
  t.same(await store.search('anything', 5), { mode: 'full-text', hits: [] }, 'before the first sync: no hits');
  await store.sync(DATASET);
  const queries = [
    '"unbalanced quote', "it's", 'comm:bash', 'a -> b', '(open', 'open)', 'AND OR NOT', '+tcp -udp', 'tcp^2', 'file*', '~', '\\', '',
    '   ', "'; DROP TABLE examples; --", 'kind = \'dataset\'', 'args->filename', '@start[tid] = nsecs;', '{}[]', 'ünïcödé ключ 端口', 'x'.repeat(5000),
  ];
  for (const q of queries) {
    const r = await store.search(q, 5);
    t.ok(Array.isArray(r.hits), JSON.stringify(q.slice(0, 40)));
  }
  t.equal((await store.search('args->filename of open()', 1)).hits[0]?.id, 'file/opens-by-process');
  t.equal(await store.get("x' OR '1'='1"), undefined, 'quotes in an id do not widen the filter');
});

/**
 * A deterministic embedding that knows that storage means block devices and disk: hybrid ranking
 * finds the block example for a request that shares no word with it.
 */
function conceptEmbed(dims = 32): EmbedFn {
  const concepts: [RegExp, string][] = [[/\b(storage|disk|block|drive|i\/o)\b/gi, ' storage storage storage ']];
  return async (texts) => texts.map((s) => hashedEmbedding(concepts.reduce((acc, [re, w]) => acc.replace(re, w), s.toLowerCase()), dims));
}

t.test('vectors when the embedding model answers: hybrid ranking (RRF); added later when the model appears', async (t) => {
  const { open } = await withStore(t);
  let answers = false;
  const calls: number[] = [];
  const inner = conceptEmbed();
  const embed: EmbedFn = async (texts) => {
    calls.push(texts.length);
    return answers ? inner(texts) : undefined;
  };
  // No model yet: full text only.
  const s1 = await open({ embed, embedModel: 'm1' });
  t.match(await s1.sync(DATASET), { changed: true, vectors: false });
  t.equal(s1.hasVectors, false);
  await s1.learn({ ...ALICE, requestId: 'r5', prompt: 'slow drive writes', program: 'tracepoint:block:block_rq_issue { @ = count(); }', verdict: 'verified' });
  t.equal((await s1.search('anything about storage', 3)).mode, 'full-text');
  s1.close();

  // The model appears: the next start adds vectors, keeping the learned entry.
  answers = true;
  const s2 = await open({ embed, embedModel: 'm1' });
  calls.length = 0;
  t.match(await s2.sync(DATASET), { changed: true, vectors: true, learned: 1 });
  t.same(calls, [6], 'one batch: 5 dataset examples + 1 learned');
  t.equal(s2.hasVectors, true);

  const fts = await s2.search('where is my storage slowness', 3, { fullTextOnly: true });
  t.equal(fts.mode, 'full-text');
  t.notOk(fts.hits.some((h) => h.id === 'block/io-latency-hist'), 'no shared word: full text misses it');
  const hybrid = await s2.search('where is my storage slowness', 3);
  t.equal(hybrid.mode, 'hybrid');
  t.ok(hybrid.hits.slice(0, 2).some((h) => h.id === 'block/io-latency-hist'), 'vectors find it');
  t.ok(hybrid.hits.every((h) => h.score > 0));
  // A query the full text knows still ranks its example first in hybrid mode.
  t.equal((await s2.search('tcp connections destination port', 3)).hits[0]?.id, 'network/tcp-connect-v4');

  // Unchanged on the next start: nothing re-embedded.
  calls.length = 0;
  t.equal((await s2.sync(DATASET)).changed, false);
  t.same(calls, []);

  // Learned with the model down: stored without a vector, found by full text, embedded on the next sync.
  answers = false;
  const r6 = await s2.learn({ ...ALICE, requestId: 'r6', prompt: 'count context switches per cpu', program: 'tracepoint:sched:sched_switch { @[cpu] = count(); }', verdict: 'verified' });
  t.equal((await s2.search('context switches', 1, asAlice)).hits[0]?.id, r6.id, 'FTS only: the model is down');
  answers = true;
  // RRF gives a row without a vector only its full-text rank: found, but behind rows both sides rank.
  t.ok((await s2.search('context switches per cpu', 3, asAlice)).hits.some((h) => h.id === r6.id), 'hybrid: a row without vector still ranks by full text');
  calls.length = 0;
  t.match(await s2.sync(DATASET), { changed: true, vectors: true });
  t.same(calls, [6], 'dataset and r6 embedded; r5 kept its vector');

  // Another model: vectors recomputed.
  const s3 = await open({ embed, embedModel: 'm2' });
  calls.length = 0;
  t.match(await s3.sync(DATASET), { changed: true, vectors: true, learned: 2 });
  t.same(calls, [7]);
});
