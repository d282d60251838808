/**
 * The comprehension stage: the LLM returns the candidate with `assume()`/`assert()`/`cover()`
 * inserted, given the contracts of the hooks it attaches to and the BTF types of the kernel fields
 * it reads. An answer whose program does not parse is feedback for the next trial.
 */
import { collect, parse } from '../verifier/frontend/index.js';
import { formatDiagnostic } from '../protocol/diagnostic.js';
import type { FeedbackMessage } from '../protocol/requests-api.js';
import type { Contract } from '../../kernel-contracts/contracts/model.js';
import type { Attempt, AttemptFailed } from './attempt.js';
import type { HostFacts } from './hook-facts.js';
import { extractProgram } from './extract-program.js';
import { askModel, buildPrompt, type ModelDeps } from './model-call.js';
import { comprehensionParts } from './prompter.js';
import type { Checker, HookSource, RetrievedExample } from './stages.js';

export interface ComprehensionDeps extends ModelDeps {
  readonly hooks?: HookSource;
  readonly checker: Pick<Checker, 'members'>;
  /** The host's bpftrace and dialect, for the facts of its language. */
  readonly host: HostFacts;
}

export interface ComprehensionInput {
  readonly text: string;
  readonly hints: readonly string[];
  readonly candidate: string;
  readonly examples: readonly RetrievedExample[];
  /** The feedback the prompt may quote (this attempt's lint notes at least). */
  readonly feedback: readonly FeedbackMessage[];
  /** The model for this stage instead of the configured one. */
  readonly model?: string;
}

/** The annotated program, or the failure that ends the attempt. */
export async function comprehend(deps: ComprehensionDeps, attempt: Attempt, input: ComprehensionInput): Promise<string | AttemptFailed> {
  const rec = attempt.record;
  const { candidate } = input;
  const used = await hooksOf(deps.hooks, candidate);
  const members = await deps.checker.members(candidate).catch(() => []);
  const prompt = buildPrompt(deps, attempt, 'comprehension', comprehensionParts({ text: input.text, hints: input.hints, host: deps.host, candidate, hooks: used, members, examples: input.examples, feedback: input.feedback }));
  rec.comprehensionPrompt = prompt.text;
  rec.trimmed = { ...rec.trimmed, comprehension: prompt.trim };
  const answer = await askModel(deps, attempt, 'comprehension', prompt, input.model);
  rec.comprehensionAnswer = answer;
  const extracted = extractProgram(answer);
  if (!extracted.source || !extracted.program) {
    const why = extracted.diagnostics.find((d) => d.severity === 'error');
    return attempt.fail('invalid', [attempt.feedback('comprehension', `the annotated program does not parse${why ? `: ${formatDiagnostic(why, 'annotated.bt')}` : ''}`)], candidate);
  }
  rec.annotated = extracted.source;
  return extracted.source;
}

/** The contracts of the hooks a program attaches to (non-wildcard attach points). */
async function hooksOf(hooks: HookSource | undefined, source: string): Promise<Contract[]> {
  const program = parse(source).program;
  if (!program || !hooks) return [];
  const seen = new Set<string>();
  const out: Contract[] = [];
  for (const ap of collect(program, 'AttachPoint')) {
    if (ap.wildcard) continue;
    const name = `${ap.provider}:${ap.target.join(':')}`;
    if (seen.has(name)) continue;
    seen.add(name);
    const c = await hooks.lookup(name).catch(() => undefined);
    if (c) out.push(c);
  }
  return out;
}
