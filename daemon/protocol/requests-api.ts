/**
 * The Kgent loop over the socket: a request (English text) becomes attempts (synthesis,
 * comprehension, symbolic verification, kernel check) until one is verified or the trials run
 * out. Requests and programs are different things with different ids: a request is shown as
 * `R<id>` (`kgentctl show R3`), the program it produced as its number (`kgentctl show 7`).
 */
import type { Diagnostic } from './diagnostic.js';
import type { ProgramInfo } from './methods.js';
import { defineMethod, defineNotification } from './spec.js';
import { arr, bool, int, obj, optional, str } from './validate.js';
import type { CoverageResult, VerifyReport } from './verify-api.js';

/**
 * `running`: trials under way; `verified`: a proved program passed the kernel check and waits for
 * approval; `attached`: approved and handed to the runner; `needs-hint`: the trials ran out, a hint
 * continues it; `accepted-unverified`: the user accepted an unverified program explicitly;
 * `failed`: ended by an error (LLM unreachable, daemon restart ...); `cancelled`.
 */
export type RequestStatus = 'running' | 'verified' | 'attached' | 'needs-hint' | 'accepted-unverified' | 'failed' | 'cancelled';

/** The stages of one attempt, in order. */
export type AttemptStage = 'retrieving' | 'synthesizing' | 'annotating' | 'verifying' | 'kernel-check';

/** One feedback message: what failed in a stage, as the next prompt will say it. */
export interface FeedbackMessage {
  readonly attempt: number;
  readonly stage: 'parse' | 'lint' | 'synthesis' | 'comprehension' | 'guard' | 'symbolic' | 'kernel' | 'hint';
  readonly message: string;
}

export interface StageTiming {
  readonly stage: AttemptStage | 'prompt';
  readonly ms: number;
}

export interface AttemptInfo {
  readonly n: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  /** How the attempt ended: the verdict of the stage that decided it. */
  readonly outcome: 'verified' | 'parse-error' | 'lint-error' | 'guard-failed' | 'refuted' | 'unknown' | 'unannotated' | 'invalid' | 'kernel-rejected' | 'llm-error' | 'cancelled' | 'running';
  readonly candidate?: string;
  readonly annotated?: string;
  readonly verdict?: VerifyReport['verdict'];
  readonly feedback: readonly FeedbackMessage[];
  readonly timings: readonly StageTiming[];
  /** What the prompt budget dropped to fit num_ctx (example ids, shortened feedback). */
  readonly trimmed?: { readonly synthesis?: PromptTrim; readonly comprehension?: PromptTrim };
}

export interface PromptTrim {
  readonly droppedExamples: readonly string[];
  readonly shortenedFeedback: number;
  readonly tokens: number;
  readonly budget: number;
}

/** A request as `kgentctl show R<id>` and `requests.list` give it. */
export interface RequestInfo {
  readonly id: number;
  readonly text: string;
  readonly status: RequestStatus;
  /** User name of the submitter, as the kernel identified their connection. */
  readonly submittedBy: string;
  readonly submittedUid?: number;
  readonly submittedAt: string;
  readonly updatedAt: string;
  readonly trials: number;
  readonly attach: boolean;
  readonly hints: readonly string[];
  readonly attempts: number;
  /** The program this request produced (a program id, not a request id). */
  readonly programId?: number;
  /** Why it failed, was cancelled or needs a hint. */
  readonly reason?: string;
}

/** Everything stored about a request: prompts, raw answers, verdicts, feedback, timings. */
export interface RequestDetail {
  readonly request: RequestInfo;
  readonly attempts: readonly AttemptDetail[];
  readonly program?: ProgramInfo;
}

export interface AttemptDetail extends AttemptInfo {
  readonly synthesisPrompt?: string;
  readonly synthesisAnswer?: string;
  readonly comprehensionPrompt?: string;
  readonly comprehensionAnswer?: string;
  readonly report?: VerifyReport;
  readonly kernelCheck?: { readonly ok: boolean; readonly diagnostics: readonly Diagnostic[]; readonly durationMs: number };
}

