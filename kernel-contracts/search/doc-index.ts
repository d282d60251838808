/**
 * The doc-text index of hooks as kgentd uses it: the LanceDB index (lance-doc-index.ts) run in a
 * child process of its own (doc-index-main.ts), so kgentd never loads LanceDB's native library.
 * LanceDB keeps its library, caches and allocations resident once loaded (~55 MB of RSS after
 * one search), and only a process that exits gives that back: the service closes the index after
 * an idle time (`docsIdleMs`), which lets the child go; the next search starts a fresh one.
 *
 * Vectors of a build are asked of the parent (`embed`), which asks the daemon's one LLM door.
 */
import { ChildHome, ChildLostError, compiledScript } from '../util/child-home.js';
import type { ChildLog } from '../util/json-lines-child.js';

/** One searchable hook. */
export interface DocRow {
  /** Contract id: `function:tcp_connect`, `tracepoint:sock:inet_sock_set_state`. */
  readonly id: string;
  readonly kind: 'function' | 'tracepoint';
  /** Searchable text: names split into words, prototype or fields, doc text. */
  readonly text: string;
  /** Some probe type attaches to it on this kernel. */
  readonly attachable: boolean;
}

export interface DocHit {
  readonly id: string;
  readonly score: number;
}

/** Turns texts into vectors (an embedding model); all vectors must have one length. */
export type Embedder = (texts: readonly string[]) => Promise<number[][]>;

export interface DocBuildOptions {
  readonly embed?: Embedder;
  /** Texts per embedding call (default 256). */
  readonly batch?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface DocSearchOptions {
  readonly vector?: number[];
  readonly kind?: 'function' | 'tracepoint';
  readonly attachable?: boolean;
}

/** What a build and the service use of a doc index, wherever LanceDB runs. */
export interface DocSearchIndex {
  /** True when searches can run. */
  readonly ready: boolean;
  readonly hasVectors: boolean;
  /** Writes the rows of generation `gen` into a new table and builds its full-text index (vectors with `embed`). */
  build(gen: number, rows: readonly DocRow[], opts?: DocBuildOptions): Promise<void>;
  /** Makes generation `gen`'s table the one searched; drops other generations' tables when `dropOthers`. */
  activate(gen: number, dropOthers?: boolean): Promise<void>;
  /** Adds rows to the current table (not to a table with vectors: those wait for the next build). */
  addRows(rows: readonly DocRow[]): Promise<void>;
  /** Drops the table of a generation that will not be used (a failed build). */
  drop(gen: number): Promise<void>;
  /** Best `k` hooks for a text query: full text, hybrid with `vector` on a table with vectors. */
  search(query: string, k: number, opts?: DocSearchOptions): Promise<DocHit[]>;
  close(): void;
}

/** The index's state after `open` and `activate`, as the child reports it. */
export interface DocIndexState {
  readonly ready: boolean;
  readonly hasVectors: boolean;
}

export interface DocIndexOptions {
  /** Where the child's log lines and failures go (default: nowhere). */
  readonly log?: ChildLog;
  /** The compiled child script (default: `doc-index-main.js` beside this module). */
  readonly script?: string;
}

const quiet: ChildLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class DocIndex implements DocSearchIndex {
  private state: DocIndexState = { ready: false, hasVectors: false };
  /** The generation searched: a fresh child opens it again. */
  private gen: number | undefined;
  private build_: { embed?: Embedder; onProgress?: (done: number, total: number) => void } | undefined;
  private readonly home: ChildHome;

  private constructor(dir: string, gen: number | undefined, o: DocIndexOptions) {
    this.gen = gen;
    this.home = new ChildHome({
      args: [o.script ?? compiledScript(import.meta.url, 'doc-index-main'), '--state-dir', dir],
      what: 'kernel contracts: search index',
      log: o.log ?? quiet,
      tag: { index: 'contracts' },
      onStart: () => ({ method: 'open', args: [this.gen ?? null] }),
      answer: (question, args) => this.answer(question, args),
      onMessage: (msg) => {
        const p = msg['progress'] as { done: number; total: number } | undefined;
        if (p) this.build_?.onProgress?.(p.done, p.total);
      },
    });
  }

  /** Opens `dir` (created on first write) and the table of generation `gen` when it exists. */
  static async open(dir: string, gen?: number, o: DocIndexOptions = {}): Promise<DocIndex> {
    const idx = new DocIndex(dir, gen, o);
    idx.state = await idx.home.call<DocIndexState>('state');
    return idx;
  }

  get ready(): boolean {
    return this.state.ready;
  }

  get hasVectors(): boolean {
    return this.state.hasVectors;
  }

  /** The child's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.home.pid;
  }

  async build(gen: number, rows: readonly DocRow[], opts: DocBuildOptions = {}): Promise<void> {
    if (this.build_) throw new Error('a build of this index is already running');
    this.build_ = { ...(opts.embed ? { embed: opts.embed } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
    try {
      await this.home.call('build', gen, rows, { embed: !!opts.embed, ...(opts.batch ? { batch: opts.batch } : {}) });
    } finally {
      this.build_ = undefined;
    }
  }

  async activate(gen: number, dropOthers = true): Promise<void> {
    this.state = await this.home.call<DocIndexState>('activate', gen, dropOthers);
    this.gen = this.state.ready ? gen : undefined;
  }

  async addRows(rows: readonly DocRow[]): Promise<void> {
    if (!this.state.ready || this.state.hasVectors || rows.length === 0) return;
    await this.home.call('addRows', rows);
  }

  async drop(gen: number): Promise<void> {
    await this.home.call('drop', gen);
  }

  async search(query: string, k: number, opts: DocSearchOptions = {}): Promise<DocHit[]> {
    if (!this.state.ready) return [];
    return this.home.call<DocHit[]>('search', query, k, opts);
  }

  /** Lets the child go (and LanceDB with it). */
  close(): void {
    void this.home.close();
  }

  private async answer(question: string, args: readonly unknown[]): Promise<unknown> {
    const embed = this.build_?.embed;
    if (question !== 'embed' || !embed) throw new ChildLostError(`the search index asked "${question}", which is not answered now`);
    return embed(args[0] as string[]);
  }
}

export { docText } from './doc-text.js';
