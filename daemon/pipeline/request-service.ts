/**
 * Requests as the daemon serves them: submit (one round of trials), a hint (another round, all
 * feedback kept), accepting an unverified program (explicit, audited), cancel, list and show; the
 * outcome is learned by the examples store and a verified program is handed to the programs
 * service (waiting for approval, or attached at once when asked by a caller allowed to attach).
 * A daemon restart marks interrupted requests failed with the reason.
 */
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgramInfo } from '../protocol/methods.js';
import type { LibraryExample, RequestDetail, RequestInfo, RequestProgress, RequestResult } from '../protocol/requests.js';
import type { VerifyReport } from '../protocol/verify.js';
import type { Person } from '../store/program-store.js';
import type { RequestStore } from '../store/request-store.js';
import type { LintPolicy } from '../verifier/lints/index.js';
import { parse } from '../verifier/frontend/index.js';
import { runRound, type LoopDeps, type LoopFeatures, type RoundOutcome, type UnverifiedCandidate } from './orchestrator.js';
import type { ExampleSource } from './stages.js';

/** Who asks, as the kernel identified their connection (daemon/pipeline/handlers.ts `callerOf`). */
export interface Caller {
  /** uid and user name for the store and the audit trail. */
  readonly person: Person;
  /** `alice (uid 1001)`, for messages. */
  readonly name: string;
  /** Whether this caller may attach programs (approve their own request's program). */
  readonly mayAttach: boolean;
  /** What their programs may use. */
  readonly policy: LintPolicy;
}

/** What the request service needs of the programs service. */
export interface ProgramSink {
  /** Kernel-checks again, stores the program (origin `request`) and attaches it when `approve`. */
  run(sub: { source: string; name?: string; submittedBy: Person; policy: LintPolicy; approve: boolean; origin: 'request' }): Promise<{ program: ProgramInfo; check: { ok: boolean } }>;
  info(id: number): ProgramInfo | undefined;
}

export interface RequestServiceOptions {
  readonly store: RequestStore;
  readonly loop: Omit<LoopDeps, 'store'>;
  readonly programs: ProgramSink;
  readonly examples?: ExampleSource;
  /** Is an LLM answering with the configured models? Asked before a round starts. */
  llmReady(): Promise<{ ok: true } | { ok: false; message: string }>;
  /** Whether this kernel can attach to a hook (`kprobe:tcp_connect`): library programs that cannot run here are not offered. */
  readonly hookUsable?: (hook: string) => boolean;
  readonly defaultTrials: number;
  readonly logger: Logger;
}

interface Running {
  readonly controller: AbortController;
}

export class RequestService {
  private readonly running = new Map<number, Running>();
  /** The last unverified candidate of each `needs-hint` request (what `accept` takes). */
  private readonly unverified = new Map<number, UnverifiedCandidate>();

  constructor(private readonly o: RequestServiceOptions) {}

  /** At start: requests a previous daemon left running are marked failed with the reason. */
  restore(): number[] {
    return this.o.store.failInterrupted('kgentd stopped while this request ran; submit it again (kgentctl request ...)');
  }

  async submit(
    p: { text: string; attach?: boolean; trials?: number; hint?: string },
    caller: Caller,
    progress: (p: RequestProgress) => void,
    onClose: (fn: () => void) => void,
  ): Promise<RequestResult> {
    if (p.attach && !caller.mayAttach) {
      throw new KgentError('refused', `${caller.name} may not attach programs; submit without --attach and ask an admin to approve (kgentctl approve ID)`);
    }
    await this.requireLlm(p.text);
    const trials = p.trials ?? this.o.defaultTrials;
    const req = this.o.store.create({ text: p.text, submittedBy: caller.person, trials, attach: p.attach ?? false, hints: p.hint ? [p.hint] : [] });
    return this.round(req, caller, progress, onClose);
  }

