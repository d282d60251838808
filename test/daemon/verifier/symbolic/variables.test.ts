/**
 * Scratch variables (`symbolic/variables.ts`): the first assignment fixes the slot's type; a wider
 * value is dropped, a same-or-narrower one overwrites the low bytes and is read back with the
 * slot's signedness; `++`/`--` wrap at the slot's width. Expected values are bpftrace 0.17's on
 * this machine, with run-time values (see the module's header).
 */
import t from 'tap';
import { assignVar, wrapToVar } from '../../../../daemon/verifier/symbolic/variables.js';
import type { Val } from '../../../../daemon/verifier/symbolic/values.js';
import { constant, core, input, pathState, signed64, value } from './support.js';

type C = readonly [value: bigint, size: number, signed: boolean];

const table: readonly { name: string; first: C; then: C; gives: bigint }[] = [
  { name: '$x = (int32)5; $x = $x * 10 (64-bit) keeps 5', first: [5n, 4, true], then: [50n, 8, true], gives: 5n },
  { name: '$v = (uint32)5; $v = (uint64)7 keeps 5', first: [5n, 4, false], then: [7n, 8, false], gives: 5n },
  { name: '$a = (uint16)0x1234; $a = (uint8)0x56 gives 0x1256', first: [0x1234n, 2, false], then: [0x56n, 1, false], gives: 0x1256n },
  { name: '$c = (int32)0; $c = (int8)-2 gives 254', first: [0n, 4, true], then: [-2n, 1, true], gives: 254n },
  { name: '$b = (int32)-1; $b = (int8)-2 gives -2', first: [-1n, 4, true], then: [-2n, 1, true], gives: -2n },
  { name: '$d = (int16)5; $d = (uint16)65535 gives -1 (read as the slot: signed)', first: [5n, 2, true], then: [65535n, 2, false], gives: -1n },
  { name: 'same width overwrites: $e = (uint64)1; $e = (uint64)2 gives 2', first: [1n, 8, false], then: [2n, 8, false], gives: 2n },
];

for (const row of table) {
  t.test(row.name, async (t) => {
    const ex = core();
    const s = pathState();
    assignVar(ex, s, '$x', constant(ex, ...row.first));
    assignVar(ex, s, '$x', constant(ex, ...row.then));
    const v = s.vars.get('$x') as Val;
    t.same(v.ty, { k: 'int', size: row.first[1], signed: row.first[2] }, 'the slot keeps the first type');
    t.equal(signed64(v.t), row.gives);
  });
}

t.test('the type is fixed per probe, in source order, not per path', async (t) => {
  const ex = core();
  const one = pathState();
  assignVar(ex, one, '$x', constant(ex, 7n, 1, false));
  // Another path of the same probe assigns a wider value first on that path: the uint8 slot drops
  // it, so the variable stays unassigned there (reading it is not modelled: the path is cut).
  const other = pathState();
  assignVar(ex, other, '$x', constant(ex, 0x1ffn, 8, false));
  t.notOk(other.vars.has('$x'));
  assignVar(ex, other, '$x', constant(ex, 0x1ffn, 1, false));
  t.same((other.vars.get('$x') as Val).ty, { k: 'int', size: 1, signed: false });
});

t.test('a narrower value into a slot never assigned on this path leaves its high bytes unknown', async (t) => {
  const ex = core();
  assignVar(ex, pathState(), '$x', constant(ex, 0n, 4, false));
  const s = pathState();
  assignVar(ex, s, '$x', constant(ex, 0x56n, 1, false));
  const v = s.vars.get('$x') as Val;
  t.ok([...ex.opaque.values()].some((r) => r.includes('$x before its first assignment')), 'an opaque symbol stands for the old bytes');
  const unassigned = [...ex.opaque.keys()][0] as string;
  t.equal(value(v.t, { [unassigned]: 0x123456n }), 0x123456n);
});

t.test('symbolic values follow the same rule: a 64-bit input into a uint16 slot is dropped', async (t) => {
  const ex = core();
  const s = pathState();
  assignVar(ex, s, '$p', input(ex, 'args->pid', 4, true));
  assignVar(ex, s, '$p', input(ex, 'wide', 8, false));
  t.equal(signed64((s.vars.get('$p') as Val).t, { 'args->pid': 0xffffffffn, wide: 9n }), -1n);
});

t.test('++/-- wrap at the width of the variable', async (t) => {
  const ex = core();
  const s = pathState();
  const bump = (name: string, c: C, delta: bigint): bigint => {
    assignVar(ex, s, name, constant(ex, ...c));
    const old = s.vars.get(name) as Val;
    const sum: Val = { ty: old.ty, t: ex.b.add(old.t, ex.b.bv(BigInt.asUintN(64, delta), 64)) };
    return signed64(wrapToVar(ex, name, sum).t);
  };
  t.equal(bump('$u8', [255n, 1, false], 1n), 0n, '(uint8)255 ++ is 0');
  t.equal(bump('$s32', [0x7fffffffn, 4, true], 1n), -2147483648n, '(int32)0x7fffffff ++ is -2147483648');
  t.equal(bump('$u16', [0n, 2, false], -1n), 65535n, '(uint16)0 -- is 65535');
  t.equal(bump('$s64', [5n, 8, true], 1n), 6n, 'a 64-bit variable just adds');
  const unknown: Val = { ty: { k: 'int', size: 8, signed: false }, t: ex.b.bv(3, 64) };
  t.equal(wrapToVar(ex, '$never', unknown), unknown, 'a variable without a slot is left alone');
});
