/**
 * kgentctl: the command line of kgent. Talks to kgentd over its Unix socket; `verify` falls back to
 * verifying locally (through `daemon/offline/`, loaded only then) when kgentd is not reachable.
 */
import { ErrorCodes } from '../daemon/protocol/index.js';
import { parseCommandArgs } from './args.js';
import { DEFAULT_SOCKET, KgentClient, RpcError } from './client.js';
import { commandHelp } from './command-help.js';
import { doctorCommand, statusCommand } from './commands/daemon-command.js';
import { cancelCommand, hintCommand, parseRequestId, requestCommand, requestsCommand, requestsDeleteCommand, showRequestCommand } from './commands/request-command.js';
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
} from './commands/programs-command.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';

export const HELP = `kgentctl — control kgent, the verified-eBPF agent (talks to kgentd over a Unix socket)

Usage: kgentctl COMMAND [ARGS] [--socket PATH] [--json]   (global options go anywhere)

Commands:
  status                     daemon, kernel, bpftrace and program counts
  doctor                     check this host: bpftrace, tracefs, BTF, probe types, Ollama, socket, state dir
  request "TEXT" [--attach] [--hint TEXT] [--trials N]
                             ask for a program in English (the Kgent loop; needs Ollama): shows each
                             stage, then the verified program and the next command; asks for a hint
                             on a terminal when the trials run out; Ctrl-C cancels it
  request --accept-unverified R<n> [--attach]
                             accept the last, NOT verified, program of a request (audited)
  hint R<n> "TEXT"           continue a request that needs a hint
  requests [--all]           requests and their status (R<n>: a request, not a program), and
                             what your stored requests hold against your storage quota
  requests prune [--keep N] [--all]
                             delete your finished requests but the newest N (default 0);
                             --all: everyone's (admins)
  requests delete R<n>...    delete requests (your own; admins: any) that are not running
  cancel R<n>                cancel a running request
  show R<n> [-v]             a request: every attempt, feedback, verdicts (-v: prompts and answers)
  run FILE.bt [--name N]     kernel-check a program you wrote, then attach it (your own submission
             [--no-approve]  counts as approved; --no-approve leaves it waiting for kgentctl approve)
  check FILE.bt              kernel-check only: load through the eBPF verifier, leave nothing attached
  list [--all]               programs and their status
  show ID                    a program: source, status, runs, audit trail
  approve ID                 approve a waiting program and attach it
  stop ID                    stop a running program (it stays stopped across daemon restarts)
  logs ID [-f] [-n N]        a program's output (last N entries, default 50); -f follows it
  mcp                        an MCP server on stdio for AI agents (kgentctl mcp --help)
  verify FILE.bt [--timeout-ms N] [--formats DIR] [--local]
                             symbolic verification of an annotated program, with the running
                             kernel's contracts via kgentd, or locally when kgentd is not reachable
  contracts status|rebuild|show HOOK|search TEXT
                             kernel contracts of the running kernel
  examples list|search TEXT|show ID|remove ID|promote ID|demote ID
                             the example library: dataset and learned examples
  eval [--cases FILE|DIR] [--config C,...] [--models A,B] [--trials N] [--runs N] [--html FILE]
                             accuracy / false positives / false negatives of the loop per model,
                             judged by running the programs (kgentctl eval --help)

Options:
  --socket PATH   control socket (default ${DEFAULT_SOCKET}, or $KGENT_SOCKET)
  --json          machine-readable output on every command
  -h, --help      this help; kgentctl COMMAND --help (or kgentctl help COMMAND): that command's

Exit status:
  0  success
  1  the operation ran and failed (program rejected by the kernel check, failed to attach,
     a doctor check failed)
  2  usage error (bad arguments, unreadable file)
  3  kgentd not reachable (not running, or no permission on the socket)
  4  not found (no such program)
  5  refused or unavailable (policy, approval needed, no LLM reachable)
  6  other daemon error (see journalctl -u kgentd)
  130  cancelled with Ctrl-C (a request, or its hint prompt)
  141  the output pipe was closed (kgentctl ... | head): quietly, as other tools
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

/**
 * Global options (`--socket PATH`, `--socket=PATH`, `--json`) are accepted anywhere on the line, for
 * every command: they are taken out first, and the command sees the rest. `--` ends option parsing.
 */
export function extractGlobals(argv: readonly string[]): { socket?: string; json: boolean; rest: string[] } {
  let socket: string | undefined;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--socket') {
      socket = argv[++i] ?? '';
    } else if (a.startsWith('--socket=')) {
      socket = a.slice('--socket='.length);
    } else if (a === '--json') {
      json = true;
    } else rest.push(a);
  }
  return { ...(socket !== undefined ? { socket } : {}), json, rest };
}

/** One line for the user: `kgentctl CMD: message`, without repeating a prefix the message already has. */
export function errorLine(command: string, message: string): string {
  const own = `kgentctl ${command}: `;
  let m = message;
  while (m.startsWith(own)) m = m.slice(own.length);
  if (m.startsWith('kgentctl ')) return `${m}\n`;
  return `${own}${m}\n`;
}

export async function main(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const globals = extractGlobals(argv);
  if (globals.socket === '') {
    io.stderr.write('kgentctl: --socket needs a path; see kgentctl --help\n');
    return ExitCode.Usage;
  }
  const socketPath = globals.socket ?? env.KGENT_SOCKET ?? DEFAULT_SOCKET;
  const first = globals.rest.findIndex((a) => !a.startsWith('-'));
  const sub = first >= 0 ? globals.rest[first] : undefined;
  if (sub === 'mcp') {
    const { mcpCommand, MCP_HELP } = await import('./commands/mcp-command.js');
    const rest = [...globals.rest.slice(0, first), ...globals.rest.slice(first + 1)];
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`${MCP_HELP}\n`);
      return ExitCode.Ok;
    }
    if (rest.length > 0) {
      io.stderr.write(`kgentctl mcp: unexpected argument "${rest[0]}"; see kgentctl mcp --help\n`);
      return ExitCode.Usage;
    }
    return mcpCommand(io, socketPath);
  }
  if (sub === 'verify' || sub === 'contracts' || sub === 'examples' || sub === 'eval') {
    const json = globals.json ? ['--json'] : [];
    const rest = [...globals.rest.slice(0, first), ...globals.rest.slice(first + 1)];
    // verify has its own options and exit statuses, and falls back to verifying locally.
    // Command modules other than the common ones load on use, to keep kgentctl's start short.
    if (sub === 'verify') {
      const { verifyCommand } = await import('./commands/verify-command.js');
      return verifyCommand([...json, ...rest], io, { socketPath });
    }
    if (sub === 'examples') return runExamples([...json, ...rest], io, socketPath);
    if (sub === 'eval') return runEval([...json, ...rest], io, socketPath);
    // contracts has subcommands and options of its own; it talks to kgentd like the others.
    return runContracts([...json, ...rest], io, socketPath);
  }
  const options = {
    help: { type: 'boolean', short: 'h', default: false },
    attach: { type: 'boolean', default: false },
    hint: { type: 'string' },
    trials: { type: 'string' },
    'accept-unverified': { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
    name: { type: 'string' },
    'no-approve': { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
    follow: { type: 'boolean', short: 'f', default: false },
    lines: { type: 'string', short: 'n' },
    keep: { type: 'string' },
  } as const;
  let parsed;
  try {
    parsed = parseCommandArgs(globals.rest, options, sub !== undefined && commandHelp(sub) ? sub : '');
  } catch (err) {
    io.stderr.write(`kgentctl${sub && commandHelp(sub) ? ` ${sub}` : ''}: ${(err as Error).message}\n`);
    return ExitCode.Usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  // `kgentctl help CMD` is `kgentctl CMD --help`.
  if (command === 'help') {
    const target = rest[0];
    if (target === undefined) {
      io.stdout.write(HELP);
      return ExitCode.Ok;
    }
    return main([target, '--help'], io, env);
  }
  if (values.help || !command) {
    const own = command ? commandHelp(command) : undefined;
    (command || values.help ? io.stdout : io.stderr).write(own ?? HELP);
    return values.help ? ExitCode.Ok : ExitCode.Usage;
  }
  const ctx: CommandContext = { io, json: globals.json, env, connect: () => KgentClient.connect(socketPath) };
  try {
    switch (command) {
      case 'status':
        return await statusCommand(ctx);
      case 'doctor':
        return await doctorCommand(ctx);
      case 'request': {
        const trials = values.trials === undefined ? undefined : Number(values.trials);
        if (trials !== undefined && (!Number.isSafeInteger(trials) || trials < 1 || trials > 10)) {
          throw new CliError(ExitCode.Usage, `--trials wants a number from 1 to 10, got "${values.trials}"`);
        }
        const accept = values['accept-unverified'];
        return await requestCommand(ctx, rest.join(' ').trim() || undefined, {
          attach: values.attach,
          interactive: process.stdin.isTTY === true && values.hint === undefined,
          ...(values.hint !== undefined ? { hint: values.hint } : {}),
          ...(trials !== undefined ? { trials } : {}),
          ...(accept !== undefined ? { acceptUnverified: parseRequestId(accept, 'request') } : {}),
        });
      }
      case 'hint':
        return await hintCommand(ctx, rest[0], rest.slice(1).join(' ').trim() || undefined);
      case 'requests': {
        if (rest[0] === 'prune') {
          const keep = values.keep === undefined ? 0 : Number(values.keep);
          if (!Number.isSafeInteger(keep) || keep < 0) throw new CliError(ExitCode.Usage, `kgentctl requests prune: --keep wants a count, got "${values.keep}"`);
          return await requestsDeleteCommand(ctx, { prune: { keep, all: values.all } });
        }
        if (rest[0] === 'delete') {
          if (rest.length < 2) throw new CliError(ExitCode.Usage, 'kgentctl requests delete: missing request ID (R<n>, see kgentctl requests)');
          return await requestsDeleteCommand(ctx, { ids: rest.slice(1).map((r) => parseRequestId(r, 'requests delete')) });
        }
        if (rest[0] !== undefined) throw new CliError(ExitCode.Usage, `kgentctl requests: unknown subcommand "${rest[0]}" (prune, delete)`);
        return await requestsCommand(ctx, values.all);
      }
      case 'cancel':
        return await cancelCommand(ctx, rest[0]);
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
        // R<n> is a request, a plain number a program: they are different things.
        if (/^[Rr]\d+$/.test(rest[0] ?? '')) return await showRequestCommand(ctx, parseRequestId(rest[0], 'show'), values.verbose);
        return await showCommand(ctx, parseId(rest[0], 'show'));
      case 'approve':
        return await approveCommand(ctx, parseId(rest[0], 'approve'));
      case 'stop':
        return await stopCommand(ctx, parseId(rest[0], 'stop'));
      case 'logs': {
        const n = values.lines === undefined ? 50 : Number(values.lines);
        if (!Number.isSafeInteger(n) || n < 0) throw new CliError(ExitCode.Usage, `kgentctl logs: -n wants a count of entries (0 or more), got "${values.lines}"`);
        return await logsCommand(ctx, parseId(rest[0], 'logs'), values.follow, n);
      }
      default:
        io.stderr.write(`kgentctl: unknown command "${command}"; see kgentctl --help\n`);
        return ExitCode.Usage;
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(errorLine(command, err.message));
      return err.exitCode;
    }
    if (err instanceof RpcError) {
      io.stderr.write(errorLine(command, err.message));
      return exitCodeForRpc(err);
    }
    io.stderr.write(errorLine(command, `unexpected error: ${(err as Error).message}`));
    return ExitCode.DaemonError;
  }
}

async function runContracts(argv: string[], io: CliIO, socketPath: string): Promise<number> {
  try {
    const { contractsCommand } = await import('./commands/contracts-command.js');
    return await contractsCommand(argv, io, () => KgentClient.connect(socketPath));
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(errorLine('contracts', err.message));
      return err.exitCode;
    }
    if (err instanceof RpcError) {
      io.stderr.write(errorLine('contracts', err.message));
      return exitCodeForRpc(err);
    }
    throw err;
  }
}

async function runExamples(argv: string[], io: CliIO, socketPath: string): Promise<number> {
  try {
    const { examplesCommand } = await import('./commands/examples-command.js');
    return await examplesCommand(argv, io, () => KgentClient.connect(socketPath));
  } catch (err) {
    if (err instanceof CliError || err instanceof RpcError) {
      io.stderr.write(errorLine('examples', err.message));
      return err instanceof CliError ? err.exitCode : exitCodeForRpc(err);
    }
    throw err;
  }
}

async function runEval(argv: string[], io: CliIO, socketPath: string): Promise<number> {
  try {
    const { evalCommand } = await import('./commands/eval-command.js');
    return await evalCommand(argv, io, () => KgentClient.connect(socketPath));
  } catch (err) {
    if (err instanceof CliError || err instanceof RpcError) {
      io.stderr.write(errorLine('eval', err.message));
      return err instanceof CliError ? err.exitCode : exitCodeForRpc(err);
    }
    throw err;
  }
}
