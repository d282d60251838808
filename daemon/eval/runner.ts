/**
 * The evaluation (`eval.run`): for each model, configuration, case and run, one request
 * through the Kgent loop with the configuration's features switched off ({@link RequestService.evaluate}),
 * then the execution oracle on the verified program. Correct = verified and the oracle passes;
 * FP = verified and the oracle fails; FN = no verified program.
 *
 * Items run one at a time (the oracle attaches programs and triggers events system-wide; two at
 * once could see each other's events). After each item the report is written to
 * `<stateDir>/eval/<id>.json`, so an interrupted evaluation (client gone, daemon stopped) continues
 * from there with `resume`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { analyzeProgram, type AttachableProbes } from '../programs/program-analysis.js';
import {
  EVAL_CONFIG_FEATURES,
  EVAL_CONFIGS,
  type EvalCase,
  type EvalConfigName,
  type EvalItem,
  type EvalParams,
  type EvalProgress,
  type EvalReport,
  type EvalSummaryRow,
  type OracleVerdict,
} from '../protocol/eval-api.js';
import type { RequestProgress } from '../protocol/requests-api.js';
import type { Caller, RequestService } from '../pipeline/request-service.js';
import { loadEvalCases, evalCaseOf } from './cases.js';
import { renderHtml } from './html.js';
import { runOracle, type OracleInput } from './oracle.js';

export interface EvalServiceOptions {
  readonly requests: Pick<RequestService, 'evaluate'>;
  /** Models Ollama has (to refuse a run whose models are not pulled before it starts). */
  listModels(): Promise<{ reachable: boolean; models: string[]; error?: string; host: string }>;
  readonly defaultModels: { readonly synthesis: string; readonly comprehension: string };
  readonly defaultTrials: number;
  readonly stateDir: string;
  /** Runs one program against a case (the daemon's bpftrace, probe support and death-signal wrapper). */
  oracle(input: OracleInput): Promise<OracleVerdict>;
  readonly probes: AttachableProbes;
  readonly kernelRelease: string;
  readonly bpftraceVersion: string;
  readonly logger: Logger;
  /** Where the bundled cases are read from when a call brings none (default datasets/eval). */
  readonly casesDir?: string;
}

export interface EvalRunParams {
  readonly cases?: readonly EvalCase[];
  readonly only?: readonly string[];
  readonly configs?: readonly EvalConfigName[];
  readonly models?: readonly string[];
  readonly comprehensionModel?: string;
  readonly trials?: number;
  readonly runs?: number;
  readonly resume?: string;
  readonly html?: boolean;
}

interface Planned {
  readonly model: string;
  readonly config: EvalConfigName;
  readonly c: EvalCase;
  readonly run: number;
}

interface State {
  report: EvalReport;
  readonly cases: readonly EvalCase[];
}

const keyOf = (model: string, config: string, caseId: string, run: number): string => `${model}\u0000${config}\u0000${caseId}\u0000${run}`;

export class EvalService {
  private running = false;

  constructor(private readonly o: EvalServiceOptions) {}

  private dir(): string {
    return path.join(this.o.stateDir, 'eval');
  }

  /** Evaluations kept in the state directory, newest first. */
  list(): { id: string; startedAt: string; done: number; planned: number; complete: boolean }[] {
    if (!existsSync(this.dir())) return [];
    return readdirSync(this.dir())
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => {
        try {
          const s = JSON.parse(readFileSync(path.join(this.dir(), f), 'utf8')) as State;
          return [{ id: s.report.id, startedAt: s.report.startedAt, done: s.report.items.length, planned: s.report.planned, complete: s.report.complete }];
        } catch {
          return [];
        }
      })
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  async run(params: EvalRunParams, caller: Caller, notify: (p: EvalProgress) => void, onClose: (fn: () => void) => void): Promise<EvalReport & { html?: string }> {
    if (this.running) throw new KgentError('conflict', 'an evaluation is already running in this daemon; wait for it (one at a time: the oracle attaches programs system-wide)');
    this.running = true;
    const controller = new AbortController();
    onClose(() => controller.abort());
    try {
      const state = params.resume ? this.load(params.resume) : this.fresh(params);
      await this.requireModels(state.report.params);
      const report = await this.execute(state, caller, notify, controller.signal);
      return params.html ? { ...report, html: renderHtml(report) } : report;
    } finally {
      this.running = false;
    }
  }

