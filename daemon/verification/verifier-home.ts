/**
 * The verifier's home in kgentd: a child process (`verifier-child.ts`) started with the first
 * verification and let go after `idleMs` without one, so Z3's WebAssembly heap (~110 MB resident)
 * is held only while programs are being verified. A worker thread would share the daemon's process
 * and leave the release to V8 and the allocator; a process that exits gives the memory back for sure.
 *
 * The child asks for the contracts it needs by message and the home answers from the daemon's
 * provider. A child that dies mid-verification (a crash of Z3's WebAssembly, a kill) fails the
 * requests it held with a typed `internal` error; the next verification starts a fresh one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROBE_TYPES } from '../../kernel-contracts/probe-types.js';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import type { ProbeContractProvider } from '../verifier/contract-seam.js';
import type { LintProbeSupport } from '../verifier/lints/index.js';
import type { ContractQuestion, FromVerifier, ProbeTable, ToVerifier, VerifyOptionsWire } from './verifier-messages.js';
import { DEFAULT_DIALECT } from '../verifier/dialect/index.js';

const CHILD_JS = fileURLToPath(new URL('./verifier-child.js', import.meta.url));
/** How long a child asked to stop may take before it is killed. */
const STOP_GRACE_MS = 2000;

export interface VerifierHomeOptions {
  /** The daemon's view of the running kernel; the child's contract questions are answered from it. */
  readonly contracts: ProbeContractProvider;
  readonly probes: LintProbeSupport;
  readonly allowUnsafe: boolean;
  /** The host's bpftrace dialect (a profile's version), used when a verification names none. */
  readonly dialect?: string;
  /** The child is let go after this long without a verification. */
  readonly idleMs: number;
  readonly logger: Logger;
  /** The child's script (default: the compiled `verifier-child.js` beside this module). */
  readonly childScript?: string;
}

interface Pending {
  readonly resolve: (r: VerifyReport) => void;
  readonly reject: (e: Error) => void;
}

export class VerifierHome {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly probeTable: ProbeTable;
  /** Children started so far (for the log and tests). */
  started = 0;

  constructor(private readonly o: VerifierHomeOptions) {
    this.probeTable = Object.fromEntries(
      PROBE_TYPES.map((t) => {
        const available = o.probes.isAvailable(t);
        return [t, { available, reason: available ? '' : o.probes.reason(t) }];
      }),
    );
  }

  /** The dialect verifications get when they name none (a profile's version). */
  get dialect(): string {
    return this.o.dialect ?? DEFAULT_DIALECT.version;
  }

  /** The pid of the running child, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Verifies `source` in the child (started when none runs). `signal` abandons the wait: the
   * request fails with the signal's reason; the child finishes the program and drops the answer.
   */
  verify(source: string, options: VerifyOptionsWire = {}, signal?: AbortSignal): Promise<VerifyReport> {
    if (this.closed) return Promise.reject(new KgentError('unavailable', 'kgentd is stopping; the verifier is closed'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const child = this.ensureChild();
    const id = this.nextId++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return new Promise<VerifyReport>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        reject(abortError(signal!));
        this.armIdle();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const dialect = options.dialect ?? this.o.dialect;
      this.pending.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          // The report names the rules it was made under, so a request's result and `show` say it.
          resolve({ ...r, dialect: dialect ?? DEFAULT_DIALECT.version });
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      const msg: ToVerifier = { t: 'verify', id, source, options: { ...options, ...(dialect !== undefined ? { dialect } : {}) }, probes: this.probeTable, allowUnsafe: this.o.allowUnsafe };
      child.send(msg, (err) => {
        if (err) this.settle(id, (p) => p.reject(new KgentError('internal', `cannot reach the verifier process: ${err.message}`)));
      });
    });
  }

  /** Stops the child (if any) and fails what it still held; later verifications are refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    await this.stopChild('kgentd is stopping');
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    // `advanced` serialization is the structured-clone algorithm: contracts carry bigints.
    const child = fork(this.o.childScript ?? CHILD_JS, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    this.started++;
    this.o.logger.debug({ pid: child.pid }, 'verifier process started');
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('message', (m: FromVerifier) => this.onMessage(child, m));
    child.on('error', (err) => {
      this.o.logger.error({ err: err.message }, 'verifier process error');
      this.lost(child, `the verifier process failed: ${err.message}`);
    });
    child.on('exit', (code, sig) => {
      const how = sig ? `killed by ${sig}` : `exited with code ${code}`;
      if (this.pending.size > 0) this.o.logger.error({ pid: child.pid, code, signal: sig, stderr: stderr.trim() || undefined }, `verifier process ${how} while verifying`);
      else this.o.logger.debug({ pid: child.pid, code, signal: sig }, 'verifier process ended');
      this.lost(child, `the verifier process ${how} while checking this program; nothing was verified (the next verification starts a fresh one)`);
    });
    return child;
  }

  /** `child` is gone: every request it held fails with `why`. */
  private lost(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const held = [...this.pending.values()];
    this.pending.clear();
    for (const p of held) p.reject(new KgentError('internal', why, { stage: 'verifier' }));
  }

  private onMessage(child: ChildProcess, m: FromVerifier): void {
    switch (m.t) {
      case 'ask':
        void this.answer(child, m.qid, m.question, m.args);
        return;
      case 'done':
        this.settle(m.id, (p) => p.resolve(m.report));
        return;
      case 'failed':
        this.o.logger.error({ err: m.message, stack: m.stack }, 'verifier failed');
        this.settle(m.id, (p) => p.reject(new KgentError('internal', `the verifier could not run: ${m.message}`, { stage: 'verifier' })));
        return;
    }
  }

  private async answer(child: ChildProcess, qid: number, question: ContractQuestion, args: readonly unknown[]): Promise<void> {
    let reply: ToVerifier;
    try {
      const c = this.o.contracts as unknown as Record<ContractQuestion, ((...a: unknown[]) => unknown) | undefined>;
      const fn = c[question];
      const value = fn ? await fn.apply(this.o.contracts, [...args]) : question === 'hostFacts' ? {} : [];
      reply = { t: 'answer', qid, value };
    } catch (err) {
      reply = { t: 'answer', qid, error: err instanceof Error ? err.message : String(err) };
    }
    if (child.connected) child.send(reply, () => undefined);
  }

  private settle(id: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    fn(p);
    this.armIdle();
  }

  /** With nothing in flight, the child is let go after `idleMs`. */
  private armIdle(): void {
    if (this.pending.size > 0 || !this.child || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.pending.size === 0) void this.stopChild('idle');
    }, this.o.idleMs);
    this.idleTimer.unref();
  }

  private async stopChild(why: string): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.o.logger.debug({ pid: child.pid, why }, 'verifier process let go');
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    this.lost(child, why === 'idle' ? 'the verifier process was let go' : `${why}; nothing was verified`);
    // Closing the channel makes the child exit; a child stuck in Z3 is killed after the grace.
    if (child.connected) child.disconnect();
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(kill);
  }
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new KgentError('unavailable', 'the verification was cancelled');
}
