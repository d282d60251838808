/**
 * The execution oracle tested on its own cases: every reference program of
 * datasets/eval must pass against its trigger on this kernel, and every wrong program must fail,
 * through the same `runOracle` the eval uses (attach with bpftrace, wait until attached, trigger,
 * collect, detach, nothing left attached). Cases whose probes this kernel lacks are skipped with
 * the reason. Two programs run at a time.
 *
 * Every case runs (about 90 s on the 2-core development machine); `KGENT_EVAL_ONLY=ID` runs the
 * cases whose id contains ID.
 */
import t from 'tap';
import { loadEvalCases, type EvalCaseFile } from '../../../daemon/eval/cases.js';
import { runOracle } from '../../../daemon/eval/oracle.js';
import type { OracleVerdict } from '../../../daemon/protocol/eval-api.js';
import { detectBpftrace, type BpftraceCli } from '../../../daemon/runner/bpftrace-cli.js';
import { realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport, type ProbeSupport } from '../../../kernel-contracts/kernel-reader/probe-support.js';

const AT_ONCE = 2;
const all = loadEvalCases();
const only = process.env['KGENT_EVAL_ONLY'];
const selected = only ? all.filter((c) => c.id.includes(only)) : all;

t.setTimeout(15 * 60_000);

t.test('the case files are well formed and large enough', async (t) => {
  t.ok(all.length >= 40, `${all.length} cases (at least 40)`);
  for (const c of all) t.ok(c.wrong.length >= 1, `${c.id}: ${c.wrong.length} wrong program(s)`);
  t.equal(new Set(all.map((c) => c.prompt)).size, all.length, 'every prompt is different');
});

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (attaches eBPF programs)';
  return undefined;
}

interface Job {
  readonly c: EvalCaseFile;
  readonly kind: 'reference' | 'wrong';
  readonly index: number;
  readonly program: string;
  readonly bug?: string;
}

const skip = skipReason();
t.test(`references pass and wrong programs fail (${selected.length} of ${all.length} cases, ${AT_ONCE} at a time)`, { skip: skip ?? false }, async (t) => {
  const cli: BpftraceCli = await detectBpftrace('bpftrace');
  const probes: ProbeSupport = await detectProbeSupport(realHost(), { bpftrace: { version: cli.version, ...(cli.features ? { features: cli.features } : {}) } });
  const jobs: Job[] = selected.flatMap((c) => [
    { c, kind: 'reference' as const, index: 0, program: c.reference },
    ...c.wrong.map((w, i) => ({ c, kind: 'wrong' as const, index: i, program: w.program, bug: w.bug })),
  ]);
  const results = new Map<Job, OracleVerdict>();
  const started = Date.now();
  // A worker takes a whole case: two programs of one case running at once would each see the
  // other's trigger (same command names, same files) and count it twice.
  const byCase = selected.map((c) => jobs.filter((j) => j.c === c));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < byCase.length) {
      for (const job of byCase[next++]!) {
        results.set(job, await runOracle({ program: job.program, trigger: job.c.trigger, expect: job.c.expect, ...(job.c.waitMs !== undefined ? { waitMs: job.c.waitMs } : {}) }, { cli, probes }));
      }
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));
  t.comment(`${jobs.length} programs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  let skipped = 0;
  for (const job of jobs) {
    const r = results.get(job)!;
    const name = `${job.c.id} ${job.kind}${job.kind === 'wrong' ? ` #${job.index} (${job.bug})` : ''}`;
    if (r.verdict === 'skipped') {
      if (job.kind === 'reference') skipped++;
      t.comment(`skip ${name}: ${r.reason}`);
      continue;
    }
    t.same(r.leftAttached, [], `${name}: nothing left attached`);
    if (job.kind === 'reference') t.equal(r.verdict, 'pass', `${name} passes: ${r.reason}\n${r.output.slice(-600)}`);
    else t.equal(r.verdict, 'fail', `${name} fails: ${r.reason}\n${r.output.slice(-600)}`);
  }
  t.comment(`${selected.length - skipped} cases ran, ${skipped} skipped (probes this kernel lacks)`);
});
