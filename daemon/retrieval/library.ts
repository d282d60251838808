/**
 * The example library as kgentd runs it: the {@link ExampleStore} opened under the state
 * directory, synced with the repository's dataset in the background at start (so the socket is
 * not delayed), embeddings from Ollama's embedding model when it answers. Searches and learning
 * wait for that first sync, so the first request after a start sees the whole dataset.
 */
import type { Ollama } from 'ollama';
import { loadExamples, type Example } from '../../datasets/load.js';
import type { KgentConfig } from '../config.js';
import { createOllama } from '../llm/ollama-client.js';
import type { Logger } from '../log.js';
import { ExampleStore, type EmbedFn, type SearchOptions, type SearchResult, type SyncResult } from './example-store.js';
import type { LearnInput, StoredExample } from './example-rows.js';

export interface ExampleLibraryOptions {
  readonly stateDir: string;
  /** Ollama and its embedding model; without them search is full text only. */
  readonly ollama?: { readonly client: Ollama; readonly model: string };
  /** The dataset (default: `loadExamples()` of this repository). */
  readonly loadDataset?: () => readonly Example[];
  readonly logger: Logger;
}

/** Embeddings through Ollama; undefined (full text) when the model does not answer within `timeoutMs`. */
export function ollamaEmbedder(client: Ollama, model: string, logger: Logger, timeoutMs = 30_000): EmbedFn {
  let warned = false;
  return async (texts) => {
    try {
      const res = await Promise.race([
        client.embed({ model, input: texts }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
      warned = false;
      return res.embeddings;
    } catch (err) {
      if (!warned) logger.warn({ model, err: (err as Error).message }, `examples: embedding model ${model} unavailable (ollama pull ${model} adds it); full-text search only`);
      warned = true;
      return undefined;
    }
  };
}

export class ExampleLibrary {
  /** Settles when the first sync is done (or failed: the table then serves what it held before). */
  readonly ready: Promise<SyncResult | undefined>;

  private constructor(
    readonly store: ExampleStore,
    o: ExampleLibraryOptions,
  ) {
    this.ready = (async () => {
      try {
        const dataset = (o.loadDataset ?? loadExamples)();
        return await store.sync(dataset);
      } catch (err) {
        o.logger.error({ err: (err as Error).message }, 'examples: the dataset could not be loaded; searching the examples loaded before');
        return undefined;
      }
    })();
  }

  static async open(o: ExampleLibraryOptions): Promise<ExampleLibrary> {
    const embed = o.ollama ? ollamaEmbedder(o.ollama.client, o.ollama.model, o.logger) : undefined;
    const store = await ExampleStore.open({
      stateDir: o.stateDir,
      ...(embed ? { embed, embedModel: o.ollama!.model } : {}),
      logger: o.logger,
    });
    return new ExampleLibrary(store, o);
  }

  /** The best `k` examples for a request (see {@link ExampleStore.search}). */
  async search(text: string, k: number, opts?: SearchOptions): Promise<SearchResult> {
    await this.ready;
    return this.store.search(text, k, opts);
  }

  /** Adds a finished request (see {@link ExampleStore.learn}). */
  async learn(outcome: LearnInput): Promise<StoredExample> {
    await this.ready;
    return this.store.learn(outcome);
  }

  /** Closes the table once the first sync has settled (it is not interrupted). */
  close(): void {
    void this.ready.finally(() => this.store.close());
  }
}

/**
 * The library kgentd serves: `<stateDir>/examples.lance`, embeddings from the configured model.
 * A failure to open costs only the examples (searches answer nothing, `examples.*` say why).
 */
export async function startExampleLibrary(config: KgentConfig, logger: Logger): Promise<ExampleLibrary | undefined> {
  const log = logger.child({ component: 'examples' });
  try {
    return await ExampleLibrary.open({
      stateDir: config.stateDir,
      ollama: { client: createOllama(config.ollamaHost, 120_000), model: config.models.embedding },
      logger: log,
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'example library unavailable');
    return undefined;
  }
}
