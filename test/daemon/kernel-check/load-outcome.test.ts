/**
 * The kernel check's classifier (what bpftrace's load means, as diagnostics), on outputs recorded
 * from the real bpftrace 0.17 (bpftrace-0.17/README.md), and, where root can run it here, on the
 * same programs run live through the check's launcher (the recordings still match the binary).
 */
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDiagnostics, type LoadOutcome, type LoadContext } from '../../../daemon/kernel-check/load-outcome.js';
import { loadWithBpftrace } from '../../../daemon/kernel-check/bpftrace-load.js';
import { detectBpftrace } from '../../../daemon/runner/bpftrace-cli.js';

const RECORDED = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bpftrace-0.17');

async function recorded(name: string): Promise<{ source: string; stderr: string[] }> {
  return {
    source: await readFile(path.join(RECORDED, `${name}.bt`), 'utf8'),
    stderr: (await readFile(path.join(RECORDED, `${name}.stderr`), 'utf8')).split('\n'),
  };
}

function context(source: string, over: Partial<LoadContext> = {}): LoadContext {
  return { fileName: 'prog.bt', sourceLines: source.split('\n').length, timeoutMs: 30_000, memoryBytes: 1 << 30, ...over };
}

function failed(stderr: readonly string[], over: Partial<LoadOutcome> = {}): LoadOutcome {
  return { ok: false, stderr, exitCode: 1, signal: undefined, timedOut: false, elapsedMs: 120, ...over };
}

interface Expected {
  readonly code: string;
  readonly severity: 'error' | 'warning';
  /** A part of the message. */
  readonly says: string;
  /** The program line the diagnostic points at; undefined: no span. */
  readonly line?: number;
}

const cases: { name: string; ok: boolean; exitCode?: number; expect: Expected[] }[] = [
  { name: 'semantic', ok: false, expect: [{ code: 'bpftrace.error', severity: 'error', says: 'Undefined or undeclared variable: $x', line: 1 }] },
  { name: 'parse', ok: false, expect: [{ code: 'bpftrace.error', severity: 'error', says: 'syntax error, unexpected }', line: 1 }] },
  {
    name: 'missing-tracepoint',
    ok: false,
    expect: [
      // The format file bpftrace could not open after it says the same: no second error.
      { code: 'kernel.probe-not-found', severity: 'error', says: 'tracepoint not found: syscalls:sys_enter_no_such_call', line: 1 },
    ],
  },
  {
    name: 'kprobe-attach',
    ok: false,
    exitCode: 255,
    expect: [
      { code: 'bpftrace.error', severity: 'warning', says: 'do_sys_openat2 is not traceable', line: 1 },
      { code: 'kernel.attach-failed', severity: 'error', says: "Error attaching probe: 'kprobe:do_sys_openat2'" },
    ],
  },
  { name: 'verifier-loop', ok: false, exitCode: 255, expect: [{ code: 'kernel.verifier-rejected', severity: 'error', says: 'for BEGIN: The sequence of 8193 jumps is too complex.' }] },
  // LLVM's error, not bpftrace's format: nothing recognised, so the tail says it (noise left out).
  { name: 'stack-limit', ok: false, expect: [{ code: 'kernel.load-failed', severity: 'error', says: '(exit 1): error: <unknown>:0:0: in function BEGIN i64 (i8*): Looks like the BPF stack limit of 512 bytes is exceeded' }] },
  { name: 'address-space-too-small', ok: false, exitCode: 127, expect: [{ code: 'kernel.load-failed', severity: 'error', says: '(exit 127): bpftrace: error while loading shared libraries: libz.so.1' }] },
  // Loaded: only its warnings are kept.
  { name: 'sign-warning', ok: true, expect: [{ code: 'bpftrace.error', severity: 'warning', says: 'comparison of integers of different signs', line: 1 }] },
];

function check(t: Tap.Test, got: ReturnType<typeof loadDiagnostics>, expect: readonly Expected[]): void {
  t.equal(got.length, expect.length, `diagnostics: ${JSON.stringify(got.map((d) => d.message))}`);
  expect.forEach((e, i) => {
    const d = got[i];
    t.equal(d?.code, e.code);
    t.equal(d?.severity, e.severity);
    t.match(d?.message ?? '', e.says);
    t.equal(d?.span?.line, e.line);
  });
}

t.test('recorded bpftrace 0.17 outputs are classified', async (t) => {
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const r = await recorded(c.name);
      check(t, loadDiagnostics(failed(r.stderr, { ok: c.ok, exitCode: c.exitCode ?? 1 }), context(r.source)), c.expect);
    });
  }
});

t.test('noise alone never makes a diagnostic of its own', async (t) => {
  const noise = ['ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem', 'INFO: node count: 17', 'Attaching 1 probe...'];
  t.same(loadDiagnostics({ ...failed(noise), ok: true }, context('BEGIN {}')), [], 'loaded: no warnings');
  const d = loadDiagnostics(failed(noise, { exitCode: 1 }), context('BEGIN {}'));
  t.equal(d.length, 1);
  t.equal(d[0]!.code, 'kernel.load-failed');
  t.match(d[0]!.message, '(exit 1): no error output');
  const killed = loadDiagnostics(failed([], { exitCode: undefined, signal: 'SIGKILL' }), context('BEGIN {}', { memoryBytes: undefined }));
  t.match(killed[0]!.message, '(exit SIGKILL)');
});

t.test('the time limit wins over what bpftrace printed before it was killed', async (t) => {
  const r = await recorded('semantic');
  const d = loadDiagnostics(failed(r.stderr, { timedOut: true, signal: 'SIGKILL', exitCode: undefined }), context(r.source, { timeoutMs: 1234 }));
  t.equal(d.length, 1);
  t.equal(d[0]!.code, 'kernel.check-timeout');
  t.match(d[0]!.message, 'after 1234 ms');
});

