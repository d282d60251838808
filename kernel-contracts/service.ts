/**
 * ContractService: the kernel-contracts dataset as a long-lived service inside kgentd. It keeps
 * the dataset matched to the running kernel (identity check on start, chokidar on /lib/modules and
 * /boot), rebuilds in the background with progress while serving the previous generation, answers
 * lookups (hooks and struct member paths), searches, and LLM enrichment on first use.
 *
 * This module composes the parts in service/: the BTF cache, the doc index's lifecycle, the
 * source index, the rebuild runner, the kernel watch, the search, the module pickup, enrichment.
 */
import { EventEmitter } from 'node:events';
import { ContractsError } from './errors.js';
import { realHost, type KernelHost } from './kernel-reader/host.js';
import { readKernelIdentity, type KernelIdentity } from './kernel-reader/identity.js';
import { listModuleBtf } from './kernel-reader/btf/btf.js';
import { detectProbeSupport } from './kernel-reader/probe-support.js';
import { structLayoutOf } from './contracts/btf-adapter.js';
import { memberContract } from './contracts/members.js';
import { CONTRACT_FORMAT, type Contract, type EnumDomain, type MemberContract } from './contracts/model.js';
import { openContractDb, ContractStore, type Generation } from './store/contract-db.js';
import { findDefaultSourceTree } from './source-reader/index.js';
import { defaultBtfLoader, hydrateProbes, type BtfLoader } from './rebuild/build.js';
import type { KernelWatcher } from './rebuild/watcher.js';
import {
  formatHookRef,
  parseHookRef,
  type ContractsRebuildResult,
  type ContractsSearchResult,
  type ContractsShowResult,
  type ContractsStatusResult,
  type HookRef,
  type RebuildProgress,
} from './api.js';
import { quietLogger, type ContractLogger, type ContractServiceOptions, type LookupOptions, type SearchOptions } from './service/options.js';
import { BtfCache } from './service/btf-cache.js';
import { DocIndexHolder } from './service/doc-index-holder.js';
import { SourceIndex } from './service/source-index.js';
import { RebuildRunner, rebuildReason } from './service/rebuild-runner.js';
import { watchForNewKernels } from './service/kernel-watch.js';
import { searchHooks } from './service/hook-search.js';
import { pickUpHook } from './service/module-pickup.js';
import { enrichAndStore, mergeEnrichment } from './service/enrichment.js';
import { badHook, identitySummary, showResult } from './service/method-results.js';

export type { ContractLogger, ContractServiceOptions, LookupOptions, SearchOptions } from './service/options.js';

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

/** Creates the service; call `start()` before use. */
export function createContractService(opts: ContractServiceOptions): ContractService {
  return new Service(opts);
}

class Service extends EventEmitter implements ContractService {
  private readonly host: KernelHost;
  private readonly log: ContractLogger;
  private readonly loadBtf: BtfLoader;
  private readonly btf: BtfCache;
  private readonly docs: DocIndexHolder;
  private readonly rebuilds: RebuildRunner;
  private store: ContractStore | undefined;
  private source: SourceIndex | undefined;
  private watcher: KernelWatcher | undefined;
  private enums = new Map<string, EnumDomain | undefined>();
  private stopped = false;

  constructor(private readonly o: ContractServiceOptions) {
    super();
    this.host = o.host ?? realHost();
    this.log = o.logger ?? quietLogger;
    this.loadBtf = o.loadBtf ?? defaultBtfLoader;
    this.btf = new BtfCache(this.host, o.btfIdleMs ?? 60_000);
    this.docs = new DocIndexHolder({
      stateDir: o.stateDir,
      generation: () => this.requireStore().currentGeneration()?.id,
      idleMs: o.docsIdleMs ?? 60_000,
      log: this.log,
      keepOpen: () => this.rebuilds.current !== undefined,
      stopped: () => this.stopped,
    });
    this.rebuilds = new RebuildRunner({
      options: o,
      host: this.host,
      log: this.log,
      loadBtf: this.loadBtf,
      store: () => this.requireStore(),
      docs: this.docs,
      source: () => this.source,
      btf: this.btf,
      events: this,
    });
  }

  get rebuilding(): boolean {
    return this.rebuilds.current !== undefined;
  }

