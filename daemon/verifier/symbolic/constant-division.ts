/**
 * Division of an unsigned 64-bit term by a constant, in a form Z3 decides quickly: used by 0.17's
 * operators and by the newer versions' literal arithmetic alike.
 */
import { bvSort, type Term } from '../smt/term.js';
import type { ExecCore } from './core.js';

/**
 * Unsigned division by a non-zero constant without a divider circuit: a power of two is a shift
 * and a mask; otherwise quotient and remainder are fresh symbols defined by x = q*c + r, r < c. Z3 bit-blasts constant multiplication cheaply but times out
 * on 64-bit division circuits (e.g. `elapsed / 1000000000` next to `q * 1000000000`).
 */
export function divmod(ex: ExecCore, x: Term, d: Term): { q: Term; r: Term } | undefined {
  const b = ex.b;
  if (d.op !== 'bv' || d.value === 0n || x.op === 'bv') return undefined;
  const c = d.value as bigint;
  if ((c & (c - 1n)) === 0n) {
    const k = c.toString(2).length - 1;
    return { q: b.lshr(x, b.bv(k, 64)), r: b.bvand(x, b.bv(c - 1n, 64)) };
  }
  const q = b.variable(`div!${x.id}!${c}`, bvSort(64));
  const r = b.variable(`mod!${x.id}!${c}`, bvSort(64));
  if (!ex.axioms.has(q.id)) {
    // q <= max/c keeps q*c from wrapping; q*c <= x and x - q*c = r < c then make x = q*c + r
    // exact in 64 bits. Writing it with the same terms a program uses (`x - q*c`, `q*c <= x`)
    // lets hash-consing share them with the assertion.
    const qc = b.mul(q, d);
    const def = b.and(b.ule(q, b.bv(0xffffffffffffffffn / c, 64)), b.ule(qc, x), b.eq(b.sub(x, qc), r), b.ult(r, d));
    ex.axioms.set(q.id, def);
    ex.axioms.set(r.id, def);
    ex.definitions.set(q.name as string, b.udiv(x, d));
    ex.definitions.set(r.name as string, b.urem(x, d));
  }
  return { q, r };
}