t.test('out of memory only under a memory limit, and not when timed out', async (t) => {
  const cut = ['ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace.', 'ERROR: Failed to compi'];
  const table: { name: string; outcome: Partial<LoadOutcome>; stderr: readonly string[]; memoryBytes: number | undefined; code: string }[] = [
    { name: 'message cut short', outcome: {}, stderr: cut, memoryBytes: 256 << 20, code: 'kernel.check-memory' },
    { name: 'abort', outcome: { signal: 'SIGABRT', exitCode: undefined }, stderr: [], memoryBytes: 256 << 20, code: 'kernel.check-memory' },
    { name: 'segfault', outcome: { signal: 'SIGSEGV', exitCode: undefined }, stderr: [], memoryBytes: 256 << 20, code: 'kernel.check-memory' },
    { name: 'bad_alloc', outcome: {}, stderr: ["terminate called after throwing an instance of 'std::bad_alloc'"], memoryBytes: 256 << 20, code: 'kernel.check-memory' },
    { name: 'no limit set: an abort is just a failure', outcome: { signal: 'SIGABRT', exitCode: undefined }, stderr: [], memoryBytes: undefined, code: 'kernel.load-failed' },
    { name: 'timed out while aborting', outcome: { signal: 'SIGABRT', exitCode: undefined, timedOut: true }, stderr: [], memoryBytes: 256 << 20, code: 'kernel.check-timeout' },
  ];
  for (const c of table) {
    const d = loadDiagnostics(failed(c.stderr, c.outcome), context('BEGIN {}', { memoryBytes: c.memoryBytes }));
    t.equal(d.length, 1, c.name);
    t.equal(d[0]!.code, c.code, c.name);
    if (c.code === 'kernel.check-memory') t.match(d[0]!.message, 'out of the 256 MiB', c.name);
  }
});

t.test('a diagnostic past the user program points at the check probe, not at a line', async (t) => {
  const r = await recorded('semantic');
  const d = loadDiagnostics(failed(r.stderr), context(r.source, { sourceLines: 0 }));
  t.equal(d[0]!.span, undefined);
  t.match(d[0]!.detail ?? '', "prog.bt's check probe");
});

t.test('live bpftrace: the launcher and the classifier agree with the recordings', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to load eBPF programs');
  const cli = await detectBpftrace('bpftrace').catch(() => undefined);
  if (!cli) return t.skip('bpftrace not usable here');
  if (cli.version.text !== '0.17.0') return t.skip(`recorded with bpftrace 0.17.0, this is ${cli.version.text}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-load-outcome-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const c of cases.filter((x) => ['semantic', 'parse', 'missing-tracepoint', 'kprobe-attach', 'sign-warning'].includes(x.name))) {
    await t.test(c.name, async (t) => {
      const r = await recorded(c.name);
      const file = path.join(dir, `${c.name}.bt`);
      await writeFile(file, r.source);
      const load = await loadWithBpftrace(cli, { file, unsafe: false, dryRun: false, marker: '__kgent_ready_0', timeoutMs: 60_000, wrapper: [] });
      t.equal(load.timedOut, false);
      t.equal(load.ready, c.ok, 'ready marker seen exactly when the program loads');
      if (!c.ok) t.equal(load.exitCode, c.exitCode ?? 1);
      const ok = load.ready;
      const d = loadDiagnostics({ ok, stderr: load.stderr.split('\n'), exitCode: load.exitCode, signal: load.signal, timedOut: load.timedOut, elapsedMs: load.elapsedMs }, context(r.source));
      check(t, d, c.expect);
    });
  }
});

t.test('live bpftrace: a cancelled load is killed and reported cancelled', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to load eBPF programs');
  const cli = await detectBpftrace('bpftrace').catch(() => undefined);
  if (!cli) return t.skip('bpftrace not usable here');
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-load-outcome-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'never-ready.bt');
  // Never prints the marker: only the cancellation ends it.
  await writeFile(file, 'interval:s:1 { @n = count(); }\n');
  const ac = new AbortController();
  let cancelledCalls = 0;
  const running = loadWithBpftrace(cli, { file, unsafe: false, dryRun: false, marker: '__kgent_ready_0', timeoutMs: 60_000, wrapper: [], signal: ac.signal, onCancel: () => cancelledCalls++ });
  setTimeout(() => ac.abort(), 1500);
  const t0 = performance.now();
  const load = await running;
  t.equal(load.cancelled, true);
  t.equal(load.ready, false);
  t.equal(load.signal, 'SIGKILL');
  t.equal(cancelledCalls, 1);
  t.ok(performance.now() - t0 < 30_000);
});

t.test('live bpftrace: the time limit kills a load that never gets ready', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to load eBPF programs');
  const cli = await detectBpftrace('bpftrace').catch(() => undefined);
  if (!cli) return t.skip('bpftrace not usable here');
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-load-outcome-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'never-ready.bt');
  await writeFile(file, 'interval:s:1 { @n = count(); }\n');
  const load = await loadWithBpftrace(cli, { file, unsafe: false, dryRun: false, marker: '__kgent_ready_0', timeoutMs: 2000, wrapper: [] });
  t.equal(load.timedOut, true);
  t.equal(load.signal, 'SIGKILL');
  const d = loadDiagnostics({ ok: false, stderr: load.stderr.split('\n'), exitCode: load.exitCode, signal: load.signal, timedOut: true, elapsedMs: load.elapsedMs }, context('x', { timeoutMs: 2000 }));
  t.equal(d[0]!.code, 'kernel.check-timeout');
});
