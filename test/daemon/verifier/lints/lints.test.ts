/**
 * Each lint on positive and negative programs. Kernel facts come from fakes: a probe-support table
 * (kprobes off, like this machine) and tracepoint field types as tracefs format files give them.
 */
import t, { type Test } from 'tap';
import { formatDiagnostic, type Diagnostic } from '../../../../daemon/protocol/diagnostic.js';
import type { ProbeType } from '../../../../kernel-contracts/probe-types.js';
import { parse, type Program } from '../../../../daemon/verifier/frontend/index.js';
import {
  ALL_PROBES_AVAILABLE,
  charPointerStrLint,
  entryExitDeleteLint,
  formatUnit,
  isCharPointer,
  nameUnit,
  networkOrderLint,
  parseFormat,
  probeAvailabilityLint,
  runLints,
  timeUnitsLint,
  unsafeBuiltinsLint,
  type FieldTypeInfo,
  type LintContext,
  type LintFactory,
} from '../../../../daemon/verifier/lints/index.js';

/** Field types as recorded from tracefs format files (`field:TYPE NAME; offset; size; signed`). */
const FORMATS: Readonly<Record<string, Readonly<Record<string, FieldTypeInfo>>>> = {
  'syscalls:sys_enter_openat': {
    dfd: { type: 'int', size: 8, signed: true },
    filename: { type: 'const char *', size: 8, signed: false },
    flags: { type: 'int', size: 8, signed: true },
  },
  'syscalls:sys_enter_execve': {
    filename: { type: 'const char *', size: 8, signed: false },
    argv: { type: 'const char *const *', size: 8, signed: false },
  },
  'syscalls:sys_exit_openat': { ret: { type: 'long', size: 8, signed: true } },
  'sched:sched_switch': { prev_comm: { type: 'char[16]', size: 16, signed: false }, prev_pid: { type: 'pid_t', size: 4, signed: true } },
  // A format with network-order fields (older kernels' and out-of-tree tracepoints have them).
  'net:pkt_seen': {
    dport: { type: '__be16', size: 2, signed: false },
    daddr: { type: '__be32', size: 4, signed: false },
    sport: { type: '__u16', size: 2, signed: false },
  },
};

const NO_KPROBES = new Set<ProbeType>(['kprobe', 'kretprobe', 'kfunc', 'kretfunc']);

const MEMBERS: Readonly<Record<string, string>> = {
  'sock.__sk_common': 'struct sock_common',
  'sock_common.skc_dport': '__be16',
  'sock_common.skc_num': '__u16',
  'task_struct.tgid': 'pid_t',
};

function context(over: Partial<LintContext> = {}): LintContext {
  return {
    probes: {
      isAvailable: (p) => !NO_KPROBES.has(p),
      reason: (p) => (p.startsWith('kfunc') || p.startsWith('kretfunc') ? 'BTF trampolines are not supported' : 'CONFIG_KPROBES is not set'),
    },
    policy: { allowUnsafe: false },
    fields: { fieldType: (c, e, f) => FORMATS[`${c}:${e}`]?.[f] },
    // As the kernel's BTF types them (the daemon reads them ahead from its contracts).
    members: { memberType: (s, m) => MEMBERS[`${s}.${m}`] },
    ...over,
  };
}

function program(src: string): Program {
  const r = parse(src, 'lint.bt');
  if (!r.program) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, 'lint.bt', src)).join('\n'));
  return r.program;
}

function where(d: Diagnostic): string {
  return d.span ? `${d.span.line}:${d.span.column}-${d.span.endColumn}` : '-';
}

interface Case {
  readonly name: string;
  readonly src: string;
  /** Expected `code@line:col-col` for each diagnostic, in order. Empty: the lint stays quiet. */
  readonly want: readonly string[];
  readonly ctx?: Partial<LintContext>;
  /** A pattern the first diagnostic's message must match. */
  readonly message?: RegExp;
}

function runTable(t: Test, lint: LintFactory, cases: readonly Case[], severity: 'error' | 'warning'): void {
  for (const c of cases) {
    const ds = lint(context(c.ctx)).run(program(c.src));
    t.same(ds.map((d) => `${d.code}@${where(d)}`), c.want, c.name);
    for (const d of ds) {
      t.equal(d.stage, 'lint');
      t.equal(d.severity, severity);
      t.ok((d.hints ?? []).length > 0, 'has a hint');
    }
    if (c.message && ds[0]) t.match(ds[0].message, c.message, `${c.name}: message`);
  }
}

