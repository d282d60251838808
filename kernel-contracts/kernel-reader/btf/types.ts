/**
 * Public types of kgent's BTF reader (BPF Type Format, as in /sys/kernel/btf/*). The reader itself
 * is in ./btf.ts; see {@link Btf}.
 */

/** BTF kinds by number (include/uapi/linux/btf.h). */
export const BTF_KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

export type BtfKindName = keyof typeof BTF_KIND;

/** Kind names indexed by kind number. */
export const BTF_KIND_NAMES: readonly BtfKindName[] = Object.keys(BTF_KIND) as BtfKindName[];

/** Linkage of a FUNC or VAR. */
export type BtfLinkage = 'static' | 'global' | 'extern';

/** A struct/union member as stored (bit offsets from the start of the enclosing type). */
export interface BtfMember {
  /** '' for an anonymous member. */
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  /** Bitfield width in bits, 0 when the member is not a bitfield (kind_flag set only). */
  readonly bitSize: number;
}

/** A decoded BTF type, as in the file (no resolution of references). Type id 0 is `void`. */
export type BtfType =
  | { readonly id: number; readonly kind: 'UNKN'; readonly name: '' }
  | {
      readonly id: number;
      readonly kind: 'INT';
      readonly name: string;
      readonly size: number;
      readonly signed: boolean;
      readonly char: boolean;
      readonly bool: boolean;
      readonly bitOffset: number;
      readonly bits: number;
    }
  | { readonly id: number; readonly kind: 'PTR'; readonly name: ''; readonly type: number }
  | {
      readonly id: number;
      readonly kind: 'ARRAY';
      readonly name: '';
      readonly elemType: number;
      readonly indexType: number;
      readonly nelems: number;
    }
  | {
      readonly id: number;
      readonly kind: 'STRUCT' | 'UNION';
      readonly name: string;
      readonly size: number;
      readonly kindFlag: boolean;
      readonly members: readonly BtfMember[];
    }
  | {
      readonly id: number;
      readonly kind: 'ENUM' | 'ENUM64';
      readonly name: string;
      readonly size: number;
      readonly signed: boolean;
      readonly values: readonly { readonly name: string; readonly value: bigint }[];
    }
  | { readonly id: number; readonly kind: 'FWD'; readonly name: string; readonly union: boolean }
  | { readonly id: number; readonly kind: 'TYPEDEF'; readonly name: string; readonly type: number }
  | { readonly id: number; readonly kind: 'VOLATILE' | 'CONST' | 'RESTRICT'; readonly name: ''; readonly type: number }
  | { readonly id: number; readonly kind: 'TYPE_TAG'; readonly name: string; readonly type: number }
  | { readonly id: number; readonly kind: 'FUNC'; readonly name: string; readonly type: number; readonly linkage: BtfLinkage }
  | {
      readonly id: number;
      readonly kind: 'FUNC_PROTO';
      readonly name: '';
      readonly returnType: number;
      readonly params: readonly { readonly name: string; readonly type: number }[];
      readonly variadic: boolean;
    }
  | { readonly id: number; readonly kind: 'VAR'; readonly name: string; readonly type: number; readonly linkage: BtfLinkage }
  | {
      readonly id: number;
      readonly kind: 'DATASEC';
      readonly name: string;
      readonly size: number;
      readonly vars: readonly { readonly type: number; readonly offset: number; readonly size: number }[];
    }
  | { readonly id: number; readonly kind: 'FLOAT'; readonly name: string; readonly size: number }
  | {
      readonly id: number;
      readonly kind: 'DECL_TAG';
      readonly name: string;
      readonly type: number;
      /** -1 when the tag is on the type itself, else the member/param index. */
      readonly componentIdx: number;
    };

/** Byte order of a value: `big` when its type goes through a `__be16`/`__be32`/`__be64` typedef. */
export type ByteOrder = 'host' | 'big' | 'little';

/** A type as a consumer needs it: C text with typedef names kept, and what it resolves to. */
export interface TypeRef {
  readonly id: number;
  /** C text, typedef names kept: `__be16`, `struct sock *`, `const char *`, `u8[16]`. */
  readonly text: string;
  /** Kind after skipping typedefs and qualifiers (`void` for id 0). */
  readonly resolvedKind: BtfKindName | 'void';
  /** Size in bytes of the resolved type; 0 for void and functions. */
  readonly size: number;
  /** True for signed integers and signed enums. */
  readonly signed: boolean;
  /** `big` when a `__be*` typedef is on the way, `little` for `__le*`, else `host`. */
  readonly byteOrder: ByteOrder;
  /** True when the resolved type is a pointer. */
  readonly pointer: boolean;
  /** Name of the struct/union/enum the type resolves to (through one pointer level for pointers), if any. */
  readonly targetName?: string;
}

/** One parameter of a function prototype. */
export interface BtfParam {
  /** '' when BTF has no name for it. */
  readonly name: string;
  readonly type: TypeRef;
}

/** A kernel function (BTF FUNC) with its resolved prototype. */
export interface BtfFunction {
  readonly id: number;
  readonly name: string;
  readonly linkage: BtfLinkage;
  /** FUNC_PROTO type id. */
  readonly protoId: number;
  readonly returnType: TypeRef;
  readonly params: readonly BtfParam[];
  readonly variadic: boolean;
  /** Which BTF object it comes from: `vmlinux` or the module name. */
  readonly module: string;
}

