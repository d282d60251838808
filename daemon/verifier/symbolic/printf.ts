/**
 * printf as bpftrace 0.17 does it, and `printed(I)`: argument I of the last printf as the output
 * text shows it.
 *
 * Which conversions there are: bpftrace 0.17 finds them with one regular expression,
 * `%-?[0-9]*(\.[0-9]+)?(TOKEN)`, searched left to right, where TOKEN is `s`, `r`, `rx`, `c`, or a
 * length `'' hh h l ll j z t` followed by one of `d u o x X p` (its printf_format_types table). So
 * `%i`, `%f`, `%+d`, `% d`, `%#x`, `%*d` are no conversions at all (checked here: `printf("%i\n", x)`
 * is refused, "Too many arguments for format string (1 supplied, 0 expected)"), and `%%d` is a
 * `%` followed by the conversion `%d` (`printf("%%d\n", x)` is accepted and prints `%d`: the
 * argument is swallowed). The argument count and type (`s` a string, `r`/`rx` a buffer, the rest an
 * integer or pointer) must match, or bpftrace refuses the program.
 *
 * How the text is made: user space cuts the format after each conversion and formats each piece
 * with C's snprintf and the argument as a 64-bit integer (a narrow value extended by its own
 * signedness: `(int32)-1` with `%lx` prints ffffffffffffffff). The text after the last conversion
 * is copied as it is (`printf("[%%]\n")` prints `[%%]`). A `%` sequence that is no conversion but
 * comes before one is read by snprintf as a conversion of its own, which takes the argument meant
 * for the next one: what is printed then is undefined.
 *
 * So `printed(I)`, checked on bpftrace 0.17 here for each conversion (golden `printf-*`, difftest
 * class `printf`): an integer conversion shows the low 8/16/32/64 bits (`hh`/`h`/none/`l`,`ll`,
 * `j`,`z`,`t`) of the 64-bit value, signed for `d`, unsigned for `u o x X` (`%hhd` of 300 is 44,
 * `%hd` of 0xfffe is -2, `%u` of -5 is 4294967291); `%c` the low byte, unsigned (`%c` of 0x141 is
 * `A`, 65); `%p` all 64 bits whatever the length (`%hhp` of 300 prints 0x12c; 0 prints `(nil)`);
 * `%s` the string, cut to the precision when one is given (`%.3s` of "hello" is "hel"). Widths and
 * the `-` flag only pad: they do not change the value.
 */
import type { Dialect } from '../dialect/index.js';
import type { ExecCore } from './core.js';
import { asInt } from './operators.js';
import { intTy, type Val } from './values.js';

/** One conversion of a format string as bpftrace 0.17 finds it. */
export interface Conversion {
  /** The conversion as written (`%-10.3s`). */
  readonly text: string;
  readonly leftAlign: boolean;
  readonly width?: number;
  readonly precision?: number;
  /** Length modifier: '', hh, h, l, ll, j, z, t. */
  readonly length: string;
  /** d u o x X p c s r rx. */
  readonly conv: string;
  /** What the argument must be. */
  readonly argKind: 'int' | 'str' | 'buffer';
  /** Offset of the conversion's `%` in the format. */
  readonly at: number;
  /**
   * Why the value is not what the text shows, when it is not: a stray `%` sequence before the
   * conversion that C's snprintf reads as a conversion of its own (undefined), or `%%d` (the
   * argument is not printed).
   */
  readonly undefinedBecause?: string;
}

const LENGTHS = ['hh', 'h', 'll', 'l', 'j', 'z', 't', ''];
const INT_CONVS = ['d', 'u', 'o', 'x', 'X', 'p'];
/** bpftrace 0.17's printf_format_types (as alternatives: a longer token first where one is a prefix of another). */
const TOKENS = ['s', 'rx', 'r', 'c', ...LENGTHS.flatMap((l) => INT_CONVS.map((c) => l + c))];
const SPEC = new RegExp(`%(-?)([0-9]*)(\\.[0-9]+)?(${TOKENS.join('|')})`, 'g');

/**
 * The conversions of a printf format as `d`'s bpftrace reads it, or undefined when that is not
 * known: `%%` is text in 0.17.0 and 0.23.2 (`%%d` takes an argument) and a percent sign on 0.27.1
 * (`printf("%%d\n", 1)` is refused there: "too many arguments"), run here; unmodelled on 0.24 to
 * 0.26, where a format both readings agree on is still known.
 */
