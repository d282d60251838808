/**
 * The differential run: generate cases, run them in bpftrace and in the executor's concrete mode,
 * compare every printed value. Shared by the `npm run difftest` script and the CI test.
 */
import { EMPTY_CONTRACTS } from '../../../daemon/verifier/contracts.js';
import { parse } from '../../../daemon/verifier/frontend/index.js';
import { runConcrete, type ConcreteValue, type InputAssignment, type SiteOutcome } from '../../../daemon/verifier/symbolic/concrete-run.js';
import { runInBpftrace, runEnv, type BpfOutcome } from './bpftrace-run.js';
import { generateCases, type Case, type Node } from './generator.js';
import { executorProgram, printSlots, reproProgram, type RunEnv } from './program.js';

const M64 = (1n << 64n) - 1n;
/** The address the executor is told `arg0` of getenv() holds (any non-zero value). */
const NAME_PTR = 0x7f0000001000n;

export interface Mismatch {
  readonly k: number;
  readonly j: number;
  readonly expr: string;
  /** What bpftrace printed (undefined: the printf did not run). */
  readonly bpftrace?: string;
  /** What the executor computes (undefined: no path reaches the printf). */
  readonly executor?: string;
}

export type Verdict = 'agree' | 'disagree' | 'rejected' | 'no-output' | 'executor-error';

export interface CaseResult {
  readonly c: Case;
  readonly verdict: Verdict;
  readonly mismatches: readonly Mismatch[];
  /** bpftrace's rejection, the missing output, or the executor's failure. */
  readonly detail?: string;
  /** For disagreements: the case's bpftrace program with only the disagreeing printf arguments. */
  readonly minimal?: string;
}

export interface Report {
  readonly results: readonly CaseResult[];
  readonly processes: number;
  readonly bpftraceMs: number;
  readonly executorMs: number;
  readonly wallMs: number;
  readonly env: RunEnv;
}

function strBits(s: string, bytes: number): bigint {
  let v = 0n;
  for (let i = 0; i < Math.min(s.length, bytes - 1); i++) v |= BigInt(s.charCodeAt(i) & 0xff) << BigInt(8 * i);
  return v;
}

/**
 * Inputs of a case: this process's pid, the maps BEGIN wrote (other maps empty) as contents before
 * the invocation, the getenv name. A map's contents are an array symbol named after the map
 * (`@in_s64@...`); a renamed symbol shows up as an executor error naming it, never as a value.
 */
function inputsFor(c: Case, env: RunEnv): InputAssignment {
  return (t, args) => {
    if (t.sort.k === 'array') {
      const map = /^(@\w+)/.exec(t.name ?? '')?.[1];
      if (map === undefined) return undefined;
      const hit = c.inputValues.find((v) => v.map === map && v.key === args[0]);
      return hit ? hit.value & ((1n << BigInt(t.sort.value)) - 1n) : 0n;
    }
    const name = t.name ?? '';
    if (name === 'pid' || name === 'tid') return BigInt(env.pid);
    if (c.trigger.kind === 'getenv') {
      if (name === 'arg0') return NAME_PTR;
      if (t.op === 'uf' && t.sort.k === 'bv' && args[0] === NAME_PTR && /str/.test(name)) return strBits(c.trigger.name, t.sort.w / 8);
    }
    return undefined;
  };
}

function showExec(v: ConcreteValue): string {
  switch (v.kind) {
    case 'bool':
      return v.value ? '1' : '0';
    case 'str':
      return v.text;
    case 'int': {
      const b = v.bits & M64;
      return String(b >= 1n << 63n ? b - (1n << 64n) : b);
    }
  }
}

function sameValue(printed: string, kind: 'int' | 'str', v: ConcreteValue): boolean {
  if (kind === 'str') return v.kind === 'str' && v.text === printed;
  if (v.kind === 'str') return false;
  if (!/^-?\d+$/.test(printed)) return false;
  const want = BigInt(printed) & M64;
  const got = v.kind === 'bool' ? (v.value ? 1n : 0n) : v.bits & M64;
  return want === got;
}

function pruneBody(nodes: readonly Node[], keep: ReadonlySet<string>): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    if (n.t === 'print') {
      const args = n.args.filter((_, j) => keep.has(`${n.k}.${j}`));
      if (args.length > 0) out.push({ ...n, args });
    } else if (n.t === 'if') {
      out.push({ ...n, then: pruneBody(n.then, keep), ...(n.else ? { else: pruneBody(n.else, keep) } : {}) });
    } else out.push(n);
  }
  return out;
}

