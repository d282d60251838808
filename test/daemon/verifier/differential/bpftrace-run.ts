/**
 * Runs generated cases in real bpftrace: many cases per process (one probe each on a libc function
 * this process then calls: `getppid()` for most, `getenv(NAME)` for string cases), each printing
 * tagged lines. A program bpftrace rejects is split: the cases its errors point at (by line) are
 * dropped and counted, and a rejection without a location is bisected.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import type { Case } from './generator.js';
import { mapsNamed } from './gen-events.js';
import { bpftraceProgram, type RunEnv } from './program.js';
import { bpftraceCommand, bpftraceTarget, CHROOT_LIBC } from './target.js';

/** What bpftrace printed for one case: values per printf (by its index k), or why it has none. */
export type BpfOutcome =
  | { readonly status: 'ran'; readonly prints: ReadonlyMap<number, readonly string[]> }
  | { readonly status: 'rejected'; readonly error: string }
  | { readonly status: 'no-output'; readonly detail: string };

export interface BpfStats {
  /** bpftrace processes started. */
  processes: number;
  /** Wall time spent in bpftrace, ms. */
  ms: number;
}

/**
 * The bpftrace the cases run in unless told otherwise: the distribution's (0.17 on Debian 12).
 * Another version is any executable taking bpftrace's arguments, e.g. a root's wrapper built by
 * test/dialects/build-bpftrace-root.sh (DIR/kgent-bpftrace).
 */
export const DEFAULT_BPFTRACE = '/usr/bin/bpftrace';

/** Why `bin` cannot be used here, or undefined when it can. */
export function bpftraceUnavailable(bin: string = DEFAULT_BPFTRACE): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run bpftrace';
  if (process.env.KGENT_DIFFTEST_ROOT) {
    try {
      bpftraceTarget();
    } catch (err) {
      return `the bpftrace of ${process.env.KGENT_DIFFTEST_ROOT} cannot run (${err instanceof Error ? err.message : String(err)})`;
    }
  } else if (bpftraceVersion(bin) === undefined) return bin === DEFAULT_BPFTRACE ? 'bpftrace is not installed' : `${bin} does not run as bpftrace (--version failed)`;
  if (!libcPath()) return 'cannot find the libc of this process (for the uprobe triggers)';
  return undefined;
}

/** What `bin --version` reports ("bpftrace v0.17.0"), or undefined when it does not run. */
export function bpftraceVersion(bin: string = DEFAULT_BPFTRACE): string | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).toString().trim();
    return out.split('\n')[0] || undefined;
  } catch {
    return undefined;
  }
}

/** The libc mapped into this process (the uprobes attach to its getppid/getenv). */
export function libcPath(): string | undefined {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const m = /\s(\/\S*\/libc\.so\.6)$/m.exec(maps) ?? /\s(\/\S*\/libc[-.][\S]*\.so[\S]*)$/m.exec(maps);
  return m?.[1];
}

export function runEnv(): RunEnv {
  const libc = libcPath();
  if (!libc) throw new Error('libc not found in /proc/self/maps');
  // A chroot's bpftrace sees this process's libc where bpftraceCommand binds it.
  return { libc: bpftraceTarget().root ? CHROOT_LIBC : libc, pid: process.pid };
}

