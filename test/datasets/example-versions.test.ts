/**
 * The versions recorded for each example (datasets/example-versions.json) are what the verifier
 * says under each dialect profile (datasets/tools/example-fit.ts: the plain program through the
 * profile's front-end and acceptance rules, the annotated version proved under its semantics).
 * Regenerate with `npm run build && node dist/datasets/tools/record-versions.js`.
 *
 * Also: the fit rule on programs made to fail each step, the ranges shown to people, and a sample
 * of examples compiled (compile and load, `--dry-run`) on the real 0.23.2 and 0.27.1 binaries
 * where this host has them (test/dialects/README.md).
 */
import t from 'tap';
import { hostContractProvider } from '../../daemon/verification/host-contracts.js';
import { PROFILES, profile } from '../../daemon/verifier/dialect/index.js';
import { loadExamples, type Example } from '../../datasets/load.js';
import { computeVersions, exampleFit, recordOf, type Fit } from '../../datasets/tools/example-fit.js';
import { defaultExamplesDir } from '../../datasets/load.js';
import { readVersionsFile, versionsFileFor, WRITTEN_FOR } from '../../datasets/versions.js';
import { versionRanges } from '../../daemon/protocol/examples-api.js';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { probeBinaries } from '../dialects/binaries.js';
import { runFact } from '../dialects/fact-run.js';

t.setTimeout(10 * 60_000);
const examples = loadExamples();
const contracts = hostContractProvider(realHost());
const file = versionsFileFor(defaultExamplesDir());
const recorded = readVersionsFile(file);

t.test('the recorded versions are what the verifier says under every profile', async (t) => {
  t.ok(recorded, `${file} exists`);
  if (!recorded) return;
  t.same(recorded.profiles, PROFILES.map((p) => p.version), 'recorded for every profile kgent has');
  const computed = await computeVersions(examples, contracts);
  t.same(Object.keys(recorded.examples).sort(), Object.keys(computed.examples).sort(), 'one record per example, none for a removed one');
  for (const e of examples) {
    t.same(recorded.examples[e.id], computed.examples[e.id], `${e.id}: recorded ${versionRanges(recorded.examples[e.id]?.versions ?? [], recorded.profiles)}`);
  }
  for (const e of examples) t.same(e.versions, recorded.examples[e.id]?.versions, `${e.id}: loadExamples carries the record`);
});

t.test('every example fits the version it is written for, and every miss says why', async (t) => {
  for (const e of examples) {
    t.ok(e.versions.includes(WRITTEN_FOR), `${e.id} fits ${WRITTEN_FOR}`);
    const missing = PROFILES.map((p) => p.version).filter((v) => !e.versions.includes(v));
    const explained = (e.notFit ?? []).flatMap((n) => n.versions);
    t.same(explained.sort(), missing.sort(), `${e.id}: each version it does not fit is explained`);
    for (const n of e.notFit ?? []) t.ok(n.why.length > 20, `${e.id}: ${n.versions.join(',')}: ${n.why.slice(0, 80)}`);
  }
});

const ex = (program: string, annotated: string): Pick<Example, 'program' | 'annotated' | 'file'> => ({ program, annotated, file: 'made.bt' });

