/**
 * The verifier's golden corpus: loading `test/golden/verifier/<verdict>/NAME.bt` with its
 * `NAME.expected.json` (and optional `NAME.candidate.bt`), comparing a {@link VerifyReport} with the
 * expectation, and turning a report back into an expectation for `UPDATE_GOLDEN=1`.
 *
 * Expectations state the counterexample's *shape*, not its text: which inputs and computed values
 * must appear (a name matches a key equal to it or containing it, so `skc_dport` matches
 * `$sk->__sk_common.skc_dport`), plus values only where the program forces them (an off-by-one at 0).
 * Used by test/daemon/verifier/golden.test.ts, test/bench/verifier-bench.ts and the CLI tests.
 */
import { repoRoot } from '../../daemon/util/repo-root.js';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DiagnosticStage, Severity } from '../../daemon/protocol/diagnostic.js';
import type { ProbeContractProvider } from '../../daemon/verifier/contract-seam.js';
import { hostMemberTypes, recordedContractProvider, recordedFormatsDir } from './recorded-contracts.js';
import { ALL_PROBES_AVAILABLE, type LintContext } from '../../daemon/verifier/lints/index.js';
import type { AssertionVerdict, ProgramVerdict, VerifyReport } from '../../daemon/verifier/report.js';
import { verifyProgram, type VerifyOptions } from '../../daemon/verifier/verify.js';

/** Folders of the corpus; a case's folder is its expected program verdict. */
export const GOLDEN_CATEGORIES = ['proved', 'proved-under-hints', 'refuted', 'unknown', 'unannotated', 'invalid'] as const satisfies readonly ProgramVerdict[];

export interface GoldenCounterexampleShape {
  /** Input names that must appear among the counterexample's inputs. */
  readonly inputs: readonly string[];
  /** Computed names (`printed(0)`, `mapval(@m)`, `$x`) that must appear among its computed values. */
  readonly computed: readonly string[];
  /** Values the program forces, by name (looked up in inputs, then computed); compared as integers mod 2^64. */
  readonly values?: Readonly<Record<string, string>>;
}

export interface GoldenAssertion {
  readonly line: number;
  readonly verdict: AssertionVerdict;
  readonly counterexample?: GoldenCounterexampleShape;
  /** A substring of the reported reason (for `unknown` and `trivial`). */
  readonly reason?: string;
}

/** A diagnostic that must be reported; absent fields match anything. */
export interface GoldenDiagnostic {
  readonly code?: string;
  readonly stage?: DiagnosticStage;
  readonly severity?: Severity;
  readonly line?: number;
}

export interface GoldenExpectation {
  readonly description: string;
  readonly verdict: ProgramVerdict;
  /** Every assertion in source order; omitted = not checked (guard failures may stop before them). */
  readonly assertions?: readonly GoldenAssertion[];
  /**
   * Diagnostics that must appear. Any reported *error* not listed here is a mismatch, except the
   * `symbolic` ones that restate a refuted assertion.
   */
  readonly diagnostics?: readonly GoldenDiagnostic[];
  /**
   * The hints the proof rests on (`proved-under-hints`): each must be reported for the assume at
   * `usedBy`, `hint` (optional) a substring of its text; no other hint may be reported.
   */
  readonly hints?: readonly { readonly usedBy: number; readonly hint?: string }[];
  /**
   * A known gap: the expectation is right but the verifier does not meet it yet. The comparison
   * runs as a tap `todo` assertion (reported, not failing) and this text says what is missing.
   */
  readonly todo?: string;
  /**
   * The bpftrace version (`major.minor`, a profile of daemon/verifier/dialect/profiles.ts) the
   * verdict is for: the dialect corpus (test/golden/verifier-dialects/<version>/). Absent = the
   * default dialect, 0.17, as everywhere in test/golden/verifier/.
   */
  readonly dialect?: string;
  /**
   * The program verdict under other versions, by `major.minor`: "0.17" always in the dialect
   * corpus, sometimes the previous version too. At least one of them differs from `verdict`.
   */
  readonly differsFrom?: Readonly<Record<string, ProgramVerdict>>;
  /** For a version not run here: the sources its facts come from ("from sources, not run here: ..."). */
  readonly fromSources?: string;
}

