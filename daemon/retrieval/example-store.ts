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
  learnedId,
  learnedRow,
  migratedRow,
  notFound,
  OWNER_COLUMNS,
  toEntry,
  versionFilter,
  viewerFilter,
  visibleTo,
  type DatasetExample,
  type ExampleHit,
  type ExampleKind,
  type ExampleRow,
  type ExampleViewer,
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
  /** Whose view (default `shared`: the dataset and promoted entries only). A request searches as its submitter. */
  readonly viewer?: ExampleViewer;
  /** Only entries that fit this dialect profile (`0.23`): the host's, for its prompts. Default: any. */
  readonly dialect?: string;
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
  /** The open table's column names. */
  private columns: readonly string[] = [];
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
    if ((await conn.tableNames()).includes(TABLE)) {
      await store.useTable(await conn.openTable(TABLE));
      if (store.missingColumns.length > 0) await store.serial(() => store.migrate());
    }
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

      const rows: ExampleRow[] = [...examples.map(datasetRow), ...learnedRows.map((r) => migratedRow(r.row))];
      // Vectors kept where the model is the same and the embedded text did not change.
      const oldVectors = new Map<string, { text: string; vector: number[] }>();
      if (this.meta?.vectorModel === model) for (const r of learnedRows) if (r.vector) oldVectors.set(migratedRow(r.row).id, { text: embedText(entryOf(r.row)), vector: r.vector });
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
    const where = [kinds.length ? `kind IN (${kinds.map(sql).join(', ')})` : undefined, viewerFilter(opts.viewer ?? 'shared'), opts.dialect !== undefined ? versionFilter(opts.dialect) : undefined].filter(Boolean).join(' AND ');
    const { mode, rows } = await rankedQuery(table, {
      text: q,
      columns: FTS_COLUMNS,
      boosts: FTS_BOOSTS,
      ...(vector ? { vector } : {}),
      ...(where ? { where } : {}),
      select: ENTRY_COLUMNS,
      limit: k,
    });
    return { mode, hits: rows.map((r) => ({ ...toEntry(r), score: r.score })) };
  }

  /**
   * Adds the outcome of a request, owned by the person who asked: a positive example for a
   * verified program (the caller learns it when a person approved it), an "avoid" note (the
   * request, the last candidate, the feedback) otherwise. One row per owner and request (and
   * program): learning it again updates that row, keeping a promotion. A positive entry replaces
   * the owner's avoid note for the same request: the request ended well after all.
   */
  async learn(o: LearnInput): Promise<StoredExample> {
    if (!isRequestId(o.requestId)) throw new KgentError('bad-request', `request id "${o.requestId}" is not usable as an example id`);
    if (!o.prompt.trim()) throw new KgentError('bad-request', 'a learned example needs the request text');
    if (!Number.isSafeInteger(o.ownerUid) || o.ownerUid < 0) throw new KgentError('bad-request', `a learned example needs its owner's uid (got ${o.ownerUid})`);
    return this.serial(async () => {
      let row = learnedRow(o, new Date());
      const before = this.table ? (await this.readRows(`id = ${sql(row.id)}`))[0]?.row : undefined;
      if (before?.promoted_by) row = { ...row, promoted_by: before.promoted_by, promoted_at: before.promoted_at };
      let vector: number[] | undefined;
      if (this.table && this.hasVectors) vector = await this.embedOne(embedText(entryOf(row)));
      if (!this.table) {
        await this.writeAll([row], undefined);
      } else {
        const avoid = row.kind === 'learned-positive' ? learnedId('learned-avoid', o.ownerUid, o.prompt, '') : undefined;
        await this.table.delete(avoid ? `id IN (${sql(row.id)}, ${sql(avoid)})` : `id = ${sql(row.id)}`);
        const data: Record<string, unknown> = vector ? { ...row, vector } : this.hasVectors ? { ...row, vector: null } : { ...row };
        await this.table.add([data]);
        // Found by full text meanwhile; the next sync (kgentd's next start) embeds it.
        if (this.hasVectors && !vector && this.meta && !this.meta.missingVectors) this.writeMeta({ ...this.meta, missingVectors: true });
      }
      return entryOf(row);
    });
  }

  /**
   * Drops `ownerUid`'s avoid note for `prompt` (a request that ended verified after a hint is not
   * one to avoid); answers whether there was one.
   */
  async forgetAvoid(ownerUid: number, prompt: string): Promise<boolean> {
    return this.serial(async () => {
      if (!this.table) return false;
      const id = learnedId('learned-avoid', ownerUid, prompt, '');
      if ((await this.table.countRows(`id = ${sql(id)}`)) === 0) return false;
      await this.table.delete(`id = ${sql(id)}`);
      return true;
    });
  }

  /**
   * Entries `viewer` may see (default `shared`), sorted by kind (dataset first) then id;
   * `learnedOnly` leaves out the dataset, `dialect` the entries that do not fit that profile.
   */
  async list(opts: { learnedOnly?: boolean; viewer?: ExampleViewer; dialect?: string } = {}): Promise<StoredExample[]> {
    if (!this.table) return [];
    const where = [
      opts.learnedOnly ? `kind IN (${LEARNED_KINDS.map(sql).join(', ')})` : undefined,
      viewerFilter(opts.viewer ?? 'shared'),
      opts.dialect !== undefined ? versionFilter(opts.dialect) : undefined,
    ]
      .filter(Boolean)
      .join(' AND ');
    const rows = await this.readRows(where || undefined);
    const order: Record<ExampleKind, number> = { dataset: 0, 'learned-positive': 1, 'learned-avoid': 2 };
    return rows.map((r) => entryOf(r.row)).sort((a, b) => order[a.kind] - order[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The entry `id` when `viewer` (default `shared`) may see it; an entry they may not see is undefined, like an unknown id. */
  async get(id: string, viewer: ExampleViewer = 'shared'): Promise<StoredExample | undefined> {
    if (!this.table) return undefined;
    const rows = await this.readRows(`id = ${sql(id)}`);
    const e = rows[0] ? entryOf(rows[0].row) : undefined;
    return e && visibleTo(e, viewer) ? e : undefined;
  }

  /**
   * Removes a learned entry. Dataset entries are refused (they come back with the dataset: edit
   * datasets/examples instead); an unknown id is `not-found`. Who may remove what is the caller's
   * decision (kgentd: an admin any learned entry, a member their own).
   */
  async remove(id: string): Promise<StoredExample> {
    return this.serial(async () => {
      const e = await this.get(id, 'all');
      if (!e) throw notFound(id);
      if (e.kind === 'dataset') {
        throw new KgentError('refused', `${id} is a dataset example; it would come back with the dataset (edit datasets/examples/${id}.bt instead)`, { id });
      }
      await this.table!.delete(`id = ${sql(id)}`);
      return e;
    });
  }

  /**
   * Puts a learned positive entry into the shared library (every user's prompts), recording who
   * (`by`, e.g. `carol (uid 1002)`). Only verified programs can be shared: avoid notes and the
   * dataset are refused. Whether the caller may is kgentd's decision (admins only).
   */
  async promote(id: string, by: string): Promise<StoredExample> {
    return this.setPromotion(id, { promoted_by: by, promoted_at: new Date().toISOString() });
  }

  /** Takes a promoted entry back out of the shared library: it serves its owner's prompts only again. */
  async demote(id: string): Promise<StoredExample> {
    return this.setPromotion(id, { promoted_by: '', promoted_at: '' });
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
    this.columns = (await tbl.schema()).fields.map((f) => f.name);
    if (old && old !== tbl) old.close();
  }

  /** Columns of this version the open table lacks (a table stored before entries had owners). */
  private get missingColumns(): string[] {
    return OWNER_COLUMNS.filter((c) => !this.columns.includes(c));
  }

  private async setPromotion(id: string, p: { promoted_by: string; promoted_at: string }): Promise<StoredExample> {
    return this.serial(async () => {
      const found = this.table ? (await this.readRows(`id = ${sql(id)}`))[0] : undefined;
      if (!found) throw notFound(id);
      if (found.row.kind !== 'learned-positive') {
        throw new KgentError('refused', `${id} is ${found.row.kind === 'dataset' ? 'a dataset example (shared already)' : 'an avoid note; only verified programs are shared'}`, { id });
      }
      const row: ExampleRow = { ...found.row, ...p };
      await this.table!.delete(`id = ${sql(id)}`);
      await this.table!.add([this.hasVectors ? { ...row, vector: found.vector ?? null } : { ...row }]);
      return entryOf(row);
    });
  }

  /**
   * Rewrites a table stored before entries had owners: every learned row becomes root's, not
   * shared (a request text of one user must never reach another's prompts), and rows of one
   * request learned several times collapse into one (the latest). Vectors are kept.
   */
  private async migrate(): Promise<void> {
    const missing = this.missingColumns;
    if (missing.length === 0) return;
    const old = await this.readRows(undefined);
    const byId = new Map<string, { row: ExampleRow; vector?: number[] }>();
    for (const r of old) {
      const row = migratedRow(r.row);
      const seen = byId.get(row.id);
      if (!seen || seen.row.learned_at < row.learned_at) byId.set(row.id, { row, ...(r.vector ? { vector: r.vector } : {}) });
    }
    const rows = [...byId.values()];
    const dims = this.dims;
    await this.writeAll(
      rows.map((r) => r.row),
      dims === undefined ? undefined : rows.map((r) => r.vector),
      dims,
    );
    const learned = rows.filter((r) => r.row.kind !== 'dataset').length;
    if (missing.includes('owner_uid')) {
      this.o.logger?.warn({ rows: old.length, kept: rows.length, learned, added: missing }, 'examples: table from before owners migrated; learned entries are root\'s and not shared until an admin promotes them');
    } else {
      this.o.logger?.info({ rows: old.length, learned, added: missing }, 'examples: table from before versions migrated; each learned entry fits the bpftrace versions that accept its program');
    }
  }

  private async rowsWithoutVector(): Promise<number> {
    if (!this.table || !this.hasVectors) return 0;
    return this.table.countRows('vector IS NULL');
  }

  private async readRows(where: string | undefined): Promise<{ row: ExampleRow; vector?: number[] }[]> {
    if (!this.table) return [];
    let q = this.table.query();
    if (where) q = q.where(where);
    // A table from before the owner columns is read without them (migratedRow fills them in).
    const cols = [...ENTRY_COLUMNS, ...FTS_COLUMNS, ...(this.hasVectors ? ['vector'] : [])].filter((c) => this.columns.includes(c));
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

  /**
   * Replaces the table with `rows` (and their vectors; a row may lack one when `dims` is given),
   * then builds the full-text index.
   */
  private async writeAll(rows: readonly ExampleRow[], vectors: readonly (number[] | undefined)[] | undefined, givenDims?: number): Promise<void> {
    const dims = givenDims ?? vectors?.find((v) => v)?.length;
    const data = rows.map((r, i) => (vectors && dims !== undefined ? { ...r, vector: vectors[i] ?? null } : { ...r }));
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

export type { DatasetExample, ExampleHit, ExampleKind, ExampleViewer, LearnInput, StoredExample } from './example-rows.js';
