/**
 * A fake kernel for kernel-contracts tests: a directory laid out like a host (`/proc`, `/sys`,
 * `/boot`, tracefs), read through the kernel reader's `fixtureHost`. Tracepoint formats are
 * recorded from a Linux 6.18 host; BTF is the running host's `/sys/kernel/btf/vmlinux` when
 * present (tests that need it skip otherwise). The identity files can be rewritten to simulate
 * a kernel upgrade.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Recorded format files, keyed `category:event`. */
export const RECORDED_FORMATS: Readonly<Record<string, string>> = {
  "sock:inet_sock_set_state": "name: inet_sock_set_state\nID: 2287\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;\n\tfield:int newstate;\toffset:20;\tsize:4;\tsigned:1;\n\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;\n\tfield:__u16 dport;\toffset:26;\tsize:2;\tsigned:0;\n\tfield:__u16 family;\toffset:28;\tsize:2;\tsigned:0;\n\tfield:__u16 protocol;\toffset:30;\tsize:2;\tsigned:0;\n\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;\n\tfield:__u8 daddr[4];\toffset:36;\tsize:4;\tsigned:0;\n\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:__u8 daddr_v6[16];\toffset:56;\tsize:16;\tsigned:0;\n\nprint fmt: \"family=%s protocol=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c oldstate=%s newstate=%s\", __print_symbolic(REC->family, { 2, \"AF_INET\" }, { 10, \"AF_INET6\" }), __print_symbolic(REC->protocol, { 6, \"IPPROTO_TCP\" }, { 132, \"IPPROTO_SCTP\" }, { 262, \"IPPROTO_MPTCP\" }), REC->sport, REC->dport, REC->saddr, REC->daddr, REC->saddr_v6, REC->daddr_v6, __print_symbolic(REC->oldstate, { 1, \"TCP_ESTABLISHED\" }, { 2, \"TCP_SYN_SENT\" }, { 3, \"TCP_SYN_RECV\" }, { 4, \"TCP_FIN_WAIT1\" }, { 5, \"TCP_FIN_WAIT2\" }, { 6, \"TCP_TIME_WAIT\" }, { 7, \"TCP_CLOSE\" }, { 8, \"TCP_CLOSE_WAIT\" }, { 9, \"TCP_LAST_ACK\" }, { 10, \"TCP_LISTEN\" }, { 11, \"TCP_CLOSING\" }, { 12, \"TCP_NEW_SYN_RECV\" }), __print_symbolic(REC->newstate, { 1, \"TCP_ESTABLISHED\" }, { 2, \"TCP_SYN_SENT\" }, { 3, \"TCP_SYN_RECV\" }, { 4, \"TCP_FIN_WAIT1\" }, { 5, \"TCP_FIN_WAIT2\" }, { 6, \"TCP_TIME_WAIT\" }, { 7, \"TCP_CLOSE\" }, { 8, \"TCP_CLOSE_WAIT\" }, { 9, \"TCP_LAST_ACK\" }, { 10, \"TCP_LISTEN\" }, { 11, \"TCP_CLOSING\" }, { 12, \"TCP_NEW_SYN_RECV\" })\n",
  "syscalls:sys_enter_openat": "name: sys_enter_openat\nID: 782\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\nprint fmt: \"dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx\", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))\n",
  "sched:sched_process_exec": "name: sched_process_exec\nID: 365\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n\nprint fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, REC->old_pid\n",
  "tcp:tcp_retransmit_skb": "name: tcp_retransmit_skb\nID: 2281\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:const void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:const void * skaddr;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:int state;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:__u16 sport;\toffset:28;\tsize:2;\tsigned:0;\n\tfield:__u16 dport;\toffset:30;\tsize:2;\tsigned:0;\n\tfield:__u16 family;\toffset:32;\tsize:2;\tsigned:0;\n\tfield:__u8 saddr[4];\toffset:34;\tsize:4;\tsigned:0;\n\tfield:__u8 daddr[4];\toffset:38;\tsize:4;\tsigned:0;\n\tfield:__u8 saddr_v6[16];\toffset:42;\tsize:16;\tsigned:0;\n\tfield:__u8 daddr_v6[16];\toffset:58;\tsize:16;\tsigned:0;\n\tfield:int err;\toffset:76;\tsize:4;\tsigned:1;\n\nprint fmt: \"skbaddr=%p skaddr=%p family=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c state=%s err=%d\", REC->skbaddr, REC->skaddr, __print_symbolic(REC->family, { 2, \"AF_INET\" }, { 10, \"AF_INET6\" }), REC->sport, REC->dport, REC->saddr, REC->daddr, REC->saddr_v6, REC->daddr_v6, __print_symbolic(REC->state, { TCP_ESTABLISHED, \"TCP_ESTABLISHED\" }, { TCP_SYN_SENT, \"TCP_SYN_SENT\" }, { TCP_SYN_RECV, \"TCP_SYN_RECV\" }, { TCP_FIN_WAIT1, \"TCP_FIN_WAIT1\" }, { TCP_FIN_WAIT2, \"TCP_FIN_WAIT2\" }, { TCP_TIME_WAIT, \"TCP_TIME_WAIT\" }, { TCP_CLOSE, \"TCP_CLOSE\" }, { TCP_CLOSE_WAIT, \"TCP_CLOSE_WAIT\" }, { TCP_LAST_ACK, \"TCP_LAST_ACK\" }, { TCP_LISTEN, \"TCP_LISTEN\" }, { TCP_CLOSING, \"TCP_CLOSING\" }, { TCP_NEW_SYN_RECV, \"TCP_NEW_SYN_RECV\" }), REC->err\n",
  "net:net_dev_xmit": "name: net_dev_xmit\nID: 2306\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:unsigned int len;\toffset:16;\tsize:4;\tsigned:0;\n\tfield:int rc;\toffset:20;\tsize:4;\tsigned:1;\n\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n\nprint fmt: \"dev=%s skbaddr=%p len=%u rc=%d\", __get_str(name), REC->skbaddr, REC->len, REC->rc\n"
};

