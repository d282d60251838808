/**
 * The daemon's logger: pino JSON lines on stdout, which journald captures under systemd.
 * Humans reading a terminal pipe it through `pino-pretty`; the daemon never pretty-prints itself.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name: 'kgentd',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Program sources can be long; keep them out of routine log lines.
      redact: { paths: ['params.source', 'source'], censor: '[program source]' },
    },
    destination as pino.DestinationStream | undefined,
  );
}
