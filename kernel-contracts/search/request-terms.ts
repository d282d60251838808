/**
 * What a sysadmin's request says about hooks without any embedding model: the system calls it
 * names ("connects" -> connect, "opens" -> openat), the kernel subsystems it speaks of ("disk I/O"
 * -> block), the tracepoints its words stand for ("forks" -> sched:sched_process_fork), whether it
 * asks about a call's result (then the `sys_exit_` side matters), and the words left for full-text
 * search once the filler of requests ("trace", "show", "per", "host byte order") is dropped.
 *
 * The vocabulary is written from the Linux names (syscalls(2), the tracepoint categories under
 * /sys/kernel/tracing/events) and the dataset's prompts; it never decides alone: every hook it
 * names is looked up on the running kernel by the ranker, and absent ones are dropped.
 */

/** One hook the request points at, with how sure the vocabulary is (0..1). */
export interface TermHook {
  readonly id: string;
  readonly weight: number;
  /** Written as a call or kernel name (`connect()`, `sys_openat`), not inferred from a word. */
  readonly named?: boolean;
}

export interface RequestTerms {
  /** Words for the full-text query: request filler removed, subsystem and syscall names added. */
  readonly query: string;
  /** System calls the request names or implies, best first, with weights (0..1). */
  readonly syscalls: readonly TermHook[];
  /** Tracepoints (`tracepoint:CAT:EVENT`) the request's words stand for. */
  readonly hooks: readonly TermHook[];
  /** Tracepoint categories of the subsystems the request speaks of. */
  readonly categories: ReadonlySet<string>;
  /** The request asks about a call's outcome (return value, errors, bytes done, duration). */
  readonly wantsResult: boolean;
  /** Identifier-like words (`tcp_v4_connect`, `sched_switch`) that may name a hook outright. */
  readonly names: readonly string[];
  /** Tracepoints written as `CATEGORY:EVENT` (`sock:inet_sock_set_state`, `tracepoint:sched:sched_switch`). */
  readonly namedTracepoints: readonly string[];
}

/**
 * A light English stemmer, the same for the vocabulary's keys and the request's words: plural,
 * -ing and -ed endings and a final `e` dropped, a doubled final consonant made single
 * ("opens", "opened", "opening" -> "open"; "kills", "killed" -> "kil"; "creates" -> "creat").
 */
