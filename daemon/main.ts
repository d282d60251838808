#!/usr/bin/env node
/**
 * kgentd: the kgent daemon. Flags: --config FILE, --socket PATH, --state-dir DIR, --bpftrace PATH,
 * --log-level LEVEL, --log-file FILE (instead of stdout; rotated by size, see log.* in the config). Stops cleanly (programs detached, state kept for re-attach) on SIGTERM/SIGINT.
 */
// First: it sets the environment of native libraries before any of them loads.
import './process/native-logs.js';
import { parseArgs } from 'node:util';
import { startDaemon } from './app.js';
import { loadConfig } from './config.js';
import { ContractsError } from '../kernel-contracts/errors.js';
import { KgentError } from './errors.js';
import { createLogger } from './log.js';
import { RotatingLogFile } from './log-file.js';
import { enterEmptyWorkingDirectory } from './process/empty-cwd.js';

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        config: { type: 'string' },
        socket: { type: 'string' },
        'state-dir': { type: 'string' },
        bpftrace: { type: 'string' },
        'log-level': { type: 'string' },
        'log-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`kgentd: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(
      'Usage: kgentd [--config FILE] [--socket PATH] [--state-dir DIR] [--bpftrace PATH] [--log-level LEVEL] [--log-file FILE]\n' +
        'Environment: KGENT_CONFIG, KGENT_SOCKET, KGENT_STATE_DIR, KGENT_BPFTRACE, KGENT_LOG_LEVEL, KGENT_LOG_FILE, OLLAMA_HOST\n',
    );
    return 0;
  }
  const config = loadConfig({
    ...(values.config !== undefined ? { configPath: values.config } : {}),
    env: process.env,
    flags: {
      ...(values.socket !== undefined ? { socket: values.socket } : {}),
      ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
      ...(values.bpftrace !== undefined ? { bpftrace: values.bpftrace } : {}),
      ...(values['log-level'] !== undefined ? { logLevel: values['log-level'] } : {}),
      ...(values['log-file'] !== undefined ? { logFile: values['log-file'] } : {}),
    },
  });
  // Under journald stdout is the journal, which rotates by itself; a log file is rotated here.
  const logFile = config.log.file ? new RotatingLogFile({ file: config.log.file, maxBytes: config.log.maxBytes, keep: config.log.keep }) : undefined;
  const logger = createLogger(config.logLevel, logFile);
  let cwd: string;
  try {
    cwd = enterEmptyWorkingDirectory(config.stateDir);
  } catch (err) {
    throw new KgentError('internal', `cannot work in an empty directory under ${config.stateDir}: ${(err as Error).message}`);
  }
  logger.debug({ cwd }, 'working in an empty directory of our own');
  const daemon = await startDaemon(config, logger);
  logger.info({ socket: config.socketPath, stateDir: config.stateDir }, 'kgentd ready');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      daemon.stop(`signal ${sig}`).then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}

main().then(
  // A fatal stop (e.g. the control socket could not be re-created) sets exitCode before SIGTERM.
  (code) => process.exit(typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : code),
  (err: unknown) => {
    // Operational errors are one line for the user; anything else is a bug: its stack helps.
    const msg = err instanceof KgentError || err instanceof ContractsError ? err.message : (err as Error).stack ?? String(err);
    process.stderr.write(`kgentd: ${msg}\n`);
    process.exit(1);
  },
);
