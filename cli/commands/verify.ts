/**
 * `kgentctl verify FILE.bt [--json] [--timeout-ms N] [--formats DIR]`: runs the symbolic verifier
 * on an annotated bpftrace program, locally, without the daemon.
 *
 * Exit status: 0 proved, 1 refuted, 3 unknown or unannotated, 4 invalid (syntax error or a guard
 * failed), 2 usage error (bad flag, missing or unreadable file). Without `--json` the report reads
 * like a compiler's (`FILE:LINE:COL: refuted: assert(...); counterexample: ...`) and ends with a
 * verdict line; with `--json` it is one JSON object on stdout.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport } from '../../kernel-contracts/kernel-reader/probe-support.js';
import { formatDiagnostic } from '../../daemon/protocol/diagnostic.js';
import { recordedContractProvider, tracefsContractProvider, type ProbeContractProvider } from '../../daemon/verifier/contracts.js';
import { collect, parse, type Program } from '../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, runLints, type FieldTypeInfo, type LintContext, type ProbeSupport } from '../../daemon/verifier/lints/index.js';
import type { AssertionResult, ProgramVerdict, VerifyReport } from '../../daemon/verifier/report.js';
import { verifyProgram } from '../../daemon/verifier/verify.js';
import type { CliIO } from '../io.js';

/** Exit status per program verdict (2 is reserved for usage errors). */
export const VERIFY_EXIT: Readonly<Record<ProgramVerdict, number>> = {
  proved: 0,
  refuted: 1,
  unknown: 3,
  unannotated: 3,
  invalid: 4,
};

/** Exit status of a usage error: bad flag, missing argument, missing or unreadable file. */
export const EXIT_USAGE = 2;

export const VERIFY_USAGE = `usage: kgentctl verify FILE.bt [--json] [--timeout-ms N] [--formats DIR]

Checks the assume()/assert() annotations of a bpftrace program with the symbolic verifier (no daemon needed).
  --json           print one JSON object: {verdict, assertions, diagnostics, timings}
  --timeout-ms N   solver time limit per assertion, in milliseconds (positive integer)
  --formats DIR    read tracepoint formats from DIR/<category>/<event>/format instead of the running kernel's tracefs
exit status: 0 proved, 1 refuted, 3 unknown or unannotated, 4 invalid, 2 usage error
`;

interface VerifyArgs {
  readonly file: string;
  readonly json: boolean;
  readonly timeoutMs?: number;
  readonly formatsDir?: string;
}

type ParsedArgs = { readonly ok: true; readonly args: VerifyArgs } | { readonly ok: false; readonly help?: true; readonly error?: string };

function parseArgs(argv: readonly string[]): ParsedArgs {
  let file: string | undefined;
  let json = false;
  let timeoutMs: number | undefined;
  let formatsDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    if (flag === '-h' || flag === '--help') return { ok: false, help: true };
    if (flag === '--json') {
      if (inline !== undefined) return { ok: false, error: `--json takes no value (got "${arg}")` };
      json = true;
    } else if (flag === '--timeout-ms') {
      const v = value();
      if (v === undefined) return { ok: false, error: '--timeout-ms needs a value: a number of milliseconds, e.g. --timeout-ms 2000' };
      if (!/^\d+$/.test(v) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) {
        return { ok: false, error: `--timeout-ms must be a positive integer number of milliseconds, got "${v}"` };
      }
      timeoutMs = Number(v);
    } else if (flag === '--formats') {
      const v = value();
      if (v === undefined || v === '') return { ok: false, error: '--formats needs a directory laid out like tracefs events/ (<category>/<event>/format)' };
      formatsDir = v;
    } else if (arg.startsWith('-') && arg !== '-') {
      return { ok: false, error: `unknown option "${arg}"` };
    } else if (file === undefined) {
      file = arg;
    } else {
      return { ok: false, error: `one program file at a time: got "${file}" and "${arg}"` };
    }
  }
  if (file === undefined) return { ok: false, error: 'missing the program file to verify' };
  return { ok: true, args: { file, json, ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(formatsDir !== undefined ? { formatsDir } : {}) } };
}

function readError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : (err as Error | undefined)?.message ?? String(err);
  const todo = code === 'EACCES' || code === 'EPERM' ? 'check its permissions or run as a user who can read it' : 'give the path of a bpftrace (.bt) file';
  return `kgentctl verify: cannot read ${file}: ${why}${code ? ` (${code})` : ''}; ${todo}`;
}

function assertionLine(file: string, a: AssertionResult): string {
  const head = `${file}:${a.line}:${a.column}: ${a.verdict}: assert(${a.text})`;
  switch (a.verdict) {
    case 'refuted':
      return a.counterexample ? `${head}; counterexample: ${a.counterexample.summary}` : head;
    case 'unknown':
      return `${head}; ${a.reason ?? 'the solver could not decide'}`;
    case 'trivial':
      return `${head}; ${a.reason ?? 'holds whatever the program computes, so it proves nothing'}`;
    default:
      return head;
  }
}

const VERDICT_TEXT: Readonly<Record<ProgramVerdict, string>> = {
  proved: 'every assertion holds on every path',
  refuted: 'at least one assertion fails; see the counterexample',
  unknown: 'not verified: at least one assertion could not be decided',
  unannotated: 'not verified: the program has no non-trivial assertion',
  invalid: 'not verified: the program or its annotations are invalid (see the errors above)',
};

