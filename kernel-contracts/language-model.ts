/**
 * What kernel-contracts asks of a language model: JSON answers for enrichment (enrich/) and
 * vectors for the search index (search/). kernel-contracts never opens a connection to a model
 * server in the daemon's process: the daemon hands in an implementation over its one LLM door
 * (daemon/llm, with its time limits, cancellation, num_ctx and the check of who holds a local
 * Ollama port). Children (a rebuild, the search index) ask their parent for vectors, which asks
 * this interface: no child opens a connection to a model server either.
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
}
