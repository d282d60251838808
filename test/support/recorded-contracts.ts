/**
 * Verifier contracts for tests: tracepoint formats recorded under `test/fixtures/verifier/formats`
 * (so field types do not depend on the kernel the tests run on), derived exactly as the daemon
 * derives them, and struct members from this host's BTF. Tracepoint fields are answered
 * synchronously, so lint contexts built over this provider can read field types directly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hostContractProvider } from '../../daemon/verification/host-contracts.js';
import { fieldContractOf } from '../../daemon/verification/contract-adapter.js';
import type { FieldContract, ProbeContractProvider } from '../../daemon/verifier/contract-seam.js';
import type { KernelMemberTypes } from '../../daemon/verifier/lints/index.js';
import { memberContract } from '../../kernel-contracts/contracts/members.js';
import { parseBtf } from '../../kernel-contracts/kernel-reader/btf/btf.js';
import type { Btf } from '../../kernel-contracts/kernel-reader/btf/types.js';
import { repoRoot } from '../../daemon/util/repo-root.js';
import { deriveTracepointContract } from '../../kernel-contracts/contracts/derive.js';
import { realHost } from '../../kernel-contracts/kernel-reader/host.js';
import { parseTracepointFormat } from '../../kernel-contracts/kernel-reader/tracepoint-format.js';

/** The folder of recorded tracepoint formats (`<category>/<event>/format`). */
export function recordedFormatsDir(): string {
  return path.join(repoRoot(), 'test', 'fixtures', 'verifier', 'formats');
}

/** Host facts of the development host (see recordedContractProvider). */
export const RECORDED_HOST_FACTS = { possibleCpus: 2, bpftraceComm: 'bpftrace' } as const;

/** Contracts over recorded formats (default: the fixture folder) and the host's BTF. */
export function recordedContractProvider(formatsDir: string = recordedFormatsDir()): ProbeContractProvider {
  // Tests run /usr/bin/bpftrace: its comm is "bpftrace".
  const host = hostContractProvider(realHost(), { formatsDir, bpftraceComm: 'bpftrace' });
  const cache = new Map<string, readonly FieldContract[] | undefined>();
  return {
    tracepointFields(category, event) {
      const key = `${category}:${event}`;
      if (!cache.has(key)) {
        let fields: readonly FieldContract[] | undefined;
        if (/^[\w-]+$/.test(category) && /^[\w-]+$/.test(event)) {
          try {
            const fmt = parseTracepointFormat(category, event, readFileSync(path.join(formatsDir, category, event, 'format'), 'utf8'));
            fields = deriveTracepointContract(fmt, []).fields.map(fieldContractOf);
          } catch {
            fields = undefined;
          }
        }
        cache.set(key, fields);
      }
      return cache.get(key);
    },
    kernelField: (structName, fieldPath) => host.kernelField(structName, fieldPath),
    preconditions: (probe) => host.preconditions?.(probe) ?? [],
    hints: (probe) => host.hints?.(probe) ?? [],
    // Recorded like the formats, so that expectations do not depend on the test machine: the
    // development host has 2 possible CPUs (/sys/devices/system/cpu/possible is 0-1) and tests
    // run /usr/bin/bpftrace.
    hostFacts: () => RECORDED_HOST_FACTS,
  };
}

let hostBtf: Btf | undefined | null;

/**
 * Kernel struct member types for lint contexts in tests, from this host's BTF (read once,
 * synchronously); none when the kernel has no BTF.
 */
export function hostMemberTypes(): KernelMemberTypes {
  if (hostBtf === undefined) {
    try {
      hostBtf = parseBtf(readFileSync('/sys/kernel/btf/vmlinux'), { name: 'vmlinux' });
    } catch {
      hostBtf = null;
    }
  }
  const btf = hostBtf;
  return {
    memberType(structName, member) {
      if (!btf) return undefined;
      return (memberContract(btf, structName, false, [member]) ?? memberContract(btf, structName, true, [member]))?.value.type;
    },
  };
}
