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
import type { ContractExpr, FieldContract } from '../contracts.js';
import type { AttachPoint, Program } from '../frontend/ast.js';
import { collect, printAttachPoints, printExpr } from '../frontend/index.js';
import { builtinFacts } from './builtin-facts.js';
import type { Term, TermBuilder } from '../smt/term.js';
import { builtin } from './calls.js';
import { ExecCore, type PathState, type ProbeCtx, Unsupported } from './core.js';
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

function runPass(ex: ExecCore, program: Program): void {
  program.probes.forEach((probe, index) => {
    const text = printAttachPoints(probe.attachPoints);
    for (const s of collectAsserts(probe.body)) {
      if (!ex.sites.some((x) => x.stmt === s)) ex.sites.push({ stmt: s, probeIndex: index, probeText: text, text: printExpr(s.expr) });
    }
    for (const ap of probe.attachPoints) runProbe(ex, { index, probe, ap, text, ...fieldsFor(ex, ap) });
  });
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

function runProbe(ex: ExecCore, pc: ProbeCtx): void {
  const b = ex.b;
  ex.builtinCache = new Map();
  ex.varTypes = new Map();
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
  );
  const states: PathState[] = [init];
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
  if (pc.probe.predicate) {
    try {
      const cond = asBool(ex, ex.evalLoose(pc.probe.predicate, init, pc, { mode: 'real', havoc: new Map() }));
      // Kept even when constant false: the guards then report a predicate that can never hold.
      init.pc.push(cond);
      ex.predicate = cond;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      ex.markIncomplete(pc.index, `predicate: ${err.message}`);
      return;
    }
  }
  execBlock(ex, pc.probe.body, states, pc, pre);
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
