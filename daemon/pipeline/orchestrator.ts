/**
 * One round of trials of a request (DESIGN.md §2): retrieve -> prompt -> synthesis -> parse and
 * lints -> comprehension -> symbolic verification -> kernel check. Any failure becomes a feedback
 * message and the next trial starts again from the Prompter with every message so far; after
 * `trials` attempts the round ends as `needs-hint`. Every stage is stored as it ends and streamed
 * as progress. `unknown` from the verifier is never "verified".
 */
import { formatDiagnostic, type Diagnostic } from '../protocol/diagnostic.js';
import type { AttemptStage, FeedbackMessage, RequestProgress } from '../protocol/requests.js';
import type { VerifyReport } from '../protocol/verify.js';
import { collect, parse } from '../verifier/frontend/index.js';
import type { AttemptRecord, RequestStore } from '../store/request-store.js';
import { extractProgram } from './extract-program.js';
import type { HostFacts } from './hook-facts.js';
import { comprehensionParts, synthesisParts, type PromptParts } from './prompter.js';
import type { BuiltPrompt, ChatModel, Checker, ExampleSource, HookSource, RetrievedExample } from './stages.js';
import type { Contract } from '../../kernel-contracts/contracts/model.js';
import type { CheckRequester } from '../kernel-check/check-limits.js';

