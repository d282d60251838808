/**
 * The integer rules of bpftrace versions after 0.17 (`dialect/profiles.ts`, `IntegerModel`), where
 * they differ from 0.17's (`operators.ts`): a binary operation on two integers narrower than 64
 * bits. What is not modelled is {@link Unsupported}: its value is unknown, never 0.17's guessed.
 */
import type { Term } from '../smt/term.js';
import { divmod } from './constant-division.js';
import { type ExecCore, Unsupported } from './core.js';
import { intTy, type Val } from './values.js';

const ARITHMETIC = new Set(['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>']);

function narrow(v: Val): number | undefined {
  return v.ty.k === 'int' && v.ty.size < 8 ? v.ty.size : undefined;
}

/**
 * `l op r` under the dialect's integer model when it differs from 0.17's; undefined when 0.17's
 * rule gives the same result (then `operators.ts` computes it).
 */
export function dialectBinary(ex: ExecCore, op: string, l: Val, r: Val, poisoned: (v: Val, own: Term | undefined, why: string) => Val): Val | undefined {
  const model = ex.dialect.integerModel;
  if (model === 'widen-to-64') return undefined;
  const ln = narrow(l);
  const rn = narrow(r);
  if (ln === undefined && rn === undefined) return undefined;
  if (model === 'unmodelled-narrow') {
    throw new Unsupported(`\`${op}\` on an integer narrower than 64 bits: bpftrace ${ex.dialect.version}'s integer rules (no promotion since 0.25) are not modelled`);
  }
  // 'wider-operand' (0.22 to 0.24): only when both operands are narrow does the width change.
  if (ln === undefined || rn === undefined) return undefined;
  if (!ARITHMETIC.has(op)) {
    // A comparison of two narrow integers of one signedness decides as at any width (run here on
    // 0.23.2; its value as an integer is another matter: comparisonIsZeroOne). Of two
    // signednesses it depends on the width (run here: `(int16)-1 == (uint16)65535` is 1): not
    // modelled. With a 64-bit operand both are extended to 64 bits, as in 0.17.
    if (isSigned(l) === isSigned(r)) return undefined;
    throw new Unsupported(`\`${op}\` between narrow integers of different signedness in bpftrace ${ex.dialect.version} is not modelled`);
  }
  const b = ex.b;
  const size = Math.max(ln, rn);
  const w = size * 8;
  const shift = op === '<<' || op === '>>';
  const signed = shift ? isSigned(l) : isSigned(l) && isSigned(r);
  // Each operand's low w bits, zero-extended: every operator below then gives, in its low w bits,
  // the operation at width w (BPF division and `>>` are unsigned, as in 0.17; run here on 0.23.2:
  // `(int8)-128 >> (int8)1` is 64, `(int8)-128 / (int8)-1` is 0, `(uint8)200 + (uint8)100` is 44).
  const lz = b.resize(b.extract(w - 1, 0, l.t), 64, false);
  const rz = b.resize(b.extract(w - 1, 0, r.t), 64, false);
  let t: Term;
  let own: Term | undefined;
  switch (op) {
    case '+': t = b.add(lz, rz); break;
    case '-': t = b.sub(lz, rz); break;
    case '*': t = b.mul(lz, rz); break;
    case '/': t = b.udiv(lz, rz); own = b.eq(rz, b.bv(0, 64)); break;
    case '%': t = b.urem(lz, rz); own = b.eq(rz, b.bv(0, 64)); break;
    case '&': t = b.bvand(lz, rz); break;
    case '|': t = b.bvor(lz, rz); break;
    case '^': t = b.bvxor(lz, rz); break;
    case '<<': t = b.shl(lz, rz); own = b.not(b.ult(rz, b.bv(w, 64))); break;
    default: t = b.lshr(lz, rz); own = b.not(b.ult(rz, b.bv(w, 64))); break;
  }
  const v: Val = { ty: intTy(size, signed), t: b.resize(b.extract(w - 1, 0, t), 64, signed) };
  const why = own !== undefined ? `\`${op}\` by ${op === '/' || op === '%' ? 'a zero divisor' : `a count >= ${w}`}` : `\`${op}\` of an undefined operand`;
  return poisoned(v, own, why);
}