  private fresh(params: EvalRunParams): State {
    let cases = params.cases ? params.cases.map(evalCaseOf) : loadEvalCases(this.o.casesDir).map(evalCaseOf);
    if (params.only?.length) cases = cases.filter((c) => params.only!.some((o) => c.id.includes(o)));
    if (cases.length === 0) throw new KgentError('bad-request', 'no evaluation case selected (check --cases and --only)');
    const ids = new Set<string>();
    for (const c of cases) {
      if (ids.has(c.id)) throw new KgentError('bad-request', `duplicate case id "${c.id}"`);
      ids.add(c.id);
    }
    const configs = params.configs?.length ? [...new Set(params.configs)] : [...EVAL_CONFIGS];
    const models = params.models?.length ? [...new Set(params.models)] : [this.o.defaultModels.synthesis];
    const p: EvalParams = {
      models,
      configs,
      trials: params.trials ?? this.o.defaultTrials,
      runs: params.runs ?? 1,
      ...(params.comprehensionModel ? { comprehensionModel: params.comprehensionModel } : {}),
    };
    const startedAt = new Date().toISOString();
    const id = `E${startedAt.replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}`;
    const report: EvalReport = {
      id,
      startedAt,
      kernelRelease: this.o.kernelRelease,
      bpftraceVersion: this.o.bpftraceVersion,
      params: p,
      cases: cases.map((c) => ({ id: c.id, prompt: c.prompt })),
      items: [],
      summary: [],
      planned: models.length * configs.length * cases.length * p.runs,
      complete: false,
      skipped: [],
    };
    return { report, cases };
  }

  private load(which: string): State {
    const id = which === 'last' ? this.list().find((e) => !e.complete)?.id : which;
    if (!id) throw new KgentError('not-found', 'no interrupted evaluation to resume (kgentctl eval --list shows them)');
    const file = path.join(this.dir(), `${id}.json`);
    if (!/^E[\d-]+$/.test(id) || !existsSync(file)) throw new KgentError('not-found', `no evaluation ${id} (kgentctl eval --list shows them)`, { id });
    const s = JSON.parse(readFileSync(file, 'utf8')) as State;
    if (s.report.complete) throw new KgentError('conflict', `evaluation ${id} is complete; nothing to resume`, { id });
    return s;
  }