export function dialectConversions(fmt: string, d: Dialect): Conversion[] | undefined {
  if (d.percentEscape === 'no') return conversions(fmt);
  if (d.percentEscape === 'yes') return conversions(fmt, true);
  const plain = conversions(fmt);
  const escaped = conversions(fmt, true);
  return plain.length === escaped.length ? escaped : undefined;
}

/**
 * The conversions of a printf format, in order, as bpftrace 0.17 finds them; with `percentEscape`
 * a `%%` is a percent sign first (bpftrace 0.27), never part of a conversion.
 */
export function conversions(fmt: string, percentEscape = false): Conversion[] {
  // Two blanks keep every offset.
  if (percentEscape) fmt = fmt.replace(/%%/g, '  ');
  const out: Conversion[] = [];
  let last = 0;
  for (const m of fmt.matchAll(SPEC)) {
    const at = m.index ?? 0;
    const token = m[4] as string;
    const conv = token === 'rx' ? 'rx' : token.slice(-1);
    const length = token === 'rx' ? '' : token.slice(0, -1);
    const before = fmt.slice(last, at);
    last = at + m[0].length;
    let undefinedBecause: string | undefined;
    // The text before this conversion goes through snprintf with it: `%%` is a `%`, any other
    // `%` starts a conversion of C's own.
    const stray = /%(?!%)/.exec(before.replace(/%%/g, ''));
    if (fmt[at - 1] === '%' && (before.match(/%+$/)?.[0].length ?? 0) % 2 === 1) {
      undefinedBecause = `the format has %${m[0]}: bpftrace 0.17 takes ${m[0]} as the conversion and prints it as text (C reads %% as a percent sign), so the argument is not printed`;
    } else if (stray) {
      const text = /%[^a-zA-Z%]*[a-zA-Z%]?/.exec(before.replace(/%%/g, ''))?.[0] ?? '%';
      undefinedBecause = `\`${text}\` before ${m[0]} is no conversion for bpftrace 0.17 but C's printf reads it as one, taking the argument: the printed value is undefined in bpftrace 0.17`;
    }
    out.push({
      text: m[0],
      leftAlign: m[1] === '-',
      ...(m[2] ? { width: Number(m[2]) } : {}),
      ...(m[3] ? { precision: Number(m[3].slice(1)) } : {}),
      length,
      conv,
      argKind: conv === 's' ? 'str' : conv === 'r' || conv === 'rx' ? 'buffer' : 'int',
      at,
      ...(undefinedBecause ? { undefinedBecause } : {}),
    });
  }
  return out;
}

const BYTES: Readonly<Record<string, number>> = { hh: 1, h: 2, '': 4, l: 8, ll: 8, j: 8, z: 8, t: 8 };

/** `v` as the conversion `c` prints it. */
export function asPrinted(ex: ExecCore, v: Val, c: Conversion | undefined): Val {
  if (!c) return v;
  const b = ex.b;
  if (c.undefinedBecause !== undefined) {
    // Marked as undefined (see `operators.ts`): never a value an assertion can rest on.
    const t = b.fresh('opaque', v.t.sort);
    ex.opaque.set(t.name as string, `${c.undefinedBecause} (undefined in bpftrace 0.17)`);
    return { ty: v.ty, t };
  }
  if (v.ty.k === 'str') {
    if (c.conv !== 's' || c.precision === undefined || c.precision >= v.ty.size) return v;
    if (ex.dialect.stringPrecision === 'ignored') return v;
    if (ex.dialect.stringPrecision === 'unmodelled') {
      const t = b.fresh('opaque', v.t.sort);
      ex.opaque.set(t.name as string, `\`%.${c.precision}s\` in bpftrace ${ex.dialect.version} is not modelled (0.23 cuts the string, 0.27 prints it whole)`);
      return { ty: v.ty, t };
    }
    // `%.Ns` shows the first N characters: bytes from N on read as NUL.
    const size = v.ty.size;
    const t = c.precision <= 0 ? b.bv(0, size * 8) : b.resize(b.extract(8 * c.precision - 1, 0, v.t), size * 8);
    return { ty: v.ty, t };
  }
  if (v.ty.k !== 'int' && v.ty.k !== 'bool') return v;
  const x = asInt(ex, v);
  if (c.conv === 'p') return { ty: intTy(8, false), t: x.t };
  if (c.conv === 'c') return { ty: intTy(1, false), t: b.resize(b.extract(7, 0, x.t), 64, false) };
  const signed = c.conv === 'd';
  if (!signed && !['u', 'x', 'X', 'o'].includes(c.conv)) return v;
  const size = BYTES[c.length] ?? 8;
  return { ty: intTy(size, signed), t: b.resize(b.extract(size * 8 - 1, 0, x.t), 64, signed) };
}
