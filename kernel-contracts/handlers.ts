/**
 * Control-socket handlers of the contracts methods, with runtime validation of params. The
 * daemon mounts them with `server.registerRaw(method, handler)`; `contracts.rebuild` streams
 * `contracts.progress` notifications to the client that asked.
 */
import { KgentError } from '../daemon/errors.js';
import { bool, int, literal, obj, optional, str } from '../daemon/protocol/validate.js';
import { CONTRACTS_PROGRESS, ContractsMethods, type ContractsRebuildResult, type ContractsSearchResult, type ContractsShowResult, type ContractsStatusResult } from './protocol.js';
import type { ContractService } from './service.js';

/** What a handler may use of its connection (a subset of the daemon's ConnectionContext). */
export interface HandlerContext {
  notify(method: string, params: unknown): unknown;
}

export type ContractHandler = (params: unknown, ctx?: HandlerContext) => Promise<unknown>;

export const ContractsParams = {
  status: obj({}),
  rebuild: obj({ force: optional(bool()), wait: optional(bool()) }),
  show: obj({ hook: str({ min: 1, max: 512 }), enrich: optional(bool()) }),
  search: obj({ text: str({ min: 1, max: 2000 }), k: optional(int({ min: 1, max: 100 })), kind: optional(literal('function', 'tracepoint')), attachable: optional(bool()) }),
} as const;

/** Handlers by method name. */
export function contractHandlers(service: ContractService): Record<string, ContractHandler> {
  return {
    [ContractsMethods.status]: async (params): Promise<ContractsStatusResult> => {
      ContractsParams.status.parse(params ?? {});
      return service.status();
    },
    [ContractsMethods.rebuild]: async (params, ctx): Promise<ContractsRebuildResult> => {
      const p = ContractsParams.rebuild.parse(params ?? {});
      const run = service.rebuild({ force: p.force ?? true, onProgress: (ev) => ctx?.notify(CONTRACTS_PROGRESS, ev) });
      if (p.wait === false) {
        run.catch(() => undefined);
        // Give the build a moment to publish its first progress, then answer.
        await new Promise((r) => setTimeout(r, 50));
        return { started: true, status: await service.status() };
      }
      return run;
    },
    [ContractsMethods.show]: async (params): Promise<ContractsShowResult> => {
      const p = ContractsParams.show.parse(params ?? {});
      const r = await service.lookup(p.hook, { enrich: p.enrich ?? false });
      if (!r) throw new KgentError('not-found', `${p.hook}: no such hook or struct member on this kernel (kgentctl contracts search TEXT finds hooks)`, { hook: p.hook });
      return r;
    },
    [ContractsMethods.search]: async (params): Promise<ContractsSearchResult> => {
      const p = ContractsParams.search.parse(params ?? {});
      return service.search(p.text, p.k ?? 10, { ...(p.kind ? { kind: p.kind } : {}), ...(p.attachable ? { attachable: true } : {}) });
    },
  };
}
