/**
 * Event coverage: `cover(HOOK[, COND]);` says the program must observe the events of HOOK (those
 * satisfying COND over the hook's inputs). Value assertions cannot catch "forgot IPv6" or "execve
 * but not execveat": a program that never looks at an event satisfies every assertion about it.
 *
 * A cover holds when some probe attaches to HOOK (directly, in a list, or through a wildcard that
 * matches it) and, for some input satisfying COND, its predicate and branches reach an observable
 * effect: printf/print or an update of a map. It is checked with the executor itself: each
 * matching probe is re-run at exactly HOOK (so a wildcard probe sees HOOK's typed `args`), with
 * `assume(COND)` first and an `assert(false)` marker after every effect; the cover holds iff some
 * marker is reachable, i.e. its path condition (with contracts and COND) is satisfiable.
 *
 * The probe's own annotations are left out of that run: coverage is about what the program does,
 * not about what the annotations assume.
 */
import type { Span } from '../protocol/diagnostic.js';
import type { AttachPoint, Block, CoverStmt, Expr, IfStmt, Probe, Program, Stmt } from './frontend/ast.js';
import { printAttachPoints, printCover, printExpr } from './frontend/printer.js';
import { collect, stripAnnotations } from './frontend/walk.js';
import { freeSymbols, type Term, type TermBuilder } from './smt/term.js';
import type { ExecOptions, ExecResult } from './symbolic/results.js';
import type { CoverageResult } from './report.js';

/** What coverage needs from the verification run: executing a program and deciding satisfiability. */
export interface CoverageDeps {
  /**
   * Executes the probe at `only`; `witness`: from the state BEGIN leaves (under-approximation),
   * after one event of `prefix` when given.
   */
  execute(program: Program, only: number, witness: boolean, prefix?: ExecOptions['prefix']): Promise<{ b: TermBuilder; exec: ExecResult }>;
  satisfiable(b: TermBuilder, exec: ExecResult, formula: Term): Promise<'sat' | 'unsat' | 'unknown'>;
  /** Receives covers whose condition can never hold (a guard error: such a cover says nothing). */
  vacuous(cover: CoverStmt, reason: string): void;
}

// kprobe and kfunc observe the same event (entry of a kernel function), as do kretprobe and kretfunc.
const SAME_EVENT: Readonly<Record<string, string>> = { kfunc: 'kprobe', kretfunc: 'kretprobe' };
const eventKind = (provider: string): string => SAME_EVENT[provider] ?? provider;

/** bpftrace's attach point wildcards: `*` any run, `?` one character, `[...]` a class. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, close).replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when attach point `ap` (possibly a wildcard) attaches to `hook` (one event). */
export function attachesTo(ap: AttachPoint, hook: AttachPoint): boolean {
  if (eventKind(ap.provider) !== eventKind(hook.provider)) return false;
  // A kprobe may carry a module prefix in newer bpftrace (`kprobe:mod:fn`): compare the function.
  const ours = ap.target;
  const theirs = hook.target;
  if (ours.length !== theirs.length) {
    const fnOurs = ours.at(-1);
    const fnTheirs = theirs.at(-1);
    return fnOurs !== undefined && fnTheirs !== undefined && (ap.wildcard ? globToRegExp(fnOurs).test(fnTheirs) : fnOurs === fnTheirs);
  }
  return ours.every((part, i) => (ap.wildcard ? globToRegExp(part).test(theirs[i] as string) : part === theirs[i]));
}

function falseMarker(span: Span): Stmt {
  return { kind: 'AssertStmt', expr: { kind: 'Boolean', value: false, span }, span };
}

const EFFECT_CALLS = new Set(['printf', 'print', 'delete', 'clear', 'zero', 'cat', 'join', 'time', 'debugf', 'errorf', 'warnf']);

/** True when evaluating the statement's own expressions has an observable effect. */
function hasEffect(e: Expr): boolean {
  switch (e.kind) {
    case 'Update':
      return e.operand.kind === 'Map' || hasEffect(e.operand);
    case 'Call':
      return EFFECT_CALLS.has(e.callee) || e.args.some(hasEffect);
    case 'Binary':
      return hasEffect(e.left) || hasEffect(e.right);
    case 'Ternary':
      return hasEffect(e.condition) || hasEffect(e.then) || hasEffect(e.else);
    case 'Unary':
    case 'Cast':
      return hasEffect(e.operand);
    case 'Field':
      return hasEffect(e.object);
    case 'Index':
      return hasEffect(e.object) || hasEffect(e.index);
    case 'Map':
      return e.keys.some(hasEffect);
    case 'Tuple':
      return e.elements.some(hasEffect);
    default:
      return false;
  }
}

