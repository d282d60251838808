/**
 * A home for a part that is costly to keep in kgentd (LanceDB's native library and its tables):
 * a child process (a `runChildScript` script that serves calls, json-lines-child.ts) started by
 * the first call and let go after `idleMs` without one, so what it loaded leaves with it. A call
 * after that starts a fresh child; `onStart` re-establishes its state (an open table) first.
 *
 * A child that dies with calls in flight fails them (`ChildLostError`); the next call starts a
 * fresh child. The child asks for what only the parent may do (vectors through the daemon's one
 * LLM door) and `answer` answers.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeExit, startJsonLinesChild, WireCallError, type ChildLog, type JsonLinesChild, type WireError } from './json-lines-child.js';

export interface ChildHomeOptions {
  /** `node` arguments: the compiled script first, then its flags. */
  readonly args: readonly string[];
  /** What the child is, for log lines and errors (`kernel contracts: search index`). */
  readonly what: string;
  readonly log: ChildLog;
  readonly tag: Readonly<Record<string, string>>;
  /** The child is let go after this long without a call; undefined: only by `close()`. */
  readonly idleMs?: number;
  /** The first call of every new child (opening what the previous child had open). */
  readonly onStart?: () => { readonly method: string; readonly args: readonly unknown[] } | undefined;
  /** Answers the child's questions. */
  readonly answer?: (question: string, args: readonly unknown[]) => Promise<unknown>;
  /** Messages of the child that are neither replies, asks nor log lines (progress). */
  readonly onMessage?: (msg: Record<string, unknown>) => void;
}

/** The child exited (or could not start) while a call waited for it. */
export class ChildLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChildLostError';
  }
}

/** How long a child asked to stop may take before it is killed. */
const STOP_GRACE_MS = 2000;

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class ChildHome {
  private running: { readonly proc: JsonLinesChild; readonly ready: Promise<unknown> } | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Children started so far (for the log and tests). */
  started = 0;

  constructor(private readonly o: ChildHomeOptions) {}

  /** The pid of the running child, if one runs. */
  get pid(): number | undefined {
    return this.running?.proc.child.pid;
  }

  /** `method(...args)` in the child (started when none runs); rejects with the child's error. */
  async call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.closed) throw new ChildLostError(`${this.o.what} is closed`);
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const run = this.ensure();
    try {
      await run.ready.catch(async (err: unknown) => {
        // A child that could not set itself up is let go: the next call tries a fresh one.
        if (this.running === run) await this.stop();
        throw err;
      });
      return (await this.send(run.proc, method, args)) as T;
    } finally {
      this.armIdle();
    }
  }

  /** Lets the child go (if one runs) and refuses later calls. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  /** Lets the running child go now; the next call starts a fresh one. */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const run = this.running;
    if (!run) return;
    this.running = undefined;
    run.proc.end();
    const kill = setTimeout(() => run.proc.child.kill('SIGKILL'), STOP_GRACE_MS);
    await run.proc.exited.catch(() => undefined);
    clearTimeout(kill);
  }

  private ensure(): NonNullable<ChildHome['running']> {
    if (this.running) return this.running;
    const proc = startJsonLinesChild({
      args: this.o.args,
      what: this.o.what,
      log: this.o.log,
      tag: this.o.tag,
      ...(this.o.answer ? { answer: this.o.answer } : {}),
      onMessage: (msg) => {
        const reply = msg['reply'] as { id?: number; value?: unknown; error?: WireError } | undefined;
        if (!reply || typeof reply.id !== 'number') return this.o.onMessage?.(msg);
        const w = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        if (reply.error) w?.reject(new WireCallError(reply.error, this.o.what));
        else w?.resolve(reply.value);
      },
    });
    this.started++;
    this.o.log.debug?.({ pid: proc.child.pid, ...this.o.tag }, `${this.o.what}: process started`);
    const first = this.o.onStart?.();
    const run = { proc, ready: first ? this.send(proc, first.method, first.args) : Promise.resolve() };
    // `ready` is awaited by each call; a failed start is their error, not an unhandled rejection.
    run.ready.catch(() => undefined);
    this.running = run;
    proc.exited.then(
      (exit) => this.lost(run, `${this.o.what}: the process ${describeExit(exit)}`, exit.code === 0 && exit.signal === null),
      (err: Error) => this.lost(run, `${this.o.what}: the process could not start: ${err.message}`, false),
    );
    return run;
  }

  private send(proc: JsonLinesChild, method: string, args: readonly unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (!proc.send({ call: { id, method, args } })) {
        this.waiting.delete(id);
        reject(new ChildLostError(`${this.o.what}: the process is gone`));
      }
    });
  }

  /** `run`'s child exited: calls it held fail (with `why`), unless it was let go with none. */
  private lost(run: NonNullable<ChildHome['running']>, why: string, clean: boolean): void {
    if (this.running === run) this.running = undefined;
    if (this.waiting.size === 0) {
      if (!clean) this.o.log.warn({ ...this.o.tag }, why);
      else this.o.log.debug?.({ ...this.o.tag }, `${this.o.what}: process let go`);
      return;
    }
    // Only one child runs at a time: what waits, waited for this one.
    const held = [...this.waiting.values()];
    this.waiting.clear();
    this.o.log.error({ ...this.o.tag }, why);
    for (const w of held) w.reject(new ChildLostError(`${why}; the next use starts a fresh one`));
  }

  private armIdle(): void {
    if (this.o.idleMs === undefined || this.closed || !this.running || this.waiting.size > 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.waiting.size === 0) void this.stop();
    }, this.o.idleMs);
    this.idleTimer.unref();
  }
}

/**
 * The compiled child script `name` (`doc-index-main`) beside the module at `moduleUrl`. Run from
 * the TypeScript sources (the tests), that is the same path under the repository's `dist/`: a
 * child is always the compiled script (`npm run build` first).
 */
export function compiledScript(moduleUrl: string, name: string): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const beside = path.join(here, `${name}.js`);
  if (!moduleUrl.endsWith('.ts')) return beside;
  for (let root = here; root !== path.dirname(root); root = path.dirname(root)) {
    if (existsSync(path.join(root, 'package.json'))) return path.join(root, 'dist', path.relative(root, here), `${name}.js`);
  }
  return beside;
}
