import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { VERIFY_EXIT } from '../../cli/commands/verify-command.js';
import { repoRoot } from '../support/golden.js';
import { golden, recordedFormats, runVerify } from '../support/verify-cli.js';

const execFileP = promisify(execFile);

const run = runVerify;
const g = golden;
const formats = recordedFormats();

t.test('exit status and report per verdict', async (t) => {
  const cases: { file: string; code: number; out: RegExp[] }[] = [
    {
      file: 'proved/filter-pid.bt',
      code: 0,
      out: [/filter-pid\.bt:6:3: proved: assert\(pid == 1234\)/, /filter-pid\.bt: proved: .*\(2 assertions: 2 proved; \d+ ms\)\n$/],
    },
    {
      file: 'proved/guard-mixed-trivial.bt',
      code: 0,
      out: [/guard-mixed-trivial\.bt:7:3: trivial: assert\(args->dport <= 65535\); \S/, /:8:3: proved: /],
    },
    {
      file: 'refuted/byteorder-double-swap.bt',
      code: 1,
      out: [/byteorder-double-swap\.bt:7:3: refuted: assert\(mapkey\(@conns, 0\) == args->dport\); counterexample: .*args->dport/, /: refuted: /],
    },
    { file: 'unannotated/no-annotations.bt', code: 3, out: [/no-annotations\.bt: unannotated: .*\(0 assertions; \d+ ms\)/] },
    { file: 'unannotated/only-trivial-type-range.bt', code: 3, out: [/: trivial: assert\(pid == pid\)/, /: unannotated: /] },
    {
      file: 'invalid/syntax-error-assert.bt',
      code: 4,
      out: [/syntax-error-assert\.bt:6:\d+(-\d+)?: ERROR: /, /\n\s*~+\n/, /syntax-error-assert\.bt: invalid: /],
    },
    { file: 'invalid/vacuous-contradictory-assumes.bt', code: 4, out: [/ERROR: /, /: invalid: /] },
  ];
  for (const c of cases) {
    const r = await run([g(c.file), ...formats]);
    t.equal(r.code, c.code, `${c.file}: exit status`);
    t.equal(r.err, '', `${c.file}: nothing on stderr`);
    for (const re of c.out) t.match(r.out, re, `${c.file}: ${re}`);
  }
});

t.test('--json prints exactly one object with the documented keys', async (t) => {
  const r = await run([g('refuted/ternary-wrong-branch.bt'), '--json', '--timeout-ms', '5000', ...formats]);
  t.equal(r.code, VERIFY_EXIT.refuted);
  const obj = JSON.parse(r.out) as Record<string, unknown>;
  t.equal(obj.verdict, 'refuted');
  t.ok(Array.isArray(obj.diagnostics), 'diagnostics array');
  t.type(obj.timings, 'object');
  for (const k of ['parseMs', 'verifyMs', 'totalMs']) t.type((obj.timings as Record<string, unknown>)[k], 'number', `timings.${k}`);
  const asserts = obj.assertions as { line: number; verdict: string; counterexample: { inputs: object; computed: object; summary: string } | null }[];
  t.same(
    asserts.map((a) => [a.line, a.verdict]),
    [
      [8, 'refuted'],
      [9, 'refuted'],
    ],
  );
  for (const a of asserts) {
    t.ok(a.counterexample, `line ${a.line} has a counterexample`);
    t.type(a.counterexample?.summary, 'string');
  }

  const p = await run([g('proved/filter-pid.bt'), '--json', ...formats]);
  t.equal(p.code, 0);
  const po = JSON.parse(p.out) as { verdict: string; assertions: { counterexample: unknown }[] };
  t.equal(po.verdict, 'proved');
  t.ok(po.assertions.every((a) => a.counterexample === null), 'counterexample is null when proved');

  const inv = await run([g('invalid/syntax-error-assert.bt'), '--json=', ...formats]);
  t.equal(inv.code, 2, '--json= is a usage error');
});

