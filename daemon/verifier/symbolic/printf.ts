/**
 * `printed(I)` is argument I of the last printf as the output text shows it. bpftrace passes every
 * integer argument as 64 bits and user space formats it with C's printf, so the conversion's length
 * modifier decides what is shown. Checked on bpftrace 0.17 here, for the 64-bit value 0x1ffffffff:
 * `%d` prints -1, `%u` 4294967295, `%x` ffffffff, `%ld`/`%lu`/`%lld` 8589934591, `%lx`/`%llx`
 * 1ffffffff; for -5: `%u` 4294967291, `%lu` 18446744073709551611; for 0x80000000 `%d` prints
 * -2147483648; `%hd` of 0xfffe prints -2. (`%i` is not a conversion in 0.17: printf rejects it.)
 * So `printed(I)` of an integer is the low 8/16/32/64 bits (`hh`/`h`/none/`l`,`ll`,`j`,`z`,`t`),
 * signed for `d`, unsigned for `u`, `x`, `X`, `o`; strings and other conversions are unchanged.
 */
import type { ExecCore } from './core.js';
import { asInt } from './operators.js';
import { intTy, type Val } from './values.js';

/** One conversion of a format string: its length modifier and conversion character. */
export interface Conversion {
  readonly length: string;
  readonly conv: string;
}

/** The conversions of a printf format, in order (`%%` is not one). */
export function conversions(fmt: string): Conversion[] {
  const out: Conversion[] = [];
  const re = /%(%|[-+ #0]*\d*(?:\.\d+)?(hh|h|ll|l|j|z|t)?([a-zA-Z]))/g;
  for (const m of fmt.matchAll(re)) {
    if (m[1] === '%') continue;
    out.push({ length: m[2] ?? '', conv: m[3] ?? '' });
  }
  return out;
}

const BYTES: Readonly<Record<string, number>> = { hh: 1, h: 2, '': 4, l: 8, ll: 8, j: 8, z: 8, t: 8 };

/** `v` as the conversion `c` prints it. */
export function asPrinted(ex: ExecCore, v: Val, c: Conversion | undefined): Val {
  if (!c || (v.ty.k !== 'int' && v.ty.k !== 'bool')) return v;
  const signed = c.conv === 'd';
  if (!signed && !['u', 'x', 'X', 'o'].includes(c.conv)) return v;
  const size = BYTES[c.length] ?? 8;
  const b = ex.b;
  const x = asInt(ex, v);
  return { ty: intTy(size, signed), t: b.resize(b.extract(size * 8 - 1, 0, x.t), 64, signed) };
}
