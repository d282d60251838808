/**
 * Runs a node script of kgent's own in a child process that speaks JSON lines on stdout: its
 * pino log lines are logged again through the parent's logger, every other object goes to
 * `onMessage`. Work that would leave the daemon fat (a contracts build, the example library's
 * LanceDB sync) runs this way, so its memory leaves with the child. It sits at the bottom layer so
 * kernel-contracts and the daemon share it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';

export type { ChildProcess };

/** The parent's logger (pino's `(obj, msg)` shape); `debug` is optional. */
export interface ChildLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface JsonLinesChildOptions {
  /** Arguments of `node`: the compiled script first. */
  readonly args: readonly string[];
  /** What the child is, for log lines (`kernel contracts: build child`). */
  readonly what: string;
  readonly log: ChildLog;
  /** Fields added to every relayed log line (`{ build: 'child' }`). */
  readonly tag: Readonly<Record<string, string>>;
  /** Each stdout object that is not a pino log line (no numeric `level`). */
  onMessage(msg: Record<string, unknown>): void;
  /** Called with the child once it is spawned (to kill it on stop). */
  readonly started?: (child: ChildProcess) => void;
}

/** How the child ended; stderr is kept (its last 4000 characters) for the error message. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs the child to its end (see the module comment). Rejects only when it cannot be spawned. */
export function runJsonLinesChild(o: JsonLinesChildOptions): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...o.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    o.started?.(child);
    let out = '';
    let err = '';
    const line = (l: string): void => {
      if (!l.trim()) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(l) as Record<string, unknown>;
      } catch {
        o.log.warn({ line: l.slice(0, 500) }, `${o.what} printed a line that is not JSON`);
        return;
      }
      if (typeof msg['level'] !== 'number') {
        o.onMessage(msg);
        return;
      }
      const { level, msg: text, time: _time, pid: _pid, hostname: _host, ...rest } = msg;
      const lvl = Number(level);
      const fn = lvl >= 50 ? o.log.error : lvl >= 40 ? o.log.warn : lvl >= 30 ? o.log.info : o.log.debug;
      fn?.call(o.log, { ...rest, ...o.tag }, typeof text === 'string' ? text : o.what);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        line(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      line(out);
      resolve({ code, signal, stderr: err.trim() });
    });
  });
}

/** `exited 3: <stderr>` / `killed by SIGKILL`, for error messages. */
export function describeExit(e: ChildExit): string {
  return `${e.signal ? `killed by ${e.signal}` : `exited ${e.code}`}${e.stderr ? `: ${e.stderr.slice(-1000)}` : ''}`;
}

// ---- the child side -------------------------------------------------------------------------

/** The flags every child script takes, besides its own. */
const COMMON_FLAGS = {
  'state-dir': { type: 'string' },
  'ollama-host': { type: 'string' },
  'embed-model': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

type FlagSpec = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

/** What a child script starts with: its flags, the required state dir, and a pino logger on stdout. */
export interface ChildStart {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly stateDir: string;
  readonly log: Logger;
}

/**
 * Runs a child script's `body` (see the parent side above): parses the common flags plus
 * `extra` (exit 2 with one line on bad flags or a missing --state-dir), exits when stdin closes
 * (the daemon that started it is gone), logs pino JSON lines to stdout, and exits with the code
 * `body` returns (1 with the stack on stderr when it throws).
 */
export function runChildScript(name: string, extra: FlagSpec, body: (start: ChildStart) => Promise<number>): void {
  const fail = (msg: string, code: number): void => {
    process.stderr.write(`${name}: ${msg}\n`);
    process.exit(code);
  };
  let values: ChildStart['values'];
  try {
    values = parseArgs({ args: process.argv.slice(2), strict: true, options: { ...COMMON_FLAGS, ...extra } }).values;
  } catch (err) {
    return fail((err as Error).message, 2);
  }
  const stateDir = values['state-dir'];
  if (typeof stateDir !== 'string' || stateDir === '') return fail('--state-dir is required', 2);
  process.stdin.on('end', () => process.exit(1)).resume();
  const level = values['log-level'];
  const log = pino({ level: typeof level === 'string' ? level : 'info', base: null, timestamp: false });
  body({ values, stateDir, log }).then(
    (code) => process.exit(code),
    (err: unknown) => fail((err as Error).stack ?? String(err), 1),
  );
}
