/**
 * Lint: network-order fields (`__be16`/`__be32`/`__be64`) printed as numbers, aggregated, or used
 * as map keys without `bswap()`/`ntop()` (warning). The type comes from the tracepoint
 * format, a cast, or a well-known kernel socket field.
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import { AGGREGATIONS, type Expr, type Probe } from '../frontend/ast.js';
import { printExpr } from '../frontend/printer.js';
import type { LintContext, LintPass } from './context.js';
import { callsIn, FlowAnalysis, statementExprs, type ValueFacts } from './flow.js';
import { isNumericConversion, printfArgs } from './printf-format.js';

function advice(be: string, text: string): string[] {
  if (be === '__be16') return [`convert to host order: bswap(${text}) (or (uint16)bswap(${text}) for a port)`];
  return [`for an IPv4 address print ntop(${text}) with %s; for a number use bswap(${text})`];
}

export function networkOrderLint(ctx: LintContext): LintPass {
  return {
    name: 'network-order',
    run(program) {
      const out: Diagnostic[] = [];
      const seen = new Set<string>();
      const report = (arg: Expr, facts: ValueFacts, how: string): void => {
        const be = facts.networkOrder;
        if (!be) return;
        const key = `${arg.span.line}:${arg.span.column}`;
        if (seen.has(key)) return;
        seen.add(key);
        const text = printExpr(arg);
        out.push({
          code: 'lint.network-order',
          severity: 'warning',
          stage: 'lint',
          message: `${text} is ${be} (network byte order) and is ${how} without conversion: on this little-endian machine the value is byte-swapped`,
          span: arg.span,
          hints: advice(be, text),
        });
      };
      new FlowAnalysis(program, ctx).run((stmt, _probe: Probe, facts) => {
        if (stmt.kind === 'AssignStmt' && stmt.target.kind === 'Map') {
          // Map keys are printed as numbers when the map is shown. Values are not checked here: a
          // value stored raw and swapped where it is read is fine, and map facts carry the byte
          // order to wherever it is printed.
          for (const k of stmt.target.keys) report(k, facts(k), `used as a key of ${stmt.target.name}`);
        }
        if (stmt.kind === 'ExprStmt' && stmt.expr.kind === 'Update' && stmt.expr.operand.kind === 'Map') {
          const m = stmt.expr.operand;
          for (const k of m.keys) report(k, facts(k), `used as a key of ${m.name}`);
        }
        for (const top of statementExprs(stmt)) {
          for (const call of callsIn(top)) {
            if (call.callee === 'printf') {
              for (const { conversion: c, arg } of printfArgs(call)) {
                if (isNumericConversion(c.conv)) report(arg, facts(arg), `printed with ${c.text}`);
              }
            } else if (AGGREGATIONS.includes(call.callee) && call.callee !== 'count') {
              const arg = call.args[0];
              if (arg) report(arg, facts(arg), `aggregated by ${call.callee}()`);
            } else if (call.callee === 'print' && call.args.length === 1) {
              const arg = call.args[0];
              if (arg && arg.kind !== 'Map') report(arg, facts(arg), 'printed');
            }
          }
        }
      });
      return out;
    },
  };
}
