/**
 * Expression evaluation: dispatches each expression kind to its module (operators, calls, maps,
 * fields) and handles literals, variables, unary operators, indexing and tuples.
 */
import type { Expr } from '../frontend/ast.js';
import { collect, printExpr } from '../frontend/index.js';
import { bvSort, type Term } from '../smt/term.js';
import { isClock, readClock } from './clock.js';
import { evalUnder, hasSideEffects } from './join.js';
import { builtin, call } from './calls.js';
import { type EvalCtx, type ExecCore, NotBpftrace, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { field } from './fields.js';
import { readMap, update } from './maps.js';
import { checkNarrowLogical, literalArithmetic } from './integer-model.js';
import { asBool, asInt, binary, cast, constInt, isSigned, iteVal, poisonOf, withPoison } from './operators.js';
import { intTy, S64, stringLiteralTerm, type Ty, U64, type Val } from './values.js';

export function evalExpr(ex: ExecCore, e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const b = ex.b;
  switch (e.kind) {
    case 'Integer': {
      // Every integer literal is an int64 in bpftrace 0.17, however large (checked here:
      // `9223372036854775808 < 0` and `18446744073709551615 < 0` print 1, and
      // `-9223372036854775808 < (int16)127` prints 1).
      // From 0.22 a literal above INT32_MAX is a uint64 (see `dialect/profiles.ts`).
      if (ex.dialect.wideLiteralsUnsigned && e.value > 0x7fffffffn) return { ty: U64, t: b.bv(e.value, 64) };
      return { ty: S64, t: b.bv(e.value, 64) };
    }
    case 'Boolean':
      // After 0.21 a comparison's integer value is not modelled (comparisonIsZeroOne), but `true`
      // is 1 wherever it is used (an identifier worth 1 before 0.24, a bool after; run here on
      // 0.23.2 and 0.27.1: `$c = true; printf("%d", $c)` prints 1).
      if (!ex.dialect.comparisonIsZeroOne) return { ty: S64, t: b.bv(e.value ? 1 : 0, 64) };
      return { ty: { k: 'bool' }, t: b.bool(e.value) };
    case 'String': {
      const { t, size } = stringLiteralTerm(b, e.value);
      return { ty: { k: 'str', size }, t };
    }
    case 'Builtin':
      if (isClock(e.name)) return readClock(ex, e, s, ctx);
      return builtin(ex, e.name);
    case 'Positional': {
      // One value for the whole run, given on the command line: an input like a builtin.
      const v: Val = { ty: S64, t: b.variable(`$${e.index}`, bvSort(64)) };
      ex.noteInput(`$${e.index}`, v);
      return v;
    }
    case 'PositionalCount': {
      const v: Val = { ty: U64, t: b.variable('$#', bvSort(64)) };
      ex.noteInput('$#', v);
      return v;
    }
    case 'Identifier':
      return ex.opaqueVal(`identifier ${e.name}`, 'bare identifiers (enum constants)');
    case 'Variable': {
      if (ctx.mode === 'havoc') {
        const real = ex.readVar(e.name, s);
        let h = ctx.havoc.get(e.name);
        if (!h) {
          h = ex.havocLike(real, e.name);
          ctx.havoc.set(e.name, h);
        }
        return h;
      }
      return ex.readVar(e.name, s);
    }
    case 'Map':
      return readMap(ex, e, s, pc, ctx);
    case 'Call':
      return call(ex, e, s, pc, ctx);
    case 'Unary': {
      if (e.op === '*' || e.op === '&') {
        ex.unmodelled.add('pointer dereference (*) and address-of (&)');
        return ex.opaqueVal(`${e.op}${printExpr(e.operand)}`, 'pointer dereference (*) and address-of (&)');
      }
      // From 0.22 `-N` is one negative literal, an int64 (the grammar's `MINUS INT`), whatever N's own type.
      if (e.op === '-' && e.operand.kind === 'Integer' && ex.dialect.wideLiteralsUnsigned) return { ty: S64, t: b.bv(-e.operand.value, 64) };
      const v = ex.evalExpr(e.operand, s, pc, ctx);
      const poison = v.poison ? { poison: v.poison } : {};
      if (e.op === '!') {
        // bpftrace 0.17 types `!x` as an unsigned integer of x's width (checked here: with x an
        // int8 5, `~!x` prints 255; an int32 0 gives 4294967294; a uint16 0 gives 65534; and
        // `$x = (int32)5; $x = !$c` (uint16 $c = 0) stores 1 — not a wider value it would drop).
        const size = v.ty.k === 'int' ? v.ty.size : 8;
        const t = b.not(asBool(ex, v));
        // From 0.22 `!x` is zero-extended to x's type (bpftrace's unop codegen), never -1: an integer.
        if (size === 8 && ex.dialect.comparisonIsZeroOne) return { ty: { k: 'bool' }, t, ...poison };
        return { ty: intTy(size, false), t: b.ite(t, b.bv(1, 64), b.bv(0, 64)), ...poison };
      }
      const x = asInt(ex, v);
      if (e.op === '-' || e.op === '~') {
        // bpftrace 0.17 keeps the operand's type for unary - and ~ (checked on this machine:
        // ~ of a uint16 1 is 65534, - of it 65535): inside an expression a narrow signed result
        // is sign-extended (`(-(int8)@a) < 0` is 1 and `(-(int32)@a) >> 31` is 8589934591 for
        // @a = 63), but printed directly or assigned to a new variable it is the unsigned value
        // of its width, and the variable is a uint64 (`-(int8)@a` prints 193; after
        // `$x = -(int8)@a;`, `$x` is 193 and `$x < 0` is 0; after `$w = -(int8)@a; $w = (int8)-5;`
        // `$w` is 251).
        const size = x.ty.k === 'int' ? x.ty.size : 8;
        const signed = x.ty.k === 'int' ? x.ty.signed : false;
        const narrow = b.extract(size * 8 - 1, 0, x.t);
        const r = e.op === '-' ? b.neg(narrow) : b.bvnot(narrow);
        const asStored: Val | undefined = size < 8 ? { ty: U64, t: b.zext(64 - size * 8, r), ...poison } : undefined;
        return { ty: intTy(size, signed), t: b.resize(r, 64, signed), ...poison, ...(asStored ? { asStored } : {}) };
      }
      return x;
    }
    case 'Update':
      return update(ex, e, s, pc, ctx);
    case 'Binary':
      return evalBinary(ex, e, s, pc, ctx);
    case 'Ternary':
      return evalTernary(ex, e, s, pc, ctx);
    case 'Cast':
      return cast(ex, e, ex.evalExpr(e.operand, s, pc, ctx));
    case 'Field':
      return field(ex, e, s, pc, ctx);
    case 'Index': {
      const obj = ex.evalExpr(e.object, s, pc, ctx);
      const idx = constInt(ex, e.index, s, pc);
      if (obj.ty.k === 'array' && idx !== undefined && idx >= 0 && idx < obj.ty.count) {
        const w = obj.ty.elemSize * 8;
        const el = b.extract(w * (idx + 1) - 1, w * idx, obj.t);
        return { ty: intTy(obj.ty.elemSize, obj.ty.signed), t: b.resize(el, 64, obj.ty.signed) };
      }
      if (obj.ty.k === 'str') {
        // bpftrace 0.17 refuses it ("The array index operator [] can only be used on arrays and
        // pointers, found string"), also for `char[N]` tracepoint fields, which it reads as
        // strings: never prove a program that does not compile.
        throw new NotBpftrace(`${printExpr(e)}: bpftrace 0.17 cannot index a string ("The array index operator [] can only be used on arrays and pointers, found string"); compare with strncmp() instead`, e.span);
      }
      ex.unmodelled.add('indexing pointers or with non-constant indices');
      return ex.opaqueVal(printExpr(e), 'indexing pointers or with non-constant indices');
    }
    case 'Tuple': {
      const parts = e.elements.map((x) => ex.evalExpr(x, s, pc, ctx));
      return { ty: { k: 'tuple', elems: parts.map((p) => p.ty) }, t: b.T, parts };
    }
    case 'Range':
    case 'TypeExpr':
      throw new Unsupported(`${e.kind} used as a value`);
  }
}


/** `&&`/`||` short-circuit; other operators through the integer model (literals per dialect). */
function evalBinary(ex: ExecCore, e: Extract<Expr, { kind: 'Binary' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const b = ex.b;
  if (e.op === '&&' || e.op === '||') {
    const lv = ex.evalExpr(e.left, s, pc, ctx);
    const l = asBool(ex, lv);
    // The right operand runs only when the left one does not decide (short-circuit).
    const runsRight = e.op === '&&' ? l : b.not(l);
    let rPoison: Term | undefined;
    let rSigned = false;
    const evalRight = (st: PathState): Term => {
      const rv = ex.evalExpr(e.right, st, pc, ctx);
      checkNarrowLogical(ex, e.op, lv, rv);
      rPoison = rv.poison;
      rSigned = isSigned(rv);
      return asBool(ex, rv);
    };
    const r = hasSideEffects(e.right) ? evalUnder(ex, s, runsRight, evalRight) : evalRight(s);
    const p = poisonOf(ex, [lv], rPoison ? b.and(runsRight, rPoison) : undefined);
    // Signed when both operands are (rvSigned is set by evaluating the right operand).
    const ty: Ty = isSigned(lv) && rSigned ? { k: 'bool', signed: true } : { k: 'bool' };
    return withPoison(ex, { ty, t: e.op === '&&' ? b.and(l, r) : b.or(l, r) }, p, `\`${e.op}\` of an undefined operand`);
  }
  if (ex.dialect.smallLiterals && (isLiteral(e.left) || isLiteral(e.right))) {
    const compared = literalComparison(ex, e, s, pc, ctx) ?? withLiteral(ex, e, s, pc, ctx);
    if (compared) return compared;
    throw new Unsupported(`\`${e.op}\` with an integer literal operand: bpftrace ${ex.dialect.version} types literals by their size (0.26), which is not modelled`);
  }
  return binary(ex, e.op, ex.evalExpr(e.left, s, pc, ctx), ex.evalExpr(e.right, s, pc, ctx));
}

/** Arithmetic of a 64-bit integer with a non-negative literal under 0.26's literal types (integer-model.ts). */
function withLiteral(ex: ExecCore, e: Extract<Expr, { kind: 'Binary' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val | undefined {
  const right = literalValue(e.right);
  const left = literalValue(e.left);
  if ((right === undefined) === (left === undefined) || COMPARISONS.has(e.op)) return undefined;
  const literalOnRight = right !== undefined;
  const other = literalOnRight ? e.left : e.right;
  if (foldable(other)) return undefined;
  const x = ex.evalExpr(other, s, pc, ctx);
  return literalArithmetic(ex, e.op, x, (right ?? left) as bigint, literalOnRight);
}

/**
 * Whether `e` holds no run-time value (no variable, map, builtin, call, field or index), so that
 * bpftrace may fold it at compile time, with rules of its own (0.27.1 folds `-10 >> 1` to -5 but
 * shifts a run-time -10 logically): such an operand is not modelled.
 */
function foldable(e: Expr): boolean {
  switch (e.kind) {
    case 'Variable':
    case 'Map':
    case 'Builtin':
    case 'Call':
    case 'Field':
    case 'Index':
      return false;
    case 'Unary':
    case 'Cast':
      return foldable(e.operand);
    case 'Binary':
      return foldable(e.left) && foldable(e.right);
    case 'Ternary':
      return foldable(e.condition) && foldable(e.then) && foldable(e.else);
    default:
      return true;
  }
}

/** `c ? x : y`: only one branch runs. */
function evalTernary(ex: ExecCore, e: Extract<Expr, { kind: 'Ternary' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const b = ex.b;
  if (ex.dialect.integerModel !== 'widen-to-64' && readsMap(e.condition) && (readsMap(e.then) || readsMap(e.else))) {
    // Run here on 0.23.2 with @c = 31, @d = 5: `@c ? @d : 127` and `(@c + 0) ? @c : 127` are 127.
    throw new Unsupported(`\`?:\` whose condition and a branch read maps in bpftrace ${ex.dialect.version} is not modelled`);
  }
  const cv = ex.evalExpr(e.condition, s, pc, ctx);
  const c = asBool(ex, cv);
  // Only one branch runs: a branch with side effects runs on a copy joined back under its condition.
  const branch = (x: Expr, when: Term): Val =>
    hasSideEffects(x) ? evalUnder(ex, s, when, (st) => ex.evalExpr(x, st, pc, ctx)) : ex.evalExpr(x, s, pc, ctx);
  const x = branch(e.then, c);
  const y = branch(e.else, b.not(c));
  const v = iteVal(ex, c, x, y);
  // A poison condition is undefined behaviour: any value.
  return cv.poison ? withPoison(ex, v, poisonOf(ex, [cv, v]), 'a `?:` on an undefined condition') : v;
}

/** An integer literal, or the negation of one. */
export function isLiteral(e: Expr): boolean {
  return e.kind === 'Integer' || (e.kind === 'Unary' && e.op === '-' && e.operand.kind === 'Integer');
}

function readsMap(e: Expr): boolean {
  return collect(e, 'Map').length > 0;
}

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

function literalValue(e: Expr): bigint | undefined {
  if (e.kind === 'Integer') return e.value;
  if (e.kind === 'Unary' && e.op === '-' && e.operand.kind === 'Integer') return -e.operand.value;
  return undefined;
}

/**
 * A comparison of an integer with an integer literal once literals take the smallest type (0.26
 * on): the mathematical comparison of the two values, whatever their widths. Run here on 0.27.1,
 * with run-time values: `(uint8)200 > 5`, `(uint8)200 < 100`, `(int8)-1 < 5`, `(int8)-1 > -2`,
 * `(uint32)4000000000 > 3000000000`, `(int64)-1 < 0`, `pid > 1` all decide as in arithmetic (so
 * do 0.17 and 0.23.2). Only the truth value: its value as an integer is not modelled
 * (comparisonIsZeroOne). Undefined (not modelled) for an unsigned operand with a negative literal
 * and for a literal outside int64 beside a signed operand.
 */
function literalComparison(ex: ExecCore, e: Extract<Expr, { kind: 'Binary' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val | undefined {
  if (!COMPARISONS.has(e.op)) return undefined;
  const lit = literalValue(e.right) ?? literalValue(e.left);
  const litOnRight = literalValue(e.right) !== undefined;
  if (lit === undefined || (literalValue(e.left) !== undefined && literalValue(e.right) !== undefined)) return undefined;
  const v = ex.evalExpr(litOnRight ? e.left : e.right, s, pc, ctx);
  if (v.ty.k !== 'int') return undefined;
  const b = ex.b;
  const signed = v.ty.signed;
  if (!signed && lit < 0n) return undefined;
  if (signed && (lit < -(1n << 63n) || lit >= 1n << 63n)) return undefined;
  if (!signed && lit >= 1n << 64n) return undefined;
  // The operand's 64-bit term holds its value extended by its own signedness: exact.
  const x = v.t;
  const k = b.bv(lit, 64);
  const [l, r] = litOnRight ? [x, k] : [k, x];
  const lt = (a: Term, c: Term): Term => (signed ? b.slt(a, c) : b.ult(a, c));
  const le = (a: Term, c: Term): Term => (signed ? b.sle(a, c) : b.ule(a, c));
  let t: Term;
  switch (e.op) {
    case '==': t = b.eq(l, r); break;
    case '!=': t = b.not(b.eq(l, r)); break;
    case '<': t = lt(l, r); break;
    case '<=': t = le(l, r); break;
    case '>': t = lt(r, l); break;
    default: t = le(r, l); break;
  }
  return withPoison(ex, { ty: { k: 'bool' }, t }, v.poison, `\`${e.op}\` of an undefined operand`);
}
