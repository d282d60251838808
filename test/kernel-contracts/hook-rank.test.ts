/**
 * The pieces of hook search without an embedding model: the request's vocabulary (stems,
 * syscalls, subsystems, result words, named hooks) and the ranker that sums the evidence. Pure;
 * a small table of hooks stands in for a kernel's (exists()).
 */
import t from 'tap';
import { contractIdOf, rankHooks } from '../../kernel-contracts/search/hook-rank.js';
import { requestTerms, stem } from '../../kernel-contracts/search/request-terms.js';

const SYSCALLS = new Set(['connect', 'accept4', 'accept', 'openat', 'open', 'openat2', 'read', 'write', 'clone', 'clone3', 'fork', 'vfork', 'execve', 'time', 'unlinkat', 'fsync', 'exit_group', 'kill', 'tgkill', 'mmap']);
const isSyscall = (n: string): boolean => SYSCALLS.has(n);

t.test('stem: the forms of a word meet', async (t) => {
  const groups: string[][] = [
    ['open', 'opens', 'opened', 'opening'],
    ['connect', 'connects', 'connected', 'connecting'],
    ['fork', 'forks', 'forked', 'forking'],
    ['kill', 'kills', 'killed', 'killing'],
    ['create', 'creates', 'created', 'creating'],
    ['process', 'processes'],
    ['send', 'sent', 'sends'],
  ];
  for (const g of groups) t.same(new Set(g.map(stem)).size, 1, g.join(' '));
});

t.test('requestTerms: syscalls, hooks and subsystems a request implies', async (t) => {
  const cases: { text: string; syscall?: string; hook?: string; category?: string; notSyscall?: string; result?: boolean }[] = [
    { text: 'trace tcp connects with ports in host byte order', syscall: 'connect', hook: 'tracepoint:sock:inet_sock_set_state', category: 'tcp', result: false },
    { text: 'count file opens per process', syscall: 'openat' },
    { text: 'which processes fork', syscall: 'clone', hook: 'tracepoint:sched:sched_process_fork' },
    { text: 'disk I/O per device', hook: 'tracepoint:block:block_rq_issue', category: 'block' },
    { text: 'show context switches', hook: 'tracepoint:sched:sched_switch' },
    { text: 'who sends SIGKILL', syscall: 'kill', hook: 'tracepoint:signal:signal_generate' },
    { text: 'calls of clone3 by pid', syscall: 'clone3' },
    { text: 'errors returned by openat', syscall: 'openat', result: true },
    { text: 'how long does fsync take', syscall: 'fsync', result: true },
    // "time" is a syscall but here an ordinary word; named as a call it counts.
    { text: 'time spent in fsync', notSyscall: 'time', result: true },
    { text: 'who calls time()', syscall: 'time' },
    // A syscall this kernel lacks is never proposed.
    { text: 'calls of frobnicate', notSyscall: 'frobnicate' },
  ];
  for (const c of cases) {
    const r = requestTerms(c.text, isSyscall);
    if (c.syscall) t.ok(r.syscalls.some((s) => s.id === c.syscall), `${c.text}: syscall ${c.syscall} in ${r.syscalls.map((s) => s.id)}`);
    if (c.notSyscall) t.notOk(r.syscalls.some((s) => s.id === c.notSyscall), `${c.text}: not ${c.notSyscall}`);
    if (c.hook) t.ok(r.hooks.some((h) => h.id === c.hook), `${c.text}: hook ${c.hook}`);
    if (c.category) t.ok(r.categories.has(c.category), `${c.text}: category ${c.category}`);
    if (c.result !== undefined) t.equal(r.wantsResult, c.result, `${c.text}: wants result`);
  }
});

t.test('requestTerms: filler is dropped from the full-text query, named hooks kept', async (t) => {
  const r = requestTerms('trace tcp connects with ports in host byte order', isSyscall);
  for (const w of ['trace', 'host', 'order', 'with']) t.notOk(r.query.split(' ').includes(w), `no "${w}" in "${r.query}"`);
  t.ok(r.query.includes('tcp'));
  const n = requestTerms('attach to tracepoint:sched:sched_switch and kprobe:tcp_v4_connect', isSyscall);
  t.same(n.namedTracepoints, ['sched:sched_switch']);
  t.ok(n.names.includes('tcp_v4_connect'));
  t.notOk(n.namedTracepoints.some((x) => x.startsWith('kprobe')), 'kprobe:x is not a tracepoint');
});

