/**
 * Each probe-type check of the kernel reader on its own (kernel-reader/probe-type-checks.ts),
 * table-driven over the evidence it reads: the verdict and the reason's key words. The whole
 * detection on fake hosts and the live kernel is in probe-support.test.ts.
 */
import t from 'tap';
import {
  iterSupport,
  kfuncSupport,
  kprobeSupport,
  perfEventSupport,
  selfSupport,
  tracepointSupport,
  uprobeSupport,
  type ProbeEvidence,
  type ProbeTypeFindings,
} from '../../../kernel-contracts/kernel-reader/probe-type-checks.js';
import { realHost } from '../../../kernel-contracts/kernel-reader/host.js';

const CONFIG_ALL = ['CONFIG_KPROBES', 'CONFIG_KPROBE_EVENTS', 'CONFIG_UPROBE_EVENTS', 'CONFIG_TRACEPOINTS', 'CONFIG_BPF_EVENTS', 'CONFIG_PERF_EVENTS', 'CONFIG_HAVE_HW_BREAKPOINT', 'CONFIG_BPF_SYSCALL', 'CONFIG_BPF_JIT', 'CONFIG_FUNCTION_TRACER', 'CONFIG_DYNAMIC_FTRACE', 'CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS'];

function config(off: readonly string[] = []): ProbeEvidence['config'] {
  return { source: '/proc/config.gz', values: new Map(CONFIG_ALL.filter((c) => !off.includes(c)).map((c) => [c, 'y'])) };
}

/** A kernel with everything, as on a stock distribution kernel. */
function evidence(over: Partial<ProbeEvidence> = {}): ProbeEvidence {
  return {
    config: config(),
    tracefs: '/sys/kernel/tracing',
    pmus: new Set(['software', 'tracepoint', 'kprobe', 'uprobe', 'breakpoint', 'cpu']),
    btfVmlinux: true,
    tracepointCount: 1500,
    kprobeEvents: true,
    uprobeEvents: true,
    filterFunctions: { readable: true, count: 50_000 },
    ftraceRefused: undefined,
    bpftrace: undefined,
    ...over,
  };
}

const v017 = { major: 0, minor: 17, patch: 0, text: '0.17.0' };
const v022 = { major: 0, minor: 22, patch: 1, text: '0.22.1' };

type Check = (e: ProbeEvidence) => ProbeTypeFindings | Promise<ProbeTypeFindings>;

