/**
 * The doc-text index of hooks in LanceDB itself (`contracts.lance` under the state dir), used where
 * LanceDB may be loaded: its own child process (doc-index-main.ts, for kgentd's `DocIndex`) and a
 * rebuild's child (rebuild/build-main.ts). Full-text search
 * always (`Index.fts()`), vectors when an embedding function is given, hybrid ranking (reciprocal
 * rank fusion) when both exist. One table per contract generation (`docs_g<N>`), so a rebuild
 * fills a new table while searches use the current one; the old table is dropped after the switch.
 */
import { connect, type Connection, type Table } from '@lancedb/lancedb';
import { Table as ArrowTable } from 'apache-arrow';
import type { DocHit, DocRow, DocSearchIndex, Embedder } from './doc-index.js';
import { ftsIndex, rankedQuery, sanitizeQuery, utf8Vector } from './lance.js';

function arrowRows(rows: readonly DocRow[]): ArrowTable {
  return new ArrowTable({
    id: utf8Vector(rows.map((r) => r.id)),
    kind: utf8Vector(rows.map((r) => r.kind)),
    attach: utf8Vector(rows.map((r) => (r.attachable ? 'y' : 'n'))),
    text: utf8Vector(rows.map((r) => r.text)),
  });
}

const TABLE_PREFIX = 'docs_g';

export class LanceDocIndex implements DocSearchIndex {
  private constructor(
    private readonly conn: Connection,
    private table: Table | undefined,
    private tableHasVectors: boolean,
  ) {}

  /** Opens `dir` (created on first write) and the table of generation `gen` when it exists. */
  static async open(dir: string, gen?: number): Promise<LanceDocIndex> {
    const conn = await connect(dir);
    const idx = new LanceDocIndex(conn, undefined, false);
    if (gen !== undefined) await idx.activate(gen, false);
    return idx;
  }

  /** True when searches can run. */
  get ready(): boolean {
    return this.table !== undefined;
  }

  get hasVectors(): boolean {
    return this.tableHasVectors;
  }

  /**
   * Writes the rows of generation `gen` into a new table and builds its full-text index. With an
   * embedder, each row also gets a vector (computed in batches of `batch`).
   */
  async build(gen: number, rows: readonly DocRow[], opts: { embed?: Embedder; batch?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
    const name = `${TABLE_PREFIX}${gen}`;
    let data: Record<string, unknown>[];
    if (opts.embed) {
      data = [];
      const batch = opts.batch ?? 256;
      for (let i = 0; i < rows.length; i += batch) {
        const slice = rows.slice(i, i + batch);
        const vecs = await opts.embed(slice.map((r) => r.text));
        if (vecs.length !== slice.length) throw new Error(`embedding returned ${vecs.length} vectors for ${slice.length} texts`);
        slice.forEach((r, j) => data.push({ id: r.id, kind: r.kind, attach: r.attachable ? 'y' : 'n', text: r.text, vector: vecs[j]! }));
        opts.onProgress?.(Math.min(i + batch, rows.length), rows.length);
      }
    } else {
      data = [];
    }
    let tbl: Table;
    if (opts.embed) {
      if (data.length === 0) throw new Error('cannot build a vector index of no rows');
      tbl = await this.conn.createTable(name, data, { mode: 'overwrite' });
    } else {
      // Arrow columns built directly: LanceDB's row-object path infers a schema per call and
      // apache-arrow's vectorFromArray is ~15 us per string, seconds for a kernel's 58k hooks.
      const src = rows.length ? rows : [{ id: '', kind: 'function' as const, text: '', attachable: false }];
      const table = arrowRows(src);
      tbl = await this.conn.createTable(name, table, { mode: 'overwrite' });
    }
    await tbl.createIndex('text', { config: ftsIndex(), replace: true });
    tbl.close();
  }

  /** Makes generation `gen`'s table the one searched; drops other generations' tables when `dropOthers`. */
  async activate(gen: number, dropOthers = true): Promise<void> {
    const name = `${TABLE_PREFIX}${gen}`;
    const names = await this.conn.tableNames();
    if (!names.includes(name)) {
      this.table = undefined;
      return;
    }
    const tbl = await this.conn.openTable(name);
    const schema = await tbl.schema();
    const old = this.table;
    this.table = tbl;
    this.tableHasVectors = schema.fields.some((f) => f.name === 'vector');
    if (old) old.close();
    if (dropOthers) {
      for (const n of names) if (n.startsWith(TABLE_PREFIX) && n !== name) await this.conn.dropTable(n).catch(() => undefined);
    }
  }

  /**
   * Adds rows to the current table (hooks picked up after the build, e.g. a module loaded since).
   * Skipped for a table with vectors (no embedding here); those rows become searchable with the
   * next rebuild. Rows added after the full-text index are still found.
   */
  async addRows(rows: readonly DocRow[]): Promise<void> {
    if (!this.table || this.tableHasVectors || rows.length === 0) return;
    await this.table.add(arrowRows(rows));
  }

  /** Drops the table of a generation that will not be used (a failed build). */
  async drop(gen: number): Promise<void> {
    await this.conn.dropTable(`${TABLE_PREFIX}${gen}`).catch(() => undefined);
  }

  /**
   * Best `k` hooks for a text query: full-text; with `vector` (and a table that has vectors),
   * hybrid full-text + vector ranked by reciprocal rank fusion. Extra `where` filters on `kind`.
   */
  async search(query: string, k: number, opts: { vector?: number[]; kind?: 'function' | 'tracepoint'; attachable?: boolean } = {}): Promise<DocHit[]> {
    if (!this.table) return [];
    const q = sanitizeQuery(query);
    if (!q) return [];
    const where = [opts.kind ? `kind = '${opts.kind}'` : "id != ''", ...(opts.attachable ? ["attach = 'y'"] : [])].join(' AND ');
    const { rows } = await rankedQuery(this.table, { text: q, ...(opts.vector && this.tableHasVectors ? { vector: opts.vector } : {}), where, select: ['id'], limit: k });
    return rows.map((r) => ({ id: String(r['id']), score: r.score }));
  }

  close(): void {
    this.table?.close();
    this.table = undefined;
    this.conn.close();
  }
}
