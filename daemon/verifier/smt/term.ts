/**
 * A small hash-consed SMT term language (booleans, bit-vectors, arrays of bit-vectors,
 * uninterpreted functions) with a constant-folding simplifier. The executor builds these terms;
 * only `solver.ts` turns them into Z3 objects. Structurally equal terms are the same object, so
 * `a === b` is term equality and many queries are decided without the solver.
 */

/** Sorts: Bool, BitVec(w), Array(BitVec(index) -> BitVec(value)). */
export type Sort =
  | { readonly k: 'bool' }
  | { readonly k: 'bv'; readonly w: number }
  | { readonly k: 'array'; readonly index: number; readonly value: number };

/** Term operators: SMT-LIB bit-vector, Boolean and array operations plus leaves. */
export type Op =
  | 'bv'
  | 'true'
  | 'false'
  | 'var'
  | 'uf'
  | 'not'
  | 'and'
  | 'or'
  | 'ite'
  | 'eq'
  | 'ult'
  | 'ule'
  | 'slt'
  | 'sle'
  | 'add'
  | 'sub'
  | 'mul'
  | 'udiv'
  | 'urem'
  | 'bvand'
  | 'bvor'
  | 'bvxor'
  | 'bvnot'
  | 'neg'
  | 'shl'
  | 'lshr'
  | 'ashr'
  | 'extract'
  | 'concat'
  | 'zext'
  | 'sext'
  | 'select'
  | 'store'
  | 'const-array';

/** A term. Never build one directly: use a {@link TermBuilder}. */
export interface Term {
  readonly id: number;
  readonly op: Op;
  readonly sort: Sort;
  readonly args: readonly Term[];
  /** `extract`: [hi, lo]; `zext`/`sext`: [n]. */
  readonly params: readonly number[];
  /** `bv` constants: value in [0, 2^w). */
  readonly value?: bigint;
  /** `var` and `uf`: the symbol name. */
  readonly name?: string;
}

/** The Boolean sort. */
export const BOOL: Sort = { k: 'bool' };
const bvSorts = new Map<number, Sort>();
/** The bit-vector sort of width `w` (shared instances). */
export function bvSort(w: number): Sort {
  let s = bvSorts.get(w);
  if (!s) {
    s = { k: 'bv', w };
    bvSorts.set(w, s);
  }
  return s;
}
/** Arrays from `index`-bit keys to `value`-bit values (bpftrace maps). */
export function arraySort(index: number, value: number): Sort {
  return { k: 'array', index, value };
}

/** A short text key of a sort (`B`, `V64`, `A64_64`), for hash-consing. */
export function sortKey(s: Sort): string {
  return s.k === 'bool' ? 'B' : s.k === 'bv' ? `V${s.w}` : `A${s.index}_${s.value}`;
}

/** Width of a bit-vector term (throws for other sorts: a bug in the caller). */
export function widthOf(t: Term): number {
  if (t.sort.k !== 'bv') throw new Error(`internal: expected a bit-vector term, got ${sortKey(t.sort)} (${t.op})`);
  return t.sort.w;
}

function mask(w: number): bigint {
  return (1n << BigInt(w)) - 1n;
}
function toSigned(v: bigint, w: number): bigint {
  return v >= 1n << BigInt(w - 1) ? v - (1n << BigInt(w)) : v;
}

// Term ids are unique in the whole process, not per builder: the solver's translation cache is
// keyed by id, and one verification run may use several builders (coverage runs the probes of
// each cover again), so two builders' terms must never share an id.
let nextTermId = 1;

/** Builds hash-consed, simplified terms. One builder per execution of a program. */
export class TermBuilder {
  private readonly table = new Map<string, Term>();
  readonly T: Term;
  readonly F: Term;
  /** Declared symbols (vars and UFs) by name, with their sort signature, to catch clashes. */
  private readonly symbols = new Map<string, string>();
  private freshCount = 0;

  constructor() {
    this.T = this.mk('true', BOOL, []);
    this.F = this.mk('false', BOOL, []);
  }

