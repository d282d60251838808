/**
 * The daemon's and programs' control-socket methods as typed constants: name, the schema params
 * are validated against at the boundary, and (as a phantom type) the result. Contracts' methods
 * are in `contracts-api.ts`, verification in `verify-api.ts`; `index.ts` gathers them all.
 */
import type { Diagnostic } from './diagnostic.js';
import { defineMethod as method, defineNotification } from './spec.js';
import { bool, int, obj, optional, str } from './validate.js';

/** Largest accepted program source, before the daemon's own configured limit applies. */
export const MAX_SOURCE_CHARS = 1024 * 1024;

const programId = int({ min: 1 });

// ---- result types -------------------------------------------------------------------------------

export type ProgramStatus =
  | 'pending-approval'
  | 'rejected'
  | 'starting'
  | 'running'
  | 'restarting'
  | 'exited'
  | 'failed'
  | 'stopped';

export interface ProgramInfo {
  readonly id: number;
  readonly name: string;
  readonly status: ProgramStatus;
  /** User name of the submitter, as the kernel identified their connection (SO_PEERCRED). */
  readonly submittedBy: string;
  /** Their uid; absent on programs stored before identities came from the kernel. */
  readonly submittedUid?: number;
  readonly submittedAt: string;
  readonly approvedBy?: string;
  readonly approvedUid?: number;
  readonly approvedAt?: string;
  /** Attach points as written in the program. */
  readonly probes: readonly string[];
  readonly pid?: number;
  readonly restarts: number;
  readonly exitCode?: number;
  readonly exitSignal?: string;
  /** Last lines of bpftrace's stderr when it failed, or why it was rejected. */
  readonly lastError?: string;
  /**
   * Set when the submitter is no longer in the socket or admin group: `stopped` (the program was
   * stopped for it) or `flagged` (policy.revokedPrograms "flag": left running, marked).
   */
  readonly ownerRevoked?: 'stopped' | 'flagged';
  readonly ownerRevokedAt?: string;
  /** Output lines dropped over the runner's rate limit (`runner.maxLinesPerSecond`) since it last started. */
  readonly droppedOutputLines?: number;
  readonly logPath: string;
  /**
   * For a program made by a request: the verdict of its verified attempt and the hints that proof
   * rests on (`proved-under-hints`), which whoever approves the program accepts.
   */
  readonly verification?: ProgramVerification;
}

/**
 * How a request's program was verified (see {@link ProgramInfo.verification}). Spelled out rather
 * than imported from `verify-api.ts` (which imports this module): `verdict` is a `ProgramVerdict`,
 * each hint a `HintUse`.
 */
export interface ProgramVerification {
  readonly requestId: number;
  readonly verdict: 'proved' | 'proved-under-hints';
  readonly hints: readonly { readonly hint: string; readonly source: string; readonly usedBy: number }[];
  /** The bpftrace dialect it was verified under (`0.23`); absent in reports stored before it was recorded. */
  readonly dialect?: string;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  readonly durationMs: number;
  /** How the check was done (e.g. `bpftrace 0.17.0: load, attach, SIGINT before any event`). */
  readonly method: string;
}

export interface RunResult {
  readonly program: ProgramInfo;
  readonly check: CheckResult;
}

export interface RunRecord {
  readonly id: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly pid?: number;
  readonly exitCode?: number;
  readonly exitSignal?: string;
  readonly reason?: string;
}

export interface AuditRecord {
  readonly at: string;
  readonly action: string;
  /** A user name (with `actorUid`), or the daemon's own parts: `kgentd`, `bpftrace`. */
  readonly actor: string;
  readonly actorUid?: number;
  readonly programId?: number;
  readonly detail?: string;
}

export interface ShowResult {
  readonly program: ProgramInfo;
  readonly source: string;
  readonly runs: readonly RunRecord[];
  readonly audit: readonly AuditRecord[];
}

/** One line of a program's log: bpftrace's own JSON output (`type`, `data`) stamped with a time. */
export interface LogEntry {
  readonly time: string;
  readonly type: string;
  readonly data: unknown;
}