t.test('probe-availability', async (t) => {
  runTable(t, probeAvailabilityLint, [
    { name: 'tracepoint is fine', src: 'tracepoint:syscalls:sys_enter_openat { }', want: [] },
    { name: 'BEGIN/END/profile/interval/uprobe are fine', src: 'BEGIN { } END { } profile:hz:99 { } interval:s:1 { } uprobe:/bin/bash:readline { }', want: [] },
    {
      name: 'kprobe is not available',
      src: 'kprobe:tcp_connect { }',
      want: ['lint.probe-unavailable@1:1-18'],
      message: /^kprobe probes are not available on this kernel: CONFIG_KPROBES is not set$/,
    },
    {
      name: 'each unavailable attach point, by canonical provider',
      src: 'tracepoint:a:b,\n  kr:vfs_read, fentry:vfs_write { }',
      want: ['lint.probe-unavailable@2:3-13', 'lint.probe-unavailable@2:16-31'],
    },
    { name: 'all available', src: 'kprobe:f { }', want: [], ctx: { probes: ALL_PROBES_AVAILABLE } },
  ], 'error');
  const d = probeAvailabilityLint(context()).run(program('kprobe:tcp_connect { }'))[0];
  t.match(d?.hints?.join('\n') ?? '', /tracepoint/, 'hints at a tracepoint instead');
  t.match(d?.hints?.join('\n') ?? '', /available on this kernel: .*uprobe/, 'lists what is available');
});

t.test('unsafe-builtins', async (t) => {
  runTable(t, unsafeBuiltinsLint, [
    { name: 'safe program', src: 'BEGIN { printf("%d\\n", pid); exit(); }', want: [] },
    { name: 'system()', src: 'BEGIN { system("ls"); }', want: ['lint.unsafe-builtin@1:9-20'], message: /system\(\) is unsafe/ },
    {
      name: 'signal() and override() in nested positions',
      src: 'kprobe:f { if (pid == 1) { signal("KILL"); } $x = 1; override(-1); }',
      want: ['lint.unsafe-builtin@1:28-41', 'lint.unsafe-builtin@1:54-65'],
    },
    { name: 'allowed by policy', src: 'BEGIN { system("ls"); signal(9); }', want: [], ctx: { policy: { allowUnsafe: true } } },
    { name: 'a variable named like a builtin is not a call', src: 'BEGIN { $system = 1; }', want: [] },
  ], 'error');
});

t.test('char-pointer-str', async (t) => {
  runTable(t, charPointerStrLint, [
    {
      name: 'char * field printed with %s',
      src: 'tracepoint:syscalls:sys_enter_openat { printf("%s\\n", args->filename); }',
      want: ['lint.char-pointer-without-str@1:55-68'],
      message: /args->filename is a const char \* printed with %s/,
    },
    { name: 'wrapped in str()', src: 'tracepoint:syscalls:sys_enter_openat { printf("%s\\n", str(args->filename)); }', want: [] },
    { name: 'args.f syntax, width flags', src: 't:syscalls:sys_enter_openat { printf("%-20s %d\\n", args.filename, pid); }', want: ['lint.char-pointer-without-str@1:52-64'] },
    { name: 'printed with %p is intended', src: 'tracepoint:syscalls:sys_enter_openat { printf("%p %d\\n", args->filename, args->flags); }', want: [] },
    { name: 'through a $variable', src: 'tracepoint:syscalls:sys_enter_openat { $f = args->filename; printf("%s\\n", $f); }', want: ['lint.char-pointer-without-str@1:76-77'] },
    { name: 'variable reassigned with str()', src: 'tracepoint:syscalls:sys_enter_openat { $f = args->filename; $f = str($f); printf("%s\\n", $f); }', want: [] },
    {
      name: 'through a map, read in another probe',
      src: 'tracepoint:syscalls:sys_enter_openat { @fn[tid] = args->filename; }\ntracepoint:syscalls:sys_exit_openat { printf("%s %d\\n", @fn[tid], args->ret); delete(@fn[tid]); }',
      want: ['lint.char-pointer-without-str@2:57-64'],
    },
    { name: 'a raw register argument printed with %s', src: 'uprobe:/bin/bash:readline { printf("%s\\n", arg0); }', want: ['lint.char-pointer-without-str@1:44-47'], message: /arg0 is an integer register value/ },
    { name: 'retval printed with %s', src: 'uretprobe:/bin/bash:readline { printf("%s\\n", retval); }', want: ['lint.char-pointer-without-str@1:47-52'] },
    { name: 'str(arg0) is fine', src: 'uprobe:/bin/bash:readline { printf("%s %d\\n", str(arg0), arg1); }', want: [] },
    { name: 'a cast to char *', src: 'uprobe:/bin/bash:readline { printf("%s\\n", (char *)arg0); }', want: ['lint.char-pointer-without-str@1:44-55'] },
    { name: 'char[16] array is a string already', src: 'tracepoint:sched:sched_switch { printf("%s\\n", args->prev_comm); }', want: [] },
    { name: 'char ** is not a string either way', src: 'tracepoint:syscalls:sys_enter_execve { printf("%s\\n", args->argv); }', want: [] },
    { name: 'unknown field types stay quiet', src: 'tracepoint:syscalls:sys_enter_openat { printf("%s\\n", args->filename); }', want: [], ctx: { fields: undefined } },
    { name: 'wildcard tracepoints have no single format', src: 'tracepoint:syscalls:sys_enter_open* { printf("%s\\n", args->filename); }', want: [] },
  ], 'warning');
  t.ok(isCharPointer('const char *'));
  t.ok(isCharPointer('unsigned char*'));
  t.notOk(isCharPointer('const char *const *'));
  t.notOk(isCharPointer('char[16]'));
});