function stmtHasEffect(s: Stmt): boolean {
  switch (s.kind) {
    case 'ExprStmt':
      return hasEffect(s.expr);
    case 'AssignStmt':
      return s.target.kind === 'Map' || hasEffect(s.value) || (s.target.kind !== 'Variable' && hasEffect(s.target));
    case 'VarDeclStmt':
      return s.value !== undefined && hasEffect(s.value);
    default:
      return false;
  }
}

/** The block with an `assert(false)` after every statement that has an observable effect. */
function markBlock(b: Block): Block {
  const out: Stmt[] = [];
  for (const s of b.statements) {
    out.push(markStmt(s));
    if (stmtHasEffect(s)) out.push(falseMarker(s.span));
  }
  return { ...b, statements: out };
}

function markIf(s: IfStmt): IfStmt {
  // An effect in the condition has happened on both branches.
  const lead = hasEffect(s.condition) ? [falseMarker(s.condition.span)] : [];
  const then = markBlock(s.then);
  const withLead = (blk: Block): Block => ({ ...blk, statements: [...lead, ...blk.statements] });
  const elseBranch: Block | IfStmt | undefined = s.else ? (s.else.kind === 'IfStmt' ? markIf(s.else) : markBlock(s.else)) : undefined;
  return {
    ...s,
    then: withLead(then),
    ...(elseBranch ? { else: elseBranch.kind === 'Block' ? withLead(elseBranch) : elseBranch } : lead.length ? { else: { kind: 'Block', statements: lead, span: s.span } } : {}),
  };
}

function markStmt(s: Stmt): Stmt {
  switch (s.kind) {
    case 'Block':
      return markBlock(s);
    case 'IfStmt':
      return markIf(s);
    case 'UnrollStmt':
    case 'WhileStmt':
    case 'ForStmt':
      return { ...s, body: markBlock(s.body) };
    default:
      return s;
  }
}

/** The probe re-targeted at exactly `hook`, assuming COND first, with effect markers. */
function coverageProbe(probe: Probe, cover: CoverStmt): Probe {
  const body = markBlock(probe.body);
  const assume: Stmt[] = cover.condition ? [{ kind: 'AssumeStmt', expr: cover.condition, span: cover.condition.span }] : [];
  return { ...probe, attachPoints: [cover.hook], body: { ...body, statements: [...assume, ...body.statements] } };
}

/** At most this many earlier events are tried for one probe's witness (each is an execution and a query). */
const MAX_PREFIXES = 8;

/**
 * The events that may come before a covered one in a witness: each attach point, written without
 * wildcards, of a probe other than BEGIN/END that stores into a map (nothing else carries over).
 */
function prefixEvents(plain: Program): NonNullable<ExecOptions['prefix']>[] {
  const out: NonNullable<ExecOptions['prefix']>[] = [];
  plain.probes.forEach((probe, index) => {
    const special = probe.attachPoints.every((ap) => ap.provider === 'BEGIN' || ap.provider === 'END');
    const writes = collect(probe.body, 'AssignStmt').some((a) => a.target.kind === 'Map') || collect(probe.body, 'Update').some((u) => u.operand.kind === 'Map');
    if (special || !writes) return;
    for (const ap of probe.attachPoints) if (!ap.wildcard) out.push({ probe, ap, index });
  });
  return out.slice(0, MAX_PREFIXES);
}

