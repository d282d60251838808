/**
 * The only module that imports z3-solver. It initialises Z3 once per process (lazily), turns
 * {@link Term}s into Z3 expressions, and runs satisfiability checks one at a time.
 *
 * Debugging: {@link setSolverTrace} receives each query in SMT-LIB 2 (feed it to `z3 FILE`) and each
 * check's wall time. The module does no I/O of its own.
 */
import z3Built from 'z3-solver/build/z3-built.js';
import z3LowLevel from 'z3-solver/build/low-level/index.js';
import z3HighLevel from 'z3-solver/build/high-level/index.js';
import type { Term, Sort } from './term.js';

// z3-solver's types are heavily generic; this module keeps them at arm's length.
type Z3Context = any;
type Z3Expr = any;

/** Debugging hooks: each query as SMT-LIB 2 text, and each check's wall time. */
export interface SolverTrace {
  readonly query?: (smtlib: string) => void;
  readonly checked?: (wallMs: number, status: string) => void;
}

let trace: SolverTrace = {};

/** Installs debugging hooks for every later check (pass `{}` to remove them). */
export function setSolverTrace(hooks: SolverTrace): void {
  trace = hooks;
}

/** Outcome of one check. */
export interface CheckResult {
  readonly status: 'sat' | 'unsat' | 'unknown';
  /** For `unknown`: Z3's reason (`timeout`, `canceled` ...). */
  readonly reason?: string;
  /** Wall time of the check itself. */
  readonly ms: number;
}

interface Shared {
  readonly ctx: Z3Context;
  readonly solver: any;
  readonly initMs: number;
}

let shared: Promise<Shared> | undefined;
let initPaid = false;

/**
 * z3-solver's own `init()`, with one change: Z3's reference-count releases are held back while a
 * check runs.
 *
 * Why: z3-solver releases a Z3 object from a FinalizationRegistry callback, i.e. whenever V8's GC
 * decides, on the main thread, while `check()` runs Z3 on a worker thread over the same context.
 * Z3's context is single-threaded, so a release during a check corrupts its memory: seen as
 * "Maximum call stack size exceeded" or "memory access out of bounds" deep inside Z3 after some
 * hundreds of verifications in one process (never from deep formulas: the crashing queries were
 * 19 terms deep). Releases that come while any asynchronous Z3 call is in flight wait in a list
 * and are run as soon as the last one settles.
 */
async function initZ3(): Promise<any> {
  const lowLevel = await z3LowLevel.init(z3Built);
  const Z3 = guardReleases(lowLevel.Z3 as unknown as Record<string, unknown>) as unknown as typeof lowLevel.Z3;
  return { ...lowLevel, Z3, ...z3HighLevel.createApi(Z3, lowLevel.em) };
}

/** Wraps Z3's low-level functions: releases wait while an asynchronous call is in flight. */
function guardReleases(raw: Record<string, unknown>): Record<string, unknown> {
  type Fn = (...args: unknown[]) => unknown;
  let inFlight = 0;
  const held: (() => void)[] = [];
  const settle = (): void => {
    inFlight--;
    if (inFlight > 0) return;
    for (const release of held.splice(0)) release();
  };
  const guarded: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(raw)) {
    if (typeof fn !== 'function') {
      guarded[name] = fn;
      continue;
    }
    const isRelease = name === 'dec_ref' || name.endsWith('_dec_ref') || name === 'del_context' || name === 'rcf_del';
    const call = fn as Fn;
    guarded[name] = (...args: unknown[]): unknown => {
      if (isRelease && inFlight > 0) {
        held.push(() => call(...args));
        return undefined;
      }
      const result = call(...args);
      if (result instanceof Promise) {
        inFlight++;
        return result.finally(settle);
      }
      return result;
    };
  }
  return guarded;
}

