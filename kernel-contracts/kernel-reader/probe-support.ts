/**
 * What can be attached on this kernel, per bpftrace probe type, with the reason in words. Built
 * from the kernel config, tracefs, /sys/bus/event_source and BTF presence; optionally sharpened by
 * bpftrace's own feature probe (`bpftrace --info`, see ./bpftrace.ts), which loads test programs.
 */
import { PROBE_TYPES, canonicalProbeType } from '../probe-types.js';
import type { ProbeType } from '../probe-types.js';
import type { BpftraceFeatures, BpftraceVersion } from './bpftrace.js';
import type { KernelHost } from './host.js';
import { readRelease } from './host.js';
import type { KernelConfig } from './kernel-config.js';
import { readKernelConfig } from './kernel-config.js';
import { listTracepoints } from './tracepoint-format.js';
import { readKernelFunctionNames, readKprobeBlacklist, type KernelFunctionList } from './kernel-functions.js';
import {
  iterSupport,
  kfuncSupport,
  kprobeSupport,
  perfEventSupport,
  selfSupport,
  tracepointSupport,
  uprobeSupport,
  type ProbeEvidence,
  type ProbeTypeFindings,
  type ProbeTypeSupport,
} from './probe-type-checks.js';

export type { KernelFunctionList } from './kernel-functions.js';
export type { ProbeTypeSupport } from './probe-type-checks.js';

/** Options of {@link detectProbeSupport}. */
export interface ProbeSupportOptions {
  /**
   * bpftrace's feature probe and version (from `readBpftraceInfo()`): runtime evidence for kfunc,
   * iter and the probe types a bpftrace version knows. Without it only kernel evidence is used.
   */
  readonly bpftrace?: { readonly version?: BpftraceVersion; readonly features?: BpftraceFeatures };
  /** Read kernel function names (available_filter_functions or kallsyms) for {@link ProbeSupport.hasKernelFunction}. Default true. */
  readonly functionNames?: boolean;
}

/** JSON form of {@link ProbeSupport} (for `kgentctl doctor --json` and the store). */
export interface ProbeSupportSummary {
  readonly release: string | undefined;
  readonly configSource: string | undefined;
  readonly tracefs: string | undefined;
  readonly btf: { readonly vmlinux: boolean; readonly modules: readonly string[] };
  readonly types: Readonly<Record<ProbeType, ProbeTypeSupport>>;
  readonly kernelFunctions: KernelFunctionList;
  readonly tracepointCount: number;
}

/** What this kernel lets bpftrace attach. */
export interface ProbeSupport extends ProbeSupportSummary {
  /** The kernel config, when found. */
  readonly config: KernelConfig | undefined;
  /** Availability of a probe type by canonical name or alias (`k`, `fentry`); false for unknown names. */
  isAvailable(type: ProbeType | string): boolean;
  /** The reason line for a probe type. */
  reason(type: ProbeType | string): string;
  /** True when `tracepoint:<category>:<event>` exists. */
  hasTracepoint(category: string, event: string): boolean;
  /**
   * True when the kernel has a function of this name (from available_filter_functions, else
   * kallsyms text symbols); undefined when no list could be read.
   */
  hasKernelFunction(name: string): boolean | undefined;
  /**
   * True when kprobes refuse this function (/sys/kernel/debug/kprobes/blacklist); undefined when
   * that list is unreadable (kprobes off, debugfs not mounted).
   */
  isKprobeBlacklisted(name: string): boolean | undefined;
  toJSON(): ProbeSupportSummary;
}

/** Detects probe support on the host. Never throws for a missing file: absence is evidence. */
export async function detectProbeSupport(host: KernelHost, opts: ProbeSupportOptions = {}): Promise<ProbeSupport> {
  const release = await readRelease(host);
  const config = await readKernelConfig(host);
  const tracefs = await host.tracefsRoot();
  const pmus = new Set(await host.list('/sys/bus/event_source/devices'));
  const btfNames = await host.list('/sys/kernel/btf');
  const btfVmlinux = btfNames.includes('vmlinux');
  const btfModules = btfNames.filter((n) => n !== 'vmlinux');
  const tracepoints = await listTracepoints(host);
  const tpSet = new Set(tracepoints.map((t) => `${t.category}:${t.event}`));
  const kprobeEvents = tracefs ? await host.exists(`${tracefs}/kprobe_events`) : false;
  const uprobeEvents = tracefs ? await host.exists(`${tracefs}/uprobe_events`) : false;
  const functions = await readKernelFunctionNames(host, tracefs, opts.functionNames !== false);

  const evidence: ProbeEvidence = {
    config,
    tracefs,
    pmus,
    btfVmlinux,
    tracepointCount: tracepoints.length,
    kprobeEvents,
    uprobeEvents,
    filterFunctions: functions.list.filterFunctions,
    ftraceRefused: functions.ftraceRefused,
    bpftrace: opts.bpftrace,
  };
  const found: ProbeTypeFindings = {
    ...kprobeSupport(evidence),
    ...uprobeSupport(evidence),
    ...tracepointSupport(evidence),
    ...(await perfEventSupport(evidence, host)),
    ...kfuncSupport(evidence),
    ...iterSupport(evidence),
    ...selfSupport(evidence),
  };
  const types = {} as Record<ProbeType, ProbeTypeSupport>;
  for (const [t, s] of Object.entries(found) as [ProbeType, ProbeTypeSupport][]) types[t] = s;
  for (const t of PROBE_TYPES) if (!types[t]) types[t] = { available: false, reason: 'not checked' };

  const blacklist = types.kprobe.available ? await readKprobeBlacklist(host) : undefined;
  const functionNames = functions.names;
  const summary: ProbeSupportSummary = {
    release,
    configSource: config?.source,
    tracefs,
    btf: { vmlinux: btfVmlinux, modules: btfModules },
    types,
    kernelFunctions: functions.list,
    tracepointCount: tracepoints.length,
  };
  return {
    ...summary,
    config,
    isAvailable(type) {
      const c = canonicalProbeType(type);
      return c ? types[c].available : false;
    },
    reason(type) {
      const c = canonicalProbeType(type);
      return c ? types[c].reason : `unknown probe type '${type}'`;
    },
    hasTracepoint(category, event) {
      return tpSet.has(`${category}:${event}`);
    },
    hasKernelFunction(name) {
      return functionNames ? functionNames.has(name) : undefined;
    },
    isKprobeBlacklisted(name) {
      return blacklist && types.kprobe.available ? blacklist.has(name) : undefined;
    },
    toJSON() {
      return summary;
    },
  };
}
