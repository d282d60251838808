/**
 * kernel-contracts' language model (kernel-contracts/language-model.ts) over the daemon's one LLM
 * door, daemon/llm: enrichment answers and search vectors get its time limits, cancellation,
 * num_ctx and, when `llm` is guarded (server/port-owner.ts), no prompt to a local Ollama port held
 * by a foreign user.
 */
import type { ContractsLanguageModel } from '../../kernel-contracts/language-model.js';
import type { LlmBackend } from '../llm/backend.js';

export interface ContractsModelOptions {
  /** The chat model of enrichment (kgentd uses the comprehension model); absent: no enrichment. */
  readonly chatModel?: string;
  /** The embedding model `llm.embed` asks (config `models.embedding`); absent: no vectors. */
  readonly embedModel?: string;
  /** Sent as num_ctx with each enrichment prompt (config `numCtx`). */
  readonly numCtx: number;
}

export function contractsLanguageModel(llm: LlmBackend, o: ContractsModelOptions): ContractsLanguageModel {
  return {
    ...(o.chatModel ? { chatModel: o.chatModel } : {}),
    ...(o.embedModel ? { embedModel: o.embedModel } : {}),
    async chatJson(messages, signal) {
      if (!o.chatModel) throw new Error('no chat model configured for enrichment');
      const r = await llm.chat({ stage: 'comprehension', model: o.chatModel, messages: [...messages], numCtx: o.numCtx, format: 'json', temperature: 0, ...(signal ? { signal } : {}) });
      return r.content;
    },
    embed: async (texts, signal) => (o.embedModel ? llm.embed([...texts], signal) : undefined),
  };
}
