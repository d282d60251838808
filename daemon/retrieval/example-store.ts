/**
 * The examples the synthesis and comprehension prompts are given (DESIGN.md section 6), in one
 * LanceDB table (`<stateDir>/examples.lance`, table `examples`): the repository's dataset, loaded
 * on first start and again when its content hash changes, plus what the loop learned from finished
 * requests (kept across reloads). Full-text index always; a vector per row when the embedding model
 * answers; hybrid ranking (reciprocal rank fusion) when the table has vectors and the query can be
 * embedded, full text alone otherwise.
 */
import { mkdirSync } from 'node:fs';
import { connect, type Connection, type Table } from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema, Utf8 } from 'apache-arrow';
import { ftsIndex, rankedQuery, sanitizeQuery } from '../../kernel-contracts/search/lance.js';
import { KgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { examplesDbPath, readExampleMeta, writeExampleMeta, type ExampleMeta as Meta } from './example-meta.js';
import {
  datasetHash,
  datasetRow,
  embedText,
  ENTRY_COLUMNS,
  FTS_BOOSTS,
  FTS_COLUMNS,
  isRequestId,
  learnedRow,
  toEntry,
  type DatasetExample,
  type ExampleHit,
  type ExampleKind,
  type ExampleRow,
  type LearnInput,
  type StoredExample,
} from './example-rows.js';

/**
 * Turns texts into vectors (one per text, all of one length), or answers undefined when no
 * embedding model is available. It may also throw; either way the store falls back to full text.
 */
export type EmbedFn = (texts: string[]) => Promise<number[][] | undefined>;

export interface ExampleStoreOptions {
  readonly stateDir: string;
  readonly embed?: EmbedFn;
  /** Name of the embedding model: vectors made by another model are recomputed. Default `default`. */
  readonly embedModel?: string;
  readonly logger?: Logger;
}

export interface SyncResult {
  /** False when the table already held this dataset (and vectors, if the model answers). */
  readonly changed: boolean;
  readonly datasetExamples: number;
  readonly learned: number;
  readonly vectors: boolean;
  readonly ms: number;
}

export interface SearchOptions {
  /** Only these kinds (default: all three). */
  readonly kinds?: readonly ExampleKind[];
  /** Full text only, even when vectors exist (the recall measurement, a fallback). */
  readonly fullTextOnly?: boolean;
}

export interface SearchResult {
  readonly mode: 'full-text' | 'hybrid';
  readonly hits: readonly ExampleHit[];
}

const TABLE = 'examples';
const LEARNED_KINDS: readonly ExampleKind[] = ['learned-positive', 'learned-avoid'];
const EMBED_BATCH = 64;

function sql(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function schemaFor(dims: number | undefined): Schema {
  const fields: Field[] = [...ENTRY_COLUMNS, ...FTS_COLUMNS].map((name) => new Field(name, new Utf8(), false));
  if (dims !== undefined) fields.push(new Field('vector', new FixedSizeList(dims, new Field('item', new Float32(), true)), true));
  return new Schema(fields);
}

export class ExampleStore {
  private table: Table | undefined;
  private dims: number | undefined;
  private meta: Meta | undefined;
  /** Writes (sync, learn, remove) run one at a time; searches read whatever table is current. */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly conn: Connection,
    private readonly o: ExampleStoreOptions,
  ) {}

  /** Opens (or prepares to create) `<stateDir>/examples.lance`. Nothing is loaded until {@link sync}. */
  static async open(o: ExampleStoreOptions): Promise<ExampleStore> {
    mkdirSync(o.stateDir, { recursive: true });
    const conn = await connect(examplesDbPath(o.stateDir));
    const store = new ExampleStore(conn, o);
    store.meta = readExampleMeta(o.stateDir);
    if ((await conn.tableNames()).includes(TABLE)) await store.useTable(await conn.openTable(TABLE));
    return store;
  }

  /** True when the table has vectors (searches are hybrid when the query can be embedded). */
  get hasVectors(): boolean {
    return this.dims !== undefined;
  }

  /**
   * Loads `examples` (the dataset) when the table is new or the dataset changed, keeping learned
   * entries; adds vectors when the table has none (or some rows lack them) and `embed` answers.
   * Does nothing when the table already holds this dataset with vectors wherever they can be made.
   */
  async sync(examples: readonly DatasetExample[]): Promise<SyncResult> {
    return this.serial(async () => {
      const t0 = performance.now();
      const hash = datasetHash(examples);
      const datasetChanged = !this.table || this.meta?.datasetHash !== hash;
      const model = this.o.embedModel ?? 'default';
      const missingVectors = this.o.embed !== undefined && (!this.hasVectors || this.meta?.vectorModel !== model || (await this.rowsWithoutVector()) > 0);
      const learnedRows = this.table ? await this.readRows(`kind IN (${LEARNED_KINDS.map(sql).join(', ')})`) : [];
      const result = (changed: boolean, vectors: boolean): SyncResult => ({
        changed,
        datasetExamples: examples.length,
        learned: learnedRows.length,
        vectors,
        ms: Math.round(performance.now() - t0),
      });
      if (!datasetChanged && !missingVectors) return result(false, this.hasVectors);

      const rows: ExampleRow[] = [...examples.map(datasetRow), ...learnedRows.map((r) => r.row)];
      // Vectors kept where the model is the same and the embedded text did not change.
      const oldVectors = new Map<string, { text: string; vector: number[] }>();
      if (this.meta?.vectorModel === model) for (const r of learnedRows) if (r.vector) oldVectors.set(r.row.id, { text: embedText(entryOf(r.row)), vector: r.vector });
      const vectors = await this.embedRows(rows, oldVectors);
      if (!datasetChanged && !vectors) {
        this.o.logger?.info({ examples: rows.length }, 'examples: embedding model did not answer; full-text search only');
        return result(false, this.hasVectors);
      }
      await this.writeAll(rows, vectors);
      this.writeMeta({ datasetHash: hash, datasetExamples: examples.length, ...(vectors ? { vectorModel: model } : {}), syncedAt: new Date().toISOString() });
      const r = result(true, vectors !== undefined);
      this.o.logger?.info({ ...r, reason: datasetChanged ? 'dataset changed' : 'vectors added' }, 'examples loaded');
      return r;
    });
  }

  /**
   * The best `k` entries for a request. Hybrid (full text + vectors, RRF) when the table has
   * vectors and the request can be embedded; full text otherwise. Any text is accepted: query
   * syntax in it is reduced to words first.
   */
  async search(text: string, k: number, opts: SearchOptions = {}): Promise<SearchResult> {
    const table = this.table;
    const q = sanitizeQuery(text);
    if (!table || !q) return { mode: 'full-text', hits: [] };
    const vector = this.hasVectors && !opts.fullTextOnly ? await this.embedOne(text) : undefined;
    const kinds = opts.kinds ?? [];
    const { mode, rows } = await rankedQuery(table, {
      text: q,
      columns: FTS_COLUMNS,
      boosts: FTS_BOOSTS,
      ...(vector ? { vector } : {}),
      ...(kinds.length ? { where: `kind IN (${kinds.map(sql).join(', ')})` } : {}),
      select: ENTRY_COLUMNS,
      limit: k,
    });
    return { mode, hits: rows.map((r) => ({ ...toEntry(r), score: r.score })) };
  }

  /**
   * Adds the outcome of a finished request, marked as learned: a positive example when it was
   * verified, an "avoid" note (the request, the last candidate, the feedback) otherwise. A request
   * learned again replaces its earlier entry of the same kind.
   */
  async learn(o: LearnInput): Promise<StoredExample> {
    if (!isRequestId(o.requestId)) throw new KgentError('bad-request', `request id "${o.requestId}" is not usable as an example id`);
    if (!o.prompt.trim()) throw new KgentError('bad-request', 'a learned example needs the request text');
    return this.serial(async () => {
      const row = learnedRow(o, new Date());
      let vector: number[] | undefined;
      if (this.table && this.hasVectors) vector = await this.embedOne(embedText(entryOf(row)));
      if (!this.table) {
        await this.writeAll([row], undefined);
      } else {
        await this.table.delete(`id = ${sql(row.id)}`);
        const data: Record<string, unknown> = vector ? { ...row, vector } : this.hasVectors ? { ...row, vector: null } : { ...row };
        await this.table.add([data]);
        // Found by full text meanwhile; the next sync (kgentd's next start) embeds it.
        if (this.hasVectors && !vector && this.meta && !this.meta.missingVectors) this.writeMeta({ ...this.meta, missingVectors: true });
      }
      return entryOf(row);
    });
  }

  /** Entries sorted by kind (dataset first) then id; `learnedOnly` leaves out the dataset. */
  async list(opts: { learnedOnly?: boolean } = {}): Promise<StoredExample[]> {
    if (!this.table) return [];
    const rows = await this.readRows(opts.learnedOnly ? `kind IN (${LEARNED_KINDS.map(sql).join(', ')})` : undefined);
    const order: Record<ExampleKind, number> = { dataset: 0, 'learned-positive': 1, 'learned-avoid': 2 };
    return rows.map((r) => entryOf(r.row)).sort((a, b) => order[a.kind] - order[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(id: string): Promise<StoredExample | undefined> {
    if (!this.table) return undefined;
    const rows = await this.readRows(`id = ${sql(id)}`);
    return rows[0] ? entryOf(rows[0].row) : undefined;
  }

  /**
   * Removes a learned entry. Dataset entries are refused (they come back with the dataset: edit
   * datasets/examples instead); an unknown id is `not-found`.
   */
  async remove(id: string): Promise<StoredExample> {
    return this.serial(async () => {
      const e = await this.get(id);
      if (!e) throw new KgentError('not-found', `no example "${id}" (kgentctl examples list shows them)`, { id });
      if (e.kind === 'dataset') {
        throw new KgentError('refused', `${id} is a dataset example; it would come back with the dataset (edit datasets/examples/${id}.bt instead)`, { id });
      }
      await this.table!.delete(`id = ${sql(id)}`);
      return e;
    });
  }

  close(): void {
    this.table?.close();
    this.table = undefined;
    this.conn.close();
  }

  // ---- internals ----------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writing.then(fn, fn);
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async useTable(tbl: Table): Promise<void> {
    const old = this.table;
    this.table = tbl;
    const vec = (await tbl.schema()).fields.find((f) => f.name === 'vector');
    this.dims = vec ? (vec.type as FixedSizeList).listSize : undefined;
    if (old && old !== tbl) old.close();
  }

  private async rowsWithoutVector(): Promise<number> {
    if (!this.table || !this.hasVectors) return 0;
    return this.table.countRows('vector IS NULL');
  }

  private async readRows(where: string | undefined): Promise<{ row: ExampleRow; vector?: number[] }[]> {
    if (!this.table) return [];
    let q = this.table.query();
    if (where) q = q.where(where);
    const cols = [...ENTRY_COLUMNS, ...FTS_COLUMNS, ...(this.hasVectors ? ['vector'] : [])];
    const rows: Record<string, unknown>[] = await q.select(cols).toArray();
    return rows.map((r) => {
      const row = Object.fromEntries([...ENTRY_COLUMNS, ...FTS_COLUMNS].map((c) => [c, String(r[c] ?? '')])) as unknown as ExampleRow;
      const v = r['vector'] as { toArray?: () => ArrayLike<number> } | null | undefined;
      return v ? { row, vector: Array.from(v.toArray ? v.toArray() : (v as unknown as ArrayLike<number>)) } : { row };
    });
  }

  /** One vector per row, reusing `old` where the embedded text is unchanged; undefined when the model does not answer. */
  private async embedRows(rows: readonly ExampleRow[], old: ReadonlyMap<string, { text: string; vector: number[] }>): Promise<number[][] | undefined> {
    if (!this.o.embed) return undefined;
    const texts = rows.map((r) => embedText(entryOf(r)));
    const out: (number[] | undefined)[] = rows.map((r, i) => {
      const o = old.get(r.id);
      return o && o.text === texts[i] ? o.vector : undefined;
    });
    const todo = out.flatMap((v, i) => (v ? [] : [i]));
    for (let b = 0; b < todo.length; b += EMBED_BATCH) {
      const idx = todo.slice(b, b + EMBED_BATCH);
      const vecs = await this.callEmbed(idx.map((i) => texts[i]!));
      if (!vecs || vecs.length !== idx.length) return undefined;
      idx.forEach((i, j) => (out[i] = vecs[j]));
    }
    const dims = out[0]?.length;
    if (!dims || out.some((v) => !v || v.length !== dims)) {
      this.o.logger?.warn('examples: embedding model answered vectors of different lengths; full-text search only');
      return undefined;
    }
    return out as number[][];
  }

  private async embedOne(text: string): Promise<number[] | undefined> {
    const v = (await this.callEmbed([text]))?.[0];
    return v && v.length === this.dims ? v : undefined;
  }

  private async callEmbed(texts: string[]): Promise<number[][] | undefined> {
    if (!this.o.embed) return undefined;
    try {
      return await this.o.embed(texts);
    } catch (err) {
      this.o.logger?.warn({ err: (err as Error).message }, 'examples: embedding failed; full-text search only');
      return undefined;
    }
  }

  /** Replaces the table with `rows` (and their vectors), then builds the full-text index. */
  private async writeAll(rows: readonly ExampleRow[], vectors: readonly number[][] | undefined): Promise<void> {
    const dims = vectors?.[0]?.length;
    const data = rows.map((r, i) => (vectors ? { ...r, vector: vectors[i]! } : { ...r }));
    const tbl = await this.conn.createTable(TABLE, data, { mode: 'overwrite', schema: schemaFor(dims) });
    for (const c of FTS_COLUMNS) await tbl.createIndex(c, { config: ftsIndex(), replace: true });
    await this.useTable(tbl);
  }

  private writeMeta(m: Meta): void {
    writeExampleMeta(this.o.stateDir, m);
    this.meta = m;
  }
}

function entryOf(row: ExampleRow): StoredExample {
  return toEntry(row as unknown as Record<string, unknown>);
}

export type { DatasetExample, ExampleHit, ExampleKind, LearnInput, StoredExample } from './example-rows.js';
