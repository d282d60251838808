/**
 * Runs a node script of kgent's own in a child process that speaks JSON lines on stdout: its
 * pino log lines are logged again through the parent's logger, every other object goes to
 * `onMessage`. Work that would leave the daemon fat (a contracts build, the example library's
 * LanceDB sync, the LanceDB tables themselves: child-home.ts) runs this way, so its memory leaves
 * with the child. It sits at the bottom layer so kernel-contracts and the daemon share it.
 *
 * The parent writes JSON lines to the child's stdin: `{"call": {id, method, args}}` (a child that
 * serves calls answers `{"reply": {id, value}}` or `{"reply": {id, error: {message, code?, data?}}}`)
 * and `{"answer": {qid, value | error}}` to the child's `{"ask": {qid, question, args}}`: a child
 * asks its parent for what only the parent may do, e.g. vectors through the daemon's one LLM door.
 * The child exits when its stdin closes (the parent let it go, or died).
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
  /** Answers the child's `ask` lines; a child that asks while this is absent is told no one answers. */
  readonly answer?: (question: string, args: readonly unknown[]) => Promise<unknown>;
}

/** How the child ended; stderr is kept (its last 4000 characters) for the error message. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** A running child: lines to its stdin, and how it ended. */
export interface JsonLinesChild {
  readonly child: ChildProcess;
  /** Writes one JSON line to the child's stdin; false when the child is gone. */
  send(msg: object): boolean;
  /** Closes the child's stdin: the child exits (see `runChildScript`). */
  end(): void;
  /** Settles when the child has exited; rejects only when it could not be spawned. */
  readonly exited: Promise<ChildExit>;
}

/** One message of a child, or an error, answered to the child on its stdin. */
export interface WireError {
  readonly message: string;
  readonly code?: string;
  readonly data?: unknown;
}

/** An error as it crosses to the other process: its message, and a typed error's code and data. */
export function wireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err) };
  const { code, data } = err as Error & { code?: unknown; data?: unknown };
  return { message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(data !== undefined ? { data } : {}) };
}

/** Runs the child to its end (see the module comment). Rejects only when it cannot be spawned. */
export function runJsonLinesChild(o: JsonLinesChildOptions): Promise<ChildExit> {
  return startJsonLinesChild(o).exited;
}

/** Starts the child (see the module comment); its `ask` lines are answered with `o.answer`. */
export function startJsonLinesChild(o: JsonLinesChildOptions): JsonLinesChild {
  const child = spawn(process.execPath, [...o.args], { stdio: ['pipe', 'pipe', 'pipe'] });
  // A child that exits while a line is being written to it: the write fails, the exit says why.
  child.stdin.on('error', () => undefined);
  const send = (msg: object): boolean => {
    if (!child.stdin.writable) return false;
    child.stdin.write(`${JSON.stringify(msg)}\n`);
    return true;
  };
  const ask = (a: { qid?: unknown; question?: unknown; args?: unknown }): void => {
    const qid = a.qid;
    const reply = (r: { value?: unknown; error?: WireError }): void => void send({ answer: { qid, ...r } });
    if (!o.answer) return reply({ error: { message: `${o.what}: no one answers "${String(a.question)}"` } });
    o.answer(String(a.question), Array.isArray(a.args) ? a.args : []).then(
      (value) => reply({ value }),
      (err: unknown) => reply({ error: wireError(err) }),
    );
  };
  const exited = new Promise<ChildExit>((resolve, reject) => {
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
        if (msg['ask'] && typeof msg['ask'] === 'object') ask(msg['ask'] as { qid?: unknown });
        else o.onMessage(msg);
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
  return { child, send, end: () => child.stdin.end(), exited };
}

/** `exited 3: <stderr>` / `killed by SIGKILL`, for error messages. */
export function describeExit(e: ChildExit): string {
  return `${e.signal ? `killed by ${e.signal}` : `exited ${e.code}`}${e.stderr ? `: ${e.stderr.slice(-1000)}` : ''}`;
}

// ---- the child side -------------------------------------------------------------------------

/** The flags every child script takes, besides its own. */
const COMMON_FLAGS = {
  'state-dir': { type: 'string' },
  // Vectors of this model are asked of the parent (`ask('embed', texts)`): no child talks to a model server.
  'embed-model': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

type FlagSpec = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

/** What a child script starts with: its flags, the required state dir, and a pino logger on stdout. */
export interface ChildStart {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly stateDir: string;
  readonly log: Logger;
  /** Asks the parent (its `answer`); rejects with the parent's error, or when no one answers. */
  ask(question: string, ...args: unknown[]): Promise<unknown>;
  /**
   * Serves the parent's calls with `handler` (one at a time per method call, answered as they
   * finish). The body's promise then decides only when the child exits: keep it pending.
   */
  serve(handler: (method: string, args: readonly unknown[]) => Promise<unknown>): void;
}

/** An error the parent answered with, carrying its code and data. */
export class WireCallError extends Error {
  constructor(
    readonly wire: WireError,
    readonly where: string,
  ) {
    super(wire.message);
    this.name = 'WireCallError';
  }
}

/** The child's end of the stdin channel: answers to its asks, and the parent's calls. */
function childChannel(): Pick<ChildStart, 'ask' | 'serve'> & { serving(): boolean } {
  const asked = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextQid = 1;
  let handler: ((method: string, args: readonly unknown[]) => Promise<unknown>) | undefined;
  const write = (msg: object): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
  const onLine = (l: string): void => {
    if (!l.trim()) return;
    let msg: { answer?: { qid: number; value?: unknown; error?: WireError }; call?: { id: number; method: string; args?: unknown[] } };
    try {
      msg = JSON.parse(l) as typeof msg;
    } catch {
      return;
    }
    if (msg.answer) {
      const waiting = asked.get(msg.answer.qid);
      asked.delete(msg.answer.qid);
      if (msg.answer.error) waiting?.reject(new WireCallError(msg.answer.error, 'parent'));
      else waiting?.resolve(msg.answer.value);
    } else if (msg.call) {
      // Calls that come while the child is still setting up wait for `serve`.
      if (handler) run(msg.call);
      else early.push(msg.call);
    }
  };
  const early: { id: number; method: string; args?: unknown[] }[] = [];
  const run = (c: { id: number; method: string; args?: unknown[] }): void => {
    // JSON writes an argument left out (`undefined`) as null: it is left out again here.
    handler!(c.method, (c.args ?? []).map((a) => (a === null ? undefined : a))).then(
      (value) => write({ reply: { id: c.id, value: value ?? null } }),
      (err: unknown) => write({ reply: { id: c.id, error: wireError(err) } }),
    );
  };
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  return {
    ask: (question, ...args) =>
      new Promise((resolve, reject) => {
        const qid = nextQid++;
        asked.set(qid, { resolve, reject });
        write({ ask: { qid, question, args } });
      }),
    serve: (h) => {
      handler = h;
      for (const c of early.splice(0)) run(c);
    },
    serving: () => handler !== undefined,
  };
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
  const { serving, ...channel } = childChannel();
  // A child that serves calls is let go this way (exit 0); a one-shot child lost its parent (1).
  process.stdin.on('end', () => process.exit(serving() ? 0 : 1)).resume();
  const level = values['log-level'];
  // Through process.stdout, so log lines and the channel's lines are written in order, whole.
  const log = pino({ level: typeof level === 'string' ? level : 'info', base: null, timestamp: false }, process.stdout);
  body({ values, stateDir, log, ...channel }).then(
    (code) => process.exit(code),
    (err: unknown) => fail((err as Error).stack ?? String(err), 1),
  );
}
