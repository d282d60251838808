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
import { configEnabled, readKernelConfig } from './kernel-config.js';
import { listTracepoints } from './tracepoint-format.js';

/** Availability of one probe type. */
export interface ProbeTypeSupport {
  readonly available: boolean;
  /** One line saying why, naming the evidence (`CONFIG_KPROBES is not set in /proc/config.gz`). */
  readonly reason: string;
}

/** What is known about kernel function names (for kprobe targets). */
export interface KernelFunctionList {
  /** Where names come from: ftrace's list of traceable functions, kallsyms, or nothing. */
  readonly source: 'available_filter_functions' | '/proc/kallsyms' | 'none';
  /** Number of distinct names known. */
  readonly count: number;
  /** available_filter_functions: readable, and when not, why (`EPERM: operation not permitted`). */
  readonly filterFunctions: { readonly readable: boolean; readonly count?: number; readonly error?: string };
}

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

/** bpftrace gained these probe types in these releases (from its changelog). */
const BPFTRACE_MIN_VERSION: Partial<Record<ProbeType, readonly [number, number]>> = {
  rawtracepoint: [0, 21],
  self: [0, 22],
};

const HARDWARE_PMU_RE = /^(cpu|cpu_core|cpu_atom|armv\d.*|arm_.*pmu.*|riscv-pmu.*|cpum_cf|power_pmu|thunder.*)$/;

function versionAtLeast(v: BpftraceVersion, min: readonly [number, number]): boolean {
  return v.major > min[0] || (v.major === min[0] && v.minor >= min[1]);
}

