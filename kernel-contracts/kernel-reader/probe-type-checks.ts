/**
 * One check per family of bpftrace probe types: from the evidence gathered about the kernel (its
 * config, tracefs, /sys/bus/event_source, BTF) and optionally bpftrace's own feature probe, whether
 * each type can attach, with the reason in words. Each returns the types it decides.
 */
import type { ProbeType } from '../probe-types.js';
import { bpftraceFeature, type BpftraceFeatures, type BpftraceVersion } from './bpftrace.js';
import type { KernelHost } from './host.js';
import type { KernelConfig } from './kernel-config.js';
import { configEnabled } from './kernel-config.js';
import type { KernelFunctionList } from './kernel-functions.js';

/** Availability of one probe type. */
export interface ProbeTypeSupport {
  readonly available: boolean;
  /** One line saying why, naming the evidence (`CONFIG_KPROBES is not set in /proc/config.gz`). */
  readonly reason: string;
}

export type ProbeTypeFindings = Partial<Record<ProbeType, ProbeTypeSupport>>;

/** What the checks look at, read once. */
export interface ProbeEvidence {
  readonly config: KernelConfig | undefined;
  readonly tracefs: string | undefined;
  /** Names under /sys/bus/event_source/devices. */
  readonly pmus: ReadonlySet<string>;
  readonly btfVmlinux: boolean;
  readonly tracepointCount: number;
  readonly kprobeEvents: boolean;
  readonly uprobeEvents: boolean;
  readonly filterFunctions: KernelFunctionList['filterFunctions'];
  /** Set when the kernel refuses function tracing itself. */
  readonly ftraceRefused: string | undefined;
  readonly bpftrace: { readonly version?: BpftraceVersion; readonly features?: BpftraceFeatures } | undefined;
}

/** bpftrace gained these probe types in these releases (from its changelog). */
const BPFTRACE_MIN_VERSION: Partial<Record<ProbeType, readonly [number, number]>> = {
  rawtracepoint: [0, 21],
  self: [0, 22],
};

const HARDWARE_PMU_RE = /^(cpu|cpu_core|cpu_atom|armv\d.*|arm_.*pmu.*|riscv-pmu.*|cpum_cf|power_pmu|thunder.*)$/;

function versionAtLeast(v: BpftraceVersion, min: readonly [number, number]): boolean {
  return v.major > min[0] || (v.major === min[0] && v.minor >= min[1]);
}

/** Config evidence: undefined when there is no config to ask. */
function cfg(e: ProbeEvidence, name: string): boolean | undefined {
  return configEnabled(e.config, name);
}

function cfgLine(e: ProbeEvidence, name: string): string {
  const src = e.config?.source ?? '';
  return cfg(e, name) ? `${name}=${e.config?.values.get(name)} in ${src}` : `${name} is not set in ${src}`;
}

/** kprobe / kretprobe: CONFIG_KPROBES (+ CONFIG_KPROBE_EVENTS for the perf PMU bpftrace uses). */
export function kprobeSupport(e: ProbeEvidence): ProbeTypeFindings {
  const evidence = `kprobe_events ${e.kprobeEvents ? 'present' : 'absent'} in tracefs, kprobe PMU ${e.pmus.has('kprobe') ? 'present' : 'absent'}`;
  let ok: boolean;
  let why: string;
  if (cfg(e, 'CONFIG_KPROBES') === false) {
    ok = false;
    why = `${cfgLine(e, 'CONFIG_KPROBES')} (${evidence})`;
  } else if (cfg(e, 'CONFIG_KPROBE_EVENTS') === false) {
    ok = false;
    why = `${cfgLine(e, 'CONFIG_KPROBE_EVENTS')} (${evidence})`;
  } else if (!e.kprobeEvents && !e.pmus.has('kprobe')) {
    ok = false;
    why = `${evidence}${e.config ? '' : '; no kernel config found'}`;
  } else {
    ok = true;
    why = e.config ? `${cfgLine(e, 'CONFIG_KPROBES')}; ${evidence}` : `${evidence} (no kernel config found)`;
  }
  if (ok && e.ftraceRefused === undefined && e.filterFunctions.readable === false && e.tracefs) {
    why += `; available_filter_functions not readable (${e.filterFunctions.error}), so targets cannot be listed`;
  }
  return { kprobe: { available: ok, reason: why }, kretprobe: { available: ok, reason: why } };
}

