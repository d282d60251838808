/**
 * The contracts seam: what the symbolic executor may assume about a probe's inputs (field widths,
 * signedness, byte order, enum domains, nullability, extra preconditions). The verifier is pure:
 * it only sees a {@link ProbeContractProvider}. The daemon implements it over the running
 * kernel's contracts (`daemon/verification/contract-adapter.ts`, `host-contracts.ts`); every fact a
 * provider gives must be one the kernel guarantees, because the verifier assumes it.
 */

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
  /**
   * The only values the field takes: only when the kernel guarantees it (the field's BTF type is
   * that enum). Never from a tracepoint's print table, which names just the values it prints.
   */
  readonly enumDomain?: readonly { readonly value: bigint; readonly name: string }[];
  /**
   * A tracepoint `__data_loc` field: `kind` is `int`, 64-bit unsigned — bpftrace 0.17 gives
   * `args->f` as the address of the data in the event record, not the 32-bit locator the record
   * holds; `str(args->f)` reads the string there.
   */
  readonly dataLoc?: boolean;
  /** Byte offset of a struct member from the start of the outermost struct of the path (BTF). */
  readonly offset?: number;
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

/**
 * A fact the kernel does not guarantee but a named source states: a tracepoint's print table
 * (`__print_symbolic(family, {AF_INET..}, {AF_INET6..})`), a documented range (a failed system
 * call returns -errno with errno <= MAX_ERRNO). Never assumed on its own: it may only make an
 * `assume` the program states acceptable, and a proof that needs one is "proved under hints",
 * with the hint and its source shown to whoever approves the program.
 */
export interface ContractHint {
  readonly expr: ContractExpr;
  /** The fact in bpftrace terms: `args->family is one of AF_INET (2), AF_INET6 (10)`. */
  readonly text: string;
  /** Where it comes from: `print table of tracepoint:sock:inet_sock_set_state (__print_symbolic)`. */
  readonly source: string;
}

/**
 * Facts about the host the program runs on that the kernel or the daemon guarantees, for the
 * builtins (see `symbolic/builtin-facts.ts`). Each is optional: an absent fact is not assumed.
 */
export interface HostFacts {
  /**
   * The number of possible CPU ids: the highest id listed in /sys/devices/system/cpu/possible, plus
   * one. `cpu` (bpf_get_smp_processor_id()) is below nr_cpu_ids, which is at most this.
   */
  readonly possibleCpus?: number;
  /**
   * The `comm` of the bpftrace process that runs the program: the base name of the executable the
   * daemon starts, cut to 15 bytes (the kernel's TASK_COMM_LEN - 1). BEGIN and END run in its main
   * thread, so `comm` there is this.
   */
  readonly bpftraceComm?: string;
}

/** Where the executor gets probe contracts from. Every method may answer synchronously or not. */
export interface ProbeContractProvider {
  /** The `args` record of a tracepoint; undefined when the tracepoint is unknown. */
  tracepointFields(category: string, event: string): MaybePromise<readonly FieldContract[] | undefined>;
  /** One field of a kernel struct (`sock_common`, `['skc_dport']`), when known (BTF). */
  kernelField(structName: string, fieldPath: readonly string[]): MaybePromise<FieldContract | undefined>;
  /** Extra preconditions of a probe beyond field types; [] when none are known. */
  preconditions?(probe: ProbeRef): MaybePromise<readonly ContractExpr[]>;
  /** Hints about a probe's inputs ({@link ContractHint}); [] when none are known. */
  hints?(probe: ProbeRef): MaybePromise<readonly ContractHint[]>;
  /** Facts about the host (CPU ids, the bpftrace executable); {} when none are known. */
  hostFacts?(): MaybePromise<HostFacts>;
}

/** A provider that knows nothing: every `args` field and kernel read is unmodelled. */
export const EMPTY_CONTRACTS: ProbeContractProvider = {
  tracepointFields: () => undefined,
  kernelField: () => undefined,
  preconditions: () => [],
  hints: () => [],
};
