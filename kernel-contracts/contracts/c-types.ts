/**
 * The one table of C integer types kgent knows by name: width, signedness and byte order of each
 * spelling the kernel's tracepoint formats, BTF typedefs and bpftrace casts use. Pure data, no
 * I/O: the kernel contracts derive field types from it and the verifier types casts with it.
 *
 * BTF already states sizes for the types it describes; this table serves where only a C spelling
 * is at hand (tracefs format files, cast expressions in a program).
 */

/** Width, signedness and byte order of one integer type. */
export interface CIntegerType {
  /** Size in bytes: 1, 2, 4 or 8. */
  readonly size: number;
  readonly signed: boolean;
  /** `big` for the network-order typedefs (`__be16` ...), `host` otherwise. */
  readonly byteOrder: 'big' | 'host';
}

const u = (size: number): CIntegerType => ({ size, signed: false, byteOrder: 'host' });
const s = (size: number): CIntegerType => ({ size, signed: true, byteOrder: 'host' });
const be = (size: number): CIntegerType => ({ size, signed: false, byteOrder: 'big' });

/** C spellings (kernel typedefs included), after qualifiers are removed (see {@link normaliseCType}). */
export const C_INTEGER_TYPES: Readonly<Record<string, CIntegerType>> = {
  char: s(1),
  'signed char': s(1),
  'unsigned char': u(1),
  bool: u(1),
  _Bool: u(1),
  __u8: u(1),
  u8: u(1),
  __s8: s(1),
  s8: s(1),
  short: s(2),
  'short int': s(2),
  'signed short': s(2),
  'unsigned short': u(2),
  'short unsigned int': u(2),
  'unsigned short int': u(2),
  __u16: u(2),
  u16: u(2),
  __s16: s(2),
  s16: s(2),
  __le16: u(2),
  __be16: be(2),
  umode_t: u(2),
  int: s(4),
  'signed int': s(4),
  signed: s(4),
  unsigned: u(4),
  'unsigned int': u(4),
  __u32: u(4),
  u32: u(4),
  __s32: s(4),
  s32: s(4),
  __le32: u(4),
  __be32: be(4),
  __wsum: u(4),
  pid_t: s(4),
  uid_t: u(4),
  gid_t: u(4),
  dev_t: u(4),
  gfp_t: u(4),
  fmode_t: u(4),
  clockid_t: s(4),
  key_serial_t: s(4),
  qid_t: u(4),
  long: s(8),
  'long int': s(8),
  'unsigned long': u(8),
  'long unsigned int': u(8),
  'unsigned long int': u(8),
  'long long': s(8),
  'long long int': s(8),
  'unsigned long long': u(8),
  'long long unsigned int': u(8),
  __u64: u(8),
  u64: u(8),
  __s64: s(8),
  s64: s(8),
  __le64: u(8),
  __be64: be(8),
  size_t: u(8),
  ssize_t: s(8),
  loff_t: s(8),
  off_t: s(8),
  sector_t: u(8),
  ino_t: u(8),
  time64_t: s(8),
  ktime_t: s(8),
  cputime_t: u(8),
  aio_context_t: u(8),
};

/** bpftrace's own integer type names, as casts and `let` declarations spell them. */
export const BPFTRACE_INTEGER_TYPES: Readonly<Record<string, CIntegerType>> = {
  int8: s(1),
  int16: s(2),
  int32: s(4),
  int64: s(8),
  uint8: u(1),
  uint16: u(2),
  uint32: u(4),
  uint64: u(8),
  int8_t: s(1),
  int16_t: s(2),
  int32_t: s(4),
  int64_t: s(8),
  uint8_t: u(1),
  uint16_t: u(2),
  uint32_t: u(4),
  uint64_t: u(8),
};

/** Drops qualifiers and annotations (`const`, `volatile`, `__user`, `__rcu`) and folds spaces. */
export function normaliseCType(t: string): string {
  return t
    .replace(/\b(const|volatile|__user|__rcu|__percpu|__iomem)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\s*\*/g, ' *')
    .trim();
}

// bpftrace 0.17 compiles a tracepoint's format as C and then widens the 4-byte integer types
// that sit in 8-byte slots (every syscall argument: `int flags; size:8`): `int` becomes int64,
// and the unsigned 32-bit spellings (plus pid_t, uid_t, gid_t) become uint64.
const WIDENED_TO_U64 = new Set(['unsigned int', 'unsigned', 'u32', 'pid_t', 'uid_t', 'gid_t']);

/**
 * How bpftrace types an integer tracepoint field of C type `spelling` stored in a slot of
 * `slotSize` bytes; undefined when the spelling is not a known integer type.
 */
export function bpftraceFieldInteger(spelling: string, slotSize: number): CIntegerType | undefined {
  const norm = normaliseCType(spelling);
  const known = C_INTEGER_TYPES[norm];
  if (!known) return undefined;
  if (slotSize === 8 && known.size === 4) {
    if (norm === 'int') return { ...known, size: 8 };
    if (WIDENED_TO_U64.has(norm)) return { size: 8, signed: false, byteOrder: known.byteOrder };
  }
  return known;
}
