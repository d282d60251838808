/**
 * Lint: a 64-bit value printed with a 32-bit conversion (`%d`, `%u`, `%x`, `%o` without `l`/`ll`).
 * bpftrace passes every integer as 64 bits and formats it with C printf, so `%d` shows only the low
 * 32 bits (checked on bpftrace 0.17 here: with `$x` = 0x1ffffffff, `%d %u %x %ld` print
 * `-1 4294967295 ffffffff 8589934591`; -5000000000 prints as -705032704 with `%d`). A byte count
 * past 4 GiB, a time in ns past 4.29 s or a 64-bit id then prints wrong, silently (warning).
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Expr, Probe } from '../frontend/ast.js';
import { printExpr } from '../frontend/printer.js';
import type { LintContext, LintPass } from './context.js';
import { callsIn, FlowAnalysis, probeTracepoints, statementExprs, type ValueFacts } from './flow.js';
import { printfArgs } from './printf-format.js';

/** C and bpftrace integer types of 64 bits (pointers are 64-bit too). */
const WIDE = /^(?:(?:const |volatile )*)(?:(?:unsigned |signed )?long(?: long)?(?: int)?|(?:__)?[su]64|u?int64(?:_t)?|size_t|ssize_t|loff_t|off_t|time64_t|ktime_t|sector_t|dev_t|ino_t|pid_t_64|uintptr_t)$/;

/** A length modifier that makes the conversion 64-bit (`%ld`, `%llu`, `%jd`, `%zu`, `%td`). */
function isWideConversion(text: string): boolean {
  return /(?:ll|l|j|z|t)[diouxX]$/.test(text);
}

/** Why `arg` is a 64-bit value, or undefined when it is not known to be. */
function wideBecause(arg: Expr, facts: ValueFacts, probe: Probe, ctx: LintContext): string | undefined {
  if (arg.kind === 'Builtin' && (arg.name === 'nsecs' || arg.name === 'elapsed')) return `${arg.name} is a 64-bit time in ns`;
  if (arg.kind === 'Builtin' && arg.name === 'cgroup') return 'cgroup is a 64-bit id';
  if (arg.kind === 'Field' && arg.object.kind === 'Builtin' && arg.object.name === 'args') {
    for (const [cat, ev] of probeTracepoints(probe)) {
      const ft = ctx.fields?.fieldType(cat, ev, arg.field);
      // By the declared type: syscall formats give `int dfd` 8 bytes, but its value is an int.
      const type = ft?.type.trim();
      if (ft && type && ft.size === 8 && (WIDE.test(type) || /\*$/.test(type))) return `${printExpr(arg)} is 64-bit (${type})`;
    }
  }
  const ctype = facts.ctype?.trim();
  if (ctype && (WIDE.test(ctype) || /\*$/.test(ctype))) return `${printExpr(arg)} is 64-bit (${ctype})`;
  if (facts.timestamp) return `${printExpr(arg)} is a 64-bit time in ns`;
  if (facts.delta && facts.delta.divisor === 1n) return `${printExpr(arg)} is a 64-bit time difference in ns`;
  return undefined;
}

export function printfWidthLint(ctx: LintContext): LintPass {
  return {
    name: 'printf-width',
    run(program) {
      const out: Diagnostic[] = [];
      new FlowAnalysis(program, ctx).run((stmt, probe, facts) => {
        for (const top of statementExprs(stmt)) {
          for (const call of callsIn(top)) {
            for (const { conversion: c, arg } of printfArgs(call)) {
              if (!'diouxX'.includes(c.conv) || c.conv === '' || isWideConversion(c.text)) continue;
              const why = wideBecause(arg, facts(arg), probe, ctx);
              if (why === undefined) continue;
              const wide = c.text.replace(/(hh|h)?([diouxX])$/, 'l$2');
              out.push({
                code: 'lint.printf-32-bit-conversion',
                severity: 'warning',
                stage: 'lint',
                message: `${why}; ${c.text} shows only its low 32 bits: use ${wide}`,
                span: arg.span,
                hints: [`print it with ${wide} (bpftrace passes integers as 64 bits; %d/%u/%x format the low 32)`],
              });
            }
          }
        }
      });
      return out;
    },
  };
}
