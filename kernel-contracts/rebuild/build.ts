/**
 * One full build of the dataset into a new generation: probe support, BTF functions (vmlinux and
 * loaded modules), struct layouts, tracepoints, source docs when a tree is indexed, the search
 * index; then an atomic switch. Work is done in batches with a yield between them so that the
 * daemon keeps answering (lookups are served from the previous generation meanwhile).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { KernelHost } from '../kernel-reader/host.js';
import { readKernelIdentity, type KernelIdentity } from '../kernel-reader/identity.js';
import { detectProbeSupport, type ProbeSupport, type ProbeSupportOptions } from '../kernel-reader/probe-support.js';
import { listTracepoints, readTracepointFormat } from '../kernel-reader/tracepoint-format.js';
import type { Btf, BtfFunction } from '../kernel-reader/btf/types.js';
import { listModuleBtf, loadModuleBtf, loadVmlinuxBtf } from '../kernel-reader/btf/btf.js';
import { deriveFunctionContract, deriveTracepointContract, type FunctionDocInput } from '../contracts/derive.js';
import { resolveFunction, enumDomainOf } from '../contracts/btf-adapter.js';
import { CONTRACT_FORMAT, type Contract, type EnumDomain, type FunctionContract, type HookProbeAvailability, type TracepointContract } from '../contracts/model.js';
import type { ContractStore, GenerationInfo } from '../store/contract-db.js';
import type { DocRow, DocSearchIndex, Embedder } from '../search/doc-index.js';
import { docText } from '../search/doc-text.js';
import type { SourceReader } from '../source-reader/index.js';
import type { RebuildPhase } from '../api.js';
import { resolvePrintFmtEnums } from '../contracts/print-fmt.js';

/** BTF of the running kernel: vmlinux and the loaded modules (split BTF on top of vmlinux). */
export interface LoadedBtf {
  readonly vmlinux: Btf | undefined;
  readonly modules: readonly Btf[];
}

/** Reads BTF through the kernel reader. `modules`: only these module names (default all). */
export type BtfLoader = (host: KernelHost, opts?: { modules?: readonly string[]; base?: Btf }) => Promise<LoadedBtf>;

/**
 * Reads vmlinux BTF (when present) and the BTF of loaded modules through the kernel reader. With
 * `base`, only modules are read (split on top of it) and `vmlinux` is returned undefined. A module
 * whose BTF cannot be read is skipped: it may have been unloaded meanwhile.
 */
export const defaultBtfLoader: BtfLoader = async (host, opts = {}) => {
  const base = opts.base ?? ((await host.exists('/sys/kernel/btf/vmlinux')) ? await loadVmlinuxBtf(host) : undefined);
  const names = opts.modules ?? (await listModuleBtf(host));
  const modules: Btf[] = [];
  if (base) {
    for (const n of names) {
      const m = await loadModuleBtf(host, n, base).catch(() => undefined);
      if (m) modules.push(m);
    }
  }
  return { vmlinux: opts.base ? undefined : base, modules };
};

export interface BuildOptions {
  readonly host: KernelHost;
  readonly store: ContractStore;
  readonly docs: DocSearchIndex;
  readonly loadBtf: BtfLoader;
  readonly source?: SourceReader;
  readonly embed?: Embedder;
  readonly probeOptions?: ProbeSupportOptions;
  readonly onProgress: (phase: RebuildPhase, done: number, total: number, message: string, generation: number) => void;
  /**
   * Drop other generations' doc tables when switching (default true). A build in a child process
   * passes false while its parent has the index open: the parent switches (and drops) itself.
   */
  readonly dropOldTables?: boolean;
  /** Rows per write transaction (default 2000). */
  readonly batchSize?: number;
}

