/**
 * Structural derivation: contracts from types alone, no LLM. Type ranges from widths and
 * signedness, byte order from `__be*`/`__le*` typedefs and enum domains from BTF enum types (all
 * guaranteed by the kernel); tracepoint print-fmt symbol tables and address families named in the
 * documentation become conditions too, but only as hints (`isKernelGuarantee` is false for them).
 */
import { integerRange, fromBigInt, type Condition, type FieldRef, type IntLit, type RetRef } from './expr.js';
import type {
  ContractDoc,
  EnumDomain,
  FunctionContract,
  HookProbeAvailability,
  TracepointContract,
  ValueContract,
  ValueKind,
} from './model.js';
import type { TracepointFormat, TracepointField } from '../kernel-reader/tracepoint-format.js';
import { printFmtSymbols } from '../kernel-reader/tracepoint-format.js';
import { bpftraceFieldInteger } from './c-types.js';

/** The type facts of one value, however they were obtained (BTF, a format file). */
export interface TypeInfo {
  /** C spelling, typedef names kept: `__be16`, `struct sock *`, `enum sock_type`. */
  readonly type: string;
  readonly kind: ValueKind;
  readonly bits: number;
  readonly signed: boolean;
  readonly byteOrder: 'big' | 'little' | 'host';
  /** Size in bytes of the whole value. */
  readonly size: number;
  readonly pointee?: string;
  readonly arrayLength?: number | null;
  readonly enum?: EnumDomain;
}

/** A function as BTF describes it, with types resolved. */
export interface ResolvedFunction {
  readonly name: string;
  readonly module: string;
  readonly linkage: string;
  readonly params: readonly { readonly name: string; readonly type: TypeInfo }[];
  /** Undefined for void. */
  readonly ret?: TypeInfo;
  readonly variadic: boolean;
}

/** Documentation for a function, from a source tree. */
export interface FunctionDocInput {
  readonly doc: ContractDoc;
  /** `@param` texts by name. */
  readonly params: Readonly<Record<string, string>>;
}

/** Byte order implied by a C type spelling: `__be16` -> big, `__le32` -> little. */
export function byteOrderOf(type: string): 'big' | 'little' | 'host' {
  if (/\b__be(16|32|64)\b/.test(type)) return 'big';
  if (/\b__le(16|32|64)\b/.test(type)) return 'little';
  return 'host';
}

/**
 * Linux address families (include/linux/socket.h), for domains named in documentation. Only the
 * commonly documented ones: a name not listed here is left out rather than guessed.
 */
export const ADDRESS_FAMILIES: Readonly<Record<string, number>> = {
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_LOCAL: 1,
  AF_INET: 2,
  AF_AX25: 3,
  AF_IPX: 4,
  AF_APPLETALK: 5,
  AF_NETROM: 6,
  AF_BRIDGE: 7,
  AF_X25: 9,
  AF_INET6: 10,
  AF_KEY: 15,
  AF_NETLINK: 16,
  AF_PACKET: 17,
  AF_RDS: 21,
  AF_CAN: 29,
  AF_TIPC: 30,
  AF_BLUETOOTH: 31,
  AF_ALG: 38,
  AF_VSOCK: 40,
  AF_KCM: 41,
  AF_QIPCRTR: 42,
  AF_SMC: 43,
  AF_XDP: 44,
  AF_MCTP: 45,
};

/** Address-family domain named in a text (`AF_INET or AF_INET6`), or undefined. */
export function familyDomainFromText(text: string | undefined): EnumDomain | undefined {
  if (!text) return undefined;
  const names = [...new Set(text.match(/\bAF_[A-Z0-9]+\b/g) ?? [])].filter((n) => n in ADDRESS_FAMILIES);
  if (!names.length) return undefined;
  return {
    source: 'doc',
    values: names.map((name) => ({ name, value: ADDRESS_FAMILIES[name]! })).sort((a, b) => Number(a.value) - Number(b.value)),
  };
}

const isFamilyName = (name: string): boolean => /(^|_)family$/.test(name);

