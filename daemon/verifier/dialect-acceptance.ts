/**
 * Acceptance rules of bpftrace versions after 0.17 (see `acceptance.ts` for 0.17's): block scoping
 * of variables, the strict typing of variable assignments, and `exit()` in loops. Each refuses
 * only what that version's compiler refuses for certain; a value whose integer type cannot be told
 * here (a kernel field, a function result) is judged by nobody. Run here on 0.23.2 (messages
 * quoted from it); later versions by their sources (`dialect/profiles.ts`).
 */
import type { Span } from '../protocol/diagnostic.js';
import type { Dialect } from './dialect/index.js';
import type { Block, Expr, Probe, Stmt } from './frontend/index.js';
import { CAST_TYPES } from './symbolic/values.js';

type Refuse = (span: Span, message: string) => void;

/** An integer type as far as assignments need it; `literal` for an integer literal (or its negation). */
interface IntType {
  readonly size: number;
  readonly signed: boolean;
  readonly literal?: bigint;
}

const INT64: IntType = { size: 8, signed: true };

function typeName(t: IntType): string {
  return `${t.signed ? 'int' : 'uint'}${t.size * 8}`;
}

function fits(n: bigint, t: IntType): boolean {
  const bits = BigInt(t.size * 8);
  return t.signed ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n) : n >= 0n && n < 1n << bits;
}

/** The integer type of `e` when it is certain, else undefined. */
function intType(e: Expr, vars: ReadonlyMap<string, IntType>, d: Dialect): IntType | undefined {
  switch (e.kind) {
    case 'Integer':
      // From 0.22 a literal above INT32_MAX is a uint64 (run here on 0.23.2).
      return { size: 8, signed: !(d.wideLiteralsUnsigned && e.value > 0x7fffffffn), literal: e.value };
    case 'Unary':
      if (e.op === '-' && e.operand.kind === 'Integer') return { ...INT64, literal: -e.operand.value };
      return undefined;
    case 'Cast': {
      const c = CAST_TYPES[e.type.name];
      return c && e.type.pointerLevel === 0 && e.type.arraySize === undefined ? { size: c.size, signed: c.signed } : undefined;
    }
    case 'Builtin':
      if (e.name === 'pid' || e.name === 'tid') return d.pidTid32 ? { size: 4, signed: false } : { size: 8, signed: false };
      return undefined;
    case 'Variable': {
      const t = vars.get(e.name);
      return t ? { size: t.size, signed: t.signed } : undefined;
    }
    default:
      return undefined;
  }
}

/** Every `$variable` read in `e`. */
function reads(e: Expr, out: Extract<Expr, { kind: 'Variable' }>[] = []): Extract<Expr, { kind: 'Variable' }>[] {
  if (e.kind === 'Variable') out.push(e);
  for (const v of Object.values(e)) {
    if (v && typeof v === 'object' && 'kind' in v && typeof v.kind === 'string' && v.kind !== 'Type') reads(v as Expr, out);
    else if (Array.isArray(v)) for (const x of v) if (x && typeof x === 'object' && 'kind' in x) reads(x as Expr, out);
  }
  return out;
}

/** The refusals of `d`'s compiler for `probe` beyond 0.17's. */
/** Where a statement is: outside any loop, directly in a loop's body, or nested in an `if` inside one. */
type LoopPlace = 'none' | 'body' | 'nested';

