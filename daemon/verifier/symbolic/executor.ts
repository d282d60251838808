/**
 * The symbolic executor: runs every probe of a program over symbolic inputs (one invocation, which
 * is instantaneous: each builtin has one value) and collects, for each `assert`, one proof
 * obligation per path reaching it. Pure: no solver here (see `smt/solver.ts`), no I/O (contracts
 * come through a {@link ContractCache}).
 *
 * Semantics follow bpftrace 0.17 as observed on this machine (see the differential test): operands
 * are extended to 64 bits by their signedness; `+ - * & | ^` are signed only when both sides are;
 * `/` and `%` are unsigned and give 0 for a zero divisor; `>>` is a logical shift; `< <= > >=`
 * compare signed only when both sides are signed; unary `-` and `~` keep the operand's type; casts
 * keep the source width and extend by the target's signedness; `clear()`/`zero()` act later in user
 * space, `delete()` at once; `exit()` ends the action.
 *
 * Not modelled (each yields an unconstrained value, so proofs stay sound and counterexamples that
 * depend on it are reported `unknown`; statements that cannot be executed at all cut the path and
 * make the probe's assertions `unknown`): stacks (`kstack`, `ustack`), symbolisation (`ksym`,
 * `usym`, `kaddr`, `uaddr`, `func`, `probe`), `reg()`, `buf()`, `macaddr()`, `path()`, `cgroupid()`,
 * `cgroup_path()`, `strftime()`, `pton()`, `strcontains()`, `username`, `*p` and `&x`, indexing
 * through pointers or with variable indices, casts to arrays or structs, `sizeof` of structs,
 * `str()`/`strncmp()` with a variable length, `for` loops over maps (or over ranges without
 * constant bounds), `while` loops past 16 input-dependent
 * iterations (100 in all), more than 256 paths per probe, the contents of avg/min/max/stats/hist/
 * lhist maps (their `mapval` is modelled), tuple map values and keys, kernel struct fields without a
 * contract (no BTF reader yet), `args` of kprobe/kfunc/uprobe/usdt probes and of wildcard
 * tracepoints, bare identifiers (enum constants).
 */
import type { Diagnostic, Span } from '../../protocol/diagnostic.js';
import type { ContractExpr, FieldContract } from '../contracts.js';
import type { AssertStmt, AttachPoint, Block, Expr, Probe, Program, Stmt } from '../frontend/ast.js';
import { printAttachPoints, printExpr } from '../frontend/index.js';
import { arraySort, bvSort, type Term, type TermBuilder } from '../smt/term.js';
import type { ContractCache } from './contract-cache.js';
import {
  CAST_TYPES,
  canonicalStringAxiom,
  intTy,
  S64,
  storedTerm,
  storedWidth,
  stringLiteralTerm,
  U64,
  type Place,
  type Ty,
  type Val,
} from './values.js';

/** Raised when an expression uses something the executor does not model. */
export class Unsupported extends Error {}

/** One `assert` statement of the program. */
export interface AssertionSite {
  readonly stmt: AssertStmt;
  readonly probeIndex: number;
  /** Attach points as written. */
  readonly probeText: string;
  /** The asserted expression as printed source. */
  readonly text: string;
}

/** A value shown in a counterexample: its display name, term and type. */
export interface Shown {
  readonly name: string;
  readonly val: Val;
}

/** One path reaching one assertion. */
export interface Obligation {
  readonly site: AssertionSite;
  /** Contract preconditions of the probe (provider conditions; field axioms are added per query). */
  readonly pre: Term;
  /** The probe predicate and the branch conditions of this path. */
  readonly pc: Term;
  /** The probe predicate alone. */
  readonly pred: Term;
  /** The assumptions on this path before the assertion. */
  readonly assumptions: Term;
  /** The assertion on this path. */
  readonly goal: Term;
  /** The assertion with every value the program computes replaced by a fresh symbol. */
  readonly havocGoal: Term;
  /** Computed values named in the assertion, for counterexamples. */
  readonly computed: readonly Shown[];
  /** For `a OP b` assertions: both sides, for the summary line. */
  readonly sides?: { readonly op: string; readonly left: Shown; readonly right: Shown };
}

/** An `assume` on a path: its assumptions so far must be satisfiable (else the proof is vacuous). */
export interface AssumeSite {
  readonly span: Span;
  readonly text: string;
  readonly pre: Term;
  readonly pc: Term;
  readonly pred: Term;
  readonly assumptions: Term;
}

/** Everything a run of the executor found, for `verify.ts` to decide with the solver. */
export interface ExecResult {
  readonly sites: readonly AssertionSite[];
  readonly obligations: readonly Obligation[];
  /** Assertions that cannot be decided on some path, with why (unsupported construct ...). */
  readonly unknowns: ReadonlyMap<AssertStmt, string>;
  readonly assumes: readonly AssumeSite[];
  /** Per probe: why some paths were not explored to the end (loop bound, path limit ...). */
  readonly incomplete: ReadonlyMap<number, string>;
  /** Guard failures found while executing (assume over map contents this invocation wrote). */
  readonly guardDiagnostics: readonly Diagnostic[];
  /** Contract facts about input terms (field ranges beyond width, enum domains, string form), by term id. */
  readonly axioms: ReadonlyMap<number, Term>;
  /** Symbols standing for unmodelled values, with the reason. */
  readonly opaque: ReadonlyMap<string, string>;
  /** Symbols that are functions of other terms (quotients, remainders), for concrete evaluation. */
  readonly definitions: ReadonlyMap<string, Term>;
  /** Input values by display name (`args->dport`, `pid`, `@start[tid]`). */
  readonly inputs: ReadonlyMap<string, Val>;
  /** Constructs met that are not modelled (for reports). */
  readonly unmodelled: ReadonlySet<string>;
}

/** Contracts and exploration bounds of an {@link Executor}. */
export interface ExecOptions {
  readonly contracts: ContractCache;
  /** Paths per probe before the rest are abandoned (default 256). */
  readonly maxPaths?: number;
  /** Iterations of a `while` loop before its paths are abandoned (default 100). */
  readonly maxLoopIterations?: number;
  /** Iterations whose loop condition depends on inputs (each forks a path) (default 16). */
  readonly maxForkingIterations?: number;
}

interface MapInfo {
  keyTys: Ty[];
  keyWidth: number;
  valTy: Ty;
  valWidth: number;
  /** The aggregation last seen for this map (`count`, `hist` ...), if any. */
  agg?: string;
  /** Values are not modelled (tuples, stacks ...). */
  opaqueValues?: boolean;
  /** Key layout / value type seen (by a read or write with keys / by a write). */
  keyKnown?: boolean;
  valKnown?: boolean;
}

interface LastUpdate {
  readonly keys: readonly Val[];
  readonly value: Val;
}

interface PathState {
  pc: Term[];
  vars: Map<string, Val>;
  maps: Map<string, Term>;
  updated: Set<string>;
  printed?: { vals: readonly Val[]; texts: readonly string[] };
  lastUpdate: Map<string, LastUpdate>;
  assumptions: Term[];
  flow: 'normal' | 'return' | 'break' | 'continue';
}

/**
 * After one loop iteration: paths that broke out (or returned/exited) go to `exits`; paths that
 * ran to the end or hit `continue` come back to iterate again.
 */
function splitLoopExits(after: readonly PathState[], exits: PathState[]): PathState[] {
  const again: PathState[] = [];
  for (const st of after) {
    if (st.flow === 'break') {
      st.flow = 'normal';
      exits.push(st);
    } else if (st.flow === 'continue' || st.flow === 'normal') {
      st.flow = 'normal';
      again.push(st);
    } else exits.push(st);
  }
  return again;
}

function cloneState(s: PathState): PathState {
  return {
    pc: [...s.pc],
    vars: new Map(s.vars),
    maps: new Map(s.maps),
    updated: new Set(s.updated),
    ...(s.printed ? { printed: s.printed } : {}),
    lastUpdate: new Map(s.lastUpdate),
    assumptions: [...s.assumptions],
    flow: s.flow,
  };
}

type Mode = 'real' | 'havoc';

interface EvalCtx {
  readonly mode: Mode;
  /** Fresh symbols of a havoc evaluation, so one observable read twice agrees. */
  readonly havoc: Map<string, Val>;
  /** Set when evaluating an `assume`: map reads of maps written this invocation are reported. */
  readonly assume?: { readonly span: Span };
}

