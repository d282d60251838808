/**
 * The kernel check: does the running kernel's eBPF verifier accept this program? It loads a copy of
 * the program for real through bpftrace, runs nothing of it in user space, and leaves nothing
 * attached afterwards.
 *
 * How, and why it is sound:
 * - The copy loaded is {@link loadedCopy}: every user-space action with an effect outside the
 *   check's own stdout (`system`, `cat`) is renamed `printf`, which compiles to the same BPF, and
 *   `#include` may not name a device or a file outside the include path (check-copy.ts says why
 *   killing bpftrace in time cannot be relied on for this).
 * - bpftrace with `--dry-run` (newer releases) loads without attaching: used when `--help` lists it.
 * - bpftrace 0.17 (Debian 12) has no dry run. It loads and attaches every probe, BEGIN last to fire:
 *   BEGIN is triggered only after all other probes are attached, and is never triggered when any
 *   load fails. So the copy prints a random marker first thing in BEGIN. Seeing the marker on stdout
 *   proves every program passed the verifier and is attached; we then SIGKILL bpftrace at once.
 *   SIGKILL closes its file descriptors, and the kernel detaches and frees every program, perf event
 *   and link with them. The check child also carries `--pdeathsig` so a daemon crash mid-check
 *   cannot leave it attached.
 * - Bounds (check-limits.ts): at most N checks at once, a fair share per uid (the rest queue,
 *   round-robin by uid), RLIMIT_AS per bpftrace, a wall-time limit, bounded reads of its stdout
 *   and stderr; the copy lives in the daemon's work dir, which the next start cleans when a
 *   SIGKILL left it behind.
 * - A check whose caller is gone (`signal`: the connection closed) leaves the queue, or, when it
 *   runs, its bpftrace and whatever it started are SIGKILLed as a process group (bpftrace runs in
 *   a session of its own) and the slot is freed at once, without waiting for the exit.
 * - A failed load makes bpftrace exit non-zero; `-v` puts the verifier's log on stderr.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { CheckResult } from '../protocol/methods.js';
import { runArgs, type BpftraceCli } from '../runner/bpftrace-cli.js';
import { diagnosticsFromBpftrace, isNoise } from './bpftrace-output.js';
import { loadedCopy } from './check-copy.js';
import { withholdIncludedFileText } from './compiler-output.js';
import { KgentError } from '../errors.js';
import {
  CHECK_DIR_PREFIX,
  DAEMON_REQUESTER,
  kernelCheckLimits,
  kernelCheckSlots,
  memoryLimitWrapper,
  type CheckRequester,
} from './check-limits.js';

export { withReadyMarker } from './check-copy.js';

export interface KernelCheckInput {
  readonly source: string;
  readonly fileName: string;
  /** Offset in `source` just after the `{` that opens the BEGIN probe's body, when there is one. */
  readonly beginBodyOffset?: number;
  readonly unsafe: boolean;
  /**
   * The caller may not read host files: the preprocessor policy is applied again before loading,
   * and clang's text about an included file is withheld from the result (compiler-output.ts).
   */
  readonly hostFilesHidden?: boolean;
}

export interface KernelCheckOptions {
  /** Wall time bpftrace may take to load, from its start. */
  readonly timeoutMs: number;
  readonly deathSignalWrapper?: readonly string[];
  /** Receives what was withheld from the caller (for the log). */
  readonly onWithheld?: (lines: readonly string[]) => void;
  /** Whose check this is (their fair share of the slots); kgentd's own when absent. */
  readonly requester?: CheckRequester;
  /** Fires when the caller is gone: the check leaves the queue or is killed. */
  readonly signal?: AbortSignal;
}

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

/** bpftrace's verifier log can be long; what is kept of stderr (the reason is near its end). */
const MAX_STDERR_BYTES = 32 * 1024 * 1024;

// bpftrace 0.17 out of address space: usually "ERROR: Failed to compi" cut short (formatting the
// message itself fails), sometimes a C++ allocation error or an abort.
const OUT_OF_MEMORY = /out of memory|bad_alloc|Cannot allocate memory|length_error|ERROR: Failed to compi$/i;

