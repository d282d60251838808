/**
 * Conditional evaluation inside an expression: the right operand of `&&`/`||` and the branches of
 * `?:` run only when their condition says so (checked on bpftrace 0.17 here: in
 * `$z == 1 && $i++ > 0` with $z = 0, `$i` stays 0; `c ? 1 : $i++` leaves `$i` alone when c holds).
 * An operand with side effects runs on a copy of the path, and the copy is joined back as
 * `ite(cond, copy, original)` for every variable and map it changed.
 */
import type { Expr } from '../frontend/ast.js';
import { collect } from '../frontend/index.js';
import type { Term } from '../smt/term.js';
import { cloneState, type ExecCore, type LastUpdate, type PathState, Unsupported } from './core.js';
import { mapArray } from './maps.js';
import type { Val } from './values.js';

/** True when evaluating `e` changes the path state (`++`/`--` on variables or maps). */
export function hasSideEffects(e: Expr): boolean {
  // bpftrace 0.17 types printf/delete/exit/clear/print ... as 'none' and rejects them as operands
  // of `?:` and `&&`/`||` (checked here: "Ternary operator must return the same type: have 'none'
  // and 'integer'"), so inside an expression `++`/`--` are the only effects.
  return collect(e, 'Update').length > 0;
}

/**
 * Evaluates `run` on `s` as if only under `cond`: `s` afterwards holds, for each variable and map,
 * the value `run` left when `cond` holds and the old one otherwise. Returns what `run` returned.
 */
export function evalUnder<T>(ex: ExecCore, s: PathState, cond: Term, run: (taken: PathState) => T): T {
  const taken = cloneState(s);
  // Inside the operand the condition holds: an effect there (after the assume under test) is an
  // action only on inputs that satisfy it.
  if (cond !== ex.b.T) taken.pc.push(cond);
  const out = run(taken);
  joinInto(ex, s, cond, taken);
  return out;
}

function iteTerm(ex: ExecCore, c: Term, x: Term, y: Term): Term {
  const b = ex.b;
  if (x === y) return x;
  if (x.sort.k === 'bv' && y.sort.k === 'bv' && x.sort.w !== y.sort.w) {
    const w = Math.max(x.sort.w, y.sort.w);
    return b.ite(c, b.resize(x, w), b.resize(y, w));
  }
  return b.ite(c, x, y);
}

function iteVal(ex: ExecCore, c: Term, x: Val, y: Val): Val {
  if (x === y) return x;
  if (x.parts || y.parts || x.place || y.place) throw new Unsupported('a tuple or struct variable changed inside a conditional expression');
  return { ty: x.ty, t: iteTerm(ex, c, x.t, y.t) };
}

function joinUpdate(ex: ExecCore, c: Term, x: LastUpdate, y: LastUpdate): LastUpdate | undefined {
  if (x === y) return x;
  if (x.keys.length !== y.keys.length) return undefined;
  try {
    return { keys: x.keys.map((k, i) => iteVal(ex, c, k, y.keys[i] as Val)), value: iteVal(ex, c, x.value, y.value) };
  } catch {
    return undefined;
  }
}

function unassigned(ex: ExecCore, name: string, like: Term): Term {
  const t = ex.b.fresh('unassigned', like.sort);
  ex.opaque.set(t.name as string, `the value of ${name} where it was never assigned`);
  return t;
}

function joinInto(ex: ExecCore, s: PathState, c: Term, taken: PathState): void {
  for (const [name, v] of taken.vars) {
    const old = s.vars.get(name);
    if (old === v) continue;
    // A variable first assigned inside the conditional operand: unassigned when c is false, and
    // what its slot then holds is not modelled.
    s.vars.set(name, old ? iteVal(ex, c, v, old) : { ty: v.ty, t: iteTerm(ex, c, v.t, unassigned(ex, name, v.t)) });
  }
  for (const [name, arr] of taken.maps) {
    const old = s.maps.get(name) ?? mapArray(ex, name, s);
    if (old !== arr) s.maps.set(name, iteTerm(ex, c, arr, old));
  }
  for (const name of taken.updated) s.updated.add(name);
  joinActed(ex, s, c, taken);
  for (const [name, t] of taken.clocks) {
    const old = s.clocks.get(name);
    s.clocks.set(name, old ? iteTerm(ex, c, t, old) : t);
  }
  for (const [name, u] of taken.lastUpdate) {
    const old = s.lastUpdate.get(name);
    const joined = old ? joinUpdate(ex, c, u, old) : undefined;
    // An update that happened on one side only: `mapval`/`mapkey` of it are not modelled after.
    if (joined) s.lastUpdate.set(name, joined);
    else s.lastUpdate.delete(name);
  }
}

/**
 * An observable effect inside the operand happened when `c` held (and the operand's own condition,
 * if its effect was itself conditional): the path keeps it, conditionally, so an assume after the
 * expression still sees that the program acted on the inputs it would exclude.
 */
function joinActed(ex: ExecCore, s: PathState, c: Term, taken: PathState): void {
  if (taken.acted === undefined || (s.acted !== undefined && s.actedWhen === undefined)) return;
  const b = ex.b;
  const inOperand = b.and(c, taken.actedWhen ?? b.T);
  s.actedWhen = s.acted === undefined ? inOperand : b.or(s.actedWhen ?? b.F, inOperand);
  s.acted ??= taken.acted;
}
