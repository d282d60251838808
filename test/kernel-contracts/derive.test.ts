import t from 'tap';
import { parseTracepointFormat } from '../../kernel-contracts/kernel-reader/tracepoint-format.js';
import { deriveFunctionContract, deriveTracepointContract, byteOrderOf, familyDomainFromText, type ResolvedFunction, type TypeInfo } from '../../kernel-contracts/contracts/derive.js';
import { renderCond, validateAgainstSchema } from '../../kernel-contracts/contracts/expr.js';
import { RECORDED_FORMATS } from './helpers/fake-kernel.js';

const tp = (key: string) => {
  const [c, e] = key.split(':') as [string, string];
  return deriveTracepointContract(parseTracepointFormat(c, e, RECORDED_FORMATS[key]!), [{ probe: 'tracepoint', available: true }]);
};

t.test('byte order from typedef names', async (t) => {
  const cases: [string, string][] = [
    ['__be16', 'big'],
    ['__be32', 'big'],
    ['const __be64', 'big'],
    ['__le32', 'little'],
    ['__u16', 'host'],
    ['unsigned short', 'host'],
  ];
  for (const [type, want] of cases) t.equal(byteOrderOf(type), want, type);
});

t.test('sock:inet_sock_set_state: family domain from the print fmt symbol table', async (t) => {
  const c = tp('sock:inet_sock_set_state');
  t.equal(c.id, 'tracepoint:sock:inet_sock_set_state');
  const family = c.fields.find((f) => f.name === 'family')!;
  t.equal(family.type, '__u16');
  t.equal(family.bits, 16);
  t.equal(family.signed, false);
  t.equal(family.offset, 28);
  t.equal(family.byteOrder, 'host', 'the tracepoint stores ports/family in host order (__u16), not __be16');
  t.same(family.enum?.values, [
    { name: 'AF_INET', value: 2 },
    { name: 'AF_INET6', value: 10 },
  ]);
  const conds = c.conditions.map((k) => `${k.source}: ${renderCond(k.expr)}`);
  t.ok(conds.includes('print-fmt: family in {2, 10}'), 'family in {AF_INET, AF_INET6}');
  t.ok(conds.includes('type: 0 <= family <= 65535'));
  t.ok(conds.includes('print-fmt: protocol in {6, 132, 262}'));
  t.ok(conds.includes('print-fmt: newstate in {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}'));
  t.notOk(conds.some((x) => x.includes('saddr ')), 'no range condition on arrays');
  const sk = c.fields.find((f) => f.name === 'skaddr')!;
  t.equal(sk.kind, 'pointer');
  t.equal(sk.nullable, true);
  t.equal(sk.access['tracepoint'], 'args->skaddr');
  for (const k of c.conditions) t.same(validateAgainstSchema(k, 'condition'), [], `valid: ${renderCond(k.expr)}`);
});

t.test('bpftrace view of syscall slots and data-loc strings', async (t) => {
  const open = tp('syscalls:sys_enter_openat');
  const dfd = open.fields.find((f) => f.name === 'dfd')!;
  t.equal(dfd.bits, 64);
  t.equal(dfd.signed, true, 'int in an 8-byte slot reads as s64 in bpftrace');
  const exec = tp('sched:sched_process_exec');
  const fn = exec.fields.find((f) => f.name === 'filename')!;
  t.equal(fn.dataLoc, true);
  t.equal(fn.access['tracepoint'], 'str(args->filename)');
  const pid = exec.fields.find((f) => f.name === 'pid')!;
  t.same([pid.bits, pid.signed], [32, true]);
});

const int = (type: string, bits: number, signed: boolean, extra: Partial<TypeInfo> = {}): TypeInfo => ({ type, kind: 'int', bits, signed, byteOrder: byteOrderOf(type), size: bits / 8, ...extra });
const ptr = (pointee: string): TypeInfo => ({ type: `${pointee} *`, kind: 'pointer', bits: 64, signed: false, byteOrder: 'host', size: 8, pointee });

t.test('function contract: prototype, probes, byte order, nullability, doc family domain', async (t) => {
  const fn: ResolvedFunction = {
    name: 'fake_bind',
    module: 'vmlinux',
    linkage: 'global',
    variadic: false,
    params: [
      { name: 'sk', type: ptr('struct sock') },
      { name: 'port', type: int('__be16', 16, false) },
      { name: 'family', type: int('unsigned short', 16, false) },
    ],
    ret: int('int', 32, true),
  };
  const probes = [
    { probe: 'kprobe' as const, available: false, reason: 'kprobes are not enabled' },
    { probe: 'kretprobe' as const, available: false, reason: 'kprobes are not enabled' },
  ];
  const c = deriveFunctionContract(fn, probes, {
    doc: { summary: 'bind', source: 'kernel-doc', returns: '0 or -errno' },
    params: { family: 'address family, AF_INET or AF_INET6' },
  });
  t.equal(c.prototype, 'int fake_bind(struct sock *sk, __be16 port, unsigned short family)');
  t.equal(c.args[0]!.nullable, true);
  t.equal(c.args[0]!.access['kprobe'], 'arg0');
  t.equal(c.args[1]!.byteOrder, 'big');
  t.equal(c.ret?.access['kretprobe'], 'retval');
  const conds = c.conditions.map((k) => `${k.kind} ${k.source}: ${renderCond(k.expr)}`);
  t.ok(conds.includes('pre typedef: port is big-endian'));
  t.ok(conds.includes('pre doc: family in {2, 10}'));
  t.ok(conds.includes('post type: -2147483648 <= retval <= 2147483647'));
  t.same(c.probes, probes, 'the contract exists even where its probe types are unavailable, and says so');
  t.same(familyDomainFromText('AF_FOO only'), undefined);
});
