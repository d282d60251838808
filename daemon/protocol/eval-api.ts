/**
 * The evaluation over the socket: `eval.run` runs evaluation cases through the Kgent loop
 * for each model, configuration, case and run, judges every verified program with the execution
 * oracle (attach, trigger, match the expected output, detach) and answers with the report;
 * `eval.progress` streams each finished item and where the run is. The daemon keeps the state of a
 * run in a file, so an interrupted run continues with `resume`.
 *
 * Correct = verified and the oracle passes; FP = verified and the oracle fails; FN = no verified
 * program. The configurations switch features of the one pipeline off, as in Table 1 of the Kgent
 * paper: `few-shot` (retrieved examples, one attempt, no symbolic stage), `feedback` (+ the feedback
 * loop over `trials` attempts), `symbex` (few-shot + comprehension and symbolic verification, one
 * attempt), `full` (everything: the Kgent loop as `kgentctl request` runs it).
 */
import { defineMethod, defineNotification } from './spec.js';
import { arr, bool, int, literal, obj, optional, str } from './validate.js';

export const EVAL_CONFIGS = ['few-shot', 'feedback', 'symbex', 'full'] as const;
export type EvalConfigName = (typeof EVAL_CONFIGS)[number];

/** Features of the Kgent loop a configuration keeps on. */
export interface LoopFeatureSet {
  /** Few-shot examples retrieved into the prompts. */
  readonly retrieval: boolean;
  /** Feedback of earlier attempts in the prompts; off means one attempt per request. */
  readonly feedback: boolean;
  /** Comprehension and symbolic verification; off means passing the kernel check verifies. */
  readonly symbolic: boolean;
}

export const EVAL_CONFIG_FEATURES: Readonly<Record<EvalConfigName, LoopFeatureSet>> = {
  'few-shot': { retrieval: true, feedback: false, symbolic: false },
  feedback: { retrieval: true, feedback: true, symbolic: false },
  symbex: { retrieval: true, feedback: false, symbolic: true },
  full: { retrieval: true, feedback: true, symbolic: true },
};

/** Row labels of the summary table, as in the paper. */
export const EVAL_CONFIG_LABELS: Readonly<Record<EvalConfigName, string>> = {
  'few-shot': 'few-shot',
  feedback: '+ feedback',
  symbex: '+ symbolic execution',
  full: 'full Kgent',
};

/**
 * What the attempts of an evaluation were, in words: only `feedback` and `full` retry with feedback
 * (up to `trials` attempts); the others, and any run with `trials` 1, make one attempt.
 */
export function describeAttempts(p: Pick<EvalParams, 'trials' | 'configs'>): string {
  const looped = p.configs.filter((c) => EVAL_CONFIG_FEATURES[c].feedback);
  if (p.trials <= 1 || looped.length === 0) return 'one attempt per request (no feedback loop)';
  const rest = p.configs.length > looped.length ? '; the others one attempt' : '';
  return `up to ${p.trials} attempts per request with feedback of failed ones in ${looped.map((c) => EVAL_CONFIG_LABELS[c]).join(' and ')}${rest}`;
}

/** One evaluation case (datasets/eval/*.jsonl; extra fields are ignored). */
export interface EvalCase {
  readonly id: string;
  readonly prompt: string;
  /** Shell command that causes the events the prompt is about. */
  readonly trigger: string;
  /** Regular expression the output of a correct program matches once triggered. */
  readonly expect: string;
  /** A correct program. */
  readonly reference: string;
  /** Extra time to collect output after the trigger (interval probes), ms. */
  readonly waitMs?: number;
}

/** What the execution oracle said about one program. */
export interface OracleVerdict {
  /** `pass`: output matches; `fail`: it does not; `skipped`: a probe this kernel lacks; `error`: could not run it. */
  readonly verdict: 'pass' | 'fail' | 'skipped' | 'error';
  readonly reason: string;
  /** The tail of the program's output. */
  readonly output: string;
  readonly ms: number;
  /** Anything still attached after detaching (empty when clean). */
  readonly leftAttached: readonly string[];
}

export type EvalOutcome = 'correct' | 'fp' | 'fn';

/** One attempt of an evaluated request. */
export interface EvalAttempt {
  readonly n: number;
  /** How it ended (`verified`, `refuted`, `kernel-rejected` ...). */
  readonly outcome: string;
  /** The feedback the attempt produced, first line of each message. */
  readonly feedback: readonly string[];
}