/** What `request.submit` (and `request.hint`, `request.accept`) answers when the request ends. */
export interface RequestResult {
  readonly request: RequestInfo;
  /** The last candidate (plain bpftrace) and its annotated version, when any. */
  readonly program?: string;
  readonly annotated?: string;
  readonly report?: VerifyReport;
  readonly coverage?: readonly CoverageResult[];
  /** The program created from it (pending approval, or attached with `attach`). */
  readonly programInfo?: ProgramInfo;
  /** The next command to type, for people. */
  readonly next: string;
}

/** Progress of a request, streamed to the client that submitted it. */
export interface RequestProgress {
  readonly requestId: number;
  readonly attempt: number;
  readonly trials: number;
  readonly stage: AttemptStage | 'done' | 'feedback' | 'trimmed';
  /** `start` or `end` of a stage; `feedback`/`trimmed` carry a message. */
  readonly phase: 'start' | 'end' | 'info';
  readonly ms?: number;
  /**
   * LLM stages (`synthesizing`, `annotating`): answer tokens received so far, sent as `info` of the
   * stage while the model writes (a few times a second at most), and with its `end`.
   */
  readonly tokens?: number;
  /** With `end`: the stage was stopped (request cancelled, model failed), not finished. */
  readonly stopped?: boolean;
  readonly message?: string;
}

/** A verified program from the library, for a host where no LLM answers. */
export interface LibraryExample {
  readonly id: string;
  readonly prompt: string;
  readonly program: string;
}

const requestId = int({ min: 1 });
const text = str({ min: 1, max: 8192 });

/** Starts a request and streams `request.progress` until it ends (verified, needs-hint, failed ...). */
export const RequestSubmit = defineMethod<RequestResult>()(
  'request.submit',
  obj({
    text,
    /** Attach at once when verified (needs the right to attach). */
    attach: optional(bool()),
    trials: optional(int({ min: 1, max: 10 })),
    /** A hint given up front. */
    hint: optional(str({ min: 1, max: 4096 })),
  }),
);

/** Continues a `needs-hint` request with a hint (new trials, all earlier feedback kept). */
export const RequestHint = defineMethod<RequestResult>()('request.hint', obj({ id: requestId, hint: str({ min: 1, max: 4096 }) }));

/** Accepts the last candidate of a `needs-hint` request that passed the kernel check but was not proved. Audited. */
export const RequestAccept = defineMethod<RequestResult>()('request.accept', obj({ id: requestId, attach: optional(bool()) }));

/** Cancels a running request (also happens when the submitting client disconnects). */
export const RequestCancel = defineMethod<{ readonly request: RequestInfo }>()('request.cancel', obj({ id: requestId }));

/** What the caller's stored requests hold, against their quota (0: no limit). */
export interface StorageUsageInfo {
  readonly uid: number;
  readonly requests: number;
  readonly bytes: number;
  readonly quotaRequests: number;
  readonly quotaBytes: number;
}

export const RequestsList = defineMethod<{ readonly requests: readonly RequestInfo[]; readonly usage?: StorageUsageInfo }>()('requests.list', obj({ all: optional(bool()) }));

/** What deleting requests did: their ids, the bytes freed, the caller's usage after it. */
export interface RequestsDeleteResult {
  readonly deleted: readonly number[];
  readonly freedBytes: number;
  readonly usage: StorageUsageInfo;
}

/** Deletes requests (own, or anyone's for admins) that are not running, with their attempts. Audit rows stay. */
export const RequestDelete = defineMethod<RequestsDeleteResult>()('request.delete', obj({ ids: arr(requestId, { max: 10_000 }) }));

/**
 * Deletes the caller's finished requests but the newest `keep` (default 0); `all` (admins): everyone's.
 * Running requests are never deleted.
 */
export const RequestsPrune = defineMethod<RequestsDeleteResult>()('requests.prune', obj({ keep: optional(int({ min: 0, max: 1_000_000 })), all: optional(bool()) }));

export const RequestShow = defineMethod<RequestDetail>()('request.show', obj({ id: requestId }));

export const RequestProgressNotification = defineNotification<RequestProgress>('request.progress');