const cases: { name: string; check: Check; e: ProbeEvidence; type: keyof ProbeTypeFindings; available: boolean; says: string }[] = [
  { name: 'kprobe: all there', check: kprobeSupport, e: evidence(), type: 'kprobe', available: true, says: 'CONFIG_KPROBES=y in /proc/config.gz' },
  { name: 'kprobe: CONFIG_KPROBES off', check: kprobeSupport, e: evidence({ config: config(['CONFIG_KPROBES']) }), type: 'kretprobe', available: false, says: 'CONFIG_KPROBES is not set in /proc/config.gz' },
  { name: 'kprobe: no kprobe_events nor PMU, no config', check: kprobeSupport, e: evidence({ config: undefined, kprobeEvents: false, pmus: new Set(['software']) }), type: 'kprobe', available: false, says: 'no kernel config found' },
  { name: 'kprobe: targets cannot be listed', check: kprobeSupport, e: evidence({ filterFunctions: { readable: false, error: 'EACCES: permission denied' } }), type: 'kprobe', available: true, says: 'available_filter_functions not readable (EACCES' },
  { name: 'uprobe: all there', check: uprobeSupport, e: evidence(), type: 'usdt', available: true, says: "uprobes on a binary's notes" },
  { name: 'BEGIN rides on uprobes', check: uprobeSupport, e: evidence({ config: config(['CONFIG_UPROBE_EVENTS']) }), type: 'BEGIN', available: false, says: 'needs uprobes: CONFIG_UPROBE_EVENTS is not set' },
  { name: 'tracepoint: counted', check: tracepointSupport, e: evidence(), type: 'tracepoint', available: true, says: '1500 tracepoints under /sys/kernel/tracing/events' },
  { name: 'tracepoint: no tracefs', check: tracepointSupport, e: evidence({ tracefs: undefined }), type: 'tracepoint', available: false, says: 'tracefs is not mounted' },
  { name: 'rawtracepoint: bpftrace 0.17 has none', check: tracepointSupport, e: evidence({ bpftrace: { version: v017 } }), type: 'rawtracepoint', available: false, says: 'bpftrace 0.17.0 has no rawtracepoint probes (added in 0.21)' },
  { name: 'rawtracepoint: CONFIG_BPF_EVENTS off', check: tracepointSupport, e: evidence({ config: config(['CONFIG_BPF_EVENTS']) }), type: 'rawtracepoint', available: false, says: 'CONFIG_BPF_EVENTS is not set' },
  { name: 'profile: software PMU', check: (e) => perfEventSupport(e, realHost()), e: evidence(), type: 'profile', available: true, says: 'perf software events (cpu-clock) present' },
  { name: 'profile: PMUs but no software one', check: (e) => perfEventSupport(e, realHost()), e: evidence({ pmus: new Set(['kprobe']) }), type: 'interval', available: false, says: 'no software PMU' },
  { name: 'hardware: a VM without PMU passthrough', check: (e) => perfEventSupport(e, realHost()), e: evidence({ pmus: new Set(['software', 'breakpoint']) }), type: 'hardware', available: false, says: 'has: breakpoint, software' },
  { name: 'hardware: cpu PMU', check: (e) => perfEventSupport(e, realHost()), e: evidence(), type: 'hardware', available: true, says: "hardware PMU 'cpu'" },
  { name: 'watchpoint: no breakpoint PMU', check: (e) => perfEventSupport(e, realHost()), e: evidence({ pmus: new Set(['software']) }), type: 'asyncwatchpoint', available: false, says: 'no breakpoint PMU' },
  { name: 'kfunc: all there', check: kfuncSupport, e: evidence({ bpftrace: { features: { kfunc: true } } }), type: 'kfunc', available: true, says: 'bpftrace --info reports kfunc: yes' },
  { name: 'kfunc: ftrace refused', check: kfuncSupport, e: evidence({ ftraceRefused: '/sys/kernel/tracing/available_filter_functions: EPERM' }), type: 'kretfunc', available: false, says: 'the kernel refuses ftrace function tracing' },
  { name: 'kfunc: no BTF, bpftrace says no', check: kfuncSupport, e: evidence({ btfVmlinux: false, bpftrace: { features: { kfunc: false } } }), type: 'kfunc', available: false, says: 'no kernel BTF); bpftrace --info reports kfunc: no' },
  { name: 'iter: every iter feature off', check: iterSupport, e: evidence({ bpftrace: { features: { 'iter:task': false, 'iter:task_file': false } } }), type: 'iter', available: false, says: 'iter:task: no, iter:task_file: no' },
  { name: 'iter: one iter feature on', check: iterSupport, e: evidence({ bpftrace: { features: { 'iter:task': true, 'iter:task_file': false } } }), type: 'iter', available: true, says: 'BPF iterators available' },
  { name: 'self: bpftrace 0.17', check: selfSupport, e: evidence({ bpftrace: { version: v017 } }), type: 'self', available: false, says: 'bpftrace 0.17.0 has no self probes (added in 0.22)' },
  { name: 'self: bpftrace 0.22', check: selfSupport, e: evidence({ bpftrace: { version: v022 } }), type: 'self', available: true, says: 'supports self probes' },
  { name: 'self: version unknown', check: selfSupport, e: evidence(), type: 'self', available: false, says: 'bpftrace version unknown' },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const found = await c.check(c.e);
    const s = found[c.type];
    t.ok(s, `${c.type} decided`);
    t.equal(s?.available, c.available);
    t.match(s?.reason ?? '', c.says);
  });
}

t.test('each check decides only its own family', async (t) => {
  const e = evidence();
  t.same(Object.keys(kprobeSupport(e)), ['kprobe', 'kretprobe']);
  t.same(Object.keys(uprobeSupport(e)), ['uprobe', 'uretprobe', 'usdt', 'BEGIN', 'END']);
  t.same(Object.keys(tracepointSupport(e)), ['tracepoint', 'rawtracepoint']);
  t.same(Object.keys(await perfEventSupport(e, realHost())), ['profile', 'interval', 'software', 'hardware', 'watchpoint', 'asyncwatchpoint']);
  t.same(Object.keys(kfuncSupport(e)), ['kfunc', 'kretfunc']);
  t.same(Object.keys(iterSupport(e)), ['iter']);
  t.same(Object.keys(selfSupport(e)), ['self']);
});
