/**
 * Runs approved programs as supervised `bpftrace -f json` children: per-program logs, status in the
 * store, restart after a crash up to a limit, stop on request, stop-all on shutdown.
 */
import { execa, type ResultPromise } from 'execa';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { RunnerConfig } from '../config.js';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LogEntry } from '../protocol/methods.js';
import type { AuditActor, ProgramStore, StoredProgram } from '../store/program-store.js';
import { runArgs, type BpftraceCli } from './bpftrace-cli.js';
import { meaningfulStderr, outputFormatFor } from './bpftrace-formats.js';
import { entryFromStdout, logPath, ProgramLogWriter } from './program-log.js';
import { OutputRate } from './output-rate.js';

export interface SupervisorOptions {
  readonly cli: BpftraceCli;
  readonly store: ProgramStore;
  readonly stateDir: string;
  readonly config: RunnerConfig;
  readonly allowUnsafe: boolean;
  readonly logger: Logger;
  /** Prefix that makes the child die with the daemon (`setpriv --pdeathsig`), when available. */
  readonly deathSignalWrapper?: readonly string[];
}

interface Child {
  readonly id: number;
  readonly proc: ResultPromise;
  readonly runId: number;
  readonly log: ProgramLogWriter;
  stopping: boolean;
  /** bpftrace reported its probes attached. */
  attached: boolean;
  stderrTail: string[];
  readonly rate: OutputRate;
}

const STOP_GRACE_MS = 5000;
/** stderr lines kept for a failure's reason (noise and bpftrace's own library warnings are taken out at exit). */
const STDERR_TAIL_LINES = 60;

export class Supervisor {
  private readonly children = new Map<number, Child>();
  private readonly restartTimers = new Map<number, NodeJS.Timeout>();
  private readonly crashTimes = new Map<number, number[]>();
  private readonly events = new EventEmitter();
  private shuttingDown = false;

  constructor(private readonly o: SupervisorOptions) {
    this.events.setMaxListeners(0);
    mkdirSync(this.programDir, { recursive: true, mode: 0o700 });
  }

  get programDir(): string {
    return path.join(this.o.stateDir, 'programs');
  }

  get logDir(): string {
    return path.join(this.o.stateDir, 'logs');
  }

  programFile(id: number): string {
    return path.join(this.programDir, `${id}.bt`);
  }

  isRunning(id: number): boolean {
    return this.children.has(id);
  }

  /** Output lines of a running program dropped over the rate limit (0 when it is not running). */
  droppedOutput(id: number): number {
    return this.children.get(id)?.rate.dropped ?? 0;
  }

  runningCount(): number {
    return this.children.size;
  }

  /** Subscribes to a program's new log entries; `end` fires when its child exits for good. */
  follow(id: number, onEntry: (e: LogEntry) => void, onEnd: (reason: string) => void): () => void {
    const entry = (e: LogEntry): void => onEntry(e);
    const end = (reason: string): void => onEnd(reason);
    this.events.on(`log:${id}`, entry);
    this.events.on(`end:${id}`, end);
    return () => {
      this.events.off(`log:${id}`, entry);
      this.events.off(`end:${id}`, end);
    };
  }

  /** Starts a program; resolves once bpftrace reports its probes attached, or rejects with why it could not. */
  async start(p: StoredProgram, actor: AuditActor): Promise<void> {
    if (this.shuttingDown) throw new KgentError('unavailable', 'kgentd is shutting down; try again once it is back');
    if (this.children.has(p.info.id)) throw new KgentError('conflict', `program ${p.info.id} is already running`);
    this.crashTimes.delete(p.info.id);
    this.o.store.update(p.info.id, { desired: 'run' });
    await this.spawn(p, actor, 'attach');
  }

  async stop(id: number, actor: AuditActor): Promise<void> {
    this.o.store.update(id, { desired: 'stop' });
    const timer = this.restartTimers.get(id);
    if (timer) {
      clearTimeout(timer);
      this.restartTimers.delete(id);
      this.o.store.update(id, { status: 'stopped', pid: null });
      this.o.store.audit('stop', actor, id, 'pending restart cancelled');
      this.events.emit(`end:${id}`, 'stopped');
      return;
    }
    const child = this.children.get(id);
    if (!child) return;
    child.stopping = true;
    this.o.store.audit('stop', actor, id);
    await this.terminate(child);
  }

