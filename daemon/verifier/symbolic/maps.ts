/**
 * bpftrace maps: SMT arrays from key tuples to values, their layout learnt from writes, reads
 * (contents before the invocation are unknown), assignments, aggregations and `++`/`--`.
 */
import type { Expr } from '../frontend/ast.js';
import { printExpr } from '../frontend/index.js';
import { arraySort, type Term } from '../smt/term.js';
import { type EvalCtx, type ExecCore, type MapInfo, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { binary, asInt } from './operators.js';
import { readEntry, storeEntry, valuesOf } from './map-state.js';
import { wrapToVar } from './variables.js';
import { intTy, S64, storedTerm, storedWidth, U64, type Ty, type Val } from './values.js';

/** Aggregation functions: valid only as the value of a map assignment. */
export const AGGS = new Set(['count', 'sum', 'avg', 'min', 'max', 'stats', 'hist', 'lhist', 'tseries']);

export function mapInfo(ex: ExecCore, name: string): MapInfo {
  let m = ex.maps.get(name);
  if (!m) {
    m = { keyTys: [], keyWidth: 8, valTy: U64, valWidth: 64 };
    ex.maps.set(name, m);
  }
  return m;
}

export function learnMap(ex: ExecCore, name: string, keys: readonly Val[], value: Val | undefined, agg?: string): MapInfo {
  const m = mapInfo(ex, name);
  if (!m.keyKnown && keys.length > 0) {
    m.keyTys = keys.map((k) => k.ty);
    m.keyWidth = keys.reduce((w, k) => w + storedWidth(k.ty), 0);
    m.keyKnown = true;
  }
  if (!m.valKnown && value) {
    // bpftrace 0.17 stores every integer map value in 64 bits, typed int64/uint64 by the
    // signedness of the first value assigned (checked here: after `@w[1] = (uint16)100`,
    // `bswap(@w[1])` is 7205759403792793600; after `@x[1] = (int8)-3`, `@x[1] < 0` is 1 and
    // `@x[1] > 4294967295` is 0). Comparison results are 64-bit with their own signedness.
    const valTy = value.ty.k === 'bool' ? intTy(8, value.ty.signed === true) : value.ty.k === 'int' ? intTy(8, value.ty.signed) : value.ty;
    m.valTy = valTy;
    m.valWidth = storedWidth(valTy);
    if (valTy.k === 'tuple' || valTy.k === 'place' || valTy.k === 'void') m.opaqueValues = true;
    m.valKnown = true;
  }
  if (agg) m.agg = agg;
  return m;
}

function mapSigned(info: MapInfo): boolean | undefined {
  return info.valTy.k === 'int' ? info.valTy.signed : undefined;
}

export function keyTerm(ex: ExecCore, name: string, keys: readonly Val[]): Term {
  const info = mapInfo(ex, name);
  if (keys.length === 0) return ex.b.bv(0, info.keyWidth);
  if (!info.keyKnown) {
    // First sight of the key (a read before any write): its types fix the key layout, so that
    // different keys never share an array element.
    info.keyTys = keys.map((k) => k.ty);
    info.keyWidth = keys.reduce((w, k) => w + storedWidth(k.ty), 0);
    info.keyKnown = true;
  }
  const parts: Term[] = [];
  keys.forEach((k, i) => {
    const ty = info.keyTys[i] ?? k.ty;
    if (k.ty.k === 'tuple') throw new Unsupported('tuple values as map keys are not modelled');
    parts.push(storedTerm(ex.b, k, storedWidth(ty)));
  });
  const t = parts.length === 1 ? (parts[0] as Term) : ex.b.concat(...parts);
  return ex.b.resize(t, info.keyWidth);
}

/** The map's value array on path `s` (its contents when the probe started, then its stores). */
export function mapArray(ex: ExecCore, name: string, s: PathState): Term {
  return valuesOf(ex, name, mapInfo(ex, name), s);
}

export function readMap(ex: ExecCore, e: Extract<Expr, { kind: 'Map' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const b = ex.b;
  const keys = e.keys.map((k) => ex.evalExpr(k, s, pc, ctx));
  const info = mapInfo(ex, e.name);
  if (info.opaqueValues) throw new Unsupported(`values of ${e.name} are not modelled`);
  if (info.agg) {
    // bpftrace 0.17 refuses the value of an aggregation in arithmetic, comparisons and printf
    // (checked here: `@c[1] + 0` and `@c[1] > 0` are "Type mismatch ... 'count'", `(int64)@s[1]`
    // "Casts are not supported for type: sum"); count()/sum() maps are also per-CPU, so a read
    // sees one CPU's share.
    throw new Unsupported(`reading the ${info.agg}() map ${e.name} is not modelled`);
  }
  const key = keyTerm(ex, e.name, keys);
  const written = s.updated.has(e.name);
  if (ctx.assume && written) {
    ex.guardDiagnostics.push({
      code: 'guard.assume-computed',
      severity: 'error',
      stage: 'guard',
      message: `assume() reads ${e.name} after this probe wrote it: it may constrain only map contents from before the invocation`,
      span: e.span,
      hints: ['move the assume() before the first update of the map, or assert the property instead'],
    });
  }
  let raw: Term;
  if (ctx.mode === 'havoc' && written) {
    const key2 = `map:${e.name}`;
    let h = ctx.havoc.get(key2);
    if (!h) {
      h = { ty: info.valTy, t: b.fresh(`havoc${e.name}`, arraySort(info.keyWidth, info.valWidth)) };
      ctx.havoc.set(key2, h);
    }
    raw = b.select(h.t, key);
  } else raw = readEntry(ex, e.name, info, key, s);
  const val = fromStored(ex, raw, info.valTy);
  if (!written && ctx.mode === 'real') ex.noteInput(printExpr(e), val);
  return val;
}

export function fromStored(ex: ExecCore, raw: Term, ty: Ty): Val {
  if (ty.k === 'int' || ty.k === 'ptr') return { ty, t: ex.b.resize(raw, 64) };
  return { ty, t: raw };
}

export function assignMap(
  ex: ExecCore,
  target: Extract<Expr, { kind: 'Map' }>,
  op: string,
  valueExpr: Expr,
  s: PathState,
  pc: ProbeCtx,
  ctx: EvalCtx,
): void {
  const b = ex.b;
  const keys = target.keys.map((k) => ex.evalLoose(k, s, pc, ctx));
  if (valueExpr.kind === 'Call' && AGGS.has(valueExpr.callee) && op === '=') {
    const agg = valueExpr.callee;
    const arg = valueExpr.args[0] ? ex.evalLoose(valueExpr.args[0], s, pc, ctx) : undefined;
    const x: Val = agg === 'count' ? { ty: U64, t: b.bv(1, 64) } : (arg ?? { ty: U64, t: b.bv(1, 64) });
    const info = learnMap(ex, target.name, keys, agg === 'count' ? { ty: U64, t: b.bv(1, 64) } : x, agg);
    const key = keyTerm(ex, target.name, keys);
    if (agg === 'count' || agg === 'sum') {
      const old = b.resize(readEntry(ex, target.name, info, key, s), 64);
      storeEntry(ex, target.name, info, key, b.resize(b.add(old, asInt(ex, x).t), info.valWidth), s);
    } else {
      ex.unmodelled.add(`contents of ${agg}() maps (mapval is modelled)`);
      s.maps.set(target.name, ex.opaqueArray(target.name, info, `contents of the ${agg}() map ${target.name} are not modelled`));
    }
    s.updated.add(target.name);
    ex.noteEffect(s, `${agg}() into ${target.name} (line ${target.span.line})`);
    s.lastUpdate.set(target.name, { keys, value: agg === 'count' ? { ty: U64, t: b.bv(1, 64) } : x });
    return;
  }
  let value = ex.evalLoose(valueExpr, s, pc, ctx);
  if (op !== '=') {
    const old = readMap(ex, target, s, pc, { mode: 'real', havoc: new Map() });
    value = binary(ex, op.slice(0, -1), old, value);
  }
  const info = learnMap(ex, target.name, keys, value);
  const key = keyTerm(ex, target.name, keys);
  if (info.opaqueValues) {
    s.maps.set(target.name, ex.opaqueArray(target.name, info, `values of ${target.name} are not modelled`));
  } else {
    // A value is stored as its own width extended by the MAP's signedness (checked here: in a
    // map first assigned an int64, `(uint8)255` is stored as -1; in a uint16 map, `(int32)-2` as
    // 4294967294, in a uint64 map `(int8)-1` as 255).
    storeEntry(ex, target.name, info, key, storedTerm(b, value, info.valWidth, mapSigned(info)), s);
  }
  s.updated.add(target.name);
  s.lastUpdate.set(target.name, { keys, value });
  ex.noteEffect(s, `update of ${target.name} (line ${target.span.line})`);
}

export function update(ex: ExecCore, e: Extract<Expr, { kind: 'Update' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
  const one: Val = { ty: S64, t: ex.b.bv(1, 64) };
  const op = e.op === '++' ? '+' : '-';
  if (e.operand.kind === 'Variable') {
    const old = ex.readVar(e.operand.name, s);
    const nv = wrapToVar(ex, e.operand.name, binary(ex, op, old, one));
    s.vars.set(e.operand.name, nv);
    return e.prefix ? nv : old;
  }
  if (e.operand.kind === 'Map') {
    const keys = e.operand.keys.map((k) => ex.evalLoose(k, s, pc, ctx));
    const info0 = ex.maps.get(e.operand.name);
    const old = info0 ? readMap(ex, e.operand, s, pc, { mode: 'real', havoc: new Map() }) : { ty: S64, t: ex.b.bv(0, 64) };
    const nv = binary(ex, op, old, one);
    const info = learnMap(ex, e.operand.name, keys, nv);
    const key = keyTerm(ex, e.operand.name, keys);
    storeEntry(ex, e.operand.name, info, key, storedTerm(ex.b, nv, info.valWidth, mapSigned(info)), s);
    s.updated.add(e.operand.name);
    s.lastUpdate.set(e.operand.name, { keys, value: nv });
    ex.noteEffect(s, `${e.operand.name}${e.op} (line ${e.span.line})`);
    return e.prefix ? nv : old;
  }
  throw new Unsupported(`${e.op} on ${e.operand.kind}`);
}
