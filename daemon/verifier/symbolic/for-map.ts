/**
 * `for ($kv : @m) { ... }` (bpftrace 0.21 and later): the body runs once per entry of @m, in an
 * order and a number of times the verifier does not know. Its sound model: the body runs once
 * from a state where every variable the body assigns holds any value of its type, and `$kv` is
 * any (key, value) pair; an assertion in the body proved there holds at every iteration. After
 * the loop, what the body assigns holds any value (zero iterations included), and so does what
 * it printed. Those values are opaque: an assertion that depends on them can be proved but never
 * refuted through them (it comes out unknown). A body that writes maps (the loop's own or
 * another) is not modelled: the probe's results are unknown.
 */
import type { Block, Expr, Stmt } from '../frontend/ast.js';
import { collect } from '../frontend/index.js';
import type { Term } from '../smt/term.js';
import { bvSort } from '../smt/term.js';
import { cloneState, type ExecCore, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { mapInfo } from './maps.js';
import type { Ty, Val } from './values.js';

type ForStmt = Extract<Stmt, { kind: 'ForStmt' }>;
type BodyRunner = (ex: ExecCore, block: Block, states: PathState[], pc: ProbeCtx, pre: Term) => PathState[];

const MAP_WRITERS = new Set(['delete', 'clear', 'zero']);

function anyValue(ex: ExecCore, v: Val, why: string): Val {
  const b = ex.b;
  if (v.ty.k === 'tuple' && v.parts) return { ty: v.ty, t: b.T, parts: v.parts.map((p) => anyValue(ex, p, why)) };
  if (v.ty.k === 'place') throw new Unsupported('a for loop over a map whose body assigns a struct variable');
  const t = b.fresh('loop', v.t.sort);
  ex.opaque.set(t.name as string, why);
  return { ty: v.ty, t };
}

function anyOfType(ex: ExecCore, ty: Ty, why: string): Val {
  const b = ex.b;
  let w: number;
  if (ty.k === 'int' || ty.k === 'bool' || ty.k === 'ptr') w = 64;
  else if (ty.k === 'str') w = ty.size * 8;
  else throw new Unsupported(`a for loop over a map with ${ty.k} keys or values`);
  const t = b.fresh('entry', bvSort(w));
  ex.opaque.set(t.name as string, why);
  return { ty, t };
}

/** Names of the variables `body` assigns (`=`, `op=`, `++`/`--`, `let`). */
function assignedVariables(body: Block): Set<string> {
  const out = new Set<string>();
  for (const a of collect(body, 'AssignStmt')) if (a.target.kind === 'Variable') out.add(a.target.name);
  for (const u of collect(body, 'Update')) if (u.operand.kind === 'Variable') out.add(u.operand.name);
  for (const d of collect(body, 'VarDeclStmt')) out.add(d.variable.name);
  return out;
}

function writesMaps(body: Block): boolean {
  if (collect(body, 'AssignStmt').some((a) => a.target.kind === 'Map')) return true;
  if (collect(body, 'Update').some((u) => u.operand.kind === 'Map')) return true;
  return collect(body, 'Call').some((c: Extract<Expr, { kind: 'Call' }>) => MAP_WRITERS.has(c.callee));
}

export function execForMap(ex: ExecCore, stmt: ForStmt, s: PathState, pc: ProbeCtx, pre: Term, runBody: BodyRunner): PathState[] {
  const map = stmt.iterable;
  if (map.kind !== 'Map' || map.keys.length > 0) throw new Unsupported('a for loop over something other than a whole map');
  if (writesMaps(stmt.body)) {
    ex.unmodelled.add('for loops over maps whose body writes maps');
    throw new Unsupported(`the for loop over ${map.name} writes maps in its body, which is not modelled`);
  }
  // A loop variable that is also a variable of the probe: what it holds after the loop is not modelled.
  if (s.vars.has(stmt.variable.name)) throw new Unsupported(`the for loop's ${stmt.variable.name} is also a variable before the loop`);
  const info = mapInfo(ex, map.name);
  if (info.keyTys.length !== 1 || info.opaqueValues) throw new Unsupported(`a for loop over ${map.name}, whose keys or values are not modelled`);
  const why = `an entry of ${map.name} visited by the for loop at line ${stmt.span.line} (any entry)`;
  const entry: Val = {
    ty: { k: 'tuple', elems: [info.keyTys[0] as Ty, info.valTy] },
    t: ex.b.T,
    parts: [anyOfType(ex, info.keyTys[0] as Ty, why), anyOfType(ex, info.valTy, why)],
  };
  // The state at the top of any iteration: what the body assigns may hold anything.
  const top = cloneState(s);
  const changed = `a variable the for loop at line ${stmt.span.line} assigns (any iteration)`;
  for (const name of assignedVariables(stmt.body)) {
    const v = top.vars.get(name);
    if (v) top.vars.set(name, anyValue(ex, v, changed));
  }
  const iteration = cloneState(top);
  iteration.vars.set(stmt.variable.name, entry);
  const typed = new Set(ex.varTypes.keys());
  const after = runBody(ex, stmt.body, [iteration], pc, pre);
  // The body's own variables end with it (in 0.21 the body is a function of its own).
  for (const name of [...ex.varTypes.keys()]) if (!typed.has(name)) ex.varTypes.delete(name);
  const returned = after.filter((st) => st.flow === 'return');
  // After the loop: the top-of-iteration state (zero or more iterations), with what the body
  // printed, if it printed, as any value, and its effects kept (an effect may have happened).
  const done = top;
  const printedInBody = after.find((st) => st.printed !== undefined && st.printed !== s.printed)?.printed;
  if (printedInBody) done.printed = { vals: printedInBody.vals.map((v) => anyValue(ex, v, `what the for loop at line ${stmt.span.line} printed last`)), texts: printedInBody.texts };
  const acted = after.find((st) => st.acted !== undefined && s.acted === undefined);
  if (acted?.acted !== undefined) done.acted = acted.acted;
  for (const name of [...done.vars.keys()]) if (!s.vars.has(name)) done.vars.delete(name);
  return [...returned, done];
}
