/**
 * The daemon's contracts for the verifier (daemon/contracts/): tracepoint fields typed as bpftrace
 * 0.17 types them (checked against `bpftrace -d` output on the development machine), struct
 * members from the host's BTF with their byte order and offsets, and the soundness rule: only
 * what the kernel guarantees becomes a precondition (print tables, documentation and LLM output
 * are hints).
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hostContractProvider } from '../../../daemon/verification/host-contracts.js';
import { fieldContractOf, preconditionsFor } from '../../../daemon/verification/contract-adapter.js';
import type { FieldContract, ProbeContractProvider } from '../../../daemon/verifier/contract-seam.js';
import { verifyProgram } from '../../../daemon/verifier/verify.js';
import { deriveTracepointContract } from '../../../kernel-contracts/contracts/derive.js';
import type { FunctionContract, ValueContract } from '../../../kernel-contracts/contracts/model.js';
import { fixtureHost, realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { parseTracepointFormat } from '../../../kernel-contracts/kernel-reader/tracepoint-format.js';
import { recordedContractProvider, recordedFormatsDir } from '../../support/recorded-contracts.js';

const FORMATS = recordedFormatsDir();
const recorded = recordedContractProvider(FORMATS);
const hasBtf = existsSync('/sys/kernel/btf/vmlinux');

async function field(p: ProbeContractProvider, tp: string, name: string): Promise<FieldContract | undefined> {
  const [c, e] = tp.split(':') as [string, string];
  return (await p.tracepointFields(c, e))?.find((f) => f.name === name);
}

// Expected types: what `bpftrace -d` (0.17) prints for `$x = args->FIELD` on this kernel.
const table: [string, string, Partial<FieldContract>][] = [
  ['sock:inet_sock_set_state', 'dport', { kind: 'int', size: 2, signed: false, byteOrder: 'host' }],
  ['sock:inet_sock_set_state', 'skaddr', { kind: 'pointer', size: 8, pointee: 'void' }],
  ['sock:inet_sock_set_state', 'saddr', { kind: 'array', size: 4, elementSize: 1 }],
  ['syscalls:sys_enter_openat', 'dfd', { kind: 'int', size: 8, signed: true }],
  ['syscalls:sys_enter_openat', 'flags', { kind: 'int', size: 8, signed: true }],
  ['syscalls:sys_enter_openat', 'mode', { kind: 'int', size: 2, signed: false }],
  ['syscalls:sys_enter_openat', 'filename', { kind: 'pointer', pointee: 'char' }],
  ['syscalls:sys_enter_openat', '__syscall_nr', { kind: 'int', size: 4, signed: true }],
  ['syscalls:sys_exit_read', 'ret', { kind: 'int', size: 8, signed: true }],
  ['syscalls:sys_enter_kill', 'pid', { kind: 'int', size: 8, signed: false }],
  ['syscalls:sys_enter_kill', 'sig', { kind: 'int', size: 8, signed: true }],
  ['sched:sched_switch', 'prev_comm', { kind: 'string', size: 16 }],
  ['sched:sched_switch', 'prev_pid', { kind: 'int', size: 4, signed: true }],
  ['sched:sched_switch', 'prev_state', { kind: 'int', size: 8, signed: true }],
  // `args->filename` of a __data_loc field is a 64-bit address in the record; str(args->filename) is the string.
  ['sched:sched_process_exec', 'filename', { kind: 'int', size: 8, signed: false, dataLoc: true }],
];

t.test('recorded formats give bpftrace 0.17 field types', async (t) => {
  for (const [tp, name, want] of table) {
    const f = await field(recorded, tp, name);
    t.ok(f, `${tp} has ${name}`);
    if (f) t.match(f, want, `${tp} ${name}`);
  }
  t.notOk(await recorded.tracepointFields('nosuch', 'event'), 'unknown tracepoint');
  t.notOk(await recorded.tracepointFields('..', 'etc'), 'path tricks are refused');
  const host = hostContractProvider(realHost(), { formatsDir: FORMATS });
  t.notOk(await host.tracepointFields('..', 'etc'), 'path tricks are refused by the host provider too');
  t.match(await field(host, 'sock:inet_sock_set_state', 'dport'), { size: 2, signed: false, offset: 26 }, 'the host provider agrees (offset as in the format)');
});

t.test('print tables are hints, never domains', async (t) => {
  const newstate = await field(recorded, 'sock:inet_sock_set_state', 'newstate');
  t.equal(newstate?.enumDomain, undefined, '__print_symbolic does not bound newstate');
  const protocol = await field(recorded, 'sock:sock_send_length', 'protocol');
  t.equal(protocol?.enumDomain, undefined, 'the {6, 132, 262} table does not bound protocol');
  // UDP (17) really reaches sock_send_length: a correct UDP filter is not "a predicate that can never hold".
  const udp = `tracepoint:sock:sock_send_length /args->protocol == 17/ { @bytes[comm] = sum(args->ret); assert(mapval(@bytes) == args->ret); }`;
  t.equal((await verifyProgram(udp, { contracts: recorded })).verdict, 'proved');
  // And no wrong program is proved under the table's false assumption.
  const wrong = `tracepoint:sock:sock_send_length { $tcp = args->protocol == 6 ? 1 : 0; @tcp[$tcp] = count(); assert(mapkey(@tcp, 0) == 1 || args->protocol == 132 || args->protocol == 262); }`;
  t.equal((await verifyProgram(wrong, { contracts: recorded })).verdict, 'refuted');
  // The table still reaches people and the LLM, marked as a hint.
  const fmt = parseTracepointFormat('sock', 'sock_send_length', (await import('node:fs')).readFileSync(join(FORMATS, 'sock/sock_send_length/format'), 'utf8'));
  const c = deriveTracepointContract(fmt, []);
  const hint = c.conditions.find((k) => k.source === 'print-fmt');
  t.ok(hint, 'the print table is kept as a condition');
  t.match(hint?.note, /hint/);
  t.same(preconditionsFor(c, 'tracepoint').filter((e) => JSON.stringify(e).includes('"132"')), [], 'but never becomes a precondition');
});

t.test('__be16 / __be32 fields are network order', async (t) => {
  const text = `name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:__be16 dport;\toffset:8;\tsize:2;\tsigned:0;\n\tfield:__be32 daddr;\toffset:12;\tsize:4;\tsigned:0;\n\tfield:__u16 sport;\toffset:16;\tsize:2;\tsigned:0;\n\nprint fmt: "x"\n`;
  const fields = deriveTracepointContract(parseTracepointFormat('net', 'x', text), []).fields.map(fieldContractOf);
  t.match(fields.find((f) => f.name === 'dport'), { byteOrder: 'big', size: 2, signed: false });
  t.match(fields.find((f) => f.name === 'daddr'), { byteOrder: 'big', size: 4 });
  t.match(fields.find((f) => f.name === 'sport'), { byteOrder: 'host' });
  t.notOk(fields.some((f) => f.name === 'common_type'), 'common fields are left out');
});

t.test('kernel struct members come from BTF', { skip: hasBtf ? false : 'this kernel has no BTF' }, async (t) => {
  t.match(await recorded.kernelField('sock', ['__sk_common', 'skc_dport']), { kind: 'int', byteOrder: 'big', size: 2, offset: 12 });
  t.match(await recorded.kernelField('struct sock_common', ['skc_dport']), { byteOrder: 'big', size: 2, offset: 12 }, 'the same memory through the embedded struct');
  t.match(await recorded.kernelField('struct sock_common', ['skc_num']), { byteOrder: 'host', size: 2 });
  t.match(await recorded.kernelField('sockaddr_in', ['sin_port']), { byteOrder: 'big', size: 2, cType: '__be16' });
  t.match(await recorded.kernelField('sockaddr_in', ['sin_addr', 's_addr']), { byteOrder: 'big', size: 4 });
  t.match(await recorded.kernelField('task_struct', ['tgid']), { kind: 'int', size: 4, signed: true });
  t.match(await recorded.kernelField('task_struct', ['comm']), { kind: 'string', size: 16 });
  t.notOk(await recorded.kernelField('sock', ['sk_nosuch']));
  t.notOk(await recorded.kernelField('no_such_struct', ['x']));
});

t.test('a cast to a BTF struct is verified with its real field types', { skip: hasBtf ? false : 'this kernel has no BTF' }, async (t) => {
  const right = `tracepoint:syscalls:sys_enter_connect {
    $sa = (struct sockaddr_in *)args->uservaddr;
    printf("%d\\n", bswap($sa->sin_port));
    assert(printed(0) == ((($sa->sin_port & 0xff) << 8) | ($sa->sin_port >> 8)));
  }`;
  t.equal((await verifyProgram(right, { contracts: recorded })).verdict, 'proved');
  const wrong = `tracepoint:syscalls:sys_enter_connect {
    $sa = (struct sockaddr_in *)args->uservaddr;
    printf("%d\\n", $sa->sin_port);
    assert(printed(0) == ((($sa->sin_port & 0xff) << 8) | ($sa->sin_port >> 8)));
  }`;
  t.equal((await verifyProgram(wrong, { contracts: recorded })).verdict, 'refuted', 'a port printed without bswap is refuted');
});

t.test('host provider over a recorded host (tracefs, no BTF)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kgent-tracefs-'));
  mkdirSync(join(root, 'sys/kernel/tracing'), { recursive: true });
  symlinkSync(FORMATS, join(root, 'sys/kernel/tracing/events'));
  const p = hostContractProvider(fixtureHost(root));
  t.match(await field(p, 'sock:inet_sock_set_state', 'dport'), { size: 2, signed: false });
  t.notOk(await p.tracepointFields('sock', 'nosuch'));
  t.notOk(await p.kernelField('sock', ['__sk_common', 'skc_dport']), 'no BTF here: members are unknown, not guessed');
  // The verifier asks synchronously and reruns once the asynchronous answers are in.
  const r = await verifyProgram('tracepoint:sock:inet_sock_set_state { printf("%d\\n", args->dport); assert(printed(0) <= 65535); assert(printed(0) == args->dport); }', {
    contracts: hostContractProvider(fixtureHost(root)),
  });
  t.equal(r.verdict, 'proved', JSON.stringify(r.assertions));
});

t.test('provider preconditions constrain the probe', async (t) => {
  const src = 'tracepoint:syscalls:sys_exit_read /args->ret < 0/ { @e[-args->ret] = count(); assert(mapkey(@e, 0) > 0); }';
  t.equal((await verifyProgram(src, { contracts: recorded })).verdict, 'refuted', 'without the syscall return range: -ret overflows');
  const withRange: ProbeContractProvider = {
    tracepointFields: recorded.tracepointFields.bind(recorded),
    kernelField: recorded.kernelField.bind(recorded),
    preconditions: (probe) => (probe.target[1]?.startsWith('sys_exit_') ? [{ op: '>=' as const, left: { field: 'ret' }, right: { int: '-4095' } }] : []),
  };
  t.equal((await verifyProgram(src, { contracts: withRange })).verdict, 'proved', 'with ret >= -4095 from the contract');
});

function value(name: string, bits: number, signed: boolean, extra: Partial<ValueContract> = {}): ValueContract {
  return { name, access: {}, type: bits === 64 ? 'long' : 'int', kind: 'int', bits, signed, byteOrder: 'host', size: bits / 8, ...extra };
}

t.test('only kernel guarantees become preconditions', async (t) => {
  const fn: FunctionContract = {
    kind: 'function',
    id: 'function:f',
    name: 'f',
    module: 'vmlinux',
    linkage: 'global',
    prototype: 'int f(int family, long len)',
    args: [value('family', 32, true), value('len', 64, true)],
    ret: value('retval', 32, true),
    probes: [],
    conditions: [
      { kind: 'pre', expr: { op: 'in', lhs: { field: 'family' }, rhs: [2, 10] }, source: 'doc' },
      { kind: 'pre', expr: { op: 'ge', lhs: { field: 'len' }, rhs: 0 }, source: 'llm' },
      { kind: 'pre', expr: { op: 'range', lhs: { field: 'len' }, min: '-9223372036854775808', max: '9223372036854775807' }, source: 'type' },
      { kind: 'pre', expr: { op: 'range', lhs: { field: 'family' }, min: -2147483648, max: 2147483647 }, source: 'type' },
      { kind: 'post', expr: { op: 'range', lhs: { ret: true }, min: -2147483648, max: 2147483647 }, source: 'type' },
    ],
  };
  const kprobe = preconditionsFor(fn, 'kprobe');
  t.equal(kprobe.length, 1, 'documentation and LLM conditions are hints; a 32-bit range says nothing of a 64-bit register');
  t.match(kprobe[0], { op: '&&', left: { left: { builtin: 'arg1' } } });
  t.same(preconditionsFor(fn, 'kretprobe'), [], 'an int return value does not bound the 64-bit retval register');
  t.equal(preconditionsFor(fn, 'kfunc').length, 2, 'kfunc reads typed arguments: their type ranges hold');
  t.equal(preconditionsFor(fn, 'kretfunc').length, 3, 'kretfunc: argument ranges and the typed return value');
});

t.test('host provider over the live kernel', { skip: existsSync('/sys/kernel/tracing/events/sched') ? false : 'tracefs is not mounted' }, async (t) => {
  const p = hostContractProvider(realHost());
  const fields = await p.tracepointFields('sched', 'sched_switch');
  if (!fields) {
    t.skip('sched:sched_switch format is not readable here');
    return;
  }
  t.match(fields.find((f) => f.name === 'prev_comm'), { kind: 'string', size: 16 });
});
