/**
 * Kernel contracts: what a hook gives a program. One contract per kernel function (serving its
 * kprobe, kretprobe, kfunc and kretfunc hooks), one per tracepoint, and struct layouts for member
 * paths (`struct:sock:__sk_common.skc_dport`). Plain JSON data: stored in SQLite, sent over the
 * socket, consumed by the symbolic verifier.
 */
import type { Condition } from './expr.js';

/** Contract format version; bump when the shape changes so stored datasets are rebuilt. */
export const CONTRACT_FORMAT = 1;

/** How a value is shaped. */
export type ValueKind = 'int' | 'bool' | 'char' | 'enum' | 'pointer' | 'array' | 'struct' | 'union' | 'float' | 'func' | 'void' | 'unknown';

/** A value domain (enum): the integers it takes, with their names. */
export interface EnumDomain {
  /** `btf-enum`: the C enum type; `print-fmt`: a tracepoint's `__print_symbolic`/`__print_flags`; `doc`: named in the documentation. */
  readonly source: 'btf-enum' | 'print-fmt' | 'doc';
  /** C enum name, when from BTF (`tcp_ca_event`). */
  readonly name?: string;
  /** True when values are OR-able flags (`__print_flags`), not one of a set. */
  readonly flags?: boolean;
  /** Values as decimal strings when they exceed 2^53, numbers otherwise. */
  readonly values: readonly { readonly name: string; readonly value: number | string }[];
}

/** One argument, tracepoint field, struct member or return value. */
export interface ValueContract {
  /** Name as the kernel declares it (`sk`, `family`); `retval` for a return value. */
  readonly name: string;
  /** How a bpftrace program reads it on the hook's probes, e.g. `arg0` / `args->sk` / `args->family`. */
  readonly access: Readonly<Record<string, string>>;
  /** C type as declared, typedef names kept (`__be16`, `const struct sock *`). */
  readonly type: string;
  readonly kind: ValueKind;
  /** Width in bits of the value as read (pointers 64; arrays: element width). */
  readonly bits: number;
  readonly signed: boolean;
  /** Byte order of the stored value: `big` for `__be16`/`__be32`/`__be64`, `little` for `__le*`, `host` otherwise (little-endian on this machine). */
  readonly byteOrder: 'big' | 'little' | 'host';
  /** Pointers: true when it may be NULL (the default for every pointer the kernel does not promise). */
  readonly nullable?: boolean;
  /** Pointers: the pointee type (`struct sock`). */
  readonly pointee?: string;
  /** Arrays: number of elements (null: unsized, e.g. `__data_loc char[]`). */
  readonly arrayLength?: number | null;
  /** Tracepoint fields and struct members: byte offset (members: of the containing struct). */
  readonly offset?: number;
  /** Struct members that are bitfields: bit offset and size. */
  readonly bitOffset?: number;
  readonly bitSize?: number;
  /** Size in bytes of the whole value (arrays: all elements). */
  readonly size?: number;
  /** Tracepoint `__data_loc` strings (read with `str(args->name)`). */
  readonly dataLoc?: boolean;
  readonly enum?: EnumDomain;
  /** Documentation of this argument (kernel-doc `@name:`). */
  readonly doc?: string;
}

/** Whether a probe type can attach to this hook on this kernel, and why not. */
export interface HookProbeAvailability {
  readonly probe: 'kprobe' | 'kretprobe' | 'kfunc' | 'kretfunc' | 'tracepoint' | 'rawtracepoint';
  readonly available: boolean;
  /** Why not (e.g. `kprobes are not enabled in this kernel (CONFIG_KPROBES is not set)`). */
  readonly reason?: string;
}

/** Documentation attached to a contract. */
export interface ContractDoc {
  readonly summary: string;
  readonly description?: string;
  readonly returns?: string;
  readonly context?: string;
  /** Where it came from: `kernel-doc`/`comment` (a source tree: file:line), `llm`. */
  readonly source: 'kernel-doc' | 'comment' | 'llm';
  readonly file?: string;
  readonly line?: number;
}

/** Result of LLM enrichment, stored with the contract once it validated. */
export interface EnrichmentInfo {
  readonly model: string;
  readonly at: string;
  /** Attempts used (1 = first answer was valid). */
  readonly attempts: number;
}

interface ContractBase {
  /** Contract key: `function:tcp_connect`, `tracepoint:sock:inet_sock_set_state`. */
  readonly id: string;
  readonly probes: readonly HookProbeAvailability[];
  readonly doc?: ContractDoc;
  readonly conditions: readonly Condition[];
  readonly enrichment?: EnrichmentInfo;
}

/** A kernel function (kprobe/kretprobe/kfunc/kretfunc). */
export interface FunctionContract extends ContractBase {
  readonly kind: 'function';
  readonly name: string;
  /** `vmlinux` or the module whose BTF declares it. */
  readonly module: string;
  /** C prototype: `int tcp_connect(struct sock *sk)`. */
  readonly prototype: string;
  readonly args: readonly ValueContract[];
  /** Undefined for void functions. */
  readonly ret?: ValueContract;
  /** BTF linkage (`static`, `global`, `extern`). */
  readonly linkage: string;
}

/** A tracepoint (`tracepoint:category:event`). */
export interface TracepointContract extends ContractBase {
  readonly kind: 'tracepoint';
  readonly category: string;
  readonly event: string;
  /** Non-common fields, as `args->NAME`. */
  readonly fields: readonly ValueContract[];
  readonly printFmt: string;
}

export type Contract = FunctionContract | TracepointContract;

/** A struct or union layout, for member paths. Members of anonymous members are kept nested. */
export interface StructLayout {
  readonly kind: 'struct' | 'union';
  readonly name: string;
  readonly size: number;
  readonly module: string;
  readonly members: readonly StructMember[];
}

export interface StructMember {
  /** '' for an anonymous struct/union member. */
  readonly name: string;
  readonly type: string;
  readonly kind: ValueKind;
  readonly bits: number;
  readonly signed: boolean;
  readonly byteOrder: 'big' | 'little' | 'host';
  /** Offset in bits from the start of the containing struct. */
  readonly bitOffset: number;
  /** Bitfield width, when a bitfield. */
  readonly bitSize?: number;
  readonly size: number;
  readonly arrayLength?: number | null;
  readonly pointee?: string;
  readonly enum?: EnumDomain;
  /** Struct/union type of a nested member (`struct sock_common`), to walk into; or the inline anonymous layout. */
  readonly nested?: string;
  readonly inline?: readonly StructMember[];
}

/** A member resolved through a path: `struct:sock:__sk_common.skc_dport`. */
export interface MemberContract {
  readonly kind: 'member';
  readonly id: string;
  readonly struct: string;
  readonly path: readonly string[];
  readonly value: ValueContract;
  /** Byte offset from the start of the outer struct (and bit offset for bitfields). */
  readonly offset: number;
  readonly bitOffset: number;
  readonly conditions: readonly Condition[];
}
