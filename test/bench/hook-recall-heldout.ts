/**
 * HELD-OUT requests for the hook-recall benchmark (hook-recall-bench.ts). NEVER used for tuning:
 * no word list, weight or synonym in kernel-contracts/search was chosen by looking at how these
 * rank. Tuning uses the dataset's prompts (hook-recall-tuning.ts). Written by hand, not
 * paraphrases of dataset prompts; each reference hook was checked to exist on the kernel the
 * table was written on (6.18, /sys/kernel/tracing/events/CATEGORY/EVENT). kprobe-only answers are
 * left out: kprobes cannot attach on that host. A request counts as found at k when any of its
 * reference hooks is among the top k.
 */
export interface RecallCase {
  readonly request: string;
  /** Tracepoints that answer the request (any one is a hit). */
  readonly reference: readonly string[];
}

export const HELD_OUT: readonly RecallCase[] = [
  { request: 'trace tcp connects with ports in host byte order', reference: ['tracepoint:sock:inet_sock_set_state', 'tracepoint:syscalls:sys_enter_connect'] },
  { request: 'which programs call connect() and to what address', reference: ['tracepoint:syscalls:sys_enter_connect', 'tracepoint:sock:inet_sock_set_state'] },
  { request: 'log every incoming connection my nginx accepts', reference: ['tracepoint:syscalls:sys_exit_accept4', 'tracepoint:syscalls:sys_enter_accept4', 'tracepoint:syscalls:sys_exit_accept', 'tracepoint:sock:inet_sock_set_state'] },
  { request: 'print the files each container process opens', reference: ['tracepoint:syscalls:sys_enter_openat', 'tracepoint:syscalls:sys_enter_openat2', 'tracepoint:syscalls:sys_enter_open'] },
  { request: 'alert me when anything forks more than 100 children a second', reference: ['tracepoint:sched:sched_process_fork', 'tracepoint:syscalls:sys_enter_clone', 'tracepoint:syscalls:sys_enter_clone3'] },
  { request: 'histogram of disk I/O sizes per device', reference: ['tracepoint:block:block_rq_issue', 'tracepoint:block:block_rq_complete', 'tracepoint:block:block_io_start', 'tracepoint:block:block_bio_queue'] },
  { request: 'who is deleting files under /var/log', reference: ['tracepoint:syscalls:sys_enter_unlinkat', 'tracepoint:syscalls:sys_enter_unlink'] },
  { request: 'show new commands being run with their arguments', reference: ['tracepoint:syscalls:sys_enter_execve', 'tracepoint:sched:sched_process_exec', 'tracepoint:syscalls:sys_enter_execveat'] },
  { request: 'report processes that exit with a non-zero status', reference: ['tracepoint:sched:sched_process_exit', 'tracepoint:syscalls:sys_enter_exit_group'] },
  { request: 'measure how long threads wait for a mutex', reference: ['tracepoint:lock:contention_begin', 'tracepoint:lock:contention_end', 'tracepoint:syscalls:sys_enter_futex'] },
  { request: 'who sends SIGKILL to my database', reference: ['tracepoint:signal:signal_generate', 'tracepoint:syscalls:sys_enter_kill', 'tracepoint:syscalls:sys_enter_tgkill'] },
  { request: 'count context switches per CPU', reference: ['tracepoint:sched:sched_switch'] },
  { request: 'find out which process triggers the OOM killer', reference: ['tracepoint:oom:mark_victim', 'tracepoint:oom:oom_score_adj_update'] },
  { request: 'track TCP retransmissions by remote address', reference: ['tracepoint:tcp:tcp_retransmit_skb'] },
  { request: 'show UDP packets sent by each process', reference: ['tracepoint:syscalls:sys_enter_sendto', 'tracepoint:syscalls:sys_enter_sendmsg', 'tracepoint:sock:sock_send_length', 'tracepoint:udp:udp_fail_queue_rcv_skb'] },
  { request: 'time spent in fsync by postgres', reference: ['tracepoint:syscalls:sys_enter_fsync', 'tracepoint:syscalls:sys_exit_fsync', 'tracepoint:syscalls:sys_enter_fdatasync'] },
  { request: 'page faults per process per second', reference: ['tracepoint:exceptions:page_fault_user', 'tracepoint:exceptions:page_fault_kernel'] },
  { request: 'which users change their uid with setuid', reference: ['tracepoint:syscalls:sys_enter_setuid', 'tracepoint:syscalls:sys_enter_setresuid', 'tracepoint:syscalls:sys_enter_setreuid'] },
  { request: 'watch for filesystem mounts and unmounts', reference: ['tracepoint:syscalls:sys_enter_mount', 'tracepoint:syscalls:sys_enter_umount', 'tracepoint:syscalls:sys_enter_mount_setattr', 'tracepoint:syscalls:sys_enter_fsmount'] },
  { request: 'bytes read from files per process', reference: ['tracepoint:syscalls:sys_exit_read', 'tracepoint:syscalls:sys_enter_read', 'tracepoint:syscalls:sys_exit_pread64'] },
  { request: 'how much data do processes write to disk', reference: ['tracepoint:syscalls:sys_enter_write', 'tracepoint:syscalls:sys_exit_write', 'tracepoint:block:block_rq_issue'] },
  { request: 'latency of block requests from issue to completion', reference: ['tracepoint:block:block_rq_issue', 'tracepoint:block:block_rq_complete', 'tracepoint:block:block_io_start', 'tracepoint:block:block_io_done'] },
  { request: 'which processes use ptrace to attach to others', reference: ['tracepoint:syscalls:sys_enter_ptrace'] },
  { request: 'count hardware interrupts by irq number', reference: ['tracepoint:irq:irq_handler_entry', 'tracepoint:irq:irq_handler_exit'] },
  { request: 'how often does kswapd wake up', reference: ['tracepoint:vmscan:mm_vmscan_kswapd_wake'] },
  { request: 'processes that change file permissions with chmod', reference: ['tracepoint:syscalls:sys_enter_fchmodat', 'tracepoint:syscalls:sys_enter_chmod', 'tracepoint:syscalls:sys_enter_fchmod', 'tracepoint:syscalls:sys_enter_fchmodat2'] },
  { request: 'trace DNS lookups on port 53 sent over UDP', reference: ['tracepoint:syscalls:sys_enter_sendto', 'tracepoint:syscalls:sys_enter_connect', 'tracepoint:syscalls:sys_enter_sendmsg', 'tracepoint:syscalls:sys_enter_sendmmsg'] },
  { request: 'files renamed on the system and by whom', reference: ['tracepoint:syscalls:sys_enter_renameat2', 'tracepoint:syscalls:sys_enter_renameat', 'tracepoint:syscalls:sys_enter_rename'] },
  { request: 'show memory mappings created with mmap and their sizes', reference: ['tracepoint:syscalls:sys_enter_mmap'] },
  { request: 'run queue latency: how long tasks wait after wakeup before running', reference: ['tracepoint:sched:sched_wakeup', 'tracepoint:sched:sched_switch', 'tracepoint:sched:sched_wakeup_new'] },
  { request: 'failed open calls with their error code', reference: ['tracepoint:syscalls:sys_exit_openat', 'tracepoint:syscalls:sys_exit_open', 'tracepoint:syscalls:sys_exit_openat2'] },
  { request: 'kernel memory allocations by size', reference: ['tracepoint:kmem:kmalloc', 'tracepoint:kmem:kmem_cache_alloc'] },
  { request: 'new threads created per process', reference: ['tracepoint:sched:sched_process_fork', 'tracepoint:task:task_newtask', 'tracepoint:syscalls:sys_enter_clone3', 'tracepoint:syscalls:sys_enter_clone'] },
  { request: 'TCP connections that are reset', reference: ['tracepoint:tcp:tcp_send_reset', 'tracepoint:tcp:tcp_receive_reset'] },
  { request: 'listen sockets opened by servers, with the backlog', reference: ['tracepoint:syscalls:sys_enter_listen'] },
  { request: 'which programs create sockets and of which family', reference: ['tracepoint:syscalls:sys_enter_socket'] },
  { request: 'sleep durations requested by processes', reference: ['tracepoint:syscalls:sys_enter_nanosleep', 'tracepoint:syscalls:sys_enter_clock_nanosleep'] },
  { request: 'softirq time per type', reference: ['tracepoint:irq:softirq_entry', 'tracepoint:irq:softirq_exit'] },
  { request: 'count system calls by name for one pid', reference: ['tracepoint:raw_syscalls:sys_enter', 'tracepoint:raw_syscalls:sys_exit'] },
  { request: 'pipes created by shell scripts', reference: ['tracepoint:syscalls:sys_enter_pipe2', 'tracepoint:syscalls:sys_enter_pipe'] },
  { request: 'directories created and who made them', reference: ['tracepoint:syscalls:sys_enter_mkdirat', 'tracepoint:syscalls:sys_enter_mkdir'] },
  { request: 'ioctl calls issued by qemu with their command numbers', reference: ['tracepoint:syscalls:sys_enter_ioctl'] },
  { request: 'timers firing per second by function', reference: ['tracepoint:timer:timer_expire_entry', 'tracepoint:timer:hrtimer_expire_entry'] },
  { request: 'packets dropped by the kernel network stack and why', reference: ['tracepoint:skb:kfree_skb'] },
  { request: 'workqueue items executed, by function', reference: ['tracepoint:workqueue:workqueue_execute_start', 'tracepoint:workqueue:workqueue_execute_end'] },
  { request: 'processes reading /etc/shadow', reference: ['tracepoint:syscalls:sys_enter_openat', 'tracepoint:syscalls:sys_enter_open', 'tracepoint:syscalls:sys_enter_openat2'] },
];
