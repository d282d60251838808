/**
 * The daemon's logger: pino JSON lines on stdout, which journald captures under systemd, or in a
 * file kgentd rotates by size (`log.file`, daemon/log-file.ts) where no journald runs.
 * Humans reading a terminal pipe it through `pino-pretty`; the daemon never pretty-prints itself.
 *
 * Every line is bounded: a string field (an error message that quotes a request, a program, a
 * prompt) keeps its first {@link MAX_LOG_STRING_BYTES} bytes and a truncation marker, so no client
 * can make one request write megabytes to the log.
 */
import { pino, type Logger } from 'pino';
import { capText } from './util/truncate.js';

export type { Logger };

/** Bytes of one string in a log line (a field or the message). */
export const MAX_LOG_STRING_BYTES = 2048;
/** Items of one array in a log line. */
const MAX_LOG_ARRAY_ITEMS = 50;

/** A log field with long strings cut and long arrays shortened; an Error keeps its message and stack, cut. */
export function boundLogValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return capText(v, MAX_LOG_STRING_BYTES);
  if (v === null || typeof v !== 'object') return v;
  if (depth > 8) return '[nested too deep]';
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return {
      type: v.name,
      message: capText(v.message, MAX_LOG_STRING_BYTES),
      ...(v.stack ? { stack: capText(v.stack, MAX_LOG_STRING_BYTES) } : {}),
      ...(code !== undefined ? { code } : {}),
    };
  }
  if (Array.isArray(v)) {
    const kept = v.slice(0, MAX_LOG_ARRAY_ITEMS).map((x) => boundLogValue(x, depth + 1));
    return v.length > MAX_LOG_ARRAY_ITEMS ? [...kept, `… [${v.length - MAX_LOG_ARRAY_ITEMS} more items]`] : kept;
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, boundLogValue(x, depth + 1)]));
}

export function createLogger(level: string, destination?: NodeJS.WritableStream | pino.DestinationStream): Logger {
  return pino(
    {
      name: 'kgentd',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Program sources can be long; keep them out of routine log lines.
      redact: { paths: ['params.source', 'source'], censor: '[program source]' },
      formatters: { log: (obj) => boundLogValue(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const bounded = args.map((a) => (typeof a === 'string' ? capText(a, MAX_LOG_STRING_BYTES) : a)) as Parameters<typeof method>;
          return method.apply(this, bounded);
        },
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
