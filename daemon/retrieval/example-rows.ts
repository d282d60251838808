/**
 * What an example is in the LanceDB table: the entry the prompter and the CLI see, the text the
 * full-text index ranks, the text that is embedded, and the content hash that says when the
 * dataset changed. Pure functions; the table itself is in example-store.ts.
 */
import { createHash } from 'node:crypto';
import type { Example } from '../../datasets/load.js';

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
  /** Learned entries: the request they came from, its final verdict, and when. */
  readonly requestId?: string;
  readonly verdict?: string;
  readonly learnedAt?: string;
}

/** A search result: the entry and its score (BM25 for full text, RRF relevance for hybrid; higher is better). */
export interface ExampleHit extends StoredExample {
  readonly score: number;
}

/** The part of a dataset example the table uses (datasets/load.ts's `Example`). */
export type DatasetExample = Pick<Example, 'id' | 'area' | 'prompt' | 'tags' | 'hooks' | 'program' | 'annotated'> & { readonly variantOf?: string };

/** The outcome of a finished request, as the orchestrator reports it. */
export interface LearnInput {
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
}

/**
 * Bump when {@link ftsText} or {@link embedText} changes: the table is then rebuilt on the next
 * start, as if the dataset had changed.
 */
export const TEXT_VERSION = 4;

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
  /** What the full-text index ranks first: the request (and for avoid notes, the feedback). */
  text: string;
  /** What it ranks with a lower weight: the hooks and the program's identifiers. */
  code: string;
}

/** Column names other than `text`, `code` and `vector`: what searches and listings read back. */
export const ENTRY_COLUMNS = ['id', 'kind', 'prompt', 'program', 'annotated', 'feedback', 'tags', 'hooks', 'area', 'request_id', 'verdict', 'learned_at'] as const;

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
 * The two ranked texts, measured with test/retrieval/recall.test.ts (then 62 requests, full text):
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
    text: ftsText(e),
    code: codeText(e),
  };
}

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

export function learnedRow(o: LearnInput, at: Date): ExampleRow {
  const positive = o.verdict === 'verified' && (o.program ?? '').trim() !== '';
  const program = o.program ?? '';
  const hooks = o.hooks ? [...o.hooks] : hooksOf(program);
  const tags = o.tags ? [...o.tags] : [];
  const feedback = positive ? [] : [...(o.feedback ?? [])];
  return {
    id: `${positive ? 'learned' : 'avoid'}/${o.requestId}`,
    kind: positive ? 'learned-positive' : 'learned-avoid',
    prompt: o.prompt,
    program,
    annotated: o.annotated ?? '',
    feedback: JSON.stringify(feedback),
    tags: JSON.stringify(tags),
    hooks: JSON.stringify(hooks),
    area: '',
    request_id: o.requestId,
    verdict: o.verdict,
    learned_at: at.toISOString(),
    text: ftsText({ prompt: o.prompt, tags, feedback }),
    code: codeText({ hooks, program }),
  };
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
  };
}

/** Content hash of the dataset (and of how rows are built from it): a change reloads the table. */
export function datasetHash(examples: readonly DatasetExample[]): string {
  const h = createHash('sha256');
  h.update(`text-version ${TEXT_VERSION}\n`);
  for (const e of [...examples].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    h.update(JSON.stringify([e.id, e.area, e.prompt, e.tags, e.hooks, e.variantOf ?? null, e.program, e.annotated]));
    h.update('\n');
  }
  return h.digest('hex');
}
