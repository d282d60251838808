/**
 * Programs, their approvals, runs, kernel checks and the audit trail. All SQL for these tables lives
 * here; callers work with the protocol's plain records.
 */
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { AuditRecord, ProgramInfo, ProgramStatus, RunRecord } from '../protocol/methods.js';
import type { Db } from './db.js';
import { bestEffort, isStorageError, storageHealth } from './storage-health.js';
import { KgentError } from '../errors.js';

export type Desired = 'run' | 'stop';

/** A person as the kernel identified them (uid, pid of their client) with their user name. */
export interface Person {
  readonly uid: number;
  readonly user: string;
  readonly pid?: number;
}

/** Who did something: a person, or the daemon's own parts by name (`kgentd`, `bpftrace`). */
export type AuditActor = Person | string;

const actorName = (a: AuditActor): string => (typeof a === 'string' ? a : a.user);
const actorUid = (a: AuditActor): number | null => (typeof a === 'string' ? null : a.uid);
const actorPid = (a: AuditActor): number | null => (typeof a === 'string' ? null : a.pid ?? null);
export type Origin = 'file' | 'request';

interface ProgramRow {
  id: number;
  name: string;
  source: string;
  probes: string;
  origin: Origin;
  submitted_by: string;
  submitted_uid: number | null;
  submitted_at: string;
  desired: Desired;
  status: ProgramStatus;
  restarts: number;
  pid: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  last_error: string | null;
  approved_by: string | null;
  approved_uid: number | null;
  approved_at: string | null;
  owner_revoked: 'stopped' | 'flagged' | null;
  owner_revoked_at: string | null;
}

export interface StoredProgram {
  readonly info: ProgramInfo;
  readonly source: string;
  readonly desired: Desired;
  readonly origin: Origin;
}

export interface NewProgram {
  readonly name: string;
  readonly source: string;
  readonly probes: readonly string[];
  readonly origin: Origin;
  readonly submittedBy: Person;
  readonly status: ProgramStatus;
  readonly desired: Desired;
}

export interface ProgramUpdate {
  readonly status?: ProgramStatus;
  readonly desired?: Desired;
  readonly pid?: number | null;
  readonly restarts?: number;
  readonly exitCode?: number | null;
  readonly exitSignal?: string | null;
  readonly lastError?: string | null;
}

const now = (): string => new Date().toISOString();

const SELECT_PROGRAM = `
  SELECT p.*, a.approved_by, a.approved_uid, a.approved_at
  FROM programs p
  LEFT JOIN approvals a ON a.id = (SELECT MAX(id) FROM approvals WHERE program_id = p.id)`;

export class ProgramStore {
  constructor(
    private readonly db: Db,
    private readonly logPathOf: (id: number) => string,
  ) {}

  create(p: NewProgram): StoredProgram {
    return strict('store the program', () => this.createRow(p));
  }