  private mk(op: Op, sort: Sort, args: readonly Term[], params: readonly number[] = [], value?: bigint, name?: string): Term {
    const key = `${op}|${sortKey(sort)}|${args.map((a) => a.id).join(',')}|${params.join(',')}|${value ?? ''}|${name ?? ''}`;
    const hit = this.table.get(key);
    if (hit) return hit;
    const t: Term = { id: nextTermId++, op, sort, args, params, ...(value !== undefined ? { value } : {}), ...(name !== undefined ? { name } : {}) };
    this.table.set(key, t);
    return t;
  }

  // ---- leaves ----------------------------------------------------------------------------

  bv(value: bigint | number, w: number): Term {
    const v = BigInt(value) & mask(w);
    return this.mk('bv', bvSort(w), [], [], v);
  }
  bool(b: boolean): Term {
    return b ? this.T : this.F;
  }
  /** A named free symbol. The same name and sort give the same term. */
  variable(name: string, sort: Sort): Term {
    this.claim(name, sortKey(sort));
    return this.mk('var', sort, [], [], undefined, name);
  }
  /** A fresh symbol whose name starts with `hint`. */
  fresh(hint: string, sort: Sort): Term {
    return this.variable(`${hint}!${++this.freshCount}`, sort);
  }
  /** Application of the uninterpreted function `name` (declared by its argument and result sorts). */
  uf(name: string, args: readonly Term[], result: Sort): Term {
    this.claim(name, `${args.map((a) => sortKey(a.sort)).join(',')}->${sortKey(result)}`);
    return this.mk('uf', result, args, [], undefined, name);
  }
  private claim(name: string, sig: string): void {
    const prev = this.symbols.get(name);
    if (prev !== undefined && prev !== sig) throw new Error(`internal: symbol ${name} used with two sorts (${prev}, ${sig})`);
    this.symbols.set(name, sig);
  }

  // ---- booleans --------------------------------------------------------------------------

  not(a: Term): Term {
    if (a === this.T) return this.F;
    if (a === this.F) return this.T;
    if (a.op === 'not') return a.args[0] as Term;
    return this.mk('not', BOOL, [a]);
  }
  and(...xs: Term[]): Term {
    return this.junction('and', this.T, this.F, xs);
  }
  or(...xs: Term[]): Term {
    return this.junction('or', this.F, this.T, xs);
  }
  /**
   * `and`/`or` flattened and simplified: `unit` operands drop out, an `absorbing` operand (or a
   * term next to its negation) decides the whole, duplicates are kept once.
   */
  private junction(op: 'and' | 'or', unit: Term, absorbing: Term, xs: Term[]): Term {
    const out: Term[] = [];
    const seen = new Set<number>();
    const push = (t: Term): boolean => {
      if (t === unit) return true;
      if (t === absorbing) return false;
      if (t.op === op) {
        for (const c of t.args) if (!push(c)) return false;
        return true;
      }
      if (seen.has(this.not(t).id)) return false;
      if (!seen.has(t.id)) {
        seen.add(t.id);
        out.push(t);
      }
      return true;
    };
    for (const x of xs) if (!push(x)) return absorbing;
    if (out.length === 0) return unit;
    if (out.length === 1) return out[0] as Term;
    return this.mk(op, BOOL, out);
  }
  implies(a: Term, b: Term): Term {
    return this.or(this.not(a), b);
  }
  ite(c: Term, a: Term, b: Term): Term {
    if (c === this.T) return a;
    if (c === this.F) return b;
    if (a === b) return a;
    if (c.op === 'not') return this.ite(c.args[0] as Term, b, a);
    if (a.sort.k === 'bool') {
      if (a === this.T && b === this.F) return c;
      if (a === this.F && b === this.T) return this.not(c);
    }
    return this.mk('ite', a.sort, [c, a, b]);
  }

  // ---- comparisons -----------------------------------------------------------------------

