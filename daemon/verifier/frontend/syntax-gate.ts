/**
 * The constructs the front-end reads (it reads the newest bpftrace) that a dialect's parser does
 * not have: each is the syntax error that version prints, so nothing is verified about a program
 * that version would not load. Messages quote bpftrace's own, as run here on 0.17 (`for`, `let`,
 * `config`) and 0.23.2 (`0..3`); for versions without a binary here, the grammar at their tag.
 */
import type { Diagnostic, Span } from '../../protocol/diagnostic.js';
import type { Program } from './ast.js';
import { collect } from './walk.js';

/**
 * What the gate needs to know of a dialect (`dialect/profiles.ts` has the profiles; the front-end
 * does not depend on them).
 */
export interface SyntaxDialect {
  readonly version: string;
  readonly configBlock: boolean;
  readonly forMap: boolean;
  readonly forRange: boolean;
  readonly letDeclarations: boolean;
}

type Dialect = SyntaxDialect;

function refusal(d: Dialect, span: Span, bpftraceSays: string, what: string, hint: string): Diagnostic {
  return {
    code: `parse.not-in-bpftrace-${d.version}`,
    severity: 'error',
    stage: 'parse',
    message: `bpftrace ${d.version} does not accept ${what} ("${bpftraceSays}"): the program would not load`,
    span,
    hints: [hint],
  };
}

/** One-column span at the start of `span` (the keyword bpftrace points at). */
function head(span: Span, width: number): Span {
  return { line: span.line, column: span.column, endLine: span.line, endColumn: span.column + width - 1 };
}

/** The syntax errors `d`'s bpftrace gives for `program`, in source order. */
export function syntaxRefusals(program: Program, d: Dialect): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (program.config && !d.configBlock) {
    out.push(refusal(d, head(program.config.span, 6), 'syntax error, unexpected =, expecting {', '`config = { ... }` blocks (bpftrace 0.20 and later)', 'set such options with environment variables (BPFTRACE_MAX_MAP_KEYS ...) instead'));
  }
  for (const decl of collect(program, 'VarDeclStmt')) {
    if (d.letDeclarations) continue;
    out.push(refusal(d, decl.span, 'syntax error, unexpected variable, expecting }', '`let` declarations (bpftrace 0.22 and later)', `assign the variable instead: its first assignment fixes its type, e.g. \`${decl.variable.name} = (uint8)5;\``));
  }
  for (const f of collect(program, 'ForStmt')) {
    const range = f.iterable.kind === 'Range';
    if (!d.forMap) {
      out.push(refusal(d, head(f.span, 3), 'syntax error, unexpected for, expecting }', `\`for\` loops (over maps from bpftrace 0.21, over ranges from 0.24)`, 'use unroll(N) { ... } or while (...) { ... } for a bounded loop'));
    } else if (range && !d.forRange) {
      out.push(refusal(d, f.iterable.span, 'syntax error, unexpected .', '`for` over a range `a..b` (bpftrace 0.24 and later)', 'use unroll(N) { ... } or a while loop with a counter'));
    }
  }
  out.sort((a, b) => (a.span?.line ?? 0) - (b.span?.line ?? 0) || (a.span?.column ?? 0) - (b.span?.column ?? 0));
  // bpftrace stops at its first syntax error.
  return out.slice(0, 1);
}