/** The structural conditions of one value (as `{field: name}`), each tagged with its source. */
export function valueConditions(v: ValueContract, kind: 'pre' | 'post' = 'pre', ref: FieldRef | RetRef = { field: v.name }): Condition[] {
  const out: Condition[] = [];
  const lhs = ref;
  const scalar = v.kind === 'int' || v.kind === 'char' || v.kind === 'bool' || v.kind === 'enum';
  if (scalar && v.arrayLength === undefined && v.bits > 0 && v.bits <= 64) {
    const r = v.kind === 'bool' ? { min: 0, max: 1 } : integerRange(v.bits, v.signed);
    out.push({ kind, expr: { op: 'range', lhs, min: r.min, max: r.max }, source: 'type', note: `${v.type}: ${v.bits}-bit ${v.signed ? 'signed' : 'unsigned'}` });
  }
  if (v.byteOrder !== 'host' && v.arrayLength === undefined) {
    out.push({ kind, expr: { op: 'byteOrder', lhs, order: v.byteOrder }, source: 'typedef', note: `${v.type} is stored ${v.byteOrder}-endian${v.byteOrder === 'big' ? '; convert with bswap() (or ntohs/ntohl in C) before use as a number' : ''}` });
  }
  if (v.enum && !v.enum.flags && v.enum.values.length > 0 && v.arrayLength === undefined && scalar) {
    const vals: IntLit[] = [...new Set(v.enum.values.map((e) => String(e.value)))].map((s) => fromBigInt(BigInt(s)));
    const source = v.enum.source === 'btf-enum' ? 'btf-enum' : v.enum.source === 'print-fmt' ? 'print-fmt' : 'doc';
    const names = v.enum.values.map((e) => e.name).join(', ');
    const note =
      source === 'print-fmt'
        ? `hint, not a guarantee: the tracepoint pretty-prints {${names}} by name; other values can occur`
        : source === 'btf-enum'
          ? `enum ${v.enum.name ?? ''} {${names}}`.replace('enum  {', 'enum {')
          : `hint, not a guarantee: the documentation names {${names}}`;
    out.push({ kind, expr: { op: 'in', lhs, rhs: vals }, source, note });
  }
  return out;
}

/** How each probe type names argument `index` of a function (bpftrace 0.17 syntax). */
export function argumentAccess(name: string, index: number): Record<string, string> {
  return { kprobe: `arg${index}`, kfunc: `args->${name}`, kretfunc: `args->${name}` };
}

/** How the probe types that see a return value name it. */
export const RETURN_ACCESS: Readonly<Record<string, string>> = { kretprobe: 'retval', kretfunc: 'retval' };

function valueFromType(name: string, t: TypeInfo, extra: Partial<ValueContract>): ValueContract {
  return {
    name,
    access: {},
    type: t.type,
    kind: t.kind,
    bits: t.bits,
    signed: t.signed,
    byteOrder: t.byteOrder,
    size: t.size,
    ...(t.kind === 'pointer' ? { nullable: true, ...(t.pointee ? { pointee: t.pointee } : {}) } : {}),
    ...(t.arrayLength !== undefined ? { arrayLength: t.arrayLength } : {}),
    ...(t.enum ? { enum: t.enum } : {}),
    ...extra,
  };
}

/** C prototype text: `int tcp_connect(struct sock *sk)`. */
export function prototypeText(fn: ResolvedFunction): string {
  const decl = (type: string, name: string): string => (type.endsWith('*') ? `${type}${name}` : `${type} ${name}`);
  const params = fn.params.map((p) => decl(p.type.type, p.name));
  if (fn.variadic) params.push('...');
  return `${decl(fn.ret?.type ?? 'void', fn.name)}(${params.length ? params.join(', ') : 'void'})`;
}

/** The contract of a kernel function, from its resolved BTF prototype. */
export function deriveFunctionContract(fn: ResolvedFunction, probes: readonly HookProbeAvailability[], doc?: FunctionDocInput, opts: { conditions?: boolean; stored?: boolean } = {}): FunctionContract {
  const args = fn.params.map((p, i) => {
    const pdoc = doc?.params[p.name];
    let t = p.type;
    if (!t.enum && isFamilyName(p.name) && (t.kind === 'int' || t.kind === 'enum')) {
      const dom = familyDomainFromText(pdoc);
      if (dom) t = { ...t, enum: dom };
    }
    const acc = opts.stored ? {} : argumentAccess(p.name, i);
    return valueFromType(p.name, t, { access: acc, ...(pdoc ? { doc: pdoc } : {}) });
  });
  const ret = fn.ret
    ? valueFromType('retval', fn.ret, {
        access: opts.stored ? {} : { ...RETURN_ACCESS },
        ...(doc?.doc.returns ? { doc: doc.doc.returns } : {}),
      })
    : undefined;
  const conditions: Condition[] = [];
  if (opts.conditions !== false && !opts.stored) {
    for (const a of args) conditions.push(...valueConditions(a, 'pre'));
    if (ret) conditions.push(...valueConditions(ret, 'post', { ret: true }));
  }
  return {
    kind: 'function',
    id: `function:${fn.name}`,
    name: fn.name,
    module: fn.module,
    linkage: fn.linkage,
    prototype: prototypeText(fn),
    args,
    ...(ret ? { ret } : {}),
    probes,
    ...(doc ? { doc: doc.doc } : {}),
    conditions,
  };
}