  eq(a: Term, b: Term): Term {
    if (a === b) return this.T;
    if (a.op === 'bv' && b.op === 'bv') return this.bool(a.value === b.value);
    if ((a.op === 'true' || a.op === 'false') && (b.op === 'true' || b.op === 'false')) return this.bool(a === b);
    if (a.sort.k === 'bool') {
      if (b === this.T) return a;
      if (b === this.F) return this.not(a);
      if (a === this.T) return b;
      if (a === this.F) return this.not(b);
    }
    // zext(x) == c: compare at x's width, or false when c does not fit.
    if (a.op === 'bv' && b.op !== 'bv') return this.eq(b, a);
    if (b.op === 'bv' && a.op === 'zext') {
      const x = a.args[0] as Term;
      const w = widthOf(x);
      return (b.value as bigint) >> BigInt(w) === 0n ? this.eq(x, this.bv(b.value as bigint, w)) : this.F;
    }
    if (b.op === 'bv' && a.op === 'sext') {
      const x = a.args[0] as Term;
      const w = widthOf(x);
      const v = b.value as bigint;
      const fits = toSigned(v, widthOf(a)) === toSigned(v & mask(w), w);
      return fits ? this.eq(x, this.bv(v, w)) : this.F;
    }
    if (b.op === 'bv' && a.op === 'ite' && (a.args[1] as Term).op === 'bv' && (a.args[2] as Term).op === 'bv') {
      return this.ite(a.args[0] as Term, this.eq(a.args[1] as Term, b), this.eq(a.args[2] as Term, b));
    }
    if (a.op === 'zext' && b.op === 'zext' && a.params[0] === b.params[0]) return this.eq(a.args[0] as Term, b.args[0] as Term);
    const [x, y] = a.id < b.id ? [a, b] : [b, a];
    return this.mk('eq', BOOL, [x, y]);
  }
  /** Largest value a term can take, from its shape (zero-extension bounds it). */
  private maxOf(t: Term): bigint {
    if (t.op === 'bv') return t.value as bigint;
    if (t.op === 'zext') return mask(widthOf(t.args[0] as Term));
    return mask(widthOf(t));
  }
  ult(a: Term, b: Term): Term {
    if (a === b) return this.F;
    if (a.op === 'bv' && b.op === 'bv') return this.bool((a.value as bigint) < (b.value as bigint));
    if (b.op === 'bv' && b.value === 0n) return this.F;
    // c < zext(x) is false when c is at least x's maximum; zext(x) < c true when c exceeds it.
    if (a.op === 'bv' && (a.value as bigint) >= this.maxOf(b)) return this.F;
    if (b.op === 'bv' && this.maxOf(a) < (b.value as bigint)) return this.T;
    return this.mk('ult', BOOL, [a, b]);
  }
  ule(a: Term, b: Term): Term {
    if (a === b) return this.T;
    if (a.op === 'bv' && b.op === 'bv') return this.bool((a.value as bigint) <= (b.value as bigint));
    if (a.op === 'bv' && a.value === 0n) return this.T;
    if (b.op === 'bv' && this.maxOf(a) <= (b.value as bigint)) return this.T;
    if (a.op === 'bv' && (a.value as bigint) > this.maxOf(b)) return this.F;
    return this.mk('ule', BOOL, [a, b]);
  }
  slt(a: Term, b: Term): Term {
    if (a === b) return this.F;
    if (a.op === 'bv' && b.op === 'bv') {
      const w = widthOf(a);
      return this.bool(toSigned(a.value as bigint, w) < toSigned(b.value as bigint, w));
    }
    return this.mk('slt', BOOL, [a, b]);
  }
  sle(a: Term, b: Term): Term {
    if (a === b) return this.T;
    if (a.op === 'bv' && b.op === 'bv') {
      const w = widthOf(a);
      return this.bool(toSigned(a.value as bigint, w) <= toSigned(b.value as bigint, w));
    }
    return this.mk('sle', BOOL, [a, b]);
  }

  // ---- bit-vector arithmetic -------------------------------------------------------------

