/**
 * Time builtins. Each read of `nsecs` or `elapsed` is a new value (checked on bpftrace 0.17 here:
 * `$a = nsecs; $b = nsecs;` prints `$b - $a` = 70, `elapsed` likewise 90); `rand` too (see
 * `calls.ts`). `jiffies` does not exist in 0.17. The meaning given to them, annotations included:
 * - every evaluation of `nsecs`/`elapsed` on a path is a fresh 64-bit value, at least the previous
 *   read of the same builtin on that path (both count up monotonically within an action);
 * - an `nsecs` inside `assert`/`assume` denotes the MOST RECENT read of it by the program on that
 *   path (a fresh read at that point when the program has not read it yet), so an annotation can
 *   state what the program computed from its one read: after `@lat = hist(nsecs - @s[tid]);`,
 *   `assert(mapval(@lat) == nsecs - @s[tid])` holds.
 * So `$a = nsecs; $b = nsecs; assert($a == nsecs)` is refuted (nsecs there is $b's read), and a
 * claim that needs two of the program's reads to agree is never proved.
 */
import type { Expr } from '../frontend/ast.js';
import { bvSort } from '../smt/term.js';
import type { EvalCtx, ExecCore, PathState } from './core.js';
import { clockFloor } from './map-state.js';
import { U64, type Val } from './values.js';

const CLOCKS = new Set(['nsecs', 'elapsed']);

/** True for the builtins that change between two reads of one action. */
export function isClock(name: string): boolean {
  return CLOCKS.has(name);
}

/** One read of the clock builtin `e` on path `s`. */
export function readClock(ex: ExecCore, e: Extract<Expr, { kind: 'Builtin' }>, s: PathState, ctx: EvalCtx): Val {
  const memo = ctx.reads?.get(e);
  if (memo) return memo;
  const b = ex.b;
  const prev = s.clocks.get(e.name);
  if (ctx.reads && prev) {
    const last: Val = { ty: U64, t: prev };
    ctx.reads.set(e, last);
    return last;
  }
  const t = b.fresh(e.name, bvSort(64));
  // The first read is at least the clock when the event started (see `map-state.ts`: values an
  // earlier event stored from the clock are at most that).
  ex.axioms.set(t.id, b.ule(prev ?? clockFloor(ex, e.name, s), t));
  s.clocks.set(e.name, t);
  const v: Val = { ty: U64, t };
  ex.noteInput(e.name, v);
  ctx.reads?.set(e, v);
  return v;
}
