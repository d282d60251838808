/**
 * A hook missing from the dataset may belong to a module loaded since the build (its BTF
 * appears under /sys/kernel/btf, its tracepoints under tracefs): it is added to the current
 * generation (and to the doc index) on its first lookup.
 */
import type { KernelHost } from '../kernel-reader/host.js';
import { listModuleBtf } from '../kernel-reader/btf/btf.js';
import { detectProbeSupport, type ProbeSupportOptions } from '../kernel-reader/probe-support.js';
import { readTracepointFormat } from '../kernel-reader/tracepoint-format.js';
import { deriveFunctionContract, deriveTracepointContract } from '../contracts/derive.js';
import { resolveFunction, enumDomainOf } from '../contracts/btf-adapter.js';
import { resolvePrintFmtEnums } from '../contracts/print-fmt.js';
import type { Contract, EnumDomain, HookProbeAvailability } from '../contracts/model.js';
import type { ContractStore, Generation } from '../store/contract-db.js';
import { functionProbes, functionDocText, tracepointDocText, type BtfLoader } from '../rebuild/build.js';
import type { HookRef } from '../api.js';
import type { BtfCache } from './btf-cache.js';
import type { DocIndexHolder } from './doc-index-holder.js';
import type { ContractLogger } from './options.js';

export interface PickUpDeps {
  readonly host: KernelHost;
  readonly store: ContractStore;
  readonly btf: BtfCache;
  readonly loadBtf: BtfLoader;
  readonly probeOptions: ProbeSupportOptions | undefined;
  readonly enums: Map<string, EnumDomain | undefined>;
  readonly docs: DocIndexHolder;
  readonly log: ContractLogger;
  /** The contract of the current generation by id (with its cached conditions). */
  readonly contract: (id: string) => Contract | undefined;
}

/** The hook's contract after adding what appeared since the build; undefined when it is not there either. */
export async function pickUpHook(ref: HookRef, gen: Generation, d: PickUpDeps): Promise<Contract | undefined> {
  if (ref.kind === 'tracepoint') return pickUpTracepoint(ref, gen, d);
  if (ref.kind === 'function') return pickUpModuleFunctions(ref.name, gen, d);
  return undefined;
}

async function pickUpTracepoint(ref: Extract<HookRef, { kind: 'tracepoint' }>, gen: Generation, d: PickUpDeps): Promise<Contract | undefined> {
  const fmt = await readTracepointFormat(d.host, ref.category, ref.event).catch(() => undefined);
  if (!fmt) return undefined;
  const support = await detectProbeSupport(d.host, { ...d.probeOptions, functionNames: false });
  const probes: HookProbeAvailability[] = [
    { probe: 'tracepoint', available: support.isAvailable('tracepoint') },
    { probe: 'rawtracepoint', available: support.isAvailable('rawtracepoint') },
  ];
  const btf = await d.btf.vmlinux().catch(() => undefined);
  const c = resolvePrintFmtEnums(
    deriveTracepointContract(fmt, probes, (n) => (btf ? enumDomainOf(btf, n) : undefined)),
    (n) => btf?.findEnumerator(n)?.value,
  );
  d.store.putContracts(gen.id, [c]);
  d.log.info({ hook: c.id }, 'kernel contracts: picked up a tracepoint added since the build');
  return d.contract(c.id);
}

async function pickUpModuleFunctions(name: string, gen: Generation, d: PickUpDeps): Promise<Contract | undefined> {
  const store = d.store;
  const known = new Set(gen.info?.modules ?? []);
  const fresh = (await listModuleBtf(d.host)).filter((m) => !known.has(m));
  if (!fresh.length) return undefined;
  const base = await d.btf.vmlinux();
  const loaded = await d.loadBtf(d.host, { modules: fresh, base });
  const support = await detectProbeSupport(d.host, { ...d.probeOptions });
  const contracts: Contract[] = [];
  for (const mb of loaded.modules) {
    for (const f of mb.functions()) {
      if (store.hasContract(gen.id, `function:${f.name}`)) continue;
      contracts.push(deriveFunctionContract(resolveFunction(mb, f, d.enums), functionProbes(support, f.name), undefined, { conditions: false }));
    }
  }
  store.putContracts(gen.id, contracts);
  const modules = [...known, ...loaded.modules.map((m) => m.module)];
  if (gen.info) store.db.prepare('UPDATE generations SET info = ? WHERE id = ?').run(JSON.stringify({ ...gen.info, modules, counts: { ...gen.info.counts, functions: gen.info.counts.functions + contracts.length } }), gen.id);
  await d.docs.use((docs) =>
    docs.addRows(
      contracts.map((c) => ({
        id: c.id,
        kind: c.kind,
        text: c.kind === 'function' ? functionDocText(c) : tracepointDocText(c),
        attachable: c.probes.some((p) => p.available),
      })),
    ),
  );
  d.log.info({ modules: loaded.modules.map((m) => m.module), functions: contracts.length }, 'kernel contracts: picked up module BTF loaded since the build');
  return d.contract(`function:${name}`);
}