/** Type facts of a tracepoint field from the format file alone. */
export function fieldTypeInfo(f: TracepointField): TypeInfo {
  const t = f.type.replace(/\s+/g, ' ').trim();
  const isPtr = t.endsWith('*');
  const elemSize = f.array && f.array.length ? f.size / f.array.length : f.array ? 1 : f.size;
  let kind: ValueKind = 'int';
  if (isPtr) kind = 'pointer';
  else if (f.array) kind = 'array';
  else if (/^(const )?(unsigned )?char$/.test(t) || t === 'signed char') kind = 'char';
  else if (t === 'bool' || t === '_Bool') kind = 'bool';
  else if (/^enum /.test(t)) kind = 'enum';
  else if (/^(struct|union) /.test(t)) kind = t.startsWith('union') ? 'union' : 'struct';
  // Width and signedness as bpftrace reads the field: an `int` in an 8-byte syscall slot is an
  // s64, whatever the kernel's `signed:` flag says. Array elements keep their C type.
  const scalar = f.array ? bpftraceFieldInteger(t, elemSize) : bpftraceFieldInteger(t, f.size);
  const bits = isPtr ? 64 : f.dataLoc ? 32 : scalar && !f.array ? scalar.size * 8 : Math.max(0, Math.round(elemSize * 8));
  const signed = isPtr || f.dataLoc ? false : kind === 'enum' ? false : scalar ? scalar.signed : f.signed;
  return {
    type: f.array ? `${t}[${f.array.length ?? ''}]` : t,
    kind,
    bits,
    signed,
    byteOrder: byteOrderOf(t),
    size: f.size,
    ...(isPtr ? { pointee: t.replace(/\s*\*$/, '').replace(/^const /, '') } : {}),
    ...(f.array ? { arrayLength: f.array.length } : {}),
  };
}

/**
 * The contract of a tracepoint from its format. `enumOf` (optional) resolves `enum NAME` field
 * types to their BTF enumerators.
 */
export function deriveTracepointContract(
  fmt: TracepointFormat,
  probes: readonly HookProbeAvailability[],
  enumOf?: (name: string) => EnumDomain | undefined,
): TracepointContract {
  const symbols = printFmtSymbols(fmt.printFmt);
  const fields: ValueContract[] = [];
  for (const f of fmt.fields) {
    if (f.common) continue;
    let t = fieldTypeInfo(f);
    const sym = symbols[f.name];
    if (sym && (t.kind === 'int' || t.kind === 'enum' || t.kind === 'char' || t.kind === 'bool')) {
      t = { ...t, enum: { source: 'print-fmt', ...(sym.flags ? { flags: true } : {}), values: sym.values.map((v) => ({ name: v.name, value: fromBigInt(v.value) })) } };
    } else if (t.kind === 'enum' && enumOf) {
      const dom = enumOf(t.type.replace(/^enum /, ''));
      if (dom) t = { ...t, enum: dom };
    }
    fields.push(
      valueFromType(f.name, t, {
        access: { tracepoint: f.dataLoc ? `str(args->${f.name})` : `args->${f.name}` },
        offset: f.offset,
        ...(f.dataLoc ? { dataLoc: true } : {}),
      }),
    );
  }
  const conditions: Condition[] = [];
  for (const v of fields) conditions.push(...valueConditions(v, 'pre'));
  return {
    kind: 'tracepoint',
    id: `tracepoint:${fmt.category}:${fmt.event}`,
    category: fmt.category,
    event: fmt.event,
    fields,
    printFmt: fmt.printFmt,
    probes,
    conditions,
  };
}
