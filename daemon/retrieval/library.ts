/**
 * The example library as kgentd runs it: the {@link ExampleStore} under the state directory,
 * synced with the repository's dataset in the background at start (so the socket is not delayed),
 * embeddings from Ollama's embedding model when it answers. Searches and learning wait for that
 * first sync, so the first request after a start sees the whole dataset.
 *
 * Memory: LanceDB and Arrow cost the daemon ~50 MB once loaded, and a sync
 * more. kgentd therefore decides from `examples.meta.json` alone whether a sync is needed, runs a
 * needed one in a short-lived child process (`example-sync-main.js`), and loads LanceDB itself
 * (a dynamic `import()`) only with the first use of the table: a search, a listing, a learned
 * request. Tests and tools that want it in one process leave out `syncInChild`.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeExit, runJsonLinesChild } from '../../kernel-contracts/util/json-lines-child.js';
import type { Ollama } from 'ollama';
import { loadExamples, type Example } from '../../datasets/load.js';
import type { KgentConfig } from '../config.js';
import { KgentError } from '../errors.js';
import { createOllama } from '../llm/ollama-client.js';
import type { Logger } from '../log.js';
import { syncReason } from './example-meta.js';
import { datasetHash, type LearnInput, type StoredExample } from './example-rows.js';
import type { EmbedFn, ExampleStore, SearchOptions, SearchResult, SyncResult } from './example-store.js';

export interface ExampleLibraryOptions {
  readonly stateDir: string;
  /** Ollama and its embedding model; without them search is full text only. `host` is what a sync child connects to. */
  readonly ollama?: { readonly client: Ollama; readonly model: string; readonly host?: string };
  /** The dataset for an in-process sync (default: `loadExamples()` of this repository). */
  readonly loadDataset?: () => readonly Example[];
  /**
   * Run a needed sync in a child process instead of this one. The child reads the dataset from
   * `datasetDir` (default: this repository's `datasets/examples`); `loadDataset` is not used.
   * `script`: the compiled `example-sync-main.js` (default: the one beside this module).
   */
  readonly syncInChild?: { readonly datasetDir?: string; readonly script?: string };
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
  /**
   * Settles when the first sync is done: its result, or undefined when there was nothing to do
   * (child mode) or it failed (the table then serves what it held before).
   */
  readonly ready: Promise<SyncResult | undefined>;
  private opened: Promise<ExampleStore> | undefined;
  private child: ChildProcess | undefined;
  private closed = false;

  private constructor(
    private readonly o: ExampleLibraryOptions,
    private readonly given?: ExampleStore,
  ) {
    this.ready = (o.syncInChild ? this.syncInChild(o.syncInChild) : this.syncHere()).catch((err: unknown) => {
      o.logger.error({ err: (err as Error).message }, 'examples: the dataset could not be loaded; searching the examples loaded before');
      return undefined;
    });
  }

  /**
   * The library over `<stateDir>/examples.lance`. In process, the table is opened here (a failure
   * throws); with `syncInChild`, nothing of LanceDB is loaded until the first use.
   */
  static async open(o: ExampleLibraryOptions): Promise<ExampleLibrary> {
    if (o.syncInChild) return new ExampleLibrary(o);
    const embed = o.ollama ? ollamaEmbedder(o.ollama.client, o.ollama.model, o.logger) : undefined;
    const { ExampleStore } = await import('./example-store.js');
    const store = await ExampleStore.open({ stateDir: o.stateDir, ...(embed ? { embed, embedModel: o.ollama!.model } : {}), logger: o.logger });
    return new ExampleLibrary(o, store);
  }

  /** The table, opened (and LanceDB loaded) on first call, after the first sync. */
  async store(): Promise<ExampleStore> {
    await this.ready;
    return this.openStore();
  }

  /** The best `k` examples for a request (see {@link ExampleStore.search}). */
  async search(text: string, k: number, opts?: SearchOptions): Promise<SearchResult> {
    return (await this.store()).search(text, k, opts);
  }

  /** Adds a finished request (see {@link ExampleStore.learn}). */
  async learn(outcome: LearnInput): Promise<StoredExample> {
    return (await this.store()).learn(outcome);
  }

  /** Stops a running sync child; closes the table once the first sync has settled. */
  close(): void {
    this.closed = true;
    this.child?.kill('SIGTERM');
    void this.ready.finally(() => this.opened?.then((s) => s.close(), () => undefined));
  }

  // ---- internals ----------------------------------------------------------------------------------

  private openStore(): Promise<ExampleStore> {
    if (this.closed) return Promise.reject(new KgentError('unavailable', 'the example library is closed (kgentd is stopping)'));
    this.opened ??= this.given
      ? Promise.resolve(this.given)
      : (async () => {
          const { ExampleStore } = await import('./example-store.js');
          const embed = this.o.ollama ? ollamaEmbedder(this.o.ollama.client, this.o.ollama.model, this.o.logger) : undefined;
          return ExampleStore.open({ stateDir: this.o.stateDir, ...(embed ? { embed, embedModel: this.o.ollama!.model } : {}), logger: this.o.logger });
        })().catch((err: unknown) => {
          this.opened = undefined; // the next use tries again
          this.o.logger.error({ err: (err as Error).message }, 'example library unavailable');
          throw new KgentError('unavailable', `the example library failed to open: ${(err as Error).message}`);
        });
    return this.opened;
  }

  private async syncHere(): Promise<SyncResult | undefined> {
    const store = await this.openStore();
    return store.sync((this.o.loadDataset ?? loadExamples)());
  }

  private async syncInChild(c: NonNullable<ExampleLibraryOptions['syncInChild']>): Promise<SyncResult | undefined> {
    const model = this.o.ollama?.model;
    const why = syncReason(this.o.stateDir, datasetHash(c.datasetDir ? loadExamples(c.datasetDir) : loadExamples()), model);
    if (!why) {
      this.o.logger.debug('examples: the table holds this dataset; no sync');
      return undefined;
    }
    const script = c.script ?? fileURLToPath(new URL('./example-sync-main.js', import.meta.url));
    const host = this.o.ollama?.host;
    const args = [
      script,
      '--state-dir', this.o.stateDir,
      ...(host && model ? ['--ollama-host', host, '--embed-model', model] : []),
      ...(c.datasetDir ? ['--dataset-dir', c.datasetDir] : []),
      '--log-level', this.o.logger.level,
    ];
    this.o.logger.info({ reason: why }, 'examples: syncing the table in a child process');
    return runSyncChild(args, this.o.logger, (child) => (this.child = child)).finally(() => (this.child = undefined));
  }
}

