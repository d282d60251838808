/**
 * The contracts seam: tracepoint fields typed as bpftrace 0.17 types them (checked against
 * `bpftrace -d` output on the development machine), byte order from `__be` types, and the tracefs
 * provider over a recorded host and the live one.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fixtureHost, realHost } from '../../../kernel-contracts/kernel-reader/host.js';
import { parseTracepointFormat } from '../../../kernel-contracts/kernel-reader/tracepoint-format.js';
import { verifyProgram } from '../../../daemon/verifier/verify.js';
import {
  fieldsFromFormat,
  recordedContractProvider,
  tracefsContractProvider,
  type FieldContract,
} from '../../../daemon/verifier/contracts.js';

const FORMATS = join(import.meta.dirname, '../../fixtures/verifier/formats');
const recorded = recordedContractProvider(FORMATS);

async function field(p: ReturnType<typeof recordedContractProvider>, tp: string, name: string): Promise<FieldContract | undefined> {
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
  ['sched:sched_process_exec', 'filename', { kind: 'string' }],
];

t.test('recorded formats give bpftrace 0.17 field types', async (t) => {
  for (const [tp, name, want] of table) {
    const f = await field(recorded, tp, name);
    t.ok(f, `${tp} has ${name}`);
    if (f) t.match(f, want, `${tp} ${name}`);
  }
  t.notOk(await recorded.tracepointFields('nosuch', 'event'), 'unknown tracepoint');
  t.notOk(await recorded.tracepointFields('..', 'etc'), 'path tricks are refused');
});

t.test('enum domains come from __print_symbolic', async (t) => {
  const f = await field(recorded, 'sock:inet_sock_set_state', 'newstate');
  t.same(f?.enumDomain?.map((d) => d.value), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n]);
  t.equal(f?.enumDomain?.[0]?.name, 'TCP_ESTABLISHED');
});

t.test('__be16 / __be32 fields are network order', async (t) => {
  const text = `name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:__be16 dport;\toffset:8;\tsize:2;\tsigned:0;\n\tfield:__be32 daddr;\toffset:12;\tsize:4;\tsigned:0;\n\tfield:__u16 sport;\toffset:16;\tsize:2;\tsigned:0;\n\nprint fmt: "x"\n`;
  const fields = fieldsFromFormat(parseTracepointFormat('net', 'x', text));
  t.match(fields.find((f) => f.name === 'dport'), { byteOrder: 'big', size: 2, signed: false });
  t.match(fields.find((f) => f.name === 'daddr'), { byteOrder: 'big', size: 4 });
  t.match(fields.find((f) => f.name === 'sport'), { byteOrder: 'host' });
  t.notOk(fields.some((f) => f.name === 'common_type'), 'common fields are left out');
});

t.test('kernel fields: the well-known socket fields and their byte order', async (t) => {
  t.match(await recorded.kernelField('sock', ['__sk_common', 'skc_dport']), { byteOrder: 'big', size: 2 });
  t.match(await recorded.kernelField('struct sock_common', ['skc_num']), { byteOrder: 'host', size: 2 });
  t.notOk(await recorded.kernelField('sock', ['sk_nosuch']));
});

t.test('tracefs provider over a recorded host', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kgent-tracefs-'));
  mkdirSync(join(root, 'sys/kernel/tracing'), { recursive: true });
  symlinkSync(FORMATS, join(root, 'sys/kernel/tracing/events'));
  const p = tracefsContractProvider(fixtureHost(root));
  const fields = await p.tracepointFields('sock', 'inet_sock_set_state');
  t.match(fields?.find((f) => f.name === 'dport'), { size: 2, signed: false });
  t.notOk(await p.tracepointFields('sock', 'nosuch'));
  // The verifier asks synchronously and reruns once the asynchronous answers are in.
  const r = await verifyProgram('tracepoint:sock:inet_sock_set_state { printf("%d\\n", args->dport); assert(printed(0) <= 65535); assert(printed(0) == args->dport); }', {
    contracts: tracefsContractProvider(fixtureHost(root)),
  });
  t.equal(r.verdict, 'proved', JSON.stringify(r.assertions));
});

t.test('provider preconditions constrain the probe', async (t) => {
  const src = 'tracepoint:syscalls:sys_exit_read /args->ret < 0/ { @e[-args->ret] = count(); assert(mapkey(@e, 0) > 0); }';
  t.equal((await verifyProgram(src, { contracts: recorded })).verdict, 'refuted', 'without the syscall return range: -ret overflows');
  const withRange = {
    ...recorded,
    tracepointFields: recorded.tracepointFields.bind(recorded),
    kernelField: recorded.kernelField.bind(recorded),
    preconditions: (probe: { target: readonly string[] }) =>
      probe.target[1]?.startsWith('sys_exit_') ? [{ op: '>=' as const, left: { field: 'ret' }, right: { int: '-4095' } }] : [],
  };
  t.equal((await verifyProgram(src, { contracts: withRange })).verdict, 'proved', 'with ret >= -4095 from the contract');
});

t.test('tracefs provider over the live kernel', { skip: existsSync('/sys/kernel/tracing/events/sched') ? false : 'tracefs is not mounted' }, async (t) => {
  const p = tracefsContractProvider(realHost());
  const fields = await p.tracepointFields('sched', 'sched_switch');
  if (!fields) {
    t.skip('sched:sched_switch format is not readable here');
    return;
  }
  t.match(fields.find((f) => f.name === 'prev_comm'), { kind: 'string', size: 16 });
});
