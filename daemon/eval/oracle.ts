/**
 * The execution oracle of the evaluation: is a program *correct*, judged by running it?
 * Attach the program with bpftrace, wait until every probe is attached, run the case's trigger
 * (a shell command that causes the events), collect the output, detach, and check that nothing
 * is left attached. The verdict is whether the output matches the case's `expect` expression.
 *
 * How it knows the program is attached: like the kernel check on bpftrace 0.17 (no dry run), a
 * random marker is printed first thing in BEGIN, which bpftrace fires only after every other probe
 * is attached. Detaching is SIGINT (so END runs and maps are printed, as when a user presses
 * Ctrl-C), then SIGKILL if bpftrace lingers. "Nothing left attached" is checked for real: the BPF
 * program ids bpftrace held (read from /proc/PID/fdinfo while it ran) must be gone from the kernel
 * afterwards (bpftool), and the process must have exited.
 */
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { withReadyMarker } from '../kernel-check/kernel-check.js';
import { analyzeProgram, type AttachableProbes } from '../programs/program-analysis.js';
import type { OracleVerdict } from '../protocol/eval-api.js';
import type { BpftraceCli } from '../runner/bpftrace-cli.js';

export interface OracleInput {
  readonly program: string;
  /** Shell command (run with `sh -c`) that causes the events; `$TMPDIR` is a fresh directory. */
  readonly trigger: string;
  /** Regular expression (JavaScript syntax) the output of a correct program matches. */
  readonly expect: string;
  /** How long to keep collecting after the trigger ended when the output does not match yet (default 600 ms). */
  readonly waitMs?: number;
}

export interface OracleOptions {
  readonly cli: BpftraceCli;
  /** Probe support of this kernel: a program using probes it lacks is `skipped`, with the reason. */
  readonly probes: AttachableProbes;
  /** `setpriv --pdeathsig SIGTERM --`: a daemon that dies mid-run cannot leave bpftrace attached. */
  readonly deathSignalWrapper?: readonly string[];
  /** Time allowed for bpftrace to load and attach (default 30 s). */
  readonly attachTimeoutMs?: number;
  /** Time allowed for the trigger (default 20 s). */
  readonly triggerTimeoutMs?: number;
  /** bpftool, to check that the program ids are gone (default `bpftool`; absent: the process check only). */
  readonly bpftool?: string;
}

/** Output kept per run (the expression is matched on all of it; the report keeps the tail). */
const MAX_OUTPUT_CHARS = 256 * 1024;

