/**
 * Which bpftrace versions each dataset example fits, computed the way `kgentctl verify --dialect V`
 * judges a program: under each dialect profile, the plain program must get through that version's
 * front-end (its syntax) and acceptance rules (what its compiler refuses), and the annotated
 * version must be `proved` by the verifier under that profile's semantics, with the plain program
 * as the candidate and this host's contracts. A version where either fails is recorded with why.
 *
 * Used by `record-versions.ts` (writes datasets/example-versions.json) and by the test that fails
 * when the recorded file disagrees with the verifier (test/datasets/example-versions.test.ts).
 */
import { verifyWithContracts } from '../../daemon/verification/verify-program.js';
import type { Diagnostic } from '../../daemon/protocol/diagnostic.js';
import { checkAcceptance } from '../../daemon/verifier/acceptance.js';
import type { ProbeContractProvider } from '../../daemon/verifier/contract-seam.js';
import { PROFILES, type Dialect } from '../../daemon/verifier/dialect/index.js';
import { parse } from '../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE } from '../../daemon/verifier/lints/index.js';
import type { Example } from '../load.js';
import type { ExampleVersionRecord, VersionsFile } from '../versions.js';

/** Per query: far above what any example needs on an idle machine (under 2 s), so load never decides a fit. */
const SOLVER_TIMEOUT_MS = 60_000;

/** The outcome of one example under one profile: fits, or the first reason it does not. */
export type Fit = { readonly fits: true } | { readonly fits: false; readonly why: string };

function firstError(diags: readonly Diagnostic[]): Diagnostic | undefined {
  return diags.find((d) => d.severity === 'error');
}

/** Where in the program (its body: the header comment is not counted) a diagnostic points. */
function where(d: Diagnostic, which: 'program' | 'annotated program'): string {
  return d.span ? `${which} line ${d.span.line}: ` : '';
}

/** Whether `e` fits `dialect` (see the module comment). */
export async function exampleFit(e: Pick<Example, 'program' | 'annotated' | 'file'>, dialect: Dialect, contracts: ProbeContractProvider): Promise<Fit> {
  const parsed = parse(e.program, e.file, { dialect });
  const syntax = firstError(parsed.diagnostics);
  if (syntax || !parsed.program) return { fits: false, why: syntax ? `${where(syntax, 'program')}${syntax.message}` : 'does not parse' };
  const refused = firstError(checkAcceptance(parsed.program, dialect));
  if (refused) return { fits: false, why: `${where(refused, 'program')}${refused.message}` };
  const report = await verifyWithContracts(e.annotated, { contracts, probes: ALL_PROBES_AVAILABLE, candidate: e.program, dialect, timeoutMs: SOLVER_TIMEOUT_MS });
  if (report.verdict === 'proved') return { fits: true };
  // A solver that ran out of time says nothing about the version: recording it would make the
  // record depend on the machine's load. Fail loudly instead (raise the limit or simplify the example).
  const timedOut = report.assertions.find((a) => a.reason?.includes('timed out')) ?? report.coverage.find((c) => c.reason?.includes('timed out'));
  if (timedOut) throw new Error(`${e.file}: the solver timed out under bpftrace ${dialect.version}'s rules after ${SOLVER_TIMEOUT_MS} ms (line ${timedOut.line}): no fit is recorded from a timeout`);
  const err = firstError(report.diagnostics);
  const open = report.assertions.find((a) => a.verdict !== 'proved' && a.verdict !== 'trivial');
  const cover = report.coverage.find((c) => c.verdict !== 'proved');
  const detail = err
    ? `${where(err, 'annotated program')}${err.message}`
    : open
      ? `annotated program line ${open.line}: assert(${open.text}) is ${open.verdict}${open.reason ? ` (${open.reason})` : ''}`
      : cover
        ? `annotated program line ${cover.line}: ${cover.text} is ${cover.verdict}${cover.reason ? ` (${cover.reason})` : ''}`
        : `verdict ${report.verdict}`;
  return { fits: false, why: `the annotated version is not proved under bpftrace ${dialect.version}'s rules: ${detail}` };
}

/** The record of one example: the versions it fits, and each run of versions it does not with why. */
export function recordOf(fits: ReadonlyMap<string, Fit>): ExampleVersionRecord {
  const versions: string[] = [];
  const notFit: { versions: string[]; why: string }[] = [];
  for (const p of PROFILES) {
    const f = fits.get(p.version);
    if (!f) continue;
    if (f.fits) {
      versions.push(p.version);
      continue;
    }
    const last = notFit[notFit.length - 1];
    // Consecutive versions that fail for the same reason share one entry.
    if (last && last.why === f.why.replaceAll(p.version, '{V}') && last.versions[last.versions.length - 1] === previous(p.version)) last.versions.push(p.version);
    else notFit.push({ versions: [p.version], why: f.why.replaceAll(p.version, '{V}') });
  }
  return { versions, ...(notFit.length ? { notFit: notFit.map((n) => ({ versions: n.versions, why: n.why.replaceAll('{V}', n.versions.length === 1 ? (n.versions[0] as string) : 'V') })) } : {}) };
}

function previous(version: string): string | undefined {
  const i = PROFILES.findIndex((p) => p.version === version);
  return i > 0 ? PROFILES[i - 1]?.version : undefined;
}

/** Every example's record, in the file's shape (examples sorted by id). */
export async function computeVersions(examples: readonly Example[], contracts: ProbeContractProvider, onExample?: (id: string) => void): Promise<VersionsFile> {
  const out: Record<string, ExampleVersionRecord> = {};
  for (const e of [...examples].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const fits = new Map<string, Fit>();
    for (const p of PROFILES) fits.set(p.version, await exampleFit(e, p, contracts));
    out[e.id] = recordOf(fits);
    onExample?.(e.id);
  }
  return {
    about: 'Which bpftrace dialect profiles each example fits (plain program accepted, annotated version proved). Generated: npm run build && node dist/datasets/tools/record-versions.js. Do not edit by hand.',
    profiles: PROFILES.map((p) => p.version),
    examples: out,
  };
}
