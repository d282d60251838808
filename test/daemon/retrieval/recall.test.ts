/**
 * Retrieval quality over the real dataset, full text alone (no embedding model): for each request
 * as a sysadmin would type it (worded differently from the example prompts), the example that
 * answers it -- or the hook such a program attaches to -- must be among the top 5. Prints
 * recall@5, the misses, and the timings of the dataset sync and of a query.
 *
 * `expect` is an example id (`area/slug`), a hook (`tracepoint:...`, `kprobe:...`), or a list of
 * them when either answers (the tracepoint and kprobe variants of one request).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadExamples } from '../../../datasets/load.js';
import { ExampleStore, type ExampleHit } from '../../../daemon/retrieval/example-store.js';

interface Row {
  readonly request: string;
  readonly expect: string | readonly string[];
}

export const RECALL_TABLE: readonly Row[] = [
  // files
  { request: 'who is opening files right now', expect: ['file/open-files', 'file/open-files-kprobe'] },
  { request: 'which process keeps deleting stuff in /tmp', expect: 'file/deleted-files' },
  { request: 'which program is moving files around (mv)', expect: 'file/renamed-files' },
  { request: 'alert me if someone modifies files in /etc', expect: 'file/etc-writes' },
  { request: 'how slow are fsyncs on this box', expect: 'file/fsync-latency' },
  { request: 'programs getting "permission denied" or ENOENT when they open files', expect: 'file/open-errors' },
  { request: 'how much data is each program reading', expect: ['file/read-bytes-per-command', 'file/read-calls-tracepoint', 'file/vfs-read-kprobe'] },
  { request: 'distribution of write sizes for each app', expect: 'file/write-size-histogram' },
  { request: 'who changed file permissions (chmod)', expect: 'file/chmod-calls' },
  // block I/O
  { request: 'disk latency distribution', expect: 'block/disk-latency-per-device' },
  { request: 'which process is hammering the disk', expect: 'block/io-by-process' },
  { request: 'how many I/O operations per second is each disk doing', expect: 'block/iops-per-second' },
  { request: 'are there any disk errors', expect: 'block/io-errors' },
  { request: 'how long do I/Os sit in the queue', expect: 'block/queue-time' },
  { request: 'disk throughput in bytes for each drive', expect: 'block/bytes-per-device' },
  { request: 'what sizes are the disk requests, reads vs writes', expect: ['block/io-size-histogram', 'block/io-size-kprobe'] },
  // network
  { request: 'log outbound tcp connections with the destination ip', expect: ['network/tcp-connect', 'network/tcp-connect-kprobe'] },
  { request: 'who connects to my server? incoming tcp', expect: ['network/tcp-accept', 'network/tcp-accept-kretprobe'] },
  { request: 'are we retransmitting packets', expect: 'network/tcp-retransmits' },
  { request: 'why are packets being dropped', expect: 'network/packet-drops' },
  { request: 'how long do tcp sessions last', expect: 'network/tcp-session-lifetime' },
  { request: 'which processes open listening ports', expect: 'network/listen-calls' },
  { request: 'network transmit throughput per interface', expect: 'network/tx-bytes-per-device' },
  { request: 'udp traffic volume by program', expect: 'network/udp-send-bytes' },
  { request: 'tcp RST packets we send', expect: 'network/tcp-resets-sent' },
  { request: 'which programs create unix domain sockets', expect: 'network/socket-families' },
  { request: 'what remote ports are processes connecting to', expect: ['network/connect-syscall-ports', 'network/tcp-connect', 'network/tcp-connect-kprobe'] },
  { request: 'tcp receive message sizes', expect: 'network/tcp-receive-bytes' },
  { request: 'ipv6 vs ipv4 tcp state changes', expect: 'network/tcp-state-by-family' },
  // processes
  { request: 'new processes being spawned, with what they run', expect: ['process/exec-syscalls', 'process/exec-sched'] },
  { request: 'what are non-root users running', expect: 'process/exec-by-user' },
  { request: 'exit codes of processes that die', expect: 'process/exit-group-codes' },
  { request: 'which program forks the most children', expect: 'process/fork-count-by-parent' },
  { request: 'how long do short-lived processes live', expect: 'process/process-lifetime' },
  { request: 'tell threads apart from processes when tasks are created', expect: 'process/new-task-clone-flags' },
  // scheduler
  { request: 'context switch rate for every cpu', expect: 'sched/context-switches-per-second' },
  { request: 'top CPU consumers every 10 seconds', expect: 'sched/cpu-runtime' },
  { request: 'how long are processes blocked off the CPU', expect: 'sched/off-cpu-time' },
  { request: 'profile what is running on the cpus', expect: 'sched/on-cpu-sampling' },
  { request: 'scheduler latency: how long do tasks wait to get a cpu', expect: 'sched/runqueue-latency' },
  { request: 'processes bouncing between CPUs', expect: 'sched/task-migrations' },
  { request: 'which task wakes up which other task', expect: 'sched/wakeups-by-waker' },
  { request: 'involuntary preemption per program', expect: 'sched/preemptions' },
  // system calls
  { request: 'who mounts filesystems', expect: 'syscall/mount-calls' },
  { request: 'is anyone attaching a debugger (ptrace)', expect: 'syscall/ptrace-calls' },
  { request: 'privilege escalation: processes changing their uid', expect: 'syscall/setuid-calls' },
  { request: 'which syscalls are slow', expect: 'syscall/slow-syscalls' },
  { request: 'which syscalls fail the most', expect: 'syscall/syscall-errors' },
  { request: 'top syscall users by process', expect: 'syscall/syscall-count-by-process' },
  { request: 'syscall rate every second', expect: 'syscall/syscalls-per-second' },
  { request: 'trace syscalls of a specific pid', expect: 'syscall/syscalls-of-one-pid' },
  { request: 'histogram of how long syscalls take', expect: ['syscall/syscall-latency-histogram', 'syscall/slow-syscalls'] },
  // memory
  { request: 'OOM killer victims', expect: 'memory/oom-kills' },
  { request: 'page fault count per process', expect: ['memory/page-faults', 'memory/page-faults-kprobe'] },
  { request: 'which kernel code paths allocate the most slab memory', expect: 'memory/kmalloc-by-callsite' },
  { request: 'heap growth of processes', expect: 'memory/brk-growth' },
  { request: 'is the system under memory pressure? kswapd activity', expect: 'memory/kswapd-wakeups' },
  { request: 'how long do allocations stall in direct reclaim', expect: 'memory/direct-reclaim-latency' },
  { request: 'size of memory mappings being created', expect: 'memory/mmap-sizes' },
  // locks
  { request: 'where is the kernel spinning on locks, by program', expect: ['lock/contention-count', 'lock/mutex-slowpath-kprobe', 'lock/hot-locks'] },
  { request: 'how long do threads wait for kernel locks', expect: 'lock/contention-latency' },
  { request: 'which lock address is the hottest', expect: 'lock/hot-locks' },
  { request: 'who holds flock locks on files', expect: 'lock/flock-calls' },
  { request: 'futex usage by application', expect: ['lock/futex-ops', 'lock/futex-wait-latency'] },
  { request: 'time blocked in futex waits', expect: 'lock/futex-wait-latency' },
  { request: 'fcntl record locks that could not be taken', expect: 'lock/posix-lock-failures' },
  // signals
  { request: 'which programs are segfaulting', expect: 'signal/fatal-signals' },
  { request: 'who killed my process with kill -9', expect: 'signal/sigkill-senders' },
  { request: 'who sends signals to whom', expect: ['signal/signals-sent', 'signal/signals-sent-kprobe', 'signal/kill-syscalls'] },
  { request: 'signals that got ignored or dropped', expect: 'signal/ignored-signals' },
  { request: 'what signal handlers do programs install', expect: 'signal/signal-handlers' },
  { request: 'delay between sending a signal and the target receiving it', expect: 'signal/signal-delivery-latency' },
  { request: 'signal rate every second', expect: 'signal/signals-per-second' },
  // hooks rather than examples
  { request: 'do something on every block request completion', expect: 'tracepoint:block:block_rq_complete' },
  { request: 'time spent in vfs_read', expect: 'kprobe:vfs_read' },
  { request: 'trace the scheduler switching tasks', expect: 'tracepoint:sched:sched_switch' },
];

const K = 5;

function found(hits: readonly ExampleHit[], expect: Row['expect']): boolean {
  const wanted = typeof expect === 'string' ? [expect] : expect;
  return hits.some((h) => wanted.some((w) => h.id === w || h.hooks.includes(w)));
}

t.test(`recall@${K} with full text alone over the dataset`, async (t) => {
  const dataset = loadExamples();
  t.ok(RECALL_TABLE.length >= 40, `${RECALL_TABLE.length} rows`);
  const ids = new Set(dataset.map((e) => e.id));
  const hooks = new Set(dataset.flatMap((e) => e.hooks));
  for (const r of RECALL_TABLE) {
    const wanted = typeof r.expect === 'string' ? [r.expect] : r.expect;
    for (const w of wanted) t.ok(ids.has(w) || hooks.has(w), `${w} is in the dataset`);
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgent-recall-'));
  const store = await ExampleStore.open({ stateDir: dir });
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const t0 = performance.now();
  await store.sync(dataset);
  const syncMs = performance.now() - t0;

  const misses: string[] = [];
  const queryMs: number[] = [];
  for (const r of RECALL_TABLE) {
    const q0 = performance.now();
    const { hits, mode } = await store.search(r.request, K, { fullTextOnly: true });
    queryMs.push(performance.now() - q0);
    t.equal(mode, 'full-text');
    if (!found(hits, r.expect)) misses.push(`  ${JSON.stringify(r.request)} -> ${JSON.stringify(r.expect)}; got ${hits.map((h) => h.id).join(', ') || 'nothing'}`);
  }
  const recall = (RECALL_TABLE.length - misses.length) / RECALL_TABLE.length;
  queryMs.sort((a, b) => a - b);
  const median = queryMs[Math.floor(queryMs.length / 2)]!;
  t.comment(
    `recall@${K} (full text): ${(recall * 100).toFixed(1)}% (${RECALL_TABLE.length - misses.length}/${RECALL_TABLE.length}) over ${dataset.length} examples; ` +
      `sync ${syncMs.toFixed(0)} ms, query median ${median.toFixed(1)} ms, max ${queryMs[queryMs.length - 1]!.toFixed(1)} ms`,
  );
  if (misses.length) t.comment(`misses:\n${misses.join('\n')}`);
  t.ok(recall >= 0.9, `recall@${K} ${(recall * 100).toFixed(1)}% >= 90%`);
});
