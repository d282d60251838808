/**
 * What the contract service answers (status, rebuild, lookup, search) and the hook-name parser.
 * The daemon serves these over its control socket (`daemon/contracts/contracts-methods.ts`), converting
 * them to the protocol's own wire types (`daemon/protocol/contracts-api.ts`).
 */
import type { Condition } from './contracts/expr.js';
import type { Contract, MemberContract, StructLayout } from './contracts/model.js';

/** Who the kernel is, as shown to users. */
export interface IdentitySummary {
  readonly release: string;
  readonly version: string;
  readonly buildId?: string;
  readonly btfChecksum?: string;
  readonly key: string;
}

export type RebuildPhase = 'identity' | 'btf' | 'functions' | 'structs' | 'tracepoints' | 'source' | 'index' | 'embed' | 'commit' | 'done' | 'failed';

/** One progress event of a rebuild. */
export interface RebuildProgress {
  readonly generation: number;
  readonly phase: RebuildPhase;
  /** Items done and total in this phase (0/0 when not countable). */
  readonly done: number;
  readonly total: number;
  readonly message: string;
  /** Milliseconds since the rebuild started. */
  readonly elapsedMs: number;
}

export interface ContractsStatusResult {
  /** `empty`: nothing built yet; `building`: first build running; `ready`; `stale`: built for another kernel (a rebuild is due or running). */
  readonly state: 'empty' | 'building' | 'ready' | 'stale';
  readonly running: IdentitySummary;
  /** Identity the served dataset was built for. */
  readonly dataset?: IdentitySummary;
  readonly generation?: number;
  readonly builtAt?: string;
  readonly ageSeconds?: number;
  readonly buildMs?: number;
  readonly counts: { readonly functions: number; readonly tracepoints: number; readonly structs: number };
  /** Source coverage: functions whose doc came from a kernel tree. */
  readonly source: { readonly root?: string; readonly documented: number; readonly coverage: number };
  /** Which probe types this kernel offers (from the kernel reader). */
  readonly probeTypes: readonly { readonly probe: string; readonly available: boolean; readonly reason?: string }[];
  readonly search: { readonly fullText: boolean; readonly vectors: boolean };
  readonly enrichment: { readonly configured: boolean; readonly model?: string; readonly cached: number };
  /** The rebuild in progress, if any (lookups meanwhile use the dataset above). */
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
      /** The probe type asked for (`kprobe`), when the hook named one. */
      readonly probe?: string;
      /** Whether that probe type can attach here; with the reason when not. */
      readonly available: boolean;
      readonly reason?: string;
      readonly contract: Contract;
      /** Identity of the dataset it came from. */
      readonly kernel: string;
    }
  | { readonly kind: 'member'; readonly hook: string; readonly member: MemberContract; readonly kernel: string }
  | { readonly kind: 'struct'; readonly hook: string; readonly layout: StructLayout; readonly kernel: string };

export interface SearchHit {
  /** Contract id (`function:tcp_connect`, `tracepoint:sock:inet_sock_set_state`). */
  readonly id: string;
  readonly kind: 'function' | 'tracepoint';
  /** Attach points that work on this kernel (`tracepoint:sock:inet_sock_set_state`); [] when none. */
  readonly probes: readonly string[];
  /** Attach points that exist but cannot attach here, with why. */
  readonly unavailable: readonly { readonly probe: string; readonly reason: string }[];
  readonly summary: string;
  readonly score: number;
  /**
   * Why it ranks: `named` (in the request), `example` (a hook of a matching example), `syscall`,
   * `vocabulary` (a word of the request stands for it), `text` (full-text), `subsystem`, `tracepoint`.
   */
  readonly why?: readonly string[];
}

export interface ContractsSearchResult {
  readonly mode: 'full-text' | 'hybrid';
  readonly hits: readonly SearchHit[];
}

/** A parsed hook name. */
export type HookRef =
  | { readonly kind: 'function'; readonly name: string; readonly probe?: 'kprobe' | 'kretprobe' | 'kfunc' | 'kretfunc' }
  | { readonly kind: 'tracepoint'; readonly category: string; readonly event: string }
  | { readonly kind: 'struct'; readonly struct: string; readonly union: boolean; readonly path: readonly string[] };

const FUNCTION_PROBES: Readonly<Record<string, 'kprobe' | 'kretprobe' | 'kfunc' | 'kretfunc'>> = {
  kprobe: 'kprobe',
  k: 'kprobe',
  kretprobe: 'kretprobe',
  kr: 'kretprobe',
  kfunc: 'kfunc',
  f: 'kfunc',
  fentry: 'kfunc',
  kretfunc: 'kretfunc',
  fr: 'kretfunc',
  fexit: 'kretfunc',
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/**
 * Parses a hook name as `kgentctl contracts show` accepts it:
 * - `tracepoint:CATEGORY:EVENT` (or `t:`);
 * - `kprobe:FN`, `kretprobe:FN`, `kfunc:FN`, `kretfunc:FN` (and bpftrace's aliases `k:`, `kr:`,
 *   `f:`, `fr:`, `fentry:`, `fexit:`), `function:FN`, or a bare `FN`;
 * - `struct:NAME:MEMBER.PATH` (or `union:`): a member reached through nested members, e.g.
 *   `struct:sock:__sk_common.skc_dport`; `struct:NAME` alone shows the whole layout.
 * Returns undefined when the text is none of these.
 */
export function parseHookRef(text: string): HookRef | undefined {
  const parts = text.trim().split(':');
  const [head, a, b] = parts;
  if (parts.length === 1 && head && /^[A-Za-z_]\w*$/.test(head)) return { kind: 'function', name: head };
  if ((head === 'tracepoint' || head === 't') && parts.length === 3 && a && b && /^[\w-]+$/.test(a) && /^[\w-]+$/.test(b)) {
    return { kind: 'tracepoint', category: a, event: b };
  }
  if (head === 'function' && parts.length === 2 && a && /^[A-Za-z_]\w*$/.test(a)) return { kind: 'function', name: a };
  const probe = head ? FUNCTION_PROBES[head] : undefined;
  if (probe && parts.length === 2 && a && /^[A-Za-z_][\w.]*$/.test(a)) return { kind: 'function', name: a, probe };
  if ((head === 'struct' || head === 'union') && a && /^[A-Za-z_]\w*$/.test(a) && (parts.length === 2 || (parts.length === 3 && b && IDENT.test(b)))) {
    return { kind: 'struct', struct: a, union: head === 'union', path: b ? b.split('.').filter(Boolean) : [] };
  }
  return undefined;
}

/** The canonical name of a parsed hook (what `show` echoes). */
export function formatHookRef(h: HookRef): string {
  if (h.kind === 'tracepoint') return `tracepoint:${h.category}:${h.event}`;
  if (h.kind === 'function') return `${h.probe ?? 'function'}:${h.name}`;
  return `${h.union ? 'union' : 'struct'}:${h.struct}${h.path.length ? `:${h.path.join('.')}` : ''}`;
}

export type { Condition, Contract, MemberContract, StructLayout };