export function stem(word: string): string {
  let w = word.toLowerCase();
  const irregular = IRREGULAR[w];
  if (irregular) w = irregular;
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(ss|x|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  if (w.length > 2 && /([b-df-hj-np-tv-z])\1$/.test(w)) w = w.slice(0, -1);
  return w;
}

const IRREGULAR: Readonly<Record<string, string>> = {
  sent: 'send',
  wrote: 'write',
  written: 'write',
  ran: 'run',
  children: 'child',
  died: 'die',
  dies: 'die',
  spawned: 'spawn',
  received: 'receive',
  io: 'io',
};

interface Sense {
  readonly syscalls?: readonly string[];
  readonly hooks?: readonly string[];
  readonly categories?: readonly string[];
  /** How sure the word is of its hooks (default 1). */
  readonly weight?: number;
}

/**
 * Sysadmin words -> what they mean in the kernel. Keys are words in their base form (stemmed at
 * load) or two-word phrases; syscalls are names without `sys_enter_`; hooks are tracepoints.
 */
const SENSES: Readonly<Record<string, Sense>> = {
  // Network
  connect: { syscalls: ['connect'], hooks: ['sock:inet_sock_set_state'], categories: ['sock', 'tcp'] },
  connection: { syscalls: ['connect', 'accept4'], hooks: ['sock:inet_sock_set_state'], categories: ['sock', 'tcp'], weight: 0.9 },
  accept: { syscalls: ['accept4', 'accept'], hooks: ['sock:inet_sock_set_state'], categories: ['sock'] },
  incoming: { syscalls: ['accept4', 'accept'], weight: 0.5 },
  outgoing: { syscalls: ['connect'], weight: 0.5 },
  listen: { syscalls: ['listen'], categories: ['sock'] },
  bind: { syscalls: ['bind'], categories: ['sock'] },
  socket: { syscalls: ['socket'], categories: ['sock'], weight: 0.8 },
  send: { syscalls: ['sendto', 'sendmsg', 'sendmmsg', 'write'], hooks: ['sock:sock_send_length'], categories: ['sock'], weight: 0.8 },
  receive: { syscalls: ['recvfrom', 'recvmsg', 'recvmmsg', 'read'], hooks: ['sock:sock_recv_length'], categories: ['sock'], weight: 0.8 },
  recv: { syscalls: ['recvfrom', 'recvmsg'], hooks: ['sock:sock_recv_length'], categories: ['sock'] },
  tcp: { hooks: ['sock:inet_sock_set_state'], categories: ['tcp', 'sock'], weight: 0.5 },
  udp: { syscalls: ['sendto', 'recvfrom'], categories: ['udp', 'sock'], weight: 0.4 },
  retransmit: { hooks: ['tcp:tcp_retransmit_skb', 'tcp:tcp_retransmit_synack'], categories: ['tcp'] },
  retransmission: { hooks: ['tcp:tcp_retransmit_skb', 'tcp:tcp_retransmit_synack'], categories: ['tcp'] },
  reset: { hooks: ['tcp:tcp_send_reset', 'tcp:tcp_receive_reset'], categories: ['tcp'], weight: 0.6 },
  rst: { hooks: ['tcp:tcp_send_reset', 'tcp:tcp_receive_reset'], categories: ['tcp'] },
  drop: { hooks: ['skb:kfree_skb'], categories: ['skb'], weight: 0.7 },
  packet: { hooks: ['net:netif_receive_skb', 'net:net_dev_xmit'], categories: ['net', 'skb'], weight: 0.5 },
  // Files
  open: { syscalls: ['openat', 'open', 'openat2'] },
  file: { syscalls: ['openat'], categories: ['filemap'], weight: 0.4 },
  read: { syscalls: ['read', 'pread64', 'readv'], weight: 0.8 },
  write: { syscalls: ['write', 'pwrite64', 'writev'], weight: 0.8 },
  close: { syscalls: ['close'] },
  delet: { syscalls: ['unlinkat', 'unlink', 'rmdir'] },
  remov: { syscalls: ['unlinkat', 'unlink', 'rmdir'], weight: 0.8 },
  unlink: { syscalls: ['unlinkat', 'unlink'] },
  renam: { syscalls: ['renameat2', 'renameat', 'rename'] },
  chmod: { syscalls: ['fchmodat', 'chmod', 'fchmod', 'fchmodat2'] },
  permission: { syscalls: ['fchmodat', 'chmod', 'fchmod'], weight: 0.6 },
  chown: { syscalls: ['fchownat', 'chown', 'fchown', 'lchown'] },
  ownership: { syscalls: ['fchownat', 'chown', 'fchown'], weight: 0.6 },
  mkdir: { syscalls: ['mkdirat', 'mkdir'] },
  directory: { syscalls: ['mkdirat', 'mkdir', 'getdents64'], weight: 0.5 },
  mount: { syscalls: ['mount', 'fsmount', 'move_mount', 'mount_setattr'] },
  unmount: { syscalls: ['umount'] },
  umount: { syscalls: ['umount'] },
  fsync: { syscalls: ['fsync', 'fdatasync'] },
  flush: { syscalls: ['fsync', 'fdatasync', 'sync_file_range'], weight: 0.7 },
  truncat: { syscalls: ['truncate', 'ftruncate'] },
  pipe: { syscalls: ['pipe2', 'pipe'] },
  ioctl: { syscalls: ['ioctl'] },
  // Processes
  exec: { syscalls: ['execve', 'execveat'], hooks: ['sched:sched_process_exec'] },
  execut: { syscalls: ['execve', 'execveat'], hooks: ['sched:sched_process_exec'] },
  run: { syscalls: ['execve'], hooks: ['sched:sched_process_exec'], weight: 0.6 },
  launch: { syscalls: ['execve'], hooks: ['sched:sched_process_exec'], weight: 0.8 },
  command: { syscalls: ['execve'], hooks: ['sched:sched_process_exec'], weight: 0.5 },
  fork: { syscalls: ['clone', 'clone3', 'fork', 'vfork'], hooks: ['sched:sched_process_fork'] },
  spawn: { syscalls: ['clone', 'clone3'], hooks: ['sched:sched_process_fork', 'task:task_newtask'] },
  clon: { syscalls: ['clone', 'clone3'], hooks: ['sched:sched_process_fork'] },
  child: { hooks: ['sched:sched_process_fork'], weight: 0.7 },
  thread: { syscalls: ['clone3', 'clone'], hooks: ['task:task_newtask', 'sched:sched_process_fork'], weight: 0.7 },
  exit: { syscalls: ['exit_group', 'exit'], hooks: ['sched:sched_process_exit'] },
  terminat: { hooks: ['sched:sched_process_exit'], syscalls: ['exit_group'], weight: 0.8 },
  die: { hooks: ['sched:sched_process_exit'], weight: 0.8 },
  kil: { syscalls: ['kill', 'tgkill', 'tkill'], hooks: ['signal:signal_generate'], categories: ['signal'] },
  signal: { syscalls: ['kill', 'tgkill'], hooks: ['signal:signal_generate', 'signal:signal_deliver'], categories: ['signal'] },
  sigkil: { hooks: ['signal:signal_generate'], syscalls: ['kill', 'tgkill'], categories: ['signal'] },
  sigterm: { hooks: ['signal:signal_generate'], syscalls: ['kill', 'tgkill'], categories: ['signal'] },
  ptrac: { syscalls: ['ptrace'] },
  setuid: { syscalls: ['setuid', 'setresuid', 'setreuid'] },
  uid: { syscalls: ['setuid', 'setresuid', 'setreuid'], weight: 0.5 },
  privileg: { syscalls: ['setuid', 'setresuid', 'capset'], categories: ['capability'], weight: 0.6 },
  sleep: { syscalls: ['nanosleep', 'clock_nanosleep'], weight: 0.8 },
  // Scheduler, CPU, locks
  'context switch': { hooks: ['sched:sched_switch'], categories: ['sched'] },
  switch: { hooks: ['sched:sched_switch'], categories: ['sched'], weight: 0.6 },
  schedul: { hooks: ['sched:sched_switch', 'sched:sched_wakeup'], categories: ['sched'], weight: 0.7 },
  'run queue': { hooks: ['sched:sched_wakeup', 'sched:sched_switch', 'sched:sched_wakeup_new'], categories: ['sched'] },
  runqueue: { hooks: ['sched:sched_wakeup', 'sched:sched_switch'], categories: ['sched'] },
  wakeup: { hooks: ['sched:sched_wakeup', 'sched:sched_wakeup_new'], categories: ['sched'], weight: 0.8 },
  'off cpu': { hooks: ['sched:sched_switch'], categories: ['sched'] },
  cpu: { hooks: ['sched:sched_switch'], categories: ['sched'], weight: 0.3 },
  lock: { hooks: ['lock:contention_begin', 'lock:contention_end'], syscalls: ['futex'], categories: ['lock'], weight: 0.8 },
  mutex: { hooks: ['lock:contention_begin', 'lock:contention_end'], syscalls: ['futex'], categories: ['lock'] },
  contention: { hooks: ['lock:contention_begin', 'lock:contention_end'], categories: ['lock'] },
  futex: { syscalls: ['futex'] },
  // Memory
  oom: { hooks: ['oom:mark_victim', 'oom:oom_score_adj_update'], categories: ['oom'] },
  'out of memory': { hooks: ['oom:mark_victim'], categories: ['oom'] },
  'page fault': { hooks: ['exceptions:page_fault_user', 'exceptions:page_fault_kernel'], categories: ['exceptions'] },
  fault: { hooks: ['exceptions:page_fault_user', 'exceptions:page_fault_kernel'], categories: ['exceptions'], weight: 0.7 },
  kmalloc: { hooks: ['kmem:kmalloc'], categories: ['kmem'] },
  allocation: { hooks: ['kmem:kmalloc', 'kmem:kmem_cache_alloc', 'kmem:mm_page_alloc'], categories: ['kmem'], weight: 0.7 },
  alloc: { hooks: ['kmem:kmalloc', 'kmem:kmem_cache_alloc', 'kmem:mm_page_alloc'], categories: ['kmem'], weight: 0.7 },
  mmap: { syscalls: ['mmap', 'munmap'] },
  mapping: { syscalls: ['mmap', 'munmap'], weight: 0.6 },
  reclaim: { hooks: ['vmscan:mm_vmscan_direct_reclaim_begin', 'vmscan:mm_vmscan_kswapd_wake'], categories: ['vmscan'] },
  kswapd: { hooks: ['vmscan:mm_vmscan_kswapd_wake', 'vmscan:mm_vmscan_kswapd_sleep'], categories: ['vmscan'] },
  swap: { hooks: ['vmscan:mm_vmscan_kswapd_wake'], categories: ['vmscan'], weight: 0.6 },
  // Block I/O
  disk: { hooks: ['block:block_rq_issue', 'block:block_rq_complete', 'block:block_io_start', 'block:block_io_done'], categories: ['block'] },
  block: { hooks: ['block:block_rq_issue', 'block:block_rq_complete'], categories: ['block'], weight: 0.8 },
  'i o': { hooks: ['block:block_rq_issue', 'block:block_rq_complete'], categories: ['block'], weight: 0.7 },
  io: { hooks: ['block:block_rq_issue', 'block:block_rq_complete'], categories: ['block'], weight: 0.7 },
  bio: { hooks: ['block:block_bio_queue', 'block:block_io_start'], categories: ['block'] },
  // Interrupts, timers, work
  interrupt: { hooks: ['irq:irq_handler_entry', 'irq:irq_handler_exit'], categories: ['irq'] },
  irq: { hooks: ['irq:irq_handler_entry', 'irq:irq_handler_exit'], categories: ['irq'] },
  softirq: { hooks: ['irq:softirq_entry', 'irq:softirq_exit'], categories: ['irq'] },
  timer: { hooks: ['timer:timer_expire_entry', 'timer:hrtimer_expire_entry', 'timer:timer_start'], categories: ['timer'], weight: 0.8 },
  workqueu: { hooks: ['workqueue:workqueue_execute_start', 'workqueue:workqueue_execute_end'], categories: ['workqueue'] },
  // Any system call
  syscall: { hooks: ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'], categories: ['raw_syscalls'], weight: 0.8 },
  'system call': { hooks: ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit'], categories: ['raw_syscalls'], weight: 0.8 },
};

/** Words that ask about a call's outcome: the `sys_exit_` tracepoint carries `ret`. */
const RESULT_WORDS = new Set(['return', 'retval', 'result', 'error', 'errno', 'fail', 'failur', 'latency', 'duration', 'spent', 'slow', 'success', 'successful'].map(stem));

/**
 * Syscall names that are also ordinary words of requests ("time spent", "pause"): named
 * outright they still count, as `time()` or `sys_time`, but not as a bare word.
 */
const COMMON_WORD_SYSCALLS = new Set(['time', 'times', 'pause', 'alarm', 'select', 'poll', 'sync', 'tee', 'acct', 'personality', 'uname', 'link']);

/** Filler of requests that only adds noise to full-text ranking (the words of any request). */
const FILLER = new Set(
  [
    'trace', 'tracing', 'show', 'print', 'display', 'list', 'count', 'log', 'logging', 'monitor', 'watch', 'report', 'tell', 'alert', 'find', 'out',
    'me', 'my', 'i', 'we', 'our', 'you', 'it', 'its', 'their', 'them', 'they', 'every', 'each', 'per', 'with', 'and', 'or', 'the', 'a', 'an', 'of', 'in',
    'on', 'by', 'for', 'to', 'from', 'at', 'as', 'is', 'are', 'be', 'was', 'do', 'does', 'that', 'this', 'these', 'those', 'all', 'any', 'anything',
    'something', 'some', 'what', 'which', 'who', 'whom', 'when', 'where', 'why', 'how', 'many', 'much', 'more', 'than', 'most', 'want', 'see', 'get',
    'number', 'total', 'top', 'summary', 'histogram', 'hist', 'host', 'order', 'name', 'names', 'second', 'seconds', 'minute', 'often', 'use', 'used',
    'uses', 'using', 'system', 'process', 'processes', 'program', 'programs', 'pid', 'pids', 'new', 'being', 'made', 'make', 'happen', 'happens',
    'under', 'over', 'into', 'via', 'together', 'also', 'just', 'only', 'one', 'give', 'please', 'can', 'could', 'would', 'should', 'there', 'whenever',
  ].map((w) => w.toLowerCase()),
);

const STEMMED_SENSES: ReadonlyMap<string, Sense> = new Map(Object.entries(SENSES).map(([k, v]) => [k.split(' ').map(stem).join(' '), v]));

/** Probe types written before a colon: `kprobe:x` is not a tracepoint `kprobe:x`. */
const PROBE_TYPES = new Set(['kprobe', 'k', 'kretprobe', 'kr', 'kfunc', 'f', 'kretfunc', 'fr', 'fentry', 'fexit', 'uprobe', 'u', 'uretprobe', 'ur', 'usdt', 'profile', 'interval', 'software', 'hardware', 'watchpoint', 'rawtracepoint', 'http', 'https']);

/** Lower-case words of a text; `_` kept so `tcp_v4_connect` stays one word. */
function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9_]+/g) ?? [];
}

