/**
 * One kgentd per state dir. A second daemon on the same dir would take the first one's bpftrace
 * children for orphans and SIGKILL them, and both would write the same database.
 *
 * The lock is SQLite's own, on a file of its own (`kgentd.lock`): an open connection in
 * `locking_mode=EXCLUSIVE` holding a write transaction. SQLite takes it with fcntl() byte-range
 * locks, which the kernel drops when the process dies, SIGKILL included, so a crashed daemon
 * never leaves a stale lock behind (an O_EXCL pid file would, and its liveness check races with pid
 * reuse). Node has no flock(); better-sqlite3 is already loaded, so this needs no helper process.
 * A POSIX lock is released when *any* descriptor of the file closes in the process, so nothing else
 * may open `kgentd.lock`; the holder's pid goes to `kgentd.pid` beside it, for the error message.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KgentError } from '../errors.js';

export interface StateLock {
  readonly file: string;
  release(): void;
}

export function lockStateDir(stateDir: string): StateLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const file = path.join(stateDir, 'kgentd.lock');
  const pidFile = path.join(stateDir, 'kgentd.pid');
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = DELETE');
    // The exclusive lock is taken by the first write and, in EXCLUSIVE mode, kept until close.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); BEGIN EXCLUSIVE; DELETE FROM holder; INSERT INTO holder VALUES (' + process.pid + ');');
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      let holder = '';
      try {
        holder = ` (pid ${readFileSync(pidFile, 'utf8').trim()})`;
      } catch {
        // no pid file: say nothing about the holder
      }
      throw new KgentError(
        'conflict',
        `state dir ${stateDir} is in use by another kgentd${holder}; stop it first (systemctl stop kgentd) or use another --state-dir`,
        { stateDir },
      );
    }
    throw new KgentError('io', `cannot lock state dir ${stateDir}: ${(err as Error).message}`, { stateDir });
  }
  try {
    writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o644 });
  } catch {
    // informational only (a full disk must not stop the daemon)
  }
  return {
    file,
    release() {
      try {
        db.exec('ROLLBACK');
      } catch {
        // nothing open
      }
      db.close();
    },
  };
}
