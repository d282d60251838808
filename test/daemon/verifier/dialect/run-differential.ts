/**
 * Child process of `differential.test.ts`: one differential run against the bpftrace that
 * KGENT_DIFFTEST_ROOT names, printed as one JSON summary on stdout. Arguments: seed, cases, and
 * optionally the generator classes (comma-separated; default: the default mix).
 */
import { formatReport, runDifferential } from '../differential/differential.js';

// Run by tap as a file of the folder: nothing to do without a target.
if (!process.env.KGENT_DIFFTEST_ROOT) process.exit(0);
const [seed, cases] = process.argv.slice(2, 4).map(Number);
const classes = process.argv[4]?.split(',').filter(Boolean);
const report = await runDifferential({ seed: seed ?? 7, cases: cases ?? 200, batchSize: 50, ...(classes?.length ? { classes } : {}) });
const ran = report.results.filter((r) => r.verdict !== 'rejected' && r.verdict !== 'no-output').length;
const failures = report.results
  .filter((r) => r.verdict === 'disagree' || r.verdict === 'executor-error' || r.verdict === 'refused-kgent')
  .map((r) => ({
    name: `case ${r.c.id} (${r.c.cls})`,
    what: r.verdict === 'disagree' ? r.mismatches.map((m) => `${m.expr}: bpftrace ${m.bpftrace ?? '(not printed)'}, executor ${m.executor ?? '(not reached)'}`).join('; ') + (r.minimal ? `\n${r.minimal}` : '') : (r.detail ?? r.verdict),
  }));
process.stdout.write(JSON.stringify({ table: formatReport(report, { maxDetails: 0 }), ran, failures }));
