/**
 * Replays every dialect fact (facts.ts) in every bpftrace binary of this host: /usr/bin/bpftrace
 * and the bpftrace of each Debian root that build-bpftrace-root.sh built. Each binary must
 * reproduce, for its version, the recorded outcome: whether the program compiles, the exit code,
 * the first error line, the first stderr line and stdout exactly. A root that is not built, or a
 * version with no recorded outcomes (a sid root rebuilt after a new upload), is skipped with the
 * reason printed, never failed. Needs root (bpftrace); skips otherwise.
 */
import t from 'tap';
import { probeBinaries, type BpftraceBinary } from './binaries.js';
import { runFact, type Outcome } from './fact-run.js';
import { FACTS, FACT_VERSIONS } from './facts.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('# dialect facts skipped: needs root to run bpftrace');

t.test('the facts are well formed', async (t) => {
  const ids = new Set<string>();
  for (const f of FACTS) {
    t.notOk(ids.has(f.id), `${f.id} is unique`);
    ids.add(f.id);
    t.match(f.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${f.id} is kebab-case`);
    t.ok(f.program !== undefined || (f.args?.length ?? 0) > 0, `${f.id} runs a program or flags`);
    t.same(Object.keys(f.outcomes).sort(), [...FACT_VERSIONS].sort(), `${f.id} has an outcome per version`);
    if (f.stop === 'sigint') t.ok(f.sigintAfter, `${f.id} says when to send SIGINT`);
    t.ok(f.finding.length > 0 && !f.finding.includes('\n'), `${f.id} has a one-line finding`);
  }
});

const probes = isRoot ? probeBinaries() : [];
for (const p of probes) if (!p.ok) console.log(`# dialect facts: ${p.source} skipped: ${p.reason}`);
const usable: BpftraceBinary[] = [];
for (const p of probes) {
  if (!p.ok) continue;
  if (!(FACT_VERSIONS as readonly string[]).includes(p.bin.version)) {
    console.log(`# dialect facts: ${p.bin.source} (${p.bin.path}) is bpftrace ${p.bin.version}, which has no recorded outcomes: record them (record-facts.ts)`);
    continue;
  }
  usable.push(p.bin);
}

/** Every (binary, fact) run, two at a time (bpftrace's start-up is CPU-bound LLVM work). */
async function runAll(bins: readonly BpftraceBinary[]): Promise<Map<string, Outcome | Error>> {
  const jobs = bins.flatMap((b) => FACTS.map((f) => ({ b, f })));
  const results = new Map<string, Outcome | Error>();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { b, f } = jobs[next++]!;
      results.set(`${b.path}\0${f.id}`, await runFact(b.path, f).catch((err: Error) => err));
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

t.test('each binary reproduces the recorded outcome of every fact', { skip: usable.length === 0 ? 'no bpftrace binary with recorded outcomes' : false, timeout: 900_000 }, async (t) => {
  const results = await runAll(usable);
  for (const b of usable) {
    t.test(`bpftrace ${b.version} (${b.source}: ${b.path})`, async (t) => {
      for (const f of FACTS) {
        const want = f.outcomes[b.version]!;
        const got = results.get(`${b.path}\0${f.id}`)!;
        if (got instanceof Error) {
          t.fail(`${f.id}: could not run: ${got.message}`);
          continue;
        }
        t.same(got, want, `${f.id}: ${f.finding}`);
      }
    });
  }
});
