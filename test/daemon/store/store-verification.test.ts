import t from 'tap';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../../daemon/store/db.js';
import { ProgramStore } from '../../../daemon/store/program-store.js';
import { RequestStore } from '../../../daemon/store/request-store.js';
import type { VerifyReport } from '../../../daemon/protocol/verify-api.js';

const timings = { parseMs: 0, lintMs: 0, solverInitMs: 0, verifyMs: 0, totalMs: 0 };
const report = (verdict: VerifyReport['verdict'], hints: VerifyReport['hints'] = []): VerifyReport => ({ verdict, assertions: [], coverage: [], diagnostics: [], hints, timings });

t.test("a request's program carries the verdict and hints of its verified attempt (stored, reopened)", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kgent-store-'));
  const db = openDatabase(dir);
  const programs = new ProgramStore(db, (id) => `/logs/${id}.jsonl`);
  const requests = new RequestStore(db);
  const who = { uid: 0, user: 'root' };
  const req = requests.create({ text: 'errno of failed openat', submittedBy: who, trials: 3, attach: false, hints: [] });
  const hint = { hint: 'args->ret >= -4095', source: 'kernel documentation: MAX_ERRNO', usedBy: 5 };
  requests.startAttempt(req.id, 1);
  requests.saveAttempt(req.id, 1, { outcome: 'guard-failed', report: report('invalid'), feedback: [], timings: [] }, true);
  requests.startAttempt(req.id, 2);
  requests.saveAttempt(req.id, 2, { outcome: 'verified', report: report('proved-under-hints', [hint]), feedback: [], timings: [] }, true);
  const p = programs.create({ name: `request-R${req.id}`, source: 'BEGIN { exit(); }', probes: ['BEGIN'], origin: 'request', submittedBy: who, status: 'pending-approval', desired: 'stop' });
  t.equal(requests.verificationOf(p.info.id), undefined, 'not linked yet');
  requests.setProgram(req.id, p.info.id);
  db.close();

  const again = new RequestStore(openDatabase(dir));
  t.same(again.verificationOf(p.info.id), { requestId: req.id, verdict: 'proved-under-hints', hints: [hint] });
  t.equal(again.verificationOf(p.info.id + 1), undefined, 'a program no request made');
});