/** Compares one case's bpftrace output with the executor's concrete run. */
export async function compareCase(c: Case, bpf: BpfOutcome, env: RunEnv): Promise<CaseResult> {
  if (bpf.status === 'rejected') return { c, verdict: 'rejected', mismatches: [], detail: bpf.error };
  if (bpf.status === 'no-output') return { c, verdict: 'no-output', mismatches: [], detail: bpf.detail };
  const src = executorProgram(c, env);
  const parsed = parse(src);
  if (!parsed.program || parsed.diagnostics.some((d) => d.severity === 'error')) {
    return { c, verdict: 'executor-error', mismatches: [], detail: `kgent's parser rejects the case: ${parsed.diagnostics[0]?.message ?? '?'}` };
  }
  let sites: readonly SiteOutcome[];
  try {
    sites = (await runConcrete(parsed.program, EMPTY_CONTRACTS, inputsFor(c, env))).sites;
  } catch (err) {
    return { c, verdict: 'executor-error', mismatches: [], detail: `the executor threw: ${err instanceof Error ? err.message : String(err)}` };
  }
  const slots = printSlots(c);
  if (sites.length !== slots.length) {
    return { c, verdict: 'executor-error', mismatches: [], detail: `${sites.length} assertion sites for ${slots.length} printed values` };
  }
  const exprOf = new Map<string, { expr: string; kind: 'int' | 'str' }>();
  const walk = (ns: readonly Node[]): void => {
    for (const n of ns) {
      if (n.t === 'print') n.args.forEach((a, j) => exprOf.set(`${n.k}.${j}`, a));
      else if (n.t === 'if') {
        walk(n.then);
        if (n.else) walk(n.else);
      }
    }
  };
  walk(c.body);
  const mismatches: Mismatch[] = [];
  const errors: string[] = [];
  slots.forEach(({ k, j }, i) => {
    const site = sites[i] as SiteOutcome;
    const arg = exprOf.get(`${k}.${j}`) as { expr: string; kind: 'int' | 'str' };
    const line = bpf.prints.get(k);
    const printed = line?.[j];
    if (site.status === 'error') {
      errors.push(`printf ${k} argument ${j} (${arg.expr}): ${site.reason}`);
      return;
    }
    if (site.status === 'not-reached') {
      if (printed !== undefined) mismatches.push({ k, j, expr: arg.expr, bpftrace: printed });
      return;
    }
    const shown = showExec(site.value);
    if (printed === undefined) mismatches.push({ k, j, expr: arg.expr, executor: shown });
    else if (!sameValue(printed, arg.kind, site.value)) mismatches.push({ k, j, expr: arg.expr, bpftrace: printed, executor: shown });
  });
  if (mismatches.length > 0) {
    const keep = new Set(mismatches.map((m) => `${m.k}.${m.j}`));
    return {
      c,
      verdict: 'disagree',
      mismatches,
      minimal: reproProgram(c, env, pruneBody(c.body, keep)),
      ...(errors.length > 0 ? { detail: errors.join('; ') } : {}),
    };
  }
  if (errors.length > 0) return { c, verdict: 'executor-error', mismatches: [], detail: errors.join('; ') };
  return { c, verdict: 'agree', mismatches: [] };
}

export interface RunOptions {
  readonly seed: number;
  readonly cases: number;
  readonly from?: number;
  readonly classes?: readonly string[];
  readonly ids?: readonly number[];
  readonly batchSize?: number;
  readonly log?: (s: string) => void;
}

/** Generates, runs and compares; never throws for a disagreement. */
export async function runDifferential(o: RunOptions): Promise<Report> {
  const t0 = performance.now();
  const env = runEnv();
  let cases = generateCases(o.seed, o.cases, o.from ?? 0, o.classes);
  if (o.ids && o.ids.length > 0) cases = cases.filter((c) => o.ids?.includes(c.id));
  const { outcomes, stats } = await runInBpftrace(cases, env, { ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.log ? { log: o.log } : {}) });
  const e0 = performance.now();
  const results: CaseResult[] = [];
  for (const c of cases) {
    const bpf = outcomes.get(c.id) ?? { status: 'no-output', detail: 'not run' };
    results.push(await compareCase(c, bpf, env));
  }
  const executorMs = performance.now() - e0;
  return { results, processes: stats.processes, bpftraceMs: stats.ms, executorMs, wallMs: performance.now() - t0, env };
}

