/**
 * The verifier's entry point: parse, guard, execute symbolically, ask Z3, and report three-valued
 * verdicts per assertion and per program (see `report.ts`).
 *
 * Solver use per program, in the common case: one query refutes-or-proves all assertions at once
 * (the disjunction of every path's "assumptions and not assertion"); a second query establishes
 * that no proof is vacuous and no assertion trivial (the conjunction of disjoint copies of each
 * satisfiability obligation). Only when a batch fails are obligations checked one by one.
 */
import type { Diagnostic } from '../protocol/diagnostic.js';
import { EMPTY_CONTRACTS, type ProbeContractProvider } from './contract-seam.js';
import type { AssertStmt, AssumeStmt, Program } from './frontend/ast.js';
import { collect, parse, printExpr } from './frontend/index.js';
import { checkAcceptance } from './acceptance.js';
import { DEFAULT_DIALECT, type Dialect } from './dialect/index.js';
import { checkAnnotationPlacement, checkAnnotationsOnly } from './guards.js';
import { runLints, type LintContext } from './lints/index.js';
import type { AssertionResult, AssertionVerdict, Counterexample, CoverageResult, HintUse, ProgramVerdict, VerifyReport } from './report.js';
import { checkCoverage } from './coverage.js';
import { checkProbeOverlap } from './probe-overlap.js';
import { acquireSolver, type SmtSolver } from './smt/solver.js';
import { freeSymbols, propagate, renameSymbols, subterms, TermBuilder, type Term } from './smt/term.js';
import { ContractCache } from './symbolic/contract-cache.js';
import { Executor, NotBpftrace, type AssertionSite, type ExcludedAction, type ExecResult, type Obligation } from './symbolic/executor.js';
import type { ExecOptions, HintTerm } from './symbolic/results.js';
import { searchModel } from './symbolic/concrete.js';
import { formatVal, renderCounterexample } from './symbolic/render.js';

export interface VerifyOptions {
  /** Name used in diagnostics (default `stdin`). */
  readonly fileName?: string;
  /** Per solver query (default 2000 ms). A query that times out makes its assertions `unknown`. */
  readonly timeoutMs?: number;
  /**
   * Probe contracts: what the verifier may assume about each probe's inputs. The daemon passes the
   * running kernel's (`daemon/contracts/`); {@link EMPTY_CONTRACTS} knows no fields.
   */
  readonly contracts: ProbeContractProvider;
  /** The unannotated candidate: when given, the annotated program minus annotations must equal it. */
  readonly candidate?: string;
  /** Runs the LLM-free lints (`lints/index.ts`) with this context when given. */
  readonly lintContext?: LintContext;
  /**
   * Key limit of hash maps where the program will run (BPFTRACE_MAP_KEYS_MAX; default 4096,
   * bpftrace 0.17's): a store of a new key into a full map is dropped.
   */
  readonly maxMapKeys?: number;
  /**
   * The bpftrace version the program will run on (`dialect/profiles.ts`): its syntax, builtins,
   * compile errors and integer rules. Default {@link DEFAULT_DIALECT} (0.17).
   */
  readonly dialect?: Dialect;
}

/** What every executor run of one verification shares. */
type Limits = Pick<ExecOptions, 'maxMapKeys' | 'dialect'>;

const DEFAULT_TIMEOUT_MS = 2000;

// Programs shaped like real ones (latency through a map with a division, byte order through a
// kernel read, a string filter, a refutation). Running them once right after Z3's init makes V8
// compile and optimise the WebAssembly paths they use; otherwise the first real verification pays
// seconds of CPU for it.
const WARMUP_PROGRAMS = [
  `kprobe:f { @s[tid] = nsecs; }
   kretprobe:f /@s[tid]/ { $ms = (nsecs - @s[tid]) / 1000000; printf("%d\n", $ms);
     assert(printed(0) * 1000000 <= nsecs - @s[tid]); assert(printed(0) == (nsecs - @s[tid]) / 1000); delete(@s[tid]); }`,
  `kprobe:g /comm == "nginx" && arg0 != 0/ { $sk = (struct sock *)arg0; assume(arg0 != 0);
     @p[comm, bswap($sk->__sk_common.skc_dport)] = count();
     assert(mapkey(@p, 1) == bswap($sk->__sk_common.skc_dport)); assert(mapval(@p) == 1); assert(comm == "nginx");
     $x = (int32)arg1 < 0 ? -(int32)arg1 : (uint16)arg1; assert($x >= 0); }`,
];

