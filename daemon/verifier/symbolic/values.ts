/**
 * Symbolic values of bpftrace expressions: an SMT term plus the bpftrace type that gives it
 * meaning. Integers are always 64-bit terms (bpftrace 0.17 extends every operand to 64 bits by its
 * signedness before arithmetic); `size` records the declared width for bswap, printing and maps.
 */
import { BPFTRACE_INTEGER_TYPES, C_INTEGER_TYPES } from '../../../kernel-contracts/contracts/c-types.js';
import type { Term, TermBuilder } from '../smt/term.js';

/** The bpftrace type of a symbolic value. */
export type Ty =
  | { readonly k: 'int'; readonly signed: boolean; readonly size: number }
  /**
   * A truth value (comparison, `!`, `&&`, `||`), an int64 0/1 as an integer: signed when both
   * operands of the comparison or `&&`/`||` are signed (see `asInt`), unsigned otherwise.
   */
  | { readonly k: 'bool'; readonly signed?: boolean }
  /** A NUL-terminated string in a buffer of `size` bytes; term width 8*size, byte i at bits 8i+7..8i. */
  | { readonly k: 'str'; readonly size: number }
  /** A 64-bit pointer; `pointee` as C text (`struct sock`, `char`, `void`). */
  | { readonly k: 'ptr'; readonly pointee: string }
  /** A fixed array by value (`__u8 saddr[4]`): term width 8*elemSize*count, element i at the low end first. */
  | { readonly k: 'array'; readonly elemSize: number; readonly signed: boolean; readonly count: number }
  /** `ntop()` result: an address family tag (8 bits) above a 128-bit address. */
  | { readonly k: 'inet' }
  | { readonly k: 'tuple'; readonly elems: readonly Ty[] }
  /** A struct reached through pointers and fields, not yet read (`$sk->__sk_common`). */
  | { readonly k: 'place' }
  | { readonly k: 'void' };

/** Where a struct-typed expression lives: a base pointer, the struct type and the field path so far. */
export interface Place {
  readonly base: Term;
  /** Struct name without `struct ` (`sock`); a synthetic `?...` name when the type is unknown. */
  readonly struct: string;
  readonly path: readonly string[];
}

/** A symbolic value: its type and its term. */
export interface Val {
  readonly ty: Ty;
  /** The value's term (for tuples and places: a placeholder; use `parts` / `place`). */
  readonly t: Term;
  readonly parts?: readonly Val[];
  readonly place?: Place;
  /**
   * When the value is LLVM poison (an undefined result: a shift by a count >= 64, a division or
   * modulo by zero, or an operation on such a value): `t` is then an unconstrained symbol, and
   * operations on the value stay unconstrained under this condition (see `operators.ts`).
   */
  readonly poison?: Term;
  /**
   * The value as a printf argument or a first variable assignment stores it, when that differs
   * from `t` (unary `-`/`~` on a narrow integer: see `expressions.ts`).
   */
  readonly asStored?: Val;
}

/** bpftrace's `uint64` and `int64`. */
export const U64: Ty = { k: 'int', signed: false, size: 8 };
export const S64: Ty = { k: 'int', signed: true, size: 8 };

/** An integer type of `size` bytes. */
export function intTy(size: number, signed: boolean): Ty {
  return { k: 'int', signed, size };
}

/**
 * bpftrace's integer type names and the C spellings (kernel typedefs included) -> width and
 * signedness, for casts and `let` declarations: the one table in kernel-contracts/contracts/c-types.ts.
 */
export const CAST_TYPES: Readonly<Record<string, { size: number; signed: boolean }>> = { ...C_INTEGER_TYPES, ...BPFTRACE_INTEGER_TYPES };

/** Term width in bits of a value of type `ty` when stored (map keys and values). */
export function storedWidth(ty: Ty): number {
  switch (ty.k) {
    case 'int':
    case 'bool':
    case 'ptr':
      return 64;
    case 'str':
      return ty.size * 8;
    case 'array':
      return ty.elemSize * ty.count * 8;
    case 'inet':
      return 136;
    default:
      return 64;
  }
}

/**
 * Converts a value to its stored term (booleans become 0/1, strings keep their bytes). With
 * `intSigned`, an integer is stored as a 64-bit map value: its own width extended by that
 * signedness (the map value type's), see `maps.ts`.
 */
export function storedTerm(b: TermBuilder, v: Val, width: number, intSigned?: boolean): Term {
  let t = v.t;
  if (v.ty.k === 'bool') t = b.ite(v.t, b.bv(1, 64), b.bv(0, 64));
  if (t.sort.k !== 'bv') return b.bv(0, width);
  if (intSigned !== undefined && v.ty.k === 'int' && v.ty.size < 8 && width === 64) {
    return b.resize(b.extract(v.ty.size * 8 - 1, 0, t), 64, intSigned);
  }
  return b.resize(t, width);
}

/** A string literal as a term of `size` bytes (at least its length + NUL). */
export function stringLiteralTerm(b: TermBuilder, s: string, size?: number): { t: Term; size: number } {
  const bytes = Buffer.from(s, 'utf8');
  const n = Math.max(size ?? 0, bytes.length + 1);
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  return { t: b.bv(v, n * 8), size: n };
}

/** Decodes a string term value (bytes low-first) up to the first NUL. */
export function decodeString(v: bigint, size: number): string {
  const out: number[] = [];
  for (let i = 0; i < size; i++) {
    const byte = Number((v >> BigInt(8 * i)) & 0xffn);
    if (byte === 0) break;
    out.push(byte);
  }
  return Buffer.from(out).toString('latin1');
}

/**
 * The well-formedness of a string buffer as bpftrace reads it: everything after the first NUL is
 * NUL, and the last byte is NUL. Makes bit-vector equality equal to C string equality.
 */
export function canonicalStringAxiom(b: TermBuilder, t: Term, size: number): Term {
  const byte = (i: number): Term => b.extract(8 * i + 7, 8 * i, t);
  const zero = b.bv(0, 8);
  const cs: Term[] = [b.eq(byte(size - 1), zero)];
  for (let i = 0; i + 1 < size - 1; i++) cs.push(b.implies(b.eq(byte(i), zero), b.eq(byte(i + 1), zero)));
  return b.and(...cs);
}
