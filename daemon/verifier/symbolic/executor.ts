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
import type { ContractExpr, FieldContract } from '../contract-seam.js';
import type { AttachPoint, Probe, Program } from '../frontend/ast.js';
import { collect, printAttachPoints, printExpr } from '../frontend/index.js';
import { stripAnnotations } from '../frontend/walk.js';
import { builtinFacts } from './builtin-facts.js';
import type { Term, TermBuilder } from '../smt/term.js';
import { builtin } from './calls.js';
import { cloneState, ExecCore, type PathState, type ProbeCtx, Unsupported } from './core.js';
import { joinFinalStates, summariseWrites } from './map-state.js';
import { evalExpr } from './expressions.js';
import { argsField } from './fields.js';
import { asBool, binary } from './operators.js';
import type { ExecOptions, ExecResult } from './results.js';
import { collectAsserts, execBlock } from './statements.js';
import { S64, type Val } from './values.js';

export { NotBpftrace, Unsupported } from './core.js';
export type { AssertionSite, AssumeSite, ExcludedAction, ExecOptions, ExecResult, Obligation, Shown } from './results.js';
export { collectAsserts } from './statements.js';

/**
 * Executes a program's probes over symbolic inputs and collects proof obligations. One instance
 * per verification run (it shares the run's {@link TermBuilder}); see {@link Executor.run}.
 */
export class Executor {
  private readonly ex: ExecCore;

  constructor(b: TermBuilder, opts: ExecOptions) {
    this.ex = new ExecCore(b, opts, evalExpr);
  }

  /**
   * Executes every probe. Runs twice: the first pass learns map key and value types from all
   * writes (a map read in one probe is typed by a write in another), the second collects
   * obligations.
   */
  run(program: Program): ExecResult {
    const ex = this.ex;
    runPass(ex, program);
    resetResults(ex);
    runPass(ex, program);
    return {
      sites: ex.sites,
      obligations: ex.obligations,
      unknowns: ex.unknowns,
      assumes: ex.assumes,
      incomplete: ex.incomplete,
      guardDiagnostics: ex.guardDiagnostics,
      axioms: ex.axioms,
      opaque: ex.opaque,
      definitions: ex.definitions,
      inputs: ex.inputs,
      unmodelled: ex.unmodelled,
      actsOnExcluded: ex.actsOnExcluded,
    };
  }
}

function resetResults(ex: ExecCore): void {
  ex.sites = [];
  ex.obligations = [];
  ex.unknowns = new Map();
  ex.assumes = [];
  ex.incomplete = new Map();
  ex.guardDiagnostics = [];
  ex.actsOnExcluded = [];
}

const onlyAt = (p: Probe, provider: string): boolean => p.attachPoints.length > 0 && p.attachPoints.every((ap) => ap.provider === provider);

/** Same event: the same provider and target, written without wildcards (other overlaps are refused). */
function sameEvent(a: AttachPoint, b: AttachPoint): boolean {
  return a.provider === b.provider && !a.wildcard && !b.wildcard && a.target.join(':') === b.target.join(':');
}

/**
 * One pass over the program: BEGIN probes first, in program order, from empty maps (their final
 * state is the other probes' initial state, see `map-state.ts`); then every other probe, once per
 * attach point, after the earlier probes of the same event (annotations removed).
 */
