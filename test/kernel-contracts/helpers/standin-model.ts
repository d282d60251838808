/**
 * kernel-contracts' language model as kgentd builds it (daemon/contracts/contracts-llm.ts over
 * daemon/llm's backend), pointed at the Ollama stand-in: the tests go through the daemon's one LLM
 * door, only the model server is stood in.
 */
import type { ContractsLanguageModel } from '../../../kernel-contracts/language-model.js';
import { contractsLanguageModel } from '../../../daemon/contracts/contracts-llm.js';
import { createLlmBackend } from '../../../daemon/llm/backend.js';

export function standinContractsModel(host: string, models: { chatModel?: string; embedModel?: string }, numCtx = 8192): ContractsLanguageModel {
  const chat = models.chatModel ?? '';
  const llm = createLlmBackend({ host, models: { synthesis: chat, comprehension: chat, embedding: models.embedModel ?? '' }, timeoutMs: 10_000 });
  return contractsLanguageModel(llm, { ...models, numCtx });
}