  private bin(op: Op, a: Term, b: Term, fold: (x: bigint, y: bigint, w: number) => bigint): Term {
    const w = widthOf(a);
    if (widthOf(b) !== w) throw new Error(`internal: ${op} of widths ${w} and ${widthOf(b)}`);
    if (a.op === 'bv' && b.op === 'bv') return this.bv(fold(a.value as bigint, b.value as bigint, w), w);
    return this.mk(op, a.sort, [a, b]);
  }
  add(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    if (a.op === 'bv' && a.value === 0n) return b;
    return this.bin('add', a, b, (x, y) => x + y);
  }
  sub(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    if (a === b) return this.bv(0, widthOf(a));
    return this.bin('sub', a, b, (x, y) => x - y);
  }
  mul(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 1n) return a;
    if (a.op === 'bv' && a.value === 1n) return b;
    if ((b.op === 'bv' && b.value === 0n) || (a.op === 'bv' && a.value === 0n)) return this.bv(0, widthOf(a));
    return this.bin('mul', a, b, (x, y) => x * y);
  }
  /** Unsigned division; SMT-LIB defines x/0 as all ones, so callers wanting BPF's x/0 = 0 guard it. */
  udiv(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 1n) return a;
    return this.bin('udiv', a, b, (x, y, w) => (y === 0n ? mask(w) : x / y));
  }
  /** Unsigned remainder; SMT-LIB defines x%0 as x. */
  urem(a: Term, b: Term): Term {
    return this.bin('urem', a, b, (x, y) => (y === 0n ? x : x % y));
  }
  bvand(a: Term, b: Term): Term {
    const w = widthOf(a);
    if (b.op === 'bv' && b.value === mask(w)) return a;
    if (a.op === 'bv' && a.value === mask(w)) return b;
    if ((b.op === 'bv' && b.value === 0n) || (a.op === 'bv' && a.value === 0n)) return this.bv(0, w);
    if (a === b) return a;
    return this.bin('bvand', a, b, (x, y) => x & y);
  }
  bvor(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    if (a.op === 'bv' && a.value === 0n) return b;
    if (a === b) return a;
    return this.bin('bvor', a, b, (x, y) => x | y);
  }
  bvxor(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    if (a.op === 'bv' && a.value === 0n) return b;
    if (a === b) return this.bv(0, widthOf(a));
    return this.bin('bvxor', a, b, (x, y) => x ^ y);
  }
  bvnot(a: Term): Term {
    const w = widthOf(a);
    if (a.op === 'bv') return this.bv(~(a.value as bigint), w);
    if (a.op === 'bvnot') return a.args[0] as Term;
    return this.mk('bvnot', a.sort, [a]);
  }
  neg(a: Term): Term {
    const w = widthOf(a);
    if (a.op === 'bv') return this.bv(-(a.value as bigint), w);
    return this.mk('neg', a.sort, [a]);
  }
  shl(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    return this.bin('shl', a, b, (x, y, w) => (y >= BigInt(w) ? 0n : x << y));
  }
  lshr(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    const w = widthOf(a);
    // (zext x) >> c with c >= width(x) is 0.
    if (b.op === 'bv' && a.op === 'zext' && (b.value as bigint) >= BigInt(widthOf(a.args[0] as Term))) return this.bv(0, w);
    return this.bin('lshr', a, b, (x, y, ww) => (y >= BigInt(ww) ? 0n : x >> y));
  }
  ashr(a: Term, b: Term): Term {
    if (b.op === 'bv' && b.value === 0n) return a;
    return this.bin('ashr', a, b, (x, y, w) => {
      const s = toSigned(x, w);
      return y >= BigInt(w) ? (s < 0n ? -1n : 0n) : s >> y;
    });
  }

  // ---- width changes ---------------------------------------------------------------------

  extract(hi: number, lo: number, a: Term): Term {
    const w = widthOf(a);
    if (hi < lo || hi >= w || lo < 0) throw new Error(`internal: extract ${hi}:${lo} of width ${w}`);
    if (lo === 0 && hi === w - 1) return a;
    if (a.op === 'bv') return this.bv((a.value as bigint) >> BigInt(lo), hi - lo + 1);
    if (a.op === 'extract') return this.extract(hi + (a.params[1] as number), lo + (a.params[1] as number), a.args[0] as Term);
    if (a.op === 'zext' || a.op === 'sext') {
      const x = a.args[0] as Term;
      const xw = widthOf(x);
      if (hi < xw) return this.extract(hi, lo, x);
      if (a.op === 'zext' && lo >= xw) return this.bv(0, hi - lo + 1);
      if (a.op === 'zext' && lo === 0) return this.zext(hi + 1 - xw, x);
    }
    if (a.op === 'concat') {
      // concat(args[0] high ... args[n-1] low)
      let base = 0;
      for (let i = a.args.length - 1; i >= 0; i--) {
        const part = a.args[i] as Term;
        const pw = widthOf(part);
        if (lo >= base && hi < base + pw) return this.extract(hi - base, lo - base, part);
        base += pw;
      }
    }
    if ((a.op === 'bvand' || a.op === 'bvor' || a.op === 'bvxor') && ((a.args[1] as Term).op === 'bv' || (a.args[0] as Term).op === 'bv')) {
      const l = this.extract(hi, lo, a.args[0] as Term);
      const r = this.extract(hi, lo, a.args[1] as Term);
      return a.op === 'bvand' ? this.bvand(l, r) : a.op === 'bvor' ? this.bvor(l, r) : this.bvxor(l, r);
    }
    if (a.op === 'ite') {
      return this.ite(a.args[0] as Term, this.extract(hi, lo, a.args[1] as Term), this.extract(hi, lo, a.args[2] as Term));
    }
    return this.mk('extract', bvSort(hi - lo + 1), [a], [hi, lo]);
  }
  /** `parts[0]` holds the high bits. */
  concat(...parts: Term[]): Term {
    const flat: Term[] = [];
    for (const p of parts) {
      if (p.op === 'concat') flat.push(...p.args);
      else flat.push(p);
    }
    // Merge adjacent constants and adjacent extracts of the same term.
    const merged: Term[] = [];
    for (const p of flat) {
      const prev = merged[merged.length - 1];
      if (prev && prev.op === 'bv' && p.op === 'bv') {
        merged[merged.length - 1] = this.bv(((prev.value as bigint) << BigInt(widthOf(p))) | (p.value as bigint), widthOf(prev) + widthOf(p));
        continue;
      }
      if (
        prev &&
        prev.op === 'extract' &&
        p.op === 'extract' &&
        prev.args[0] === p.args[0] &&
        (prev.params[1] as number) === (p.params[0] as number) + 1
      ) {
        merged[merged.length - 1] = this.extract(prev.params[0] as number, p.params[1] as number, p.args[0] as Term);
        continue;
      }
      merged.push(p);
    }
    if (merged.length === 1) return merged[0] as Term;
    const first = merged[0] as Term;
    if (first.op === 'bv' && first.value === 0n) {
      const rest = merged.length === 2 ? (merged[1] as Term) : this.mk('concat', bvSort(merged.slice(1).reduce((s, t) => s + widthOf(t), 0)), merged.slice(1));
      return this.zext(widthOf(first), rest);
    }
    const w = merged.reduce((s, t) => s + widthOf(t), 0);
    return this.mk('concat', bvSort(w), merged);
  }
  zext(n: number, a: Term): Term {
    if (n === 0) return a;
    const w = widthOf(a);
    if (a.op === 'bv') return this.bv(a.value as bigint, w + n);
    if (a.op === 'zext') return this.zext(n + (a.params[0] as number), a.args[0] as Term);
    return this.mk('zext', bvSort(w + n), [a], [n]);
  }
  sext(n: number, a: Term): Term {
    if (n === 0) return a;
    const w = widthOf(a);
    if (a.op === 'bv') return this.bv(toSigned(a.value as bigint, w), w + n);
    if (a.op === 'sext') return this.sext(n + (a.params[0] as number), a.args[0] as Term);
    if (a.op === 'zext') return this.zext(n, a);
    return this.mk('sext', bvSort(w + n), [a], [n]);
  }
  /** Zero-extends or truncates to width `w`. */
  resize(a: Term, w: number, signed = false): Term {
    const aw = widthOf(a);
    if (aw === w) return a;
    if (aw > w) return this.extract(w - 1, 0, a);
    return signed ? this.sext(w - aw, a) : this.zext(w - aw, a);
  }

  // ---- arrays ----------------------------------------------------------------------------

  select(arr: Term, key: Term): Term {
    if (arr.sort.k !== 'array') throw new Error('internal: select on a non-array');
    let a = arr;
    // Walk past stores to provably different constant keys.
    for (;;) {
      if (a.op === 'store') {
        const k = a.args[1] as Term;
        if (k === key) return a.args[2] as Term;
        if (k.op === 'bv' && key.op === 'bv') {
          a = a.args[0] as Term;
          continue;
        }
      }
      if (a.op === 'const-array') return a.args[0] as Term;
      break;
    }
    return this.mk('select', bvSort(arr.sort.value), [a, key]);
  }
  store(arr: Term, key: Term, value: Term): Term {
    return this.mk('store', arr.sort, [arr, key, value]);
  }
  constArray(index: number, value: Term): Term {
    return this.mk('const-array', arraySort(index, widthOf(value)), [value]);
  }
}

