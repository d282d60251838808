/**
 * The example library as kgentd runs it: the {@link ExampleStore} under the state directory,
 * synced with the repository's dataset in the background at start (so the socket is not delayed),
 * embeddings from the embedding model when it answers, asked through the daemon's one LLM door
 * (`embedding.embed`; no child talks to a model server). Searches and learning wait for that
 * first sync, so the first request after a start sees the whole dataset.
 *
 * Memory: LanceDB and Arrow cost a process tens of MB once used, and keep them for the life of the
 * process. kgentd therefore never loads them: it decides from `examples.meta.json` alone whether a
 * sync is needed, runs a needed one in a short-lived child process (`example-sync-main.js`), and
 * serves searches, listings and learning from another child (`example-store-main.js`, see
 * example-store-client.ts) let go after `idleMs` without a use. Tests and tools that want it all
 * in one process leave out `syncInChild`.
 */
import type { ChildProcess } from 'node:child_process';
import { compiledScript } from '../../kernel-contracts/util/child-home.js';
import { describeExit, runJsonLinesChild } from '../../kernel-contracts/util/json-lines-child.js';
import { loadExamples, type Example } from '../../datasets/load.js';
import type { KgentConfig } from '../config.js';
import { KgentError } from '../errors.js';
import type { LlmBackend } from '../llm/backend.js';
import type { Logger } from '../log.js';
import { syncReason } from './example-meta.js';
import { datasetHash, type LearnInput, type StoredExample } from './example-rows.js';
import { ExampleStoreClient, type ExampleStoreApi } from './example-store-client.js';
import type { EmbedFn, ExampleStore, SearchOptions, SearchResult, SyncResult } from './example-store.js';

export interface ExampleLibraryOptions {
  readonly stateDir: string;
  /** The embedding model and the way to it (the daemon's LLM door); without it search is full text only. */
  readonly embedding?: { readonly model: string; readonly embed: EmbedFn };
  /** The dataset for an in-process sync (default: `loadExamples()` of this repository). */
  readonly loadDataset?: () => readonly Example[];
  /**
   * Run a needed sync in a child process, and the table in another, instead of this process. The
   * sync child reads the dataset from `datasetDir` (default: this repository's
   * `datasets/examples`); `loadDataset` is not used. `script`: the compiled
   * `example-sync-main.js`, `storeScript`: `example-store-main.js` (default: the ones beside this
   * module). The store's child is let go after `idleMs` without a use (default 60 s).
   */
  readonly syncInChild?: { readonly datasetDir?: string; readonly script?: string; readonly storeScript?: string; readonly idleMs?: number };
  /**
   * The host's bpftrace dialect profile (`0.23`, kgentd's choice for the bpftrace it runs): searches
   * offer only entries that fit it, and learned entries are recorded as fitting it. Default: none
   * (every entry; learned entries fit the versions whose front-end accepts their program).
   */
  readonly dialect?: string;
  readonly logger: Logger;
}

/**
 * Embeddings through the daemon's LLM backend (its time limits and the check of who holds a local
 * Ollama port); undefined (full text) when the model does not answer, said once in the log.
 */
export function backendEmbedder(llm: LlmBackend, model: string, logger: Logger): EmbedFn {
  let warned = false;
  return async (texts) => {
    const vectors = await llm.embed(texts).catch(() => undefined);
    if (vectors) warned = false;
    else if (!warned) {
      warned = true;
      logger.warn({ model }, `examples: embedding model ${model} unavailable (ollama pull ${model} adds it); full-text search only`);
    }
    return vectors;
  };
}

