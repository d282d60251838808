/**
 * What one request may make kgentd keep: stored texts cut with a marker, a per-request budget,
 * the per-uid usage the quota counts, deleting and pruning (audit rows stay), log lines bounded,
 * and kgentd's own log file rotated by size. Real SQLite files and real files in temp dirs.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { capJson } from '../../../daemon/store/cap-json.js';
import { migrate, openDatabase } from '../../../daemon/store/db.js';
import { MAX_FEEDBACK_PER_ATTEMPT, PREVIEW_BYTES, RequestStore, type AttemptRecord } from '../../../daemon/store/request-store.js';
import { capText, utf8Bytes } from '../../../daemon/util/truncate.js';
import { createLogger, MAX_LOG_STRING_BYTES } from '../../../daemon/log.js';
import { RotatingLogFile } from '../../../daemon/log-file.js';
import { StorageHealth } from '../../../daemon/store/storage-health.js';
import type { VerifyReport } from '../../../daemon/protocol/verify-api.js';

const ALICE = { uid: 1001, user: 'alice' };
const BOB = { uid: 1002, user: 'bob' };

t.test('capText: within the bound, at a character boundary, with the marker', async (t) => {
  const cases: [string, string, number][] = [
    ['short text stays', 'hello', 100],
    ['ascii', 'x'.repeat(10_000), 1000],
    ['3-byte characters', '€'.repeat(10_000), 1000],
    ['4-byte characters', '😀'.repeat(10_000), 1001],
    ['bound below the marker', 'y'.repeat(5000), 10],
  ];
  for (const [what, s, max] of cases) {
    const out = capText(s, max);
    if (utf8Bytes(s) <= max) {
      t.equal(out, s, what);
      continue;
    }
    t.match(out, /… \[truncated \d+ bytes\]$/, `${what}: marker`);
    if (max >= 40) t.ok(utf8Bytes(out) <= max, `${what}: ${utf8Bytes(out)} <= ${max}`);
    t.notOk(out.includes('\uFFFD'), `${what}: no broken character`);
    const cut = Number(/truncated (\d+) bytes/.exec(out)![1]);
    t.equal(utf8Bytes(out.slice(0, out.lastIndexOf('…'))) + cut, utf8Bytes(s), `${what}: the marker counts what was cut`);
  }
});

t.test('capJson keeps the shape: parseable, strings cut, arrays shortened', async (t) => {
  const report = { verdict: 'refuted', assertions: Array.from({ length: 5000 }, (_, i) => ({ line: i, text: 'a'.repeat(300), verdict: 'refuted' })), diagnostics: [{ message: 'm'.repeat(200_000) }] };
  for (const max of [64 * 1024, 4096, 512]) {
    const s = capJson(report, max);
    t.ok(utf8Bytes(s) <= max, `${utf8Bytes(s)} <= ${max}`);
    const back = JSON.parse(s) as typeof report;
    t.equal(back.verdict, 'refuted', 'small fields kept');
    t.ok(Array.isArray(back.assertions) && Array.isArray(back.diagnostics), 'arrays stay arrays');
  }
  t.equal(capJson({ a: 1 }, 100), '{"a":1}', 'small values unchanged');
});

async function store(limits = { maxFieldBytes: 8 * 1024, maxRequestBytes: 64 * 1024 }): Promise<{ s: RequestStore; db: Database.Database }> {
  const db = openDatabase(await mkdtemp(path.join(tmpdir(), 'kgent-bounds-')));
  return { s: new RequestStore(db, limits), db };
}

const big = (n: number): string => 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\n'.repeat(Math.ceil(n / 60));

function hugeAttempt(bytes: number): AttemptRecord {
  const report = {
    verdict: 'refuted',
    assertions: Array.from({ length: 2000 }, (_, i) => ({ line: i, text: 'x == 1', verdict: 'refuted', probe: 'BEGIN', counterexample: { summary: 'c'.repeat(500) } })),
    coverage: [],
    diagnostics: [],
  } as unknown as VerifyReport;
  return {
    outcome: 'refuted',
    synthesisPrompt: big(bytes),
    synthesisAnswer: big(bytes),
    candidate: big(bytes),
    comprehensionPrompt: big(bytes),
    comprehensionAnswer: big(bytes),
    annotated: big(bytes),
    report,
    kernelCheck: { ok: false, diagnostics: Array.from({ length: 3000 }, () => ({ code: 'kernel', severity: 'error', stage: 'kernel', message: 'k'.repeat(400) })) as never, durationMs: 1 },
    feedback: Array.from({ length: 500 }, (_, i) => ({ attempt: 1, stage: 'lint' as const, message: `line ${i}: ${'f'.repeat(2000)}` })),
    timings: [{ stage: 'synthesizing', ms: 1 }],
  };
}

t.test('every stored field of an attempt is cut to maxFieldBytes; the request keeps its budget', async (t) => {
  const { s, db } = await store();
  const r = s.create({ text: 'é'.repeat(20_000), submittedBy: ALICE, trials: 3, attach: false, hints: ['h'.repeat(50_000)] });
  t.ok(utf8Bytes(r.text) <= 8 * 1024 && r.text.endsWith('bytes]'), 'request text cut');
  t.ok(utf8Bytes(r.hints[0]!) <= 8 * 1024, 'hint cut');
  for (let n = 1; n <= 10; n++) {
    s.startAttempt(r.id, n);
    s.saveAttempt(r.id, n, hugeAttempt(325 * 1024), true);
  }
  const attempts = s.attempts(r.id);
  t.equal(attempts.length, 10);
  const first = attempts[0]!;
  for (const f of ['synthesisPrompt', 'synthesisAnswer', 'candidate', 'comprehensionPrompt', 'comprehensionAnswer', 'annotated'] as const) {
    t.ok(utf8Bytes(first[f]!) <= 8 * 1024, `${f} within maxFieldBytes`);
    t.match(first[f], /… \[truncated \d+ bytes\]$/, `${f} says it was cut`);
  }
  t.equal(first.report?.verdict, 'refuted', 'the report still parses, verdict kept');
  t.equal(first.kernelCheck?.ok, false, 'the kernel check still parses');
  t.ok(first.feedback.length <= MAX_FEEDBACK_PER_ATTEMPT, 'feedback messages bounded per attempt');
  t.ok(first.feedback.every((f) => utf8Bytes(f.message) <= 8 * 1024), 'each message within the bound');
  const last = attempts.at(-1)!;
  t.ok(utf8Bytes(last.synthesisPrompt!) <= PREVIEW_BYTES, 'past the request budget a field keeps a preview');
  const stored = s.storedBytes(r.id);
  // Budget + one preview per field of each attempt past it: 64 KB + 10 * 11 * 512.
  t.ok(stored <= 64 * 1024 + 10 * 11 * PREVIEW_BYTES + 8 * 1024, `the request keeps ${stored} bytes`);
  const counted = (db.prepare(`SELECT SUM(length(CAST(COALESCE(synthesis_prompt,'') AS BLOB)) + length(CAST(COALESCE(synthesis_answer,'') AS BLOB)) + length(CAST(COALESCE(candidate,'') AS BLOB))
      + length(CAST(COALESCE(comprehension_prompt,'') AS BLOB)) + length(CAST(COALESCE(comprehension_answer,'') AS BLOB)) + length(CAST(COALESCE(annotated,'') AS BLOB))
      + length(CAST(COALESCE(report,'') AS BLOB)) + length(CAST(COALESCE(kernel_check,'') AS BLOB)) + length(CAST(feedback AS BLOB)) + length(CAST(timings AS BLOB))
      + length(CAST(COALESCE(trimmed,'') AS BLOB))) AS b FROM attempts WHERE request_id = ?`).get(r.id) as { b: number }).b;
  t.ok(Math.abs(stored - counted) < 200 * 1024, 'stored_bytes counts what the attempts really hold');
  s.setStatus(r.id, 'needs-hint', 'r'.repeat(100_000));
  t.ok(utf8Bytes(s.get(r.id)!.reason!) <= 8 * 1024, 'the reason is cut too');
});

t.test('usage per uid, delete and prune; audit rows stay', async (t) => {
  const { s, db } = await store();
  const ids = [1, 2, 3].map((i) => s.create({ text: `alice ${i}`, submittedBy: ALICE, trials: 1, attach: false, hints: [] }).id);
  const bobs = s.create({ text: 'bob', submittedBy: BOB, trials: 1, attach: false, hints: [] }).id;
  for (const id of ids) s.setStatus(id, 'failed', 'x');
  const running = s.create({ text: 'alice running', submittedBy: ALICE, trials: 1, attach: false, hints: [] }).id;
  s.audit('accept-unverified', { ...ALICE, pid: 7 }, ids[0]!, 'attempt 1');
  t.match(s.usage(ALICE.uid), { requests: 4 });
  t.ok(s.usage(ALICE.uid).bytes > 0);
  t.same(s.prunable(ALICE.uid, 1), [ids[1], ids[0]], 'newest kept, running never listed');
  t.same(s.prunable(undefined, 0).sort(), [...ids].sort(), 'everyone: all finished (bob\'s is running)');
  const before = s.usage(ALICE.uid);
  const out = s.delete([ids[0]!, ids[1]!]);
  t.same(out.deleted, [ids[0], ids[1]]);
  t.equal(s.usage(ALICE.uid).requests, before.requests - 2);
  t.equal(s.usage(ALICE.uid).bytes, before.bytes - out.freedBytes, 'freed bytes leave the usage');
  t.equal(s.get(ids[0]!), undefined);
  const audit = db.prepare('SELECT request_id, detail FROM audit').all() as { request_id: number | null; detail: string }[];
  t.match(audit, [{ request_id: null, detail: `request R${ids[0]} (deleted since): attempt 1` }], 'the audit row stays, naming the request');
  t.ok(s.get(running) && s.get(bobs), 'others untouched');
});

t.test('migration 5 counts what requests stored before it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-bounds-'));
  const db = new Database(path.join(dir, 'kgent.db'));
  migrate(db);
  db.prepare('DELETE FROM schema_migrations WHERE version = 5').run();
  // Back to a version-4 schema, as an upgraded host has it.
  db.exec('ALTER TABLE attempts DROP COLUMN stored_bytes; ALTER TABLE requests DROP COLUMN stored_bytes;');
  db.prepare("INSERT INTO requests (id, text, submitted_by, submitted_uid, submitted_at, updated_at, status, trials, attach, hints) VALUES (1, ?, 'alice', 1001, 't', 't', 'failed', 1, 0, '[]')").run('q'.repeat(1000));
  db.prepare("INSERT INTO attempts (request_id, n, started_at, outcome, feedback, timings, synthesis_answer) VALUES (1, 1, 't', 'parse-error', '[]', '[]', ?)").run('a'.repeat(300_000));
  migrate(db);
  t.equal(new RequestStore(db).usage(1001).bytes, 1000 + 2 + 300_000 + 4, 'old rows count against the quota');
});

t.test('log lines are bounded: fields, the message and errors', async (t) => {
  let text = '';
  const dest = new Writable({ write(c, _e, cb) { text += c.toString(); cb(); } });
  const log = createLogger('info', dest);
  const huge = 'p'.repeat(325 * 1024);
  log.info({ prompt: huge, nested: { answer: huge }, list: Array.from({ length: 500 }, () => 'i'), err: new Error(huge) }, `refused: ${huge}`);
  await new Promise((r) => setTimeout(r, 50));
  const line = text.trim();
  t.ok(line.length < 20 * MAX_LOG_STRING_BYTES, `one line of ${line.length} bytes for a 325 KB input`);
  const o = JSON.parse(line) as { prompt: string; nested: { answer: string }; list: string[]; err: { message: string }; msg: string };
  for (const [k, v] of [['prompt', o.prompt], ['nested.answer', o.nested.answer], ['err.message', o.err.message], ['msg', o.msg]] as const) {
    t.match(v, /… \[truncated \d+ bytes\]$/, `${k} cut with the marker`);
  }
  t.equal(o.list.length, 51, 'arrays cut, with a count');
});

t.test('the log file rotates at maxBytes and keeps `keep` files', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-logfile-'));
  const file = path.join(dir, 'sub', 'kgentd.log');
  const f = new RotatingLogFile({ file, maxBytes: 64 * 1024, keep: 3 });
  const line = `${JSON.stringify({ msg: 'x'.repeat(1000) })}\n`;
  for (let i = 0; i < 1000; i++) f.write(line);
  f.close();
  const files = readdirSync(path.dirname(file)).sort();
  t.same(files, ['kgentd.log', 'kgentd.log.1', 'kgentd.log.2', 'kgentd.log.3'], 'current + 3 rotated, the oldest dropped');
  for (const name of files) t.ok(statSync(path.join(path.dirname(file), name)).size <= 64 * 1024, `${name} within maxBytes`);
  t.ok(readFileSync(`${file}.1`, 'utf8').split('\n').filter(Boolean).every((l) => JSON.parse(l)), 'whole lines only');
  // Re-opened (a restart), it continues from the size on disk.
  const again = new RotatingLogFile({ file, maxBytes: 64 * 1024, keep: 3 });
  for (let i = 0; i < 100; i++) again.write(line);
  again.close();
  t.ok(statSync(file).size <= 64 * 1024);
  t.throws(() => new RotatingLogFile({ file: path.join(file, 'under-a-file.log'), maxBytes: 65536, keep: 1 }), { code: 'config', message: /cannot open the log file/ });
  t.notOk(existsSync(`${file}.4`));
});

t.test('a full disk drops log lines and counts them, it does not throw', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, async (t) => {
  const health = new StorageHealth();
  const f = new RotatingLogFile({ file: '/dev/full', maxBytes: 1 << 30, keep: 1, health });
  t.doesNotThrow(() => f.write('{"msg":"x"}\n'));
  t.equal(health.report().droppedLogLines, 1);
  f.close();
});