t.test('entry-exit-delete', async (t) => {
  const entry = 'tracepoint:syscalls:sys_enter_openat { @start[tid] = nsecs; }\n';
  runTable(t, entryExitDeleteLint, [
    {
      name: 'stored on entry, read on exit, never deleted',
      src: entry + 'tracepoint:syscalls:sys_exit_openat { @ns = hist(nsecs - @start[tid]); }',
      want: ['lint.map-never-deleted@1:40-58'],
      message: /@start is keyed by tid in tracepoint:syscalls:sys_enter_openat and read in tracepoint:syscalls:sys_exit_openat/,
    },
    { name: 'deleted in the exit probe', src: entry + 'tracepoint:syscalls:sys_exit_openat { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }', want: [] },
    { name: 'deleted with the two-argument form', src: entry + 'tracepoint:syscalls:sys_exit_openat /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start, tid); }', want: [] },
    {
      name: 'kprobe/kretprobe pair, read only in the predicate, keyed by pid in a tuple',
      src: 'kprobe:vfs_read { @s[pid, comm] = nsecs; }\nkretprobe:vfs_read /@s[pid, comm]/ { printf("done\\n"); }',
      want: ['lint.map-never-deleted@1:19-39'],
      message: /keyed by pid/,
    },
    {
      name: 'uprobe/uretprobe with wildcards',
      src: 'uprobe:/bin/bash:read* { @t[tid] = nsecs; }\nuretprobe:/bin/bash:readline { $d = nsecs - @t[tid]; }',
      want: ['lint.map-never-deleted@1:26-40'],
    },
    { name: 'keyed by something else (a request pointer)', src: 'tracepoint:block:block_rq_issue { @s[args->sector] = nsecs; }\ntracepoint:block:block_rq_complete { $d = nsecs - @s[args->sector]; }', want: [] },
    { name: 'never read in an exit probe', src: entry + 'interval:s:1 { print(@start); }', want: [] },
    { name: 'clear() in END does not bound it', src: entry + 'tracepoint:syscalls:sys_exit_openat { $d = nsecs - @start[tid]; }\nEND { clear(@start); }', want: ['lint.map-never-deleted@1:40-58'] },
    { name: 'clear() in an interval probe does', src: entry + 'tracepoint:syscalls:sys_exit_openat { $d = nsecs - @start[tid]; }\ninterval:s:10 { clear(@start); }', want: [] },
    { name: 'a single probe reading its own map', src: 'tracepoint:raw_syscalls:sys_enter { @n[tid] = @n[tid] + 1; }', want: [] },
  ], 'warning');
});

