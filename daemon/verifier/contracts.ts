/**
 * The contracts seam: what the symbolic executor may assume about a probe's inputs (field widths,
 * signedness, byte order, enum domains, nullability, extra preconditions). The executor only sees a
 * {@link ProbeContractProvider}; until the kernel-contracts store serves real contracts, tracepoint
 * fields come from tracefs format files ({@link tracefsContractProvider}), and tests use recorded
 * format files ({@link recordedContractProvider}).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { KernelHost } from '../../kernel-contracts/kernel-reader/host.js';
import {
  parseTracepointFormat,
  printFmtSymbols,
  readTracepointFormat,
  type TracepointField,
  type TracepointFormat,
} from '../../kernel-contracts/kernel-reader/tracepoint-format.js';

/** A value that may arrive now or later (providers over files are asynchronous). */
export type MaybePromise<T> = T | Promise<T>;

/** How a field's value is represented, as bpftrace types it. */
export type FieldKind = 'int' | 'pointer' | 'string' | 'array' | 'struct';

/** One field of a probe's input record or of a kernel struct, as the executor needs it. */
export interface FieldContract {
  readonly name: string;
  readonly kind: FieldKind;
  /** C type text as the source states it (`__u16`, `const char *`, `__be16`). */
  readonly cType: string;
  /**
   * Size in bytes of the value bpftrace reads: an integer's width (1, 2, 4, 8), 8 for a pointer,
   * the buffer length for a string (`char[16]` -> 16), the total size for an array.
   */
  readonly size: number;
  /** Integer signedness (false for pointers, strings, arrays). */
  readonly signed: boolean;
  /** `big` for network-order fields (`__be16`, `__be32`); `host` otherwise. */
  readonly byteOrder: 'big' | 'host';
  /** Element size in bytes for `array` fields (`__u8 saddr[4]` -> 1). */
  readonly elementSize?: number;
  /** The only values the field takes, when the contract knows them (enums, `__print_symbolic`). */
  readonly enumDomain?: readonly { readonly value: bigint; readonly name: string }[];
  /** True when the value may be a NULL pointer; false when the contract guarantees it is not. */
  readonly nullable?: boolean;
  /** For pointers: the pointee type when known (`struct sock`, `char`). */
  readonly pointee?: string;
}

/** Which probe a precondition request is about. */
export interface ProbeRef {
  /** Canonical provider (`tracepoint`, `kprobe` ...). */
  readonly provider: string;
  /** Attach point target parts (`['sock', 'inet_sock_set_state']`). */
  readonly target: readonly string[];
}

/**
 * An extra precondition in the small JSON expression form the kernel contracts will produce:
 * `{ op: '<=', left: { field: 'newstate' }, right: { int: '12' } }`. Operands name `args` fields
 * (`field`), builtins (`builtin`), or integer constants (`int`, decimal or 0x text).
 */
export type ContractExpr =
  | { readonly field: string }
  | { readonly builtin: string }
  | { readonly int: string }
  | { readonly op: '!'; readonly arg: ContractExpr }
  | {
      readonly op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | '+' | '-' | '&' | '|';
      readonly left: ContractExpr;
      readonly right: ContractExpr;
    };

/** Where the executor gets probe contracts from. Every method may answer synchronously or not. */
export interface ProbeContractProvider {
  /** The `args` record of a tracepoint; undefined when the tracepoint is unknown. */
  tracepointFields(category: string, event: string): MaybePromise<readonly FieldContract[] | undefined>;
  /** One field of a kernel struct (`sock_common`, `['skc_dport']`), when known (BTF). */
  kernelField(structName: string, fieldPath: readonly string[]): MaybePromise<FieldContract | undefined>;
  /** Extra preconditions of a probe beyond field types; [] when none are known. */
  preconditions?(probe: ProbeRef): MaybePromise<readonly ContractExpr[]>;
}

// ---------------------------------------------------------------------------------------------
// C types as bpftrace 0.17 reads them
// ---------------------------------------------------------------------------------------------