/** Checks every `cover` of the program. Covers must already have passed the guards (COND over inputs). */
export async function checkCoverage(program: Program, deps: CoverageDeps): Promise<CoverageResult[]> {
  const plain = stripAnnotations(program);
  const out: CoverageResult[] = [];
  for (const cover of program.covers) {
    const text = printCover(cover);
    const at = { line: cover.span.line, column: cover.span.column, text };
    if (cover.hook.wildcard) {
      out.push({ ...at, verdict: 'unknown', reason: `cover() names one event; ${cover.hook.raw} is a wildcard (write one cover per event)`, probes: [] });
      continue;
    }
    const matching = plain.probes.filter((p) => p.attachPoints.some((ap) => attachesTo(ap, cover.hook)));
    const probes = matching.map((p) => printAttachPoints(p.attachPoints));
    if (matching.length === 0) {
      out.push({ ...at, verdict: 'refuted', reason: `no probe attaches to ${cover.hook.raw}, so the program never sees those events`, probes });
      continue;
    }
    let verdict: CoverageResult['verdict'] = 'refuted';
    const unknownWhy: string[] = [];
    let condFeasible = cover.condition === undefined;
    for (const probe of matching) {
      const index = plain.probes.indexOf(probe);
      const probes2 = plain.probes.map((p, i) => (i === index ? coverageProbe(probe, cover) : p));
      const synthetic: Program = { ...plain, probes: probes2, covers: [] };
      const name = printAttachPoints(probe.attachPoints);
      // A witness: the event right after BEGIN (maps as BEGIN left them), a state every run reaches.
      // Reach formulas that rest on an unmodelled value are no witness (that value may be impossible).
      const w = await deps.execute(synthetic, index, true);
      const reachOf = (r: { b: TermBuilder; exec: ExecResult }): { sure: Term[]; opaque: Term[] } => {
        const sure: Term[] = [];
        const opaque: Term[] = [];
        for (const o of r.exec.obligations) {
          const f = r.b.and(o.pre, o.pc, o.assumptions);
          const mentionsOpaque = [...freeSymbols([f]).keys()].some((n) => r.exec.opaque.has(n));
          (mentionsOpaque ? opaque : sure).push(f);
        }
        return { sure, opaque };
      };
      const wr = reachOf(w);
      let answer = wr.sure.length === 0 ? 'unsat' : await deps.satisfiable(w.b, w.exec, w.b.or(...wr.sure));
      // Or one event earlier that the program itself handles (an entry storing what the exit reads).
      for (const prefix of answer === 'sat' ? [] : prefixEvents(plain)) {
        const pw = await deps.execute(synthetic, index, true, prefix);
        const pr = reachOf(pw);
        if (pr.sure.length > 0 && (await deps.satisfiable(pw.b, pw.exec, pw.b.or(...pr.sure))) === 'sat') {
          answer = 'sat';
          break;
        }
      }
      if (answer === 'sat') {
        verdict = 'proved';
        condFeasible = true;
        break;
      }
      // No witness from BEGIN's state: from any state the program's invariants allow (over-approximation).
      const o = await deps.execute(synthetic, index, false);
      const or = reachOf(o);
      const all = [...or.sure, ...or.opaque];
      const over = all.length === 0 ? 'unsat' : await deps.satisfiable(o.b, o.exec, o.b.or(...all));
      if (!condFeasible && cover.condition) {
        const a = o.exec.assumes[0];
        if (a === undefined || (await deps.satisfiable(o.b, o.exec, o.b.and(a.pre, a.assumptions))) !== 'unsat') condFeasible = true;
      }
      const cut = o.exec.incomplete.get(index) ?? w.exec.incomplete.get(index) ?? [...o.exec.unknowns.values()][0];
      if (answer === 'unknown' || over === 'unknown') unknownWhy.push(`the solver could not decide whether ${name} reaches an effect`);
      else if (over === 'sat') {
        unknownWhy.push(
          `${name} reaches an effect only from map contents other than those BEGIN leaves (or through a value that is not modelled); no run of the program producing such contents was found`,
        );
      } else if (cut !== undefined) unknownWhy.push(`${name} was not explored to the end (${cut})`);
    }
    if (!condFeasible && verdict !== 'proved' && cover.condition) {
      deps.vacuous(cover, `the condition ${printExpr(cover.condition)} of ${text} can never hold (with the hook's field types and contract): the cover says nothing`);
      out.push({ ...at, verdict: 'unknown', reason: 'its condition can never hold', probes });
      continue;
    }
    if (verdict === 'proved') out.push({ ...at, verdict, probes });
    else if (unknownWhy.length > 0) out.push({ ...at, verdict: 'unknown', reason: unknownWhy.join('; '), probes });
    else {
      const cond = cover.condition ? ` when ${printExpr(cover.condition)}` : '';
      const preds = matching.map((p) => (p.predicate ? `${printAttachPoints(p.attachPoints)} /${printExpr(p.predicate)}/` : printAttachPoints(p.attachPoints)));
      out.push({
        ...at,
        verdict: 'refuted',
        reason: `${preds.join(' and ')} never reaches a printf, print or map update${cond}: its predicate and branches filter those events out`,
        probes,
      });
    }
  }
  return out;
}
