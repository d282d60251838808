/**
 * Lint: a nanosecond difference shown under a unit it was not divided into (warning). The unit is
 * read from the printf text next to the conversion (`%d ms`, `lat_us=%d`), or from the name of the
 * `$variable` or `@map` the value is stored or aggregated in (`$delta_ms`, `@usecs = hist(...)`).
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import { AGGREGATIONS, type Expr, type Probe } from '../frontend/ast.js';
import { printExpr } from '../frontend/printer.js';
import type { LintContext, LintPass } from './context.js';
import { callsIn, FlowAnalysis, statementExprs, type ValueFacts } from './flow.js';
import { isNumericConversion, printfArgs } from './printf-format.js';

type Unit = 'ns' | 'us' | 'ms' | 's';

const DIVISOR: Readonly<Record<Unit, bigint>> = { ns: 1n, us: 1000n, ms: 1000000n, s: 1000000000n };

const WORDS: ReadonlyArray<[RegExp, Unit]> = [
  [/^(?:ns|nsecs?|nanosecs?|nanoseconds?)$/i, 'ns'],
  [/^(?:us|usecs?|µs|microsecs?|microseconds?)$/i, 'us'],
  [/^(?:ms|msecs?|millisecs?|milliseconds?)$/i, 'ms'],
  [/^(?:s|secs?|seconds?)$/i, 's'],
];

const UNIT_WORD = String.raw`(ns|nsecs?|nanoseconds?|us|usecs?|µs|microseconds?|ms|msecs?|milliseconds?|s|secs?|seconds?)`;
const AFTER = new RegExp(String.raw`^\s*` + UNIT_WORD + String.raw`(?![A-Za-z0-9_])`, 'i');
const BEFORE = new RegExp(String.raw`(?:^|[^A-Za-z])` + UNIT_WORD + String.raw`\)?\s*[:=]\s*$`, 'i');

function unitOfWord(w: string): Unit | undefined {
  for (const [re, u] of WORDS) if (re.test(w)) return u;
  return undefined;
}

/** The unit a printf conversion is labelled with, from the text around it. */
export function formatUnit(before: string, after: string): Unit | undefined {
  const a = AFTER.exec(after);
  if (a?.[1]) return unitOfWord(a[1]);
  const b = BEFORE.exec(before);
  if (b?.[1]) return unitOfWord(b[1]);
  return undefined;
}

/** The unit in a `$var` / `@map` name (`$delta_ms`, `@usecs`, `@lat_us`); a lone `s` does not count. */
export function nameUnit(name: string): Unit | undefined {
  const parts = name.replace(/^[$@]/, '').split('_');
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] ?? '';
    if (p.length < 2) continue;
    const u = unitOfWord(p);
    if (u) return u;
  }
  return undefined;
}

function varKey(probe: Probe, name: string): string {
  return `${probe.span.line}:${probe.span.column}:${name}`;
}

function describeDivisor(d: bigint): string {
  for (const [u, v] of Object.entries(DIVISOR)) if (v === d) return u;
  return `ns / ${d}`;
}

export function timeUnitsLint(ctx: LintContext): LintPass {
  return {
    name: 'time-units',
    run(program) {
      const out: Diagnostic[] = [];
      // A `$var` already reported where it was assigned is not reported again where it is printed.
      const reportedVars = new Set<string>();
      const check = (arg: Expr, facts: ValueFacts, unit: Unit | undefined, where: string, probe: Probe): boolean => {
        if (!unit || !facts.delta) return false;
        const want = DIVISOR[unit];
        if (facts.delta.divisor === want) return false;
        if (arg.kind === 'Variable' && reportedVars.has(varKey(probe, arg.name))) return false;
        const text = printExpr(arg);
        const have = describeDivisor(facts.delta.divisor);
        out.push({
          code: 'lint.time-unit',
          severity: 'warning',
          stage: 'lint',
          message: `${text} is a time difference in ${have}, but ${where} says ${unit}`,
          span: arg.span,
          hints: [
            want === 1n
              ? `print the nanosecond difference itself, without dividing it`
              : `divide the nanosecond difference by ${want} for ${unit}: (nsecs - start) / ${want}`,
          ],
        });
        return true;
      };
      new FlowAnalysis(program, ctx).run((stmt, probe, facts) => {
        if (stmt.kind === 'AssignStmt' && stmt.op === '=') {
          const target = stmt.target;
          const unit = nameUnit(target.name);
          if (stmt.value.kind === 'Call' && AGGREGATIONS.includes(stmt.value.callee) && target.kind === 'Map') {
            const arg = stmt.value.args[0];
            if (arg) check(arg, facts(arg), unit, `the map name ${target.name}`, probe);
          } else if (stmt.value.kind !== 'Call') {
            if (check(stmt.value, facts(stmt.value), unit, `the name ${target.name}`, probe) && target.kind === 'Variable') {
              reportedVars.add(varKey(probe, target.name));
            }
          }
        }
        for (const top of statementExprs(stmt)) {
          for (const call of callsIn(top)) {
            for (const { conversion: c, arg, format: fmt } of printfArgs(call)) {
              if (!isNumericConversion(c.conv)) continue;
              check(arg, facts(arg), formatUnit(c.before, c.after), `the format "${fmt.raw}"`, probe);
            }
          }
        }
      });
      return out;
    },
  };
}
