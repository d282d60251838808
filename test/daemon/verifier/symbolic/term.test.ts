/**
 * The term layer against two references: a direct bigint interpreter of random expression trees
 * (checks the builder's simplifications and `evaluate`), and Z3 itself (checks the translation).
 * Plus table tests of the simplifier and of `propagate`.
 */
import t from 'tap';
import { acquireSolver } from '../../../../daemon/verifier/smt/solver.js';
import { bvSort, evaluate, propagate, TermBuilder, type Term } from '../../../../daemon/verifier/smt/term.js';

type Tree =
  | { op: 'var'; name: string; w: number }
  | { op: 'const'; v: bigint; w: number }
  | { op: 'bin'; f: 'add' | 'sub' | 'mul' | 'udiv' | 'urem' | 'bvand' | 'bvor' | 'bvxor' | 'shl' | 'lshr' | 'ashr'; a: Tree; b: Tree }
  | { op: 'un'; f: 'neg' | 'bvnot'; a: Tree }
  | { op: 'ext'; f: 'zext' | 'sext'; n: number; a: Tree }
  | { op: 'extract'; hi: number; lo: number; a: Tree }
  | { op: 'concat'; a: Tree; b: Tree }
  | { op: 'ite'; c: 'eq' | 'ult' | 'ule' | 'slt' | 'sle'; x: Tree; y: Tree; a: Tree; b: Tree };

const mask = (w: number): bigint => (1n << BigInt(w)) - 1n;
const sgn = (v: bigint, w: number): bigint => (v >= 1n << BigInt(w - 1) ? v - (1n << BigInt(w)) : v);
const width = (tr: Tree): number => {
  switch (tr.op) {
    case 'var':
    case 'const':
      return tr.w;
    case 'bin':
    case 'un':
      return width(tr.a);
    case 'ext':
      return width(tr.a) + tr.n;
    case 'extract':
      return tr.hi - tr.lo + 1;
    case 'concat':
      return width(tr.a) + width(tr.b);
    case 'ite':
      return width(tr.a);
  }
};

let seed = 12345n;
const rnd = (n: number): number => {
  seed = (seed * 6364136223846793005n + 1442695040888963407n) & mask(64);
  return Number((seed >> 33n) % BigInt(n));
};
const rndVal = (w: number): bigint => {
  const pick = rnd(5);
  if (pick === 0) return 0n;
  if (pick === 1) return mask(w);
  if (pick === 2) return 1n << BigInt(rnd(w));
  return ((BigInt(rnd(1 << 30)) << 34n) ^ (BigInt(rnd(1 << 30)) << 4n) ^ BigInt(rnd(16))) & mask(w);
};

function gen(w: number, depth: number): Tree {
  if (depth === 0 || rnd(4) === 0) return rnd(3) === 0 ? { op: 'const', v: rndVal(w), w } : { op: 'var', name: `v${w}_${rnd(2)}`, w };
  const k = rnd(8);
  if (k <= 2) {
    const fs = ['add', 'sub', 'mul', 'udiv', 'urem', 'bvand', 'bvor', 'bvxor', 'shl', 'lshr', 'ashr'] as const;
    const f = fs[rnd(fs.length)] as (typeof fs)[number];
    const b = ['shl', 'lshr', 'ashr', 'udiv', 'urem'].includes(f) && rnd(2) === 0 ? ({ op: 'const', v: BigInt(rnd(w + 2)), w } as Tree) : gen(w, depth - 1);
    return { op: 'bin', f, a: gen(w, depth - 1), b };
  }
  if (k === 3) return { op: 'un', f: rnd(2) === 0 ? 'neg' : 'bvnot', a: gen(w, depth - 1) };
  if (k === 4 && w > 8) {
    const n = w === 64 ? 48 : 8;
    return { op: 'ext', f: rnd(2) === 0 ? 'zext' : 'sext', n, a: gen(w - n, depth - 1) };
  }
  if (k === 5) {
    const src = w === 64 ? 64 : 64;
    const lo = rnd(src - w + 1);
    return { op: 'extract', hi: lo + w - 1, lo, a: gen(src, depth - 1) };
  }
  if (k === 6 && w === 16) return { op: 'concat', a: gen(8, depth - 1), b: gen(8, depth - 1) };
  const cs = ['eq', 'ult', 'ule', 'slt', 'sle'] as const;
  const cw = [8, 16, 64][rnd(3)] as number;
  return { op: 'ite', c: cs[rnd(cs.length)] as (typeof cs)[number], x: gen(cw, depth - 1), y: gen(cw, depth - 1), a: gen(w, depth - 1), b: gen(w, depth - 1) };
}

