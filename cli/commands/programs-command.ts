/** kgentctl run / check / list / show / approve / stop / logs. */
import path from 'node:path';
import {
  formatDiagnostic,
  ProgramLog,
  ProgramLogEnd,
  ProgramsApprove,
  type ProgramVerification,
  ProgramsCheck,
  ProgramsList,
  ProgramsLogs,
  ProgramsRun,
  ProgramsShow,
  ProgramsStop,
  type LogEntry,
  type Diagnostic,
  type ProgramInfo,
} from '../../daemon/protocol/index.js';
import { LONG_CALL_TIMEOUT_MS, type KgentClient } from '../client.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { printJson, table, type CliIO } from '../io.js';
import { readProgramFile } from '../program-file.js';
import { formatEntry } from '../text-format.js';

export interface CommandContext {
  readonly io: CliIO;
  readonly json: boolean;
  readonly connect: () => Promise<KgentClient>;
  /** The environment kgentctl runs in (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** `alice (uid 1001)`: a stored name with its uid (kgentd records both from the kernel). */
export function who(name: string, uid: number | undefined): string {
  return uid === undefined ? name : `${name} (uid ${uid})`;
}

export function parseId(value: string | undefined, command: string): number {
  if (value === undefined) throw new CliError(ExitCode.Usage, `kgentctl ${command}: missing program ID (see kgentctl list)`);
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 1) throw new CliError(ExitCode.Usage, `kgentctl ${command}: "${value}" is not a program ID`);
  return id;
}

async function readProgram(file: string | undefined, command: string): Promise<string> {
  if (!file) throw new CliError(ExitCode.Usage, `kgentctl ${command}: missing FILE.bt`);
  const r = await readProgramFile(file);
  if (!r.ok) throw new CliError(ExitCode.Usage, `kgentctl ${command}: ${r.message}`);
  return r.source;
}

function renderDiagnostics(io: CliIO, diags: readonly Diagnostic[], file: string, source: string): void {
  for (const d of diags) io.stderr.write(`${formatDiagnostic(d, file, source)}\n`);
}

export async function runCommand(ctx: CommandContext, args: { file?: string; name?: string; approve: boolean }): Promise<number> {
  const source = await readProgram(args.file, 'run');
  const client = await ctx.connect();
  try {
    const res = await client.call(ProgramsRun, {
      source,
      name: args.name ?? path.basename(args.file!),
      approve: args.approve,
    }, { timeoutMs: LONG_CALL_TIMEOUT_MS });
    if (ctx.json) printJson(ctx.io, res);
    else {
      renderDiagnostics(ctx.io, res.check.diagnostics, args.file!, source);
      const p = res.program;
      if (!res.check.ok) {
        ctx.io.stderr.write(`kgentctl run: program ${p.id} rejected by the kernel check; nothing was attached\n`);
      } else if (p.status === 'running') {
        ctx.io.stdout.write(`program ${p.id} running (pid ${p.pid}), ${p.probes.length} attach point(s); follow it: kgentctl logs ${p.id} -f\n`);
      } else if (p.status === 'pending-approval') {
        ctx.io.stdout.write(`program ${p.id} passed the kernel check and waits for approval: kgentctl approve ${p.id}\n`);
      } else {
        ctx.io.stderr.write(`kgentctl run: program ${p.id} is ${p.status}${p.lastError ? `: ${lastLine(p.lastError)}` : ''}\n`);
      }
    }
    const ok = res.check.ok && (res.program.status === 'running' || res.program.status === 'exited' || res.program.status === 'pending-approval');
    return ok ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    client.close();
  }
}

export async function checkCommand(ctx: CommandContext, file: string | undefined): Promise<number> {
  const source = await readProgram(file, 'check');
  const client = await ctx.connect();
  try {
    const res = await client.call(ProgramsCheck, { source }, { timeoutMs: LONG_CALL_TIMEOUT_MS });
    if (ctx.json) printJson(ctx.io, res);
    else {
      renderDiagnostics(ctx.io, res.diagnostics, file!, source);
      ctx.io.stdout.write(
        res.ok
          ? `${file}: accepted by the kernel's eBPF verifier (${Math.round(res.durationMs)} ms; ${res.method}); nothing left attached\n`
          : `${file}: rejected (${res.method})\n`,
      );
    }
    return res.ok ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    client.close();
  }
}

/** `stopped (owner revoked)`: the status, and why when the submitter lost their rights. */
function statusText(p: ProgramInfo): string {
  return p.ownerRevoked ? `${p.status} (owner revoked)` : p.status;
}

