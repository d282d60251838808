/**
 * What the daemon must know about a program before loading it: that it parses, its attach points,
 * whether this kernel offers their probe types, whether policy allows its builtins, and where its
 * BEGIN body starts (for the kernel check's ready marker). Pure: kernel facts come in through
 * {@link ProbeAvailability}.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { ProbeType } from '../protocol/probe-types.js';
import { collect, parse, type AttachPoint, type Program } from '../verifier/frontend/index.js';

export interface ProbeAvailability {
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

/** bpftrace builtins that act outside the kernel program (need `--unsafe`). */
export const UNSAFE_BUILTINS = ['system', 'signal', 'override'] as const;

const ALTERNATIVES: Partial<Record<ProbeType, string>> = {
  kprobe: 'use a tracepoint for the same event (list them: bpftrace -l "tracepoint:*"), or kfunc where BTF allows',
  kretprobe: 'use the matching sys_exit_* or *_return tracepoint, or kretfunc where available',
  kfunc: 'use a tracepoint (bpftrace -l "tracepoint:*"), or kprobe where available',
  kretfunc: 'use an exit tracepoint, or kretprobe where available',
};

export function analyzeProgram(
  source: string,
  fileName: string,
  probes: ProbeAvailability,
  policy: { allowUnsafe: boolean },
): ProgramAnalysis {
  const parsed = parse(source, fileName);
  if (!parsed.program) return { probes: [], diagnostics: parsed.diagnostics };
  const program = parsed.program;
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const attachPoints = program.probes.flatMap((p) => p.attachPoints);
  for (const ap of attachPoints) diagnostics.push(...probeDiagnostics(ap, probes));
  if (!policy.allowUnsafe) {
    for (const call of collect(program, 'Call')) {
      if ((UNSAFE_BUILTINS as readonly string[]).includes(call.callee)) {
        diagnostics.push({
          code: 'policy.unsafe-builtin',
          severity: 'error',
          stage: 'policy',
          message: `${call.callee}() acts outside the kernel program and is not allowed by this kgentd's policy`,
          span: call.span,
          hints: ['remove it, or set "allowUnsafe": true in /etc/kgent/config.json if this host permits it'],
        });
      }
    }
  }
  const begin = program.probes.find((p) => p.attachPoints.some((a) => a.provider === 'BEGIN'));
  const beginBodyOffset = begin ? offsetAfter(source, begin.body.span.line, begin.body.span.column) : undefined;
  return {
    program,
    probes: attachPoints.map((a) => a.raw),
    diagnostics,
    ...(beginBodyOffset !== undefined ? { beginBodyOffset } : {}),
  };
}

function probeDiagnostics(ap: AttachPoint, probes: ProbeAvailability): Diagnostic[] {
  if (!probes.isAvailable(ap.provider)) {
    const alt = ALTERNATIVES[ap.provider];
    return [
      {
        code: 'probe.type-unavailable',
        severity: 'error',
        stage: 'probe',
        message: `${ap.provider} probes are not available on this kernel: ${probes.reason(ap.provider)}`,
        span: ap.span,
        ...(alt ? { hints: [alt] } : {}),
      },
    ];
  }
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
