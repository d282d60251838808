/**
 * The kernel check: does the running kernel's eBPF verifier accept this program? It loads the
 * program for real through bpftrace and leaves nothing attached afterwards.
 *
 * How, and why it is sound:
 * - bpftrace with `--dry-run` (newer releases) loads without attaching: used when `--help` lists it.
 * - bpftrace 0.17 (Debian 12) has no dry run. It loads and attaches every probe, BEGIN last to fire:
 *   BEGIN is triggered only after all other probes are attached, and is never triggered when any
 *   load fails. So we make the first action of BEGIN print a random marker (appending a BEGIN probe,
 *   or inserting one printf right after the `{` of the program's own BEGIN, which keeps the user's
 *   line numbers). Seeing the marker on stdout proves every program passed the verifier and is
 *   attached; we then SIGKILL bpftrace at once. SIGKILL closes its file descriptors, and the kernel
 *   detaches and frees every program, perf event and link with them (bpftrace 0.17 creates k/uprobes
 *   through the perf PMU, not tracefs, on kernels >= 4.17, so no probe definitions are left behind).
 *   No userspace action of the program (printf, system(), END, map printing) runs: SIGKILL comes
 *   before bpftrace's event loop handles them. The check child also carries `--pdeathsig` so a daemon
 *   crash mid-check cannot leave it attached.
 * - A failed load makes bpftrace exit non-zero; `-v` puts the verifier's log on stderr.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { CheckResult } from '../protocol/methods.js';
import { runArgs, type BpftraceCli } from '../runner/bpftrace-cli.js';
import { diagnosticsFromBpftrace, isNoise } from './bpftrace-output.js';

export interface KernelCheckInput {
  readonly source: string;
  readonly fileName: string;
  /** Offset in `source` just after the `{` that opens the BEGIN probe's body, when there is one. */
  readonly beginBodyOffset?: number;
  readonly unsafe: boolean;
}

export interface KernelCheckOptions {
  readonly timeoutMs: number;
  readonly deathSignalWrapper?: readonly string[];
}

/** Source with a marker printed first thing in BEGIN; line numbers of the user's code are unchanged. */
export function withReadyMarker(source: string, marker: string, beginBodyOffset?: number): string {
  const printMarker = `printf("${marker}\\n");`;
  if (beginBodyOffset === undefined) {
    return `${source}${source.endsWith('\n') ? '' : '\n'}BEGIN { ${printMarker} }\n`;
  }
  return `${source.slice(0, beginBodyOffset)} ${printMarker} ${source.slice(beginBodyOffset)}`;
}

export async function kernelCheck(
  cli: BpftraceCli,
  input: KernelCheckInput,
  opts: KernelCheckOptions,
): Promise<CheckResult> {
  const started = performance.now();
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-check-'));
  try {
    const file = path.join(dir, 'program.bt');
    const marker = `__kgent_ready_${randomBytes(8).toString('hex')}`;
    const useDryRun = cli.hasDryRun;
    await writeFile(file, useDryRun ? input.source : withReadyMarker(input.source, marker, input.beginBodyOffset), {
      mode: 0o600,
    });
    const args = runArgs(cli, file, { unsafe: input.unsafe, verbose: true, dryRun: useDryRun });
    const wrapper = opts.deathSignalWrapper ?? [];
    const [cmd, ...rest] = [...wrapper, cli.path, ...args];
    const proc = execa(cmd!, rest, {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cleanup: true,
      // Large enough that a rejected program's log is not cut before the verifier's reason.
      env: { BPFTRACE_LOG_SIZE: String(16 * 1024 * 1024 - 1) },
    });
    const stderr: string[] = [];
    let ready = false;
    let timedOut = false;
    createInterface({ input: proc.stderr! }).on('line', (l) => {
      if (stderr.length < 400_000) stderr.push(l);
    });
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      if (!ready && l.includes(marker)) {
        ready = true;
        proc.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, opts.timeoutMs);
    const result = await proc;
    clearTimeout(timer);
    const method = useDryRun
      ? `bpftrace ${cli.version.text} --dry-run`
      : `bpftrace ${cli.version.text}: load and attach, SIGKILL when BEGIN fires`;
    const durationMs = performance.now() - started;
    const ok = useDryRun ? result.exitCode === 0 : ready;
    if (ok) {
      const warnings = diagnosticsFromBpftrace(stderr.join('\n'), input.fileName, lineCount(input.source)).filter(
        (d) => d.severity !== 'error',
      );
      return { ok: true, diagnostics: warnings, durationMs, method };
    }
    const diagnostics: Diagnostic[] = timedOut
      ? [
          {
            code: 'kernel.check-timeout',
            severity: 'error',
            stage: 'kernel',
            message: `bpftrace did not finish loading within ${opts.timeoutMs} ms`,
            hints: ['a very large program or a busy machine; try again, or simplify the program'],
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
    await rm(dir, { recursive: true, force: true });
  }
}

function lineCount(source: string): number {
  return source.split('\n').length;
}
