/**
 * Per-program log files: one JSON object per line, `{time, type, data}`. `type`/`data` are
 * bpftrace's own `-f json` output; kgent adds `stderr`, `text` (non-JSON stdout) and `kgent`
 * lifecycle lines (started, attached, exited ...). Rotated once at a size limit.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { LogEntry } from '../protocol/methods.js';

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

export class ProgramLogWriter {
  private stream: WriteStream;
  private bytes: number;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    this.bytes = existsSync(file) ? statSync(file).size : 0;
    this.stream = createWriteStream(file, { flags: 'a', mode: 0o640 });
  }

  write(entry: LogEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    if (this.bytes + line.length > this.maxBytes && this.bytes > 0) this.rotate();
    this.stream.write(line);
    this.bytes += Buffer.byteLength(line);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private rotate(): void {
    this.stream.end();
    renameSync(this.file, `${this.file}.1`);
    this.stream = createWriteStream(this.file, { flags: 'a', mode: 0o640 });
    this.bytes = 0;
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
