/**
 * Replayed LLM answers for the evaluation cases (the Ollama stand-in's chat function in the replay
 * test and the pipeline bench): the stand-in "model" `replay-reference` answers synthesis with the
 * case's reference and comprehension with its `annotated` version; `replay-wrong` answers with the
 * case's first wrong program (comprehension: the same program, unannotated).
 */
import type { EvalCaseFile } from '../../../daemon/eval/cases.js';
import type { StandinChatRequest } from '../../support/ollama-standin.js';

export const SYNTHESIS = 'Write the program for the request.';
export const COMPREHENSION = 'Return the candidate with assume/assert/cover inserted.';

export const fenced = (src: string): string => `Here is the program.\n\n\`\`\`bpftrace\n${src.trim()}\n\`\`\`\n`;

/** Answers a chat request from the case whose prompt the request carries, as the model named asks. */
export function replayAnswer(cases: readonly EvalCaseFile[], req: StandinChatRequest): string {
  const last = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const c = cases.find((x) => last.includes(`Request: ${x.prompt}`));
  if (!c) return 'I do not know this request.';
  const wrong = req.model.startsWith('replay-wrong');
  const program = wrong ? (c.wrong[0]?.program ?? c.reference) : c.reference;
  if (last.includes(COMPREHENSION)) return fenced(wrong ? program : (c.annotated ?? c.reference));
  if (last.includes(SYNTHESIS)) return fenced(program);
  return 'Unexpected prompt.';
}