/**
 * `&&`/`||` of two integers narrower than 64 bits after 0.17: its result has their width and a
 * value not modelled (run here on 0.23.2: `$c = (uint8)1 && (uint8)1;` has size 1 and
 * `$c + (uint8)255` prints 255).
 */
export function checkNarrowLogical(ex: ExecCore, op: string, l: Val, r: Val): void {
  if (ex.dialect.integerModel === 'widen-to-64') return;
  const both = narrow(l) !== undefined && narrow(r) !== undefined;
  if (both || (ex.dialect.integerModel === 'unmodelled-narrow' && (narrow(l) !== undefined || narrow(r) !== undefined))) {
    throw new Unsupported(`\`${op}\` of integers narrower than 64 bits in bpftrace ${ex.dialect.version} is not modelled`);
  }
}

function isSigned(v: Val): boolean {
  return v.ty.k === 'int' && v.ty.signed;
}

/**
 * `x op k` or `k op x` where k is a non-negative integer literal and x a 64-bit integer computed
 * at run time, once literals take the smallest type (0.26 on); undefined for what is not modelled.
 * Run here on 0.27.1 with values read from maps (0, 2^32-1, 2^32, 2^40, 2^62+12345, 2^63-1,
 * 2^64-1, -10): `+ - * & | ^` by a literal, `/` and `%` by a non-zero literal and `<<`/`>>` by a
 * literal below 64 give the 64-bit result of 0.17's rules whatever x's signedness (`$u * 1000`,
 * `$m + 1` of 2^64-1 wraps to 0; `$n / 3` of -10 is 6148914691236517202: BPF division is
 * unsigned, and `$n >> 1` of -10 is 9223372036854775803: a logical shift). Not modelled: x that
 * bpftrace can fold at compile time (`-10 >> 1` is -5 there: the caller passes only run-time x), a
 * literal divided or shifted by x (0.27.1: `100 / $x` and `100 % $x` of a zero x print 1, where
 * 0.17 leaves it undefined). The result has x's type (int64 for `-`, 0.26's "subtraction produces
 * an int64").
 */
export function literalArithmetic(ex: ExecCore, op: string, x: Val, k: bigint, literalOnRight: boolean): Val | undefined {
  if (!ARITHMETIC.has(op) || x.ty.k !== 'int' || x.ty.size !== 8 || k < 0n || k >= 1n << 63n) return undefined;
  const b = ex.b;
  const lit = b.bv(k, 64);
  const [l, r] = literalOnRight ? [x.t, lit] : [lit, x.t];
  if ((op === '<<' || op === '>>') && (!literalOnRight || k >= 64n)) return undefined;
  if ((op === '/' || op === '%') && (!literalOnRight || k === 0n)) return undefined;
  let t: Term;
  switch (op) {
    case '+': t = b.add(l, r); break;
    case '-': t = b.sub(l, r); break;
    case '*': t = b.mul(l, r); break;
    case '&': t = b.bvand(l, r); break;
    case '|': t = b.bvor(l, r); break;
    case '^': t = b.bvxor(l, r); break;
    case '<<': t = b.shl(l, r); break;
    case '>>': t = b.lshr(l, r); break;
    // By a constant: the quotient and remainder Z3 decides quickly (as 0.17's operators do).
    case '/': t = divmod(ex, l, r)?.q ?? b.udiv(l, r); break;
    default: t = divmod(ex, l, r)?.r ?? b.urem(l, r); break;
  }
  const ty = op === '-' && ex.dialect.subtractionSigned ? intTy(8, true) : x.ty;
  return { ty, t, ...(x.poison ? { poison: x.poison } : {}) };
}
