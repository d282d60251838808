/**
 * The kernel check on each bpftrace release: outputs recorded from the real 0.23.2 and 0.27.1
 * (bpftrace-VERSION/README.md) classified with their release's format, and the whole check
 * (`kernelCheck`: flags, load, classification) run live on the real 0.17.0, 0.23.2 and 0.27.1
 * binaries of this host, each skipped with the reason when its root is not built.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDiagnostics } from '../../../daemon/kernel-check/load-outcome.js';
import { kernelCheck } from '../../../daemon/kernel-check/kernel-check.js';
import { detectBpftrace } from '../../../daemon/runner/bpftrace-cli.js';
import { outputFormatFor } from '../../../daemon/runner/bpftrace-formats.js';
import { parseBpftraceVersion } from '../../../kernel-contracts/kernel-reader/bpftrace.js';
import type { Diagnostic } from '../../../daemon/protocol/diagnostic.js';
import { probeBinaries } from '../../dialects/binaries.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** What a load must come to: loaded or not, and its error diagnostics (code, message part, line). */
interface Want {
  readonly ok: boolean;
  readonly errors: readonly { readonly code: string; readonly says: RegExp; readonly line?: number }[];
  /** Warnings that must be there (messages), and no others when `onlyWarnings`. */
  readonly warnings?: readonly RegExp[];
  readonly onlyWarnings?: boolean;
  /** The line the first warning must point at. */
  readonly warningLine?: number;
}

const VERIFIER = { code: 'kernel.verifier-rejected', says: /eBPF verifier rejected the program for (BEGIN|begin)_1: The sequence of 8193 jumps is too complex/ };

/** Recorded outputs: release -> program -> what the classifier must make of it. */
const RECORDED: Record<string, Record<string, Want>> = {
  '0.23.2': {
    ok: { ok: true, errors: [], warnings: [], onlyWarnings: true },
    semantic: { ok: false, errors: [{ code: 'bpftrace.error', says: /does not contain a field named 'nofield'/, line: 2 }] },
    'missing-tracepoint': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /tracepoint not found: syscalls:sys_enter_no_such_call/, line: 2 }] },
    'uprobe-missing': { ok: false, errors: [{ code: 'kernel.attach-failed', says: /Could not resolve symbol.*no_such_function_kgent, cannot attach probe/ }] },
    'verifier-loop': { ok: false, errors: [VERIFIER] },
    'kprobe-attach': { ok: false, errors: [{ code: 'kernel.attach-failed', says: /Error attaching probe: kprobe:do_sys_openat2/ }], warnings: [/do_sys_openat2 is not traceable/] },
    'sign-warning': { ok: true, errors: [], warnings: [/comparison of integers of different signs/], onlyWarnings: true },
    'stdlib-warning': { ok: true, errors: [], warnings: [], onlyWarnings: true },
  },
  '0.27.1': {
    ok: { ok: true, errors: [], warnings: [], onlyWarnings: true },
    semantic: { ok: false, errors: [{ code: 'bpftrace.error', says: /does not contain a field named 'nofield'/, line: 2 }] },
    'missing-tracepoint': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /No matches for tracepoint syscalls:sys_enter_no_such_call/, line: 2 }] },
    'uprobe-missing': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /No matches for uprobe .*no_such_function_kgent/, line: 2 }] },
    'verifier-loop': { ok: false, errors: [VERIFIER], warnings: [/While loops are deprecated/] },
    'kprobe-attach': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /No matches for kprobe do_sys_openat2/, line: 1 }], warnings: [/not traceable/] },
    'sign-warning': { ok: true, errors: [], warnings: [/being cast to type: int64/], onlyWarnings: true },
    // bpftrace's own stdlib warning (and its "expanded from" note on the caller's line) is not the program's.
    'stdlib-warning': { ok: true, errors: [], warnings: [], onlyWarnings: true },
  },
};