function interp(tr: Tree, env: Map<string, bigint>): bigint {
  const w = width(tr);
  switch (tr.op) {
    case 'var':
      return env.get(tr.name) as bigint;
    case 'const':
      return tr.v;
    case 'un': {
      const a = interp(tr.a, env);
      return (tr.f === 'neg' ? -a : ~a) & mask(w);
    }
    case 'ext': {
      const a = interp(tr.a, env);
      return tr.f === 'zext' ? a : sgn(a, width(tr.a)) & mask(w);
    }
    case 'extract':
      return (interp(tr.a, env) >> BigInt(tr.lo)) & mask(w);
    case 'concat':
      return (interp(tr.a, env) << BigInt(width(tr.b))) | interp(tr.b, env);
    case 'ite': {
      const x = interp(tr.x, env);
      const y = interp(tr.y, env);
      const xw = width(tr.x);
      const c = { eq: x === y, ult: x < y, ule: x <= y, slt: sgn(x, xw) < sgn(y, xw), sle: sgn(x, xw) <= sgn(y, xw) }[tr.c];
      return c ? interp(tr.a, env) : interp(tr.b, env);
    }
    case 'bin': {
      const a = interp(tr.a, env);
      const b = interp(tr.b, env);
      const W = BigInt(w);
      switch (tr.f) {
        case 'add':
          return (a + b) & mask(w);
        case 'sub':
          return (a - b) & mask(w);
        case 'mul':
          return (a * b) & mask(w);
        case 'udiv':
          return b === 0n ? mask(w) : a / b;
        case 'urem':
          return b === 0n ? a : a % b;
        case 'bvand':
          return a & b;
        case 'bvor':
          return a | b;
        case 'bvxor':
          return a ^ b;
        case 'shl':
          return b >= W ? 0n : (a << b) & mask(w);
        case 'lshr':
          return b >= W ? 0n : a >> b;
        case 'ashr':
          return (b >= W ? (sgn(a, w) < 0n ? -1n : 0n) : sgn(a, w) >> b) & mask(w);
      }
    }
  }
}

function build(b: TermBuilder, tr: Tree): Term {
  switch (tr.op) {
    case 'var':
      return b.variable(tr.name, bvSort(tr.w));
    case 'const':
      return b.bv(tr.v, tr.w);
    case 'un':
      return tr.f === 'neg' ? b.neg(build(b, tr.a)) : b.bvnot(build(b, tr.a));
    case 'ext':
      return tr.f === 'zext' ? b.zext(tr.n, build(b, tr.a)) : b.sext(tr.n, build(b, tr.a));
    case 'extract':
      return b.extract(tr.hi, tr.lo, build(b, tr.a));
    case 'concat':
      return b.concat(build(b, tr.a), build(b, tr.b));
    case 'ite': {
      const x = build(b, tr.x);
      const y = build(b, tr.y);
      const c = tr.c === 'eq' ? b.eq(x, y) : b[tr.c](x, y);
      return b.ite(c, build(b, tr.a), build(b, tr.b));
    }
    case 'bin':
      return b[tr.f](build(b, tr.a), build(b, tr.b));
  }
}

const N = 80;

