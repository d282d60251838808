/** Lint: a `char *` printed with `%s` without `str()` prints a pointer, not the string (warning). */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import { printExpr } from '../frontend/printer.js';
import type { LintContext, LintPass } from './context.js';
import { callsIn, FlowAnalysis, statementExprs } from './flow.js';
import { printfArgs } from './printf-format.js';

/** `char *`, `const char *`, `unsigned char *`, `u8 *` ... (one level of pointer). */
export function isCharPointer(ctype: string): boolean {
  const t = ctype.replace(/\bconst\b|\bvolatile\b/g, ' ').replace(/\s+/g, ' ').trim();
  return /^(?:(?:unsigned|signed) )?char ?\*$/.test(t) || /^(?:__u8|u8|uint8|int8|__s8|s8) ?\*$/.test(t);
}

export function charPointerStrLint(ctx: LintContext): LintPass {
  return {
    name: 'char-pointer-str',
    run(program) {
      const out: Diagnostic[] = [];
      new FlowAnalysis(program, ctx).run((stmt, _probe, facts) => {
        for (const top of statementExprs(stmt)) {
          for (const call of callsIn(top)) {
            for (const { conversion: c, arg } of printfArgs(call)) {
              if (c.conv !== 's') continue;
              const text = printExpr(arg);
              if (arg.kind === 'Builtin' && /^(s?arg[0-9]+|retval)$/.test(arg.name)) {
                out.push({
                  code: 'lint.char-pointer-without-str',
                  severity: 'warning',
                  stage: 'lint',
                  message: `${text} is an integer register value printed with ${c.text}: if it points to a string, read the string with str()`,
                  span: arg.span,
                  hints: [`printf(..., str(${text}))`],
                });
                continue;
              }
              const ctype = facts(arg).ctype;
              if (!ctype || !isCharPointer(ctype)) continue;
              out.push({
                code: 'lint.char-pointer-without-str',
                severity: 'warning',
                stage: 'lint',
                message: `${text} is a ${ctype.trim()} printed with ${c.text}: without str() this prints the pointer, not the string`,
                span: arg.span,
                hints: [`read the string with str(): printf(..., str(${text}))`],
              });
            }
          }
        }
      });
      return out;
    },
  };
}
