/**
 * Map contents across events: what a probe may find in a map when it starts, and what a store does
 * to a map that may be full.
 *
 * bpftrace 0.17 semantics, each checked on this machine:
 * - maps start empty; a key never stored reads 0;
 * - `BEGIN` runs before every other probe, `END` after all of them (so what only `END` writes is
 *   invisible to the probes);
 * - probes on one event run in program order, each seeing what the earlier ones stored (two
 *   `uprobe:libc:getppid` probes: the second prints the first's value);
 * - a hash map holds at most BPFTRACE_MAP_KEYS_MAX keys (4096 by default, `bpftrace --help`); the
 *   update of a NEW key into a full map is silently dropped and the key reads 0 afterwards
 *   (with BPFTRACE_MAP_KEYS_MAX=4, `BEGIN` storing keys 1, 2 and a probe storing 3, 4, 5: key 5
 *   reads 0, key 1 is still overwritten, and after `delete(@m[2])` key 5 can be stored).
 *
 * The model (sound for assertions: every state a real run can produce is a model of it):
 * - a run of `BEGIN` starts from empty maps; its final state is exact;
 * - a later probe finds, for a map no other probe (nor a later `BEGIN`) writes, exactly `BEGIN`'s
 *   final state; for any other map an unknown array whose every read satisfies the map's
 *   invariant: the value is 0 (absent), what `BEGIN` stored at that key, a constant some write site
 *   stores, at most the current clock for maps storing `nsecs`/`elapsed`, each plus a bounded
 *   number of increments for counters — or anything when a write site stores something else;
 * - a map whose key space is larger than the key limit tracks which keys are present and how many:
 *   a store of a new key into a full map is dropped.
 * In witness mode (coverage, which needs an under-approximation) every map starts as `BEGIN` left
 * it: the event is the first one after `BEGIN`, a state every run can produce.
 */
import type { Expr, Probe, Program } from '../frontend/ast.js';
import { collect } from '../frontend/index.js';
import { arraySort, bvSort, type Term } from '../smt/term.js';
import { clockFloor, KTIME } from './clock.js';
import type { ExecCore, MapInfo, PathState, WriteSummary } from './core.js';

/**
 * Increments a counter can receive in a real run: 2^60 events on one key is 14 years at 2.5e9
 * events per second (a BPF program takes ~100 ns per event, on 256 CPUs). Used only to exclude the
 * wrap-around of a counter that is only ever incremented.
 */
const MAX_INCREMENTS = 1n << 60n;

function literal(e: Expr): bigint | undefined {
  if (e.kind === 'Integer') return e.value;
  if (e.kind === 'Unary' && e.op === '-' && e.operand.kind === 'Integer') return -e.operand.value;
  return undefined;
}

function summaryFor(out: Map<string, WriteSummary>, name: string): WriteSummary {
  let s = out.get(name);
  if (!s) {
    s = { constants: new Set(), clocks: new Set(), step: 0n, anything: false };
    out.set(name, s);
  }
  return s;
}

function addStep(s: WriteSummary, c: bigint | undefined): void {
  if (c === undefined || c <= 0n) s.anything = true;
  else if (c > s.step) s.step = c;
}

/** `@m[..] + c` or `c + @m[..]` (the map's own value plus a constant). */
function selfIncrement(name: string, e: Expr): bigint | undefined {
  if (e.kind !== 'Binary' || e.op !== '+') return undefined;
  if (e.left.kind === 'Map' && e.left.name === name) return literal(e.right);
  if (e.right.kind === 'Map' && e.right.name === name) return literal(e.left);
  return undefined;
}

/** The write sites of every map in the probes other than `BEGIN` and `END`, summarised. */
export function summariseWrites(probes: readonly Probe[]): Map<string, WriteSummary> {
  const out = new Map<string, WriteSummary>();
  for (const probe of probes) {
    for (const a of collect(probe.body, 'AssignStmt')) {
      if (a.target.kind !== 'Map') continue;
      const s = summaryFor(out, a.target.name);
      const v = a.value;
      if (a.op === '+=') addStep(s, literal(v));
      else if (a.op !== '=') s.anything = true;
      else if (v.kind === 'Call' && v.callee === 'count') addStep(s, 1n);
      else if (v.kind === 'Call' && v.callee === 'sum' && v.args[0]) addStep(s, literal(v.args[0]));
      else if (literal(v) !== undefined) s.constants.add(BigInt.asUintN(64, literal(v) as bigint));
      else if (v.kind === 'Builtin' && (v.name === 'nsecs' || v.name === 'elapsed')) s.clocks.add(v.name);
      else {
        const inc = selfIncrement(a.target.name, v);
        if (inc !== undefined) addStep(s, inc);
        else s.anything = true;
      }
    }
    for (const u of collect(probe.body, 'Update')) {
      if (u.operand.kind !== 'Map') continue;
      const s = summaryFor(out, u.operand.name);
      if (u.op === '++') addStep(s, 1n);
      else s.anything = true;
    }
    // delete/clear/zero leave a key absent or 0: 0 is always allowed. Map names in other calls
    // (print, len ...) do not write.
  }
  return out;
}