t.test('network-order', async (t) => {
  const tp = 'tracepoint:net:pkt_seen';
  runTable(t, networkOrderLint, [
    {
      name: '__be16 field printed with %d',
      src: `${tp} { printf("%d\\n", args->dport); }`,
      want: ['lint.network-order@1:42-52'],
      message: /args->dport is __be16 \(network byte order\) and is printed with %d/,
    },
    { name: 'converted with bswap()', src: `${tp} { printf("%d\\n", bswap(args->dport)); }`, want: [] },
    { name: 'address through ntop()', src: `${tp} { printf("%s\\n", ntop(args->daddr)); }`, want: [] },
    { name: 'host-order __u16 is fine', src: `${tp} { printf("%d\\n", args->sport); }`, want: [] },
    { name: 'aggregated and used as a key', src: `${tp} { @ports[args->dport] = count(); @h = hist(args->daddr); }`, want: ['lint.network-order@1:34-44', 'lint.network-order@1:68-78'] },
    { name: 'stored raw in a map, swapped where read', src: `${tp} { @p[tid] = args->dport; }\ntracepoint:net:pkt_done { printf("%d\\n", bswap(@p[tid])); delete(@p[tid]); }`, want: [] },
    { name: 'stored raw in a map, printed raw elsewhere', src: `${tp} { @p[tid] = args->dport; }\ntracepoint:net:pkt_done { printf("%d\\n", @p[tid]); }`, want: ['lint.network-order@2:42-48'] },
    { name: 'key with ++', src: `${tp} { @p[args->dport]++; }`, want: ['lint.network-order@1:30-40'] },
    {
      name: 'kernel socket field through a variable, then swapped (tcplife style)',
      src: 'kprobe:tcp_set_state { $sk = (struct sock *)arg0; $dport = $sk->__sk_common.skc_dport; $dport = bswap($dport); printf("%d\\n", $dport); }',
      want: [],
    },
    {
      name: 'kernel socket field printed raw',
      src: 'kprobe:tcp_connect { $sk = (struct sock *)arg0; $dport = $sk->__sk_common.skc_dport; printf("%d\\n", $dport); }',
      want: ['lint.network-order@1:101-106'],
    },
    {
      name: 'a host-order socket field is not flagged',
      src: 'kprobe:tcp_connect { $sk = (struct sock *)arg0; printf("%d\\n", $sk->__sk_common.skc_num); }',
      want: [],
    },
    {
      name: 'without BTF member types nothing is claimed',
      src: 'kprobe:tcp_connect { $sk = (struct sock *)arg0; printf("%d\\n", $sk->__sk_common.skc_dport); }',
      want: [],
      ctx: { members: { memberType: () => undefined } },
    },
    { name: 'a cast to __be32 says so', src: 'kprobe:f { printf("%u\\n", (__be32)arg0); }', want: ['lint.network-order@1:27-38'] },
    { name: 'swapped on one branch only: no claim', src: `${tp} { $p = args->dport; if (pid) { $p = bswap($p); } printf("%d\\n", $p); }`, want: [] },
    { name: 'swapped on both branches', src: `${tp} { $p = args->dport; if (pid) { $p = bswap($p); } else { $p = 0; } printf("%d\\n", $p); }`, want: [] },
    { name: 'manual swap with shifts and masks is not flagged', src: `${tp} { printf("%d\\n", ((args->dport & 0xff) << 8) | (args->dport >> 8)); }`, want: [] },
  ], 'warning');
});