t.test('contractIdOf: attach points as examples write them', async (t) => {
  const cases: [string, string | undefined][] = [
    ['tracepoint:sock:inet_sock_set_state', 'tracepoint:sock:inet_sock_set_state'],
    ['t:sched:sched_switch', 'tracepoint:sched:sched_switch'],
    ['kprobe:tcp_connect', 'function:tcp_connect'],
    ['kretprobe:vfs_read', 'function:vfs_read'],
    ['kfunc:ext4:ext4_sync_file', 'function:ext4_sync_file'],
    ['tracepoint:syscalls:sys_enter_open*', undefined],
    ['interval:s:1', undefined],
    ['uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc', undefined],
  ];
  for (const [ap, id] of cases) t.equal(contractIdOf(ap), id, ap);
});

/** A kernel of a few hooks; functions exist but only tracepoints pass the caller's filter when `attachableOnly`. */
const KERNEL = new Set([
  'tracepoint:sock:inet_sock_set_state',
  'tracepoint:syscalls:sys_enter_connect',
  'tracepoint:syscalls:sys_exit_connect',
  'tracepoint:tcp:tcp_send_reset',
  'tracepoint:skb:kfree_skb',
  'tracepoint:btrfs:btrfs_fail_all_tickets',
  'tracepoint:syscalls:sys_enter_openat',
  'tracepoint:syscalls:sys_exit_openat',
  'tracepoint:sched:sched_process_fork',
  'tracepoint:sched:sched_process_exec',
  'function:tcp_connect',
  'function:tcp_v4_connect',
]);

t.test('rankHooks: evidence beats stray full-text matches', async (t) => {
  // Full text alone ranked these for the connect request (what the issue saw).
  const noisy = [
    { id: 'tracepoint:btrfs:btrfs_fail_all_tickets', score: 11.6 },
    { id: 'tracepoint:tcp:tcp_send_reset', score: 8.4 },
    { id: 'tracepoint:skb:kfree_skb', score: 8 },
    { id: 'tracepoint:syscalls:sys_exit_connect', score: 7 },
  ];
  const cases: { text: string; fullText?: typeof noisy; hints?: string[]; attachableOnly?: boolean; top: string; notIn?: string }[] = [
    { text: 'trace tcp connects with ports in host byte order', fullText: noisy, top: 'tracepoint:sock:inet_sock_set_state', notIn: 'tracepoint:btrfs:btrfs_fail_all_tickets' },
    { text: 'which programs call connect()', top: 'tracepoint:syscalls:sys_enter_connect' },
    { text: 'connect calls that fail, with the error', top: 'tracepoint:syscalls:sys_exit_connect' },
    { text: 'count file opens per process', top: 'tracepoint:syscalls:sys_enter_openat' },
    // The hooks of the best example are strong evidence even when the words say little.
    { text: 'what does my web server do', hints: ['tracepoint:sched:sched_process_exec'], top: 'tracepoint:sched:sched_process_exec' },
    // A hook named in the request comes first.
    { text: 'use tcp_v4_connect to see connects', top: 'function:tcp_v4_connect' },
    // Tracepoints before functions of the same evidence (both from examples).
    { text: 'anything', hints: ['kprobe:tcp_connect', 'tracepoint:sock:inet_sock_set_state'], top: 'tracepoint:sock:inet_sock_set_state' },
    // A hint that cannot attach is dropped (exists() is the caller's filter).
    { text: 'anything', hints: ['kprobe:tcp_connect'], attachableOnly: true, top: '', notIn: 'function:tcp_connect' },
  ];
  for (const c of cases) {
    const exists = (id: string): boolean => KERNEL.has(id) && (!c.attachableOnly || id.startsWith('tracepoint:'));
    const ranked = rankHooks({ terms: requestTerms(c.text, isSyscall), fullText: c.fullText ?? [], ...(c.hints ? { hints: c.hints } : {}), exists }, 5);
    const ids = ranked.map((r) => r.id);
    t.equal(ids[0] ?? '', c.top, `${c.text}: ${ids.join(', ')}`);
    if (c.notIn) t.notOk(ids.slice(0, 3).includes(c.notIn), `${c.text}: ${c.notIn} not in the top 3`);
  }
});

t.test('rankHooks: never a hook this kernel lacks, never more than k, why told', async (t) => {
  const ranked = rankHooks({ terms: requestTerms('trace tcp connects', isSyscall), fullText: [{ id: 'tracepoint:gone:gone', score: 50 }], hints: ['tracepoint:nowhere:here'], exists: (id) => KERNEL.has(id) }, 2);
  t.equal(ranked.length, 2);
  for (const r of ranked) t.ok(KERNEL.has(r.id), r.id);
  t.ok(ranked[0]!.why.includes('vocabulary') || ranked[0]!.why.includes('syscall'));
});
