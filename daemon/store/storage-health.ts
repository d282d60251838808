/**
 * What the daemon could not write because the disk is full (or read-only, or failing): program log
 * lines dropped and store writes skipped, counted so `status` and `doctor` can say so. The daemon
 * keeps running through it: programs stay attached and log again once space is back.
 */
export interface StorageHealthReport {
  /** False while the last write failed. */
  readonly writable: boolean;
  readonly droppedLogLines: number;
  readonly droppedStoreWrites: number;
  readonly lastError?: string;
  /** When writes started failing (ISO time), while they still fail. */
  readonly failingSince?: string;
}

const DISK_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EFBIG']);

/** An error that means "cannot write here now", not a bug: ENOSPC and friends, SQLITE_FULL/IOERR. */
export function isStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return DISK_ERRNOS.has(code) || code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN';
}

export class StorageHealth {
  private droppedLogLines = 0;
  private droppedStoreWrites = 0;
  private lastError: string | undefined;
  private failingSince: string | undefined;
  private readonly listeners = new Set<(msg: string) => void>();

  logLinesDropped(n: number, err?: unknown): void {
    this.droppedLogLines += n;
    if (err !== undefined) this.failed(err);
  }

  storeWriteDropped(err: unknown): void {
    this.droppedStoreWrites++;
    this.failed(err);
  }

  /** A write went through: the disk is writable again (counters stay, as history). */
  recovered(): void {
    if (this.failingSince === undefined) return;
    this.failingSince = undefined;
    for (const fn of this.listeners) fn('storage writable again');
  }

  /** Called once when writes start failing and once when they recover (for the journal). */
  onChange(fn: (msg: string) => void): void {
    this.listeners.add(fn);
  }

  report(): StorageHealthReport {
    return {
      writable: this.failingSince === undefined,
      droppedLogLines: this.droppedLogLines,
      droppedStoreWrites: this.droppedStoreWrites,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.failingSince !== undefined ? { failingSince: this.failingSince } : {}),
    };
  }

  private failed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    if (this.failingSince === undefined) {
      this.failingSince = new Date().toISOString();
      for (const fn of this.listeners) fn(`storage not writable: ${this.lastError}`);
    }
  }
}

/** The daemon's one account of failed writes (log writers and stores share the disk). */
export const storageHealth = new StorageHealth();

/**
 * Runs a bookkeeping write (status, run history, audit of what the daemon itself did); when the
 * disk refuses it, counts it and returns `fallback` instead of throwing, so supervision goes on.
 */
export function bestEffort<T>(fn: () => T, fallback: T, health: StorageHealth = storageHealth): T {
  try {
    const out = fn();
    health.recovered();
    return out;
  } catch (err) {
    if (!isStorageError(err)) throw err;
    health.storeWriteDropped(err);
    return fallback;
  }
}
