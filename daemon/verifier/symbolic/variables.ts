/**
 * Scratch variables (`$x`) as bpftrace 0.17 stores them. A variable gets the type of its first
 * assignment in source order, and its slot keeps that width for the whole probe. Checked on
 * bpftrace 0.17 here, with run-time values (`@z = 0; $z = @z;`):
 * - a later value of a WIDER integer type is silently dropped: `$x = (int32)5; $x = $x * 10;`
 *   leaves 5 (the product is 64-bit), as do `$r = (uint8)5; $r += 10;` and `$v = (uint32)5;
 *   $v = (uint64)7;`;
 * - a value of the same or a narrower width overwrites only its own low bytes, whatever the
 *   signedness: `$a = (uint16)0x1234; $a = (uint8)0x56;` gives 0x1256, `$c = (int32)0; $c =
 *   (int8)-2;` gives 254, `$b = (int32)-1; $b = (int8)-2;` gives -2; the slot is read with the
 *   variable's own signedness (`$d = (int16)5; $d = (uint16)65535;` gives -1);
 * - `$v++`/`$v--` wrap at the variable's width (`(uint8)255` ++ is 0, `(int32)0x7fffffff` ++ is
 *   -2147483648), and `++$v` yields the wrapped value.
 */
import type { Term } from '../smt/term.js';
import type { ExecCore, PathState } from './core.js';
import { asInt } from './operators.js';
import { intTy, type Ty, type Val } from './values.js';

function intSize(ty: Ty): number | undefined {
  if (ty.k === 'int') return ty.size;
  if (ty.k === 'ptr' || ty.k === 'bool') return 8;
  return undefined;
}

/** `$name = v` on path `s`. */
export function assignVar(ex: ExecCore, s: PathState, name: string, v0: Val): void {
  const slot = ex.varTypes.get(name);
  // A first assignment stores the value as a printf argument would (see `asStored`).
  const v = !slot && v0.asStored ? v0.asStored : v0;
  if (!slot) {
    ex.varTypes.set(name, v.ty);
    s.vars.set(name, v);
    return;
  }
  const valueSize = intSize(v.ty);
  if (slot.k !== 'int' || valueSize === undefined) {
    s.vars.set(name, v);
    return;
  }
  if (valueSize > slot.size) return;
  const b = ex.b;
  const low = b.extract(valueSize * 8 - 1, 0, asInt(ex, v).t);
  let bits: Term = low;
  if (valueSize < slot.size) bits = b.concat(b.extract(slot.size * 8 - 1, valueSize * 8, slotBits(ex, s, name, slot.size)), low);
  s.vars.set(name, { ty: slot, t: b.resize(bits, 64, slot.signed), ...(v.poison ? { poison: v.poison } : {}) });
}

/** The new value of `$name` after `++`/`--` (`sum` is the 64-bit old value plus or minus one). */
export function wrapToVar(ex: ExecCore, name: string, sum: Val): Val {
  const slot = ex.varTypes.get(name);
  if (!slot || slot.k !== 'int') return sum;
  const b = ex.b;
  return { ty: intTy(slot.size, slot.signed), t: b.resize(b.extract(slot.size * 8 - 1, 0, sum.t), 64, slot.signed) };
}

function slotBits(ex: ExecCore, s: PathState, name: string, size: number): Term {
  const old = s.vars.get(name);
  if (old && old.t.sort.k === 'bv') return ex.b.extract(size * 8 - 1, 0, old.t);
  const t = ex.b.fresh('unassigned', { k: 'bv', w: size * 8 });
  ex.opaque.set(t.name as string, `the bytes of ${name} before its first assignment on this path`);
  return t;
}
