#!/usr/bin/env node
/**
 * The tree reads like a map, and stays one:
 * - every source folder under daemon/, cli/ and kernel-contracts/ has a README.md that names each
 *   of its source files (`name.ts`), and names no source file the folder does not have (a README
 *   that lists a module that moved is how a newcomer gets lost);
 * - a test sits where its subject sits: a folder of test/ that holds `*.test.ts` files mirrors a
 *   source folder (test/daemon/verifier/ tests daemon/verifier/), unless it is one of the few
 *   folders that test the product as a whole (TEST_ONLY below, each with its reason).
 * Run by `npm run lint`; exits 1 with one line per finding. `--root DIR` checks another tree.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? path.resolve(process.argv[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE_ROOTS = ['daemon', 'cli', 'kernel-contracts'];
/** Folders of test/ that have no source twin, and why. */
const TEST_ONLY = new Map([
  ['test/bench', 'performance figures beside their targets (npm run bench)'],
  ['test/lint', 'the checks npm run lint runs, and their tests'],
  ['test/golden', 'recorded programs and verdicts, read by the verifier tests'],
  ['test/dialects', 'facts of each bpftrace version, checked on its real binary'],
  ['test/systemd', 'the unit and the installer (systemd/)'],
  ['test/datasets', 'the example dataset and the eval set (datasets/)'],
  ['test/support', 'shared harnesses: the stand-in model, a daemon in a temp dir'],
  ['test/fixtures', 'recorded kernel formats, BTF and hosts'],
]);
/** Sub-folders that hold a test harness of their parent, not a source folder's tests. */
const HARNESS = new Set(['helpers', 'differential', 'fixtures', 'bpftrace-0.17']);

const isSource = (name) => /\.(ts|mts|mjs|cjs|c)$/.test(name) && !name.endsWith('.d.ts');

function* dirs(dir) {
  yield dir;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'dist' && !e.name.startsWith('.')) yield* dirs(path.join(dir, e.name));
  }
}

const findings = [];
const rel = (p) => path.relative(root, p);

for (const top of SOURCE_ROOTS) {
  if (!existsSync(path.join(root, top))) continue;
  for (const dir of dirs(path.join(root, top))) {
    const files = readdirSync(dir).filter((n) => isSource(n) && statSync(path.join(dir, n)).isFile());
    if (files.length === 0) continue;
    const readme = path.join(dir, 'README.md');
    if (!existsSync(readme)) {
      findings.push(`${rel(dir)}/: no README.md saying what its ${files.length} file(s) are`);
      continue;
    }
    const text = readFileSync(readme, 'utf8');
    for (const f of files) {
      if (!new RegExp(`(^|[^\\w./-])${f.replace(/[.]/g, '\\.')}\\b`).test(text)) findings.push(`${rel(readme)}: does not name ${f}`);
    }
    // A backticked bare file name is a claim that the file is here.
    for (const m of text.matchAll(/`([\w.-]+\.(?:ts|mjs|cjs|c))`/g)) {
      if (!files.includes(m[1]) && !existsSync(path.join(dir, m[1]))) findings.push(`${rel(readme)}: names \`${m[1]}\`, which is not in ${rel(dir)}/`);
    }
  }
}

const testRoot = path.join(root, 'test');
if (existsSync(testRoot)) {
  for (const dir of dirs(testRoot)) {
    const r = rel(dir);
    if ([...TEST_ONLY.keys()].some((t) => r === t || r.startsWith(`${t}/`))) continue;
    if (!readdirSync(dir).some((n) => n.endsWith('.test.ts'))) continue;
    const parts = r.split('/').slice(1).filter((p) => !HARNESS.has(p));
    const twin = parts.join('/');
    if (parts.length === 0 || !existsSync(path.join(root, twin)) || !statSync(path.join(root, twin)).isDirectory()) {
      findings.push(`${r}/: its tests mirror no source folder (${twin || '(none)'}/ does not exist); move them beside their subject's twin, or name the folder in TEST_ONLY with its reason`);
    }
  }
}

for (const f of findings) process.stdout.write(`${f}\n`);
if (findings.length) {
  process.stdout.write(`layout: ${findings.length} finding(s)\n`);
  process.exit(1);
}
process.stdout.write('layout: every source folder has a README naming its files; the test tree mirrors the source\n');