  async start(): Promise<void> {
    this.store = new ContractStore(openContractDb(this.o.stateDir));
    this.store.abandonUnfinished();
    const cur = this.store.currentGeneration();
    const tree = this.o.sourceTree === undefined ? findDefaultSourceTree() : (this.o.sourceTree ?? undefined);
    if (tree) {
      this.source = new SourceIndex(tree, this.o.stateDir, this.log);
      this.source.load();
    }
    if (this.o.rebuildOnStart !== false) {
      const running = await readKernelIdentity(this.host);
      const why = rebuildReason(cur, running);
      if (why) {
        this.log.info({ running: running.key, stored: cur?.identity.key }, `kernel contracts: ${why}; rebuilding in the background`);
        this.rebuilds.start().catch(() => undefined);
      }
    }
    this.watcher = await watchForNewKernels({
      paths: this.o.watchPaths ?? ['/lib/modules', '/boot'],
      debounceMs: this.o.watchDebounceMs ?? 2000,
      host: this.host,
      log: this.log,
      store: () => this.store,
      stopped: () => this.stopped,
      rebuilds: this.rebuilds,
      events: this,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.close();
    this.watcher = undefined;
    await this.rebuilds.stop();
    this.btf.close();
    await this.docs.close();
    this.store?.close();
    this.store = undefined;
  }

  private requireStore(): ContractStore {
    if (!this.store) throw new ContractsError('unavailable', 'kernel contracts service is not started');
    return this.store;
  }

  async whenIdle(): Promise<void> {
    await this.rebuilds.whenIdle();
  }

  async rebuild(opts: { force?: boolean; onProgress?: (p: RebuildProgress) => void } = {}): Promise<ContractsRebuildResult> {
    const store = this.requireStore();
    const listener = opts.onProgress;
    if (listener) this.on('progress', listener);
    try {
      let started = false;
      if (!this.rebuilds.current) {
        if (opts.force === false) {
          const why = rebuildReason(store.currentGeneration(), await readKernelIdentity(this.host));
          if (!why) return { started: false, ...(store.currentGeneration() ? { generation: store.currentGeneration()!.id } : {}), status: await this.status() };
        }
        started = true;
      }
      const r = await this.rebuilds.start();
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
    const state: ContractsStatusResult['state'] = !cur ? (this.rebuilding ? 'building' : 'empty') : cur.identity.key !== running.key || cur.format !== CONTRACT_FORMAT ? 'stale' : 'ready';
    const functions = info?.counts.functions ?? 0;
    const model = this.o.llm?.chatModel;
    const cached = cur ? (store.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM enrichments WHERE identity_key = ?').get(cur.identity.key)?.n ?? 0) : 0;
    const docs = this.docs.opened;
    const progress = this.rebuilds.progress;
    const lastError = this.rebuilds.lastError;
    return {
      state,
      running: identitySummary(running),
      ...(cur ? { dataset: identitySummary(cur.identity), generation: cur.id } : {}),
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
      search: docs ? { fullText: docs.ready, vectors: docs.hasVectors } : { fullText: cur !== undefined, vectors: cur !== undefined && info?.extra?.['vectors'] === true },
      enrichment: { configured: !!model, ...(model ? { model } : {}), cached },
      ...(progress ? { rebuilding: progress } : {}),
      ...(lastError ? { lastError } : {}),
    };
  }

  private currentOrThrow(): Generation {
    const cur = this.requireStore().currentGeneration();
    if (cur) return cur;
    if (this.rebuilding) {
      const p = this.rebuilds.progress;
      throw new ContractsError('unavailable', `the first kernel-contracts build is still running${p ? ` (${p.phase}: ${p.message})` : ''}; try again shortly`);
    }
    const lastError = this.rebuilds.lastError;
    throw new ContractsError('unavailable', `no kernel contracts built yet${lastError ? ` (last build failed: ${lastError})` : ''}; run: kgentctl contracts rebuild`);
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
        const btf = await this.btf.vmlinux();
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
    const btf = await this.btf.vmlinux();
    const m = memberContract(btf, structName, union, p, this.enums);
    if (m) return m;
    for (const mod of await listModuleBtf(this.host)) {
      const mb = await this.btf.module(mod);
      const hit = mb && memberContract(mb, structName, union, p, this.enums);
      if (hit) return hit;
    }
    return undefined;
  }

  private pickUp(ref: HookRef, gen: Generation): Promise<Contract | undefined> {
    return pickUpHook(ref, gen, {
      host: this.host,
      store: this.requireStore(),
      btf: this.btf,
      loadBtf: this.loadBtf,
      probeOptions: this.o.probeOptions,
      enums: this.enums,
      docs: this.docs,
      log: this.log,
      contract: (id) => this.contract(id),
    });
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

  private enrichContract(c: Contract, gen: Generation): Promise<Contract | undefined> {
    return enrichAndStore(c, gen, {
      llm: this.o.llm,
      attempts: this.o.enrichAttempts,
      store: this.requireStore(),
      source: this.source,
      btf: this.btf,
      enums: this.enums,
      log: this.log,
    });
  }

  async search(text: string, k = 10, opts: SearchOptions = {}): Promise<ContractsSearchResult> {
    this.currentOrThrow();
    return this.docs.use((docs) => searchHooks(docs, text, k, opts, { llm: this.o.llm, log: this.log, contract: (id) => this.contract(id) }));
  }
}