function runPass(ex: ExecCore, program: Program): void {
  program.probes.forEach((probe, index) => {
    const text = printAttachPoints(probe.attachPoints);
    for (const s of collectAsserts(probe.body)) {
      if (!ex.sites.some((x) => x.stmt === s)) ex.sites.push({ stmt: s, probeIndex: index, probeText: text, text: printExpr(s.expr) });
    }
  });
  const plain = stripAnnotations(program);
  ex.mapWrites = summariseWrites(program.probes.filter((p) => !onlyAt(p, 'BEGIN') && !onlyAt(p, 'END')));
  ex.phase = 'begin';
  const beginMaps = new Map<string, Term>();
  ex.beginSoFar = beginMaps;
  ex.beginClocks = new Map();
  let exact = true;
  program.probes.forEach((probe, index) => {
    if (!onlyAt(probe, 'BEGIN')) return;
    const text = printAttachPoints(probe.attachPoints);
    for (const ap of probe.attachPoints) {
      const finals = runProbe(ex, { index, probe, ap, text, ...fieldsFor(ex, ap) }, []);
      if (ex.incomplete.has(index) || finals.length === 0) exact = false;
      else joinFinalStates(ex, finals, beginMaps, ex.beginClocks);
    }
  });
  ex.beginState = exact ? beginMaps : undefined;
  ex.beginSoFar = undefined;
  ex.phase = 'probe';
  if (ex.opts.witness && ex.opts.prefix && ex.beginState) runPrefixEvent(ex, plain, ex.opts.prefix);
  program.probes.forEach((probe, index) => {
    if (onlyAt(probe, 'BEGIN')) return;
    if (ex.opts.only !== undefined && ex.opts.only !== index) return;
    const text = printAttachPoints(probe.attachPoints);
    if (ex.opts.witness && !ex.beginState) {
      ex.markIncomplete(index, 'BEGIN was not explored to the end, so the state it leaves is not known');
      return;
    }
    for (const ap of probe.attachPoints) {
      const earlier = onlyAt(probe, 'END') ? [] : plain.probes.slice(0, index).filter((p) => !onlyAt(p, 'BEGIN') && p.attachPoints.some((x) => sameEvent(x, ap)));
      runProbe(ex, { index, probe, ap, text, ...fieldsFor(ex, ap) }, earlier);
    }
  });
}

/**
 * Coverage witnesses over two events: one event of `prefix` runs from BEGIN's state and what it
 * leaves becomes the state the covered probe starts from. Its inputs obey its hook's contract
 * (its precondition joins the premise of every later obligation), and its clock reads precede
 * the next event's. A prefix that is not explored to the end leaves no state: no witness.
 */
function runPrefixEvent(ex: ExecCore, plain: Program, prefix: NonNullable<ExecCore['opts']['prefix']>): void {
  const text = printAttachPoints(prefix.probe.attachPoints);
  const earlier = plain.probes.slice(0, prefix.index).filter((p) => !onlyAt(p, 'BEGIN') && p.attachPoints.some((x) => sameEvent(x, prefix.ap)));
  // Its inputs are its own, not the next event's: another tid, other args, another clock read.
  ex.eventTag = '@earlier-event';
  const finals = runProbe(ex, { index: prefix.index, probe: prefix.probe, ap: prefix.ap, text, ...fieldsFor(ex, prefix.ap) }, earlier);
  ex.eventTag = '';
  if (ex.incomplete.has(prefix.index) || finals.length === 0) {
    ex.incomplete.delete(prefix.index);
    ex.beginState = undefined;
    return;
  }
  const maps = new Map(ex.beginState);
  const clocks = new Map(ex.beginClocks);
  joinFinalStates(ex, finals, maps, clocks);
  ex.beginState = maps;
  ex.beginClocks = clocks;
  ex.witnessPremise = ex.b.and(ex.witnessPremise, ex.pre);
}

function fieldsFor(ex: ExecCore, ap: AttachPoint): { fields?: readonly FieldContract[]; fieldsMissing?: string } {
  if (ap.provider !== 'tracepoint') return { fieldsMissing: `args of ${ap.provider} probes are not modelled` };
  if (ap.wildcard) return { fieldsMissing: `args of the wildcard tracepoint ${ap.raw} are not modelled` };
  const [category, event] = ap.target;
  if (!category || !event) return { fieldsMissing: `tracepoint ${ap.raw} has no category:event` };
  const fields = ex.opts.contracts.tracepointFields(category, event);
  if (!fields) return { fieldsMissing: `no format known for tracepoint ${category}:${event}` };
  return { fields };
}

