/**
 * The contracts database: `contracts.db` (SQLite, WAL) under the state dir, separate from the
 * daemon's own database so a rebuild never contends with request bookkeeping.
 *
 * Data is organised in generations. A rebuild writes a new generation (status `building`) in
 * batches while lookups keep reading the current one; when it is complete, one transaction makes
 * it current and retires the previous one. So a lookup never sees an empty or half-built dataset.
 * LLM enrichments are cached per kernel identity, outside generations, so a rebuild of the same
 * kernel keeps them.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ContractsError } from '../errors.js';
import type { KernelIdentity } from '../kernel-reader/identity.js';
import type { Contract } from '../contracts/model.js';
import { fromStored, toStored, type StoredDefaults } from '../contracts/stored.js';

export type ContractDb = Database.Database;

interface Migration {
  readonly version: number;
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE generations (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        identity_key  TEXT NOT NULL,
        identity      TEXT NOT NULL,          -- JSON KernelIdentity
        format        INTEGER NOT NULL,       -- CONTRACT_FORMAT at build time
        status        TEXT NOT NULL,          -- building | ready | failed | retired
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        info          TEXT,                   -- JSON GenerationInfo (counts, sources, probe support)
        defaults      TEXT,                   -- JSON StoredDefaults the stored contracts are relative to
        error         TEXT
      );
      CREATE TABLE contracts (
        gen   INTEGER NOT NULL,
        id    TEXT NOT NULL,                  -- function:NAME | tracepoint:CAT:EVENT
        kind  TEXT NOT NULL,
        data  TEXT NOT NULL                   -- JSON Contract, stored form (contracts/stored.ts)
      );
      CREATE UNIQUE INDEX contracts_key ON contracts(gen, id);
      CREATE TABLE enrichments (
        identity_key TEXT NOT NULL,
        id           TEXT NOT NULL,
        model        TEXT NOT NULL,
        at           TEXT NOT NULL,
        data         TEXT NOT NULL,           -- JSON EnrichmentRecord
        PRIMARY KEY (identity_key, id, model)
      ) WITHOUT ROWID;
    `,
  },
];

/** Summary of a generation, stored as JSON with it. */
export interface GenerationInfo {
  readonly counts: { readonly functions: number; readonly tracepoints: number; readonly structs: number; readonly documented: number };
  /** Struct layouts are not stored: member paths are resolved from the running kernel's BTF on lookup (its checksum is part of the identity). */
  /** Function contracts whose doc came from a source tree. */
  readonly sourceRoot?: string;
  readonly modules: readonly string[];
  readonly buildMs: number;
  /** Whatever the build wants to remember (probe support, bpftrace version...). */
  readonly extra?: Record<string, unknown>;
}

export interface Generation {
  readonly id: number;
  readonly identity: KernelIdentity;
  readonly format: number;
  readonly status: 'building' | 'ready' | 'failed' | 'retired';
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly info?: GenerationInfo;
  readonly error?: string;
}

/** An LLM enrichment as cached. */
export interface EnrichmentRecord {
  readonly model: string;
  readonly at: string;
  readonly attempts: number;
  readonly answer: unknown;
}

