/**
 * Prints an AST back to bpftrace source in one canonical layout. Parentheses are not kept in the
 * AST, so the printer puts them back from operator precedence: `parse(print(ast))` is `ast` again
 * (up to spans). Comments are not kept.
 */
import { BINARY_PRECEDENCE, KNOWN_TYPE_NAMES } from './tokens.js';
import type { AttachPoint, Block, ConfigBlock, CoverStmt, Expr, IfStmt, Probe, Program, Stmt, TypeRef } from './ast.js';

const INDENT = '  ';


const PREC_TERNARY = 0;
const PREC_UNARY = 11;
const PREC_POSTFIX = 12;
const PREC_PRIMARY = 13;

function precedence(e: Expr): number {
  switch (e.kind) {
    case 'Ternary':
      return PREC_TERNARY;
    case 'Range':
      return PREC_TERNARY;
    case 'Binary':
      return BINARY_PRECEDENCE[e.op] ?? 1;
    case 'Unary':
    case 'Cast':
      return PREC_UNARY;
    case 'Update':
      return e.prefix ? PREC_UNARY : PREC_POSTFIX;
    case 'Field':
    case 'Index':
      return PREC_POSTFIX;
    default:
      return PREC_PRIMARY;
  }
}

/** Prints a type as written in a cast: `struct sock *`, `uint16`, `int8[4]`. */
export function printType(t: TypeRef): string {
  const stars = t.pointerLevel > 0 ? ' ' + '*'.repeat(t.pointerLevel) : '';
  const arr = t.arraySize !== undefined ? `[${t.arraySize}]` : '';
  return `${t.name}${stars}${arr}`;
}

function wrap(e: Expr, minPrec: number): string {
  const s = printExpr(e);
  return precedence(e) < minPrec ? `(${s})` : s;
}

/** Prints one expression with the fewest parentheses that keep its structure. */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'Integer':
      return e.raw;
    case 'String':
      return `"${e.raw}"`;
    case 'Boolean':
      return e.value ? 'true' : 'false';
    case 'Builtin':
    case 'Identifier':
    case 'Variable':
      return e.name;
    case 'Positional':
      return `$${e.index}`;
    case 'PositionalCount':
      return '$#';
    case 'Map':
      return e.keys.length === 0 ? e.name : `${e.name}[${e.keys.map(printExpr).join(', ')}]`;
    case 'Call':
      return `${e.callee}(${e.args.map(printExpr).join(', ')})`;
    case 'Unary': {
      const operand = wrap(e.operand, PREC_UNARY);
      // Keep `- -x`, `& &x`, `+ +x` from lexing as `--`, `&&`, `++`.
      const sep = (e.op === '-' || e.op === '+' || e.op === '&') && operand.startsWith(e.op) ? ' ' : '';
      return `${e.op}${sep}${operand}`;
    }
    case 'Update':
      return e.prefix ? `${e.op}${wrap(e.operand, PREC_UNARY)}` : `${wrap(e.operand, PREC_POSTFIX)}${e.op}`;
    case 'Binary': {
      const p = BINARY_PRECEDENCE[e.op] ?? 1;
      return `${wrap(e.left, p)} ${e.op} ${wrap(e.right, p + 1)}`;
    }
    case 'Ternary':
      return `${wrap(e.condition, PREC_TERNARY + 1)} ? ${wrap(e.then, PREC_TERNARY)} : ${wrap(e.else, PREC_TERNARY)}`;
    case 'Cast': {
      let operand = wrap(e.operand, PREC_UNARY);
      // `(name)-1` with a typedef name the parser does not know reads as `name - 1`: bracket it.
      const tagged = /^(struct|union|enum) /.test(e.type.name) || KNOWN_TYPE_NAMES.has(e.type.name.split(' ')[0] ?? '');
      if (!tagged && e.type.pointerLevel === 0 && e.type.arraySize === undefined && !/^[A-Za-z0-9_"$@(!~]/.test(operand)) {
        operand = `(${operand})`;
      }
      return `(${printType(e.type)})${operand}`;
    }
    case 'Field':
      return `${wrap(e.object, PREC_POSTFIX)}${e.arrow ? '->' : '.'}${e.field}`;
    case 'Index':
      return `${wrap(e.object, PREC_POSTFIX)}[${printExpr(e.index)}]`;
    case 'Tuple':
      return e.elements.length === 1 ? `(${printExpr(e.elements[0] as Expr)},)` : `(${e.elements.map(printExpr).join(', ')})`;
    case 'Range':
      return `${wrap(e.start, PREC_TERNARY + 1)}..${wrap(e.end, PREC_TERNARY + 1)}`;
    case 'TypeExpr':
      return printType(e.type);
  }
}

function hasDivision(e: Expr): boolean {
  let found = false;
  const visit = (x: Expr): void => {
    if (found) return;
    if (x.kind === 'Binary' && x.op === '/') {
      found = true;
      return;
    }
    // Inside brackets the predicate's `/` is a division again: do not look there.
    switch (x.kind) {
      case 'Binary':
        visit(x.left);
        visit(x.right);
        break;
      case 'Ternary':
        visit(x.condition);
        visit(x.then);
        visit(x.else);
        break;
      case 'Unary':
      case 'Cast':
      case 'Update':
        visit(x.operand);
        break;
      case 'Field':
      case 'Index':
        visit(x.object);
        break;
      default:
        break;
    }
  };
  visit(e);
  return found;
}

