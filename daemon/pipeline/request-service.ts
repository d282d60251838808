/**
 * Requests as the daemon serves them: submit (one round of trials), a hint (another round, all
 * feedback kept), accepting an unverified program (explicit, audited), cancel, list and show. A
 * verified program is handed to the programs service (waiting for approval, or attached at once
 * when asked by a caller allowed to attach). A daemon restart marks interrupted requests failed
 * with the reason.
 *
 * What the examples learn, always as the submitter's own (their prompts only; an admin promotes
 * an entry into the shared library): a verified program when a person approved it (`--attach` by
 * someone who may attach, or `kgentctl approve`, see {@link RequestService.learnApproved}); an
 * "avoid" note when a round ends without a verified program; and a request that ends verified
 * (after a hint, say) drops its avoid note. Candidates nobody approved, unverified programs taken
 * with --accept-unverified and evaluation requests are never learned.
 */
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgramInfo } from '../protocol/methods.js';
import type { AttemptDetail, LibraryExample, RequestDetail, RequestInfo, RequestProgress, RequestResult } from '../protocol/requests-api.js';
import type { VerifyReport } from '../protocol/verify-api.js';
import type { Person } from '../store/program-store.js';
import type { RequestStore, StorageUsage } from '../store/request-store.js';
import type { StorageQuota } from '../policy/rights.js';
import type { LintPolicy } from '../verifier/lints/index.js';
import { parse } from '../verifier/frontend/index.js';
import type { UnverifiedCandidate } from './attempt.js';
import { runRound, type LoopDeps, type LoopFeatures, type RoundOutcome } from './orchestrator.js';
import type { ExampleSource } from './stages.js';
import type { CheckRequester } from '../kernel-check/check-limits.js';

/** Who asks, as the kernel identified their connection (daemon/pipeline/requests-methods.ts `callerOf`). */
export interface Caller {
  /** uid and user name for the store and the audit trail. */
  readonly person: Person;
  /** `alice (uid 1001)`, for messages. */
  readonly name: string;
  /** Whether this caller may attach programs (approve their own request's program). */
  readonly mayAttach: boolean;
  /** What their programs may use. */
  readonly policy: LintPolicy;
  /** Admins' kernel checks use the reserved slots (daemon/kernel-check/check-limits.ts). */
  readonly admin?: boolean;
  /** How much their stored requests may hold (0: no limit); absent: none. */
  readonly quota?: StorageQuota;
}

/** Whose share of the kernel-check slots a caller's checks use. */
function requesterOf(caller: Caller): CheckRequester {
  return { uid: caller.person.uid, admin: caller.admin ?? false };
}

/** What the request service needs of the programs service. */
export interface ProgramSink {
  /** Kernel-checks again, stores the program (origin `request`) and attaches it when `approve`. */
  run(sub: { source: string; name?: string; submittedBy: Person; policy: LintPolicy; approve: boolean; origin: 'request'; requester?: CheckRequester }): Promise<{ program: ProgramInfo; check: { ok: boolean } }>;
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
  /** Bytes all attempts of one request may keep (storage.maxRequestBytes): no hint continues a request past it. */
  readonly maxRequestBytes?: number;
  /** Largest program learned into the examples (maxProgramBytes). */
  readonly maxProgramBytes?: number;
  readonly logger: Logger;
}

