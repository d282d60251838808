/**
 * kgentctl: the command line of kgent. Talks to kgentd over its Unix socket; `verify` falls back to
 * verifying locally (through `daemon/offline/`, loaded only then) when kgentd is not reachable.
 */
import { parseArgs } from 'node:util';
import { ErrorCodes } from '../daemon/protocol/index.js';
import { KgentClient, RpcError } from './client.js';
import { doctorCommand, requestCommand, statusCommand } from './commands/daemon.js';
import {
  approveCommand,
  checkCommand,
  listCommand,
  logsCommand,
  parseId,
  runCommand,
  showCommand,
  stopCommand,
  type CommandContext,
} from './commands/programs.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';

const DEFAULT_SOCKET = '/run/kgent/kgentd.sock';

export const HELP = `kgentctl — control kgent, the verified-eBPF agent (talks to kgentd over a Unix socket)

Usage: kgentctl [--socket PATH] [--json] COMMAND [ARGS]

Commands:
  status                     daemon, kernel, bpftrace and program counts
  doctor                     check this host: bpftrace, tracefs, BTF, probe types, Ollama, socket, state dir
  request "TEXT"             ask for a program in English (the Kgent loop; needs Ollama)
  run FILE.bt [--name N]     kernel-check a program you wrote, then attach it (your own submission
             [--no-approve]  counts as approved; --no-approve leaves it waiting for kgentctl approve)
  check FILE.bt              kernel-check only: load through the eBPF verifier, leave nothing attached
  list [--all]               programs and their status
  show ID                    a program: source, status, runs, audit trail
  approve ID                 approve a waiting program and attach it
  stop ID                    stop a running program (it stays stopped across daemon restarts)
  logs ID [-f] [-n N]        a program's output (last N entries, default 50); -f follows it
  verify FILE.bt [--timeout-ms N] [--formats DIR] [--local]
                             symbolic verification of an annotated program, with the running
                             kernel's contracts via kgentd, or locally when kgentd is not reachable
  contracts status|rebuild|show HOOK|search TEXT
                             kernel contracts of the running kernel
  examples list|search TEXT|show ID|remove ID
                             the example library: dataset and learned examples

Options:
  --socket PATH   control socket (default ${DEFAULT_SOCKET}, or $KGENT_SOCKET)
  --json          machine-readable output on every command
  -h, --help      this help

Exit status:
  0  success
  1  the operation ran and failed (program rejected by the kernel check, failed to attach,
     a doctor check failed)
  2  usage error (bad arguments, unreadable file)
  3  kgentd not reachable (not running, or no permission on the socket)
  4  not found (no such program)
  5  refused or unavailable (policy, approval needed, no LLM reachable)
  6  other daemon error (see journalctl -u kgentd)
  verify has its own: 0 proved, 1 refuted, 2 usage, 3 unknown or unannotated, 4 invalid
`;

function exitCodeForRpc(e: RpcError): number {
  switch (e.code) {
    case ErrorCodes.NotFound:
      return ExitCode.NotFound;
    case ErrorCodes.Refused:
    case ErrorCodes.Unavailable:
    case ErrorCodes.KernelUnsupported:
    case ErrorCodes.Conflict:
      return ExitCode.Refused;
    case ErrorCodes.InvalidParams:
      return ExitCode.Usage;
    default:
      return ExitCode.DaemonError;
  }
}

/** Global options come before the command; everything after it belongs to the command. */
function splitGlobal(argv: string[]): { global: string[]; command?: string; rest: string[] } {
  const global: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--socket') {
      global.push(a, argv[i + 1] ?? '');
      i += 2;
    } else if (a.startsWith('--socket=') || a === '--json' || a === '-h' || a === '--help') {
      global.push(a);
      i++;
    } else if (a.startsWith('-')) {
      break; // an option of the command, given before it: parsed with the command's options below
    } else {
      return { global, command: a, rest: argv.slice(i + 1) };
    }
  }
  return { global, rest: argv.slice(i) };
}