/** Reads a request. `isSyscall(name)` tells whether this kernel has that system call. */
export function requestTerms(text: string, isSyscall: (name: string) => boolean = () => true): RequestTerms {
  const raw = words(text);
  const stems = raw.map(stem);
  const syscalls = new Map<string, number>();
  const namedCalls = new Set<string>();
  const hooks = new Map<string, number>();
  const categories = new Set<string>();
  const addSys = (name: string, w: number): void => {
    if (w > (syscalls.get(name) ?? 0)) syscalls.set(name, w);
  };
  const addHook = (id: string, w: number): void => {
    if (w > (hooks.get(id) ?? 0)) hooks.set(id, w);
  };
  const take = (sense: Sense): void => {
    const w = sense.weight ?? 1;
    // Earlier syscalls of a sense are its usual ones (openat before open before openat2).
    sense.syscalls?.forEach((s, i) => addSys(s, w * (1 - 0.05 * i)));
    sense.hooks?.forEach((h, i) => addHook(`tracepoint:${h}`, w * (1 - 0.05 * i)));
    sense.categories?.forEach((c) => categories.add(c));
  };
  for (let i = 0; i < stems.length; i++) {
    const one = STEMMED_SENSES.get(stems[i]!);
    if (one) take(one);
    for (const n of [2, 3]) {
      const phrase = stems.slice(i, i + n).join(' ');
      const s = i + n <= stems.length ? STEMMED_SENSES.get(phrase) : undefined;
      if (s) take(s);
    }
  }
  // Syscalls named outright: `connect()`, `sys_openat`, `openat`, `clone3`.
  const explicitCall = new Set([...text.toLowerCase().matchAll(/\b([a-z_][a-z0-9_]*)\s*\(\s*\)/g)].map((m) => m[1]!));
  for (const w of raw) {
    const bare = w.replace(/^(?:sys_(?:enter_|exit_)?|__x64_sys_)/, '');
    const named = explicitCall.has(w) || bare !== w;
    if (!named && COMMON_WORD_SYSCALLS.has(bare)) continue;
    // A word of the vocabulary ("open", "fork") means what its sense says, with its weights.
    if (!named && STEMMED_SENSES.has(stem(w))) continue;
    for (const cand of [bare, bare.endsWith('s') ? bare.slice(0, -1) : '']) {
      if (cand && isSyscall(cand)) {
        addSys(cand, 1);
        if (named) namedCalls.add(cand);
      }
    }
  }
  const wantsResult = stems.some((s) => RESULT_WORDS.has(s)) || /\bhow long\b|\btime spent\b/.test(text.toLowerCase());
  const names = raw.filter((w) => w.includes('_') && w.length > 3);
  const namedTracepoints = [...text.toLowerCase().matchAll(/(?:^|[^\w:])(?:(?:tracepoint|t):)?([a-z]\w*):([a-z_]\w*)(?![\w:])/g)]
    .filter((m) => !PROBE_TYPES.has(m[1]!))
    .map((m) => `${m[1]}:${m[2]}`);
  const kept = raw.filter((w) => !FILLER.has(w) && !/^\d+$/.test(w) && w.length > 1);
  const query = [...kept, ...categories, ...syscalls.keys()].join(' ');
  const sorted = (m: Map<string, number>): TermHook[] => [...m].sort((a, b) => b[1] - a[1]).map(([id, weight]) => ({ id, weight, ...(namedCalls.has(id) ? { named: true } : {}) }));
  return { query, syscalls: sorted(syscalls), hooks: sorted(hooks), categories, wantsResult, names, namedTracepoints };
}