/** What `requests.prune` and `request.delete` did. */
export interface DeleteOutcome {
  readonly deleted: number[];
  readonly freedBytes: number;
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
    this.requireQuota(caller);
    await this.requireLlm(p.text, caller.person.uid);
    const trials = p.trials ?? this.o.defaultTrials;
    const req = this.o.store.create({ text: p.text, submittedBy: caller.person, trials, attach: p.attach ?? false, hints: p.hint ? [p.hint] : [] });
    return this.round(req, caller, progress, onClose);
  }

  /**
   * One request of an evaluation (`eval.run`): a round with some loop features off and other
   * models, neither learned into the examples (the cases must not leak into retrieval) nor turned
   * into a program: the evaluation judges the candidate with its execution oracle instead. The
   * request lives only while the round runs: its info and attempts are answered, then it is deleted
   * however the round ended (a needs-hint one included), so an evaluation leaves nothing in
   * `kgentctl requests` and no quota used; the evaluation report keeps what `show` would have said.
   */
  async evaluate(
    p: { text: string; trials: number; features: LoopFeatures; models?: { synthesis?: string; comprehension?: string } },
    caller: Caller,
    progress: (p: RequestProgress) => void,
    signal: AbortSignal,
  ): Promise<{ request: RequestInfo; outcome: RoundOutcome; attempts: AttemptDetail[] }> {
    this.requireQuota(caller);
    const req = this.o.store.create({ text: p.text, submittedBy: caller.person, trials: p.trials, attach: false, hints: [] });
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    this.running.set(req.id, { controller });
    let outcome: RoundOutcome;
    try {
      outcome = await runRound(
        { ...this.o.loop, store: this.o.store },
        { requestId: req.id, ownerUid: caller.person.uid, text: req.text, hints: [], trials: p.trials, firstAttempt: 1, signal: controller.signal, requester: requesterOf(caller), progress, features: p.features, ...(p.models ? { models: p.models } : {}) },
      );
    } catch (err) {
      this.o.logger.error({ requestId: req.id, err }, 'evaluation request failed');
      this.forget(req.id);
      throw err;
    } finally {
      this.running.delete(req.id);
      signal.removeEventListener('abort', abort);
    }
    const reason =
      outcome.status === 'verified' ? 'evaluation: judged by the execution oracle, not stored as a program' : outcome.reason;
    try {
      this.o.store.setStatus(req.id, outcome.status, reason);
      return { request: this.get(req.id), outcome, attempts: this.o.store.attempts(req.id) };
    } finally {
      this.forget(req.id);
    }
  }

  /** Deletes an evaluation's request and anything kept about it (a needs-hint candidate). */
  private forget(id: number): void {
    this.unverified.delete(id);
    this.o.store.delete([id]);
  }

  async hint(id: number, hint: string, caller: Caller, progress: (p: RequestProgress) => void, onClose: (fn: () => void) => void): Promise<RequestResult> {
    const req = this.get(id);
    if (req.status === 'running') throw new KgentError('conflict', `request R${id} is still running; wait for it or cancel it (kgentctl cancel R${id})`, { id });
    if (req.status !== 'needs-hint' && req.status !== 'failed' && req.status !== 'cancelled') {
      throw new KgentError('conflict', `request R${id} is ${req.status}; a hint continues only a request that needs one`, { id });
    }
    const kept = this.o.store.storedBytes(id);
    if (this.o.maxRequestBytes !== undefined && kept >= this.o.maxRequestBytes) {
      throw new KgentError(
        'refused',
        `request R${id} keeps ${formatBytes(kept)}, the most one request may (storage.maxRequestBytes ${formatBytes(this.o.maxRequestBytes)}); submit a new request with what you learned`,
        { id, bytes: kept },
      );
    }
    this.requireQuota(caller);
    await this.requireLlm(req.text, ownerOf(req));
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
    const created = await this.o.programs.run({ source: cand.candidate, name: `request-R${id}`, submittedBy: caller.person, policy: caller.policy, approve: attach, origin: 'request', requester: requesterOf(caller) });
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

  /** What the stored requests of `uid` hold. */
  usage(uid: number): StorageUsage {
    return this.o.store.usage(uid);
  }

  /** Deletes requests that are not running (the caller's rights were checked by the handler). */
  delete(ids: readonly number[]): DeleteOutcome {
    for (const id of ids) {
      const req = this.get(id);
      if (req.status === 'running') throw new KgentError('conflict', `request R${id} is running; cancel it first (kgentctl cancel R${id})`, { id });
    }
    for (const id of ids) this.unverified.delete(id);
    return this.o.store.delete(ids);
  }

  /** Deletes the finished requests of `uid` (everyone's when undefined) but the newest `keep`. */
  prune(uid: number | undefined, keep: number): DeleteOutcome {
    const ids = this.o.store.prunable(uid, keep).filter((id) => !this.running.has(id));
    return this.delete(ids);
  }

  /** Requests of everyone, or (`submittedUid`) of one user. */
  list(submittedUid?: number): RequestInfo[] {
    return this.o.store.list(50, submittedUid);
  }

  /** A request's info (for rights checks before acting on it). */
  info(id: number): RequestInfo {
    return this.get(id);
  }

  /** A request's info, or undefined when there is none. */
  find(id: number): RequestInfo | undefined {
    return this.o.store.get(id) ?? undefined;
  }

  show(id: number): RequestDetail {
    const request = this.get(id);
    const program = request.programId !== undefined ? this.o.programs.info(request.programId) : undefined;
    return { request, attempts: this.o.store.attempts(id), ...(program ? { program } : {}) };
  }

  /**
   * A program of a request was approved (`kgentctl approve`): its verified program becomes a
   * positive example of the request's submitter. Programs not made by a request, and programs
   * taken unverified (--accept-unverified), teach nothing.
   */
  async learnApproved(programId: number): Promise<void> {
    const req = this.o.store.byProgram(programId);
    if (!req || (req.status !== 'verified' && req.status !== 'attached')) return;
    const verified = this.o.store.attempts(req.id).filter((a) => a.outcome === 'verified' && a.candidate).at(-1);
    if (!verified?.candidate) return;
    await this.learn(req, verified.candidate, verified.annotated, 'proved');
  }

  /** When no LLM answers: the closest library programs for the request, as `viewerUid` may see them (the CLI shows them). */
  async library(text: string, viewerUid: number, k = 3): Promise<LibraryExample[]> {
    const hits = (await this.o.examples?.search(text, k + 6, viewerUid).catch(() => [])) ?? [];
    const usable = this.o.hookUsable ?? (() => true);
    return hits.filter((h) => h.kind !== 'learned-avoid' && (h.hooks ?? []).every(usable)).slice(0, k).map((h) => ({ id: h.id, prompt: h.prompt, program: h.program }));
  }

  private get(id: number): RequestInfo {
    const r = this.o.store.get(id);
    if (!r) throw requestNotFound(id);
    return r;
  }

  /**
   * Refuses new work when the caller's stored requests are at their quota (before anything runs,
   * so a refused request stores nothing).
   */
  private requireQuota(caller: Caller): void {
    const q = caller.quota;
    if (!q || (q.bytes === 0 && q.requests === 0)) return;
    const uid = caller.person.uid;
    const used = this.o.store.usage(uid);
    const fix = `delete old requests with kgentctl requests prune (or kgentctl requests delete R<n>)`;
    if (q.bytes !== 0 && used.bytes >= q.bytes) {
      throw new KgentError('refused', `storage quota exceeded for uid ${uid}: ${formatBytes(used.bytes)} of ${formatBytes(q.bytes)} used by ${used.requests} requests; ${fix}`, { uid, ...used, quota: q });
    }
    if (q.requests !== 0 && used.requests >= q.requests) {
      throw new KgentError('refused', `storage quota exceeded for uid ${uid}: ${used.requests} of ${q.requests} requests stored; ${fix}`, { uid, ...used, quota: q });
    }
  }

  private async requireLlm(text: string, viewerUid: number): Promise<void> {
    const ready = await this.o.llmReady();
    if (ready.ok) return;
    throw new KgentError('unavailable', ready.message, { library: await this.library(text, viewerUid) });
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
          ownerUid: ownerOf(req),
          text: req.text,
          hints: req.hints,
          trials: req.trials,
          firstAttempt: req.attempts + 1,
          signal: controller.signal,
          requester: requesterOf(caller),
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
        const created = await this.o.programs.run({ source: outcome.candidate, name: `request-R${id}`, submittedBy: caller.person, policy: caller.policy, approve: req.attach, origin: 'request', requester: requesterOf(caller) });
        this.o.store.setProgram(id, created.program.id);
        const attached = req.attach && created.check.ok;
        this.o.store.setStatus(id, created.check.ok ? (attached ? 'attached' : 'verified') : 'failed', created.check.ok ? undefined : 'the kernel check failed when the program was stored');
        // Verified after all: not one to avoid. Learned as an example only once a person approved it.
        await this.forgetAvoid(req);
        if (created.check.ok && created.program.approvedUid !== undefined) await this.learn(req, outcome.candidate, outcome.annotated, 'proved');
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

  /** Learns the outcome of `req` as its submitter's (see the file comment for when). */
  private async learn(req: RequestInfo, program: string | undefined, annotated: string | undefined, verdict: string): Promise<void> {
    if (!this.o.examples) return;
    // A program over the size limit could never run; it would only fill the example table.
    const max = this.o.maxProgramBytes ?? Number.POSITIVE_INFINITY;
    if (program !== undefined && Buffer.byteLength(program) > max) program = undefined;
    if (annotated !== undefined && Buffer.byteLength(annotated) > max) annotated = undefined;
    const feedback = verdict === 'proved' ? undefined : this.o.store.feedback(req.id).map((f) => `${f.stage}: ${f.message.split('\n')[0]}`).slice(-6);
    try {
      await this.o.examples.learn({
        requestId: req.id,
        ownerUid: ownerOf(req),
        owner: req.submittedUid === undefined ? 'root (stored before requests had owners)' : req.submittedBy,
        prompt: req.text,
        ...(program ? { program } : {}),
        ...(annotated ? { annotated } : {}),
        verdict,
        ...(feedback ? { feedback } : {}),
      });
    } catch (err) {
      this.o.logger.warn({ requestId: req.id, err: (err as Error).message }, 'could not learn the request outcome');
    }
  }

  private async forgetAvoid(req: RequestInfo): Promise<void> {
    try {
      await this.o.examples?.forgetAvoid(ownerOf(req), req.text);
    } catch (err) {
      this.o.logger.warn({ requestId: req.id, err: (err as Error).message }, 'could not drop the avoid note of a verified request');
    }
  }

  private result(request: RequestInfo, extra: { program?: string; annotated?: string; report?: VerifyReport; programInfo?: ProgramInfo }): RequestResult {
    return { request, ...extra, ...(extra.report ? { coverage: extra.report.coverage } : {}), next: nextCommand(request, extra.programInfo, this.acceptable(request.id)) };
  }
}

/**
 * The answer for a request id that does not exist, and for one the caller may not see: the same
 * code and text, so ids cannot be probed.
 */
export function requestNotFound(id: number): KgentError {
  return new KgentError('not-found', `no request R${id} (kgentctl requests lists them)`, { id });
}

/** `50.0 MB`, `312 KB`, `900 bytes` (1 MB = 1024 * 1024 bytes, as the configuration's sizes). */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** Whose a request is, for the examples: requests stored before uids were are root's (admins only). */
function ownerOf(req: RequestInfo): number {
  return req.submittedUid ?? 0;
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