export class ExampleLibrary {
  /**
   * Settles when the first sync is done: its result, or undefined when there was nothing to do
   * (child mode) or it failed (the table then serves what it held before).
   */
  readonly ready: Promise<SyncResult | undefined>;
  private opened: Promise<ExampleStoreApi & { close(): unknown }> | undefined;
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
    const { ExampleStore } = await import('./example-store.js');
    const store = await ExampleStore.open({ stateDir: o.stateDir, ...(o.embedding ? { embed: o.embedding.embed, embedModel: o.embedding.model } : {}), logger: o.logger });
    return new ExampleLibrary(o, store);
  }

  /** The table, opened on first call (in its child, or here), after the first sync. */
  async store(): Promise<ExampleStoreApi> {
    await this.ready;
    return this.openStore();
  }

  /** The host's dialect profile the library serves, when it was given one. */
  get dialect(): string | undefined {
    return this.o.dialect;
  }

  /** The best `k` examples for a request that fit the host's dialect (see {@link ExampleStore.search}). */
  async search(text: string, k: number, opts?: SearchOptions): Promise<SearchResult> {
    return (await this.store()).search(text, k, { ...(this.o.dialect !== undefined ? { dialect: this.o.dialect } : {}), ...opts });
  }

  /** Adds a finished request, verified under the host's dialect (see {@link ExampleStore.learn}). */
  async learn(outcome: LearnInput): Promise<StoredExample> {
    return (await this.store()).learn({ ...(this.o.dialect !== undefined ? { dialect: this.o.dialect } : {}), ...outcome });
  }

  /** Stops a running sync child; closes the table (lets its child go) once the first sync has settled. */
  close(): void {
    this.closed = true;
    this.child?.kill('SIGTERM');
    void this.ready.finally(() => this.opened?.then((s) => void s.close(), () => undefined));
  }

  // ---- internals ----------------------------------------------------------------------------------

  private openStore(): Promise<ExampleStoreApi & { close(): unknown }> {
    if (this.closed) return Promise.reject(new KgentError('unavailable', 'the example library is closed (kgentd is stopping)'));
    this.opened ??= this.given
      ? Promise.resolve(this.given)
      : (async () => {
          const c = this.o.syncInChild;
          if (c) {
            // LanceDB in a child let go when idle; it opens the table with its first call.
            const client = new ExampleStoreClient({
              stateDir: this.o.stateDir,
              script: c.storeScript ?? compiledScript(import.meta.url, 'example-store-main'),
              idleMs: c.idleMs ?? 60_000,
              ...(this.o.embedding ? { embedding: this.o.embedding } : {}),
              logger: this.o.logger,
            });
            await client.refresh();
            return client;
          }
          const { ExampleStore } = await import('./example-store.js');
          return ExampleStore.open({ stateDir: this.o.stateDir, ...(this.o.embedding ? { embed: this.o.embedding.embed, embedModel: this.o.embedding.model } : {}), logger: this.o.logger });
        })().catch((err: unknown) => {
          this.opened = undefined; // the next use tries again
          this.o.logger.error({ err: (err as Error).message }, 'example library unavailable');
          throw new KgentError('unavailable', `the example library failed to open: ${(err as Error).message}`);
        });
    return this.opened;
  }

  private async syncHere(): Promise<SyncResult | undefined> {
    // In one process the store was opened by `open` and given to the constructor.
    return this.given?.sync((this.o.loadDataset ?? loadExamples)());
  }

  private async syncInChild(c: NonNullable<ExampleLibraryOptions['syncInChild']>): Promise<SyncResult | undefined> {
    const model = this.o.embedding?.model;
    const why = syncReason(this.o.stateDir, datasetHash(c.datasetDir ? loadExamples(c.datasetDir) : loadExamples()), model);
    if (!why) {
      this.o.logger.debug('examples: the table holds this dataset; no sync');
      return undefined;
    }
    const script = c.script ?? compiledScript(import.meta.url, 'example-sync-main');
    const args = [
      script,
      '--state-dir', this.o.stateDir,
      ...(model ? ['--embed-model', model] : []),
      ...(c.datasetDir ? ['--dataset-dir', c.datasetDir] : []),
      '--log-level', this.o.logger.level,
    ];
    this.o.logger.info({ reason: why }, 'examples: syncing the table in a child process');
    return runSyncChild(args, this.o.logger, this.o.embedding?.embed, (child) => (this.child = child)).finally(() => (this.child = undefined));
  }
}

/**
 * Runs `node ARGS` (the sync child): its pino lines are logged again through `logger`, its
 * `{"syncResult": ...}` line is the result. A non-zero exit rejects with the child's stderr.
 */
async function runSyncChild(args: readonly string[], logger: Logger, embed: EmbedFn | undefined, started: (c: ChildProcess) => void): Promise<SyncResult | undefined> {
  let result: SyncResult | undefined;
  const exit = await runJsonLinesChild({
    args,
    what: 'examples: sync child',
    log: logger,
    tag: { sync: 'child' },
    started,
    answer: async (question, a) => {
      if (question !== 'embed' || !embed) throw new Error(`the sync child asked "${question}", which is not answered`);
      return embed(a[0] as string[]);
    },
    onMessage(msg) {
      if (msg['syncResult']) result = msg['syncResult'] as SyncResult;
    },
  });
  if (exit.code === 0) return result;
  throw new Error(`example sync child ${describeExit(exit)}`);
}

/**
 * The library kgentd serves: `<stateDir>/examples.lance`, embeddings from the configured model
 * through `llm` (the daemon's one LLM door), a needed sync in a child process and the table in
 * another, let go after `idleReleaseMs` (LanceDB never loads in the daemon).
 */
export async function startExampleLibrary(config: KgentConfig, llm: LlmBackend, logger: Logger, dialect?: string): Promise<ExampleLibrary | undefined> {
  const log = logger.child({ component: 'examples' });
  try {
    return await ExampleLibrary.open({
      stateDir: config.stateDir,
      embedding: { model: config.models.embedding, embed: backendEmbedder(llm, config.models.embedding, log) },
      syncInChild: { idleMs: config.idleReleaseMs },
      ...(dialect !== undefined ? { dialect } : {}),
      logger: log,
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'example library unavailable');
    return undefined;
  }
}