/** Runs the warm-up programs once, right after Z3's initialisation; returns the time spent. */
async function exerciseSolver(): Promise<number> {
  const t0 = performance.now();
  for (const src of WARMUP_PROGRAMS) await verifyUnguarded(src, { contracts: EMPTY_CONTRACTS }, performance.now(), true);
  return performance.now() - t0;
}

interface SiteState {
  verdict?: 'refuted' | 'unknown' | 'trivial';
  counterexample?: Counterexample;
  reason?: string;
}

/**
 * Verifies an annotated bpftrace program. Problems in the program are diagnostics and verdicts,
 * never exceptions; an internal failure of the executor also ends as `unknown` (with an error
 * diagnostic), never as a verdict it did not reach. Throws only when Z3 cannot start.
 */
export async function verifyProgram(source: string, options: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  try {
    return await verifyUnguarded(source, options, t0);
  } catch (err) {
    if (err instanceof SolverStartError) throw err.cause;
    const msg = err instanceof Error ? err.message : String(err);
    const totalMs = performance.now() - t0;
    if (err instanceof NotBpftrace) {
      return {
        verdict: 'invalid',
        assertions: [],
        diagnostics: [{ code: 'symbolic.not-bpftrace', severity: 'error', stage: 'symbolic', message: msg, span: err.span }],
        coverage: [],
        timings: { parseMs: 0, lintMs: 0, solverInitMs: 0, verifyMs: totalMs, totalMs },
      };
    }
    return {
      verdict: 'unknown',
      assertions: [],
      diagnostics: [
        {
          code: 'symbolic.internal-error',
          severity: 'error',
          stage: 'symbolic',
          message: `the verifier failed on this program (${msg}); nothing was verified`,
          ...(err instanceof Error && err.stack ? { detail: err.stack } : {}),
        },
      ],
      coverage: [],
      timings: { parseMs: 0, lintMs: 0, solverInitMs: 0, verifyMs: totalMs, totalMs },
    };
  }
}

class SolverStartError extends Error {}

/** What one run has found so far, and its clock; each step adds to it. */
class Run {
  readonly diagnostics: Diagnostic[] = [];
  parseMs = 0;
  lintMs = 0;
  solverInitMs = 0;
  verifyStart: number | undefined;
  coverage: CoverageResult[] = [];
  /** Hints that back an assume (each makes the verdict at best `proved-under-hints`). */
  readonly hints: HintUse[] = [];

  constructor(readonly t0: number) {}

  report(verdict: ProgramVerdict, assertions: AssertionResult[] = []): VerifyReport {
    const end = performance.now();
    return {
      verdict,
      assertions,
      coverage: this.coverage,
      diagnostics: this.diagnostics,
      ...(this.hints.length > 0 ? { hints: this.hints } : {}),
      timings: {
        parseMs: this.parseMs,
        lintMs: this.lintMs,
        solverInitMs: this.solverInitMs,
        verifyMs: this.verifyStart === undefined ? 0 : Math.max(0, end - this.verifyStart - this.solverInitMs),
        totalMs: end - this.t0,
      },
    };
  }
}

async function verifyUnguarded(source: string, options: VerifyOptions, t0: number, warmingUp = false): Promise<VerifyReport> {
  const run = new Run(t0);
  const dialect = options.dialect ?? DEFAULT_DIALECT;
  const program = parseStep(run, source, options.fileName, dialect);
  if (!program || !runnableStep(run, program, dialect)) return run.report('invalid');
  await lintStep(run, program, options.lintContext);
  if (!guardStep(run, program, options)) return run.report('invalid');
  run.verifyStart = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limits: Limits = { ...(options.maxMapKeys !== undefined ? { maxMapKeys: options.maxMapKeys } : {}), dialect };
  if (program.covers.length > 0) await coverageStep(run, program, options.contracts, timeoutMs, warmingUp, limits);
  if (run.diagnostics.some((d) => d.stage === 'guard' && d.severity === 'error')) return run.report('invalid');
  // A cover is an annotation: a program whose only annotations are covers is verified by them.
  if (collect(program, 'AssertStmt').length === 0 && program.covers.length > 0) return run.report(programVerdict(run, []));
  if (!hasAssertions(run, program)) return run.report('unannotated');
  const { b, exec, cache } = await executeStep(run, program, options.contracts, limits);
  if (exec.guardDiagnostics.length > 0) {
    run.diagnostics.push(...dedupe(exec.guardDiagnostics));
    return run.report('invalid');
  }
  const solver = await solverStep(run, warmingUp);
  const state = new Map<AssertStmt, SiteState>();
  for (const s of exec.sites) state.set(s.stmt, {});
  const hiding = await assumeStep(b, solver, program, cache, exec, state, timeoutMs, run.hints, limits);
  // Contradictory assumptions exclude every input; the vacuity guard (step 7) says so more precisely.
  if (hiding.length > 0 && !(await someAssumeVacuous(b, solver, exec, timeoutMs))) {
    run.diagnostics.push(...hiding);
    return run.report('invalid');
  }
  await refute(b, solver, exec, state, timeoutMs);
  const vacuity: Diagnostic[] = [];
  await vacuityAndTriviality(b, solver, exec, state, vacuity, timeoutMs);
  if (vacuity.length > 0) {
    run.diagnostics.push(...dedupe(vacuity));
    return run.report('invalid');
  }
  const assertions = assertionResults(exec, state);
  run.diagnostics.push(...assertionDiagnostics(exec, assertions));
  return run.report(programVerdict(run, assertions), assertions);
}

