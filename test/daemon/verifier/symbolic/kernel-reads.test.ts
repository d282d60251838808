/**
 * Kernel memory reads keyed by offset (`symbolic/fields.ts`): when the contract gives a member's
 * BTF offset, a read is a function of (address + offset, width), so one member read through two
 * struct types is one read; without offsets, reads are keyed by struct and field path.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { FieldContract, ProbeContractProvider } from '../../../../daemon/verifier/contract-seam.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';
import { recordedContractProvider } from '../../../support/recorded-contracts.js';

const u16 = (name: string, offset?: number, byteOrder: 'big' | 'host' = 'big'): FieldContract => ({
  name,
  kind: 'int',
  cType: byteOrder === 'big' ? '__be16' : '__u16',
  size: 2,
  signed: false,
  byteOrder,
  ...(offset !== undefined ? { offset } : {}),
});

/** struct sock { struct sock_common __sk_common; ... }, sock_common.skc_dport at 12, skc_num at 14. */
function provider(withOffsets: boolean): ProbeContractProvider {
  const at = (n: number): number | undefined => (withOffsets ? n : undefined);
  const members: Record<string, FieldContract> = {
    'sock:__sk_common.skc_dport': u16('skc_dport', at(12)),
    'sock:__sk_common.skc_num': u16('skc_num', at(14), 'host'),
    'sock_common:skc_dport': u16('skc_dport', at(12)),
    'sock_common:skc_num': u16('skc_num', at(14), 'host'),
  };
  return {
    tracepointFields: () => undefined,
    kernelField: (s, path) => members[`${s}:${path.join('.')}`],
    preconditions: () => [],
  };
}

const SAME = `kprobe:f { $c = (struct sock_common *)arg0; printf("%d\\n", $c->skc_dport);
  assert(printed(0) == ((struct sock *)arg0)->__sk_common.skc_dport); }`;
const OTHER_MEMBER = `kprobe:f { $c = (struct sock_common *)arg0; printf("%d\\n", $c->skc_num);
  assert(printed(0) == ((struct sock *)arg0)->__sk_common.skc_dport); }`;
const OTHER_POINTER = `kprobe:f { $c = (struct sock_common *)arg1; printf("%d\\n", $c->skc_dport);
  assert(printed(0) == ((struct sock *)arg0)->__sk_common.skc_dport); }`;

t.test('with offsets: the same member through two struct types is one read', async (t) => {
  const r = await verifyProgram(SAME, { contracts: provider(true) });
  t.equal(r.verdict, 'proved', JSON.stringify(r.assertions));
});

t.test('with offsets: different members at different offsets are different reads', async (t) => {
  const r = await verifyProgram(OTHER_MEMBER, { contracts: provider(true) });
  t.equal(r.verdict, 'refuted');
});

t.test('with offsets: the same member of two pointers that may differ is two reads', async (t) => {
  const r = await verifyProgram(OTHER_POINTER, { contracts: provider(true) });
  t.equal(r.verdict, 'refuted');
  t.match(r.assertions[0]?.counterexample?.summary ?? '', /arg0|arg1/);
});

t.test('without offsets (a provider without BTF) the two reads are independent: this correct program is refuted, a known gap the BTF providers close', async (t) => {
  const r = await verifyProgram(SAME, { contracts: provider(false) });
  t.equal(r.verdict, 'refuted');
});

t.test("the host provider gives this kernel's BTF offsets (sock.__sk_common at 0, sock_common.skc_dport at 12, skc_num at 14)", async (t) => {
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    t.skip('this kernel has no BTF (/sys/kernel/btf/vmlinux)');
    return;
  }
  // Checked with `bpftool btf dump file /sys/kernel/btf/vmlinux format raw`: STRUCT 'sock' member
  // '__sk_common' bits_offset=0; STRUCT 'sock_common' anonymous union at bits_offset=96 holding
  // 'skc_dport' at 0 and 'skc_num' at 16. bpftrace 0.17 prints the same port through both types.
  const host = recordedContractProvider();
  const viaSock = await host.kernelField('sock', ['__sk_common', 'skc_dport']);
  const viaCommon = await host.kernelField('sock_common', ['skc_dport']);
  const num = await host.kernelField('sock_common', ['skc_num']);
  t.equal(viaSock?.offset, 12);
  t.equal(viaCommon?.offset, 12);
  t.equal(num?.offset, 14);
  t.equal(viaSock?.byteOrder, 'big', 'skc_dport is __be16');
  t.equal(num?.byteOrder, 'host', 'skc_num is __u16');
});
