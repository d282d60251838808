/**
 * What an example is in the LanceDB table: the entry the prompter and the CLI see, the text the
 * full-text index ranks, the text that is embedded, and the content hash that says when the
 * dataset changed. Pure functions; the table itself is in example-store.ts.
 */
import { createHash } from 'node:crypto';
import type { Example } from '../../datasets/load.js';
import { KgentError } from '../errors.js';
import { acceptedVersions, versionFilter } from './example-versions.js';

/** Where an entry comes from: the repository's dataset, or a request the loop finished. */
export type ExampleKind = 'dataset' | 'learned-positive' | 'learned-avoid';

/** One entry of the table, as the prompter and `kgentctl examples` see it. */
export interface StoredExample {
  /** `area/slug` for dataset examples; `learned/<requestId>` or `avoid/<requestId>` for learned ones. */
  readonly id: string;
  readonly kind: ExampleKind;
  readonly prompt: string;
  /** The program (for an avoid note: the last candidate, when there was one; may be empty). */
  readonly program: string;
  readonly annotated?: string;
  /** Avoid notes: the feedback messages of the failed request, in order. */
  readonly feedback?: readonly string[];
  readonly tags: readonly string[];
  readonly hooks: readonly string[];
  /** Dataset examples: the area folder. */
  readonly area?: string;
  /** Learned entries: the request they came from (the latest, when learned again), its final verdict, and when. */
  readonly requestId?: string;
  readonly verdict?: string;
  readonly learnedAt?: string;
  /** Learned entries: the uid and name of the person who asked. Their entries serve their prompts only. */
  readonly ownerUid?: number;
  readonly owner?: string;
  /** Learned positive entries an admin promoted into the shared library: who (`carol (uid 1002)`) and when. */
  readonly promotedBy?: string;
  readonly promotedAt?: string;
  /**
   * The bpftrace dialect profiles it fits (`0.17`, `0.23` ...): dataset examples as recorded in
   * datasets/example-versions.json; learned entries the dialect their request was verified under.
   * Searches for a host offer only entries that fit its dialect.
   */
  readonly versions: readonly string[];
  /** Dataset examples: the profiles they do not fit, and why. */
  readonly notFit?: readonly { readonly versions: readonly string[]; readonly why: string }[];
}

/**
 * Who is looking: `shared` sees the dataset and promoted entries; `{ uid }` sees those plus the
 * entries learned from that uid's own requests; `all` (admins' listings) sees every entry.
 * The synthesis prompt of a request always looks as its submitter (`{ uid }`), admins included.
 */
export type ExampleViewer = 'shared' | 'all' | { readonly uid: number };

/** A search result: the entry and its score (BM25 for full text, RRF relevance for hybrid; higher is better). */
export interface ExampleHit extends StoredExample {
  readonly score: number;
}

/** The part of a dataset example the table uses (datasets/load.ts's `Example`). */
export type DatasetExample = Pick<Example, 'id' | 'area' | 'prompt' | 'tags' | 'hooks' | 'program' | 'annotated'> &
  Partial<Pick<Example, 'versions' | 'notFit'>> & { readonly variantOf?: string };

/** The outcome of a finished request, as the request service reports it. */
export interface LearnInput {
  /** The person whose request this was: the entry is theirs (and serves only their prompts until promoted). */
  readonly ownerUid: number;
  readonly owner: string;
  readonly requestId: string;
  readonly prompt: string;
  readonly program?: string;
  readonly annotated?: string;
  /** `verified` makes a positive example; anything else (refuted, unknown, rejected by the kernel, ...) an avoid note. */
  readonly verdict: string;
  readonly feedback?: readonly string[];
  /** Hooks the program attaches to, when the caller knows them (otherwise read from the program). */
  readonly hooks?: readonly string[];
  readonly tags?: readonly string[];
  /** The dialect profile the request was verified under (the host's); default: every profile whose front-end accepts the program. */
  readonly dialect?: string;
}

/**
 * Bump when {@link ftsText} or {@link embedText} changes: the table is then rebuilt on the next
 * start, as if the dataset had changed.
 */
export const TEXT_VERSION = 6;

