/**
 * Reading a program's log by cursor (`programs.logs` with `after`): only what was written since,
 * across a rotation, never a half-written line, and a `gap` when the cursor's file is gone. Real
 * files in a temp dir, written by the runner's own ProgramLogWriter.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { LogEntry } from '../../../daemon/protocol/methods.js';
import { ProgramLogWriter, readLogAfter, readLogTail } from '../../../daemon/runner/program-log.js';

const entry = (i: number): LogEntry => ({ time: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`, type: 'printf', data: `line ${i}\n` });
const data = (es: readonly LogEntry[]): unknown[] => es.map((e) => e.data);

async function written(file: string, from: number, to: number, maxBytes = 1 << 30): Promise<void> {
  const w = new ProgramLogWriter(file, maxBytes);
  for (let i = from; i < to; i++) w.write(entry(i));
  await w.close();
}

function tempLog(t: Tap.Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kgent-logcursor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, '1.jsonl');
}

t.test('a tail read gives a cursor; reading after it gives only newer entries, paged by the limit', async (t) => {
  const file = tempLog(t);
  await written(file, 0, 5);
  const tail = await readLogTail(file, 2);
  t.same(data(tail.entries), ['line 3\n', 'line 4\n']);
  const none = await readLogAfter(file, tail.cursor, 10);
  t.same(none.entries, [], 'nothing new yet');
  t.equal(none.cursor, tail.cursor, 'the cursor stays');
  await written(file, 5, 12);
  const first = await readLogAfter(file, tail.cursor, 4);
  t.same(data(first.entries), ['line 5\n', 'line 6\n', 'line 7\n', 'line 8\n']);
  t.equal(first.more, true, 'more follow');
  const rest = await readLogAfter(file, first.cursor, 100);
  t.same(data(rest.entries), ['line 9\n', 'line 10\n', 'line 11\n']);
  t.equal(rest.more, false);
  t.equal(rest.gap, false);
});

t.test('a tail of 0 reads nothing but still gives the end as cursor', async (t) => {
  const file = tempLog(t);
  await written(file, 0, 3);
  const r = await readLogTail(file, 0);
  t.same(r.entries, []);
  await written(file, 3, 4);
  t.same(data((await readLogAfter(file, r.cursor, 10)).entries), ['line 3\n']);
});

t.test('a line still being written is not read, and is read whole once complete', async (t) => {
  const file = tempLog(t);
  await written(file, 0, 2);
  const half = JSON.stringify(entry(2));
  appendFileSync(file, half.slice(0, 20));
  const tail = await readLogTail(file, 10);
  t.same(data(tail.entries), ['line 0\n', 'line 1\n'], 'the partial line is left out of a tail');
  const mid = await readLogAfter(file, tail.cursor, 10);
  t.same(mid.entries, [], 'and out of a read after the cursor');
  appendFileSync(file, `${half.slice(20)}\n`);
  t.same(data((await readLogAfter(file, mid.cursor, 10)).entries), ['line 2\n'], 'read whole once its newline is written');
});

t.test('a cursor taken before a rotation continues in the rotated file, then the new one', async (t) => {
  const file = tempLog(t);
  const size = Buffer.byteLength(`${JSON.stringify(entry(10))}\n`);
  // Room for 4 lines: the 5th write rotates the file to .1 (the writer's own rule).
  const w = new ProgramLogWriter(file, size * 4);
  for (let i = 10; i < 12; i++) w.write(entry(i));
  await w.close();
  const tail = await readLogTail(file, 1);
  const w2 = new ProgramLogWriter(file, size * 4);
  for (let i = 12; i < 16; i++) w2.write(entry(i));
  await w2.close();
  const r = await readLogAfter(file, tail.cursor, 100);
  t.same(data(r.entries), ['line 12\n', 'line 13\n', 'line 14\n', 'line 15\n'], 'nothing lost or repeated across the rotation');
  t.equal(r.gap, false);
  const paged = await readLogAfter(file, tail.cursor, 2);
  t.same(data(paged.entries), ['line 12\n', 'line 13\n']);
  t.equal(paged.more, true);
  t.same(data((await readLogAfter(file, paged.cursor, 100)).entries), ['line 14\n', 'line 15\n']);
});

t.test('a cursor whose file was rotated away, or that points past its end, reads from the oldest kept entry with gap', async (t) => {
  const file = tempLog(t);
  await written(file, 0, 3);
  const cases: [string, string][] = [
    ['an unknown inode', '999999999:10'],
    ['an offset past the end of the current file', `${(await readLogTail(file, 0)).cursor.split(':')[0]}:99999999`],
  ];
  for (const [what, cursor] of cases) {
    const r = await readLogAfter(file, cursor, 100);
    t.same(data(r.entries), ['line 0\n', 'line 1\n', 'line 2\n'], what);
    t.equal(r.gap, true, `${what}: gap`);
  }
});

t.test('a log that does not exist yet reads empty, and its first lines are read after the 0:0 cursor', async (t) => {
  const file = tempLog(t);
  const r = await readLogTail(file, 10);
  t.same(r.entries, []);
  t.equal(r.cursor, '0:0');
  writeFileSync(file, `${JSON.stringify(entry(0))}\n`);
  const next = await readLogAfter(file, r.cursor, 10);
  t.same(data(next.entries), ['line 0\n']);
  t.equal(next.gap, false, 'no gap: nothing was written before the log existed');
});