/** One model x configuration x case x run. */
export interface EvalItem {
  readonly model: string;
  readonly config: EvalConfigName;
  readonly caseId: string;
  readonly run: number;
  readonly outcome: EvalOutcome;
  /**
   * The request's status (`verified`, `needs-hint`, `failed` ...) and id. The evaluation deletes its
   * requests once judged, so the id names the request in this report (its `attemptLog`), not one
   * `kgentctl show` still has.
   */
  readonly status: string;
  readonly requestId?: number;
  readonly attempts: number;
  /** How each attempt of the request ended, with the first feedback it produced (what `show` said). */
  readonly attemptLog?: readonly EvalAttempt[];
  readonly llmCalls: number;
  /** Wall time of the request (LLM included). */
  readonly requestMs: number;
  /** Time spent waiting for the LLM. */
  readonly llmMs: number;
  readonly oracle?: OracleVerdict;
  /** Why it is FN (the request's reason) or FP (the oracle's reason). */
  readonly reason?: string;
  readonly program?: string;
}

export interface EvalSummaryRow {
  readonly model: string;
  readonly config: EvalConfigName;
  readonly n: number;
  readonly correct: number;
  readonly fp: number;
  readonly fn: number;
  /** Fractions of n. */
  readonly accuracy: number;
  readonly fpRate: number;
  readonly fnRate: number;
  readonly meanRequestMs: number;
  readonly meanLlmCalls: number;
}

export interface EvalParams {
  readonly models: readonly string[];
  readonly configs: readonly EvalConfigName[];
  readonly trials: number;
  readonly runs: number;
  /** Model for comprehension when it should differ from the one under test (default: the same). */
  readonly comprehensionModel?: string;
}

export interface EvalReport {
  readonly id: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly kernelRelease: string;
  readonly bpftraceVersion: string;
  readonly params: EvalParams;
  readonly cases: readonly { readonly id: string; readonly prompt: string }[];
  readonly items: readonly EvalItem[];
  readonly summary: readonly EvalSummaryRow[];
  /** Items planned in total, and whether the run ended before all were done. */
  readonly planned: number;
  readonly complete: boolean;
  /** Cases left out because their reference needs probes this kernel lacks. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  /** The self-contained HTML page, when the call asked for it (`html: true`). */
  readonly html?: string;
}

export interface EvalProgress {
  readonly evalId: string;
  /** Items done (including those done before a resume) and planned. */
  readonly done: number;
  readonly planned: number;
  readonly elapsedMs: number;
  /** Estimated from the mean time of the items run in this session. */
  readonly remainingMs?: number;
  /** What just ended, or the stage of the item running now. */
  readonly item?: EvalItem;
  readonly message?: string;
}

const evalCase = obj({
  id: str({ min: 1, max: 200 }),
  prompt: str({ min: 1, max: 8192 }),
  trigger: str({ min: 1, max: 8192 }),
  expect: str({ min: 1, max: 4096 }),
  reference: str({ min: 1, max: 65536 }),
  waitMs: optional(int({ min: 0, max: 60_000 })),
});

const modelName = str({ min: 1, max: 200 });

/**
 * Runs (or, with `resume`, continues) an evaluation. Cases come with the call (the CLI reads
 * `--cases`), or are the daemon's bundled set (datasets/eval) when absent. Needs the right to
 * attach: the oracle attaches programs and runs each case's trigger as root.
 */
export const EvalRun = defineMethod<EvalReport>()(
  'eval.run',
  obj({
    cases: optional(arr(evalCase, { max: 2000 })),
    /** Only the cases whose id contains one of these. */
    only: optional(arr(str({ min: 1, max: 200 }), { max: 200 })),
    configs: optional(arr(literal(...EVAL_CONFIGS), { max: 4 })),
    models: optional(arr(modelName, { max: 20 })),
    comprehensionModel: optional(modelName),
    trials: optional(int({ min: 1, max: 10 })),
    runs: optional(int({ min: 1, max: 100 })),
    /** Continue an interrupted evaluation: its id, or `last`. */
    resume: optional(str({ min: 1, max: 100 })),
    /** Answer with the HTML page too (`kgentctl eval --html FILE` writes it). */
    html: optional(bool()),
  }),
);

/** The reports the daemon keeps (newest first), to find one to resume. */
export const EvalList = defineMethod<{ readonly evals: readonly { id: string; startedAt: string; done: number; planned: number; complete: boolean }[] }>()(
  'eval.list',
  obj({}),
);

export const EvalProgressNotification = defineNotification<EvalProgress>('eval.progress');
