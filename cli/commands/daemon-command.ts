/** kgentctl status / doctor / request. */
import { Doctor, Status, type DoctorCheck } from '../../daemon/protocol/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { printJson, type CliIO } from '../io.js';
import type { CommandContext } from './programs-command.js';

export async function statusCommand(ctx: CommandContext): Promise<number> {
  const client = await ctx.connect();
  try {
    const s = await client.call(Status, {});
    if (ctx.json) printJson(ctx.io, s);
    else {
      ctx.io.stdout.write(
        [
          `kgentd ${s.version} running (pid ${s.pid}, up ${formatDuration(s.uptimeSeconds)})`,
          `  socket:    ${s.socketPath}`,
          `  state dir: ${s.stateDir}`,
          `  kernel:    ${s.kernelRelease}`,
          `  bpftrace:  ${s.bpftrace.path}${s.bpftrace.version ? ` ${s.bpftrace.version}` : ' (not usable: see kgentctl doctor)'}${s.bpftrace.dialect ? `, dialect ${s.bpftrace.dialect}` : ''}`,
          ...(s.bpftrace.dialectWarning ? [`  warning:   ${s.bpftrace.dialectWarning}`] : []),
          `  programs:  ${s.programs.running} running, ${s.programs.failed} failed, ${s.programs.total} total`,
          ...(s.kernelChecks ? [`  checks:    ${s.kernelChecks.running} kernel check(s) running, ${s.kernelChecks.queued} queued`] : []),
          ...(s.storage
            ? [
                s.storage.writable
                  ? `  storage:   writable${s.storage.droppedLogLines + s.storage.droppedStoreWrites > 0 ? ` (earlier dropped ${s.storage.droppedLogLines} log lines, ${s.storage.droppedStoreWrites} store writes)` : ''}`
                  : `  storage:   NOT WRITABLE since ${s.storage.failingSince ?? '?'} (${s.storage.lastError ?? 'write failed'}): programs keep running, ${s.storage.droppedLogLines} log lines and ${s.storage.droppedStoreWrites} store writes dropped; free space in ${s.stateDir}`,
              ]
            : []),
          ...(s.you ? [`  you:       ${s.you.user} (uid ${s.you.uid}), ${s.you.role}`] : []),
        ].join('\n') + '\n',
      );
    }
    return ExitCode.Ok;
  } finally {
    client.close();
  }
}

export async function doctorCommand(ctx: CommandContext): Promise<number> {
  let checks: DoctorCheck[];
  try {
    const client = await ctx.connect();
    try {
      checks = [{ name: 'kgentd', status: 'ok', detail: 'reachable' }, ...(await client.call(Doctor, {})).checks];
    } finally {
      client.close();
    }
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    // kgentd does not answer: say so once, then check the host from here, as kgentd would.
    checks = [{ name: 'kgentd', status: 'fail', detail: err.message }, ...(await hostChecks(ctx))];
  }
  if (ctx.json) printJson(ctx.io, { checks });
  else printChecks(ctx.io, checks);
  return checks.some((c) => c.status === 'fail') ? ExitCode.Failed : ExitCode.Ok;
}

/** The host checks, run in this process; loaded only here (bpftrace, kernel reader). */
async function hostChecks(ctx: CommandContext): Promise<DoctorCheck[]> {
  try {
    const { hostDoctor } = await import('../../daemon/offline/index.js');
    return await hostDoctor(ctx.env ?? process.env);
  } catch (err) {
    return [{ name: 'host checks', status: 'fail', detail: `could not run without kgentd: ${(err as Error).message}` }];
  }
}

function printChecks(io: CliIO, checks: readonly DoctorCheck[]): void {
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) {
    io.stdout.write(`${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}\n`);
    if (c.fix && c.status !== 'ok') io.stdout.write(`${' '.repeat(6 + width)}  fix: ${c.fix}\n`);
  }
}

function formatDuration(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