/** Free symbols (vars and UF names) of terms, by name. */
export function freeSymbols(terms: readonly Term[]): Map<string, Term> {
  const out = new Map<string, Term>();
  const seen = new Set<number>();
  const stack = [...terms];
  while (stack.length > 0) {
    const t = stack.pop() as Term;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if ((t.op === 'var' || t.op === 'uf') && t.name !== undefined) out.set(t.name, t);
    for (const a of t.args) stack.push(a);
  }
  return out;
}

/** All subterms (including the roots), each once. */
export function subterms(terms: readonly Term[]): Term[] {
  const out: Term[] = [];
  const seen = new Set<number>();
  const stack = [...terms];
  while (stack.length > 0) {
    const t = stack.pop() as Term;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    out.push(t);
    for (const a of t.args) stack.push(a);
  }
  return out;
}

/**
 * Rebuilds `t` with every symbol renamed by `rename` (vars and UFs), through the builder so the
 * result is simplified. Used to make disjoint copies of formulas for batched satisfiability checks.
 */
export function renameSymbols(b: TermBuilder, t: Term, rename: (name: string) => string, memo = new Map<number, Term>()): Term {
  const hit = memo.get(t.id);
  if (hit) return hit;
  const args = t.args.map((a) => renameSymbols(b, a, rename, memo));
  const r = rebuild(b, t, args, rename);
  memo.set(t.id, r);
  return r;
}