export async function listCommand(ctx: CommandContext, all: boolean): Promise<number> {
  const client = await ctx.connect();
  try {
    const { programs } = await client.call(ProgramsList, { all });
    if (ctx.json) printJson(ctx.io, { programs });
    else if (programs.length === 0) ctx.io.stdout.write('no programs; start one with kgentctl run FILE.bt\n');
    else {
      const rows = [['ID', 'STATUS', 'PID', 'RESTARTS', 'SUBMITTED BY', 'NAME']];
      for (const p of programs) {
        rows.push([String(p.id), statusText(p), p.pid ? String(p.pid) : '-', String(p.restarts), who(p.submittedBy, p.submittedUid), p.name]);
      }
      ctx.io.stdout.write(`${table(rows)}\n`);
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

export async function showCommand(ctx: CommandContext, id: number): Promise<number> {
  const client = await ctx.connect();
  try {
    const res = await client.call(ProgramsShow, { id });
    if (ctx.json) {
      printJson(ctx.io, res);
      return ExitCode.Ok;
    }
    const p = res.program;
    const lines = [
      `program ${p.id}: ${p.name}`,
      `  status:       ${statusText(p)}${p.ownerRevokedAt ? ` since ${p.ownerRevokedAt}` : ''}${p.pid ? ` (pid ${p.pid})` : ''}${p.exitCode !== undefined ? `, last exit ${p.exitCode}` : ''}${p.exitSignal ? `, signal ${p.exitSignal}` : ''}`,
      `  submitted:    ${p.submittedAt} by ${who(p.submittedBy, p.submittedUid)}`,
      `  approved:     ${p.approvedBy ? `${p.approvedAt} by ${who(p.approvedBy, p.approvedUid)}` : 'no'}`,
      `  attach points: ${p.probes.join(', ')}`,
      ...verificationLines(p.verification, p.approvedBy ? 'approved under these hints' : 'approving it accepts these hints'),
      `  restarts:     ${p.restarts}`,
      `  log:          ${p.logPath}`,
      ...(p.lastError ? [`  last error:   ${p.lastError.split('\n').join('\n                ')}`] : []),
      ...(p.droppedOutputLines ? [`  dropped:      ${p.droppedOutputLines} output lines over the rate limit (runner.maxLinesPerSecond)`] : []),
      '',
      '  source:',
      ...res.source.trimEnd().split('\n').map((l) => `    ${l}`),
      '',
      '  runs:',
      ...res.runs.map(
        (r) => `    #${r.id} ${r.startedAt} -> ${r.endedAt ?? 'running'}${r.pid ? ` pid ${r.pid}` : ''}${r.reason ? ` (${r.reason}${r.exitCode !== undefined ? `, exit ${r.exitCode}` : ''}${r.exitSignal ? `, ${r.exitSignal}` : ''})` : ''}`,
      ),
      '',
      '  audit:',
      ...res.audit.map((a) => `    ${a.at} ${a.action} by ${who(a.actor, a.actorUid)}${a.detail ? `: ${a.detail}` : ''}`),
    ];
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

/**
 * How a request's program was verified, for `show` and `approve`: the verdict, and for a proof
 * under hints each hint with its source (facts the kernel does not guarantee, which the approver
 * accepts).
 */
export function verificationLines(v: ProgramVerification | undefined, accepting: string): string[] {
  if (!v) return [];
  const lines = [`  verified:     ${v.verdict} (request R${v.requestId}${v.dialect ? `, bpftrace ${v.dialect} rules` : ''})`];
  if (v.hints.length > 0) {
    lines.push(`  hints:        ${accepting} (not kernel guarantees):`);
    for (const h of v.hints) lines.push(`    - ${h.hint} [assume at line ${h.usedBy}]; source: ${h.source}`);
  }
  return lines;
}

export async function approveCommand(ctx: CommandContext, id: number): Promise<number> {
  const client = await ctx.connect();
  try {
    const { program } = await client.call(ProgramsApprove, { id });
    if (ctx.json) printJson(ctx.io, { program });
    else ctx.io.stdout.write(`${[...verificationLines(program.verification, 'you approved it under these hints'), `program ${program.id} approved and ${program.status}`].join('\n')}\n`);
    return program.status === 'running' || program.status === 'exited' ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    client.close();
  }
}

export async function stopCommand(ctx: CommandContext, id: number): Promise<number> {
  const client = await ctx.connect();
  try {
    const { program } = await client.call(ProgramsStop, { id });
    if (ctx.json) printJson(ctx.io, { program });
    else ctx.io.stdout.write(`program ${program.id} ${program.status}\n`);
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

export async function logsCommand(ctx: CommandContext, id: number, follow: boolean, tail: number): Promise<number> {
  const client = await ctx.connect();
  const print = (e: LogEntry): void => {
    ctx.io.stdout.write(ctx.json ? `${JSON.stringify(e)}\n` : `${formatEntry(e)}\n`);
  };
  let ended: (reason: string) => void = () => undefined;
  const done = new Promise<string>((resolve) => (ended = resolve));
  client.onNotification(ProgramLog, (n) => {
    if (n.id === id) print(n.entry);
  });
  client.onNotification(ProgramLogEnd, (n) => {
    if (n.id === id) ended(n.reason);
  });
  try {
    const res = await client.call(ProgramsLogs, { id, tail, follow });
    for (const e of res.entries) print(e);
    if (follow && res.following) {
      const stopOnSignal = new Promise<string>((resolve) => process.once('SIGINT', () => resolve('interrupted')));
      // A connection that drops or a reply that makes no sense ends the follow with its error.
      const lost = client.whenClosed().then((err) => Promise.reject(err));
      const reason = await Promise.race([done, stopOnSignal, lost]);
      if (!ctx.json && reason !== 'interrupted') ctx.io.stderr.write(`-- program ${id} ${reason} --\n`);
    } else if (follow && !ctx.json) {
      ctx.io.stderr.write(`-- program ${id} is not running; nothing to follow --\n`);
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? s;
}

