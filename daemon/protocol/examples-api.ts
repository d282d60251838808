/**
 * The example-library methods of the control socket (the few-shot examples of the synthesis
 * prompt: the repository's dataset plus what kgentd learned from finished requests).
 *
 * - `examples.list`    {learnedOnly?}  -> ExamplesListResult
 * - `examples.search`  {text, k?, dialect?} -> ExamplesSearchResult (entries that fit the host's dialect, or `dialect`)
 * - `examples.show`    {id}            -> ExamplesShowResult
 * - `examples.remove`  {id}            -> ExamplesRemoveResult   (learned entries: admin, or their owner)
 * - `examples.promote` {id}            -> ExamplesPromoteResult  (a learned verified program into the shared library; admin)
 * - `examples.demote`  {id}            -> ExamplesPromoteResult  (back out of the shared library; admin)
 *
 * Learned entries belong to the person whose request they came from. A member sees (and their
 * prompts get) the dataset, promoted entries and their own learned entries; an admin sees all,
 * with the owner. An entry the caller may not see answers `not-found`, like an unknown id.
 *
 * Wire types are the protocol's own; the daemon's adapter (daemon/retrieval/examples-methods.ts) hands
 * over the store's entries and the compiler checks there that both agree.
 */
import { defineMethod } from './spec.js';
import { bool, int, obj, optional, str } from './validate.js';

export type ExampleKind = 'dataset' | 'learned-positive' | 'learned-avoid';

export interface ExampleEntry {
  /** `area/slug` (dataset), `learned/<request>` (verified program), `avoid/<request>` (failure and its feedback). */
  readonly id: string;
  readonly kind: ExampleKind;
  readonly prompt: string;
  readonly program: string;
  readonly annotated?: string;
  readonly feedback?: readonly string[];
  readonly tags: readonly string[];
  readonly hooks: readonly string[];
  readonly area?: string;
  readonly requestId?: string;
  readonly verdict?: string;
  readonly learnedAt?: string;
  /** Learned entries: whose request it came from (shown to the owner and to admins). */
  readonly ownerUid?: number;
  readonly owner?: string;
  /** Set when an admin promoted the entry into the shared library (everyone's prompts). */
  readonly promotedBy?: string;
  readonly promotedAt?: string;
  /**
   * The bpftrace dialect profiles it fits (`0.17` ... `0.27`): dataset examples as computed with
   * the verifier under each profile, learned entries the dialect their request was verified under.
   */
  readonly versions: readonly string[];
  /** Dataset examples: the profiles they do not fit, and why. */
  readonly notFit?: readonly { readonly versions: readonly string[]; readonly why: string }[];
}

/** A listing row: the entry without its programs and feedback. */
export type ExampleSummary = Omit<ExampleEntry, 'program' | 'annotated' | 'feedback'>;

export interface ExamplesListResult {
  readonly examples: readonly ExampleSummary[];
  readonly counts: { readonly dataset: number; readonly learnedPositive: number; readonly learnedAvoid: number };
  /** Search mode available: full text always; hybrid when the table has vectors. */
  readonly vectors: boolean;
  /** Every dialect profile kgent models, oldest first (for showing versions as ranges). */
  readonly profiles?: readonly string[];
  /** The host's dialect profile: its prompts get only the entries that fit it. */
  readonly dialect?: string;
}

export interface ExamplesSearchResult {
  readonly mode: 'full-text' | 'hybrid';
  readonly hits: readonly (ExampleEntry & { readonly score: number })[];
  /** The dialect profile the hits were limited to (the host's, or the one asked for). */
  readonly dialect?: string;
}

/**
 * Versions for people: consecutive profiles of `order` joined into ranges (`0.17-0.27`,
 * `0.17, 0.24-0.27`); `none` for none.
 */
export function versionRanges(versions: readonly string[], order: readonly string[]): string {
  if (versions.length === 0) return 'none';
  const has = new Set(versions);
  const runs: string[][] = [];
  let run: string[] = [];
  for (const v of order) {
    if (has.has(v)) run.push(v);
    else if (run.length) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length) runs.push(run);
  const unknown = versions.filter((v) => !order.includes(v));
  return [...runs.map((r) => (r.length === 1 ? (r[0] as string) : `${r[0]}-${r[r.length - 1]}`)), ...unknown].join(', ');
}

export interface ExamplesShowResult {
  readonly example: ExampleEntry;
}

export interface ExamplesRemoveResult {
  readonly removed: ExampleEntry;
}

export interface ExamplesPromoteResult {
  readonly example: ExampleEntry;
}

/** Example ids as the store makes them; anything else cannot name an entry. */
const exampleId = str({
  min: 3,
  max: 200,
  pattern: /^[a-z0-9][a-z0-9-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/,
  shape: 'an example ID: AREA/SLUG, learned/N or avoid/N (kgentctl examples list shows them)',
});

export const ExamplesList = defineMethod<ExamplesListResult>()('examples.list', obj({ learnedOnly: optional(bool()) }));
export const ExamplesSearch = defineMethod<ExamplesSearchResult>()(
  'examples.search',
  obj({ text: str({ min: 1, max: 2000 }), k: optional(int({ min: 1, max: 50 })), dialect: optional(str({ min: 3, max: 16, pattern: /^v?\d+\.\d+(\.\d+)?$/, shape: 'a bpftrace version such as 0.23' })) }),
);
export const ExamplesShow = defineMethod<ExamplesShowResult>()('examples.show', obj({ id: exampleId }));
export const ExamplesRemove = defineMethod<ExamplesRemoveResult>()('examples.remove', obj({ id: exampleId }));
export const ExamplesPromote = defineMethod<ExamplesPromoteResult>()('examples.promote', obj({ id: exampleId }));
export const ExamplesDemote = defineMethod<ExamplesPromoteResult>()('examples.demote', obj({ id: exampleId }));