/** uprobe / uretprobe / usdt: CONFIG_UPROBE_EVENTS (uprobe PMU / uprobe_events); BEGIN and END ride on them. */
export function uprobeSupport(e: ProbeEvidence): ProbeTypeFindings {
  const evidence = `uprobe_events ${e.uprobeEvents ? 'present' : 'absent'} in tracefs, uprobe PMU ${e.pmus.has('uprobe') ? 'present' : 'absent'}`;
  let ok: boolean;
  let why: string;
  if (cfg(e, 'CONFIG_UPROBE_EVENTS') === false) {
    ok = false;
    why = `${cfgLine(e, 'CONFIG_UPROBE_EVENTS')} (${evidence})`;
  } else if (!e.uprobeEvents && !e.pmus.has('uprobe')) {
    ok = false;
    why = evidence;
  } else {
    ok = true;
    why = e.config ? `${cfgLine(e, 'CONFIG_UPROBE_EVENTS')}; ${evidence}` : evidence;
  }
  // bpftrace (0.17 as packaged by Debian) runs BEGIN/END as uprobes on its own binary.
  const be = ok ? `always available (bpftrace triggers them through a uprobe on itself; ${evidence})` : `needs uprobes: ${why}`;
  return {
    uprobe: { available: ok, reason: why },
    uretprobe: { available: ok, reason: why },
    usdt: { available: ok, reason: ok ? `${why}; USDT probes are uprobes on a binary's notes` : why },
    BEGIN: { available: ok, reason: be },
    END: { available: ok, reason: be },
  };
}

/** tracepoint / rawtracepoint: tracefs with events; raw ones also CONFIG_BPF_EVENTS and a bpftrace that has them. */
export function tracepointSupport(e: ProbeEvidence): ProbeTypeFindings {
  let ok: boolean;
  let why: string;
  if (cfg(e, 'CONFIG_TRACEPOINTS') === false) {
    ok = false;
    why = cfgLine(e, 'CONFIG_TRACEPOINTS');
  } else if (!e.tracefs) {
    ok = false;
    why = 'tracefs is not mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing';
  } else if (e.tracepointCount === 0) {
    ok = false;
    why = `no events under ${e.tracefs}/events`;
  } else {
    ok = true;
    why = `${e.tracepointCount} tracepoints under ${e.tracefs}/events`;
  }
  let rawOk = ok && cfg(e, 'CONFIG_BPF_EVENTS') !== false;
  let rawWhy = !ok ? why : rawOk ? `${why}; raw tracepoints via BPF_RAW_TRACEPOINT_OPEN` : cfgLine(e, 'CONFIG_BPF_EVENTS');
  const v = e.bpftrace?.version;
  const min = BPFTRACE_MIN_VERSION.rawtracepoint;
  if (rawOk && v && min && !versionAtLeast(v, min)) {
    rawOk = false;
    rawWhy = `bpftrace ${v.text} has no rawtracepoint probes (added in ${min.join('.')}); the kernel supports them`;
  }
  return { tracepoint: { available: ok, reason: why }, rawtracepoint: { available: rawOk, reason: rawWhy } };
}

/** perf-event based types: profile, interval, software, hardware, watchpoint, asyncwatchpoint. */
export async function perfEventSupport(e: ProbeEvidence, host: KernelHost): Promise<ProbeTypeFindings> {
  const perf = cfg(e, 'CONFIG_PERF_EVENTS');
  const pmus = e.pmus;
  const sw = pmus.has('software');
  let ok: boolean;
  let why: string;
  if (perf === false) {
    ok = false;
    why = cfgLine(e, 'CONFIG_PERF_EVENTS');
  } else if (!sw && pmus.size > 0) {
    ok = false;
    why = 'no software PMU in /sys/bus/event_source/devices';
  } else if (!sw && (await host.exists('/proc/sys/kernel/perf_event_paranoid')) === false) {
    ok = false;
    why = 'no perf events: /sys/bus/event_source/devices/software and /proc/sys/kernel/perf_event_paranoid absent';
  } else {
    ok = true;
    why = `perf software events (cpu-clock) present${perf ? `; ${cfgLine(e, 'CONFIG_PERF_EVENTS')}` : ''}`;
  }
  const software: ProbeTypeSupport = { available: ok, reason: why };
  const hwPmu = [...pmus].find((p) => HARDWARE_PMU_RE.test(p));
  const hardware: ProbeTypeSupport = !ok
    ? { available: false, reason: why }
    : hwPmu
      ? { available: true, reason: `hardware PMU '${hwPmu}' in /sys/bus/event_source/devices` }
      : {
          available: false,
          reason: `no hardware PMU in /sys/bus/event_source/devices (has: ${[...pmus].sort().join(', ') || 'nothing'}); typical of a VM without PMU passthrough`,
        };
  // Watchpoints are perf breakpoint events.
  const watchpoint: ProbeTypeSupport = !ok
    ? { available: false, reason: why }
    : cfg(e, 'CONFIG_HAVE_HW_BREAKPOINT') === false
      ? { available: false, reason: cfgLine(e, 'CONFIG_HAVE_HW_BREAKPOINT') }
      : pmus.size > 0 && !pmus.has('breakpoint')
        ? { available: false, reason: 'no breakpoint PMU in /sys/bus/event_source/devices' }
        : { available: true, reason: 'breakpoint PMU present in /sys/bus/event_source/devices' };
  return { profile: software, interval: software, software, hardware, watchpoint, asyncwatchpoint: watchpoint };
}

