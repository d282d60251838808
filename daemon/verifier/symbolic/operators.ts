/**
 * bpftrace's operators on symbolic values: truth and integer views, binary operators with
 * bpftrace 0.17's widths and signedness, the ternary's merge, casts, and constant evaluation.
 */
import type { Expr } from '../frontend/ast.js';
import type { Term } from '../smt/term.js';
import { type ExecCore, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { divmod } from './constant-division.js';
import { dialectBinary } from './integer-model.js';
import { CAST_TYPES, intTy, S64, type Ty, U64, type Val } from './values.js';

export function asBool(ex: ExecCore, v: Val): Term {
  const b = ex.b;
  if (v.ty.k === 'bool') return v.t;
  if (v.ty.k === 'int' || v.ty.k === 'ptr') return b.not(b.eq(v.t, b.bv(0, 64)));
  if (v.ty.k === 'place' && v.place) return b.not(b.eq(asInt(ex, v).t, b.bv(0, 64)));
  throw new Unsupported(`a ${v.ty.k} used as a condition`);
}

export function asInt(ex: ExecCore, v: Val): Val {
  const b = ex.b;
  if (v.ty.k === 'int' || v.ty.k === 'ptr') return v;
  // The result of a comparison, `&&` or `||` is a 64-bit integer, signed when both operands are
  // (the rule of arithmetic); `!` gives an unsigned one. Checked on bpftrace 0.17 here, @a = 128:
  // `(@a != @a) > -1`, `(@a && @a) > -1` and `(2 ^ (32 && 65535)) > (-32768)` are 1 (signed),
  // `((uint8)@a == 128) > -1`, `((uint8)@a && @a) > -1`, `((uint8)@a < (int8)5) > -1` and
  // `(!@a) > -1` are 0 (unsigned); `~(@a == @a)` is -2.
  if (v.ty.k === 'bool' && !ex.dialect.comparisonIsZeroOne) {
    throw new Unsupported(`the integer value of a comparison in bpftrace ${ex.dialect.version} (-1 or 1 where it is used) is not modelled`);
  }
  if (v.ty.k === 'bool') return { ty: v.ty.signed === true ? S64 : U64, t: b.ite(v.t, b.bv(1, 64), b.bv(0, 64)), ...(v.poison ? { poison: v.poison } : {}) };
  if (v.ty.k === 'place' && v.place && v.t.sort.k === 'bv') return { ty: U64, t: v.t };
  throw new Unsupported(`a ${v.ty.k} used as an integer`);
}

/**
 * Undefined results. bpftrace 0.17 compiles `<<`/`>>` to LLVM `shl`/`lshr` and `/`/`%` to
 * `udiv`/`urem`: a shift count >= 64 gives LLVM poison and a zero divisor is undefined behaviour,
 * so whenever LLVM can see such a count or divisor (a constant, a range it infers, a test that
 * dominates the operation) the result is arbitrary; only when it cannot does the BPF instruction's
 * own rule show (count masked to 6 bits, x / 0 = 0, x % 0 = x). Checked on bpftrace 0.17 here:
 * `(1 >> (-129)) + (-2)` prints 0, `(uint64)1 << 64` and `7 % 0` print 0; with @n = 64 at run
 * time `1 << @n` prints 1 but `1 << (@n | 64)` prints 0, and inside `if ($n >= 64)` `5 >> $n`
 * prints 0; with @a = 5, `@a / (@a != @a)` prints 5 and `@a % (@a != @a)` prints 0 (LLVM takes
 * the divisor to be 1); `$x / $x` prints 1 with $x = 0; inside `if ($z == 0)`, `7 % $z` prints 0;
 * `$q = 7 / $c; if ($c == 0) ...` with $c read from a map fails to load (LLVM deleted the path).
 * Which of these LLVM sees is not something to model, so the sound model is: a shift whose count
 * is >= 64 (unsigned; a negative count is one) and a division or modulo whose divisor is 0 give
 * an unconstrained value, an opaque symbol (assertions that depend on it are never proved nor
 * refuted through it), and poison spreads: an operation on a poison operand is poison.
 */
export function undefinedWhen(ex: ExecCore, when: Term | undefined, t: Term, why: string): Term {
  const b = ex.b;
  if (when === undefined || when === b.F) return t;
  const f = b.fresh('undefined', t.sort);
  ex.opaque.set(f.name as string, `${why} is undefined in bpftrace 0.17 (LLVM poison: any value)`);
  return when === b.T ? f : b.ite(when, f, t);
}

/** The poison condition of a result computed from `vals` (plus `own`), if any. */
export function poisonOf(ex: ExecCore, vals: readonly Val[], own?: Term): Term | undefined {
  const cs = vals.map((v) => v.poison).filter((p): p is Term => p !== undefined);
  if (own !== undefined) cs.push(own);
  if (cs.length === 0) return undefined;
  const p = ex.b.or(...cs);
  return p === ex.b.F ? undefined : p;
}

/** `v` with poison condition `p`: its term is unconstrained when `p` holds. */
export function withPoison(ex: ExecCore, v: Val, p: Term | undefined, why: string): Val {
  if (p === undefined) return v;
  return { ...v, t: undefinedWhen(ex, p, v.t, why), poison: p };
}

export function isSigned(v: Val): boolean {
  return (v.ty.k === 'int' || v.ty.k === 'bool') && v.ty.signed === true;
}

/** The type of a comparison or `&&`/`||` result over `l` and `r`. */
export function boolTy(l: Val, r: Val): Ty {
  return isSigned(l) && isSigned(r) ? { k: 'bool', signed: true } : { k: 'bool' };
}

export function binary(ex: ExecCore, op: string, l0: Val, r0: Val): Val {
  const b = ex.b;
  // Strings and addresses: equality only.
  if (l0.ty.k === 'str' || r0.ty.k === 'str' || l0.ty.k === 'inet' || r0.ty.k === 'inet') {
    if (op !== '==' && op !== '!=') throw new Unsupported(`operator ${op} on strings`);
    if (l0.ty.k !== r0.ty.k) throw new Unsupported(`comparison of ${l0.ty.k} with ${r0.ty.k}`);
    const w = Math.max(l0.t.sort.k === 'bv' ? l0.t.sort.w : 0, r0.t.sort.k === 'bv' ? r0.t.sort.w : 0);
    const eq = b.eq(b.resize(l0.t, w), b.resize(r0.t, w));
    return { ty: { k: 'bool' }, t: op === '==' ? eq : b.not(eq) };
  }
  if (l0.ty.k === 'bool' && r0.ty.k === 'bool' && (op === '==' || op === '!=')) {
    const eq = b.eq(l0.t, r0.t);
    return { ty: { k: 'bool' }, t: op === '==' ? eq : b.not(eq) };
  }
  const l = asInt(ex, l0);
  const r = asInt(ex, r0);
  const other = dialectBinary(ex, op, l, r, (v, own, why) => {
    const p = poisonOf(ex, [l, r], own);
    return p === undefined ? v : withPoison(ex, v, p, p === own ? why : `\`${op}\` of an undefined operand`);
  });
  if (other) return other;
  const exact = binaryExact(ex, op, l, r);
  const zero = b.bv(0, 64);
  let own: Term | undefined;
  if (op === '/' || op === '%') own = b.eq(r.t, zero);
  if (op === '<<' || op === '>>') own = b.not(b.ult(r.t, b.bv(64, 64)));
  const p = poisonOf(ex, [l, r], own);
  if (p === undefined) return exact;
  const why = own !== undefined && p === own ? `\`${op}\` by ${op === '/' || op === '%' ? 'a zero divisor' : 'a count >= 64'}` : `\`${op}\` of an undefined operand`;
  return withPoison(ex, exact, p, why);
}

function binaryExact(ex: ExecCore, op: string, l: Val, r: Val): Val {
  const b = ex.b;
  const signed = isSigned(l) && isSigned(r);
  const ty = intTy(8, signed);
  switch (op) {
    case '+':
      return { ty, t: b.add(l.t, r.t) };
    case '-':
      // 0.26 and later: subtraction gives an int64 (bpftrace CHANGELOG 0.26, not run here).
      return { ty: ex.dialect.subtractionSigned ? intTy(8, true) : ty, t: b.sub(l.t, r.t) };
    case '*':
      return { ty, t: b.mul(l.t, r.t) };
    // BPF division and modulo are unsigned; a zero divisor is undefined (see undefinedWhen).
    case '/': {
      const dm = divmod(ex, l.t, r.t);
      return { ty, t: dm ? dm.q : b.udiv(l.t, r.t) };
    }
    case '%': {
      const dm = divmod(ex, l.t, r.t);
      return { ty, t: dm ? dm.r : b.urem(l.t, r.t) };
    }
    case '&':
      return { ty, t: b.bvand(l.t, r.t) };
    case '|':
      return { ty, t: b.bvor(l.t, r.t) };
    case '^':
      return { ty, t: b.bvxor(l.t, r.t) };
    case '<<':
      return { ty: intTy(8, isSigned(l)), t: b.shl(l.t, r.t) };
    case '>>':
      // bpftrace 0.17 emits a logical shift even for signed operands.
      return { ty: intTy(8, isSigned(l)), t: b.lshr(l.t, r.t) };
    case '==':
      return { ty: boolTy(l, r), t: b.eq(l.t, r.t) };
    case '!=':
      return { ty: boolTy(l, r), t: b.not(b.eq(l.t, r.t)) };
    case '<':
      return { ty: boolTy(l, r), t: signed ? b.slt(l.t, r.t) : b.ult(l.t, r.t) };
    case '<=':
      return { ty: boolTy(l, r), t: signed ? b.sle(l.t, r.t) : b.ule(l.t, r.t) };
    case '>':
      return { ty: boolTy(l, r), t: signed ? b.slt(r.t, l.t) : b.ult(r.t, l.t) };
    case '>=':
      return { ty: boolTy(l, r), t: signed ? b.sle(r.t, l.t) : b.ule(r.t, l.t) };
    default:
      throw new Unsupported(`operator ${op}`);
  }
}

export function iteVal(ex: ExecCore, c: Term, x: Val, y: Val): Val {
  const b = ex.b;
  if (x.ty.k === 'bool' && y.ty.k === 'bool') return { ty: x.ty, t: b.ite(c, x.t, y.t) };
  if (x.ty.k === 'str' && y.ty.k === 'str') {
    const size = Math.max(x.ty.size, y.ty.size);
    return { ty: { k: 'str', size }, t: b.ite(c, b.resize(x.t, size * 8), b.resize(y.t, size * 8)) };
  }
  if (x.ty.k === 'tuple' || y.ty.k === 'tuple' || x.ty.k === 'inet' || y.ty.k === 'inet') {
    if (x.ty.k === 'inet' && y.ty.k === 'inet') return { ty: x.ty, t: b.ite(c, x.t, y.t) };
    throw new Unsupported(`a ternary over ${x.ty.k} values`);
  }
  if (x.ty.k === 'ptr' && y.ty.k === 'ptr') return { ty: x.ty, t: b.ite(c, x.t, y.t) };
  // Checked on bpftrace 0.17 here: `c ? a : b` is a 64-bit integer with the signedness of `a`, and
  // each branch is extended from its own width by that signedness: `c ? (int8)1 : (uint32)0xffffffff`
  // is -1 when c is false, `(c ? (uint32)1 : (int32)-1) < 0` is false (unsigned 4294967295).
  const xi = asInt(ex, x);
  const yi = asInt(ex, y);
  const signed = isSigned(xi);
  const extend = (v: Val): Term => {
    const size = v.ty.k === 'int' ? v.ty.size : 8;
    return b.resize(b.extract(size * 8 - 1, 0, v.t), 64, signed);
  };
  const p = xi.poison || yi.poison ? b.ite(c, xi.poison ?? b.F, yi.poison ?? b.F) : undefined;
  return { ty: intTy(8, signed), t: b.ite(c, extend(xi), extend(yi)), ...(p && p !== b.F ? { poison: p } : {}) };
}

export function cast(ex: ExecCore, e: Extract<Expr, { kind: 'Cast' }>, v: Val): Val {
  const b = ex.b;
  const ty = e.type;
  if (ty.pointerLevel > 0) {
    const x = asInt(ex, v);
    const pointee = ty.pointerLevel > 1 ? `${ty.name} ${'*'.repeat(ty.pointerLevel - 1)}` : ty.name;
    return { ty: { k: 'ptr', pointee }, t: x.t };
  }
  const c = CAST_TYPES[ty.name];
  if (!c || ty.arraySize !== undefined) {
    ex.unmodelled.add('casts to array or struct types');
    return ex.opaqueVal(`cast to ${ty.name}`, 'casts to array or struct types');
  }
  const x = asInt(ex, v);
  // bpftrace 0.17 keeps the source's own width and extends it by the TARGET's signedness
  // (checked on this machine: (int64) of a uint32 0x80000001 is -2147483647, (uint64) of an
  // int32 -6 is 4294967290, (uint32) of an int8 -3 is 253), unlike C.
  const srcSize = x.ty.k === 'int' ? x.ty.size : 8;
  if (ex.dialect.integerModel === 'unmodelled-narrow' && x.ty.k === 'int' && srcSize < c.size && x.ty.signed !== c.signed) {
    // Run here on 0.27.1: a widening cast extends by the SOURCE's signedness (`(uint32)(int8)x` is
    // 4294967295 for x = 255, `(int64)(uint8)x` is 255); 0.25 and 0.26 not run: not modelled.
    throw new Unsupported(`a widening cast to another signedness in bpftrace ${ex.dialect.version} is not modelled`);
  }
  const w = Math.min(srcSize, c.size) * 8;
  const t = b.resize(b.extract(w - 1, 0, x.t), 64, c.signed);
  return { ty: intTy(c.size, c.signed), t, ...(x.poison ? { poison: x.poison } : {}) };
}

export function constInt(ex: ExecCore, e: Expr, s: PathState, pc: ProbeCtx): number | undefined {
  try {
    const v = asInt(ex, ex.evalExpr(e, s, pc, { mode: 'real', havoc: new Map() }));
    if (v.t.op !== 'bv') return undefined;
    const n = v.t.value as bigint;
    return n > 1_000_000n ? undefined : Number(n);
  } catch {
    return undefined;
  }
}
