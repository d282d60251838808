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
 * - bpftrace with `--dry-run` (0.23 and 0.27 checked) loads every program into the kernel and exits
 *   without running BEGIN: used when `--help` lists it; exit 0 is a load. 0.23's dry run also
 *   attaches (a kprobe or uprobe that cannot be attached fails it, exit 255); 0.27 finds a missing
 *   kprobe/uprobe/tracepoint at compile time (exit 1). Either way bpftrace has exited, so nothing
 *   stays attached.
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
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckResult } from '../protocol/methods.js';
import type { BpftraceCli } from '../runner/bpftrace-cli.js';
import { loadedCopy } from './check-copy.js';
import { withholdIncludedFileText } from './compiler-output.js';
import { loadWithBpftrace } from './bpftrace-load.js';
import { loadDiagnostics } from './load-outcome.js';
import { outputFormatFor } from '../runner/bpftrace-formats.js';
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
  try {
    if (opts.signal?.aborted) throw cancelledCheck();
    await mkdir(limits.workDir, { recursive: true, mode: 0o700 });
    dir = await mkdtemp(path.join(limits.workDir, CHECK_DIR_PREFIX));
    const file = path.join(dir, 'program.bt');
    const useDryRun = cli.hasDryRun;
    await writeFile(file, copy.text, { mode: 0o600 });
    const memory = memoryLimitWrapper(limits.memoryBytes);
    const load = await loadWithBpftrace(cli, {
      file,
      unsafe: input.unsafe,
      dryRun: useDryRun,
      marker,
      timeoutMs: opts.timeoutMs,
      wrapper: [...(opts.deathSignalWrapper ?? []), ...memory],
      ...(opts.signal ? { signal: opts.signal } : {}),
      onCancel: release,
    });
    if (load.cancelled) throw cancelledCheck();
    // What this release prints, read once for both the withholding and the classification.
    const format = cli.output ?? outputFormatFor(cli.version);
    let stderr = load.stderr.split('\n');
    if (input.hostFilesHidden) {
      const shown = withholdIncludedFileText(stderr, file, format.libraryFile);
      stderr = shown.lines;
      if (shown.withheld.length > 0) opts.onWithheld?.(shown.withheld);
    }
    const method = `${useDryRun ? `bpftrace ${cli.version.text} --dry-run` : `bpftrace ${cli.version.text}: load and attach, SIGKILL when BEGIN fires`}; ${copy.renamed > 0 ? `${copy.renamed} system()/cat() call(s) loaded as printf(); ` : ''}no user-space action runs`;
    const durationMs = performance.now() - queued;
    const ok = useDryRun ? load.exitCode === 0 : load.ready;
    const diagnostics = loadDiagnostics(
      { ok, stderr, exitCode: load.exitCode, signal: load.signal, timedOut: load.timedOut, elapsedMs: load.elapsedMs },
      {
        fileName: input.fileName,
        sourceLines: lineCount(input.source),
        timeoutMs: opts.timeoutMs,
        memoryBytes: memory.length > 0 ? limits.memoryBytes : undefined,
        format,
        programFile: file,
      },
    );
    return { ok, diagnostics, durationMs, method };
  } finally {
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
