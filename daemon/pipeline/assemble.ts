/**
 * From the Prompter's parts to the messages sent: the stage's template (`llm/prompts/`) filled
 * with the fixed parts and as many examples and as much feedback as fit into num_ctx
 * (`llm/prompt-budget.ts` decides what to drop and records it).
 */
import { fitPrompt } from '../llm/prompt-budget.js';
import { renderPrompt, type PromptValuesOf } from '../llm/templates.js';
import type { PromptParts } from './prompter.js';
import type { BuiltPrompt } from './stages.js';

export function assemblePrompt(stage: 'synthesis' | 'comprehension', parts: PromptParts, limits: { numCtx: number; answerTokens: number }): BuiltPrompt {
  const fitted = fitPrompt(
    { examples: parts.examples, feedback: parts.feedback },
    (kept) =>
      renderPrompt(stage, {
        ...parts.fixed,
        examples: kept.examples.length ? kept.examples.map((e) => e.text).join('\n\n') : '(none)',
        feedback: kept.feedback.length ? kept.feedback.map((f) => `- ${f}`).join('\n') : '(none)',
      } as unknown as PromptValuesOf[typeof stage]),
    limits,
  );
  return {
    messages: fitted.messages.map((m) => ({ role: m.role, content: m.content })),
    trim: fitted.report,
    text: fitted.messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n'),
  };
}
