/**
 * Turns what bpftrace prints on a failed load into diagnostics: its own `FILE:L:C-C: ERROR: msg`
 * lines (semantic errors, missing tracepoints), clang's `FILE:L:C: error: msg` lines about the C
 * part (definitions and headers; for a caller who may not read host files these arrive already
 * reduced to a location and a reason, compiler-output.ts), and the kernel eBPF verifier's log (`-v`).
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import { isNoiseLine, locatedLine, locatedSpan, outputFormatFor, type BpftraceOutputFormat } from '../runner/bpftrace-formats.js';

/** clang's errors on the C part (`definitions.h`, included headers), printed before bpftrace's summary. */
const CLANG_ERROR = /^([^:\n]+):(\d+):(\d+): (?:fatal )?error: (.*)$/;
/** clang can print an error per line of a header; the first few say enough. */
const MAX_CLANG_ERRORS = 5;
const INSN_LINE = /^\d+: /;
const PROCESSED = /^processed \d+ insns/;
/** 0.17 and 0.23 follow a missing tracepoint's error with the format file they could not open. */
const TRACEPOINT_FORMAT_MISSING = /^No such file or directory: \S*\/events\/\S+\/format$/;

export interface BpftraceOutputContext {
  /** What this bpftrace prints (from its version); 0.17's when absent. */
  readonly format?: BpftraceOutputFormat;
  /**
   * The path bpftrace loaded the program from: only diagnostics located in it are the caller's
   * lines. Absent: every location outside bpftrace's own library is taken as the program's.
   */
  readonly programFile?: string;
}

/**
 * @param fileName how the user knows the program (diagnostics name it, not our temp file)
 * @param lineCount lines of the user's program: diagnostics past it point into kgent's check probe
 */
export function diagnosticsFromBpftrace(stderr: string, fileName: string, lineCount: number, ctx: BpftraceOutputContext = {}): Diagnostic[] {
  const format = ctx.format ?? outputFormatFor(undefined);
  const lines = stderr.split('\n');
  const out: Diagnostic[] = [];
  const verifierLog = extractVerifierLog(lines, format);
  let clangErrors = 0;
  let refused = false;
  let probeMissing = false;
  /** The last diagnostic came from bpftrace's own library: its `expanded from` note is not the program's. */
  let inLibrary: { severity: 'error' | 'warning'; message: string; where: string; reported: boolean } | undefined;
  /** A library error without an `expanded from` at the program is still an error: reported without a line. */
  const settleLibrary = (): void => {
    if (inLibrary?.severity === 'error' && !inLibrary.reported) {
      out.push({ code: 'bpftrace.error', severity: 'error', stage: 'kernel', message: `${inLibrary.message} (in bpftrace's standard library, ${inLibrary.where})` });
    }
    inLibrary = undefined;
  };
  for (const line of lines) {
    if (isNoiseLine(line, format)) continue;
    const clang = CLANG_ERROR.exec(line);
    if (clang) {
      if (clangErrors++ < MAX_CLANG_ERRORS) out.push({ code: 'clang.error', severity: 'error', stage: 'kernel', message: line });
      continue;
    }
    const loc = locatedLine(line);
    if (loc) {
      if (format.libraryFile?.test(loc.file)) {
        // 0.27 locates problems of its built-in functions in its standard library: not the program's lines.
        settleLibrary();
        inLibrary = { severity: loc.severity, message: loc.message, where: `${loc.file}:${loc.line}`, reported: false };
        continue;
      }
      const ofProgram = ctx.programFile === undefined || loc.file === ctx.programFile;
      const located = locatedSpan(loc, format);
      const inUserProgram = ofProgram && located.line <= lineCount;
      const span = inUserProgram ? { ...located, endLine: Math.min(located.endLine, lineCount) } : undefined;
      if (inLibrary && loc.message === 'expanded from') {
        // A library warning is bpftrace's business, never the program's; a library error is
        // reported where the program called the built-in.
        if (inLibrary.severity === 'error') {
          inLibrary.reported = true;
          out.push({
            code: 'bpftrace.error',
            severity: 'error',
            stage: 'kernel',
            message: `${inLibrary.message} (in bpftrace's standard library, ${inLibrary.where}, called here)`,
            ...(span ? { span } : {}),
          });
        }
        continue;
      }
      settleLibrary();
      const notFound = loc.severity === 'error' && format.probeNotFound.test(loc.message);
      if (notFound) probeMissing = true;
      out.push({
        code: notFound ? 'kernel.probe-not-found' : 'bpftrace.error',
        severity: loc.severity,
        stage: 'kernel',
        message: loc.message,
        ...(span ? { span } : {}),
        ...(span ? {} : { detail: ofProgram ? `reported in ${fileName}'s check probe: ${line}` : `reported in ${loc.file}, not in ${fileName}: ${line}` }),
      });
      continue;
    }
    if (line.startsWith('HINT: ')) {
      // 0.27 follows a warning with a hint; a library warning's hint goes with it.
      const last = out.at(-1);
      if (!inLibrary && last) out[out.length - 1] = { ...last, hints: [...(last.hints ?? []), line.slice('HINT: '.length)] };
      continue;
    }
    if (!line.startsWith('ERROR: ')) continue;
    settleLibrary();
    const msg = line.slice('ERROR: '.length);
    if (refused && format.loadRefusedFollowOn.some((re) => re.test(msg))) continue;
    if (probeMissing && TRACEPOINT_FORMAT_MISSING.test(msg)) continue;
    if (format.loadRefused.test(msg)) {
      refused = true;
      // The probe's name: the pattern's first group that matched (a format read with two releases' patterns has one per release).
      const probe = format.loadRefused.exec(msg)?.slice(1).find((g) => g !== undefined);
      const reason = verifierLog ? summariseVerifierLog(verifierLog) : undefined;
      out.push({
        code: 'kernel.verifier-rejected',
        severity: 'error',
        stage: 'kernel',
        message: `the kernel's eBPF verifier rejected ${probe ? `the program for ${probe}` : 'the program'}${reason ? `: ${reason}` : ''}`,
        hints: hintsFor(reason ?? msg),
        detail: verifierLog ? tail(verifierLog, 200) : msg,
      });
    } else if (format.attachFailed.test(msg)) {
      out.push({ code: 'kernel.attach-failed', severity: 'error', stage: 'kernel', message: msg, hints: ['the program loaded, but the kernel refused to attach a probe: check that the probe exists and can be traced on this kernel'] });
    } else {
      out.push({ code: 'bpftrace.error', severity: 'error', stage: 'kernel', message: msg });
    }
  }
  settleLibrary();
  return dedupe(out);
}

