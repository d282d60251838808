/**
 * Retrieval offers only examples that fit the host's bpftrace dialect, over real LanceDB tables
 * in temp dirs: the repository's dataset with its recorded versions (datasets/example-versions.json),
 * learned entries recorded under the dialect they were verified under, a table from before
 * versions migrated (learned entries fit the versions whose front-end accepts them), and the
 * `examples.*` methods and `kgentctl examples` showing versions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@lancedb/lancedb';
import { pino } from 'pino';
import t from 'tap';
import { examplesCommand } from '../../../cli/commands/examples-command.js';
import { ExamplesList, ExamplesSearch, ExamplesShow, versionRanges, type ExamplesListResult, type ExamplesSearchResult } from '../../../daemon/protocol/index.js';
import { examplesDbPath } from '../../../daemon/retrieval/example-meta.js';
import { exampleSource } from '../../../daemon/retrieval/example-source.js';
import { acceptedVersions, versionFilter } from '../../../daemon/retrieval/example-versions.js';
import { registerExampleMethods } from '../../../daemon/retrieval/examples-methods.js';
import { ExampleLibrary } from '../../../daemon/retrieval/library.js';
import { PROFILES } from '../../../daemon/verifier/dialect/index.js';
import { loadExamples, type Example } from '../../../datasets/load.js';
import { builtOrReason, createDaemon } from '../../support/daemon-harness.js';
import { InProcessServer, ROOT_PEER } from '../../support/in-process-server.js';
import { probeBinaries } from '../../dialects/binaries.js';
import { withExampleStore } from '../../support/example-store-dir.js';
import { rightsFor } from '../../support/temp-rights.js';

const ALL = PROFILES.map((p) => p.version);
const dataset = loadExamples();
/** The newest profile, an example that does not fit it, and one that fits every profile. */
const NEWEST = ALL[ALL.length - 1] as string;
const oldOnly = dataset.find((e) => !e.versions.includes(NEWEST)) as Example;
const everywhere = dataset.find((e) => e.versions.length === ALL.length) as Example;
const quiet = pino({ level: 'silent' });

function bufferIo() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, out: () => out, err: () => err };
}

t.test('the dataset has examples on both sides of a version line (else the tests below prove nothing)', async (t) => {
  t.ok(oldOnly, `an example that does not fit ${NEWEST}: ${oldOnly?.id}`);
  t.ok(everywhere, `an example that fits every profile: ${everywhere?.id}`);
});

t.test('a search for a dialect offers only the dataset examples recorded as fitting it', async (t) => {
  const { open } = await withExampleStore(t, 'kgent-examples-versions-');
  const store = await open();
  await store.sync(dataset);
  for (const d of ALL) {
    const hits = (await store.search(oldOnly.prompt, 50, { dialect: d })).hits;
    for (const h of hits) t.ok(h.versions.includes(d), `${d}: ${h.id} fits (${versionRanges(h.versions, ALL)})`);
    t.equal(hits.some((h) => h.id === oldOnly.id), oldOnly.versions.includes(d), `${d}: ${oldOnly.id} ${oldOnly.versions.includes(d) ? 'offered' : 'not offered'}`);
    const listed = await store.list({ dialect: d });
    t.equal(listed.length, dataset.filter((e) => e.versions.includes(d)).length, `${d}: list keeps the entries that fit`);
  }
  const all = await store.list();
  t.equal(all.length, dataset.length, 'without a dialect, every entry');
  const shown = all.find((e) => e.id === oldOnly.id);
  t.same(shown?.versions, oldOnly.versions, 'the entry carries its versions');
  t.ok(shown?.notFit?.length, 'and why it does not fit the others');
});

t.test('the dialect filter accepts only a profile version (nothing reaches the SQL)', async (t) => {
  t.equal(versionFilter('0.23'), `versions LIKE '%"0.23"%'`);
  for (const bad of ["0.23' OR 1=1 --", '0.2%', '', '23', '0.23.1']) t.throws(() => versionFilter(bad), {}, `refused: ${JSON.stringify(bad)}`);
});

t.test('front-end acceptance per profile, for learned entries of unknown dialect', async (t) => {
  const cases: [string, string, string][] = [
    ['0.17 syntax', 'tracepoint:syscalls:sys_enter_read { @[comm] = count(); }', '0.17-0.27'],
    ['`let`', 'BEGIN { let $n = 1; printf("%d\\n", $n); exit(); }', '0.22-0.27'],
    ['map `for`', 'BEGIN { @m[1] = 1; for ($kv : @m) { printf("%d\\n", $kv.1); } exit(); }', '0.21-0.27'],
    ['range `for`', 'BEGIN { for ($i : 0..3) { printf("%d\\n", $i); } exit(); }', '0.24-0.27'],
    ['narrowing assignment', 'BEGIN { $x = (uint8)1; $x = 300; exit(); }', '0.17-0.21, 0.25-0.27'],
    ['does not parse', 'BEGIN { printf( }', 'none'],
    ['no program (an avoid note without a candidate)', '', '0.17-0.27'],
  ];
  for (const [name, program, want] of cases) t.equal(versionRanges(acceptedVersions(program), ALL), want, name);
});