export interface GoldenCase {
  /** `category/NAME`, e.g. `refuted/byteorder-missing-bswap` (`0.23/proved/NAME` in the dialect corpus). */
  readonly id: string;
  /** The dialect corpus's version folder (`0.23`); absent in test/golden/verifier/. */
  readonly version?: string;
  readonly category: string;
  readonly name: string;
  /** Absolute path of the `.bt`. */
  readonly file: string;
  readonly source: string;
  /** The un-annotated candidate the annotated program must match, when `NAME.candidate.bt` exists. */
  readonly candidate?: string;
  readonly expectedFile: string;
  /** Undefined when the expected file is missing (only allowed with UPDATE_GOLDEN=1). */
  readonly expected?: GoldenExpectation;
}

export { repoRoot };

export function goldenDir(): string {
  return path.join(repoRoot(), 'test', 'golden', 'verifier');
}

/** The per-version corpus of dialect differences: `<version>/<verdict>/NAME.bt` (its README). */
export function dialectGoldenDir(): string {
  return path.join(repoRoot(), 'test', 'golden', 'verifier-dialects');
}

/** Recorded tracefs format files the golden programs' tracepoints are typed from. */
export { recordedFormatsDir };

/** Contracts over the recorded formats (synchronous, so the lints can read field types) and this host's BTF. */
export function goldenContracts(): ProbeContractProvider {
  return recordedContractProvider(recordedFormatsDir());
}

/**
 * Lint context of the golden runs: every probe type available (the corpus is about meaning, not
 * this kernel), no unsafe builtins, tracepoint field types from the recorded formats.
 */
export function goldenLintContext(contracts: ProbeContractProvider): LintContext {
  return {
    probes: ALL_PROBES_AVAILABLE,
    policy: { allowUnsafe: false },
    fields: {
      fieldType(category, event, field) {
        const fields = contracts.tracepointFields(category, event);
        if (fields === undefined || fields instanceof Promise) return undefined; // answers later: no types for lints
        const f = fields.find((x) => x.name === field);
        return f ? { type: f.cType, size: f.size, signed: f.signed } : undefined;
      },
    },
    members: hostMemberTypes(),
  };
}

/** The options every golden run uses (tests and bench alike). */
export function goldenVerifyOptions(c: GoldenCase, contracts: ProbeContractProvider, extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    fileName: `${c.name}.bt`,
    contracts,
    lintContext: goldenLintContext(contracts),
    ...(c.candidate !== undefined ? { candidate: c.candidate } : {}),
    ...extra,
  };
}

/** The solver's time per query in golden runs; a query that ran out of it is tried once more with {@link LOADED_TIMEOUT_MS}. */
export const GOLDEN_TIMEOUT_MS = 10_000;
const LOADED_TIMEOUT_MS = 60_000;

/**
 * Verifies a golden case. Golden expectations are about verdicts, not speed (`npm run bench --
 * verifier` measures that): when the solver ran out of time — CI runs a dozen test files beside
 * this one on two cores — the case is verified again with six times the time, so a loaded machine
 * cannot turn a decided case into `unknown`.
 */
export async function verifyGolden(source: string, options: VerifyOptions): Promise<VerifyReport> {
  const report = await verifyProgram(source, { timeoutMs: GOLDEN_TIMEOUT_MS, ...options });
  return ranOutOfTime(report) ? verifyProgram(source, { ...options, timeoutMs: LOADED_TIMEOUT_MS }) : report;
}

function ranOutOfTime(report: VerifyReport): boolean {
  return report.verdict === 'unknown' && /timed out|\((timeout|canceled)\)/.test(JSON.stringify(report));
}

/** Every golden case, sorted by id. Throws on a malformed expected file (a broken corpus must fail loudly). */
export function loadGoldenCases(dir: string = goldenDir()): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const category of readdirSync(dir, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    const catDir = path.join(dir, category.name);
    for (const f of readdirSync(catDir).sort()) {
      if (!f.endsWith('.bt') || f.endsWith('.candidate.bt')) continue;
      const name = f.slice(0, -'.bt'.length);
      const file = path.join(catDir, f);
      const expectedFile = path.join(catDir, `${name}.expected.json`);
      const candidateFile = path.join(catDir, `${name}.candidate.bt`);
      const expected = existsSync(expectedFile) ? parseExpectation(readFileSync(expectedFile, 'utf8'), expectedFile) : undefined;
      cases.push({
        id: `${category.name}/${name}`,
        category: category.name,
        name,
        file,
        source: readFileSync(file, 'utf8'),
        ...(existsSync(candidateFile) ? { candidate: readFileSync(candidateFile, 'utf8') } : {}),
        expectedFile,
        ...(expected ? { expected } : {}),
      });
    }
  }
  return cases.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Every case of the dialect corpus, sorted by id (`0.23/proved/NAME`). A version folder must be a
 * `major.minor` and each case's expectation must name it as its `dialect` and say what it differs
 * from: a corpus case that is silent about its version would be checked under 0.17.
 */