/** A member in a struct/union layout. Offsets are from the start of the outermost struct. */
export interface MemberLayout {
  /** '' for anonymous struct/union members (their fields are in `members`). */
  readonly name: string;
  readonly type: TypeRef;
  /** Bit offset from the start of the outermost struct. */
  readonly bitOffset: number;
  /** Width in bits: the bitfield width, or 8 * byte size for ordinary members. */
  readonly bitSize: number;
  /** True when the member is a bitfield. */
  readonly bitfield: boolean;
  /** Byte offset (floor of bitOffset / 8). */
  readonly offset: number;
  /** Byte size of the member's type (for a bitfield: of its underlying integer). */
  readonly size: number;
  readonly signed: boolean;
  /** Fields of an anonymous struct/union member, with absolute offsets. */
  readonly members?: readonly MemberLayout[];
}

/** Layout of a struct or union. */
export interface StructLayout {
  readonly id: number;
  readonly name: string;
  readonly kind: 'struct' | 'union';
  readonly size: number;
  readonly members: readonly MemberLayout[];
}

/** An enum with its values. */
export interface EnumInfo {
  readonly id: number;
  /** '' for anonymous enums. */
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly { readonly name: string; readonly value: bigint }[];
}

/** A typedef and what it stands for. */
export interface TypedefInfo {
  readonly id: number;
  readonly name: string;
  /** The aliased type, C text (`unsigned short` for `__u16`, `__u16` for `__be16`). */
  readonly target: TypeRef;
  /** Fully resolved: size, signedness, byte order. */
  readonly resolved: TypeRef;
}

/** Where a field path (`__sk_common.skc_dport`) lands inside a struct. */
export interface FieldInfo {
  /** The path as asked. */
  readonly path: string;
  /** Byte offset from the start of the outermost struct. */
  readonly offset: number;
  /** Bit offset from the start of the outermost struct. */
  readonly bitOffset: number;
  /** Bit width (bitfield width, or 8 * size). */
  readonly bitSize: number;
  readonly bitfield: boolean;
  /** Byte size of the field's type. */
  readonly size: number;
  /** C text of the field's type, typedefs kept (`__be16`). */
  readonly type: string;
  readonly typeRef: TypeRef;
  readonly signed: boolean;
  readonly byteOrder: ByteOrder;
}

/** Per-kind type counts (as bpftool would count them). */
export type BtfKindCounts = Record<BtfKindName, number>;

/** A parsed BTF object (vmlinux, or a module's split BTF resolved against vmlinux). */
export interface Btf {
  /** `vmlinux` or the module name. */
  readonly module: string;
  /** The base BTF of a split (module) BTF; undefined for vmlinux. */
  readonly base: Btf | undefined;
  /** First type id defined by this object (1 for vmlinux, base's last id + 1 for modules). */
  readonly firstId: number;
  /** Last type id defined by this object (inclusive). */
  readonly lastId: number;
  /** Number of types defined by this object (not counting the base). */
  readonly typeCount: number;
  /** Counts of this object's own types by kind. */
  countByKind(): BtfKindCounts;
  /** Kind of a type id (own or base); throws on an unknown id. */
  kind(id: number): BtfKindName;
  /** Name of a type id ('' when anonymous). */
  name(id: number): string;
  /** Decoded type (own or base). Throws `ContractsError('not-found')` on an unknown id. */
  resolve(id: number): BtfType;
  /** C text of a type, typedef names kept. With `declName`, a declaration (`char *comm[16]` style). */
  typeToC(id: number, declName?: string): string;
  /** The type as consumers need it (text, size, signedness, byte order). */
  typeRef(id: number): TypeRef;
  /** Skips typedefs, qualifiers and type tags; returns the id it lands on. */
  skipModifiers(id: number, opts?: { readonly typedefs?: boolean }): number;
  /** Byte size of a type (0 for void/functions). */
  sizeOf(id: number): number;
  /** Type ids with this name (own types first, then base), optionally of one kind. */
  findByName(name: string, kind?: BtfKindName): number[];
  /** All FUNC entries of this object (not the base), with resolved prototypes. */
  functions(): BtfFunction[];
  /** Every FUNC, one at a time and not kept (for one pass without holding all of them). */
  iterFunctions(): Generator<BtfFunction>;
  /** Number of FUNC entries of this object without building them. */
  functionCount(): number;
  /** One function by name (this object, then base). */
  findFunction(name: string): BtfFunction | undefined;
  /** Layout of a struct (or union, with `{ union: true }` or when no struct has the name). */
  findStruct(name: string, opts?: { readonly union?: boolean }): StructLayout | undefined;
  /** Layout of a struct/union by type id (typedefs and qualifiers skipped). */
  structLayout(id: number): StructLayout | undefined;
  /** An enum (ENUM or ENUM64) by name. */
  findEnum(name: string): EnumInfo | undefined;
  /** The enum that defines a constant name (`AF_INET` is a macro, `TCP_ESTABLISHED` is an enumerator). */
  findEnumerator(name: string): { readonly enum: EnumInfo; readonly value: bigint } | undefined;
  /** A typedef by name. */
  findTypedef(name: string): TypedefInfo | undefined;
  /**
   * Resolves a member path inside a struct: `__sk_common.skc_dport` in `sock`. Accepts a struct
   * name (`sock` or `struct sock`) or a type id; components separated by `.`, array indexes as
   * `name[3]`; anonymous members are searched through. Undefined when the path does not exist
   * or would cross a pointer.
   */
  resolveFieldPath(struct: string | number, path: string): FieldInfo | undefined;
}