/** A row as stored: the entry's fields flattened to strings, plus the ranked text. */
export interface ExampleRow {
  id: string;
  kind: ExampleKind;
  prompt: string;
  program: string;
  annotated: string;
  /** JSON arrays. */
  feedback: string;
  tags: string;
  hooks: string;
  area: string;
  request_id: string;
  verdict: string;
  learned_at: string;
  /** Learned entries: the owner's uid as decimal text (`''` for the dataset), and their name. */
  owner_uid: string;
  owner: string;
  /** `''` unless an admin promoted the entry into the shared library. */
  promoted_by: string;
  promoted_at: string;
  /** JSON array of the dialect profiles the entry fits (`["0.17","0.20"]`), searched with {@link versionFilter}. */
  versions: string;
  /** JSON array of `{versions, why}` (dataset examples). */
  not_fit: string;
  /** What the full-text index ranks first: the request (and for avoid notes, the feedback). */
  text: string;
  /** What it ranks with a lower weight: the hooks and the program's identifiers. */
  code: string;
}

/** Column names other than `text`, `code` and `vector`: what searches and listings read back. */
export const ENTRY_COLUMNS = ['id', 'kind', 'prompt', 'program', 'annotated', 'feedback', 'tags', 'hooks', 'area', 'request_id', 'verdict', 'learned_at', 'owner_uid', 'owner', 'promoted_by', 'promoted_at', 'versions', 'not_fit'] as const;

/**
 * The columns added since the first table: ownership (TEXT_VERSION 5) and versions (6). A table
 * without one is migrated at open.
 */
export const OWNER_COLUMNS = ['owner_uid', 'owner', 'promoted_by', 'promoted_at', 'versions', 'not_fit'] as const;

/** The uid a learned row without an owner (stored before entries had one) is given: root's, never shared. */
export const UNOWNED_UID = 0;

/** `tracepoint:syscalls:sys_enter_openat` -> `tracepoint syscalls sys enter openat`. */
function hookWords(hook: string): string {
  return hook.replace(/[^A-Za-z0-9]+/g, ' ').trim();
}

/**
 * The kernel and bpftrace names a program uses (probes, builtins, functions, map names, fields),
 * split into words, once each: `kstack`, `hist`, `retval`, `args->filename` are what a request
 * about stacks, histograms, return values or file names shares with the program.
 */
export function programWords(program: string): string {
  const words = new Set<string>();
  const noStrings = program.replace(/"(?:[^"\\]|\\.)*"/g, ' ').replace(/\/\/.*$/gm, ' ');
  for (const m of noStrings.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) {
    for (const w of m[0].split('_')) if (w.length > 2) words.add(w.toLowerCase());
  }
  return [...words].join(' ');
}

/** The full-text columns and their weights (BM25 scores weighted and summed). */
export const FTS_COLUMNS = ['text', 'code'] as const;
export const FTS_BOOSTS = [1, 0.5] as const;

/**
 * The two ranked texts, measured with test/daemon/retrieval/recall.test.ts (then 62 requests, full text):
 * one column of prompt + tags + hooks + program words ranked 96.8% (the program's words dilute
 * the prompt's in BM25); prompt + tags alone 98.4% but then nothing finds a program by the kernel
 * names it uses; prompt + tags at weight 1 with hooks + program words in a second column at 0.5
 * keeps 98.4% and finds `kfree_skb` or `vfs_read` too (at weight 1 it falls to 93.5%).
 */
export function ftsText(e: { prompt: string; tags: readonly string[]; feedback?: readonly string[] }): string {
  return [e.prompt, e.tags.join(' '), ...(e.feedback ?? [])].join('\n');
}

export function codeText(e: { hooks: readonly string[]; program: string }): string {
  return [e.hooks.map(hookWords).join(' '), programWords(e.program)].join('\n');
}

/** The text embedded for an entry: the request it answers and its tags (queries are requests too). */
export function embedText(e: { prompt: string; tags: readonly string[] }): string {
  return e.tags.length ? `${e.prompt}\n${e.tags.join(', ')}` : e.prompt;
}

export function datasetRow(e: DatasetExample): ExampleRow {
  return {
    id: e.id,
    kind: 'dataset',
    prompt: e.prompt,
    program: e.program,
    annotated: e.annotated,
    feedback: '[]',
    tags: JSON.stringify(e.tags),
    hooks: JSON.stringify(e.hooks),
    area: e.area,
    request_id: '',
    verdict: '',
    learned_at: '',
    owner_uid: '',
    owner: '',
    promoted_by: '',
    promoted_at: '',
    versions: JSON.stringify(e.versions ?? [DATASET_WRITTEN_FOR]),
    not_fit: JSON.stringify(e.notFit ?? []),
    text: ftsText(e),
    code: codeText(e),
  };
}

