/**
 * Programs as the daemon manages them: check in the kernel, store, approve, attach, stop, logs, and
 * the restore after a daemon restart. Policy lives here: nothing is attached without an approval,
 * at most `policy.maxAttachedPrograms` run at once, and a program is checked against the policy of
 * its submitter's role (daemon/policy/rights.ts decides who may ask for what; handlers ask it).
 * Every submit, approve, attach, stop and refusal is audited with the person's uid and name, in
 * the audit table and in the journal.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { KgentConfig } from '../config.js';
import { KgentError } from '../errors.js';
import { kernelCheck } from '../kernel-check/kernel-check.js';
import type { CheckRequester } from '../kernel-check/check-limits.js';
import type { Logger } from '../log.js';
import { hasErrors, type Diagnostic } from '../protocol/diagnostic.js';
import type {
  CheckResult,
  LogEntry,
  LogsResult,
  ProgramInfo,
  RunResult,
  ShowResult,
} from '../protocol/methods.js';
import type { BpftraceCli } from '../runner/bpftrace-cli.js';
import { logPath, readLogAfter, readLogTail } from '../runner/program-log.js';
import type { Supervisor } from '../runner/supervisor.js';
import type { AuditActor, Person, ProgramStore, StoredProgram } from '../store/program-store.js';
import type { LintPolicy } from '../verifier/lints/index.js';
import { hiddenProbeTargets, worldReadable, type Visibility } from '../policy/probe-targets.js';
import { defaultName } from './default-name.js';
import { analyzeProgram, type AttachableProbes } from './program-analysis.js';

export interface ProgramServiceOptions {
  readonly config: KgentConfig;
  readonly store: ProgramStore;
  readonly supervisor: Supervisor;
  readonly cli: BpftraceCli;
  readonly probes: AttachableProbes;
  readonly logger: Logger;
  readonly deathSignalWrapper?: readonly string[];
  /** Whether a uprobe/usdt target is open to everyone (policy/probe-targets.ts); the file system's answer when absent. */
  readonly visibility?: Visibility;
}

export interface Submission {
  readonly source: string;
  readonly name?: string;
  readonly submittedBy: Person;
  /** What the submitter's role may use (daemon/policy/rights.ts `lintPolicy`). */
  readonly policy: LintPolicy;
  /** An admin's own `kgentctl run` approves its program; a request without approval waits. */
  readonly approve: boolean;
  readonly origin: 'file' | 'request';
  /** Whose share of the kernel-check slots the check uses (kgentd's own when absent). */
  readonly requester?: CheckRequester;
  /** Cancels the kernel check when the caller is gone. */
  readonly signal?: AbortSignal;
}

/** Whose kernel check this is and when to give it up (daemon/kernel-check/check-limits.ts). */
export interface CheckOn {
  readonly requester?: CheckRequester;
  readonly signal?: AbortSignal;
}

/** The strictest policy: for checks made without a caller (the Kgent loop's own kernel checks). */
export const STRICT_POLICY: LintPolicy = { allowUnsafe: false, deniedBuiltins: ['cat'], denyRawMemory: true, hostFilesHidden: true };

export class ProgramService {
  constructor(private readonly o: ProgramServiceOptions) {}