/** The human report: diagnostics, one line per assertion, then the verdict line. */
export function renderVerifyReport(report: VerifyReport, fileName: string, source: string): string {
  const lines: string[] = [];
  // The verifier also reports refuted/unknown/trivial assertions as `symbolic` diagnostics at the
  // assertion's position; the per-assertion lines below say the same, so those are not repeated.
  const at = new Set(report.assertions.map((a) => `${a.line}:${a.column}`));
  for (const d of report.diagnostics) {
    if (d.stage === 'symbolic' && d.span && at.has(`${d.span.line}:${d.span.column}`)) continue;
    lines.push(formatDiagnostic(d, fileName, source));
  }
  for (const a of [...report.assertions].sort((x, y) => x.line - y.line || x.column - y.column)) lines.push(assertionLine(fileName, a));
  const tally = new Map<string, number>();
  for (const a of report.assertions) tally.set(a.verdict, (tally.get(a.verdict) ?? 0) + 1);
  const counts = [...tally].map(([v, n]) => `${n} ${v}`).join(', ');
  const n = report.assertions.length;
  lines.push(
    `${fileName}: ${report.verdict}: ${VERDICT_TEXT[report.verdict]} ` +
      `(${n} assertion${n === 1 ? '' : 's'}${counts ? `: ${counts}` : ''}; ${Math.round(report.timings.totalMs)} ms)`,
  );
  return `${lines.join('\n')}\n`;
}

/** The `--json` object: the report's keys, with `counterexample` always present (null unless refuted). */
export function verifyReportJson(report: VerifyReport, fileName: string): Record<string, unknown> {
  return {
    file: fileName,
    verdict: report.verdict,
    assertions: report.assertions.map((a) => ({
      line: a.line,
      column: a.column,
      verdict: a.verdict,
      text: a.text,
      probe: a.probe,
      counterexample: a.counterexample ?? null,
      ...(a.reason !== undefined ? { reason: a.reason } : {}),
    })),
    diagnostics: report.diagnostics,
    timings: report.timings,
  };
}

/** Which probe types this host offers, for the probe-availability lint; everything when it cannot be read. */
async function hostProbeSupport(): Promise<ProbeSupport> {
  try {
    return await detectProbeSupport(realHost(), { functionNames: false });
  } catch {
    return ALL_PROBES_AVAILABLE;
  }
}

/**
 * The lints' context: probe support, no unsafe builtins, and the field types of every tracepoint
 * the program attaches to, read ahead through the contracts (lints ask synchronously).
 */
async function buildLintContext(source: string, contracts: ProbeContractProvider, probes: ProbeSupport): Promise<LintContext> {
  const types = new Map<string, Map<string, FieldTypeInfo>>();
  const program: Program | undefined = parse(source).program;
  for (const ap of program ? collect(program, 'AttachPoint') : []) {
    const [category, event] = ap.target;
    if (ap.provider !== 'tracepoint' || ap.wildcard || category === undefined || event === undefined) continue;
    const key = `${category}:${event}`;
    if (types.has(key)) continue;
    const fields = await contracts.tracepointFields(category, event);
    types.set(key, new Map((fields ?? []).map((f) => [f.name, { type: f.cType, size: f.size, signed: f.signed }])));
  }
  return {
    probes,
    policy: { allowUnsafe: false },
    fields: { fieldType: (category, event, field) => types.get(`${category}:${event}`)?.get(field) },
  };
}

/**
 * Runs `kgentctl verify` with `argv` (the arguments after `verify`) and returns the exit status.
 * Never throws for a bad invocation or an unreadable file: those print one line on stderr and give 2.
 * `opts.contracts` overrides where tracepoint types come from (default: the running kernel's
 * tracefs, or `--formats DIR`); `opts.probes` overrides the probe support the lints check against
 * (default: detected on this host, or every type with `--formats`).
 */
export async function verifyCommand(
  argv: string[],
  io: CliIO,
  opts: { contracts?: ProbeContractProvider; probes?: ProbeSupport } = {},
): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    if (parsed.help) {
      io.stdout.write(VERIFY_USAGE);
      return 0;
    }
    io.stderr.write(`kgentctl verify: ${parsed.error}; run "kgentctl verify --help" for usage\n`);
    return EXIT_USAGE;
  }
  const { file, json, timeoutMs, formatsDir } = parsed.args;
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    io.stderr.write(`${readError(file, err)}\n`);
    return EXIT_USAGE;
  }
  const live = opts.contracts === undefined && formatsDir === undefined;
  const contracts = opts.contracts ?? (formatsDir !== undefined ? recordedContractProvider(path.resolve(formatsDir)) : tracefsContractProvider(realHost()));
  let report: VerifyReport;
  try {
    const lintContext = await buildLintContext(source, contracts, opts.probes ?? (live ? await hostProbeSupport() : ALL_PROBES_AVAILABLE));
    report = await verifyProgram(source, {
      fileName: file,
      contracts,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      lintContext,
      runLints: (program, ctx) => runLints(program, ctx as LintContext),
    });
  } catch (err) {
    // The verifier reports problems in the program as diagnostics; reaching here is an operational
    // failure (solver could not start ...). Nothing was decided, so the status is "unknown".
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(`kgentctl verify: verification of ${file} failed: ${msg}; nothing was verified (report this with the file)\n`);
    return VERIFY_EXIT.unknown;
  }
  if (json) io.stdout.write(`${JSON.stringify(verifyReportJson(report, file), null, 2)}\n`);
  else io.stdout.write(renderVerifyReport(report, file, source));
  return VERIFY_EXIT[report.verdict];
}

// Standalone harness: `node dist/cli/commands/verify.js FILE.bt [...]` works before (and besides)
// the kgentctl dispatcher.
const invokedAs = process.argv[1];
if (invokedAs !== undefined && import.meta.url === pathToFileURL(path.resolve(invokedAs)).href) {
  verifyCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`kgentctl verify: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
