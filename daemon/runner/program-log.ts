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
    // not JSON: a plain line on stdout (not seen with -f json on 0.17, 0.23 or 0.27 beyond empty
    // lines, which the supervisor drops; kept as text should a release print one)
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

/**
 * What a read of a program's log returns: the entries, and a cursor `<inode>:<offset>` just past
 * the last complete line read. The inode tells the current file from the rotated `.1` (rotation
 * is a rename, which keeps the inode), so a cursor taken before a rotation still finds its place.
 */
export interface LogRead {
  readonly entries: LogEntry[];
  readonly cursor: string;
  /** Entries after the ones returned were left for the next read (the limit was reached). */
  readonly more: boolean;
  /** The cursor's file was rotated away: what lay between it and the first entry is gone. */
  readonly gap: boolean;
}

function parseEntries(lines: readonly string[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const l of lines) {
    if (l.trim() === '') continue;
    try {
      out.push(JSON.parse(l) as LogEntry);
    } catch {
      // a line cut by rotation or a crash mid-write: skip it rather than fail the whole read
    }
  }
  return out;
}

/** The last `n` entries of a program's log (reading only the file's tail, not the whole file), and the cursor after them. */
export async function readLogTail(file: string, n: number): Promise<LogRead> {
  if (!existsSync(file)) return { entries: [], cursor: '0:0', more: false, gap: false };
  const fh = await open(file, 'r');
  try {
    const { size, ino } = await fh.stat();
    let pos = size;
    let buf = Buffer.alloc(0);
    const chunk = 64 * 1024;
    // n complete lines need n newlines, and one more to know the first of them is whole.
    while (pos > 0 && countNewlines(buf) <= n) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const part = Buffer.alloc(len);
      await fh.read(part, 0, len, pos);
      buf = Buffer.concat([part, buf]);
    }
    // A line still being written (no newline yet) is not read: the cursor stays before it.
    const end = buf.lastIndexOf(0x0a) + 1;
    const lines = buf.subarray(0, end).toString('utf8').split('\n');
    if (pos > 0) lines.shift(); // cut by the chunk boundary
    const entries = n > 0 ? parseEntries(lines).slice(-n) : [];
    return { entries, cursor: `${ino}:${pos + end}`, more: false, gap: false };
  } finally {
    await fh.close();
  }
}

/**
 * Up to `limit` entries written after `cursor` (from an earlier read), oldest first. A cursor whose
 * file was rotated away (or that points past the end of its file) reads from the oldest kept entry,
 * with `gap`.
 */
export async function readLogAfter(file: string, cursor: string, limit: number): Promise<LogRead> {
  const [inoText, offText] = cursor.split(':');
  const ino = Number(inoText);
  const offset = Number(offText);
  const current = statOrNull(file);
  if (!current) return { entries: [], cursor: '0:0', more: false, gap: ino !== 0 };
  const rotated = statOrNull(`${file}.1`);
  // Where reading starts: the current file, or the rotated one and then the current one.
  let parts: { path: string; ino: number; from: number }[];
  let gap = false;
  if (ino === current.ino && offset <= current.size) parts = [{ path: file, ino: current.ino, from: offset }];
  else if (rotated && ino === rotated.ino && offset <= rotated.size) {
    parts = [{ path: `${file}.1`, ino: rotated.ino, from: offset }, { path: file, ino: current.ino, from: 0 }];
  } else {
    gap = ino !== 0 || offset !== 0;
    parts = [...(rotated ? [{ path: `${file}.1`, ino: rotated.ino, from: 0 }] : []), { path: file, ino: current.ino, from: 0 }];
  }
  const entries: LogEntry[] = [];
  let at = parts[0]!.from;
  let atIno = parts[0]!.ino;
  for (const part of parts) {
    const read = await readForward(part.path, part.from, limit - entries.length);
    if (read.ino !== part.ino) break; // rotated between the stat and the open: the next call continues
    entries.push(...read.entries);
    at = read.end;
    atIno = part.ino;
    if (read.more || entries.length >= limit) return { entries, cursor: `${atIno}:${at}`, more: read.more || part !== parts.at(-1), gap };
    if (part !== parts.at(-1)) {
      // The rotated file is read to its end: the cursor moves to the start of the current one.
      at = 0;
      atIno = parts.at(-1)!.ino;
    }
  }
  return { entries, cursor: `${atIno}:${at}`, more: false, gap };
}

/** Complete lines from `from` on, at most `limit` entries; `end` is the offset just past the last line read. */
async function readForward(file: string, from: number, limit: number): Promise<{ entries: LogEntry[]; end: number; more: boolean; ino: number }> {
  const fh = await open(file, 'r');
  try {
    const { size, ino } = await fh.stat();
    const entries: LogEntry[] = [];
    let pos = from;
    let carry = Buffer.alloc(0);
    const chunk = 64 * 1024;
    while (pos < size && entries.length < limit) {
      const len = Math.min(chunk, size - pos);
      const part = Buffer.alloc(len);
      await fh.read(part, 0, len, pos);
      pos += len;
      const buf = Buffer.concat([carry, part]);
      let start = 0;
      let nl: number;
      while (entries.length < limit && (nl = buf.indexOf(0x0a, start)) >= 0) {
        entries.push(...parseEntries([buf.subarray(start, nl).toString('utf8')]));
        start = nl + 1;
      }
      carry = buf.subarray(start);
      if (entries.length >= limit) {
        const end = pos - carry.length;
        return { entries, end, more: end < size, ino };
      }
    }
    // What is left without a newline is a line still being written: the next read takes it whole.
    return { entries, end: pos - carry.length, more: false, ino };
  } finally {
    await fh.close();
  }
}

function statOrNull(file: string): { ino: number; size: number } | null {
  try {
    const st = statSync(file);
    return { ino: st.ino, size: st.size };
  } catch {
    return null;
  }
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}