/**
 * Runs `node ARGS` (the sync child): its pino lines are logged again through `logger`, its
 * `{"syncResult": ...}` line is the result. A non-zero exit rejects with the child's stderr.
 */
async function runSyncChild(args: readonly string[], logger: Logger, started: (c: ChildProcess) => void): Promise<SyncResult | undefined> {
  let result: SyncResult | undefined;
  const exit = await runJsonLinesChild({
    args,
    what: 'examples: sync child',
    log: logger,
    tag: { sync: 'child' },
    started,
    onMessage(msg) {
      if (msg['syncResult']) result = msg['syncResult'] as SyncResult;
    },
  });
  if (exit.code === 0) return result;
  throw new Error(`example sync child ${describeExit(exit)}`);
}

/**
 * The library kgentd serves: `<stateDir>/examples.lance`, embeddings from the configured model, a
 * needed sync in a child process (LanceDB loads in the daemon with the first use only).
 */
export async function startExampleLibrary(config: KgentConfig, logger: Logger): Promise<ExampleLibrary | undefined> {
  const log = logger.child({ component: 'examples' });
  try {
    return await ExampleLibrary.open({
      stateDir: config.stateDir,
      ollama: { client: createOllama(config.ollamaHost, 120_000), model: config.models.embedding, host: config.ollamaHost },
      syncInChild: {},
      logger: log,
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'example library unavailable');
    return undefined;
  }
}
