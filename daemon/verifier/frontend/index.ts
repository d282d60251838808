/**
 * The bpftrace front-end: parse, print, compare, strip annotations, walk. Pure (no I/O).
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Program } from './ast.js';
import { parseSource } from './parser.js';
import { syntaxRefusals, type SyntaxDialect } from './syntax-gate.js';

export type * from './ast.js';
export { AGGREGATIONS, OBSERVABLES } from './ast.js';
export { printProgram, printProbe, printExpr, printStatement, printType, printPredicate, printAttachPoints } from './printer.js';
export { astEqual, astDiff, stripAnnotations, hasAnnotations, walk, collect, childrenOf, findExprs, isExpr, type Visitor } from './walk.js';
export { isBuiltinName, BUILTIN_VARIABLES, KNOWN_TYPE_NAMES } from './tokens.js';

/** The result of {@link parse}: a program when there is no error, and the diagnostics (stage `parse`). */
export interface ParseResult {
  readonly program?: Program;
  readonly diagnostics: Diagnostic[];
}

/**
 * Parses bpftrace source (0.17 through current, or one version's syntax with `options.dialect`; plus kgent's `assume(e);` / `assert(e);`).
 * Stops at the first syntax error, which comes back as one diagnostic with an exact span and
 * bpftrace's wording (`syntax error, unexpected X, expecting Y`); `program` is then undefined.
 * `fileName` is accepted for symmetry with {@link formatDiagnostic} callers; spans do not carry it.
 */
export function parse(source: string, fileName?: string, options: ParseOptions = {}): ParseResult {
  void fileName;
  const parsed = parseSource(source);
  if (!parsed.program || !options.dialect) return parsed;
  const refused = syntaxRefusals(parsed.program, options.dialect);
  return refused.length > 0 ? { diagnostics: refused } : parsed;
}

export interface ParseOptions {
  /**
   * Accept only the syntax this bpftrace version has: a construct it lacks is the syntax error it
   * gives (`program` is then undefined). Without it, the newest syntax is read.
   */
  readonly dialect?: SyntaxDialect;
}
export { syntaxRefusals, type SyntaxDialect } from './syntax-gate.js';
