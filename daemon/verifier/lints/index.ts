/**
 * Lints that need no LLM: pure AST passes producing `lint` diagnostics with spans and hints.
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Program } from '../frontend/ast.js';
import { charPointerStrLint } from './char-pointer-str.js';
import type { LintContext, LintFactory } from './context.js';
import { entryExitDeleteLint } from './entry-exit-delete.js';
import { networkOrderLint } from './network-order.js';
import { probeAvailabilityLint } from './probe-availability.js';
import { printfWidthLint } from './printf-width.js';
import { timeUnitsLint } from './time-units.js';
import { unsafeBuiltinsLint } from './unsafe-builtins.js';

export type { FieldTypeInfo, KernelMemberTypes, LintContext, LintFactory, LintPass, LintPolicy, LintProbeSupport, TracepointFieldTypes } from './context.js';
export { ALL_PROBES_AVAILABLE } from './context.js';
export { charPointerStrLint, isCharPointer } from './char-pointer-str.js';
export { entryExitDeleteLint } from './entry-exit-delete.js';
export { networkOrderLint } from './network-order.js';
export { probeAvailabilityLint } from './probe-availability.js';
export { printfWidthLint } from './printf-width.js';
export { formatUnit, nameUnit, timeUnitsLint } from './time-units.js';
export { UNSAFE_BUILTINS, unsafeBuiltinsLint } from './unsafe-builtins.js';
export { isVettedHeader, preprocessorRefusals } from './preprocessor-policy.js';
export { parseFormat, type Conversion } from './printf-format.js';
export { FlowAnalysis, type ValueFacts } from './flow.js';

/** Every lint, in the order their diagnostics are reported for the same position. */
export const ALL_LINTS: readonly LintFactory[] = [
  probeAvailabilityLint,
  unsafeBuiltinsLint,
  charPointerStrLint,
  entryExitDeleteLint,
  networkOrderLint,
  timeUnitsLint,
  printfWidthLint,
];

/**
 * Runs every lint (or the given ones) and returns their diagnostics sorted by position (those
 * without a span last). Never
 * throws: a lint that fails is reported as a `lint.internal-error` warning.
 */
export function runLints(program: Program, ctx: LintContext, lints: readonly LintFactory[] = ALL_LINTS): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const make of lints) {
    const pass = make(ctx);
    try {
      out.push(...pass.run(program));
    } catch (err) {
      // A bug in one lint must not hide the program's other diagnostics or stop verification.
      out.push({
        code: 'lint.internal-error',
        severity: 'warning',
        stage: 'lint',
        message: `the ${pass.name} lint failed on this program and was skipped: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  return out
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      // By position; diagnostics without a span after all others; ties keep lint order.
      const sa = a.d.span;
      const sb = b.d.span;
      if (!sa || !sb) return (sa ? 0 : 1) - (sb ? 0 : 1) || a.i - b.i;
      return sa.line - sb.line || sa.column - sb.column || a.i - b.i;
    })
    .map((x) => x.d);
}