t.test('a library serves its host dialect: searches filter, learning records it, another host does not see it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-examples-lib-versions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const open = async (dialect: string) => {
    const lib = await ExampleLibrary.open({ stateDir: dir, loadDataset: () => dataset, dialect, logger: quiet });
    await lib.ready;
    return lib;
  };
  const onNew = await open(NEWEST);
  const hits = (await onNew.search(oldOnly.prompt, 50)).hits;
  t.notOk(hits.some((h) => h.id === oldOnly.id), `${oldOnly.id} is not offered on ${NEWEST}`);
  t.ok(hits.every((h) => h.versions.includes(NEWEST)), `every hit fits ${NEWEST}`);
  const prompt = 'count reads per process zqxversions';
  const learned = await onNew.learn({ ownerUid: 0, owner: 'root', requestId: 'R1', prompt, program: 'tracepoint:syscalls:sys_enter_read { @[comm] = count(); }', verdict: 'verified' });
  t.same(learned.versions, [NEWEST], 'learned under the host dialect');
  // The pipeline's adapter goes through the library: the same filter.
  const src = exampleSource(onNew, () => true);
  t.ok((await src.search(prompt, 4, 0)).some((e) => e.id === learned.id), `the prompt of a ${NEWEST} host gets it`);
  onNew.close();
  await onNew.ready;

  const on17 = await open('0.17');
  t.notOk((await on17.search(prompt, 50, { viewer: { uid: 0 } })).hits.some((h) => h.id === learned.id), `a 0.17 host does not get an entry verified under ${NEWEST}`);
  t.ok((await on17.search(oldOnly.prompt, 50)).hits.some((h) => h.id === oldOnly.id), `${oldOnly.id} is offered on 0.17`);
  on17.close();
  await on17.ready;
});

t.test('a table from before versions: learned entries fit the versions whose front-end accepts them', async (t) => {
  const { dir, open } = await withExampleStore(t, 'kgent-examples-preversions-');
  // The TEXT_VERSION 5 layout: owner columns, no versions.
  const row = (id: string, kind: string, prompt: string, program: string): Record<string, string> => ({
    id, kind, prompt, program, annotated: '', feedback: '[]', tags: '[]', hooks: '[]', area: kind === 'dataset' ? 'file' : '', request_id: kind === 'dataset' ? '' : 'R1',
    verdict: kind === 'dataset' ? '' : 'verified', learned_at: kind === 'dataset' ? '' : '2026-11-01T00:00:00.000Z', owner_uid: kind === 'dataset' ? '' : '0', owner: kind === 'dataset' ? '' : 'root',
    promoted_by: '', promoted_at: '', text: prompt, code: program,
  });
  const conn = await connect(examplesDbPath(dir));
  await conn.createTable('examples', [
    row(everywhere.id, 'dataset', everywhere.prompt, everywhere.program),
    row('learned/0000000000000001', 'learned-positive', 'count reads with let zqxold', 'BEGIN { let $n = 1; printf("%d\\n", $n); exit(); }'),
  ]);
  conn.close();
  const store = await open();
  const listed = await store.list({ viewer: 'all' });
  const learned = listed.find((e) => e.kind === 'learned-positive');
  t.equal(versionRanges(learned?.versions ?? [], ALL), '0.22-0.27', 'the `let` program fits from 0.22');
  t.equal(learned?.owner, 'root', 'its owner is kept');
  await store.sync(dataset);
  t.notOk((await store.search('count reads with let zqxold', 5, { viewer: 'all', dialect: '0.17' })).hits.some((h) => h.kind === 'learned-positive'), 'not offered on 0.17');
  t.ok((await store.search('count reads with let zqxold', 5, { viewer: 'all', dialect: '0.23' })).hits.some((h) => h.kind === 'learned-positive'), 'offered on 0.23');
  t.same((await store.get(everywhere.id))?.versions, everywhere.versions, 'dataset rows are reloaded with their versions');
});