/** Opens (creating when needed) `<stateDir>/contracts.db` and applies migrations. */
export function openContractDb(stateDir: string): ContractDb {
  try {
    mkdirSync(stateDir, { recursive: true });
    const db = new Database(path.join(stateDir, 'contracts.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const current = db.pragma('user_version', { simple: true }) as number;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      })();
    }
    return db;
  } catch (err) {
    throw new ContractsError('io', `cannot open the contracts database in ${stateDir}: ${(err as Error).message}`, { stateDir }, { cause: err });
  }
}

/** Typed access to the contracts database. All methods are synchronous (better-sqlite3). */
export class ContractStore {
  readonly db: ContractDb;
  private readonly stmts;
  private readonly defaultsCache = new Map<number, StoredDefaults>();

  constructor(db: ContractDb) {
    this.db = db;
    this.stmts = {
      meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      gen: db.prepare<[number], GenRow>('SELECT * FROM generations WHERE id = ?'),
      contract: db.prepare<[number, string], { data: string }>('SELECT data FROM contracts WHERE gen = ? AND id = ?'),
      insContract: db.prepare('INSERT OR REPLACE INTO contracts(gen, id, kind, data) VALUES (?, ?, ?, ?)'),
      enrichment: db.prepare<[string, string, string], { data: string }>('SELECT data FROM enrichments WHERE identity_key = ? AND id = ? AND model = ?'),
      putEnrichment: db.prepare('INSERT OR REPLACE INTO enrichments(identity_key, id, model, at, data) VALUES (?, ?, ?, ?, ?)'),
      countKind: db.prepare<[number, string], { n: number }>('SELECT count(*) AS n FROM contracts WHERE gen = ? AND kind = ?'),
    };
  }

  /** The generation lookups are served from, or undefined before the first build. */
  currentGeneration(): Generation | undefined {
    const v = this.stmts.meta.get('current_generation');
    if (!v) return undefined;
    const row = this.stmts.gen.get(Number(v.value));
    return row ? genFromRow(row) : undefined;
  }

  generation(id: number): Generation | undefined {
    const row = this.stmts.gen.get(id);
    return row ? genFromRow(row) : undefined;
  }

  /**
   * Bulk-write mode for a build: no automatic WAL checkpoints (each one syncs to disk) until
   * {@link endBulk}, which checkpoints once. Commits stay atomic and ordered either way.
   */
  beginBulk(): void {
    this.db.pragma('wal_autocheckpoint = 0');
  }

  endBulk(): void {
    this.db.pragma('wal_autocheckpoint = 1000');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Starts a new generation in `building` state. */
  beginGeneration(identity: KernelIdentity, format: number, defaults: StoredDefaults = {}): number {
    const r = this.db
      .prepare('INSERT INTO generations(identity_key, identity, format, status, started_at, defaults) VALUES (?, ?, ?, ?, ?, ?)')
      .run(identity.key, JSON.stringify(identity), format, 'building', new Date().toISOString(), JSON.stringify(defaults));
    const id = Number(r.lastInsertRowid);
    this.defaultsCache.set(id, defaults);
    return id;
  }

  private defaultsOf(gen: number): StoredDefaults {
    let d = this.defaultsCache.get(gen);
    if (!d) {
      const row = this.db.prepare<[number], { defaults: string | null }>('SELECT defaults FROM generations WHERE id = ?').get(gen);
      d = row?.defaults ? (JSON.parse(row.defaults) as StoredDefaults) : {};
      this.defaultsCache.set(gen, d);
    }
    return d;
  }

  /**
   * Writes contracts into a generation, in one transaction. `stored`: they are already in stored
   * form (derived with `{ stored: true }`: no access names, no structural conditions).
   */
  putContracts(gen: number, contracts: readonly Contract[], _opts: { stored?: boolean } = {}): void {
    const d = this.defaultsOf(gen);
    this.db.transaction(() => {
      for (const c of contracts) this.stmts.insContract.run(gen, c.id, c.kind, JSON.stringify(toStored(c, d)));
    })();
  }

  /**
   * Makes a finished generation current and retires (and deletes the rows of) the previous ones,
   * in one transaction: readers see either the old dataset or the new, never a mix or nothing.
   */
  commitGeneration(gen: number, info: GenerationInfo): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE generations SET status = 'ready', finished_at = ?, info = ? WHERE id = ?").run(new Date().toISOString(), JSON.stringify(info), gen);
      const old = this.db.prepare<[number], { id: number }>("SELECT id FROM generations WHERE id != ? AND status IN ('ready', 'building', 'failed')").all(gen);
      this.stmts.setMeta.run('current_generation', String(gen));
      for (const o of old) {
        this.db.prepare("UPDATE generations SET status = 'retired' WHERE id = ? AND status = 'ready'").run(o.id);
      }
    })();
    this.pruneRetired(gen);
  }

  /** Marks a generation failed and deletes its rows; the current generation is untouched. */
  failGeneration(gen: number, error: string): void {
    this.db.prepare("UPDATE generations SET status = 'failed', finished_at = ?, error = ? WHERE id = ?").run(new Date().toISOString(), error, gen);
    this.deleteRows(gen);
  }

  private pruneRetired(keep: number): void {
    const gens = this.db.prepare<[number], { id: number }>("SELECT id FROM generations WHERE id != ? AND status != 'building'").all(keep);
    for (const g of gens) this.deleteRows(g.id);
  }

  private deleteRows(gen: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM contracts WHERE gen = ?').run(gen);
    })();
  }

  /** Deletes rows of `building` generations left by a crashed build. */
  abandonUnfinished(): void {
    const gens = this.db.prepare<[], { id: number }>("SELECT id FROM generations WHERE status = 'building'").all();
    for (const g of gens) this.failGeneration(g.id, 'interrupted (daemon stopped during the build)');
  }

  contract(gen: number, id: string): Contract | undefined {
    const row = this.stmts.contract.get(gen, id);
    return row ? fromStored(JSON.parse(row.data) as Record<string, unknown>, this.defaultsOf(gen)) : undefined;
  }

  hasContract(gen: number, id: string): boolean {
    return this.stmts.contract.get(gen, id) !== undefined;
  }

  count(gen: number, kind: 'function' | 'tracepoint'): number {
    return this.stmts.countKind.get(gen, kind)?.n ?? 0;
  }

  /** All contracts of a generation (for the search index), in id order. */
  *iterateContracts(gen: number): IterableIterator<Contract> {
    const it = this.db.prepare<[number], { data: string }>('SELECT data FROM contracts WHERE gen = ? ORDER BY id').iterate(gen);
    const d = this.defaultsOf(gen);
    for (const row of it) yield fromStored(JSON.parse(row.data) as Record<string, unknown>, d);
  }

  enrichment(identityKey: string, id: string, model: string): EnrichmentRecord | undefined {
    const row = this.stmts.enrichment.get(identityKey, id, model);
    return row ? (JSON.parse(row.data) as EnrichmentRecord) : undefined;
  }

  putEnrichment(identityKey: string, id: string, rec: EnrichmentRecord): void {
    this.stmts.putEnrichment.run(identityKey, id, rec.model, rec.at, JSON.stringify(rec));
  }

  meta(key: string): string | undefined {
    return this.stmts.meta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  close(): void {
    this.db.close();
  }
}

interface GenRow {
  id: number;
  identity_key: string;
  identity: string;
  format: number;
  status: Generation['status'];
  started_at: string;
  finished_at: string | null;
  info: string | null;
  error: string | null;
}

function genFromRow(r: GenRow): Generation {
  return {
    id: r.id,
    identity: JSON.parse(r.identity) as KernelIdentity,
    format: r.format,
    status: r.status,
    startedAt: r.started_at,
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    ...(r.info ? { info: JSON.parse(r.info) as GenerationInfo } : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}
