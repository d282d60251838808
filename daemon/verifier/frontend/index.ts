/**
 * The bpftrace front-end: parse, print, compare, strip annotations, walk. Pure (no I/O).
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Program } from './ast.js';
import { parseSource } from './parser.js';

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
 * Parses bpftrace source (0.17 through current, plus kgent's `assume(e);` / `assert(e);`).
 * Stops at the first syntax error, which comes back as one diagnostic with an exact span and
 * bpftrace's wording (`syntax error, unexpected X, expecting Y`); `program` is then undefined.
 * `fileName` is accepted for symmetry with {@link formatDiagnostic} callers; spans do not carry it.
 */
export function parse(source: string, fileName?: string): ParseResult {
  void fileName;
  return parseSource(source);
}