export async function main(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const split = splitGlobal(argv);
  if (split.command === 'verify' || split.command === 'contracts' || split.command === 'examples') {
    const json = split.global.includes('--json') ? ['--json'] : [];
    const socketArg = split.global.find((g) => g.startsWith('--socket='))?.slice('--socket='.length) ??
      (split.global.includes('--socket') ? split.global[split.global.indexOf('--socket') + 1] : undefined);
    const socketPath = socketArg ?? env.KGENT_SOCKET ?? DEFAULT_SOCKET;
    // verify has its own options and exit statuses, and falls back to verifying locally.
    // Command modules other than the common ones load on use, to keep kgentctl's start short.
    if (split.command === 'verify') {
      const { verifyCommand } = await import('./commands/verify.js');
      return verifyCommand([...json, ...split.rest], io, { socketPath });
    }
    if (split.command === 'examples') return runExamples([...json, ...split.rest], io, socketPath);
    // contracts has subcommands and options of its own; it talks to kgentd like the others.
    return runContracts([...json, ...split.rest], io, socketPath);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        socket: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        name: { type: 'string' },
        'no-approve': { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        follow: { type: 'boolean', short: 'f', default: false },
        lines: { type: 'string', short: 'n' },
      },
    });
  } catch (err) {
    io.stderr.write(`kgentctl: ${(err as Error).message}; see kgentctl --help\n`);
    return ExitCode.Usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (command || values.help ? io.stdout : io.stderr).write(HELP);
    return values.help ? ExitCode.Ok : ExitCode.Usage;
  }
  const socketPath = values.socket ?? env.KGENT_SOCKET ?? DEFAULT_SOCKET;
  const ctx: CommandContext = { io, json: values.json, connect: () => KgentClient.connect(socketPath) };
  try {
    switch (command) {
      case 'status':
        return await statusCommand(ctx);
      case 'doctor':
        return await doctorCommand(ctx);
      case 'request':
        return await requestCommand(ctx, rest.join(' ').trim() || undefined);
      case 'run':
        return await runCommand(ctx, {
          ...(rest[0] !== undefined ? { file: rest[0] } : {}),
          ...(values.name !== undefined ? { name: values.name } : {}),
          approve: !values['no-approve'],
        });
      case 'check':
        return await checkCommand(ctx, rest[0]);
      case 'list':
        return await listCommand(ctx, values.all);
      case 'show':
        return await showCommand(ctx, parseId(rest[0], 'show'));
      case 'approve':
        return await approveCommand(ctx, parseId(rest[0], 'approve'));
      case 'stop':
        return await stopCommand(ctx, parseId(rest[0], 'stop'));
      case 'logs': {
        const n = values.lines === undefined ? 50 : Number(values.lines);
        if (!Number.isSafeInteger(n) || n < 0) throw new CliError(ExitCode.Usage, `kgentctl logs: -n wants a count, got "${values.lines}"`);
        return await logsCommand(ctx, parseId(rest[0], 'logs'), values.follow, n);
      }
      default:
        io.stderr.write(`kgentctl: unknown command "${command}"; see kgentctl --help\n`);
        return ExitCode.Usage;
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`kgentctl ${command}: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof RpcError) {
      io.stderr.write(`kgentctl ${command}: ${err.message}\n`);
      return exitCodeForRpc(err);
    }
    io.stderr.write(`kgentctl ${command}: unexpected error: ${(err as Error).message}\n`);
    return ExitCode.DaemonError;
  }
}

async function runContracts(argv: string[], io: CliIO, socketPath: string): Promise<number> {
  try {
    const { contractsCommand } = await import('./commands/contracts.js');
    return await contractsCommand(argv, io, () => KgentClient.connect(socketPath));
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`kgentctl contracts: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof RpcError) {
      io.stderr.write(`kgentctl contracts: ${err.message}\n`);
      return exitCodeForRpc(err);
    }
    throw err;
  }
}

async function runExamples(argv: string[], io: CliIO, socketPath: string): Promise<number> {
  try {
    const { examplesCommand } = await import('./commands/examples.js');
    return await examplesCommand(argv, io, () => KgentClient.connect(socketPath));
  } catch (err) {
    if (err instanceof CliError || err instanceof RpcError) {
      io.stderr.write(`kgentctl examples: ${err.message}\n`);
      return err instanceof CliError ? err.exitCode : exitCodeForRpc(err);
    }
    throw err;
  }
}