  /**
   * One request of an evaluation (`eval.run`): a round with some loop features off and other
   * models, stored like any request (`kgentctl show R<id>` explains its attempts) but neither
   * learned into the examples (the cases must not leak into retrieval) nor turned into a program:
   * the evaluation judges the candidate with its execution oracle instead.
   */
  async evaluate(
    p: { text: string; trials: number; features: LoopFeatures; models?: { synthesis?: string; comprehension?: string } },
    caller: Caller,
    progress: (p: RequestProgress) => void,
    signal: AbortSignal,
  ): Promise<{ request: RequestInfo; outcome: RoundOutcome }> {
    const req = this.o.store.create({ text: p.text, submittedBy: caller.person, trials: p.trials, attach: false, hints: [] });
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    this.running.set(req.id, { controller });
    let outcome: RoundOutcome;
    try {
      outcome = await runRound(
        { ...this.o.loop, store: this.o.store },
        { requestId: req.id, text: req.text, hints: [], trials: p.trials, firstAttempt: 1, signal: controller.signal, progress, features: p.features, ...(p.models ? { models: p.models } : {}) },
      );
    } catch (err) {
      this.o.store.setStatus(req.id, 'failed', `internal error: ${(err as Error).message}`);
      throw err;
    } finally {
      this.running.delete(req.id);
      signal.removeEventListener('abort', abort);
    }
    const reason =
      outcome.status === 'verified' ? 'evaluation: judged by the execution oracle, not stored as a program' : outcome.reason;
    this.o.store.setStatus(req.id, outcome.status, reason);
    return { request: this.get(req.id), outcome };
  }

  async hint(id: number, hint: string, caller: Caller, progress: (p: RequestProgress) => void, onClose: (fn: () => void) => void): Promise<RequestResult> {
    const req = this.get(id);
    if (req.status === 'running') throw new KgentError('conflict', `request R${id} is still running; wait for it or cancel it (kgentctl cancel R${id})`, { id });
    if (req.status !== 'needs-hint' && req.status !== 'failed' && req.status !== 'cancelled') {
      throw new KgentError('conflict', `request R${id} is ${req.status}; a hint continues only a request that needs one`, { id });
    }
    await this.requireLlm(req.text);
    this.o.store.addHint(id, hint);
    this.o.store.setStatus(id, 'running');
    return this.round(this.get(id), caller, progress, onClose);
  }

  /** Accepts the last candidate of a `needs-hint` request that was not proved: explicit and audited. */
  async accept(id: number, attach: boolean, caller: Caller): Promise<RequestResult> {
    const req = this.get(id);
    if (req.status !== 'needs-hint') {
      throw new KgentError('conflict', `request R${id} has no unverified program to accept: it is ${req.status}, and only a request that needs a hint has one`, { id });
    }
    // What the needs-hint answer showed; after a daemon restart, the last candidate stored.
    const cand = this.unverified.get(id) ?? this.lastStoredCandidate(id);
    if (!cand) throw new KgentError('conflict', `request R${id} has no candidate program to accept; give a hint: kgentctl hint R${id} "TEXT"`, { id });
    if (!parse(cand.candidate).program) {
      throw new KgentError('conflict', `the last answer of R${id} (attempt ${cand.attempt}) is not a bpftrace program that parses; nothing to accept: give a hint (kgentctl hint R${id} "TEXT")`, { id });
    }
    if (attach && !caller.mayAttach) throw new KgentError('refused', `${caller.name} may not attach programs; accept without --attach and ask an admin to approve`);
    this.o.store.audit('accept-unverified', caller.person, id, `attempt ${cand.attempt}, verdict ${cand.report?.verdict ?? 'none'}: the program was NOT verified`);
    const created = await this.o.programs.run({ source: cand.candidate, name: `request-R${id}`, submittedBy: caller.person, policy: caller.policy, approve: attach, origin: 'request' });
    this.o.store.setProgram(id, created.program.id);
    this.o.store.setStatus(id, 'accepted-unverified', 'accepted without a proof by an explicit --accept-unverified');
    this.unverified.delete(id);
    return this.result(this.get(id), { program: cand.candidate, ...(cand.annotated ? { annotated: cand.annotated } : {}), ...(cand.report ? { report: cand.report } : {}), programInfo: created.program });
  }