interface ProbeCtx {
  readonly index: number;
  readonly probe: Probe;
  readonly ap: AttachPoint;
  readonly text: string;
  /** tracepoint fields when known. */
  readonly fields?: readonly FieldContract[];
  /** Why args fields are not known (no contract, wildcard ...). */
  readonly fieldsMissing?: string;
}

const AGGS = new Set(['count', 'sum', 'avg', 'min', 'max', 'stats', 'hist', 'lhist', 'tseries']);

/** Functions whose result the executor does not model: they yield an opaque value. */
const OPAQUE_FUNCTIONS = new Set([
  'kstack',
  'ustack',
  'ksym',
  'usym',
  'kaddr',
  'uaddr',
  'reg',
  'cgroupid',
  'buf',
  'macaddr',
  'path',
  'cgroup_path',
  'strftime',
  'pton',
  'len',
  'has_key',
  'percpu_kaddr',
  'strcontains',
  'nsecs',
  'skboutput',
  'socket_cookie',
  'strerror',
]);

/** Statement-level calls with no effect on the modelled state. */
const NO_EFFECT_CALLS = new Set(['print', 'time', 'cat', 'join', 'system', 'signal', 'override', 'printf', 'debugf', 'errorf', 'warnf']);

/**
 * Executes a program's probes over symbolic inputs and collects proof obligations. One instance
 * per verification run (it shares the run's {@link TermBuilder}); see {@link Executor.run}.
 */
export class Executor {
  private readonly maps = new Map<string, MapInfo>();
  private readonly axioms = new Map<number, Term>();
  private readonly opaque = new Map<string, string>();
  private readonly definitions = new Map<string, Term>();
  private readonly inputs = new Map<string, Val>();
  private readonly unmodelled = new Set<string>();
  private sites: AssertionSite[] = [];
  private obligations: Obligation[] = [];
  private unknowns = new Map<AssertStmt, string>();
  private assumes: AssumeSite[] = [];
  private incomplete = new Map<number, string>();
  private guardDiagnostics: Diagnostic[] = [];
  private readonly maxPaths: number;
  private readonly maxLoop: number;
  private readonly maxForkingIterations: number;
  private builtinCache = new Map<string, Val>();
  /** The predicate of the probe being executed (T when it has none). */
  private predicate: Term;

  constructor(
    private readonly b: TermBuilder,
    private readonly opts: ExecOptions,
  ) {
    this.maxPaths = opts.maxPaths ?? 256;
    this.predicate = b.T;
    this.maxLoop = opts.maxLoopIterations ?? 100;
    this.maxForkingIterations = opts.maxForkingIterations ?? 16;
  }

  /**
   * Executes every probe. Runs twice: the first pass learns map key and value types from all
   * writes (a map read in one probe is typed by a write in another), the second collects
   * obligations.
   */
  run(program: Program): ExecResult {
    this.pass(program);
    this.reset();
    this.pass(program);
    return {
      sites: this.sites,
      obligations: this.obligations,
      unknowns: this.unknowns,
      assumes: this.assumes,
      incomplete: this.incomplete,
      guardDiagnostics: this.guardDiagnostics,
      axioms: this.axioms,
      opaque: this.opaque,
      definitions: this.definitions,
      inputs: this.inputs,
      unmodelled: this.unmodelled,
    };
  }

  private reset(): void {
    this.sites = [];
    this.obligations = [];
    this.unknowns = new Map();
    this.assumes = [];
    this.incomplete = new Map();
    this.guardDiagnostics = [];
  }

  private pass(program: Program): void {
    program.probes.forEach((probe, index) => {
      const text = printAttachPoints(probe.attachPoints);
      for (const s of collectAsserts(probe.body)) {
        if (!this.sites.some((x) => x.stmt === s)) this.sites.push({ stmt: s, probeIndex: index, probeText: text, text: printExpr(s.expr) });
      }
      for (const ap of probe.attachPoints) this.runProbe({ index, probe, ap, text, ...this.fieldsFor(ap) });
    });
  }

  private fieldsFor(ap: AttachPoint): { fields?: readonly FieldContract[]; fieldsMissing?: string } {
    if (ap.provider !== 'tracepoint') return { fieldsMissing: `args of ${ap.provider} probes are not modelled` };
    if (ap.wildcard) return { fieldsMissing: `args of the wildcard tracepoint ${ap.raw} are not modelled` };
    const [category, event] = ap.target;
    if (!category || !event) return { fieldsMissing: `tracepoint ${ap.raw} has no category:event` };
    const fields = this.opts.contracts.tracepointFields(category, event);
    if (!fields) return { fieldsMissing: `no format known for tracepoint ${category}:${event}` };
    return { fields };
  }

  private runProbe(pc: ProbeCtx): void {
    const b = this.b;
    this.builtinCache = new Map();
    const init: PathState = {
      pc: [],
      vars: new Map(),
      maps: new Map(),
      updated: new Set(),
      lastUpdate: new Map(),
      assumptions: [],
      flow: 'normal',
    };
    const pre = b.and(
      ...this.opts.contracts.preconditions({ provider: pc.ap.provider, target: pc.ap.target }).map((c) => this.contractTerm(c, pc, init)),
    );
    const states: PathState[] = [init];
    this.predicate = b.T;
    if (pc.probe.predicate) {
      try {
        const cond = this.asBool(this.evalLoose(pc.probe.predicate, init, pc, { mode: 'real', havoc: new Map() }));
        // Kept even when constant false: the guards then report a predicate that can never hold.
        init.pc.push(cond);
        this.predicate = cond;
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        this.markIncomplete(pc.index, `predicate: ${err.message}`);
        return;
      }
    }
    this.execBlock(pc.probe.body, states, pc, pre);
  }

  private markIncomplete(probe: number, reason: string): void {
    if (!this.incomplete.has(probe)) this.incomplete.set(probe, reason);
  }

  // ---- statements ------------------------------------------------------------------------

  private execBlock(block: Block, states: PathState[], pc: ProbeCtx, pre: Term): PathState[] {
    let cur = states;
    for (const stmt of block.statements) {
      const live = cur.filter((s) => s.flow === 'normal');
      const done = cur.filter((s) => s.flow !== 'normal');
      const next: PathState[] = [];
      for (const s of live) next.push(...this.execStmt(stmt, s, pc, pre));
      if (next.length > this.maxPaths) {
        this.markIncomplete(pc.index, `more than ${this.maxPaths} paths`);
        next.length = this.maxPaths;
      }
      cur = [...done, ...next];
    }
    return cur;
  }