t.test('time-units', async (t) => {
  const entry = 'tracepoint:syscalls:sys_enter_openat { @start[tid] = nsecs; }\n';
  const exit = 'tracepoint:syscalls:sys_exit_openat ';
  runTable(t, timeUnitsLint, [
    {
      name: 'ms in the text, divided by 1000',
      src: entry + exit + '{ printf("%d ms\\n", (nsecs - @start[tid]) / 1000); delete(@start[tid]); }',
      want: ['lint.time-unit@2:57-84'],
      message: /is a time difference in us, but the format "%d ms\\n" says ms/,
    },
    { name: 'ms, divided by 1000000', src: entry + exit + '{ printf("%d ms\\n", (nsecs - @start[tid]) / 1000000); }', want: [] },
    { name: 'ms, divided by 1e6', src: entry + exit + '{ printf("took %lu msecs\\n", (nsecs - @start[tid]) / 1e6); }', want: [] },
    { name: 'us label before the value', src: entry + exit + '{ printf("lat_us=%d\\n", nsecs - @start[tid]); }', want: ['lint.time-unit@2:61-79'] },
    { name: 'usecs, through variables', src: entry + exit + '{ $d = nsecs - @start[tid]; $us = $d / 1000; printf("%d usecs\\n", $us); }', want: [] },
    { name: 'reported once: at the assignment, not again where printed', src: entry + exit + '{ $ms = (nsecs - @start[tid]) / 1000; printf("%d ms\\n", $ms); }', want: ['lint.time-unit@2:45-72'] },
    { name: 'variable named _ms holds us', src: entry + exit + '{ $lat_ms = (nsecs - @start[tid]) / 1000; printf("%d\\n", $lat_ms); }', want: ['lint.time-unit@2:49-76'] },
    { name: 'histogram map named @usecs without a divisor (biostacks)', src: entry + exit + '{ @usecs = hist(nsecs - @start[tid]); }', want: ['lint.time-unit@2:53-71'] },
    { name: 'histogram map named @usecs, divided', src: entry + exit + '{ @usecs = hist((nsecs - @start[tid]) / 1000); }', want: [] },
    { name: 'seconds from elapsed', src: 'interval:s:5 { printf("%d s elapsed\\n", elapsed / 1000000); }', want: ['lint.time-unit@1:41-57'] },
    { name: 'seconds from elapsed, right', src: 'interval:s:5 { printf("%d s elapsed\\n", elapsed / 1000000000); }', want: [] },
    { name: 'no unit in the text', src: entry + exit + '{ printf("%d\\n", (nsecs - @start[tid]) / 1000); }', want: [] },
    { name: 'not a time value', src: 'BEGIN { printf("%d ms\\n", pid / 1000); }', want: [] },
    { name: 'a word starting with s is not seconds', src: entry + exit + '{ printf("%d syscalls\\n", nsecs - @start[tid]); }', want: [] },
  ], 'warning');
  t.equal(formatUnit('', ' ms\n'), 'ms');
  t.equal(formatUnit('latency (us): ', '\n'), 'us');
  t.equal(formatUnit('', ' seconds'), 's');
  t.equal(formatUnit('', 'sec'), 's');
  t.equal(formatUnit('', ' items'), undefined);
  t.equal(nameUnit('@usecs'), 'us');
  t.equal(nameUnit('$delta_ms'), 'ms');
  t.equal(nameUnit('@s'), undefined);
});

t.test('printf format parsing', async (t) => {
  t.same(
    parseFormat('%-8d %s 100%% %llu%rx|%5.2s').map((c) => [c.argIndex, c.conv, c.text]),
    [[0, 'd', '%-8d'], [1, 's', '%s'], [2, 'u', '%llu'], [3, 'r', '%rx'], [4, 's', '%5.2s']],
  );
  t.same(parseFormat('a %d ms, b=%x').map((c) => [c.before, c.after]), [['a ', ' ms, b='], [' ms, b=', '']]);
});

t.test('a failing lint is reported, not thrown', async (t) => {
  const broken = (): { name: string; run(): never } => ({
    name: 'broken',
    run() {
      throw new Error('boom');
    },
  });
  const ds = runLints(program('BEGIN { system("x"); }'), context(), [broken, unsafeBuiltinsLint]);
  t.same(ds.map((d) => [d.code, d.severity]), [['lint.unsafe-builtin', 'error'], ['lint.internal-error', 'warning']]);
  t.match(ds[1]?.message ?? '', /the broken lint failed on this program and was skipped: boom/);
});

t.test('runLints combines every lint, sorted by position', async (t) => {
  const src = `kprobe:vfs_read { @start[tid] = nsecs; system("x"); }
tracepoint:syscalls:sys_enter_openat { printf("%s\\n", args->filename); }
kretprobe:vfs_read { printf("%d ms\\n", (nsecs - @start[tid]) / 1000); }`;
  const ds = runLints(program(src), context());
  t.same(ds.map((d) => `${d.code}@${where(d)}`), [
    'lint.probe-unavailable@1:1-15',
    'lint.map-never-deleted@1:19-37',
    'lint.unsafe-builtin@1:40-50',
    'lint.char-pointer-without-str@2:55-68',
    'lint.probe-unavailable@3:1-18',
    'lint.time-unit@3:40-67',
  ]);
  t.same(runLints(program('tracepoint:syscalls:sys_enter_openat { printf("%s\\n", str(args->filename)); }'), context()), []);
  t.match(formatDiagnostic(ds[3]!, 'x.bt', src), /^x\.bt:2:55-68: WARNING: args->filename is a const char \* printed with %s/);
});
