/**
 * The rebuild: one at a time, in this process or in a child (`rebuild/build-main.js`), with its
 * progress, its last error, and the switch of the open doc index to the new generation. Events
 * go out on the service's emitter (`progress`, `rebuilt`, `rebuild-failed`).
 */
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ContractsError } from '../errors.js';
import type { KernelHost } from '../kernel-reader/host.js';
import type { KernelIdentity } from '../kernel-reader/identity.js';
import { CONTRACT_FORMAT } from '../contracts/model.js';
import type { ContractsLanguageModel } from '../language-model.js';
import type { ContractStore, Generation } from '../store/contract-db.js';
import type { Embedder } from '../search/doc-index.js';
import { buildDataset, type BtfLoader, type BuildResult } from '../rebuild/build.js';
import { runBuildChild } from '../rebuild/build-child.js';
import type { RebuildProgress } from '../api.js';
import type { BtfCache } from './btf-cache.js';
import type { DocIndexHolder } from './doc-index-holder.js';
import type { ContractLogger, ContractServiceOptions } from './options.js';
import type { SourceIndex } from './source-index.js';

/** Why the stored dataset does not serve the running kernel; undefined when it does. */
export function rebuildReason(cur: Generation | undefined, running: KernelIdentity): string | undefined {
  if (!cur) return 'no dataset yet';
  if (cur.identity.key !== running.key) return `kernel changed (${cur.identity.release} -> ${running.release})`;
  if (cur.format !== CONTRACT_FORMAT) return `contract format ${cur.format} is outdated (now ${CONTRACT_FORMAT})`;
  return undefined;
}

export interface RebuildRunnerDeps {
  readonly options: ContractServiceOptions;
  readonly host: KernelHost;
  readonly log: ContractLogger;
  readonly loadBtf: BtfLoader;
  readonly store: () => ContractStore;
  readonly docs: DocIndexHolder;
  readonly source: () => SourceIndex | undefined;
  readonly btf: BtfCache;
  /** Where `progress`, `rebuilt` and `rebuild-failed` are emitted. */
  readonly events: EventEmitter;
}

export class RebuildRunner {
  private running: Promise<BuildResult> | undefined;
  private buildChild: { kill(signal: NodeJS.Signals): boolean } | undefined;
  private progressNow: RebuildProgress | undefined;
  private failure: string | undefined;

  constructor(private readonly d: RebuildRunnerDeps) {}

  /** The rebuild under way, if any. */
  get current(): Promise<BuildResult> | undefined {
    return this.running;
  }

  /** The last progress of the rebuild under way. */
  get progress(): RebuildProgress | undefined {
    return this.running ? this.progressNow : undefined;
  }

  /** The last rebuild's error, cleared by a rebuild that succeeds. */
  get lastError(): string | undefined {
    return this.failure;
  }

  /** Starts a rebuild, or joins the one under way. */
  start(): Promise<BuildResult> {
    if (this.running) return this.running;
    const store = this.d.store();
    const t0 = performance.now();
    const p = this.d.options.buildInChild ? this.buildInChild(this.d.options.buildInChild, t0) : this.buildHere(store, t0);
    this.running = p;
    p.then(
      (r) => {
        this.failure = undefined;
        this.d.btf.drop(); // a new kernel's BTF is read again on the next struct lookup
        this.report({ generation: r.generation, phase: 'done', done: 1, total: 1, message: `${r.info.counts.functions} functions, ${r.info.counts.tracepoints} tracepoints in ${r.info.buildMs} ms`, elapsedMs: performance.now() - t0 });
        this.d.log.info({ generation: r.generation, identity: r.identity.key, ...r.info.counts, buildMs: r.info.buildMs }, 'kernel contracts rebuilt');
        this.d.events.emit('rebuilt', { generation: r.generation, identity: r.identity, buildMs: r.info.buildMs });
      },
      (err: unknown) => {
        this.failure = (err as Error).message;
        this.report({ generation: this.progressNow?.generation ?? 0, phase: 'failed', done: 0, total: 0, message: this.failure, elapsedMs: performance.now() - t0 });
        this.d.log.error({ err: this.failure }, 'kernel contracts rebuild failed; the previous dataset is still served');
        this.d.events.emit('rebuild-failed', err as Error);
      },
    ).finally(() => {
      this.running = undefined;
      this.progressNow = undefined;
    });
    return p;
  }

