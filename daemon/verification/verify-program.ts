/**
 * Verification with kernel contracts: the one place where a program, a contract provider and the
 * probe support of a kernel meet the pure verifier. Used by the daemon's `verify.program` method
 * (the running kernel's contracts, warm solver) and by the CLI's offline entry point
 * (`daemon/offline/`, the host's BTF and tracefs read directly).
 */
import type { ContractService } from '../../kernel-contracts/index.js';
import type { KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import type { Diagnostic } from '../protocol/diagnostic.js';
import { hostContractProvider } from './host-contracts.js';
import { kernelContractProvider } from './contract-adapter.js';
import type { ContractsUsed, VerifyReport } from '../protocol/verify-api.js';
import type { ProbeContractProvider } from '../verifier/contract-seam.js';
import { collect, parse, type Program } from '../verifier/frontend/index.js';
import { runLints, type FieldTypeInfo, type KernelMemberTypes, type LintContext, type LintProbeSupport } from '../verifier/lints/index.js';
import { verifyProgram } from '../verifier/verify.js';
import type { Dialect } from '../verifier/dialect/index.js';

export interface VerifyWithContractsOptions {
  readonly fileName?: string;
  readonly timeoutMs?: number;
  readonly candidate?: string;
  readonly contracts: ProbeContractProvider;
  /** Which probe types this kernel offers, for the probe-availability lint. */
  readonly probes: LintProbeSupport;
  /** Allow `system()`, `signal()`, `override()` (default false). */
  readonly allowUnsafe?: boolean;
  /** The bpftrace version the program will run on (default: 0.17's rules). */
  readonly dialect?: Dialect;
}

/** The LLM-free lints of `source` with this kernel's field and member types, probe support and policy. */
export async function lintWithContracts(source: string, o: Pick<VerifyWithContractsOptions, 'contracts' | 'probes' | 'allowUnsafe'>): Promise<Diagnostic[]> {
  const program = parse(source).program;
  if (!program) return [];
  return runLints(program, await buildLintContext(source, o.contracts, o.probes, o.allowUnsafe ?? false));
}

/**
 * Parses, lints (with the kernel's tracepoint field types) and verifies `source`. The lints run
 * for a proof (`purpose: 'prove'`): a probe type this host lacks is a warning, not a refusal.
 */
export async function verifyWithContracts(source: string, o: VerifyWithContractsOptions): Promise<VerifyReport> {
  const lintContext = { ...(await buildLintContext(source, o.contracts, o.probes, o.allowUnsafe ?? false)), purpose: 'prove' as const };
  return verifyProgram(source, {
    contracts: o.contracts,
    lintContext,
    ...(o.fileName !== undefined ? { fileName: o.fileName } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.candidate !== undefined ? { candidate: o.candidate } : {}),
    ...(o.dialect !== undefined ? { dialect: o.dialect } : {}),
  });
}

/**
 * The lints' context: probe support, policy, and the field types of every tracepoint the program
 * attaches to, read ahead through the contracts (lints ask synchronously).
 */
async function buildLintContext(source: string, contracts: ProbeContractProvider, probes: LintProbeSupport, allowUnsafe: boolean): Promise<LintContext> {
  const types = new Map<string, Map<string, FieldTypeInfo>>();
  const program: Program | undefined = parse(source).program;
  for (const ap of program ? collect(program, 'AttachPoint') : []) {
    const [category, event] = ap.target;
    if (ap.provider !== 'tracepoint' || ap.wildcard || category === undefined || event === undefined) continue;
    const key = `${category}:${event}`;
    if (types.has(key)) continue;
    const fields = await contracts.tracepointFields(category, event);
    types.set(key, new Map((fields ?? []).map((f) => [f.name, { type: f.cType, size: f.size, signed: f.signed }])));
  }
  const base: LintContext = {
    probes,
    policy: { allowUnsafe },
    fields: { fieldType: (category, event, field) => types.get(`${category}:${event}`)?.get(field) },
  };
  return program ? { ...base, members: await readMemberTypesAhead(program, base, contracts) } : base;
}

/**
 * The BTF types of the struct members the lints will ask about. Which members those are depends
 * on the answers (`$sk->__sk_common.skc_dport` needs `sock.__sk_common` to learn that it is a
 * `struct sock_common`), so the lints run with a recording lookup, the misses are fetched, and
 * again until nothing new is asked (a chain of members deep at most).
 */
async function readMemberTypesAhead(program: Program, base: LintContext, contracts: ProbeContractProvider): Promise<KernelMemberTypes> {
  return (await readMembers(program, base, contracts)).members;
}

/** The kernel struct members a program reads (through casts and curtask), with their BTF types. */
export async function kernelMembersRead(
  source: string,
  o: Pick<VerifyWithContractsOptions, 'contracts' | 'probes' | 'allowUnsafe'>,
): Promise<{ struct: string; member: string; type: string }[]> {
  const program = parse(source).program;
  if (!program) return [];
  const base: LintContext = { probes: o.probes, policy: { allowUnsafe: o.allowUnsafe ?? false } };
  const { known } = await readMembers(program, base, o.contracts);
  return [...known].flatMap(([key, type]) => {
    const dot = key.indexOf('.');
    return type === undefined ? [] : [{ struct: key.slice(0, dot), member: key.slice(dot + 1), type }];
  });
}

async function readMembers(program: Program, base: LintContext, contracts: ProbeContractProvider): Promise<{ members: KernelMemberTypes; known: Map<string, string | undefined> }> {
  const known = new Map<string, string | undefined>();
  const members: KernelMemberTypes = {
    memberType(structName, member) {
      const key = `${structName}.${member}`;
      if (!known.has(key)) missing.add(key);
      return known.get(key);
    },
  };
  const missing = new Set<string>();
  for (let round = 0; round < 8; round++) {
    missing.clear();
    runLints(program, { ...base, members });
    if (missing.size === 0) break;
    await Promise.all(
      [...missing].map(async (key) => {
        const dot = key.indexOf('.');
        const field = await contracts.kernelField(key.slice(0, dot), [key.slice(dot + 1)]);
        known.set(key, field?.cType);
      }),
    );
  }
  return { members, known };
}

/**
 * The verifier's view of the running kernel in kgentd: the contracts store first, the kernel's
 * BTF and tracefs read directly where the store has no answer (or is off). `verify.program` and
 * the Kgent loop share it.
 */
export function daemonContractProvider(service: ContractService | undefined, host: KernelHost, opts: { bpftraceComm?: string } = {}): ProbeContractProvider {
  const direct = hostContractProvider(host, opts.bpftraceComm !== undefined ? { bpftraceComm: opts.bpftraceComm } : {});
  return service ? firstKnown(kernelContractProvider(service), direct) : direct;
}

/**
 * `primary`'s answer where it has one, else `fallback`'s: the contracts store first, then the
 * kernel's BTF and tracefs read directly (while the first build runs, or for a tracepoint the
 * store has not seen).
 */
export function firstKnown(primary: ProbeContractProvider, fallback: ProbeContractProvider): ProbeContractProvider {
  return {
    async tracepointFields(category, event) {
      return (await primary.tracepointFields(category, event)) ?? fallback.tracepointFields(category, event);
    },
    async kernelField(structName, fieldPath) {
      return (await primary.kernelField(structName, fieldPath)) ?? fallback.kernelField(structName, fieldPath);
    },
    async preconditions(probe) {
      const p = (await primary.preconditions?.(probe)) ?? [];
      return p.length ? p : ((await fallback.preconditions?.(probe)) ?? []);
    },
    async hints(probe) {
      const h = (await primary.hints?.(probe)) ?? [];
      return h.length ? h : ((await fallback.hints?.(probe)) ?? []);
    },
    async hostFacts() {
      // Facts about this host are the host's: the fallback reads them from it directly.
      return { ...((await primary.hostFacts?.()) ?? {}), ...((await fallback.hostFacts?.()) ?? {}) };
    },
  };
}

/** A tiny annotated program: verifying it at start makes Z3 initialise and V8 compile its paths. */
export const WARM_UP_PROGRAM = 'kprobe:f /pid == 1/ { $x = (uint32)arg0 & 0xff; printf("%d\\n", $x); assert(printed(0) <= 255); assert(pid == 1); }\n';

export type { ContractsUsed };