export interface LoopDeps {
  readonly store: RequestStore;
  readonly llm: ChatModel;
  readonly examples?: ExampleSource;
  readonly hooks?: HookSource;
  readonly checker: Checker;
  readonly host: HostFacts;
  /** Renders a stage's template with the parts, fitted into `numCtx` (llm/). */
  assemble(stage: 'synthesis' | 'comprehension', parts: PromptParts, numCtx: number): BuiltPrompt;
  readonly numCtx: number;
  /** Bytes of a candidate program (maxProgramBytes): a longer answer is fed back, never annotated or checked. */
  readonly maxProgramBytes?: number;
  /** Examples retrieved per prompt (default 4). */
  readonly examplesPerPrompt?: number;
  /** Hooks suggested per synthesis prompt (default 4). */
  readonly hooksPerPrompt?: number;
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

/** A candidate that passed parse, lints and the kernel check but whose proof did not go through. */
export interface UnverifiedCandidate {
  readonly attempt: number;
  readonly candidate: string;
  readonly annotated?: string;
  readonly report?: VerifyReport;
}

export type RoundOutcome =
  /** `annotated` and `report` are absent when the symbolic stage is off. */
  | { readonly status: 'verified'; readonly attempt: number; readonly candidate: string; readonly annotated?: string; readonly report?: VerifyReport }
  | { readonly status: 'needs-hint'; readonly reason: string; readonly last?: UnverifiedCandidate; readonly lastCandidate?: string }
  | { readonly status: 'cancelled'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string };

/** How often an LLM stage tells the tokens received so far, at most. */
const TOKEN_PROGRESS_MS = 250;

/** Thrown by the LLM or a stage for failures that end the request rather than the attempt. */
export class RequestAborted extends Error {}

class Cancelled extends Error {}

/** Runs one round of trials (see the module comment). */
export async function runRound(deps: LoopDeps, input: RoundInput): Promise<RoundOutcome> {
  let last: UnverifiedCandidate | undefined;
  let lastCandidate: string | undefined;
  for (let i = 0; i < input.trials; i++) {
    const n = input.firstAttempt + i;
    try {
      const r = await runAttempt(deps, input, n);
      if (r.kind === 'verified') return { status: 'verified', attempt: n, candidate: r.candidate, ...(r.annotated !== undefined ? { annotated: r.annotated } : {}), ...(r.report ? { report: r.report } : {}) };
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

type AttemptResult =
  | { kind: 'verified'; candidate: string; annotated?: string; report?: VerifyReport }
  | { kind: 'failed'; candidate?: string; unverified?: UnverifiedCandidate };

async function runAttempt(deps: LoopDeps, input: RoundInput, n: number): Promise<AttemptResult> {
  const { store } = deps;
  store.startAttempt(input.requestId, n);
  const rec: AttemptRecord = { outcome: 'running', feedback: [], timings: [] };
  const save = (ended = false): void => store.saveAttempt(input.requestId, n, rec, ended);
  const say = (p: Omit<RequestProgress, 'requestId' | 'attempt' | 'trials'>): void =>
    input.progress({ requestId: input.requestId, attempt: n - input.firstAttempt + 1, trials: input.trials, ...p });
  const stage = async <T>(name: AttemptStage, fn: (tokens: (n: number) => void) => Promise<T>): Promise<T> => {
    if (input.signal.aborted) throw new Cancelled();
    say({ stage: name, phase: 'start' });
    const t0 = performance.now();
    let received: number | undefined;
    let told = 0;
    // Tokens so far, at most every TOKEN_PROGRESS_MS: enough to watch, few enough for the socket.
    const tokens = (n: number): void => {
      received = n;
      const now = performance.now();
      if (now - told < TOKEN_PROGRESS_MS) return;
      told = now;
      say({ stage: name, phase: 'info', ms: Math.round(now - t0), tokens: n });
    };
    let finished = false;
    try {
      const r = await fn(tokens);
      finished = true;
      return r;
    } finally {
      const ms = Math.round(performance.now() - t0);
      rec.timings.push({ stage: name, ms });
      say({ stage: name, phase: 'end', ms, ...(received !== undefined ? { tokens: received } : {}), ...(finished ? {} : { stopped: true }) });
      save();
    }
  };
  const fail = (outcome: AttemptRecord['outcome'], messages: FeedbackMessage[], extra: Omit<Extract<AttemptResult, { kind: 'failed' }>, 'kind'> = {}): AttemptResult => {
    rec.outcome = outcome;
    rec.feedback.push(...messages);
    for (const m of messages) say({ stage: 'feedback', phase: 'info', message: `${m.stage}: ${m.message}` });
    save(true);
    return { kind: 'failed', ...extra };
  };
  const feedbackOf = (s: FeedbackMessage['stage'], message: string): FeedbackMessage => ({ attempt: n, stage: s, message });
  const on = { retrieval: input.features?.retrieval ?? true, feedback: input.features?.feedback ?? true, symbolic: input.features?.symbolic ?? true };

  try {
    // 1. Retrieval: examples and the hooks of this kernel that fit the request.
    const k = deps.examplesPerPrompt ?? 4;
    const { examples, hooks } = await stage('retrieving', async () => {
      const examples = on.retrieval ? ((await deps.examples?.search(input.text, k, input.ownerUid).catch(() => [] as RetrievedExample[])) ?? []) : [];
      // What worked for similar requests is the best evidence of the hooks that fit (an avoid
      // note's hooks are what failed).
      const exampleHooks = examples.filter((e) => e.kind !== 'learned-avoid').flatMap((e) => e.hooks ?? []);
      const hooks = (await deps.hooks?.fitting(input.text, deps.hooksPerPrompt ?? 4, exampleHooks).catch(() => [] as Contract[])) ?? [];
      return { examples, hooks };
    });
    const history = on.feedback ? store.feedback(input.requestId) : [];

    // 2. Synthesis.
    const t0 = performance.now();
    const synPrompt = build(deps, 'synthesis', synthesisParts({ text: input.text, hints: input.hints, host: deps.host, hooks, examples, feedback: history }));
    rec.timings.push({ stage: 'prompt', ms: Math.round(performance.now() - t0) });
    rec.synthesisPrompt = synPrompt.text;
    rec.trimmed = { synthesis: synPrompt.trim };
    reportTrim(say, 'synthesis', synPrompt);
    const answer = await stage('synthesizing', (tokens) => chat(deps, input, 'synthesis', synPrompt, tokens));
    rec.synthesisAnswer = answer;
    const extracted = extractProgram(answer);
    if (!extracted.source) return fail('parse-error', [feedbackOf('synthesis', 'the answer contained no bpftrace program; answer with one ```bpftrace fenced block')]);
    rec.candidate = extracted.source;
    const bytes = Buffer.byteLength(extracted.source);
    if (deps.maxProgramBytes !== undefined && bytes > deps.maxProgramBytes) {
      // Not the attempt's candidate: it could never be checked or run, nor learned as an example.
      return fail('parse-error', [feedbackOf('synthesis', `the program is ${bytes} bytes, over the limit of ${deps.maxProgramBytes} (maxProgramBytes); write a much shorter program`)]);
    }
    if (!extracted.program) {
      return fail('parse-error', extracted.diagnostics.filter((d) => d.severity === 'error').map((d) => feedbackOf('parse', formatDiagnostic(d, 'program.bt'))), { candidate: extracted.source });
    }
    const candidate = extracted.source;
    const lintDiags = await deps.checker.lint(candidate);
    const lintErrors = lintDiags.filter((d) => d.severity === 'error');
    if (lintErrors.length > 0) return fail('lint-error', lintErrors.map((d) => feedbackOf('lint', diagText(d))), { candidate });
    // Lint warnings (network byte order, time units ...) travel with the attempt as feedback.
    const lintNotes = lintDiags.filter((d) => d.severity === 'warning').map((d) => feedbackOf('lint', diagText(d)));
    rec.feedback.push(...lintNotes);
    // Shown as they are given to the model: the person watching reads the same text.
    for (const m of lintNotes) say({ stage: 'feedback', phase: 'info', message: `${m.stage}: ${m.message}` });

    // Without the symbolic stage, the kernel check alone decides.
    if (!on.symbolic) {
      const check = await stage('kernel-check', () => deps.checker.kernelCheck(candidate, { signal: input.signal, ...(input.requester ? { requester: input.requester } : {}) }));
      rec.kernelCheck = { ok: check.ok, diagnostics: check.diagnostics, durationMs: Math.round(check.durationMs) };
      if (!check.ok) return fail('kernel-rejected', check.diagnostics.filter((d) => d.severity === 'error').map((d) => feedbackOf('kernel', diagText(d))), { candidate });
      rec.outcome = 'verified';
      save(true);
      return { kind: 'verified', candidate };
    }

    // 3. Comprehension: the same program with assume/assert/cover, given the contracts of its hooks.
    const used = await hooksOf(deps, candidate);
    const members = await deps.checker.members(candidate).catch(() => []);
    const compPrompt = build(
      deps,
      'comprehension',
      comprehensionParts({ text: input.text, hints: input.hints, candidate, hooks: used, members, examples, feedback: on.feedback ? store.feedback(input.requestId).concat(rec.feedback) : rec.feedback }),
    );
    rec.comprehensionPrompt = compPrompt.text;
    rec.trimmed = { ...rec.trimmed, comprehension: compPrompt.trim };
    reportTrim(say, 'comprehension', compPrompt);
    const compAnswer = await stage('annotating', (tokens) => chat(deps, input, 'comprehension', compPrompt, tokens));
    rec.comprehensionAnswer = compAnswer;
    const annotatedEx = extractProgram(compAnswer);
    if (!annotatedEx.source || !annotatedEx.program) {
      const why = annotatedEx.diagnostics.find((d) => d.severity === 'error');
      return fail('invalid', [feedbackOf('comprehension', `the annotated program does not parse${why ? `: ${formatDiagnostic(why, 'annotated.bt')}` : ''}`)], { candidate });
    }
    const annotated = annotatedEx.source;
    rec.annotated = annotated;

    // 4. Symbolic verification.
    const report = await stage('verifying', () => deps.checker.verify(annotated, candidate));
    rec.report = report;
    // `proved-under-hints` is verified too; its label and hints stay in the report (store, show, approve).
    if (report.verdict !== 'proved' && report.verdict !== 'proved-under-hints') {
      const outcome = report.verdict === 'invalid' ? (report.diagnostics.some((d) => d.stage === 'guard') ? 'guard-failed' : 'invalid') : report.verdict;
      return fail(outcome, verdictFeedback(report, n), { candidate, ...(report.verdict === 'unknown' || report.verdict === 'unannotated' ? { unverified: { attempt: n, candidate, annotated, report } } : {}) });
    }

    // 5. The kernel's eBPF verifier.
    const check = await stage('kernel-check', () => deps.checker.kernelCheck(candidate, { signal: input.signal, ...(input.requester ? { requester: input.requester } : {}) }));
    rec.kernelCheck = { ok: check.ok, diagnostics: check.diagnostics, durationMs: Math.round(check.durationMs) };
    if (!check.ok) {
      return fail(
        'kernel-rejected',
        check.diagnostics.filter((d) => d.severity === 'error').map((d) => feedbackOf('kernel', diagText(d))),
        { candidate },
      );
    }
    rec.outcome = 'verified';
    save(true);
    return { kind: 'verified', candidate, annotated, report };
  } catch (err) {
    if (err instanceof Cancelled || input.signal.aborted) {
      rec.outcome = 'cancelled';
      save(true);
      throw new Cancelled();
    }
    if (err instanceof RequestAborted) {
      rec.outcome = 'llm-error';
      save(true);
      throw err;
    }
    throw err;
  }
}

/** A diagnostic as the model and the user read it; its hints are already lines of it (HINT: ...). */
function diagText(d: Diagnostic): string {
  return formatDiagnostic(d, 'program.bt');
}

/** Feedback from a verdict that is not `proved`: counterexamples in bpftrace terms, guard failures, reasons. */
export function verdictFeedback(report: VerifyReport, n: number): FeedbackMessage[] {
  const out: FeedbackMessage[] = [];
  for (const d of report.diagnostics) {
    if (d.severity !== 'error' && d.code !== 'symbolic.unknown' && d.code !== 'symbolic.unannotated' && d.code !== 'symbolic.trivial') continue;
    if (d.code === 'symbolic.refuted') continue; // said below with the counterexample
    out.push({ attempt: n, stage: d.stage === 'guard' ? 'guard' : d.stage === 'parse' ? 'comprehension' : 'symbolic', message: diagText(d) });
  }
  for (const a of report.assertions) {
    if (a.verdict !== 'refuted') continue;
    out.push({
      attempt: n,
      stage: 'symbolic',
      message: `line ${a.line}: assert(${a.text}) does not hold in ${a.probe}: ${a.counterexample?.summary ?? 'counterexample found'}`,
    });
  }
  if (out.length === 0) out.push({ attempt: n, stage: 'symbolic', message: `the verifier's verdict is ${report.verdict}; nothing was proved` });
  return out;
}

/** The contracts of the hooks a program attaches to (non-wildcard attach points). */
async function hooksOf(deps: LoopDeps, source: string): Promise<Contract[]> {
  const program = parse(source).program;
  if (!program || !deps.hooks) return [];
  const seen = new Set<string>();
  const out: Contract[] = [];
  for (const ap of collect(program, 'AttachPoint')) {
    if (ap.wildcard) continue;
    const name = `${ap.provider}:${ap.target.join(':')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    const c = await deps.hooks.lookup(name).catch(() => undefined);
    if (c) out.push(c);
  }
  return out;
}

/** The prompt of a stage; a request too long for num_ctx even with nothing optional left ends the request. */
function build(deps: LoopDeps, stage: 'synthesis' | 'comprehension', parts: PromptParts): BuiltPrompt {
  try {
    return deps.assemble(stage, parts, deps.numCtx);
  } catch (err) {
    throw new RequestAborted(err instanceof Error ? err.message : String(err));
  }
}

async function chat(deps: LoopDeps, input: RoundInput, stage: 'synthesis' | 'comprehension', prompt: BuiltPrompt, onTokens: (n: number) => void): Promise<string> {
  try {
    const model = input.models?.[stage];
    const r = await deps.llm.chat({ stage, messages: prompt.messages, numCtx: deps.numCtx, signal: input.signal, onTokens, ...(model ? { model } : {}) });
    return r.content;
  } catch (err) {
    if (input.signal.aborted) throw new Cancelled();
    // Unreachable server, missing model, timeout: the request cannot go on (the message says what fixes it).
    throw new RequestAborted(err instanceof Error ? err.message : String(err));
  }
}

function reportTrim(say: (p: Omit<RequestProgress, 'requestId' | 'attempt' | 'trials'>) => void, stage: string, p: BuiltPrompt): void {
  const t = p.trim;
  if (t.droppedExamples.length === 0 && t.shortenedFeedback === 0) return;
  const parts = [
    ...(t.droppedExamples.length ? [`dropped example${t.droppedExamples.length > 1 ? 's' : ''} ${t.droppedExamples.join(', ')}`] : []),
    ...(t.shortenedFeedback ? [`shortened ${t.shortenedFeedback} old feedback message${t.shortenedFeedback > 1 ? 's' : ''}`] : []),
  ];
  say({ stage: 'trimmed', phase: 'info', message: `${stage} prompt trimmed to fit num_ctx (${t.tokens}/${t.budget} tokens): ${parts.join('; ')}` });
}
