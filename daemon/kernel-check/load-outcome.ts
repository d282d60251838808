/**
 * What bpftrace's load of a kernel-check copy means, as diagnostics: on success its warnings; on
 * failure the wall-time limit, the memory limit, bpftrace's own errors (bpftrace-output.ts), or,
 * when none of those explain it, the tail of what it printed. Pure: the process is
 * bpftrace-load.ts's business, and each recorded output can be classified alone.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import { diagnosticsFromBpftrace } from './bpftrace-output.js';
import { meaningfulStderr, outputFormatFor, type BpftraceOutputFormat } from '../runner/bpftrace-formats.js';

/** What bpftrace did, as far as the classification needs it. */
export interface LoadOutcome {
  /** The program is loaded (the ready marker was seen, or `--dry-run` exited 0). */
  readonly ok: boolean;
  /** stderr's lines, after anything withheld from the caller is taken out. */
  readonly stderr: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  /** From bpftrace's start to its exit. */
  readonly elapsedMs: number;
}

export interface LoadContext {
  /** The name the caller's program goes by in diagnostics. */
  readonly fileName: string;
  /** Lines of the caller's program (locations past it belong to the copy's additions). */
  readonly sourceLines: number;
  readonly timeoutMs: number;
  /** The address-space limit bpftrace ran under; undefined when none was set. */
  readonly memoryBytes: number | undefined;
  /** What this bpftrace prints (runner/bpftrace-formats.ts, from its version); 0.17's when absent. */
  readonly format?: BpftraceOutputFormat;
  /** The path bpftrace loaded: only its locations are the caller's lines (0.27 also locates in its stdlib). */
  readonly programFile?: string;
}

// bpftrace 0.17 out of address space: usually "ERROR: Failed to compi" cut short (formatting the
// message itself fails), sometimes a C++ allocation error or an abort.
const OUT_OF_MEMORY = /out of memory|bad_alloc|Cannot allocate memory|length_error|ERROR: Failed to compi$/i;

/** The warnings of a loaded program, or the errors that say why it did not load (never empty then). */
export function loadDiagnostics(outcome: LoadOutcome, ctx: LoadContext): Diagnostic[] {
  const text = outcome.stderr.join('\n');
  const output = { ...(ctx.format ? { format: ctx.format } : {}), ...(ctx.programFile !== undefined ? { programFile: ctx.programFile } : {}) };
  if (outcome.ok) return diagnosticsFromBpftrace(text, ctx.fileName, ctx.sourceLines, output).filter((d) => d.severity !== 'error');
  if (outcome.timedOut) {
    return [
      {
        code: 'kernel.check-timeout',
        severity: 'error',
        stage: 'kernel',
        message: `kernel check stopped after ${ctx.timeoutMs} ms (kernelCheckTimeoutMs): bpftrace did not finish loading the program`,
        hints: ['a very large program (nested unroll?) or a busy machine; simplify the program, or raise kernelCheckTimeoutMs'],
      },
    ];
  }
  if (ctx.memoryBytes !== undefined && outOfMemory(outcome)) {
    return [
      {
        code: 'kernel.check-memory',
        severity: 'error',
        stage: 'kernel',
        message: `bpftrace ran out of the ${Math.round(ctx.memoryBytes / 1048576)} MiB a kernel check may use (after ${Math.round(outcome.elapsedMs)} ms)`,
        hints: ['a very large program (nested unroll, huge includes); simplify it, or raise kernelCheckMemoryBytes'],
      },
    ];
  }
  const diagnostics = diagnosticsFromBpftrace(text, ctx.fileName, ctx.sourceLines, output);
  if (diagnostics.some((d) => d.severity === 'error')) return diagnostics;
  const tailLines = meaningfulStderr(outcome.stderr, ctx.format ?? outputFormatFor(undefined)).filter((l) => l.trim() !== '').slice(-5);
  return [
    ...diagnostics,
    {
      code: 'kernel.load-failed',
      severity: 'error',
      stage: 'kernel',
      message: `bpftrace could not load the program (exit ${outcome.exitCode ?? outcome.signal}): ${tailLines.join(' | ') || 'no error output'}`,
    },
  ];
}

function outOfMemory(o: LoadOutcome): boolean {
  return o.signal === 'SIGABRT' || o.signal === 'SIGSEGV' || o.stderr.some((l) => OUT_OF_MEMORY.test(l));
}