/** Step 1: parse. Returns the program, or undefined after reporting syntax errors. */
function parseStep(run: Run, source: string, fileName: string | undefined, dialect: Dialect): Program | undefined {
  const parsed = parse(source, fileName, { dialect });
  run.parseMs = performance.now() - run.t0;
  run.diagnostics.push(...parsed.diagnostics);
  if (!parsed.program || parsed.diagnostics.some((d) => d.severity === 'error')) return undefined;
  return parsed.program;
}

/**
 * Step 1b: the compile errors the dialect's bpftrace gives for names and types (`acceptance.ts`),
 * and probes it cannot tell apart: nothing is verified about a program that would not load. (The
 * syntax it lacks was refused by the parse step.)
 */
function runnableStep(run: Run, program: Program, dialect: Dialect): boolean {
  const found: Diagnostic[] = [...checkAcceptance(program, dialect), ...checkProbeOverlap(program)];
  run.diagnostics.push(...found);
  return found.length === 0;
}

/** Step 2: the LLM-free lints (advisory: they never change the verdict). */
async function lintStep(run: Run, program: Program, lintContext: LintContext | undefined): Promise<void> {
  if (lintContext === undefined) return;
  const l0 = performance.now();
  run.diagnostics.push(...(await runLints(program, lintContext)));
  run.lintMs = performance.now() - l0;
}

/** Step 3: the syntactic guards (annotations only add, assume only inputs ...). False when one fails. */
function guardStep(run: Run, program: Program, options: VerifyOptions): boolean {
  const errors: Diagnostic[] = [];
  if (options.candidate !== undefined) {
    const cand = parse(options.candidate, options.fileName);
    if (!cand.program) {
      errors.push({
        code: 'guard.candidate-invalid',
        severity: 'error',
        stage: 'guard',
        message: 'the candidate program does not parse, so the annotated program cannot be compared with it',
        ...(cand.diagnostics[0] ? { detail: cand.diagnostics[0].message } : {}),
      });
    } else errors.push(...checkAnnotationsOnly(program, cand.program));
  }
  errors.push(...checkAnnotationPlacement(program));
  run.diagnostics.push(...errors);
  return errors.length === 0;
}

function hasAssertions(run: Run, program: Program): boolean {
  if (collect(program, 'AssertStmt').length > 0) return true;
  run.diagnostics.push({
    code: 'symbolic.unannotated',
    severity: 'warning',
    stage: 'symbolic',
    message: 'the program has no assert(): nothing is verified',
  });
  return false;
}

/** Step 4: symbolic execution (again when contracts arrive asynchronously, up to three rounds). */
async function executeStep(
  run: Run,
  program: Program,
  contracts: ProbeContractProvider,
  extra: Pick<ExecOptions, 'only' | 'witness' | 'prefix'> & Limits = {},
): Promise<{ b: TermBuilder; exec: ExecResult; cache: ContractCache }> {
  const cache = new ContractCache(contracts);
  let b = new TermBuilder();
  let exec: ExecResult = new Executor(b, { contracts: cache, ...extra }).run(program);
  for (let round = 0; round < 3 && cache.hasPending; round++) {
    await cache.settle();
    b = new TermBuilder();
    exec = new Executor(b, { contracts: cache, ...extra }).run(program);
  }
  for (const e of cache.errors) run.diagnostics.push({ code: 'symbolic.contracts-unavailable', severity: 'note', stage: 'symbolic', message: e });
  return { b, exec, cache };
}

/**
 * Step 5b: no assume may hide inputs the program acts on. For each `assume(A)` the probe is run
 * again with a copy of every path reaching it that takes `!A` instead; if on such a copy the
 * program still reaches an observable effect (printf, print, a map update, delete, exit ...), or
 * already had one before the assume, and that copy is feasible under the contracts, the probe's
 * predicate and the branches taken, the assume excludes inputs the program acts on: an error.
 * An assume implied by contracts, predicate and path condition passes (the copy is infeasible),
 * as does one excluding only inputs the program ignores. Undecided: the probe's assertions are
 * `unknown`.
 */