interface Attempt {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

const LINE = /^c(\d+)\.(\d+)=(.*)\|$/;
const END = /^c(\d+)\.end$/;

async function runOnce(
  bin: string,
  cases: readonly Case[],
  env: RunEnv,
  stats: BpfStats,
  dir: string,
  timeoutMs: number,
  exits: Promise<void>[],
): Promise<Attempt & { lineCase: number[] }> {
  const { text, lineCase } = bpftraceProgram(cases, env);
  const file = path.join(dir, `batch-${stats.processes}.bt`);
  writeFileSync(file, text);
  stats.processes++;
  const t0 = performance.now();
  const want = new Set(cases.map((c) => c.id));
  return await new Promise((resolve) => {
    // Class `events`: a batch shares one key limit (BPFTRACE_MAP_KEYS_MAX, the name `bpftrace
    // --help` of 0.17 lists; checked here: with 4, a fifth key stored in BEGIN reads 0).
    const keysMax = cases[0]?.events?.mapKeysMax;
    // From 0.20 the variable is BPFTRACE_MAX_MAP_KEYS (bpftrace CHANGELOG 0.20, "Standardize config
    // and env var names"); both are set.
    const childEnv = keysMax !== undefined ? { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(keysMax), BPFTRACE_MAX_MAP_KEYS: String(keysMax) } : process.env;
    // A chroot named by KGENT_DIFFTEST_ROOT runs through unshare; otherwise `bin` (the host's, or a root's wrapper).
    const run = bpftraceTarget().root !== undefined ? bpftraceCommand(file, dir, libcPath() ?? env.libc) : { cmd: bin, args: [file] };
    const p = spawn(run.cmd, run.args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
    let stdout = '';
    let stderr = '';
    let ready = false;
    let stopping = false;
    const ended = new Set<number>();
    // Every case has printed its end line: the output is complete. bpftrace 0.17's orderly exit
    // takes seconds here (it fails to detach each uprobe through the absent tracefs, then prints
    // every map); SIGKILL is safe because the perf-event uprobes and BPF objects go with its fds.
    // The kernel still takes ~0.1 s per uprobe to tear them down, so the result is returned at
    // once and the exit is awaited later (see `exits`).
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      stats.ms += performance.now() - t0;
      resolve({ ok, stdout, stderr, lineCase });
    };
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      p.kill('SIGKILL');
      settle(ready);
    };
    const overall = setTimeout(stop, timeoutMs);
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      const before = stdout.length;
      stdout += d;
      const fresh = stdout.slice(Math.max(0, stdout.lastIndexOf('\n', before - 1) + 1));
      for (const l of fresh.split('\n')) {
        const e = END.exec(l.trim());
        if (e) ended.add(Number(e[1]));
      }
      if (!ready && /^READY$/m.test(stdout)) {
        ready = true;
        // The triggers: each string case's getenv(NAME), then one getppid() for the others.
        for (const c of cases) if (c.trigger.kind === 'getenv') void process.env[c.trigger.name];
        void process.ppid;
      }
      if (ready && [...want].every((id) => ended.has(id))) stop();
    });
    p.stderr.on('data', (d: string) => {
      stderr += d;
    });
    exits.push(new Promise((done) => p.on('close', () => done())));
    p.on('close', () => settle(ready));
  });
}

function errorLines(stderr: string): { line?: number; message: string }[] {
  const out: { line?: number; message: string }[] = [];
  for (const l of stderr.split('\n')) {
    const m = /:(\d+):[\d-]+: ERROR: (.*)$/.exec(l);
    if (m) out.push({ line: Number(m[1]), message: m[2] as string });
    else if (/^ERROR: /.test(l) && !/RLIMIT_MEMLOCK|failed to detach/.test(l)) out.push({ message: l.slice(7) });
  }
  return out;
}

/**
 * Which cases may share a bpftrace process: the same key limit (an environment variable of the
 * process), refusals apart (each rejected program runs again without the blamed cases), overlap
 * forms alone. BEGIN and END are one BPF program each, and the kernel lets one program use at
 * most 64 maps (MAX_USED_MAPS): a batch keeps the maps they name well below that.
 */
function batchesOf(cases: readonly Case[], size: number): Case[][] {
  const out: Case[][] = [];
  const open = new Map<string, { cases: Case[]; begin: Set<string>; end: Set<string>; tracepoints: Map<string, number> }>();
  const MAX_MAPS = 48;
  // The kernel runs at most 64 BPF programs on one tracepoint (BPF_TRACE_MAX_PROGS; more fail with
  // "Error attaching probe" here); two bpftrace processes run at once, and a killed one keeps its
  // programs attached while the kernel tears its probes down.
  const MAX_PER_TRACEPOINT = 16;
  for (const c of cases) {
    const e = c.events;
    const key = e ? `events:${e.mapKeysMax ?? ''}:${e.group}` : 'plain';
    const begin = new Set([...(e ? mapsNamed(e.begin) : []), ...(c.inputs.join(' ').match(/@\w+/g) ?? [])]);
    const end = e ? mapsNamed(e.end) : new Set<string>();
    const tps = new Map<string, number>();
    for (const p of e?.probes ?? []) if (p.on === 'enter' || p.on === 'exit') tps.set(p.on, (tps.get(p.on) ?? 0) + 1);
    let b = open.get(key);
    const tooMany = (x: NonNullable<typeof b>): boolean => [...tps].some(([tp, n]) => (x.tracepoints.get(tp) ?? 0) + n > MAX_PER_TRACEPOINT);
    if (b && (b.cases.length >= size || e?.group === 'alone' || new Set([...b.begin, ...begin]).size > MAX_MAPS || new Set([...b.end, ...end]).size > MAX_MAPS || tooMany(b))) {
      out.push(b.cases);
      b = undefined;
    }
    if (!b) open.set(key, (b = { cases: [], begin: new Set(), end: new Set(), tracepoints: new Map() }));
    b.cases.push(c);
    for (const [tp, n] of tps) b.tracepoints.set(tp, (b.tracepoints.get(tp) ?? 0) + n);
    for (const m of begin) b.begin.add(m);
    for (const m of end) b.end.add(m);
  }
  for (const b of open.values()) if (b.cases.length > 0) out.push(b.cases);
  return out;
}