export async function kernelCheck(
  cli: BpftraceCli,
  input: KernelCheckInput,
  opts: KernelCheckOptions,
): Promise<CheckResult> {
  const queued = performance.now();
  const marker = `__kgent_ready_${randomBytes(8).toString('hex')}`;
  const copy = loadedCopy(input.source, marker, input.beginBodyOffset, { hostFilesHidden: input.hostFilesHidden ?? false });
  if (!copy.ok) {
    return { ok: false, diagnostics: copy.diagnostics, durationMs: performance.now() - queued, method: 'refused before loading (nothing was loaded)' };
  }
  const release = await kernelCheckSlots().acquire(opts.requester ?? DAEMON_REQUESTER, opts.signal);
  const limits = kernelCheckLimits();
  let dir: string | undefined;
  let untrack = (): unknown => undefined;
  let onAbort = (): void => undefined;
  try {
    if (opts.signal?.aborted) throw cancelledCheck();
    await mkdir(limits.workDir, { recursive: true, mode: 0o700 });
    dir = await mkdtemp(path.join(limits.workDir, CHECK_DIR_PREFIX));
    const file = path.join(dir, 'program.bt');
    const useDryRun = cli.hasDryRun;
    await writeFile(file, copy.text, { mode: 0o600 });
    const args = runArgs(cli, file, { unsafe: input.unsafe, verbose: true, dryRun: useDryRun });
    const memory = memoryLimitWrapper(limits.memoryBytes);
    const [cmd, ...rest] = [...(opts.deathSignalWrapper ?? []), ...memory, cli.path, ...args];
    const proc = execa(cmd!, rest, {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // A session (and process group) of its own, so a cancelled check is killed with all it started.
      detached: true,
      // Large enough that a rejected program's log is not cut before the verifier's reason.
      env: { BPFTRACE_LOG_SIZE: String(16 * 1024 * 1024 - 1) },
    });
    untrack = trackGroup(proc.pid);
    let cancelled = false;
    onAbort = (): void => {
      cancelled = true;
      killGroup(proc.pid);
      release();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
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
      window = (window + c.toString('latin1')).slice(-(marker.length + c.length));
      if (window.includes(marker)) {
        ready = true;
        killGroup(proc.pid);
      } else {
        window = window.slice(-marker.length);
      }
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(proc.pid);
    }, opts.timeoutMs);
    const started = performance.now();
    const result = await proc;
    clearTimeout(timer);
    if (cancelled) throw cancelledCheck();
    const printed = Buffer.concat(stderrChunks).toString('utf8').split('\n');
    let stderr = printed;
    if (input.hostFilesHidden) {
      const shown = withholdIncludedFileText(printed, file);
      stderr = shown.lines;
      if (shown.withheld.length > 0) opts.onWithheld?.(shown.withheld);
    }
    const method = `${useDryRun ? `bpftrace ${cli.version.text} --dry-run` : `bpftrace ${cli.version.text}: load and attach, SIGKILL when BEGIN fires`}; ${copy.renamed > 0 ? `${copy.renamed} system()/cat() call(s) loaded as printf(); ` : ''}no user-space action runs`;
    const durationMs = performance.now() - queued;
    const ok = useDryRun ? result.exitCode === 0 : ready;
    if (ok) {
      const warnings = diagnosticsFromBpftrace(stderr.join('\n'), input.fileName, lineCount(input.source)).filter(
        (d) => d.severity !== 'error',
      );
      return { ok: true, diagnostics: warnings, durationMs, method };
    }
    const outOfMemory =
      memory.length > 0 &&
      !timedOut &&
      (result.signal === 'SIGABRT' || result.signal === 'SIGSEGV' || stderr.some((l) => OUT_OF_MEMORY.test(l)));
    const diagnostics: Diagnostic[] = timedOut
      ? [
          {
            code: 'kernel.check-timeout',
            severity: 'error',
            stage: 'kernel',
            message: `kernel check stopped after ${opts.timeoutMs} ms (kernelCheckTimeoutMs): bpftrace did not finish loading the program`,
            hints: ['a very large program (nested unroll?) or a busy machine; simplify the program, or raise kernelCheckTimeoutMs'],
          },
        ]
      : outOfMemory
        ? [
            {
              code: 'kernel.check-memory',
              severity: 'error',
              stage: 'kernel',
              message: `bpftrace ran out of the ${Math.round(limits.memoryBytes / 1048576)} MiB a kernel check may use (after ${Math.round(performance.now() - started)} ms)`,
              hints: ['a very large program (nested unroll, huge includes); simplify it, or raise kernelCheckMemoryBytes'],
            },
          ]
        : diagnosticsFromBpftrace(stderr.join('\n'), input.fileName, lineCount(input.source));
    if (diagnostics.length === 0) {
      const tailLines = stderr.filter((l) => l.trim() !== '' && !isNoise(l)).slice(-5);
      diagnostics.push({
        code: 'kernel.load-failed',
        severity: 'error',
        stage: 'kernel',
        message: `bpftrace could not load the program (exit ${result.exitCode ?? result.signal}): ${tailLines.join(' | ') || 'no error output'}`,
      });
    }
    return { ok: false, diagnostics, durationMs, method };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    untrack();
    release();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

function cancelledCheck(): KgentError {
  return new KgentError('unavailable', 'kernel check cancelled: the client disconnected', { cancelled: true });
}

function lineCount(source: string): number {
  return source.split('\n').length;
}