async function create(): Promise<Shared> {
  const t0 = performance.now();
  const api = await initZ3();
  const ctx = api.Context('kgent');
  const solver = new ctx.Solver();
  // The first checks spin up Z3's worker thread and make V8 compile the WebAssembly paths of the
  // bit-vector solver (seconds of CPU on a first real query): pay that here, once, with queries
  // shaped like the verifier's (64-bit constant multiplication, arrays, uninterpreted functions).
  const bv = (n: bigint | number, w = 64): Z3Expr => ctx.BitVec.val(n, w);
  const x = ctx.BitVec.const('warmup!x', 64);
  const y = ctx.BitVec.const('warmup!y', 64);
  const q = ctx.BitVec.const('warmup!q', 64);
  const r = ctx.BitVec.const('warmup!r', 64);
  const m = ctx.Array.const('warmup!m', ctx.BitVec.sort(64), ctx.BitVec.sort(64));
  const f = ctx.Function.declare('warmup!f', ctx.BitVec.sort(64), ctx.BitVec.sort(16));
  const d = x.sub(m.select(y));
  const def = ctx.And(q.ule(bv(18446744073n)), q.mul(bv(1000000000)).ule(d), d.sub(q.mul(bv(1000000000))).eq(r), r.ult(bv(1000000000)));
  // Cheap goals (a hard one costs seconds here): unsatisfiable by propagation, then satisfiable.
  for (const goal of [ctx.Not(r.ult(bv(1000000000))), x.eq(y), ctx.Not(x.eq(x))]) {
    solver.push();
    // With a timeout Z3 starts a timer thread: under WebAssembly a new worker that must
    // instantiate the module (about a second of CPU). Start it now.
    solver.set('timeout', 10000);
    solver.add(def, goal, f.call(y).zeroExt(48).ule(bv(65535)), ctx.Concat(ctx.Extract(7, 0, x), ctx.Extract(15, 8, x)).eq(bv(80, 16)));
    if ((await solver.check()) === 'sat') solver.model().eval(q, true);
    solver.pop();
  }
  return { ctx, solver, initMs: performance.now() - t0 };
}

/**
 * The process-wide Z3 instance. `initMs` is the time spent initialising Z3 when THIS call paid it,
 * 0 otherwise (so a report shows the cost once).
 */
export async function acquireSolver(): Promise<{ solver: SmtSolver; initMs: number }> {
  shared ??= create();
  let s: Shared;
  try {
    s = await shared;
  } catch (err) {
    shared = undefined;
    throw err;
  }
  const initMs = initPaid ? 0 : s.initMs;
  initPaid = true;
  return { solver: new SmtSolver(s), initMs };
}

let queue: Promise<unknown> = Promise.resolve();

/** A handle on the shared Z3 instance with a translation cache for one verification run. */
export class SmtSolver {
  private readonly cache = new Map<number, Z3Expr>();
  private readonly funcs = new Map<string, any>();
  /** Number of checks run through this handle. */
  checks = 0;

  constructor(private readonly z: Shared) {}

  /**
   * Checks whether `formula` is satisfiable. Checks are serialised process-wide: Z3's context is
   * single-threaded and `check()` runs on a worker thread.
   */
  check<T = undefined>(
    formula: Term,
    timeoutMs: number,
    onSat?: (value: (t: Term) => bigint | boolean | undefined) => T,
  ): Promise<CheckResult & { readonly result?: T }> {
    const run = async (): Promise<CheckResult & { readonly result?: T }> => {
      const { ctx } = this.z;
      const solver = this.z.solver;
      this.checks++;
      if (formula.op === 'false') return { status: 'unsat', ms: 0 };
      const t0 = performance.now();
      let status = 'unknown';
      solver.push();
      try {
        solver.set('timeout', Math.max(1, Math.round(timeoutMs)));
        solver.add(this.toZ3(formula));
        trace.query?.(`; ---- query\n${solver.toString()}\n(check-sat)\n`);
        const r: string = await solver.check();
        status = r;
        if (r === 'unsat') return { status: 'unsat', ms: performance.now() - t0 };
        if (r !== 'sat') {
          let reason = 'unknown';
          try {
            reason = solver.reasonUnknown() || 'unknown';
          } catch {
            // Keep the generic reason.
          }
          return { status: 'unknown', reason, ms: performance.now() - t0 };
        }
        const ms = performance.now() - t0;
        if (!onSat) return { status: 'sat', ms };
        const model = solver.model();
        const memo = new Map<number, bigint | boolean | undefined>();
        const value = (t: Term): bigint | boolean | undefined => {
          if (t.sort.k === 'array') return undefined;
          if (memo.has(t.id)) return memo.get(t.id);
          const v = model.eval(this.toZ3(t), true);
          const r = t.sort.k === 'bool' ? ctx.isTrue(v) : ctx.isBitVecVal(v) ? (v.value() as bigint) : undefined;
          memo.set(t.id, r);
          return r;
        };
        return { status: 'sat', ms, result: onSat(value) };
      } finally {
        trace.checked?.(performance.now() - t0, status);
        solver.pop();
      }
    };
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  }

