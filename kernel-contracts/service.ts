/**
 * ContractService: the kernel-contracts dataset as a long-lived service inside kgentd. It keeps
 * the dataset matched to the running kernel (identity check on start, chokidar on /lib/modules and
 * /boot), rebuilds in the background with progress while serving the previous generation, answers
 * lookups (hooks and struct member paths), searches, and LLM enrichment on first use.
 */
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContractsError } from './errors.js';
import { realHost, type KernelHost } from './kernel-reader/host.js';
import { readKernelIdentity, type KernelIdentity } from './kernel-reader/identity.js';
import { loadVmlinuxBtf, listModuleBtf, loadModuleBtf } from './kernel-reader/btf/btf.js';
import type { Btf } from './kernel-reader/btf/types.js';
import { detectProbeSupport, type ProbeSupportOptions } from './kernel-reader/probe-support.js';
import { readTracepointFormat } from './kernel-reader/tracepoint-format.js';
import { deriveFunctionContract, deriveTracepointContract } from './contracts/derive.js';
import { resolveFunction, structLayoutOf, enumDomainOf } from './contracts/btf-adapter.js';
import { memberContract } from './contracts/members.js';
import { resolvePrintFmtEnums } from './contracts/print-fmt.js';
import { CONTRACT_FORMAT, type Contract, type EnumDomain, type MemberContract, type ProbeAvailability } from './contracts/model.js';
import { enrichContract } from './enrich/enricher.js';
import type { ContractsLanguageModel } from './language-model.js';
import { openContractDb, ContractStore, type EnrichmentRecord, type Generation } from './store/contract-db.js';
import type { DocIndex, Embedder } from './search/doc-index.js';
import { rankHooks } from './search/hook-rank.js';
import { requestTerms } from './search/request-terms.js';
import { SourceReader, findDefaultSourceTree, type SourceIndexData } from './source-reader/index.js';
import { buildDataset, defaultBtfLoader, functionProbes, functionDocText, hydrateProbes, tracepointDocText, type BtfLoader, type BuildResult } from './rebuild/build.js';
import { watchKernelInstalls, type KernelWatcher } from './rebuild/watcher.js';
import { runBuildChild } from './rebuild/build-child.js';
import {
  formatHookRef,
  parseHookRef,
  type ContractsRebuildResult,
  type ContractsSearchResult,
  type ContractsShowResult,
  type ContractsStatusResult,
  type HookRef,
  type IdentitySummary,
  type RebuildProgress,
  type SearchHit,
} from './api.js';
import type { EnrichmentAnswer } from './contracts/expr.js';

/** The logging the service does (pino's `(obj, msg)` shape). */
export interface ContractLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ContractServiceOptions {
  /** Where `contracts.db`, `contracts.lance` and `source-index.json` live. */
  readonly stateDir: string;
  /** The kernel (default: the live system). */
  readonly host?: KernelHost;
  /** The language model for enrichment (`chatModel`) and vectors (`embedModel`), handed in by the daemon. */
  readonly llm?: ContractsLanguageModel;
  /** Answers tried per enrichment before giving up (default 3). */
  readonly enrichAttempts?: number;
  /** Kernel source tree; undefined: the newest `/usr/src/linux-*` directory; null: none. */
  readonly sourceTree?: string | null;
  /** Directories where new kernels appear (default `/lib/modules`, `/boot`); [] disables watching. */
  readonly watchPaths?: readonly string[];
  readonly watchDebounceMs?: number;
  readonly logger?: ContractLogger;
  /** BTF loading (default: the kernel reader). */
  readonly loadBtf?: BtfLoader;
  /** Passed to the kernel reader's probe-support detection (e.g. bpftrace's `--info`). */
  readonly probeOptions?: ProbeSupportOptions;
  /** Rebuild on start when the identity differs (default true). */
  readonly rebuildOnStart?: boolean;
  /** Parsed BTF kept for struct lookups is dropped after this idle time (default 60 s). */
  readonly btfIdleMs?: number;
  /**
   * The search index (LanceDB's connection, tables and their caches) is closed after this long
   * without a search (default 60 s), and opened again by the next one.
   */
  readonly docsIdleMs?: number;
  /**
   * Run each rebuild in a child process (`rebuild/build-main.js`), so that what a build leaves
   * behind (parsed BTF, malloc'd memory, LanceDB's native state: ~150 MB of RSS) goes with it.
   * The child reads the live system: only for the real host (`host` and `loadBtf` are not used
   * by it). `script` defaults to the compiled build-main.js beside this module; the child asks
   * this process for vectors, which asks `llm.embed`.
   */
  readonly buildInChild?: { readonly script?: string; readonly logLevel?: string };
}