async function assumeStep(
  b: TermBuilder,
  solver: SmtSolver,
  program: Program,
  cache: ContractCache,
  exec: ExecResult,
  state: Map<AssertStmt, SiteState>,
  timeoutMs: number,
  premises: HintUse[],
  limits: Limits,
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const [probeIndex, probe] of program.probes.entries()) {
    for (const stmt of collect(probe.body, 'AssumeStmt')) {
      const shadow = new Executor(b, { contracts: cache, excluding: stmt, ...limits }).run(program);
      const text = printExpr(stmt.expr);
      const undecided = (why: string): void => {
        for (const site of exec.sites) {
          const st = state.get(site.stmt);
          if (site.probeIndex !== probeIndex || !st || st.verdict !== undefined) continue;
          st.verdict = 'unknown';
          st.reason = `could not establish that assume(${text}) excludes only inputs the program ignores: ${why}`;
        }
      };
      const cut = shadow.incomplete.get(probeIndex);
      const acts = shadow.actsOnExcluded.map((w) => ({ w, f: b.and(w.pre, w.pc) }));
      if (acts.length === 0) {
        if (cut !== undefined) undecided(cut);
        continue;
      }
      const any = withAxioms(b, shadow, b.or(...acts.map((x) => x.f)));
      if (propagate(b, any) === b.F) {
        if (cut !== undefined) undecided(cut);
        continue;
      }
      const witness = (value: (t: Term) => bigint | boolean | undefined): Diagnostic | undefined => {
        const hit = acts.find((x) => value(x.f) === true);
        return hit ? hidesInputs(stmt, text, hit.w, shadow, value) : undefined;
      };
      const model = searchModel(b, any, shadow.definitions);
      let found = model ? witness(model) : undefined;
      if (!found) {
        const r = await solver.check(any, timeoutMs, witness);
        if (r.status === 'unknown') {
          undecided(`the solver gave up (${r.reason ?? 'unknown'})`);
          continue;
        }
        if (r.status === 'unsat') {
          if (cut !== undefined) undecided(cut);
          continue;
        }
        found = r.result;
      }
      if (!found) {
        undecided('solver model could not be read');
        continue;
      }
      const why = opaqueReason(shadow, any);
      if (why !== undefined) {
        undecided(`the program's action on the excluded inputs depends on a value that is not modelled: ${why}`);
        continue;
      }
      const backing = await hintsExcluding(b, solver, shadow, acts, timeoutMs);
      if (backing === undefined) {
        out.push(found);
        continue;
      }
      if (cut !== undefined) undecided(cut);
      for (const h of backing) {
        if (!premises.some((p) => p.hint === h.text && p.usedBy === stmt.span.line)) premises.push({ hint: h.text, source: h.source, usedBy: stmt.span.line });
      }
    }
  }
  return out;
}

/**
 * The hints under which no excluded input reaches an effect (the assume is then implied by them),
 * pared down to the ones needed; undefined when even all of them do not suffice or there are none.
 */
async function hintsExcluding(
  b: TermBuilder,
  solver: SmtSolver,
  shadow: ExecResult,
  acts: readonly { w: ExcludedAction; f: Term }[],
  timeoutMs: number,
): Promise<HintTerm['hint'][] | undefined> {
  const all = new Map<number, HintTerm>();
  for (const x of acts) for (const h of x.w.hints) all.set(h.term.id, h);
  if (all.size === 0) return undefined;
  const keep = new Set(all.keys());
  const excludedUnder = async (): Promise<boolean> => {
    const f = withAxioms(b, shadow, b.or(...acts.map((x) => b.and(x.f, ...x.w.hints.filter((h) => keep.has(h.term.id)).map((h) => h.term)))));
    if (propagate(b, f) === b.F) return true;
    // Most hiding assumes are not rescued by a hint: a concrete witness settles that without Z3.
    if (searchModel(b, f, shadow.definitions)) return false;
    return (await solver.check(f, timeoutMs)).status === 'unsat';
  };
  if (!(await excludedUnder())) return undefined;
  for (const id of [...keep]) {
    keep.delete(id);
    if (!(await excludedUnder())) keep.add(id);
  }
  const out: HintTerm['hint'][] = [];
  for (const id of keep) {
    const h = all.get(id) as HintTerm;
    if (!out.some((o) => o.text === h.hint.text)) out.push(h.hint);
  }
  return out;
}

