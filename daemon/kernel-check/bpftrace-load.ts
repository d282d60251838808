/**
 * Starting bpftrace on a kernel-check copy and waiting for it: its process (in a session of its
 * own, under the memory limit and the death-signal wrapper), the wall-time limit, the bounded
 * reads of its output, the ready marker on stdout (SIGKILL at once: see kernel-check.ts), and
 * cancellation by the caller. What the outcome means is load-outcome.ts's business.
 */
import { execa } from 'execa';
import { runArgs, type BpftraceCli } from '../runner/bpftrace-cli.js';

export interface BpftraceLoadOptions {
  /** The program file (the loaded copy). */
  readonly file: string;
  readonly unsafe: boolean;
  /** Load without attaching (`--dry-run`, newer bpftrace); otherwise the marker says it is loaded. */
  readonly dryRun: boolean;
  /** Printed first thing in BEGIN by the copy: seen on stdout, every program passed the verifier. */
  readonly marker: string;
  /** Wall time bpftrace may take, from its start. */
  readonly timeoutMs: number;
  /** Put before the command (the memory limit, the death signal). */
  readonly wrapper: readonly string[];
  /** The caller is gone: bpftrace and what it started are killed, `onCancel` runs at once. */
  readonly signal?: AbortSignal;
  /** Runs when the signal fires, before bpftrace's exit is seen (frees the caller's slot). */
  readonly onCancel?: () => void;
}

export interface BpftraceLoad {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** stderr, up to {@link MAX_STDERR_BYTES}. */
  readonly stderr: string;
  /** The marker was printed: loaded and attached. */
  readonly ready: boolean;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  /** From bpftrace's start to its exit. */
  readonly elapsedMs: number;
}

/** bpftrace's verifier log can be long; what is kept of stderr (the reason is near its end). */
const MAX_STDERR_BYTES = 32 * 1024 * 1024;

/**
 * Process groups of running checks, SIGKILLed when kgentd exits: a check runs in a session of its
 * own (so it can be killed as a group), which also puts it out of reach of execa's `cleanup`.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function trackGroup(pid: number | undefined): () => void {
  if (!pid) return () => undefined;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of liveGroups) killGroup(g);
    });
  }
  liveGroups.add(pid);
  return () => liveGroups.delete(pid);
}

export async function loadWithBpftrace(cli: BpftraceCli, o: BpftraceLoadOptions): Promise<BpftraceLoad> {
  const args = runArgs(cli, o.file, { unsafe: o.unsafe, verbose: true, dryRun: o.dryRun });
  const [cmd, ...rest] = [...o.wrapper, cli.path, ...args];
  const proc = execa(cmd!, rest, {
    stdin: 'ignore',
    buffer: false,
    reject: false,
    // A session (and process group) of its own, so a cancelled check is killed with all it started.
    detached: true,
    // Large enough that a rejected program's log is not cut before the verifier's reason.
    env: { BPFTRACE_LOG_SIZE: String(16 * 1024 * 1024 - 1) },
  });
  const untrack = trackGroup(proc.pid);
  let cancelled = false;
  const onAbort = (): void => {
    cancelled = true;
    killGroup(proc.pid);
    o.onCancel?.();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const stderrChunks: Buffer[] = [];
    let stderrBytes = 0;
    let ready = false;
    let timedOut = false;
    proc.stderr!.on('data', (c: Buffer) => {
      if (stderrBytes >= MAX_STDERR_BYTES) return;
      stderrChunks.push(c);
      stderrBytes += c.length;
    });
    // Only the marker matters on stdout: a bounded window, never a whole (possibly endless) line.
    let window = '';
    proc.stdout!.on('data', (c: Buffer) => {
      if (ready) return;
      window = (window + c.toString('latin1')).slice(-(o.marker.length + c.length));
      if (window.includes(o.marker)) {
        ready = true;
        killGroup(proc.pid);
      } else {
        window = window.slice(-o.marker.length);
      }
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(proc.pid);
    }, o.timeoutMs);
    const started = performance.now();
    const result = await proc;
    clearTimeout(timer);
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      stderr: Buffer.concat(stderrChunks).toString('utf8'),
      ready,
      timedOut,
      cancelled,
      elapsedMs: performance.now() - started,
    };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    untrack();
  }
}