t.test('usage errors: exit 2 and one clear line on stderr', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-verify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cases: { argv: string[]; err: RegExp }[] = [
    { argv: [], err: /missing the program file/ },
    { argv: [path.join(dir, 'nope.bt')], err: /cannot read .*nope\.bt: no such file \(ENOENT\); give the path/ },
    { argv: [dir], err: /cannot read .*: it is a directory \(EISDIR\)/ },
    { argv: [g('proved/filter-pid.bt'), '--bogus'], err: /unknown option "--bogus"/ },
    { argv: [g('proved/filter-pid.bt'), '--timeout-ms'], err: /--timeout-ms needs a value/ },
    { argv: [g('proved/filter-pid.bt'), '--timeout-ms', 'soon'], err: /--timeout-ms must be a positive integer.*"soon"/ },
    { argv: [g('proved/filter-pid.bt'), '--timeout-ms=0'], err: /--timeout-ms must be a positive integer/ },
    { argv: [g('proved/filter-pid.bt'), g('proved/filter-comm.bt')], err: /one program file at a time/ },
    { argv: [g('proved/filter-pid.bt'), '--formats'], err: /--formats needs a directory/ },
  ];
  for (const c of cases) {
    const r = await run(c.argv);
    t.equal(r.code, 2, `${c.argv.join(' ') || '(no args)'}: exit 2`);
    t.equal(r.out, '', 'nothing on stdout');
    t.match(r.err, c.err);
    t.equal(r.err.trimEnd().split('\n').length, 1, 'one line');
    t.match(r.err, /^kgentctl verify: /);
  }
});

t.test('unreadable file', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: file permissions do not stop reads, so EACCES cannot be produced');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-verify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'secret.bt');
  writeFileSync(f, 'BEGIN { exit(); }\n');
  chmodSync(f, 0);
  const r = await run([f]);
  t.equal(r.code, 2);
  t.match(r.err, /permission denied \(EACCES\)/);
});

t.test('--help', async (t) => {
  const r = await run(['--help']);
  t.equal(r.code, 0);
  t.match(r.out, /^usage: kgentctl verify FILE\.bt/);
});

t.test('default contracts come from the running kernel tracefs', async (t) => {
  if (!existsSync('/sys/kernel/tracing/events/sock/inet_sock_set_state/format')) {
    t.skip('tracefs is not mounted at /sys/kernel/tracing (or lacks sock:inet_sock_set_state)');
    return;
  }
  const r = await run([g('refuted/byteorder-double-swap.bt')]);
  t.equal(r.code, 1, 'refuted with the live formats too');
});

const root = repoRoot();
const distCli = path.join(root, 'dist', 'cli');
// kgentctl's executable entry: dist/cli/bin.js when the build has one (main.js then only exports main()).
const kgentctl = existsSync(path.join(distCli, 'bin.js')) ? path.join(distCli, 'bin.js') : path.join(distCli, 'main.js');
const children: { name: string; script: string; pre: string[] }[] = [
  { name: `kgentctl verify (${path.relative(root, kgentctl)})`, script: kgentctl, pre: ['verify'] },
];
for (const c of children) {
  t.test(`child process: ${c.name}`, async (t) => {
    if (!existsSync(path.join(distCli, 'main.js')) || !existsSync(c.script)) {
      t.skip(`${path.relative(root, existsSync(c.script) ? path.join(distCli, 'main.js') : c.script)} is missing: run "npm run build" first`);
      return;
    }
    const help = await execFileP(process.execPath, [c.script, ...c.pre, '--help']).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    if (!help.startsWith('usage: kgentctl verify')) {
      t.skip(`${path.relative(root, c.script)} does not route "verify" to cli/commands/verify-command.ts yet (its --help is not verify's)`);
      return;
    }
    const ok = await execFileP(process.execPath, [c.script, ...c.pre, g('refuted/filter-wrong-pid-field.bt'), '--json', ...formats]).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
    t.equal(ok.code, 1, `exit 1 for refuted (stderr: ${ok.stderr.trim()})`);
    t.equal((JSON.parse(ok.stdout) as { verdict: string }).verdict, 'refuted');
    const proved = await execFileP(process.execPath, [c.script, ...c.pre, g('proved/filter-pid.bt'), ...formats]);
    t.match(proved.stdout, /filter-pid\.bt: proved: /);
    const usage = await execFileP(process.execPath, [c.script, ...c.pre, '--timeout-ms', 'x']).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
    );
    t.equal(usage.code, 2);
    t.match(usage.stderr, /--timeout-ms/);
  });
}
