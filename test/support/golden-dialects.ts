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


/**
 * `assert(printed(arg) OP value)` and where its printf's line is in the output: the
 * `printfIndex`-th line (0-based; a straight BEGIN body), or the only line that the `own` pattern
 * of its printf's format matches and no other printf's pattern does.
 */
export interface PrintedClaim {
  readonly line: number;
  readonly arg: number;
  readonly op: CompareOp;
  readonly value: bigint;
  readonly printfIndex?: number;
  readonly format?: { readonly own: RegExp; readonly others: readonly RegExp[] };
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

/** The format of a printf statement, when `s` is one. */
function printfFormat(s: Stmt | undefined): string | undefined {
  if (s?.kind !== 'ExprStmt' || s.expr.kind !== 'Call' || s.expr.callee !== 'printf') return undefined;
  const fmt = s.expr.args[0];
  return fmt?.kind === 'String' ? fmt.value : '';
}

/** One printf, one output line: a format with a single newline, at its end. */
function oneLine(format: string): boolean {
  return format.endsWith('\n') && format.indexOf('\n') === format.length - 1;
}

/**
 * The line a one-line format prints, as a pattern whose groups are its integer arguments; undefined
 * for a format with anything but integer conversions (`%d %u %i`, with flags, width, length) or
 * with `%%` (printed as `%%` by 0.17 and 0.23, `%` by 0.27: test/dialects/README.md).
 */
export function formatPattern(format: string): RegExp | undefined {
  if (!oneLine(format) || format.includes('%%')) return undefined;
  let out = '';
  const text = format.slice(0, -1);
  const conv = /%-?\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t)?[diu]/y;
  for (let i = 0; i < text.length; ) {
    conv.lastIndex = i;
    const m = conv.exec(text);
    if (m) {
      out += '\\s*(-?\\d+)\\s*';
      i += m[0].length;
    } else if (text[i] === '%') {
      return undefined;
    } else {
      out += text[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${out}$`);
}

/** The statement lists inside a statement (a block's, each branch's, a loop body's). */
function innerLists(s: Stmt): (readonly Stmt[])[] {
  switch (s.kind) {
    case 'Block':
      return [s.statements];
    case 'IfStmt':
      return s.else ? [s.then.statements, s.else.kind === 'Block' ? s.else.statements : [s.else]] : [s.then.statements];
    case 'WhileStmt':
    case 'UnrollStmt':
    case 'ForStmt':
      return [s.body.statements];
    default:
      return [];
  }
}

function everyFormat(list: readonly Stmt[], out: string[] = []): string[] {
  for (const s of list) {
    const f = printfFormat(s);
    if (f !== undefined) out.push(f);
    for (const inner of innerLists(s)) everyFormat(inner, out);
  }
  return out;
}

function readsPrinted(s: Stmt): boolean {
  return s.kind === 'AssertStmt' && JSON.stringify(s.expr, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).includes('"callee":"printed"');
}

/**
 * The printed() claims of a BEGIN program whose output line is known without following the
 * verifier's paths: an `assert` comparing `printed(I)` with an integer, either at the top level of
 * the body with every printf before it at the top level and printing one line, or right after a
 * printf of a format no other printf of the program has (its line is then found by the format).
 * Other asserts that read printed() are listed in `unmapped` (not checked on a binary).
 */
export function printedClaims(program: Program): { claims: PrintedClaim[]; unmapped: number[] } {
  const claims: PrintedClaim[] = [];
  const unmapped: number[] = [];
  const probe = program.probes.length === 1 ? program.probes[0] : undefined;
  if (!probe || probe.predicate !== undefined || !probe.attachPoints.every((a) => a.raw === 'BEGIN')) {
    for (const p of program.probes) for (const s of p.body.statements) if (readsPrinted(s)) unmapped.push(s.span.line);
    return { claims, unmapped };
  }
  const formats = everyFormat(probe.body.statements);
  const patterns = formats.map(formatPattern);
  let printfs = 0;
  let straight = true;
  const visit = (list: readonly Stmt[], top: boolean): void => {
    list.forEach((s, i) => {
      if (readsPrinted(s)) {
        const base = s.kind === 'AssertStmt' && s.expr.kind === 'Binary' && s.expr.op in FLIP ? toClaim(s.expr.op as CompareOp, s.expr.left, s.expr.right, s.span.line) : undefined;
        const own = printfFormat(list[i - 1]);
        const ownPattern = own !== undefined && formats.filter((f) => f === own).length === 1 ? formatPattern(own) : undefined;
        const others = patterns.filter((_p, j) => formats[j] !== own);
        if (base && top && straight && printfs > 0) claims.push({ ...base, printfIndex: printfs - 1 });
        else if (base && ownPattern && others.every((p) => p !== undefined)) claims.push({ ...base, format: { own: ownPattern, others: others as RegExp[] } });
        else unmapped.push(s.span.line);
        return;
      }
      const f = printfFormat(s);
      if (top && f !== undefined) {
        if (!oneLine(f)) straight = false;
        printfs++;
        return;
      }
      const inner = innerLists(s);
      if (inner.some((l) => everyFormat(l).length > 0)) straight = false;
      for (const l of inner) visit(l, false);
    });
  };
  visit(probe.body.statements, true);
  return { claims, unmapped };
}

function toClaim(op: CompareOp, left: Expr, right: Expr, line: number): Omit<PrintedClaim, 'printfIndex' | 'format'> | undefined {
  const [l, r] = [printedArg(left), printedArg(right)];
  const [lv, rv] = [integer(left), integer(right)];
  if (l !== undefined && rv !== undefined) return { line, arg: l, op, value: rv };
  if (r !== undefined && lv !== undefined) return { line, arg: r, op: FLIP[op], value: lv };
  return undefined;
}

/** The claim's printed value, or why the output does not give one (undefined `value`). */
function locate(c: PrintedClaim, lines: readonly string[]): { value?: bigint; why: string } {
  if (c.printfIndex !== undefined) {
    const line = lines[c.printfIndex];
    const token = line?.trim().split(/\s+/)[c.arg];
    return token !== undefined && /^-?\d+$/.test(token) ? { value: BigInt(token), why: '' } : { why: `no integer at line ${c.printfIndex + 1} of the output (${JSON.stringify(line ?? '')})` };
  }
  const format = c.format!;
  const matching = lines.filter((l) => format.own.test(l));
  if (matching.length !== 1) return { why: `${matching.length} output lines match its printf's format` };
  const line = matching[0]!;
  if (format.others.some((p) => p.test(line))) return { why: `its line ${JSON.stringify(line)} matches another printf's format too` };
  const token = format.own.exec(line)?.[c.arg + 1];
  return token !== undefined ? { value: BigInt(token), why: '' } : { why: `its printf has no argument ${c.arg}` };
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
    const { value, why } = locate(c, lines);
    if (value === undefined) {
      // An index-mapped claim always has its line (the program reached it); a format-mapped one
      // may not have run (an exit before it) or may have run more than once.
      return c.printfIndex !== undefined
        ? { line: c.line, verdict, printed: 'nothing', agrees: false, why: `the program did not print what the claim reads: ${why}` }
        : { line: c.line, verdict, printed: 'nothing', agrees: undefined, why };
    }
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
