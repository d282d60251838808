/**
 * What synthesis and comprehension share: a stage's prompt fitted into num_ctx (trims reported),
 * and one chat with the model, streamed as the stage's progress. Failures of the model end the
 * request, not the attempt: another trial would fail the same way.
 */
import type { Attempt } from './attempt.js';
import { Cancelled, RequestAborted } from './attempt.js';
import type { PromptParts } from './prompter.js';
import type { BuiltPrompt, ChatModel } from './stages.js';

export type ModelStage = 'synthesis' | 'comprehension';

/** What a stage needs to talk to the model. */
export interface ModelDeps {
  readonly llm: ChatModel;
  /** Renders a stage's template with the parts, fitted into `numCtx` (llm/). */
  assemble(stage: ModelStage, parts: PromptParts, numCtx: number): BuiltPrompt;
  readonly numCtx: number;
}

/** The prompt of a stage; a request too long for num_ctx even with nothing optional left ends the request. */
export function buildPrompt(deps: ModelDeps, attempt: Attempt, stage: ModelStage, parts: PromptParts): BuiltPrompt {
  let prompt: BuiltPrompt;
  try {
    prompt = deps.assemble(stage, parts, deps.numCtx);
  } catch (err) {
    throw new RequestAborted(err instanceof Error ? err.message : String(err));
  }
  reportTrim(attempt, stage, prompt);
  return prompt;
}

/** The model's answer to `prompt`, as the attempt's `progressStage` (`model` overrides the configured one). */
export async function askModel(deps: ModelDeps, attempt: Attempt, stage: ModelStage, prompt: BuiltPrompt, model: string | undefined): Promise<string> {
  const progressStage = stage === 'synthesis' ? 'synthesizing' : 'annotating';
  return attempt.stage(progressStage, async (onTokens) => {
    try {
      const r = await deps.llm.chat({ stage, messages: prompt.messages, numCtx: deps.numCtx, signal: attempt.signal, onTokens, ...(model ? { model } : {}) });
      return r.content;
    } catch (err) {
      if (attempt.signal.aborted) throw new Cancelled();
      // Unreachable server, missing model, timeout: the request cannot go on (the message says what fixes it).
      throw new RequestAborted(err instanceof Error ? err.message : String(err));
    }
  });
}

function reportTrim(attempt: Attempt, stage: ModelStage, p: BuiltPrompt): void {
  const t = p.trim;
  if (t.droppedExamples.length === 0 && t.shortenedFeedback === 0) return;
  const parts = [
    ...(t.droppedExamples.length ? [`dropped example${t.droppedExamples.length > 1 ? 's' : ''} ${t.droppedExamples.join(', ')}`] : []),
    ...(t.shortenedFeedback ? [`shortened ${t.shortenedFeedback} old feedback message${t.shortenedFeedback > 1 ? 's' : ''}`] : []),
  ];
  attempt.say({ stage: 'trimmed', phase: 'info', message: `${stage} prompt trimmed to fit num_ctx (${t.tokens}/${t.budget} tokens): ${parts.join('; ')}` });
}
