/**
 * CI slice of the differential test against each newer bpftrace found here (a Debian chroot under
 * /var/cache/kgent-bpftrace/, or KGENT_BPFTRACE_ROOTS): generated cases run in that bpftrace and in
 * the executor under its nearest profile; every printed value must agree, or be one the profile
 * does not claim (undefined in bpftrace, or not modelled for that version). A disagreement fails.
 * The full run: `KGENT_DIFFTEST_ROOT=/var/cache/kgent-bpftrace/trixie npm run difftest -- --cases 2000`.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { realBinaries } from './real-bpftrace.js';

const SEED = 7;
const CASES = Number(process.env.KGENT_DIFFTEST_CASES ?? 200);
const LITERAL_CASES = Number(process.env.KGENT_DIFFTEST_LITERAL_CASES ?? 60);

const chroots = realBinaries().filter((b) => b.where.endsWith('(chroot)'));
if (chroots.length === 0) t.comment('no bpftrace chroot found here (/var/cache/kgent-bpftrace/*): newer versions not tested');
/** Runs one slice in a child (the differential modules read their target once, from the environment). */
function slice(t: Tap.Test, root: string, version: string, cases: number, classes: string | undefined, minRan: number): void {
  const child = spawnSync(process.execPath, ['--import', '@tapjs/typescript/import', new URL('./run-differential.ts', import.meta.url).pathname, String(SEED), String(cases), ...(classes ? [classes] : [])], {
    encoding: 'utf8',
    env: { ...process.env, KGENT_DIFFTEST_ROOT: root, TS_NODE_TRANSPILE_ONLY: '1' },
    timeout: 380_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const at = child.stdout.indexOf('{"table"');
  if (at < 0) {
    t.fail(`the differential run failed: ${child.stderr.slice(-2000)}`);
    return;
  }
  const summary = JSON.parse(child.stdout.slice(at)) as { table: string; ran: number; failures: { name: string; what: string }[] };
  t.comment(summary.table.split('\n').join('\n# '));
  t.ok(summary.ran >= minRan, `${summary.ran} of ${cases} cases ran in bpftrace ${version}`);
  for (const f of summary.failures) t.fail(`${f.name}: ${f.what}`);
  t.equal(summary.failures.length, 0, 'no disagreement, no executor error');
}

for (const bin of chroots) {
  const root = bin.where.replace(/ \(chroot\)$/, '');
  t.test(`executor agrees with bpftrace ${bin.version} on ${CASES} generated cases (seed ${SEED})`, { timeout: 400_000 }, async (t) => {
    slice(t, root, bin.version, CASES, undefined, CASES * 0.5);
  });
  // 64-bit run-time values beside literals: what 0.26's literal types change (generator.ts, literal-64).
  t.test(`literal arithmetic agrees with bpftrace ${bin.version} on ${LITERAL_CASES} cases (seed ${SEED})`, { timeout: 400_000 }, async (t) => {
    slice(t, root, bin.version, LITERAL_CASES, 'literal-64', LITERAL_CASES);
  });
}