export interface LookupOptions {
  /** Ask the LLM for conditions when none are cached (first use). Needs `llm.chatModel`. */
  readonly enrich?: boolean;
}

export interface SearchOptions {
  readonly kind?: 'function' | 'tracepoint';
  readonly attachable?: boolean;
  /** Attach points of the examples that best match the request, best first: strong evidence. */
  readonly hints?: readonly string[];
}

export interface ContractService {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<ContractsStatusResult>;
  /** Starts (or joins) a rebuild; resolves when it is done. `force: false` skips it when the identity matches. */
  rebuild(opts?: { force?: boolean; onProgress?: (p: RebuildProgress) => void }): Promise<ContractsRebuildResult>;
  /** True while a rebuild runs (lookups meanwhile use the previous generation). */
  readonly rebuilding: boolean;
  /** Resolves when no rebuild is running. */
  whenIdle(): Promise<void>;
  /** A hook or struct path by name (see protocol `parseHookRef`); undefined when this kernel has no such thing. */
  lookup(hook: string | HookRef, opts?: LookupOptions): Promise<ContractsShowResult | undefined>;
  /** The stored contract by id (`function:NAME`, `tracepoint:CAT:EVENT`), with cached LLM conditions; synchronous. */
  contract(id: string): Contract | undefined;
  /** Member path in a struct of the running kernel's BTF. */
  member(structName: string, path: readonly string[], union?: boolean): Promise<MemberContract | undefined>;
  search(text: string, k?: number, opts?: SearchOptions): Promise<ContractsSearchResult>;
  /** LLM enrichment of a hook (cached per kernel identity and model). */
  enrich(hook: string | HookRef): Promise<ContractsShowResult>;
  on(event: 'progress', fn: (p: RebuildProgress) => void): this;
  on(event: 'rebuilt', fn: (r: { generation: number; identity: KernelIdentity; buildMs: number }) => void): this;
  on(event: 'rebuild-failed', fn: (err: Error) => void): this;
  on(event: 'kernel-installed', fn: (paths: string[]) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, fn: (...args: any[]) => void): this;
}

const quietLogger: ContractLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function summary(id: KernelIdentity): IdentitySummary {
  return {
    release: id.release,
    version: id.version,
    ...(id.buildId ? { buildId: id.buildId } : {}),
    ...(id.btfChecksum ? { btfChecksum: id.btfChecksum } : {}),
    key: id.key,
  };
}

/** Creates the service; call `start()` before use. */
export function createContractService(opts: ContractServiceOptions): ContractService {
  return new Service(opts);
}

class Service extends EventEmitter implements ContractService {
  private readonly host: KernelHost;
  private readonly log: ContractLogger;
  private readonly loadBtf: BtfLoader;
  private store: ContractStore | undefined;
  /** The search index, opened (and LanceDB loaded) by its first use: a search or a rebuild. */
  private docsOpening: Promise<DocIndex> | undefined;
  private docs: DocIndex | undefined;
  /** Searches using the index now: it is not closed under them. */
  private docsInUse = 0;
  private docsIdleTimer: NodeJS.Timeout | undefined;
  private source: SourceReader | undefined;
  private sourceIndexing: Promise<void> | undefined;
  private watcher: KernelWatcher | undefined;
  private running: Promise<BuildResult> | undefined;
  private buildChild: { kill(signal: NodeJS.Signals): boolean } | undefined;
  private progressNow: RebuildProgress | undefined;
  private lastError: string | undefined;
  private btf: { vmlinux: Promise<Btf>; modules: Map<string, Promise<Btf | undefined>>; timer?: NodeJS.Timeout } | undefined;
  private enums = new Map<string, EnumDomain | undefined>();
  private stopped = false;

  constructor(private readonly o: ContractServiceOptions) {
    super();
    this.host = o.host ?? realHost();
    this.log = o.logger ?? quietLogger;
    this.loadBtf = o.loadBtf ?? defaultBtfLoader;
  }

  get rebuilding(): boolean {
    return this.running !== undefined;
  }