/**
 * True when the assumptions up to some assume contradict each other on every feasible path that
 * reaches it: that assume excludes everything, which the vacuity guard names more precisely. An
 * assume false on only some of its paths (`if (ret < 0) { @err++; } assume(ret >= 0);`) excludes
 * the inputs of those paths, and when the program acted on them that is the error to report.
 */
async function someAssumeVacuous(b: TermBuilder, solver: SmtSolver, exec: ExecResult, timeoutMs: number): Promise<boolean> {
  const bySite = new Map<string, (typeof exec.assumes)[number][]>();
  for (const a of exec.assumes) {
    const k = `${a.span.line}:${a.span.column}`;
    bySite.set(k, [...(bySite.get(k) ?? []), a]);
  }
  for (const sites of bySite.values()) {
    let contradictorySomewhere = false;
    let holdsSomewhere = false;
    for (const a of sites) {
      if ((await satisfiable(b, solver, exec, b.and(a.pre, a.pc, a.assumptions), timeoutMs)) !== 'unsat') {
        holdsSomewhere = true;
        break;
      }
      if ((await satisfiable(b, solver, exec, b.and(a.pre, a.pc), timeoutMs)) !== 'unsat') contradictorySomewhere = true;
    }
    if (contradictorySomewhere && !holdsSomewhere) return true;
  }
  return false;
}

/** The `guard.assume-hides-inputs` error, with the excluded inputs of one witness. */
function hidesInputs(stmt: AssumeStmt, text: string, w: ExcludedAction, shadow: ExecResult, value: (t: Term) => bigint | boolean | undefined): Diagnostic {
  // The inputs the assume itself reads (not every read of the same map or field).
  const inAssume = new Set(subterms([w.excluded]).map((t) => t.id));
  const shown: string[] = [];
  for (const [name, val] of shadow.inputs) {
    if (!inAssume.has(val.t.id)) continue;
    const f = formatVal(val, value);
    // `nsecs#6`: the executor numbers distinct reads of one name; one is shown here.
    if (f !== undefined) shown.push(`${name.replace(/#\d+$/, '')} = ${f}`);
  }
  const example = shown.length > 0 ? ` (e.g. ${shown.join(', ')})` : '';
  return {
    code: 'guard.assume-hides-inputs',
    severity: 'error',
    stage: 'guard',
    message: `assume(${text}) excludes inputs the program acts on: where it is false${example} the probe reaches ${w.effect}; a proof under this assume would say nothing about what the program does with those inputs`,
    span: stmt.span,
    hints: [
      `if the program should ignore those inputs, filter them in the probe's predicate or an if; if it handles them, assert what it does with them too, e.g. assert(!(${text}) || ...) instead of assuming`,
      'an assume may exclude only inputs the program never acts on, or ones the kernel contract already rules out',
    ],
  };
}

/** Step 5: the shared Z3 (its first start is paid once per process, with a warm-up). */
async function solverStep(run: Run, warmingUp: boolean): Promise<SmtSolver> {
  let acquired: Awaited<ReturnType<typeof acquireSolver>>;
  try {
    acquired = await acquireSolver();
  } catch (err) {
    throw new SolverStartError('Z3 could not start', { cause: err });
  }
  // Called by the coverage step and the assertion step: the first call pays the start.
  if (acquired.initMs > 0) run.solverInitMs += acquired.initMs + (warmingUp ? 0 : await exerciseSolver());
  return acquired.solver;
}

/** Step 8: one result per assertion site (a proof that rests on an unmodelled path is `unknown`). */
function assertionResults(exec: ExecResult, state: ReadonlyMap<AssertStmt, SiteState>): AssertionResult[] {
  return exec.sites.map((site) => {
    const st = state.get(site.stmt) ?? {};
    let verdict: AssertionVerdict = st.verdict ?? 'proved';
    let reason = st.reason;
    if (verdict === 'proved') {
      const why = exec.unknowns.get(site.stmt) ?? exec.incomplete.get(site.probeIndex);
      if (why !== undefined) {
        verdict = 'unknown';
        reason = why;
      }
    }
    return {
      line: site.stmt.span.line,
      column: site.stmt.span.column,
      text: site.text,
      probe: site.probeText,
      verdict,
      ...(st.counterexample ? { counterexample: st.counterexample } : {}),
      ...(reason !== undefined ? { reason } : {}),
    };
  });
}

