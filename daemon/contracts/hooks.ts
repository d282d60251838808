/**
 * The kernel's hooks for the Kgent loop's prompts: which hooks fit a request (the contracts' own
 * search, attachable ones only) and the contract of a named hook. From the contracts service when
 * it runs; otherwise tracepoints are read from the host's tracefs directly, so a request still
 * gets the fields of the hooks its candidate uses.
 */
import { deriveTracepointContract } from '../../kernel-contracts/contracts/derive.js';
import type { Contract } from '../../kernel-contracts/contracts/model.js';
import type { KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import { readTracepointFormat } from '../../kernel-contracts/kernel-reader/tracepoint-format.js';
import type { ContractService } from '../../kernel-contracts/index.js';
import { contractIdOf, rankHooks } from '../../kernel-contracts/search/hook-rank.js';
import { requestTerms } from '../../kernel-contracts/search/request-terms.js';
import type { HookSource } from '../pipeline/stages.js';

export function kernelHookSource(service: ContractService | undefined, host: KernelHost): HookSource {
  const direct = async (hook: string): Promise<Contract | undefined> => {
    const m = /^(?:tracepoint|t):([^:]+):([^:]+)$/.exec(hook);
    if (!m) return undefined;
    const fmt = await readTracepointFormat(host, m[1] as string, m[2] as string);
    return fmt ? deriveTracepointContract(fmt, [{ probe: 'tracepoint', available: true }]) : undefined;
  };
  const fromService = async (hook: string): Promise<Contract | undefined> => {
    if (!service) return undefined;
    const r = await service.lookup(hook).catch(() => undefined);
    return r?.kind === 'contract' ? r.contract : undefined;
  };
  /**
   * No contracts index (kgentd's first minutes on a host, or contracts disabled): the tracepoints
   * the request's vocabulary and the examples' hooks point at, as tracefs has them, ranked the same
   * way without the full-text part.
   */
  const fromTracefs = async (text: string, k: number, exampleHooks: readonly string[]): Promise<Contract[]> => {
    const terms = requestTerms(text);
    const wanted = [
      ...terms.namedTracepoints.map((t) => `tracepoint:${t}`),
      ...exampleHooks.map(contractIdOf),
      ...terms.syscalls.flatMap((s) => [`tracepoint:syscalls:sys_enter_${s.id}`, `tracepoint:syscalls:sys_exit_${s.id}`]),
      ...terms.hooks.map((h) => h.id),
    ].filter((id): id is string => id?.startsWith('tracepoint:') ?? false);
    const found = new Map<string, Contract>();
    for (const id of new Set(wanted)) {
      const c = await direct(id);
      if (c) found.set(id, c);
    }
    return rankHooks({ terms, fullText: [], hints: exampleHooks, exists: (id) => found.has(id) }, k).map((r) => found.get(r.id)!);
  };
  return {
    async fitting(text, k, exampleHooks) {
      const hints = exampleHooks?.length ? { hints: exampleHooks } : {};
      const res = service ? await service.search(text, k, { attachable: true, ...hints }).catch(() => undefined) : undefined;
      if (!res) return fromTracefs(text, k, exampleHooks ?? []);
      const out: Contract[] = [];
      for (const hit of res.hits) {
        const c = service!.contract(hit.id) ?? (await fromService(hit.id));
        if (c) out.push(c);
      }
      return out;
    },
    async lookup(hook) {
      return (await fromService(hook)) ?? direct(hook);
    },
  };
}
