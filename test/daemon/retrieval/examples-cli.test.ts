/**
 * `examples.*` methods and `kgentctl examples`: in process over a temp store (handlers, params
 * validation, rendering, exit statuses), then end to end through the real kgentd, socket and
 * kgentctl with the Ollama stand-in serving embeddings (hybrid search over the real dataset).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { examplesCommand } from '../../../cli/commands/examples-command.js';
import { CliError } from '../../../cli/exit-codes.js';
import { pino } from 'pino';
import type { Example } from '../../../datasets/load.js';
import { ExamplesDemote, ExamplesList, ExamplesPromote, ExamplesRemove, ExamplesSearch, ExamplesShow, type ExamplesListResult, type ExamplesSearchResult } from '../../../daemon/protocol/index.js';
import { rightsFor } from '../../support/temp-rights.js';
import { registerExampleMethods } from '../../../daemon/retrieval/examples-methods.js';
import { ExampleLibrary } from '../../../daemon/retrieval/library.js';
import { builtOrReason, createDaemon } from '../../support/daemon-harness.js';
import { InProcessServer, ROOT_PEER } from '../../support/in-process-server.js';
import { startOllamaStandin } from '../../support/ollama-standin.js';

function bufferIo() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

const FIXTURES: Example[] = [
  {
    id: 'file/opens', area: 'file', slug: 'opens', prompt: 'Print each file opened with the process name.', tags: ['file', 'open'],
    hooks: ['tracepoint:syscalls:sys_enter_openat'], program: 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
    annotated: 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); assert(printed(0) == comm); }', file: '/x/opens.bt', annotatedFile: '/x/opens.annotated.bt',
  },
  {
    id: 'network/tcp-connect', area: 'network', slug: 'tcp-connect', prompt: 'Show outgoing TCP connections.', tags: ['network', 'tcp'],
    hooks: ['kprobe:tcp_connect'], program: 'kprobe:tcp_connect { @[comm] = count(); }', annotated: 'kprobe:tcp_connect { @[comm] = count(); }', file: '/x/t.bt', annotatedFile: '/x/t.annotated.bt',
  },
];

t.test('examples.* in process and kgentctl examples rendering', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-examples-cli-'));
  const lib = await ExampleLibrary.open({ stateDir: dir, loadDataset: () => FIXTURES, logger: pino({ level: 'silent' }) });
  t.teardown(() => {
    lib.close();
    return lib.ready.then(() => rmSync(dir, { recursive: true, force: true }));
  });
  const server = new InProcessServer();
  const { rights } = await rightsFor(dir, []);
  await rights.admit(ROOT_PEER);
  registerExampleMethods(server, lib, rights);
  const client = server.client();
  const root = { ownerUid: 0, owner: 'root' };
  const learned12 = (await lib.learn({ ...root, requestId: 'R12', prompt: 'count reads per process', program: 'tracepoint:syscalls:sys_enter_read { @[comm] = count(); }', verdict: 'verified' })).id;
  const avoid13 = (await lib.learn({ ...root, requestId: 'R13', prompt: 'print udp ports', program: 'kprobe:udp_sendmsg { printf("%d\\n", arg1); }', verdict: 'refuted', feedback: ['port printed in network byte order'] })).id;

  let b = bufferIo();
  t.equal(await examplesCommand(['list'], b.io, async () => client), 0);
  t.match(b.out(), /^2 dataset examples, 1 learned, 1 avoid notes \(that you may see; \* promoted\); search: full-text\n/);
  t.match(b.out(), /file\/opens\s+dataset\s+0\.17\s+Print each file opened/, "each entry shows the versions it fits");
  t.match(b.out(), new RegExp(`${avoid13}\\s+avoid\\s+root\\s+0\\.17-0\\.27\\s+print udp ports`), 'an admin sees the owner');

  b = bufferIo();
  t.equal(await examplesCommand(['list', '--learned', '--json'], b.io, async () => client), 0);
  const listed = JSON.parse(b.out()) as ExamplesListResult;
  t.same(listed.examples.map((e) => e.id), [learned12, avoid13]);
  t.same(listed.counts, { dataset: 2, learnedPositive: 1, learnedAvoid: 1 });
  t.notOk('program' in listed.examples[0]!, 'a listing carries no programs');

  b = bufferIo();
  t.equal(await examplesCommand(['search', 'which', 'files', 'get', 'opened?', '-k', '2'], b.io, async () => client), 0);
  t.match(b.out(), /^SCORE\s+ID\s+KIND\s+PROMPT\n\S+\s+file\/opens\s+dataset/);
  t.match(b.out(), /\(full-text search of the examples; /);

  b = bufferIo();
  t.equal(await examplesCommand(['--json', 'search', 'zzzz qqqq'], b.io, async () => client), 4, 'no hits -> not found');
  t.same((JSON.parse(b.out()) as ExamplesSearchResult).hits, []);

  b = bufferIo();
  t.equal(await examplesCommand(['show', avoid13], b.io, async () => client), 0);
  t.match(b.out(), /kind\s+learned: avoid \(the request failed\)/);
  t.match(b.out(), /last candidate:\n {4}kprobe:udp_sendmsg/);
  t.match(b.out(), /feedback:\n {4}1\. port printed in network byte order/);
  b = bufferIo();
  t.equal(await examplesCommand(['show', 'file/opens'], b.io, async () => client), 0);
  t.match(b.out(), /annotated:\n {4}tracepoint:syscalls:sys_enter_openat .*assert/);

  b = bufferIo();
  t.equal(await examplesCommand(['remove', learned12], b.io, async () => client), 0);
  t.match(b.out(), new RegExp(`^removed ${learned12} \\(learned: count reads per process\\)`));
  await t.rejects(client.call(ExamplesRemove, { id: 'file/opens' }), { code: 'refused' });
  await t.rejects(client.call(ExamplesShow, { id: learned12 }), { code: 'not-found' });
  t.throws(() => ExamplesShow.params.parse({ id: 'no slash' }), { code: 'bad-request' });
  t.throws(() => ExamplesSearch.params.parse({ text: '' }), { code: 'bad-request' });
  t.throws(() => ExamplesSearch.params.parse({ text: 'x', k: 0 }), { code: 'bad-request' });

  const usage: string[][] = [['show'], ['show', 'a/b', 'c/d'], ['search'], ['search', 'x', '-k', '0'], ['frob'], ['list', '--bogus']];
  for (const argv of usage) {
    let connected = false;
    const e = await examplesCommand(argv, bufferIo().io, async () => ((connected = true), client)).catch((x: unknown) => x);
    t.ok(e instanceof CliError && e.exitCode === 2 && !/^kgentctl/.test(e.message), `${argv.join(' ')}: usage error without a repeated prefix`);
    t.notOk(connected, `${argv.join(' ')}: no connection for a usage error`);
  }
});

t.test("examples.* as members: own entries, others' answer not-found, promote is an admin's and audited", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-examples-own-'));
  const lib = await ExampleLibrary.open({ stateDir: dir, loadDataset: () => FIXTURES, logger: pino({ level: 'silent' }) });
  t.teardown(() => {
    lib.close();
    return lib.ready.then(() => rmSync(dir, { recursive: true, force: true }));
  });
  const audits: string[] = [];
  const { rights, member } = await rightsFor(dir, audits);
  await rights.admit(ROOT_PEER);
  const server = new InProcessServer();
  registerExampleMethods(server, lib, rights);
  const alice = server.client(await member(1001, 'alice'));
  const bob = server.client(await member(1002, 'bob'));
  const root = server.client();
  const MARK = 'qqmark5521';
  const mine = await lib.learn({ ownerUid: 1001, owner: 'alice', requestId: 'R1', prompt: `count reads per process ${MARK}`, program: 'tracepoint:syscalls:sys_enter_read { @[comm] = count(); }', verdict: 'verified' });
  const note = await lib.learn({ ownerUid: 1001, owner: 'alice', requestId: 'R2', prompt: `print udp ports ${MARK}`, verdict: 'refuted' });

  const bobSees = JSON.stringify([
    await bob.call(ExamplesList, {}),
    await bob.call(ExamplesList, { learnedOnly: true }),
    await bob.call(ExamplesSearch, { text: `count reads per process ${MARK}`, k: 50 }),
    await bob.call(ExamplesSearch, { text: MARK, k: 50 }),
  ]);
  t.notMatch(bobSees, MARK, "bob's listings and searches never hold alice's text");
  type Failure = Error & { code: string };
  const failure = async (p: Promise<unknown>): Promise<Failure> => p.then(() => ({ code: 'none', message: 'answered', name: 'none' }), (e: unknown) => e as Failure);
  const unknown = await failure(bob.call(ExamplesShow, { id: 'learned/ffffffffffffffff' }));
  for (const id of [mine.id, note.id]) {
    for (const call of [() => bob.call(ExamplesShow, { id }), () => bob.call(ExamplesRemove, { id })]) {
      const e = await failure(call());
      t.equal(e.code, unknown.code, `${id}: like an unknown id`);
      t.equal(e.message.replace(id, 'ID'), unknown.message.replace('learned/ffffffffffffffff', 'ID'), 'the same words');
    }
  }
  t.match((await alice.call(ExamplesShow, { id: mine.id })).example, { ownerUid: 1001, owner: 'alice', prompt: new RegExp(MARK) }, 'alice sees her own');
  t.same((await alice.call(ExamplesList, { learnedOnly: true })).examples.map((e) => e.id).sort(), [mine.id, note.id].sort());
  t.equal((await root.call(ExamplesList, { learnedOnly: true })).examples.length, 2, 'an admin sees all');

  await t.rejects(alice.call(ExamplesPromote, { id: mine.id }), { code: 'refused' }, 'a member may not promote, not even their own');
  const promoted = await root.call(ExamplesPromote, { id: mine.id });
  t.match(promoted.example, { promotedBy: 'root (uid 0)' });
  t.ok(audits.some((a) => a.startsWith(`example-promote root examples.promote ${mine.id} (owner alice uid 1001)`)), `audited: ${audits.join(' | ')}`);
  const shared = (await bob.call(ExamplesShow, { id: mine.id })).example;
  t.match(shared, { prompt: new RegExp(MARK), promotedBy: 'root (uid 0)' }, 'promoted: bob sees it');
  t.notOk('ownerUid' in shared || 'owner' in shared || 'requestId' in shared, 'but not whose request it was');
  t.match((await bob.call(ExamplesSearch, { text: 'count reads per process', k: 5 })).hits, [{ id: mine.id }]);
  await t.rejects(bob.call(ExamplesRemove, { id: mine.id }), { code: 'refused', message: /may not remove other users' examples/ });
  await root.call(ExamplesDemote, { id: mine.id });
  await t.rejects(bob.call(ExamplesShow, { id: mine.id }), { code: 'not-found' }, 'demoted: gone for bob');
  t.ok(audits.some((a) => a.startsWith('example-demote root')));

  t.equal((await alice.call(ExamplesRemove, { id: note.id })).removed.id, note.id, 'an owner removes their own');
  t.ok(audits.some((a) => a.startsWith(`example-remove alice examples.remove ${note.id}`)));
  await t.rejects(alice.call(ExamplesRemove, { id: 'file/opens' }), { code: 'refused', message: /dataset example/ });
});

t.test('examples.* without a library answer unavailable', async (t) => {
  const server = new InProcessServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-examples-none-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  registerExampleMethods(server, undefined, (await rightsFor(dir, [])).rights, 'the example library failed to open');
  await t.rejects(server.client().call(ExamplesSearch, { text: 'x' }), { code: 'unavailable', message: /example library failed to open/ });
});

t.test('kgentctl examples through the real kgentd: dataset loaded at start, hybrid with the stand-in embeddings', { skip: builtOrReason() ?? false }, async (t) => {
  const standin = await startOllamaStandin();
  t.teardown(() => standin.close());
  const d = await createDaemon({ env: { OLLAMA_HOST: standin.host } });
  t.teardown(() => d.cleanup());
  await d.start();

  const list = await d.ctlJson<ExamplesListResult>(['examples', 'list']);
  t.ok(list.counts.dataset > 0, `dataset loaded at start (${list.counts.dataset} examples)`);
  t.equal(list.vectors, true, 'the stand-in answered embeddings');
  const s = await d.ctlJson<ExamplesSearchResult>(['examples', 'search', 'trace', 'process', 'exec', '-k', '3']);
  t.equal(s.mode, 'hybrid');
  t.equal(s.hits.length, 3);
  t.ok(standin.requests.some((r) => r.path === '/api/embed'), 'embeddings asked of the stand-in');

  const shown = await d.ctl(['examples', 'show', s.hits[0]!.id]);
  t.equal(shown.exitCode, 0, shown.stderr);
  t.match(shown.stdout, /^id\s+\S+\/\S+\nkind\s+dataset example\nprompt/);
  const refused = await d.ctl(['examples', 'remove', s.hits[0]!.id]);
  t.equal(refused.exitCode, 5, 'a dataset entry cannot be removed');
  t.match(refused.stderr, /^kgentctl examples: \S+ is a dataset example; it would come back with the dataset/);
  t.notMatch(refused.stderr, /kgentctl examples: kgentctl examples/);
  const missing = await d.ctl(['--json', 'examples', 'show', 'learned/none']);
  t.equal(missing.exitCode, 4);
});
