/**
 * What the daemon must know about a program before loading it: that it parses, its attach points,
 * whether this kernel offers their probe types, whether policy allows its builtins, and where its
 * BEGIN body starts (for the kernel check's ready marker). Pure: kernel facts come in through
 * {@link AttachableProbes}.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { ProbeType } from '../../kernel-contracts/probe-types.js';
import { parse, type AttachPoint, type Program } from '../verifier/frontend/index.js';
import { preprocessorRefusals, probeAvailabilityLint, runLints, unsafeBuiltinsLint, type LintPolicy } from '../verifier/lints/index.js';

export interface AttachableProbes {
  isAvailable(type: ProbeType): boolean;
  /** Why a type is (un)available, e.g. `CONFIG_KPROBES is not set in /proc/config.gz`. */
  reason(type: ProbeType): string;
  /** Whether `category:event` exists on this kernel; undefined when it cannot be told. */
  hasTracepoint?(category: string, event: string): boolean | undefined;
}

export interface ProgramAnalysis {
  readonly program?: Program;
  readonly probes: string[];
  readonly diagnostics: Diagnostic[];
  /** Offset just after `{` of the BEGIN probe's body. */
  readonly beginBodyOffset?: number;
}

export function analyzeProgram(
  source: string,
  fileName: string,
  probes: AttachableProbes,
  policy: LintPolicy,
): ProgramAnalysis {
  const parsed = parse(source, fileName);
  // On the text, before and whatever the parse: clang reads what the preprocessor names, not what bpftrace parses.
  const preprocessor = policy.hostFilesHidden ? preprocessorRefusals(source, policy.subject ? ` for ${policy.subject}` : '') : [];
  if (!parsed.program) return { probes: [], diagnostics: [...preprocessor, ...parsed.diagnostics] };
  const program = parsed.program;
  const diagnostics: Diagnostic[] = [...preprocessor, ...parsed.diagnostics];
  const attachPoints = program.probes.flatMap((p) => p.attachPoints);
  // Probe types this kernel lacks and what the caller's policy refuses: the same lints the verifier runs.
  diagnostics.push(...runLints(program, { probes, policy }, [probeAvailabilityLint, unsafeBuiltinsLint]));
  for (const ap of attachPoints) diagnostics.push(...tracepointExistence(ap, probes));
  const begin = program.probes.find((p) => p.attachPoints.some((a) => a.provider === 'BEGIN'));
  const beginBodyOffset = begin ? offsetAfter(source, begin.body.span.line, begin.body.span.column) : undefined;
  return {
    program,
    probes: attachPoints.map((a) => a.raw),
    diagnostics,
    ...(beginBodyOffset !== undefined ? { beginBodyOffset } : {}),
  };
}

function tracepointExistence(ap: AttachPoint, probes: AttachableProbes): Diagnostic[] {
  if (ap.provider === 'tracepoint' && !ap.wildcard && ap.target.length === 2 && probes.hasTracepoint) {
    const [category, event] = ap.target as [string, string];
    if (probes.hasTracepoint(category, event) === false) {
      return [
        {
          code: 'probe.not-found',
          severity: 'error',
          stage: 'probe',
          message: `tracepoint ${category}:${event} does not exist on this kernel`,
          span: ap.span,
          hints: [`list what exists: bpftrace -l 'tracepoint:${category}:*'`],
        },
      ];
    }
  }
  return [];
}

/** Offset of the character after (line, column) — the block's `{` — in `source`. */
function offsetAfter(source: string, line: number, column: number): number | undefined {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = source.indexOf('\n', offset);
    if (nl === -1) return undefined;
    offset = nl + 1;
  }
  const at = offset + column - 1;
  return source[at] === '{' ? at + 1 : undefined;
}
