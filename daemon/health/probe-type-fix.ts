/**
 * What would make an unavailable bpftrace probe type available on this host, for `kgentctl doctor`;
 * `undefined` when nothing a sysadmin can change would (the check then says so instead of a fix).
 * The kernel options are the ones kernel-contracts/kernel-reader/probe-support.ts reads as evidence
 * (kernel/trace/Kconfig, kernel/events/Kconfig); the bpftrace versions are its minimums.
 */
import type { ProbeType } from '../../kernel-contracts/probe-types.js';

export function probeTypeFix(type: ProbeType, reason: string): string | undefined {
  // Too old a bpftrace: a newer bpftrace, not a kernel, enables it.
  const added = /added in (\d+\.\d+)/.exec(reason);
  if (added && /^bpftrace /.test(reason)) return `install bpftrace ${added[1]} or later (the kernel already supports it)`;
  switch (type) {
    case 'kprobe':
    case 'kretprobe':
      return 'boot a kernel built with CONFIG_KPROBES=y and CONFIG_KPROBE_EVENTS=y; until then kgent uses tracepoints';
    case 'uprobe':
    case 'uretprobe':
    case 'usdt':
    case 'BEGIN':
    case 'END':
      return 'boot a kernel built with CONFIG_UPROBE_EVENTS=y';
    case 'tracepoint':
      return /not mounted/.test(reason)
        ? 'mount -t tracefs nodev /sys/kernel/tracing (systemd mounts it at boot)'
        : 'boot a kernel built with CONFIG_TRACEPOINTS=y';
    case 'rawtracepoint':
      return 'boot a kernel built with CONFIG_BPF_EVENTS=y';
    case 'profile':
    case 'interval':
    case 'software':
      return 'boot a kernel built with CONFIG_PERF_EVENTS=y';
    case 'hardware':
      return /VM|virtual/i.test(reason)
        ? 'pass the CPU performance counters through to this VM (e.g. QEMU/KVM -cpu host with vPMU on); none inside the guest'
        : 'none from software: it needs a CPU whose performance counters the kernel drives (a hardware PMU)';
    case 'watchpoint':
    case 'asyncwatchpoint':
      return 'boot a kernel built with CONFIG_HAVE_HW_BREAKPOINT=y on a CPU with debug registers';
    case 'kfunc':
    case 'kretfunc':
      if (/refuses ftrace/.test(reason)) return 'allow ftrace function tracing (kernel lockdown or a sandbox refuses /sys/kernel/tracing/available_filter_functions); BPF trampolines attach through it';
      if (/bpftrace --info/.test(reason)) return 'none known: bpftrace itself reports kfunc support broken here; a newer bpftrace may fix it';
      return 'boot a kernel built with CONFIG_DEBUG_INFO_BTF=y and CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y';
    case 'iter':
      if (/bpftrace --info/.test(reason) && !/BTF|CONFIG_/.test(reason)) return 'none known: bpftrace itself reports its test iterator failing here; a newer bpftrace may fix it';
      return 'boot a kernel built with CONFIG_DEBUG_INFO_BTF=y and CONFIG_BPF_SYSCALL=y';
    default:
      return undefined;
  }
}