  private execStmt(stmt: Stmt, s: PathState, pc: ProbeCtx, pre: Term): PathState[] {
    const b = this.b;
    const real: EvalCtx = { mode: 'real', havoc: new Map() };
    try {
      switch (stmt.kind) {
        case 'Block':
          return this.execBlock(stmt, [s], pc, pre);
        case 'ExprStmt':
          this.execExprStmt(stmt.expr, s, pc, real);
          return [s];
        case 'AssignStmt': {
          if (stmt.target.kind === 'Variable') {
            let v = this.evalLoose(stmt.value, s, pc, real);
            if (stmt.op !== '=') {
              const old = this.readVar(stmt.target.name, s);
              v = this.binary(stmt.op.slice(0, -1), old, v);
            }
            s.vars.set(stmt.target.name, v);
          } else {
            this.assignMap(stmt.target, stmt.op, stmt.value, s, pc, real);
          }
          return [s];
        }
        case 'VarDeclStmt': {
          let v: Val;
          if (stmt.value) {
            v = this.evalLoose(stmt.value, s, pc, real);
            // `let $x: uint16 = e` converts like a cast.
            if (stmt.type && CAST_TYPES[stmt.type.name] && stmt.type.pointerLevel === 0 && stmt.type.arraySize === undefined) {
              v = this.cast({ kind: 'Cast', type: stmt.type, operand: stmt.value, span: stmt.span }, v);
            }
          } else {
            const ct = stmt.type ? CAST_TYPES[stmt.type.name] : undefined;
            v = { ty: ct ? intTy(ct.size, ct.signed) : S64, t: b.bv(0, 64) };
          }
          s.vars.set(stmt.variable.name, v);
          return [s];
        }
        case 'IfStmt': {
          const c = this.asBool(this.evalLoose(stmt.condition, s, pc, real));
          const out: PathState[] = [];
          if (c !== b.F) {
            const t = cloneState(s);
            if (c !== b.T) t.pc.push(c);
            out.push(...this.execBlock(stmt.then, [t], pc, pre));
          }
          if (c !== b.T) {
            const e = cloneState(s);
            if (c !== b.F) e.pc.push(b.not(c));
            if (stmt.else) {
              out.push(...(stmt.else.kind === 'Block' ? this.execBlock(stmt.else, [e], pc, pre) : this.execStmt(stmt.else, e, pc, pre)));
            } else out.push(e);
          }
          return out;
        }
        case 'UnrollStmt': {
          const n = this.constInt(stmt.count, s, pc);
          if (n === undefined) throw new Unsupported('unroll with a non-constant count');
          // bpftrace accepts 1..100.
          if (n < 1 || n > 100) throw new Unsupported(`unroll(${n}): bpftrace accepts counts from 1 to 100`);
          let states = [s];
          for (let i = 0; i < n; i++) states = this.execBlock(stmt.body, states, pc, pre);
          return states;
        }
        case 'WhileStmt':
          return this.execWhile(stmt, s, pc, pre);
        case 'ForStmt': {
          if (stmt.iterable.kind === 'Range') {
            // `for ($i : a..b)` with constant bounds runs b - a times with $i = a .. b-1.
            const lo = this.constInt(stmt.iterable.start, s, pc);
            const hi = this.constInt(stmt.iterable.end, s, pc);
            if (lo !== undefined && hi !== undefined && hi - lo <= this.maxLoop) {
              let states = [s];
              const exits: PathState[] = [];
              for (let i = lo; i < hi && states.length > 0; i++) {
                for (const st of states) st.vars.set(stmt.variable.name, { ty: S64, t: b.bv(i, 64) });
                const after = this.execBlock(stmt.body, states, pc, pre);
                states = splitLoopExits(after, exits);
              }
              return [...exits, ...states];
            }
          }
          this.unmodelled.add('for loops over maps, and over ranges without constant bounds');
          this.markIncomplete(pc.index, `for loop at line ${stmt.span.line} is not modelled`);
          return [];
        }
        case 'ReturnStmt':
          s.flow = 'return';
          return [s];
        case 'BreakStmt':
          s.flow = 'break';
          return [s];
        case 'ContinueStmt':
          s.flow = 'continue';
          return [s];
        case 'AssumeStmt': {
          const ctx: EvalCtx = { mode: 'real', havoc: new Map(), assume: { span: stmt.span } };
          const a = this.asBool(this.evalExpr(stmt.expr, s, pc, ctx));
          s.assumptions.push(a);
          this.assumes.push({
            span: stmt.span,
            text: printExpr(stmt.expr),
            pre,
            pc: b.and(...s.pc),
            pred: this.predicate,
            assumptions: b.and(...s.assumptions),
          });
          return [s];
        }
        case 'AssertStmt':
          this.collectAssert(stmt, s, pc, pre);
          return [s];
      }
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      this.markIncomplete(pc.index, `line ${stmt.span.line}: ${err.message}`);
      return [];
    }
    return [s];
  }

  private execWhile(stmt: Extract<Stmt, { kind: 'WhileStmt' }>, s: PathState, pc: ProbeCtx, pre: Term): PathState[] {
    const b = this.b;
    const exits: PathState[] = [];
    let looping: PathState[] = [s];
    // Iterations whose condition depends on inputs fork; those are capped lower than iterations
    // with a known condition (a counter loop), which cost nothing extra.
    let forking = 0;
    for (let i = 0; i < this.maxLoop && forking < this.maxForkingIterations && looping.length > 0; i++) {
      const next: PathState[] = [];
      let forked = false;
      for (const st of looping) {
        const c = this.asBool(this.evalLoose(stmt.condition, st, pc, { mode: 'real', havoc: new Map() }));
        if (c !== b.T && c !== b.F) forked = true;
        if (c !== b.T) {
          const e = cloneState(st);
          if (c !== b.F) e.pc.push(b.not(c));
          exits.push(e);
        }
        if (c !== b.F) {
          const t = cloneState(st);
          if (c !== b.T) t.pc.push(c);
          next.push(t);
        }
      }
      if (forked) forking++;
      const after = this.execBlock(stmt.body, next, pc, pre);
      looping = splitLoopExits(after, exits);
      if (exits.length + looping.length > this.maxPaths) {
        this.markIncomplete(pc.index, `more than ${this.maxPaths} paths in the while loop at line ${stmt.span.line}`);
        return exits.slice(0, this.maxPaths);
      }
    }
    if (looping.length > 0) {
      const bound = forking >= this.maxForkingIterations ? this.maxForkingIterations : this.maxLoop;
      this.unmodelled.add(`while loops whose iteration count depends on inputs beyond ${this.maxForkingIterations} iterations (or beyond ${this.maxLoop} in all)`);
      this.markIncomplete(pc.index, `while loop at line ${stmt.span.line} may run more than ${bound} iterations (explored exactly up to that bound)`);
    }
    return exits;
  }

  private collectAssert(stmt: AssertStmt, s: PathState, pc: ProbeCtx, pre: Term): void {
    const b = this.b;
    const site = this.sites.find((x) => x.stmt === stmt);
    if (!site) return;
    let goal: Term;
    let havocGoal: Term;
    try {
      goal = this.asBool(this.evalExpr(stmt.expr, s, pc, { mode: 'real', havoc: new Map() }));
      havocGoal = this.asBool(this.evalExpr(stmt.expr, s, pc, { mode: 'havoc', havoc: new Map() }));
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      if (!this.unknowns.has(stmt)) this.unknowns.set(stmt, err.message);
      return;
    }
    const computed: Shown[] = [];
    const seen = new Set<string>();
    const real: EvalCtx = { mode: 'real', havoc: new Map() };
    const visit = (e: Expr): void => {
      if (e.kind === 'Variable' || (e.kind === 'Call' && ['printed', 'mapkey', 'mapval'].includes(e.callee))) {
        const name = printExpr(e);
        if (!seen.has(name)) {
          seen.add(name);
          try {
            computed.push({ name, val: this.evalExpr(e, s, pc, real) });
          } catch {
            // Already reported through the goal.
          }
        }
        return;
      }
      for (const c of exprChildren(e)) visit(c);
    };
    visit(stmt.expr);
    let sides: Obligation['sides'];
    const e = stmt.expr;
    if (e.kind === 'Binary' && ['==', '!=', '<', '<=', '>', '>='].includes(e.op)) {
      try {
        sides = {
          op: e.op,
          left: { name: this.describe(e.left, s), val: this.evalExpr(e.left, s, pc, real) },
          right: { name: this.describe(e.right, s), val: this.evalExpr(e.right, s, pc, real) },
        };
      } catch {
        sides = undefined;
      }
    }
    this.obligations.push({
      site,
      pre,
      pc: b.and(...s.pc),
      pred: this.predicate,
      assumptions: b.and(...s.assumptions),
      goal,
      havocGoal,
      computed,
      ...(sides ? { sides } : {}),
    });
  }

  /** `printed(1)` -> `printed $dport` when the printf argument is known, else the source text. */
  private describe(e: Expr, s: PathState): string {
    if (e.kind === 'Call' && e.callee === 'printed' && e.args[0]?.kind === 'Integer') {
      const i = Number(e.args[0].value);
      const text = s.printed?.texts[i];
      if (text !== undefined && text !== printExpr(e)) return `printed ${text}`;
    }
    return printExpr(e);
  }