/**
 * Rebuilds `t` with some subterms replaced (`subst` by term id), simplifying on the way.
 */
export function substitute(b: TermBuilder, t: Term, subst: ReadonlyMap<number, Term>, memo = new Map<number, Term>()): Term {
  const direct = subst.get(t.id);
  if (direct) return direct;
  const hit = memo.get(t.id);
  if (hit) return hit;
  const args = t.args.map((a) => substitute(b, a, subst, memo));
  const r = args.every((a, i) => a === t.args[i]) ? t : rebuild(b, t, args, (n) => n);
  memo.set(t.id, r);
  return r;
}

function rebuild(b: TermBuilder, t: Term, args: readonly Term[], rename: (name: string) => string): Term {
  const a = (i: number): Term => args[i] as Term;
  switch (t.op) {
    case 'bv':
      return t;
    case 'true':
    case 'false':
      return t;
    case 'var':
      return b.variable(rename(t.name as string), t.sort);
    case 'uf':
      return b.uf(rename(t.name as string), args, t.sort);
    case 'not':
      return b.not(a(0));
    case 'and':
      return b.and(...args);
    case 'or':
      return b.or(...args);
    case 'ite':
      return b.ite(a(0), a(1), a(2));
    case 'eq':
      return b.eq(a(0), a(1));
    case 'ult':
      return b.ult(a(0), a(1));
    case 'ule':
      return b.ule(a(0), a(1));
    case 'slt':
      return b.slt(a(0), a(1));
    case 'sle':
      return b.sle(a(0), a(1));
    case 'add':
      return b.add(a(0), a(1));
    case 'sub':
      return b.sub(a(0), a(1));
    case 'mul':
      return b.mul(a(0), a(1));
    case 'udiv':
      return b.udiv(a(0), a(1));
    case 'urem':
      return b.urem(a(0), a(1));
    case 'bvand':
      return b.bvand(a(0), a(1));
    case 'bvor':
      return b.bvor(a(0), a(1));
    case 'bvxor':
      return b.bvxor(a(0), a(1));
    case 'bvnot':
      return b.bvnot(a(0));
    case 'neg':
      return b.neg(a(0));
    case 'shl':
      return b.shl(a(0), a(1));
    case 'lshr':
      return b.lshr(a(0), a(1));
    case 'ashr':
      return b.ashr(a(0), a(1));
    case 'extract':
      return b.extract(t.params[0] as number, t.params[1] as number, a(0));
    case 'concat':
      return b.concat(...args);
    case 'zext':
      return b.zext(t.params[0] as number, a(0));
    case 'sext':
      return b.sext(t.params[0] as number, a(0));
    case 'select':
      return b.select(a(0), a(1));
    case 'store':
      return b.store(a(0), a(1), a(2));
    case 'const-array':
      return b.constArray((t.sort as { index: number }).index, a(0));
  }
}