t.test('examples.* and kgentctl examples show each entry\'s versions and the host dialect', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-examples-cli-versions-'));
  const lib = await ExampleLibrary.open({ stateDir: dir, loadDataset: () => dataset, dialect: NEWEST, logger: quiet });
  t.teardown(() => {
    lib.close();
    return lib.ready.then(() => rmSync(dir, { recursive: true, force: true }));
  });
  const server = new InProcessServer();
  const { rights } = await rightsFor(dir, []);
  await rights.admit(ROOT_PEER);
  registerExampleMethods(server, lib, rights);
  const client = server.client();

  const list = await client.call(ExamplesList, {});
  t.equal(list.dialect, NEWEST);
  t.same(list.profiles, ALL);
  t.same(list.examples.find((e) => e.id === oldOnly.id)?.versions, oldOnly.versions);

  const search = await client.call(ExamplesSearch, { text: oldOnly.prompt, k: 50 });
  t.equal(search.dialect, NEWEST, 'search is limited to the host dialect');
  t.notOk(search.hits.some((h) => h.id === oldOnly.id));
  const asked = await client.call(ExamplesSearch, { text: oldOnly.prompt, k: 50, dialect: '0.17.0' });
  t.equal(asked.dialect, '0.17', 'a named version gets its profile');
  t.ok(asked.hits.some((h) => h.id === oldOnly.id));
  await t.rejects(client.call(ExamplesSearch, { text: 'x', dialect: '0.99' }), { code: 'bad-request' }, 'a version kgent does not model is refused');
  await t.rejects(client.call(ExamplesSearch, { text: 'x', dialect: "0.23' OR 1=1" } as never), {}, 'not a version: refused by the params check');

  let b = bufferIo();
  t.equal(await examplesCommand(['list'], b.io, async () => client), 0);
  t.match(b.out(), new RegExp(`this host's bpftrace dialect: ${NEWEST.replace('.', '\\.')}; \\* marks the \\d+ entries its prompts may get`));
  t.match(b.out(), /ID\s+KIND\s+VERSIONS\s+PROMPT/);
  t.match(b.out(), new RegExp(`${oldOnly.id}\\s+dataset\\s+${versionRanges(oldOnly.versions, ALL).replace(/\./g, '\\.')}\\s`), `${oldOnly.id} shows its range, unmarked`);
  t.match(b.out(), new RegExp(`${everywhere.id}\\s+dataset\\s+0\\.17-0\\.27\\*`), `${everywhere.id} fits every profile, marked`);

  b = bufferIo();
  t.equal(await examplesCommand(['show', oldOnly.id], b.io, async () => client), 0);
  t.match(b.out(), /versions\s+bpftrace 0\.17/);
  t.match(b.out(), /not 0\.2\d[\d., ]*\s+\S/, 'why it does not fit the others');

  b = bufferIo();
  t.equal(await examplesCommand(['search', '--dialect', '0.17', ...oldOnly.prompt.split(' ')], b.io, async () => client), 0);
  t.match(b.out(), /search of the examples that fit bpftrace 0\.17/);
  b = bufferIo();
  await t.rejects(examplesCommand(['search', '--dialect', 'new', 'x'], b.io, async () => client), /--dialect needs a bpftrace version/);
  const shown = await client.call(ExamplesShow, { id: oldOnly.id });
  t.ok(shown.example.notFit?.every((n) => n.why.length > 0));
});

t.test('the real kgentd on each bpftrace of this host: examples are limited to the dialect it detected', { skip: builtOrReason() ?? false }, async (t) => {
  for (const probe of probeBinaries()) {
    if (!probe.ok) {
      t.skip(`${probe.source}: ${probe.reason}`);
      continue;
    }
    const want = probe.bin.version.split('.').slice(0, 2).join('.');
    const d = await createDaemon({ config: { bpftracePath: probe.bin.path } });
    try {
      await d.start();
      const list = await d.ctlJson<ExamplesListResult>(['examples', 'list']);
      t.equal(list.dialect, want, `kgentd on bpftrace ${probe.bin.version} serves dialect ${want}`);
      const s = await d.ctlJson<ExamplesSearchResult>(['examples', 'search', '-k', '50', ...oldOnly.prompt.split(' ')]);
      t.equal(s.dialect, want);
      t.ok(s.hits.every((h) => h.versions.includes(want)), `${want}: every hit fits it`);
      t.equal(s.hits.some((h) => h.id === oldOnly.id), oldOnly.versions.includes(want), `${want}: ${oldOnly.id} ${oldOnly.versions.includes(want) ? 'offered' : 'not offered'}`);
      const text = await d.ctl(['examples', 'list']);
      t.match(text.stdout, new RegExp(`this host's bpftrace dialect: ${want.replace('.', '\\.')}`));
    } finally {
      await d.cleanup();
    }
  }
});
