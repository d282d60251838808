/**
 * Ranking of hooks for a request when no embedding model helps: full-text (BM25) hits alone rank
 * hooks whose docs share a stray word with the request ("order", "host") above the hook the
 * request is about. Here every hook gets points from each kind of evidence, and the sum orders
 * them:
 * - named outright in the request (`tcp_v4_connect`, `sock:inet_sock_set_state`);
 * - the hooks of the best-matching examples (what worked for a similar request);
 * - the request's vocabulary (request-terms.ts): the syscalls it names or implies
 *   (`syscalls:sys_enter_X`, and `sys_exit_X` when it asks about results) and the tracepoints
 *   its words stand for;
 * - the full-text score, scaled to the best hit;
 * - its category being a subsystem the request speaks of;
 * - being a tracepoint: a stable interface with typed fields, so it goes before a function of
 *   equal evidence (functions change across kernels and need kprobes, often unavailable).
 * Pure: the caller says which hooks exist on this kernel (and pass its filters).
 */
import type { RequestTerms } from './request-terms.js';

/** What a rank owes to one kind of evidence (shown to the user: why this hook). */
export type Evidence = 'named' | 'example' | 'syscall' | 'vocabulary' | 'text' | 'subsystem' | 'tracepoint';

export interface RankedHook {
  /** Contract id: `tracepoint:CAT:EVENT` or `function:NAME`. */
  readonly id: string;
  readonly score: number;
  /** The kinds of evidence it had, strongest first. */
  readonly why: readonly Evidence[];
}

export interface RankInput {
  readonly terms: RequestTerms;
  /** Full-text (or hybrid) hits of `terms.query`, best first. */
  readonly fullText: readonly { readonly id: string; readonly score: number }[];
  /** Attach points of the best-matching examples, best example first (`kprobe:tcp_connect`, `tracepoint:...`). */
  readonly hints?: readonly string[];
  /** True when the hook exists on this kernel and passes the caller's filters. */
  exists(id: string): boolean;
}

/** Points per kind of evidence: a hook found by two kinds beats one found by any one of them. */
export const WEIGHTS: Readonly<Record<Evidence, number>> = {
  named: 4,
  example: 2,
  syscall: 2,
  vocabulary: 2,
  text: 1,
  subsystem: 0.5,
  tracepoint: 0.3,
};

/** Below this many points from the request itself a hook is not offered (text alone scores at most 1). */
const MIN_SCORE = 0.05;

/** The contract id of an attach point (`kprobe:f` -> `function:f`); undefined for probes without contracts or wildcards. */
export function contractIdOf(attachPoint: string): string | undefined {
  if (attachPoint.includes('*') || attachPoint.includes('{')) return undefined;
  const m = /^([a-z]+):(.+)$/.exec(attachPoint.trim());
  if (!m) return undefined;
  const [, probe, rest] = m;
  if (probe === 'tracepoint' || probe === 't') return /^[\w]+:[\w]+$/.test(rest!) ? `tracepoint:${rest}` : undefined;
  if (['kprobe', 'k', 'kretprobe', 'kr', 'kfunc', 'f', 'fentry', 'kretfunc', 'fr', 'fexit'].includes(probe!)) {
    // `kprobe:module:function` names a module's function; the contract is the function's.
    const fn = rest!.split(':').at(-1)!;
    return /^\w+$/.test(fn) ? `function:${fn}` : undefined;
  }
  return undefined;
}

/** The hooks of a request, best first, at most `k`. */
export function rankHooks(input: RankInput, k: number): RankedHook[] {
  const points = new Map<string, Map<Evidence, number>>();
  const existsCache = new Map<string, boolean>();
  const exists = (id: string): boolean => {
    let e = existsCache.get(id);
    if (e === undefined) existsCache.set(id, (e = input.exists(id)));
    return e;
  };
  const give = (id: string, kind: Evidence, value: number): void => {
    if (value <= 0 || !exists(id)) return;
    let m = points.get(id);
    if (!m) points.set(id, (m = new Map()));
    m.set(kind, Math.max(m.get(kind) ?? 0, value * WEIGHTS[kind]));
  };
  const { terms } = input;

  for (const name of terms.names) give(`function:${name}`, 'named', 1);
  for (const m of terms.namedTracepoints) give(`tracepoint:${m}`, 'named', 1);

  (input.hints ?? []).forEach((h, i) => {
    const id = contractIdOf(h);
    // The first example's hooks count fully, later ones a little less.
    if (id) give(id, 'example', Math.max(0.6, 1 - 0.08 * i));
  });

  for (const s of terms.syscalls) {
    const enter = `tracepoint:syscalls:sys_enter_${s.id}`;
    const exit = `tracepoint:syscalls:sys_exit_${s.id}`;
    // Asked about a call's outcome, its exit tracepoint (the one with `ret`) comes first, above
    // tracepoints the words stand for, which do not carry the call's result.
    give(enter, 'syscall', s.weight * (terms.wantsResult ? 0.9 : 1));
    give(exit, 'syscall', s.weight * (terms.wantsResult ? 1.3 : 0.7));
    if (s.named) give(terms.wantsResult ? exit : enter, 'named', 1);
  }
  for (const h of terms.hooks) give(h.id, 'vocabulary', h.weight);

  const top = input.fullText[0]?.score ?? 0;
  if (top > 0) for (const h of input.fullText) give(h.id, 'text', h.score / top);

  const ranked: RankedHook[] = [];
  for (const [id, m] of points) {
    const cat = /^tracepoint:(\w+):/.exec(id)?.[1];
    if (cat && terms.categories.has(cat)) m.set('subsystem', WEIGHTS.subsystem);
    if (id.startsWith('tracepoint:')) m.set('tracepoint', WEIGHTS.tracepoint);
    const score = [...m.values()].reduce((a, b) => a + b, 0);
    if (score - (m.get('tracepoint') ?? 0) - (m.get('subsystem') ?? 0) < MIN_SCORE) continue;
    const why = [...m].sort((a, b) => b[1] - a[1]).map(([kind]) => kind);
    ranked.push({ id, score, why });
  }
  // Equal points: tracepoints first, then the name, so the order is stable.
  ranked.sort((a, b) => b.score - a.score || Number(b.id.startsWith('tracepoint:')) - Number(a.id.startsWith('tracepoint:')) || a.id.localeCompare(b.id));
  return ranked.slice(0, k);
}
