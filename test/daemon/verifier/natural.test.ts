/**
 * Naturally annotated programs (`test/golden/natural/`): the verifier must give each its expected
 * verdict; none may get a wrong one, and at most 5% of the non-pending ones may be left unknown
 * or invalid. Pending programs (needing verifier work not done yet) are reported, not failed.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { goldenContracts, goldenLintContext, verifyGolden } from '../../support/golden.js';
import { repoRoot } from '../../../daemon/util/repo-root.js';

const dir = path.join(repoRoot(), 'test', 'golden', 'natural');
const contracts = goldenContracts();
const files = readdirSync(dir).filter((f) => f.endsWith('.bt')).sort();

interface Outcome {
  readonly name: string;
  readonly expect: string;
  readonly pending?: string;
  readonly got: string;
}

const outcomes: Outcome[] = [];

t.test('the corpus is large enough', async (t) => {
  t.ok(files.length >= 40, `${files.length} programs`);
});

for (const f of files) {
  t.test(f, async (t) => {
    const source = readFileSync(path.join(dir, f), 'utf8');
    const expect = /^\/\/ expect: (proved|proved-under-hints)$/m.exec(source)?.[1];
    const pending = /^\/\/ pending: (.+)$/m.exec(source)?.[1];
    t.ok(expect, 'has an // expect: line');
    const report = await verifyGolden(source, { fileName: f, contracts, lintContext: goldenLintContext(contracts) });
    outcomes.push({ name: f, expect: expect ?? '?', got: report.verdict, ...(pending ? { pending } : {}) });
    const wrong = report.verdict === 'refuted' || ((report.verdict === 'proved' || report.verdict === 'proved-under-hints') && report.verdict !== expect);
    const why = report.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message).join('; ');
    if (pending) {
      t.comment(`pending (${pending}): ${report.verdict}${why ? `: ${why}` : ''}`);
      t.notOk(wrong, 'not a wrong verdict, even while pending');
    } else {
      t.notOk(wrong, `no wrong verdict (got ${report.verdict}, expected ${expect})${why ? `: ${why}` : ''}`);
      if (report.verdict !== expect) t.comment(`not accepted: ${report.verdict}${why ? `: ${why}` : ''}`);
    }
  });
}

t.test('at most 5% of the correct, non-pending programs unknown or invalid', async (t) => {
  const live = outcomes.filter((o) => !o.pending);
  const missed = live.filter((o) => o.got === 'unknown' || o.got === 'invalid' || o.got === 'unannotated');
  t.ok(missed.length <= live.length * 0.05, `${missed.length} of ${live.length}: ${missed.map((o) => `${o.name} (${o.got})`).join(', ') || 'none'}`);
  const pending = outcomes.filter((o) => o.pending);
  t.comment(`pending: ${pending.map((o) => `${o.name} -> ${o.got} (expected ${o.expect})`).join('; ') || 'none'}`);
});