  async start(): Promise<void> {
    this.store = new ContractStore(openContractDb(this.o.stateDir));
    this.store.abandonUnfinished();
    const cur = this.store.currentGeneration();
    const tree = this.o.sourceTree === undefined ? findDefaultSourceTree() : (this.o.sourceTree ?? undefined);
    if (tree) {
      this.source = new SourceReader(tree);
      this.loadSourceIndex();
    }
    if (this.o.rebuildOnStart !== false) {
      const running = await readKernelIdentity(this.host);
      const why = this.rebuildReason(cur, running);
      if (why) {
        this.log.info({ running: running.key, stored: cur?.identity.key }, `kernel contracts: ${why}; rebuilding in the background`);
        this.startRebuild().catch(() => undefined);
      }
    }
    const watchPaths = this.o.watchPaths ?? ['/lib/modules', '/boot'];
    if (watchPaths.length) {
      this.watcher = watchKernelInstalls(watchPaths, (added) => this.onKernelInstalled(added), this.o.watchDebounceMs ?? 2000);
      await this.watcher.ready;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.close();
    this.watcher = undefined;
    this.buildChild?.kill('SIGTERM');
    await this.running?.catch(() => undefined);
    if (this.btf?.timer) clearTimeout(this.btf.timer);
    this.btf = undefined;
    clearTimeout(this.docsIdleTimer);
    const docs = await this.docsOpening?.catch(() => undefined);
    docs?.close();
    this.docs = undefined;
    this.docsOpening = undefined;
    this.store?.close();
    this.store = undefined;
  }

  private rebuildReason(cur: Generation | undefined, running: KernelIdentity): string | undefined {
    if (!cur) return 'no dataset yet';
    if (cur.identity.key !== running.key) return `kernel changed (${cur.identity.release} -> ${running.release})`;
    if (cur.format !== CONTRACT_FORMAT) return `contract format ${cur.format} is outdated (now ${CONTRACT_FORMAT})`;
    return undefined;
  }

  private onKernelInstalled(added: string[]): void {
    this.emit('kernel-installed', added);
    if (this.stopped || !this.store) return;
    void (async () => {
      const running = await readKernelIdentity(this.host);
      const why = this.rebuildReason(this.store?.currentGeneration(), running);
      this.log.info({ added, running: running.key }, `kernel contracts: new kernel files appeared${why ? `; ${why}: rebuilding` : '; the running kernel is unchanged (the new one is used after a reboot)'}`);
      if (why && !this.running) await this.startRebuild().catch(() => undefined);
    })();
  }

  /**
   * The doc index over `contracts.lance`, at the current generation. LanceDB costs an idle kgentd
   * tens of MB, so it is imported with the first search or rebuild, not at start.
   */
  private docIndex(): Promise<DocIndex> {
    this.docsOpening ??= (async () => {
      const { DocIndex } = await import('./search/doc-index.js');
      const docs = await DocIndex.open(path.join(this.o.stateDir, 'contracts.lance'), this.requireStore().currentGeneration()?.id, { log: this.log });
      this.docs = docs;
      return docs;
    })().catch((err: unknown) => {
      this.docsOpening = undefined;
      throw new ContractsError('unavailable', `the kernel-contracts search index could not be opened: ${(err as Error).message}`, undefined, { cause: err });
    });
    return this.docsOpening;
  }

  /** Runs `fn` with the doc index open; the index is closed once nothing has used it for `docsIdleMs`. */
  private async withDocs<T>(fn: (docs: DocIndex) => Promise<T>): Promise<T> {
    clearTimeout(this.docsIdleTimer);
    this.docsInUse++;
    try {
      return await fn(await this.docIndex());
    } finally {
      this.docsInUse--;
      this.armDocsIdle();
    }
  }

  private armDocsIdle(): void {
    if (this.docsInUse > 0 || this.stopped) return;
    clearTimeout(this.docsIdleTimer);
    this.docsIdleTimer = setTimeout(() => {
      // A rebuild switches the open index to its generation at the end: keep it open until then.
      if (this.running) return this.armDocsIdle();
      if (this.docsInUse > 0 || !this.docsOpening) return;
      const opening = this.docsOpening;
      this.docsOpening = undefined;
      this.docs = undefined;
      void opening.then(
        (docs) => {
          docs.close();
          this.log.info({ idleMs: this.o.docsIdleMs ?? 60_000 }, 'kernel contracts: search index closed (idle)');
        },
        () => undefined,
      );
    }, this.o.docsIdleMs ?? 60_000);
    this.docsIdleTimer.unref();
  }

  private requireStore(): ContractStore {
    if (!this.store) throw new ContractsError('unavailable', 'kernel contracts service is not started');
    return this.store;
  }

  private loadSourceIndex(): void {
    if (!this.source) return;
    try {
      const data = JSON.parse(readFileSync(path.join(this.o.stateDir, 'source-index.json'), 'utf8')) as SourceIndexData;
      if (this.source.loadIndexData(data)) this.log.info({ root: this.source.root }, 'kernel contracts: source index loaded');
    } catch {
      // no saved index: built with the next rebuild
    }
  }

  private async ensureSourceIndex(onProgress?: (done: number) => void): Promise<void> {
    const src = this.source;
    if (!src || src.indexed) return;
    this.sourceIndexing ??= (async () => {
      const stats = await src.buildIndex(onProgress ? { onProgress } : {});
      const file = path.join(this.o.stateDir, 'source-index.json');
      writeFileSync(`${file}.tmp`, JSON.stringify(src.toIndexData()));
      renameSync(`${file}.tmp`, file);
      this.log.info({ ...stats }, 'kernel contracts: source tree indexed');
    })().finally(() => {
      this.sourceIndexing = undefined;
    });
    await this.sourceIndexing;
  }

  private async embedder(): Promise<Embedder | undefined> {
    const llm = this.o.llm;
    if (!llm?.embedModel) return undefined;
    const model = llm.embedModel;
    const probe = await llm.embed(['kernel'], AbortSignal.timeout(10_000)).catch((err: Error) => err);
    if (!Array.isArray(probe)) {
      this.log.warn({ model, ...(probe ? { err: probe.message } : {}) }, 'kernel contracts: embedding model unavailable; search index is full-text only');
      return undefined;
    }
    return async (texts) => {
      const vectors = await llm.embed(texts);
      if (!vectors) throw new ContractsError('unavailable', `embedding model ${model} stopped answering during the build`);
      return vectors;
    };
  }

  private startRebuild(): Promise<BuildResult> {
    if (this.running) return this.running;
    const store = this.requireStore();
    const t0 = performance.now();
    const p = (async () => {
      if (this.o.buildInChild) return this.rebuildInChild(this.o.buildInChild, t0);
      const docs = await this.docIndex();
      if (this.source && !this.source.indexed) {
        this.progress({ generation: 0, phase: 'source', done: 0, total: 0, message: `indexing kernel sources in ${this.source.root}`, elapsedMs: performance.now() - t0 });
        await this.ensureSourceIndex((done) =>
          this.progress({ generation: 0, phase: 'source', done, total: 0, message: `indexed ${done} source files`, elapsedMs: performance.now() - t0 }),
        ).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'kernel contracts: source tree not indexed'));
      }
      const embed = await this.embedder();
      return buildDataset({
        host: this.host,
        store,
        docs,
        loadBtf: this.loadBtf,
        ...(this.source?.indexed ? { source: this.source } : {}),
        ...(embed ? { embed } : {}),
        ...(this.o.probeOptions ? { probeOptions: this.o.probeOptions } : {}),
        onProgress: (phase, done, total, message, generation) => this.progress({ generation, phase, done, total, message, elapsedMs: performance.now() - t0 }),
      });
    })();
    this.running = p;
    p.then(
      (r) => {
        this.lastError = undefined;
        this.btf = undefined; // a new kernel's BTF is read again on the next struct lookup
        this.progress({ generation: r.generation, phase: 'done', done: 1, total: 1, message: `${r.info.counts.functions} functions, ${r.info.counts.tracepoints} tracepoints in ${r.info.buildMs} ms`, elapsedMs: performance.now() - t0 });
        this.log.info({ generation: r.generation, identity: r.identity.key, ...r.info.counts, buildMs: r.info.buildMs }, 'kernel contracts rebuilt');
        this.emit('rebuilt', { generation: r.generation, identity: r.identity, buildMs: r.info.buildMs });
      },
      (err: unknown) => {
        this.lastError = (err as Error).message;
        this.progress({ generation: this.progressNow?.generation ?? 0, phase: 'failed', done: 0, total: 0, message: this.lastError, elapsedMs: performance.now() - t0 });
        this.log.error({ err: this.lastError }, 'kernel contracts rebuild failed; the previous dataset is still served');
        this.emit('rebuild-failed', err as Error);
      },
    ).finally(() => {
      this.running = undefined;
      this.progressNow = undefined;
    });
    return p;
  }

  /** A rebuild in `build-main.js`: its progress is this service's; the doc index switches here after it. */
  private async rebuildInChild(c: NonNullable<ContractServiceOptions['buildInChild']>, t0: number): Promise<BuildResult> {
    // The child asks this process for vectors (the daemon's one LLM door), when the model answers now.
    const embed = await this.embedder();
    // With the index open here, the child leaves the old table to us (searches keep using it until the switch).
    const keepOld = this.docsOpening !== undefined;
    const args = [
      '--state-dir', this.o.stateDir,
      ...(embed && this.o.llm?.embedModel ? ['--embed-model', this.o.llm.embedModel] : []),
      ...(this.source ? ['--source-tree', this.source.root] : []),
      ...(this.o.probeOptions ? ['--probe-options', JSON.stringify(this.o.probeOptions)] : []),
      ...(keepOld ? ['--keep-old-tables'] : []),
      '--log-level', c.logLevel ?? 'info',
    ];
    try {
      const r = await runBuildChild({
        script: c.script ?? fileURLToPath(new URL('./rebuild/build-main.js', import.meta.url)),
        args,
        onProgress: (p) => this.progress({ ...p, elapsedMs: performance.now() - t0 }),
        log: this.log,
        ...(embed ? { embed } : {}),
        started: (child) => (this.buildChild = child),
      });
      // The index opened here (now or during the build) still shows the previous generation.
      const docs = await this.docsOpening?.catch(() => undefined);
      if (docs) await docs.activate(r.generation);
      if (this.source && !this.source.indexed) this.loadSourceIndex();
      return r;
    } finally {
      this.buildChild = undefined;
    }
  }

  private progress(p: RebuildProgress): void {
    this.progressNow = p;
    this.emit('progress', p);
  }

  async whenIdle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  async rebuild(opts: { force?: boolean; onProgress?: (p: RebuildProgress) => void } = {}): Promise<ContractsRebuildResult> {
    const store = this.requireStore();
    const listener = opts.onProgress;
    if (listener) this.on('progress', listener);
    try {
      let started = false;
      if (!this.running) {
        if (opts.force === false) {
          const why = this.rebuildReason(store.currentGeneration(), await readKernelIdentity(this.host));
          if (!why) return { started: false, ...(store.currentGeneration() ? { generation: store.currentGeneration()!.id } : {}), status: await this.status() };
        }
        started = true;
      }
      const r = await this.startRebuild();
      return { started, generation: r.generation, status: await this.status() };
    } catch (err) {
      throw err instanceof ContractsError ? err : new ContractsError('io', `kernel contracts rebuild failed: ${(err as Error).message}`, undefined, { cause: err });
    } finally {
      if (listener) this.off('progress', listener);
    }
  }

  async status(): Promise<ContractsStatusResult> {
    const store = this.requireStore();
    const running = await readKernelIdentity(this.host);
    const cur = store.currentGeneration();
    const info = cur?.info;
    const probeTypes = (info?.extra?.['probeTypes'] as Record<string, { available: boolean; reason: string }> | undefined) ?? (await detectProbeSupport(this.host, { ...this.o.probeOptions, functionNames: false })).types;
    const state: ContractsStatusResult['state'] = !cur ? (this.running ? 'building' : 'empty') : cur.identity.key !== running.key || cur.format !== CONTRACT_FORMAT ? 'stale' : 'ready';
    const functions = info?.counts.functions ?? 0;
    const model = this.o.llm?.chatModel;
    const cached = cur ? (store.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM enrichments WHERE identity_key = ?').get(cur.identity.key)?.n ?? 0) : 0;
    return {
      state,
      running: summary(running),
      ...(cur ? { dataset: summary(cur.identity), generation: cur.id } : {}),
      ...(cur?.finishedAt ? { builtAt: cur.finishedAt, ageSeconds: Math.max(0, Math.round((Date.now() - Date.parse(cur.finishedAt)) / 1000)) } : {}),
      ...(info ? { buildMs: info.buildMs } : {}),
      counts: { functions, tracepoints: info?.counts.tracepoints ?? 0, structs: info?.counts.structs ?? 0 },
      source: {
        ...(info?.sourceRoot ?? this.source?.root ? { root: info?.sourceRoot ?? this.source?.root } : {}),
        documented: info?.counts.documented ?? 0,
        coverage: functions ? (info?.counts.documented ?? 0) / functions : 0,
      },
      probeTypes: Object.entries(probeTypes).map(([probe, v]) => ({ probe, available: v.available, ...(v.available ? {} : { reason: v.reason }) })),
      // Before the index is opened, the generation says: its table is activated when it is committed.
      search: this.docs ? { fullText: this.docs.ready, vectors: this.docs.hasVectors } : { fullText: cur !== undefined, vectors: cur !== undefined && info?.extra?.['vectors'] === true },
      enrichment: { configured: !!model, ...(model ? { model } : {}), cached },
      ...(this.progressNow && this.running ? { rebuilding: this.progressNow } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private currentOrThrow(): Generation {
    const cur = this.requireStore().currentGeneration();
    if (cur) return cur;
    if (this.running) {
      const p = this.progressNow;
      throw new ContractsError('unavailable', `the first kernel-contracts build is still running${p ? ` (${p.phase}: ${p.message})` : ''}; try again shortly`);
    }
    throw new ContractsError('unavailable', `no kernel contracts built yet${this.lastError ? ` (last build failed: ${this.lastError})` : ''}; run: kgentctl contracts rebuild`);
  }

  /** Cached LLM conditions merged into a contract; generation-wide probe reasons restored. */
  private finish(c: Contract, gen: Generation): Contract {
    const typeReasons = gen.info?.extra?.['probeTypes'] as Record<string, { available: boolean; reason: string }> | undefined;
    let out = hydrateProbes(c, typeReasons);
    const model = this.o.llm?.chatModel;
    const rec = model ? this.store?.enrichment(gen.identity.key, c.id, model) : undefined;
    if (rec) out = mergeEnrichment(out, rec);
    return out;
  }

  contract(id: string): Contract | undefined {
    const store = this.store;
    const gen = store?.currentGeneration();
    if (!store || !gen) return undefined;
    const c = store.contract(gen.id, id);
    return c ? this.finish(c, gen) : undefined;
  }

  async lookup(hook: string | HookRef, opts: LookupOptions = {}): Promise<ContractsShowResult | undefined> {
    const ref = typeof hook === 'string' ? parseHookRef(hook) : hook;
    if (!ref) throw badHook(String(hook));
    const gen = this.currentOrThrow();
    const name = formatHookRef(ref);
    if (ref.kind === 'struct') {
      if (ref.path.length === 0) {
        const btf = await this.vmlinuxBtf();
        const id = btf.findByName(ref.struct, ref.union ? 'UNION' : 'STRUCT')[0];
        const l = id !== undefined ? btf.structLayout(id) : undefined;
        return l ? { kind: 'struct', hook: name, layout: structLayoutOf(btf, l, btf.module, this.enums), kernel: gen.identity.key } : undefined;
      }
      const m = await this.member(ref.struct, ref.path, ref.union);
      return m ? { kind: 'member', hook: name, member: m, kernel: gen.identity.key } : undefined;
    }
    const id = ref.kind === 'function' ? `function:${ref.name}` : `tracepoint:${ref.category}:${ref.event}`;
    let c = this.contract(id) ?? (await this.pickUp(ref, gen));
    if (!c) return undefined;
    if (opts.enrich && this.o.llm?.chatModel && !c.enrichment) c = (await this.enrichContract(c, gen)) ?? c;
    return showResult(ref, name, c, gen);
  }

  async member(structName: string, p: readonly string[], union = false): Promise<MemberContract | undefined> {
    const btf = await this.vmlinuxBtf();
    const m = memberContract(btf, structName, union, p, this.enums);
    if (m) return m;
    for (const mod of await listModuleBtf(this.host)) {
      const mb = await this.moduleBtf(mod);
      const hit = mb && memberContract(mb, structName, union, p, this.enums);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Parsed BTF of the running kernel, kept while in use and dropped after an idle time. */
  private vmlinuxBtf(): Promise<Btf> {
    if (!this.btf) {
      const vmlinux = loadVmlinuxBtf(this.host);
      this.btf = { vmlinux, modules: new Map() };
      vmlinux.catch(() => {
        this.btf = undefined;
      });
    }
    const b = this.btf;
    if (b.timer) clearTimeout(b.timer);
    b.timer = setTimeout(() => {
      if (this.btf === b) this.btf = undefined;
    }, this.o.btfIdleMs ?? 60_000);
    b.timer.unref();
    return b.vmlinux;
  }

  private async moduleBtf(name: string): Promise<Btf | undefined> {
    const base = await this.vmlinuxBtf();
    const b = this.btf!;
    let p = b.modules.get(name);
    if (!p) {
      p = loadModuleBtf(this.host, name, base).catch(() => undefined);
      b.modules.set(name, p);
    }
    return p;
  }

  /**
   * A hook missing from the dataset may belong to a module loaded since the build (its BTF
   * appears under /sys/kernel/btf, its tracepoints under tracefs): add it to the current
   * generation and return it.
   */
  private async pickUp(ref: HookRef, gen: Generation): Promise<Contract | undefined> {
    const store = this.requireStore();
    if (ref.kind === 'tracepoint') {
      const fmt = await readTracepointFormat(this.host, ref.category, ref.event).catch(() => undefined);
      if (!fmt) return undefined;
      const support = await detectProbeSupport(this.host, { ...this.o.probeOptions, functionNames: false });
      const probes: ProbeAvailability[] = [
        { probe: 'tracepoint', available: support.isAvailable('tracepoint') },
        { probe: 'rawtracepoint', available: support.isAvailable('rawtracepoint') },
      ];
      const btf = await this.vmlinuxBtf().catch(() => undefined);
      const c = resolvePrintFmtEnums(
        deriveTracepointContract(fmt, probes, (n) => (btf ? enumDomainOf(btf, n) : undefined)),
        (n) => btf?.findEnumerator(n)?.value,
      );
      store.putContracts(gen.id, [c]);
      this.log.info({ hook: c.id }, 'kernel contracts: picked up a tracepoint added since the build');
      return this.contract(c.id);
    }
    if (ref.kind !== 'function') return undefined;
    const known = new Set(gen.info?.modules ?? []);
    const fresh = (await listModuleBtf(this.host)).filter((m) => !known.has(m));
    if (!fresh.length) return undefined;
    const base = await this.vmlinuxBtf();
    const loaded = await this.loadBtf(this.host, { modules: fresh, base });
    const support = await detectProbeSupport(this.host, { ...this.o.probeOptions });
    const contracts: Contract[] = [];
    for (const mb of loaded.modules) {
      for (const f of mb.functions()) {
        if (store.hasContract(gen.id, `function:${f.name}`)) continue;
        contracts.push(deriveFunctionContract(resolveFunction(mb, f, this.enums), functionProbes(support, f.name), undefined, { conditions: false }));
      }
    }
    store.putContracts(gen.id, contracts);
    const modules = [...known, ...loaded.modules.map((m) => m.module)];
    if (gen.info) store.db.prepare('UPDATE generations SET info = ? WHERE id = ?').run(JSON.stringify({ ...gen.info, modules, counts: { ...gen.info.counts, functions: gen.info.counts.functions + contracts.length } }), gen.id);
    await this.withDocs((docs) =>
      docs.addRows(
        contracts.map((c) => ({
          id: c.id,
          kind: c.kind,
          text: c.kind === 'function' ? functionDocText(c) : tracepointDocText(c),
          attachable: c.probes.some((p) => p.available),
        })),
      ),
    );
    this.log.info({ modules: loaded.modules.map((m) => m.module), functions: contracts.length }, 'kernel contracts: picked up module BTF loaded since the build');
    return this.contract(`function:${ref.name}`);
  }

  async enrich(hook: string | HookRef): Promise<ContractsShowResult> {
    const ref = typeof hook === 'string' ? parseHookRef(hook) : hook;
    if (!ref) throw badHook(String(hook));
    if (ref.kind === 'struct') throw new ContractsError('bad-request', 'struct members are not enriched; only functions and tracepoints have conditions from the LLM');
    if (!this.o.llm?.chatModel) throw new ContractsError('unavailable', 'LLM enrichment is not configured (no chat model)');
    const gen = this.currentOrThrow();
    const shown = await this.lookup(ref);
    if (!shown || shown.kind !== 'contract') throw new ContractsError('not-found', `${formatHookRef(ref)} does not exist on this kernel`);
    const c = shown.contract.enrichment ? shown.contract : await this.enrichContract(shown.contract, gen);
    return showResult(ref, formatHookRef(ref), c ?? shown.contract, gen);
  }

  private async enrichContract(c: Contract, gen: Generation): Promise<Contract | undefined> {
    const llm = this.o.llm;
    if (!llm?.chatModel) return undefined;
    let src;
    if (c.kind === 'function' && this.source) {
      await this.ensureSourceIndex().catch(() => undefined);
      src = await this.source.lookup(c.name);
    }
    const btf = await this.vmlinuxBtf().catch(() => undefined);
    const memberOf = btf
      ? (pointee: string, p: readonly string[]) => {
          const m = /^(struct|union)\s+(\w+)$/.exec(pointee);
          const mc = m ? memberContract(btf, m[2]!, m[1] === 'union', p, this.enums) : undefined;
          return mc ? { bits: mc.value.bits, signed: mc.value.signed } : undefined;
        }
      : undefined;
    const r = await enrichContract(c, src, {
      llm,
      model: llm.chatModel,
      ...(this.o.enrichAttempts ? { maxAttempts: this.o.enrichAttempts } : {}),
      ...(memberOf ? { memberOf } : {}),
      onRejected: (attempt, reasons) => this.log.warn({ hook: c.id, attempt, reasons }, 'kernel contracts: LLM answer rejected'),
    });
    const rec: EnrichmentRecord = { model: r.model, at: new Date().toISOString(), attempts: r.attempts, answer: r.answer };
    this.requireStore().putEnrichment(gen.identity.key, c.id, rec);
    return mergeEnrichment(c, rec);
  }

  async search(text: string, k = 10, opts: SearchOptions = {}): Promise<ContractsSearchResult> {
    this.currentOrThrow();
    return this.withDocs((docs) => this.searchIndex(docs, text, k, opts));
  }

  private async searchIndex(docs: DocIndex, text: string, k: number, opts: SearchOptions): Promise<ContractsSearchResult> {
    if (!docs.ready) throw new ContractsError('unavailable', 'the search index is not built yet; run: kgentctl contracts rebuild');
    let vector: number[] | undefined;
    const llm = this.o.llm;
    if (llm?.embedModel && docs.hasVectors) {
      try {
        vector = (await llm.embed([text], AbortSignal.timeout(5_000)))?.[0];
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'kernel contracts: query embedding failed; full-text search only');
      }
    }
    // The request read for syscalls, subsystems and the hooks its words stand for; the full
    // text searched with its filler dropped (see search/request-terms.ts, search/hook-rank.ts).
    const terms = requestTerms(text, (name) => this.contract(`tracepoint:syscalls:sys_enter_${name}`) !== undefined);
    const fullText = await docs.search(terms.query || text, Math.max(60, k * 4), { ...(vector ? { vector } : {}), ...(opts.kind ? { kind: opts.kind } : {}), ...(opts.attachable ? { attachable: true } : {}) });
    // Only hooks of this kernel's dataset: the index is rebuilt with it, and anything not in
    // the current generation is dropped here.
    const found = new Map<string, SearchHit>();
    const exists = (id: string): boolean => {
      const c = this.contract(id);
      if (!c || (opts.kind && c.kind !== opts.kind)) return false;
      const hit = searchHit(c, 0);
      if (opts.attachable && hit.probes.length === 0) return false;
      found.set(id, hit);
      return true;
    };
    const ranked = rankHooks({ terms, fullText, ...(opts.hints ? { hints: opts.hints } : {}), exists }, k);
    const hits: SearchHit[] = ranked.map((r) => ({ ...found.get(r.id)!, score: Math.round(r.score * 100) / 100, why: r.why }));
    return { mode: vector ? 'hybrid' : 'full-text', hits };
  }
}

function badHook(text: string): ContractsError {
  return new ContractsError(
    'bad-request',
    `"${text}" is not a hook name; use tracepoint:CATEGORY:EVENT, kprobe:FUNCTION (or kretprobe/kfunc/kretfunc), or struct:NAME:MEMBER.PATH`,
    { hook: text },
  );
}

function mergeEnrichment(c: Contract, rec: EnrichmentRecord): Contract {
  const a = rec.answer as EnrichmentAnswer;
  const conditions = [
    ...c.conditions.filter((k) => k.source !== 'llm'),
    ...a.pre.map((x) => ({ kind: 'pre' as const, expr: x.expr, source: 'llm' as const, ...(x.note ? { note: x.note } : {}) })),
    ...a.post.map((x) => ({ kind: 'post' as const, expr: x.expr, source: 'llm' as const, ...(x.note ? { note: x.note } : {}) })),
  ];
  const doc = c.doc ?? (a.summary ? { summary: a.summary, source: 'llm' as const } : undefined);
  return { ...c, conditions, ...(doc ? { doc } : {}), enrichment: { model: rec.model, at: rec.at, attempts: rec.attempts } };
}

function showResult(ref: HookRef, name: string, c: Contract, gen: Generation): ContractsShowResult {
  if (ref.kind === 'function' && ref.probe) {
    const p = c.probes.find((x) => x.probe === ref.probe);
    return { kind: 'contract', hook: name, probe: ref.probe, available: p?.available ?? false, ...(p && !p.available && p.reason ? { reason: p.reason } : {}), contract: c, kernel: gen.identity.key };
  }
  if (ref.kind === 'tracepoint') {
    const p = c.probes.find((x) => x.probe === 'tracepoint');
    return { kind: 'contract', hook: name, probe: 'tracepoint', available: p?.available ?? false, ...(p && !p.available && p.reason ? { reason: p.reason } : {}), contract: c, kernel: gen.identity.key };
  }
  const any = c.probes.some((p) => p.available);
  return { kind: 'contract', hook: name, available: any, ...(any ? {} : { reason: 'no probe type can attach to this function on this kernel' }), contract: c, kernel: gen.identity.key };
}

function searchHit(c: Contract, score: number): SearchHit {
  const target = c.kind === 'function' ? c.name : `${c.category}:${c.event}`;
  const probes = c.probes.filter((p) => p.available).map((p) => `${p.probe}:${target}`);
  const unavailable = c.probes.filter((p) => !p.available).map((p) => ({ probe: `${p.probe}:${target}`, reason: p.reason ?? 'not available on this kernel' }));
  const summaryText = c.doc?.summary ?? (c.kind === 'function' ? c.prototype : `fields: ${c.fields.map((f) => f.name).join(', ')}`);
  return { id: c.id, kind: c.kind, probes, unavailable, summary: summaryText, score };
}
