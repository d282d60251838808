/**
 * Concrete model search: before asking Z3, try input assignments drawn from the constants of the
 * formula (and their neighbours, byte swaps, powers of two) and evaluate the formula exactly.
 * A hit is a genuine model (the evaluator has SMT semantics), so refutations and the
 * satisfiability side of the guards are usually settled without a solver call; Z3 is still asked
 * whenever the search finds nothing, so a miss never becomes a proof.
 */
import { evaluate, propagate, subterms, type Leaf, type Term, type TermBuilder } from '../smt/term.js';

/** Values of a found model: any term (new leaves get values lazily, consistently). */
export type ModelValue = (t: Term) => bigint | boolean | undefined;

function mask(w: number): bigint {
  return (1n << BigInt(w)) - 1n;
}

/** Deterministic xorshift64* so that counterexamples are reproducible. */
class Rng {
  private s: bigint;
  constructor(seed: bigint) {
    this.s = seed & mask(64) || 0x9e3779b97f4a7c15n;
  }
  next(): bigint {
    let x = this.s;
    x ^= x >> 12n;
    x ^= (x << 25n) & mask(64);
    x ^= x >> 27n;
    this.s = x;
    return (x * 0x2545f4914f6cdd1dn) & mask(64);
  }
  below(n: number): number {
    return Number(this.next() % BigInt(n));
  }
}

function bswap(v: bigint, bytes: number): bigint {
  let r = 0n;
  for (let i = 0; i < bytes; i++) r = (r << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return r;
}

/** Candidate values for leaves: constants of the formula and values near them. */
function pool(formula: Term): { small: bigint[]; wide: bigint[] } {
  const small = new Set<bigint>([0n, 1n, 2n, 3n, 7n, 8n, 255n, 256n, 4096n, 65535n, 65536n, 1n << 31n, 1n << 32n, (1n << 32n) - 1n, 1n << 63n, (1n << 63n) - 1n, mask(64)]);
  const wide = new Set<bigint>([0n]);
  for (const t of subterms([formula])) {
    if (t.op !== 'bv' || t.value === undefined || t.sort.k !== 'bv') continue;
    const v = t.value;
    const w = t.sort.w;
    if (w > 64) {
      wide.add(v);
      continue;
    }
    for (const d of [v, v + 1n, v - 1n, v * 2n]) small.add(d & mask(64));
    // Negative numbers sign-extended: a 64-bit constant near 2^64 stands for -k.
    if (w === 64 && v > 1n << 63n) small.add((mask(64) + 1n - v) & mask(64));
    if (v < 1n << 16n) small.add(bswap(v, 2));
    if (v < 1n << 32n) small.add(bswap(v, 4));
  }
  return { small: [...small], wide: [...wide] };
}

function canonicalString(v: bigint, w: number): bigint {
  // Zero everything after the first NUL and the last byte, as bpftrace's strings are.
  const bytes = w / 8;
  let out = 0n;
  for (let i = 0; i < bytes - 1; i++) {
    const byte = (v >> BigInt(8 * i)) & 0xffn;
    if (byte === 0n) break;
    out |= byte << BigInt(8 * i);
  }
  return out;
}

/**
 * Looks for an assignment satisfying `formula`. `defs` gives symbols that are functions of others
 * (a quotient `div!x!c` is `x / c`): they are computed, not guessed. Returns undefined after
 * `tries` misses.
 */
export function searchModel(b: TermBuilder, formula: Term, known: ReadonlyMap<string, Term>, tries = 48, seed = 1n): ModelValue | undefined {
  if (formula.op === 'false') return undefined;
  // Top-level equalities `v = t` define v: compute it instead of guessing (predicates like
  // `pid == 1234` would otherwise be hit by chance only).
  const defs = new Map(known);
  if (propagate(b, formula, 2, defs) === b.F) return undefined;
  const { small, wide } = pool(formula);
  const rng = new Rng(seed * 0x100000001b3n + BigInt(formula.id));
  for (let attempt = 0; attempt < tries; attempt++) {
    const leaves = new Map<string, bigint | boolean>();
    const memo = new Map<number, bigint | boolean>();
    const pick = (w: number): bigint => {
      if (w > 64) {
        const r = rng.below(4);
        if (r < 3 && wide.length > 0) return (wide[rng.below(wide.length)] as bigint) & mask(w);
        // A short printable string.
        let v = 0n;
        const len = 1 + rng.below(6);
        for (let i = 0; i < len; i++) v |= BigInt(97 + rng.below(26)) << BigInt(8 * i);
        return v & mask(w);
      }
      const r = rng.below(10);
      if (r < 7) return (small[rng.below(small.length)] as bigint) & mask(w);
      if (r < 9) return BigInt(rng.below(1000)) & mask(w);
      return rng.next() & mask(w);
    };
    const leaf: Leaf = (t, args) => {
      const key = `${t.name ?? t.id}(${args.join(',')})`;
      const hit = leaves.get(key);
      if (hit !== undefined) return hit;
      let v: bigint | boolean;
      const def = t.op === 'var' && t.name !== undefined ? defs.get(t.name) : undefined;
      if (def) v = evaluate(def, leaf, memo);
      else if (t.sort.k === 'bool') v = rng.below(2) === 0;
      else {
        const w = t.sort.k === 'bv' ? t.sort.w : t.sort.value;
        v = pick(w);
        if (w > 64) v = canonicalString(v, w);
      }
      leaves.set(key, v);
      return v;
    };
    let ok = false;
    try {
      ok = evaluate(formula, leaf, memo) === true;
    } catch {
      return undefined;
    }
    if (ok) {
      return (t: Term) => {
        if (t.sort.k === 'array') return undefined;
        try {
          return evaluate(t, leaf, memo);
        } catch {
          return undefined;
        }
      };
    }
  }
  return undefined;
}
