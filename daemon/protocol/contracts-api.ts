/**
 * The kernel-contracts methods of the control socket, as the CLI sees them.
 *
 * - `contracts.status`  {}                             -> ContractsStatusResult
 * - `contracts.rebuild` {force?, wait?}                -> ContractsRebuildResult, with
 *                        `contracts.progress` notifications (RebuildProgress) while it runs
 * - `contracts.show`    {hook, enrich?}                -> ContractsShowResult
 * - `contracts.search`  {text, k?, kind?, attachable?} -> ContractsSearchResult
 *
 * Direction of dependencies: these wire types are the protocol's own, written here and not
 * imported from kernel-contracts, so that the CLI (which imports only daemon/protocol) never loads
 * kernel-contracts. The daemon's adapter (`daemon/contracts/contracts-methods.ts`) turns the service's
 * results into these types, and the compiler checks there that both still agree. The one thing
 * the wire adds is `text` on each condition: the condition rendered as bpftrace-like text by
 * kernel-contracts, so the CLI needs no condition renderer.
 */
import { defineMethod, defineNotification } from './spec.js';
import { bool, int, literal, obj, optional, str, type Schema } from './validate.js';
import { KgentError } from './errors.js';

// ---- contract shapes on the wire ---------------------------------------------------------------

export type ValueKind = 'int' | 'bool' | 'char' | 'enum' | 'pointer' | 'array' | 'struct' | 'union' | 'float' | 'func' | 'void' | 'unknown';
export type ByteOrder = 'big' | 'little' | 'host';

export interface EnumDomain {
  /** `btf-enum`: the C enum type; `print-fmt`: a tracepoint's print table (a hint, not a domain); `doc`. */
  readonly source: string;
  readonly name?: string;
  readonly flags?: boolean;
  readonly values: readonly { readonly name: string; readonly value: number | string }[];
}

/** One argument, tracepoint field, struct member or return value. */
export interface ValueContract {
  readonly name: string;
  /** How a bpftrace program reads it per probe type (`arg0`, `args->sk`). */
  readonly access: Readonly<Record<string, string>>;
  readonly type: string;
  readonly kind: ValueKind;
  readonly bits: number;
  readonly signed: boolean;
  readonly byteOrder: ByteOrder;
  readonly nullable?: boolean;
  readonly pointee?: string;
  readonly arrayLength?: number | null;
  readonly offset?: number;
  readonly bitOffset?: number;
  readonly bitSize?: number;
  readonly size?: number;
  readonly dataLoc?: boolean;
  readonly enum?: EnumDomain;
  readonly doc?: string;
}

export interface HookProbeInfo {
  readonly probe: string;
  readonly available: boolean;
  readonly reason?: string;
}

/** A condition of a contract, with its expression rendered as text by the daemon. */
export interface Condition {
  readonly kind: string;
  /** Where it came from (`type`, `btf-enum`, `typedef`: kernel guarantees; `print-fmt`, `doc`, `llm`: hints). */
  readonly source: string;
  /** The condition in kernel-contracts' JSON expression form (for --json readers). */
  readonly expr: unknown;
  /** The same, rendered (`args->family in {2, 10}`). */
  readonly text: string;
  readonly note?: string;
}

interface ContractBase {
  readonly id: string;
  readonly probes: readonly HookProbeInfo[];
  readonly doc?: {
    readonly summary: string;
    readonly description?: string;
    readonly returns?: string;
    readonly context?: string;
    readonly source: string;
    readonly file?: string;
    readonly line?: number;
  };
  readonly conditions: readonly Condition[];
  readonly enrichment?: { readonly model: string; readonly at: string; readonly attempts: number };
}

export interface FunctionContract extends ContractBase {
  readonly kind: 'function';
  readonly name: string;
  readonly module: string;
  readonly prototype: string;
  readonly args: readonly ValueContract[];
  readonly ret?: ValueContract;
  readonly linkage: string;
}

export interface TracepointContract extends ContractBase {
  readonly kind: 'tracepoint';
  readonly category: string;
  readonly event: string;
  readonly fields: readonly ValueContract[];
  readonly printFmt: string;
}

export type Contract = FunctionContract | TracepointContract;

export interface StructMember {
  readonly name: string;
  readonly type: string;
  readonly kind: ValueKind;
  readonly bits: number;
  readonly signed: boolean;
  readonly byteOrder: ByteOrder;
  readonly bitOffset: number;
  readonly bitSize?: number;
  readonly size: number;
  readonly arrayLength?: number | null;
  readonly pointee?: string;
  readonly enum?: EnumDomain;
  readonly nested?: string;
  readonly inline?: readonly StructMember[];
}

export interface StructLayout {
  readonly kind: 'struct' | 'union';
  readonly name: string;
  readonly size: number;
  readonly module: string;
  readonly members: readonly StructMember[];
}

export interface MemberContract {
  readonly kind: 'member';
  readonly id: string;
  readonly struct: string;
  readonly path: readonly string[];
  readonly value: ValueContract;
  readonly offset: number;
  readonly bitOffset: number;
  readonly conditions: readonly Condition[];
}

// ---- results ------------------------------------------------------------------------------------