  private execExprStmt(e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): void {
    if (e.kind === 'Update') {
      this.update(e, s, pc, ctx);
      return;
    }
    if (e.kind === 'Call') {
      switch (e.callee) {
        case 'printf': {
          const args = e.args.slice(1);
          s.printed = { vals: args.map((a) => this.evalLoose(a, s, pc, ctx)), texts: args.map((a) => printExpr(a)) };
          return;
        }
        case 'delete': {
          for (const target of deleteTargets(e)) {
            const info = this.mapInfo(target.name);
            const key = this.keyTerm(target.name, target.keys.map((k) => this.evalLoose(k, s, pc, ctx)));
            s.maps.set(target.name, this.b.store(this.mapArray(target.name, s), key, this.b.bv(0, info.valWidth)));
            s.updated.add(target.name);
          }
          return;
        }
        case 'clear':
        case 'zero':
          // bpftrace 0.17 carries these out later, in user space (checked on this machine: @m[1]
          // still reads 5 right after clear(@m)); within the invocation nothing changes, and the
          // next invocation's contents are unknown anyway.
          return;
        case 'exit':
          // exit() ends the action (checked on this machine: a map update after it does not happen).
          s.flow = 'return';
          return;
        default:
          break;
      }
      if (NO_EFFECT_CALLS.has(e.callee)) {
        // Evaluate arguments for their own effects (none modelled) and to surface unsupported ones.
        for (const a of e.args) {
          if (a.kind !== 'Map') this.tryEval(a, s, pc, ctx);
        }
        return;
      }
    }
    this.tryEval(e, s, pc, ctx);
  }

  private tryEval(e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): void {
    try {
      this.evalExpr(e, s, pc, ctx);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      // A value computed and thrown away cannot affect an assertion.
    }
  }

  // ---- maps ------------------------------------------------------------------------------

  private mapInfo(name: string): MapInfo {
    let m = this.maps.get(name);
    if (!m) {
      m = { keyTys: [], keyWidth: 8, valTy: U64, valWidth: 64 };
      this.maps.set(name, m);
    }
    return m;
  }

  private learnMap(name: string, keys: readonly Val[], value: Val | undefined, agg?: string): MapInfo {
    const m = this.mapInfo(name);
    if (!m.keyKnown && keys.length > 0) {
      m.keyTys = keys.map((k) => k.ty);
      m.keyWidth = keys.reduce((w, k) => w + storedWidth(k.ty), 0);
      m.keyKnown = true;
    }
    if (!m.valKnown && value) {
      const valTy = value.ty.k === 'bool' ? U64 : value.ty;
      m.valTy = valTy;
      m.valWidth = storedWidth(valTy);
      if (valTy.k === 'tuple' || valTy.k === 'place' || valTy.k === 'void') m.opaqueValues = true;
      m.valKnown = true;
    }
    if (agg) m.agg = agg;
    return m;
  }