t.test('builder + evaluate agree with a direct interpreter, and Z3 agrees with both', async (t) => {
  const { solver } = await acquireSolver();
  const b = new TermBuilder();
  let checked = 0;
  for (let i = 0; i < N; i++) {
    const w = [8, 16, 64][i % 3] as number;
    const tree = gen(w, 3);
    const env = new Map<string, bigint>();
    for (const vw of [8, 16, 64]) for (const k of [0, 1]) env.set(`v${vw}_${k}`, rndVal(vw));
    const expected = interp(tree, env);
    const term = build(b, tree);
    const got = evaluate(term, (leaf) => env.get(leaf.name as string) as bigint);
    if (got !== expected) {
      t.fail(`evaluate mismatch on ${JSON.stringify(tree, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}: ${got} != ${expected}`);
      continue;
    }
    // Z3: with the variables fixed, `term != expected` must be unsatisfiable.
    const fix = [...env].map(([name, v]) => b.eq(b.variable(name, bvSort(Number(name.slice(1).split('_')[0]))), b.bv(v, Number(name.slice(1).split('_')[0]))));
    const r = await solver.check(b.and(...fix, b.not(b.eq(term, b.bv(expected, w)))), 5000);
    if (r.status !== 'unsat') t.fail(`Z3 disagrees (${r.status}) on ${JSON.stringify(tree, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    checked++;
  }
  t.equal(checked, N, 'all random terms agree');
});

t.test('simplifications', async (t) => {
  const b = new TermBuilder();
  const x = b.variable('x', bvSort(16));
  const y = b.variable('y', bvSort(64));
  const cases: [string, Term, Term][] = [
    ['zext(x) == c folds to x == c', b.eq(b.zext(48, x), b.bv(80, 64)), b.eq(x, b.bv(80, 16))],
    ['zext(x) == c out of range is false', b.eq(b.zext(48, x), b.bv(70000, 64)), b.F],
    ['sext(x) == -1 folds to x == 0xffff', b.eq(b.sext(48, x), b.bv(-1n, 64)), b.eq(x, b.bv(0xffff, 16))],
    ['double bswap by concat is the identity', b.concat(b.extract(7, 0, b.concat(b.extract(7, 0, x), b.extract(15, 8, x))), b.extract(15, 8, b.concat(b.extract(7, 0, x), b.extract(15, 8, x)))), x],
    ['y - y = 0', b.sub(y, y), b.bv(0, 64)],
    ['65535 < zext(x16) is false', b.ult(b.bv(65535, 64), b.zext(48, x)), b.F],
    ['zext(x16) <= 65535 is true', b.ule(b.zext(48, x), b.bv(65535, 64)), b.T],
    ['zext(x16) < 65536 is true', b.ult(b.zext(48, x), b.bv(65536, 64)), b.T],
    ['a && !a is false', b.and(b.eq(y, b.bv(1, 64)), b.not(b.eq(y, b.bv(1, 64)))), b.F],
    ['select of a store at the same key', b.select(b.store(b.variable('m', { k: 'array', index: 64, value: 64 }), y, b.bv(5, 64)), y), b.bv(5, 64)],
  ];
  for (const [name, got, want] of cases) t.equal(got, want, name);
});

t.test('propagate settles obvious contradictions and keeps satisfiable formulas', async (t) => {
  const b = new TermBuilder();
  const p = b.variable('p', bvSort(32));
  const q = b.variable('q', bvSort(64));
  const r = b.variable('r', bvSort(64));
  t.equal(propagate(b, b.and(b.eq(p, b.bv(1, 32)), b.eq(p, b.bv(2, 32)))), b.F, 'p = 1 and p = 2');
  t.equal(propagate(b, b.and(b.ult(q, b.bv(10, 64)), b.eq(r, q), b.not(b.ult(r, b.bv(10, 64))))), b.F, 'through a variable definition');
  t.not(propagate(b, b.and(b.ult(q, b.bv(10, 64)), b.eq(r, q))), b.F, 'satisfiable stays');
  const defs = new Map<string, Term>();
  propagate(b, b.and(b.eq(p, b.bv(7, 32)), b.ult(q, b.zext(32, p))), 2, defs);
  t.equal(defs.get('p'), b.bv(7, 32), 'reports definitions');
});
