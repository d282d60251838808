/**
 * The bpftrace lexer: on demand, one token at a time, so the parser can switch to raw scanning for
 * the parts of the language that are not token streams (preprocessor lines, C definitions, attach
 * points). Never throws: bad input becomes an `invalid` token the parser reports.
 */
import type { Span } from '../../protocol/diagnostic.js';
import { PUNCTUATORS, type Token } from './tokens.js';

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;

/** Maps offsets to 1-based line:column positions. */
export class SourceMap {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.lineStarts[lo] ?? 0) + 1 };
  }

  /** Span covering [start, end) (end exclusive; an empty range gives a one-column span). */
  span(start: number, end: number): Span {
    const a = this.position(start);
    const b = this.position(Math.max(start, end - 1));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}

export class Lexer {
  pos = 0;

  constructor(readonly src: string) {}

  /** Skips whitespace and comments. Returns an error token for an unterminated block comment. */
  skipTrivia(): Token | undefined {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === undefined) return undefined;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '/' && s[this.pos + 1] === '/') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else if (c === '/' && s[this.pos + 1] === '*') {
        const close = s.indexOf('*/', this.pos + 2);
        if (close < 0) {
          const start = this.pos;
          this.pos = s.length;
          return { kind: 'invalid', text: s.slice(start, start + 2), start, end: start + 2, error: 'unterminated comment' };
        }
        this.pos = close + 2;
      } else {
        return undefined;
      }
    }
  }

  next(): Token {
    const bad = this.skipTrivia();
    if (bad) return bad;
    const s = this.src;
    const start = this.pos;
    const c = s[start];
    if (c === undefined) return { kind: 'eof', text: '', start, end: start };

    if (IDENT_START.test(c)) {
      let i = start + 1;
      while (i < s.length && IDENT_PART.test(s[i] ?? '')) i++;
      return this.take('ident', start, i);
    }
    if (DIGIT.test(c)) return this.number(start);
    if (c === '"') return this.string(start);
    if (c === '$') {
      const d = s[start + 1] ?? '';
      if (d === '#') return this.take('positional-count', start, start + 2);
      if (DIGIT.test(d)) {
        let i = start + 1;
        while (DIGIT.test(s[i] ?? '')) i++;
        return this.take('positional', start, i);
      }
      if (IDENT_START.test(d)) {
        let i = start + 1;
        while (IDENT_PART.test(s[i] ?? '')) i++;
        return this.take('variable', start, i);
      }
      return this.invalid(start, start + 1, "expected a variable name after '$'");
    }
    if (c === '@') {
      let i = start + 1;
      while (IDENT_PART.test(s[i] ?? '')) i++;
      return this.take('map', start, i);
    }
    for (const p of PUNCTUATORS) {
      if (s.startsWith(p, start)) return this.take('punct', start, start + p.length);
    }
    return this.invalid(start, start + 1, `invalid character '${c}'`);
  }

  private take(kind: Token['kind'], start: number, end: number): Token {
    this.pos = end;
    return { kind, text: this.src.slice(start, end), start, end };
  }

  private invalid(start: number, end: number, error: string): Token {
    this.pos = end;
    return { kind: 'invalid', text: this.src.slice(start, end), start, end, error };
  }

  private number(start: number): Token {
    const s = this.src;
    let i = start;
    if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
      i += 2;
      while (/[0-9a-fA-F_]/.test(s[i] ?? '')) i++;
    } else if (s[i] === '0' && (s[i + 1] === 'b' || s[i + 1] === 'B') && /[01]/.test(s[i + 2] ?? '')) {
      i += 2;
      while (/[01_]/.test(s[i] ?? '')) i++;
    } else {
      while (/[0-9_]/.test(s[i] ?? '')) i++;
      if ((s[i] === 'e' || s[i] === 'E') && DIGIT.test(s[i + 1] ?? '')) {
        i++;
        while (DIGIT.test(s[i] ?? '')) i++;
      }
    }
    // C-style integer suffixes (u, l, ul, ull ...), which newer bpftrace accepts.
    while (/[uUlL]/.test(s[i] ?? '')) i++;
    if (IDENT_PART.test(s[i] ?? '')) {
      let j = i;
      while (IDENT_PART.test(s[j] ?? '')) j++;
      return this.invalid(start, j, `invalid integer literal '${s.slice(start, j)}'`);
    }
    return this.take('int', start, i);
  }

  private string(start: number): Token {
    const s = this.src;
    let i = start + 1;
    while (i < s.length) {
      const c = s[i];
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '\n') break;
      if (c === '"') return this.take('string', start, i + 1);
      i++;
    }
    return this.invalid(start, Math.min(i, s.length), 'unterminated string');
  }
}

/** Value of an integer literal's text (`0x5000`, `1_000`, `1e6`, `010` octal, `5ul`), or undefined. */
export function integerValue(raw: string): bigint | undefined {
  const t = raw.replace(/_/g, '').replace(/[uUlL]+$/, '');
  try {
    if (/^0[xX][0-9a-fA-F]+$/.test(t)) return BigInt(t);
    if (/^0[bB][01]+$/.test(t)) return BigInt(t);
    const exp = /^([0-9]+)[eE]([0-9]+)$/.exec(t);
    // Past 10^40 it overflows 64 bits anyway; 1e999999999 must not compute a billion-digit number.
    if (exp) return (exp[2] ?? '0').length > 3 || Number(exp[2]) > 40 ? undefined : BigInt(exp[1] ?? '0') * 10n ** BigInt(exp[2] ?? '0');
    // bpftrace reads integers with base 0 (strtoull), so a leading 0 means octal.
    if (/^0[0-7]+$/.test(t)) return BigInt('0o' + t.slice(1));
    if (/^[0-9]+$/.test(t)) return BigInt(t);
  } catch {
    return undefined;
  }
  return undefined;
}

/** Decodes the escapes of a string literal body (between the quotes). Returns an error on a bad escape. */
export function decodeString(raw: string): { value: string; error?: string; at?: number } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] ?? '';
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[i + 1] ?? '';
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };
    const mapped = simple[e];
    if (mapped !== undefined) {
      out += mapped;
      i++;
    } else if (e === 'x' && /[0-9a-fA-F]/.test(raw[i + 2] ?? '')) {
      let j = i + 2;
      while (j < i + 4 && /[0-9a-fA-F]/.test(raw[j] ?? '')) j++;
      out += String.fromCharCode(parseInt(raw.slice(i + 2, j), 16));
      i = j - 1;
    } else if (/[0-7]/.test(e)) {
      let j = i + 1;
      while (j < i + 4 && /[0-7]/.test(raw[j] ?? '')) j++;
      out += String.fromCharCode(parseInt(raw.slice(i + 1, j), 8) & 0xff);
      i = j - 1;
    } else {
      return { value: out, error: `invalid escape sequence '\\${e}'`, at: i };
    }
  }
  return { value: out };
}