const INT_TYPES: Readonly<Record<string, { size: number; signed: boolean; big?: boolean }>> = {
  char: { size: 1, signed: true },
  'signed char': { size: 1, signed: true },
  'unsigned char': { size: 1, signed: false },
  bool: { size: 1, signed: false },
  _Bool: { size: 1, signed: false },
  __u8: { size: 1, signed: false },
  u8: { size: 1, signed: false },
  __s8: { size: 1, signed: true },
  s8: { size: 1, signed: true },
  short: { size: 2, signed: true },
  'short int': { size: 2, signed: true },
  'unsigned short': { size: 2, signed: false },
  'unsigned short int': { size: 2, signed: false },
  __u16: { size: 2, signed: false },
  u16: { size: 2, signed: false },
  __s16: { size: 2, signed: true },
  s16: { size: 2, signed: true },
  __le16: { size: 2, signed: false },
  __be16: { size: 2, signed: false, big: true },
  umode_t: { size: 2, signed: false },
  int: { size: 4, signed: true },
  'signed int': { size: 4, signed: true },
  signed: { size: 4, signed: true },
  unsigned: { size: 4, signed: false },
  'unsigned int': { size: 4, signed: false },
  __u32: { size: 4, signed: false },
  u32: { size: 4, signed: false },
  __s32: { size: 4, signed: true },
  s32: { size: 4, signed: true },
  __le32: { size: 4, signed: false },
  __be32: { size: 4, signed: false, big: true },
  pid_t: { size: 4, signed: true },
  uid_t: { size: 4, signed: false },
  gid_t: { size: 4, signed: false },
  dev_t: { size: 4, signed: false },
  gfp_t: { size: 4, signed: false },
  fmode_t: { size: 4, signed: false },
  clockid_t: { size: 4, signed: true },
  long: { size: 8, signed: true },
  'long int': { size: 8, signed: true },
  'unsigned long': { size: 8, signed: false },
  'unsigned long int': { size: 8, signed: false },
  'long long': { size: 8, signed: true },
  'unsigned long long': { size: 8, signed: false },
  __u64: { size: 8, signed: false },
  u64: { size: 8, signed: false },
  __s64: { size: 8, signed: true },
  s64: { size: 8, signed: true },
  __le64: { size: 8, signed: false },
  __be64: { size: 8, signed: false, big: true },
  size_t: { size: 8, signed: false },
  ssize_t: { size: 8, signed: true },
  loff_t: { size: 8, signed: true },
  off_t: { size: 8, signed: true },
  sector_t: { size: 8, signed: false },
  ino_t: { size: 8, signed: false },
  time64_t: { size: 8, signed: true },
  ktime_t: { size: 8, signed: true },
  cputime_t: { size: 8, signed: false },
  key_serial_t: { size: 4, signed: true },
  qid_t: { size: 4, signed: false },
  aio_context_t: { size: 8, signed: false },
};

function normaliseCType(t: string): string {
  return t
    .replace(/\b(const|volatile|__user|__rcu)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\s*\*/g, ' *')
    .trim();
}

/**
 * The field as bpftrace 0.17 types it. bpftrace compiles the format's declarations as C, so the C
 * type decides width and signedness, except that a 4-byte integer type in an 8-byte slot (syscall
 * arguments: `int flags; size:8`) is widened to 64 bits (`int` -> int64, `pid_t`/unsigned -> uint64).
 */
export function fieldContractFromFormat(f: TracepointField, symbols?: ReturnType<typeof printFmtSymbols>): FieldContract {
  const cType = normaliseCType(f.type);
  const base = { name: f.name, cType: f.type } as const;
  const enumDomain = symbols?.[f.name] && !symbols[f.name]?.flags ? symbols[f.name]?.values : undefined;
  if (f.dataLoc) {
    return { ...base, kind: 'string', size: 64, signed: false, byteOrder: 'host' };
  }
  if (f.array) {
    const elem = INT_TYPES[cType];
    const elemSize = elem?.size ?? 1;
    if (cType === 'char') {
      return { ...base, kind: 'string', size: f.size, signed: false, byteOrder: 'host' };
    }
    return {
      ...base,
      kind: 'array',
      size: f.size,
      signed: elem?.signed ?? false,
      byteOrder: elem?.big ? 'big' : 'host',
      elementSize: elemSize,
    };
  }
  if (cType.endsWith('*')) {
    const pointee = cType.slice(0, -1).trim();
    return { ...base, kind: 'pointer', size: 8, signed: false, byteOrder: 'host', pointee, nullable: true };
  }
  const known = INT_TYPES[cType];
  if (known) {
    let { size, signed } = known;
    if (f.size === 8 && size === 4) {
      // bpftrace's adjust_integer_types: `int` -> s64, `unsigned int`/`u32`/`pid_t`/`uid_t`/`gid_t` -> u64.
      if (cType === 'int') size = 8;
      else if (['unsigned int', 'unsigned', 'u32', 'pid_t', 'uid_t', 'gid_t'].includes(cType)) {
        size = 8;
        signed = false;
      }
    }
    return {
      ...base,
      kind: 'int',
      size,
      signed,
      byteOrder: known.big ? 'big' : 'host',
      ...(enumDomain ? { enumDomain } : {}),
    };
  }
  if (/^(struct|union) /.test(cType)) {
    return { ...base, kind: 'struct', size: f.size, signed: false, byteOrder: 'host' };
  }
  if (/^enum /.test(cType)) {
    return { ...base, kind: 'int', size: 4, signed: false, byteOrder: 'host', ...(enumDomain ? { enumDomain } : {}) };
  }
  // Unknown typedef: trust the kernel's size and signed flag.
  const size = [1, 2, 4, 8].includes(f.size) ? f.size : 8;
  return {
    ...base,
    kind: 'int',
    size,
    signed: f.signed,
    byteOrder: /__be(16|32|64)/.test(f.type) ? 'big' : 'host',
    ...(enumDomain ? { enumDomain } : {}),
  };
}

