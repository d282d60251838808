/**
 * The Kgent loop (DESIGN.md §2): one round of trials of a request. Each attempt runs the stages in
 * order — retrieval -> synthesis (parse, lints) -> comprehension -> symbolic verification -> kernel
 * check, each in its own module — and any stage's failure becomes feedback; the next trial starts
 * again from the Prompter with every message so far. After `trials` attempts the round ends as
 * `needs-hint`. Every stage is stored as it ends and streamed as progress (attempt.ts). Cancel and
 * the failures that end the request (the LLM unreachable, no kernel-check slot) end the round.
 */
import type { RequestProgress } from '../protocol/requests-api.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import type { RequestStore } from '../store/request-store.js';
import type { CheckRequester } from '../kernel-check/check-limits.js';
import { Attempt, AttemptFailed, Cancelled, RequestAborted, type UnverifiedCandidate } from './attempt.js';
import { comprehend, type ComprehensionDeps } from './comprehension.js';
import { kernelCheck } from './kernel-check.js';
import { retrieve, type RetrievalDeps } from './retrieval.js';
import type { Checker } from './stages.js';
import { synthesize, type SynthesisDeps } from './synthesis.js';
import { verifySymbolically } from './symbolic-verification.js';

/** What the loop needs: the store, and what each stage needs. */
export interface LoopDeps extends RetrievalDeps, SynthesisDeps, ComprehensionDeps {
  readonly store: RequestStore;
  readonly checker: Checker;
}

export interface RoundInput {
  readonly requestId: number;
  /** Whose request: retrieval looks as this uid (their own learned examples, never another user's). */
  readonly ownerUid: number;
  readonly text: string;
  readonly hints: readonly string[];
  readonly trials: number;
  /** Number of the first attempt of this round (attempts continue across hints). */
  readonly firstAttempt: number;
  readonly signal: AbortSignal;
  /** Whose request this is: its kernel checks use their share of the slots. */
  readonly requester?: CheckRequester;
  progress(p: RequestProgress): void;
  /** Features of the loop to switch off (all on by default), as the evaluation's configurations do. */
  readonly features?: LoopFeatures;
  /** Models for this round instead of the configured ones (the evaluation compares models). */
  readonly models?: { readonly synthesis?: string; readonly comprehension?: string };
}

/**
 * Parts of the one loop that can be switched off (Table 1 of the Kgent paper, `kgentctl eval
 * --config`). Retrieval off: no examples in either prompt (the kernel's hooks stay: they are facts
 * of this host, not examples). Feedback off: no attempt sees the feedback of earlier ones (callers
 * then run one trial, as the paper's few-shot rows do). Symbolic off: no comprehension and no
 * symbolic verification; a candidate that passes parse, lints and the kernel check is verified.
 */
export interface LoopFeatures {
  readonly retrieval?: boolean;
  readonly feedback?: boolean;
  readonly symbolic?: boolean;
}

export type RoundOutcome =
  /** `annotated` and `report` are absent when the symbolic stage is off. */
  | { readonly status: 'verified'; readonly attempt: number; readonly candidate: string; readonly annotated?: string; readonly report?: VerifyReport }
  | { readonly status: 'needs-hint'; readonly reason: string; readonly last?: UnverifiedCandidate; readonly lastCandidate?: string }
  | { readonly status: 'cancelled'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string };

/** Runs one round of trials (see the module comment). */
export async function runRound(deps: LoopDeps, input: RoundInput): Promise<RoundOutcome> {
  let last: UnverifiedCandidate | undefined;
  let lastCandidate: string | undefined;
  for (let i = 0; i < input.trials; i++) {
    const n = input.firstAttempt + i;
    try {
      const r = await runAttempt(deps, input, n);
      if (!(r instanceof AttemptFailed)) return { status: 'verified', attempt: n, ...r };
      if (r.candidate) lastCandidate = r.candidate;
      if (r.unverified) last = r.unverified;
    } catch (err) {
      if (err instanceof Cancelled || input.signal.aborted) return { status: 'cancelled', reason: 'cancelled by the user' };
      if (err instanceof RequestAborted) return { status: 'failed', reason: err.message };
      throw err;
    }
  }
  const feedback = deps.store.feedback(input.requestId);
  const lastMsg = feedback.at(-1);
  return {
    status: 'needs-hint',
    reason: `no verified program after ${input.trials} attempt${input.trials === 1 ? '' : 's'}${lastMsg ? `; last problem: ${lastMsg.message.split('\n')[0]}` : ''}`,
    ...(last ? { last } : {}),
    ...(lastCandidate ? { lastCandidate } : {}),
  };
}

interface Verified {
  readonly candidate: string;
  readonly annotated?: string;
  readonly report?: VerifyReport;
}

/** One attempt: the stages in order; the first that fails ends it. */
async function runAttempt(deps: LoopDeps, input: RoundInput, n: number): Promise<Verified | AttemptFailed> {
  const { store } = deps;
  const attempt = new Attempt({ store, requestId: input.requestId, n, firstAttempt: input.firstAttempt, trials: input.trials, signal: input.signal, progress: (p) => input.progress(p) });
  const on = { retrieval: input.features?.retrieval ?? true, feedback: input.features?.feedback ?? true, symbolic: input.features?.symbolic ?? true };
  try {
    const retrieved = await retrieve(deps, attempt, input, on.retrieval);
    const history = on.feedback ? store.feedback(input.requestId) : [];
    const candidate = await synthesize(deps, attempt, { text: input.text, hints: input.hints, ...retrieved, feedback: history, ...modelOf(input, 'synthesis') });
    if (candidate instanceof AttemptFailed) return candidate;

    let proof: { annotated: string; report: VerifyReport } | undefined;
    // Without the symbolic stage, the kernel check alone decides.
    if (on.symbolic) {
      // This attempt's lint notes count, whatever the feedback feature says.
      const feedback = on.feedback ? store.feedback(input.requestId).concat(attempt.record.feedback) : attempt.record.feedback;
      const annotated = await comprehend(deps, attempt, { text: input.text, hints: input.hints, candidate, examples: retrieved.examples, feedback, ...modelOf(input, 'comprehension') });
      if (annotated instanceof AttemptFailed) return annotated;
      const report = await verifySymbolically(deps.checker, attempt, annotated, candidate);
      if (report instanceof AttemptFailed) return report;
      proof = { annotated, report };
    }

    const rejected = await kernelCheck(deps.checker, attempt, candidate, input.requester);
    if (rejected) return rejected;
    attempt.end('verified');
    return { candidate, ...proof };
  } catch (err) {
    if (err instanceof Cancelled || input.signal.aborted) {
      attempt.end('cancelled');
      throw new Cancelled();
    }
    if (err instanceof RequestAborted) attempt.end('llm-error');
    throw err;
  }
}

function modelOf(input: RoundInput, stage: 'synthesis' | 'comprehension'): { model?: string } {
  const model = input.models?.[stage];
  return model ? { model } : {};
}