  /**
   * Static checks (syntax, probe availability, `policy`), then the kernel's verifier through
   * bpftrace; nothing the policy refuses reaches bpftrace.
   */
  async check(source: string, fileName: string, policy: LintPolicy = STRICT_POLICY, on: CheckOn = {}): Promise<CheckResult & { probes: string[] }> {
    const started = performance.now();
    if (Buffer.byteLength(source) > this.o.config.maxProgramBytes) {
      throw new KgentError(
        'bad-request',
        `program is ${Buffer.byteLength(source)} bytes, over the limit of ${this.o.config.maxProgramBytes}; split it or raise maxProgramBytes`,
      );
    }
    const analysis = analyzeProgram(source, fileName, this.o.probes, policy);
    if (policy.hostFilesHidden && analysis.program) {
      analysis.diagnostics.push(...hiddenProbeTargets(analysis.program, this.o.visibility ?? worldReadable, policy.subject ? ` for ${policy.subject}` : ''));
    }
    if (hasErrors(analysis.diagnostics)) {
      return {
        ok: false,
        diagnostics: analysis.diagnostics,
        durationMs: performance.now() - started,
        method: 'static checks before loading (nothing was loaded)',
        probes: analysis.probes,
      };
    }
    const result = await kernelCheck(
      this.o.cli,
      {
        source,
        fileName,
        unsafe: policy.allowUnsafe,
        hostFilesHidden: policy.hostFilesHidden ?? false,
        ...(analysis.beginBodyOffset !== undefined ? { beginBodyOffset: analysis.beginBodyOffset } : {}),
      },
      {
        timeoutMs: this.o.config.kernelCheckTimeoutMs,
        onWithheld: (lines) =>
          this.o.logger.warn({ fileName, lines }, `compiler output about an included file withheld from ${policy.subject ?? 'the caller'}`),
        ...(this.o.deathSignalWrapper ? { deathSignalWrapper: this.o.deathSignalWrapper } : {}),
        ...(on.requester ? { requester: on.requester } : {}),
        ...(on.signal ? { signal: on.signal } : {}),
      },
    );
    return { ...result, diagnostics: [...analysis.diagnostics, ...result.diagnostics], probes: analysis.probes };
  }

  async run(sub: Submission): Promise<RunResult> {
    const name = sub.name ?? defaultName(sub.source);
    const check = await this.check(sub.source, name, sub.policy, { ...(sub.requester ? { requester: sub.requester } : {}), ...(sub.signal ? { signal: sub.signal } : {}) });
    const { probes, ...checkResult } = check;
    const stored = this.o.store.create({
      name,
      source: sub.source,
      probes,
      origin: sub.origin,
      submittedBy: sub.submittedBy,
      status: check.ok ? 'pending-approval' : 'rejected',
      desired: 'stop',
    });
    const id = stored.info.id;
    this.o.store.recordKernelCheck(id, check.ok, check.durationMs, check.diagnostics);
    if (!check.ok) {
      const first = check.diagnostics.find((d) => d.severity === 'error');
      this.o.store.update(id, { lastError: first?.message ?? 'rejected' });
      this.audit('refuse', sub.submittedBy, id, first?.message);
      return { program: this.info(id), check: checkResult };
    }
    this.audit('submit', sub.submittedBy, id, `${probes.length} attach point(s)`);
    if (sub.approve) {
      this.o.store.approve(id, sub.submittedBy, 'submitter');
      this.audit('approve', sub.submittedBy, id, 'submitter approves their own program');
      await this.attach(id, sub.submittedBy);
    }
    return { program: this.info(id), check: checkResult };
  }

  async approve(id: number, approvedBy: Person): Promise<ProgramInfo> {
    const p = this.get(id);
    if (p.info.status !== 'pending-approval') {
      throw new KgentError('conflict', `program ${id} is ${p.info.status}, not waiting for approval`, { id });
    }
    this.o.store.approve(id, approvedBy, 'explicit');
    this.audit('approve', approvedBy, id);
    await this.attach(id, approvedBy);
    return this.info(id);
  }

  /** Starts an approved program; a start failure is recorded on the program, not thrown. */
  private async attach(id: number, actor: Person): Promise<void> {
    if (!this.o.store.isApproved(id)) {
      this.audit('refuse', actor, id, 'attach without approval');
      throw new KgentError('refused', `program ${id} is not approved; approve it first (kgentctl approve ${id})`, { id });
    }
    const limit = this.o.config.policy.maxAttachedPrograms;
    const attached = this.o.store.list().filter((p) => ['starting', 'running', 'restarting'].includes(p.info.status)).length;
    if (attached >= limit) {
      const why = `${attached} programs are attached, the limit (policy.maxAttachedPrograms ${limit}); stop one (kgentctl list, kgentctl stop ID) and approve again`;
      this.audit('refuse', actor, id, `attach: ${why}`);
      // Approved but not attached: back to waiting, so `kgentctl approve` can try again later.
      this.o.store.update(id, { status: 'pending-approval', lastError: why });
      throw new KgentError('refused', `program ${id} not attached: ${why}`, { id, attached, limit });
    }
    this.journal('attach', actor, id);
    try {
      await this.o.supervisor.start(this.get(id), actor);
    } catch (err) {
      this.o.logger.warn({ programId: id, err: (err as Error).message }, 'attach failed');
    }
  }