  private save(s: State): void {
    mkdirSync(this.dir(), { recursive: true, mode: 0o750 });
    const file = path.join(this.dir(), `${s.report.id}.json`);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(s)}\n`, { mode: 0o640 });
    renameSync(`${file}.tmp`, file);
  }

  private async requireModels(p: EvalParams): Promise<void> {
    const have = await this.o.listModels();
    if (!have.reachable) throw new KgentError('unavailable', `no LLM reachable at ${have.host} (${have.error ?? 'no answer'}); start Ollama or set OLLAMA_HOST`);
    const wanted = [...p.models, ...(p.comprehensionModel ? [p.comprehensionModel] : [])];
    const missing = wanted.filter((m) => !have.models.some((x) => x === m || x === `${m}:latest`));
    if (missing.length) throw new KgentError('unavailable', `Ollama at ${have.host} has no model ${missing.join(', ')}; run ${missing.map((m) => `ollama pull ${m}`).join(' and ')}`);
  }

  private async execute(state: State, caller: Caller, notify: (p: EvalProgress) => void, signal: AbortSignal): Promise<EvalReport> {
    const p = state.report.params;
    // Cases whose reference needs probes this kernel lacks are left out, with the reason.
    const skipped: { id: string; reason: string }[] = [];
    const runnable = state.cases.filter((c) => {
      const why = missingProbe(c.reference, this.o.probes);
      if (why) skipped.push({ id: c.id, reason: why });
      return !why;
    });
    const plan: Planned[] = [];
    for (const model of p.models) for (const config of p.configs) for (const c of runnable) for (let run = 1; run <= p.runs; run++) plan.push({ model, config, c, run });
    state.report = { ...state.report, planned: plan.length, skipped };
    const done = new Set(state.report.items.map((i) => keyOf(i.model, i.config, i.caseId, i.run)));
    const started = Date.now();
    let ranHere = 0;
    const progress = (extra: Partial<EvalProgress>): void => {
      const elapsedMs = Date.now() - started;
      const left = plan.length - state.report.items.length;
      notify({
        evalId: state.report.id,
        done: state.report.items.length,
        planned: plan.length,
        elapsedMs,
        ...(ranHere > 0 ? { remainingMs: Math.round((elapsedMs / ranHere) * left) } : {}),
        ...extra,
      });
    };
    this.save(state);
    progress({ message: `evaluation ${state.report.id}: ${plan.length} items (${p.models.length} model(s) x ${p.configs.length} configuration(s) x ${runnable.length} case(s) x ${p.runs} run(s))${skipped.length ? `; ${skipped.length} case(s) skipped: probes this kernel lacks` : ''}` });
    for (const item of plan) {
      if (done.has(keyOf(item.model, item.config, item.c.id, item.run))) continue;
      if (signal.aborted) break;
      const result = await this.one(item, p, caller, signal, (stage) => progress({ message: `${item.model} ${item.config} ${item.c.id}#${item.run}: ${stage}` }));
      if (!result) break; // cancelled: not recorded, so a resume runs it again
      state.report = { ...state.report, items: [...state.report.items, result] };
      ranHere++;
      this.save(state);
      progress({ item: result });
    }
    const complete = state.report.items.length >= plan.length;
    state.report = { ...state.report, summary: summarize(state.report.items, p), complete, ...(complete ? { endedAt: new Date().toISOString() } : {}) };
    this.save(state);
    if (!complete && signal.aborted) this.o.logger.info({ evalId: state.report.id, done: state.report.items.length, planned: plan.length }, 'evaluation interrupted; resume with kgentctl eval --resume');
    return state.report;
  }

  /** One request and, when verified, the oracle; undefined when cancelled. */
  private async one(item: Planned, params: EvalParams, caller: Caller, signal: AbortSignal, stageSaid: (s: string) => void): Promise<EvalItem | undefined> {
    const features = EVAL_CONFIG_FEATURES[item.config];
    let llmCalls = 0;
    let llmMs = 0;
    const onProgress = (r: RequestProgress): void => {
      if ((r.stage === 'synthesizing' || r.stage === 'annotating') && r.phase === 'end') {
        llmCalls++;
        llmMs += r.ms ?? 0;
      }
      if (r.phase === 'start') stageSaid(`attempt ${r.attempt}/${r.trials} ${r.stage}`);
    };
    const t0 = performance.now();
    // Without feedback a second trial would send the same prompt again: one attempt, as the paper's rows.
    const trials = features.feedback ? params.trials : 1;
    const { request, outcome, attempts } = await this.o.requests.evaluate(
      {
        text: item.c.prompt,
        trials,
        features,
        models: { synthesis: item.model, comprehension: params.comprehensionModel ?? item.model },
      },
      caller,
      onProgress,
      signal,
    );
    const requestMs = Math.round(performance.now() - t0);
    if (outcome.status === 'cancelled' || signal.aborted) return undefined;
    const attemptLog = attempts.map((a) => ({ n: a.n, outcome: a.outcome, feedback: a.feedback.map((f) => `${f.stage}: ${f.message.split('\n')[0]!}`) }));
    const base = { model: item.model, config: item.config, caseId: item.c.id, run: item.run, status: request.status, requestId: request.id, attempts: request.attempts, attemptLog, llmCalls, requestMs, llmMs };
    if (outcome.status !== 'verified') return { ...base, outcome: 'fn', reason: outcome.reason, ...(outcome.status === 'needs-hint' && outcome.lastCandidate ? { program: outcome.lastCandidate } : {}) };
    stageSaid('oracle: attach, trigger, match, detach');
    const oracle = await this.o.oracle({ program: outcome.candidate, trigger: item.c.trigger, expect: item.c.expect, ...(item.c.waitMs !== undefined ? { waitMs: item.c.waitMs } : {}) });
    if (oracle.leftAttached.length) this.o.logger.error({ caseId: item.c.id, left: oracle.leftAttached }, 'the oracle left something attached');
    return { ...base, outcome: oracle.verdict === 'pass' ? 'correct' : 'fp', oracle, program: outcome.candidate, ...(oracle.verdict === 'pass' ? {} : { reason: `oracle: ${oracle.reason}` }) };
  }
}

/** The reason a program cannot run here (a probe type or tracepoint this kernel lacks), if any. */
export function missingProbe(program: string, probes: AttachableProbes): string | undefined {
  const a = analyzeProgram(program, 'reference.bt', probes, { allowUnsafe: false });
  return a.diagnostics.find((d) => d.severity === 'error' && (d.code === 'probe.not-found' || d.code === 'lint.probe-unavailable'))?.message;
}

/** A / FP / FN per model and configuration, in the order of the parameters. */
export function summarize(items: readonly EvalItem[], p: EvalParams): EvalSummaryRow[] {
  const rows: EvalSummaryRow[] = [];
  for (const model of p.models) {
    for (const config of p.configs) {
      const its = items.filter((i) => i.model === model && i.config === config);
      const n = its.length;
      const count = (o: EvalItem['outcome']): number => its.filter((i) => i.outcome === o).length;
      const mean = (f: (i: EvalItem) => number): number => (n ? its.reduce((s, i) => s + f(i), 0) / n : 0);
      rows.push({
        model,
        config,
        n,
        correct: count('correct'),
        fp: count('fp'),
        fn: count('fn'),
        accuracy: n ? count('correct') / n : 0,
        fpRate: n ? count('fp') / n : 0,
        fnRate: n ? count('fn') / n : 0,
        meanRequestMs: Math.round(mean((i) => i.requestMs)),
        meanLlmCalls: Math.round(mean((i) => i.llmCalls) * 100) / 100,
      });
    }
  }
  return rows;
}