export interface BuildResult {
  readonly generation: number;
  readonly identity: KernelIdentity;
  readonly info: GenerationInfo;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

let gcFn: (() => void) | undefined;
/**
 * A full major GC between deriving (V8 heap, ~150 MB of short-lived objects for a 56k-function
 * kernel) and indexing (LanceDB's native memory). Without it V8 keeps the garbage while the
 * native side grows, and the build's peak RSS is the sum of both.
 */
function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

/** The probe types a contract lists, per hook kind. */
const FUNCTION_PROBES = ['kprobe', 'kretprobe', 'kfunc', 'kretfunc'] as const;

/**
 * Availability of a function's probes. Reasons that are the same for every function (the probe
 * type is off on this kernel) are not stored per contract; {@link hydrateProbes} adds them back.
 */
export function functionProbes(support: ProbeSupport, name: string): HookProbeAvailability[] {
  const known = support.hasKernelFunction(name);
  return FUNCTION_PROBES.map((probe) => {
    if (!support.isAvailable(probe)) return { probe, available: false };
    if (known === false) return { probe, available: false, reason: `${name} is not in the kernel's traceable functions (inlined, notrace or init-only)` };
    return { probe, available: true };
  });
}

/** The probe list of a traceable function on this kernel (the default in stored contracts). */
export function defaultFunctionProbes(support: ProbeSupport): HookProbeAvailability[] {
  return FUNCTION_PROBES.map((probe) => ({ probe, available: support.isAvailable(probe) }));
}

/** Puts the generation-wide reasons back into a stored contract's probe list. */
export function hydrateProbes<C extends Contract>(c: C, typeReasons: Readonly<Record<string, { available: boolean; reason: string }>> | undefined): C {
  if (!typeReasons) return c;
  const probes = c.probes.map((p) => (p.available || p.reason ? p : { ...p, reason: typeReasons[p.probe]?.reason ?? 'not available on this kernel' }));
  return { ...c, probes };
}

/** Builds a full generation and makes it current. On failure the previous generation stays. */
export async function buildDataset(o: BuildOptions): Promise<BuildResult> {
  const t0 = performance.now();
  const batch = o.batchSize ?? 1000;
  const identity = await readKernelIdentity(o.host);
  // Probe support comes first: the generation's default probe list is what stored function
  // contracts are written relative to.
  const support = await detectProbeSupport(o.host, { ...o.probeOptions });
  const gen = o.store.beginGeneration(identity, CONTRACT_FORMAT, { functionProbes: defaultFunctionProbes(support) });
  o.store.beginBulk();
  const progress = (phase: RebuildPhase, done: number, total: number, message: string): void => o.onProgress(phase, done, total, message, gen);
  try {
    progress('identity', 1, 1, `kernel ${identity.release} (${identity.key})`);
    const typeReasons = Object.fromEntries(Object.entries(support.types).map(([k, v]) => [k, { available: v.available, reason: v.reason }]));

    // BTF and everything derived from it live only inside this function: once it returns they
    // are garbage, collected before the search index (native memory) is built.
    const derived = await (async () => {
      progress('btf', 0, 1, 'reading BTF');
      await tick();
      const btf = await o.loadBtf(o.host);
      const objects = [...(btf.vmlinux ? [btf.vmlinux] : []), ...btf.modules];
      progress('btf', 1, 1, `BTF: ${objects.map((b) => b.module).join(', ') || 'none'}`);
      await tick();

      const docRows: DocRow[] = [];
      const enums = new Map<string, EnumDomain | undefined>();
      let functions = 0;
      let documented = 0;
      const seen = new Set<string>();

      // Functions: source docs are looked up in file order (the reader caches recent files).
      const source = o.source?.indexed ? o.source : undefined;
      const fileOf = (name: string): string => source?.locate(name)[0]?.file ?? '\uffff';
      const totalFunctions = objects.reduce((n, b) => n + b.functionCount(), 0);
      // Without a source tree the functions stream from BTF one at a time (peak memory); with one,
      // they are sorted by file first so the source reader's cache of recent files works.
      function* streamed(): Generator<{ b: Btf; f: BtfFunction }> {
        for (const b of objects) for (const f of b.iterFunctions()) yield { b, f };
      }
      let ordered: Iterable<{ b: Btf; f: BtfFunction }> = streamed();
      if (source) {
        const all = [...streamed()];
        all.sort((x, y) => (fileOf(x.f.name) < fileOf(y.f.name) ? -1 : fileOf(x.f.name) > fileOf(y.f.name) ? 1 : 0));
        ordered = all;
      }
      let pending: Contract[] = [];
      let i = -1;
      for (const { b, f } of ordered) {
        i++;
        if (seen.has(f.name)) continue;
        seen.add(f.name);
        let doc: FunctionDocInput | undefined;
        if (source && source.summary(f.name)) {
          const src = await source.lookup(f.name);
          if (src?.doc) {
            doc = {
              doc: {
                summary: src.doc.summary,
                ...(src.doc.description ? { description: src.doc.description } : {}),
                ...(src.doc.returns ? { returns: src.doc.returns } : {}),
                ...(src.doc.context ? { context: src.doc.context } : {}),
                source: src.comment?.startsWith('/**') ? 'kernel-doc' : 'comment',
                file: src.file,
                line: src.line,
              },
              params: Object.fromEntries(src.doc.params.map((p) => [p.name, p.description])),
            };
            documented++;
          }
        }
        // Conditions are derived again on lookup (contracts/stored.ts); not computing them here saves a third of the build.
        const c = deriveFunctionContract(resolveFunction(b, f, enums), functionProbes(support, f.name), doc, { stored: true });
        pending.push(c);
        docRows.push({ id: c.id, kind: 'function', text: functionDocText(c), attachable: c.probes.some((p) => p.available) });
        functions++;
        if (pending.length >= batch) {
          o.store.putContracts(gen, pending, { stored: true });
          pending = [];
          // Keep the V8 heap from growing with short-lived contract objects (peak RSS target).
          if (functions % (batch * 5) === 0) collectGarbage();
          progress('functions', i + 1, totalFunctions, `${functions} function contracts`);
          await tick();
        }
      }
      o.store.putContracts(gen, pending, { stored: true });
      pending = [];
      ordered = [];
      collectGarbage();
      progress('functions', totalFunctions, totalFunctions, `${functions} function contracts${source ? `, ${documented} documented from ${source.root}` : ''}`);

      // Tracepoints.
      const tps = await listTracepoints(o.host);
      const tpProbes: HookProbeAvailability[] = [
        support.isAvailable('tracepoint') ? { probe: 'tracepoint', available: true } : { probe: 'tracepoint', available: false },
        support.isAvailable('rawtracepoint') ? { probe: 'rawtracepoint', available: true } : { probe: 'rawtracepoint', available: false },
      ];
      const enumOf = (name: string): EnumDomain | undefined => {
        if (!btf.vmlinux) return undefined;
        if (!enums.has(name)) enums.set(name, enumDomainOf(btf.vmlinux, name));
        return enums.get(name);
      };
      const enumerator = (name: string): bigint | undefined => btf.vmlinux?.findEnumerator(name)?.value;
      let tracepoints = 0;
      // Format files are read 32 at a time: each read is a few syscalls through libuv's pool, and
      // overlapping them matters more than their CPU cost.
      for (let i = 0; i < tps.length; i += 32) {
        const slice = tps.slice(i, i + 32);
        const fmts = await Promise.all(slice.map((t) => readTracepointFormat(o.host, t.category, t.event).catch(() => undefined)));
        for (const fmt of fmts) {
          // An unreadable or unparsable format must not sink the build: that event is simply absent.
          if (!fmt) continue;
          const c = resolvePrintFmtEnums(deriveTracepointContract(fmt, tpProbes, enumOf), enumerator);
          pending.push(c);
          docRows.push({ id: c.id, kind: 'tracepoint', text: tracepointDocText(c), attachable: c.probes.some((p) => p.available) });
          tracepoints++;
        }
        if (pending.length >= batch) {
          o.store.putContracts(gen, pending);
          pending = [];
          progress('tracepoints', Math.min(i + 32, tps.length), tps.length, `${tracepoints} tracepoint contracts`);
          await tick();
        }
      }
      o.store.putContracts(gen, pending);
      collectGarbage();
      progress('tracepoints', tps.length, tps.length, `${tracepoints} tracepoint contracts`);
      const structs = objects.reduce((n, b) => n + b.countByKind().STRUCT + b.countByKind().UNION, 0);
      return { docRows, functions, tracepoints, documented, structs, modules: objects.map((b) => b.module), sourceRoot: source?.root };
    })();
    const { docRows, functions, tracepoints, documented } = derived;
    // Twice: the second full GC compacts and lets V8 release the pages the first one freed.
    collectGarbage();
    collectGarbage();

    progress(o.embed ? 'embed' : 'index', 0, docRows.length, `indexing ${docRows.length} hooks${o.embed ? ' (full text + vectors)' : ' (full text)'}`);
    await o.docs.build(gen, docRows, {
      ...(o.embed ? { embed: o.embed } : {}),
      onProgress: (done, total) => progress('embed', done, total, `embedded ${done}/${total}`),
    });
    progress('index', docRows.length, docRows.length, 'search index built');

    const info: GenerationInfo = {
      counts: { functions, tracepoints, structs: derived.structs, documented },
      ...(derived.sourceRoot ? { sourceRoot: derived.sourceRoot } : {}),
      modules: derived.modules,
      buildMs: Math.round(performance.now() - t0),
      extra: { probeTypes: typeReasons, vectors: !!o.embed },
    };
    o.store.commitGeneration(gen, info);
    o.store.endBulk();
    await o.docs.activate(gen, o.dropOldTables ?? true);
    progress('commit', 1, 1, `generation ${gen} is current`);
    return { generation: gen, identity, info };
  } catch (err) {
    o.store.endBulk();
    o.store.failGeneration(gen, (err as Error).message);
    await o.docs.drop(gen);
    throw err;
  }
}

/** Search text of a function hook. */
export function functionDocText(c: FunctionContract): string {
  return docText({
    name: c.name,
    kind: 'function',
    extra: [c.prototype, c.doc?.summary, c.doc?.description?.slice(0, 1500), ...c.args.map((a) => a.doc)],
  });
}

/** Search text of a tracepoint hook: names, fields and the print format string. */
export function tracepointDocText(c: TracepointContract): string {
  const fmt = /^"((?:[^"\\]|\\.)*)"/.exec(c.printFmt)?.[1];
  return docText({
    name: `${c.category}:${c.event}`,
    kind: 'tracepoint',
    extra: [
      c.doc?.summary,
      c.fields.map((f) => f.name).join(' '),
      fmt,
      // Symbol names of enum domains (TCP_SYN_SENT, AF_INET6...) say what the event is about.
      [...new Set(c.fields.flatMap((f) => f.enum?.values.map((v) => v.name.replace(/_/g, ' ')) ?? []))].slice(0, 60).join(' '),
    ],
  });
}
