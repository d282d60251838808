/**
 * Requests of the Kgent loop and their attempts in SQLite: every prompt, raw LLM answer,
 * candidate, annotated program, verdict (with counterexamples), kernel check, feedback message and
 * stage timing, so `kgentctl show R<id>` can tell the whole story and nothing is lost across a
 * daemon restart.
 */
import type { Db } from './db.js';
import { bestEffort } from './storage-health.js';
import type {
  AttemptDetail,
  AttemptInfo,
  FeedbackMessage,
  PromptTrim,
  RequestInfo,
  RequestStatus,
  StageTiming,
} from '../protocol/requests-api.js';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import type { ProgramVerification } from '../protocol/methods.js';
import type { AuditActor, Person } from './program-store.js';
import { capText, utf8Bytes } from '../util/truncate.js';
import { capJson } from './cap-json.js';

const now = (): string => new Date().toISOString();

interface RequestRow {
  id: number;
  text: string;
  submitted_by: string;
  submitted_uid: number | null;
  submitted_at: string;
  updated_at: string;
  status: RequestStatus;
  trials: number;
  attach: number;
  hints: string;
  program_id: number | null;
  reason: string | null;
  attempts: number;
}

interface AttemptRow {
  n: number;
  started_at: string;
  ended_at: string | null;
  outcome: AttemptInfo['outcome'];
  synthesis_prompt: string | null;
  synthesis_answer: string | null;
  candidate: string | null;
  comprehension_prompt: string | null;
  comprehension_answer: string | null;
  annotated: string | null;
  verdict: VerifyReport['verdict'] | null;
  report: string | null;
  kernel_check: string | null;
  feedback: string;
  timings: string;
  trimmed: string | null;
}

/** The fields of an attempt, filled in as its stages run. */
export interface AttemptRecord {
  outcome: AttemptInfo['outcome'];
  synthesisPrompt?: string;
  synthesisAnswer?: string;
  candidate?: string;
  comprehensionPrompt?: string;
  comprehensionAnswer?: string;
  annotated?: string;
  report?: VerifyReport;
  kernelCheck?: { ok: boolean; diagnostics: readonly Diagnostic[]; durationMs: number };
  feedback: FeedbackMessage[];
  timings: StageTiming[];
  trimmed?: { synthesis?: PromptTrim; comprehension?: PromptTrim };
}

const SELECT_REQUEST = `SELECT r.*, (SELECT COUNT(*) FROM attempts a WHERE a.request_id = r.id) AS attempts FROM requests r`;

/**
 * How much one request may keep. Every stored text (request text, hints, prompts, LLM answers,
 * programs, reports, feedback, kernel-check diagnostics) is cut to `maxFieldBytes`; once a request's
 * attempts hold `maxRequestBytes`, later fields keep only a {@link PREVIEW_BYTES} preview. So a
 * request keeps at most about `maxRequestBytes` plus a preview per field of its last round, however
 * long the LLM's answers or the programs are.
 */
export interface RequestStoreLimits {
  readonly maxFieldBytes: number;
  readonly maxRequestBytes: number;
}

export const DEFAULT_REQUEST_STORE_LIMITS: RequestStoreLimits = { maxFieldBytes: 64 * 1024, maxRequestBytes: 1024 * 1024 };

/** Bytes a field keeps once its request's budget is spent: enough to recognise it. */
export const PREVIEW_BYTES = 512;

/** Feedback messages one attempt keeps (a long program can have a lint error on every line). */
export const MAX_FEEDBACK_PER_ATTEMPT = 20;

/** What one uid's requests hold in the store. */
export interface StorageUsage {
  readonly requests: number;
  readonly bytes: number;
}

export class RequestStore {
  private readonly limits: RequestStoreLimits;

  constructor(
    private readonly db: Db,
    limits: Partial<RequestStoreLimits> = {},
  ) {
    this.limits = { ...DEFAULT_REQUEST_STORE_LIMITS, ...limits };
  }