t.test('the fit rule: each step can refuse (front-end, acceptance, proof)', async (t) => {
  const cases: { name: string; e: Pick<Example, 'program' | 'annotated' | 'file'>; fits: Record<string, boolean>; why?: Record<string, RegExp> }[] = [
    {
      name: '`let` is new syntax in 0.22',
      e: ex('BEGIN { let $n = 5; printf("%d\\n", $n); exit(); }', 'BEGIN { let $n = 5; printf("%d\\n", $n); assert(printed(0) == 5); exit(); }'),
      fits: { '0.17': false, '0.21': false, '0.22': true, '0.23': true },
      why: { '0.17': /does not accept `let` declarations/ },
    },
    {
      name: 'a narrowing assignment is refused from 0.22 to 0.24',
      e: ex('BEGIN { $x = (uint8)1; $x = 300; printf("%d\\n", $x); exit(); }', 'BEGIN { $x = (uint8)1; $x = 300; printf("%d\\n", $x); assert(printed(0) == 1); exit(); }'),
      fits: { '0.17': true, '0.22': false, '0.23': false, '0.24': false },
      why: { '0.23': /refuses this program/ },
    },
    {
      name: 'an assertion that does not hold fits no version',
      e: ex('BEGIN { printf("%d\\n", 2); exit(); }', 'BEGIN { printf("%d\\n", 2); assert(printed(0) == 3); exit(); }'),
      fits: { '0.17': false, '0.23': false },
      why: { '0.17': /not proved under bpftrace 0\.17's rules: .*does not hold/ },
    },
    {
      name: 'an annotated version that differs from the plain program fits nowhere (the guard)',
      e: ex('BEGIN { printf("%d\\n", 2); exit(); }', 'BEGIN { printf("%d\\n", 3); assert(printed(0) == 3); exit(); }'),
      fits: { '0.17': false },
    },
  ];
  for (const c of cases) {
    for (const [v, want] of Object.entries(c.fits)) {
      const f = await exampleFit(c.e, profile(v)!, contracts);
      t.equal(f.fits, want, `${c.name}: ${v} ${want ? 'fits' : 'does not fit'}`, f.fits ? {} : { why: f.why });
      const re = c.why?.[v];
      if (re && !f.fits) t.match(f.why, re, `${c.name}: ${v} says why`);
    }
  }
});

t.test('records group the versions that fail for one reason', async (t) => {
  const no = (why: string): Fit => ({ fits: false, why });
  const fits = new Map<string, Fit>([
    ['0.17', { fits: true }],
    ['0.20', { fits: true }],
    ['0.21', { fits: true }],
    ['0.22', no('bpftrace 0.22 refuses this')],
    ['0.23', no('bpftrace 0.23 refuses this')],
    ['0.24', { fits: true }],
    ['0.25', no('other')],
    ['0.26', no('bpftrace 0.26 refuses this')],
    ['0.27', no('bpftrace 0.27 refuses this')],
  ]);
  t.same(recordOf(fits), {
    versions: ['0.17', '0.20', '0.21', '0.24'],
    notFit: [
      { versions: ['0.22', '0.23'], why: 'bpftrace V refuses this' },
      { versions: ['0.25'], why: 'other' },
      { versions: ['0.26', '0.27'], why: 'bpftrace V refuses this' },
    ],
  });
});

t.test('version ranges for people', async (t) => {
  const order = PROFILES.map((p) => p.version);
  t.equal(versionRanges(order, order), '0.17-0.27');
  t.equal(versionRanges(['0.17', '0.20', '0.21'], order), '0.17-0.21');
  t.equal(versionRanges(['0.17', '0.24', '0.25', '0.26', '0.27'], order), '0.17, 0.24-0.27');
  t.equal(versionRanges(['0.23'], order), '0.23');
  t.equal(versionRanges([], order), 'none');
});

/** A sample of examples this kernel can load (tracepoints and timers only), spread over the dataset. */
function sample(fitting: string): Example[] {
  const loadable = examples.filter((e) => e.versions.includes(fitting) && e.hooks.every((h) => /^(tracepoint|interval|profile):/.test(h)));
  const step = Math.max(1, Math.floor(loadable.length / 8));
  return loadable.filter((_, i) => i % step === 0).slice(0, 8);
}

t.test('a sample of the examples recorded as fitting compiles on the real 0.23.2 and 0.27.1', async (t) => {
  for (const probe of probeBinaries()) {
    if (!probe.ok) {
      t.skip(`${probe.source}: ${probe.reason}`);
      continue;
    }
    if (probe.bin.source === 'host') continue; // every example is loaded on 0.17 by examples.test.ts
    const version = probe.bin.version.split('.').slice(0, 2).join('.');
    const chosen = sample(version);
    t.ok(chosen.length >= 4, `bpftrace ${probe.bin.version}: ${chosen.length} examples sampled`);
    for (const e of chosen) {
      const out = await runFact(probe.bin.path, { id: e.id, about: e.prompt, finding: '', program: e.program, args: ['--dry-run'], outcomes: {} }, { timeoutMs: 60_000 });
      t.ok(out.compiles, `bpftrace ${probe.bin.version} compiles ${e.id}`, { error: out.error, stderr: out.stderr });
      t.not(out.exit, 1, `bpftrace ${probe.bin.version} --dry-run of ${e.id} does not end with a compile error`, { error: out.error });
    }
  }
});