/** A readable summary: per-class counts, then each disagreement with its minimal program. */
export function formatReport(r: Report, opts: { maxDetails?: number; showErrors?: boolean } = {}): string {
  const verdicts: Verdict[] = ['agree', 'disagree', 'executor-error', 'rejected', 'no-output'];
  const byClass = new Map<string, Map<Verdict, number>>();
  for (const x of r.results) {
    let m = byClass.get(x.c.cls);
    if (!m) byClass.set(x.c.cls, (m = new Map()));
    m.set(x.verdict, (m.get(x.verdict) ?? 0) + 1);
  }
  const lines: string[] = [];
  const pad = (s: string, n: number): string => s.padEnd(n);
  lines.push(`${pad('class', 16)}${verdicts.map((v) => v.padStart(15)).join('')}`);
  const totals = new Map<Verdict, number>();
  for (const [cls, m] of [...byClass].sort()) {
    lines.push(`${pad(cls, 16)}${verdicts.map((v) => String(m.get(v) ?? 0).padStart(15)).join('')}`);
    for (const v of verdicts) totals.set(v, (totals.get(v) ?? 0) + (m.get(v) ?? 0));
  }
  lines.push(`${pad('total', 16)}${verdicts.map((v) => String(totals.get(v) ?? 0).padStart(15)).join('')}`);
  const ran = r.results.length - (totals.get('rejected') ?? 0) - (totals.get('no-output') ?? 0);
  lines.push(
    `generated ${r.results.length}, run in bpftrace ${ran}, rejected by bpftrace ${totals.get('rejected') ?? 0}, no output ${totals.get('no-output') ?? 0}; ` +
      `agree ${totals.get('agree') ?? 0}, disagree ${totals.get('disagree') ?? 0}, executor errors ${totals.get('executor-error') ?? 0}`,
  );
  lines.push(`${r.processes} bpftrace processes, ${(r.bpftraceMs / 1000).toFixed(1)} s in bpftrace, ${(r.executorMs / 1000).toFixed(1)} s in the executor, ${(r.wallMs / 1000).toFixed(1)} s wall`);
  const max = opts.maxDetails ?? Infinity;
  let shown = 0;
  for (const x of r.results) {
    if (x.verdict !== 'disagree' && !(opts.showErrors && x.verdict !== 'agree')) continue;
    if (shown++ >= max) break;
    lines.push('');
    lines.push(`## case ${x.c.id} (seed ${x.c.seed}, class ${x.c.cls}): ${x.verdict}${x.detail ? ` — ${x.detail}` : ''}`);
    for (const m of x.mismatches) {
      lines.push(`  ${m.expr}: bpftrace ${m.bpftrace ?? '(not printed)'}, executor ${m.executor ?? '(not reached)'}`);
    }
    if (x.minimal) lines.push(x.minimal.replace(new RegExp(`pid == ${r.env.pid}`, 'g'), 'pid == $PID').trimEnd().replace(/^/gm, '    '));
  }
  if (shown > max) lines.push(`... ${shown - max} more`);
  return lines.join('\n');
}

/**
 * Disagreement classes found so far, each confirmed by hand on real bpftrace (see the README in
 * this folder). `known` classes are the ones issue 7 lists; a disagreement that matches none is
 * `unclassified` and always fails the CI test.
 */
export interface Classification {
  readonly label: string;
  readonly known: boolean;
}

function statementsOf(nodes: readonly Node[]): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    if (n.t === 'stmt') out.push(n.text);
    else if (n.t === 'if') out.push(`if (${n.cond})`, ...statementsOf(n.then), ...statementsOf(n.else ?? []));
  }
  return out;
}

/** A heuristic label for a disagreement, from what the case exercises and which values differ. */
export function classify(r: CaseResult): Classification {
  const c = r.c;
  const exprs = r.mismatches.map((m) => m.expr).join(' ');
  const stmts = statementsOf(c.body).join(' ');
  const convs = new Set<string>();
  const walk = (ns: readonly Node[]): void => {
    for (const n of ns) {
      if (n.t === 'print') n.args.forEach((a, j) => r.mismatches.some((m) => m.k === n.k && m.j === j) && convs.add(a.conv));
      else if (n.t === 'if') {
        walk(n.then);
        walk(n.else ?? []);
      }
    }
  };
  walk(c.body);
  if (r.verdict === 'executor-error') return { label: `executor cannot evaluate: ${(r.detail ?? '').slice(0, 80)}`, known: false };
  if (c.cls === 'str') return { label: 'str(p, n) length', known: true };
  if (convs.has('%d')) return { label: 'printf %d of a 64-bit value prints its low 32 bits', known: true };
  if (/&&|\|\||\?/.test(stmts) && /\+\+|--/.test(stmts) && c.cls === 'side-effects') return { label: '&&, || and ?: side effects', known: true };
  if (/\$\w+ (=|\+=|-=|<<=)[^;]*;.*\1/.test(stmts) || /\$\w+(\+\+|--)|(\+\+|--)\$\w+|\$\w+ [-+<]=/.test(stmts)) {
    // A variable assigned twice (or incremented): the slot keeps its first type.
    const vars = new Map<string, number>();
    for (const m of stmts.matchAll(/(\$\w+) (?:=|\+=|-=|<<=)|(\$\w+)(?:\+\+|--)|(?:\+\+|--)(\$\w+)/g)) {
      const v = (m[1] ?? m[2] ?? m[3]) as string;
      vars.set(v, (vars.get(v) ?? 0) + 1);
    }
    if ([...vars.values()].some((n) => n > 1)) return { label: 'variable keeps the type of its first assignment', known: true };
  }
  if (/bswap/.test(exprs)) return { label: 'bswap() result type', known: true };
  if (/\?/.test(exprs) || /\?/.test(stmts)) return { label: 'type of c ? a : b', known: true };
  if (c.cls === 'expr-const') return { label: 'constant folding', known: true };
  if (/ (\/|%|<<|>>) /.test(exprs)) return { label: 'division, modulo and shift rules', known: true };
  return { label: 'unclassified', known: false };
}