/** Runs one program against its trigger and says whether its output matches (see the module comment). */
export async function runOracle(input: OracleInput, opts: OracleOptions): Promise<OracleVerdict> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let expect: RegExp;
  try {
    expect = new RegExp(input.expect, 'm');
  } catch (err) {
    return { verdict: 'error', reason: `expect is not a regular expression: ${(err as Error).message}`, output: '', ms: elapsed(), leftAttached: [] };
  }
  const analysis = analyzeProgram(input.program, 'program.bt', opts.probes, { allowUnsafe: false });
  const missing = analysis.diagnostics.find((d) => d.severity === 'error' && (d.code.startsWith('probe.') || d.code.includes('probe-unavailable')));
  if (missing) return { verdict: 'skipped', reason: missing.message, output: '', ms: elapsed(), leftAttached: [] };

  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-oracle-'));
  let proc: ResultPromise | undefined;
  try {
    const file = path.join(dir, 'program.bt');
    const marker = `__kgent_oracle_${randomBytes(8).toString('hex')}`;
    await writeFile(file, withReadyMarker(input.program, marker, analysis.beginBodyOffset), { mode: 0o600 });
    const [cmd, ...args] = [...(opts.deathSignalWrapper ?? []), opts.cli.path, file];
    proc = execa(cmd!, args, { stdin: 'ignore', buffer: false, reject: false, cleanup: true, cwd: dir });
    const child = proc;
    let out = '';
    const errLines: string[] = [];
    let ready = false;
    let onReady: (() => void) | undefined;
    let onOutput: (() => void) | undefined;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (!ready && l.includes(marker)) {
        ready = true;
        onReady?.();
        return;
      }
      if (out.length < MAX_OUTPUT_CHARS) out += `${l}\n`;
      onOutput?.();
    });
    createInterface({ input: child.stderr! }).on('line', (l) => {
      if (errLines.length < 200) errLines.push(l);
    });
    const exited = child.then((r) => r);
    let exitedEarly = false;
    void exited.then(() => {
      exitedEarly = !ready;
      onReady?.();
      onOutput?.();
    });

    // 1. Attached: the marker printed by BEGIN, or bpftrace ended (a load error) or timed out.
    await new Promise<void>((resolve) => {
      if (ready) return resolve();
      const timer = setTimeout(resolve, opts.attachTimeoutMs ?? 30_000);
      onReady = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    onReady = undefined;
    if (!ready) {
      const left = await detach(child, exited, []);
      const why = exitedEarly ? `bpftrace exited before attaching: ${stderrTail(errLines)}` : `bpftrace did not attach within ${opts.attachTimeoutMs ?? 30_000} ms`;
      return { verdict: 'error', reason: why, output: tail(out), ms: elapsed(), leftAttached: left };
    }
    const progIds = await bpfProgIds(child.pid);

    // 2. The trigger, in a fresh directory.
    const work = path.join(dir, 'work');
    await execa('mkdir', [work]);
    const trig = await execa('sh', ['-c', input.trigger], {
      cwd: work,
      env: { TMPDIR: work },
      reject: false,
      timeout: opts.triggerTimeoutMs ?? 20_000,
      stdin: 'ignore',
      all: true,
    });
    const triggerNote = trig.timedOut ? ' (the trigger timed out)' : trig.exitCode !== 0 ? ` (the trigger exited ${trig.exitCode}: ${String(trig.all ?? '').trim().split('\n').slice(-2).join(' | ')})` : '';

    // 3. Give events in flight (and interval probes) time to reach the output.
    if (!expect.test(out)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, input.waitMs ?? 600);
        onOutput = () => {
          if (expect.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      onOutput = undefined;
    }

    // 4. Detach (END runs, maps are printed) and check nothing is left.
    const killed = { value: false };
    const left = await detach(child, exited, progIds, opts.bpftool, killed);
    const matched = expect.test(out);
    const exitNote = killed.value ? ' (bpftrace did not stop within 5 s of SIGINT and was killed: END and map output lost)' : '';
    return {
      verdict: matched ? 'pass' : 'fail',
      reason: matched ? 'the output matches' : `the output does not match /${input.expect}/${triggerNote}${exitNote}`,
      output: tail(out),
      ms: elapsed(),
      leftAttached: left,
    };
  } finally {
    if (proc && proc.exitCode === undefined && proc.pid !== undefined) proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** SIGINT, then SIGKILL after 5 s; then the ids of programs still loaded (and the process, if alive). */
async function detach(child: ResultPromise, exited: Promise<unknown>, progIds: readonly number[], bpftool = 'bpftool', killed?: { value: boolean }): Promise<string[]> {
  child.kill('SIGINT');
  const killTimer = setTimeout(() => {
    if (killed) killed.value = true;
    child.kill('SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(killTimer);
  const left: string[] = [];
  if (child.pid !== undefined && (await alive(child.pid))) left.push(`bpftrace pid ${child.pid} still running`);
  if (progIds.length === 0) return left;
  // The kernel frees a program once its last reference (fd, link, perf event) is gone; that can
  // lag the process exit by a little (RCU), so poll briefly before calling it left attached.
  const deadline = Date.now() + 3000;
  let still: number[] = [...progIds];
  while (still.length > 0) {
    const loaded = await loadedProgIds(bpftool);
    if (!loaded) return left;
    still = still.filter((id) => loaded.has(id));
    if (still.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [...left, ...still.map((id) => `BPF program id ${id} still loaded`)];
}

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** The BPF program ids a process holds, from `prog_id:` lines of /proc/PID/fdinfo. */
async function bpfProgIds(pid: number | undefined): Promise<number[]> {
  if (pid === undefined) return [];
  const ids = new Set<number>();
  let fds: string[] = [];
  try {
    fds = await readdir(`/proc/${pid}/fdinfo`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    const text = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
    const m = /^prog_id:\s*(\d+)/m.exec(text);
    if (m) ids.add(Number(m[1]));
  }
  return [...ids];
}

/** Ids of every loaded BPF program (`bpftool -j prog show`), or undefined when bpftool is not usable. */
async function loadedProgIds(bpftool: string): Promise<Set<number> | undefined> {
  const r = await execa(bpftool, ['-j', 'prog', 'show'], { reject: false, timeout: 10_000 }).catch(() => undefined);
  if (!r || r.exitCode !== 0) return undefined;
  try {
    return new Set((JSON.parse(String(r.stdout)) as { id: number }[]).map((p) => p.id));
  } catch {
    return undefined;
  }
}

function tail(s: string, n = 4000): string {
  return s.length <= n ? s : `...${s.slice(-n)}`;
}

function stderrTail(lines: readonly string[]): string {
  const useful = lines.filter((l) => l.trim() && !/RLIMIT_MEMLOCK/.test(l));
  return useful.slice(-4).join(' | ') || 'no error output';
}
