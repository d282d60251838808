/**
 * Per-program log files: one JSON object per line, `{time, type, data}`. `type`/`data` are
 * bpftrace's own `-f json` output; kgent adds `stderr`, `text` (non-JSON stdout) and `kgent`
 * lifecycle lines (started, attached, exited ...). Rotated once at a size limit.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { LogEntry } from '../protocol/methods.js';
import { storageHealth, type StorageHealth } from '../store/storage-health.js';

export function logPath(logDir: string, id: number): string {
  return path.join(logDir, `${id}.jsonl`);
}

/** Turns one stdout line of `bpftrace -f json` into a log entry; anything else is kept as text. */
export function entryFromStdout(line: string, time = new Date()): LogEntry {
  try {
    const parsed = JSON.parse(line) as { type?: unknown; data?: unknown };
    if (parsed && typeof parsed === 'object' && typeof parsed.type === 'string') {
      return { time: time.toISOString(), type: parsed.type, data: parsed.data ?? null };
    }
  } catch {
    // not JSON: bpftrace prints a few plain lines even with -f json (e.g. "Attaching N probes...")
  }
  return { time: time.toISOString(), type: 'text', data: line };
}

/** Buffered bytes beyond which lines are dropped (a disk slower than the program's output). */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** After a failed write, how long the writer drops lines before it tries the disk again. */
const RETRY_MS = 5000;

/**
 * Appends a program's log. A failing disk (ENOSPC, EIO ...) never throws or emits an unhandled
 * 'error': lines are dropped and counted in {@link storageHealth} while it fails, and the writer
 * tries again every few seconds, so the program keeps running and logs again once there is space.
 */
export class ProgramLogWriter {
  private stream: WriteStream | undefined;
  private bytes = 0;
  private brokenUntil = 0;
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly health: StorageHealth = storageHealth,
  ) {
    this.open();
  }

  /** Lines this writer dropped. */
  get droppedLines(): number {
    return this.dropped;
  }

  write(entry: LogEntry): void {
    if (this.closed) return;
    if (!this.stream) {
      if (Date.now() < this.brokenUntil || !this.open()) return this.drop(1);
    }
    const line = `${JSON.stringify(entry)}\n`;
    const size = Buffer.byteLength(line);
    if (this.bytes + size > this.maxBytes && this.bytes > 0 && !this.rotate()) return this.drop(1);
    if (this.stream!.writableLength > MAX_PENDING_BYTES) return this.drop(1);
    // Each line's callback counts it dropped if the disk refuses it (also for lines still buffered).
    this.stream!.write(line, (err) => {
      if (err) this.drop(1, err);
      else this.health.recovered();
    });
    this.bytes += size;
  }

  close(): Promise<void> {
    this.closed = true;
    const s = this.stream;
    this.stream = undefined;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('error', () => resolve());
      s.end(() => resolve());
    });
  }

  private drop(n: number, err?: unknown): void {
    this.dropped += n;
    this.health.logLinesDropped(n, err);
  }

  /** Opens the file for appending; false (and a retry later) when the disk refuses. */
  private open(): boolean {
    try {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
      this.bytes = existsSync(this.file) ? statSync(this.file).size : 0;
    } catch (err) {
      this.fail(err);
      return false;
    }
    const stream = createWriteStream(this.file, { flags: 'a', mode: 0o640 });
    stream.on('error', (err) => {
      if (this.stream === stream) this.fail(err, 0);
    });
    this.stream = stream;
    return true;
  }

  private fail(err: unknown, lines = 1): void {
    this.brokenUntil = Date.now() + RETRY_MS;
    this.stream?.destroy();
    this.stream = undefined;
    if (lines > 0) this.drop(lines, err);
    else this.health.logLinesDropped(0, err);
  }

  private rotate(): boolean {
    const old = this.stream;
    this.stream = undefined;
    old?.end();
    try {
      renameSync(this.file, `${this.file}.1`);
    } catch (err) {
      this.fail(err);
      return false;
    }
    return this.open();
  }
}

/** The last `n` entries of a program's log (reading only the file's tail, not the whole file). */
export async function readLogTail(file: string, n: number): Promise<LogEntry[]> {
  if (n <= 0 || !existsSync(file)) return [];
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    let pos = size;
    let text = '';
    const chunk = 64 * 1024;
    while (pos > 0) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      text = buf.toString('utf8') + text;
      if (text.split('\n').length > n + 1) break;
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const out: LogEntry[] = [];
    for (const l of lines.slice(-n)) {
      try {
        out.push(JSON.parse(l) as LogEntry);
      } catch {
        // a line cut by rotation or a crash mid-write: skip it rather than fail the whole read
      }
    }
    return out;
  } finally {
    await fh.close();
  }
}