  /** Has this request a candidate that --accept-unverified would take (one that parses)? */
  private acceptable(id: number): boolean {
    const c = this.unverified.get(id);
    return c !== undefined && Boolean(parse(c.candidate).program);
  }

  /** The last candidate of the stored attempts, with its annotated version and report. */
  private lastStoredCandidate(id: number): UnverifiedCandidate | undefined {
    const a = this.o.store.attempts(id).filter((x) => x.candidate).at(-1);
    if (!a?.candidate) return undefined;
    return { attempt: a.n, candidate: a.candidate, ...(a.annotated ? { annotated: a.annotated } : {}), ...(a.report ? { report: a.report } : {}) };
  }

  cancel(id: number): RequestInfo {
    const req = this.get(id);
    const r = this.running.get(id);
    if (!r) throw new KgentError('conflict', `request R${id} is not running (status ${req.status})`, { id });
    r.controller.abort();
    return this.get(id);
  }

  /** Requests of everyone, or (`submittedUid`) of one user. */
  list(submittedUid?: number): RequestInfo[] {
    return this.o.store.list(50, submittedUid);
  }

  /** A request's info (for rights checks before acting on it). */
  info(id: number): RequestInfo {
    return this.get(id);
  }

  show(id: number): RequestDetail {
    const request = this.get(id);
    const program = request.programId !== undefined ? this.o.programs.info(request.programId) : undefined;
    return { request, attempts: this.o.store.attempts(id), ...(program ? { program } : {}) };
  }

  /** When no LLM answers: the closest library programs for the request (the CLI shows them). */
  async library(text: string, k = 3): Promise<LibraryExample[]> {
    const hits = (await this.o.examples?.search(text, k + 6).catch(() => [])) ?? [];
    const usable = this.o.hookUsable ?? (() => true);
    return hits.filter((h) => h.kind !== 'learned-avoid' && (h.hooks ?? []).every(usable)).slice(0, k).map((h) => ({ id: h.id, prompt: h.prompt, program: h.program }));
  }

  private get(id: number): RequestInfo {
    const r = this.o.store.get(id);
    if (!r) throw new KgentError('not-found', `no request R${id} (kgentctl requests lists them)`, { id });
    return r;
  }

  private async requireLlm(text: string): Promise<void> {
    const ready = await this.o.llmReady();
    if (ready.ok) return;
    throw new KgentError('unavailable', ready.message, { library: await this.library(text) });
  }

  private async round(req: RequestInfo, caller: Caller, progress: (p: RequestProgress) => void, onClose: (fn: () => void) => void): Promise<RequestResult> {
    const controller = new AbortController();
    this.running.set(req.id, { controller });
    // A client that goes away cancels its request: nobody would see the result or approve it.
    onClose(() => controller.abort());
    let outcome: RoundOutcome;
    try {
      outcome = await runRound(
        { ...this.o.loop, store: this.o.store },
        {
          requestId: req.id,
          text: req.text,
          hints: req.hints,
          trials: req.trials,
          firstAttempt: req.attempts + 1,
          signal: controller.signal,
          progress,
        },
      );
    } catch (err) {
      this.o.store.setStatus(req.id, 'failed', `internal error: ${(err as Error).message}`);
      this.o.logger.error({ requestId: req.id, err: (err as Error).stack }, 'request failed');
      throw err;
    } finally {
      this.running.delete(req.id);
    }
    progress({ requestId: req.id, attempt: 0, trials: req.trials, stage: 'done', phase: 'info', message: outcome.status });
    return this.finish(req, outcome, caller);
  }

