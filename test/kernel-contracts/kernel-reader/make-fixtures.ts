/**
 * Regenerates test/fixtures/kernel-contracts/host/ (two recorded kernels) from this machine and
 * the BTF builder. Run from the repo root:
 *   TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import test/kernel-contracts/kernel-reader/make-fixtures.ts --write
 * (without --write it does nothing, so a test runner given this directory cannot rewrite fixtures).
 * Format files are copied from the live tracefs when present (the recorded ones are kept otherwise).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildFixtureBtf } from './btf-builder.js';

const root = path.resolve('test/fixtures/kernel-contracts/host');
if (!process.argv.includes('--write')) {
  console.log('make-fixtures: pass --write to regenerate test/fixtures/kernel-contracts/host');
  process.exit(0);
}

const EVENTS = [
  'sock/inet_sock_set_state',
  'syscalls/sys_enter_openat',
  'syscalls/sys_exit_read',
  'sched/sched_switch',
  'sched/sched_process_exec',
  'tcp/tcp_retransmit_skb',
  'irq/irq_handler_entry',
  'raw_syscalls/sys_enter',
  'skb/kfree_skb',
  'block/block_rq_issue',
  'ftrace/function',
];

function put(rel: string, data: string | Buffer): void {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, data);
}

function copyEvents(tracefsRel: string, events: string[]): void {
  for (const e of events) {
    const src = `/sys/kernel/tracing/events/${e}/format`;
    if (!existsSync(src)) continue;
    put(path.join(tracefsRel, 'events', e, 'format'), readFileSync(src));
  }
}

const CONFIG_OFF = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.18.44 Kernel Configuration
#
CONFIG_BPF_SYSCALL=y
CONFIG_BPF_JIT=y
CONFIG_HAVE_KPROBES=y
# CONFIG_KPROBES is not set
CONFIG_UPROBES=y
CONFIG_UPROBE_EVENTS=y
CONFIG_TRACEPOINTS=y
CONFIG_BPF_EVENTS=y
CONFIG_PERF_EVENTS=y
CONFIG_HAVE_HW_BREAKPOINT=y
CONFIG_FTRACE=y
CONFIG_FUNCTION_TRACER=y
CONFIG_DYNAMIC_FTRACE=y
CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y
CONFIG_DEBUG_INFO_BTF=y
CONFIG_LOCALVERSION="-fc-v782"
CONFIG_HZ=1000
`;

const CONFIG_ON = `CONFIG_BPF_SYSCALL=y
CONFIG_BPF_JIT=y
CONFIG_KPROBES=y
CONFIG_KPROBE_EVENTS=y
CONFIG_UPROBE_EVENTS=y
CONFIG_TRACEPOINTS=y
CONFIG_BPF_EVENTS=y
CONFIG_PERF_EVENTS=y
CONFIG_HAVE_HW_BREAKPOINT=y
CONFIG_FUNCTION_TRACER=y
CONFIG_DYNAMIC_FTRACE=y
CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y
# CONFIG_DEBUG_INFO_BTF is not set
`;

// kprobes-off: shaped like this machine (config in /proc/config.gz, tracefs at /sys/kernel/tracing,
// ftrace function files refused, no kprobe PMU, BTF for vmlinux and one module).
{
  const r = 'kprobes-off';
  rmSync(path.join(root, r), { recursive: true, force: true });
  put(`${r}/proc/version`, 'Linux version 6.18.44-fc-v782 (builder@sandboxing) (gcc (GCC) 15.3.0, GNU ld (GNU Binutils) 2.46) #1 SMP PREEMPT_DYNAMIC @0\n');
  put(`${r}/proc/sys/kernel/osrelease`, '6.18.44-fc-v782\n');
  put(`${r}/proc/sys/kernel/version`, '#1 SMP PREEMPT_DYNAMIC @0\n');
  put(`${r}/proc/sys/kernel/perf_event_paranoid`, '2\n');
  put(`${r}/proc/config.gz`, gzipSync(CONFIG_OFF));
  put(
    `${r}/proc/kallsyms`,
    ['ffffffff81000000 T _stext', 'ffffffff81a00000 T tcp_connect', 'ffffffff81a00100 t tcp_v4_connect', 'ffffffff81b00000 D jiffies', 'ffffffffc0000000 t fixmod_open\t[fixmod]', ''].join('\n'),
  );
  // sysfs files report size 0: read them, never copyFile.
  if (existsSync('/sys/kernel/notes')) put(`${r}/sys/kernel/notes`, readFileSync('/sys/kernel/notes'));
  const btf = buildFixtureBtf();
  put(`${r}/sys/kernel/btf/vmlinux`, btf.vmlinux);
  put(`${r}/sys/kernel/btf/fixmod`, btf.module);
  const tf = `${r}/sys/kernel/tracing`;
  put(`${tf}/uprobe_events`, '');
  put(`${tf}/available_filter_functions`, '');
  put(`${r}/.denied`, '/sys/kernel/tracing/available_filter_functions EPERM\n');
  copyEvents(tf, EVENTS);
  put(
    `${tf}/available_events`,
    EVENTS.filter((e) => !e.startsWith('ftrace/'))
      .map((e) => e.replace('/', ':'))
      .join('\n') + '\n',
  );
  for (const [d, t] of [['software', 1], ['tracepoint', 2], ['breakpoint', 5], ['uprobe', 7], ['msr', 9]] as const) {
    put(`${r}/sys/bus/event_source/devices/${d}/type`, `${t}\n`);
  }
}

// kprobes-on: a distro-like kernel (config in /boot, tracefs only under debugfs, kprobes, a CPU
// PMU, readable available_filter_functions, no BTF, no notes).
{
  const r = 'kprobes-on';
  rmSync(path.join(root, r), { recursive: true, force: true });
  put(`${r}/proc/version`, 'Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)\n');
  put(`${r}/proc/sys/kernel/osrelease`, '6.1.0-13-amd64\n');
  put(`${r}/proc/sys/kernel/version`, '#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)\n');
  put(`${r}/proc/sys/kernel/perf_event_paranoid`, '2\n');
  put(`${r}/boot/config-6.1.0-13-amd64`, CONFIG_ON);
  const tf = `${r}/sys/kernel/debug/tracing`;
  put(`${tf}/kprobe_events`, '');
  put(`${tf}/uprobe_events`, '');
  put(`${tf}/available_filter_functions`, ['tcp_connect', 'tcp_v4_connect', 'vfs_read', 'do_sys_openat2', 'ext4_file_open [ext4]', ''].join('\n'));
  copyEvents(tf, ['sock/inet_sock_set_state', 'syscalls/sys_enter_openat']);
  put(`${r}/sys/kernel/debug/kprobes/blacklist`, '0xffffffff81000000-0xffffffff81000100\tdo_int3\n0xffffffff81000200-0xffffffff81000300\tnotify_die\n');
  for (const [d, t] of [['software', 1], ['tracepoint', 2], ['breakpoint', 5], ['kprobe', 6], ['uprobe', 7], ['cpu', 4]] as const) {
    put(`${r}/sys/bus/event_source/devices/${d}/type`, `${t}\n`);
  }
}

console.log(`fixtures written under ${root}`);
