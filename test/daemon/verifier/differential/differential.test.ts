/**
 * CI slice of the differential test against real bpftrace (the full run is `npm run difftest`):
 * a fixed seed, a few hundred generated cases run in bpftrace and in the executor's concrete mode.
 * Every agreement is a passing point, and so is a case whose printed values the executor reports
 * as undefined in bpftrace (`any-value`: LLVM poison, never claimed as a value); a disagreement or
 * an executor error fails, named with the class of disagreement it falls in (the classes the
 * first full run found are all fixed: a case in one of them is a regression). Needs root and
 * bpftrace; skips otherwise.
 */
import t from 'tap';
import { bpftraceUnavailable } from './bpftrace-run.js';
import { classify, formatReport, runDifferential } from './differential.js';

const SEED = 7;
const CASES = Number(process.env.KGENT_DIFFTEST_CASES ?? 200);

const skip = bpftraceUnavailable();
if (skip) console.log(`# differential test skipped: ${skip}`);

t.test(`executor agrees with bpftrace on ${CASES} generated cases (seed ${SEED})`, { skip: skip ?? false, timeout: 170_000 }, async (t) => {
  const report = await runDifferential({ seed: SEED, cases: CASES, batchSize: 50 });
  t.comment(formatReport(report, { maxDetails: 0 }).split('\n').join('\n# '));
  const ran = report.results.filter((r) => r.verdict !== 'rejected' && r.verdict !== 'no-output');
  // A mostly well-typed generator: bpftrace rejects few cases, and most cases ran.
  t.ok(ran.length >= CASES * 0.9, `${ran.length} of ${CASES} cases ran in bpftrace`);
  for (const r of report.results) {
    const name = `case ${r.c.id} (${r.c.cls})`;
    if (r.verdict === 'agree') t.pass(name);
    else if (r.verdict === 'any-value') t.pass(`${name}: undefined in bpftrace (${(r.anyValue ?? []).map((a) => a.expr).join('; ')})`);
    else if (r.verdict === 'rejected' || r.verdict === 'no-output') continue;
    else {
      const what =
        r.verdict === 'disagree'
          ? r.mismatches.map((m) => `${m.expr}: bpftrace ${m.bpftrace ?? '(not printed)'}, executor ${m.executor ?? '(not reached)'}`).join('; ')
          : (r.detail ?? r.verdict);
      t.fail(`${name}: ${what}`, { class: classify(r).label, ...(r.minimal ? { program: r.minimal } : {}) });
    }
  }
});
