/**
 * What the symbolic executor hands to `verify.ts`: the assertion sites, one proof obligation per
 * path reaching each, the assume sites, and the facts and names needed to decide and explain them.
 */
import type { Dialect } from '../dialect/index.js';
import type { Diagnostic, Span } from '../../protocol/diagnostic.js';
import type { AssertStmt, AssumeStmt, AttachPoint, Probe } from '../frontend/ast.js';
import type { ContractHint } from '../contract-seam.js';
import type { Term } from '../smt/term.js';
import type { ContractCache } from './contract-cache.js';
import type { Val } from './values.js';

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

/**
 * A path on which the program acts (prints, updates a map ...) on inputs that the assume under
 * test excludes ({@link ExecOptions.excluding}): `pre && pc` satisfiable means the assume hides
 * inputs the program acts on.
 */
export interface ExcludedAction {
  readonly pre: Term;
  /** Path condition, the negated assume included. */
  readonly pc: Term;
  /** The negated assume. */
  readonly excluded: Term;
  /** The effect reached, with its line (`update of @size (line 5)`). */
  readonly effect: string;
  /** The hints of the attach point this path runs on, as terms ({@link ContractHint}). */
  readonly hints: readonly HintTerm[];
}

/** A contract hint evaluated on one attach point. */
export interface HintTerm {
  readonly term: Term;
  readonly hint: ContractHint;
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
  /** Only with {@link ExecOptions.excluding}: where the program acts on the excluded inputs. */
  readonly actsOnExcluded: readonly ExcludedAction[];
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
  /**
   * Explores what the program does with the inputs this `assume` excludes, instead of collecting
   * obligations: a path reaching it forks a copy that takes its negation; effects on that copy
   * (and effects before the assume) are recorded in {@link ExecResult.actsOnExcluded}. Other
   * annotations are skipped.
   */
  readonly excluding?: AssumeStmt;
  /** Key limit of hash maps, BPFTRACE_MAP_KEYS_MAX (default 4096, bpftrace 0.17's). */
  readonly maxMapKeys?: number;
  /** The bpftrace version whose semantics to follow (default 0.17). */
  readonly dialect?: Dialect;
  /**
   * Under-approximate the state before each event (coverage witnesses): every map holds what
   * BEGIN left, as on the first event after BEGIN, instead of any state the program may produce.
   */
  readonly witness?: boolean;
  /** Runs only this probe (by index) after BEGIN: coverage of one probe. */
  readonly only?: number;
  /**
   * With `witness`: one event of this probe (annotations removed) at this attach point happens
   * after BEGIN and before the probes run, so a witness may rest on what the program itself
   * stores on an earlier event (a start timestamp written on entry, read on exit).
   */
  readonly prefix?: { readonly probe: Probe; readonly ap: AttachPoint; readonly index: number };
}
