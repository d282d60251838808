/**
 * Verifier contracts read straight from a kernel host, without the contracts store: tracepoint
 * formats from tracefs and struct members from the vmlinux BTF. This is what `kgentctl verify`
 * uses when kgentd is not reachable, and what tests use over recorded formats. The contracts are
 * derived exactly as the store derives them (`kernel-contracts/contracts/derive.ts`), so a
 * program verifies the same way through the daemon and without it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { enumDomainOf } from '../../kernel-contracts/contracts/btf-adapter.js';
import { deriveTracepointContract } from '../../kernel-contracts/contracts/derive.js';
import { memberContract } from '../../kernel-contracts/contracts/members.js';
import type { Contract, EnumDomain, MemberContract } from '../../kernel-contracts/contracts/model.js';
import { loadVmlinuxBtf } from '../../kernel-contracts/kernel-reader/btf/btf.js';
import type { Btf } from '../../kernel-contracts/kernel-reader/btf/types.js';
import type { KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import { parseTracepointFormat, readTracepointFormat, type TracepointFormat } from '../../kernel-contracts/kernel-reader/tracepoint-format.js';
import type { HostFacts, ProbeContractProvider } from '../verifier/contract-seam.js';
import { verifierProvider } from './contract-adapter.js';

export interface HostProviderOptions {
  /**
   * Read tracepoint formats from `DIR/<category>/<event>/format` (recorded formats) instead of
   * the host's tracefs. Struct members still come from the host's BTF.
   */
  readonly formatsDir?: string;
  /**
   * The `comm` of the bpftrace processes that will run the programs (the base name of the
   * executable the daemon starts): a fact about `comm` in BEGIN and END. Unknown when absent.
   */
  readonly bpftraceComm?: string;
}

/**
 * The number of possible CPU ids from /sys/devices/system/cpu/possible (`0-3`, `0,2-5`): the
 * highest id plus one, or undefined when the file is absent or not understood.
 */
export function parsePossibleCpus(text: string): number | undefined {
  let max = -1;
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    max = Math.max(max, Number(m[2] ?? m[1]));
  }
  return max >= 0 ? max + 1 : undefined;
}

/** The verifier's provider over a kernel host (see the module comment). */
export function hostContractProvider(host: KernelHost, opts: HostProviderOptions = {}): ProbeContractProvider {
  let btf: Promise<Btf | undefined> | undefined;
  // A kernel without BTF still verifies tracepoint programs; member reads then stay unmodelled.
  const vmlinux = (): Promise<Btf | undefined> => (btf ??= loadVmlinuxBtf(host).catch(() => undefined));
  const enums = new Map<string, EnumDomain | undefined>();
  const contracts = new Map<string, Promise<Contract | undefined>>();
  const members = new Map<string, Promise<MemberContract | undefined>>();

  const readFormat = async (category: string, event: string): Promise<TracepointFormat | undefined> => {
    if (opts.formatsDir === undefined) return readTracepointFormat(host, category, event);
    // Names come from user programs: never let one walk out of the formats directory.
    if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(event) || category.startsWith('.') || event.startsWith('.')) return undefined;
    const text = await readFile(path.join(opts.formatsDir, category, event, 'format'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : parseTracepointFormat(category, event, text);
  };

  const tracepointContract = async (category: string, event: string): Promise<Contract | undefined> => {
    const fmt = await readFormat(category, event);
    if (!fmt) return undefined;
    const b = await vmlinux();
    const enumOf = (name: string): EnumDomain | undefined => {
      if (!b) return undefined;
      if (!enums.has(name)) enums.set(name, enumDomainOf(b, name));
      return enums.get(name);
    };
    // Print tables (resolvePrintFmtEnums) are hints, which the verifier never sees: skipped here.
    return deriveTracepointContract(fmt, [], enumOf);
  };

  let facts: Promise<HostFacts> | undefined;
  const hostFacts = (): Promise<HostFacts> =>
    (facts ??= host.readText('/sys/devices/system/cpu/possible').then((text) => {
      const possibleCpus = text === undefined ? undefined : parsePossibleCpus(text);
      return { ...(possibleCpus !== undefined ? { possibleCpus } : {}), ...(opts.bpftraceComm !== undefined ? { bpftraceComm: opts.bpftraceComm } : {}) };
    }));

  const provider = verifierProvider({
    contract(id) {
      let p = contracts.get(id);
      if (!p) {
        const m = /^tracepoint:([^:]+):([^:]+)$/.exec(id);
        p = m ? tracepointContract(m[1] as string, m[2] as string) : Promise.resolve(undefined);
        contracts.set(id, p);
      }
      return p;
    },
    member(structName, fieldPath) {
      const key = `${structName}.${fieldPath.join('.')}`;
      let p = members.get(key);
      if (!p) {
        p = vmlinux().then((b) => (b ? memberContract(b, structName, false, fieldPath, enums) ?? memberContract(b, structName, true, fieldPath, enums) : undefined));
        members.set(key, p);
      }
      return p;
    },
  });
  return { ...provider, hostFacts };
}
