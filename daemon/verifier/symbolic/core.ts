/**
 * The executor's shared core: what one verification run accumulates (map layouts, axioms, opaque
 * symbols, inputs, obligations ...), the per-path state, and the small helpers every part of the
 * language uses. The language itself is cut into modules of functions over an {@link ExecCore}:
 * `statements.ts`, `expressions.ts`, `operators.ts`, `calls.ts`, `maps.ts`, `fields.ts`.
 * `executor.ts` ties them together.
 */
import { DEFAULT_DIALECT, annotationRules, type Dialect } from '../dialect/index.js';
import type { Diagnostic, Span } from '../../protocol/diagnostic.js';
import type { FieldContract } from '../contract-seam.js';
import type { AssertStmt, AttachPoint, Expr, Probe } from '../frontend/ast.js';
import { collect, printExpr } from '../frontend/index.js';
import { arraySort, bvSort, type Sort, type Term, type TermBuilder } from '../smt/term.js';
import type { AssertionSite, AssumeSite, ExcludedAction, ExecOptions, HintTerm, Obligation } from './results.js';
import { U64, type Ty, type Val } from './values.js';

/** Raised when an expression uses something the executor does not model. */
export class Unsupported extends Error {}

/**
 * Raised for a construct bpftrace 0.17 itself refuses to compile: the program is invalid, whatever
 * it asserts (nothing about it may be proved). Carries the span of the offending expression.
 */
export class NotBpftrace extends Error {
  constructor(
    message: string,
    readonly span: Span,
  ) {
    super(message);
  }
}

