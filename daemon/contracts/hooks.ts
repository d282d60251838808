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
  return {
    async fitting(text, k, exampleHooks) {
      if (!service) return [];
      const res = await service.search(text, k, { attachable: true, ...(exampleHooks?.length ? { hints: exampleHooks } : {}) });
      const out: Contract[] = [];
      for (const hit of res.hits) {
        const c = service.contract(hit.id) ?? (await fromService(hit.id));
        if (c) out.push(c);
      }
      return out;
    },
    async lookup(hook) {
      return (await fromService(hook)) ?? direct(hook);
    },
  };
}
