import t from 'tap';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, SCHEMA_VERSION } from '../../../daemon/store/db.js';
import { ProgramStore } from '../../../daemon/store/program-store.js';
import { KgentError } from '../../../daemon/errors.js';

t.test('migrations are applied once and the store survives reopening', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-store-'));
  const db = openDatabase(dir);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const store = new ProgramStore(db, (id) => `/logs/${id}.jsonl`);
  const p = store.create({ name: 'n', source: 'BEGIN { exit(); }', probes: ['BEGIN'], origin: 'file', submittedBy: { uid: 0, user: 'root' }, status: 'pending-approval', desired: 'stop' });
  store.approve(p.info.id, { uid: 0, user: 'root' }, 'submitter');
  store.update(p.info.id, { desired: 'run', status: 'running', pid: 42 });
  const run = store.startRun(p.info.id, 42);
  store.audit('attach', { uid: 0, user: 'root', pid: 4242 }, p.info.id, 'pid 42');
  db.close();

  const db2 = openDatabase(dir);
  const store2 = new ProgramStore(db2, (id) => `/logs/${id}.jsonl`);
  const again = store2.get(p.info.id)!;
  t.match(again.info, { status: 'running', pid: 42, submittedBy: 'root', submittedUid: 0, approvedBy: 'root', approvedUid: 0, probes: ['BEGIN'], logPath: '/logs/1.jsonl' });
  t.same(store2.listDesiredRunning().map((x) => x.info.id), [p.info.id]);
  t.equal(store2.closeDanglingRuns('daemon died'), 1);
  t.match(store2.runs(p.info.id), [{ id: run, reason: 'daemon died' }]);
  t.match(store2.auditTrail(p.info.id), [{ action: 'attach', actor: 'root', actorUid: 0, detail: 'pid 42' }]);
  const versions = db2.prepare('SELECT version FROM schema_migrations').all();
  t.same(versions, Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })), 'every migration once');
  db2.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'from the future', 'now');
  db2.close();
  t.throws(() => openDatabase(dir), { constructor: KgentError, code: 'config', message: /newer than this kgentd understands/ });
});