  private createRow(p: NewProgram): StoredProgram {
    const t = now();
    const sha = createHash('sha256').update(p.source).digest('hex');
    const res = this.db
      .prepare(
        `INSERT INTO programs (name, source, source_sha256, probes, origin, submitted_by, submitted_uid, submitted_at, desired, status, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(p.name, p.source, sha, JSON.stringify(p.probes), p.origin, p.submittedBy.user, p.submittedBy.uid, t, p.desired, p.status, t);
    return this.get(Number(res.lastInsertRowid))!;
  }

  get(id: number): StoredProgram | undefined {
    const row = this.db.prepare(`${SELECT_PROGRAM} WHERE p.id = ?`).get(id) as ProgramRow | undefined;
    return row ? this.toStored(row) : undefined;
  }

  list(): StoredProgram[] {
    return (this.db.prepare(`${SELECT_PROGRAM} ORDER BY p.id`).all() as ProgramRow[]).map((r) => this.toStored(r));
  }

  /** Programs a restarted daemon must attach again. */
  listDesiredRunning(): StoredProgram[] {
    return (this.db.prepare(`${SELECT_PROGRAM} WHERE p.desired = 'run' ORDER BY p.id`).all() as ProgramRow[]).map((r) =>
      this.toStored(r),
    );
  }

  /** Status bookkeeping: skipped (and counted) while the disk is full, so supervision goes on. */
  update(id: number, u: ProgramUpdate): void {
    const merged = { ...this.pending.get(id), ...u };
    if (bestEffort(() => (this.updateRow(id, merged), true), false)) {
      this.pending.delete(id);
      this.flushPending();
    } else {
      this.pending.set(id, merged);
    }
  }

  /** Updates the disk refused, written when it takes writes again (reads see them meanwhile). */
  private readonly pending = new Map<number, ProgramUpdate>();

  private flushPending(): void {
    for (const [id, u] of [...this.pending]) {
      if (!bestEffort(() => (this.updateRow(id, u), true), false)) return;
      this.pending.delete(id);
    }
  }

  /** A row as it would be had the disk taken every update (a full disk must not make reads lie). */
  private withPending(row: ProgramRow): ProgramRow {
    const u = this.pending.get(row.id);
    if (!u) return row;
    return {
      ...row,
      ...(u.status !== undefined ? { status: u.status } : {}),
      ...(u.desired !== undefined ? { desired: u.desired } : {}),
      ...(u.pid !== undefined ? { pid: u.pid } : {}),
      ...(u.restarts !== undefined ? { restarts: u.restarts } : {}),
      ...(u.exitCode !== undefined ? { exit_code: u.exitCode } : {}),
      ...(u.exitSignal !== undefined ? { exit_signal: u.exitSignal } : {}),
      ...(u.lastError !== undefined ? { last_error: u.lastError } : {}),
    };
  }

  private updateRow(id: number, u: ProgramUpdate): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    const put = (col: string, v: unknown): void => {
      sets.push(`${col} = ?`);
      values.push(v);
    };
    if (u.status !== undefined) put('status', u.status);
    if (u.desired !== undefined) put('desired', u.desired);
    if (u.pid !== undefined) put('pid', u.pid);
    if (u.restarts !== undefined) put('restarts', u.restarts);
    if (u.exitCode !== undefined) put('exit_code', u.exitCode);
    if (u.exitSignal !== undefined) put('exit_signal', u.exitSignal);
    if (u.lastError !== undefined) put('last_error', u.lastError);
    put('updated_at', now());
    this.db.prepare(`UPDATE programs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  /** Marks a program whose owner lost their rights: stopped for it, or flagged and left running. */
  markOwnerRevoked(id: number, how: 'stopped' | 'flagged'): void {
    bestEffort(() => this.db.prepare('UPDATE programs SET owner_revoked = ?, owner_revoked_at = ?, updated_at = ? WHERE id = ?').run(how, now(), now(), id), undefined);
  }

  approve(id: number, approvedBy: Person, how: 'submitter' | 'explicit'): void {
    strict('record the approval', () =>
      this.db
        .prepare('INSERT INTO approvals (program_id, approved_by, approved_uid, approved_at, how) VALUES (?, ?, ?, ?, ?)')
        .run(id, approvedBy.user, approvedBy.uid, now(), how),
    );
  }

  isApproved(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM approvals WHERE program_id = ? LIMIT 1').get(id) !== undefined;
  }

  recordKernelCheck(programId: number | null, ok: boolean, durationMs: number, diagnostics: readonly Diagnostic[]): void {
    bestEffort(() => this.db
      .prepare('INSERT INTO kernel_checks (program_id, at, ok, duration_ms, diagnostics) VALUES (?, ?, ?, ?, ?)')
      .run(programId, now(), ok ? 1 : 0, Math.round(durationMs), JSON.stringify(diagnostics)), undefined);
  }

  /** The run's id, or -1 when the disk refused the row (the program runs anyway). */
  startRun(programId: number, pid: number | undefined): number {
    return bestEffort(() => {
      const res = this.db
        .prepare('INSERT INTO runs (program_id, started_at, pid) VALUES (?, ?, ?)')
        .run(programId, now(), pid ?? null);
      return Number(res.lastInsertRowid);
    }, -1);
  }

  endRun(runId: number, exitCode: number | undefined, exitSignal: string | undefined, reason: string): void {
    bestEffort(() => this.db
      .prepare('UPDATE runs SET ended_at = ?, exit_code = ?, exit_signal = ?, reason = ? WHERE id = ? AND ended_at IS NULL')
      .run(now(), exitCode ?? null, exitSignal ?? null, reason, runId), undefined);
  }

  /** Runs a killed daemon left open: closed with the reason, so history stays truthful. */
  closeDanglingRuns(reason: string): number {
    return bestEffort(() => this.db.prepare('UPDATE runs SET ended_at = ?, reason = ? WHERE ended_at IS NULL').run(now(), reason).changes, 0);
  }

  runs(programId: number): RunRecord[] {
    const rows = this.db.prepare('SELECT * FROM runs WHERE program_id = ? ORDER BY id').all(programId) as {
      id: number;
      started_at: string;
      ended_at: string | null;
      pid: number | null;
      exit_code: number | null;
      exit_signal: string | null;
      reason: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      ...(r.ended_at ? { endedAt: r.ended_at } : {}),
      ...(r.pid !== null ? { pid: r.pid } : {}),
      ...(r.exit_code !== null ? { exitCode: r.exit_code } : {}),
      ...(r.exit_signal ? { exitSignal: r.exit_signal } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
    }));
  }

  /** An audit row; while the disk is full it is counted as dropped (the journal still has the line). */
  audit(action: string, actor: AuditActor, programId?: number, detail?: string, requestId?: number): void {
    bestEffort(
      () =>
        this.db
          .prepare('INSERT INTO audit (at, action, actor, actor_uid, actor_pid, program_id, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(now(), action, actorName(actor), actorUid(actor), actorPid(actor), programId ?? null, requestId ?? null, detail ?? null),
      undefined,
    );
  }

  auditTrail(programId?: number): AuditRecord[] {
    const rows = (
      programId === undefined
        ? this.db.prepare('SELECT * FROM audit ORDER BY id').all()
        : this.db.prepare('SELECT * FROM audit WHERE program_id = ? ORDER BY id').all(programId)
    ) as { at: string; action: string; actor: string; actor_uid: number | null; program_id: number | null; detail: string | null }[];
    return rows.map((r) => ({
      at: r.at,
      action: r.action,
      actor: r.actor,
      ...(r.actor_uid !== null ? { actorUid: r.actor_uid } : {}),
      ...(r.program_id !== null ? { programId: r.program_id } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
    }));
  }

  private toStored(row: ProgramRow): StoredProgram {
    const r = this.withPending(row);
    const info: ProgramInfo = {
      id: r.id,
      name: r.name,
      status: r.status,
      submittedBy: r.submitted_by,
      ...(r.submitted_uid !== null ? { submittedUid: r.submitted_uid } : {}),
      submittedAt: r.submitted_at,
      ...(r.approved_by ? { approvedBy: r.approved_by, approvedAt: r.approved_at! } : {}),
      ...(r.approved_uid !== null && r.approved_uid !== undefined ? { approvedUid: r.approved_uid } : {}),
      probes: JSON.parse(r.probes) as string[],
      ...(r.pid !== null ? { pid: r.pid } : {}),
      restarts: r.restarts,
      ...(r.exit_code !== null ? { exitCode: r.exit_code } : {}),
      ...(r.exit_signal ? { exitSignal: r.exit_signal } : {}),
      ...(r.last_error ? { lastError: r.last_error } : {}),
      ...(r.owner_revoked ? { ownerRevoked: r.owner_revoked, ...(r.owner_revoked_at ? { ownerRevokedAt: r.owner_revoked_at } : {}) } : {}),
      logPath: this.logPathOf(r.id),
    };
    return { info, source: r.source, desired: r.desired, origin: r.origin };
  }
}

/** A write the caller's request depends on: a full disk fails the request with a clear `io` error. */
export function strict<T>(what: string, fn: () => T): T {
  try {
    const out = fn();
    storageHealth.recovered();
    return out;
  } catch (err) {
    if (!isStorageError(err)) throw err;
    storageHealth.storeWriteDropped(err);
    throw new KgentError('io', `cannot ${what}: ${(err as Error).message} (is the disk under the state dir full?)`);
  }
}
