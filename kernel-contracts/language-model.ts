/**
 * What kernel-contracts asks of a language model: JSON answers for enrichment (enrich/) and
 * vectors for the search index (search/). kernel-contracts never opens a connection to a model
 * server in the daemon's process: the daemon hands in an implementation over its one LLM door
 * (daemon/llm, with its time limits, cancellation, num_ctx and the check of who holds a local
 * Ollama port). Only a rebuild run in a child process (rebuild/build-main.ts) asks for vectors
 * itself, at the endpoint {@link ContractsLanguageModel.childEmbedding} names.
 */

export interface ChatTurn {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ContractsLanguageModel {
  /** The model `chatJson` asks (stored with each enrichment); undefined: no enrichment. */
  readonly chatModel?: string;
  /** The model `embed` asks; undefined: the search index is full-text only. */
  readonly embedModel?: string;
  /** The chat model's answer to `messages`, one JSON object, at temperature 0. Throws when it does not answer. */
  chatJson(messages: readonly ChatTurn[], signal?: AbortSignal): Promise<string>;
  /** One vector per text; undefined when the embedding model is absent or not answering. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][] | undefined>;
  /**
   * Where a rebuild in a child process may ask for vectors (it cannot use this object), checked
   * now; undefined: the child builds without vectors.
   */
  childEmbedding(): Promise<{ readonly host: string; readonly model: string } | undefined>;
}
