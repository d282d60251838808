/**
 * kgentd's own log file, for hosts where no journald takes its stdout (`log.file`, `--log-file`):
 * written line by line, rotated when the next line would take it past `maxBytes` (`kgentd.log` ->
 * `kgentd.log.1` -> ... -> `kgentd.log.<keep>`, the oldest removed), so it never holds more than
 * `maxBytes * (keep + 1)` bytes. Under systemd the journal rotates the log; this is not used.
 * A write the disk refuses (full disk) drops the line and is counted, like program log lines.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { KgentError } from './errors.js';
import { isStorageError, storageHealth, type StorageHealth } from './store/storage-health.js';

export interface LogFileOptions {
  readonly file: string;
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
  readonly health?: StorageHealth;
}

export class RotatingLogFile {
  private fd: number;
  private size: number;

  constructor(private readonly o: LogFileOptions) {
    try {
      mkdirSync(path.dirname(o.file), { recursive: true, mode: 0o750 });
      this.fd = openSync(o.file, 'a', 0o640);
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      throw new KgentError('config', `cannot open the log file ${o.file}: ${(err as Error).message}; fix log.file (or --log-file) or the directory's rights`, { file: o.file });
    }
  }

  /** pino's destination interface: one JSON line per call. */
  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    try {
      if (this.size > 0 && this.size + bytes > this.o.maxBytes) this.rotate();
      writeSync(this.fd, line);
      this.size += bytes;
    } catch (err) {
      if (!isStorageError(err)) throw err;
      (this.o.health ?? storageHealth).logLinesDropped(1, err);
    }
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    const { file, keep } = this.o;
    closeSync(this.fd);
    try {
      rmSync(`${file}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) {
        try {
          renameSync(`${file}.${i}`, `${file}.${i + 1}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      renameSync(file, `${file}.1`);
    } finally {
      // Whatever the renames did, keep a file open: a failed rotation is tried again at the next line.
      this.fd = openSync(file, 'a', 0o640);
      this.size = fstatSync(this.fd).size;
    }
  }
}