/** Prints a predicate's expression; a top-level `/` would end the predicate, so it gets parentheses. */
export function printPredicate(e: Expr): string {
  const s = printExpr(e);
  return hasDivision(e) ? `(${s})` : s;
}

function printBlockBody(b: Block, depth: number, out: string[]): void {
  for (const st of b.statements) printStmt(st, depth, out);
}

function printIf(s: IfStmt, depth: number): string[] {
  const pad = INDENT.repeat(depth);
  const out: string[] = [];
  out.push(`${pad}if (${printExpr(s.condition)}) {`);
  printBlockBody(s.then, depth + 1, out);
  let cur: IfStmt = s;
  for (;;) {
    const otherwise = cur.else;
    if (!otherwise) {
      out.push(`${pad}}`);
      break;
    }
    if (otherwise.kind === 'IfStmt') {
      out.push(`${pad}} else if (${printExpr(otherwise.condition)}) {`);
      printBlockBody(otherwise.then, depth + 1, out);
      cur = otherwise;
      continue;
    }
    out.push(`${pad}} else {`);
    printBlockBody(otherwise, depth + 1, out);
    out.push(`${pad}}`);
    break;
  }
  return out;
}

function printStmt(s: Stmt, depth: number, out: string[]): void {
  const pad = INDENT.repeat(depth);
  switch (s.kind) {
    case 'ExprStmt':
      out.push(`${pad}${printExpr(s.expr)};`);
      return;
    case 'AssignStmt':
      out.push(`${pad}${printExpr(s.target)} ${s.op} ${printExpr(s.value)};`);
      return;
    case 'VarDeclStmt': {
      const type = s.type ? `: ${printType(s.type)}` : '';
      const value = s.value ? ` = ${printExpr(s.value)}` : '';
      out.push(`${pad}let ${s.variable.name}${type}${value};`);
      return;
    }
    case 'IfStmt':
      out.push(...printIf(s, depth));
      return;
    case 'UnrollStmt':
      out.push(`${pad}unroll (${printExpr(s.count)}) {`);
      printBlockBody(s.body, depth + 1, out);
      out.push(`${pad}}`);
      return;
    case 'WhileStmt':
      out.push(`${pad}while (${printExpr(s.condition)}) {`);
      printBlockBody(s.body, depth + 1, out);
      out.push(`${pad}}`);
      return;
    case 'ForStmt':
      out.push(`${pad}for (${s.variable.name} : ${printExpr(s.iterable)}) {`);
      printBlockBody(s.body, depth + 1, out);
      out.push(`${pad}}`);
      return;
    case 'ReturnStmt':
      out.push(s.value ? `${pad}return ${printExpr(s.value)};` : `${pad}return;`);
      return;
    case 'BreakStmt':
      out.push(`${pad}break;`);
      return;
    case 'ContinueStmt':
      out.push(`${pad}continue;`);
      return;
    case 'AssumeStmt':
      out.push(`${pad}assume(${printExpr(s.expr)});`);
      return;
    case 'AssertStmt':
      out.push(`${pad}assert(${printExpr(s.expr)});`);
      return;
    case 'Block':
      out.push(`${pad}{`);
      printBlockBody(s, depth + 1, out);
      out.push(`${pad}}`);
      return;
  }
}

/** Prints one statement (and its nested blocks) at the given indentation depth, without a trailing newline. */
export function printStatement(s: Stmt, depth = 0): string {
  const out: string[] = [];
  printStmt(s, depth, out);
  return out.join('\n');
}

/** The attach point list of a probe as written, comma-separated: `kprobe:a, kprobe:b`. */
export function printAttachPoints(aps: readonly AttachPoint[]): string {
  return aps.map((a) => a.raw).join(', ');
}

function printConfig(c: ConfigBlock): string {
  const lines = ['config = {'];
  for (const e of c.entries) lines.push(`${INDENT}${e.key} = ${printExpr(e.value)};`);
  lines.push('}');
  return lines.join('\n');
}

/** Prints one probe: attach points (one per line), predicate, body. */
export function printProbe(p: Probe): string {
  const out: string[] = [p.attachPoints.map((a) => a.raw).join(',\n')];
  if (p.predicate) out.push(`/${printPredicate(p.predicate)}/`);
  out.push('{');
  printBlockBody(p.body, 1, out);
  out.push('}');
  return out.join('\n');
}

/** Prints a whole program in canonical layout, ending with a newline. */
export function printProgram(p: Program): string {
  const sections: string[] = [];
  if (p.preamble.length > 0) sections.push(p.preamble.map((x) => x.text).join('\n'));
  if (p.config) sections.push(printConfig(p.config));
  for (const probe of p.probes) sections.push(printProbe(probe));
  if (p.covers.length > 0) sections.push(p.covers.map(printCover).join('\n'));
  return sections.join('\n\n') + '\n';
}

/** `cover(tracepoint:sock:inet_sock_set_state, args->family == 10);` */
export function printCover(c: CoverStmt): string {
  return `cover(${c.hook.raw}${c.condition ? `, ${printExpr(c.condition)}` : ''});`;
}