function assertionDiagnostics(exec: ExecResult, assertions: readonly AssertionResult[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const a of assertions) {
    const site = exec.sites.find((s) => s.stmt.span.line === a.line && s.stmt.span.column === a.column);
    const span = site?.stmt.span;
    if (a.verdict === 'refuted') {
      out.push({
        code: 'symbolic.refuted',
        severity: 'error',
        stage: 'symbolic',
        message: `assertion ${a.text} does not hold: ${a.counterexample?.summary ?? 'counterexample found'}`,
        ...(span ? { span } : {}),
      });
    } else if (a.verdict === 'unknown') {
      out.push({
        code: 'symbolic.unknown',
        severity: 'warning',
        stage: 'symbolic',
        message: `assertion ${a.text} could not be decided: ${a.reason ?? 'unknown'}`,
        ...(span ? { span } : {}),
      });
    } else if (a.verdict === 'trivial') {
      out.push({
        code: 'symbolic.trivial',
        severity: 'warning',
        stage: 'symbolic',
        message: `assertion ${a.text} is trivial: ${a.reason ?? 'it holds whatever the program computes'}`,
        ...(span ? { span } : {}),
        hints: ['assert something about what the program prints or stores (printed(I), mapkey(@m, I), mapval(@m), $vars)'],
      });
    }
  }
  return out;
}

/**
 * Step 4b: event coverage (`coverage.ts`): each `cover` is checked by running the probes that
 * attach to its hook; a refuted or undecided cover is a diagnostic.
 */
async function coverageStep(
  run: Run,
  program: Program,
  contracts: ProbeContractProvider,
  timeoutMs: number,
  warmingUp: boolean,
  limits: Limits,
): Promise<void> {
  const solver = await solverStep(run, warmingUp);
  run.coverage = await checkCoverage(program, {
    execute: (p, only, witness, prefix) => executeStep(run, p, contracts, { only, witness, ...(prefix ? { prefix } : {}), ...limits }),
    satisfiable: (b, exec, f) => satisfiable(b, solver, exec, f, timeoutMs),
    vacuous: (cover, reason) =>
      run.diagnostics.push({
        code: 'guard.vacuous',
        severity: 'error',
        stage: 'guard',
        message: reason,
        span: cover.span,
        hints: ['name a condition some event of the hook can satisfy, or drop the condition'],
      }),
  });
  for (const c of run.coverage) {
    const cover = program.covers.find((x) => x.span.line === c.line && x.span.column === c.column);
    if (c.verdict === 'proved') continue;
    run.diagnostics.push({
      code: c.verdict === 'refuted' ? 'symbolic.not-covered' : 'symbolic.coverage-unknown',
      severity: c.verdict === 'refuted' ? 'error' : 'warning',
      stage: 'symbolic',
      message: `${c.text} ${c.verdict === 'refuted' ? 'does not hold' : 'could not be decided'}: ${c.reason ?? ''}`,
      ...(cover ? { span: cover.span } : {}),
      ...(c.verdict === 'refuted' ? { hints: ['attach a probe to that hook (or widen its predicate) so those events reach a printf, print or map update'] } : {}),
    });
  }
}

/** Step 9: the program's verdict from its assertions and covers (proved needs one non-trivial proof). */
function programVerdict(run: Run, assertions: readonly AssertionResult[]): ProgramVerdict {
  if (assertions.some((a) => a.verdict === 'refuted') || run.coverage.some((c) => c.verdict === 'refuted')) return 'refuted';
  if (assertions.some((a) => a.verdict === 'unknown') || run.coverage.some((c) => c.verdict === 'unknown')) return 'unknown';
  if (assertions.some((a) => a.verdict === 'proved') || run.coverage.some((c) => c.verdict === 'proved')) {
    // A proved cover says the program observes events a real run produces: not trivial.
    return run.hints.length > 0 ? 'proved-under-hints' : 'proved';
  }
  run.diagnostics.push({
    code: 'symbolic.unannotated',
    severity: 'warning',
    stage: 'symbolic',
    message: 'no assertion says anything about what the program computes: nothing is verified',
  });
  return 'unannotated';
}