/** Supplies values of leaves: vars (`args` []), UF applications and reads of array variables (`args` [key]). */
export type Leaf = (t: Term, args: readonly bigint[]) => bigint | boolean;

/**
 * Evaluates a term exactly (SMT-LIB semantics) with leaf values from `leaf`. `memo` may be shared
 * across calls that use the same leaf assignment.
 */
export function evaluate(root: Term, leaf: Leaf, memo: Map<number, bigint | boolean> = new Map()): bigint | boolean {
  const go = (x: Term): bigint | boolean => {
    const hit = memo.get(x.id);
    if (hit !== undefined) return hit;
    const r = ev(x);
    memo.set(x.id, r);
    return r;
  };
  const readArray = (arr: Term, key: bigint): bigint => {
    let a = arr;
    for (;;) {
      if (a.op === 'store') {
        if (go(a.args[1] as Term) === key) return go(a.args[2] as Term) as bigint;
        a = a.args[0] as Term;
        continue;
      }
      if (a.op === 'const-array') return go(a.args[0] as Term) as bigint;
      if (a.op === 'ite') {
        a = (go(a.args[0] as Term) ? a.args[1] : a.args[2]) as Term;
        continue;
      }
      return leaf(a, [key]) as bigint;
    }
  };
  const ev = (x: Term): bigint | boolean => {
    switch (x.op) {
      case 'bv':
        return x.value as bigint;
      case 'true':
        return true;
      case 'false':
        return false;
      case 'var':
        return leaf(x, []);
      case 'uf':
        return leaf(
          x,
          x.args.map((a) => go(a) as bigint),
        );
      case 'select':
        return readArray(x.args[0] as Term, go(x.args[1] as Term) as bigint);
      case 'ite':
        return go((go(x.args[0] as Term) ? x.args[1] : x.args[2]) as Term);
      case 'and':
        for (const a of x.args) if (go(a) !== true) return false;
        return true;
      case 'or':
        for (const a of x.args) if (go(a) === true) return true;
        return false;
      case 'not':
        return !go(x.args[0] as Term);
      case 'store':
      case 'const-array':
        throw new Error('internal: array term evaluated as a value');
      default:
        break;
    }
    const n = (i: number): bigint => go(x.args[i] as Term) as bigint;
    const w = x.sort.k === 'bv' ? x.sort.w : 0;
    const aw = x.args[0] && x.args[0].sort.k === 'bv' ? x.args[0].sort.w : 0;
    const m = (v: bigint): bigint => v & mask(w);
    switch (x.op) {
      case 'eq':
        return go(x.args[0] as Term) === go(x.args[1] as Term);
      case 'ult':
        return n(0) < n(1);
      case 'ule':
        return n(0) <= n(1);
      case 'slt':
        return toSigned(n(0), aw) < toSigned(n(1), aw);
      case 'sle':
        return toSigned(n(0), aw) <= toSigned(n(1), aw);
      case 'add':
        return m(n(0) + n(1));
      case 'sub':
        return m(n(0) - n(1));
      case 'mul':
        return m(n(0) * n(1));
      case 'udiv': {
        const d = n(1);
        return d === 0n ? mask(w) : n(0) / d;
      }
      case 'urem': {
        const d = n(1);
        return d === 0n ? n(0) : n(0) % d;
      }
      case 'bvand':
        return n(0) & n(1);
      case 'bvor':
        return n(0) | n(1);
      case 'bvxor':
        return n(0) ^ n(1);
      case 'bvnot':
        return m(~n(0));
      case 'neg':
        return m(-n(0));
      case 'shl': {
        const k = n(1);
        return k >= BigInt(w) ? 0n : m(n(0) << k);
      }
      case 'lshr': {
        const k = n(1);
        return k >= BigInt(w) ? 0n : n(0) >> k;
      }
      case 'ashr': {
        const s0 = toSigned(n(0), w);
        const k = n(1);
        return m(k >= BigInt(w) ? (s0 < 0n ? -1n : 0n) : s0 >> k);
      }
      case 'extract':
        return (n(0) >> BigInt(x.params[1] as number)) & mask((x.params[0] as number) - (x.params[1] as number) + 1);
      case 'concat': {
        let acc = 0n;
        x.args.forEach((a, i) => {
          acc = (acc << BigInt((a.sort as { w: number }).w)) | n(i);
        });
        return acc;
      }
      case 'zext':
        return n(0);
      case 'sext':
        return m(toSigned(n(0), aw));
      default:
        throw new Error(`internal: cannot evaluate ${x.op}`);
    }
  };
  return go(root);
}