  /** Programs, all or (`ownerUid`) those one user submitted. */
  list(all: boolean, ownerUid?: number): ProgramInfo[] {
    const programs = this.o.store
      .list()
      .map((p) => p.info)
      .filter((p) => ownerUid === undefined || p.submittedUid === ownerUid);
    return all ? programs : programs.filter((p) => p.status !== 'rejected' || isRecent(p.submittedAt));
  }

  show(id: number): ShowResult {
    const p = this.get(id);
    const dropped = this.o.supervisor.droppedOutput(id);
    const program = dropped > 0 ? { ...p.info, droppedOutputLines: dropped } : p.info;
    return { program, source: p.source, runs: this.o.store.runs(id), audit: this.o.store.auditTrail(id) };
  }

  async stop(id: number, actor: Person): Promise<ProgramInfo> {
    const p = this.get(id);
    this.journal('stop', actor, id);
    if (!this.o.supervisor.isRunning(id) && p.info.status !== 'restarting') {
      if (p.desired === 'run') this.o.store.update(id, { desired: 'stop', status: 'stopped' });
      else throw new KgentError('conflict', `program ${id} is not running (${p.info.status})`, { id });
      this.o.store.audit('stop', actor, id, `was ${p.info.status}`);
      return this.info(id);
    }
    await this.o.supervisor.stop(id, actor);
    return this.info(id);
  }

  async logs(
    id: number,
    tail: number,
    follow: boolean,
    sink?: { send: (e: LogEntry) => boolean; end: (reason: string) => void; onClose: (fn: () => void) => void },
    after?: string,
  ): Promise<LogsResult> {
    this.get(id);
    const file = logPath(this.o.supervisor.logDir, id);
    const read = after === undefined ? await readLogTail(file, tail) : await readLogAfter(file, after, tail);
    const { entries } = read;
    const position = { cursor: read.cursor, ...(after !== undefined ? { more: read.more, gap: read.gap } : {}) };
    const live = this.o.supervisor.isRunning(id) || this.get(id).info.status === 'restarting';
    if (!follow || !sink || !live) return { entries, following: false, ...position };
    const unsubscribe = this.o.supervisor.follow(
      id,
      (e) => {
        if (!sink.send(e)) unsubscribe();
      },
      (reason) => {
        if (reason !== 'restarting') {
          unsubscribe();
          sink.end(reason);
        }
      },
    );
    sink.onClose(unsubscribe);
    return { entries, following: true, ...position };
  }

  /**
   * After a daemon restart: children of a killed daemon are stopped (they may have outlived it
   * where setpriv is missing), then every program that should run is attached again.
   */
  async restore(): Promise<{ reattached: number; failed: number }> {
    const closed = this.o.store.closeDanglingRuns('daemon stopped without stopping this run');
    if (closed > 0) this.o.logger.warn({ closed }, 'closed runs left open by a previous kgentd');
    let reattached = 0;
    let failed = 0;
    for (const p of this.o.store.listDesiredRunning()) {
      killOrphan(p, this.o.supervisor.programFile(p.info.id), this.o.logger);
      try {
        await this.o.supervisor.start(p, 'kgentd');
        this.o.store.audit('reattach', 'kgentd', p.info.id, 'after daemon restart');
        reattached++;
      } catch (err) {
        failed++;
        this.o.logger.warn({ programId: p.info.id, err: (err as Error).message }, 're-attach failed');
      }
    }
    return { reattached, failed };
  }