/** kfunc / kretfunc (fentry/fexit): BTF + BPF trampolines, which attach through ftrace direct calls. */
export function kfuncSupport(e: ProbeEvidence): ProbeTypeFindings {
  const missing: string[] = [];
  if (!e.btfVmlinux) missing.push('/sys/kernel/btf/vmlinux absent (no kernel BTF)');
  for (const c of ['CONFIG_BPF_SYSCALL', 'CONFIG_BPF_JIT', 'CONFIG_FUNCTION_TRACER', 'CONFIG_DYNAMIC_FTRACE', 'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS']) {
    if (cfg(e, c) === false) missing.push(cfgLine(e, c));
  }
  if (e.ftraceRefused) missing.push(`the kernel refuses ftrace function tracing (${e.ftraceRefused}); BPF trampolines attach through it`);
  const bt = bpftraceFeature(e.bpftrace?.features, 'fentry');
  // Named as this release prints it: `kfunc` in 0.17, `fentry` from 0.23.
  const btName = e.bpftrace?.features?.['fentry'] !== undefined ? 'fentry' : 'kfunc';
  if (bt === false) missing.push(`bpftrace --info reports ${btName}: no (its test fentry program failed)`);
  const ok = missing.length === 0;
  const why = ok
    ? `kernel BTF present${e.config ? `, ${cfgLine(e, 'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS')}` : ''}${bt === true ? `, bpftrace --info reports ${btName}: yes` : ''}`
    : missing.join('; ');
  return { kfunc: { available: ok, reason: why }, kretfunc: { available: ok, reason: why } };
}

/** iter: BPF iterators (tracing programs attached to bpf_iter targets). */
export function iterSupport(e: ProbeEvidence): ProbeTypeFindings {
  const missing: string[] = [];
  if (!e.btfVmlinux) missing.push('/sys/kernel/btf/vmlinux absent (no kernel BTF)');
  if (cfg(e, 'CONFIG_BPF_SYSCALL') === false) missing.push(cfgLine(e, 'CONFIG_BPF_SYSCALL'));
  const feats = e.bpftrace?.features;
  // `iter:task`, `iter:task_file` in 0.17; one `iter` from 0.23.
  const iterFeats = feats ? Object.entries(feats).filter(([k]) => k === 'iter' || k.startsWith('iter:')) : [];
  if (bpftraceFeature(feats, 'iter') === false) {
    missing.push(`bpftrace --info reports ${iterFeats.map(([k]) => `${k}: no`).join(', ')}`);
  }
  return { iter: { available: missing.length === 0, reason: missing.length === 0 ? 'kernel BTF present; BPF iterators available' : missing.join('; ') } };
}

/** self: a bpftrace feature, no kernel requirement. */
export function selfSupport(e: ProbeEvidence): ProbeTypeFindings {
  const v = e.bpftrace?.version;
  const min = BPFTRACE_MIN_VERSION.self ?? [0, 22];
  if (v && !versionAtLeast(v, min)) return { self: { available: false, reason: `bpftrace ${v.text} has no self probes (added in ${min.join('.')})` } };
  if (v) return { self: { available: true, reason: `bpftrace ${v.text} supports self probes` } };
  return { self: { available: false, reason: `self probes need bpftrace >= ${min.join('.')}; bpftrace version unknown` } };
}