function runProbe(ex: ExecCore, pc: ProbeCtx, earlier: readonly Probe[]): PathState[] {
  const b = ex.b;
  ex.builtinCache = new Map();
  ex.varTypes = new Map();
  ex.initialMaps = new Map();
  const init: PathState = {
    pc: [],
    vars: new Map(),
    maps: new Map(),
    updated: new Set(),
    lastUpdate: new Map(),
    assumptions: [],
    flow: 'normal',
    clocks: new Map(),
  };
  const used = new Set(collect(pc.probe, 'Builtin').map((x) => x.name));
  const pre = b.and(
    ...ex.opts.contracts.preconditions({ provider: pc.ap.provider, target: pc.ap.target }).map((c) => contractTerm(ex, c, pc, init)),
    ...builtinFacts(ex, pc.ap, used),
    ex.witnessPremise,
  );
  let states: PathState[] = [init];
  ex.pre = pre;
  // Hints are only ever premises of the assume guard, never of a proof (see `verify.ts`). They
  // are asked for on every run, so that the contract cache holds them when the guard runs.
  const hints = ex.opts.contracts.hints({ provider: pc.ap.provider, target: pc.ap.target });
  ex.hints = ex.opts.excluding
    ? hints.flatMap((hint) => {
        const term = contractTerm(ex, hint.expr, pc, init);
        return term === b.T ? [] : [{ term, hint }];
      })
    : [];
  ex.predicate = b.T;
  // Earlier probes of the same event run first, in program order (bpftrace 0.17 here: two
  // `uprobe:libc:getppid` probes, the second prints what the first stored on that call) — or do
  // not run at all: each probe is its own BPF program, attached and detached one at a time, and
  // the kernel may skip one on a busy CPU (difftest class `events`, seed 41 cases 874 and 1334:
  // the later probe printed what it computes without the earlier one). So an earlier probe runs
  // or is skipped, whatever its predicate. Coverage witnesses under-approximate: there the
  // earlier probes always run, the common case.
  const mayBeSkipped = !ex.opts.witness;
  for (const probe of earlier) {
    const taken: PathState[] = [];
    const skipped: PathState[] = [];
    ex.varTypes = new Map();
    for (const s of states) {
      if (!probe.predicate) {
        if (mayBeSkipped) skipped.push(cloneState(s));
        taken.push(s);
        continue;
      }
      try {
        const cond = asBool(ex, ex.evalLoose(probe.predicate, s, pc, { mode: 'real', havoc: new Map() }));
        const skip = cloneState(s);
        if (!mayBeSkipped) skip.pc.push(b.not(cond));
        s.pc.push(cond);
        taken.push(s);
        skipped.push(skip);
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        ex.markIncomplete(pc.index, `predicate of the earlier probe on this event: ${err.message}`);
        return [];
      }
    }
    states = [...execBlock(ex, probe.body, taken, pc, pre), ...skipped];
    for (const s of states) {
      // What that probe printed, its variables and effects are its own; its map updates stay.
      s.flow = 'normal';
      s.vars = new Map();
      delete s.printed;
      delete s.acted;
      s.lastUpdate = new Map();
    }
  }
  ex.varTypes = new Map();
  if (pc.probe.predicate) {
    try {
      for (const s of states) {
        const cond = asBool(ex, ex.evalLoose(pc.probe.predicate, s, pc, { mode: 'real', havoc: new Map() }));
        // Kept even when constant false: the guards then report a predicate that can never hold.
        s.pc.push(cond);
        ex.predicate = cond;
      }
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      ex.markIncomplete(pc.index, `predicate: ${err.message}`);
      return [];
    }
  }
  return execBlock(ex, pc.probe.body, states, pc, pre);
}

function contractTerm(ex: ExecCore, c: ContractExpr, pc: ProbeCtx, s: PathState): Term {
  const b = ex.b;
  const val = (x: ContractExpr): Val => {
    if ('field' in x) return argsField(ex, x.field, pc, `args->${x.field}`);
    if ('builtin' in x) return builtin(ex, x.builtin);
    if ('int' in x) return { ty: S64, t: b.bv(BigInt(x.int), 64) };
    if (x.op === '!') return { ty: { k: 'bool' }, t: b.not(asBool(ex, val(x.arg))) };
    if (x.op === '&&' || x.op === '||') {
      const l = asBool(ex, val(x.left));
      const r = asBool(ex, val(x.right));
      return { ty: { k: 'bool' }, t: x.op === '&&' ? b.and(l, r) : b.or(l, r) };
    }
    return binary(ex, x.op, val(x.left), val(x.right));
  };
  void s;
  try {
    return asBool(ex, val(c));
  } catch {
    // A contract the executor cannot express is dropped: fewer assumptions, never a wrong proof.
    return b.T;
  }
}
