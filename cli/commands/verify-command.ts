/**
 * `kgentctl verify FILE.bt [--json] [--timeout-ms N] [--formats DIR] [--local]`: runs the symbolic
 * verifier on an annotated bpftrace program.
 *
 * Where: kgentd when it is reachable (the running kernel's contracts, a warm solver); otherwise
 * in this process through the offline entry point (`daemon/offline/`, loaded only then) with this
 * host's BTF and tracefs. `--formats DIR` and `--local` always verify locally. The report says
 * which contracts it used (`contracts: ...` line; `contracts` in --json).
 *
 * Exit status: 0 proved, 1 refuted, 3 unknown or unannotated, 4 invalid (syntax error or a guard
 * failed), 2 usage error (bad flag, missing or unreadable file). Without `--json` the report reads
 * like a compiler's (`FILE:LINE:COL: refuted: assert(...); counterexample: ...`) and ends with a
 * verdict line; with `--json` it is one JSON object on stdout.
 */
import path from 'node:path';
import {
  ErrorCodes,
  formatDiagnostic,
  VerifyProgram,
  type AssertionResult,
  type ContractsUsed,
  type ProgramVerdict,
  type VerifyProgramResult,
  type VerifyReport,
} from '../../daemon/protocol/index.js';
import type { OfflineVerifyOptions } from '../../daemon/offline/index.js';
import { KgentClient, RpcError } from '../client.js';
import { CliError, ExitCode } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { readProgramFile } from '../program-file.js';

/** Exit status per program verdict (2 is reserved for usage errors). */
export const VERIFY_EXIT: Readonly<Record<ProgramVerdict, number>> = {
  proved: 0,
  // Verified (it may be approved), labelled: the verdict line and the hints say what it rests on.
  'proved-under-hints': 0,
  refuted: 1,
  unknown: 3,
  unannotated: 3,
  invalid: 4,
};

/** Exit status of a usage error: bad flag, missing argument, missing or unreadable file. */
export const EXIT_USAGE = 2;

export const VERIFY_USAGE = `usage: kgentctl verify FILE.bt [--json] [--timeout-ms N] [--formats DIR] [--local] [--dialect VERSION]

Checks the assume()/assert() annotations of a bpftrace program with the symbolic verifier.
Asks kgentd (the running kernel's contracts) when it is reachable; otherwise verifies here with
this host's BTF and tracefs. The report says which it used.
  --json           print one JSON object: {verdict, assertions, diagnostics, hints, timings, contracts}
  --timeout-ms N   solver time limit per assertion, in milliseconds (positive integer)
  --formats DIR    read tracepoint formats from DIR/<category>/<event>/format instead of tracefs (local)
  --local          verify in this process, without asking kgentd
  --dialect V      verify for another host's bpftrace, e.g. --dialect 0.23 (default: the bpftrace
                   kgentd runs, or this host's; the report names the dialect)
A program whose assume() is backed not by a kernel guarantee but by a hint (a tracepoint's
print table, a documented range such as MAX_ERRNO) is "proved-under-hints": verified, and the
report lists each hint with its source and the line of the assume it backs.
exit status: 0 proved or proved-under-hints (the verdict line says which), 1 refuted,
3 unknown or unannotated, 4 invalid, 2 usage error
`;

interface VerifyArgs {
  readonly file: string;
  readonly json: boolean;
  readonly timeoutMs?: number;
  readonly formatsDir?: string;
  readonly local: boolean;
  readonly dialect?: string;
}

type ParsedArgs = { readonly ok: true; readonly args: VerifyArgs } | { readonly ok: false; readonly help?: true; readonly error?: string };

function parseArgs(argv: readonly string[]): ParsedArgs {
  let file: string | undefined;
  let json = false;
  let timeoutMs: number | undefined;
  let formatsDir: string | undefined;
  let local = false;
  let dialect: string | undefined;
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
    } else if (flag === '--local') {
      if (inline !== undefined) return { ok: false, error: `--local takes no value (got "${arg}")` };
      local = true;
    } else if (flag === '--timeout-ms') {
      const v = value();
      if (v === undefined) return { ok: false, error: '--timeout-ms needs a value: a number of milliseconds, e.g. --timeout-ms 2000' };
      if (!/^\d+$/.test(v) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) {
        return { ok: false, error: `--timeout-ms must be a positive integer number of milliseconds, got "${v}"` };
      }
      timeoutMs = Number(v);
    } else if (flag === '--dialect') {
      const v = value();
      if (v === undefined || !/^v?\d+\.\d+(\.\d+)?$/.test(v)) return { ok: false, error: `--dialect needs a bpftrace version such as 0.23 or 0.27.1${v === undefined ? '' : `, got "${v}"`}` };
      dialect = v;
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
  return { ok: true, args: { file, json, local, ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(formatsDir !== undefined ? { formatsDir } : {}), ...(dialect !== undefined ? { dialect } : {}) } };
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
  'proved-under-hints': 'every assertion holds on every path, if the hints listed above hold (they are not kernel guarantees)',
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
  for (const h of report.hints ?? []) lines.push(`${fileName}:${h.usedBy}: hint: ${h.hint} (source: ${h.source})`);
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

/** The `--json` object: the report's keys, with `counterexample` always present (null unless refuted), and the contracts used. */
export function verifyReportJson(report: VerifyReport, fileName: string, contracts?: ContractsUsed): Record<string, unknown> {
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
    hints: report.hints ?? [],
    timings: report.timings,
    ...(contracts ? { contracts } : {}),
  };
}