  create(r: { text: string; submittedBy: Person; trials: number; attach: boolean; hints: readonly string[] }): RequestInfo {
    const t = now();
    const hints = r.hints.map((h) => this.capField(h));
    const res = this.db
      .prepare('INSERT INTO requests (text, submitted_by, submitted_uid, submitted_at, updated_at, status, trials, attach, hints) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(this.capField(r.text), r.submittedBy.user, r.submittedBy.uid, t, t, 'running', r.trials, r.attach ? 1 : 0, JSON.stringify(hints));
    const id = Number(res.lastInsertRowid);
    this.recount(id);
    return this.get(id)!;
  }

  /** Requests and bytes the requests of `uid` hold (what the storage quota counts). */
  usage(uid: number): StorageUsage {
    const row = this.db.prepare('SELECT COUNT(*) AS requests, COALESCE(SUM(stored_bytes), 0) AS bytes FROM requests WHERE submitted_uid = ?').get(uid) as StorageUsage;
    return { requests: row.requests, bytes: row.bytes };
  }

  /** Bytes request `id` holds (its row and all its attempts). */
  storedBytes(id: number): number {
    return (this.db.prepare('SELECT stored_bytes FROM requests WHERE id = ?').get(id) as { stored_bytes: number } | undefined)?.stored_bytes ?? 0;
  }

  /**
   * Deletes requests and their attempts. Audit rows stay (the trail is not the submitter's to
   * erase): they lose the link to the deleted request and say which request it was.
   */
  delete(ids: readonly number[]): { deleted: number[]; freedBytes: number } {
    const deleted: number[] = [];
    let freedBytes = 0;
    this.db.transaction(() => {
      for (const id of ids) {
        const bytes = this.db.prepare('SELECT stored_bytes FROM requests WHERE id = ?').get(id) as { stored_bytes: number } | undefined;
        if (!bytes) continue;
        this.db.prepare("UPDATE audit SET detail = 'request R' || request_id || ' (deleted since): ' || COALESCE(detail, ''), request_id = NULL WHERE request_id = ?").run(id);
        this.db.prepare('DELETE FROM attempts WHERE request_id = ?').run(id);
        this.db.prepare('DELETE FROM requests WHERE id = ?').run(id);
        deleted.push(id);
        freedBytes += bytes.stored_bytes;
      }
    })();
    return { deleted, freedBytes };
  }

  /** Ids of the requests of `uid` (everyone's when undefined) that are not running, newest first, after the newest `keep`. */
  prunable(submittedUid: number | undefined, keep: number): number[] {
    const rows =
      submittedUid === undefined
        ? this.db.prepare("SELECT id FROM requests WHERE status != 'running' ORDER BY id DESC LIMIT -1 OFFSET ?").all(keep)
        : this.db.prepare("SELECT id FROM requests WHERE status != 'running' AND submitted_uid = ? ORDER BY id DESC LIMIT -1 OFFSET ?").all(submittedUid, keep);
    return (rows as { id: number }[]).map((r) => r.id);
  }

  get(id: number): RequestInfo | undefined {
    const row = this.db.prepare(`${SELECT_REQUEST} WHERE r.id = ?`).get(id) as RequestRow | undefined;
    return row ? toInfo(row) : undefined;
  }

  /** The request whose program is `programId`, if a request made it. */
  byProgram(programId: number): RequestInfo | undefined {
    const row = this.db.prepare(`${SELECT_REQUEST} WHERE r.program_id = ? ORDER BY r.id DESC LIMIT 1`).get(programId) as RequestRow | undefined;
    return row ? toInfo(row) : undefined;
  }

  /** The newest requests, of everyone or of one uid. */
  list(limit = 50, submittedUid?: number): RequestInfo[] {
    const rows =
      submittedUid === undefined
        ? this.db.prepare(`${SELECT_REQUEST} ORDER BY r.id DESC LIMIT ?`).all(limit)
        : this.db.prepare(`${SELECT_REQUEST} WHERE r.submitted_uid = ? ORDER BY r.id DESC LIMIT ?`).all(submittedUid, limit);
    return (rows as RequestRow[]).map(toInfo);
  }

  setStatus(id: number, status: RequestStatus, reason?: string): void {
    this.db.prepare('UPDATE requests SET status = ?, reason = ?, updated_at = ? WHERE id = ?').run(status, reason === undefined ? null : this.capField(reason), now(), id);
    this.recount(id);
  }

  setProgram(id: number, programId: number): void {
    this.db.prepare('UPDATE requests SET program_id = ?, updated_at = ? WHERE id = ?').run(programId, now(), id);
  }

  addHint(id: number, hint: string): void {
    const r = this.get(id);
    if (!r) return;
    this.db.prepare('UPDATE requests SET hints = ?, updated_at = ? WHERE id = ?').run(JSON.stringify([...r.hints, this.capField(hint)]), now(), id);
    this.recount(id);
  }

  /** Requests a killed daemon left running: marked failed with the reason (returns their ids). */
  failInterrupted(reason: string): number[] {
    const ids = (this.db.prepare("SELECT id FROM requests WHERE status = 'running'").all() as { id: number }[]).map((r) => r.id);
    const t = now();
    // At start-up with a full disk: leave them marked running (the next start retries) rather than die.
    bestEffort(
      () =>
        this.db.transaction(() => {
          for (const id of ids) {
            this.db.prepare('UPDATE requests SET status = ?, reason = ?, updated_at = ? WHERE id = ?').run('failed', reason, t, id);
            this.db.prepare("UPDATE attempts SET outcome = 'cancelled', ended_at = ? WHERE request_id = ? AND ended_at IS NULL").run(t, id);
          }
        })(),
      undefined,
    );
    return ids;
  }

  startAttempt(requestId: number, n: number): void {
    this.db
      .prepare("INSERT INTO attempts (request_id, n, started_at, outcome, feedback, timings) VALUES (?, ?, ?, 'running', '[]', '[]')")
      .run(requestId, n, now());
    this.touch(requestId);
  }

  /**
   * Writes the attempt as it stands (called after every stage, so a crash keeps what was done),
   * each field within the limits (see {@link RequestStoreLimits}).
   */
  saveAttempt(requestId: number, n: number, a: AttemptRecord, ended = false): void {
    const others = (this.db.prepare('SELECT COALESCE(SUM(stored_bytes), 0) AS b FROM attempts WHERE request_id = ? AND n != ?').get(requestId, n) as { b: number }).b;
    const row = this.db.prepare('SELECT length(CAST(text AS BLOB)) + length(CAST(hints AS BLOB)) AS b FROM requests WHERE id = ?').get(requestId) as { b: number } | undefined;
    let left = this.limits.maxRequestBytes - others - (row?.b ?? 0);
    let total = 0;
    // Most telling first: what went wrong, then the programs, then the answers, then the prompts.
    const budget = (): number => Math.min(this.limits.maxFieldBytes, Math.max(PREVIEW_BYTES, left));
    const count = (out: string): string => {
      const bytes = utf8Bytes(out);
      left -= bytes;
      total += bytes;
      return out;
    };
    const keep = (s: string | null): string | null => (s === null ? null : count(capText(s, budget())));
    // JSON columns stay parseable: their strings and arrays are cut, not the JSON text.
    const keepJson = (v: unknown): string | null => (v === undefined ? null : count(capJson(v, budget())));
    const feedback = keepJson(capFeedback(a.feedback))!;
    const timings = keepJson(a.timings)!;
    const trimmed = keepJson(a.trimmed);
    const kernelCheck = keepJson(a.kernelCheck);
    const report = keepJson(a.report);
    const candidate = keep(a.candidate ?? null);
    const annotated = keep(a.annotated ?? null);
    const synthesisAnswer = keep(a.synthesisAnswer ?? null);
    const comprehensionAnswer = keep(a.comprehensionAnswer ?? null);
    const synthesisPrompt = keep(a.synthesisPrompt ?? null);
    const comprehensionPrompt = keep(a.comprehensionPrompt ?? null);
    this.db
      .prepare(
        `UPDATE attempts SET outcome = ?, synthesis_prompt = ?, synthesis_answer = ?, candidate = ?, comprehension_prompt = ?,
           comprehension_answer = ?, annotated = ?, verdict = ?, report = ?, kernel_check = ?, feedback = ?, timings = ?, trimmed = ?,
           stored_bytes = ?, ended_at = COALESCE(ended_at, ?)
         WHERE request_id = ? AND n = ?`,
      )
      .run(
        a.outcome,
        synthesisPrompt,
        synthesisAnswer,
        candidate,
        comprehensionPrompt,
        comprehensionAnswer,
        annotated,
        a.report?.verdict ?? null,
        report,
        kernelCheck,
        feedback,
        timings,
        trimmed,
        total,
        ended ? now() : null,
        requestId,
        n,
      );
    this.touch(requestId);
    this.recount(requestId);
  }

  attempts(requestId: number): AttemptDetail[] {
    const rows = this.db.prepare('SELECT * FROM attempts WHERE request_id = ? ORDER BY n').all(requestId) as AttemptRow[];
    return rows.map(toAttempt);
  }

  /**
   * How the program a request made was verified: the verdict of the request's last verified
   * attempt and the hints its proof rests on; undefined for programs not made by a request.
   */
  verificationOf(programId: number): ProgramVerification | undefined {
    const row = this.db.prepare('SELECT id FROM requests WHERE program_id = ? ORDER BY id DESC LIMIT 1').get(programId) as { id: number } | undefined;
    if (!row) return undefined;
    const verified = this.attempts(row.id).filter((a) => a.report && (a.report.verdict === 'proved' || a.report.verdict === 'proved-under-hints'));
    const report = verified.at(-1)?.report;
    if (!report || (report.verdict !== 'proved' && report.verdict !== 'proved-under-hints')) return undefined;
    return { requestId: row.id, verdict: report.verdict, hints: report.hints ?? [], ...(report.dialect ? { dialect: report.dialect } : {}) };
  }

  /** Every feedback message of the request so far, in order (the prompter sends them all). */
  feedback(requestId: number): FeedbackMessage[] {
    return this.attempts(requestId).flatMap((a) => a.feedback);
  }

  /** An audit row about a request (accepting an unverified program, attaching from a request ...). */
  audit(action: string, actor: AuditActor, requestId: number, detail?: string, programId?: number): void {
    const person = typeof actor === 'string' ? undefined : actor;
    this.db
      .prepare('INSERT INTO audit (at, action, actor, actor_uid, actor_pid, program_id, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(now(), action, person?.user ?? (actor as string), person?.uid ?? null, person?.pid ?? null, programId ?? null, requestId, detail ?? null);
  }

  private touch(id: number): void {
    this.db.prepare('UPDATE requests SET updated_at = ? WHERE id = ?').run(now(), id);
  }

  private capField(s: string): string {
    return capText(s, this.limits.maxFieldBytes);
  }

  /** The request's stored bytes: its own texts and all its attempts. */
  private recount(id: number): void {
    this.db
      .prepare(
        `UPDATE requests SET stored_bytes = length(CAST(text AS BLOB)) + length(CAST(hints AS BLOB)) + COALESCE(length(CAST(reason AS BLOB)), 0) +
           (SELECT COALESCE(SUM(a.stored_bytes), 0) FROM attempts a WHERE a.request_id = requests.id) WHERE id = ?`,
      )
      .run(id);
  }
}

/** At most {@link MAX_FEEDBACK_PER_ATTEMPT} messages; the last one says how many more there were. */
function capFeedback(feedback: readonly FeedbackMessage[]): readonly FeedbackMessage[] {
  if (feedback.length <= MAX_FEEDBACK_PER_ATTEMPT) return feedback;
  const kept = feedback.slice(0, MAX_FEEDBACK_PER_ATTEMPT - 1);
  const next = feedback[MAX_FEEDBACK_PER_ATTEMPT - 1]!;
  return [...kept, { attempt: next.attempt, stage: next.stage, message: `… and ${feedback.length - kept.length} more messages of this attempt, not kept` }];
}

function toInfo(r: RequestRow): RequestInfo {
  return {
    id: r.id,
    text: r.text,
    status: r.status,
    submittedBy: r.submitted_by,
    ...(r.submitted_uid !== null ? { submittedUid: r.submitted_uid } : {}),
    submittedAt: r.submitted_at,
    updatedAt: r.updated_at,
    trials: r.trials,
    attach: r.attach === 1,
    hints: JSON.parse(r.hints) as string[],
    attempts: r.attempts,
    ...(r.program_id !== null ? { programId: r.program_id } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

function toAttempt(r: AttemptRow): AttemptDetail {
  const json = <T>(s: string | null): T | undefined => (s === null ? undefined : (JSON.parse(s) as T));
  const report = json<VerifyReport>(r.report);
  const kernelCheck = json<AttemptDetail['kernelCheck']>(r.kernel_check);
  const trimmed = json<AttemptDetail['trimmed']>(r.trimmed);
  return {
    n: r.n,
    startedAt: r.started_at,
    ...(r.ended_at ? { endedAt: r.ended_at } : {}),
    outcome: r.outcome,
    ...(r.candidate !== null ? { candidate: r.candidate } : {}),
    ...(r.annotated !== null ? { annotated: r.annotated } : {}),
    ...(r.verdict !== null ? { verdict: r.verdict } : {}),
    feedback: JSON.parse(r.feedback) as FeedbackMessage[],
    timings: JSON.parse(r.timings) as StageTiming[],
    ...(trimmed ? { trimmed } : {}),
    ...(r.synthesis_prompt !== null ? { synthesisPrompt: r.synthesis_prompt } : {}),
    ...(r.synthesis_answer !== null ? { synthesisAnswer: r.synthesis_answer } : {}),
    ...(r.comprehension_prompt !== null ? { comprehensionPrompt: r.comprehension_prompt } : {}),
    ...(r.comprehension_answer !== null ? { comprehensionAnswer: r.comprehension_answer } : {}),
    ...(report ? { report } : {}),
    ...(kernelCheck ? { kernelCheck } : {}),
  };
}