/** Runs `cases` in batches of up to `batchSize` bpftrace programs. */
export async function runInBpftrace(
  cases: readonly Case[],
  env: RunEnv,
  opts: { bpftrace?: string; batchSize?: number; concurrency?: number; timeoutMs?: number; log?: (s: string) => void } = {},
): Promise<{ outcomes: Map<number, BpfOutcome>; stats: BpfStats }> {
  const stats: BpfStats = { processes: 0, ms: 0 };
  const outcomes = new Map<number, BpfOutcome>();
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-difftest-'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const exits: Promise<void>[] = [];
  const run = async (batch: readonly Case[]): Promise<void> => {
    if (batch.length === 0) return;
    // A case run alone (overlap forms) may never print its end line: bpftrace runs another
    // probe's code in its place.
    const alone = batch.length === 1 && batch[0]?.events?.group === 'alone';
    const a = await runOnce(opts.bpftrace ?? DEFAULT_BPFTRACE, batch, env, stats, dir, alone ? Math.min(timeoutMs, 10_000) : timeoutMs, exits);
    if (!a.ok) {
      const errs = errorLines(a.stderr);
      const blamed = new Map<number, string>();
      for (const e of errs) {
        const id = e.line !== undefined ? a.lineCase[e.line - 1] : undefined;
        if (id !== undefined && id >= 0 && !blamed.has(id)) blamed.set(id, e.message);
      }
      if (blamed.size > 0) {
        for (const [id, msg] of blamed) outcomes.set(id, { status: 'rejected', error: msg });
        await run(batch.filter((c) => !blamed.has(c.id)));
        return;
      }
      const msg = errs[0]?.message ?? (a.stderr.trim().split('\n').pop() || 'bpftrace failed without a message');
      if (batch.length === 1) {
        outcomes.set((batch[0] as Case).id, { status: 'rejected', error: msg });
        return;
      }
      opts.log?.(`batch of ${batch.length} rejected without a location (${msg}); bisecting`);
      const half = Math.ceil(batch.length / 2);
      await run(batch.slice(0, half));
      await run(batch.slice(half));
      return;
    }
    const prints = new Map<number, Map<number, string[]>>();
    const ended = new Set<number>();
    for (const raw of a.stdout.split('\n')) {
      const l = raw.trimEnd();
      const e = END.exec(l);
      if (e) {
        ended.add(Number(e[1]));
        continue;
      }
      const m = LINE.exec(l);
      if (!m) continue;
      const id = Number(m[1]);
      const k = Number(m[2]);
      let per = prints.get(id);
      if (!per) prints.set(id, (per = new Map()));
      // The first line wins; a probe that fired twice is reported by the end-line count.
      if (!per.has(k)) per.set(k, (m[3] as string).split('|'));
    }
    for (const c of batch) {
      if (!ended.has(c.id)) {
        outcomes.set(c.id, { status: 'no-output', detail: `the probe did not complete (stderr: ${a.stderr.trim().split('\n').slice(-1)[0] ?? ''})` });
        continue;
      }
      outcomes.set(c.id, { status: 'ran', prints: prints.get(c.id) ?? new Map() });
    }
  };
  const batches = batchesOf(cases, opts.batchSize ?? 40);
  let done = 0;
  // bpftrace's start-up is CPU-bound (LLVM): one worker per core.
  const worker = async (): Promise<void> => {
    for (let b = batches.shift(); b; b = batches.shift()) {
      await run(b);
      done += b.length;
      opts.log?.(`bpftrace: ${done}/${cases.length} cases, ${stats.processes} processes`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? Math.min(2, availableParallelism())) }, worker));
    await Promise.all(exits);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { outcomes, stats };
}
