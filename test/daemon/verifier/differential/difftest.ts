/**
 * `npm run difftest -- --seed N --cases 2000`: the full differential run against the installed
 * bpftrace. Prints per-class agreement counts and every disagreement with a minimal program, and
 * exits 1 on any disagreement or executor error (2 when bpftrace cannot run here); cases whose
 * printed values are undefined in bpftrace (`any-value`, see differential.ts) pass.
 *
 * Options: --seed N (default 1), --cases N (default 2000), --from N (first case index),
 * --class a,b (only these generator classes), --id 12,40 (only these case ids), --batch N (cases
 * per bpftrace process, default 40), --errors (also list rejected cases and executor errors),
 * --json FILE (write every result), --quiet, --print (print the cases' programs, run nothing),
 * --bpftrace PATH (the bpftrace to run, default /usr/bin/bpftrace; e.g. a root's kgent-bpftrace
 * from test/dialects/build-bpftrace-root.sh). The report names the version that ran.
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_BPFTRACE, bpftraceUnavailable, libcPath } from './bpftrace-run.js';
import { generateCases } from './generator.js';
import { executorProgram, reproProgram } from './program.js';
import { formatReport, runDifferential } from './differential.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const list = (s: string | undefined): string[] | undefined => (s ? s.split(',').filter(Boolean) : undefined);

if (process.argv.includes('--print')) {
  // Print the cases' programs (bpftrace's, then the executor's) without running anything.
  const env = { libc: '/lib/x86_64-linux-gnu/libc.so.6', pid: 1234, ...(libcPath() ? { libc: libcPath() as string } : {}) };
  const ids = list(arg('id'))?.map(Number);
  for (const c of generateCases(Number(arg('seed') ?? 1), Number(arg('cases') ?? 2000), Number(arg('from') ?? 0), list(arg('class')))) {
    if (ids && !ids.includes(c.id)) continue;
    console.log(`# case ${c.id} (${c.cls})\n${reproProgram(c, env)}# executor:\n${executorProgram(c, env)}`);
  }
  process.exit(0);
}
const bpftrace = arg('bpftrace') ?? DEFAULT_BPFTRACE;
const why = bpftraceUnavailable(bpftrace);
if (why) {
  console.error(`difftest: ${why}`);
  process.exit(2);
}
const seed = Number(arg('seed') ?? 1);
const cases = Number(arg('cases') ?? 2000);
const quiet = process.argv.includes('--quiet');
const report = await runDifferential({
  seed,
  cases,
  from: Number(arg('from') ?? 0),
  ...(list(arg('class')) ? { classes: list(arg('class')) } : {}),
  ...(list(arg('id')) ? { ids: (list(arg('id')) as string[]).map(Number) } : {}),
  ...(arg('batch') ? { batchSize: Number(arg('batch')) } : {}),
  bpftrace,
  ...(quiet ? {} : { log: (s: string) => console.error(s) }),
});
console.log(`difftest --seed ${seed} --cases ${cases} --bpftrace ${report.bpftrace.path} (${report.bpftrace.version})`);
console.log(formatReport(report, { showErrors: process.argv.includes('--errors') }));
const json = arg('json');
if (json) {
  writeFileSync(
    json,
    JSON.stringify(
      report.results.map((r) => ({ bpftrace: report.bpftrace.version, id: r.c.id, cls: r.c.cls, verdict: r.verdict, detail: r.detail, mismatches: r.mismatches, anyValue: r.anyValue, minimal: r.minimal, inputs: r.c.inputs })),
      null,
      1,
    ),
  );
}
// Cases undefined in bpftrace (`any-value`) pass; a disagreement or an executor error fails.
process.exit(report.results.some((r) => r.verdict === 'disagree' || r.verdict === 'executor-error') ? 1 : 0);