function expectDiagnostics(t: Tap.Test, got: readonly Diagnostic[], want: Want, what: string, sourceLines = 2): void {
  const errors = got.filter((d) => d.severity === 'error');
  t.equal(errors.length, want.errors.length, `${what}: errors ${JSON.stringify(errors.map((d) => `${d.code} ${d.message}`))}`);
  want.errors.forEach((w, i) => {
    const d = errors[i];
    t.equal(d?.code, w.code, `${what}: code`);
    t.match(d?.message ?? '', w.says, `${what}: message`);
    t.equal(d?.span?.line, w.line, `${what}: line`);
  });
  const warnings = got.filter((d) => d.severity === 'warning');
  for (const w of want.warnings ?? []) t.ok(warnings.some((d) => w.test(d.message)), `${what}: warning ${w}`);
  if (want.warningLine !== undefined) t.equal(warnings[0]?.span?.line, want.warningLine, `${what}: the warning's line`);
  if (want.onlyWarnings) t.equal(warnings.length, (want.warnings ?? []).length, `${what}: warnings ${JSON.stringify(warnings.map((d) => d.message))}`);
  for (const d of got) {
    t.notMatch(d.message, /available_filter_functions|RLIMIT_MEMLOCK|Attached \d+ probe|expanded from|Return value discarded/, `${what}: no noise or library warning shown: ${d.message}`);
    if (d.span) t.ok(d.span.line >= 1 && d.span.line <= sourceLines, `${what}: located on a program line`);
  }
}

