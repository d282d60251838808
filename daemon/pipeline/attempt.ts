/**
 * One attempt of the loop as it runs: its record in the store, its progress stream, the timing of
 * each stage, and how it ends. Every stage module works through an {@link Attempt}; none of them
 * touches the store or the progress stream itself.
 */
import { formatDiagnostic, type Diagnostic } from '../protocol/diagnostic.js';
import type { AttemptStage, FeedbackMessage, RequestProgress } from '../protocol/requests-api.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import type { AttemptRecord, RequestStore } from '../store/request-store.js';

/** How often an LLM stage tells the tokens received so far, at most. */
const TOKEN_PROGRESS_MS = 250;

/** Thrown by the LLM or a stage for failures that end the request rather than the attempt. */
export class RequestAborted extends Error {}

/** Thrown when the request's signal fired: the request ends as cancelled. */
export class Cancelled extends Error {}

/** A candidate that passed parse, lints and the kernel check but whose proof did not go through. */
export interface UnverifiedCandidate {
  readonly attempt: number;
  readonly candidate: string;
  readonly annotated?: string;
  readonly report?: VerifyReport;
}

/** A stage's verdict that ends the attempt: its feedback is recorded, the next trial starts. */
export class AttemptFailed {
  constructor(
    /** The attempt's candidate, once there is one (a program that parsed). */
    readonly candidate?: string,
    /** Set when the candidate is kept as the round's best unproved program. */
    readonly unverified?: UnverifiedCandidate,
  ) {}
}

/** Progress of this attempt, without the fields the attempt fills in. */
export type AttemptProgress = Omit<RequestProgress, 'requestId' | 'attempt' | 'trials'>;

export interface AttemptOptions {
  readonly store: RequestStore;
  readonly requestId: number;
  /** The attempt's number across the request's rounds. */
  readonly n: number;
  /** Number of the first attempt of this round (progress counts attempts within the round). */
  readonly firstAttempt: number;
  readonly trials: number;
  readonly signal: AbortSignal;
  progress(p: RequestProgress): void;
}

export class Attempt {
  /** What the store keeps of this attempt; stages fill it in as they end. */
  readonly record: AttemptRecord = { outcome: 'running', feedback: [], timings: [] };
  readonly n: number;
  readonly signal: AbortSignal;

  constructor(private readonly o: AttemptOptions) {
    this.n = o.n;
    this.signal = o.signal;
    o.store.startAttempt(o.requestId, o.n);
  }

  /** Stores the record; `ended` marks the attempt finished. */
  save(ended = false): void {
    this.o.store.saveAttempt(this.o.requestId, this.n, this.record, ended);
  }

  say(p: AttemptProgress): void {
    this.o.progress({ requestId: this.o.requestId, attempt: this.n - this.o.firstAttempt + 1, trials: this.o.trials, ...p });
  }

  /**
   * Runs one timed stage: start and end go to the progress stream, the time to the record, and the
   * record is stored when it ends, whether it finished or not. `fn` may tell the tokens received.
   */
  async stage<T>(name: AttemptStage, fn: (tokens: (n: number) => void) => Promise<T>): Promise<T> {
    if (this.signal.aborted) throw new Cancelled();
    this.say({ stage: name, phase: 'start' });
    const t0 = performance.now();
    let received: number | undefined;
    let told = 0;
    // Tokens so far, at most every TOKEN_PROGRESS_MS: enough to watch, few enough for the socket.
    const tokens = (n: number): void => {
      received = n;
      const now = performance.now();
      if (now - told < TOKEN_PROGRESS_MS) return;
      told = now;
      this.say({ stage: name, phase: 'info', ms: Math.round(now - t0), tokens: n });
    };
    let finished = false;
    try {
      const r = await fn(tokens);
      finished = true;
      return r;
    } finally {
      const ms = Math.round(performance.now() - t0);
      this.record.timings.push({ stage: name, ms });
      this.say({ stage: name, phase: 'end', ms, ...(received !== undefined ? { tokens: received } : {}), ...(finished ? {} : { stopped: true }) });
      this.save();
    }
  }

  /** A feedback message of this attempt. */
  feedback(stage: FeedbackMessage['stage'], message: string): FeedbackMessage {
    return { attempt: this.n, stage, message };
  }

  /** Feedback that travels with the attempt without ending it (lint warnings), shown as given to the model. */
  note(messages: readonly FeedbackMessage[]): void {
    this.record.feedback.push(...messages);
    for (const m of messages) this.say({ stage: 'feedback', phase: 'info', message: `${m.stage}: ${m.message}` });
  }

  /** Ends the attempt with `outcome` and its feedback; the returned value is the stage's result. */
  fail(outcome: AttemptRecord['outcome'], messages: readonly FeedbackMessage[], candidate?: string, unverified?: UnverifiedCandidate): AttemptFailed {
    this.record.outcome = outcome;
    this.note(messages);
    this.save(true);
    return new AttemptFailed(candidate, unverified);
  }

  /** Ends the attempt with an outcome that is no stage's verdict (verified, cancelled, llm-error). */
  end(outcome: AttemptRecord['outcome']): void {
    this.record.outcome = outcome;
    this.save(true);
  }
}

/** A diagnostic as the model and the user read it; its hints are already lines of it (HINT: ...). */
export function diagText(d: Diagnostic): string {
  return formatDiagnostic(d, 'program.bt');
}
