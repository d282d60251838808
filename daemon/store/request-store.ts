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
} from '../protocol/requests.js';
import type { Diagnostic } from '../protocol/diagnostic.js';
import type { VerifyReport } from '../protocol/verify.js';
import type { ProgramVerification } from '../protocol/methods.js';
import type { AuditActor, Person } from './program-store.js';

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

export class RequestStore {
  constructor(private readonly db: Db) {}

  create(r: { text: string; submittedBy: Person; trials: number; attach: boolean; hints: readonly string[] }): RequestInfo {
    const t = now();
    const res = this.db
      .prepare('INSERT INTO requests (text, submitted_by, submitted_uid, submitted_at, updated_at, status, trials, attach, hints) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.text, r.submittedBy.user, r.submittedBy.uid, t, t, 'running', r.trials, r.attach ? 1 : 0, JSON.stringify(r.hints));
    return this.get(Number(res.lastInsertRowid))!;
  }

  get(id: number): RequestInfo | undefined {
    const row = this.db.prepare(`${SELECT_REQUEST} WHERE r.id = ?`).get(id) as RequestRow | undefined;
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
    this.db.prepare('UPDATE requests SET status = ?, reason = ?, updated_at = ? WHERE id = ?').run(status, reason ?? null, now(), id);
  }

  setProgram(id: number, programId: number): void {
    this.db.prepare('UPDATE requests SET program_id = ?, updated_at = ? WHERE id = ?').run(programId, now(), id);
  }

  addHint(id: number, hint: string): void {
    const r = this.get(id);
    if (!r) return;
    this.db.prepare('UPDATE requests SET hints = ?, updated_at = ? WHERE id = ?').run(JSON.stringify([...r.hints, hint]), now(), id);
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

  /** Writes the attempt as it stands (called after every stage, so a crash keeps what was done). */
  saveAttempt(requestId: number, n: number, a: AttemptRecord, ended = false): void {
    this.db
      .prepare(
        `UPDATE attempts SET outcome = ?, synthesis_prompt = ?, synthesis_answer = ?, candidate = ?, comprehension_prompt = ?,
           comprehension_answer = ?, annotated = ?, verdict = ?, report = ?, kernel_check = ?, feedback = ?, timings = ?, trimmed = ?,
           ended_at = COALESCE(ended_at, ?)
         WHERE request_id = ? AND n = ?`,
      )
      .run(
        a.outcome,
        a.synthesisPrompt ?? null,
        a.synthesisAnswer ?? null,
        a.candidate ?? null,
        a.comprehensionPrompt ?? null,
        a.comprehensionAnswer ?? null,
        a.annotated ?? null,
        a.report?.verdict ?? null,
        a.report ? JSON.stringify(a.report) : null,
        a.kernelCheck ? JSON.stringify(a.kernelCheck) : null,
        JSON.stringify(a.feedback),
        JSON.stringify(a.timings),
        a.trimmed ? JSON.stringify(a.trimmed) : null,
        ended ? now() : null,
        requestId,
        n,
      );
    this.touch(requestId);
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
    return { requestId: row.id, verdict: report.verdict, hints: report.hints ?? [] };
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
