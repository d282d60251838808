/** The shapes the service answers with: a shown contract, an identity summary, a bad hook name. */
import { ContractsError } from '../errors.js';
import type { KernelIdentity } from '../kernel-reader/identity.js';
import type { Contract } from '../contracts/model.js';
import type { Generation } from '../store/contract-db.js';
import type { ContractsShowResult, HookRef, IdentitySummary } from '../api.js';

export function identitySummary(id: KernelIdentity): IdentitySummary {
  return {
    release: id.release,
    version: id.version,
    ...(id.buildId ? { buildId: id.buildId } : {}),
    ...(id.btfChecksum ? { btfChecksum: id.btfChecksum } : {}),
    key: id.key,
  };
}

export function badHook(text: string): ContractsError {
  return new ContractsError(
    'bad-request',
    `"${text}" is not a hook name; use tracepoint:CATEGORY:EVENT, kprobe:FUNCTION (or kretprobe/kfunc/kretfunc), or struct:NAME:MEMBER.PATH`,
    { hook: text },
  );
}

/** A contract shown for the hook asked for: whether that probe (or any, for a bare function) attaches. */
export function showResult(ref: HookRef, name: string, c: Contract, gen: Generation): ContractsShowResult {
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