t.test('recorded outputs of each release are classified by its format', async (t) => {
  for (const [version, programs] of Object.entries(RECORDED)) {
    const dir = path.join(HERE, `bpftrace-${version}`);
    const exits = new Map(
      (await readFile(path.join(dir, 'exit-codes.txt'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );
    const format = outputFormatFor(parseBpftraceVersion(version));
    for (const [name, want] of Object.entries(programs)) {
      const source = await readFile(path.join(dir, `${name}.bt`), 'utf8');
      const stderr = (await readFile(path.join(dir, `${name}.stderr`), 'utf8')).split('\n');
      const exitCode = Number(exits.get(name));
      const ok = exitCode === 0;
      t.equal(ok, want.ok, `${version} ${name}: exit ${exitCode}`);
      const d = loadDiagnostics(
        { ok, stderr, exitCode, signal: undefined, timedOut: false, elapsedMs: 100 },
        { fileName: `${name}.bt`, sourceLines: source.split('\n').length, timeoutMs: 30_000, memoryBytes: undefined, format, programFile: `${name}.bt` },
      );
      expectDiagnostics(t, d, want, `${version} ${name}`);
    }
  }
});

t.test('a library location never lands on a program line, even a long program', async (t) => {
  const format = outputFormatFor({ major: 0, minor: 27 });
  const stderr = (await readFile(path.join(HERE, 'bpftrace-0.27.1', 'stdlib-warning.stderr'), 'utf8')).split('\n');
  // 400 lines: line 188 exists in the caller's program too.
  const d = loadDiagnostics({ ok: true, stderr, exitCode: 0, signal: undefined, timedOut: false, elapsedMs: 1 }, { fileName: 'p.bt', sourceLines: 400, timeoutMs: 1, memoryBytes: undefined, format, programFile: 'stdlib-warning.bt' });
  t.same(d, []);
  // A library error is the program's: reported at the call.
  const err = ['stdlib/strings.bt:188:3-33: ERROR: Something the library refuses', '  x', '  ~', 'p.bt:1:53-64: WARNING: expanded from', 'BEGIN {}', '~'];
  const e = loadDiagnostics({ ok: false, stderr: err, exitCode: 1, signal: undefined, timedOut: false, elapsedMs: 1 }, { fileName: 'p.bt', sourceLines: 400, timeoutMs: 1, memoryBytes: undefined, format, programFile: 'p.bt' });
  t.match(e, [{ code: 'bpftrace.error', severity: 'error', message: /Something the library refuses \(in bpftrace's standard library, stdlib\/strings.bt:188/, span: { line: 1, column: 53 } }]);
  t.equal(e.length, 1);
  // On 0.17 there is no library: a location in another file is not the program's line.
  const other = loadDiagnostics(
    { ok: false, stderr: ['/usr/include/x.bt:3:1-4: ERROR: boom'], exitCode: 1, signal: undefined, timedOut: false, elapsedMs: 1 },
    { fileName: 'p.bt', sourceLines: 10, timeoutMs: 1, memoryBytes: undefined, format: outputFormatFor(undefined), programFile: '/tmp/x/program.bt' },
  );
  t.equal(other[0]?.span, undefined, 'no span from another file');
  t.match(other[0]?.detail ?? '', 'reported in /usr/include/x.bt, not in p.bt');
});

t.test('the format follows the version', async (t) => {
  const rows: [string | undefined, string][] = [
    [undefined, '0.17'],
    ['0.16.0', '0.17'],
    ['0.17.0', '0.17'],
    ['0.21.2', '0.17'],
    ['0.23.2', '0.23'],
    ['0.24.0', '0.23'],
    ['0.27.1', '0.27'],
    ['0.30.0', '0.27'],
    ['1.0.0', '0.27'],
  ];
  for (const [v, since] of rows) t.equal(outputFormatFor(v === undefined ? undefined : parseBpftraceVersion(v)).since, since, `${v}`);
});

/** Programs run through the whole kernel check, with what each release makes of them (by major.minor). */
const LIVE: { name: string; source: string; want: Record<string, Want> }[] = [
  {
    name: 'ok',
    source: 'tracepoint:syscalls:sys_enter_getppid { @n = count(); }\n',
    want: { '0.17': { ok: true, errors: [] }, '0.23': { ok: true, errors: [] }, '0.27': { ok: true, errors: [] } },
  },
  {
    name: 'compile error',
    source: 'tracepoint:syscalls:sys_enter_getppid { @n = count(); }\ntracepoint:syscalls:sys_enter_getppid { @m = nosuchfunc(); }\n',
    want: Object.fromEntries(['0.17', '0.23', '0.27'].map((v) => [v, { ok: false, errors: [{ code: 'bpftrace.error', says: /Unknown function: '?nosuchfunc/, line: 2 }] }])),
  },
  {
    name: 'missing tracepoint',
    source: 'tracepoint:syscalls:sys_enter_getppid { @n = count(); }\ntracepoint:syscalls:sys_enter_no_such_call { @m = count(); }\n',
    want: Object.fromEntries(['0.17', '0.23', '0.27'].map((v) => [v, { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /syscalls:sys_enter_no_such_call/, line: 2 }] }])),
  },
  {
    name: 'verifier rejection',
    source: 'BEGIN { $i = 0; while ($i < 100000000) { @x = @x + 1; $i++; } }\n',
    want: Object.fromEntries(['0.17', '0.23', '0.27'].map((v) => [v, { ok: false, errors: [{ code: 'kernel.verifier-rejected', says: /eBPF verifier rejected the program for (BEGIN|begin)(_1)?: The sequence of \d+ jumps is too complex/ }] }])),
  },
  {
    name: 'uprobe on a missing function',
    source: 'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:no_such_function_kgent { @n = count(); }\n',
    want: {
      // 0.17 skips it silently and attaches nothing else: it loads (facts.ts, uprobe-missing-function).
      '0.17': { ok: true, errors: [] },
      '0.23': { ok: false, errors: [{ code: 'kernel.attach-failed', says: /cannot attach probe/ }] },
      '0.27': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /No matches for uprobe/, line: 1 }] },
    },
  },
  {
    name: 'kprobe on a kernel without kprobes',
    source: 'kprobe:do_sys_openat2 { @n = count(); }\n',
    want: {
      '0.17': { ok: false, errors: [{ code: 'kernel.attach-failed', says: /Error attaching probe/ }] },
      '0.23': { ok: false, errors: [{ code: 'kernel.attach-failed', says: /Error attaching probe/ }] },
      '0.27': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /No matches for kprobe do_sys_openat2/, line: 1 }] },
    },
  },
  {
    // One of two attach points is missing: 0.17 and 0.23 warn and load the other (the range they
    // print, 1-4 or 2-4, ends on the missing one's line); 0.27 refuses it.
    name: 'one missing attach point among two',
    source: 'tracepoint:syscalls:sys_enter_getppid { @n = count(); }\ntracepoint:syscalls:sys_enter_getpid,\ntracepoint:syscalls:sys_enter_no_such_call\n{ @m = count(); }\n',
    want: {
      '0.17': { ok: true, errors: [], warnings: [/tracepoint not found: syscalls:sys_enter_no_such_call/], warningLine: 3 },
      '0.23': { ok: true, errors: [], warnings: [/tracepoint not found: syscalls:sys_enter_no_such_call/], warningLine: 3 },
      '0.27': { ok: false, errors: [{ code: 'kernel.probe-not-found', says: /No matches for tracepoint syscalls:sys_enter_no_such_call/, line: 3 }] },
    },
  },
  {
    name: 'a built-in the 0.27 library warns about',
    source: 'BEGIN { printf("%s\\n", strerror(2)); }\n',
    want: Object.fromEntries(['0.17', '0.23', '0.27'].map((v) => [v, { ok: true, errors: [], warnings: [], onlyWarnings: true }])),
  },
];

t.test('the whole kernel check on the real binaries', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to load eBPF programs');
  for (const probe of probeBinaries()) {
    if (!probe.ok) {
      t.comment(`skipped ${probe.source}: ${probe.reason}`);
      t.skip(`${probe.source}: ${probe.reason}`);
      continue;
    }
    await t.test(`bpftrace ${probe.bin.version} (${probe.bin.source})`, async (t) => {
      const cli = await detectBpftrace(probe.bin.path);
      const key = `${cli.version.major}.${cli.version.minor}`;
      t.equal(cli.hasDryRun, key !== '0.17', `--dry-run ${cli.hasDryRun ? 'used' : 'absent: load, attach, SIGKILL at the marker'}`);
      for (const c of LIVE) {
        const want = c.want[key];
        if (!want) {
          t.comment(`${c.name}: no expectation for ${key}`);
          continue;
        }
        const begin = c.source.startsWith('BEGIN {') ? { beginBodyOffset: 'BEGIN {'.length } : {};
        // As an admin sees it, and as a caller who may not read host files (clang's text withheld).
        for (const hostFilesHidden of [false, true]) {
          const res = await kernelCheck(cli, { source: c.source, fileName: 'prog.bt', unsafe: false, hostFilesHidden, ...begin }, { timeoutMs: 120_000 });
          const what = `${key} ${c.name}${hostFilesHidden ? ' (host files hidden)' : ''}`;
          t.equal(res.ok, want.ok, `${what}: ${res.method}`);
          expectDiagnostics(t, res.diagnostics, want, what, c.source.split('\n').length);
        }
      }
    });
  }
});

t.test('a library error without an "expanded from" is still reported (no line)', async (t) => {
  const format = outputFormatFor({ major: 0, minor: 27 });
  for (const tailLines of [[], ['ERROR: something else'], ['stdlib/b.bt:1:1-2: WARNING: w']]) {
    const stderr = ['stdlib/a.bt:7:1-9: ERROR: library refuses', '  x', '  ~', ...tailLines];
    const d = loadDiagnostics({ ok: false, stderr, exitCode: 1, signal: undefined, timedOut: false, elapsedMs: 1 }, { fileName: 'p.bt', sourceLines: 10, timeoutMs: 1, memoryBytes: undefined, format, programFile: 'p.bt' });
    t.match(d[0], { code: 'bpftrace.error', severity: 'error', message: /library refuses \(in bpftrace's standard library, stdlib\/a.bt:7\)/ }, JSON.stringify(tailLines));
    t.equal(d[0]?.span, undefined);
  }
});