  /** Stops every child, keeping `desired` so the next daemon start attaches them again. */
  async stopAll(reason: string): Promise<void> {
    this.shuttingDown = true;
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
    await Promise.all(
      [...this.children.values()].map(async (c) => {
        c.stopping = true;
        this.o.store.audit('stop', 'kgentd', c.id, reason);
        await this.terminate(c);
      }),
    );
  }

  private async terminate(child: Child): Promise<void> {
    // SIGINT makes bpftrace detach cleanly and print its maps; SIGKILL only if it hangs.
    child.proc.kill('SIGINT');
    const killer = setTimeout(() => child.proc.kill('SIGKILL'), STOP_GRACE_MS);
    await child.proc.catch(() => undefined);
    clearTimeout(killer);
  }

  private spawn(p: StoredProgram, actor: AuditActor, action: 'attach' | 'restart'): Promise<void> {
    const id = p.info.id;
    const file = this.programFile(id);
    try {
      writeProgramFile(file, p.source);
    } catch (err) {
      return Promise.reject(new KgentError('io', `cannot write ${file}: ${(err as Error).message}`, { programId: id }));
    }
    const args = runArgs(this.o.cli, file, { unsafe: this.o.allowUnsafe });
    const wrapper = this.o.deathSignalWrapper ?? [];
    const [cmd, ...rest] = wrapper.length > 0 ? [...wrapper, this.o.cli.path, ...args] : [this.o.cli.path, ...args];
    const proc = execa(cmd!, rest, {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cleanup: true,
      env: { BPFTRACE_LOG_SIZE: '4000000' },
    });
    const log = new ProgramLogWriter(logPath(this.logDir, id), this.o.config.maxLogBytes);
    const runId = this.o.store.startRun(id, proc.pid);
    const child: Child = { id, proc, runId, log, stopping: false, attached: false, stderrTail: [], rate: new OutputRate(this.o.config.maxLinesPerSecond) };
    this.children.set(id, child);
    this.o.store.update(id, { status: 'starting', pid: proc.pid ?? null, exitCode: null, exitSignal: null, lastError: null });
    this.o.store.audit(action, actor, id, `pid ${proc.pid ?? '?'}`);
    this.emitLog(child, { time: new Date().toISOString(), type: 'kgent', data: { event: 'started', pid: proc.pid, action } });
    this.o.logger.info({ programId: id, pid: proc.pid, action }, 'bpftrace started');

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: KgentError): void => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        // With -f json every output is a JSON line (a printf of "\n" too); 0.17 and 0.23 print bare
        // empty lines around the maps at exit (0.27 none): layout, not the program's output.
        if (line === '' && this.o.cli.hasJsonOutput) return;
        const entry = entryFromStdout(line);
        // Program output beyond the rate limit is dropped and counted; bpftrace's own lines
        // (attached_probes ...) always pass, the daemon depends on them.
        if (entry.type !== 'attached_probes') {
          if (!child.rate.admit()) {
            const n = child.rate.noteDue();
            if (n !== undefined) {
              this.emitLog(child, { time: new Date().toISOString(), type: 'kgent', data: { event: 'output-dropped', lines: n, total: child.rate.dropped, limitPerSecond: this.o.config.maxLinesPerSecond } });
            }
            return;
          }
        }
        this.emitLog(child, entry);
        if (entry.type === 'attached_probes') {
          child.attached = true;
          this.o.store.update(id, { status: 'running' });
          settle();
        }
      });
      createInterface({ input: proc.stderr! }).on('line', (line) => {
        this.emitLog(child, { time: new Date().toISOString(), type: 'stderr', data: line });
        // Kept raw: which lines are noise or bpftrace's library warnings depends on the lines around them.
        child.stderrTail.push(line);
        if (child.stderrTail.length > STDERR_TAIL_LINES) child.stderrTail.shift();
      });
      void proc.then((result) => {
        const exitCode = result.exitCode;
        const signal = result.signal;
        const format = this.o.cli.output ?? outputFormatFor(this.o.cli.version);
        const lastError = meaningfulStderr(child.stderrTail, format).slice(-20).join('\n').trim() || undefined;
        this.onExit(child, p, exitCode, signal, lastError);
        settle(
          new KgentError(
            'refused',
            `bpftrace exited before attaching (${signal ?? `exit ${exitCode}`}): ${lastError ?? 'no error output'}`,
            { programId: id, exitCode, signal },
          ),
        );
      });
    });
  }

  private onExit(child: Child, p: StoredProgram, exitCode: number | undefined, signal: string | undefined, lastError?: string): void {
    const id = child.id;
    this.children.delete(id);
    void child.log.close();
    const data = { event: 'exited', exitCode, signal };
    // The writer is closed; emit the lifecycle line to followers and append it with a fresh writer.
    const entry: LogEntry = { time: new Date().toISOString(), type: 'kgent', data };
    const tailWriter = new ProgramLogWriter(logPath(this.logDir, id), this.o.config.maxLogBytes);
    tailWriter.write(entry);
    void tailWriter.close();
    this.events.emit(`log:${id}`, entry);

    const base = { pid: null, exitCode: exitCode ?? null, exitSignal: signal ?? null } as const;
    if (child.stopping) {
      this.o.store.endRun(child.runId, exitCode, signal, this.shuttingDown ? 'daemon shutdown' : 'stopped');
      this.o.store.update(id, { ...base, status: 'stopped' });
      this.events.emit(`end:${id}`, 'stopped');
      this.o.logger.info({ programId: id }, 'bpftrace stopped');
      return;
    }
    if (exitCode === 0) {
      // The program ended itself (exit(), or an interval that finished): done, not a crash.
      this.o.store.endRun(child.runId, exitCode, signal, 'exited');
      this.o.store.update(id, { ...base, status: 'exited', desired: 'stop' });
      this.o.store.audit('exit', 'bpftrace', id, 'exit 0');
      this.events.emit(`end:${id}`, 'exited');
      return;
    }
    this.o.store.endRun(child.runId, exitCode, signal, 'crashed');
    const now = Date.now();
    const window = this.o.config.restartWindowMs;
    const crashes = (this.crashTimes.get(id) ?? []).filter((t) => now - t < window);
    crashes.push(now);
    this.crashTimes.set(id, crashes);
    const restarts = p.info.restarts + 1;
    // From the child, not the store: with a full disk the store may not have taken 'running'.
    const attached = child.attached;
    if (!attached || crashes.length > this.o.config.maxRestarts || this.shuttingDown) {
      // Never attached means it will not attach on retry either (verifier, missing probe): fail at once.
      // desired=stop: a program out of its crash budget stays failed across daemon restarts
      // instead of being attached again with a fresh budget each time.
      this.o.store.update(id, { ...base, status: 'failed', desired: 'stop', lastError: lastError ?? `exit ${exitCode ?? signal}` });
      this.o.store.audit('fail', 'bpftrace', id, lastError?.split('\n').pop() ?? `exit ${exitCode ?? signal}`);
      this.events.emit(`end:${id}`, 'failed');
      this.o.logger.warn({ programId: id, exitCode, signal, lastError }, 'bpftrace failed');
      return;
    }
    this.o.store.update(id, { ...base, status: 'restarting', restarts, lastError: lastError ?? null });
    this.o.logger.warn({ programId: id, exitCode, signal, restarts }, 'bpftrace crashed; restarting');
    const timer = setTimeout(() => {
      this.restartTimers.delete(id);
      const fresh = this.o.store.get(id);
      if (!fresh || fresh.desired !== 'run') return;
      this.spawn(fresh, 'kgentd', 'restart').catch((err: unknown) =>
        this.o.logger.warn({ programId: id, err: (err as Error).message }, 'restart failed'),
      );
    }, this.o.config.restartDelayMs);
    this.restartTimers.set(id, timer);
  }

  private emitLog(child: Child, entry: LogEntry): void {
    child.log.write(entry);
    this.events.emit(`log:${child.id}`, entry);
  }
}

/** `setpriv --pdeathsig SIGTERM --` so children die with a SIGKILLed daemon instead of staying attached. */
export function findDeathSignalWrapper(): readonly string[] | undefined {
  for (const dir of ['/usr/bin', '/bin']) {
    const p = path.join(dir, 'setpriv');
    if (existsSync(p)) return [p, '--pdeathsig', 'SIGTERM', '--'];
  }
  return undefined;
}

/**
 * Writes the file bpftrace runs, unless it already holds this source: a restart with the disk full
 * must not truncate a good copy and then fail to write it again.
 */
function writeProgramFile(file: string, source: string): void {
  try {
    if (readFileSync(file, 'utf8') === source) return;
  } catch {
    // missing: write it
  }
  writeFileSync(file, source, { mode: 0o600 });
}
