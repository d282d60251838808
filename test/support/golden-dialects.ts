/**
 * The dialect corpus (test/golden/verifier-dialects/) against real bpftrace binaries: the program
 * bpftrace sees (annotations stripped, as kgentd loads the candidate), whether a binary compiles
 * and runs it, and whether what a BEGIN program printed agrees with the verifier's verdicts on its
 * `assert(printed(I) OP N)` claims. Used by test/daemon/verifier/golden-dialects-*.test.ts.
 */
import { parse, printProgram, stripAnnotations } from '../../daemon/verifier/frontend/index.js';
import type { Expr, Program, Stmt } from '../../daemon/verifier/frontend/ast.js';
import type { AssertionVerdict, VerifyReport } from '../../daemon/verifier/report.js';
import { runFact, type Outcome } from '../dialects/fact-run.js';
import type { GoldenCase } from './golden.js';

/** `0.23.2` -> `0.23`. */
export function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * The program as bpftrace gets it: kgentd loads the candidate, which is the annotated program
 * without its assume/assert/cover (the guard holds the two equal), printed by the front-end. Read
 * with the newest syntax, so a program one version lacks still reaches that version's binary.
 */
export function programForBpftrace(source: string): string {
  const parsed = parse(source);
  if (!parsed.program) throw new Error(`does not parse: ${parsed.diagnostics.map((d) => d.message).join('; ')}`);
  return printProgram(stripAnnotations(parsed.program));
}

/** Runs the program (a BEGIN program that exits) in `bin`, as the dialect facts run theirs. */
export function runProgram(bin: string, id: string, program: string): Promise<Outcome> {
  return runFact(bin, { id, about: id, finding: '', program, outcomes: {} }, { timeoutMs: 60_000 });
}

/**
 * The binary did not run the program: a compile error, or an abort before anything ran (0.27.1
 * dies of SIGSEGV on `exit()` directly in a `while` body: exit 139, no output).
 */
export function refusedToRun(o: Outcome): boolean {
  return !o.compiles || (o.exit >= 128 && printedLines(o.stdout).length === 0);
}

/** The lines the program's printf calls wrote: stdout without the attach line and map dumps' blank lines. */
export function printedLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.trim() !== '' && !/^Attaching \d+ probes?\.\.\.$/.test(l) && !/^@/.test(l));
}

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** `assert(printed(arg) OP value)` whose printf is the `printfIndex`-th of the BEGIN body (0-based). */
export interface PrintedClaim {
  readonly line: number;
  readonly printfIndex: number;
  readonly arg: number;
  readonly op: CompareOp;
  readonly value: bigint;
}

const FLIP: Record<CompareOp, CompareOp> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function integer(e: Expr): bigint | undefined {
  if (e.kind === 'Integer') return e.value;
  if (e.kind === 'Unary' && e.op === '-' && e.operand.kind === 'Integer') return -e.operand.value;
  return undefined;
}

function printedArg(e: Expr): number | undefined {
  return e.kind === 'Call' && e.callee === 'printed' && e.args.length === 1 && e.args[0]?.kind === 'Integer' ? Number(e.args[0].value) : undefined;
}

function isPrintf(s: Stmt): boolean {
  return s.kind === 'ExprStmt' && s.expr.kind === 'Call' && s.expr.callee === 'printf';
}

/** One printf, one output line: a format with a single newline, at its end. */
function oneLine(s: Stmt): boolean {
  if (s.kind !== 'ExprStmt' || s.expr.kind !== 'Call') return false;
  const fmt = s.expr.args[0];
  return fmt?.kind === 'String' && fmt.value.endsWith('\n') && fmt.value.indexOf('\n') === fmt.value.length - 1;
}

function containsPrintf(s: Stmt): boolean {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).includes('"callee":"printf"');
}

/**
 * The printed() claims whose output line is known without running the verifier's paths: the
 * program is one BEGIN probe, the claim an `assert` at the top level of its body comparing
 * `printed(I)` with an integer, and every printf before it is at the top level and prints exactly
 * one line. Other asserts that read printed() are listed in `unmapped` (not checked on a binary).
 */