/** The version a dataset example without a record fits (datasets/versions.ts's WRITTEN_FOR). */
const DATASET_WRITTEN_FOR = '0.17';

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isRequestId(s: string): boolean {
  return REQUEST_ID.test(s);
}

/** Probes a program attaches to, read from its text (for learned entries whose caller gave none). */
export function hooksOf(program: string): string[] {
  const found = new Set<string>();
  const re = /^\s*((?:tracepoint|t|kprobe|k|kretprobe|kr|kfunc|f|fentry|kretfunc|fr|fexit|rawtracepoint|rt|uprobe|uretprobe|usdt|software|hardware|profile|interval|BEGIN|END)\b[^{/\n]*)/gm;
  for (const m of program.matchAll(re)) {
    for (const p of (m[1] as string).split(',')) {
      const h = p.trim();
      if (h) found.add(h);
    }
  }
  return [...found];
}

/** A request text as it is compared: case, spacing and trailing punctuation do not make another request. */
export function normalizePrompt(prompt: string): string {
  return prompt.toLowerCase().replace(/\s+/g, ' ').trim().replace(/[\s.!?;:,]+$/, '');
}

/**
 * A program as it is compared: layout (line breaks, indentation, spaces around punctuation) does
 * not make another program. Only for telling rows apart; the stored program is the approved text.
 */
export function normalizeProgram(program: string): string {
  return program.replace(/\s+/g, ' ').replace(/\s*([^\w\s])\s*/g, '$1').trim();
}

function shortHash(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/**
 * The id of a learned entry: one per owner and request (+ program, for positive entries), so the
 * same request learned again updates its row instead of adding one. The id says nothing of whose
 * it is or what it asked (ids of promoted entries are seen by everyone).
 */
export function learnedId(kind: 'learned-positive' | 'learned-avoid', ownerUid: number, prompt: string, program: string): string {
  return kind === 'learned-positive'
    ? `learned/${shortHash(['positive', ownerUid, normalizePrompt(prompt), normalizeProgram(program)])}`
    : `avoid/${shortHash(['avoid', ownerUid, normalizePrompt(prompt)])}`;
}

/** Whether an outcome is a positive example: a verified (proved) program; anything else is an avoid note. */
export function isPositiveOutcome(verdict: string, program: string | undefined): boolean {
  return (verdict === 'verified' || verdict === 'proved') && (program ?? '').trim() !== '';
}

export function learnedRow(o: LearnInput, at: Date): ExampleRow {
  const positive = isPositiveOutcome(o.verdict, o.program);
  const program = o.program ?? '';
  const hooks = o.hooks ? [...o.hooks] : hooksOf(program);
  const tags = o.tags ? [...o.tags] : [];
  const feedback = positive ? [] : [...(o.feedback ?? [])];
  const kind = positive ? 'learned-positive' : 'learned-avoid';
  return {
    id: learnedId(kind, o.ownerUid, o.prompt, program),
    kind,
    prompt: o.prompt,
    program,
    annotated: o.annotated ?? '',
    feedback: JSON.stringify(feedback),
    tags: JSON.stringify(tags),
    hooks: JSON.stringify(hooks),
    area: '',
    request_id: o.requestId,
    verdict: positive ? 'verified' : o.verdict,
    learned_at: at.toISOString(),
    owner_uid: String(o.ownerUid),
    owner: o.owner,
    promoted_by: '',
    promoted_at: '',
    versions: JSON.stringify(o.dialect !== undefined ? [o.dialect] : acceptedVersions(program)),
    not_fit: '[]',
    text: ftsText({ prompt: o.prompt, tags, feedback }),
    code: codeText({ hooks, program }),
  };
}

/**
 * A row of a table stored before entries had an owner: owned by root (`UNOWNED_UID`), never
 * shared, with the id it would have now (rows learned several times for one request collapse).
 */
export function migratedRow(row: ExampleRow): ExampleRow {
  if (row.kind === 'dataset') return { ...row, owner_uid: '', owner: '', promoted_by: '', promoted_at: '' };
  // Learned before versions were kept: the dialect it was verified under is unknown, so it fits
  // the versions whose front-end and acceptance rules take its program.
  const r = row.versions ? row : { ...row, versions: JSON.stringify(acceptedVersions(row.program)), not_fit: '[]' };
  if (r.kind === 'dataset') return r;
  const hasOwner = /^\d+$/.test(r.owner_uid ?? '');
  const ownerUid = hasOwner ? Number(r.owner_uid) : UNOWNED_UID;
  return {
    ...r,
    id: learnedId(r.kind, ownerUid, r.prompt, r.program),
    owner_uid: String(ownerUid),
    owner: hasOwner ? (r.owner ?? '') : 'root (stored before examples had owners)',
    promoted_by: hasOwner ? (r.promoted_by ?? '') : '',
    promoted_at: hasOwner ? (r.promoted_at ?? '') : '',
  };
}

/** Whether `viewer` may see an entry (the same rule as {@link viewerFilter}, for one entry). */
export function visibleTo(e: Pick<StoredExample, 'kind' | 'ownerUid' | 'promotedBy'>, viewer: ExampleViewer): boolean {
  if (viewer === 'all' || e.kind === 'dataset' || (e.kind === 'learned-positive' && e.promotedBy)) return true;
  return viewer !== 'shared' && e.ownerUid === viewer.uid;
}

export { versionFilter };

/** The SQL filter of what `viewer` may see; undefined for `all`. */
export function viewerFilter(viewer: ExampleViewer): string | undefined {
  if (viewer === 'all') return undefined;
  const shared = "kind = 'dataset' OR (kind = 'learned-positive' AND promoted_by != '')";
  if (viewer === 'shared') return `(${shared})`;
  if (!Number.isSafeInteger(viewer.uid) || viewer.uid < 0) throw new Error(`not a uid: ${viewer.uid}`);
  return `(${shared} OR owner_uid = '${viewer.uid}')`;
}

function strings(json: unknown): string[] {
  try {
    const v: unknown = JSON.parse(String(json ?? '[]'));
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/** A row read back from LanceDB -> the entry (empty optional fields left out). */
export function toEntry(r: Record<string, unknown>): StoredExample {
  const s = (k: string): string => (r[k] === null || r[k] === undefined ? '' : String(r[k]));
  const kind = s('kind') as ExampleKind;
  const feedback = strings(r['feedback']);
  return {
    id: s('id'),
    kind,
    prompt: s('prompt'),
    program: s('program'),
    ...(s('annotated') ? { annotated: s('annotated') } : {}),
    ...(kind === 'learned-avoid' ? { feedback } : {}),
    tags: strings(r['tags']),
    hooks: strings(r['hooks']),
    ...(s('area') ? { area: s('area') } : {}),
    ...(s('request_id') ? { requestId: s('request_id') } : {}),
    ...(s('verdict') ? { verdict: s('verdict') } : {}),
    ...(s('learned_at') ? { learnedAt: s('learned_at') } : {}),
    ...(kind !== 'dataset' && /^\d+$/.test(s('owner_uid')) ? { ownerUid: Number(s('owner_uid')) } : {}),
    ...(kind !== 'dataset' && s('owner') ? { owner: s('owner') } : {}),
    ...(s('promoted_by') ? { promotedBy: s('promoted_by') } : {}),
    ...(s('promoted_at') ? { promotedAt: s('promoted_at') } : {}),
    versions: strings(r['versions']),
    ...(notFit(r['not_fit']).length ? { notFit: notFit(r['not_fit']) } : {}),
  };
}

function notFit(json: unknown): { versions: string[]; why: string }[] {
  try {
    const v: unknown = JSON.parse(String(json ?? '[]'));
    if (!Array.isArray(v)) return [];
    return v.flatMap((x: unknown) => {
      const o = x as { versions?: unknown; why?: unknown };
      return o && Array.isArray(o.versions) && typeof o.why === 'string' ? [{ versions: o.versions.map(String), why: o.why }] : [];
    });
  } catch {
    return [];
  }
}

/** Content hash of the dataset (and of how rows are built from it): a change reloads the table. */
export function datasetHash(examples: readonly DatasetExample[]): string {
  const h = createHash('sha256');
  h.update(`text-version ${TEXT_VERSION}\n`);
  for (const e of [...examples].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    h.update(JSON.stringify([e.id, e.area, e.prompt, e.tags, e.hooks, e.variantOf ?? null, e.program, e.annotated, e.versions ?? null, e.notFit ?? null]));
    h.update('\n');
  }
  return h.digest('hex');
}

/** An unknown id, and an entry the caller may not see, answer this one way. */
export function notFound(id: string): KgentError {
  return new KgentError('not-found', `no example "${id}" (kgentctl examples list shows them)`, { id });
}
