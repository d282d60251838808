/**
 * `printed(I)` as the output shows it (`symbolic/printf.ts`): the conversions of a format, and an
 * integer argument cut to the conversion's length and signedness. Expected values are bpftrace
 * 0.17's output on this machine (see the module's header).
 */
import t from 'tap';
import { asPrinted, conversions } from '../../../../daemon/verifier/symbolic/printf.js';
import type { Val } from '../../../../daemon/verifier/symbolic/values.js';
import { constant, core, signed64, value } from './support.js';

t.test('conversions: in order, %% skipped, flags/width/precision and length modifiers read', async (t) => {
  // `%.3f` is no conversion in bpftrace 0.17 (its format table has no f).
  t.same(conversions('pid %d: %5lu%% of %-08llx, "%s" %hhd %zu %.3f %hx').map((c) => ({ length: c.length, conv: c.conv })), [
    { length: '', conv: 'd' },
    { length: 'l', conv: 'u' },
    { length: 'll', conv: 'x' },
    { length: '', conv: 's' },
    { length: 'hh', conv: 'd' },
    { length: 'z', conv: 'u' },
    { length: 'h', conv: 'x' },
  ]);
  t.same(conversions('no conversions %% here\n'), []);
});

const ex = core();
const show = (v: Val, fmt: string): { value: bigint; signed: boolean; size: number } => {
  const p = asPrinted(ex, v, conversions(fmt)[0]);
  if (p.ty.k !== 'int') throw new Error(`not an integer: ${p.ty.k}`);
  return { value: p.ty.signed ? signed64(p.t) : (value(p.t) as bigint), signed: p.ty.signed, size: p.ty.size };
};

const table: readonly { fmt: string; v: bigint; size?: number; signed?: boolean; shows: bigint }[] = [
  // The 64-bit value 0x1ffffffff (bpftrace 0.17 here: -1, 4294967295, ffffffff, 8589934591, 1ffffffff).
  { fmt: '%d', v: 0x1ffffffffn, shows: -1n },
  { fmt: '%u', v: 0x1ffffffffn, shows: 4294967295n },
  { fmt: '%x', v: 0x1ffffffffn, shows: 0xffffffffn },
  { fmt: '%X', v: 0x1ffffffffn, shows: 0xffffffffn },
  { fmt: '%ld', v: 0x1ffffffffn, shows: 8589934591n },
  { fmt: '%lu', v: 0x1ffffffffn, shows: 8589934591n },
  { fmt: '%lld', v: 0x1ffffffffn, shows: 8589934591n },
  { fmt: '%llx', v: 0x1ffffffffn, shows: 0x1ffffffffn },
  // -5: %u 4294967291, %lu 18446744073709551611.
  { fmt: '%u', v: -5n, signed: true, shows: 4294967291n },
  { fmt: '%lu', v: -5n, signed: true, shows: 18446744073709551611n },
  { fmt: '%ld', v: -5n, signed: true, shows: -5n },
  // 0x80000000 with %d: -2147483648; %hd of 0xfffe: -2; %hhu of 0x1ff: 255.
  { fmt: '%d', v: 0x80000000n, shows: -2147483648n },
  { fmt: '%hd', v: 0xfffen, shows: -2n },
  { fmt: '%hhu', v: 0x1ffn, shows: 255n },
  // A narrow unsigned source is extended first: (uint16)65535 with %d is 65535.
  { fmt: '%d', v: 65535n, size: 2, signed: false, shows: 65535n },
];

for (const row of table) {
  t.test(`${row.fmt} of ${row.v} (${row.size ?? 8} bytes, ${row.signed ? 'signed' : 'unsigned'}) shows ${row.shows}`, async (t) => {
    const v = constant(ex, row.v, row.size ?? 8, row.signed ?? false);
    const got = show(v, row.fmt);
    t.equal(got.value, row.shows);
    t.equal(got.signed, /d/.test(row.fmt), 'signed exactly for %d');
  });
}

t.test('strings, other conversions and a missing conversion leave the value as it is', async (t) => {
  const v = constant(ex, 0x1ffffffffn, 8, false);
  t.equal(asPrinted(ex, v, conversions('%s')[0]), v);
  t.equal(asPrinted(ex, v, undefined), v);
  const s: Val = { ty: { k: 'str', size: 16 }, t: ex.b.bv(0, 128) };
  t.equal(asPrinted(ex, s, conversions('%d')[0]), s);
});

t.test('a boolean printed with %d is 0 or 1', async (t) => {
  const yes: Val = { ty: { k: 'bool' }, t: ex.b.T };
  t.equal(show(yes, '%d').value, 1n);
});