const BASE_CONFIG = [
  'CONFIG_TRACEPOINTS=y',
  'CONFIG_BPF_EVENTS=y',
  'CONFIG_PERF_EVENTS=y',
  'CONFIG_UPROBE_EVENTS=y',
  'CONFIG_BPF_SYSCALL=y',
  'CONFIG_BPF_JIT=y',
  'CONFIG_DEBUG_INFO_BTF=y',
  '# CONFIG_FUNCTION_TRACER is not set',
  '',
].join('\n');

export const REAL_BTF = '/sys/kernel/btf/vmlinux';
export const HAVE_REAL_BTF = fs.existsSync(REAL_BTF);

export interface FakeKernel {
  readonly root: string;
  /** Rewrites release/version (a different kernel identity). */
  setRelease(release: string, version?: string): void;
  /** Adds a tracepoint format. */
  addTracepoint(category: string, event: string, format: string): void;
  remove(): void;
}

/** Creates a fake kernel in a temp dir. `btf: true` copies the host's vmlinux BTF. */
export function makeFakeKernel(opts: { release?: string; btf?: boolean; formats?: Readonly<Record<string, string>>; kprobes?: boolean } = {}): FakeKernel {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kgent-fake-kernel-'));
  const w = (p: string, data: string | Buffer): void => {
    const full = path.join(root, p);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, data);
  };
  const events: string[] = [];
  const setRelease = (release: string, version = '#1 SMP PREEMPT_DYNAMIC fake'): void => {
    w('proc/sys/kernel/osrelease', `${release}\n`);
    w('proc/sys/kernel/version', `${version}\n`);
    w('proc/version', `Linux version ${release} (fake@kgent) (gcc) ${version}\n`);
    w(`boot/config-${release}`, (opts.kprobes ? 'CONFIG_KPROBES=y\nCONFIG_KPROBE_EVENTS=y\n' : '# CONFIG_KPROBES is not set\n') + BASE_CONFIG);
  };
  const addTracepoint = (category: string, event: string, format: string): void => {
    w(`sys/kernel/tracing/events/${category}/${event}/format`, format);
    events.push(`${category}:${event}`);
    w('sys/kernel/tracing/available_events', events.join('\n') + '\n');
  };
  setRelease(opts.release ?? '6.18.0-fake');
  for (const [k, v] of Object.entries(opts.formats ?? RECORDED_FORMATS)) {
    const [c, e] = k.split(':') as [string, string];
    addTracepoint(c, e, v);
  }
  if (opts.btf && HAVE_REAL_BTF) w('sys/kernel/btf/vmlinux', fs.readFileSync(REAL_BTF));
  return { root, setRelease, addTracepoint, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