export function printedClaims(program: Program): { claims: PrintedClaim[]; unmapped: number[] } {
  const claims: PrintedClaim[] = [];
  const unmapped: number[] = [];
  const probe = program.probes.length === 1 ? program.probes[0] : undefined;
  const beginOnly = probe !== undefined && probe.predicate === undefined && probe.attachPoints.every((a) => a.raw === 'BEGIN');
  let printfs = 0;
  let mapped = beginOnly;
  const visit = (s: Stmt, top: boolean): void => {
    if (s.kind === 'AssertStmt' && JSON.stringify(s.expr, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).includes('"callee":"printed"')) {
      const e = s.expr;
      const claim = e.kind === 'Binary' && e.op in FLIP ? toClaim(e.op as CompareOp, e.left, e.right, s.span.line, printfs - 1) : undefined;
      if (top && mapped && claim && claim.printfIndex >= 0) claims.push(claim);
      else unmapped.push(s.span.line);
      return;
    }
    if (top && isPrintf(s)) {
      if (!oneLine(s)) mapped = false;
      printfs++;
      return;
    }
    if (containsPrintf(s)) mapped = false;
    for (const inner of nested(s)) visit(inner, false);
  };
  for (const p of program.probes) for (const s of p.body.statements) visit(s, p === probe);
  return { claims, unmapped };
}

function toClaim(op: CompareOp, left: Expr, right: Expr, line: number, printfIndex: number): PrintedClaim | undefined {
  const [l, r] = [printedArg(left), printedArg(right)];
  const [lv, rv] = [integer(left), integer(right)];
  if (l !== undefined && rv !== undefined) return { line, printfIndex, arg: l, op, value: rv };
  if (r !== undefined && lv !== undefined) return { line, printfIndex, arg: r, op: FLIP[op], value: lv };
  return undefined;
}

function nested(s: Stmt): Stmt[] {
  switch (s.kind) {
    case 'Block':
      return [...s.statements];
    case 'IfStmt':
      return s.else ? [s.then, s.else] : [s.then];
    case 'WhileStmt':
    case 'UnrollStmt':
    case 'ForStmt':
      return [s.body];
    default:
      return [];
  }
}

function holds(op: CompareOp, x: bigint, y: bigint): boolean {
  return op === '==' ? x === y : op === '!=' ? x !== y : op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

/** An assertion's verdict for one version: the verifier's report, or a `todo` expectation's. */
export type StatedAssertion = Pick<VerifyReport['assertions'][number], 'line' | 'verdict'> & { readonly counterexample?: { readonly inputs: Readonly<Record<string, string>> } };

/** How one printed() claim fared on a binary. */
export interface ClaimCheck {
  readonly line: number;
  readonly verdict: AssertionVerdict | 'missing';
  /** The value the binary printed, or why there is none. */
  readonly printed: string;
  /** true: agrees with the verdict; false: contradicts it; undefined: the run cannot tell (said in `why`). */
  readonly agrees: boolean | undefined;
  readonly why: string;
}

/**
 * Each claim against what the binary printed. A `proved` claim must hold; a `refuted` one must
 * fail, unless its counterexample needs inputs (pid ...) this run may not have had: then a claim
 * that held proves nothing either way. `unknown` and `trivial` claims are only reported.
 */
export function checkClaims(claims: readonly PrintedClaim[], assertions: readonly StatedAssertion[], stdout: string): ClaimCheck[] {
  const lines = printedLines(stdout);
  return claims.map((c): ClaimCheck => {
    const a = assertions.find((x) => x.line === c.line);
    const verdict = a?.verdict ?? 'missing';
    const token = lines[c.printfIndex]?.trim().split(/\s+/)[c.arg];
    const value = token !== undefined && /^-?\d+$/.test(token) ? BigInt(token) : undefined;
    if (value === undefined) return { line: c.line, verdict, printed: `no integer (line ${JSON.stringify(lines[c.printfIndex] ?? '')})`, agrees: false, why: 'the program did not print what the claim reads' };
    const ok = holds(c.op, value, c.value);
    const printed = value.toString();
    if (verdict === 'proved') return { line: c.line, verdict, printed, agrees: ok, why: ok ? 'proved and holds' : `proved, but printed(${c.arg}) ${c.op} ${c.value} is false` };
    if (verdict === 'refuted') {
      if (!ok) return { line: c.line, verdict, printed, agrees: true, why: 'refuted and fails' };
      const inputs = Object.keys(a?.counterexample?.inputs ?? {});
      return inputs.length === 0
        ? { line: c.line, verdict, printed, agrees: false, why: 'refuted without inputs, but holds' }
        : { line: c.line, verdict, printed, agrees: undefined, why: `refuted for some ${inputs.join(', ')}; holds on this run` };
    }
    return { line: c.line, verdict, printed, agrees: undefined, why: `${verdict}: not claimed either way` };
  });
}

/** The versions a case states a verdict for: its own and those it differs from. */
export function statedVerdicts(c: GoldenCase): Map<string, string> {
  const e = c.expected;
  const out = new Map<string, string>();
  if (!e || c.version === undefined) return out;
  out.set(c.version, e.verdict);
  for (const [v, verdict] of Object.entries(e.differsFrom ?? {})) out.set(v, verdict);
  return out;
}