/** True when a probe of the program writes `name` (outside BEGIN/END): its contents are not BEGIN's. */
export function writtenByProbes(ex: ExecCore, name: string): boolean {
  return ex.mapWrites.has(name);
}

/** True when the map can hold more keys than the key limit, so a store of a new key may be dropped. */
export function fillable(ex: ExecCore, info: MapInfo): boolean {
  if (!info.keyKnown || info.keyTys.length === 0) return false;
  // Distinct keys the key types allow (an int key of n bytes has 2^(8n) values, whatever its
  // stored width): a map that cannot hold more than the limit never drops a store.
  let space = 1n;
  for (const ty of info.keyTys) {
    if (ty.k === 'int') space *= 1n << BigInt(8 * ty.size);
    else if (ty.k === 'bool') space *= 2n;
    else return true;
  }
  return space > BigInt(ex.maxMapKeys);
}

const PRESENT = '#present';
const COUNT = '#count';

/** The contents of part `part` (`''` values, `#present`, `#count`) of map `name` when the probe starts. */
export function initialPart(ex: ExecCore, name: string, part: string, info: MapInfo): Term {
  const key = name + part;
  const hit = ex.initialMaps.get(key);
  if (hit) return hit;
  const b = ex.b;
  let t: Term;
  const empty = (): Term =>
    part === COUNT ? b.bv(0, 64) : part === PRESENT ? b.constArray(info.keyWidth, b.bv(0, 1)) : b.constArray(info.keyWidth, b.bv(0, info.valWidth));
  const begin = (): Term => ex.beginState?.get(key) ?? empty();
  if (ex.phase === 'begin') t = ex.beginSoFar?.get(key) ?? empty();
  else if (ex.beginState && (ex.opts.witness || !writtenByProbes(ex, name))) t = begin();
  else if (part === COUNT) t = b.variable(`${name}@count@before`, bvSort(64));
  else if (part === PRESENT) t = b.variable(`${name}@present@before:${info.keyWidth}`, arraySort(info.keyWidth, 1));
  else t = b.variable(`${name}@before:${info.keyWidth}:${info.valWidth}`, arraySort(info.keyWidth, info.valWidth));
  ex.initialMaps.set(key, t);
  return t;
}

/** The map's value array on path `s`. */
export function valuesOf(ex: ExecCore, name: string, info: MapInfo, s: PathState): Term {
  return s.maps.get(name) ?? initialPart(ex, name, '', info);
}

function presentOf(ex: ExecCore, name: string, info: MapInfo, s: PathState): Term {
  return s.maps.get(name + PRESENT) ?? initialPart(ex, name, PRESENT, info);
}

function countOf(ex: ExecCore, name: string, info: MapInfo, s: PathState): Term {
  const t = s.maps.get(name + COUNT);
  if (t) return t;
  const c = initialPart(ex, name, COUNT, info);
  // Another probe's state: at most the limit (a sound bound; the exact count is unknown).
  if (c.op === 'var') s.pc.push(ex.b.ule(c, ex.b.bv(ex.maxMapKeys, 64)));
  return c;
}

/** The invariant of a value read from the unknown contents `before` of map `name` at `key`. */
function invariant(ex: ExecCore, name: string, info: MapInfo, raw: Term, key: Term, s: PathState): Term {
  const b = ex.b;
  const w = ex.mapWrites.get(name);
  if (!w || w.anything || info.valTy.k !== 'int' || info.valWidth !== 64) return b.T;
  const bound = w.step * MAX_INCREMENTS;
  if (bound >= 1n << 64n) return b.T;
  const d = b.bv(bound, 64);
  const bases: Term[] = [b.bv(0, 64), ...[...w.constants].map((c) => b.bv(c, 64))];
  const began = ex.beginState?.get(name);
  if (began) bases.push(b.select(began, key));
  const options = bases.map((base) => (bound === 0n ? b.eq(raw, base) : b.ule(b.sub(raw, base), d)));
  for (const clock of w.clocks) {
    if (bound !== 0n) return b.T;
    options.push(b.ule(raw, clockFloor(ex, clock, s)));
  }
  return b.or(...options);
}