function occurs(v: Term, t: Term): boolean {
  return subterms([t]).includes(v);
}

/**
 * Cheap top-level propagation, to settle obviously unsatisfiable queries without the solver:
 * eliminates variables defined by top-level equalities and treats every top-level conjunct as
 * true inside the others. Returns `F` when that exposes a contradiction. `defs` receives the
 * eliminated variables with their definitions (in terms of later ones). The result is
 * equisatisfiable with the input but drops eliminated definitions, so models must come from the
 * original formula.
 */
export function propagate(b: TermBuilder, formula: Term, rounds = 4, defs?: Map<string, Term>): Term {
  let conj: Term[] = formula.op === 'and' ? [...formula.args] : [formula];
  for (let round = 0; round < rounds; round++) {
    let changed = false;
    // Variable elimination, one definition at a time.
    for (let i = 0; i < conj.length; i++) {
      const c = conj[i] as Term;
      if (c.op !== 'eq') continue;
      const [l, r] = c.args as [Term, Term];
      const pick = l.op === 'var' && !occurs(l, r) ? [l, r] : r.op === 'var' && !occurs(r, l) ? [r, l] : undefined;
      if (!pick) continue;
      const [v, t] = pick as [Term, Term];
      defs?.set(v.name as string, t);
      const subst = new Map<number, Term>([[v.id, t]]);
      const memo = new Map<number, Term>();
      const next: Term[] = [];
      conj.forEach((d, j) => {
        if (j !== i) next.push(substitute(b, d, subst, memo));
      });
      conj = next.flatMap((d) => (d.op === 'and' ? [...d.args] : [d]));
      if (conj.some((d) => d === b.F)) return b.F;
      changed = true;
      i = -1;
    }
    // Each conjunct holds inside the others.
    const out: Term[] = [];
    for (let i = 0; i < conj.length; i++) {
      const subst = new Map<number, Term>();
      conj.forEach((d, j) => {
        if (j === i) return;
        if (d.op === 'not') subst.set((d.args[0] as Term).id, b.F);
        else subst.set(d.id, b.T);
      });
      const r = substitute(b, conj[i] as Term, subst);
      if (r === b.F) return b.F;
      if (r !== conj[i]) changed = true;
      out.push(r);
    }
    conj = out.flatMap((d) => (d.op === 'and' ? [...d.args] : [d])).filter((d) => d !== b.T);
    if (!changed) break;
  }
  return b.and(...conj);
}