export function loadDialectGoldenCases(dir: string = dialectGoldenDir()): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const version = entry.name;
    if (!VERSION.test(version)) throw new Error(`${path.join(dir, version)}: a version folder is named major.minor (0.23)`);
    for (const c of loadGoldenCases(path.join(dir, version))) {
      const e = c.expected;
      if (e && e.dialect !== version) throw new Error(`${c.expectedFile}: "dialect" must be "${version}" (its folder), not ${JSON.stringify(e.dialect)}`);
      if (e && (e.differsFrom === undefined || e.differsFrom['0.17'] === undefined)) throw new Error(`${c.expectedFile}: "differsFrom" must give the verdict under "0.17"`);
      cases.push({ ...c, id: `${version}/${c.id}`, version });
    }
  }
  return cases.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

const VERSION = /^\d+\.\d+$/;
const PROGRAM_VERDICTS: readonly string[] = ['proved', 'proved-under-hints', 'refuted', 'unknown', 'unannotated', 'invalid'];
const ASSERTION_VERDICTS: readonly string[] = ['proved', 'refuted', 'unknown', 'trivial'];

function parseExpectation(text: string, file: string): GoldenExpectation {
  const bad = (why: string): never => {
    throw new Error(`${file}: ${why}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return bad(`not JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null) return bad('not an object');
  const o = v as Record<string, unknown>;
  if (typeof o.verdict !== 'string' || !PROGRAM_VERDICTS.includes(o.verdict)) bad(`bad verdict ${String(o.verdict)}`);
  if (o.assertions !== undefined) {
    if (!Array.isArray(o.assertions)) bad('assertions must be an array');
    for (const a of o.assertions as unknown[]) {
      const r = a as Record<string, unknown>;
      if (typeof r.line !== 'number') bad('assertion without a numeric line');
      if (typeof r.verdict !== 'string' || !ASSERTION_VERDICTS.includes(r.verdict)) bad(`bad assertion verdict ${String(r.verdict)}`);
      if (r.counterexample !== undefined) {
        const c = r.counterexample as Record<string, unknown>;
        if (!Array.isArray(c.inputs) || !Array.isArray(c.computed)) bad('counterexample needs inputs[] and computed[]');
      }
    }
  }
  if (o.diagnostics !== undefined && !Array.isArray(o.diagnostics)) bad('diagnostics must be an array');
  if (o.todo !== undefined && (typeof o.todo !== 'string' || o.todo === '')) bad('todo must be a non-empty string');
  if (o.dialect !== undefined && (typeof o.dialect !== 'string' || !VERSION.test(o.dialect))) bad(`dialect must be "major.minor", not ${JSON.stringify(o.dialect)}`);
  if (o.differsFrom !== undefined) {
    if (typeof o.differsFrom !== 'object' || o.differsFrom === null || Array.isArray(o.differsFrom)) bad('differsFrom must be an object of version -> verdict');
    for (const [v, verdict] of Object.entries(o.differsFrom as object)) {
      if (!VERSION.test(v)) bad(`differsFrom: "${v}" is not a major.minor version`);
      if (typeof verdict !== 'string' || !PROGRAM_VERDICTS.includes(verdict)) bad(`differsFrom: bad verdict ${String(verdict)} for ${v}`);
    }
  }
  if (o.fromSources !== undefined && (typeof o.fromSources !== 'string' || o.fromSources === '')) bad('fromSources must be a non-empty string');
  return { description: typeof o.description === 'string' ? o.description : '', ...(o as object) } as GoldenExpectation;
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

function findKey(record: Readonly<Record<string, string>>, name: string): string | undefined {
  if (name in record) return name;
  return Object.keys(record).find((k) => k.includes(name));
}

const MOD64 = 1n << 64n;

/** Parses `20480`, `-1`, `0x5000`, `"443"`; undefined for anything that is not an integer. */
export function parseIntegerText(s: string): bigint | undefined {
  const t = s.trim().replace(/^"|"$/g, '');
  const m = /^(-)?(0x[0-9a-f]+|\d+)$/i.exec(t);
  if (!m || m[2] === undefined) return undefined;
  const n = BigInt(m[2]);
  return m[1] ? -n : n;
}

function sameInteger(a: string, b: string): boolean {
  const x = parseIntegerText(a);
  const y = parseIntegerText(b);
  if (x === undefined || y === undefined) return a.trim() === b.trim();
  return ((x % MOD64) + MOD64) % MOD64 === ((y % MOD64) + MOD64) % MOD64;
}

/** Differences between a report and an expectation, one readable line each; [] when they agree. */
export function compareReport(report: VerifyReport, expected: GoldenExpectation): string[] {
  const out: string[] = [];
  if (report.verdict !== expected.verdict) out.push(`program verdict: expected ${expected.verdict}, got ${report.verdict}`);
  const hints = report.hints ?? [];
  for (const h of expected.hints ?? []) {
    if (!hints.some((r) => r.usedBy === h.usedBy && (h.hint === undefined || r.hint.includes(h.hint)))) out.push(`missing hint for the assume at line ${h.usedBy}${h.hint ? ` (${h.hint})` : ''}`);
  }
  for (const r of hints) {
    if (!(expected.hints ?? []).some((h) => r.usedBy === h.usedBy && (h.hint === undefined || r.hint.includes(h.hint)))) out.push(`unexpected hint for the assume at line ${r.usedBy}: ${r.hint} (${r.source})`);
  }

  if (expected.assertions) {
    const actual = [...report.assertions].sort((a, b) => a.line - b.line || a.column - b.column);
    if (actual.length !== expected.assertions.length) {
      out.push(
        `assertions: expected ${expected.assertions.length} (lines ${expected.assertions.map((a) => a.line).join(',')}), ` +
          `got ${actual.length} (lines ${actual.map((a) => a.line).join(',')})`,
      );
    }
    expected.assertions.forEach((e, i) => {
      const a = actual[i];
      if (!a) return;
      const where = `assertion at line ${e.line}`;
      if (a.line !== e.line) out.push(`${where}: reported at line ${a.line}`);
      if (a.verdict !== e.verdict) {
        out.push(`${where}: expected ${e.verdict}, got ${a.verdict}${a.reason ? ` (${a.reason})` : ''}${a.counterexample ? ` [${a.counterexample.summary}]` : ''}`);
      }
      if (e.reason && !(a.reason ?? '').includes(e.reason)) out.push(`${where}: reason ${JSON.stringify(a.reason)} lacks ${JSON.stringify(e.reason)}`);
      if (e.verdict === 'refuted' && a.verdict === 'refuted') {
        const cex = a.counterexample;
        if (!cex) {
          out.push(`${where}: refuted without a counterexample`);
          return;
        }
        const shape = e.counterexample;
        if (!shape) return;
        for (const name of shape.inputs) {
          if (findKey(cex.inputs, name) === undefined) out.push(`${where}: counterexample inputs lack ${name} (have ${Object.keys(cex.inputs).join(', ') || 'none'})`);
        }
        for (const name of shape.computed) {
          if (findKey(cex.computed, name) === undefined) out.push(`${where}: counterexample computed values lack ${name} (have ${Object.keys(cex.computed).join(', ') || 'none'})`);
        }
        for (const [name, want] of Object.entries(shape.values ?? {})) {
          const ik = findKey(cex.inputs, name);
          const ck = ik === undefined ? findKey(cex.computed, name) : undefined;
          const got = ik !== undefined ? cex.inputs[ik] : ck !== undefined ? cex.computed[ck] : undefined;
          if (got === undefined) out.push(`${where}: counterexample lacks a value for ${name}`);
          else if (!sameInteger(got, want)) out.push(`${where}: counterexample ${name} = ${got}, expected ${want}`);
        }
        if (!cex.summary) out.push(`${where}: counterexample without a summary line`);
      }
    });
  }

  const wanted = expected.diagnostics ?? [];
  const matches = (d: VerifyReport['diagnostics'][number], w: GoldenDiagnostic): boolean =>
    (w.code === undefined || d.code === w.code) &&
    (w.stage === undefined || d.stage === w.stage) &&
    (w.severity === undefined || d.severity === w.severity) &&
    (w.line === undefined || d.span?.line === w.line);
  for (const w of wanted) {
    if (!report.diagnostics.some((d) => matches(d, w))) {
      out.push(`missing diagnostic ${JSON.stringify(w)} (have ${report.diagnostics.map((d) => `${d.code}@${d.span?.line ?? '-'}`).join(', ') || 'none'})`);
    }
  }
  for (const d of report.diagnostics) {
    // `symbolic` errors restate refuted assertions, which are compared one by one above.
    if (d.severity === 'error' && d.stage !== 'symbolic' && !wanted.some((w) => matches(d, w))) {
      out.push(`unexpected error ${d.code} (${d.stage}) at line ${d.span?.line ?? '-'}: ${d.message}`);
    }
  }
  return out;
}

/**
 * The expectation that a report satisfies exactly, for `UPDATE_GOLDEN=1`. Counterexample shapes list
 * every input and computed name the report gave; hand-written `values` and `reason`s of the previous
 * expectation are kept where the report still agrees with them.
 */
export function expectationFromReport(report: VerifyReport, description: string, previous?: GoldenExpectation): GoldenExpectation {
  const assertions = [...report.assertions]
    .sort((a, b) => a.line - b.line || a.column - b.column)
    .map((a, i): GoldenAssertion => {
      const prev = previous?.assertions?.[i];
      const keep = prev && prev.line === a.line && prev.verdict === a.verdict ? prev : undefined;
      const cex = a.counterexample;
      const values = keepAgreeingValues(keep?.counterexample?.values, cex);
      return {
        line: a.line,
        verdict: a.verdict,
        ...(cex
          ? {
              counterexample: {
                inputs: Object.keys(cex.inputs),
                computed: Object.keys(cex.computed),
                ...(values ? { values } : {}),
              },
            }
          : {}),
        ...(keep?.reason ? { reason: keep.reason } : {}),
      };
    });
  const diagnostics = report.diagnostics
    .filter((d) => d.severity !== 'note')
    .map((d): GoldenDiagnostic => ({ code: d.code, stage: d.stage, severity: d.severity, ...(d.span ? { line: d.span.line } : {}) }));
  return {
    description,
    // The dialect corpus's fields are hand-written facts about other versions: kept as they are.
    ...(previous?.dialect !== undefined ? { dialect: previous.dialect } : {}),
    ...(previous?.differsFrom !== undefined ? { differsFrom: previous.differsFrom } : {}),
    ...(previous?.fromSources !== undefined ? { fromSources: previous.fromSources } : {}),
    verdict: report.verdict,
    ...(report.verdict === 'invalid' && assertions.length === 0 ? {} : { assertions }),
    ...(diagnostics.length ? { diagnostics } : {}),
    ...(report.hints?.length ? { hints: report.hints.map((h) => ({ usedBy: h.usedBy, hint: h.hint })) } : {}),
  };
}

/**
 * What `UPDATE_GOLDEN=1` writes: the report's expectation, except that a `todo` case (a known gap)
 * keeps its hand-written expectation, since the report is known to be wrong there.
 */
export function updatedExpectation(report: VerifyReport, previous: GoldenExpectation | undefined): GoldenExpectation {
  if (previous?.todo) return previous;
  return expectationFromReport(report, previous?.description ?? '', previous);
}

function keepAgreeingValues(
  values: Readonly<Record<string, string>> | undefined,
  cex: VerifyReport['assertions'][number]['counterexample'],
): Record<string, string> | undefined {
  if (!values || !cex) return undefined;
  const kept: Record<string, string> = {};
  for (const [name, want] of Object.entries(values)) {
    const ik = findKey(cex.inputs, name);
    const ck = ik === undefined ? findKey(cex.computed, name) : undefined;
    const got = ik !== undefined ? cex.inputs[ik] : ck !== undefined ? cex.computed[ck] : undefined;
    if (got !== undefined && sameInteger(got, want)) kept[name] = want;
  }
  return Object.keys(kept).length ? kept : undefined;
}

export function writeExpectation(file: string, e: GoldenExpectation): void {
  writeFileSync(file, `${JSON.stringify(e, null, 2)}\n`);
}

/** Nearest-rank percentile of already-sorted numbers (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
