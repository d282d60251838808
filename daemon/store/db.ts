/**
 * The daemon's SQLite database (WAL) under the state dir, with versioned migrations applied in order
 * inside one transaction each. A migration is never edited once shipped: add a new one.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { KgentError } from '../errors.js';
import { isStorageError } from './storage-health.js';

export type Db = Database.Database;

interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'programs, approvals, runs, kernel checks, audit',
    sql: `
      CREATE TABLE programs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        name          TEXT NOT NULL,
        source        TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        probes        TEXT NOT NULL,            -- JSON array of attach points as written
        origin        TEXT NOT NULL,            -- 'file' (kgentctl run) | 'request' (Kgent loop)
        submitted_by  TEXT NOT NULL,
        submitted_at  TEXT NOT NULL,
        desired       TEXT NOT NULL,            -- 'run' | 'stop': what a daemon restart restores
        status        TEXT NOT NULL,
        restarts      INTEGER NOT NULL DEFAULT 0,
        pid           INTEGER,
        exit_code     INTEGER,
        exit_signal   TEXT,
        last_error    TEXT,
        updated_at    TEXT NOT NULL
      );
      CREATE TABLE approvals (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        program_id   INTEGER NOT NULL REFERENCES programs(id),
        approved_by  TEXT NOT NULL,
        approved_at  TEXT NOT NULL,
        how          TEXT NOT NULL              -- 'submitter' (admin's own run) | 'explicit'
      );
      CREATE TABLE runs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        program_id   INTEGER NOT NULL REFERENCES programs(id),
        started_at   TEXT NOT NULL,
        ended_at     TEXT,
        pid          INTEGER,
        exit_code    INTEGER,
        exit_signal  TEXT,
        reason       TEXT
      );
      CREATE TABLE kernel_checks (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        program_id   INTEGER REFERENCES programs(id),
        at           TEXT NOT NULL,
        ok           INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        diagnostics  TEXT NOT NULL               -- JSON array of Diagnostic
      );
      CREATE TABLE audit (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        at           TEXT NOT NULL,
        action       TEXT NOT NULL,             -- submit | approve | attach | stop | refuse | restart | fail | exit
        actor        TEXT NOT NULL,
        program_id   INTEGER REFERENCES programs(id),
        detail       TEXT
      );
      CREATE INDEX runs_program ON runs(program_id);
      CREATE INDEX audit_program ON audit(program_id);
    `,
  },
  {
    version: 2,
    description: 'requests of the Kgent loop and their attempts',
    sql: `
      CREATE TABLE requests (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        text          TEXT NOT NULL,
        submitted_by  TEXT NOT NULL,
        submitted_at  TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        status        TEXT NOT NULL,            -- running | verified | attached | needs-hint | accepted-unverified | failed | cancelled
        trials        INTEGER NOT NULL,         -- per round; a hint starts a new round
        attach        INTEGER NOT NULL,
        hints         TEXT NOT NULL,            -- JSON array of hint texts, in order
        program_id    INTEGER REFERENCES programs(id),
        reason        TEXT
      );
      CREATE TABLE attempts (
        id                    INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id            INTEGER NOT NULL REFERENCES requests(id),
        n                     INTEGER NOT NULL,
        started_at            TEXT NOT NULL,
        ended_at              TEXT,
        outcome               TEXT NOT NULL,
        synthesis_prompt      TEXT,
        synthesis_answer      TEXT,
        candidate             TEXT,
        comprehension_prompt  TEXT,
        comprehension_answer  TEXT,
        annotated             TEXT,
        verdict               TEXT,
        report                TEXT,             -- JSON VerifyReport
        kernel_check          TEXT,             -- JSON {ok, diagnostics, durationMs}
        feedback              TEXT NOT NULL,    -- JSON array of FeedbackMessage produced by this attempt
        timings               TEXT NOT NULL,    -- JSON array of {stage, ms}
        trimmed               TEXT,             -- JSON {synthesis?, comprehension?} of PromptTrim
        UNIQUE (request_id, n)
      );
      CREATE INDEX attempts_request ON attempts(request_id);
      ALTER TABLE audit ADD COLUMN request_id INTEGER REFERENCES requests(id);
    `,
  },
  {
    version: 3,
    description: 'identities from the kernel: uid beside every stored name, pid of the audited client',
    sql: `
      ALTER TABLE programs ADD COLUMN submitted_uid INTEGER;   -- NULL: stored before identities were known
      ALTER TABLE approvals ADD COLUMN approved_uid INTEGER;
      ALTER TABLE requests ADD COLUMN submitted_uid INTEGER;
      ALTER TABLE audit ADD COLUMN actor_uid INTEGER;          -- NULL: kgentd itself, bpftrace, or before v3
      ALTER TABLE audit ADD COLUMN actor_pid INTEGER;
      CREATE INDEX programs_submitted_uid ON programs(submitted_uid);
      CREATE INDEX requests_submitted_uid ON requests(submitted_uid);
    `,
  },
  {
    version: 4,
    description: 'programs whose owner left the socket and admin groups: stopped or flagged, and when',
    sql: `
      ALTER TABLE programs ADD COLUMN owner_revoked TEXT;      -- NULL, 'stopped' or 'flagged'
      ALTER TABLE programs ADD COLUMN owner_revoked_at TEXT;
    `,
  },
  {
    version: 5,
    description: 'bytes each request and attempt keeps, for the per-uid storage quota',
    sql: `
      ALTER TABLE attempts ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE requests ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE attempts SET stored_bytes =
        COALESCE(length(CAST(synthesis_prompt AS BLOB)), 0) + COALESCE(length(CAST(synthesis_answer AS BLOB)), 0) +
        COALESCE(length(CAST(candidate AS BLOB)), 0) + COALESCE(length(CAST(comprehension_prompt AS BLOB)), 0) +
        COALESCE(length(CAST(comprehension_answer AS BLOB)), 0) + COALESCE(length(CAST(annotated AS BLOB)), 0) +
        COALESCE(length(CAST(report AS BLOB)), 0) + COALESCE(length(CAST(kernel_check AS BLOB)), 0) +
        length(CAST(feedback AS BLOB)) + length(CAST(timings AS BLOB)) + COALESCE(length(CAST(trimmed AS BLOB)), 0);
      UPDATE requests SET stored_bytes =
        length(CAST(text AS BLOB)) + length(CAST(hints AS BLOB)) + COALESCE(length(CAST(reason AS BLOB)), 0) +
        (SELECT COALESCE(SUM(a.stored_bytes), 0) FROM attempts a WHERE a.request_id = requests.id);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function openDatabase(stateDir: string): Db {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const file = path.join(stateDir, 'kgent.db');
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw new KgentError('io', `cannot open database ${file}: ${(err as Error).message}; check that the state dir is writable`, {
      file,
    });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // SQLite keeps the WAL file at its largest size after a checkpoint; cut it back to 4 MB so one
    // burst of writes does not hold its disk space for good.
    db.pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
    migrate(db);
  } catch (err) {
    db.close();
    if (!isStorageError(err)) throw err;
    throw new KgentError('io', `cannot prepare database ${file}: ${(err as Error).message}; free space on the state dir`, { file });
  }
  return db;
}

export function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const newest = Math.max(0, ...applied);
  if (newest > SCHEMA_VERSION) {
    throw new KgentError(
      'config',
      `database schema version ${newest} is newer than this kgentd understands (${SCHEMA_VERSION}); upgrade kgent`,
      { newest, supported: SCHEMA_VERSION },
    );
  }
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.description,
        new Date().toISOString(),
      );
    })();
  }
}
