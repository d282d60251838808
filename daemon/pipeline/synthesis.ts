/**
 * The synthesis stage: the LLM writes a candidate bpftrace program for the request, given the
 * examples, this kernel's hooks and the feedback so far. The answer's program must fit
 * maxProgramBytes, parse with the verifier's front-end and pass the LLM-free lints; each failure is
 * feedback for the next trial. Lint warnings travel with the attempt as feedback.
 */
import { formatDiagnostic } from '../protocol/diagnostic.js';
import type { FeedbackMessage } from '../protocol/requests-api.js';
import { diagText, type Attempt, type AttemptFailed } from './attempt.js';
import { extractProgram } from './extract-program.js';
import type { HostFacts } from './hook-facts.js';
import { askModel, buildPrompt, type ModelDeps } from './model-call.js';
import { synthesisParts } from './prompter.js';
import type { Retrieved } from './retrieval.js';
import type { Checker } from './stages.js';

export interface SynthesisDeps extends ModelDeps {
  readonly host: HostFacts;
  readonly checker: Pick<Checker, 'lint'>;
  /** Bytes of a candidate program (maxProgramBytes): a longer answer is fed back, never annotated or checked. */
  readonly maxProgramBytes?: number;
}

export interface SynthesisInput extends Retrieved {
  readonly text: string;
  readonly hints: readonly string[];
  /** Feedback of the request's earlier attempts (empty when feedback is off). */
  readonly feedback: readonly FeedbackMessage[];
  /** The model for this stage instead of the configured one. */
  readonly model?: string;
}

/** The attempt's candidate program, or the failure that ends the attempt. */
export async function synthesize(deps: SynthesisDeps, attempt: Attempt, input: SynthesisInput): Promise<string | AttemptFailed> {
  const rec = attempt.record;
  const t0 = performance.now();
  const prompt = buildPrompt(deps, attempt, 'synthesis', synthesisParts({ text: input.text, hints: input.hints, host: deps.host, hooks: input.hooks, examples: input.examples, feedback: input.feedback }));
  rec.timings.push({ stage: 'prompt', ms: Math.round(performance.now() - t0) });
  rec.synthesisPrompt = prompt.text;
  rec.trimmed = { synthesis: prompt.trim };
  const answer = await askModel(deps, attempt, 'synthesis', prompt, input.model);
  rec.synthesisAnswer = answer;

  const extracted = extractProgram(answer);
  if (!extracted.source) return attempt.fail('parse-error', [attempt.feedback('synthesis', 'the answer contained no bpftrace program; answer with one ```bpftrace fenced block')]);
  rec.candidate = extracted.source;
  const bytes = Buffer.byteLength(extracted.source);
  if (deps.maxProgramBytes !== undefined && bytes > deps.maxProgramBytes) {
    // Not the attempt's candidate: it could never be checked or run, nor learned as an example.
    return attempt.fail('parse-error', [attempt.feedback('synthesis', `the program is ${bytes} bytes, over the limit of ${deps.maxProgramBytes} (maxProgramBytes); write a much shorter program`)]);
  }
  if (!extracted.program) {
    return attempt.fail('parse-error', extracted.diagnostics.filter((d) => d.severity === 'error').map((d) => attempt.feedback('parse', formatDiagnostic(d, 'program.bt'))), extracted.source);
  }
  const candidate = extracted.source;
  const lintDiags = await deps.checker.lint(candidate);
  const lintErrors = lintDiags.filter((d) => d.severity === 'error');
  if (lintErrors.length > 0) return attempt.fail('lint-error', lintErrors.map((d) => attempt.feedback('lint', diagText(d))), candidate);
  // Lint warnings (network byte order, time units ...) travel with the attempt as feedback.
  attempt.note(lintDiags.filter((d) => d.severity === 'warning').map((d) => attempt.feedback('lint', diagText(d))));
  return candidate;
}