function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.code}|${d.span?.line}:${d.span?.column}|${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Contract facts for every input term in `formula`. */
function withAxioms(b: TermBuilder, exec: ExecResult, formula: Term): Term {
  const facts: Term[] = [];
  const seen = new Set<number>();
  let frontier: Term[] = [formula];
  // Axioms mention further terms (a quotient's definition mentions the dividend): to a fixpoint.
  while (frontier.length > 0) {
    const next: Term[] = [];
    for (const t of subterms(frontier)) {
      const ax = exec.axioms.get(t.id);
      if (ax && !seen.has(ax.id)) {
        seen.add(ax.id);
        facts.push(ax);
        next.push(ax);
      }
    }
    frontier = next;
  }
  return facts.length === 0 ? formula : b.and(formula, ...facts);
}

function opaqueReason(exec: ExecResult, formula: Term): string | undefined {
  for (const name of freeSymbols([formula]).keys()) {
    const r = exec.opaque.get(name);
    if (r !== undefined) return r;
  }
  return undefined;
}

function failing(b: TermBuilder, ob: Obligation): Term {
  return b.and(ob.pre, ob.pc, ob.assumptions, b.not(ob.goal));
}

/** Step 6: finds refuted assertions: batched, then one by one when a batch is undecided. */
async function refute(b: TermBuilder, solver: SmtSolver, exec: ExecResult, state: Map<AssertStmt, SiteState>, timeoutMs: number): Promise<void> {
  const open = (): Obligation[] => exec.obligations.filter((o) => state.get(o.site.stmt)?.verdict === undefined);
  const decide = (ob: Obligation, f: Term, value: (t: Term) => bigint | boolean | undefined): void => {
    const st = state.get(ob.site.stmt);
    if (!st || st.verdict !== undefined) return;
    const why = opaqueReason(exec, f);
    if (why !== undefined) {
      st.verdict = 'unknown';
      st.reason = `a counterexample depends on a value that is not modelled: ${why}`;
      return;
    }
    st.verdict = 'refuted';
    st.counterexample = renderCounterexample(ob, withAxioms(b, exec, f), exec.inputs, value);
  };
  // Concrete search first: a hit is a real counterexample and saves a solver call.
  for (const o of open()) {
    const f = withAxioms(b, exec, failing(b, o));
    const model = searchModel(b, f, exec.definitions);
    if (model) decide(o, f, model);
  }
  for (let round = 0; round < 64; round++) {
    const obs = open();
    if (obs.length === 0) return;
    const fs = obs.map((o) => failing(b, o));
    const disj = b.or(...fs);
    if (disj === b.F) return;
    const full = withAxioms(b, exec, disj);
    if (propagate(b, full) === b.F) return;
    const r = await solver.check(full, timeoutMs, (value) => {
      let hit = 0;
      obs.forEach((o, i) => {
        if (value(fs[i] as Term) === true) {
          decide(o, fs[i] as Term, value);
          hit++;
        }
      });
      return hit;
    });
    if (r.status === 'unsat') return;
    if (r.status === 'sat' && (r.result ?? 0) > 0) continue;
    // Undecided batch (timeout) or a model that satisfies no disjunct: one at a time.
    for (const [i, o] of obs.entries()) {
      const st = state.get(o.site.stmt);
      if (!st || st.verdict !== undefined) continue;
      const f = fs[i] as Term;
      const one = await solver.check(withAxioms(b, exec, f), timeoutMs, (value) => decide(o, f, value));
      if (one.status === 'unknown') {
        st.verdict = 'unknown';
        const timedOut = /cancel|timeout/i.test(one.reason ?? '');
        st.reason = timedOut
          ? `the solver timed out after ${timeoutMs} ms (raise --timeout-ms, or simplify the assertion)`
          : `the solver gave up (${one.reason ?? 'unknown'}) after ${Math.round(one.ms)} ms`;
      } else if (one.status === 'sat' && st.verdict === undefined) {
        st.verdict = 'unknown';
        st.reason = 'solver model could not be read';
      }
    }
    return;
  }
}

/**
 * Satisfiability without a model: propagation first (obvious contradictions), then the concrete
 * search, then Z3.
 */
async function satisfiable(b: TermBuilder, solver: SmtSolver, exec: ExecResult, formula: Term, timeoutMs: number): Promise<'sat' | 'unsat' | 'unknown'> {
  const f = withAxioms(b, exec, formula);
  if (propagate(b, f) === b.F) return 'unsat';
  if (searchModel(b, f, exec.definitions)) return 'sat';
  return (await solver.check(f, timeoutMs)).status;
}

interface SatItem {
  readonly formula: Term;
  readonly onUnsat: () => Promise<void>;
  readonly onUnknown: (reason: string) => void;
}

/**
 * Step 7: vacuity (assumptions satisfiable on each path that has them) and triviality (the assertion fails
 * for some program: with computed values havocked it is not implied by assumptions and contracts).
 * Both expect SAT, so they are checked together as one conjunction of renamed copies.
 */
async function vacuityAndTriviality(
  b: TermBuilder,
  solver: SmtSolver,
  exec: ExecResult,
  state: Map<AssertStmt, SiteState>,
  vacuous: Diagnostic[],
  timeoutMs: number,
): Promise<void> {
  const items: SatItem[] = [];
  const live = exec.obligations.filter((o) => state.get(o.site.stmt)?.verdict === undefined);
  const dead = new Set<Obligation>();
  const trivialObs = new Set<Obligation>();
  const undecidedTrivial = new Map<AssertStmt, string>();
  const vacuousAt = (span: AssertStmt['span'], what: string): void => {
    vacuous.push({
      code: 'guard.vacuous',
      severity: 'error',
      stage: 'guard',
      message: `the assumptions ${what} contradict each other, the probe's predicate or its contract: any assertion would be proved vacuously`,
      span,
      hints: ['assume only facts that can hold together with the predicate and the field types'],
    });
  };
  const predicateVacuous = async (pre: Term, pred: Term, span: AssertStmt['span']): Promise<boolean> => {
    if (pred === b.T && pre === b.T) return false;
    if ((await satisfiable(b, solver, exec, b.and(pre, pred), timeoutMs)) !== 'unsat') return false;
    vacuous.push({
      code: 'guard.vacuous',
      severity: 'error',
      stage: 'guard',
      message: "the probe's predicate can never hold given the probe's contract (field types and ranges): every assertion under it would be proved vacuously",
      span,
      hints: ['compare fields with values their types can hold (a __u16 is at most 65535; comm holds at most 15 characters)'],
    });
    return true;
  };
  for (const a of exec.assumes) {
    items.push({
      formula: b.and(a.pre, a.pc, a.assumptions),
      onUnsat: async () => {
        if (await predicateVacuous(a.pre, a.pred, a.span)) return;
        if ((await satisfiable(b, solver, exec, b.and(a.pre, a.pc), timeoutMs)) !== 'unsat') vacuousAt(a.span, `up to assume(${a.text})`);
      },
      onUnknown: () => undefined,
    });
  }
  for (const o of live) {
    // Feasibility of the path with its assumptions: unsatisfiable without the assumptions means a
    // dead path (it proves nothing); only with them, a vacuous proof.
    items.push({
      formula: b.and(o.pre, o.pc, o.assumptions),
      onUnsat: async () => {
        if (await predicateVacuous(o.pre, o.pred, o.site.stmt.span)) return;
        if (o.assumptions === b.T) {
          dead.add(o);
          return;
        }
        if ((await satisfiable(b, solver, exec, b.and(o.pre, o.pc), timeoutMs)) === 'unsat') dead.add(o);
        else vacuousAt(o.site.stmt.span, `before assert(${o.site.text})`);
      },
      onUnknown: (reason) => undecidedTrivial.set(o.site.stmt, `could not establish that the path to the assertion is feasible (${reason})`),
    });
    const nonTrivial = b.and(o.pre, o.assumptions, b.not(o.havocGoal));
    if (nonTrivial === b.F) {
      trivialObs.add(o);
      continue;
    }
    items.push({
      formula: nonTrivial,
      onUnsat: async () => {
        trivialObs.add(o);
      },
      onUnknown: (reason) => undecidedTrivial.set(o.site.stmt, `could not decide whether the assertion is trivial (${reason})`),
    });
  }
  // Concrete search settles most of these (they are expected to be satisfiable); propagation
  // settles the obviously contradictory ones.
  const pending: SatItem[] = [];
  for (const it of items) {
    const f = withAxioms(b, exec, it.formula);
    if (propagate(b, f) === b.F) await it.onUnsat();
    else if (!searchModel(b, f, exec.definitions)) pending.push(it);
  }
  if (pending.length > 0) {
    const copies = pending.map((it, i) => renameSymbols(b, withAxioms(b, exec, it.formula), (n) => `${n}#${i}`));
    const batch = await solver.check(b.and(...copies), timeoutMs);
    if (batch.status !== 'sat') {
      for (const it of pending) {
        const r = await solver.check(withAxioms(b, exec, it.formula), timeoutMs);
        if (r.status === 'unsat') await it.onUnsat();
        else if (r.status === 'unknown') it.onUnknown(r.reason ?? 'unknown');
      }
    }
  }
  for (const site of exec.sites) {
    const st = state.get(site.stmt);
    if (!st || st.verdict !== undefined) continue;
    const obs = live.filter((o) => o.site === site && !dead.has(o));
    const undecided = undecidedTrivial.get(site.stmt);
    if (undecided !== undefined) {
      st.verdict = 'unknown';
      st.reason = undecided;
    } else if (obs.length === 0) {
      if (!exec.unknowns.has(site.stmt) && !exec.incomplete.has(site.probeIndex)) {
        st.verdict = 'trivial';
        st.reason = 'no feasible path reaches this assertion';
      }
    } else if (obs.every((o) => trivialObs.has(o))) {
      st.verdict = 'trivial';
      st.reason = 'it holds whatever the program computes: the assumptions and the contract (field types) alone imply it';
    }
  }
}

export { EMPTY_CONTRACTS };
export type { AssertionSite };
