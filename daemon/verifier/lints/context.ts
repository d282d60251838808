/**
 * What the lints need from the outside world, as interfaces so tests (and the CLI without a daemon)
 * can supply recorded kernel data. Lints themselves are pure.
 */
import type { ProbeType } from '../../../kernel-contracts/probe-types.js';
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { Program } from '../frontend/ast.js';

/** Which probe providers this kernel offers. */
export interface LintProbeSupport {
  isAvailable(t: ProbeType): boolean;
  /** Why `t` is not available (e.g. `CONFIG_KPROBES is off`); only asked when it is not. */
  reason(t: ProbeType): string;
}

export interface LintPolicy {
  /** Allow `system()`, `signal()`, `override()` (bpftrace's `--unsafe`). */
  readonly allowUnsafe: boolean;
  /** Further builtins refused (e.g. `cat` for members of the kgent group); none when absent. */
  readonly deniedBuiltins?: readonly string[];
  /** Refuse reads of memory at absolute addresses (`*(uint64 *)0xffff...`, `kptr(0x...)`); allowed when absent. */
  readonly denyRawMemory?: boolean;
  /**
   * The caller may not read the host's files: every preprocessor use that reads a file other than
   * a vetted system header is refused (`#include "x"`, `__has_include`, `#pragma` ...;
   * preprocessor-policy.ts), so are uprobe/usdt targets not open to everyone (the daemon's
   * policy/probe-targets.ts), and clang's text about included files is withheld. All allowed when absent.
   */
  readonly hostFilesHidden?: boolean;
  /** Probe types allowed (canonical names, `*` for all); all when absent. */
  readonly probeTypes?: readonly string[];
  /** Who the policy is for, in messages ("members of kgent"). */
  readonly subject?: string;
}

/** A tracepoint field's type as the format file gives it. */
export interface FieldTypeInfo {
  /** The C type text without the field name: `__be16`, `const char *`, `int`. */
  readonly type: string;
  readonly size: number;
  readonly signed: boolean;
}

export interface TracepointFieldTypes {
  fieldType(category: string, event: string, field: string): FieldTypeInfo | undefined;
}

/** Kernel struct member types from BTF, asked synchronously (callers read them ahead). */
export interface KernelMemberTypes {
  /**
   * C type text of member `member` of struct (or union) `structName`, typedef names kept
   * (`__be16`, `struct sock_common`, `struct task_struct *`), when known.
   */
  memberType(structName: string, member: string): string | undefined;
}

export interface LintContext {
  readonly probes: LintProbeSupport;
  /**
   * What the program is checked for. `run` (default): it is to run on this host (the request
   * pipeline, `kgentctl run`/`check`), so a probe type this host lacks is an error. `prove`:
   * `kgentctl verify`, a proof from the kernel contracts that holds wherever they do, so the same
   * finding is a warning and never changes the verdict; the kernel check is what refuses the
   * program on this host.
   */
  readonly purpose?: 'run' | 'prove';
  readonly policy: LintPolicy;
  /** Tracepoint field types; without it the lints that need types see only casts and kernel members. */
  readonly fields?: TracepointFieldTypes;
  /** Kernel struct member types (BTF); without it, member reads through casts have no known type. */
  readonly members?: KernelMemberTypes;
}

/** A lint pass: built once per context by its factory, run on a program. Never throws. */
export interface LintPass {
  readonly name: string;
  run(program: Program): Diagnostic[];
}

export type LintFactory = (ctx: LintContext) => LintPass;

/** Every provider available (for tests and for callers that only want the other lints). */
export const ALL_PROBES_AVAILABLE: LintProbeSupport = {
  isAvailable: () => true,
  reason: () => '',
};
