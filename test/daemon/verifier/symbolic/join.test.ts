/**
 * Conditional evaluation (`symbolic/join.ts`): an operand of `&&`/`||`/`?:` with side effects runs
 * on a copy of the path, joined back as `ite(cond, copy, original)` for every variable, map, clock
 * and last update it changed.
 */
import t from 'tap';
import { parse } from '../../../../daemon/verifier/frontend/index.js';
import type { Expr } from '../../../../daemon/verifier/frontend/ast.js';
import { arraySort, bvSort, type Term } from '../../../../daemon/verifier/smt/term.js';
import { Unsupported } from '../../../../daemon/verifier/symbolic/core.js';
import { evalUnder, hasSideEffects } from '../../../../daemon/verifier/symbolic/join.js';
import { U64, type Val } from '../../../../daemon/verifier/symbolic/values.js';
import { constant, core, pathState, value } from './support.js';

function expr(src: string): Expr {
  const r = parse(`BEGIN { ${src}; }`);
  const stmt = r.program?.probes[0]?.body.statements[0];
  if (!stmt || stmt.kind !== 'ExprStmt') throw new Error(`not an expression statement: ${src}`);
  return stmt.expr;
}

t.test('hasSideEffects: ++/-- anywhere in the operand, nothing else', async (t) => {
  t.ok(hasSideEffects(expr('$i++ > 0')));
  t.ok(hasSideEffects(expr('1 + --@m[pid]')));
  t.ok(hasSideEffects(expr('$c ? 1 : @n++')));
  t.notOk(hasSideEffects(expr('$i + 1 > @m[pid]')));
  t.notOk(hasSideEffects(expr('bswap(args->dport) == 80')));
});

t.test('a variable changed under the condition becomes ite(cond, new, old)', async (t) => {
  const ex = core();
  const b = ex.b;
  const s = pathState();
  s.vars.set('$i', constant(ex, 0n, 8, true));
  const c = b.variable('c', { k: 'bool' });
  const out = evalUnder(ex, s, c, (taken) => {
    taken.vars.set('$i', constant(ex, 1n, 8, true));
    return 'ran';
  });
  t.equal(out, 'ran', 'returns what the operand returned');
  const i = (s.vars.get('$i') as Val).t;
  t.equal(value(i, { c: true }), 1n);
  t.equal(value(i, { c: false }), 0n);
});

t.test('an unchanged variable keeps its very term', async (t) => {
  const ex = core();
  const s = pathState();
  const v = constant(ex, 5n, 8, true);
  s.vars.set('$k', v);
  evalUnder(ex, s, ex.b.variable('c', { k: 'bool' }), () => undefined);
  t.equal(s.vars.get('$k'), v);
});

t.test('a variable first assigned under the condition is unknown where the condition fails', async (t) => {
  const ex = core();
  const s = pathState();
  evalUnder(ex, s, ex.b.variable('c', { k: 'bool' }), (taken) => taken.vars.set('$new', constant(ex, 7n, 8, false)));
  const t1 = (s.vars.get('$new') as Val).t;
  t.equal(value(t1, { c: true }), 7n);
  const [sym, why] = [...ex.opaque.entries()][0] ?? [];
  t.match(why, /\$new where it was never assigned/);
  t.equal(value(t1, { c: false, [sym as string]: 99n }), 99n, 'the opaque symbol stands for it');
});

t.test('variables of different widths are joined at the wider width', async (t) => {
  const ex = core();
  const b = ex.b;
  const s = pathState();
  s.vars.set('$w', { ty: U64, t: b.bv(3, 32) });
  evalUnder(ex, s, b.variable('c', { k: 'bool' }), (taken) => taken.vars.set('$w', { ty: U64, t: b.bv(0x100000000n, 64) }));
  const w = (s.vars.get('$w') as Val).t;
  t.same(w.sort, bvSort(64));
  t.equal(value(w, { c: false }), 3n);
  t.equal(value(w, { c: true }), 0x100000000n);
});

t.test('a map updated under the condition: ite of the arrays, and the map counts as updated', async (t) => {
  const ex = core();
  const b = ex.b;
  const s = pathState();
  const before = b.variable('@m@before', arraySort(8, 64));
  s.maps.set('@m', before);
  const c = b.variable('c', { k: 'bool' });
  evalUnder(ex, s, c, (taken) => {
    taken.maps.set('@m', b.store(before, b.bv(1, 8), b.bv(42, 64)));
    taken.updated.add('@m');
  });
  const arr = s.maps.get('@m') as Term;
  t.equal(arr.op, 'ite');
  t.ok(s.updated.has('@m'));
  t.equal(value(b.select(arr, b.bv(1, 8)), { c: true }), 42n);
});

t.test('a tuple variable changed inside the operand is not modelled', async (t) => {
  const ex = core();
  const b = ex.b;
  const s = pathState();
  const tuple = (x: bigint): Val => ({ ty: { k: 'tuple', elems: [U64] } as never, t: b.T, parts: [constant(ex, x, 8, false)] });
  s.vars.set('$t', tuple(1n));
  let err: unknown;
  try {
    evalUnder(ex, s, b.variable('c', { k: 'bool' }), (taken) => taken.vars.set('$t', tuple(2n)));
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof Unsupported, 'Unsupported: the probe is then incomplete, never proved through it');
  t.match((err as Error).message, /tuple or struct variable/);
});

t.test('last updates: joined when both sides have one, forgotten when only the operand has one', async (t) => {
  const ex = core();
  const b = ex.b;
  const c = b.variable('c', { k: 'bool' });
  const s = pathState();
  s.lastUpdate.set('@a', { keys: [constant(ex, 1n, 8, false)], value: constant(ex, 10n, 8, false) });
  evalUnder(ex, s, c, (taken) => {
    taken.lastUpdate.set('@a', { keys: [constant(ex, 2n, 8, false)], value: constant(ex, 20n, 8, false) });
    taken.lastUpdate.set('@b', { keys: [], value: constant(ex, 1n, 8, false) });
  });
  const a = s.lastUpdate.get('@a');
  t.ok(a);
  t.equal(value((a?.keys[0] as Val).t, { c: true }), 2n);
  t.equal(value((a?.value as Val).t, { c: false }), 10n);
  t.notOk(s.lastUpdate.has('@b'), 'mapval(@b) is not modelled after an update on one side only');
});

t.test('clock reads inside the operand are joined too', async (t) => {
  const ex = core();
  const b = ex.b;
  const s = pathState();
  const n1 = b.variable('n1', bvSort(64));
  const n2 = b.variable('n2', bvSort(64));
  s.clocks.set('nsecs', n1);
  evalUnder(ex, s, b.variable('c', { k: 'bool' }), (taken) => taken.clocks.set('nsecs', n2));
  const last = s.clocks.get('nsecs') as Term;
  t.equal(value(last, { c: true, n1: 1n, n2: 2n }), 2n);
  t.equal(value(last, { c: false, n1: 1n, n2: 2n }), 1n);
});