  private async finish(req: RequestInfo, outcome: RoundOutcome, caller: Caller): Promise<RequestResult> {
    const id = req.id;
    switch (outcome.status) {
      case 'verified': {
        const created = await this.o.programs.run({ source: outcome.candidate, name: `request-R${id}`, submittedBy: caller.person, policy: caller.policy, approve: req.attach, origin: 'request' });
        this.o.store.setProgram(id, created.program.id);
        const attached = req.attach && created.check.ok;
        this.o.store.setStatus(id, created.check.ok ? (attached ? 'attached' : 'verified') : 'failed', created.check.ok ? undefined : 'the kernel check failed when the program was stored');
        await this.learn(req, outcome.candidate, outcome.annotated, 'proved');
        return this.result(this.get(id), { program: outcome.candidate, ...(outcome.annotated !== undefined ? { annotated: outcome.annotated } : {}), ...(outcome.report ? { report: outcome.report } : {}), programInfo: created.program });
      }
      case 'needs-hint': {
        // The candidate shown with needs-hint is the one --accept-unverified takes, whatever stopped it.
        const shown = outcome.last ?? (outcome.lastCandidate ? this.lastStoredCandidate(id) : undefined);
        if (shown) this.unverified.set(id, shown);
        this.o.store.setStatus(id, 'needs-hint', outcome.reason);
        await this.learn(req, outcome.last?.candidate ?? outcome.lastCandidate, outcome.last?.annotated, outcome.last?.report?.verdict ?? 'failed');
        return this.result(this.get(id), {
          ...(shown ? { program: shown.candidate, ...(shown.annotated ? { annotated: shown.annotated } : {}), ...(shown.report ? { report: shown.report } : {}) } : outcome.lastCandidate ? { program: outcome.lastCandidate } : {}),
        });
      }
      case 'cancelled':
      case 'failed':
        this.o.store.setStatus(id, outcome.status, outcome.reason);
        return this.result(this.get(id), {});
    }
  }

  private async learn(req: RequestInfo, program: string | undefined, annotated: string | undefined, verdict: string): Promise<void> {
    if (!this.o.examples) return;
    const feedback = verdict === 'proved' ? undefined : this.o.store.feedback(req.id).map((f) => `${f.stage}: ${f.message.split('\n')[0]}`).slice(-6);
    try {
      await this.o.examples.learn({ requestId: req.id, prompt: req.text, ...(program ? { program } : {}), ...(annotated ? { annotated } : {}), verdict, ...(feedback ? { feedback } : {}) });
    } catch (err) {
      this.o.logger.warn({ requestId: req.id, err: (err as Error).message }, 'could not learn the request outcome');
    }
  }

  private result(request: RequestInfo, extra: { program?: string; annotated?: string; report?: VerifyReport; programInfo?: ProgramInfo }): RequestResult {
    return { request, ...extra, ...(extra.report ? { coverage: extra.report.coverage } : {}), next: nextCommand(request, extra.programInfo, this.acceptable(request.id)) };
  }
}

/** The next command to type, for people. */
function nextCommand(r: RequestInfo, p: ProgramInfo | undefined, canAccept: boolean): string {
  switch (r.status) {
    case 'verified':
      return p ? `kgentctl approve ${p.id}    # attach program ${p.id}; then kgentctl logs ${p.id} -f` : `kgentctl show R${r.id}`;
    case 'attached':
    case 'accepted-unverified':
      return p ? `kgentctl logs ${p.id} -f    # program ${p.id} output` : `kgentctl show R${r.id}`;
    case 'needs-hint':
      return `kgentctl hint R${r.id} "TEXT"    # or: kgentctl show R${r.id}${canAccept ? `; kgentctl request --accept-unverified R${r.id}` : ''}`;
    case 'failed':
    case 'cancelled':
      return `kgentctl show R${r.id}`;
    default:
      return `kgentctl show R${r.id}`;
  }
}
