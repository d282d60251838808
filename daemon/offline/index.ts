/**
 * The CLI's one door into the daemon's code, for work done without kgentd: `kgentctl verify` when
 * the daemon is not reachable, or with `--formats DIR`. The CLI loads this module with a dynamic
 * `import()` only then, so every other command (and `verify` through the daemon) never loads Z3,
 * the verifier or kernel-contracts.
 *
 * Contracts come from this host's kernel, read directly: tracepoint formats from tracefs (or
 * `formatsDir`) and struct members from the BTF of /sys/kernel/btf/vmlinux.
 */
import { hostContractProvider } from '../verification/host-contracts.js';
import { verifyWithContracts } from '../verification/verify-program.js';
import type { ContractsUsed, VerifyProgramResult } from '../protocol/verify-api.js';
import type { ProbeContractProvider } from '../verifier/contract-seam.js';
import { ALL_PROBES_AVAILABLE, type LintProbeSupport } from '../verifier/lints/index.js';
import { readRelease, realHost, type KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import { detectProbeSupport } from '../../kernel-contracts/kernel-reader/probe-support.js';
import { parseBpftraceVersion, whichBpftrace } from '../../kernel-contracts/kernel-reader/bpftrace.js';
import { execa } from 'execa';
import { dialectForBpftrace, dialectNamed } from '../runner/dialect-choice.js';

export interface OfflineVerifyOptions {
  readonly fileName?: string;
  readonly timeoutMs?: number;
  readonly candidate?: string;
  /** Tracepoint formats from `DIR/<category>/<event>/format` instead of tracefs; every probe type counts as available. */
  readonly formatsDir?: string;
  /** The kernel to read (default: this host). */
  readonly host?: KernelHost;
  /** Replaces the contracts altogether (tests). */
  readonly contracts?: ProbeContractProvider;
  /** Replaces the probe support the lints check against (tests). */
  readonly probes?: LintProbeSupport;
  /** The bpftrace dialect (`0.23`); default: the one of this host's bpftrace, if any, else 0.17. */
  readonly dialect?: string;
}

/** Verifies `source` in this process with this host's contracts, and says which it used. */
export async function verifyOffline(source: string, o: OfflineVerifyOptions = {}): Promise<VerifyProgramResult> {
  const host = o.host ?? realHost();
  const contracts = o.contracts ?? hostContractProvider(host, o.formatsDir !== undefined ? { formatsDir: o.formatsDir } : {});
  const probes = o.probes ?? (o.formatsDir !== undefined || o.contracts !== undefined ? ALL_PROBES_AVAILABLE : await hostProbeSupport(host));
  const dialect = o.dialect !== undefined ? dialectNamed(o.dialect) : dialectForBpftrace(await localBpftraceVersion());
  const report = await verifyWithContracts(source, {
    contracts,
    probes,
    dialect: dialect.dialect,
    ...(o.fileName !== undefined ? { fileName: o.fileName } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.candidate !== undefined ? { candidate: o.candidate } : {}),
  });
  return { report, contracts: await used(host, o), dialect: dialect.dialect.version };
}

async function used(host: KernelHost, o: OfflineVerifyOptions): Promise<ContractsUsed> {
  if (o.contracts !== undefined) return { source: 'recorded', description: 'contracts given by the caller' };
  const kernel = await readRelease(host).catch(() => undefined);
  const of = kernel ? ` of kernel ${kernel}` : '';
  return o.formatsDir !== undefined
    ? { source: 'recorded', ...(kernel ? { kernel } : {}), description: `local BTF${of} + tracepoint formats from ${o.formatsDir}` }
    : { source: 'local', ...(kernel ? { kernel } : {}), description: `local BTF + tracefs${of}` };
}

/** Which probe types this host offers; everything when that cannot be read. */
async function hostProbeSupport(host: KernelHost): Promise<LintProbeSupport> {
  try {
    return await detectProbeSupport(host, { functionNames: false });
  } catch {
    return ALL_PROBES_AVAILABLE;
  }
}

export { hostDoctor } from './host-doctor.js';

/** The version of the bpftrace on PATH (`KGENT_BPFTRACE` names another), or undefined. */
async function localBpftraceVersion(): Promise<string | undefined> {
  try {
    const bin = await whichBpftrace(process.env.KGENT_BPFTRACE ?? 'bpftrace');
    if (!bin) return undefined;
    const v = await execa(bin, ['--version'], { reject: false, timeout: 5000 });
    return parseBpftraceVersion(`${v.stdout}\n${v.stderr}`)?.text;
  } catch {
    return undefined;
  }
}