/** The non-common fields of a parsed format, as contracts. */
export function fieldsFromFormat(format: TracepointFormat): FieldContract[] {
  const symbols = printFmtSymbols(format.printFmt);
  return format.fields.filter((f) => !f.common).map((f) => fieldContractFromFormat(f, symbols));
}

/**
 * Kernel struct fields whose C type the verifier knows without BTF: the socket fields that
 * networking programs read most, with their byte order. Keyed `struct.field.path`.
 */
export const WELL_KNOWN_KERNEL_FIELDS: Readonly<Record<string, FieldContract>> = {
  'sock_common.skc_dport': intField('skc_dport', '__be16', 2, false, 'big'),
  'sock_common.skc_num': intField('skc_num', '__u16', 2, false, 'host'),
  'sock_common.skc_daddr': intField('skc_daddr', '__be32', 4, false, 'big'),
  'sock_common.skc_rcv_saddr': intField('skc_rcv_saddr', '__be32', 4, false, 'big'),
  'sock_common.skc_family': intField('skc_family', 'unsigned short', 2, false, 'host'),
  'sock_common.skc_state': intField('skc_state', 'unsigned char', 1, false, 'host'),
  'sock.__sk_common.skc_dport': intField('skc_dport', '__be16', 2, false, 'big'),
  'sock.__sk_common.skc_num': intField('skc_num', '__u16', 2, false, 'host'),
  'sock.__sk_common.skc_daddr': intField('skc_daddr', '__be32', 4, false, 'big'),
  'sock.__sk_common.skc_rcv_saddr': intField('skc_rcv_saddr', '__be32', 4, false, 'big'),
  'sock.__sk_common.skc_family': intField('skc_family', 'unsigned short', 2, false, 'host'),
  'sock.__sk_common.skc_state': intField('skc_state', 'unsigned char', 1, false, 'host'),
  'inet_sock.inet_sport': intField('inet_sport', '__be16', 2, false, 'big'),
  'inet_sock.inet_dport': intField('inet_dport', '__be16', 2, false, 'big'),
  'inet_sock.inet_saddr': intField('inet_saddr', '__be32', 4, false, 'big'),
  'task_struct.pid': intField('pid', 'pid_t', 4, true, 'host'),
  'task_struct.tgid': intField('tgid', 'pid_t', 4, true, 'host'),
  'task_struct.comm': { name: 'comm', kind: 'string', cType: 'char[16]', size: 16, signed: false, byteOrder: 'host' },
};

function intField(name: string, cType: string, size: number, signed: boolean, byteOrder: 'big' | 'host'): FieldContract {
  return { name, kind: 'int', cType, size, signed, byteOrder };
}

function wellKnown(structName: string, fieldPath: readonly string[]): FieldContract | undefined {
  return WELL_KNOWN_KERNEL_FIELDS[`${structName.replace(/^struct /, '')}.${fieldPath.join('.')}`];
}

/**
 * Contracts from the running kernel's tracefs format files, read through the kernel reader's
 * {@link KernelHost}. Kernel struct fields: the well-known socket/task fields only (no BTF yet).
 */
export function tracefsContractProvider(host: KernelHost): ProbeContractProvider {
  const cache = new Map<string, Promise<readonly FieldContract[] | undefined>>();
  return {
    tracepointFields(category, event) {
      const key = `${category}:${event}`;
      let p = cache.get(key);
      if (!p) {
        p = readTracepointFormat(host, category, event).then((f) => (f ? fieldsFromFormat(f) : undefined));
        cache.set(key, p);
      }
      return p;
    },
    kernelField: wellKnown,
    preconditions: () => [],
  };
}

/**
 * Contracts from recorded format files laid out like tracefs: `<dir>/<category>/<event>/format`
 * (as in `test/fixtures/verifier/formats/`). Synchronous; for tests and offline use.
 * `kernelFields` adds struct fields keyed `struct.field.path`.
 */
export function recordedContractProvider(
  dir: string,
  kernelFields: Readonly<Record<string, FieldContract>> = {},
): ProbeContractProvider {
  const cache = new Map<string, readonly FieldContract[] | undefined>();
  return {
    tracepointFields(category, event) {
      const key = `${category}:${event}`;
      if (cache.has(key)) return cache.get(key);
      let fields: readonly FieldContract[] | undefined;
      if (/^[\w.-]+$/.test(category) && /^[\w.-]+$/.test(event)) {
        try {
          const text = readFileSync(path.join(dir, category, event, 'format'), 'utf8');
          fields = fieldsFromFormat(parseTracepointFormat(category, event, text));
        } catch {
          fields = undefined;
        }
      }
      cache.set(key, fields);
      return fields;
    },
    kernelField(structName, fieldPath) {
      return kernelFields[`${structName.replace(/^struct /, '')}.${fieldPath.join('.')}`] ?? wellKnown(structName, fieldPath);
    },
    preconditions: () => [],
  };
}

/** A provider that knows nothing: every `args` field and kernel read is unmodelled. */
export const EMPTY_CONTRACTS: ProbeContractProvider = {
  tracepointFields: () => undefined,
  kernelField: () => undefined,
  preconditions: () => [],
};