/** Detects probe support on the host. Never throws for a missing file: absence is evidence. */
export async function detectProbeSupport(host: KernelHost, opts: ProbeSupportOptions = {}): Promise<ProbeSupport> {
  const release = await readRelease(host);
  const config = await readKernelConfig(host);
  const tracefs = await host.tracefsRoot();
  const cfgSrc = config?.source ?? '';
  const pmus = new Set(await host.list('/sys/bus/event_source/devices'));
  const btfNames = await host.list('/sys/kernel/btf');
  const btfVmlinux = btfNames.includes('vmlinux');
  const btfModules = btfNames.filter((n) => n !== 'vmlinux');

  // Config evidence: undefined when there is no config to ask.
  const cfg = (name: string): boolean | undefined => configEnabled(config, name);
  const cfgLine = (name: string): string =>
    cfg(name) ? `${name}=${config?.values.get(name)} in ${cfgSrc}` : `${name} is not set in ${cfgSrc}`;

  const tracepoints = await listTracepoints(host);
  const tpSet = new Set(tracepoints.map((t) => `${t.category}:${t.event}`));

  const kprobeEvents = tracefs ? await host.exists(`${tracefs}/kprobe_events`) : false;
  const uprobeEvents = tracefs ? await host.exists(`${tracefs}/uprobe_events`) : false;

  // Kernel function names.
  let filterFunctions: KernelFunctionList['filterFunctions'] = { readable: false, error: 'tracefs not mounted' };
  let functionNames: Set<string> | undefined;
  let functionSource: KernelFunctionList['source'] = 'none';
  let ftraceRefused: string | undefined;
  if (tracefs) {
    const r = await host.tryRead(`${tracefs}/available_filter_functions`);
    if (r.ok) {
      const names = new Set<string>();
      for (const line of r.data.toString('utf8').split('\n')) {
        const sp = line.indexOf(' ');
        const n = sp < 0 ? line.trim() : line.slice(0, sp);
        if (n) names.add(n);
      }
      filterFunctions = { readable: true, count: names.size };
      if (opts.functionNames !== false) {
        functionNames = names;
        functionSource = 'available_filter_functions';
      }
    } else {
      filterFunctions = { readable: false, error: `${r.code}: ${errnoText(r.code)}` };
      // EPERM/ENODEV mean the kernel refuses function tracing itself (lockdown, ftrace disabled);
      // EACCES/ENOENT only mean we cannot see the list.
      if (r.code === 'EPERM' || r.code === 'ENODEV') ftraceRefused = `${tracefs}/available_filter_functions: ${filterFunctions.error}`;
    }
  }
  if (!functionNames && opts.functionNames !== false) {
    const ks = await host.readText('/proc/kallsyms');
    if (ks !== undefined) {
      const names = new Set<string>();
      // "ffffffff81000000 T name\t[module]" lines; scanned in place (5 MB, ~190k lines).
      let pos = 0;
      while (pos < ks.length) {
        let eol = ks.indexOf('\n', pos);
        if (eol < 0) eol = ks.length;
        const a = ks.indexOf(' ', pos);
        if (a >= 0 && a + 3 < eol) {
          const t = ks.charCodeAt(a + 1);
          // 'T' or 't': text (function) symbols.
          if ((t === 84 || t === 116) && ks.charCodeAt(a + 2) === 32) {
            // Search for the tab within this line only: an unbounded indexOf would scan the file.
            const rest = ks.slice(a + 3, eol);
            const tab = rest.indexOf('\t');
            const n = tab >= 0 ? rest.slice(0, tab) : rest;
            if (n) names.add(n);
          }
        }
        pos = eol + 1;
      }
      if (names.size > 0) {
        functionNames = names;
        functionSource = '/proc/kallsyms';
      }
    }
  }
  const kernelFunctions: KernelFunctionList = { source: functionSource, count: functionNames?.size ?? 0, filterFunctions };

  const types = {} as Record<ProbeType, ProbeTypeSupport>;
  const set = (t: ProbeType, available: boolean, reason: string): void => {
    types[t] = { available, reason };
  };

  // kprobe / kretprobe: CONFIG_KPROBES (+ CONFIG_KPROBE_EVENTS for the perf PMU bpftrace uses).
  {
    const evidence = `kprobe_events ${kprobeEvents ? 'present' : 'absent'} in tracefs, kprobe PMU ${pmus.has('kprobe') ? 'present' : 'absent'}`;
    let ok: boolean;
    let why: string;
    if (cfg('CONFIG_KPROBES') === false) {
      ok = false;
      why = `${cfgLine('CONFIG_KPROBES')} (${evidence})`;
    } else if (cfg('CONFIG_KPROBE_EVENTS') === false) {
      ok = false;
      why = `${cfgLine('CONFIG_KPROBE_EVENTS')} (${evidence})`;
    } else if (!kprobeEvents && !pmus.has('kprobe')) {
      ok = false;
      why = `${evidence}${config ? '' : '; no kernel config found'}`;
    } else {
      ok = true;
      why = config ? `${cfgLine('CONFIG_KPROBES')}; ${evidence}` : `${evidence} (no kernel config found)`;
    }
    if (ok && ftraceRefused === undefined && filterFunctions.readable === false && tracefs) {
      why += `; available_filter_functions not readable (${filterFunctions.error}), so targets cannot be listed`;
    }
    set('kprobe', ok, why);
    set('kretprobe', ok, why);
  }

  // uprobe / uretprobe / usdt: CONFIG_UPROBE_EVENTS (uprobe PMU / uprobe_events).
  {
    const evidence = `uprobe_events ${uprobeEvents ? 'present' : 'absent'} in tracefs, uprobe PMU ${pmus.has('uprobe') ? 'present' : 'absent'}`;
    let ok: boolean;
    let why: string;
    if (cfg('CONFIG_UPROBE_EVENTS') === false) {
      ok = false;
      why = `${cfgLine('CONFIG_UPROBE_EVENTS')} (${evidence})`;
    } else if (!uprobeEvents && !pmus.has('uprobe')) {
      ok = false;
      why = evidence;
    } else {
      ok = true;
      why = config ? `${cfgLine('CONFIG_UPROBE_EVENTS')}; ${evidence}` : evidence;
    }
    set('uprobe', ok, why);
    set('uretprobe', ok, why);
    set('usdt', ok, ok ? `${why}; USDT probes are uprobes on a binary's notes` : why);
    // bpftrace (0.17 as packaged by Debian) runs BEGIN/END as uprobes on its own binary.
    const be = ok ? `always available (bpftrace triggers them through a uprobe on itself; ${evidence})` : `needs uprobes: ${why}`;
    set('BEGIN', ok, be);
    set('END', ok, be);
  }

  // tracepoint / rawtracepoint.
  {
    let ok: boolean;
    let why: string;
    if (cfg('CONFIG_TRACEPOINTS') === false) {
      ok = false;
      why = cfgLine('CONFIG_TRACEPOINTS');
    } else if (!tracefs) {
      ok = false;
      why = 'tracefs is not mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing';
    } else if (tracepoints.length === 0) {
      ok = false;
      why = `no events under ${tracefs}/events`;
    } else {
      ok = true;
      why = `${tracepoints.length} tracepoints under ${tracefs}/events`;
    }
    set('tracepoint', ok, why);
    let rawOk = ok && cfg('CONFIG_BPF_EVENTS') !== false;
    let rawWhy = !ok ? why : rawOk ? `${why}; raw tracepoints via BPF_RAW_TRACEPOINT_OPEN` : cfgLine('CONFIG_BPF_EVENTS');
    const v = opts.bpftrace?.version;
    const min = BPFTRACE_MIN_VERSION.rawtracepoint;
    if (rawOk && v && min && !versionAtLeast(v, min)) {
      rawOk = false;
      rawWhy = `bpftrace ${v.text} has no rawtracepoint probes (added in ${min.join('.')}); the kernel supports them`;
    }
    set('rawtracepoint', rawOk, rawWhy);
  }

  // perf-event based types.
  {
    const perf = cfg('CONFIG_PERF_EVENTS');
    const sw = pmus.has('software');
    let ok: boolean;
    let why: string;
    if (perf === false) {
      ok = false;
      why = cfgLine('CONFIG_PERF_EVENTS');
    } else if (!sw && pmus.size > 0) {
      ok = false;
      why = 'no software PMU in /sys/bus/event_source/devices';
    } else if (!sw && (await host.exists('/proc/sys/kernel/perf_event_paranoid')) === false) {
      ok = false;
      why = 'no perf events: /sys/bus/event_source/devices/software and /proc/sys/kernel/perf_event_paranoid absent';
    } else {
      ok = true;
      why = `perf software events (cpu-clock) present${perf ? `; ${cfgLine('CONFIG_PERF_EVENTS')}` : ''}`;
    }
    set('profile', ok, why);
    set('interval', ok, why);
    set('software', ok, why);
    const hwPmu = [...pmus].find((p) => HARDWARE_PMU_RE.test(p));
    if (!ok) set('hardware', false, why);
    else if (hwPmu) set('hardware', true, `hardware PMU '${hwPmu}' in /sys/bus/event_source/devices`);
    else
      set(
        'hardware',
        false,
        `no hardware PMU in /sys/bus/event_source/devices (has: ${[...pmus].sort().join(', ') || 'nothing'}); typical of a VM without PMU passthrough`,
      );
    // Watchpoints are perf breakpoint events.
    if (!ok) {
      set('watchpoint', false, why);
    } else if (cfg('CONFIG_HAVE_HW_BREAKPOINT') === false) {
      set('watchpoint', false, cfgLine('CONFIG_HAVE_HW_BREAKPOINT'));
    } else if (pmus.size > 0 && !pmus.has('breakpoint')) {
      set('watchpoint', false, 'no breakpoint PMU in /sys/bus/event_source/devices');
    } else {
      set('watchpoint', true, 'breakpoint PMU present in /sys/bus/event_source/devices');
    }
    set('asyncwatchpoint', types.watchpoint.available, types.watchpoint.reason);
  }

  // kfunc / kretfunc (fentry/fexit): BTF + BPF trampolines, which attach through ftrace direct calls.
  const feats = opts.bpftrace?.features;
  {
    const missing: string[] = [];
    if (!btfVmlinux) missing.push('/sys/kernel/btf/vmlinux absent (no kernel BTF)');
    for (const c of ['CONFIG_BPF_SYSCALL', 'CONFIG_BPF_JIT', 'CONFIG_FUNCTION_TRACER', 'CONFIG_DYNAMIC_FTRACE', 'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS']) {
      if (cfg(c) === false) missing.push(cfgLine(c));
    }
    if (ftraceRefused) missing.push(`the kernel refuses ftrace function tracing (${ftraceRefused}); BPF trampolines attach through it`);
    const bt = feats?.['kfunc'];
    if (bt === false) missing.push('bpftrace --info reports kfunc: no (its test fentry program failed)');
    const ok = missing.length === 0;
    const why = ok
      ? `kernel BTF present${config ? `, ${cfgLine('CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS')}` : ''}${bt === true ? ', bpftrace --info reports kfunc: yes' : ''}`
      : missing.join('; ');
    set('kfunc', ok, why);
    set('kretfunc', ok, why);
  }

  // iter: BPF iterators (tracing programs attached to bpf_iter targets).
  {
    const missing: string[] = [];
    if (!btfVmlinux) missing.push('/sys/kernel/btf/vmlinux absent (no kernel BTF)');
    if (cfg('CONFIG_BPF_SYSCALL') === false) missing.push(cfgLine('CONFIG_BPF_SYSCALL'));
    const iterFeats = feats ? Object.entries(feats).filter(([k]) => k.startsWith('iter:')) : [];
    if (iterFeats.length > 0 && iterFeats.every(([, v]) => v === false)) {
      missing.push(`bpftrace --info reports ${iterFeats.map(([k]) => `${k}: no`).join(', ')}`);
    }
    set('iter', missing.length === 0, missing.length === 0 ? 'kernel BTF present; BPF iterators available' : missing.join('; '));
  }

  // self: a bpftrace feature, no kernel requirement.
  {
    const v = opts.bpftrace?.version;
    const min = BPFTRACE_MIN_VERSION.self ?? [0, 22];
    if (v && !versionAtLeast(v, min)) set('self', false, `bpftrace ${v.text} has no self probes (added in ${min.join('.')})`);
    else if (v) set('self', true, `bpftrace ${v.text} supports self probes`);
    else set('self', false, `self probes need bpftrace >= ${min.join('.')}; bpftrace version unknown`);
  }

  for (const t of PROBE_TYPES) if (!types[t]) set(t, false, 'not checked');

  // Functions kprobes refuse: "0xstart-0xend\tname" lines.
  let blacklist: Set<string> | undefined;
  if (types.kprobe.available) {
    const bl = await host.readText('/sys/kernel/debug/kprobes/blacklist');
    if (bl !== undefined) {
      blacklist = new Set();
      for (const line of bl.split('\n')) {
        const n = line.split('\t')[1]?.trim();
        if (n) blacklist.add(n);
      }
    }
  }
  const summary: ProbeSupportSummary = {
    release,
    configSource: config?.source,
    tracefs,
    btf: { vmlinux: btfVmlinux, modules: btfModules },
    types,
    kernelFunctions,
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

function errnoText(code: string): string {
  switch (code) {
    case 'EPERM':
      return 'operation not permitted';
    case 'EACCES':
      return 'permission denied';
    case 'ENOENT':
      return 'no such file';
    case 'ENODEV':
      return 'no such device (ftrace disabled)';
    default:
      return code;
  }
}
