/**
 * printf format strings as bpftrace reads them: conversions (`%-8d`, `%llu`, `%s`, `%rx`) with the
 * argument each consumes, and the literal text around them (where units like `ms` are written).
 */
import type { Expr } from '../frontend/ast.js';

export interface Conversion {
  /** 0-based index of the argument after the format string. */
  readonly argIndex: number;
  /** The conversion letter: d i u x X o c s p r ... */
  readonly conv: string;
  /** The whole specifier as written, e.g. `%-8lu`. */
  readonly text: string;
  /** Literal text between the previous conversion (or the start) and this one. */
  readonly before: string;
  /** Literal text between this conversion and the next one (or the end). */
  readonly after: string;
}

const SPEC = /%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|j|z|t)?([a-zA-Z])([xh])?/y;

/** Parses a printf format (escapes already decoded). `%%` is literal text. */
export function parseFormat(fmt: string): Conversion[] {
  const pieces: { conv: string; text: string; start: number; end: number }[] = [];
  let i = 0;
  while (i < fmt.length) {
    const p = fmt.indexOf('%', i);
    if (p < 0) break;
    if (fmt[p + 1] === '%') {
      i = p + 2;
      continue;
    }
    SPEC.lastIndex = p;
    const m = SPEC.exec(fmt);
    if (!m) {
      i = p + 1;
      continue;
    }
    // `%r` takes an optional x/h modifier; for any other letter the next char is literal text.
    const end = m[5] === 'r' ? SPEC.lastIndex : SPEC.lastIndex - (m[6] ? 1 : 0);
    pieces.push({ conv: m[5] ?? '', text: fmt.slice(p, end), start: p, end });
    i = end;
  }
  return pieces.map((pc, k) => ({
    argIndex: k,
    conv: pc.conv,
    text: pc.text,
    before: fmt.slice(k === 0 ? 0 : (pieces[k - 1]?.end ?? 0), pc.start).replace(/%%/g, '%'),
    after: fmt.slice(pc.end, pieces[k + 1]?.start ?? fmt.length).replace(/%%/g, '%'),
  }));
}

/** Conversions that print an integer as a number. */
export function isNumericConversion(conv: string): boolean {
  return 'diuxXoc'.includes(conv);
}

/** A printf conversion together with the argument expression it prints. */
export interface PrintedArg {
  readonly conversion: Conversion;
  readonly arg: Expr;
  /** The format string literal (for messages). */
  readonly format: Extract<Expr, { kind: 'String' }>;
}

/** The arguments a `printf` call prints, each with its conversion; [] for other calls or a non-literal format. */
export function printfArgs(call: Extract<Expr, { kind: 'Call' }>): PrintedArg[] {
  if (call.callee !== 'printf') return [];
  const format = call.args[0];
  if (format?.kind !== 'String') return [];
  const out: PrintedArg[] = [];
  for (const conversion of parseFormat(format.value)) {
    const arg = call.args[conversion.argIndex + 1];
    if (arg) out.push({ conversion, arg, format });
  }
  return out;
}