  /**
   * Programs whose owner's rights must be checked again: they run or should run, a member
   * submitted them (root's never lose theirs), and they are not marked yet.
   */
  ownedRunning(): { id: number; ownerUid: number; owner: string }[] {
    return this.o.store
      .listDesiredRunning()
      .filter((p) => p.info.submittedUid !== undefined && p.info.submittedUid !== 0 && p.info.ownerRevoked === undefined)
      .map((p) => ({ id: p.info.id, ownerUid: p.info.submittedUid!, owner: p.info.submittedBy }));
  }

  /**
   * The owner of program `id` left the socket and admin groups: stop it (and keep it stopped over
   * restarts), or only flag it, as policy.revokedPrograms says. Audited on the program.
   */
  async revokeOwner(id: number, how: 'stop' | 'flag', detail: string): Promise<ProgramInfo> {
    const p = this.get(id);
    if (how === 'flag') {
      this.o.store.markOwnerRevoked(id, 'flagged');
      this.audit('owner-revoked', 'kgentd', id, `${detail}; left running (policy.revokedPrograms "flag")`);
      return this.info(id);
    }
    this.audit('owner-revoked', 'kgentd', id, `${detail}; stopped (policy.revokedPrograms "stop")`);
    if (this.o.supervisor.isRunning(id) || p.info.status === 'restarting') await this.o.supervisor.stop(id, 'kgentd');
    else killOrphan(p, this.o.supervisor.programFile(id), this.o.logger);
    this.o.store.update(id, { desired: 'stop', status: 'stopped', pid: null, lastError: detail });
    this.o.store.markOwnerRevoked(id, 'stopped');
    return this.info(id);
  }

  counts(): { total: number; running: number; failed: number } {
    const all = this.o.store.list();
    return {
      total: all.length,
      running: all.filter((p) => p.info.status === 'running').length,
      failed: all.filter((p) => p.info.status === 'failed').length,
    };
  }

  private get(id: number): StoredProgram {
    const p = this.o.store.get(id);
    if (!p) throw programNotFound(id);
    return p;
  }

  /** An audit row and its journal line. */
  private audit(action: string, actor: AuditActor, id: number, detail?: string): void {
    this.o.store.audit(action, actor, id, detail);
    this.journal(action, actor, id, detail);
  }

  /** The journal line of an audited action (the supervisor writes attach/stop rows itself). */
  private journal(action: string, actor: AuditActor, id: number, detail?: string): void {
    const who = typeof actor === 'string' ? { actor } : { uid: actor.uid, user: actor.user, pid: actor.pid };
    this.o.logger.info({ audit: action, ...who, programId: id, ...(detail ? { detail } : {}) }, `audit: ${action} program ${id}`);
  }

  /** A program's info, or undefined when there is no such program. */
  find(id: number): ProgramInfo | undefined {
    return this.o.store.get(id)?.info;
  }

  private info(id: number): ProgramInfo {
    return this.get(id).info;
  }
}

/**
 * The answer for a program id that does not exist, and (daemon/policy/rights.ts `requireVisible`)
 * for one the caller may not see: the same code and text, so ids cannot be probed.
 */
export function programNotFound(id: number): KgentError {
  return new KgentError('not-found', `no program ${id}; see kgentctl list`, { id });
}

function isRecent(iso: string): boolean {
  return Date.now() - Date.parse(iso) < 24 * 3600 * 1000;
}

/** A bpftrace left running by a SIGKILLed daemon holds our program file on its command line. */
function killOrphan(p: StoredProgram, programFile: string, logger: Logger): void {
  const pid = p.info.pid;
  if (!pid) return;
  const cmdlinePath = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdlinePath)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(cmdlinePath, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.split('\0').includes(programFile)) return; // pid reused by something else
  try {
    process.kill(pid, 'SIGKILL');
    logger.warn({ programId: p.info.id, pid }, 'killed bpftrace left over from a previous kgentd');
  } catch {
    // already gone
  }
}

