/**
 * Difftest classes `printf` and `printf-str`: every conversion bpftrace 0.17 accepts (d u o x X p
 * with each length hh h l ll j z t, c, s), with the `-` flag, widths (zero-padded too) and
 * precisions, over run-time integers of every width and over traced strings. The printed TEXT is
 * compared: the executor's `printed(I)` rendered by {@link renderC} (C's printf rules for these
 * conversions) must be exactly what bpftrace printed. A few cases put a stray `%+d` or `%%` before
 * a conversion, which makes the value undefined (verdict any-value).
 */
import type { ConcreteValue } from './concrete-run.js';
import { type Ctx, type GenClass, INT_TYPES, newInput, type Node } from './generator.js';

const LENGTHS = ['', 'hh', 'h', 'l', 'll', 'j', 'z', 't'];
const INT_CONVS = ['d', 'u', 'o', 'x', 'X', 'p', 'c'];

/** Classes whose cases are triggered by getenv(NAME) (their strings come from it). */
export const STRING_TRIGGER_CLASSES: ReadonlySet<string> = new Set(['printf-str']);

function spec(c: Ctx, conv: string, allowPrecision: boolean): string {
  const r = c.r;
  const minus = r.chance(0.25) ? '-' : '';
  const zero = !minus && conv !== 's' && conv !== 'c' && conv !== 'p' && r.chance(0.3) ? '0' : '';
  const width = r.chance(0.4) ? String(r.pick([1, 2, 3, 5, 8, 12, 20, 25])) : '';
  const precision = allowPrecision && r.chance(0.3) ? `.${r.pick([0, 1, 2, 3, 5, 10, 21])}` : '';
  return `%${minus}${width ? zero + width : ''}${precision}`;
}

function intArg(c: Ctx): { expr: string; kind: 'int'; conv: string; text: true } {
  const r = c.r;
  const conv = r.pick(INT_CONVS);
  const length = conv === 'c' ? '' : r.pick(LENGTHS);
  const ty = r.pick(INT_TYPES);
  let expr = newInput(c, ty);
  if (conv === 'c') {
    // The low byte is what %c prints: keep it printable and not the line's separator `|`, and put
    // the input above it so that the higher bits must be dropped.
    const low = r.pick([33, 48, 65, 90, 97, 122, 126, 35, 64]);
    expr = `((${expr} << 8) | ${low})`;
  } else if (r.chance(0.3)) expr = `(${expr} ${r.pick(['+', '-', '*'])} ${r.pick(['1', '300', '65536', '-1', '4294967296'])})`;
  let s = `${spec(c, conv, conv !== 'c' && conv !== 'p')}${length}${conv}`;
  // Rarely: a `%` sequence that is no 0.17 conversion before this one (undefined value), or `%%`
  // right before it (the argument is swallowed).
  if (r.chance(0.04)) s = `${r.pick(['%+d ', '% d ', '%#x '])}${s}`;
  else if (r.chance(0.04)) s = `%${s}`;
  return { expr, kind: 'int', conv: s, text: true };
}

export const PRINTF_CLASSES: Record<string, GenClass> = {
  printf: {
    weight: 3,
    optIn: true,
    gen: (c) => [{ t: 'print', k: c.nextPrint++, args: [0, 1, 2, 3].map(() => intArg(c)) } satisfies Node],
  },
  'printf-str': {
    weight: 2,
    optIn: true,
    gen: (c) => {
      const r = c.r;
      const sArg = (e: string): { expr: string; kind: 'str'; conv: string; text: true } => ({ expr: e, kind: 'str', conv: `${spec(c, 's', true)}s`, text: true });
      return [
        { t: 'stmt', text: `$s = str(arg0, ${r.pick([2, 5, 16, 40])});` },
        { t: 'print', k: c.nextPrint++, args: [sArg('str(arg0)'), sArg('$s'), intArg(c), sArg(`str(arg0, ${r.pick([0, 1, 3, 8, 64])})`)] } satisfies Node,
      ];
    },
  },
};

const M64 = (1n << 64n) - 1n;

/**
 * `v` as C's printf writes it with the conversion `conv` (only what bpftrace 0.17 accepts: the `-`
 * flag, a width that may start with 0, a precision, a length, one of d u o x X p c s). The value is
 * the executor's `printed(I)`, which already is what the conversion shows (low bits, signedness,
 * cut string); the length is therefore not applied again here.
 */
export function renderC(conv: string, v: ConcreteValue): string | undefined {
  const m = /^%(-?)(0?)([0-9]*)(?:\.([0-9]+))?(hh|h|ll|l|j|z|t)?([duoxXpcs])$/.exec(conv);
  if (!m) return undefined;
  const [, minus, zero, widthText, precText, , c] = m as unknown as [string, string, string, string, string | undefined, string | undefined, string];
  const width = widthText ? Number(widthText) : 0;
  const precision = precText === undefined ? undefined : Number(precText);
  let body: string;
  let sign = '';
  let zeroPad = zero === '0' && !minus;
  if (c === 's') {
    if (v.kind !== 'str') return undefined;
    body = precision === undefined ? v.text : v.text.slice(0, precision);
    zeroPad = false;
  } else {
    const bits = v.kind === 'int' ? v.bits & M64 : v.kind === 'bool' ? (v.value ? 1n : 0n) : undefined;
    if (bits === undefined) return undefined;
    if (c === 'c') {
      body = String.fromCharCode(Number(bits & 0xffn));
      zeroPad = false;
    } else if (c === 'p') {
      body = bits === 0n ? '(nil)' : `0x${bits.toString(16)}`;
      zeroPad = false;
    } else {
      let n = bits;
      if (c === 'd' && n >= 1n << 63n) {
        n = (1n << 64n) - n;
        sign = '-';
      }
      body = c === 'o' ? n.toString(8) : c === 'x' ? n.toString(16) : c === 'X' ? n.toString(16).toUpperCase() : n.toString(10);
      if (precision !== undefined) {
        zeroPad = false;
        if (precision === 0 && n === 0n) body = '';
        else body = body.padStart(precision, '0');
      }
    }
  }
  const text = sign + body;
  if (text.length >= width) return text;
  if (minus) return text.padEnd(width, ' ');
  if (zeroPad) return sign + body.padStart(width - sign.length, '0');
  return text.padStart(width, ' ');
}
