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
import { bvSort, type Term } from '../smt/term.js';
import type { EvalCtx, ExecCore, PathState } from './core.js';
import { U64, type Val } from './values.js';

const CLOCKS = new Set(['nsecs', 'elapsed']);

/** True for the builtins that change between two reads of one action. */
export function isClock(name: string): boolean {
  return CLOCKS.has(name);
}

/** The key under which a path keeps its last read of the kernel's monotonic clock. */
export const KTIME = '#ktime';

/** bpftrace's start time S on the monotonic clock (`elapsed` is the clock minus S). */
function startTime(ex: ExecCore): Term {
  const b = ex.b;
  const start = b.variable('bpftrace-start-ktime', bvSort(64));
  if (!ex.axioms.has(start.id)) ex.axioms.set(start.id, b.ult(b.bv(0, 64), start));
  return start;
}

/**
 * The value of `clock` when the event being executed started: every read of it on the path is at
 * least this, and every value an earlier event stored from it at most this (see `map-state.ts`).
 * One monotonic clock F underlies both builtins (S <= F < 2^63); BEGIN's last read is at most F.
 */
export function clockFloor(ex: ExecCore, clock: string, s: PathState): Term {
  const b = ex.b;
  const start = startTime(ex);
  let f = s.clocks.get(FLOOR);
  if (!f) {
    f = b.fresh('ktime@event-start', bvSort(64));
    ex.axioms.set(f.id, b.and(b.ule(start, f), b.ult(f, b.bv(1n << 63n, 64))));
    s.clocks.set(FLOOR, f);
    const began = ex.beginClocks?.get(KTIME);
    if (began) s.pc.push(b.ule(began, f));
  }
  return clock === 'elapsed' ? b.sub(f, start) : f;
}

const FLOOR = '#ktime@floor';

/**
 * One read of the clock builtin `e` on path `s`.
 *
 * Both builtins read one clock: `nsecs` is bpf_ktime_get_ns(), CLOCK_MONOTONIC; `elapsed` is that
 * same clock minus bpftrace's start time S, which bpftrace 0.17 writes to its elapsed map from
 * clock_gettime(CLOCK_MONOTONIC) before it triggers BEGIN and before it attaches any other probe
 * (BPFtrace::run), so every probe sees a clock at least S. Checked here: `nsecs - elapsed` is the
 * same (to the read jitter) in BEGIN, interval and END of one run. The facts, each guaranteed:
 * - reads on one path are in time order: each clock read K is at least the previous one (of either
 *   builtin): the clock is monotonic;
 * - 0 < S <= K: the clock counts from boot, bpftrace starts after it, and S is written first;
 * - K < 2^63: ktime_t is an s64 (include/linux/ktime.h).
 * So `nsecs > 0`, `elapsed <= nsecs` for an elapsed read before (or at) the nsecs read, and
 * `nsecs - elapsed` is S whatever the reads.
 */
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
  const k = b.fresh('ktime', bvSort(64));
  const start = startTime(ex);
  const lastK = s.clocks.get(KTIME);
  const facts = [b.ule(start, k), b.ult(k, b.bv(1n << 63n, 64))];
  // The first read of an event is at least the clock when the event started.
  facts.push(b.ule(lastK ?? clockFloor(ex, 'nsecs', s), k));
  ex.axioms.set(k.id, b.and(...facts));
  s.clocks.set(KTIME, k);
  const t = e.name === 'elapsed' ? b.sub(k, start) : k;
  s.clocks.set(e.name, t);
  const v: Val = { ty: U64, t };
  ex.noteInput(e.name, v);
  ctx.reads?.set(e, v);
  return v;
}