  /** Resolves when no rebuild is running. */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Ends a child build and waits for the rebuild to settle (the service stops). */
  async stop(): Promise<void> {
    this.buildChild?.kill('SIGTERM');
    await this.running?.catch(() => undefined);
  }

  private async buildHere(store: ContractStore, t0: number): Promise<BuildResult> {
    const docs = await this.d.docs.open();
    const source = this.d.source();
    if (source && !source.indexed) {
      this.report({ generation: 0, phase: 'source', done: 0, total: 0, message: `indexing kernel sources in ${source.root}`, elapsedMs: performance.now() - t0 });
      await source
        .ensure((done) => this.report({ generation: 0, phase: 'source', done, total: 0, message: `indexed ${done} source files`, elapsedMs: performance.now() - t0 }))
        .catch((err: unknown) => this.d.log.warn({ err: (err as Error).message }, 'kernel contracts: source tree not indexed'));
    }
    const embed = await embedderOf(this.d.options.llm, this.d.log);
    const probeOptions = this.d.options.probeOptions;
    return buildDataset({
      host: this.d.host,
      store,
      docs,
      loadBtf: this.d.loadBtf,
      ...(source?.indexed ? { source: source.reader } : {}),
      ...(embed ? { embed } : {}),
      ...(probeOptions ? { probeOptions } : {}),
      onProgress: (phase, done, total, message, generation) => this.report({ generation, phase, done, total, message, elapsedMs: performance.now() - t0 }),
    });
  }

  /** A rebuild in `build-main.js`: its progress is this service's; the doc index switches here after it. */
  private async buildInChild(c: NonNullable<ContractServiceOptions['buildInChild']>, t0: number): Promise<BuildResult> {
    const o = this.d.options;
    // The child asks this process for vectors (the daemon's one LLM door), when the model answers now.
    const embed = await embedderOf(o.llm, this.d.log);
    // With the index open here, the child leaves the old table to us (searches keep using it until the switch).
    const keepOld = this.d.docs.isOpen;
    const source = this.d.source();
    const args = [
      '--state-dir', o.stateDir,
      ...(embed && o.llm?.embedModel ? ['--embed-model', o.llm.embedModel] : []),
      ...(source ? ['--source-tree', source.root] : []),
      ...(o.probeOptions ? ['--probe-options', JSON.stringify(o.probeOptions)] : []),
      ...(keepOld ? ['--keep-old-tables'] : []),
      '--log-level', c.logLevel ?? 'info',
    ];
    try {
      const r = await runBuildChild({
        script: c.script ?? fileURLToPath(new URL('../rebuild/build-main.js', import.meta.url)),
        args,
        onProgress: (p) => this.report({ ...p, elapsedMs: performance.now() - t0 }),
        log: this.d.log,
        ...(embed ? { embed } : {}),
        started: (child) => (this.buildChild = child),
      });
      // The index opened here (now or during the build) still shows the previous generation.
      const docs = await this.d.docs.whenOpened();
      if (docs) await docs.activate(r.generation);
      if (source && !source.indexed) source.load();
      return r;
    } finally {
      this.buildChild = undefined;
    }
  }

  private report(p: RebuildProgress): void {
    this.progressNow = p;
    this.d.events.emit('progress', p);
  }
}

/** Vectors for the doc index, when the embedding model answers now; undefined: full text only. */
async function embedderOf(llm: ContractsLanguageModel | undefined, log: ContractLogger): Promise<Embedder | undefined> {
  if (!llm?.embedModel) return undefined;
  const model = llm.embedModel;
  const probe = await llm.embed(['kernel'], AbortSignal.timeout(10_000)).catch((err: Error) => err);
  if (!Array.isArray(probe)) {
    log.warn({ model, ...(probe ? { err: probe.message } : {}) }, 'kernel contracts: embedding model unavailable; search index is full-text only');
    return undefined;
  }
  return async (texts) => {
    const vectors = await llm.embed(texts);
    if (!vectors) throw new ContractsError('unavailable', `embedding model ${model} stopped answering during the build`);
    return vectors;
  };
}