/** How `kgentctl verify` reaches a verifier; tests replace parts of it. */
export interface VerifyCommandOptions {
  /** kgentd's socket; without it (or with `--local`/`--formats`) verification is local. */
  readonly socketPath?: string;
  /** Options for the local verifier (tests pass recorded contracts and probe support). */
  readonly offline?: Pick<OfflineVerifyOptions, 'contracts' | 'probes' | 'host'>;
}

/** Verification through the call time limit: many solver queries of `--timeout-ms` each. */
const VERIFY_CALL_TIMEOUT_MS = 5 * 60_000;

/** Asks kgentd; undefined (with why) when it is not reachable or does not serve verification. */
async function viaDaemon(
  socketPath: string,
  params: { source: string; fileName: string; timeoutMs?: number; dialect?: string },
): Promise<{ ok: true; result: VerifyProgramResult } | { ok: false; why: string }> {
  let client: KgentClient;
  try {
    client = await KgentClient.connect(socketPath, 2000);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.Unreachable) return { ok: false, why: 'kgentd not reachable' };
    throw err;
  }
  try {
    return { ok: true, result: await client.call(VerifyProgram, params, { timeoutMs: VERIFY_CALL_TIMEOUT_MS }) };
  } catch (err) {
    if (err instanceof RpcError && err.code === ErrorCodes.MethodNotFound) return { ok: false, why: 'this kgentd does not serve verify.program' };
    throw err;
  } finally {
    client.close();
  }
}

/**
 * Runs `kgentctl verify` with `argv` (the arguments after `verify`) and returns the exit status.
 * Never throws for a bad invocation or an unreadable file: those print one line on stderr and give 2.
 */
export async function verifyCommand(argv: string[], io: CliIO, opts: VerifyCommandOptions = {}): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    if (parsed.help) {
      io.stdout.write(VERIFY_USAGE);
      return 0;
    }
    io.stderr.write(`kgentctl verify: ${parsed.error}; run "kgentctl verify --help" for usage\n`);
    return EXIT_USAGE;
  }
  const { file, json, timeoutMs, formatsDir, local, dialect } = parsed.args;
  const read = await readProgramFile(file);
  if (!read.ok) {
    io.stderr.write(`kgentctl verify: ${read.message}\n`);
    return EXIT_USAGE;
  }
  const source = read.source;
  let result: VerifyProgramResult;
  let note = '';
  try {
    const asked =
      local || formatsDir !== undefined || opts.offline?.contracts !== undefined || opts.socketPath === undefined
        ? undefined
        : await viaDaemon(opts.socketPath, { source, fileName: file, ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(dialect !== undefined ? { dialect } : {}) });
    if (asked?.ok) result = asked.result;
    else {
      if (asked) note = ` (${asked.why})`;
      // Loaded only here: Z3, the verifier and kernel-contracts stay out of every other command.
      const { verifyOffline } = await import('../../daemon/offline/index.js');
      result = await verifyOffline(source, {
        fileName: file,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(formatsDir !== undefined ? { formatsDir: path.resolve(formatsDir) } : {}),
        ...(dialect !== undefined ? { dialect } : {}),
        ...opts.offline,
      });
    }
  } catch (err) {
    // The verifier reports problems in the program as diagnostics; reaching here is an operational
    // failure (solver could not start, kgentd failed ...). Nothing was decided, so the status is "unknown".
    const msg = err instanceof Error ? err.message : String(err);
    if ((err as { code?: unknown } | null)?.code === 'bad-request') {
      // A request kgent refuses as asked (an unknown --dialect): the user's to fix, not a bug.
      io.stderr.write(`kgentctl verify: ${msg}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`kgentctl verify: verification of ${file} failed: ${msg}; nothing was verified (report this with the file)\n`);
    return VERIFY_EXIT.unknown;
  }
  const { report } = result;
  const contracts: ContractsUsed = note ? { ...result.contracts, description: `${result.contracts.description}${note}` } : result.contracts;
  if (json) io.stdout.write(`${JSON.stringify({ ...verifyReportJson(report, file, contracts), ...(result.dialect ? { dialect: result.dialect } : {}) }, null, 2)}\n`);
  else io.stdout.write(`contracts: ${contracts.description}\n${result.dialect ? `dialect: bpftrace ${result.dialect}\n` : ''}${renderVerifyReport(report, file, source)}`);
  return VERIFY_EXIT[report.verdict];
}