export interface IdentitySummary {
  readonly release: string;
  readonly version: string;
  readonly buildId?: string;
  readonly btfChecksum?: string;
  readonly key: string;
}

/** One progress event of a rebuild (`phase`: identity, btf, functions, ..., done, failed). */
export interface RebuildProgress {
  readonly generation: number;
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  readonly message: string;
  readonly elapsedMs: number;
}

export interface ContractsStatusResult {
  /** `empty`: nothing built yet; `building`: first build running; `ready`; `stale`: built for another kernel. */
  readonly state: 'empty' | 'building' | 'ready' | 'stale';
  readonly running: IdentitySummary;
  readonly dataset?: IdentitySummary;
  readonly generation?: number;
  readonly builtAt?: string;
  readonly ageSeconds?: number;
  readonly buildMs?: number;
  readonly counts: { readonly functions: number; readonly tracepoints: number; readonly structs: number };
  readonly source: { readonly root?: string; readonly documented: number; readonly coverage: number };
  readonly probeTypes: readonly { readonly probe: string; readonly available: boolean; readonly reason?: string }[];
  readonly search: { readonly fullText: boolean; readonly vectors: boolean };
  readonly enrichment: { readonly configured: boolean; readonly model?: string; readonly cached: number };
  readonly rebuilding?: RebuildProgress;
  readonly lastError?: string;
}

export interface ContractsRebuildResult {
  /** False when a rebuild was already running (this call then waited for / reports that one). */
  readonly started: boolean;
  readonly generation?: number;
  readonly status: ContractsStatusResult;
}

export type ContractsShowResult =
  | {
      readonly kind: 'contract';
      readonly hook: string;
      readonly probe?: string;
      readonly available: boolean;
      readonly reason?: string;
      readonly contract: Contract;
      readonly kernel: string;
    }
  | { readonly kind: 'member'; readonly hook: string; readonly member: MemberContract; readonly kernel: string }
  | { readonly kind: 'struct'; readonly hook: string; readonly layout: StructLayout; readonly kernel: string };

export interface SearchHit {
  readonly id: string;
  readonly kind: 'function' | 'tracepoint';
  readonly probes: readonly string[];
  readonly unavailable: readonly { readonly probe: string; readonly reason: string }[];
  readonly summary: string;
  readonly score: number;
  /** Why it ranks, strongest first: named, example, syscall, vocabulary, text, subsystem, tracepoint. */
  readonly why?: readonly string[];
}

export interface ContractsSearchResult {
  readonly mode: 'full-text' | 'hybrid';
  readonly hits: readonly SearchHit[];
}

// ---- hook names ---------------------------------------------------------------------------------

const HOOK_NAME_FORMS: readonly RegExp[] = [
  /^[A-Za-z_]\w*$/,
  /^(?:tracepoint|t):[\w-]+:[\w-]+$/,
  /^function:[A-Za-z_]\w*$/,
  /^(?:kprobe|k|kretprobe|kr|kfunc|f|fentry|kretfunc|fr|fexit):[A-Za-z_][\w.]*$/,
  /^(?:struct|union):[A-Za-z_]\w*(?::[A-Za-z_][A-Za-z0-9_.]*)?$/,
];

/**
 * Whether `text` is written as a hook name: `tracepoint:CAT:EVENT` (or `t:`), `kprobe:FN` and the
 * other function probes with bpftrace's aliases, `function:FN`, a bare `FN`, `struct:NAME[:MEMBER.PATH]`
 * (or `union:`). The daemon's parser in kernel-contracts is authoritative; a test keeps both in step.
 */
export function isHookName(text: string): boolean {
  const t = text.trim();
  return HOOK_NAME_FORMS.some((re) => re.test(t));
}

function hookName(): Schema<string> {
  const inner = str({ min: 1, max: 512 });
  return {
    describe: 'a hook name',
    parse(v, path = '') {
      const s = inner.parse(v, path);
      if (!isHookName(s)) {
        throw new KgentError('bad-request', `"${s}" is not a hook name; use tracepoint:CAT:EVENT, kprobe:FN or struct:NAME:MEMBER.PATH`, { path });
      }
      return s;
    },
  };
}

// ---- methods and notifications -----------------------------------------------------------------

export const ContractsStatus = defineMethod<ContractsStatusResult>()('contracts.status', obj({}));
/** `force` (default true): rebuild even when the dataset matches the kernel; `wait` (default true): answer when done. */
export const ContractsRebuild = defineMethod<ContractsRebuildResult>()('contracts.rebuild', obj({ force: optional(bool()), wait: optional(bool()) }));
/** `enrich`: ask the LLM for conditions if this hook has none cached yet (needs Ollama). */
export const ContractsShow = defineMethod<ContractsShowResult>()('contracts.show', obj({ hook: hookName(), enrich: optional(bool()) }));
export const ContractsSearch = defineMethod<ContractsSearchResult>()(
  'contracts.search',
  obj({ text: str({ min: 1, max: 2000 }), k: optional(int({ min: 1, max: 100 })), kind: optional(literal('function', 'tracepoint')), attachable: optional(bool()) }),
);

/** Sent to the client that asked for a rebuild (and to nobody else) while it runs. */
export const ContractsProgress = defineNotification<RebuildProgress>('contracts.progress');
