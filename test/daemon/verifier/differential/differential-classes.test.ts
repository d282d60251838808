/**
 * CI slice of the opt-in difftest classes (gen-printf.ts, gen-builtins.ts, gen-accept.ts): a fixed
 * seed, 32 cases (about 15 s). printf text must match exactly, no builtin fact may exclude a value
 * bpftrace printed, and kgent must refuse exactly the programs bpftrace 0.17 refuses (refused-both
 * and agree pass). Needs root and bpftrace; skips otherwise. Full runs: `npm run difftest --
 * --class printf,printf-str,builtins,accept --cases 1500`.
 */
import t from 'tap';
import { bpftraceUnavailable } from './bpftrace-run.js';
import { formatReport, runDifferential } from './differential.js';

const SEED = 7;
const CASES = Number(process.env.KGENT_DIFFTEST_CLASS_CASES ?? 32);
const CLASSES = ['printf', 'printf-str', 'builtins', 'accept'];

const skip = bpftraceUnavailable();
if (skip) console.log(`# differential test skipped: ${skip}`);

t.test(`printf text, builtin facts and acceptance agree with bpftrace on ${CASES} cases (seed ${SEED})`, { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const report = await runDifferential({ seed: SEED, cases: CASES, classes: CLASSES, batchSize: 50 });
  t.comment(formatReport(report, { maxDetails: 0 }).split('\n').join('\n# '));
  for (const r of report.results) {
    const name = `case ${r.c.id} (${r.c.cls})`;
    if (r.verdict === 'agree' || r.verdict === 'any-value' || r.verdict === 'refused-both') t.pass(`${name}: ${r.verdict}`);
    else if (r.verdict === 'no-output' || (r.verdict === 'rejected' && r.c.cls !== 'accept')) t.fail(`${name}: ${r.verdict} (${r.detail ?? ''})`);
    else {
      const what = r.mismatches.map((m) => `${m.expr}: bpftrace ${m.bpftrace ?? '(not printed)'}, executor ${m.executor ?? '(not reached)'}`).join('; ');
      t.fail(`${name}: ${what || r.detail || r.verdict}`, { ...(r.minimal ? { program: r.minimal } : {}) });
    }
  }
});

// Class `events` (gen-events.ts): several probes per case, BEGIN/END, the same event listed twice,
// full maps under BPFTRACE_MAP_KEYS_MAX=4. No value bpftrace printed may be excluded, values the
// model knows exactly must be proved, and refusals must match (overlap forms: kgent refuses).
const EVENT_CASES = Number(process.env.KGENT_DIFFTEST_EVENT_CASES ?? 24);
t.test(`the map-state model is sound against bpftrace on ${EVENT_CASES} multi-probe cases (seed ${SEED})`, { skip: skip ?? false, timeout: 120_000 }, async (t) => {
  const report = await runDifferential({ seed: SEED, cases: EVENT_CASES, classes: ['events'], batchSize: 30 });
  t.comment(formatReport(report, { maxDetails: 0 }).split('\n').join('\n# '));
  for (const r of report.results) {
    const name = `case ${r.c.id} (${r.c.events?.flavor ?? r.c.cls})`;
    if (r.verdict === 'agree' || r.verdict === 'refused-both' || r.verdict === 'refused-kgent') t.pass(`${name}: ${r.verdict}`);
    else {
      const what = r.mismatches.map((m) => `${m.expr}: bpftrace ${m.bpftrace ?? '(not printed)'}, verifier ${m.executor ?? '?'}`).join('; ');
      t.fail(`${name}: ${r.verdict}: ${what || r.detail || ''}`, { ...(r.minimal ? { program: r.minimal } : {}) });
    }
  }
  t.ok(report.results.some((r) => r.verdict === 'agree' && /[1-9]\d*\/\d+ exact/.test(r.detail ?? '')), 'some exact values were proved');
});