export function checkDialectRules(probe: Probe, d: Dialect, refuse: Refuse): void {
  if (!d.forMap && !d.blockScoping && !d.strictVariableAssignment && !d.exitInLoopRefused) return;
  let forDepth = 0;
  // From 0.21 a for body's variables are its own (its body is a function of its own there); from
  // 0.22 every block's are. A read of a variable nothing visible assigned is refused in every
  // version (run here on 0.17 and 0.23.2: "Undefined or undeclared variable: $z"); it is checked
  // from 0.21 on, where scoping makes it matter (0.17's rules are acceptance.ts's).
  const checkScopes = d.forMap || d.blockScoping;
  const scopes: Map<string, 'declared' | 'assigned'>[] = [];
  const types = new Map<string, IntType>();
  const visible = (name: string): boolean => scopes.some((s) => s.has(name));
  const checkReads = (e: Expr | undefined): void => {
    if (!e || !checkScopes) return;
    for (const v of reads(e)) {
      if (!visible(v.name)) refuse(v.span, `${v.name} is read where no enclosing block declares or assigns it first ("Undefined or undeclared variable: ${v.name}"): ${d.blockScoping ? 'variables are block-scoped from bpftrace 0.22' : `a for loop's variables end with its body in bpftrace ${d.version}`}`);
    }
  };
  const assign = (name: string, span: Span, value: Expr, op: string): void => checkAssignment(name, span, value, op, types, d, refuse);
  const block = (b: Block, loop: LoopPlace, bound?: string): void => {
    const own = d.blockScoping || bound !== undefined || scopes.length === 0;
    if (own) scopes.push(new Map(bound ? [[bound, 'declared']] : []));
    for (const s of b.statements) stmt(s, loop);
    // A variable ends with its scope, and its type with it (a sibling block's is another variable).
    if (own) for (const name of (scopes.pop() as Map<string, unknown>).keys()) types.delete(name);
  };
  const here = (): Map<string, 'declared' | 'assigned'> => scopes[scopes.length - 1] as Map<string, 'declared' | 'assigned'>;
  const stmt = (s: Stmt, loop: LoopPlace): void => {
    switch (s.kind) {
      case 'Block':
        block(s, loop);
        return;
      case 'ExprStmt':
        checkReads(s.expr);
        if (d.exitInLoopRefused && loop !== 'none' && s.expr.kind === 'Call' && s.expr.callee === 'exit' && !(d.exitInIfInWhileAllowed && forDepth === 0 && loop === 'nested')) {
          refuse(s.span, forDepth > 0 ? `exit() inside a for loop is refused from bpftrace 0.25 ("'return' statement is not allowed in a for-loop")` : `exit() inside a loop is refused from bpftrace 0.25 ("exit() is no longer allowed inside loops")`);
        }
        return;
      case 'AssignStmt':
        checkReads(s.value);
        if (s.target.kind === 'Variable') {
          if (s.op !== '=') checkReads(s.target);
          if (!visible(s.target.name)) here().set(s.target.name, 'assigned');
          assign(s.target.name, s.span, s.value, s.op);
        } else for (const k of s.target.keys) checkReads(k);
        return;
      case 'VarDeclStmt': {
        const name = s.variable.name;
        checkReads(s.value);
        if (d.blockScoping) {
          const seen = scopes.find((sc) => sc.has(name))?.get(name);
          if (seen === 'declared') refuse(s.span, `${name} is declared again ("Variable ${name} was already declared. Variable shadowing is not allowed.")`);
          else if (seen === 'assigned') refuse(s.span, `${name} is declared after it is used ("Variable declarations need to occur before variable usage or assignment. Variable: ${name}")`);
        }
        here().set(name, 'declared');
        const declared = s.type ? CAST_TYPES[s.type.name] : undefined;
        if (declared && s.type?.pointerLevel === 0 && s.type.arraySize === undefined) {
          const t = { size: declared.size, signed: declared.signed };
          const lit = s.value ? intType(s.value, types, d)?.literal : undefined;
          if (d.typedLetLiteralRefused && lit !== undefined && (t.size !== 8 || !t.signed)) {
            refuse(s.span, `bpftrace ${d.version} types an integer literal int64 before the declared ${typeName(t)} ("Type mismatch for ${name}: trying to assign value of type '${typeName(t)}' when variable already contains a value of type 'int64'"): write ${s.variable.name}: ${s.type.name} = (${s.type.name})${lit}`);
            return;
          }
          if (!s.value && d.typedLetLiteralRefused && (t.size !== 8 || !t.signed)) {
            // A later literal assignment is refused the same way: typed as int64 first.
            types.set(name, INT64);
            return;
          }
          types.set(name, t);
          if (s.value) assign(name, s.span, s.value, '=');
        } else if (s.value) assign(name, s.span, s.value, '=');
        return;
      }
      case 'IfStmt':
        checkReads(s.condition);
        block(s.then, loop === 'none' ? 'none' : 'nested');
        if (s.else) {
          if (s.else.kind === 'Block') block(s.else, loop === 'none' ? 'none' : 'nested');
          else stmt(s.else, loop === 'none' ? 'none' : 'nested');
        }
        return;
      case 'WhileStmt':
        checkReads(s.condition);
        block(s.body, 'body');
        return;
      case 'UnrollStmt':
        block(s.body, 'body');
        return;
      case 'ForStmt':
        checkReads(s.iterable);
        forDepth++;
        block(s.body, 'body', s.variable.name);
        forDepth--;
        return;
      case 'BreakStmt':
      case 'ContinueStmt': {
        const word = s.kind === 'BreakStmt' ? 'break' : 'continue';
        if (d.loopControlInForRefused && forDepth > 0) refuse(s.span, `\`${word}\` inside a for loop is refused by bpftrace ${d.version} ("'${word}' statement is not allowed in a for-loop"): end the loop early with a flag the body tests, or use a while loop`);
        return;
      }
      case 'ReturnStmt':
        checkReads(s.value);
        return;
      default:
        // Annotations are stripped before bpftrace sees the program; break/continue read nothing.
        return;
    }
  };
  block(probe.body, 'none');
}

/** An assignment's type rules: the first fixes a variable's type, later ones must fit it where the dialect is strict about it. */
function checkAssignment(name: string, span: Span, value: Expr, op: string, types: Map<string, IntType>, d: Dialect, refuse: Refuse): void {
  const prev = types.get(name);
  const t = intType(value, types, d);
  if (op !== '=') {
    // `$x op= e` assigns `$x op e`, typed by the wider operand (a literal is 64-bit, and takes
    // $x's signedness when it is not negative). Run here on 0.23.2: `$x = (uint8)5; $x += 10;`
    // is refused ("Integer size mismatch. Assignment type 'uint64' is larger than the variable
    // type 'uint8'"), `$x += (uint8)10` is accepted.
    if (!d.strictVariableAssignment || !prev || !t) return;
    const size = Math.max(prev.size, t.size);
    const signed = prev.signed && (t.literal !== undefined ? true : t.signed);
    if (size > prev.size) refuse(span, `${name} is a ${typeName(prev)} and \`${op}\` gives it a wider ${typeName({ size, signed })} ("Integer size mismatch. Assignment type '${typeName({ size, signed })}' is larger than the variable type '${typeName(prev)}'"): cast the operand to ${typeName(prev)}`);
    else if (signed !== prev.signed && d.signMismatchRefused) refuse(span, `${name} is a ${typeName(prev)} and \`${op}\` gives it a ${typeName({ size, signed })} ("Type mismatch for ${name}")`);
    return;
  }
  if (!prev) {
    if (t) types.set(name, { size: t.size, signed: t.signed });
    return;
  }
  if (!d.strictVariableAssignment || !t) return;
  if (t.literal !== undefined) {
    if (!fits(t.literal, prev)) refuse(span, `${name} is a ${typeName(prev)} and is assigned ${t.literal}, which does not fit ("Type mismatch for ${name}: trying to assign value '${t.literal}' which does not fit into the variable of type '${typeName(prev)}'")`);
    return;
  }
  if (t.signed !== prev.signed) {
    if (d.signMismatchRefused) refuse(span, `${name} is a ${typeName(prev)} and is assigned a ${typeName(t)} ("Type mismatch for ${name}: trying to assign value of type '${typeName(t)}' when variable already contains a value of type '${typeName(prev)}'")`);
    return;
  }
  if (t.size > prev.size) refuse(span, `${name} is a ${typeName(prev)} and is assigned a wider ${typeName(t)} ("Integer size mismatch. Assignment type '${typeName(t)}' is larger than the variable type '${typeName(prev)}'"): cast the value to ${typeName(prev)}`);
}