  private sort(s: Sort): any {
    const { ctx } = this.z;
    if (s.k === 'bool') return ctx.Bool.sort();
    if (s.k === 'bv') return ctx.BitVec.sort(s.w);
    return ctx.Array.sort(ctx.BitVec.sort(s.index), ctx.BitVec.sort(s.value));
  }

  /** Translates a term, iteratively (deep terms would overflow a recursive walk). */
  private toZ3(root: Term): Z3Expr {
    const stack: Term[] = [root];
    while (stack.length > 0) {
      const t = stack[stack.length - 1] as Term;
      if (this.cache.has(t.id)) {
        stack.pop();
        continue;
      }
      const pending = t.args.filter((a) => !this.cache.has(a.id));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      this.cache.set(t.id, this.build(t));
    }
    return this.cache.get(root.id);
  }

  private build(t: Term): Z3Expr {
    const { ctx } = this.z;
    const a = t.args.map((x) => this.cache.get(x.id));
    const [x, y, z] = a;
    switch (t.op) {
      case 'bv':
        return ctx.BitVec.val(t.value as bigint, (t.sort as { w: number }).w);
      case 'true':
        return ctx.Bool.val(true);
      case 'false':
        return ctx.Bool.val(false);
      case 'var':
        if (t.sort.k === 'bool') return ctx.Bool.const(t.name);
        if (t.sort.k === 'bv') return ctx.BitVec.const(t.name, t.sort.w);
        return ctx.Array.const(t.name, ctx.BitVec.sort(t.sort.index), ctx.BitVec.sort(t.sort.value));
      case 'uf': {
        let f = this.funcs.get(t.name as string);
        if (!f) {
          f = ctx.Function.declare(t.name, ...t.args.map((arg) => this.sort(arg.sort)), this.sort(t.sort));
          this.funcs.set(t.name as string, f);
        }
        return f.call(...a);
      }
      case 'not':
        return ctx.Not(x);
      case 'and':
        return ctx.And(...a);
      case 'or':
        return ctx.Or(...a);
      case 'ite':
        return ctx.If(x, y, z);
      case 'eq':
        return x.eq(y);
      case 'ult':
        return x.ult(y);
      case 'ule':
        return x.ule(y);
      case 'slt':
        return x.slt(y);
      case 'sle':
        return x.sle(y);
      case 'add':
        return x.add(y);
      case 'sub':
        return x.sub(y);
      case 'mul':
        return x.mul(y);
      case 'udiv':
        return x.udiv(y);
      case 'urem':
        return x.urem(y);
      case 'bvand':
        return x.and(y);
      case 'bvor':
        return x.or(y);
      case 'bvxor':
        return x.xor(y);
      case 'bvnot':
        return x.not();
      case 'neg':
        return x.neg();
      case 'shl':
        return x.shl(y);
      case 'lshr':
        return x.lshr(y);
      case 'ashr':
        return x.shr(y);
      case 'extract':
        return ctx.Extract(t.params[0], t.params[1], x);
      case 'concat':
        return ctx.Concat(...a);
      case 'zext':
        return x.zeroExt(t.params[0]);
      case 'sext':
        return x.signExt(t.params[0]);
      case 'select':
        return x.select(y);
      case 'store':
        return x.store(y, z);
      case 'const-array':
        return ctx.Array.K(ctx.BitVec.sort((t.sort as { index: number }).index), x);
    }
  }
}