/** The raw value at `key` in `arr`, looking through stores and joins down to the probe's initial contents. */
function lookup(ex: ExecCore, name: string, info: MapInfo, arr: Term, key: Term, s: PathState, seen: Map<number, Term>): Term {
  const hit = seen.get(arr.id);
  if (hit) return hit;
  const b = ex.b;
  let out: Term;
  if (arr.op === 'store') {
    const k = arr.args[1] as Term;
    const v = arr.args[2] as Term;
    if (k === key) out = v;
    else if (k.op === 'bv' && key.op === 'bv') out = lookup(ex, name, info, arr.args[0] as Term, key, s, seen);
    else out = b.ite(b.eq(key, k), v, lookup(ex, name, info, arr.args[0] as Term, key, s, seen));
  } else if (arr.op === 'ite') {
    out = b.ite(arr.args[0] as Term, lookup(ex, name, info, arr.args[1] as Term, key, s, seen), lookup(ex, name, info, arr.args[2] as Term, key, s, seen));
  } else {
    out = b.select(arr, key);
    if (arr.op === 'var' && arr.name?.startsWith(`${name}@before:`)) {
      const inv = invariant(ex, name, info, out, key, s);
      if (inv !== b.T) s.pc.push(inv);
    }
  }
  seen.set(arr.id, out);
  return out;
}

/** The value of map `name` at `key` on path `s` (0 for an absent key), as stored (valWidth bits). */
export function readEntry(ex: ExecCore, name: string, info: MapInfo, key: Term, s: PathState, arr?: Term): Term {
  const b = ex.b;
  const value = lookup(ex, name, info, arr ?? valuesOf(ex, name, info, s), key, s, new Map());
  if (arr || !fillable(ex, info)) return value;
  const present = lookup(ex, name, info, presentOf(ex, name, info, s), key, s, new Map());
  return b.ite(b.eq(present, b.bv(1, 1)), value, b.bv(0, info.valWidth));
}

/** Stores `value` at `key`; in a map that may be full, a new key is dropped when the map is full. */
export function storeEntry(ex: ExecCore, name: string, info: MapInfo, key: Term, value: Term, s: PathState): void {
  const b = ex.b;
  const arr = valuesOf(ex, name, info, s);
  if (!fillable(ex, info)) {
    s.maps.set(name, b.store(arr, key, value));
    return;
  }
  const present = presentOf(ex, name, info, s);
  const count = countOf(ex, name, info, s);
  const isNew = b.not(b.eq(lookup(ex, name, info, present, key, s, new Map()), b.bv(1, 1)));
  const dropped = b.and(isNew, b.ule(b.bv(ex.maxMapKeys, 64), count));
  const stored = b.not(dropped);
  s.maps.set(name, b.ite(stored, b.store(arr, key, value), arr));
  s.maps.set(name + PRESENT, b.ite(stored, b.store(present, key, b.bv(1, 1)), present));
  s.maps.set(name + COUNT, b.ite(b.and(stored, isNew), b.add(count, b.bv(1, 64)), count));
}

/** `delete(@m[key])`: the key is absent afterwards (reads 0) and frees its slot. */
export function deleteEntry(ex: ExecCore, name: string, info: MapInfo, key: Term, s: PathState): void {
  const b = ex.b;
  const arr = valuesOf(ex, name, info, s);
  s.maps.set(name, b.store(arr, key, b.bv(0, info.valWidth)));
  if (!fillable(ex, info)) return;
  const present = presentOf(ex, name, info, s);
  const count = countOf(ex, name, info, s);
  const was = b.eq(lookup(ex, name, info, present, key, s, new Map()), b.bv(1, 1));
  s.maps.set(name + PRESENT, b.store(present, key, b.bv(0, 1)));
  s.maps.set(name + COUNT, b.ite(was, b.sub(count, b.bv(1, 64)), count));
}

/**
 * Joins the final states of one event's paths (`BEGIN`'s, or an earlier event of a coverage
 * witness) into one state: each map part is the ite over the paths' conditions (the paths are
 * disjoint), and what it was before where none applies (the probe's predicate was false).
 */
export function joinFinalStates(ex: ExecCore, states: readonly PathState[], into: Map<string, Term>, clocks: Map<string, Term>): void {
  const b = ex.b;
  const names = new Set<string>();
  for (const s of states) for (const n of s.maps.keys()) names.add(n);
  for (const n of names) {
    const base = into.get(n);
    const some = states.map((s) => s.maps.get(n)).find((t) => t !== undefined) as Term;
    const empty = some.sort.k === 'array' ? b.constArray(some.sort.index, b.bv(0, some.sort.value)) : b.bv(0, 64);
    // Where no path applies (a predicate filtered the event out) the map is as it was.
    let acc: Term = base ?? empty;
    for (const s of [...states].reverse()) {
      const t = s.maps.get(n) ?? base ?? empty;
      acc = b.ite(b.and(...s.pc), t, acc);
    }
    into.set(n, acc);
  }
  for (const clock of ['nsecs', 'elapsed', KTIME]) {
    let acc: Term | undefined;
    for (const s of [...states].reverse()) {
      const t = s.clocks.get(clock);
      if (!t) continue;
      acc = acc === undefined ? t : b.ite(b.and(...s.pc), t, acc);
    }
    if (acc) clocks.set(clock, acc);
  }
}
