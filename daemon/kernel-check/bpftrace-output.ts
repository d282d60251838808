/**
 * Turns what bpftrace prints on a failed load into diagnostics: its own `FILE:L:C-C: ERROR: msg`
 * lines (semantic errors, missing tracepoints), clang's `FILE:L:C: error: msg` lines about the C
 * part (definitions and headers; for a caller who may not read host files these arrive already
 * reduced to a location and a reason, compiler-output.ts), and the kernel eBPF verifier's log (`-v`).
 */
import type { Diagnostic } from '../protocol/diagnostic.js';

const BPFTRACE_DIAG = /^(.+?):(\d+):(\d+)-(\d+): (ERROR|WARNING): (.*)$/;
/** clang's errors on the C part (`definitions.h`, included headers), printed before bpftrace's summary. */
const CLANG_ERROR = /^([^:\n]+):(\d+):(\d+): (?:fatal )?error: (.*)$/;
/** clang can print an error per line of a header; the first few say enough. */
const MAX_CLANG_ERRORS = 5;
const INSN_LINE = /^\d+: /;
const PROCESSED = /^processed \d+ insns/;
/** Lines bpftrace prints that say nothing about the program. */
const NOISE = [/couldn't set RLIMIT_MEMLOCK/, /^INFO: /, /^Attaching \d+ probes?\.\.\./];

export function isNoise(line: string): boolean {
  return NOISE.some((re) => re.test(line));
}

/**
 * @param fileName how the user knows the program (diagnostics name it, not our temp file)
 * @param lineCount lines of the user's program: diagnostics past it point into kgent's check probe
 */
export function diagnosticsFromBpftrace(stderr: string, fileName: string, lineCount: number): Diagnostic[] {
  const lines = stderr.split('\n');
  const out: Diagnostic[] = [];
  const verifierLog = extractVerifierLog(lines);
  let clangErrors = 0;
  for (const line of lines) {
    const clang = CLANG_ERROR.exec(line);
    if (clang) {
      if (clangErrors++ < MAX_CLANG_ERRORS) out.push({ code: 'clang.error', severity: 'error', stage: 'kernel', message: line });
      continue;
    }
    const m = BPFTRACE_DIAG.exec(line);
    if (m) {
      const lineNo = Number(m[2]);
      const inUserProgram = lineNo <= lineCount;
      out.push({
        code: 'bpftrace.error',
        severity: m[5] === 'ERROR' ? 'error' : 'warning',
        stage: 'kernel',
        message: m[6]!,
        ...(inUserProgram
          ? { span: { line: lineNo, column: Number(m[3]), endLine: lineNo, endColumn: Number(m[4]) } }
          : {}),
        ...(inUserProgram ? {} : { detail: `reported in ${fileName}'s check probe: ${line}` }),
      });
      continue;
    }
    if (!line.startsWith('ERROR: ') || isNoise(line)) continue;
    const msg = line.slice('ERROR: '.length);
    const loadFailure = /Error loading program|Failed to load program|verif/i.test(msg);
    if (loadFailure) {
      const probe = /Error loading program: (\S+)/.exec(msg)?.[1];
      const reason = verifierLog ? summariseVerifierLog(verifierLog) : undefined;
      out.push({
        code: 'kernel.verifier-rejected',
        severity: 'error',
        stage: 'kernel',
        message: `the kernel's eBPF verifier rejected ${probe ? `the program for ${probe}` : 'the program'}${reason ? `: ${reason}` : ''}`,
        hints: hintsFor(reason ?? msg),
        detail: verifierLog ? tail(verifierLog, 200) : msg,
      });
    } else {
      out.push({ code: 'bpftrace.error', severity: 'error', stage: 'kernel', message: msg });
    }
  }
  return dedupe(out);
}

/** The verifier's own log: from `Error log:`/`The verifier log:` to the `processed N insns` line. */
function extractVerifierLog(lines: string[]): string[] | undefined {
  const start = lines.findIndex((l) => /^(Error log|The verifier log):/.test(l));
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