  private keyTerm(name: string, keys: readonly Val[]): Term {
    const info = this.mapInfo(name);
    if (keys.length === 0) return this.b.bv(0, info.keyWidth);
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
      parts.push(storedTerm(this.b, k, storedWidth(ty)));
    });
    const t = parts.length === 1 ? (parts[0] as Term) : this.b.concat(...parts);
    return this.b.resize(t, info.keyWidth);
  }

  private mapArray(name: string, s: PathState): Term {
    const cur = s.maps.get(name);
    if (cur) return cur;
    const info = this.mapInfo(name);
    return this.b.variable(`${name}@before:${info.keyWidth}:${info.valWidth}`, arraySort(info.keyWidth, info.valWidth));
  }

  private readMap(e: Extract<Expr, { kind: 'Map' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    const b = this.b;
    const keys = e.keys.map((k) => this.evalExpr(k, s, pc, ctx));
    const info = this.mapInfo(e.name);
    if (info.opaqueValues) throw new Unsupported(`values of ${e.name} are not modelled`);
    if (info.agg && !['count', 'sum'].includes(info.agg)) {
      throw new Unsupported(`reading the ${info.agg}() map ${e.name} is not modelled`);
    }
    const key = this.keyTerm(e.name, keys);
    const written = s.updated.has(e.name);
    if (ctx.assume && written) {
      this.guardDiagnostics.push({
        code: 'guard.assume-computed',
        severity: 'error',
        stage: 'guard',
        message: `assume() reads ${e.name} after this probe wrote it: it may constrain only map contents from before the invocation`,
        span: e.span,
        hints: ['move the assume() before the first update of the map, or assert the property instead'],
      });
    }
    let arr: Term;
    if (ctx.mode === 'havoc' && written) {
      const key2 = `map:${e.name}`;
      let h = ctx.havoc.get(key2);
      if (!h) {
        h = { ty: info.valTy, t: b.fresh(`havoc${e.name}`, arraySort(info.keyWidth, info.valWidth)) };
        ctx.havoc.set(key2, h);
      }
      arr = h.t;
    } else arr = this.mapArray(e.name, s);
    const raw = b.select(arr, key);
    const val = this.fromStored(raw, info.valTy);
    if (!written && ctx.mode === 'real') this.noteInput(printExpr(e), val);
    return val;
  }

  private fromStored(raw: Term, ty: Ty): Val {
    if (ty.k === 'int' || ty.k === 'ptr') return { ty, t: this.b.resize(raw, 64) };
    return { ty, t: raw };
  }

  private assignMap(
    target: Extract<Expr, { kind: 'Map' }>,
    op: string,
    valueExpr: Expr,
    s: PathState,
    pc: ProbeCtx,
    ctx: EvalCtx,
  ): void {
    const b = this.b;
    const keys = target.keys.map((k) => this.evalLoose(k, s, pc, ctx));
    if (valueExpr.kind === 'Call' && AGGS.has(valueExpr.callee) && op === '=') {
      const agg = valueExpr.callee;
      const arg = valueExpr.args[0] ? this.evalLoose(valueExpr.args[0], s, pc, ctx) : undefined;
      const x: Val = agg === 'count' ? { ty: U64, t: b.bv(1, 64) } : (arg ?? { ty: U64, t: b.bv(1, 64) });
      const info = this.learnMap(target.name, keys, agg === 'count' ? { ty: U64, t: b.bv(1, 64) } : x, agg);
      const key = this.keyTerm(target.name, keys);
      const arr = this.mapArray(target.name, s);
      let next: Term;
      if (agg === 'count' || agg === 'sum') {
        const old = b.resize(b.select(arr, key), 64);
        next = b.store(arr, key, b.resize(b.add(old, this.asInt(x).t), info.valWidth));
      } else {
        this.unmodelled.add(`contents of ${agg}() maps (mapval is modelled)`);
        next = this.opaqueArray(target.name, info, `contents of the ${agg}() map ${target.name} are not modelled`);
      }
      s.maps.set(target.name, next);
      s.updated.add(target.name);
      s.lastUpdate.set(target.name, { keys, value: agg === 'count' ? { ty: U64, t: b.bv(1, 64) } : x });
      return;
    }
    let value = this.evalLoose(valueExpr, s, pc, ctx);
    if (op !== '=') {
      const old = this.readMap(target, s, pc, { mode: 'real', havoc: new Map() });
      value = this.binary(op.slice(0, -1), old, value);
    }
    const info = this.learnMap(target.name, keys, value);
    const key = this.keyTerm(target.name, keys);
    if (info.opaqueValues) {
      s.maps.set(target.name, this.opaqueArray(target.name, info, `values of ${target.name} are not modelled`));
    } else {
      s.maps.set(target.name, b.store(this.mapArray(target.name, s), key, storedTerm(b, value, info.valWidth)));
    }
    s.updated.add(target.name);
    s.lastUpdate.set(target.name, { keys, value });
  }

  private opaqueArray(name: string, info: MapInfo, reason: string): Term {
    const t = this.b.fresh(`opaque${name}`, arraySort(info.keyWidth, info.valWidth));
    this.opaque.set(t.name as string, reason);
    return t;
  }

  private update(e: Extract<Expr, { kind: 'Update' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    const one: Val = { ty: S64, t: this.b.bv(1, 64) };
    const op = e.op === '++' ? '+' : '-';
    if (e.operand.kind === 'Variable') {
      const old = this.readVar(e.operand.name, s);
      const nv = this.binary(op, old, one);
      s.vars.set(e.operand.name, nv);
      return e.prefix ? nv : old;
    }
    if (e.operand.kind === 'Map') {
      const keys = e.operand.keys.map((k) => this.evalLoose(k, s, pc, ctx));
      const info0 = this.maps.get(e.operand.name);
      const old = info0 ? this.readMap(e.operand, s, pc, { mode: 'real', havoc: new Map() }) : { ty: S64, t: this.b.bv(0, 64) };
      const nv = this.binary(op, old, one);
      const info = this.learnMap(e.operand.name, keys, nv);
      const key = this.keyTerm(e.operand.name, keys);
      s.maps.set(e.operand.name, this.b.store(this.mapArray(e.operand.name, s), key, storedTerm(this.b, nv, info.valWidth)));
      s.updated.add(e.operand.name);
      s.lastUpdate.set(e.operand.name, { keys, value: nv });
      return e.prefix ? nv : old;
    }
    throw new Unsupported(`${e.op} on ${e.operand.kind}`);
  }

  private readVar(name: string, s: PathState): Val {
    const v = s.vars.get(name);
    if (!v) throw new Unsupported(`${name} is used before it is assigned on this path`);
    return v;
  }

  // ---- expressions -----------------------------------------------------------------------

  /**
   * Evaluates an expression whose value the program only computes with (assignments, printf
   * arguments, map keys, conditions): something unsupported becomes an unconstrained value, which
   * over-approximates it, instead of abandoning the path. Assertions that depend on it cannot be
   * refuted through it (they come out unknown); they can still be proved.
   */
  private evalLoose(e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    try {
      return this.evalExpr(e, s, pc, ctx);
    } catch (err) {
      if (!(err instanceof Unsupported) || ctx.mode !== 'real') throw err;
      const t = this.b.fresh('opaque', bvSort(64));
      this.opaque.set(t.name as string, `${printExpr(e)}: ${err.message}`);
      return { ty: U64, t };
    }
  }

  evalExpr(e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    const b = this.b;
    switch (e.kind) {
      case 'Integer': {
        const v = e.value;
        const signed = v <= 0x7fffffffffffffffn;
        return { ty: signed ? S64 : U64, t: b.bv(v, 64) };
      }
      case 'Boolean':
        return { ty: { k: 'bool' }, t: b.bool(e.value) };
      case 'String': {
        const { t, size } = stringLiteralTerm(b, e.value);
        return { ty: { k: 'str', size }, t };
      }
      case 'Builtin':
        return this.builtin(e.name);
      case 'Positional': {
        // One value for the whole run, given on the command line: an input like a builtin.
        const v: Val = { ty: S64, t: b.variable(`$${e.index}`, bvSort(64)) };
        this.noteInput(`$${e.index}`, v);
        return v;
      }
      case 'PositionalCount': {
        const v: Val = { ty: U64, t: b.variable('$#', bvSort(64)) };
        this.noteInput('$#', v);
        return v;
      }
      case 'Identifier':
        return this.opaqueVal(`identifier ${e.name}`, 'bare identifiers (enum constants)');
      case 'Variable': {
        if (ctx.mode === 'havoc') {
          const real = this.readVar(e.name, s);
          let h = ctx.havoc.get(e.name);
          if (!h) {
            h = this.havocLike(real, e.name);
            ctx.havoc.set(e.name, h);
          }
          return h;
        }
        return this.readVar(e.name, s);
      }
      case 'Map':
        return this.readMap(e, s, pc, ctx);
      case 'Call':
        return this.call(e, s, pc, ctx);
      case 'Unary': {
        if (e.op === '*' || e.op === '&') {
          this.unmodelled.add('pointer dereference (*) and address-of (&)');
          return this.opaqueVal(`${e.op}${printExpr(e.operand)}`, 'pointer dereference (*) and address-of (&)');
        }
        const v = this.evalExpr(e.operand, s, pc, ctx);
        if (e.op === '!') return { ty: { k: 'bool' }, t: b.not(this.asBool(v)) };
        const x = this.asInt(v);
        if (e.op === '-' || e.op === '~') {
          // bpftrace 0.17 keeps the operand's type for unary - and ~ (checked on this machine:
          // ~ of a uint16 1 is 65534, - of it 65535).
          const size = x.ty.k === 'int' ? x.ty.size : 8;
          const signed = x.ty.k === 'int' ? x.ty.signed : false;
          const narrow = b.extract(size * 8 - 1, 0, x.t);
          const r = e.op === '-' ? b.neg(narrow) : b.bvnot(narrow);
          return { ty: intTy(size, signed), t: b.resize(r, 64, signed) };
        }
        return x;
      }
      case 'Update':
        return this.update(e, s, pc, ctx);
      case 'Binary': {
        if (e.op === '&&' || e.op === '||') {
          const l = this.asBool(this.evalExpr(e.left, s, pc, ctx));
          const r = this.asBool(this.evalExpr(e.right, s, pc, ctx));
          return { ty: { k: 'bool' }, t: e.op === '&&' ? b.and(l, r) : b.or(l, r) };
        }
        return this.binary(e.op, this.evalExpr(e.left, s, pc, ctx), this.evalExpr(e.right, s, pc, ctx));
      }
      case 'Ternary': {
        const c = this.asBool(this.evalExpr(e.condition, s, pc, ctx));
        const x = this.evalExpr(e.then, s, pc, ctx);
        const y = this.evalExpr(e.else, s, pc, ctx);
        return this.iteVal(c, x, y);
      }
      case 'Cast':
        return this.cast(e, this.evalExpr(e.operand, s, pc, ctx));
      case 'Field':
        return this.field(e, s, pc, ctx);
      case 'Index': {
        const obj = this.evalExpr(e.object, s, pc, ctx);
        const idx = this.constInt(e.index, s, pc);
        if (obj.ty.k === 'array' && idx !== undefined && idx >= 0 && idx < obj.ty.count) {
          const w = obj.ty.elemSize * 8;
          const el = b.extract(w * (idx + 1) - 1, w * idx, obj.t);
          return { ty: intTy(obj.ty.elemSize, obj.ty.signed), t: b.resize(el, 64, obj.ty.signed) };
        }
        if (obj.ty.k === 'str' && idx !== undefined && idx >= 0 && idx < obj.ty.size) {
          return { ty: intTy(1, true), t: b.resize(b.extract(8 * idx + 7, 8 * idx, obj.t), 64, true) };
        }
        this.unmodelled.add('indexing pointers or with non-constant indices');
        return this.opaqueVal(printExpr(e), 'indexing pointers or with non-constant indices');
      }
      case 'Tuple': {
        const parts = e.elements.map((x) => this.evalExpr(x, s, pc, ctx));
        return { ty: { k: 'tuple', elems: parts.map((p) => p.ty) }, t: b.T, parts };
      }
      case 'Range':
      case 'TypeExpr':
        throw new Unsupported(`${e.kind} used as a value`);
    }
  }

  private havocLike(real: Val, name: string): Val {
    const b = this.b;
    if (real.ty.k === 'tuple' && real.parts) {
      const parts = real.parts.map((p, i) => this.havocLike(p, `${name}.${i}`));
      return { ty: real.ty, t: b.T, parts };
    }
    if (real.ty.k === 'place' && real.place) {
      return { ty: real.ty, t: b.T, place: { ...real.place, base: b.fresh(`havoc${name}`, bvSort(64)) } };
    }
    return { ty: real.ty, t: b.fresh(`havoc${name}`, real.t.sort) };
  }

  private opaqueVal(what: string, construct: string): Val {
    this.unmodelled.add(construct);
    const t = this.b.fresh('opaque', bvSort(64));
    this.opaque.set(t.name as string, `${what} is not modelled`);
    return { ty: U64, t };
  }

  private noteInput(name: string, val: Val): void {
    const prev = this.inputs.get(name);
    if (prev && prev.t !== val.t) {
      for (let i = 2; ; i++) {
        const n = `${name}#${i}`;
        const p = this.inputs.get(n);
        if (!p) {
          this.inputs.set(n, val);
          return;
        }
        if (p.t === val.t) return;
      }
    }
    this.inputs.set(name, val);
  }

  private builtin(name: string): Val {
    const cached = this.builtinCache.get(name);
    if (cached) return cached;
    const b = this.b;
    let v: Val;
    const input32 = (): Val => ({ ty: U64, t: b.zext(32, b.variable(name, bvSort(32))) });
    switch (name) {
      case 'pid':
      case 'tid':
      case 'uid':
      case 'gid':
      case 'cpu':
      case 'numaid':
        // Typed uint64 by bpftrace 0.17 but the kernel value is 32 bits (e.g. pid = pid_tgid >> 32).
        v = input32();
        break;
      case 'nsecs':
      case 'elapsed':
      case 'jiffies':
      case 'cgroup':
      case 'ncpus':
      case 'cpid':
      case 'retval':
        v = { ty: U64, t: b.variable(name, bvSort(64)) };
        break;
      case 'rand': {
        // A new value at each use: fresh, not cached.
        const t = b.zext(32, b.fresh('rand', bvSort(32)));
        return { ty: U64, t };
      }
      case 'comm': {
        const t = b.variable('comm', bvSort(128));
        this.axioms.set(t.id, canonicalStringAxiom(b, t, 16));
        v = { ty: { k: 'str', size: 16 }, t };
        break;
      }
      case 'curtask':
        v = { ty: { k: 'ptr', pointee: 'struct task_struct' }, t: b.variable('curtask', bvSort(64)) };
        break;
      case 'ctx':
        v = { ty: { k: 'ptr', pointee: 'void' }, t: b.variable('ctx', bvSort(64)) };
        break;
      case 'args':
        v = { ty: { k: 'place' }, t: b.T, place: { base: b.bv(0, 64), struct: '<args>', path: [] } };
        break;
      default:
        if (/^s?arg\d+$/.test(name)) {
          v = { ty: U64, t: b.variable(name, bvSort(64)) };
          break;
        }
        v = this.opaqueVal(`builtin ${name}`, `builtin ${name.replace(/\d+$/, 'N')}`);
    }
    if (name !== 'args' && !(v.t.name ?? '').startsWith('opaque')) this.noteInput(name, v);
    this.builtinCache.set(name, v);
    return v;
  }

  // ---- field access ----------------------------------------------------------------------

  private field(e: Extract<Expr, { kind: 'Field' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    const obj = this.evalExpr(e.object, s, pc, ctx);
    if (obj.ty.k === 'tuple' && obj.parts && /^\d+$/.test(e.field)) {
      const p = obj.parts[Number(e.field)];
      if (!p) throw new Unsupported(`tuple has no element ${e.field}`);
      return p;
    }
    if (obj.place?.struct === '<args>') return this.argsField(e.field, pc, printExpr(e));
    let place: Place;
    if (obj.place) {
      // Embedded struct or a pointer read on the way: either way the read is a function of
      // (base pointer, field path), since memory does not change within one invocation.
      place = { ...obj.place, path: [...obj.place.path, e.field] };
    } else if (obj.ty.k === 'ptr') {
      const struct = obj.ty.pointee.replace(/^(struct|union) /, '');
      place = { base: obj.t, struct, path: [e.field] };
    } else if (obj.ty.k === 'int') {
      // bpftrace rejects `->` on integers; a cast is needed.
      throw new Unsupported(`field access ${printExpr(e)} on an integer`);
    } else throw new Unsupported(`field access on ${obj.ty.k}`);
    return this.readPlace(place, printExpr(e));
  }

  /** Reads a struct field: a known scalar becomes an uninterpreted read of (pointer, path). */
  private readPlace(place: Place, text: string): Val {
    const b = this.b;
    const c = place.struct.startsWith('?') ? undefined : this.opts.contracts.kernelField(place.struct, place.path);
    const ufName = `kmem:${place.struct}.${place.path.join('.')}`;
    if (!c) {
      // Unknown type: keep it a place (a later `.f` may complete it) but also readable as 64 bits.
      // A 64-bit unconstrained read over-approximates any real width, so proofs stay sound;
      // counterexamples through it are reported as unknown.
      const t = b.uf(`${ufName}:?`, [place.base], bvSort(64));
      this.opaque.set(`${ufName}:?`, `the type of ${place.struct}.${place.path.join('.')} is not known (no BTF contract)`);
      this.unmodelled.add('kernel struct fields without a contract (BTF)');
      return { ty: U64, t, place };
    }
    return this.fromContract(c, (w) => b.uf(`${ufName}:${w}`, [place.base], bvSort(w)), text, place);
  }

  private fromContract(c: FieldContract, read: (w: number) => Term, text: string, place?: Place): Val {
    const b = this.b;
    switch (c.kind) {
      case 'int': {
        const raw = read(c.size * 8);
        const v: Val = { ty: intTy(c.size, c.signed), t: b.resize(raw, 64, c.signed) };
        if (c.enumDomain && c.enumDomain.length > 0) {
          this.axioms.set(raw.id, b.or(...c.enumDomain.map((d) => b.eq(v.t, b.bv(d.value, 64)))));
        }
        this.noteInput(text, v);
        return v;
      }
      case 'pointer': {
        const t = read(64);
        if (c.nullable === false) this.axioms.set(t.id, b.not(b.eq(t, b.bv(0, 64))));
        const v: Val = { ty: { k: 'ptr', pointee: c.pointee ?? 'void' }, t };
        this.noteInput(text, v);
        return v;
      }
      case 'string': {
        const t = read(c.size * 8);
        this.axioms.set(t.id, canonicalStringAxiom(b, t, c.size));
        const v: Val = { ty: { k: 'str', size: c.size }, t };
        this.noteInput(text, v);
        return v;
      }
      case 'array': {
        const es = c.elementSize ?? 1;
        const t = read(c.size * 8);
        const v: Val = { ty: { k: 'array', elemSize: es, signed: c.signed, count: Math.max(1, Math.floor(c.size / es)) }, t };
        this.noteInput(text, v);
        return v;
      }
      case 'struct':
        if (!place) throw new Unsupported(`struct-valued field ${text}`);
        return { ty: { k: 'place' }, t: b.T, place };
    }
  }

  private argsField(name: string, pc: ProbeCtx, text: string): Val {
    if (!pc.fields) throw new Unsupported(`${text}: ${pc.fieldsMissing ?? 'args are not known'}`);
    const c = pc.fields.find((f) => f.name === name);
    if (!c) throw new Unsupported(`${text}: tracepoint ${pc.ap.target.join(':')} has no field ${name}`);
    const b = this.b;
    // One symbol per tracepoint and field: a probe with several attach points may see fields of
    // the same name with different types.
    const tp = pc.ap.target.join(':');
    return this.fromContract(c, (w) => b.variable(`args->${name}@${tp}`, bvSort(w)), `args->${name}`);
  }

  // ---- calls -----------------------------------------------------------------------------

  private call(e: Extract<Expr, { kind: 'Call' }>, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    const b = this.b;
    const arg = (i: number): Val => {
      const a = e.args[i];
      if (!a) throw new Unsupported(`${e.callee}() needs argument ${i + 1}`);
      return this.evalExpr(a, s, pc, ctx);
    };
    switch (e.callee) {
      case 'printed':
      case 'mapkey':
      case 'mapval':
        return this.observable(e, s, ctx);
      case 'bswap': {
        const v = this.asInt(arg(0));
        const size = v.ty.k === 'int' ? v.ty.size : 8;
        const signed = v.ty.k === 'int' ? v.ty.signed : false;
        const bytes: Term[] = [];
        for (let i = 0; i < size; i++) bytes.push(b.extract(8 * i + 7, 8 * i, v.t));
        // bytes[0] (lowest) becomes the highest byte.
        const swapped = size === 1 ? (bytes[0] as Term) : b.concat(...bytes);
        return { ty: intTy(size, signed), t: b.resize(swapped, 64, signed) };
      }
      case 'str': {
        const v = arg(0);
        let limit: number | undefined;
        if (e.args[1]) {
          limit = this.constInt(e.args[1], s, pc);
          if (limit === undefined) return this.opaqueVal(`str() with a variable length`, 'str() with a non-constant length');
        }
        let sv: Val;
        if (v.ty.k === 'str') sv = v;
        else if (v.ty.k === 'ptr' || v.ty.k === 'int') {
          const t = b.uf('str64', [this.asInt(v).t], bvSort(512));
          this.axioms.set(t.id, canonicalStringAxiom(b, t, 64));
          sv = { ty: { k: 'str', size: 64 }, t };
          this.noteInput(printExpr(e), sv);
        } else throw new Unsupported(`str() of ${v.ty.k}`);
        if (limit !== undefined && sv.ty.k === 'str' && limit >= 1 && limit < sv.ty.size) {
          // Bytes from limit-1 on are NUL.
          const keep = b.extract(8 * (limit - 1) - 1 < 0 ? 0 : 8 * (limit - 1) - 1, 0, sv.t);
          const t = limit === 1 ? b.bv(0, sv.ty.size * 8) : b.resize(keep, sv.ty.size * 8);
          return { ty: sv.ty, t };
        }
        return sv;
      }
      case 'ntop': {
        const af = e.args.length > 1 ? this.asInt(arg(0)) : undefined;
        const addr = arg(e.args.length > 1 ? 1 : 0);
        const at = addr.ty.k === 'array' || addr.ty.k === 'int' ? (addr.ty.k === 'int' ? b.extract(31, 0, addr.t) : addr.t) : undefined;
        if (!at) throw new Unsupported(`ntop() of ${addr.ty.k}`);
        const w = at.sort.k === 'bv' ? at.sort.w : 32;
        const tag = af ? b.extract(7, 0, af.t) : b.bv(w <= 32 ? 2 : 10, 8);
        return { ty: { k: 'inet' }, t: b.concat(tag, b.resize(at, 128)) };
      }
      case 'kptr':
      case 'uptr':
        return arg(0);
      case 'strncmp': {
        const x = arg(0);
        const y = arg(1);
        const n = e.args[2] ? this.constInt(e.args[2], s, pc) : undefined;
        if (x.ty.k !== 'str' || y.ty.k !== 'str' || n === undefined) {
          return this.opaqueVal('strncmp() with a variable length', 'strncmp() with a non-constant length');
        }
        const size = Math.max(x.ty.size, y.ty.size);
        const nn = Math.min(n, size);
        if (nn <= 0) return { ty: U64, t: b.bv(0, 64) };
        const xe = b.extract(8 * nn - 1, 0, b.resize(x.t, size * 8));
        const ye = b.extract(8 * nn - 1, 0, b.resize(y.t, size * 8));
        return { ty: U64, t: b.ite(b.eq(xe, ye), b.bv(0, 64), b.bv(1, 64)) };
      }
      case 'sizeof': {
        const a = e.args[0];
        if (a?.kind === 'TypeExpr') {
          const c = CAST_TYPES[a.type.name];
          if (c && a.type.pointerLevel === 0) return { ty: U64, t: b.bv(c.size * (a.type.arraySize ?? 1), 64) };
          if (a.type.pointerLevel > 0) return { ty: U64, t: b.bv(8, 64) };
        }
        return this.opaqueVal('sizeof() of this type', 'sizeof() of struct types');
      }
      default:
        if (AGGS.has(e.callee)) throw new Unsupported(`${e.callee}() outside a map assignment`);
        if (OPAQUE_FUNCTIONS.has(e.callee)) return this.opaqueVal(`${e.callee}()`, `${e.callee}()`);
        return this.opaqueVal(`${e.callee}()`, `${e.callee}()`);
    }
  }

  private observable(e: Extract<Expr, { kind: 'Call' }>, s: PathState, ctx: EvalCtx): Val {
    const text = printExpr(e);
    const idxOf = (a: Expr | undefined): number => {
      if (a?.kind !== 'Integer') throw new Unsupported(`${text}: the index must be an integer literal`);
      return Number(a.value);
    };
    let real: Val;
    if (e.callee === 'printed') {
      const i = idxOf(e.args[0]);
      if (!s.printed) throw new Unsupported(`${text}: no printf() runs before it on some path`);
      const v = s.printed.vals[i];
      if (!v) throw new Unsupported(`${text}: the last printf() has no argument ${i}`);
      real = v;
    } else {
      const m = e.args[0];
      if (m?.kind !== 'Map') throw new Unsupported(`${text}: the first argument must be a map`);
      const u = s.lastUpdate.get(m.name);
      if (!u) throw new Unsupported(`${text}: ${m.name} is not updated before it on some path`);
      if (e.callee === 'mapval') real = u.value;
      else {
        const i = idxOf(e.args[1]);
        const k = u.keys[i];
        if (!k) throw new Unsupported(`${text}: the key of ${m.name} has no element ${i}`);
        real = k;
      }
    }
    if (ctx.mode === 'real') return real;
    let h = ctx.havoc.get(text);
    if (!h) {
      h = this.havocLike(real, text);
      ctx.havoc.set(text, h);
    }
    return h;
  }

  // ---- operators -------------------------------------------------------------------------

  asBool(v: Val): Term {
    const b = this.b;
    if (v.ty.k === 'bool') return v.t;
    if (v.ty.k === 'int' || v.ty.k === 'ptr') return b.not(b.eq(v.t, b.bv(0, 64)));
    if (v.ty.k === 'place' && v.place) return b.not(b.eq(this.asInt(v).t, b.bv(0, 64)));
    throw new Unsupported(`a ${v.ty.k} used as a condition`);
  }

  asInt(v: Val): Val {
    const b = this.b;
    if (v.ty.k === 'int' || v.ty.k === 'ptr') return v;
    if (v.ty.k === 'bool') return { ty: U64, t: b.ite(v.t, b.bv(1, 64), b.bv(0, 64)) };
    if (v.ty.k === 'place' && v.place && v.t.sort.k === 'bv') return { ty: U64, t: v.t };
    throw new Unsupported(`a ${v.ty.k} used as an integer`);
  }

  private isSigned(v: Val): boolean {
    return v.ty.k === 'int' && v.ty.signed;
  }

  binary(op: string, l0: Val, r0: Val): Val {
    const b = this.b;
    // Strings and addresses: equality only.
    if (l0.ty.k === 'str' || r0.ty.k === 'str' || l0.ty.k === 'inet' || r0.ty.k === 'inet') {
      if (op !== '==' && op !== '!=') throw new Unsupported(`operator ${op} on strings`);
      if (l0.ty.k !== r0.ty.k) throw new Unsupported(`comparison of ${l0.ty.k} with ${r0.ty.k}`);
      const w = Math.max(l0.t.sort.k === 'bv' ? l0.t.sort.w : 0, r0.t.sort.k === 'bv' ? r0.t.sort.w : 0);
      const eq = b.eq(b.resize(l0.t, w), b.resize(r0.t, w));
      return { ty: { k: 'bool' }, t: op === '==' ? eq : b.not(eq) };
    }
    if (l0.ty.k === 'bool' && r0.ty.k === 'bool' && (op === '==' || op === '!=')) {
      const eq = b.eq(l0.t, r0.t);
      return { ty: { k: 'bool' }, t: op === '==' ? eq : b.not(eq) };
    }
    const l = this.asInt(l0);
    const r = this.asInt(r0);
    const signed = this.isSigned(l) && this.isSigned(r);
    const ty = intTy(8, signed);
    const zero = b.bv(0, 64);
    switch (op) {
      case '+':
        return { ty, t: b.add(l.t, r.t) };
      case '-':
        return { ty, t: b.sub(l.t, r.t) };
      case '*':
        return { ty, t: b.mul(l.t, r.t) };
      case '/': {
        const dm = this.divmod(l.t, r.t);
        if (dm) return { ty, t: dm.q };
        // BPF division is unsigned and x/0 = 0 (bpftrace 0.17 emits plain BPF_DIV).
        return { ty, t: b.ite(b.eq(r.t, zero), zero, b.udiv(l.t, r.t)) };
      }
      case '%': {
        const dm = this.divmod(l.t, r.t);
        if (dm) return { ty, t: dm.r };
        // Observed on bpftrace 0.17: x % 0 = 0.
        return { ty, t: b.ite(b.eq(r.t, zero), zero, b.urem(l.t, r.t)) };
      }
      case '&':
        return { ty, t: b.bvand(l.t, r.t) };
      case '|':
        return { ty, t: b.bvor(l.t, r.t) };
      case '^':
        return { ty, t: b.bvxor(l.t, r.t) };
      case '<<':
        return { ty: intTy(8, this.isSigned(l)), t: b.shl(l.t, r.t) };
      case '>>':
        // bpftrace 0.17 emits a logical shift even for signed operands.
        return { ty: intTy(8, this.isSigned(l)), t: b.lshr(l.t, r.t) };
      case '==':
        return { ty: { k: 'bool' }, t: b.eq(l.t, r.t) };
      case '!=':
        return { ty: { k: 'bool' }, t: b.not(b.eq(l.t, r.t)) };
      case '<':
        return { ty: { k: 'bool' }, t: signed ? b.slt(l.t, r.t) : b.ult(l.t, r.t) };
      case '<=':
        return { ty: { k: 'bool' }, t: signed ? b.sle(l.t, r.t) : b.ule(l.t, r.t) };
      case '>':
        return { ty: { k: 'bool' }, t: signed ? b.slt(r.t, l.t) : b.ult(r.t, l.t) };
      case '>=':
        return { ty: { k: 'bool' }, t: signed ? b.sle(r.t, l.t) : b.ule(r.t, l.t) };
      default:
        throw new Unsupported(`operator ${op}`);
    }
  }

  /**
   * Unsigned division by a non-zero constant without a divider circuit: a power of two is a shift
   * and a mask; otherwise quotient and remainder are fresh symbols defined by x = q*c + r, r < c. Z3 bit-blasts constant multiplication cheaply but times out
   * on 64-bit division circuits (e.g. `elapsed / 1000000000` next to `q * 1000000000`).
   */
  private divmod(x: Term, d: Term): { q: Term; r: Term } | undefined {
    const b = this.b;
    if (d.op !== 'bv' || d.value === 0n || x.op === 'bv') return undefined;
    const c = d.value as bigint;
    if ((c & (c - 1n)) === 0n) {
      const k = c.toString(2).length - 1;
      return { q: b.lshr(x, b.bv(k, 64)), r: b.bvand(x, b.bv(c - 1n, 64)) };
    }
    const q = b.variable(`div!${x.id}!${c}`, bvSort(64));
    const r = b.variable(`mod!${x.id}!${c}`, bvSort(64));
    if (!this.axioms.has(q.id)) {
      // q <= max/c keeps q*c from wrapping; q*c <= x and x - q*c = r < c then make x = q*c + r
      // exact in 64 bits. Writing it with the same terms a program uses (`x - q*c`, `q*c <= x`)
      // lets hash-consing share them with the assertion.
      const qc = b.mul(q, d);
      const def = b.and(b.ule(q, b.bv(0xffffffffffffffffn / c, 64)), b.ule(qc, x), b.eq(b.sub(x, qc), r), b.ult(r, d));
      this.axioms.set(q.id, def);
      this.axioms.set(r.id, def);
      this.definitions.set(q.name as string, b.udiv(x, d));
      this.definitions.set(r.name as string, b.urem(x, d));
    }
    return { q, r };
  }

  private iteVal(c: Term, x: Val, y: Val): Val {
    const b = this.b;
    if (x.ty.k === 'bool' && y.ty.k === 'bool') return { ty: x.ty, t: b.ite(c, x.t, y.t) };
    if (x.ty.k === 'str' && y.ty.k === 'str') {
      const size = Math.max(x.ty.size, y.ty.size);
      return { ty: { k: 'str', size }, t: b.ite(c, b.resize(x.t, size * 8), b.resize(y.t, size * 8)) };
    }
    if (x.ty.k === 'tuple' || y.ty.k === 'tuple' || x.ty.k === 'inet' || y.ty.k === 'inet') {
      if (x.ty.k === 'inet' && y.ty.k === 'inet') return { ty: x.ty, t: b.ite(c, x.t, y.t) };
      throw new Unsupported(`a ternary over ${x.ty.k} values`);
    }
    if (x.ty.k === 'ptr' && y.ty.k === 'ptr') return { ty: x.ty, t: b.ite(c, x.t, y.t) };
    const xi = this.asInt(x);
    const yi = this.asInt(y);
    const signed = this.isSigned(xi) && this.isSigned(yi);
    const size = Math.max(xi.ty.k === 'int' ? xi.ty.size : 8, yi.ty.k === 'int' ? yi.ty.size : 8);
    return { ty: intTy(size, signed), t: b.ite(c, xi.t, yi.t) };
  }

  private cast(e: Extract<Expr, { kind: 'Cast' }>, v: Val): Val {
    const b = this.b;
    const ty = e.type;
    if (ty.pointerLevel > 0) {
      const x = this.asInt(v);
      const pointee = ty.pointerLevel > 1 ? `${ty.name} ${'*'.repeat(ty.pointerLevel - 1)}` : ty.name;
      return { ty: { k: 'ptr', pointee }, t: x.t };
    }
    const c = CAST_TYPES[ty.name];
    if (!c || ty.arraySize !== undefined) {
      this.unmodelled.add('casts to array or struct types');
      return this.opaqueVal(`cast to ${ty.name}`, 'casts to array or struct types');
    }
    const x = this.asInt(v);
    // bpftrace 0.17 keeps the source's own width and extends it by the TARGET's signedness
    // (checked on this machine: (int64) of a uint32 0x80000001 is -2147483647, (uint64) of an
    // int32 -6 is 4294967290, (uint32) of an int8 -3 is 253), unlike C.
    const srcSize = x.ty.k === 'int' ? x.ty.size : 8;
    const w = Math.min(srcSize, c.size) * 8;
    const t = b.resize(b.extract(w - 1, 0, x.t), 64, c.signed);
    return { ty: intTy(c.size, c.signed), t };
  }

  private constInt(e: Expr, s: PathState, pc: ProbeCtx): number | undefined {
    try {
      const v = this.asInt(this.evalExpr(e, s, pc, { mode: 'real', havoc: new Map() }));
      if (v.t.op !== 'bv') return undefined;
      const n = v.t.value as bigint;
      return n > 1_000_000n ? undefined : Number(n);
    } catch {
      return undefined;
    }
  }

  private contractTerm(c: ContractExpr, pc: ProbeCtx, s: PathState): Term {
    const b = this.b;
    const val = (x: ContractExpr): Val => {
      if ('field' in x) return this.argsField(x.field, pc, `args->${x.field}`);
      if ('builtin' in x) return this.builtin(x.builtin);
      if ('int' in x) return { ty: S64, t: b.bv(BigInt(x.int), 64) };
      if (x.op === '!') return { ty: { k: 'bool' }, t: b.not(this.asBool(val(x.arg))) };
      if (x.op === '&&' || x.op === '||') {
        const l = this.asBool(val(x.left));
        const r = this.asBool(val(x.right));
        return { ty: { k: 'bool' }, t: x.op === '&&' ? b.and(l, r) : b.or(l, r) };
      }
      return this.binary(x.op, val(x.left), val(x.right));
    };
    void s;
    try {
      return this.asBool(val(c));
    } catch {
      // A contract the executor cannot express is dropped: fewer assumptions, never a wrong proof.
      return b.T;
    }
  }
}

function deleteTargets(e: Extract<Expr, { kind: 'Call' }>): { name: string; keys: readonly Expr[] }[] {
  const out: { name: string; keys: readonly Expr[] }[] = [];
  const first = e.args[0];
  if (first?.kind === 'Map') {
    if (e.args.length >= 2 && first.keys.length === 0) {
      // delete(@m, key) (bpftrace >= 0.21); a tuple key spreads.
      const k = e.args[1] as Expr;
      out.push({ name: first.name, keys: k.kind === 'Tuple' ? k.elements : [k] });
    } else {
      for (const a of e.args) if (a.kind === 'Map') out.push({ name: a.name, keys: a.keys });
    }
  }
  return out;
}

function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case 'Map':
      return [...e.keys];
    case 'Call':
      return [...e.args];
    case 'Unary':
    case 'Update':
      return [e.operand];
    case 'Binary':
      return [e.left, e.right];
    case 'Ternary':
      return [e.condition, e.then, e.else];
    case 'Cast':
      return [e.operand];
    case 'Field':
      return [e.object];
    case 'Index':
      return [e.object, e.index];
    case 'Tuple':
      return [...e.elements];
    case 'Range':
      return [e.start, e.end];
    default:
      return [];
  }
}

/** Every `assert` statement inside a block, in source order. */
export function collectAsserts(block: Block): AssertStmt[] {
  const out: AssertStmt[] = [];
  const visit = (s: Stmt): void => {
    switch (s.kind) {
      case 'AssertStmt':
        out.push(s);
        return;
      case 'Block':
        s.statements.forEach(visit);
        return;
      case 'IfStmt':
        visit(s.then);
        if (s.else) visit(s.else);
        return;
      case 'UnrollStmt':
      case 'WhileStmt':
      case 'ForStmt':
        visit(s.body);
        return;
      default:
        return;
    }
  };
  block.statements.forEach(visit);
  return out;
}

