/** The printf-width lint: 64-bit values printed with 32-bit conversions (bpftrace 0.17 semantics in the lint's comment). */
import t from 'tap';
import { formatDiagnostic } from '../../../../daemon/protocol/diagnostic.js';
import { parse } from '../../../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, printfWidthLint, runLints, type FieldTypeInfo, type LintContext } from '../../../../daemon/verifier/lints/index.js';

const FORMATS: Readonly<Record<string, Readonly<Record<string, FieldTypeInfo>>>> = {
  'syscalls:sys_exit_read': { ret: { type: 'long', size: 8, signed: true } },
  // As tracefs gives it: `int dfd` in an 8-byte slot (the value is an int).
  'syscalls:sys_enter_openat': { dfd: { type: 'int', size: 8, signed: true }, filename: { type: 'const char *', size: 8, signed: false } },
  'sched:sched_process_exit': { pid: { type: 'pid_t', size: 4, signed: true } },
};

const ctx: LintContext = { probes: ALL_PROBES_AVAILABLE, policy: { allowUnsafe: false }, fields: { fieldType: (c, e, f) => FORMATS[`${c}:${e}`]?.[f] } };

function lint(src: string): string[] {
  const r = parse(src, 'w.bt');
  if (!r.program) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, 'w.bt', src)).join('\n'));
  return runLints(r.program, ctx, [printfWidthLint]).map((d) => `${d.span?.line}:${d.span?.column} ${d.message}`);
}

const cases: { name: string; src: string; want: RegExp[] }[] = [
  { name: 'args->ret (long) with %d', src: 'tracepoint:syscalls:sys_exit_read { printf("%d\\n", args->ret); }', want: [/^1:\d+ args->ret is 64-bit \(long\); %d shows only its low 32 bits: use %ld$/] },
  { name: '%u and %x and %-8d keep their flags', src: 'tracepoint:syscalls:sys_exit_read { printf("%u %x %-8d\\n", args->ret, args->ret, args->ret); }', want: [/use %lu$/, /use %lx$/, /use %-8ld$/] },
  { name: '%hd of a 64-bit value', src: 'tracepoint:syscalls:sys_exit_read { printf("%hd\\n", args->ret); }', want: [/%hd shows only its low 32 bits: use %ld/] },
  { name: 'nsecs and elapsed', src: 'BEGIN { printf("%d %u\\n", nsecs, elapsed); }', want: [/nsecs is a 64-bit time in ns; %d/, /elapsed is a 64-bit time in ns; %u/] },
  { name: 'a variable holding a ns difference', src: 'tracepoint:syscalls:sys_exit_read { $d = nsecs - @s[tid]; printf("%d\\n", $d); }', want: [/\$d is a 64-bit time difference in ns/] },
  { name: 'a cast to uint64', src: 'BEGIN { printf("%x\\n", (uint64)1); }', want: [/\(uint64\)1 is 64-bit \(uint64\)/] },
  { name: 'a pointer field with %x', src: 'tracepoint:syscalls:sys_enter_openat { printf("%x\\n", args->filename); }', want: [/args->filename is 64-bit \(const char \*\); %x/] },
  { name: '%ld, %lu, %llx, %zu are right', src: 'tracepoint:syscalls:sys_exit_read { printf("%ld %lu %llx %zu\\n", args->ret, nsecs, args->ret, args->ret); }', want: [] },
  { name: 'an int in an 8-byte slot is not 64-bit', src: 'tracepoint:syscalls:sys_enter_openat { printf("%d\\n", args->dfd); }', want: [] },
  { name: 'pid_t, pid, a ms difference', src: 'tracepoint:sched:sched_process_exit { printf("%d %d %d\\n", args->pid, pid, (nsecs - @s[tid]) / 1000000); }', want: [] },
  { name: '%s and %c are not integer widths', src: 'tracepoint:syscalls:sys_exit_read { printf("%s\\n", comm); }', want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const got = lint(c.src);
    t.equal(got.length, c.want.length, got.join('\n'));
    c.want.forEach((re, i) => t.match(got[i] ?? '', re));
  });
}