export interface MapInfo {
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

/** bpftrace 0.17's default key limit per map (`bpftrace --help`: BPFTRACE_MAP_KEYS_MAX, default 4096). */
export const DEFAULT_MAP_KEYS_MAX = 4096;

/** What the write sites of one map (outside `BEGIN` and `END`) can store. */
/** (see `map-state.ts`) */
export interface WriteSummary {
  /** Constants stored by `=`. */
  readonly constants: Set<bigint>;
  /** Clocks (`nsecs`, `elapsed`) stored by `=`: the value is at most the clock now. */
  readonly clocks: Set<string>;
  /** The largest increment (`++`, `+= c`, `= @m[..] + c`, `count()`, `sum(c)`); 0 when none. */
  step: bigint;
  /** Some site stores a value not described above. */
  anything: boolean;
}

export interface LastUpdate {
  readonly keys: readonly Val[];
  readonly value: Val;
}

export interface PathState {
  pc: Term[];
  vars: Map<string, Val>;
  maps: Map<string, Term>;
  updated: Set<string>;
  printed?: { vals: readonly Val[]; texts: readonly string[] };
  lastUpdate: Map<string, LastUpdate>;
  assumptions: Term[];
  flow: 'normal' | 'return' | 'break' | 'continue';
  /** The last read of each clock builtin on this path (see `clock.ts`). */
  clocks: Map<string, Term>;
  /** The first observable effect on this path (`printf`, an update of `@m` ...), with its line. */
  acted?: string;
  /**
   * When `acted` happened only under a condition (an effect inside a `?:` branch or the right
   * operand of `&&`/`||`, joined back by `join.ts`): that condition. Absent: on every run of the path.
   */
  actedWhen?: Term;
  /**
   * Only when executing for {@link ExecOptions.excluding}: the negation of that assume, once this
   * path has taken it; every effect from then on is an action on excluded inputs.
   */
  excluded?: Term;
}

/**
 * After one loop iteration: paths that broke out (or returned/exited) go to `exits`; paths that
 * ran to the end or hit `continue` come back to iterate again.
 */
export function splitLoopExits(after: readonly PathState[], exits: PathState[]): PathState[] {
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

export function cloneState(s: PathState): PathState {
  return {
    pc: [...s.pc],
    vars: new Map(s.vars),
    maps: new Map(s.maps),
    updated: new Set(s.updated),
    ...(s.printed ? { printed: s.printed } : {}),
    lastUpdate: new Map(s.lastUpdate),
    assumptions: [...s.assumptions],
    flow: s.flow,
    clocks: new Map(s.clocks),
    ...(s.acted !== undefined ? { acted: s.acted } : {}),
    ...(s.actedWhen !== undefined ? { actedWhen: s.actedWhen } : {}),
    ...(s.excluded !== undefined ? { excluded: s.excluded } : {}),
  };
}

export type Mode = 'real' | 'havoc';

export interface EvalCtx {
  readonly mode: Mode;
  /** Fresh symbols of a havoc evaluation, so one observable read twice agrees. */
  readonly havoc: Map<string, Val>;
  /**
   * Clock reads of one annotation, by AST node: an assertion is evaluated several times (its goal,
   * its havocked goal, its sides) but stands for one evaluation at its point.
   */
  readonly reads?: Map<Expr, Val>;
  /** Set when evaluating an `assume`: map reads of maps written this invocation are reported. */
  readonly assume?: { readonly span: Span };
  /**
   * Set for an annotation's own expression (`assume`, `assert`, a cover's condition): its integer
   * operations follow {@link annotationRules}, not the dialect's.
   */
  readonly annotation?: true;
}

export interface ProbeCtx {
  readonly index: number;
  readonly probe: Probe;
  readonly ap: AttachPoint;
  readonly text: string;
  /** tracepoint fields when known. */
  readonly fields?: readonly FieldContract[];
  /** Why args fields are not known (no contract, wildcard ...). */
  readonly fieldsMissing?: string;
}

/** Evaluates an expression on a path (installed by `executor.ts`; see `expressions.ts`). */
export type Evaluator = (ex: ExecCore, e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx) => Val;

/** The state of one verification run shared by every module of the executor. */
export class ExecCore {
  readonly maps = new Map<string, MapInfo>();
  readonly axioms = new Map<number, Term>();
  readonly opaque = new Map<string, string>();
  readonly definitions = new Map<string, Term>();
  readonly inputs = new Map<string, Val>();
  readonly unmodelled = new Set<string>();
  sites: AssertionSite[] = [];
  obligations: Obligation[] = [];
  unknowns = new Map<AssertStmt, string>();
  assumes: AssumeSite[] = [];
  incomplete = new Map<number, string>();
  guardDiagnostics: Diagnostic[] = [];
  actsOnExcluded: ExcludedAction[] = [];
  readonly maxPaths: number;
  readonly maxLoop: number;
  readonly maxForkingIterations: number;
  builtinCache = new Map<string, Val>();
  /** The probe's variables' types: each is fixed by its first assignment (see `variables.ts`). */
  varTypes = new Map<string, Ty>();
  /** The predicate of the probe being executed (T when it has none). */
  predicate: Term;
  /** The contract preconditions of the probe being executed. */
  pre: Term;
  /** The hints of the attach point being executed, as terms (used only by the assume guard). */
  hints: readonly HintTerm[] = [];
  /** Key limit of hash maps (BPFTRACE_MAP_KEYS_MAX). */
  readonly maxMapKeys: number;
  /**
   * The bpftrace version whose semantics are followed: the profile's, or its
   * {@link annotationRules} while an annotation's own expression is evaluated.
   */
  dialect: Dialect;
  /** What the probes other than BEGIN/END store in each map (see `map-state.ts`). */
  mapWrites = new Map<string, WriteSummary>();
  /** Which kind of probe runs: `begin` starts from empty maps (and what earlier BEGINs left). */
  phase: 'begin' | 'probe' = 'probe';
  /** The maps as BEGIN left them (values, `#present`, `#count` parts); undefined when not exact. */
  beginState: Map<string, Term> | undefined = new Map();
  /** The maps as earlier BEGIN probes left them, while BEGIN probes run. */
  beginSoFar: Map<string, Term> | undefined;
  /** BEGIN's last read of each clock (later events read at least it). */
  beginClocks = new Map<string, Term>();
  /** Appended to input names: '' for the event checked, another tag for an earlier event of a witness. */
  eventTag = '';
  /** What earlier events of a coverage witness require of their inputs (see `executor.ts`). */
  witnessPremise: Term;
  /** The initial contents of each map part for the probe being executed. */
  initialMaps = new Map<string, Term>();

  constructor(
    readonly b: TermBuilder,
    readonly opts: ExecOptions,
    private readonly evaluator: Evaluator,
  ) {
    this.maxPaths = opts.maxPaths ?? 256;
    this.predicate = b.T;
    this.pre = b.T;
    this.witnessPremise = b.T;
    this.maxLoop = opts.maxLoopIterations ?? 100;
    this.maxForkingIterations = opts.maxForkingIterations ?? 16;
    this.maxMapKeys = opts.maxMapKeys ?? DEFAULT_MAP_KEYS_MAX;
    this.dialect = opts.dialect ?? DEFAULT_DIALECT;
  }

  /** Evaluates `e` on path `s` (throws {@link Unsupported} for what is not modelled). */
  evalExpr(e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    if (!ctx.annotation) return this.evaluator(this, e, s, pc, ctx);
    const profileRules = this.dialect;
    this.dialect = annotationRules(profileRules);
    try {
      return this.evaluator(this, e, s, pc, ctx);
    } finally {
      this.dialect = profileRules;
    }
  }

  /**
   * Evaluates an expression whose value the program only computes with (assignments, printf
   * arguments, map keys, conditions): something unsupported becomes an unconstrained value, which
   * over-approximates it, instead of abandoning the path. Assertions that depend on it cannot be
   * refuted through it (they come out unknown); they can still be proved.
   */
  evalLoose(e: Expr, s: PathState, pc: ProbeCtx, ctx: EvalCtx): Val {
    try {
      return this.evalExpr(e, s, pc, ctx);
    } catch (err) {
      if (!(err instanceof Unsupported) || ctx.mode !== 'real') throw err;
      // An expression with effects (`$i++`, `@m--` inside it) cannot become a value: which of its
      // effects happened is unknown, so the statement is not modelled (the path is abandoned).
      if (collect(e, 'Update').length > 0) throw err;
      const t = this.b.fresh('opaque', bvSort(64));
      this.opaque.set(t.name as string, `${printExpr(e)}: ${err.message}`);
      return { ty: U64, t };
    }
  }

  readVar(name: string, s: PathState): Val {
    const v = s.vars.get(name);
    if (!v) throw new Unsupported(`${name} is used before it is assigned on this path`);
    return v;
  }

  havocLike(real: Val, name: string): Val {
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

  opaqueVal(what: string, construct: string): Val {
    this.unmodelled.add(construct);
    const t = this.b.fresh('opaque', bvSort(64));
    this.opaque.set(t.name as string, `${what} is not modelled`);
    return { ty: U64, t };
  }

  opaqueArray(name: string, info: MapInfo, reason: string): Term {
    const t = this.b.fresh(`opaque${name}`, arraySort(info.keyWidth, info.valWidth));
    this.opaque.set(t.name as string, reason);
    return t;
  }

  /**
   * The symbol of an input of the event being executed (a builtin, an `args` field): named, so
   * that every read of it on one event is the same value, and tagged by {@link eventTag}.
   */
  input(name: string, sort: Sort): Term {
    return this.b.variable(name + this.eventTag, sort);
  }

  noteInput(name: string, val: Val): void {
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

  /**
   * Records an observable effect on path `s` (`what` names it: `printf (line 6)`). On a path that
   * has taken the negation of the assume under test ({@link ExecOptions.excluding}) it is an
   * action on excluded inputs.
   */
  noteEffect(s: PathState, what: string, when?: Term): void {
    if (s.excluded !== undefined) {
      this.actsOnExcluded.push({ pre: this.pre, pc: this.b.and(...s.pc, ...(when ? [when] : [])), excluded: s.excluded, effect: what, hints: this.hints });
    } else if (s.acted === undefined || s.actedWhen !== undefined) {
      // An unconditional effect replaces a conditional one: it happened on every run of the path.
      s.acted = what;
      delete s.actedWhen;
    }
  }

  markIncomplete(probe: number, reason: string): void {
    if (!this.incomplete.has(probe)) this.incomplete.set(probe, reason);
  }
}