export interface LogsResult {
  readonly entries: readonly LogEntry[];
  /** True when `programs.log` notifications will follow on this connection. */
  readonly following: boolean;
  /**
   * Where the entries returned end: pass it as `after` to get only what was written since
   * (opaque; absent from daemons that predate it).
   */
  readonly cursor?: string;
  /** With `after`: more entries follow the ones returned (call again with the new cursor). */
  readonly more?: boolean;
  /**
   * With `after`: the log was rotated past the cursor, so entries between the cursor and the
   * first one returned are gone (the oldest kept entries are returned).
   */
  readonly gap?: boolean;
}

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a warn/fail. */
  readonly fix?: string;
}

export interface DoctorResult {
  readonly checks: readonly DoctorCheck[];
}

export interface StatusResult {
  readonly version: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
  readonly socketPath: string;
  readonly stateDir: string;
  readonly kernelRelease: string;
  readonly bpftrace: {
    readonly path: string;
    readonly version?: string;
    /** The dialect programs are verified and written in (a profile's version, `0.23`). */
    readonly dialect?: string;
    /** Why that dialect is not the version's own (newer than kgent models, unknown version). */
    readonly dialectWarning?: string;
  };
  readonly programs: { readonly total: number; readonly running: number; readonly failed: number };
  /** Writes the disk refused (full disk): programs keep running, their log lines are counted and dropped. */
  readonly storage?: {
    readonly writable: boolean;
    readonly droppedLogLines: number;
    readonly droppedStoreWrites: number;
    readonly lastError?: string;
    readonly failingSince?: string;
  };
  /** Kernel checks running now and waiting for a slot. */
  readonly kernelChecks?: { readonly running: number; readonly queued: number };
  /** The caller, as the kernel identified their connection. */
  readonly you?: { readonly uid: number; readonly user: string; readonly role: 'admin' | 'member' };
  /**
   * What `kgentctl mcp` may offer agents (config key `mcp`): with `adminsMayApprove`, the `approve`
   * and `run` tools for admins; off (the default), agents only propose and a person approves.
   */
  readonly mcp?: { readonly adminsMayApprove: boolean };
}


// ---- methods ------------------------------------------------------------------------------------

export const Status = method<StatusResult>()('daemon.status', obj({}));
export const Doctor = method<DoctorResult>()('daemon.doctor', obj({}));

// Who submits, approves or stops is the connection's peer as the kernel identifies it: no method
// takes a name from the client.
const submission = {
  source: str({ min: 1, max: MAX_SOURCE_CHARS }),
  name: optional(str({ min: 1, max: 128 })),
};

/** Kernel-check a program, then (when `approve` is true, the default) attach it. Admins only. */
export const ProgramsRun = method<RunResult>()('programs.run', obj({ ...submission, approve: optional(bool()) }));
/** Kernel-check a program only; nothing is stored or attached. */
export const ProgramsCheck = method<CheckResult>()('programs.check', obj({ source: submission.source }));
export const ProgramsApprove = method<{ program: ProgramInfo }>()(
  'programs.approve',
  obj({ id: programId }),
);
export const ProgramsList = method<{ programs: ProgramInfo[] }>()('programs.list', obj({ all: optional(bool()) }));
export const ProgramsShow = method<ShowResult>()('programs.show', obj({ id: programId }));
export const ProgramsStop = method<{ program: ProgramInfo }>()(
  'programs.stop',
  obj({ id: programId }),
);
/**
 * A program's log: the last `tail` entries (default 50); or, with `after` (a `cursor` of an earlier
 * answer), the first `tail` entries written after it, oldest first.
 */
export const ProgramsLogs = method<LogsResult>()(
  'programs.logs',
  obj({
    id: programId,
    tail: optional(int({ min: 0, max: 100_000 })),
    follow: optional(bool()),
    after: optional(str({ min: 3, max: 64, pattern: /^\d+:\d+$/, shape: 'a cursor from an earlier programs.logs answer' })),
  }),
);

// ---- notifications (server -> client) ---------------------------------------------------------

export interface ProgramLogNotification {
  readonly id: number;
  readonly entry: LogEntry;
}

/** An entry of a followed log (`programs.logs` with follow). */
export const ProgramLog = defineNotification<ProgramLogNotification>('programs.log');
/** A followed program's log ended (program stopped or exited). */
export const ProgramLogEnd = defineNotification<{ readonly id: number; readonly reason: string }>('programs.logEnd');