/** The verifier's own log: from its opening line (`Error log:` in 0.17, `Kernel error log:` from 0.23) to the `processed N insns` line. */
function extractVerifierLog(lines: string[], format: BpftraceOutputFormat): string[] | undefined {
  const start = lines.findIndex((l) => format.verifierLogStart.test(l));
  if (start === -1) return undefined;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (PROCESSED.test(lines[i]!)) {
      end = i + 1;
      break;
    }
  }
  return lines.slice(start + 1, end).filter((l) => l.trim() !== '');
}

/** The verifier states its reason on the last line that is not an instruction trace. */
export function summariseVerifierLog(log: readonly string[]): string | undefined {
  for (let i = log.length - 1; i >= 0; i--) {
    const l = log[i]!.trim();
    if (l === '' || PROCESSED.test(l) || INSN_LINE.test(l) || /^;/.test(l) || /^from \d+ to \d+/.test(l)) continue;
    return l;
  }
  return undefined;
}

function hintsFor(reason: string): string[] {
  if (/too large|1000000|complexity/i.test(reason)) {
    return ['bound the loop or use unroll with a small count: the verifier explores every iteration (limit 1,000,000 instructions)'];
  }
  if (/invalid mem access|invalid read|unbounded memory access|out of bounds/i.test(reason)) {
    return ['read kernel memory through fields of typed pointers, and check indexes against constant bounds'];
  }
  if (/stack/i.test(reason)) return ['the BPF stack is 512 bytes: use fewer or smaller locals, or maps'];
  return [];
}

function tail(lines: readonly string[], n: number): string {
  return (lines.length > n ? [`... ${lines.length - n} earlier lines`, ...lines.slice(-n)] : lines).join('\n');
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.code}|${d.message}|${d.span?.line ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
